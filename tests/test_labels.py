"""Block names and settings in the report's words (issue 13: Russian pages fully Russian)."""
import re

import pytest

from analysis.pages.notebook import open_study
from analysis.pages.labels import BUILTIN_BLOCKS, block_label, setting_text
from analysis.pages.words import has
from analysis.inputs.study import Uncertain, load_study


@pytest.mark.parametrize("block, ru", [("hair", "Волосы"), ("nails", "Ногти"), ("Cosmetology", "Косметология"),
                                       ("make-up", "Макияж"), ("brows", "Брови"), ("barber", "Барбершоп")])
def test_builtin_block_names(block, ru):
    assert block_label(block, "ru") == ru
    assert block_label(block, "en")[0].isupper()


def test_every_builtin_block_is_catalogued():
    assert all(has(f"page.block.{b}") for b in BUILTIN_BLOCKS)


def test_unknown_block_keeps_its_name():
    assert block_label("kids_corner", "ru") == "kids_corner"


def test_study_block_names_win(tmp_path):
    (tmp_path / "study.yaml").write_text(
        "block_names:\n  hair: {en: Hairdressing, ru: Парикмахерская}\n  kids_corner: Детский уголок\n",
        encoding="utf-8")
    study = load_study(tmp_path)
    assert block_label("hair", "ru", study) == "Парикмахерская"
    assert block_label("hair", "en", study) == "Hairdressing"
    assert block_label("kids_corner", "en", study) == "Детский уголок"
    assert block_label("nails", "ru", study) == "Ногти"


def test_settings_in_words():
    assert setting_text("staffing.current_setup", "specialist_managers", "ru", spec={"type": "choice"}) \
        == "свой менеджер по клиентам в каждом блоке"
    assert setting_text("retention.effect_scope", "with_new_clients", "en", spec={"type": "choice"}) \
        == "today's clients and the new clients still to come"
    money = setting_text("compensation.market_floor_month", Uncertain(60000, 75000, 95000), "ru", "RUB",
                         {"type": "uncertain"})
    assert money == "75\u00a0000\u00a0₽ (от 60\u00a0000\u00a0₽ до 95\u00a0000\u00a0₽)"
    assert setting_text("compensation.max_prob_below_floor", 0.25, "en", spec={"type": "fraction"}) == "25%"
    assert setting_text("care_manager.covers", ["hair", "nails"], "ru", spec={"type": "blocks"}) == "Волосы, Ногти"


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_assumption_table_shows_no_raw_values(lang):
    table = open_study(None, lang, overrides={"staffing": {"current_setup": "none"}}).assumptions_table()
    shown = " | ".join(table["value"])
    for raw in ("specialist_managers", "with_new_clients", "60000 – 75000 – 95000", " – "):
        assert raw not in shown
    none = table.set_index("key").loc["staffing.current_setup"]
    assert none["value"] == {"en": "no client managers", "ru": "нет менеджеров по клиентам"}[lang]
    assert "--set" in none["source"]


def _shown(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, *a, **k: shown.append(getattr(obj, "data", obj)))
    return shown


def test_assumptions_fold_and_link_to_the_references(monkeypatch):
    shown = _shown(monkeypatch)
    open_study(None, "ru", overrides={"staffing": {"current_setup": "specialist_managers"}}).assumptions("staffing")
    html = shown[-1]
    assert html.startswith('<details class="kit-details">') and "<summary>Допущения:" in html
    assert 'href="references.html"' in html
    # the value as a cell of its own (cells carry their column's label for the phone layout); the
    # description names the keyword
    assert re.search(r"<td[^>]*>свой менеджер по клиентам в каждом блоке</td>", html)


def test_long_tables_fold_short_ones_do_not(monkeypatch):
    import pandas as pd

    shown = _shown(monkeypatch)
    ctx = open_study(None, "en")
    ctx.table(pd.DataFrame({"a": range(3)}))
    ctx.table(pd.DataFrame({"a": range(40)}))
    assert not shown[0].startswith("<details") and shown[1].startswith("<details")
    assert "Show the table (40 rows)" in shown[1]


def test_text_columns_are_marked_to_read_from_the_left(monkeypatch):
    import pandas as pd

    shown = _shown(monkeypatch)
    open_study(None, "en").table(pd.DataFrame({"part": ["a"], "source": ["kit"], "npv": [1.0]}), money=["npv"])
    assert "kit-text-2" in shown[0] and "kit-text-3" not in shown[0]


@pytest.mark.parametrize("lang, expected", [("en", "25 refunds (66,950 ₽ in all)"),
                                            ("ru", "25 возвратов (всего 66 950 ₽)")])
def test_load_notes_are_shown_in_the_reader_words_with_money_formatted(monkeypatch, lang, expected):
    from analysis.codes import Note

    shown = _shown(monkeypatch)
    ctx = open_study(None, lang)
    ctx.show_notes([Note("data.refunds_netted", {"file": "visits.csv", "total": 66950.0}, n=25)])
    assert expected.replace(" ", "\u00a0") in shown[-1].replace(" ", "\u00a0")


def test_every_choice_of_every_setting_is_shown_in_words():
    # the Russian assumption tables showed the raw code `split` for compensation.profit_share_split
    from analysis.inputs.study import _leaves, schema
    from analysis.pages.words import catalogue, say

    walked = 0
    for path, node in _leaves(schema()):
        if node.get("type") != "choice":
            continue
        key = ".".join(path)
        for choice in node.get("choices", []):
            walked += 1
            for lang in ("en", "ru"):
                labels = [k for k in (f"page.value.{key}.{choice}", f"page.value.{choice}") if k in catalogue(lang)]
                assert labels, (key, choice, lang)   # a label in the catalogue, not the raw code
                assert setting_text(key, choice, lang, spec=node) == say(labels[0], lang)
    assert walked >= 10
    assert setting_text("compensation.profit_share_split", "split", "ru", spec={"type": "choice"}) == "делится между ними"
