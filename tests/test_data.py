"""The data contract: formats read, every validation rule and its message, personal data dropped."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.inputs import data
from analysis.errors import InputError
from analysis.inputs.study import load_study

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SAMPLE = ROOT / "data" / "sample"

VISITS = "client_id,date,amount\nc1,2024-01-03,1500\nc2,2024-01-05,900\n"


def make(tmp_path: Path, files: dict, study: str = "name: T\n") -> Path:
    d = tmp_path / "study"
    d.mkdir(parents=True)
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


# --------------------------------------------------------------------------- issue 10: real exports

def notes_of(t, code):
    return [n for n in t.notes if n.code == code]


def test_status_words_mapped_in_study_yaml(tmp_path):
    d = make(tmp_path, {"visits.csv": "client_id,date,amount,status\nc1,2024-01-03,100,Визит состоялся\n"
                                      "c2,2024-01-04,,Гость не дошёл\nc3,2024-01-05,,Перенос\n"},
             "name: T\ndata:\n  visits:\n    values:\n      status: {Визит состоялся: done, гость НЕ дошёл: no_show,"
             " Перенос: cancelled}\n")
    v = load(d).visits
    assert v["status"].tolist() == ["done", "no_show", "cancelled"]


def test_unknown_status_words_listed_with_the_mapping_to_add(tmp_path):
    d = make(tmp_path, {"visits.csv": "client_id,date,amount,status\nc1,2024-01-03,100,Клиент пришел\n"
                                      "c2,2024-01-04,100,Ожидание клиента\nc3,2024-01-05,100,Ожидание клиента\n"
                                      "c4,2024-01-06,100,Подтвердил\n"})
    p = one(d, "status not understood")  # YCLIENTS' words need its preset or a mapping
    assert p.column == "status" and p.rows == (2, 3, 4, 5) and p.count == 4
    assert "'Ожидание клиента' (2)" in p.message and "'Клиент пришел' (1)" in p.message and "'Подтвердил' (1)" in p.message
    assert 'data: {visits: {values: {status: {"Ожидание клиента": <done|cancelled|no_show>' in p.message


def test_value_mapping_renames_categories_and_checks_targets(tmp_path):
    d = make(tmp_path, {"visits.csv": "client_id,date,amount,block\nc1,2024-01-03,100,Парикмахерский зал\n"
                                      "c2,2024-01-04,100,Ногти\n"},
             "name: T\ndata:\n  visits:\n    values:\n      block: {Парикмахерский зал: hair}\n")
    assert load(d).visits["block"].tolist() == ["hair", "Ногти"]
    bad = make(tmp_path / "b", {"visits.csv": VISITS},
               "name: T\ndata:\n  visits:\n    values:\n      status: {Пришел: came}\n      amount: {x: 1}\n")
    msgs = [str(p) for p in problems(bad)]
    assert any("data.visits.values.status" in m and "'came'" in m and "done, cancelled, no_show" in m for m in msgs)
    assert any("'amount' is not a categorical column" in m for m in msgs)


def test_exact_duplicates_warned_and_dropped_on_request(tmp_path):
    rows = "client_id,date,amount\nc1,2024-01-03,1500\nc1,2024-01-03,1500\nc2,2024-01-05,900\nc1,2024-01-03,1500\n"
    t = load(make(tmp_path, {"visits.csv": rows}))
    assert len(t.visits) == 4 and t.visits["amount"].sum() == 5400  # kept: nothing changes silently
    (note,) = notes_of(t, "data.duplicates_kept")
    assert note.n == 2 and note.level == "warning" and note.fields["rows"] == "3, 5"
    t = load(make(tmp_path / "d", {"visits.csv": rows}, "name: T\ndata:\n  visits:\n    duplicates: drop\n"))
    assert len(t.visits) == 2 and t.visits["amount"].sum() == 2400
    assert notes_of(t, "data.duplicates_dropped")[0].n == 2
    ids = "visit_id,client_id,date,amount\nv1,c1,2024-01-03,1500\nv2,c1,2024-01-03,1500\n"
    assert not load(make(tmp_path / "i", {"visits.csv": ids})).notes  # visit ids tell two services apart


def test_ambiguous_day_month_order_is_a_warning_naming_both_readings(tmp_path):
    t = load(make(tmp_path, {"visits.csv": "client_id,date,amount\nc1,01/02/2024,10\nc2,03/03/2024,10\n"
                                           "c3,05/04/2024,10\n"}))
    assert t.visits["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-02-01", "2024-03-03", "2024-04-05"]
    (note,) = notes_of(t, "data.dates_ambiguous")
    assert note.level == "warning" and note.n == 2
    assert note.fields["example"] == "01/02/2024"
    assert (note.fields["day_first"], note.fields["month_first"]) == ("2024-02-01", "2024-01-02")
    from analysis.pages.words import note_text

    assert 'date_format: "%m/%d/%Y"' in note_text(note, "en")


def test_date_format_setting_reads_month_first(tmp_path):
    d = make(tmp_path, {"visits.csv": "client_id,date,amount\nc1,01/02/2024 10:30,10\nc2,12/31/2024,10\n"},
             'name: T\ndata:\n  visits:\n    date_format: "%m/%d/%Y"\n')
    t = load(d)
    assert t.visits["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-02", "2024-12-31"] and not t.notes
    bad = make(tmp_path / "b", {"visits.csv": "client_id,date,amount\nc1,2024-01-02,10\n"},
               'name: T\ndata:\n  visits:\n    date_format: "%m/%d/%Y"\n')
    p = one(bad, "dates not understood")
    assert "%m/%d/%Y" in p.message and p.rows == (2,)


def test_month_first_when_day_first_is_impossible_with_a_note(tmp_path):
    t = load(make(tmp_path, {"visits.csv": "client_id,date,amount\nc1,01/02/2024,10\nc2,12/31/2024,10\n"}))
    assert t.visits["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-02", "2024-12-31"]
    assert notes_of(t, "data.dates_month_first")[0].n == 2
    # the contract's dd.mm.yyyy is never questioned
    assert not load(make(tmp_path / "r", {"visits.csv": "client_id,date,amount\nc1,01.02.2024,10\n"})).notes


@pytest.mark.parametrize("value", ["NaN", "nan", "inf", "-inf", "Infinity"])
def test_non_finite_amounts_are_problems(tmp_path, value):
    d = make(tmp_path, {"visits.csv": f"client_id,date,amount\nc1,2024-01-03,100\nc2,2024-01-04,{value}\n"})
    msgs = [p for p in problems(d) if p.column == "amount"]
    assert msgs and msgs[0].rows == (3,) and msgs[0].count == 1, [str(p) for p in msgs]


def test_infinite_amount_in_parquet_is_a_problem(tmp_path):
    d = make(tmp_path, {})
    pd.DataFrame({"client_id": ["c1", "c2"], "date": pd.to_datetime(["2024-01-03", "2024-01-04"]),
                  "amount": [100.0, np.inf]}).to_parquet(d / "visits.parquet")
    p = one(d, "infinite")
    assert p.column == "amount" and p.rows == (3,)


@pytest.mark.parametrize("header", ["client_id,date,amount,amount", "client_id,date,Amount,amount "])
def test_repeated_column_is_a_problem_not_a_guess(tmp_path, header):
    d = make(tmp_path, {"visits.csv": f"{header}\nc1,2024-01-03,100,200\n"})
    p = one(d, "columns would be read as 'amount'")
    assert p.column == "amount" and "(column 3)" in p.message and "(column 4)" in p.message


def test_repeated_column_in_xlsx_is_a_problem(tmp_path):
    from openpyxl import Workbook

    d = make(tmp_path, {})
    wb = Workbook()
    wb.active.append(["Клиент", "Дата", "Сумма", "Сумма"])
    wb.active.append(["c1", "03.01.2024", "100", "90"])
    wb.save(d / "visits.xlsx")
    (d / "study.yaml").write_text("name: T\ndata:\n  visits:\n    columns: {Клиент: client_id, Дата: date, "
                                  "Сумма: amount}\n", encoding="utf-8")
    assert "2 columns would be read as 'amount'" in one(d, "columns would be read").message


def test_refunds_rejected_by_default_with_the_option_named(tmp_path):
    d = make(tmp_path, {"visits.csv": "client_id,date,amount\nc1,2024-01-03,1000\nc1,2024-03-01,-300\n"})
    p = one(d, "negative amounts")
    assert "refunds: net" in p.message and p.rows == (3,)


def test_refunds_netted_against_the_clients_latest_visits(tmp_path):
    rows = ("client_id,date,amount,service\nc1,2024-01-03,1000,cut\nc1,2024-02-01,500,colour\n"
            "c1,2024-02-10,400,cut\nc1,2024-03-01,-300,colour\nc2,2024-01-05,700,cut\nc1,2024-03-02,-600,cut\n"
            "c1,2024-04-01,900,cut\n")
    t = load(make(tmp_path, {"visits.csv": rows}, "name: T\ndata:\n  visits:\n    refunds: net\n"))
    v = t.visits
    # colour refund 300 comes off the colour visit (500 -> 200); the cut refund 600 off the latest cut
    # on or before its date (400 -> 0), then the next (1000 -> 800); the April visit is untouched.
    assert v["amount"].tolist() == [800.0, 200.0, 0.0, 700.0, 900.0]
    assert (v["amount"] >= 0).all() and v["amount"].sum() == 3500 - 900
    (note,) = notes_of(t, "data.refunds_netted")
    assert note.n == 2 and note.fields["total"] == 900
    over = make(tmp_path / "o", {"visits.csv": "client_id,date,amount\nc1,2024-01-03,100\nc1,2024-01-04,-300\n"},
                "name: T\ndata:\n  visits:\n    refunds: net\n")
    assert one(over, "refunds larger").rows == (3,)


def test_zero_amount_visits_kept_noted_and_left_out_of_spend(tmp_path):
    rows = "client_id,date,amount,status\nc1,2024-01-03,0,done\nc1,2024-02-03,1000,done\nc2,2024-01-05,0,done\n" \
           "c2,2024-01-06,,cancelled\n"
    t = load(make(tmp_path, {"visits.csv": rows}))
    assert len(t.visits) == 4
    (note,) = notes_of(t, "data.zero_amount")
    assert note.n == 2 and note.fields["done"] == 3
    assert data.spend_mask(t.visits).tolist() == [False, True, False, False]


@pytest.mark.parametrize("column, value", [("service", "Стрижка +7 916 123-45-67"), ("block", "anna@salon.ru"),
                                           ("service", "89161234567")])
def test_personal_values_in_categories_are_problems(tmp_path, column, value):
    d = make(tmp_path, {"visits.csv": f"client_id,date,amount,{column}\nc1,2024-01-03,100,Маникюр 2 в 1\n"
                                      f"c2,2024-01-04,100,{value}\n"})
    p = one(d, "look like a phone number or an e-mail")
    assert p.column == column and p.rows == (3,) and "mask_personal_values" in p.message


def test_personal_values_masked_when_the_study_says_so(tmp_path):
    d = make(tmp_path, {"visits.csv": "client_id,date,amount,service\nc1,2024-01-03,100,Маникюр 2 в 1\n"
                                      "c2,2024-01-04,100,Стрижка +7 916 123-45-67\n"},
             "name: T\ndata:\n  mask_personal_values: true\n")
    t = load(d)
    s = t.visits["service"].tolist()
    assert s[0] == "Маникюр 2 в 1" and s[1].startswith("masked-") and "916" not in s[1]
    assert notes_of(t, "data.personal_values_masked")[0].n == 1
    assert "must be true or false" in one(make(tmp_path / "b", {"visits.csv": VISITS},
                                               "name: T\ndata:\n  mask_personal_values: maybe\n"),
                                          "true or false").message


def test_empty_optional_file_is_skipped_with_a_note(tmp_path):
    t = load(make(tmp_path, {"visits.csv": VISITS, "clients.csv": "client_id,first_visit,channel\n",
                             "memberships.csv": ""}))
    assert t.clients is None and t.memberships is None
    assert sorted(n.fields["table"] for n in notes_of(t, "data.optional_empty")) == ["clients", "memberships"]


@pytest.mark.parametrize("when, fragment", [("2023-12-01", "on or before the first visit in the data (2024-01-03)"),
                                            ("2024-01-03", "on or before the first visit"),
                                            ("2024-02-01", "after the last visit in the data (2024-01-05)")])
def test_date_settings_checked_against_the_data(tmp_path, when, fragment):
    d = make(tmp_path, {"visits.csv": VISITS}, f"name: T\nretention:\n  calibration_end: {when}\n")
    study = load_study(d)
    (p,) = data.check_settings(study, data.load_tables(study))
    assert p.where == "study.yaml: retention.calibration_end" and fragment in p.message
    ok = make(tmp_path / "ok", {"visits.csv": VISITS}, "name: T\nretention:\n  calibration_end: 2024-01-04\n")
    assert data.check_settings(load_study(ok), load(ok)) == []


def test_check_command_refuses_a_calibration_end_outside_the_data(run_cli, tmp_path):
    d = make(tmp_path, {"visits.csv": VISITS}, "name: T\nretention:\n  calibration_end: 2023-06-30\n")
    r = run_cli("check", d)
    assert r.returncode == 2 and "retention.calibration_end" in r.stderr and "Traceback" not in r.stderr


def test_notes_survive_the_cache(tmp_path):
    t = load(make(tmp_path, {"visits.csv": "client_id,date,amount\nc1,2024-01-03,0\nc2,2024-01-04,100\n"}))
    data.write_cache(t, tmp_path / "cache")
    back = data.read_cache(tmp_path / "cache")
    assert [(n.code, n.n, dict(n.fields)) for n in back.notes] == [(n.code, n.n, dict(n.fields)) for n in t.notes]
    assert "notes" in data.summarize(back)


def test_cp1251_bytes_that_are_also_valid_utf8(tmp_path):
    # "Жё" in Windows-1251 is the UTF-8 encoding of "Ƹ"; found by the property test above
    d = make(tmp_path, {"visits.csv": "client_id,date,amount\nЖё,01.01.2024,1\nc2,02.01.2024,2\n".encode("cp1251")})
    assert load(d).visits["client_id"].tolist() == ["Жё", "c2"]
    assert load(make(tmp_path / "u", {"visits.csv": "client_id,date,amount\nŁukasz,01.01.2024,1\n"})).visits[
        "client_id"].tolist() == ["Łukasz"]


@pytest.mark.parametrize("value, personal", [
    ("+7 916 123-45-67", True), ("8 (916) 123-45-67", True), ("89161234567", True), ("(555) 123-4567", True),
    ("555-123-4567", True), ("+44 7700 900123", True), ("anna.k@salon.ru", True),
    ("Абонемент 10 занятий 2024-2025", False), ("Маникюр 2 в 1", False), ("Стрижка 45 мин", False),
    ("Курс 12 процедур", False), ("Окрашивание AirTouch", False)])
def test_looks_personal(value, personal):
    assert data.looks_personal(pd.Series([value])).tolist() == [personal]


def test_yes_no_words_survive_yaml(tmp_path):
    d = make(tmp_path, {"visits.csv": "client_id,date,amount,status\nc1,2024-01-03,100,Yes\nc2,2024-01-04,,No\n"},
             "name: T\ndata:\n  visits:\n    values:\n      status: {Yes: done, No: no_show}\n")
    assert load(d).visits["status"].tolist() == ["done", "no_show"]


# --------------------------------------------------------------------------- large exports
# Columns are read as categories and converted on their distinct values (data._distinct); these
# tests hold that path to the plain one: the same tables, the same problems and notes, row by row.


def _as_plain(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c: "str" for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)})


def _convert_both_ways(text: str, table: str = "visits", spec=None, values=None):
    raw = pd.read_csv(__import__("io").StringIO(text), dtype=str, keep_default_na=False)
    rows = np.arange(len(raw)) + 2
    cats = raw.astype("category")
    got = data._convert(cats.copy(), table, "visits.csv", rows, spec, values)
    want = data._convert(raw.copy(), table, "visits.csv", rows, spec, values)
    return got, want


VISITS_WITH_PROBLEMS = (
    "client_id,date,amount,status,service,block,visit_id\n"
    "c1,03/04/2024,1500,done,Cut,hair,v1\n"
    "c2,05/04/2024,abc,пришел,Cut,hair,v2\n"
    "c1,03/04/2024,-5,wat,Colour,hair,v3\n"
    "c3,,inf,done,Call +7 916 123-45-67,hair,v3\n"
    ",07/04/2024,1 500,отмена,Cut,nails,v4\n"
    "c4,03/04/2024,,Неявка,Cut,,v5\n"
)


def test_categories_give_the_same_problems_notes_and_tables_as_text():
    (g_df, g_rows, g_problems, g_notes), (w_df, w_rows, w_problems, w_notes) = _convert_both_ways(
        VISITS_WITH_PROBLEMS)
    assert g_problems == w_problems
    assert len(w_problems) >= 6   # not a number, negative, non-finite, status, empty id, empty date, personal …
    assert g_notes == w_notes
    np.testing.assert_array_equal(g_rows, w_rows)
    pd.testing.assert_frame_equal(_as_plain(g_df), _as_plain(w_df))


def test_ambiguous_date_note_counts_rows_not_distinct_dates():
    """Three rows share one ambiguous date: the note says 3 (rows), with the first row's value."""
    text = ("client_id,date,amount\nc1,05/04/2024,1\nc2,03/04/2024,1\nc3,05/04/2024,1\nc4,05/04/2024,1\n"
            "c5,10/04/2024,1\n")
    (_, _, g_problems, g_notes), (_, _, w_problems, w_notes) = _convert_both_ways(text)
    assert not g_problems and not w_problems
    assert g_notes == w_notes
    (note,) = [n for n in g_notes if n.code == "data.dates_ambiguous"]
    assert note.n == 5 and note.fields["example"] == "05/04/2024"


def test_month_first_note_counts_rows():
    text = "client_id,date,amount\nc1,04/13/2024,1\nc2,04/13/2024,1\nc3,05/01/2024,1\n"
    (_, _, _, g_notes), (_, _, _, w_notes) = _convert_both_ways(text)
    assert g_notes == w_notes
    (note,) = [n for n in g_notes if n.code == "data.dates_month_first"]
    assert note.n == 3 and note.fields["example"] == "04/13/2024"


def test_value_words_renamed_on_categories():
    text = "client_id,date,amount,block\nc1,2024-01-01,1,Волосы\nc2,2024-01-02,1,Ногти\nc3,2024-01-03,1,волосы\n"
    values = {"block": {"волосы": "hair", "ногти": "nails"}}
    (g_df, _, g_p, _), (w_df, _, w_p, _) = _convert_both_ways(text, values=values)
    assert g_p == w_p == []
    assert list(g_df["block"]) == list(w_df["block"]) == ["hair", "nails", "hair"]


def test_a_large_export_is_read_with_categories_and_plain_ids(tmp_path):
    """The reader's types: repeated texts as categories, client and visit ids as text; the tidy
    tables keep the contract's types."""
    body = "".join(f"V{i},C{i % 7},2024-01-{1 + i % 28:02d},{100 + i % 5},hair,done\n" for i in range(200))
    d = make(tmp_path, {"visits.csv": "visit_id,client_id,date,amount,block,status\n" + body})
    raw, rows, probs = data._read_any(d / "visits.csv", "visits.csv", None, data._expected_headers("visits", {}),
                                      data._category_headers("visits", {}))
    assert not probs and len(raw) == 200 and rows[0] == 2
    assert isinstance(raw["date"].dtype, pd.CategoricalDtype) and isinstance(raw["block"].dtype, pd.CategoricalDtype)
    assert not isinstance(raw["client_id"].dtype, pd.CategoricalDtype)
    assert not isinstance(raw["visit_id"].dtype, pd.CategoricalDtype)
    v = load(d).visits
    assert v["date"].dtype == "datetime64[ns]" and v["amount"].dtype == "float64"
    assert v["block"].dtype == pd.Series(["x"]).dtype and v["amount"].sum() == sum(100 + i % 5 for i in range(200))


def test_duplicate_visit_ids_found_by_sorting(tmp_path):
    d = make(tmp_path, {"visits.csv": "visit_id,client_id,date,amount\nv2,c1,2024-01-01,1\nv1,c1,2024-01-02,1\n"
                                      "v3,c2,2024-01-02,1\nv1,c3,2024-01-03,1\n"})
    (p,) = problems(d)
    assert p.column == "visit_id" and p.rows == (3, 5) and p.count == 2
    np.testing.assert_array_equal(data._repeated(pd.Series(["a", None, "b", None])), [False] * 4)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["a,b", "a,b,c", "", "\r", "x", ",,,", "y;z"]), max_size=30),
       st.booleans(), st.integers(1, 12))
def test_fields_counted_in_pieces_as_in_one(lines, trailing_newline, chunk):
    text = "\n".join(lines) + ("\n" if trailing_newline else "")
    body = text.encode()
    whole_no, whole_n = data._line_fields(body, ",", chunk=1 << 30)
    piece_no, piece_n = data._line_fields(body, ",", chunk=chunk)
    np.testing.assert_array_equal(piece_no, whole_no)
    np.testing.assert_array_equal(piece_n, whole_n)
    split = body.split(b"\n")
    if trailing_newline and split and split[-1] == b"":
        split = split[:-1]
    expect = [(i + 1, ln.count(b",") + 1) for i, ln in enumerate(split) if ln.rstrip(b"\r") != b""]
    assert list(zip(whole_no.tolist(), whole_n.tolist())) == expect


def test_a_missing_visits_file_message_names_every_accepted_extension(tmp_path):
    # the message said "visits.csv, visits.xlsx or visits.parquet" though .tsv and .txt are read too
    from analysis.inputs import data as data_mod
    from analysis.inputs.study import load_study

    (tmp_path / "study.yaml").write_text("name: t\ncurrency: RUB\n", encoding="utf-8")
    study = load_study(tmp_path)
    with pytest.raises(Exception) as err:
        data_mod.load_tables(study)
    text = str(err.value)
    for ext in data_mod.EXTENSIONS:
        assert f"visits{ext}" in text, (ext, text)
