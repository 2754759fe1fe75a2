"""BG/NBD model of repeat visits (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

A client, while alive, visits as a Poisson process with rate ``lambda``; after every repeat visit
she drops out for good with probability ``p``.  Across clients ``lambda ~ Gamma(r, alpha)`` (shape
``r``, rate ``alpha``, in visits per time unit) and ``p ~ Beta(a, b)``.  The data per client are the
number of repeat visits ``x``, the time of the last one ``t_x`` and the length of observation ``T``
(all in the RFM time unit).

Log-likelihood of one client, in the ratio form of the paper (eq. 6 and the note on the A1..A4
terms), numerically stable for hundreds of visits and long ``T``::

    ll = ln G(r+x) - ln G(r) + r ln(alpha)
         + ln G(b+x) - ln G(a+b+x) - ln G(b) + ln G(a+b) - (r+x) ln(alpha+T)
         + [x > 0] * softplus( ln(a/(b+x-1)) + (r+x) ln((alpha+T)/(alpha+t_x)) )

``softplus(d) = ln(1 + e^d)`` is evaluated with ``logaddexp``.  Identical ``(x, t_x, T)`` rows are
merged with weights, so a million clients with day-resolution dates fit in a few seconds.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.linalg import eigh_tridiagonal
from scipy.special import digamma, expit, gammaln, hyp2f1

from analysis.errors import InputError, Problem
from analysis.codes import Note
from analysis.models._mle import FitCheck, fit_multistart, hessian_se, lr_test, on_edge

__all__ = ["BGNBDResult", "fit_bgnbd", "simulate_bgnbd", "aggregate_rows", "VARIANTS", "FitCheck"]

PARAMS = ("r", "alpha", "a", "b")
MIN_CLIENTS = 20
MIN_REPEATS = 5


def aggregate_rows(*cols, weights=None):
    """Merge identical rows of the given columns.

    Parameters
    ----------
    *cols : array-like
        Columns of equal length.
    weights : array-like, optional
        How many clients each input row stands for (default 1 each; e.g. a bootstrap resample's
        counts).  Rows of weight 0 are left out.

    Returns
    -------
    uniq : list of ndarray
        One array per column, one element per distinct row.
    weight : ndarray
        How many input rows (or how much weight) each distinct row stands for.
    """
    df = pd.DataFrame({f"c{i}": np.asarray(c, float) for i, c in enumerate(cols)})
    names = list(df.columns)
    if weights is None:
        g = df.groupby(names, sort=False).size()
    else:
        w = np.broadcast_to(np.asarray(weights, float), (len(df),))
        keep = w > 0
        g = df.assign(_w=w)[keep].groupby(names, sort=False)["_w"].sum()
    idx = g.index.to_frame(index=False)
    return [idx[c].to_numpy(float) for c in names], g.to_numpy(float)


class _Data:
    """Aggregated (x, t_x, T) rows split into x == 0 and x > 0 for a fast likelihood.

    The rows with x > 0 also keep their distinct x, t_x and T values and each row's position among
    them: the special functions of the likelihood depend on x alone (a few hundred distinct values
    for a million clients) and the logarithms on t_x or T alone, so :meth:`negll_grad` evaluates
    them once per distinct value and gathers them, which gives the same numbers bit for bit.
    """

    def __init__(self, x, tx, T, weights=None):
        (x, tx, T), w = aggregate_rows(x, tx, T, weights=weights)
        z = x == 0
        self.w0, self.T0 = w[z], T[z]
        pos = ~z
        self.w, self.x, self.tx, self.T = w[pos], x[pos], tx[pos], T[pos]
        self.n_rows = len(w)
        self.xu, self.xi = np.unique(self.x, return_inverse=True)
        self.txu, self.txi = np.unique(self.tx, return_inverse=True)
        self.Tu, self.Ti = np.unique(self.T, return_inverse=True)

    def all_rows(self):
        """(x, t_x, T, weight) of every distinct row, the x == 0 rows included."""
        z = np.zeros_like(self.T0)
        return (np.r_[z, self.x], np.r_[z, self.tx], np.r_[self.T0, self.T], np.r_[self.w0, self.w])

    def negll_grad(self, theta):
        """Negative log-likelihood and its gradient in the natural parameters (r, alpha, a, b).

        Per row the same operations in the same order as the row-by-row formula (kept in
        :meth:`negll_grad_rows`); the terms that depend on x only, t_x only or T only are computed
        once per distinct value and gathered, so the result is identical to the last bit."""
        r, al, a, b = theta
        w, xi = self.w, self.xi
        # clients without repeat visits: ll = r ln(alpha) - r ln(alpha + T)
        lT0 = np.log(al + self.T0)
        ll0 = self.w0 @ (r * np.log(al) - r * lT0)
        g0 = np.array([self.w0 @ (np.log(al) - lT0), self.w0 @ (r / al - r / (al + self.T0)), 0.0, 0.0])
        # clients with repeat visits: x-only terms per distinct x
        xu = self.xu
        rxu = r + xu
        bxu = b + xu
        dg_abxu = digamma(a + bxu)
        dg_ab = digamma(a + b)
        ll_x = (gammaln(rxu) - gammaln(r) + r * np.log(al)
                + gammaln(bxu) - gammaln(a + bxu) - gammaln(b) + gammaln(a + b))
        d_x = np.log(a) - np.log(bxu - 1.0)
        gr_x = digamma(rxu) - digamma(r) + np.log(al)
        ga_x = -dg_abxu + dg_ab
        gb_x = digamma(bxu) - dg_abxu - digamma(b) + dg_ab
        alT, altx = al + self.Tu, al + self.txu
        lT, ltx = np.log(alT)[self.Ti], np.log(altx)[self.txi]
        alT, altx = alT[self.Ti], altx[self.txi]
        rx, bx1 = rxu[xi], (bxu - 1.0)[xi]
        d = d_x[xi] + rx * (lT - ltx)  # ln(A4 / A3)
        ll = ll_x[xi] - rx * lT + np.logaddexp(0.0, d)
        pv = expit(d)  # weight of the "dropped out after t_x" branch
        pu = 1.0 - pv
        g_r = gr_x[xi] - pu * lT - pv * ltx
        g_al = r / al - rx * (pu / alT + pv / altx)
        g_a = ga_x[xi] + pv / a
        g_b = gb_x[xi] - pv / bx1
        f = ll0 + w @ ll
        g = g0 + np.array([w @ g_r, w @ g_al, w @ g_a, w @ g_b])
        return -f, -g

    def negll_grad_rows(self, theta):
        """:meth:`negll_grad` computed row by row (the reference the tests compare it with)."""
        r, al, a, b = theta
        w, x, tx, T = self.w, self.x, self.tx, self.T
        lT0 = np.log(al + self.T0)
        ll0 = self.w0 @ (r * np.log(al) - r * lT0)
        g0 = np.array([self.w0 @ (np.log(al) - lT0), self.w0 @ (r / al - r / (al + self.T0)), 0.0, 0.0])
        rx = r + x
        lT, ltx = np.log(al + T), np.log(al + tx)
        bx = b + x
        d = np.log(a) - np.log(bx - 1.0) + rx * (lT - ltx)  # ln(A4 / A3)
        ll = (gammaln(rx) - gammaln(r) + r * np.log(al)
              + gammaln(bx) - gammaln(a + bx) - gammaln(b) + gammaln(a + b)
              - rx * lT + np.logaddexp(0.0, d))
        pv = expit(d)  # weight of the "dropped out after t_x" branch
        pu = 1.0 - pv
        dg_abx = digamma(a + bx)
        dg_ab = digamma(a + b)
        g_r = digamma(rx) - digamma(r) + np.log(al) - pu * lT - pv * ltx
        g_al = r / al - rx * (pu / (al + T) + pv / (al + tx))
        g_a = -dg_abx + dg_ab + pv / a
        g_b = digamma(bx) - dg_abx - digamma(b) + dg_ab - pv / (bx - 1.0)
        f = ll0 + w @ ll
        g = g0 + np.array([w @ g_r, w @ g_al, w @ g_a, w @ g_b])
        return -f, -g


# ============================================================================ the model family
#
# The BG/NBD model and its limit cases share one likelihood.  Per client, with
#   R(u) = ln E_lambda[lambda^x e^(-lambda u)]      (Gamma(r, alpha): lnG(r+x) - lnG(r) + r ln alpha
#                                                    - (r+x) ln(alpha+u); one rate lambda: x ln lambda - lambda u)
#   D0   = ln E_p[(1-p)^x]                           (Beta(a, b): ln B(a, b+x) - ln B(a, b); one p: x ln(1-p))
#   dd   = ln E_p[p (1-p)^(x-1)] - D0                 (Beta: ln(a / (b+x-1)); one p: ln(p / (1-p)))
# the log-likelihood is  ll = R(T) + D0 + [x > 0] softplus(dd + R(t_x) - R(T)).

#: Parameters of each member of the family.  ``bgnbd`` is the full model; the others are its limits:
#: ``same_dropout`` a, b -> inf with a/(a+b) = p (one dropout probability for everyone),
#: ``same_rate`` r -> inf with r/alpha = lambda (one visit rate for everyone), ``same_both`` both.
VARIANTS = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "same_dropout": ("r", "alpha", "p"),
    "same_rate": ("lambda", "a", "b"),
    "same_both": ("lambda", "p"),
}
#: Past these values the mixing distribution has collapsed to a point: its coefficient of variation
#: is below 1% (r) or the sd of the dropout probability below 1% of sqrt(p(1-p)) (a + b).
COLLAPSE = 1e4
#: Below this a shape parameter is at the lower edge of the space.
TINY = 1e-6
#: A mean dropout probability below this is the edge p -> 0 (the NBD without dropout): the data
#: show nobody leaving yet, which a fit must not turn into "nobody ever leaves".
MIN_DROPOUT_FIT = 1e-4


def _het(variant):
    return variant in ("bgnbd", "same_dropout"), variant in ("bgnbd", "same_rate")


def _to_natural(variant, z):
    z = np.asarray(z, float)
    return np.array([expit(v) if n == "p" else np.exp(v) for n, v in zip(VARIANTS[variant], z)])


def _to_internal(variant, theta):
    out = []
    for n, v in zip(VARIANTS[variant], theta):
        out.append(np.log(v) - np.log1p(-v) if n == "p" else np.log(v))
    return np.array(out, float)


def _family_ll(variant, theta, x, tx, T, w, by_x=None):
    """Weighted log-likelihood of a member of the BG/NBD family (natural parameters).

    ``by_x``: optional ``(xu, xi)``, the distinct values of ``x`` and each row's position among them
    (``np.unique(x, return_inverse=True)``); the terms that depend on x alone are then computed once
    per distinct x and gathered, with the same operations in the same order per row, so the value
    is the same to the last bit."""
    het_rate, het_drop = _het(variant)
    pos = x > 0
    xu, xi = by_x if by_x is not None else (x, None)
    g = (lambda v: v[xi]) if xi is not None else (lambda v: v)
    if het_rate:
        r, al = theta[0], theta[1]
        lT = np.log(al + T)
        RT = g(gammaln(r + xu) - gammaln(r) + r * np.log(al)) - g(r + xu) * lT
        dR = g(r + xu) * (lT - np.log(al + tx))
    else:
        lam = theta[0]
        RT = g(xu * np.log(lam)) - lam * T
        dR = lam * (T - tx)
    if het_drop:
        a, b = theta[-2], theta[-1]
        D0 = g(gammaln(b + xu) - gammaln(a + b + xu) - gammaln(b) + gammaln(a + b))
        dd = g(np.log(a) - np.log(b + np.where(xu > 0, xu, 1.0) - 1.0))
    else:
        p = theta[-1]
        D0 = g(xu * np.log1p(-p))
        dd = np.full_like(x, np.log(p) - np.log1p(-p))
    ll = RT + D0 + np.where(pos, np.logaddexp(0.0, dd + dR), 0.0)
    return float(w @ ll)


def _family_ll_rows(variant, theta, x, tx, T, w):
    """:func:`_family_ll` computed row by row (the reference the tests compare it with)."""
    het_rate, het_drop = _het(variant)
    pos = x > 0
    if het_rate:
        r, al = theta[0], theta[1]
        RT = gammaln(r + x) - gammaln(r) + r * np.log(al) - (r + x) * np.log(al + T)
        dR = (r + x) * (np.log(al + T) - np.log(al + tx))
    else:
        lam = theta[0]
        RT = x * np.log(lam) - lam * T
        dR = lam * (T - tx)
    if het_drop:
        a, b = theta[-2], theta[-1]
        D0 = gammaln(b + x) - gammaln(a + b + x) - gammaln(b) + gammaln(a + b)
        dd = np.log(a) - np.log(b + np.where(pos, x, 1.0) - 1.0)
    else:
        p = theta[-1]
        D0 = x * np.log1p(-p)
        dd = np.full_like(x, np.log(p) - np.log1p(-p))
    ll = RT + D0 + np.where(pos, np.logaddexp(0.0, dd + dR), 0.0)
    return float(w @ ll)


def _numeric_hessian(f, theta):
    """Central second differences of a scalar ``f`` at ``theta`` (natural parameters)."""
    theta = np.asarray(theta, float)
    k = len(theta)
    h = 1e-4 * np.maximum(np.abs(theta), 1e-8)
    H = np.empty((k, k))
    f0 = f(theta)
    for i in range(k):
        for j in range(i, k):
            if i == j:
                e = np.zeros(k)
                e[i] = h[i]
                H[i, i] = (f(theta + e) - 2 * f0 + f(theta - e)) / h[i] ** 2
            else:
                ei, ej = np.zeros(k), np.zeros(k)
                ei[i], ej[j] = h[i], h[j]
                H[i, j] = H[j, i] = (f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej)
                                     + f(theta - ei - ej)) / (4 * h[i] * h[j])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            var = np.diag(np.linalg.inv(-H))
        return np.where(var > 0, np.sqrt(np.abs(var)), np.nan)
    except np.linalg.LinAlgError:
        return np.full(k, np.nan)


def _boundaries(variant, z, theta):
    """Names of parameters at an edge of the space, e.g. ``("a,b->inf",)``."""
    names = VARIANTS[variant]
    edge = on_edge(z)
    out = [f"{n}->{'inf' if e > 0 and n != 'p' else ('1' if e > 0 else '0')}"
           for n, e in zip(names, edge) if e != 0]
    th = dict(zip(names, theta))
    if "a" in th and th["a"] + th["b"] >= COLLAPSE and not any(s.startswith(("a->", "b->")) for s in out):
        out.append("a,b->inf")
    if "r" in th and th["r"] >= COLLAPSE and "r->inf" not in out:
        out.append("r->inf")
    for n in names:
        if n != "p" and th[n] < TINY and f"{n}->0" not in out:
            out.append(f"{n}->0")
    drop = th["p"] if "p" in th else th["a"] / (th["a"] + th["b"])
    if drop < MIN_DROPOUT_FIT and not any(s_.startswith(("p->", "a->0")) for s_ in out):
        out.append("dropout->0")
    return tuple(out)


@dataclass
class BGNBDResult:
    """A fitted BG/NBD model, or one of its limit cases.

    Attributes
    ----------
    params : dict
        By ``variant``: ``bgnbd`` ``{r, alpha, a, b}`` (``r / alpha`` is the mean visit rate per time
        unit while alive, ``a / (a + b)`` the mean dropout probability after a visit);
        ``same_dropout`` ``{r, alpha, p}``; ``same_rate`` ``{lambda, a, b}``; ``same_both``
        ``{lambda, p}`` (``lambda`` in visits per time unit, ``p`` one dropout probability for all).
    se : dict
        Standard errors from the inverse Hessian of the negative log-likelihood (NaN where the
        Hessian is not positive definite).
    loglik : float
        Maximised log-likelihood.
    n : int
        Number of clients.
    n_repeat : int
        Number of repeat visits in the data.
    converged : bool
        Same as ``check.converged`` (kept for older callers).
    variant : str
        ``bgnbd``, ``same_dropout``, ``same_rate`` or ``same_both`` (see :data:`VARIANTS`).
    check : FitCheck
        The fit contract: converged, at_boundary (and which parameter), finite, starts tried.
    full_check : FitCheck or None
        When the result is a limit case, the check of the full BG/NBD fit that led to it.
    full_params : dict or None
        The full fit's (unusable) parameters, for analysts, when the result is a limit case.
    comparison : dict or None
        Likelihood-ratio test of ``same_dropout`` against the full model when both were fitted:
        ``{lr, p_value, loglik_full, loglik_limit, limit_params}``.
    note : Note or None
        What the reader must be told about the fit (a limit case used, no usable fit).
    summary : DataFrame
        parameter, estimate, se.
    """

    params: dict
    se: dict
    loglik: float
    n: int
    n_repeat: int
    converged: bool = True
    message: str = ""
    summary: pd.DataFrame = field(default=None, repr=False)
    variant: str = "bgnbd"
    check: FitCheck = None
    full_check: FitCheck | None = None
    full_params: dict | None = None
    comparison: dict | None = None
    note: Note | None = None

    def __post_init__(self):
        if self.check is None:
            self.check = FitCheck(converged=self.converged, at_boundary=False,
                                  finite=bool(np.all(np.isfinite(list(self.params.values())))))
        if self.summary is None:
            names = list(self.params)
            self.summary = pd.DataFrame({"parameter": names, "estimate": [self.params[k] for k in names],
                                         "se": [self.se.get(k, np.nan) for k in names]})

    # ------------------------------------------------------------------ contract
    @property
    def at_boundary(self) -> bool:
        return self.check.at_boundary

    @property
    def finite(self) -> bool:
        return self.check.finite

    @property
    def usable(self) -> bool:
        """Converged to finite values inside the space: safe to predict with."""
        return self.check.ok

    def as_bgnbd_params(self, concentration: float = 1e6) -> dict:
        """``{r, alpha, a, b}`` of the full BG/NBD that stands for this fit.

        For the full model its own parameters.  A limit case is written as the full model close to
        its limit: one visit rate ``lambda`` as ``r = concentration``, ``alpha = concentration /
        lambda`` (a gamma with that mean and a vanishing spread); one dropout probability ``p`` as
        ``a = p * concentration``, ``b = (1 - p) * concentration`` (a beta with that mean and a
        vanishing spread).  For callers that need the four parameters (simulation, the pilot's
        likelihood); predictions should use this object's own methods.
        """
        p = self.params
        if "r" in p:
            r, alpha = float(p["r"]), float(p["alpha"])
        else:
            r, alpha = concentration, concentration / max(float(p["lambda"]), 1e-12)
        if "a" in p:
            a, b = float(p["a"]), float(p["b"])
        else:
            q = min(max(float(p["p"]), 1e-12), 1.0 - 1e-12)
            a, b = q * concentration, (1.0 - q) * concentration
        return {"r": r, "alpha": alpha, "a": a, "b": b}

    @property
    def mean_rate(self) -> float:
        """Mean visit rate per time unit of a client while alive: r / alpha, or lambda."""
        p = self.params
        return p["r"] / p["alpha"] if "r" in p else p["lambda"]

    @property
    def mean_dropout(self) -> float:
        """Mean probability of dropping out after a repeat visit: a / (a + b), or p."""
        p = self.params
        return p["a"] / (p["a"] + p["b"]) if "a" in p else p["p"]

    # ------------------------------------------------------------------ predictions
    def _p(self):
        """(r, alpha, a, b) of the full model (raises for a limit case)."""
        p = self.params
        return p["r"], p["alpha"], p["a"], p["b"]

    def p_alive(self, frequency, recency, T):
        """P(alive at T | x, t_x, T) = 1 / (1 + [x>0] e^d).

        ``d = ln(a / (b+x-1)) + (r+x) ln((alpha+T)/(alpha+t_x))`` for the full model (FHL 2005,
        eq. 11); in the limits ``ln(a/(b+x-1))`` becomes ``ln(p/(1-p))`` and the rate term
        ``lambda (T - t_x)``.  Computed as ``expit(-d)``: finite for any x and T.
        """
        het_rate, het_drop = _het(self.variant)
        pr = self.params
        x, tx, T = (np.asarray(v, float) for v in np.broadcast_arrays(frequency, recency, T))
        pos = x > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            if het_drop:
                dd = np.log(pr["a"]) - np.log(np.where(pos, pr["b"] + x - 1.0, 1.0))
            else:
                dd = np.log(pr["p"]) - np.log1p(-pr["p"])
            if het_rate:
                dR = (pr["r"] + x) * (np.log(pr["alpha"] + T) - np.log(pr["alpha"] + tx))
            else:
                dR = pr["lambda"] * (T - tx)
        return np.where(pos, expit(-(dd + dR)), 1.0)

    def expected_visits(self, t):
        """Expected repeat visits of a new client in ``(0, t]`` (time units), unconditional.

        E[X(t)] = E_p E_lambda[(1 - e^(-lambda p t)) / p]; for the full model this equals
        (a+b-1)/(a-1) [1 - 2F1(r, a-1; a+b-1; -t/alpha)] (FHL 2005 eq. 9, Pfaff-transformed), computed
        here by quadrature (see :meth:`expected_visits_alive`), which is stable everywhere.
        """
        t = np.asarray(t, float)
        z = np.zeros_like(t)
        return self.expected_visits_alive(t, z, z)

    def conditional_expected_visits(self, t, frequency, recency, T, dropout_scale: float = 1.0):
        """Expected visits in ``(T, T + t]`` of a client with history ``(x, t_x, T)`` (FHL eq. 10).

        E[Y(t)|x,t_x,T] = P(alive) * E[visits in t | alive at T]; the second factor by
        :meth:`expected_visits_alive`.  Equal to the paper's closed form
        P(alive) (a+b+x-1)/(a-1) [1 - 2F1(r+x, a-1; a+b+x-1; -t/(alpha+T))], but computed without the
        hypergeometric function, whose library evaluation returned 10^4-10^8 visits and negative
        values for some fitted parameters (a~21, b~26, hundreds of visits).

        Parameters
        ----------
        t : float or array
            Horizon in time units.
        dropout_scale : float
            Future dropout probability is ``p * dropout_scale`` (the care-manager effect is
            ``1 - dropout_scale``); the past (and so P(alive)) is unchanged.

        Returns
        -------
        ndarray
            Finite, non-negative, non-decreasing in ``t`` and at most ``t (r+x)/(alpha+T)`` (the
            visits of a client who never drops out).
        """
        t, x, tx, T = (np.asarray(v, float) for v in np.broadcast_arrays(t, frequency, recency, T))
        return self.p_alive(x, tx, T) * self.expected_visits_alive(t, x, T, dropout_scale)

    def expected_visits_alive(self, t, frequency, T, dropout_scale=1.0, nodes: int | None = None):
        """E[visits in (T, T+t] | alive at T, x], by quadrature over the posterior of p.

        Given alive at T after x repeat visits, lambda ~ Gamma(r+x, alpha+T) and p ~ Beta(a, b+x),
        independent; a live client with rate lambda who drops out with probability k p after each
        visit makes on average (1 - e^(-k p lambda t)) / (k p) visits in t.  Integrating lambda in
        closed form,

            G = E_p[ (1 - ((alpha+T) / (alpha+T + k p t))^(r+x)) / (k p) ],

        evaluated as ``-expm1(-(r+x) log1p(k p t/(alpha+T))) / (k p)`` (exact as k p t -> 0, where it
        tends to (r+x) t/(alpha+T)); the expectation over p by Gauss-Jacobi quadrature with
        ``nodes`` nodes (48; nodes from the Golub-Welsch eigenproblem, stable for any a, b).  In the
        limit cases the posterior of p is the point p, and with one rate the factor is
        ``-expm1(-k p lambda t) / (k p)``.  Every node's term is positive, increasing in t and at most
        ``(r+x) t / (alpha+T)``, and the weights are positive and sum to 1, so the result is finite,
        non-negative, non-decreasing in t and bounded by the visits of a client who never drops out,
        for any parameters.

        Accuracy: the 48-node rule agrees with 96 nodes to 1e-5 relative (measured worst about 1e-6)
        wherever visit rates are ones a calendar allows (posterior and prior mean rate at most one
        visit day a day); this is asserted by property tests over a wide box of parameters
        (``tests/test_fit_contract.py``).  Where the knee of the integrand at
        p ~ 1/((r+x) t/(alpha+T)) falls below the first node (tens of visits a day over years), the
        rows are recomputed with up to 384 nodes; the remaining error there is below about 1%
        (measured against 384 nodes over random parameters with up to 500 visits in days), and the
        bounds above hold regardless.

        ``dropout_scale`` may be an array of K scales: the result then has a last axis of length K
        (one column per scale), computed in one pass.
        """
        t, x, T = (np.asarray(v, float) for v in np.broadcast_arrays(t, frequency, T))
        ks = np.atleast_1d(np.asarray(dropout_scale, float))
        out = _ey_family(self.variant, self.params, x, T, t, ks, nodes or _NODES)
        return out[..., 0] if np.ndim(dropout_scale) == 0 else out


def _ey_hyp(s, c, a, bb, t):
    """(a+bb-1)/(a-1) * [1 - 2F1(s, a-1; a+bb-1; -t/c)] with scipy's hyp2f1 (for cross-checks
    in tests only: it is inaccurate for large s or a)."""
    if abs(a - 1.0) < 1e-8:
        a = 1.0 + 1e-8
    return (a + bb - 1.0) / (a - 1.0) * (1.0 - hyp2f1(s, a - 1.0, a + bb - 1.0, -t / c))


_NODES = 48
_CHUNK_ELEMENTS = 2_000_000   # rows x nodes x scales evaluated at once


@lru_cache(maxsize=8192)
def _beta_nodes(a, bb, n=_NODES):
    """Gauss nodes and weights (summing to 1) for an expectation over p ~ Beta(a, bb).

    Gauss-Jacobi on p = (1 + u) / 2 with weight (1-u)^(bb-1) (1+u)^(a-1), built by Golub-Welsch
    from the monic three-term recurrence of the Jacobi polynomials (the weights are the squared
    first components of the eigenvectors, so nothing overflows for any a, bb; scipy's
    ``roots_jacobi`` overflows past a + bb ~ 1000).  Exact for polynomials in p of degree < 2n.
    """
    al, be = bb - 1.0, a - 1.0
    if abs(al + be + 1.0) < 1e-9:
        al += 1e-7
    k = np.arange(n, dtype=float)
    s = 2.0 * k + al + be
    with np.errstate(divide="ignore", invalid="ignore"):
        diag = np.where(k == 0, (be - al) / (al + be + 2.0), (be * be - al * al) / (s * (s + 2.0)))
    k1 = k[1:]
    s1 = s[1:]
    off = np.sqrt(4.0 * k1 * (k1 + al) * (k1 + be) * (k1 + al + be)
                  / (s1 * s1 * (s1 + 1.0) * (s1 - 1.0)))
    u, vec = eigh_tridiagonal(diag, off)
    w = vec[0] ** 2
    p = np.clip((1.0 + u) / 2.0, 0.0, 1.0)
    return p, w / w.sum()


def _ey_rows(p, wq, ks, tt, s_, c_, lam, chunk):
    """Quadrature sum for rows (tt, s_, c_) with nodes p, weights wq, scales ks: (rows, K)."""
    kp = np.maximum(ks[None, None, :] * p[None, :, None], 1e-300)           # (1, nodes, K)
    res = np.empty((tt.size, ks.size))
    for i in range(0, tt.size, chunk):                                      # bounded memory
        j = slice(i, i + chunk)
        if lam is None:
            z = kp * (tt[j] / c_[j])[:, None, None]                         # (rows, nodes, K)
            v_ = -np.expm1(-s_[j, None, None] * np.log1p(z)) / kp
        else:
            v_ = -np.expm1(-kp * lam * tt[j, None, None]) / kp
        res[i:i + chunk] = np.einsum("rnk,n->rk", v_, wq)
    return res


#: Refinement of the quadrature where the knee of the integrand lies below the first node.
_KNEE = 0.5
_MAX_NODES = 384
_REFINE_RTOL = 1e-8


def _ey_family(variant, params, x, T, t, ks, nodes):
    """E_p[(1/(k p)) (1 - E_lambda e^(-k p lambda t))] over the posteriors given alive at T.

    The integrand in p bends at p ~ 1/(k s t / c) (s t / c: the expected visits of a client who never
    drops out).  Where that knee lies below the first Gauss node (very frequent visitors, long
    horizons), those rows are recomputed with 2x, 4x, ... the nodes (Gauss rules of higher order,
    whose first node moves towards 0 like 1/n^2) until two successive rules agree to 1e-8 relative
    or 384 nodes are reached.
    """
    het_rate, het_drop = _het(variant)
    ks = np.maximum(np.asarray(ks, float), 1e-12)
    lam = None if het_rate else float(params["lambda"])
    if het_rate:
        s_all = params["r"] + x
        c_all = params["alpha"] + T
    else:
        s_all = np.full_like(x, np.nan)
        c_all = np.full_like(x, np.nan)
    out = np.empty(x.shape + ks.shape)
    flat_out = out.reshape(-1, ks.size)
    if het_drop:
        bb_all = params["b"] + x
        # rows sharing b + x share the quadrature nodes: one stable sort instead of a scan per value
        flat = bb_all.ravel()
        order = np.argsort(flat, kind="stable")
        vals, starts = np.unique(flat[order], return_index=True)
        ends = np.r_[starts[1:], order.size]
        groups = [(float(v), order[i:j]) for v, i, j in zip(vals, starts, ends)]
    else:
        groups = [(None, np.arange(x.size))]
    for bb, sel in groups:
        if het_drop:
            p, wq = _beta_nodes(float(params["a"]), bb, nodes)
        else:
            p, wq = np.array([params["p"]]), np.array([1.0])
        tt = t.ravel()[sel]
        s_ = s_all.ravel()[sel]
        c_ = c_all.ravel()[sel]
        chunk = max(1, _CHUNK_ELEMENTS // (p.size * ks.size))
        res = _ey_rows(p, wq, ks, tt, s_, c_, lam, chunk)
        if het_drop:
            reach = (s_ * tt / c_ if lam is None else lam * tt) * ks.max()     # no-dropout visits
            todo = np.flatnonzero(reach * p.min() > _KNEE)
            n = nodes
            while todo.size and n < _MAX_NODES:
                n = min(2 * n, _MAX_NODES)
                p2, w2 = _beta_nodes(float(params["a"]), bb, n)
                chunk2 = max(1, _CHUNK_ELEMENTS // (n * ks.size))
                new = _ey_rows(p2, w2, ks, tt[todo], s_[todo] if lam is None else s_[todo], c_[todo], lam, chunk2)
                old = res[todo]
                res[todo] = new
                moved = np.abs(new - old).max(axis=1) > _REFINE_RTOL * np.abs(new).max(axis=1)
                todo = todo[moved & (reach[todo] * p2.min() > _KNEE * 1e-3)]
        flat_out[sel] = res
    return out


# ============================================================================ fitting


def _fit_variant(variant, data, rate, se=True):
    """Fit one member of the family from several starts.  Returns (theta, se, loglik, FitCheck)."""
    names = VARIANTS[variant]
    x, tx, T, w = data.all_rows()
    by_x = np.unique(x, return_inverse=True) if variant != "bgnbd" else None
    if variant == "bgnbd":
        starts = [(1.0, 1.0 / rate, 1.0, 1.0), (0.5, 0.5 / rate, 0.5, 3.0), (2.0, 2.0 / rate, 3.0, 10.0),
                  (0.2, 0.2 / rate, 0.3, 1.0)]

        def obj(z):
            th = np.exp(z)
            f, g = data.negll_grad(th)
            return f, g * th
        jac = True
    else:
        shape_rate = [(1.0, 1.0 / rate), (0.3, 0.3 / rate), (3.0, 3.0 / rate)]
        lam = [(rate,), (2 * rate,), (0.5 * rate,)]
        drop_beta = [(1.0, 3.0), (0.5, 1.0), (3.0, 20.0)]
        drop_p = [(0.2,), (0.05,), (0.5,)]
        first = shape_rate if _het(variant)[0] else lam
        second = drop_beta if _het(variant)[1] else drop_p
        starts = [f + s for f, s in zip(first, second)]

        def obj(z):
            with np.errstate(all="ignore"):
                v = -_family_ll(variant, _to_natural(variant, z), x, tx, T, w, by_x)
            return v if np.isfinite(v) else 1e300
        jac = False
    z0s = [_to_internal(variant, np.asarray(s, float)) for s in starts]

    def interior(z):
        return not _boundaries(variant, z, _to_natural(variant, z))

    res, tried, success = fit_multistart(obj, z0s, jac=jac, interior=interior)
    z = np.asarray(res.x, float)
    theta = _to_natural(variant, z)
    with np.errstate(all="ignore"):
        ll = _family_ll(variant, theta, x, tx, T, w, by_x) if variant != "bgnbd" else -float(res.fun)
    finite = bool(np.isfinite(ll) and np.all(np.isfinite(theta)))
    bounds = _boundaries(variant, z, theta) if finite else ()
    check = FitCheck(converged=bool(res.success) or success, at_boundary=bool(bounds), finite=finite,
                     boundary_params=bounds, starts=tried, message=str(res.message))
    with np.errstate(all="ignore"):
        if not se:
            se = np.full(len(names), np.nan)
        elif variant == "bgnbd" and finite:
            se, _ = hessian_se(lambda th: data.negll_grad(th)[1], theta)
        elif finite:
            se = _numeric_hessian(lambda th: _family_ll(variant, th, x, tx, T, w, by_x), theta)
        else:
            se = np.full(len(names), np.nan)
    return theta, np.asarray(se, float), float(ll), check


def _limit_note(variant, params, unit_days):
    """The note for a limit case: ``dropout`` (probability per visit), ``gap_days`` (mean days
    between visits of a live client, ``unit_days / lambda``)."""
    if variant == "same_dropout":
        return Note("retention.fit.same_dropout", {"dropout": params["p"]}, level="warning", topic="bgnbd")
    gap = unit_days / params["lambda"]
    if variant == "same_rate":
        return Note("retention.fit.same_rate", {"gap_days": gap}, level="warning", topic="bgnbd")
    return Note("retention.fit.same_both", {"dropout": params["p"], "gap_days": gap},
                level="warning", topic="bgnbd")


def fit_bgnbd(rfm, x0=None, variant: str = "auto", weights=None, se: bool = True) -> BGNBDResult:
    """Fit the BG/NBD model by maximum likelihood, falling back to its limit case at a boundary.

    Parameters
    ----------
    rfm : DataFrame
        Columns ``frequency`` (x, repeat visits), ``recency`` (t_x) and ``T``, as from
        :func:`analysis.sections.retention.rfm` (its ``attrs["time_unit_days"]`` words the notes; default 7).
    x0 : sequence of 4 floats, optional
        Starting values (r, alpha, a, b), tried first.
    variant : {"auto", "bgnbd", "same_dropout", "same_rate", "same_both"}
        ``auto`` (default): the full model when its fit is usable, else the best usable limit case.
        A name fits that member only.
    weights : array-like, optional
        How many clients each row stands for (whole numbers, e.g. the counts of a bootstrap
        resample by client): the fit equals the fit on the rows repeated that many times, without
        repeating them.  Rows of weight 0 are left out.
    se : bool
        Compute standard errors (numerical Hessian); False leaves them NaN (bootstrap refits,
        which need the estimates only).

    Returns
    -------
    BGNBDResult
        With ``check`` (the fit contract), ``variant`` and, for a limit case, a ``note``
        (``retention.fit.same_dropout`` …).  When no member gives a usable fit, the best one is
        returned with ``usable`` False and the note ``retention.fit.no_usable_fit``: callers must
        not predict with it.

    Raises
    ------
    InputError
        Fewer than 20 clients or fewer than 5 repeat visits, or inconsistent columns.

    Notes
    -----
    The full model: L-BFGS-B on log-parameters with the analytic gradient, up to four starting
    points; identical rows merged with weights; standard errors from the numerical Hessian in the
    natural parameters.  Its fit is usable when it converged to finite values with no parameter at a
    boundary: a + b < 10^4 and r < 10^4 (past these the Beta / Gamma mixing distribution has
    collapsed to a point), a mean dropout probability of at least 10^-4 (below it the edge p -> 0)
    and every parameter between 10^-6 and e^25.

    Otherwise the limit cases are fitted (same likelihood, the collapsed mixture replaced by its
    point): ``same_dropout`` (a, b -> inf, one dropout probability p = a/(a+b) for all),
    ``same_rate`` (r -> inf, one visit rate lambda = r/alpha for all) and ``same_both``; the usable
    one with the lowest AIC is returned.  When the full fit is usable, ``same_dropout`` is fitted too
    and compared by a likelihood-ratio test on the boundary (50:50 chi2(0)/chi2(1), Self & Liang
    1987): ``comparison``.

    References: Fader, Hardie & Lee (2005), Marketing Science 24(2) 275-284; "A note on deriving the
    BG/NBD log-likelihood" (brucehardie.com/notes/004); Self & Liang (1987), JASA 82, 605-610.
    """
    x, tx, T = _check_rfm(rfm, weights)
    want_se = bool(se)
    w = np.ones_like(x) if weights is None else np.asarray(weights, float)
    data = _Data(x, tx, T, weights=weights)
    unit_days = float(getattr(rfm, "attrs", {}).get("time_unit_days", 7.0) or 7.0)
    rate = max((w @ x) / max(w @ T, 1e-9), 1e-6)
    if variant not in ("auto", *VARIANTS):
        raise ValueError(f"variant must be one of auto, {', '.join(VARIANTS)}. Got {variant!r} instead.")
    n, n_rep = int(round(w.sum())), int(round(w @ x))

    def make(var, theta, se, ll, check, **kw):
        names = VARIANTS[var]
        params = dict(zip(names, map(float, theta)))
        ses = dict(zip(names, map(float, se)))
        summary = pd.DataFrame({"parameter": names, "estimate": theta, "se": se})
        return BGNBDResult(params=params, se=ses, loglik=ll, n=n, n_repeat=n_rep, converged=check.converged,
                           message=check.message, summary=summary, variant=var, check=check, **kw)

    if variant != "auto" and variant != "bgnbd":
        return make(variant, *_fit_variant(variant, data, rate, want_se))
    if x0 is not None:
        global_start = tuple(map(float, x0))
        full = _fit_variant_with_start(data, rate, global_start, want_se)
    else:
        full = _fit_variant("bgnbd", data, rate, want_se)
    theta, se, ll, check = full
    if variant == "bgnbd" or check.ok:
        res = make("bgnbd", theta, se, ll, check)
        if variant == "auto" and check.ok:
            lim = _fit_variant("same_dropout", data, rate, want_se)
            if lim[3].finite:
                lr, pv = lr_test(ll, lim[2], df=1, on_boundary=True)
                res.comparison = {"lr": lr, "p_value": pv, "loglik_full": ll, "loglik_limit": lim[2],
                                  "limit_params": dict(zip(VARIANTS["same_dropout"], map(float, lim[0])))}
        if not check.ok:
            res.note = Note("retention.fit.no_usable_fit", {}, level="warning", topic="bgnbd")
        return res
    # the full fit is not usable: the limit cases
    best = None
    for var in ("same_dropout", "same_rate", "same_both"):
        th, s, l_, ch = _fit_variant(var, data, rate, want_se)
        if not ch.ok:
            continue
        aic = 2 * len(th) - 2 * l_
        if best is None or aic < best[0]:
            best = (aic, var, th, s, l_, ch)
    full_params = dict(zip(VARIANTS["bgnbd"], map(float, theta)))
    if best is None:
        res = make("bgnbd", theta, se, ll, check, full_check=check, full_params=full_params)
        res.note = Note("retention.fit.no_usable_fit", {}, level="warning", topic="bgnbd")
        return res
    _, var, th, s, l_, ch = best
    res = make(var, th, s, l_, ch, full_check=check, full_params=full_params)
    res.note = _limit_note(var, res.params, unit_days)
    if check.finite and np.isfinite(ll):
        lr, pv = lr_test(ll, l_, df=len(theta) - len(th), on_boundary=True)
        res.comparison = {"lr": lr, "p_value": pv, "loglik_full": ll, "loglik_limit": l_,
                          "limit_params": dict(res.params)}
    return res


def _fit_variant_with_start(data, rate, x0, se=True):
    """The full model from a caller's start first, then the default starts."""
    def obj(z):
        th = np.exp(z)
        f, g = data.negll_grad(th)
        return f, g * th
    res, _, _ = fit_multistart(obj, [np.log(np.asarray(x0, float))],
                               interior=lambda z: not _boundaries("bgnbd", z, np.exp(z)))
    if res.success and not _boundaries("bgnbd", res.x, np.exp(res.x)):
        theta = np.exp(res.x)
        with np.errstate(all="ignore"):
            ses = hessian_se(lambda th: data.negll_grad(th)[1], theta)[0] if se else np.full(4, np.nan)
        return theta, ses, float(-res.fun), FitCheck(True, False, bool(np.isfinite(res.fun)), (), 1,
                                                    str(res.message))
    return _fit_variant("bgnbd", data, rate, se)


def _check_rfm(rfm, weights=None):
    missing = [c for c in ("frequency", "recency", "T") if c not in rfm]
    if missing:
        raise InputError(Problem("rfm", f"needs columns frequency, recency, T; missing {', '.join(missing)}."))
    x = np.asarray(rfm["frequency"], float)
    tx = np.asarray(rfm["recency"], float)
    T = np.asarray(rfm["T"], float)
    ok = np.isfinite(x) & np.isfinite(tx) & np.isfinite(T)
    if not ok.all():
        raise InputError(Problem("rfm", f"{(~ok).sum()} clients have missing frequency, recency or T."))
    if (x < 0).any() or (tx < 0).any() or (tx > T + 1e-9).any() or ((x == 0) & (tx > 0)).any():
        raise InputError(Problem("rfm", "needs 0 <= recency <= T, frequency >= 0 and recency = 0 "
                                 "when frequency = 0."))
    w = np.ones_like(x) if weights is None else np.broadcast_to(np.asarray(weights, float), x.shape)
    if w.shape != x.shape or not np.all(np.isfinite(w)) or (w < 0).any():
        raise InputError(Problem("rfm", "weights must be one non-negative number per client."))
    n = int(round(w.sum()))
    if n < MIN_CLIENTS:
        raise InputError(Problem("visits", f"the BG/NBD model needs at least {MIN_CLIENTS} clients; "
                                 f"got {n}. Use a longer period or skip the model."))
    if w @ x < MIN_REPEATS:
        raise InputError(Problem("visits", f"the BG/NBD model needs repeat visits to estimate "
                                 f"dropout; got {int(round(w @ x))} (at least {MIN_REPEATS} needed)."))
    return x, tx, T


def simulate_bgnbd(params: dict, T, rng, resolution: float | None = None) -> pd.DataFrame:
    """Simulate BG/NBD histories for clients observed for ``T`` time units.

    Per client: ``lambda ~ Gamma(r, alpha)``, ``p ~ Beta(a, b)`` (or, for the limit cases of
    :data:`VARIANTS`, the same ``lambda`` / ``p`` for everyone); the client makes at most
    ``K ~ Geometric(p)`` repeat visits (drops out right after the K-th); ``n ~ Poisson(lambda T)``
    arrivals of an undying process; ``x = min(n, K)``, ``t_x`` = the x-th of n uniform order
    statistics = ``T * Beta(x, n - x + 1)``.

    Parameters
    ----------
    resolution : float, optional
        Round ``t_x`` down to this grid (e.g. 1/7 for whole days with weekly units), as real
        dates are.
    """
    T = np.asarray(T, float)
    n_c = T.shape[0]
    lam = (rng.gamma(params["r"], 1.0 / params["alpha"], n_c) if "r" in params
           else np.full(n_c, float(params["lambda"])))
    p = rng.beta(params["a"], params["b"], n_c) if "a" in params else np.full(n_c, float(params["p"]))
    K = rng.geometric(np.clip(p, 1e-12, 1.0))
    n = rng.poisson(lam * T)
    x = np.minimum(n, K)
    tx = np.zeros(n_c)
    pos = x > 0
    tx[pos] = T[pos] * rng.beta(x[pos], n[pos] - x[pos] + 1)
    if resolution:
        tx = np.floor(tx / resolution) * resolution
        tx = np.where(pos, np.maximum(tx, resolution), 0.0)
        tx = np.minimum(tx, T)
    return pd.DataFrame({"frequency": x.astype(float), "recency": tx, "T": T})
