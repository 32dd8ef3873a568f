"""Insert, update and read many rows at once, inside the caller's transaction.

PostgreSQL gets ``COPY ... FROM STDIN`` (CSV text written by Arrow, no Python
object per row), for inserts and for the rows an update sets (copied into a
temporary table, then one ``UPDATE ... FROM`` it); other databases get one
executemany per slice of rows. Either way the rows join the session's
transaction: they commit or roll back with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from itertools import count
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    any_,
    bindparam,
    insert,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.types import NullType

COPY_CHUNK_ROWS = 20_000
"""Rows per slice of CSV text sent to ``COPY``: a thread sends each slice while the next is
written, so that the server reads rows while Python writes them."""
EXECUTEMANY_ROWS = 20_000
"""Rows per executemany: one Python dict per row exists only for these at a time."""
LOOKUP_BATCH = 10_000
"""Values per ``IN (...)`` lookup: well under SQLite's and PostgreSQL's parameter limits."""

_T = TypeVar("_T")


def batches(values: Sequence[_T], size: int = LOOKUP_BATCH) -> Iterable[list[_T]]:
    """Consecutive slices of ``values``, for lookups with a bounded ``IN`` list."""
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def matching(
    session: Session, column: ColumnElement[Any] | QueryableAttribute[Any], values: Sequence[Any]
) -> Iterable[ColumnElement[bool]]:
    """Conditions ``column IN values`` for a lookup of any number of values, one per query.

    PostgreSQL: one ``column = ANY(:values)``, the values sent as one array
    parameter (a statement with thousands of parameters costs more to build
    and parse than the query itself). Text or integer values travel as the
    array's text form, typed ``text[]`` or ``bigint[]`` (:func:`array_literal`):
    the server parses it once, as it would the driver's array, while the
    driver would quote each value in Python, about three times slower. Other
    databases: one ``IN (...)`` per :func:`batches` slice. No value, no
    condition.
    """
    values = list(values)
    if not values:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        typed = array_literal(values)
        if typed is None:
            yield column == any_(bindparam(None, values, type_=ARRAY(column.type)))
            return
        _register_array_dumpers(connection.connection.driver_connection)
        yield column == any_(bindparam(None, typed, type_=NullType()))
        return
    for batch in batches(values):
        yield column.in_(batch)


class TextArray(str):
    """The text form of a PostgreSQL ``text[]``, sent as that type (not as text)."""


class BigintArray(str):
    """The text form of a PostgreSQL ``bigint[]``, sent as that type (not as text)."""


def array_literal(values: Sequence[Any]) -> TextArray | BigintArray | None:
    """The array's text form for values all ``str`` or all ``int``, else None:
    ``{"a","b"}`` (each value quoted, ``"`` and ``\\`` escaped), ``{1,2}``."""
    types = set(map(type, values))
    if types == {int}:
        return BigintArray("{" + ",".join(map(str, values)) + "}")
    if types != {str}:
        return None
    joined = '","'.join(values)
    if "\\" in joined or joined.count('"') != 2 * (len(values) - 1):
        joined = '","'.join(v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return TextArray('{"' + joined + '"}')


def _register_array_dumpers(driver_connection: Any) -> None:
    """Teach psycopg to send :class:`TextArray` and :class:`BigintArray` as they are,
    typed, so that the server reads each as one array constant."""
    adapters = driver_connection.adapters
    for wrapper, dumper in _array_dumpers().items():
        adapters.register_dumper(wrapper, dumper)


@cache
def _array_dumpers() -> dict[type, type]:
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class TextArrayDumper(Dumper):
        format = Format.TEXT
        oid = 1009  # text[]

        def dump(self, obj: Any) -> bytes:
            return str(obj).encode()

    class BigintArrayDumper(TextArrayDumper):
        oid = 1016  # bigint[]

    return {TextArray: TextArrayDumper, BigintArray: BigintArrayDumper}


def insert_frame(session: Session, table: Table, frame: pd.DataFrame) -> int:
    """Insert every row of ``frame`` (columns named as the table's) into ``table``."""
    if frame.empty:
        return 0
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _copy(connection.connection.driver_connection, table, frame)
    else:
        statement = insert(table)
        for start in range(0, len(frame), EXECUTEMANY_ROWS):
            part = frame.iloc[start : start + EXECUTEMANY_ROWS]
            records = part.astype(object).where(part.notna(), None).to_dict("records")
            connection.execute(statement, records)
    return len(frame)


def _copy(driver_connection: Any, table: Table, frame: pd.DataFrame) -> None:
    _copy_into(driver_connection, f'"{table.name}"', _whole_seconds(frame))


def _copy_into(driver_connection: Any, target: str, frame: pd.DataFrame) -> None:
    """``COPY`` the frame's rows into ``target`` (a quoted table name), its columns by name."""
    columns = ", ".join(f'"{name}"' for name in frame.columns)
    statement = f"COPY {target} ({columns}) FROM STDIN WITH (FORMAT csv)"
    from psycopg.copy import QueuedLibpqWriter

    options = pacsv.WriteOptions(include_header=False)
    with (
        driver_connection.cursor() as cursor,
        cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy,
    ):
        for start in range(0, len(frame), COPY_CHUNK_ROWS):
            chunk = frame.iloc[start : start + COPY_CHUNK_ROWS]
            sink = pa.BufferOutputStream()
            pacsv.write_csv(pa.Table.from_pandas(chunk, preserve_index=False), sink, options)
            copy.write(memoryview(sink.getvalue()))


def _whole_seconds(frame: pd.DataFrame) -> pd.DataFrame:
    """Times cut to the second, as the box office has always stored copied rows."""
    times = {
        name: (column.dt.tz_convert("UTC") if column.dt.tz is not None else column).dt.floor("s")
        for name, column in frame.items()
        if column.dtype.kind == "M"
    }
    return frame.assign(**times) if times else frame


def update_rows(session: Session, table: Table, frame: pd.DataFrame, *, key: str = "id") -> int:
    """Set, on each row of ``table`` whose ``key`` is a row of ``frame``, the frame's other
    columns (named as the table's), inside the caller's transaction.

    PostgreSQL: the frame copied (``COPY``) into a temporary table of the columns' own
    types, then one ``UPDATE ... FROM`` it, no Python object per value; other databases:
    one executemany per slice of rows. Nulls are written as NULL, times to the
    microsecond.
    """
    if frame.empty:
        return 0
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _update_from_copy(connection.connection.driver_connection, table, frame, key)
        return len(frame)
    values = {
        name: column.astype(object).where(column.notna(), None).tolist()
        for name, column in frame.items()
    }
    for name, column in frame.items():
        if column.dtype.kind == "M":
            values[name] = [None if v is None else v.to_pydatetime() for v in values[name]]
    statement = (
        update(table)
        .where(table.c[key] == bindparam(f"u_{key}"))
        .values({name: bindparam(f"u_{name}") for name in frame.columns if name != key})
    )
    rows = [
        {f"u_{name}": value for name, value in zip(frame.columns, row, strict=True)}
        for row in zip(*(values[name] for name in frame.columns), strict=True)
    ]
    for start in range(0, len(rows), EXECUTEMANY_ROWS):
        connection.execute(statement, rows[start : start + EXECUTEMANY_ROWS])
    return len(frame)


_stages = count(1)
"""Numbers the temporary tables of :func:`_update_from_copy` (several may live in one
transaction)."""


def _update_from_copy(driver_connection: Any, table: Table, frame: pd.DataFrame, key: str) -> None:
    """PostgreSQL's :func:`update_rows`: a temporary table made like the table's columns,
    the frame copied into it, one ``UPDATE ... FROM`` it, the temporary table dropped."""
    for name in frame.columns:
        table.c[name]  # a column the table does not have fails here, before any statement
    stage = f'"stage_{table.name}_{next(_stages)}"'
    columns = ", ".join(f'"{name}"' for name in frame.columns)
    assignments = ", ".join(f'"{name}" = s."{name}"' for name in frame.columns if name != key)
    times = {
        name: column.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
        if column.dt.tz is not None
        else column.astype("datetime64[us]")
        for name, column in frame.items()
        if column.dtype.kind == "M"
    }
    with driver_connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS "
            f'SELECT {columns} FROM "{table.name}" WITH NO DATA'
        )
        _copy_into(driver_connection, stage, frame.assign(**times) if times else frame)
        cursor.execute(
            f'UPDATE "{table.name}" SET {assignments} FROM {stage} s '
            f'WHERE "{table.name}"."{key}" = s."{key}"'
        )
        cursor.execute(f"DROP TABLE {stage}")


def fetch_rows(session: Session, statement: Select[*tuple[Any, ...]]) -> Sequence[Any]:
    """The rows of a Core ``select``, in the session's transaction.

    PostgreSQL: run on the driver's cursor, each value as the driver reads it (no
    SQLAlchemy row or type conversion per value: an enum column comes back as its
    stored text, which a ``type_coerce(..., String)`` in the select makes the same
    elsewhere); its parameters must need no conversion either (text, numbers, the
    arrays of :func:`matching`). Other databases: SQLAlchemy's rows.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return connection.execute(statement).all()
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    with connection.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(compiled.string, compiled.params)
        return cursor.fetchall()


def take_ids(session: Session, table: Table, rows: int) -> np.ndarray | None:
    """``rows`` new ids for ``table``, taken from its id sequence (PostgreSQL), for rows
    inserted with their id: the caller then knows each row's id without reading it back.
    None on other databases (their rows take their ids as they are inserted)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return None
    if rows == 0:
        return np.empty(0, np.int64)
    driver: Any = connection.connection.driver_connection
    with driver.cursor(binary=True) as cursor:
        found = cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table.name]).fetchone()
        if found is None or found[0] is None:
            raise ValueError(f"table {table.name} has no id sequence")
        drawn = cursor.execute(
            "SELECT array_agg(nextval(%s::regclass)) FROM generate_series(1, %s)",
            [found[0], rows],
        ).fetchone()
    assert drawn is not None
    return np.array(drawn[0], dtype=np.int64)
