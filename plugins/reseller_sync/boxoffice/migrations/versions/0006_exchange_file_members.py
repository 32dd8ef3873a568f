"""The data files of a batch, kept under the batch's closing file.

Some partners send their files in batches closed by a manifest: the journal
keeps a batch as one entry (the manifest's), and each data file of the batch
as a member of it, with its name, size and SHA-256 as it arrived and the copy
the journal keeps.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exchange_file_member",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "exchange_file_id",
            sa.Integer(),
            sa.ForeignKey("exchange_file.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("exchange_file_id", "name"),
    )
    op.create_index(
        "ix_exchange_file_member_exchange_file_id", "exchange_file_member", ["exchange_file_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_exchange_file_member_exchange_file_id", table_name="exchange_file_member")
    op.drop_table("exchange_file_member")
