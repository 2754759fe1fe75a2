"""A study: one salon's folder, its ``study.yaml`` and every assumption with where it came from.

The schema lives in ``analysis/defaults/<section>.yaml`` (``study.yaml`` there holds the top-level
keys).  Each leaf gives a default, a type, limits, the source of the default and a description in
English and Russian.  ``load_study`` merges the user's ``study.yaml`` (and ``--set`` overrides) over
the defaults and validates every key; all problems are reported together as an ``InputError``.

An *uncertain* assumption is written either as a number or as ``{low, mode, high}`` (a triangular
distribution); it is stored as an :class:`Uncertain`.
"""
from __future__ import annotations

import copy
import datetime as dt
import difflib
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from analysis.errors import InputError, Problem

__all__ = [
    "Uncertain",
    "Study",
    "load_study",
    "schema",
    "parse_overrides",
    "plain",
    "json_text",
    "STUDY_FILE",
]

STUDY_FILE = "study.yaml"
TOP = "study"  # the defaults file that holds top-level keys


@dataclass(frozen=True)
class Uncertain:
    """An assumption known only as a range: triangular(low, mode, high).

    A plain number ``x`` is ``Uncertain(x, x, x)``.
    """

    low: float
    mode: float
    high: float

    @property
    def is_fixed(self) -> bool:
        return self.low == self.high

    @property
    def mean(self) -> float:
        """Mean of the triangular distribution, (low + mode + high) / 3."""
        return (self.low + self.mode + self.high) / 3.0

    def sample(self, rng, size):
        """Draw ``size`` values (triangular); a fixed value is repeated."""
        import numpy as np

        if self.is_fixed:
            return np.full(size, float(self.mode))
        return rng.triangular(self.low, self.mode, self.high, size)

    def __str__(self) -> str:
        if self.is_fixed:
            return _fmt_num(self.mode)
        return f"{_fmt_num(self.low)} – {_fmt_num(self.mode)} – {_fmt_num(self.high)}"

    def as_yaml(self):
        if self.is_fixed:
            return self.mode
        return {"low": self.low, "mode": self.mode, "high": self.high}


def _fmt_num(x: float) -> str:
    return f"{x:g}"


def _short(value, limit: int = 80) -> str:
    """``repr`` of a value for a message, cut to ``limit`` characters."""
    try:
        text = repr(value)
    except ValueError:  # an integer with more digits than Python prints
        return "a number with thousands of digits"
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- YAML


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also reads ``1e6`` and ``2E-3`` as numbers (YAML 1.2 does; PyYAML's
    YAML 1.1 rules want a dot, ``1.0e+6``, and would otherwise give the text ``"1e6"``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


def read_yaml(text: str):
    """Parse YAML text safely (no Python objects), numbers in exponent notation included."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


# --------------------------------------------------------------------------- schema


def _is_leaf(node) -> bool:
    return isinstance(node, dict) and "default" in node and "type" in node


@lru_cache(maxsize=1)
def _schema_cached() -> dict:
    out: dict[str, Any] = {}
    folder = resources.files("analysis") / "defaults"
    for entry in sorted(folder.iterdir(), key=lambda p: (p.name != TOP + ".yaml", p.name)):
        if not entry.name.endswith(".yaml"):
            continue
        section = entry.name[: -len(".yaml")]
        tree = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
        if section == TOP:
            out.update(tree)
        else:
            out[section] = tree
    return out


def schema() -> dict:
    """The nested schema: sections and keys, each leaf a dict with default, type, source, en, ru."""
    return copy.deepcopy(_schema_cached())


def schema_leaf(key: str) -> dict:
    """The schema leaf of a dotted setting ``key`` (default, type, source, en, ru, …), a copy; ``{}``
    when the schema has no such key."""
    node = _schema_cached()
    for part in key.split("."):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return copy.deepcopy(node) if isinstance(node, dict) else {}


def _leaves(tree, prefix=()):
    for key, node in tree.items():
        path = prefix + (key,)
        if _is_leaf(node):
            yield path, node
        elif isinstance(node, dict):
            yield from _leaves(node, path)


# --------------------------------------------------------------------------- values


def _coerce(spec: dict, value, key: str, problems: list[Problem], origin: str = STUDY_FILE):
    """Check ``value`` against the leaf ``spec``; return the resolved value.  ``origin`` names where
    the value came from in messages (``study.yaml`` or ``--set``)."""
    typ = spec["type"]
    where = f"{origin}: {key}"

    def bad(msg):
        problems.append(Problem(where, msg))
        return None

    def number(v, integer=False):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return bad(f"must be a number. Got {_short(v)} instead.")
        try:
            finite = math.isfinite(v)
        except OverflowError:  # an integer too large for a float
            finite = False
        if not finite:
            return bad(f"must be a finite number. Got {_short(v)} instead.")
        if integer and int(v) != v:
            return bad(f"must be a whole number. Got {_short(v)} instead.")
        lo = 0.0 if typ in ("fraction", "uncertain_fraction") else spec.get("min")
        hi = 1.0 if typ in ("fraction", "uncertain_fraction") else spec.get("max")
        if lo is not None and v < lo or hi is not None and v > hi:
            rng = f"[{_fmt_num(lo) if lo is not None else '-inf'}, {_fmt_num(hi) if hi is not None else 'inf'}]"
            return bad(f"must be in {rng}. Got {_short(v)} instead.")
        return int(v) if integer else float(v)

    if value is None:
        if spec.get("nullable", spec["default"] is None):
            return None
        return bad("must not be empty.")
    if typ == "str":
        if isinstance(value, (dict, list, bool)) or (isinstance(value, float) and not math.isfinite(value)):
            return bad(f"must be a text. Got {_short(value)} instead.")
        try:
            return str(value)
        except ValueError:  # an integer too long to print
            return bad(f"must be a text. Got {_short(value)} instead.")
    if typ == "currency":
        # an ISO 4217 code babel knows (CLDR's list): money is formatted and converted by it
        from babel.numbers import list_currencies

        if not isinstance(value, str):
            return bad(f"must be a text, a currency's ISO 4217 code. Got {_short(value)} instead.")
        code = value.strip().upper()
        if code not in list_currencies():
            return bad(f"must be a currency's ISO 4217 code, such as RUB, USD, EUR, KZT. Got {_short(value)} instead.")
        return code
    if typ == "choice":
        if isinstance(value, (dict, list)) or value not in spec["choices"]:
            return bad(f"must be one of {', '.join(map(str, spec['choices']))}. Got {_short(value)} instead.")
        return value
    if typ == "int":
        return number(value, integer=True)
    if typ in ("number", "fraction"):
        return number(value)
    if typ in ("uncertain", "uncertain_fraction"):
        if isinstance(value, dict):
            extra = set(value) - {"low", "mode", "high"}
            if extra or not {"low", "mode", "high"} <= set(value):
                return bad(f"must be a number or {{low, mode, high}}. Got keys {sorted(map(str, value))} instead.")
            parts = [number(value[k]) for k in ("low", "mode", "high")]
            if any(p is None for p in parts):
                return None
            lo, mo, hi = parts
            if not lo <= mo <= hi:
                return bad(f"needs low <= mode <= high. Got {lo:g}, {mo:g}, {hi:g} instead.")
            return Uncertain(lo, mo, hi)
        v = number(value)
        return None if v is None else Uncertain(v, v, v)
    if typ == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            text = str(value).strip()
            return dt.date.fromisoformat(text) if len(text) <= 10 else dt.datetime.fromisoformat(text).date()
        except ValueError:
            return bad(f"must be a date like 2024-06-30. Got {_short(value)} instead.")
    if typ == "blocks":  # "all" or a list of block names
        if value == "all" or (isinstance(value, list) and all(isinstance(b, str) for b in value) and value):
            return value
        return bad(f"must be 'all' or a list of block names. Got {_short(value)} instead.")
    if typ == "list":
        if not isinstance(value, list):
            return bad(f"must be a list. Got {type(value).__name__} instead.")
        return value
    if typ == "mapping":
        if not isinstance(value, dict):
            return bad(f"must be a mapping of keys to values. Got {type(value).__name__} instead.")
        return value
    if typ == "any":
        return value
    raise ValueError(f"unknown schema type {typ!r} for {key}")  # a bug in defaults/, not user input


def _walk_user(user: dict, tree: dict, prefix: tuple, problems: list[Problem], out: dict, given: set,
               overrides: dict | None = None):
    """Check the user's values (study.yaml merged with ``overrides``) against the schema ``tree``."""
    for key, value in user.items():
        path = prefix + (str(key),)
        dotted = ".".join(path)
        origin = "--set" if overrides and _get_opt(overrides, path) is not _MISSING else STUDY_FILE
        node = tree.get(key) if isinstance(tree, dict) and isinstance(key, str) else None
        if node is None:
            options = [k for k in tree.keys()] if isinstance(tree, dict) else []
            close = difflib.get_close_matches(str(key), options, n=1, cutoff=0.6)
            hint = f" Did you mean {'.'.join(prefix + (close[0],))}?" if close else (
                f" Allowed here: {', '.join(options)}." if options else "")
            problems.append(Problem(origin, f"unknown key '{_cut(dotted)}'.{hint}"))
            continue
        if _is_leaf(node):
            resolved = _coerce(node, value, dotted, problems, origin)
            if resolved is not None or value is None:
                _set(out, path, resolved)
                given.add(dotted)
        elif isinstance(value, dict):
            _walk_user(value, node, path, problems, out, given, overrides)
        else:
            problems.append(Problem(f"{origin}: {dotted}",
                                    f"must be a section with keys ({', '.join(node)}). Got {_short(value)} instead."))


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _set(tree: dict, path: tuple, value):
    for k in path[:-1]:
        tree = tree.setdefault(k, {})
    tree[path[-1]] = value


def _get(tree: dict, path: tuple):
    for k in path:
        tree = tree[k]
    return tree


def parse_overrides(pairs) -> dict:
    """``["a.b=3", "language=ru"]`` -> nested dict; values are parsed as YAML (``1e6`` is a number).

    Raises
    ------
    InputError
        A pair without ``=``, an empty key or key part (``a..b``), or one key given both as a value
        and as a section (``a=1`` and ``a.b=2``).  Every message names ``--set``.
    """
    out: dict = {}
    problems: list[Problem] = []
    for pair in pairs or ():
        if "=" not in pair:
            problems.append(Problem("--set", f"expects KEY=VALUE. Got {_short(pair)} instead."))
            continue
        key, raw = pair.split("=", 1)
        parts = tuple(k.strip() for k in key.split("."))
        if not all(parts):
            problems.append(Problem("--set", f"expects a dotted key like retention.care_manager_effect.mode. "
                                    f"Got {_short(key)} instead."))
            continue
        try:
            value = read_yaml(raw) if raw.strip() else None
        except (yaml.YAMLError, ValueError, RecursionError):
            value = raw
        node = out
        for k in parts[:-1]:
            if not isinstance(node.get(k, {}), dict):
                node = None
                break
            node = node.setdefault(k, {})
        if node is None or (isinstance(node.get(parts[-1]), dict) and node[parts[-1]]):
            problems.append(Problem(f"--set: {'.'.join(parts)}", "is given both as a value and as a section."))
            continue
        try:
            node[parts[-1]] = plain(value)
        except (ValueError, RecursionError):  # an alias to itself (&a [*a]) or nesting too deep
            problems.append(Problem(f"--set: {'.'.join(parts)}", f"is a value that contains itself or nests too "
                                    f"deep. Got {_short(raw)} instead."))
    if problems:
        raise InputError(problems)
    return out


def plain(value, strict: bool = False, _inside: frozenset = frozenset()):
    """``value`` in the types JSON carries: what a YAML value (a ``--set`` or study.yaml) or a
    calculation may hold, made safe for manifest.json, notebook parameters and results.json.

    Dates and datetimes become ISO text (read back by the ``date`` settings), sets and tuples lists
    (a set sorted, so the file is the same bytes on every run), bytes text, numpy numbers and arrays
    Python numbers and lists, mapping keys text; anything else its text.  With ``strict``, a NaN or
    infinite number becomes its text too (JSON has no such number); otherwise it stays a float, which
    Python's ``json`` writes and reads back.

    Raises
    ------
    ValueError
        A list or mapping that contains itself (YAML ``&a [*a]``).
    """
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) or not strict else str(value)  # np.float64 too
    if isinstance(value, dt.datetime):
        return value.isoformat() if value.time() != dt.time() or value.tzinfo else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (dict, list, tuple)):
        if id(value) in _inside:
            raise ValueError("a value that contains itself")
        inside = _inside | {id(value)}
        if isinstance(value, dict):
            return {_plain_key(k): plain(v, strict, inside) for k, v in value.items()}
        return [plain(v, strict, inside) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [plain(v, strict) for v in value]
        return sorted(items, key=lambda v: (type(v).__name__, repr(v)))
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalars and arrays, pandas objects
        try:
            return plain(value.tolist(), strict)
        except (TypeError, ValueError):
            pass
    if hasattr(value, "isoformat") and callable(value.isoformat):  # pandas Timestamp, numpy datetime
        try:
            return str(value.isoformat())
        except (TypeError, ValueError):
            pass
    return str(value)


def _plain_key(key) -> str:
    out = plain(key, strict=True)
    return out if isinstance(out, str) else json_text(out)


def json_text(value, **kw) -> str:
    """``value`` as JSON text, whatever YAML or numpy type it holds (see :func:`plain`); standard
    JSON (no NaN)."""
    import json

    return json.dumps(plain(value, strict=True), allow_nan=False, **kw)


def _deep_merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k != "data":
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _complete_uncertain(overrides: dict, user: dict, tree: dict, prefix: tuple = ()) -> dict:
    """``--set a.b.mode=0.2`` changes one part of an uncertain ``{low, mode, high}``: the other parts
    come from study.yaml (a plain number ``x`` counts as ``{x, x, x}``) or else from the default."""
    out = {}
    for key, value in overrides.items():
        node = tree.get(key) if isinstance(tree, dict) and isinstance(key, str) else None
        path = prefix + (key,)
        if (_is_leaf(node) and node["type"] in ("uncertain", "uncertain_fraction") and isinstance(value, dict)
                and value and set(value) <= {"low", "mode", "high"} and set(value) != {"low", "mode", "high"}):
            base = _get_opt(user, path)
            if base is _MISSING or base is None:
                base = node["default"]
            if isinstance(base, (int, float)) and not isinstance(base, bool):
                base = {"low": base, "mode": base, "high": base}
            out[key] = {**base, **value} if isinstance(base, dict) else value
        elif isinstance(node, dict) and not _is_leaf(node) and isinstance(value, dict):
            out[key] = _complete_uncertain(value, user, node, path)
        else:
            out[key] = value
    return out


# --------------------------------------------------------------------------- study

#: The country and currency of the kit's country-specific defaults (schema leaves with ``country``).
DEFAULTS_COUNTRY = "RU"
DEFAULTS_CURRENCY = "RUB"


@dataclass
class Study:
    """A validated study.

    Attributes
    ----------
    dir : Path
        The study folder.
    config : dict
        Every key of the schema, resolved: the user's value where given, else the default.
        Uncertain assumptions are :class:`Uncertain`.
    given : set of str
        Dotted keys the user set (in study.yaml or with ``--set``).
    overrides : dict
        The ``--set`` values, as given.
    """

    dir: Path
    config: dict
    given: set = field(default_factory=set)
    overrides: dict = field(default_factory=dict)

    def get(self, key: str, default=None):
        """Value of a dotted key (``"staffing.payroll_tax_rate"``)."""
        try:
            return _get(self.config, tuple(key.split(".")))
        except (KeyError, TypeError):
            return default

    def __getitem__(self, key: str):
        return _get(self.config, tuple(key.split(".")))

    @property
    def name(self) -> str:
        return self.config["name"]

    @property
    def language(self) -> str:
        return self.config["language"]

    @property
    def currency(self) -> str:
        return self.config["currency"]

    @property
    def horizon_months(self) -> int:
        return self.config["horizon_months"]

    @property
    def discount_rate(self) -> float:
        return self.config["discount_rate"]

    @property
    def defaulted(self) -> list[str]:
        """Dotted keys for which the default was used."""
        return [".".join(p) for p, _ in _leaves(_schema_cached()) if ".".join(p) not in self.given]

    def country_default(self, key: str) -> bool:
        """True when ``key`` takes one of the kit's Russian defaults (its schema leaf says
        ``country: RU``: the payroll tax of the Tax Code, the Labour Code's hours, wage and money
        levels quoted in roubles, the Bank of Russia's rate) that the salon did not state (neither in
        study.yaml nor with ``--set``), in a study whose currency is not :data:`DEFAULTS_CURRENCY`:
        a figure that may not apply to the salon, flagged wherever its source is shown."""
        if self.currency == DEFAULTS_CURRENCY or key in self.given:
            return False
        return schema_leaf(key).get("country") == DEFAULTS_COUNTRY

    @property
    def country_defaults(self) -> list[str]:
        """Dotted keys (schema order) of :meth:`country_default`: Russian figures this salon never
        stated; empty for a study in roubles."""
        if self.currency == DEFAULTS_CURRENCY:
            return []
        return [k for k in (".".join(p) for p, _ in _leaves(_schema_cached())) if self.country_default(k)]

    def source_of(self, key: str, lang: str = "en") -> str:
        """Where a value came from: the study file, ``--set``, or the default's source.

        For a default the answer is ``"default: "`` followed by the leaf's ``source`` (``lang="en"``)
        or ``source_ru`` (``lang="ru"``; ``source`` when a leaf lacks it).  The prefix stays
        ``"default: "`` in both languages: callers strip and translate it.  A Russian default the
        salon did not state in a study not in roubles (:meth:`country_default`) is flagged first:
        "not stated by the salon; Russian figure used — state yours (``--set key=…`` / study.yaml)",
        then its source (catalogue ``page.source.country_default``).
        """
        path = tuple(key.split("."))
        if _get_opt(self.overrides, path) is not _MISSING:
            return "--set"
        if key in self.given:
            return STUDY_FILE
        spec = _get(_schema_cached(), path)
        text = (spec.get("source_ru") if lang == "ru" else None) or spec["source"]
        if self.country_default(key):
            from analysis.pages.words import say

            text = say("page.source.country_default", lang, setting=key, source=text)
        return "default: " + text

    def assumptions(self, section: str | None = None, lang: str = "en"):
        """Table of assumptions: key, value, description, source (one row per leaf).

        ``section`` limits it to one section (``"staffing"``); the top-level keys are section
        ``"study"``.  Free-form tables (data mapping, pay schemes) are left out.
        ``lang`` (``en`` | ``ru``) picks the language of the description and of the source.
        """
        import pandas as pd

        rows = []
        for path, spec in _leaves(_schema_cached()):
            sec = path[0] if len(path) > 1 else TOP
            if section is not None and sec != section:
                continue
            if spec["type"] in ("mapping", "list", "any"):
                continue
            key = ".".join(path)
            value = self.get(key)
            if isinstance(value, Uncertain):
                shown = str(value)
            elif isinstance(value, float):
                shown = _fmt_num(value)
            elif isinstance(value, list):
                shown = ", ".join(map(str, value))
            else:
                shown = "" if value is None else str(value)
            rows.append({
                "key": key,
                "value": shown,
                "description": spec.get(lang) or spec.get("en", ""),
                "source": self.source_of(key, lang),
            })
        return pd.DataFrame(rows, columns=["key", "value", "description", "source"])


_MISSING = object()


def _get_opt(tree, path):
    try:
        return _get(tree, path)
    except (KeyError, TypeError):
        return _MISSING


def load_study(study_dir, overrides: dict | None = None) -> Study:
    """Read ``study_dir/study.yaml`` (optional), apply ``overrides``, validate, fill defaults.

    Raises
    ------
    InputError
        Folder missing, YAML unreadable, unknown keys (with the closest valid key), values of the
        wrong type or out of range.  Every problem is reported together.
    """
    study_dir = Path(study_dir)
    problems: list[Problem] = []
    if not study_dir.is_dir():
        raise InputError(Problem(str(study_dir), "study folder not found."
                                 if not study_dir.exists() else "is not a folder."))
    user: dict = {}
    path = study_dir / STUDY_FILE
    if path.exists():
        try:
            loaded = read_yaml(path.read_text(encoding="utf-8-sig"))
        except (yaml.YAMLError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise InputError(Problem(STUDY_FILE, f"is not valid YAML{where}: "
                                     f"{getattr(exc, 'problem', None) or exc}")) from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise InputError(Problem(STUDY_FILE, "must be a mapping of keys to values "
                                     f"(name: ..., horizon_months: ...). Got {type(loaded).__name__}."))
        user = loaded
    overrides = overrides or {}
    if not isinstance(overrides, dict):
        raise InputError(Problem("--set", f"expects KEY=VALUE pairs. Got {_short(overrides)} instead."))
    tree = _schema_cached()
    merged = _deep_merge(user, _complete_uncertain(overrides, user, tree))

    config: dict = {}
    for leaf_path, spec in _leaves(tree):
        _set(config, leaf_path, _coerce(spec, copy.deepcopy(spec["default"]), ".".join(leaf_path), problems)
             if spec["default"] is not None else None)
    if problems:  # a default failed its own schema: a bug in defaults/
        raise RuntimeError("invalid defaults: " + "; ".join(map(str, problems)))
    given: set = set()
    _walk_user(merged, tree, (), problems, config, given, overrides)
    if problems:
        raise InputError(problems)
    if not config.get("name"):
        config["name"] = study_dir.resolve().name
    return Study(dir=study_dir, config=config, given=given, overrides=overrides)
