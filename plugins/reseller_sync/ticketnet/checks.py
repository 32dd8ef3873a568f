"""Checking the records of one data file: required fields, formats, per-record rules
(``ticketnet-exchange-v1`` sections 5, 7.1 and 8; code ``R06``, ``B06`` for ``OFFER``).

Checks run on Arrow record batches through numpy views
(:class:`~reseller_sync.ticketnet.formats.Strings`); only the first failing
records of each check are turned into :class:`TicketnetProblem` objects.
The table never holds a ``buyer_*`` column, so no problem can quote one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from reseller_sync.ticketnet.errors import MAX_PROBLEMS, Code, TicketnetProblem
from reseller_sync.ticketnet.formats import Strings, Text
from reseller_sync.ticketnet.schema import FileSchema, Presence, Records

_SHOWN_LENGTH = 80
"""Values longer than this are cut in messages."""


class ProblemLog:
    """Problems of one batch (or file), all counted, the first :data:`MAX_PROBLEMS` kept."""

    def __init__(self, cap: int = MAX_PROBLEMS) -> None:
        self.cap = cap
        self.total = 0
        self._problems: list[TicketnetProblem] = []

    def __bool__(self) -> bool:
        return self.total > 0

    def add(
        self,
        code: Code,
        reason: str,
        *,
        file: str | None,
        record: int = 0,
        column: str | None = None,
        value: str | None = None,
    ) -> None:
        self.total += 1
        if len(self._problems) < self.cap:
            self._problems.append(
                TicketnetProblem(reason, file, record, column, _shown(value), code=code)
            )

    def add_rows(
        self,
        code: Code,
        rows: np.ndarray,
        *,
        file: str,
        first_record: int,
        column: str,
        reason: str | Callable[[str | None], str],
        values: pa.Array | None = None,
    ) -> None:
        """One problem per flagged row; record ``first_record + position``."""
        positions = np.flatnonzero(rows)
        if positions.size == 0:
            return
        room = max(0, self.cap - len(self._problems))
        self.total += int(positions.size)
        for position in positions[:room].tolist():
            value = str(values[position].as_py()) if values is not None else None
            why = reason(value) if callable(reason) else reason
            self._problems.append(
                TicketnetProblem(
                    why, file, first_record + position, column, _shown(value), code=code
                )
            )

    def extend(self, other: ProblemLog) -> None:
        room = max(0, self.cap - len(self._problems))
        self._problems.extend(other._problems[:room])
        self.total += other.total

    def problems(self) -> list[TicketnetProblem]:
        """The problems kept, in file and record order, then "and N more" when some were cut."""
        kept = sorted(self._problems, key=lambda p: (p.file or "", p.line or 0))
        if self.total > len(kept) and kept:
            last = kept[-1]
            kept.append(
                TicketnetProblem(
                    f"and {self.total - len(kept)} more problems", last.file, 0, code=last.code
                )
            )
        return kept


def _shown(value: str | None) -> str | None:
    if value is None or len(value) <= _SHOWN_LENGTH:
        return value
    return value[:_SHOWN_LENGTH] + "…"


def check_records(
    schema: FileSchema, table: pa.Table, *, file: str, code: Code, log: ProblemLog
) -> None:
    """Check every record of ``table`` (the schema's read columns, as strings)."""
    first_record = 1
    for batch in table.to_batches():
        columns = {
            column.name: Strings.of(batch.column(column.name)) for column in schema.read_columns
        }
        for column in schema.read_columns:
            values = columns[column.name]
            if column.presence is Presence.REQUIRED:
                log.add_rows(
                    code,
                    ~values.filled,
                    file=file,
                    first_record=first_record,
                    column=column.name,
                    reason="a value is required",
                )
            wrong = column.format.invalid(values)
            if wrong is not None:
                shows_value = not isinstance(column.format, Text)
                log.add_rows(
                    code,
                    wrong,
                    file=file,
                    first_record=first_record,
                    column=column.name,
                    reason=column.format.reason(),
                    values=values.array if shows_value else None,
                )
        records = Records(columns)
        for rule in schema.rules:
            for violation in rule(records):
                log.add_rows(
                    code,
                    violation.rows,
                    file=file,
                    first_record=first_record,
                    column=violation.column,
                    reason=violation.reason,
                )
        first_record += batch.num_rows
