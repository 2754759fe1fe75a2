"""Per-client quantities computed once per distinct (x, t_x, T) row (or (x, T) where t_x does not
enter) and mapped back give the same numbers as computing them client by client."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.sections import retention as R
from analysis.models.bgnbd import fit_bgnbd
from analysis.inputs.sample import generate

DAYS_PER_MONTH = R.DAYS_PER_MONTH


@pytest.fixture(scope="module")
def small():
    d = generate(clients=600, months=18, seed=7)
    v = d.visits
    end = v["date"].min() + pd.Timedelta(days=400)    # leaves a hold-out period after it
    r = R.rfm(v, end, "W")
    fit = fit_bgnbd(r)
    assert fit.usable
    rng = np.random.default_rng(3)
    margin = rng.uniform(500, 1500, len(r))            # differs between clients sharing a row
    return v, r, fit, margin


def _per_client_cum(fit, r, months, unit=7.0):
    x, tx, T = (r[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    t = months * DAYS_PER_MONTH / unit
    cum = fit.conditional_expected_visits(t[None, :], x[:, None], tx[:, None], T[:, None])
    cum = np.minimum(cum, (months * DAYS_PER_MONTH)[None, :])
    return np.maximum.accumulate(np.maximum(cum, 0.0), axis=1)


def test_rows_really_collapse(small):
    _, r, _, _ = small
    (xu, _, _), pos = R._collapse(r["frequency"], r["recency"], r["T"])
    assert len(xu) < len(r) and pos.max() == len(xu) - 1
    np.testing.assert_array_equal(xu[pos], r["frequency"].to_numpy(float))


def test_clv_collapsed_equals_per_client(small):
    _, r, fit, margin = small
    H, d = 24, 0.15
    c = R.clv(r, fit, margin, H, d)
    months = np.arange(1, H + 1)
    cum = _per_client_cum(fit, r, months)
    inc = np.diff(np.concatenate([np.zeros((len(r), 1)), cum], axis=1), axis=1)
    dv = inc @ (1.0 + d) ** (-(months - 0.5) / 12.0)
    x, tx, T = (r[k].to_numpy(float) for k in ("frequency", "recency", "T"))
    np.testing.assert_allclose(c["p_alive"], fit.p_alive(x, tx, T), rtol=1e-12)
    np.testing.assert_allclose(c["expected_visits"], cum[:, H - 1], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(c["expected_visits_year"], cum[:, 11], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(c["discounted_visits"], dv, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(c["clv"], dv * margin, rtol=1e-10, atol=1e-10)


def test_effect_and_holdout_collapsed_equal_per_client(small):
    v, r, fit, margin = small
    H = 12
    eff = R.effect_curve(r, fit, margin, effects=[0.0, 0.2, 0.5], horizon_months=H)
    x, tx, T = (r[k].to_numpy(float) for k in ("frequency", "recency", "T"))
    pa = fit.p_alive(x, tx, T)
    t = H * DAYS_PER_MONTH / 7.0
    G = fit.expected_visits_alive(t, x, T, np.array([1.0, 0.8, 0.5]))   # client by client
    gain = (pa * margin) @ (G[:, 1:] - G[:, [0]])
    np.testing.assert_allclose(eff["incremental_margin_year"].to_numpy()[1:], gain, rtol=1e-9)
    np.testing.assert_allclose(eff["incremental_visits_year"].to_numpy()[1:], pa @ (G[:, 1:] - G[:, [0]]),
                               rtol=1e-9)
    hold = R.holdout_check(v, r, fit)
    assert hold is not None
    th = hold.attrs["holdout_days"] / 7.0
    per_client = fit.conditional_expected_visits(th, x, tx, T)
    np.testing.assert_allclose(hold.attrs["predicted_total"], per_client.sum(), rtol=1e-10)


def _attached_reference(visits, min_share=0.5, min_visits=2):
    """The grouping on the ids themselves (before codes)."""
    v = R._done(visits)
    v = v[v["specialist_id"].notna()]
    by = ["client_id"] + (["block"] if "block" in v.columns else [])
    cnt = v.groupby(by + ["specialist_id"], observed=True, sort=False).size().rename("visits").reset_index()
    cnt = cnt[cnt["visits"] > 0]
    tot = cnt.groupby(by, observed=True, sort=False)["visits"].transform("sum")
    cnt["share"] = cnt["visits"] / tot
    cnt = cnt[tot.to_numpy() >= max(1, int(min_visits))]
    cnt = cnt.sort_values(by + ["share"], ascending=[True] * len(by) + [False], kind="stable")
    top = cnt.groupby(by, observed=True, sort=False).head(1)
    top = top[top["share"] >= min_share]
    cols = ["client_id", "specialist_id"] + (["block"] if "block" in v.columns else []) + ["visits", "share"]
    return top[cols].reset_index(drop=True)


@pytest.mark.parametrize("categorical", [False, True])
def test_attached_clients_on_codes_equal_grouping_ids(small, categorical):
    v = small[0]
    if categorical:
        v = v.assign(**{c: v[c].astype("category") for c in ("client_id", "block", "specialist_id")})
    got = R.attached_clients(v)
    assert len(got) > 50
    pd.testing.assert_frame_equal(got, _attached_reference(v))
    no_block = v.drop(columns="block")
    pd.testing.assert_frame_equal(R.attached_clients(no_block), _attached_reference(no_block))


def test_departure_revenue_on_keys_equals_grouping_ids(small):
    v = small[0]
    staff = generate(clients=600, months=18, seed=7).staff
    plain = R.departure_inputs(v, staff, 0.5)
    cat = R.departure_inputs(v.assign(**{c: v[c].astype("category") for c in ("client_id", "block", "specialist_id")}),
                             staff, 0.5)
    by = plain.by_specialist
    assert len(by) and by["revenue_year"].sum() > 0
    np.testing.assert_array_equal(by["revenue_year"].to_numpy(), cat.by_specialist["revenue_year"].to_numpy())
    # the revenue at risk, attachment by attachment, from the ids themselves
    d = R._done(v).assign(date=lambda f: pd.to_datetime(f["date"]).dt.normalize())
    end, start = d["date"].max(), d["date"].min()
    span = min(365.0, float((end - start).days) + 1.0)
    ly = d[d["date"] > end - pd.Timedelta(days=365)]
    rev = ly.groupby(["client_id", "block"])["amount"].sum() * (365.0 / span)
    att = R.attached_clients(d)
    working = set(staff.loc[staff["left"].isna() | (staff["left"] > end), "specialist_id"])
    att = att[att["specialist_id"].isin(working)]
    att = att.assign(revenue_year=[rev.get((c, b), 0.0) for c, b in zip(att["client_id"], att["block"])])
    want = att.groupby(["specialist_id", "block"])["revenue_year"].sum()
    got = by.set_index(["specialist_id", "block"])["revenue_year"]
    np.testing.assert_allclose(got.reindex(want.index).to_numpy(), want.to_numpy(), rtol=1e-12)


def _analysis(r, fit, gg, margin_ratio=0.4):
    spend = gg.expected_spend(r["frequency"], r["monetary_value"])
    return R.RetentionAnalysis(rfm=r, time_unit="W", time_unit_days=7.0, calibration_end=None,
                               margin_ratio=margin_ratio, bgnbd=fit, gamma_gamma=gg,
                               clv=pd.DataFrame({"spend_per_visit": spend}, index=r.index))


def test_bootstrap_collapsed_equals_per_client(small):
    """One bootstrap refit on collapsed rows with counts as weights: the same fits as on the
    resampled clients, and the same effect curve as client by client with the refit models."""
    _, r, fit, _ = small
    gg = R.fit_gamma_gamma(r)
    a = _analysis(r, fit, gg)
    effects = np.array([0.0, 0.1, 0.3, 0.6])
    H = 12
    b = R.model_bootstrap(a, H, 1, np.random.default_rng(5), effects)
    assert b.kept == 1
    idx = np.random.default_rng(5).integers(0, len(r), len(r))     # the same resample, as rows
    rb = r.iloc[idx]
    rb.attrs = dict(r.attrs)
    fit_b, gg_b = R.fit_bgnbd(rb), R.fit_gamma_gamma(rb)
    row = b.params.iloc[0]
    for k, v in fit_b.params.items():
        assert row[f"bgnbd_{k}"] == pytest.approx(v, rel=1e-5), k
    for k, v in gg_b.params.items():
        assert row[f"gg_{k}"] == pytest.approx(v, rel=1e-5), k
    # client by client with the bootstrap's own refit parameters
    fit_k = R.BGNBDResult(params={k: row[f"bgnbd_{k}"] for k in fit_b.params}, se={}, loglik=0.0, n=0, n_repeat=0)
    gg_k = R.GammaGammaResult(params={k: row[f"gg_{k}"] for k in gg_b.params}, se={}, loglik=0.0, n=0)
    x, tx, T = (rb[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    m = gg_k.expected_spend(x, rb["monetary_value"].to_numpy(float)) * a.margin_ratio
    pa = fit_k.p_alive(x, tx, T)
    G = fit_k.expected_visits_alive(H * DAYS_PER_MONTH / 7.0, x, T, np.clip(1.0 - effects, 1e-9, 1.0))
    want = np.maximum((pa * m) @ (G - G[:, [0]]), 0.0)
    np.testing.assert_allclose(b.curves[0], want, rtol=1e-9, atol=1e-9)
    assert R.effect_curves_bootstrap(a, H, 1, np.random.default_rng(5), effects) == pytest.approx(b.curves)


def test_bootstrap_departure_share_by_client(small):
    """The departures share of a refit is the excess share counted on the resampled clients."""
    v, r, fit, _ = small
    staff = generate(clients=600, months=18, seed=7).staff
    sh = R.attached_leave_share(v, staff)
    if sh is None:
        pytest.skip("no measurable departure in this sample")
    c = sh.clients
    assert int(c["attached"].sum()) == sh.attached and int(c["baseline_gone"].sum()) == sh.baseline_gone
    assert R._excess_share(sh.attached, sh.attached_gone, sh.baseline, sh.baseline_gone) == pytest.approx(sh.share)
