"""The structural pilot likelihood's analytic gradient in (ln k, E) against central differences, and the
fit it drives against the fit by differences alone."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from analysis.sections.pilot import structural as S


def _lik(seed, n=400):
    rng = np.random.default_rng(seed)
    x0 = rng.poisson(2, n).astype(float)
    x1 = rng.poisson(1.5, n).astype(float)
    T = rng.uniform(20, 100, n)
    tx = np.where(x0 + x1 > 0, T * rng.uniform(0, 1, n), 0.0)
    pilot = rng.random(n) < 0.5
    params = {"r": float(rng.uniform(0.5, 2)), "alpha": float(rng.uniform(3, 12)),
              "a": float(rng.uniform(0.4, 1.5)), "b": float(rng.uniform(1.5, 5))}
    return S.EffectLikelihood(x0, x1, tx, T, pilot, [params, params]), rng


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), log_k=st.floats(-1.0, 1.0), effect=st.floats(-2.0, 0.97),
       weighted=st.booleans())
def test_gradient_matches_central_differences(seed, log_k, effect, weighted):
    lik, rng = _lik(seed)
    w = rng.integers(0, 3, lik.x1.size).astype(float) if weighted else None
    v, g = lik.value_and_grad(log_k, effect, w)
    assert v == pytest.approx(lik((0.0, log_k, effect), w), rel=1e-12, abs=1e-9)
    h = 1e-5
    num = [(lik((0.0, log_k + h, effect), w) - lik((0.0, log_k - h, effect), w)) / (2 * h),
           (lik((0.0, log_k, effect + h), w) - lik((0.0, log_k, effect - h), w)) / (2 * h)]
    assert g == pytest.approx(num, rel=1e-4, abs=1e-3)


@pytest.mark.parametrize("control", [True, False])
def test_fit_with_the_gradient_is_the_fit_by_differences(control):
    lik, _ = _lik(7, 1500)
    fast = S.fit_effect(lik, control=control)
    # the same maximum found without the gradient: minimise by differences on the same bounds
    from scipy.optimize import minimize
    n_par = 2 if control else 1
    f = lambda th: -lik(S._full(th, control))  # noqa: E731
    res = minimize(f, np.zeros(n_par), method="L-BFGS-B", bounds=[S.LOGK_BOUNDS] * (n_par - 1) + [S.E_BOUNDS],
                   options={"ftol": 1e-13, "gtol": 1e-8})
    assert fast.effect == pytest.approx(res.x[-1], abs=1e-4)
    assert fast.loglik >= -res.fun - 1e-6
