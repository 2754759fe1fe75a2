"""study.yaml: defaults, sources, and the errors a user sees."""
from __future__ import annotations

import pytest

from analysis.errors import InputError
from analysis.inputs.study import Uncertain, load_study, parse_overrides, schema


def _study(tmp_path, text, overrides=None):
    (tmp_path / "study.yaml").write_text(text, encoding="utf-8")
    return load_study(tmp_path, overrides)


def test_no_study_yaml_uses_defaults_and_folder_name(tmp_path):
    s = load_study(tmp_path)
    assert s.name == tmp_path.name and s.language == "en" and s.currency == "RUB"
    assert "horizon_months" in s.defaulted and "discount_rate" in s.defaulted


def test_given_values_and_sources(tmp_path):
    s = _study(tmp_path, "name: Salon A\nhorizon_months: 24\n", {"discount_rate": 0.2})
    assert s.horizon_months == 24 and s.discount_rate == 0.2
    assert s.source_of("horizon_months") == "study.yaml"
    assert s.source_of("discount_rate") == "--set"
    assert s.source_of("currency").startswith("default: ")
    table = s.assumptions()
    assert (table["source"] != "").all()


@pytest.mark.parametrize("text, expected", [
    ("horizn_months: 12\n", "unknown key 'horizn_months'. Did you mean horizon_months?"),
    ("horizon_months: -3\n", "horizon_months: must be in [1, 240]. Got -3 instead."),
    ("discount_rate: 1.5\n", "discount_rate: must be in [0, 1]. Got 1.5 instead."),
    ("language: de\n", "language: must be one of en, ru. Got 'de' instead."),
    ("horizon_months: twelve\n", "horizon_months: must be a number. Got 'twelve' instead."),
    ("horizon_months: 2.5\n", "horizon_months: must be a whole number. Got 2.5 instead."),
    ("simulation: 5\n", "simulation: must be a section with keys"),
    ("simulation:\n  n_drawz: 100\n", "unknown key 'simulation.n_drawz'. Did you mean simulation.n_draws?"),
    ("- a\n- b\n", "must be a mapping of keys to values"),
    ("name: [unclosed\n", "is not valid YAML"),
])
def test_config_errors_name_the_key(tmp_path, text, expected):
    with pytest.raises(InputError) as info:
        _study(tmp_path, text)
    assert expected in str(info.value)


def test_all_problems_reported_together(tmp_path):
    with pytest.raises(InputError) as info:
        _study(tmp_path, "horizn_months: 3\ndiscount_rate: 2\nlanguage: fr\n")
    assert len(info.value.problems) == 3


def test_missing_folder(tmp_path):
    with pytest.raises(InputError, match="study folder not found"):
        load_study(tmp_path / "nope")


def test_uncertain_values(tmp_path):
    s = _study(tmp_path, "care_manager:\n  covers: [hair, nails]\n")
    assert s["care_manager.covers"] == ["hair", "nails"]
    u = Uncertain(1, 2, 4)
    assert u.mean == pytest.approx(7 / 3) and not u.is_fixed and str(u) == "1 – 2 – 4"


def test_overrides_parse_yaml_values():
    assert parse_overrides(["a.b=3", "c=[x, y]", "d=ru", "e=0.5"]) == {
        "a": {"b": 3}, "c": ["x", "y"], "d": "ru", "e": 0.5}
    with pytest.raises(InputError, match="expects KEY=VALUE"):
        parse_overrides(["novalue"])


def test_every_default_has_a_source_and_both_languages():
    from analysis.inputs.study import _leaves

    for path, spec in _leaves(schema()):
        key = ".".join(path)
        assert spec.get("source"), f"{key} has no source"
        assert spec.get("source_ru"), f"{key} has no source_ru (the source in Russian)"
        assert spec["source_ru"] != spec["source"], f"{key}: source_ru is not translated"
        assert not spec["source_ru"].lower().startswith(("kit assumption", "kit default")), \
            f"{key}: source_ru starts in English"
        assert spec.get("en") and spec.get("ru"), f"{key} lacks a description in en or ru"


def test_russian_assumptions_show_the_russian_source(tmp_path):
    from analysis.inputs.study import _get

    s = _study(tmp_path, "horizon_months: 24\n")
    spec = _get(schema(), ("staffing", "payroll_tax_rate"))
    ru = s.assumptions("staffing", lang="ru").set_index("key")
    en = s.assumptions("staffing").set_index("key")
    assert ru.loc["staffing.payroll_tax_rate", "source"] == "default: " + spec["source_ru"]
    assert "Налоговый кодекс РФ ст. 425" in ru.loc["staffing.payroll_tax_rate", "source"]
    assert en.loc["staffing.payroll_tax_rate", "source"] == "default: " + spec["source"]
    assert ru.loc["staffing.payroll_tax_rate", "description"] == spec["ru"]
    # "kit assumption: ..." reads "допущение набора: ..." in Russian
    assert ru.loc["staffing.productive_share", "source"].startswith("default: допущение набора: ")
    # a value the user gave keeps its plain source in both languages
    top = s.assumptions("study", lang="ru").set_index("key")
    assert top.loc["horizon_months", "source"] == "study.yaml"
    assert top.loc["discount_rate", "source"].startswith("default: значение набора по умолчанию: ")
    assert s.source_of("currency", "ru") == "default: " + _get(schema(), ("currency",))["source_ru"]


def test_source_of_falls_back_to_english_without_source_ru(tmp_path, monkeypatch):
    import analysis.inputs.study as st

    tree = st.schema()
    del tree["staffing"]["payroll_tax_rate"]["source_ru"]
    monkeypatch.setattr(st, "_schema_cached", lambda: tree)
    s = load_study(tmp_path)
    expected = "default: " + tree["staffing"]["payroll_tax_rate"]["source"]
    assert s.source_of("staffing.payroll_tax_rate", "ru") == expected


def test_defaults_validate_against_their_own_schema(tmp_path):
    load_study(tmp_path)  # raises RuntimeError if a default breaks its own limits


def test_chosen_scheme_must_exist(tmp_path):
    from analysis.run.report import _check_chosen_scheme

    (tmp_path / "study.yaml").write_text("care_manager:\n  scheme: sorce\n")
    problems = _check_chosen_scheme(load_study(tmp_path))
    assert len(problems) == 1 and "must name one of the pay schemes" in str(problems[0])
    assert "Got 'sorce' instead" in str(problems[0])
    (tmp_path / "study.yaml").write_text("care_manager:\n  scheme: source\n")
    assert _check_chosen_scheme(load_study(tmp_path)) == []


# ---------------------------------------------------------------- hardening (issue 14)


@pytest.mark.parametrize("text, expected", [
    ("horizon_months: .nan\n", "horizon_months: must be a finite number. Got nan instead."),
    ("discount_rate: .nan\n", "discount_rate: must be a finite number"),
    ("horizon_months: .inf\n", "horizon_months: must be a finite number"),
    ("currency: {a: 1}\n", "currency: must be a text, a currency's ISO 4217 code. Got {'a': 1} instead."),
    ("currency: XYZ\n", "currency: must be a currency's ISO 4217 code"),
    ("name: [a, b]\n", "name: must be a text"),
    ("language: [en]\n", "language: must be one of en, ru"),
    ("horizon_months: 1e6\n", "horizon_months: must be in [1, 240]. Got 1000000.0 instead."),
])
def test_bad_values_are_input_errors(tmp_path, text, expected):
    with pytest.raises(InputError) as info:
        _study(tmp_path, text)
    assert expected in str(info.value)


def test_exponent_notation_reads_as_a_number(tmp_path):
    s = _study(tmp_path, "horizon_months: 2.4e1\ndiscount_rate: 1e-1\n")
    assert s.horizon_months == 24 and s.discount_rate == pytest.approx(0.1)
    assert parse_overrides(["discount_rate=1e-1", "x=1E3"]) == {"discount_rate": 0.1, "x": 1000.0}
    assert parse_overrides(["name=e5", "v=1.5"]) == {"name": "e5", "v": 1.5}  # text stays text


@pytest.mark.parametrize("sets, expected", [
    (["currency={a: 1}"], "--set: currency: must be a text"),
    (["horizon_months=.nan"], "--set: horizon_months: must be a finite number"),
    (["horizon_months=1e6"], "--set: horizon_months: must be in [1, 240]"),
    (["horizn_months=3"], "--set: unknown key 'horizn_months'. Did you mean horizon_months?"),
    (["simulation=5"], "--set: simulation: must be a section"),
    (["retention.care_manager_effect.mode=0.5"], "--set: retention.care_manager_effect: needs low <= mode <= high"),
])
def test_set_problems_name_set_not_study_yaml(tmp_path, sets, expected):
    (tmp_path / "study.yaml").write_text("name: Salon\n")
    with pytest.raises(InputError) as info:
        load_study(tmp_path, parse_overrides(sets))
    assert expected in str(info.value)
    assert "study.yaml" not in str(info.value)


@pytest.mark.parametrize("pair", ["novalue", "=3", "a..b=1", ".a=1"])
def test_malformed_set_pairs_name_set(pair):
    with pytest.raises(InputError) as info:
        parse_overrides([pair])
    assert all(str(p).startswith("--set") for p in info.value.problems)


def test_dotted_set_into_an_uncertain_assumption(tmp_path):
    """The README's own example: ``--set retention.care_manager_effect.mode=0.2``."""
    s = load_study(tmp_path, parse_overrides(["retention.care_manager_effect.mode=0.2"]))
    default = schema()["retention"]["care_manager_effect"]["default"]
    assert s["retention.care_manager_effect"] == Uncertain(default["low"], 0.2, default["high"])
    assert s.source_of("retention.care_manager_effect") == "--set"
    # the other parts come from study.yaml when it gives the assumption (a number counts as x, x, x)
    (tmp_path / "study.yaml").write_text("retention:\n  care_manager_effect: 0.1\n")
    s = load_study(tmp_path, parse_overrides(["retention.care_manager_effect.high=0.4"]))
    assert s["retention.care_manager_effect"] == Uncertain(0.1, 0.1, 0.4)


def test_dotted_set_works_on_the_bundled_sample():
    from conftest import SAMPLE

    s = load_study(SAMPLE, parse_overrides(["retention.care_manager_effect.mode=0.2"]))
    assert s["retention.care_manager_effect"].mode == 0.2
