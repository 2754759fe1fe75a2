"""The HTML around the notebooks: templates with autoescape, words from the catalogues, a portfolio
that never adds up money in different currencies."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis.run import report
from analysis.pages import html as H
from analysis.pages.words import say

COLS = [("summary", "npv_median", "NPV", "NPV", "money"),
        ("data_check", "clients", "Clients", "Клиенты", "num")]


def _run(name, currency, npv, clients, code=0, message=""):
    figures = {"summary": {"npv_median": npv}, "data_check": {"clients": clients}, "_currency": currency}
    return report.StudyRun(Path(name), name, Path("/reports") / name, code, message, {}, figures if code == 0 else {},
                           name)


def _page(tmp_path, runs, lang="en"):
    return H.write_portfolio(tmp_path, runs, lang, COLS).read_text(encoding="utf-8")


def _totals(page):
    foot = re.search(r"<tfoot>(.*?)</tfoot>", page, re.S)
    return [] if foot is None else re.findall(r"<tr class=\"kit-total\">(.*?)</tr>", foot.group(1), re.S)


def test_totals_per_currency_never_across(tmp_path):
    runs = [_run("a", "RUB", 1_000_000, 300), _run("b", "USD", 20_000, 100), _run("c", "RUB", 500_000, 50)]
    page = _page(tmp_path, runs)
    totals = _totals(page)
    assert len(totals) == 2  # one row for RUB, one for USD
    rub = next(t for t in totals if 'data-currency="RUB"' in t)
    usd = next(t for t in totals if 'data-currency="USD"' in t)
    # hand sums: 1,000,000 + 500,000 = 1,500,000 ₽; the USD study alone
    assert "1,500,000\u00a0₽" in rub and "$20,000" in usd
    assert "1,520,000" not in page and "1,020,000" not in page  # no sum across currencies
    assert say("page.portfolio.mixed_currencies", "en", currencies="RUB, USD") in page.replace("&#39;", "'")
    # counts are not money: no total for them
    assert ">350<" not in rub and ">400<" not in page


def test_one_currency_one_totals_row_and_no_note(tmp_path):
    page = _page(tmp_path, [_run("a", "RUB", 1_000_000, 300), _run("b", "RUB", 2_000_000, 10)], "ru")
    totals = _totals(page)
    assert len(totals) == 1 and "3\u00a0000\u00a0000\u00a0₽" in totals[0]
    assert "разных валютах" not in page
    assert say("page.portfolio.count", "ru", n=2) in page


def test_failed_study_keeps_its_row_and_is_not_counted(tmp_path):
    runs = [_run("a", "RUB", 1_000_000, 300), _run("bad", "RUB", None, None, code=2, message="study.yaml: bad")]
    page = _page(tmp_path, runs)
    assert "study.yaml: bad" in page
    assert "Totals in RUB (1 study)" in page


def test_money_sorts_within_a_currency(tmp_path):
    page = _page(tmp_path, [_run("a", "RUB", 1.0, 1), _run("b", "USD", 2.0, 1)])
    assert 'data-c="RUB"' in page and 'data-c="USD"' in page
    assert "cx !== cy" in page  # the sort compares currencies before values


def test_study_names_are_escaped(tmp_path):
    run = _run("x", "RUB", 1.0, 1)
    run.title = '<script>alert("x")</script>'
    page = _page(tmp_path, [run])
    assert "<script>alert" not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_nav_and_footer_in_the_language(lang):
    nav = H.nav([("02_staffing.html", H.section_title("staffing", lang))], "02_staffing.html", lang, "A & B")
    assert say("page.nav.overview", lang) in nav and "A &amp; B" in nav
    assert 'href="02_staffing.html" class="current"' in nav
    assert H.footer(lang).startswith(say("page.footer", lang, version="X").split("X")[0][:20])


def test_section_titles_come_from_the_catalogues():
    assert report.SECTION_TITLES["summary"] == (say("page.title.summary", "en"), say("page.title.summary", "ru"))
    assert report._title("unknown_part", "ru") == "Unknown part"


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_index_in_the_language_with_the_russian_name(tmp_path, lang):
    from analysis.inputs.study import load_study

    (tmp_path / "study.yaml").write_text("name: Salon <Rose>\nname_ru: Салон «Роза»\n", encoding="utf-8")
    study = load_study(tmp_path)
    pages = [("02_staffing.html", "staffing", H.section_title("staffing", lang)),
             ("06_role_profile.html", "role_profile", H.section_title("role_profile", lang))]
    figures = {"staffing": {"care_managers_needed": 3}, "role_profile": {"own_services_share": 0.2}}
    page = H.write_study_index(tmp_path, study, lang, pages, figures, H.extra_links(tmp_path, lang)).read_text()
    name = "Салон «Роза»" if lang == "ru" else "Salon &lt;Rose&gt;"
    assert f"<h1>{name}</h1>" in page and f"<title>{name}</title>" in page
    assert say("page.card.role_profile", lang) in page.replace("&#39;", "'")  # every card says what it is
    assert say("page.link.tables", lang) in page and say("page.index.kind", lang) in page
    if lang == "ru":
        assert not re.search(r">[^<]*\b[A-Za-z]{4,}\b[^<]*<", page.split("<body>")[1].replace("Excel", "")
                             .replace("JSON", "")), "English words on a Russian index"


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_pages_follow_non_default_settings(tmp_path, lang):
    """The data-check page and the index, run with a 60-day window and 5 visit days for a regular,
    say 60 and 5 wherever the defaults (90, 3) would have been written."""
    import html as std_html

    from analysis.run.report import RunOptions, run_study
    from analysis.inputs.study import parse_overrides

    root = Path(__file__).resolve().parents[1]
    opts = RunOptions(lang=lang, out_root=tmp_path / "reports", jobs=1, only=["data_check"], progress=False,
                      overrides=parse_overrides(["data_check.regular_min_visit_days=5",
                                                 "data_check.retention_window_days=60"]))
    run = run_study(root / "data" / "sample", opts)
    page = std_html.unescape((run.out_dir / "01_data_check.html").read_text(encoding="utf-8"))
    index = std_html.unescape((run.out_dir / "index.html").read_text(encoding="utf-8"))
    regular = say("data_check.regulars", lang, days=5, clients="", share="", top20="", verdict="").split("(")[1][:12]
    assert regular in page, regular                      # "5+ visit days" / "5+ дней с визитами"

    def came_back(n):  # "of new clients came back within 60 days"
        text = say("data_check.retention", lang, n=n, new="@@", verdict="##", repeat="%%")
        return text.split("@@")[1].split("(")[0].strip("* ").strip()

    assert came_back(60) in page and came_back(90) not in page
    from analysis import figures as F

    labels = {(s, k): (en if lang == "en" else ru) for s, k, en, ru, _ in F.index_rows(run_study_study(opts))}
    assert labels[("data_check", "new_client_retention")] in index
    assert "60" in labels[("data_check", "new_client_retention")]


def run_study_study(opts):
    from analysis.inputs.study import load_study

    root = Path(__file__).resolve().parents[1]
    return load_study(root / "data" / "sample", opts.overrides)


def test_range3_without_spread_is_the_single_value(tmp_path):
    # the notebook context's "median (range P10 … P90)" for a fixed amount
    from types import SimpleNamespace

    from analysis.pages.notebook import Context

    ctx = SimpleNamespace(lang="en", currency="RUB")
    ctx.money = lambda x, d=0: Context.money(ctx, x, d)
    ctx.pct = lambda x, d=0: Context.pct(ctx, x, d)
    ctx.num = lambda x, d=0: Context.num(ctx, x, d)
    assert Context.range3(ctx, 115000, 115000, 115000) == "115,000\u00a0₽"
    assert Context.range3(ctx, 0.1, 0.2, 0.3, "pct") == "20% (range 10% … 30%)"
