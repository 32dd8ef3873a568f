"""The cancellation integration fed canonical lines directly, for a reseller that is not FNAC."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    MovementKind,
    Order,
    OrderState,
    PendingAccount,
    PendingAccountMovement,
    Ticket,
    TicketState,
)
from reseller_sync.domain.errors import ExternalError
from reseller_sync.integration.cancellations import integrate_cancellation_lines
from reseller_sync.integration.sales import integrate_sale_lines
from tests.integration.conftest import Reseller, cancellation_lines, sale_lines

FILE = "TICKETS_00000043.csv"


@pytest.fixture
def sold(demo_session: Session, reseller: Reseller) -> Reseller:
    """Order O1 of two seats (T1, T2), order O3 of one standing place (T3)."""
    lines = sale_lines(
        reseller,
        {},
        {"reseller_order_ref": "O1", "seat_id": reseller.seats[1]},
        {"free": True},
    )
    integrate_sale_lines(demo_session, reseller.settings, "TICKETS_00000042.csv", lines)
    return reseller


def ticket(session: Session, ref: str) -> Ticket:
    return session.scalars(select(Ticket).where(Ticket.reseller_ticket_id == ref)).one()


def test_a_cancellation_refunds_on_the_pending_account_and_refuses_the_barcode(
    demo_session: Session, sold: Reseller
) -> None:
    lines = cancellation_lines(
        {"reseller_ticket_ref": "T1", "reseller_order_ref": "O1", "refund_amount": 5000}
    )
    result = integrate_cancellation_lines(demo_session, sold.settings, FILE, lines)

    assert (result.lines, result.cancelled, result.already_integrated) == (1, 1, 0)
    assert result.refunded == {"EUR": 5000}
    cancelled = ticket(demo_session, "T1")
    assert (cancelled.state, cancelled.reseller_cancellation_id) == (TicketState.CANCELLED, "C1")
    assert cancelled.cancelled_at is not None
    entry = demo_session.scalars(
        select(AccessControlEntry).where(AccessControlEntry.barcode == cancelled.barcode)
    ).one()
    assert not entry.allowed
    assert cancelled.order.state is OrderState.PARTLY_CANCELLED
    [refund] = demo_session.scalars(
        select(PendingAccountMovement).where(PendingAccountMovement.kind == MovementKind.REFUND)
    ).all()
    assert (refund.amount, refund.reference, refund.order_id) == (
        5000,
        "stx:refund:C1",
        cancelled.order_id,
    )
    assert demo_session.get_one(PendingAccount, refund.account_id).contact_id == sold.contact_id


def test_a_ticket_is_found_by_barcode_when_the_reseller_has_no_ticket_id(
    demo_session: Session, sold: Reseller
) -> None:
    barcode = ticket(demo_session, "T3").barcode
    lines = cancellation_lines({"barcode": barcode, "refund_amount": sold.free_amount})
    integrate_cancellation_lines(demo_session, sold.settings, FILE, lines)
    cancelled = ticket(demo_session, "T3")
    assert cancelled.state is TicketState.CANCELLED
    order = demo_session.get_one(Order, cancelled.order_id)
    assert order.state is OrderState.CANCELLED


def test_a_replayed_cancellation_is_skipped(demo_session: Session, sold: Reseller) -> None:
    lines = cancellation_lines({"reseller_ticket_ref": "T1", "refund_amount": 100})
    integrate_cancellation_lines(demo_session, sold.settings, FILE, lines)
    again = integrate_cancellation_lines(demo_session, sold.settings, FILE, lines)
    assert (again.cancelled, again.already_integrated, again.refunded) == (0, 1, {})
    refunds = demo_session.scalars(
        select(PendingAccountMovement).where(PendingAccountMovement.kind == MovementKind.REFUND)
    ).all()
    assert len(refunds) == 1


def test_cancellations_that_do_not_match_the_tickets_are_refused_whole(
    demo_session: Session, sold: Reseller
) -> None:
    lines = cancellation_lines(
        {"reseller_ticket_ref": "T1", "refund_amount": 100},
        {"reseller_ticket_ref": "T9"},
        {"barcode": "99000000000000"},
        {"reseller_ticket_ref": "T2", "barcode": "99000000000001"},
        {"reseller_ticket_ref": "T2", "reseller_order_ref": "O3"},
        {"reseller_ticket_ref": "T3", "refund_amount": sold.free_amount + 1},
        {"reseller_ticket_ref": "T1", "currency": "CHF"},
    )
    with pytest.raises(ExternalError) as raised:
        integrate_cancellation_lines(demo_session, sold.settings, FILE, lines)
    located = sorted((p.line, p.column, p.reason) for p in raised.value.problems)
    assert located == [
        (2, "reseller_ticket_ref", "no ticket with this id was sold by Testix (never integrated)"),
        (3, "BAR_CODE", "no ticket with this barcode was sold by Testix (never integrated)"),
        (4, "BAR_CODE", "this is not the barcode of the ticket"),
        (5, "reseller_order_ref", "the ticket belongs to another order"),
        (5, "reseller_ticket_ref", "this ticket is cancelled twice in the file"),
        (6, "refund_amount", "the refund is more than the customer paid"),
        (7, "currency", "the ticket was paid in another currency"),
        (7, "reseller_ticket_ref", "this ticket is cancelled twice in the file"),
    ]
    assert ticket(demo_session, "T1").state is TicketState.VALID


def test_a_test_ticket_is_cancelled_without_refund_only_if_the_reseller_cancels_them(
    demo_session: Session, reseller: Reseller
) -> None:
    integrate_sale_lines(
        demo_session, reseller.settings, "TEST.csv", sale_lines(reseller, {}), is_test=True
    )
    lines = cancellation_lines({"reseller_ticket_ref": "T1"})
    with pytest.raises(ExternalError) as raised:
        integrate_cancellation_lines(demo_session, reseller.settings, FILE, lines)
    assert "Testix sends no cancellation for test tickets" in raised.value.problems[0].reason

    cancelling = reseller.with_settings(cancels_test_tickets=True)
    result = integrate_cancellation_lines(demo_session, cancelling.settings, FILE, lines)
    assert (result.cancelled, result.refunded) == (1, {})
    assert ticket(demo_session, "T1").state is TicketState.CANCELLED
    assert demo_session.scalars(select(PendingAccountMovement)).all() == []


def test_a_cancellation_id_used_before_for_another_ticket_is_refused(
    demo_session: Session, sold: Reseller
) -> None:
    integrate_cancellation_lines(
        demo_session, sold.settings, FILE, cancellation_lines({"reseller_ticket_ref": "T1"})
    )
    with pytest.raises(ExternalError) as raised:
        integrate_cancellation_lines(
            demo_session,
            sold.settings,
            FILE,
            cancellation_lines({"reseller_ticket_ref": "T2"}, {"reseller_ticket_ref": "T3"}),
        )
    [(line, column, reason)] = [(p.line, p.column, p.reason) for p in raised.value.problems]
    assert (line, column) == (1, "reseller_cancellation_ref")
    assert reason == "this cancellation id was used before, for another ticket"
