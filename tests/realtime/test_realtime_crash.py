"""A service process killed mid-order leaves nothing half done (realtime-api-v1, section 8
G3 and G6, section 6), on PostgreSQL.

The test holds the reseller's pending-account row ``FOR UPDATE``: ``POST /orders`` inserts
the order and its tickets, then waits inside its transaction to book the sale on that
account. The process is killed (SIGKILL) while it waits, the lock released: no order,
ticket, access-control entry, booking or idempotency record is left, and the hold is still
active and whole. The same request with the same ``Idempotency-Key`` on a fresh process
succeeds exactly once (its replay says so).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    Order,
    PendingAccount,
    PendingAccountMovement,
    RealtimeHold,
    RealtimeHoldPlace,
    RealtimeIdempotency,
    RealtimeOrder,
    RealtimeReseller,
    Ticket,
)
from reseller_sync.realtime.conformance import load_conformance_data
from tests.realtime.realtime_processes import (
    ServeProcess,
    personal_data_in_store,
    post_headers,
    raise_rate_limits,
    send_refused_bodies,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_kind", ["postgresql"], indirect=True),
]


def _wait_for(condition: Any, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(0.05)


def _waiting_backend(connection: Connection) -> int | None:
    """The backend of this database waiting for a row lock (the order), if any."""
    pid: int | None = connection.execute(
        text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
        )
    ).scalar()
    return pid


def _wrote_tickets(connection: Connection, pid: int) -> bool:
    """Whether that backend's transaction has written to the ticket table already."""
    return bool(
        connection.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE pid = :pid AND relation = 'ticket'::regclass"
                " AND mode = 'RowExclusiveLock'"
            ),
            {"pid": pid},
        ).scalar()
    )


def _other_backends(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid()"
                )
            ).scalar()
            or 0
        )


def _counts(engine: Engine, reference: str, key: str) -> dict[str, int]:
    with Session(engine) as session:

        def count(model: Any, *conditions: Any) -> int:
            return int(
                session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0
            )

        return {
            "orders": count(Order, Order.reseller_order_id == reference),
            "realtime orders": count(RealtimeOrder),
            "tickets": count(Ticket),
            "access control": count(AccessControlEntry),
            "bookings": count(PendingAccountMovement),
            "idempotency": count(RealtimeIdempotency, RealtimeIdempotency.idempotency_key == key),
        }


def test_a_process_killed_mid_order_leaves_nothing_and_the_retry_succeeds_once(
    boxoffice_url: str, boxoffice_engine: Engine, tmp_path: Path
) -> None:
    with Session(boxoffice_engine) as session, session.begin():
        keys = load_conformance_data(session, dt.datetime.now(dt.UTC))
        contact = session.scalar(
            select(RealtimeReseller.contact_id).where(RealtimeReseller.reseller_code == "conf-a")
        )
        account = session.scalar(
            select(PendingAccount.id).where(PendingAccount.contact_id == contact)
        )
    raise_rate_limits(boxoffice_engine)
    key = keys["conf-a"]
    idempotency_key = str(uuid.uuid4())
    reference = f"CRASH-{uuid.uuid4().hex[:12]}"
    answers: list[Any] = []

    doomed = ServeProcess(boxoffice_url, tmp_path / "doomed.log")
    with doomed:
        held = httpx.post(
            doomed.base + "/holds",
            json={"lines": [{"performance_id": "CONF-EVT-1", "seat_id": "A-1-1"},
                            {"performance_id": "CONF-EVT-1", "category_id": "FREE",
                             "quantity": 2}]},
            headers=post_headers(key),
            timeout=10,
        )  # fmt: skip
        assert held.status_code == 201, held.text
        hold = held.json()
        body: dict[str, Any] = {
            "hold_id": hold["id"],
            "reseller_order_ref": reference,
            "sold_at": "2026-12-02T13:00:00+01:00",
            "currency": "EUR",
            "lines": [
                {"hold_place_id": place["id"], "tariff_id": "FULL",
                 "price": 6500 if place["seat"] else 3000, "commission": 0,
                 "beneficiary": {"first_name": "Zoé", "last_name": "Crash"}}
                for place in hold["places"]
            ],
        }  # fmt: skip
        headers = post_headers(key, idempotency_key)

        def send_order() -> None:
            try:
                answers.append(
                    httpx.post(doomed.base + "/orders", json=body, headers=headers, timeout=60)
                )
            except httpx.TransportError as error:
                answers.append(error)

        with boxoffice_engine.connect() as blocker:
            blocker.execute(
                select(PendingAccount.id).where(PendingAccount.id == account).with_for_update()
            )
            sender = threading.Thread(target=send_order)
            sender.start()
            with boxoffice_engine.connect() as observer:
                _wait_for(lambda: _waiting_backend(observer) is not None, "the order waits")
                pid = _waiting_backend(observer)
                assert pid is not None
                assert _wrote_tickets(observer, pid), "the order had not written its tickets"
            doomed.kill()
            blocker.rollback()
        sender.join(timeout=30)
        assert len(answers) == 1
        assert isinstance(answers[0], httpx.TransportError), answers[0]

    # The killed process's backends end once they see their client gone.
    boxoffice_engine.dispose()  # this test's own idle connections too
    _wait_for(lambda: _other_backends(boxoffice_engine) == 0, "the dead process's sessions end")
    assert _counts(boxoffice_engine, reference, idempotency_key) == {
        "orders": 0, "realtime orders": 0, "tickets": 0, "access control": 0,
        "bookings": 0, "idempotency": 0,
    }  # fmt: skip
    with Session(boxoffice_engine) as session:
        stored_hold = session.scalars(
            select(RealtimeHold).where(RealtimeHold.public_id == hold["id"])
        ).one()
        assert stored_hold.order_id is None
        assert stored_hold.released_at is None
        places = session.scalars(
            select(RealtimeHoldPlace).where(RealtimeHoldPlace.hold_id == stored_hold.id)
        ).all()
        assert len(places) == 3
        assert [place.ticket_id for place in places] == [None, None, None]
        assert [place.recorded_amount for place in places] == [None, None, None]
        assert sum(place.seat_claim is not None for place in places) == 1

    with ServeProcess(boxoffice_url, tmp_path / "fresh.log") as fresh:
        with httpx.Client(base_url=fresh.base, timeout=20) as http:
            auth = {"Authorization": f"Bearer {key}"}
            assert http.get(f"/holds/{hold['id']}", headers=auth).json()["status"] == "active"
            first = http.post("/orders", json=body, headers=headers)
            assert first.status_code == 201, first.text
            assert "idempotent-replayed" not in first.headers
            replay = http.post("/orders", json=body, headers=headers)
            assert replay.status_code == 201
            assert replay.headers["idempotent-replayed"] == "true"
            assert replay.json() == first.json()
            order = first.json()
            assert len(order["tickets"]) == 3
            assert order["payment"]["amount"] == 6500 + 2 * 3000
            assert http.get(f"/orders/{order['id']}", headers=auth).status_code == 200
        send_refused_bodies(fresh.base, key, hold["id"], "HP1")

    assert _counts(boxoffice_engine, reference, idempotency_key) == {
        "orders": 1, "realtime orders": 1, "tickets": 3, "access control": 3,
        "bookings": 1, "idempotency": 1,
    }  # fmt: skip
    assert personal_data_in_store(boxoffice_engine) == []
