"""Reseller references wide enough for every partner contract.

A reseller's order, ticket and cancellation references were sized for the
first partner contract (20 characters). The second one's transactions are up
to 24 characters, and its tickets are known by their record's key, a
transaction and a line number, up to 28; its price types, kept on the ticket
as the reseller's tariff code, are up to 12 characters where 8 were allowed.
The columns widen to 32 and 16; nothing else changes.

On SQLite the types only change with the tables rebuilt (batch mode), as
0003 does. Downgrading fails on PostgreSQL when a stored reference is longer
than its former size, and changes nothing then.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WIDENED: dict[str, tuple[tuple[str, int, int], ...]] = {
    "sales_order": (("reseller_order_id", 20, 32),),
    "ticket": (
        ("reseller_ticket_id", 20, 32),
        ("reseller_cancellation_id", 20, 32),
        ("reseller_category", 8, 16),
    ),
}
"""Table → (column, size at 0003, size at 0004)."""


def _resize(to_new: bool) -> None:
    for table, columns in WIDENED.items():
        with op.batch_alter_table(table) as batch:
            for column, old, new in columns:
                batch.alter_column(
                    column,
                    existing_type=sa.String(old if to_new else new),
                    type_=sa.String(new if to_new else old),
                    existing_nullable=True,
                )


def upgrade() -> None:
    _resize(to_new=True)


def downgrade() -> None:
    _resize(to_new=False)
