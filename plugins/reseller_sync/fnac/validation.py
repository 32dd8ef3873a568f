"""Vectorised validation of the data lines of one file type.

The reader and the writer both bring the lines to the same shape, a *text
frame*: one ``str`` column per column of the schema that a reader keeps
(buyer contact columns excluded), ``""`` for an empty field. A
:class:`FrameValidator` checks it chunk by chunk with pandas string methods
(Arrow compute underneath: no Python object per value) and turns it into a
*typed frame* (codes as text, amounts as ``int64`` cents, dates as
``datetime64``...). Problems go to a :class:`ProblemLog`; checks that need
the whole file (uniqueness) run in :meth:`FrameValidator.finish`.
"""

from __future__ import annotations

import re
from functools import partial

import numpy as np
import pandas as pd

from reseller_sync.fnac import values as v
from reseller_sync.fnac.names import FileName
from reseller_sync.fnac.problems import ProblemLog, _line_of_row
from reseller_sync.fnac.schema import FileSchema, Lines, Presence

WALL_CLOCK_DTYPE = "datetime64[us]"
TIMESTAMP_DTYPE = "datetime64[us, UTC]"


class FrameValidator:
    """Validates the text frames of one file, in order, and types them."""

    def __init__(self, schema: FileSchema, name: FileName, log: ProblemLog) -> None:
        self.schema = schema
        self.name = name
        self.log = log
        self.rows = 0
        """Rows checked so far."""
        self.control_total = 0
        """Sum of the control column over the rows checked so far."""
        self._unique_values: dict[str, list[pd.Series]] = {c: [] for c in schema.unique_columns}

    def check(self, text: pd.DataFrame) -> pd.DataFrame:
        """Check the next chunk of lines; return it typed, with NA for empty or wrong values.

        ``text`` holds the schema's columns as ``str`` (an optional column may
        be absent). The typed frame is indexed by data line (1 = first line).
        """
        first_row = self.rows
        length = len(text)
        texts: dict[str, pd.Series] = {}
        typed: dict[str, pd.Series] = {}
        for column in self.schema.read_columns:
            if column.name in text:
                values = text[column.name].reset_index(drop=True)
            else:
                values = pd.Series([""] * length, dtype="str")
            texts[column.name] = values
            typed[column.name] = self._check_column(values, column.name, first_row)
            if column.name in self._unique_values:
                self._unique_values[column.name].append(values)
        lines = Lines(pd.DataFrame(texts), pd.DataFrame(typed))
        for rule in self.schema.rules:
            for violation in rule(lines, self.name):
                self.log.add_rows(
                    violation.rows,
                    first_row=first_row,
                    column=violation.column,
                    reason=violation.reason,
                    values=texts[violation.column],
                )
        frame = lines.typed
        if self.schema.control_column is not None:
            self.control_total += int(frame[self.schema.control_column].sum())
        self.rows += length
        frame.index = pd.RangeIndex(first_row + 1, first_row + 1 + length, name="line")
        return frame

    def finish(self, skipped_lines: list[int] | None = None) -> None:
        """Checks over the whole file: values that must be unique within it."""
        skipped = sorted(skipped_lines or [])
        for column, chunks in self._unique_values.items():
            if not chunks:
                continue
            values = pd.concat(chunks, ignore_index=True)
            repeated = values.duplicated(keep="first") & (values != "")
            if not repeated.any():
                continue
            shown = values[repeated].iloc[: self.log.cap].unique()
            concerned = values.isin(shown).to_numpy(dtype=bool)
            first_rows = (
                pd.Series(np.flatnonzero(concerned), index=values[concerned].to_numpy())
                .groupby(level=0)
                .min()
            )
            first_lines = {
                value: _line_of_row(int(row), skipped) for value, row in first_rows.items()
            }
            self.log.add_rows(
                repeated,
                first_row=0,
                column=column,
                reason=partial(_repeat_reason, column, first_lines),
                values=values,
            )

    def _check_column(self, values: pd.Series, name: str, first_row: int) -> pd.Series:
        column = self.schema.by_name[name]
        value_format = column.format
        add = partial(self.log.add_rows, first_row=first_row, column=name, values=values)
        empty = (values == "").to_numpy(dtype=bool)
        if column.presence is Presence.REQUIRED:
            add(empty, reason="a value is required")
        wrong = np.zeros(len(values), dtype=bool)
        if value_format.pattern is not None:
            matches = values.str.fullmatch(value_format.pattern).to_numpy(dtype=bool)
            wrong = ~empty & ~matches
            add(wrong, reason=partial(_format_reason, value_format))
        if value_format.max_length is not None:
            too_long = ~wrong & (values.str.len() > value_format.max_length).to_numpy(dtype=bool)
            add(too_long, reason=f"is longer than {value_format.max_length} characters")
            wrong |= too_long
        typed, impossible = _typed(values, ~empty & ~wrong, value_format)
        add(impossible, reason=f"is not a real date or time ({value_format.description})")
        return typed


def _repeat_reason(column: str, first_lines: dict[str, int], value: str) -> str:
    return f"{column} repeats the one on line {first_lines[value]}; it must be unique in the file"


def _format_reason(value_format: v.ValueFormat, value: str) -> str:
    for pattern, reason in value_format.hints:
        if re.search(pattern, value):
            return reason
    return f"must be {value_format.description}"


def _typed(
    values: pd.Series, valid: np.ndarray, value_format: v.ValueFormat
) -> tuple[pd.Series, np.ndarray]:
    """The typed values (NA where not ``valid``) and the valid texts that are impossible dates."""
    kept = values.where(valid)
    kind = value_format.kind
    no_impossible = np.zeros(len(values), dtype=bool)
    if kind in (v.ValueKind.AMOUNT, v.ValueKind.INTEGER):
        return kept.astype("Int64"), no_impossible
    if kind is v.ValueKind.BOOLEAN:
        return (values == "1").astype("boolean").where(valid), no_impossible
    if kind is v.ValueKind.TEXT:
        return kept, no_impossible
    if kind is v.ValueKind.TIMESTAMP:
        typed = pd.to_datetime(kept, format="ISO8601", utc=True, errors="coerce")
        typed = typed.astype(TIMESTAMP_DTYPE)
    else:
        time_format = v.WALL_CLOCK_FORMAT if kind is v.ValueKind.WALL_CLOCK else v.DATE_FORMAT
        typed = pd.to_datetime(kept, format=time_format, errors="coerce").astype(WALL_CLOCK_DTYPE)
    return typed, valid & typed.isna().to_numpy(dtype=bool)


def finalized(typed: pd.DataFrame) -> pd.DataFrame:
    """A typed frame of a valid file: nullable columns without NA become plain numpy ones."""
    for name in typed.columns:
        column = typed[name]
        if column.dtype == "Int64" and not column.hasnans:
            typed[name] = column.astype("int64")
        elif column.dtype == "boolean" and not column.hasnans:
            typed[name] = column.astype("bool")
    return typed
