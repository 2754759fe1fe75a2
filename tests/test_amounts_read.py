"""Amounts written the way salon systems export them: currency signs, words and ISO codes around the
number are read without, in any of the kit's currencies; a text that is not a number stays flagged."""
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from analysis.inputs.data import _to_number

SIGNS = ["₽", "$", "€", "£", "₸", "₴", "¥", "₺", "₾", "֏"]
WORDS = ["руб.", "р.", "грн", "тг", "сум", "Br", "zł", "kr", "RUB", "USD", "EUR", "GBP", "CHF", "PLN"]


def _read(texts):
    v, empty, bad = _to_number(pd.Series(texts, dtype="object"))
    return v.to_numpy(), bad


@pytest.mark.parametrize("text, value", [
    ("£1,250.50", 1250.5), ("-£5.00", -5.0), ("45 GBP", 45.0), ("USD 1,250.50", 1250.5),
    ("1 500,00 ₽", 1500.0), ("₴1 200,50", 1200.5), ("12 тг", 12.0), ("45 kr", 45.0), ("CHF 80", 80.0),
])
def test_known_exports(text, value):
    v, bad = _read([text])
    assert v[0] == pytest.approx(value) and not bad[0]


@pytest.mark.parametrize("text", ["USD", "£", "abc", "12 apples", "n/a"])
def test_not_a_number_stays_flagged(text):
    _, bad = _read([text])
    assert bad[0]


@settings(max_examples=150, deadline=None)
@given(cents=st.integers(-10**9, 10**9), mark=st.sampled_from(SIGNS + WORDS), before=st.booleans(),
       space=st.booleans())
def test_any_currency_mark_round_trips(cents, mark, before, space):
    amount = cents / 100
    number = f"{amount:,.2f}"
    gap = " " if space or mark[0].isalpha() or mark[-1].isalpha() else ""
    text = f"{mark}{gap}{number}" if before else f"{number}{gap}{mark}"
    v, bad = _read([text, "0"])          # a plain number beside it: the text goes the slow way
    assert not bad[0], text
    assert v[0] == pytest.approx(amount), text
