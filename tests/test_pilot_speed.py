"""The pilot page's analytic derivatives (issue 15): per-client scores and Hessians of
:class:`EffectLikelihood` against central differences, the likelihood against the former
computation, and the standard errors built on them (robust_se, information, fit_effect's se)
against their former central-difference forms."""
import warnings

import numpy as np
import pytest

from analysis.sections.pilot import power, structural
from analysis.sections.pilot.structural import EffectLikelihood, _full

PARAMS = [{"r": 0.8, "alpha": 4.0, "a": 0.9, "b": 3.5}, {"r": 0.6, "alpha": 3.0, "a": 1.4, "b": 5.0}]


def _rows(rng, n):
    x0 = rng.poisson(2.0, n).astype(float)
    x1 = np.where(rng.random(n) < 0.6, rng.poisson(1.5, n), 0).astype(float)
    T = rng.uniform(5.0, 60.0, n)
    tx = np.where(x0 + x1 > 0, T * rng.uniform(0.0, 1.0, n), 0.0)
    pilot = rng.random(n) < 0.4
    return x0, x1, tx, T, pilot


def _old_eval(lik, rows, log_g, log_k, effect):
    """The per-client log-likelihood as computed before the analytic derivatives (reference)."""
    r = rows
    pil = lik.pilot[r]
    g = np.where(pil, np.exp(log_g), 1.0)[:, None]
    c0 = g
    c1 = g * np.exp(log_k) * np.where(pil, 1.0 - effect, 1.0)[:, None]
    P1, W1, lr1 = lik.P[lik.idx1[r]], lik.W[lik.idx1[r]], lik.lr[lik.idx1[r]]
    P2, W2, lr2 = lik.P[lik.idx2[r]], lik.W[lik.idx2[r]], lik.lr[lik.idx2[r]]

    def lratio(c, P, lr):
        return np.log1p(-np.minimum(c * P, 1.0 - 1e-12)) + lr

    e1 = lik.x1[r, None] * lratio(c1, P1, lr1)
    e2 = lik.x1_2[r, None] * lratio(c1, P2, lr2)
    if log_g != 0.0:
        e1 += lik.x0[r, None] * lratio(c0, P1, lr1)
        e2 += lik.x0_2[r, None] * lratio(c0, P2, lr2)
    l1 = np.log(np.einsum("nk,nk->n", W1, np.exp(e1)))
    q = np.minimum(np.where(lik.last_post[r, None], c1, c0) * P2, 1.0)
    with np.errstate(divide="ignore"):
        l2 = np.log(np.einsum("nk,nk->n", W2, q * np.exp(e2)))
    return np.logaddexp(lik.C1[r] + l1, np.where(lik.pos[r], lik.C2[r] + l2, -np.inf))


@pytest.mark.parametrize("seed", range(6))
def test_likelihood_equals_the_former_computation(seed):
    rng = np.random.default_rng(seed)
    lik = EffectLikelihood(*_rows(rng, 700), PARAMS)
    allrows = np.arange(lik.x1.size)
    for _ in range(4):
        log_g = 0.0 if rng.random() < 0.5 else rng.uniform(-0.5, 0.5)
        log_k, effect = rng.uniform(-0.7, 0.7), rng.uniform(-1.0, 0.9)
        np.testing.assert_allclose(lik.per_client(log_g, log_k, effect), _old_eval(lik, allrows, log_g, log_k, effect),
                                   rtol=1e-12, atol=1e-12)
        v, _ = lik.value_and_grad(log_k, effect)
        assert v == pytest.approx(_old_eval(lik, allrows, 0.0, log_k, effect).sum(), rel=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_analytic_scores_and_hessians_agree_with_central_differences(seed):
    rng = np.random.default_rng(100 + seed)
    lik = EffectLikelihood(*_rows(rng, 600), PARAMS)
    log_k, effect = rng.uniform(-0.6, 0.6), rng.uniform(-0.8, 0.85)
    ll, S, Hc = lik.derivatives(log_k, effect)
    np.testing.assert_allclose(ll, lik.per_client(0.0, log_k, effect), rtol=1e-13)
    h = 1e-5
    th = np.array([log_k, effect])
    for j in range(2):
        e = np.eye(2)[j] * h
        fd = (lik.per_client(0.0, *(th + e)) - lik.per_client(0.0, *(th - e))) / (2 * h)
        np.testing.assert_allclose(S[:, j], fd, rtol=1e-5, atol=1e-7)
        # the Hessian's column j: central differences of the analytic scores
        fdh = (lik.derivatives(*(th + e), order=1)[1] - lik.derivatives(*(th - e), order=1)[1]) / (2 * h)
        np.testing.assert_allclose(Hc[:, :, j], fdh, rtol=1e-5, atol=1e-6)
    # the summed gradient is value_and_grad's, weighted too
    w = rng.integers(0, 3, lik.x1.size).astype(float)
    v, g = lik.value_and_grad(log_k, effect, weights=w)
    assert v == pytest.approx(w @ ll, rel=1e-13)
    np.testing.assert_allclose(g, w @ S, rtol=1e-12)
    # clients without repeat visits after `since` carry no information
    assert not np.any(S[lik.x1 == 0]) and not np.any(Hc[lik.x1 == 0])


def test_derivatives_only_at_no_group_level():
    lik = EffectLikelihood(*_rows(np.random.default_rng(1), 50), PARAMS)
    with pytest.raises(ValueError):
        lik._pass(np.arange(50), 0.3, 0.0, 0.1, order=1)


def _sim_lik(seed, control, effect, months, n=1500):
    """Likelihood rows of a pilot simulated from the model itself (power.simulate_pilot)."""
    import pandas as pd
    rng0 = np.random.default_rng(seed)
    rfm = pd.DataFrame({"frequency": rng0.poisson(2, n).astype(float)})
    rfm["T"] = rng0.uniform(10, 80, n)
    rfm["recency"] = np.where(rfm["frequency"] > 0, rfm["T"] * rng0.uniform(0, 1, n), 0.0)
    hc = rng0.integers(0, 3, n)
    params = PARAMS[0]
    sim = power.simulate_pilot(params, rfm, hc, 30.0, np.full(3, 1 / 3), [0] if control else None, effect, 7.0,
                               np.random.default_rng(seed + 1))
    x0, x1, tx, T, pilot = power._rows_at(sim, months, 7.0)
    return EffectLikelihood(x0, x1, tx, T, pilot, [params, params]), rng0


@pytest.mark.parametrize("control", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_robust_se_and_fit_se_unchanged(control, seed):
    """robust_se (analytic) against the former central differences (h = 1e-3): within 1e-5 relative
    (the differences' own truncation error); fit_effect's se against the former numerical Hessian."""
    lik, _ = _sim_lik(200 + seed, control, (0.1, 0.4, 0.7, 0.25)[seed], (3, 6, 12, 9)[seed])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = structural.fit_effect(lik, control)
    S, H = structural.score_and_hessian(lik, fit.theta, control)
    S0, H0 = structural._score_and_hessian_fd(lik, fit.theta, control)
    # the former central differences (h = 1e-3) carry a truncation error of order h^2 (2.5e-5 relative
    # for a few clients with many visits after `since`); the analytic scores are checked to 1e-5
    # against h = 1e-5 above
    np.testing.assert_allclose(S, S0, rtol=1e-4, atol=5e-5)
    np.testing.assert_allclose(H, H0, rtol=1e-5)
    Hi, Hi0 = np.linalg.inv(H), np.linalg.inv(H0)
    old = float(np.sqrt((Hi0 @ (S0.T @ S0) @ Hi0)[-1, -1]))
    assert structural.robust_se(lik, fit, control) == pytest.approx(old, rel=1e-5)
    f = lambda th: -lik(_full(th, control))  # noqa: E731
    se_old = float(np.sqrt(np.linalg.inv(structural._hessian(f, fit.theta))[-1, -1]))
    assert fit.se == pytest.approx(se_old, rel=1e-4)


@pytest.mark.parametrize("control", [True, False])
def test_information_unchanged(control):
    """power.information (analytic scores) against the former central differences (h = 1e-4)."""
    rng0 = np.random.default_rng(7)
    n = 800
    rfm = __import__("pandas").DataFrame({"frequency": rng0.poisson(2, n).astype(float)})
    rfm["T"] = rng0.uniform(10, 80, n)
    rfm["recency"] = np.where(rfm["frequency"] > 0, rfm["T"] * rng0.uniform(0, 1, n), 0.0)
    hc = rng0.integers(0, 3, n)
    params = PARAMS[0]
    for effect in (0.1, 0.5, 0.9):
        sim = power.simulate_pilot(params, rfm, hc, 20.0, np.full(3, 1 / 3), [0] if control else None, effect, 7.0,
                                   np.random.default_rng(3))
        for months in (2, 6, 12):
            x0, x1, tx, T, pilot = power._rows_at(sim, months, 7.0)
            lik = EffectLikelihood(x0, x1, tx, T, pilot, [params, params])
            theta = np.array([0.0, effect]) if control else np.array([effect])
            h = 1e-4
            f = lambda th: lik.per_client(*_full(th, control))  # noqa: E731
            S = np.stack([(f(theta + np.eye(theta.size)[i] * h) - f(theta - np.eye(theta.size)[i] * h)) / (2 * h)
                          for i in range(theta.size)], 1)
            old = float(np.sqrt(np.linalg.inv(S.T @ S)[-1, -1]))
            assert power.information(sim, params, months, 7.0, control, effect) == pytest.approx(old, rel=1e-6)


def _lbfgsb_fit(lik, control, weights=None, ftol=1e-13, gtol=1e-8):
    """The former fit: L-BFGS-B from zero with the analytic gradient (reference; with ``ftol=0`` and a
    small ``gtol`` driven to the maximum itself)."""
    from scipy.optimize import minimize

    def fg(th):
        v, g = lik.value_and_grad(*(th if control else (0.0, th[0])), weights=weights)
        g = g if control else g[1:]
        return (-v, -g) if np.isfinite(v) and np.all(np.isfinite(g)) else (np.inf, np.zeros_like(th))
    n = 2 if control else 1
    bounds = ([structural.LOGK_BOUNDS] * (n - 1)) + [structural.E_BOUNDS]
    with np.errstate(all="ignore"):
        res = minimize(fg, np.zeros(n), method="L-BFGS-B", jac=True, bounds=bounds,
                       options={"ftol": ftol, "gtol": gtol, "maxiter": 2000})
    return res.x, -res.fun


@pytest.mark.parametrize("control", [True, False])
@pytest.mark.parametrize("seed", range(8))
def test_newton_fit_lands_on_the_former_maximum(control, seed):
    """fit_effect (Newton, from zero or from the truth) against the former L-BFGS-B fit (from zero,
    ``ftol`` 1e-13) on pilots simulated from the model: the same maximum (E within 1e-5), weighted
    too, never a lower likelihood, and a zero score there.

    (On rows not drawn from the model, where the time effect ``k`` goes far above 1 and ``c p`` is
    clipped at 1 for many quadrature nodes, the likelihood can have two maxima and the two methods
    may land on different ones: on ``_rows`` seed 301 Newton found the higher.)"""
    effect = (0.1, 0.3, 0.5, 0.0)[seed % 4]
    lik, rng = _sim_lik(400 + seed, control, effect, (3, 6, 12)[seed % 3])
    w = None if seed % 2 == 0 else rng.integers(0, 3, lik.x1.size).astype(float)
    ref, ref_ll = _lbfgsb_fit(lik, control, w)
    for start in (None, [0.0, effect] if control else [effect]):
        fit = structural.fit_effect(lik, control, weights=w, start=start)
        assert fit.effect == pytest.approx(ref[-1], abs=1e-5)
        assert fit.loglik >= ref_ll - 1e-10 * abs(ref_ll)
        if structural._newton(lik, np.zeros(1 + control) if start is None else start, control, w) is not None:
            S = structural.score_and_hessian(lik, fit.theta, control)[0]
            np.testing.assert_allclose(S.sum(0) if w is None else w @ S, 0.0, atol=1e-6)
        else:   # Newton could not proceed: the former fit itself
            np.testing.assert_array_equal(fit.theta, ref)


def test_newton_falls_back_to_lbfgsb_at_a_bound():
    """Where the maximum sits at the bound of E (every pilot-group client kept), Newton steps out of
    the bounds and the fit is L-BFGS-B's, as before."""
    rng = np.random.default_rng(5)
    x0, x1, tx, T, pilot = _rows(rng, 1500)
    x1 = np.where(pilot, x1 + 8 * (x1 > 0), x1)
    tx = np.where(pilot & (x1 > 0), T, tx)
    lik = EffectLikelihood(x0, x1, tx, T, pilot, [PARAMS[0], PARAMS[0]])
    ref, _ = _lbfgsb_fit(lik, True)
    fit = structural.fit_effect(lik, True)
    assert structural._newton(lik, np.zeros(2), True) is None or fit.effect == pytest.approx(ref[-1], abs=1e-5)
    assert fit.effect == pytest.approx(ref[-1], abs=1e-4)
