"""Collecting the problems of one file, all of them, up to a cap.

Validation is vectorised: a check yields a boolean mask over the lines of a
chunk. :class:`ProblemLog` counts every line a mask flags, but keeps only the
first :data:`~reseller_sync.fnac.errors.MAX_PROBLEMS` problems by line, so a
file where a million lines are wrong costs no more than one where a hundred
are. Its :meth:`ProblemLog.problems` ends with "and N more problems" when
some were left out.

Data problems are first recorded against the *row*, the position of the line
among the lines the CSV reader parsed, and turned into data line numbers at
the end: lines the reader skipped because they had the wrong number of
fields shift the rows that follow them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reseller_sync.domain.errors import Problem
from reseller_sync.fnac.errors import MAX_PROBLEMS


@dataclass(frozen=True)
class _Entry:
    reason: str
    line: int | None = None
    """The data line when known exactly, 0 for the whole file."""
    row: int | None = None
    """The position among the parsed rows (0-based), when ``line`` is not known yet."""
    column: str | None = None
    value: str | None = None


class ProblemLog:
    """The problems of one file (or one batch of records to write)."""

    def __init__(self, file: str | None, cap: int = MAX_PROBLEMS) -> None:
        self.file = file
        self.cap = cap
        self.total = 0
        self._placed: list[_Entry] = []
        self._rows: list[_Entry] = []
        self.columns_with_problems: set[str] = set()

    def __bool__(self) -> bool:
        return self.total > 0

    def add(
        self,
        reason: str,
        *,
        line: int | None = 0,
        column: str | None = None,
        value: str | None = None,
    ) -> None:
        """A problem at a known data line (0, the default, for the whole file)."""
        self.total += 1
        if column:
            self.columns_with_problems.add(column)
        self._placed.append(_Entry(reason, line=line, column=column, value=value))
        self._placed = self._trimmed(self._placed)

    def add_rows(
        self,
        flagged: np.ndarray | pd.Series,
        *,
        first_row: int,
        column: str,
        reason: str | Callable[[str], str],
        values: pd.Series | None = None,
    ) -> None:
        """One problem per flagged row of a chunk whose first row is ``first_row``.

        ``values`` is the text of ``column`` in the chunk, shown with each
        problem; ``reason`` may be a function of that text.
        """
        positions = np.flatnonzero(np.asarray(flagged, dtype=bool))
        if positions.size == 0:
            return
        self.total += int(positions.size)
        self.columns_with_problems.add(column)
        kept = positions[: self.cap]
        shown = [None] * kept.size if values is None else values.iloc[kept].tolist()
        for position, value in zip(kept.tolist(), shown, strict=True):
            why = reason(value) if callable(reason) else reason
            self._rows.append(_Entry(why, row=first_row + position, column=column, value=value))
        self._rows = self._trimmed(self._rows)

    def problems(self, skipped_lines: Iterable[int] = ()) -> list[Problem]:
        """The problems by line, capped, with rows turned into data lines.

        ``skipped_lines`` are the data lines the reader did not parse.
        """
        skipped = sorted(skipped_lines)
        entries = [
            _Entry(e.reason, line=_line_of_row(e.row, skipped), column=e.column, value=e.value)
            for e in self._rows
            if e.row is not None
        ]
        ordered = sorted(self._placed + entries, key=_sort_key)[: self.cap]
        problems = [
            Problem(e.reason, file=self.file, line=e.line, column=e.column, value=e.value)
            for e in ordered
        ]
        if self.total > len(problems):
            problems.append(Problem(f"and {self.total - len(problems)} more problems", self.file))
        return problems

    def _trimmed(self, entries: list[_Entry]) -> list[_Entry]:
        if len(entries) <= 2 * self.cap:
            return entries
        return sorted(entries, key=_sort_key)[: self.cap]


def _sort_key(entry: _Entry) -> tuple[int, int]:
    if entry.line is not None:
        return (entry.line, 0)
    return (entry.row if entry.row is not None else 0, 1)


def _line_of_row(row: int | None, skipped: list[int]) -> int:
    """The data line of the ``row``-th parsed line, given the (sorted) skipped lines."""
    line = (row or 0) + 1
    for skipped_line in skipped:
        if skipped_line > line:
            break
        line += 1
    return line
