"""Cancellations of realtime-api-v1 (section 7.7) on the conformance data set: tickets
cancelled, barcodes refused, places back in the quota, the pending account credited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    MovementKind,
    Order,
    OrderState,
    PendingAccountMovement,
    RealtimeCancellation,
    RealtimeOrder,
    Ticket,
    TicketState,
)
from reseller_sync.realtime.availability import availability
from reseller_sync.realtime.cancellations import cancel_order, record_cancellation
from reseller_sync.realtime.holds import create_hold
from reseller_sync.realtime.orders import create_order, get_order, orders_changed
from reseller_sync.realtime.problems import Problem

SECOND = dt.timedelta(seconds=1)


def _sold(world: Any, reseller: str, seats: list[str], ref: str, now: dt.datetime):
    """An order of these CAT1 seats of CONF-EVT-1: FULL for the first, REDUCED after."""
    with world.session() as session, session.begin():
        context = world.reseller(reseller)
        hold = create_hold(
            session,
            context,
            {"lines": [{"performance_id": "CONF-EVT-1", "seat_id": seat} for seat in seats]},
            now,
        )
        fee = 350 if context.price_compare == "price_minus_commission" else 0
        return create_order(
            session,
            context,
            {
                "hold_id": hold["id"],
                "reseller_order_ref": ref,
                "sold_at": "2026-12-02T13:04:40+01:00",
                "currency": "EUR",
                "lines": [
                    {
                        "hold_place_id": place["id"],
                        "tariff_id": "FULL" if i == 0 else "REDUCED",
                        "price": (6500 if i == 0 else 4500) + fee,
                        "commission": fee,
                    }
                    for i, place in enumerate(hold["places"])
                ],
            },
            now,
        )


def _cancel(world: Any, reseller: str, order_id: str, now: dt.datetime, **body: Any):
    body = {
        "reseller_cancellation_ref": "C-REF-1",
        "reason": "customer_request",
        "cancelled_at": "2026-12-02T13:30:00+01:00",
        "refund_amount": 0,
        **body,
    }
    with world.session() as session, session.begin():
        return cancel_order(session, world.reseller(reseller), order_id, body, now)


def _refused(call: Callable[[], Any]) -> Problem:
    with pytest.raises(Problem) as caught:
        call()
    return caught.value


def _cat1(world: Any, reseller: str, now: dt.datetime) -> dict[str, Any]:
    with world.session() as session:
        found = availability(
            session, world.reseller(reseller), "CONF-EVT-1", with_seats=True, now=now
        )
    return found["categories"][0]


def test_one_ticket_of_two_is_cancelled(conformance_world) -> None:
    """Section 17.1, step 5: the barcode is refused, the seat is back, the amount owed falls."""
    world, now = conformance_world, conformance_world.now
    order = _sold(world, "conf-b", ["B-1-7", "B-1-8"], "DGT-2611-000123", now)
    zoe = order["tickets"][1]
    at = now + 26 * 60 * SECOND
    cancellation = _cancel(
        world,
        "conf-b",
        order["id"],
        at,
        reseller_cancellation_ref="DGT-C-2611-0007",
        ticket_ids=[zoe["id"]],
        refund_amount=4500,
    )
    after = cancellation.pop("order")
    assert cancellation == {
        "id": cancellation["id"],
        "order_id": order["id"],
        "reseller_cancellation_ref": "DGT-C-2611-0007",
        "initiated_by": "reseller",
        "reason": "customer_request",
        "ticket_ids": [zoe["id"]],
        "barcodes": [zoe["barcode"]],
        "refund_amount": 4500,
        "currency": "EUR",
        "cancelled_at": "2026-12-02T13:30:00+01:00",
        "created_at": "2026-12-02T12:26:00Z",
    }
    assert cancellation["id"].startswith("C-")
    assert after["status"] == "partially_cancelled"
    assert after["changed_at"] == "2026-12-02T12:26:00Z"
    assert after["payment"] == {"method": "pending_account", "amount": 6500, "currency": "EUR"}
    assert (after["total_price"], after["total_commission"]) == (11700, 700)
    assert [(t["status"], t["cancelled_at"]) for t in after["tickets"]] == [
        ("valid", None),
        ("cancelled", "2026-12-02T12:26:00Z"),
    ]
    assert after["cancellations"] == [cancellation]
    with world.session() as session:
        assert get_order(session, world.reseller("conf-b"), order["id"]) == after
        allowed = dict(
            session.execute(select(AccessControlEntry.barcode, AccessControlEntry.allowed)).all()
        )
        movements = session.execute(
            select(
                PendingAccountMovement.kind,
                PendingAccountMovement.amount,
                PendingAccountMovement.reference,
            ).order_by(PendingAccountMovement.id)
        ).all()
        state = session.scalar(select(Order.state))
    assert allowed == {order["tickets"][0]["barcode"]: True, zoe["barcode"]: False}
    assert [tuple(m) for m in movements] == [
        (MovementKind.SALE, 11000, "conf-b:sale:DGT-2611-000123"),
        (MovementKind.REFUND, 4500, "conf-b:refund:DGT-C-2611-0007"),
    ]
    assert state == OrderState.PARTLY_CANCELLED
    cat1 = _cat1(world, "conf-b", at)
    assert (cat1["sold"], cat1["available"]) == (1, 19)
    assert "B-1-8" in {seat["id"] for seat in cat1["seats"]}


def test_without_ticket_ids_every_valid_ticket_is_cancelled(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    order = _sold(world, "conf-a", ["A-1-1", "A-1-2", "A-1-3"], "REF-1", now)
    first = order["tickets"][0]["id"]
    _cancel(world, "conf-a", order["id"], now, ticket_ids=[first])
    cancellation = _cancel(
        world,
        "conf-a",
        order["id"],
        now + SECOND,
        reseller_cancellation_ref="C-REF-2",
        reason="reseller_error",
        refund_amount=9000,
    )
    assert cancellation["ticket_ids"] == [t["id"] for t in order["tickets"][1:]]
    assert cancellation["order"]["status"] == "cancelled"
    assert cancellation["order"]["payment"]["amount"] == 0
    assert [c["id"] for c in cancellation["order"]["cancellations"]][1] == cancellation["id"]
    with world.session() as session:
        assert set(session.scalars(select(Ticket.state))) == {TicketState.CANCELLED}
        assert session.scalar(select(Order.state)) == OrderState.CANCELLED
    assert _cat1(world, "conf-a", now)["available"] == 20

    problem = _refused(
        lambda: _cancel(world, "conf-a", order["id"], now, reseller_cancellation_ref="C-REF-3")
    )
    assert (problem.type.name, [(e["pointer"], e["reason"]) for e in problem.errors]) == (
        "validation-failed",
        [("#/ticket_ids", "nothing_to_cancel")],
    )
    problem = _refused(
        lambda: _cancel(
            world,
            "conf-a",
            order["id"],
            now,
            reseller_cancellation_ref="C-REF-3",
            ticket_ids=[order["tickets"][2]["id"], first],
        )
    )
    assert (problem.type.name, problem.status) == ("ticket-not-cancellable", 409)
    assert [(e["pointer"], e["reason"]) for e in problem.errors] == [
        ("#/ticket_ids/0", "already_cancelled"),
        ("#/ticket_ids/1", "already_cancelled"),
    ]


def test_a_cancellation_reference_is_used_once(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    order = _sold(world, "conf-a", ["A-1-1", "A-1-2"], "REF-1", now)
    other = _sold(world, "conf-a", ["A-1-3"], "REF-2", now)
    first = _cancel(world, "conf-a", order["id"], now, ticket_ids=[order["tickets"][0]["id"]])
    for order_id in (order["id"], other["id"]):
        problem = _refused(lambda o=order_id: _cancel(world, "conf-a", o, now + SECOND))  # type: ignore[misc]
        assert (problem.type.name, problem.status, problem.members) == (
            "duplicate-reference",
            409,
            {"existing_cancellation_id": first["id"]},
        )
    with world.session() as session:
        assert session.scalar(select(func.count()).select_from(RealtimeCancellation)) == 1


def test_tickets_named_must_be_of_the_order_and_the_refund_within_their_price(
    conformance_world,
) -> None:
    world, now = conformance_world, conformance_world.now
    order = _sold(world, "conf-a", ["A-1-1", "A-1-2"], "REF-1", now)
    other = _sold(world, "conf-a", ["A-1-3"], "REF-2", now)
    problem = _refused(
        lambda: _cancel(
            world,
            "conf-a",
            order["id"],
            now,
            ticket_ids=[order["tickets"][0]["id"], other["tickets"][0]["id"], "T-x"],
        )
    )
    assert (problem.type.name, [(e["pointer"], e["reason"]) for e in problem.errors]) == (
        "validation-failed",
        [("#/ticket_ids/1", "unknown_ticket"), ("#/ticket_ids/2", "unknown_ticket")],
    )
    problem = _refused(
        lambda: _cancel(
            world,
            "conf-a",
            order["id"],
            now,
            ticket_ids=[order["tickets"][1]["id"]],
            refund_amount=4501,
        )
    )
    assert [(e["pointer"], e["reason"]) for e in problem.errors] == [
        ("#/refund_amount", "refund_exceeds_price")
    ]
    _cancel(
        world,
        "conf-a",
        order["id"],
        now,
        ticket_ids=[order["tickets"][1]["id"]],
        refund_amount=4500,
    )


def test_after_the_performance_started_nothing_is_cancelled(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    order = _sold(world, "conf-a", ["A-1-1"], "REF-1", now)
    started = now + dt.timedelta(days=60)
    problem = _refused(lambda: _cancel(world, "conf-a", order["id"], started))
    assert (problem.type.name, [(e["pointer"], e["reason"]) for e in problem.errors]) == (
        "ticket-not-cancellable",
        [("#/ticket_ids", "performance_started")],
    )
    _cancel(world, "conf-a", order["id"], started - SECOND)


def test_another_reseller_s_order_is_not_found(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    order = _sold(world, "conf-a", ["A-1-1"], "REF-1", now)
    problem = _refused(lambda: _cancel(world, "conf-b", order["id"], now))
    assert (problem.type.name, problem.status) == ("not-found", 404)


def test_a_cancelled_order_lists_again_at_its_change(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    order = _sold(world, "conf-a", ["A-1-1"], "REF-1", now)
    _cancel(world, "conf-a", order["id"], now + 60 * SECOND)
    with world.session() as session:
        page, _ = orders_changed(
            session,
            world.reseller("conf-a"),
            changed_since=now + SECOND,
            after=None,
            reseller_order_ref=None,
            limit=10,
        )
    assert [(o["id"], o["status"], o["changed_at"]) for o in page] == [
        (order["id"], "cancelled", "2026-12-02T12:01:00Z")
    ]


def test_a_ticket_cancelled_meanwhile_is_refused_and_credited_once(conformance_world) -> None:
    """The cancellation path takes no quota lock: a ticket another cancellation took after
    this one read it (committed meanwhile) is not cancelled twice, nor the account credited
    twice: ``409 ticket-not-cancellable``, nothing written."""
    world, now = conformance_world, conformance_world.now
    order = _sold(world, "conf-a", ["A-1-1"], "O-REF-RACE", now)
    with world.session() as early:  # what a slower cancellation read before the other
        realtime_order = early.scalars(
            select(RealtimeOrder).where(RealtimeOrder.public_id == order["id"])
        ).one()
        box_order = early.get_one(Order, realtime_order.order_id)
        tickets = list(early.scalars(select(Ticket).where(Ticket.order_id == box_order.id)))
    _cancel(world, "conf-a", order["id"], now + SECOND)
    with world.session() as session, session.begin():
        late_order = session.merge(realtime_order, load=False)
        late_box_order = session.merge(box_order, load=False)
        stale = [session.merge(ticket, load=False) for ticket in tickets]
        assert [TicketState(ticket.state) for ticket in stale] == [TicketState.VALID]
        cancellation = RealtimeCancellation(
            public_id="new-late",
            order_id=late_order.id,
            reseller_code="conf-a",
            reseller_cancellation_ref="C-REF-LATE",
            initiated_by="organiser",
            reason="performance_cancelled",
            refund_amount=0,
            currency=late_box_order.currency,
            cancelled_at_as_sent="2026-12-02T13:30:00Z",
            cancelled_at=now,
            created_at=now,
        )
        session.add(cancellation)
        session.flush()
        problem = _refused(
            lambda: record_cancellation(
                session,
                late_order,
                late_box_order,
                cancellation,
                stale,
                refund_reference="conf-a:refund:late",
                now=now + 2 * SECOND,
            )
        )
        session.rollback()
    assert problem.type.name == "ticket-not-cancellable"
    assert [error["reason"] for error in problem.errors] == ["already_cancelled"]
    with world.session() as session:
        refunds = session.scalar(
            select(func.count())
            .select_from(PendingAccountMovement)
            .where(
                PendingAccountMovement.order_id == box_order.id,
                PendingAccountMovement.kind == MovementKind.REFUND,
            )
        )
        assert refunds == 1
        assert session.scalar(select(func.count()).select_from(RealtimeCancellation)) == 1
