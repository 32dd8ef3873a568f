"""The HTTP layer of realtime-api-v1 through httpx against the application: the order of
section 11, authentication, channel, rate limit, idempotency, personal data, validation,
headers, cursors, errors. On SQLite and PostgreSQL (``conformance_world``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import threading
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import RealtimeHold, RealtimeIdempotency, RealtimeReseller
from reseller_sync.realtime import holds as holds_module
from reseller_sync.realtime.app import create_app
from reseller_sync.realtime.http_auth import Authenticator
from reseller_sync.realtime.http_ratelimit import MemoryTokenBuckets
from reseller_sync.realtime.settings import revoke_key, set_suspended

BASE = "/realtime/v1"
PROBLEM = "urn:problem-type:reseller-sync:"


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class Api:
    """A synchronous httpx client of an ASGI application (one event loop per request)."""

    def __init__(self, app: Any, key: str | None = None) -> None:
        self.app = app
        self.key = key

    def request(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if (key or self.key) and "Authorization" not in sent:
            sent["Authorization"] = f"Bearer {key or self.key}"

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://box") as client:
                return await client.request(method, BASE + path, headers=sent, **kwargs)

        return asyncio.run(go())

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(
        self, path: str, body: Any = None, *, idempotency: str | None = "auto", **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if idempotency == "auto":
            idempotency = str(uuid.uuid4())
        if idempotency is not None:
            headers["Idempotency-Key"] = idempotency
        if body is not None and "content" not in kwargs:
            kwargs["content"] = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        return self.request("POST", path, headers=headers, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def clock(conformance_world: Any) -> Clock:
    return Clock(conformance_world.now + dt.timedelta(minutes=5))


@pytest.fixture
def app(conformance_world: Any, clock: Clock) -> Any:
    return create_app(conformance_world.engine, clock=clock)


@pytest.fixture
def api(app: Any, conformance_world: Any) -> Api:
    return Api(app, conformance_world.keys["conf-a"])


def problem_type(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["content-language"] == "en"
    return str(response.json()["type"]).removeprefix(PROBLEM)


def seat_hold(*seats: str, performance: str = "CONF-EVT-1", **extra: Any) -> dict[str, Any]:
    return {"lines": [{"performance_id": performance, "seat_id": seat} for seat in seats], **extra}


def count(world: Any, model: Any) -> int:
    with world.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --------------------------------------------------------------------------- steps 1-4


def test_health_answers_without_a_key_and_names_the_channel_with_one(
    api: Api, conformance_world: Any
) -> None:
    anonymous = Api(api.app).get("/health")
    assert anonymous.status_code == 200
    assert anonymous.json().keys() == {"status", "time", "version"}
    body = api.get("/health").json()
    assert body["status"] == "ok"
    assert body["version"] == "1"
    assert body["reseller_id"] == "conf-a"
    assert body["channel"] == "open"
    assert body["time"] == "2026-12-02T12:05:00.000Z"


def test_a_missing_key_answers_401_before_anything_else(api: Api) -> None:
    anonymous = Api(api.app)
    for method, path in (("GET", "/no/such/path"), ("POST", "/holds"), ("PUT", "/holds/H-1")):
        response = anonymous.request(method, path)
        assert response.status_code == 401, path
        assert problem_type(response) == "unauthenticated"
        assert response.headers["www-authenticate"] == 'Bearer realm="realtime/v1"'


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer rsk_abcdefgh_" + "A" * 43,  # well formed, unknown
        "Bearer not-a-key",
        "Basic dXNlcjpwYXNz",
    ],
)
def test_a_wrong_key_answers_401_invalid_token_even_on_health(api: Api, authorization: str) -> None:
    for path in ("/health", "/products"):
        response = api.get(path, headers={"Authorization": authorization})
        assert response.status_code == 401
        assert problem_type(response) == "unauthenticated"
        assert (
            response.headers["www-authenticate"]
            == 'Bearer realm="realtime/v1", error="invalid_token"'
        )
        assert "rsk_abcdefgh" not in response.text


def test_unknown_path_404_and_wrong_method_405_with_allow_after_auth(api: Api) -> None:
    response = api.get("/no/such/path")
    assert response.status_code == 404
    assert problem_type(response) == "not-found"
    assert response.json()["instance"] == BASE + "/no/such/path"
    response = api.request("PUT", "/holds/H-1")
    assert response.status_code == 405
    assert problem_type(response) == "method-not-allowed"
    assert response.headers["allow"] == "GET, DELETE"
    response = api.request("DELETE", "/holds")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert api.get("/holds/").status_code == 404  # no redirect to another path


def test_a_suspended_channel_answers_403_except_health(
    api: Api, conformance_world: Any, app: Any
) -> None:
    with conformance_world.session() as session, session.begin():
        set_suspended(session, "conf-a", True)
    fresh = Api(create_app(conformance_world.engine), api.key)
    response = fresh.get("/products")
    assert response.status_code == 403
    assert problem_type(response) == "channel-suspended"
    assert response.json()["category"] == "mapping"
    assert fresh.post("/holds", seat_hold("A-1-1")).status_code == 403
    assert fresh.get("/health").json()["channel"] == "suspended"


def test_a_revoked_key_stops_within_the_cache_time(conformance_world: Any) -> None:
    ticks = [0.0]
    authenticator = Authenticator(conformance_world.engine, monotonic=lambda: ticks[0])
    api = Api(
        create_app(conformance_world.engine, authenticator=authenticator),
        conformance_world.keys["conf-a"],
    )
    assert api.get("/products").status_code == 200
    key_id = conformance_world.keys["conf-a"].split("_")[1]
    with conformance_world.session() as session, session.begin():
        revoke_key(session, key_id, conformance_world.now)
    ticks[0] = 29.0
    assert api.get("/products").status_code == 200  # cached, at most 30 s
    ticks[0] = 30.5
    response = api.get("/products")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_rate_limit_answers_429_with_retry_after_and_changes_nothing(
    conformance_world: Any, clock: Clock
) -> None:
    with conformance_world.session() as session, session.begin():
        session.execute(
            update(RealtimeReseller)
            .where(RealtimeReseller.reseller_code == "conf-a")
            .values(rate_per_second=1, burst=2)
        )
    ticks = [100.0]
    app = create_app(
        conformance_world.engine,
        rate_limiter=MemoryTokenBuckets(monotonic=lambda: ticks[0]),
        clock=clock,
    )
    api = Api(app, conformance_world.keys["conf-a"])
    other = Api(app, conformance_world.keys["conf-b"])
    assert api.get("/products").status_code == 200
    assert api.get("/products").status_code == 200
    refused = api.post("/holds", seat_hold("A-1-1"))
    assert refused.status_code == 429
    assert problem_type(refused) == "rate-limited"
    assert int(refused.headers["retry-after"]) >= 1
    assert count(conformance_world, RealtimeHold) == 0
    assert count(conformance_world, RealtimeIdempotency) == 0
    assert other.get("/products").status_code == 200  # another key, another bucket
    ticks[0] += 1.0
    assert api.get("/products").status_code == 200
    # Without a valid key: per client address, at the default figures, before the 401.
    anonymous = Api(app)
    assert {anonymous.get("/health").status_code for _ in range(40)} == {200}
    assert anonymous.get("/products").status_code == 429
    assert anonymous.get("/health", key="rsk_abcdefgh_" + "A" * 43).status_code == 429
    assert other.get("/products").status_code == 200  # a valid key has its own bucket


# --------------------------------------------------------------------------- headers


def test_correlation_id_is_echoed_or_generated_on_every_answer(api: Api) -> None:
    response = api.get("/products", headers={"X-Correlation-Id": "dgt-7f3a9c51"})
    assert response.headers["x-correlation-id"] == "dgt-7f3a9c51"
    response = api.get("/nope", headers={"X-Correlation-Id": "bad value!"})
    generated = response.headers["x-correlation-id"]
    assert uuid.UUID(generated)
    assert response.json()["correlation_id"] == generated
    anonymous = Api(api.app).get("/products", headers={"X-Correlation-Id": "c-1"})
    assert anonymous.headers["x-correlation-id"] == "c-1"
    assert anonymous.json()["correlation_id"] == "c-1"


def test_cache_control_and_the_catalogue_etag(api: Api) -> None:
    assert api.get("/health").headers["cache-control"] == "no-store"
    assert api.get("/nope").headers["cache-control"] == "no-store"
    first = api.get("/products")
    assert first.headers["cache-control"] == "private, max-age=60"
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{64}"', etag)
    again = api.get("/products")  # generated_at differs, the ETag does not
    assert again.headers["etag"] == etag
    unchanged = api.get("/products", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    assert api.get("/products", headers={"If-None-Match": '"other"'}).status_code == 200
    product = api.get("/products/CONF-EVT")
    assert product.status_code == 200
    assert product.headers["cache-control"] == "no-store"


def test_the_openapi_document_describes_every_path(api: Api) -> None:
    document = Api(api.app).get("/openapi.json").json()
    paths = document["paths"]
    expected = {
        "/health": {"get"},
        "/products": {"get"},
        "/products/{product_id}": {"get"},
        "/performances/{performance_id}/availability": {"get"},
        "/holds": {"post"},
        "/holds/{hold_id}": {"get", "delete"},
        "/orders": {"get", "post"},
        "/orders/{order_id}": {"get"},
        "/orders/{order_id}/cancellations": {"post"},
    }
    assert {path.removeprefix(BASE): set(paths[path]) for path in paths} == expected
    hold = paths[BASE + "/holds"]["post"]
    assert hold["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/HoldRequest"
    )
    assert "application/problem+json" in hold["responses"]["409"]["content"]
    assert "Location" in hold["responses"]["201"]["headers"]
    assert "HTTPValidationError" not in json.dumps(document)
    assert {"HoldRequest", "OrderRequest", "CancellationRequest", "ProblemDetails", "Order"} <= set(
        document["components"]["schemas"]
    )


# --------------------------------------------------------------------------- steps 5-6


def test_idempotency_key_is_required_and_checked(api: Api, conformance_world: Any) -> None:
    for key in (None, "short", "x" * 65, "has space in the middle!", '"unterminated'):
        response = api.post("/holds", seat_hold("A-1-1"), idempotency=key)
        assert response.status_code == 400, key
        assert problem_type(response) == "idempotency-key-required"
        assert response.json()["errors"][0]["header"] == "Idempotency-Key"
    assert count(conformance_world, RealtimeIdempotency) == 0


def test_media_type_size_and_json_in_that_order(api: Api) -> None:
    huge = json.dumps({"lines": [], "pad": "x" * 70_000})
    response = api.post("/holds", content=huge, headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert problem_type(response) == "unsupported-media-type"
    response = api.post("/holds", content=huge, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert problem_type(response) == "payload-too-large"
    for content in ("{not json", "[1, 2]", '"text"', '{"a": 1, "a": 2}', "\xff"):
        response = api.post(
            "/holds", content=content, headers={"Content-Type": "application/json; charset=utf-8"}
        )
        assert response.status_code == 400, content
        assert problem_type(response) == "malformed-request"
    response = api.post(
        "/holds", content="{}", headers={"Content-Type": "application/json; charset=latin-1"}
    )
    assert response.status_code == 415


def test_query_parameters_are_checked(api: Api) -> None:
    response = api.get("/performances/CONF-EVT-1/availability", params={"seats": "yes"})
    assert response.status_code == 400
    assert problem_type(response) == "malformed-request"
    assert response.json()["errors"][0]["parameter"] == "seats"
    response = api.get("/products", params={"color": "red"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["parameter"] == "color"
    seated = api.get("/performances/CONF-EVT-1/availability", params={"seats": "true"}).json()
    assert len(next(c for c in seated["categories"] if c["category_id"] == "CAT1")["seats"]) == 20
    since = "2026-12-01T00:00:00Z"
    bad = (
        {},
        {"limit": "5"},
        {"changed_since": "yesterday"},
        {"changed_since": since, "limit": "0"},
    )
    for params in bad:
        response = api.get("/orders", params=params)
        assert response.status_code == 400, params
        assert response.json()["errors"][0]["parameter"]


# --------------------------------------------------------------------------- steps 7-10


def test_a_hold_is_stored_with_its_key_and_replayed(api: Api, conformance_world: Any) -> None:
    key = "2c1f0e4e-5a43-4a0e-9d55-0b0e3c7f6a11"
    created = api.post(
        "/holds", seat_hold("A-1-1", "A-1-2", expires_in=600), idempotency=key,
        headers={"X-Correlation-Id": "first"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    hold = created.json()
    assert created.headers["location"] == f"{BASE}/holds/{hold['id']}"
    assert "idempotent-replayed" not in created.headers
    # The same body written otherwise, the key quoted (RFC 8941): the same request.
    retry = api.post(
        "/holds",
        content='{ "expires_in" : 600, "lines": [{"seat_id": "A-1-1",'
        ' "performance_id": "CONF-EVT-1"},'
        ' {"performance_id": "CONF-EVT-1", "seat_id": "A-1-2"}] }',
        idempotency=f'"{key}"',
        headers={"Content-Type": "application/json", "X-Correlation-Id": "second"},
    )
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == hold
    assert retry.headers["location"] == created.headers["location"]
    assert retry.headers["x-correlation-id"] == "second"
    assert count(conformance_world, RealtimeHold) == 1
    changed = api.post("/holds", seat_hold("A-1-3"), idempotency=key)
    assert changed.status_code == 422
    assert problem_type(changed) == "idempotency-key-reused"
    assert count(conformance_world, RealtimeHold) == 1
    # Another reseller with the same key string: another key.
    other = Api(api.app, conformance_world.keys["conf-b"])
    assert other.post("/holds", seat_hold("B-1-1"), idempotency=key).status_code == 201


def test_a_stored_refusal_is_refused_again_even_when_the_places_are_free(
    api: Api, conformance_world: Any
) -> None:
    first = api.post("/holds", seat_hold("A-1-5"))
    assert first.status_code == 201
    key = "refused-key-0000000001"
    refused = api.post("/holds", seat_hold("A-1-5"), idempotency=key)
    assert refused.status_code == 409
    assert problem_type(refused) == "places-unavailable"
    assert api.delete(f"/holds/{first.json()['id']}").status_code == 204
    again = api.post("/holds", seat_hold("A-1-5"), idempotency=key)
    assert again.status_code == 409
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == refused.json()  # the original correlation id included
    assert api.post("/holds", seat_hold("A-1-5")).status_code == 201  # a new key


def test_refusals_before_the_store_leave_the_key_unused(api: Api, conformance_world: Any) -> None:
    key = "unused-key-00000000001"
    response = api.post("/holds", content="{oops", idempotency=key,
                        headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 400
    assert count(conformance_world, RealtimeIdempotency) == 0
    assert api.post("/holds", seat_hold("A-1-6"), idempotency=key).status_code == 201


def test_personal_data_is_refused_by_pointer_and_never_echoed_or_logged(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = seat_hold("A-1-1")
    body["lines"][0]["Buyer-Email"] = "zoe.dupre@example.org"
    body["note"] = "call me"
    response = api.post("/holds", body)
    assert response.status_code == 422
    assert problem_type(response) == "personal-data-refused"
    pointers = [item["pointer"] for item in response.json()["errors"]]
    assert pointers == ["#/lines/0/Buyer-Email", "#/lines/0/Buyer-Email"]  # name, then value
    assert "zoe.dupre" not in response.text
    # An e-mail address in a defined member's value is refused too.
    hidden = seat_hold("A-1-1")
    hidden["lines"][0]["seat_id"] = "zoe@example.org"
    response = api.post("/holds", hidden)
    assert problem_type(response) == "personal-data-refused"
    assert response.json()["errors"][0]["pointer"] == "#/lines/0/seat_id"
    assert "zoe" not in response.text
    assert "zoe" not in caplog.text
    assert "call me" not in caplog.text


def test_unknown_members_come_after_personal_data(api: Api) -> None:
    response = api.post("/holds", seat_hold("A-1-1", colour="red"))
    assert response.status_code == 422
    assert problem_type(response) == "unknown-field"
    assert response.json()["errors"][0]["pointer"] == "#/colour"
    response = api.post("/holds", seat_hold("A-1-1", colour="red", phone_number="0102"))
    assert problem_type(response) == "personal-data-refused"
    assert [e["pointer"] for e in response.json()["errors"]] == ["#/phone_number"]


def _reasons(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    assert problem_type(response) == "validation-failed"
    return [(item["pointer"], item["reason"]) for item in response.json()["errors"]]


def test_hold_shapes(api: Api) -> None:
    assert _reasons(api.post("/holds", {})) == [("#/lines", "required")]
    assert _reasons(api.post("/holds", {"lines": "A-1-1"})) == [("#/lines", "type")]
    assert _reasons(api.post("/holds", {"lines": []})) == [("#/lines", "range")]
    both = {"lines": [{"performance_id": "CONF-EVT-1", "seat_id": "A-1-1", "category_id": "CAT1"}]}
    assert _reasons(api.post("/holds", both)) == [("#/lines/0", "seat_and_category")]
    neither = {"lines": [{"performance_id": "CONF-EVT-1"}]}
    assert _reasons(api.post("/holds", neither)) == [("#/lines/0", "seat_and_category")]
    assert _reasons(api.post("/holds", seat_hold("A-1-1", "A-1-1"))) == [
        ("#/lines/1/seat_id", "duplicate_seat")
    ]
    count_line = {"performance_id": "CONF-EVT-1", "category_id": "FREE", "quantity": "2"}
    assert _reasons(api.post("/holds", {"lines": [count_line]})) == [("#/lines/0/quantity", "type")]
    too_many = {
        "lines": [{**count_line, "quantity": 8}, *seat_hold("A-1-1", "A-1-2", "A-1-3")["lines"]]
    }
    assert _reasons(api.post("/holds", too_many)) == [("#/lines", "too_many_places")]
    for expires_in in (4, 1801):
        assert _reasons(api.post("/holds", seat_hold("A-1-1", expires_in=expires_in))) == [
            ("#/expires_in", "range")
        ]
    assert _reasons(api.post("/holds", seat_hold("A-1-1", expires_in=True))) == [
        ("#/expires_in", "type")
    ]
    assert api.post("/holds", seat_hold("A-1-1", expires_in=None)).status_code == 201


def _order(hold_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hold_id": hold_id,
        "reseller_order_ref": f"CONF-{uuid.uuid4().hex[:12]}",
        "sold_at": "2026-12-02T13:04:40+01:00",
        "currency": "EUR",
        "point_of_sale": "WEB",
        "lines": [
            {"hold_place_id": "HP1", "tariff_id": "FULL", "price": 6500, "commission": 350},
        ],
    }
    body.update(changes)
    return body


def test_order_and_cancellation_shapes(api: Api) -> None:
    line = {"hold_place_id": "HP1", "tariff_id": "FULL", "price": 100, "commission": 101}
    assert _reasons(api.post("/orders", _order("H-1", lines=[line]))) == [
        ("#/lines/0/commission", "commission_exceeds_price")
    ]
    twice = [{**line, "commission": 0}, {**line, "commission": 0}]
    assert _reasons(api.post("/orders", _order("H-1", lines=twice))) == [
        ("#/lines/1/hold_place_id", "duplicate_hold_place")
    ]
    assert _reasons(api.post("/orders", _order("H-1", sold_at="2026-12-02 13:04"))) == [
        ("#/sold_at", "format")
    ]
    assert _reasons(api.post("/orders", _order("H-1", sold_at="2026-12-02T13:04:40"))) == [
        ("#/sold_at", "format")
    ]
    assert _reasons(api.post("/orders", _order("H-1", reseller_order_ref="x" * 41))) == [
        ("#/reseller_order_ref", "format")
    ]
    named = [{**line, "commission": 0, "beneficiary": {"first_name": "", "last_name": "D"}}]
    assert _reasons(api.post("/orders", _order("H-1", lines=named))) == [
        ("#/lines/0/beneficiary/first_name", "range")
    ]
    cancellation = {
        "reseller_cancellation_ref": "C-1",
        "reason": "whim",
        "cancelled_at": "2026-12-02T13:30:00+01:00",
        "ticket_ids": ["T-1", "T-1"],
        "refund_amount": -1,
    }
    assert _reasons(api.post("/orders/O-1/cancellations", cancellation)) == [
        ("#/reason", "range"),
        ("#/ticket_ids/1", "duplicate_ticket"),
        ("#/refund_amount", "range"),
    ]


# --------------------------------------------------------------------------- the flow


def test_hold_order_list_cancel_release(api: Api, conformance_world: Any, clock: Clock) -> None:
    hold = api.post("/holds", seat_hold("A-1-7", "A-1-8")).json()
    assert api.get(f"/holds/{hold['id']}").json()["status"] == "active"
    lines = [
        {"hold_place_id": "HP1", "tariff_id": "FULL", "price": 6500, "commission": 0},
        {"hold_place_id": "HP2", "tariff_id": "REDUCED", "price": 4500, "commission": 0},
    ]
    created = api.post("/orders", _order(hold["id"], lines=lines))
    assert created.status_code == 201, created.text
    order = created.json()
    assert created.headers["location"] == f"{BASE}/orders/{order['id']}"
    assert api.get(f"/orders/{order['id']}").json()["id"] == order["id"]
    assert api.delete(f"/holds/{hold['id']}").status_code == 409
    second = api.post("/holds", seat_hold("A-1-9")).json()
    clock.now += dt.timedelta(seconds=1)
    api.post("/orders", _order(second["id"]))
    # Paging: one order a page, the cursor carries the filters.
    since = (conformance_world.now - dt.timedelta(days=1)).isoformat()
    page = api.get("/orders", params={"changed_since": since, "limit": "1"}).json()
    assert [o["id"] for o in page["orders"]] == [order["id"]]
    assert page["next_cursor"]
    following = api.get("/orders", params={"cursor": page["next_cursor"]}).json()
    assert len(following["orders"]) == 1
    assert following["next_cursor"] is None
    found = api.get("/orders", params={"reseller_order_ref": order["reseller_order_ref"]})
    assert [o["id"] for o in found.json()["orders"]] == [order["id"]]
    tampered = page["next_cursor"][:-2] + ("AA" if not page["next_cursor"].endswith("AA") else "BB")
    response = api.get("/orders", params={"cursor": tampered})
    assert response.status_code == 400
    assert response.json()["errors"][0]["parameter"] == "cursor"
    foreign = Api(api.app, conformance_world.keys["conf-b"])
    assert foreign.get("/orders", params={"cursor": page["next_cursor"]}).status_code == 400
    clock.now += dt.timedelta(hours=25)
    assert api.get("/orders", params={"cursor": page["next_cursor"]}).status_code == 400
    clock.now -= dt.timedelta(hours=25)
    # Cancel one ticket.
    ticket = order["tickets"][1]["id"]
    cancellation = {
        "reseller_cancellation_ref": f"C-{uuid.uuid4().hex[:10]}",
        "reason": "customer_request",
        "cancelled_at": "2026-12-02T13:30:00+01:00",
        "ticket_ids": [ticket],
        "refund_amount": 4500,
    }
    cancelled = api.post(f"/orders/{order['id']}/cancellations", cancellation)
    assert cancelled.status_code == 201, cancelled.text
    assert cancelled.headers["location"] == (
        f"{BASE}/orders/{order['id']}/cancellations/{cancelled.json()['id']}"
    )
    assert cancelled.json()["order"]["status"] == "partially_cancelled"
    # A hold released, then released again.
    third = api.post("/holds", seat_hold("A-1-10")).json()
    assert api.delete(f"/holds/{third['id']}").status_code == 204
    assert api.delete(f"/holds/{third['id']}").status_code == 204
    assert problem_type(api.get(f"/holds/{third['id']}")) == "hold-released"
    assert problem_type(api.get("/holds/H-999999")) == "not-found"


# --------------------------------------------------------------------------- failures


def test_an_unexpected_fault_answers_500_and_commits_nothing(
    api: Api, conformance_world: Any, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    real = holds_module.create_hold

    def broken(session: Session, *args: Any) -> Any:
        real(session, *args)
        session.flush()
        raise RuntimeError("boom with beneficiary " + "".join(("Zo", "é")))

    monkeypatch.setattr(holds_module, "create_hold", broken)
    response = api.post("/holds", seat_hold("A-1-11"), headers={"X-Correlation-Id": "c-500"})
    assert response.status_code == 500
    assert problem_type(response) == "internal-error"
    assert response.json()["category"] == "technical"
    assert count(conformance_world, RealtimeHold) == 0
    assert count(conformance_world, RealtimeIdempotency) == 0
    assert "RuntimeError" in caplog.text
    assert "c-500" in caplog.text
    assert "Zoé" not in caplog.text


def test_a_database_down_answers_503_with_retry_after(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'nowhere.sqlite'}")
    api = Api(create_app(engine))
    response = api.get("/health")
    assert response.status_code == 503
    assert problem_type(response) == "service-unavailable"
    assert int(response.headers["retry-after"]) >= 1
    keyed = api.get("/products", key="rsk_abcdefgh_" + "A" * 43)
    assert keyed.status_code == 503
    assert int(keyed.headers["retry-after"]) >= 1


def test_the_access_log_names_the_request_never_the_key_or_body(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="reseller_sync.realtime.access")
    api.post("/holds", seat_hold("A-1-1", colour="red"), headers={"X-Correlation-Id": "log-1"})
    lines = [r.getMessage() for r in caplog.records if r.name == "reseller_sync.realtime.access"]
    assert len(lines) == 1
    line = lines[0]
    key_id = api.key.split("_")[1] if api.key else ""
    for part in ("POST", f"{BASE}/holds", "422", "reseller=conf-a", f"key={key_id}",
                 "correlation=log-1", "problem=unknown-field"):  # fmt: skip
        assert part in line
    assert api.key not in caplog.text
    assert "colour" not in line
    assert "A-1-1" not in line


@pytest.mark.postgres
def test_the_same_key_in_progress_answers_409_retry_after_1(
    api: Api, conformance_world: Any
) -> None:
    if conformance_world.engine.dialect.name != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's; SQLite serialises the writers")
    from reseller_sync.realtime.http_idempotency import scope_lock_id

    key = "in-progress-key-000001"
    lock = scope_lock_id("conf-a", "POST", f"{BASE}/holds", key)
    with conformance_world.engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:id)"), {"id": lock})
        response = api.post("/holds", seat_hold("A-1-12"), idempotency=key)
        other.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock})
    assert response.status_code == 409
    assert problem_type(response) == "idempotency-request-in-progress"
    assert response.headers["retry-after"] == "1"
    assert count(conformance_world, RealtimeIdempotency) == 0
    assert api.post("/holds", seat_hold("A-1-12"), idempotency=key).status_code == 201


def test_the_same_request_sent_twice_at_once_is_done_once(api: Api, conformance_world: Any) -> None:
    key = "concurrent-key-00000001"
    barrier = threading.Barrier(2)
    answers: list[httpx.Response] = []

    def send() -> None:
        barrier.wait()
        answers.append(api.post("/holds", seat_hold("A-1-13", "A-1-14"), idempotency=key))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses in ([201, 201], [201, 409])
    if statuses == [201, 201]:  # the second waited for the first (SQLite) and got its replay
        assert sorted(a.headers.get("idempotent-replayed", "") for a in answers) == ["", "true"]
        assert answers[0].json() == answers[1].json()
    else:  # the second found the first in progress (PostgreSQL)
        busy = next(a for a in answers if a.status_code == 409)
        assert problem_type(busy) == "idempotency-request-in-progress"
        assert busy.headers["retry-after"] == "1"
    assert count(conformance_world, RealtimeHold) == 1
    assert count(conformance_world, RealtimeIdempotency) == 1


def test_a_key_is_forgotten_24_hours_after_its_response(
    api: Api, conformance_world: Any, clock: Clock
) -> None:
    from reseller_sync.realtime.http_idempotency import purge

    key = "retained-key-000000001"
    first = api.post("/holds", seat_hold("A-1-15", expires_in=5), idempotency=key)
    assert first.status_code == 201
    clock.now += dt.timedelta(hours=23, minutes=59)
    assert api.post("/holds", seat_hold("A-1-16"), idempotency=key).status_code == 422
    clock.now += dt.timedelta(minutes=2)
    again = api.post("/holds", seat_hold("A-1-16"), idempotency=key)
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert count(conformance_world, RealtimeIdempotency) == 1
    with conformance_world.session() as session, session.begin():
        assert purge(session, clock.now + dt.timedelta(hours=24, seconds=1)) == 1
    assert count(conformance_world, RealtimeIdempotency) == 0
