"""The retention models' cheaper evaluations give the same numbers as the row-by-row ones.

* BG/NBD and Gamma-Gamma likelihoods: the terms that depend on x alone (special functions) or on
  t_x / T alone (logarithms) are computed once per distinct value and gathered; the operations per
  row stay the same and in the same order, so the likelihood and its gradient are equal to the last
  bit (checked on random data and random parameters, with hypothesis).
* The bootstrap's curves use :meth:`_EffectModel.margin` (no first-year quadrature), equal bit for
  bit to ``gains()[1]``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings, HealthCheck
from hypothesis import strategies as st

from analysis.models.bgnbd import _Data, fit_bgnbd, simulate_bgnbd
from analysis.models.gamma_gamma import _Rows, _negll_grad, fit_gamma_gamma, simulate_gamma_gamma
from analysis.sections import retention as R


def _bgnbd_rows(seed, n, resolution):
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 105, n) / 7.0
    truth = {"r": float(rng.uniform(0.1, 3)), "alpha": float(rng.uniform(0.5, 20)),
             "a": float(rng.uniform(0.2, 5)), "b": float(rng.uniform(0.5, 20))}
    return simulate_bgnbd(truth, T, rng, resolution=resolution), rng


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), n=st.integers(30, 3000), daily=st.booleans(),
       weighted=st.booleans(),
       theta=st.tuples(*[st.floats(-6, 6, allow_nan=False)] * 4))
def test_bgnbd_likelihood_gathered_equals_row_by_row(seed, n, daily, weighted, theta):
    sim, rng = _bgnbd_rows(seed, n, 1 / 7 if daily else None)
    w = rng.integers(0, 4, n).astype(float) if weighted else None
    d = _Data(sim["frequency"].to_numpy(), sim["recency"].to_numpy(), sim["T"].to_numpy(), weights=w)
    th = np.exp(np.asarray(theta))
    with np.errstate(all="ignore"):
        f1, g1 = d.negll_grad(th)
        f2, g2 = d.negll_grad_rows(th)
    assert np.array_equal(f1, f2, equal_nan=True)
    assert np.array_equal(g1, g2, equal_nan=True)


def test_bgnbd_likelihood_known_value():
    # one client with x = 2, t_x = 3, T = 5 and one without repeats at T = 4 (FHL 2005 eq. 6, by hand)
    from scipy.special import gammaln

    r, al, a, b = 0.7, 3.0, 1.2, 2.5
    d = _Data(np.array([2.0, 0.0]), np.array([3.0, 0.0]), np.array([5.0, 4.0]))
    A1 = gammaln(r + 2) - gammaln(r) + r * np.log(al)
    A2 = gammaln(a + b) + gammaln(b + 2) - gammaln(b) - gammaln(a + b + 2)
    A3 = -(r + 2) * np.log(al + 5)
    A4 = np.log(a) - np.log(b + 1) - (r + 2) * np.log(al + 3)
    ll1 = A1 + A2 + np.logaddexp(A3, A4)
    ll0 = r * np.log(al) - r * np.log(al + 4)
    f, _ = d.negll_grad(np.array([r, al, a, b]))
    np.testing.assert_allclose(-f, ll1 + ll0, rtol=1e-13)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), n=st.integers(10, 3000),
       theta=st.tuples(*[st.floats(-6, 6, allow_nan=False)] * 3))
def test_gamma_gamma_likelihood_gathered_equals_row_by_row(seed, n, theta):
    rng = np.random.default_rng(seed)
    x = (rng.poisson(rng.uniform(0.5, 8), n) + 1).astype(float)
    m = simulate_gamma_gamma({"p": 6.0, "q": 4.0, "gamma": 15.0}, x, rng) / 30.0
    m = np.maximum(m, 1e-6)
    w = rng.integers(1, 4, n).astype(float)
    th = np.exp(np.asarray(theta))
    with np.errstate(all="ignore"):
        f1, g1 = _Rows(x, m, w).negll_grad(th)
        f2, g2 = _negll_grad(th, x, m, w)
    assert np.array_equal(f1, f2, equal_nan=True)
    assert np.array_equal(g1, g2, equal_nan=True)


def test_fits_recover_truth_on_a_large_sample():
    """The fits on the gathered likelihoods still find the truth (a known answer at scale)."""
    rng = np.random.default_rng(11)
    truth = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    sim = simulate_bgnbd(truth, rng.integers(1, 39 * 7 + 1, 40_000) / 7.0, rng, resolution=1 / 7)
    fit = fit_bgnbd(sim, se=False)
    assert fit.variant == "bgnbd"
    for k, v in truth.items():
        assert abs(fit.params[k] / v - 1) < 0.2, (k, fit.params[k], v)
    x = (rng.poisson(3, 20_000) + 1).astype(float)
    gtruth = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    m = simulate_gamma_gamma(gtruth, x, rng)
    gg = fit_gamma_gamma(pd.DataFrame({"frequency": x, "monetary_value": m}), se=False)
    assert abs(gg.population_mean_spend / (6.0 * 15.0 / 3.0) - 1) < 0.05


def test_margin_equals_gains_bit_for_bit():
    sim, rng = _bgnbd_rows(5, 2000, 1 / 7)
    sim.attrs["time_unit_days"] = 7.0
    fit = fit_bgnbd(sim, se=False)
    assert fit.usable
    m = rng.uniform(100, 900, len(sim))
    w = rng.integers(0, 3, len(sim)).astype(float)
    scales = np.clip(1.0 - np.linspace(0, 1, 51), 1e-9, 1.0)
    for H, new in ((36, 0.0), (36, 250.0), (12, 100.0), (7, 0.0)):
        em = R._EffectModel(sim, fit, m, H, 7.0, new, 400.0, weights=w)
        with np.errstate(all="ignore"):
            assert np.array_equal(em.margin(scales), em.gains(scales)[1])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), n=st.integers(30, 2000),
       variant=st.sampled_from(["bgnbd", "same_dropout", "same_rate", "same_both"]),
       z=st.tuples(*[st.floats(-5, 5, allow_nan=False)] * 4))
def test_family_likelihood_gathered_equals_row_by_row(seed, n, variant, z):
    from analysis.models.bgnbd import VARIANTS, _family_ll, _family_ll_rows

    sim, rng = _bgnbd_rows(seed, n, 1 / 7)
    d = _Data(sim["frequency"].to_numpy(), sim["recency"].to_numpy(), sim["T"].to_numpy(),
              weights=rng.integers(0, 3, n).astype(float))
    x, tx, T, w = d.all_rows()
    th = np.exp(np.asarray(z[:len(VARIANTS[variant])]))
    if "p" in VARIANTS[variant]:
        th[-1] = th[-1] / (1.0 + th[-1])       # a probability
    with np.errstate(all="ignore"):
        v1 = _family_ll(variant, th, x, tx, T, w, np.unique(x, return_inverse=True))
        v2 = _family_ll_rows(variant, th, x, tx, T, w)
    assert np.array_equal(v1, v2, equal_nan=True)


def test_one_blas_thread_restores_and_changes_no_small_fit(monkeypatch):
    """On fewer than 10,000 distinct rows the fits with one BLAS thread are the same to the last bit,
    and the thread counts are restored afterwards."""
    from analysis.models import _mle

    fns = _mle._blas_threads()
    before = [get() for get, _ in fns]
    sim, rng = _bgnbd_rows(17, 3000, 1 / 7)
    x = (rng.poisson(3, 2000) + 1).astype(float)
    spend = pd.DataFrame({"frequency": x, "monetary_value": simulate_gamma_gamma({"p": 6.0, "q": 4.0, "gamma": 15.0}, x, rng)})
    with_one = fit_bgnbd(sim), fit_gamma_gamma(spend)
    assert [get() for get, _ in fns] == before
    monkeypatch.setattr(_mle, "_BLAS", [[]])          # as where no OpenBLAS is found
    without = fit_bgnbd(sim), fit_gamma_gamma(spend)
    for a, b in zip(with_one, without):
        assert a.params == b.params and a.loglik == b.loglik


def test_one_blas_thread_large_fit_within_tolerance(monkeypatch):
    """Past 10,000 distinct rows the sums may split between threads: the fit with one thread is
    within 1e-6 relative of the fit with the machine's threads."""
    from analysis.models import _mle

    rng = np.random.default_rng(23)
    truth = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    sim = simulate_bgnbd(truth, rng.integers(1, 104 * 7 + 1, 60_000) / 7.0, rng, resolution=1 / 7)
    one = fit_bgnbd(sim, se=False)
    monkeypatch.setattr(_mle, "_BLAS", [[]])
    machine = fit_bgnbd(sim, se=False)
    for k in one.params:
        assert abs(one.params[k] / machine.params[k] - 1) < 1e-6
