"""Placebo tests in time: the pilot's own estimator run at made-up start dates before the real one.

Before the real start nobody had a care manager, so at a made-up start the true effect is 0 and
whatever the estimator finds there is the design's own error: the salon's trends (an ageing client
base, a changing mix of new and old clients, seasons, prices) that the before/after comparison
counts as the care manager's effect.  The spread of these placebo estimates is the standard check
of a design without a control group (placebo or "in-time placebo" tests: Abadie, Diamond &
Hainmueller 2015; Athey & Imbens 2017, "supplementary analyses"), and the pilot page widens the range of the
real estimate by it (:func:`widen`).

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

__all__ = ["Placebo", "placebo", "widen", "N_PLACEBO", "STEP_DAYS", "MIN_PRE_DAYS", "SMALL_SPREAD"]

#: How many made-up starts, how far apart, and how much data each needs before its start.
N_PLACEBO = 4
STEP_DAYS = 61
MIN_PRE_DAYS = 270
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

    @property
    def spread(self) -> float:
        e = np.asarray(self.estimates, float)
        e = e[np.isfinite(e)]
        return float(np.sqrt(np.mean(e ** 2))) if e.size else float("nan")

    @property
    def available(self) -> bool:
        return bool(np.isfinite(self.spread))

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
    ests, starts, ends = [], [], []
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
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            est = np.nan
        ests.append(est)
        starts.append(s)
        ends.append(e)
    return Placebo(starts, ends, np.asarray(ests, float))


def widen(draws: np.ndarray, pl: Placebo, rng) -> np.ndarray:
    """The bootstrap draws of E with the design's own error added: each draw plus an error with the
    placebo spread as its scale, drawn from Student's t with as many degrees of freedom as there are
    placebo estimates (the spread is itself estimated from a handful of them; the variances add:
    sampling error and the design's error taken as independent).  Unchanged without placebo
    estimates."""
    if not pl.available:
        return np.asarray(draws, float)
    d = np.asarray(draws, float)
    dof = int(np.isfinite(np.asarray(pl.estimates, float)).sum())
    return np.clip(d + pl.spread * rng.standard_t(max(dof, 1), d.size), structural.E_BOUNDS[0], 1.0)
