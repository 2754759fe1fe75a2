"""Verdict fixes of session 3, each against the finding it answers (see CHANGELOG.md):

* F3: today's setup unknown -> no saving, no replacement claimed on the summary, index or portfolio;
* F5: members kept longer are priced by their fees (sBG), or the verdict says it cannot price them;
* F2: every assumption row shows a value in words (the money scale with its basis, never "not set");
* small salons whose blocks lose money hear "do not create" on every page, even when a sanity check
  fails (a failed check no longer holds back "do not create");
* the staffing page's wording for a salon with no block managers today.
"""
from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.inputs import data, sample
from analysis.inputs.data import Tables
from analysis.inputs.study import load_study
from analysis.models import simulate
from analysis.models.sbg import SBGResult
from analysis.pages import html as pages_html
from analysis.pages import i18n
from analysis.pages.labels import setting_text
from analysis.pages.words import say
from analysis.sections import decision, pnl, staffing, summary

from conftest import ROOT, SAMPLE_DRAWS

EMPTY_TOR = pd.DataFrame(columns=["key", "low", "high", "npv_at_low", "npv_at_high", "swing", "base"])


def _text(path) -> str:
    """A page's visible words: tags, scripts, styles and SVG dropped, entities and spaces normalised."""
    s = path.read_text(encoding="utf-8")
    s = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", s, flags=re.S)
    s = re.sub(r"<svg.*?</svg>", " ", s, flags=re.S)
    s = re.sub(r"<[^>]+>", " ", s)
    return re.sub(r"\s+", " ", html.unescape(s)).replace("*", "")


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("*", "")).strip()


# ----------------------------------------------------------------------------- a failed check and "do not create"


def test_a_failed_check_does_not_hold_back_do_not_create():
    kw = dict(enough_data=True, setup_known=True, decisive_defaults=False, checks_failed=True,
              hinges_on_retention=False)
    # before: any failed check gave "confirm_inputs", also for a role that pays off in 10% of scenarios
    assert decision.verdict_level(**kw, prob_positive=0.1) == "do_not_create"
    # it still holds back the positive answers
    assert decision.verdict_level(**kw, prob_positive=0.95) == "confirm_inputs"
    assert decision.verdict_level(**kw, prob_positive=0.5) == "confirm_inputs"
    # an unknown setup or a decisive default still comes first (the answer could flip)
    assert decision.verdict_level(**{**kw, "setup_known": False}, prob_positive=0.1) == "confirm_inputs"
    assert decision.verdict_level(**{**kw, "decisive_defaults": True}, prob_positive=0.1) == "confirm_inputs"
    assert decision.verdict_level(**{**kw, "enough_data": False}, prob_positive=0.1) == "not_enough_data"


def test_blocks_at_a_loss_hear_do_not_create_with_the_failed_check_beside_it(monkeypatch):
    study = load_study(ROOT / "data" / "sample", {"simulation": {"n_draws": 100}})
    prep = summary.Prepared(study, None)
    prep.baseline = SimpleNamespace(profit_month=-52_049.0, revenue_month=238_671.0, n_months=18)
    prep.profile = SimpleNamespace(clients_month=500.0)
    prep.retention = SimpleNamespace(effect=object(), bgnbd=None)
    prep.today = staffing.TodaySetup("none", "study", stated="none")
    n = 50
    cost = np.full(n, 61_749.0)
    result = decision.npv(decision.monthly_flows(np.zeros(n), cost, 10_000.0, 0, 0, 36, 0), 0.15)
    ev = summary.Evaluation(result, {"role_cost_month": cost, "staff_saving_month": np.zeros(n),
                                     "care_managers_needed": np.ones(n), "pay_month": np.full(n, 60_000.0)}, "none")
    monkeypatch.setattr(summary, "evaluate_fixed", lambda *a, **k: ev)   # the low end of the effect: the same loss
    v = summary.verdict(prep, ev, EMPTY_TOR, simulate.draws(study, n=n))
    assert result.prob_positive == 0.0
    assert v.checks_failed == ["role_cost_vs_profit"]
    assert v.level == "do_not_create" and "check_failed" in v.reasons
    # the failed check is still named among the next steps, with the loss
    assert any(s.code == "verdict.next.check.role_cost_vs_profit_loss" for s in v.next_steps)
    for lang in ("en", "ru"):
        assert "{" not in say("verdict.text.do_not_create_checks", lang)


# ----------------------------------------------------------------------------- F5: memberships priced by their fees


def _members(tenures, churned_extra=0, start="2023-01-01", end="2024-06-30", fee=4500.0):
    """Memberships: one active member per tenure (whole months to ``end``) and ``churned_extra``
    members who left after one month; visits spanning the same dates (for the complete months)."""
    end_ts = pd.Timestamp(end)
    rows = []
    for i, t in enumerate(tenures):
        rows.append({"client_id": f"A{i}", "start": end_ts - pd.DateOffset(months=int(t)) - pd.Timedelta(days=1),
                     "end": pd.NaT, "plan": "m", "price_per_period": fee, "period": "month"})
    for i in range(churned_extra):
        s = pd.Timestamp(start) + pd.DateOffset(days=10 * i)
        rows.append({"client_id": f"C{i}", "start": s, "end": s + pd.DateOffset(months=1), "plan": "m",
                     "price_per_period": fee, "period": "month"})
    mem = pd.DataFrame(rows)
    visits = pd.DataFrame({"client_id": ["A0", "A0"], "date": pd.to_datetime([start, end]), "amount": [0.0, 0.0],
                           "block": ["fitness", "fitness"]})
    return Tables(visits=visits, memberships=mem)


def test_membership_gain_known_answer_one_cancellation_probability(tmp_path):
    # the collapsed sBG: every member cancels with probability theta at each renewal; closed form
    theta, fee, H = 0.1, 4500.0, 24
    tables = _members([3, 3, 10, 12])
    from analysis.sections.retention import membership_lifetimes

    life = membership_lifetimes(tables.memberships, "2024-06-30")
    sbg = SBGResult(params={"theta": theta}, se={}, loglik=0.0, n=len(life), n_churned=0, variant="same_churn")
    study = load_study(tmp_path)
    g = summary.membership_gain(SimpleNamespace(sbg=sbg, memberships=life), tables, study, H,
                                grid=np.array([0.0, 0.2, 0.5]))
    assert g is not None and g.active == 4 and g.fee_period == fee and g.covered_share == 1.0
    # joins: 4 spells from the first start to the last start
    starts = pd.to_datetime(life["start"])
    joins = 4 / ((starts.max() - starts.min()).days / 365.25)
    assert g.joins_year == pytest.approx(joins)
    per_month = joins / 12.0 * (365.25 / 12) / (365.25 / 12)   # joins a (monthly) period
    for e, got in zip(g.grid, g.gain_year):
        def paid(c):
            stay = 1.0 - theta * c
            today = 4 * sum(stay ** t for t in range(1, H + 1))
            new = sum(per_month * sum(stay ** t for t in range(H - j)) for j in range(H))
            return fee * (today + new)
        want = (paid(1.0 - e) - paid(1.0)) * 12.0 / H
        assert got == pytest.approx(want, rel=1e-9)
    assert g.gain_year[0] == 0.0 and np.all(np.diff(g.gain_year) > 0)
    assert np.allclose(g.profile[1:].sum(axis=1), 1.0)


def test_membership_gain_against_a_simulation_of_members(tmp_path):
    # the sBG with Beta(alpha, beta): each active member's cancellation probability from her posterior
    alpha, beta, fee, H, e = 1.0, 9.0, 4500.0, 12, 0.3
    tenures = [1, 2, 5, 5, 8, 14]
    tables = _members(tenures)
    from analysis.sections.retention import membership_lifetimes

    life = membership_lifetimes(tables.memberships, "2024-06-30")
    sbg = SBGResult(params={"alpha": alpha, "beta": beta}, se={}, loglik=0.0, n=len(life), n_churned=0)
    g = summary.membership_gain(SimpleNamespace(sbg=sbg, memberships=life), tables, load_study(tmp_path), H,
                                grid=np.array([0.0, e]))
    rng = np.random.default_rng(7)
    n_sim = 200_000
    joins_per_month = g.joins_year / 12.0

    def simulate_paid(cut):
        total = 0.0
        for t0 in life.loc[~life["churned"], "periods"]:
            th = rng.beta(alpha, beta + t0, n_sim) * (1.0 - cut)
            life_periods = rng.geometric(th)        # renewals until a cancellation: periods still paid >= 1
            total += np.minimum(life_periods - 1, H).mean()   # fees at t = 1..H while still in
        th = rng.beta(alpha, beta, n_sim) * (1.0 - cut)
        first = rng.geometric(th)
        for j in range(H):                          # joined in month j + 1: fees at its months left
            total += joins_per_month * np.minimum(first, H - j).mean()
        return fee * total

    want = (simulate_paid(e) - simulate_paid(0.0)) * 12.0 / H
    assert g.gain_year[1] == pytest.approx(want, rel=0.03)


@pytest.fixture(scope="module")
def members_club(tmp_path_factory):
    """A memberships-only club (fitness visits paid by the fee) with the role covering fitness."""
    d = sample.write_sample(tmp_path_factory.mktemp("club"), clients=600, months=14, seed=5,
                            hard=["memberships_only"])
    cfg = yaml.safe_load((d / "study.yaml").read_text(encoding="utf-8"))
    cfg.update({"care_manager": {"covers": ["fitness"]}, "staffing": {"current_setup": "none"},
                "simulation": {"n_draws": 400}})
    (d / "study.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return d


def test_members_kept_longer_are_worth_their_fees(members_club):
    # finding F5: retention and departures were worth 0 in a memberships-only club (priced by visit spend)
    study = load_study(members_club)
    tables = data.load_tables(study)
    prep = summary.prepare(study, tables)
    assert summary.membership_pricing(prep) == "priced" and prep.fee_share_of_revenue > 0.5
    d = simulate.draws(prep.study)
    ev = summary.evaluate(prep, d)
    with_fees = float(np.mean(ev.result.parts["retention"]))
    import dataclasses

    visits_only = dataclasses.replace(prep, membership=None)   # the visits' margin alone (the old count)
    without = float(np.mean(summary.evaluate(visits_only, d).result.parts["retention"]))
    # the fees make up nearly all of it: the visits of members are paid by the fee (amount 0)
    assert with_fees > 0 and with_fees > 5 * max(without, 1.0)
    # per scenario: the retention gain a year is the visits' plus the fees' at that scenario's effect
    fee, _ = prep.membership.at(np.clip(np.asarray(d[summary.EFFECT_KEY], float), 0, 1))
    assert np.all(ev.monthly["retention_margin_year"] >= fee - 1e-6)


def test_fees_that_cannot_be_priced_are_said_never_zero(members_club, monkeypatch):
    study = load_study(members_club)
    tables = data.load_tables(study)
    monkeypatch.setattr(summary, "membership_gain", lambda *a, **k: None)   # e.g. no sBG fit
    prep = summary.prepare(study, tables)
    assert summary.membership_pricing(prep) == "not_priced"
    assert any(n.code == "summary.note.memberships_not_priced" for n in prep.notes)
    d = simulate.draws(prep.study, n=200)
    ev = summary.evaluate(prep, d)
    v = summary.verdict(prep, ev, EMPTY_TOR, d)
    assert v.level == "not_enough_data" and "memberships_not_priced" in v.reasons
    assert v.next_steps[0].code == "verdict.next.memberships_not_priced"
    for lang in ("en", "ru"):
        notes = summary.page_notes(prep, lang)
        share = i18n.percent(prep.fee_share_of_revenue, lang)
        assert any(share in n for n in notes) and not any("{" in n for n in notes)
        assert share in summary.next_step_text(v.next_steps[0], prep.study, lang)


# ----------------------------------------------------------------------------- F2: assumption values in words


def test_money_scale_row_shows_the_factor_and_its_basis(tmp_path):
    # finding F2: an EUR study's assumption table showed economics.money_scale as "not set"
    study = load_study(ROOT / "data" / "sample", {"currency": "EUR"})
    tables = data.load_tables(study)
    loc = pnl.localise(study, tables)
    assert loc.money_scale_source == "specialist_pay"
    for lang in ("en", "ru"):
        text = setting_text("economics.money_scale", loc.get("economics.money_scale"), lang, "EUR", None, loc)
        assert text == say("page.value.money_scale.specialist_pay", lang, scale=i18n.number(loc.money_scale, lang, 3))
        assert text != say("page.value.unset", lang)
        # not yet localised (a section page): where it comes from, not "not set"
        raw = setting_text("economics.money_scale", None, lang, "EUR", None, study)
        assert raw == say("page.value.money_scale.derived", lang)
        rub = load_study(tmp_path)
        assert setting_text("economics.money_scale", None, lang, "RUB", None, rub) == say(
            "page.value.money_scale.same_currency", lang)
    # a currency with nothing to convert by: said so
    bare = load_study(tmp_path, {"currency": "USD"})
    loc = pnl.localise(bare, Tables(visits=pd.DataFrame({"client_id": ["a"], "date": pd.to_datetime(["2024-01-01"]),
                                                         "amount": [0.0]})))
    assert loc.money_scale_source == "unknown"
    assert setting_text("economics.money_scale", None, "en", "USD", None, loc) == say("page.value.money_scale.unknown", "en")


def test_no_assumption_row_of_the_kit_reads_not_set(tmp_path):
    from analysis.inputs.study import schema_leaf

    eur = load_study(ROOT / "data" / "sample", {"currency": "EUR"})
    study = pnl.localise(eur, data.load_tables(eur))

    for lang in ("en", "ru"):
        rows = study.assumptions(None, lang)
        empty = [k for k in rows["key"] if study.get(k) is None]
        assert empty, "the sample leaves some settings empty"
        for k in empty:
            assert setting_text(k, None, lang, "EUR", schema_leaf(k), study) != say("page.value.unset", lang), k


# ----------------------------------------------------------------------------- F3: unknown setup, pages


def test_unknown_setup_words_and_labels():
    unknown = staffing.TodaySetup(None, None)
    assert summary.replaced_key(unknown) == "summary.role_cost.replaced.unknown"
    assert summary.replaced_key(staffing.TodaySetup("none", "study", stated="none")) == "summary.role_cost.replaced.none"
    assert summary.part_labels("unknown")["staff_saving"] == "summary.part.nothing_replaced_unknown"
    assert summary.part_labels("none")["staff_saving"] == "summary.part.nothing_replaced_none"
    for lang in ("en", "ru"):
        for setup in (*staffing.SETUPS, "unknown"):
            text = say(f"summary.role_cost.replaced.{setup}", lang, saving="1 ₽")
            assert "{" not in text
        # the unknown setup names no amount and no replaced managers
        assert "{saving}" not in say("summary.role_cost.replaced.unknown", lang, saving="X").replace("X", "")
        assert "X" not in say("summary.role_cost.replaced.unknown", lang, saving="X")


def test_index_and_portfolio_show_no_saving_without_todays_setup(tmp_path):
    study = load_study(ROOT / "data" / "sample")
    figs = {"summary": {"verdict": "confirm_inputs", "current_setup": None},
            "staffing": {"saving_month_median": -253_376.0, "care_managers_needed": 2.0, "cost_specialists_month": 0.0}}
    pages = [("02_staffing.html", "staffing", "Staffing"), ("05_summary.html", "summary", "Summary")]
    for lang in ("en", "ru"):
        page = _text(pages_html.write_study_index(tmp_path, study, lang, pages, figs))
        assert _plain(say("page.value.setup_unstated", lang)) in page
        assert _plain(i18n.money(-253_376.0, "RUB", lang)) not in page
    # a known setup keeps the figure
    known = {**figs, "summary": {"verdict": "create", "current_setup": "specialist_managers"}}
    page = _text(pages_html.write_study_index(tmp_path, study, "en", pages, known))
    assert _plain(i18n.money(-253_376.0, "RUB", "en")) in page
    # the portfolio: no number, and the unknown study is left out of the totals
    runs = [SimpleNamespace(code=0, name=n, title=n, out_dir=tmp_path / n, message="",
                            figures={**f, "_currency": "RUB"})
            for n, f in (("a", figs), ("b", {**known, "staffing": {**known["staffing"], "saving_month_median": 1000.0}}))]
    totals = pages_html.portfolio_totals(runs, [("staffing", "saving_month_median", "money")], "en")
    assert totals[0]["cells"] == [i18n.money(1000.0, "RUB", "en")]
    port = _text(pages_html.write_portfolio(tmp_path / "p", runs, "en"))
    assert say("page.value.setup_unstated", "en") in port


def test_sample_pages_claim_no_replacement_when_the_setup_is_unknown(sample_batch):
    # finding F3: "replace client managers costing 0 ₽" and a staff saving of −253,376 ₽ on the index
    _, out = sample_batch
    folder = out / "sample"
    res = json.loads((folder / "results.json").read_text(encoding="utf-8"))["figures"]
    assert res["summary"]["current_setup"] is None
    summ = _text(folder / "05_summary.html")
    assert _plain(say("summary.role_cost.replaced.unknown", "en")) in summ
    assert "Together they replace client managers" not in summ
    assert say("summary.figure.staffing.cost_specialists_month", "en") not in summ
    assert _plain(say("summary.part.nothing_replaced_unknown", "en")) in summ
    index = _text(folder / "index.html")
    assert say("page.value.setup_unstated", "en") in index
    assert _plain(i18n.money(res["staffing"]["saving_month_median"], "RUB", "en")) not in index
    # every assumption row has a value in words: the money scale of a rouble study is 1, said so
    assert _plain(say("page.value.money_scale.same_currency", "en")) in summ


# ----------------------------------------------------------------------------- a small salon at a loss, every page


@pytest.fixture(scope="module")
def small_loss_run(tmp_path_factory):
    """A generated salon of 200 clients whose blocks lose money, no client managers today (stated),
    run through every notebook."""
    base = tmp_path_factory.mktemp("small_loss")
    d = sample.write_sample(base / "tiny", clients=200, months=18, seed=11)
    cfg = yaml.safe_load((d / "study.yaml").read_text(encoding="utf-8"))
    cfg["staffing"] = {"current_setup": "none"}
    (d / "study.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "analysis", "run", str(d), "--out", str(base / "reports"), "--lang", "en",
                        "--set", SAMPLE_DRAWS, "--quiet", "--jobs", "2"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    return base / "reports" / "tiny"


def test_small_salon_at_a_loss_hears_do_not_create_on_every_page(small_loss_run):
    folder = small_loss_run
    res = json.loads((folder / "results.json").read_text(encoding="utf-8"))["figures"]
    summ, comp = res["summary"], res["compensation"]
    assert comp["block_profit_month"] < 0 and comp["role_cost_check_passed"] == 0
    assert summ["verdict"] == "do_not_create" and "role_cost_vs_profit" in summ["checks_failed"]
    level = say("verdict.level.do_not_create", "en")
    assert level in _text(folder / "index.html")
    page = _text(folder / "05_summary.html")
    assert _plain(say("verdict.text.do_not_create", "en", prob="0%", loss="X")).split(" It pays")[0] in page
    assert _plain(say("verdict.text.do_not_create_checks", "en")) in page
    role_cost = summ["role_cost_month_median"]
    role = _text(folder / "06_role_profile.html")
    check = summary.role_cost_check(role_cost, comp["block_profit_month"], load_study(ROOT / "data" / "sample"))
    assert check.loss is not None
    assert "current margin cannot carry the role" in role and _plain(i18n.money(check.loss, "RUB", "en")) in role
    pay = _text(folder / "04_compensation.html")
    assert "margin cannot carry it" in pay


def test_staffing_page_words_for_a_salon_with_no_block_managers_today(small_loss_run, sample_batch):
    # the staffing page's options sentence: "would have … would cost" and today's setup named, never the
    # present tense of block managers the salon does not have
    page = _text(small_loss_run / "02_staffing.html")
    none_text = setting_text("staffing.current_setup", "none", "en", spec={"type": "choice"})
    assert "The headline figure" in page and f"compares the care managers with today's staff instead ({none_text})" in page
    assert "block managers would have" in page and "the block managers have" not in page
    assert _plain(say("staffing.growth.no_managers_today", "en")) in page
    assert "With no managers today the care managers are an extra monthly cost of" in page
    # unknown setup (the bundled sample): the same wording, naming why nothing is replaced
    _, out = sample_batch
    sample_page = _text(out / "sample" / "02_staffing.html")
    assert f"instead ({say('staffing.options.today_unset', 'en')})" in sample_page
    assert "the block managers have" not in sample_page
