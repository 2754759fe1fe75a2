"""Pay schemes for the care manager, as data, and the manager's pay under simulated block results.

A *scheme* is written in ``study.yaml`` (``compensation.schemes``) as a mapping with a ``name`` and a
list of ``components``; the pay is the sum of the components, then held between an optional
``floor`` and ``cap``::

    - name: source
      en: "Specialist wage for own services + director rate + 3% of block profit"
      components:
        - {type: own_services, rate: 0.40, deduct_consumables: none}
        - {type: fixed, amount: 50000}
        - {type: profit_share, rate: 0.03}

A component may also be written as ``{fixed: {amount: 50000}}``.  The kinds (all amounts per month,
in the study's currency):

``fixed {amount}``
    A salary or a "director rate".
``own_services {rate, deduct_consumables: none|before|after}``
    Wage for the manager's own services as a working specialist: ``rate * own_revenue`` (none),
    ``rate * (own_revenue - own_consumables)`` (before: cost deducted before commission) or
    ``rate * own_revenue - own_consumables`` (after).  Phorest's example: (200 - 10) x 10% = 19
    before, 10% x 200 - 10 = 10 after.
``revenue_share {rate}``
    ``rate * revenue`` of the covered block(s).
``profit_share {rate}``
    ``rate * max(profit, 0)`` with block profit = revenue - consumables - staff_pay, where
    ``staff_pay`` is the pay of the block's specialists and excludes this profit share (no
    circularity): the source document's "% of the block's profit (turnover - consumables - staff
    wages)".
``tiered {base: revenue|profit|own_revenue, mode: progressive|retroactive, brackets: [[from, rate], ...]}``
    Progressive: each slice of the base between two thresholds earns its bracket's rate (like income
    tax).  Retroactive: the rate of the highest threshold reached applies to the whole base
    (Boulevard: reaching the 45% tier on $1,500 pays $675; progressive pays 1000 x 40% + 500 x 45% = 625).
``max_of {components: [...]}``
    The larger of several components, e.g. a salary and a commission (Vagaro, Meevo).
``kpi_bonus {kpi, target, amount, direction: above|below}``
    ``amount`` when the KPI (a base passed by name, e.g. ``repeat_retention``) reaches ``target``.
``floor {amount}``, ``cap {amount}``
    Bounds on the total.

Every component is at least 0: a loss-making month pays no profit share, it does not claw back
other pay.

Each kind is a :class:`Component` subclass registered once in :data:`COMPONENTS` (its keys, their
check, its pay, the codes that word it); validation, normalising, the pay and the components table
dispatch through the registry, and :func:`register_component` adds a kind.

References
----------
The pay rules the salon systems implement, from their help centres (Phorest, Boulevard, Fresha, Vagaro,
Meevo, Altegio / YCLIENTS) and the Good Salon Guide — cited in full on the references page
(``pages/references.py``); the care-manager pay scheme as the commissioning owner described it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.errors import InputError, Problem

__all__ = [
    "role_cost_params",
    "COMPONENT_KINDS",
    "COMPONENTS",
    "Component",
    "register_component",
    "BASES",
    "SIMULATED_KPIS",
    "MONTHS",
    "pay",
    "normalize_scheme",
    "validate_scheme",
    "validate_schemes",
    "schemes_of",
    "scheme_of",
    "scheme_kpis",
    "BlockMonths",
    "simulate_block",
    "PayScenarios",
    "scenarios",
    "Comparison",
    "compare",
    "incentive_slopes",
    "pay_curve",
    "recommend",
    "recommendation_code",
    "scheme_label",
    "describe_component",
    "components_table",
    "TOTAL",
    "bonus_months_share",
]

WHERE = "study.yaml: compensation.schemes"
MONTHS = 12  # months simulated per scenario: one year of monthly pay

#: The money bases a scheme can use; any other keyword passed to `pay` is a KPI value.
BASES = ("revenue", "consumables", "staff_pay", "own_revenue", "own_consumables")
#: KPIs the pay simulation provides (a study's bonus schemes may use only these).
SIMULATED_KPIS = ("repeat_retention",)
_TIER_BASES = ("revenue", "profit", "own_revenue")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_SCHEME_KEYS = {"name", "components", "en", "ru", "label"}
_LABEL_KEYS = {"label", "en", "ru", "note"}  # free text allowed on a component


# =========================================================================== components


class Component:
    """One kind of pay component: its keys, their check, its pay and the codes that word it.

    A kind is registered once in :data:`COMPONENTS` (with :func:`register_component`); the generic
    functions (:func:`validate_scheme`, :func:`normalize_scheme`, :func:`pay`,
    :func:`components_table`, :func:`analysis.pages.pay.describe_component`) dispatch through it.

    Attributes
    ----------
    kind : str
        The name written in study.yaml (``type: fixed``).
    required, optional : tuple of str
        The component's keys.
    defaults : dict
        Values of optional keys left out, filled in by :meth:`normalise`.
    shorthand_key : str or None
        The key a bare value stands for in the short form (``{fixed: 50000}`` is
        ``{fixed: {amount: 50000}}``); None when the kind has no short form.
    nestable : bool
        Whether the component may sit inside ``max_of``.
    bounds_total : bool
        True for components that bound the scheme's total (:meth:`limit`) instead of adding to it.
    """

    kind: str = ""
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    defaults: dict = {}
    shorthand_key: str | None = None
    nestable: bool = True
    bounds_total: bool = False

    def shorthand(self, body) -> dict | None:
        """The keys of the short form ``{kind: body}`` when ``body`` is not a mapping; None when unreadable."""
        if self.shorthand_key is not None and _is_number(body):
            return {self.shorthand_key: body}
        return None

    def normalise(self, keys: dict) -> dict:
        """The component's keys with the optional ones filled in (``keys`` already checked)."""
        out = dict(keys)
        for k, v in self.defaults.items():
            out.setdefault(k, v)
        return out

    def check(self, keys: dict, problem) -> None:
        """Check the values of the component's own keys (presence and unknown keys are checked
        generically); report each bad value with ``problem(key, allowed)``, a component inside
        this one with ``problem.nested(component)``."""

    def pay(self, c: dict, bases) -> np.ndarray:
        """The component's pay per month (>= 0) for the normalised component ``c``.

        ``bases`` looks up the money bases and KPIs (``bases.get(name, who)``,
        ``bases.profit(who)``, ``bases.shape``); it raises a clear error when one is missing.
        """
        raise NotImplementedError(self.kind)

    def kpis(self, c: dict) -> set:
        """Names of the KPIs the component needs."""
        return set()

    def parts(self, c: dict) -> list:
        """The components this one is made of (itself when it is not a combination)."""
        return [c]

    def describe(self, c: dict) -> tuple[str, dict]:
        """``(code, fields)`` for the words: the catalogue key ``compensation.component.{code}``
        and its fields as ``{name: (form, value)}``, form one of ``money``, ``percent``, ``word``
        (a catalogue key under ``compensation.component``), ``steps`` (tier brackets),
        ``components`` (a list of components), ``kpi`` (a KPI name), ``direction``
        (above / below), ``level`` (a KPI target)."""
        return self.kind, {}


#: The registered component kinds, in the order they are listed to the user.
COMPONENTS: dict[str, Component] = {}
#: Component kinds and their keys: (required, optional).
COMPONENT_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def register_component(cls):
    """Register a :class:`Component` subclass under its ``kind`` (usable as a class decorator)."""
    COMPONENTS[cls.kind] = cls()
    COMPONENT_KINDS[cls.kind] = (tuple(cls.required), tuple(cls.optional))
    return cls


def _check_amount(keys: dict, key: str, problem) -> None:
    if key in keys and (not _is_number(keys[key]) or keys[key] < 0):
        problem(key, "a number >= 0")


def _check_rate(keys: dict, key: str, problem) -> None:
    if key in keys and (not _is_number(keys[key]) or not 0 <= keys[key] <= 1):
        problem(key, "in [0, 1]")


def _check_choice(keys: dict, key: str, options, problem) -> None:
    if key in keys and keys[key] not in options:
        problem(key, "one of " + ", ".join(options))


@register_component
class Fixed(Component):
    """A fixed monthly amount: a salary or a "director rate".

    Keys: ``amount`` (money per month, >= 0).  Short form ``{fixed: 50000}``.
    """

    kind = "fixed"
    required = ("amount",)
    shorthand_key = "amount"

    def check(self, keys, problem):
        _check_amount(keys, "amount", problem)

    def pay(self, c, bases):
        return np.full(bases.shape, float(c["amount"]))

    def describe(self, c):
        return self.kind, {"amount": ("money", c["amount"])}


@register_component
class OwnServices(Component):
    """Wage for the manager's own services as a working specialist.

    Keys: ``rate`` (share in [0, 1]), ``deduct_consumables`` (none | before | after, default none).
    Pays ``rate * own_revenue`` (none), ``rate * (own_revenue - own_consumables)`` (before) or
    ``rate * own_revenue - own_consumables`` (after), money per month, at least 0.
    """

    kind = "own_services"
    required = ("rate",)
    optional = ("deduct_consumables",)
    defaults = {"deduct_consumables": "none"}

    def check(self, keys, problem):
        _check_rate(keys, "rate", problem)
        _check_choice(keys, "deduct_consumables", ("none", "before", "after"), problem)

    def pay(self, c, bases):
        rev = bases.get("own_revenue", self.kind)
        mode = c["deduct_consumables"]
        cons = bases.get("own_consumables", self.kind, default=None if mode != "none" else 0.0)
        if mode == "before":
            out = c["rate"] * (rev - cons)
        elif mode == "after":
            out = c["rate"] * rev - cons
        else:
            out = c["rate"] * rev
        return np.maximum(out, 0.0)

    def describe(self, c):
        return self.kind, {"rate": ("percent", c["rate"]),
                           "deduct": ("word", f"deduct.{c['deduct_consumables']}")}


@register_component
class RevenueShare(Component):
    """A share of the covered block's revenue: ``rate * max(revenue, 0)`` a month.

    Keys: ``rate`` (share in [0, 1]).  Short form ``{revenue_share: 0.02}``.
    """

    kind = "revenue_share"
    required = ("rate",)
    shorthand_key = "rate"

    def check(self, keys, problem):
        _check_rate(keys, "rate", problem)

    def pay(self, c, bases):
        return c["rate"] * np.maximum(bases.get("revenue", self.kind), 0.0)

    def describe(self, c):
        return self.kind, {"rate": ("percent", c["rate"])}


@register_component
class ProfitShare(RevenueShare):
    """A share of the covered block's profit: ``rate * max(profit, 0)`` a month, block profit =
    revenue - consumables - staff_pay (the specialists' pay, without this share).

    Keys: ``rate`` (share in [0, 1]).  Short form ``{profit_share: 0.03}``.
    """

    kind = "profit_share"

    def pay(self, c, bases):
        return c["rate"] * np.maximum(bases.profit(self.kind), 0.0)


@register_component
class Tiered(Component):
    """A tiered commission on a base (money per month): progressive (each slice at its bracket's
    rate) or retroactive (the highest rate reached on the whole base).

    Keys: ``base`` (revenue | profit | own_revenue), ``brackets`` (``[[from, rate], ...]``, from
    in money >= 0 strictly increasing, rates in [0, 1]), ``mode`` (progressive | retroactive,
    default progressive).
    """

    kind = "tiered"
    required = ("base", "brackets")
    optional = ("mode",)
    defaults = {"mode": "progressive"}

    def normalise(self, keys):
        out = super().normalise(keys)
        out["brackets"] = [[float(a), float(r)] for a, r in keys["brackets"]]
        return out

    def check(self, keys, problem):
        _check_choice(keys, "base", _TIER_BASES, problem)
        _check_choice(keys, "mode", ("progressive", "retroactive"), problem)
        if "brackets" in keys:
            br = keys["brackets"]
            ok = isinstance(br, list) and br and all(
                isinstance(b, (list, tuple)) and len(b) == 2 and all(_is_number(x) for x in b) for b in br)
            if not ok:
                problem("brackets", "a list of [from, rate] pairs like [[0, 0.40], [1000, 0.45]]")
            else:
                starts = [b[0] for b in br]
                if starts[0] < 0 or any(b > a for a, b in zip(starts[1:], starts[:-1])) or \
                        len(set(starts)) < len(starts):
                    problem("brackets", "[from, rate] pairs with 'from' >= 0 and strictly increasing")
                if any(not 0 <= b[1] <= 1 for b in br):
                    problem("brackets", "[from, rate] pairs with every rate in [0, 1]")
                elif keys.get("mode") == "retroactive" and any(b[1] < a[1] for a, b in zip(br, br[1:])):
                    problem("brackets", "[from, rate] pairs with rates that never fall in retroactive mode "
                                        "(a lower rate on the whole base would cut pay when sales grow)")

    def pay(self, c, bases):
        base = bases.profit(self.kind) if c["base"] == "profit" else bases.get(c["base"], self.kind)
        return _tiered(np.maximum(base, 0.0), c["brackets"], c["mode"])

    def describe(self, c):
        mode = "retroactive" if c["mode"] == "retroactive" else "progressive"
        return f"tiered.{mode}", {"base": ("word", f"base.{c['base']}"), "steps": ("steps", c["brackets"])}


@register_component
class MaxOf(Component):
    """The larger of several components a month, e.g. a salary and a commission.

    Keys: ``components`` (a non-empty list of components; no floor, cap or max_of inside).
    Short form ``{max_of: [...]}``.
    """

    kind = "max_of"
    required = ("components",)
    nestable = False

    def shorthand(self, body):
        return {"components": body} if isinstance(body, list) else None

    def normalise(self, keys):
        out = super().normalise(keys)
        out["components"] = [_normalize_component(c) for c in keys["components"]]
        return out

    def check(self, keys, problem):
        if "components" in keys:
            sub = keys["components"]
            if not isinstance(sub, list) or not sub:
                problem("components", "a non-empty list of components")
            else:
                for c in sub:
                    problem.nested(c)

    def pay(self, c, bases):
        parts = [np.broadcast_to(_component(s, bases), bases.shape) for s in c["components"]]
        return np.maximum.reduce(parts) if len(parts) > 1 else parts[0]

    def kpis(self, c):
        return {k for s in c["components"] for k in COMPONENTS[s["type"]].kpis(s)}

    def parts(self, c):
        return list(c["components"])

    def describe(self, c):
        return self.kind, {"parts": ("components", c["components"])}


@register_component
class KpiBonus(Component):
    """A bonus paid in the months a KPI reaches its target.

    Keys: ``kpi`` (a KPI name, e.g. ``repeat_retention``, passed to :func:`pay` by name),
    ``target`` (in the KPI's units), ``amount`` (money per month, >= 0), ``direction``
    (above | below, default above: pays when KPI >= target, or <= target).
    """

    kind = "kpi_bonus"
    required = ("kpi", "target", "amount")
    optional = ("direction",)
    defaults = {"direction": "above"}

    def check(self, keys, problem):
        if "kpi" in keys and (not isinstance(keys["kpi"], str) or not _NAME.match(keys["kpi"])
                              or keys["kpi"] in BASES):
            problem("kpi", "the name of a KPI (letters, digits, _), not one of " + ", ".join(BASES))
        if "target" in keys and not _is_number(keys["target"]):
            problem("target", "a number")
        _check_amount(keys, "amount", problem)
        _check_choice(keys, "direction", ("above", "below"), problem)

    def hit(self, c: dict, value) -> np.ndarray:
        """Whether the KPI ``value`` reaches the target (elementwise)."""
        return value >= c["target"] if c["direction"] == "above" else value <= c["target"]

    def pay(self, c, bases):
        value = bases.get(c["kpi"], f"kpi_bonus ({c['kpi']})")
        return np.where(self.hit(c, value), float(c["amount"]), 0.0)

    def kpis(self, c):
        return {c["kpi"]}

    def describe(self, c):
        return self.kind, {"amount": ("money", c["amount"]), "kpi": ("kpi", c["kpi"]),
                           "sign": ("direction", c["direction"]), "target": ("level", c["target"])}


class _Bound(Component):
    """A bound on the scheme's total (pays nothing itself)."""

    required = ("amount",)
    shorthand_key = "amount"
    nestable = False
    bounds_total = True

    def check(self, keys, problem):
        _check_amount(keys, "amount", problem)

    def pay(self, c, bases):
        return np.zeros(bases.shape)

    def limit(self, total: np.ndarray, c: dict) -> np.ndarray:
        """The total held by this bound."""
        raise NotImplementedError(self.kind)

    def binds(self, raw: np.ndarray, c: dict) -> np.ndarray:
        """Where the bound changes the sum of the other components ``raw``."""
        raise NotImplementedError(self.kind)

    def describe(self, c):
        return self.kind, {"amount": ("money", c["amount"])}


@register_component
class Floor(_Bound):
    """The least the scheme pays a month: the total is raised to ``amount`` (money, >= 0).

    Keys: ``amount``.  At most one per scheme, not inside max_of.
    """

    kind = "floor"

    def limit(self, total, c):
        return np.maximum(total, c["amount"])

    def binds(self, raw, c):
        return raw < c["amount"]


@register_component
class Cap(_Bound):
    """The most the scheme pays a month: the total is cut to ``amount`` (money, >= 0).

    Keys: ``amount``.  At most one per scheme, not inside max_of.
    """

    kind = "cap"

    def limit(self, total, c):
        return np.minimum(total, c["amount"])

    def binds(self, raw, c):
        return raw > c["amount"]


class _Check:
    """Reports bad values of one component: ``problem(key, allowed)``, ``problem.nested(comp)``."""

    def __init__(self, keys: dict, cname: str, label: str, where: str, problems: list):
        self.keys, self.cname, self.label, self.where, self.problems = keys, cname, label, where, problems

    def __call__(self, key: str, allowed: str) -> None:
        self.problems.append(Problem(self.where, f"The '{key}' of {self.cname} must be {allowed}. "
                                                 f"Got {_fmt(self.keys[key])} instead."))

    def nested(self, comp) -> None:
        _check_component(comp, self.label, self.where, self.problems, nested=True)


# =========================================================================== validation


def normalize_scheme(scheme) -> dict:
    """Return ``scheme`` with every component as ``{"type": kind, **keys}`` (shorthand expanded).

    Raises
    ------
    InputError
        When the scheme is not valid (see :func:`validate_scheme`).
    """
    problems = validate_scheme(scheme)
    if problems:
        raise InputError(problems)
    return _normalize(scheme)


def _component_form(comp) -> tuple[str | None, dict]:
    """(kind, keys) of a component written either way; kind None when unreadable."""
    if not isinstance(comp, dict):
        return None, {}
    if "type" in comp:
        return comp["type"], {k: v for k, v in comp.items() if k != "type"}
    kinds = [k for k in comp if k in COMPONENTS]
    if len(comp) == 1 and kinds:
        kind = kinds[0]
        body = comp[kind]
        if body is None:
            body = {}
        if isinstance(body, dict):
            return kind, dict(body)
        keys = COMPONENTS[kind].shorthand(body)  # {fixed: 50000}, {profit_share: 0.03}, {max_of: [...]}
        return kind, keys if keys is not None else {"__bad__": body}
    return None, {}


def _normalize(scheme: dict) -> dict:
    out = {k: v for k, v in scheme.items() if k != "components"}
    out["components"] = [_normalize_component(c) for c in scheme["components"]]
    return out


def _normalize_component(comp) -> dict:
    kind, keys = _component_form(comp)
    if kind not in COMPONENTS:
        return {"type": kind, **keys}
    return {"type": kind, **COMPONENTS[kind].normalise(keys)}


def _is_number(v) -> bool:
    return not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(float(v))


def _fmt(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return repr(v) if isinstance(v, str) else str(v)


def validate_scheme(scheme, where: str = WHERE) -> list[Problem]:
    """Check one scheme; return the problems (empty when valid).

    Every message names the scheme, the component and the key, what was given and what is allowed:
    "The 'rate' of component profit_share in scheme 'source' must be in [0, 1]. Got 15 instead."
    """
    problems: list[Problem] = []
    if not isinstance(scheme, dict):
        return [Problem(where, "Each scheme must be a mapping with 'name' and 'components'. "
                               f"Got {scheme!r} instead.")]
    name = scheme.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(Problem(where, "Each scheme needs a 'name' made of letters, digits and _ "
                                       f"(it becomes part of result names). Got {name!r} instead."))
        label = repr(name)
    else:
        label = f"'{name}'"
    extra = sorted(set(scheme) - _SCHEME_KEYS)
    if extra:
        problems.append(Problem(where, f"Scheme {label} has unknown keys {extra}. "
                                       f"Allowed: {sorted(_SCHEME_KEYS)}."))
    comps = scheme.get("components")
    if not isinstance(comps, list) or not comps:
        problems.append(Problem(where, f"Scheme {label} needs a non-empty list 'components'. "
                                       f"Got {comps!r} instead."))
        return problems
    counts: dict[str, int] = {}
    for comp in comps:
        kind = _check_component(comp, label, where, problems, nested=False)
        if kind:
            counts[kind] = counts.get(kind, 0) + 1
    for kind in [k for k, c in COMPONENTS.items() if c.bounds_total]:
        if counts.get(kind, 0) > 1:
            problems.append(Problem(where, f"Scheme {label} has {counts[kind]} '{kind}' components. "
                                           "At most one is allowed."))
    if counts.get("floor") and counts.get("cap") and not problems:
        floor = next(_component_form(c)[1]["amount"] for c in comps if _component_form(c)[0] == "floor")
        cap = next(_component_form(c)[1]["amount"] for c in comps if _component_form(c)[0] == "cap")
        if floor > cap:
            problems.append(Problem(where, f"Scheme {label} has a floor ({_fmt(floor)}) above its cap "
                                           f"({_fmt(cap)}). The floor must not exceed the cap."))
    if counts and all(COMPONENTS[k].bounds_total for k in counts):
        problems.append(Problem(where, f"Scheme {label} has only floor / cap components. "
                                       "Add at least one component that pays."))
    return problems


def _check_component(comp, label: str, where: str, problems: list, nested: bool) -> str | None:
    kind, keys = _component_form(comp)
    kinds = ", ".join(COMPONENTS)
    if kind is None:
        problems.append(Problem(where, f"A component of scheme {label} must be a mapping like "
                                       f"{{type: fixed, amount: 50000}} with type one of {kinds}. "
                                       f"Got {comp!r} instead."))
        return None
    if kind not in COMPONENTS:
        problems.append(Problem(where, f"Component type {kind!r} in scheme {label} is unknown. "
                                       f"Allowed: {kinds}."))
        return None
    component = COMPONENTS[kind]
    cname = f"component {kind} in scheme {label}"
    if nested and not component.nestable:
        problems.append(Problem(where, f"A {kind} cannot sit inside max_of (in scheme {label}). "
                                       "Put it next to the other components."))
        return None
    if "__bad__" in keys:
        problems.append(Problem(where, f"The {cname} must be a mapping of its keys. "
                                       f"Got {keys['__bad__']!r} instead."))
        return None
    required, optional = tuple(component.required), tuple(component.optional)
    for key in required:
        if key not in keys:
            problems.append(Problem(where, f"The {cname} needs '{key}'. "
                                           f"It takes: {', '.join(required + optional)}."))
    extra = sorted(set(keys) - set(required) - set(optional) - _LABEL_KEYS)
    if extra:
        problems.append(Problem(where, f"The {cname} has unknown keys {extra}. "
                                       f"It takes: {', '.join(required + optional)}."))
    component.check(keys, _Check(keys, cname, label, where, problems))
    return kind


def validate_schemes(schemes, where: str = WHERE, kpis=SIMULATED_KPIS) -> list[Problem]:
    """Check the list ``compensation.schemes``: each scheme valid, names unique, list not empty,
    and every KPI bonus on a KPI the simulation provides (``kpis``; None skips that check).

    The runner calls this before running notebooks, so a bad scheme stops the run with one clear
    message per problem instead of a traceback in the compensation report.
    """
    if not isinstance(schemes, list) or not schemes:
        return [Problem(where, f"must be a non-empty list of schemes. Got {schemes!r} instead.")]
    problems: list[Problem] = []
    seen: set = set()
    for s in schemes:
        own = validate_scheme(s, where)
        problems += own
        if not own and kpis is not None:
            for k in sorted(scheme_kpis(s) - set(kpis)):
                problems.append(Problem(where, f"The 'kpi' of component kpi_bonus in scheme '{s['name']}' must be "
                                               f"one the kit measures: {', '.join(kpis)}. Got {k!r} instead."))
        name = s.get("name") if isinstance(s, dict) else None
        if isinstance(name, str):
            if name in seen:
                problems.append(Problem(where, f"Scheme name '{name}' is used twice. Names must be unique."))
            seen.add(name)
    return problems


def schemes_of(study) -> list[dict]:
    """The study's schemes, validated and normalized.

    Raises
    ------
    InputError
        One problem per bad scheme key.
    """
    schemes = study["compensation.schemes"]
    problems = validate_schemes(schemes)
    if problems:
        raise InputError(problems)
    return [_normalize(s) for s in schemes]


def scheme_of(study, name: str | None = None) -> dict:
    """The scheme called ``name`` (default ``care_manager.scheme``), normalized."""
    name = name if name is not None else study["care_manager.scheme"]
    schemes = schemes_of(study)
    for s in schemes:
        if s["name"] == name:
            return s
    raise InputError(Problem("study.yaml: care_manager.scheme",
                             f"names no scheme in compensation.schemes. Got {name!r}; "
                             f"the schemes are {', '.join(s['name'] for s in schemes)}."))


def scheme_kpis(scheme: dict) -> set[str]:
    """Names of the KPIs a scheme's bonuses need."""
    out = set()
    for c in _normalize(scheme)["components"]:
        out |= COMPONENTS[c["type"]].kpis(c)
    return out


# =========================================================================== pay


def pay(scheme: dict, **bases) -> np.ndarray:
    """Monthly pay of ``scheme`` for the given bases.

    Parameters
    ----------
    scheme : dict
        ``{name, components: [...]}`` as written in study.yaml (see the module docstring).
    **bases : float or array_like
        ``revenue``, ``consumables``, ``staff_pay`` (the block's specialists' pay, without the
        manager's profit share), ``own_revenue``, ``own_consumables`` -- money per month -- and KPI
        values by name (``repeat_retention=0.74``).  Any shapes that broadcast together
        (scenarios x months); a base a component needs must be given (``own_consumables``
        defaults to 0 when no cost is deducted).

    Returns
    -------
    numpy.ndarray
        Pay per month, the broadcast shape of all the bases given::

            pay = min(cap, max(floor, sum of components)),  every component >= 0
            block profit = revenue - consumables - staff_pay

    Raises
    ------
    InputError
        The scheme is not valid, or a base it needs is missing.

    Examples
    --------
    >>> s = {"name": "x", "components": [{"type": "own_services", "rate": 0.1,
    ...                                   "deduct_consumables": "before"}]}
    >>> float(pay(s, own_revenue=200, own_consumables=10))
    19.0
    >>> t = {"name": "t", "components": [{"tiered": {"base": "revenue", "mode": "retroactive",
    ...                                               "brackets": [[0, 0.40], [1000, 0.45]]}}]}
    >>> float(pay(t, revenue=1500))
    675.0
    """
    scheme = normalize_scheme(scheme)
    arrays = {k: np.asarray(v, dtype=float) for k, v in bases.items()}
    shape = np.broadcast_shapes(*(a.shape for a in arrays.values())) if arrays else ()
    b = _Bases(scheme["name"], arrays, shape)
    total = np.zeros(shape)
    bounds = {}
    for comp in scheme["components"]:
        if COMPONENTS[comp["type"]].bounds_total:
            bounds[comp["type"]] = comp
        else:
            total = total + _component(comp, b)
    for kind, component in COMPONENTS.items():  # floor, then cap
        if kind in bounds:
            total = component.limit(total, bounds[kind])
    return np.broadcast_to(total, shape).copy()


class _Bases:
    """The bases of one `pay` call, looked up with a clear message when one is missing."""

    def __init__(self, scheme_name: str, arrays: dict, shape):
        self.name, self.arrays, self.shape = scheme_name, arrays, shape

    def get(self, key: str, comp: str, default=None) -> np.ndarray:
        if key in self.arrays:
            return self.arrays[key]
        if default is not None:
            return np.asarray(default, float)
        raise InputError(Problem("compensation.pay", f"Component {comp} of scheme '{self.name}' needs "
                                 f"the base '{key}'. Given: {', '.join(self.arrays) or 'none'}."))

    def profit(self, comp: str) -> np.ndarray:
        return (self.get("revenue", comp) - self.get("consumables", comp)
                - self.get("staff_pay", comp))


def _component(c: dict, b: _Bases) -> np.ndarray:
    """Pay of one normalised component (not a bound), through the registry."""
    return COMPONENTS[c["type"]].pay(c, b)


def _tiered(x: np.ndarray, brackets, mode: str) -> np.ndarray:
    """Tiered commission on ``x`` >= 0.

    progressive: sum_i rate_i * clip(x - from_i, 0, from_{i+1} - from_i)
    retroactive: rate_k * x, k the highest bracket with from_k <= x (0 below the first threshold)
    """
    starts = np.array([f for f, _ in brackets], float)
    rates = np.array([r for _, r in brackets], float)
    if mode == "retroactive":
        k = np.searchsorted(starts, x, side="right") - 1
        rate = np.where(k >= 0, rates[np.clip(k, 0, None)], 0.0)
        return rate * x
    widths = np.append(np.diff(starts), np.inf)
    out = np.zeros(np.shape(x))
    for s, w, r in zip(starts, widths, rates):
        out = out + r * np.clip(x - s, 0.0, w)
    return out


# =========================================================================== simulation


def _payroll_tax(study, d) -> np.ndarray:
    """Payroll tax draws (``staffing.payroll_tax_rate``)."""
    return d["staffing.payroll_tax_rate"]


@dataclass
class BlockMonths:
    """Simulated monthly P&L of the covered block(s): arrays of shape (scenarios, months).

    Attributes
    ----------
    revenue, consumables : ndarray
        The block's revenue and consumables, money per month.
    staff_pay : ndarray
        Specialists' pay with the manager's own services costed at the salon's commission share
        (the ``staff_pay`` of the profit-share base).
    staff_pay_others : ndarray
        Pay of the other specialists only (the manager's own services are paid by the scheme).
    own_revenue, own_consumables : ndarray
        The manager's own services (part of ``revenue``) and their materials.
    kpis : dict of str -> ndarray
        KPI values by name (``repeat_retention``).
    block_profit : ndarray
        Contribution before the manager: revenue - consumables - staff_pay_others.
    consumables_share, commission_share : float
        Per unit of revenue, from the baseline.
    fixed_pay_month : float
        Specialists' fixed pay per month (part of ``staff_pay``).
    payroll_tax_rate, market_floor_month : ndarray
        Per scenario (shape ``(scenarios,)``).
    """

    revenue: np.ndarray
    consumables: np.ndarray
    staff_pay: np.ndarray
    staff_pay_others: np.ndarray
    own_revenue: np.ndarray
    own_consumables: np.ndarray
    kpis: dict
    consumables_share: float
    commission_share: float
    fixed_pay_month: float
    payroll_tax_rate: np.ndarray
    market_floor_month: np.ndarray

    @property
    def block_profit(self) -> np.ndarray:
        return self.revenue - self.consumables - self.staff_pay_others

    def bases(self, **change) -> dict:
        """Keyword arguments for :func:`pay`; ``change`` adds to a base (``revenue=1000``)."""
        out = {"revenue": self.revenue, "consumables": self.consumables, "staff_pay": self.staff_pay,
               "own_revenue": self.own_revenue, "own_consumables": self.own_consumables, **self.kpis}
        for k, v in change.items():
            out[k] = out[k] + v
        return out


def simulate_block(base, study, d, months: int = MONTHS) -> BlockMonths:
    """Monte Carlo of the covered block's monthly P&L (scenarios x months).

    For scenario ``s`` and month ``t``::

        revenue[s, t]   = revenue_month x (1 + revenue_change[s]) x e[s, t]
        e[s, t]         ~ lognormal with mean 1 and coefficient of variation cv
        consumables     = consumables_share x revenue
        staff_pay       = fixed_pay_month + commission_share x revenue
        own_revenue     = min(own_revenue_month[s] x e'[s, t], revenue)   (independent noise, same cv)
        staff_pay_others= staff_pay - commission_share x own_revenue
        repeat_retention= clip(level[s] + sd x z[s, t], 0, 1)

    ``cv`` is ``compensation.revenue_cv_month`` when set, else the data's month-to-month variation
    around trend, else ``compensation.revenue_cv_fallback``.  The retention KPI's ``level`` and ``sd`` are the data's (pooled
    repeat-client retention of the last complete months and its monthly spread) unless
    ``compensation.repeat_retention`` / ``repeat_retention_sd_month`` are set in study.yaml or the
    data cannot give them.  Scenario-level values come from ``analysis.models.simulate.draws`` (shared
    with the other sections); the monthly noise from ``d.rng("compensation")``.

    Parameters
    ----------
    base : analysis.sections.pnl.Baseline
    study : analysis.inputs.study.Study
    d : analysis.models.simulate.Draws
    months : int
        Months per scenario.
    """
    n = d.n
    cv = study["compensation.revenue_cv_month"]
    if cv is None:
        cv = (base.revenue_cv_month if base.revenue_cv_month is not None
              else float(study["compensation.revenue_cv_fallback"]))
    sigma = float(np.sqrt(np.log1p(cv ** 2)))
    rng = d.rng("compensation")
    noise = np.exp(sigma * rng.standard_normal((n, months)) - sigma ** 2 / 2)
    own_noise = np.exp(sigma * rng.standard_normal((n, months)) - sigma ** 2 / 2)
    kpi_noise = rng.standard_normal((n, months))

    level = base.revenue_month * (1.0 + d["compensation.revenue_change"])
    revenue = np.maximum(level[:, None] * noise, 0.0)
    own = np.minimum(d["compensation.own_revenue_month"][:, None] * own_noise, revenue)
    cs, ms = base.consumables_share, base.commission_share
    staff_pay = base.fixed_pay_month + ms * revenue
    key, sd_key = "compensation.repeat_retention", "compensation.repeat_retention_sd_month"
    given = getattr(study, "given", set())
    level_kpi = (np.full(n, base.repeat_retention)
                 if key not in given and getattr(base, "repeat_retention", None) is not None else d[key])
    sd = (base.repeat_retention_sd_month
          if sd_key not in given and getattr(base, "repeat_retention_sd_month", None) is not None
          else float(study[sd_key]))
    kpi = np.clip(level_kpi[:, None] + sd * kpi_noise, 0.0, 1.0)
    return BlockMonths(
        revenue=revenue, consumables=cs * revenue, staff_pay=staff_pay,
        staff_pay_others=staff_pay - ms * own, own_revenue=own, own_consumables=cs * own,
        kpis={"repeat_retention": kpi}, consumables_share=cs, commission_share=ms,
        fixed_pay_month=base.fixed_pay_month, payroll_tax_rate=_payroll_tax(study, d),
        market_floor_month=d["compensation.market_floor_month"])


@dataclass
class PayScenarios:
    """One scheme's pay under the simulated block results (one manager paid by the scheme).

    Attributes
    ----------
    scheme : str
    pay : ndarray
        Monthly pay, (scenarios, months).
    pay_month : ndarray
        Mean monthly pay per scenario, (scenarios,).
    employer_cost_month : ndarray
        ``pay_month x (1 + payroll tax rate)`` per scenario.
    block_profit_month : ndarray
        Mean block contribution before the manager per scenario.
    owner_profit_month : ndarray
        ``block_profit_month - employer_cost_month``.
    net_cost_month : ndarray
        What the role costs the owner against the block without it:
        ``(pay_month - commission_share x own_revenue) x (1 + payroll tax rate)`` -- the manager's
        own services are taken over from the specialists, whose commission on them is saved
        together with its payroll tax (the tax is on both sides).
    profit_share_month : ndarray
        The part of ``pay_month`` that comes from the scheme's profit-share components
        (``pay - pay without them``), before payroll tax.
    """

    scheme: str
    pay: np.ndarray
    pay_month: np.ndarray
    employer_cost_month: np.ndarray
    block_profit_month: np.ndarray
    owner_profit_month: np.ndarray
    net_cost_month: np.ndarray
    profit_share_month: np.ndarray = None
    payroll_tax_rate: np.ndarray = None


def _without_profit_share(scheme: dict) -> dict:
    scheme = normalize_scheme(scheme)
    return {**scheme, "components": [c for c in scheme["components"] if c["type"] != "profit_share"]}


def _pay_scenarios(scheme: dict, block: BlockMonths) -> PayScenarios:
    p = pay(scheme, **block.bases())
    pm = p.mean(axis=1)
    gross = 1.0 + block.payroll_tax_rate
    cost = pm * gross
    bp = block.block_profit.mean(axis=1)
    saved = block.commission_share * block.own_revenue.mean(axis=1) * gross
    rest = _without_profit_share(scheme)
    ps = pm - pay(rest, **block.bases()).mean(axis=1) if len(rest["components"]) else pm
    return PayScenarios(scheme["name"], p, pm, cost, bp, bp - cost, cost - saved,
                        np.maximum(ps, 0.0), np.asarray(block.payroll_tax_rate, float))


def role_cost_params(ps: PayScenarios, split: str = "split") -> dict:
    """The role's cost per person and shared, for :func:`analysis.sections.staffing.evaluate`.

    With ``m`` care managers needed, the role costs the owner::

        role_cost = m x care_cost_each + care_cost_shared

        split:  care_cost_each   = net_cost - profit_share x (1 + tax)
                care_cost_shared = profit_share x (1 + tax)      (one profit share, divided by m)
        each:   care_cost_each   = net_cost,  care_cost_shared = 0   (every manager gets the rate)

    ``net_cost`` is :attr:`PayScenarios.net_cost_month` (pay with payroll tax, less the commission
    with its tax saved on the manager's own services).  Arrays over scenarios.
    """
    if split not in ("split", "each"):
        raise ValueError(f"profit_share_split must be split or each. Got {split!r} instead.")
    net = np.asarray(ps.net_cost_month, float)
    if split == "each" or ps.profit_share_month is None:
        return {"care_cost_each": net, "care_cost_shared": np.zeros_like(net)}
    shared = np.asarray(ps.profit_share_month, float) * (1.0 + np.asarray(ps.payroll_tax_rate, float))
    return {"care_cost_each": net - shared, "care_cost_shared": shared}


def scenarios(study, tables, draws, scheme_name: str | None = None, base=None) -> PayScenarios:
    """Pay of one scheme (default ``care_manager.scheme``) per scenario, for the summary.

    Uses the same draws as every section (``analysis.models.simulate.draws(study)``), so the summary can
    add the role's cost to the other sections' results scenario by scenario.

    Parameters
    ----------
    study : Study
    tables : analysis.inputs.data.Tables
    draws : analysis.models.simulate.Draws
    scheme_name : str, optional
    base : analysis.sections.pnl.Baseline, optional
        The baseline P&L when already computed.
    """
    from analysis.sections import pnl

    study = pnl.localise(study, tables)
    draws = draws.on(study)
    scheme = scheme_of(study, scheme_name)
    base = base if base is not None else pnl.baseline(tables, study)
    return _pay_scenarios(scheme, simulate_block(base, study, draws))


def incentive_slopes(scheme: dict, block: BlockMonths, step: float | None = None) -> dict:
    """Extra pay per +1 of money, averaged over the simulated months (finite differences).

    - ``profit_slope``: block profit +1 through ordinary sales: revenue + 1/m, consumables and
      commission rising with it (m = 1 - consumables_share - commission_share);
    - ``revenue_slope``: revenue +1 that brings no profit (over-selling, discounts, DESIGN.md Q6):
      consumables and staff pay rise by the same 1 in all, so profit stays flat;
    - ``own_revenue_slope``: +1 of the manager's own services (also +1 of block revenue, with its
      materials and costed commission).

    ``step`` (default 1% of the mean revenue) is the size of the change; the average of the steps
    over all scenarios and months is the expected slope, also for tiers with jumps.
    """
    step = float(step if step is not None else 0.01 * max(float(np.mean(block.revenue)), 1.0))
    p0 = pay(scheme, **block.bases())
    cs, ms = block.consumables_share, block.commission_share
    m = 1.0 - cs - ms
    out = {}
    if m > 0:
        dr = step / m
        p1 = pay(scheme, **block.bases(revenue=dr, consumables=cs * dr, staff_pay=ms * dr))
        out["profit_slope"] = float(np.mean(p1 - p0) / step)
    else:
        out["profit_slope"] = float("nan")
    w = cs / (cs + ms) if cs + ms > 0 else 0.5
    p2 = pay(scheme, **block.bases(revenue=step, consumables=w * step, staff_pay=(1 - w) * step))
    out["revenue_slope"] = float(np.mean(p2 - p0) / step)
    p3 = pay(scheme, **block.bases(revenue=step, consumables=cs * step, staff_pay=ms * step,
                                   own_revenue=step, own_consumables=cs * step))
    out["own_revenue_slope"] = float(np.mean(p3 - p0) / step)
    return out


def pay_curve(scheme: dict, block: BlockMonths, revenue) -> np.ndarray:
    """Pay at each block revenue in ``revenue``, other bases at their typical values.

    Consumables and commission scale with revenue (the baseline shares), fixed staff pay, the
    manager's own revenue and the KPIs stay at their medians.
    """
    r = np.asarray(revenue, float)
    own = float(np.median(block.own_revenue))
    kpis = {k: float(np.median(v)) for k, v in block.kpis.items()}
    return pay(scheme, revenue=r, consumables=block.consumables_share * r,
               staff_pay=block.fixed_pay_month + block.commission_share * r,
               own_revenue=np.minimum(own, r), own_consumables=block.consumables_share * np.minimum(own, r),
               **kpis)


@dataclass
class Comparison:
    """Every scheme of the study under the same simulated block results.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per scheme (see :func:`compare`).
    pay : dict of str -> PayScenarios
    block : BlockMonths
    baseline : analysis.sections.pnl.Baseline
    schemes : list of dict
        The normalized schemes, in the study's order.
    recommendation : pandas.DataFrame
        Per scheme: the checks of :func:`recommend` and whether it is recommended.
    recommended : str or None
        The recommended scheme's name.
    """

    summary: pd.DataFrame
    pay: dict
    block: BlockMonths
    baseline: object
    schemes: list
    recommendation: pd.DataFrame = field(default_factory=pd.DataFrame)
    recommended: str | None = None

    @property
    def recommendation_code(self) -> str | None:
        """Why no scheme is recommended (:func:`recommendation_code`), ``None`` when one is."""
        return recommendation_code(self.recommendation) if len(self.recommendation) else None

    def best_for(self) -> dict:
        """Which scheme serves whom: ``owner`` (highest median profit after pay), ``manager``
        (highest pay in a bad year, P10), ``client`` (least pay for profitless revenue and own
        sales, i.e. the weakest push to over-sell)."""
        s = self.summary.set_index("scheme")
        push = s["revenue_slope"] + s["own_revenue_slope"]
        return {"owner": s["owner_profit_median"].idxmax(), "manager": s["pay_p10"].idxmax(),
                "client": push.idxmin()}


def compare(study, tables, d=None, base=None) -> Comparison:
    """Simulate every scheme of ``compensation.schemes`` on the same scenarios.

    Summary columns (money per month):
    ``scheme``; ``pay_p10``, ``pay_median``, ``pay_p90`` -- the manager's monthly pay over all
    scenarios and months; ``pay_mean``; ``employer_cost_median`` (with payroll tax);
    ``owner_profit_p10/median/p90`` -- block contribution minus the manager's cost, mean month of a
    scenario; ``pay_share_of_profit`` -- median of pay / block contribution; ``prob_below_floor``
    -- share of scenarios whose mean monthly pay is under the market floor; ``income_cv`` --
    median month-to-month coefficient of variation of pay; ``profit_slope``, ``revenue_slope``,
    ``own_revenue_slope`` (see :func:`incentive_slopes`).
    """
    from analysis.sections import pnl
    from analysis.models.simulate import draws

    study = pnl.localise(study, tables)     # money defaults in the study's currency
    d = d.on(study) if d is not None else draws(study)
    base = base if base is not None else pnl.baseline(tables, study)
    block = simulate_block(base, study, d)
    schemes = schemes_of(study)
    rows, results = [], {}
    for s in schemes:
        ps = _pay_scenarios(s, block)
        results[s["name"]] = ps
        p10, p50, p90 = np.quantile(ps.pay, [0.1, 0.5, 0.9])
        o10, o50, o90 = np.quantile(ps.owner_profit_month, [0.1, 0.5, 0.9])
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(ps.block_profit_month > 0, ps.pay_month / ps.block_profit_month, np.nan)
            cv = np.where(ps.pay_month > 0, ps.pay.std(axis=1, ddof=1) / ps.pay_month, np.nan)
        rows.append({
            "scheme": s["name"], "pay_p10": p10, "pay_median": p50, "pay_p90": p90,
            "pay_mean": float(ps.pay.mean()),
            "employer_cost_median": float(np.median(ps.employer_cost_month)),
            "owner_profit_p10": o10, "owner_profit_median": o50, "owner_profit_p90": o90,
            "pay_share_of_profit": float(np.nanmedian(share)) if np.isfinite(share).any() else np.nan,
            "prob_below_floor": float(np.mean(ps.pay_month < block.market_floor_month)),
            "income_cv": float(np.nanmedian(cv)) if np.isfinite(cv).any() else np.nan,
            **incentive_slopes(s, block),
        })
    summary = pd.DataFrame(rows)
    rec, name = recommend(summary, float(study["compensation.max_prob_below_floor"]),
                          float(study["compensation.max_revenue_slope"]))
    return Comparison(summary, results, block, base, schemes, rec, name)


def recommend(summary: pd.DataFrame, max_prob_below_floor: float = 0.25,
              max_revenue_slope: float = 0.005) -> tuple[pd.DataFrame, str | None]:
    """Pick a scheme: the highest median owner's result among the schemes that

    0. leave the owner no loss (``owner_profit_median >= 0``: the block's profit after the
       manager's cost with payroll tax, money per month) -- a scheme at a loss is never
       recommended; when every scheme leaves the owner at a loss, none is (``None``, code
       ``all_at_loss`` from :func:`recommendation_code`): no scheme pays at this size --
       and no loss in a bad month either (``owner_profit_p10 >= 0``, the low end of the owner's
       result over the scenarios; ``owner_not_at_loss_p10``): when the schemes that pass the median
       all lose money there, none is recommended (code ``at_loss_in_bad_months``: the risk the page
       names);
    1. keep the manager at market pay (``prob_below_floor <= max_prob_below_floor``),
    2. do not reward profitless revenue (``revenue_slope <= max_revenue_slope``), and
    3. tie pay to the block's result (``profit_slope > 0``: the source's "direct link").

    Check 0 always holds. When no scheme passes the other three, the last check is dropped, then
    the second; when no scheme without a loss keeps the manager at market pay, none is recommended
    (``None``; code ``none_keeps_manager``, or ``keeping_at_loss`` when some scheme keeps the
    manager but only at a loss to the owner).

    Returns
    -------
    (pandas.DataFrame, str or None)
        Per scheme: ``owner_not_at_loss``, ``owner_not_at_loss_p10``, ``keeps_manager``,
        ``no_overselling_reward``, ``linked_to_profit``, ``recommended`` (bool); and the recommended
        scheme's name. An owner's result that is NaN counts as a loss; a summary without
        ``owner_profit_p10`` is checked on the median alone.
    """
    t = pd.DataFrame({"scheme": summary["scheme"]})
    profit = summary["owner_profit_median"].to_numpy(dtype=float)
    low = summary["owner_profit_p10"].to_numpy(dtype=float) if "owner_profit_p10" in summary else profit
    t["owner_not_at_loss"] = profit >= 0       # NaN compares False: counted as a loss
    t["owner_not_at_loss_p10"] = t["owner_not_at_loss"].to_numpy() & (low >= 0)
    t["keeps_manager"] = (summary["prob_below_floor"] <= max_prob_below_floor).to_numpy()
    t["no_overselling_reward"] = (summary["revenue_slope"] <= max_revenue_slope).to_numpy()
    t["linked_to_profit"] = (summary["profit_slope"] > 1e-9).to_numpy()
    name = None
    for checks in (["owner_not_at_loss_p10", "keeps_manager", "no_overselling_reward", "linked_to_profit"],
                   ["owner_not_at_loss_p10", "keeps_manager", "no_overselling_reward"],
                   ["owner_not_at_loss_p10", "keeps_manager"]):
        ok = t[checks].all(axis=1).to_numpy()
        if ok.any():
            idx = np.flatnonzero(ok)[np.argmax(profit[ok])]
            name = str(t["scheme"].iloc[idx])
            break
    t["recommended"] = t["scheme"] == name
    return t, name


def recommendation_code(recommendation: pd.DataFrame) -> str | None:
    """Why :func:`recommend` recommended no scheme, as a code for the page's words.

    ``None`` when a scheme is recommended; ``all_at_loss`` when every scheme leaves the owner a
    negative median result (no scheme pays at this size); ``at_loss_in_bad_months`` when some schemes
    keep the manager at market pay with no loss to the owner in the median month, but every one of them
    leaves the owner at a loss at P10 (a bad month in ten); ``keeping_at_loss`` when the schemes
    that keep the manager at market pay all leave the owner at a loss; ``none_keeps_manager`` when
    no scheme keeps the manager at market pay. ``recommendation`` is the table :func:`recommend`
    returns.
    """
    t = recommendation
    if bool(t["recommended"].any()):
        return None
    if not bool(t["owner_not_at_loss"].any()):
        return "all_at_loss"
    if "owner_not_at_loss_p10" in t and bool((t["owner_not_at_loss"] & t["keeps_manager"]).any()):
        return "at_loss_in_bad_months"
    if bool(t["keeps_manager"].any()):
        return "keeping_at_loss"
    return "none_keeps_manager"


# =========================================================================== words


def scheme_label(scheme: dict, lang: str = "en") -> str:
    """Short name of a scheme for charts: its ``label`` (text or ``{en, ru}``), else its name."""
    label = scheme.get("label")
    if isinstance(label, dict):
        return str(label.get(lang) or label.get("en") or scheme["name"])
    if isinstance(label, str) and label:
        return label
    return scheme["name"].replace("_", " ")


def describe_component(comp: dict, lang: str = "en", currency: str = "RUB") -> str:
    """One component in plain words: kept for callers, the words are :func:`analysis.pages.pay.describe_component`."""
    from analysis.pages.pay import describe_component as _describe

    return _describe(comp, lang, currency)


#: The ``component`` of the last row of :func:`components_table`: the whole scheme.
TOTAL = "total"


def components_table(scheme: dict, block: BlockMonths) -> pd.DataFrame:
    """Each component's typical monthly pay under the simulated block results.

    Columns ``component`` (the normalised component, a dict; :data:`TOTAL` on the last row — the
    page words it with :func:`analysis.pages.pay.components_table`), ``pay_median``, ``pay_p10``,
    ``pay_p90`` (over all scenarios and months), ``share`` (of the scheme's median-of-sum; floor / cap rows show the
    share of months they bind).
    """
    scheme = normalize_scheme(scheme)
    bases = block.bases()
    total = pay(scheme, **bases)
    rows = []
    pays = [c for c in scheme["components"] if not COMPONENTS[c["type"]].bounds_total]
    raw = np.zeros_like(total)
    for c in pays:
        p = pay({"name": scheme["name"], "components": [c]}, **bases)
        raw = raw + p
        q10, q50, q90 = np.quantile(p, [0.1, 0.5, 0.9])
        rows.append({"component": c, "pay_median": q50,
                     "pay_p10": q10, "pay_p90": q90, "share": float(p.mean() / total.mean()) if total.mean() else np.nan})
    for c in scheme["components"]:
        if COMPONENTS[c["type"]].bounds_total:
            binds = COMPONENTS[c["type"]].binds(raw, c)
            rows.append({"component": c, "pay_median": np.nan,
                         "pay_p10": np.nan, "pay_p90": np.nan, "share": float(np.mean(binds))})
    q10, q50, q90 = np.quantile(total, [0.1, 0.5, 0.9])
    rows.append({"component": TOTAL, "pay_median": q50, "pay_p10": q10,
                 "pay_p90": q90, "share": 1.0})
    return pd.DataFrame(rows)


def bonus_months_share(scheme: dict, block: BlockMonths) -> dict:
    """For each KPI bonus of ``scheme``: ``{kpi: (target, share of simulated months it pays)}``."""
    out = {}
    for c in normalize_scheme(scheme)["components"]:
        for x in COMPONENTS[c["type"]].parts(c):
            if x["type"] == "kpi_bonus":
                v = block.kpis.get(x["kpi"])
                if v is None:
                    raise InputError(Problem("compensation.pay", f"Component kpi_bonus ({x['kpi']}) of scheme "
                                             f"'{scheme['name']}' needs the KPI '{x['kpi']}', which the "
                                             f"simulation does not provide. Available: {', '.join(block.kpis)}."))
                hit = COMPONENTS["kpi_bonus"].hit(x, v)
                out[x["kpi"]] = (float(x["target"]), float(np.mean(hit)))
    return out
