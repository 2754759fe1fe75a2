"""Shared maximum-likelihood plumbing: optimise on transformed parameters from several starting
points, standard errors from the Hessian, and the fit contract every model reports.

The fit contract (:class:`FitCheck`): a fit says whether the optimiser **converged**, whether a
parameter ended **at a boundary** of the parameter space (and which one), and whether the
log-likelihood and parameters are **finite**.  A fit is usable (:attr:`FitCheck.ok`) only when it
converged to finite values inside the space; otherwise the model falls back to its limit case
(see each model) and says so with an :class:`analysis.codes.Note`.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.stats import chi2

__all__ = ["FitCheck", "fit_log_params", "fit_multistart", "hessian_se", "lr_test", "LOG_BOUND"]

#: Bound on every transformed (log or logit) parameter: exp(25) ~ 7e10 keeps exp finite.
LOG_BOUND = 25.0
_EDGE = 0.1


@dataclass(frozen=True)
class FitCheck:
    """What a maximum-likelihood fit reports about itself (the kit's fit contract).

    Attributes
    ----------
    converged : bool
        The optimiser reported success from at least one starting point.
    at_boundary : bool
        A parameter ended at the edge of the space (``boundary_params`` says which): the data cannot
        tell it from its limit (0 or infinity), so the model's limit case is the honest fit.
    finite : bool
        Log-likelihood and every parameter are finite numbers.
    boundary_params : tuple of str
        Names of the parameters at a boundary, with the side: ``"a->inf"``, ``"alpha->0"``.
    starts : int
        Starting points tried.
    message : str
        The optimiser's last message (for analysts; never shown as a sentence on a page).
    """

    converged: bool
    at_boundary: bool
    finite: bool
    boundary_params: tuple = ()
    starts: int = 1
    message: str = ""

    @property
    def ok(self) -> bool:
        """Converged to finite values inside the parameter space."""
        return self.converged and self.finite and not self.at_boundary


_BLAS: list = []   # [[(get_num_threads, set_num_threads), ...]] of the bundled OpenBLAS libraries, once looked up


def _blas_threads():
    """The get / set thread-count functions of the OpenBLAS libraries bundled with scipy's wheel (which
    L-BFGS-B links) and numpy's (which the likelihoods' dot products use); an empty list where there
    are none (another BLAS, another platform): nothing is then changed."""
    if not _BLAS:
        found = []
        try:
            import ctypes
            import glob
            import os

            import scipy

            for pkg, suffix in ((scipy, ""), (np, "64_")):
                here = os.path.dirname(pkg.__file__)
                libs = sorted(glob.glob(os.path.join(os.path.dirname(here), f"{pkg.__name__}.libs",
                                                     "libscipy_openblas*.so*"))
                              + glob.glob(os.path.join(here, ".dylibs", "libscipy_openblas*.dylib")))
                for lib in libs:
                    h = ctypes.CDLL(lib)
                    get = getattr(h, f"scipy_openblas_get_num_threads{suffix}", None)
                    put = getattr(h, f"scipy_openblas_set_num_threads{suffix}", None)
                    if get is not None and put is not None:
                        found.append((get, put))
                        break
        except (OSError, ImportError, AttributeError):
            found = []
        _BLAS.append(found)
    return _BLAS[0]


class _OneBlasThread:
    """Run a fit with OpenBLAS on one thread, the previous counts restored after.

    L-BFGS-B's own linear algebra works on a handful of parameters (vectors of 2-4, matrices of at
    most ``maxcor`` = 20), yet each call woke OpenBLAS's threads: measured on a 2-core machine,
    2.5 ms of CPU per iteration with 2 threads against 0.04 ms with one, a third of the retention
    page's CPU on the sample.  The likelihoods' weighted sums over the distinct rows (``w @ ll``)
    spread over threads only past 10,000 rows, where threads cost more CPU than they save (a
    million-visit salon: 27 ms per BG/NBD likelihood with 2 threads, 2 ms with one).  With one thread
    the fits are those a one-core machine gives: the same to the last bit where the rows are fewer
    than 10,000 (the sample), within about 1e-7 relative of the 2-thread sums past that (measured on
    a million visits; the thread count of the machine decided those last digits before)."""

    def __enter__(self):
        self.prev = []
        for get, put in _blas_threads():
            try:
                n = int(get())
                if n != 1:
                    put(1)
                self.prev.append((put, n))
            except (OSError, ValueError):
                pass
        return self

    def __exit__(self, *exc):
        for put, n in self.prev:
            if n != 1:
                put(n)
        return False


def fit_log_params(neg_ll_and_grad, x0, bounds=(-LOG_BOUND, LOG_BOUND), maxiter=1000, jac=True):
    """Minimise ``neg_ll_and_grad(log_theta) -> (f, grad)`` with L-BFGS-B on log-parameters.

    With ``jac=False`` the function returns ``f`` only (finite-difference gradient).  Returns the
    ``scipy.optimize.OptimizeResult``.  The bounds keep ``exp`` finite; a parameter that ends on a
    bound means the data cannot identify it.  The optimiser's own small linear algebra runs on one
    BLAS thread (:class:`_OneBlasThread`).
    """
    x0 = np.asarray(x0, float)
    with _OneBlasThread():
        res = minimize(neg_ll_and_grad, x0, jac=jac, method="L-BFGS-B",
                       bounds=[bounds] * len(x0),
                       options={"maxiter": maxiter, "ftol": 1e-13, "gtol": 1e-7, "maxcor": 20})
    return res


def fit_multistart(objective, starts, jac=True, interior=None, maxiter=1000):
    """Fit from several starting points; keep the best finite optimum.

    Parameters
    ----------
    objective : callable
        As for :func:`fit_log_params`.
    starts : sequence of arrays
        Starting points in the transformed space, tried in order.
    interior : callable, optional
        ``interior(x) -> bool``: whether a solution is inside the space.  The search stops at the
        first start that converges to a finite interior solution; otherwise every start is tried.

    Returns
    -------
    best : OptimizeResult
        Lowest finite objective among the starts (the first start's result if none is finite).
    tried : int
        Number of starts tried.
    any_success : bool
        Whether any start reported convergence.
    """
    best, tried, any_ok = None, 0, False
    for x0 in starts:
        tried += 1
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                res = fit_log_params(objective, x0, jac=jac, maxiter=maxiter)
            except (ValueError, FloatingPointError):
                continue
        good = np.isfinite(res.fun) and np.all(np.isfinite(res.x))
        any_ok |= bool(res.success) and good
        if good and (best is None or not np.isfinite(best.fun) or res.fun < best.fun - 1e-9):
            best = res
        elif best is None:
            best = res
        if good and res.success and (interior is None or interior(res.x)):
            break
    return best, tried, any_ok


def on_edge(x, bound=LOG_BOUND, edge=_EDGE):
    """Per transformed parameter: -1 at the lower bound, +1 at the upper, 0 inside."""
    x = np.asarray(x, float)
    return np.where(x >= bound - edge, 1, np.where(x <= -bound + edge, -1, 0))


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


def numeric_grad(f, theta, rel_step=1e-6):
    """Central-difference gradient of a scalar ``f`` at ``theta`` (natural parameters)."""
    theta = np.asarray(theta, float)
    g = np.empty(len(theta))
    for j in range(len(theta)):
        h = rel_step * max(abs(theta[j]), 1e-8)
        e = np.zeros(len(theta))
        e[j] = h
        g[j] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g


def lr_test(loglik_full: float, loglik_limit: float, df: int = 1, on_boundary: bool = True):
    """Likelihood-ratio test of a limit (nested) model against the full one.

    ``LR = 2 (ll_full - ll_limit)``.  When the limit lies on the boundary of the full model's space
    (a, b -> infinity), LR follows the 50:50 mixture of chi2(0) and chi2(df) (Self & Liang 1987),
    so the p-value is halved.

    Returns
    -------
    (lr, p_value) : tuple of float
    """
    lr = max(0.0, 2.0 * (float(loglik_full) - float(loglik_limit)))
    p = float(chi2.sf(lr, df))
    return lr, (0.5 * p if on_boundary and lr > 0 else (1.0 if lr == 0 else p))
