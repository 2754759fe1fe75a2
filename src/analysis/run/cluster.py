"""``run … --scheduler tcp://HOST:PORT``: the studies of a run on a Dask distributed cluster.

Each study is one task (:func:`remote_study`) on a worker that has the kit installed
(``pip install 'care-manager-kit[cluster]'``): the study folder (and ``--notebooks``, when given)
travels to the worker as a zip archive, the worker runs :func:`analysis.run.report.run_study` into a
temporary folder of its own, and sends the report folder back as a zip archive.  The client unpacks
it into a temporary folder beside the target, locked as this run's, and swaps it in exactly as a
local run does (:meth:`analysis.run.report.StudyJob.publish`), so an earlier report survives a failed or
stopped run.  Bad input and failing notebooks come back as plain data and are reported as in a local
run (exit codes 2 and 1); a worker lost or a task that could not run is an internal error (1).

Dask does the scheduling (which worker runs which study, retries none).  Results cross the network
as Dask messages, so connect only to a scheduler and workers you run yourself.
"""
from __future__ import annotations

import dataclasses
import io
import os
import shutil
import tempfile
import uuid
import zipfile
from pathlib import Path, PurePosixPath

from analysis.errors import InputError, Problem
from analysis.run.report import (LOCK_FILE, NotebookFailed, RunOptions, StudyRun, _check_out, _own, _signals_deferred,
                     _signals_stop_the_run, _swap, project_root, sweep_stale, NotPublished, _check_replaceable)

__all__ = ["run_on_cluster", "remote_study", "pack", "unpack"]


# ----------------------------------------------------------------------------- archives


def pack(folder: Path) -> bytes:
    """Every regular file under ``folder`` (symbolic links left out) as a zip archive."""
    folder = Path(folder)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_symlink() or not path.is_file() or path.name.startswith(LOCK_FILE):
                continue
            if any(part.is_symlink() for part in path.relative_to(folder).parents if str(part) != "."):
                continue
            zf.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()


def unpack(data: bytes, dest: Path) -> Path:
    """Unpack an archive of :func:`pack` into ``dest``; a member outside ``dest`` (absolute, ``..``)
    or other than a plain file or folder is refused."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            name = PurePosixPath(info.filename)
            mode = (info.external_attr >> 16) & 0o170000
            if name.is_absolute() or ".." in name.parts or "\\" in info.filename or mode not in (0, 0o100000, 0o040000):
                raise ValueError(f"refused archive member {info.filename!r}")
        zf.extractall(dest)
    return dest


# ----------------------------------------------------------------------------- on a worker


def _problem_data(p: Problem, paths: dict) -> dict:
    d = dataclasses.asdict(p)
    for key in ("where", "message"):
        for old, new in paths.items():
            d[key] = d[key].replace(old, new)
    d["rows"] = list(d["rows"])
    return d


def remote_study(name: str, client_dir: str, client_final: str, study_zip: bytes, notebooks_zip: bytes | None,
                 options: dict, earlier_zip: bytes | None = None) -> dict:
    """Run one study on a worker; returns plain data: ``{"kind": "done", "zip": …, "title", "figures",
    "timings"}``, ``{"kind": "input", "problems": [...]}`` or ``{"kind": "notebook", "notebook", "ename",
    "evalue", "zip": the failed folder or None}``.  ``earlier_zip`` (for ``--only``) is the client's
    earlier report of the study: unpacked where the worker's run looks for it, it is checked and kept
    exactly as by a local run (same settings or exit 2; the other pages kept)."""
    # the study's exports (names, phones) are unpacked here: a worker killed in the middle leaves the
    # folder behind, so it is locked as this process's and removed by the next task on this machine
    sweep_stale(Path(tempfile.gettempdir()), pattern="care-kit-cluster-*")
    with tempfile.TemporaryDirectory(prefix="care-kit-cluster-") as tmp:
        tmp = Path(tmp).resolve()
        lock = _own(tmp)
        try:
            return _run_here(name, client_dir, client_final, study_zip, notebooks_zip, options, tmp, earlier_zip)
        finally:
            lock.close()


def _run_here(name, client_dir, client_final, study_zip, notebooks_zip, options, tmp: Path,
              earlier_zip: bytes | None = None) -> dict:
    from analysis.run.report import run_study

    study = unpack(study_zip, tmp / "in" / name)
    nbs = project_root() / "notebooks" if notebooks_zip is None else unpack(notebooks_zip, tmp / "notebooks")
    out = tmp / "out"
    if earlier_zip is not None and options.get("only"):
        unpack(earlier_zip, out / name)  # the report --only keeps, where run_study looks for it
    paths = {str(study): client_dir, str(out / name): client_final}
    if notebooks_zip is not None and options.get("notebooks_dir"):
        paths[str(nbs)] = options["notebooks_dir"]
    opts = RunOptions(lang=options.get("lang"), out_root=out, jobs=max(1, int(options.get("jobs") or os.cpu_count() or 1)),
                      only=list(options.get("only") or []), with_code=bool(options.get("with_code")),
                      overrides=options.get("overrides") or {}, notebooks_dir=nbs, progress=False,
                      path_names=paths)
    try:
        run = run_study(study, opts)
    except InputError as exc:
        return {"kind": "input", "problems": [_problem_data(p, paths) for p in exc.problems]}
    except NotebookFailed as exc:
        failed = out / f"{name}.failed"
        return {"kind": "notebook", "notebook": exc.notebook, "ename": exc.ename, "evalue": exc.evalue,
                "zip": pack(failed) if failed.is_dir() else None}
    return {"kind": "done", "zip": pack(out / name), "title": run.title, "figures": run.figures,
            "timings": run.timings}


# ----------------------------------------------------------------------------- on the client


def _receive(res: dict, study_dir: Path, opts: RunOptions):
    """A worker's answer turned into a published report (a :class:`StudyRun`) or the exception a local
    run would have raised."""
    root = Path(opts.out_root)
    name = study_dir.resolve().name
    final = root / name
    kind = res.get("kind")
    if kind == "input":
        return InputError([Problem(**{**p, "rows": tuple(p.get("rows") or ())}) for p in res["problems"]])
    if kind == "notebook":
        kept = None
        if res.get("zip") is not None:
            with _signals_deferred():
                failed = root / f"{name}.failed"
                shutil.rmtree(failed, ignore_errors=True)
                unpack(res["zip"], failed)
            kept = failed / "notebooks" / res["notebook"]
        return NotebookFailed(res["notebook"], res["ename"], res["evalue"], kept)
    with _signals_deferred():  # the folder is marked as this run's before anything can interrupt
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=root.resolve()))
        lock = _own(tmp)
    try:
        unpack(res["zip"], tmp)
        with _signals_deferred():
            (tmp / LOCK_FILE).unlink()
            _swap(tmp, final)
    except NotPublished as exc:  # the earlier folder could not be replaced: put back, said, exit 2
        shutil.rmtree(tmp, ignore_errors=True)
        return exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        lock.close()
    return StudyRun(study_dir=study_dir, name=name, out_dir=final, timings=dict(res.get("timings") or {}),
                    figures=dict(res.get("figures") or {}), title=res.get("title") or "")


def _client(address: str):
    try:
        from distributed import Client
    except ImportError:
        raise InputError(Problem("--scheduler", "needs Dask distributed, the kit's cluster extra: "
                                 "pip install 'care-manager-kit[cluster]'.")) from None
    try:
        return Client(address, timeout="20s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(Problem("--scheduler", f"cannot reach a Dask scheduler at {address}: {exc}")) from None


def run_on_cluster(address: str, study_dirs, opts: RunOptions, on_study_done=None) -> list:
    """Run ``study_dirs`` on the Dask cluster at ``address``.  Returns, in the order of
    ``study_dirs``, a :class:`StudyRun` per study done or the exception that stopped it (as
    :func:`analysis.run.scheduler.run_batch`); a signal cancels the tasks and is raised."""
    from distributed import as_completed

    study_dirs = [Path(d) for d in study_dirs]
    root = Path(opts.out_root)
    outcomes: list = [None] * len(study_dirs)
    own_notebooks = Path(opts.notebooks_dir).resolve() != (project_root() / "notebooks").resolve()
    options = {"lang": opts.lang, "jobs": opts.jobs, "only": list(opts.only), "with_code": opts.with_code,
               "overrides": opts.overrides, "notebooks_dir": str(Path(opts.notebooks_dir).resolve())}
    with _signals_stop_the_run():
        client = _client(address)
        futures = {}
        try:
            nb_zip = client.scatter(pack(opts.notebooks_dir), broadcast=False) if own_notebooks else None
            sweep_stale(root)
            for i, d in enumerate(study_dirs):
                name = d.resolve().name
                try:
                    _check_out(root, name)
                    _check_replaceable(root / name)  # refused before the worker runs anything
                    if not d.is_dir():
                        from analysis.inputs.study import load_study

                        load_study(d, opts.overrides)  # raises the same InputError a local run gives
                except InputError as exc:
                    outcomes[i] = exc
                    continue
                study_zip = client.scatter(pack(d), broadcast=False)
                final = root / name
                # --only keeps the earlier report's other pages: the worker must see that report as a
                # local run does (its manifest checked against this run's settings, its pages kept)
                earlier = (client.scatter(pack(final), broadcast=False)
                           if opts.only and final.is_dir() and not final.is_symlink() else None)
                fut = client.submit(remote_study, name, str(d.resolve()), str(final.resolve()), study_zip,
                                    nb_zip, options, earlier, key=f"care-kit-{name}-{uuid.uuid4().hex[:12]}",
                                    pure=False)
                futures[fut] = i
            for fut in as_completed(list(futures), loop=client.loop):
                i = futures.pop(fut)
                try:
                    res = fut.result()
                except Exception as exc:  # the task could not run: a worker lost, the kit missing there
                    outcomes[i] = exc
                else:
                    outcomes[i] = _receive(res, study_dirs[i], opts)
                if on_study_done:
                    on_study_done(study_dirs[i].resolve().name)
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
        finally:
            client.close()
    return outcomes
