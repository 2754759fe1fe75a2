"""Shared maximum-likelihood plumbing: optimise on log-parameters, standard errors from the Hessian."""
from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import minimize

__all__ = ["fit_log_params", "hessian_se"]


def fit_log_params(neg_ll_and_grad, x0, bounds=(-25.0, 25.0), maxiter=1000):
    """Minimise ``neg_ll_and_grad(log_theta) -> (f, grad)`` with L-BFGS-B on log-parameters.

    Returns the ``scipy.optimize.OptimizeResult``.  The bounds keep ``exp`` finite; a parameter
    that ends on a bound means the data cannot identify it (the caller warns).
    """
    x0 = np.asarray(x0, float)
    res = minimize(neg_ll_and_grad, x0, jac=True, method="L-BFGS-B",
                   bounds=[bounds] * len(x0),
                   options={"maxiter": maxiter, "ftol": 1e-13, "gtol": 1e-7, "maxcor": 20})
    return res


def hessian_se(grad_natural, theta, rel_step=1e-5):
    """Standard errors from the numerical Hessian of the negative log-likelihood.

    The Hessian is built by central differences of the analytic gradient in the *natural*
    parameters, symmetrised; SE = sqrt(diag(H^-1)).  NaN where H is not positive definite.

    Returns
    -------
    se : ndarray
    hessian : ndarray
    """
    theta = np.asarray(theta, float)
    k = len(theta)
    h = rel_step * np.maximum(np.abs(theta), 1e-8)
    H = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = h[j]
        H[:, j] = (grad_natural(theta + e) - grad_natural(theta - e)) / (2 * h[j])
    H = 0.5 * (H + H.T)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cov = np.linalg.inv(H)
        var = np.diag(cov)
        se = np.where(var > 0, np.sqrt(np.abs(var)), np.nan)
    except np.linalg.LinAlgError:
        se = np.full(k, np.nan)
    return se, H
