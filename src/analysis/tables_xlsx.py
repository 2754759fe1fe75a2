"""``tables.xlsx``: the reports' key tables for consultants who work in spreadsheets.

Notebooks export tables with ``ctx.export(section, name, df)`` (Parquet in the run's work folder);
the runner collects them here, one sheet per section, tables one under another with a bold title,
money and share columns formatted by their names.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

__all__ = ["write", "number_format"]

_MONEY = re.compile(r"(cost|revenue|pay|margin|profit|saving|amount|price|spend|clv|npv|value|rub|ticket|risk)", re.I)
_SHARE = re.compile(r"(share|rate|retention|prob|pct|percent|uplift|effect|gini|attachment)", re.I)


def number_format(column: str) -> str | None:
    """Excel number format for a column, from its name (shares before money)."""
    if _SHARE.search(column):
        return "0.0%"
    if _MONEY.search(column):
        return "#,##0"
    return None


def write(tables_dir, out_path) -> Path:
    """Write every ``<section>__<name>.parquet`` under ``tables_dir`` into ``out_path``."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    tables_dir, out_path = Path(tables_dir), Path(out_path)
    files = sorted(tables_dir.glob("*.parquet")) if tables_dir.exists() else []
    wb = Workbook()
    wb.remove(wb.active)
    by_section: dict[str, list[tuple[str, pd.DataFrame]]] = {}
    for f in files:
        section, _, name = f.stem.partition("__")
        by_section.setdefault(section, []).append((name or section, pd.read_parquet(f)))
    if not by_section:
        ws = wb.create_sheet("about")
        ws["A1"] = "No tables were exported by this run."
    for section, items in by_section.items():
        ws = wb.create_sheet(section[:31])
        row = 1
        widths: dict[int, int] = {}
        for name, df in items:
            ws.cell(row=row, column=1, value=name.replace("_", " ")).font = Font(bold=True, size=12)
            row += 1
            df = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df
            for j, col in enumerate(df.columns, start=1):
                ws.cell(row=row, column=j, value=str(col)).font = Font(bold=True)
                widths[j] = max(widths.get(j, 8), len(str(col)) + 2)
            for values in df.itertuples(index=False):
                row += 1
                for j, v in enumerate(values, start=1):
                    if isinstance(v, pd.Timestamp):
                        v = v.to_pydatetime()
                    elif hasattr(v, "item"):
                        v = v.item()
                    if isinstance(v, float) and v != v:
                        v = None
                    cell = ws.cell(row=row, column=j, value=v)
                    fmt = number_format(str(df.columns[j - 1]))
                    if fmt and isinstance(v, (int, float)):
                        cell.number_format = fmt
            row += 2
        for j, w in widths.items():
            ws.column_dimensions[get_column_letter(j)].width = min(w, 40)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out_path)
    return out_path
