"""Migration 0003 on a box office in use (SQLite and PostgreSQL): nothing of the journal lost.

The database is filled at revision 0002 with plain SQL (the models are 0003's):
files integrated, one failed with its line-level errors and a file waiting
behind it, a duplicate, a file an older version ignored for a reused
sequence, a sent file, the ACK that answers it, and an order pointing at its
VENTES. SQLite rebuilds the journal table for the new CHECK constraint while
the other tables' foreign keys point at it: every row must come through.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from reseller_sync.boxoffice import migrate
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.exchange import journal

T = dt.datetime(2026, 11, 28, 13, 5, tzinfo=dt.UTC)
NEW_COLUMNS = ("alerted_at", "set_aside_by", "set_aside_at", "set_aside_reason")
REUSED_MESSAGE = (
    "sequence 000002 of VENTES is already used by VENTES_M0427_000002_20261128140500.csv: "
    "FNAC must not reuse a sequence (spec section 4)"
)


def _file(
    id_: int,
    name: str,
    state: str,
    sequence: int,
    *,
    direction: str = "inbound",
    file_type: str = "VENTES",
    **values: Any,
) -> dict[str, Any]:
    row = {
        "id": id_,
        "reseller_code": "fnac",
        "direction": direction,
        "file_type": file_type,
        "sequence": sequence,
        "name": name,
        "size": 10 + id_,
        "sha256": f"{id_:064d}",
        "content": f"bytes of {name}".encode(),
        "state": state,
        "line_count": None,
        "product_code": None,
        "duplicate_of_id": None,
        "answers_file_id": None,
        "created_at": T + dt.timedelta(hours=id_),
        "processed_at": None,
        "contact_emailed_at": None,
        "error_category": None,
        "error_message": None,
    }
    row.update(values)
    return row


FILES = [
    _file(1, "VENTES_M0427_000001_20261128130500.csv", "integrated", 1, line_count=5),
    _file(
        2,
        "VENTES_M0427_000002_20261128140500.csv",
        "failed",
        2,
        processed_at=T,
        error_category="external",
        error_message="the file has no trailer: truncated or corrupt",
    ),
    _file(3, "VENTES_M0427_000003_20261128150500.csv", "landed", 3),
    _file(
        4,
        "VENTES_M0427_000009_20261128160500.csv",
        "ignored",
        9,
        duplicate_of_id=1,
        error_category="external",
        error_message="same bytes as VENTES_M0427_000001_20261128130500.csv, landed earlier",
    ),
    _file(
        5,
        "VENTES_M0427_000002_20261128170500.csv",
        "ignored",
        2,
        error_category="external",
        error_message=REUSED_MESSAGE,
    ),
    _file(
        6,
        "PLACES_M0427_000001_20261128090000.csv",
        "sent",
        1,
        direction="outbound",
        file_type="PLACES",
        contact_emailed_at=T,
    ),
    _file(
        7,
        "ACK_PLACES_M0427_000001_20261128090000.csv",
        "integrated",
        1,
        file_type="ACK_PLACES",
        answers_file_id=6,
    ),
]
ERRORS = [
    {"id": 1, "file_id": 2, "line": 0, "column": None, "value": None, "code": None,
     "reason": "no trailer"},
    {"id": 2, "file_id": 2, "line": 4, "column": "prix_ttc", "value": "68,50", "code": None,
     "reason": "not a whole number of cents"},
]  # fmt: skip


def _tables(engine: Engine) -> dict[str, sa.Table]:
    metadata = sa.MetaData()
    metadata.reflect(
        engine,
        only=["exchange_file", "exchange_file_error", "sales_order", "sales_channel",
              "point_of_sale", "contact"],
    )  # fmt: skip
    return dict(metadata.tables)


def _fill_at_0002(engine: Engine) -> None:
    tables = _tables(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(tables["exchange_file"]), FILES)
        connection.execute(sa.insert(tables["exchange_file_error"]), ERRORS)
        connection.execute(
            sa.insert(tables["sales_channel"]),
            [{"id": 1, "code": "FNAC", "name": "FNAC", "type": "reseller_automatic",
              "reseller_code": "fnac"}],
        )  # fmt: skip
        connection.execute(
            sa.insert(tables["point_of_sale"]),
            [{"id": 1, "code": "FNAC", "name": "FNAC", "channel_id": 1,
              "payment_mode": "pending_account"}],
        )  # fmt: skip
        connection.execute(
            sa.insert(tables["contact"]),
            [{"id": 1, "code": "FNAC", "name": "FNAC", "email": None, "technical": True}],
        )
        connection.execute(
            sa.insert(tables["sales_order"]),
            [
                {"id": 1, "channel_id": 1, "point_of_sale_id": 1, "contact_id": 1,
                 "state": "paid", "currency": "EUR", "total": 6850, "reseller_code": "fnac",
                 "reseller_order_id": "V0000000001", "is_test": False, "sold_at": T,
                 "source_file_id": 1},
            ],
        )  # fmt: skip


def _rows(engine: Engine, table: str) -> list[dict[str, Any]]:
    found = _tables(engine)[table]
    with engine.connect() as connection:
        rows = connection.execute(sa.select(found).order_by(found.c.id)).mappings().all()
    return [{key: _comparable(value) for key, value in row.items()} for row in rows]


def _comparable(value: Any) -> Any:
    """SQLite gives timestamps back without their zone; PostgreSQL with it."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return value


def test_a_journal_in_use_at_0002_keeps_every_row_through_0003_and_back(
    empty_boxoffice_url: str,
) -> None:
    url = empty_boxoffice_url
    migrate.upgrade(url, "0002")
    engine = make_engine(url)
    try:
        _fill_at_0002(engine)
        files, errors, orders = (
            _rows(engine, name) for name in ("exchange_file", "exchange_file_error", "sales_order")
        )
        engine.dispose()

        migrate.upgrade(url, "0003")

        assert migrate.current_revision(url) == "0003"
        upgraded = _rows(engine, "exchange_file")
        for before, after in zip(files, upgraded, strict=True):
            assert {key: after[key] for key in before if key != "state"} == {
                key: value for key, value in before.items() if key != "state"
            }
            assert [after[column] for column in NEW_COLUMNS] == [None] * 4
        assert [row["state"] for row in upgraded] == [
            "integrated",
            "failed",
            "landed",
            "ignored",
            "sequence_reused",  # ignored by 0002 for a reused sequence: now its own state
            "sent",
            "integrated",
        ]
        assert _rows(engine, "exchange_file_error") == errors
        assert _rows(engine, "sales_order") == orders
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []

        # The upgraded journal works: the refused file is reported once, and the failed
        # file can be set aside, the file behind it now ready.
        with Session(engine) as session, session.begin():
            refusals = journal.take_refusals_to_alert(session, "fnac")
            assert refusals == [("VENTES_M0427_000002_20261128170500.csv", REUSED_MESSAGE)]
            assert journal.queue(session, "fnac", "VENTES").blocked_by == FILES[1]["name"]
            done = journal.set_aside(
                session, "fnac", FILES[1]["name"], reason="resent as 000003", by="alice"
            )
            assert done.ready == (FILES[2]["name"],)
        engine.dispose()

        migrate.downgrade(url, "0002")

        downgraded = _rows(engine, "exchange_file")
        assert [row["state"] for row in downgraded] == [
            "integrated",
            "failed",  # set aside, which 0002 cannot hold: failed again, who and why kept
            "landed",
            "ignored",
            "ignored",
            "sent",
            "integrated",
        ]
        assert downgraded[1]["error_message"] == (
            "the file has no trailer: truncated or corrupt [set aside by alice: resent as 000003]"
        )
        assert _rows(engine, "exchange_file_error") == errors
        assert _rows(engine, "sales_order") == orders
        with engine.connect() as connection, pytest.raises(sa.exc.IntegrityError):
            # 0002's CHECK constraint is back: the new states are refused again.
            connection.execute(sa.text("UPDATE exchange_file SET state = 'set_aside' WHERE id = 3"))
    finally:
        engine.dispose()
