"""Charts of the data-check report: revenue by block and month, retention by month against the
benchmarks, the margin Pareto curve, specialist load, simple distributions.

Every function takes labels already translated, ``ax=None`` and returns the Axes.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from analysis.pages import i18n
from analysis.pages.plots import ACCENT, MUTED, PALETTE, SMALL, WIDTH, legend_ncol, money_axis, new_axes, pct_axis

__all__ = ["revenue_by_month", "retention_by_month", "pareto", "specialist_load", "bars", "hbars"]


def revenue_by_month(by_month_block: pd.DataFrame, ax=None, extra: pd.Series | None = None,
                     extra_label: str = "", ylabel: str = "", currency: str = "RUB", lang: str = "en",
                     block_labels: dict | None = None):
    """Stacked monthly revenue by block (``month, block, revenue`` long frame).

    ``extra``: another monthly series stacked on top (membership fees), indexed by month.
    """
    wide = by_month_block.pivot_table(index="month", columns="block", values="revenue", aggfunc="sum",
                                      fill_value=0.0)
    if extra is not None and len(extra):
        wide = wide.join(extra.rename("__extra__"), how="outer").fillna(0.0)
    ax = new_axes(ax, figsize=(WIDTH, 4.0))
    x = np.arange(len(wide))
    bottom = np.zeros(len(wide))
    for i, col in enumerate(wide.columns):
        label = extra_label if col == "__extra__" else (block_labels or {}).get(col, col)
        color = MUTED if col == "__extra__" else PALETTE[(i + 1) % len(PALETTE)]
        ax.bar(x, wide[col].to_numpy(), bottom=bottom, color=color, width=0.85, label=label)
        bottom += wide[col].to_numpy()
    step = max(1, len(wide) // 12)
    ax.set_xticks(x[::step], [i18n.month(m, lang) for m in wide.index[::step]], rotation=45, ha="right")
    ax.grid(axis="x", visible=False)
    ax.set_ylabel(ylabel)
    money_axis(ax, currency, lang)
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.legend(ncol=legend_ncol(ax.get_legend_handles_labels()[1]), fontsize=SMALL, loc="upper left")
    return ax


def retention_by_month(by_month: pd.DataFrame, ax=None, new_label: str = "", repeat_label: str = "",
                       new_band=(0.28, 0.33), repeat_band=(0.68, 0.79), band_label: str = "", lang: str = "en"):
    """New- and repeat-client retention by month (complete months), with benchmark bands."""
    b = by_month[by_month["complete"]]
    ax = new_axes(ax)
    x = np.arange(len(b))
    for (lo, hi), color in ((new_band, PALETTE[2]), (repeat_band, ACCENT)):
        ax.axhspan(lo, hi, color=color, alpha=0.12, lw=0)
    ax.plot(x, b["new_rate"].to_numpy(float), color=PALETTE[2], marker="o", ms=3, label=new_label)
    ax.plot(x, b["repeat_rate"].to_numpy(float), color=ACCENT, marker="o", ms=3, label=repeat_label)
    if band_label:
        ax.plot([], [], color="#999", lw=6, alpha=0.3, label=band_label)
    step = max(1, len(b) // 12)
    ax.set_xticks(x[::step], [i18n.month(m, lang) for m in b.index[::step]], rotation=45, ha="right")
    ax.set_ylim(0, 1)
    pct_axis(ax, lang)
    ax.legend(fontsize=SMALL, loc="center right")
    return ax


def pareto(client_share, margin_share, ax=None, xlabel: str = "", ylabel: str = "",
           regular_point=None, regular_label: str = "", lang: str = "en"):
    """Cumulative share of margin against the share of clients sorted by margin (largest first).

    ``regular_point``: (share of clients who are regular, their share of margin), marked.
    """
    ax = new_axes(ax, figsize=(5.5, 4.2))
    ax.plot(client_share, margin_share, color=ACCENT, lw=2)
    ax.plot([0, 1], [0, 1], color=MUTED, lw=1, ls="--")
    ax.axvline(0.2, color="#bbb", lw=0.8)
    if regular_point is not None and np.all(np.isfinite(regular_point)):
        ax.scatter([regular_point[0]], [regular_point[1]], color=PALETTE[2], zorder=3, s=40)
        ax.annotate(regular_label, regular_point, xytext=(8, -14), textcoords="offset points", fontsize=SMALL)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, max(1.0, float(np.nanmax(margin_share)) * 1.02))
    pct_axis(ax, lang, "x")
    pct_axis(ax, lang, "y")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def specialist_load(per_specialist: pd.DataFrame, ax=None, value: str = "visits_per_available_day",
                    xlabel: str = "", block_labels: dict | None = None, lang: str = "en"):
    """Horizontal bars, one per specialist, grouped and coloured by block."""
    d = per_specialist.sort_values(["block", value], ascending=[True, True]).reset_index(drop=True)
    blocks = list(dict.fromkeys(d["block"]))
    colors = {b: PALETTE[(i + 1) % len(PALETTE)] for i, b in enumerate(blocks)}
    ax = new_axes(ax, figsize=(WIDTH, 0.26 * len(d) + 1.2))
    y = np.arange(len(d))
    ax.barh(y, d[value].to_numpy(float), color=[colors[b] for b in d["block"]])
    ax.set_yticks(y, d["specialist_id"].astype(str))
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: i18n.number(x, lang, 1)))
    handles = [Patch(color=colors[b], label=(block_labels or {}).get(b, b)) for b in blocks]
    ax.legend(handles=handles, fontsize=SMALL, loc="lower right")
    return ax


def bars(labels, values, ax=None, xlabel: str = "", ylabel: str = "", pct: bool = False, lang: str = "en",
         color=None):
    """Simple vertical bars (distributions such as visits per client, blocks per client)."""
    ax = new_axes(ax, figsize=(5.5, 3.4))
    x = np.arange(len(labels))
    ax.bar(x, np.asarray(values, float), color=color or ACCENT, width=0.7)
    ax.set_xticks(x, [str(s) for s in labels])
    ax.grid(axis="x", visible=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if pct:
        pct_axis(ax, lang)
    return ax


def hbars(labels, values, ax=None, xlabel: str = "", currency: str | None = None, lang: str = "en",
          color=None):
    """Horizontal bars (one per label), as money when ``currency`` is given; few x ticks so the
    Russian money labels do not collide."""
    from matplotlib.ticker import MaxNLocator

    ax = new_axes(ax, figsize=(5.5, 0.45 * len(labels) + 1.2))
    y = np.arange(len(labels))
    ax.barh(y, np.asarray(values, float), color=color or PALETTE[1])
    ax.set_yticks(y, [str(s) for s in labels])
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_locator(MaxNLocator(4))
    if currency:
        money_axis(ax, currency, lang, axis="x")
    return ax
