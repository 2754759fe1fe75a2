"""The pilot section for one study: the design always, the measurement when ``care_manager.since``
is set.  Numbers and :class:`analysis.codes.Note` codes only; the page words them."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.models import simulate
from analysis.codes import Note
from analysis.errors import InputError
from analysis.sections.pilot import did, placebo, structural
from analysis.sections.pilot.power import PilotDesign, design
from analysis.sections.pilot.groups import home_block

__all__ = ["PilotAnalysis", "analyse", "conclusion", "did_verdict", "CONCLUSIONS", "design_inputs", "figures", "EffectDistribution", "effect_for_decision",
           "summary_note", "detectable_at_length",
           "DAYS_PER_MONTH", "N_BOOT", "calendar_months",
           "before_after_draws"]

DAYS_PER_MONTH = 365.25 / 12
N_BOOT = 400
#: Full bootstrap refits (baseline and E) that measure the baseline's error without a control group.
N_REFIT = 20
UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": DAYS_PER_MONTH}


@dataclass
class PilotAnalysis:
    """Everything the pilot page shows.

    Attributes
    ----------
    since : Timestamp or None
        First day of the pilot (None: no pilot yet, design only).
    blocks : list or None
        Pilot blocks; None = every block (no control group).
    control : bool
        Whether there is a control group (some clients homed outside the pilot blocks).
    elapsed_months : float
        Months of data from ``since`` to the end of the data.
    design : PilotDesign or None
    fit : structural.EffectFit or None
        The structural estimate of E; ``effect_draws`` its bootstrap (``n_boot`` resamples).
    comparison : did.Comparison or None
    event : did.EventStudy or None
    departures, gini : DataFrame or None
    placebo : placebo.Placebo or None
        The same estimate at made-up starts before ``since`` (:mod:`.placebo`).  Without a control
        group ``effect_draws`` are widened by its spread, and not given at all when it could not be
        computed; with a control group by its spread beyond the placebos' own sampling error
        (:attr:`.placebo.Placebo.excess`), and left as they are when it could not be computed.
    notes : list of Note
    """

    since: pd.Timestamp | None = None
    blocks: list | None = None
    control: bool = False
    elapsed_months: float = 0.0
    end: pd.Timestamp | None = None
    n_pilot: int = 0
    n_control: int = 0
    design: PilotDesign | None = None
    fit: structural.EffectFit | None = None
    effect_draws: np.ndarray | None = None
    n_boot: int = 0
    comparison: did.Comparison | None = None
    event: did.EventStudy | None = None
    departures: pd.DataFrame | None = None
    gini: pd.DataFrame | None = None
    more_months: int | None = None
    more_months_note: str | None = None
    placebo: placebo.Placebo | None = None
    n_censored: int = 0
    notes: list = field(default_factory=list)

    @property
    def measured(self) -> bool:
        return self.effect_draws is not None

    def effect_quantiles(self) -> tuple:
        return simulate.quantiles(self.effect_draws) if self.measured else (np.nan,) * 3

    @property
    def conclusion(self) -> str | None:
        """The page's conclusion, :func:`conclusion` (None when not measured)."""
        return conclusion(self)

    @property
    def not_measured_reason(self) -> str | None:
        """Why a running pilot has no measured effect, one code for every page (the summary's
        ``summary.pilot.not_measured.<code>``, the pilot page's notes): ``too_short`` (less than a
        month after the start), ``no_pilot_clients`` (no client homed in the pilot blocks),
        ``few_before`` (too few clients or repeat visits before the start for the baseline: more
        months will not help), ``too_recent`` (the design says it needs more months), ``not_pinned``
        (the model's estimate is not identified, at its bound or failed, and no more months are
        named), ``too_recent`` otherwise.  None when measured or
        without a pilot."""
        if self.since is None or self.measured:
            return None
        codes = {n.code for n in self.notes}
        if "pilot.note.too_short" in codes:
            return "too_short"
        if self.n_pilot == 0:
            return "no_pilot_clients"
        if codes & {"pilot.note.few_before_clients", "pilot.note.few_before_repeats"}:
            return "few_before"
        if "pilot.note.too_recent" in codes:   # more months would pin it down: the page says how many
            return "too_recent"
        if codes & {"pilot.note.not_identified", "pilot.note.on_bound", "pilot.note.effect_failed"}:
            return "not_pinned"
        return "too_recent"


#: The page's conclusions (catalogue ``pilot.conclusion.<code>``).
CONCLUSIONS = ("gain", "loss", "no_change", "disagree")


def _verdict(lo: float, hi: float) -> str:
    """What one P10…P90 range of a gain says: ``gain`` (all above zero), ``loss`` (all below) or
    ``unclear`` (it includes zero, or is not finite)."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "unclear"
    return "gain" if lo > 0 else "loss" if hi < 0 else "unclear"


def did_verdict(pa) -> str:
    """What the model-free difference-in-differences of the lapse rate says: ``gain`` when its whole
    P10…P90 range is below zero (the pilot group's lapse rate fell against the control group's),
    ``loss`` when above, ``unclear`` otherwise or without the comparison."""
    comp = getattr(pa, "comparison", None)
    if comp is None:
        return "unclear"
    t = comp.table.set_index("outcome")
    if "lapse_rate" not in t.index:
        return "unclear"
    # a fall of the lapse rate is the gain: the verdict on minus the change
    return _verdict(-float(t.loc["lapse_rate", "change_p90"]), -float(t.loc["lapse_rate", "change_p10"]))


def conclusion(pa) -> str | None:
    """What the pilot shows: the structural estimate leads, the model-free difference-in-differences
    checks it.

    The rule (also on the page, ``pilot.conclusion.rule``):

    * the structural estimate of E (:mod:`analysis.sections.pilot.structural`, its range widened by
      the design's own error measured by placebo starts in time, :mod:`.placebo`) shows a *gain* when
      its P10 is above zero, a *loss* when its P90 is below zero, and *no change* otherwise;
    * the model-free difference-in-differences of the lapse rate (:func:`did_verdict`) **blocks** a
      gain or a loss only when it contradicts it — its whole P10…P90 range on the other side of zero
      (the lapse rate rose in the pilot group against the control group while the model reads a
      gain, or the reverse): ``disagree``.  A DiD range that includes zero does not block: it is the
      less precise of the two (a lapse rate counts a client's return within a window; the model uses
      every visit's timing), and asking it to show the change as well left a real effect of E = 0.4
      concluded a gain in 1 seed of 10 (``benchmarks/RESULTS.md``, "Pilot").

    Measured over generated salons with known truth (``benchmarks/RESULTS.md``, "Pilot: a conclusion
    rule with power", slow test in ``tests/test_pilot.py``): a null pilot is concluded a gain no more
    often than the nominal 10 % of a P10, and a pilot with E = 0.4 is concluded a gain in most seeds.
    With ``disagree`` the page says so and the summary keeps the assumption (:func:`decision_note`).
    None when the pilot was not measured.
    """
    if pa is None or not getattr(pa, "measured", False):
        return None
    p10, _, p90 = pa.effect_quantiles()
    s = _verdict(p10, p90)
    if s == "unclear":
        return "no_change"
    opposite = {"gain": "loss", "loss": "gain"}[s]
    return "disagree" if did_verdict(pa) == opposite else s


def calendar_months(since, end) -> float:
    """Calendar months of data from ``since`` to ``end`` (both days included): whole months counted
    on the calendar (1 June … 30 June is 1.0; 15 January … 14 March is 2.0), the part month left over
    as its days over the length of that month.  Not days / 30.44, which calls a full June "less than a
    month"."""
    s = pd.Timestamp(since).normalize()
    e = pd.Timestamp(end).normalize() + pd.Timedelta(days=1)     # first day not in the data
    if e <= s:
        return 0.0
    m = (e.year - s.year) * 12 + e.month - s.month
    while s + pd.DateOffset(months=m) > e:
        m -= 1
    anchor, nxt = s + pd.DateOffset(months=m), s + pd.DateOffset(months=m + 1)
    return float(m + (e - anchor).days / (nxt - anchor).days)


def _done(v):
    if "status" in v.columns:
        return v[(v["status"].isna() | (v["status"] == "done")).to_numpy(bool)]
    return v


def design_inputs(visits: pd.DataFrame, end, unit: str = "W") -> dict:
    """What the design simulates from, as of ``end``: the BG/NBD fit (``params``), today's clients
    (``rfm_now``) and their home blocks (``home_now``, "all" without a block column), new clients a
    month over the last twelve months (``new_per_month``) and the blocks they start in
    (``new_home``, shares), and ``unit_days``."""
    from analysis.models.bgnbd import fit_bgnbd
    from analysis.sections.retention import rfm

    end = pd.Timestamp(end).normalize()
    v = _done(visits)
    v = v[pd.to_datetime(v["date"]).dt.normalize() <= end]
    r = rfm(v, end, unit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = fit_bgnbd(r).as_bgnbd_params()
    has_block = "block" in v.columns and v["block"].notna().any()
    vv = v if has_block else v.assign(block="all")
    home = home_block(vv, end + pd.Timedelta(days=1)).reindex(r.index).astype(str)
    date = pd.to_datetime(vv["date"]).dt.normalize()
    first = vv.assign(d=date).sort_values("d").groupby("client_id", observed=True).first()
    recent = first[first["d"] > end - pd.Timedelta(days=365)]
    span_months = min(12.0, max((end - date.min()).days, 1) / DAYS_PER_MONTH)
    return {"params": params, "rfm_now": r[["frequency", "recency", "T"]], "home_now": home,
            "new_per_month": len(recent) / span_months,
            "new_home": recent["block"].astype(str).value_counts(normalize=True), "unit_days": UNIT_DAYS[unit]}


def _design(study, visits, end, unit, current, seed):
    """Pilot design from the data up to ``end`` (today for a new pilot, ``since`` for a running one)."""
    eff = study["retention.care_manager_effect"]
    mode = float(getattr(eff, "mode", eff))
    return design(**design_inputs(visits, end, unit), assumed_effect=mode, seed=seed, current=current)


def before_after_draws(rows, fit, draws, pl, rng):
    """The draws of E of a design without a control group, with its two errors the score bootstrap
    leaves out: the baseline's sampling error (:func:`structural.baseline_refit_sd`, ``N_REFIT`` full
    refits) and the design's own error, the placebo spread (:func:`placebo.widen`).  None when the
    placebo could not be computed: nothing then separates the care manager from the salon's trends."""
    if not pl.available:
        return None
    d = structural.with_baseline_error(draws, fit.effect, structural.baseline_refit_sd(rows, fit, False, N_REFIT, rng))
    return placebo.widen(d, pl, rng)


#: A "no change" whose P10…P90 range spans more than this (a cut of the dropout from −50 % to +50 %,
#: or the assumed range when that is wider) says nothing a decision can use.
WIDE_NO_CHANGE = 1.0


def _few_before(rows: pd.DataFrame) -> Note | None:
    """A Note when the clients seen before ``since`` are too few for the BG/NBD baseline (the model's
    own minimums, :data:`analysis.models.bgnbd.MIN_CLIENTS` clients and
    :data:`~analysis.models.bgnbd.MIN_REPEATS` repeat visits), else None."""
    from analysis.models import bgnbd

    pre = rows["x_pre"].dropna()
    if len(pre) < bgnbd.MIN_CLIENTS:
        return Note("pilot.note.few_before_clients", {"need": bgnbd.MIN_CLIENTS}, n=int(len(pre)),
                    level="warning", topic="effect")
    if float(pre.sum()) < bgnbd.MIN_REPEATS:
        return Note("pilot.note.few_before_repeats", {"need": bgnbd.MIN_REPEATS}, n=int(pre.sum()),
                    level="warning", topic="effect")
    return None


def _measure_effect(out: PilotAnalysis, rows: pd.DataFrame, n_boot: int, rng) -> None:
    """Fit the structural E on ``rows`` into ``out`` (``fit``, and the bootstrap draws by client unless
    the fit is not identified or sits at the model's bound: then a Note instead)."""
    base = structural.fit_baseline(rows)
    lik = structural.EffectLikelihood(rows["x0"], rows["x1"], rows["tx"], rows["T"], rows["pilot"], [base, base])
    fit = structural.fit_effect(lik, control=out.control)
    out.fit = fit
    if not np.isfinite(fit.se):
        out.notes.append(Note("pilot.note.not_identified", {}, level="warning", topic="effect"))
    elif fit.at_bound:
        # the likelihood still rises at the edge of what the model allows (a cut of 99.5 %, a rise
        # of 300 %, or a time effect at its bound): an estimate at the edge with a range around it
        # would read as a measurement
        out.notes.append(Note("pilot.note.on_bound", {"effect": int(round(100 * fit.effect))},
                              level="warning", topic="effect"))
    else:
        out.effect_draws = structural.bootstrap_effect(lik, fit, out.control, n_boot, rng)
        out.n_boot = n_boot


def analyse(study, tables, n_boot: int = N_BOOT, seed: int | None = None) -> PilotAnalysis:
    """Design the pilot and, when ``care_manager.since`` is set, measure it.

    Measurement: structural E (:mod:`analysis.sections.pilot.structural`) with a bootstrap by client; the
    model-free difference-in-differences, event study, departures and load evenness
    (:mod:`analysis.sections.pilot.did`).  Clients of a leaving specialist are censored at the departure in
    the structural model and left out of the model-free comparison when the departure is less than a
    year before ``since`` or later (:func:`analysis.sections.pilot.structural.leaver_censoring`).  The
    range of E carries the design's own error measured by placebo starts in time (:mod:`.placebo`):
    with a control group the placebos' spread beyond their own sampling error, without one their whole
    spread and the baseline's refit error.  The page's conclusion is :func:`conclusion`: the
    structural estimate leads, the model-free comparison blocks it only when it points the other way.
    Every part the data cannot support is left out with a Note.
    """
    seed = int(study.get("simulation.seed") or 0) if seed is None else int(seed)
    visits = tables.visits
    unit = study.get("retention.time_unit") or "W"
    window = int(study.get("retention.lapse_window_days") or 90)
    dates = pd.to_datetime(_done(visits)["date"]).dt.normalize()
    end, start = dates.max(), dates.min()
    since = study.get("care_manager.since")
    blocks = study.get("care_manager.pilot_blocks")
    blocks = None if blocks in (None, "all") else list(blocks)
    has_block = tables.has("visits", "block")
    out = PilotAnalysis(end=end)

    def design_from_today():
        try:
            out.design = _design(study, visits, end, unit, None, seed)
            out.notes.extend(out.design.notes)
        except (InputError, ValueError, ArithmeticError, np.linalg.LinAlgError):
            # a salon too small or too young to simulate from: said on the page, never an error
            out.notes.append(Note("pilot.note.design_failed", {}, level="warning", topic="design"))
        return out

    if since is None:
        return design_from_today()
    since = pd.Timestamp(since).normalize()
    out.since = since
    if not start < since <= end:
        out.notes.append(Note("pilot.note.since_outside", {"since": since.date(), "first": start.date(),
                                                           "last": end.date()}, level="warning", topic="pilot"))
        return design_from_today()
    if blocks is not None and not has_block:
        out.notes.append(Note("pilot.note.no_blocks", {}, level="warning", topic="pilot"))
        blocks = None
    vv = visits if has_block else visits.assign(block="all")
    home = home_block(vv, since)
    unknown = [b for b in (blocks or []) if b not in set(home.dropna())]
    if unknown:
        out.notes.append(Note("pilot.note.unknown_blocks", {"blocks": ", ".join(map(str, unknown)),
                                                            "known": ", ".join(sorted(map(str, set(home.dropna()))))},
                              level="warning", topic="pilot"))
    pilot_clients = home.index[home.isin(blocks)] if blocks is not None else home.index
    out.blocks = blocks
    covers = study.get("care_manager.covers", "all")
    if blocks is not None and covers not in (None, "all") and covers:
        outside = [b for b in blocks if str(b) not in set(map(str, covers))]
        if outside:   # the role was tried where the decision does not put it: the measured effect may not carry over
            out.notes.append(Note("pilot.note.outside_covers", {"blocks": ", ".join(map(str, outside)),
                                                                "covers": ", ".join(map(str, covers))},
                                  level="warning", topic="pilot"))
    out.n_pilot = len(pilot_clients)
    out.n_control = len(home) - out.n_pilot
    out.control = blocks is not None and out.n_control > 0 and out.n_pilot > 0
    if blocks is not None and not out.control:
        out.notes.append(Note("pilot.note.no_control", {}, level="warning", topic="pilot"))
    if not out.control:
        out.notes.append(Note("pilot.note.before_after_only", {}, level="warning", topic="pilot"))
    out.elapsed_months = calendar_months(since, end)
    try:
        out.design = _design(study, visits, since - pd.Timedelta(days=1), unit,
                             blocks if out.control else "all", seed)
    except (InputError, ValueError, ArithmeticError, np.linalg.LinAlgError):
        out.notes.append(Note("pilot.note.design_failed", {}, level="warning", topic="design"))
    if out.design is not None:
        out.notes += out.design.notes
        need = out.design.months_needed
        if need is None:                 # not within the months simulated: no number to give
            out.more_months_note = "pilot.note.not_within"
        else:
            out.more_months = max(int(np.ceil(need - out.elapsed_months - 1e-9)), 0)
            if out.more_months > 0:
                out.notes.append(Note("pilot.note.too_recent", {"months": out.more_months, "needed": need},
                                      n=out.more_months, level="warning", topic="pilot"))
    else:
        out.more_months_note = "pilot.note.design_failed"
    if out.elapsed_months < 1:
        out.notes.append(Note("pilot.note.too_short", {}, level="warning", topic="pilot"))
        return out
    if out.n_pilot == 0:  # no client homed in the pilot blocks (noted above): nothing to measure
        return out

    rng = simulate.key_rng(seed, "pilot:bootstrap")
    # clients of a leaving specialist: observed up to the departure (structural), left out of the
    # model-free comparison when the departure falls in or near the compared periods
    censor = structural.leaver_censoring(visits, getattr(tables, "staff", None)) \
        if tables.has("visits", "specialist_id") else None
    out.n_censored = int(len(censor)) if censor is not None else 0
    # ---- structural E
    try:
        rows = structural.client_rows(visits, since, end, UNIT_DAYS[unit], pilot_clients, censor=censor)
        few = _few_before(rows)
        if few is not None:       # the baseline before `since` cannot be fitted: said in the reader's words
            out.notes.append(few)
        else:
            _measure_effect(out, rows, n_boot, rng)
    except (InputError, ValueError, np.linalg.LinAlgError):
        out.notes.append(Note("pilot.note.effect_failed", {}, level="warning", topic="effect"))
    # ---- placebo in time: the design's own error (true effect 0 before the start)
    if out.fit is not None:
        out.placebo = placebo.placebo(visits, since, end, UNIT_DAYS[unit], blocks, out.control, censor=censor)
        if out.control and out.measured:
            # with a control group: what the time effect cannot take up (blocks trending apart)
            pl = out.placebo
            out.effect_draws = placebo.design_error(out.effect_draws, pl, rng)
            if pl.n_excess >= placebo.MIN_EXCESS:
                out.notes.append(Note("pilot.note.placebo_control", {"count": pl.n_excess,
                                                                     "excess": int(round(100 * pl.excess))},
                                      level="info" if pl.excess <= placebo.SMALL_SPREAD else "warning",
                                      topic="effect"))
            else:
                out.notes.append(Note("pilot.note.placebo_control_unavailable",
                                      {"months": int(round(placebo.MIN_PRE_DAYS / DAYS_PER_MONTH)),
                                       "needed": placebo.MIN_EXCESS, "found": pl.n_excess},
                                      level="warning", topic="effect"))
        if not out.control and out.measured:
            # before/after only: nothing separates the care manager from the salon's own trends but
            # this check, so the range carries its error, and without it no range is given
            pl = out.placebo
            out.effect_draws = before_after_draws(rows, out.fit, out.effect_draws, pl, rng)
            if pl.available:
                est = np.asarray(pl.estimates, float)
                est = est[np.isfinite(est)]
                out.notes.append(Note("pilot.note.placebo", {"count": int(est.size),
                                                             "low": int(round(100 * est.min())),
                                                             "high": int(round(100 * est.max())),
                                                             "spread": int(round(100 * pl.spread))},
                                      level="info" if pl.small else "warning", topic="effect"))
            else:
                out.n_boot = 0
                out.notes.append(Note("pilot.note.placebo_unavailable",
                                      {"months": int(round(placebo.MIN_PRE_DAYS / DAYS_PER_MONTH))},
                                      level="warning", topic="effect"))
    # ---- model-free
    v_did = visits
    if censor is not None and len(censor):
        near = censor.index[censor >= since - pd.Timedelta(days=365)]
        v_did = visits[~visits["client_id"].isin(near).to_numpy()]
    vd = did.visit_days(v_did, since, pilot_clients, end)
    out.comparison = did.compare(vd, out.control, window, n_boot=min(n_boot, 300), rng=rng)
    if out.comparison.year_earlier is False and not out.control:
        out.notes.append(Note("pilot.note.no_year_earlier", {}, level="warning", topic="pilot"))
    out.event = did.event_study(vd, out.control, window, n_boot=min(n_boot, 300), rng=rng)
    if tables.has("visits", "specialist_id"):
        out.departures = did.departures(visits, getattr(tables, "staff", None), since, blocks or [], window)
        if has_block:
            out.gini = did.load_gini(visits, since, blocks or [])
    return out


def design_blocks(d, option: str | None = None) -> list | None:
    """The blocks of ``option`` (default: the recommended one) of a
    :class:`~analysis.sections.pilot.power.PilotDesign` (None: every block, before/after only, or no
    such option)."""
    option = getattr(d, "recommended", None) if option is None else option
    table = getattr(d, "table", None)
    if option is None or table is None or option not in set(table["option"]):
        return None
    b = table.set_index("option").loc[option, "blocks"]
    return [str(x) for x in b] if b is not None and not (isinstance(b, float) and np.isnan(b)) else None


def figures(pa: PilotAnalysis) -> dict:
    """``figures.pilot`` for results.json; the effect keys only when the pilot was measured."""
    d = pa.design
    det = d.detectable_effect if d is not None else None
    out = {
        "detectable_effect": det if det is not None and det < 1.0 else None,
        "months_needed": d.months_needed if d is not None else None,
        "design": d.recommended if d is not None else None,
        # the recommended design's blocks (None: every block, before/after), so the summary need not
        # simulate the design again
        "design_blocks": design_blocks(d),
    }
    if d is not None and d.months_needed is None:
        out["months_needed_note"] = "pilot.note.not_within"
    if det is not None and not det < 1.0:   # no effect up to 100 % is shown in 6 months
        out["detectable_effect_note"] = "pilot.headline.over_all"
    if pa.since is not None:
        out["pretrend_ok"] = pa.event.pretrend_ok if pa.event is not None else None
        # a number (0 once the pilot has run long enough), else the code of why there is none
        out["more_months_needed"] = pa.more_months
        if pa.more_months is None:
            out["more_months_needed_note"] = pa.more_months_note or "pilot.note.design_failed"
    if pa.measured:
        p10, p50, p90 = pa.effect_quantiles()
        out.update(effect_p10=p10, effect_median=p50, effect_p90=p90)
        out["conclusion"] = pa.conclusion
        if pa.comparison is not None:
            out["new_client_return_change"] = pa.comparison.change("new_client_return")
            out["ticket_change"] = pa.comparison.change("ticket")
    return out


@dataclass
class EffectDistribution:
    """The measured effect as a distribution the summary's Monte Carlo can draw from.

    ``draws`` are the bootstrap estimates of E; :meth:`sample` resamples them.
    """

    draws: np.ndarray
    p10: float
    median: float
    p90: float
    since: pd.Timestamp
    control: bool

    def sample(self, n: int, seed: int) -> np.ndarray:
        """``n`` values of E (resampled bootstrap draws, clipped to [-1, 1]), reproducible by seed."""
        rng = simulate.key_rng(seed, "pilot:effect")
        return np.clip(rng.choice(self.draws, size=int(n), replace=True), -1.0, 1.0)



def effect_for_decision(study, tables, analysis=None) -> EffectDistribution | None:
    """The measured care-manager effect for the summary, or None when the study has no measured
    pilot (then the summary keeps the assumed ``retention.care_manager_effect``).

    ``analysis`` is the page's :class:`PilotAnalysis`, or a callable returning it (called only when
    the study has a pilot, so the summary can pass its cached copy lazily)."""
    if study.get("care_manager.since") is None:
        return None
    pa = analysis() if callable(analysis) else analysis
    pa = pa if pa is not None else analyse(study, tables)
    if not pa.measured or decision_note(study, pa) is not None:
        return None
    p10, p50, p90 = pa.effect_quantiles()
    return EffectDistribution(np.asarray(pa.effect_draws, float), p10, p50, p90, pa.since, pa.control)


def decision_note(study, analysis) -> Note | None:
    """Why a measured pilot does *not* replace the assumed effect in the decision, or None when it does.

    One rule, the pilot page's: the page owns the conclusion (:func:`conclusion`) and the summary
    consumes it.  When the page concludes ``gain``, ``loss`` or ``no_change`` the summary uses the
    measured distribution of the effect (a measurement from the salon's own pilot beats a kit
    default, however wide its range: the range travels into the scenarios).  When the page concludes
    ``disagree`` (the model-free difference-in-differences points the other way from the structural
    estimate) the summary keeps the assumption and gives the page's own reason.  Without a control
    group (every block in the pilot: before/after only) the measurement is used only when the
    placebo starts before ``since`` show the design's own error is small
    (:attr:`analysis.sections.pilot.placebo.Placebo.small`); otherwise the assumption stays.
    A ``no_change`` is used only when its P10…P90 range is no wider than :data:`WIDE_NO_CHANGE` or the
    assumed effect's low…high (``retention.care_manager_effect`` of ``study``), whichever is wider:
    otherwise the pilot could not tell, and the assumption stays (``pilot.summary.not_used_wide``).
    """
    pa = analysis
    if pa is None or not pa.measured:
        return None
    p10, p50, p90 = pa.effect_quantiles()
    if not getattr(pa, "control", False):
        # no control group: before/after alone cannot separate the care manager from the salon's own
        # trends unless the placebo starts (:mod:`.placebo`) show the design's error is small (the
        # before/after comparison against a year earlier is always there: it is not a control group)
        pl = getattr(pa, "placebo", None)
        if pl is None or not pl.small:
            return Note("pilot.summary.not_used_no_control", {"p10": p10, "median": p50, "p90": p90},
                        level="warning", topic="pilot")
    concl = conclusion(pa)
    if concl == "no_change":
        # "no change" replaces the assumption only when the pilot says more than the assumption: its
        # P10…P90 no wider than the assumed low…high.  A wide range around zero is a pilot that could
        # not tell, not a measured zero
        assumed = study.get("retention.care_manager_effect") if study is not None else None
        width = max(float(assumed.high - assumed.low) if hasattr(assumed, "high") else 0.0, WIDE_NO_CHANGE)
        if not (p90 - p10 <= width + 1e-12):
            return Note("pilot.summary.not_used_wide", {"p10": p10, "median": p50, "p90": p90},
                        level="warning", topic="pilot")
        return None
    if concl in ("gain", "loss"):
        reach = detectable_at_length(pa)
        if reach is not None and not reach < 1.0:
            # the salon's own design says a pilot of this size and length cannot show even a 100 % cut
            # with 80 % power: a range clear of zero from such a pilot most likely exaggerates the
            # effect (type M error, Gelman & Carlin 2014), so it does not replace the assumption
            return Note("pilot.summary.not_used_underpowered", {"p10": p10, "median": p50, "p90": p90,
                                                                "months": int(pa.elapsed_months)},
                        level="warning", topic="pilot")
        return None
    return Note("pilot.summary.not_used_disagree", {"p10": p10, "median": p50, "p90": p90},
                level="warning", topic="pilot")


def detectable_at_length(pa) -> float | None:
    """Smallest effect the running pilot's own design (:attr:`PilotAnalysis.design`, simulated from the
    data before ``since``) shows with 80 % power after the months the pilot has run
    (``elapsed_months``; the standard error interpolated on log months between the simulated lengths,
    held at the grid's ends): ``(z_0.90 + z_0.80) x se``.  ``inf`` when the design's error is not
    finite; None without a design.  Same rule as :func:`analysis.sections.pilot.power.design`'s
    detectable effect (Gelman & Carlin 2014 on what an underpowered design's clear result means)."""
    from analysis.sections.pilot.power import Z_POWER, Z_SHOWN

    d = getattr(pa, "design", None)
    se = getattr(d, "se", None)
    if d is None or se is None or not len(se):
        return None
    rows = se[se["option"] == d.recommended].sort_values("months")
    if not len(rows):
        return None
    m = np.log(np.asarray(rows["months"], float))
    v = np.asarray(rows["se"], float)
    if not np.all(np.isfinite(v)):
        keep = np.isfinite(v)
        if not keep.any():
            return float("inf")
        m, v = m[keep], v[keep]
    at = float(np.interp(np.log(max(float(getattr(pa, "elapsed_months", 0.0)), 1e-9)), m, v))
    return float((Z_SHOWN + Z_POWER) * at)


def summary_note(measured: EffectDistribution) -> Note:
    """What the summary tells the reader when it used the measured effect (fields: ``since`` a date,
    ``median``, ``p10``, ``p90`` fractions)."""
    return Note("pilot.summary.used_measured", {"since": measured.since, "median": measured.median,
                                                "p10": measured.p10, "p90": measured.p90}, topic="pilot")
