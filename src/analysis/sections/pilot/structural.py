"""The care manager's effect on dropout, estimated inside the BG/NBD model.

BG/NBD (Fader, Hardie & Lee 2005): while alive a client visits as a Poisson process with rate
``lambda ~ Gamma(r, alpha)``; after each repeat visit she drops out with probability
``p ~ Beta(a, b)``.  The pilot changes the dropout after visits on or after ``since``::

    q_j = p                         repeat visit j before `since`
    q_j = p * k * (1 - E)           after `since`, pilot group (home block piloted)
    q_j = p * k                     after `since`, control group

``k`` is the change common to every client after ``since`` (season, prices, the market): the time
effect of a difference-in-differences (Angrist & Pischke 2009, ch. 5), here inside the structural
model; ``E`` is the pilot's effect, the estimand of :mod:`analysis.sections.pilot.groups`.  Without a control
group ``k`` cannot be told apart from ``E`` and is fixed at 1 (before/after only: weaker evidence).
Both groups share the baseline (one fit before ``since``): blocks are taken as comparable in their
dropout, which the model-free difference-in-differences and the event study
(:mod:`analysis.sections.pilot.did`) check.  A pilot-group level ``g`` on the dropout, before and after
(``group_level=True``), removes that assumption but, since BG/NBD learns dropout slowly, widens the
range two- to threefold on a salon of a few thousand clients; it is left as an option.

Likelihood of a client with ``x = x0 + x1`` repeat visits (``x0`` before ``since``), the last at
``t_x``, observed for ``T`` (all from her first visit), given ``lambda, p``::

    L = lambda^x e^(-lambda T) prod_j (1 - q_j)  +  [x > 0] q_x prod_(j<x) (1 - q_j) lambda^x e^(-lambda t_x)

``lambda`` integrates in closed form, ``Gamma(r+x)/Gamma(r) alpha^r / (alpha+tau)^(r+x)``; for ``p`` the
factor ``(1-p)^x`` (resp. ``(1-p)^(x-1)``) is taken into the Beta density, ``Beta(a, b+x)``, and the
smooth rest ``((1 - c p)/(1 - p))^x1`` is integrated by Gauss-Jacobi quadrature on that density, so
the integral stays accurate for clients with hundreds of visits.

Clients of a specialist who left are observed only up to the day before the departure
(:func:`leaver_censoring`): those who leave with her are lost by another mechanism than the dropout
after a visit, one that falls on a single block and so passes for a difference between the groups.

The baseline ``(r, alpha, a, b)`` of each group is fitted on the data before ``since``
(:func:`analysis.models.bgnbd.fit_bgnbd`); ``(log k, E)`` are then fitted by maximum likelihood on
all the data.  Ranges come from a bootstrap that resamples clients within each group and refits
the baselines too (Efron & Tibshirani 1993, ch. 6).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln

from analysis.models.bgnbd import _beta_nodes, fit_bgnbd
from analysis.sections.pilot.resample import resampled_sums

__all__ = ["leaver_censoring", "client_rows", "EffectLikelihood", "EffectFit", "fit_effect", "fit_baseline",
           "bootstrap_effect", "score_and_hessian", "robust_se", "baseline_refit_sd", "with_baseline_error"]

E_BOUNDS = (-3.0, 0.995)
LOGK_BOUNDS = (-3.0, 3.0)


def leaver_censoring(visits: pd.DataFrame, staff: pd.DataFrame | None, before_days: int = 365,
                     min_share: float = 0.5) -> pd.Series:
    """The last day each client attached to a leaving specialist is observed: the day before the
    specialist left.

    A client is *attached* when a specialist who left on day ``L`` served at least ``min_share`` of
    her completed visits in the specialist's block in the ``before_days`` days before ``L`` (the
    rule of the departures table, :func:`analysis.sections.pilot.did.departures`).  When a specialist leaves, some of her clients leave the
    salon with her on that day: a loss that is not the dropout after a visit of BG/NBD, falls on the
    leaver's block only, and, when the departure is after ``since`` in a block of one group, passes
    for a difference between the groups (on the sample with a departure in a control block after
    the start, a null effect read as 40 %).  The pilot's likelihood therefore observes an attached
    client only up to ``L - 1`` (right-censoring: what happens to her after the departure is the
    departure's doing, not the care manager's).  Censoring at a time fixed by the staff table and the
    client's visits before it keeps the likelihood of what is observed exact.

    Returns
    -------
    Series indexed by client_id: a Timestamp (the earliest such day over the client's leavers).
    """
    empty = pd.Series([], dtype="datetime64[ns]", name="censor", index=pd.Index([], name="client_id"))
    if staff is None or "left" not in staff or "specialist_id" not in staff or "specialist_id" not in visits:
        return empty
    v = visits
    if "status" in v.columns:
        v = v[(v["status"].isna() | (v["status"] == "done")).to_numpy(bool)]
    st = staff.dropna(subset=["left"])
    if not len(st):
        return empty
    date = pd.to_datetime(v["date"]).dt.normalize()
    left = pd.Series(pd.to_datetime(st["left"]).dt.normalize().to_numpy(), index=st["specialist_id"].astype(str))
    left = left[~left.index.duplicated()]
    block_of = st.assign(sid=st["specialist_id"].astype(str)).drop_duplicates("sid").set_index("sid")["block"] \
        if "block" in st else None
    cid = v["client_id"].to_numpy()
    sid = v["specialist_id"].astype(str).to_numpy()
    blk = v["block"].astype(str).to_numpy() if "block" in v and block_of is not None else None
    found = []
    for s_id, L in left.items():
        yr = ((date < L) & (date >= L - pd.Timedelta(days=before_days))).to_numpy().copy()
        if blk is not None and s_id in block_of.index:
            yr &= blk == str(block_of[s_id])
        if not yr.any():
            continue
        d = pd.DataFrame({"c": cid[yr], "own": sid[yr] == s_id})
        share = d.groupby("c")["own"].mean()
        found.append(pd.Series(L, index=share.index[share >= min_share]))
    if not found:
        return empty
    out = pd.concat(found).groupby(level=0).min() - pd.Timedelta(days=1)
    out.index.name, out.name = "client_id", "censor"
    return out


def client_rows(visits: pd.DataFrame, since, end, unit_days: float, pilot_clients, censor=None) -> pd.DataFrame:
    """One row per client for the pilot likelihood (completed visits, same-day visits merged).

    ``censor`` (optional, :func:`leaver_censoring`): the last day a client is observed; her visits
    after it are dropped and her ``T`` ends there.

    Returns
    -------
    DataFrame indexed by client_id
        ``pilot`` (bool), ``x0`` / ``x1`` repeat visits before / on or after ``since``, ``tx`` (first
        to last visit) and ``T`` (first visit to ``end``) in time units of ``unit_days`` days, and for
        the baseline fit ``x_pre``, ``tx_pre``, ``T_pre`` (up to the day before ``since``; NaN for
        clients new after ``since``).
    """
    v = visits
    if "status" in v.columns:
        st = v["status"]
        v = v[(st.isna() | (st == "done")).to_numpy(bool)]
    since = pd.Timestamp(since).normalize()
    end = pd.Timestamp(end).normalize()
    date = pd.to_datetime(v["date"]).dt.normalize()
    keep = (date <= end).to_numpy()
    d = pd.DataFrame({"c": v["client_id"].to_numpy()[keep], "d": date.to_numpy()[keep]}).drop_duplicates()
    if censor is not None and len(censor):
        c_end = d["c"].map(censor)
        d = d[~(c_end.notna() & (d["d"] > c_end)).to_numpy()]
    g = d.groupby("c", sort=True)["d"]
    first, last, n = g.min(), g.max(), g.size()
    end_i = pd.Series(end, index=first.index)
    if censor is not None and len(censor):
        end_i = np.minimum(end_i, censor.reindex(first.index).fillna(end)).clip(lower=first)
    since_i = np.minimum(pd.Series(since, index=first.index), end_i + pd.Timedelta(days=1))
    n_pre = d[d["d"] < since].groupby("c", sort=True).size().reindex(first.index, fill_value=0)
    last_pre = d[d["d"] < since].groupby("c", sort=True)["d"].max().reindex(first.index)
    is_new = first >= since
    x = (n - 1).astype(float)
    x0 = np.where(is_new, 0.0, n_pre - 1.0)
    out = pd.DataFrame({
        "pilot": pd.Series(first.index.isin(list(pilot_clients)), index=first.index),
        "x0": x0, "x1": x - x0,
        "tx": (last - first).dt.days / unit_days,
        "T": (end_i - first).dt.days / unit_days,
        "x_pre": np.where(is_new, np.nan, n_pre - 1.0),
        "tx_pre": np.where(is_new, np.nan, (last_pre - first).dt.days / unit_days),
        "T_pre": np.where(is_new, np.nan, ((since_i - pd.Timedelta(days=1)) - first).dt.days / unit_days),
    })
    out.index.name = "client_id"
    return out


_NODE_CACHE: dict = {}
_NODE_CACHE_MAX = 50_000


def _nodes(a: float, bb: float):
    """Quadrature nodes for p ~ Beta(a, bb); at the model's limit case (a, b -> infinity: one dropout
    probability for everyone, where the quadrature overflows) a point mass at a / (a + bb).

    Kept by ``(a, bb)`` across likelihoods (the simulated pilots of :mod:`analysis.sections.pilot.power`
    share one baseline, so the same tables recur; a cached table is the one computed, unchanged)."""
    key = (float(a), float(bb))
    got = _NODE_CACHE.get(key)
    if got is None:
        if len(_NODE_CACHE) >= _NODE_CACHE_MAX:
            _NODE_CACHE.clear()
        got = _NODE_CACHE[key] = _nodes_computed(*key)
    return got


def _nodes_computed(a: float, bb: float):
    with np.errstate(all="ignore"):
        p, w = _beta_nodes(a, bb)
    if np.all(np.isfinite(p)) and np.all(np.isfinite(w)):
        return p, w
    return np.full(p.size, a / (a + bb)), np.full(p.size, 1.0 / p.size)


class EffectLikelihood:
    """Log-likelihood of ``(ln g, ln k, E)`` for fixed baselines (see the module docstring).

    Parameters
    ----------
    x0, x1, tx, T : arrays, one element per client
    pilot : bool array
    params : list of dict
        Baseline ``{r, alpha, a, b}`` per group (index 0 control, 1 pilot).

    Notes
    -----
    A client without repeat visits after ``since`` never faced a changed dropout, so her likelihood
    does not depend on ``k`` or ``E`` (only on ``g``): it is computed once.  Quadrature nodes are
    kept once per distinct (group, x); the quadrature itself is computed once per distinct (node
    tables, ``x1``, group, side of ``since`` of the last visit) (:meth:`_collapse`), in chunks of
    :data:`CHUNK`, so memory stays bounded for hundreds of thousands of clients.
    """

    CHUNK = 50_000

    def __init__(self, x0, x1, tx, T, pilot, params):
        self.x0, self.x1 = np.asarray(x0, float), np.asarray(x1, float)
        self.tx, self.T = np.asarray(tx, float), np.asarray(T, float)
        self.pilot = np.asarray(pilot, bool)
        x = self.x0 + self.x1
        n = x.size
        self.pos = x > 0
        self.last_post = self.x1 > 0
        self.C1, self.C2 = np.empty(n), np.full(n, -np.inf)
        self.idx1 = np.zeros(n, np.int64)
        self.idx2 = np.zeros(n, np.int64)
        tables = {}                                  # (a, bb) -> row of the node tables
        nodes = []
        for gi in (0, 1):
            sel = np.flatnonzero(self.pilot == bool(gi))
            if not sel.size:
                continue
            r, al, a, b = (float(params[gi][k]) for k in ("r", "alpha", "a", "b"))
            xs = x[sel]
            lgA = lambda tau: gammaln(r + xs) - gammaln(r) + r * np.log(al) - (r + xs) * np.log(al + tau)  # noqa: E731
            self.C1[sel] = lgA(self.T[sel]) + betaln(a, b + xs) - betaln(a, b)
            with np.errstate(invalid="ignore", divide="ignore"):
                c2 = lgA(self.tx[sel]) + betaln(a, b + np.maximum(xs - 1, 0)) - betaln(a, b)
            self.C2[sel] = np.where(xs > 0, c2, -np.inf)
            for xv in np.unique(xs):
                rows = sel[xs == xv]
                for bb, target in ((b + xv, self.idx1), (b + max(xv - 1, 0), self.idx2)):
                    key = (a, float(bb))
                    if key not in tables:
                        tables[key] = len(nodes)
                        nodes.append(_nodes(a, float(bb)))
                    target[rows] = tables[key]
        self.P = np.stack([p for p, _ in nodes])     # (distinct, nodes)
        self.W = np.stack([w for _, w in nodes])
        self.lr = -np.log1p(-self.P)                 # -ln(1 - p) at the nodes
        self.x1_2 = np.where(self.last_post, self.x1 - 1.0, 0.0)
        self.x0_2 = np.where(self.last_post, self.x0, np.maximum(self.x0 - 1.0, 0.0))
        self.active = self.x1 > 0
        self._active_rows = np.flatnonzero(self.active)
        self._collapsed = {}
        # a client without repeat visits after `since` (x1 = 0, so no e-terms and q = P): her
        # likelihood is C1 + ln sum_k W_k and C2 + ln sum_k W_k P_k of her node tables, summed once
        # per table (the quadrature's own sums, as in _pass with x1 = 0)
        inactive = np.flatnonzero(~self.active)
        with np.errstate(divide="ignore"):
            lw, lwp = np.log(self.W.sum(1)), np.log((self.W * np.minimum(self.P, 1.0)).sum(1))
        self._const = np.logaddexp(self.C1[inactive] + lw[self.idx1[inactive]],
                                   np.where(self.pos[inactive], self.C2[inactive] + lwp[self.idx2[inactive]], -np.inf))

    def _pass(self, rows, log_g: float, log_k: float, effect: float, order: int = 0):
        """Log-likelihood of the clients ``rows`` and, with ``order`` 1 or 2 (only at ``ln g = 0``),
        its first and second derivatives in ``c``, the factor of the dropout after ``since``.

        With ``c = k (1 - E)`` for the pilot group (``k`` for the control group) the dropout after
        ``since`` is ``c p``.  Under the quadrature each term of the likelihood is
        ``S(c) = sum_k W_k a_k(c) [q_k(c)]`` with ``a_k = exp(e_k)``, ``e_k = x1 ln((1 - c P_k) / (1 - P_k))``
        (``q = c P_k`` in the second term when the last visit is after ``since``, ``P_k`` otherwise), so
        ``e' = -x1 P / (1 - c P)``, ``e'' = -x1 P^2 / (1 - c P)^2``, ``a' = a e'``, ``a'' = a (e'^2 + e'')``,
        ``(a q)' = a (q' + q e')``, ``(a q)'' = a (2 q' e' + q (e'^2 + e''))``.  The two terms are
        combined by ``logaddexp`` with weights ``w_A, w_B`` (their shares of the likelihood):
        ``ll' = w_A S_A'/S_A + w_B S_B'/S_B`` and ``ll'' = w_A S_A''/S_A + w_B S_B''/S_B - ll'^2``.
        Where ``c p`` is clipped at 1 its derivatives are 0.

        Returns
        -------
        ``ll`` (n,) when ``order`` is 0, else ``(ll, c, d ll/dc, d2 ll/dc2)`` (the last NaN-free zeros
        when ``order`` is 1), each (n,) for the ``n`` rows.
        """
        if order and log_g != 0.0:
            raise ValueError("derivatives are available at ln g = 0 only")
        n = rows.size
        rep, inv = self._collapse(rows, log_g != 0.0)
        m = rep.size
        lS1, lS2, G1, G2, H1, H2 = (np.empty(m) for _ in range(6))
        c_u = np.empty(m)
        k = np.exp(log_k)
        g = np.exp(log_g)
        tiny = 1.0 - 1e-12
        for s in range(0, m, self.CHUNK):
            r = rep[s:s + self.CHUNK]
            sl = slice(s, s + r.size)
            pil = self.pilot[r]
            c = k * np.where(pil, g * (1.0 - effect), 1.0)
            c_u[sl] = c
            c1 = c[:, None]
            i1, i2 = self.idx1[r], self.idx2[r]
            P1, W1, lr1 = self.P[i1], self.W[i1], self.lr[i1]
            P2, W2, lr2 = self.P[i2], self.W[i2], self.lr[i2]
            cp1, cp2 = c1 * P1, c1 * P2
            x1, x1_2 = self.x1[r, None], self.x1_2[r, None]
            last = self.last_post[r, None]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                e1 = x1 * (np.log1p(-np.minimum(cp1, tiny)) + lr1)
                e2 = x1_2 * (np.log1p(-np.minimum(cp2, tiny)) + lr2)
                if log_g != 0.0:   # the pilot group's own level before `since` too
                    g0 = np.where(pil, g, 1.0)[:, None]
                    e1 += self.x0[r, None] * (np.log1p(-np.minimum(g0 * P1, tiny)) + lr1)
                    e2 += self.x0_2[r, None] * (np.log1p(-np.minimum(g0 * P2, tiny)) + lr2)
                    q = np.minimum(np.where(last, cp2, g0 * P2), 1.0)
                else:
                    q = np.minimum(np.where(last, cp2, P2), 1.0)
                a1 = W1 * np.exp(e1)
                a2 = W2 * np.exp(e2)
                S1 = a1.sum(1)
                S2 = (a2 * q).sum(1)
                lS1[sl], lS2[sl] = np.log(S1), np.log(S2)
                if not order:
                    continue
                clip1, clip2 = cp1 >= tiny, cp2 >= tiny
                u1, u2 = P1 / (1.0 - cp1), P2 / (1.0 - cp2)
                de1 = np.where(clip1, 0.0, -x1 * u1)
                de2 = np.where(clip2, 0.0, -x1_2 * u2)
                dq = np.where(last & (cp2 < 1.0), P2, 0.0)
                G1[sl] = (a1 * de1).sum(1) / S1
                G2[sl] = (a2 * (dq + q * de2)).sum(1) / S2
                if order >= 2:
                    dde1 = np.where(clip1, 0.0, -x1 * u1 * u1)
                    dde2 = np.where(clip2, 0.0, -x1_2 * u2 * u2)
                    H1[sl] = (a1 * (de1 * de1 + dde1)).sum(1) / S1
                    H2[sl] = (a2 * (2.0 * dq * de2 + q * (de2 * de2 + dde2))).sum(1) / S2
        with np.errstate(invalid="ignore", over="ignore"):
            A = self.C1[rows] + lS1[inv]
            B = np.where(self.pos[rows], self.C2[rows] + lS2[inv], -np.inf)
            ll = np.logaddexp(A, B)
            if not order:
                return ll
            wA, wB = np.exp(A - ll), np.exp(B - ll)
            g1, g2 = G1[inv], G2[inv]
            d1 = np.where(wA > 0, wA * g1, 0.0) + np.where(wB > 0, wB * g2, 0.0)
            d2 = np.zeros(n)
            if order >= 2:
                d2 = np.where(wA > 0, wA * H1[inv], 0.0) + np.where(wB > 0, wB * H2[inv], 0.0) - d1 * d1
        return ll, c_u[inv], d1, d2

    def _collapse(self, rows, with_x0: bool):
        """Clients ``rows`` grouped by what the quadrature of :meth:`_pass` depends on (node tables,
        ``x1``, the last visit's side of ``since``, the group, and ``x0`` with the group level): the
        quadrature is computed once per group, then spread to its clients (the same arithmetic,
        so the same numbers).  Returns ``(representatives, inverse)``, rows[inverse] ~ rep."""
        cached = self._collapsed.get(with_x0) if rows is self._active_rows else None
        if cached is not None:
            return cached
        cols = [self.idx1[rows], self.idx2[rows], self.x1[rows], self.last_post[rows], self.pilot[rows]]
        if with_x0:
            cols += [self.x0[rows], self.x0_2[rows]]
        key = np.stack([np.asarray(c, float) for c in cols], 1)
        if rows.size:
            _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
            out = (rows[first], inv.reshape(-1))
        else:
            out = (rows, np.zeros(0, np.int64))
        if rows is self._active_rows:
            self._collapsed[with_x0] = out
        return out

    def _eval(self, rows, log_g, log_k, effect):
        return self._pass(rows, log_g, log_k, effect)

    def per_client(self, log_g: float, log_k: float, effect: float) -> np.ndarray:
        """Log-likelihood of every client: pilot-group level ``g`` (before and after), time effect
        ``k`` (after, everyone) and the pilot's effect ``E`` (after, pilot group)."""
        out = np.empty(self.x1.size)
        rows = self.active | (self.pilot if log_g != 0.0 else False)
        out[~rows] = self._const[~rows[~self.active]] if log_g != 0.0 else self._const
        out[rows] = self._eval(np.flatnonzero(rows) if log_g != 0.0 else self._active_rows, log_g, log_k, effect)
        return out

    def __call__(self, theta, weights=None) -> float:
        ll = self.per_client(*theta)
        return float(ll.sum() if weights is None else weights @ ll)

    def derivatives(self, log_k: float, effect: float, order: int = 2):
        """Every client's log-likelihood at ``(ln g = 0, ln k, E)``, her score in ``(ln k, E)`` and
        (``order`` 2) her Hessian, analytic: one pass over the clients (:meth:`_pass`).

        By the chain rule through ``c = k (1 - E)`` (pilot group; ``k`` control group):
        ``dc/d ln k = c``, ``dc/dE = -k [pilot]``, ``d2c/d ln k2 = c``, ``d2c/d ln k dE = -k [pilot]``,
        ``d2c/dE2 = 0``; so ``s = ll' (c, -k [pilot])`` and
        ``H = ll'' (c, -k [pilot])' (c, -k [pilot]) + ll' [[c, -k [pilot]], [-k [pilot], 0]]``.
        Clients without repeat visits after ``since`` have zero score and Hessian.

        Returns
        -------
        ll : ndarray (n,)
            Log-likelihood per client (natural log).
        score : ndarray (n, 2)
            ``d ll_i / d (ln k, E)``.
        hess : ndarray (n, 2, 2) or None
            ``d2 ll_i / d (ln k, E)2`` (None when ``order`` is 1).
        """
        n = self.x1.size
        ll = self._const_full() if n else np.empty(0)
        rows = self._active_rows
        score = np.zeros((n, 2))
        hess = np.zeros((n, 2, 2)) if order >= 2 else None
        if not rows.size:
            return ll, score, hess
        k = np.exp(log_k)
        lr, c, d1, d2 = self._pass(rows, 0.0, log_k, effect, order=max(order, 1))
        ll[rows] = lr
        dE = np.where(self.pilot[rows], -k, 0.0)
        score[rows, 0] = d1 * c
        score[rows, 1] = d1 * dE
        if hess is not None:
            hess[rows, 0, 0] = d2 * c * c + d1 * c
            hess[rows, 0, 1] = hess[rows, 1, 0] = d2 * c * dE + d1 * dE
            hess[rows, 1, 1] = d2 * dE * dE
        return ll, score, hess

    def value_and_grad(self, log_k: float, effect: float, weights=None) -> tuple[float, np.ndarray]:
        """The summed log-likelihood at ``(ln g = 0, ln k, E)`` and its gradient in ``(ln k, E)``,
        analytic (one pass instead of the three of a forward difference; :meth:`derivatives`)."""
        ll, score, _ = self.derivatives(log_k, effect, order=1)
        w = np.ones(ll.size) if weights is None else np.asarray(weights, float)
        return float(w @ ll), w @ score if ll.size else np.zeros(2)

    def clipped(self, log_k: float, effect: float) -> bool:
        """Whether the dropout after ``since``, ``c p``, reaches its clip at 1 at some quadrature node
        of a client with visits after ``since`` (where the likelihood has a kink) at ``(ln g = 0,
        ln k, E)``."""
        rows = self.active
        if not rows.any():
            return False
        pmax = np.maximum(self.P.max(1)[self.idx1[rows]], self.P.max(1)[self.idx2[rows]])
        c = np.exp(log_k) * np.where(self.pilot[rows], 1.0 - effect, 1.0)
        return bool(np.any(c * pmax >= 1.0 - 1e-12))

    def _const_full(self) -> np.ndarray:
        out = np.empty(self.x1.size)
        out[~self.active] = self._const
        return out


@dataclass
class EffectFit:
    """Maximum-likelihood estimate of the pilot's effect.

    Attributes
    ----------
    effect : float
        E, relative cut of the dropout probability after a visit (pilot group, after ``since``).
    se : float
        Standard error of E from the observed information (analytic Hessian; numerical with the
        group level).
    time_factor : float
        ``k``, the change of dropout common to all clients after ``since`` (1 without control).
    group_factor : float
        ``g``, the pilot group's dropout relative to the control group's, before and after (1 without
        control).
    theta : ndarray
        The fitted free parameters: ``(ln g, ln k, E)`` with a control group, ``(E,)`` without.
    loglik : float
    converged : bool
    """

    effect: float
    se: float
    time_factor: float
    group_factor: float
    theta: np.ndarray
    loglik: float
    converged: bool

    @property
    def at_bound(self) -> bool:
        """Whether ``E`` (:data:`E_BOUNDS`) or the time effect ``ln k`` (:data:`LOGK_BOUNDS`) sits at its
        bound: the likelihood still rises at the edge of what the model allows, so the data do not pin
        the effect down."""
        lo, hi = E_BOUNDS
        klo, khi = LOGK_BOUNDS
        logk = np.log(self.time_factor) if self.time_factor > 0 else -np.inf
        return bool(self.effect <= lo + 1e-4 or self.effect >= hi - 1e-4 or logk <= klo + 1e-4 or logk >= khi - 1e-4)


def _full(theta, control):
    if len(theta) == 3:
        return tuple(theta)
    if len(theta) == 2:
        return (0.0, float(theta[0]), float(theta[1]))
    return (0.0, 0.0, float(theta[0]))


def fit_effect(lik: EffectLikelihood, control: bool = True, weights=None, group_level: bool = False,
               start=None) -> EffectFit:
    """Fit ``(ln g, ln k, E)`` (without ``g`` when ``group_level`` is False; ``E`` alone with
    ``control=False``) by maximum likelihood; SE from the Hessian.

    Without the group level: Newton's method on the analytic score and Hessian
    (:meth:`EffectLikelihood.derivatives`, step halved until the likelihood rises), from ``start``
    (the free parameters; zeros by default), stopped when the next step is below 1e-8; when it cannot
    proceed (a Hessian not negative definite, no rise within :data:`E_BOUNDS` / :data:`LOGK_BOUNDS`
    after ten halvings of the step, 15 evaluations, or a maximum where ``c p`` reaches its clip at 1
    for a quadrature node, :meth:`EffectLikelihood.clipped`: there the likelihood has kinks and may
    have several maxima) L-BFGS-B from zeros with the analytic gradient, exactly as before.  Newton lands on
    the same maximum as L-BFGS-B with its tolerances (``ftol`` 1e-13) to about 1e-6 in ``E``
    (``tests/test_pilot_speed.py``).  With the group level: L-BFGS-B on the likelihood and a
    central-difference Hessian."""
    n_par = (3 if group_level else 2) if control else 1
    f = lambda th: -lik(_full(th, control), weights)  # noqa: E731
    x0 = np.zeros(n_par)
    bounds = ([LOGK_BOUNDS] * (n_par - 1)) + [E_BOUNDS]
    nt = None if group_level else _newton(lik, x0 if start is None else start, control, weights)
    if nt is not None:
        theta, loglik, H, success = nt[0], nt[1], -nt[2], True
    else:
        jac = False
        if not group_level:   # the analytic gradient of (ln k, E): EffectLikelihood.value_and_grad
            def f_grad(th):
                v, g = lik.value_and_grad(*(th if control else (0.0, th[0])), weights=weights)
                g = g if control else g[1:]
                return (-v, -g) if np.isfinite(v) and np.all(np.isfinite(g)) else (np.inf, np.zeros_like(th))
            jac = True
        with np.errstate(all="ignore"):
            res = minimize(f_grad if jac else f, x0, method="L-BFGS-B", jac=jac, bounds=bounds,
                           options={"ftol": 1e-13, "gtol": 1e-8})
            theta = res.x
            H = _neg_hessian(lik, theta, control, weights) if not group_level else _hessian(f, theta)
        loglik, success = float(-res.fun), bool(res.success)
    try:
        cov = np.linalg.inv(H)
        se = float(np.sqrt(cov[-1, -1])) if cov[-1, -1] > 0 else float("nan")
    except np.linalg.LinAlgError:
        se = float("nan")
    on_bound = theta[-1] <= E_BOUNDS[0] + 1e-6 or theta[-1] >= E_BOUNDS[1] - 1e-6
    full = _full(theta, control)
    return EffectFit(effect=float(theta[-1]), se=se, time_factor=float(np.exp(full[1])),
                     group_factor=float(np.exp(full[0])), theta=np.asarray(theta, float), loglik=float(loglik),
                     converged=success and not on_bound and np.isfinite(se))


def _newton(lik: EffectLikelihood, theta0, control: bool, weights=None, max_steps: int = 40, tol: float = 1e-8,
            max_evals: int = 15):
    """Newton's method for the maximum of the (weighted) log-likelihood in ``(ln k, E)`` or ``(E,)``.

    Returns ``(theta, loglik, hessian at theta)`` or None when it cannot proceed (see
    :func:`fit_effect`)."""
    lo = np.array(([LOGK_BOUNDS[0]] if control else []) + [E_BOUNDS[0]])
    hi = np.array(([LOGK_BOUNDS[1]] if control else []) + [E_BOUNDS[1]])
    w = None if weights is None else np.asarray(weights, float)

    def evaluate(th):
        ll, S, Hc = lik.derivatives(*_at(th, control), order=2)
        if w is None:
            v, g, H = ll.sum(), S.sum(0), Hc.sum(0)
        else:
            v, g, H = w @ ll, w @ S, np.einsum("n,nij->ij", w, Hc)
        return (v, g, H) if control else (v, g[1:], H[1:, 1:])

    th = np.asarray(theta0, float).copy()
    if np.any(th < lo) or np.any(th > hi):
        return None
    evals = 0
    with np.errstate(all="ignore"):
        v, g, H = evaluate(th)
        for _ in range(max_steps):
            if not (np.isfinite(v) and np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
                return None
            try:
                L = np.linalg.cholesky(-H)
            except np.linalg.LinAlgError:
                return None
            step = np.linalg.solve(L.T, np.linalg.solve(L, g))
            if np.max(np.abs(step)) < tol:          # the next step would not move: converged
                # a maximum of the smooth likelihood only: no quadrature node clipped (c p at 1)
                return (th, float(v), H) if not lik.clipped(*_at(th, control)) else None
            t = 1.0
            while True:
                new = th + t * step
                if np.all(new >= lo) and np.all(new <= hi):
                    v1, g1, H1 = evaluate(new)
                    evals += 1
                    if np.isfinite(v1) and v1 >= v - 1e-12 * max(1.0, abs(v)):
                        break
                t *= 0.5
                if t < 1e-3 or evals >= max_evals:
                    return None
            th, v, g, H = new, v1, g1, H1
            if evals >= max_evals or (evals >= 2 and lik.clipped(*_at(th, control))):
                return None
    return None


def _at(theta, control):
    """``(ln k, E)`` of the free parameters ``theta`` without the group level."""
    return (float(theta[0]), float(theta[1])) if control else (0.0, float(theta[0]))


def _neg_hessian(lik: EffectLikelihood, theta, control: bool, weights=None) -> np.ndarray:
    """Hessian of the (weighted) negative log-likelihood in the free parameters, analytic
    (:meth:`EffectLikelihood.derivatives`)."""
    _, _, hess = lik.derivatives(*_at(theta, control), order=2)
    H = -(hess.sum(0) if weights is None else np.einsum("n,nij->ij", np.asarray(weights, float), hess))
    return H if control else H[1:, 1:]


def _hessian(f, theta, h=1e-4):
    """Central-difference Hessian of ``f`` at ``theta``."""
    k = theta.size
    H = np.empty((k, k))
    f0 = f(theta)
    I = np.eye(k) * h
    fp = [f(theta + I[i]) for i in range(k)]
    fm = [f(theta - I[i]) for i in range(k)]
    for i in range(k):
        H[i, i] = (fp[i] - 2 * f0 + fm[i]) / (h * h)
        for j in range(i + 1, k):
            H[i, j] = H[j, i] = (f(theta + I[i] + I[j]) - f(theta + I[i] - I[j]) - f(theta - I[i] + I[j])
                                 + f(theta - I[i] - I[j])) / (4 * h * h)
    return H


def fit_baseline(rows: pd.DataFrame) -> dict:
    """The BG/NBD baseline ``{r, alpha, a, b}`` fitted on every client's visits before ``since``
    (one for both groups: the pilot group's own level is the factor ``g`` of :func:`fit_effect`)."""
    pre = rows["x_pre"].notna().to_numpy()
    r = pd.DataFrame({"frequency": rows["x_pre"].to_numpy()[pre], "recency": rows["tx_pre"].to_numpy()[pre],
                      "T": rows["T_pre"].to_numpy()[pre]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_bgnbd(r).as_bgnbd_params()


def score_and_hessian(lik: EffectLikelihood, theta, control: bool, h: float = 1e-3):
    """Every client's score ``(n, k)`` and the Hessian ``(k, k)`` of the summed log-likelihood at
    ``theta`` (the free parameters of :func:`fit_effect`).

    Analytic (:meth:`EffectLikelihood.derivatives`, one pass over the clients) for ``(ln k, E)`` and
    ``(E,)``; with the group level ``(ln g, ln k, E)`` by central differences of step ``h``."""
    th = np.asarray(theta, float)
    if th.size < 3:
        _, S, hess = lik.derivatives(*_at(th, control), order=2)
        H = hess.sum(0)
        return (S, H) if control else (S[:, 1:], H[1:, 1:])
    return _score_and_hessian_fd(lik, th, control, h)


def _score_and_hessian_fd(lik: EffectLikelihood, theta, control: bool, h: float = 1e-3):
    """:func:`score_and_hessian` by central differences (``2 k + 1`` passes for the scores and
    ``2 k (k - 1)`` more for the Hessian): the reference of the analytic form, and the form used with
    the group level."""
    th = np.asarray(theta, float)
    k = th.size
    f = lambda t: lik.per_client(*_full(t, control))  # noqa: E731
    f0 = f(th)
    E = np.eye(k) * h
    fp = [f(th + E[i]) for i in range(k)]
    fm = [f(th - E[i]) for i in range(k)]
    score = np.stack([(fp[i] - fm[i]) / (2 * h) for i in range(k)], 1)
    H = np.empty((k, k))
    for i in range(k):
        H[i, i] = (fp[i] - 2 * f0 + fm[i]).sum() / h ** 2
        for j in range(i + 1, k):
            H[i, j] = H[j, i] = (f(th + E[i] + E[j]) - f(th + E[i] - E[j]) - f(th - E[i] + E[j])
                                 + f(th - E[i] - E[j])).sum() / (4 * h * h)
    return score, H


def robust_se(lik: EffectLikelihood, fit: EffectFit, control: bool, h: float = 1e-3) -> float:
    """Sandwich standard error of E, ``sqrt((H^-1 S'S H^-1)_EE)``: the spread of
    :func:`bootstrap_effect`'s draws without drawing them (resampling within groups centres each
    group's scores, which the fitted model's first-order conditions already do up to the time
    effect).  NaN when the Hessian is singular."""
    score, H = score_and_hessian(lik, fit.theta, control, h)
    try:
        Hi = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return float("nan")
    v = (Hi @ (score.T @ score) @ Hi)[-1, -1]
    return float(np.sqrt(v)) if v > 0 else float("nan")


def bootstrap_effect(lik: EffectLikelihood, fit: EffectFit, control: bool, n_boot: int, rng,
                     h: float = 1e-3) -> np.ndarray:
    """E re-estimated on ``n_boot`` resamples of the clients, drawn within each group (each group
    keeps its size): the bootstrap by client of Efron & Tibshirani (1993, ch. 6).

    Each resample's estimate is one Newton step from the full-sample estimate on the resample's
    log-likelihood, ``theta_b = theta - H^-1 S_b`` with ``S_b`` the resample's score and ``H`` the
    full-sample Hessian (the one-step / score bootstrap: Davison, Hinkley & Schechtman 1986; Andrews
    2002; Kline & Santos 2012).  Every client's score is computed once (analytic, :func:`score_and_hessian`), so
    hundreds of resamples cost one matrix product; the spread of the draws is the sandwich (robust)
    variance of the estimate.  The resample's own Hessian is not used: with the few dropouts a
    resample holds it can come near singular and throw single draws far out.  The baseline stays
    at its fit on the data before ``since``.

    Returns
    -------
    ndarray (n_boot,)
    """
    th = np.asarray(fit.theta, float)
    score, H = score_and_hessian(lik, th, control, h)
    S = resampled_sums(lik.pilot, score, n_boot, int(rng.integers(2**32)))              # (B, k)
    step = np.linalg.solve(H, S.T).T
    return np.clip(th[-1] - step[:, -1], E_BOUNDS[0], 1.0)


def baseline_refit_sd(rows: pd.DataFrame, fit: EffectFit, control: bool, n: int, rng) -> float:
    """The standard deviation of E over ``n`` full bootstrap resamples of the clients that refit the
    baseline too (the two-step estimator's whole sampling error: Efron & Tibshirani 1993, ch. 6).

    :func:`bootstrap_effect` keeps the baseline at its fit before ``since``.  With a control group the
    time effect ``k`` takes up most of a baseline error; without one (before/after only) ``E`` is
    measured against the baseline alone, and its error, ignored, made the before/after range about
    half as wide as the estimate's spread over seeds.  A handful of full refits (each a BG/NBD fit on
    the data before ``since`` started at the full-sample fit, and a refit of ``E``) measures it.
    NaN when fewer than three refits succeed."""
    pre = rows["x_pre"].notna().to_numpy()
    base_rfm = pd.DataFrame({"frequency": rows["x_pre"].to_numpy()[pre], "recency": rows["tx_pre"].to_numpy()[pre],
                             "T": rows["T_pre"].to_numpy()[pre]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = fit_bgnbd(base_rfm, se=False)
    names = ("r", "alpha", "a", "b")
    x0 = [full.params[k] for k in names] if all(k in full.params for k in names) else None
    pilot = rows["pilot"].to_numpy(bool)
    est = []
    for _ in range(int(n)):
        w = np.zeros(len(rows))
        for grp in (True, False):                      # each group keeps its size
            idx = np.flatnonzero(pilot == grp)
            if idx.size:
                w[idx] = rng.multinomial(idx.size, np.full(idx.size, 1.0 / idx.size))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                b = fit_bgnbd(base_rfm, x0=x0, weights=w[pre], se=False).as_bgnbd_params()
            keep = w > 0
            r = rows[keep]
            lik = EffectLikelihood(r["x0"], r["x1"], r["tx"], r["T"], r["pilot"], [b, b])
            est.append(fit_effect(lik, control=control, weights=w[keep]).effect)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            continue
    est = np.asarray(est, float)
    est = est[np.isfinite(est)]
    return float(np.std(est, ddof=1)) if est.size >= 3 else float("nan")


def with_baseline_error(draws: np.ndarray, effect: float, sd_full: float) -> np.ndarray:
    """The bootstrap draws stretched about ``effect`` so their spread is ``sd_full`` (the spread of
    the full refits, :func:`baseline_refit_sd`) when that is the larger; unchanged otherwise."""
    d = np.asarray(draws, float)
    sd = float(np.std(d, ddof=1)) if d.size > 1 else float("nan")
    if not (np.isfinite(sd_full) and np.isfinite(sd)) or sd_full <= sd:
        return d
    if sd <= 0:
        return effect + sd_full * (d - effect)  # degenerate draws: leave them (nothing to stretch)
    return effect + (d - effect) * (sd_full / sd)
