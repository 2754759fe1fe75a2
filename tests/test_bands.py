"""Band: one named type for P10 / median / P90."""
import math

import numpy as np

from analysis.bands import Band
from analysis.errors import InputError, Problem


def test_band_of_samples_and_order():
    b = Band.of(np.arange(101))
    assert (b.p10, b.median, b.p90) == (10.0, 50.0, 90.0)
    p10, median, p90 = b
    assert p10 <= median <= p90


def test_band_round_trips_through_figures():
    b = Band(1.0, 2.0, 3.0)
    assert Band.from_figures(b.as_figures("pay"), "pay") == b
    assert Band.from_figures({}, "pay") is None
    assert math.isnan(Band.from_figures({"pay_median": 2.0}, "pay").p10)


def test_band_text_in_both_languages():
    b = Band(60000.0, 75000.0, 95000.0)
    assert b.text(lambda x: f"{x:,.0f}", "en") == "75,000 (60,000 … 95,000)"
    assert b.map(lambda x: x / 1000).median == 75.0


def test_empty_band():
    assert math.isnan(Band.of([]).median)


def test_input_error_is_a_value_error():
    err = InputError(Problem("study.yaml: horizon_months", "must be a whole number."))
    assert isinstance(err, ValueError)
    try:
        raise err
    except ValueError as caught:
        assert "horizon_months" in str(caught)


def test_a_band_without_spread_is_written_as_its_single_value():
    # the role page read "Fixed salary (about 115,000 ₽ (115,000 ₽ … 115,000 ₽) a month per manager)"
    from analysis.pages import i18n

    money = lambda x: i18n.money(x, "RUB", "en")  # noqa: E731
    assert Band(115000.0, 115000.0, 115000.0).text(money) == "115,000\u00a0₽"
    assert Band(114999.8, 115000.0, 115000.2).text(money) == "115,000\u00a0₽"   # the same as written
    assert Band(100000.0, 115000.0, 130000.0).text(money) == "115,000\u00a0₽ (100,000\u00a0₽ … 130,000\u00a0₽)"
