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
from scipy.special import digamma, expit, gammaln, hyp2f1, roots_genlaguerre, roots_jacobi

from ..errors import InputError, Problem
from ._mle import fit_log_params, hessian_se

__all__ = ["BGNBDResult", "fit_bgnbd", "simulate_bgnbd", "aggregate_rows"]

PARAMS = ("r", "alpha", "a", "b")
MIN_CLIENTS = 20
MIN_REPEATS = 5


def aggregate_rows(*cols):
    """Merge identical rows of the given columns.

    Returns
    -------
    uniq : list of ndarray
        One array per column, one element per distinct row.
    weight : ndarray
        How many input rows each distinct row stands for.
    """
    df = pd.DataFrame({f"c{i}": np.asarray(c, float) for i, c in enumerate(cols)})
    g = df.groupby(list(df.columns), sort=False).size()
    idx = g.index.to_frame(index=False)
    return [idx[c].to_numpy(float) for c in df.columns], g.to_numpy(float)


class _Data:
    """Aggregated (x, t_x, T) rows split into x == 0 and x > 0 for a fast likelihood."""

    def __init__(self, x, tx, T):
        (x, tx, T), w = aggregate_rows(x, tx, T)
        z = x == 0
        self.w0, self.T0 = w[z], T[z]
        pos = ~z
        self.w, self.x, self.tx, self.T = w[pos], x[pos], tx[pos], T[pos]
        self.n_rows = len(w)

    def negll_grad(self, theta):
        """Negative log-likelihood and its gradient in the natural parameters (r, alpha, a, b)."""
        r, al, a, b = theta
        w, x, tx, T = self.w, self.x, self.tx, self.T
        # clients without repeat visits: ll = r ln(alpha) - r ln(alpha + T)
        lT0 = np.log(al + self.T0)
        ll0 = self.w0 @ (r * np.log(al) - r * lT0)
        g0 = np.array([self.w0 @ (np.log(al) - lT0), self.w0 @ (r / al - r / (al + self.T0)), 0.0, 0.0])
        # clients with repeat visits
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


@dataclass
class BGNBDResult:
    """A fitted BG/NBD model.

    Attributes
    ----------
    params : dict
        ``{r, alpha, a, b}``; ``r / alpha`` is the mean visit rate per time unit while alive,
        ``a / (a + b)`` the mean dropout probability after a visit.
    se : dict
        Standard errors from the inverse Hessian of the negative log-likelihood.
    loglik : float
        Maximised log-likelihood.
    n : int
        Number of clients.
    n_repeat : int
        Number of repeat visits in the data.
    converged : bool
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

    # ------------------------------------------------------------------ predictions
    def _p(self):
        p = self.params
        return p["r"], p["alpha"], p["a"], p["b"]

    def p_alive(self, frequency, recency, T):
        """P(alive at T | x, t_x, T) = 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)).

        Computed as ``expit(-d)`` in log space; finite for any x and T.
        """
        r, al, a, b = self._p()
        x, tx, T = (np.asarray(v, float) for v in np.broadcast_arrays(frequency, recency, T))
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.log(a) - np.log(np.where(x > 0, b + x - 1.0, 1.0)) + (r + x) * (
                np.log(al + T) - np.log(al + tx))
        return np.where(x > 0, expit(-d), 1.0)

    def expected_visits(self, t):
        """Expected repeat visits of a new client in ``(0, t]`` (time units), unconditional.

        E[X(t)] = (a+b-1)/(a-1) * [1 - 2F1(r, a-1; a+b-1; -t/alpha)]  (Pfaff-transformed eq. 9).
        """
        r, al, a, b = self._p()
        t = np.asarray(t, float)
        return _ey_hyp(r, al, a, b, t)

    def conditional_expected_visits(self, t, frequency, recency, T, dropout_scale: float = 1.0):
        """Expected visits in ``(T, T + t]`` of a client with history ``(x, t_x, T)`` (eq. 10).

        E[Y(t)|x,t_x,T] = P(alive) * (a+b+x-1)/(a-1) * [1 - 2F1(r+x, a-1; a+b+x-1; -t/(alpha+T))]

        The Pfaff transformation of the paper's hypergeometric term removes the huge factor
        ``((alpha+T)/(alpha+T+t))^(r+x)`` so the result stays finite for hundreds of visits.
        Where scipy's ``hyp2f1`` still fails, or when ``dropout_scale != 1``, the expectation over
        the posterior of ``p`` (Beta(a, b+x)) is taken by Gauss-Jacobi quadrature instead.

        Parameters
        ----------
        t : float or array
            Horizon in time units.
        dropout_scale : float
            Future dropout probability is ``p * dropout_scale`` (the care-manager effect is
            ``1 - dropout_scale``); the past (and so P(alive)) is unchanged.
        """
        r, al, a, b = self._p()
        t, x, tx, T = (np.asarray(v, float) for v in np.broadcast_arrays(t, frequency, recency, T))
        pa = self.p_alive(x, tx, T)
        if dropout_scale == 1.0:
            with np.errstate(all="ignore"):
                ey = np.array(_ey_hyp(r + x, al + T, a, b + x, t), dtype=float)
            bad = ~np.isfinite(ey) | (ey < 0)
            if bad.any():
                ey[bad] = _ey_quad(r + x[bad], al + T[bad], a, b + x[bad], t[bad], 1.0)
        else:
            ey = _ey_quad(r + x, al + T, a, b + x, t, dropout_scale)
        return pa * ey

    def expected_visits_alive(self, t, frequency, T, dropout_scale=1.0):
        """E[visits in (T, T+t] | alive at T], by quadrature over the posterior of p (no P(alive)).

        ``dropout_scale`` may be an array of K scales: the result then has a last axis of length K
        (one column per scale), computed in one pass.
        """
        r, al, a, b = self._p()
        t, x, T = (np.asarray(v, float) for v in np.broadcast_arrays(t, frequency, T))
        ks = np.atleast_1d(np.asarray(dropout_scale, float))
        out = _ey_quad_multi(r + x, al + T, a, b + x, t, ks)
        return out[..., 0] if np.ndim(dropout_scale) == 0 else out


def _ey_hyp(s, c, a, bb, t):
    """(a+bb-1)/(a-1) * [1 - 2F1(s, a-1; a+bb-1; -t/c)]; the a -> 1 limit by a tiny shift."""
    if abs(a - 1.0) < 1e-8:
        a = 1.0 + 1e-8
    return (a + bb - 1.0) / (a - 1.0) * (1.0 - hyp2f1(s, a - 1.0, a + bb - 1.0, -t / c))


_NODES = 48
_CHUNK_ELEMENTS = 2_000_000   # rows x nodes x scales evaluated at once


@lru_cache(maxsize=4096)
def _beta_nodes(a, bb):
    """Quadrature nodes and weights (summing to 1) for an expectation over p ~ Beta(a, bb).

    Gauss-Jacobi on p = (1 + u) / 2 for moderate ``bb``; for large ``bb`` (hundreds of visits,
    where the Jacobi weight 2^(a+bb) overflows) Gauss-Laguerre on y = -ln(1 - p) ~ bb-rate Gamma:
    the density of y is (1 - e^-y)^(a-1) e^(-bb y), i.e. the Laguerre weight y^(a-1) e^(-bb y)
    times the smooth factor ((1 - e^-y) / y)^(a-1); weights are self-normalised.
    """
    if bb <= 300:
        u, w = roots_jacobi(_NODES, bb - 1.0, a - 1.0)
        return (1.0 + u) / 2.0, w / w.sum()
    z, w = roots_genlaguerre(_NODES, a - 1.0)
    y = z / bb
    w = w * np.exp((a - 1.0) * np.log(-np.expm1(-y) / y))
    return -np.expm1(-y), w / w.sum()


def _ey_quad(s, c, a, bb, t, k):
    return _ey_quad_multi(s, c, a, bb, t, np.array([float(k)]))[..., 0]


def _ey_quad_multi(s, c, a, bb, t, ks):
    """E_p[(1/(k p)) (1 - (c/(c + k p t))^s)], p ~ Beta(a, bb), by Gauss-Jacobi per distinct bb.

    The inner expression is E_lambda of the expected visits of a live client who drops out with
    probability ``k p`` after each visit, lambda ~ Gamma(s, c).  ``expm1``/``log1p`` keep it exact
    as ``k p t / c -> 0`` (the limit is ``s t / c``).
    """
    s, c, bb, t = (np.asarray(v, float) for v in np.broadcast_arrays(s, c, bb, t))
    ks = np.maximum(np.asarray(ks, float), 1e-12)
    out = np.empty(s.shape + ks.shape)
    chunk = max(1, _CHUNK_ELEMENTS // (_NODES * ks.size))
    for val in np.unique(bb.ravel()):
        sel = np.flatnonzero((bb == val).ravel())
        p, wq = _beta_nodes(float(a), float(val))
        kp = ks[None, None, :] * p[None, :, None]                     # (1, nodes, K)
        s_, r_ = s.ravel()[sel], (t / c).ravel()[sel]
        res = np.empty((sel.size, ks.size))
        for i in range(0, sel.size, chunk):                           # bounded memory
            z = kp * r_[i:i + chunk, None, None]                      # (rows, nodes, K)
            v_ = -np.expm1(-s_[i:i + chunk, None, None] * np.log1p(z)) / kp
            res[i:i + chunk] = np.einsum("rnk,n->rk", v_, wq)
        out.reshape(-1, ks.size)[sel] = res
    return out


def fit_bgnbd(rfm, x0=None) -> BGNBDResult:
    """Fit the BG/NBD model by maximum likelihood.

    Parameters
    ----------
    rfm : DataFrame
        Columns ``frequency`` (x, repeat visits), ``recency`` (t_x) and ``T``, as from
        :func:`analysis.retention.rfm`.
    x0 : sequence of 4 floats, optional
        Starting values (r, alpha, a, b).

    Returns
    -------
    BGNBDResult

    Raises
    ------
    InputError
        Fewer than 20 clients or fewer than 5 repeat visits, or inconsistent columns.

    Notes
    -----
    L-BFGS-B on log-parameters with the analytic gradient; identical rows merged with weights.
    Standard errors: numerical Hessian (central differences of the analytic gradient) in the
    natural parameters.  Reference: Fader, Hardie & Lee (2005), Marketing Science 24(2) 275-284;
    "A note on deriving the BG/NBD log-likelihood" (brucehardie.com/notes/004).
    """
    x, tx, T = _check_rfm(rfm)
    data = _Data(x, tx, T)
    if x0 is None:
        rate = max(x.sum() / max(T.sum(), 1e-9), 1e-6)
        x0 = (1.0, 1.0 / rate, 1.0, 1.0)
    lx0 = np.log(np.asarray(x0, float))

    def obj(lth):
        th = np.exp(lth)
        f, g = data.negll_grad(th)
        return f, g * th

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = fit_log_params(obj, lx0)
        if not np.isfinite(res.fun):
            raise InputError(Problem("visits", "the BG/NBD fit did not converge (non-finite "
                                     "likelihood); check the dates and the calibration period."))
        theta = np.exp(res.x)
        se, _ = hessian_se(lambda th: data.negll_grad(th)[1], theta)
    converged = bool(res.success) and not np.any(np.abs(res.x) >= 24.9)
    if not converged:
        warnings.warn(f"BG/NBD fit may not have converged: {res.message}; parameters "
                      f"{dict(zip(PARAMS, np.round(theta, 4)))}", RuntimeWarning, stacklevel=2)
    params = dict(zip(PARAMS, map(float, theta)))
    ses = dict(zip(PARAMS, map(float, se)))
    summary = pd.DataFrame({"parameter": PARAMS, "estimate": theta, "se": se})
    return BGNBDResult(params=params, se=ses, loglik=float(-res.fun), n=int(len(x)),
                       n_repeat=int(x.sum()), converged=converged, message=str(res.message),
                       summary=summary)


def _check_rfm(rfm):
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
    if len(x) < MIN_CLIENTS:
        raise InputError(Problem("visits", f"the BG/NBD model needs at least {MIN_CLIENTS} clients; "
                                 f"got {len(x)}. Use a longer period or skip the model."))
    if x.sum() < MIN_REPEATS:
        raise InputError(Problem("visits", f"the BG/NBD model needs repeat visits to estimate "
                                 f"dropout; got {int(x.sum())} (at least {MIN_REPEATS} needed)."))
    return x, tx, T


def simulate_bgnbd(params: dict, T, rng, resolution: float | None = None) -> pd.DataFrame:
    """Simulate BG/NBD histories for clients observed for ``T`` time units.

    Per client: ``lambda ~ Gamma(r, alpha)``, ``p ~ Beta(a, b)``; the client makes at most
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
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n_c)
    p = rng.beta(params["a"], params["b"], n_c)
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
