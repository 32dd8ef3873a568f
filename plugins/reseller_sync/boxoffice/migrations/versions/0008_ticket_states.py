"""Tickets whose reseller reports their state: the state, its moment, the sale's moment and
the refund, and barcodes long enough for every partner contract.

A reseller that reports each ticket's current state (sold, printed, cancelled,
refunded) rather than sale and cancellation events has each line compared with
what the box office stored of the ticket: the state it reported last and when
the ticket entered it, when it was sold, and what was refunded. Its barcodes,
which are also its ticket references, are up to 40 characters: the barcode
columns widen from 20 to 40, and the reseller's ticket reference from 32 to 40.

On SQLite the types only change with the tables rebuilt (batch mode), as 0004
does. Downgrading drops the new columns, and fails on PostgreSQL when a stored
barcode is longer than 20 characters.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WIDENED: dict[str, tuple[tuple[str, int, int, bool], ...]] = {
    "ticket": (("barcode", 20, 40, False), ("reseller_ticket_id", 32, 40, True)),
    "access_control_entry": (("barcode", 20, 40, False),),
}
"""Table → (column, size at 0007, size at 0008, nullable)."""

ADDED = (
    sa.Column("reseller_state", sa.String(length=16), nullable=True),
    sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("sold_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("refund_amount", sa.Integer(), nullable=True),
)


def _resize(to_new: bool) -> None:
    for table, columns in WIDENED.items():
        with op.batch_alter_table(table) as batch:
            for column, old, new, nullable in columns:
                batch.alter_column(
                    column,
                    existing_type=sa.String(old if to_new else new),
                    type_=sa.String(new if to_new else old),
                    existing_nullable=nullable,
                )


def upgrade() -> None:
    _resize(to_new=True)
    with op.batch_alter_table("ticket") as batch:
        for column in ADDED:
            batch.add_column(column.copy())


def downgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        for column in ADDED:
            batch.drop_column(column.name)
    _resize(to_new=False)
