"""Shared fixtures: tiny studies and tiny notebooks, so pipeline tests run in seconds."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
CDNOW = ROOT / "data" / "external" / "cdnow"

os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

PARAMS = 'study_dir = ""\nlang = ""\nresults_path = ""\ndata_dir = ""\noverrides = "{}"'


def make_notebook(path: Path, body: str, *, en: str = "# English heading", ru: str = "# Русский заголовок"):
    """A notebook in the kit's shape: parameters cell, one markdown cell per language, one code cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    p = nbformat.v4.new_code_cell(PARAMS)
    p.metadata["tags"] = ["parameters"]
    m_en = nbformat.v4.new_markdown_cell(en)
    m_en.metadata["tags"] = ["lang-en"]
    m_ru = nbformat.v4.new_markdown_cell(ru)
    m_ru.metadata["tags"] = ["lang-ru"]
    code = nbformat.v4.new_code_cell(
        "import analysis.pages.notebook as nb\n"
        "ctx = nb.open_study(study_dir, lang, results_path, data_dir, overrides)\n" + body)
    nb.cells = [p, m_en, m_ru, code]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def tiny_study(tmp_path) -> Path:
    """A study with bare visits (client_id, date, amount) and a short study.yaml."""
    d = tmp_path / "tiny"
    d.mkdir()
    (d / "visits.csv").write_text(
        "client_id,date,amount\n"
        "c1,2024-01-03,1500\nc1,2024-02-10,1800\nc2,2024-01-05,900\nc3,2024-03-01,2500\nc3,2024-03-20,2100\n",
        encoding="utf-8")
    (d / "study.yaml").write_text("name: Tiny salon\ncurrency: RUB\nhorizon_months: 12\n", encoding="utf-8")
    return d


@pytest.fixture
def tiny_notebooks(tmp_path) -> Path:
    """Two independent notebooks and a summary that reads their figures."""
    d = tmp_path / "nbs"
    make_notebook(d / "01_first.ipynb",
                  'ctx.say("Visits: " + ctx.num(len(ctx.tables.visits)), "Визитов: " + ctx.num(len(ctx.tables.visits)))\n'
                  'ctx.record("first", {"visits": len(ctx.tables.visits), "lang_is_ru": ctx.lang == "ru",\n'
                  '                     "horizon": ctx.study.horizon_months})')
    make_notebook(d / "02_second.ipynb",
                  'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3]); plt.show()\n'
                  'ctx.record("second", {"clients": ctx.tables.visits["client_id"].nunique()})')
    make_notebook(d / "05_summary.ipynb",
                  'r = ctx.results()["figures"]\n'
                  'ctx.record("summary", {"total": r["first"]["visits"] + r["second"]["clients"]})')
    return d


@pytest.fixture
def run_cli():
    """Run ``python -m analysis`` in a subprocess; returns CompletedProcess."""
    import subprocess

    def _run(*args, cwd=None):
        return subprocess.run([sys.executable, "-m", "analysis", *map(str, args)], capture_output=True,
                              text=True, cwd=cwd or ROOT)
    return _run


# CDNOW, the published BG/NBD example: its customer summary as the kit's RFM columns, and the fit on it
# (shared by the model tests).
@pytest.fixture(scope="module")
def cdnow_summary():
    import pandas as pd

    d = pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")
    return d.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="module")
def cdnow_fit(cdnow_summary):
    from analysis.models.bgnbd import fit_bgnbd

    return fit_bgnbd(cdnow_summary)


# The bundled sample and the public CDNOW sample as a bare study, run once per test session in one
# call (a consultant's batch, English): the end-to-end and figure tests read that one report.
SAMPLE_DRAWS = "simulation.n_draws=600"  # enough for stable medians, quick to run


def cdnow_study(folder: Path) -> Path:
    """CDNOW transactions as a bare study: visits with client_id, date, amount and nothing else."""
    import csv

    folder.mkdir(parents=True)
    with open(CDNOW / "CDNOW_sample.txt") as src, open(folder / "visits.csv", "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["client_id", "date", "amount"])
        for line in src:
            _, cid, date, _, amount = line.split()
            w.writerow([cid, f"{date[:4]}-{date[4:6]}-{date[6:]}", amount])
    (folder / "study.yaml").write_text(
        "name: CDNOW music store\ncurrency: USD\nretention:\n  calibration_end: 1997-09-30\n  time_unit: W\n",
        encoding="utf-8")
    return folder


def _shared_once(tmp_path_factory, name: str, make):
    """``make(folder)`` run once per session, whichever pytest-xdist worker asks first (the others
    wait on a file lock and read the folder it filled); returns the folder and what ``make`` returned
    (JSON)."""
    import fcntl
    import json

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, shared by the workers
    folder = base / name
    with open(base / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = base / f"{name}.json"
        if not done.exists():
            folder.mkdir(exist_ok=True)
            done.write_text(json.dumps(make(folder)), encoding="utf-8")
        return folder, json.loads(done.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def sample_batch(tmp_path_factory):
    """``run sample cdnow --lang en`` once per session: (completed process as a namespace, reports folder)."""
    import subprocess
    from types import SimpleNamespace

    def make(folder):
        cd = cdnow_study(folder / "cdnow")
        r = subprocess.run([sys.executable, "-m", "analysis", "run", str(SAMPLE), str(cd), "--out",
                            str(folder / "reports"), "--lang", "en", "--set", SAMPLE_DRAWS, "--quiet", "--jobs", "2"],
                           capture_output=True, text=True, cwd=ROOT)
        return {"returncode": r.returncode, "stdout": r.stdout, "stderr": r.stderr}

    folder, r = _shared_once(tmp_path_factory, "sample-batch", make)
    return SimpleNamespace(**r), folder / "reports"


# pytest-xdist with --dist loadfile hands out whole files, and by default the files with the most
# tests first; the files that run the pipeline have few tests and then start last, so one worker
# works alone at the end.  `make test` passes --no-loadscope-reorder and the heaviest files are put
# first here (longest first: the other worker meanwhile takes the many quick files).
HEAVY_FIRST = ("tests/test_pilot.py", "tests/test_hardening.py", "tests/test_generated_studies.py",
               "tests/test_end_to_end.py", "tests/test_report.py", "tests/test_verdict.py", "tests/test_cli.py",
               "tests/test_cluster.py", "tests/test_presets.py", "tests/test_figures.py", "notebooks/07_pilot",
               "notebooks/05_summary", "notebooks/")  # by their time in the profile of 30 Nov 2026


def _weight(nodeid: str, slow: set) -> int:
    path = nodeid.split("::", 1)[0]
    for rank, prefix in enumerate(HEAVY_FIRST):
        if path.startswith(prefix):
            return rank
    return len(HEAVY_FIRST) + (0 if path in slow else 1)


def pytest_collection_modifyitems(config, items):
    slow = {it.nodeid.split("::", 1)[0] for it in items if it.get_closest_marker("slow")}
    items.sort(key=lambda it: _weight(it.nodeid, slow))  # stable: a file's tests keep their order
