"""House style for every chart in the reports, and the charts all sections share.

Section-specific charts live in ``plots/<section>.py``; every function takes ``ax=None`` and returns
the Axes, so notebooks can compose them.  Money axes use the study's currency and language.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline") else None

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from analysis.pages import i18n  # noqa: E402

__all__ = ["PALETTE", "use_house_style", "money_axis", "pct_axis", "new_axes",
           "tornado", "ranges", "heatmap", "waterfall", "distributions"]

# Colour-blind-safe (Okabe–Ito), the first two are "without" and "with the care manager".
PALETTE = ["#8a8f98", "#0b7a75", "#e69f00", "#56b4e9", "#cc79a7", "#d55e00", "#009e73", "#0072b2"]
ACCENT, MUTED, BAD = "#0b7a75", "#8a8f98", "#d55e00"


def use_house_style() -> None:
    """Set the kit's matplotlib defaults (sizes readable at phone width)."""
    plt.rcParams.update({
        "figure.figsize": (7.5, 4.0),
        "figure.dpi": 110,
        "savefig.dpi": 110,
        "savefig.bbox": "tight",
        "font.size": 10.5,
        "axes.titlesize": 12,
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "axes.labelsize": 10.5,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": "#e3e5e8",
        "grid.linewidth": 0.8,
        "axes.axisbelow": True,
        "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
        "legend.frameon": False,
        "figure.constrained_layout.use": True,
    })
    try:  # inline figures as PNG, embedded in the HTML
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except Exception:  # pragma: no cover - outside IPython
        pass


def new_axes(ax=None, **kw):
    if ax is None:
        _, ax = plt.subplots(**kw)
    return ax


def money_axis(ax, currency: str = "RUB", lang: str = "en", axis: str = "y"):
    """Format an axis as short money (``1.2M ₽`` / ``1,2 млн ₽``)."""
    fmt = FuncFormatter(lambda v, _: i18n.money(v, currency, lang, short=True))
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(fmt)
    if axis == "x":  # money labels are wide: a few ticks, so they never run together
        target.set_major_locator(MaxNLocator(4))
    return ax


def pct_axis(ax, lang: str = "en", axis: str = "y", decimals: int = 0):
    fmt = FuncFormatter(lambda v, _: i18n.percent(v, lang, decimals))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)
    return ax


def tornado(low, high, labels, base: float, ax=None, xlabel: str = "", currency=None, lang="en",
            low_label="low", high_label="high"):
    """One-at-a-time sensitivity: for each driver a bar from the result at its low value to the
    result at its high value, sorted by swing, around the base result."""
    low, high = np.asarray(low, float), np.asarray(high, float)
    order = np.argsort(np.abs(high - low))
    ax = new_axes(ax, figsize=(7.5, 0.45 * len(labels) + 1.2))
    y = np.arange(len(order))
    ax.barh(y, low[order] - base, left=base, color=PALETTE[2], label=low_label)
    ax.barh(y, high[order] - base, left=base, color=PALETTE[1], label=high_label)
    ax.axvline(base, color="#333", lw=1)
    ax.set_yticks(y, [labels[i] for i in order])
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    if currency:
        money_axis(ax, currency, lang, axis="x")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / max(len(labels), 1)), ncol=2, fontsize=9)
    return ax


def ranges(p10, p50, p90, labels, ax=None, xlabel: str = "", currency=None, lang="en", colors=None):
    """Horizontal P10–P90 bars with the median marked, one row per item."""
    p10, p50, p90 = (np.asarray(a, float) for a in (p10, p50, p90))
    ax = new_axes(ax, figsize=(7.5, 0.5 * len(labels) + 1.2))
    y = np.arange(len(labels))[::-1]
    colors = colors or [PALETTE[1]] * len(labels)
    ax.hlines(y, p10, p90, color=colors, lw=8, alpha=0.45)
    ax.scatter(p50, y, color=colors, zorder=3, s=40)
    ax.set_yticks(y, labels)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    if currency:
        money_axis(ax, currency, lang, axis="x")
    return ax


def heatmap(matrix, row_labels, col_labels, ax=None, fmt=lambda v: f"{v:.0%}", cmap="YlGnBu",
            title: str = "", vmin=None, vmax=None):
    """Annotated heat map (cohort tables)."""
    m = np.asarray(matrix, float)
    ax = new_axes(ax, figsize=(min(1 + 0.55 * m.shape[1], 11), 0.35 * m.shape[0] + 1.5))
    im = ax.imshow(np.ma.masked_invalid(m), cmap=cmap, aspect="auto", vmin=vmin, vmax=vmax)
    ax.set_xticks(range(len(col_labels)), col_labels, rotation=45, ha="right")
    ax.set_yticks(range(len(row_labels)), row_labels)
    ax.grid(False)
    if m.size <= 400:
        hi = np.nanmax(m) if np.isfinite(m).any() else 1
        for (i, j), v in np.ndenumerate(m):
            if np.isfinite(v):
                ax.text(j, i, fmt(v), ha="center", va="center", fontsize=7.5,
                        color="white" if v > 0.6 * hi else "#222")
    if title:
        ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
    return ax


def waterfall(values, labels, ax=None, total_label: str = "Total", currency=None, lang="en"):
    """Benefits (up) and costs (down) adding to a total bar."""
    values = np.asarray(values, float)
    ax = new_axes(ax)
    starts = np.concatenate([[0], np.cumsum(values)[:-1]])
    colors = [PALETTE[1] if v >= 0 else BAD for v in values]
    x = np.arange(len(values))
    ax.bar(x, values, bottom=starts, color=colors)
    total = values.sum()
    ax.bar(len(values), total, color=PALETTE[3] if total >= 0 else BAD)
    ax.axhline(0, color="#333", lw=0.8)
    # room above the highest and below the lowest bar end, so no bar seems cut by the frame
    ends = np.concatenate([[0.0], starts, starts + values, [total]])
    span = float(ends.max() - ends.min()) or 1.0
    ax.set_ylim(float(ends.min()) - 0.08 * span, float(ends.max()) + 0.08 * span)
    ax.set_xticks(list(x) + [len(values)], list(labels) + [total_label], rotation=30, ha="right", fontsize=9)
    ax.grid(axis="x", visible=False)
    if currency:
        money_axis(ax, currency, lang)
    return ax


def distributions(samples: dict, ax=None, xlabel: str = "", currency=None, lang="en", bins=50):
    """Overlaid histograms of Monte Carlo results, one per named option."""
    ax = new_axes(ax)
    for i, (name, s) in enumerate(samples.items()):
        ax.hist(np.asarray(s, float), bins=bins, alpha=0.55, label=name, color=PALETTE[i % len(PALETTE)])
    ax.set_xlabel(xlabel)
    ax.set_yticks([])
    ax.grid(axis="y", visible=False)
    if currency:
        money_axis(ax, currency, lang, axis="x")
    ax.legend()
    return ax
