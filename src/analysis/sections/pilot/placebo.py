"""Placebo tests in time: the pilot's own estimator run at made-up start dates before the real one.

Before the real start nobody had a care manager, so at a made-up start the true effect is 0 and
whatever the estimator finds there is the design's own error: the salon's trends (an ageing client
base, a changing mix of new and old clients, seasons, prices) that the before/after comparison
counts as the care manager's effect.  The spread of these placebo estimates is the standard check
of a design without a control group (placebo or "in-time placebo" tests: Abadie, Diamond &
Hainmueller 2015; Athey & Imbens 2017, "supplementary analyses"), and the pilot page widens the range of the
real estimate by it (:func:`widen`).

Two uses.  Without a control group the placebo estimates' root mean square (:attr:`Placebo.spread`)
is the design's error as a whole: nothing but this check separates the care manager from the salon's
trends.  With a control group the time effect ``k`` already takes up what changed for everyone, and
what is left for the placebo to find is what the model cannot see — blocks that trend apart, a
departure in one group, a mix of clients that shifts in one group only.  Each placebo estimate then
carries its own sampling error too (its window is short: it ends before the real start), so only the
part of their spread **beyond** their own standard errors is the design's error
(:attr:`Placebo.excess`: ``tau^2 = mean(est_j^2 - se_j^2)``, at least 0 — the method-of-moments
between-study variance of a random-effects meta-analysis, DerSimonian & Laird 1986).  When the
model is right it is about 0 and the range keeps its width; when the blocks drift apart the
placebos scatter beyond their errors and the range widens by it.

The made-up starts are :data:`STEP_DAYS` apart before the real one; each made-up pilot lasts as long
as the real one but ends at the latest the day before the real start (the data after it are not
used, so the real pilot cannot leak in), and keeps :data:`MIN_PRE_DAYS` of data before its own start
for the baseline fit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.sections.pilot import structural
from analysis.sections.pilot.groups import home_block

__all__ = ["Placebo", "placebo", "widen", "design_error", "N_PLACEBO", "STEP_DAYS", "MIN_PRE_DAYS", "SMALL_SPREAD",
           "MIN_EXCESS"]

#: How many made-up starts, how far apart, and how much data each needs before its start.
N_PLACEBO = 4
STEP_DAYS = 61
MIN_PRE_DAYS = 270
#: With a control group, the fewest placebo estimates :attr:`Placebo.excess` is trusted on: one or two
#: short placebo windows scatter so widely that a Student t with one or two degrees of freedom
#: swamped the range (a real E = 0.4 concluded a gain in 3 seeds of 10 instead of 6, on salons
#: whose blocks do not drift apart: ``benchmarks/RESULTS.md``, "Pilot: a conclusion rule with power").
MIN_EXCESS = 3
#: A placebo spread (root mean square of the placebo estimates) at or below this is "small": the
#: design's own error is then a few points of E, below the resolution the summary works at.
SMALL_SPREAD = 0.05


@dataclass
class Placebo:
    """The placebo estimates of E (true value 0) at made-up starts ``starts``, windows ending at
    ``ends`` (NaN where the estimate is not identified).  ``spread`` is their root mean square (their bias and
    scatter together; NaN without any)."""

    starts: list
    ends: list
    estimates: np.ndarray
    #: each placebo estimate's own standard error (observed information; NaN where not identified)
    ses: np.ndarray | None = None

    @property
    def spread(self) -> float:
        e = np.asarray(self.estimates, float)
        e = e[np.isfinite(e)]
        return float(np.sqrt(np.mean(e ** 2))) if e.size else float("nan")

    @property
    def available(self) -> bool:
        return bool(np.isfinite(self.spread))

    @property
    def excess(self) -> float:
        """The design's error beyond the placebo estimates' own sampling error:
        ``sqrt(max(0, mean(est_j^2 - se_j^2)))`` over the placebos with an estimate and a standard
        error (DerSimonian & Laird 1986's moment estimator with a true value of 0); NaN without any."""
        e = np.asarray(self.estimates, float)
        s = np.asarray(self.ses if self.ses is not None else np.full(e.size, np.nan), float)
        ok = np.isfinite(e) & np.isfinite(s)
        if not ok.any():
            return float("nan")
        return float(np.sqrt(max(0.0, float(np.mean(e[ok] ** 2 - s[ok] ** 2)))))

    @property
    def n_excess(self) -> int:
        """How many placebo estimates :attr:`excess` rests on."""
        e = np.asarray(self.estimates, float)
        s = np.asarray(self.ses if self.ses is not None else np.full(e.size, np.nan), float)
        return int((np.isfinite(e) & np.isfinite(s)).sum())

    @property
    def small(self) -> bool:
        return self.available and self.spread <= SMALL_SPREAD


def _windows(start, since, end, n=N_PLACEBO):
    """(made-up start, end) pairs: starts :data:`STEP_DAYS` apart before ``since``, each window as
    long as the real pilot's but ending at the latest the day before ``since``; a start needs
    :data:`MIN_PRE_DAYS` of data before it."""
    real = (end - since).days + 1
    out = []
    for j in range(1, n + 1):
        s = since - pd.Timedelta(days=j * STEP_DAYS)
        if (s - start).days < MIN_PRE_DAYS:
            break
        e = min(since - pd.Timedelta(days=1), s + pd.Timedelta(days=real - 1))
        out.append((s, e))
    return out


def placebo(visits: pd.DataFrame, since, end, unit_days: float, blocks=None, control: bool = False,
            censor=None, n: int = N_PLACEBO) -> Placebo:
    """The same structural estimate as the page's (:mod:`.structural`: baseline fitted before the
    start, ``E`` — and with a control group the time effect ``k`` — fitted after it) at up to ``n``
    made-up starts before ``since``.  ``blocks`` the pilot blocks (None: every client in the pilot
    group, before/after only)."""
    v = visits
    if "status" in v.columns:
        v = v[(v["status"].isna() | (v["status"] == "done")).to_numpy(bool)]
    date = pd.to_datetime(v["date"]).dt.normalize()
    since, end = pd.Timestamp(since).normalize(), pd.Timestamp(end).normalize()
    wins = _windows(date.min(), since, end, n)
    ests, ses, starts, ends = [], [], [], []
    for s, e in wins:
        vv = v[(date <= e).to_numpy()]
        if control and blocks is not None:
            vb = vv if "block" in vv.columns else vv.assign(block="all")
            home = home_block(vb, s)
            clients = home.index[home.isin(blocks)]
            ctl = len(clients) > 0 and len(clients) < len(home)
        else:
            clients = pd.Index(pd.unique(vv["client_id"]))
            ctl = False
        try:
            rows = structural.client_rows(vv, s, e, unit_days, clients, censor=censor)
            base = structural.fit_baseline(rows)
            lik = structural.EffectLikelihood(rows["x0"], rows["x1"], rows["tx"], rows["T"], rows["pilot"],
                                              [base, base])
            fit = structural.fit_effect(lik, control=ctl)
            est = fit.effect if fit.converged else np.nan     # on a bound or flat: not identified
            se = fit.se if fit.converged else np.nan
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            est = se = np.nan
        ests.append(est)
        ses.append(se)
        starts.append(s)
        ends.append(e)
    return Placebo(starts, ends, np.asarray(ests, float), np.asarray(ses, float))


def widen(draws: np.ndarray, pl: Placebo, rng, scale: float | None = None, dof: int | None = None) -> np.ndarray:
    """The bootstrap draws of E with the design's own error added: each draw plus an error with
    ``scale`` (by default the placebo spread) as its scale, drawn from Student's t with ``dof`` (by
    default as many as there are placebo estimates: the scale is itself estimated from a handful of
    them; the variances add: sampling error and the design's error taken as independent).
    Unchanged without placebo estimates or with a scale of 0."""
    d = np.asarray(draws, float)
    scale = pl.spread if scale is None else float(scale)
    if not pl.available or not np.isfinite(scale) or scale <= 0:
        return d
    dof = int(np.isfinite(np.asarray(pl.estimates, float)).sum()) if dof is None else int(dof)
    return np.clip(d + scale * rng.standard_t(max(dof, 1), d.size), structural.E_BOUNDS[0], 1.0)


def design_error(draws: np.ndarray, pl: Placebo, rng) -> np.ndarray:
    """With a control group: the draws widened by the placebo's :attr:`~Placebo.excess` (Student's t
    with as many degrees of freedom as placebo estimates it rests on).  Unchanged when it is 0, or
    rests on fewer than :data:`MIN_EXCESS` placebo estimates."""
    if pl.n_excess < MIN_EXCESS:
        return np.asarray(draws, float)
    return widen(draws, pl, rng, scale=pl.excess, dof=pl.n_excess)
