"""Two holds naming the same seats in opposite orders, at once, on PostgreSQL: one wins, the
other is refused (``409 places-unavailable``), never a deadlock nor a ``5xx``
(realtime-api-v1, sections 8 and 15). And the service runs again a transaction that the
database rolled back for a deadlock."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from reseller_sync.boxoffice.models import RealtimeReseller
from reseller_sync.realtime.app import create_app
from reseller_sync.realtime.holds import create_hold, release_hold
from reseller_sync.realtime.http_ratelimit import MemoryTokenBuckets
from reseller_sync.realtime.http_service import TRANSACTION_ATTEMPTS, Answer, Service
from reseller_sync.realtime.problems import Problem

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_kind", ["postgresql"], indirect=True),
]

ROUNDS = 25
SEATS = ("R-1-2", "R-1-4")
"""Two seats of ``CONF-RACE-1``, in the quota both conformance resellers share."""


def _together(works: list[Callable[[], Any]]) -> list[Any]:
    """Run each work in its own thread, started together; what each returned or raised."""
    start = threading.Barrier(len(works))
    results: list[Any] = [None] * len(works)

    def body(i: int) -> None:
        start.wait()
        try:
            results[i] = works[i]()
        except BaseException as error:  # reported by the test
            results[i] = error

    threads = [threading.Thread(target=body, args=(i,)) for i in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _lines(seats: tuple[str, ...]) -> dict[str, Any]:
    return {"lines": [{"performance_id": "CONF-RACE-1", "seat_id": seat} for seat in seats]}


def test_store_holds_of_the_same_seats_in_opposite_orders_never_deadlock(
    conformance_world: Any,
) -> None:
    world, now = conformance_world, conformance_world.now + dt.timedelta(minutes=5)
    resellers = [world.reseller("conf-a"), world.reseller("conf-b")]

    def hold(i: int) -> Callable[[], Any]:
        def work() -> Any:
            seats = SEATS if i == 0 else tuple(reversed(SEATS))
            try:
                with world.session() as session, session.begin():
                    return create_hold(session, resellers[i], _lines(seats), now)
            except Problem as problem:
                return problem

        return work

    for _ in range(ROUNDS):
        results = _together([hold(0), hold(1)])
        won = [(i, r) for i, r in enumerate(results) if isinstance(r, dict)]
        refused = [r for r in results if isinstance(r, Problem)]
        assert len(won) == 1, results
        assert len(refused) == 1, results
        assert refused[0].type.name == "places-unavailable"
        assert {error["reason"] for error in refused[0].errors} == {"seat_held"}
        i, winner = won[0]
        assert [place["seat"]["id"] for place in winner["places"]] == list(
            SEATS if i == 0 else reversed(SEATS)
        )
        assert [place["id"] for place in winner["places"]] == ["HP1", "HP2"]
        with world.session() as session, session.begin():
            release_hold(session, resellers[i], winner["id"], now)


def test_http_holds_of_the_same_seats_in_opposite_orders_answer_201_and_409(
    conformance_world: Any,
) -> None:
    world = conformance_world
    now = world.now + dt.timedelta(minutes=5)
    app = create_app(world.engine, clock=lambda: now, rate_limiter=MemoryTokenBuckets())
    keys = [world.keys["conf-a"], world.keys["conf-b"]]

    def request(method: str, path: str, key: str, body: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"}
        content = None
        if body is not None:
            headers |= {"Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"}
            content = json.dumps(body)

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://box") as client:
                return await client.request(
                    method, "/realtime/v1" + path, headers=headers, content=content
                )

        return asyncio.run(go())

    statuses: Counter[int] = Counter()
    for _ in range(ROUNDS):
        results = _together(
            [
                lambda: request("POST", "/holds", keys[0], _lines(SEATS)),
                lambda: request("POST", "/holds", keys[1], _lines(tuple(reversed(SEATS)))),
            ]
        )
        assert all(isinstance(r, httpx.Response) for r in results), results
        codes = sorted(r.status_code for r in results)
        statuses.update(codes)
        assert codes == [201, 409], [r.text for r in results]
        winner = next(i for i, r in enumerate(results) if r.status_code == 201)
        loser = results[1 - winner].json()
        assert loser["type"].endswith(":places-unavailable")
        assert (
            request("DELETE", f"/holds/{results[winner].json()['id']}", keys[winner]).status_code
            == 204
        )
    assert statuses == {201: ROUNDS, 409: ROUNDS}


def test_the_service_runs_again_a_transaction_the_database_rolled_back_for_a_deadlock(
    conformance_world: Any,
) -> None:
    """Two writes lock the same two rows in opposite orders, both having taken their first
    lock before either asks for its second: PostgreSQL rolls one back (deadlock detected);
    the service runs it again, and both succeed."""
    world = conformance_world
    service = Service(world.engine, lambda: world.now, MemoryTokenBuckets())
    with world.session() as session:
        codes = list(
            session.scalars(
                select(RealtimeReseller.reseller_code).order_by(RealtimeReseller.reseller_code)
            )
        )
    assert len(codes) >= 2
    first_locks = threading.Barrier(2, timeout=30)
    runs: Counter[int] = Counter()
    guard = threading.Lock()

    def work(i: int) -> Callable[[], Answer]:
        order = codes[:2] if i == 0 else list(reversed(codes[:2]))

        def run(session: Any, _now: dt.datetime) -> Answer:
            with guard:
                runs[i] += 1
                first_run = runs[i] == 1
            lock = text(
                "SELECT reseller_code FROM realtime_reseller WHERE reseller_code = :code FOR UPDATE"
            )
            session.execute(lock, {"code": order[0]})
            if first_run:
                first_locks.wait()
            session.execute(lock, {"code": order[1]})
            return Answer(204)

        return lambda: service.write(run)

    results = _together([work(0), work(1)])
    assert [r.status if isinstance(r, Answer) else r for r in results] == [204, 204]
    assert sorted(runs.values()) == [1, 2]
    assert TRANSACTION_ATTEMPTS >= 2
