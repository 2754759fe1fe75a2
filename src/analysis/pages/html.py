"""The HTML around the notebooks: page frame, navigation, a study's index, the portfolio page.

Everything is rendered by jinja2 templates in ``analysis/pages/templates/shell/`` with autoescape on;
styles and scripts are files beside them (``kit.css``, ``shell/shell.css``, ``shell/sort.js``);
every word comes from the catalogues (``page.*`` keys).  The notebooks' own pages go through
nbconvert's ``care`` template, which receives the navigation and footer made here.

The portfolio never adds up money of studies in different currencies: it shows each study's
currency, sorts money within one currency, and gives one totals row per currency (with a note
when there are several).
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jinja2
from markupsafe import Markup

from analysis.pages import i18n
from analysis.pages.labels import study_name
from analysis.pages.words import has, say

__all__ = ["SECTIONS", "section_title", "section_titles", "nav", "footer", "page", "kit_css", "shell_css",
           "sort_js", "verdict_block", "write_study_index", "write_portfolio", "extra_links",
           "portfolio_totals", "study_name"]

#: Sections with a page title in the catalogues (``page.title.<section>``), in report order.
SECTIONS = ("data_check", "staffing", "retention", "compensation", "summary", "role_profile", "pilot")

#: Figure formats that are amounts of money (added up per currency on the portfolio page).
MONEY_KINDS = ("money",)


def _templates():
    return resources.files("analysis.pages") / "templates"


@lru_cache(maxsize=None)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_templates())),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    env.globals["say"] = say
    return env


def _asset(*parts: str) -> str:
    return _templates().joinpath(*parts).read_text(encoding="utf-8")


def kit_css() -> str:
    """The style every report page shares (``templates/kit.css``)."""
    return _asset("kit.css")


def shell_css() -> str:
    """The style of the index and portfolio pages (``templates/shell/shell.css``)."""
    return _asset("shell", "shell.css")


def sort_js() -> str:
    """The portfolio table's column sorting (``templates/shell/sort.js``)."""
    return _asset("shell", "sort.js")


def section_title(section: str, lang: str) -> str:
    """A section's page title in ``lang`` (``page.title.<section>``; an unknown section its name)."""
    key = f"page.title.{section}"
    if has(key):
        return say(key, lang)
    return section.replace("_", " ").capitalize()


def section_titles() -> dict:
    """``{section: (English title, Russian title)}`` for every section the kit has."""
    return {s: (section_title(s, "en"), section_title(s, "ru")) for s in SECTIONS}


def nav(pages, current: str, lang: str, brand: str) -> Markup:
    """The navigation bar's links (safe HTML): the study's name, the overview, each page."""
    html = _env().get_template("shell/nav.html.j2").render(pages=list(pages), current=current, lang=lang,
                                                          brand=brand)
    return Markup(" ".join(line.strip() for line in html.splitlines() if line.strip()))


def footer(lang: str) -> Markup:
    """The line at the foot of every notebook page (escaped, safe HTML)."""
    from analysis import __version__

    return Markup.escape(say("page.footer", lang, version=__version__))


def _today(lang: str) -> str:
    return i18n.date(dt.date.today(), lang)


def page(title: str, body, lang: str, nav_html="", footer_text: str = "") -> str:
    """A whole page of the kit's style around ``body`` (HTML the caller built and escaped)."""
    return _env().get_template("shell/base.html.j2").render(
        lang=lang, title=title, css=Markup(kit_css() + "\n" + shell_css()), nav=Markup(nav_html or ""),
        body=Markup(body), footer=footer_text)


def verdict_block(study, lang: str, fig: dict) -> dict | None:
    """The verdict for the top of index.html: its level in words and the next steps."""
    from analysis import figures
    from analysis.sections import summary
    from analysis.codes import Note

    level = fig.get("verdict")
    if not level:
        return None
    steps = [summary.next_step_text(Note(s["code"], s.get("fields", {})), study, lang)
             for s in fig.get("next_steps", []) if isinstance(s, dict)]
    return {"level": figures.format_as("verdict", level, lang, study.currency), "steps": steps}


def _value_text(value, kind: str, lang: str, currency: str, study=None) -> str:
    from analysis import figures

    if kind == "text" and isinstance(value, str) and study is not None:
        value = _scheme_text(value, lang, study)
    return figures.format_as(kind, value, lang, currency)


def _scheme_text(value: str, lang: str, study) -> str:
    """A recorded pay-scheme code (``source``) as its name; other texts as they are."""
    from analysis.pages.labels import setting_text

    try:
        known = value in (study.get("compensation.schemes") or {})
    except Exception:  # a study without schemes
        known = False
    return setting_text("care_manager.scheme", value, lang, study=study) if known else value


#: Figures that compare the role with what the salon has today: without today's setup (neither
#: staff.csv roles nor ``staffing.current_setup``) they rest on nothing the salon stated ("nothing
#: replaced" makes the saving minus the role's cost), so the index and the portfolio say "not
#: counted" instead of the number (the staffing and summary pages say why).
SETUP_FIGURES = (("staffing", "saving_month_median"), ("staffing", "saving_month_p10"),
                 ("staffing", "saving_month_p90"), ("staffing", "cost_specialists_month"))


def setup_unstated(figures: dict, section: str, key: str) -> bool:
    """True when ``section.key`` is one of :data:`SETUP_FIGURES` and the summary recorded today's
    setup as unknown (``summary.current_setup`` null); False when the summary did not run."""
    summ = figures.get("summary", {})
    return ((section, key) in SETUP_FIGURES and isinstance(summ, dict) and "current_setup" in summ
            and summ.get("current_setup") is None)


def write_study_index(out: Path, study, lang: str, pages, figures: dict, extra_links=()) -> Path:
    """``index.html``: the verdict, then each section with its headline figures and a link to its page."""
    from analysis import figures as figs

    cur = study.currency
    cards = []
    for href, section, title in pages:
        got = figures.get(section, {})
        replaced = figs.replaced_on_card(section, got)   # e.g. the break-even with members' fees stands in
        kpis = [(label_en if lang == "en" else label_ru,
                 say("page.value.setup_unstated", lang) if setup_unstated(figures, sec, key)
                 else _value_text(got.get(key), kind, lang, cur, study))
                for sec, key, label_en, label_ru, kind in figs.index_rows(study)
                if sec == section and got.get(key) is not None and key not in replaced]
        card = f"page.card.{section}"
        cards.append({"href": href, "title": title, "about": say(card, lang) if has(card) else "",
                      "kpis": kpis})
    body = _env().get_template("shell/index.html.j2").render(
        lang=lang, title=study_name(study, lang), css=Markup(kit_css() + "\n" + shell_css()),
        nav=nav([(h, t) for h, _, t in pages], "index.html", lang, study_name(study, lang)), footer="",
        study_name=study_name(study, lang), today=_today(lang), verdict=verdict_block(study, lang, figures.get("summary", {})),
        cards=cards, links=list(extra_links))
    path = Path(out) / "index.html"
    path.write_text(body, encoding="utf-8")
    return path


def portfolio_totals(runs, columns, lang: str) -> list[dict]:
    """One totals row per currency: the sum of each money column over the studies in that currency.

    ``columns`` are ``(section, key, kind)``; a column that is not money is left blank.  Studies in
    different currencies are never added together.
    """
    by_cur: dict[str, list] = {}
    for r in runs:
        if r.code == 0:
            by_cur.setdefault(r.figures.get("_currency", "RUB"), []).append(r)
    out = []
    for cur in sorted(by_cur):
        group = by_cur[cur]
        cells = []
        for section, key, kind in columns:
            vals = [r.figures.get(section, {}).get(key) for r in group
                    if not setup_unstated(r.figures, section, key)]
            vals = [v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
            cells.append(i18n.money(sum(vals), cur, lang) if kind in MONEY_KINDS and vals else "")
        out.append({"currency": cur, "n": len(group), "cells": cells,
                    "label": say("page.portfolio.totals_of", lang, n=len(group), currency=cur)})
    return out


def write_portfolio(root: Path, runs, lang: str, index_rows=None) -> Path:
    """``<root>/index.html`` comparing several studies side by side (sortable columns)."""
    from analysis import figures as figs

    rows_spec = index_rows if index_rows is not None else figs.index_rows()
    cols = [(s, k, en, ru, kind) for s, k, en, ru, kind in rows_spec
            if any(r.figures.get(s, {}).get(k) is not None for r in runs)]
    rows = []
    for r in runs:
        cur = r.figures.get("_currency", "")
        row = {"title": r.title or r.name, "currency": cur, "href": None, "failed": None, "cells": []}
        if r.code == 0:
            row["href"] = f"{r.out_dir.name}/index.html"
            for s, k, _, _, kind in cols:
                v = r.figures.get(s, {}).get(k)
                if setup_unstated(r.figures, s, k):   # not a figure the salon's facts support: no number, no total
                    row["cells"].append({"value": None, "text": say("page.value.setup_unstated", lang),
                                         "currency": "", "text_kind": True})
                    continue
                if k not in r.figures.get(s, {}):   # not computed for this study (e.g. not enough data):
                    row["cells"].append({"value": None, "text": "–", "currency": "", "text_kind": False})
                    continue                       # a dash, never a format's word for null ("no payback")
                number = v if isinstance(v, (int, float)) and not isinstance(v, bool) else None
                row["cells"].append({"value": number, "text": i18n_figure(v, kind, lang, cur or "RUB"),
                                     "currency": cur if kind in MONEY_KINDS else "",
                                     "text_kind": kind in ("text", "verdict")})
        else:
            row["failed"] = (r.message.splitlines()[0] if r.message else say("page.portfolio.failed", lang))
        rows.append(row)
    currencies = sorted({r.figures.get("_currency") for r in runs if r.code == 0 and r.figures.get("_currency")})
    mixed = (say("page.portfolio.mixed_currencies", lang, currencies=", ".join(currencies))
             if len(currencies) > 1 else "")
    has_money = any(kind in MONEY_KINDS for *_, kind in cols)
    totals = portfolio_totals(runs, [(s, k, kind) for s, k, _, _, kind in cols], lang) if has_money else []
    title = say("page.portfolio.title", lang)
    html = _env().get_template("shell/portfolio.html.j2").render(
        lang=lang, title=title, css=Markup(kit_css() + "\n" + shell_css()), nav="", footer="",
        count=say("page.portfolio.count", lang, n=len(runs)), today=_today(lang), mixed=mixed,
        columns=[{"label": en if lang == "en" else ru} for _, _, en, ru, _ in cols], rows=rows, totals=totals,
        sort_js=Markup(sort_js()))
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / "index.html"
    path.write_text(html, encoding="utf-8")
    return path


def i18n_figure(value, kind: str, lang: str, currency: str) -> str:
    """A figure in the format ``kind`` (see :func:`analysis.figures.format_as`)."""
    from analysis import figures

    return figures.format_as(kind, value, lang, currency)


def extra_links(folder, lang: str) -> list[tuple[str, str]]:
    """Links under the index's cards: the workbook, the references, the figures and the run record."""
    from analysis.pages import references

    return [("tables.xlsx", say("page.link.tables", lang)),
            (references.FILE, say("refs.title", lang)),
            ("results.json", say("page.link.results", lang)),
            ("manifest.json", say("page.link.manifest", lang))]
