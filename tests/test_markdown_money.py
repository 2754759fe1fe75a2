"""Money in dollars inside the Markdown a page shows: never read as TeX between two ``$`` signs."""
import re

from hypothesis import given, settings, strategies as st
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from analysis.pages.i18n import money
from analysis.pages.notebook import markdown_text


def _visible(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_two_bold_dollar_amounts_stay_bold():
    text = f"It costs **{money(1929, 'USD', 'en')}** a month and **{money(609, 'USD', 'en')}** later."
    html = markdown2html_mistune(markdown_text(text))
    assert html.count("<strong>") == 2
    assert "**" not in _visible(html)
    assert "$1,929" in _visible(html) and "$609" in _visible(html)


@settings(max_examples=60, deadline=None)
@given(amounts=st.lists(st.integers(-10**8, 10**8), min_size=1, max_size=4), bold=st.booleans(),
       lang=st.sampled_from(["en", "ru"]))
def test_every_dollar_amount_shown_as_written(amounts, bold, lang):
    shown = [money(a, "USD", lang) for a in amounts]
    mark = "**" if bold else ""
    text = " and ".join(f"{mark}{s}{mark}" for s in shown) + "."
    visible = _visible(markdown2html_mistune(markdown_text(text)))
    for s in shown:
        assert s.replace("\u00a0", " ") in visible.replace("\u00a0", " ")
    assert "**" not in visible and "\\$" not in visible
