"""Races at a hold's expiry, on PostgreSQL (realtime-api-v1, section 8, G1, G4 and G5): the
order of a hold stamped just before its ``expires_at`` against requests stamped just after
it, which take its places over, all at once. Seats are taken by claims (no quota lock);
counted places under the quota's lock; an order of an active hold takes neither."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select
from test_realtime_race import _check_one_owner, _line, _order_body, _run

from reseller_sync.boxoffice.models import Performance
from reseller_sync.realtime.holds import create_hold
from reseller_sync.realtime.orders import create_order
from reseller_sync.realtime.places import place_counts, reseller_quotas
from reseller_sync.realtime.problems import Problem

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_kind", ["postgresql"], indirect=True),
]

EPSILON = dt.timedelta(milliseconds=1)
LIFETIME = 5


def _attempt(world: Any, call: Any, outcomes: list[str], name: str) -> None:
    try:
        with world.session() as session, session.begin():
            result = call(session)
        outcomes.append(name if not result.get("from_expired_hold") else f"{name} again")
    except Problem as problem:
        reasons = {error.get("reason") for error in problem.errors}
        outcomes.append(f"{problem.type.name}:{','.join(sorted(map(str, reasons)))}")


@pytest.mark.parametrize("round_", range(3))
def test_an_order_and_a_takeover_at_expiry_never_both_get_a_seat(conformance_world, round_) -> None:
    """Each of the five race seats is held, then ordered at ``expires_at - 1 ms`` while two
    holds per seat (both resellers) ask for it at ``expires_at + 1 ms``: per seat, the order
    or one hold gets it, never both."""
    world, start = conformance_world, conformance_world.now
    conf_a, conf_b = world.reseller("conf-a"), world.reseller("conf-b")
    seats = [f"R-1-{n}" for n in range(1, 6)]
    holds = []
    for seat in seats:
        with world.session() as session, session.begin():
            body = {"lines": [_line(seat)], "expires_in": LIFETIME}
            holds.append(create_hold(session, conf_a, body, start))
    expires_at = start + dt.timedelta(seconds=LIFETIME)
    before, after = expires_at - EPSILON, expires_at + EPSILON
    outcomes: list[str] = []

    def work(i: int) -> None:
        n = i % len(seats)
        if i < len(seats):
            body = _order_body(holds[n], f"EXP-{round_}-{n}", 5000)
            _attempt(world, lambda s: create_order(s, conf_a, body, before), outcomes, "ordered")
        else:
            reseller = conf_a if i % 2 else conf_b
            _attempt(
                world,
                lambda s: create_hold(s, reseller, {"lines": [_line(seats[n])]}, after),
                outcomes,
                "held",
            )

    assert _run(3 * len(seats), work) == []
    won = Counter(outcome for outcome in outcomes if outcome in ("ordered", "held"))
    assert won["ordered"] + won["held"] == len(seats), outcomes
    assert set(outcomes) <= {
        "ordered",
        "held",
        "places-unavailable:seat_held",
        "places-unavailable:seat_sold",
    }, outcomes
    _check_one_owner(world, after)


def test_an_order_and_counted_holds_at_expiry_never_pass_the_quota(conformance_world) -> None:
    """``conf-a``'s 50 free-placement places held by five holds of 10, each ordered at
    ``expires_at - 1 ms`` while eight holds of 10 ask at ``expires_at + 1 ms``: held and
    sold places never pass the quota, and every place goes to one of them."""
    world, start = conformance_world, conformance_world.now
    conf_a = world.reseller("conf-a")
    pit = {"performance_id": "CONF-EVT-1", "category_id": "FREE", "quantity": 10}
    holds = []
    for _ in range(5):
        with world.session() as session, session.begin():
            holds.append(create_hold(session, conf_a, {"lines": [pit], "expires_in": 5}, start))
    expires_at = start + dt.timedelta(seconds=LIFETIME)
    before, after = expires_at - EPSILON, expires_at + EPSILON
    outcomes: list[str] = []

    def work(i: int) -> None:
        if i < len(holds):
            body = _order_body(holds[i], f"PIT-{i}", 3000)
            body["lines"] = [{**line, "tariff_id": "FULL"} for line in body["lines"]]
            _attempt(world, lambda s: create_order(s, conf_a, body, before), outcomes, "ordered")
        else:
            _attempt(
                world, lambda s: create_hold(s, conf_a, {"lines": [pit]}, after), outcomes, "held"
            )

    assert _run(len(holds) + 8, work) == []
    won = Counter(outcomes)
    assert won["ordered"] + won["held"] == len(holds), outcomes
    with world.session() as session:
        evt = session.scalar(select(Performance.id).where(Performance.code == "CONF-EVT-1"))
        quotas = reseller_quotas(session, conf_a, [evt])
        free = [c for c in place_counts(session, [q.id for q in quotas], after) if c.block_id]
        assert free
        assert all(c.held + c.sold <= c.quota for c in free), free
        assert sum(c.held + c.sold for c in free) == 50, free
