"""Descriptive KPIs of a salon's visits: the numbers the salon systems show, defined precisely.

Every function is pure: tidy tables in (see :mod:`analysis.inputs.data`), DataFrames / dataclasses out.
A *completed visit* is a visit row with ``status == "done"``; a *visit day* is a (client, date) pair
with at least one completed visit (several services on one day are one visit day).  Cancelled and
no-show rows carry no revenue and do not count as visits.

References for the definitions (listed on the references page, ``pages/references.py``):

* Phorest: first-time retention = first-time clients who return within a period, usually 90 days.
* Mindbody Retention report: clients whose first visit falls in a date range, counted if they
  return in a second, user-set period; new and repeat clients split.
* Meevo MA045: a "pool month" of new and repeat clients looked at N months ahead (3 months is
  called the industry standard).
* Benchmarks: new-client 90-day retention about 30 % (Phorest; SalonToday 28–33 %), repeat-client
  retention 68–79 % (Phorest 68 %, Crystal Focus 79 %); visit frequency about 5 a year (Strategies).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "visit_margin", "regulars_margin_share", "RegularsShare",
    "completed", "on_completed", "visit_days", "period", "Period", "by_month_block", "membership_months",
    "retention", "Retention", "cohort_matrix", "frequency", "Frequency", "avg_ticket",
    "blocks_per_client", "attachment", "Attachment", "load_spread", "LoadSpread", "gini",
]

DAYS_PER_MONTH = 365.25 / 12


# =========================================================================== helpers


def completed(visits: pd.DataFrame, columns=None) -> pd.DataFrame:
    """The completed visit rows (``status == "done"``; all rows when there is no status).

    ``columns``: keep only these (those present, in the frame's order; ``status`` is not kept unless
    named): the same rows, without copying the other columns (a million visits carry ten)."""
    mask = visits["status"] == "done" if "status" in visits.columns else None
    if columns is not None:
        wanted = set(columns)
        visits = visits[[c for c in visits.columns if c in wanted]]
    return visits[mask] if mask is not None else visits


def on_completed(visits: pd.DataFrame, column: str) -> bool:
    """Whether some completed visit (``status == "done"``, or any row without a status) has a value in
    ``column`` -- a block or specialist named only on cancelled rows gives the pages nothing to show."""
    if column not in visits.columns:
        return False
    return bool(completed(visits, (column,))[column].notna().any())


def visit_days(visits: pd.DataFrame) -> pd.DataFrame:
    """One row per (client, date) with a completed visit: ``client_id, date, amount`` (summed),
    sorted by client and date."""
    v = completed(visits, ("client_id", "date", "amount"))
    out = v.groupby(["client_id", "date"], sort=True, observed=True)["amount"].sum().reset_index()
    return out


def _id_codes(ids: pd.Series) -> np.ndarray:
    """Integer codes of ``ids`` (no missing values), equal where the ids are equal: a categorical's
    own codes, else :func:`pandas.factorize` — a million text ids as Python strings would cost
    ~100 MiB for comparisons integers make as well."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        return ids.cat.codes.to_numpy()
    return pd.factorize(ids)[0]


def gini(x) -> float:
    """Gini coefficient of non-negative values: 0 = all equal, towards 1 = one takes all.

    ``G = sum_i (2 i - n - 1) x_(i) / (n * sum x)`` over the values sorted ascending (i = 1..n),
    equal to ``sum_ij |x_i - x_j| / (2 n^2 mean)``.  NaN for fewer than two values or zero total.
    """
    x = np.sort(np.asarray(x, float)[np.isfinite(np.asarray(x, float))])
    n = x.size
    if n < 2 or x.sum() <= 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * x) / (n * x.sum()))


# =========================================================================== margin


def _setting(study, key: str, fallback: float) -> float:
    if study is None:
        return fallback
    value = study.get(key) if hasattr(study, "get") else None
    if value is None:
        return fallback
    return float(getattr(value, "mode", value))


def visit_margin(tables, study=None) -> pd.Series:
    """Contribution margin of each visit row: amount − consumables − variable pay.

    ``margin = amount − consumables − commission_rate × amount``, in the study currency, aligned
    with ``tables.visits`` (same index).  Cancelled and no-show rows have margin 0.

    Consumables come from, in order: the visit's ``consumables_cost``; the service's
    ``consumables_cost`` in ``services`` (per service as listed); ``economics.consumables_share`` ×
    amount.  The commission rate comes from the specialist's ``commission_rate`` in ``staff``, else
    ``economics.commission_rate``.  Fixed pay is not a per-visit cost and is left out.

    Parameters
    ----------
    tables : analysis.inputs.data.Tables
    study : analysis.inputs.study.Study, optional
        For the fallbacks; without it 0.40 commission and 0.10 consumables share (the defaults).

    Returns
    -------
    Series named ``margin`` (float).
    """
    v = tables.visits
    amount = v["amount"].astype(float)
    share = _setting(study, "economics.consumables_share", 0.10)
    rate = _setting(study, "economics.commission_rate", 0.40)
    cons = pd.Series(np.nan, index=v.index)
    if "consumables_cost" in v.columns:
        cons = v["consumables_cost"].astype(float)
    svc = getattr(tables, "services", None)
    if cons.isna().any() and svc is not None and "service" in v.columns and "consumables_cost" in svc.columns:
        per = svc.drop_duplicates("service").set_index("service")["consumables_cost"].astype(float)
        cons = cons.fillna(v["service"].map(per))
    cons = cons.fillna(share * amount)
    comm = pd.Series(np.nan, index=v.index)
    staff = getattr(tables, "staff", None)
    if staff is not None and "specialist_id" in v.columns and "commission_rate" in staff.columns:
        per = staff.drop_duplicates("specialist_id").set_index("specialist_id")["commission_rate"].astype(float)
        comm = v["specialist_id"].map(per).astype(float)
    comm = comm.fillna(rate)
    margin = amount - cons - comm * amount
    if "status" in v.columns:
        margin = margin.where(v["status"] == "done", 0.0)
    return margin.astype(float).rename("margin")


@dataclass
class RegularsShare:
    """How much of the margin regular clients bring.

    Attributes
    ----------
    share : float
        Margin of regular clients / margin of all clients.
    clients_share : float
        Regular clients / all clients with a completed visit.
    min_visit_days : int
        The definition used: a *regular* has completed visits on at least this many days.
    top20_share : float
        Margin share of the top 20 % of clients by margin (the "80/20" check).
    pareto : DataFrame
        ``client_share`` (clients sorted by margin, largest first, cumulative share of clients)
        and ``margin_share`` (their cumulative share of margin); starts at (0, 0).
    per_client : DataFrame
        ``client_id, visit_days, margin, regular``.
    """

    share: float
    clients_share: float
    min_visit_days: int
    top20_share: float
    pareto: pd.DataFrame
    per_client: pd.DataFrame


def regulars_margin_share(visits: pd.DataFrame, margin: pd.Series, min_visit_days: int = 3) -> RegularsShare:
    """Share of margin from regular clients, and the Pareto curve of margin over clients.

    A client is *regular* when they have completed visits on at least ``min_visit_days`` different
    days in the data (default 3; ``data_check.regular_min_visit_days``).  ``share = sum of margin of
    regulars / total margin``.  The Pareto curve sorts clients by margin, largest first:
    point k is (k / n clients, margin of the top k / total margin).

    Parameters
    ----------
    visits : DataFrame
        ``client_id, date`` and ``status`` when present.
    margin : Series
        Margin per visit row, aligned with ``visits`` (:func:`visit_margin`).
    """
    v = visits[[c for c in ("client_id", "date", "status") if c in visits.columns]].assign(
        _m=margin.reindex(visits.index).fillna(0.0).to_numpy())
    done = completed(v, ("client_id", "date"))
    days = done.groupby("client_id", observed=True)["date"].nunique()
    m = v.groupby("client_id", observed=True)["_m"].sum().reindex(days.index).fillna(0.0)
    per = pd.DataFrame({"client_id": days.index, "visit_days": days.to_numpy(), "margin": m.to_numpy()})
    per["regular"] = per["visit_days"] >= min_visit_days
    total = per["margin"].sum()
    srt = np.sort(per["margin"].to_numpy())[::-1]
    n = srt.size
    cum = np.cumsum(srt) / total if total else np.full(n, np.nan)
    pareto = pd.DataFrame({"client_share": np.r_[0.0, np.arange(1, n + 1) / max(n, 1)],
                           "margin_share": np.r_[0.0, cum]})
    k20 = int(np.ceil(0.2 * n))
    return RegularsShare(
        share=float(per.loc[per["regular"], "margin"].sum() / total) if total else float("nan"),
        clients_share=float(per["regular"].mean()) if n else float("nan"),
        min_visit_days=int(min_visit_days),
        top20_share=float(cum[k20 - 1]) if n and total else float("nan"),
        pareto=pareto,
        per_client=per,
    )


# =========================================================================== period and volumes


@dataclass
class Period:
    """First and last date of the completed visits and how many calendar months they span."""

    first: pd.Timestamp
    last: pd.Timestamp
    days: int
    months: int


def period(visits: pd.DataFrame) -> Period:
    """``months`` counts calendar months from the first to the last visit, both included."""
    v = completed(visits, ("date",))
    first, last = v["date"].min(), v["date"].max()
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    return Period(first, last, int((last - first).days) + 1, int(months))


def by_month_block(visits: pd.DataFrame) -> pd.DataFrame:
    """Clients, visits (completed rows) and revenue by calendar month and block.

    Returns a tidy frame ``month`` (Timestamp, first day), ``block`` (``"all"`` when the visits have
    no block), ``clients``, ``visits``, ``revenue``.
    """
    v = completed(visits, ("date", "block", "client_id", "amount"))
    block = v["block"].fillna("?") if "block" in v.columns else pd.Series("all", index=v.index)
    g = v.assign(month=v["date"].dt.to_period("M").dt.start_time, block=block.astype(str)) \
        .groupby(["month", "block"], observed=True)
    out = g.agg(clients=("client_id", "nunique"), visits=("client_id", "size"),
                revenue=("amount", "sum")).reset_index()
    return out


def membership_months(memberships: pd.DataFrame, start, end) -> pd.DataFrame:
    """Active members and membership revenue by calendar month.

    A membership counts in a month when it is active on any day of it (start ≤ month end and
    (no end or end ≥ month start)).  Revenue per month = ``price_per_period`` (``period`` month) or
    ``price_per_period / 12`` (year) for each active membership; 0 when there is no price.
    """
    months = pd.period_range(pd.Timestamp(start), pd.Timestamp(end), freq="M")
    m0 = months.start_time.to_numpy()
    m1 = months.end_time.normalize().to_numpy()
    s = memberships["start"].to_numpy()
    e = memberships["end"].fillna(pd.Timestamp.max.normalize()).to_numpy() if "end" in memberships else \
        np.full(len(memberships), pd.Timestamp.max.normalize().to_datetime64())
    active = (s[:, None] <= m1[None, :]) & (e[:, None] >= m0[None, :])
    price = memberships["price_per_period"].fillna(0).to_numpy(float) if "price_per_period" in memberships \
        else np.zeros(len(memberships))
    if "period" in memberships:
        price = np.where(memberships["period"].to_numpy() == "year", price / 12.0, price)
    return pd.DataFrame({"month": months.start_time, "members": active.sum(0),
                         "revenue": (active * price[:, None]).sum(0)})


# =========================================================================== retention


@dataclass
class Retention:
    """New- and repeat-client retention within a window, by month.

    Attributes
    ----------
    window_days : int
    new_rate, repeat_rate : float
        Pooled over the months whose window is fully inside the data (complete months).
    by_month : DataFrame
        Index: month (Timestamp). Columns ``new_clients, new_returned, new_rate, repeat_clients,
        repeat_returned, repeat_rate, complete``.
    """

    window_days: int
    new_rate: float
    repeat_rate: float
    by_month: pd.DataFrame

    @property
    def summary(self) -> pd.DataFrame:
        b = self.by_month[self.by_month["complete"]]
        return pd.DataFrame({
            "kind": ["new", "repeat"],
            "clients": [int(b["new_clients"].sum()), int(b["repeat_clients"].sum())],
            "returned": [int(b["new_returned"].sum()), int(b["repeat_returned"].sum())],
            "rate": [self.new_rate, self.repeat_rate],
        })


def retention(visits: pd.DataFrame, window_days: int = 90, first_visit: pd.Series | None = None,
              end=None) -> Retention:
    """New- and repeat-client retention within ``window_days``, by month, as salon systems define it.

    * **New clients** of month m: clients whose first visit falls in m (Phorest "first-time
      retention"; Mindbody "new clients"). Retained when they have another visit day within
      ``window_days`` days after the first visit.
    * **Repeat clients** of month m: clients with a visit in m whose first visit was before m
      (Mindbody "repeat clients", Meevo's "pool month"). Retained when their next visit day comes
      within ``window_days`` days after their *last* visit day in m.

    A month counts only when its last day plus the window is on or before the data end
    (``complete``); the pooled rates use complete months only.  Same-day visits are one visit day.

    Parameters
    ----------
    visits : DataFrame
        ``client_id, date`` (+ ``status``).
    window_days : int
        The window N (``data_check.retention_window_days``; 90 by default).
    first_visit : Series, optional
        ``client_id -> first visit date`` from the clients table: a client whose recorded first
        visit is earlier than their first visit in the export is a repeat client (exports that start
        after the salon opened).
    end : date, optional
        Data end; default the last visit date.
    """
    d = visit_days(visits)[["client_id", "date"]]
    if d.empty:
        empty = pd.DataFrame(columns=["new_clients", "new_returned", "new_rate", "repeat_clients",
                                      "repeat_returned", "repeat_rate", "complete"])
        return Retention(int(window_days), float("nan"), float("nan"), empty)
    end = pd.Timestamp(end) if end is not None else d["date"].max()
    cid = _id_codes(d["client_id"])       # only compared with neighbours and counted: integer codes
    date = d["date"].to_numpy()
    new_client = np.r_[True, cid[1:] != cid[:-1]]
    nxt_same = np.r_[cid[1:] == cid[:-1], False]
    nxt_date = np.r_[date[1:], date[-1:]]
    gap = np.where(nxt_same, (nxt_date - date) / np.timedelta64(1, "D"), np.inf)
    first = d["date"].where(new_client).ffill().to_numpy()
    is_first_visit = new_client.copy()
    if first_visit is not None and len(first_visit):
        fv = d["client_id"].map(first_visit).to_numpy(dtype="datetime64[ns]")
        earlier = ~np.isnat(fv) & (fv < first)
        is_first_visit &= ~earlier
        first = np.where(earlier, fv, first)
    month = date.astype("datetime64[M]").astype(np.int64)          # months since 1970-01
    first_month = np.asarray(first, dtype="datetime64[ns]").astype("datetime64[M]").astype(np.int64)
    df = pd.DataFrame({"client_id": cid, "month": month, "gap": gap, "first": is_first_visit,
                       "first_month": first_month})
    df["returned"] = df["gap"] <= window_days
    newc = df[df["first"]]
    new = newc.groupby("month").agg(new_clients=("client_id", "size"), new_returned=("returned", "sum"))
    rep = df[(df["month"] != df["first_month"]) & ~df["first"]]
    # the last visit day of each (client, month): rows are sorted by client and date
    last = np.r_[(rep["client_id"].to_numpy()[1:] != rep["client_id"].to_numpy()[:-1])
                 | (rep["month"].to_numpy()[1:] != rep["month"].to_numpy()[:-1]), True] if len(rep) else []
    last_in_month = rep[np.asarray(last, bool)] if len(rep) else rep
    rp = last_in_month.groupby("month").agg(repeat_clients=("client_id", "size"),
                                            repeat_returned=("returned", "sum"))
    m0 = int(month.min())
    m1 = int(np.datetime64(end, "M").astype(np.int64))
    months = np.arange(m0, m1 + 1)
    out = pd.DataFrame(index=months).join(new).join(rp).fillna(0).astype(int)
    out["new_rate"] = out["new_returned"] / out["new_clients"].replace(0, np.nan)
    out["repeat_rate"] = out["repeat_returned"] / out["repeat_clients"].replace(0, np.nan)
    month_start = months.astype("datetime64[M]").astype("datetime64[ns]")
    month_end = (months + 1).astype("datetime64[M]").astype("datetime64[ns]") - np.timedelta64(1, "D")
    out["complete"] = (month_end + np.timedelta64(int(window_days), "D")) <= np.datetime64(end, "ns")
    out.index = pd.DatetimeIndex(month_start, name="month")
    c = out[out["complete"]]
    new_rate = c["new_returned"].sum() / c["new_clients"].sum() if c["new_clients"].sum() else float("nan")
    rep_rate = c["repeat_returned"].sum() / c["repeat_clients"].sum() if c["repeat_clients"].sum() else float("nan")
    out = out[["new_clients", "new_returned", "new_rate", "repeat_clients", "repeat_returned",
               "repeat_rate", "complete"]]
    return Retention(int(window_days), float(new_rate), float(rep_rate), out)


def cohort_matrix(visits: pd.DataFrame, max_months: int = 12, end=None) -> pd.DataFrame:
    """Share of each first-visit-month cohort with a completed visit k months later.

    Rows: cohort month (Timestamp); columns ``0 .. max_months`` (months since the first visit's
    month; column 0 is 1.0 by definition) and ``clients``.  Cells after the data end are NaN.
    """
    d = visit_days(visits)
    if d.empty:
        return pd.DataFrame()
    end = pd.Timestamp(end) if end is not None else d["date"].max()
    m = d["date"].dt.year * 12 + d["date"].dt.month - 1
    first = m.groupby(d["client_id"]).transform("min")
    k = (m - first).to_numpy()
    cohort = first.to_numpy()
    pairs = pd.DataFrame({"c": d["client_id"].to_numpy(), "cohort": cohort, "k": k}).drop_duplicates()
    pairs = pairs[pairs["k"] <= max_months]
    counts = pairs.groupby(["cohort", "k"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=range(max_months + 1), fill_value=0)
    size = counts[0]
    share = counts.div(size, axis=0)
    end_m = end.year * 12 + end.month - 1
    for col in share.columns:
        share.loc[share.index + col > end_m, col] = np.nan
    share.index = pd.to_datetime([f"{i // 12}-{i % 12 + 1:02d}-01" for i in share.index])
    share.index.name = "cohort"
    share["clients"] = size.to_numpy()
    return share


# =========================================================================== frequency, ticket, blocks


@dataclass
class Frequency:
    """How often clients come.

    Attributes
    ----------
    visits_per_client_year : float
        Visit days in the last 365 days of data / clients with a visit in them (annualised when the
        data are shorter than a year).
    median_days_between : float
        Median gap between consecutive visit days of the same client.
    distribution : DataFrame
        ``visit_days`` (1, 2, …, "10+" as 10) and ``clients`` over the whole period.
    """

    visits_per_client_year: float
    median_days_between: float
    distribution: pd.DataFrame


def frequency(visits: pd.DataFrame) -> Frequency:
    d = visit_days(visits)
    if d.empty:
        return Frequency(float("nan"), float("nan"), pd.DataFrame(columns=["visit_days", "clients"]))
    end = d["date"].max()
    span = (end - d["date"].min()).days + 1
    last_year = d[d["date"] > end - pd.Timedelta(days=365)]
    per_year = len(last_year) / last_year["client_id"].nunique()
    if span < 365:
        per_year *= 365.0 / span
    same = d["client_id"].to_numpy()[1:] == d["client_id"].to_numpy()[:-1]
    gaps = np.diff(d["date"].to_numpy()).astype("timedelta64[D]").astype(float)[same]
    counts = d.groupby("client_id", observed=True).size().clip(upper=10)
    dist = counts.value_counts().sort_index().rename_axis("visit_days").reset_index(name="clients")
    return Frequency(float(per_year), float(np.median(gaps)) if gaps.size else float("nan"), dist)


def avg_ticket(visits: pd.DataFrame) -> pd.DataFrame:
    """Average ticket: revenue per visit day (a client's spend on one day), overall and by block.

    Returns ``block`` (``"all"`` first), ``visits`` (visit days; completed rows by block),
    ``revenue``, ``avg_ticket`` = revenue / visits.  By block the unit is the completed row (one
    service), since one day can span blocks.
    """
    d = visit_days(visits)
    rows = [{"block": "all", "visits": len(d), "revenue": float(d["amount"].sum())}]
    v = completed(visits, ("block", "amount"))
    if "block" in v.columns and v["block"].notna().any():
        g = v.groupby("block", observed=True)["amount"].agg(["size", "sum"])
        for b, r in g.iterrows():
            rows.append({"block": str(b), "visits": int(r["size"]), "revenue": float(r["sum"])})
    out = pd.DataFrame(rows)
    out["avg_ticket"] = out["revenue"] / out["visits"].replace(0, np.nan)
    return out


def blocks_per_client(visits: pd.DataFrame) -> pd.DataFrame:
    """How many different blocks each client used (completed visits).

    Returns ``blocks`` (1, 2, …) and ``clients``, ``share``.  Mean: ``(blocks * clients).sum() /
    clients.sum()``.
    """
    v = completed(visits, ("client_id", "block"))
    k = v.dropna(subset=["block"]).groupby("client_id", observed=True)["block"].nunique()
    out = k.value_counts().sort_index().rename_axis("blocks").reset_index(name="clients")
    out["share"] = out["clients"] / out["clients"].sum()
    return out


# =========================================================================== specialists


@dataclass
class Attachment:
    """Attachment of clients to one specialist within a block.

    Attributes
    ----------
    mean : float
        Mean over (client, block) pairs with at least ``min_visits`` visits of the share of the
        pair's visits with the client's most-visited specialist.
    attached_share : float
        Share of those pairs with more than half their visits with one specialist (the clients
        who may follow a leaving specialist).
    by_block : DataFrame
        ``block, pairs, mean, attached_share``.
    per_pair : DataFrame
        ``client_id, block, visits, top_specialist, top_share``.
    min_visits : int
    """

    mean: float
    attached_share: float
    by_block: pd.DataFrame
    per_pair: pd.DataFrame
    min_visits: int


def attachment(visits: pd.DataFrame, min_visits: int = 2) -> Attachment:
    """Share of a client's visits in a block that go to their top specialist.

    For each (client, block) with at least ``min_visits`` completed visits with a known
    specialist: ``top_share = visits with the most-visited specialist / visits in the block``.
    """
    v = completed(visits, ("client_id", "block", "specialist_id")).dropna(subset=["block", "specialist_id"])
    c = v.groupby(["client_id", "block", "specialist_id"], observed=True).size().rename("n").reset_index()
    c = c.sort_values(["client_id", "block", "n", "specialist_id"], ascending=[True, True, False, True])
    tot = c.groupby(["client_id", "block"], observed=True)["n"].transform("sum")
    top = c.assign(visits=tot).drop_duplicates(["client_id", "block"])
    top = top[top["visits"] >= min_visits]
    per = pd.DataFrame({"client_id": top["client_id"].to_numpy(), "block": top["block"].to_numpy(),
                        "visits": top["visits"].to_numpy(), "top_specialist": top["specialist_id"].to_numpy(),
                        "top_share": (top["n"] / top["visits"]).to_numpy()})
    per["attached"] = per["top_share"] > 0.5
    by = per.groupby("block", observed=True).agg(pairs=("client_id", "size"), mean=("top_share", "mean"),
                                                 attached_share=("attached", "mean")).reset_index()
    return Attachment(float(per["top_share"].mean()) if len(per) else float("nan"),
                      float(per["attached"].mean()) if len(per) else float("nan"), by,
                      per.drop(columns="attached"), int(min_visits))


@dataclass
class LoadSpread:
    """How evenly the work is spread over specialists.

    Attributes
    ----------
    gini : float
        Gini coefficient, over specialists, of completed visits per available day (the day-to-day
        load each specialist carried while employed).
    gini_within_block : float
        Visit-weighted mean of that Gini within each block (like with like).
    gini_worked : float
        Gini of visits per *worked* day (days with at least one visit): intensity when working.
    per_specialist : DataFrame
        ``specialist_id, block, visits, days_worked, days_available, visits_per_day``
        (per worked day), ``visits_per_available_day`` and, when services carry ``duration_min``,
        ``booked_hours_per_day`` (per worked day).
    by_block : DataFrame
        ``block, specialists, visits, visits_per_available_day, gini``.
    """

    gini: float
    gini_within_block: float
    gini_worked: float
    per_specialist: pd.DataFrame
    by_block: pd.DataFrame


def load_spread(visits: pd.DataFrame, staff: pd.DataFrame | None = None,
                services: pd.DataFrame | None = None) -> LoadSpread:
    """Specialist load: completed visits per available day and per worked day, and their Gini.

    *Available days* of a specialist are the calendar days they were employed within the data
    period: from ``max(hired, first data day)`` to ``min(left − 1 day, last data day)`` when
    ``staff`` has those dates, else from their first to their last visit.  *Worked days* are dates
    with at least one completed visit of theirs (rosters are not in the data).
    ``visits_per_available_day = visits / available days``; the Gini of it over specialists is the
    load spread (0 = everyone equally busy).
    """
    v = completed(visits, ("specialist_id", "block", "date", "service")).dropna(subset=["specialist_id"])
    if "block" not in v.columns:
        v = v.assign(block="all")
    if v.empty:
        empty = pd.DataFrame(columns=["specialist_id", "block", "visits", "days_worked", "days_available",
                                      "visits_per_day", "visits_per_available_day"])
        return LoadSpread(float("nan"), float("nan"), float("nan"), empty, pd.DataFrame())
    dates = completed(visits, ("date",))["date"]
    start, end = dates.min(), dates.max()
    g = v.groupby("specialist_id", observed=True)
    per = pd.DataFrame({
        "block": g["block"].agg(lambda s: s.mode().iloc[0] if len(s) else None),
        "visits": g.size(),
        "days_worked": g["date"].nunique(),
        "_first": g["date"].min(),
        "_last": g["date"].max(),
    }).reset_index()
    a, b = per["_first"], per["_last"]
    if staff is not None and "specialist_id" in staff.columns:
        s = staff.drop_duplicates("specialist_id").set_index("specialist_id")
        # plain ids on both sides: a categorical id would map to a categorical of dates, which refuses ``<``
        s.index = s.index.astype(object)
        ids = per["specialist_id"].astype(object)
        if "hired" in s.columns:
            h = ids.map(s["hired"])
            a = h.where(h.notna() & (h < a), a).clip(lower=start)
            a = a.where(h.isna() | (h >= start), start)
        if "left" in s.columns:
            lf = ids.map(s["left"]) - pd.Timedelta(days=1)
            b = pd.Series(end, index=per.index).where(lf.isna(), lf.clip(upper=end))
            b = b.where(b >= per["_last"], per["_last"])
        else:
            b = pd.Series(end, index=per.index)
    per["days_available"] = ((b - a).dt.days + 1).clip(lower=1).astype(int)
    per = per.drop(columns=["_first", "_last"])
    per["visits_per_day"] = per["visits"] / per["days_worked"]
    per["visits_per_available_day"] = per["visits"] / per["days_available"]
    if services is not None and "duration_min" in services.columns and "service" in v.columns:
        dur = services.drop_duplicates("service").set_index("service")["duration_min"]
        # plain service names: a categorical would map to a categorical of minutes, which refuses sums
        mins = pd.to_numeric(v["service"].astype(object).map(dur), errors="coerce").fillna(0.0) \
            .groupby(v["specialist_id"], observed=True).sum()
        per["booked_hours_per_day"] = per["specialist_id"].map(mins).to_numpy() / 60.0 / per["days_worked"]
    by = per.groupby("block", observed=True).agg(
        specialists=("specialist_id", "size"), visits=("visits", "sum"),
        visits_per_available_day=("visits_per_available_day", "mean")).reset_index()
    by["gini"] = [gini(per.loc[per["block"] == blk, "visits_per_available_day"]) for blk in by["block"]]
    ok = by["gini"].notna()
    within = float(np.average(by.loc[ok, "gini"], weights=by.loc[ok, "visits"])) if ok.any() else float("nan")
    return LoadSpread(gini(per["visits_per_available_day"]), within, gini(per["visits_per_day"]), per, by)
