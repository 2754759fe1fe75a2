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

from .errors import InputError, Problem

__all__ = [
    "role_cost_params",
    "COMPONENT_KINDS",
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
    "scheme_label",
    "describe_component",
    "components_table",
    "TOTAL",
    "bonus_months_share",
]

WHERE = "study.yaml: compensation.schemes"
MONTHS = 12  # months simulated per scenario: one year of monthly pay

#: Component kinds and their keys: (required, optional).
COMPONENT_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "fixed": (("amount",), ()),
    "own_services": (("rate",), ("deduct_consumables",)),
    "revenue_share": (("rate",), ()),
    "profit_share": (("rate",), ()),
    "tiered": (("base", "brackets"), ("mode",)),
    "max_of": (("components",), ()),
    "kpi_bonus": (("kpi", "target", "amount"), ("direction",)),
    "floor": (("amount",), ()),
    "cap": (("amount",), ()),
}
#: The money bases a scheme can use; any other keyword passed to `pay` is a KPI value.
BASES = ("revenue", "consumables", "staff_pay", "own_revenue", "own_consumables")
#: KPIs the pay simulation provides (a study's bonus schemes may use only these).
SIMULATED_KPIS = ("repeat_retention",)
_TIER_BASES = ("revenue", "profit", "own_revenue")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_SCHEME_KEYS = {"name", "components", "en", "ru", "label"}
_LABEL_KEYS = {"label", "en", "ru", "note"}  # free text allowed on a component


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
    kinds = [k for k in comp if k in COMPONENT_KINDS]
    if len(comp) == 1 and kinds:
        kind = kinds[0]
        body = comp[kind]
        if body is None:
            body = {}
        if isinstance(body, dict):
            return kind, dict(body)
        if kind in ("fixed", "floor", "cap") and _is_number(body):  # {fixed: 50000}
            return kind, {"amount": body}
        if kind in ("revenue_share", "profit_share") and _is_number(body):  # {profit_share: 0.03}
            return kind, {"rate": body}
        if kind == "max_of" and isinstance(body, list):
            return kind, {"components": body}
        return kind, {"__bad__": body}
    return None, {}


def _normalize(scheme: dict) -> dict:
    out = {k: v for k, v in scheme.items() if k != "components"}
    out["components"] = [_normalize_component(c) for c in scheme["components"]]
    return out


def _normalize_component(comp) -> dict:
    kind, keys = _component_form(comp)
    out = {"type": kind, **keys}
    if kind == "max_of":
        out["components"] = [_normalize_component(c) for c in keys["components"]]
    if kind == "own_services":
        out.setdefault("deduct_consumables", "none")
    if kind == "tiered":
        out.setdefault("mode", "progressive")
        out["brackets"] = [[float(a), float(r)] for a, r in keys["brackets"]]
    if kind == "kpi_bonus":
        out.setdefault("direction", "above")
    return out


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
    for kind in ("floor", "cap"):
        if counts.get(kind, 0) > 1:
            problems.append(Problem(where, f"Scheme {label} has {counts[kind]} '{kind}' components. "
                                           "At most one is allowed."))
    if counts.get("floor") and counts.get("cap") and not problems:
        floor = next(_component_form(c)[1]["amount"] for c in comps if _component_form(c)[0] == "floor")
        cap = next(_component_form(c)[1]["amount"] for c in comps if _component_form(c)[0] == "cap")
        if floor > cap:
            problems.append(Problem(where, f"Scheme {label} has a floor ({_fmt(floor)}) above its cap "
                                           f"({_fmt(cap)}). The floor must not exceed the cap."))
    if set(counts) <= {"floor", "cap"} and counts:
        problems.append(Problem(where, f"Scheme {label} has only floor / cap components. "
                                       "Add at least one component that pays."))
    return problems


def _check_component(comp, label: str, where: str, problems: list, nested: bool) -> str | None:
    kind, keys = _component_form(comp)
    kinds = ", ".join(COMPONENT_KINDS)
    if kind is None:
        problems.append(Problem(where, f"A component of scheme {label} must be a mapping like "
                                       f"{{type: fixed, amount: 50000}} with type one of {kinds}. "
                                       f"Got {comp!r} instead."))
        return None
    if kind not in COMPONENT_KINDS:
        problems.append(Problem(where, f"Component type {kind!r} in scheme {label} is unknown. "
                                       f"Allowed: {kinds}."))
        return None
    cname = f"component {kind} in scheme {label}"
    if nested and kind in ("floor", "cap", "max_of"):
        problems.append(Problem(where, f"A {kind} cannot sit inside max_of (in scheme {label}). "
                                       "Put it next to the other components."))
        return None
    if "__bad__" in keys:
        problems.append(Problem(where, f"The {cname} must be a mapping of its keys. "
                                       f"Got {keys['__bad__']!r} instead."))
        return None
    required, optional = COMPONENT_KINDS[kind]
    for key in required:
        if key not in keys:
            problems.append(Problem(where, f"The {cname} needs '{key}'. "
                                           f"It takes: {', '.join(required + optional)}."))
    extra = sorted(set(keys) - set(required) - set(optional) - _LABEL_KEYS)
    if extra:
        problems.append(Problem(where, f"The {cname} has unknown keys {extra}. "
                                       f"It takes: {', '.join(required + optional)}."))

    def bad(key, allowed):
        problems.append(Problem(where, f"The '{key}' of {cname} must be {allowed}. "
                                       f"Got {_fmt(keys[key])} instead."))

    def amount(key):
        if key in keys and (not _is_number(keys[key]) or keys[key] < 0):
            bad(key, "a number >= 0")

    def rate(key):
        if key in keys and (not _is_number(keys[key]) or not 0 <= keys[key] <= 1):
            bad(key, "in [0, 1]")

    if kind in ("fixed", "floor", "cap"):
        amount("amount")
    elif kind in ("revenue_share", "profit_share"):
        rate("rate")
    elif kind == "own_services":
        rate("rate")
        if "deduct_consumables" in keys and keys["deduct_consumables"] not in ("none", "before", "after"):
            bad("deduct_consumables", "one of none, before, after")
    elif kind == "tiered":
        if "base" in keys and keys["base"] not in _TIER_BASES:
            bad("base", "one of " + ", ".join(_TIER_BASES))
        if "mode" in keys and keys["mode"] not in ("progressive", "retroactive"):
            bad("mode", "one of progressive, retroactive")
        if "brackets" in keys:
            br = keys["brackets"]
            ok = isinstance(br, list) and br and all(
                isinstance(b, (list, tuple)) and len(b) == 2 and all(_is_number(x) for x in b) for b in br)
            if not ok:
                bad("brackets", "a list of [from, rate] pairs like [[0, 0.40], [1000, 0.45]]")
            else:
                starts = [b[0] for b in br]
                if starts[0] < 0 or any(b > a for a, b in zip(starts[1:], starts[:-1])) or \
                        len(set(starts)) < len(starts):
                    bad("brackets", "[from, rate] pairs with 'from' >= 0 and strictly increasing")
                if any(not 0 <= b[1] <= 1 for b in br):
                    bad("brackets", "[from, rate] pairs with every rate in [0, 1]")
                elif keys.get("mode") == "retroactive" and any(b[1] < a[1] for a, b in zip(br, br[1:])):
                    bad("brackets", "[from, rate] pairs with rates that never fall in retroactive mode "
                                    "(a lower rate on the whole base would cut pay when sales grow)")
    elif kind == "max_of":
        sub = keys.get("components")
        if "components" in keys:
            if not isinstance(sub, list) or not sub:
                bad("components", "a non-empty list of components")
            else:
                for c in sub:
                    _check_component(c, label, where, problems, nested=True)
    elif kind == "kpi_bonus":
        if "kpi" in keys and (not isinstance(keys["kpi"], str) or not _NAME.match(keys["kpi"])
                              or keys["kpi"] in BASES):
            bad("kpi", "the name of a KPI (letters, digits, _), not one of " + ", ".join(BASES))
        if "target" in keys and not _is_number(keys["target"]):
            bad("target", "a number")
        amount("amount")
        if "direction" in keys and keys["direction"] not in ("above", "below"):
            bad("direction", "one of above, below")
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
        if c["type"] == "kpi_bonus":
            out.add(c["kpi"])
        if c["type"] == "max_of":
            out |= {s["kpi"] for s in c["components"] if s["type"] == "kpi_bonus"}
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
    floor = cap = None
    for comp in scheme["components"]:
        if comp["type"] == "floor":
            floor = comp["amount"]
        elif comp["type"] == "cap":
            cap = comp["amount"]
        else:
            total = total + _component(comp, b)
    if floor is not None:
        total = np.maximum(total, floor)
    if cap is not None:
        total = np.minimum(total, cap)
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
    kind = c["type"]
    if kind == "fixed":
        return np.full(b.shape, float(c["amount"]))
    if kind == "own_services":
        rev = b.get("own_revenue", kind)
        mode = c["deduct_consumables"]
        cons = b.get("own_consumables", kind, default=None if mode != "none" else 0.0)
        if mode == "before":
            out = c["rate"] * (rev - cons)
        elif mode == "after":
            out = c["rate"] * rev - cons
        else:
            out = c["rate"] * rev
        return np.maximum(out, 0.0)
    if kind == "revenue_share":
        return c["rate"] * np.maximum(b.get("revenue", kind), 0.0)
    if kind == "profit_share":
        return c["rate"] * np.maximum(b.profit(kind), 0.0)
    if kind == "tiered":
        base = b.profit(kind) if c["base"] == "profit" else b.get(c["base"], kind)
        return _tiered(np.maximum(base, 0.0), c["brackets"], c["mode"])
    if kind == "max_of":
        parts = [np.broadcast_to(_component(s, b), b.shape) for s in c["components"]]
        return np.maximum.reduce(parts) if len(parts) > 1 else parts[0]
    if kind == "kpi_bonus":
        value = b.get(c["kpi"], f"kpi_bonus ({c['kpi']})")
        hit = value >= c["target"] if c["direction"] == "above" else value <= c["target"]
        return np.where(hit, float(c["amount"]), 0.0)
    raise AssertionError(kind)  # validated above


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
    data cannot give them.  Scenario-level values come from ``analysis.simulate.draws`` (shared
    with the other sections); the monthly noise from ``d.rng("compensation")``.

    Parameters
    ----------
    base : analysis.pnl.Baseline
    study : analysis.study.Study
    d : analysis.simulate.Draws
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
    """The role's cost per person and shared, for :func:`analysis.staffing.evaluate`.

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

    Uses the same draws as every section (``analysis.simulate.draws(study)``), so the summary can
    add the role's cost to the other sections' results scenario by scenario.

    Parameters
    ----------
    study : Study
    tables : analysis.data.Tables
    draws : analysis.simulate.Draws
    scheme_name : str, optional
    base : analysis.pnl.Baseline, optional
        The baseline P&L when already computed.
    """
    from . import pnl

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
    baseline : analysis.pnl.Baseline
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
    from . import pnl
    from .simulate import draws

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
    """Pick a scheme: the highest median owner's profit among the schemes that

    1. keep the manager at market pay (``prob_below_floor <= max_prob_below_floor``),
    2. do not reward profitless revenue (``revenue_slope <= max_revenue_slope``), and
    3. tie pay to the block's result (``profit_slope > 0``: the source's "direct link").

    When no scheme passes all three, the last check is dropped, then the second; when none keeps
    the manager at market pay, none is recommended (``None``).

    Returns
    -------
    (pandas.DataFrame, str or None)
        Per scheme: ``keeps_manager``, ``no_overselling_reward``, ``linked_to_profit``,
        ``recommended``; and the recommended scheme's name.
    """
    t = pd.DataFrame({"scheme": summary["scheme"]})
    t["keeps_manager"] = (summary["prob_below_floor"] <= max_prob_below_floor).to_numpy()
    t["no_overselling_reward"] = (summary["revenue_slope"] <= max_revenue_slope).to_numpy()
    t["linked_to_profit"] = (summary["profit_slope"] > 1e-9).to_numpy()
    name = None
    for checks in (["keeps_manager", "no_overselling_reward", "linked_to_profit"],
                   ["keeps_manager", "no_overselling_reward"], ["keeps_manager"]):
        ok = t[checks].all(axis=1).to_numpy()
        if ok.any():
            profit = summary["owner_profit_median"].to_numpy()
            idx = np.flatnonzero(ok)[np.argmax(profit[ok])]
            name = str(t["scheme"].iloc[idx])
            break
    t["recommended"] = t["scheme"] == name
    return t, name


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
    from .pages.pay import describe_component as _describe

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
    pays = [c for c in scheme["components"] if c["type"] not in ("floor", "cap")]
    raw = np.zeros_like(total)
    for c in pays:
        p = pay({"name": scheme["name"], "components": [c]}, **bases)
        raw = raw + p
        q10, q50, q90 = np.quantile(p, [0.1, 0.5, 0.9])
        rows.append({"component": c, "pay_median": q50,
                     "pay_p10": q10, "pay_p90": q90, "share": float(p.mean() / total.mean()) if total.mean() else np.nan})
    for c in scheme["components"]:
        if c["type"] in ("floor", "cap"):
            binds = raw < c["amount"] if c["type"] == "floor" else raw > c["amount"]
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
        subs = c["components"] if c["type"] == "max_of" else [c]
        for x in subs:
            if x["type"] == "kpi_bonus":
                v = block.kpis.get(x["kpi"])
                if v is None:
                    raise InputError(Problem("compensation.pay", f"Component kpi_bonus ({x['kpi']}) of scheme "
                                             f"'{scheme['name']}' needs the KPI '{x['kpi']}', which the "
                                             f"simulation does not provide. Available: {', '.join(block.kpis)}."))
                hit = v >= x["target"] if x["direction"] == "above" else v <= x["target"]
                out[x["kpi"]] = (float(x["target"]), float(np.mean(hit)))
    return out
