"""Shifted-beta-geometric (sBG) model of contract renewals (Fader & Hardie 2007, "How to project
customer retention", Journal of Interactive Marketing 21(1) 76-90).

At the end of every period a member cancels with probability ``theta``, constant for her;
across members ``theta ~ Beta(alpha, beta)``.  Then::

    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)        t = 1, 2, ...
    S(t)     = B(alpha, beta + t) / B(alpha, beta)
    r(t)     = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1)

so the retention rate rises with tenure (the less loyal leave first).

Limit case: when alpha, beta -> infinity with alpha / (alpha + beta) = theta, every member has the same
cancellation probability theta (geometric lifetimes, flat retention ``1 - theta``).  Its maximum
likelihood estimate is closed-form: ``theta = cancellations / periods at risk`` (each member at risk
for ``lifetimes`` periods).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma

from analysis.codes import Note
from analysis.errors import InputError, Problem
from analysis.models._mle import FitCheck, fit_multistart, hessian_se, lr_test, on_edge
from analysis.models.bgnbd import aggregate_rows

__all__ = ["SBGResult", "fit_sbg", "simulate_sbg"]

PARAMS = ("alpha", "beta")
COLLAPSE = 1e4
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
    variant: str = "sbg"
    check: FitCheck = None
    full_params: dict | None = None
    note: Note | None = None
    comparison: dict | None = None

    def __post_init__(self):
        if self.check is None:
            self.check = FitCheck(self.converged, False, bool(np.all(np.isfinite(list(self.params.values())))))

    def _ab(self):
        if self.variant == "same_churn":
            return None
        return self.params["alpha"], self.params["beta"]

    @property
    def mean_churn(self) -> float:
        """Mean cancellation probability per period: alpha / (alpha + beta), or theta."""
        ab = self._ab()
        return self.params["theta"] if ab is None else ab[0] / (ab[0] + ab[1])

    def survival(self, periods):
        """S(t): share of a new cohort still a member after ``t`` periods (S(0) = 1)."""
        t = np.asarray(periods, float)
        if self._ab() is None:
            return np.exp(t * np.log1p(-self.params["theta"]))
        a, b = self._ab()
        return np.exp(betaln(a, b + t) - betaln(a, b))

    def retention(self, periods):
        """r(t) = (beta + t - 1) / (alpha + beta + t - 1): renewal rate at the end of period t >= 1."""
        t = np.asarray(periods, float)
        if self._ab() is None:
            return np.full(t.shape, 1.0 - self.params["theta"])
        a, b = self._ab()
        return (b + t - 1.0) / (a + b + t - 1.0)

    def expected_lifetime(self) -> float:
        """Mean number of periods a new member stays: E[1/theta] = (alpha + beta - 1) / (alpha - 1).

        Infinite when alpha <= 1 (a few very loyal members dominate the mean); use
        :meth:`median_lifetime` then.  In the limit case ``1 / theta``.
        """
        if self._ab() is None:
            return 1.0 / self.params["theta"]
        a, b = self._ab()
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


def fit_sbg(lifetimes, churned, variant: str = "auto", weights=None) -> SBGResult:
    """Fit the sBG model by maximum likelihood; at a boundary, its limit case.

    Up to three starting points.  When the fit is not usable (not converged, not finite, or a
    parameter at a boundary, incl. alpha + beta >= 10^4 where the Beta has collapsed to a point),
    ``variant="auto"`` returns the limit case ``same_churn`` (one cancellation probability
    ``theta = cancellations / periods at risk`` for all) with the note ``retention.fit.same_churn``;
    ``variant="sbg"`` returns the full fit whatever its check says.

    Parameters
    ----------
    lifetimes : array of int
        Periods each member stayed: 1 = left after the first period.  For a member still active
        (``churned`` False), the periods completed so far (censored; >= 0).
    churned : array of bool
        True = the member has left.
    weights : array-like, optional
        How many members each row stands for (e.g. a bootstrap resample's counts); the fit equals
        the fit on the rows repeated that many times.

    Raises
    ------
    InputError
        Fewer than 10 members, no one left, or lifetimes that are not whole numbers.
    """
    t = np.asarray(lifetimes, float)
    ch = np.asarray(churned, bool)
    if t.shape != ch.shape:
        raise InputError(Problem("memberships", "lifetimes and churned must have the same length."))
    wt = np.ones_like(t) if weights is None else np.broadcast_to(np.asarray(weights, float), t.shape)
    if weights is not None:
        t, ch, wt = t[wt > 0], ch[wt > 0], wt[wt > 0]
    if wt.sum() < MIN_MEMBERS:
        raise InputError(Problem("memberships", f"the sBG model needs at least {MIN_MEMBERS} members; "
                                 f"got {int(round(wt.sum()))}."))
    if not np.all(np.isfinite(t)) or np.any(t != np.round(t)) or np.any(t < 0) or np.any(ch & (t < 1)):
        raise InputError(Problem("memberships", "lifetimes must be whole numbers of periods "
                                 "(>= 1 for members who left, >= 0 for active ones)."))
    if ch.sum() == 0:
        raise InputError(Problem("memberships", "the sBG model needs some members who left; none did."))
    (ta, ca), w = aggregate_rows(t, ch.astype(float), weights=wt)
    ca = ca.astype(bool)

    def obj(lth):
        th = np.exp(lth)
        f, g = _negll_grad(th, ta, ca, w)
        return f, g * th

    def bounds_of(z):
        th = np.exp(z)
        out = [f"{n}->{'inf' if e > 0 else '0'}" for n, e in zip(PARAMS, on_edge(z)) if e]
        if th[0] + th[1] >= COLLAPSE and not out:
            out.append("alpha,beta->inf")
        return tuple(out)

    starts = [np.zeros(2), np.log([0.5, 2.0]), np.log([3.0, 10.0])]
    res, tried, success = fit_multistart(obj, starts, interior=lambda z: not bounds_of(z))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        theta = np.exp(res.x)
        se, _ = hessian_se(lambda th: _negll_grad(th, ta, ca, w)[1], theta)
    finite = bool(np.isfinite(res.fun) and np.all(np.isfinite(theta)))
    bnd = bounds_of(res.x) if finite else ()
    check = FitCheck(converged=bool(res.success) or success, at_boundary=bool(bnd), finite=finite,
                     boundary_params=bnd, starts=tried, message=str(res.message))
    n, n_ch = int(round(wt.sum())), int(round(wt[ch].sum()))
    if check.ok or variant == "sbg":
        summary = pd.DataFrame({"parameter": PARAMS, "estimate": theta, "se": se})
        return SBGResult(params=dict(zip(PARAMS, map(float, theta))), se=dict(zip(PARAMS, map(float, se))),
                         loglik=float(-res.fun), n=n, n_churned=n_ch, converged=check.converged,
                         summary=summary, check=check)
    # limit case: one cancellation probability for everyone (closed form)
    exposure = float(w @ ta)
    th1 = n_ch / exposure
    ll1 = float(n_ch * np.log(th1) + (exposure - n_ch) * np.log1p(-th1)) if th1 < 1 else 0.0
    se1 = float(np.sqrt(th1 * (1 - th1) / exposure)) if th1 < 1 else float("nan")
    lcheck = FitCheck(converged=True, at_boundary=th1 >= 1.0, finite=bool(np.isfinite(ll1)), starts=1,
                      message="closed form")
    return SBGResult(params={"theta": float(th1)}, se={"theta": se1}, loglik=ll1, n=n, n_churned=n_ch,
                     converged=True, summary=pd.DataFrame({"parameter": ["theta"], "estimate": [th1], "se": [se1]}),
                     variant="same_churn", check=lcheck, full_params=dict(zip(PARAMS, map(float, theta))),
                     comparison=(dict(zip(("lr", "p_value"), lr_test(-res.fun, ll1, df=1)), loglik_full=float(-res.fun),
                                      loglik_limit=ll1) if finite else None),
                     note=Note("retention.fit.same_churn", {"churn": float(th1)}, level="warning", topic="sbg"))


def simulate_sbg(params: dict, n: int, horizon: int, rng):
    """Lifetimes of ``n`` members observed for ``horizon`` periods: (lifetimes, churned)."""
    theta = (rng.beta(params["alpha"], params["beta"], n) if "alpha" in params
             else np.full(n, float(params["theta"])))
    life = rng.geometric(np.clip(theta, 1e-12, 1.0))
    churned = life <= horizon
    return np.where(churned, life, horizon), churned
