"""``tables.xlsx``: the reports' key tables for owners and consultants who work in spreadsheets.

Notebooks export tables with ``ctx.export(section, name, df)`` (Parquet in the run's work folder);
the runner collects them here into one workbook:

* a contents sheet first, listing every table with a link to its sheet;
* one table per sheet, the header in row 1 and frozen, column widths fitted to the contents;
* sheets in the order of the report's pages (data check, staffing, retention, pay, summary, pilot);
* sheet names and headers in the report's language (catalogue keys ``xlsx.table.<name>`` and
  ``xlsx.col.<column>``, then the page's own ``<section>.col.<column>``; a month-offset column
  ``3`` reads "3 months later"; an unknown column keeps a readable form of its name);
* no raw codes in the cells: block names through :func:`analysis.pages.labels.block_label`, pay
  schemes by their names, staffing options, queues, parts of the month or of the NPV, pilot
  designs and recorded figures by their catalogue names (:func:`cell_text`); a table of settings
  keyed by ``key`` gets the setting's description beside the key;
* number formats set in the cells: money in the study's currency, shares as percentages, dates;
* every text cell that a spreadsheet could read as a formula (it starts with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return) is stored as text with Excel's quote prefix, never as a formula
  (OWASP, "CSV Injection": https://owasp.org/www-community/attacks/CSV_Injection);
* the same tables give the same bytes: fixed creation and modification times in the workbook's
  properties and fixed timestamps in the zip (``SOURCE_DATE_EPOCH`` when set, else 1 Jan 1980).
"""
from __future__ import annotations

import datetime as dt
import io
import math
import os
import re
import zipfile
from pathlib import Path

import pandas as pd

from analysis.pages.i18n import number, symbol
from analysis.pages.words import catalogue, fields_of, say

__all__ = ["write", "number_format", "column_title", "table_title", "cell_text", "is_risky", "FIXED_TIME",
           "SECTION_ORDER"]

#: Sheets follow the report's pages.
SECTION_ORDER = ("data_check", "staffing", "retention", "compensation", "summary", "role_profile", "pilot")

#: Columns whose cells hold codes, and the catalogue keys that name them (first found wins).
CODE_KEYS = {
    "option": ("staffing.option.{v}", "pilot.design.option.{v}"),
    "queue": ("staffing.queue.{v}",),
    "part": ("role.part.{v}", "summary.part.{v}"),
    "component": ("compensation.component.{v}",),
}

_MONEY = re.compile(r"(cost|revenue|pay|margin|profit|saving|amount|price|spend|clv|npv|value|rub|ticket|risk)", re.I)
_SHARE = re.compile(r"(^p_|share|rate|retention|prob|pct|percent|uplift|effect|gini|attachment|utilisation)", re.I)
_NOT_MONEY = re.compile(r"(slope|_cv$|^income_cv$)", re.I)
_STAT = re.compile(r"^(?P<base>.+?)_(?P<stat>p10|p50|median|p90|mean|low|high|sd)$")
_RISKY = ("=", "+", "-", "@", "\t", "\r")
_BAD_SHEET = re.compile(r"[\[\]:*?/\\]")

#: 1 Jan 1980, the earliest time a zip entry can carry; ``SOURCE_DATE_EPOCH`` replaces it.
FIXED_TIME = dt.datetime(1980, 1, 1)


#: Columns holding shares whose names the name rules above cannot tell (a cohort's month number, a
#: chance, a rate named after its group): ``{(section, table): columns}``, ``"*"`` for every numeric
#: column.  They are written as percentages (``0.0%``) like every other share.
SHARE_COLUMNS = {
    ("data_check", "cohorts"): "*",
    ("staffing", "queues"): {"within_target"},
    ("pilot", "design"): {"power_6m"},
    ("pilot", "event_study"): {"pilot", "control", "gap", "gap_p10", "gap_p90"},
}


def column_format(section: str | None, name: str | None, column: str, currency: str = "RUB",
                  lang: str = "en") -> str | None:
    """The number format of ``column`` in the table ``section``/``name``: a share by
    :data:`SHARE_COLUMNS`, else by its name (:func:`number_format`)."""
    shares = SHARE_COLUMNS.get((section, name))
    if shares == "*" or (shares is not None and column in shares):
        return "0.0%"
    return number_format(column, currency, lang)


def _fixed_time() -> dt.datetime:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        t = dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).replace(tzinfo=None)
        return max(t, FIXED_TIME)
    return FIXED_TIME


def is_risky(text) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula (OWASP CSV-injection characters)."""
    return isinstance(text, str) and text.startswith(_RISKY)


def number_format(column: str, currency: str = "RUB", lang: str = "en") -> str | None:
    """Excel number format for a column, from its name (shares before money).

    >>> number_format("share_of_clients")
    '0.0%'
    >>> number_format("npv_median", "RUB", "en")
    '#,##0 "₽"'
    """
    if _NOT_MONEY.search(column):
        return "0.000"
    if _SHARE.search(column):
        return "0.0%"
    if _MONEY.search(column):
        sym = symbol(currency, lang)
        if lang != "ru" and currency in ("USD", "EUR", "GBP", "CNY"):
            return f'"{sym}"#,##0'
        return f'#,##0 "{sym}"'
    return None


def _key(prefix: str, name: str) -> str:
    return f"{prefix}.{name}"


def _plain(key: str, lang: str) -> str | None:
    """The catalogue text of ``key`` when it exists and needs no fields, else None."""
    entry = catalogue(lang).get(key)
    if isinstance(entry, str) and not fields_of(entry):
        return entry.replace("\n", " ")
    return None


def column_title(column: str, lang: str = "en", section: str | None = None) -> str:
    """A column's header in ``lang``: ``xlsx.col.<column>``, then ``<section>.col.<column>``, or its
    base and statistic (``pay_p10`` -> "Pay, P10"), a month offset (``3`` -> "3 months later"), or the
    name with spaces for an unknown column."""
    col = str(column)
    for key in (_key("xlsx.col", col), _key(f"{section}.col", col) if section else None):
        text = _plain(key, lang) if key else None
        if text is not None:
            return text
    m = _STAT.match(col)
    if m and _key("xlsx.col", m["base"]) in catalogue(lang):
        return say("xlsx.stat", lang, name=say(_key("xlsx.col", m["base"]), lang),
                   stat=say(_key("xlsx.stat", m["stat"]), lang))
    if col.isdigit():
        return say("xlsx.col.months_later", lang, n=int(col))
    text = col.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def table_title(section: str, name: str, lang: str = "en") -> str:
    """A table's title in ``lang`` (``xlsx.table.<name>``, else its name with spaces)."""
    key = _key("xlsx.table", name)
    if key in catalogue(lang):
        return say(key, lang)
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


def cell_text(column: str, value, lang: str = "en", study=None, section: str | None = None):
    """A cell as the reader should see it: codes in known columns turned into names, anything else
    as it is.

    >>> cell_text("block", "hair", "ru")
    'Волосы'
    >>> cell_text("option", "one_block", "en")
    'One block against the others'
    """
    if not isinstance(value, str):
        return value
    from analysis.pages.labels import block_label, setting_text

    col = str(column)
    if col == "block":
        return block_label(value, lang, study)
    if col == "blocks":
        if value.strip() in ("all", ""):
            return say("page.block.all", lang)
        return ", ".join(block_label(b.strip(), lang, study) for b in value.split(","))
    if col == "scheme" and study is not None:
        return setting_text("care_manager.scheme", value, lang, study=study)
    if col == "figure" and section:
        from analysis import figures

        found = figures.find(section, value)
        if found is not None:
            return figures.label(found[0], lang, study, **found[1])
        text = _plain(_key("xlsx.col", value), lang)  # a figure named like a column
        if text is not None:
            return text
    for pattern in CODE_KEYS.get(col, ()):
        text = _plain(pattern.format(v=value), lang)
        if text is not None:
            return text
    return value


def _setting_description(key: str, lang: str) -> str:
    from analysis.inputs.study import schema

    node = schema()
    for part in str(key).split("."):
        if not isinstance(node, dict) or part not in node:
            return ""
        node = node[part]
    return str(node.get(lang) or node.get("en") or "") if isinstance(node, dict) else ""


def _readable(df: pd.DataFrame, section: str, lang: str, study) -> pd.DataFrame:
    """Codes turned into names; a settings table keyed by ``key`` without a description gets one."""
    df = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df.copy()
    for col in df.columns:
        if df[col].dtype == object or pd.api.types.is_string_dtype(df[col]):
            df[col] = pd.Series([cell_text(col, v, lang, study, section) for v in df[col]], index=df.index,
                                dtype=object)
    if {"key", "value"} <= set(map(str, df.columns)):  # a list of settings: block lists in words
        blocks = {"care_manager.covers", "care_manager.pilot_blocks"}
        df["value"] = [cell_text("blocks", v, lang, study) if k in blocks and isinstance(v, str)
                       else (_plain(f"page.value.{v}", lang) or v) if isinstance(v, str) else v
                       for k, v in zip(df["key"], df["value"])]
    if "key" in df.columns and not ({"label", "description"} & set(map(str, df.columns))):
        df.insert(list(df.columns).index("key") + 1, "label",
                  [_setting_description(k, lang) for k in df["key"]])
    return df


def _section_title(section: str, lang: str) -> str:
    key = _key("xlsx.section", section)
    return say(key, lang) if key in catalogue(lang) else section.replace("_", " ").capitalize()


def _sheet_name(title: str, taken: set[str]) -> str:
    base = re.sub(r"\s+", " ", _BAD_SHEET.sub(" ", title)).strip().strip("'") or "table"
    base = base[:31]
    name, i = base, 2
    while name.lower() in taken:
        tail = f" ({i})"
        name = base[:31 - len(tail)] + tail
        i += 1
    taken.add(name.lower())
    return name


def _value(v):
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    elif hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        v = v.replace(tzinfo=None)
    return v


#: Rows written per sheet.  Excel holds 1,048,576 rows a sheet; a per-client table of a large chain
#: can be longer, and a sheet of a hundred thousand rows is already more than an owner scrolls: the
#: first rows are written and the contents sheet says how many there were in all.
MAX_SHEET_ROWS = 100_000

def _put(ws, row: int, col: int, v):
    """Write ``v``; text is always text (a risky text gets Excel's quote prefix, never a formula)."""
    cell = ws.cell(row=row, column=col)
    if isinstance(v, str):
        cell.value = v
        cell.data_type = "s"  # openpyxl would store a text starting with "=" as a formula
        if is_risky(v):
            cell.quotePrefix = True
    else:
        cell.value = v
    return cell


def _shown_len(v, fmt) -> int:
    if v is None:
        return 1
    if isinstance(v, (dt.date, dt.datetime)):
        return 11
    if isinstance(v, float):
        if fmt == "0.0%":
            return 7
        return len(f"{v:,.0f}") + (4 if fmt and '"' in fmt else 2)
    if isinstance(v, int):
        return len(f"{v:,}") + (4 if fmt and '"' in fmt else 0)
    return max((len(line) for line in str(v).splitlines()), default=1)


def _write_table(ws, df: pd.DataFrame, lang: str, currency: str, section: str | None = None,
                 name: str | None = None) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    df = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df
    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="F1F4F4")
    date_fmt = "dd.mm.yyyy" if lang == "ru" else "d mmm yyyy"
    widths = []
    for j, col in enumerate(df.columns, start=1):
        title = column_title(col, lang, section)
        cell = _put(ws, 1, j, title)
        cell.font, cell.fill = head_font, head_fill
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")
        widths.append(min(max(len(w) for w in title.split()) + 2 if title.split() else 8, 40))
        widths[-1] = max(widths[-1], min(len(title) + 2, 22))
    for i, values in enumerate(df.itertuples(index=False), start=2):
        for j, v in enumerate(values, start=1):
            v = _value(v)
            fmt = None
            if isinstance(v, bool):
                pass
            elif isinstance(v, (dt.datetime, dt.date)):
                fmt = date_fmt
            elif isinstance(v, (int, float)):
                fmt = column_format(section, name, str(df.columns[j - 1]), currency, lang)
                if fmt is None:
                    fmt = "#,##0" if isinstance(v, int) or float(v).is_integer() and abs(v) >= 1000 \
                        else "#,##0.00"
            cell = _put(ws, i, j, v)
            if fmt:
                cell.number_format = fmt
            widths[j - 1] = max(widths[j - 1], min(_shown_len(v, fmt) + 2, 50))
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = max(w, 8)
    ws.freeze_panes = "A2"
    if len(df.columns):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(df.columns))}{max(len(df) + 1, 1)}"


def _order(path: Path) -> tuple:
    section = path.stem.partition("__")[0]
    return (SECTION_ORDER.index(section) if section in SECTION_ORDER else len(SECTION_ORDER), path.stem)


def _kept_sheets(earlier, replaced, lang: str):
    """The earlier workbook (``--only``) with its contents sheet and the sheets of the ``replaced``
    sections taken out, and the contents rows of the sheets left: ``(workbook, [(section title,
    table title, sheet, rows, rank)])``; ``(None, [])`` when it cannot be read.  A sheet's section is
    the one its contents row names (titles in ``lang``, the language the earlier report was checked to
    share).  Loaded without external links; a formula or a link planted in a kept sheet is turned
    into text (a received report folder cannot have this run publish a formula)."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(earlier, keep_links=False)
    except Exception:  # noqa: BLE001 - a damaged or foreign file: nothing is kept from it
        return None, []
    gone = {_section_title(s, lang) for s in replaced}
    ranks = {_section_title(s, lang): i for i, s in enumerate(SECTION_ORDER)}
    contents, rows = wb.worksheets[0], []
    for row in contents.iter_rows(min_row=4, max_col=4, values_only=True):
        section, table, sheet, n = (list(row) + [None] * 4)[:4]
        if (isinstance(sheet, str) and sheet in wb.sheetnames and sheet != contents.title
                and str(section) not in gone):
            rows.append((str(section), str(table), sheet, n if isinstance(n, int) else None,
                         ranks.get(str(section), len(SECTION_ORDER))))
    keep = {r[2] for r in rows}
    for ws in list(wb.worksheets):
        if ws.title not in keep:
            wb.remove(ws)
    for ws in wb.worksheets:
        for cells in ws.iter_rows():
            for cell in cells:
                cell.hyperlink = None
                if cell.data_type == "f" or is_risky(cell.value):
                    _put(ws, cell.row, cell.column, str(cell.value))
    for name in list(wb.defined_names):
        del wb.defined_names[name]
    return wb, rows


def write(tables_dir, out_path, lang: str = "en", currency: str = "RUB", title: str = "", study=None,
          earlier=None, replaced=()) -> Path:
    """Write every ``<section>__<name>.parquet`` under ``tables_dir`` into ``out_path``.

    Parameters
    ----------
    tables_dir : path
        The run's exported tables.
    out_path : path
        The workbook to write.
    lang : {"en", "ru"}
        Language of sheet names, headers and the contents sheet.
    currency : str
        ISO code of the study's money (the number format of money columns).
    title : str
        The study's name, shown on the contents sheet.
    study : Study, optional
        For block names (``block_names``) and pay-scheme names.
    earlier : path, optional
        The earlier report's workbook (``--only``): its sheets of sections other than ``replaced``
        and the sections of the tables in ``tables_dir`` are kept, in the pages' order, so the
        workbook still holds every page's tables.
    replaced : iterable of str
        Sections run again (their earlier sheets are dropped even when they export nothing now).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    tables_dir, out_path = Path(tables_dir), Path(out_path)
    files = sorted(tables_dir.glob("*.parquet"), key=_order) if tables_dir.exists() else []
    wb, kept = None, []
    if earlier is not None and Path(earlier).is_file():
        replaced = set(replaced) | {f.stem.partition("__")[0] for f in files}
        wb, kept = _kept_sheets(earlier, replaced, lang)
    if wb is None:
        wb, kept = Workbook(), []
        contents = wb.active
    else:
        contents = wb.create_sheet(index=0)
    contents.title = say("xlsx.contents", lang)[:31]
    taken = {contents.title.lower()} | {r[2].lower() for r in kept}
    contents["A1"] = title or say("xlsx.contents", lang)
    contents["A1"].data_type = "s"
    contents["A1"].font = Font(bold=True, size=14)
    rows = [(say("xlsx.col.section", lang), say("xlsx.col.table", lang), say("xlsx.col.sheet", lang),
             say("xlsx.col.rows", lang))]
    for f in files:
        section, _, name = f.stem.partition("__")
        name = name or section
        df = pd.read_parquet(f)
        ttl = table_title(section, name, lang)
        ws = wb.create_sheet(_sheet_name(ttl, taken))
        total = len(df)
        if total > MAX_SHEET_ROWS:   # said on the contents sheet, never cut silently
            df = df.head(MAX_SHEET_ROWS)
            ttl = ttl + " — " + say("xlsx.truncated", lang, shown=number(MAX_SHEET_ROWS, lang),
                                    total=number(total, lang))
        _write_table(ws, _readable(df, section, lang, study), lang, currency, section, name)
        rows.append((_section_title(section, lang), ttl, ws.title, total, _order(f)[0]))
    if kept:  # every page's tables in the pages' order, whichever run wrote them
        rows = rows[:1] + sorted(rows[1:] + kept, key=lambda r: r[4])
        wb._sheets = [contents] + [wb[r[2]] for r in rows[1:]]
    rows = [r[:4] for r in rows]
    if len(rows) == 1:
        _put(contents, 3, 1, say("xlsx.empty", lang))
    else:
        for i, row in enumerate(rows, start=3):
            for j, v in enumerate(row, start=1):
                cell = _put(contents, i, j, v)
                if i == 3:
                    cell.font = Font(bold=True)
            if i > 3:
                link = contents.cell(row=i, column=3)
                link.hyperlink = f"#'{row[2]}'!A1"
                link.font = Font(color="0B7A75", underline="single")
        for letter, w in zip("ABCD", (20, max(len(r[1]) for r in rows) + 2, 34, 8)):
            contents.column_dimensions[letter].width = min(w, 60)
    wb.active = 0
    when = _fixed_time()
    wb.properties.creator = "care-manager study kit"
    wb.properties.created = when
    wb.properties.modified = when
    wb.properties.lastModifiedBy = None
    buf = io.BytesIO()
    wb.save(buf)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(_fixed_zip(buf.getvalue(), when))
    os.replace(tmp, out_path)
    return out_path


_CORE_TIME = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _fixed_zip(data: bytes, when: dt.datetime) -> bytes:
    """The same workbook with every zip entry stamped ``when`` and the core properties' times fixed."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _CORE_TIME.sub(rb"\g<1>" + stamp + rb"\g<2>", body)
            fixed = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, body)
    return out.getvalue()
