"""Retention page with memberships (tester findings F1, F13, F7 of trial 3).

F1: the retention page prices the members' fees kept with the summary's own
:func:`analysis.sections.summary.membership_gain`, so the page's visits' margin plus fees kept equals
the summary's retention part scenario by scenario, and its break-even with fees solves
visits(e) + fees(e) = cost.  F13: a one-probability renewal model is described as constant.  F7: the
analysts' tables and the current setup show words, not codes.
"""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from analysis.inputs import data, sample
from analysis.inputs.study import load_study
from analysis.models import simulate
from analysis.pages.labels import setting_text
from analysis.pages.words import catalogue, say
from analysis.sections import retention, summary


@pytest.fixture(scope="module")
def club(tmp_path_factory):
    """A memberships-only club with the role covering fitness (as the summary's fee tests use)."""
    d = sample.write_sample(tmp_path_factory.mktemp("club"), clients=400, months=12, seed=3,
                            hard=["memberships_only"])
    cfg = yaml.safe_load((d / "study.yaml").read_text(encoding="utf-8"))
    cfg.update({"simulation": {"n_draws": 300}})
    (d / "study.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    study = load_study(d)
    tables = data.load_tables(study)
    cov = retention.covered_analysis(study, tables)
    draws = simulate.draws(cov.study)
    sc = retention.scenarios(cov.study, cov.tables, draws, analysis=cov.analysis)
    return study, tables, cov, draws, sc


def test_fees_kept_are_the_summarys_fees_at_each_scenario(club):
    study, tables, cov, draws, sc = club
    fees = retention.members_fees(cov, sc)
    assert fees is not None
    prep = summary.prepare(study, tables)
    assert summary.membership_pricing(prep) == "priced"
    eff = np.clip(np.asarray(draws[summary.EFFECT_KEY], float), 0.0, 1.0)
    want, _ = prep.membership.at(eff)
    np.testing.assert_allclose(fees.kept_year, want, rtol=1e-12, atol=1e-9)
    assert np.all(fees.kept_year >= 0) and np.median(fees.kept_year) > 0
    # the page's visits' margin plus fees kept is the summary's retention part, scenario by scenario
    ev = summary.evaluate(prep, simulate.draws(prep.study), model_uncertainty=False)
    page = np.nan_to_num(sc.incremental_margin_year) + fees.kept_year
    np.testing.assert_allclose(ev.monthly["retention_margin_year"], page, rtol=1e-9, atol=1e-6)


def test_figures_are_finite_and_declared(club):
    from analysis import figures

    _, _, cov, _, sc = club
    figs = retention.fees_figures(retention.members_fees(cov, sc))
    for k, v in figs.items():
        assert figures.is_declared("retention", k)
        for lang in ("en", "ru"):
            assert f"summary.figure.retention.{k}" in catalogue(lang)
    assert all(np.isfinite(v) for k, v in figs.items() if k != "breakeven_uplift_with_fees")
    assert figs["members_fees_kept_year_p10"] <= figs["members_fees_kept_year_median"] <= figs["members_fees_kept_year_p90"]


def test_breakeven_with_fees_solves_visits_plus_fees_equals_cost(club):
    _, _, cov, _, sc = club
    d = cov.analysis
    fees = retention.members_fees(cov, sc)
    be = fees.breakeven_effect
    cost = d.role_cost_year

    def total(e):
        v = np.interp(e, d.effect["effect"], d.effect["incremental_margin_year"]) if d.effect is not None else 0.0
        return v + np.interp(e, fees.gain.grid, fees.gain.gain_year)

    if np.isfinite(be) and be > 0:
        assert total(be) == pytest.approx(cost, rel=1e-5)
        assert total(max(be - 0.01, 0.0)) < cost
    elif np.isnan(be):
        assert total(1.0) < cost
    # adding a non-negative fee gain never needs a larger cut than the visits alone
    if np.isfinite(d.breakeven_effect) and np.isfinite(be):
        assert be <= d.breakeven_effect + 1e-6


def test_breakeven_known_answer_linear_parts():
    # visits(e) = 100 e, fees(e) = 300 e, cost 200: break-even at e = 0.5 (visits alone: never)
    import pandas as pd
    from types import SimpleNamespace

    d = SimpleNamespace(effect=pd.DataFrame({"effect": [0.0, 1.0], "incremental_margin_year": [0.0, 100.0]}),
                        role_cost_year=200.0)
    gain = SimpleNamespace(grid=np.array([0.0, 1.0]), gain_year=np.array([0.0, 300.0]),
                           at=lambda e: (300.0 * np.asarray(e, float), None))
    cov = SimpleNamespace(analysis=d, tables=None, study=SimpleNamespace(horizon_months=12))
    sc = SimpleNamespace(care_manager_effect=np.array([0.1, 0.2, 0.3]))
    import analysis.sections.summary as s

    orig = s.membership_gain
    try:
        s.membership_gain = lambda *a, **k: gain
        f = retention.members_fees(cov, sc)
        assert f.breakeven_effect == pytest.approx(0.5, abs=1e-6)
        np.testing.assert_allclose(f.kept_year, [30.0, 60.0, 90.0])
        d.role_cost_year = 500.0
        assert np.isnan(retention.members_fees(cov, sc).breakeven_effect)
        d.role_cost_year = -10.0
        assert retention.members_fees(cov, sc).breakeven_effect == 0.0
        s.membership_gain = lambda *a, **k: None
        assert retention.members_fees(cov, sc) is None
    finally:
        s.membership_gain = orig


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("period", ["month", "week", "period"])
def test_one_probability_renewal_text_says_constant(lang, period):
    text = say(f"retention_page.sbg.text_same.{period}", lang, members="200", churned="100", first="18%",
               renew="82%", median="4")
    assert "82%" in text and "18%" in text and "{" not in text
    assert ("grow" not in text and "risen" not in text) if lang == "en" else "вырастает" not in text


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_parameter_symbols_and_meanings_are_words(lang):
    for p in ("r", "alpha", "beta", "lambda", "theta", "a", "b", "p"):
        assert f"retention_page.analysts.symbol.{p}" in catalogue(lang)
    assert say("retention_page.analysts.symbol.lambda", lang) == "λ"
    assert say("retention_page.analysts.symbol.theta", lang) == "θ"
    for p in ("alpha", "beta", "theta"):
        assert say(f"retention_page.analysts.sbg.{p}", lang).strip()


def test_current_setup_administrators_in_words():
    assert setting_text("staffing.current_setup", "administrators", "ru", spec={"type": "choice"}) == "администраторы"
    assert setting_text("staffing.current_setup", "administrators", "en", spec={"type": "choice"}) == "administrators"
