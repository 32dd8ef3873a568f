"""Ticketnet's SALES batches as canonical lines, and their integration into the box office
(``ticketnet-exchange-v1`` sections 7.1 and 9.1), on the demo box office with Ticketnet's
channel and quota beside FNAC's (SQLite and PostgreSQL).

Ticketnet is not in the registry yet: ``ticketnet_registered`` registers its type for each
test.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    MovementKind,
    Order,
    PendingAccountMovement,
    Ticket,
    TicketState,
)
from reseller_sync.core.lines import CANCELLATION_LINES, SALE_LINES, LineKind
from reseller_sync.domain.errors import Problem, SyncError
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.ticketnet.identifiers import PartnerPerformances
from reseller_sync.ticketnet.lines import batch_lines, integration_settings
from reseller_sync.ticketnet.mappings import load_mappings
from reseller_sync.ticketnet.names import BatchId, FileType, Stream
from reseller_sync.ticketnet.reader import Batch, FolderSource, read_batch
from reseller_sync.ticketnet.settings import TicketnetSettings
from reseller_sync.ticketnet.writer import build_batch
from tests.ticketnet.ticketnet_boxoffice import add_ticketnet
from tests.ticketnet.ticketnet_samples import TRANSACTION_COLUMNS, refund, sale, standing_sale

MAPPINGS = Path(__file__).with_name("mappings")

pytestmark = pytest.mark.usefixtures("ticketnet_registered")


def settings(*, includes_commission: bool = False, policy: str = "strict") -> TicketnetSettings:
    return TicketnetSettings.model_validate(
        {
            "promoter_code": "PR04127",
            "boxoffice": {
                "channel": "TICKETNET",
                "point_of_sale": "TICKETNET-RESEAU",
                "paying_contact": "TICKETNET-TECH",
                "quota": "Q-TICKETNET",
            },
            "prices": {"policy": policy, "includes_commission": includes_commission},
            "notifications": {
                "error_emails": ["ops@example.org"],
                "ticketnet_contact_email": "partners@ticketnet.example",
            },
            "tariffs_offered": ["PLEIN", "REDUIT"],
            "products": ["EVT-LUMEN"],
        }
    )


@pytest.fixture
def repository() -> MappingRepository:
    return load_mappings(MAPPINGS)


@pytest.fixture
def performances(demo_session: Session) -> PartnerPerformances:
    return add_ticketnet(demo_session)


SEATED = sale(
    transaction_id="TX1",
    line_id="1",
    section="ORCH-A",
    row="1",
    seat="5",
    price_level="1",
    price_type="ADULT",
    amount="68.50",
    fees="6.85",
    barcode="8142000000000001",
)
STANDING = standing_sale(
    transaction_id="TX1",
    line_id="2",
    barcode="8142000000000002",
    attendee_first_name="",
    attendee_last_name="",
)
TEST_SALE = sale(
    transaction_id="TXT",
    line_id="1",
    section="ORCH-A",
    row="2",
    seat="1",
    amount="68.50",
    fees="0.00",
    barcode="8142000000000099",
    test="true",
)


def write(folder: Path, number: int, records: list[dict[str, str]]) -> Batch:
    built = build_batch(
        BatchId(Stream.SALES, "PR04127", number),
        {FileType.TRANSACTIONS: {c: [r[c] for r in records] for c in TRANSACTION_COLUMNS}},
        created_at="2026-11-28T14:10:03+01:00",
    )
    folder.mkdir(parents=True, exist_ok=True)
    built.write_to(folder)
    return read_batch(FolderSource(folder), built.manifest.batch_id)


def test_sales_then_test_sales_then_refunds_whatever_the_record_order(
    tmp_path: Path,
    demo_session: Session,
    repository: MappingRepository,
    performances: PartnerPerformances,
) -> None:
    batch = write(tmp_path, 1, [refund(SEATED), SEATED, TEST_SALE, STANDING])

    lines = batch_lines(demo_session, settings(), repository, performances, batch)
    assert lines.name == "SALES_PR04127_00000001"
    sales, test_sales, cancellations = lines.lines

    assert [(lines.kind, lines.is_test) for lines in (sales, test_sales, cancellations)] == [
        (LineKind.SALES, False),
        (LineKind.SALES, True),
        (LineKind.CANCELLATIONS, False),
    ]
    (sold,) = list(sales.batches)
    assert not sold.problems
    lines = SALE_LINES.check(sold.lines, by="test")
    assert lines.index.tolist() == [2, 4]  # record numbers within the part
    assert lines["reseller_ticket_ref"].tolist() == ["TX1/1", "TX1/2"]
    assert lines["reseller_order_ref"].tolist() == ["TX1", "TX1"]
    assert lines["price"].tolist() == [7535, 4205]
    assert lines["commission"].tolist() == [685, 380]
    assert lines["seat_id"].notna().tolist() == [True, False]
    assert lines["block_id"].notna().tolist() == [False, True]
    assert lines["beneficiary_first_name"].isna().tolist() == [False, True]
    assert lines["reseller_tariff_ref"].tolist() == ["ADULT", "CSE"]
    assert lines["sold_at"].iloc[0] == pd.Timestamp("2026-11-28T12:05:12Z")
    (test_lines,) = list(test_sales.batches)
    assert test_lines.lines.index.tolist() == [3]
    (refunded,) = list(cancellations.batches)
    refund_lines = CANCELLATION_LINES.check(refunded.lines, by="test")
    assert refund_lines.index.tolist() == [1]
    assert refund_lines.iloc[0][
        ["reseller_cancellation_ref", "reseller_ticket_ref", "refund_amount"]
    ].tolist() == ["RFTX1/1", "TX1/1", 6850]


def test_a_refund_gives_back_the_fees_when_prices_include_the_commission(
    tmp_path: Path,
    demo_session: Session,
    repository: MappingRepository,
    performances: PartnerPerformances,
) -> None:
    batch = write(tmp_path, 1, [refund(SEATED)])

    *_, cancellations = batch_lines(
        demo_session, settings(includes_commission=True), repository, performances, batch
    ).lines

    (refunded,) = list(cancellations.batches)
    assert refunded.lines["refund_amount"].tolist() == [7535]


UNRESOLVED: list[tuple[dict[str, str], str, str]] = [
    ({"performance_id": "P99"}, "performance_id", "given by no ACK"),
    ({"event_id": "FFFFFFFFFFFFFFFF"}, "performance_id", "given by no ACK"),
    ({"price_type": "VIP"}, "price_type", "price type maps to no tariff"),
    ({"price_level": "9"}, "price_level", "price level maps to no category"),
    ({"price_level": "2"}, "price_level", "not the category of the place"),
    ({"section": "ORCH-Z"}, "section", "maps to no block"),
    ({"row": "99"}, "seat", "no such seat"),
    (
        {"section": "", "row": "", "seat": "", "area": "ORCH-A"},
        "section",
        "a standing one in a seated block",
    ),
]
"""A change to a good SALE record, the column its problem names, and words of its reason."""


def test_a_record_that_does_not_resolve_is_a_mapping_problem_at_its_column(
    tmp_path: Path,
    demo_session: Session,
    repository: MappingRepository,
    performances: PartnerPerformances,
) -> None:
    faulty = [
        sale(**{**SEATED, "line_id": str(n), **change})
        for n, (change, _, _) in enumerate(UNRESOLVED, start=3)
    ]
    batch = write(tmp_path, 1, [STANDING, SEATED, *faulty])

    (sold,), *_ = (
        list(lines.batches)
        for lines in batch_lines(demo_session, settings(), repository, performances, batch).lines
    )

    assert sold.lines.index.tolist() == [1, 2]
    assert not sold.problems.external
    found = [(p.file, p.line, p.column) for p in sold.problems.mapping]
    expected = [
        ("SALES_PR04127_00000001.TRANSACTIONS.1.csv.gz", record, column)
        for record, (_, column, _) in enumerate(UNRESOLVED, start=3)
    ]
    assert sorted(found, key=lambda f: f[1]) == expected
    reasons = {p.line: p.reason for p in sold.problems.mapping}
    for record, (_, _, words) in enumerate(UNRESOLVED, start=3):
        assert words in reasons[record], (record, reasons[record])


def integrate(
    session: Session, batch: Batch, config: TicketnetSettings, performances: PartnerPerformances
) -> None:
    """The batch's lines, part by part, into the box office (one transaction: the session's)."""
    lines = batch_lines(session, config, load_mappings(MAPPINGS), performances, batch)
    lines.integrate(session, integration_settings(config))


def test_a_batch_integrates_once_orders_tests_and_refunds(
    tmp_path: Path,
    demo_session: Session,
    repository: MappingRepository,
    performances: PartnerPerformances,
) -> None:
    config = settings()
    first = write(tmp_path / "1", 1, [SEATED, TEST_SALE, STANDING])
    second = write(tmp_path / "2", 2, [refund(SEATED), refund(TEST_SALE)])
    for batch in (first, second, first, second):  # a replay integrates nothing twice
        integrate(demo_session, batch, config, performances)
    demo_session.flush()

    orders = demo_session.execute(
        select(Order.reseller_order_id, Order.is_test, Order.total)
        .where(Order.reseller_code == "ticketnet")
        .order_by(Order.reseller_order_id)
    ).all()
    assert [tuple(o) for o in orders] == [("TX1", False, 6850 + 3825), ("TXT", True, 6850)]
    tickets = dict(
        demo_session.execute(
            select(Ticket.reseller_ticket_id, Ticket.state).where(
                Ticket.reseller_code == "ticketnet"
            )
        ).all()
    )
    assert tickets == {
        "TX1/1": TicketState.CANCELLED,
        "TX1/2": TicketState.VALID,
        "TXT/1": TicketState.CANCELLED,
    }
    movements = demo_session.execute(
        select(PendingAccountMovement.kind, func.sum(PendingAccountMovement.amount))
        .join(Order, PendingAccountMovement.order_id == Order.id)
        .where(Order.reseller_code == "ticketnet")
        .group_by(PendingAccountMovement.kind)
    ).all()
    assert dict(movements) == {MovementKind.SALE: 6850 + 3825, MovementKind.REFUND: 6850}
    allowed = dict(
        demo_session.execute(
            select(AccessControlEntry.barcode, AccessControlEntry.allowed).where(
                AccessControlEntry.barcode.like("8142%")
            )
        ).all()
    )
    assert allowed == {
        "8142000000000001": False,
        "8142000000000002": True,
        "8142000000000099": False,
    }


def test_sales_and_refunds_spread_over_parts_each_named_by_its_part(
    tmp_path: Path,
    demo_session: Session,
    repository: MappingRepository,
    performances: PartnerPerformances,
) -> None:
    """Record numbers count within each part: each part's lines go on their own, named by the
    part, and a refund may come in a part before or after its sale's."""
    records = [SEATED, refund(STANDING, line_id="2"), STANDING, refund(SEATED)]
    built = build_batch(
        BatchId(Stream.SALES, "PR04127", 1),
        {FileType.TRANSACTIONS: {c: [r[c] for r in records] for c in TRANSACTION_COLUMNS}},
        created_at="2026-11-28T14:10:03+01:00",
        max_records=2,
    )
    built.write_to(tmp_path)
    batch = read_batch(FolderSource(tmp_path), built.manifest.batch_id)
    assert len(batch.parts) == 2

    integrate(demo_session, batch, settings(), performances)
    demo_session.flush()

    states = dict(
        demo_session.execute(
            select(Ticket.reseller_ticket_id, Ticket.state).where(
                Ticket.reseller_code == "ticketnet"
            )
        ).all()
    )
    assert states == {"TX1/1": TicketState.CANCELLED, "TX1/2": TicketState.CANCELLED}
    lines = batch_lines(demo_session, settings(), repository, performances, batch)
    first, second = (f"SALES_PR04127_00000001.TRANSACTIONS.{n}.csv.gz" for n in (1, 2))
    assert lines.parts == ((first, 0, 2), (second, 2, 2))
    sales, _, cancellations = lines.lines
    assert [batch.lines.index.tolist() for batch in sales.batches] == [[1], [3]]
    assert [batch.lines.index.tolist() for batch in cancellations.batches] == [[2], [4]]
    problem = Problem("a reason", file="SALES_PR04127_00000001", line=3, column="barcode")
    assert (lines.locate(problem).file, lines.locate(problem).line) == (second, 1)


def test_a_refusal_names_the_part_and_its_record(
    tmp_path: Path,
    demo_session: Session,
    repository: MappingRepository,
    performances: PartnerPerformances,
) -> None:
    records = [SEATED, STANDING, sale(**{**SEATED, "transaction_id": "TX9", "amount": "99.00"})]
    built = build_batch(
        BatchId(Stream.SALES, "PR04127", 1),
        {FileType.TRANSACTIONS: {c: [r[c] for r in records] for c in TRANSACTION_COLUMNS}},
        created_at="2026-11-28T14:10:03+01:00",
        max_records=2,
    )
    built.write_to(tmp_path)
    batch = read_batch(FolderSource(tmp_path), built.manifest.batch_id)

    with pytest.raises(SyncError) as raised:
        integrate(demo_session, batch, settings(), performances)

    located = {(p.file, p.line) for p in raised.value.problems}
    assert ("SALES_PR04127_00000001.TRANSACTIONS.2.csv.gz", 1) in located, located
