"""The whole kit over a small grid of generated studies (issue 10): 50-3,000 clients, 3-36 months,
a few seeds and the generator's hard cases (one dropout chance for all, short history, a solo
specialist, memberships only, zero amounts).  Every study must give a report (exit 0), finite
figures in results.json (or null with the reason's code beside), and a note on the page wherever
a model fell back.

One ``python -m analysis run`` over all studies at once (two kernels), so the grid costs about as
much as a few single runs.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.pages import words

from conftest import ROOT, SAMPLE_DRAWS

pytestmark = pytest.mark.slow

#: name: (clients, months, seed, hard cases)
GRID = {
    "tiny_3m": (50, 3, 1, ()),
    "issue_300_6m": (300, 6, 1, ()),
    "solo_master": (150, 12, 2, ("one_specialist",)),
    "same_dropout": (200, 12, 3, ("same_dropout",)),
    "fitness_club": (300, 12, 4, ("memberships_only", "zero_amounts")),
    "short_history": (60, 8, 6, ("short_history",)),
    "large_36m": (3000, 36, 7, ()),
}


def _prefix(key: str, lang: str = "en") -> str:
    """The fixed opening of a catalogue text (before its first field), to find it on a page."""
    entry = words.catalogue(lang)[key]
    text = entry["other"] if isinstance(entry, dict) else entry
    return text.split("{")[0][:60]


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("grid")
    folders = []
    for name, (clients, months, seed, hard) in GRID.items():
        args = [sys.executable, "-m", "analysis", "sample", str(base / name), "--clients", str(clients),
                "--months", str(months), "--seed", str(seed)]
        for h in hard:
            args += ["--hard", h]
        r = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
        assert r.returncode == 0, r.stderr
        folders.append(str(base / name))
    out = base / "reports"
    # the grid is about sizes, histories and hard cases, not the Monte Carlo: its ranges take the
    # end-to-end tests' draw count (every notebook and fallback runs as with the default)
    r = subprocess.run([sys.executable, "-m", "analysis", "run", *folders, "--out", str(out), "--jobs", "2",
                        "--set", SAMPLE_DRAWS, "--quiet"], capture_output=True, text=True, cwd=ROOT)
    return out, r


@pytest.mark.parametrize("name", list(GRID))
def test_generated_study_gives_a_report_with_finite_figures(grid_run, name):
    out, r = grid_run
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    assert f"{name}:" not in r.stderr or "failed" not in r.stderr.split(f"{name}:")[1][:200], r.stderr[-3000:]
    folder = out / name
    assert (folder / "index.html").exists(), r.stderr[-3000:]
    res = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    for section, figs in res["figures"].items():
        for key, v in figs.items():
            if key.endswith("_reason"):
                assert isinstance(v, str) and words.has(v), (section, key, v)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                assert math.isfinite(v), (section, key, v)
    ret = res["figures"]["retention"]
    page = (folder / "03_retention.html").read_text(encoding="utf-8")
    # a figure that could not be computed is null with its reason, and the reason is on the page
    for key in ("breakeven_uplift", "incremental_margin_year_median"):
        if ret.get(key) is None and ret.get("bgnbd_mean_dropout") is not None:
            reason = ret.get(key.replace("_median", "") + "_reason")
            assert reason, (key, ret)
            if key == "breakeven_uplift" and ret.get("breakeven_uplift_with_fees") is not None:
                # members' fees: the with-fees break-even leads, the visits' margin alone is said beside it
                assert _prefix("retention_page.effect.pays_visits_only_never") in page, reason
            else:
                assert _prefix(reason) in page, reason
    # a model that fell back says so
    if ret.get("bgnbd_limit_case") == 1:
        assert "Your clients show no measurable difference" in page
    if ret.get("dropout_measurable") == 0:
        assert _prefix("retention.sufficiency.effect_is_assumption") in page
        assert ret.get("incremental_margin_year_median") is None     # no zero range as a finding
    if ret.get("incremental_margin_year_median") is not None:
        assert ret["incremental_margin_year_p90"] > 0


def test_hard_cases_reach_the_intended_fallbacks(grid_run):
    out, _ = grid_run
    short = json.loads((out / "short_history" / "results.json").read_text(encoding="utf-8"))
    assert short["figures"]["retention"]["dropout_measurable"] == 0
    solo = (out / "solo_master" / "03_retention.html").read_text(encoding="utf-8")
    assert "kit-note" in solo


@pytest.mark.parametrize("name", list(GRID))
def test_verdict_agrees_with_the_pay_page_and_shows_no_npv_without_data(grid_run, name):
    out, _ = grid_run
    folder = out / name
    res = json.loads((folder / "results.json").read_text(encoding="utf-8"))["figures"]
    summ, comp = res["summary"], res.get("compensation", {})
    # the pay page's "can the role pay for itself" and the summary's verdict are one rule
    if comp.get("role_cost_check_passed") == 0:
        assert summ["verdict"] != "create"
        if summ["verdict"] != "not_enough_data":
            assert "role_cost_vs_profit" in summ["checks_failed"]
    if comp.get("role_cost_check_passed") == 1:
        assert "role_cost_vs_profit" not in summ["checks_failed"]
    # the care managers needed: one figure on the staffing page and the summary
    if "care_managers_needed" in res.get("staffing", {}):
        assert res["staffing"]["care_managers_needed"] == summ["care_managers_needed"]
    # not enough data: no NPV shown as if it were an answer, and the page says why
    page = (folder / "05_summary.html").read_text(encoding="utf-8")
    index = (folder / "index.html").read_text(encoding="utf-8")
    if summ["verdict"] == "not_enough_data":
        assert "npv_median" not in summ and "payback_month" not in summ
        assert _prefix("summary.no_npv") in page
        assert words.say("summary.headline.npv", "en") not in page
        assert words.say("summary.figure.summary.npv_median", "en") not in index
        # nothing that reads as an answer: no per-setup table, no "create the role"
        assert words.say("verdict.level.create", "en") not in page
        assert words.say("summary.alternatives.caption", "en").split("{")[0][:40] not in page
    else:
        assert "npv_median" in summ
        # no payback within the horizon is null, never a -1
        assert summ["payback_month"] is None or summ["payback_month"] >= 1


def test_membership_fees_count_as_revenue(grid_run):
    out, _ = grid_run
    res = json.loads((out / "fitness_club" / "results.json").read_text(encoding="utf-8"))["figures"]
    dc = res["data_check"]
    assert dc["membership_revenue"] > 0
    assert dc["revenue"] >= dc["membership_revenue"]
