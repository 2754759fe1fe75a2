"""The references page: shipped with every report, every entry in both languages, and no page or
default cites a file the reader cannot open."""
import re

import pytest

from conftest import ROOT

from analysis.pages import references, words

UNREADABLE = re.compile(r"salon-facts\.md|DESIGN\.md|source-document(\.md)?")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_entry_is_on_the_page(lang):
    page = references.page(lang)
    for ref_id in references.ids():
        assert f'id="{ref_id}"' in page
        assert words.say(f"refs.{ref_id}", lang) in page.replace("&amp;", "&") or ref_id in page
    assert '<a href="https://doi.org/10.1287/mksc.1040.0098">' in page
    assert "<script" not in page


def test_ids_are_unique_and_catalogued():
    ids = references.ids()
    assert len(ids) == len(set(ids))
    assert all(words.has(f"refs.{i}") for i in ids)


def test_papers_cited_in_full():
    en = words.catalogue("en")
    assert "Marketing Science, 24(2), 275–284" in en["refs.bgnbd"]
    assert "Journal of Interactive Marketing, 21(1), 76–90" in en["refs.sbg"]
    assert "Journal of Marketing Research, 42(4), 415–430" in en["refs.rfm_clv"]
    assert "53(282), 457–481" in en["refs.kaplan_meier"]
    assert "Erlang" in en["refs.erlang"]


def test_no_page_or_default_cites_a_file_the_reader_cannot_open():
    files = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "src/analysis/defaults").glob("*.yaml"))
    found = [f"{f.name}: {m.group(0)}" for f in files for m in UNREADABLE.finditer(f.read_text(encoding="utf-8"))]
    assert not found, found
