"""Charts of the compensation report: pay ranges, pay against block revenue, incentive slopes.

Every function takes ``ax=None``, returns the Axes and takes labels already translated.
"""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from analysis.pages.plots import BAD, MUTED, PALETTE, SMALL, WIDTH, legend_ncol, money_axis, new_axes, pct_axis

__all__ = ["pay_ranges", "pay_curves", "slopes"]


def pay_ranges(samples: dict, ax=None, xlabel: str = "", floor: float | None = None,
               floor_label: str = "", currency=None, lang: str = "en"):
    """One row per scheme: P10-P90 bar (thick), P2.5-P97.5 whisker (thin), median dot.

    ``samples`` maps a label to the Monte Carlo values (any shape, flattened); ``floor`` draws a
    dashed vertical line (the market pay).
    """
    labels = list(samples)
    ax = new_axes(ax, figsize=(WIDTH, 0.55 * len(labels) + 1.5))
    y = np.arange(len(labels))[::-1]
    for i, (yy, name) in enumerate(zip(y, labels)):
        x = np.asarray(samples[name], float).ravel()
        x = x[np.isfinite(x)]
        if x.size == 0:
            continue
        lo2, p10, p50, p90, hi2 = np.quantile(x, [0.025, 0.1, 0.5, 0.9, 0.975])
        color = PALETTE[(i + 1) % len(PALETTE)]
        ax.hlines(yy, lo2, hi2, color=color, lw=1.5, alpha=0.6)
        ax.hlines(yy, p10, p90, color=color, lw=9, alpha=0.45)
        ax.scatter([p50], [yy], color=color, zorder=3, s=45)
    if floor is not None and np.isfinite(floor):
        ax.axvline(floor, color=BAD, ls="--", lw=1.2, label=floor_label or None)
        if floor_label:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=SMALL, ncol=1)
    ax.set_yticks(y, labels)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    if currency:
        money_axis(ax, currency, lang, axis="x")
    ax.xaxis.set_major_locator(MaxNLocator(4))  # wide money labels must not run together
    return ax


def pay_curves(revenue, curves: dict, ax=None, xlabel: str = "", ylabel: str = "",
               current: float | None = None, current_label: str = "", floor: float | None = None,
               floor_label: str = "", currency=None, lang: str = "en"):
    """Pay (y) against the block's monthly revenue (x), one line per scheme.

    ``current`` marks today's revenue; ``floor`` the market pay.
    """
    names = [*curves, current_label if current is not None else "", floor_label if floor is not None else ""]
    names = [x for x in names if x]
    ncol = legend_ncol(names, 2)
    rows = -(-len(names) // ncol)
    # the legend sits below the plot: the chart grows with its rows, so the plot keeps its height
    ax = new_axes(ax, figsize=(WIDTH, 3.2 + 0.24 * rows))
    r = np.asarray(revenue, float)
    for i, (name, y) in enumerate(curves.items()):
        ax.plot(r, np.asarray(y, float), lw=2, label=name, color=PALETTE[(i + 1) % len(PALETTE)])
    if current is not None:
        ax.axvline(current, color=MUTED, lw=1, ls=":", label=current_label or None)
    if floor is not None and np.isfinite(floor):
        ax.axhline(floor, color=BAD, lw=1.2, ls="--", label=floor_label or None)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if currency:
        money_axis(ax, currency, lang, axis="x")
        money_axis(ax, currency, lang, axis="y")
    ax.xaxis.set_major_locator(MaxNLocator(4))  # wide money labels must not run together
    # below the plot, so the legend never hides a line (the flat fixed-salary line sits low)
    ax.legend(fontsize=SMALL, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=ncol)
    return ax


def slopes(labels, profit_slope, revenue_slope, ax=None, profit_label: str = "",
           revenue_label: str = "", xlabel: str = "", lang: str = "en"):
    """Grouped horizontal bars: extra pay per 1 of profit and per 1 of profitless revenue.

    Shown as a percentage (0.025 -> 2.5%: 2.50 of pay per 100 of profit).
    """
    labels = list(labels)
    ps, rs = np.asarray(profit_slope, float), np.asarray(revenue_slope, float)
    ax = new_axes(ax, figsize=(WIDTH, 0.6 * len(labels) + 1.5))
    y = np.arange(len(labels))[::-1]
    h = 0.38
    ax.barh(y + h / 2, ps, height=h, color=PALETTE[1], label=profit_label or None)
    ax.barh(y - h / 2, rs, height=h, color=PALETTE[5], label=revenue_label or None)
    ax.axvline(0, color="#333", lw=0.8)
    ax.set_yticks(y, labels)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_locator(MaxNLocator(5))
    pct_axis(ax, lang, axis="x", decimals=1)
    if profit_label or revenue_label:
        ax.legend(fontsize=SMALL, loc="upper center", bbox_to_anchor=(0.5, -0.14),
                  ncol=legend_ncol([profit_label, revenue_label], 2))
    return ax
