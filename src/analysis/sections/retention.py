"""Retention and profit: what regular clients are worth, what a care manager adds, and what walks
out of the door with a leaving specialist (DESIGN.md §1 Q2 and Q3, §4).

Pieces, each pure (DataFrames in, DataFrames / dataclasses out):

* :func:`rfm` — the RFM summary the models need (Fader, Hardie & Lee 2005 conventions).
* The models live in :mod:`analysis.models` and are re-exported here: BG/NBD visits
  (:func:`fit_bgnbd`), Gamma-Gamma spend (:func:`fit_gamma_gamma`), sBG memberships
  (:func:`fit_sbg`), Kaplan-Meier time to lapse (:func:`lapse_durations`, :func:`km_curves`).
* :func:`clv` — expected discounted margin per client over the horizon.
* :func:`effect_curve`, :func:`breakeven_effect` — the care manager as a relative cut of the
  BG/NBD dropout probability ``p -> p (1 - effect)``: margin gained a year (average over the
  planning horizon, today's clients and the new ones the salon keeps winning), and the cut at
  which that pays the role's cost.
* :func:`attached_clients`, :func:`leave_rate`, :func:`attached_leave_share`,
  :func:`departure_inputs` — specialists leaving and the attached clients who follow them.
* :func:`dropout_sufficiency` — whether the data can measure dropout at all (the rule is in its
  docstring); when not, the care manager's effect stays the study's assumption alone.
* :func:`analyse` runs all of it for a study; :func:`scenarios` turns it into Monte Carlo arrays
  (one value per scenario of :func:`analysis.models.simulate.draws`) for the summary.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from analysis.codes import Missing, Note
from analysis.errors import InputError, Problem
from analysis.models import bgnbd as _bgnbd_mod
from analysis.models import gamma_gamma as _gg_mod
from analysis.models.bgnbd import BGNBDResult, fit_bgnbd
from analysis.models.gamma_gamma import GammaGammaResult, fit_gamma_gamma
from analysis.models.km import km_curves, lapse_durations
from analysis.models.sbg import SBGResult, fit_sbg

__all__ = [
    "TIME_UNIT_DAYS", "DAYS_PER_MONTH", "DAYS_PER_YEAR",
    "rfm", "fit_bgnbd", "fit_gamma_gamma", "fit_sbg", "BGNBDResult", "GammaGammaResult", "SBGResult",
    "lapse_durations", "km_curves", "membership_lifetimes", "membership_survival", "visits_outlook",
    "holdout_check",
    "clv", "effect_curve", "gain_profile", "effect_curves_bootstrap", "ModelBootstrap", "model_bootstrap",
    "range_sources", "data_share", "breakeven_effect", "Sufficiency",
    "dropout_sufficiency", "MIN_REPEAT_CLIENTS", "MIN_GAPS", "MIN_SILENT_CLIENTS", "MIN_DROPOUT", "role_cost_year",
    "new_clients_per_year",
    "attached_clients", "LeaveRate", "leave_rate", "AttachedShare", "attached_leave_share",
    "DepartureInputs", "departure_inputs", "departure_draws",
    "RetentionAnalysis", "analyse", "RetentionScenarios", "scenarios",
    "CoveredRetention", "covered_analysis", "page_figures", "role_cost_sentence",
]

DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
#: Length of the RFM time units in days.
TIME_UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": DAYS_PER_MONTH}

ROLE_SALARY_FALLBACK = 70000.0
PAYROLL_TAX_FALLBACK = 0.30


# ============================================================================ RFM


def _done(visits: pd.DataFrame) -> pd.DataFrame:
    """Completed visits only (status 'done' or no status column)."""
    if "status" in visits.columns:
        st = visits["status"]
        keep = (st.isna() | (st == "done")).to_numpy(bool)
        return visits if keep.all() else visits[keep]
    return visits


def _need(df: pd.DataFrame, cols, where="visits"):
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(Problem(where, f"needs column(s) {', '.join(missing)}; "
                                 f"has {', '.join(map(str, df.columns))}."))


def rfm(visits: pd.DataFrame, calibration_end=None, time_unit: str = "W") -> pd.DataFrame:
    """Recency-frequency-monetary summary per client, as the BG/NBD and Gamma-Gamma models need it.

    Visits on the same day are merged into one visit day (their amounts added); only completed
    visits (``status == 'done'`` when the column exists) up to ``calibration_end`` count.

    Parameters
    ----------
    visits : DataFrame
        ``client_id``, ``date``, ``amount`` (and optionally ``status``).
    calibration_end : date-like, optional
        Last day of the calibration period, inclusive; default the last date in ``visits``.
    time_unit : {"W", "D", "M"}
        Week (7 days), day, or month (365.25 / 12 days).

    Returns
    -------
    DataFrame indexed by ``client_id``
        ``frequency`` x = visit days after the first; ``recency`` t_x = first to last visit day;
        ``T`` = first visit day to ``calibration_end``; ``monetary_value`` = mean amount of the
        repeat visit days (the first excluded; 0 when x = 0).  Times in ``time_unit``.
        ``attrs``: ``time_unit``, ``time_unit_days``, ``calibration_end``.

    Examples
    --------
    >>> v = pd.DataFrame({"client_id": ["a", "a", "a", "b"], "amount": [10., 5., 20., 7.],
    ...                   "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-08"])})
    >>> rfm(v, time_unit="W").to_dict("index")
    {'a': {'frequency': 1.0, 'recency': 2.0, 'T': 2.0, 'monetary_value': 20.0}, 'b': {'frequency': 0.0, 'recency': 0.0, 'T': 1.0, 'monetary_value': 0.0}}
    """
    if time_unit not in TIME_UNIT_DAYS:
        raise InputError(Problem("study.yaml: retention.time_unit",
                                 f"must be one of W, D, M. Got {time_unit!r} instead."))
    _need(visits, ("client_id", "date", "amount"))
    unit = TIME_UNIT_DAYS[time_unit]
    v = _done(visits)
    date = pd.to_datetime(v["date"]).dt.normalize()
    end = pd.Timestamp(calibration_end).normalize() if calibration_end is not None else date.max()
    keep = (date <= end) & v["client_id"].notna() & date.notna()
    day = (pd.DataFrame({"client_id": v["client_id"].to_numpy()[keep.to_numpy()],
                         "date": date[keep].to_numpy(),
                         "amount": pd.to_numeric(v["amount"], errors="coerce").fillna(0.0)[keep].to_numpy(float)})
           .groupby(["client_id", "date"], sort=True, observed=True)["amount"].sum().reset_index())
    if day.empty:
        raise InputError(Problem("visits", f"no completed visits on or before {end.date()}."))
    g = day.groupby("client_id", sort=True, observed=True)
    first = g["date"].transform("min")
    n_days = g.size()
    first_c, last_c = g["date"].min(), g["date"].max()
    rep = day["amount"].where(day["date"] != first)
    monetary = rep.groupby(day["client_id"], sort=True, observed=True).mean().fillna(0.0)
    out = pd.DataFrame({
        "frequency": (n_days - 1).astype(float),
        "recency": (last_c - first_c).dt.days / unit,
        "T": (end - first_c).dt.days / unit,
        "monetary_value": monetary,
    })
    out.index.name = "client_id"
    out.attrs.update(time_unit=time_unit, time_unit_days=unit, calibration_end=end)
    return out


# ============================================================================ memberships


_PERIOD_DAYS = {"month": DAYS_PER_MONTH, "year": DAYS_PER_YEAR, "week": 7.0, "day": 1.0}


def membership_lifetimes(memberships: pd.DataFrame, end=None) -> pd.DataFrame:
    """Membership spells per client in whole periods, for :func:`fit_sbg`.

    A client's memberships are taken as one spell from the first ``start`` to the last ``end``
    (empty ``end``, or an ``end`` on or after the data's ``end``, = still a member: not seen to lapse).
    Periods = round(days / period length), at least 1 for a member who left; for an active member the
    whole periods completed by ``end`` (censored).

    Returns
    -------
    DataFrame
        ``client_id, start, periods, churned, period``.
    """
    _need(memberships, ("client_id", "start"), "memberships")
    m = memberships.copy()
    m["start"] = pd.to_datetime(m["start"])
    m["end"] = pd.to_datetime(m["end"]) if "end" in m else pd.NaT
    if "period" not in m:
        m["period"] = "month"
    m["period"] = m["period"].astype("object").where(m["period"].notna(), "month").astype(str).str.lower()
    end = pd.Timestamp(end) if end is not None else max(m["start"].max(), m["end"].max())
    g = m.groupby("client_id", sort=True, observed=True)
    sp = pd.DataFrame({"start": g["start"].min(), "end": g["end"].max(),
                       "active": m["end"].isna().groupby(m["client_id"], sort=True, observed=True).any(),
                       "period": g["period"].first()})
    days_p = sp["period"].map(_PERIOD_DAYS).fillna(DAYS_PER_MONTH).to_numpy(float)
    # a spell whose last membership ends on the data's last day (or later) has not been seen to lapse:
    # it may be renewed the next day, so it is censored, not counted as gone
    churned = ~sp["active"].to_numpy(bool) & (sp["end"] < end).to_numpy(bool)
    stop = np.where(churned, sp["end"].to_numpy("datetime64[ns]"), np.datetime64(end, "ns"))
    days = (stop - sp["start"].to_numpy("datetime64[ns]")) / np.timedelta64(1, "D")
    periods = np.where(churned, np.maximum(np.round(days / days_p), 1), np.floor(days / days_p + 1e-9))
    out = pd.DataFrame({"client_id": sp.index, "start": sp["start"].to_numpy(),
                        "periods": np.maximum(periods, 0).astype(int), "churned": churned,
                        "period": sp["period"].to_numpy()})
    return out[out["start"] <= end].reset_index(drop=True)


def membership_survival(life: pd.DataFrame, sbg: SBGResult, max_periods: int | None = None) -> pd.DataFrame:
    """Observed (Kaplan-Meier on the spells) and sBG-fitted share of members still active after
    each whole period.

    Returns
    -------
    DataFrame
        ``period`` (0..max), ``observed``, ``fitted``, ``at_risk`` (members observed that long).
    """
    t = life["periods"].to_numpy(float)
    ch = life["churned"].to_numpy(bool)
    top = int(max_periods if max_periods is not None else max(t.max(), 1))
    periods = np.arange(0, top + 1)
    surv, s = [], 1.0
    at_risk = []
    for k in periods:
        if k > 0:
            n = np.sum(t >= k)                       # still in at the start of period k
            d = np.sum(ch & (t == k))                # left at the end of period k
            s = s * (1.0 - d / n) if n else np.nan
        surv.append(s)
        at_risk.append(int(np.sum(t >= k)))
    return pd.DataFrame({"period": periods, "observed": surv, "fitted": sbg.survival(periods),
                         "at_risk": at_risk})


# ============================================================================ margin and CLV


def _collapse(*cols):
    """Distinct rows of the columns (in order of first appearance, like
    :func:`~analysis.models.bgnbd.aggregate_rows`) and each input row's position among them, so a
    per-client quantity is computed once per distinct row and mapped back with ``[pos]``."""
    df = pd.DataFrame({f"c{i}": np.asarray(c, float) for i, c in enumerate(cols)})
    pos = df.groupby(list(df.columns), sort=False, dropna=False).ngroup().to_numpy()
    _, first = np.unique(pos, return_index=True)
    return [df[c].to_numpy()[first] for c in df.columns], pos


def _alive_visits(bgnbd, t, x, T):
    """``bgnbd.expected_visits_alive`` at horizons ``t`` (M,) for rows (x, T): (rows, M).  It depends
    on (x, T) only, not on t_x, so the quadrature runs once per distinct (x, T)."""
    (xa, Ta), posa = _collapse(x, T)
    return bgnbd.expected_visits_alive(t[None, :], xa[:, None], Ta[:, None])[posa]


def clv(rfm_df: pd.DataFrame, bgnbd: BGNBDResult, margin_per_visit, horizon_months: int,
        discount_rate: float, time_unit_days: float | None = None) -> pd.DataFrame:
    """Customer lifetime value: expected discounted margin per client over the horizon.

    CLV_i = m_i * sum_{k=1..H} [E(Y_i(k)) - E(Y_i(k-1))] * (1 + d)^-( (k - 1/2) / 12 )

    where ``E(Y_i(k))`` is the BG/NBD conditional expected number of visits in the next ``k``
    months, ``m_i`` the margin per visit, ``d`` the annual discount rate and visits of month k
    are discounted to its middle.

    Parameters
    ----------
    rfm_df : DataFrame
        From :func:`rfm` (its ``attrs["time_unit_days"]`` is used unless given).
    margin_per_visit : float or array
        Expected margin per visit of each client (currency).
    horizon_months : int
    discount_rate : float
        Annual, e.g. 0.15.

    Returns
    -------
    DataFrame indexed like ``rfm_df``
        ``p_alive``, ``expected_visits`` (undiscounted, over the horizon), ``expected_visits_year``
        (next 12 months), ``visits_after_departure`` (the horizon's visits lost if the client left at
        a random month of it: mean over k of E(Y(H)) - E(Y(k - 1/2))), ``discounted_visits``,
        ``margin_per_visit``, ``clv``.

    Expected visits come from :meth:`BGNBDResult.conditional_expected_visits` (stable quadrature:
    finite, non-negative and non-decreasing in the horizon for any parameters) and are capped by the
    calendar: visits on one day count once, so a client cannot make more visits than there are days
    in the horizon.

    Raises
    ------
    InputError
        When ``bgnbd`` is not usable (not converged, at a boundary or not finite): a fit that failed
        its contract is never used silently.
    """
    if not getattr(bgnbd, "usable", True):
        raise InputError(Problem("visits", "the visit model's fit is not usable (it did not converge to "
                                 "finite values inside the parameter space)."))
    unit = time_unit_days or rfm_df.attrs.get("time_unit_days", 7.0)
    H = int(horizon_months)
    x = rfm_df["frequency"].to_numpy(float)
    tx = rfm_df["recency"].to_numpy(float)
    T = rfm_df["T"].to_numpy(float)
    (xu, txu, Tu), pos = _collapse(x, tx, T)
    months = np.arange(1, max(H, 12) + 1)
    t = months * DAYS_PER_MONTH / unit
    # (distinct rows, months) arrays, ~30 MB each at a million visits: worked on in place, one at a
    # time (the same operations in the same order as with a new array per step, so the same bits)
    with np.errstate(all="ignore"):
        pa_u = bgnbd.p_alive(xu, txu, Tu)
        cum = _alive_visits(bgnbd, t, xu, Tu)
        np.multiply(pa_u[:, None], cum, out=cum)                 # conditional_expected_visits, collapsed
    np.nan_to_num(cum, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    np.minimum(cum, (months * DAYS_PER_MONTH)[None, :], out=cum)          # the calendar's bound
    np.maximum(cum, 0.0, out=cum)
    np.maximum.accumulate(cum, axis=1, out=cum)
    inc = cum[:, :H].copy()                                                # month k: cum[k] - cum[k-1]
    np.subtract(inc[:, 1:], cum[:, :H - 1], out=inc[:, 1:])
    disc = (1.0 + discount_rate) ** (-(months[:H] - 0.5) / 12.0)
    dv = (inc @ disc)[pos]
    # visits lost if the client left at the middle of a month chosen at random within the horizon:
    # mid[k] = (cum0[k] + cum0[k+1]) / 2 with cum0 = [0, cum[:H]]
    mid = inc                                                              # reused: inc is no longer needed
    mid[:, 0] = 0.0 + cum[:, 0]
    np.add(cum[:, :H - 1], cum[:, 1:H], out=mid[:, 1:])
    np.multiply(mid, 0.5, out=mid)
    np.subtract(cum[:, [H - 1]], mid, out=mid)
    after = mid.mean(axis=1)[pos]
    m = np.broadcast_to(np.asarray(margin_per_visit, float), x.shape)
    out = pd.DataFrame({"p_alive": pa_u[pos], "expected_visits": cum[pos, H - 1],
                        "expected_visits_year": cum[pos, 11], "visits_after_departure": after,
                        "discounted_visits": dv, "margin_per_visit": m, "clv": dv * m},
                       index=rfm_df.index)
    return out


def holdout_check(visits: pd.DataFrame, rfm_df: pd.DataFrame, bgnbd: BGNBDResult, max_frequency: int = 7):
    """Forecast against what happened after the calibration period (Fader, Hardie & Lee 2005, fig. 4).

    For the clients of ``rfm_df``, actual visit days in ``(calibration_end, last date]`` against the
    BG/NBD conditional expectation for that period, grouped by repeat visits in calibration
    (``max_frequency`` and more in one group).  None when the data end at the calibration end.

    Returns
    -------
    DataFrame or None
        ``frequency`` (group label), ``clients``, ``actual``, ``predicted`` (mean visits per client);
        ``attrs``: ``holdout_days``, ``actual_total``, ``predicted_total``.
    """
    end = rfm_df.attrs["calibration_end"]
    unit = rfm_df.attrs.get("time_unit_days", 7.0)
    v = _done(visits)
    date = pd.to_datetime(v["date"]).dt.normalize()
    last = date.max()
    if not last > end:
        return None
    after = pd.DataFrame({"client_id": v["client_id"].to_numpy()[(date > end).to_numpy()],
                          "date": date[date > end].to_numpy()}).drop_duplicates()
    actual = after.groupby("client_id", observed=True).size().reindex(rfm_df.index).fillna(0.0)
    t = (last - end).days / unit
    (xu, txu, Tu), pos = _collapse(rfm_df["frequency"], rfm_df["recency"], rfm_df["T"])
    pred = (bgnbd.p_alive(xu, txu, Tu) * _alive_visits(bgnbd, np.array([t]), xu, Tu)[:, 0])[pos]
    grp = np.minimum(rfm_df["frequency"].to_numpy(int), max_frequency)
    df = pd.DataFrame({"g": grp, "actual": actual.to_numpy(float), "predicted": pred})
    out = df.groupby("g").agg(clients=("actual", "size"), actual=("actual", "mean"),
                              predicted=("predicted", "mean")).reset_index()
    out["frequency"] = [f"{g}+" if g == max_frequency else str(g) for g in out["g"]]
    out = out[["frequency", "clients", "actual", "predicted"]]
    out.attrs.update(holdout_days=int((last - end).days), actual_total=float(df["actual"].sum()),
                     predicted_total=float(df["predicted"].sum()))
    return out


# ============================================================================ care-manager effect

def visits_outlook(rfm_df: pd.DataFrame, bgnbd: BGNBDResult, months: int = 12, effect: float = 0.0,
                   time_unit_days: float | None = None) -> pd.DataFrame:
    """Expected visits of the current clients over the coming months, without and with a cut of
    the dropout probability by ``effect``.

    Returns
    -------
    DataFrame
        ``month`` (0..months), ``visits_without``, ``visits_with``: cumulative expected visits of
        all current clients together.
    """
    unit = time_unit_days or rfm_df.attrs.get("time_unit_days", 7.0)
    x, T, pa, _ = _effect_rows(rfm_df, bgnbd, 1.0)
    m = np.arange(0, int(months) + 1)
    t = m * DAYS_PER_MONTH / unit
    G = bgnbd.expected_visits_alive(t[None, :], x[:, None], T[:, None],
                                    np.array([1.0, max(1.0 - effect, 1e-9)]))   # (clients, months, 2)
    return pd.DataFrame({"month": m, "visits_without": pa @ G[:, :, 0], "visits_with": pa @ G[:, :, 1]})





def _effect_rows(rfm_df, bgnbd, margin_per_visit, weights=None):
    """Aggregate clients by (x, T) with weights P(alive) and P(alive) * margin (each times the
    row's ``weights``: how many clients it stands for, default 1)."""
    x = rfm_df["frequency"].to_numpy(float)
    tx = rfm_df["recency"].to_numpy(float)
    T = rfm_df["T"].to_numpy(float)
    (xu, txu, Tu), pos = _collapse(x, tx, T)
    pa = bgnbd.p_alive(xu, txu, Tu)[pos]
    if weights is not None:
        pa = pa * np.asarray(weights, float)
    m = np.broadcast_to(np.asarray(margin_per_visit, float), x.shape)
    df = pd.DataFrame({"x": x, "T": T, "pa": pa, "pam": pa * m})
    g = df.groupby(["x", "T"], sort=False)[["pa", "pam"]].sum().reset_index()
    return g["x"].to_numpy(), g["T"].to_numpy(), g["pa"].to_numpy(), g["pam"].to_numpy()


class _EffectModel:
    """Margin gained over a horizon when future dropout is ``p (1 - e)``, for many ``e`` at once.

    Current clients (aggregated by (x, T), weighted by P(alive) and margin per visit) and, when
    ``new_clients_per_year > 0``, monthly cohorts of new clients arriving during the horizon.
    """

    def __init__(self, rfm_df, bgnbd, margin_per_visit, horizon_months, time_unit_days,
                 new_clients_per_year, new_client_margin, weights=None):
        self.bgnbd = bgnbd
        self.unit = time_unit_days or rfm_df.attrs.get("time_unit_days", 7.0)
        self.x, self.T, self.pa, self.pam = _effect_rows(rfm_df, bgnbd, margin_per_visit, weights)
        self.H = int(horizon_months)
        self.years = self.H / 12.0
        self.t = self.H * DAYS_PER_MONTH / self.unit
        self.t1 = min(self.H, 12) * DAYS_PER_MONTH / self.unit
        self.A = float(new_clients_per_year or 0.0)
        self.m_new = float(new_client_margin or 0.0)
        # cohort k (k = 0..H-1) joins in the middle of month k and stays to the horizon's end
        self.tau = (self.H - np.arange(self.H) - 0.5) * DAYS_PER_MONTH / self.unit

    def margin(self, scales):
        """Margin over the horizon per scale: the second value of :meth:`gains` (the same numbers,
        bit for bit), without the first-year figure and the visit totals the break-even search
        does not use."""
        sc = np.r_[1.0, np.asarray(scales, float)]
        G = self.bgnbd.expected_visits_alive(self.t, self.x, self.T, sc)
        margin = self.pam @ (G[:, 1:] - G[:, [0]])
        if self.A > 0:
            N = self.bgnbd.expected_visits_alive(self.tau, np.zeros_like(self.tau), np.zeros_like(self.tau), sc)
            dn = (N[:, 1:] - N[:, [0]]).sum(axis=0) * self.A / 12.0
            margin = margin + dn * self.m_new
        return margin

    def gains(self, scales):
        """Per scale: (visits over the horizon, margin over the horizon, first-year margin of the
        current clients)."""
        sc = np.r_[1.0, np.asarray(scales, float)]
        G = self.bgnbd.expected_visits_alive(self.t, self.x, self.T, sc)
        g = G[:, 1:] - G[:, [0]]
        visits, margin = self.pa @ g, self.pam @ g
        if self.t1 != self.t:
            G1 = self.bgnbd.expected_visits_alive(self.t1, self.x, self.T, sc)
            first = self.pam @ (G1[:, 1:] - G1[:, [0]])
        else:
            first = margin.copy()
        if self.A > 0:
            N = self.bgnbd.expected_visits_alive(self.tau, np.zeros_like(self.tau), np.zeros_like(self.tau), sc)
            dn = (N[:, 1:] - N[:, [0]]).sum(axis=0) * self.A / 12.0
            visits, margin = visits + dn, margin + dn * self.m_new
        return visits, margin, first


def effect_curve(rfm_df: pd.DataFrame, bgnbd: BGNBDResult, margin_per_visit, effects=None,
                 horizon_months: int = 12, time_unit_days: float | None = None,
                 new_clients_per_year: float = 0.0, new_client_margin: float = 0.0) -> pd.DataFrame:
    """Visits and margin gained a year if the dropout probability falls by ``effect``.

    For client i (alive with probability P_i at the end of the data), the expected visits in the
    next ``t`` under future dropout ``p (1 - e)`` are

        G_i(e) = E_{p ~ Beta(a, b+x)} [ (1 - (c/(c + (1-e) p t))^s) / ((1-e) p) ],
        s = r + x, c = alpha + T

    (Gamma-Poisson integrated in closed form, the Beta by Gauss-Jacobi quadrature).  The current
    clients gain ``sum_i P_i m_i [G_i(e) - G_i(0)]`` over the horizon, ``m_i`` the margin per visit.
    With ``new_clients_per_year`` > 0, clients who arrive during the horizon (evenly, month by
    month, with margin ``new_client_margin`` per visit) gain the same way from their first visit
    (prior r, alpha, a, b).  The yearly figure is the total over ``horizon_months`` divided by the
    horizon in years (undiscounted; the summary discounts).

    Returns
    -------
    DataFrame
        ``effect``, ``incremental_visits_year``, ``incremental_margin_year`` (average a year over
        the horizon) and ``first_year_margin_current`` (today's clients, first year only).
    """
    effects = np.linspace(0.0, 1.0, 51) if effects is None else np.asarray(effects, float)
    em = _EffectModel(rfm_df, bgnbd, margin_per_visit, horizon_months, time_unit_days,
                      new_clients_per_year, new_client_margin)
    visits, margin, first = em.gains(np.clip(1.0 - effects, 1e-9, 1.0))
    return pd.DataFrame({"effect": effects, "incremental_visits_year": visits / em.years,
                         "incremental_margin_year": margin / em.years, "first_year_margin_current": first})


def gain_profile(analysis, horizon_months: int, effect: float) -> np.ndarray:
    """Cumulative margin gained by the end of each month ``m = 1 … horizon_months`` when the
    dropout probability falls by ``effect`` from month 0: :func:`effect_curve`'s gain over a
    horizon of ``m`` months (today's clients and, when the analysis counts them, the new clients
    of those months), undiscounted.  Its monthly increments are the model's own timing of the
    retention gain, which builds up as the clients kept accumulate.

    Returns an array (horizon_months,); zeros when the visit model was not fitted.
    """
    a = analysis
    H = int(horizon_months)
    if a.bgnbd is None or a.clv is None:
        return np.zeros(H)
    spend = a.clv["spend_per_visit"].to_numpy(float)
    m_visit = spend * a.margin_ratio
    new_margin = float(np.mean(spend)) * a.margin_ratio if a.new_clients_per_year > 0 else 0.0
    scale = [1.0, max(1.0 - float(effect), 1e-9)]
    em = _EffectModel(a.rfm, a.bgnbd, m_visit, H, a.time_unit_days, a.new_clients_per_year, new_margin)
    t = np.arange(1, H + 1) * DAYS_PER_MONTH / em.unit
    G = em.bgnbd.expected_visits_alive(t[:, None], em.x[None, :], em.T[None, :], scale)   # (H, K, 2)
    out = (G[..., 1] - G[..., 0]) @ em.pam
    if em.A > 0:
        # the cohort of month k has been there m - k - 1/2 months by the end of month m
        tau = (np.arange(H) + 0.5) * DAYS_PER_MONTH / em.unit
        N = em.bgnbd.expected_visits_alive(tau, np.zeros(H), np.zeros(H), scale)
        out = out + np.cumsum(N[:, 1] - N[:, 0]) * em.A / 12.0 * em.m_new
    return out


@dataclass
class ModelBootstrap:
    """The fitted models' own uncertainty: every model the retention figures rest on refitted
    jointly on resamples of the salon's clients (the bootstrap by client, Efron & Tibshirani 1993,
    ch. 6).

    Attributes
    ----------
    effects : ndarray (G,)
        The cuts of the dropout probability the curves are read at.
    curves : ndarray (K, G)
        :func:`effect_curve`'s ``incremental_margin_year`` of each kept refit (BG/NBD and, when the
        analysis uses it, Gamma-Gamma refitted on the same resample).
    params : DataFrame
        One row per kept refit: ``bgnbd_*`` (the visit model's parameters), ``gg_p, gg_q,
        gg_gamma`` (spend, NaN when the analysis uses the clients' own mean spend), ``sbg_alpha,
        sbg_beta`` or ``sbg_theta`` (memberships; NaN without them), ``departure_share`` (the
        share of attached clients who follow a leaving specialist, NaN when not measured).
    refits : int
        Resamples tried (``len(curves)`` of them kept; a resample whose visit- or spend-model refit
        fails its contract is dropped).
    """

    effects: np.ndarray
    curves: np.ndarray
    params: pd.DataFrame
    refits: int = 0

    @property
    def kept(self) -> int:
        return int(len(self.curves))


def _client_counts(rng, n):
    """Counts of each of ``n`` clients in one resample with replacement (sum ``n``)."""
    return np.bincount(rng.integers(0, n, n), minlength=n).astype(float)


def model_bootstrap(analysis, horizon_months: int, refits: int, rng, effects=None) -> ModelBootstrap:
    """Refit the models on ``refits`` resamples of the clients, jointly: one resample of the
    salon's clients (with replacement) per refit, and on it BG/NBD (visits), Gamma-Gamma (spend,
    when the analysis uses it), sBG (the same clients' memberships) and the share of attached
    clients who follow a leaving specialist (the same clients' departures).

    A resample is one count per client (how often she was drawn); every fit takes those counts as
    weights on the distinct (x, t_x, T, spend) rows instead of repeating the clients' rows, which
    gives the same fit as the resampled table (:func:`~analysis.models.bgnbd.fit_bgnbd`'s
    ``weights``).  Each refit's :func:`effect_curve` is computed on the collapsed rows with those
    weights: P(alive) per distinct (x, t_x, T), expected spend per distinct (x, m), the quadrature
    per distinct (x, T).  A client keeps her margin ratio; with Gamma-Gamma refitted, her spend per
    visit follows the refit.  Clients who hold memberships but made no visit are resampled too
    (the clients of the study are the union).

    Returns
    -------
    ModelBootstrap
        Empty (no curves) when the visit model was not fitted or ``refits`` is 0.
    """
    a = analysis
    effects = np.linspace(0.0, 1.0, 51) if effects is None else np.asarray(effects, float)
    empty = ModelBootstrap(effects, np.empty((0, len(effects))), pd.DataFrame(), int(max(refits, 0)))
    if a.bgnbd is None or a.clv is None or refits <= 0:
        return empty
    r = a.rfm
    n = len(r)
    ids = pd.Index(r.index)
    life = a.memberships if a.sbg is not None else None
    extra = pd.Index([])
    if life is not None:
        extra = pd.Index(life["client_id"].unique()).difference(ids)
    n_all = n + len(extra)
    x, tx, T = (r[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    mv = r["monetary_value"].to_numpy(float)
    spend0 = a.clv["spend_per_visit"].to_numpy(float)
    (xu, txu, Tu, mu, su), pos = _collapse(x, tx, T, mv, spend0)
    rows = pd.DataFrame({"frequency": xu, "recency": txu, "T": Tu, "monetary_value": mu}, copy=False)
    rows.attrs = dict(r.attrs)
    if life is not None:
        where = ids.get_indexer(life["client_id"])
        where = np.where(where >= 0, where, n + extra.get_indexer(life["client_id"]))
    sh = a.departures.attached_share if a.departures is not None else None
    by_client = getattr(sh, "clients", None)
    if by_client is not None:
        cw = ids.get_indexer(by_client["client_id"])
    ratio = a.margin_ratio if np.isfinite(a.margin_ratio) else 0.0
    # each refit is the analysis's own model (the same member of the BG/NBD family), started from its
    # estimate: a resample moves the optimum a little, so one start usually suffices
    start = tuple(a.bgnbd.params[k] for k in ("r", "alpha", "a", "b")) if a.bgnbd.variant == "bgnbd" else None
    curves, params = [], []
    for _ in range(int(refits)):
        cnt = _client_counts(rng, n_all)
        wu = np.bincount(pos, weights=cnt[:n], minlength=len(xu))
        row = {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                fit = fit_bgnbd(rows, x0=start, variant=a.bgnbd.variant, weights=wu, se=False)
                spend_u = su
                if a.gamma_gamma is not None:
                    gg = fit_gamma_gamma(rows, weights=wu, se=False, start=a.gamma_gamma.params)
                    if not gg.usable:
                        continue
                    spend_u = gg.expected_spend(xu, mu)
                    row.update(gg_p=gg.params["p"], gg_q=gg.params["q"], gg_gamma=gg.params["gamma"])
        except (InputError, ValueError, ArithmeticError):
            continue
        if not getattr(fit, "usable", True):   # fit contract: an unusable refit is never used
            continue
        row.update({f"bgnbd_{k}": v for k, v in fit.params.items()})
        new_margin = (float(wu @ spend_u / wu.sum()) * ratio) if a.new_clients_per_year > 0 else 0.0
        em = _EffectModel(rows, fit, spend_u * ratio, horizon_months, a.time_unit_days, a.new_clients_per_year,
                          new_margin, weights=wu)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            # gains()[1] bit for bit, without the first-year quadrature the curves do not use
            margin = em.margin(np.clip(1.0 - effects, 1e-9, 1.0))
        if not np.all(np.isfinite(margin)):
            continue
        if life is not None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    sb = fit_sbg(life["periods"], life["churned"], weights=cnt[where])
                row.update({f"sbg_{k}": v for k, v in sb.params.items()} if sb.check.ok else {})
            except InputError:
                pass
        if by_client is not None:
            wc = np.where(cw >= 0, cnt[np.maximum(cw, 0)], 1.0)
            row["departure_share"] = _excess_share(*(wc @ by_client[c].to_numpy(float) for c in
                                                     ("attached", "attached_gone", "baseline", "baseline_gone")))
        # a cut of the dropout probability never loses visits: a negative gain is the
        # quadrature's noise on a degenerate refit
        curves.append(np.maximum(margin, 0.0) / em.years)
        params.append(row)
    cols = ([f"bgnbd_{k}" for k in a.bgnbd.params] + (["gg_p", "gg_q", "gg_gamma"] if a.gamma_gamma is not None else [])
            + ([f"sbg_{k}" for k in a.sbg.params] if life is not None else [])
            + (["departure_share"] if by_client is not None else []))
    return ModelBootstrap(effects, np.array(curves).reshape(len(curves), len(effects)),
                          pd.DataFrame(params, columns=cols, dtype=float), int(refits))


def effect_curves_bootstrap(analysis, horizon_months: int, refits: int, rng, effects=None) -> np.ndarray:
    """The models' own uncertainty in the retention gain: :attr:`ModelBootstrap.curves` of
    :func:`model_bootstrap` (BG/NBD and Gamma-Gamma refitted jointly on each resample of the
    clients), (refits kept, len(effects)); an empty array when the visit model was not fitted."""
    return model_bootstrap(analysis, horizon_months, refits, rng, effects).curves


def breakeven_effect(rfm_df: pd.DataFrame, bgnbd: BGNBDResult, margin_per_visit, cost_year: float,
                     horizon_months: int = 12, time_unit_days: float | None = None,
                     new_clients_per_year: float = 0.0, new_client_margin: float = 0.0):
    """The smallest cut of the dropout probability whose yearly margin gain (as in
    :func:`effect_curve`) pays ``cost_year``.

    Solves ``gain(e) = cost_year`` with Brent's method on [0, 1], after checking both ends.

    Returns
    -------
    float or Missing
        The cut in [0, 1]; 0 when the cost is not positive.  A :class:`~analysis.codes.Missing`
        (never NaN or inf, never an exception) when it cannot be computed, with the reason's code:
        ``retention.fit.breakeven_no_cost`` (the role's cost is not a finite number),
        ``retention.fit.breakeven_not_finite`` (the gain is not finite at either end: a model that
        failed its fit contract), ``retention.fit.breakeven_never`` (even a 100% cut — no client ever
        drops out — does not pay; field ``gain_max`` = the largest yearly gain),
        ``retention.fit.breakeven_no_root`` (the solver found no crossing).
    """
    if not np.isfinite(cost_year):
        return Missing(Note("retention.fit.breakeven_no_cost", {}, level="warning", topic="effect"))
    if cost_year <= 0:
        return 0.0
    if not getattr(bgnbd, "usable", True):
        return Missing(Note("retention.fit.breakeven_not_finite", {}, level="warning", topic="effect"))
    em = _EffectModel(rfm_df, bgnbd, margin_per_visit, horizon_months, time_unit_days,
                      new_clients_per_year, new_client_margin)

    def f(e):
        with np.errstate(all="ignore"):
            return float(em.margin([max(1.0 - e, 1e-9)])[0] / em.years - cost_year)

    top = 1.0 - 1e-9
    lo, hi = f(0.0), f(top)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return Missing(Note("retention.fit.breakeven_not_finite", {}, level="warning", topic="effect"))
    if lo >= 0:
        return 0.0
    if hi < 0:
        return Missing(Note("retention.fit.breakeven_never", {"gain_max": hi + cost_year},
                            level="info", topic="effect"))
    try:
        return float(brentq(f, 0.0, top, xtol=1e-6))
    except (ValueError, RuntimeError):
        return Missing(Note("retention.fit.breakeven_no_root", {}, level="warning", topic="effect"))


# ============================================================================ data sufficiency

#: Thresholds of the dropout-sufficiency rule (see :func:`dropout_sufficiency`).
MIN_REPEAT_CLIENTS = 30
MIN_GAPS = 3.0
MIN_SILENT_CLIENTS = 10
SILENCE_GAPS = 2.0
MIN_DROPOUT = 1e-3


@dataclass
class Sufficiency:
    """Whether the data can measure how likely clients are to stop coming.

    Attributes
    ----------
    measurable : bool
        All conditions of :func:`dropout_sufficiency` hold.
    span_days : float
        Calibration history: first visit in the data to the calibration end (days).
    median_gap_days : float
        Median over returning clients of their mean time between visit days (days); NaN without
        returning clients.
    repeat_clients : int
        Clients with at least one repeat visit day.
    silent_clients : int
        Returning clients silent since their last visit for more than ``SILENCE_GAPS`` of their own
        mean gaps: the clients whose absence shows dropout.
    mean_dropout : float
        Mean dropout probability of the visit model (NaN without a usable fit).
    reasons : list of Note
        One note per failed condition (``retention.sufficiency.*``).
    """

    measurable: bool
    span_days: float
    median_gap_days: float
    repeat_clients: int
    silent_clients: int
    mean_dropout: float = float("nan")
    reasons: list = field(default_factory=list)


def dropout_sufficiency(rfm_df: pd.DataFrame, bgnbd: BGNBDResult | None = None,
                        min_repeat_clients: int = MIN_REPEAT_CLIENTS, min_gaps: float = MIN_GAPS,
                        min_silent: int = MIN_SILENT_CLIENTS, min_dropout: float = MIN_DROPOUT) -> Sufficiency:
    """The data-sufficiency rule: can these data measure dropout?

    Dropout shows only as clients who used to come and then stay away for longer than their usual
    gap.  The rule asks for all four of:

    1. at least ``min_repeat_clients`` (30) clients with a repeat visit day — fewer cannot separate
       the spread of visit rates from dropout;
    2. a calibration history (first visit to calibration end) of at least ``min_gaps`` (3) typical
       gaps between visits (the median over returning clients of their mean gap): a client must have
       had time to miss visits;
    3. at least ``min_silent`` (10) returning clients silent for more than twice their own mean gap:
       the absences the dropout probability is estimated from;
    4. a usable visit-model fit (fit contract) whose mean dropout probability is at least
       ``min_dropout`` (0.1% per visit): a fit at p -> 0 says "nobody has left yet", not "nobody
       leaves".

    When the rule fails, the care manager's effect (a relative cut of the dropout probability) has
    nothing measured to act on: the kit carries it as the study's assumption alone and derives no
    margin figure from it (never a "0 (0 … 0)" range).

    Parameters
    ----------
    rfm_df : DataFrame
        From :func:`rfm` (``attrs["time_unit_days"]`` converts to days).
    bgnbd : BGNBDResult, optional

    Returns
    -------
    Sufficiency
    """
    unit = float(rfm_df.attrs.get("time_unit_days", 7.0))
    x = rfm_df["frequency"].to_numpy(float)
    tx = rfm_df["recency"].to_numpy(float)
    T = rfm_df["T"].to_numpy(float)
    rep = x > 0
    span = float(T.max() * unit) if len(T) else 0.0
    gaps = tx[rep] / x[rep] * unit
    gap = float(np.median(gaps)) if gaps.size else float("nan")
    silent = int(np.sum((T[rep] - tx[rep]) * unit > SILENCE_GAPS * np.maximum(gaps, 1.0)))
    n_rep = int(rep.sum())
    usable = bgnbd is not None and getattr(bgnbd, "usable", True)
    drop = float(bgnbd.mean_dropout) if usable else float("nan")
    reasons = []
    if n_rep < min_repeat_clients:
        reasons.append(Note("retention.sufficiency.few_repeat_clients",
                            {"need": min_repeat_clients}, n=n_rep, level="warning", topic="sufficiency"))
    if not np.isfinite(gap) or span < min_gaps * gap:
        reasons.append(Note("retention.sufficiency.short_history",
                            {"months": span / DAYS_PER_MONTH, "gap_days": gap if np.isfinite(gap) else 0.0,
                             "gaps": min_gaps}, level="warning", topic="sufficiency"))
    if silent < min_silent:
        reasons.append(Note("retention.sufficiency.no_silence", {"need": min_silent}, n=silent,
                            level="warning", topic="sufficiency"))
    if not usable:
        reasons.append(Note("retention.sufficiency.no_fit", {}, level="warning", topic="sufficiency"))
    elif not drop >= min_dropout:
        reasons.append(Note("retention.sufficiency.no_dropout", {"dropout": drop}, level="warning",
                            topic="sufficiency"))
    return Sufficiency(measurable=not reasons, span_days=span, median_gap_days=gap, repeat_clients=n_rep,
                       silent_clients=silent, mean_dropout=drop, reasons=reasons)


def new_clients_per_year(visits: pd.DataFrame, end=None) -> float:
    """Clients whose first completed visit falls in the last 365 days up to ``end`` (scaled to a
    year when the data are shorter).  The first months of an export also hold old clients seen
    for the first time, so with less than two years of data this overstates acquisition."""
    v = _done(visits)
    date = pd.to_datetime(v["date"])
    end = pd.Timestamp(end) if end is not None else date.max()
    first = date[date <= end].groupby(v.loc[date <= end, "client_id"], observed=True).min()
    span = min(365.0, float((end - first.min()).days) + 1.0)
    return float((first > end - pd.Timedelta(days=365)).sum() * 365.0 / span)


def role_cost_year(study, draws=None, tables=None):
    """What retention must earn a year to pay for the role: the summary's one role cost (the pay
    scheme in force x the care managers needed, payroll tax included) less what it replaces in
    today's setup, x 12 (:func:`analysis.sections.summary.retention_cost_year`).  With ``draws``, an array
    per scenario; without, the median over the study's scenarios.  Negative when the saving alone
    pays for the role.

    ``tables``: the whole salon's tables (never a covered subset) when the caller holds them, so the
    study's exports are not read again; default None reads them once per kernel, as the summary does."""
    from analysis.sections import summary

    return summary.retention_cost_year(study, draws, tables=tables)


# ============================================================================ departures


def attached_clients(visits: pd.DataFrame, min_share: float = 0.5, min_visits: int = 2) -> pd.DataFrame:
    """Clients attached to a specialist: she did at least ``min_share`` of their visits in her block,
    and the client made at least ``min_visits`` completed visits in that block.

    A client seen once in a block is not attached to anyone there: one visit says nothing about a
    preference for one specialist (``data_check.attachment_min_visits``, default 2).

    Parameters
    ----------
    visits : DataFrame
        ``client_id``, ``specialist_id`` and optionally ``block`` (without it, all visits form
        one block).  Completed visits only are counted.
    min_share : float
        Smallest share of the client's block visits done by the specialist.
    min_visits : int
        Smallest number of the client's completed visits in the block (with any specialist).

    Returns
    -------
    DataFrame
        ``client_id, specialist_id, [block,] visits, share`` — one row per attachment (a client
        can be attached to one specialist per block).
    """
    _need(visits, ("client_id", "specialist_id"))
    v = _done(visits)
    v = v[v["specialist_id"].notna()]
    by = ["client_id"] + (["block"] if "block" in v.columns else [])
    keys = by + ["specialist_id"]
    # group on integer codes (in the order a sort of the values gives), then take the ids back from
    # one row of each group: the same rows, order and dtypes as grouping the ids themselves, without
    # re-coding the categories on every call
    codes = {c: _sorted_codes(v[c]) for c in keys}
    ok = np.logical_and.reduce([codes[c] >= 0 for c in keys])
    g = pd.DataFrame({c: codes[c][ok] for c in keys}).assign(_row=np.flatnonzero(ok))
    cnt = g.groupby(keys, sort=False).agg(visits=("_row", "size"), _row=("_row", "first")).reset_index()
    cnt = cnt[cnt["visits"] > 0]
    tot = cnt.groupby(by, observed=True, sort=False)["visits"].transform("sum")
    cnt["share"] = cnt["visits"] / tot
    cnt = cnt[tot.to_numpy() >= max(1, int(min_visits))]
    cnt = cnt.sort_values(by + ["share"], ascending=[True] * len(by) + [False], kind="stable")
    top = cnt.groupby(by, observed=True, sort=False).head(1)
    top = top[top["share"] >= min_share].reset_index(drop=True)
    rows = top["_row"].to_numpy()
    top = top.assign(**{c: v[c].iloc[rows].reset_index(drop=True) for c in keys})
    cols = ["client_id", "specialist_id"] + (["block"] if "block" in v.columns else []) + ["visits", "share"]
    return top[cols]


def _joint_key(left_cols, right_cols):
    """One int64 key per row of two tables for the combination of their columns (the same values
    get the same key in both; -1 where a value is missing)."""
    kl = np.zeros(len(left_cols[0]), np.int64)
    kr = np.zeros(len(right_cols[0]), np.int64)
    miss_l = np.zeros(kl.size, bool)
    miss_r = np.zeros(kr.size, bool)
    for a, b in zip(left_cols, right_cols):
        if (isinstance(a.dtype, pd.CategoricalDtype) and isinstance(b.dtype, pd.CategoricalDtype)
                and a.cat.categories.equals(b.cat.categories)):
            ca, cb, m = a.cat.codes.to_numpy(np.int64), b.cat.codes.to_numpy(np.int64), len(a.cat.categories)
        else:
            codes, uniq = pd.factorize(np.concatenate([a.astype(str).to_numpy(object), b.astype(str).to_numpy(object)]))
            codes = np.where(np.concatenate([a.isna().to_numpy(), b.isna().to_numpy()]), -1, codes)
            ca, cb, m = codes[:len(a)], codes[len(a):], len(uniq)
        miss_l |= ca < 0
        miss_r |= cb < 0
        kl = kl * (m + 1) + ca
        kr = kr * (m + 1) + cb
    return np.where(miss_l, -1, kl), np.where(miss_r, -1, kr)


def _sorted_codes(col: pd.Series) -> np.ndarray:
    """Integer codes of a column, ordered like its sorted values (categories: their order); -1 = missing."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.codes.to_numpy(np.int64)
    return pd.factorize(col, sort=True)[0].astype(np.int64)


@dataclass
class LeaveRate:
    """Specialists' yearly leaving rate measured from staff tenures.

    ``rate_year = leavers / person_years``; uncertainty from the Gamma(leavers + 1/2,
    person_years) posterior (Poisson count, Jeffreys prior).
    """

    leavers: int
    person_years: float
    rate_year: float

    def draws(self, rng, n):
        return rng.gamma(self.leavers + 0.5, 1.0 / self.person_years, n)


def leave_rate(staff: pd.DataFrame | None, start, end, specialists=None, min_person_years: float = 2.0):
    """Yearly hazard of a specialist leaving, from ``hired`` / ``left`` in the staff table.

    Exposure of each specialist runs from ``max(hired, start)`` to ``min(left, end)``; leavers are
    those with ``left`` inside ``(start, end]``.  Returns None when the table lacks ``left`` or
    holds less than ``min_person_years`` of exposure (then the study's assumption is used).
    """
    if staff is None or "left" not in staff.columns or "specialist_id" not in staff.columns:
        return None
    s = staff
    if specialists is not None:
        s = s[s["specialist_id"].astype(str).isin(set(map(str, specialists)))]
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    hired = pd.to_datetime(s["hired"]) if "hired" in s.columns else pd.Series(pd.NaT, index=s.index)
    left = pd.to_datetime(s["left"])
    a = hired.fillna(start).clip(lower=start)
    b = left.fillna(end).clip(upper=end)
    py = ((b - a).dt.days.clip(lower=0)).sum() / DAYS_PER_YEAR
    leavers = int(((left > start) & (left <= end)).sum())
    if py < min_person_years:
        return None
    return LeaveRate(leavers=leavers, person_years=float(py), rate_year=leavers / py)


@dataclass
class AttachedShare:
    """Share of a leaving specialist's attached clients who leave too, measured on past departures.

    For each departure (leaving day L, with ``followup_days`` of data after it): the clients
    attached to the leaver (from visits before L) who visited in the year before L, and how many
    made no visit in ``[L, L + followup_days]``; the same for the clients attached to *other*
    specialists of the same block and active before L (the baseline lapse of comparable clients;
    on the sample centre's generator a baseline over all blocks biased the share down by half).
    Pooled over departures, the share who leave *because* the specialist left is the excess over
    the baseline:  ``(q_att - q_base) / (1 - q_base)``, with a delta-method standard error.

    The measurement is combined with the study's assumption (:meth:`combine`), so a few departures
    move the range a little and many departures decide it.
    """

    departures: int
    attached: int
    attached_gone: int
    baseline: int
    baseline_gone: int
    share: float
    se: float = float("nan")
    by_departure: pd.DataFrame = field(default=None, repr=False)
    #: Per client (``client_id, attached, attached_gone, baseline, baseline_gone``: how many
    #: departures counted her in each group), for the bootstrap by client (:func:`model_bootstrap`).
    clients: pd.DataFrame = field(default=None, repr=False)

    def combine(self, prior) -> tuple[float, float, float]:
        """Precision-weighted combination of the assumption and the measurement.

        The assumption ``prior`` (an :class:`~analysis.inputs.study.Uncertain` triangular range) is taken
        as normal with the triangular's mean and standard deviation; the measurement as normal
        (share, se).  Returns ``(mean, sd, data_weight)`` of the combined (normal) estimate, where
        ``data_weight = prior_var / (prior_var + se^2)``.
        """
        lo, mo, hi = (float(getattr(prior, k, prior)) for k in ("low", "mode", "high"))
        m0 = (lo + mo + hi) / 3.0
        v0 = (lo * lo + mo * mo + hi * hi - lo * mo - lo * hi - mo * hi) / 18.0
        if not np.isfinite(self.se) or not np.isfinite(self.share):
            return m0, float(np.sqrt(v0)), 0.0
        v1 = max(self.se, 1e-6) ** 2
        if v0 <= 0:
            return m0, 0.0, 0.0
        w = v0 / (v0 + v1)
        return m0 + w * (self.share - m0), float(np.sqrt(v0 * v1 / (v0 + v1))), float(w)


def attached_leave_share(visits: pd.DataFrame, staff: pd.DataFrame | None, min_share: float = 0.5,
                         followup_days: int = 180, active_days: int = 365, min_attached: int = 10,
                         min_visits: int = 2):
    """Measure :class:`AttachedShare` on the departures in the data; None when there are none
    (staff without ``left``, no leaver with ``followup_days`` of data after leaving, or fewer than
    ``min_attached`` attached clients in all)."""
    if staff is None or "left" not in staff.columns or "specialist_id" not in visits.columns:
        return None
    v = _done(visits)
    v = v.assign(date=pd.to_datetime(v["date"]).dt.normalize())
    start, end = v["date"].min(), v["date"].max()
    st = staff[staff["left"].notna()].copy()
    st["left"] = pd.to_datetime(st["left"]).dt.normalize()
    st = st[(st["left"] > start + pd.Timedelta(days=30)) &
            (st["left"] + pd.Timedelta(days=followup_days) <= end)]
    rows, per_client = [], []
    for sid, L in zip(st["specialist_id"].astype(str), st["left"]):
        pre = v[v["date"] < L]
        att = attached_clients(pre, min_share, min_visits)
        mine = att["specialist_id"].astype(str) == sid
        att_ids = set(att.loc[mine, "client_id"])
        peers = ~mine
        if "block" in att.columns and mine.any():   # like with like: the same block's other specialists
            peers &= att["block"].isin(set(att.loc[mine, "block"]))
        others = set(att.loc[peers, "client_id"]) - att_ids
        active = set(pre.loc[pre["date"] >= L - pd.Timedelta(days=active_days), "client_id"])
        back = set(v.loc[(v["date"] >= L) & (v["date"] <= L + pd.Timedelta(days=followup_days)), "client_id"])
        a = att_ids & active
        b = others & active
        rows.append({"specialist_id": sid, "left": L, "attached": len(a), "attached_gone": len(a - back),
                     "baseline": len(b), "baseline_gone": len(b - back)})
        for group, members in (("attached", a), ("baseline", b)):
            ids = list(members)
            per_client.append(pd.DataFrame({"client_id": ids, group: 1, f"{group}_gone":
                                            [int(c not in back) for c in ids]}))
    if not rows:
        return None
    df = pd.DataFrame(rows)
    na, ka, nb, kb = (int(df[c].sum()) for c in ("attached", "attached_gone", "baseline", "baseline_gone"))
    if na < min_attached or nb == 0:
        return None
    qa, qb = ka / na, kb / nb
    share = _excess_share(na, ka, nb, kb)
    cols = ["attached", "attached_gone", "baseline", "baseline_gone"]
    clients = (pd.concat(per_client, ignore_index=True).fillna(0)
               .groupby("client_id", sort=True, observed=True)[cols].sum().astype(int).reset_index())
    # delta method: var(qa)/(1-qb)^2 + var(qb) (1-qa)^2/(1-qb)^4
    se = (np.sqrt(qa * (1 - qa) / na / (1 - qb) ** 2 + qb * (1 - qb) / nb * (1 - qa) ** 2 / (1 - qb) ** 4)
          if qb < 1 else float("nan"))
    return AttachedShare(departures=len(df), attached=na, attached_gone=ka, baseline=nb,
                         baseline_gone=kb, share=float(share), se=float(se), by_departure=df, clients=clients)


def _excess_share(na, ka, nb, kb) -> float:
    """Share of attached clients who leave because their specialist left:
    ``max(0, (q_att - q_base) / (1 - q_base))`` with ``q_att = ka / na``, ``q_base = kb / nb``
    (NaN when a group is empty or every baseline client left)."""
    if not (na > 0 and nb > 0):
        return float("nan")
    qa, qb = ka / na, kb / nb
    return float(max(0.0, (qa - qb) / (1.0 - qb))) if qb < 1 else float("nan")


@dataclass
class DepartureInputs:
    """What the departures Monte Carlo needs, measured on the data.

    Attributes
    ----------
    leave_rate : LeaveRate or None
        Measured hazard; None = use ``retention.specialist_leave_rate_year``.
    attached_share : AttachedShare or None
        Measured share; None = use ``retention.attached_leave_share``.
    by_specialist : DataFrame
        ``specialist_id, [block,] attached_clients, revenue_year`` for specialists still working:
        ``revenue_year`` is what the clients attached to her paid *in her block* over the last
        365 days of data (currency a year), the revenue a departure puts at risk.
    revenue_attached_year : float
        Sum of ``revenue_year`` (currency a year); never more than the attached clients' yearly
        revenue, since it is part of it.
    margin_ratio : float
        Margin / revenue, to turn revenue at risk into margin.
    """

    leave_rate: LeaveRate | None
    attached_share: AttachedShare | None
    by_specialist: pd.DataFrame
    revenue_attached_year: float
    margin_ratio: float


def departure_gap(visits: pd.DataFrame, staff: pd.DataFrame | None, min_share: float = 0.5,
                  followup_days: int = 180, min_visits: int = 2, min_attached: int = 10) -> Note:
    """Why :func:`attached_leave_share` measured nothing, as a note for the retention page.

    ``models.departures_no_past_departure``: no specialist left inside the data (or no other
    specialist's clients to compare with);
    ``models.departures_too_recent`` (``n`` leavers, ``days``): someone left, but not 30 days after the
    first visit with ``followup_days`` of data after leaving; ``models.departures_too_few_attached``
    (``n`` measurable leavers, ``attached`` their attached active clients, ``min`` = ``min_attached``):
    the leavers had too few attached clients to measure.  Same arguments as :func:`attached_leave_share`.
    """
    none = Note("models.departures_no_past_departure", {}, topic="departures")
    if staff is None or "left" not in staff.columns or "specialist_id" not in visits.columns:
        return none
    v = _done(visits)
    v = v.assign(date=pd.to_datetime(v["date"]).dt.normalize())
    if not len(v):
        return none
    start, end = v["date"].min(), v["date"].max()
    st = staff[staff["left"].notna()].copy()
    st["left"] = pd.to_datetime(st["left"]).dt.normalize()
    st = st[(st["left"] > start) & (st["left"] <= end)]
    if not len(st):
        return none
    # the leavers attached_leave_share can measure: 30 days of data before, followup_days after
    ok = st[(st["left"] > start + pd.Timedelta(days=30)) & (st["left"] + pd.Timedelta(days=followup_days) <= end)]
    if not len(ok):
        return Note("models.departures_too_recent", {"days": int(followup_days)}, n=len(st), topic="departures")
    attached = 0
    for sid, L in zip(ok["specialist_id"].astype(str), ok["left"]):   # as attached_leave_share counts them
        pre = v[v["date"] < L]
        att = attached_clients(pre, min_share, min_visits)
        mine = set(att.loc[att["specialist_id"].astype(str) == sid, "client_id"])
        attached += len(mine & set(pre.loc[pre["date"] >= L - pd.Timedelta(days=365), "client_id"]))
    if attached < min_attached:
        return Note("models.departures_too_few_attached", {"attached": attached, "min": int(min_attached)},
                    n=len(ok), topic="departures")
    return none   # enough attached clients, but no other specialist's clients to compare with


def departure_inputs(visits: pd.DataFrame, staff: pd.DataFrame | None, margin_ratio: float,
                     min_share: float = 0.5, followup_days: int = 180,
                     min_visits: int = 2) -> DepartureInputs:
    """Attached clients' yearly revenue in the block, per current specialist, plus the measured
    hazard and share.

    ``revenue_year`` of a (client, block) attachment is the client's completed-visit revenue in that
    block over the last 365 days of data, scaled up to a year when the data are shorter:

        revenue_year = sum(amount of the client's block visits in (end - 365 d, end]) * 365 / span_days

    with ``span_days = min(365, days in the data)``.  Only the block of the attachment counts (a
    client following her hairdresser may keep her nails appointments), and a client who has already
    drifted away (no visit in the last year) puts nothing at risk.  Attachment:
    :func:`attached_clients` with ``min_share`` and ``min_visits``.  Specialists still working:
    ``left`` empty or after the data end in ``staff``; without a staff table, those with a visit in
    the last 90 days.
    """
    _need(visits, ("client_id", "date", "amount", "specialist_id"))
    v = _done(visits)
    v = v.assign(date=pd.to_datetime(v["date"]).dt.normalize())
    start, end = v["date"].min(), v["date"].max()
    last_year = v[v["date"] > end - pd.Timedelta(days=365)]
    span_days = min(365.0, float((end - start).days) + 1.0)
    has_block = "block" in v.columns
    keys_c = ["client_id"] + (["block"] if has_block else [])
    amount = pd.to_numeric(last_year["amount"], errors="coerce").fillna(0.0)
    att = attached_clients(v, min_share, min_visits)
    if staff is not None and "specialist_id" in staff.columns:
        if "left" in staff.columns:
            gone = pd.to_datetime(staff["left"]).le(end).fillna(False).to_numpy(bool)
        else:
            gone = np.zeros(len(staff), bool)
        working = set(staff["specialist_id"].astype(str)[~gone])
    else:
        working = set(v.loc[v["date"] > end - pd.Timedelta(days=90), "specialist_id"].dropna().astype(str))
    att = att[att["specialist_id"].astype(str).isin(working)]
    # (client, block) of each last-year visit and of each attachment as one integer key: the
    # revenue summed per key (in row order, as grouping the ids) and looked up by key
    k_ly, k_att = _joint_key([last_year[k] for k in keys_c], [att[k] for k in keys_c])
    seen = k_ly >= 0
    rev = amount[seen].groupby(k_ly[seen]).sum() * (365.0 / span_days)
    att = att.assign(revenue_year=rev.reindex(k_att).fillna(0.0).to_numpy(float))
    keys = ["specialist_id"] + (["block"] if has_block else [])
    by = (att.groupby(keys, observed=True)
          .agg(attached_clients=("client_id", "size"), revenue_year=("revenue_year", "sum")).reset_index())
    specialists = v["specialist_id"].dropna().astype(str).unique()
    lr = leave_rate(staff, start, end, specialists)
    sh = attached_leave_share(v, staff, min_share, followup_days, min_visits=min_visits)
    return DepartureInputs(leave_rate=lr, attached_share=sh, by_specialist=by,
                           revenue_attached_year=float(by["revenue_year"].sum()), margin_ratio=margin_ratio)


def departure_draws(dep: DepartureInputs, draws, refit_share=None):
    """Scenario arrays (hazard per year, attached share, care-manager reduction) for ``draws``.

    The measured share is combined with the study's assumption (:meth:`AttachedShare.combine`:
    normal prior ``(m0, sd0)``, measurement ``(share, se)``, data weight ``w``).  Without
    ``refit_share`` the combined normal is drawn on the assumption's own draws.  With
    ``refit_share`` (the measured share of each scenario's bootstrap refit) the two sources are
    drawn separately::

        share_s = m0 + w (refit_share_s - m0) + (1 - w) (prior_s - m0)

    the data's part varying with the refit, the assumption's with its draw ``prior_s``; since the
    refit varies by about ``se`` and ``(1 - w) v0 = w se^2``, the variance is the combined one,
    ``w^2 se^2 + (1 - w)^2 v0 = w se^2``.  Refits where the share is not measurable use the
    measurement itself.
    """
    hz = (dep.leave_rate.draws(draws.rng("retention.leave_rate"), draws.n) if dep.leave_rate
          else draws["retention.specialist_leave_rate_year"])
    sh = draws["retention.attached_leave_share"]
    if dep.attached_share is not None and refit_share is not None:
        prior = draws.study["retention.attached_leave_share"]
        m0, _, _ = AttachedShare(0, 0, 0, 0, 0, float("nan")).combine(prior)
        _, _, w = dep.attached_share.combine(prior)
        rs = np.asarray(refit_share, float)
        rs = np.where(np.isfinite(rs), rs, dep.attached_share.share)
        sh = np.clip(m0 + w * (rs - m0) + (1.0 - w) * (sh - m0), 0.0, 1.0)
    elif dep.attached_share is not None:
        # the assumption's own draws, moved and narrowed to the combined estimate: ranks (and so
        # the scenario structure) are kept
        prior = draws.study["retention.attached_leave_share"]
        m, sd, _ = dep.attached_share.combine(prior)
        m0, sd0, _ = AttachedShare(0, 0, 0, 0, 0, float("nan")).combine(prior)
        z = (sh - m0) / sd0 if sd0 > 0 else np.zeros_like(sh)
        sh = np.clip(m + sd * z, 0.0, 1.0)
    red = draws["retention.care_manager_attached_reduction"]
    return hz, sh, red


# ============================================================================ the study


@dataclass
class RetentionAnalysis:
    """Everything the retention report shows, for one study.

    Parts that the data cannot support are None and explained in ``notes``: a list of
    :class:`~analysis.codes.Note` (catalogue codes with raw fields; ``topic`` = the part: ``bgnbd``,
    ``gamma_gamma``, ``sufficiency``, ``effect``, ``km``, ``sbg``, ``departures``, ``margin``).
    Figures that cannot be computed are NaN here and their reason is in ``missing``
    (``{figure name: Note}``); the notebook records them as null with the reason's code.
    """

    rfm: pd.DataFrame
    time_unit: str
    time_unit_days: float
    calibration_end: pd.Timestamp
    margin_ratio: float
    bgnbd: BGNBDResult | None = None
    gamma_gamma: GammaGammaResult | None = None
    clv: pd.DataFrame | None = None
    effect: pd.DataFrame | None = None
    role_cost_year: float = float("nan")
    breakeven_effect: float = float("nan")
    sufficiency: Sufficiency | None = None
    bgnbd_rejected: BGNBDResult | None = None
    missing: dict = field(default_factory=dict)
    new_clients_per_year: float = 0.0
    regulars_margin_share: float = float("nan")
    holdout: pd.DataFrame | None = None
    km: pd.DataFrame | None = None
    km_by: str | None = None
    memberships: pd.DataFrame | None = None
    sbg: SBGResult | None = None
    departures: DepartureInputs | None = None
    notes: list = field(default_factory=list)

    @property
    def active_clients(self) -> float:
        """Expected number of clients still active (sum of P(alive)); NaN without BG/NBD."""
        return float(self.clv["p_alive"].sum()) if self.clv is not None else float("nan")

    def note(self, note: Note, part: str | None = None) -> None:
        """Add a note (its ``topic`` is the part unless ``part`` is given)."""
        if part is not None and note.topic != part:
            note = Note(note.code, note.fields, note.n, note.level, part)
        self.notes.append(note)

    def notes_for(self, *parts: str) -> list:
        """The notes about any of ``parts``, in the order they were added."""
        return [n for n in self.notes if n.topic in parts]


def _regulars_share(study, visits, margin, rfm_df):
    """Share of margin from regulars: :func:`analysis.sections.kpi.regulars_margin_share` (clients with at
    least ``data_check.regular_min_visit_days`` visit days, default 3); the same rule inline when
    ``kpi`` lacks it."""
    min_days = int(study.get("data_check.regular_min_visit_days") or 3)
    try:
        from analysis.sections.kpi import regulars_margin_share  # noqa: PLC0415
    except ImportError:
        regulars_margin_share = None
    if regulars_margin_share is not None:
        return float(regulars_margin_share(visits, margin, min_visit_days=min_days).share)
    per_client = margin.reindex(visits.index).fillna(0.0).groupby(visits["client_id"], observed=True).sum()
    total = per_client.sum()
    if not total:
        return float("nan")
    reg = rfm_df.index[rfm_df["frequency"] >= min_days - 1]
    return float(per_client.reindex(reg).fillna(0.0).sum() / total)


def analyse(study, tables, margin: pd.Series | None = None, salon=None) -> RetentionAnalysis:
    """Run the retention study: RFM, BG/NBD, Gamma-Gamma, CLV, the care-manager effect and its
    break-even, Kaplan-Meier by block, sBG on memberships and the departures inputs.

    Parameters
    ----------
    study : Study
    tables : analysis.inputs.data.Tables
    margin : Series, optional
        Margin per visit aligned with ``tables.visits``; default :func:`analysis.sections.kpi.visit_margin`.
    salon : analysis.inputs.data.Tables, optional
        The whole salon's tables (``tables`` itself, or the tables a covered subset was cut from):
        the role's cost (:func:`role_cost_year`) is priced on them.  Default None: the study's
        exports, read once per process (the same figures, read again).

    Returns
    -------
    RetentionAnalysis

    Notes
    -----
    Every model fit is checked against its contract (:class:`analysis.models._mle.FitCheck`):

    * BG/NBD: :func:`fit_bgnbd` falls back to a limit case at a boundary (one dropout probability or
      one visit rate for all) and returns a note; a fit that is still not usable is kept only in
      ``bgnbd_rejected`` (for analysts) and nothing is predicted from it.
    * Gamma-Gamma: used only when usable and q > 1 (a finite mean spend); otherwise each client's
      own mean spend per paid visit day (zero-amount visits left out of the spend, kept as visits).
    * The care-manager effect and its break-even are computed only when
      :func:`dropout_sufficiency` says dropout is measurable; otherwise the effect stays the
      study's assumption, ``effect`` is None and ``missing`` holds the reason
      (``retention.sufficiency.effect_is_assumption``).
    * The break-even is a number in [0, 1] or missing with its reason (never NaN or inf as a finding).
    * sBG: its limit case (one cancellation probability) at a boundary; Kaplan-Meier curves that are
      not finite are dropped with a note.
    """
    v = tables.visits
    # factorise the ids once: every groupby below is faster on categories than on strings
    cats = {c: v[c].astype("category") for c in ("client_id", "block", "specialist_id")
            if c in v.columns and v[c].dtype != "category"}
    if cats:
        v = v.assign(**cats)
    unit_code = study.get("retention.time_unit") or "W"
    cal_end = study.get("retention.calibration_end")
    r = rfm(v, cal_end, unit_code)
    unit = TIME_UNIT_DAYS[unit_code]
    end = r.attrs["calibration_end"]
    if margin is None:
        from analysis.sections import kpi  # noqa: PLC0415

        margin = kpi.visit_margin(tables, study)
    margin = pd.Series(np.asarray(margin, float), index=v.index) if not isinstance(margin, pd.Series) else margin
    done = _done(v)
    vdate = pd.to_datetime(done["date"])
    cal = done[vdate <= end]
    amount = pd.to_numeric(cal["amount"], errors="coerce").fillna(0.0)
    mcal = margin.reindex(cal.index).fillna(0.0)
    revenue = float(amount.sum())
    margin_ratio = float(mcal.sum() / revenue) if revenue > 0 else float("nan")
    out = RetentionAnalysis(rfm=r, time_unit=unit_code, time_unit_days=unit, calibration_end=end,
                            margin_ratio=margin_ratio)
    if getattr(margin, "attrs", {}).get("fallback"):
        out.note(Note("models.margin_defaults", {}, level="warning", topic="margin"))
    out.regulars_margin_share = _regulars_share(study, cal, mcal, r)

    # ---- BG/NBD (fit contract: an unusable fit is never used), Gamma-Gamma, CLV, effect
    n_rep_visits = int(r["frequency"].sum())
    if len(r) < _bgnbd_mod.MIN_CLIENTS:
        out.note(Note("models.bgnbd_few_clients", {"need": _bgnbd_mod.MIN_CLIENTS}, n=len(r),
                      level="warning", topic="bgnbd"))
    elif n_rep_visits < _bgnbd_mod.MIN_REPEATS:
        out.note(Note("models.bgnbd_few_repeats", {"need": _bgnbd_mod.MIN_REPEATS}, n=n_rep_visits,
                      level="warning", topic="bgnbd"))
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                fit = fit_bgnbd(r)
        except InputError:
            out.note(Note("models.bgnbd_not_fitted", {}, level="warning", topic="bgnbd"))
        else:
            if fit.note is not None:
                out.note(fit.note)
            if fit.usable:
                out.bgnbd = fit
            else:
                out.bgnbd_rejected = fit
    out.sufficiency = dropout_sufficiency(r, out.bgnbd)

    # spend per visit: Gamma-Gamma when usable, else each client's own mean (zero amounts left out)
    zero_rep = int(((r["frequency"] > 0) & ~(r["monetary_value"] > 0)).sum())
    if zero_rep:
        out.note(Note("models.spend_zero_amounts", {}, n=zero_rep, topic="gamma_gamma"))
    gg = None
    n_gg = int(((r["frequency"] > 0) & (r["monetary_value"] > 0) & np.isfinite(r["monetary_value"])).sum())
    if n_gg >= _gg_mod.MIN_CLIENTS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                gg = fit_gamma_gamma(r)
        except InputError:
            gg = None
    day_mean = None
    if gg is not None and gg.usable:
        spend = gg.expected_spend(r["frequency"], r["monetary_value"])
        if np.all(np.isfinite(spend)) and np.all(spend >= 0):
            out.gamma_gamma = gg
    if out.gamma_gamma is None:
        day_amount = cal.assign(_d=vdate[vdate <= end].dt.normalize(),
                                _a=amount).groupby(["client_id", "_d"], observed=True)["_a"].sum()
        day_amount = day_amount[day_amount > 0]
        day_mean = day_amount.groupby(level=0, observed=True).mean()
        overall = float(day_amount.mean()) if len(day_amount) else 0.0
        spend = day_mean.reindex(r.index).fillna(overall).to_numpy(float)
        if gg is not None and not gg.has_mean and gg.check.finite:
            out.note(Note("retention.fit.spend_no_mean", {"q": gg.params["q"]}, level="warning",
                          topic="gamma_gamma"))
        elif gg is not None:
            out.note(Note("retention.fit.spend_not_usable", {}, level="warning", topic="gamma_gamma"))
        else:
            out.note(Note("models.spend_few_clients", {"need": _gg_mod.MIN_CLIENTS}, n=n_gg,
                          topic="gamma_gamma"))
    m_visit = np.asarray(spend, float) * (margin_ratio if np.isfinite(margin_ratio) else 0.0)
    out.role_cost_year = float(role_cost_year(study, tables=salon))
    if out.bgnbd is not None:
        c = clv(r, out.bgnbd, m_visit, study.horizon_months, study.discount_rate, unit)
        c["spend_per_visit"] = spend
        num = c.select_dtypes("number").to_numpy(float)
        if np.all(np.isfinite(num)):
            out.clv = c
        else:
            out.note(Note("retention.fit.clv_not_finite", {}, level="warning", topic="bgnbd"))
        out.holdout = holdout_check(done, r, out.bgnbd)
    if out.bgnbd is not None and out.sufficiency.measurable:
        scope = study.get("retention.effect_scope") or "with_new_clients"
        if scope == "with_new_clients":
            out.new_clients_per_year = new_clients_per_year(cal, end)
            new_margin = float(np.mean(spend)) * (margin_ratio if np.isfinite(margin_ratio) else 0.0)
        else:
            out.new_clients_per_year, new_margin = 0.0, 0.0
        kw = dict(horizon_months=study.horizon_months, time_unit_days=unit,
                  new_clients_per_year=out.new_clients_per_year, new_client_margin=new_margin)
        eff = effect_curve(r, out.bgnbd, m_visit, **kw)
        if np.all(np.isfinite(eff.to_numpy(float))):
            out.effect = eff
            be = breakeven_effect(r, out.bgnbd, m_visit, out.role_cost_year, **kw)
        else:
            be = Missing(Note("retention.fit.breakeven_not_finite", {}, level="warning", topic="effect"))
    else:
        eff_assumed = study.get("retention.care_manager_effect")
        lo, mo, hi = (float(getattr(eff_assumed, k, eff_assumed or 0.0)) for k in ("low", "mode", "high"))
        for why in out.sufficiency.reasons:
            out.note(why)
        be = Missing(Note("retention.sufficiency.effect_is_assumption",
                          {"low": lo, "mode": mo, "high": hi}, level="warning", topic="sufficiency"))
    if isinstance(be, Missing):
        out.breakeven_effect = float("nan")
        out.missing["breakeven_uplift"] = be.reason
        out.missing["incremental_margin_year"] = be.reason if out.effect is None else None
        out.missing = {k: v for k, v in out.missing.items() if v is not None}
        if be.reason not in out.notes:
            out.note(be.reason)
    else:
        out.breakeven_effect = float(be)

    # ---- Kaplan-Meier by block
    window = int(study.get("retention.lapse_window_days") or 90)
    by = "block" if tables.has("visits", "block") else None
    if by is None:
        out.note(Note("models.km_no_block", {}, topic="km"))
    d = lapse_durations(done[vdate <= end], end, window, by)
    out.km, out.km_by = km_curves(d, by), by
    km_check = out.km.attrs.get("check")
    if km_check is not None and not km_check.finite:
        out.km = None
        out.note(Note("retention.fit.km_not_finite", {}, level="warning", topic="km"))
    elif km_check is not None and km_check.at_boundary:
        out.note(Note("retention.fit.km_no_lapse", {"window_days": window}, topic="km"))

    # ---- memberships (sBG)
    mem = getattr(tables, "memberships", None)
    if mem is not None and len(mem):
        try:
            life = membership_lifetimes(mem, end)
            out.memberships = life
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                sbg = fit_sbg(life["periods"], life["churned"])
        except InputError:
            out.note(Note("models.sbg_not_fitted", {}, topic="sbg"))
        else:
            if sbg.note is not None:
                out.note(sbg.note)
            if sbg.check.ok:
                out.sbg = sbg
            else:
                out.note(Note("models.sbg_not_fitted", {}, topic="sbg"))
    else:
        out.note(Note("models.sbg_no_memberships", {}, topic="sbg"))

    # ---- departures
    if tables.has("visits", "specialist_id"):
        out.departures = departure_inputs(done[vdate <= end], getattr(tables, "staff", None), margin_ratio,
                                          float(study["retention.attachment_min_share"]),
                                          int(study["retention.departure_followup_days"]),
                                          int(study["data_check.attachment_min_visits"]))

        if out.departures.leave_rate is None:
            out.note(Note("models.departures_no_staff_dates", {}, topic="departures"))
        if out.departures.attached_share is None:   # the true reason: none left, too recently, too few attached
            out.note(departure_gap(done[vdate <= end], getattr(tables, "staff", None),
                                   float(study["retention.attachment_min_share"]),
                                   int(study["retention.departure_followup_days"]),
                                   int(study["data_check.attachment_min_visits"])))
    else:
        out.note(Note("models.departures_no_specialist", {}, topic="departures"))
    return out


@dataclass
class RetentionScenarios:
    """Retention results per Monte Carlo scenario (arrays of length ``n``), for the summary.

    Attributes
    ----------
    incremental_margin_year : ndarray
        Margin gained a year with the care manager (BG/NBD with dropout cut by
        ``retention.care_manager_effect``), averaged over ``horizon_months``, on today's clients and,
        with ``retention.effect_scope: with_new_clients``, the new ones; undiscounted.  NaN when the
        model could not be fitted.
    revenue_at_risk_year_without, revenue_at_risk_year_with : ndarray
        Revenue lost a year with clients who follow a leaving specialist, without and with the role
        (currency a year); at most the attached clients' yearly revenue in their specialists' blocks;
        NaN when the visits have no specialist_id.
    margin_at_risk_avoided_year : ndarray
        Margin (not revenue) the role saves through departures a year, beyond what the retention
        part already counts (see :func:`scenarios`); 0 when not computable.
    role_cost_year : ndarray
        The role's yearly cost with payroll tax.
    """

    n: int
    incremental_margin_year: np.ndarray
    revenue_at_risk_year_without: np.ndarray
    revenue_at_risk_year_with: np.ndarray
    margin_at_risk_avoided_year: np.ndarray
    role_cost_year: np.ndarray
    care_manager_effect: np.ndarray
    notes: list = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """P10 / median / P90 of every array."""
        rows = []
        for name in ("incremental_margin_year", "revenue_at_risk_year_without", "revenue_at_risk_year_with",
                     "margin_at_risk_avoided_year", "role_cost_year", "care_manager_effect"):
            a = getattr(self, name)
            q = np.nanquantile(a, [0.1, 0.5, 0.9]) if np.isfinite(a).any() else [np.nan] * 3
            rows.append({"figure": name, "p10": q[0], "median": q[1], "p90": q[2]})
        return pd.DataFrame(rows)


def scenarios(study, tables, draws, analysis: RetentionAnalysis | None = None,
              bootstrap: ModelBootstrap | None = None, salon=None) -> RetentionScenarios:
    """Monte Carlo of the retention section, scenario by scenario with the study's shared draws.

    ``incremental_margin_year`` is the effect curve of :func:`effect_curve` read at each drawn
    ``retention.care_manager_effect``; departures, per year:

        without = (1 - exp(-hazard)) * share * revenue_attached_year
        with    = without * (1 - reduction)

    where ``1 - exp(-hazard)`` is the probability that a specialist leaves within a year (a
    Poisson hazard per year; the replacement starts with no attached clients, so a chair loses its
    clients at most once a year).  Since the probability and the share are at most 1, revenue at
    risk never exceeds the attached clients' yearly revenue.

    Overlap with the retention part: the dropout cut ``e`` (``retention.care_manager_effect``)
    already keeps the share ``e`` of the clients who would follow a leaving specialist, so the
    two together keep ``1 - (1 - e)(1 - reduction) = e + reduction (1 - e)`` of them, and the
    departures part counts only its own share of it::

        margin_at_risk_avoided_year = (without - with) * (1 - e) * margin_ratio

    (``e`` = 0 when the visit model could not be fitted and the retention part counts nothing).

    With ``bootstrap`` (:func:`model_bootstrap`) the fitted models are not taken as exact: scenario
    ``s`` uses refit ``k[s]`` (drawn uniformly from the stream ``model_refit``, the one the summary
    uses): its effect curve, and its measured departures share in place of the measurement (see
    :func:`departure_draws`).  Without it the models are exact and only the assumptions vary.

    ``salon``: the whole salon's tables the role is costed on (see :func:`analyse`); default the
    study's exports.
    """
    a = analysis if analysis is not None else analyse(study, tables, salon=salon)
    n = draws.n
    eff = draws["retention.care_manager_effect"]
    k = None
    if bootstrap is not None and bootstrap.kept:
        k = draws.rng("model_refit").integers(0, bootstrap.kept, n)
    if a.effect is not None and k is not None:
        inc = _interp_rows(np.clip(eff, 0.0, 1.0), bootstrap.effects, bootstrap.curves[k])
    elif a.effect is not None:
        inc = np.interp(eff, a.effect["effect"], a.effect["incremental_margin_year"])
    else:
        inc = np.full(n, np.nan)
    if a.departures is not None:
        refit_share = None
        if k is not None and "departure_share" in bootstrap.params:
            refit_share = bootstrap.params["departure_share"].to_numpy(float)[k]
        hz, sh, red = departure_draws(a.departures, draws, refit_share)
        without = -np.expm1(-np.asarray(hz, float)) * np.clip(sh, 0.0, 1.0) * a.departures.revenue_attached_year
        with_ = without * (1.0 - red)
        # the retention part already keeps the share `effect` of every client who would drop out,
        # those who follow a leaving specialist included: count only what it does not keep
        overlap = np.clip(np.asarray(eff, float), 0.0, 1.0) if a.effect is not None else 0.0
        avoided = (without - with_) * (1.0 - overlap) * a.margin_ratio
    else:
        without = np.full(n, np.nan)
        with_ = np.full(n, np.nan)
        avoided = np.zeros(n)
    return RetentionScenarios(n=n, incremental_margin_year=inc, revenue_at_risk_year_without=without,
                              revenue_at_risk_year_with=with_, margin_at_risk_avoided_year=avoided,
                              role_cost_year=np.asarray(role_cost_year(study, draws, tables=salon), float),
                              care_manager_effect=eff, notes=list(a.notes))


def _interp_rows(x, grid, curves):
    """Row ``s`` of ``curves`` (n, G) read at ``x[s]`` by linear interpolation on ``grid`` (G,)."""
    grid = np.asarray(grid, float)
    lo = (np.searchsorted(grid, x, side="right") - 1).clip(0, len(grid) - 2)
    frac = np.clip((x - grid[lo]) / (grid[lo + 1] - grid[lo]), 0.0, 1.0)
    rows = np.arange(len(x))
    return curves[rows, lo] * (1 - frac) + curves[rows, lo + 1] * frac


def data_share(width: float, width_fixed: float) -> float:
    """Share of a range that comes from the data (the fitted models' own uncertainty), the rest
    from the assumptions.

    With ``width`` the P10–P90 width when the models are refitted per scenario and ``width_fixed``
    the width with the models taken as exact, independent sources add their variances, so the
    data's share of the variance is ``1 - (width_fixed / width)^2``, clipped to [0, 1]; 0 when the
    range has no width.

    >>> round(data_share(5.0, 4.0), 2)
    0.36
    """
    if not (np.isfinite(width) and np.isfinite(width_fixed)) or width <= 0:
        return 0.0
    return float(min(1.0, max(0.0, 1.0 - (width_fixed / width) ** 2)))


#: The figures whose range :func:`range_sources` splits into data and assumptions.
RANGE_FIGURES = ("incremental_margin_year", "margin_at_risk_avoided_year")


def range_sources(study, tables, draws, analysis: RetentionAnalysis,
                  bootstrap: ModelBootstrap | None, salon=None) -> pd.DataFrame:
    """How much of each retention range comes from the data and how much from the assumptions.

    The Monte Carlo is run twice on the same draws: with the models refitted per scenario
    (``bootstrap``) and with the models taken as exact — the fitted effect curve, and the measured
    departures share in place of every refit's (so its data part ``w (share - m0)`` is fixed, see
    :func:`departure_draws`).  Per figure of :data:`RANGE_FIGURES`:

    Returns
    -------
    DataFrame
        ``figure``, ``p10, median, p90`` (models refitted: data and assumptions), ``p10_fixed,
        median_fixed, p90_fixed`` (assumptions alone), ``data_share`` (:func:`data_share` of the two
        widths), ``refits`` (refits kept).  Empty when there is no bootstrap.

    ``salon``: the whole salon's tables the role is costed on (see :func:`scenarios`).
    """
    if bootstrap is None or not bootstrap.kept:
        return pd.DataFrame(columns=["figure", "p10", "median", "p90", "p10_fixed", "median_fixed",
                                     "p90_fixed", "data_share", "refits"])
    both = scenarios(study, tables, draws, analysis=analysis, bootstrap=bootstrap, salon=salon)
    a = analysis
    exact = ModelBootstrap(bootstrap.effects, np.empty((0, len(bootstrap.effects))), pd.DataFrame(), 1)
    if a.effect is not None:
        exact.curves = np.interp(bootstrap.effects, a.effect["effect"], a.effect["incremental_margin_year"])[None, :]
    else:
        exact.curves = np.zeros((1, len(bootstrap.effects)))
    sh = a.departures.attached_share if a.departures is not None else None
    if sh is not None:
        exact.params = pd.DataFrame({"departure_share": [sh.share]})
    fixed = scenarios(study, tables, draws, analysis=a, bootstrap=exact, salon=salon)
    rows = []
    for name in RANGE_FIGURES:
        a, b = getattr(both, name), getattr(fixed, name)
        if not (np.isfinite(a).any() and np.isfinite(b).any()):
            continue
        q = np.nanquantile(a, [0.1, 0.5, 0.9])
        qf = np.nanquantile(b, [0.1, 0.5, 0.9])
        rows.append({"figure": name, "p10": q[0], "median": q[1], "p90": q[2], "p10_fixed": qf[0],
                     "median_fixed": qf[1], "p90_fixed": qf[2], "data_share": data_share(q[2] - q[0], qf[2] - qf[0]),
                     "refits": bootstrap.kept})
    return pd.DataFrame(rows)


# ============================================================================ page figures
#
# The numbers the retention page shows beside its charts, computed here (not in the notebook) so
# that they are tested; the page turns them into words.


def client_overview(a: RetentionAnalysis) -> dict:
    """The client base in a few numbers, from the RFM summary.

    Returns
    -------
    dict
        ``clients``; ``repeat_visits`` (sum of x); ``returning_share`` (share with x > 0);
        ``repeat_per_client`` (mean x); ``span_days`` (median first-to-last visit days of the
        returning clients); ``age_days`` (median days from the first visit to the calibration end);
        ``spend_median`` (median spend per repeat visit day of the returning clients).  NaN where a
        median has no clients.
    """
    r = a.rfm
    rep = r["frequency"] > 0
    med = lambda s: float(s.median()) if len(s) else float("nan")  # noqa: E731
    return {"clients": int(len(r)), "repeat_visits": float(r["frequency"].sum()),
            "returning_share": float(rep.mean()) if len(r) else float("nan"),
            "repeat_per_client": float(r["frequency"].mean()) if len(r) else float("nan"),
            "span_days": med(r.loc[rep, "recency"] * a.time_unit_days),
            "age_days": med(r["T"] * a.time_unit_days),
            "spend_median": med(r.loc[rep, "monetary_value"])}


def visit_pace(a: RetentionAnalysis) -> dict | None:
    """The visit model read for an owner (None without a usable fit).

    Returns
    -------
    dict
        ``visits_per_month`` (mean visits a month while a client stays: the model's rate per time
        unit × days a month / days a unit); ``dropout`` (mean chance of stopping after a visit);
        ``once_share`` (share of clients seen only once); ``likely_gone`` (share of returning
        clients with P(alive) below 1/2; NaN without CLV).
    """
    if a.bgnbd is None:
        return None
    rep = (a.rfm["frequency"] > 0).to_numpy()
    gone = (float((a.clv["p_alive"].to_numpy(float)[rep] < 0.5).mean()) if a.clv is not None and rep.any()
            else float("nan"))
    return {"visits_per_month": float(a.bgnbd.mean_rate * DAYS_PER_MONTH / a.time_unit_days),
            "dropout": float(a.bgnbd.mean_dropout), "once_share": float((~rep).mean()) if rep.size else float("nan"),
            "likely_gone": gone}


def clv_summary(a: RetentionAnalysis, top: float = 0.1) -> dict | None:
    """Total, median and mean CLV and the share of the total carried by the best ``top`` share of
    clients (the first ``ceil(top × clients)``, at least one); None without CLV."""
    if a.clv is None or not len(a.clv):
        return None
    c = np.sort(a.clv["clv"].to_numpy(float))[::-1]
    k = max(1, int(np.ceil(top * len(c))))
    total = float(c.sum())
    return {"total": total, "top_share": float(c[:k].sum() / total) if total else float("nan"),
            "median": float(np.median(c)), "mean": float(c.mean())}


def km_at(km: pd.DataFrame, days: float = 365.0) -> pd.DataFrame:
    """Per curve of :func:`km_curves`, the survival at ``days`` (the last step at or before it).

    Returns
    -------
    DataFrame
        ``group``, ``share``, in the curves' order.
    """
    return (km[km["time_days"] <= days].groupby("group", sort=False)["survival"].last()
            .rename("share").reset_index())


def first_year_margin(a: RetentionAnalysis, effect: float) -> float:
    """First-year margin gained on today's clients at the cut ``effect`` (read off the effect curve);
    NaN without it."""
    if a.effect is None:
        return float("nan")
    return float(np.interp(effect, a.effect["effect"], a.effect["first_year_margin_current"]))


def departures_by_block(dep: DepartureInputs) -> pd.DataFrame:
    """The departures table per block: ``block, specialists, attached_clients, revenue_year``,
    largest revenue first (per specialist when the visits have no block)."""
    by = dep.by_specialist
    if "block" in by.columns:
        by = by.groupby("block", observed=True).agg(specialists=("specialist_id", "size"),
                                                    attached_clients=("attached_clients", "sum"),
                                                    revenue_year=("revenue_year", "sum")).reset_index()
    return by.sort_values("revenue_year", ascending=False, kind="stable").reset_index(drop=True)


def membership_period(life: pd.DataFrame) -> str:
    """``month`` or ``week`` when every membership is counted in that period, else ``period``."""
    kinds = set(life["period"].dropna().astype(str))
    return kinds.pop() if kinds in ({"month"}, {"week"}) else "period"


# ============================================================================ the covered blocks


@dataclass
class CoveredRetention:
    """The retention analysis that feeds the decision: the one of the clients of the blocks the care
    manager covers (``care_manager.covers``), built exactly as the summary builds it.

    ``blocks`` is None when every block is covered (then ``analysis`` is the salon's and ``study`` and
    ``tables`` the ones given); otherwise the covered blocks, ``study`` the study with its money
    defaults in its currency and ``tables`` the covered blocks' tables (the summary's
    :func:`analysis.sections.summary.covered_tables`).  ``analysis`` is None when it could not be
    computed on them; ``notes`` says, in the summary's own codes (``summary.note.*``), which parts the
    decision counts as zero.
    """

    study: object
    tables: object
    blocks: list | None = None
    analysis: RetentionAnalysis | None = None
    notes: list = field(default_factory=list)

    @property
    def narrowed(self) -> bool:
        return self.blocks is not None


def covered_analysis(study, tables, analysis: RetentionAnalysis | None = None) -> CoveredRetention:
    """The retention analysis of the covered blocks' clients, as :func:`analysis.sections.summary.prepare`
    computes it: ``analysis`` (the salon's) when every block is covered, else :func:`analyse` on the
    localised study (:func:`analysis.sections.pnl.localise`) and the covered blocks' tables.  The notes
    are the summary's: ``retention_left_out`` (with its reason) when the analysis fails,
    ``retention_zero`` without a fitted effect, ``departures_zero`` without departures inputs."""
    from analysis.sections import pnl, summary

    loc = pnl.localise(study, tables)
    covered = summary.covered_tables(tables, loc)
    if covered is tables:
        out = CoveredRetention(study, tables)
        a = analysis
    else:
        covers = loc["care_manager.covers"]
        out = CoveredRetention(loc, covered, blocks=[str(b) for b in covers])
        a = None
    try:
        out.analysis = a if a is not None else analyse(out.study, out.tables, salon=tables)
    except (ValueError, KeyError, ArithmeticError, InputError) as exc:
        out.notes.append(Note("summary.note.retention_left_out", {"reason": str(exc)}, level="warning",
                              topic="summary"))
        return out
    if out.analysis.effect is None:
        out.notes.append(Note("summary.note.retention_zero", {}, level="warning", topic="summary"))
    if out.analysis.departures is None:
        out.notes.append(Note("summary.note.departures_zero", {}, level="warning", topic="summary"))
    return out


def headline(study, tables, analysis: RetentionAnalysis | None = None):
    """The retention page's headline scenarios, computed once here for every page that quotes them.

    ``study`` and ``tables`` are the study as loaded (not localised) and its tables; ``analysis`` the
    salon-wide :func:`analyse` (reused when every block is covered).  Returns ``(cov, sc, fees)``:
    :func:`covered_analysis`, :func:`scenarios` of the covered blocks on the study's own draws
    (``simulate.draws(study)``, the models taken as fitted; None when the analysis failed) and
    :func:`members_fees` (None without priced members' fees).  The retention page, the index card and
    the summary's sentence on the retention part all read :func:`page_figures` of these, so the margin
    kept a year (and the fees kept) is one figure wherever it is shown."""
    from analysis.models import simulate

    cov = covered_analysis(study, tables, analysis=analysis)
    d = cov.analysis
    sc = scenarios(cov.study, cov.tables, simulate.draws(study), analysis=d, salon=tables) if d is not None else None
    return cov, sc, members_fees(cov, sc)


def page_figures(models: RetentionAnalysis, decision: RetentionAnalysis | None,
                 sc: RetentionScenarios | None, fees: "MembersFees | None" = None) -> dict:
    """The retention page's figures for results.json.  ``models`` is the salon-wide analysis (the
    fitted model parameters the page shows); ``decision`` the covered blocks' (:func:`covered_analysis`)
    and ``sc`` its scenarios: margin kept, revenue at risk, margin saved, role cost and break-even
    are the ones the decision uses (NaN without ``decision`` or ``sc``).  A figure that could not be computed is NaN, with its reason's
    code beside it (``<figure>_reason``).  With ``fees`` (:func:`members_fees`) the members' fees kept
    (:func:`fees_figures`) and ``kept_year_with_fees_p10`` / ``_median`` / ``_p90`` (study currency a
    year: the visits' margin kept, 0 without a visit model, plus the fees kept, scenario by scenario --
    the summary's retention part) are added."""
    from analysis.models import simulate

    bg = models.bgnbd.params if models.bgnbd is not None else {}
    nan = float("nan")
    d = decision if sc is not None else None
    if sc is None:
        sc = RetentionScenarios(n=1, incremental_margin_year=np.full(1, nan), revenue_at_risk_year_without=np.full(1, nan),
                                revenue_at_risk_year_with=np.full(1, nan), margin_at_risk_avoided_year=np.full(1, nan),
                                role_cost_year=np.full(1, nan), care_manager_effect=np.full(1, nan))
    has_risk = bool(np.isfinite(sc.revenue_at_risk_year_without).any())
    risk_without = simulate.quantiles(sc.revenue_at_risk_year_without) if has_risk else (nan,) * 3
    risk_with = simulate.quantiles(sc.revenue_at_risk_year_with) if has_risk else (nan,) * 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # no visit model: the margin kept is NaN
        kept = simulate.summarize(sc.incremental_margin_year, "incremental_margin_year")
    ff = fees_figures(fees) if fees is not None else None    # members' fees kept (members_fees)
    if ff is not None:   # the visits' margin and the fees kept together, scenario by scenario (the summary's part)
        both = np.nan_to_num(np.asarray(sc.incremental_margin_year, float)) + np.nan_to_num(fees.kept_year)
        q = simulate.quantiles(both)
        ff.update({"kept_year_with_fees_p10": float(q[0]), "kept_year_with_fees_median": float(q[1]),
                   "kept_year_with_fees_p90": float(q[2])})
    missing = dict(d.missing) if d is not None else {}
    if d is None:      # the analysis could not be computed on these clients (covered_analysis' note)
        left_out = Note("summary.note.retention_left_out", {}, level="warning", topic="summary")
        missing = dict.fromkeys(("breakeven_uplift", "incremental_margin_year"), left_out)
    return {
        "bgnbd_r": bg.get("r", nan),
        "bgnbd_alpha": bg.get("alpha", nan),
        "bgnbd_a": bg.get("a", nan),
        "bgnbd_b": bg.get("b", nan),
        "bgnbd_p": bg.get("p", nan),
        "bgnbd_lambda": bg.get("lambda", nan),
        "bgnbd_mean_dropout": models.bgnbd.mean_dropout if models.bgnbd is not None else nan,
        "bgnbd_loglik": models.bgnbd.loglik if models.bgnbd is not None else nan,
        "bgnbd_limit_case": float(models.bgnbd.variant != "bgnbd") if models.bgnbd is not None else nan,
        "dropout_measurable": float(d.sufficiency.measurable) if d is not None and d.sufficiency is not None else nan,
        "time_unit_days": models.time_unit_days,
        "regulars_margin_share": models.regulars_margin_share,
        "incremental_margin_year_p10": kept["incremental_margin_year_p10"],
        "incremental_margin_year_median": kept["incremental_margin_year_median"],
        "incremental_margin_year_p90": kept["incremental_margin_year_p90"],
        "breakeven_uplift": d.breakeven_effect if d is not None else nan,
        "revenue_at_risk_year_without": risk_without[1],
        "revenue_at_risk_year_with": risk_with[1],
        "margin_at_risk_avoided_year": float(np.median(sc.margin_at_risk_avoided_year)),
        "role_cost_year": d.role_cost_year if d is not None else nan,
        **{f"{k}_reason": v.code for k, v in missing.items()},
        **({"kept_year_with_fees_p10": ff["kept_year_with_fees_p10"],
            "kept_year_with_fees_median": ff["kept_year_with_fees_median"],
            "kept_year_with_fees_p90": ff["kept_year_with_fees_p90"]} if ff is not None else {}),
        **({"members_fees_kept_year_p10": ff["members_fees_kept_year_p10"],
            "members_fees_kept_year_median": ff["members_fees_kept_year_median"],
            "members_fees_kept_year_p90": ff["members_fees_kept_year_p90"],
            "breakeven_uplift_with_fees": ff["breakeven_uplift_with_fees"]} if ff is not None else {}),
    }


def role_cost_sentence(cost_year: float) -> tuple[str, dict]:
    """The page's sentence on the role's cost less what it replaces (:func:`role_cost_year`), as a
    catalogue key (under ``retention_page.``) and its fields: ``effect.cost_positive`` (a cost, which
    retention must earn: ``cost``), ``effect.cost_saves`` (the role replaces more than it costs:
    ``saving``, a positive amount) or ``effect.cost_zero`` (less than half a unit of money either way)."""
    if not abs(cost_year) >= 0.5:
        return "effect.cost_zero", {}
    if cost_year > 0:
        return "effect.cost_positive", {"cost": float(cost_year)}
    return "effect.cost_saves", {"saving": float(-cost_year)}


# ============================================================================ members' fees (F1)


@dataclass
class MembersFees:
    """The members' fees the care manager keeps, priced exactly as the summary prices them
    (:func:`analysis.sections.summary.membership_gain`, called, not copied), beside the visits'
    margin kept of the retention page.

    Attributes
    ----------
    gain : analysis.sections.summary.MembershipGain
        The summary's fee gain of the covered blocks' members on its effect grid.
    kept_year : ndarray (n,)
        Extra fee margin a year (study currency) at each scenario's drawn
        ``retention.care_manager_effect`` (the summary's linear interpolation on the grid).
    breakeven_effect : float
        The smallest cut of the dropout / cancellation probability (0–1) at which the visits' margin
        kept **plus** the fees kept a year pay the role's cost a year (``role_cost_year``); 0 when the
        cost is not positive; NaN when even a 100 % cut does not pay or a part is not finite.
    """

    gain: object
    kept_year: np.ndarray
    breakeven_effect: float


def members_fees(cov: CoveredRetention, sc: RetentionScenarios | None) -> MembersFees | None:
    """:class:`MembersFees` of the covered blocks (``cov``, :func:`covered_analysis`) at the scenarios
    ``sc`` (:func:`scenarios`), or None when there are no members' fees to price there (the summary's
    :func:`~analysis.sections.summary.membership_gain` returns None, or it fails).

    The break-even solves ``visits(e) + fees(e) = cost`` on [0, 1], with ``visits`` the effect curve
    (:func:`effect_curve`, linear between its points, zero without a fitted visit model) and ``fees``
    the summary's grid (linear between its points); Brent's method after checking both ends.
    """
    from analysis.sections import summary

    d = cov.analysis
    if d is None or sc is None:
        return None
    try:
        gain = summary.membership_gain(d, cov.tables, cov.study, cov.study.horizon_months)
    except (ValueError, KeyError, TypeError, FloatingPointError, InputError):
        return None
    if gain is None:
        return None
    kept, _ = gain.at(np.asarray(sc.care_manager_effect, float))
    cost = float(d.role_cost_year)
    if d.effect is not None:
        ve = d.effect["effect"].to_numpy(float)
        vm = d.effect["incremental_margin_year"].to_numpy(float)
    else:
        ve, vm = np.array([0.0, 1.0]), np.zeros(2)

    def f(e):
        return float(np.interp(e, ve, vm) + np.interp(e, gain.grid, gain.gain_year) - cost)

    be = float("nan")
    if np.isfinite(cost):
        if cost <= 0:
            be = 0.0
        else:
            lo, hi = f(0.0), f(1.0)
            if np.isfinite(lo) and np.isfinite(hi):
                if lo >= 0:
                    be = 0.0
                elif hi >= 0:
                    be = float(brentq(f, 0.0, 1.0, xtol=1e-6))
    return MembersFees(gain, np.asarray(kept, float), be)


def fees_figures(fees: MembersFees) -> dict:
    """results.json figures of :class:`MembersFees` (section ``retention``, declared with
    ``when="memberships"``): ``members_fees_kept_year_p10`` / ``_median`` / ``_p90`` (study currency a
    year, over the scenarios) and ``breakeven_uplift_with_fees`` (fraction; NaN, recorded as null, when
    even a 100 % cut does not pay the role's cost)."""
    from analysis.models import simulate

    q = simulate.quantiles(np.nan_to_num(fees.kept_year))
    return {"members_fees_kept_year_p10": float(q[0]), "members_fees_kept_year_median": float(q[1]),
            "members_fees_kept_year_p90": float(q[2]), "breakeven_uplift_with_fees": float(fees.breakeven_effect)}
