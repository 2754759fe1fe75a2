"""What ``python -m analysis check`` prints: numbers grouped as the reader writes them, money in the
study's currency, "1 row" / "2 rows", and everything in the study's language (``language: ru``
gets Russian labels, ``name_ru`` and Russian notes)."""
from __future__ import annotations

from analysis.__main__ import main

VISITS = "client_id,date,amount,status\n" + "".join(
    f"c{i % 7},2024-0{1 + i % 9}-1{i % 10},{1000 + 250.5 * i},done\n" for i in range(1200)) \
    + "c1,2024-03-05,0,done\n"


def _study(tmp_path, yaml, visits=VISITS):
    d = tmp_path / "s"
    d.mkdir()
    (d / "visits.csv").write_text(visits, encoding="utf-8")
    (d / "study.yaml").write_text(yaml, encoding="utf-8")
    return d


def _check(capsys, d):
    assert main(["check", str(d)]) == 0
    return capsys.readouterr().out


def test_english_numbers_grouped_money_with_currency(tmp_path, capsys):
    out = _check(capsys, _study(tmp_path, "name: Salon\ncurrency: EUR\nlanguage: en\n"))
    total = sum(1000 + 250.5 * i for i in range(1200))
    assert "Salon: OK" in out
    assert "  rows: 1,201\n" in out and "  visits: 1,201\n" in out
    assert f"  revenue: €{total:,.0f}\n" in out, out
    assert "visits (1,201 rows)" in out
    assert "  first day: 10 Jan 2024\n" in out
    assert "of 1,201 completed visits" in out and "1 of" in out  # the note's counts, grouped
    assert "revenue: 1" not in out.replace(f"€{total:,.0f}", "")  # no raw 180,0000.0


def test_one_row_is_singular(tmp_path, capsys):
    out = _check(capsys, _study(tmp_path, "name: Salon\n", "client_id,date,amount\nc1,2024-01-03,1500\n"))
    assert "visits (1 row)" in out and "(1 rows)" not in out
    assert "  revenue: 1,500\u00a0₽\n" in out


def test_russian_study_gets_russian_lines(tmp_path, capsys):
    out = _check(capsys, _study(tmp_path, "name: Salon\nname_ru: Салон на Лесной\nlanguage: ru\n"))
    assert out.startswith("Салон на Лесной: OK\n")
    assert "  строк: 1\u00a0201\n" in out and "visits (1\u00a0201 строка)" in out
    assert "  первый день: 10.01.2024\n" in out and "  выручка: " in out and "\u00a0₽\n" in out
    assert "  замечания:\n    " in out and "из 1\u00a0201 завершённых визитов" in out
    for english in ("rows:", "revenue", "notes", "first day", "warning"):
        assert english not in out, english
