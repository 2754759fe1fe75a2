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

from ._mle import FitCheck

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
    v = v.assign(date=pd.to_datetime(v["date"]).dt.normalize()).drop_duplicates()
    end = pd.Timestamp(end) if end is not None else v["date"].max()
    v = v[v["date"] <= end].sort_values(keys + ["date"], kind="stable")
    if v.empty:
        return pd.DataFrame(columns=keys + ["first_visit", "duration_days", "lapsed"])
    g = v.groupby(keys, sort=False, observed=True)
    nxt = g["date"].shift(-1)
    gap_days = (nxt - v["date"]).dt.days
    to_end = (end - v["date"]).dt.days
    lapse_here = np.where(nxt.isna(), to_end > window_days, gap_days > window_days)
    v = v.assign(_lapse=lapse_here, _first=g["date"].transform("min"))
    lapse_rows = v[v["_lapse"]].groupby(keys, sort=False, observed=True).head(1)
    last = v.groupby(keys, sort=False, observed=True).tail(1)
    out = last.set_index(keys)[["_first", "date"]].rename(columns={"date": "_until"})
    out["lapsed"] = False
    lr = lapse_rows.set_index(keys)
    out.loc[lr.index, "_until"] = lr["date"]
    out.loc[lr.index, "lapsed"] = True
    out["duration_days"] = (out["_until"] - out["_first"]).dt.days.astype(float)
    out = out.rename(columns={"_first": "first_visit"}).drop(columns="_until").reset_index()
    return out[keys + ["first_visit", "duration_days", "lapsed"]]


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
