"""A performance's identifiers at a reseller that assigns its own, and longer reseller
category codes.

Some partner contracts do not take the organiser's codes: the reseller gives
each event and performance an identifier of its own when the organiser's offer
creates it, and names the performance by it in every later file. Those
identifiers are recorded as the reseller's answer gave them, one pair per
performance and reseller, never two performances for one pair.

A reseller's customer categories (price types) may be up to 12 characters
where 8 were allowed: the code widens to 16, as the ticket's in 0004.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reseller_performance",
        sa.Column("reseller_code", sa.String(length=16), primary_key=True),
        sa.Column(
            "performance_id", sa.Integer(), sa.ForeignKey("performance.id"), primary_key=True
        ),
        sa.Column("partner_event_id", sa.String(length=32), nullable=False),
        sa.Column("partner_performance_id", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_file_id", sa.Integer(), sa.ForeignKey("exchange_file.id"), nullable=True),
        sa.UniqueConstraint(
            "reseller_code",
            "partner_event_id",
            "partner_performance_id",
            name="uq_reseller_performance_partner_ids",
        ),
    )
    with op.batch_alter_table("reseller_customer_category") as batch:
        batch.alter_column(
            "code", existing_type=sa.String(8), type_=sa.String(16), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reseller_customer_category") as batch:
        batch.alter_column(
            "code", existing_type=sa.String(16), type_=sa.String(8), existing_nullable=False
        )
    op.drop_table("reseller_performance")
