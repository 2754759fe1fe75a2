"""Pages an owner reads on a phone (issue 13): charts that scale and stay readable at 390 px, wide
tables that become cards, and a print stylesheet.

The phone is 390 px wide; with the page's 8 px margins a chart gets 374 px.  An SVG chart is shrunk
to that width, so its smallest text on the phone is ``font size / chart width × 374`` px: the tests
read both from the SVG itself.
"""
from __future__ import annotations

import re

import nbformat
import numpy as np
import pandas as pd
import pytest

from analysis.pages import plots
from analysis.pages.html import kit_css
from analysis.pages.notebook import STACK_COLUMNS, table_html
from analysis.pages.plots import compensation as cplots
from analysis.pages.plots import data_check as dplots
from analysis.pages.plots import staffing as splots

PHONE_CHART_PX = 374  # 390 px less the page's margins
SMALLEST_PX = 8.8  # "about 9 px": the smallest text on a chart as the phone shows it


@pytest.fixture(autouse=True)
def _house_style():
    import matplotlib.pyplot as plt

    plots.use_house_style()
    yield
    plt.close("all")


def _svg_facts(svg: str) -> tuple[float, float]:
    """(width in pt from the viewBox, smallest font size in the same units)."""
    width = float(re.search(r'viewBox="0 0 ([\d.]+) [\d.]+"', svg, re.I).group(1))
    sizes = [float(x) for x in re.findall(r"font-size: ?([\d.]+)px", svg)]
    return width, min(sizes)


def _phone_px(svg: str) -> float:
    width, smallest = _svg_facts(svg)
    return smallest / width * PHONE_CHART_PX


LONG = ["Source: salary + rate + share of profit", "Fixed salary", "Salary + share of revenue",
        "Salary + steps by revenue", "The larger of salary and percentage", "Share of profit + retention bonus"]


CHARTS = ["pay ranges", "legend of three columns", "tornado with a small legend", "tornado in Russian",
          "notebook's legend of two long columns", "thirty rows", "two panels",
          "heat map", "waterfall"]


def _chart(wanted: str):
    """A chart of each shape the pages have: long bar names and a long title, a legend of several
    columns, a notebook's smaller legend, many rows of small labels, two panels, a heat map."""
    for name, fig in _charts():
        if name == wanted:
            return fig
    raise KeyError(wanted)


def _charts():
    rng = np.random.default_rng(3)
    ax = cplots.pay_ranges({k: rng.normal(110_000, 8_000, 400) for k in LONG}, xlabel="Care manager's pay a month",
                           floor=76_000, floor_label="market pay", currency="RUB", lang="en")
    ax.set_title("Care manager's pay a month: median, P10–P90 and 95% of the months, per pay scheme")
    yield "pay ranges", ax.figure
    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    ax = splots.active_clients(months, {f"Block number {i}": rng.integers(50, 200, 24) for i in range(5)},
                               total=rng.integers(400, 800, 24), total_label="All clients of the salon",
                               ylabel="Active clients", lang="en")
    yield "legend of three columns", ax.figure
    ax = plots.tornado([1, 2, 3], [4, 6, 9], ["Price of a visit", "Share of clients who return", "Pay"], base=3.5,
                       currency="RUB", lang="en")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=7)  # as a notebook may
    yield "tornado with a small legend", ax.figure
    ax = plots.tornado([1, 2, 3], [4, 6, 9], ["Доля продуктивного времени", "Обращений на клиента", "Минут на обращение"],
                       base=3.5, currency="RUB", lang="ru")
    ax.legend(ax.get_legend_handles_labels()[0], ["допущение на нижнем значении", "допущение на верхнем значении"],
              loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=9)  # the staffing page's own
    yield "notebook's legend of two long columns", ax.figure
    labels = ["Эффект менеджера сопровождения: на сколько", "Продуктивная доля часов", "Запросов на клиента",
              "Минут на обращение", "Минут на пересмотр программы",
              "Выручка от собственных услуг менеджера как специалиста", "Минут на карту клиента",
              "Минут продаж на клиента", "Минут на звонок после визита", "Программ в месяц"]
    # the summary's case: wide money labels on a plot narrowed by long names ran into each other
    ax = plots.tornado(np.linspace(-7.5e6, -6.4e6, 10), np.linspace(-4.75e6, -6.1e6, 10), labels, base=-6.27e6,
                       currency="RUB", lang="ru", low_label="нижняя граница", high_label="верхняя граница",
                       xlabel="Медианный NPV")
    yield "tornado in Russian", ax.figure
    per = pd.DataFrame({"specialist_id": [f"S{i:02d}" for i in range(30)], "block": ["hair", "nails"] * 15,
                        "visits_per_available_day": rng.uniform(2, 8, 30)})
    yield "thirty rows", dplots.specialist_load(per, xlabel="Visits a day", lang="en").figure
    fig, axes = plots.panels(2)
    plots.distributions({"without": rng.normal(0, 1, 300)}, ax=axes[0], xlabel="First panel")
    plots.distributions({"with": rng.normal(1, 1, 300)}, ax=axes[1], xlabel="Second panel")
    yield "two panels", fig
    yield "waterfall", plots.waterfall([0, 1.4e6, 0.2e6, -7.4e6, -0.4e6], ["Specialist managers\nno longer needed",
                                       "Regulars kept\nlonger", "Clients kept when a specialist leaves",
                                       "Care managers' pay", "Recruitment and training"], currency="RUB").figure
    m = rng.uniform(0, 1, (12, 11))
    yield "heat map", plots.heatmap(m, [f"Jan {2020 + i}" for i in range(12)], [str(i) for i in range(11)],
                                    title="Share of each month's new clients who come back").figure


def _crowded_ticks(fig) -> list[str]:
    """Labels of a horizontal axis that touch the next one."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    out = []
    for ax in fig.axes:
        lo, hi = sorted(ax.get_xlim())
        shown = sorted(((t.get_window_extent(renderer), t.get_text()) for t in ax.get_xticklabels()
                        if t.get_visible() and t.get_text() and lo <= t.get_position()[0] <= hi),
                       key=lambda bt: bt[0].x0)
        space = 0.5 * plots.SMALL * fig.dpi / 72  # half an em at least between two labels
        out += [f"{a[1]} | {b[1]}" for a, b in zip(shown, shown[1:]) if a[0].x1 + space > b[0].x0]
    return out


@pytest.mark.parametrize("name", CHARTS)
def test_every_chart_reads_at_phone_width(name):
    fig = _chart(name)
    svg = plots.svg_text(fig)
    assert not _crowded_ticks(fig), f"{name}: tick labels run together"
    width, smallest = _svg_facts(svg)
    assert width <= plots.WIDTH * 72 + 16, f"{name}: {width:.0f} pt wide, wider than the house width"
    assert smallest >= plots.SMALL
    assert _phone_px(svg) >= SMALLEST_PX, f"{name}: smallest text {_phone_px(svg):.1f} px on a phone"


def test_panels_stack_one_per_row():
    fig, axes = plots.panels(3)
    assert len(axes) == 3
    lefts = {round(ax.get_position().x0, 2) for ax in axes}
    tops = [ax.get_position().y1 for ax in axes]
    assert len(lefts) == 1 and tops == sorted(tops, reverse=True)  # same column, one below the other
    assert fig.get_figwidth() == plots.WIDTH


def test_long_words_wrap_and_are_never_cut():
    rng = np.random.default_rng(0)
    ax = cplots.pay_ranges({k: rng.normal(100, 5, 50) for k in LONG})
    title = "A title much longer than the chart is wide, which must wrap at the chart's edge instead"
    ax.set_title(title)
    svg = plots.svg_text(ax.figure)
    text = " ".join(re.sub(r"<[^>]+>", " ", svg).split())
    for word in title.split() + " ".join(LONG).split():  # every word is there, whole
        assert word.replace("'", "&#x27;") in text or word in text
    width, _ = _svg_facts(svg)
    assert width <= plots.WIDTH * 72 + 16


def test_heat_map_keeps_its_values_while_they_fit():
    few = plots.heatmap(np.full((3, 4), 0.5), list("abc"), list("defg"))
    assert len(few.texts) == 12 and {t.get_fontsize() for t in few.texts} == {plots.SMALL}
    many = plots.heatmap(np.full((3, 30), 0.5), list("abc"), [str(i) for i in range(30)])
    assert not many.texts  # the colour scale tells them; no text smaller than a phone can show
    # a cohort table of a year (12 columns): the numbers stay, the per-cent sign moves to the colour bar
    year = plots.heatmap(np.full((24, 12), 0.15), [f"Jan 2023 · {100 + i}" for i in range(24)],
                         [str(i) for i in range(1, 13)], fmt=lambda v: f"{v:.0%}".replace("%", "\u00a0%"))
    assert {t.get_text() for t in year.texts} == {"15"} and len(year.texts) == 24 * 12
    year.figure.canvas.draw()
    assert all(t.get_text().endswith("%") for t in year.figure.axes[1].get_yticklabels() if t.get_text())
    assert _phone_px(plots.svg_text(year.figure)) >= SMALLEST_PX


def test_svg_is_the_same_bytes_every_time_and_carries_no_date():
    def once():
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
        ax.plot([1, 2, 3])
        ax.set_title("Same")
        return plots.svg_text(ax.figure)

    a, b = once(), once()
    assert a == b
    assert "<dc:date>" not in a
    assert "<text" in a  # words stay text: small, and searchable by the personal-data scan


# ------------------------------------------------------------------------------------ tables


def test_wide_table_carries_a_label_on_every_cell():
    df = pd.DataFrame({"Setup today": ["Administrators", "None"], "NPV, median": ["1 ₽", "2 ₽"],
                       "P10": ["0 ₽", "1 ₽"], "P90": ["3 ₽", None], "Pays off <in>": ["60 %", "70 %"]})
    html = table_html(df)
    assert 'class="kit-table kit-stack"' in html
    cells = re.findall(r'<td data-label="([^"]*)">([^<]*)</td>', html)
    assert len(cells) == df.size
    assert [c for c, _ in cells[:5]] == ["Setup today", "NPV, median", "P10", "P90", "Pays off &lt;in&gt;"]
    assert ("P90", "–") in cells  # a missing value shows as a dash
    assert "<th>Pays off &lt;in&gt;</th>" in html  # headers escaped


def test_long_text_goes_under_its_label():
    long = "Salary for own services (40%) + fixed 40,000 + 2.5% of the block's profit"
    html = table_html(pd.DataFrame({"Scheme": ["A"], "How it pays": [long], "Median": ["1 ₽"], "P90": ["2 ₽"]}))
    import html as _html

    assert f'<td data-label="How it pays" class="kit-long">{_html.escape(long)}</td>' in html
    assert '<td data-label="Median">1 ₽</td>' in html  # a figure stays beside its label
    css = kit_css()
    assert re.search(r"table\.kit-stack td\.kit-long \{[^}]*display: block", css)


def test_narrow_table_stays_a_table():
    html = table_html(pd.DataFrame({"a": [1], "b": [2], "c": [3]}))
    assert "kit-stack" not in html and 'data-label="c"' in html
    assert STACK_COLUMNS == 4


def test_context_tables_are_labelled(monkeypatch):
    from analysis.pages import notebook

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj.data))
    ctx = notebook.Context.__new__(notebook.Context)
    ctx.lang, ctx.currency = "ru", "RUB"
    df = pd.DataFrame({"setup": ["administrators"], "npv": [1_000.0], "p10": [1.0], "p90": [2.0]})
    ctx.table(df, money=["npv", "p10", "p90"], labels={"setup": ("Setup", "Сейчас"), "npv": ("NPV", "ЧДД")})
    assert 'class="kit-table kit-stack"' in shown[0]
    assert 'data-label="Сейчас"' in shown[0] and 'data-label="ЧДД"' in shown[0]


# ------------------------------------------------------------------------------------ the page


def _page(tmp_path) -> str:
    """A notebook with a chart and a wide table, exported as the runner exports every page."""
    import matplotlib.pyplot as plt

    from analysis.run import report

    _, ax = plt.subplots()
    ax.plot([1, 2, 3])
    ax.set_title("Visits by month of the study")
    svg = plots.svg_text(ax.figure)
    table = table_html(pd.DataFrame({c: ["x"] for c in ("a", "b", "c", "d")}))
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("show()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/svg+xml": svg, "text/plain": "<Figure>"}),
                    nbformat.v4.new_output("display_data", data={"text/html": table, "text/plain": "t"})]
    nb.cells = [cell]
    return report.export_html(nb, "en", "Page")


def test_page_draws_charts_inline_and_labels_tables(tmp_path):
    page = _page(tmp_path)
    assert '<img src="data:image/svg+xml' not in page and '<img src="data:image/png' not in page
    assert re.search(r'<div class="jp-RenderedSVG[^>]*>\s*<svg ', page)  # inline, no XML prolog before it
    assert "<?xml" not in page and "<metadata>" not in page
    assert "Visits by month of the study" in page  # chart words are in the page's text
    assert 'data-label="d"' in page and "kit-stack" in page


def test_stylesheet_has_the_phone_and_print_rules():
    css = kit_css()
    phone = "".join(re.findall(r"@media \(max-width: 600px\) \{(.*?)\n\}", css, re.S))
    assert "attr(data-label)" in phone and "table.kit-stack" in phone  # wide tables become cards
    assert re.search(r"\.jp-RenderedSVG svg[^{]*\{[^}]*width: 100%", phone)  # charts take the phone's width
    assert "min-width: 600px" not in css and "min-width: 880px" not in css  # no chart wider than the phone
    assert "hyphens: auto" in phone and "overflow-wrap: break-word" not in css and "word-break" not in css
    assert "@media print" in css
    printed = css[css.index("@media print"):]
    assert ".kit-nav" in printed and "details" in printed


def test_portfolio_cells_carry_their_column(tmp_path):
    from pathlib import Path

    from analysis.pages import html as H
    from analysis.run import report

    figures = {"summary": {"npv_median": 1_000}, "_currency": "RUB"}
    run = report.StudyRun(Path("a"), "a", Path("/reports/a"), 0, "", {}, figures, "a")
    page = H.write_portfolio(tmp_path, [run], "en", [("summary", "npv_median", "NPV", "ЧДД", "money")]).read_text()
    assert "kit-stack" in page and 'data-label="NPV"' in page


def test_a_long_legend_below_the_plot_leaves_the_plot_its_height():
    grid = np.linspace(1.5e6, 6.5e6, 20)
    ax = cplots.pay_curves(grid, {name: 80_000 + (i + 1) * 0.01 * grid for i, name in enumerate(LONG)},
                           xlabel="Block revenue a month", ylabel="Pay a month", current=4.2e6, current_label="today",
                           floor=76_000, floor_label="market pay", currency="RUB", lang="en")
    fig = ax.figure
    plots.svg_text(fig)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    legend, label = ax.get_legend().get_window_extent(renderer), ax.xaxis.label.get_window_extent(renderer)
    assert legend.y1 <= label.y0  # the legend starts below the axis's name, never over it
    assert ax.get_window_extent(renderer).height >= 2.0 * fig.dpi  # the plot keeps 2 inches at least
