"""Where the box office lives and how to open it.

Embedded default: a SQLite file under ``var/`` of the checkout. Production:
PostgreSQL, given by the environment variable ``BOXOFFICE_DB_URL`` or by the
Airflow connection ``boxoffice_db``. The same code runs on both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "boxoffice.sqlite"
CONNECTION_ID = "boxoffice_db"
URL_VARIABLE = "BOXOFFICE_DB_URL"


def database_url() -> str:
    """The box office's URL: environment variable, Airflow connection, or the SQLite default."""
    if url := os.environ.get(URL_VARIABLE):
        return url
    if url := _url_from_airflow_connection():
        return url
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def _url_from_airflow_connection() -> str | None:
    """The ``boxoffice_db`` connection when it is defined (environment or secrets backend)."""
    if not os.environ.get(f"AIRFLOW_CONN_{CONNECTION_ID.upper()}"):
        return None
    from airflow.sdk import Connection

    connection = Connection.get(CONNECTION_ID)
    url = connection.get_uri()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def make_engine(url: str | None = None) -> Engine:
    url = url or database_url()
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.close()


@cache
def default_engine() -> Engine:
    return make_engine()


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    factory = sessionmaker(engine or default_engine(), expire_on_commit=False)
    with factory() as session, session.begin():
        yield session
