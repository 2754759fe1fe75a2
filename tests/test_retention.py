"""analysis.sections.retention: RFM on CDNOW, CLV, the care-manager effect, departures and the study run."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.sections import retention as R
from analysis.codes import Missing, Note
from analysis.inputs.data import Tables
from analysis.errors import InputError
from analysis.models.bgnbd import BGNBDResult, simulate_bgnbd
from analysis.models.simulate import draws
from analysis.pages import words
from analysis.inputs.study import load_study

from conftest import CDNOW, SAMPLE

CDNOW_PARAMS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def cdnow_raw():
    raw = pd.read_csv(CDNOW / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["master_id", "client_id", "date", "cds", "amount"], dtype={"date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    raw["client_id"] = raw["client_id"].astype(str)
    return raw[["client_id", "date", "amount"]]


@pytest.fixture(scope="module")
def cdnow_rfm(cdnow_raw):
    return R.rfm(cdnow_raw, calibration_end="1997-09-30", time_unit="W")


def _model(params=CDNOW_PARAMS):
    return BGNBDResult(params=dict(params), se={}, loglik=0.0, n=0, n_repeat=0)


# ----------------------------------------------------------------------------- RFM

def test_rfm_cdnow_matches_published_summary(cdnow_rfm):
    assert len(cdnow_rfm) == 2357
    assert cdnow_rfm["frequency"].sum() == 2457
    ref = pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")
    ref.index = ref["ID"].astype(str)
    r = cdnow_rfm.reindex(ref.index)
    assert (r["frequency"] == ref["x"]).all()
    np.testing.assert_allclose(r["recency"].round(2), ref["t_x"], atol=1e-9)
    np.testing.assert_allclose(r["T"].round(2), ref["T"], atol=1e-9)
    np.testing.assert_allclose(r["monetary_value"], ref["zbar"], atol=0.006)
    assert cdnow_rfm.attrs["time_unit_days"] == 7.0


def test_bgnbd_from_raw_cdnow_transactions(cdnow_rfm):
    m = R.fit_bgnbd(cdnow_rfm)
    for k, v in CDNOW_PARAMS.items():
        assert m.params[k] == pytest.approx(v, rel=0.005), k
    assert m.loglik == pytest.approx(-9582.4, rel=0.005)


def test_rfm_hand_example_and_units():
    v = pd.DataFrame({
        "client_id": ["a", "a", "a", "a", "b", "c"],
        "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-15", "2024-03-01", "2024-01-08", "2024-02-01"]),
        "amount": [10.0, 5.0, 20.0, 0.0, 7.0, 9.0],
        "status": ["done", "done", "done", "cancelled", "done", "done"],
    })
    w = R.rfm(v, calibration_end="2024-01-29", time_unit="W")
    # c's first visit is after the calibration end; a's cancelled visit does not count
    assert list(w.index) == ["a", "b"]
    assert w.loc["a"].tolist() == [1.0, 2.0, 4.0, 20.0]   # first day (15) excluded from monetary
    assert w.loc["b"].tolist() == [0.0, 0.0, 3.0, 0.0]
    d = R.rfm(v, calibration_end="2024-01-29", time_unit="D")
    assert d.loc["a", "recency"] == 14 and d.loc["a", "T"] == 28 and d.attrs["time_unit_days"] == 1.0
    m = R.rfm(v, calibration_end="2024-01-29", time_unit="M")
    assert m.loc["a", "T"] == pytest.approx(28 / (365.25 / 12))


def test_rfm_bad_input():
    v = pd.DataFrame({"client_id": ["a"], "date": pd.to_datetime(["2024-01-01"]), "amount": [1.0]})
    with pytest.raises(InputError, match="W, D, M"):
        R.rfm(v, time_unit="Y")
    with pytest.raises(InputError, match="amount"):
        R.rfm(v.drop(columns="amount"))
    with pytest.raises(InputError, match="no completed visits"):
        R.rfm(v, calibration_end="2023-01-01")


def test_time_unit_does_not_change_predictions(cdnow_raw):
    """Weeks vs days: alpha scales by 7, r, a, b and P(alive) do not change."""
    w = R.rfm(cdnow_raw, "1997-09-30", "W")
    d = R.rfm(cdnow_raw, "1997-09-30", "D")
    mw, md = R.fit_bgnbd(w), R.fit_bgnbd(d)
    assert md.params["alpha"] == pytest.approx(7 * mw.params["alpha"], rel=2e-3)
    for k in ("r", "a", "b"):
        assert md.params[k] == pytest.approx(mw.params[k], rel=2e-3)
    np.testing.assert_allclose(md.p_alive(d["frequency"], d["recency"], d["T"]),
                               mw.p_alive(w["frequency"], w["recency"], w["T"]), atol=2e-3)


# ----------------------------------------------------------------------------- memberships

def test_membership_lifetimes_hand():
    m = pd.DataFrame({"client_id": ["a", "b", "c", "c"],
                      "start": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-01", "2024-04-01"]),
                      "end": pd.to_datetime(["2024-04-01", None, "2024-04-01", "2024-06-01"]),
                      "period": ["month"] * 4})
    life = R.membership_lifetimes(m, end="2024-12-31").set_index("client_id")
    assert life.loc["a", "periods"] == 3 and life.loc["a", "churned"]
    assert life.loc["b", "periods"] == 11 and not life.loc["b", "churned"]   # 365 days -> 11 whole months
    assert life.loc["c", "periods"] == 5 and life.loc["c", "churned"]        # renewals merged into one spell


def test_a_membership_ending_on_the_data_last_day_is_not_counted_as_gone():
    # a club's export gives each running membership's paid-through day; on the last day of the data it
    # has not lapsed yet (it may be renewed tomorrow): censored, its whole periods so far counted
    m = pd.DataFrame({"client_id": ["a", "b", "c"],
                      "start": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-01"]),
                      "end": pd.to_datetime(["2024-12-31", "2024-12-30", "2025-01-31"]),
                      "period": ["month"] * 3})
    life = R.membership_lifetimes(m, end="2024-12-31").set_index("client_id")
    assert not life.loc["a", "churned"] and life.loc["a", "periods"] == 11
    assert life.loc["b", "churned"]                                           # ended the day before
    assert not life.loc["c", "churned"]                                       # paid beyond the data
    # without a stated end of data, the latest end is that end: nobody who reaches it is gone
    assert not R.membership_lifetimes(m).set_index("client_id").loc["c", "churned"]


# ----------------------------------------------------------------------------- CLV and effect

def test_clv_undiscounted_equals_margin_times_expected_visits():
    m = _model()
    r = pd.DataFrame({"frequency": [0.0, 2, 10], "recency": [0.0, 30.43, 20], "T": [38.86, 38.86, 38.86]},
                     index=["x", "y", "z"])
    r.attrs["time_unit_days"] = 7.0
    out = R.clv(r, m, margin_per_visit=100.0, horizon_months=12, discount_rate=0.0)
    t = 12 * (365.25 / 12) / 7
    ev = m.conditional_expected_visits(t, r["frequency"], r["recency"], r["T"])
    np.testing.assert_allclose(out["clv"], 100 * ev, rtol=1e-9)
    disc = R.clv(r, m, 100.0, 12, 0.15)
    assert np.all(disc["clv"] < out["clv"]) and np.all(disc["clv"] > out["clv"] / 1.15)


def test_effect_curve_zero_monotone_and_matches_model(cdnow_rfm):
    m = R.fit_bgnbd(cdnow_rfm)
    curve = R.effect_curve(cdnow_rfm, m, 10.0, effects=[0.0, 0.1, 0.5, 1.0])
    assert curve["incremental_margin_year"].iloc[0] == pytest.approx(0.0, abs=1e-9)
    assert np.all(np.diff(curve["incremental_margin_year"]) > 0)
    # base visits from quadrature agree with the closed form; the gain at 100% is no-dropout minus base
    t = 365.25 / 7
    x, tx, T = cdnow_rfm["frequency"], cdnow_rfm["recency"], cdnow_rfm["T"]
    base = m.conditional_expected_visits(t, x, tx, T).sum()
    p = m.params
    no_drop = (m.p_alive(x, tx, T) * (p["r"] + x) / (p["alpha"] + T) * t).sum()
    assert curve["incremental_visits_year"].iloc[-1] == pytest.approx(no_drop - base, rel=1e-4)


def test_breakeven_solves_gain_equals_cost(cdnow_rfm):
    m = R.fit_bgnbd(cdnow_rfm)
    curve = R.effect_curve(cdnow_rfm, m, 10.0, effects=np.linspace(0, 1, 101))
    cost = float(np.interp(0.3, curve["effect"], curve["incremental_margin_year"]))
    be = R.breakeven_effect(cdnow_rfm, m, 10.0, cost)
    assert be == pytest.approx(0.3, abs=0.005)
    assert R.breakeven_effect(cdnow_rfm, m, 10.0, 0.0) == 0.0
    never = R.breakeven_effect(cdnow_rfm, m, 10.0, 1e12)
    assert isinstance(never, Missing) and never.reason.code == "retention.fit.breakeven_never"
    assert R.breakeven_effect(cdnow_rfm, m, 10.0, float("nan")).reason.code == "retention.fit.breakeven_no_cost"


def test_role_cost_fallback_and_from_staffing(tmp_path):
    # the summary's one role cost less what it replaces, a year (issue 11): not one salary
    from analysis.inputs import data
    from analysis.sections import summary

    st = load_study(_bare_study(tmp_path))
    cost = R.role_cost_year(st)
    rc = summary.role_cost(st, data.load_tables(st))
    assert cost == pytest.approx(12 * float(np.median(rc["net_cost_month"])))
    arr = R.role_cost_year(st, draws(st, n=200))
    assert arr.shape == (200,) and np.all(arr > 0)


# ----------------------------------------------------------------------------- departures

def test_attached_clients_by_block():
    v = pd.DataFrame({"client_id": ["a"] * 4 + ["b"] * 2,
                      "block": ["hair", "hair", "hair", "nails", "hair", "hair"],
                      "specialist_id": ["S1", "S1", "S2", "S9", "S1", "S2"]})
    att = R.attached_clients(v, min_share=0.5)
    got = {(r.client_id, r.specialist_id) for r in att.itertuples()}
    # a: 2 of 3 hair visits with S1; her single nails visit attaches her to nobody (one visit shows no
    # preference); b: 1 of 2 (ties keep the first)
    assert ("a", "S1") in got and ("a", "S9") not in got and len(att[att.client_id == "b"]) == 1
    assert len(att) == 2
    one = R.attached_clients(v, min_share=0.5, min_visits=1)       # the old rule counted one-visit clients
    assert ("a", "S9") in set(zip(one.client_id, one.specialist_id))
    strict = R.attached_clients(v, min_share=0.7)
    assert len(strict) == 0
    assert set(zip(*[R.attached_clients(v, 0.7, 1)[c] for c in ("client_id", "specialist_id")])) == {("a", "S9")}
    three = R.attached_clients(v, min_share=0.5, min_visits=3)     # only a's 3 hair visits qualify
    assert set(zip(three.client_id, three.specialist_id)) == {("a", "S1")}


def test_departure_revenue_is_the_blocks_last_year_hand():
    """Revenue at risk per attachment: the client's revenue in that block over the last 365 days."""
    d = pd.to_datetime
    v = pd.DataFrame({
        "client_id": ["a", "a", "a", "a", "b", "c", "c"],
        "date": d(["2023-01-10", "2024-03-01", "2024-06-01", "2024-06-02", "2024-05-01", "2023-02-01", "2023-03-01"]),
        "amount": [500.0, 1000.0, 2000.0, 700.0, 900.0, 800.0, 800.0],
        "block": ["hair", "hair", "hair", "nails", "hair", "hair", "hair"],
        "specialist_id": ["S1", "S1", "S1", "N1", "S1", "S1", "S1"]})
    v = pd.concat([v, pd.DataFrame({"client_id": ["z"], "date": d(["2024-12-31"]), "amount": [0.0],
                                    "block": ["spa"], "specialist_id": ["Q"]})], ignore_index=True)
    staff = pd.DataFrame({"specialist_id": ["S1", "N1", "Q"], "block": ["hair", "nails", "spa"]})
    dep = R.departure_inputs(v, staff, margin_ratio=0.5, min_visits=2)
    by = dep.by_specialist.set_index("specialist_id")
    # a: hair 1000 + 2000 in the last year (the 2023 visit is older; her nails visit is another block and a
    # single visit); b: one visit, not attached; c: attached but no visit in the last year -> 0
    assert by.loc["S1", "attached_clients"] == 2
    assert by.loc["S1", "revenue_year"] == pytest.approx(3000.0)
    assert "N1" not in by.index
    assert dep.revenue_attached_year == pytest.approx(3000.0)


@given(hz=st.floats(0.0, 20.0), share=st.floats(0.0, 1.0), red=st.floats(0.0, 1.0))
@settings(max_examples=60, deadline=None)
def test_revenue_at_risk_never_exceeds_attached_yearly_revenue(hz, share, red):
    """Whatever the leaving rate and share, the yearly revenue at risk is at most what the attached
    clients pay in a year, and the care manager never increases it."""
    dep = R.DepartureInputs(leave_rate=None, attached_share=None, by_specialist=pd.DataFrame(),
                            revenue_attached_year=1000.0, margin_ratio=0.4)
    a = R.RetentionAnalysis(rfm=pd.DataFrame(), time_unit="W", time_unit_days=7.0,
                            calibration_end=pd.Timestamp("2024-12-31"), margin_ratio=0.4, departures=dep)
    dr = _FixedDraws({"retention.specialist_leave_rate_year": hz, "retention.attached_leave_share": share,
                      "retention.care_manager_attached_reduction": red, "retention.care_manager_effect": 0.1})
    no_staffing = SimpleNamespace(get=lambda key: None)     # role cost falls back to the kit's default
    sc = R.scenarios(no_staffing, None, dr, analysis=a)
    assert np.all(sc.revenue_at_risk_year_without <= 1000.0 + 1e-9)
    assert np.all(sc.revenue_at_risk_year_with <= sc.revenue_at_risk_year_without + 1e-9)
    assert np.all(sc.revenue_at_risk_year_without >= 0)


class _FixedDraws:
    """Minimal stand-in for simulate.Draws: every key gives a constant array."""
    n = 3

    def __init__(self, values):
        self.values = values

    def __getitem__(self, key):
        return np.full(self.n, float(self.values[key]))


def test_leave_rate_hand():
    staff = pd.DataFrame({"specialist_id": ["A", "B", "C", "D"],
                          "hired": pd.to_datetime(["2020-01-01", "2023-07-01", "2022-01-01", "2022-01-01"]),
                          "left": pd.to_datetime([None, None, "2023-07-01", "2024-01-01"])})
    lr = R.leave_rate(staff, "2023-01-01", "2024-12-31")
    # exposure: A 2 y, B 1.5 y, C 0.5 y, D 1 y (all in days / 365.25); leavers C and D
    days = (730 + 549 + 181 + 365)   # end - start in days, per person
    assert lr.leavers == 2 and lr.person_years == pytest.approx(days / 365.25)
    assert R.leave_rate(staff.drop(columns="left"), "2023-01-01", "2024-12-31") is None


def _departure_world(share_follow: float, n: int = 600, seed: int = 0):
    """Clients visiting every 30 days; specialist S1 leaves on day 200 and a share of her attached
    clients stop at once; others lapse at random with a constant rate."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2023-01-01")
    rows = []
    spec = rng.choice(["S1", "S2", "S3"], n)
    stop = rng.exponential(900, n)                      # natural lifetime, days
    follow = (spec == "S1") & (rng.random(n) < share_follow)
    stop = np.where(follow, np.minimum(stop, 200), stop)
    for i in range(n):
        d0 = rng.integers(0, 30)
        for day in range(d0, 540, 30):
            if day >= stop[i]:
                break
            s = spec[i] if not (spec[i] == "S1" and day >= 200) else "S2"
            rows.append((f"c{i}", start + pd.Timedelta(days=int(day)), 1000.0, s, "hair"))
    v = pd.DataFrame(rows, columns=["client_id", "date", "amount", "specialist_id", "block"])
    staff = pd.DataFrame({"specialist_id": ["S1", "S2", "S3"], "block": "hair",
                          "hired": pd.to_datetime(["2020-01-01"] * 3),
                          "left": [start + pd.Timedelta(days=200), pd.NaT, pd.NaT]})
    return v, staff


@pytest.mark.parametrize("truth", [0.0, 0.5])
def test_attached_leave_share_recovers_truth(truth):
    v, staff = _departure_world(truth)
    sh = R.attached_leave_share(v, staff, min_share=0.5, followup_days=90)
    assert sh is not None and sh.departures == 1 and sh.attached > 150
    assert abs(sh.share - truth) < max(3 * sh.se, 0.05), (sh.share, sh.se)
    assert sh.se < 0.06


def test_attached_share_combines_with_assumption():
    from analysis.inputs.study import Uncertain
    prior = Uncertain(0.3, 0.45, 0.6)
    m0 = 0.45
    sd0 = np.sqrt((0.3**2 + 0.45**2 + 0.6**2 - 0.3 * 0.45 - 0.3 * 0.6 - 0.45 * 0.6) / 18)
    weak = R.AttachedShare(1, 10, 5, 100, 50, share=0.0, se=1.0)
    strong = R.AttachedShare(1, 10, 5, 100, 50, share=0.10, se=1e-4)
    same = R.AttachedShare(1, 10, 5, 100, 50, share=0.45, se=sd0)
    assert weak.combine(prior)[0] == pytest.approx(m0, abs=0.01)
    assert strong.combine(prior)[0] == pytest.approx(0.10, abs=1e-3) and strong.combine(prior)[2] > 0.999
    m, sd, w = same.combine(prior)
    assert m == pytest.approx(0.45) and sd == pytest.approx(sd0 / np.sqrt(2)) and w == pytest.approx(0.5)


def test_departure_inputs_and_scenarios_order(tmp_path):
    v, staff = _departure_world(0.5)
    d = R.departure_inputs(v, staff, margin_ratio=0.4, followup_days=90)
    assert set(d.by_specialist["specialist_id"]) == {"S2", "S3"}      # S1 has left
    assert d.leave_rate is not None and d.leave_rate.leavers == 1
    study = load_study(_bare_study(tmp_path))
    dr = draws(study, n=500)
    hz, sh, red = R.departure_draws(d, dr)
    assert hz.shape == sh.shape == red.shape == (500,)
    m, sd, w = d.attached_share.combine(study["retention.attached_leave_share"])
    assert w > 0.5                                        # 200 attached clients outweigh the wide assumption
    assert np.mean(sh) == pytest.approx(m, abs=0.02) and np.std(sh) == pytest.approx(sd, rel=0.1)


# ----------------------------------------------------------------------------- the study

def _bare_study(tmp_path, n=400, seed=5):
    """A study whose visits have only client_id, date and amount (simulated BG/NBD)."""
    folder = tmp_path / "bare"
    if folder.exists():
        return folder
    folder.mkdir()
    rng = np.random.default_rng(seed)
    T = rng.integers(30, 400, n).astype(float)
    sim = simulate_bgnbd({"r": 0.6, "alpha": 20.0, "a": 0.6, "b": 3.0}, T, rng, resolution=1.0)
    end = pd.Timestamp("2024-12-31")
    rows = []
    for i, (x, tx, t) in enumerate(zip(sim["frequency"], sim["recency"], sim["T"])):
        first = end - pd.Timedelta(days=int(t))
        days = {0, int(tx)} if x > 0 else {0}
        extra = rng.choice(np.arange(1, max(int(tx), 2)), size=max(int(x) - 1, 0), replace=True) if x > 1 else []
        days |= set(int(e) for e in extra)
        for dd in sorted(days):
            rows.append((f"k{i:04d}", (first + pd.Timedelta(days=dd)).date().isoformat(),
                         float(rng.gamma(5, 400))))
    pd.DataFrame(rows, columns=["client_id", "date", "amount"]).to_csv(folder / "visits.csv", index=False)
    (folder / "study.yaml").write_text("name: Bare\ncurrency: RUB\nretention:\n  time_unit: D\n", encoding="utf-8")
    return folder


def _tables(folder):
    v = pd.read_csv(folder / "visits.csv", dtype={"client_id": str})
    v["date"] = pd.to_datetime(v["date"])
    return Tables(visits=v)


def test_bare_data_runs_with_notes(tmp_path):
    folder = _bare_study(tmp_path)
    study = load_study(folder)
    tables = _tables(folder)
    margin = tables.visits["amount"] * 0.5
    a = R.analyse(study, tables, margin=margin)
    assert a.time_unit == "D" and a.time_unit_days == 1.0
    assert a.bgnbd is not None and a.clv is not None and a.effect is not None
    assert a.margin_ratio == pytest.approx(0.5)
    assert a.departures is None and a.sbg is None
    parts = {n.topic for n in a.notes}
    assert {"departures", "km", "sbg"} <= parts
    assert all(isinstance(n, Note) and words.has(n.code) for n in a.notes)
    assert all(words.note_text(n, lang) for n in a.notes for lang in ("en", "ru"))
    assert set(a.km["group"]) == {"all"}
    assert 0 < a.regulars_margin_share < 1
    sc = R.scenarios(study, tables, draws(study, n=300), analysis=a)
    assert sc.incremental_margin_year.shape == (300,) and np.all(sc.incremental_margin_year > 0)
    assert np.all(np.isnan(sc.revenue_at_risk_year_without)) and np.all(sc.margin_at_risk_avoided_year == 0)
    # the same effect draws give the same gains: shared scenario streams
    sc2 = R.scenarios(study, tables, draws(study, n=300), analysis=a)
    np.testing.assert_array_equal(sc.incremental_margin_year, sc2.incremental_margin_year)


def test_too_little_data_is_a_note_not_a_crash(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    v = pd.DataFrame({"client_id": ["a", "a", "b"], "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-05"]),
                      "amount": [100.0, 120.0, 90.0]})
    study = load_study(folder)
    a = R.analyse(study, Tables(visits=v), margin=v["amount"] * 0.5)
    assert a.bgnbd is None and a.clv is None and any(n.topic == "bgnbd" for n in a.notes)
    assert not a.sufficiency.measurable and "breakeven_uplift" in a.missing
    sc = R.scenarios(study, Tables(visits=v), draws(study, n=50), analysis=a)
    assert np.all(np.isnan(sc.incremental_margin_year))


@pytest.fixture(scope="module")
def sample_analysis():
    if not (SAMPLE / "visits.csv").exists():
        pytest.skip("sample study not generated")
    from analysis.inputs.data import load_tables
    study = load_study(SAMPLE)
    tables = load_tables(study)
    return study, tables, R.analyse(study, tables)


def test_sample_recovers_ground_truth(sample_analysis):
    """The sample centre's generator truth (ground_truth.yaml) within 3 standard errors."""
    study, tables, a = sample_analysis
    truth = yaml.safe_load((SAMPLE / "ground_truth.yaml").read_text(encoding="utf-8"))
    assert a.time_unit == "W"       # the generator's rates are per week
    for k, v in truth["bgnbd"].items():
        assert abs(a.bgnbd.params[k] - v) < 3 * a.bgnbd.se[k], (k, a.bgnbd.params[k], a.bgnbd.se[k])
    for k, v in truth["gamma_gamma"].items():
        assert abs(a.gamma_gamma.params[k] - v) < 3 * a.gamma_gamma.se[k], k
    for k, v in truth["sbg"].items():
        assert abs(a.sbg.params[k] - v) < 3 * a.sbg.se[k], k


def test_sample_scenarios_shapes_and_order(sample_analysis):
    study, tables, a = sample_analysis
    d = draws(study, n=1000)
    sc = R.scenarios(study, tables, d, analysis=a)
    for name in ("incremental_margin_year", "revenue_at_risk_year_without", "revenue_at_risk_year_with",
                 "margin_at_risk_avoided_year", "role_cost_year"):
        arr = getattr(sc, name)
        assert arr.shape == (1000,) and np.all(np.isfinite(arr)), name
    assert np.all(sc.revenue_at_risk_year_with <= sc.revenue_at_risk_year_without)
    assert np.all(sc.margin_at_risk_avoided_year >= 0)
    assert np.all(sc.margin_at_risk_avoided_year <= sc.revenue_at_risk_year_without)
    assert set(a.km["group"]) <= {"hair", "nails", "cosmetology", "spa", "fitness"}
    assert 0 < a.breakeven_effect


# ----------------------------------------------------------------------------- the notebook

@pytest.mark.parametrize("lang", ["en", "ru"])
def test_notebook_runs_on_bare_data_and_records_figures(tmp_path, lang):
    """03_retention on visits with only client_id, date and amount: runs, notes what it skips,
    records every figure of the issue (NaN where the data cannot give one)."""
    import json

    import nbformat
    import papermill as pm

    from conftest import ROOT

    folder = _bare_study(tmp_path)
    res = tmp_path / "results.json"
    out = tmp_path / "out.ipynb"
    over = {"data_check": {"regular_min_visit_days": 5}, "retention": {"lapse_window_days": 60}}
    pm.execute_notebook(str(ROOT / "notebooks" / "03_retention.ipynb"), str(out), kernel_name="python3",
                        parameters={"study_dir": str(folder), "lang": lang, "results_path": str(res),
                                    "overrides": json.dumps(over)},
                        progress_bar=False)
    fig = json.loads(res.read_text(encoding="utf-8"))["figures"]["retention"]
    for k in ("bgnbd_r", "bgnbd_alpha", "bgnbd_a", "bgnbd_b", "bgnbd_loglik", "time_unit_days",
              "regulars_margin_share", "incremental_margin_year_p10", "incremental_margin_year_median",
              "incremental_margin_year_p90", "breakeven_uplift", "revenue_at_risk_year_without",
              "revenue_at_risk_year_with"):
        assert k in fig, k
    assert fig["time_unit_days"] == 1.0 and fig["bgnbd_r"] > 0
    assert fig["revenue_at_risk_year_without"] is None          # no specialist_id: NaN -> null
    text = " ".join(str(o.get("data", {})) for c in nbformat.read(out, 4).cells if c.cell_type == "code"
                    for o in c.get("outputs", []))
    assert "specialist_id" in text                               # the departures part says why it is skipped
    # the page's sentences follow the settings, in the page's language, with the method note on ranges
    want = {"en": ("5 or more visit days", "more than 60 days", "Where the ranges come from"),
            "ru": ("5 и больше дней с визитами", "длиннее 60 дн.", "Откуда берутся диапазоны")}[lang]
    for phrase in want:
        assert phrase in text, phrase
    assert not any(o.output_type == "error" for c in nbformat.read(out, 4).cells if c.cell_type == "code"
                   for o in c.get("outputs", []))


def test_notebook_shape():
    """Stored without outputs; parameters cell first; every markdown cell in both languages; no defs."""
    import nbformat

    from conftest import ROOT, PARAMS

    nb = nbformat.read(ROOT / "notebooks" / "03_retention.ipynb", 4)
    assert nb.cells[0].metadata.get("tags") == ["parameters"]
    stripped = "\n".join(line.split("#")[0].strip() for line in nb.cells[0].source.strip().splitlines())
    assert stripped == PARAMS.strip()
    md = [c for c in nb.cells if c.cell_type == "markdown"]
    en = [c for c in md if "lang-en" in c.metadata.get("tags", [])]
    ru = [c for c in md if "lang-ru" in c.metadata.get("tags", [])]
    assert len(en) == len(ru) == len(md) / 2 and en
    for c in nb.cells:
        if c.cell_type == "code":
            assert not c.outputs and c.execution_count is None
            assert "def " not in c.source and "class " not in c.source
    assert 'ctx.record("retention"' in nb.cells[-1].source


def test_holdout_check_cdnow(cdnow_raw, cdnow_rfm):
    """FHL 2005 fig. 4: on the 39-week holdout the BG/NBD conditional expectations track the actual
    visits by calibration frequency (slightly low for 1-2 repeat purchases)."""
    m = R.fit_bgnbd(cdnow_rfm)
    h = R.holdout_check(cdnow_raw, cdnow_rfm, m)
    assert h.attrs["holdout_days"] == 273 and h["clients"].sum() == 2357
    assert 0.8 < h.attrs["predicted_total"] / h.attrs["actual_total"] < 1.0
    row0 = h.set_index("frequency").loc["0"]
    assert row0["predicted"] == pytest.approx(row0["actual"], rel=0.1)
    assert np.all(np.diff(h["predicted"]) > 0)
    assert R.holdout_check(cdnow_raw, R.rfm(cdnow_raw), R.fit_bgnbd(R.rfm(cdnow_raw))) is None


def test_new_clients_per_year_hand():
    v = pd.DataFrame({"client_id": ["a", "b", "b", "c", "d"],
                      "date": pd.to_datetime(["2022-06-01", "2023-03-01", "2024-02-01", "2024-05-01", "2024-12-31"]),
                      "amount": 1.0})
    # first visits after 2024-01-01 (last 365 days to 2024-12-31): c and d
    assert R.new_clients_per_year(v) == pytest.approx(2.0)
    # half a year of data: scaled to a year
    assert R.new_clients_per_year(v[v["date"] >= "2024-04-01"]) == pytest.approx(2 * 365 / 245)


def test_effect_curve_new_clients_part_matches_closed_form(cdnow_rfm):
    """At a 100% cut new clients never drop out: their visits over tau are (r/alpha) tau instead of
    E[X(tau)], so the new-client part of the gain has a closed form."""
    m = R.fit_bgnbd(cdnow_rfm)
    p = m.params
    H, A, mn = 24, 1200.0, 7.0
    base = R.effect_curve(cdnow_rfm, m, 10.0, effects=[0.0, 0.5, 1.0], horizon_months=H)
    both = R.effect_curve(cdnow_rfm, m, 10.0, effects=[0.0, 0.5, 1.0], horizon_months=H,
                          new_clients_per_year=A, new_client_margin=mn)
    tau = (H - np.arange(H) - 0.5) * (365.25 / 12) / 7
    closed = A / 12 * mn * np.sum(p["r"] / p["alpha"] * tau - m.expected_visits(tau)) / (H / 12)
    extra = both["incremental_margin_year"] - base["incremental_margin_year"]
    assert extra.iloc[0] == pytest.approx(0.0, abs=1e-9)
    assert extra.iloc[2] == pytest.approx(closed, rel=1e-4)
    assert 0 < extra.iloc[1] < extra.iloc[2]
    one = R.effect_curve(cdnow_rfm, m, 10.0, effects=[0.3], horizon_months=12)
    assert one["incremental_margin_year"].iloc[0] == pytest.approx(one["first_year_margin_current"].iloc[0])
    be = R.breakeven_effect(cdnow_rfm, m, 10.0, float(both["incremental_margin_year"].iloc[1]), horizon_months=H,
                            new_clients_per_year=A, new_client_margin=mn)
    assert be == pytest.approx(0.5, abs=1e-4)


def test_visits_after_departure_hand():
    """No dropout (a -> 0 in effect) is not needed: with a tiny a the client is a Poisson visitor, so
    E(Y(k)) = rate * k months and the mean of E(H) - E(k - 1/2) over k = 1..H is rate * H / 2."""
    m = _model({"r": 2.0, "alpha": 8.0, "a": 1e-6, "b": 1.0})
    r = pd.DataFrame({"frequency": [0.0], "recency": [0.0], "T": [10.0]}, index=["z"])
    r.attrs["time_unit_days"] = 7.0
    out = R.clv(r, m, 1.0, horizon_months=24, discount_rate=0.0)
    rate_month = (2.0 / (8.0 + 10.0)) * (365.25 / 12) / 7
    assert out["visits_after_departure"].iloc[0] == pytest.approx(rate_month * 24 / 2, rel=1e-4)
    assert out["expected_visits"].iloc[0] == pytest.approx(rate_month * 24, rel=1e-4)


def test_sample_without_staff_table_uses_assumptions(sample_analysis):
    study, tables, _ = sample_analysis
    t2 = Tables(visits=tables.visits, services=tables.services, staff=None, clients=None, memberships=None)
    a = R.analyse(study, t2)
    assert a.departures is not None
    assert a.departures.leave_rate is None and a.departures.attached_share is None
    codes = {n.code for n in a.notes_for("departures")}
    assert {"models.departures_no_staff_dates", "models.departures_no_past_departure"} <= codes
    assert a.sbg is None and any(n.topic == "sbg" for n in a.notes)
    sc = R.scenarios(study, t2, draws(study, n=200), analysis=a)
    # hazard and share come straight from the study's assumption draws
    d = draws(study, n=200)
    p_leave = 1.0 - np.exp(-d["retention.specialist_leave_rate_year"])   # chance a specialist leaves within a year
    exp = p_leave * a.departures.revenue_attached_year * d["retention.attached_leave_share"]
    np.testing.assert_allclose(sc.revenue_at_risk_year_without, exp)
    # the attached clients' revenue is part of the revenue of the last year of data
    v = tables.visits
    last = v[(v["date"] > v["date"].max() - pd.Timedelta(days=365)) & (v.get("status", "done") == "done")]
    assert 0 < a.departures.revenue_attached_year <= last["amount"].sum()


# ----------------------------------------------------------------------------- hard cases (issue 10)


def test_generator_same_dropout_is_recovered_by_the_limit_case():
    """The sample generator's homogeneous-dropout knob: over a documented set of seeds (5–8, 2,000
    clients, 24 months) the kit falls back to one dropout chance for all in most of them (the full
    model's a, b at the boundary; AIC may keep the full model when chance makes it fit a little
    better) and, where it does, recovers the generator's r, alpha and p = a / (a + b) within 3 SE.
    (Seed 5 keeps the full model, whose mean dropout a / (a + b) is then 0.077 against 0.059.)"""
    from analysis.inputs import sample
    bg = sample.TRUTH["bgnbd"]
    truth = {"r": bg["r"], "alpha": bg["alpha"], "p": bg["a"] / (bg["a"] + bg["b"])}
    limit = 0
    for seed in (5, 6, 7, 8):
        d = sample.generate(clients=2000, months=24, seed=seed, truth=sample.hard_case_truth(("same_dropout",)))
        m = R.fit_bgnbd(R.rfm(d.visits, None, "W"))
        assert m.usable
        if m.variant == "same_dropout":
            limit += 1
            assert m.full_check.at_boundary
            for k, v in truth.items():
                assert abs(m.params[k] - v) < 3 * m.se[k], (seed, k, m.params[k], m.se[k], v)
    assert limit >= 3, limit


def test_generator_hard_cases_change_the_tables():
    from analysis.inputs import sample
    base = sample.generate(clients=200, months=12, seed=1)
    solo = sample.harden(base, ("one_specialist",), 1)
    assert solo.visits["specialist_id"].nunique() == 1 and len(solo.staff) == 1 and solo.memberships.empty
    zeros = sample.harden(base, ("zero_amounts",), 1)
    done = zeros.visits["status"] == "done"
    share = (zeros.visits.loc[done, "amount"] == 0).mean()
    assert 0.3 < share < 0.4
    members = sample.harden(sample.generate(clients=200, months=12, seed=1,
                                            truth=sample.hard_case_truth(("memberships_only",))),
                            ("memberships_only",), 1)
    paid = members.visits.loc[members.visits["status"] == "done", "amount"] > 0
    assert paid.mean() < 0.5
    with pytest.raises(ValueError, match="unknown hard case"):
        sample.hard_case_truth(("no_such_case",))


def test_short_history_analyse_carries_the_effect_as_assumption(tmp_path):
    """8 months of a 60-client salon: no zero range as a finding, the effect stays the assumption."""
    from analysis.inputs import sample
    folder = sample.write_sample(tmp_path / "short", clients=60, months=8, seed=6, hard=("short_history",))
    from analysis.inputs.data import load_tables
    study = load_study(folder)
    a = R.analyse(study, load_tables(study))
    assert not a.sufficiency.measurable and a.effect is None
    assert a.missing["breakeven_uplift"].code == "retention.sufficiency.effect_is_assumption"
    assert any(n.code == "retention.sufficiency.effect_is_assumption" for n in a.notes_for("sufficiency"))
    sc = R.scenarios(study, load_tables(study), draws(study, n=100), analysis=a)
    assert np.all(np.isnan(sc.incremental_margin_year))      # missing, never 0 (0 … 0)


# ----------------------------------------------------------------------------- page figures (hand values)

def _hand_analysis():
    r = pd.DataFrame({"frequency": [0.0, 2.0, 1.0], "recency": [0.0, 4.0, 2.0], "T": [5.0, 6.0, 3.0],
                      "monetary_value": [0.0, 10.0, 20.0]}, index=pd.Index(["a", "b", "c"], name="client_id"))
    fit = R.BGNBDResult(params={"r": 1.0, "alpha": 2.0, "a": 1.0, "b": 3.0}, se={}, loglik=0.0, n=3, n_repeat=3)
    clv = pd.DataFrame({"p_alive": [1.0, 0.4, 0.9], "clv": [5.0, 30.0, 15.0]}, index=r.index)
    return R.RetentionAnalysis(rfm=r, time_unit="W", time_unit_days=7.0, calibration_end=None, margin_ratio=0.5,
                               bgnbd=fit, clv=clv)


def test_client_overview_hand_values():
    ov = R.client_overview(_hand_analysis())
    assert ov == pytest.approx({"clients": 3, "repeat_visits": 3.0, "returning_share": 2 / 3,
                                "repeat_per_client": 1.0, "span_days": 21.0, "age_days": 35.0,
                                "spend_median": 15.0})


def test_visit_pace_hand_values():
    p = R.visit_pace(_hand_analysis())
    # rate r / alpha = 0.5 a week -> 0.5 * (365.25 / 12) / 7 a month; dropout a / (a + b)
    assert p["visits_per_month"] == pytest.approx(0.5 * 365.25 / 12 / 7)
    assert p["dropout"] == pytest.approx(0.25)
    assert p["once_share"] == pytest.approx(1 / 3)
    assert p["likely_gone"] == pytest.approx(0.5)       # of b (0.4) and c (0.9), one below 1/2
    assert R.visit_pace(R.RetentionAnalysis(rfm=_hand_analysis().rfm, time_unit="W", time_unit_days=7.0,
                                            calibration_end=None, margin_ratio=0.5)) is None


def test_clv_summary_top_share():
    a = _hand_analysis()
    a.clv = pd.DataFrame({"clv": [100.0] + [10.0] * 19})
    s = R.clv_summary(a)
    # top 10% of 20 clients = 2 clients: 100 + 10 of a total 290
    assert s == pytest.approx({"total": 290.0, "top_share": 110 / 290, "median": 10.0, "mean": 14.5})
    a.clv = pd.DataFrame({"clv": [3.0, 1.0]})
    assert R.clv_summary(a)["top_share"] == pytest.approx(0.75)   # at least one client


def test_km_at_takes_last_step_before_the_day():
    km = pd.DataFrame({"group": ["hair"] * 3 + ["nails"] * 2, "time_days": [0, 200, 400, 0, 365],
                       "survival": [1.0, 0.6, 0.3, 1.0, 0.5]})
    out = R.km_at(km, 365)
    assert out["group"].tolist() == ["hair", "nails"] and out["share"].tolist() == [0.6, 0.5]


def test_departures_by_block_and_membership_period():
    by = pd.DataFrame({"specialist_id": ["s1", "s2", "s3"], "block": ["hair", "nails", "hair"],
                       "attached_clients": [3, 5, 2], "revenue_year": [100.0, 400.0, 50.0]})
    dep = R.DepartureInputs(None, None, by, 550.0, 0.5)
    out = R.departures_by_block(dep)
    assert out.to_dict("list") == {"block": ["nails", "hair"], "specialists": [1, 2], "attached_clients": [5, 5],
                                   "revenue_year": [400.0, 150.0]}
    assert R.membership_period(pd.DataFrame({"period": ["month", "month"]})) == "month"
    assert R.membership_period(pd.DataFrame({"period": ["week"]})) == "week"
    assert R.membership_period(pd.DataFrame({"period": ["month", "year"]})) == "period"


def test_data_share_from_widths():
    assert R.data_share(5.0, 4.0) == pytest.approx(0.36)        # 1 - 16/25: variances add
    assert R.data_share(4.0, 4.0) == 0.0
    assert R.data_share(0.0, 0.0) == 0.0
    assert R.data_share(3.0, 4.0) == 0.0                        # never negative


def test_departure_draws_split_keeps_the_combined_variance():
    """Data part with a refit's share plus the assumption's part: the combined variance w se^2."""
    from analysis.inputs.study import Uncertain

    sh = R.AttachedShare(departures=3, attached=40, attached_gone=20, baseline=200, baseline_gone=40,
                         share=0.375, se=0.1)
    prior = Uncertain(0.1, 0.3, 0.5)
    m, sd, wgt = sh.combine(prior)
    m0, sd0, _ = R.AttachedShare(0, 0, 0, 0, 0, float("nan")).combine(prior)
    rng = np.random.default_rng(0)
    refit = rng.normal(sh.share, sh.se, 200_000)
    z = rng.normal(0.0, 1.0, 200_000)
    s = m0 + wgt * (refit - m0) + (1 - wgt) * sd0 * z
    assert s.mean() == pytest.approx(m, abs=2e-3)
    assert s.std() == pytest.approx(sd, rel=0.01)


def test_effect_model_margin_is_the_gains_margin(cdnow_summary):
    """The break-even's cheaper call gives the same margins as the full one, bit for bit."""
    r = cdnow_summary.copy()
    r.attrs["time_unit_days"] = 7.0
    fit = R.fit_bgnbd(r)
    em = R._EffectModel(r, fit, 30.0, 36, 7.0, 400.0, 25.0)
    scales = [0.9, 0.5]
    np.testing.assert_array_equal(em.margin(scales), em.gains(scales)[1])


# ----------------------------------------------------------------------------- the covered blocks (care_manager.covers)

_DECISION = ("incremental_margin_year_p10", "incremental_margin_year_median", "incremental_margin_year_p90",
             "breakeven_uplift", "revenue_at_risk_year_without", "revenue_at_risk_year_with",
             "margin_at_risk_avoided_year", "role_cost_year")


def _same(x, y):
    return (np.isnan(x) and np.isnan(y)) or x == pytest.approx(y, rel=1e-12, abs=1e-9)


def test_page_records_the_covered_blocks_figures_the_summary_uses(sample_analysis):
    """Two of the sample's five blocks covered: the retention page's decision figures are those of
    the summary's own inputs (its covered clients, its localised study), not the whole salon's."""
    from analysis.sections import summary
    study, tables, a = sample_analysis
    blocks = sorted(tables.visits["block"].astype(str).unique())
    assert len(blocks) == 5
    covers = blocks[:2]
    st = load_study(SAMPLE, {"care_manager": {"covers": covers}})
    cov = R.covered_analysis(st, tables)
    assert cov.narrowed and cov.blocks == covers
    prep = summary.prepare(st, tables)
    # the same clients as the summary's
    assert set(cov.analysis.rfm.index) == set(prep.retention.rfm.index)
    assert len(cov.analysis.rfm) < len(a.rfm)
    dr = draws(st, n=200)
    page = R.page_figures(a, cov.analysis, R.scenarios(cov.study, cov.tables, dr, analysis=cov.analysis))
    theirs = R.page_figures(a, prep.retention, R.scenarios(prep.study, prep.tables, dr, analysis=prep.retention))
    for k in _DECISION:
        assert _same(page[k], theirs[k]), k
    whole = R.page_figures(a, a, R.scenarios(study, tables, draws(study, n=200), analysis=a))
    assert page["incremental_margin_year_median"] < whole["incremental_margin_year_median"]
    assert page["revenue_at_risk_year_without"] < whole["revenue_at_risk_year_without"]
    # the model parameters shown are still the salon's
    assert page["bgnbd_r"] == whole["bgnbd_r"]
    # the page's notes about parts counted as zero are the summary's
    codes = {"summary.note.retention_zero", "summary.note.departures_zero", "summary.note.retention_left_out"}
    assert [n.code for n in cov.notes] == [n.code for n in prep.notes if n.code in codes]


def test_page_figures_unchanged_without_covers(sample_analysis):
    """covers unset: the decision's analysis is the salon's, and the recorded figures are the ones
    the page recorded before (the salon's scenarios, read directly)."""
    study, tables, a = sample_analysis
    cov = R.covered_analysis(study, tables, analysis=a)
    assert not cov.narrowed and cov.analysis is a and cov.tables is tables and cov.notes == []
    dr = draws(study, n=200)
    sc = R.scenarios(cov.study, cov.tables, dr, analysis=cov.analysis)
    fig = R.page_figures(a, cov.analysis, sc)
    ref = R.scenarios(study, tables, dr, analysis=a)
    q = np.nanquantile(ref.incremental_margin_year, [0.1, 0.5, 0.9])
    assert [fig["incremental_margin_year_p10"], fig["incremental_margin_year_median"],
            fig["incremental_margin_year_p90"]] == pytest.approx(list(q))
    assert fig["revenue_at_risk_year_without"] == pytest.approx(np.nanmedian(ref.revenue_at_risk_year_without))
    assert fig["margin_at_risk_avoided_year"] == pytest.approx(np.median(ref.margin_at_risk_avoided_year))
    assert fig["breakeven_uplift"] == a.breakeven_effect and fig["role_cost_year"] == a.role_cost_year


def test_covered_block_too_small_to_fit_is_said_as_on_the_summary(sample_analysis):
    """A covered block with a handful of clients: no visit model, the page's figures are missing
    (never the salon's), and the page says so with the summary's own note."""
    import dataclasses
    from analysis.sections import summary
    study, tables, a = sample_analysis
    v = tables.visits
    small = v["block"].astype(str) == "spa"
    few = v.loc[small, "client_id"].drop_duplicates().iloc[:8]
    tables2 = dataclasses.replace(tables, visits=v[~small | v["client_id"].isin(few)])
    st = load_study(SAMPLE, {"care_manager": {"covers": ["spa"]}})
    cov = R.covered_analysis(st, tables2)
    prep = summary.prepare(st, tables2)
    codes = [n.code for n in cov.notes]
    assert "summary.note.retention_zero" in codes or "summary.note.retention_left_out" in codes
    assert codes == [n.code for n in prep.notes if n.code in set(codes)]
    sc = R.scenarios(cov.study, cov.tables, draws(st, n=50), analysis=cov.analysis) if cov.analysis else None
    fig = R.page_figures(a, cov.analysis, sc)
    assert np.isnan(fig["incremental_margin_year_median"]) and np.isnan(fig["breakeven_uplift"])
    assert "breakeven_uplift_reason" in fig


@pytest.mark.parametrize("cost, key", [(120000.0, "effect.cost_positive"), (-494305.8, "effect.cost_saves"),
                                       (0.0, "effect.cost_zero"), (-0.2, "effect.cost_zero")])
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_role_cost_sentence_reads_right_for_a_cost_a_saving_and_nothing(cost, key, lang):
    """The role's cost less what it replaces is never said as a negative cost: a saving is said as a
    saving (a positive amount), zero as costing the same."""
    k, fields = R.role_cost_sentence(cost)
    assert k == key
    assert all(v > 0 for v in fields.values())
    text = words.say(f"retention_page.{k}", lang, **{f: f"{v:,.0f}" for f, v in fields.items()},
                     **({"breakeven": "…"} if k == "effect.cost_positive" else {}))
    assert "-" not in text and "−" not in text
    if fields:
        assert f"{abs(cost):,.0f}" in text


def test_page_figures_without_a_covered_analysis_are_missing_never_the_salons(sample_analysis):
    """When the covered blocks' analysis could not be computed, the decision figures are missing
    with the summary's reason; the salon-wide model parameters are still recorded."""
    study, tables, a = sample_analysis
    fig = R.page_figures(a, None, None)
    for k in _DECISION:
        assert np.isnan(fig[k]), k
    assert fig["breakeven_uplift_reason"] == fig["incremental_margin_year_reason"] == "summary.note.retention_left_out"
    assert fig["bgnbd_r"] == a.bgnbd.params["r"]
