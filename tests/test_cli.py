"""``python -m analysis``: exit codes 0 / 1 / 2 and messages without tracebacks."""
from __future__ import annotations

import json

from conftest import make_notebook


def test_check_missing_folder_exits_2_without_traceback(run_cli, tmp_path):
    r = run_cli("check", tmp_path / "nowhere")
    assert r.returncode == 2
    assert "study folder not found" in r.stderr and "Traceback" not in r.stderr + r.stdout


def test_check_bad_config_lists_every_problem(run_cli, tiny_study):
    (tiny_study / "study.yaml").write_text("horizn_months: 3\ndiscount_rate: 7\n")
    r = run_cli("check", tiny_study)
    assert r.returncode == 2
    assert "Did you mean horizon_months?" in r.stderr and "discount_rate" in r.stderr
    assert "Bad input (2 problems)" in r.stderr and "Traceback" not in r.stderr


def test_check_good_study_exits_0(run_cli, tiny_study):
    r = run_cli("check", tiny_study)
    assert r.returncode == 0, r.stderr
    assert "Tiny salon: OK" in r.stdout


def test_run_with_set_and_lang(run_cli, tiny_study, tiny_notebooks, tmp_path):
    out = tmp_path / "out"
    r = run_cli("run", tiny_study, "--out", out, "--notebooks", tiny_notebooks, "--lang", "ru",
                "--set", "horizon_months=48", "--jobs", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    res = json.loads((out / "tiny" / "results.json").read_text())
    assert res["figures"]["first"] == {"visits": 5, "lang_is_ru": True, "horizon": 48}


def test_run_bad_set_exits_2(run_cli, tiny_study, tiny_notebooks, tmp_path):
    r = run_cli("run", tiny_study, "--out", tmp_path / "out", "--notebooks", tiny_notebooks,
                "--set", "horizon_months=-1", "--quiet")
    assert r.returncode == 2 and "horizon_months" in r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert not (tmp_path / "out" / "tiny").exists()


def test_internal_error_exits_1_and_keeps_the_failing_notebook(run_cli, tiny_study, tmp_path):
    nbs = tmp_path / "broken"
    make_notebook(nbs / "01_broken.ipynb", "1 / 0")
    r = run_cli("run", tiny_study, "--out", tmp_path / "out", "--notebooks", nbs, "--quiet")
    assert r.returncode == 1
    assert "ZeroDivisionError" in r.stdout
    assert (tmp_path / "out" / "tiny.failed" / "notebooks" / "01_broken.ipynb").exists()


def test_input_error_raised_inside_a_notebook_exits_2(run_cli, tiny_study, tmp_path):
    nbs = tmp_path / "strict"
    make_notebook(nbs / "01_strict.ipynb",
                  "from analysis.errors import InputError\nraise InputError('visits.csv: no block column to split by')")
    r = run_cli("run", tiny_study, "--out", tmp_path / "out", "--notebooks", nbs, "--quiet")
    assert r.returncode == 2 and "no block column" in r.stdout


def test_run_with_a_date_set_exits_0_and_records_it(run_cli, tiny_study, tiny_notebooks, tmp_path):
    """trial1 finding 1: an unquoted date given by ``--set`` (YAML reads a date) crashed the manifest
    after every notebook had run (exit 1, no report)."""
    out = tmp_path / "out"
    r = run_cli("run", tiny_study, "--out", out, "--notebooks", tiny_notebooks, "--set", "care_manager.since=2024-02-01",
                "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    man = json.loads((out / "tiny" / "manifest.json").read_text())
    assert man["parameters"]["overrides"] == {"care_manager": {"since": "2024-02-01"}}


def test_run_with_since_after_the_data_exits_2_before_any_notebook(run_cli, tiny_study, tmp_path):
    nbs = tmp_path / "marker"
    make_notebook(nbs / "01_mark.ipynb", f"open({str(tmp_path / 'ran')!r}, 'w').close()")
    r = run_cli("run", tiny_study, "--out", tmp_path / "out", "--notebooks", nbs,
                "--set", "care_manager.since=2030-01-01", "--quiet")
    text = r.stdout + r.stderr
    assert r.returncode == 2, text
    assert "care_manager.since" in text and "2024-01-04" in text and "2024-03-20" in text and "Traceback" not in text
    assert not (tmp_path / "ran").exists() and not (tmp_path / "out" / "tiny").exists()


def test_only_with_a_changed_set_exits_2_and_keeps_the_report(run_cli, tiny_study, tiny_notebooks, tmp_path):
    """trial1 finding 9: ``--only`` with another ``--set`` than the kept pages were made with."""
    out = tmp_path / "out"
    base = ("run", tiny_study, "--out", out, "--notebooks", tiny_notebooks, "--quiet", "--lang", "en")
    assert run_cli(*base, "--set", "horizon_months=24").returncode == 0
    page = (out / "tiny" / "05_summary.html").read_bytes()
    r = run_cli(*base, "--only", "summary", "--set", "horizon_months=36")
    assert r.returncode == 2 and "leave out --only" in r.stdout + r.stderr and "Traceback" not in r.stderr
    assert (out / "tiny" / "05_summary.html").read_bytes() == page
    assert run_cli(*base, "--only", "summary", "--set", "horizon_months=24").returncode == 0
