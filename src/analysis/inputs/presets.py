"""Presets for the exports of salon systems, chosen by ``source_system:`` in study.yaml.

A preset is a YAML file ``analysis/inputs/presets/<system>.yaml``: for each table, the header names the
system's export may use for each column of the kit's contract (``columns: {date: [Дата визита,
Дата]}``; the first header found in the file wins) and the system's words for categorical values
(``values: {status: {Клиент пришел: done}}``).  Each file says, in its comments and ``sources``,
which public help pages it was taken from and what those pages leave undocumented.

The study's own ``data:`` mapping always wins: a column the study maps is not looked up in the
preset, and a value the study maps overrides the preset's word.  Adding a system is adding one file.

Presets shipped (see each file for its sources): yclients, altegio, fresha, mindbody, phorest,
vagaro, zenoti.  ``arnica`` and ``booksy`` are known names without a preset: their public help pages
found so far do not describe an export; map the columns in ``data:`` instead.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml

from analysis.errors import Problem

__all__ = ["available", "preset", "resolve", "UNDOCUMENTED"]

#: Systems named in the issue whose public help pages did not document an export format.
UNDOCUMENTED = ("arnica", "booksy")


@lru_cache(maxsize=1)
def available() -> tuple[str, ...]:
    """Names of the shipped presets (lower case, sorted)."""
    folder = resources.files(__package__) / "presets"
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")))


@lru_cache(maxsize=None)
def preset(name: str) -> dict:
    """The preset ``name`` as ``{"title", "sources", "tables": {table: {"columns", "values"}}}``.

    Raises
    ------
    KeyError
        For a name without a preset.
    """
    if name not in available():
        raise KeyError(name)
    text = (resources.files(__package__) / "presets" / f"{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def resolve(system) -> tuple[dict, list[Problem]]:
    """``{table: {"columns": {column: [headers]}, "values": {column: {word: value}}}}`` for
    ``source_system`` (empty for none), and the problems with the setting."""
    if system in (None, ""):
        return {}, []
    name = str(system).strip().lower()
    where = "study.yaml: source_system"
    if name in UNDOCUMENTED:
        return {}, [Problem(where, f"'{system}' has no preset: its public help pages do not describe "
                            "an export the kit could read. Map your export's columns under data: visits: "
                            f"columns: instead. Presets: {', '.join(available())}.")]
    if name not in available():
        return {}, [Problem(where, f"unknown system '{system}'. Allowed: {', '.join(available())}.")]
    return preset(name).get("tables") or {}, []
