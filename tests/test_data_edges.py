"""Exports that leave nothing (or nonsense) to analyse: the reader says so by name, never a crash later.

Duplicate column names, a visits file with no completed visit, an amount far outside the salon's own
amounts, and tiny tables (one client, one day, all no-shows, all zero amounts) pushed through the
data-check computations.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from analysis.errors import InputError
from analysis.inputs import data
from analysis.inputs.study import load_study


def make(tmp_path: Path, visits: str, study: str = "name: T\n") -> Path:
    d = tmp_path / "study"
    d.mkdir(parents=True, exist_ok=True)
    (d / "study.yaml").write_text(study, encoding="utf-8")
    (d / "visits.csv").write_text(visits, encoding="utf-8")
    return d


def problems(d: Path):
    with pytest.raises(InputError) as exc:
        data.load_tables(load_study(d))
    return exc.value.problems


def test_a_column_given_twice_is_said_once_not_also_missing(tmp_path):
    d = make(tmp_path, "date,client_id,amount,amount\n2024-01-03,c1,100,100\n")
    ps = problems(d)
    assert len(ps) == 1, [p.message for p in ps]
    assert "2 columns would be read as 'amount'" in ps[0].message
    assert not any("missing" in p.message for p in ps)


def test_a_mapped_column_given_twice_is_said_once(tmp_path):
    d = make(tmp_path, "date,client_id,Sum,sum\n2024-01-03,c1,100,100\n",
             "name: T\ndata:\n  visits:\n    columns: {Sum: amount}\n")
    ps = problems(d)
    assert len(ps) == 1 and "would be read as 'amount'" in ps[0].message
