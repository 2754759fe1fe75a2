"""Model-free comparisons: difference-in-differences of client-level outcomes and an event study.

Pilot group (home block piloted, :mod:`analysis.sections.pilot.groups`) against the control group, after
``since`` against before::

    DiD = (pilot after - pilot before) - (control after - control before)

(Angrist & Pischke 2009, *Mostly Harmless Econometrics*, ch. 5).  Each outcome is a ratio of sums
over clients (lapsed visits / visits, clients back / new clients, visits / client-months, money /
visits at the blocks' prices, services / visits), so a resample of the clients (Efron & Tibshirani 1993) is a vector of
counts and the whole bootstrap is one matrix product.  Without a control group (every block
piloted) "before" is the same months a year earlier and the change is before/after only.

The event study (Angrist & Pischke 2009, §5.2.1) shows the gap between the groups month by month
relative to the month before ``since``; the pre-trend check asks whether the gap drifted before the
start (bootstrap interval of its slope over the months before ``since``).

The ticket is money per visit *at the blocks' prices*: each visit day counts as its weight, the
mean amount of its services' blocks over the whole table divided by the mean of that over all
visit days (mean weight 1, in visits).  A group's ticket (money / weights, in the study currency)
does not move when its visits shift between cheap and dear blocks.  The groups are fixed by the
blocks of the visits before ``since`` (:mod:`analysis.sections.pilot.groups`), so a client homed in
a dear block had dear visits before and drifts back to her own mix after: the raw money / visits
moved by that alone (pilot-minus-control ticket change +4 … +6 % on average over generated salons
with no ticket effect, benchmarks/RESULTS.md, "pilot ticket"); at the blocks' prices it is ~0.
Without a ``block`` column, or with one block and one service a day, every weight is 1 and the
ticket is money / visits as before.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.sections.pilot.resample import resampled_sums

__all__ = ["OUTCOMES", "VisitDays", "visit_days", "Comparison", "compare", "EventStudy", "event_study",
           "departures", "load_gini", "gini"]

DAYS_PER_MONTH = 365.25 / 12
MIN_VISITS_MONTH = 20   # a month's lapse rate needs at least this many visits in the group

#: outcome -> kind: "diff" (change in points of a share or a count) or "ratio" (relative change)
OUTCOMES = {"lapse_rate": "diff", "new_client_return": "diff", "repeat_client_return": "diff",
            "visits_per_client_month": "diff", "ticket": "ratio", "services_per_visit": "ratio"}


@dataclass
class VisitDays:
    """Completed visits merged by client and day, as arrays (days counted from ``origin``)."""

    client: np.ndarray       # client code
    day: np.ndarray          # int day
    amount: np.ndarray       # money on that day
    services: np.ndarray     # rows (services) on that day
    weight: np.ndarray       # visit-equivalents of the day at its blocks' prices (mean 1; see visit_days)
    next_gap: np.ndarray     # days to the client's next visit day (inf if none)
    first: np.ndarray        # the client's first visit day
    pilot: np.ndarray        # per client: in the pilot group
    clients: pd.Index        # client ids by code
    origin: pd.Timestamp
    end_day: int
    since_day: int


def visit_days(visits: pd.DataFrame, since, pilot_clients, end=None) -> VisitDays:
    """Merge completed visits by client and day (amounts added, services counted)."""
    v = visits
    if "status" in v.columns:
        st = v["status"]
        v = v[(st.isna() | (st == "done")).to_numpy(bool)]
    date = pd.to_datetime(v["date"]).dt.normalize()
    origin = date.min()
    end = pd.Timestamp(end).normalize() if end is not None else date.max()
    cid = pd.Categorical(v["client_id"])
    amount = pd.to_numeric(v["amount"], errors="coerce").fillna(0.0).to_numpy(float)
    df = pd.DataFrame({"c": cid.codes, "d": (date - origin).dt.days.to_numpy(), "a": amount})
    if "block" in v.columns and len(v):
        # the mean amount of a service in its block over the whole table: a day's expected money
        df["e"] = pd.Series(amount).groupby(v["block"].astype(str).to_numpy()).transform("mean").to_numpy()
    g = df.groupby(["c", "d"], sort=True)
    agg = g["a"].agg(["sum", "size"]).reset_index()
    weight = np.ones(len(agg))      # no blocks: every visit day counts as one visit
    if "e" in df:
        expected = g["e"].sum().to_numpy(float)
        if expected.size and expected.mean() > 0:
            weight = expected / expected.mean()
    c, d = agg["c"].to_numpy(np.int64), agg["d"].to_numpy(np.int64)
    same = np.r_[c[1:] == c[:-1], False]
    nxt = np.where(same, np.r_[d[1:], 0] - d, np.inf)
    first_mask = np.r_[True, c[1:] != c[:-1]]
    first_of = np.repeat(d[first_mask], np.diff(np.r_[np.flatnonzero(first_mask), c.size]))
    pilot = np.asarray(pd.Index(cid.categories).isin(list(pilot_clients)))
    return VisitDays(c, d, agg["sum"].to_numpy(float), agg["size"].to_numpy(float), weight, nxt, first_of, pilot,
                     pd.Index(cid.categories), origin, int((end - origin).days),
                     int((pd.Timestamp(since).normalize() - origin).days))


def _client_sums(vd: VisitDays, lo: int, hi: int, window: int) -> dict:
    """Per-client numerators and denominators of every outcome for visit days in ``[lo, hi)``."""
    n = vd.pilot.size
    d, c = vd.day, vd.client
    inp = (d >= lo) & (d < hi)
    seen = d + window <= vd.end_day
    rep = d > vd.first
    new = d == vd.first

    def bc(mask, w=None):
        return np.bincount(c[mask], weights=None if w is None else w[mask], minlength=n).astype(float)

    out = {}
    m = inp & seen & rep
    out["lapse_rate"] = (bc(m & (vd.next_gap > window)), bc(m))
    out["repeat_client_return"] = (bc(m & (vd.next_gap <= window)), bc(m))
    m = inp & seen & new
    out["new_client_return"] = (bc(m & (vd.next_gap <= window)), bc(m))
    # clients on the books at lo: first visit before lo and a visit in the year before lo
    active = np.zeros(n, bool)
    active[c[(d < lo) & (d >= lo - 365)]] = True
    months = max(hi - lo, 1) / DAYS_PER_MONTH
    out["visits_per_client_month"] = (np.where(active, bc(inp), 0.0), active * months)
    out["ticket"] = (bc(inp, vd.amount), bc(inp, vd.weight))
    out["services_per_visit"] = (bc(inp, vd.services), bc(inp))
    return out


@dataclass
class Comparison:
    """Outcomes before and after, by group, with the change and its bootstrap range.

    Attributes
    ----------
    table : DataFrame
        One row per outcome: ``outcome``, ``kind`` (diff / ratio), ``pilot_before``,
        ``pilot_after``, ``control_before``, ``control_after`` (NaN without control), ``change``,
        ``change_p10``, ``change_p90``.
    control : bool
    periods : dict
        ``before`` and ``after`` as (first day, last day) timestamps.
    year_earlier : bool
        Before = the same months a year earlier (no control group).
    """

    table: pd.DataFrame
    control: bool
    periods: dict
    year_earlier: bool
    draws: dict = field(default_factory=dict, repr=False)

    def change(self, outcome: str) -> float:
        return float(self.table.set_index("outcome").loc[outcome, "change"])


def compare(vd: VisitDays, control: bool, window: int = 90, n_boot: int = 300, rng=None) -> Comparison:
    """Difference-in-differences of every outcome (before/after a year earlier without control)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    s, e = vd.since_day, vd.end_day + 1
    length = e - s
    year_earlier = not control and s - 365 >= 0
    lo_b = s - 365 if year_earlier else max(0, s - length)
    hi_b = lo_b + length if year_earlier else s
    after = _client_sums(vd, s, e, window)
    before = _client_sums(vd, lo_b, hi_b if year_earlier else min(hi_b, s), window)
    seed = int(rng.integers(2**32))
    groups = [("pilot", vd.pilot)] + ([("control", ~vd.pilot)] if control else [])
    cols, keys = [], []
    for name in OUTCOMES:
        for gname, gm in groups:
            for pname, sums in (("before", before), ("after", after)):
                cols += [sums[name][0] * gm, sums[name][1] * gm]
                keys.append((name, f"{gname}_{pname}"))
    A = np.stack(cols, 1)
    total, sums_b = A.sum(0), resampled_sums(vd.pilot, A, n_boot, seed)
    rows, draws = [], {}
    for name, kind in OUTCOMES.items():
        vals, boot = {}, {}
        for j, (oname, key) in enumerate(keys):
            if oname != name:
                continue
            with np.errstate(invalid="ignore", divide="ignore"):
                vals[key] = total[2 * j] / total[2 * j + 1] if total[2 * j + 1] > 0 else np.nan
                boot[key] = sums_b[:, 2 * j] / sums_b[:, 2 * j + 1]
        ch, chb = _change(vals, kind, control), _change(boot, kind, control)
        draws[name] = chb
        lo, hi = (np.nanquantile(chb, [0.1, 0.9]) if np.isfinite(chb).sum() > 10 else (np.nan, np.nan))
        rows.append({"outcome": name, "kind": kind, **{k: vals.get(k, np.nan) for k in
                     ("pilot_before", "pilot_after", "control_before", "control_after")},
                     "change": ch, "change_p10": lo, "change_p90": hi})
    day = lambda x: vd.origin + pd.Timedelta(days=int(x))  # noqa: E731
    periods = {"before": (day(lo_b), day(hi_b - 1)), "after": (day(s), day(e - 1))}
    return Comparison(pd.DataFrame(rows), control, periods, year_earlier, draws)


def _change(v, kind, control):
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "ratio":
            r = np.asarray(v["pilot_after"]) / np.asarray(v["pilot_before"])
            if control:
                r = r / (np.asarray(v["control_after"]) / np.asarray(v["control_before"]))
            return r - 1.0
        d = np.asarray(v["pilot_after"]) - np.asarray(v["pilot_before"])
        if control:
            d = d - (np.asarray(v["control_after"]) - np.asarray(v["control_before"]))
        return d


@dataclass
class EventStudy:
    """Month-by-month gap in the lapse rate between the groups, relative to the month before ``since``.

    Attributes
    ----------
    table : DataFrame
        ``month`` (0 = the first month of the pilot), ``pilot``, ``control`` (lapse rates),
        ``gap`` (pilot - control, minus the gap of month -1), ``gap_p10``, ``gap_p90``.  Without a
        control group ``control`` is the same month a year earlier.
    pretrend_ok : bool or None
        True when the slope of the gap over the months before ``since`` is compatible with zero (its
        95 % bootstrap interval covers 0); None without a control group.
    pretrend_slope : float
        Slope of the gap before ``since``, points of lapse rate per month.
    """

    table: pd.DataFrame
    pretrend_ok: bool | None
    pretrend_slope: float
    pretrend_range: tuple


def event_study(vd: VisitDays, control: bool, window: int = 90, months_before: int = 12, n_boot: int = 300,
                rng=None) -> EventStudy:
    """Lapse rate of repeat visits by month relative to ``since`` (visits whose window is observed)."""
    rng = rng if rng is not None else np.random.default_rng(1)
    d, c, n = vd.day, vd.client, vd.pilot.size
    m = np.floor((d - vd.since_day) / DAYS_PER_MONTH).astype(int)
    ok = (d > vd.first) & (d + window <= vd.end_day)
    last = int(np.floor((vd.end_day - window - vd.since_day) / DAYS_PER_MONTH))
    first = max(-months_before, int(m.min()) if m.size else 0)
    if not control:
        first = max(first, -months_before)
    months = np.arange(first, max(last, -1) + 1)
    seed = int(rng.integers(2**32))      # one set of resamples for both series (paired)
    lapsed = ok & (vd.next_gap > window)

    def rates(mask_client, shift=0):
        sel = ok & mask_client[c] & np.isin(m + shift, months)
        flat = c[sel] * months.size + np.searchsorted(months, m[sel] + shift)
        den = np.bincount(flat, minlength=n * months.size).reshape(n, months.size).astype(float)
        num = np.bincount(flat[lapsed[sel]], minlength=n * months.size).reshape(n, months.size).astype(float)
        thin = den.sum(0) < MIN_VISITS_MONTH        # too few visits for a monthly rate
        sb = resampled_sums(vd.pilot, np.hstack([num, den]), n_boot, seed)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate, boot = num.sum(0) / den.sum(0), sb[:, :months.size] / sb[:, months.size:]
        rate[thin], boot[:, thin] = np.nan, np.nan
        return rate, boot

    p, pb = rates(vd.pilot)
    if control:
        q, qb = rates(~vd.pilot)
    else:  # the same month a year earlier, all clients
        q, qb = rates(np.ones(n, bool), shift=12)
    ref = np.searchsorted(months, -1) if control and (months == -1).any() else None
    gap, gapb = p - q, pb - qb
    if ref is not None:
        gap, gapb = gap - gap[ref], gapb - gapb[:, [ref]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # months without data stay NaN
        lo, hi = np.nanquantile(gapb, [0.1, 0.9], axis=0) if n_boot else (np.nan, np.nan)
    table = pd.DataFrame({"month": months, "pilot": p, "control": q, "gap": gap, "gap_p10": lo, "gap_p90": hi})
    pre = (months < 0) & np.isfinite(gap)
    if not control or pre.sum() < 3:
        return EventStudy(table, None, float("nan"), (np.nan, np.nan))
    x = months[pre].astype(float)
    xc = (x - x.mean()) / ((x - x.mean()) ** 2).sum()
    slope = float(np.nansum(xc * gap[pre]))
    sb = np.nansum(xc[None, :] * gapb[:, pre], axis=1)
    r = tuple(np.nanquantile(sb, [0.025, 0.975]))
    return EventStudy(table, bool(r[0] <= 0 <= r[1]), slope, r)


def departures(visits: pd.DataFrame, staff: pd.DataFrame | None, since, pilot_blocks, window: int = 90,
               min_share: float = 0.5, min_visits: int = 2) -> pd.DataFrame:
    """Clients following a leaving specialist, for departures from a year before ``since`` on.

    A client is *attached* to a specialist who leaves on day L when, in the year before L, she had at
    least ``min_visits`` visits in the specialist's block and most (``min_share``) with her; she
    *followed* when she made no visit at all within ``window`` days after L.  Departures whose window
    is not over yet are left out.

    Returns
    -------
    DataFrame: ``specialist_id``, ``block``, ``left``, ``pilot_block``, ``after_since``,
    ``attached``, ``followed``, ``followed_share``.
    """
    cols = ["specialist_id", "block", "left", "pilot_block", "after_since", "attached", "followed",
            "followed_share"]
    if staff is None or "left" not in staff or "specialist_id" not in visits or "block" not in visits:
        return pd.DataFrame(columns=cols)
    v = visits
    if "status" in v.columns:
        v = v[(v["status"].isna() | (v["status"] == "done")).to_numpy(bool)]
    date = pd.to_datetime(v["date"]).dt.normalize()
    end = date.max()
    since = pd.Timestamp(since).normalize()
    st = staff.dropna(subset=["left"])
    rows = []
    for sp in st.itertuples(index=False):
        L = pd.Timestamp(sp.left).normalize()
        if L < since - pd.Timedelta(days=365) or L + pd.Timedelta(days=window) > end:
            continue
        blk = v["block"].astype(str) == str(sp.block)
        yr = blk & (date < L) & (date >= L - pd.Timedelta(days=365))
        cnt = v[yr].groupby("client_id", observed=True).size()
        own = v[yr & (v["specialist_id"] == sp.specialist_id)].groupby("client_id", observed=True).size()
        share = own.reindex(cnt.index, fill_value=0) / cnt
        att = share.index[(cnt >= min_visits) & (share >= min_share)]
        after = v[(date >= L) & (date < L + pd.Timedelta(days=window))]["client_id"].unique()
        followed = int((~pd.Index(att).isin(after)).sum())
        rows.append({"specialist_id": sp.specialist_id, "block": str(sp.block), "left": L,
                     "pilot_block": str(sp.block) in set(pilot_blocks or []), "after_since": L >= since,
                     "attached": len(att), "followed": followed,
                     "followed_share": followed / len(att) if len(att) else np.nan})
    return pd.DataFrame(rows, columns=cols)


def gini(x) -> float:
    """Gini coefficient of non-negative loads (0 = perfectly even)."""
    x = np.sort(np.asarray(x, float))
    n = x.size
    if n < 2 or x.sum() <= 0:
        return float("nan")
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum()))


def load_gini(visits: pd.DataFrame, since, pilot_blocks) -> pd.DataFrame:
    """Evenness of specialists' load: Gini of visits per specialist, by block, before and after.

    "Before" is as long as "after" (at most), right before ``since``.  Returns ``block``,
    ``pilot_block``, ``before``, ``after``, ``change``.
    """
    cols = ["block", "pilot_block", "before", "after", "change"]
    if "specialist_id" not in visits or "block" not in visits:
        return pd.DataFrame(columns=cols)
    v = visits
    if "status" in v.columns:
        v = v[(v["status"].isna() | (v["status"] == "done")).to_numpy(bool)]
    date = pd.to_datetime(v["date"]).dt.normalize()
    since = pd.Timestamp(since).normalize()
    length = date.max() - since + pd.Timedelta(days=1)
    pre = (date < since) & (date >= since - length)
    post = date >= since
    rows = []
    for b, vb in v.groupby(v["block"].astype(str), observed=True):
        g0 = gini(vb[pre.loc[vb.index]].groupby("specialist_id", observed=True).size())
        g1 = gini(vb[post.loc[vb.index]].groupby("specialist_id", observed=True).size())
        rows.append({"block": b, "pilot_block": b in set(pilot_blocks or []), "before": g0, "after": g1,
                     "change": g1 - g0})
    return pd.DataFrame(rows, columns=cols)
