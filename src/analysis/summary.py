"""One joint Monte Carlo of the whole study: every section on the same scenarios, added up.

:func:`prepare` does the slow, scenario-free work once (client profile, BG/NBD fit, block P&L
baseline); :func:`evaluate` then turns a set of draws into the role's monthly cash flow and NPV
(see :mod:`analysis.decision` for the formula).  Because every section reads its assumptions from
the same :class:`analysis.simulate.Draws`, scenario ``s`` of the staffing saving, of the retained
margin and of the role's pay describe the same world, and their correlations are kept.

The role's cost is the chosen pay scheme's *net* cost (``care_manager.scheme``): pay with payroll
tax, less the commission specialists would have earned on the services the care manager performs
personally (:func:`analysis.compensation.scenarios`), times the number of care managers needed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from . import decision
from .errors import InputError
from .simulate import Draws
from .study import Study, Uncertain

__all__ = ["Prepared", "prepare", "Evaluation", "evaluate", "breakeven_uplift", "tornado",
           "EFFECT_KEY"]

EFFECT_KEY = "retention.care_manager_effect"


@dataclass
class Prepared:
    """Scenario-free inputs of the joint Monte Carlo, computed once."""

    study: Study
    tables: object
    profile: object = None           # staffing.ClientProfile
    retention: object = None         # retention.RetentionAnalysis
    baseline: object = None          # pnl.Baseline
    notes: list = field(default_factory=list)  # (en, ru) of parts left out

    def note(self, en: str, ru: str) -> None:
        self.notes.append((en, ru))


def prepare(study: Study, tables, retention_analysis=None, staffing_analysis=None) -> Prepared:
    """Fit and aggregate what does not depend on the scenario; a part that cannot be computed
    from this study's data is left out of the NPV with a note (it counts as zero).

    ``retention_analysis`` (:func:`analysis.retention.analyse`) and ``staffing_analysis``
    (:func:`analysis.staffing.analyse`) may be passed when the sections already computed them."""
    from . import pnl, retention, staffing

    prep = Prepared(study, tables)
    try:
        prep.profile = (staffing_analysis.profile if staffing_analysis is not None else
                        staffing.client_profile(tables.visits, study.get("care_manager.covers", "all"),
                                                int(study["staffing.active_window_months"])))
    except (ValueError, KeyError, InputError) as exc:
        prep.note(f"Staffing saving left out: {exc}", f"Экономия на персонале не учтена: {exc}")
    try:
        prep.retention = retention_analysis if retention_analysis is not None else retention.analyse(study, tables)
        if getattr(prep.retention, "effect", None) is None:
            prep.note("Regular clients kept longer are counted as zero: the visit model could not be fitted on "
                      "these data (see the retention page).",
                      "Удержание постоянных клиентов учтено как ноль: модель визитов не удалось построить на этих "
                      "данных (см. страницу об удержании).")
        if getattr(prep.retention, "departures", None) is None:
            prep.note("Clients kept when a specialist leaves are counted as zero: the data do not show which "
                      "specialist served each visit.",
                      "Клиенты, не ушедшие вслед за мастером, учтены как ноль: в данных не видно, какой мастер "
                      "обслуживал визит.")
    except (ValueError, KeyError, ArithmeticError, InputError) as exc:
        prep.note(f"Retention effects left out: {exc}", f"Эффект удержания не учтён: {exc}")
    try:
        prep.baseline = pnl.baseline(tables, study)
    except (ValueError, KeyError, InputError) as exc:
        prep.note(f"Pay scheme cost could not be simulated: {exc}",
                  f"Стоимость схемы оплаты не рассчитана: {exc}")
    return prep


@dataclass
class Evaluation:
    """The role's economics in every scenario.

    Attributes
    ----------
    result : decision.NPVResult
    monthly : dict of ndarray (n,)
        The per-scenario inputs of the cash flow: staff_saving_month, role_cost_month,
        retention_margin_year, departures_margin_year, setup_cost, ramp_months,
        care_managers_needed, pay_month.
    """

    result: decision.NPVResult
    monthly: dict

    @property
    def npv(self) -> np.ndarray:
        return self.result.npv

    def median_npv(self) -> float:
        return float(np.median(self.result.npv))


def evaluate(prep: Prepared, d: Draws, scheme_name: str | None = None) -> Evaluation:
    """NPV of creating the role in each scenario of ``d``, the role paid by ``scheme_name``
    (default ``care_manager.scheme``)."""
    from . import compensation, retention, staffing

    study, n = prep.study, d.n
    zeros = np.zeros(n)
    staff_saving, managers, cm_cost = zeros, np.ones(n), zeros
    if prep.profile is not None:
        e = staffing.evaluate(prep.profile, staffing.params_from(d), float(study["staffing.target_answer_min"]),
                              study["staffing.current_setup"])
        staff_saving = np.asarray(e.cost_current_month, float) * np.ones(n)
        managers = np.asarray(e.care_managers_needed, float) * np.ones(n)
        cm_cost = np.asarray(e.cost_care_managers_month, float) * np.ones(n)
    ret_year, dep_year = zeros, zeros
    if prep.retention is not None:
        rs = retention.scenarios(study, prep.tables, d, analysis=prep.retention)
        ret_year = np.nan_to_num(np.asarray(rs.incremental_margin_year, float))
        dep_year = np.nan_to_num(np.asarray(rs.margin_at_risk_avoided_year, float))
    if prep.baseline is not None:
        ps = compensation.scenarios(study, prep.tables, d, scheme_name=scheme_name, base=prep.baseline)
        pay_month = np.asarray(ps.pay_month, float)
        role_cost = np.asarray(ps.net_cost_month, float) * managers
    else:  # no P&L: fall back on the staffing salary assumption
        pay_month = np.full(n, np.nan)
        role_cost = cm_cost
    setup = d["summary.setup_cost"] * managers
    ramp_months = d["summary.ramp_months"]
    flows = decision.monthly_flows(staff_saving, role_cost, ret_year, dep_year, setup,
                                   study.horizon_months, ramp_months)
    result = decision.npv(flows, study.discount_rate)
    return Evaluation(result, {
        "staff_saving_month": staff_saving, "role_cost_month": role_cost, "retention_margin_year": ret_year,
        "departures_margin_year": dep_year, "setup_cost": setup, "ramp_months": ramp_months,
        "care_managers_needed": managers, "pay_month": pay_month, "care_managers_cost_month": cm_cost,
    })


def breakeven_uplift(prep: Prepared, d: Draws) -> float:
    """Smallest care-manager effect (relative cut of the dropout probability, 0–1) at which the
    median NPV reaches zero, all other assumptions drawn as usual.  0 when the role pays off even
    with no retention effect; NaN when even a 100% cut does not pay (or retention is left out)."""
    if prep.retention is None:
        return float("nan")

    def f(e):
        return evaluate(prep, d.fixed(EFFECT_KEY, e)).median_npv()

    lo, hi = f(0.0), f(1.0)
    if lo >= 0:
        return 0.0
    if hi < 0:
        return float("nan")
    return float(brentq(f, 0.0, 1.0, xtol=1e-4))


def tornado(prep: Prepared, d: Draws, keys=None) -> pd.DataFrame:
    """One-at-a-time sensitivity of the median NPV: each uncertain assumption fixed at its low and
    at its high value while the others are drawn.  Sorted by swing, largest first."""
    keys = keys if keys is not None else d.uncertain_keys()
    base = evaluate(prep, d).median_npv()
    rows = []
    for key in keys:
        v = prep.study.get(key)
        if not isinstance(v, Uncertain) or v.is_fixed:
            continue
        lo = evaluate(prep, d.fixed(key, v.low)).median_npv()
        hi = evaluate(prep, d.fixed(key, v.high)).median_npv()
        rows.append({"key": key, "low": v.low, "high": v.high, "npv_at_low": lo, "npv_at_high": hi,
                     "swing": abs(hi - lo), "base": base})
    df = pd.DataFrame(rows, columns=["key", "low", "high", "npv_at_low", "npv_at_high", "swing", "base"])
    return df.sort_values("swing", ascending=False, ignore_index=True)


# ----------------------------------------------------------------------------- words


def short_label(study: Study, key: str, lang: str = "en", width: int = 48) -> str:
    """A short name of an assumption for charts: the section's short label, else its description."""
    from . import staffing

    if key in getattr(staffing, "SHORT_LABELS", {}):
        en, ru = staffing.SHORT_LABELS[key]
        return ru if lang == "ru" else en
    table = study.assumptions(None, lang)
    match = table.loc[table["key"] == key, "description"]
    text = match.iloc[0] if len(match) else key
    text = text.split(" (")[0].split(", ")[0]
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def format_value(study: Study, key: str, value: float, lang: str = "en") -> str:
    """An assumption's value in the report's words: percent for shares, money for amounts."""
    from . import i18n
    from .study import _get, _schema_cached

    try:
        typ = _get(_schema_cached(), tuple(key.split(".")))["type"]
    except (KeyError, TypeError):
        typ = "number"
    if typ in ("fraction", "uncertain_fraction"):
        return i18n.percent(value, lang, 0 if round(value * 100, 6).is_integer() else 1)
    if abs(value) >= 1000:
        return i18n.money(value, study.currency, lang)
    return i18n.number(value, lang, 0 if float(value).is_integer() else 2)


def flip_conditions(tor: pd.DataFrame, study: Study, lang: str = "en", limit: int = 3) -> list[str]:
    """Plain sentences: which single assumptions, at the end of their range, change the sign of
    the median NPV (the conditions that would flip the recommendation)."""
    from . import i18n

    out = []
    for row in tor.itertuples(index=False):
        base = row.base
        for value, npv_end in ((row.low, row.npv_at_low), (row.high, row.npv_at_high)):
            if np.sign(npv_end) != np.sign(base) and npv_end != 0:
                label = short_label(study, row.key, lang, width=80)
                mode = study.get(row.key).mode
                v, m = format_value(study, row.key, value, lang), format_value(study, row.key, mode, lang)
                npv_text = i18n.money(npv_end, study.currency, lang)
                if lang == "ru":
                    turn = "отрицательным" if npv_end < 0 else "положительным"
                    out.append(f"«{label}» = {v} вместо {m}: медианный NPV станет {turn} ({npv_text}).")
                else:
                    turn = "negative" if npv_end < 0 else "positive"
                    out.append(f"{label} at {v} instead of {m}: the median NPV turns {turn} ({npv_text}).")
        if len(out) >= limit:
            break
    return out[:limit]
