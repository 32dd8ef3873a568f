"""Insert many rows at once from a pandas DataFrame, inside the caller's transaction.

PostgreSQL gets ``COPY ... FROM STDIN`` (CSV text written by pandas, no Python
object per row); other databases get one executemany. Either way the rows
join the session's transaction: they commit or roll back with it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import TypeVar

import pandas as pd
from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

COPY_CHUNK_ROWS = 200_000
LOOKUP_BATCH = 10_000
"""Values per ``IN (...)`` lookup: well under SQLite's and PostgreSQL's parameter limits."""

_T = TypeVar("_T")


def batches(values: Sequence[_T], size: int = LOOKUP_BATCH) -> Iterable[list[_T]]:
    """Consecutive slices of ``values``, for lookups with a bounded ``IN`` list."""
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def insert_frame(session: Session, table: Table, frame: pd.DataFrame) -> int:
    """Insert every row of ``frame`` (columns named as the table's) into ``table``."""
    if frame.empty:
        return 0
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _copy(connection.connection.driver_connection, table, frame)  # type: ignore[union-attr]
    else:
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        connection.execute(insert(table), records)
    return len(frame)


def _copy(driver_connection, table: Table, frame: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    columns = ", ".join(f'"{name}"' for name in frame.columns)
    statement = f"COPY \"{table.name}\" ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
    with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for start in range(0, len(frame), COPY_CHUNK_ROWS):
            buffer = io.StringIO()
            frame.iloc[start : start + COPY_CHUNK_ROWS].to_csv(
                buffer, header=False, index=False, na_rep="\\N", date_format="%Y-%m-%d %H:%M:%S%z"
            )
            copy.write(buffer.getvalue())
