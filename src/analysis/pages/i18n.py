"""Language, money, numbers and dates in English and Russian.

Money follows the study's language: ``1,234,567 ₽`` in English, ``1 234 567 ₽`` in Russian (a
no-break space groups thousands, a comma marks decimals).  Symbols before the amount for $, €, £
in English (``$1,234``), after it otherwise.

The words these formats need (month abbreviations, "M" / "млн", "over 99%") are in the word
catalogues (keys ``i18n.*``), like every other word for the reader.
"""
from __future__ import annotations

import datetime as dt
import math

__all__ = ["SYMBOLS", "symbol", "money", "number", "percent", "probability", "date", "month", "tr", "MONTHS"]

NBSP = "\u00a0"
#: Currency signs that read the same in every language; a currency written as a word in some
#: language (the Uzbek sum) has a catalogue key ``i18n.symbol.<ISO>`` instead (see :func:`symbol`).
SYMBOLS = {"RUB": "₽", "USD": "$", "EUR": "€", "GBP": "£", "KZT": "₸", "UAH": "₴", "BYN": "Br",
           "AED": "AED", "CNY": "¥", "TRY": "₺", "GEL": "₾", "AMD": "֏", "UZS": "UZS"}
_PREFIX_EN = {"USD", "EUR", "GBP", "CNY"}


class _Months(dict):
    """``MONTHS[lang]``: the twelve month abbreviations of ``lang`` (catalogue key ``i18n.months``)."""

    def __missing__(self, lang):
        from analysis.pages.words import say

        return say("i18n.months", lang).split()

    def __contains__(self, lang):
        return lang in ("en", "ru")


MONTHS = _Months()


def symbol(currency: str, lang: str = "en") -> str:
    """The sign of ``currency`` as a reader of ``lang`` writes it (``UZS`` -> ``сум`` in Russian)."""
    from analysis.pages.words import has, say

    key = f"i18n.symbol.{currency}"
    return say(key, lang) if has(key) else SYMBOLS.get(currency, currency)


def tr(lang: str, en: str, ru: str) -> str:
    """Pick the text for ``lang``."""
    return ru if lang == "ru" else en


def number(x, lang: str = "en", decimals: int = 0) -> str:
    """Group thousands: ``1,234.5`` (en) or ``1 234,5`` (ru). NaN / None -> ``–``.  A value that
    rounds to zero is written without a sign (``-0.001 -> "0.00"``, never ``"−0.00"``)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    text = f"{float(x):,.{decimals}f}"
    if text.startswith("-") and not any(ch in "123456789" for ch in text):
        text = text[1:]
    if text.startswith("-"):
        text = "−" + text[1:]
    if lang == "ru":
        text = text.replace(",", NBSP).replace(".", ",")
    return text


def money(x, currency: str = "RUB", lang: str = "en", decimals: int = 0, short: bool = False) -> str:
    """Format an amount: ``money(1234567, "RUB", "ru") == "1 234 567 ₽"`` (no-break spaces).

    ``short=True`` writes large amounts as ``1.2M ₽`` / ``1,2 млн ₽``.
    """
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    from analysis.pages.words import say

    sym = symbol(currency, lang)
    if short and abs(x) >= 1_000:
        for div, unit in ((1e9, "billion"), (1e6, "million"), (1e3, "thousand")):
            if abs(x) >= div:
                v = x / div
                body = number(v, lang, 0 if abs(round(v, 1) - round(v)) < 1e-9 else 1)
                body = say("i18n.short.join", lang, number=body, unit=say(f"i18n.short.{unit}", lang))
                break
    else:
        body = number(x, lang, decimals)
    if lang != "ru" and currency in _PREFIX_EN:
        neg = body.startswith("−")
        return ("−" if neg else "") + sym + body.lstrip("−")
    return body + NBSP + sym


def percent(x, lang: str = "en", decimals: int = 0) -> str:
    """``0.305 -> "30.5%"`` (en, decimals=1) or ``"30,5 %"`` (ru)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    body = number(100 * x, lang, decimals)
    return body + (NBSP + "%" if lang == "ru" else "%")


def probability(p, lang: str = "en") -> str:
    """A chance in words an owner can trust: never "100 %" or "0 %" unless it is exact
    (``0.9993 -> "over 99%"``, ``0.004 -> "under 1%"``)."""
    if p is None or (isinstance(p, float) and not math.isfinite(p)):
        return "–"
    from analysis.pages.words import say

    if 0.99 < p < 1:
        return say("i18n.over_99", lang)
    if 0 < p < 0.01:
        return say("i18n.under_1", lang)
    return percent(p, lang, 0)


def date(d, lang: str = "en") -> str:
    """``2024-06-30`` -> ``30 Jun 2024`` / ``30.06.2024``."""
    if d is None:
        return "–"
    if hasattr(d, "date") and not isinstance(d, dt.date):
        d = d.date()
    if isinstance(d, dt.datetime):
        d = d.date()
    if lang == "ru":
        return d.strftime("%d.%m.%Y")
    return f"{d.day} {MONTHS['en'][d.month - 1]} {d.year}"


def month(d, lang: str = "en") -> str:
    """Month label: ``Jun 2024`` / ``июн 2024``."""
    return f"{MONTHS[lang if lang in ('en', 'ru') else 'en'][d.month - 1]} {d.year}"
