"""Pay schemes in words: a scheme's name, its components in plain words, the components table.

The calculations (:mod:`analysis.sections.compensation`) return schemes and components as data; this module
words them in the report's language from the catalogues (keys ``compensation.component.*``).
"""
from __future__ import annotations

import pandas as pd

from analysis.pages import i18n
from analysis.pages.words import catalogue, say

__all__ = ["scheme_label", "describe_component", "components_table"]


def scheme_label(scheme: dict, lang: str = "en") -> str:
    """A scheme's name for the reader: its ``label`` (text or ``{en, ru}``), else its name."""
    from analysis.sections import compensation

    return compensation.scheme_label(scheme, lang)


def _pct(x: float, lang: str) -> str:
    return i18n.percent(x, lang, 0 if round(x * 100, 6).is_integer() else (1 if round(x * 1000, 6).is_integer() else 2))


def describe_component(comp: dict, lang: str = "en", currency: str = "RUB") -> str:
    """One pay component in plain words (``"3% of block profit"``).

    Examples
    --------
    >>> describe_component({"profit_share": 0.03}, "en")
    '3% of block profit'
    """
    from analysis.sections.compensation import COMPONENTS, _normalize_component

    c = _normalize_component(comp)
    component = COMPONENTS.get(c["type"])
    if component is None:
        return c["type"]
    code, fields = component.describe(c)
    return say(f"compensation.component.{code}", lang,
               **{name: _field(form, value, lang, currency) for name, (form, value) in fields.items()})


def _field(form: str, value, lang: str, currency: str) -> str:
    """One field of a component's words (see :meth:`analysis.sections.compensation.Component.describe`)."""
    if form == "money":
        return i18n.money(value, currency, lang)
    if form == "percent":
        return _pct(value, lang)
    if form == "word":
        return say(f"compensation.component.{value}", lang)
    if form == "steps":
        return " / ".join(say("compensation.component.step", lang, rate=_pct(r, lang),
                              amount=i18n.money(f, currency, lang, short=True)) for f, r in value)
    if form == "components":
        return "; ".join(describe_component(x, lang, currency) for x in value)
    if form == "kpi":
        key = f"compensation.component.kpi.{value}"
        return say(key, lang) if key in catalogue(lang) else value
    if form == "direction":
        return "≥" if value == "above" else "≤"
    if form == "level":
        return _pct(value, lang) if 0 <= value <= 1 else i18n.number(value, lang, 2)
    raise ValueError(f"Unknown field form {form!r}.")


def components_table(scheme: dict, block, lang: str = "en", currency: str = "RUB") -> pd.DataFrame:
    """:func:`analysis.sections.compensation.components_table` with its ``component`` column in words."""
    from analysis.sections import compensation

    t = compensation.components_table(scheme, block)
    t["component"] = [say("compensation.component.total", lang) if c == compensation.TOTAL
                      else describe_component(c, lang, currency) for c in t["component"]]
    return t


def net_cost_words(net_month: float) -> tuple[str, dict]:
    """What the role adds a month net of what it replaces, as a catalogue key and its fields:
    ``compensation.net.adds`` (``value``: the net cost, positive), ``compensation.net.saves``
    (``saving``: the role replaces more than it costs, as a positive amount) or
    ``compensation.net.even`` (less than half a unit of money either way).  ``net_month`` is
    :func:`analysis.sections.summary.role_cost`'s ``net_cost_month`` (study currency a month); the
    fields are numbers, formatted by the page.  A saving is never written as a negative addition, and
    "the role's cost" stays the gross figure the other pages give (``role_cost_month``)."""
    net = float(net_month)
    if not abs(net) >= 0.5:
        return "compensation.net.even", {}
    if net > 0:
        return "compensation.net.adds", {"value": net}
    return "compensation.net.saves", {"saving": -net}
