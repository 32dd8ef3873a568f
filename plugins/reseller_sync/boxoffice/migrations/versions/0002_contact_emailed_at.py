"""When the readable copy of a sent file (the sale sheet of a FICHE) went to the contact.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 14:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "exchange_file",
        sa.Column("contact_emailed_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("exchange_file") as batch:
        batch.drop_column("contact_emailed_at")
