"""Charts of the retention report.  Every function takes ``ax=None``, returns the Axes and takes
labels already translated (``ctx.t(...)``); money axes take ``currency`` and ``lang``."""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from analysis.pages.plots import ACCENT, BAD, MUTED, PALETTE, SMALL, WIDTH, money_axis, new_axes, pct_axis

__all__ = ["p_alive_hist", "km_curves", "expected_visits", "clv_hist", "effect_curve", "sbg_survival",
           "holdout_bars"]


def p_alive_hist(p_alive, ax=None, xlabel: str = "", ylabel: str = "", lang: str = "en", bins: int = 20):
    """Histogram of the probability that each client is still active."""
    ax = new_axes(ax)
    ax.hist(np.asarray(p_alive, float), bins=np.linspace(0, 1, bins + 1), color=ACCENT, alpha=0.85)
    ax.set_xlim(0, 1)
    pct_axis(ax, lang, axis="x")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="x", visible=False)
    return ax


def km_curves(curves, ax=None, xlabel: str = "", ylabel: str = "", lang: str = "en", names: dict | None = None,
              days_per_unit: float = 365.25 / 12, band: bool = True):
    """Kaplan-Meier curves (``analysis.sections.retention.km_curves`` output), one step line per group.

    The time axis is in months by default (``days_per_unit``); ``names`` maps group -> label.
    """
    ax = new_axes(ax)
    for i, (g, d) in enumerate(curves.groupby("group", sort=False)):
        c = PALETTE[(i + 1) % len(PALETTE)]
        t = np.r_[0.0, d["time_days"].to_numpy(float) / days_per_unit]
        s = np.r_[1.0, d["survival"].to_numpy(float)]      # every curve starts at 100%
        label = (names or {}).get(g, g)
        ax.step(t, s, where="post", color=c, lw=2, label=f"{label} (n={int(d['n_clients'].iloc[0])})")
        if band:
            lo, hi = np.r_[1.0, d["low"].to_numpy(float)], np.r_[1.0, d["high"].to_numpy(float)]
            ok = np.isfinite(lo) & np.isfinite(hi)
            ax.fill_between(t[ok], lo[ok], hi[ok], step="post", color=c, alpha=0.12, lw=0)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    pct_axis(ax, lang)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=SMALL)
    return ax


def expected_visits(months, mean_expected, ax=None, xlabel: str = "", ylabel: str = "", label: str = "",
                    compare=None, compare_label: str = ""):
    """Cumulative expected visits per client over the coming months (and an optional comparison
    line, e.g. with the care manager)."""
    ax = new_axes(ax)
    ax.plot(months, mean_expected, color=MUTED, lw=2.2, label=label or None)
    if compare is not None:
        ax.plot(months, compare, color=ACCENT, lw=2.2, label=compare_label or None)
    ax.set_xlim(0, max(months))
    ax.set_ylim(bottom=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if label or compare_label:
        ax.legend()
    return ax


def clv_hist(clv, ax=None, xlabel: str = "", ylabel: str = "", currency: str = "RUB", lang: str = "en",
             bins: int = 40, clip_quantile: float = 0.99):
    """Histogram of client lifetime value; the top 1% is gathered in the last bar."""
    v = np.asarray(clv, float)
    v = v[np.isfinite(v)]
    ax = new_axes(ax)
    top = float(np.quantile(v, clip_quantile)) if v.size else 1.0
    ax.hist(np.clip(v, None, top), bins=bins, color=ACCENT, alpha=0.85)
    money_axis(ax, currency, lang, axis="x")
    ax.xaxis.set_major_locator(MaxNLocator(4))   # wide money labels: few ticks so they never run together
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="x", visible=False)
    return ax


def effect_curve(curve, cost_year: float, breakeven: float | None = None, assumed=None, ax=None,
                 xlabel: str = "", ylabel: str = "", gain_label: str = "", cost_label: str = "",
                 assumed_label: str = "", currency: str = "RUB", lang: str = "en", x_max: float = 0.5):
    """Margin gained a year against the cut of the dropout probability, with the role's cost.

    ``assumed`` = (low, high) of the study's assumption, shaded; ``breakeven`` marked where the
    gain line crosses the cost line.  The x axis stops at ``x_max`` (default 50%), or a little past
    the break-even or the assumed range when they lie further right.
    """
    ax = new_axes(ax)
    e = curve["effect"].to_numpy(float)
    ax.plot(e, curve["incremental_margin_year"], color=ACCENT, lw=2.4, label=gain_label or None)
    ax.axhline(cost_year, color=BAD, lw=1.6, ls="--", label=cost_label or None)
    if assumed is not None:
        ax.axvspan(assumed[0], assumed[1], color=PALETTE[2], alpha=0.18, lw=0, label=assumed_label or None)
    if breakeven is not None and np.isfinite(breakeven) and breakeven <= 1:
        ax.axvline(breakeven, color="#333", lw=1)
        ax.plot([breakeven], [cost_year], "o", color="#333")
    right = float(x_max)
    if assumed is not None:
        right = max(right, float(assumed[1]) + 0.05)
    if breakeven is not None and np.isfinite(breakeven):
        right = max(right, float(breakeven) + 0.05)
    right = min(right, float(np.nanmax(e)) if e.size else 1.0, 1.0)
    ax.set_xlim(0, right)
    shown = curve["incremental_margin_year"].to_numpy(float)[e <= right + 1e-12]
    top = max(float(cost_year), float(np.nanmax(shown)) if shown.size else 0.0)
    ax.set_ylim(0, top * 1.15 if top > 0 else 1.0)
    pct_axis(ax, lang, axis="x")
    money_axis(ax, currency, lang)
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper left", fontsize=SMALL)
    return ax


def sbg_survival(periods, observed, fitted, ax=None, xlabel: str = "", ylabel: str = "",
                 observed_label: str = "", fitted_label: str = "", lang: str = "en"):
    """Share of a membership cohort still active: observed (Kaplan-Meier) against the sBG fit."""
    ax = new_axes(ax)
    ax.plot(periods, observed, "o", color=MUTED, label=observed_label or None)
    ax.plot(periods, fitted, "-", color=ACCENT, lw=2.2, label=fitted_label or None)
    ax.set_ylim(0, 1.02)
    pct_axis(ax, lang)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


def holdout_bars(check, ax=None, xlabel: str = "", ylabel: str = "", actual_label: str = "",
                 predicted_label: str = ""):
    """Actual against predicted visits per client in the check period, by calibration frequency
    (``analysis.sections.retention.holdout_check`` output)."""
    ax = new_axes(ax, figsize=(WIDTH, 3.6))
    xs = np.arange(len(check))
    ax.bar(xs - 0.2, check["actual"], width=0.4, color=MUTED, label=actual_label or None)
    ax.bar(xs + 0.2, check["predicted"], width=0.4, color=ACCENT, label=predicted_label or None)
    ax.set_xticks(xs, check["frequency"])
    ax.grid(axis="x", visible=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if actual_label or predicted_label:
        ax.legend()
    return ax
