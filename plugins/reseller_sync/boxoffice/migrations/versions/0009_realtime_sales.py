"""Real-time sales: synchronous resellers, their keys, holds, orders and cancellations.

The synchronous resellers of realtime-api-v1 call the box office while their customer
buys. Their settings (kinds, price check, limits, channel suspended), their API keys
(hashes only), each channel's sale windows and opened tariffs, quotas shared by several
channels, holds and their places, what their orders and cancellations add to the box
office's orders and tickets, and the idempotency store get their own tables. A pass
quota may name its category; a product on a channel says whether its tickets must name
their holder. A reseller's order reference and point of sale widen to
40 characters, the contract's size.

On SQLite the types only change with the tables rebuilt (batch mode), as 0004 does.
Downgrading drops the new tables and columns, and fails on PostgreSQL when a stored
order reference is longer than 32 characters.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "realtime_reseller",
        sa.Column("reseller_code", sa.String(length=16), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("point_of_sale_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("product_kinds", sa.String(length=64), nullable=False),
        sa.Column("price_compare", sa.String(length=32), nullable=False),
        sa.Column("price_policy", sa.String(length=8), nullable=False),
        sa.Column("max_places_per_hold", sa.Integer(), nullable=False),
        sa.Column("rate_per_second", sa.Integer(), nullable=False),
        sa.Column("burst", sa.Integer(), nullable=False),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "price_compare IN ('price', 'price_minus_commission')",
            name=op.f("ck_realtime_reseller_price_compare_known"),
        ),
        sa.CheckConstraint(
            "price_policy IN ('strict', 'warn')",
            name=op.f("ck_realtime_reseller_price_policy_known"),
        ),
        sa.CheckConstraint(
            "max_places_per_hold > 0 AND rate_per_second > 0 AND burst >= rate_per_second",
            name=op.f("ck_realtime_reseller_limits_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["sales_channel.id"],
            name=op.f("fk_realtime_reseller_channel_id_sales_channel"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_realtime_reseller_contact_id_contact")
        ),
        sa.ForeignKeyConstraint(
            ["point_of_sale_id"],
            ["point_of_sale.id"],
            name=op.f("fk_realtime_reseller_point_of_sale_id_point_of_sale"),
        ),
        sa.PrimaryKeyConstraint("reseller_code", name=op.f("pk_realtime_reseller")),
        sa.UniqueConstraint("channel_id", name=op.f("uq_realtime_reseller_channel_id")),
    )
    op.create_table(
        "realtime_api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reseller_code", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["reseller_code"],
            ["realtime_reseller.reseller_code"],
            name=op.f("fk_realtime_api_key_reseller_code_realtime_reseller"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_realtime_api_key")),
        sa.UniqueConstraint("key_id", name=op.f("uq_realtime_api_key_key_id")),
    )
    with op.batch_alter_table("realtime_api_key", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_realtime_api_key_reseller_code"), ["reseller_code"], unique=False
        )

    op.create_table(
        "realtime_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("reseller_code", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_in", sa.Integer(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("swept_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["sales_order.id"], name=op.f("fk_realtime_hold_order_id_sales_order")
        ),
        sa.ForeignKeyConstraint(
            ["reseller_code"],
            ["realtime_reseller.reseller_code"],
            name=op.f("fk_realtime_hold_reseller_code_realtime_reseller"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_realtime_hold")),
        sa.UniqueConstraint("order_id", name=op.f("uq_realtime_hold_order_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_realtime_hold_public_id")),
    )
    with op.batch_alter_table("realtime_hold", schema=None) as batch_op:
        batch_op.create_index(
            "ix_realtime_hold_expiry", ["expires_at", "released_at"], unique=False
        )

    op.create_table(
        "realtime_idempotency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reseller_code", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column("correlation_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reseller_code"],
            ["realtime_reseller.reseller_code"],
            name=op.f("fk_realtime_idempotency_reseller_code_realtime_reseller"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_realtime_idempotency")),
        sa.UniqueConstraint(
            "reseller_code",
            "method",
            "path",
            "idempotency_key",
            name=op.f("uq_realtime_idempotency_reseller_code_method_path_idempotency_key"),
        ),
    )
    with op.batch_alter_table("realtime_idempotency", schema=None) as batch_op:
        batch_op.create_index("ix_realtime_idempotency_created", ["created_at"], unique=False)

    op.create_table(
        "realtime_channel_tariff",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("performance_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("tariff_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["seat_category.id"],
            name=op.f("fk_realtime_channel_tariff_category_id_seat_category"),
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["sales_channel.id"],
            name=op.f("fk_realtime_channel_tariff_channel_id_sales_channel"),
        ),
        sa.ForeignKeyConstraint(
            ["performance_id"],
            ["performance.id"],
            name=op.f("fk_realtime_channel_tariff_performance_id_performance"),
        ),
        sa.ForeignKeyConstraint(
            ["tariff_id"], ["tariff.id"], name=op.f("fk_realtime_channel_tariff_tariff_id_tariff")
        ),
        sa.PrimaryKeyConstraint(
            "channel_id",
            "performance_id",
            "category_id",
            "tariff_id",
            name=op.f("pk_realtime_channel_tariff"),
        ),
    )
    op.create_table(
        "realtime_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("reseller_code", sa.String(length=16), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("from_expired_hold", sa.Boolean(), nullable=False),
        sa.Column("sold_at_as_sent", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("warnings", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hold_id"], ["realtime_hold.id"], name=op.f("fk_realtime_order_hold_id_realtime_hold")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["sales_order.id"], name=op.f("fk_realtime_order_order_id_sales_order")
        ),
        sa.ForeignKeyConstraint(
            ["reseller_code"],
            ["realtime_reseller.reseller_code"],
            name=op.f("fk_realtime_order_reseller_code_realtime_reseller"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_realtime_order")),
        sa.UniqueConstraint("hold_id", name=op.f("uq_realtime_order_hold_id")),
        sa.UniqueConstraint("order_id", name=op.f("uq_realtime_order_order_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_realtime_order_public_id")),
    )
    with op.batch_alter_table("realtime_order", schema=None) as batch_op:
        batch_op.create_index(
            "ix_realtime_order_changed", ["reseller_code", "changed_at", "id"], unique=False
        )

    op.create_table(
        "realtime_sale_window",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("performance_id", sa.Integer(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "opens_at < closes_at", name=op.f("ck_realtime_sale_window_window_in_order")
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["sales_channel.id"],
            name=op.f("fk_realtime_sale_window_channel_id_sales_channel"),
        ),
        sa.ForeignKeyConstraint(
            ["performance_id"],
            ["performance.id"],
            name=op.f("fk_realtime_sale_window_performance_id_performance"),
        ),
        sa.PrimaryKeyConstraint(
            "channel_id", "performance_id", name=op.f("pk_realtime_sale_window")
        ),
    )
    op.create_table(
        "quota_shared_channel",
        sa.Column("quota_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["sales_channel.id"],
            name=op.f("fk_quota_shared_channel_channel_id_sales_channel"),
        ),
        sa.ForeignKeyConstraint(
            ["quota_id"], ["quota.id"], name=op.f("fk_quota_shared_channel_quota_id_quota")
        ),
        sa.PrimaryKeyConstraint("quota_id", "channel_id", name=op.f("pk_quota_shared_channel")),
    )
    op.create_table(
        "realtime_cancellation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("reseller_code", sa.String(length=16), nullable=False),
        sa.Column("reseller_cancellation_ref", sa.String(length=40), nullable=True),
        sa.Column("initiated_by", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("refund_amount", sa.Integer(), nullable=False),
        sa.Column(
            "currency",
            sa.Enum(
                "EUR", "CHF", name="currency", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("cancelled_at_as_sent", sa.String(length=40), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "refund_amount >= 0", name=op.f("ck_realtime_cancellation_refund_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["realtime_order.id"],
            name=op.f("fk_realtime_cancellation_order_id_realtime_order"),
        ),
        sa.ForeignKeyConstraint(
            ["reseller_code"],
            ["realtime_reseller.reseller_code"],
            name=op.f("fk_realtime_cancellation_reseller_code_realtime_reseller"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_realtime_cancellation")),
        sa.UniqueConstraint("public_id", name=op.f("uq_realtime_cancellation_public_id")),
        sa.UniqueConstraint(
            "reseller_code",
            "reseller_cancellation_ref",
            name=op.f("uq_realtime_cancellation_reseller_code_reseller_cancellation_ref"),
        ),
    )
    with op.batch_alter_table("realtime_cancellation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_realtime_cancellation_order_id"), ["order_id"], unique=False
        )

    op.create_table(
        "realtime_cancellation_ticket",
        sa.Column("cancellation_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cancellation_id"],
            ["realtime_cancellation.id"],
            name=op.f("fk_realtime_cancellation_ticket_cancellation_id_realtime_cancellation"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
            name=op.f("fk_realtime_cancellation_ticket_ticket_id_ticket"),
        ),
        sa.PrimaryKeyConstraint(
            "cancellation_id", "ticket_id", name=op.f("pk_realtime_cancellation_ticket")
        ),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_realtime_cancellation_ticket_ticket_id")),
    )
    op.create_table(
        "realtime_hold_place",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("performance_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("quota_id", sa.Integer(), nullable=False),
        sa.Column("seat_id", sa.Integer(), nullable=True),
        sa.Column("block_id", sa.Integer(), nullable=True),
        sa.Column("seat_claim", sa.String(length=40), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("recorded_amount", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(seat_id IS NULL) OR (block_id IS NULL)",
            name=op.f("ck_realtime_hold_place_seat_or_count"),
        ),
        sa.ForeignKeyConstraint(
            ["block_id"], ["block.id"], name=op.f("fk_realtime_hold_place_block_id_block")
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["seat_category.id"],
            name=op.f("fk_realtime_hold_place_category_id_seat_category"),
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["realtime_hold.id"],
            name=op.f("fk_realtime_hold_place_hold_id_realtime_hold"),
        ),
        sa.ForeignKeyConstraint(
            ["performance_id"],
            ["performance.id"],
            name=op.f("fk_realtime_hold_place_performance_id_performance"),
        ),
        sa.ForeignKeyConstraint(
            ["quota_id"], ["quota.id"], name=op.f("fk_realtime_hold_place_quota_id_quota")
        ),
        sa.ForeignKeyConstraint(
            ["seat_id"], ["seat.id"], name=op.f("fk_realtime_hold_place_seat_id_seat")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_realtime_hold_place_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_realtime_hold_place")),
        sa.UniqueConstraint("hold_id", "code", name=op.f("uq_realtime_hold_place_hold_id_code")),
        sa.UniqueConstraint("seat_claim", name=op.f("uq_realtime_hold_place_seat_claim")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_realtime_hold_place_ticket_id")),
    )
    with op.batch_alter_table("realtime_hold_place", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_realtime_hold_place_hold_id"), ["hold_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_realtime_hold_place_quota_id"), ["quota_id"], unique=False
        )

    with op.batch_alter_table("product_channel", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "beneficiary_required", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )

    with op.batch_alter_table("quota", schema=None) as batch_op:
        batch_op.add_column(sa.Column("category_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_quota_category_id_seat_category"),
            "seat_category",
            ["category_id"],
            ["id"],
        )

    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.alter_column(
            "reseller_order_id",
            existing_type=sa.VARCHAR(length=32),
            type_=sa.String(length=40),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "reseller_point_of_sale_code",
            existing_type=sa.VARCHAR(length=16),
            type_=sa.String(length=40),
            existing_nullable=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.alter_column(
            "reseller_point_of_sale_code",
            existing_type=sa.String(length=40),
            type_=sa.VARCHAR(length=16),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "reseller_order_id",
            existing_type=sa.String(length=40),
            type_=sa.VARCHAR(length=32),
            existing_nullable=True,
        )

    with op.batch_alter_table("product_channel", schema=None) as batch_op:
        batch_op.drop_column("beneficiary_required")

    with op.batch_alter_table("quota", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_quota_category_id_seat_category"), type_="foreignkey"
        )
        batch_op.drop_column("category_id")

    with op.batch_alter_table("realtime_hold_place", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_realtime_hold_place_quota_id"))
        batch_op.drop_index(batch_op.f("ix_realtime_hold_place_hold_id"))

    op.drop_table("realtime_hold_place")
    op.drop_table("realtime_cancellation_ticket")
    with op.batch_alter_table("realtime_cancellation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_realtime_cancellation_order_id"))

    op.drop_table("realtime_cancellation")
    op.drop_table("quota_shared_channel")
    op.drop_table("realtime_sale_window")
    with op.batch_alter_table("realtime_order", schema=None) as batch_op:
        batch_op.drop_index("ix_realtime_order_changed")

    op.drop_table("realtime_order")
    op.drop_table("realtime_channel_tariff")
    with op.batch_alter_table("realtime_idempotency", schema=None) as batch_op:
        batch_op.drop_index("ix_realtime_idempotency_created")

    op.drop_table("realtime_idempotency")
    with op.batch_alter_table("realtime_hold", schema=None) as batch_op:
        batch_op.drop_index("ix_realtime_hold_expiry")

    op.drop_table("realtime_hold")
    with op.batch_alter_table("realtime_api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_realtime_api_key_reseller_code"))

    op.drop_table("realtime_api_key")
    op.drop_table("realtime_reseller")
