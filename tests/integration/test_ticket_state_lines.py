"""The ticket-state integration fed canonical lines directly: each line the whole state of a
ticket, applied as an upsert by barcode along the ticket's life."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    MovementKind,
    Order,
    OrderState,
    PendingAccountMovement,
    Ticket,
    TicketState,
)
from reseller_sync.domain.errors import ExternalError
from reseller_sync.integration.ticket_states import integrate_ticket_state_lines
from tests.integration.conftest import SOLD_AT, Reseller, ticket_state_lines

LATER = SOLD_AT + dt.timedelta(hours=1)
CODES = {
    "transition": "T10",
    "immutable": "T11",
    "state_moment": "T12",
    "order_seen": "T22",
    "place": "T18",
}


@pytest.fixture
def coded(reseller: Reseller) -> Reseller:
    return reseller.with_settings(rule_codes=CODES)


def apply(session: Session, reseller: Reseller, name: str, lines: pd.DataFrame):
    return integrate_ticket_state_lines(session, reseller.settings, name, lines)


def ticket(session: Session, barcode: str) -> Ticket:
    return session.scalars(select(Ticket).where(Ticket.barcode == barcode)).one()


def allowed(session: Session, barcode: str) -> bool:
    return session.scalars(
        select(AccessControlEntry.allowed).where(AccessControlEntry.barcode == barcode)
    ).one()


def movements(session: Session, kind: MovementKind) -> list[tuple[int, str]]:
    return [
        (m.amount, m.reference)
        for m in session.scalars(
            select(PendingAccountMovement)
            .where(PendingAccountMovement.kind == kind)
            .order_by(PendingAccountMovement.id)
        )
    ]


def first_file(reseller: Reseller) -> pd.DataFrame:
    """Order O1: a seat, sold; order O2: a standing place, printed."""
    return ticket_state_lines(
        reseller,
        {},
        {"free": True, "state": "printed", "state_changed_at": SOLD_AT + dt.timedelta(minutes=3)},
    )


def test_new_barcodes_are_sales_on_the_pending_account(
    demo_session: Session, reseller: Reseller
) -> None:
    result = apply(demo_session, reseller, "TICKETS_00000001.csv", first_file(reseller))

    assert (result.lines, result.tickets, result.orders, result.cancelled) == (2, 2, 2, 0)
    seat, standing = ticket(demo_session, "99000000000001"), ticket(demo_session, "99000000000002")
    assert (seat.state, seat.reseller_state, seat.reseller_ticket_id) == (
        TicketState.VALID,
        "sold",
        "99000000000001",
    )
    assert standing.reseller_state == "printed"
    assert standing.sold_at is not None
    assert standing.state_changed_at is not None
    assert standing.state_changed_at > standing.sold_at
    assert allowed(demo_session, seat.barcode)
    assert allowed(demo_session, standing.barcode)
    assert movements(demo_session, MovementKind.SALE) == [
        (reseller.amount, "stx:sale:O1"),
        (reseller.free_amount, "stx:sale:O2"),
    ]


def test_a_repeated_file_changes_nothing(demo_session: Session, reseller: Reseller) -> None:
    apply(demo_session, reseller, "TICKETS_00000001.csv", first_file(reseller))
    result = apply(demo_session, reseller, "TICKETS_00000002.csv", first_file(reseller))

    assert (result.tickets, result.repeated, result.printed, result.cancelled) == (0, 2, 0, 0)
    assert len(movements(demo_session, MovementKind.SALE)) == 2
    assert demo_session.scalar(select(func.count()).select_from(Ticket)) == 2


def test_printing_and_renaming_change_only_the_ticket(
    demo_session: Session, reseller: Reseller
) -> None:
    apply(demo_session, reseller, "TICKETS_00000001.csv", first_file(reseller))
    lines = ticket_state_lines(
        reseller, {"state": "printed", "state_changed_at": LATER, "beneficiary_first_name": "Zoé"}
    )
    result = apply(demo_session, reseller, "TICKETS_00000002.csv", lines)

    assert (result.printed, result.renamed, result.repeated, result.tickets) == (1, 1, 0, 0)
    printed = ticket(demo_session, "99000000000001")
    assert (printed.reseller_state, printed.beneficiary_first_name) == ("printed", "Zoé")
    assert printed.state is TicketState.VALID
    assert allowed(demo_session, printed.barcode)
    assert len(movements(demo_session, MovementKind.SALE)) == 2


def test_a_refund_cancels_the_ticket_and_credits_the_capped_refund_once(
    demo_session: Session, reseller: Reseller
) -> None:
    apply(
        demo_session,
        reseller,
        "TICKETS_00000001.csv",
        ticket_state_lines(
            reseller,
            {"reseller_order_ref": "O1"},
            {"reseller_order_ref": "O1", "seat_id": reseller.seats[1]},
        ),
    )
    refunded = ticket_state_lines(
        reseller,
        {
            "reseller_order_ref": "O1",
            "state": "refunded",
            "state_changed_at": LATER,
            "refund_amount": reseller.amount - 500,
        },
        {
            "reseller_order_ref": "O1",
            "seat_id": reseller.seats[1],
            "state": "refunded",
            "state_changed_at": LATER,
            "refund_amount": reseller.amount,
        },
    )
    result = apply(demo_session, reseller, "TICKETS_00000002.csv", refunded)

    assert (result.cancelled, result.refunded) == (2, {"EUR": 2 * reseller.amount - 500})
    cancelled = ticket(demo_session, "99000000000001")
    assert cancelled.state is TicketState.CANCELLED
    assert cancelled.cancelled_at is not None
    assert cancelled.reseller_state == "refunded"
    assert cancelled.refund_amount == reseller.amount - 500
    assert not allowed(demo_session, cancelled.barcode)
    assert cancelled.order.state is OrderState.CANCELLED
    assert movements(demo_session, MovementKind.REFUND) == [
        (2 * reseller.amount - 500, "stx:refund:O1:TICKETS_00000002.csv")
    ]

    again = apply(demo_session, reseller, "TICKETS_00000003.csv", refunded)
    assert (again.repeated, again.cancelled, again.refunded) == (2, 0, {})
    assert len(movements(demo_session, MovementKind.REFUND)) == 1


def test_a_cancelled_ticket_refunded_later_is_credited_without_a_second_cancellation(
    demo_session: Session, reseller: Reseller
) -> None:
    apply(demo_session, reseller, "TICKETS_00000001.csv", ticket_state_lines(reseller, {}))
    apply(
        demo_session,
        reseller,
        "TICKETS_00000002.csv",
        ticket_state_lines(reseller, {"state": "cancelled", "state_changed_at": LATER}),
    )
    cancelled_at = ticket(demo_session, "99000000000001").cancelled_at
    assert movements(demo_session, MovementKind.REFUND) == []

    result = apply(
        demo_session,
        reseller,
        "TICKETS_00000003.csv",
        ticket_state_lines(
            reseller,
            {
                "state": "refunded",
                "state_changed_at": LATER + dt.timedelta(days=1),
                "refund_amount": 1000,
            },
        ),
    )
    assert (result.cancelled, result.refunded) == (0, {"EUR": 1000})
    refunded = ticket(demo_session, "99000000000001")
    assert (refunded.reseller_state, refunded.cancelled_at) == ("refunded", cancelled_at)


def test_a_ticket_sold_and_cancelled_between_two_files_holds_no_place(
    demo_session: Session, reseller: Reseller
) -> None:
    """Sold and refunded before the file: its order is paid, then refunded; a new ticket of
    the same file takes its seat."""
    lines = ticket_state_lines(
        reseller,
        {"state": "refunded", "state_changed_at": LATER, "refund_amount": 2000},
        {"barcode": "99000000000777"},
    )
    result = apply(demo_session, reseller, "TICKETS_00000001.csv", lines)

    assert (result.tickets, result.orders, result.cancelled) == (2, 2, 1)
    gone, sold = ticket(demo_session, "99000000000001"), ticket(demo_session, "99000000000777")
    assert gone.state is TicketState.CANCELLED
    assert gone.seat_id == sold.seat_id
    assert sold.state is TicketState.VALID
    assert not allowed(demo_session, gone.barcode)
    assert allowed(demo_session, sold.barcode)
    assert gone.order.state is OrderState.CANCELLED
    assert movements(demo_session, MovementKind.SALE)[0] == (reseller.amount, "stx:sale:O1")
    assert movements(demo_session, MovementKind.REFUND) == [
        (2000, "stx:refund:O1:TICKETS_00000001.csv")
    ]


def test_a_seat_freed_by_a_cancellation_may_be_sold_again_in_the_same_file(
    demo_session: Session, reseller: Reseller
) -> None:
    apply(demo_session, reseller, "TICKETS_00000001.csv", ticket_state_lines(reseller, {}))
    lines = ticket_state_lines(
        reseller,
        {"state": "cancelled", "state_changed_at": LATER},
        {"barcode": "99000000000888"},
    )
    result = apply(demo_session, reseller, "TICKETS_00000002.csv", lines)
    assert (result.cancelled, result.tickets) == (1, 1)
    assert ticket(demo_session, "99000000000888").state is TicketState.VALID


def test_a_cancelled_ticket_is_never_revived(demo_session: Session, coded: Reseller) -> None:
    apply(demo_session, coded, "TICKETS_00000001.csv", ticket_state_lines(coded, {}))
    apply(
        demo_session,
        coded,
        "TICKETS_00000002.csv",
        ticket_state_lines(coded, {"state": "cancelled", "state_changed_at": LATER}),
    )
    with pytest.raises(ExternalError) as raised:
        apply(
            demo_session,
            coded,
            "TICKETS_00000003.csv",
            ticket_state_lines(coded, {"state": "sold", "state_changed_at": LATER}),
        )
    [problem] = raised.value.problems
    assert (problem.file, problem.line, problem.column) == ("TICKETS_00000003.csv", 1, "state")
    assert problem.reason.startswith("T10 a ticket cancelled may not become sold")


def test_what_was_sold_never_changes(demo_session: Session, coded: Reseller) -> None:
    apply(demo_session, coded, "TICKETS_00000001.csv", ticket_state_lines(coded, {}))
    changed = ticket_state_lines(
        coded,
        {
            "price": coded.amount + 100,
            "seat_id": coded.seats[2],
            "sold_at": SOLD_AT + dt.timedelta(minutes=1),
            "state_changed_at": LATER,
        },
    )
    with pytest.raises(ExternalError) as raised:
        apply(demo_session, coded, "TICKETS_00000002.csv", changed)
    problems = {(p.column, p.reason.split()[0]) for p in raised.value.problems}
    assert problems == {("SEAT", "T11"), ("PRICE", "T11"), ("sold_at", "T11")}
    assert ticket(demo_session, "99000000000001").seat_id == coded.seats[0]


def test_a_state_moment_never_goes_back(demo_session: Session, coded: Reseller) -> None:
    apply(
        demo_session,
        coded,
        "TICKETS_00000001.csv",
        ticket_state_lines(coded, {"state_changed_at": LATER}),
    )
    with pytest.raises(ExternalError) as raised:
        apply(
            demo_session,
            coded,
            "TICKETS_00000002.csv",
            ticket_state_lines(
                coded, {"state": "printed", "state_changed_at": LATER - dt.timedelta(minutes=1)}
            ),
        )
    [problem] = raised.value.problems
    assert problem.reason.startswith("T12 ")
    assert problem.column == "state_changed_at"


def test_a_new_ticket_for_an_order_of_an_earlier_file_is_refused(
    demo_session: Session, coded: Reseller
) -> None:
    apply(demo_session, coded, "TICKETS_00000001.csv", ticket_state_lines(coded, {}))
    late = ticket_state_lines(
        coded, {"reseller_order_ref": "O1", "seat_id": coded.seats[1]}, first=2
    )
    with pytest.raises(ExternalError) as raised:
        apply(demo_session, coded, "TICKETS_00000002.csv", late)
    [problem] = raised.value.problems
    assert problem.reason.startswith("T22 ")
    assert problem.line == 2


def test_a_seat_outside_the_quota_is_the_place_rule(demo_session: Session, coded: Reseller) -> None:
    with pytest.raises(ExternalError) as raised:
        apply(
            demo_session,
            coded,
            "TICKETS_00000001.csv",
            ticket_state_lines(coded, {"seat_id": coded.outside}),
        )
    [problem] = raised.value.problems
    assert problem.reason.startswith("T18 ")
    assert problem.column == "SEAT"
    assert demo_session.scalar(select(func.count()).select_from(Order)) == 0
