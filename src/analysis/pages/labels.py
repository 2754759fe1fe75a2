"""Names and settings as the reader should see them: block names, setting values in words.

* :func:`block_label` — a block's name in the report's language: the study's ``block_names``
  (``study.yaml``), else the kit's built-in name (catalogue ``page.block.<name>``), else the name as
  the data spell it.  Every page that shows a block name should call it.
* :func:`setting_text` — a study setting's value in words: choices named (``specialist_managers`` ->
  "a manager in each block"), money with its currency, shares as percentages, ranges as
  "most likely (from low to high)".
"""
from __future__ import annotations

import datetime as dt
import math
import re

from analysis.pages import i18n
from analysis.pages.words import catalogue, say

__all__ = ["block_label", "block_labels", "setting_text", "study_name", "BUILTIN_BLOCKS"]

#: Blocks with a built-in name in the catalogues (``page.block.<name>``).
BUILTIN_BLOCKS = ("all", "hair", "nails", "cosmetology", "spa", "fitness", "massage", "barber", "makeup",
                  "brows", "lashes", "depilation", "solarium", "tanning", "yoga", "pool", "kids")

_ALIASES = {"make-up": "makeup", "make_up": "makeup", "eyebrows": "brows", "barbershop": "barber",
            "waxing": "depilation", "hair_removal": "depilation", "nail": "nails", "manicure": "nails",
            "beauty": "cosmetology", "gym": "fitness", "swimming_pool": "pool", "lash": "lashes"}

_MONEY_KEY = re.compile(r"(salary|cost|floor|revenue_month|amount|_pay\b|pay_month)")
_PCT_TYPES = ("fraction", "uncertain_fraction")
_PCT_KEY = re.compile(r"(revenue_change|_cv_month|_share$|_rate$|_prob$)")


def study_name(study, lang: str = "en") -> str:
    """The study's name for a page in ``lang``: ``name_ru`` (study.yaml) on Russian pages when it
    is set, else ``name``."""
    if lang == "ru":
        try:
            ru = study.get("name_ru")
        except Exception:  # a study object without the key
            ru = None
        if isinstance(ru, str) and ru.strip():
            return ru.strip()
    return study.name


def _names(study) -> dict:
    if study is None:
        return {}
    try:
        names = study.get("block_names") if hasattr(study, "get") else None
    except Exception:  # a study without the key (older schema)
        names = None
    return names if isinstance(names, dict) else {}


def block_label(block, lang: str = "en", study=None) -> str:
    """A block's name in ``lang``.

    Parameters
    ----------
    block : str
        The block as the data spell it (``hair``, ``Nails``, ``kids``).
    lang : {"en", "ru"}
    study : Study, optional
        Its ``block_names`` mapping wins: ``{kids: Детская}`` (one name for every language) or
        ``{kids: {en: Kids' room, ru: Детская комната}}``.

    Examples
    --------
    >>> block_label("hair", "ru")
    'Волосы'
    >>> block_label("kids_room", "en")
    'kids_room'
    """
    if block is None or (isinstance(block, float) and math.isnan(block)):
        return say("common.not_available", lang)
    text = str(block)
    given = _names(study).get(text)
    if isinstance(given, dict):
        given = given.get(lang) or given.get("en") or next(iter(given.values()), None)
    if isinstance(given, str) and given.strip():
        return given
    norm = text.strip().lower().replace(" ", "_")
    norm = _ALIASES.get(norm, norm)
    key = f"page.block.{norm}"
    return say(key, lang) if key in catalogue(lang) else text


def block_labels(blocks, lang: str = "en", study=None) -> dict:
    """``{block: label}`` for many blocks (for ``Series.map`` and chart legends)."""
    return {b: block_label(b, lang, study) for b in blocks}


def _pct(x: float, lang: str) -> str:
    for decimals in (0, 1, 2):
        if abs(round(x * 100, decimals) - x * 100) < 1e-9:
            return i18n.percent(x, lang, decimals)
    return i18n.percent(x, lang, 2)


def _num(x: float, lang: str) -> str:
    for decimals in (0, 1, 2, 3):
        if abs(round(x, decimals) - x) < 1e-9:
            return i18n.number(x, lang, decimals)
    return i18n.number(x, lang, 3)


def setting_text(key: str, value, lang: str = "en", currency: str = "RUB", spec: dict | None = None,
                 study=None) -> str:
    """A setting's value in words for the assumption tables.

    Parameters
    ----------
    key : str
        Dotted key (``staffing.current_setup``).
    value
        The resolved value (a number, an :class:`~analysis.inputs.study.Uncertain`, a choice, a list).
    spec : dict, optional
        The key's schema leaf (its ``type`` picks percent or number).
    study : Study, optional
        For block names and pay-scheme names.
    """
    spec = spec or {}
    typ = spec.get("type", "")
    leaf = key.rsplit(".", 1)[-1]
    if value is None:
        return empty_text(key, lang, study)
    if isinstance(value, bool):
        return say("page.value.yes" if value else "page.value.no", lang)
    if typ == "blocks" or key == "care_manager.covers":
        if value == "all":
            return say("page.block.all", lang)
        return ", ".join(block_label(b, lang, study) for b in value)
    if key == "care_manager.scheme":
        return _scheme_label(value, lang, study)
    if isinstance(value, (dt.date, dt.datetime)):
        return i18n.date(value, lang)
    if isinstance(value, str):
        # a choice in words: its own label for this setting first, then the label shared by settings
        for k in (f"page.value.{key}.{value}", f"page.value.{value}"):
            if typ == "choice" and k in catalogue(lang):
                return say(k, lang)
        return value
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)

    # an amount defined in another currency than the study's (``currency_key`` in its schema leaf:
    # the kit's reference pay is in the money defaults' currency, roubles) is shown in that one
    if spec.get("currency_key") and study is not None:
        currency = str(study.get(spec["currency_key"]) or currency)

    def one(x) -> str:
        if typ in _PCT_TYPES:
            return _pct(float(x), lang)
        if _MONEY_KEY.search(key) or spec.get("currency_key"):
            return i18n.money(x, currency, lang)
        if _PCT_KEY.search(key):
            return _pct(float(x), lang)
        if leaf == "seed":
            return str(int(x))
        return _num(float(x), lang)

    if hasattr(value, "low") and hasattr(value, "mode") and hasattr(value, "high"):
        if value.low == value.high:
            return one(value.mode)
        return say("page.setting.range", lang, mode=one(value.mode), low=one(value.low), high=one(value.high))
    if isinstance(value, (int, float)):
        return one(value)
    return str(value)


def empty_text(key: str, lang: str = "en", study=None) -> str:
    """An empty setting in words: what the kit uses instead, never a bare "not set".

    ``economics.money_scale``: the factor the money defaults were multiplied by and its basis
    (:func:`analysis.sections.pnl.money_scale`: ``same_currency``, ``specialist_pay``,
    ``visit_amount`` or ``unknown``) when the study was localised
    (:func:`analysis.sections.pnl.localise`), else 1 for the defaults' own currency, else where it
    will come from; other keys with their own words (``page.value.empty.<key>``: the data's last date,
    no pilot, …); ``page.value.unset`` otherwise."""
    from analysis.pages.words import has

    if key == "economics.money_scale" and study is not None:
        k, source = getattr(study, "money_scale", None), getattr(study, "money_scale_source", None)
        if source is None:
            same = str(study.currency).upper() == str(study.get("economics.money_defaults_currency") or "RUB").upper()
            source, k = ("same_currency", 1.0) if same else ("derived", None)
        if source == "unknown" or (k is not None and not math.isfinite(float(k))):
            return say("page.value.money_scale.unknown", lang)
        if k is None:
            return say("page.value.money_scale.derived", lang)
        return say(f"page.value.money_scale.{source}", lang, scale=i18n.number(float(k), lang, 3))
    specific = f"page.value.empty.{key}"
    return say(specific, lang) if has(specific) else say("page.value.unset", lang)


def _scheme_label(name: str, lang: str, study) -> str:
    if study is None:
        return str(name)
    try:
        from analysis.sections import compensation

        return compensation.scheme_label(compensation.scheme_of(study, name), lang)
    except Exception:  # an unknown scheme is reported by the pay page; here show its name
        return str(name)
