"""The index card and the portfolio give the retention break-even the retention page leads with.

With priced memberships the retention page leads with the break-even that counts the members' fees
(``retention.breakeven_uplift_with_fees``), as the summary's retention part does; the visits' margin
alone needs a larger cut.  The index card used to show only the visits-only figure (99 % on the
trial's memberships salon) next to the summary's whole-decision break-even (22 %), with nothing
naming the difference.  Now the card shows the figure with members' fees, labelled so; the portfolio
shows both columns, each naming what it counts.
"""
import re
from types import SimpleNamespace

import pytest

from analysis import figures as F
from analysis.pages import html as H
from analysis.pages.words import say

FEES = {"regulars_margin_share": 0.68, "incremental_margin_year_median": 81152.0,
        "breakeven_uplift": 0.99, "breakeven_uplift_with_fees": 0.176,
        "revenue_at_risk_year_without": 41642.0}
VISITS_ONLY = {k: v for k, v in FEES.items() if k != "breakeven_uplift_with_fees"}


def _text(path) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")).replace("&#39;", "'"))


def _study(tmp_path):
    from analysis.inputs.study import load_study

    (tmp_path / "study.yaml").write_text("name: Club\n", encoding="utf-8")
    return load_study(tmp_path)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_card_shows_the_break_even_with_members_fees_when_recorded(tmp_path, lang):
    study = _study(tmp_path)
    pages = [("03_retention.html", "retention", H.section_title("retention", lang))]
    with_fees = _text(H.write_study_index(tmp_path, study, lang, pages, {"retention": FEES}))
    fees_label = say("summary.figure.retention.breakeven_uplift_with_fees", lang)
    visits_label = say("summary.figure.retention.breakeven_uplift", lang)
    assert fees_label in with_fees and "18%" in with_fees.replace("\u00a0", "").replace(" %", "%")
    assert visits_label not in with_fees and "99%" not in with_fees.replace("\u00a0", "").replace(" %", "%")
    # the label names the members' fees in its words
    assert ("members' fees" if lang == "en" else "абонентских платежей") in fees_label
    # a salon without memberships: the visits-only figure, named as such
    plain = _text(H.write_study_index(tmp_path, study, lang, pages, {"retention": VISITS_ONLY}))
    assert visits_label in plain and fees_label not in plain
    assert ("visits' margin alone" if lang == "en" else "только за счёт маржи визитов") in visits_label


def test_the_portfolio_names_both_break_evens(tmp_path):
    runs = [SimpleNamespace(code=0, name=n, title=n, out_dir=tmp_path / n, message="",
                            figures={"retention": f, "_currency": "RUB"})
            for n, f in (("club", FEES), ("salon", VISITS_ONLY))]
    for lang in ("en", "ru"):
        page = _text(H.write_portfolio(tmp_path / lang, runs, lang, index_rows=F.index_rows()))
        assert say("summary.figure.retention.breakeven_uplift_with_fees", lang) in page
        assert say("summary.figure.retention.breakeven_uplift", lang) in page


def test_only_a_recorded_stand_in_replaces_a_figure():
    assert F.replaced_on_card("retention", FEES) == {"breakeven_uplift"}
    assert F.replaced_on_card("retention", VISITS_ONLY) == set()
    assert F.replaced_on_card("retention", {**FEES, "breakeven_uplift_with_fees": None}) == set()
    for f in F.FIGURES:   # a stand-in replaces an index figure of its own section
        if f.instead_of is not None:
            assert f.index and F.find(f.section, f.instead_of)[0].index
