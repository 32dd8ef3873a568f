"""Migration 0004: reseller references 32 characters wide (price types 16), and back, the
cancellation reference still unique (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

from reseller_sync.boxoffice import migrate
from reseller_sync.boxoffice.db import make_engine

SIZES_0003 = {
    ("sales_order", "reseller_order_id"): 20,
    ("ticket", "reseller_ticket_id"): 20,
    ("ticket", "reseller_cancellation_id"): 20,
    ("ticket", "reseller_category"): 8,
}
SIZES_0004 = {
    ("sales_order", "reseller_order_id"): 32,
    ("ticket", "reseller_ticket_id"): 32,
    ("ticket", "reseller_cancellation_id"): 32,
    ("ticket", "reseller_category"): 16,
}


def _sizes(engine: sa.Engine) -> dict[tuple[str, str], int]:
    inspector = sa.inspect(engine)
    return {
        (table, column["name"]): column["type"].length
        for table in ("sales_order", "ticket")
        for column in inspector.get_columns(table)
        if (table, column["name"]) in SIZES_0003
    }


def _unique_cancellation(engine: sa.Engine) -> bool:
    inspector = sa.inspect(engine)
    names = [*inspector.get_unique_constraints("ticket"), *inspector.get_indexes("ticket")]
    return any(
        entry["column_names"] == ["reseller_cancellation_id"] and entry.get("unique", True)
        for entry in names
    )


def test_the_references_widen_and_narrow_back(empty_boxoffice_url: str) -> None:
    migrate.upgrade(empty_boxoffice_url, "0003")
    engine = make_engine(empty_boxoffice_url)
    try:
        assert _sizes(engine) == SIZES_0003
        migrate.upgrade(empty_boxoffice_url, "0004")
        assert _sizes(engine) == SIZES_0004
        assert _unique_cancellation(engine)
        migrate.downgrade(empty_boxoffice_url, "0003")
        assert _sizes(engine) == SIZES_0003
        assert _unique_cancellation(engine)
    finally:
        engine.dispose()
