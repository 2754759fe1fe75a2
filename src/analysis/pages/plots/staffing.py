"""Charts of the staffing report: cost by option, workload against capacity as clients grow,
waiting for an answer, the care manager's month, active clients by block.

Every function takes labels already translated, ``ax=None`` and returns the Axes.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.dates import AutoDateLocator, num2date
from matplotlib.ticker import FuncFormatter, MaxNLocator

from analysis.pages import i18n
from analysis.pages.plots import ACCENT, BAD, MUTED, PALETTE, SMALL, WIDTH, legend_ncol, money_axis, new_axes, pct_axis

__all__ = ["cost_by_option", "workload_growth", "cost_growth", "waiting", "time_split",
           "active_clients", "blocks_per_client"]


def _count_axis(axis, lang: str):
    """Whole counts with thousands separators (``1,200`` / ``1 200``)."""
    axis.set_major_formatter(FuncFormatter(lambda v, _: i18n.number(v, lang)))


def cost_by_option(labels, p10, p50, p90, ax=None, ylabel: str = "", currency: str = "RUB",
                   lang: str = "en", colors=None, value_text=None):
    """Monthly cost of each option: bar at the median, whisker from P10 to P90."""
    p10, p50, p90 = (np.asarray(x, float) for x in (p10, p50, p90))
    ax = new_axes(ax, figsize=(WIDTH, 3.8))
    x = np.arange(len(labels))
    colors = colors or [MUTED, ACCENT, PALETTE[2], PALETTE[3]][: len(labels)]
    ax.bar(x, p50, color=colors, width=0.6)
    ax.errorbar(x, p50, yerr=[p50 - p10, p90 - p50], fmt="none", ecolor="#333", capsize=6, lw=1.2)
    for i, v in enumerate(p50):
        text = value_text[i] if value_text else ""
        if text:
            ax.annotate(text, (x[i], p90[i]), xytext=(0, 4), textcoords="offset points",
                        ha="center", va="bottom", fontsize=SMALL)
    ax.set_xticks(x, labels)
    ax.grid(axis="x", visible=False)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, max(float(np.nanmax(p90)) * 1.15, 1.0))
    money_axis(ax, currency, lang)
    return ax


def workload_growth(clients, workload_specialists_h, capacity_specialists_h, workload_care_h,
                    capacity_care_h, ax=None, clients_now=None, labels=None, xlabel: str = "",
                    ylabel: str = "", lang: str = "en"):
    """Hours of work a month against the hours the people needed can give, as clients grow.

    ``labels``: dict with keys ``specialists``, ``care``, ``capacity_specialists``,
    ``capacity_care``, ``now``.
    """
    labels = labels or {}
    ax = new_axes(ax)
    ax.plot(clients, workload_specialists_h, color=MUTED, lw=2, label=labels.get("specialists"))
    ax.step(clients, capacity_specialists_h, where="post", color=MUTED, lw=1.2, ls="--",
            label=labels.get("capacity_specialists"))
    ax.plot(clients, workload_care_h, color=ACCENT, lw=2, label=labels.get("care"))
    ax.step(clients, capacity_care_h, where="post", color=ACCENT, lw=1.2, ls="--",
            label=labels.get("capacity_care"))
    _mark_now(ax, clients, clients_now, labels.get("now", ""))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(5))
    _count_axis(ax.xaxis, lang)
    _count_axis(ax.yaxis, lang)
    ax.legend(fontsize=SMALL, loc="upper left")
    return ax


def _mark_now(ax, clients, clients_now, label: str) -> None:
    """Vertical line at today's client count; both axes start at zero."""
    if clients_now is not None:
        ax.axvline(clients_now, color=PALETTE[2], lw=1.2)
        ax.annotate(label, (clients_now, 0), xytext=(4, 6), textcoords="offset points",
                    color=PALETTE[2], fontsize=SMALL)
    ax.set_xlim(0, float(np.max(clients)))
    ax.set_ylim(bottom=0)


def cost_growth(clients, cost_specialists, cost_care, ax=None, clients_now=None, labels=None,
                xlabel: str = "", ylabel: str = "", currency: str = "RUB", lang: str = "en"):
    """Monthly cost of both options as clients grow (steps where one more person is hired)."""
    labels = labels or {}
    ax = new_axes(ax)
    ax.step(clients, cost_specialists, where="post", color=MUTED, lw=2, label=labels.get("specialists"))
    ax.step(clients, cost_care, where="post", color=ACCENT, lw=2, label=labels.get("care"))
    cs, cc = np.asarray(cost_specialists, float), np.asarray(cost_care, float)
    ax.fill_between(clients, cs, cc, where=cc < cs, step="post", color=ACCENT, alpha=0.12, lw=0)
    ax.fill_between(clients, cs, cc, where=cc > cs, step="post", color=BAD, alpha=0.12, lw=0)
    _mark_now(ax, clients, clients_now, labels.get("now", ""))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    money_axis(ax, currency, lang)
    ax.xaxis.set_major_locator(MaxNLocator(5))
    _count_axis(ax.xaxis, lang)
    ax.legend(fontsize=SMALL, loc="upper left")
    return ax


def waiting(labels, wait_min, within_target, ax=None, xlabel: str = "", within_text=None,
            unstable_text: str = "∞"):
    """Mean wait for an answer per queue set-up (horizontal bars), with the share answered
    within the target written next to each bar (``within_text`` formats it)."""
    w = np.asarray(wait_min, float)
    ax = new_axes(ax, figsize=(WIDTH, 0.6 * len(labels) + 1.4))
    y = np.arange(len(labels))[::-1]
    finite = np.isfinite(w)
    top = float(np.max(w[finite])) if finite.any() else 1.0
    top = top if top > 0 else 1.0
    shown = np.where(finite, w, top * 1.1)
    colors = [MUTED, PALETTE[3], ACCENT, PALETTE[2]][: len(labels)]
    ax.barh(y, shown, color=[c if f else BAD for c, f in zip(colors, finite)], height=0.55)
    for i in range(len(labels)):
        note = unstable_text if not finite[i] else ""
        if within_text is not None:
            note = (note + "  " if note else "") + within_text[i]
        ax.annotate(note, (shown[i], y[i]), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=SMALL)
    ax.set_yticks(y, labels)
    ax.set_xlim(0, top * 1.6)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    return ax


def time_split(labels, hours, ax=None, title: str = "", pct_text=None, lang: str = "en"):
    """The care managers' month as one stacked bar: hours by function, own services and
    non-productive time; shares written inside the wide segments."""
    h = np.asarray(hours, float)
    total = h.sum() if h.sum() > 0 else 1.0
    share = h / total
    ax = new_axes(ax, figsize=(WIDTH, 2.6))
    colors = [PALETTE[1], PALETTE[3], PALETTE[4], PALETTE[2], PALETTE[5], PALETTE[6], "#c9cdd2"]
    left = 0.0
    for i, (lab, s) in enumerate(zip(labels, share)):
        ax.barh(0, s, left=left, color=colors[i % len(colors)], label=lab, height=0.6)
        if s >= 0.06:
            txt = pct_text[i] if pct_text else i18n.percent(s, lang, 0)
            ax.text(left + s / 2, 0, txt, ha="center", va="center", fontsize=SMALL,
                    color="white" if i < 6 else "#222")
        left += s
    ax.set_xlim(0, 1)
    ax.set_yticks([])
    ax.grid(False)
    pct_axis(ax, lang, axis="x")
    if title:
        ax.set_title(title)
    # long (Russian) labels: fewer columns, so the legend never outgrows the bar
    ax.legend(ncol=legend_ncol(labels, 4), fontsize=SMALL, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    return ax


def active_clients(months, series: dict, ax=None, ylabel: str = "", total=None, total_label: str = "",
                   lang: str = "en"):
    """Active clients per month: one line per block, and the distinct total as a thick line.

    Month ticks are written as ``Jun 2024`` / ``июн 2024``; counts with thousands separators.
    """
    ax = new_axes(ax)
    try:
        months = pd.to_datetime(pd.Series(months).astype(str) if isinstance(getattr(months, "dtype", None),
                                                                          pd.PeriodDtype) else months)
    except (TypeError, ValueError):
        pass
    for i, (name, values) in enumerate(series.items()):
        ax.plot(months, values, color=PALETTE[(i + 1) % len(PALETTE)], lw=1.5, label=name)
    if total is not None:
        ax.plot(months, total, color="#333", lw=2.4, label=total_label)
    ax.set_ylim(bottom=0)
    ax.set_ylabel(ylabel)
    if pd.api.types.is_datetime64_any_dtype(getattr(months, "dtype", None)):
        ax.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=6))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: i18n.month(num2date(v), lang)))
    _count_axis(ax.yaxis, lang)
    # below the plot, so that at phone width it hides none of the lines
    ax.legend(fontsize=SMALL, ncol=legend_ncol(ax.get_legend_handles_labels()[1]), loc="upper center",
              bbox_to_anchor=(0.5, -0.14))
    return ax


def blocks_per_client(shares, ax=None, xlabel: str = "", ylabel: str = "", lang: str = "en"):
    """Share of active clients using 1, 2, 3 … blocks."""
    q = np.asarray(shares, float)
    ax = new_axes(ax, figsize=(5.5, 3.2))
    k = np.arange(1, len(q) + 1)
    ax.bar(k, q, color=ACCENT, width=0.6)
    for x, v in zip(k, q):
        ax.annotate(i18n.percent(v, lang), (x, v), xytext=(0, 3),
                    textcoords="offset points", ha="center", fontsize=SMALL)
    ax.set_xticks(k)
    ax.grid(axis="x", visible=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    pct_axis(ax, lang)
    return ax
