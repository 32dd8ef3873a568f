"""The organiser cancels a synchronous reseller's order (realtime-api-v1 sections 7.6 and
7.7), on the conformance data set: ``initiated_by`` organiser, no reseller reference,
barcodes refused, places back in the quota, the pending account credited, the reseller
finding it in its order list."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    MovementKind,
    PendingAccountMovement,
    Ticket,
    TicketState,
)
from reseller_sync.realtime.availability import availability
from reseller_sync.realtime.orders import get_order, orders_changed
from reseller_sync.realtime.organiser_cancellation import NothingToCancel, cancel_as_organiser
from reseller_sync.realtime.problems import Problem
from tests.realtime.realtime_sales import order_in_store

MINUTE = dt.timedelta(minutes=1)


def _free(world: Any, reseller: str, now: dt.datetime) -> int:
    with world.session() as session:
        shown = availability(
            session, world.reseller(reseller), "CONF-EVT-1", with_seats=False, now=now
        )
    [cat1] = [c for c in shown["categories"] if c["category_id"] == "CAT1"]
    return int(cat1["available"])


def test_the_organiser_cancels_a_whole_order(conformance_world: Any) -> None:
    world, now = conformance_world, conformance_world.now
    before = _free(world, "conf-a", now)
    with world.session() as session, session.begin():
        order = order_in_store(session, world.reseller("conf-a"), "CONF-EVT", "A-0001", now)
    assert _free(world, "conf-a", now) == before - 2
    later = now + MINUTE

    with world.session() as session, session.begin():
        cancelled = cancel_as_organiser(
            session,
            world.reseller("conf-a"),
            order["id"],
            reason="performance_cancelled",
            now=later,
        )

    assert cancelled["initiated_by"] == "organiser"
    assert cancelled["reseller_cancellation_ref"] is None
    assert cancelled["reason"] == "performance_cancelled"
    assert cancelled["ticket_ids"] == [ticket["id"] for ticket in order["tickets"]]
    assert cancelled["refund_amount"] == order["total_price"]
    assert cancelled["order"]["status"] == "cancelled"
    assert cancelled["order"]["payment"]["amount"] == 0
    assert _free(world, "conf-a", later) == before
    barcodes = [ticket["barcode"] for ticket in order["tickets"]]
    with world.session() as session:
        allowed = session.scalars(
            select(AccessControlEntry.allowed).where(AccessControlEntry.barcode.in_(barcodes))
        ).all()
        assert allowed == [False, False]
        states = session.scalars(select(Ticket.state).where(Ticket.barcode.in_(barcodes))).all()
        assert {TicketState(state) for state in states} == {TicketState.CANCELLED}
        refunds = session.scalars(
            select(PendingAccountMovement.amount).where(
                PendingAccountMovement.kind == MovementKind.REFUND
            )
        ).all()
        assert refunds == [order["payment"]["amount"]]
        # The reseller reads it: in the order, and in the list of orders changed since.
        seen = get_order(session, world.reseller("conf-a"), order["id"])
        assert [c["initiated_by"] for c in seen["cancellations"]] == ["organiser"]
        page, _ = orders_changed(
            session,
            world.reseller("conf-a"),
            changed_since=later,
            after=None,
            reseller_order_ref=None,
            limit=10,
        )
        assert [listed["id"] for listed in page] == [order["id"]]


def test_some_tickets_then_nothing_left(conformance_world: Any) -> None:
    world, now = conformance_world, conformance_world.now
    with world.session() as session, session.begin():
        order = order_in_store(session, world.reseller("conf-b"), "CONF-EVT", "B-0001", now)
    first, second = order["tickets"]
    with world.session() as session, session.begin():
        part = cancel_as_organiser(
            session,
            world.reseller("conf-b"),
            order["id"],
            reason="reseller_error",
            now=now,
            ticket_ids=[first["id"]],
            refund_amount=0,
        )
    assert part["ticket_ids"] == [first["id"]]
    assert part["refund_amount"] == 0
    assert part["order"]["status"] == "partially_cancelled"

    with world.session() as session, session.begin():
        rest = cancel_as_organiser(
            session, world.reseller("conf-b"), order["id"], reason="reseller_error", now=now
        )
    assert rest["ticket_ids"] == [second["id"]]
    assert rest["order"]["status"] == "cancelled"
    with world.session() as session, pytest.raises(NothingToCancel):
        cancel_as_organiser(
            session, world.reseller("conf-b"), order["id"], reason="reseller_error", now=now
        )


def test_another_reseller_s_order_or_a_bad_reason_is_refused(conformance_world: Any) -> None:
    world, now = conformance_world, conformance_world.now
    with world.session() as session, session.begin():
        order = order_in_store(session, world.reseller("conf-a"), "CONF-EVT", "A-0002", now)
    with world.session() as session:
        with pytest.raises(Problem) as refused:
            cancel_as_organiser(
                session, world.reseller("conf-b"), order["id"], reason="reseller_error", now=now
            )
        assert refused.value.type.name == "not-found"
        with pytest.raises(ValueError, match="reason"):
            cancel_as_organiser(
                session, world.reseller("conf-a"), order["id"], reason="boredom", now=now
            )
        with pytest.raises(ValueError, match="T-999999"):
            cancel_as_organiser(
                session,
                world.reseller("conf-a"),
                order["id"],
                reason="reseller_error",
                now=now,
                ticket_ids=["T-999999"],
            )
