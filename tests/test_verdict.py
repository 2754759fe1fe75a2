"""The verdict stands on the salon's own facts: verdict levels, today's setup, sanity checks, money in
the study's currency, one role cost, covers narrowing every part, sentences from the settings."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.sections import compensation, decision, pnl, staffing, summary
from analysis.pages import i18n, words

from analysis.inputs import data, sample

from analysis.models import simulate
from analysis.inputs.data import Tables
from analysis.inputs.study import load_study

from conftest import ROOT

N_DRAWS = 400


def _write_study(d, extra: dict | None = None, **base):
    cfg = {"name": "Test salon", "language": "en", "currency": "RUB", "simulation": {"n_draws": N_DRAWS}, **base}
    for k, v in (extra or {}).items():
        cfg.setdefault(k, {}).update(v) if isinstance(v, dict) else cfg.__setitem__(k, v)
    (d / "study.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")


@pytest.fixture(scope="module")
def small_salon(tmp_path_factory):
    """60 clients, 8 months, two blocks: the salon of issue 11 that must not be told "create"."""
    d = sample.write_sample(tmp_path_factory.mktemp("small"), clients=60, months=8)
    v = pd.read_csv(d / "visits.csv")
    v[v["block"].isin(["hair", "nails"])].to_csv(d / "visits.csv", index=False)
    s = pd.read_csv(d / "staff.csv")
    s[s["block"].isin(["hair", "nails"])].to_csv(d / "staff.csv", index=False)
    return d


def _decide(study_dir, overrides=None):
    study = load_study(study_dir, overrides)
    tables = data.load_tables(study)
    prep = summary.prepare(study, tables)
    d = simulate.draws(prep.study)
    ev = summary.evaluate(prep, d)
    tor = summary.tornado(prep, simulate.draws(prep.study, n=200))
    return prep, ev, summary.verdict(prep, ev, tor, d)


# ----------------------------------------------------------------------------- verdict levels


def test_verdict_level_precedence():
    kw = dict(enough_data=True, setup_known=True, decisive_defaults=False, checks_failed=False,
              prob_positive=0.95, hinges_on_retention=False)
    assert decision.verdict_level(**kw) == "create"
    assert decision.verdict_level(**{**kw, "hinges_on_retention": True}) == "pilot"
    assert decision.verdict_level(**{**kw, "prob_positive": 0.5}) == "pilot"
    assert decision.verdict_level(**{**kw, "prob_positive": 0.1}) == "do_not_create"
    for flag in ("setup_known", "decisive_defaults", "checks_failed"):
        assert decision.verdict_level(**{**kw, flag: not kw[flag]}) == "confirm_inputs"
    assert decision.verdict_level(**{**kw, "enough_data": False, "setup_known": False}) == "not_enough_data"
    assert set(decision.VERDICTS) == {"not_enough_data", "confirm_inputs", "create", "pilot", "do_not_create"}


def test_small_salon_is_not_told_create(small_salon):
    # the old default (specialist managers today) stated: the assumed payroll fails the size checks
    prep, ev, v = _decide(small_salon, {"staffing": {"current_setup": "specialist_managers"}})
    assert v.level != "create"
    assert v.level in ("confirm_inputs", "not_enough_data")
    assert {"management_payroll_vs_revenue", "managers_vs_clients"} <= set(v.checks_failed)
    # nothing stated: today's setup is unknown, and the role is counted as added, not replacing
    prep, ev, v = _decide(small_salon)
    assert not prep.today.known and v.level != "create"
    assert "setup_unknown" in v.reasons or v.level == "not_enough_data"
    assert (ev.monthly["staff_saving_month"] == 0).all()


def test_the_pay_page_and_the_summary_use_one_role_cost_check(small_salon):
    prep, ev, v = _decide(small_salon, {"staffing": {"current_setup": "none"}})
    role = float(np.median(ev.monthly["role_cost_month"]))
    check = summary.role_cost_check(role, prep.baseline.profit_month, prep.study)
    assert check in v.checks
    assert (check.code in v.checks_failed) == (role > 0.5 * max(prep.baseline.profit_month, 0))


def test_the_role_cost_check_weighs_what_the_role_adds_not_what_it_replaces(small_salon):
    # replacing block managers: the blocks carry the role's cost less the managers' pay it frees
    prep, ev, v = _decide(small_salon, {"staffing": {"current_setup": "specialist_managers"}})
    gross = float(np.median(ev.monthly["role_cost_month"]))
    added = float(np.median(ev.monthly["role_cost_month"] - ev.monthly["staff_saving_month"]))
    assert added < gross                                   # the managers it replaces are paid
    check = [c for c in v.checks if c.code == "role_cost_vs_profit"][0]
    assert check.value == pytest.approx(added)
    assert check.passed == (added <= 0.5 * max(prep.baseline.profit_month, 0))


def test_create_is_reachable_when_the_salon_states_its_facts():
    # the bundled sample centre, its setup stated and no assumption counted as decisive
    over = {"staffing": {"current_setup": "specialist_managers"}, "simulation": {"n_draws": N_DRAWS},
            "summary": {"decisive_inputs": 0}}
    prep, ev, v = _decide(ROOT / "data" / "sample", over)
    assert prep.today.source == "study" and v.checks_failed == []
    assert v.level == "create"


# ----------------------------------------------------------------------------- today's setup


def test_today_setup_from_staff_roles_then_study(tmp_path):
    study = load_study(tmp_path)
    staff = pd.DataFrame({"specialist_id": ["a", "m1", "m2", "x"], "block": ["hair", "hair", "nails", "nails"],
                          "role": ["stylist", "Block manager", "менеджер", "manager"],
                          "monthly_fixed_pay": [20000, 50000, 45000, 60000],
                          "left": pd.to_datetime([None, None, None, "2024-01-01"])})
    t = Tables(visits=pd.DataFrame({"client_id": [], "date": [], "amount": []}), staff=staff)
    s = staffing.today_setup(study, t)
    assert (s.setup, s.source, s.people, s.payroll_month) == ("specialist_managers", "staff", 2, 95000.0)
    admins = staff.assign(role=["stylist", "administrator", "nail tech", "nail tech"])
    assert staffing.today_setup(study, Tables(visits=t.visits, staff=admins)).setup == "administrators"
    assert staffing.today_setup(study, Tables(visits=t.visits)).setup is None          # unknown
    stated = load_study(tmp_path, {"staffing": {"current_setup": "none"}})
    assert staffing.today_setup(stated, Tables(visits=t.visits)).source == "study"


# ----------------------------------------------------------------------------- money


def test_usd_study_gets_no_rouble_defaults(tmp_path):
    d = sample.write_sample(tmp_path / "usd", clients=300, months=12)
    for name, cols in (("visits.csv", ["amount", "consumables_cost"]), ("staff.csv", ["monthly_fixed_pay"]),
                       ("services.csv", ["price", "consumables_cost"]), ("memberships.csv", ["price_per_period"])):
        df = pd.read_csv(d / name)
        for c in cols:
            if c in df:
                df[c] = df[c] / 90.0          # roubles to dollars at about 90 ₽ a dollar
        df.to_csv(d / name, index=False)
    _write_study(d, currency="USD")
    study = load_study(d)
    tables = data.load_tables(study)
    local = pnl.localise(study, tables)
    assert local.money_scale_source == "specialist_pay"
    assert 1 / 200 < local.money_scale < 1 / 40                   # the salon's own pay level, in dollars
    salary = local["staffing.specialist_manager_salary_month"]
    assert salary.mode < 2000                                      # not 70,000 "dollars"
    assert local["compensation.schemes"][0]["components"][1]["amount"] < 1000
    assert study["staffing.specialist_manager_salary_month"].mode == 70000   # the user's study untouched
    prep = summary.prepare(study, tables)
    ev = summary.evaluate(prep, simulate.draws(prep.study), setup="specialist_managers")
    revenue_year = prep.baseline.revenue_month * 12
    assert abs(ev.median_npv()) < 3 * revenue_year                # not millions of dollars from roubles


def test_a_stated_money_value_is_kept_and_rub_is_not_scaled(tmp_path):
    study = load_study(tmp_path, {"currency": "USD", "staffing": {"care_manager_salary_month": 3000}})
    t = Tables(visits=pd.DataFrame({"client_id": ["a"], "date": pd.to_datetime(["2024-01-01"]), "amount": [50.0]}))
    local = pnl.localise(study, t)
    assert local["staffing.care_manager_salary_month"].mode == 3000
    rub = load_study(tmp_path)
    assert pnl.localise(rub, t).money_scale == 1.0


# ----------------------------------------------------------------------------- one role cost


def test_role_cost_agrees_across_sections(small_salon):
    study = load_study(small_salon, {"staffing": {"current_setup": "specialist_managers"}})
    tables = data.load_tables(study)
    d = simulate.draws(study)
    a = staffing.analyse(study, tables, d, with_tornado=False)
    prep = summary.prepare(study, tables, staffing_analysis=a)
    ev = summary.evaluate(prep, d)
    np.testing.assert_allclose(a.mc.cost_care_managers_month, ev.monthly["role_cost_month"])
    assert a.figures()["cost_care_manager_month"] == pytest.approx(ev.role_cost_quantiles()[1])
    np.testing.assert_allclose(staffing.scenarios(study, tables, d).cost_care_managers_month,
                               ev.monthly["role_cost_month"])


def test_profit_share_split_between_managers(tmp_path):
    t = _five_blocks()
    base = {"staffing": {"current_setup": "none", "productive_share": 0.02}, "simulation": {"n_draws": 100}}
    out = {}
    for split in ("split", "each"):
        study = load_study(tmp_path, {**base, "compensation": {"profit_share_split": split}})
        prep = summary.prepare(study, t)
        out[split] = summary.evaluate(prep, simulate.draws(prep.study)).monthly
    m = out["split"]["care_managers_needed"]
    assert (m > 1).all()
    ps = compensation.scenarios(prep.study, t, simulate.draws(prep.study))
    tax = simulate.draws(prep.study)["staffing.payroll_tax_rate"]
    np.testing.assert_allclose(out["each"]["role_cost_month"] - out["split"]["role_cost_month"],
                               (m - 1) * ps.profit_share_month * (1 + tax))
    assert (ps.profit_share_month > 0).all()


# ----------------------------------------------------------------------------- covers


def _five_blocks():
    """5 blocks, one specialist each, 4 clients per block visiting monthly for 24 months; block k
    charges 1000 k a visit with 100 of consumables."""
    rows = []
    for k in range(1, 6):
        for c in range(4):
            for m in range(24):
                rows.append({"client_id": f"c{k}{c}", "date": pd.Timestamp("2022-01-05") + pd.DateOffset(months=m)
                             + pd.Timedelta(days=c), "amount": 1000.0 * k, "consumables_cost": 100.0,
                             "block": f"b{k}", "specialist_id": f"s{k}"})
    visits = pd.DataFrame(rows)
    staff = pd.DataFrame({"specialist_id": [f"s{k}" for k in range(1, 6)], "block": [f"b{k}" for k in range(1, 6)]})
    return Tables(visits=visits, staff=staff)


def test_covers_narrows_every_part_with_a_hand_computed_departures_npv(tmp_path):
    t = _five_blocks()
    over = {"care_manager": {"covers": ["b1", "b2"]}, "simulation": {"n_draws": 100},
            "staffing": {"current_setup": "none"},
            "retention": {"specialist_leave_rate_year": 0.4, "attached_leave_share": 0.5, "care_manager_effect": 0,
                          "care_manager_attached_reduction": 0.5},
            "summary": {"ramp_months": 0}, "horizon_months": 24, "discount_rate": 0.12}
    study = load_study(tmp_path, over)
    prep = summary.prepare(study, t)
    ev = summary.evaluate(prep, simulate.draws(prep.study))
    # hand computation: attached clients of b1, b2 (4 each) paid 12 visits x 1000 k in the last year
    revenue_attached_year = 4 * 12 * 1000 + 4 * 12 * 2000
    margin_ratio = ((1000 - 100 - 400) + (2000 - 100 - 800)) / (1000 + 2000)   # commission 40% (default)
    dep_year = (1 - np.exp(-0.4)) * 0.5 * revenue_attached_year * 0.5 * margin_ratio
    disc = (1.12) ** (-np.arange(1, 25) / 12)
    expected = float((dep_year / 12 * disc).sum())
    assert float(np.median(ev.result.parts["departures"])) == pytest.approx(expected, rel=1e-6)
    # and the other parts: the covered blocks' clients only
    assert set(prep.retention.rfm.index) == {f"c{k}{c}" for k in (1, 2) for c in range(4)}
    assert prep.profile.blocks == ("b1", "b2")
    assert prep.baseline.revenue_mean_month == pytest.approx(4 * 1000 + 4 * 2000)


# ----------------------------------------------------------------------------- pages say the settings


def test_summary_page_says_the_settings(small_salon, tmp_path):
    import papermill as pm

    results = tmp_path / "results.json"
    results.write_text(json.dumps({"study": "x", "figures": {
        "data_check": {"clients": 60, "new_client_retention": 0.3, "repeat_client_retention": 0.7},
        "retention": {"regulars_margin_share": 0.5}}}), encoding="utf-8")
    over = {"data_check": {"regular_min_visit_days": 5, "retention_window_days": 60},
            "summary": {"min_complete_months": 4, "decisive_inputs": 2}, "simulation": {"n_draws": 200}}
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "05_summary.ipynb"), str(out), kernel_name="python3",
                        progress_bar=False, parameters={"study_dir": str(small_salon), "lang": "en",
                                                        "results_path": str(results),
                                                        "overrides": json.dumps(over)})
    text = out.read_text(encoding="utf-8")
    assert "back within 60 days" in text and "back within 90 days" not in text
    assert "5+ visit days" in text
    assert "fewer than 4 complete months" in text and "one of the 2 assumptions" in text
    fig = json.loads(results.read_text(encoding="utf-8"))["figures"]["summary"]
    # the 60-client salon's visit model gives no gain curve: not enough data, so no scenarios are shown
    assert ("of 200 scenarios" in text) == (fig["verdict"] != "not_enough_data")
    assert fig["verdict"] in decision.VERDICTS and fig["verdict"] != "create"
    for key in ("checks_failed", "role_cost_month_p10", "role_cost_month_median", "role_cost_month_p90"):
        assert key in fig
    assert fig["role_cost_month_p10"] <= fig["role_cost_month_median"] <= fig["role_cost_month_p90"]


def test_a_users_zero_stays_zero(monkeypatch, tmp_path):
    from analysis.sections import retention

    seen = {}
    real = retention.departure_inputs

    def spy(visits, staff, margin_ratio, min_share, followup_days, min_visits):
        seen["min_share"] = min_share
        return real(visits, staff, margin_ratio, min_share, followup_days, min_visits)

    monkeypatch.setattr(retention, "departure_inputs", spy)
    study = load_study(tmp_path, {"retention": {"attachment_min_share": 0}, "simulation": {"n_draws": 100}})
    retention.analyse(study, _five_blocks())
    assert seen["min_share"] == 0.0
    # the role's pay with nothing for own services and no setup cost: a 0 is used as 0
    study = load_study(tmp_path, {"summary": {"setup_cost": 0}, "simulation": {"n_draws": 100},
                                  "staffing": {"current_setup": "none"}})
    prep = summary.prepare(study, _five_blocks())
    assert (summary.evaluate(prep, simulate.draws(prep.study)).monthly["setup_cost"] == 0).all()


def test_gain_profile_adds_up_to_the_effect_curve_and_overlap_is_removed(tmp_path):
    from analysis.sections import retention

    study = load_study(ROOT / "data" / "sample", {"simulation": {"n_draws": 200}})
    tables = data.load_tables(study)
    a = retention.analyse(study, tables)
    H = study.horizon_months
    cum = retention.gain_profile(a, H, 0.2)
    curve = a.effect.set_index("effect")["incremental_margin_year"]
    assert cum[-1] / (H / 12) == pytest.approx(float(np.interp(0.2, curve.index, curve.values)), rel=1e-3)
    assert (np.diff(cum) > 0).all() and np.diff(cum)[-1] > np.diff(cum)[0]   # builds up
    d = simulate.draws(study)
    rs = retention.scenarios(study, tables, d, analysis=a)
    hz, sh, red = retention.departure_draws(a.departures, d)
    without = -np.expm1(-hz) * sh * a.departures.revenue_attached_year
    np.testing.assert_allclose(rs.margin_at_risk_avoided_year,
                               without * red * (1 - d["retention.care_manager_effect"]) * a.margin_ratio)


def test_bare_usd_visits_convert_money_defaults_by_the_visit_amount(tmp_path):
    study = load_study(tmp_path, {"currency": "USD"})
    visits = pd.DataFrame({"client_id": ["a", "b", "a"], "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-02-01"]),
                           "amount": [30.0, 36.0, 33.0]})
    local = pnl.localise(study, Tables(visits=visits))
    assert local.money_scale_source == "visit_amount"
    assert local.money_scale == pytest.approx(33.0 / 3300)
    assert local["staffing.care_manager_salary_month"].mode == pytest.approx(90000 * 33.0 / 3300)
    assert all(np.isfinite(c.get("amount", 0)) for s in local["compensation.schemes"] for c in s["components"])


def test_alternatives_flag_an_assumed_payroll_too_large_for_the_salon(small_salon):
    prep, ev, v = _decide(small_salon)
    alts = summary.alternatives(prep, simulate.draws(prep.study)).set_index("setup")
    assert "management_payroll_vs_revenue" in alts.loc["specialist_managers", "checks_failed"]
    assert "management_payroll_vs_revenue" not in alts.loc["none", "checks_failed"]


# ----------------------------------------------------------------------------- the pilot in the verdict


def _pilot_page(**kw):
    from types import SimpleNamespace

    table = pd.DataFrame({"option": ["one_block", "half", "everyone"],
                          "blocks": [["hair"], ["hair", "nails"], None]})
    base = dict(since=None, blocks=None, measured=False, more_months=None,
                design=SimpleNamespace(table=table), effect_quantiles=lambda: (np.nan,) * 3)
    return SimpleNamespace(**{**base, **kw})


@pytest.fixture(scope="module")
def pilot_study(small_salon):
    study = load_study(small_salon)
    return study, data.load_tables(study)


def test_extend_decision_rules():
    assert summary.extend_decision(0.05, 0.9, 0.8, 0.2) == "extend"
    assert summary.extend_decision(-0.01, 0.9, 0.8, 0.2) == "keep_measuring"   # the range reaches zero
    assert summary.extend_decision(0.05, 0.5, 0.8, 0.2) == "keep_measuring"
    assert summary.extend_decision(0.05, 0.1, 0.8, 0.2) == "do_not_extend"
    # the structural estimate and the model-free difference-in-differences disagree: no "extend"
    assert summary.extend_decision(0.05, 0.9, 0.8, 0.2, agreed=False) == "keep_measuring"
    assert summary.extend_decision(0.05, 0.1, 0.8, 0.2, agreed=False) == "do_not_extend"
    assert set(summary.EXTEND) == {"extend", "do_not_extend", "keep_measuring"}


def test_pilot_verdict_says_which_blocks_how_long_and_what_it_detects(pilot_study):
    study, tables = pilot_study
    fig = {"design": "one_block", "detectable_effect": 0.23, "months_needed": 9}
    a = summary.pilot_advice(study, "pilot", ["hinges_on_retention"], fig, _pilot_page(), tables, 0.6)
    assert (a.kind, a.blocks, a.others, a.months) == ("plan", ["hair"], ["nails"], 9)
    en = " ".join(summary.pilot_advice_text(a, study, "en"))
    ru = " ".join(summary.pilot_advice_text(a, study, "ru"))
    assert "Hair" in en and "23%" in en and "**9** months" in en
    assert "hair" not in ru.lower().replace("care_manager", "") and "Волосы" in ru and "23" in ru
    # not within the simulated months, every block (before/after), no design
    a = summary.pilot_advice(study, "pilot", [], {**fig, "months_needed": None}, _pilot_page(), tables)
    assert a.kind == "plan_not_within" and a.months == 36
    a = summary.pilot_advice(study, "pilot", [], {**fig, "design": "everyone"}, _pilot_page(), tables)
    assert a.kind == "plan_everyone" and a.blocks is None
    a = summary.pilot_advice(study, "pilot", [], {}, None, tables)
    assert a.kind == "plan_unavailable" and summary.pilot_advice_text(a, study, "ru")
    # no pilot advice for a clear answer
    assert summary.pilot_advice(study, "do_not_create", [], fig, _pilot_page(), tables) is None


def test_after_a_measured_pilot_the_summary_answers_whether_to_extend(pilot_study):
    study, tables = pilot_study
    since = pd.Timestamp("2025-03-01")
    page = _pilot_page(since=since, blocks=["hair"], measured=True, effect_quantiles=lambda: (0.1, 0.2, 0.3),
                       conclusion="gain")
    a = summary.pilot_advice(study, "create", [], {}, page, tables, prob_positive=0.95)
    assert (a.kind, a.extend, a.others) == ("extend", "extend", ["nails"])
    # the same range, but the page's two estimates disagree: keep measuring
    disagree = _pilot_page(since=since, blocks=["hair"], measured=True, effect_quantiles=lambda: (0.1, 0.2, 0.3),
                           conclusion="disagree")
    assert summary.pilot_advice(study, "create", [], {}, disagree, tables, prob_positive=0.95).extend == "keep_measuring"
    text = summary.pilot_advice_text(a, study, "ru", 0.95)
    assert "Распространите" in text[0] and "Ногти" in text[0] and "20" in text[0]
    a = summary.pilot_advice(study, "do_not_create", [], {}, page, tables, prob_positive=0.05)
    assert a.extend == "do_not_extend"
    # a pilot too recent to measure says how many more months it needs
    page = _pilot_page(since=since, blocks=["hair"], more_months=4)
    a = summary.pilot_advice(study, "pilot", [], {}, page, tables)
    assert a.kind == "running" and "4" in summary.pilot_advice_text(a, study, "en")[0]


def test_assumed_ranges_are_words_not_raw_dashes(pilot_study):
    study, _ = pilot_study
    eff = study["retention.care_manager_effect"]
    for lang in ("en", "ru"):
        text = summary.effect_range_text(eff, lang)
        assert " – " not in text and ("from" in text or "от" in text)
    assert summary.effect_range_text(0.1, "en") == "10%"


def test_reversed_verdict_thresholds_are_an_input_error(tmp_path):
    from analysis.inputs import sample
    from analysis.errors import InputError
    from analysis.run.report import RunOptions, prepare

    out = sample.write_sample(tmp_path / "s", clients=200, months=6, seed=3)
    with open(out / "study.yaml", "a", encoding="utf-8") as fh:
        fh.write("summary: {recommend_prob: 0.1, reject_prob: 0.5}\n")
    with pytest.raises(InputError, match="summary.reject_prob"):
        prepare(out, RunOptions())


# ----------------------------------------------------------------------------- one cost, one count (issue 11)


def test_retention_break_even_prices_the_summary_role_cost(small_salon):
    from analysis.sections import retention

    for setup in ("none", "specialist_managers"):
        study = load_study(small_salon, {"staffing": {"current_setup": setup}})
        tables = data.load_tables(study)
        prep = summary.prepare(study, tables)
        d = simulate.draws(prep.study)
        ev = summary.evaluate(prep, d)
        net_year = 12 * (ev.monthly["role_cost_month"] - ev.monthly["staff_saving_month"])
        # per scenario: the retention part's role cost is the summary's, less what the role replaces
        np.testing.assert_allclose(retention.role_cost_year(prep.study, d), net_year)
        # one number: the median, which the retention page's break-even uses
        assert retention.role_cost_year(prep.study) == pytest.approx(float(np.median(net_year)))
        if prep.retention is not None:
            assert prep.retention.role_cost_year == pytest.approx(float(np.median(net_year)), rel=1e-9)
    # specialist managers replaced: the saving lowers what retention must earn (it is not one salary)
    assert retention.role_cost_year(prep.study) < 12 * float(np.median(ev.monthly["role_cost_month"]))


@pytest.mark.parametrize("clients,months,seed", [(300, 12, 1), (800, 18, 2), (1500, 24, 3)])
def test_care_managers_needed_is_one_figure_on_generated_studies(tmp_path, clients, months, seed):
    d = sample.write_sample(tmp_path / "s", clients=clients, months=months, seed=seed)
    study = load_study(d, {"staffing": {"current_setup": "specialist_managers"}, "simulation": {"n_draws": N_DRAWS}})
    tables = data.load_tables(study)
    draws = simulate.draws(study)
    a = staffing.analyse(study, tables, draws, with_tornado=False)
    prep = summary.prepare(study, tables, staffing_analysis=a)
    ev = summary.evaluate(prep, draws.on(prep.study))
    one = summary.managers_needed(ev.monthly["care_managers_needed"])
    fig = a.figures()["care_managers_needed"]
    assert fig == one
    # the staffing page's tables (central case) show the same count
    assert float(a.options.set_index("option").loc["care_manager", "people"]) == one
    assert float(a.queues.set_index("queue").loc["care", "servers"]) == one
    # whole people, and never fewer than the median scenario needs
    assert one == np.ceil(one) and one >= np.median(ev.monthly["care_managers_needed"])


def test_managers_needed_rounds_the_median_up():
    assert summary.managers_needed([1, 2, 2, 3]) == 2
    assert summary.managers_needed([1, 1, 2, 2]) == 2      # a tie of two counts takes the larger
    assert summary.managers_needed([3, 3, 3]) == 3


def test_administrators_today_are_costed_by_their_pay(tmp_path):
    t = _five_blocks()
    staff = pd.concat([t.staff, pd.DataFrame({"specialist_id": ["adm1", "adm2"], "block": [None, None],
                                              "role": ["administrator", "administrator"],
                                              "monthly_fixed_pay": [40000.0, 50000.0]})], ignore_index=True)
    staff.loc[staff["role"].isna(), "role"] = "stylist"
    t2 = Tables(visits=t.visits, staff=staff)
    study = load_study(tmp_path, {"simulation": {"n_draws": 200}})
    prep = summary.prepare(study, t2)
    assert prep.today.setup == "administrators" and prep.today.payroll_month == 90000.0
    d = simulate.draws(prep.study)
    ev = summary.evaluate(prep, d)
    # what the care manager replaces: the stated share of the administrators' pay, with payroll tax
    expected = d["staffing.administrator_client_share"] * 90000.0 * (1 + d["staffing.payroll_tax_rate"])
    np.testing.assert_allclose(ev.monthly["staff_saving_month"], expected)
    assert (ev.monthly["staff_saving_month"] > 0).any()
    # stated in study.yaml without pay in staff.csv: administrators by the salon's size (active
    # clients a month / clients per administrator) at the salary assumption
    study = load_study(tmp_path, {"simulation": {"n_draws": 200}, "staffing": {"current_setup": "administrators"}})
    prep = summary.prepare(study, t)
    d = simulate.draws(prep.study)
    ev = summary.evaluate(prep, d)
    people = staffing.client_profile(t.visits).clients_month / study["staffing.clients_per_administrator"]
    assert prep.today.people == pytest.approx(people)
    expected = (d["staffing.administrator_client_share"] * d["staffing.administrator_salary_month"] * people
                * (1 + d["staffing.payroll_tax_rate"]))
    np.testing.assert_allclose(ev.monthly["staff_saving_month"], expected)
    # not `none`: administrators' pay moves the answer, nothing does under `none`
    none = summary.evaluate(prep, d, setup="none")
    assert (none.monthly["staff_saving_month"] == 0).all()
    assert ev.median_npv() > none.median_npv()


def test_administrator_salary_is_a_money_default():
    assert "staffing.administrator_salary_month" in pnl.MONEY_DEFAULTS


# ----------------------------------------------------------------------------- the cheaper tornado (issue 15)


def test_tornado_reuses_parts_but_gives_the_full_recomputation(small_salon):
    study = load_study(small_salon, {"staffing": {"current_setup": "specialist_managers"}})
    tables = data.load_tables(study)
    prep = summary.prepare(study, tables)
    d = simulate.draws(prep.study, n=300)
    fast = summary._tornado_at(prep, d, d.uncertain_keys())
    base = summary.evaluate(prep, d).median_npv()
    assert fast["base"].iloc[0] == pytest.approx(base, rel=1e-9)
    for row in fast.itertuples():
        # every assumption re-evaluated from scratch on the same scenarios (common random numbers)
        lo = summary.evaluate(prep, d.fixed(row.key, row.low)).median_npv()
        hi = summary.evaluate(prep, d.fixed(row.key, row.high)).median_npv()
        assert row.npv_at_low == pytest.approx(lo, rel=1e-9, abs=1e-6), row.key
        assert row.npv_at_high == pytest.approx(hi, rel=1e-9, abs=1e-6), row.key


def test_tornado_doubles_its_draws_until_the_decisive_order_is_stable(small_salon):
    study = load_study(small_salon, {"staffing": {"current_setup": "specialist_managers"},
                                     "summary": {"tornado_min_draws": 100}})
    tables = data.load_tables(study)
    prep = summary.prepare(study, tables)
    d = simulate.draws(prep.study, n=800)
    tor = summary.tornado(prep, d)
    n = tor.attrs["n_draws"]
    assert n in (200, 400, 800)
    k = int(prep.study["summary.decisive_inputs"])
    keys = d.uncertain_keys()
    if n < 800:   # stopped early: the top k agreed with the run of half the size
        half = summary._tornado_at(prep, summary._first(d, n // 2), keys)
        assert list(half["key"].head(k)) == list(tor["key"].head(k))
    # the first n scenarios of a longer run are the scenarios of a run of n
    np.testing.assert_array_equal(summary._first(d, 100)["summary.ramp_months"], d["summary.ramp_months"][:100])


# ----------------------------------------------------------------------------- trial 1: the summary's words and rules


def test_least_favourable_end_is_the_lower_npv_whatever_the_sign():
    # r01: median -3.21M, the effect's ends give -2.67M and -3.9M: the least favourable is -3.9M
    assert summary.least_favourable_npv(-2_666_690, -3_900_000) == -3_900_000
    assert summary.least_favourable_npv(-3_900_000, -2_666_690) == -3_900_000
    assert summary.least_favourable_npv(1_000, 5_000) == 1_000


def test_a_default_is_decisive_only_when_its_ends_change_the_sign(small_salon):
    from types import SimpleNamespace

    study = load_study(small_salon, {"summary": {"decisive_inputs": 3},
                                     "retention": {"care_manager_effect": {"low": 0.05, "mode": 0.15, "high": 0.3}}})
    prep = SimpleNamespace(study=study)
    tor = pd.DataFrame({"key": ["retention.care_manager_effect", "staffing.productive_share", "summary.setup_cost"],
                        "base": [-3.2e6] * 3, "npv_at_low": [-3.9e6, -3.5e6, 1e5],
                        "npv_at_high": [-2.6e6, -2.9e6, -3.3e6]})
    # the effect is stated (not a default); productive_share never flips the sign; setup_cost does
    assert summary.decisive_defaults(prep, tor) == ["summary.setup_cost"]
    # no single assumption changes the sign: no default is decisive
    assert summary.decisive_defaults(prep, tor.assign(npv_at_low=[-3.9e6, -3.5e6, -3.0e6])) == []
    assert summary.decisive_defaults(prep, tor.iloc[:0]) == []


def test_no_fitted_visit_model_is_not_enough_data():
    from types import SimpleNamespace

    study = {"summary.min_complete_months": 6}
    fitted = SimpleNamespace(study=study, baseline=SimpleNamespace(n_months=12), profile=object(),
                             retention=SimpleNamespace(effect=pd.DataFrame({"x": [1.0]})))
    assert summary._enough_data(fitted)
    assert not summary._enough_data(SimpleNamespace(**{**vars(fitted), "retention": None}))
    # the retention analysis ran but gave no gain curve (the 14-client study): not an answer either
    assert not summary._enough_data(SimpleNamespace(**{**vars(fitted), "retention": SimpleNamespace(effect=None)}))


def test_the_setup_source_says_set_for_a_command_line_value(small_salon, tmp_path):
    from types import SimpleNamespace

    over = {"staffing": {"current_setup": "administrators"}}
    study = load_study(small_salon, over)
    prep = SimpleNamespace(study=study, today=staffing.today_setup(study))
    assert summary.setup_source(prep) == "set"
    from analysis.pages import words
    assert "--set" in words.say("summary.setup.today.set", "en", setup="x")
    assert "study.yaml" not in words.say("summary.setup.today.set", "ru", setup="x")
    # the same value in study.yaml stays "study"
    import shutil
    copy = shutil.copytree(small_salon, tmp_path / "salon")
    cfg = yaml.safe_load((copy / "study.yaml").read_text(encoding="utf-8")) or {}
    cfg.setdefault("staffing", {})["current_setup"] = "administrators"
    (copy / "study.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    study = load_study(copy)
    assert summary.setup_source(SimpleNamespace(study=study, today=staffing.today_setup(study))) == "study"


def test_measured_pilot_words_follow_the_page(pilot_study):
    study, tables = pilot_study
    since = pd.Timestamp("2025-03-01")
    # the page does not conclude: no chance is quoted "with the measured effect"
    page = _pilot_page(since=since, blocks=["hair"], measured=True, effect_quantiles=lambda: (-0.93, -0.01, 0.99),
                       conclusion="disagree")
    a = summary.pilot_advice(study, "confirm_inputs", [], {}, page, tables, prob_positive=0.0, measured_used=False)
    assert not a.used and a.extend == "keep_measuring"
    for lang in ("en", "ru"):
        text = summary.pilot_advice_text(a, study, lang, 0.0)[0]
        assert "0%" not in text.replace(" ", "") and "0 %" not in text
    # a negative effect is a rise, never "a cut by -62%"
    neg = _pilot_page(since=since, blocks=None, measured=True, effect_quantiles=lambda: (-0.89, -0.51, -0.18),
                      conclusion="loss")
    a = summary.pilot_advice(study, "do_not_create", [], {}, neg, tables, prob_positive=0.0)
    assert a.others == [] and a.extend == "do_not_extend"
    en = summary.pilot_advice_text(a, study, "en", 0.0)[0]
    assert "rise of the dropout probability by 51%" in en and "cut of the dropout probability by" not in en
    # every block already has the role: no advice to extend to "other blocks"
    assert "other blocks" not in en and "extend" not in en.lower()
    ru = summary.pilot_advice_text(a, study, "ru", 0.0)[0]
    assert "рост" in ru and "Не распространяйте" not in ru


def test_running_pilot_with_unknown_months_says_so_in_words(pilot_study):
    study, tables = pilot_study
    page = _pilot_page(since=pd.Timestamp("2024-06-01"), blocks=["hair"], more_months=None)
    a = summary.pilot_advice(study, "pilot", [], {}, page, tables)
    assert a.kind == "running" and a.months is None
    for lang in ("en", "ru"):
        text = summary.pilot_advice_text(a, study, lang)[0]
        assert "–" not in text and "36" in text


def test_a_design_out_of_reach_is_not_called_uncomputed(pilot_study):
    study, tables = pilot_study
    fig = {"design": "half", "detectable_effect": None, "months_needed": None}
    a = summary.pilot_advice(study, "pilot", ["hinges_on_retention"], fig, _pilot_page(), tables)
    assert a.kind == "plan_out_of_reach" and a.blocks == ["hair", "nails"]
    for lang in ("en", "ru"):
        text = summary.pilot_advice_text(a, study, lang)[0]
        assert text != words_say("summary.pilot.plan_unavailable", lang) and "36" in text
    # no design at all is still "could not be computed"
    assert summary.pilot_advice(study, "pilot", [], {}, None, tables).kind == "plan_unavailable"


def words_say(key, lang):
    from analysis.pages import words
    return words.say(key, lang)


def test_check_limits_say_whether_they_are_a_minimum_or_a_maximum():
    """The checks table's limit column: clients per care manager is a minimum, money checks a maximum."""
    from analysis.inputs.study import load_study
    from pathlib import Path

    study = load_study(Path(__file__).resolve().parents[1] / "data" / "sample")
    clients = summary.Check("managers_vs_clients", True, 315.0, 100.0)
    money = summary.Check("role_cost_vs_profit", True, 253376.0, 991380.0)
    assert summary.check_value_text(clients, study, "en") == ("315", "at least 100")
    assert summary.check_value_text(money, study, "en")[1].startswith("at most ") and "991,380" in \
        summary.check_value_text(money, study, "en")[1]
    assert summary.check_value_text(clients, study, "ru")[1] == "не меньше 100"


def test_npv_part_label_follows_todays_setup():
    """With administrators today the staff part is their work taken over, not managers no longer needed."""
    assert summary.part_labels("administrators")["staff_saving"] == "summary.part.admin_saving"
    assert summary.part_labels("specialist_managers")["staff_saving"] == "summary.part.staff_saving"
    assert summary.part_labels(None) == summary.PARTS_LABELS


# ----------------------------------------------------------------------------- the whole decision's break-even


@pytest.fixture(scope="module")
def breakeven_salon(tmp_path_factory):
    """The bundled sample's generator, smaller: a salon whose whole decision breaks even inside (0, 1)
    when nothing is replaced today (setup ``none``)."""
    return sample.write_sample(tmp_path_factory.mktemp("be"), clients=600, months=18, seed=5)


def _breakeven(study_dir, effect):
    study = load_study(study_dir, {"staffing": {"current_setup": "none"}, "simulation": {"n_draws": 300},
                                   "retention": {"care_manager_effect": effect}})
    tables = data.load_tables(study)
    prep = summary.prepare(study, tables)
    d = simulate.draws(prep.study)
    return prep, d, summary.decision_breakeven_effect(prep, d)


def test_decision_breakeven_does_not_move_with_the_assumed_effect(breakeven_salon):
    # finding 6 (trial 1): 42 / 52 / 57 % for an assumed effect of 0 / 0.15 / 0.30 on one salon.  The
    # break-even fixes the effect in every scenario, so what was assumed for it must not matter.
    got = {}
    for effect in (0.0, 0.15, 0.3, {"low": 0.05, "mode": 0.1, "high": 0.6}):
        prep, d, be = _breakeven(breakeven_salon, effect)
        got[str(effect)] = be
        assert 0 < be < 1, be
        # at the break-even effect the median NPV of the whole decision is zero
        npv = summary.evaluate(prep, d.fixed(summary.EFFECT_KEY, be)).median_npv()
        scale = abs(summary.evaluate(prep, d.fixed(summary.EFFECT_KEY, 0.0)).median_npv())
        assert abs(npv) <= 1e-3 * scale
    values = list(got.values())
    assert max(values) - min(values) <= 1e-3, got


def test_blocks_at_a_loss_are_said_to_lose_money_not_given_a_zero_limit(tmp_path):
    # finding 20 (trial 1): "The role costs 60,204 ₽ a month, more than 0 ₽ (50% of the covered blocks'
    # profit before it)" while the blocks lose 620,664 ₽ a month
    study = load_study(ROOT / "data" / "sample", {"simulation": {"n_draws": 100}})
    check = summary.role_cost_check(60_204.0, -620_664.0, study)
    assert not check.passed and check.loss == pytest.approx(620_664.0)
    for lang in ("en", "ru"):
        value, limit = summary.check_value_text(check, study, lang)
        assert "620" in limit and "0 ₽" not in limit.replace("620 664 ₽", "").replace("620,664 ₽", "")
    # the verdict's next step names the loss (its own key); a profitable salon keeps the limit's words
    prep = summary.Prepared(study, None)
    prep.baseline = type("B", (), {"profit_month": -620_664.0, "revenue_month": 71_436.0, "n_months": 12})()
    prep.today = staffing.TodaySetup("none", "study", stated="none")
    cost = np.full(10, 60_204.0)
    result = decision.npv(decision.monthly_flows(np.zeros(10), cost, 0, 0, 0, 12, 0), 0.1)
    ev = summary.Evaluation(result, {"role_cost_month": cost, "staff_saving_month": np.zeros(10),
                                     "care_managers_needed": np.ones(10)}, "none")
    tor = pd.DataFrame(columns=["key", "low", "high", "npv_at_low", "npv_at_high", "swing", "base"])
    v = summary.verdict(prep, ev, tor, simulate.draws(study, n=10))
    assert v.checks_failed == ["role_cost_vs_profit"]
    step = next(s for s in v.next_steps if "role_cost" in s.code)
    assert step.code == "verdict.next.check.role_cost_vs_profit_loss"
    for lang in ("en", "ru"):
        text = summary.next_step_text(step, study, lang)
        assert "620" in text and "60" in text and "{" not in text
    ok = summary.role_cost_check(60_204.0, 400_000.0, study)
    assert ok.loss is None and ok.passed


def test_summary_page_shows_the_setup_conflict_and_the_money_scale_with_its_basis(tmp_path):
    # the summary dropped pnl.money_scale_note (and said "the salon's own specialists' pay" for a scale
    # taken from the visit amount, finding 18) and showed the staff.csv conflict on the staffing page only
    study = load_study(tmp_path, {"currency": "USD", "staffing": {"current_setup": "administrators"}})
    visits = pd.DataFrame({"client_id": ["a", "b", "a"], "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-02-01"]),
                           "amount": [30.0, 36.0, 33.0]})
    staff = pd.DataFrame({"specialist_id": ["m1", "m2"], "role": ["block manager", "block manager"],
                          "monthly_fixed_pay": [900.0, 950.0]})
    prep = summary.Prepared(pnl.localise(study, Tables(visits=visits)), None)
    prep.today = staffing.today_setup(prep.study, Tables(visits=visits, staff=staff))
    assert prep.today.conflict
    for lang in ("en", "ru"):
        notes = summary.page_notes(prep, lang)
        assert len(notes) == 2 and not any("{" in n for n in notes)
        conflict, scale = notes
        from analysis.pages import i18n
        from analysis.pages.words import say

        assert say("summary.setup.specialist_managers", lang) in conflict
        assert say("summary.setup.administrators", lang) in conflict
        # the basis said is the visit amount's (these data have no specialists' pay)
        assert scale == say("pnl.money_scale.visit_amount", lang, defaults_currency="RUB", currency="USD",
                            scale=i18n.number(prep.study.money_scale, lang, 3))
    # the same currency: nothing scaled, no note; no conflict: no note
    rub = summary.Prepared(pnl.localise(load_study(tmp_path), Tables(visits=visits)), None)
    rub.today = staffing.today_setup(rub.study, Tables(visits=visits))
    assert summary.page_notes(rub) == []


def _money_only(study, pay, cost=None):
    """A Prepared and an Evaluation with nothing but one care manager's pay (and the role cost)."""
    prep = summary.Prepared(study, None)
    prep.today = staffing.TodaySetup("none", "study", stated="none")
    n = 10
    cost = np.full(n, pay * 1.3 if cost is None else cost)
    result = decision.npv(decision.monthly_flows(np.zeros(n), cost, 0, 0, 0, 12, 0), 0.1)
    return prep, summary.Evaluation(result, {"role_cost_month": cost, "staff_saving_month": np.zeros(n),
                                             "care_managers_needed": np.ones(n), "pay_month": np.full(n, pay)}, "none")


def test_converted_pay_below_the_minimum_wage_blocks_create_and_asks_for_the_pay(tmp_path):
    # finding 18 (trial 1): a bare USD export got a care manager at $640 a month (the rouble defaults times
    # the visit amount's factor), below the US federal minimum wage ($7.25 x 40 h x 52 / 12 = $1,256.67)
    usd = load_study(tmp_path, {"currency": "USD", "simulation": {"n_draws": 100}})
    assert summary.minimum_wage_month(usd) == pytest.approx(7.25 * 40 * 52 / 12, abs=0.01)
    prep, ev = _money_only(usd, 640.0)
    checks = {c.code: c for c in summary.sanity_checks(prep, ev)}
    c = checks["pay_vs_minimum_wage"]
    assert not c.passed and c.value == 640.0 and c.limit == pytest.approx(1256.67)
    tor = pd.DataFrame(columns=["key", "low", "high", "npv_at_low", "npv_at_high", "swing", "base"])
    v = summary.verdict(prep, ev, tor, simulate.draws(usd, n=10))
    assert v.level != "create" and "pay_vs_minimum_wage" in v.checks_failed
    step = next(s for s in v.next_steps if s.code.endswith("pay_vs_minimum_wage"))
    for lang in ("en", "ru"):
        text = summary.next_step_text(step, usd, lang)
        assert "compensation.schemes" in text and "{" not in text and "1" in text
        assert summary.check_value_text(c, usd, lang)[1] == words.say(
            "verdict.check.limit.at_least", lang, limit=i18n.money(c.limit, "USD", lang))
    # a plausible pay passes; a stated pay scheme is the owner's (no check); EUR has no single minimum
    assert summary.sanity_checks(*_money_only(usd, 3000.0))[0].passed
    stated = load_study(tmp_path, {"currency": "USD", "compensation": {"schemes": [
        {"name": "fixed", "components": [{"type": "fixed", "amount": 640}]}]}})
    assert "pay_vs_minimum_wage" not in {c.code for c in summary.sanity_checks(*_money_only(stated, 640.0))}
    eur = load_study(tmp_path, {"currency": "EUR"})
    assert summary.minimum_wage_month(eur) is None
    assert "pay_vs_minimum_wage" not in {c.code for c in summary.sanity_checks(*_money_only(eur, 640.0))}
    # the RUB minimum (МРОТ 2026) against the kit's own rouble default scheme: it passes
    rub = load_study(tmp_path)
    assert summary.minimum_wage_month(rub) == 27093
    assert summary.sanity_checks(*_money_only(rub, 115_000.0))[0].passed
    from analysis.pages import references

    assert {"minimum_wage_ru", "minimum_wage_us"} <= set(references.ids())


def test_retention_profiles_are_the_gain_profile_at_every_effect_of_the_grid():
    from analysis.sections import retention

    study = load_study(ROOT / "data" / "sample", {"simulation": {"n_draws": 100}})
    a = retention.analyse(study, data.load_tables(study))
    H = study.horizon_months
    grid, profiles = summary.retention_profiles(a, H)
    assert profiles.shape == (len(summary.PROFILE_GRID), H)
    for e, w in zip(grid, profiles):
        cum = retention.gain_profile(a, H, e)
        np.testing.assert_allclose(w, np.diff(np.r_[0.0, cum]) / cum[-1], rtol=1e-9, atol=1e-12)
    # a larger cut keeps more clients, who build up for longer: later months carry more of the gain
    assert (np.diff(profiles[:, -1]) > 0).all()


def test_the_summary_costs_the_role_once_per_evaluation_not_again_in_its_retention_stage(small_salon, monkeypatch):
    # the retention section's own role-cost field (its page's break-even) was recomputed for every
    # evaluation, break-even step and tornado bar of the summary although the NPV never reads it
    study = load_study(small_salon, {"staffing": {"current_setup": "none"}})
    prep = summary.prepare(study, data.load_tables(study))
    d = simulate.draws(prep.study)
    before = summary.evaluate(prep, d)
    calls = []
    real = summary.role_cost
    monkeypatch.setattr(summary, "role_cost", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = summary.evaluate(prep, d)
    summary.decision_breakeven_effect(prep, d)
    assert calls == []
    np.testing.assert_array_equal(again.npv, before.npv)
    # the retention page still prices its break-even with the one role cost
    from analysis.sections import retention

    rs = retention.scenarios(prep.study, prep.tables, d, analysis=prep.retention)
    assert np.isfinite(rs.role_cost_year).all() and calls


def test_the_summary_builds_the_covered_retention_and_its_notes_where_the_retention_page_does(small_salon,
                                                                                                  monkeypatch):
    from analysis.sections import retention

    got = []
    real = retention.covered_analysis
    monkeypatch.setattr(retention, "covered_analysis", lambda *a, **k: got.append(real(*a, **k)) or got[-1])
    study = load_study(small_salon, {"care_manager": {"covers": ["hair"]}, "staffing": {"current_setup": "none"}})
    prep = summary.prepare(study, data.load_tables(study))
    assert len(got) == 1 and got[0].narrowed
    assert prep.retention is got[0].analysis
    assert [n for n in prep.notes if n in got[0].notes] == got[0].notes


def test_evaluations_on_the_same_draws_reuse_the_parts_and_give_the_full_recomputation(small_salon):
    study = load_study(small_salon, {"staffing": {"current_setup": "none"}})
    prep = summary.prepare(study, data.load_tables(study))
    d = simulate.draws(prep.study)
    schemes = [s["name"] for s in prep.study["compensation.schemes"]]
    other = next(s for s in schemes if s != prep.study["care_manager.scheme"])
    cases = [dict(), dict(setup="specialist_managers"), dict(setup="administrators"), dict(scheme_name=other),
             dict(model_uncertainty=False), dict(setup="administrators", scheme_name=other, model_uncertainty=False)]
    for kw in cases:
        fresh = summary._evaluation(prep, summary._stages(prep, d, **kw))
        np.testing.assert_array_equal(summary.evaluate(prep, d, **kw).npv, fresh.npv, err_msg=str(kw))
    for key, value in ((summary.EFFECT_KEY, 0.05), ("summary.ramp_months", 12.0),
                       ("staffing.payroll_tax_rate", 0.2)):
        fresh = summary._evaluation(prep, summary._stages(prep, d.fixed(key, value)))
        np.testing.assert_allclose(summary.evaluate_fixed(prep, d, key, value).npv, fresh.npv, rtol=1e-12)


def test_the_retention_pages_refits_give_the_summary_the_curves_it_would_compute(small_salon):
    from analysis.sections import retention

    study = load_study(small_salon, {"staffing": {"current_setup": "none"}})
    tables = data.load_tables(study)
    a = retention.analyse(study, tables)
    page = retention.model_bootstrap(a, study.horizon_months, int(study["simulation.model_refits"]),
                                     simulate.key_rng(int(study["simulation.seed"]), "rng:model_refits"))
    real, calls = retention.model_bootstrap, []
    import pytest as _pytest

    with _pytest.MonkeyPatch.context() as mp:
        mp.setattr(retention, "model_bootstrap", lambda *x, **k: calls.append(1) or real(*x, **k))
        reused = summary.prepare(study, tables, retention_analysis=a, bootstrap=page)
        assert calls == []                     # read from the page's refits, not computed again
        own = summary.prepare(study, tables, retention_analysis=a)
        assert calls == [1]
    np.testing.assert_array_equal(reused.effect_grid, own.effect_grid)
    if a.effect is None:   # no fitted gain curve: the gain is counted as zero, refits or not
        assert reused.model_curves is None and own.model_curves is None
        return
    np.testing.assert_allclose(reused.model_curves, own.model_curves, rtol=1e-9)
    d = simulate.draws(own.study)
    np.testing.assert_allclose(summary.evaluate(reused, d).npv, summary.evaluate(own, d).npv, rtol=1e-9)
    # refits on another grid (or of other clients) are not used
    other = retention.model_bootstrap(a, study.horizon_months, 2, simulate.key_rng(1, "x"), np.linspace(0, 1, 7))
    np.testing.assert_allclose(summary.prepare(study, tables, retention_analysis=a, bootstrap=other).model_curves,
                               own.model_curves, rtol=1e-9)
