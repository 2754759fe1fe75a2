"""Uncertainty bands: one named type for "median, with 8 chances in 10 between P10 and P90".

Calculations and pages pass a :class:`Band` instead of a positional ``(p10, median, p90)`` triple,
so the order can never be mixed up; ``results.json`` keeps the three figures as ``<name>_p10``,
``<name>_median`` and ``<name>_p90`` (:meth:`Band.from_figures` / :meth:`Band.as_figures`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Band"]


@dataclass(frozen=True)
class Band:
    """A median and its 10th and 90th percentiles.

    Attributes
    ----------
    p10, median, p90 : float
        ``p10 <= median <= p90`` for bands made by :meth:`of`; NaN where unknown.

    Examples
    --------
    >>> Band.of([1, 2, 3, 4, 5]).median
    3.0
    >>> Band(1.0, 2.0, 3.0).map(lambda x: 10 * x)
    Band(p10=10.0, median=20.0, p90=30.0)
    """

    p10: float
    median: float
    p90: float

    @classmethod
    def of(cls, samples, axis=None) -> "Band":
        """The band of Monte Carlo ``samples`` (NaNs ignored)."""
        a = np.asarray(samples, dtype=float)
        if a.size == 0 or np.all(np.isnan(a)):
            return cls(math.nan, math.nan, math.nan)
        p10, p50, p90 = np.nanpercentile(a, [10, 50, 90], axis=axis)
        return cls(p10 if axis is not None else float(p10), p50 if axis is not None else float(p50),
                   p90 if axis is not None else float(p90))

    @classmethod
    def from_figures(cls, figures: dict, name: str) -> "Band | None":
        """The band recorded as ``<name>_p10`` / ``_median`` / ``_p90``; None without a median."""
        median = figures.get(f"{name}_median")
        if median is None:
            return None
        nan = math.nan
        p10, p90 = figures.get(f"{name}_p10"), figures.get(f"{name}_p90")
        return cls(nan if p10 is None else float(p10), float(median), nan if p90 is None else float(p90))

    def as_figures(self, name: str) -> dict:
        """``{<name>_p10: …, <name>_median: …, <name>_p90: …}`` for ``results.json``."""
        return {f"{name}_p10": self.p10, f"{name}_median": self.median, f"{name}_p90": self.p90}

    def map(self, fn: Callable[[float], float]) -> "Band":
        """The band with ``fn`` applied to each figure (a monotone ``fn`` keeps the order)."""
        return Band(fn(self.p10), fn(self.median), fn(self.p90))

    def __iter__(self):
        return iter((self.p10, self.median, self.p90))

    def text(self, fmt: Callable[[float], str], lang: str = "en") -> str:
        """``median (P10 … P90)`` in the report's words, each figure written by ``fmt``; the median
        alone when the three read the same (a fixed amount: "115,000 ₽", not "115,000 ₽ (115,000 ₽ …
        115,000 ₽)")."""
        from analysis.pages.words import say

        median, p10, p90 = fmt(self.median), fmt(self.p10), fmt(self.p90)
        if p10 == median == p90:
            return median
        return say("common.range", lang, median=median, p10=p10, p90=p90)
