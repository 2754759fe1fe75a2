"""The decision: net present value of creating the care-manager role, scenario by scenario.

Monthly cash flow of scenario ``s`` in month ``m = 1 … H`` (the horizon)::

    cf[s, m] =  staff_saving_month[s]                    (client managers no longer needed)
              + retention[s, m]                          (margin of clients kept longer, members' fees included)
              + departures_margin_year[s] / 12 · ramp[s, m]  (margin kept when a specialist leaves)
              − role_cost_month[s]                       (the role's cost: scheme × managers, tax)
              − setup_cost[s] · [m = 1]                  (recruitment and training)

    ramp[s, m] = min(m / ramp_months[s], 1)        (1 everywhere when ramp_months = 0)
    NPV[s]     = Σ_m cf[s, m] · (1 + r)^(−m/12)    (r = annual discount rate; month-end flows)

The retention gain follows the visit model's own timing: ``w[j]`` is the share of the horizon's
gain that falls in month ``j`` when the effect is at full strength from the start
(:func:`analysis.sections.retention.gain_profile`, which builds up as the clients kept accumulate).  The
ramp is applied once, by superposition: the effect grows by ``ramp[s, k] − ramp[s, k − 1]`` in
month ``k`` and each step brings its own gain profile from then on::

    retention[s, m] = retention_margin_year[s] · H / 12 · Σ_{k ≤ m} (ramp[s, k] − ramp[s, k−1]) · w[m − k + 1]

Without a profile (``retention_profile=None``) the gain is spread evenly, ``w[j] = 1 / H``.  The
profile is one ``w`` (H,) for every scenario or one per scenario, ``w[s, j]`` (n, H): the gain's
timing at scenario ``s``'s own effect (a larger cut keeps more clients, who build up for longer).

Every input is an array over the same Monte Carlo scenarios (``analysis.models.simulate``), so the sections'
correlations are kept.  The payback month is the first month at which the median cumulative
discounted cash flow turns non-negative and stays so; −1 when it never does within the horizon.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["PARTS", "discount_factors", "ramp", "monthly_flows", "NPVResult", "npv", "payback_month",
           "verdict", "verdict_level", "VERDICTS", "ramped_profile", "part_npvs"]

# The verdict levels, in the order of precedence (analysis.sections.summary.verdict has the rules).
VERDICTS = ("not_enough_data", "confirm_inputs", "create", "pilot", "do_not_create")

# The parts of the cash flow, in the order of the waterfall, with their sign.
PARTS = ("staff_saving", "retention", "departures", "role_cost", "setup")


def discount_factors(horizon_months: int, annual_rate: float) -> np.ndarray:
    """``(1 + r)^(−m/12)`` for ``m = 1 … horizon_months``."""
    m = np.arange(1, int(horizon_months) + 1, dtype=float)
    return (1.0 + float(annual_rate)) ** (-m / 12.0)


def ramp(horizon_months: int, ramp_months) -> np.ndarray:
    """Share of the full effect reached in each month: ``min(m / ramp_months, 1)``, (n, H)."""
    m = np.arange(1, int(horizon_months) + 1, dtype=float)
    rm = np.atleast_1d(np.asarray(ramp_months, float))[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(rm > 0, np.minimum(m / np.where(rm > 0, rm, 1.0), 1.0), 1.0)
    return r


def ramped_profile(total, ramp_nh: np.ndarray, profile) -> np.ndarray:
    """``total[s] · Σ_{k ≤ m} Δramp[s, k] · w[m − k + 1]`` (see the module docstring), (n, H);
    ``profile`` is ``w`` (H,) or one per scenario (n, H)."""
    n, H = ramp_nh.shape
    w = np.asarray(profile, float)
    steps = np.diff(np.concatenate([np.zeros((n, 1)), ramp_nh], axis=1), axis=1)   # (n, H)
    if w.ndim == 2:
        n = max(n, w.shape[0])
        w, steps = np.broadcast_to(w[:, :H], (n, H)), np.broadcast_to(steps, (n, H))
        out = np.zeros((n, H))
        for j in range(H):                                                          # lag m - k = j
            out[:, j:] += steps[:, :H - j] * w[:, j:j + 1]
        return np.asarray(total, float)[:, None] * out
    w = w[:H]
    lag = np.arange(H)[:, None] - np.arange(H)[None, :]                             # m - k
    kernel = np.where(lag >= 0, w[np.clip(lag, 0, H - 1)], 0.0)                      # (m, k)
    return np.asarray(total, float)[:, None] * (steps @ kernel.T)


def monthly_flows(staff_saving_month, role_cost_month, retention_margin_year, departures_margin_year,
                  setup_cost, horizon_months: int, ramp_months, retention_profile=None) -> dict[str, np.ndarray]:
    """Cash-flow parts per scenario and month, each (n, H); costs are negative.

    ``retention_profile`` (H,) is the share of the horizon's retention gain in each month at full
    effect (sums to 1); None spreads it evenly."""
    arrays = [np.atleast_1d(np.asarray(a, float)) for a in
              (staff_saving_month, role_cost_month, retention_margin_year, departures_margin_year,
               setup_cost, ramp_months)]
    n = max(a.shape[0] for a in arrays)
    s_save, c_role, r_year, d_year, c_setup, rm = (np.broadcast_to(a, (n,)) for a in arrays)
    H = int(horizon_months)
    ones = np.ones((1, H))
    rp = ramp(H, rm)
    setup = np.zeros((n, H))
    setup[:, 0] = -c_setup
    return {
        "staff_saving": s_save[:, None] * ones,
        "retention": (np.nan_to_num(r_year)[:, None] / 12.0 * rp if retention_profile is None else
                      ramped_profile(np.nan_to_num(r_year) * H / 12.0, rp, retention_profile)),
        "departures": np.nan_to_num(d_year)[:, None] / 12.0 * rp,
        "role_cost": -c_role[:, None] * ones,
        "setup": setup,
    }


def part_npvs(staff_saving_month, role_cost_month, retention_margin_year, departures_margin_year,
              setup_cost, horizon_months: int, ramp_months, annual_rate: float,
              retention_profile=None, only=None) -> dict[str, np.ndarray]:
    """The NPV of each part per scenario, ``(n,)`` each, without building the ``(n, H)`` flows:
    the same numbers as ``npv(monthly_flows(...)).parts`` (for the tornado, which needs only the
    NPV).  The ramped retention gain is discounted through ``g[k] = sum_{m >= k} disc[m] w[m - k + 1]``
    (the discounted gain of an effect step taken in month ``k``), so its NPV is
    ``total[s] · sum_k Δramp[s, k] g[k]``.  ``only`` names the parts to compute (default all)."""
    H = int(horizon_months)
    disc = discount_factors(H, annual_rate)
    want = set(PARTS if only is None else only)
    out = {}
    flat = lambda a: np.atleast_1d(np.asarray(a, float))  # noqa: E731
    if "staff_saving" in want:
        out["staff_saving"] = flat(staff_saving_month) * disc.sum()
    if "role_cost" in want:
        out["role_cost"] = -flat(role_cost_month) * disc.sum()
    if "setup" in want:
        out["setup"] = -flat(setup_cost) * disc[0]
    if want & {"retention", "departures"}:
        rp = ramp(H, ramp_months)
        if "departures" in want:
            out["departures"] = np.nan_to_num(flat(departures_margin_year)) / 12.0 * (rp @ disc)
        if "retention" in want:
            r_year = np.nan_to_num(flat(retention_margin_year))
            if retention_profile is None:
                out["retention"] = r_year / 12.0 * (rp @ disc)
            else:
                w = np.asarray(retention_profile, float)
                steps = np.diff(np.concatenate([np.zeros((rp.shape[0], 1)), rp], axis=1), axis=1)
                if w.ndim == 2:   # one profile per scenario: g[s, k] = sum_j disc[k + j] w[s, j]
                    n = max(steps.shape[0], w.shape[0], r_year.shape[0])
                    w, steps = np.broadcast_to(w[:, :H], (n, H)), np.broadcast_to(steps, (n, H))
                    g = np.zeros((n, H))
                    for j in range(H):
                        g[:, :H - j] += w[:, j:j + 1] * disc[None, j:]
                    out["retention"] = r_year * H / 12.0 * (steps * g).sum(axis=1)
                    return out
                w = w[:H]
                lag = np.arange(H)[:, None] - np.arange(H)[None, :]                  # m - k
                kernel = np.where(lag >= 0, w[np.clip(lag, 0, H - 1)], 0.0)           # (m, k)
                g = disc @ kernel                                                    # (k,)
                out["retention"] = r_year * H / 12.0 * (steps @ g)
    return out


@dataclass
class NPVResult:
    """NPV of the role, per scenario.

    Attributes
    ----------
    npv : ndarray (n,)
        Net present value of each scenario.
    parts : dict of ndarray (n,)
        The NPV of each part of the cash flow (they add up to ``npv``).
    cumulative_median : ndarray (H,)
        Median over scenarios of the cumulative discounted cash flow, month by month.
    payback_month : int
        First month from which ``cumulative_median`` stays ≥ 0; −1 if none within the horizon.
    """

    npv: np.ndarray
    parts: dict
    cumulative_median: np.ndarray
    cumulative_p10: np.ndarray
    cumulative_p90: np.ndarray
    payback_month: int
    discount: np.ndarray = field(repr=False)

    @property
    def prob_positive(self) -> float:
        """Share of scenarios in which the role pays off (NPV > 0)."""
        return float(np.mean(self.npv > 0))

    def quantiles(self) -> tuple[float, float, float]:
        return tuple(np.quantile(self.npv, [0.1, 0.5, 0.9]))

    def parts_table(self) -> pd.DataFrame:
        """Median NPV of each part and of the total, with P10 and P90."""
        rows = []
        for name in PARTS:
            v = self.parts[name]
            rows.append({"part": name, "npv_p10": np.quantile(v, 0.1), "npv_median": np.median(v),
                         "npv_p90": np.quantile(v, 0.9), "npv_mean": v.mean()})
        v = self.npv
        rows.append({"part": "total", "npv_p10": np.quantile(v, 0.1), "npv_median": np.median(v),
                     "npv_p90": np.quantile(v, 0.9), "npv_mean": v.mean()})
        return pd.DataFrame(rows)


def payback_month(cumulative) -> int:
    """First month (1-based) from which ``cumulative`` stays ≥ 0; −1 when it never does."""
    c = np.asarray(cumulative, float)
    if c.size == 0 or c[-1] < 0:
        return -1
    negative = np.nonzero(c < 0)[0]
    return int(negative[-1] + 2) if negative.size else 1


def npv(flows: dict[str, np.ndarray], annual_rate: float) -> NPVResult:
    """Discount the monthly flows (see the module docstring)."""
    H = next(iter(flows.values())).shape[1]
    disc = discount_factors(H, annual_rate)
    parts = {k: (v * disc).sum(axis=1) for k, v in flows.items()}
    net = sum(flows.values())
    cum = np.cumsum(net * disc, axis=1)
    p10, med, p90 = np.quantile(cum, [0.1, 0.5, 0.9], axis=0)
    return NPVResult(npv=sum(parts.values()), parts=parts, cumulative_median=med, cumulative_p10=p10,
                     cumulative_p90=p90, payback_month=payback_month(med), discount=disc)


def verdict_level(*, enough_data: bool, setup_known: bool, decisive_defaults: bool, checks_failed: bool,
                  prob_positive: float, hinges_on_retention: bool, recommend_prob: float = 0.7,
                  reject_prob: float = 0.3) -> str:
    """The verdict, first rule that applies::

        not_enough_data  the data cannot support the decision
        confirm_inputs   today's setup unknown, or a decisive input is a kit default
        do_not_create    P < reject_prob, even when a sanity check failed
        confirm_inputs   a sanity check failed (it blocks "create" and "pilot" only)
        create           P >= recommend_prob and the role pays off even at the low end of the
                         care-manager effect (not hinging on retention)
        pilot            otherwise: the answer hinges on the retention effect

    ``P`` is the chance that the role pays off (NPV > 0).  A failed sanity check
    (:func:`analysis.sections.summary.sanity_checks`) does not hold back "do not create": every
    check fails in the direction that flatters the role (a role too costly for the blocks' profit,
    a converted pay below the legal minimum, an assumed payroll of today's managers too large to
    be real, too few clients per care manager), so with the facts corrected the role would pay
    off no more often than it already fails to.  The summary says which checks failed beside the
    answer (reason ``check_failed``).
    """
    if not enough_data:
        return "not_enough_data"
    if not setup_known or decisive_defaults:
        return "confirm_inputs"
    if not np.isfinite(prob_positive):
        return "not_enough_data"
    by_chance = verdict(prob_positive, recommend_prob, reject_prob)
    if checks_failed:
        return "do_not_create" if by_chance == "do_not_create" else "confirm_inputs"
    if by_chance == "create" and hinges_on_retention:
        return "pilot"
    return by_chance


def verdict(prob_positive: float, recommend_prob: float = 0.7, reject_prob: float = 0.3) -> str:
    """``"create"``, ``"pilot"`` or ``"do_not_create"`` from the chance that the role pays off
    alone (the full rules are :func:`verdict_level`)."""
    if prob_positive >= recommend_prob:
        return "create"
    if prob_positive < reject_prob:
        return "do_not_create"
    return "pilot"
