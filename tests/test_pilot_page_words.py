"""The pilot page's words when the pilot is too short or too thin to measure: one story on every page.

An owner saw, for a pilot started a month before the data end (with a control group): "Without a
control group there is no pre-trend check", an empty month chart with ticks at −0.52 months, "the
Gini changed by – on average", a share under "Clients in the pilot group", and a summary calling a
pilot "too early" when the data before its start were too few."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis.codes import Note
from analysis.pages import i18n
from analysis.pages.pilot import PilotWords
from analysis.sections.pilot.did import OUTCOMES, EventStudy
from analysis.sections.pilot.study import PilotAnalysis


def _ctx(lang):
    return SimpleNamespace(lang=lang, study=None, currency="RUB",
                           num=lambda x, d=0: i18n.number(x, lang, d), pct=lambda x, d=0: i18n.percent(x, lang, d),
                           money=lambda x, d=0: i18n.money(x, "RUB", lang, d), date=lambda d: i18n.date(d, lang))


def _event(gaps, months, pretrend=None):
    t = pd.DataFrame({"month": months, "pilot": 0.3, "control": 0.3, "gap": gaps, "gap_p10": gaps, "gap_p90": gaps})
    return EventStudy(t, pretrend, float("nan"), (np.nan, np.nan))


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_pilot_too_short_for_the_month_chart_says_so_and_draws_nothing(lang):
    w = PilotWords(_ctx(lang))
    empty = _event([np.nan] * 4, [-4, -3, -2, -1])
    assert not w.event_shown(empty)
    text = w.event_sentence(empty, control=True, window=90)
    assert text == w("pilot.event.too_short", days=90)
    assert text != w("pilot.pretrend.none")
    # months before the start only: still nothing after the start to show
    assert not w.event_shown(_event([0.0, 0.01, np.nan], [-3, -2, -1]))
    # a chart with months after the start, but too few before them for the check, with a control group
    short = _event([np.nan, 0.0, -0.02, -0.03], [-2, -1, 0, 1])
    assert w.event_shown(short)
    assert w.event_sentence(short, control=True, window=90) == w("pilot.pretrend.too_few_months")
    assert w.event_sentence(short, control=False, window=90) == w("pilot.pretrend.none")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_gini_that_cannot_be_measured_gives_no_dashes(lang):
    w = PilotWords(_ctx(lang))
    g = pd.DataFrame({"block": ["hair", "nails"], "pilot_block": [True, False], "before": [np.nan, np.nan],
                      "after": [np.nan, np.nan], "change": [np.nan, np.nan]})
    assert not w.gini_shown(g)
    text = w.gini_sentence(g, control=True)
    assert "–" not in text and text == w("pilot.gini.not_measured")
    g2 = g.assign(change=[0.05, np.nan])
    assert w.gini_shown(g2) and w.gini_sentence(g2, True) == w("pilot.gini.not_measured_side")
    g3 = g.assign(change=[0.05, -0.01])
    assert w.gini_sentence(g3, True) == w("pilot.gini.change", pilot=i18n.number(0.05, lang, 2),
                                          control=i18n.number(-0.01, lang, 2))
    assert w.gini_sentence(g3, False) is None


def test_the_change_column_keeps_points_and_relative_changes_apart():
    w = PilotWords(_ctx("en"))
    assert OUTCOMES["lapse_rate"] == "diff" and OUTCOMES["ticket"] == "ratio"
    assert w._change("lapse_rate", -0.04) == "−4.0 pp"
    assert w._change("new_client_return", 0.021) == "2.1 pp"
    assert w._change("ticket", 0.109) == "10.9%"
    assert w._change("visits_per_client_month", 0.12) == "0.12"
    assert w._change("ticket", float("nan")) == "–"
    assert PilotWords(_ctx("ru"))._change("lapse_rate", -0.04) == "−4,0 п. п."


def test_the_design_tables_share_column_is_headed_as_a_share():
    for lang, word in (("en", "Share"), ("ru", "Доля")):
        assert PilotWords(_ctx(lang))("pilot.col.share").startswith(word)


@pytest.mark.parametrize("codes, n_pilot, measured, reason", [
    (["pilot.note.too_short"], 10, False, "too_short"),
    (["pilot.note.few_before_clients"], 214, False, "few_before"),
    (["pilot.note.few_before_repeats", "pilot.note.too_recent"], 214, False, "few_before"),
    (["pilot.note.on_bound"], 214, False, "not_pinned"),
    (["pilot.note.too_recent", "pilot.note.on_bound"], 214, False, "too_recent"),
    ([], 0, False, "no_pilot_clients"),
    (["pilot.note.too_recent"], 214, False, "too_recent"),
    ([], 214, True, None),
])
def test_one_reason_code_for_a_pilot_without_a_measurement(codes, n_pilot, measured, reason):
    pa = PilotAnalysis(since=pd.Timestamp("2024-01-02"), blocks=["hair"], control=True, n_pilot=n_pilot,
                       notes=[Note(c, {}) for c in codes],
                       effect_draws=np.zeros(10) if measured else None)
    assert pa.not_measured_reason == reason


def test_the_summary_gives_the_pilot_pages_reason_not_too_early(tmp_path):
    from analysis.inputs.study import load_study
    from analysis.sections import summary

    (tmp_path / "study.yaml").write_text("name: t\ncurrency: RUB\n", encoding="utf-8")
    pd.DataFrame({"client_id": ["a"], "date": ["2024-01-01"], "amount": [100]}).to_csv(tmp_path / "visits.csv", index=False)
    study = load_study(tmp_path)
    pa = PilotAnalysis(since=pd.Timestamp("2024-01-02"), blocks=["hair"], control=True, n_pilot=30,
                       notes=[Note("pilot.note.few_before_clients", {"need": 20}, n=1)])
    adv = summary.pilot_advice(study, "go", [], {}, pa, None)
    assert adv.kind == "running" and adv.reason == "few_before"
    for lang in ("en", "ru"):
        (text,) = summary.pilot_advice_text(adv, study, lang)
        assert ("too few clients visited before its start" in text) or ("слишком мало клиентов" in text)
        assert "too early" not in text and "рано" not in text
    late = PilotAnalysis(since=pd.Timestamp("2024-01-02"), blocks=["hair"], control=True, n_pilot=30, more_months=3,
                         notes=[Note("pilot.note.too_recent", {"months": 3, "needed": 6}, n=3)])
    (text,) = summary.pilot_advice_text(summary.pilot_advice(study, "go", [], {}, late, None), study, "en")
    assert "too early" in text and "3 more months" in text


def test_the_difference_in_differences_table_gives_each_change_its_unit():
    from analysis.sections.pilot.did import Comparison

    t = pd.DataFrame({"outcome": ["lapse_rate", "ticket"], "kind": ["diff", "ratio"],
                      "pilot_before": [0.30, 2000.0], "pilot_after": [0.26, 2218.0],
                      "control_before": [0.30, 2000.0], "control_after": [0.30, 2000.0],
                      "change": [-0.04, 0.109], "change_p10": [-0.06, 0.05], "change_p90": [-0.02, 0.15]})
    c = Comparison(t, True, {}, False, {})
    shown, labels = PilotWords(_ctx("en")).did_table(c, 90)
    assert list(shown["change"]) == ["−4.0 pp", "10.9%"]
    assert list(shown["range"]) == ["−6.0 pp … −2.0 pp", "5.0% … 15.0%"]
