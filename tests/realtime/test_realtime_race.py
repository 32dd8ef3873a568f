"""Races for the shared ``LAST`` seats of the conformance data set, on PostgreSQL: many
threads, each with its own session and transactions, hold by seat and by count, order,
release and cancel at once. Afterwards no seat is in two active holds or valid tickets, or
in both, and no count passes the quota (realtime-api-v1, section 8, G1 and G2)."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from reseller_sync.boxoffice.models import (
    Performance,
    RealtimeHold,
    RealtimeHoldPlace,
    Ticket,
    TicketState,
)
from reseller_sync.realtime.cancellations import cancel_order
from reseller_sync.realtime.holds import create_hold, release_hold, sweep_expired_holds
from reseller_sync.realtime.orders import create_order
from reseller_sync.realtime.places import active_hold, place_counts, reseller_quotas
from reseller_sync.realtime.problems import Problem

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_kind", ["postgresql"], indirect=True),
]

THREADS = 16
ATTEMPTS = 30
TICK = dt.timedelta(milliseconds=200)
"""How far the box-office clock moves at each request: holds of 5 seconds expire mid-race."""


def _run(threads: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(i)`` in ``threads`` threads started together; the exceptions they raised."""
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def body(i: int) -> None:
        start.wait()
        try:
            work(i)
        except BaseException as error:  # reported by the test
            failures.append(error)

    workers = [threading.Thread(target=body, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return failures


def _line(seat: str | None = None, quantity: int = 1) -> dict[str, Any]:
    if seat is not None:
        return {"performance_id": "CONF-RACE-1", "seat_id": seat}
    return {"performance_id": "CONF-RACE-1", "category_id": "LAST", "quantity": quantity}


def _order_body(hold: dict[str, Any], ref: str, price: int) -> dict[str, Any]:
    """FULL at 5000 as each reseller compares it: ``price`` 5000 or 5350 (commission 350)."""
    return {
        "hold_id": hold["id"],
        "reseller_order_ref": ref,
        "sold_at": "2026-12-02T13:00:00Z",
        "currency": "EUR",
        "lines": [
            {"hold_place_id": place["id"], "tariff_id": "FULL", "price": price, "commission": 350}
            for place in hold["places"]
        ],
    }


def _check_one_owner(world: Any, now: dt.datetime) -> None:
    """No seat in two active holds, two valid tickets, or an active hold and a valid ticket;
    held + sold within the quota (raw counts, not the clamped ``available``). Read in one
    snapshot (repeatable read), so that it may run while the race goes on."""
    with world.session() as session:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        held = session.execute(
            select(RealtimeHoldPlace.performance_id, RealtimeHoldPlace.seat_id)
            .join(RealtimeHold, RealtimeHoldPlace.hold_id == RealtimeHold.id)
            .where(active_hold(now), RealtimeHoldPlace.seat_id.is_not(None))
        ).all()
        sold = session.execute(
            select(Ticket.performance_id, Ticket.seat_id).where(
                Ticket.state == TicketState.VALID, Ticket.seat_id.is_not(None)
            )
        ).all()
        owners = Counter(tuple(row) for row in [*held, *sold])
        assert [seat for seat, count in owners.items() if count > 1] == []
        race = session.scalar(select(Performance.id).where(Performance.code == "CONF-RACE-1"))
        for reseller in ("conf-a", "conf-b"):
            quotas = reseller_quotas(session, world.reseller(reseller), [race])
            for count in place_counts(session, [q.id for q in quotas], now):
                assert count.held + count.sold <= count.quota, count


def test_one_seat_asked_by_every_thread_goes_to_one(conformance_world) -> None:
    """Section 17.2: the holds arrive together; exactly one wins, the others are refused."""
    world, now = conformance_world, conformance_world.now
    outcomes: list[str] = []

    def attempt(i: int) -> None:
        reseller = world.reseller("conf-a" if i % 2 else "conf-b")
        try:
            with world.session() as session, session.begin():
                create_hold(session, reseller, {"lines": [_line("R-1-3")]}, now)
            outcomes.append("held")
        except Problem as problem:
            outcomes.append(problem.errors[0]["reason"])

    assert _run(THREADS, attempt) == []
    assert Counter(outcomes) == {"held": 1, "seat_held": THREADS - 1}
    _check_one_owner(world, now)


def test_counts_asked_by_every_thread_never_pass_the_quota(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    outcomes: list[str] = []

    def attempt(i: int) -> None:
        reseller = world.reseller("conf-a" if i % 2 else "conf-b")
        try:
            with world.session() as session, session.begin():
                create_hold(session, reseller, {"lines": [_line()]}, now)
            outcomes.append("held")
        except Problem as problem:
            outcomes.append(problem.errors[0]["reason"])

    assert _run(THREADS, attempt) == []
    assert Counter(outcomes) == {"held": 5, "not_enough_places": THREADS - 5}
    _check_one_owner(world, now)


def test_holds_orders_releases_and_cancellations_race_for_the_last_seats(
    conformance_world,
) -> None:
    world, start = conformance_world, conformance_world.now
    ticks = itertools.count(1)
    resellers = {code: world.reseller(code) for code in ("conf-a", "conf-b")}
    outcomes: Counter[str] = Counter()
    counting = threading.Lock()

    def count(what: str) -> None:
        with counting:
            outcomes[what] += 1

    def clock() -> dt.datetime:
        return start + next(ticks) * TICK

    def attempt(session_call: Callable[[Any], Any]) -> Any:
        try:
            with world.session() as session, session.begin():
                return session_call(session)
        except Problem as problem:
            count(problem.type.name)
            return None

    def work(i: int) -> None:
        chance = random.Random(i)
        code = "conf-a" if i % 2 else "conf-b"
        reseller = resellers[code]
        price = 5000 if reseller.price_compare == "price" else 5350
        orders: list[str] = []
        for n in range(ATTEMPTS):
            if chance.random() < 0.5:
                lines = [_line(f"R-1-{chance.randint(1, 5)}")]
            else:
                lines = [_line(quantity=chance.randint(1, 2))]
            body = {"lines": lines, "expires_in": chance.choice([5, 600])}
            hold = attempt(lambda s, b=body: create_hold(s, reseller, b, clock()))  # type: ignore[misc]
            if hold is None:
                continue
            count("held")
            roll = chance.random()
            if roll < 0.5:
                ref = f"{code}-{i}-{n}"
                order = attempt(
                    lambda s, h=hold, r=ref: create_order(  # type: ignore[misc]
                        s, reseller, _order_body(h, r, price), clock()
                    )
                )
                if order is not None:
                    count("ordered")
                    orders.append(order["id"])
            elif roll < 0.8:
                attempt(lambda s, h=hold: release_hold(s, reseller, h["id"], clock()))  # type: ignore[misc]
            if orders and chance.random() < 0.3:
                order_id = orders.pop(0)
                body = {
                    "reseller_cancellation_ref": f"C-{code}-{i}-{n}",
                    "reason": "customer_request",
                    "cancelled_at": "2026-12-02T13:30:00Z",
                    "refund_amount": 0,
                }
                if attempt(lambda s, o=order_id, b=body: cancel_order(s, reseller, o, b, clock())):  # type: ignore[misc]
                    count("cancelled")
            if n % 10 == 0:
                attempt(lambda s: sweep_expired_holds(s, clock()))
                _check_one_owner(world, clock())

    failures = _run(THREADS, work)
    assert failures == []
    done = ("held", "ordered", "cancelled", "places-unavailable")
    assert min(outcomes[what] for what in done) > 0, outcomes
    assert set(outcomes) <= {*done, "hold-expired", "ticket-not-cancellable"}, outcomes
    end = start + next(ticks) * TICK
    _check_one_owner(world, end)
    with world.session() as session:
        claims = session.scalars(
            select(RealtimeHoldPlace.seat_claim).where(RealtimeHoldPlace.seat_claim.is_not(None))
        ).all()
        assert len(claims) == len(set(claims))
        valid = session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.state == TicketState.VALID)
        )
    assert (valid or 0) <= 5
