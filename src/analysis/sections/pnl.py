"""Monthly P&L of the blocks the care manager covers, from the salon's own data.

Per calendar month and block::

    revenue      = sum of visit amounts (cancelled / no-show visits carry 0)
                   + membership fees: price_per_period in every month a membership is paid for
                   (a yearly fee spread as 1/12 a month), in the block most of the members'
                   visits fall in; no consumables or commission on fees
    consumables  = visits.consumables_cost, else services.consumables_cost by service,
                   else economics.consumables_share x amount
    staff_pay    = commission + fixed pay
        commission = staff.commission_rate (by specialist) x amount,
                     else economics.commission_rate x amount
        fixed pay  = staff.monthly_fixed_pay of the block's staff employed that month (else 0)
    profit       = revenue - consumables - staff_pay   (the block's contribution before rent,
                   administration and the care manager)

This is the "block profit" of the source document's pay model (turnover - consumables - staff
wages).  When the visits carry no ``block`` column the whole salon is one block.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.errors import InputError, Problem

__all__ = ["Baseline", "monthly_pnl", "baseline", "covered_blocks", "membership_fees",
           "MIN_MONTHS_FOR_CV", "MONEY_DEFAULTS", "specialist_pay_month", "money_scale", "money_scale_note", "localise"]

MIN_MONTHS_FOR_CV = 6  # complete months needed to estimate month-to-month variation
_COLS = ["revenue", "consumables", "commission", "fixed_pay", "staff_pay", "profit"]


def covered_blocks(tables, study) -> tuple[list[str] | None, list[str]]:
    """(blocks covered, blocks named in ``care_manager.covers`` but absent from the data).

    ``None`` for the first when the visits have no ``block`` column (whole salon as one block).

    Raises
    ------
    InputError
        ``covers`` names only blocks the data do not have.
    """
    covers = study["care_manager.covers"]
    if not tables.has("visits", "block"):
        return None, ([] if covers == "all" else list(covers))
    # the distinct blocks as text (not every visit's block made text: a million strings)
    present = sorted({str(b) for b in pd.unique(tables.visits["block"].dropna())})
    if covers == "all":
        return present, []
    wanted = [str(b) for b in covers]
    missing = [b for b in wanted if b not in present]
    found = [b for b in wanted if b in present]
    if not found:
        raise InputError(Problem("study.yaml: care_manager.covers",
                                 f"names no block in the visits. Got {', '.join(wanted)}; "
                                 f"the data have {', '.join(present)}."))
    return found, missing


def _visit_costs(tables, study) -> tuple[pd.DataFrame, dict]:
    """Visits with month, block, amount, consumables and commission; and where each came from."""
    v = tables.visits
    out = pd.DataFrame({
        "month": v["date"].dt.to_period("M"),
        "block": v["block"].astype(str) if tables.has("visits", "block") else "all",
        "amount": v["amount"].astype(float).fillna(0.0),
    })
    sources = {}
    share = float(study["economics.consumables_share"])
    default_cons = out["amount"] * share
    # the order of kpi.visit_margin: the visit's cost, the service's cost, the default share
    cons = pd.Series(np.nan, index=v.index)
    sources["consumables"] = "default"
    if tables.has("visits", "consumables_cost"):
        cons = v["consumables_cost"].astype(float)
        sources["consumables"] = "visits"
    if cons.isna().any() and tables.has("visits", "service") and tables.has("services", "consumables_cost"):
        per = tables.services.drop_duplicates("service").set_index("service")["consumables_cost"].astype(float)
        cons = cons.fillna(v["service"].map(per).astype(float))
        if sources["consumables"] == "default":
            sources["consumables"] = "services"
    cons = cons.where(cons.notna(), default_cons)
    out["consumables"] = cons.where(out["amount"] > 0, 0.0).to_numpy()

    rate_default = float(study["economics.commission_rate"])
    if tables.has("visits", "specialist_id") and tables.has("staff", "commission_rate"):
        per = tables.staff.drop_duplicates("specialist_id").set_index("specialist_id")["commission_rate"]
        rate = v["specialist_id"].map(per).astype(float).fillna(rate_default)
        sources["commission"] = "staff"
    else:
        rate = pd.Series(rate_default, index=v.index)
        sources["commission"] = "default"
    out["commission"] = (rate * out["amount"]).to_numpy()
    return out, sources


def membership_fees(tables, months: pd.PeriodIndex) -> tuple[pd.DataFrame, str | None]:
    """Membership fees per month: (DataFrame month, block, revenue; the block they went to).

    A monthly membership started on day d pays on d of every month until ``end`` (open memberships
    until the last month); the fee lands in the months of those payments.  The block is the
    memberships' ``block`` column when present, else the block with most visits of clients who
    hold a membership, else ``"all"``.
    """
    empty = pd.DataFrame(columns=["month", "block", "revenue"])
    if not tables.has("memberships", "price_per_period") or len(months) == 0:
        return empty, None
    m = tables.memberships.dropna(subset=["start", "price_per_period"])
    if m.empty:
        return empty, None
    start = pd.to_datetime(m["start"])
    end = pd.to_datetime(m["end"]) if "end" in m else pd.Series(pd.NaT, index=m.index)
    period = m["period"].astype(str).str.lower() if "period" in m else pd.Series("month", index=m.index)
    fee = m["price_per_period"].astype(float).to_numpy()
    fee = np.where(period.str.startswith("y").to_numpy(), fee / 12.0, fee)
    first = (start.dt.year * 12 + start.dt.month - 1).to_numpy()
    # last payment: start + k months, k the largest with start + k months < end
    k = ((end.dt.year - start.dt.year) * 12 + end.dt.month - start.dt.month).to_numpy(dtype=float)
    k = np.where(end.dt.day.to_numpy(dtype=float) <= start.dt.day.to_numpy(dtype=float), k - 1, k)
    last = np.where(end.isna().to_numpy(), np.inf, first + np.maximum(k, 0))
    ords = np.array([p.year * 12 + p.month - 1 for p in months])
    paid = (first[:, None] <= ords[None, :]) & (ords[None, :] <= last[:, None])
    revenue = (fee[:, None] * paid).sum(axis=0)
    if tables.has("memberships", "block"):
        block_of = m["block"].astype(str).to_numpy()
        df = pd.DataFrame(fee[:, None] * paid, columns=months)
        df["block"] = block_of
        long = df.groupby("block").sum().T.stack().rename("revenue").reset_index()
        long.columns = ["month", "block", "revenue"]
        return long, "memberships"
    if tables.has("visits", "block"):
        v = tables.visits
        members = _isin(v["client_id"], m["client_id"])
        counts = v["block"][members].astype(str).value_counts()
        block = str(counts.index[0]) if len(counts) else "all"
    else:
        block = "all"
    return pd.DataFrame({"month": months, "block": block, "revenue": revenue}), block


def _isin(values: pd.Series, wanted: pd.Series) -> np.ndarray:
    """``values.isin(set(wanted))`` as a boolean array.  Two text columns are compared with pyarrow's
    ``is_in`` on the distinct wanted values (pandas builds a Python object per wanted value first:
    a third of a second for 50,000 members against a million visits); anything else with pandas."""
    if values.dtype == "str" and wanted.dtype == "str":
        import pyarrow as pa
        import pyarrow.compute as pc

        got = pc.is_in(pa.array(values), value_set=pa.array(wanted.dropna().unique()), skip_nulls=True)
        return np.asarray(got.fill_null(False), dtype=bool)
    return values.isin(set(wanted)).to_numpy(dtype=bool)


def _fixed_pay(tables, months: pd.PeriodIndex, blocks) -> pd.DataFrame:
    """Fixed pay per month and block: staff employed at any time in the month."""
    if not tables.has("staff", "monthly_fixed_pay"):
        return pd.DataFrame(columns=["month", "block", "fixed_pay"])
    s = tables.staff.copy()
    s["block"] = s["block"].astype(str) if "block" in s and blocks is not None else "all"
    hired = s["hired"] if "hired" in s else pd.Series(pd.NaT, index=s.index)
    left = s["left"] if "left" in s else pd.Series(pd.NaT, index=s.index)
    rows = []
    pay = s["monthly_fixed_pay"].astype(float).fillna(0.0).to_numpy()
    hired = pd.to_datetime(hired).to_numpy()
    left = pd.to_datetime(left).to_numpy()
    for m in months:
        start, end = np.datetime64(m.start_time), np.datetime64(m.end_time)
        on = (np.isnat(hired) | (hired <= end)) & (np.isnat(left) | (left >= start))
        rows.append(pd.DataFrame({"month": m, "block": s["block"].to_numpy()[on], "fixed_pay": pay[on]}))
    df = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["month", "block", "fixed_pay"])
    return df.groupby(["month", "block"], as_index=False)["fixed_pay"].sum()


def _complete_months(dates: pd.Series) -> pd.PeriodIndex:
    """Calendar months lying wholly inside the data's date range (all months if none does)."""
    first, last = dates.min(), dates.max()
    months = pd.period_range(first.to_period("M"), last.to_period("M"), freq="M")
    full = [m for m in months if m.start_time >= first.normalize() and m.end_time.normalize() <= last]
    return pd.PeriodIndex(full, freq="M") if full else months


def monthly_pnl(tables, study) -> pd.DataFrame:
    """Month x block P&L of the covered blocks over the data's complete months.

    Returns
    -------
    pandas.DataFrame
        Columns ``month`` (Period), ``block``, ``revenue``, ``consumables``, ``commission``,
        ``fixed_pay``, ``staff_pay``, ``profit`` -- money per month.  ``block`` is ``"all"`` when
        the visits have no block column.
    """
    return _monthly_pnl(tables, study)[0]


def _monthly_pnl(tables, study) -> tuple[pd.DataFrame, dict, str | None]:
    """:func:`monthly_pnl`, with where the costs came from (:func:`_visit_costs`) and the block the
    membership fees went to (:func:`membership_fees`): :func:`baseline` needs all three, from one
    pass over the visits."""
    blocks, _ = covered_blocks(tables, study)
    costs, sources = _visit_costs(tables, study)
    if blocks is not None:
        costs = costs[costs["block"].isin(blocks)]
    months = _complete_months(tables.visits["date"].dropna())
    costs = costs[costs["month"].isin(months)]
    agg = costs.groupby(["month", "block"], as_index=False)[["amount", "consumables", "commission"]].sum()
    agg = agg.rename(columns={"amount": "revenue"})
    fees, fee_block = membership_fees(tables, months)
    if len(fees):
        if blocks is not None:
            fees = fees[fees["block"].isin(blocks)]
        agg = pd.concat([agg, fees.assign(consumables=0.0, commission=0.0)], ignore_index=True)
        agg = agg.groupby(["month", "block"], as_index=False)[["revenue", "consumables", "commission"]].sum()
    blk = blocks if blocks is not None else ["all"]
    grid = pd.MultiIndex.from_product([months, blk], names=["month", "block"]).to_frame(index=False)
    out = grid.merge(agg, on=["month", "block"], how="left")
    fixed = _fixed_pay(tables, months, blocks)
    if len(fixed):
        out = out.merge(fixed, on=["month", "block"], how="left")
    else:
        out["fixed_pay"] = 0.0
    out[["revenue", "consumables", "commission", "fixed_pay"]] = (
        out[["revenue", "consumables", "commission", "fixed_pay"]].astype(float).fillna(0.0))
    out["staff_pay"] = out["commission"] + out["fixed_pay"]
    out["profit"] = out["revenue"] - out["consumables"] - out["staff_pay"]
    return out[["month", "block"] + _COLS], sources, fee_block


@dataclass
class Baseline:
    """The covered blocks' monthly P&L, summarised for the simulation.

    Attributes
    ----------
    blocks : list of str or None
        Blocks covered; None = the whole salon (no block column).
    missing_blocks : list of str
        Blocks named in ``care_manager.covers`` but absent from the data.
    monthly : pandas.DataFrame
        Covered blocks summed, one row per complete month (see :func:`monthly_pnl`).
    by_block : pandas.DataFrame
        Mean per month of the baseline window, one row per block.
    revenue_month : float
        Current run rate of revenue (trend level in the window's last month; the window mean when
        the window is shorter than ``MIN_MONTHS_FOR_CV``).
    consumables_month, staff_pay_month, profit_month : float
        At that revenue: shares x revenue, fixed pay + commission share x revenue, and the rest.
    fixed_pay_month : float
        Fixed pay in the window's last month.
    consumables_share, commission_share : float
        Consumables and commission per unit of revenue over the window (the last 12 complete
        months, or all when fewer).
    revenue_cv_month : float or None
        Month-to-month coefficient of variation of revenue around its trend in the window (None
        when the window has fewer than ``MIN_MONTHS_FOR_CV`` complete months).
    revenue_mean_month : float
        Mean monthly revenue over the window.
    growth_month : float or None
        Trend growth of revenue per month in the window.
    repeat_retention : float or None
        Repeat-client retention (``kpi.retention``, window ``data_check.retention_window_days``)
        pooled over the last 12 complete months, whole salon; None when no month is complete.
    repeat_retention_sd_month : float or None
        Its month-to-month standard deviation (None with fewer than ``MIN_MONTHS_FOR_CV`` months).
    n_months : int
        Complete months in the window.
    sources : dict
        Where consumables and commission came from: ``visits`` / ``services`` / ``staff`` /
        ``default``; fixed pay: ``staff`` / ``none``; memberships: the block their fees went to
        (``none`` without memberships).
    """

    blocks: list | None
    missing_blocks: list
    monthly: pd.DataFrame
    by_block: pd.DataFrame
    revenue_month: float
    consumables_month: float
    staff_pay_month: float
    fixed_pay_month: float
    profit_month: float
    consumables_share: float
    commission_share: float
    revenue_cv_month: float | None
    n_months: int
    sources: dict = field(default_factory=dict)
    revenue_mean_month: float = float("nan")
    growth_month: float | None = None
    repeat_retention: float | None = None
    repeat_retention_sd_month: float | None = None

    @property
    def summary(self) -> pd.DataFrame:
        """One row: the baseline block's monthly figures."""
        return pd.DataFrame([{
            "revenue_month": self.revenue_month, "consumables_month": self.consumables_month,
            "staff_pay_month": self.staff_pay_month, "profit_month": self.profit_month,
            "consumables_share": self.consumables_share, "commission_share": self.commission_share,
            "revenue_cv_month": self.revenue_cv_month, "growth_month": self.growth_month,
            "revenue_mean_month": self.revenue_mean_month, "n_months": self.n_months}])


def _trend(revenue: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """Straight line through log revenue: (cv, run rate, growth per month), None when too short.

    ``sd`` = residual standard deviation (ddof 2); ``cv = sqrt(exp(sd^2) - 1)`` (lognormal);
    run rate = ``exp(fit at the last month + sd^2 / 2)`` (the mean of the last month's level);
    growth = ``exp(slope) - 1``.
    """
    r = np.asarray(revenue, float)
    if len(r) < MIN_MONTHS_FOR_CV or np.any(r <= 0):
        return None, None, None
    t = np.arange(len(r))
    y = np.log(r)
    coef = np.polyfit(t, y, 1)
    resid = y - np.polyval(coef, t)
    var = float(np.sum(resid ** 2) / (len(r) - 2))
    cv = float(np.sqrt(np.expm1(var)))
    run_rate = float(np.exp(np.polyval(coef, t[-1]) + var / 2))
    return cv, run_rate, float(np.expm1(coef[0]))


def _repeat_retention(tables, study, window_months: int) -> tuple[float | None, float | None]:
    """Pooled repeat-client retention of the last complete months, and its monthly sd."""
    from analysis.sections import kpi

    days = int(study["data_check.retention_window_days"])
    try:
        r = kpi.retention(tables.visits, days)
    except InputError:  # bad input stops the run (exit 2); it never becomes a missing figure
        raise
    except (KeyError, ValueError):  # visits without what retention needs
        return None, None
    b = r.by_month
    if b.empty:
        return None, None
    b = b[b["complete"] & (b["repeat_clients"] > 0)].tail(window_months)
    if b.empty:
        return None, None
    level = float(b["repeat_returned"].sum() / b["repeat_clients"].sum())
    sd = float(b["repeat_rate"].std(ddof=1)) if len(b) >= MIN_MONTHS_FOR_CV else None
    return level, sd


def baseline(tables, study, window_months: int = 12) -> Baseline:
    """Baseline monthly P&L of the covered blocks: the current run rate of the last
    ``window_months`` complete months.

    With at least ``MIN_MONTHS_FOR_CV`` months in the window, revenue is the trend's level in the
    last month (a growing salon is valued at today's size, not last year's average) and its
    month-to-month variation is the scatter around that trend; otherwise the window's mean and no
    variation estimate.  Consumables and commission are the window's shares of revenue; fixed pay
    is the last month's (today's staff).  Works on bare visits (client_id, date, amount): the
    whole salon is one block and costs come from ``economics.consumables_share`` /
    ``economics.commission_rate``.
    """
    blocks, missing = covered_blocks(tables, study)
    pnl, sources, fee_block = _monthly_pnl(tables, study)
    monthly = pnl.groupby("month", as_index=False)[_COLS].sum().sort_values("month").reset_index(drop=True)
    window = monthly.tail(window_months)
    cv, run_rate, growth = _trend(window["revenue"].to_numpy())
    win_months = set(window["month"])
    by_block = pnl[pnl["month"].isin(win_months)].groupby("block", as_index=False)[_COLS].mean()
    mean = window[_COLS].mean()
    mean_rev = float(mean["revenue"])
    rev = run_rate if run_rate is not None else mean_rev
    sources = dict(sources)
    sources["fixed_pay"] = "staff" if tables.has("staff", "monthly_fixed_pay") else "none"
    # the fees' block of monthly_pnl: the same months (the grid's), so the same block
    sources["memberships"] = fee_block or "none"
    cshare = (float(mean["consumables"] / mean_rev) if mean_rev > 0
              else float(study["economics.consumables_share"]))
    mshare = (float(mean["commission"] / mean_rev) if mean_rev > 0
              else float(study["economics.commission_rate"]))
    fixed = float(window["fixed_pay"].iloc[-1]) if len(window) else 0.0
    ret, ret_sd = _repeat_retention(tables, study, window_months)
    cons = cshare * rev
    staff = fixed + mshare * rev
    return Baseline(
        blocks=blocks, missing_blocks=missing, monthly=monthly, by_block=by_block,
        revenue_month=rev, consumables_month=cons, staff_pay_month=staff, fixed_pay_month=fixed,
        profit_month=rev - cons - staff, consumables_share=cshare, commission_share=mshare,
        revenue_cv_month=cv, n_months=int(len(window)), sources=sources,
        revenue_mean_month=mean_rev, growth_month=growth, repeat_retention=ret,
        repeat_retention_sd_month=ret_sd)


# =========================================================================== money in the study's currency

# Study keys whose defaults are amounts of money (written in economics.money_defaults_currency).
# compensation.schemes holds amounts inside its components (fixed, kpi_bonus, floor / cap, tier
# thresholds on revenue or profit).
MONEY_DEFAULTS = ("staffing.specialist_manager_salary_month", "staffing.care_manager_salary_month",
                  "staffing.administrator_salary_month",
                  "summary.setup_cost", "compensation.market_floor_month",
                  "compensation.own_revenue_month", "compensation.schemes")


def specialist_pay_month(tables, study, window_months: int = 12) -> float | None:
    """The salon's own specialists' pay (commission + fixed pay) per specialist working in a
    month, mean of the last ``window_months`` complete months, whole salon.

    Specialists working in a month are the distinct ``specialist_id`` of its visits (else the
    staff employed that month, from staff.csv).  None when neither is known.
    """
    import dataclasses

    whole = dataclasses.replace(study, config={**study.config, "care_manager": {
        **study.config.get("care_manager", {}), "covers": "all"}})
    pnl = monthly_pnl(tables, whole)
    monthly = pnl.groupby("month")["staff_pay"].sum().tail(window_months)
    if monthly.empty:
        return None
    months = set(monthly.index)
    if tables.has("visits", "specialist_id"):
        v = tables.visits
        per = v.assign(month=v["date"].dt.to_period("M")).groupby("month")["specialist_id"].nunique()
        per = per[per.index.isin(months)]
    elif tables.has("staff"):
        per = pd.Series({m: float(len(tables.staff)) for m in months})
    else:
        return None
    per = per[per > 0]
    if per.empty:
        return None
    value = float((monthly.reindex(per.index) / per).mean())
    return value if np.isfinite(value) and value > 0 else None


def money_scale(tables, study) -> tuple[float, str]:
    """(multiplier for the kit's money defaults, where it came from).

    ``economics.money_scale`` when stated (``"study"``); 1 when the study's currency is the
    defaults' own (``"same_currency"``); else the salon's :func:`specialist_pay_month` divided by
    ``economics.reference_specialist_pay_month`` (``"specialist_pay"``): a manager's salary
    follows the local pay level of the salon's own specialists.  Without specialists in the data,
    the mean visit amount divided by ``economics.reference_visit_amount`` (``"visit_amount"``: the
    local price level, a weaker guide).  NaN (``"unknown"``) when not even that is known: the
    defaults then must be stated.
    """
    stated = study["economics.money_scale"]
    if stated is not None:
        return float(stated), "study"
    if str(study.currency).upper() == str(study["economics.money_defaults_currency"]).upper():
        return 1.0, "same_currency"
    pay = specialist_pay_month(tables, study)
    if pay is not None:
        return pay / float(study["economics.reference_specialist_pay_month"]), "specialist_pay"
    amount = pd.to_numeric(tables.visits["amount"], errors="coerce")
    amount = amount[amount > 0]
    if len(amount):
        return float(amount.mean()) / float(study["economics.reference_visit_amount"]), "visit_amount"
    return float("nan"), "unknown"


def money_scale_note(study):
    """The note that says by how much, and on what basis, a localised study's money defaults were
    scaled: code ``pnl.money_scale.<source>`` (``specialist_pay``, ``visit_amount`` or
    ``study``), fields ``defaults_currency``, ``currency`` and ``scale``; None when nothing was
    scaled (same currency, a factor of 1, or not localised)."""
    from analysis.codes import Note

    source = getattr(study, "money_scale_source", None)
    k = getattr(study, "money_scale", None)
    if source not in ("specialist_pay", "visit_amount", "study") or k is None or k == 1:
        return None
    return Note(f"pnl.money_scale.{source}", {"defaults_currency": study["economics.money_defaults_currency"],
                                             "currency": study.currency, "scale": float(k)}, topic="money")


def _scale_scheme(scheme: dict, k: float) -> dict:
    import copy

    out = copy.deepcopy(scheme)
    if k != 1:
        # the scheme's own sentences (``en`` / ``ru``) quote the unconverted amounts: dropped, so the
        # pages describe the scheme from its converted components instead
        out.pop("en", None)
        out.pop("ru", None)

    def walk(comp):
        if not isinstance(comp, dict):
            return
        for key in ("amount", "floor", "cap"):
            if isinstance(comp.get(key), (int, float)) and not isinstance(comp.get(key), bool):
                comp[key] = comp[key] * k
        if comp.get("type") == "tiered":  # thresholds on revenue, profit or own revenue: money
            comp["brackets"] = [[b[0] * k, b[1]] for b in comp.get("brackets", [])]
        for sub in comp.get("components", []) or []:
            walk(sub)

    for comp in out.get("components", []):
        walk(comp)
    return out


def localise(study, tables):
    """The study with every money default it does not state converted into its currency.

    Returns a copy of ``study`` (the user's values untouched) whose defaulted :data:`MONEY_DEFAULTS`
    are multiplied by :func:`money_scale`; the copy carries ``money_scale`` and
    ``money_scale_source``.  Idempotent: a study already localised is returned as it is.
    """
    import copy
    import dataclasses

    from analysis.inputs.study import Uncertain

    if getattr(study, "money_scale", None) is not None:
        return study
    k, source = money_scale(tables, study)
    if not np.isfinite(k):   # nothing to convert with: leave the defaults as they are (flagged by the summary)
        out = dataclasses.replace(study, config=copy.deepcopy(study.config))
        out.money_scale, out.money_scale_source = k, source
        return out
    config = copy.deepcopy(study.config)
    if k != 1.0:
        for key in MONEY_DEFAULTS:
            if key in study.given:
                continue
            section, name = key.split(".")
            v = config[section][name]
            if isinstance(v, Uncertain):
                config[section][name] = Uncertain(v.low * k, v.mode * k, v.high * k)
            elif isinstance(v, list):
                config[section][name] = [_scale_scheme(s, k) for s in v]
            elif isinstance(v, (int, float)):
                config[section][name] = v * k
    out = dataclasses.replace(study, config=config)
    out.money_scale, out.money_scale_source = k, source
    return out
