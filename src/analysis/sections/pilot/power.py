"""Designing a pilot: how long, where, and what it can detect — power by simulation.

From the salon's own fitted BG/NBD model and client flow, pilots are simulated forward from today:

* today's clients keep their history; whether each is still a client, and her visit rate and
  dropout, are drawn from the model's posterior given that history (alive with probability
  P(alive); then ``lambda ~ Gamma(r + x, alpha + T)``, ``p ~ Beta(a, b + x)``);
* new clients arrive as the salon's last twelve months did (Poisson, same rate), homed in the blocks
  where new clients start, with ``lambda, p`` from the prior;
* after each visit a pilot-group client drops out with probability ``p (1 - E)``, the others ``p``.

For each candidate design and pilot length ``k`` months the information about ``E`` is the
Fisher information of the estimator's own likelihood
(:class:`analysis.sections.pilot.structural.EffectLikelihood`, time effect free when there is a control
group), estimated at the truth by the outer product of the clients' scores on the simulated data.
The page calls an effect *shown* when the lower end of
its range (P10) is above zero, so with ``se_k`` the standard error of ``E`` after ``k`` months::

    power(E, k) = Phi(E / se_k(E) - z_0.90),   detectable effect (80 %): E = (z_0.90 + z_0.80) se_k(E)

(``se`` falls as ``E`` grows, so the detectable effect is a root, found on a grid of effects)

(power by simulation, e.g. Arnold et al. 2011, *BMC Med Res Methodol* 11:94; the normal form of the
decision rule is the Wald test of the likelihood).  :data:`REPLICATES` simulated salons of today's size
per design, the same for every design (common random numbers); at most :data:`MAX_CLIENTS` of today's
clients are simulated, the information scaled up for larger salons.

The normal form is optimistic for short pilots in small salons: few clients drop out within the
months simulated, the estimate is skewed with a long tail of low values, and the information at the
truth understates its spread (on 2 500 clients at 6 months the design claimed 80 % where the page's
rule found 60–70 %).  So the **recommended design's detectable effect is found by the measurement
itself**: :func:`simulated_power` fits the page's estimator on :data:`SIM_REPS` simulated pilots per
effect and applies the page's decision rule (P10 of the bootstrap by client above zero, i.e. ``E_hat
- z_0.90 se_robust > 0``); :func:`_detectable_by_estimator` finds the effect shown in 80 % of them.
The ratio of that effect to the information's answer (:attr:`PilotDesign.calibration`, about 1.3 on
the sample) corrects every design's standard errors, hence the other designs' detectable effects, the
months needed and the power at the assumed effect.  :func:`detection_rate` checks the claimed power
against independent simulated pilots measured with the bootstrap itself (``tests/test_pilot.py``,
``benchmarks/RESULTS.md`` "Pilot: recovery").

**Which conclusion these figures are for.**  The page's conclusion
(:func:`analysis.sections.pilot.study.conclusion`) is the structural estimate's P10 above zero, unless
the model-free difference-in-differences of the lapse rate contradicts it (its whole range on the other
side of zero), with the range widened by the design's own error measured by placebo starts in time
(:func:`analysis.sections.pilot.placebo.design_error`).  The simulated pilots here follow the model:
no block drifts apart from the others, so that error is zero in expectation, and a real effect rarely
meets a contradicting DiD (0 of 10 seeds at E = 0.4 in ``benchmarks/RESULTS.md``, "Pilot: a conclusion
rule with power").  So the figures are the page's conclusion's power for a salon whose blocks move
together, the same as the structural estimate's; blocks that drift apart widen the measured range and
need a longer pilot than said here.  The simulated pilots carry no specialists' departures.  On ten
generated salons with E = 0.4 and departures the running design's power after ten months averaged 0.70
(7.0 gains expected) and the page concluded 6 (``benchmarks/RESULTS.md``, "Pilot: a conclusion rule
with power").
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm

from analysis.codes import Note
from analysis.sections.pilot.structural import EffectLikelihood

__all__ = ["Option", "PilotDesign", "simulate_pilot", "information", "design", "options_for",
           "detection_rate", "simulated_power", "SIM_REPS", "Z_SHOWN", "Z_POWER", "MONTHS_GRID", "MAX_MONTHS"]

Z_SHOWN = float(norm.ppf(0.90))   # lower end of the 80 % range above zero
Z_POWER = float(norm.ppf(0.80))   # 80 % power
MONTHS_GRID = (1, 2, 3, 4, 6, 9, 12, 18, 24, 36)
MAX_MONTHS = 36
MAX_CLIENTS = 4000
REPLICATES = 2        # simulated salons per design, information averaged
DAYS_PER_MONTH = 365.25 / 12


@dataclass
class Option:
    """A candidate design: ``name`` (one_block, half, everyone, current), its pilot blocks (None =
    every block, before/after only) and the share of clients in the pilot group."""

    name: str
    blocks: list | None
    share: float


def options_for(home: pd.Series, current=None) -> list[Option]:
    """Candidate designs from the clients' home blocks: the largest block against the others; the
    set of blocks nearest to half of the clients; everyone (before/after).  ``current`` (the running
    pilot's blocks, or "all") replaces them with the design actually running."""
    counts = home.value_counts()
    total = counts.sum()
    if current is not None:
        if current == "all" or not current:
            return [Option("current", None, 1.0)]
        cur = [b for b in current]
        return [Option("current", cur, float(counts.reindex(cur).fillna(0).sum() / total))]
    out = []
    if len(counts) >= 2:
        top = counts.index[0]
        out.append(Option("one_block", [top], float(counts.iloc[0] / total)))
        chosen, acc = [], 0
        for b, c in counts.items():           # greedy: largest blocks first, stop nearest to half
            if abs(acc + c - total / 2) < abs(acc - total / 2):
                chosen.append(b)
                acc += c
        if sorted(chosen) != [top] and len(chosen) < len(counts):
            out.append(Option("half", sorted(chosen), float(acc / total)))
    out.append(Option("everyone", None, 1.0))
    return out


def simulate_pilot(params: dict, rfm_now: pd.DataFrame, home_now: np.ndarray, new_per_month: float,
                   new_home_p: np.ndarray, pilot_codes, effect: float, unit_days: float, rng,
                   horizon_months: int = MAX_MONTHS, p_alive=None):
    """Simulate a pilot starting today for ``horizon_months``.

    Returns a dict of arrays, one element per client (today's, then the new ones): ``x0``, ``tx0``,
    ``T0`` (history at the start; for new clients ``x0 = 0`` and ``T0 = -arrival``), ``pilot``, and
    the visits after the start as a flat array ``times`` (time units from the start) with
    ``owner``.
    """
    r, al, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    H = horizon_months * DAYS_PER_MONTH / unit_days
    x = rfm_now["frequency"].to_numpy(float)
    tx = rfm_now["recency"].to_numpy(float)
    T = rfm_now["T"].to_numpy(float)
    n0 = x.size
    if p_alive is None:
        d = np.log(a) - np.log(np.where(x > 0, b + x - 1.0, 1.0)) + (r + x) * (np.log(al + T) - np.log(al + tx))
        p_alive = np.where(x > 0, 1.0 / (1.0 + np.exp(d)), 1.0)
    alive = rng.random(n0) < p_alive
    lam0 = rng.gamma(r + x, 1.0 / (al + T))
    p0 = rng.beta(a, b + x)
    n_new = rng.poisson(new_per_month * horizon_months)
    arr = rng.uniform(0, H, n_new)
    home_new = rng.choice(len(new_home_p), n_new, p=new_home_p)
    lam1, p1 = rng.gamma(r, 1.0 / al, n_new), rng.beta(a, b, n_new)
    lam = np.r_[lam0, lam1]
    p = np.r_[p0, p1]
    start = np.r_[np.zeros(n0), arr]
    home = np.r_[home_now, home_new]
    pilot = np.isin(home, list(pilot_codes)) if pilot_codes is not None else np.ones(home.size, bool)
    q = np.clip(p * np.where(pilot, 1.0 - effect, 1.0), 1e-12, 1.0)
    K = rng.geometric(q)
    n_arr = rng.poisson(lam * (H - start))
    n_arr[:n0] = np.where(alive, n_arr[:n0], 0)
    m = np.minimum(n_arr, K)
    owner = np.repeat(np.arange(m.size), n_arr)
    u = rng.random(owner.size)
    order = np.lexsort((u, owner))
    owner, u = owner[order], u[order]
    rank = np.arange(owner.size) - np.repeat(np.cumsum(n_arr) - n_arr, n_arr)
    keep = rank < m[owner]
    owner, u = owner[keep], u[keep]
    times = start[owner] + u * (H - start[owner])
    return {"x0": np.r_[x, np.zeros(n_new)], "tx0": np.r_[tx, np.zeros(n_new)], "T0": np.r_[T, -arr],
            "pilot": pilot, "times": times, "owner": owner, "n": m.size, "n_today": n0}


def _rows_at(sim, months: float, unit_days: float):
    """Likelihood rows after ``months`` of pilot: (x0, x1, tx, T, pilot) of the clients seen by then."""
    k = months * DAYS_PER_MONTH / unit_days
    n = sim["n"]
    seen = np.r_[np.ones(sim["n_today"], bool), -sim["T0"][sim["n_today"]:] < k]
    sel = sim["times"] < k
    x1 = np.bincount(sim["owner"][sel], minlength=n).astype(float)
    last = np.full(n, -np.inf)
    np.maximum.at(last, sim["owner"][sel], sim["times"][sel])
    T0 = sim["T0"]
    tx = np.where(x1 > 0, last + T0, sim["tx0"])          # from the first visit
    T = T0 + k
    return sim["x0"][seen], x1[seen], tx[seen], T[seen], sim["pilot"][seen]


def information(sim, params: dict, months: float, unit_days: float, control: bool, effect: float,
                h: float = 1e-4) -> float:
    """Standard error of E after ``months`` of the simulated pilot.

    The Fisher information is estimated at the truth by the outer product of the clients' scores,
    ``I = sum_i s_i s_i'`` (its expectation is the information, and unlike the observed Hessian at the
    truth it is never indefinite); ``se = sqrt((I^-1)_EE)``, the time effect free with a control
    group.  The scores are analytic (:meth:`EffectLikelihood.derivatives`); ``h`` is kept for
    callers and unused."""
    x0, x1, tx, T, pilot = _rows_at(sim, months, unit_days)
    lik = EffectLikelihood(x0, x1, tx, T, pilot, [params, params])
    with np.errstate(all="ignore"):
        _, S, _ = lik.derivatives(0.0, float(effect), order=1)   # analytic scores in (ln k, E)
        S = S if control else S[:, 1:]
        H = S.T @ S
    try:
        v = np.linalg.inv(H)[-1, -1]
    except np.linalg.LinAlgError:
        return float("inf")
    return float(np.sqrt(v)) if v > 0 else float("inf")


@dataclass
class PilotDesign:
    """Candidate pilots compared by simulation.

    Attributes
    ----------
    table : DataFrame
        One row per option: ``option``, ``blocks`` (list or None), ``share`` (of clients in the pilot
        group), ``control`` (bool), ``detectable_effect`` (80 % power, 6 months), ``months_needed``
        (to show the assumed most likely effect; NaN beyond :data:`MAX_MONTHS`),
        ``power_6m`` (at the assumed effect).
    recommended : str
        The option recommended: the one with a control group and the smallest detectable effect.
    assumed_effect : float
        The assumed most likely effect (``retention.care_manager_effect`` mode).
    se : DataFrame
        Standard error of E by option and month (``option``, ``months``, ``se``).
    notes : list of Note
    """

    table: pd.DataFrame
    recommended: str
    assumed_effect: float
    se: pd.DataFrame
    n_clients: int = 0
    scale: float = 1.0
    new_per_month: float = 0.0
    calibration: float = 1.0
    notes: list = field(default_factory=list)

    def row(self, option: str | None = None) -> pd.Series:
        return self.table.set_index("option").loc[option or self.recommended]

    @property
    def detectable_effect(self) -> float:
        return float(self.row()["detectable_effect"])

    @property
    def months_needed(self) -> float | None:
        m = self.row()["months_needed"]
        return None if not np.isfinite(m) else int(m)


def _z_months(se_by_month: np.ndarray, effect: float):
    """First month (interpolated on :data:`MONTHS_GRID`, rounded up) at which the effect is shown with
    80 % power; NaN if not within the grid."""
    z = effect / np.asarray(se_by_month)
    target = Z_SHOWN + Z_POWER
    months = np.asarray(MONTHS_GRID, float)
    ok = np.flatnonzero(z >= target)
    if effect <= 0 or not ok.size:
        return float("nan")
    i = ok[0]
    if i == 0:
        return float(months[0])
    m = months[i - 1] + (target - z[i - 1]) / (z[i] - z[i - 1]) * (months[i] - months[i - 1])
    return float(np.ceil(m - 1e-9))


EFFECT_GRID = (0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9, 0.99)


def _detectable(params, rfm_s, hc, new_per_month, nh, codes, unit_days, seed, control, months, scale):
    """Smallest E with 80 % power after ``months``: the root of ``E - (z_0.9 + z_0.8) se(E)``.

    ``se(E)`` falls as ``E`` grows (clients kept longer make more visits, which carry information),
    so the root is found on :data:`EFFECT_GRID` and interpolated linearly; inf when even 99 % is not
    shown.  The salons simulated are the design's own (common random numbers)."""
    g = []
    for e in EFFECT_GRID:
        info = 0.0
        for rep in range(REPLICATES):
            rng = np.random.default_rng([int(seed), 0x91107, rep])
            sim = simulate_pilot(params, rfm_s, hc, new_per_month, nh, codes, e, unit_days, rng, horizon_months=months)
            with np.errstate(divide="ignore"):
                info += np.float64(information(sim, params, months, unit_days, control, e)) ** -2.0
        if not (np.isfinite(info) and info > 0):   # nothing to learn from: this effect is not shown
            g.append(-np.inf)
            continue
        se = (info / REPLICATES * scale) ** -0.5
        g.append(e - (Z_SHOWN + Z_POWER) * se)
        if g[-1] >= 0:
            if len(g) == 1:
                return float(e)
            e0, g0 = EFFECT_GRID[len(g) - 2], g[-2]
            if not np.isfinite(g0):
                return float(e)
            return float(e0 + (0 - g0) / (g[-1] - g0) * (e - e0))
    return float("inf")


#: Simulated pilots per effect when the recommended design's detectable effect is found by fitting
#: the estimator itself (:func:`simulated_power`).
SIM_REPS = 24
POWER_TARGET = 0.80


def _detectable_by_estimator(params, rfm_s, hc, new_per_month, nh, codes, unit_days, control, months, seed, scale,
                             start):
    """Smallest effect the measurement's own rule shows with 80 % power after ``months``
    (:func:`simulated_power`), searched from ``start`` (the information's answer) by factors of
    1.35 up or down and interpolated linearly between the two effects around 80 %; inf when even
    99 % is not shown."""
    cache = {}

    def pw(e):
        e = float(min(e, EFFECT_GRID[-1]))
        if e not in cache:
            cache[e] = simulated_power(params, rfm_s, hc, new_per_month, nh, codes, unit_days, control, e, months,
                                       SIM_REPS, seed, scale)
        return e, cache[e]

    e0, p0 = pw(start)
    step = 1.35 if p0 < POWER_TARGET else 1 / 1.35
    for _ in range(6):
        e1, p1 = pw(e0 * step)
        if (p1 >= POWER_TARGET) != (p0 >= POWER_TARGET):
            lo, plo, hi, phi = (e0, p0, e1, p1) if e0 < e1 else (e1, p1, e0, p0)
            return float(lo + (POWER_TARGET - plo) / (phi - plo) * (hi - lo)) if phi != plo else float(hi)
        if e1 == e0 or (e1 >= EFFECT_GRID[-1] and p1 < POWER_TARGET):
            return float("inf") if p1 < POWER_TARGET else float(e1)
        e0, p0 = e1, p1
    return float(e0)


def design(params: dict, rfm_now: pd.DataFrame, home_now: pd.Series, new_per_month: float,
           new_home: pd.Series, assumed_effect: float, unit_days: float, seed: int = 0,
           current=None, months_for_detectable: int = 6, sim_reps: int | None = None) -> PilotDesign:
    """Compare pilot designs by simulation (see the module docstring).

    Parameters
    ----------
    params : dict
        Fitted BG/NBD ``{r, alpha, a, b}`` (time unit ``unit_days``).
    rfm_now : DataFrame
        Today's clients (``frequency``, ``recency``, ``T``), indexed by client_id.
    home_now : Series
        Home block of today's clients (same index).
    new_per_month : float
        New clients a month (last twelve months).
    new_home : Series
        Share of new clients by the block of their first visit.
    assumed_effect : float
        The effect whose months-needed is reported (``retention.care_manager_effect`` mode).
    current : list or "all", optional
        The running pilot's blocks: only that design is assessed.
    """
    sim_reps = SIM_REPS if sim_reps is None else int(sim_reps)
    rng = np.random.default_rng([int(seed), 0x91107])
    opts = options_for(home_now, current)
    blocks = sorted(set(home_now.dropna()) | set(new_home.index))
    code = {b: i for i, b in enumerate(blocks)}
    n = len(rfm_now)
    scale = 1.0
    rfm_s, home_s = rfm_now, home_now
    if n > MAX_CLIENTS:                      # simulate a fraction, scale the information back up
        pick = rng.choice(n, MAX_CLIENTS, replace=False)
        scale = n / MAX_CLIENTS
        rfm_s, home_s = rfm_now.iloc[pick], home_now.iloc[pick]
    hc = home_s.map(code).fillna(-1).to_numpy(int)
    nh = new_home.reindex(blocks).fillna(0.0).to_numpy(float)
    nh = nh / nh.sum() if nh.sum() > 0 else np.full(len(blocks), 1.0 / len(blocks))
    eff = float(assumed_effect) if assumed_effect and assumed_effect > 0 else 0.1
    rows, se_by, sim_args = [], {}, {}
    k6 = MONTHS_GRID.index(months_for_detectable)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for o in opts:
            control = o.blocks is not None
            codes = [code[b] for b in o.blocks if b in code] if control else None
            # common random numbers: every design simulates the same salons (same clients, visit
            # rates, dropouts and arrivals), so the designs differ by design, not by chance; the
            # information is averaged over REPLICATES simulated salons
            info = 0.0
            for rep in range(REPLICATES):
                rng = np.random.default_rng([int(seed), 0x91107, rep])
                sim = simulate_pilot(params, rfm_s, hc, new_per_month / scale, nh, codes, eff, unit_days, rng)
                se_k = np.array([information(sim, params, k, unit_days, control, eff) for k in MONTHS_GRID])
                info = info + se_k ** -2.0
            se = (info / REPLICATES) ** -0.5
            # information only grows with more months: the estimate from simulated salons is noisy,
            # so keep its running maximum
            se_by[o.name] = 1.0 / np.sqrt(np.maximum.accumulate(np.nan_to_num(se ** -2.0)) * scale)
            det = _detectable(params, rfm_s, hc, new_per_month / scale, nh, codes, unit_days, seed, control,
                              months_for_detectable, scale)
            sim_args[o.name] = (codes, control)
            rows.append({"option": o.name, "blocks": o.blocks, "share": o.share, "control": control,
                         "detectable_effect": float(det)})
        table = pd.DataFrame(rows)
        with_control = table[table["control"]]
        if current is not None:
            rec = opts[0].name
        elif len(with_control):
            rec = str(with_control.sort_values("detectable_effect")["option"].iloc[0])
        else:
            rec = "everyone"
        # calibration: the recommended design's detectable effect by fitting the estimator itself
        det_info = float(table.set_index("option").loc[rec, "detectable_effect"])
        codes, control = sim_args[rec]
        det_sim = _detectable_by_estimator(params, rfm_s, hc, new_per_month / scale, nh, codes, unit_days, control,
                                           months_for_detectable, seed, scale, det_info) \
            if sim_reps and np.isfinite(det_info) and det_info < EFFECT_GRID[-1] else det_info
        calib = det_sim / det_info if np.isfinite(det_sim) and np.isfinite(det_info) and det_info > 0 else 1.0
    se_rows = []
    for i, o in enumerate(opts):
        se = se_by[o.name] * calib
        se_rows += [{"option": o.name, "months": k, "se": x} for k, x in zip(MONTHS_GRID, se)]
        table.loc[i, "detectable_effect"] = det_sim if o.name == rec else table.loc[i, "detectable_effect"] * calib
        table.loc[i, "months_needed"] = _z_months(se, float(assumed_effect))
        table.loc[i, "power_6m"] = float(norm.cdf(float(assumed_effect) / se[k6] - Z_SHOWN))
    out = PilotDesign(table, rec, float(assumed_effect), pd.DataFrame(se_rows), n_clients=n, scale=scale,
                      new_per_month=float(new_per_month), calibration=float(calib))
    if not np.isfinite(table.set_index("option").loc[rec, "months_needed"]):
        out.notes.append(Note("pilot.note.not_within", {"months": MAX_MONTHS}, level="warning", topic="pilot"))
    return out


def detection_rate(params: dict, rfm_now: pd.DataFrame, home_now: pd.Series, new_per_month: float,
                   new_home: pd.Series, option: Option, effect: float, months: int, unit_days: float,
                   reps: int = 40, seed: int = 0) -> float:
    """Share of ``reps`` simulated pilots in which the measurement shows the effect: the estimator of
    the page (:func:`analysis.sections.pilot.structural.fit_effect`) and its decision rule, the P10 of the
    bootstrap by client above zero (:func:`analysis.sections.pilot.structural.bootstrap_effect`, 400 draws):
    the check of :func:`design`'s power against direct simulation."""
    from analysis.sections.pilot.structural import bootstrap_effect, fit_effect

    rng = np.random.default_rng([int(seed), 0xDE7EC7])
    blocks = sorted(set(home_now.dropna()) | set(new_home.index))
    code = {b: i for i, b in enumerate(blocks)}
    hc = home_now.map(code).fillna(-1).to_numpy(int)
    nh = new_home.reindex(blocks).fillna(0.0).to_numpy(float)
    nh = nh / nh.sum()
    control = option.blocks is not None
    codes = [code[b] for b in option.blocks] if control else None
    shown = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(reps):
            sim = simulate_pilot(params, rfm_now, hc, new_per_month, nh, codes, effect, unit_days, rng,
                                 horizon_months=months)
            x0, x1, tx, T, pilot = _rows_at(sim, months, unit_days)
            lik = EffectLikelihood(x0, x1, tx, T, pilot, [params, params])
            fit = fit_effect(lik, control)
            if not np.isfinite(fit.se):
                continue
            draws = bootstrap_effect(lik, fit, control, 400, rng)
            shown += bool(np.quantile(draws, 0.1) > 0)
    return shown / reps


def simulated_power(params: dict, rfm_s: pd.DataFrame, hc: np.ndarray, new_per_month: float, nh: np.ndarray,
                    codes, unit_days: float, control: bool, effect: float, months: int, reps: int, seed: int,
                    scale: float = 1.0) -> float:
    """Power of the measurement's own rule, by fitting the estimator on ``reps`` simulated pilots.

    In each simulated pilot the page's estimator is fitted and its decision statistic computed,
    ``D = E_hat - z_0.90 se_robust`` (the P10 of the bootstrap by client: its draws spread as the
    sandwich standard error, :func:`analysis.sections.pilot.structural.robust_se`); the effect is shown when
    ``D > 0``, and the power is the share of replicates that show it (counted: the estimates are
    skewed, with a long tail of low values in short pilots, so a normal form of ``D`` would
    understate the power).  The replicates are the same for every effect (common random numbers),
    so the power rises smoothly with the effect.  With ``scale`` > 1 (a salon larger than the simulated one) the deviations of
    ``E_hat`` and ``se`` shrink by ``sqrt(scale)``.
    """
    from analysis.sections.pilot.structural import fit_effect, robust_se

    D = []
    for rep in range(reps):
        rng = np.random.default_rng([int(seed), 0x51317, rep])
        sim = simulate_pilot(params, rfm_s, hc, new_per_month, nh, codes, effect, unit_days, rng, horizon_months=months)
        x0, x1, tx, T, pilot = _rows_at(sim, months, unit_days)
        lik = EffectLikelihood(x0, x1, tx, T, pilot, [params, params])
        fit = fit_effect(lik, control, start=[0.0, effect] if control else [effect])   # from the truth
        se = robust_se(lik, fit, control)
        if not np.isfinite(se):
            D.append(-np.inf)
            continue
        root = np.sqrt(scale)
        D.append(effect + (fit.effect - effect) / root - Z_SHOWN * se / root)
    return float(np.mean(np.asarray(D) > 0))     # a replicate without an estimate shows nothing
