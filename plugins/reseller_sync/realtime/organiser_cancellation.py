"""The organiser cancels a synchronous reseller's order (``realtime-api-v1`` sections 7.6
and 7.7): a performance cancelled, or the onboarding's test order, whatever the reseller.

What the reseller's own cancellation does (:mod:`reseller_sync.realtime.cancellations`),
with the organiser as its author: the tickets become cancelled and access control refuses
their barcodes, their places go back to the quota they came from, the pending account is
credited with their recorded amounts, and the order's ``changed_at`` moves, so that the
reseller finds the cancellation in ``GET /orders`` (``initiated_by: "organiser"``, no
``reseller_cancellation_ref``). Its instants are the box office's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    Currency,
    Order,
    RealtimeCancellation,
    Ticket,
    TicketState,
)
from reseller_sync.realtime.cancellations import record_cancellation
from reseller_sync.realtime.context import ResellerContext
from reseller_sync.realtime.orders import find_order
from reseller_sync.realtime.places import instant, lock_quotas, utc

REASONS = ("customer_request", "performance_cancelled", "reseller_error")
ORGANISER = "organiser"


class NothingToCancel(ValueError):  # noqa: N818 (the domain's words)
    """The order has no valid ticket left (among those named)."""


def cancel_as_organiser(
    session: Session,
    reseller: ResellerContext,
    order_id: str,
    *,
    reason: str,
    now: dt.datetime,
    ticket_ids: list[str] | None = None,
    refund_amount: int | None = None,
) -> dict[str, Any]:
    """Cancel the order's valid tickets (those of ``ticket_ids``, public ids, when given)
    as the organiser; the Cancellation object with the order after it.

    ``refund_amount`` defaults to the tickets' price: what the reseller refunds its
    customer when the organiser cancels. ``Problem("not-found")`` when the order is not
    the reseller's, :class:`NothingToCancel` when no named ticket is valid any more, and
    ValueError for an unknown reason or ticket. Never commits."""
    if reason not in REASONS:
        raise ValueError(f"reason {reason!r}: one of {REASONS}")
    now = utc(now)
    realtime_order = find_order(session, reseller, order_id)
    tickets = _valid_tickets(session, realtime_order.order_id, ticket_ids)
    lock_quotas(session, {ticket.quota_id for ticket in tickets if ticket.quota_id is not None})
    # Under the locks: what a concurrent cancellation left valid.
    tickets = _valid_tickets(session, realtime_order.order_id, ticket_ids)
    order = session.get_one(Order, realtime_order.order_id)
    currency = Currency(order.currency)
    refund = sum(ticket.price for ticket in tickets) if refund_amount is None else refund_amount
    cancellation = RealtimeCancellation(
        public_id=f"new-{realtime_order.id}-{now.timestamp()}",
        order_id=realtime_order.id,
        reseller_code=reseller.reseller_code,
        reseller_cancellation_ref=None,
        initiated_by=ORGANISER,
        reason=reason,
        refund_amount=refund,
        currency=currency,
        cancelled_at_as_sent=instant(now),
        cancelled_at=now,
        created_at=now,
    )
    session.add(cancellation)
    session.flush()
    return record_cancellation(
        session,
        realtime_order,
        order,
        cancellation,
        tickets,
        refund_reference=f"{reseller.reseller_code}:refund:C-{cancellation.id}",
        now=now,
    )


def _valid_tickets(session: Session, order_id: int, named: list[str] | None) -> list[Ticket]:
    tickets = {
        f"T-{ticket.id}": ticket
        for ticket in session.scalars(
            select(Ticket)
            .where(Ticket.order_id == order_id)
            .order_by(Ticket.id)
            .execution_options(populate_existing=True)
        )
    }
    if named is not None:
        unknown = [public_id for public_id in named if public_id not in tickets]
        if unknown:
            raise ValueError(f"not tickets of this order: {', '.join(unknown)}")
        tickets = {public_id: tickets[public_id] for public_id in dict.fromkeys(named)}
    valid = [t for t in tickets.values() if TicketState(t.state) is TicketState.VALID]
    if not valid:
        raise NothingToCancel("the order has no valid ticket left to cancel")
    return valid
