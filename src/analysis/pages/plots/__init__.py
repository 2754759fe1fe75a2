"""House style for every chart in the reports, and the charts all sections share.

Section-specific charts live in ``plots/<section>.py``; every function takes ``ax=None`` and returns
the Axes, so notebooks can compose them.  Money axes use the study's currency and language.

Charts reach the pages as SVG, drawn inline, so they scale with the page: on a phone (390 px, about
374 px for the chart) a chart is shrunk to the screen's width, never scrolled sideways.  What keeps
its words readable there is the ratio of font size to chart width: every chart is at most
:data:`WIDTH` inches wide and no text is smaller than :data:`SMALL` points, so the smallest text is
about 9 px on the phone (10.8 / (6 × 72 + 8) × 374).  Charts of several panels put one panel per row
(:func:`panels`).  The SVG carries no date and fixed ids (``svg.hashsalt``), so the same inputs give
the same page, byte for byte; its text stays text (``svg.fonttype: none``), small and searchable.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline") else None

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from analysis.pages import i18n  # noqa: E402

__all__ = ["PALETTE", "WIDTH", "SMALL", "use_house_style", "money_axis", "pct_axis", "new_axes", "panels", "legend_ncol", "legend_chars", "fit_for_phone", "svg_text",
           "tornado", "ranges", "heatmap", "waterfall", "distributions"]

# Colour-blind-safe (Okabe–Ito), the first two are "without" and "with the care manager".
PALETTE = ["#8a8f98", "#0b7a75", "#e69f00", "#56b4e9", "#cc79a7", "#d55e00", "#009e73", "#0072b2"]
ACCENT, MUTED, BAD = "#0b7a75", "#8a8f98", "#d55e00"

#: The widest chart, in inches: at a phone's width the chart is shrunk by 374 px / (WIDTH × 72 pt).
WIDTH = 6.0
#: The smallest text on a chart, in points (ticks, legends, labels on bars): about 9 px on a phone.
SMALL = 10.8
#: The SVG options that make a chart the same bytes every run (no date in its metadata).
SVG_SAVE = {"metadata": {"Date": None}}


def use_house_style() -> None:
    """Set the kit's matplotlib defaults (sizes readable at phone width, SVG output)."""
    plt.rcParams.update({
        "figure.figsize": (WIDTH, 3.6),
        "figure.dpi": 110,
        "savefig.dpi": 110,
        "savefig.bbox": "tight",
        "svg.fonttype": "none",
        "svg.hashsalt": "care-manager-kit",
        "font.size": 11,
        "axes.titlesize": 12,
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "axes.labelsize": 11,
        "xtick.labelsize": SMALL,
        "ytick.labelsize": SMALL,
        "legend.fontsize": SMALL,
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
    try:  # inline figures as SVG, drawn inside the HTML page (see the module's notes)
        from IPython import get_ipython
        from matplotlib.figure import Figure
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("svg", **SVG_SAVE)
        shell = get_ipython()
        if shell is not None:  # the same SVG, with its words first fitted to the chart's width
            shell.display_formatter.formatters["image/svg+xml"].for_type(Figure, svg_text)
    except Exception:  # pragma: no cover - outside IPython
        pass


def _wrapped(text: str, chars: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, chars, break_long_words=False, break_on_hyphens=False)) or text


def fit_for_phone(fig, label_chars: int = 22):
    """Fit a chart's words to its width, so that nothing makes it wider than :data:`WIDTH`.

    Titles and axis labels wrap at the chart's edge; category labels of an axis (bar names) wrap at
    ``label_chars`` characters, legend entries at what one of the legend's columns can hold
    (:func:`legend_chars`).  Words are never cut.  (A legend's columns are chosen when it is made: :func:`legend_ncol`.)
    No text stays smaller than :data:`SMALL` (a chart may have asked for less).  Called on every
    chart a report shows (:func:`svg_text`).
    """
    from matplotlib.text import Text
    from matplotlib.ticker import FixedLocator

    for ax in fig.axes:
        for which in ("x", "y"):
            ticks = (ax.xaxis if which == "x" else ax.yaxis).get_ticklabels()
            if ticks and ticks[0].get_fontsize() < SMALL:
                ax.tick_params(axis=which, labelsize=SMALL)
    for text in fig.findobj(Text):
        if text.get_fontsize() < SMALL:
            text.set_fontsize(SMALL)
    for ax in fig.axes:
        for title in (ax.title, getattr(ax, "_left_title", None), getattr(ax, "_right_title", None)):
            if title is not None:
                title.set_wrap(True)
        ax.xaxis.label.set_wrap(True)
        ax.yaxis.label.set_wrap(True)
        if isinstance(ax.yaxis.get_major_locator(), FixedLocator):
            texts = [t.get_text() for t in ax.get_yticklabels()]
            if any(len(t) > label_chars for t in texts):
                ax.set_yticks(ax.get_yticks(), [_wrapped(t, label_chars) for t in texts])
        legends = [ax.get_legend()] + (list(fig.legends) if ax is fig.axes[0] else [])
        for legend in legends:
            if legend is None:
                continue
            chars = legend_chars(getattr(legend, "_ncols", 1))
            for t in legend.get_texts():
                if len(t.get_text()) > chars:
                    t.set_text(_wrapped(t.get_text(), chars))
    _thin_crowded_ticks(fig)
    return fig


def _thin_crowded_ticks(fig, rounds: int = 3) -> None:
    """Fewer ticks on a horizontal axis whose labels run into each other (wide money labels on a
    narrow plot): the locator asks for fewer values until the labels stand apart."""
    from matplotlib.ticker import MaxNLocator

    axes = [ax for ax in fig.axes if isinstance(ax.xaxis.get_major_locator(), MaxNLocator)]
    for _ in range(rounds if axes else 0):
        fig.draw_without_rendering()
        renderer = fig.canvas.get_renderer()
        crowded = []
        for ax in axes:
            lo, hi = sorted(ax.get_xlim())
            slack = 1e-9 * (hi - lo)
            # only the labels drawn: the locator also returns values just outside the axis
            boxes = sorted((t.get_window_extent(renderer) for t in ax.get_xticklabels()
                            if t.get_visible() and t.get_text() and lo - slack <= t.get_position()[0] <= hi + slack),
                           key=lambda b: b.x0)
            gap = SMALL * fig.dpi / 72  # a clear space (1 em) between two labels
            if any(a.x1 + gap > b.x0 for a, b in zip(boxes, boxes[1:])):
                crowded.append((ax, len(boxes)))
        if not crowded:
            return
        for ax, shown in crowded:
            ax.xaxis.get_major_locator().set_params(nbins=max(shown - 2, 1))


def svg_text(fig) -> str | None:
    """A chart as the SVG a report page draws inline: words fitted (:func:`fit_for_phone`), no date,
    fixed ids; None for a figure with nothing on it (as the inline backend does)."""
    if not fig.axes and not fig.lines:
        return None
    import io

    fit_for_phone(fig)
    buf = io.StringIO()
    fig.canvas.print_figure(buf, format="svg", bbox_inches="tight", **SVG_SAVE)
    return buf.getvalue()


def new_axes(ax=None, **kw):
    if ax is None:
        _, ax = plt.subplots(**kw)
    return ax


def legend_chars(ncol: int) -> int:
    """How many characters an entry of a legend of ``ncol`` columns can have and still fit the
    chart's width (the measure :func:`legend_ncol` uses)."""
    return max(8, int((0.85 * WIDTH * 72 / max(ncol, 1) / SMALL - 2.6) / 0.6))


def legend_ncol(labels, most: int = 3) -> int:
    """How many columns a legend of ``labels`` can have and still fit the chart's width at
    :data:`SMALL` points (a character about 0.6 em, a key and the gap between columns about 2.6 em)."""
    labels = [str(x) for x in labels if x]
    if not labels:
        return 1
    per_column = (0.6 * max(len(x) for x in labels) + 2.6) * SMALL
    return max(1, min(most, len(labels), int(0.85 * WIDTH * 72 // per_column)))


def panels(n: int = 2, height: float = 3.4):
    """A chart of ``n`` panels, one per row (so each reads at full width on a phone).

    Returns ``(figure, axes)`` like ``plt.subplots``; ``height`` is each panel's height in inches.
    """
    fig, axes = plt.subplots(n, 1, figsize=(WIDTH, height * n))
    return fig, axes


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
    ax = new_axes(ax, figsize=(WIDTH, 0.5 * len(labels) + 1.4))
    y = np.arange(len(order))
    ax.barh(y, low[order] - base, left=base, color=PALETTE[2], label=low_label)
    ax.barh(y, high[order] - base, left=base, color=PALETTE[1], label=high_label)
    ax.axvline(base, color="#333", lw=1)
    ax.set_yticks(y, [labels[i] for i in order])
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    if currency:
        money_axis(ax, currency, lang, axis="x")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / max(len(labels), 1)),
              ncol=legend_ncol([low_label, high_label], 2))
    return ax


def ranges(p10, p50, p90, labels, ax=None, xlabel: str = "", currency=None, lang="en", colors=None):
    """Horizontal P10–P90 bars with the median marked, one row per item."""
    p10, p50, p90 = (np.asarray(a, float) for a in (p10, p50, p90))
    ax = new_axes(ax, figsize=(WIDTH, 0.5 * len(labels) + 1.2))
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
    """Annotated heat map (cohort tables); the colour bar's ticks are written with ``fmt`` too.

    Each cell shows its value at :data:`SMALL` points when it fits the cell; percentages too wide for
    their cells drop the per-cent sign (the colour bar keeps it); when even the bare numbers do not
    fit, the colour scale alone tells them, so no text on the chart is smaller than a phone can show."""
    m = np.asarray(matrix, float)
    ax = new_axes(ax, figsize=(min(1.6 + 0.5 * m.shape[1], WIDTH), 0.32 * m.shape[0] + 1.5))
    fig = ax.figure
    im = ax.imshow(np.ma.masked_invalid(m), cmap=cmap, aspect="auto", vmin=vmin, vmax=vmax)
    ax.set_xticks(range(len(col_labels)), col_labels, rotation=45, ha="right")
    ax.set_yticks(range(len(row_labels)), row_labels)
    ax.grid(False)
    if title:
        ax.set_title(title)
    bar = fig.colorbar(im, ax=ax, shrink=0.8)
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt(v)))
    texts = {(i, j): fmt(v) for (i, j), v in np.ndenumerate(m) if np.isfinite(v)}
    fig.draw_without_rendering()  # lay the chart out, to know how wide a cell is
    cell_pt = ax.get_window_extent().width * 72 / fig.dpi / max(m.shape[1], 1)

    def em(text: str) -> float:  # DejaVu Sans: a digit is about 0.64 em, "%" 0.95, a space 0.32
        return sum(0.95 if c == "%" else 0.32 if c.isspace() else 0.64 for c in text)

    def fits(values) -> bool:
        return max((em(t) for t in values), default=0) * SMALL <= 0.9 * cell_pt

    if not fits(texts.values()) and texts and all(t.rstrip().endswith("%") for t in texts.values()):
        texts = {k: t.rstrip().removesuffix("%").rstrip(" \u00a0\u202f") for k, t in texts.items()}
    if m.size <= 400 and fits(texts.values()):
        hi = np.nanmax(m) if np.isfinite(m).any() else 1
        for (i, j), text in texts.items():
            ax.text(j, i, text, ha="center", va="center", fontsize=SMALL,
                    color="white" if m[i, j] > 0.6 * hi else "#222")
    return ax


def waterfall(values, labels, ax=None, total_label: str = "Total", currency=None, lang="en"):
    """Benefits (to the right) and costs (to the left) adding up to a total bar, one row per part
    from the top, so that every part's name has the chart's width to itself (on a phone too)."""
    values = np.asarray(values, float)
    n = len(values)
    ax = new_axes(ax, figsize=(WIDTH, 0.5 * (n + 1) + 1.2))
    starts = np.concatenate([[0], np.cumsum(values)[:-1]])
    colors = [PALETTE[1] if v >= 0 else BAD for v in values]
    y = np.arange(n)
    ax.barh(y, values, left=starts, color=colors)
    total = values.sum()
    ax.barh(n, total, color=PALETTE[3] if total >= 0 else BAD)
    ax.axvline(0, color="#333", lw=0.8)
    # room beyond the highest and lowest bar end, so no bar seems cut by the frame
    ends = np.concatenate([[0.0], starts, starts + values, [total]])
    span = float(ends.max() - ends.min()) or 1.0
    ax.set_xlim(float(ends.min()) - 0.08 * span, float(ends.max()) + 0.08 * span)
    ax.set_yticks(list(y) + [n], [str(x) for x in labels] + [total_label])
    ax.set_ylim(n + 0.6, -0.6)  # the first part on top, the total at the bottom
    ax.grid(axis="y", visible=False)
    if currency:
        money_axis(ax, currency, lang, axis="x")
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
