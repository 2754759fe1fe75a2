"""A pilot the data cannot measure never reads as a measurement: an estimate at the model's bound, a
baseline with too few clients before the start, and a "no change" wider than the assumption."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis.inputs import data, sample
from analysis.inputs.study import load_study
from analysis.pages import words
from analysis.sections import pilot
from analysis.sections.pilot import structural
from analysis.sections.pilot import study as pstudy


def _fit(effect, k=1.0):
    return structural.EffectFit(effect=effect, se=0.2, time_factor=k, group_factor=1.0,
                                theta=np.array([np.log(k), effect]), loglik=-1.0, converged=True)


@pytest.mark.parametrize("effect, k, edge", [(0.995, 1.0, True), (-3.0, 1.0, True), (0.3, np.exp(3.0), True),
                                              (0.3, 1.0, False), (-0.5, 0.4, False)])
def test_bound_estimates_are_found(effect, k, edge):
    assert _fit(effect, k).at_bound is edge


def test_few_clients_before_the_start_is_a_coded_note():
    rows = pd.DataFrame({"x_pre": [1.0, 0.0, np.nan, 2.0]})
    note = pstudy._few_before(rows)
    assert note.code == "pilot.note.few_before_clients" and note.n == 3
    for lang in ("en", "ru"):
        text = words.note_text(note, lang)
        assert "3" in text and "20" in text and "BG/NBD" not in text and "{" not in text
    many = pd.DataFrame({"x_pre": [0.0] * 30 + [1.0] * 2})
    assert pstudy._few_before(many).code == "pilot.note.few_before_repeats"
    assert pstudy._few_before(pd.DataFrame({"x_pre": [1.0] * 30})) is None


def _pa(p10, p50, p90, control=True):
    return SimpleNamespace(measured=True, control=control, placebo=None, comparison=None,
                           effect_quantiles=lambda: (p10, p50, p90))


def test_wide_no_change_keeps_the_assumption(tiny_study, monkeypatch):
    study = load_study(tiny_study)            # assumed effect: the kit's default range
    monkeypatch.setattr(pstudy, "conclusion", lambda pa: "no_change")
    wide = _pa(-1.34, 1.0, 1.0)
    note = pilot.decision_note(study, wide)
    assert note is not None and note.code == "pilot.summary.not_used_wide"
    narrow = _pa(-0.45, 0.0, 0.45)
    assert pilot.decision_note(study, narrow) is None
    monkeypatch.setattr(pstudy, "conclusion", lambda pa: "gain")
    assert pilot.decision_note(study, wide) is None     # a gain is a gain however wide


def test_pilot_starting_the_day_after_the_first_visit_says_why_in_words(tmp_path):
    out = sample.write_sample(tmp_path / "s", clients=200, months=6, seed=3)
    v = pd.read_csv(out / "visits.csv")
    since = (pd.to_datetime(v["date"]).min() + pd.Timedelta(days=1)).date().isoformat()
    study = load_study(out, {"care_manager": {"since": since, "pilot_blocks": ["hair"]}})
    pa = pilot.analyse(study, data.load_tables(study), n_boot=50)
    assert not pa.measured
    codes = [n.code for n in pa.notes]
    assert "pilot.note.few_before_clients" in codes or "pilot.note.few_before_repeats" in codes, codes
    for n in pa.notes:
        for lang in ("en", "ru"):
            assert "BG/NBD model needs" not in words.note_text(n, lang) and "skip the model" not in words.note_text(n, lang)


def test_planned_pilot_blocks_come_from_the_pilot_pages_figures(tiny_study):
    """Without a running pilot the summary names the design's blocks from figures.pilot alone."""
    from analysis.sections import summary

    study = load_study(tiny_study)
    fig = {"design": "half", "design_blocks": ["hair", "nails"], "detectable_effect": 0.3, "months_needed": 9}
    adv = summary.pilot_advice(study, "pilot", [], fig, None, None)
    assert adv.kind == "plan" and adv.blocks == ["hair", "nails"] and adv.months == 9
    every = summary.pilot_advice(study, "pilot", [], {**fig, "design": "everyone", "design_blocks": None}, None, None)
    assert every.kind == "plan_everyone"


def test_pilot_outside_the_covered_blocks_is_said(tmp_path):
    out = sample.write_sample(tmp_path / "s", clients=300, months=12, seed=4, pilot_since="2023-09-01",
                              pilot_blocks=["hair"], pilot_effect=0.0)
    study = load_study(out, {"care_manager": {"covers": ["nails"]}})
    pa = pilot.analyse(study, data.load_tables(study), n_boot=50)
    (note,) = [n for n in pa.notes if n.code == "pilot.note.outside_covers"]
    from analysis.pages.pilot import PilotWords
    ctx = SimpleNamespace(lang="ru", study=study)
    en, ru = PilotWords(ctx).note_texts(note)
    assert "Волосы" in ru and "Ногти" in ru and "hair" not in ru
    inside = load_study(out, {"care_manager": {"covers": ["hair", "nails"]}})
    assert "pilot.note.outside_covers" not in [n.code for n in pilot.analyse(inside, data.load_tables(inside), n_boot=50).notes]
