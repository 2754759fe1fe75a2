"""Charts of the summary: cumulative cash flow with its range, and the spread of NPV."""
from __future__ import annotations

import numpy as np

from analysis.pages.plots import ACCENT, BAD, MUTED, PALETTE, SMALL, money_axis, new_axes

__all__ = ["cumulative_cash", "npv_spread"]


def cumulative_cash(p10, median, p90, payback_month: int, ax=None, *, title="", xlabel="", label_median="",
                    label_range="", label_payback="", currency="RUB", lang="en"):
    """Median cumulative discounted cash flow by month, the P10–P90 band, and the payback month."""
    ax = new_axes(ax)
    m = np.arange(1, len(median) + 1)
    ax.fill_between(m, p10, p90, color=ACCENT, alpha=0.18, lw=0, label=label_range)
    ax.plot(m, median, color=ACCENT, lw=2.2, label=label_median)
    ax.axhline(0, color="#333", lw=0.9)
    if payback_month and payback_month > 0:
        ax.axvline(payback_month, color=PALETTE[2], lw=1.2, ls="--", label=label_payback)
    ax.set_xlim(1, len(median))
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    money_axis(ax, currency, lang)
    ax.legend(loc="upper left", fontsize=SMALL)
    return ax


def npv_spread(npv, ax=None, *, title="", xlabel="", label_loss="", label_gain="", currency="RUB", lang="en",
               bins=60):
    """Histogram of NPV over the scenarios, losses and gains coloured, P10 / median / P90 marked."""
    ax = new_axes(ax)
    v = np.asarray(npv, float)
    v = v[np.isfinite(v)]
    edges = np.histogram_bin_edges(v, bins=bins)
    ax.hist(v[v < 0], bins=edges, color=BAD, alpha=0.75, label=label_loss)
    ax.hist(v[v >= 0], bins=edges, color=ACCENT, alpha=0.75, label=label_gain)
    for q, ls in zip(np.quantile(v, [0.1, 0.5, 0.9]), (":", "-", ":")):
        ax.axvline(q, color="#333", lw=1.1, ls=ls)
    ax.set_yticks([])
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    money_axis(ax, currency, lang, axis="x")
    ax.legend(fontsize=SMALL)
    return ax
