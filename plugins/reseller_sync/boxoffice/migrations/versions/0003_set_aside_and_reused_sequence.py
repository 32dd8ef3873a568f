"""Inbound files set aside by a person, or refused for a reused sequence.

Two new journal states, ``set_aside`` and ``sequence_reused``; who set a file
aside, when and why; when the alert about a refused file was raised. A file
refused for a reused sequence stands outside its stream, as an ignored one
does: the one-file-per-sequence index leaves both out.

Files that 0002 kept as ``ignored`` for a reused sequence (no duplicate, the
landing's message "is already used by") become ``sequence_reused``, not yet
alerted: the next hourly run's ``report_refused_files`` names them once, so
that someone tells the reseller.

On SQLite the state's CHECK constraint can only change with the table rebuilt
(batch mode: copy, drop, rename) while other tables point at it: the
environment (``env.py``) turns foreign keys off while migrating and checks
them all before the commit.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES_0002 = (
    "prepared",
    "landed",
    "integrated",
    "failed",
    "ignored",
    "sent",
    "acknowledged",
    "refused",
)
STATES_0003 = (*STATES_0002, "sequence_reused", "set_aside")
STREAM_COLUMNS = ["reseller_code", "direction", "file_type", "sequence"]
SET_ASIDE_SAYS_WHO_WHEN_WHY = (
    "state != 'set_aside' OR (set_aside_by IS NOT NULL AND set_aside_at IS NOT NULL"
    " AND set_aside_reason IS NOT NULL)"
)


def _states(states: Sequence[str]) -> str:
    return "state IN ({})".format(", ".join(f"'{state}'" for state in states))


def upgrade() -> None:
    with op.batch_alter_table("exchange_file") as batch:
        batch.add_column(sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("set_aside_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("set_aside_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("set_aside_reason", sa.Text(), nullable=True))
        batch.drop_constraint(op.f("ck_exchange_file_file_state"), type_="check")
        batch.create_check_constraint(op.f("ck_exchange_file_file_state"), _states(STATES_0003))
        batch.create_check_constraint(
            op.f("ck_exchange_file_set_aside_says_who_when_why"), SET_ASIDE_SAYS_WHO_WHEN_WHY
        )
        batch.drop_index("uq_exchange_file_stream_sequence")
        batch.create_index(
            "uq_exchange_file_stream_sequence",
            STREAM_COLUMNS,
            unique=True,
            sqlite_where=sa.text("state NOT IN ('ignored', 'sequence_reused')"),
            postgresql_where=sa.text("state NOT IN ('ignored', 'sequence_reused')"),
        )
    # Files refused for a reused sequence before this revision were kept as ignored, and
    # nobody was told: they take their own state now, and the next hourly run reports them.
    op.execute(
        "UPDATE exchange_file SET state = 'sequence_reused' WHERE direction = 'inbound' "
        "AND state = 'ignored' AND duplicate_of_id IS NULL "
        "AND error_message LIKE '%is already used by%'"
    )


def downgrade() -> None:
    """Back to what 0002 can hold: a reused sequence becomes ``ignored`` (as it was), and a
    set-aside file ``failed`` again, its who, when and why kept in its error message."""
    op.execute("UPDATE exchange_file SET state = 'ignored' WHERE state = 'sequence_reused'")
    op.execute(
        "UPDATE exchange_file SET state = 'failed', error_message = "
        "COALESCE(error_message || ' ', '') || '[set aside by ' || set_aside_by || ': ' "
        "|| set_aside_reason || ']' WHERE state = 'set_aside'"
    )
    with op.batch_alter_table("exchange_file") as batch:
        batch.drop_index("uq_exchange_file_stream_sequence")
        batch.create_index(
            "uq_exchange_file_stream_sequence",
            STREAM_COLUMNS,
            unique=True,
            sqlite_where=sa.text("state != 'ignored'"),
            postgresql_where=sa.text("state != 'ignored'"),
        )
        batch.drop_constraint(op.f("ck_exchange_file_set_aside_says_who_when_why"), type_="check")
        batch.drop_constraint(op.f("ck_exchange_file_file_state"), type_="check")
        batch.create_check_constraint(op.f("ck_exchange_file_file_state"), _states(STATES_0002))
        batch.drop_column("set_aside_reason")
        batch.drop_column("set_aside_at")
        batch.drop_column("set_aside_by")
        batch.drop_column("alerted_at")
