"""Monthly block P&L from the data: hand-computed answers, fallbacks, coverage and variation."""
from __future__ import annotations

import tempfile

import numpy as np
import pandas as pd
import pytest

from analysis.sections import pnl
from analysis.inputs.data import Tables
from analysis.errors import InputError
from analysis.inputs.study import load_study

_DIR = tempfile.mkdtemp()


def study(**sections):
    return load_study(_DIR, sections)


def small_tables():
    """Two complete months (Feb, Mar 2024), two blocks, plus partial Jan and Apr days."""
    v = pd.DataFrame({
        "client_id": ["a", "b", "c", "a", "b", "c", "d", "e"],
        "date": pd.to_datetime(["2024-01-20", "2024-02-01", "2024-02-10", "2024-03-05",
                                "2024-03-15", "2024-03-31", "2024-02-20", "2024-04-02"]),
        "amount": [500.0, 1000.0, 2000.0, 3000.0, 0.0, 1000.0, 4000.0, 700.0],
        "block": ["hair", "hair", "nails", "hair", "hair", "nails", "spa", "hair"],
        "specialist_id": ["h1", "h1", "n1", "h2", "h1", "n1", "s1", "h1"],
        "consumables_cost": [50.0, 100.0, np.nan, 300.0, 0.0, 80.0, 400.0, 70.0],
        "status": ["done", "done", "done", "done", "cancelled", "done", "done", "done"],
    })
    staff = pd.DataFrame({
        "specialist_id": ["h1", "h2", "n1", "s1"],
        "block": ["hair", "hair", "nails", "spa"],
        "hired": pd.to_datetime(["2020-01-01", "2024-03-01", "2021-01-01", "2021-01-01"]),
        "left": pd.to_datetime([pd.NaT, pd.NaT, "2024-02-15", pd.NaT]),
        "monthly_fixed_pay": [10_000.0, 20_000.0, 5_000.0, 0.0],
        "commission_rate": [0.40, 0.50, np.nan, 0.30],
    })
    return Tables(visits=v, staff=staff)


def test_monthly_pnl_by_hand():
    s = study(economics={"consumables_share": 0.10, "commission_rate": 0.35})
    df = pnl.monthly_pnl(small_tables(), s).set_index(["month", "block"])
    # only complete months: Feb and Mar (Jan starts on the 20th, Apr ends on the 2nd)
    assert sorted({str(m) for m, _ in df.index}) == ["2024-02", "2024-03"]
    feb_hair = df.loc[(pd.Period("2024-02"), "hair")]
    assert feb_hair["revenue"] == 1000
    assert feb_hair["consumables"] == 100
    assert feb_hair["commission"] == pytest.approx(400)          # h1 at 40%
    assert feb_hair["fixed_pay"] == 10_000                        # h2 not hired until March
    feb_nails = df.loc[(pd.Period("2024-02"), "nails")]
    assert feb_nails["consumables"] == pytest.approx(200)        # missing cost -> 10% of 2,000
    assert feb_nails["commission"] == pytest.approx(700)          # n1 has no rate -> 35%
    assert feb_nails["fixed_pay"] == 5_000                        # n1 left on Feb 15: paid in Feb
    mar_hair = df.loc[(pd.Period("2024-03"), "hair")]
    assert mar_hair["revenue"] == 3000                            # the cancelled visit carries 0
    assert mar_hair["commission"] == pytest.approx(1500)          # h2 at 50%; cancelled pays nothing
    assert mar_hair["fixed_pay"] == 30_000
    assert mar_hair["profit"] == pytest.approx(3000 - 300 - 1500 - 30_000)
    mar_nails = df.loc[(pd.Period("2024-03"), "nails")]
    assert mar_nails["fixed_pay"] == 0                            # n1 gone
    assert df.loc[(pd.Period("2024-03"), "spa")]["revenue"] == 0  # a block with no visit that month


def test_covers_a_list_of_blocks():
    s = study(care_manager={"covers": ["hair", "spa", "fitness"]})
    blocks, missing = pnl.covered_blocks(small_tables(), s)
    assert blocks == ["hair", "spa"] and missing == ["fitness"]
    b = pnl.baseline(small_tables(), s)
    assert set(b.by_block["block"]) == {"hair", "spa"}
    # Feb: hair 1,000 + spa 4,000; Mar: hair 3,000 + spa 0
    assert b.revenue_month == pytest.approx((5000 + 3000) / 2)
    with pytest.raises(InputError, match="fitness"):
        pnl.baseline(small_tables(), study(care_manager={"covers": ["fitness"]}))


def test_bare_visits_use_the_defaults():
    t = small_tables()
    bare = Tables(visits=t.visits[["client_id", "date", "amount"]])
    s = study(economics={"consumables_share": 0.12, "commission_rate": 0.45})
    b = pnl.baseline(bare, s)
    assert b.blocks is None and list(b.by_block["block"]) == ["all"]
    assert b.consumables_share == pytest.approx(0.12)
    assert b.commission_share == pytest.approx(0.45)
    assert b.fixed_pay_month == 0
    assert b.revenue_month == pytest.approx((7000 + 4000) / 2)
    assert b.sources == {"consumables": "default", "commission": "default", "fixed_pay": "none",
                         "memberships": "none"}
    assert b.revenue_cv_month is None  # two months are too few


def test_membership_fees_by_hand():
    t = small_tables()
    members = pd.DataFrame({
        "client_id": ["d", "e", "a"],
        "start": pd.to_datetime(["2024-01-15", "2024-02-10", "2023-06-01"]),
        "end": pd.to_datetime(["2024-03-15", pd.NaT, pd.NaT]),
        "price_per_period": [3000.0, 4000.0, 12_000.0],
        "period": ["month", "month", "year"],
    })
    months = pd.period_range("2024-01", "2024-03", freq="M")
    fees, block = pnl.membership_fees(Tables(visits=t.visits, memberships=members), months)
    # d pays on Jan 15 and Feb 15 (not on Mar 15, the end); e from Feb; a's yearly fee as 1,000 a month
    np.testing.assert_allclose(fees["revenue"], [3000 + 1000, 3000 + 4000 + 1000, 4000 + 1000])
    assert block == "hair"  # members d, e, a: hair 3 visits (a: 2, e: 1), spa 1 (d)
    df = pnl.monthly_pnl(Tables(visits=t.visits, staff=t.staff, memberships=members), study())
    feb = df.set_index(["month", "block"]).loc[(pd.Period("2024-02"), "hair")]
    assert feb["revenue"] == 1000 + 8000 and feb["consumables"] == 100  # no materials on fees


def test_services_table_supplies_consumables():
    t = small_tables()
    v = t.visits.drop(columns="consumables_cost").assign(service=["cut"] * 8)
    services = pd.DataFrame({"service": ["cut"], "block": ["hair"], "price": [1000.0],
                             "consumables_cost": [25.0]})
    b = pnl.baseline(Tables(visits=v, services=services), study())
    assert b.sources["consumables"] == "services"
    # 25 per paid visit: Feb 3 visits, Mar 2 paid visits (one cancelled)
    assert b.consumables_month == pytest.approx((75 + 50) / 2)


def monthly_visits(level):
    """One visit on the 1st of each month with the month's revenue, and a closing zero visit."""
    starts = pd.date_range("2020-01-01", periods=len(level), freq="MS")
    v = pd.DataFrame({"client_id": "x", "date": starts, "amount": level})
    end = pd.DataFrame({"client_id": ["x"], "date": [starts[-1] + pd.offsets.MonthEnd(0)], "amount": [0.0]})
    return Tables(visits=pd.concat([v, end], ignore_index=True))


def test_variation_around_trend_is_recovered():
    rng = np.random.default_rng(3)
    months, cv = 60, 0.12
    sigma = np.sqrt(np.log1p(cv ** 2))
    level = 1e6 * np.exp(0.01 * np.arange(months) + sigma * rng.standard_normal(months))
    b = pnl.baseline(monthly_visits(level), study(), window_months=months)
    assert b.n_months == months and len(b.monthly) == months
    assert b.revenue_cv_month == pytest.approx(cv, rel=0.25)  # 58 residual degrees of freedom
    assert b.growth_month == pytest.approx(0.01, abs=0.004)
    assert b.revenue_mean_month == pytest.approx(level.mean())


def test_run_rate_of_a_growing_salon_is_its_last_level():
    level = 1e6 * 1.05 ** np.arange(18)  # exact 5% a month, no noise
    b = pnl.baseline(monthly_visits(level), study())
    assert b.n_months == 12
    assert b.revenue_month == pytest.approx(level[-1])
    assert b.revenue_cv_month == pytest.approx(0.0, abs=1e-9)
    assert b.growth_month == pytest.approx(0.05)
    assert b.revenue_mean_month == pytest.approx(level[-12:].mean())
    assert b.profit_month == pytest.approx(level[-1] * (1 - 0.10 - 0.40))  # economics defaults


def test_repeat_retention_from_the_data_by_hand():
    # A visits on the 1st of every month Jan..Oct; B only in Jan and Feb.  Repeat months whose
    # 90-day window fits in the data (ends Oct 1): Feb..Jun.  Feb: A back, B not; Mar..Jun: A back.
    dates = pd.date_range("2024-01-01", periods=10, freq="MS")
    v = pd.concat([pd.DataFrame({"client_id": "A", "date": dates, "amount": 1000.0}),
                   pd.DataFrame({"client_id": "B", "date": dates[:2], "amount": 1000.0})], ignore_index=True)
    b = pnl.baseline(Tables(visits=v), study())
    assert b.repeat_retention == pytest.approx(5 / 6)
    assert b.repeat_retention_sd_month is None  # five complete months are too few for a spread


def test_margin_agrees_with_kpi_visit_margin():
    from analysis.sections import kpi

    t = small_tables()
    v = t.visits.assign(service=["cut", "cut", "nail", "cut", "cut", "nail", "wrap", "cut"])
    v.loc[[1, 3], "consumables_cost"] = np.nan  # falls back to the service's cost, then the share
    services = pd.DataFrame({"service": ["cut", "nail"], "block": ["hair", "nails"], "price": [1.0, 1.0],
                             "consumables_cost": [33.0, np.nan]})
    tables = Tables(visits=v, services=services, staff=t.staff)
    s = study()
    df = pnl.monthly_pnl(tables, s)
    margin = kpi.visit_margin(tables, s)
    in_window = v["date"].dt.to_period("M").isin(df["month"])
    assert (df["revenue"] - df["consumables"] - df["commission"]).sum() == pytest.approx(margin[in_window].sum())


def test_money_scale_note_names_its_real_basis(tmp_path):
    """Bare USD visits (no staff, no specialists): the defaults are scaled by the mean visit
    amount, and the note says so, not "the salon's own specialists' pay"."""
    from analysis.inputs.data import Tables
    from analysis.inputs.study import load_study
    from analysis.pages import words
    from analysis.sections import pnl

    visits = pd.DataFrame({"client_id": ["a", "b", "a"], "date": pd.to_datetime(["2024-01-02", "2024-01-05", "2024-02-02"]),
                           "amount": [40.0, 60.0, 50.0]})
    study = load_study(tmp_path, {"currency": "USD"})
    local = pnl.localise(study, Tables(visits=visits))
    note = pnl.money_scale_note(local)
    assert note.code == "pnl.money_scale.visit_amount"
    assert note.fields["scale"] == pytest.approx(50.0 / study["economics.reference_visit_amount"])
    for lang in ("en", "ru"):
        text = words.say(note.code, lang, **{**note.fields, "scale": "0.011"})
        assert "USD" in text and "{" not in text
    assert pnl.money_scale_note(pnl.localise(load_study(tmp_path), Tables(visits=visits))) is None  # RUB: nothing scaled
