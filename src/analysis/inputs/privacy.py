"""Personal data never reaches the disk: the runner's step between validated tables and its cache.

``data.load_tables`` already drops columns that name personal data (names, phones, e-mails …) and
pseudonymises a personal column used as the client key.  Before the runner writes anything
(``_work/data/*.parquet``), :func:`for_cache` goes further:

- client and specialist ids are replaced by numbers in order of first appearance (visits first, then
  the other tables), ``C0001``, ``C0002`` … and ``S01``, ``S02`` …, the same id getting the same number
  in every table.  The numbering is deterministic (same export, same numbers) and there is no hash to
  reverse: the original ids stay in the export and in the runner's memory only;
- only the columns of the data contract (``data.COLUMNS``) are kept, and a column whose header
  names personal data is refused even if a future contract lists it (:func:`personal_columns`).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

__all__ = ["ID_PREFIXES", "number_ids", "personal_columns", "for_cache"]

#: id column -> prefix of its numbers
ID_PREFIXES = {"client_id": "C", "specialist_id": "S"}


def _tables(tables):
    from analysis.inputs import data

    return [(name, getattr(tables, name)) for name in data.TABLES if getattr(tables, name) is not None]


def number_ids(tables):
    """A copy of ``tables`` whose client and specialist ids are numbered in order of first appearance.

    Missing ids stay missing.  Returns a new ``data.Tables``; the input is not changed.
    """
    frames = dict(_tables(tables))
    for col, prefix in ID_PREFIXES.items():
        # distinct ids as text, in order of first appearance over the tables (visits first)
        firsts = [pd.unique(df[col].dropna()) for df in frames.values() if col in df.columns]
        seen = pd.unique(pd.Series(np.concatenate([np.asarray(pd.Series(f).astype(str), dtype=object)
                                                   for f in firsts]) if firsts else [], dtype=object))
        width = max(2 if col == "specialist_id" else 4, len(str(len(seen))))
        keys = pd.Index(seen, dtype=object)
        numbers = np.array([None] + [f"{prefix}{i:0{width}d}" for i in range(1, len(seen) + 1)], dtype=object)
        for name, df in frames.items():
            if col in df.columns:
                s = df[col]
                codes, uniques = pd.factorize(s)            # -1: missing id, stays missing
                at = keys.get_indexer(np.asarray(pd.Series(uniques).astype(str), dtype=object)) + 1
                out = pd.Series(numbers[np.r_[at, 0][codes]], index=s.index, dtype=object)
                df = df.copy()
                try:
                    out = out.astype(s.dtype)  # keep the loader's dtype (text ids stay text)
                except (TypeError, ValueError):
                    pass
                df[col] = out
                frames[name] = df
    return dataclasses.replace(tables, **frames)


def personal_columns(tables) -> list[str]:
    """``table.column`` of every column outside the data contract or named like personal data."""
    from analysis.inputs import data

    found = []
    for name, df in _tables(tables):
        allowed = data.COLUMNS.get(name, {})
        for c in df.columns:
            if c not in allowed or data.is_personal_column(c) and c not in ID_PREFIXES:
                found.append(f"{name}.{c}")
    return found


def for_cache(tables):
    """The tables as the runner may write them: ids numbered, nothing outside the contract."""
    from analysis.inputs import data

    out = number_ids(tables)
    frames = {}
    for name, df in _tables(out):
        allowed = data.COLUMNS.get(name, {})
        keep = [c for c in df.columns if c in allowed and (c in ID_PREFIXES or not data.is_personal_column(c))]
        frames[name] = df[keep]
    return dataclasses.replace(out, **frames)
