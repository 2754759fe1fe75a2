"""Gamma-Gamma model of spend per visit (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie
2013, "The Gamma-Gamma model of monetary value", brucehardie.com/notes/025).

A client's visit amounts are Gamma(p, nu) with mean p / nu; across clients ``nu ~ Gamma(q, gamma)``.
Given x repeat visits with mean amount m, the density of m is::

    f(m | p, q, gamma, x) = G(px+q) / (G(px) G(q)) * gamma^q x^(px) m^(px-1) / (gamma + x m)^(px+q)

and the expected spend per visit of that client is ``p (gamma + x m) / (p x + q - 1)``: a weighted
mean of the population mean ``p gamma / (q - 1)`` and the client's own mean ``m``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from analysis.errors import InputError, Problem
from analysis.models._mle import FitCheck, fit_multistart, hessian_se, on_edge
from analysis.models.bgnbd import aggregate_rows

__all__ = ["GammaGammaResult", "fit_gamma_gamma", "simulate_gamma_gamma"]

PARAMS = ("p", "q", "gamma")
MIN_CLIENTS = 10


@dataclass
class GammaGammaResult:
    """A fitted Gamma-Gamma spend model.

    Attributes
    ----------
    params : dict
        ``{p, q, gamma}``.
    se : dict
        Standard errors (inverse Hessian).
    loglik : float
    n : int
        Clients with repeat visits and a positive mean spend used in the fit.
    summary : DataFrame
    """

    params: dict
    se: dict
    loglik: float
    n: int
    converged: bool = True
    summary: pd.DataFrame = field(default=None, repr=False)
    check: FitCheck = None

    def __post_init__(self):
        if self.check is None:
            self.check = FitCheck(self.converged, False, bool(np.all(np.isfinite(list(self.params.values())))))

    @property
    def has_mean(self) -> bool:
        """Whether the model has a finite mean spend (q > 1).  With q <= 1 the Gamma mixing of the
        clients' spend rates puts so much weight near zero that the mean spend is infinite: the
        kit then uses the observed mean spend instead (see :func:`analysis.sections.retention.analyse`)."""
        return self.params["q"] > 1.0

    @property
    def usable(self) -> bool:
        """Fit contract satisfied and a finite mean spend."""
        return self.check.ok and self.has_mean

    @property
    def population_mean_spend(self) -> float:
        """Mean spend per visit across clients, ``p gamma / (q - 1)`` (inf when q <= 1)."""
        p, q, g = (self.params[k] for k in PARAMS)
        return p * g / (q - 1.0) if q > 1 else float("inf")

    def expected_spend(self, frequency, monetary_value):
        """Expected spend per visit: ``p (gamma + x m) / (p x + q - 1)``; the population mean for
        clients without repeat visits."""
        p, q, g = (self.params[k] for k in PARAMS)
        x, m = (np.asarray(v, float) for v in np.broadcast_arrays(frequency, monetary_value))
        with np.errstate(divide="ignore", invalid="ignore"):
            own = p * (g + x * m) / (p * x + q - 1.0)
        return np.where(x > 0, own, self.population_mean_spend)


def _negll_grad(theta, x, m, w):
    p, q, g = theta
    px = p * x
    lgm = np.log(g + x * m)
    ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g)
          + (px - 1.0) * np.log(m) + px * np.log(x) - (px + q) * lgm)
    dpq = digamma(px + q)
    gp = x * (dpq - digamma(px) + np.log(m) + np.log(x) - lgm)
    gq = dpq - digamma(q) + np.log(g) - lgm
    gg = q / g - (px + q) / (g + x * m)
    return -(w @ ll), -np.array([w @ gp, w @ gq, w @ gg])


class _Rows:
    """Distinct (x, m) rows with weights and what the likelihood needs of them that does not depend
    on the parameters (ln m, ln x) or depends on x alone (the special functions, evaluated once per
    distinct x: a few hundred values for a million clients)."""

    def __init__(self, x, m, w):
        self.x, self.m, self.w = x, m, w
        self.logm, self.logx = np.log(m), np.log(x)
        self.xu, self.xi = np.unique(x, return_inverse=True)

    def negll_grad(self, theta):
        """:func:`_negll_grad` on these rows: the same operations in the same order per row, the
        x-only terms gathered from their distinct values, so the result is identical to the last bit."""
        p, q, g = theta
        x, m, w, xi = self.x, self.m, self.w, self.xi
        pxu = p * self.xu
        dpqu = digamma(pxu + q)
        ll_x = gammaln(pxu + q) - gammaln(pxu) - gammaln(q) + q * np.log(g)
        gp_x = dpqu - digamma(pxu)
        gq_x = dpqu - digamma(q) + np.log(g)
        px = pxu[xi]
        gxm = g + x * m
        lgm = np.log(gxm)
        ll = ll_x[xi] + (px - 1.0) * self.logm + px * self.logx - (px + q) * lgm
        gp = x * (gp_x[xi] + self.logm + self.logx - lgm)
        gq = gq_x[xi] - lgm
        gg = q / g - (px + q) / gxm
        return -(w @ ll), -np.array([w @ gp, w @ gq, w @ gg])


def fit_gamma_gamma(rfm, x0=(1.0, 1.0, 1.0), weights=None, se: bool = True, start=None) -> GammaGammaResult:
    """Fit the Gamma-Gamma model on clients with repeat visits.

    Parameters
    ----------
    rfm : DataFrame
        Columns ``frequency`` (x) and ``monetary_value`` (mean amount of the repeat visits, m);
        clients with ``x == 0`` or ``m <= 0`` are left out of the fit.
    weights : array-like, optional
        How many clients each row stands for (e.g. a bootstrap resample's counts); the fit equals
        the fit on the rows repeated that many times.
    se : bool
        Compute standard errors (numerical Hessian); False leaves them NaN.
    start : dict, optional
        ``{p, q, gamma}`` in the data's currency (e.g. the full sample's estimate for a bootstrap
        refit), tried before the other starts.

    Raises
    ------
    InputError
        Fewer than 10 clients with repeat visits and a positive spend.

    Returns
    -------
    GammaGammaResult
        With ``check`` (the fit contract: converged, at_boundary, finite) and ``has_mean``
        (q > 1).  Callers use the model only when ``usable``; otherwise the observed mean spend.

    Notes
    -----
    L-BFGS-B on log-parameters with the analytic gradient from up to three starting points; SE from
    the numerical Hessian.
    The model assumes spend is independent of visit frequency; check the correlation.
    """
    for c in ("frequency", "monetary_value"):
        if c not in rfm:
            raise InputError(Problem("rfm", f"the Gamma-Gamma model needs column {c}."))
    x = np.asarray(rfm["frequency"], float)
    m = np.asarray(rfm["monetary_value"], float)
    wt = np.ones_like(x) if weights is None else np.broadcast_to(np.asarray(weights, float), x.shape)
    keep = (x > 0) & (m > 0) & np.isfinite(m) & (wt > 0)
    n_keep = int(round(wt[keep].sum()))
    if n_keep < MIN_CLIENTS:
        raise InputError(Problem("visits", f"the Gamma-Gamma spend model needs at least {MIN_CLIENTS} "
                                 f"clients with repeat visits and a positive amount; got {n_keep}."))
    (xa, ma), w = aggregate_rows(x[keep], m[keep], weights=wt[keep])
    # scale amounts to about 1 for the optimiser; gamma scales with the currency unit
    scale = float(np.median(ma))

    rows = _Rows(xa, ma / scale, w)

    def obj(lth):
        th = np.exp(lth)
        f, gr = rows.negll_grad(th)
        return f, gr * th

    starts = [np.log(np.asarray(x0, float)), np.log([4.0, 4.0, 3.0]), np.log([0.5, 2.0, 0.5])]
    if start is not None:
        starts.insert(0, np.log([start["p"], start["q"], start["gamma"] / scale]))
    res, tried, success = fit_multistart(obj, starts, interior=lambda z: not on_edge(z).any())
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        th = np.exp(res.x)
        theta = np.array([th[0], th[1], th[2] * scale])
        ses = hessian_se(lambda t: _negll_grad(t, xa, ma, w)[1], theta)[0] if se else np.full(3, np.nan)
        loglik = -_negll_grad(theta, xa, ma, w)[0]
    edge = on_edge(res.x)
    bounds = tuple(f"{n}->{'inf' if e > 0 else '0'}" for n, e in zip(PARAMS, edge) if e)
    finite = bool(np.isfinite(loglik) and np.all(np.isfinite(theta)))
    check = FitCheck(converged=bool(res.success) or success, at_boundary=bool(bounds), finite=finite,
                     boundary_params=bounds, starts=tried, message=str(res.message))
    converged = check.converged
    if not check.ok:
        warnings.warn(f"Gamma-Gamma fit not usable: {check}", RuntimeWarning, stacklevel=2)
    summary = pd.DataFrame({"parameter": PARAMS, "estimate": theta, "se": ses})
    return GammaGammaResult(params=dict(zip(PARAMS, map(float, theta))),
                            se=dict(zip(PARAMS, map(float, ses))), loglik=float(loglik),
                            n=n_keep, converged=converged, summary=summary, check=check)


def simulate_gamma_gamma(params: dict, frequency, rng) -> np.ndarray:
    """Mean spend of ``frequency`` visits per client under the model (0 where frequency is 0).

    ``nu ~ Gamma(q, gamma)``; the sum of x visit amounts is Gamma(p x, nu), so the mean is
    Gamma(p x, nu) / x.
    """
    x = np.asarray(frequency, float)
    nu = rng.gamma(params["q"], 1.0 / params["gamma"], x.shape)
    out = np.zeros(x.shape)
    pos = x > 0
    out[pos] = rng.gamma(params["p"] * x[pos], 1.0 / nu[pos]) / x[pos]
    return out
