"""Kaplan-Meier curves of how long clients stay active before they lapse.

A client *lapses* at the first visit that is not followed by another visit within
``window_days`` (90 by default, the salon systems' first-time retention window).  Her active span
is the time from her first visit to that visit.  A client whose latest visit is less than
``window_days`` before the end of the data has not lapsed yet: her span so far is right-censored.
The survival curve S(t) is the share of clients still active ``t`` days after their first visit
(Kaplan-Meier, ``scipy.stats.ecdf`` on ``scipy.stats.CensoredData``).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from analysis.models._mle import FitCheck

__all__ = ["lapse_durations", "km_curves"]


def lapse_durations(visits: pd.DataFrame, end=None, window_days: int = 90, by: str | None = None) -> pd.DataFrame:
    """Active span and lapse status per client (and per ``by`` group, e.g. block).

    Parameters
    ----------
    visits : DataFrame
        ``client_id``, ``date`` and, when ``by`` is given, that column.  Visits on one day count once.
    end : date-like, optional
        End of observation; default the last date in ``visits``.
    window_days : int
        A gap longer than this after a visit is a lapse.
    by : str, optional
        Column to split by: a client who uses two blocks has a span in each.

    Returns
    -------
    DataFrame
        ``[by], client_id, first_visit, duration_days, lapsed`` (lapsed False = censored).
    """
    keys = ([by] if by else []) + ["client_id"]
    v = visits[keys + ["date"]].dropna()
    date = pd.to_datetime(v["date"]).dt.normalize()
    end = pd.Timestamp(end) if end is not None else date.max()
    keep = (date <= end).to_numpy(bool)
    if not keep.any():
        return pd.DataFrame(columns=keys + ["first_visit", "duration_days", "lapsed"])
    # on integer codes and int64 nanoseconds: sort by (keys, date), one visit day per key, then each
    # group's first day, first lapse and last day by position (no groupby, no MultiIndex)
    rows = np.flatnonzero(keep)
    d = date.to_numpy("datetime64[ns]")[rows].astype(np.int64)
    codes = [_sorted_codes(v[k])[rows] for k in keys]
    order = np.lexsort((d, *reversed(codes)))
    d = d[order]
    codes = [c[order] for c in codes]
    new_key = np.zeros(len(d), bool)
    new_key[0] = True
    for c in codes:
        new_key[1:] |= c[1:] != c[:-1]
    uniq = new_key.copy()
    uniq[1:] |= d[1:] != d[:-1]                   # visits on one day count once
    d, new_key, order = d[uniq], new_key[uniq], order[uniq]
    start = np.flatnonzero(new_key)
    last = np.r_[start[1:] - 1, len(d) - 1]
    gid = np.cumsum(new_key) - 1
    day = 86_400 * 10**9
    is_last = np.zeros(len(d), bool)
    is_last[last] = True
    gap = np.r_[(d[1:] - d[:-1]) // day, 0]
    to_end = (end.value - d) // day
    lapse = np.where(is_last, to_end > window_days, gap > window_days)
    until = d[last].copy()
    lapsed = np.zeros(len(start), bool)
    at = np.flatnonzero(lapse)
    g_at, first_at = np.unique(gid[at], return_index=True)
    until[g_at] = d[at[first_at]]
    lapsed[g_at] = True
    src = rows[order[start]]
    out = pd.DataFrame({k: v[k].iloc[src].reset_index(drop=True) for k in keys})
    out["first_visit"] = pd.Series(d[start].astype("datetime64[ns]")).astype(date.dtype)
    out["duration_days"] = ((until - d[start]) // day).astype(float)
    out["lapsed"] = lapsed
    return out


def _sorted_codes(col: pd.Series) -> np.ndarray:
    """Integer codes of a column, ordered like its sorted values (categories: their order)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.codes.to_numpy(np.int64)
    return pd.factorize(col, sort=True)[0].astype(np.int64)


def km_curves(durations: pd.DataFrame, by: str | None = None, min_clients: int = 20) -> pd.DataFrame:
    """Kaplan-Meier survival of the active span, one curve per group.

    Parameters
    ----------
    durations : DataFrame
        From :func:`lapse_durations` (``duration_days``, ``lapsed`` and ``by``).
    min_clients : int
        Groups with fewer clients are left out (too noisy to show).

    Returns
    -------
    DataFrame
        ``group, time_days, survival, low, high, n_clients`` (95% log-log confidence band);
        each curve starts at ``time_days = 0`` with the share who have not lapsed at once.
        ``attrs["check"]``: the fit contract (:class:`~analysis.models._mle.FitCheck`): the estimate
        is closed-form, so ``converged`` is True; ``finite`` says every survival value is a number in
        [0, 1]; ``at_boundary`` that no client in any group has lapsed yet (the curve stays at 1:
        how long clients stay cannot be read from it), with the groups in ``boundary_params``.
        Confidence bands undefined where S is 0 or 1 are set to the estimate itself.
    """
    parts = []
    groups = durations.groupby(by, observed=True) if by else [("all", durations)]
    for name, d in groups:
        if len(d) < min_clients:
            continue
        t = d["duration_days"].to_numpy(float)
        ev = d["lapsed"].to_numpy(bool)
        data = stats.CensoredData(uncensored=t[ev], right=t[~ev])
        res = stats.ecdf(data)
        sf = res.sf
        with warnings.catch_warnings():  # undefined where S = 0 or 1: shown as no band
            warnings.simplefilter("ignore", RuntimeWarning)
            ci = sf.confidence_interval(0.95, method="log-log")
        q = sf.quantiles
        prob = sf.probabilities
        low, high = ci.low.probabilities, ci.high.probabilities
        if q[0] > 0:  # prepend S(0) = 1
            q, prob = np.r_[0.0, q], np.r_[1.0, prob]
            low, high = np.r_[1.0, low], np.r_[1.0, high]
        parts.append(pd.DataFrame({"group": name, "time_days": q, "survival": prob,
                                   "low": low, "high": high, "n_clients": len(d)}))
    if not parts:
        out = pd.DataFrame(columns=["group", "time_days", "survival", "low", "high", "n_clients"])
        out.attrs["check"] = FitCheck(True, False, True, (), 0, "no group with enough clients")
        return out
    out = pd.concat(parts, ignore_index=True)
    out["low"] = out["low"].where(np.isfinite(out["low"]), out["survival"])
    out["high"] = out["high"].where(np.isfinite(out["high"]), out["survival"])
    s = out["survival"].to_numpy(float)
    finite = bool(np.all(np.isfinite(s)) and np.all((s >= 0) & (s <= 1)))
    flat = tuple(str(g) for g, d in out.groupby("group", sort=False) if d["survival"].min() >= 1.0)
    out.attrs["check"] = FitCheck(True, bool(flat), finite, flat, 1, "Kaplan-Meier (closed form)")
    return out
