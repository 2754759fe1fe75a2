"""Sentences live in the word catalogues, not in notebook code cells or calculation modules.

The scan looks for string literals with Cyrillic letters (the Russian half of an inline en/ru pair is
the sure sign of a sentence written in code), docstrings and comments aside.  Files not migrated yet
are listed in ``NOT_MIGRATED``: the list can only shrink — a listed file that has become clean fails
the test until it is taken off the list.  ``DATA`` lists files whose Cyrillic text is data, not words
for the reader.
"""
import ast
import json
import re

import pytest

from conftest import ROOT

CYRILLIC = re.compile("[\u0400-\u04ff]")

#: Still holding report words in code (issue 13); take a file off when its words are in the catalogues.
NOT_MIGRATED: set[str] = set()

#: Cyrillic here is data, not words for the reader.
DATA = {
    "src/analysis/inputs/data.py": "column names and status words of Russian salon exports",
    "src/analysis/inputs/sample.py": "names of the made-up sample's clients and staff",
    "src/analysis/inputs/template.py": "the commented study.yaml the kit writes for a Russian study",
}


def _docstring_nodes(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                yield body[0].value


def cyrillic_literals(source: str) -> list[str]:
    """String literals with Cyrillic letters in Python ``source``, docstrings left out."""
    tree = ast.parse(source)
    skip = {id(n) for n in _docstring_nodes(tree)}
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip
            and CYRILLIC.search(n.value)]


def _notebook_code(path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    return "\n".join(re.sub(r"^[!%].*$", "", c, flags=re.M) for c in cells)


def _scanned():
    files = sorted((ROOT / "notebooks").glob("*.ipynb"))
    pkg = ROOT / "src" / "analysis"
    files += [p for p in sorted(pkg.rglob("*.py")) if p.relative_to(pkg).parts[0] != "pages"]
    return files


def _literals(path) -> list[str]:
    text = _notebook_code(path) if path.suffix == ".ipynb" else path.read_text(encoding="utf-8")
    return cyrillic_literals(text)


@pytest.mark.parametrize("path", _scanned(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_sentences_in_code(path):
    rel = str(path.relative_to(ROOT))
    found = _literals(path)
    if rel in DATA:
        return
    if rel in NOT_MIGRATED:
        assert found, f"{rel} holds no words any more: take it off NOT_MIGRATED"
        return
    assert not found, f"{rel}: move these texts into analysis/pages/catalogue/*.yaml: {found[:5]}"


def test_lists_name_existing_files():
    for rel in NOT_MIGRATED | set(DATA):
        assert (ROOT / rel).exists(), rel


def test_the_scan_finds_an_inline_pair_and_skips_docstrings():
    src = '"""Модуль."""\ndef f():\n    """Функция."""\n    return t("Hello", "Привет") + f"{1} раз"\n'
    assert cyrillic_literals(src) == ["Привет", " раз"]


# ---- the HTML shell: templates and the module that fills them hold no English words either -----------

#: Code that builds the pages around the notebooks (its words come from ``page.*`` catalogue keys).
HTML_CODE = ("src/analysis/pages/html.py", "src/analysis/pages/references.py")
TEMPLATES = ROOT / "src" / "analysis" / "templates"

#: Two or more English words in a row: a sentence or a label, never a key, a path or a CSS class.
_ENGLISH = re.compile(r"\b[A-Za-z][a-z]+(?:[ ,]+[A-Za-z][a-z]+)+\b")


def english_literals(source: str) -> list[str]:
    """String literals in Python ``source`` that read as English words (docstrings left out).

    Keys (``page.title.x``), paths, format strings and HTML attribute fragments have no run of
    two words separated by a space, so they are not flagged."""
    tree = ast.parse(source)
    skip = {id(n) for n in _docstring_nodes(tree)}
    found = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip:
            if _ENGLISH.search(n.value) and not n.value.strip().startswith(("<", "{", "#")):
                found.append(n.value)
    return found


def template_text(source: str) -> str:
    """The words a template writes itself: comments, jinja tags and expressions, HTML tags,
    entities and ``<style>`` / ``<script>`` bodies removed."""
    text = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    text = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", " ", text, flags=re.S)
    text = re.sub(r"<(style|script)\b.*?</\1>", " ", text, flags=re.S | re.I)
    text = re.sub(r"<!--.*?-->|<[^>]*>|&[a-z]+;", " ", text, flags=re.S)
    return text


@pytest.mark.parametrize("rel", HTML_CODE)
def test_no_english_in_html_code(rel):
    found = english_literals((ROOT / rel).read_text(encoding="utf-8"))
    assert not found, f"{rel}: move these texts into the catalogues (page.* keys): {found[:5]}"


@pytest.mark.parametrize("path", sorted(TEMPLATES.rglob("*.j2")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_words_in_templates(path):
    left = template_text(path.read_text(encoding="utf-8"))
    words = re.findall(r"[^\W\d_]{2,}", left)
    assert not words, f"{path.name} writes words itself; use say('page.…', lang): {words[:8]}"


def test_the_template_and_code_scans_find_words():
    assert template_text('{# a note #}<p class="x">{{ say("k", lang) }} Total</p>').split() == ["Total"]
    assert english_literals('x = f"{a} studies"\ny = "Care-manager studies"\nz = "page.title.x"\n') \
        == ["Care-manager studies"]
    assert english_literals('"""Doc string here."""\nq = "shell/index.html.j2"\n') == []
