"""Known answers and parameter recovery for the retention models (analysis.models).

Published results: Fader, Hardie & Lee (2005) BG/NBD and Gamma-Gamma on CDNOW; Fader & Hardie
(2007) sBG on the "regular" and "high end" cohorts.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.errors import InputError
from analysis.models.bgnbd import fit_bgnbd, simulate_bgnbd
from analysis.models.gamma_gamma import fit_gamma_gamma, simulate_gamma_gamma
from analysis.models.km import km_curves, lapse_durations
from analysis.models.sbg import fit_sbg, simulate_sbg

from conftest import CDNOW


# ----------------------------------------------------------------------------- BG/NBD

def test_bgnbd_cdnow_published(cdnow_fit):
    """Fader, Hardie & Lee (2005), table/figure on CDNOW: r, alpha, a, b and LL within 0.5%."""
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for k, v in published.items():
        assert cdnow_fit.params[k] == pytest.approx(v, rel=0.005), k
    assert cdnow_fit.loglik == pytest.approx(-9582.4, rel=0.005)
    assert cdnow_fit.loglik == pytest.approx(-9582.4, abs=0.1)
    assert cdnow_fit.n == 2357 and cdnow_fit.n_repeat == 2457
    assert cdnow_fit.converged


def test_bgnbd_cdnow_standard_errors(cdnow_fit):
    """SEs from the Hessian match the ones other implementations report on CDNOW
    (lifetimes: r 0.0125, alpha 0.378, a 0.186, b 0.705) within 5%."""
    for k, v in {"r": 0.0125, "alpha": 0.378, "a": 0.186, "b": 0.705}.items():
        assert cdnow_fit.se[k] == pytest.approx(v, rel=0.05), k
    assert list(cdnow_fit.summary["parameter"]) == ["r", "alpha", "a", "b"]


def test_bgnbd_paper_customer_example(cdnow_fit):
    """FHL 2005 section 5: the customer with x=2, t_x=30.43, T=38.86 is expected to make 1.226
    purchases in the next 39 weeks."""
    ey = cdnow_fit.conditional_expected_visits(39, 2, 30.43, 38.86)
    assert float(ey) == pytest.approx(1.226, abs=0.001)


def test_p_alive_no_repeats_is_one_and_falls_with_silence(cdnow_fit):
    assert np.all(cdnow_fit.p_alive([0, 0], [0, 0], [1, 500]) == 1.0)
    p = cdnow_fit.p_alive(5, 10, np.array([10, 20, 40, 80, 160]))
    assert np.all(np.diff(p) < 0) and p[0] == pytest.approx(1 / (1 + 0.793 / (2.426 + 4)), rel=0.01)


def test_conditional_expectation_hyp2f1_matches_quadrature(cdnow_fit):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 40, 200).astype(float)
    T = rng.uniform(1, 300, 200)
    tx = np.where(x > 0, T * rng.uniform(0, 1, 200), 0.0)
    t = rng.uniform(1, 200, 200)
    hyp = cdnow_fit.conditional_expected_visits(t, x, tx, T)
    quad = cdnow_fit.p_alive(x, tx, T) * cdnow_fit.expected_visits_alive(t, x, T)
    np.testing.assert_allclose(hyp, quad, rtol=1e-6, atol=1e-9)


def test_unconditional_expectation_small_t_is_rate_times_t(cdnow_fit):
    """E[X(t)] ~ (r / alpha) t for t -> 0 (nobody has dropped out yet)."""
    t = 1e-4
    p = cdnow_fit.params
    assert float(cdnow_fit.expected_visits(t)) == pytest.approx(p["r"] / p["alpha"] * t, rel=1e-3)
    ex = cdnow_fit.expected_visits(np.array([10.0, 39, 78]))
    assert np.all(np.diff(ex) > 0)


@pytest.mark.parametrize("x,T", [(300, 3650.0), (800, 520.0), (1, 5000.0), (2000, 2000.0)])
def test_stability_many_visits_and_long_T(cdnow_fit, x, T):
    """Hundreds of visits or years of history: finite, in range, no warnings turned errors."""
    tx = np.array([0.5 * T, 0.99 * T, T])
    with np.errstate(all="raise"):
        pa = cdnow_fit.p_alive(x, tx, T)
    assert np.all(np.isfinite(pa)) and np.all((pa >= 0) & (pa <= 1))
    for t in (1.0, 52.0, 520.0):
        ey = cdnow_fit.conditional_expected_visits(t, x, tx, T)
        assert np.all(np.isfinite(ey)) and np.all(ey >= 0)
        # a client alive for sure cannot expect more than rate_posterior * t visits
        p = cdnow_fit.params
        assert np.all(ey <= (p["r"] + x) / (p["alpha"] + T) * t * (1 + 1e-9))
        scaled = cdnow_fit.expected_visits_alive(t, x, T, np.array([1.0, 0.5, 1e-9]))
        assert np.all(np.isfinite(scaled)) and np.all(np.diff(scaled, axis=-1) >= -1e-12)


def test_fit_stable_with_extreme_clients(cdnow_summary):
    d = pd.concat([cdnow_summary, pd.DataFrame({"frequency": [500.0, 900.0], "recency": [38.0, 38.5],
                                                "T": [38.86, 38.86], "monetary_value": [10.0, 10.0]})])
    m = fit_bgnbd(d)
    assert all(np.isfinite(v) for v in m.params.values()) and np.isfinite(m.loglik)


@settings(max_examples=40, deadline=None)
@given(x=st.integers(0, 500), frac=st.floats(0, 1), T=st.floats(0.1, 2000), t=st.floats(0.1, 1000))
def test_property_expectation_finite_and_monotone(cdnow_fit, x, frac, T, t):
    tx = frac * T if x > 0 else 0.0
    e1 = cdnow_fit.conditional_expected_visits(t, x, tx, T)
    e2 = cdnow_fit.conditional_expected_visits(2 * t, x, tx, T)
    assert np.isfinite(e1) and np.isfinite(e2) and 0 <= e1 <= e2 * (1 + 1e-9) + 1e-12


def test_bgnbd_parameter_recovery():
    truth = {"r": 0.5, "alpha": 6.0, "a": 0.7, "b": 3.0}
    rng = np.random.default_rng(7)
    T = rng.uniform(26, 78, 4000)
    sim = simulate_bgnbd(truth, T, rng, resolution=1 / 7)
    m = fit_bgnbd(sim)
    for k, v in truth.items():
        assert abs(m.params[k] - v) < 3 * m.se[k], (k, m.params[k], m.se[k])
        assert m.se[k] < 0.5 * v  # identified, not a flat likelihood


def test_bgnbd_aggregation_gives_same_fit(cdnow_summary, cdnow_fit):
    """Duplicating every client doubles the log-likelihood and keeps the parameters."""
    m2 = fit_bgnbd(pd.concat([cdnow_summary, cdnow_summary]))
    assert m2.loglik == pytest.approx(2 * cdnow_fit.loglik, rel=1e-7)
    for k in ("r", "alpha", "a", "b"):
        assert m2.params[k] == pytest.approx(cdnow_fit.params[k], rel=1e-3)
        assert m2.se[k] == pytest.approx(cdnow_fit.se[k] / np.sqrt(2), rel=0.02)


@pytest.mark.parametrize("frame,msg", [
    (pd.DataFrame({"frequency": [1.0, 0], "recency": [1.0, 0], "T": [2.0, 2]}), "at least 20 clients"),
    (pd.DataFrame({"frequency": [0.0] * 50, "recency": [0.0] * 50, "T": [5.0] * 50}), "repeat visits"),
    (pd.DataFrame({"frequency": [1.0] * 30, "recency": [3.0] * 30, "T": [2.0] * 30}), "recency <= T"),
    (pd.DataFrame({"frequency": [1.0] * 30, "T": [2.0] * 30}), "missing recency"),
])
def test_bgnbd_clear_errors(frame, msg):
    with pytest.raises(InputError, match=msg):
        fit_bgnbd(frame)


# ----------------------------------------------------------------------------- Gamma-Gamma

def test_gamma_gamma_cdnow_published(cdnow_summary):
    """Fader & Hardie (2013) note on the Gamma-Gamma model, CDNOW: p = 6.25, q = 3.74, gamma = 15.44."""
    g = fit_gamma_gamma(cdnow_summary)
    assert g.n == 946
    for k, v in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert g.params[k] == pytest.approx(v, rel=0.005), k
    # expected spend lies between the client's own mean and the population mean
    e = g.expected_spend([1, 1, 0], [10.0, 100.0, 0.0])
    assert 10 < e[0] < g.population_mean_spend < e[1] < 100
    assert e[2] == pytest.approx(g.population_mean_spend)


def test_gamma_gamma_recovery_and_currency_scale():
    truth = {"p": 6.0, "q": 4.0, "gamma": 1750.0}
    rng = np.random.default_rng(3)
    x = rng.integers(1, 12, 3000).astype(float)
    m = simulate_gamma_gamma(truth, x, rng)
    g = fit_gamma_gamma(pd.DataFrame({"frequency": x, "monetary_value": m}))
    for k, v in truth.items():
        assert abs(g.params[k] - v) < 3 * g.se[k], (k, g.params[k], g.se[k])
    # same data in thousands: p, q unchanged, gamma / 1000
    g2 = fit_gamma_gamma(pd.DataFrame({"frequency": x, "monetary_value": m / 1000}))
    assert g2.params["p"] == pytest.approx(g.params["p"], rel=1e-3)
    assert g2.params["gamma"] == pytest.approx(g.params["gamma"] / 1000, rel=1e-3)


def test_gamma_gamma_needs_repeaters():
    with pytest.raises(InputError, match="at least 10 clients"):
        fit_gamma_gamma(pd.DataFrame({"frequency": [0.0] * 50 + [1.0], "monetary_value": [0.0] * 50 + [5.0]}))


# ----------------------------------------------------------------------------- sBG

def _cohort(survivors):
    s = np.asarray(survivors)
    lost = -np.diff(s)
    t = np.concatenate([np.repeat(np.arange(1, len(s)), lost), np.full(s[-1], len(s) - 1)])
    churned = np.concatenate([np.ones(lost.sum(), bool), np.zeros(s[-1], bool)])
    return t, churned


@pytest.mark.parametrize("survivors,alpha,beta,ll", [
    ([1000, 869, 743, 653, 593, 551, 517, 491], 0.668, 3.806, -1611.2),   # high end
    ([1000, 631, 468, 382, 326, 289, 262, 241], 0.704, 1.182, -1680.3),   # regular
])
def test_sbg_fader_hardie_2007(survivors, alpha, beta, ll):
    """Fader & Hardie (2007), years 1-7 of the two cohorts."""
    m = fit_sbg(*_cohort(survivors))
    assert m.params["alpha"] == pytest.approx(alpha, rel=0.005)
    assert m.params["beta"] == pytest.approx(beta, rel=0.005)
    assert m.loglik == pytest.approx(ll, abs=0.1)
    # survival and retention agree: r(t) = S(t) / S(t-1)
    t = np.arange(1, 13)
    np.testing.assert_allclose(m.retention(t), m.survival(t) / m.survival(t - 1), rtol=1e-12)
    assert m.survival(0) == 1.0


def test_sbg_hand_values():
    """alpha = 1, beta = 1: P(T = 1) = 1/2, S(t) = 1/(t+1), r(t) = t/(t+1)."""
    from analysis.models.sbg import SBGResult
    m = SBGResult(params={"alpha": 1.0, "beta": 1.0}, se={}, loglik=0, n=0, n_churned=0)
    np.testing.assert_allclose(m.survival([1, 2, 3]), [1 / 2, 1 / 3, 1 / 4])
    np.testing.assert_allclose(m.retention([1, 2, 3]), [1 / 2, 2 / 3, 3 / 4])
    assert m.expected_lifetime() == float("inf")        # alpha <= 1: mean diverges
    assert m.median_lifetime() == 1.0                    # S(1) = 1/2
    m2 = SBGResult(params={"alpha": 3.0, "beta": 2.0}, se={}, loglik=0, n=0, n_churned=0)
    assert m2.expected_lifetime() == pytest.approx(m2.survival(np.arange(20000)).sum(), rel=1e-6)


def test_sbg_recovery():
    rng = np.random.default_rng(11)
    t, ch = simulate_sbg({"alpha": 1.0, "beta": 9.0}, 3000, 24, rng)
    m = fit_sbg(t, ch)
    for k, v in {"alpha": 1.0, "beta": 9.0}.items():
        assert abs(m.params[k] - v) < 3 * m.se[k], (k, m.params[k], m.se[k])


def test_sbg_errors():
    with pytest.raises(InputError, match="none did"):
        fit_sbg(np.full(20, 3), np.zeros(20, bool))
    with pytest.raises(InputError, match="whole numbers"):
        fit_sbg(np.full(20, 1.5), np.ones(20, bool))


# ----------------------------------------------------------------------------- Kaplan-Meier

def test_lapse_durations_hand_example():
    v = pd.DataFrame({"client_id": ["a", "a", "a", "b", "b", "c"], "block": ["hair"] * 6,
                      "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-08-01",
                                              "2024-01-01", "2024-01-20", "2024-11-30"])})
    d = lapse_durations(v, end="2024-12-31", window_days=90, by="block").set_index("client_id")
    # a: Feb 1 is followed by a 182-day gap -> lapsed at day 31 (the later return does not undo it)
    assert d.loc["a", "duration_days"] == 31 and d.loc["a", "lapsed"]
    # b: last visit Jan 20, data end 346 days later -> lapsed at day 19
    assert d.loc["b", "duration_days"] == 19 and d.loc["b", "lapsed"]
    # c: last visit 31 days before the end -> not lapsed yet (censored at 0)
    assert d.loc["c", "duration_days"] == 0 and not d.loc["c", "lapsed"]


def test_km_without_censoring_is_one_minus_ecdf():
    d = pd.DataFrame({"duration_days": [0, 10, 10, 30, 60.0], "lapsed": [True] * 5})
    k = km_curves(d, min_clients=1)
    np.testing.assert_allclose(k["survival"], [0.8, 0.4, 0.2, 0.0])
    np.testing.assert_allclose(k["time_days"], [0, 10, 30, 60])


def test_km_with_censoring_hand():
    """Times 1, 2+, 3: S(1) = 2/3, S(3) = 2/3 * (1 - 1/1) = 0."""
    d = pd.DataFrame({"duration_days": [1.0, 2.0, 3.0], "lapsed": [True, False, True], "g": "x"})
    k = km_curves(d, by="g", min_clients=1)
    s = dict(zip(k["time_days"], k["survival"]))
    assert s[0.0] == 1.0 and s[1.0] == pytest.approx(2 / 3) and s[3.0] == 0.0


# ----------------------------------------------------------------------------- weights (bootstrap counts)

def test_weighted_fits_equal_fits_on_repeated_rows(cdnow_summary):
    """A bootstrap resample as counts per client gives the same fit as the resampled table."""
    rng = np.random.default_rng(11)
    r = cdnow_summary
    idx = rng.integers(0, len(r), len(r))
    cnt = np.bincount(idx, minlength=len(r)).astype(float)
    rb = r.iloc[idx]
    for got, want in ((fit_bgnbd(r, weights=cnt), fit_bgnbd(rb)),
                      (fit_gamma_gamma(r, weights=cnt), fit_gamma_gamma(rb))):
        assert got.n == want.n
        for k, v in want.params.items():
            assert got.params[k] == pytest.approx(v, rel=1e-5), k
        assert got.loglik == pytest.approx(want.loglik, rel=1e-9)
    t, ch = simulate_sbg({"alpha": 0.7, "beta": 3.0}, 400, 12, rng)
    j = rng.integers(0, 400, 400)
    w = np.bincount(j, minlength=400).astype(float)
    got, want = fit_sbg(t, ch, weights=w), fit_sbg(t[j], ch[j])
    assert (got.n, got.n_churned) == (want.n, want.n_churned)
    for k, v in want.params.items():
        assert got.params[k] == pytest.approx(v, rel=1e-5), k


def test_weighted_fit_zero_weights_count_as_absent(cdnow_summary):
    r = cdnow_summary
    w = np.zeros(len(r))
    w[:15] = 1.0
    with pytest.raises(InputError, match="at least 20 clients"):
        fit_bgnbd(r, weights=w)


def test_bootstrap_spend_interval_covers_truth():
    """Simulated clients from known BG/NBD and Gamma-Gamma parameters: the bootstrap by client
    (visits and spend refitted jointly) gives a P5–P95 interval of the spend parameters that
    covers the truth in most seeds (nominal 90%)."""
    from analysis.sections import retention as R

    truth_v = {"r": 0.6, "alpha": 3.0, "a": 0.8, "b": 4.0}
    truth_s = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    mean_spend = truth_s["p"] * truth_s["gamma"] / (truth_s["q"] - 1)
    hits, seeds = {"p": 0, "q": 0, "gamma": 0, "mean": 0}, range(5)
    for seed in seeds:
        rng = np.random.default_rng(seed)
        T = rng.uniform(26, 52, 1000)
        r = simulate_bgnbd(truth_v, T, rng)
        r["monetary_value"] = simulate_gamma_gamma(truth_s, r["frequency"], rng)
        r.attrs["time_unit_days"] = 7.0
        fit, gg = fit_bgnbd(r), fit_gamma_gamma(r)
        a = R.RetentionAnalysis(rfm=r, time_unit="W", time_unit_days=7.0, calibration_end=None, margin_ratio=0.5,
                                bgnbd=fit, gamma_gamma=gg,
                                clv=pd.DataFrame({"spend_per_visit": gg.expected_spend(r["frequency"],
                                                                                        r["monetary_value"])}))
        b = R.model_bootstrap(a, 12, 20, np.random.default_rng(100 + seed), effects=[0.0, 0.5])
        assert b.kept >= 16
        est = b.params.assign(gg_mean=b.params["gg_p"] * b.params["gg_gamma"] / (b.params["gg_q"] - 1))
        for k, col, v in (("p", "gg_p", truth_s["p"]), ("q", "gg_q", truth_s["q"]),
                          ("gamma", "gg_gamma", truth_s["gamma"]), ("mean", "gg_mean", mean_spend)):
            lo, hi = np.quantile(est[col], [0.05, 0.95])
            hits[k] += lo <= v <= hi
        assert np.all(b.curves[:, 1] > 0)
    for k, h in hits.items():
        assert h >= 3, (k, hits)


def _lapse_reference(visits, end, window_days, by):
    """Lapse spans by a plain pandas groupby, visit by visit (the definition, slowly)."""
    keys = ([by] if by else []) + ["client_id"]
    v = visits[keys + ["date"]].dropna()
    v = v.assign(date=pd.to_datetime(v["date"]).dt.normalize()).drop_duplicates()
    v = v[v["date"] <= end].sort_values(keys + ["date"], kind="stable")
    rows = []
    for key, g in v.groupby(keys, sort=True, observed=True):
        d = g["date"].tolist()
        until, lapsed = d[-1], False
        for i, day in enumerate(d):
            nxt = d[i + 1] if i + 1 < len(d) else None
            if (nxt - day).days > window_days if nxt is not None else (end - day).days > window_days:
                until, lapsed = day, True
                break
        rows.append((*((key,) if isinstance(key, str) else key), d[0], float((until - d[0]).days), lapsed))
    return pd.DataFrame(rows, columns=keys + ["first_visit", "duration_days", "lapsed"])


@pytest.mark.parametrize("categorical", [False, True])
@pytest.mark.parametrize("by", [None, "block"])
def test_lapse_durations_equal_the_definition(categorical, by):
    from analysis.inputs.sample import generate

    v = generate(clients=300, months=14, seed=5).visits
    v = pd.concat([v, v.iloc[:50]])                       # repeated rows count once
    if categorical:
        v = v.assign(client_id=v["client_id"].astype("category"), block=v["block"].astype("category"))
    end = pd.to_datetime(v["date"]).max().normalize() - pd.Timedelta(days=40)
    got = lapse_durations(v, end, 60, by)
    want = _lapse_reference(v, end, 60, by)
    assert len(got) == len(want) > 100
    for c in got.columns:
        np.testing.assert_array_equal(got[c].astype(str if c in ("client_id", "block") else got[c].dtype).to_numpy(),
                                      want[c].astype(str if c in ("client_id", "block") else got[c].dtype).to_numpy(), c)
