"""A study in another currency than the money defaults': the pay schemes' own sentences, which quote
the unconverted rouble amounts, are dropped with the conversion, and the words the pages build from the
converted components name the study's currency and the converted amounts."""
import pandas as pd

from analysis.inputs.data import Tables
from analysis.inputs.study import load_study
from analysis.pages import pay as pay_words
from analysis.sections import compensation, pnl


def _usd_study(tmp_path):
    study = load_study(tmp_path, {"currency": "USD", "economics": {"money_scale": 0.02}})
    t = Tables(visits=pd.DataFrame({"client_id": ["a"], "date": pd.to_datetime(["2024-01-01"]), "amount": [50.0]}))
    return study, pnl.localise(study, t)


def test_converted_schemes_lose_their_rouble_sentences_and_keep_converted_amounts(tmp_path):
    study, local = _usd_study(tmp_path)
    assert local.money_scale == 0.02
    before = {s["name"]: s for s in compensation.schemes_of(study)}
    after = {s["name"]: s for s in compensation.schemes_of(local)}
    assert any("en" in s for s in before.values())                 # the defaults do carry sentences
    for name, s in after.items():
        assert "en" not in s and "ru" not in s
        assert compensation.scheme_label(s, "en") == compensation.scheme_label(before[name], "en")
    fixed = [c for c in after["fixed_salary"]["components"] if c["type"] == "fixed"][0]
    assert fixed["amount"] == 115000 * 0.02
    text = pay_words.describe_component(fixed, "en", "USD")
    assert "$" in text and "115,000" not in text and "2,300" in text


def test_schemes_in_the_defaults_currency_keep_their_sentences(tmp_path):
    study = load_study(tmp_path)
    t = Tables(visits=pd.DataFrame({"client_id": ["a"], "date": pd.to_datetime(["2024-01-01"]), "amount": [50.0]}))
    local = pnl.localise(study, t)
    assert local.money_scale == 1.0
    assert all("en" in s for s in compensation.schemes_of(local) if s["name"] == "fixed_salary")
