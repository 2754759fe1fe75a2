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


# ----------------------------------------------------------------------------- no completed visit

@pytest.mark.parametrize("word", ["отменен", "no-show", "cancelled"])
def test_a_visits_file_without_a_completed_visit_is_refused_naming_file_column_and_words(tmp_path, word):
    rows = "".join(f"2024-{m:02d}-10,c{i},,{word}\n" for m in range(1, 4) for i in range(3))
    ps = problems(make(tmp_path, "date,client_id,amount,status\n" + rows))
    assert len(ps) == 1
    p = ps[0]
    assert p.where == "visits.csv" and p.column == "status"
    assert "no completed visit" in p.message and f"'{word}' (9 rows)" in p.message
    assert "visits.csv, column 'status'" in str(p)


def test_one_completed_visit_among_cancellations_is_read(tmp_path):
    t = data.load_tables(load_study(make(tmp_path, "date,client_id,amount,status\n2024-01-10,c1,,отменен\n"
                                                   "2024-01-11,c1,500,пришел\n")))
    assert int((t.visits["status"] == "done").sum()) == 1


def test_check_exits_2_on_a_cancellations_only_export(tmp_path, capsys):
    from analysis.__main__ import main

    d = make(tmp_path, "date,client_id,amount,status\n2024-01-10,c1,,cancelled\n2024-02-10,c2,,no_show\n")
    assert main(["check", str(d)]) == 2
    err = capsys.readouterr()
    assert "no completed visit" in err.out + err.err


# ----------------------------------------------------------------------------- tiny tables

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import numpy as np  # noqa: E402

from analysis.sections import kpi  # noqa: E402

ROW = st.tuples(st.sampled_from(["c1", "c2", "c3"]),
                st.sampled_from(["2024-01-05", "2024-01-05", "2024-02-20", "2024-09-30"]),
                st.sampled_from(["", "0", "0", "1500"]),
                st.sampled_from(["", "пришел", "отменен", "no_show"]),
                st.sampled_from(["hair", "nails", ""]))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(ROW, min_size=1, max_size=6))
def test_tiny_tables_are_refused_by_name_or_give_finite_data_check_figures(tmp_path_factory, rows):
    """One client, one day, all no-shows, all zero amounts ...: the reader refuses with a named
    problem, or every figure the data-check page shows is a finite number."""
    d = make(tmp_path_factory.mktemp("t"), "date,client_id,amount,status,block\n"
             + "".join(",".join((dt, c, a, s, b)) + "\n" for c, dt, a, s, b in rows))
    try:
        t = data.load_tables(load_study(d))
    except InputError as e:
        assert e.problems and all(p.where and p.message for p in e.problems)
        return
    v = t.visits
    done = kpi.completed(v)
    assert len(done) >= 1   # a study the reader lets through has something to analyse
    per = kpi.period(v)
    assert per.months >= 1 and per.days >= 1
    days = kpi.visit_days(v)
    assert len(days) >= 1 and done["client_id"].nunique() >= 1
    assert np.isfinite(float(done["amount"].sum()))
    tk = kpi.avg_ticket(v)
    assert np.isfinite(float(tk.loc[tk["block"] == "all", "avg_ticket"].iloc[0]))
    fr = kpi.frequency(v)
    assert np.isfinite(fr.visits_per_client_year) and fr.visits_per_client_year > 0
    kpi.by_month_block(v)
    kpi.retention(v, 90)
    kpi.cohort_matrix(v, 12)
    if "block" in v and v["block"].notna().any():
        bpc = kpi.blocks_per_client(v)
        assert np.isfinite(float((bpc["blocks"] * bpc["clients"]).sum() / bpc["clients"].sum()))
    s = data.summarize(t)
    assert s["visits"] >= 1 and s["clients"] >= 1
