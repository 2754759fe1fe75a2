"""Shifted-beta-geometric (sBG) model of contract renewals (Fader & Hardie 2007, "How to project
customer retention", Journal of Interactive Marketing 21(1) 76-90).

At the end of every period a member cancels with probability ``theta``, constant for her;
across members ``theta ~ Beta(alpha, beta)``.  Then::

    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)        t = 1, 2, ...
    S(t)     = B(alpha, beta + t) / B(alpha, beta)
    r(t)     = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1)

so the retention rate rises with tenure (the less loyal leave first).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma

from ..errors import InputError, Problem
from ._mle import fit_log_params, hessian_se
from .bgnbd import aggregate_rows

__all__ = ["SBGResult", "fit_sbg", "simulate_sbg"]

PARAMS = ("alpha", "beta")
MIN_MEMBERS = 10


@dataclass
class SBGResult:
    """A fitted sBG model.

    Attributes
    ----------
    params : dict
        ``{alpha, beta}``; mean churn probability per period ``alpha / (alpha + beta)``.
    se : dict
    loglik : float
    n : int
        Members.
    n_churned : int
    summary : DataFrame
    """

    params: dict
    se: dict
    loglik: float
    n: int
    n_churned: int
    converged: bool = True
    summary: pd.DataFrame = field(default=None, repr=False)

    def survival(self, periods):
        """S(t): share of a new cohort still a member after ``t`` periods (S(0) = 1)."""
        a, b = self.params["alpha"], self.params["beta"]
        t = np.asarray(periods, float)
        return np.exp(betaln(a, b + t) - betaln(a, b))

    def retention(self, periods):
        """r(t) = (beta + t - 1) / (alpha + beta + t - 1): renewal rate at the end of period t >= 1."""
        a, b = self.params["alpha"], self.params["beta"]
        t = np.asarray(periods, float)
        return (b + t - 1.0) / (a + b + t - 1.0)

    def expected_lifetime(self) -> float:
        """Mean number of periods a new member stays: E[1/theta] = (alpha + beta - 1) / (alpha - 1).

        Infinite when alpha <= 1 (a few very loyal members dominate the mean); use
        :meth:`median_lifetime` then.
        """
        a, b = self.params["alpha"], self.params["beta"]
        return (a + b - 1.0) / (a - 1.0) if a > 1 else float("inf")

    def median_lifetime(self, max_periods: int = 100_000) -> float:
        """Periods after which half of a new cohort has left: the first t with S(t) <= 1/2."""
        t = np.arange(max_periods + 1)
        below = np.flatnonzero(self.survival(t) <= 0.5)
        return float(t[below[0]]) if below.size else float("inf")


def _negll_grad(theta, t, churned, w):
    a, b = theta
    dab = digamma(a + b)
    bab = betaln(a, b)
    cw, ct = w[churned], t[churned]      # left after period t: P(T = t)
    sw, st = w[~churned], t[~churned]    # still members after t periods: S(t)
    ll = cw @ (betaln(a + 1, b + ct - 1) - bab) + sw @ (betaln(a, b + st) - bab)
    ga = cw @ (digamma(a + 1) - digamma(a + b + ct) - digamma(a) + dab) + sw @ (dab - digamma(a + b + st))
    gb = (cw @ (digamma(b + ct - 1) - digamma(a + b + ct) - digamma(b) + dab)
          + sw @ (digamma(b + st) - digamma(a + b + st) - digamma(b) + dab))
    return -ll, -np.array([ga, gb])


def fit_sbg(lifetimes, churned) -> SBGResult:
    """Fit the sBG model by maximum likelihood.

    Parameters
    ----------
    lifetimes : array of int
        Periods each member stayed: 1 = left after the first period.  For a member still active
        (``churned`` False), the periods completed so far (censored; >= 0).
    churned : array of bool
        True = the member has left.

    Raises
    ------
    InputError
        Fewer than 10 members, no one left, or lifetimes that are not whole numbers.
    """
    t = np.asarray(lifetimes, float)
    ch = np.asarray(churned, bool)
    if t.shape != ch.shape:
        raise InputError(Problem("memberships", "lifetimes and churned must have the same length."))
    if len(t) < MIN_MEMBERS:
        raise InputError(Problem("memberships", f"the sBG model needs at least {MIN_MEMBERS} members; got {len(t)}."))
    if not np.all(np.isfinite(t)) or np.any(t != np.round(t)) or np.any(t < 0) or np.any(ch & (t < 1)):
        raise InputError(Problem("memberships", "lifetimes must be whole numbers of periods "
                                 "(>= 1 for members who left, >= 0 for active ones)."))
    if ch.sum() == 0:
        raise InputError(Problem("memberships", "the sBG model needs some members who left; none did."))
    (ta, ca), w = aggregate_rows(t, ch.astype(float))
    ca = ca.astype(bool)

    def obj(lth):
        th = np.exp(lth)
        f, g = _negll_grad(th, ta, ca, w)
        return f, g * th

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = fit_log_params(obj, np.zeros(2))
        theta = np.exp(res.x)
        se, _ = hessian_se(lambda th: _negll_grad(th, ta, ca, w)[1], theta)
    converged = bool(res.success) and not np.any(np.abs(res.x) >= 24.9)
    if not converged:
        warnings.warn(f"sBG fit may not have converged: {res.message}", RuntimeWarning, stacklevel=2)
    summary = pd.DataFrame({"parameter": PARAMS, "estimate": theta, "se": se})
    return SBGResult(params=dict(zip(PARAMS, map(float, theta))), se=dict(zip(PARAMS, map(float, se))),
                     loglik=float(-res.fun), n=int(len(t)), n_churned=int(ch.sum()),
                     converged=converged, summary=summary)


def simulate_sbg(params: dict, n: int, horizon: int, rng):
    """Lifetimes of ``n`` members observed for ``horizon`` periods: (lifetimes, churned)."""
    theta = rng.beta(params["alpha"], params["beta"], n)
    life = rng.geometric(np.clip(theta, 1e-12, 1.0))
    churned = life <= horizon
    return np.where(churned, life, horizon), churned
