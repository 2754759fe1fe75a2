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
   hold fewer than ``summary.min_complete_months`` complete months, or membership fees are at least
   half of the covered revenue and cannot be priced (:func:`membership_pricing`);
2. ``confirm_inputs``: today's setup is unknown (neither staff.csv roles nor
   ``staffing.current_setup``), or one of the ``summary.decisive_inputs`` assumptions with the
   largest tornado swing is a kit default;
3. ``do_not_create`` when ``P < summary.reject_prob`` (``P`` the chance that the role pays off,
   NPV > 0), even when a sanity check failed (:func:`sanity_checks`: every check fails only when the
   figures flatter the role);
4. ``confirm_inputs`` when a sanity check failed;
5. ``create`` when ``P >= summary.recommend_prob`` and the role still pays off (median NPV >= 0) with
   the care-manager effect at the low end of its range; otherwise ``pilot`` (the answer hinges on the
   retention effect, which only a pilot measures).

**Members** are worth their fees: the retention gain adds the membership fees kept
(:func:`membership_gain`, the sBG model of the memberships) to the visits' margin kept.

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

__all__ = ["Prepared", "prepare", "Evaluation", "evaluate", "evaluate_fixed", "decision_breakeven_effect", "tornado", "STAGES",
           "role_cost", "retention_cost_year", "managers_needed",
           "EFFECT_KEY", "covered_tables", "Check", "sanity_checks", "decisive_defaults", "Verdict",
           "verdict", "alternatives", "VERDICTS", "CHECKS", "role_cost_check", "check_value_text",
           "next_step_text", "short_label", "format_value", "flip_conditions", "PilotAdvice", "pilot_advice",
           "extend_decision", "EXTEND", "effect_range_text", "PARTS_LABELS", "part_labels", "replaced_key",
           "pilot_advice_text",
           "page_notes", "checks_not_run", "EFFECT_GRID", "PROFILE_GRID", "retention_profiles", "minimum_wage_month",
           "MembershipGain", "membership_gain", "membership_pricing"]

EFFECT_KEY = "retention.care_manager_effect"
VERDICTS = decision.VERDICTS
# Sanity checks against the salon's size, in the order they are shown.
CHECKS = ("money_not_in_currency", "pay_vs_minimum_wage", "management_payroll_vs_revenue",
          "management_payroll_vs_profit", "role_cost_vs_profit", "managers_vs_clients")


#: Cuts of the dropout probability the bootstrap refits' retention curves are computed at: fixed (never
#: from the assumed effect), steps of 0.04: every other point of the retention page's grid
#: (:func:`analysis.sections.retention.model_bootstrap`'s default, steps of 0.02), so the summary reads
#: that page's refits when it runs in the same kernel and computes half as many points otherwise.
EFFECT_GRID = np.linspace(0.0, 1.0, 26)
#: Effects the retention gain's monthly timing profile is computed at (fixed; 0 itself has no gain
#: to share out, so the grid starts just above it).
PROFILE_GRID = np.r_[0.01, np.linspace(0.1, 1.0, 10)]


def _grid_columns(effects, grid) -> np.ndarray | None:
    """Indices of ``grid``'s effects among ``effects`` (None unless every one is there)."""
    if effects is None:
        return None
    effects = np.asarray(effects, float)
    idx = np.searchsorted(effects, grid).clip(0, len(effects) - 1)
    return idx if np.allclose(effects[idx], grid, rtol=0, atol=1e-12) else None


def retention_profiles(analysis, horizon_months: int, grid=PROFILE_GRID):
    """(grid, profiles): the share of the horizon's retention gain in each month, (len(grid), H), at
    each effect of ``grid``: :func:`analysis.sections.retention.gain_profile`'s monthly increments over
    its total, every effect in one pass of the visit model's quadrature (the same numbers as one
    :func:`~analysis.sections.retention.gain_profile` per effect); (grid, None) when the visit model was
    not fitted or a profile is not finite or has no gain."""
    from analysis.sections import retention

    grid = np.asarray(grid, float)
    a, H = analysis, int(horizon_months)
    if a.bgnbd is None or a.clv is None:
        return grid, None
    spend = a.clv["spend_per_visit"].to_numpy(float)
    new_margin = float(np.mean(spend)) * a.margin_ratio if a.new_clients_per_year > 0 else 0.0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        em = retention._EffectModel(a.rfm, a.bgnbd, spend * a.margin_ratio, H, a.time_unit_days,
                                    a.new_clients_per_year, new_margin)
        scales = np.r_[1.0, np.maximum(1.0 - grid, 1e-9)]
        t = np.arange(1, H + 1) * retention.DAYS_PER_MONTH / em.unit
        G = em.bgnbd.expected_visits_alive(t[:, None], em.x[None, :], em.T[None, :], scales)   # (H, K, 1 + P)
        cum = np.einsum("hkp,k->hp", G[..., 1:] - G[..., :1], em.pam)                         # (H, P)
        if em.A > 0:
            tau = (np.arange(H) + 0.5) * retention.DAYS_PER_MONTH / em.unit
            N = em.bgnbd.expected_visits_alive(tau, np.zeros(H), np.zeros(H), scales)           # (H, 1 + P)
            cum = cum + np.cumsum(N[:, 1:] - N[:, :1], axis=0) * em.A / 12.0 * em.m_new
    if not (np.all(np.isfinite(cum)) and np.all(cum[-1] > 0)):
        return grid, None
    return grid, (np.diff(np.vstack([np.zeros((1, len(grid))), cum]), axis=0) / cum[-1]).T


@dataclass
class MembershipGain:
    """What keeping members longer is worth in membership **fees** (the visit model prices a member's
    visits by their spend, which is zero when the fee pays for them), on a fixed grid of the
    care-manager effect (:data:`EFFECT_GRID`), from the sBG model of the memberships
    (:mod:`analysis.models.sbg`, ``retention.fit_sbg``).

    A member who has renewed ``n`` times cancels at the end of each period with probability ``theta``
    drawn from the sBG posterior ``Beta(alpha, beta + n)`` (all members: ``Beta(alpha, beta)``); the
    care manager cuts it to ``theta (1 - e)``.  Over the horizon of ``H`` months (``P`` periods of
    ``period_days``), the fees paid by today's active members and by new members joining at today's
    rate (one every ``12 / joins_year`` months, first fee on joining) are::

        paid(e) = fee · [ Σ_active Σ_{t=1..P} E(1 − θ(1 − e))^t  +  Σ_joins Σ_{t=0..P_j−1} E(1 − θ(1 − e))^t ]

    and the gain is ``paid(e) − paid(0)``, times ``covered_share`` (the share of the fees that land in
    the covered blocks, :func:`analysis.sections.pnl.membership_fees`).  Fees carry no materials and
    no commission in the kit's P&L (:func:`analysis.sections.pnl.monthly_pnl`), so their margin is the
    fee itself.  The expectations over ``theta`` are Gauss-Legendre quadrature (64 nodes) on (0, 1)
    (the collapsed sBG, one ``theta`` for everyone, exactly).

    Attributes
    ----------
    grid : ndarray (G,)
        Effects (relative cut of the cancellation probability, 0–1).
    gain_year : ndarray (G,)
        Extra fee margin a year over the horizon (study currency), 0 at effect 0.
    profile : ndarray (G, H) or None
        Share of the horizon's gain in each month (rows sum to 1; None where there is no gain).
    fee_period, active, joins_year, covered_share, period_days : float
        The inputs: mean fee a period of today's active members, their number, new members a year.
    """

    grid: np.ndarray
    gain_year: np.ndarray
    profile: np.ndarray | None
    fee_period: float
    active: float
    joins_year: float
    covered_share: float
    period_days: float

    def at(self, effect) -> tuple[np.ndarray, np.ndarray | None]:
        """(gain a year (n,), monthly shares (n, H) or None) at each scenario's ``effect``
        (linear interpolation on :attr:`grid`)."""
        e = np.clip(np.atleast_1d(np.asarray(effect, float)), self.grid[0], self.grid[-1])
        gain = np.interp(e, self.grid, self.gain_year)
        if self.profile is None:
            return gain, None
        lo = (np.searchsorted(self.grid, e, side="right") - 1).clip(0, len(self.grid) - 2)
        frac = ((e - self.grid[lo]) / (self.grid[lo + 1] - self.grid[lo]))[:, None]
        prof = self.profile[lo] * (1.0 - frac) + self.profile[lo + 1] * frac
        return gain, prof


def _theta_nodes(n: int = 64):
    x, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (x + 1.0), 0.5 * w


def _survival_moments(sbg, tenure: np.ndarray, effects: np.ndarray, periods: int) -> np.ndarray:
    """``E[(1 − θ(1 − e))^t]`` for ``t = 0 … periods`` (T + 1), each effect (G), each distinct
    tenure (K): θ ~ Beta(alpha, beta + tenure) (the sBG posterior of a member who renewed ``tenure``
    times), or the collapsed model's one θ.  Shape (K, G, T + 1)."""
    from scipy.special import betaln

    t = np.arange(periods + 1, dtype=float)
    keep = 1.0 - effects                                                             # (G,)
    if sbg.variant == "same_churn" or "alpha" not in sbg.params:
        theta = np.array([float(sbg.params.get("theta", sbg.mean_churn))])
        dens = np.ones((len(tenure), 1))
    else:
        a, b = float(sbg.params["alpha"]), float(sbg.params["beta"])
        theta, w = _theta_nodes()
        bb = b + np.asarray(tenure, float)[:, None]
        logpdf = ((a - 1.0) * np.log(theta)[None, :] + (bb - 1.0) * np.log1p(-theta)[None, :]
                  - betaln(a, bb))
        dens = np.exp(logpdf) * w[None, :]                                           # (K, Q)
        dens = dens / dens.sum(axis=1, keepdims=True)   # the quadrature's own normalisation
    stay = 1.0 - theta[None, :] * keep[:, None]                                      # (G, Q)
    powers = np.exp(t[None, None, :] * np.log(np.clip(stay, 1e-300, 1.0))[:, :, None])  # (G, Q, T+1)
    return np.einsum("kq,gqt->kgt", dens, powers)


def membership_gain(analysis, tables, study, horizon_months: int, grid=EFFECT_GRID) -> MembershipGain | None:
    """:class:`MembershipGain` of the covered blocks' members, or None when there is nothing to price
    (no memberships with a fee in the covered blocks) or it cannot be priced (no fitted sBG, no active
    member, a period other than ``month`` / ``week``): :func:`membership_pricing` says which."""
    from analysis.sections import pnl, retention

    sbg = getattr(analysis, "sbg", None)
    life = getattr(analysis, "memberships", None)
    if sbg is None or life is None or not len(life) or tables is None:
        return None
    kind = retention.membership_period(life)
    if kind not in ("month", "week"):
        return None
    period_days = retention.DAYS_PER_MONTH if kind == "month" else 7.0
    share = _covered_fee_share(tables, study)
    mem = getattr(tables, "memberships", None)
    if not share or mem is None or "price_per_period" not in mem:
        return None
    m = mem.dropna(subset=["price_per_period"])
    active_ids = set(life.loc[~life["churned"].astype(bool), "client_id"])
    open_ = m[m["client_id"].isin(active_ids)]
    fee = float(pd.to_numeric(open_["price_per_period"], errors="coerce").mean()) if len(open_) else float("nan")
    if not np.isfinite(fee) or fee <= 0:
        return None
    H = int(horizon_months)
    P = int(np.ceil(H * retention.DAYS_PER_MONTH / period_days - 1e-9))
    month_of = np.minimum(np.ceil(np.arange(1, P + 1) * period_days / retention.DAYS_PER_MONTH - 1e-9), H).astype(int)
    effects = np.asarray(grid, float)
    act = life.loc[~life["churned"].astype(bool), "periods"].to_numpy(int)
    tenures, counts = np.unique(act, return_counts=True)
    S = _survival_moments(sbg, tenures, effects, P)                                 # (K, G, P+1)
    paid = np.zeros((len(effects), H))
    # today's members: the fee of period t (t = 1..P) is paid when they are still in after t renewals
    per_t = np.einsum("k,kgt->gt", counts.astype(float), S[:, :, 1:])               # (G, P)
    np.add.at(paid.T, month_of - 1, per_t.T)
    # new members: today's rate of joins, each paying on joining and at every renewal
    starts = pd.to_datetime(life["start"])
    span_years = max((starts.max() - starts.min()).days / retention.DAYS_PER_YEAR, 1.0 / 12.0)
    joins_year = float(len(life)) / span_years
    if joins_year > 0:
        S0 = _survival_moments(sbg, np.array([0]), effects, P)[0]                   # (G, P+1)
        per_join = joins_year * period_days / retention.DAYS_PER_YEAR               # joins a period
        for j in range(P):                                                           # joined in period j+1
            left = P - j
            np.add.at(paid.T, month_of[j:] - 1, (per_join * S0[:, :left]).T)
    paid *= fee * share
    gain = paid - paid[:1]                                                           # (G, H)
    total = gain.sum(axis=1)
    gain_year = total * 12.0 / H
    with np.errstate(invalid="ignore", divide="ignore"):
        prof = np.where(total[:, None] > 0, gain / np.where(total[:, None] > 0, total[:, None], 1.0), np.nan)
    prof = prof if np.all(np.isfinite(prof[1:])) else None
    if prof is not None:
        prof[0] = prof[1]   # no gain at effect 0: its timing's limit as the effect goes to zero
    return MembershipGain(effects, gain_year, prof, fee, float(len(act)), joins_year, share, period_days)


def _covered_fee_share(tables, study) -> float:
    """Share of the membership fees (:func:`analysis.sections.pnl.membership_fees`, over the data's
    complete months) that land in the covered blocks; 0 without fees."""
    from analysis.sections import pnl

    visits = getattr(tables, "visits", None)
    if visits is None or "date" not in visits:
        return 0.0
    months = pnl._complete_months(pd.to_datetime(visits["date"]).dropna())
    fees, _ = pnl.membership_fees(tables, months)
    if not len(fees):
        return 0.0
    total = float(fees["revenue"].sum())
    if total <= 0:
        return 0.0
    covers = study["care_manager.covers"]
    if covers == "all":
        return 1.0
    wanted = {str(b) for b in covers}
    return float(fees.loc[fees["block"].astype(str).isin(wanted), "revenue"].sum()) / total


def membership_pricing(prep) -> str:
    """How the covered blocks' membership fees enter the retention gain: ``none`` (no fees in the
    covered blocks), ``priced`` (:attr:`Prepared.membership`) or ``not_priced`` (fees there, but the
    sBG model could not be fitted or its periods are neither months nor weeks: the fee gain is left
    out and the page says so)."""
    if getattr(prep, "membership", None) is not None:
        return "priced"
    return "not_priced" if getattr(prep, "fee_share_of_revenue", 0.0) > 0 else "none"


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
    (:func:`analysis.sections.staffing.today_setup`); ``retention_profiles`` the share of the retention
    gain in each month of the horizon at each effect of ``profile_grid``
    (:func:`analysis.sections.retention.gain_profile`; see :mod:`analysis.sections.decision`), read per
    scenario by :meth:`profile_at`; ``notes`` :class:`~analysis.codes.Note` of parts left
    out (counted as zero).
    """

    study: Study
    tables: object
    profile: object = None           # staffing.ClientProfile
    retention: object = None         # retention.RetentionAnalysis
    baseline: object = None          # pnl.Baseline
    today: object = None             # staffing.TodaySetup
    all_tables: object = None
    retention_profiles: object = None  # (P, H) share of the retention gain in each month, at profile_grid
    profile_grid: object = None        # (P,) effects the profiles are computed at
    model_curves: object = None       # (K, G) retention gain a year on effect_grid, per bootstrap refit
    effect_grid: object = None
    membership: object = None          # MembershipGain: the members' fee gain (None: no fees or not priced)
    fee_share_of_revenue: float = 0.0  # membership fees' share of the covered blocks' revenue

    def profile_at(self, effect) -> np.ndarray | None:
        """The retention gain's monthly shares (n, H) at each scenario's ``effect`` (n,): the
        profiles of :data:`PROFILE_GRID` interpolated linearly (an effect below the grid's first
        point takes its profile: the shape's limit as the effect goes to zero); None without them."""
        if self.retention_profiles is None:
            return None
        grid, prof = self.profile_grid, self.retention_profiles
        e = np.clip(np.atleast_1d(np.asarray(effect, float)), grid[0], grid[-1])
        lo = (np.searchsorted(grid, e, side="right") - 1).clip(0, len(grid) - 2)
        frac = ((e - grid[lo]) / (grid[lo + 1] - grid[lo]))[:, None]
        return prof[lo] * (1.0 - frac) + prof[lo + 1] * frac
    notes: list = field(default_factory=list)

    def note(self, code: str, **fields) -> None:
        self.notes.append(Note(f"summary.note.{code}", fields, level="warning", topic="summary"))


def prepare(study: Study, tables, retention_analysis=None, staffing_analysis=None, bootstrap=None) -> Prepared:
    """Fit and aggregate what does not depend on the scenario; a part that cannot be computed
    from this study's data is left out of the NPV with a note (it counts as zero).

    ``retention_analysis`` (:func:`analysis.sections.retention.analyse`) and ``staffing_analysis``
    (:func:`analysis.sections.staffing.analyse`) may be passed when the sections already computed them;
    the retention analysis is only reused when every block is covered (otherwise it is redone on
    the covered blocks' visits, :func:`analysis.sections.retention.covered_analysis`).  ``bootstrap``
    (:func:`analysis.sections.retention.model_bootstrap` of ``retention_analysis``, the retention page's
    refits, on a grid that holds :data:`EFFECT_GRID`) is reused the same way, read at
    :data:`EFFECT_GRID`; otherwise the refits are computed here.

    Nothing here reads the *assumed* care-manager effect: the retention gain's curves and its timing
    profiles are computed on fixed grids of the effect (:data:`EFFECT_GRID`, :data:`PROFILE_GRID`) and
    read per scenario at the scenario's effect, so a figure that fixes the effect (the whole
    decision's break-even) depends on the salon's facts only."""
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
    # the covered blocks' retention analysis and its notes, built as the retention page builds it
    cov = retention.covered_analysis(study, tables, analysis=retention_analysis)
    prep.retention = cov.analysis
    prep.notes.extend(cov.notes)
    if cov.narrowed or retention_analysis is None:
        bootstrap = None   # refits of another analysis than the one used here
    if prep.retention is not None and getattr(prep.retention, "bgnbd", None) is not None:
        prep.profile_grid, prep.retention_profiles = retention_profiles(prep.retention, study.horizon_months)
        from analysis.models.simulate import key_rng

        cols = _grid_columns(getattr(bootstrap, "effects", None), EFFECT_GRID) if bootstrap is not None else None
        if cols is not None:   # the retention page's refits, read at this grid's effects (the same numbers)
            curves = np.asarray(bootstrap.curves, float)[:, cols]
        else:
            curves = retention.model_bootstrap(prep.retention, study.horizon_months,
                                               int(study["simulation.model_refits"]),
                                               key_rng(int(study["simulation.seed"]), "rng:model_refits"),
                                               EFFECT_GRID).curves
        prep.effect_grid = EFFECT_GRID.copy()
        # without the fitted gain's curve the regulars' gain is counted as zero (note
        # summary.note.retention_zero): the refits' curves must not bring it back into the NPV
        prep.model_curves = curves if len(curves) and _model_fitted(prep) else None
    try:
        prep.baseline = pnl.baseline(tables, study)
    except (ValueError, KeyError, InputError) as exc:
        prep.note("pay_left_out", reason=str(exc))
    _prepare_memberships(prep, tables, study)
    return prep


def _prepare_memberships(prep: Prepared, tables, study) -> None:
    """The members' fee gain (:func:`membership_gain`) and the fees' share of the covered blocks'
    revenue; a note when fees are there but cannot be priced (never a silent zero)."""
    from analysis.sections import pnl

    try:
        cov = pnl.monthly_pnl(tables, study)
        visits = getattr(tables, "visits", None)
        months = pnl._complete_months(pd.to_datetime(visits["date"]).dropna())
        fees, _ = pnl.membership_fees(tables, months)
        covers = study["care_manager.covers"]
        if len(fees) and covers != "all":
            fees = fees[fees["block"].astype(str).isin({str(b) for b in covers})]
        rev = float(cov["revenue"].sum())
        prep.fee_share_of_revenue = float(fees["revenue"].sum()) / rev if len(fees) and rev > 0 else 0.0
    except (ValueError, KeyError, TypeError, InputError, AttributeError):
        prep.fee_share_of_revenue = 0.0
    if prep.fee_share_of_revenue <= 0:
        return
    try:
        prep.membership = membership_gain(prep.retention, tables, study, study.horizon_months)
    except (ValueError, KeyError, TypeError, FloatingPointError, InputError):
        prep.membership = None
    if prep.membership is None:
        prep.note("memberships_not_priced", share=prep.fee_share_of_revenue)


@dataclass
class Evaluation:
    """The role's economics in every scenario.

    Attributes
    ----------
    result : decision.NPVResult
    monthly : dict of ndarray (n,)
        The per-scenario inputs of the cash flow: staff_saving_month, role_cost_month,
        retention_margin_year, departures_margin_year, setup_cost, ramp_months,
        care_managers_needed, pay_month (one manager's pay, profit share split as in force),
        retention_profile ((n, H) timing of the retention gain at each scenario's effect, or None).
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
    """(retention_margin_year, departures_margin_year, retention_profile) per scenario; the profile
    (n, H) is the gain's timing at each scenario's effect (:meth:`Prepared.profile_at`), or None."""
    from analysis.sections import retention

    n = d.n
    if prep.retention is None:
        if prep.membership is None:
            return np.zeros(n), np.zeros(n), None
        eff = np.clip(np.asarray(d[EFFECT_KEY], float) * np.ones(n), 0.0, 1.0)
        fee, fee_prof = prep.membership.at(eff)
        return fee, np.zeros(n), fee_prof
    # through _Tracked: the retention section's role-cost field (its page's break-even) is not part of
    # the NPV, and retention_cost_year skips it for these draws
    rs = retention.scenarios(prep.study, prep.tables, d if isinstance(d, _Tracked) else _Tracked(d, set()),
                             analysis=prep.retention)
    ret_year = np.nan_to_num(np.asarray(rs.incremental_margin_year, float))
    dep_year = np.nan_to_num(np.asarray(rs.margin_at_risk_avoided_year, float))
    eff = np.clip(np.asarray(d[EFFECT_KEY], float) * np.ones(n), 0.0, 1.0)
    if model_uncertainty and prep.model_curves is not None:
        curves = prep.model_curves
        k = d.rng("model_refit").integers(0, len(curves), n)
        grid = prep.effect_grid
        lo = (np.searchsorted(grid, eff, side="right") - 1).clip(0, len(grid) - 2)
        frac = (eff - grid[lo]) / (grid[lo + 1] - grid[lo])
        ret_year = curves[k, lo] * (1 - frac) + curves[k, lo + 1] * frac
    profile = prep.profile_at(eff)
    if prep.membership is not None:   # the members' fees kept: added to the visits' margin, timings weighted
        fee, fee_prof = prep.membership.at(eff)
        H = int(prep.study.horizon_months)
        w_v = profile if profile is not None else np.full((n, H), 1.0 / H)
        w_f = fee_prof if fee_prof is not None else np.full((n, H), 1.0 / H)
        tot = ret_year + fee
        with np.errstate(invalid="ignore", divide="ignore"):
            mix = (ret_year[:, None] * w_v + fee[:, None] * w_f) / tot[:, None]
        profile = np.where(tot[:, None] > 0, mix, w_v) if (profile is not None or fee_prof is not None) else None
        ret_year = tot
    return ret_year, dep_year, profile


def _stages(prep: Prepared, d: Draws, scheme_name=None, setup=_UNSET, model_uncertainty=True,
            reuse: dict | None = None, changed: str | None = None, logs: dict | None = None,
            redo: tuple = ()) -> dict:
    """The model's parts (:data:`STAGES`) on the draws ``d``.

    With ``reuse`` (the parts of an earlier call on the same scenarios) and ``changed`` (the one
    assumption that differs), a part is recomputed only when it read ``changed`` (``logs``, filled by
    the earlier call), is named in ``redo`` (an argument of this call that differs: the scheme, the
    setup, the models' uncertainty) or a part it reads was recomputed; the others are taken from
    ``reuse``."""
    study = prep.study
    today = prep.today
    setup = today.setup if setup is _UNSET else setup
    payroll = today.payroll_month if (today is not None and setup == today.setup) else None
    logs = logs if logs is not None else {}
    out, redone = {}, set()

    def need(stage, *upstream):
        return (reuse is None or stage not in reuse or stage in redo or changed in logs.get(stage, ())
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
    ret_year, dep_year, profile = st["retention"]
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
            "care_managers_needed": managers, "pay_month": pay_month, "retention_profile": profile}


def _base(prep: Prepared, d: Draws) -> tuple[dict, dict]:
    """(parts, logs) of the main evaluation on ``d`` (the scheme in force, today's setup, the models'
    uncertainty), computed once per :class:`Prepared` and draws: the other evaluations on the same
    scenarios (another setup or scheme, the models taken as exact, one assumption fixed) recompute
    only the parts that differ."""
    memo = prep.__dict__.setdefault("_memo", {})
    hit = memo.get(id(d))
    if hit is not None and hit[0] is d:
        return hit[1], hit[2]
    logs: dict = {}
    st = _stages(prep, d, logs=logs)
    if len(memo) >= 4:
        memo.clear()
    memo[id(d)] = (d, st, logs)
    return st, logs


def _evaluation(prep: Prepared, st: dict) -> Evaluation:
    study = prep.study
    st = {**st, "split": study["compensation.profit_share_split"]}
    m = _monthly(st)
    flows = decision.monthly_flows(m["staff_saving_month"], m["role_cost_month"], m["retention_margin_year"],
                                   m["departures_margin_year"], m["setup_cost"], study.horizon_months,
                                   m["ramp_months"], m["retention_profile"])
    return Evaluation(decision.npv(flows, study.discount_rate), m, st["setup"])


def evaluate(prep: Prepared, d: Draws, scheme_name: str | None = None, setup=_UNSET,
             model_uncertainty: bool = True) -> Evaluation:
    """NPV of creating the role in each scenario of ``d``, the role paid by ``scheme_name``
    (default ``care_manager.scheme``), today's setup ``setup`` (default the salon's own,
    ``prep.today``; unknown is costed as nothing replaced).

    With ``model_uncertainty`` and bootstrap refits of the visit model (``prep.model_curves``,
    ``simulation.model_refits``), scenario ``s`` reads its retention gain from refit ``k[s]``
    (drawn uniformly, reproducibly from the seed) instead of the fitted model: the ranges then
    carry the data's uncertainty as well as the assumptions'.

    The parts of the main evaluation on ``d`` are kept (:func:`_base`); a call on the same draws
    with another scheme, setup or ``model_uncertainty`` recomputes only the parts that read it
    (the same numbers as computing every part again)."""
    study = prep.study
    d = d.on(study)
    base, logs = _base(prep, d)
    redo = tuple(stage for stage, differs in (
        ("pay", scheme_name is not None and scheme_name != study["care_manager.scheme"]),
        ("staffing", setup is not _UNSET and setup != base["setup"]),
        ("retention", not model_uncertainty)) if differs)
    st = base if not redo else _stages(prep, d, scheme_name, setup, model_uncertainty, reuse=base, logs=logs,
                                       redo=redo)
    return _evaluation(prep, st)


def evaluate_fixed(prep: Prepared, d: Draws, key: str, value) -> Evaluation:
    """:func:`evaluate` on ``d`` with the assumption ``key`` fixed at ``value`` in every scenario,
    recomputing only the parts that read it."""
    d = d.on(prep.study)
    base, logs = _base(prep, d)
    return _evaluation(prep, _stages(prep, d.fixed(key, value), reuse=base, changed=key, logs=logs))


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
    its mean), nothing replaced.  NaN per scenario for the summary's own draws (its retention stage,
    which costs the role in the staffing stage instead)."""
    from analysis.inputs import data

    if isinstance(draws, _Tracked):
        # the summary's own retention stage: this field is not part of the NPV (the summary costs the
        # role once, in its staffing stage), so it is neither a dependency nor worth computing again
        return np.full(draws.n, np.nan)
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
    d = d.on(prep.study)
    base, logs = _base(prep, d)
    base = {**base, "split": prep.study["compensation.profit_share_split"]}

    def f(e):
        # only the parts that read the effect are recomputed (the pay scheme and staffing are not)
        st = _stages(prep, d.fixed(EFFECT_KEY, e), reuse=base, changed=EFFECT_KEY, logs=logs)
        st["split"] = base["split"]
        return float(np.median(_npv_of(prep, st)))

    lo, hi = f(0.0), f(1.0)
    if lo >= 0:
        return 0.0
    if hi < 0:
        return float("nan")
    return float(brentq(f, 0.0, 1.0, xtol=1e-4))


def _npv_of(prep: Prepared, st: dict) -> np.ndarray:
    """The NPV per scenario of the parts ``st`` (:func:`_stages`), discounted part by part
    (:func:`analysis.sections.decision.part_npvs`: the same numbers as :func:`evaluate`'s)."""
    m = _monthly(st)
    study = prep.study
    parts = decision.part_npvs(m["staff_saving_month"], m["role_cost_month"], m["retention_margin_year"],
                               m["departures_margin_year"], m["setup_cost"], study.horizon_months, m["ramp_months"],
                               study.discount_rate, m["retention_profile"])
    return sum(parts.values())


def _first(d: Draws, n: int) -> Draws:
    """The first ``n`` scenarios of ``d`` (the draws of a key are a prefix of a longer run's)."""
    fixed = {k: (np.asarray(v)[:n] if np.ndim(v) else v) for k, v in (d._fixed or {}).items()}
    return Draws(d.study, int(n), d.seed, fixed or None)


def _tornado_at(prep: Prepared, d: Draws, keys) -> pd.DataFrame:
    study = prep.study
    logs: dict = {}
    base_st = _stages(prep, d, logs=logs)
    split = study["compensation.profit_share_split"]
    H, rate = study.horizon_months, study.discount_rate

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
                                 m["departures_margin_year"], m["setup_cost"], H, m["ramp_months"], rate, m["retention_profile"],
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
    month, or clients per manager); ``basis`` what the limit is a share of (the covered blocks'
    monthly profit for ``role_cost_vs_profit``: negative when they run at a loss, and the words then
    say the loss, never a limit of "0"); ``passed`` False blocks a "create" verdict.
    """

    code: str
    passed: bool
    value: float = float("nan")
    limit: float = float("nan")
    basis: float = float("nan")

    @property
    def loss(self) -> float | None:
        """The covered blocks' monthly loss when the limit rests on a profit below zero, else None."""
        return -float(self.basis) if np.isfinite(self.basis) and self.basis < 0 else None


def sanity_checks(prep: Prepared, ev: Evaluation) -> list[Check]:
    """The study against the salon's size (limits under ``summary.checks``):

    * ``money_not_in_currency``: the study's currency is not the kit defaults' and the salon's own
      pay level cannot be measured, so the money defaults cannot be converted (they must be stated);
    * ``pay_vs_minimum_wage``: one care manager's monthly pay (median, before payroll tax) under the
      kit's pay schemes (``compensation.schemes`` not stated; converted to the study's currency by
      :func:`analysis.sections.pnl.localise`) at least the full-time minimum monthly wage of the
      study's currency (``minimum_wage_month``, :func:`minimum_wage_month`): a converted default
      below the legal minimum is no plausible pay, and the owner states the pay;
    * ``management_payroll_vs_revenue`` / ``_vs_profit``: the *assumed* pay of today's specialist
      managers (setup stated, pay not in staff.csv), median with payroll tax, at most
      ``management_payroll_max_revenue_share`` of the covered blocks' monthly revenue and
      ``management_payroll_max_profit_share`` of their profit before managers;
    * ``role_cost_vs_profit``: what the role adds a month (median of its cost less what it replaces in
      the evaluated setup, ``role_cost_month - staff_saving_month``) at most ``role_cost_max_profit_share``
      of the covered blocks' monthly profit before the role (the pay page and the role profile show the
      same check on :func:`role_cost`'s ``net_cost_month``);
    * ``managers_vs_clients``: active clients per care manager needed at least
      ``min_active_clients_per_manager``.

    A check whose inputs are missing (no P&L, no profile) is not listed.
    """
    study, out = prep.study, []
    lim = lambda k: float(study[f"summary.checks.{k}"])  # noqa: E731
    if getattr(study, "money_scale_source", None) == "unknown":
        out.append(Check("money_not_in_currency", False))
    m = ev.monthly
    wage = minimum_wage_month(study)
    if wage is not None and "compensation.schemes" not in study.given:
        pay = np.asarray(m.get("pay_month", np.nan), float)
        pay = float(np.nanmedian(pay)) if np.isfinite(pay).any() else float(
            getattr(study["staffing.care_manager_salary_month"], "mode", study["staffing.care_manager_salary_month"]))
        out.append(Check("pay_vs_minimum_wage", bool(pay >= wage), pay, wage))
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
        # what the role adds: its cost less what it replaces today (the managers or administrators'
        # work it takes over) — a role that replaces dearer managers adds nothing the blocks must carry
        added = np.asarray(m["role_cost_month"], float) - np.asarray(m["staff_saving_month"], float)
        out.append(role_cost_check(float(np.median(added)), float(base.profit_month), study))
    if prep.profile is not None:
        per = float(prep.profile.clients_month) / max(float(np.median(m["care_managers_needed"])), 1.0)
        limit = lim("min_active_clients_per_manager")
        out.append(Check("managers_vs_clients", per >= limit, per, limit))
    return out


def checks_not_run(study: Study) -> list[str]:
    """Codes of the :func:`sanity_checks` that apply to the study but cannot run, so the page says
    so instead of leaving the row out silently: ``pay_vs_minimum_wage`` when the care manager's pay
    is the kit's converted default (``compensation.schemes`` not stated) and the kit holds no minimum
    wage for the study's currency (:func:`minimum_wage_month` is None, e.g. EUR).  Empty otherwise."""
    if "compensation.schemes" not in study.given and minimum_wage_month(study) is None:
        return ["pay_vs_minimum_wage"]
    return []


def minimum_wage_month(study: Study) -> float | None:
    """The full-time minimum monthly wage of the study's currency (``summary.checks.minimum_wage_month``,
    with its sources in the defaults and on the references page), None when the kit knows none for
    it (e.g. EUR: the euro area has no single minimum wage; state one for your country)."""
    table = study["summary.checks.minimum_wage_month"] or {}
    v = table.get(str(study.currency).upper())
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) else None


def role_cost_check(role_cost_month: float, block_profit_month: float, study: Study) -> Check:
    """``role_cost_vs_profit``: what the role adds a month (its cost less what it replaces) against
    the covered blocks' monthly profit before it (the pay page, the role profile and the summary use
    this one rule)."""
    limit = float(study["summary.checks.role_cost_max_profit_share"]) * max(float(block_profit_month), 0.0)
    return Check("role_cost_vs_profit", bool(role_cost_month <= limit), float(role_cost_month), limit,
                 float(block_profit_month))


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
    the retention gain is counted as zero and the NPV would be a guess, not an answer; **and** money
    defaults in the study's currency (:func:`_money_known`)."""
    return _enough_months(prep) and _model_fitted(prep) and _money_known(prep) and _fees_priced(prep)


#: Membership fees' share of the covered blocks' revenue from which fees that cannot be priced
#: (:func:`membership_pricing` ``not_priced``) leave too much of the retention gain out to decide:
#: the verdict is then ``not_enough_data`` (reason ``memberships_not_priced``); below it a note says
#: that the members' fees are left out.
FEES_DECISIVE_SHARE = 0.5


def _fees_priced(prep: Prepared) -> bool:
    """False when membership fees are at least :data:`FEES_DECISIVE_SHARE` of the covered blocks'
    revenue and their retention gain cannot be priced (no fitted sBG model of the memberships)."""
    return not (membership_pricing(prep) == "not_priced"
                and float(getattr(prep, "fee_share_of_revenue", 0.0)) >= FEES_DECISIVE_SHARE)


def _money_known(prep: Prepared) -> bool:
    """False when the study's currency is not the kit defaults' and the salon's own pay level could
    not be measured (:func:`analysis.sections.pnl.money_scale` source ``unknown``: no specialists'
    pay, no paid visit): the salaries and pay amounts would be roubles read as the study's money,
    so every money figure built on them is left out until the owner states them."""
    return getattr(prep.study, "money_scale_source", None) != "unknown"


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
        low_effect = evaluate_fixed(prep, d, EFFECT_KEY, float(np.quantile(measured, 0.1))).median_npv()
    elif isinstance(eff, Uncertain) and prep.retention is not None and measured is None:
        low_effect = evaluate_fixed(prep, d, EFFECT_KEY, eff.low).median_npv()
    else:
        low_effect = ev.median_npv()
    reasons = []
    if not _enough_months(prep):
        reasons.append("short_data")
    elif not _model_fitted(prep):
        reasons.append("model_not_fitted")
    elif not _money_known(prep):
        reasons.append("money_not_in_currency")
    elif not _fees_priced(prep):
        reasons.append("memberships_not_priced")
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
    if "memberships_not_priced" in reasons:
        steps.append(Note("verdict.next.memberships_not_priced", {"share": float(prep.fee_share_of_revenue)}))
    if not setup_known:
        steps.append(Note("verdict.next.state_setup", {}))
    shares = {"management_payroll_vs_revenue": "management_payroll_max_revenue_share",
              "management_payroll_vs_profit": "management_payroll_max_profit_share",
              "role_cost_vs_profit": "role_cost_max_profit_share"}
    for c in failed:
        if c.code == "role_cost_vs_profit" and c.loss is not None:   # the blocks lose money: say so
            steps.append(Note("verdict.next.check.role_cost_vs_profit_loss", {"value": c.value, "loss": c.loss}))
            continue
        fields = {"value": c.value, "limit": c.limit}
        if c.code in shares:
            fields["share"] = float(study[f"summary.checks.{shares[c.code]}"])
        steps.append(Note(f"verdict.next.check.{c.code}", fields))
    for key in defaults:
        steps.append(Note("verdict.next.confirm_default", {"key": key}))
    if level == "pilot" or hinges:
        steps.append(Note("verdict.next.pilot", {}))
    if level in ("create", "do_not_create") and "compensation.schemes" not in study.given:
        # a firm answer that rests on the kit's pay scheme, which no tornado bar can show: say so first
        steps.insert(0, Note("verdict.next.state_pay", {"value": float(np.median(ev.monthly["role_cost_month"]))}))
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
    reason : str or None
        For ``running``: why the pilot has no measured effect, the pilot page's own code
        (:attr:`analysis.sections.pilot.PilotAnalysis.not_measured_reason`); only ``too_recent`` is
        "too early to measure".
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
    reason: str | None = None


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
    from analysis.sections.pilot.study import design_blocks

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
        return PilotAdvice("running", blocks, others, months=pa.more_months, since=pa.since,
                           reason=getattr(pa, "not_measured_reason", None))
    if not (level == "pilot" or "hinges_on_retention" in (reasons or ())):
        return None
    fig = pilot_figures or {}
    design = fig.get("design")
    if design is None:
        return PilotAdvice("plan_unavailable")
    # the pilot page's figure (no need to simulate the design again), else its analysis when given
    blocks = fig.get("design_blocks")
    if blocks is None and getattr(pa, "design", None) is not None:
        blocks = design_blocks(pa.design, design)
    blocks = list(blocks) if blocks else None
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
    staff part is the administrators' work taken over, not specialist managers no longer needed;
    with ``none`` (no client managers today) and ``unknown`` (today's setup not stated) the staff
    part is named as nothing replaced, never as managers no longer needed."""
    labels = dict(PARTS_LABELS)
    if setup == "administrators":
        labels["staff_saving"] = "summary.part.admin_saving"
    elif setup in ("none", "unknown"):
        labels["staff_saving"] = f"summary.part.nothing_replaced_{setup}"
    return labels


def replaced_key(today) -> str:
    """Catalogue key of the sentence that says what the role replaces (field ``saving``, money a
    month), by today's setup (:class:`analysis.sections.staffing.TodaySetup`): ``specialist_managers``
    (client managers replaced), ``administrators`` (their client work taken over), ``none`` (nobody
    replaced) or ``unknown`` (not stated: no replacement is claimed, no figure given)."""
    if today is None or not getattr(today, "known", False):
        return "summary.role_cost.replaced.unknown"
    return f"summary.role_cost.replaced.{today.setup}"


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
    """A short name of an assumption for charts and the summary's sentences: the section's short
    label, else the catalogue's ``summary.short.<key>``, else its description up to the first " ("
    cut at a word boundary with "…" when longer than ``width`` characters (a name, never half of a
    phrase such as «Эффект менеджера сопровождения: на сколько»)."""
    from analysis.sections import staffing
    from analysis.pages.words import has, say

    if key in staffing.SHORT_LABEL_KEYS:
        return say(staffing.SHORT_LABEL_KEYS[key], lang)
    if has(f"summary.short.{key}"):
        return say(f"summary.short.{key}", lang)
    table = study.assumptions(None, lang)
    match = table.loc[table["key"] == key, "description"]
    text = match.iloc[0] if len(match) else key
    text = text.split(" (")[0]
    if len(text) <= width:
        return text
    cut = text[: width - 1].rsplit(" ", 1)[0] if " " in text[: width - 1] else text[: width - 1]
    return cut.rstrip(" ,:;") + "…"


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
    if check.code == "pay_vs_minimum_wage":   # a minimum: the legal minimum wage
        return (i18n.money(check.value, study.currency, lang),
                words.say("verdict.check.limit.at_least", lang, limit=i18n.money(check.limit, study.currency, lang)))
    if check.loss is not None:   # no share of a loss is a limit: say that the blocks lose money
        return (i18n.money(check.value, study.currency, lang),
                words.say("verdict.check.limit.blocks_lose", lang, loss=i18n.money(check.loss, study.currency, lang)))
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
        if name in ("value", "limit", "loss"):
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
        if advice.reason not in (None, "too_recent"):   # not a matter of time: the pilot page's reason
            return [words.say(f"summary.pilot.not_measured.{advice.reason}", lang, blocks=blocks,
                              since=i18n.date(advice.since, lang))]
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


def page_notes(prep: Prepared, lang: str = "en") -> list[str]:
    """The notes the summary page shows, in the report's words, in this order: the parts left out of
    the NPV (:attr:`Prepared.notes`; a calculation's own English reason only on English pages), the
    conflict between staff.csv's roles and the stated setup (:meth:`analysis.sections.staffing.TodaySetup.notes`:
    the kit follows staff.csv and names both), and the scaling of the money defaults to the study's
    currency (:func:`analysis.sections.pnl.money_scale_note`, with its true basis)."""
    from analysis.pages import i18n, words
    from analysis.sections import pnl

    out = []
    for note in prep.notes:
        out.append(words.note_text(note, lang, lambda k, v: i18n.percent(v, lang) if k == "share"
                                   else v if lang == "en" or k != "reason"
                                   else words.say("summary.note.reason_elsewhere", lang)))
    for note in (prep.today.notes() if prep.today is not None else []):
        f = note.fields
        out.append(words.say(note.code, lang, n=note.n, count=i18n.number(note.n, lang),
                             staff=words.say(f"summary.setup.{f['staff']}", lang),
                             stated=words.say(f"summary.setup.{f['stated']}", lang)))
    scaled = pnl.money_scale_note(prep.study)
    if scaled is not None:
        out.append(words.note_text(scaled, lang, lambda k, v: i18n.number(v, lang, 3) if k == "scale" else v))
    return out


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
