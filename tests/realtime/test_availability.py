"""The availability of realtime-api-v1 (section 7.3) on the conformance data set: counts
inside the reseller's quota, held and sold by anyone, free seats on request."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from reseller_sync.realtime.availability import availability
from reseller_sync.realtime.holds import create_hold
from reseller_sync.realtime.orders import create_order
from reseller_sync.realtime.problems import Problem


def _availability(world: Any, reseller: str, performance: str, now: dt.datetime, seats: bool):
    with world.session() as session:
        return availability(
            session, world.reseller(reseller), performance, with_seats=seats, now=now
        )


def _hold(world: Any, reseller: str, lines: list[dict[str, Any]], now: dt.datetime, **more: Any):
    with world.session() as session, session.begin():
        return create_hold(session, world.reseller(reseller), {"lines": lines, **more}, now)


def test_counts_of_an_untouched_performance(conformance_world) -> None:
    world = conformance_world
    found = _availability(world, "conf-a", "CONF-EVT-1", world.now, seats=False)
    assert found == {
        "performance_id": "CONF-EVT-1",
        "as_of": "2026-12-02T12:00:00Z",
        "categories": [
            {
                "category_id": "CAT1",
                "placement": "seated",
                "quota_kind": "exclusive",
                "quota": 20,
                "held": 0,
                "sold": 0,
                "available": 20,
            },
            {
                "category_id": "FREE",
                "placement": "free",
                "quota_kind": "exclusive",
                "quota": 50,
                "held": 0,
                "sold": 0,
                "available": 50,
            },
        ],
    }
    passes = _availability(world, "conf-a", "CONF-PASS-1", world.now, seats=True)
    assert passes["categories"] == [
        {
            "category_id": "PASS",
            "placement": "none",
            "quota_kind": "exclusive",
            "quota": 100,
            "held": 0,
            "sold": 0,
            "available": 100,
        }
    ]


def test_seats_are_listed_only_when_asked_and_only_for_seated_categories(
    conformance_world,
) -> None:
    world = conformance_world
    found = _availability(world, "conf-b", "CONF-EVT-1", world.now, seats=True)
    cat1, free = found["categories"]
    assert [seat["id"] for seat in cat1["seats"]] == [f"B-1-{n}" for n in range(1, 21)]
    assert cat1["seats"][0] == {"id": "B-1-1", "area": "B", "row": "1", "number": "1"}
    assert "seats" not in free


def test_a_shared_quota_shows_everyone_s_holds_and_sales(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    sold = _hold(world, "conf-a", [{"performance_id": "CONF-RACE-1", "seat_id": "R-1-1"}], now)
    with world.session() as session, session.begin():
        create_order(
            session,
            world.reseller("conf-a"),
            {
                "hold_id": sold["id"],
                "reseller_order_ref": "REF-1",
                "sold_at": "2026-12-02T12:00:00Z",
                "currency": "EUR",
                "lines": [
                    {"hold_place_id": "HP1", "tariff_id": "FULL", "price": 5000, "commission": 0}
                ],
            },
            now,
        )
    _hold(world, "conf-b", [{"performance_id": "CONF-RACE-1", "seat_id": "R-1-3"}], now)
    for reseller in ("conf-a", "conf-b"):
        (last,) = _availability(world, reseller, "CONF-RACE-1", now, seats=True)["categories"]
        assert last == {
            "category_id": "LAST",
            "placement": "seated",
            "quota_kind": "shared",
            "quota": 5,
            "held": 1,
            "sold": 1,
            "available": 3,
            "seats": [
                {"id": f"R-1-{n}", "area": "R", "row": "1", "number": str(n)} for n in (2, 4, 5)
            ],
        }


def test_an_expired_hold_counts_no_more_without_the_sweep(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    _hold(
        world,
        "conf-a",
        [{"performance_id": "CONF-EVT-1", "category_id": "FREE", "quantity": 4}],
        now,
        expires_in=30,
    )
    at = now + dt.timedelta(seconds=29)
    free = _availability(world, "conf-b", "CONF-EVT-1", at, seats=False)["categories"][1]
    assert (free["held"], free["available"]) == (0, 50)  # conf-b's own quota of the pit
    free = _availability(world, "conf-a", "CONF-EVT-1", at, seats=False)["categories"][1]
    assert (free["held"], free["available"]) == (4, 46)
    at = now + dt.timedelta(seconds=30)
    free = _availability(world, "conf-a", "CONF-EVT-1", at, seats=False)["categories"][1]
    assert (free["held"], free["available"]) == (0, 50)


@pytest.mark.parametrize(
    ("reseller", "performance", "moved"),
    [
        ("conf-b", "CONF-PASS-1", dt.timedelta(0)),  # not on its channel, nor of its kinds
        ("conf-a", "NOPE-1", dt.timedelta(0)),
        ("conf-a", "CONF-EVT-1", dt.timedelta(days=61)),  # its sale window has closed
    ],
)
def test_a_performance_off_the_channel_is_not_found(
    conformance_world, reseller, performance, moved
) -> None:
    world = conformance_world
    with pytest.raises(Problem) as caught:
        _availability(world, reseller, performance, world.now + moved, seats=False)
    assert (caught.value.type.name, caught.value.status) == ("not-found", 404)
