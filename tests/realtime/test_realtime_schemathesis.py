"""The service against its own OpenAPI document (realtime-api-v1), served by a real uvicorn.

- schemathesis generates requests, valid and invalid per the document, for every operation,
  authenticated with a conformance key: no ``5xx``, and every answer has a documented status,
  content type, headers and body schema; a request the document forbids is refused.
- Every documented status of every operation is reached by a request crafted for it (the
  ``500`` by a clock that fails, the ``503`` by a service whose store is gone): the test
  lists the (operation, status) pairs never reached, and the statuses answered that the
  document lacks.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import update
from sqlalchemy.orm import Session

from reseller_sync.boxoffice import migrate
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import RealtimeReseller
from reseller_sync.realtime.app import create_app
from reseller_sync.realtime.conformance import load_conformance_data
from reseller_sync.realtime.http_auth import Authenticator
from tests.realtime.realtime_processes import ServerThread

PREFIX = "/realtime/v1"
MAX_EXAMPLES = 12
"""Per operation and generation mode: the whole file stays well under two minutes."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


class MovableClock:
    """The box-office clock: real time plus an offset; ``failing`` makes it raise (a fault)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)
        self.failing = False

    def __call__(self) -> dt.datetime:
        if self.failing:
            raise RuntimeError("injected fault: the clock is unreadable")
        return dt.datetime.now(dt.UTC) + self.offset


@dataclass
class Live:
    origin: str
    """``http://127.0.0.1:PORT`` of the service on the conformance data set."""
    broken_origin: str
    """The same service whose store cannot be opened."""
    keys: dict[str, str]
    clock: MovableClock
    authenticator: Authenticator
    engine: Any

    @property
    def base(self) -> str:
        return self.origin + PREFIX

    def set_reseller(self, code: str, **values: Any) -> None:
        """Change a reseller's settings, seen by the service at its next request."""
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(RealtimeReseller)
                .where(RealtimeReseller.reseller_code == code)
                .values(**values)
            )
        self.authenticator.forget()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The conformance data set (section 16) on SQLite, served by uvicorn; the rate limits
    raised so that the generated requests are not all ``429``; beside it the same service
    on a store that cannot be opened."""
    folder: Path = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite:///{folder / 'boxoffice.sqlite'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        keys = load_conformance_data(session, dt.datetime.now(dt.UTC))
        session.execute(update(RealtimeReseller).values(rate_per_second=1000, burst=2000))
    clock = MovableClock()
    authenticator = Authenticator(engine)
    app = create_app(engine, clock=clock, authenticator=authenticator)
    broken = make_engine(f"sqlite:///{folder / 'missing' / 'boxoffice.sqlite'}")
    with ServerThread(app) as origin, ServerThread(create_app(broken)) as broken_origin:
        yield Live(origin, broken_origin, keys, clock, authenticator, engine)
    engine.dispose()
    broken.dispose()


def _document() -> dict[str, Any]:
    """The OpenAPI document the service generates (the one it serves: checked below)."""
    return create_app(make_engine("sqlite://")).openapi()


schema = schemathesis.openapi.from_dict(_document())
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
)


KNOWN_IDS = {
    "product_id": ["CONF-EVT", "CONF-RACE", "CONF-PASS"],
    "performance_id": ["CONF-EVT-1", "CONF-RACE-1", "CONF-PASS-1"],
    "hold_id": ["H-1", "H-2"],
    "order_id": ["O-1"],
}
"""Ids of the conformance data set (and of the first holds and order made), so that some
generated requests reach past the ``404`` of an unknown id."""


@schema.hook
def flatmap_path_parameters(_context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """Half the generated path parameters replaced by ids that exist."""
    if not path_parameters:
        return st.just(path_parameters)
    known = {
        name: st.sampled_from(KNOWN_IDS[name]) for name in path_parameters if name in KNOWN_IDS
    }
    if not known:
        return st.just(path_parameters)
    return st.one_of(st.just(path_parameters), st.fixed_dictionaries(known))


def test_the_served_document_is_the_one_tested(live: Live) -> None:
    assert httpx.get(live.base + "/openapi.json", timeout=10).json() == _document()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_get_documented_answers_and_no_5xx(case: Any, live: Live) -> None:
    case.call_and_validate(
        base_url=live.origin,
        headers={"Authorization": f"Bearer {live.keys['conf-a']}"},
        checks=CHECKS,
        timeout=10,
    )


# --------------------------------------------------------------- every documented status

Operation = tuple[str, str]
"""(method, path template) as in the OpenAPI document."""

HEALTH: Operation = ("GET", PREFIX + "/health")
PRODUCTS: Operation = ("GET", PREFIX + "/products")
PRODUCT: Operation = ("GET", PREFIX + "/products/{product_id}")
AVAILABILITY: Operation = ("GET", PREFIX + "/performances/{performance_id}/availability")
POST_HOLDS: Operation = ("POST", PREFIX + "/holds")
GET_HOLD: Operation = ("GET", PREFIX + "/holds/{hold_id}")
DELETE_HOLD: Operation = ("DELETE", PREFIX + "/holds/{hold_id}")
POST_ORDERS: Operation = ("POST", PREFIX + "/orders")
LIST_ORDERS: Operation = ("GET", PREFIX + "/orders")
GET_ORDER: Operation = ("GET", PREFIX + "/orders/{order_id}")
POST_CANCELLATIONS: Operation = ("POST", PREFIX + "/orders/{order_id}/cancellations")
POSTS = (POST_HOLDS, POST_ORDERS, POST_CANCELLATIONS)


@dataclass
class Driver:
    """Sends crafted requests and records the (operation, status) pairs they reached."""

    live: Live
    reached: dict[tuple[Operation, int], str] = field(default_factory=dict)

    def send(
        self,
        operation: Operation,
        *,
        key: str | None = "conf-a",
        origin: str | None = None,
        path: dict[str, str] | None = None,
        body: Any = None,
        idempotency: bool = True,
        **options: Any,
    ) -> httpx.Response:
        method, template = operation
        url = (origin or self.live.origin) + template.format(**(path or {}))
        headers: dict[str, str] = dict(options.pop("headers", {}))
        if key is not None:
            headers.setdefault("Authorization", f"Bearer {self.live.keys.get(key, key)}")
        if method == "POST" and idempotency:
            headers.setdefault("Idempotency-Key", str(uuid.uuid4()))
        if body is not None:
            options["json"] = body
        response = httpx.request(method, url, headers=headers, timeout=10, **options)
        self.reached.setdefault((operation, response.status_code), response.text[:200])
        return response

    def every(self, operations: list[Operation], ids: dict[str, str], **options: Any) -> None:
        for operation in operations:
            extra = dict(options)
            if operation == LIST_ORDERS:
                extra["params"] = {"changed_since": "2026-01-01T00:00:00Z"}
            self.send(operation, path=ids, body=_minimal_body(operation), **extra)


def _minimal_body(operation: Operation) -> dict[str, Any] | None:
    if operation == POST_HOLDS:
        return {"lines": [{"performance_id": "CONF-EVT-1", "category_id": "FREE", "quantity": 1}]}
    if operation == POST_ORDERS:
        return _order_body("H-0", ["HP1"])
    if operation == POST_CANCELLATIONS:
        return _cancellation_body()
    return None


def _order_body(hold_id: str, places: list[str], **changes: Any) -> dict[str, Any]:
    return {
        "hold_id": hold_id,
        "reseller_order_ref": f"SCHEMA-{uuid.uuid4().hex[:12]}",
        "sold_at": "2026-12-02T13:00:00+01:00",
        "currency": "EUR",
        "lines": [
            {"hold_place_id": place, "tariff_id": "FULL", "price": 6500, "commission": 0}
            for place in places
        ],
        **changes,
    }


def _cancellation_body(**changes: Any) -> dict[str, Any]:
    return {
        "reseller_cancellation_ref": f"SCHEMA-C-{uuid.uuid4().hex[:12]}",
        "reason": "customer_request",
        "cancelled_at": "2026-12-02T14:00:00+01:00",
        "refund_amount": 0,
        **changes,
    }


def _hold(driver: Driver, seat: str, **changes: Any) -> dict[str, Any]:
    response = driver.send(
        POST_HOLDS, body={"lines": [{"performance_id": "CONF-EVT-1", "seat_id": seat}], **changes}
    )
    assert response.status_code == 201, response.text
    hold: dict[str, Any] = response.json()
    return hold


def _documented(live: Live) -> set[tuple[Operation, int]]:
    document = httpx.get(live.base + "/openapi.json", timeout=10).json()
    return {
        ((method.upper(), path), int(status))
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for status in operation["responses"]
    }


def _drive_resources(driver: Driver) -> dict[str, str]:
    """The success, client-error and state answers of each operation; the ids it made."""
    send, live = driver.send, driver.live
    send(HEALTH, key=None)
    products = send(PRODUCTS)
    send(PRODUCTS, headers={"If-None-Match": products.headers["etag"]})
    send(PRODUCT, path={"product_id": "CONF-EVT"})
    send(PRODUCT, key="conf-b", path={"product_id": "CONF-PASS"})  # a kind it may not sell
    send(AVAILABILITY, path={"performance_id": "CONF-EVT-1"}, params={"seats": "true"})
    send(AVAILABILITY, path={"performance_id": "CONF-EVT-1"}, params={"seats": "maybe"})
    send(AVAILABILITY, path={"performance_id": "NO-SUCH-PERF"})

    # Holds: 201, and each refusal of 7.4.
    hold = _hold(driver, "A-1-1")
    send(POST_HOLDS, body={"lines": [{"performance_id": "CONF-EVT-1", "seat_id": "A-1-2"}]},
         idempotency=False)  # fmt: skip
    send(POST_HOLDS, body={"lines": [{"performance_id": "NO-SUCH-PERF", "seat_id": "A-1-2"}]})
    send(POST_HOLDS, body={"lines": [{"performance_id": "CONF-EVT-1", "seat_id": "A-1-1"}]})
    send(POST_HOLDS, body={"lines": []})
    send(POST_HOLDS, content=b"lines", headers={"Content-Type": "text/plain"})
    send(POST_HOLDS, content=b'{"lines": [' + b" " * 70_000 + b"]}",
         headers={"Content-Type": "application/json"})  # fmt: skip
    send(GET_HOLD, path={"hold_id": hold["id"]})
    send(GET_HOLD, key="conf-b", path={"hold_id": hold["id"]})

    # Orders: 201 from the hold, then each refusal of 7.5.
    places = [place["id"] for place in hold["places"]]
    order = send(POST_ORDERS, body=_order_body(hold["id"], places))
    assert order.status_code == 201, order.text
    order_id = order.json()["id"]
    ticket_id = order.json()["tickets"][0]["id"]
    send(POST_ORDERS, body=_order_body(hold["id"], places), idempotency=False)
    send(POST_ORDERS, body=_order_body("H-999999999", ["HP1"]))
    send(POST_ORDERS, body=_order_body(hold["id"], places))  # hold-already-ordered
    send(POST_ORDERS, body=_order_body(hold["id"], places, currency="eur"))
    send(POST_ORDERS, content=b"{}", headers={"Content-Type": "text/csv"})
    send(POST_ORDERS, content=b'{"lines": "' + b"x" * 70_000 + b'"}',
         headers={"Content-Type": "application/json"})  # fmt: skip
    send(DELETE_HOLD, path={"hold_id": hold["id"]})  # 409 hold-already-ordered
    send(GET_ORDER, path={"order_id": order_id})
    send(GET_ORDER, key="conf-b", path={"order_id": order_id})
    send(LIST_ORDERS, params={"changed_since": "2026-01-01T00:00:00Z"})
    send(LIST_ORDERS)

    # Cancellations: 201, then each refusal of 7.7.
    on_order = {"order_id": order_id}
    cancelled = send(POST_CANCELLATIONS, path=on_order, body=_cancellation_body())
    assert cancelled.status_code == 201, cancelled.text
    send(POST_CANCELLATIONS, path=on_order, body=_cancellation_body(), idempotency=False)
    send(POST_CANCELLATIONS, path={"order_id": "O-999999999"}, body=_cancellation_body())
    send(POST_CANCELLATIONS, path=on_order, body=_cancellation_body(ticket_ids=[ticket_id]))
    send(POST_CANCELLATIONS, path=on_order, body=_cancellation_body(reason="bored"))
    send(POST_CANCELLATIONS, path=on_order, content=b"{}", headers={"Content-Type": "text/xml"})
    send(POST_CANCELLATIONS, path=on_order, content=b"[" + b"0," * 40_000 + b"0]",
         headers={"Content-Type": "application/json"})  # fmt: skip

    # A released hold answers 410 to GET; an expired one 410 to DELETE.
    released = _hold(driver, "A-1-3")
    send(DELETE_HOLD, path={"hold_id": released["id"]})
    send(GET_HOLD, path={"hold_id": released["id"]})
    send(DELETE_HOLD, key="conf-b", path={"hold_id": released["id"]})
    expiring = _hold(driver, "A-1-4", expires_in=5)
    live.clock.offset += dt.timedelta(seconds=6)
    send(DELETE_HOLD, path={"hold_id": expiring["id"]})
    return {
        "product_id": "CONF-EVT",
        "performance_id": "CONF-EVT-1",
        "hold_id": hold["id"],
        "order_id": order_id,
    }


def _drive_gate(driver: Driver, ids: dict[str, str]) -> None:
    """401, 403, 429, 500 and 503 on every operation (section 4 and 11)."""
    live = driver.live
    everything = [
        HEALTH, PRODUCTS, PRODUCT, AVAILABILITY, POST_HOLDS, GET_HOLD, DELETE_HOLD,
        POST_ORDERS, LIST_ORDERS, GET_ORDER, POST_CANCELLATIONS,
    ]  # fmt: skip
    driver.every(everything, ids, key="rsk_aaaaaaaa_" + "A" * 43)
    driver.every(everything, ids, origin=live.broken_origin)
    live.set_reseller("conf-b", suspended=True)
    try:
        driver.every(everything, ids, key="conf-b")
    finally:
        live.set_reseller("conf-b", suspended=False)
    live.set_reseller("conf-b", rate_per_second=1, burst=1)
    try:
        driver.send(HEALTH, key="conf-b")  # takes the one token
        driver.every(everything, ids, key="conf-b")
    finally:
        live.set_reseller("conf-b", rate_per_second=1000, burst=2000)
    live.clock.failing = True
    try:
        driver.every(everything, ids)
    finally:
        live.clock.failing = False


def test_every_documented_status_of_every_operation_is_reached(live: Live) -> None:
    driver = Driver(live)
    ids = _drive_resources(driver)
    _drive_gate(driver, ids)
    documented = _documented(live)
    never_reached = sorted(pair for pair in documented if pair not in driver.reached)
    undocumented = sorted(
        (pair, text) for pair, text in driver.reached.items() if pair not in documented
    )
    assert never_reached == [], f"documented, never reached: {never_reached}"
    assert undocumented == [], f"answered, not documented: {undocumented}"
