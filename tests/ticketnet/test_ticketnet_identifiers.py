"""Ticketnet's identifiers of the box office's performances, recorded from the ACKs of its
CATALOG files (``ticketnet-exchange-v1`` sections 7.4 and 9.1 point 12), then read back for
its SALES lines (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from devtools.demo_boxoffice import EVENT_PRODUCT
from reseller_sync.boxoffice.models import Performance, Product, ResellerPerformance
from reseller_sync.domain.errors import ExternalError
from reseller_sync.ticketnet.ack import Ack, AckFile, AckIds, AckStatus
from reseller_sync.ticketnet.errors import Code, TicketnetProblem
from reseller_sync.ticketnet.identifiers import PartnerPerformances, record_ack_ids
from reseller_sync.ticketnet.names import BatchId, FileType, Stream

EVENT = "1A005F3C9B12E4D7"


def concert_performances(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(Performance.code)
            .join(Product, Performance.product_id == Product.id)
            .where(Product.code == EVENT_PRODUCT)
            .order_by(Performance.starts_at)
        )
    )


def ack(ids: list[AckIds], *, number: int = 7, status: AckStatus = AckStatus.ACCEPTED) -> Ack:
    batch = BatchId(Stream.OFFER, "PR04127", number)
    catalog = AckFile(
        batch.data_file_name(FileType.CATALOG, 1),
        FileType.CATALOG,
        len(ids),
        status,
        accepted=len(ids) if status is AckStatus.ACCEPTED else 0,
        rejected=0 if status is AckStatus.ACCEPTED else len(ids),
        ids=tuple(ids) if status is not AckStatus.REJECTED else (),
    )
    return Ack(batch, "0" * 64, "2026-11-28T14:31:00+01:00", status, None, (catalog,))


def ids_of(codes: list[str], event: str = EVENT) -> list[AckIds]:
    return [AckIds(EVENT_PRODUCT, code, event, f"P{n:02d}") for n, code in enumerate(codes, 1)]


def recorded(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ResellerPerformance)) or 0


def test_the_ids_of_an_applied_catalog_are_recorded_once(demo_session: Session) -> None:
    codes = concert_performances(demo_session)

    assert record_ack_ids(demo_session, ack(ids_of(codes))) == len(codes)
    assert record_ack_ids(demo_session, ack(ids_of(codes), number=8)) == 0

    loaded = PartnerPerformances.load(demo_session).frame
    by_code = dict(
        demo_session.execute(
            select(Performance.code, Performance.id)
            .join(Product, Performance.product_id == Product.id)
            .where(Product.code == EVENT_PRODUCT)
        ).all()
    )
    expected = {(EVENT, f"P{n:02d}"): by_code[code] for n, code in enumerate(codes, 1)}
    assert {
        (row.event_id, row.performance_id): row.performance for row in loaded.itertuples()
    } == expected
    assert recorded(demo_session) == len(codes)


def test_a_rejected_catalog_gives_no_ids(demo_session: Session) -> None:
    codes = concert_performances(demo_session)

    assert record_ack_ids(demo_session, ack(ids_of(codes), status=AckStatus.REJECTED)) == 0
    assert recorded(demo_session) == 0


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("unknown performance", "which the box office does not have"),
        ("other ids", "it never changes them"),
        ("ids of another performance", "which name another performance already"),
    ],
)
def test_ids_that_disagree_are_r22_and_record_nothing(
    demo_session: Session, change: str, words: str
) -> None:
    first, second, *_ = concert_performances(demo_session)
    record_ack_ids(demo_session, ack(ids_of([first])))
    given = {
        "unknown performance": [*ids_of([second]), AckIds(EVENT_PRODUCT, "NO-SUCH", EVENT, "P9")],
        "other ids": [
            AckIds(EVENT_PRODUCT, second, EVENT, "P02"),
            AckIds(EVENT_PRODUCT, first, EVENT, "P77"),
        ],
        "ids of another performance": [AckIds(EVENT_PRODUCT, second, EVENT, "P01")],
    }[change]

    with pytest.raises(ExternalError) as raised:
        record_ack_ids(demo_session, ack(given, number=8))

    assert "R22" in raised.value.message
    assert len(raised.value.problems) == 1, [str(p) for p in raised.value.problems]
    (problem,) = raised.value.problems
    assert isinstance(problem, TicketnetProblem)
    assert problem.code is Code.R22
    assert words in problem.reason
    assert (problem.file, problem.column) == (
        "OFFER_PR04127_00000008.ack.json",
        "OFFER_PR04127_00000008.CATALOG.1.csv.gz.ids",
    )
    assert recorded(demo_session) == 1
