"""Read and validate a study's exports into tidy DataFrames.

(Minimal first version: visits.csv only. The full data contract follows.)
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd

from .errors import InputError, Problem

__all__ = ["Tables", "load_tables", "write_cache", "read_cache", "TABLES"]

TABLES = ("visits", "services", "staff", "clients", "memberships")


@dataclass
class Tables:
    """The study's tables after loading; optional tables are None when absent."""

    visits: pd.DataFrame
    services: pd.DataFrame | None = None
    staff: pd.DataFrame | None = None
    clients: pd.DataFrame | None = None
    memberships: pd.DataFrame | None = None

    def has(self, table: str, column: str | None = None) -> bool:
        df = getattr(self, table)
        if df is None:
            return False
        return column is None or (column in df.columns and df[column].notna().any())


def load_tables(study) -> Tables:
    path = Path(study.dir) / "visits.csv"
    if not path.exists():
        raise InputError(Problem(str(path), "required file not found."))
    v = pd.read_csv(path, dtype={"client_id": str})
    v["date"] = pd.to_datetime(v["date"])
    return Tables(visits=v)


def write_cache(tables: Tables, folder) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for f in fields(tables):
        df = getattr(tables, f.name)
        if df is not None:
            df.to_parquet(folder / f"{f.name}.parquet", index=False)


def read_cache(folder) -> Tables:
    folder = Path(folder)
    parts = {}
    for name in TABLES:
        p = folder / f"{name}.parquet"
        parts[name] = pd.read_parquet(p) if p.exists() else None
    return Tables(**parts)
