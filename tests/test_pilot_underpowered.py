"""A measured gain from a pilot whose own design cannot show even a 100 % cut at its length does not
replace the assumed effect in the summary (an underpowered pilot's clear result overstates the effect:
Gelman & Carlin 2014); the same gain from a pilot that could show it does."""
import numpy as np
import pandas as pd
import pytest

from analysis.pages import words
from analysis.sections.pilot import study as pstudy
from analysis.sections.pilot.power import PilotDesign, Z_POWER, Z_SHOWN


def _pilot(se_by_month: dict, elapsed: float, draws=None) -> pstudy.PilotAnalysis:
    se = pd.DataFrame({"option": "current", "months": list(se_by_month), "se": list(se_by_month.values())})
    table = pd.DataFrame({"option": ["current"], "blocks": [["hair"]], "share": [0.5], "control": [True],
                          "detectable_effect": [float((Z_SHOWN + Z_POWER) * se_by_month.get(6, np.inf))],
                          "months_needed": [np.nan], "power_6m": [0.1]})
    design = PilotDesign(table=table, recommended="current", assumed_effect=0.15, se=se)
    rng = np.random.default_rng(0)
    pa = pstudy.PilotAnalysis(since=pd.Timestamp("2024-06-01"), blocks=["hair"], control=True)
    pa.design = design
    pa.elapsed_months = elapsed
    pa.effect_draws = rng.normal(0.85, 0.2, 400) if draws is None else draws   # P10 clear of zero: a gain
    return pa


def test_detectable_at_length_interpolates_the_design_error_on_log_months():
    pa = _pilot({3: 0.8, 6: 0.4, 12: 0.2}, elapsed=6.0)
    assert pstudy.detectable_at_length(pa) == pytest.approx((Z_SHOWN + Z_POWER) * 0.4)
    pa.elapsed_months = np.sqrt(6 * 12)          # half way on log months
    assert pstudy.detectable_at_length(pa) == pytest.approx((Z_SHOWN + Z_POWER) * 0.3)
    pa.elapsed_months = 40.0                     # beyond the grid: held at its end
    assert pstudy.detectable_at_length(pa) == pytest.approx((Z_SHOWN + Z_POWER) * 0.2)
    pa.design = None
    assert pstudy.detectable_at_length(pa) is None


def test_a_gain_from_an_underpowered_pilot_keeps_the_assumption():
    pa = _pilot({3: 1.6, 6: 0.9, 12: 0.6}, elapsed=6.0)     # detectable (2.1 x 0.9) > 1
    assert pa.conclusion == "gain"
    note = pstudy.decision_note(None, pa)
    assert note is not None and note.code == "pilot.summary.not_used_underpowered"
    for lang in ("en", "ru"):
        text = words.note_text(note, lang, lambda n, v: str(v))
        assert "{" not in text and "6" in text


def test_the_same_gain_from_a_pilot_that_could_show_it_is_used():
    pa = _pilot({3: 0.3, 6: 0.2, 12: 0.1}, elapsed=6.0)     # detectable 0.42
    assert pa.conclusion == "gain"
    assert pstudy.decision_note(None, pa) is None
