"""A salon whose money is not roubles is told which of the kit's Russian defaults it has not stated
(trial 3 F13: a EUR salon in Lisbon costed with Russia's 30 % payroll tax, "in a Russian city" wages and
the Bank of Russia's rate, without a word).

Through the kit's one mechanism for unstated defaults (the assumption rows' source, Study.source_of):
each Russian default a non-RUB salon did not state reads "not stated by the salon; Russian figure used —
state yours (--set key=… …)", on every assumption table and on the summary's table of every assumption,
and the summary says so in a note.  A rouble salon, or a key the salon stated, is not flagged.
"""
import pytest

from analysis.inputs.study import DEFAULTS_CURRENCY, _leaves, _schema_cached, load_study
from analysis.pages.words import say

RUSSIAN = ("staffing.payroll_tax_rate", "staffing.working_hours_month", "staffing.specialist_manager_salary_month",
           "staffing.administrator_salary_month", "economics.commission_rate", "discount_rate",
           "compensation.market_floor_month")


def _study(tmp_path, text, overrides=None):
    (tmp_path / "study.yaml").write_text(text, encoding="utf-8")
    return load_study(tmp_path, overrides)


def _flag(lang):
    return say("page.source.country_default", lang, setting="K", source="S").split(" (")[0]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_eur_salon_sees_every_unstated_russian_default_flagged(tmp_path, lang):
    study = _study(tmp_path, "name: Lisbon\ncurrency: EUR\nstaffing:\n  payroll_tax_rate: 0.2375\n")
    table = study.assumptions(None, lang).set_index("key")
    flagged = {k for k, s in table["source"].items() if _flag(lang) in s}
    assert set(RUSSIAN) - {"staffing.payroll_tax_rate"} <= flagged
    assert "staffing.payroll_tax_rate" not in flagged               # stated by the salon
    assert table.loc["staffing.payroll_tax_rate", "source"] == "study.yaml"
    assert flagged == set(study.country_defaults) & set(table.index)
    src = table.loc["staffing.working_hours_month", "source"]
    assert src.startswith("default: ") and "--set staffing.working_hours_month=" in src
    assert ("Labour Code" if lang == "en" else "Трудовой кодекс") in src     # the Russian source still given
    # the figures themselves are unchanged: a flag, not a new value
    assert study["staffing.working_hours_month"] == 164


def test_a_rouble_salon_and_stated_keys_are_not_flagged(tmp_path):
    rub = _study(tmp_path, "name: Moscow\n")
    assert rub.currency == DEFAULTS_CURRENCY and rub.country_defaults == []
    assert not any(_flag("en") in s for s in rub.assumptions(None, "en")["source"])
    eur = load_study(tmp_path, {"currency": "EUR", "discount_rate": 0.08})
    assert "discount_rate" not in eur.country_defaults and "staffing.payroll_tax_rate" in eur.country_defaults


def test_the_russian_defaults_are_marked_in_the_schema():
    marked = {".".join(p) for p, spec in _leaves(_schema_cached()) if spec.get("country") == "RU"}
    assert set(RUSSIAN) <= marked
    for p, spec in _leaves(_schema_cached()):    # every leaf whose source cites Russian law, a Russian city
        src = spec.get("source", "")            # or the Bank of Russia is marked
        if any(w in src for w in ("Russian Federation", "Russian city", "Bank of Russia", "in Russia")):
            assert ".".join(p) in marked, ".".join(p)


def test_the_summary_notebook_says_so_in_a_note():
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "05_summary.ipynb").read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert '"summary.country_defaults"' in code and "study.country_defaults" in code
