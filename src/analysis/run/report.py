"""Run a study's notebooks with papermill and publish them as offline HTML reports.

For each study folder: validate config and data (bad input -> ``InputError`` before anything runs),
cache the validated tables as Parquet, execute the notebooks (independent ones in parallel, the
summary last) with the parameters ``study_dir``, ``lang``, ``results_path``, ``data_dir`` and
``overrides``, export each to HTML (code hidden unless asked, the other language's narrative
dropped, no network request when opened), and write ``index.html``, ``results.json``,
``manifest.json`` and ``tables.xlsx``.  Everything is written into a temporary folder beside the
target and swapped in only when the whole study succeeded, so a failed run never destroys the
previous good reports.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path

from analysis import __version__
from analysis.run import results as results_mod
from analysis import figures as _figures
from analysis.errors import InputError, Problem
from analysis.inputs.study import Study, json_text, load_study, plain
from analysis.pages import html as _html
from analysis.pages import references


def _import_nbformat():
    """``import nbformat`` without jsonschema's IRI format checker.

    nbformat validates notebooks with jsonschema, whose import compiles some forty lark grammars of
    ``rfc3987_syntax`` for its ``iri`` / ``iri-reference`` format checks when that package is
    installed (about 0.75 CPU-s, half of the runner's start-up).  nbformat never checks formats, so
    the kit's runner imports jsonschema with that optional package hidden (jsonschema then simply
    has no IRI checker, as when the package is missing), then un-hides it for anyone else.  When
    jsonschema is already imported nothing changes."""
    import sys

    hide = "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules
    if hide:
        sys.modules["rfc3987_syntax"] = None  # an ImportError for jsonschema's optional import
    try:
        import nbformat
    finally:
        if hide and sys.modules.get("rfc3987_syntax", 0) is None:
            del sys.modules["rfc3987_syntax"]
    return nbformat


nbformat = _import_nbformat()

__all__ = [
    "RunOptions", "StudyRun", "NotebookFailed", "NotPublished", "Interrupted", "notebooks_in", "run_study", "run_many",
    "filter_language", "export_html", "project_root", "sweep_stale", "SECTION_TITLES", "StudyJob", "memo_names",
]

KERNEL_NAME = "care-kit"
LANGS = ("en", "ru")

#: ``{section: (English title, Russian title)}``; the titles are in the word catalogues (``page.title.*``).
SECTION_TITLES = _html.section_titles()

# Figures shown on index pages: (section, key, en, ru, kind), from the one declaration of the
# headline figures (analysis.figures; labels in the word catalogues).
INDEX_FIGURES = _figures.index_rows()


def project_root() -> Path:
    """The kit's folder (where ``notebooks/`` and ``data/`` are)."""
    return Path(__file__).resolve().parents[3]


@dataclass
class RunOptions:
    """How to run. ``out_root`` is the reports root; each study goes to ``out_root/<folder name>``."""

    lang: str | None = None
    out_root: Path = field(default_factory=lambda: project_root() / "reports")
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    only: list[str] = field(default_factory=list)
    with_code: bool = False
    overrides: dict = field(default_factory=dict)
    notebooks_dir: Path = field(default_factory=lambda: project_root() / "notebooks")
    progress: bool = True
    scheduler: str | None = None  # a Dask scheduler's address (tcp://HOST:PORT): run the studies there
    path_names: dict = field(default_factory=dict)  # paths shown as others in the report (a cluster's copies)


@dataclass
class StudyRun:
    """Outcome of one study's run."""

    study_dir: Path
    name: str
    out_dir: Path
    code: int = 0  # 0 done, 1 internal error, 2 bad input
    message: str = ""
    timings: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    title: str = ""
    left_out: list = field(default_factory=list)  # --only: files of the earlier folder the kit did not write


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGTERM, SIGHUP); ``signum`` tells which."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"stopped by signal {signum}")


class NotebookFailed(Exception):
    """A notebook raised; ``kept`` is the executed notebook with the failing cell."""

    def __init__(self, notebook: str, ename: str, evalue: str, kept: Path | None):
        self.notebook, self.ename, self.evalue, self.kept = notebook, ename, evalue, kept
        super().__init__(f"{notebook}: {ename}: {evalue}")


# ----------------------------------------------------------------------------- notebooks


def notebooks_in(folder: Path, only=()) -> list[Path]:
    """Notebooks of a study run, in order; ``only`` keeps those whose stem or section matches."""
    nbs = sorted(p for p in Path(folder).glob("*.ipynb") if not p.name.startswith("."))
    if only:
        wanted = set(only)
        nbs = [p for p in nbs if p.stem in wanted or section_of(p) in wanted]
    return nbs


def section_of(path: Path) -> str:
    """``01_data_check.ipynb`` -> ``data_check``."""
    stem = Path(path).stem
    head, _, rest = stem.partition("_")
    return rest if head.isdigit() and rest else stem


LATE = ("summary", "role_profile")

_MEMO_CALL = re.compile(r"""ctx\.(?:cached|peek)\(\s*\\?["']([A-Za-z0-9_]+)\\?["']""")
_MEMO_NAMES: dict = {}


def memo_names(path: Path) -> frozenset:
    """Names of the results a notebook keeps in or reads from its kernel's memory
    (``ctx.cached("name", …)``, ``ctx.peek("name")``, :class:`analysis.pages.notebook.Context`), read
    from its source: the scheduler sends a late notebook to the kernel that already holds them.
    Empty for a notebook that cannot be read.  Read once per path."""
    key = str(path)
    if key not in _MEMO_NAMES:
        try:
            nb = nbformat.read(path, as_version=4)
            text = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        except (OSError, ValueError):
            text = ""
        _MEMO_NAMES[key] = frozenset(_MEMO_CALL.findall(text))
    return _MEMO_NAMES[key]


def is_last(path: Path) -> bool:
    """The summary and the role profile read the other sections' figures, so they run after them."""
    return section_of(path) in LATE


def filter_language(nb, lang: str, with_code: bool = False):
    """Drop markdown cells tagged for the other language and, unless ``with_code``, warnings
    printed to stderr.  Returns the notebook (changed in place)."""
    other = {f"lang-{x}" for x in LANGS if x != lang}
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & other:
            continue
        if cell.cell_type == "code" and not with_code:
            cell.outputs = [o for o in cell.get("outputs", []) if _shown(o)]
        cells.append(cell)
    nb.cells = cells
    return nb


def _shown(output) -> bool:
    """Outputs an owner sees: displays (text, tables, charts). Warnings on stderr and the bare
    value of a cell's last expression (``Text(0, 1, 'title')``, a dict) are left out."""
    kind = output.get("output_type")
    if kind == "stream":
        return output.get("name") != "stderr"
    if kind == "execute_result":
        return bool(set(output.get("data", {})) - {"text/plain"})
    return True


def _kit_css() -> str:
    return _html.kit_css()


_EXPORTERS = threading.local()


def _exporter(with_code: bool, lang: str):
    """This thread's HTML exporter for ``(with_code, lang)``, made on first use and kept: a new
    exporter compiles its ten jinja templates again (about 0.05 CPU-s a page), the same one renders
    the next page from the compiled ones.  One per thread, as nbconvert's exporters keep per-call
    state (filters, resources) on themselves."""
    cache = getattr(_EXPORTERS, "by_key", None)
    if cache is None:
        cache = _EXPORTERS.by_key = {}
    key = (bool(with_code), lang)
    if key not in cache:
        cache[key] = _new_exporter(with_code, lang)
    return cache[key]


def _new_exporter(with_code: bool, lang: str):
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        language_code=lang,
        template_name="care",
        extra_template_basedirs=[str(resources.files("analysis.pages") / "templates")],
        exclude_input=not with_code,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    return exporter


#: A chart at least this many pixels wide has several panels side by side; on a phone it keeps a
#: larger width (kit.css, ``img.unconfined``) so each panel reads at the scale of a one-panel chart.
WIDE_CHART_PX = 1100


def _png_width(data: str) -> int:
    """Width of a base64 PNG from its header (0 when it cannot be read)."""
    import base64
    import binascii

    try:
        head = base64.b64decode("".join(str(data)[:48].split())[:32])
    except (binascii.Error, ValueError):
        return 0
    return int.from_bytes(head[16:20], "big") if head[:8] == b"\x89PNG\r\n\x1a\n" else 0


def _mark_wide_charts(nb) -> None:
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            png = out.get("data", {}).get("image/png")
            if png and _png_width(png) >= WIDE_CHART_PX:
                out.setdefault("metadata", {}).setdefault("image/png", {})["unconfined"] = True


def export_html(nb, lang: str, title: str, nav_html: str = "", footer_html: str = "",
                with_code: bool = False) -> str:
    """The executed notebook as one self-contained HTML page (plots embedded, no CDN).
    The notebook is changed in place (the other language's cells are dropped)."""
    nb = filter_language(nb, lang, with_code)
    if not with_code:  # the parameters cells carry no output; drop them from the page
        nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and not c.get("outputs"))]
    _mark_wide_charts(nb)
    nb.metadata["title"] = title
    body, _ = _exporter(with_code, lang).from_notebook_node(nb, resources={
        "kit_css": _kit_css(), "kit_nav": nav_html, "kit_footer": footer_html,
        "language_code": lang, "metadata": {"name": title}})
    return body


# ----------------------------------------------------------------------------- temporary folders


LOCK_FILE = ".kit-run.lock"
_LOCKS: list = []  # lock files of folders this process owns for its whole life (the kernelspec)


def _own(folder: Path):
    """Mark ``folder`` as this process's: its pid in ``folder/.kit-run.lock`` and an exclusive
    ``flock`` on that file, held while the returned file stays open.  The system lets go of the lock
    when the process ends, however it ends (SIGKILL included), so :func:`sweep_stale` can tell a
    folder of a run in progress from one left behind.  The file gets its name only once locked."""
    part = folder / f"{LOCK_FILE}.{os.getpid()}"
    fh = open(part, "w")
    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    fh.write(f"{os.getpid()}\n")
    fh.flush()
    os.replace(part, folder / LOCK_FILE)
    return fh


def _abandoned(folder: Path) -> bool:
    """True when ``folder`` carries the kit's lock file and no process holds the lock any more."""
    try:
        fh = open(folder / LOCK_FILE)
    except OSError:  # no lock file: not the kit's, or a run that is just starting
        return False
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a run in progress holds it
        return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's process
        return True
    return True


def sweep_stale(root: Path, pattern: str = ".*.tmp") -> list[Path]:
    """Remove folders of the kit's own kind in ``root`` whose run is gone: temporary report folders
    (``.<study>.XXXX.tmp``) of a run that was killed, never those of a run in progress.  An earlier
    report set aside by a run killed in the middle of its final swap (``.<study>.old-<pid>``) is put
    back when the new one did not arrive, else removed.  Returns the folders removed or restored."""
    root = Path(root)
    done = []
    try:
        candidates = sorted(root.glob(pattern))
    except OSError:
        return done
    for d in candidates:
        if d.is_dir() and not d.is_symlink() and _abandoned(d):
            shutil.rmtree(d, ignore_errors=True)
            done.append(d)
    if pattern != ".*.tmp":
        return done
    for d in sorted(root.glob(".*.old-*")):
        head, _, pid = d.name[1:].rpartition(".old-")
        if not pid.isdigit() or not head or _pid_alive(int(pid)) or not d.is_dir() or d.is_symlink():
            continue
        final = root / head
        if not final.exists():
            d.rename(final)
        else:
            shutil.rmtree(d, ignore_errors=True)
        done.append(d)
    return done


_STOP = {"installed": 0, "defer": 0, "pending": None}
_STOP_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None),
                                  signal.SIGINT) if s is not None)


def _on_signal(signum, frame):
    if _STOP["defer"]:
        _STOP["pending"] = signum
        return
    for s in _STOP_SIGNALS:  # the clean-up that follows runs once, undisturbed
        signal.signal(s, signal.SIG_IGN)
    raise Interrupted(signum)


@contextlib.contextmanager
def _signals_stop_the_run():
    """SIGTERM, SIGHUP and SIGINT raise :class:`Interrupted` in the main thread, so the run's
    clean-up (kernels shut down, temporary folder removed) happens as for any other failure.
    Outside the main thread (signals cannot be caught there) nothing changes."""
    if threading.current_thread() is not threading.main_thread() or _STOP["installed"]:
        yield
        return
    old = {s: signal.getsignal(s) for s in _STOP_SIGNALS}
    for s in _STOP_SIGNALS:
        signal.signal(s, _on_signal)
    _STOP["installed"] = 1
    try:
        yield
    finally:
        _STOP["installed"] = 0
        for s, h in old.items():
            signal.signal(s, h)


@contextlib.contextmanager
def _signals_deferred():
    """A signal arriving inside waits until the block is done (a swap is never left half done)."""
    _STOP["defer"] += 1
    try:
        yield
    finally:
        _STOP["defer"] -= 1
        pending = _STOP["pending"]
        if not _STOP["defer"] and pending is not None:
            _STOP["pending"] = None
            for s in _STOP_SIGNALS:
                signal.signal(s, signal.SIG_IGN)
            raise Interrupted(pending)


def _check_out(root: Path, name: str | None = None) -> None:
    """``--out`` must be a folder the kit can write in (created when missing)."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise InputError(Problem("--out", f"{root} is a file, not a folder. Give a folder for the reports."))
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(Problem("--out", f"cannot create the folder {root}: {exc.strerror or exc}.")) from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise InputError(Problem("--out", f"cannot write in {root}: permission denied."))
    if name is not None:
        final = root / name
        if (final.exists() or final.is_symlink()) and (final.is_symlink() or not final.is_dir()):
            raise InputError(Problem("--out", f"{final} exists and is not a report folder; move it away."))


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


#: Files the kit writes at the top of a study's report folder besides the pages of its notebooks.
KIT_FILES = ("index.html", "references.html", "results.json", "manifest.json", "tables.xlsx")


def kit_files(final: Path) -> list[str]:
    """The files of a report folder the kit wrote, by name (relative paths): :data:`KIT_FILES`, and
    for each executed notebook ``notebooks/<stem>.ipynb`` with a safe name its page ``<stem>.html``
    (the page only with its notebook, the notebook only with its page).  Regular files only, no
    symbolic links."""
    final = Path(final)

    def plain_file(rel: str) -> bool:
        f = final / rel
        return f.is_file() and not f.is_symlink()

    out = [n for n in KIT_FILES if plain_file(n)]
    nb_dir = final / "notebooks"
    if nb_dir.is_dir() and not nb_dir.is_symlink():
        for nb in sorted(nb_dir.iterdir()):
            stem = nb.stem
            if (nb.suffix == ".ipynb" and _SAFE_NAME.fullmatch(nb.name) and not stem.startswith(".")
                    and plain_file(f"notebooks/{nb.name}") and plain_file(f"{stem}.html")):
                out += [f"{stem}.html", f"notebooks/{nb.name}"]
    return out


def _foreign_files(final: Path, kept: list[str]) -> list[str]:
    """What else the earlier report folder holds (names relative to it, folders with a slash), the
    kit's own lock and work files aside."""
    kept = set(kept)
    out = []
    for f in sorted(Path(final).rglob("*")):
        rel = f.relative_to(final).as_posix()
        top = rel.split("/")[0]
        if rel in kept or top == "_work" or top.startswith(LOCK_FILE) or (f.is_dir() and not f.is_symlink()):
            continue
        out.append(rel)
    return out


def _copy_earlier(final: Path, tmp: Path) -> list[str]:
    """For ``--only``: the earlier report's pages and figures, and nothing else — only the files the
    kit writes (:func:`kit_files`): no work folder (caches, data), no lock files, no symbolic links,
    no code, notebooks or files of any other name (a page named ``x" onclick=….ipynb`` would reach the
    navigation links), and ``results.json`` only when it has the kit's layout — so a received report
    folder cannot plant anything this run would read, follow or publish.  Returns the earlier files
    left out (relative names), which the new report will not have."""
    kept = kit_files(final)
    for rel in kept:
        dest = tmp / rel
        dest.parent.mkdir(exist_ok=True)
        shutil.copy2(final / rel, dest, follow_symlinks=False)
    earlier = tmp / "results.json"
    if earlier.exists():
        try:
            results_mod.load(earlier)
        except ValueError:
            earlier.unlink()
    return _foreign_files(final, kept)


# ----------------------------------------------------------------------------- kernel


_KERNEL_HOME: list[Path] = []
_KERNEL_LOCK = threading.Lock()


def _kernel_env() -> None:
    """A kernelspec pointing at this interpreter, visible only to this process and its children
    (``JUPYTER_PATH``), created once per process in a temporary folder removed at exit."""
    with _KERNEL_LOCK:  # one per process, also when a cluster worker runs two studies at once
        if not _KERNEL_HOME:
            _make_kernel_home()


#: Numerical libraries' thread pools in a kernel: one thread each, unless the user set them.  The
#: runner already keeps a kernel per core busy; a pool per kernel only wakes threads that contend
#: for the same cores (OpenBLAS spends more CPU waking two threads than on the 2-4 parameter linear
#: algebra of a fit), and a fit's last digits would depend on how many cores the machine has.
_ONE_THREAD = {k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
               if k not in os.environ}


def _make_kernel_home() -> None:
    import atexit

    sweep_stale(Path(tempfile.gettempdir()), pattern="care-kit-jupyter-*")
    home = Path(tempfile.mkdtemp(prefix="care-kit-jupyter-"))
    _LOCKS.append(_own(home))
    atexit.register(shutil.rmtree, home, True)
    spec = home / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--log-level=CRITICAL"],
        "display_name": "care-kit", "language": "python",
        "env": {"PYDEVD_DISABLE_FILE_VALIDATION": "1", **_ONE_THREAD},
    }))
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        [str(home)] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p])
    _KERNEL_HOME.append(home)


RESET_TAG = "kit-reset"

#: The first cell of a notebook run in a reused kernel (dropped from the saved notebook): an empty
#: namespace, and the memory the previous notebook freed given back (:func:`analysis.run.memory.release`).
RESET_SOURCE = ("get_ipython().run_line_magic('reset', '-f')\n"
                "__import__('analysis.run.memory').run.memory.release(forget=True)")


#: Imported by a kernel while the runner validates the data, so notebooks find them loaded.  The
#: objects the imports made (modules, functions, classes: about 180,000, alive as long as the kernel)
#: are then moved out of the garbage collector's sight (:func:`gc.freeze`): every full collection —
#: the three of each namespace reset (``%reset`` collects twice, :func:`analysis.run.memory.release`
#: once) and those the notebooks' allocations trigger — would otherwise walk all of them again for
#: nothing, about 0.08 CPU-s each.  Objects made later, the notebooks' results included, are collected
#: as before; a frozen object is still freed when its last reference goes (reference counting), only a
#: reference cycle among frozen objects would outlive the kernel's run, and imports make none that die.
WARM_UP = ("import numpy, pandas, scipy.stats, scipy.optimize, scipy.special, matplotlib.pyplot\n"
           "import analysis.pages.notebook, analysis.pages.plots, analysis.sections.kpi, analysis.sections.retention, analysis.sections.staffing, "
           "analysis.sections.compensation, analysis.sections.summary\n"
           "import gc; gc.collect(); gc.freeze()")


def _complete(result):
    """The value of ``result``, run to completion in this thread's event loop when it is awaitable."""
    import inspect

    if inspect.isawaitable(result):
        from jupyter_core.utils import ensure_event_loop

        return ensure_event_loop().run_until_complete(result)
    return result


#: ``{thread id: KernelPool}``: the pool whose kernel a worker thread runs its notebooks in.
_THREAD_POOL: dict = {}


class _QuietWhenClosed:
    """A logging filter: drops what the notebook client logs from a worker thread whose pool is
    being closed.  Shutting kernels down under a running notebook (a stopped or failed run) makes
    nbclient log "Kernel died while waiting for execute reply." — the run's own doing, not news for
    the person who stopped it, who gets the command's one-line message."""

    def filter(self, record) -> bool:
        pool = _THREAD_POOL.get(record.thread)
        return pool is None or not pool._closing.is_set()


_QUIET = _QuietWhenClosed()


class KernelPool:
    """Kernels started ahead and reused: one per worker thread.

    Starting a kernel and importing pandas, scipy and matplotlib costs about two seconds a notebook.
    ``KernelPool(n)`` starts ``n`` kernels at once in the background and has them import the kit
    (:data:`WARM_UP`) while the runner is still validating the study; each worker thread then keeps
    its kernel for the notebooks it runs, and the runner clears the namespace (``%reset -f``) before
    each notebook, so every notebook still starts from an empty namespace (nbval runs each one alone
    in the tests).
    """

    def __init__(self, warm: int = 0):
        import queue
        import threading

        _kernel_env()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all = []
        self._ready = queue.Queue()
        self._taken = []
        self._closing = threading.Event()
        self._warming = warm
        import logging

        for name in ("papermill", "traitlets"):  # nbclient logs through papermill's logger
            if _QUIET not in logging.getLogger(name).filters:
                logging.getLogger(name).addFilter(_QUIET)
        for _ in range(warm):
            threading.Thread(target=self._start_warm, daemon=True).start()

    def _new(self):
        # The asynchronous manager: nbclient then waits for output without blocking its event loop,
        # so it notices a kernel that died or was shut down (a blocking client would wait forever).
        from jupyter_client.manager import AsyncKernelManager

        km = AsyncKernelManager(kernel_name=KERNEL_NAME)
        with self._lock:
            self._all.append(km)
        return km

    def _start_warm(self) -> None:
        km = self._new()
        try:
            _complete(self._warm(km))
        except Exception:  # a kernel that would not warm up is simply started again by nbclient
            pass
        self._ready.put(km)

    async def _warm(self, km) -> None:
        """Start ``km`` and have it run :data:`WARM_UP`, giving up as soon as the pool closes.

        The reply is awaited in short polls rather than with ``execute_interactive``: a kernel shut
        down by :meth:`close` while it imports never replies, and a single long wait would hold
        ``close`` (and so a refused or interrupted run) for its whole timeout."""
        import queue
        import time

        if self._closing.is_set():
            return
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=120)
            msg_id = kc.execute(WARM_UP, silent=True, store_history=False)
            deadline = time.monotonic() + 300
            while not self._closing.is_set() and time.monotonic() < deadline:
                try:
                    reply = await kc.get_shell_msg(timeout=0.2)
                except queue.Empty:
                    continue
                if reply.get("parent_header", {}).get("msg_id") == msg_id:
                    return
        finally:
            kc.stop_channels()

    def get(self):
        km = getattr(self._local, "km", None)
        if km is None:
            with self._lock:
                take = self._warming > 0
                self._warming -= take
            km = self._ready.get() if take else self._new()
            with self._lock:
                self._taken.append(km)
            self._local.km = km
            _THREAD_POOL[threading.get_ident()] = self
        return km

    def close(self) -> None:
        """Shut every kernel down: those running notebooks first (a notebook still executing fails at
        once), then those still warming up, once their thread has stopped waiting on them (it stops
        within a fraction of a second of this call, so no client is left talking to a dead kernel)."""
        self._closing.set()
        with self._lock:
            taken = list(self._taken)
        self._kill(taken)
        while self._warming > 0:
            self._ready.get()
            self._warming -= 1
        with self._lock:
            kms = list(self._all)
        self._kill(kms)
        with self._lock:
            self._all.clear()
            self._taken.clear()

    @staticmethod
    def _kill(kms) -> None:
        for km in kms:
            try:
                if km.has_kernel:
                    _complete(km.shutdown_kernel(now=True))
            except Exception:  # pragma: no cover - a kernel that already died
                pass


ENGINE = "care-kit"


def _register_engine() -> None:
    """A papermill engine that writes the executed notebook once, when it is done (or failed).

    papermill's own engine rewrites the whole notebook, images included, at the start and end of
    every cell; for a report notebook that is about a second of serialisation per notebook.  The
    kit's engine keeps that for the end and drops the namespace-reset cell of a reused kernel."""
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    if ENGINE in papermill_engines._engines:
        return

    class _OnceManager(NotebookExecutionManager):
        final = False

        def save(self, **kwargs):
            if not self.final:
                return
            reset = [c for c in self.nb.cells if RESET_TAG in c.get("metadata", {}).get("tags", [])]
            # a reset cell that failed stays, so papermill finds its error and the notebook fails
            # (dropped, the notebook's cells would stand unrun and the study be published empty)
            if not any(o.get("output_type") == "error" for c in reset for o in c.get("outputs", [])):
                self.nb.cells = [c for c in self.nb.cells if not any(c is r for r in reset)]
            super().save(**kwargs)

        def notebook_complete(self, **kwargs):
            self.final = True
            super().notebook_complete(**kwargs)

    class _Engine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                             autosave_cell_every=30, **kwargs):
            nb_man = _OnceManager(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                                  autosave_cell_every=autosave_cell_every)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

    papermill_engines.register(ENGINE, _Engine)


_TIMES = ("start_time", "end_time", "duration")


def normalise_notebook(nb, source_ids=(), paths: dict | None = None, input_path=None):
    """Make an executed notebook the same bytes for the same inputs: no timings (papermill's and
    nbclient's), execution counts 1, 2, … in cell order whichever kernel ran it and however many
    notebooks that kernel ran before, a fixed id for the injected cell, and ``paths`` (the run's
    temporary folder) replaced by where the report ends up; papermill's ``input_path`` is the source
    notebook's path (papermill stores a copy of the whole notebook there when given one in memory).
    Returns a new notebook."""
    meta = nb.metadata.get("papermill")
    if isinstance(meta, dict):
        for k in _TIMES:
            meta.pop(k, None)
        if input_path is not None or not isinstance(meta.get("input_path"), (str, type(None))):
            meta["input_path"] = None if input_path is None else str(input_path)
    count = 0
    source_ids = set(source_ids)
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("execution", None)
        pm_meta = cell.metadata.get("papermill")
        if isinstance(pm_meta, dict):
            for k in _TIMES:
                pm_meta.pop(k, None)
        if "id" in cell and cell["id"] not in source_ids:
            tags = cell.metadata.get("tags", [])
            cell["id"] = "injected-parameters" if "injected-parameters" in tags else f"kit-cell-{i}"
        if cell.cell_type == "code":
            if cell.get("execution_count") is not None:
                count += 1
                cell.execution_count = count
            for out in cell.get("outputs", []):
                if "execution_count" in out:
                    out["execution_count"] = cell.get("execution_count")
    text = nbformat.writes(nb)
    for old, new in (paths or {}).items():
        text = text.replace(json.dumps(str(old))[1:-1], json.dumps(str(new))[1:-1])
    return nbformat.reads(text, as_version=4)


def _execute(nb_path: Path, out_path: Path, params: dict, km=None, paths: dict | None = None) -> float:
    import logging

    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    logging.getLogger("papermill").setLevel(logging.ERROR)
    _register_engine()
    nb = nbformat.read(nb_path, as_version=4)
    if km is not None:  # a reused kernel: start from an empty namespace
        reset = nbformat.v4.new_code_cell(RESET_SOURCE)
        reset.metadata["tags"] = [RESET_TAG]
        reset["id"] = RESET_TAG
        nb.cells.insert(0, reset)
    t0 = time.perf_counter()
    extra = {"km": km} if km is not None else {}
    try:
        done = pm.execute_notebook(nb, str(out_path), parameters=params, kernel_name=KERNEL_NAME,
                                   language="python", engine_name=ENGINE, progress_bar=False, log_output=False,
                                   report_mode=False, **extra)
    except PapermillExecutionError as exc:
        raise NotebookFailed(nb_path.name, exc.ename, exc.evalue, out_path) from None
    done = normalise_notebook(done, [c.get("id") for c in nb.cells if c.get("id") != RESET_TAG], paths, nb_path)
    nbformat.write(done, out_path)
    return time.perf_counter() - t0, done


# ----------------------------------------------------------------------------- pages


# The kit's own pages (navigation, index, portfolio) are built from jinja2 templates in
# analysis/pages/html.py; the names below stay importable from here.
_nav = _html.nav
_verdict_block = _html.verdict_block
write_study_index = _html.write_study_index
_extra_links = _html.extra_links
_INDEX_CSS = _html.shell_css()
_SORT_JS = "<script>\n" + _html.sort_js() + "</script>"


def _title(section: str, lang: str) -> str:
    return _html.section_title(section, lang)


def format_figure(value, kind: str, lang: str, currency: str) -> str:
    """An index card's value in the format ``kind`` (see :func:`analysis.figures.format_as`)."""
    from analysis.figures import format_as

    return format_as(kind, value, lang, currency)


def _page(title: str, body: str, lang: str, nav: str = "") -> str:
    return _html.page(title, body, lang, nav)


def write_portfolio(root: Path, runs: list[StudyRun], lang: str) -> Path:
    """``<root>/index.html`` comparing several studies side by side (sortable columns); money is
    added up per currency only (see :func:`analysis.pages.html.write_portfolio`)."""
    return _html.write_portfolio(root, runs, lang, INDEX_FIGURES)


# ----------------------------------------------------------------------------- manifest


_PACKAGES = ("numpy", "pandas", "scipy", "matplotlib", "papermill", "nbconvert", "nbformat", "ipykernel",
             "pyyaml", "openpyxl", "pyarrow")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _input_files(study: Study) -> list[Path]:
    from analysis.inputs import data

    finder = getattr(data, "input_files", None)
    if finder is not None:
        return [Path(p) for p in finder(study)]
    return sorted(p for p in Path(study.dir).iterdir() if p.is_file())


def _inputs_sha256(study: Study) -> dict:
    files = {}
    for p in _input_files(study):
        try:
            files[str(Path(p).relative_to(study.dir))] = _sha256(p)
        except ValueError:
            files[str(p)] = _sha256(p)
    return files


def _check_same_settings(final: Path, study: Study, opts: RunOptions, lang: str) -> None:
    """``--only`` keeps the earlier report's other pages; they must have been computed with this run's
    settings (``--set`` values, ``--lang``) and inputs (study.yaml and the data files, by hash), as its
    manifest.json records them — else the report would contradict itself.  Raises InputError saying
    what differs and to run every page."""
    try:
        earlier = json.loads((final / "manifest.json").read_text(encoding="utf-8"))
        params, hashes = earlier["parameters"], earlier["inputs_sha256"]
        then = {"--set": params.get("overrides") or {}, "--lang": params.get("lang"), "inputs": hashes}
    except (OSError, ValueError, KeyError, TypeError):
        then = None
    now = {"--set": plain(opts.overrides, strict=True), "--lang": lang, "inputs": _inputs_sha256(study)}
    if then is None:
        differ = "its manifest.json is missing or unreadable, so its settings are unknown"
    else:
        names = {"--set": "--set values", "--lang": "language",
                 "inputs": "study.yaml or data files"}
        changed = [k for k in now if json_text(now[k], sort_keys=True) != json_text(then[k], sort_keys=True)]
        if not changed:
            return
        differ = "its other pages were computed with different " + " and ".join(names[k] for k in changed)
        if "--set" in changed:
            differ += (f" (then: {json_text(then['--set'], sort_keys=True, ensure_ascii=False)}; "
                       f"now: {json_text(now['--set'], sort_keys=True, ensure_ascii=False)})")
    raise InputError(Problem("--only", f"would keep pages of the earlier report in {final}, but {differ}. "
                             "Run every page (leave out --only) so the whole report uses one set of settings."))


def _earlier_timings(path: Path, rerun: set) -> dict:
    """Seconds per notebook in an earlier manifest (``--only`` copies it), without those in ``rerun``;
    empty when it cannot be read.  Only names of pages the folder still holds are kept."""
    try:
        then = json.loads(path.read_text(encoding="utf-8")).get("timings_s", {})
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(then, dict):
        return {}
    return {k: float(v) for k, v in then.items() if k not in rerun and isinstance(v, (int, float))
            and not isinstance(v, bool) and (path.parent / "notebooks" / f"{k}.ipynb").is_file()}


def _manifest(study: Study, opts: RunOptions, lang: str, timings: dict, started: float) -> dict:
    versions = {}
    for pkg in _PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    files = _inputs_sha256(study)
    return {
        "kit_version": __version__,
        "study": study.name,
        "study_dir": str(Path(study.dir).resolve()),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "parameters": {"lang": lang, "only": opts.only, "with_code": opts.with_code,
                       "overrides": plain(opts.overrides, strict=True)},
        "inputs_sha256": files,
        "python": platform.python_version(),
        "packages": versions,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "wall_s": round(time.perf_counter() - started, 3),
    }


# ----------------------------------------------------------------------------- runs


def prepare(study_dir, opts: RunOptions):
    """Validate config and data; returns (study, tables). Raises InputError with every problem."""
    from analysis.inputs import data

    study = load_study(study_dir, opts.overrides)  # the study as written must be valid
    if opts.lang and opts.lang != study.language:  # --lang is recorded as a command-line setting
        study = load_study(study_dir, {**opts.overrides, "language": opts.lang})
    problems: list[Problem] = []
    tables = None
    try:
        tables = data.load_tables(study)
    except InputError as exc:
        problems.extend(exc.problems)
    for validator in _config_validators():
        problems.extend(validator(study))
    if tables is not None:
        problems.extend(_check_covers(study, tables))
        problems.extend(data.check_settings(study, tables))
    if problems:
        raise InputError(_name_set(problems, opts.overrides))
    return study, tables


def _name_set(problems: list[Problem], overrides: dict) -> list[Problem]:
    """A problem with a value that came from ``--set`` names ``--set``, not study.yaml."""
    import dataclasses

    def given(key: str) -> bool:
        node = overrides
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
            if not isinstance(node, dict):
                return True
        return True

    out = []
    for p in problems:
        head, sep, key = p.where.partition(": ")
        if head == "study.yaml" and sep and overrides and given(key.strip()):
            p = dataclasses.replace(p, where=f"--set: {key.strip()}")
        out.append(p)
    return out


def _config_validators():
    """Checks of free-form config (pay schemes) that modules provide."""
    out = []
    try:
        from analysis.sections import compensation

        check = getattr(compensation, "validate_schemes", None)
        if check is not None:
            out.append(lambda study: check(study.get("compensation.schemes")))
        out.append(_check_chosen_scheme)
        out.append(_check_verdict_thresholds)
    except ImportError:  # pragma: no cover
        pass
    return out


def _check_verdict_thresholds(study: Study) -> list[Problem]:
    """``summary.reject_prob`` must lie below ``summary.recommend_prob``: between them the verdict is a
    pilot, and reversed thresholds would make every salon both worth the role and not."""
    rec, rej = study.get("summary.recommend_prob"), study.get("summary.reject_prob")
    if rec is not None and rej is not None and float(rej) >= float(rec):
        return [Problem("study.yaml: summary.reject_prob",
                        f"is {rej:g}, not below summary.recommend_prob ({rec:g}): the role is advised against "
                        "below the first and recommended above the second, with a pilot in between.")]
    return []


def _check_chosen_scheme(study: Study) -> list[Problem]:
    """``care_manager.scheme`` must name one of ``compensation.schemes``."""
    schemes = study.get("compensation.schemes") or []
    names = [s.get("name") for s in schemes if isinstance(s, dict)]
    chosen = study.get("care_manager.scheme")
    if names and chosen not in names:
        return [Problem("study.yaml: care_manager.scheme",
                        f"must name one of the pay schemes ({', '.join(map(str, names))}). Got {chosen!r} instead.")]
    return []


def _check_covers(study: Study, tables) -> list[Problem]:
    """``care_manager.covers`` and ``care_manager.pilot_blocks`` must name blocks that occur in the
    visits."""
    problems = []
    for key, empty, allowed in (("care_manager.covers", "all", "use 'all'"),
                                ("care_manager.pilot_blocks", None, "leave it empty (every block)")):
        named = study.get(key, empty)
        if named == empty or named is None or (isinstance(named, (list, tuple)) and not named):
            continue
        if "block" not in tables.visits.columns:
            if key == "care_manager.pilot_blocks":   # bare visits: the pilot page compares before/after, and says so
                continue
            problems.append(Problem(f"study.yaml: {key}",
                                    f"names blocks, but the visits have no block column; {allowed} or map a block column."))
            continue
        known = sorted(map(str, tables.visits["block"].dropna().unique()))
        unknown = [b for b in named if str(b) not in known]
        if unknown:
            problems.append(Problem(f"study.yaml: {key}", f"names blocks absent from the visits: {', '.join(map(str, unknown))}. "
                                    f"Blocks in the data: {', '.join(known)}."))
    return problems


def run_study(study_dir, opts: RunOptions, on_notebook_done=None) -> StudyRun:
    """Run one study into ``opts.out_root / <folder name>``; see the module docstring.  Raises
    :class:`InputError` (nothing was run) or :class:`NotebookFailed` (the folder ``<name>.failed``
    keeps the executed notebooks)."""
    from analysis.run.scheduler import run_batch

    outcome = run_batch([study_dir], opts, on_notebook_done=on_notebook_done)[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


class StudyJob:
    """One study of a run, in the stages the scheduler (:mod:`analysis.run.scheduler`) calls them:

    * :meth:`setup` (a worker thread): validate config and data, then a temporary folder beside
      the target, locked as this run's, with the cached tables in it;
    * :meth:`notebook` (a worker thread, its kernel from the shared :class:`KernelPool`): execute one
      notebook and export its page — the sections first (:meth:`sections`), the late notebooks
      (:data:`LATE`: summary, role profile) once every section of this study is done (:meth:`late`);
    * :meth:`finish` (a worker thread): index page, tables, references, manifest;
    * :meth:`publish` (the main thread, signals deferred): the temporary folder swapped in;
    * :meth:`keep_failed` / :meth:`discard` on failure: the folder kept as ``<name>.failed`` for a
      failing notebook, else removed; the earlier report is never touched.
    """

    def __init__(self, study_dir, opts: RunOptions, nbs: list[Path]):
        self.started = time.perf_counter()
        self.dir = Path(study_dir)
        self.opts = opts
        self.nbs = list(nbs)
        self.name = self.dir.resolve().name
        self.root = Path(opts.out_root)
        self.final = self.root / self.name
        self.run = StudyRun(study_dir=self.dir, name=self.name, out_dir=self.final)
        self.tmp: Path | None = None
        self.lock = None
        self.done: list = []

    # -- stages

    def setup(self) -> None:
        from analysis.inputs import data, privacy

        opts, name, root, final = self.opts, self.name, self.root, self.final
        _check_out(root, name)
        _check_replaceable(final)  # before hours of notebooks, not when publishing them
        study, tables = prepare(self.dir, opts)
        self.study = study
        lang = self.lang = opts.lang or study.language
        self.run.title = self.shown = _html.study_name(study, lang)  # name_ru on Russian pages
        if not self.nbs:
            _check_notebooks(opts.notebooks_dir)
            raise InputError(Problem("--only", f"no notebook matches {', '.join(opts.only)}. Notebooks: "
                                     + ", ".join(section_of(p) for p in notebooks_in(opts.notebooks_dir))))
        if opts.only and final.is_dir():  # kept pages must come from the same settings and data
            _check_same_settings(final, study, opts, lang)
        sweep_stale(root)  # folders of killed runs; never one of a run in progress
        cached = privacy.for_cache(tables)  # ids numbered, nothing outside the contract, before any write
        del tables
        left = privacy.personal_columns(cached)
        if left:  # pragma: no cover - for_cache keeps none; a guard against a future change
            raise RuntimeError(f"personal columns would be cached: {', '.join(left)}")
        self.tmp = tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=root.resolve()))
        self.lock = _own(tmp)
        if opts.only and final.is_dir():  # a partial run updates the earlier report
            self.run.left_out = _copy_earlier(final, tmp)
        work = self.work = tmp / "_work"
        work.mkdir(exist_ok=True)
        data.write_cache(cached, work / "data")
        del cached
        from analysis.run import memory

        memory.release()  # the checked tables are on disk now; the kernels read them from there
        self.results_path = tmp / "results.json"
        self.params = {"study_dir": str(self.dir.resolve()), "lang": lang, "results_path": str(self.results_path),
                       "data_dir": str(work / "data"), "overrides": json.dumps(plain(opts.overrides), sort_keys=True)}
        self.executed_dir = tmp / "notebooks"
        self.executed_dir.mkdir(exist_ok=True)
        stems = sorted({p.stem for p in self.nbs} | {p.stem for p in self.executed_dir.glob("*.ipynb")})
        self.pages = [(f"{stem}.html", section_of(Path(stem)), _title(section_of(Path(stem)), lang)) for stem in stems]
        self.nav_pages = [(h, t) for h, _, t in self.pages]
        self.footer = _html.footer(lang)
        self.paths = {str(tmp): str(final.resolve()), **{str(k): str(v) for k, v in opts.path_names.items()}}

    def sections(self) -> list[Path]:
        return [p for p in self.nbs if not is_last(p)]

    def late(self) -> list[Path]:
        return [p for p in self.nbs if is_last(p)]

    def notebook(self, p: Path, km) -> tuple:
        lang, shown = self.lang, self.shown
        t, nb = _execute(p, self.executed_dir / p.name, self.params, km, self.paths)
        t0 = time.perf_counter()  # each page is exported as soon as its notebook is done
        title = f"{_title(section_of(p), lang)} — {shown}"
        page = export_html(nb, lang, title, _nav(self.nav_pages, f"{p.stem}.html", lang, shown), self.footer,
                           self.opts.with_code)
        (self.tmp / f"{p.stem}.html").write_text(page, encoding="utf-8")
        self.done.append((p, t, time.perf_counter() - t0))
        return p

    def finish(self) -> None:
        run, tmp, study, lang, work = self.run, self.tmp, self.study, self.lang, self.work
        order = {p: i for i, p in enumerate(self.nbs)}
        done = sorted(self.done, key=lambda d: order.get(d[0], 0))
        run.timings = {p.stem: t for p, t, _ in done}
        run.timings["html_export"] = sum(e for _, _, e in done)
        figures = results_mod.load(self.results_path).get("figures", {})
        if not self.results_path.exists():
            results_mod.record(self.results_path, "study", {"name": study.name}, study=study.name)
        write_study_index(tmp, study, lang, self.pages, figures, _extra_links(tmp, lang))
        earlier = tmp / "tables.xlsx" if self.opts.only else None  # --only: the other pages' sheets kept
        _write_tables_xlsx(tmp, work, lang, study, earlier, {section_of(p) for p in self.nbs})
        references.write(tmp / references.FILE, lang, _nav(self.nav_pages, references.FILE, lang, self.shown))
        run.figures = dict(figures)
        run.figures["_currency"] = study.currency
        shutil.rmtree(work, ignore_errors=True)
        for stale in tmp.glob("*.lock"):
            if stale.name != LOCK_FILE:
                stale.unlink()
        timings = dict(run.timings)
        if self.opts.only:  # --only: the kept pages' timings stay in the manifest, as their pages do
            timings = {**_earlier_timings(tmp / "manifest.json", {p.stem for p in self.nbs} | {"html_export"}),
                       **timings}
            timings = {k: timings[k] for k in sorted(timings, key=lambda k: (k == "html_export", k))}
        manifest = _manifest(study, self.opts, lang, timings, self.started)
        for old, new in self.opts.path_names.items():  # where the study is for the one who ran it
            if manifest.get("study_dir") == str(old):
                manifest["study_dir"] = str(new)
        (tmp / "manifest.json").write_text(json_text(manifest, ensure_ascii=False, indent=2), encoding="utf-8")

    def publish(self) -> StudyRun | NotPublished:
        """The finished folder swapped in (main thread; a signal waits until the swap is done).
        Returns the :class:`StudyRun`, or :class:`NotPublished` (not raised: the other studies of the
        call go on) when the earlier folder could not be replaced; this run's folder is then removed."""
        with _signals_deferred():
            (self.tmp / LOCK_FILE).unlink()
            try:
                _swap(self.tmp, self.final)
            except NotPublished as exc:
                self.discard()
                return exc
            self._release()
        return self.run

    def keep_failed(self, exc: "NotebookFailed") -> "NotebookFailed":
        """The executed notebooks of a failed run kept in ``<name>.failed`` (no cached data)."""
        with _signals_deferred():
            failed = self.root / f"{self.name}.failed"
            shutil.rmtree(failed, ignore_errors=True)
            shutil.rmtree(self.tmp / "_work", ignore_errors=True)
            (self.tmp / LOCK_FILE).unlink(missing_ok=True)
            self.tmp.rename(failed)
            self._release()
        exc.kept = failed / "notebooks" / exc.notebook if exc.kept else None
        return exc

    def discard(self) -> None:
        """The temporary folder removed (a failed or stopped run)."""
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self._release()

    def _release(self) -> None:
        if self.lock is not None:
            self.lock.close()
            self.lock = None
        self.tmp = None if self.tmp is None or not self.tmp.exists() else self.tmp


def _write_tables_xlsx(folder: Path, work: Path, lang: str = "en", study: Study | None = None,
                       earlier: Path | None = None, replaced=()) -> None:
    """``tables.xlsx``: the tables notebooks exported (``ctx.export``), one per sheet; with ``earlier``
    (``--only``) the earlier workbook's sheets of the sections not in ``replaced`` are kept."""
    from analysis.pages import tables_xlsx

    tables_xlsx.write(work / "tables", folder / "tables.xlsx", lang,
                      study.currency if study else "RUB", _html.study_name(study, lang) if study else "", study,
                      earlier=earlier, replaced=replaced)


class NotPublished(InputError):
    """The study's notebooks ran but its report folder could not be replaced (exit code 2); the
    earlier report was left as it was."""


def _cannot_replace(final: Path, exc: OSError, kind=None) -> InputError:
    return (kind or NotPublished)(Problem(str(final), f"cannot replace this report folder: {exc.strerror or exc}. "
                                "The earlier report was left as it was; make the folder writable (or move it "
                                "away) and run again."))


def _check_notebooks(folder: Path) -> None:
    """``--notebooks`` must be a folder holding notebooks; raises :class:`InputError` saying which
    of these it is not."""
    folder = Path(folder)
    if not folder.exists():
        raise InputError(Problem("--notebooks", f"{folder} not found. Give the folder of your notebooks."))
    if not folder.is_dir():
        raise InputError(Problem("--notebooks", f"{folder} is a file, not a folder. Give the folder of your notebooks."))
    if not notebooks_in(folder):
        raise InputError(Problem("--notebooks", f"no notebook (.ipynb) in {folder}."))


def _check_replaceable(final: Path) -> None:
    """Raise :class:`InputError` before anything runs when the earlier report folder ``final`` cannot
    be swapped out (immutable, on a read-only mount, owned by another user in a sticky folder): it is
    renamed aside and back, the move the publishing step makes (signals wait meanwhile; a run killed
    in between has it put back by :func:`sweep_stale`)."""
    final = Path(final)
    if not final.is_dir() or final.is_symlink():
        return
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    with _signals_deferred():
        try:
            final.rename(old)
        except OSError as exc:
            raise _cannot_replace(final, exc, InputError) from None  # nothing ran: bad input
        try:
            old.rename(final)
        except OSError:  # another run published the study meanwhile: the earlier copy is out of date
            shutil.rmtree(old, ignore_errors=True)


def _swap(tmp: Path, final: Path) -> None:
    """Replace ``final`` by ``tmp`` with two renames; the old copy is removed only afterwards.  When
    either rename fails the earlier report is put back and :class:`NotPublished` names the folder."""
    old = None
    try:
        if final.exists():
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            shutil.rmtree(old, ignore_errors=True)
            final.rename(old)
        tmp.rename(final)
    except OSError as exc:
        if old is not None and old.exists() and not final.exists():
            with contextlib.suppress(OSError):
                old.rename(final)
        raise _cannot_replace(final, exc) from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def run_many(study_dirs, opts: RunOptions, report=print) -> tuple[int, list[StudyRun]]:
    """Run studies with one scheduler for the whole call (:func:`analysis.run.scheduler.run_batch`): one
    pool of ``opts.jobs`` kernels shared by every study, notebooks of all studies interleaved, each
    study's folder swapped in as soon as that study is done.  Keeps going past a failing study and
    returns the worst exit code.  Several studies also get ``<root>/index.html``.  With
    ``opts.scheduler`` (``tcp://HOST:PORT``) the studies run on a Dask cluster instead
    (:func:`analysis.run.cluster.run_on_cluster`)."""
    from tqdm import tqdm

    study_dirs = [Path(d) for d in study_dirs]
    _check_out(Path(opts.out_root))
    n_nb = len(notebooks_in(opts.notebooks_dir, opts.only))
    bar = tqdm(total=n_nb * len(study_dirs), unit="notebook", disable=not opts.progress,
               file=sys.stderr, leave=False, dynamic_ncols=True)

    def tick(job_name, n=1):
        bar.set_description(job_name)
        bar.update(n)

    try:
        if opts.scheduler:
            from analysis.run.cluster import run_on_cluster

            outcomes = run_on_cluster(opts.scheduler, study_dirs, opts, on_study_done=lambda name: tick(name, n_nb))
        else:
            from analysis.run.scheduler import run_batch

            outcomes = run_batch(study_dirs, opts, on_progress=tick)
    finally:
        bar.close()
    runs: list[StudyRun] = []
    worst = 0
    for d, out in zip(study_dirs, outcomes):
        dead = StudyRun(d, d.resolve().name, Path(opts.out_root) / d.resolve().name)
        if isinstance(out, NotPublished):
            worst = max(worst, 2)
            report(f"{d}: not published:\n" + "\n".join(f"  - {p}" for p in out.problems))
            dead.code, dead.message = 2, str(out)
        elif isinstance(out, InputError):
            worst = max(worst, 2)
            msg = "\n".join(f"  - {p}" for p in out.problems)
            report(f"{d}: bad input, nothing was run ({len(out.problems)} problem"
                   f"{'s' if len(out.problems) > 1 else ''}):\n{msg}")
            dead.code, dead.message = 2, str(out)
        elif isinstance(out, NotebookFailed):
            code = 2 if out.ename == "InputError" else 1
            worst = max(worst, code)
            if code == 2:
                report(f"{d}: bad input in {out.notebook}:\n  - {out.evalue}")
            else:
                report(f"{d}: {out.notebook} failed: {out.ename}: {out.evalue}\n"
                       f"  The executed notebook with the failing cell is kept in {out.kept}.\n"
                       f"  Earlier reports were left as they were.")
            dead.code, dead.message = code, str(out)
        elif isinstance(out, BaseException):  # a study the cluster could not run (a worker died, …)
            worst = max(worst, 1)
            report(f"{d}: not run: {type(out).__name__}: {out}\n  Earlier reports were left as they were.")
            dead.code, dead.message = 1, str(out)
        else:
            runs.append(out)
            continue
        runs.append(dead)
    if len(study_dirs) > 1:
        lang = opts.lang or "en"
        path = write_portfolio(Path(opts.out_root), runs, lang)
        report(f"Portfolio: {path}")
    for r in runs:
        if r.code == 0:
            total = sum(v for k, v in r.timings.items())
            report(f"{r.name}: {r.out_dir / 'index.html'} ({len([k for k in r.timings if k != 'html_export'])} "
                   f"notebooks, {total:.1f} s of work)")
            if r.left_out:
                shown = ", ".join(r.left_out[:10]) + (f" and {len(r.left_out) - 10} more" if len(r.left_out) > 10 else "")
                report(f"  Not carried over from the earlier report (files the kit did not write): {shown}")
    return worst, runs
