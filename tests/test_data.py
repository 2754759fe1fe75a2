"""The data contract: formats read, every validation rule and its message, personal data dropped."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import data
from analysis.errors import InputError
from analysis.study import load_study

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SAMPLE = ROOT / "data" / "sample"

VISITS = "client_id,date,amount\nc1,2024-01-03,1500\nc2,2024-01-05,900\n"


def make(tmp_path: Path, files: dict, study: str = "name: T\n") -> Path:
    d = tmp_path / "study"
    d.mkdir()
    (d / "study.yaml").write_text(study, encoding="utf-8")
    for name, content in files.items():
        p = d / name
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    return d


def load(d: Path) -> data.Tables:
    return data.load_tables(load_study(d))


def problems(d: Path):
    with pytest.raises(InputError) as exc:
        load(d)
    return exc.value.problems


def one(d: Path, fragment: str):
    """The single problem whose message contains ``fragment``."""
    found = [p for p in problems(d) if fragment in p.message]
    assert len(found) == 1, [str(p) for p in problems(d)]
    return found[0]


# --------------------------------------------------------------------------- validation rules

CASES = [
    # id, files, study.yaml, message fragment, where, column, rows, count
    ("required file missing", {}, "name: T\n", "required file not found", "visits.csv", None, (), 0),
    ("empty file", {"visits.csv": ""}, None, "file is empty", "visits.csv", None, (), 0),
    ("header only", {"visits.csv": "client_id,date,amount\n"}, None, "has a header but no rows",
     "visits.csv", None, (), 0),
    ("required column missing", {"visits.csv": "client_id,date\nc1,2024-01-01\n"}, None,
     "required column 'amount' missing. Columns found: client_id, date", "visits.csv", "amount", (), 0),
    ("unparseable dates", {"visits.csv": "client_id,date,amount\nc1,2024-01-03,10\nc2,31.31.2024,10\n"
                           "c3,yesterday,5\n"}, None, "dates not understood: '31.31.2024', 'yesterday'",
     "visits.csv", "date", (3, 4), 2),
    ("empty date", {"visits.csv": "client_id,date,amount\nc1,,10\n"}, None, "empty date", "visits.csv",
     "date", (2,), 1),
    ("non-numeric amounts", {"visits.csv": "client_id,date,amount\nc1,2024-01-03,12O0\nc2,2024-01-03,5\n"},
     None, "not a number: '12O0'", "visits.csv", "amount", (2,), 1),
    ("negative amounts", {"visits.csv": "client_id,date,amount\nc1,2024-01-03,10\nc2,2024-01-03,-5\n"},
     None, "negative amounts are not allowed", "visits.csv", "amount", (3,), 1),
    ("empty amount", {"visits.csv": "client_id,date,amount\nc1,2024-01-03,\n"}, None, "empty amount",
     "visits.csv", "amount", (2,), 1),
    ("empty client ids", {"visits.csv": "client_id,date,amount\n,2024-01-03,10\nc2,2024-01-03,5\n"
                          "  ,2024-01-04,7\n"}, None, "empty client id", "visits.csv", "client_id", (2, 4), 2),
    ("duplicate visit ids", {"visits.csv": "visit_id,client_id,date,amount\nv1,c1,2024-01-03,10\n"
                             "v2,c1,2024-01-04,10\nv1,c2,2024-01-05,10\n"}, None, "duplicate visit ids: 'v1'",
     "visits.csv", "visit_id", (2, 4), 2),
    ("unknown specialist", {"visits.csv": "client_id,date,amount,specialist_id\nc1,2024-01-03,10,s1\n"
                            "c2,2024-01-03,10,s9\n", "staff.csv": "specialist_id,block\ns1,hair\n"}, None,
     "specialists not in staff.csv: 's9'", "visits.csv", "specialist_id", (3,), 1),
    ("unknown service", {"visits.csv": "client_id,date,amount,service\nc1,2024-01-03,10,Cut\n"
                         "c2,2024-01-03,10,Perm\n", "services.csv": "service,block,price\nCut,hair,1000\n"},
     None, "services not in services.csv: 'Perm'", "visits.csv", "service", (3,), 1),
    ("left before hired", {"visits.csv": VISITS, "staff.csv": "specialist_id,block,hired,left\n"
                           "s1,hair,2023-05-01,2023-04-01\ns2,hair,2023-01-01,\n"}, None,
     "'left' is before 'hired'", "staff.csv", "left", (2,), 1),
    ("membership end before start", {"visits.csv": VISITS, "memberships.csv": "client_id,start,end\n"
                                     "c1,2024-01-01,2023-12-01\nc2,2024-01-01,\n"}, None,
     "membership 'end' is before 'start'", "memberships.csv", "end", (2,), 1),
    ("binary garbage", {"visits.csv": bytes(range(256)) * 8}, None, "binary content", "visits.csv", None,
     (), 0),
    ("corrupt xlsx", {"visits.xlsx": b"PK\x03\x04" + b"\x00garbage" * 50}, None,
     "cannot be read as an Excel workbook", "visits.xlsx", None, (), 0),
    ("wrong number of fields", {"visits.csv": "client_id,date,amount\nc1,2024-01-03,10\n"
                                "c2,2024-01-03,10,extra\nc3,2024-01-04\n"}, None,
     "wrong number of fields: the header has 3", "visits.csv", None, (3, 4), 2),
    ("mapped file missing", {}, "data:\n  visits:\n    file: export.csv\n", "mapped file 'export.csv' not found",
     "study.yaml: data.visits.file", None, (), 0),
    ("mapped column absent", {"export.csv": "Клиент;Сумма\nc1;10\n"},
     "data:\n  visits:\n    file: export.csv\n    columns: {Дата: date, Клиент: client_id, Сумма: amount}\n",
     "mapped column 'Дата' (-> date) not found. Columns in the file: Клиент, Сумма", "export.csv", "Дата", (), 0),
    ("mapping to an unknown column", {"visits.csv": VISITS},
     "data:\n  visits:\n    columns: {Дата: datum}\n", "maps 'Дата' to 'datum', which is not a column of visits",
     "study.yaml: data.visits.columns", None, (), 0),
    ("unknown status", {"visits.csv": "client_id,date,amount,status\nc1,2024-01-03,10,done\n"
                        "c2,2024-01-03,10,maybe\n"}, None, "status not understood: 'maybe'", "visits.csv",
     "status", (3,), 1),
    ("commission as a percent number", {"visits.csv": VISITS, "staff.csv": "specialist_id,block,commission_rate\n"
                                        "s1,hair,40\ns2,hair,45%\n"}, None, "must be a fraction between 0 and 1",
     "staff.csv", "commission_rate", (2,), 1),
    ("two files for one table", {"visits.csv": VISITS, "visits.parquet": b"PAR1"}, None,
     "several files for visits", "visits.csv", None, (), 0),
    ("corrupt parquet", {"visits.parquet": b"PAR1" + b"junk" * 20}, None, "cannot be read as Parquet",
     "visits.parquet", None, (), 0),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_each_rule_reports_its_message(tmp_path, case):
    _, files, study, fragment, where, column, rows, count = case
    d = make(tmp_path, files, study or "name: T\n")
    p = one(d, fragment)
    assert p.where == where
    assert p.column == column
    assert p.rows == rows
    assert p.count == count


def test_study_folder_missing(tmp_path):
    d = make(tmp_path, {"visits.csv": VISITS})
    study = load_study(d)
    shutil.rmtree(d)
    with pytest.raises(InputError, match="study folder not found"):
        data.load_tables(study)


def test_all_problems_are_reported_together(tmp_path):
    d = make(tmp_path, {
        "visits.csv": "visit_id,client_id,date,amount,specialist_id\nv1,c1,2024-01-03,10,s1\n"
                      "v1,,2024-02-30,-1,s7\n",
        "staff.csv": "specialist_id,block,hired,left\ns1,hair,2024-01-01,2023-01-01\n",
        "memberships.csv": "client_id,start\n",  # an empty optional table is a note, not a problem
    })
    msgs = [str(p) for p in problems(d)]
    assert not any("memberships" in m for m in msgs), msgs
    for fragment in ("duplicate visit ids", "empty client id", "dates not understood", "negative amounts",
                     "'left' is before 'hired'", "specialists not in staff.csv"):
        assert any(fragment in m for m in msgs), (fragment, msgs)


def test_row_numbers_count_the_header_and_blank_lines(tmp_path):
    d = make(tmp_path, {"visits.csv": "client_id,date,amount\nc1,2024-01-03,10\n\nc2,2024-01-03,x\n"})
    assert one(d, "not a number").rows == (4,)


def test_row_numbers_with_quoted_fields(tmp_path):
    d = make(tmp_path, {"visits.csv": 'client_id,date,amount\n"c1","2024-01-03","1,500.00"\n'
                                      '"c,2","2024-01-03","x"\n'})
    assert one(d, "not a number").rows == (3,)


def test_problem_text_names_file_column_rows(tmp_path):
    d = make(tmp_path, {"visits.csv": "client_id,date,amount\n" + "c,2024-01-01,x\n" * 8})
    text = str(one(d, "not a number"))
    assert text.startswith("visits.csv, column 'amount': not a number: 'x'.")
    assert "rows 2, 3, 4, 5, 6 (8 rows in all)" in text


# --------------------------------------------------------------------------- formats


def test_cp1251_semicolon_export_with_russian_headers_mapped():
    t = load(FIXTURES / "cp1251_export")
    v = t.visits
    assert list(v.columns) == ["client_id", "date", "service", "block", "specialist_id", "amount", "status"]
    assert v["amount"].tolist() == [1500.0, 1800.5, 6500.0, 0.0, 0.0, 1500.0]
    assert v["status"].tolist() == ["done", "done", "done", "cancelled", "no_show", "done"]
    assert v["date"].iloc[2] == pd.Timestamp("2024-01-12")
    assert v["client_id"].iloc[0] == "1001"
    assert set(t.dropped["visits"]) == {"ФИО клиента", "Телефон"}


def test_xlsx_export_on_a_named_sheet():
    t = load(FIXTURES / "xlsx_export")
    v = t.visits
    assert v["client_id"].tolist() == ["501", "502", "501", "503"]
    assert v["amount"].tolist() == [2500.0, 1800.0, 3100.5, 1200.0]
    assert v["date"].iloc[0] == pd.Timestamp("2024-03-01")
    assert "Имя" in t.dropped["visits"] and "E-mail" in t.dropped["visits"]


def test_xlsx_missing_sheet(tmp_path):
    d = make(tmp_path, {}, "data:\n  visits:\n    file: v.xlsx\n    sheet: Nope\n")
    shutil.copy(FIXTURES / "xlsx_export" / "visits_export.xlsx", d / "v.xlsx")
    assert one(d, "sheet 'Nope' not found").where == "v.xlsx"


def test_parquet_with_native_types(tmp_path):
    d = make(tmp_path, {})
    pd.DataFrame({"client_id": [1, 2], "date": pd.to_datetime(["2024-01-01 10:30", "2024-01-02 00:00"]),
                  "amount": [100, 250.5]}).to_parquet(d / "visits.parquet")
    v = load(d).visits
    assert v["client_id"].tolist() == ["1", "2"]
    assert v["date"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")]
    assert v["amount"].dtype == np.float64


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251", "utf-16"])
@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_encodings_and_separators(tmp_path, encoding, sep):
    rows = [["Клиент", "date", "amount"], ["Ёлка", "30.06.2024", "1 500,00" if sep != "," else "1500.00"],
            ["Вера", "2024-07-01", "2\u00a0000,5" if sep != "," else "2000.5"]]
    text = "\n".join(sep.join(r) for r in rows) + "\n"
    d = make(tmp_path, {"visits.csv": text.encode(encoding)}, "data:\n  visits:\n    columns: {Клиент: client_id}\n")
    v = load(d).visits
    assert v["client_id"].tolist() == ["Ёлка", "Вера"]
    assert v["amount"].tolist() == [1500.0, 2000.5]
    assert v["date"].tolist() == [pd.Timestamp("2024-06-30"), pd.Timestamp("2024-07-01")]


@pytest.mark.parametrize("raw, value", [("1 500,00", 1500.0), ("1\u00a0500,00", 1500.0), ("1500", 1500.0),
                                        ("1,500.00", 1500.0), ("1.500,25", 1500.25), ("12,5", 12.5),
                                        ("1 500 ₽", 1500.0), ("−3", -3.0), ("40%", 0.4)])
def test_number_formats(raw, value):
    v, empty, bad = data._to_number(pd.Series([raw]))
    assert not bad[0] and v.iloc[0] == pytest.approx(value)


def test_comma_alone_is_thousands_unless_the_column_uses_decimal_commas():
    v, _, _ = data._to_number(pd.Series(["1,500", "2,000,000", "700"]))
    assert v.tolist() == [1500.0, 2000000.0, 700.0]
    v, _, _ = data._to_number(pd.Series(["1,500", "12,5"]))
    assert v.tolist() == [1.5, 12.5]


@pytest.mark.parametrize("raw", ["2024-06-30", "30.06.2024", "30.06.2024 14:45", "2024-06-30T09:00:00",
                                 "30/06/2024", "2024-06-30 00:00:00"])
def test_date_formats(raw):
    d, empty, bad, _ = data._to_date(pd.Series([raw, "2024-01-01"]))
    assert not bad.any() and d.iloc[0] == pd.Timestamp("2024-06-30")


def test_status_words_in_russian_and_english():
    s, bad = data._status(pd.Series(["Пришел", "пришла", "Выполнен", "Отменен", "отмена", "Неявка",
                                     "не пришел", "Cancelled", "no-show", "", "Completed"]))
    assert not bad.any()
    assert s.tolist() == ["done", "done", "done", "cancelled", "cancelled", "no_show", "no_show",
                          "cancelled", "no_show", "done", "done"]


def test_cancelled_and_no_show_keep_their_rows_with_zero_amount(tmp_path):
    d = make(tmp_path, {"visits.csv": "client_id,date,amount,status,consumables_cost\n"
                                      "c1,2024-01-03,1000,done,100\nc1,2024-01-04,1000,cancelled,100\n"
                                      "c1,2024-01-05,,no_show,\n"})
    v = load(d).visits
    assert v["amount"].tolist() == [1000.0, 0.0, 0.0]
    assert v["consumables_cost"].tolist() == [100.0, 0.0, 0.0]
    assert v["status"].tolist() == ["done", "cancelled", "no_show"]


def test_headers_match_case_insensitively_and_status_defaults_to_done(tmp_path):
    d = make(tmp_path, {"visits.csv": "Client_ID,Date,AMOUNT,Specialist ID\nc1,2024-01-03,10,s1\n"})
    v = load(d).visits
    assert list(v.columns) == ["client_id", "date", "specialist_id", "amount", "status"]
    assert v["status"].tolist() == ["done"]


def test_block_is_filled_from_services(tmp_path):
    d = make(tmp_path, {"visits.csv": "client_id,date,amount,service\nc1,2024-01-03,10,Cut\n",
                        "services.csv": "service,block,price\nCut,hair,1000\n"})
    assert load(d).visits["block"].tolist() == ["hair"]


# --------------------------------------------------------------------------- personal data


@pytest.mark.parametrize("header", ["name", "Name", "client name", "first_name", "Surname", "phone", "Phone number",
                                    "Mobile", "email", "E-mail", "birth_date", "Birthday", "DOB", "address",
                                    "ФИО", "Имя", "Фамилия", "Отчество", "Телефон", "Моб. телефон", "Email",
                                    "Эл. почта", "Дата рождения", "День рождения", "Адрес", "ФИО клиента"])
def test_personal_headers_are_recognised(header):
    assert data.is_personal_column(header)


@pytest.mark.parametrize("header", ["client_id", "date", "amount", "service", "block", "Дата", "Сумма",
                                    "Услуга", "channel", "status"])
def test_ordinary_headers_are_not_personal(header):
    assert not data.is_personal_column(header)


def test_personal_columns_never_reach_the_tables(tmp_path):
    d = make(tmp_path, {
        "visits.csv": "client_id,date,amount,Имя,Телефон\nc1,2024-01-03,10,Анна,+7 900 000-00-00\n",
        "clients.csv": "client_id,ФИО,E-mail,Дата рождения,Адрес,channel\nc1,Анна Смирнова,a@b.ru,01.01.1990,"
                       "Москва,referral\n",
    })
    t = load(d)
    assert list(t.clients.columns) == ["client_id", "channel"]
    assert list(t.visits.columns) == ["client_id", "date", "amount", "status"]
    text = t.visits.to_csv() + t.clients.to_csv()
    assert "Анна" not in text and "+7 900" not in text and "a@b.ru" not in text


def test_a_phone_used_as_client_key_is_pseudonymised(tmp_path):
    d = make(tmp_path, {"visits.csv": "Телефон,date,amount\n+7 900 000-00-01,2024-01-03,10\n"
                                      "+7 900 000-00-01,2024-02-03,10\n+7 900 000-00-02,2024-02-03,10\n"},
             "data:\n  visits:\n    columns: {Телефон: client_id}\n")
    ids = load(d).visits["client_id"]
    assert not ids.str.contains("900").any()
    assert ids.iloc[0] == ids.iloc[1] != ids.iloc[2]


def test_sample_names_and_phones_are_dropped():
    t = load(SAMPLE)
    raw = pd.read_csv(SAMPLE / "clients.csv", dtype=str)
    assert set(t.clients.columns) == {"client_id", "first_visit", "channel"}
    assert {"name", "phone", "birth_date"} <= set(t.dropped["clients"])
    everything = "".join(getattr(t, n).to_csv() for n in data.TABLES if getattr(t, n) is not None)
    assert raw["phone"].iloc[0] not in everything and raw["name"].iloc[0] not in everything


def test_pseudonymize_is_stable_salted_and_short():
    a = data.pseudonymize(pd.Series(["C1", "C2", None, "C1"]), "salt")
    assert a.iloc[0] == a.iloc[3] != a.iloc[1]
    assert pd.isna(a.iloc[2])
    assert a.iloc[0].startswith("c-") and len(a.iloc[0]) == 10
    assert data.pseudonymize(["C1"], "other").iloc[0] != a.iloc[0]
    expected = "c-" + hashlib.sha256("salt\x1fC1".encode()).hexdigest()[:8]
    assert a.iloc[0] == expected


# --------------------------------------------------------------------------- the sample, files, cache


def test_sample_loads_in_the_contract():
    t = load(SAMPLE)
    v = t.visits
    assert v["date"].dtype == "datetime64[ns]"
    assert v["amount"].dtype == np.float64
    assert set(v["status"]) == {"done", "cancelled", "no_show"}
    assert t.has("visits", "block") and t.has("staff", "commission_rate") and t.has("memberships")
    s = data.summarize(t)
    assert s["clients"] == 3000
    assert s["first_date"] == "2023-01-01" and s["last_date"] <= "2024-12-31"
    assert s["blocks"] == ["cosmetology", "fitness", "hair", "nails", "spa"]
    assert 20 <= s["specialists"] <= 30


def _hashes(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("folder", [FIXTURES / "cp1251_export", FIXTURES / "xlsx_export"])
def test_input_files_are_never_modified(tmp_path, folder):
    d = tmp_path / "copy"
    shutil.copytree(folder, d)
    before = _hashes(d)
    load(d)
    assert _hashes(d) == before


def test_input_files_are_never_modified_even_when_invalid(tmp_path):
    d = make(tmp_path, {"visits.csv": "client_id,date,amount\n,bad,-1\n", "staff.csv": "specialist_id\n"})
    before = _hashes(d)
    problems(d)
    assert _hashes(d) == before


def test_input_files_lists_what_the_study_reads():
    files = data.input_files(load_study(FIXTURES / "cp1251_export"))
    assert [p.name for p in files] == ["study.yaml", "Выгрузка визитов.csv"]
    names = {p.name for p in data.input_files(load_study(SAMPLE))}
    assert names == {"study.yaml", "visits.csv", "services.csv", "staff.csv", "clients.csv", "memberships.csv"}


def test_cache_round_trip(tmp_path):
    t = load(FIXTURES / "cp1251_export")
    data.write_cache(t, tmp_path / "cache")
    back = data.read_cache(tmp_path / "cache")
    pd.testing.assert_frame_equal(back.visits, t.visits)
    assert back.services is None and back.dropped == t.dropped


# --------------------------------------------------------------------------- title lines above the header


def test_csv_title_lines_above_the_header_are_skipped(tmp_path):
    text = ("Отчёт по визитам;;\nза период 01.01.2024 - 31.01.2024;;\n\n"
            "Клиент;Дата;Сумма\nc1;05.01.2024;1 500\nc2;06.01.2024;x\n")
    d = make(tmp_path, {"export.csv": text.encode("cp1251")},
             "data:\n  visits:\n    file: export.csv\n    columns: {Клиент: client_id, Дата: date, Сумма: amount}\n")
    p = one(d, "not a number")
    assert p.rows == (6,)  # the header is line 4 of the file
    text_ok = text.replace(";x\n", ";700\n")
    (d / "export.csv").write_bytes(text_ok.encode("cp1251"))
    v = load(d).visits
    assert v["amount"].tolist() == [1500.0, 700.0]


def test_xlsx_title_rows_and_blank_rows_are_skipped(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Отчёт по визитам"])
    ws.append([])
    ws.append(["Клиент", "Дата", "Сумма"])
    ws.append(["c1", "05.01.2024", 1500])
    ws.append([])
    ws.append(["c2", "06.01.2024", "x"])
    d = make(tmp_path, {}, "data:\n  visits:\n    file: v.xlsx\n    columns: {Клиент: client_id, Дата: date, Сумма: amount}\n")
    wb.save(d / "v.xlsx")
    assert one(d, "not a number").rows == (6,)


# --------------------------------------------------------------------------- properties

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.decimals(min_value=0, max_value=10**9, places=2), st.sampled_from([" ", "\u00a0", ""]))
def test_russian_number_format_round_trips(x, group):
    whole, frac = f"{x:.2f}".split(".")
    grouped = f"{int(whole):,}".replace(",", group)
    v, empty, bad = data._to_number(pd.Series([f"{grouped},{frac}"]))
    assert not bad[0] and v.iloc[0] == pytest.approx(float(x), rel=1e-12, abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.text("abcXYZ019_ -ёжЖ", min_size=1, max_size=8).filter(lambda s: s.strip()),
                          st.dates(min_value=pd.Timestamp("2000-01-01").date(), max_value=pd.Timestamp("2025-12-31").date()),
                          st.integers(0, 10**7)), min_size=1, max_size=15),
       st.sampled_from([(",", "."), (";", ","), ("\t", ",")]),
       st.sampled_from(["utf-8", "utf-8-sig", "cp1251"]))
def test_any_written_table_reads_back(tmp_path_factory, rows, style, encoding):
    sep, dec = style
    df = pd.DataFrame(rows, columns=["client_id", "date", "amount"])
    df["amount"] = df["amount"] / 100
    text = df.assign(date=[d.strftime("%d.%m.%Y") for d in df["date"]]).to_csv(index=False, sep=sep, decimal=dec)
    d = tmp_path_factory.mktemp("prop")
    (d / "visits.csv").write_bytes(text.encode(encoding))
    (d / "study.yaml").write_text("name: P\n", encoding="utf-8")
    v = load(d).visits
    assert v["client_id"].tolist() == [s.strip() for s in df["client_id"]]
    assert v["date"].tolist() == [pd.Timestamp(x) for x in df["date"]]
    assert np.allclose(v["amount"], df["amount"])


def test_dates_out_of_range(tmp_path):
    d = make(tmp_path, {"visits.csv": "client_id,date,amount\nc1,2024-01-03,10\nc2,01.01.1900,5\nc3,2224-01-04,7\n"})
    p = one(d, "dates out of range")
    assert (p.column, p.rows, p.count) == ("date", (3, 4), 2)


def test_trailing_total_rows_are_dropped(tmp_path):
    d = make(tmp_path, {"visits.csv": "Клиент;Дата;Сумма\nc1;05.01.2024;1 500\nc2;06.01.2024;700\nИтого;;2 200\n"},
             "data:\n  visits:\n    columns: {Клиент: client_id, Дата: date, Сумма: amount}\n")
    assert load(d).visits["amount"].tolist() == [1500.0, 700.0]
