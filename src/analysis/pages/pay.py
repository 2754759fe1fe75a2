"""Pay schemes in words: a scheme's name, its components in plain words, the components table.

The calculations (:mod:`analysis.compensation`) return schemes and components as data; this module
words them in the report's language from the catalogues (keys ``compensation.component.*``).
"""
from __future__ import annotations

import pandas as pd

from .. import i18n
from .words import catalogue, say

__all__ = ["scheme_label", "describe_component", "components_table"]


def scheme_label(scheme: dict, lang: str = "en") -> str:
    """A scheme's name for the reader: its ``label`` (text or ``{en, ru}``), else its name."""
    from .. import compensation

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
    from ..compensation import _normalize_component

    c = _normalize_component(comp)

    def money(x):
        return i18n.money(x, currency, lang)

    def w(key, **fields):
        return say(f"compensation.component.{key}", lang, **fields)

    kind = c["type"]
    if kind in ("fixed", "floor", "cap"):
        return w(kind, amount=money(c["amount"]))
    if kind == "own_services":
        return w("own_services", rate=_pct(c["rate"], lang), deduct=w(f"deduct.{c['deduct_consumables']}"))
    if kind in ("revenue_share", "profit_share"):
        return w(kind, rate=_pct(c["rate"], lang))
    if kind == "tiered":
        steps = " / ".join(w("step", rate=_pct(r, lang), amount=i18n.money(f, currency, lang, short=True))
                           for f, r in c["brackets"])
        mode = "retroactive" if c["mode"] == "retroactive" else "progressive"
        return w(f"tiered.{mode}", base=w(f"base.{c['base']}"), steps=steps)
    if kind == "max_of":
        return w("max_of", parts="; ".join(describe_component(x, lang, currency) for x in c["components"]))
    if kind == "kpi_bonus":
        sign = "≥" if c["direction"] == "above" else "≤"
        key = f"compensation.component.kpi.{c['kpi']}"
        kpi = say(key, lang) if key in catalogue(lang) else c["kpi"]
        target = _pct(c["target"], lang) if 0 <= c["target"] <= 1 else i18n.number(c["target"], lang, 2)
        return w("kpi_bonus", amount=money(c["amount"]), kpi=kpi, sign=sign, target=target)
    return kind


def components_table(scheme: dict, block, lang: str = "en", currency: str = "RUB") -> pd.DataFrame:
    """:func:`analysis.compensation.components_table` with its ``component`` column in words."""
    from .. import compensation

    t = compensation.components_table(scheme, block)
    t["component"] = [say("compensation.component.total", lang) if c == compensation.TOTAL
                      else describe_component(c, lang, currency) for c in t["component"]]
    return t
