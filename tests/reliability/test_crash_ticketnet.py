"""Crashes in the middle of a Ticketnet batch (``ticketnet-exchange-v1`` section 9.1 point 3:
a batch is applied whole, in one transaction, or not at all): the worker killed (SIGKILL)
and the database connection killed (``pg_terminate_backend``), then the run again. Below the
DAG level, as for FNAC's files (``test_crash.py``): the journal's state, the error's
category and the retry policy's decision, then exactly-once."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from reseller_sync.airflow.failures import RETRY_POLICY
from reseller_sync.boxoffice.db import session_scope
from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    ExchangeFile,
    FileState,
    Order,
    PendingAccountMovement,
    Ticket,
    TicketState,
)
from reseller_sync.boxoffice.partner_ids import PerformanceIds, record_performance_ids
from reseller_sync.exchange import journal
from reseller_sync.exchange.transport import LandedFile, LandedMember
from reseller_sync.pipelines import inbound
from reseller_sync.ticketnet.adapter import inbound_files, load_settings
from reseller_sync.ticketnet.names import BatchId, FileType, Stream
from reseller_sync.ticketnet.naming import NAMING
from reseller_sync.ticketnet.writer import build_batch
from tests.reliability.implied import assert_box_office_holds_facts, implied_by_ticketnet
from tests.reliability.test_crash import (
    connection_killed_at_the_first_tickets,
    kill_mid_transaction,
)
from tests.ticketnet.ticketnet_boxoffice import add_ticketnet
from tests.ticketnet.ticketnet_samples import TRANSACTION_COLUMNS, refund, sale, standing_sale

RESELLER = "ticketnet"
PERFORMANCES = ("P01", "P02", "P03")
SEATS_PER_PERFORMANCE = 50
"""Ticketnet's quota on each performance of the demo concert: rows 1 and 2 of block P3 (25
seats each), and 100 places of the pit."""
PIT = 100
REFUNDED = 12

pytestmark = pytest.mark.usefixtures("ticketnet_registered")


@pytest.fixture
def engine(demo_engine: Engine) -> Engine:
    """The demo box office (SQLite and PostgreSQL) where Ticketnet's ACK gave its identifiers
    of the concert's performances."""
    with Session(demo_engine) as session, session.begin():
        given = add_ticketnet(session).frame
        record_performance_ids(
            session,
            RESELLER,
            "Ticketnet",
            (
                PerformanceIds(int(row.performance), row.event_id, row.performance_id)
                for row in given.itertuples()
            ),
        )
    return demo_engine


def every_place_sold() -> list[dict[str, str]]:
    """A SALE of each place of Ticketnet's quota on the three performances (450 records),
    then the REFUND of a few of them."""
    sales: list[dict[str, str]] = []
    for performance in PERFORMANCES:
        for n in range(SEATS_PER_PERFORMANCE):
            sales.append(
                sale(
                    transaction_id=f"S{performance}{n:03d}",
                    performance_id=performance,
                    row=str(n // 25 + 1),
                    seat=str(n % 25 + 1),
                    barcode=f"81420{len(sales):011d}",
                )
            )
        for n in range(PIT):
            sales.append(
                standing_sale(
                    transaction_id=f"A{performance}{n:03d}",
                    performance_id=performance,
                    barcode=f"81420{len(sales):011d}",
                )
            )
    return sales + [refund(record) for record in sales[:REFUNDED]]


def sales_batch(number: int, records: Sequence[dict[str, str]]) -> LandedFile:
    """A SALES batch as the transport hands it over once its manifest is there."""
    built = build_batch(
        BatchId(Stream.SALES, "PR04127", number),
        {FileType.TRANSACTIONS: {c: [r[c] for r in records] for c in TRANSACTION_COLUMNS}},
        created_at="2026-11-28T14:10:03+01:00",
    )
    name = built.manifest.name
    parsed = NAMING.parse(name)
    assert parsed is not None
    return LandedFile(
        name,
        built.manifest_bytes,
        len(built.manifest_bytes),
        hashlib.sha256(built.manifest_bytes).hexdigest(),
        parsed,
        members=tuple(
            LandedMember(part, data, len(data), hashlib.sha256(data).hexdigest())
            for part, data in built.files.items()
        ),
    )


def data_files(batch: LandedFile) -> dict[str, bytes]:
    """The batch's data files as Ticketnet wrote them."""
    return {member.name: member.data for member in batch.members}


def land(engine: Engine, batch: LandedFile) -> int:
    with session_scope(engine) as session:
        return journal.land(session, RESELLER, batch).file_id


def integrate(engine: Engine) -> inbound.TypeIntegration:
    settings = load_settings()
    return inbound.integrate_pending(engine, settings, inbound_files(settings), "SALES")


def entry(engine: Engine, name: str) -> ExchangeFile:
    with Session(engine, expire_on_commit=False) as session:
        return session.scalars(select(ExchangeFile).where(ExchangeFile.name == name)).one()


def holdings(engine: Engine) -> dict[str, int]:
    """What the box office holds of Ticketnet's sales."""
    with Session(engine) as session:

        def count(*where: Any) -> int:
            return session.scalar(select(func.count()).where(*where)) or 0

        return {
            "valid": count(Ticket.reseller_code == RESELLER, Ticket.state == TicketState.VALID),
            "cancelled": count(
                Ticket.reseller_code == RESELLER, Ticket.state == TicketState.CANCELLED
            ),
            "orders": count(Order.reseller_code == RESELLER),
            "movements": session.scalar(select(func.count(PendingAccountMovement.id))) or 0,
            "access": session.scalar(select(func.count(AccessControlEntry.id))) or 0,
        }


SOLD = len(PERFORMANCES) * (SEATS_PER_PERFORMANCE + PIT)


@pytest.mark.slow
def test_a_worker_killed_mid_batch_leaves_nothing_and_the_rerun_applies_it_once(
    engine: Engine, tmp_path: Path
) -> None:
    """SIGKILL while a SALES batch selling every place of Ticketnet's quota is applied, its
    tickets, orders and access entries written and uncommitted; then the task runs again."""
    batch = sales_batch(1, every_place_sold())
    file_id = land(engine, batch)
    before = holdings(engine)

    kill_mid_transaction(engine, tmp_path, RESELLER, "SALES")

    assert (entry(engine, batch.name).state, entry(engine, batch.name).error_category) == (
        FileState.LANDED,
        None,
    )
    assert holdings(engine) == before, "nothing of the batch is in the box office"

    result = integrate(engine)
    assert [(f.file_id, f.lines) for f in result.files] == [(file_id, SOLD + REFUNDED)]
    assert integrate(engine).files == ()
    facts = assert_box_office_holds_facts(engine, implied_by_ticketnet([data_files(batch)]))
    assert facts.counts() == {
        "tickets": SOLD,
        "orders": SOLD,
        "movements": SOLD + REFUNDED,
        "access": SOLD,
    }
    after = holdings(engine)
    assert (after["valid"], after["cancelled"]) == (SOLD - REFUNDED, REFUNDED)
    assert entry(engine, batch.name).state is FileState.INTEGRATED


@pytest.mark.parametrize("database_kind", ["postgresql"], indirect=True)
def test_the_database_connection_killed_mid_batch_is_retried_and_applied_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pg_terminate_backend`` from another connection while the second batch's tickets are
    written: the batch fails whole (technical, retried), the first stays applied, and the
    retry applies the second once."""
    records = every_place_sold()
    first = sales_batch(1, records[:40])
    second = sales_batch(2, records[40:SOLD])
    land(engine, first)
    integrate(engine)
    land(engine, second)
    applied_first = holdings(engine)
    with (
        connection_killed_at_the_first_tickets(engine, monkeypatch) as killed,
        pytest.raises(sqlalchemy.exc.OperationalError) as raised,
    ):
        integrate(engine)
    assert killed

    assert holdings(engine) == applied_first, "nothing of the second batch"
    assert_box_office_holds_facts(engine, implied_by_ticketnet([data_files(first)]))
    failed = entry(engine, second.name)
    assert (failed.state, failed.error_category) == (FileState.FAILED, "technical")
    assert "OperationalError" in (failed.error_message or "")
    decision = RETRY_POLICY.evaluate(raised.value, try_number=1, max_tries=5)
    assert decision.action.value == "retry", decision

    assert [f.name for f in integrate(engine).files] == [second.name]
    assert integrate(engine).files == ()
    implied = implied_by_ticketnet([data_files(first), data_files(second)])
    assert assert_box_office_holds_facts(engine, implied).counts()["tickets"] == SOLD
    assert entry(engine, second.name).state is FileState.INTEGRATED
