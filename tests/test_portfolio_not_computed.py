"""The portfolio page writes a dash for a figure a study did not compute (a not-enough-data study has
no payback month), never the format's word for a computed null ("not within the horizon")."""
import re
from types import SimpleNamespace

from analysis.pages import html as pages_html
from analysis.pages.words import say


def _text(path) -> str:
    return re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))


def test_a_figure_not_computed_is_a_dash_and_a_computed_null_keeps_its_words(tmp_path):
    rows = [("summary", "verdict", "Verdict", "Вывод", "verdict"),
            ("summary", "payback_month", "Payback month", "Месяц окупаемости", "month")]
    pays = {"summary": {"verdict": "create", "payback_month": 7}, "_currency": "RUB"}
    decided = {"summary": {"verdict": "do_not_create", "payback_month": None}, "_currency": "RUB"}
    short = {"summary": {"verdict": "not_enough_data"}, "_currency": "RUB"}
    runs = [SimpleNamespace(code=0, name=n, title=n, out_dir=tmp_path / n, message="", figures=f)
            for n, f in (("pays", pays), ("decided", decided), ("short", short))]
    for lang in ("en", "ru"):
        page = _text(pages_html.write_portfolio(tmp_path / lang, runs, lang, index_rows=rows))
        no_payback = say("summary.headline.no_payback", lang)
        assert page.count(no_payback) == 1                # the decided study only
        short_row = page[page.index(say("verdict.level.not_enough_data", lang)):]
        assert no_payback not in short_row.split("\n\n")[0]
