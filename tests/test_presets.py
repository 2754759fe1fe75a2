"""Salon-system presets (``source_system:``): each documented, each fixture read as the system exports it."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from analysis.inputs import data, presets
from analysis.errors import InputError
from analysis.inputs.study import load_study

ROOT = Path(__file__).resolve().parents[1]
EXPORTS = ROOT / "tests" / "fixtures" / "exports"


def _maker():
    spec = importlib.util.spec_from_file_location("make_exports", EXPORTS / "make_exports.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MAKE = _maker()
ROWS = MAKE.visits()
DONE = [r for r in ROWS if r["status"] == "done"]


def study_dir(system: str, tmp_path: Path) -> Path:
    """The fixture folder (a copy, with the YCLIENTS workbook written into it)."""
    d = tmp_path / system
    shutil.copytree(EXPORTS / system, d)
    if system == "yclients":
        MAKE.make_yclients(d / "records.xlsx")
    return d


def load(d: Path) -> data.Tables:
    return data.load_tables(load_study(d))


def test_every_preset_is_documented_and_valid():
    assert set(presets.available()) == {"yclients", "altegio", "fresha", "mindbody", "phorest", "vagaro", "zenoti"}
    for name in presets.available():
        p = presets.preset(name)
        text = (Path(presets.__file__).parent / "presets" / f"{name}.yaml").read_text(encoding="utf-8")
        assert p["title"] and p["sources"] and all(u.startswith("http") for u in p["sources"]), name
        assert "Not documented" in text, name  # each file says what its pages leave out
        for table, spec in p["tables"].items():
            assert set(spec["columns"]) <= set(data.COLUMNS[table]), name
            assert all(isinstance(v, list) and v for v in spec["columns"].values()), name
            for col, words in (spec.get("values") or {}).items():
                assert set(words.values()) <= {"done", "cancelled", "no_show"}, (name, col)


@pytest.mark.parametrize("system", sorted(presets.available()))
def test_fixture_passes_check_with_hand_checked_figures(system, tmp_path):
    t = load(study_dir(system, tmp_path))
    v = t.visits
    # the same invented salon in every format: 60 clients, every row a visit, statuses as written
    assert len(v) == len(ROWS) and v["client_id"].nunique() == 60
    assert (v["status"] == "done").sum() == len(DONE)
    assert (v["status"] == "no_show").sum() == sum(r["status"] == "no_show" for r in ROWS) + (
        sum(r["status"] == "cancelled" for r in ROWS) if system in ("yclients", "altegio") else 0)
    assert v["date"].min().date() == ROWS[0]["when"].date() and v["date"].max().date() == ROWS[-1]["when"].date()
    assert v["specialist_id"].nunique() == 4
    assert t.notes[0].code == "data.preset_used"


@pytest.mark.parametrize("system, divisor", [("yclients", 1), ("altegio", 1), ("zenoti", 80), ("mindbody", 80),
                                             ("vagaro", 80), ("fresha", 95), ("phorest", 95)])
def test_fixture_revenue(system, divisor, tmp_path):
    v = load(study_dir(system, tmp_path)).visits
    expected = sum(round(r["amount"] / divisor, 2) for r in DONE)
    assert v.loc[v["status"] == "done", "amount"].sum() == pytest.approx(expected, abs=0.01)


def test_yclients_records_workbook_as_it_comes(tmp_path):
    d = study_dir("yclients", tmp_path)
    t = load(d)
    v = t.visits
    # two title rows, the merged cells and the «Итого» row are not data
    assert len(v) == len(ROWS)
    # "4 446,59 ₽" with no-break spaces
    assert 4446.59 in set(v["amount"])
    # "03.01.2024 10:00" is a date; the phone used as the client id is pseudonymised
    assert v["date"].dt.hour.eq(0).all()
    assert not v["client_id"].str.contains(r"\+7|900").any() and v["client_id"].str.startswith("p-").all()
    assert "Клиент" in t.dropped["visits"]  # the client's name never passes
    assert set(v["block"]) == {"Парикмахерский зал", "Ногтевой сервис", "Косметология"}


def test_yclients_without_the_preset_names_the_mapping_to_add(tmp_path):
    d = study_dir("yclients", tmp_path)
    (d / "study.yaml").write_text("name: T\ndata:\n  visits:\n    file: records.xlsx\n    columns: {Дата визита: date, "
                                  "Телефон: client_id, Стоимость: amount, Статус визита: status}\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load(d)
    (p,) = exc.value.problems
    assert p.column == "status" and "Клиент пришел" in p.message and "values: {status:" in p.message


def test_the_studys_mapping_wins_over_the_preset(tmp_path):
    d = study_dir("zenoti", tmp_path)
    (d / "study.yaml").write_text(
        "name: T\nsource_system: zenoti\ndata:\n  visits:\n    file: appointments.csv\n"
        "    columns: {Service Category: service}\n    values:\n      status: {No show: cancelled}\n", encoding="utf-8")
    v = load(d).visits
    assert set(v["service"]) == {"Hair", "Nails", "Skin"}  # the preset would have taken "Service Name"
    # (the study once mapped the only completed word away: a study without a completed visit is now refused)
    assert (v["status"] == "no_show").sum() == 0  # the study's word wins over the preset's
    assert (v["status"] == "cancelled").sum() == sum(r["status"] in ("cancelled", "no_show") for r in ROWS)
    assert (v["status"] == "done").sum() == sum(r["status"] == "done" for r in ROWS)  # the preset's words stay


@pytest.mark.parametrize("system, fragment", [("booksy", "has no preset"), ("arnica", "has no preset"),
                                              ("salonpro", "unknown system")])
def test_systems_without_a_preset(system, fragment, tmp_path):
    d = study_dir("zenoti", tmp_path)
    (d / "study.yaml").write_text(f"name: T\nsource_system: {system}\ndata:\n  visits: appointments.csv\n",
                                  encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load(d)
    msgs = [p for p in exc.value.problems if p.where == "study.yaml: source_system"]
    assert msgs and fragment in msgs[0].message and "yclients" in msgs[0].message


def test_vagaro_us_dates_read_month_first_with_a_note(tmp_path):
    t = load(study_dir("vagaro", tmp_path))
    (note,) = [n for n in t.notes if n.code == "data.dates_month_first"]
    assert note.n == len(ROWS)


@pytest.mark.parametrize("system", ["yclients", "vagaro"])
def test_check_command_accepts_the_export(system, run_cli, tmp_path):
    folder = study_dir(system, tmp_path)
    r = run_cli("check", folder)
    assert r.returncode == 0, r.stderr
    # check speaks the study's language (the YCLIENTS sample study is in Russian)
    from analysis.inputs.study import load_study
    from analysis.pages.words import say

    lang = load_study(folder).language
    assert ": OK" in r.stdout and say("check.notes", lang) + ":" in r.stdout


def test_zenoti_export_runs_end_to_end(run_cli, tmp_path):
    r = run_cli("run", study_dir("zenoti", tmp_path), "--out", tmp_path / "reports", "--quiet")
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path / "reports" / "zenoti" / "index.html").exists()
