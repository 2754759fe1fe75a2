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
