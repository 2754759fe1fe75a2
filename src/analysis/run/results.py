"""``results.json``: the headline figures every notebook records, read by the summary and index.

Layout: ``{"schema_version": 2, "study": name, "figures": {"<section>": {"<name>": number, ...}}}``;
every figure is declared in :mod:`analysis.figures` (changes between versions in CHANGELOG.md).  Notebooks
may run in parallel, so :func:`record` merges under an exclusive file lock and replaces the file
atomically; keys are sorted, so the file is the same bytes whichever notebook finished first.
"""
from __future__ import annotations

import fcntl
import json
import math
import os
from pathlib import Path

from analysis.figures import SCHEMA_VERSION

__all__ = ["record", "load", "figure"]


def _clean(value):
    """JSON-safe number: numpy scalars -> float/int, NaN/inf -> None; dates, sets and the other
    values YAML or numpy may give -> their JSON form (:func:`analysis.inputs.study.plain`)."""
    from analysis.inputs.study import plain

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, dict):
        return {str(plain(k, strict=True)): _clean(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)) or getattr(value, "ndim", 0):  # a set, a numpy array
        value = plain(value)
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if not isinstance(value, (int, float)) and not hasattr(value, "dtype"):  # a date, bytes, a path...
        value = plain(value)
        if not isinstance(value, (int, float)):
            return _clean(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(f):
        return None
    if float(f).is_integer() and not isinstance(value, float) and "float" not in type(value).__name__:
        return int(f)
    return f


def load(path) -> dict:
    """Read ``results.json``; an empty structure when it does not exist yet.

    Raises
    ------
    ValueError
        The file is not JSON, or not ``{"study": …, "figures": {section: {name: value}}}``.
    """
    path = Path(path)
    if not path.exists():
        return {"study": None, "figures": {}}
    data = json.loads(path.read_text(encoding="utf-8"))  # JSONDecodeError is a ValueError
    figures = data.get("figures") if isinstance(data, dict) else None
    if not isinstance(figures, dict) or not all(isinstance(v, dict) for v in figures.values()):
        raise ValueError(f"{path.name} is not a results file of the kit (study, figures by section).")
    return data


def record(path, section: str, figures: dict, study: str | None = None) -> dict:
    """Merge ``figures`` into ``section`` of ``results.json`` at ``path``; return the section."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(path.name + ".lock")
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        data = load(path)
        data["schema_version"] = SCHEMA_VERSION   # the declaration's version (analysis.figures)
        if study is not None:
            data["study"] = study
        data.setdefault("figures", {}).setdefault(section, {}).update(_clean(figures))
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    return data["figures"][section]


def figure(results: dict, section: str, name: str, default=None):
    """One figure from a loaded results dict, or ``default``."""
    return results.get("figures", {}).get(section, {}).get(name, default)
