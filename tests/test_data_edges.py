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
    if kpi.on_completed(v, "block"):   # the page's test for a block table (not a cancelled row's block)
        bpc = kpi.blocks_per_client(v)
        assert np.isfinite(float((bpc["blocks"] * bpc["clients"]).sum() / bpc["clients"].sum()))
    s = data.summarize(t)
    assert s["visits"] >= 1 and s["clients"] >= 1


# ----------------------------------------------------------------------------- absurd amounts

def _visits(amounts, extra=""):
    return "date,client_id,amount\n" + "".join(f"2024-{1 + i % 12:02d}-{1 + i % 28:02d},c{i % 30},{a}\n"
                                                for i, a in enumerate(amounts)) + extra


def test_an_amount_a_million_times_the_typical_ticket_is_refused_by_row(tmp_path):
    amounts = [2000] * 900
    amounts[3] = 1_000_000_000_000
    ps = problems(make(tmp_path, _visits(amounts)))
    assert len(ps) == 1
    p = ps[0]
    assert p.where == "visits.csv" and p.column == "amount" and p.rows == (5,) and p.count == 1
    assert "1,000,000,000,000.00" in p.message and "100 × 2,000.00" in p.message
    assert "large_amounts: keep" in p.message


def test_large_amounts_keep_keeps_the_row_with_a_warning_note(tmp_path):
    amounts = [2000] * 50
    amounts[10] = 5_000_000
    d = make(tmp_path, _visits(amounts), "name: T\ndata:\n  visits:\n    large_amounts: keep\n")
    t = data.load_tables(load_study(d))
    assert t.visits["amount"].max() == 5_000_000
    notes = [n for n in t.notes if n.code == "data.large_amounts_kept"]
    assert len(notes) == 1 and notes[0].level == "warning" and notes[0].n == 1
    assert notes[0].fields["rows"] == "12"
    from analysis.pages.words import note_text
    for lang in ("en", "ru"):
        assert "12" in note_text(notes[0], lang)


def test_large_amounts_setting_is_checked(tmp_path):
    ps = problems(make(tmp_path, _visits([100] * 3), "name: T\ndata:\n  visits:\n    large_amounts: maybe\n"))
    assert any(p.where == "study.yaml: data.visits.large_amounts" for p in ps)


def test_too_few_paid_visits_flag_nothing(tmp_path):
    # 19 paid visits: no distribution of the salon's own to compare with
    t = data.load_tables(load_study(make(tmp_path, _visits([100] * 18 + [10_000_000]))))
    assert len(t.visits) == 19


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(1, 1e6), min_size=20, max_size=300), st.floats(1.01, 1e6))
def test_the_rule_flags_an_amount_above_100_times_every_other_and_nothing_within_100_times(amounts, k):
    import pandas as pd

    a = np.array(amounts)
    v = pd.DataFrame({"amount": a, "status": "done"})
    big, p99 = data.large_amounts(v)
    assert p99 <= a.max()
    if a.max() <= 100 * a.min():   # every amount within 100 x every other: nothing flagged
        assert not big.any()
    # one more row above 100 x the largest of the others is flagged
    w = pd.DataFrame({"amount": np.append(a, 100 * a.max() * k), "status": "done"})
    big2, p99_2 = data.large_amounts(w)
    assert big2[-1]
    assert (big2 == (w["amount"] > 100 * p99_2).to_numpy()).all()   # the stated rule, nothing else
    assert p99_2 <= a.max()   # the mistyped row never raises its own bar
    # zero amounts and cancelled rows never count, never flagged
    z = pd.DataFrame({"amount": np.append(a, [0.0, 1e15]), "status": ["done"] * len(a) + ["done", "cancelled"]})
    assert not data.large_amounts(z)[0][-2:].any()


def test_a_block_named_only_on_a_cancelled_row_is_no_block_for_the_pages():
    import pandas as pd

    v = pd.DataFrame({"client_id": ["c1", "c1"], "status": ["cancelled", "done"], "block": ["hair", None],
                      "specialist_id": [None, "S1"]})
    assert not kpi.on_completed(v, "block")
    assert kpi.on_completed(v, "specialist_id")
    assert not kpi.on_completed(v, "service")
    assert kpi.on_completed(v.drop(columns="status"), "block")   # no status: every row is a visit


# ----------------------------------------------------------------------------- all visits at 0

def test_a_note_count_is_grouped_like_its_other_numbers():
    from analysis.codes import Note
    from analysis.pages.i18n import number
    from analysis.pages.words import note_text

    note = Note("data.zero_amount", {"file": "visits.csv", "done": 10314}, n=10314, level="info", topic="data")
    fmt = {lang: (lambda lang: lambda _k, v: number(v, lang, 0) if isinstance(v, int) else str(v))(lang)
           for lang in ("en", "ru")}
    assert note_text(note, "en", fmt["en"]).startswith("visits.csv: 10,314 of 10,314 completed visits have")
    ru = note_text(note, "ru", fmt["ru"])
    assert ru.count(number(10314, "ru", 0)) == 2 and "10314" not in ru
    one = Note("data.zero_amount", {"file": "v.csv", "done": 3}, n=1)
    assert "1 of 3 completed visits has" in note_text(one, "en", fmt["en"])   # the plural form still by number
    assert "10314 of 10314" in note_text(note, "en")   # without a formatter the fields are as given


def test_check_prints_the_zero_amount_note_with_grouped_numbers(tmp_path, capsys):
    from analysis.__main__ import main

    rows = "".join(f"2024-{1 + i % 12:02d}-{1 + i % 27:02d},c{i % 15},0\n" for i in range(1200))
    assert main(["check", str(make(tmp_path, "date,client_id,amount\n" + rows))]) == 0
    assert "1,200 of 1,200 completed visits have an amount of 0" in capsys.readouterr().out


def test_the_data_check_page_of_an_all_zero_salon_shows_no_ticket(tmp_path):
    """Every completed visit at 0 (a membership club): no "average ticket 0" / "spends 0 a visit"."""
    import re
    import shutil
    import subprocess
    import sys
    import html as _html

    from analysis.pages.words import say

    root = Path(__file__).resolve().parents[1]
    nb = tmp_path / "nb"
    nb.mkdir()
    shutil.copy(root / "notebooks" / "01_data_check.ipynb", nb)
    rows = "".join(f"2024-{1 + i % 12:02d}-{1 + i % 27:02d},c{i % 15},0,gym\n" for i in range(60))
    d = make(tmp_path, "date,client_id,amount,block\n" + rows, "name: Zero\nlanguage: en\n")
    out = tmp_path / "out"
    env = {**__import__("os").environ, "PYTHONPATH": str(root / "src")}
    r = subprocess.run([sys.executable, "-m", "analysis", "run", str(d), "--out", str(out), "--notebooks", str(nb)],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    page = (out / "study" / "01_data_check.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", _html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", "",
                                                                             page, flags=re.S))))
    assert say("data_check.kpi.no_paid_visits", "en") in text
    assert "so there is no average ticket" in text
    assert not re.search(r"spends \S+ a visit", text) and "60 of 60 completed visits have an amount of 0" in text


@pytest.mark.parametrize("statuses, refused", [(["отменен", "no_show"], True), (["отменен", "пришел"], False),
                                               (["отменен", None], False)])
def test_no_completed_visit_is_found_alike_on_a_column_read_as_categories(statuses, refused):
    """The large-file reader hands categories (one status per distinct word): the same answer as per row,
    an unused category "пришел" is no completed visit, an empty cell is one."""
    import numpy as np
    import pandas as pd

    for as_category in (False, True):
        df = pd.DataFrame({"date": ["2024-01-01", "2024-01-02"], "client_id": ["c1", "c1"],
                           "amount": ["100" if s in ("пришел", None) else "" for s in statuses], "status": statuses})
        if as_category:
            df = df.astype("category")
            df["status"] = pd.Categorical(statuses, categories=["отменен", "пришел", "no_show"])
        _, _, ps, _ = data._convert(df, "visits", "visits.csv", np.arange(2, 4))
        assert any("no completed visit" in p.message for p in ps) == refused, (as_category, ps)
