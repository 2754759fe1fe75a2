"""Language, money, numbers and dates in English and Russian.

Money follows the study's language: ``1,234,567 ₽`` in English, ``1 234 567 ₽`` in Russian (a
no-break space groups thousands, a comma marks decimals).  Symbols before the amount for $, €, £
in English (``$1,234``), after it otherwise.
"""
from __future__ import annotations

import datetime as dt
import math

__all__ = ["SYMBOLS", "money", "number", "percent", "probability", "date", "month", "tr", "MONTHS"]

NBSP = "\u00a0"
SYMBOLS = {"RUB": "₽", "USD": "$", "EUR": "€", "GBP": "£", "KZT": "₸", "UAH": "₴", "BYN": "Br",
           "AED": "AED", "CNY": "¥", "TRY": "₺", "GEL": "₾", "AMD": "֏", "UZS": "сум"}
_PREFIX_EN = {"USD", "EUR", "GBP", "CNY"}

MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "ru": ["янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"],
}


def tr(lang: str, en: str, ru: str) -> str:
    """Pick the text for ``lang``."""
    return ru if lang == "ru" else en


def number(x, lang: str = "en", decimals: int = 0) -> str:
    """Group thousands: ``1,234.5`` (en) or ``1 234,5`` (ru). NaN / None -> ``–``."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    text = f"{float(x):,.{decimals}f}"
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
    sym = SYMBOLS.get(currency, currency)
    if short and abs(x) >= 1_000:
        for div, en, ru in ((1e9, "B", "млрд"), (1e6, "M", "млн"), (1e3, "k", "тыс.")):
            if abs(x) >= div:
                v = x / div
                body = number(v, lang, 0 if abs(round(v, 1) - round(v)) < 1e-9 else 1)
                body = body + (NBSP + ru if lang == "ru" else en)
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
    if 0.99 < p < 1:
        return tr(lang, "over 99%", "более чем 99" + NBSP + "%")
    if 0 < p < 0.01:
        return tr(lang, "under 1%", "менее чем 1" + NBSP + "%")
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
    return f"{MONTHS[lang if lang in MONTHS else 'en'][d.month - 1]} {d.year}"
