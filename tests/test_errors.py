"""InputError is a ValueError, and the sites that catch ValueError to go on let bad input through."""
import pytest

from analysis.sections import kpi, pnl
from analysis.errors import InputError, Problem
from analysis.pages.notebook import open_study


def test_repeat_retention_lets_input_errors_through(monkeypatch):
    ctx = open_study(None, "en")

    def bad(*args, **kwargs):
        raise InputError(Problem("visits.csv", "no completed visits."))

    monkeypatch.setattr(kpi, "retention", bad)
    with pytest.raises(InputError):
        pnl._repeat_retention(ctx.tables, ctx.study, 6)


def test_repeat_retention_still_skips_plain_value_errors(monkeypatch):
    ctx = open_study(None, "en")

    def odd(*args, **kwargs):
        raise ValueError("not enough months")

    monkeypatch.setattr(kpi, "retention", odd)
    assert pnl._repeat_retention(ctx.tables, ctx.study, 6) == (None, None)
