"""Charts of the pilot page: the measured effect, the event study, the design's power by length."""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from analysis.pages.plots import ACCENT, BAD, MUTED, WIDTH, new_axes, pct_axis

__all__ = ["effect_draws", "event_study", "detectable_by_months"]


def effect_draws(draws, p10, p90, assumed=None, ax=None, lang="en", xlabel="", ylabel="", measured_label="",
                 assumed_label=""):
    """Histogram of the bootstrap estimates of E with the P10 … P90 range and the assumed range."""
    ax = new_axes(ax)
    d = np.asarray(draws, float)
    d = d[np.isfinite(d)]
    ax.hist(d, bins=40, color=MUTED, alpha=0.8)
    ax.axvspan(p10, p90, color=ACCENT, alpha=0.18, label=measured_label)
    if assumed is not None:
        ax.axvspan(assumed[0], assumed[1], ymax=0.08, color=BAD, alpha=0.6, label=assumed_label)
    ax.axvline(0.0, color="black", lw=0.8)
    pct_axis(ax, lang, axis="x")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper left")
    return ax


def event_study(month, gap, lo, hi, ax=None, lang="en", xlabel="", ylabel="", band_label="", start_label=""):
    """Gap by month relative to the start (0 = first month) with its bootstrap band."""
    ax = new_axes(ax)
    month = np.asarray(month, float)
    ax.fill_between(month, lo, hi, color=ACCENT, alpha=0.18, label=band_label, step=None)
    ax.plot(month, gap, marker="o", color=ACCENT)
    ax.axhline(0.0, color="black", lw=0.8)
    ax.axvline(-0.5, color=BAD, lw=1.0, ls="--", label=start_label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    pct_axis(ax, lang)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best")
    return ax


def detectable_by_months(se_table, factor: float, assumed: float, labels: dict, ax=None, lang="en",
                         xlabel="", ylabel="", assumed_label=""):
    """Smallest effect shown with 80 % chance (``factor`` x SE) against pilot length, one line per design."""
    # the legend sits below the plot, one row per design: the chart grows with it
    ax = new_axes(ax, figsize=(WIDTH, 3.2 + 0.24 * (se_table["option"].nunique() + 1)))
    for option, g in se_table.groupby("option", sort=False):
        ax.plot(g["months"], np.minimum(factor * g["se"], 1.0), marker="o", label=labels.get(option, option))
    ax.axhline(assumed, color=BAD, ls="--", lw=1.0, label=assumed_label)
    ax.set_ylim(0, 1.0)
    pct_axis(ax, lang)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    # below the plot: inside it the legend would hide the lines on a phone-width chart
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1)
    return ax
