"""Errors the kit reports to its users.

`InputError` carries one or more `Problem` records: what is wrong with a study folder, its
`study.yaml` or its exports.  The command line prints them, one per line, and exits with code 2;
no traceback reaches the user.
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Problem", "InputError", "MissingDataWarning"]


@dataclass(frozen=True)
class Problem:
    """One problem in the input.

    Attributes
    ----------
    where : str
        The file or config key the problem is in (``visits.csv``, ``study.yaml: horizon_months``).
    message : str
        What is wrong, what was given and what is allowed.
    column : str, optional
        The column, for data files.
    rows : tuple of int
        The first offending rows, numbered as in the file (header = row 1).
    count : int
        How many rows are affected in all (0 when the problem is not about rows).
    """

    where: str
    message: str
    column: str | None = None
    rows: tuple[int, ...] = field(default_factory=tuple)
    count: int = 0

    def __str__(self) -> str:
        head = self.where + (f", column '{self.column}'" if self.column else "")
        text = f"{head}: {self.message}"
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows)
            more = f" ({self.count} rows in all)" if self.count > len(self.rows) else ""
            text += f" — rows {shown}{more}" if len(self.rows) > 1 else f" — row {shown}{more}"
        return text


class InputError(ValueError):
    """Bad study input: one or more problems, reported together (exit code 2).

    A ``ValueError``, as in scikit-learn and pandas, so callers that expect one for bad values get
    it.  A site that catches ``ValueError`` to go on without a figure must let ``InputError`` through
    (``except InputError: raise`` first) unless it means to turn bad input into a note; audited in
    issue 13: ``pnl._repeat_retention`` re-raises, ``summary.prepare`` turns it into a note on
    purpose, the other ``except ValueError`` sites guard path and parser calls that raise no
    ``InputError``.
    """

    def __init__(self, problems):
        if isinstance(problems, (Problem, str)):
            problems = [problems]
        self.problems = [p if isinstance(p, Problem) else Problem("input", str(p)) for p in problems]
        super().__init__("\n".join(str(p) for p in self.problems))


class MissingDataWarning(UserWarning):
    """A section is skipped because the study's data lacks what it needs."""
