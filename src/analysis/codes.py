"""Codes the calculations return instead of sentences.

A calculation that has something to tell the reader — a model fell back to its limit case, a figure
could not be computed, the data are too short — returns a :class:`Note`: a catalogue key and the raw
values that go into it.  The page layer (:mod:`analysis.pages.words`) words it in the report's
language.  This keeps every sentence in one catalogue per language.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = ["Note", "Missing"]


@dataclass(frozen=True)
class Note:
    """Something the reader should be told.

    Attributes
    ----------
    code : str
        Key in the word catalogues (``analysis/pages/catalogue/<lang>.yaml``).
    fields : mapping
        Raw values for the text's fields (numbers unformatted; the page formats them).
    n : int or float, optional
        The count that picks a plural form, where the text counts something.
    level : {"info", "warning"}
        ``warning`` for what weakens a figure the reader might act on.
    topic : str
        What the note is about (``bgnbd``, ``margin``, ``data`` …), for a page to pick its notes.
    """

    code: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    n: float | None = None
    level: str = "info"
    topic: str = ""


@dataclass(frozen=True)
class Missing:
    """A figure that could not be computed, and why (a :class:`Note`).

    Recorded in ``results.json`` as ``null`` with the reason's code beside it; never NaN or inf.
    """

    reason: Note
