"""Words for the reader, one catalogue per language.

The catalogues are ``catalogue/en.yaml`` and ``catalogue/ru.yaml`` beside this module: a flat mapping
from a dotted key (``retention.fit.limit_case``) to a text with ``{named}`` fields, or — for a text
that counts something — to its plural forms (``one``/``other`` in English; ``one``/``few``/``many``/
``other`` in Russian), chosen for the count ``n`` by the CLDR plural rules through babel
(https://cldr.unicode.org/index/cldr-spec/plural-rules).  Both catalogues carry the same keys and the
same fields (``tests/test_words.py``).

Calculations never call this module: they return :class:`analysis.codes.Note` (a key and its fields);
pages and notebooks turn notes into words with :func:`say` / :func:`note_text`.
"""
from __future__ import annotations

import re
import string
from functools import lru_cache
from importlib import resources

import yaml
from babel import Locale

__all__ = ["LANGS", "say", "note_text", "catalogue", "has", "fields_of", "field_kind"]

LANGS = ("en", "ru")
PLURAL_FORMS = {"zero", "one", "two", "few", "many", "other"}


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict:
    """The catalogue of ``lang`` as a flat ``{key: text or {plural form: text}}``.

    Raises
    ------
    KeyError
        For a language the kit has no catalogue for.
    """
    if lang not in LANGS:
        raise KeyError(f"no word catalogue for language {lang!r}; the kit has {', '.join(LANGS)}")
    text = resources.files(__package__).joinpath("catalogue", f"{lang}.yaml").read_text(encoding="utf-8")
    # libyaml's safe loader when PyYAML has it: the same mapping (tests/test_words.py), ten times
    # faster than the pure-Python one (0.07 CPU-s a catalogue, read by the runner and every kernel)
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}


@lru_cache(maxsize=None)
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


def has(key: str) -> bool:
    """Whether ``key`` is in the catalogues."""
    return key in catalogue("en")


def _pick(entry, lang: str, n):
    if isinstance(entry, dict):
        if n is None:
            raise ValueError("a plural text needs the count n")
        form = _locale(lang).plural_form(abs(n) if isinstance(n, int) else abs(float(n)))
        # Russian counts with a fraction take the "other" form (1,5 часа); CLDR says so too.
        return entry.get(form, entry["other"])
    return entry


def say(key: str, lang: str = "en", n=None, **fields) -> str:
    """The text of ``key`` in ``lang``, its ``{fields}`` filled in.

    Parameters
    ----------
    key : str
        Dotted catalogue key.
    lang : {"en", "ru"}
    n : int or float, optional
        The count that picks the plural form (required for plural texts); also available as ``{n}``.
    **fields
        Values for the text's named fields, already formatted as the reader should see them.

    Raises
    ------
    KeyError
        Unknown key or language, or a field the text needs but was not given.
    """
    entry = catalogue(lang)[key]
    text = _pick(entry, lang, n)
    if n is not None and "n" not in fields:
        fields["n"] = n
    return text.format_map(_Strict(fields, key))


def note_text(note, lang: str = "en", fmt=None) -> str:
    """Words for an :class:`analysis.codes.Note` in ``lang``.

    ``fmt`` (optional) is called as ``fmt(name, value)`` for each field and returns its text — the
    page's formatter for money, percentages and dates; by default fields are shown as given.
    A field's text decides its unit, whatever ``fmt`` would do (:func:`field_kind`): a field written
    before a count's unit (``{months} months``, ``{n} клиентов``) is shown as a grouped count, and a
    field written before ``%`` as a plain number — so a page formatting a note's figures as shares
    never writes "600 % months" nor "35 % %".  With ``fmt``, the note's count ``{n}`` is grouped like
    the other numbers (10,314, not 10314); it still picks the plural form as a number.
    """
    from analysis.pages import i18n

    fields = dict(note.fields)
    if fmt is not None:
        out = {}
        for k, v in fields.items():
            kind = field_kind(note.code, k)
            if kind in ("count", "number") and _is_number(v):
                out[k] = i18n.number(v, lang, 0 if float(v).is_integer() else 1)
            else:
                out[k] = fmt(k, v)
        fields = out
        if note.n is not None and "n" not in fields:   # the count as the other numbers: 10,314, not 10314
            fields["n"] = i18n.number(note.n, lang, 0 if float(note.n).is_integer() else 1)
            text = _pick(catalogue(lang)[note.code], lang, note.n)   # the plural form by the number
            return text.format_map(_Strict(fields, note.code))
    return say(note.code, lang, n=note.n, **fields)


def _is_number(v) -> bool:
    import numbers

    return isinstance(v, numbers.Real) and not isinstance(v, bool)


# Words after a field that make it a count (English; "-month" of "a 6-month pilot"), and the
# percent sign after a field that already is a percentage number.
_COUNT_UNITS = re.compile(
    r"^\s*(?:\*\*)?\s*-?(?:months?|weeks?|days?|clients?|rows?|people|person|visits?|times|hours?|minutes?)\b",
    re.IGNORECASE)
_PERCENT_AFTER = re.compile(r"^\s*%")


@lru_cache(maxsize=None)
def _kinds(key: str) -> dict:
    kinds: dict[str, str] = {}
    for lang in LANGS:
        entry = catalogue(lang).get(key)
        for text in (entry.values() if isinstance(entry, dict) else [entry] if entry is not None else []):
            text = str(text)
            for m in re.finditer(r"\{(\w+)\}", text):
                after = text[m.end():m.end() + 20]
                if _PERCENT_AFTER.match(after):
                    kinds[m.group(1)] = "number"
                elif lang == "en" and _COUNT_UNITS.match(after):   # Russian puts shares before nouns too
                    kinds.setdefault(m.group(1), "count")
    return kinds


def field_kind(key: str, name: str) -> str | None:
    """What the catalogue text of ``key`` says field ``name`` is, from the words that follow it in
    its texts: ``"count"`` (the English text follows it with a count's unit: months, days, clients,
    rows, people, visits, times, hours, minutes — the Russian "{share} клиентов" is a share, so only
    English decides), ``"number"`` (either text follows it with ``%``: the calculation passed a
    percentage number) or None (the page's formatter decides)."""
    return _kinds(key).get(name)


def fields_of(text: str) -> set[str]:
    """The ``{named}`` fields a catalogue text uses."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class _Strict(dict):
    def __init__(self, fields, key):
        super().__init__(fields)
        self._key = key

    def __missing__(self, name):
        raise KeyError(f"catalogue text {self._key!r} needs the field {name!r}")
