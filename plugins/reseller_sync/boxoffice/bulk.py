"""Insert many rows at once from a pandas DataFrame, inside the caller's transaction.

PostgreSQL gets ``COPY ... FROM STDIN`` (CSV text written by Arrow, no Python
object per row); other databases get one executemany per slice of rows. Either way the rows
join the session's transaction: they commit or roll back with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any, TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import ColumnElement, Table, any_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.types import Enum, NullType, String, TypeEngine

COPY_CHUNK_ROWS = 200_000
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


def _copy(driver_connection, table: Table, frame: pd.DataFrame) -> None:
    columns = ", ".join(f'"{name}"' for name in frame.columns)
    statement = f'COPY "{table.name}" ({columns}) FROM STDIN WITH (FORMAT csv)'
    options = pacsv.WriteOptions(include_header=False)
    with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for start in range(0, len(frame), COPY_CHUNK_ROWS):
            chunk = _whole_seconds(frame.iloc[start : start + COPY_CHUNK_ROWS])
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

    PostgreSQL: one ``UPDATE ... FROM unnest(...)`` of the frame's columns sent as typed
    arrays; other databases: one executemany per slice of rows. Nulls are written as NULL.
    """
    if frame.empty:
        return 0
    connection = session.connection()
    values = {
        name: column.astype(object).where(column.notna(), None).tolist()
        for name, column in frame.items()
    }
    for name, column in frame.items():
        if column.dtype.kind == "M":
            values[name] = [None if v is None else v.to_pydatetime() for v in values[name]]
    if connection.dialect.name == "postgresql":
        given = select(
            *(
                func.unnest(
                    bindparam(f"u_{name}", values[name], type_=ARRAY(_array_item(table, name)))
                ).label(name)
                for name in frame.columns
            )
        ).subquery("given")
        connection.execute(
            update(table)
            .where(table.c[key] == given.c[key])
            .values({name: given.c[name] for name in frame.columns if name != key})
        )
        return len(frame)
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


def _array_item(table: Table, name: str) -> TypeEngine[Any]:
    """The type of an array of the column's values: an enum stored as text travels as text."""
    column_type = table.c[name].type
    return String() if isinstance(column_type, Enum) else column_type
