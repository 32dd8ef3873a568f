"""Migration 0005: the reseller's own performance identifiers, and customer category codes
16 characters wide; and back (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

from reseller_sync.boxoffice import migrate
from reseller_sync.boxoffice.db import make_engine


def _category_code_size(engine: sa.Engine) -> int:
    columns = sa.inspect(engine).get_columns("reseller_customer_category")
    return next(column["type"].length for column in columns if column["name"] == "code")


def test_the_identifiers_table_comes_and_goes(empty_boxoffice_url: str) -> None:
    migrate.upgrade(empty_boxoffice_url, "0004")
    engine = make_engine(empty_boxoffice_url)
    try:
        assert "reseller_performance" not in sa.inspect(engine).get_table_names()
        assert _category_code_size(engine) == 8
        migrate.upgrade(empty_boxoffice_url, "0005")
        inspector = sa.inspect(engine)
        assert "reseller_performance" in inspector.get_table_names()
        unique = inspector.get_unique_constraints("reseller_performance")
        assert [entry["column_names"] for entry in unique] == [
            ["reseller_code", "partner_event_id", "partner_performance_id"]
        ]
        assert _category_code_size(engine) == 16
        migrate.downgrade(empty_boxoffice_url, "0004")
        assert "reseller_performance" not in sa.inspect(engine).get_table_names()
        assert _category_code_size(engine) == 8
    finally:
        engine.dispose()
