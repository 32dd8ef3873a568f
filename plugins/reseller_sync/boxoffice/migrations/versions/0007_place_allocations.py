"""The places given to a reseller's quota, record by record, as its answer stated them.

A reseller that answers each record of an allocation says which places are its: one row per record sent, its state set by the
answer (allocated, or refused with the reseller's code).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "place_allocation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reseller_code", sa.String(length=32), nullable=False),
        sa.Column("performance_id", sa.Integer(), nullable=False),
        sa.Column("seat_id", sa.Integer(), nullable=True),
        sa.Column("block_id", sa.Integer(), nullable=True),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "sent",
                "allocated",
                "refused",
                name="allocation_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=8), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(seat_id IS NOT NULL AND block_id IS NULL AND places = 1)"
            " OR (seat_id IS NULL AND block_id IS NOT NULL AND places > 0)",
            name=op.f("ck_place_allocation_seat_or_free_places"),
        ),
        sa.ForeignKeyConstraint(
            ["block_id"], ["block.id"], name=op.f("fk_place_allocation_block_id_block")
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["exchange_file.id"],
            name=op.f("fk_place_allocation_file_id_exchange_file"),
        ),
        sa.ForeignKeyConstraint(
            ["performance_id"],
            ["performance.id"],
            name=op.f("fk_place_allocation_performance_id_performance"),
        ),
        sa.ForeignKeyConstraint(
            ["seat_id"], ["seat.id"], name=op.f("fk_place_allocation_seat_id_seat")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place_allocation")),
        sa.UniqueConstraint("file_id", "line", name=op.f("uq_place_allocation_file_id_line")),
    )
    with op.batch_alter_table("place_allocation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_place_allocation_performance_id"), ["performance_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("place_allocation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_place_allocation_performance_id"))
    op.drop_table("place_allocation")
