"""Alembic environment of the box office; run through ``reseller_sync.boxoffice.migrate``."""

from __future__ import annotations

from alembic import context

from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import Base

config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        _run(connection)
        connection.commit()
    engine.dispose()  # on SQLite its connection has foreign keys off: never reused


def _run(connection) -> None:
    """Run the migrations on ``connection``; the caller commits.

    SQLite changes a table by copying it, dropping it and renaming the copy
    (batch mode): with foreign keys enforced, the drop fails while other rows
    point at the table. As SQLite's own procedure says (lang_altertable.html):
    keys off while migrating, every key checked before the commit. The pragma
    must run before any transaction (inside one it does nothing), and so stays
    off on this connection: it must not serve anything else afterwards.
    """
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            _check_foreign_keys(connection)


def _check_foreign_keys(connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"the migration would break foreign keys: {broken[:10]}")


run_migrations()
