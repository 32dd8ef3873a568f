"""``POST /orders/{id}/cancellations`` (realtime-api-v1, section 7.7): cancel a whole order
or some of its tickets, all or nothing.

The tickets become cancelled and access control refuses their barcodes; their places are
free again at once (only a valid ticket holds a place), in the quota they came from. The
pending account is credited with the tickets' recorded amounts (one movement per
cancellation); ``refund_amount`` is recorded and reported, not booked (section 18, point 3).
The box office records no scan of a barcode, so no ticket is ever refused as ``used``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    Currency,
    MovementKind,
    Order,
    RealtimeCancellation,
    RealtimeCancellationTicket,
    RealtimeHoldPlace,
    RealtimeOrder,
    Ticket,
    TicketState,
)
from reseller_sync.integration.cancellations import refresh_order_states
from reseller_sync.realtime.context import ResellerContext
from reseller_sync.realtime.orders import book_movement, order_object, parse_instant, touch_order
from reseller_sync.realtime.places import performances_by_id, utc
from reseller_sync.realtime.problems import Problem, error_item


def cancel_order(
    session: Session,
    reseller: ResellerContext,
    order_id: str,
    body: dict[str, Any],
    now: dt.datetime,
) -> dict[str, Any]:
    """Cancel the body's tickets of the order (every valid one when it names none); the
    Cancellation object with the order after it.

    Checks in the order of section 11: the order (404), the tickets named (422
    ``unknown_ticket``), the refund (422 ``refund_exceeds_price``, ``nothing_to_cancel``),
    the reference (409 ``duplicate-reference``), then each ticket's state (409
    ``ticket-not-cancellable``: ``already_cancelled``, ``performance_started``).

    The order's row is locked first (its cancellations follow one another), and no quota
    lock is taken: a cancellation only gives places back, and a concurrent count sees each
    ticket valid or cancelled, both true at some instant. A ticket is only cancelled while
    still valid (:func:`record_cancellation`), whoever else cancels it meanwhile.
    """
    now = utc(now)
    realtime_order, order = _locked_order(session, reseller, order_id)
    reference: str = body["reseller_cancellation_ref"]
    named: list[str] | None = body.get("ticket_ids")
    tickets = _order_tickets(session, realtime_order.order_id)
    chosen = _chosen_tickets(tickets, named, body["refund_amount"])
    _refuse_duplicate_reference(session, reseller, reference)
    performances = performances_by_id(session, reseller, {t.performance_id for t in chosen})
    errors = []
    for position, ticket in enumerate(chosen):
        pointer = f"#/ticket_ids/{position}" if named is not None else "#/ticket_ids"
        if TicketState(ticket.state) is not TicketState.VALID:
            errors.append(
                error_item(
                    f"ticket T-{ticket.id} is cancelled already",
                    pointer=pointer,
                    reason="already_cancelled",
                )
            )
        elif performances[ticket.performance_id].started(now):
            errors.append(
                error_item(
                    f"the performance of ticket T-{ticket.id} has started",
                    pointer=pointer,
                    reason="performance_started",
                )
            )
    if errors:
        raise Problem(
            "ticket-not-cancellable",
            f"{len(errors)} ticket(s) cannot be cancelled; nothing was cancelled",
            errors,
        )
    return _apply(session, reseller, realtime_order, order, chosen, body, now)


def _locked_order(
    session: Session, reseller: ResellerContext, order_id: str
) -> tuple[RealtimeOrder, Order]:
    """The reseller's order and its box-office order, the first's row locked; 404 when it
    is another's or unknown. One statement."""
    found = session.execute(
        select(RealtimeOrder, Order)
        .join(Order, RealtimeOrder.order_id == Order.id)
        .where(
            RealtimeOrder.public_id == order_id,
            RealtimeOrder.reseller_code == reseller.reseller_code,
        )
        .with_for_update(of=RealtimeOrder)
        .execution_options(populate_existing=True)
    ).first()
    if found is None:
        raise Problem("not-found", f"order {order_id} is not this reseller's")
    return found[0], found[1]


def _order_tickets(session: Session, order_id: int) -> dict[int, Ticket]:
    return {
        ticket.id: ticket
        for ticket in session.scalars(
            select(Ticket)
            .where(Ticket.order_id == order_id)
            .order_by(Ticket.id)
            .execution_options(populate_existing=True)
        )
    }


def _chosen_tickets(
    tickets: dict[int, Ticket], named: list[str] | None, refund_amount: int
) -> list[Ticket]:
    """The tickets the body names, or every valid one; 422 ``unknown_ticket``,
    ``duplicate_ticket``, ``refund_exceeds_price``, ``nothing_to_cancel``."""
    if named is None:
        chosen = [t for t in tickets.values() if TicketState(t.state) is TicketState.VALID]
    else:
        chosen, errors, seen = [], [], set()
        for position, public_id in enumerate(named):
            ticket_id = public_id[2:] if public_id.startswith("T-") else ""
            ticket = tickets.get(int(ticket_id)) if ticket_id.isdigit() else None
            if ticket is None:
                errors.append(
                    error_item(
                        f"{public_id} is not a ticket of this order",
                        pointer=f"#/ticket_ids/{position}",
                        reason="unknown_ticket",
                    )
                )
            elif ticket.id in seen:
                errors.append(
                    error_item(
                        f"{public_id} is named twice",
                        pointer=f"#/ticket_ids/{position}",
                        reason="duplicate_ticket",
                    )
                )
            else:
                seen.add(ticket.id)
                chosen.append(ticket)
        if errors:
            raise Problem("validation-failed", "a ticket is not of this order", errors)
    if not chosen:
        raise Problem(
            "validation-failed",
            "nothing to cancel",
            [
                error_item(
                    "the order has no valid ticket left" if named is None else "no ticket named",
                    pointer="#/ticket_ids",
                    reason="nothing_to_cancel",
                )
            ],
        )
    paid = sum(ticket.price for ticket in chosen)
    if refund_amount > paid:
        raise Problem(
            "validation-failed",
            "the refund is more than the tickets' price",
            [
                error_item(
                    f"refund {refund_amount} is more than the tickets' price {paid}",
                    pointer="#/refund_amount",
                    reason="refund_exceeds_price",
                )
            ],
        )
    return chosen


def _refuse_duplicate_reference(
    session: Session, reseller: ResellerContext, reference: str
) -> None:
    existing = session.scalar(
        select(RealtimeCancellation.public_id).where(
            RealtimeCancellation.reseller_code == reseller.reseller_code,
            RealtimeCancellation.reseller_cancellation_ref == reference,
        )
    )
    if existing is not None:
        raise Problem(
            "duplicate-reference",
            f"reseller_cancellation_ref {reference} was used by cancellation {existing}",
            existing_cancellation_id=existing,
        )


def _apply(
    session: Session,
    reseller: ResellerContext,
    realtime_order: RealtimeOrder,
    order: Order,
    tickets: list[Ticket],
    body: dict[str, Any],
    now: dt.datetime,
) -> dict[str, Any]:
    currency = Currency(order.currency).value
    cancellation = RealtimeCancellation(
        public_id=f"new-{realtime_order.id}-{body['reseller_cancellation_ref']}",
        order_id=realtime_order.id,
        reseller_code=reseller.reseller_code,
        reseller_cancellation_ref=body["reseller_cancellation_ref"],
        initiated_by="reseller",
        reason=body["reason"],
        refund_amount=int(body["refund_amount"]),
        currency=Currency(currency),
        cancelled_at_as_sent=body["cancelled_at"],
        cancelled_at=parse_instant(body["cancelled_at"]),
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(cancellation)
            session.flush()
    except IntegrityError:
        # Another cancellation with this reference committed meanwhile.
        _refuse_duplicate_reference(session, reseller, body["reseller_cancellation_ref"])
        raise
    return record_cancellation(
        session,
        realtime_order,
        order,
        cancellation,
        tickets,
        refund_reference=f"{reseller.reseller_code}:refund:{body['reseller_cancellation_ref']}",
        now=now,
    )


def record_cancellation(
    session: Session,
    realtime_order: RealtimeOrder,
    order: Order,
    cancellation: RealtimeCancellation,
    tickets: list[Ticket],
    *,
    refund_reference: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """What every cancellation does once its row is written (whoever asked it): its public
    id and tickets, the tickets cancelled and their barcodes refused, the pending account
    credited by their recorded amounts (once, by ``refund_reference``), the order's state
    and change time; the Cancellation object with the order after it.

    A ticket is cancelled only if it is still valid: when another cancellation took one of
    them meanwhile (committed while this one read them), ``409 ticket-not-cancellable``
    (``already_cancelled``), and the caller's transaction must not commit. A handful of
    statements, none per ticket."""
    cancellation.public_id = f"C-{cancellation.id}"
    ticket_ids = sorted(ticket.id for ticket in tickets)
    cancelled = set(
        session.scalars(
            update(Ticket)
            .where(Ticket.id.in_(ticket_ids), Ticket.state == TicketState.VALID)
            .values(state=TicketState.CANCELLED, cancelled_at=now)
            .returning(Ticket.id)
            .execution_options(synchronize_session=False)
        )
    )
    for ticket in tickets:
        session.expire(ticket)
    if len(cancelled) < len(ticket_ids):
        raise Problem(
            "ticket-not-cancellable",
            "a ticket was cancelled meanwhile; nothing was cancelled",
            [
                error_item(
                    f"ticket T-{ticket_id} is cancelled already",
                    pointer="#/ticket_ids",
                    reason="already_cancelled",
                )
                for ticket_id in ticket_ids
                if ticket_id not in cancelled
            ],
        )
    session.execute(
        insert(RealtimeCancellationTicket),
        [{"cancellation_id": cancellation.id, "ticket_id": ticket_id} for ticket_id in ticket_ids],
    )
    barcodes = sorted({ticket.barcode for ticket in tickets})
    session.execute(
        update(AccessControlEntry)
        .where(AccessControlEntry.barcode.in_(barcodes))
        .values(allowed=False, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    recorded = sum(
        amount or 0
        for amount in session.scalars(
            select(RealtimeHoldPlace.recorded_amount).where(
                RealtimeHoldPlace.ticket_id.in_(ticket_ids)
            )
        )
    )
    book_movement(
        session,
        contact_id=order.contact_id,
        order_id=order.id,
        kind=MovementKind.REFUND,
        amount=recorded,
        currency=Currency(order.currency),
        reference=refund_reference,
        booked_at=now.replace(microsecond=0),  # as the bulk writers store instants
    )
    refresh_order_states(session, [order.id])
    touch_order(session, realtime_order, now)
    session.flush()
    written = order_object(session, realtime_order, order=order)
    mine = next(item for item in written["cancellations"] if item["id"] == cancellation.public_id)
    return {**mine, "order": written}
