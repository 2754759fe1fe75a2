"""What a report notebook needs in one object: the study, its tables, the language and formatting.

A notebook starts with::

    ctx = analysis.pages.notebook.open_study(study_dir, lang=lang, results_path=results_path,
                                       data_dir=data_dir, overrides=overrides)

and then calls the calculation modules with ``ctx.tables`` / ``ctx.study``, shows results with
``ctx.table`` and ``ctx.say`` (text in the report's language, numbers formatted), and ends with
``ctx.record("section", {...})``.  Nothing here computes a result; it only displays and records.
"""
from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import pandas as pd

from analysis.pages import i18n

from analysis.run import results
from analysis.inputs.study import Study, load_study

__all__ = ["Context", "open_study", "COLLAPSE_ROWS", "STACK_COLUMNS", "table_html"]

#: Tables longer than this are folded under a line that opens them (``<details>``).
COLLAPSE_ROWS = 25

#: Tables with at least this many columns become one card per row on a phone (``kit-stack``):
#: each cell shows its column's name beside it, from its ``data-label`` (kit.css).
STACK_COLUMNS = 4

#: A cell longer than this many characters is long text (``kit-long``): in a card it goes under its
#: column's name, read from the left, instead of beside it.
LONG_CELL = 28


def table_html(df: pd.DataFrame, classes: str = "kit-table", index: bool = False, na_rep: str = "–") -> str:
    """A table as HTML (escaped), every cell labelled with its column's name (``data-label``).

    A table of :data:`STACK_COLUMNS` columns or more also gets the class ``kit-stack``: below 600 px
    kit.css shows each of its rows as a small card (the first cell as its heading, then one line per
    column, the column's name on the left), so no figure hides behind a sideways scroll on a phone.
    A cell of more than :data:`LONG_CELL` characters is marked ``kit-long``: in a card it goes under
    its column's name.  On a wider screen it is an ordinary table.
    """
    out = df.reset_index() if index else df
    if index and df.index.name is None:  # an unnamed index gets an empty header, not "index"
        out = out.rename(columns={out.columns[0]: ""})
    heads = [str(c) for c in out.columns]
    cls = classes.split() + (["kit-stack"] if len(heads) >= STACK_COLUMNS else [])
    esc = html.escape

    def cell(v) -> str:
        if v is None or (not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v)):
            return na_rep
        return str(v)

    head = "".join(f"<th>{esc(h)}</th>" for h in heads)
    def td(h, v) -> str:
        text = cell(v)
        long = ' class="kit-long"' if len(text) > LONG_CELL else ""
        return f'<td data-label="{esc(h)}"{long}>{esc(text)}</td>'

    rows = "".join("<tr>" + "".join(td(h, v) for h, v in zip(heads, row)) + "</tr>\n"
                   for row in out.itertuples(index=False, name=None))
    return (f'<table class="{esc(" ".join(dict.fromkeys(cls)))}">\n<thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{rows}</tbody>\n</table>")

_MEMO: dict = {}  # (run's data_dir, name) -> result of Context.cached, for this kernel's life


class Context:
    """A study opened for a report notebook.

    Attributes
    ----------
    study : Study
    lang : str
        ``en`` or ``ru``.
    currency : str
    results_path : Path or None
        Where ``record`` writes; None keeps figures in memory only (``ctx.figures``).
    """

    def __init__(self, study: Study, lang: str | None = None, results_path=None, data_dir=None):
        self.study = study
        self.lang = lang or study.language
        self.currency = study.currency
        self.results_path = Path(results_path) if results_path else None
        self.data_dir = Path(data_dir) if data_dir else None
        self.figures: dict = {}
        self._tables = None

    # ---------------------------------------------------------------- data
    @property
    def tables(self):
        """The study's tables (read once; from the runner's validated cache when given)."""
        if self._tables is None:
            from analysis.inputs import data

            if self.data_dir is not None and self.data_dir.exists():
                self._tables = data.read_cache(self.data_dir, categories=True)
            else:
                self._tables = data.load_tables(self.study)
        return self._tables

    def results(self) -> dict:
        """Figures recorded so far by this study's notebooks (``results.json``)."""
        if self.results_path is None:
            return {"study": self.study.name, "figures": self.figures}
        return results.load(self.results_path)

    # ---------------------------------------------------------------- language
    def t(self, en: str, ru: str) -> str:
        """The text in the report's language."""
        return i18n.tr(self.lang, en, ru)

    def money(self, x, decimals: int = 0, short: bool = False) -> str:
        return i18n.money(x, self.currency, self.lang, decimals, short)

    def pct(self, x, decimals: int = 0) -> str:
        return i18n.percent(x, self.lang, decimals)

    def num(self, x, decimals: int = 0) -> str:
        return i18n.number(x, self.lang, decimals)

    def date(self, d) -> str:
        return i18n.date(d, self.lang)

    def range3(self, p10, p50, p90, kind: str = "money", decimals: int = 0) -> str:
        """``median (P10 … P90)`` formatted as money, percent or number; the median alone when the
        three read the same."""
        f = {"money": lambda v: self.money(v, decimals), "pct": lambda v: self.pct(v, decimals),
             "num": lambda v: self.num(v, decimals)}[kind]
        from analysis.pages.words import say

        if f(p10) == f(p50) == f(p90):   # no spread: the single value, not "x (range x … x)"
            return f(p50)
        return f"{f(p50)} ({say('common.range_word', self.lang)} {f(p10)} … {f(p90)})"

    # ---------------------------------------------------------------- display
    def say(self, en: str, ru: str | None = None) -> None:
        """Show a paragraph of Markdown in the report's language.  Dollar signs are escaped: two
        amounts in dollars on one line would otherwise be read as a TeX formula between them."""
        from IPython.display import Markdown, display

        display(Markdown(markdown_text(ru if (self.lang == "ru" and ru is not None) else en)))

    def note(self, en: str, ru: str) -> None:
        """Show a highlighted note (a section skipped, an assumption to check)."""
        from IPython.display import HTML, display

        display(HTML(f'<div class="kit-note">{html.escape(self.t(en, ru))}</div>'))

    def field_text(self, name: str, value) -> str:
        """A note's field as the reader sees it: money for amounts (``total``, ``amount``, ``*_money``),
        dates for dates, grouped numbers for other numbers, text as it is."""
        import datetime as _dt
        import numbers

        if isinstance(value, bool) or value is None:
            return str(value)
        if isinstance(value, (_dt.date, pd.Timestamp)):
            return self.date(value)
        if isinstance(value, numbers.Number):
            if name in ("total", "amount") or name.endswith("_money"):
                return self.money(value)
            return self.num(value, 0 if float(value).is_integer() else 2)
        return str(value)

    def show_notes(self, notes) -> None:
        """Show :class:`analysis.codes.Note` codes as highlighted notes in the report's language."""
        from analysis.pages.words import note_text

        for n_ in notes:
            text = note_text(n_, self.lang, self.field_text)
            self.note(text, text)

    def headline(self, items) -> None:
        """Show big figures in a row: ``[(label, value_text), ...]``."""
        from IPython.display import HTML, display

        cells = "".join(
            f'<div class="kit-kpi"><div class="kit-kpi-value">{html.escape(str(v))}</div>'
            f'<div class="kit-kpi-label">{html.escape(str(k))}</div></div>' for k, v in items)
        display(HTML(f'<div class="kit-kpis">{cells}</div>'))

    def format_table(self, df: pd.DataFrame, money=(), pct=(), num=(), decimals=None,
                     labels: dict | None = None, index: bool = False) -> pd.DataFrame:
        """Return a copy of ``df`` with money / percent / number columns formatted as text and
        columns renamed by ``labels`` (``{col: (en, ru)}`` or ``{col: text}``)."""
        decimals = decimals or {}
        out = df.copy()
        for c in money:
            if c in out:
                out[c] = [self.money(v, decimals.get(c, 0)) for v in out[c]]
        for c in pct:
            if c in out:
                out[c] = [self.pct(v, decimals.get(c, 0)) for v in out[c]]
        for c in num:
            if c in out:
                out[c] = [self.num(v, decimals.get(c, 0)) for v in out[c]]
        if labels:
            ren = {c: (self.t(*v) if isinstance(v, (tuple, list)) else v) for c, v in labels.items()}
            out = out.rename(columns=ren)
            if out.index.name in ren:
                out.index.name = ren[out.index.name]
        return out

    def table(self, df: pd.DataFrame, money=(), pct=(), num=(), decimals=None,
              labels: dict | None = None, index: bool = False, caption: str | None = None,
              collapsed: bool | None = None) -> None:
        """Show a table, numbers formatted for the report's language.  A long table (over
        ``COLLAPSE_ROWS`` rows, or ``collapsed=True``) is folded under a line that opens it."""
        from IPython.display import HTML, display

        from analysis.pages.words import say

        out = self.format_table(df, money, pct, num, decimals, labels)
        # text columns read from the left; figures (formatted or numeric) line up on the right
        text_cols = [j + 1 + int(index) for j, c in enumerate(df.columns) if j
                     and c not in (*money, *pct, *num) and not pd.api.types.is_numeric_dtype(df[c])]
        classes = ["kit-table"] + [f"kit-text-{j}" for j in text_cols if j <= 8]
        body = table_html(out, " ".join(classes), index=index)
        cap = f'<div class="kit-caption">{html.escape(caption)}</div>' if caption else ""
        box = f'<div class="kit-table-wrap">{cap}{body}</div>'
        if collapsed or (collapsed is None and len(out) > COLLAPSE_ROWS):
            head = caption or say("page.table.show", self.lang, n=len(out))
            box = (f'<details class="kit-details"><summary>{html.escape(head)}</summary>'
                   f'<div class="kit-table-wrap">{body}</div></details>')
        display(HTML(box))

    def assumptions_table(self, section: str | None = None) -> pd.DataFrame:
        """The assumptions of ``section`` (all when None): values in words (choices named, money
        with its currency, shares as percentages) and sources in the report's words."""
        from analysis.pages.labels import setting_text
        from analysis.pages.words import say
        from analysis.inputs.study import schema_leaf

        df = self.study.assumptions(section, self.lang)
        values = [setting_text(k, self.study.get(k), self.lang, self.currency, schema_leaf(k), self.study)
                  for k in df["key"]]
        sources = [say("page.source.study_file", self.lang) if s == "study.yaml" else
                   say("page.source.set", self.lang) if s == "--set" else
                   say("common.default_prefix", self.lang) + s.removeprefix("default: ")
                   for s in df["source"]]
        return df.assign(value=values, source=sources)

    def assumptions(self, section: str | None, extra: pd.DataFrame | None = None) -> None:
        """Show the section's assumptions (all when None), folded under one line, with their values,
        sources and a link to the references page; ``extra`` rows (description, value, source) come
        first — figures measured in the data, for the summary."""
        from IPython.display import HTML, display

        from analysis.pages import references
        from analysis.pages.words import say

        df = self.assumptions_table(section)
        if extra is not None:
            df = pd.concat([extra.assign(key=extra.get("key", "")), df], ignore_index=True)
        if df.empty:
            return
        out = self.format_table(df[["description", "value", "source", "key"]], labels={
            "description": say("page.assumptions.description", self.lang),
            "value": say("page.assumptions.value", self.lang),
            "source": say("page.assumptions.source", self.lang),
            "key": say("page.assumptions.key", self.lang)})
        body = table_html(out, "kit-table kit-assumptions")
        head = say("page.assumptions.summary", self.lang, n=len(out))
        link = (f'<p class="kit-caption"><a href="{references.href()}">'
                f'{html.escape(say("refs.link", self.lang))}</a></p>')
        display(HTML(f'<details class="kit-details"><summary>{html.escape(head)}</summary>'
                     f'{link}<div class="kit-table-wrap">{body}</div></details>'))

    def cached(self, name: str, fn, *args, **kwargs):
        """``fn(*args, **kwargs)``, computed once per run and kernel: a later notebook of the same run
        that asks for the same ``name`` in the same kernel gets the stored result (the summary reuses
        the sections' fits when it runs where they ran, and fits them again otherwise: under a second).

        Results live in this kernel's memory only, keyed by the run (its ``data_dir``): nothing is
        written to disk, so nothing a report folder carries (a copied or received one included) is
        ever loaded back, let alone run as code.  Outside the runner (no ``data_dir``) it simply
        calls ``fn``."""
        if self.data_dir is None:
            return fn(*args, **kwargs)
        run = str(self.data_dir.resolve())
        key = (run, name)
        if key in _MEMO:
            return _MEMO[key]
        value = fn(*args, **kwargs)
        for old in [k for k in _MEMO if k[0] != run]:  # a kernel serves one run; drop any other
            del _MEMO[old]
        _MEMO[key] = value
        return value

    def peek(self, name: str):
        """What :meth:`cached` stored under ``name`` in this kernel for this run, else None (nothing
        is computed: for a result worth reusing when an earlier notebook ran here, not worth
        computing in its full form otherwise)."""
        if self.data_dir is None:
            return None
        return _MEMO.get((str(self.data_dir.resolve()), name))

    # ---------------------------------------------------------------- results
    def export(self, section: str, name: str, df: pd.DataFrame) -> None:
        """Keep a table for ``tables.xlsx`` (numbers unformatted, one sheet per section)."""
        if self.data_dir is None:
            return
        folder = self.data_dir.parent / "tables"
        folder.mkdir(parents=True, exist_ok=True)
        out = df.copy()
        if not isinstance(out.index, pd.RangeIndex):
            out = out.reset_index()
        out.columns = [str(c) for c in out.columns]
        for c in out.columns:
            kind = out[c].dtype.kind
            if kind not in "biufcmM":  # text, periods, categories, mixed: written as text
                out[c] = out[c].astype(str)
        out.to_parquet(folder / f"{section}__{name}.parquet")

    def record(self, section: str, figures: dict) -> dict:
        """Record headline figures under ``section`` in ``results.json`` (and ``self.figures``)."""
        self.figures.setdefault(section, {}).update(results._clean(figures))
        if self.results_path is not None:
            results.record(self.results_path, section, figures, study=self.study.name)
        return self.figures[section]


def open_study(study_dir=None, lang: str | None = None, results_path=None, data_dir=None,
               overrides=None) -> Context:
    """Open a study for a notebook.

    Parameters
    ----------
    study_dir : path, optional
        The study folder; default the bundled sample (``data/sample``).
    lang : {"en", "ru"}, optional
        Report language; default the study's ``language``.
    results_path : path, optional
        ``results.json`` to record figures in.
    data_dir : path, optional
        Folder of validated tables the runner wrote (Parquet); read instead of the exports.
    overrides : dict or JSON str, optional
        Values that replace study.yaml's (as ``--set`` gives them).
    """
    if not study_dir:
        study_dir = default_study_dir()
    if isinstance(overrides, str):
        overrides = json.loads(overrides) if overrides.strip() else {}
    study = load_study(study_dir, overrides or {})
    _house_style()
    return Context(study, lang or None, results_path or None, data_dir or None)


def markdown_text(text: str) -> str:
    """``text`` for a Markdown cell output: every ``$`` escaped (``\\$``) so money in dollars is never
    taken for TeX math delimiters by the notebook's or nbconvert's Markdown renderer."""
    return re.sub(r"(?<!\\)\$", r"\\$", text)


def default_study_dir() -> Path:
    """The bundled sample study: ``$CARE_KIT_SAMPLE`` or ``<project>/data/sample``."""
    env = os.environ.get("CARE_KIT_SAMPLE")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "data" / "sample"


def _house_style() -> None:
    try:
        from analysis.pages import plots

        plots.use_house_style()
    except ImportError:  # plots not importable (no matplotlib backend): numbers still work
        pass
