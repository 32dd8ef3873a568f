"""Holds of realtime-api-v1 (section 7.4) on the conformance data set: all or nothing, the
reasons a place cannot be held, expiry by the caller's clock (G4) and the sweep."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, update

from reseller_sync.boxoffice.models import Price, RealtimeHold, RealtimeHoldPlace
from reseller_sync.realtime.availability import availability
from reseller_sync.realtime.holds import (
    create_hold,
    get_hold,
    release_hold,
    sweep_expired_holds,
)
from reseller_sync.realtime.orders import create_order
from reseller_sync.realtime.problems import Problem

SECOND = dt.timedelta(seconds=1)


def _hold(world: Any, reseller: str, lines: list[dict[str, Any]], now: dt.datetime, **more: Any):
    with world.session() as session, session.begin():
        return create_hold(session, world.reseller(reseller), {"lines": lines, **more}, now)


def _refused(call: Callable[[], Any]) -> Problem:
    with pytest.raises(Problem) as caught:
        call()
    return caught.value


def _category(world: Any, reseller: str, performance: str, category: str, now: dt.datetime):
    with world.session() as session:
        found = availability(
            session, world.reseller(reseller), performance, with_seats=True, now=now
        )
    return next(c for c in found["categories"] if c["category_id"] == category)


def _seat(performance: str, seat: str) -> dict[str, Any]:
    return {"performance_id": performance, "seat_id": seat}


def _count(performance: str, category: str, quantity: int) -> dict[str, Any]:
    return {"performance_id": performance, "category_id": category, "quantity": quantity}


def _order(world: Any, reseller: str, hold: dict[str, Any], now: dt.datetime, ref: str):
    body = {
        "hold_id": hold["id"],
        "reseller_order_ref": ref,
        "sold_at": "2026-12-02T13:00:00+01:00",
        "currency": "EUR",
        "lines": [
            {"hold_place_id": place["id"], "tariff_id": "FULL", "price": 5000, "commission": 0}
            for place in hold["places"]
        ],
    }
    with world.session() as session, session.begin():
        return create_order(session, world.reseller(reseller), body, now)


def test_a_hold_of_two_seats_takes_them_from_every_channel(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    hold = _hold(
        world,
        "conf-a",
        [_seat("CONF-EVT-1", "A-1-7"), _seat("CONF-EVT-1", "A-1-8")],
        now,
        expires_in=600,
    )
    assert hold["id"].startswith("H-")
    assert hold["status"] == "active"
    assert hold["created_at"] == "2026-12-02T12:00:00Z"
    assert hold["expires_at"] == "2026-12-02T12:10:00Z"
    assert hold["expires_in"] == 600
    assert hold["order_id"] is None
    assert hold["places"] == [
        {
            "id": "HP1",
            "line": 0,
            "performance_id": "CONF-EVT-1",
            "category_id": "CAT1",
            "seat": {"id": "A-1-7", "area": "A", "row": "1", "number": "7"},
        },
        {
            "id": "HP2",
            "line": 1,
            "performance_id": "CONF-EVT-1",
            "category_id": "CAT1",
            "seat": {"id": "A-1-8", "area": "A", "row": "1", "number": "8"},
        },
    ]
    cat1 = _category(world, "conf-a", "CONF-EVT-1", "CAT1", now)
    assert (cat1["quota"], cat1["held"], cat1["sold"], cat1["available"]) == (20, 2, 0, 18)
    assert "A-1-7" not in {seat["id"] for seat in cat1["seats"]}
    with world.session() as session:
        assert get_hold(session, world.reseller("conf-a"), hold["id"], now + SECOND) == {
            **hold,
            "expires_in": 599,
        }


def test_expires_in_defaults_to_600_seconds(conformance_world) -> None:
    hold = _hold(
        conformance_world, "conf-a", [_count("CONF-EVT-1", "FREE", 3)], conformance_world.now
    )
    assert hold["expires_in"] == 600
    assert hold["expires_at"] == "2026-12-02T12:10:00Z"
    assert [(p["id"], p["line"], p["category_id"], p["seat"]) for p in hold["places"]] == [
        ("HP1", 0, "FREE", None),
        ("HP2", 0, "FREE", None),
        ("HP3", 0, "FREE", None),
    ]
    free = _category(conformance_world, "conf-a", "CONF-EVT-1", "FREE", conformance_world.now)
    assert (free["held"], free["available"]) == (3, 47)


def test_a_category_line_takes_seats_side_by_side_in_one_row(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    _hold(world, "conf-a", [_seat("CONF-EVT-1", "A-1-2")], now)
    hold = _hold(world, "conf-a", [_count("CONF-EVT-1", "CAT1", 3)], now)
    assert [p["seat"]["id"] for p in hold["places"]] == ["A-1-3", "A-1-4", "A-1-5"]


def test_without_seats_side_by_side_the_box_office_order_decides(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    _hold(world, "conf-a", [_seat("CONF-RACE-1", "R-1-2"), _seat("CONF-RACE-1", "R-1-4")], now)
    hold = _hold(world, "conf-b", [_count("CONF-RACE-1", "LAST", 3)], now)
    assert [p["seat"]["id"] for p in hold["places"]] == ["R-1-1", "R-1-3", "R-1-5"]


def test_a_category_line_never_picks_a_seat_another_line_names(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    hold = _hold(
        world,
        "conf-a",
        [_count("CONF-RACE-1", "LAST", 2), _seat("CONF-RACE-1", "R-1-1")],
        now,
    )
    assert [(p["line"], p["seat"]["id"]) for p in hold["places"]] == [
        (0, "R-1-2"),
        (0, "R-1-3"),
        (1, "R-1-1"),
    ]


def test_the_last_seat_goes_to_one_reseller_only(conformance_world) -> None:
    """Section 17.2: the seat is held, then refused to the other reseller sharing it."""
    world, now = conformance_world, conformance_world.now
    _hold(world, "conf-a", [_count("CONF-RACE-1", "LAST", 4)], now)
    assert _category(world, "conf-b", "CONF-RACE-1", "LAST", now)["available"] == 1
    _hold(world, "conf-a", [_seat("CONF-RACE-1", "R-1-5")], now)
    problem = _refused(lambda: _hold(world, "conf-b", [_seat("CONF-RACE-1", "R-1-5")], now))
    assert problem.type.name == "places-unavailable"
    assert problem.status == 409
    assert [(e["pointer"], e["reason"]) for e in problem.errors] == [
        ("#/lines/0/seat_id", "seat_held")
    ]
    problem = _refused(lambda: _hold(world, "conf-b", [_count("CONF-RACE-1", "LAST", 1)], now))
    assert [(e["pointer"], e["reason"], e["available"]) for e in problem.errors] == [
        ("#/lines/0", "not_enough_places", 0)
    ]
    last = _category(world, "conf-b", "CONF-RACE-1", "LAST", now)
    assert (last["quota_kind"], last["held"], last["available"], last["seats"]) == (
        "shared",
        5,
        0,
        [],
    )


def test_a_hold_is_all_or_nothing_with_one_error_per_failing_line(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    sold = _hold(world, "conf-a", [_seat("CONF-RACE-1", "R-1-1")], now)
    _order(world, "conf-a", sold, now, "REF-SOLD")
    _hold(world, "conf-b", [_seat("CONF-RACE-1", "R-1-2")], now)
    problem = _refused(
        lambda: _hold(
            world,
            "conf-a",
            [
                _seat("CONF-EVT-1", "A-1-1"),
                _seat("CONF-RACE-1", "R-1-1"),
                _seat("CONF-RACE-1", "R-1-2"),
                _seat("CONF-EVT-1", "B-1-1"),
                _count("CONF-EVT-1", "FREE", 51),
                _count("CONF-EVT-1", "FREE", 2),
            ],
            now,
        )
    )
    assert problem.type.name == "places-unavailable"
    assert problem.detail == "4 of 6 lines cannot be held; nothing was held"
    assert [(e["pointer"], e["reason"], e.get("available")) for e in problem.errors] == [
        ("#/lines/1/seat_id", "seat_sold", None),
        ("#/lines/2/seat_id", "seat_held", None),
        ("#/lines/3/seat_id", "seat_not_in_quota", None),
        ("#/lines/4", "not_enough_places", 50),
    ]
    assert _category(world, "conf-a", "CONF-EVT-1", "CAT1", now)["held"] == 0
    assert _category(world, "conf-a", "CONF-EVT-1", "FREE", now)["held"] == 0


def test_unknown_performances_seats_and_categories(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    problem = _refused(
        lambda: _hold(
            world,
            "conf-b",
            [_count("CONF-EVT-1", "FREE", 1), _count("CONF-PASS-1", "PASS", 1)],
            now,
        )
    )
    assert (problem.type.name, problem.status) == ("not-found", 404)
    assert [e["pointer"] for e in problem.errors] == ["#/lines/1/performance_id"]
    problem = _refused(
        lambda: _hold(
            world,
            "conf-a",
            [
                _seat("CONF-EVT-1", "A-1-99"),
                _count("CONF-EVT-1", "LAST", 1),
                _count("CONF-EVT-1", "NOPE", 1),
                _seat("CONF-PASS-1", "A-1-1"),
            ],
            now,
        )
    )
    assert (problem.type.name, problem.status) == ("validation-failed", 422)
    assert [(e["pointer"], e["reason"]) for e in problem.errors] == [
        ("#/lines/0/seat_id", "unknown_seat"),
        ("#/lines/1/category_id", "unknown_category"),
        ("#/lines/2/category_id", "unknown_category"),
        ("#/lines/3/seat_id", "unknown_seat"),
    ]


def test_lines_on_products_of_two_currencies_are_refused(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    with world.session() as session, session.begin():
        session.execute(update(Price).values(currency="CHF").where(Price.amount == 2000))
    problem = _refused(
        lambda: _hold(
            world,
            "conf-a",
            [_count("CONF-EVT-1", "FREE", 1), _count("CONF-PASS-1", "PASS", 1)],
            now,
        )
    )
    assert problem.type.name == "validation-failed"
    assert [(e["pointer"], e["reason"]) for e in problem.errors] == [
        ("#/lines/1/performance_id", "mixed_currencies")
    ]


@pytest.mark.parametrize("moved", [-dt.timedelta(days=2), dt.timedelta(days=60)])
def test_outside_the_sale_window_the_sale_is_closed(conformance_world, moved) -> None:
    world = conformance_world
    problem = _refused(
        lambda: _hold(world, "conf-a", [_count("CONF-EVT-1", "FREE", 1)], world.now + moved)
    )
    assert (problem.type.name, problem.status) == ("sale-closed", 409)


def test_a_hold_expires_exactly_at_expires_at_without_the_sweep(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    hold = _hold(world, "conf-a", [_seat("CONF-RACE-1", "R-1-1")], now, expires_in=5)
    just_before = now + 5 * SECOND - dt.timedelta(microseconds=1)
    with world.session() as session:
        assert (
            get_hold(session, world.reseller("conf-a"), hold["id"], just_before)["expires_in"] == 0
        )
        problem = _refused(
            lambda: get_hold(session, world.reseller("conf-a"), hold["id"], now + 5 * SECOND)
        )
    assert (problem.type.name, problem.status) == ("hold-expired", 410)
    refused = _refused(lambda: _hold(world, "conf-b", [_seat("CONF-RACE-1", "R-1-1")], just_before))
    assert refused.errors[0]["reason"] == "seat_held"
    assert _category(world, "conf-b", "CONF-RACE-1", "LAST", now + 5 * SECOND)["available"] == 5
    taken = _hold(world, "conf-b", [_seat("CONF-RACE-1", "R-1-1")], now + 5 * SECOND)
    assert taken["places"][0]["seat"]["id"] == "R-1-1"
    with world.session() as session:
        claims = dict(
            session.execute(
                select(RealtimeHold.public_id, RealtimeHoldPlace.seat_claim).join(
                    RealtimeHold, RealtimeHoldPlace.hold_id == RealtimeHold.id
                )
            ).all()
        )
    assert claims[hold["id"]] is None
    assert claims[taken["id"]] is not None


def test_get_hold_answers_404_for_another_reseller_unknown_or_forgotten(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    hold = _hold(world, "conf-a", [_count("CONF-EVT-1", "FREE", 1)], now, expires_in=60)
    with world.session() as session:
        for reseller, hold_id, at in (
            ("conf-b", hold["id"], now),
            ("conf-a", "H-999999", now),
            ("conf-a", hold["id"], now + 60 * SECOND + dt.timedelta(hours=24)),
        ):
            with pytest.raises(Problem) as caught:
                get_hold(session, world.reseller(reseller), hold_id, at)
            assert (caught.value.type.name, caught.value.status) == ("not-found", 404)
        just_before = now + 60 * SECOND + dt.timedelta(hours=24) - SECOND
        assert (
            _refused(
                lambda: get_hold(session, world.reseller("conf-a"), hold["id"], just_before)
            ).type.name
            == "hold-expired"
        )


def test_release_gives_the_places_back_and_can_be_retried(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    hold = _hold(
        world, "conf-a", [_seat("CONF-RACE-1", "R-1-1"), _count("CONF-EVT-1", "FREE", 2)], now
    )
    reseller = world.reseller("conf-a")
    for _ in range(2):
        with world.session() as session, session.begin():
            release_hold(session, reseller, hold["id"], now + SECOND)
    assert _category(world, "conf-b", "CONF-RACE-1", "LAST", now + SECOND)["available"] == 5
    assert _category(world, "conf-a", "CONF-EVT-1", "FREE", now + SECOND)["available"] == 50
    with world.session() as session:
        problem = _refused(lambda: get_hold(session, reseller, hold["id"], now + SECOND))
        assert (problem.type.name, problem.status) == ("hold-released", 410)
        assert session.scalars(select(RealtimeHoldPlace.seat_claim)).all() == [None, None, None]
        problem = _refused(lambda: release_hold(session, world.reseller("conf-b"), hold["id"], now))
        assert problem.type.name == "not-found"
    _hold(world, "conf-b", [_seat("CONF-RACE-1", "R-1-1")], now + SECOND)


def test_release_of_an_ordered_or_expired_hold_is_refused(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    reseller = world.reseller("conf-a")
    ordered = _hold(world, "conf-a", [_seat("CONF-RACE-1", "R-1-1")], now)
    order = _order(world, "conf-a", ordered, now, "REF-1")
    expired = _hold(world, "conf-a", [_seat("CONF-RACE-1", "R-1-2")], now, expires_in=5)
    with world.session() as session:
        problem = _refused(lambda: release_hold(session, reseller, ordered["id"], now))
        assert (problem.type.name, problem.status) == ("hold-already-ordered", 409)
        assert problem.members == {"existing_order_id": order["id"]}
        problem = _refused(lambda: release_hold(session, reseller, expired["id"], now + 5 * SECOND))
        assert (problem.type.name, problem.status) == ("hold-expired", 410)
        shown = get_hold(session, reseller, ordered["id"], now + dt.timedelta(days=3))
    assert (shown["status"], shown["order_id"]) == ("ordered", order["id"])


def test_the_sweep_counts_each_expired_hold_once(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    for expires_in in (5, 10, 600):
        _hold(world, "conf-a", [_count("CONF-EVT-1", "FREE", 1)], now, expires_in=expires_in)
    released = _hold(world, "conf-a", [_seat("CONF-RACE-1", "R-1-3")], now, expires_in=5)
    expiring_seat = _hold(world, "conf-b", [_seat("CONF-RACE-1", "R-1-4")], now, expires_in=5)
    with world.session() as session, session.begin():
        release_hold(session, world.reseller("conf-a"), released["id"], now)
    with world.session() as session, session.begin():
        result = sweep_expired_holds(session, now + 5 * SECOND)
    assert (result.expired, result.active) == (2, 2)
    with world.session() as session, session.begin():
        claim = session.scalar(
            select(RealtimeHoldPlace.seat_claim)
            .join(RealtimeHold, RealtimeHoldPlace.hold_id == RealtimeHold.id)
            .where(RealtimeHold.public_id == expiring_seat["id"])
        )
        assert claim is None
        result = sweep_expired_holds(session, now + 10 * SECOND)
    assert (result.expired, result.active) == (1, 1)
    with world.session() as session, session.begin():
        result = sweep_expired_holds(session, now + 10 * SECOND)
    assert (result.expired, result.active) == (0, 1)
