"""One joint Monte Carlo of the whole study: every section on the same scenarios, added up, and
the verdict that rests on the salon's own facts.

:func:`prepare` does the slow, scenario-free work once (today's setup, client profile, BG/NBD fit,
block P&L baseline, money defaults in the study's currency); :func:`evaluate` then turns a set of
draws into the role's monthly cash flow and NPV (see :mod:`analysis.sections.decision` for the formula).
Because every section reads its assumptions from the same :class:`analysis.models.simulate.Draws`,
scenario ``s`` of the staffing saving, of the retained margin and of the role's pay describe the
same world, and their correlations are kept.

**One role cost.**  The role costs what the pay scheme in force (``care_manager.scheme``) costs
for the care managers needed, payroll tax included, less the commission (with its payroll tax) the
specialists would have earned on the manager's own services; a profit share is split between the
managers (``compensation.profit_share_split``)::

    role_cost = m x care_cost_each + care_cost_shared       (analysis.sections.compensation.role_cost_params)

computed once by :func:`analysis.sections.staffing.evaluate` -- the staffing page, this page, the index and
the retention page's break-even (:func:`retention_cost_year`: role cost less what it replaces, a
year) show the same figure.  What it replaces: today's specialist managers (their pay from
staff.csv, else people x ``staffing.specialist_manager_salary_month``), or with administrators the
share ``staffing.administrator_client_share`` of their pay (they stay at the front desk), or nothing.

**Care managers needed** are the larger of the hours bound and the answer-time bound (Erlang C,
``staffing.target_answer_share`` of requests answered within ``staffing.target_answer_min``;
:func:`analysis.sections.staffing.size_for_answer`), per scenario; every page shows one figure,
:func:`managers_needed` (the median over the scenarios, rounded up to whole people).

**Covers.**  With ``care_manager.covers`` naming some blocks, every part -- staffing, pay, the
retention model and the departures -- is computed on those blocks' visits, specialists and revenue
only (:func:`covered_tables`).

**Verdict** (:func:`verdict`), in this precedence:

1. ``not_enough_data``: the covered blocks' P&L or client profile cannot be computed, or the data
   hold fewer than ``summary.min_complete_months`` complete months;
2. ``confirm_inputs``: today's setup is unknown (neither staff.csv roles nor
   ``staffing.current_setup``), or one of the ``summary.decisive_inputs`` assumptions with the
   largest tornado swing is a kit default, or a sanity check failed (:func:`sanity_checks`);
3. by the chance ``P`` that the role pays off (NPV > 0): ``create`` when ``P >=
   summary.recommend_prob`` and the role still pays off (median NPV >= 0) with the care-manager
   effect at the low end of its range; ``do_not_create`` when ``P < summary.reject_prob``;
   otherwise ``pilot`` (the answer hinges on the retention effect, which only a pilot measures).

When today's setup is unknown the headline figures are those of the role *added* (nothing
replaced: no saving the salon did not state), and :func:`alternatives` gives the answer under each
setup side by side.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from analysis.sections import decision
from analysis.codes import Note
from analysis.errors import InputError
from analysis.models.simulate import Draws
from analysis.inputs.study import Study, Uncertain

__all__ = ["Prepared", "prepare", "Evaluation", "evaluate", "decision_breakeven_effect", "tornado", "STAGES",
           "role_cost", "retention_cost_year", "managers_needed",
           "EFFECT_KEY", "covered_tables", "Check", "sanity_checks", "decisive_defaults", "Verdict",
           "verdict", "alternatives", "VERDICTS", "CHECKS", "role_cost_check", "check_value_text",
           "next_step_text", "short_label", "format_value", "flip_conditions", "PilotAdvice", "pilot_advice",
           "extend_decision", "EXTEND", "effect_range_text", "PARTS_LABELS", "part_labels", "pilot_advice_text"]

EFFECT_KEY = "retention.care_manager_effect"
VERDICTS = decision.VERDICTS
# Sanity checks against the salon's size, in the order they are shown.
CHECKS = ("money_not_in_currency", "management_payroll_vs_revenue", "management_payroll_vs_profit",
          "role_cost_vs_profit", "managers_vs_clients")


def covered_tables(tables, study):
    """``tables`` restricted to the blocks the care manager covers: visits in those blocks, staff
    of those blocks (staff without a block kept).  The tables themselves when every block is
    covered or the visits carry no block."""
    covers = study["care_manager.covers"]
    if covers == "all" or not tables.has("visits", "block"):
        return tables
    wanted = {str(b) for b in covers}
    visits = tables.visits[tables.visits["block"].astype(str).isin(wanted)]
    staff = tables.staff
    if staff is not None and "block" in staff.columns:
        staff = staff[staff["block"].isna() | staff["block"].astype(str).isin(wanted)]
    return dataclasses.replace(tables, visits=visits, staff=staff)


@dataclass
class Prepared:
    """Scenario-free inputs of the joint Monte Carlo, computed once.

    ``study`` is the study with its money defaults in the study's currency
    (:func:`analysis.sections.pnl.localise`); ``tables`` the covered blocks' tables (:func:`covered_tables`);
    ``all_tables`` the salon's; ``today`` the salon's current setup
    (:func:`analysis.sections.staffing.today_setup`); ``retention_profile`` the share of the retention gain
    in each month of the horizon (:func:`analysis.sections.retention.gain_profile` at the effect's most
    likely value; see :mod:`analysis.sections.decision`); ``notes`` :class:`~analysis.codes.Note` of parts left
    out (counted as zero).
    """

    study: Study
    tables: object
    profile: object = None           # staffing.ClientProfile
    retention: object = None         # retention.RetentionAnalysis
    baseline: object = None          # pnl.Baseline
    today: object = None             # staffing.TodaySetup
    all_tables: object = None
    retention_profile: object = None  # (H,) share of the retention gain in each month, or None
    model_curves: object = None       # (K, G) retention gain a year on effect_grid, per bootstrap refit
    effect_grid: object = None
    notes: list = field(default_factory=list)

    def note(self, code: str, **fields) -> None:
        self.notes.append(Note(f"summary.note.{code}", fields, level="warning", topic="summary"))


def prepare(study: Study, tables, retention_analysis=None, staffing_analysis=None) -> Prepared:
    """Fit and aggregate what does not depend on the scenario; a part that cannot be computed
    from this study's data is left out of the NPV with a note (it counts as zero).

    ``retention_analysis`` (:func:`analysis.sections.retention.analyse`) and ``staffing_analysis``
    (:func:`analysis.sections.staffing.analyse`) may be passed when the sections already computed them;
    the retention analysis is only reused when every block is covered (otherwise it is redone on
    the covered blocks' visits)."""
    from analysis.sections import pnl, retention, staffing

    _TABLES_CACHE.clear()
    _TABLES_CACHE[str(getattr(study, "dir", ""))] = tables   # the retention break-even's role cost reads them
    study = pnl.localise(study, tables)
    covered = covered_tables(tables, study)
    prep = Prepared(study, covered, all_tables=tables)
    prep.today = staffing.today_setup(study, tables)
    try:
        prep.profile = (staffing_analysis.profile if staffing_analysis is not None else
                        staffing.client_profile(tables.visits, study["care_manager.covers"],
                                                int(study["staffing.active_window_months"])))
    except (ValueError, KeyError, InputError) as exc:
        prep.note("staffing_left_out", reason=str(exc))
    if covered is not tables:
        retention_analysis = None
    try:
        prep.retention = retention_analysis if retention_analysis is not None else retention.analyse(study, covered)
        if getattr(prep.retention, "effect", None) is None:
            prep.note("retention_zero")
        if getattr(prep.retention, "departures", None) is None:
            prep.note("departures_zero")
    except (ValueError, KeyError, ArithmeticError, InputError) as exc:
        prep.note("retention_left_out", reason=str(exc))
    if prep.retention is not None and getattr(prep.retention, "bgnbd", None) is not None:
        eff = study[EFFECT_KEY]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            cum = retention.gain_profile(prep.retention, study.horizon_months,
                                         eff.mode if isinstance(eff, Uncertain) else float(eff))
        if np.all(np.isfinite(cum)) and cum[-1] > 0:
            prep.retention_profile = np.diff(np.concatenate([[0.0], cum])) / cum[-1]
        from analysis.models.simulate import key_rng

        high = eff.high if isinstance(eff, Uncertain) else float(eff)
        prep.effect_grid = np.unique(np.r_[np.linspace(0.0, min(max(high, 0.0), 1.0), 9), 1.0])
        curves = retention.effect_curves_bootstrap(prep.retention, study.horizon_months,
                                                   int(study["simulation.model_refits"]),
                                                   key_rng(int(study["simulation.seed"]), "rng:model_refits"),
                                                   prep.effect_grid)
        prep.model_curves = curves if len(curves) else None
    try:
        prep.baseline = pnl.baseline(tables, study)
    except (ValueError, KeyError, InputError) as exc:
        prep.note("pay_left_out", reason=str(exc))
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
        care_managers_needed, pay_month (one manager's pay, profit share split as in force).
    setup : str or None
        Today's setup the evaluation assumed.
    """

    result: decision.NPVResult
    monthly: dict
    setup: str | None = None

    @property
    def npv(self) -> np.ndarray:
        return self.result.npv

    def median_npv(self) -> float:
        return float(np.median(self.result.npv))

    def role_cost_quantiles(self) -> tuple[float, float, float]:
        return tuple(float(x) for x in np.nanquantile(self.monthly["role_cost_month"], [0.1, 0.5, 0.9]))


_UNSET = object()


class _Tracked:
    """Draws that note which assumptions a part of the model reads (for the tornado's cache)."""

    def __init__(self, d: Draws, log: set):
        self._d, self._log = d, log

    def __getitem__(self, key):
        self._log.add(key)
        return self._d[key]

    def on(self, study):
        return self if study is self._d.study else _Tracked(self._d.on(study), self._log)

    def fixed(self, key, value):
        return _Tracked(self._d.fixed(key, value), self._log)

    def __getattr__(self, name):
        return getattr(self._d, name)


#: The model's parts in the order they are computed; each reads its assumptions from the draws and
#: the parts before it (``staffing`` reads the pay scheme's cost, ``npv_*`` the parts they discount).
STAGES = ("pay", "staffing", "retention", "decision")


def _stage_pay(prep, d, scheme_name):
    from analysis.sections import compensation

    if prep.baseline is None:
        return None
    return compensation.scenarios(prep.study, prep.all_tables, d, scheme_name=scheme_name, base=prep.baseline)


def _stage_staffing(prep, d, ps, setup, payroll):
    """(staff_saving, care_managers_needed, role_cost) per scenario: the one role cost."""
    from analysis.sections import compensation, staffing

    study, n = prep.study, d.n
    role = (compensation.role_cost_params(ps, study["compensation.profit_share_split"])
            if ps is not None else {})
    if prep.profile is not None:
        e = staffing.evaluate(prep.profile, {**staffing.params_from(d), **role},
                              float(study["staffing.target_answer_min"]), setup, queues=False,
                              payroll_today_month=payroll, answer_share=float(study["staffing.target_answer_share"]),
                              admin_people=getattr(prep.today, "people", 0) or None)
        ones = np.ones(n)
        return (np.asarray(e.cost_current_month, float) * ones, np.asarray(e.care_managers_needed, float) * ones,
                np.asarray(e.cost_care_managers_month, float) * ones)
    if role:
        return np.zeros(n), np.ones(n), role["care_cost_each"] + role["care_cost_shared"]
    return np.zeros(n), np.ones(n), d["staffing.care_manager_salary_month"] * (1.0 + d["staffing.payroll_tax_rate"])


def _stage_retention(prep, d, model_uncertainty):
    """(retention_margin_year, departures_margin_year) per scenario."""
    from analysis.sections import retention

    n = d.n
    if prep.retention is None:
        return np.zeros(n), np.zeros(n)
    rs = retention.scenarios(prep.study, prep.tables, d, analysis=prep.retention)
    ret_year = np.nan_to_num(np.asarray(rs.incremental_margin_year, float))
    dep_year = np.nan_to_num(np.asarray(rs.margin_at_risk_avoided_year, float))
    if model_uncertainty and prep.model_curves is not None:
        curves = prep.model_curves
        k = d.rng("model_refit").integers(0, len(curves), n)
        grid = prep.effect_grid
        eff = np.clip(d[EFFECT_KEY], 0.0, 1.0)
        lo = (np.searchsorted(grid, eff, side="right") - 1).clip(0, len(grid) - 2)
        frac = (eff - grid[lo]) / (grid[lo + 1] - grid[lo])
        ret_year = curves[k, lo] * (1 - frac) + curves[k, lo + 1] * frac
    return ret_year, dep_year


def _stages(prep: Prepared, d: Draws, scheme_name=None, setup=_UNSET, model_uncertainty=True,
            reuse: dict | None = None, changed: str | None = None, logs: dict | None = None) -> dict:
    """The model's parts (:data:`STAGES`) on the draws ``d``.

    With ``reuse`` (the parts of an earlier call on the same scenarios) and ``changed`` (the one
    assumption that differs), a part is recomputed only when it read ``changed`` (``logs``, filled by
    the earlier call) or a part it reads was recomputed; the others are taken from ``reuse``."""
    study = prep.study
    today = prep.today
    setup = today.setup if setup is _UNSET else setup
    payroll = today.payroll_month if (today is not None and setup == today.setup) else None
    logs = logs if logs is not None else {}
    out, redone = {}, set()

    def need(stage, *upstream):
        return (reuse is None or stage not in reuse or changed in logs.get(stage, ())
                or any(u in redone for u in upstream))

    def tracked(stage):
        log = logs.setdefault(stage, set()) if reuse is None else set()
        return _Tracked(d, log) if reuse is None else d

    if need("pay"):
        out["pay"] = _stage_pay(prep, tracked("pay"), scheme_name)
        redone.add("pay")
    else:
        out["pay"] = reuse["pay"]
    if need("staffing", "pay"):
        out["staffing"] = _stage_staffing(prep, tracked("staffing"), out["pay"], setup, payroll)
        redone.add("staffing")
    else:
        out["staffing"] = reuse["staffing"]
    if need("retention"):
        out["retention"] = _stage_retention(prep, tracked("retention"), model_uncertainty)
        redone.add("retention")
    else:
        out["retention"] = reuse["retention"]
    if need("decision"):
        t = tracked("decision")
        out["decision"] = (t["summary.setup_cost"], t["summary.ramp_months"])
        redone.add("decision")
    else:
        out["decision"] = reuse["decision"]
    out["redone"] = redone
    out["setup"] = setup
    return out


def _monthly(st: dict) -> dict:
    ps = st["pay"]
    staff_saving, managers, role_cost = st["staffing"]
    ret_year, dep_year = st["retention"]
    setup_cost, ramp_months = st["decision"]
    if ps is not None:
        pay_month = np.asarray(ps.pay_month, float)
        if ps.profit_share_month is not None and st.get("split", "split") == "split":
            share = np.asarray(ps.profit_share_month, float)
            pay_month = pay_month - share + share / np.maximum(managers, 1.0)
    else:
        pay_month = np.full(len(staff_saving), np.nan)
    return {"staff_saving_month": staff_saving, "role_cost_month": role_cost, "retention_margin_year": ret_year,
            "departures_margin_year": dep_year, "setup_cost": setup_cost * managers, "ramp_months": ramp_months,
            "care_managers_needed": managers, "pay_month": pay_month}


def evaluate(prep: Prepared, d: Draws, scheme_name: str | None = None, setup=_UNSET,
             model_uncertainty: bool = True) -> Evaluation:
    """NPV of creating the role in each scenario of ``d``, the role paid by ``scheme_name``
    (default ``care_manager.scheme``), today's setup ``setup`` (default the salon's own,
    ``prep.today``; unknown is costed as nothing replaced).

    With ``model_uncertainty`` and bootstrap refits of the visit model (``prep.model_curves``,
    ``simulation.model_refits``), scenario ``s`` reads its retention gain from refit ``k[s]``
    (drawn uniformly, reproducibly from the seed) instead of the fitted model: the ranges then
    carry the data's uncertainty as well as the assumptions'."""
    study = prep.study
    d = d.on(study)
    st = _stages(prep, d, scheme_name, setup, model_uncertainty)
    st["split"] = study["compensation.profit_share_split"]
    m = _monthly(st)
    flows = decision.monthly_flows(m["staff_saving_month"], m["role_cost_month"], m["retention_margin_year"],
                                   m["departures_margin_year"], m["setup_cost"], study.horizon_months,
                                   m["ramp_months"], prep.retention_profile)
    return Evaluation(decision.npv(flows, study.discount_rate), m, st["setup"])


def role_cost(study: Study, tables, d: Draws | None = None, prep: Prepared | None = None) -> dict:
    """The one role cost, as the summary counts it, per scenario of ``d`` (default the study's
    draws): ``role_cost_month`` (the pay scheme in force x the care managers needed, payroll tax
    included, less the commission saved on the manager's own services), ``staff_saving_month``
    (what the role replaces in today's setup), ``care_managers_needed`` and ``net_cost_month`` =
    role cost - staff saving (what the role's other gains must earn).  The staffing page, the
    summary, the retention page's break-even and the index all read this figure."""
    from analysis.sections import pnl
    from analysis.models import simulate

    if prep is None:
        prep = _ROLE_PREP.get(id(study))
        prep = prep[1] if prep is not None and prep[0] is study and prep[2] is tables else None
    if prep is None:
        key_study = study
        study = pnl.localise(study, tables)
        prep = Prepared(study, covered_tables(tables, study), all_tables=tables)
        from analysis.sections import staffing

        prep.today = staffing.today_setup(study, tables)
        try:
            prep.profile = staffing.client_profile(tables.visits, study["care_manager.covers"],
                                                   int(study["staffing.active_window_months"]))
        except (ValueError, KeyError, InputError):
            prep.profile = None
        try:
            prep.baseline = pnl.baseline(tables, study)
        except (ValueError, KeyError, InputError):
            prep.baseline = None
        _ROLE_PREP.clear()
        _ROLE_PREP[id(key_study)] = (key_study, prep, tables)
    study = prep.study
    d = (d if d is not None else simulate.draws(study)).on(study)
    today = prep.today
    payroll = today.payroll_month if today is not None else None
    ps = _stage_pay(prep, d, None)
    saving, managers, cost = _stage_staffing(prep, d, ps, today.setup if today is not None else None, payroll)
    return {"role_cost_month": cost, "staff_saving_month": saving, "care_managers_needed": managers,
            "net_cost_month": cost - saving}


_TABLES_CACHE: dict = {}
_ROLE_PREP: dict = {}   # id(study) -> (study, Prepared, tables): the scenario-free part of role_cost


def retention_cost_year(study: Study, draws: Draws | None = None, tables=None):
    """What the retention gain must earn a year to pay for the role (the retention page's
    break-even): ``12 x (role cost - staff saving)`` of :func:`role_cost`, the median over the
    study's scenarios without ``draws`` (one number), per scenario with them.  Negative when the
    role's saving alone pays for it (no retention gain is needed).

    ``tables`` default: the tables :func:`prepare` was last given for this study folder, else the
    study's exports read once.  When neither can be read (a study built in memory), the role is
    priced as one care manager's salary with payroll tax (``staffing.care_manager_salary_month``,
    its mean), nothing replaced."""
    from analysis.inputs import data

    if tables is None:
        key = str(getattr(study, "dir", ""))
        if key not in _TABLES_CACHE:
            try:
                loaded = data.load_tables(study)
            except (InputError, OSError, ValueError, KeyError, AttributeError, TypeError):
                loaded = None
            _TABLES_CACHE.clear()
            _TABLES_CACHE[key] = loaded
        tables = _TABLES_CACHE[key]
    if tables is None or getattr(tables, "visits", None) is None:
        from analysis.sections.retention import PAYROLL_TAX_FALLBACK, ROLE_SALARY_FALLBACK

        sal_key, tax_key = "staffing.care_manager_salary_month", "staffing.payroll_tax_rate"
        sal, tax = study.get(sal_key), study.get(tax_key)
        if draws is not None:
            s = draws[sal_key] if sal is not None else np.full(draws.n, ROLE_SALARY_FALLBACK)
            tx = draws[tax_key] if tax is not None else np.full(draws.n, PAYROLL_TAX_FALLBACK)
            return 12.0 * np.asarray(s, float) * (1.0 + np.asarray(tx, float))
        s = ROLE_SALARY_FALLBACK if sal is None else float(getattr(sal, "mean", sal))
        tx = PAYROLL_TAX_FALLBACK if tax is None else float(getattr(tax, "mean", tax))
        return 12.0 * s * (1.0 + tx)
    if isinstance(draws, _Tracked):   # the retention part's cost field is not part of the NPV: not a dependency
        draws = draws._d
    rc = role_cost(study, tables, draws)
    year = 12.0 * np.asarray(rc["net_cost_month"], float)
    return year if draws is not None else float(np.median(year))


def managers_needed(care_managers_needed) -> float:
    """The care managers needed, one figure for every page: the median over the scenarios of the
    joint Monte Carlo, rounded up to whole people (a tie between two counts takes the larger)."""
    a = np.asarray(care_managers_needed, float)
    a = a[np.isfinite(a)]
    return float(np.ceil(np.median(a))) if a.size else float("nan")


def decision_breakeven_effect(prep: Prepared, d: Draws) -> float:
    """Smallest care-manager effect (relative cut of the dropout probability, 0–1) at which the
    median NPV of the *whole decision* (every part, every care manager needed) reaches zero, all
    other assumptions drawn as usual.  0 when the role pays off even with no retention effect;
    NaN when even a 100% cut does not pay (or retention is left out).

    Not the retention page's break-even (``retention.breakeven_uplift``): that one asks what
    retention alone must earn to pay the role."""
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


def _first(d: Draws, n: int) -> Draws:
    """The first ``n`` scenarios of ``d`` (the draws of a key are a prefix of a longer run's)."""
    fixed = {k: (np.asarray(v)[:n] if np.ndim(v) else v) for k, v in (d._fixed or {}).items()}
    return Draws(d.study, int(n), d.seed, fixed or None)


def _tornado_at(prep: Prepared, d: Draws, keys) -> pd.DataFrame:
    study = prep.study
    logs: dict = {}
    base_st = _stages(prep, d, logs=logs)
    split = study["compensation.profit_share_split"]
    H, rate, prof = study.horizon_months, study.discount_rate, prep.retention_profile

    def parts(st, reuse_parts=None):
        base_st["split"] = st["split"] = split
        m = _monthly(st)
        redone = st["redone"] if reuse_parts is not None else set(STAGES)
        want = set()
        if redone & {"pay", "staffing"}:
            want |= {"staff_saving", "role_cost", "setup"}
        if "retention" in redone:
            want |= {"retention", "departures"}
        if "decision" in redone:
            want |= set(decision.PARTS)
        got = decision.part_npvs(m["staff_saving_month"], m["role_cost_month"], m["retention_margin_year"],
                                 m["departures_margin_year"], m["setup_cost"], H, m["ramp_months"], rate, prof,
                                 only=want)
        return {**(reuse_parts or {}), **got}

    base_parts = parts(base_st)
    base = float(np.median(sum(base_parts.values())))
    rows = []
    for key in keys:
        v = study.get(key)
        if not isinstance(v, Uncertain) or v.is_fixed:
            continue
        ends = []
        for x in (v.low, v.high):
            st = _stages(prep, d.fixed(key, x), reuse=base_st, changed=key, logs=logs)
            ends.append(float(np.median(sum(parts(st, base_parts).values()))) if st["redone"] else base)
        lo, hi = ends
        if hi == lo:
            continue
        rows.append({"key": key, "low": v.low, "high": v.high, "npv_at_low": lo, "npv_at_high": hi,
                     "swing": abs(hi - lo), "base": base})
    df = pd.DataFrame(rows, columns=["key", "low", "high", "npv_at_low", "npv_at_high", "swing", "base"])
    return df.sort_values("swing", ascending=False, ignore_index=True)


def tornado(prep: Prepared, d: Draws, keys=None) -> pd.DataFrame:
    """One-at-a-time sensitivity of the median NPV: each uncertain assumption fixed at its low and
    at its high value while the others are drawn.  Sorted by swing, largest first; an assumption
    that moves nothing (swing 0) is left out.

    **Common random numbers**: every bar reads the same scenarios (a key's draws depend only on the
    seed and its name), so a swing measures the assumption, not the noise between two runs.
    **Only what an assumption touches is recomputed**: the base run notes which assumptions each
    part of the model reads (:data:`STAGES`: the pay scheme, staffing and queueing, retention and
    departures, the ramp and set-up cost); fixing one re-evaluates only the parts that read it
    (and those downstream), the rest -- e.g. the staffing model and its queues when a retention
    assumption moves -- is reused, and each part's NPV is discounted on its own
    (:func:`analysis.sections.decision.part_npvs`).
    **As many draws as the ordering needs**: the tornado starts with ``summary.tornado_min_draws``
    scenarios and doubles them (never beyond ``d.n``) until the ``summary.decisive_inputs`` largest
    bars come out in the same order, with the same keys, at two successive sizes; the larger run is
    returned.  Its number of scenarios is ``df.attrs["n_draws"]``."""
    d = d.on(prep.study)
    fixed = set(getattr(d, "_fixed", None) or {})
    # a key the draws already fix (the pilot's measured effect) is not an assumption to move
    keys = keys if keys is not None else [key for key in d.uncertain_keys() if key not in fixed]
    k = max(int(prep.study["summary.decisive_inputs"]), 1)
    n = min(int(prep.study["summary.tornado_min_draws"]), d.n)
    prev = None
    while True:
        tor = _tornado_at(prep, _first(d, n), keys)
        order = list(tor["key"].head(k))
        if n >= d.n or order == prev:
            break
        prev, n = order, min(2 * n, d.n)
    tor.attrs["n_draws"] = n
    return tor


# ----------------------------------------------------------------------------- checks and verdict


@dataclass(frozen=True)
class Check:
    """One sanity check against the salon's size.

    ``code`` is one of :data:`CHECKS`; ``value`` and ``limit`` are what was compared (money a
    month, or clients per manager); ``passed`` False blocks a "create" verdict.
    """

    code: str
    passed: bool
    value: float = float("nan")
    limit: float = float("nan")


def sanity_checks(prep: Prepared, ev: Evaluation) -> list[Check]:
    """The study against the salon's size (limits under ``summary.checks``):

    * ``money_not_in_currency``: the study's currency is not the kit defaults' and the salon's own
      pay level cannot be measured, so the money defaults cannot be converted (they must be stated);
    * ``management_payroll_vs_revenue`` / ``_vs_profit``: the *assumed* pay of today's specialist
      managers (setup stated, pay not in staff.csv), median with payroll tax, at most
      ``management_payroll_max_revenue_share`` of the covered blocks' monthly revenue and
      ``management_payroll_max_profit_share`` of their profit before managers;
    * ``role_cost_vs_profit``: the role cost (median) at most ``role_cost_max_profit_share`` of the
      covered blocks' monthly profit before the role (the pay page shows the same check);
    * ``managers_vs_clients``: active clients per care manager needed at least
      ``min_active_clients_per_manager``.

    A check whose inputs are missing (no P&L, no profile) is not listed.
    """
    study, out = prep.study, []
    lim = lambda k: float(study[f"summary.checks.{k}"])  # noqa: E731
    if getattr(study, "money_scale_source", None) == "unknown":
        out.append(Check("money_not_in_currency", False))
    m = ev.monthly
    base = prep.baseline
    today = prep.today
    if base is not None and ev.setup == "specialist_managers" and not (
            today is not None and today.setup == ev.setup and today.payroll_month is not None):
        payroll = float(np.median(m["staff_saving_month"]))
        rev, prof = float(base.revenue_month), float(base.profit_month)
        limit = lim("management_payroll_max_revenue_share") * rev
        out.append(Check("management_payroll_vs_revenue", payroll <= limit, payroll, limit))
        limit = lim("management_payroll_max_profit_share") * max(prof, 0.0)
        out.append(Check("management_payroll_vs_profit", payroll <= limit, payroll, limit))
    if base is not None:
        out.append(role_cost_check(float(np.median(m["role_cost_month"])), float(base.profit_month), study))
    if prep.profile is not None:
        per = float(prep.profile.clients_month) / max(float(np.median(m["care_managers_needed"])), 1.0)
        limit = lim("min_active_clients_per_manager")
        out.append(Check("managers_vs_clients", per >= limit, per, limit))
    return out


def role_cost_check(role_cost_month: float, block_profit_month: float, study: Study) -> Check:
    """``role_cost_vs_profit``: the role's monthly cost against the covered blocks' monthly profit
    before it (the pay page and the summary use this one rule)."""
    limit = float(study["summary.checks.role_cost_max_profit_share"]) * max(float(block_profit_month), 0.0)
    return Check("role_cost_vs_profit", bool(role_cost_month <= limit), float(role_cost_month), limit)


def decisive_defaults(prep: Prepared, tor: pd.DataFrame) -> list[str]:
    """Keys among the ``summary.decisive_inputs`` largest tornado swings that the study did not
    state (kit defaults) **and** that can change the answer: set to the low or the high end of its
    range, the median NPV changes sign (``npv_at_low`` / ``npv_at_high`` against ``base``).  When no
    single assumption changes the sign, no default is decisive: a default that cannot flip the
    answer is not worth stopping the owner for."""
    k = int(prep.study["summary.decisive_inputs"])
    if not len(tor):
        return []
    top = tor.head(k)
    out = []
    for r in top.itertuples():
        if r.key in prep.study.given:
            continue
        base = float(r.base)
        if any(np.sign(float(x)) != np.sign(base) for x in (r.npv_at_low, r.npv_at_high)):
            out.append(r.key)
    return out


@dataclass
class Verdict:
    """The decision and what it rests on.

    Attributes
    ----------
    level : str
        One of :data:`analysis.sections.decision.VERDICTS`.
    reasons : list of str
        Codes of why (``setup_unknown``, ``decisive_default``, ``check_failed``, ``short_data``,
        ``hinges_on_retention`` …).
    checks : list of Check
    decisive_defaults : list of str
    next_steps : list of Note
        The two or three things the owner should check next (catalogue keys ``verdict.next.*``).
    """

    level: str
    reasons: list
    checks: list
    decisive_defaults: list
    next_steps: list

    @property
    def checks_failed(self) -> list[str]:
        return [c.code for c in self.checks if not c.passed]


def _enough_months(prep: Prepared) -> bool:
    base = prep.baseline
    return (base is not None and prep.profile is not None
            and int(base.n_months) >= int(prep.study["summary.min_complete_months"]))


def _enough_data(prep: Prepared) -> bool:
    """Enough complete months, a P&L and client profile, **and** a fitted visit model: without it
    the retention gain is counted as zero and the NPV would be a guess, not an answer."""
    return _enough_months(prep) and _model_fitted(prep)


def _model_fitted(prep: Prepared) -> bool:
    """The visit model gave the retention gain's curve (``retention.effect``); without it the gain
    is counted as zero (note ``summary.note.retention_zero``)."""
    return prep.retention is not None and getattr(prep.retention, "effect", None) is not None


def verdict(prep: Prepared, ev: Evaluation, tor: pd.DataFrame, d: Draws) -> Verdict:
    """The verdict level by the rules of the module docstring, with the checks and next steps."""
    study = prep.study
    checks = sanity_checks(prep, ev)
    failed = [c for c in checks if not c.passed]
    defaults = decisive_defaults(prep, tor)
    setup_known = prep.today is not None and prep.today.known
    prob = ev.result.prob_positive
    eff = study[EFFECT_KEY]
    measured = (getattr(d, "_fixed", None) or {}).get(EFFECT_KEY)
    if measured is not None and np.ndim(measured) and prep.retention is not None:
        # the pilot's measured effect stands in: its own low end (P10) is the test
        low_effect = evaluate(prep, d.fixed(EFFECT_KEY, float(np.quantile(measured, 0.1)))).median_npv()
    elif isinstance(eff, Uncertain) and prep.retention is not None and measured is None:
        low_effect = evaluate(prep, d.fixed(EFFECT_KEY, eff.low)).median_npv()
    else:
        low_effect = ev.median_npv()
    reasons = []
    if not _enough_months(prep):
        reasons.append("short_data")
    elif not _model_fitted(prep):
        reasons.append("model_not_fitted")
    if not setup_known:
        reasons.append("setup_unknown")
    if failed:
        reasons.append("check_failed")
    if defaults:
        reasons.append("decisive_default")
    hinges = low_effect < 0 <= ev.median_npv()
    if hinges:
        reasons.append("hinges_on_retention")
    level = decision.verdict_level(enough_data=_enough_data(prep), setup_known=setup_known,
                                   decisive_defaults=bool(defaults), checks_failed=bool(failed),
                                   prob_positive=prob, hinges_on_retention=hinges,
                                   recommend_prob=float(study["summary.recommend_prob"]),
                                   reject_prob=float(study["summary.reject_prob"]))
    steps: list[Note] = []
    if "short_data" in reasons:
        months = int(prep.baseline.n_months) if prep.baseline is not None else 0
        steps.append(Note("verdict.next.more_data", {"months": months,
                                                     "min_months": int(study["summary.min_complete_months"])}))
    if "model_not_fitted" in reasons:
        steps.append(Note("verdict.next.model_not_fitted", {}))
    if not setup_known:
        steps.append(Note("verdict.next.state_setup", {}))
    shares = {"management_payroll_vs_revenue": "management_payroll_max_revenue_share",
              "management_payroll_vs_profit": "management_payroll_max_profit_share",
              "role_cost_vs_profit": "role_cost_max_profit_share"}
    for c in failed:
        fields = {"value": c.value, "limit": c.limit}
        if c.code in shares:
            fields["share"] = float(study[f"summary.checks.{shares[c.code]}"])
        steps.append(Note(f"verdict.next.check.{c.code}", fields))
    for key in defaults:
        steps.append(Note("verdict.next.confirm_default", {"key": key}))
    if level == "pilot" or hinges:
        steps.append(Note("verdict.next.pilot", {}))
    return Verdict(level, reasons, checks, defaults, steps[:3])


def alternatives(prep: Prepared, d: Draws, setups=("specialist_managers", "administrators", "none")) -> pd.DataFrame:
    """The answer under each possible setup of today, side by side: ``setup``, ``npv_p10``,
    ``npv_median``, ``npv_p90``, ``prob_positive``, ``staff_saving_month``, ``role_cost_month``
    ``by_chance`` (the verdict from the chance alone) and ``checks_failed`` (the sanity checks that
    setup fails: an assumed payroll of specialist managers too large for the salon shows here).
    ``administrators``: they stay at the front desk and the care manager replaces the share
    ``staffing.administrator_client_share`` of their pay (:func:`analysis.sections.staffing.evaluate`)."""
    rows = []
    for setup in setups:
        ev = evaluate(prep, d, setup=setup)
        p10, p50, p90 = ev.result.quantiles()
        prob = ev.result.prob_positive
        rows.append({"setup": setup, "npv_p10": p10, "npv_median": p50, "npv_p90": p90, "prob_positive": prob,
                     "staff_saving_month": float(np.median(ev.monthly["staff_saving_month"])),
                     "role_cost_month": float(np.median(ev.monthly["role_cost_month"])),
                     "by_chance": decision.verdict(prob, float(prep.study["summary.recommend_prob"]),
                                                   float(prep.study["summary.reject_prob"])),
                     "checks_failed": [c.code for c in sanity_checks(prep, ev) if not c.passed]})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- the pilot in the verdict

#: Answers to "extend the role to the other blocks?" after a measured pilot.
EXTEND = ("extend", "do_not_extend", "keep_measuring")


@dataclass
class PilotAdvice:
    """What the summary says about a pilot (issue 12).

    Attributes
    ----------
    kind : str
        ``plan`` (which blocks, how long, what it detects), ``plan_not_within`` (the assumed effect
        is not shown within the design's months), ``plan_everyone`` (every block, before/after only),
        ``plan_unavailable`` (no design could be computed), ``running`` (a pilot runs, too early to
        measure) or ``extend`` (a pilot was measured: :attr:`extend` answers).
    blocks, others : list of str
        The pilot's blocks and the other blocks (raw names; pages show them through
        :func:`analysis.pages.labels.block_label`); ``blocks`` None means every block.
    detectable : float or None
        Smallest effect a 6-month pilot of the design shows with 80 % power (``figures.pilot.detectable_effect``).
    months : int or None
        Months to show the assumed most likely effect (``months_needed``; for ``plan_not_within``
        the longest pilot simulated; for ``running`` the months still needed).
    extend : str or None
        One of :data:`EXTEND` for a measured pilot (:func:`extend_decision`).
    effect : tuple or None
        The measured effect (P10, median, P90).
    since : date or None
    used : bool
        For ``extend``: the summary's scenarios use the measured effect (the pilot page concluded
        a gain, a loss or no change, :func:`analysis.sections.pilot.decision_note`).  When False the
        chances on the page are the assumed effect's, so none is quoted "with the measured effect".
    """

    kind: str
    blocks: list | None = None
    others: list = field(default_factory=list)
    detectable: float | None = None
    months: int | None = None
    extend: str | None = None
    effect: tuple | None = None
    since: object = None
    used: bool = True


def extend_decision(effect_p10: float, prob_positive: float, recommend_prob: float, reject_prob: float,
                    agreed: bool = True) -> str:
    """Whether to extend the role to the other blocks after a measured pilot: ``extend`` when the
    pilot page concludes a gain (``agreed``: the structural estimate and the model-free
    difference-in-differences both show it, :func:`analysis.sections.pilot.conclusion`), the whole measured
    range of the effect is above zero (P10 > 0) and the role pays off in at least ``recommend_prob``
    of the scenarios with the measured effect; ``do_not_extend`` when it pays off in fewer than
    ``reject_prob``; otherwise ``keep_measuring``."""
    if prob_positive < reject_prob:
        return "do_not_extend"
    if agreed and effect_p10 > 0 and prob_positive >= recommend_prob:
        return "extend"
    return "keep_measuring"


def _blocks_of(tables) -> list:
    v = getattr(tables, "visits", None)
    if v is None or "block" not in v.columns:
        return []
    return sorted({str(b) for b in v["block"].dropna().unique()})


def pilot_advice(study: Study, level: str, reasons, pilot_figures: dict, analysis=None, tables=None,
                 prob_positive: float = float("nan"), measured_used: bool = True) -> PilotAdvice | None:
    """The pilot part of the verdict, from ``figures.pilot`` (``design``, ``detectable_effect``,
    ``months_needed``) and the pilot page's :class:`analysis.sections.pilot.PilotAnalysis` (``analysis``:
    the designs' blocks, a running or measured pilot).

    * a measured pilot: whether to extend the role to the other blocks (:func:`extend_decision`,
      ``prob_positive`` computed with the measured effect);
    * a pilot running but too recent to measure: the months it still needs;
    * otherwise, when the verdict is ``pilot`` (or the answer hinges on the retention effect): which
      blocks to pilot, for how long, and what it can detect.

    None when none applies."""
    from analysis.sections.pilot.power import MAX_MONTHS

    all_blocks = _blocks_of(tables)
    pa = analysis
    if pa is not None and getattr(pa, "since", None) is not None:
        blocks = list(pa.blocks) if pa.blocks else None
        others = [b for b in all_blocks if blocks is not None and b not in blocks]
        if pa.measured:
            p10, p50, p90 = pa.effect_quantiles()
            if not measured_used:   # the page does not conclude: no chance "with the measured effect"
                return PilotAdvice("extend", blocks, others, extend="keep_measuring", effect=(p10, p50, p90),
                                   since=pa.since, used=False)
            return PilotAdvice("extend", blocks, others, extend=extend_decision(
                p10, prob_positive, float(study["summary.recommend_prob"]), float(study["summary.reject_prob"]),
                agreed=getattr(pa, "conclusion", None) == "gain"),
                effect=(p10, p50, p90), since=pa.since)
        return PilotAdvice("running", blocks, others, months=pa.more_months, since=pa.since)
    if not (level == "pilot" or "hinges_on_retention" in (reasons or ())):
        return None
    fig = pilot_figures or {}
    design = fig.get("design")
    table = getattr(getattr(pa, "design", None), "table", None)
    if design is None:
        return PilotAdvice("plan_unavailable")
    blocks = None
    if table is not None and design in set(table["option"]):
        b = table.set_index("option").loc[design, "blocks"]
        blocks = list(b) if b is not None and not (isinstance(b, float) and np.isnan(b)) else None
    others = [x for x in all_blocks if blocks is not None and x not in blocks]
    if fig.get("detectable_effect") is None:
        # the design exists, but no pilot within the longest one simulated shows the assumed effect
        return PilotAdvice("plan_out_of_reach", blocks, others, None, MAX_MONTHS)
    detectable, months = float(fig["detectable_effect"]), fig.get("months_needed")
    if blocks is None or design == "everyone":
        return PilotAdvice("plan_everyone", None, [], detectable, months)
    if months is None:
        return PilotAdvice("plan_not_within", blocks, others, detectable, MAX_MONTHS)
    return PilotAdvice("plan", blocks, others, detectable, int(months))


# ----------------------------------------------------------------------------- words

#: The NPV's parts (:data:`analysis.sections.decision.PARTS`) as catalogue keys of their chart labels.
PARTS_LABELS = {p: f"summary.part.{p}" for p in decision.PARTS}


def part_labels(setup: str | None) -> dict[str, str]:
    """Catalogue keys of the NPV parts' labels for today's ``setup``: with ``administrators`` the
    staff part is the administrators' work taken over, not specialist managers no longer needed."""
    labels = dict(PARTS_LABELS)
    if setup == "administrators":
        labels["staff_saving"] = "summary.part.admin_saving"
    return labels


def effect_range_text(value, lang: str = "en", fmt=None) -> str:
    """An assumption's range in words, "most likely (from low to high)" (catalogue
    ``summary.assumed``), never a raw "low – mode – high"; a fixed value as itself."""
    from analysis.pages import i18n
    from analysis.pages import words

    fmt = fmt or (lambda x: i18n.percent(x, lang))
    if isinstance(value, Uncertain) and not value.is_fixed:
        return words.say("summary.assumed", lang, mode=fmt(value.mode), low=fmt(value.low), high=fmt(value.high))
    return fmt(value.mode if isinstance(value, Uncertain) else float(value))



def short_label(study: Study, key: str, lang: str = "en", width: int = 48) -> str:
    """A short name of an assumption for charts: the section's short label, else its description."""
    from analysis.sections import staffing
    from analysis.pages.words import say

    if key in staffing.SHORT_LABEL_KEYS:
        return say(staffing.SHORT_LABEL_KEYS[key], lang)
    table = study.assumptions(None, lang)
    match = table.loc[table["key"] == key, "description"]
    text = match.iloc[0] if len(match) else key
    text = text.split(" (")[0].split(", ")[0]
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def format_value(study: Study, key: str, value: float, lang: str = "en") -> str:
    """An assumption's value in the report's words: percent for shares, money for amounts."""
    from analysis.pages import i18n
    from analysis.inputs.study import _get, _schema_cached

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
    from analysis.pages import i18n
    from analysis.pages import words

    out = []
    for row in tor.itertuples(index=False):
        base = row.base
        for value, npv_end in ((row.low, row.npv_at_low), (row.high, row.npv_at_high)):
            if np.sign(npv_end) != np.sign(base) and npv_end != 0:
                label = short_label(study, row.key, lang, width=80)
                mode = study.get(row.key).mode
                v, m = format_value(study, row.key, value, lang), format_value(study, row.key, mode, lang)
                npv_text = i18n.money(npv_end, study.currency, lang)
                key = "summary.flip.negative" if npv_end < 0 else "summary.flip.positive"
                out.append(words.say(key, lang, label=label, value=v, mode=m, npv=npv_text))
        if len(out) >= limit:
            break
    return out[:limit]


def check_value_text(check: Check, study: Study, lang: str = "en") -> tuple[str, str]:
    """(value, limit) of a check in the report's words: clients per manager as numbers, the rest
    as money; the limit says whether it is a minimum ("at least 100") or a maximum ("at most
    991,380 ₽"); empty when the check compares nothing."""
    from analysis.pages import i18n, words

    if not np.isfinite(check.value):
        return "", ""
    if check.code == "managers_vs_clients":   # a minimum: at least so many clients per care manager
        return i18n.number(check.value, lang), words.say("verdict.check.limit.at_least", lang,
                                                         limit=i18n.number(check.limit, lang))
    return (i18n.money(check.value, study.currency, lang),
            words.say("verdict.check.limit.at_most", lang, limit=i18n.money(check.limit, study.currency, lang)))


def next_step_text(note: Note, study: Study, lang: str = "en") -> str:
    """A next step (:attr:`Verdict.next_steps`) in the report's words."""
    from analysis.pages import i18n
    from analysis.pages import words

    f = dict(note.fields)
    if note.code == "verdict.next.confirm_default":
        key = f["key"]
        v = study.get(key)
        mode = v.mode if isinstance(v, Uncertain) else v
        return words.say(note.code, lang, setting=key, label=short_label(study, key, lang, width=80),
                         value=format_value(study, key, float(mode), lang))
    if note.code == "verdict.next.check.managers_vs_clients":
        return words.say(note.code, lang, value=i18n.number(f["value"], lang), limit=i18n.number(f["limit"], lang))
    out = {}
    for name, value in f.items():
        if name in ("value", "limit"):
            out[name] = i18n.money(value, study.currency, lang)
        elif name == "share":
            out[name] = i18n.percent(value, lang)
        else:
            out[name] = i18n.number(value, lang) if isinstance(value, (int, float)) else str(value)
    return words.say(note.code, lang, **out)


def pilot_advice_text(advice: PilotAdvice, study: Study, lang: str = "en", prob_positive: float | None = None) -> list[str]:
    """The pilot part of the verdict (:func:`pilot_advice`) in the report's words: paragraphs,
    block names through :func:`analysis.pages.labels.block_label`."""
    from analysis.pages import i18n
    from analysis.pages import words
    from analysis.pages.labels import block_label

    def names(blocks, none_key):
        return ", ".join(block_label(b, lang, study) for b in blocks) if blocks else words.say(none_key, lang)

    pct = lambda x: i18n.percent(x, lang, 0 if x is None or round(x * 100, 6).is_integer() else 1)  # noqa: E731
    eff = study[EFFECT_KEY]
    assumed = i18n.percent(eff.mode if isinstance(eff, Uncertain) else float(eff), lang)
    k = advice.kind
    if k == "plan_unavailable":
        return [words.say("summary.pilot.plan_unavailable", lang), words.say("summary.pilot.how", lang)]
    if k == "plan_out_of_reach":
        return [words.say("summary.pilot.plan_out_of_reach", lang,
                          blocks=names(advice.blocks, "summary.pilot.everyone_blocks"), assumed=assumed,
                          months=i18n.number(advice.months, lang)), words.say("summary.pilot.how", lang)]
    if k.startswith("plan"):
        text = words.say(f"summary.pilot.{k}", lang, blocks=names(advice.blocks, "summary.pilot.everyone_blocks"),
                         detectable=pct(advice.detectable), assumed=assumed,
                         months=i18n.number(advice.months, lang) if advice.months is not None else "–")
        return [text, words.say("summary.pilot.how", lang)]
    if k == "running":
        from analysis.sections.pilot.power import MAX_MONTHS

        blocks = names(advice.blocks, "summary.pilot.everyone_blocks")
        if advice.months is None:   # never a placeholder: say that the months are unknown
            return [words.say("summary.pilot.running_unknown", lang, blocks=blocks, since=i18n.date(advice.since, lang),
                              max_months=i18n.number(MAX_MONTHS, lang))]
        return [words.say("summary.pilot.running", lang, blocks=blocks, since=i18n.date(advice.since, lang),
                          months=i18n.number(advice.months, lang))]
    p10, p50, p90 = advice.effect
    measured = words.say("summary.pilot.measured." + ("raised" if p50 < 0 else "cut"), lang,
                         median=pct(p50), p10=pct(p10), p90=pct(p90), rise=pct(abs(p50)))
    # no other blocks to extend to (the pilot covers every block): keep / stop, not extend
    group = "extend" if advice.others else "extend_all"
    code = "not_used" if not advice.used else advice.extend
    prob = (i18n.probability(prob_positive, lang)
            if prob_positive is not None and np.isfinite(prob_positive) else None)
    if prob is None and code != "not_used":
        code = "not_used"
    return [words.say(f"summary.pilot.{group}.{code}", lang, others=names(advice.others, "summary.pilot.no_other_blocks"),
                      measured=measured, **({"prob": prob} if code != "not_used" else {})),
            words.say("summary.pilot.extend.rule", lang, recommend=i18n.percent(float(study["summary.recommend_prob"]), lang),
                      reject=i18n.percent(float(study["summary.reject_prob"]), lang))]


def setup_source(prep: Prepared) -> str | None:
    """Where today's setup came from, for the words: ``staff`` (roles in staff.csv), ``study``
    (study.yaml), ``set`` (the command line's ``--set``, :meth:`analysis.inputs.study.Study.source_of`)
    or None when unknown."""
    today = prep.today
    if today is None or not today.known:
        return None
    if today.source == "study" and prep.study.source_of("staffing.current_setup") == "--set":
        return "set"
    return today.source


def least_favourable_npv(npv_at_low: float, npv_at_high: float) -> float:
    """The median NPV at an assumption's least favourable end: the end that gives the lower NPV,
    whichever of its low and high values that is and whatever the sign of the median."""
    return float(min(npv_at_low, npv_at_high))
