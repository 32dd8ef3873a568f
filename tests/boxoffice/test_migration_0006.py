"""Migration 0006: the members of a batch kept under its closing file; and back (SQLite and
PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

from reseller_sync.boxoffice import migrate
from reseller_sync.boxoffice.db import make_engine


def test_the_members_table_comes_and_goes(empty_boxoffice_url: str) -> None:
    migrate.upgrade(empty_boxoffice_url, "0005")
    engine = make_engine(empty_boxoffice_url)
    try:
        assert "exchange_file_member" not in sa.inspect(engine).get_table_names()
        migrate.upgrade(empty_boxoffice_url, "0006")
        inspector = sa.inspect(engine)
        assert "exchange_file_member" in inspector.get_table_names()
        unique = inspector.get_unique_constraints("exchange_file_member")
        assert [entry["column_names"] for entry in unique] == [["exchange_file_id", "name"]]
        keys = inspector.get_foreign_keys("exchange_file_member")
        assert [(key["referred_table"], key["options"].get("ondelete")) for key in keys] == [
            ("exchange_file", "CASCADE")
        ]
        migrate.downgrade(empty_boxoffice_url, "0005")
        assert "exchange_file_member" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
