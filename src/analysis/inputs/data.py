"""Read and validate a study's exports into tidy DataFrames; personal data never passes.

A study folder holds ``visits`` (required) and optionally ``services``, ``staff``, ``clients`` and
``memberships``, each as ``<table>.csv``, ``.xlsx`` or ``.parquet`` -- or any file mapped in
``study.yaml``::

    data:
      visits:
        file: export.csv          # relative to the study folder
        sheet: Visits             # XLSX only, optional (default: the first sheet)
        columns: {Дата: date, Клиент: client_id, Сумма: amount}
        values: {status: {Клиент пришел: done}}   # the export's words -> the kit's
        date_format: "%m/%d/%Y"                   # only when dates are written month first
        duplicates: keep                          # or drop (exact copies, no visit ids)
        refunds: reject                           # or net (negative amounts off the client's visits)
      mask_personal_values: false                 # true: phones / e-mails in categories pseudonymised

``source_system: yclients`` (or another preset of :mod:`analysis.inputs.presets`) supplies a salon system's
header names and status words; the ``data:`` mapping wins over it.

CSV files may be UTF-8, UTF-8 with BOM, UTF-16 (Excel "Unicode text") or cp1251 (detected), separated
by ``,`` ``;`` or tab (detected), with a decimal point or comma, thousands grouped by a space or a
no-break space (``"1 500,00"``) and dates ISO (``2024-06-30``) or ``30.06.2024``.  Column names match
case-insensitively (``Client_ID`` is ``client_id``); columns outside the contract are dropped, and
columns holding names, phones, e-mails, birth dates or addresses are dropped from every table.

Every problem found is collected and raised together as one :class:`~analysis.errors.InputError`
(file, column, the first offending rows numbered as in the file with the header as row 1, how many).
Nothing is changed silently: missing or infinite amounts, two columns read as one, negative amounts,
unknown status words and phone numbers or e-mails inside categories are problems; exact duplicates,
dates readable day- or month-first, zero amounts and empty optional files are kept or skipped with a
:class:`~analysis.codes.Note` in ``Tables.notes``.  Input files are only ever opened for reading.

The tidy contract (what every section may rely on) is :data:`COLUMNS`; optional columns are simply
absent when the export lacks them (check with :meth:`Tables.has`).
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.codes import Note
from analysis.errors import InputError, Problem

__all__ = ["Tables", "load_tables", "write_cache", "read_cache", "TABLES", "COLUMNS", "REQUIRED",
           "summarize", "input_files", "pseudonymize", "is_personal_column", "STATUS_WORDS", "ROLE_WORDS",
           "check_settings", "spend_mask", "looks_personal", "blockless_role", "large_amounts"]

TABLES = ("visits", "services", "staff", "clients", "memberships")

#: Column -> kind for each table (``id``/``str`` text, ``date``, ``number``, ``fraction``, ``status``,
#: ``period``).  Order = order in the tidy frames.
COLUMNS: dict[str, dict[str, str]] = {
    "visits": {"visit_id": "id", "client_id": "id", "date": "date", "service": "str", "block": "str",
               "specialist_id": "id", "amount": "number", "consumables_cost": "number",
               "discount": "number", "status": "status"},
    "services": {"service": "str", "block": "str", "price": "number", "consumables_cost": "number",
                 "duration_min": "number"},
    "staff": {"specialist_id": "id", "block": "str", "role": "str", "hired": "date", "left": "date",
              "monthly_fixed_pay": "number", "commission_rate": "fraction"},
    "clients": {"client_id": "id", "first_visit": "date", "channel": "str"},
    "memberships": {"client_id": "id", "start": "date", "end": "date", "plan": "str",
                    "price_per_period": "number", "period": "period"},
}

#: Required columns per table (a value must be present in every row).
REQUIRED: dict[str, tuple[str, ...]] = {
    "visits": ("client_id", "date", "amount"),
    "services": ("service", "block", "price"),
    "staff": ("specialist_id", "block"),
    "clients": ("client_id",),
    "memberships": ("client_id", "start"),
}

EXTENSIONS = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet")


def _accepted_names(table: str) -> str:
    """The file names a table is found under, for messages: every accepted extension
    (``visits.csv, visits.tsv, … or visits.parquet``)."""
    names = [f"{table}{e}" for e in EXTENSIONS]
    return ", ".join(names[:-1]) + " or " + names[-1]

#: Status words understood (lower case; Russian words by their stem).
STATUS_WORDS = {
    "done": ("done", "completed", "complete", "closed", "paid", "arrived", "visited", "ok", "yes",
             "выполн", "пришел", "пришёл", "пришла", "оплач", "заверш", "состоял", "обслуж", "закрыт"),
    "cancelled": ("cancelled", "canceled", "cancel", "отмен", "удал"),
    "no_show": ("no_show", "no-show", "no show", "noshow", "not arrived", "неявк", "не приш",
                "не явил", "не пришёл"),
}

#: Words in staff.csv's ``role`` (lower case, substrings; Russian by their stem) that name today's
#: client management (``staffing.role_kind``); a care manager's role is never one of them, nor is a
#: manager whose role also names one of ``not_client_manager`` (directors, owners, general / salon
#: managers, sales, purchasing, office managers …).
ROLE_WORDS = {
    "manager": ("manager", "менеджер"),
    "administrator": ("admin", "администратор", "reception", "ресепшн", "front desk"),
    "care_manager": ("care", "сопровожд"),
    "not_client_manager": ("director", "директор", "owner", "владел", "управляющ", "general", "генеральн",
                           "salon manager", "studio manager", "store manager", "branch manager", "office",
                           "офис", "sales", "продаж", "закуп", "purchas", "procure", "снабж", "marketing",
                           "маркет", "smm", "finance", "финанс", "бухгалт", "hr ", "кадр",
                           "персонал", "operations", "операцион"),
}

#: What to put in an empty required cell, where the bare "empty block." would leave the owner guessing.
_EMPTY_HINT = {("staff", "block"): (
    " A specialist's row needs the block they work in, as visits.csv names it (hair, nails …). Staff "
    "who serve the whole salon (administrator, manager, care manager, director, owner …) may leave the "
    "block empty: write their job in the role column.")}


def blockless_role(roles) -> np.ndarray:
    """True where a staff.csv ``role`` names a job not tied to a block (any word of
    :data:`ROLE_WORDS`: administrators and reception, client or block managers, care managers,
    directors, owners, office, sales …): such a row may leave ``block`` empty.  An empty role or any
    other job (stylist, master …) is a specialist's, who needs a block.

    >>> blockless_role(pd.Series(["Administrator", "stylist", None, "Управляющий"])).tolist()
    [True, False, False, True]
    """
    words = tuple(w for ws in ROLE_WORDS.values() for w in ws)
    text = _as_text(pd.Series(roles).astype("object")).str.lower()
    return text.map(lambda r: isinstance(r, str) and any(w in r for w in words)).to_numpy(dtype=bool)


_PERSONAL = re.compile(
    r"(^|[_\s])(name|first_?name|last_?name|full_?name|surname|middle_?name|patronymic|phone|"
    r"telephone|mobile|cell|e_?mail|mail|birth|birthday|birth_?date|date_of_birth|dob|address|"
    r"passport|snils|inn)($|[_\s])"
    r"|фио|имя|фамил|отчеств|телефон|тел\.|мобил|почт|e-?mail|рожд|адрес|паспорт|снилс",
    re.IGNORECASE)

ROWS_SHOWN = 5
EARLIEST = pd.Timestamp("1990-01-01")  # an earlier visit date is a placeholder (Excel's 1900-01-01 …)
LATEST_DAYS = 366                       # or a typo in the year


def is_personal_column(header: str) -> bool:
    """True when a column header names personal data (name, phone, e-mail, birth date, address...),
    in English or Russian, any case: ``"Телефон"``, ``"E-mail"``, ``"client name"``, ``"ФИО"``."""
    h = str(header).strip().lower().replace("-", "_")
    return bool(_PERSONAL.search(h)) or h in ("tel", "тел", "dr", "др")


@dataclass
class Tables:
    """The study's tables after loading; optional tables are None when absent.

    Attributes
    ----------
    visits, services, staff, clients, memberships : DataFrame or None
        Tidy frames (see :data:`COLUMNS`).
    sources : dict
        ``{table: file name}`` of the files read.
    dropped : dict
        ``{table: [columns]}`` left out on load (personal data or outside the contract).
    notes : list of Note
        What the reader should know about how the data were read (duplicates, ambiguous dates,
        zero amounts, refunds netted, empty optional files ...); codes ``data.*`` of the catalogues.
    """

    visits: pd.DataFrame
    services: pd.DataFrame | None = None
    staff: pd.DataFrame | None = None
    clients: pd.DataFrame | None = None
    memberships: pd.DataFrame | None = None
    sources: dict = field(default_factory=dict)
    dropped: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def has(self, table: str, column: str | None = None) -> bool:
        """Whether ``table`` was given (and, with ``column``, has that column with any value)."""
        df = getattr(self, table)
        if df is None:
            return False
        return column is None or (column in df.columns and bool(df[column].notna().any()))


# =========================================================================== public helpers


def pseudonymize(ids, salt: str = "", length: int = 8, prefix: str = "c-") -> pd.Series:
    """Stable salted pseudonyms for showing client ids in reports: ``"C00017" -> "c-3f9a1b2e"``.

    ``prefix + sha256(salt + "\\x1f" + id)[:length]``; the same id and salt give the same pseudonym
    everywhere, ids cannot be read back without the salt.  Missing ids stay missing.
    """
    s = pd.Series(ids)
    uniq = pd.unique(s.dropna().astype(str))
    table = {u: prefix + hashlib.sha256(f"{salt}\x1f{u}".encode("utf-8")).hexdigest()[:length] for u in uniq}
    return s.astype("object").map(lambda x: table.get(str(x)) if pd.notna(x) else None).astype("str") \
        .where(s.notna())


def input_files(study) -> list[Path]:
    """The files a study reads: ``study.yaml`` (when present) and each table's export that exists."""
    base = Path(study.dir)
    out = []
    if (base / "study.yaml").exists():
        out.append(base / "study.yaml")
    specs, _ = _mapping(study)
    for table in TABLES:
        path, _ = _locate(base, table, specs.get(table, {}))
        if path is not None and path.exists():
            out.append(path)
    return out


def check_settings(study, tables: Tables) -> list[Problem]:
    """Settings of ``study`` that contradict its data, one problem per setting (for ``check`` and ``run``).

    Every date setting the study gives (a schema leaf of type ``date``, such as
    ``retention.calibration_end`` or a pilot's start) must fall after the first visit and not after
    the last one: before the first visit a model would learn from nothing, after the last it would
    count days the data cannot show.  A leaf may relax this in the schema: ``data_range: after_first``
    allows a date after the last visit (a pilot that starts after the export was taken is planned, not
    wrong: its page says so), ``data_range: any`` allows any date.
    """
    from analysis.inputs.study import _leaves, _schema_cached

    v = tables.visits
    if v is None or not len(v) or "date" not in v:
        return []
    first, last = v["date"].min(), v["date"].max()
    if pd.isna(first):
        return []
    problems = []
    for path, spec in _leaves(_schema_cached()):
        if spec.get("type") != "date" or spec.get("data_range", "inside") == "any":
            continue
        key = ".".join(path)
        value = study.get(key)
        if value is None:
            continue
        day = pd.Timestamp(value)
        # the first day allowed is the day after the first visit: the date must leave data before it
        span = f"from {(first + pd.Timedelta(days=1)).date().isoformat()} to {last.date().isoformat()}"
        if day <= first:
            problems.append(Problem(f"study.yaml: {key}", f"is {day.date().isoformat()}, on or before the first "
                                    f"visit in the data ({first.date().isoformat()}). Give a date {span}, or "
                                    "leave it empty."))
        elif day > last and spec.get("data_range", "inside") != "after_first":
            problems.append(Problem(f"study.yaml: {key}", f"is {day.date().isoformat()}, after the last visit in "
                                    f"the data ({last.date().isoformat()}). Give a date {span}, or leave it empty."))
    return problems


def summarize(tables: Tables, lang: str = "en") -> dict:
    """What the ``check`` command prints: rows, clients, period, blocks, specialists, tables read,
    and the notes on how the data were read (worded from the catalogue of ``lang``)."""
    v = tables.visits
    done = (v["status"] == "done").to_numpy() if "status" in v else np.ones(len(v), bool)
    out = {
        "rows": int(len(v)),
        "visits": int(done.sum()),
        # clients as the reports count them: those with a completed visit
        "clients": int(v["client_id"][done].nunique()),
        "first_date": str(v["date"].min().date()) if len(v) else None,
        "last_date": str(v["date"].max().date()) if len(v) else None,
        "revenue": round(float(v["amount"].to_numpy(dtype="float64", na_value=np.nan)[done].sum()), 2),
        "blocks": sorted(map(str, v["block"].dropna().unique())) if "block" in v else [],
        "specialists": int(v["specialist_id"].nunique()) if "specialist_id" in v else 0,
        "tables": [f"{t} ({len(getattr(tables, t))} rows)" for t in TABLES if getattr(tables, t) is not None],
    }
    without = int(v["client_id"].nunique()) - out["clients"]
    if without:   # only cancelled, no-show or pending rows: in the data, not in the reports' counts
        out["clients without a completed visit"] = without
    dropped = sorted({str(c).strip() or "(no header)" for cols in tables.dropped.values() for c in cols})
    if dropped:
        out["columns left out"] = dropped
    if tables.notes:
        from analysis.pages.words import note_text

        from analysis.pages.i18n import number

        def fmt(_name, value):   # numbers grouped as the reader writes them: 66,950 / 66 950
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return number(value, lang, 0 if float(value).is_integer() else 2)
            return str(value)

        out["notes"] = "\n    ".join([""] + [("warning: " if n.level == "warning" else "") + note_text(n, lang, fmt)
                                             for n in tables.notes])
    return out


# =========================================================================== loading


def load_tables(study) -> Tables:
    """Read, clean and validate every table of ``study`` (a :class:`~analysis.inputs.study.Study`).

    ``source_system`` picks a preset (:mod:`analysis.inputs.presets`) for the export's headers and words;
    ``data:`` in study.yaml maps files, columns and values and wins over the preset.  What the
    reader should know (duplicates, ambiguous dates, refunds netted ...) is in ``Tables.notes``.

    Raises
    ------
    InputError
        With every problem found (see the module docstring).
    """
    from analysis.inputs import presets

    base = Path(study.dir)
    problems: list[Problem] = []
    notes: list[Note] = []
    if not base.is_dir():
        raise InputError(Problem(str(base), "study folder not found." if not base.exists() else
                                 "is not a folder."))
    specs, map_problems = _mapping(study)
    problems += map_problems
    options = specs.get("_options", {})
    preset, p_problems = presets.resolve(study.get("source_system"))
    problems += p_problems
    salt = str(study.get("name") or "")
    frames: dict[str, pd.DataFrame | None] = {}
    rownums: dict[str, np.ndarray] = {}
    wheres: dict[str, str] = {}
    sources: dict[str, str] = {}
    dropped: dict[str, list] = {}
    for table in TABLES:
        spec = specs.get(table, {})
        pre = preset.get(table) or {}
        aliases = {k: [str(x) for x in v] for k, v in (pre.get("columns") or {}).items()
                   if k in COLUMNS[table] and k not in (spec.get("columns") or {}).values()}
        values = _merge_values(pre.get("values") or {}, spec.get("values") or {})
        path, where_problem = _locate(base, table, spec)
        if where_problem is not None:
            problems.append(where_problem)
            frames[table] = None
            continue
        if path is None:
            if table == "visits":
                problems.append(Problem(
                    "visits.csv", f"required file not found in {base}: the study needs its visits as "
                    f"{_accepted_names('visits')} (or a file mapped in study.yaml under data: visits: file:)."))
            frames[table] = None
            continue
        where = _rel(path, base)
        expect = _expected_headers(table, spec.get("columns") or {}, aliases)
        raw, rows, n_problems = _read_any(path, where, spec.get("sheet"), expect,
                                          _category_headers(table, spec.get("columns") or {}, aliases))
        if raw is None and table != "visits" and n_problems and all(p.message in _NO_ROWS for p in n_problems):
            notes.append(Note("data.optional_empty", {"file": where, "table": table}, topic="data"))
            frames[table] = None
            continue
        wheres[table] = where
        sources[table] = where
        problems += n_problems
        if raw is None:
            frames[table] = None
            continue
        rows_before = rows
        raw, rows, total_word = _drop_total_rows(raw, rows)
        if total_word:  # said on the data-check page, never dropped silently
            notes.append(Note("data.total_rows_dropped", {"file": where, "first": total_word},
                              n=len(rows_before) - len(rows), topic="data"))
        df, cols_dropped, c_problems = _columns(raw, table, where, spec.get("columns") or {}, salt, aliases)
        raw = None   # its columns live on in df, which _convert empties column by column
        problems += c_problems
        if cols_dropped:
            dropped[table] = cols_dropped
        if df is None:
            frames[table] = None
            continue
        df, rows, t_problems, t_notes = _convert(df, table, where, rows, spec, values, options, salt)
        problems += t_problems
        notes += t_notes
        frames[table] = df
        rownums[table] = rows
    if preset and not p_problems:
        notes.insert(0, Note("data.preset_used", {"system": presets.preset(str(study.get("source_system")).strip()
                                                                     .lower())["title"]}, topic="data"))
    problems += _cross_checks(frames, rownums, wheres)
    if problems:
        raise InputError(problems)
    v = frames["visits"]
    if "block" not in v.columns:  # a block can come from the service or the specialist
        for table, key in (("services", "service"), ("staff", "specialist_id")):
            other = frames.get(table)
            if other is not None and key in v.columns and "block" in other.columns:
                v["block"] = v[key].map(other.drop_duplicates(key).set_index(key)["block"])
                v = v[[c for c in COLUMNS["visits"] if c in v.columns]]
                break
    frames["visits"] = v.reset_index(drop=True)
    return Tables(**{t: (frames[t].reset_index(drop=True) if frames[t] is not None else None) for t in TABLES},
                  sources=sources, dropped=dropped, notes=notes)


def _merge_values(preset: dict, study: dict) -> dict:
    """Value words of the preset and of study.yaml, the study's winning (keys in lower case)."""
    out = {col: {str(k).strip().lower(): str(v) for k, v in words.items()} for col, words in preset.items()}
    for col, words in study.items():
        out.setdefault(col, {}).update(words)
    return out


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


#: Keys a table's entry under ``data:`` may hold (visits has two more: duplicates, refunds).
TABLE_KEYS = ("file", "sheet", "columns", "values", "date_format")
VISIT_KEYS = {"duplicates": ("keep", "drop"), "refunds": ("reject", "net"), "large_amounts": ("reject", "keep")}
#: An amount is "far outside the salon's own amounts" above LARGE_FACTOR x the LARGE_QUANTILE quantile
#: (the lower neighbouring value) of the file's paid completed visits, once it has LARGE_MIN_PAID of them.
LARGE_FACTOR, LARGE_QUANTILE, LARGE_MIN_PAID = 100.0, 0.99, 20
#: Keys of ``data:`` that are options, not tables.
DATA_OPTIONS = {"mask_personal_values": (True, False)}
CATEGORICAL = ("str", "status", "period")
TARGETS = {"status": ("done", "cancelled", "no_show"), "period": ("month", "year")}


def _mapping(study) -> tuple[dict, list[Problem]]:
    """``study["data"]`` checked: ``{table: {file, sheet, columns, values, date_format, ...}}`` (a
    string is a file name) plus ``{"_options": {mask_personal_values}}``."""
    data = study.get("data") or {}
    out, problems = {"_options": {"mask_personal_values": False}}, []
    if not isinstance(data, dict):
        return out, [Problem("study.yaml: data", f"must be a mapping of tables. Got {type(data).__name__}.")]
    for table, spec in data.items():
        where = f"study.yaml: data.{table}"
        if table in DATA_OPTIONS:
            if spec not in DATA_OPTIONS[table]:
                problems.append(Problem(where, f"must be true or false. Got {spec!r} instead."))
            else:
                out["_options"][table] = bool(spec)
            continue
        if table not in TABLES:
            problems.append(Problem(where, f"unknown table '{table}'. Allowed: {', '.join(TABLES)} "
                                    f"(and the option {', '.join(DATA_OPTIONS)})."))
            continue
        if isinstance(spec, str):
            spec = {"file": spec}
        if not isinstance(spec, dict):
            problems.append(Problem(where, "must be a file name or {file, sheet, columns, values, date_format}. "
                                    f"Got {spec!r} instead."))
            continue
        allowed = TABLE_KEYS + (tuple(VISIT_KEYS) if table == "visits" else ())
        extra = set(spec) - set(allowed)
        if extra:
            problems.append(Problem(where, f"unknown keys {sorted(map(str, extra))}. Allowed: {', '.join(allowed)}."))
        cols = spec.get("columns") or {}
        if not isinstance(cols, dict):
            problems.append(Problem(where + ".columns", "must map the file's column names to the kit's, "
                                    f"like {{Дата: date}}. Got {cols!r} instead."))
            cols = {}
        for src, dst in cols.items():
            if dst not in COLUMNS[table]:
                problems.append(Problem(where + ".columns", f"maps '{src}' to '{dst}', which is not a "
                                        f"column of {table}. Allowed: {', '.join(COLUMNS[table])}."))
        values, v_problems = _value_mapping(table, spec.get("values"), where + ".values")
        problems += v_problems
        fmt = spec.get("date_format")
        if fmt is not None and (not isinstance(fmt, str) or "%" not in fmt):
            problems.append(Problem(where + ".date_format", "must be a date format like \"%m/%d/%Y\" "
                                    f"(Python strftime codes). Got {fmt!r} instead."))
            fmt = None
        entry = {"file": spec.get("file"), "sheet": spec.get("sheet"),
                 "columns": {str(k): str(v) for k, v in cols.items() if v in COLUMNS[table]},
                 "values": values, "date_format": fmt}
        if table == "visits":
            for key, choices in VISIT_KEYS.items():
                val = spec.get(key, choices[0])
                if val not in choices:
                    problems.append(Problem(f"{where}.{key}", f"must be one of {', '.join(choices)}. "
                                            f"Got {val!r} instead."))
                    val = choices[0]
                entry[key] = val
        out[table] = entry
    return out, problems


def _value_mapping(table: str, values, where: str) -> tuple[dict, list[Problem]]:
    """``{column: {word (lower case): value}}`` from ``data.<table>.values``, checked."""
    if values is None:
        return {}, []
    if not isinstance(values, dict):
        return {}, [Problem(where, "must map columns to {your word: the kit's value}, like "
                            f"{{status: {{Клиент пришел: done}}}}. Got {values!r} instead.")]
    out, problems = {}, []
    categorical = [c for c, k in COLUMNS[table].items() if k in CATEGORICAL]
    for col, words in values.items():
        if col not in categorical:
            problems.append(Problem(where, f"'{col}' is not a categorical column of {table}. Allowed: "
                                    f"{', '.join(categorical)}."))
            continue
        if not isinstance(words, dict):
            problems.append(Problem(f"{where}.{col}", f"must map your words to the kit's values. Got {words!r} instead."))
            continue
        allowed = TARGETS.get(COLUMNS[table][col])
        table_out = {}
        for word, target in words.items():
            if isinstance(word, bool):  # YAML 1.1 reads Yes / No / On / Off as booleans
                for w in (("true", "yes", "on") if word else ("false", "no", "off")):
                    table_out[w] = str(target)
                continue
            if allowed is not None and target not in allowed:
                problems.append(Problem(f"{where}.{col}", f"maps '{word}' to {target!r}. Allowed: {', '.join(allowed)}."))
                continue
            if target is None or isinstance(target, (dict, list)):
                problems.append(Problem(f"{where}.{col}", f"maps '{word}' to {target!r}; give a value."))
                continue
            table_out[str(word).strip().lower()] = str(target)
        out[col] = table_out
    return out, problems


def _locate(base: Path, table: str, spec: dict) -> tuple[Path | None, Problem | None]:
    """The file for ``table``: mapped in study.yaml, else ``<table>.<ext>`` (case-insensitive)."""
    if spec.get("file"):
        path = Path(spec["file"])
        path = path if path.is_absolute() else base / path
        if not path.is_file():
            return None, Problem(f"study.yaml: data.{table}.file",
                                 f"mapped file '{spec['file']}' not found in {base}.")
        return path, None
    if not base.is_dir():
        return None, None
    found = [p for p in sorted(base.iterdir()) if p.is_file() and p.stem.lower() == table
             and p.suffix.lower() in EXTENSIONS]
    if len(found) > 1:
        return None, Problem(found[0].name, f"several files for {table}: "
                             f"{', '.join(p.name for p in found)}. Keep one, or name it in study.yaml "
                             f"under data: {table}: file:.")
    return (found[0] if found else None), None


# --------------------------------------------------------------------------- reading


def _expected_headers(table: str, mapping: dict, aliases: dict | None = None) -> tuple[set, int]:
    """Header names that identify the header row of ``table`` and how many must match."""
    names = {str(k).strip().lower() for k in mapping} | set(COLUMNS[table])
    names |= {str(a).strip().lower() for names_ in (aliases or {}).values() for a in names_}
    return names, max(1, min(2, len(REQUIRED[table])))


#: Contract columns with about as many distinct values as rows (or clients): read as plain text.
_MANY_DISTINCT = ("visit_id", "client_id")


def _category_headers(table: str, mapping: dict, aliases: dict | None = None) -> frozenset:
    """Header names (lower case) read as categories: those that become a contract column of ``table``
    with few distinct values (dates, amounts, services, blocks, specialists, statuses ...).  Client and
    visit ids, and columns outside the contract (names, phones), are read as plain text: as categories
    they would cost more than they save."""
    cols = {c for c in COLUMNS[table] if c not in _MANY_DISTINCT}
    names = set(cols) | {str(k).strip().lower() for k, v in mapping.items() if v in cols}
    names |= {str(a).strip().lower() for c, al in (aliases or {}).items() if c in cols for a in al}
    clash = {str(k).strip().lower() for k, v in mapping.items() if v not in cols}
    return frozenset(names - clash)


def _header_score(cells, expect) -> int:
    names, _ = expect
    return sum(1 for c in cells if str(c).strip().lower() in names or _norm(c) in names)


def _read_any(path: Path, where: str, sheet=None, expect=None, categories=frozenset()
              ) -> tuple[pd.DataFrame | None, np.ndarray, list]:
    """Read a file as a frame of strings (CSV/XLSX) or typed columns (Parquet), with file row numbers.

    Title lines above the header (common in salon-system reports) are skipped: the header is the
    first of the first 30 rows naming enough of the expected columns (else the first row)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        return None, np.array([]), [Problem(where, f"cannot be read: {exc.strerror or exc}.")]
    blank = b" \t\r\n\x00\xef\xbb\xbf"
    if not raw[:4096].strip(blank) and not raw.strip(blank):   # (a large file is not copied to find out)
        return None, np.array([]), [Problem(where, _EMPTY)]
    suffix = path.suffix.lower()
    if raw[:4] == b"PAR1" or suffix == ".parquet":
        return _read_parquet(raw, where)
    if raw[:4] == b"PK\x03\x04" or suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(raw, where, sheet, expect)
    box = [raw]   # _read_csv lets go of the bytes once it has counted the fields (a large file twice ...)
    del raw
    return _read_csv(box, where, expect, categories, path)


_HEADER_ONLY = "has a header but no rows."
_EMPTY = "file is empty."
_NO_ROWS = (_HEADER_ONLY, _EMPTY)


def _header_only(where):
    return Problem(where, _HEADER_ONLY)


def _read_parquet(raw: bytes, where: str):
    try:
        df = pd.read_parquet(io.BytesIO(raw))
    except Exception as exc:  # noqa: BLE001 - any reader failure is the file's problem
        return None, np.array([]), [Problem(where, f"cannot be read as Parquet ({type(exc).__name__}).")]
    if len(df) == 0:
        return None, np.array([]), [_header_only(where)]
    return df.reset_index(drop=True), np.arange(len(df)) + 2, []


def _read_xlsx(raw: bytes, where: str, sheet=None, expect=None):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            grid = pd.read_excel(io.BytesIO(raw), sheet_name=sheet if sheet is not None else 0, header=None,
                                 dtype=str, keep_default_na=False, na_filter=False, engine="openpyxl")
    except ValueError as exc:
        if sheet is not None and "not found" in str(exc).lower():
            return None, np.array([]), [Problem(where, f"sheet '{sheet}' not found in the workbook.")]
        return None, np.array([]), [Problem(where, "cannot be read as an Excel workbook (.xlsx): "
                                            "the file is corrupt or not an .xlsx.")]
    except Exception:  # noqa: BLE001 - zip/XML errors of a corrupt workbook
        return None, np.array([]), [Problem(where, "cannot be read as an Excel workbook (.xlsx): "
                                            "the file is corrupt or not an .xlsx.")]
    grid = grid.fillna("").astype(str)
    filled = (grid.apply(lambda c: c.str.strip()) != "").any(axis=1).to_numpy()
    if grid.shape[1] == 0 or not filled.any():
        return None, np.array([]), [Problem(where, _EMPTY)]
    first = int(np.flatnonzero(filled)[0])
    h = first
    if expect is not None:
        for i in range(first, min(first + 30, len(grid))):
            if _header_score(grid.iloc[i].tolist(), expect) >= expect[1]:
                h = i
                break
    names = [str(c).strip() or f"Unnamed: {j}" for j, c in enumerate(grid.iloc[h].tolist())]
    body = grid.iloc[h + 1:]
    keep = filled[h + 1:]  # fully blank rows are not data
    rows = np.arange(h + 2, h + 2 + len(body))[keep]
    df = body[keep].reset_index(drop=True)
    df.columns = names
    df = df.loc[:, [not (n.startswith("Unnamed: ") and (df[n].str.strip() == "").all()) for n in names]]
    if len(df) == 0:
        return None, np.array([]), [_header_only(where)]
    return df, rows, []


def _decode(raw: bytes) -> tuple[bytes, str] | None:
    """(bytes in an ASCII-compatible encoding, encoding name) or None for binary content."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return raw.decode("utf-16").encode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            return None
    head = raw[:65536]
    if b"\x00" in head:
        return None
    ctrl = sum(head.count(bytes([c])) for c in (*range(1, 9), 11, 12, *range(14, 27), *range(28, 32)))
    if ctrl > max(2, len(head) // 200):
        return None
    if raw[:3] == b"\xef\xbb\xbf":
        return raw, "utf-8-sig"
    if _decodes(raw, "utf-8") and not _cp1251_in_disguise(raw):
        return raw, "utf-8"
    return (raw, "cp1251") if _decodes(raw, "cp1251") else None


def _decodes(raw: bytes, enc: str, chunk: int = 1 << 24) -> bool:
    """Whether ``raw`` is valid ``enc``, decoded piece by piece (a whole large file as one Python string
    would cost several times its size in memory)."""
    if raw.isascii():
        return True
    dec = codecs.getincrementaldecoder(enc)()
    view = memoryview(raw)
    try:
        for i in range(0, len(raw), chunk):
            dec.decode(view[i:i + chunk], final=False)
        dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _cp1251_in_disguise(raw: bytes) -> bool:
    """Windows-1251 bytes that happen to be valid UTF-8 ("Жё" is the bytes of "Ƹ"): every non-ASCII
    character of the UTF-8 reading is from a rarely used block (U+0180-U+07FF, not Cyrillic) and the
    cp1251 reading is all Cyrillic."""
    head = raw[: 1 << 20]
    if head.isascii():
        return False
    odd = {c for c in set(head.decode("utf-8", errors="ignore")) if ord(c) > 127}
    if not odd or not all(0x180 <= ord(c) <= 0x7FF and not 0x400 <= ord(c) <= 0x4FF for c in odd):
        return False
    try:
        alt = {c for c in set(head.decode("cp1251")) if ord(c) > 127}
    except UnicodeDecodeError:
        return False
    return all(0x400 <= ord(c) <= 0x4FF for c in alt)


def _sniff_sep(lines: list[str]) -> str:
    """The delimiter among ``;`` tab ``,`` whose count is steady over the first lines and highest."""
    best, best_score = ",", (-1, -1)
    for sep in (";", "\t", ","):
        counts = [_count_outside_quotes(ln, sep) for ln in lines]
        if counts[0] == 0:
            continue
        steady = sum(c == counts[0] for c in counts[1:]) if len(counts) > 1 else 0
        score = (steady, counts[0])
        if score > best_score:
            best, best_score = sep, score
    return best


def _count_outside_quotes(line: str, sep: str) -> int:
    if '"' not in line:
        return line.count(sep)
    n, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            n += 1
    return n


def _find_header(lines: list[str], expect) -> tuple[int, str | None]:
    """(index among ``lines`` of the header, its separator) or (0, None) when no line qualifies."""
    if expect is None:
        return 0, None
    for i, line in enumerate(lines):
        best = max(((_header_score(next(csv.reader([line], delimiter=sep)), expect), sep)
                    for sep in (";", "\t", ",")), key=lambda x: x[0])
        if best[0] >= expect[1]:
            return i, best[1]
    return 0, None


def _read_csv(raw, where: str, expect=None, categories=frozenset(), path: Path | None = None):
    """A CSV / text table as text columns (see :func:`_read_any`).  ``raw`` is the file's bytes, or a
    list holding them that this function empties (so that, with ``path``, the bytes can be let go while
    Arrow reads the file itself)."""
    if isinstance(raw, list):
        raw = raw.pop()
    dec = _decode(raw)
    if dec is None:
        return None, np.array([]), [Problem(where, "cannot be read: binary content, not a text table "
                                            "(save it as CSV, XLSX or Parquet).")]
    own_bytes = dec[0] is raw and dec[1] in ("utf-8", "cp1251")  # the file as it is (no BOM, not UTF-16)
    raw, enc = dec
    dec = None
    body = raw[3:] if enc == "utf-8-sig" else raw
    text_head = body[:65536].decode(enc if enc != "utf-8-sig" else "utf-8", errors="replace")
    lines = [ln for ln in text_head.splitlines() if ln.strip()][:30]
    if not lines:
        return None, np.array([]), [Problem(where, _EMPTY)]
    h, sep = _find_header(lines, expect)
    if sep is None or h == 0:
        sep = _sniff_sep(lines[h:-1] if len(lines) - h > 2 else lines[h:])
    problems = []
    # Field count per record, and the file line where each record starts (header = line 1).
    if b'"' not in body:
        line_no, nfields = _line_fields(body, sep)
    else:
        text = body.decode("utf-8" if enc == "utf-8-sig" else enc)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
        recs, prev = [], 0
        for rec in reader:
            if rec:
                recs.append((prev + 1, len(rec)))
            prev = reader.line_num
        line_no = np.array([r[0] for r in recs])
        nfields = np.array([r[1] for r in recs])
    if len(line_no) <= h:
        return None, np.array([]), [Problem(where, _EMPTY)]
    expected = nfields[h]
    header_at = int(line_no[h])  # file line of the header
    data_line, data_n = line_no[h + 1:], nfields[h + 1:]
    if len(data_line) == 0:
        return None, np.array([]), [_header_only(where)]
    wrong = data_n != expected
    if wrong.any():
        bad = data_line[wrong]
        got = sorted(set(data_n[wrong].tolist()))
        problems.append(Problem(where, f"wrong number of fields: the header has {expected} "
                                f"(separator '{_sep_name(sep)}'), these rows have "
                                f"{', '.join(map(str, got))}.", rows=tuple(int(x) for x in bad[:ROWS_SHOWN]),
                                count=int(wrong.sum())))
    keep_lines = data_line[data_n <= expected]  # the C parser skips longer rows, pads shorter ones
    if not wrong.any():
        if own_bytes and path is not None:
            del raw, body   # Arrow reads the file itself; the bytes are read again only to fall back
            df = _read_csv_arrow(path, enc, sep, lines[h], header_at, categories)
            raw = None
        else:
            df = _read_csv_arrow(raw, enc, sep, lines[h], header_at, categories)
        if df is not None and len(df) == len(keep_lines):
            return df, keep_lines, problems
        if raw is None:
            raw = path.read_bytes()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = pd.read_csv(io.BytesIO(raw), sep=sep, encoding=enc, dtype=str, keep_default_na=False,
                             na_filter=False, on_bad_lines="skip", skip_blank_lines=True, engine="c",
                             quotechar='"', skiprows=header_at - 1)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        problems.append(Problem(where, f"cannot be read as a table: {str(exc).splitlines()[0]}"))
        return None, np.array([]), problems
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    header = [str(c).strip().lstrip("\ufeff") for c in next(csv.reader([lines[h]], delimiter=sep))]
    if len(header) == df.shape[1]:  # pandas renames a repeated header "amount.1": keep it as written
        df.columns = header
    if len(df) != len(keep_lines):  # blank-looking lines counted differently: fall back to positions
        keep_lines = np.arange(len(df)) + header_at + 1
    return df.fillna(""), keep_lines, problems


def _line_fields(body: bytes, sep: str, chunk: int = 1 << 24) -> tuple[np.ndarray, np.ndarray]:
    """(file line number, field count) of every non-blank line of an unquoted text, counted in pieces
    of about ``chunk`` bytes that end on a line break (a byte mask of the whole file would cost its size
    again for every character looked for)."""
    arr = np.frombuffer(body, np.uint8)
    n, pos, lines_before = len(arr), 0, 0
    line_parts, field_parts = [], []
    while pos < n:
        stop = n
        if pos + chunk < n:
            j = body.find(b"\n", pos + chunk - 1)
            stop = n if j < 0 else j + 1
        a = arr[pos:stop]
        nl = np.flatnonzero(a == 10)
        ends = nl if a[-1] == 10 else np.append(nl, len(a))
        starts = np.r_[0, nl + 1][: len(ends)]
        dpos = np.flatnonzero(a == ord(sep))
        nsep = np.searchsorted(dpos, ends) - np.searchsorted(dpos, starts)
        length = ends - starts - (a[np.maximum(ends - 1, 0)] == 13)
        nonblank = np.flatnonzero(length > 0)
        line_parts.append(nonblank + lines_before + 1)
        field_parts.append(nsep[nonblank] + 1)
        lines_before += len(ends)
        pos = stop
    if not line_parts:
        return np.array([], np.int64), np.array([], np.int64)
    return np.concatenate(line_parts).astype(np.int64), np.concatenate(field_parts).astype(np.int64)


def _read_csv_arrow(raw, enc: str, sep: str, header_line: str, header_at: int = 1,
                    categories=frozenset()) -> pd.DataFrame | None:
    """All columns as text with pyarrow's multi-threaded reader; None to fall back to pandas.

    ``raw`` is the file's bytes or its path.  Headers in ``categories`` (lower case, see
    :func:`_category_headers`) are read as categories (Arrow dictionaries: each distinct text once, a
    small integer per row), which keeps a ten-million-row export within a few gigabytes: dates, amounts,
    services, blocks, specialists and statuses repeat; the conversions then work on the distinct texts
    (see :func:`_distinct`).  The texts are the same either way."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        names = next(csv.reader([header_line], delimiter=sep))
        names = [str(c).strip().lstrip("\ufeff") for c in names]
        if len(set(names)) != len(names):
            return None
        table = pacsv.read_csv(
            str(raw) if isinstance(raw, Path) else io.BytesIO(raw),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=header_at,
                                           encoding="utf8" if enc.startswith("utf-8") else enc),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={
                n: pa.dictionary(pa.int32(), pa.string()) if (n.strip().lower() in categories or
                                                              _norm(n) in categories) else pa.string()
                for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
        df = table.to_pandas(self_destruct=True, split_blocks=True)
        del table
        pa.default_memory_pool().release_unused()   # Arrow's allocator hands the parse buffers back now
        return df
    except Exception:  # noqa: BLE001 - anything odd: the pandas parser decides
        return None


def _sep_name(sep: str) -> str:
    return {"\t": "tab", ";": ";", ",": ","}[sep]


_TOTAL = re.compile(r"^\s*(итого|всего|total|grand total|sum)\b", re.IGNORECASE)


def _drop_total_rows(df: pd.DataFrame, rows: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, str]:
    """Drop the trailing "Итого" / "Total" rows that report exports end with (up to three); the
    third value is the word that marked the first dropped row ("" when none was dropped), for the
    note that says so (``data.total_rows_dropped``)."""
    n = len(df)
    cut, word = n, ""
    for i in range(n - 1, max(n - 4, -1), -1):
        cells = [c for c in df.iloc[i].tolist() if isinstance(c, str)]
        found = next((m.group(1) for m in map(_TOTAL.match, cells) if m), None)
        if found:
            cut, word = i, found
        else:
            break
    if cut == n or cut == 0:
        return df, rows, ""
    return df.iloc[:cut], rows[:cut], word


# --------------------------------------------------------------------------- columns


def _norm(name: str) -> str:
    return re.sub(r"[\s\-\.]+", "_", str(name).strip().lstrip("\ufeff").lower()).strip("_")


def _columns(df: pd.DataFrame, table: str, where: str, mapping: dict, salt: str, aliases: dict | None = None):
    """Rename mapped / matching columns to the contract, drop personal and unknown columns.

    A column is found, in this order, by the study's mapping, by its own name (``Client ID`` is
    ``client_id``), then by the preset's header names.  Two file columns that would both become the
    same contract column are a problem: the kit does not guess which one holds the values.
    """
    problems = []
    found = [str(c) for c in df.columns]
    low = [c.strip().lower() for c in found]
    target: list[str | None] = [None] * len(found)
    personal_ids = []
    doubled = set()   # contract columns found twice: said once, never also "missing"

    def twice(dst, idx):
        doubled.add(dst)
        names = ", ".join(f"'{found[i]}' (column {i + 1})" for i in idx)
        problems.append(Problem(where, f"{len(idx)} columns would be read as '{dst}': {names}. The kit will not "
                                f"guess which one holds the {dst.replace('_', ' ')}: rename or delete the extra "
                                f"ones, or map the right one in study.yaml (data: {table}: columns: "
                                f"{{<its name>: {dst}}}).", column=dst))

    for src, dst in mapping.items():
        idx = [i for i, c in enumerate(low) if c == str(src).strip().lower()]
        if not idx:
            problems.append(Problem(where, f"mapped column '{src}' (-> {dst}) not found. Columns in the "
                                    f"file: {', '.join(found)}.", column=str(src)))
            continue
        if len(idx) > 1:
            twice(dst, idx)
            continue
        target[idx[0]] = dst
        if is_personal_column(found[idx[0]]):
            personal_ids.append(dst)
    taken = {t for t in target if t}
    by_name: dict[str, list[int]] = {}
    for i, c in enumerate(found):
        n = _norm(c)
        if target[i] is None and n in COLUMNS[table] and n not in taken:
            by_name.setdefault(n, []).append(i)
    for dst, idx in by_name.items():
        if len(idx) > 1:
            twice(dst, idx)
        else:
            target[idx[0]] = dst
    taken = {t for t in target if t} | set(by_name)
    for dst, names in (aliases or {}).items():
        if dst in taken:
            continue
        for name in names:
            idx = [i for i, c in enumerate(low) if target[i] is None and c == name.strip().lower()]
            if len(idx) > 1:
                twice(dst, idx)
            elif idx:
                target[idx[0]] = dst
                if is_personal_column(found[idx[0]]):
                    personal_ids.append(dst)
            if idx:
                break
    dropped = [found[i] for i in range(len(found)) if target[i] is None]
    out = pd.DataFrame({target[i]: df.iloc[:, i].reset_index(drop=True)
                        for i in range(len(found)) if target[i] is not None})
    missing = [c for c in REQUIRED[table] if c not in out.columns]
    for c in (c for c in missing if c not in doubled):
        problems.append(Problem(where, f"required column '{c}' missing. Columns found: {', '.join(found)}. "
                                f"Rename it in the file, or map it in study.yaml (data: {table}: columns: "
                                f"{{<your name>: {c}}}).", column=c))
    if missing or problems:
        return None, dropped, problems
    # a personal column used as the client key (e.g. the phone) is pseudonymised at once
    for c in personal_ids:
        if COLUMNS[table].get(c) == "id":
            out[c] = pseudonymize(out[c].astype(str).str.strip().replace("", np.nan), salt, 12, "p-")
    return out, dropped, problems


# --------------------------------------------------------------------------- values


def _rows_of(mask: np.ndarray, rows: np.ndarray) -> tuple[tuple[int, ...], int]:
    idx = np.flatnonzero(mask)
    return tuple(int(r) for r in rows[idx[:ROWS_SHOWN]]), int(idx.size)


def _examples(values: pd.Series, mask: np.ndarray, k: int = 3) -> str:
    ex = pd.unique(values[mask].astype(str))[:k]
    return ", ".join(repr(x) for x in ex)


def _as_text(s: pd.Series) -> pd.Series:
    """Text with surrounding blanks removed; ``''`` -> NaN; numeric ids keep no ``.0``."""
    if pd.api.types.is_float_dtype(s):
        whole = s.notna() & (s == np.floor(s.fillna(0)))
        t = s.astype("str").where(~whole, s.fillna(0).astype("int64").astype("str"))
        return t.where(s.notna())
    if pd.api.types.is_integer_dtype(s):
        return s.astype("str")
    t = s.astype("str").str.strip()
    return t.where(t != "")


#: What an export may write around an amount and a number is read without: blanks and thousands
#: marks, currency signs (₽ $ € £ ₸ ₴ ¥ ₺ ₾ ֏), currency words (руб., р., грн, тг, сум, Br, zł, kr)
#: and three-letter ISO 4217 codes ("45 GBP", "USD 1,250.50").
_NUM_JUNK = re.compile(r"[\s\u00a0\u202f'₽$€£₸₴¥₺₾֏]|руб\.?|р\.|грн\.?|тг\.?|сум|Br|zł|kr\.?"
                       r"|(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])")


def _to_number(s: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """(float values, empty mask, not-a-number mask).  Accepts ``1 500,00``, ``1,500.00``, ``40%``."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        v = s.astype("float64")
        return v, v.isna().to_numpy(), np.zeros(len(s), bool)
    t = s.astype("str").str.strip()
    empty = (t == "") | t.isna()
    fast = _arrow_cast(t, empty, "float")
    if fast is not None:
        return fast, empty.to_numpy(), np.zeros(len(s), bool)
    v = pd.to_numeric(t.where(~empty), errors="coerce")
    fail = v.isna() & ~empty
    if fail.any():
        u = t[fail].str.replace(_NUM_JUNK, "", regex=True).str.replace("−", "-", regex=False)
        pct = u.str.endswith("%")
        u = u.str.rstrip("%")
        has_c = u.str.contains(",", regex=False)
        has_d = u.str.contains(".", regex=False)
        comma_last = u.str.rfind(",") > u.str.rfind(".")
        u = u.where(~(has_c & has_d & comma_last), u.str.replace(".", "", regex=False))
        u = u.where(~(has_c & has_d & ~comma_last), u.str.replace(",", "", regex=False))
        # "1,500" alone: thousands, unless the column writes decimals with a comma elsewhere ("12,5")
        grouped = ~has_d & u.str.fullmatch(r"-?\d{1,3}(?:,\d{3})+")
        decimal_comma = (~has_d & u.str.contains(r",(?:\d{1,2}|\d{4,})$", regex=True)).any()
        if not decimal_comma:
            u = u.where(~grouped, u.str.replace(",", "", regex=False))
        u = u.str.replace(",", ".", regex=False)
        w = pd.to_numeric(u, errors="coerce")
        w = w.where(~pct, w / 100.0)
        v = v.astype("float64")
        v[fail] = w.to_numpy()
    v = v.astype("float64")
    bad = (v.isna() & ~empty).to_numpy()
    return v, empty.to_numpy(), bad


def _arrow_cast(t: pd.Series, empty: pd.Series, kind: str):
    """Fast path with pyarrow compute: every non-empty value a plain number / ISO date, else None."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(t.where(~empty).astype("object") if t.dtype == object else t.array, type=pa.string()) \
            if not hasattr(t.array, "__arrow_array__") else t.array.__arrow_array__()
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
        if kind == "float":
            return pd.Series(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), index=t.index,
                             dtype="float64")
        got = pc.cast(arr, pa.timestamp("s"))  # strict ISO 8601: 2024-02-30 fails
        return pd.Series(got.to_numpy(zero_copy_only=False), index=t.index).astype("datetime64[ns]")
    except Exception:  # noqa: BLE001 - not all plain: the slower, forgiving path
        return None


_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d", "%Y.%m.%d", "%d-%m-%Y", "%d.%m.%y")
_SLASHED = re.compile(r"^\d{1,2}[/-]\d{1,2}[/-](?:\d{4}|\d{2})$")


def _parse_slashed(u: pd.Series, day_first: bool) -> pd.Series:
    """``03/04/2024`` (or ``03-04-24``) as day/month/year or month/day/year; NaT where impossible."""
    t = u.str.replace("-", "/", regex=False)
    long = t.str.len() - t.str.rfind("/") - 1 == 4
    first, second = ("%d", "%m") if day_first else ("%m", "%d")
    out = pd.Series(pd.NaT, index=u.index, dtype="datetime64[ns]")
    for mask, year in ((long, "%Y"), (~long, "%y")):
        if mask.any():
            out[mask] = pd.to_datetime(t[mask], format=f"{first}/{second}/{year}", errors="coerce")
    return out


def _to_date(s: pd.Series, fmt: str | None = None, codes: np.ndarray | None = None
             ) -> tuple[pd.Series, np.ndarray, np.ndarray, dict | None]:
    """(datetime64[ns] at midnight, empty mask, unparseable mask, what was decided about day/month).

    With ``fmt`` (``data.<table>.date_format``) every value must match it.  Without it: ISO or
    dd.mm.yyyy; ``03/04/2024``-style dates are read day first when every value allows it, else month
    first when every value allows that.  The last item is None, or ``{"kind": "ambiguous" |
    "month_first", "example", "day_first", "month_first", "count"}`` for the caller's note.

    With ``codes``, ``s`` holds a column's distinct values and ``codes`` the value of each row (see
    :func:`_distinct`): the note's example and count are then those of the rows.
    """
    def first_and_count(mask: pd.Series):
        """(label of the first row where ``mask`` holds, number of such rows)."""
        if codes is None:
            return mask.idxmax(), int(mask.sum())
        hit = np.zeros(len(s) + 1, bool)
        hit[mask.index[mask.to_numpy(bool)]] = True
        per_row = hit[codes]
        return int(codes[np.argmax(per_row)]), int(per_row.sum())

    if pd.api.types.is_datetime64_any_dtype(s):
        d = pd.to_datetime(s).dt.tz_localize(None) if getattr(s.dt, "tz", None) else pd.to_datetime(s)
        d = d.dt.normalize().astype("datetime64[ns]")
        return d, d.isna().to_numpy(), np.zeros(len(s), bool), None
    t = s.astype("str").str.strip()
    empty = (t == "") | t.isna()
    if fmt is not None:
        u = t if re.search(r"%[HIMSp]", fmt) else t.str.replace(r"[T ]\d{1,2}:\d{2}.*$", "", regex=True)
        d = pd.to_datetime(u.where(~empty), format=fmt, errors="coerce").astype("datetime64[ns]").dt.normalize()
        return d, empty.to_numpy(), (d.isna() & ~empty).to_numpy(), None
    d = _arrow_cast(t, empty, "date")
    if d is None:
        d = pd.to_datetime(t.where(~empty), format="%Y-%m-%d", errors="coerce")
    fail = d.isna() & ~empty
    info = None
    if fail.any():
        u = t[fail].str.replace(r"[T ].*$", "", regex=True)
        got = pd.Series(pd.NaT, index=u.index, dtype="datetime64[ns]")
        slashed = u.str.match(_SLASHED)
        if slashed.any():
            us = u[slashed]
            dm, md = _parse_slashed(us, True), _parse_slashed(us, False)
            if dm.notna().all() or not md.notna().all():
                got[slashed] = dm
                differ = (dm != md) & md.notna()
                if md.notna().all() and differ.any():
                    i, count = first_and_count(differ)
                    info = {"kind": "ambiguous", "example": us[i], "day_first": dm[i].date().isoformat(),
                            "month_first": md[i].date().isoformat(), "count": count}
            else:
                got[slashed] = md
                i, _ = first_and_count(dm != md)
                _, count = first_and_count(pd.Series(True, index=us.index))
                info = {"kind": "month_first", "example": us[i], "day_first": "",
                        "month_first": md[i].date().isoformat(), "count": count}
        for f in _DATE_FORMATS:
            left = got.isna() & ~slashed
            if not left.any():
                break
            got[left] = pd.to_datetime(u[left], format=f, errors="coerce")
        d = d.astype("datetime64[ns]")
        d[fail] = got
    d = d.astype("datetime64[ns]").dt.normalize()
    return d, empty.to_numpy(), (d.isna() & ~empty).to_numpy(), info


def _status(s: pd.Series, words: dict | None = None) -> tuple[pd.Series, np.ndarray]:
    """Normalised status (done / cancelled / no_show; empty = done) and the not-understood mask.

    ``words`` (lower-case word -> status) are the study's and the preset's words; they come first."""
    t = s.astype("str").str.strip().str.lower().fillna("")
    uniq = pd.unique(t)
    table = {}
    for u in uniq:
        if u == "":
            table[u] = "done"
            continue
        if words and u in words:
            table[u] = words[u]
            continue
        hit = None
        for status in ("no_show", "cancelled", "done"):  # "не пришел" before "пришел"
            if any(u.startswith(w) or u == w for w in STATUS_WORDS[status]):
                hit = status
                break
        table[u] = hit
    out = t.map(table)
    return out.astype("str").where(out.notna()), out.isna().to_numpy()


def _no_completed_visit(s: pd.Series, k: int = 8) -> str:
    """The problem of a visits file whose every row is cancelled or a no-show, with the words found."""
    t = s.astype("str").str.strip()
    counts = t.value_counts()
    words = ", ".join(f"'{w}' ({c:,} row{'s' if c != 1 else ''})" for w, c in counts.head(k).items())
    more = f" and {len(counts) - k} more" if len(counts) > k else ""
    return (f"no completed visit: every row's status is cancelled or a no-show (statuses found: {words}{more}). "
            "The study needs the completed visits: export them too (not only the cancellations), or, if "
            "one of these words means a completed visit in your system, map it in study.yaml (data: visits: "
            "values: {status: {<word>: done}}).")


def _unknown_words(s: pd.Series, bad: np.ndarray, table: str, column: str, allowed: str, k: int = 8) -> str:
    """The words not understood, with their row counts, and the study.yaml mapping that would fix them."""
    vals = s[bad].astype(str).str.strip()
    counts = vals.value_counts(sort=True)
    shown = ", ".join(f"'{w}' ({n})" for w, n in counts.head(k).items())
    more = f" and {len(counts) - k} more" if len(counts) > k else ""
    example = ", ".join(f'"{w}": <{allowed}>' for w in counts.head(3).index)
    return (f"{shown}{more}. Map them in study.yaml: data: {{{table}: {{values: {{{column}: {{{example}}}}}}}}} "
            f"(<{allowed}> is one of {allowed.replace('|', ', ')}).")


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(
    r"\+\d(?:[\s\-()]*\d){9,14}(?!\d)"                                            # +7 916 123-45-67, +44 7700 900123
    r"|(?<![\d\-])[78][\s\-(]*\d{3}[\s\-)]*\d{3}[\s\-]*\d{2}[\s\-]*\d{2}(?![\d\-])"  # 8 (916) 123-45-67
    r"|\(\d{3}\)\s*\d{3}[\s\-.]\d{4}(?!\d)"                                      # (555) 123-4567
    r"|(?<![\d\-])\d{3}[\-.]\d{3}[\-.]\d{4}(?![\d\-])")                           # 555-123-4567


def looks_personal(values: pd.Series) -> np.ndarray:
    """Mask of text values holding something like a phone number or an e-mail address.

    Phones: ``+`` and 10-15 digits (any spaces, dashes, brackets), a Russian number of 11 digits
    starting with 7 or 8, or a US number ``(555) 123-4567`` / ``555-123-4567``; so a service such as
    "Абонемент 10 занятий 2024-2025" is not taken for one."""
    uniq = pd.Series(pd.unique(values.dropna().astype("str")), dtype="object")  # categories: few distinct
    bad = uniq[uniq.str.contains(_EMAIL) | uniq.str.contains(_PHONE)]
    if bad.empty:
        return np.zeros(len(values), bool)
    return (values.notna() & values.astype("str").isin(set(bad))).to_numpy()


def spend_mask(visits: pd.DataFrame) -> np.ndarray:
    """Rows a spend model (Gamma-Gamma) should use: completed visits with a positive amount.

    Zero-amount visits (gift certificates, memberships, free touch-ups) stay visits for the visit
    counts; they are left out of the average spend (the data loader tells the reader how many)."""
    done = (visits["status"] == "done") if "status" in visits else pd.Series(True, index=visits.index)
    return (done & (visits["amount"] > 0)).to_numpy()


def _distinct(s: pd.Series) -> tuple[pd.Series, np.ndarray] | None:
    """``(distinct values, code of each row)`` of a categorical column (code -1: missing), else None.

    Conversions and checks of a column read as categories run on its distinct values and are spread
    back to the rows with :func:`_spread`: a million rows of a few hundred dates parse a few hundred
    dates.  Every row-level figure (row numbers, counts, first examples) is taken after spreading."""
    if not isinstance(s.dtype, pd.CategoricalDtype):
        return None
    return pd.Series(s.cat.categories), s.cat.codes.to_numpy()


def _spread(u, codes: np.ndarray):
    """Per-row values of per-distinct ``u`` (a Series or an array; code -1 gives missing / False)."""
    if isinstance(u, pd.Series):
        arr = u.array
        idx = np.where(codes < 0, -1, codes)
        return pd.Series(arr.take(idx, allow_fill=True), name=u.name)
    u = np.asarray(u)
    return np.r_[u, np.zeros(1, u.dtype) if u.dtype == bool else np.full(1, np.nan)][codes]


def _categorical(values: pd.Series, codes: np.ndarray) -> pd.Series:
    """A categorical column whose row ``i`` is ``values[codes[i]]`` (``values`` may repeat or be missing)."""
    new_codes, uniques = pd.factorize(values, use_na_sentinel=True)
    rows = np.where(codes < 0, -1, np.r_[new_codes, -1][codes])
    return pd.Series(pd.Categorical.from_codes(rows, categories=pd.Index(uniques)))


def _convert(df: pd.DataFrame, table: str, where: str, rows: np.ndarray, spec: dict | None = None,
             values: dict | None = None, options: dict | None = None, salt: str = ""):
    """Typed tidy frame for ``table``, its file row numbers, every value problem and the notes.

    ``spec`` is the table's ``data:`` entry (date_format, duplicates, refunds), ``values`` the value
    words (study over preset), ``options`` the ``data:`` options (mask_personal_values)."""
    spec, values, options = spec or {}, values or {}, options or {}
    problems, notes = [], []
    out = {}
    required = set(REQUIRED[table])
    net_refunds = table == "visits" and spec.get("refunds") == "net"
    for col, kind in COLUMNS[table].items():
        if col not in df.columns:
            continue
        s = df.pop(col).reset_index(drop=True)   # the text column goes once its typed one is made
        dist = _distinct(s)   # (distinct texts, code per row) of a column read as categories
        if kind in CATEGORICAL and values.get(col):
            if kind != "status":  # status words go to _status; here the distinct values are renamed
                t = _as_text(s if dist is None else dist[0])
                rename = {u: values[col][u.lower()] for u in pd.unique(t.dropna()) if u.lower() in values[col]}
                s = t.replace(rename) if rename else t
                if dist is not None:
                    s = _categorical(s, dist[1])
                    dist = _distinct(s)
        if kind in ("id", "str"):
            v = _as_text(s) if dist is None else _as_text(dist[0])
            personal = looks_personal(v) if kind == "str" else None
            if dist is not None:
                personal = None if personal is None else _spread(personal, dist[1])
                v = _spread(v, dist[1])
            if col in required:
                empty = v.isna().to_numpy()
                if table == "staff" and col == "block" and "role" in df.columns and empty.any():
                    empty = empty & ~blockless_role(df["role"])   # administrators, managers … serve the whole salon
                if empty.any():
                    r, n = _rows_of(empty, rows)
                    what = "client id" if col == "client_id" else col.replace("_", " ")
                    problems.append(Problem(where, f"empty {what}.{_EMPTY_HINT.get((table, col), '')}",
                                            column=col, rows=r, count=n))
            if kind == "str":
                if personal.any() and options.get("mask_personal_values"):
                    v = v.where(~personal, pseudonymize(v, salt, 8, "masked-"))
                    notes.append(Note("data.personal_values_masked", {"file": where, "column": col},
                                      n=int(personal.sum()), topic="data"))
                elif personal.any():
                    r, n = _rows_of(personal, rows)
                    problems.append(Problem(where, "values look like a phone number or an e-mail (personal data "
                                            "must not reach the reports). Remove them from the export, or set "
                                            "data: {mask_personal_values: true} in study.yaml to replace them "
                                            "with pseudonyms.", column=col, rows=r, count=n))
            out[col] = v
        elif kind in ("number", "fraction"):
            if dist is None:
                v, empty, bad = _to_number(s)
            else:
                v, empty, bad = (_spread(x, dist[1]) for x in _to_number(dist[0]))
            if bad.any():
                r, n = _rows_of(bad, rows)
                problems.append(Problem(where, f"not a number: {_examples(s, bad)}.", column=col, rows=r,
                                        count=n))
            nonfinite = (~empty & ~bad & ~np.isfinite(v.to_numpy(dtype="float64", na_value=np.nan)))
            if nonfinite.any():
                r, n = _rows_of(nonfinite, rows)
                problems.append(Problem(where, f"missing or infinite values ({_examples(s, nonfinite)}): the kit "
                                        "will not guess them. Put the real amount, or leave the cell empty for a "
                                        "cancelled or no-show visit.", column=col, rows=r, count=n))
                v = v.where(~nonfinite)
            neg = (v < 0).to_numpy()
            if neg.any() and not (net_refunds and col == "amount"):
                r, n = _rows_of(neg, rows)
                hint = (" If they are refunds, set data: visits: refunds: net in study.yaml to net them against "
                        "the client's visits." if table == "visits" and col == "amount" else "")
                problems.append(Problem(where, f"negative amounts are not allowed: {_examples(s, neg)}.{hint}",
                                        column=col, rows=r, count=n))
            if kind == "fraction":
                over = (v > 1).to_numpy()
                if over.any():
                    r, n = _rows_of(over, rows)
                    problems.append(Problem(where, "must be a fraction between 0 and 1 (40% is 0.4 or "
                                            f"'40%'). Got {_examples(s, over)}.", column=col, rows=r, count=n))
            if col in required and col != "amount" and empty.any():
                r, n = _rows_of(empty, rows)
                problems.append(Problem(where, f"empty {col.replace('_', ' ')}.", column=col, rows=r, count=n))
            out[col] = v
            out["_empty_" + col] = empty
        elif kind == "date":
            fmt = spec.get("date_format")
            if dist is None:
                v, empty, bad, info = _to_date(s, fmt)
            else:
                v, empty, bad, info = _to_date(dist[0], fmt, dist[1])
                v, empty, bad = (_spread(x, dist[1]) for x in (v, empty, bad))
            if bad.any():
                r, n = _rows_of(bad, rows)
                expected = (f"expected the date_format {fmt!r} set in study.yaml" if fmt else
                            "expected 2024-06-30 or 30.06.2024, or set data: "
                            f"{table}: date_format: (like \"%m/%d/%Y\") in study.yaml")
                problems.append(Problem(where, f"dates not understood: {_examples(s, bad)} ({expected}).",
                                        column=col, rows=r, count=n))
            if info is not None:
                code = "data.dates_ambiguous" if info["kind"] == "ambiguous" else "data.dates_month_first"
                notes.append(Note(code, {"file": where, "column": col, "example": info["example"],
                                         "day_first": info["day_first"], "month_first": info["month_first"],
                                         "table": table},
                                  n=info["count"], level="warning" if info["kind"] == "ambiguous" else "info",
                                  topic="data"))
            if col in required and empty.any():
                r, n = _rows_of(empty, rows)
                problems.append(Problem(where, "empty date.", column=col, rows=r, count=n))
            far = ((v < EARLIEST) | (v > pd.Timestamp.now().normalize() + pd.Timedelta(days=LATEST_DAYS))).to_numpy()
            if col not in ("hired",) and far.any():
                r, n = _rows_of(far, rows)
                problems.append(Problem(where, f"dates out of range: {_examples(s, far)} (before "
                                        f"{EARLIEST.year} or more than a year ahead).", column=col, rows=r, count=n))
            out[col] = v
        elif kind == "status":
            if dist is None:
                v, bad = _status(s, values.get(col))
                any_done = bool((v == "done").any())
            else:   # the statuses of the distinct words answer "any completed visit?" without the rows
                per_word = _status(dist[0], values.get(col))
                used = np.zeros(len(dist[0]) + 1, bool)
                used[dist[1] + 1] = True   # code -1 (an empty cell) is a completed visit too
                any_done = bool(used[0] or (per_word[0].to_numpy() == "done")[used[1:]].any())
                v, bad = (_spread(x, dist[1]) for x in per_word)
            if bad.any():
                r, n = _rows_of(bad, rows)
                problems.append(Problem(where, "status not understood: "
                                        + _unknown_words(s, bad, table, col, "done|cancelled|no_show"),
                                        column=col, rows=r, count=n))
            elif table == "visits" and len(v) and not any_done:
                # nothing left to analyse (a cancellations sheet exported by mistake): said here, by name,
                # not as a crash of the first page that divides by the visits
                problems.append(Problem(where, _no_completed_visit(s), column=col))
            out[col] = v
        elif kind == "period":
            t = _as_text(s).str.lower()
            m = t.map(lambda x: "month" if x.startswith(("month", "мес", "m")) else
                      "year" if x.startswith(("year", "annual", "год", "y")) else "?", na_action="ignore")
            bad = (m == "?").fillna(False).to_numpy(bool)
            if bad.any():
                r, n = _rows_of(bad, rows)
                problems.append(Problem(where, "period not understood: "
                                        + _unknown_words(s, bad, table, col, "month|year"),
                                        column=col, rows=r, count=n))
            out[col] = m.where(m != "?")
    res = pd.DataFrame({k: v for k, v in out.items() if not k.startswith("_empty_")})
    empties = {k: v for k, v in out.items() if k.startswith("_empty_")}
    out = s = v = None   # the columns are in res now
    if table == "visits":
        if "status" not in res:
            res["status"] = "done"
        res["status"] = res["status"].fillna("done").astype("str")
        off = (res["status"] != "done").to_numpy()
        amount_empty = empties["_empty_amount"]
        need = amount_empty & ~off
        if need.any():
            r, n = _rows_of(need, rows)
            problems.append(Problem(where, "empty amount (only cancelled or no-show visits may have none).",
                                    column="amount", rows=r, count=n))
        res.loc[off, "amount"] = 0.0
        res["amount"] = res["amount"].fillna(0.0)
        if "consumables_cost" in res:
            res.loc[off, "consumables_cost"] = 0.0
        if "visit_id" in res:
            vid = res["visit_id"]
            dup = _repeated(vid)
            if dup.any():
                r, n = _rows_of(dup, rows)
                problems.append(Problem(where, f"duplicate visit ids: {_examples(vid, dup)}.", column="visit_id",
                                        rows=r, count=n))
        if not problems:
            res, rows, v_problems, v_notes = _visit_rules(res, rows, where, spec)
            problems += v_problems
            notes += v_notes
    if table == "staff":
        if "specialist_id" in res:
            dup = (res["specialist_id"].duplicated(keep=False) & res["specialist_id"].notna()).to_numpy()
            if dup.any():
                r, n = _rows_of(dup, rows)
                problems.append(Problem(where, f"duplicate specialist ids: {_examples(res['specialist_id'], dup)}.",
                                        column="specialist_id", rows=r, count=n))
        if "hired" in res and "left" in res:
            bad = (res["left"] < res["hired"]).to_numpy()
            if bad.any():
                r, n = _rows_of(bad, rows)
                problems.append(Problem(where, "'left' is before 'hired'.", column="left", rows=r, count=n))
    if table == "services" and "service" in res:
        dup = (res["service"].duplicated(keep=False) & res["service"].notna()).to_numpy()
        if dup.any():
            r, n = _rows_of(dup, rows)
            problems.append(Problem(where, f"duplicate services: {_examples(res['service'], dup)}.",
                                    column="service", rows=r, count=n))
    if table == "memberships" and "end" in res:
        bad = (res["end"] < res["start"]).to_numpy()
        if bad.any():
            r, n = _rows_of(bad, rows)
            problems.append(Problem(where, "membership 'end' is before 'start'.", column="end", rows=r, count=n))
    order = [c for c in COLUMNS[table] if c in res.columns]
    return res[order], rows, problems, notes


def _repeated(s: pd.Series) -> np.ndarray:
    """Rows whose value (not missing) is on another row too.  Arrow sorts the values first and
    compares neighbours: ten million distinct ids are answered without a hash table of them."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        present = pa.array(s.dropna())
        if len(present) < 2:
            return np.zeros(len(s), bool)
        srt = pc.take(present, pc.sort_indices(present))
        repeated = pc.any(pc.equal(srt.slice(1), srt.slice(0, len(srt) - 1))).as_py()
        del srt, present
        pa.default_memory_pool().release_unused()
        if not repeated:
            return np.zeros(len(s), bool)
    except Exception:  # noqa: BLE001 - a type Arrow does not take: pandas decides
        pass
    return (s.duplicated(keep=False) & s.notna()).to_numpy()


def _visit_rules(v: pd.DataFrame, rows: np.ndarray, where: str, spec: dict):
    """Exact duplicates, refunds and zero amounts of the typed visits: (visits, rows, problems, notes).

    - Rows identical in every column, in a file without visit ids, are counted (a warning note);
      ``duplicates: drop`` drops all but the first of each.
    - ``refunds: net``: a negative amount is taken off the same client's latest completed visits on
      or before its date (the same service first), then the refund row is dropped; a refund larger
      than those visits is a problem.
    - A completed visit's amount far above the file's own (:func:`large_amounts`) is a problem naming
      the rows; ``large_amounts: keep`` keeps them with a warning note.
    - Completed visits with amount 0 are kept (they are visits) and counted in a note; the spend
      model leaves them out (:func:`spend_mask`).
    """
    problems, notes = [], []
    has_ids = "visit_id" in v and v["visit_id"].notna().any()
    if not has_ids:
        dup = v.duplicated(keep="first").to_numpy()
        if dup.any():
            n = int(dup.sum())
            if spec.get("duplicates") == "drop":
                v, rows = v[~dup].reset_index(drop=True), rows[~dup]
                notes.append(Note("data.duplicates_dropped", {"file": where}, n=n, level="warning", topic="data"))
            else:
                first = [int(r) for r in rows[dup][:ROWS_SHOWN]]
                notes.append(Note("data.duplicates_kept", {"file": where, "rows": ", ".join(map(str, first))},
                                  n=n, level="warning", topic="data"))
    if spec.get("refunds") == "net":
        v, rows, r_problems, r_note = _net_refunds(v, rows, where)
        problems += r_problems
        if r_note is not None:
            notes.append(r_note)
    big, p99 = large_amounts(v)
    if big.any():
        r, n = _rows_of(big, rows)
        if spec.get("large_amounts") == "keep":   # kept on purpose, still never silent
            notes.append(Note("data.large_amounts_kept", {"file": where, "rows": ", ".join(map(str, r)),
                                                          "factor": int(LARGE_FACTOR), "p99_money": round(p99, 2)},
                              n=n, level="warning", topic="data"))
        else:
            problems.append(Problem(where, f"amounts far above the rest of the file: {', '.join(f'{x:,.2f}' for x in pd.unique(v['amount'][big])[:3])} "
                                    f"(more than {LARGE_FACTOR:g} × {p99:,.2f}, the {LARGE_QUANTILE:.0%} quantile of "
                                    "its paid completed visits). One such row drives every figure of the report. "
                                    "Correct the amount (a typo, extra zeros, a total row?), or, if it is real, set "
                                    "data: visits: large_amounts: keep in study.yaml.", column="amount", rows=r,
                                    count=n))
    zero = ((v["status"] == "done") & (v["amount"] == 0)).to_numpy()
    if zero.any():
        notes.append(Note("data.zero_amount", {"file": where, "done": int((v["status"] == "done").sum())},
                          n=int(zero.sum()), level="info", topic="data"))
    return v, rows, problems, notes


def large_amounts(visits: pd.DataFrame) -> tuple[np.ndarray, float]:
    """Completed visits whose amount is far outside the salon's own amounts: (row mask, the quantile).

    The rule: with at least ``LARGE_MIN_PAID`` (20) completed visits of a positive amount, an amount
    above ``LARGE_FACTOR`` (100) x their ``LARGE_QUANTILE`` (99%) quantile -- the lower neighbouring value,
    so that with up to 100 paid visits it is the second largest amount and one mistyped row cannot
    raise its own bar.  Fewer paid visits: nothing is flagged (no distribution to compare with), the
    quantile is NaN.  Amounts in the visits' currency; the mask has one entry per row of ``visits``."""
    amount = visits["amount"].to_numpy(dtype="float64", na_value=np.nan)
    done = (visits["status"] == "done").to_numpy() if "status" in visits else np.ones(len(visits), bool)
    paid = amount[done & (amount > 0)]
    if paid.size < LARGE_MIN_PAID:
        return np.zeros(len(visits), bool), float("nan")
    p99 = float(np.quantile(paid, LARGE_QUANTILE, method="lower"))
    return done & (amount > LARGE_FACTOR * p99), p99


def _net_refunds(v: pd.DataFrame, rows: np.ndarray, where: str):
    neg = (v["amount"] < 0).to_numpy()
    if not neg.any():
        return v, rows, [], None
    amount = v["amount"].to_numpy(dtype="float64").copy()
    done = (v["status"] == "done").to_numpy()
    dates = v["date"].to_numpy()
    clients = v["client_id"].to_numpy()
    service = v["service"].to_numpy() if "service" in v else None
    unmatched = np.zeros(len(v), bool)
    by_client = pd.Series(np.arange(len(v))).groupby(clients).indices
    total = 0.0
    for i in np.flatnonzero(neg):
        left = -amount[i]
        total += left
        cand = [j for j in by_client[clients[i]] if j != i and done[j] and amount[j] > 0 and dates[j] <= dates[i]]
        cand.sort(key=lambda j: (service is None or service[j] != service[i], -dates[j].astype("int64")))
        for j in cand:
            take = min(left, amount[j])
            amount[j] -= take
            left -= take
            if left <= 1e-9:
                break
        if left > 1e-9:
            unmatched[i] = True
    if unmatched.any():
        r, n = _rows_of(unmatched, rows)
        return v, rows, [Problem(where, "refunds larger than the client's completed visits on or before their "
                                 "date: the kit cannot net them. Check these rows.", column="amount",
                                 rows=r, count=n)], None
    v = v.assign(amount=amount)
    keep = ~neg
    note = Note("data.refunds_netted", {"file": where, "total": round(total, 2)}, n=int(neg.sum()),
                level="info", topic="data")
    return v[keep].reset_index(drop=True), rows[keep], [], note


def _cross_checks(frames: dict, rownums: dict, wheres: dict) -> list[Problem]:
    """Visits naming a specialist / service absent from staff / services."""
    problems = []
    v = frames.get("visits")
    if v is None:
        return problems
    for table, key, label in (("staff", "specialist_id", "specialists"), ("services", "service", "services")):
        other = frames.get(table)
        if other is None or key not in v.columns or key not in other.columns:
            continue
        known = set(other[key].dropna())
        absent = (v[key].notna() & ~v[key].isin(known)).to_numpy()
        if absent.any():
            r, n = _rows_of(absent, rownums["visits"])
            problems.append(Problem(wheres["visits"], f"{label} not in {wheres[table]}: "
                                    f"{_examples(v[key], absent)}.", column=key, rows=r, count=n))
    return problems


# =========================================================================== cache


def write_cache(tables: Tables, folder) -> None:
    """Write validated tables as Parquet (the runner's cache; notebooks read it with read_cache)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        df = getattr(tables, name)
        if df is not None:
            df.to_parquet(folder / f"{name}.parquet", index=False)
    notes = [{"code": n.code, "fields": dict(n.fields), "n": n.n, "level": n.level, "topic": n.topic}
             for n in tables.notes]
    (folder / "meta.json").write_text(json.dumps({"sources": tables.sources, "dropped": tables.dropped,
                                                  "notes": notes}, ensure_ascii=False, default=str),
                                      encoding="utf-8")


#: Text columns :func:`read_cache` gives as categories (``categories=True``): the keys the sections
#: group, filter and join on.  ``visit_id`` is left as text (one value per row: nothing to share).
CATEGORY_KINDS = ("id", "str", "status", "period")


def _category_columns(name: str, present) -> list[str]:
    kinds = COLUMNS.get(name, {})
    return [c for c in present if kinds.get(c) in CATEGORY_KINDS and c != "visit_id"]


def _read_parquet_table(path: Path, categories: bool) -> pd.DataFrame:
    """One cached table; with ``categories`` its text keys (:data:`CATEGORY_KINDS`) as pandas
    categoricals whose categories are sorted (so ``groupby(..., sort=True)`` and ``sort_values`` order
    rows as they order the text).  Read through pyarrow's dictionary decoding: no per-row strings."""
    if not categories:
        return pd.read_parquet(path)
    import pyarrow.parquet as pq

    name = path.stem
    present = pq.read_schema(path).names
    cols = _category_columns(name, present)
    df = pq.read_table(path, read_dictionary=cols).to_pandas()
    for c in cols:
        s = df[c]
        if not isinstance(s.dtype, pd.CategoricalDtype):  # pragma: no cover - pyarrow always decodes
            s = s.astype("category")
        cats = s.cat.categories.astype("str")
        order = np.argsort(cats.to_numpy(object), kind="stable")
        rank = np.empty(len(order), np.int64)
        rank[order] = np.arange(len(order))
        codes = s.cat.codes.to_numpy()
        new = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1).astype(codes.dtype)
        df[c] = pd.Series(pd.Categorical.from_codes(new, dtype=pd.CategoricalDtype(cats[order])),
                          index=df.index, name=c)
    return df


def read_cache(folder, categories: bool = False) -> Tables:
    """Tables written by :func:`write_cache`.

    ``categories=False`` gives the frames back as written (text columns as ``str``).
    ``categories=True`` (what the report notebooks use, via :class:`analysis.pages.notebook.Context`)
    gives the text keys of :data:`COLUMNS` (ids, blocks, services, statuses, …; not ``visit_id``) as
    categoricals with sorted categories: the same values, a sixth of the memory for a million visits,
    and filtering, grouping and joining on integer codes instead of strings.  A categorical column
    refuses values outside its categories (``fillna("?")``): cast to ``str`` first when adding one."""
    folder = Path(folder)
    parts = {}
    for name in TABLES:
        p = folder / f"{name}.parquet"
        parts[name] = _read_parquet_table(p, categories) if p.exists() else None
    meta = folder / "meta.json"
    extra = json.loads(meta.read_text(encoding="utf-8")) if meta.exists() else {}
    notes = [Note(d["code"], d.get("fields") or {}, n=d.get("n"), level=d.get("level", "info"),
                  topic=d.get("topic", "")) for d in extra.get("notes", [])]
    return Tables(**parts, sources=extra.get("sources", {}), dropped=extra.get("dropped", {}), notes=notes)
