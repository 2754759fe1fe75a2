"""The word catalogues: same keys and fields in every language, Russian plurals complete."""
import re
from pathlib import Path

import pytest

from analysis.codes import Note
from analysis.pages import words

RU_PLURALS = {"one", "few", "many", "other"}


def _texts(entry):
    return list(entry.values()) if isinstance(entry, dict) else [entry]


def test_catalogues_have_the_same_keys():
    en, ru = words.catalogue("en"), words.catalogue("ru")
    assert set(en) == set(ru), (set(en) ^ set(ru))


@pytest.mark.parametrize("key", sorted(words.catalogue("en")))
def test_fields_and_plural_forms_agree(key):
    en, ru = words.catalogue("en")[key], words.catalogue("ru")[key]
    assert isinstance(en, dict) == isinstance(ru, dict), key
    if isinstance(en, dict):
        assert set(en) >= {"one", "other"}, key
        assert set(ru) >= RU_PLURALS, key
    en_fields = set().union(*(words.fields_of(t) for t in _texts(en)))
    ru_fields = set().union(*(words.fields_of(t) for t in _texts(ru)))
    assert en_fields == ru_fields, key


def test_no_english_words_in_russian_texts():
    # Texts may hold field names and units, never English sentences.
    for key, entry in words.catalogue("ru").items():
        for text in _texts(entry):
            bare = re.sub(r"\{[^}]*\}", "", str(text))
            assert not re.search(r"\b[a-z]{4,}\b", bare) or re.search("[а-яё]", bare, re.I), (key, text)


@pytest.mark.parametrize("n, form", [(1, "1 день"), (2, "2 дня"), (5, "5 дней"), (11, "11 дней"),
                                     (21, "21 день"), (22, "22 дня"), (1.5, "1.5 дня")])
def test_russian_plural_rules(n, form):
    assert words.say("common.days", "ru", n=n) == form


def test_english_plural_rules():
    assert words.say("common.days", "en", n=1) == "1 day"
    assert words.say("common.days", "en", n=3) == "3 days"


def test_missing_field_names_the_key():
    with pytest.raises(KeyError, match="common.range"):
        words.say("common.range", "en", median="1")


def test_note_text_formats_fields():
    note = Note("common.clients", {}, n=3)
    assert words.note_text(note, "ru") == "3 клиента"


@pytest.mark.parametrize("export, n, word", [
    ("Клиент;Дата;Сумма\nc1;05.01.2024;1 500\nc2;06.01.2024;700\nИтого;;2 200\n", 1, "Итого"),
    ("Клиент;Дата;Сумма\nc1;05.01.2024;1 500\nTotal;;1 500\nGrand total;;1 500\n", 2, "Total"),
])
def test_a_dropped_total_row_is_said(tmp_path, export, n, word):
    """Total lines at the end of an export are left out, and a note says so in both languages."""
    from analysis.inputs import data
    from analysis.inputs.study import load_study

    (tmp_path / "visits.csv").write_text(export, encoding="utf-8")
    (tmp_path / "study.yaml").write_text(
        "name: T\ndata:\n  visits:\n    columns: {Клиент: client_id, Дата: date, Сумма: amount}\n", encoding="utf-8")
    tables = data.load_tables(load_study(tmp_path))
    assert len(tables.visits) == (2 if n == 1 else 1)
    notes = [x for x in tables.notes if x.code == "data.total_rows_dropped"]
    assert len(notes) == 1 and notes[0].n == n and notes[0].fields["first"] == word
    assert word in words.note_text(notes[0], "en") and word in words.note_text(notes[0], "ru")
    assert "visits.csv" in words.note_text(notes[0], "ru")


def test_no_note_without_a_total_row(tmp_path):
    from analysis.inputs import data
    from analysis.inputs.study import load_study

    (tmp_path / "visits.csv").write_text("client_id,date,amount\nc1,2024-01-05,1500\nTotalis,2024-01-06,700\n",
                                         encoding="utf-8")
    (tmp_path / "study.yaml").write_text("name: T\n", encoding="utf-8")
    tables = data.load_tables(load_study(tmp_path))
    assert len(tables.visits) == 2
    assert not [x for x in tables.notes if x.code == "data.total_rows_dropped"]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_catalogue_reads_the_same_with_either_yaml_loader(lang):
    """The catalogue is read with libyaml's safe loader when there is one: the very same mapping as
    PyYAML's pure-Python safe loader gives."""
    import yaml
    from importlib import resources

    text = resources.files("analysis.pages").joinpath("catalogue", f"{lang}.yaml").read_text(encoding="utf-8")
    assert words.catalogue(lang) == yaml.load(text, Loader=yaml.SafeLoader)
def _fill(key, value):
    texts = [t for lang in words.LANGS for t in _texts(words.catalogue(lang)[key])]
    return {f: value for t in texts for f in words.fields_of(str(t)) if f != "n"}


def test_a_count_in_a_note_is_never_formatted_as_a_share():
    # Walk every catalogue placeholder the English text follows with a count's unit ("{months}
    # months", "{n} clients"): a page formatting a note's figures as shares (the summary's pilot
    # note did: "after 600% months", «за 600 % мес.») must still show the count.
    from analysis.pages import i18n

    walked = 0
    for key in words.catalogue("en"):
        counts = [f for f in _fill(key, 6) if words.field_kind(key, f) == "count"]
        if not counts:
            continue
        walked += 1
        fields = {**_fill(key, 0.5), **{f: 7 for f in counts}}
        for lang in words.LANGS:
            text = words.note_text(Note(key, fields, n=7), lang, lambda k, v: i18n.percent(v, lang))
            assert "700" not in text and re.search(r"(?<![\d,.])7(?![\d,.]|\s*%)", text), (key, lang, text)
    assert walked > 20


def test_a_percentage_number_in_a_note_gets_no_second_percent_sign():
    from analysis.pages import i18n

    for key in words.catalogue("en"):
        numbers = [f for f in _fill(key, 12) if words.field_kind(key, f) == "number"]
        fields = {**_fill(key, 0.5), **{f: 12 for f in numbers}}
        for lang in words.LANGS if numbers else ():
            text = words.note_text(Note(key, fields, n=2), lang, lambda k, v: i18n.percent(v, lang))
            assert not re.search(r"%\s*%", text) and "1200" not in text and "1 200" not in text, (key, text)


def test_the_underpowered_pilot_note_gives_its_length_in_months():
    from analysis.pages import i18n

    note = Note("pilot.summary.not_used_underpowered", {"p10": 0.3, "median": 0.62, "p90": 0.92, "months": 6})
    en = words.note_text(note, "en", lambda k, v: i18n.percent(v, "en"))
    ru = words.note_text(note, "ru", lambda k, v: i18n.percent(v, "ru"))
    assert "after 6 months" in en and "62% (30% … 92%)" in en
    assert "за 6 мес." in ru
    assert words.field_kind("pilot.note.placebo", "spread") == "number"
    assert words.field_kind("compensation.bonus.text", "hit") is None   # "{hit} of months" is a share


def test_no_only_before_a_chance_that_can_read_under_one_percent():
    # "It pays off in only 0% of the scenarios", "…in only under 1%": a chance in words
    # (i18n.probability) can be "0%", "under 1%" or "over 99%", so no "only"/«лишь» is put before it
    for lang, words_before in (("en", ("only", "just")), ("ru", ("лишь в", "только в"))):
        for key, entry in words.catalogue(lang).items():
            for text in _texts(entry):
                for w in words_before:
                    assert not re.search(rf"\b{w}\s+\{{(prob|recommend|reject)\}}", str(text)), (key, text)
