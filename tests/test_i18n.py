"""Money, numbers and dates in English and Russian."""
from __future__ import annotations

import datetime as dt

import pytest

from hypothesis import given, strategies as st

from analysis.pages import i18n

NB = "\u00a0"


def test_money_known_answers():
    assert i18n.money(1234567, "RUB", "ru") == f"1{NB}234{NB}567{NB}₽"
    assert i18n.money(1234567, "RUB", "en") == f"1,234,567{NB}₽"
    assert i18n.money(1234.5, "USD", "en", decimals=2) == "$1,234.50"
    assert i18n.money(-2500, "EUR", "en") == "−€2,500"
    assert i18n.money(2_500_000, "RUB", "ru", short=True) == f"2,5{NB}млн{NB}₽"
    assert i18n.money(2_500_000, "RUB", "en", short=True) == f"2.5M{NB}₽"
    assert i18n.money(float("nan")) == "–"


def test_percent_and_dates():
    assert i18n.percent(0.305, "en", 1) == "30.5%"
    assert i18n.percent(0.305, "ru", 1) == f"30,5{NB}%"
    assert i18n.date(dt.date(2024, 6, 30), "ru") == "30.06.2024"
    assert i18n.date(dt.date(2024, 6, 30), "en") == "30 Jun 2024"
    assert i18n.month(dt.date(2024, 6, 1), "ru") == "июн 2024"


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_ru_number_round_trips(x):
    text = i18n.number(x, "ru")
    assert int(text.replace(NB, "").replace("−", "-")) == x


def test_probability_never_rounds_to_certainty():
    assert i18n.probability(0.9993, "en") == "over 99%"
    assert i18n.probability(1.0, "en") == "100%"
    assert i18n.probability(0.004, "ru") == f"менее чем 1{NB}%"
    assert i18n.probability(0.5, "en") == "50%"


def test_short_money_keeps_the_half():
    # axis ticks at 12.5M and 17.5M must not both read as rounded neighbours
    assert i18n.money(12_500_000, "RUB", "en", short=True) == f"12.5M{NB}₽"
    assert i18n.money(18_000_000, "RUB", "en", short=True) == f"18M{NB}₽"


@pytest.mark.parametrize("x", [-0.0, -0.001, -0.004999, -1e-12])
def test_a_negative_value_that_rounds_to_zero_has_no_sign(x):
    # the pay page showed "−0.00 ₽" per 100 ₽ of profit for a scheme whose profit share was -0.0001
    from analysis.pages import i18n

    assert i18n.number(x, "en", 2) == "0.00" and i18n.number(x, "ru", 2) == "0,00"
    assert i18n.money(x, "RUB", "en", 2) == "0.00\u00a0₽" and i18n.money(x, "EUR", "en", 2) == "€0.00"
    assert i18n.percent(x / 100, "en", 1) == "0.0%"
    assert i18n.number(-0.005001, "en", 2) == "−0.01" and i18n.money(-1, "EUR", "en") == "−€1"
