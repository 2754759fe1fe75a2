"""Issue 14: nothing runs that the kit did not write, nothing personal is left on disk, every bad
value is caught, outputs are the same bytes for the same inputs.

Fast tests run with the tiny study and tiny notebooks of ``conftest.py``; the ones that run the whole
sample or kill runs are marked ``slow``.  Fuzz tests are bounded by example count, never by time.
"""
from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from analysis.run import report
from analysis.errors import InputError
from analysis.run.report import RunOptions, run_study
from analysis.inputs.study import parse_overrides
from conftest import ROOT, SAMPLE, SAMPLE_DRAWS, make_notebook

SRC = ROOT / "src" / "analysis"


def _opts(tmp_path, nbs, **kw):
    kw.setdefault("jobs", 2)
    return RunOptions(out_root=tmp_path / "reports", notebooks_dir=nbs, progress=False, **kw)


def _tree_digest(folder: Path) -> dict:
    """``{relative path: sha256}`` of every file under ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def _temporaries(root: Path) -> list[Path]:
    return [p for p in Path(root).iterdir() if p.name.endswith(".tmp") or ".old-" in p.name] \
        if Path(root).exists() else []


# =============================================================================== 1. no pickle


def test_no_module_of_the_kit_unpickles():
    """No pickle / joblib / dill / ``allow_pickle=True`` anywhere in the kit's code or notebooks."""
    pattern = re.compile(r"\b(import\s+(c?pickle|dill|joblib|shelve|marshal)|from\s+(c?pickle|dill|joblib|shelve)\s+import"
                         r"|pickle\.loads?\(|allow_pickle\s*=\s*True|read_pickle|to_pickle)")
    hits = []
    for path in sorted(SRC.rglob("*.py")) + sorted((ROOT / "notebooks").glob("*.ipynb")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)


class _Planted:
    """Unpickling this opens (creates) a file: a stand-in for arbitrary code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_only_never_loads_a_planted_cache_or_follows_a_planted_link(tiny_study, tmp_path):
    nbs = tmp_path / "nbs"
    make_notebook(nbs / "01_first.ipynb", 'v = ctx.cached("fit", lambda: 41 + 1)\nctx.record("first", {"fit": v})')
    make_notebook(nbs / "02_second.ipynb", 'ctx.record("second", {"rows": len(ctx.tables.visits)})')
    opts = _opts(tmp_path, nbs, lang="en")
    run_study(tiny_study, opts)
    out = tmp_path / "reports" / "tiny"
    marker = tmp_path / "code-ran"
    # a received report folder with a planted cache, a planted data table and a link outside
    for name in ("fit", "retention_analysis", "staffing_analysis"):
        (out / "_work" / "cache").mkdir(parents=True, exist_ok=True)
        (out / "_work" / "cache" / f"{name}.pkl").write_bytes(pickle.dumps(_Planted(marker)))
    (out / "_work" / "data").mkdir(parents=True)
    import pandas as pd
    pd.DataFrame({"client_id": ["planted"], "channel": ["x"]}).to_parquet(out / "_work" / "data" / "clients.parquet")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the report")
    (out / "link.txt").symlink_to(secret)
    odd = 'x" onmouseover="alert(1)'
    (out / "notebooks" / f"{odd}.ipynb").write_text("{}")
    run_study(tiny_study, _opts(tmp_path, nbs, lang="en", only=["first"]))
    assert not marker.exists(), "a pickle from the report folder was loaded"
    res = json.loads((out / "results.json").read_text())
    assert res["figures"]["first"]["fit"] == 42
    assert not (out / "_work").exists() and not (out / "link.txt").exists()
    assert not (out / "notebooks" / f"{odd}.ipynb").exists()
    assert "onmouseover" not in (out / "index.html").read_text(encoding="utf-8")
    assert secret.read_text() == "not for the report"


def test_only_starts_afresh_from_a_results_file_of_another_shape(tiny_study, tiny_notebooks, tmp_path):
    run_study(tiny_study, _opts(tmp_path, tiny_notebooks, lang="en"))
    out = tmp_path / "reports" / "tiny"
    (out / "results.json").write_text('{"figures": ["not", "sections"]}')
    run_study(tiny_study, _opts(tmp_path, tiny_notebooks, lang="en", only=["first"]))
    res = json.loads((out / "results.json").read_text())
    assert res["figures"]["first"]["visits"] == 5 and "second" not in res["figures"]


def test_cached_keeps_results_in_memory_per_run(tmp_path):
    from analysis.pages.notebook import Context, open_study

    ctx = open_study(SAMPLE)
    ctx.data_dir = tmp_path / "run1" / "_work" / "data"
    calls = []
    assert ctx.cached("x", lambda: calls.append(1) or len(calls)) == 1
    assert ctx.cached("x", lambda: calls.append(1) or len(calls)) == 1  # reused within the run
    other = Context(ctx.study, data_dir=tmp_path / "run2" / "_work" / "data")
    assert other.cached("x", lambda: calls.append(1) or len(calls)) == 2  # another run computes again
    assert not list(tmp_path.rglob("*")), "cached wrote to disk"


# =============================================================================== 2. personal data


PERSONAL = {
    "phones": ["+7 916 123-45-67", "+7 903 765-43-21", "89261112233"],
    "emails": ["anna.petrova@example.ru", "boris@mail.example"],
    "names": ["Анна Петрова", "Boris Johnsonov", "Ирина Смирнова-Кузнецова"],
}


def _personal_study(tmp_path) -> Path:
    d = tmp_path / "salon"
    d.mkdir()
    p1, p2, p3 = PERSONAL["phones"]
    s1, s2 = "Ирина Смирнова-Кузнецова", "Boris Johnsonov"
    (d / "visits.csv").write_text(
        "client_id,date,amount,specialist_id,block\n"
        f"{p1},2024-01-03,1500,{s1},hair\n{p1},2024-02-10,1800,{s2},nails\n{p2},2024-01-05,900,{s1},hair\n"
        f"{p3},2024-03-01,2500,{s2},nails\n{p3},2024-03-20,2100,{s2},nails\n", encoding="utf-8")
    (d / "clients.csv").write_text(
        "client_id,name,phone,email,channel\n"
        f"{p1},Анна Петрова,{p1},anna.petrova@example.ru,instagram\n"
        f"{p2},Boris Johnsonov,{p2},boris@mail.example,walk-in\n", encoding="utf-8")
    (d / "staff.csv").write_text(f"specialist_id,block\n{s1},hair\n{s2},nails\n", encoding="utf-8")
    (d / "study.yaml").write_text("name: Personal salon\n", encoding="utf-8")
    return d


def _text_of(path: Path) -> str:
    """What a file holds, as text: Parquet decoded, xlsx unzipped, anything else as bytes."""
    raw = path.read_bytes()
    parts = [raw.decode("utf-8", "ignore")]
    if path.suffix == ".parquet":
        import pandas as pd
        parts.append(pd.read_parquet(path).to_csv())
    elif path.suffix == ".xlsx" or raw[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as z:
                parts += [z.read(n).decode("utf-8", "ignore") for n in z.namelist()]
        except zipfile.BadZipFile:
            pass
    return "\n".join(parts)


def _personal_hits(folder: Path, strings) -> list[str]:
    hits = []
    for p in sorted(Path(folder).rglob("*")):
        if p.is_file():
            text = _text_of(p)
            hits += [f"{p.relative_to(folder)}: {s}" for s in strings if s in text]
    return hits


def test_ids_are_numbered_in_order_of_first_appearance():
    from analysis.inputs import data, privacy
    from analysis.inputs.study import load_study

    tables = data.load_tables(load_study(SAMPLE))
    numbered = privacy.for_cache(tables)
    ids = list(dict.fromkeys(tables.visits["client_id"].dropna().astype(str)))
    assert list(dict.fromkeys(numbered.visits["client_id"].dropna())) == [f"C{i:04d}" for i in range(1, len(ids) + 1)]
    # the same client keeps its number in every table, and the visits do not change otherwise
    mapping = dict(zip(tables.visits["client_id"].astype(str), numbered.visits["client_id"]))
    for raw, new in zip(tables.clients["client_id"].astype(str), numbered.clients["client_id"]):
        if raw in mapping:
            assert new == mapping[raw]
    assert numbered.visits.drop(columns=["client_id", "specialist_id"]).equals(
        tables.visits.drop(columns=["client_id", "specialist_id"]))
    assert numbered.staff["specialist_id"].str.fullmatch(r"S\d{2,}").all()
    assert not privacy.personal_columns(numbered)
    # deterministic: the same export gives the same numbers
    again = privacy.for_cache(data.load_tables(load_study(SAMPLE)))
    assert again.visits["client_id"].equals(numbered.visits["client_id"])


def test_no_personal_data_in_the_cache_outputs_or_temporary_files(tmp_path):
    """A notebook scans every file of the run's temporary folder while it runs (caches included);
    the test then scans every file of the finished report."""
    study = _personal_study(tmp_path)
    strings = [s for group in PERSONAL.values() for s in group]
    wanted = tmp_path / "wanted.json"
    wanted.write_text(json.dumps(strings, ensure_ascii=False), encoding="utf-8")
    nbs = tmp_path / "nbs"
    make_notebook(nbs / "01_scan.ipynb", f"""
import json, io, zipfile
from pathlib import Path
import pandas as pd
wanted = json.loads(Path({str(wanted)!r}).read_text(encoding="utf-8"))
tmp = Path(data_dir).parents[1]
found, files = [], 0
for p in sorted(tmp.rglob("*")):
    if not p.is_file():
        continue
    files += 1
    text = p.read_bytes().decode("utf-8", "ignore")
    if p.suffix == ".parquet":
        text += pd.read_parquet(p).to_csv()
    found += [i for i, s in enumerate(wanted) if s in text]
ctx.record("scan", {{"files": files, "found": sorted(set(found)), "clients": int(ctx.tables.visits["client_id"].nunique())}})
""")
    make_notebook(nbs / "02_table.ipynb",
                  'ctx.table(ctx.tables.visits.head())\nctx.export("scan", "visits", ctx.tables.visits)\n'
                  'ctx.record("table", {"specialists": sorted(ctx.tables.visits["specialist_id"].unique())})')
    run_study(study, _opts(tmp_path, nbs, lang="en"))
    out = tmp_path / "reports" / "salon"
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert res["figures"]["scan"]["files"] >= 2  # the cached tables at least
    assert res["figures"]["scan"]["found"] == [], [strings[i] for i in res["figures"]["scan"]["found"]]
    assert res["figures"]["scan"]["clients"] == 3
    assert res["figures"]["table"]["specialists"] == ["S01", "S02"]
    hits = _personal_hits(out, strings)
    assert not hits, hits
    assert not _temporaries(tmp_path / "reports")
    print(f"personal-data strings searched: {len(strings)} in every file of the temporary folder "
          f"({res['figures']['scan']['files']} files) and of the report ({len(list(out.rglob('*')))} entries)")


def test_sweep_removes_only_abandoned_folders(tmp_path):
    root = tmp_path / "reports"
    root.mkdir()
    abandoned = root / ".tiny.dead1234.tmp"
    (abandoned / "_work" / "data").mkdir(parents=True)
    (abandoned / "_work" / "data" / "visits.parquet").write_bytes(b"raw ids")
    (abandoned / report.LOCK_FILE).write_text("999999\n")  # nobody holds the lock
    running = root / ".tiny.live5678.tmp"
    running.mkdir()
    held = report._own(running)  # a run in progress holds its lock
    foreign = root / ".other.tmp"  # not the kit's kind (no lock file): left alone
    foreign.mkdir()
    old = root / ".kept.old-999999"  # a swap killed half-way: the earlier report comes back
    old.mkdir()
    (old / "index.html").write_text("earlier")
    try:
        report.sweep_stale(root)
        assert not abandoned.exists()
        assert running.exists() and foreign.exists()
        assert (root / "kept" / "index.html").read_text() == "earlier" and not old.exists()
    finally:
        held.close()
    report.sweep_stale(root)
    assert not running.exists()  # its owner let go


def test_a_run_sweeps_folders_of_killed_runs(tiny_study, tiny_notebooks, tmp_path):
    root = tmp_path / "reports"
    stale = root / ".tiny.killed.tmp"
    stale.mkdir(parents=True)
    (stale / report.LOCK_FILE).write_text("999999\n")
    run_study(tiny_study, _opts(tmp_path, tiny_notebooks, lang="en"))
    assert not stale.exists()
    assert not _temporaries(root)


# =============================================================================== 3. exit 2


def test_out_pointing_at_a_file_exits_2(run_cli, tiny_study, tiny_notebooks, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for out in (a_file, a_file / "below"):
        r = run_cli("run", tiny_study, "--out", out, "--notebooks", tiny_notebooks, "--quiet")
        assert r.returncode == 2, r.stderr
        assert "--out" in r.stderr + r.stdout and "Traceback" not in r.stderr + r.stdout
    assert a_file.read_text() == "x"


def test_out_in_an_unwritable_place_exits_2(run_cli, tiny_study, tiny_notebooks, tmp_path):
    places = [Path("/proc/care-kit-reports")]  # not writable even for root
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        places.append(ro / "reports")
    for out in places:
        r = run_cli("run", tiny_study, "--out", out, "--notebooks", tiny_notebooks, "--quiet")
        assert r.returncode == 2, r.stderr
        assert "--out" in r.stderr + r.stdout and "Traceback" not in r.stderr + r.stdout


def test_study_dir_named_like_a_file_in_out_exits_2(tiny_study, tiny_notebooks, tmp_path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "tiny").write_text("not a report")
    with pytest.raises(InputError, match="--out"):
        run_study(tiny_study, _opts(tmp_path, tiny_notebooks))


@pytest.mark.parametrize("sets, expected", [
    (["currency={a: 1}"], "--set: currency: must be a text"),
    (["horizon_months=.nan"], "--set: horizon_months: must be a finite number"),
    (["horizon_months=1e6"], "--set: horizon_months: must be in [1, 240]"),
])
def test_bad_set_exits_2_naming_set(run_cli, tiny_study, sets, expected):
    args = [x for s in sets for x in ("--set", s)]
    r = run_cli("check", tiny_study, *args)
    assert r.returncode == 2 and expected in r.stderr, r.stderr
    assert "study.yaml" not in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("pair, expected", [
    ("care_manager.scheme=sorce", "--set: care_manager.scheme: must name one of the pay schemes"),
    ("data.visits.file=nowhere.csv", "--set: data.visits.file: mapped file 'nowhere.csv' not found"),
])
def test_problems_found_after_loading_name_set_too(run_cli, tiny_study, pair, expected):
    r = run_cli("check", tiny_study, "--set", pair)
    assert r.returncode == 2 and expected in r.stderr, r.stderr
    assert "study.yaml" not in r.stderr


def test_nan_in_study_yaml_exits_2(run_cli, tiny_study):
    (tiny_study / "study.yaml").write_text("horizon_months: .nan\n")
    r = run_cli("check", tiny_study)
    assert r.returncode == 2 and "horizon_months: must be a finite number" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_readme_dotted_set_example_works_on_the_sample(run_cli):
    r = run_cli("check", SAMPLE, "--set", "retention.care_manager_effect.mode=0.2", "--set", "horizon_months=2.4e1")
    assert r.returncode == 0, r.stderr


def test_version(run_cli):
    from analysis import __version__

    r = run_cli("--version")
    assert r.returncode == 0 and __version__ in r.stdout


# =============================================================================== 4. determinism


def _outputs(folder: Path) -> dict:
    """The files that must be byte-identical between runs: results.json, pages, executed notebooks
    (manifest.json records times and tables.xlsx is compared by its own tests)."""
    return {k: v for k, v in _tree_digest(folder).items()
            if k == "results.json" or k.endswith(".html") or k.endswith(".ipynb")}


def test_same_inputs_same_bytes_tiny(tiny_study, tiny_notebooks, tmp_path):
    out = tmp_path / "reports" / "tiny"
    run_study(tiny_study, _opts(tmp_path, tiny_notebooks, lang="en"))
    first = _outputs(out)
    for nb in (out / "notebooks").glob("*.ipynb"):
        text = nb.read_text(encoding="utf-8")
        assert ".tmp" not in text and "start_time" not in text and "iopub." not in text, nb.name
        counts = [c.get("execution_count") for c in json.loads(text)["cells"] if c["cell_type"] == "code"]
        assert counts == list(range(1, len(counts) + 1)), (nb.name, counts)
    run_study(tiny_study, _opts(tmp_path, tiny_notebooks, lang="en", jobs=1))  # other kernels, other counts
    assert _outputs(out) == first
    text = (out / "results.json").read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=2, sort_keys=True)


@pytest.fixture(scope="module")
def sample_report(sample_batch) -> Path:
    """The bundled sample's English report: the session's one run of it (conftest ``sample_batch``:
    sample and CDNOW in one call, fewer Monte Carlo draws than the default, every notebook and code
    path as in a full run).  Shared: read it, never write into it."""
    r, out = sample_batch
    assert r.returncode == 0, r.stderr[-3000:]
    return out / SAMPLE.name


def _outputs_placed(folder: Path) -> dict:
    """:func:`_outputs` with the report's own folder written as ``<out>``: the executed notebooks
    name the folder they were run into, and two runs cannot share one folder here."""
    where = str(Path(folder).resolve()).encode()
    return {k: hashlib.sha256((folder / k).read_bytes().replace(where, b"<out>")).hexdigest()
            for k in _outputs(folder)}


@pytest.mark.slow
def test_same_inputs_same_bytes_sample(sample_report, tmp_path):
    """The sample run again, alone and in this process (the first run was a two-study batch from the
    command line): the same pages, figures and executed notebooks, byte for byte."""
    first = _outputs_placed(sample_report)
    code, runs = report.run_many([SAMPLE], RunOptions(out_root=tmp_path, lang="en", progress=False, jobs=2,
                                                      overrides=parse_overrides([SAMPLE_DRAWS])),
                                 report=lambda *_: None)
    assert code == 0
    second = _outputs_placed(tmp_path / SAMPLE.name)
    differ = sorted(k for k in first.keys() | second.keys() if first.get(k) != second.get(k))
    assert not differ, differ
    assert len(first) >= 8


# =============================================================================== 5. set-up


def _constraints() -> dict:
    out = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt pins exact versions: {line}"
            out[name.lower().replace("_", "-")] = version
    return out


def test_constraints_pin_every_dependency_within_its_range():
    import tomllib

    from packaging.specifiers import SpecifierSet

    pins = _constraints()
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = py["project"]["dependencies"] + py["project"]["optional-dependencies"]["test"]
    assert "care-manager-kit" not in pins
    for req in reqs:
        name, spec = re.match(r"([A-Za-z0-9_.-]+)(.*)", req).groups()
        key = name.lower().replace("_", "-")
        assert key in pins, f"{name} is not pinned in constraints.txt"
        assert pins[key] in SpecifierSet(spec.strip()), f"{name}=={pins[key]} is outside {spec}"
        assert ">=" in spec, f"pyproject.toml keeps a range for {name}"


def test_environment_yml_pins_the_constrained_versions():
    import yaml

    pins = _constraints()
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    for dep in env["dependencies"]:
        if isinstance(dep, str) and not dep.startswith(("python", "pip")):
            name, _, version = dep.partition("==")
            assert version == pins[name.lower()], f"environment.yml {dep} vs constraints.txt {pins[name.lower()]}"


def test_makefile_installs_with_constraints_and_lab_runs_as_root():
    make = (ROOT / "Makefile").read_text()
    assert "-c constraints.txt" in make and re.search(r"^lock:", make, re.M)
    assert "--allow-root" in make
    dry = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PY": sys.executable})
    if dry.returncode == 0:
        lab = [line for line in dry.stdout.splitlines() if "jupyter lab" in line or "jupyter-lab" in line]
        assert lab and ("--allow-root" in lab[-1]) == (os.geteuid() == 0), lab


# =============================================================================== 6. killed runs


HOLD = """
import os, time, pathlib
if os.environ.get("KIT_TEST_HOLD") == {where!r}:
    pathlib.Path(os.environ["KIT_TEST_MARK"]).write_text(str(os.getpid()))
    time.sleep(600)
"""


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    """A tiny study, notebooks that can be told to hold (env ``KIT_TEST_HOLD``) and a good report."""
    base = tmp_path_factory.mktemp("killed")
    study = base / "tiny"
    study.mkdir()
    p1, p2 = PERSONAL["phones"][:2]
    s1 = PERSONAL["names"][2]
    (study / "visits.csv").write_text(f"client_id,date,amount,specialist_id\n{p1},2024-01-03,1500,{s1}\n"
                                      f"{p1},2024-02-10,1800,{s1}\n{p2},2024-01-05,900,{s1}\n", encoding="utf-8")
    nbs = base / "nbs"
    make_notebook(nbs / "01_first.ipynb", HOLD.format(where="first") + 'ctx.record("first", {"v": 1})')
    make_notebook(nbs / "02_second.ipynb", 'ctx.record("second", {"v": 2})')
    make_notebook(nbs / "05_summary.ipynb", HOLD.format(where="summary") + 'ctx.record("summary", {"v": 3})')
    root = base / "reports"
    r = subprocess.run([sys.executable, "-m", "analysis", "run", study, "--out", root, "--notebooks", nbs,
                        "--quiet", "--jobs", "2"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return study, nbs, root


def _processes_with(marker: str) -> list[int]:
    """Live (not zombie) processes whose environment holds ``marker``: the run's kernels."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker.encode() not in (proc / "environ").read_bytes():
                continue
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(proc.name))
    return found


def _wait(cond, timeout: float, step: float = 0.2) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


KILL_POINTS = [(signal.SIGTERM, "first"), (signal.SIGTERM, "summary"), (signal.SIGINT, "first"),
               (signal.SIGKILL, "first"), (signal.SIGKILL, "summary")]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc to find the run's kernels")
@pytest.mark.parametrize("sig, where", KILL_POINTS, ids=[f"{s.name}-{w}" for s, w in KILL_POINTS])
def test_killed_run_leaves_earlier_report_and_no_temporaries(earlier, tmp_path, sig, where):
    study, nbs, good = earlier
    root = tmp_path / "reports"
    shutil.copytree(good, root)
    before = _tree_digest(root / "tiny")
    mark = tmp_path / f"held-{sig.name}-{where}"
    env = {**os.environ, "KIT_TEST_HOLD": where, "KIT_TEST_MARK": str(mark)}
    cmd = [sys.executable, "-m", "analysis", "run", str(study), "--out", str(root), "--notebooks", str(nbs),
           "--quiet", "--jobs", "2"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait(lambda: mark.exists() or proc.poll() is not None, 600), "the notebook never started"
        assert proc.poll() is None, proc.communicate()
        assert _temporaries(root), "the run in progress has its temporary folder"
        assert _processes_with(str(mark)), "kernels of the run are found by their environment"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 128 + sig, err
        assert "Traceback" not in err and "earlier reports were left" in err
        assert not _temporaries(root), "the temporary folder was removed on the signal"
    assert _tree_digest(root / "tiny") == before, "the earlier report changed"
    assert _wait(lambda: not _processes_with(str(mark)), 120), f"orphaned kernels: {_processes_with(str(mark))}"
    strings = [*PERSONAL["phones"][:2], PERSONAL["names"][2]]
    assert not _personal_hits(root, strings), "personal data in the reports or a temporary folder"
    if sig == signal.SIGKILL:
        assert _temporaries(root)  # nothing can clean up after SIGKILL, until the next run
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert not _temporaries(root), "the next run removed the killed run's temporary folder"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc to find the run's kernels")
def test_stopped_batch_keeps_studies_already_published(tmp_path):
    """Two studies in one call share the kernels; the first is published while the second still runs.
    SIGTERM then: the first study's new report stays, the second's earlier report is untouched, no
    temporary folder and no kernel is left."""
    studies = []
    for name, stamp in (("alpha", "2024-01-03"), ("beta", "2024-01-04")):
        d = tmp_path / name
        d.mkdir()
        (d / "visits.csv").write_text(f"client_id,date,amount\nc1,{stamp},1500\nc1,2024-02-10,1800\n"
                                      "c2,2024-01-05,900\n", encoding="utf-8")
        (d / "study.yaml").write_text(f"name: {name}\n", encoding="utf-8")
        studies.append(d)
    hold = ('import os, time, pathlib\nif os.environ.get("KIT_TEST_HOLD") == ctx.study.name:\n'
            '    pathlib.Path(os.environ["KIT_TEST_MARK"]).write_text(str(os.getpid()))\n    time.sleep(600)\n')
    nbs = tmp_path / "nbs"
    make_notebook(nbs / "01_first.ipynb", hold + 'ctx.record("first", {"run": os.environ.get("KIT_TEST_RUN", "")})')
    make_notebook(nbs / "05_summary.ipynb", 'ctx.record("summary", {"v": 1})')
    root = tmp_path / "reports"
    cmd = [sys.executable, "-m", "analysis", "run", *map(str, studies), "--out", str(root), "--notebooks", str(nbs),
           "--quiet", "--jobs", "2"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "KIT_TEST_RUN": "earlier"})
    assert r.returncode == 0, r.stderr
    before = _tree_digest(root / "beta")
    mark = tmp_path / "held"
    env = {**os.environ, "KIT_TEST_HOLD": "beta", "KIT_TEST_MARK": str(mark), "KIT_TEST_RUN": "second"}
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def alpha_published():
        try:
            return json.loads((root / "alpha" / "results.json").read_text())["figures"]["first"]["run"] == "second"
        except (OSError, ValueError, KeyError):
            return False

    try:
        assert _wait(lambda: (mark.exists() and alpha_published()) or proc.poll() is not None, 600)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert alpha_published(), "the study finished before the signal stays published"
    assert _tree_digest(root / "beta") == before, "the earlier report of the stopped study changed"
    assert not _temporaries(root) and not (root / "beta.failed").exists()
    assert _wait(lambda: not _processes_with(str(mark)), 120), f"orphaned kernels: {_processes_with(str(mark))}"


# =============================================================================== 7. offline in a browser


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class _Trap:
    """A local proxy that records every connection Chromium makes (and answers none)."""

    def __init__(self):
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.requests: list[str] = []
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        import socket

        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                conn.settimeout(2)
                try:
                    first = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
                except OSError:
                    first = "?"
                self.requests.append(first)

    # Chromium's own services, called whatever page is open (clock, sign-in, updates); a report page
    # has no reason to load anything from these hosts, and every other host counts.
    BROWSER_OWN = {"clients1.google.com", "clients2.google.com", "accounts.google.com", "www.google.com",
                   "redirector.gvt1.com", "update.googleapis.com", "safebrowsing.googleapis.com",
                   "optimizationguide-pa.googleapis.com", "content-autofill.googleapis.com"}

    @staticmethod
    def host(request_line: str) -> str:
        """``GET http://host/x HTTP/1.1`` or ``CONNECT host:443 HTTP/1.1`` -> ``host``."""
        parts = request_line.split()
        target = parts[1] if len(parts) > 1 else ""
        return re.sub(r"^[a-z]+://", "", target).split("/", 1)[0].rsplit(":", 1)[0]

    def page_requests(self) -> list[str]:
        # a connection that sent no request line is the browser warming up a socket (preconnect):
        # nothing was asked for, so nothing could be loaded; every request line counts
        return [r for r in self.requests if r and self.host(r) not in self.BROWSER_OWN]

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.sock.close()


def _open_in_chromium(chromium: str, page: Path, trap: _Trap, profile: Path) -> str:
    r = subprocess.run([
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
        "--disable-extensions", "--disable-default-apps", "--disable-background-networking",
        "--disable-component-update", "--disable-client-side-phishing-detection", "--metrics-recording-only",
        "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication",
        f"--proxy-server=http://127.0.0.1:{trap.port}", "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=180)
    return r.stdout


@pytest.fixture
def chromium():
    path = _chromium()
    if path is None:
        pytest.skip("Chromium is not installed, so pages cannot be opened in a browser here "
                    "(Debian: apt-get install chromium)")
    return path


@pytest.mark.slow
def test_the_browser_trap_sees_a_request(chromium, tmp_path):
    """The test's own check: a page that loads an image from the internet is caught."""
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><html><body><p>x</p><img src="http://example.com/pixel.png">'
                    '<link rel="stylesheet" href="https://fonts.example.com/a.css"></body></html>')
    trap = _Trap()
    try:
        dom = _open_in_chromium(chromium, page, trap, tmp_path / "profile")
    finally:
        trap.close()
    assert "<p>x</p>" in dom
    assert {_Trap.host(r) for r in trap.page_requests()} >= {"example.com"}, trap.requests


@pytest.mark.slow
def test_sample_pages_make_no_network_request(chromium, sample_report, tmp_path):
    pages = sorted(sample_report.glob("*.html"))
    assert len(pages) >= 6
    trap = _Trap()
    try:
        for page in pages:
            dom = _open_in_chromium(chromium, page, trap, tmp_path / "profile")
            assert "</main>" in dom or "jp-Notebook" in dom or "<body" in dom, f"{page.name} did not open"
    finally:
        trap.close()
    assert not trap.page_requests(), trap.page_requests()
    print(f"pages opened in Chromium: {len(pages)}; requests by the browser itself, ignored: {len(trap.requests)}")


# =============================================================================== 8. fuzzing (bounded)

from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FUZZ = dict(deadline=None, database=None, derandomize=True,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                   HealthCheck.data_too_large])

FUZZ_COUNTS: dict = {}


def _count(name: str) -> None:
    FUZZ_COUNTS[name] = FUZZ_COUNTS.get(name, 0) + 1


def _fresh(tmp_path, name: str) -> Path:
    d = tmp_path / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir()
    return d


def _loads_or_input_error(study_dir: Path, overrides=None):
    """Load the study and its data: a result, or InputError; anything else fails the test."""
    from analysis.inputs import data
    from analysis.inputs.study import load_study

    before = _tree_digest(study_dir)
    try:
        tables = data.load_tables(load_study(study_dir, overrides))
        assert tables.visits is not None
    except InputError as exc:
        assert exc.problems and all(str(p) for p in exc.problems)
    assert _tree_digest(study_dir) == before, "an input file was changed"


CELLS = st.one_of(
    st.sampled_from(["", " ", "2024-01-03", "03.01.2024", "2024-13-45", "31.02.2024", "1900-01-01", "1 500,50",
                     "1500.5", "-3", "1e6", "nan", "inf", "=1+2", "@SUM(A1)", "c1", "c2", "Иван", "+7 916 123-45-67",
                     "a@b.ru", "done", "cancelled", "no_show", "Итого", '"', '""', "a;b", "a,b", "a\tb", "\n",
                     "\ufeff", "\x00", "hair", "nails"]),
    st.text(max_size=12),
    st.integers(-10**12, 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
HEADERS = st.lists(st.sampled_from(["client_id", "date", "amount", "block", "specialist_id", "status", "service",
                                    "visit_id", "discount", "Телефон", "e-mail", "Клиент", "Дата", "Сумма", "",
                                    "client_id", "x", "ФИО"]), min_size=1, max_size=7)


def _csv_text(header, rows, sep) -> str:
    def q(c):
        return '"' + c.replace('"', '""') + '"' if any(ch in c for ch in (sep, '"', "\n", "\r")) else c
    return "\n".join(sep.join(q(c) for c in row) for row in [header] + rows) + "\n"


@settings(max_examples=150, **FUZZ)
@given(header=HEADERS, rows=st.lists(st.lists(CELLS, min_size=0, max_size=8), max_size=12),
       sep=st.sampled_from([",", ";", "\t", "|"]), enc=st.sampled_from(["utf-8", "utf-8-sig", "cp1251", "utf-16"]))
def test_fuzz_csv_reader(tmp_path, header, rows, sep, enc):
    _count("csv structured")
    d = _fresh(tmp_path, "fuzz-csv")
    (d / "visits.csv").write_bytes(_csv_text(header, rows, sep).encode(enc, errors="replace"))
    _loads_or_input_error(d)


GOOD_CSV = b"client_id;date;amount;block\nc1;03.01.2024;1 500,50;hair\nc2;2024-02-10;900;nails\nc1;2024-03-01;700;hair\n"


@settings(max_examples=100, **FUZZ)
@given(raw=st.one_of(st.binary(max_size=600),
                     st.tuples(st.integers(0, len(GOOD_CSV)), st.binary(min_size=1, max_size=20)).map(
                         lambda t: GOOD_CSV[:t[0]] + t[1] + GOOD_CSV[t[0]:])))
def test_fuzz_csv_bytes(tmp_path, raw):
    _count("csv bytes")
    d = _fresh(tmp_path, "fuzz-bytes")
    (d / "visits.csv").write_bytes(raw)
    _loads_or_input_error(d)


XLSX_CELLS = st.one_of(st.none(), st.booleans(), st.integers(-10**9, 10**9),
                       st.floats(allow_nan=False, allow_infinity=False, width=32),
                       st.datetimes(min_value=__import__("datetime").datetime(1899, 12, 31),
                                    max_value=__import__("datetime").datetime(2100, 1, 1)),
                       st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=10), CELLS.filter(
                           lambda c: not any(ord(ch) < 32 and ch not in "\t\n\r" for ch in c)))


@settings(max_examples=40, **FUZZ)
@given(header=HEADERS, rows=st.lists(st.lists(XLSX_CELLS, max_size=7), max_size=8),
       skip=st.integers(0, 3), sheets=st.integers(1, 2))
def test_fuzz_xlsx_reader(tmp_path, header, rows, skip, sheets):
    from openpyxl import Workbook

    _count("xlsx")
    d = _fresh(tmp_path, "fuzz-xlsx")
    wb = Workbook()
    ws = wb.active
    for _ in range(skip):
        ws.append(["Выгрузка из YCLIENTS"])
    ws.append(header)
    for row in rows:
        ws.append(row)
    if sheets > 1:
        wb.create_sheet("other").append(["x", 1])
    wb.save(d / "visits.xlsx")
    _loads_or_input_error(d)


@settings(max_examples=30, **FUZZ)
@given(raw=st.binary(max_size=400))
def test_fuzz_xlsx_bytes(tmp_path, raw):
    _count("xlsx bytes")
    d = _fresh(tmp_path, "fuzz-xlsx-bytes")
    (d / "visits.xlsx").write_bytes(b"PK\x03\x04" + raw)
    _loads_or_input_error(d)


def _schema_keys(types=None) -> list[str]:
    """Dotted keys of the schema (of the leaf ``types`` given), with the parts of uncertain ones."""
    from analysis.inputs.study import _leaves, schema

    keys = []
    for path, spec in _leaves(schema()):
        if types is not None and spec["type"] not in types:
            continue
        keys.append(".".join(path))
        if spec["type"].startswith("uncertain"):
            keys += [".".join(path) + "." + part for part in ("low", "mode", "high")]
    return keys


# every kind of leaf gets its share, not only the kinds with many keys
KEYS = st.one_of(st.sampled_from(_schema_keys()), st.sampled_from(_schema_keys({"int"})),
                 st.sampled_from(_schema_keys({"str", "choice", "blocks", "date"})),
                 st.sampled_from(_schema_keys({"uncertain", "uncertain_fraction"})), st.text(max_size=12))


SCALARS = ["1e6", "1E-3", ".nan", ".inf", "-.inf", "1_000", "0x1F", "0o17", "~", "null", "yes", "no", "on",
           "2024-01-01", "12:30", "'text'", "[]", "{}", "[1, 2]", "{low: 0.1, mode: 0.2, high: 0.3}",
           "{low: 0.3, mode: 0.2, high: 0.1}", "{a: 1}", "!!python/object/apply:os.system ['echo hi']",
           "!!binary aGk=", "&a [*a]", "*undefined", "'unclosed", "[unclosed", "{x: [", "- a", ": :", "|",
           "1" + "0" * 5000, "-1", "0", "0.5", "240", "241", "ru", "en", "de", "RUB", "all", "[hair, nails]",
           "\t", "\x00", "é", "1e400", "-0", "+1"]
VALUES = st.one_of(st.sampled_from(SCALARS), st.text(max_size=15),
                   st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers(-10**20, 10**20).map(str))


@settings(max_examples=150, **FUZZ)
@given(pairs=st.lists(st.tuples(KEYS, VALUES), max_size=5))
@example(pairs=[("horizon_months", ".nan")]).via("issue 14")
@example(pairs=[("currency", "{a: 1}")]).via("issue 14")
@example(pairs=[("retention.care_manager_effect.mode", "0.2")]).via("issue 14")
def test_fuzz_set_exits_0_or_2(tiny_study, pairs, capsys):
    from analysis.__main__ import main

    _count("--set")
    before = _tree_digest(tiny_study)
    args = ["check", str(tiny_study)] + [f"--set={k}={v}" for k, v in pairs]
    try:
        code = main(args)
    except SystemExit as exc:  # argparse refusing the command line: its own exit 2
        code = exc.code
    out = capsys.readouterr()
    assert code in (0, 2), out
    assert "Traceback" not in out.err
    assert _tree_digest(tiny_study) == before


@settings(max_examples=150, **FUZZ)
@given(entries=st.lists(st.tuples(KEYS.filter(lambda k: re.fullmatch(r"[a-z_.]+", k) is not None), VALUES),
                        max_size=6),
       junk=st.one_of(st.none(), st.text(max_size=40)))
@example(entries=[("horizon_months", ".nan")], junk=None).via("issue 14")
@example(entries=[("horizon_months", ".inf")], junk=None).via("issue 14")
def test_fuzz_study_yaml(tmp_path, entries, junk):
    from analysis.run import report as rep

    _count("study.yaml")
    d = _fresh(tmp_path, "fuzz-yaml")
    (d / "visits.csv").write_text("client_id,date,amount\nc1,2024-01-03,1500\nc2,2024-01-05,900\n")
    lines = []
    for key, value in entries:
        parts = key.split(".")
        lines += ["  " * i + p + ":" for i, p in enumerate(parts[:-1])]
        lines.append("  " * (len(parts) - 1) + f"{parts[-1]}: {value}")
    text = "\n".join(lines) + "\n" + (junk or "")
    (d / "study.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    before = _tree_digest(d)
    try:
        rep.prepare(d, RunOptions(progress=False))
    except InputError as exc:
        assert exc.problems
    assert _tree_digest(d) == before


def test_zz_report_fuzz_counts():
    """Prints how many fuzz cases ran in this session (``pytest -s`` shows it)."""
    print("fuzz cases run:", FUZZ_COUNTS, "total", sum(FUZZ_COUNTS.values()))


# --------------------------------------------------------------- every --set value reaches every JSON file

def test_plain_gives_json_for_every_yaml_and_numpy_type():
    import datetime as dt

    import numpy as np

    from analysis.inputs.study import json_text, plain, read_yaml

    assert plain(read_yaml("2023-12-31")) == "2023-12-31"
    assert plain(read_yaml("2023-12-31 10:30:00")) == "2023-12-31T10:30:00"
    assert plain(dt.datetime(2024, 6, 1)) == "2024-06-01"  # midnight: the date it names
    assert plain(read_yaml("!!set {b: null, a: null}")) == ["a", "b"]
    assert plain(read_yaml("!!binary aGk=")) == "hi"
    assert plain({2024: (1, np.int64(2)), read_yaml("2024-01-01"): np.float64(0.5)}) == {"2024": [1, 2],
                                                                                           "2024-01-01": 0.5}
    assert plain(np.array([1, 2])) == [1, 2] and plain(np.bool_(True)) is True
    assert plain(float("nan"), strict=True) == "nan" and plain(float("-inf"), strict=True) == "-inf"
    assert json.loads(json_text({"a": {1, 2}, "b": float("inf"), "c": dt.date(2024, 2, 29)})) == {
        "a": [1, 2], "b": "inf", "c": "2024-02-29"}


def test_results_record_takes_dates_sets_and_numpy(tmp_path):
    import datetime as dt

    import numpy as np

    from analysis.run import results

    results.record(tmp_path / "results.json", "pilot", {"since": dt.date(2024, 6, 1), "blocks": {"nails", "hair"},
                                                          "n": np.int64(3), "x": np.float64("nan")})
    got = json.loads((tmp_path / "results.json").read_text())["figures"]["pilot"]
    assert got == {"since": "2024-06-01", "blocks": ["hair", "nails"], "n": 3, "x": None}


def _set_through_every_stage(study_dir: Path, out: Path, pairs) -> int:
    """What ``run`` does with ``--set`` values, up to (not including) the kernels: parse, validate, the
    notebook parameters read back as a notebook reads them, results.json, manifest.json.  Returns 2 for
    an input error, 0 when every stage took the values; anything else propagates (an exit 1)."""
    from analysis.inputs.study import parse_overrides
    from analysis.pages.notebook import open_study
    from analysis.run import results
    from analysis.run.report import StudyJob

    try:
        opts = RunOptions(out_root=out, progress=False, jobs=1, overrides=parse_overrides(pairs))
        job = StudyJob(study_dir, opts, [Path("01_first.ipynb")])
        job.setup()
    except InputError as exc:
        assert exc.problems
        return 2
    try:
        params = job.params
        ctx = open_study(params["study_dir"], params["lang"], params["results_path"], params["data_dir"],
                         params["overrides"])
        for key in job.study.given:
            assert ctx.study.get(key) == job.study.get(key), key  # the notebook sees what was validated
        results.record(params["results_path"], "first", {"set": opts.overrides})
        job.finish()
        manifest = json.loads((job.tmp / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["parameters"]["overrides"] == json.loads(json.dumps(manifest["parameters"]["overrides"]))
        json.loads((job.tmp / "results.json").read_text(encoding="utf-8"))
    finally:
        job.discard()
    return 0


SET_VALUES = st.one_of(
    st.dates().map(str), st.datetimes().map(str), st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(["2024-02-01", "2024-02-01T12:00:00Z", "2030-01-01", "1999-12-31", "2024-01-03", "2024-03-20",
                     "!!set {hair: null}", "!!binary aGk=", "!!timestamp 2024-02-01", "[2024-02-01, 2024-03-01]",
                     "{2024-02-01: 1}", "{1: a}", "!!omap [{a: 1}]", "!!pairs [{a: 1}]", ".nan", ".inf", "~",
                     "'2024-02-01'", "yes", "12:30:00", "1e6", "[hair]", "{low: 2024-01-01, mode: 1, high: 2}"]),
    VALUES)
SET_KEYS = st.one_of(st.sampled_from(["care_manager.since", "care_manager.pilot_blocks", "care_manager.covers",
                                      "retention.calibration_end", "name", "compensation.schemes"]),
                     st.sampled_from(_schema_keys({"date", "list", "mapping", "any", "str"})), KEYS)


@settings(max_examples=60, **FUZZ)
@given(pairs=st.lists(st.tuples(SET_KEYS, SET_VALUES), min_size=1, max_size=3))
@example(pairs=[("care_manager.since", "2024-02-01")]).via("trial1 finding 1")
@example(pairs=[("care_manager.since", "2030-01-01")]).via("trial1 finding 1")
@example(pairs=[("care_manager.since", "2024-02-01 10:00:00")])
@example(pairs=[("compensation.schemes", "!!set {a: null}")])
@example(pairs=[("compensation.schemes", "&a [*a]")])
def test_fuzz_set_values_of_every_yaml_type_reach_the_json_files(tiny_study, tmp_path, pairs):
    """Exit 0 or 2, never 1: a ``--set`` value of any YAML type (dates, datetimes, sets, binary, NaN…)
    is either refused before anything runs or carried through every file the run writes."""
    _count("--set through the run")
    out = tmp_path / "reports"
    out.mkdir(exist_ok=True)
    assert _set_through_every_stage(tiny_study, out, [f"{k}={v}" for k, v in pairs]) in (0, 2)


def test_since_outside_the_data_is_an_input_error_naming_the_key_and_the_range(tiny_study, tmp_path):
    from analysis.inputs.study import parse_overrides
    from analysis.run.report import prepare

    for day in ("2030-01-01", "2024-01-03", "2023-06-01"):
        with pytest.raises(InputError) as info:
            prepare(tiny_study, RunOptions(overrides=parse_overrides([f"care_manager.since={day}"])))
        text = str(info.value)
        assert "--set: care_manager.since" in text and "2024-01-04" in text and "2024-03-20" in text, text
    study, _ = prepare(tiny_study, RunOptions(overrides=parse_overrides(["care_manager.since=2024-02-01"])))
    assert str(study.get("care_manager.since")) == "2024-02-01"
