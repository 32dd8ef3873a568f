"""Orders of realtime-api-v1 (sections 7.5, 7.6 and 9) on the conformance data set: a hold
turned into tickets paid on the pending account, all or nothing, and every refusal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select, update

from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    MovementKind,
    Order,
    OrderState,
    PendingAccountMovement,
    Price,
    RealtimeHoldPlace,
    Ticket,
)
from reseller_sync.realtime.availability import availability
from reseller_sync.realtime.holds import create_hold, get_hold, release_hold
from reseller_sync.realtime.orders import create_order, get_order, orders_changed
from reseller_sync.realtime.problems import Problem

SECOND = dt.timedelta(seconds=1)


def _hold(world: Any, reseller: str, lines: list[dict[str, Any]], now: dt.datetime, **more: Any):
    with world.session() as session, session.begin():
        return create_hold(session, world.reseller(reseller), {"lines": lines, **more}, now)


def _seats(performance: str, *seats: str) -> list[dict[str, Any]]:
    return [{"performance_id": performance, "seat_id": seat} for seat in seats]


def _body(hold: dict[str, Any], ref: str, *lines: tuple[str, int, int], **more: Any):
    return {
        "hold_id": hold["id"],
        "reseller_order_ref": ref,
        "sold_at": "2026-12-02T13:04:40+01:00",
        "currency": "EUR",
        "lines": [
            {"hold_place_id": place["id"], "tariff_id": tariff, "price": price, "commission": fee}
            for place, (tariff, price, fee) in zip(hold["places"], lines, strict=True)
        ],
        **more,
    }


def _order(world: Any, reseller: str, body: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    with world.session() as session, session.begin():
        return create_order(session, world.reseller(reseller), body, now)


def _refused(call: Callable[[], Any]) -> Problem:
    with pytest.raises(Problem) as caught:
        call()
    return caught.value


def _count(world: Any, model: Any) -> int:
    with world.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _category(world: Any, reseller: str, performance: str, category: str, now: dt.datetime):
    with world.session() as session:
        found = availability(
            session, world.reseller(reseller), performance, with_seats=True, now=now
        )
    return next(c for c in found["categories"] if c["category_id"] == category)


def test_an_active_hold_becomes_tickets_paid_on_the_pending_account(conformance_world) -> None:
    """Section 17.1, step 4: the reseller compares the price less its commission."""
    world, now = conformance_world, conformance_world.now
    hold = _hold(world, "conf-b", _seats("CONF-EVT-1", "B-1-7", "B-1-8"), now)
    body = _body(hold, "DGT-2611-000123", ("FULL", 6850, 350), ("REDUCED", 4850, 350))
    body["point_of_sale"] = "WEB"
    body["lines"][0]["beneficiary"] = {"first_name": "Hélène", "last_name": "Dupré"}
    body["lines"][1]["beneficiary"] = {"first_name": "Zoé", "last_name": "Dupré"}
    at = now + 4 * 60 * SECOND
    order = _order(world, "conf-b", body, at)

    places = {p["id"]: p for p in hold["places"]}
    with world.session() as session:
        hold_place_ids = dict(
            session.execute(select(RealtimeHoldPlace.code, RealtimeHoldPlace.id)).all()
        )
        tickets = session.scalars(select(Ticket).order_by(Ticket.id)).all()
        movement = session.scalars(select(PendingAccountMovement)).one()
        allowed = dict(
            session.execute(select(AccessControlEntry.barcode, AccessControlEntry.allowed)).all()
        )
        stored = session.scalars(select(Order)).one()
    assert order == {
        "id": order["id"],
        "reseller_order_ref": "DGT-2611-000123",
        "status": "confirmed",
        "hold_id": hold["id"],
        "from_expired_hold": False,
        "sold_at": "2026-12-02T13:04:40+01:00",
        "point_of_sale": "WEB",
        "created_at": "2026-12-02T12:04:00Z",
        "changed_at": "2026-12-02T12:04:00Z",
        "currency": "EUR",
        "total_price": 11700,
        "total_commission": 700,
        "payment": {"method": "pending_account", "amount": 11000, "currency": "EUR"},
        "tickets": [
            {
                "id": f"T-{ticket.id}",
                "hold_place_id": code,
                "status": "valid",
                "barcode": f"47{hold_place_ids[code]:014d}",
                "performance_id": "CONF-EVT-1",
                "category_id": "CAT1",
                "seat": places[code]["seat"],
                "tariff_id": tariff,
                "price": price,
                "commission": 350,
                "beneficiary": {"first_name": first_name, "last_name": "Dupré"},
                "cancelled_at": None,
            }
            for ticket, code, tariff, price, first_name in zip(
                tickets,
                ("HP1", "HP2"),
                ("FULL", "REDUCED"),
                (6850, 4850),
                ("Hélène", "Zoé"),
                strict=True,
            )
        ],
        "cancellations": [],
        "warnings": [],
    }
    assert order["id"].startswith("O-")
    assert [len(t["barcode"]) for t in order["tickets"]] == [16, 16]
    assert [(t.price, t.commission, t.reseller_code, t.quota_id is not None) for t in tickets] == [
        (6850, 350, "conf-b", True),
        (4850, 350, "conf-b", True),
    ]
    assert tickets[0].sold_at is not None
    assert (stored.state, stored.total, stored.reseller_order_id) == (
        OrderState.PAID,
        11000,
        "DGT-2611-000123",
    )
    assert (movement.kind, movement.amount, movement.reference) == (
        MovementKind.SALE,
        11000,
        "conf-b:sale:DGT-2611-000123",
    )
    assert allowed == {t["barcode"]: True for t in order["tickets"]}
    cat1 = _category(world, "conf-b", "CONF-EVT-1", "CAT1", at)
    assert (cat1["held"], cat1["sold"], cat1["available"]) == (0, 2, 18)
    with world.session() as session:
        assert get_order(session, world.reseller("conf-b"), order["id"]) == order
        shown = get_hold(session, world.reseller("conf-b"), hold["id"], at)
        assert (shown["status"], shown["order_id"]) == ("ordered", order["id"])
        assert session.scalars(select(RealtimeHoldPlace.seat_claim)).all() == [None, None]
        assert (
            _refused(lambda: get_order(session, world.reseller("conf-a"), order["id"])).type.name
            == "not-found"
        )


def test_counted_places_and_passes_become_tickets(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    hold = _hold(
        world,
        "conf-a",
        [
            {"performance_id": "CONF-EVT-1", "category_id": "FREE", "quantity": 2},
            {"performance_id": "CONF-PASS-1", "category_id": "PASS", "quantity": 1},
        ],
        now,
    )
    order = _order(
        world,
        "conf-a",
        _body(hold, "REF-1", ("FULL", 3000, 100), ("FULL", 3000, 100), ("FULL", 2000, 0)),
        now,
    )
    assert [(t["category_id"], t["seat"], t["price"]) for t in order["tickets"]] == [
        ("FREE", None, 3000),
        ("FREE", None, 3000),
        ("PASS", None, 2000),
    ]
    assert order["payment"]["amount"] == 8000
    free = _category(world, "conf-a", "CONF-EVT-1", "FREE", now)
    assert (free["held"], free["sold"], free["available"]) == (0, 2, 48)
    passes = _category(world, "conf-a", "CONF-PASS-1", "PASS", now)
    assert (passes["sold"], passes["available"]) == (1, 99)


def test_a_price_difference_is_a_warning_under_warn(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    hold = _hold(world, "conf-b", _seats("CONF-EVT-1", "B-1-1"), now)
    order = _order(world, "conf-b", _body(hold, "REF-1", ("FULL", 6750, 350)), now)
    assert order["warnings"] == [
        {
            "type": "urn:problem-type:reseller-sync:price-mismatch",
            "pointer": "#/lines/0/price",
            "expected": 6500,
            "actual": 6400,
            "detail": "recorded amount 6400 differs from tariff FULL at 6500",
        }
    ]
    assert order["payment"]["amount"] == 6400
    assert order["tickets"][0]["price"] == 6750


def test_a_price_difference_fails_the_order_under_strict(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    hold = _hold(world, "conf-a", _seats("CONF-EVT-1", "A-1-1", "A-1-2"), now)
    body = _body(hold, "REF-1", ("FULL", 6500, 350), ("REDUCED", 4000, 0))
    problem = _refused(lambda: _order(world, "conf-a", body, now))
    assert (problem.type.name, problem.status, problem.type.category) == (
        "price-mismatch",
        422,
        "mapping",
    )
    assert [(e["pointer"], e["expected"], e["actual"]) for e in problem.errors] == [
        ("#/lines/1/price", 4500, 4000)
    ]
    assert _count(world, Order) == _count(world, Ticket) == 0
    with world.session() as session:
        assert get_hold(session, world.reseller("conf-a"), hold["id"], now)["status"] == "active"


def test_tariff_and_currency_are_checked_in_that_order(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    hold = _hold(
        world,
        "conf-a",
        [{"performance_id": "CONF-EVT-1", "category_id": "FREE", "quantity": 2}],
        now,
    )
    body = _body(hold, "REF-1", ("REDUCED", 4500, 0), ("NOPE", 3000, 0), currency="CHF")
    problem = _refused(lambda: _order(world, "conf-a", body, now))
    assert problem.type.name == "tariff-not-on-channel"
    assert [e["pointer"] for e in problem.errors] == ["#/lines/0/tariff_id", "#/lines/1/tariff_id"]
    body = _body(hold, "REF-1", ("FULL", 3000, 0), ("FULL", 3000, 0), currency="CHF")
    problem = _refused(lambda: _order(world, "conf-a", body, now))
    assert (problem.type.name, [e["pointer"] for e in problem.errors]) == (
        "currency-mismatch",
        ["#/currency"],
    )


def test_lines_must_name_each_place_of_the_hold_once(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    hold = _hold(world, "conf-a", _seats("CONF-EVT-1", "A-1-1", "A-1-2"), now)
    body = _body(hold, "REF-1", ("FULL", 6500, 0), ("FULL", 6500, 0))
    body["lines"][1]["hold_place_id"] = "HP9"
    problem = _refused(lambda: _order(world, "conf-a", body, now))
    assert (problem.type.name, [(e["pointer"], e["reason"]) for e in problem.errors]) == (
        "validation-failed",
        [("#/lines/1/hold_place_id", "unknown_hold_place")],
    )
    body["lines"][1]["hold_place_id"] = "HP1"
    problem = _refused(lambda: _order(world, "conf-a", body, now))
    assert [(e["pointer"], e["reason"]) for e in problem.errors] == [
        ("#/lines/1/hold_place_id", "duplicate_hold_place")
    ]
    body["lines"].pop()
    problem = _refused(lambda: _order(world, "conf-a", body, now))
    assert [(e["pointer"], e["reason"]) for e in problem.errors] == [
        ("#/lines", "missing_hold_place")
    ]


def test_a_hold_of_another_reseller_is_not_found(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    hold = _hold(world, "conf-a", _seats("CONF-RACE-1", "R-1-1"), now)
    problem = _refused(
        lambda: _order(world, "conf-b", _body(hold, "REF-1", ("FULL", 5000, 0)), now)
    )
    assert (problem.type.name, problem.status) == ("not-found", 404)


def test_a_reference_and_a_hold_are_used_once(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    first = _hold(world, "conf-a", _seats("CONF-RACE-1", "R-1-1"), now)
    order = _order(world, "conf-a", _body(first, "REF-1", ("FULL", 5000, 0)), now)
    second = _hold(world, "conf-a", _seats("CONF-RACE-1", "R-1-2"), now)
    problem = _refused(
        lambda: _order(world, "conf-a", _body(second, "REF-1", ("FULL", 5000, 0)), now)
    )
    assert (problem.type.name, problem.status, problem.members) == (
        "duplicate-reference",
        409,
        {"existing_order_id": order["id"]},
    )
    two_days_later = now + dt.timedelta(days=2)
    problem = _refused(
        lambda: _order(world, "conf-a", _body(first, "REF-1", ("FULL", 5000, 0)), two_days_later)
    )
    assert (problem.type.name, problem.members) == (
        "duplicate-reference",
        {"existing_order_id": order["id"]},
    )
    problem = _refused(
        lambda: _order(world, "conf-a", _body(first, "REF-2", ("FULL", 5000, 0)), now)
    )
    assert (problem.type.name, problem.members) == (
        "hold-already-ordered",
        {"existing_order_id": order["id"]},
    )
    assert _count(world, Order) == 1


def test_an_expired_hold_is_ordered_after_a_recheck(conformance_world) -> None:
    """Section 17.4: the places are still free, the order comes from the expired hold."""
    world, now = conformance_world, conformance_world.now
    hold = _hold(
        world,
        "conf-b",
        [{"performance_id": "CONF-EVT-1", "category_id": "FREE", "quantity": 2}],
        now,
    )
    at = now + 11 * 60 * SECOND
    with world.session() as session:
        assert (
            _refused(lambda: get_hold(session, world.reseller("conf-b"), hold["id"], at)).type.name
            == "hold-expired"
        )
    order = _order(
        world, "conf-b", _body(hold, "REF-1", ("FULL", 3100, 100), ("FULL", 3100, 100)), at
    )
    assert (order["from_expired_hold"], order["status"], order["payment"]["amount"]) == (
        True,
        "confirmed",
        6000,
    )
    with world.session() as session:
        assert get_hold(session, world.reseller("conf-b"), hold["id"], at)["status"] == "ordered"


def test_a_released_hold_is_ordered_after_a_recheck(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    hold = _hold(world, "conf-a", _seats("CONF-RACE-1", "R-1-1"), now)
    with world.session() as session, session.begin():
        release_hold(session, world.reseller("conf-a"), hold["id"], now)
    order = _order(world, "conf-a", _body(hold, "REF-1", ("FULL", 5000, 0)), now + SECOND)
    assert order["from_expired_hold"] is True
    assert order["tickets"][0]["seat"]["id"] == "R-1-1"


def test_an_expired_hold_whose_places_are_gone_orders_nothing(conformance_world) -> None:
    """Section 17.4, step 4: the quota sold out meanwhile, or the seat went to another."""
    world, now = conformance_world, conformance_world.now
    counted = _hold(
        world,
        "conf-b",
        [{"performance_id": "CONF-EVT-1", "category_id": "FREE", "quantity": 2}],
        now,
    )
    seated = _hold(world, "conf-a", _seats("CONF-RACE-1", "R-1-1", "R-1-2"), now)
    at = now + 601 * SECOND
    _hold(
        world,
        "conf-b",
        [{"performance_id": "CONF-EVT-1", "category_id": "FREE", "quantity": 49}],
        at,
    )
    _hold(world, "conf-b", _seats("CONF-RACE-1", "R-1-2"), at)
    problem = _refused(
        lambda: _order(
            world, "conf-b", _body(counted, "REF-1", ("FULL", 3100, 100), ("FULL", 3100, 100)), at
        )
    )
    assert (problem.type.name, problem.status) == ("places-unavailable", 409)
    assert [(e["pointer"], e["reason"], e.get("available")) for e in problem.errors] == [
        ("#/lines/1/hold_place_id", "not_enough_places", 0)
    ]
    body = _body(seated, "REF-2", ("FULL", 5000, 0), ("FULL", 5000, 0))
    body["lines"].reverse()
    problem = _refused(lambda: _order(world, "conf-a", body, at))
    assert [(e["pointer"], e["reason"]) for e in problem.errors] == [
        ("#/lines/0/hold_place_id", "seat_held")
    ]
    assert _count(world, Order) == _count(world, Ticket) == 0


def test_the_sale_window_binds_only_an_ended_hold(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    closes_at = now + dt.timedelta(days=60)
    active = _hold(
        world, "conf-a", _seats("CONF-RACE-1", "R-1-1"), closes_at - 60 * SECOND, expires_in=600
    )
    ended = _hold(
        world, "conf-a", _seats("CONF-RACE-1", "R-1-2"), closes_at - 60 * SECOND, expires_in=30
    )
    at = closes_at + 10 * SECOND
    problem = _refused(
        lambda: _order(world, "conf-a", _body(ended, "REF-2", ("FULL", 5000, 0)), at)
    )
    assert (problem.type.name, problem.status) == ("sale-closed", 409)
    order = _order(world, "conf-a", _body(active, "REF-1", ("FULL", 5000, 0)), at)
    assert order["from_expired_hold"] is False


def test_a_price_with_no_box_office_price_is_a_difference(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    hold = _hold(world, "conf-a", _seats("CONF-RACE-1", "R-1-1"), now)
    with world.session() as session, session.begin():
        session.execute(update(Price).where(Price.amount == 5000).values(amount=5200))
    problem = _refused(
        lambda: _order(world, "conf-a", _body(hold, "REF-1", ("FULL", 5000, 0)), now)
    )
    assert [(e["expected"], e["actual"]) for e in problem.errors] == [(5200, 5000)]


def test_orders_changed_are_listed_by_change_then_id_in_pages(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    made = []
    for n, (reseller, seat) in enumerate(
        [("conf-a", "A-1-1"), ("conf-a", "A-1-2"), ("conf-b", "B-1-1"), ("conf-a", "A-1-3")]
    ):
        at = now + n * SECOND
        hold = _hold(world, reseller, _seats("CONF-EVT-1", seat), at)
        made.append(_order(world, reseller, _body(hold, f"REF-{n}", ("FULL", 6500, 0)), at))
    reseller = world.reseller("conf-a")
    with world.session() as session:
        page, position = orders_changed(
            session,
            reseller,
            changed_since=now + SECOND,
            after=None,
            reseller_order_ref=None,
            limit=1,
        )
        assert [o["id"] for o in page] == [made[1]["id"]]
        assert position == (now + SECOND, made[1]["id"])
        page, position = orders_changed(
            session,
            reseller,
            changed_since=now + SECOND,
            after=position,
            reseller_order_ref=None,
            limit=1,
        )
        assert ([o["id"] for o in page], position) == ([made[3]["id"]], None)
        page, position = orders_changed(
            session,
            reseller,
            changed_since=None,
            after=None,
            reseller_order_ref="REF-0",
            limit=100,
        )
        assert (page, position) == ([made[0]], None)
        page, _ = orders_changed(
            session,
            reseller,
            changed_since=None,
            after=None,
            reseller_order_ref="REF-2",
            limit=100,
        )
        assert page == []


def test_an_order_stamped_before_expiry_but_served_after_a_takeover_rechecks(
    conformance_world,
) -> None:
    """Requests' clocks are taken before their locks: once a request took an expired hold's
    places, a later-served order stamped before ``expires_at`` re-checks instead of selling
    those places twice (G1)."""
    world, now = conformance_world, conformance_world.now
    counted = _hold(
        world,
        "conf-b",
        [{"performance_id": "CONF-EVT-1", "category_id": "FREE", "quantity": 2}],
        now,
        expires_in=10,
    )
    seated = _hold(world, "conf-a", _seats("CONF-RACE-1", "R-1-1"), now, expires_in=10)
    at_expiry = now + 10 * SECOND
    _hold(
        world,
        "conf-b",
        [{"performance_id": "CONF-EVT-1", "category_id": "FREE", "quantity": 49}],
        at_expiry,
    )
    _hold(world, "conf-b", _seats("CONF-RACE-1", "R-1-1"), at_expiry)
    stamped_before = now + 9 * SECOND
    problem = _refused(
        lambda: _order(
            world,
            "conf-b",
            _body(counted, "REF-1", ("FULL", 3100, 100), ("FULL", 3100, 100)),
            stamped_before,
        )
    )
    assert [(e["reason"], e.get("available")) for e in problem.errors] == [("not_enough_places", 0)]
    problem = _refused(
        lambda: _order(world, "conf-a", _body(seated, "REF-2", ("FULL", 5000, 0)), stamped_before)
    )
    assert [e["reason"] for e in problem.errors] == ["seat_held"]
    free = _category(world, "conf-b", "CONF-EVT-1", "FREE", stamped_before)
    assert (free["held"], free["sold"], free["quota"]) == (49, 0, 50)
