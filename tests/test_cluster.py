"""``run … --scheduler``: studies on a Dask cluster of two workers started here on 127.0.0.1.

The reports come back into ``--out`` as from a local run (same pages, figures, exit codes and
messages); the archives that carry folders to and from the workers refuse members outside their
folder.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import pytest

from analysis.run import cluster
from conftest import ROOT

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dask_cluster():
    """A scheduler and two worker processes (one thread each) on 127.0.0.1."""
    lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=40)
    try:
        yield lc.scheduler_address
    finally:
        lc.close()


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "analysis", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT)


@pytest.fixture(scope="module")
def two_studies(tmp_path_factory):
    """Two small generated salons (``analysis sample``) of different sizes."""
    base = tmp_path_factory.mktemp("cluster-studies")
    out = []
    for name, clients, seed in (("north", 60, 1), ("south", 90, 2)):
        r = _cli("sample", base / name, "--clients", clients, "--months", 6, "--seed", seed)
        assert r.returncode == 0, r.stderr
        out.append(base / name)
    return out


def test_batch_on_a_two_worker_cluster(dask_cluster, two_studies, tiny_notebooks, tmp_path):
    out = tmp_path / "reports"
    r = _cli("run", *two_studies, "--out", out, "--notebooks", tiny_notebooks, "--lang", "en", "--jobs", 1,
             "--quiet", "--scheduler", dask_cluster)
    assert r.returncode == 0, r.stdout + r.stderr
    for study in two_studies:
        folder = out / study.name
        for page in ("index.html", "01_first.html", "02_second.html", "05_summary.html", "results.json",
                     "manifest.json", "tables.xlsx", "notebooks/01_first.ipynb"):
            assert (folder / page).is_file(), (study.name, page)
        visits = sum(1 for _ in open(study / "visits.csv", encoding="utf-8")) - 1
        figures = json.loads((folder / "results.json").read_text())["figures"]
        assert figures["first"]["visits"] == visits  # the worker read this study's data
        assert figures["summary"]["total"] == visits + figures["second"]["clients"]
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["study_dir"] == str(study.resolve())  # where the study is, not the worker's copy
        executed = (folder / "notebooks" / "01_first.ipynb").read_text()
        assert "care-kit-cluster-" not in executed and str(study.resolve()) in executed
        assert not list(folder.glob("*.lock")) and not (folder / "_work").exists()
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp") or ".old-" in p.name]
    portfolio = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="north/index.html"' in portfolio and 'href="south/index.html"' in portfolio


def test_bad_input_on_the_cluster_exits_2_with_the_local_message(dask_cluster, two_studies, tiny_notebooks,
                                                                 tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "visits.csv").write_text((two_studies[0] / "visits.csv").read_text(encoding="utf-8"), encoding="utf-8")
    (bad / "study.yaml").write_text("horizn_months: 12\n", encoding="utf-8")
    args = [bad, "--notebooks", tiny_notebooks, "--quiet", "--jobs", 1]
    local = _cli("run", *args, "--out", tmp_path / "local")
    remote = _cli("run", *args, "--out", tmp_path / "remote", "--scheduler", dask_cluster)
    assert local.returncode == remote.returncode == 2, remote.stdout + remote.stderr
    assert "horizon_months" in remote.stdout and remote.stdout == local.stdout
    assert "Traceback" not in remote.stdout + remote.stderr
    assert not (tmp_path / "remote" / "bad").exists()


def test_failing_notebook_on_the_cluster_exits_1_and_keeps_it(dask_cluster, two_studies, tmp_path):
    from conftest import make_notebook

    nbs = tmp_path / "broken"
    make_notebook(nbs / "01_broken.ipynb", "1 / 0")
    r = _cli("run", two_studies[0], "--out", tmp_path / "out", "--notebooks", nbs, "--quiet", "--jobs", 1,
             "--scheduler", dask_cluster)
    assert r.returncode == 1 and "ZeroDivisionError" in r.stdout, r.stdout + r.stderr
    assert (tmp_path / "out" / f"{two_studies[0].name}.failed" / "notebooks" / "01_broken.ipynb").is_file()


def test_unreachable_scheduler_exits_2(two_studies, tiny_notebooks, tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = _cli("run", two_studies[0], "--out", tmp_path / "out", "--notebooks", tiny_notebooks, "--quiet",
             "--scheduler", f"tcp://127.0.0.1:{port}")
    assert r.returncode == 2 and "--scheduler" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_archives_round_trip_and_refuse_escaping_members(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.csv").write_text("x\n1\n")
    (src / "sub" / "b.txt").write_bytes(b"\x00\x01")
    (src / "link").symlink_to(src / "a.csv")
    back = cluster.unpack(cluster.pack(src), tmp_path / "back")
    assert sorted(p.relative_to(back).as_posix() for p in back.rglob("*") if p.is_file()) == ["a.csv", "sub/b.txt"]
    assert (back / "sub" / "b.txt").read_bytes() == b"\x00\x01"
    for evil in ("../escape.txt", "/abs.txt"):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(evil, "x")
        with pytest.raises(ValueError, match="refused"):
            cluster.unpack(buf.getvalue(), tmp_path / "evil")
    assert not (tmp_path / "escape.txt").exists()


def test_worker_task_sweeps_folders_of_a_killed_worker_and_answers_bad_input(tiny_study, tiny_notebooks, tmp_path):
    """``remote_study`` in this process: a worker's temporary folder left by a killed task (its lock
    file held by nobody) is removed, and bad input comes back as plain data naming the client's paths."""
    import tempfile
    from pathlib import Path

    from analysis.run import report

    left = Path(tempfile.mkdtemp(prefix="care-kit-cluster-"))
    (left / "clients.csv").write_text("name,phone\nAnna,+7 900 000-00-00\n")
    (left / report.LOCK_FILE).write_text("999999\n")  # nobody holds it: the task was killed
    (tiny_study / "study.yaml").write_text("horizn_months: 12\n")
    res = cluster.remote_study("tiny", str(tiny_study), str(tmp_path / "out" / "tiny"), cluster.pack(tiny_study),
                               cluster.pack(tiny_notebooks), {"jobs": 1, "notebooks_dir": str(tiny_notebooks)})
    assert not left.exists()
    assert res["kind"] == "input"
    text = " ".join(p["where"] + " " + p["message"] for p in res["problems"])
    assert "horizon_months" in text and "care-kit-cluster-" not in text


def test_only_on_the_cluster_sees_the_earlier_report_as_a_local_run(dask_cluster, two_studies, tiny_notebooks,
                                                                    tmp_path):
    """trial1 finding 9 on Dask: the worker ran ``--only`` without the earlier report, so a changed
    ``--set`` went unnoticed and the report came back with the one page re-made and the others lost.
    Now the earlier report travels to the worker: a changed ``--set`` exits 2 naming both values and
    leaves the report as it was; the same settings re-make one page and keep the rest."""
    out = tmp_path / "reports"
    study = two_studies[0]
    base = ["run", study, "--out", out, "--notebooks", tiny_notebooks, "--lang", "en", "--jobs", 1, "--quiet",
            "--scheduler", dask_cluster]
    assert _cli(*base, "--set", "horizon_months=24").returncode == 0
    folder = out / study.name
    before = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    r = _cli(*base, "--only", "first", "--set", "horizon_months=36")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "leave out --only" in r.stdout + r.stderr and "Traceback" not in r.stderr
    assert '"horizon_months": 24' in r.stdout + r.stderr and '"horizon_months": 36' in r.stdout + r.stderr
    assert "care-kit-cluster-" not in r.stdout + r.stderr  # the client's path, not the worker's
    assert {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    r = _cli(*base, "--only", "first", "--set", "horizon_months=24")
    assert r.returncode == 0, r.stdout + r.stderr
    figures = json.loads((folder / "results.json").read_text())["figures"]
    assert set(figures) >= {"first", "second", "summary"}  # the kept pages' figures survive
    assert (folder / "02_second.html").read_bytes() == before["02_second.html"]
    assert (folder / "05_summary.html").is_file()
