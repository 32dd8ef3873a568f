"""The real-time reseller web service of realtime-api-v1: a FastAPI application under
``/realtime/v1``, its OpenAPI document served at ``/realtime/v1/openapi.json``.

Every route checks its request in the contract's order (section 11) through
:mod:`reseller_sync.realtime.http_service`; the store functions (catalogue, availability,
holds, orders, cancellations) answer the ids, states and prices. FastAPI's own request
validation is not used: the routes take the raw request, so that each failure gets the
contract's problem type and reason; the pydantic models of
:mod:`reseller_sync.realtime.http_models` only document.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match

from reseller_sync.realtime import http_cursor, http_models
from reseller_sync.realtime.context import ResellerContext
from reseller_sync.realtime.http_auth import Authenticator
from reseller_sync.realtime.http_idempotency import idempotency_key
from reseller_sync.realtime.http_json import fingerprint
from reseller_sync.realtime.http_ratelimit import MemoryTokenBuckets, TokenBuckets
from reseller_sync.realtime.http_service import (
    JSON,
    PREFIX,
    PROBLEM_JSON,
    Answer,
    Clock,
    GateMiddleware,
    Service,
    answer_response,
    database_answers,
    problem_response,
    read_json_body,
    utc_now,
)
from reseller_sync.realtime.http_validation import (
    CANCELLATION_REQUEST,
    HOLD_REQUEST,
    ORDER_REQUEST,
    REFERENCE,
    bad_parameter,
    check_cancellation,
    check_hold,
    check_order,
    parse_date_time,
    query_values,
)
from reseller_sync.realtime.problems import Problem

CATALOGUE_CACHE = "private, max-age=60"
DEFAULT_PAGE = 100
MAX_PAGE = 200


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "model": http_models.ProblemDetails,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
            "description": "a problem (RFC 9457)",
        }
        for status in statuses
    }


COMMON = (401, 403, 429, 500, 503)
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "schema": {"type": "string", "pattern": r'^("?)[A-Za-z0-9_-]{16,64}\1$'},
    "description": "16 to 64 of A-Z a-z 0-9 - _, bare or RFC 8941 quoted (section 6)",
}
CORRELATION_HEADER = {
    "name": "X-Correlation-Id",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "1 to 64 of A-Z a-z 0-9 . _ : - (section 12); any other value is replaced"
    " by a generated one, not refused",
}


def _body(model: type[Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
        },
        "parameters": [IDEMPOTENCY_HEADER, CORRELATION_HEADER],
        "responses": {
            "201": {
                "headers": {
                    "Location": {
                        "description": "path of the created resource",
                        "schema": {"type": "string"},
                    },
                    "Idempotent-Replayed": {
                        "description": "true on a replay of a stored response (section 6)",
                        "schema": {"type": "string", "enum": ["true"]},
                    },
                }
            }
        },
    }


def _query(*parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "parameters": [{"in": "query", "required": False, **parameter} for parameter in parameters]
        + [CORRELATION_HEADER]
    }


def _reseller(request: Request) -> ResellerContext:
    reseller: ResellerContext | None = request.state.reseller
    if reseller is None:  # the gate lets only GET /health through without a key
        raise Problem("unauthenticated", "an API key is required")
    return reseller


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


class SnapshotCache:
    """Availability answers kept a moment per (reseller, performance, ``seats``): section 7.3
    lets the snapshot lag holds, orders and cancellations by 2 seconds, and most of a
    reseller's requests are availability. An answer carries the ``as_of`` it was computed
    at, so it never claims to be fresher than it is. A read cache only: no guarantee of
    section 8 depends on it (a hold, an order check places in the database)."""

    def __init__(self, seconds: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._monotonic = monotonic
        self._answers: dict[tuple[str, str, bool], tuple[float, Answer]] = {}
        self._guard = threading.Lock()

    def get(self, key: tuple[str, str, bool], compute: Callable[[], Answer]) -> Answer:
        if self.seconds <= 0:
            return compute()
        now = self._monotonic()
        with self._guard:
            kept = self._answers.get(key)
        if kept is not None and now - kept[0] < self.seconds:
            return kept[1]
        answer = compute()
        if answer.status == 200:
            with self._guard:
                if len(self._answers) >= MAX_SNAPSHOTS:
                    self._answers.clear()
                self._answers[key] = (now, answer)
        return answer


MAX_SNAPSHOTS = 10_000
AVAILABILITY_LAG_SECONDS = 1.0
"""What ``realtime serve`` lets an availability answer lag (section 7.3 allows 2 s)."""


def create_app(
    engine: Engine,
    *,
    rate_limiter: TokenBuckets | None = None,
    clock: Clock | None = None,
    authenticator: Authenticator | None = None,
    availability_lag: float = 0.0,
) -> FastAPI:
    """The service on ``engine``'s box office. ``rate_limiter``: the token buckets (default
    in memory, one worker; :class:`RedisTokenBuckets` for several); ``clock``: the
    box-office clock (aware UTC), which holds expire by; ``availability_lag``: seconds an
    availability answer may be served again (:class:`SnapshotCache`; 0, the default: never
    served again)."""
    buckets = rate_limiter or MemoryTokenBuckets()
    service = Service(engine, clock or utc_now, buckets)
    app = FastAPI(
        title="Real-time reseller service",
        summary="realtime-api-v1: catalogue, availability, holds, orders, cancellations",
        version="1",
        openapi_url=PREFIX + "/openapi.json",
        docs_url=PREFIX + "/docs",
        redoc_url=None,
        redirect_slashes=False,
    )
    app.state.service = service
    app.state.availability = SnapshotCache(availability_lag)
    _routes(app)
    app.add_exception_handler(Problem, _on_problem)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _on_http_exception)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _on_validation)  # type: ignore[arg-type]
    app.add_middleware(
        GateMiddleware,
        authenticator=authenticator or Authenticator(engine),
        buckets=buckets,
    )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


async def _on_problem(request: Request, problem: Problem) -> Response:
    request.state.problem_type = problem.type.name
    return problem_response(
        problem,
        instance=request.url.path,
        correlation_id=request.state.correlation_id,
        headers=getattr(problem, "headers", None),
    )


async def _on_http_exception(request: Request, error: HTTPException) -> Response:
    """Step 4: an unknown path (``404``), a method the path lacks (``405`` with ``Allow``)."""
    if error.status_code == 405:
        allowed: list[str] = []
        for route in request.app.router.routes:
            match, _ = route.matches({**request.scope, "method": "\x00"})
            if match is Match.PARTIAL:
                allowed.extend(sorted(getattr(route, "methods", None) or ()))
        allow = ", ".join(dict.fromkeys(allowed))
        return await _on_problem(
            request,
            _with_headers(
                Problem("method-not-allowed", f"{request.method} is not defined here"),
                {"Allow": allow},
            ),
        )
    return await _on_problem(request, Problem("not-found", "no such resource"))


async def _on_validation(request: Request, error: RequestValidationError) -> Response:
    return await _on_problem(request, Problem("malformed-request", "the request is malformed"))


def _with_headers(problem: Problem, headers: dict[str, str]) -> Problem:
    problem.headers = headers  # type: ignore[attr-defined]
    return problem


def _now_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _routes(app: FastAPI) -> None:
    @app.get(
        PREFIX + "/health",
        response_model=http_models.Health,
        responses=_problems(401, 429, 500, 503),
        summary="is the service up (no key needed; with a key, its channel)",
        tags=["service"],
    )
    async def health(request: Request) -> Response:
        service = _service(request)
        reseller: ResellerContext | None = request.state.reseller

        def work() -> Response:
            if not database_answers(service.engine):
                raise Problem("service-unavailable", "the box-office store is unavailable")
            body: dict[str, Any] = {
                "status": "ok" if service.buckets.ping() else "degraded",
                "time": _now_text(service.clock()),
                "version": "1",
            }
            if reseller is not None:
                body["reseller_id"] = reseller.reseller_code
                body["channel"] = "suspended" if reseller.suspended else "open"
            return answer_response(Answer(200, body))

        return await _threaded(work)

    @app.get(
        PREFIX + "/products",
        response_model=http_models.Catalogue,
        responses={304: {"description": "If-None-Match matches"}, **_problems(*COMMON)},
        summary="the catalogue on this reseller's channel",
        tags=["catalogue"],
        openapi_extra={
            "parameters": [
                {"name": "If-None-Match", "in": "header", "required": False,
                 "schema": {"type": "string"}},
                CORRELATION_HEADER,
            ]
        },
    )  # fmt: skip
    async def products(request: Request) -> Response:
        reseller = _reseller(request)
        query_values(list(request.query_params.multi_items()), ())
        service = _service(request)

        def work(session: Session, now: dt.datetime) -> Answer:
            from reseller_sync.realtime.catalogue import catalogue

            body = catalogue(session, reseller, now)
            unstamped = {name: value for name, value in body.items() if name != "generated_at"}
            etag = f'"{fingerprint(unstamped)}"'
            headers = {"ETag": etag, "Cache-Control": CATALOGUE_CACHE}
            if _etag_matches(request.headers.get("if-none-match"), etag):
                return Answer(304, None, headers=headers)
            return Answer(200, body, headers=headers)

        answer = await _threaded(service.read, work)
        return answer_response(answer)

    @app.get(
        PREFIX + "/products/{product_id}",
        response_model=http_models.Product,
        responses=_problems(404, *COMMON),
        summary="one product",
        tags=["catalogue"],
        openapi_extra={"parameters": [CORRELATION_HEADER]},
    )
    async def one_product(request: Request, product_id: str) -> Response:
        reseller = _reseller(request)
        query_values(list(request.query_params.multi_items()), ())

        def work(session: Session, now: dt.datetime) -> Answer:
            from reseller_sync.realtime.catalogue import product

            return Answer(200, product(session, reseller, product_id, now))

        return answer_response(await _threaded(_service(request).read, work))

    @app.get(
        PREFIX + "/performances/{performance_id}/availability",
        response_model=http_models.Availability,
        response_model_exclude_none=True,
        responses=_problems(400, 404, *COMMON),
        summary="counts inside the reseller's quota, free seats with seats=true",
        tags=["availability"],
        openapi_extra=_query(
            {"name": "seats", "schema": {"type": "string", "enum": ["true", "false"]}}
        ),
    )
    async def availability(request: Request, performance_id: str) -> Response:
        reseller = _reseller(request)
        query = query_values(list(request.query_params.multi_items()), ("seats",))
        seats = query.get("seats", "false")
        if seats not in ("true", "false"):
            raise bad_parameter("seats", "seats must be true or false")

        def work(session: Session, now: dt.datetime) -> Answer:
            from reseller_sync.realtime.availability import availability as counts

            return Answer(
                200, counts(session, reseller, performance_id, with_seats=seats == "true", now=now)
            )

        cache: SnapshotCache = request.app.state.availability
        key = (reseller.reseller_code, performance_id, seats == "true")
        service = _service(request)
        return answer_response(await _threaded(cache.get, key, lambda: service.read(work)))

    @app.post(
        PREFIX + "/holds",
        status_code=201,
        response_model=http_models.Hold,
        responses=_problems(400, 404, 409, 413, 415, 422, *COMMON),
        summary="hold places (all or nothing)",
        tags=["holds"],
        openapi_extra=_body(http_models.HoldRequest),
    )
    async def create_hold(request: Request) -> Response:
        def effect(
            session: Session, reseller: ResellerContext, body: dict[str, Any], now: dt.datetime
        ) -> Answer:
            from reseller_sync.realtime.holds import create_hold as hold

            created = hold(session, reseller, body, now)
            return Answer(201, created, f"{PREFIX}/holds/{created['id']}")

        return await _post(request, HOLD_REQUEST, check_hold, effect)

    @app.get(
        PREFIX + "/holds/{hold_id}",
        response_model=http_models.Hold,
        responses=_problems(404, 410, *COMMON),
        summary="a hold",
        tags=["holds"],
        openapi_extra={"parameters": [CORRELATION_HEADER]},
    )
    async def get_hold(request: Request, hold_id: str) -> Response:
        reseller = _reseller(request)
        query_values(list(request.query_params.multi_items()), ())

        def work(session: Session, now: dt.datetime) -> Answer:
            from reseller_sync.realtime.holds import get_hold as read_hold

            return Answer(200, read_hold(session, reseller, hold_id, now))

        return answer_response(await _threaded(_service(request).read, work))

    @app.delete(
        PREFIX + "/holds/{hold_id}",
        status_code=204,
        response_class=Response,
        responses=_problems(404, 409, 410, *COMMON),
        summary="release a hold",
        tags=["holds"],
        openapi_extra={"parameters": [CORRELATION_HEADER]},
    )
    async def release_hold(request: Request, hold_id: str) -> Response:
        reseller = _reseller(request)
        query_values(list(request.query_params.multi_items()), ())

        def work(session: Session, now: dt.datetime) -> Answer:
            from reseller_sync.realtime.holds import release_hold as release

            release(session, reseller, hold_id, now)
            return Answer(204)

        return answer_response(await _threaded(_service(request).write, work))

    @app.post(
        PREFIX + "/orders",
        status_code=201,
        response_model=http_models.Order,
        responses=_problems(400, 404, 409, 413, 415, 422, *COMMON),
        summary="turn a hold into an order paid on the pending account",
        tags=["orders"],
        openapi_extra=_body(http_models.OrderRequest),
    )
    async def create_order(request: Request) -> Response:
        def effect(
            session: Session, reseller: ResellerContext, body: dict[str, Any], now: dt.datetime
        ) -> Answer:
            from reseller_sync.realtime.orders import create_order as order

            created = order(session, reseller, body, now)
            return Answer(201, created, f"{PREFIX}/orders/{created['id']}")

        return await _post(request, ORDER_REQUEST, check_order, effect)

    @app.get(
        PREFIX + "/orders",
        response_model=http_models.OrderPage,
        responses=_problems(400, *COMMON),
        summary="orders changed since an instant, paged",
        tags=["orders"],
        openapi_extra=_query(
            {"name": "changed_since", "schema": {"type": "string", "format": "date-time"}},
            {"name": "cursor", "schema": {"type": "string"}},
            {"name": "limit", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
            {
                "name": "reseller_order_ref",
                "schema": {"type": "string", "pattern": r"^[A-Za-z0-9._-]{1,40}$"},
            },
        ),
    )
    async def list_orders(request: Request) -> Response:
        reseller = _reseller(request)
        service = _service(request)
        query = query_values(
            list(request.query_params.multi_items()),
            ("changed_since", "cursor", "limit", "reseller_order_ref"),
        )
        now = service.clock()
        after: tuple[dt.datetime, str] | None = None
        filters: dict[str, Any] = {}
        if "cursor" in query:
            after, filters = http_cursor.read(query["cursor"], reseller.reseller_code, now)
        else:
            if "changed_since" in query:
                if parse_date_time(query["changed_since"]) is None:
                    raise bad_parameter("changed_since", "changed_since must be a date-time")
                filters["changed_since"] = query["changed_since"]
            if "reseller_order_ref" in query:
                if not REFERENCE.fullmatch(query["reseller_order_ref"]):
                    raise bad_parameter("reseller_order_ref", "not a reseller reference")
                filters["reseller_order_ref"] = query["reseller_order_ref"]
            if not filters:
                raise bad_parameter(
                    "changed_since", "give changed_since, reseller_order_ref or cursor"
                )
        limit = filters.get("limit", DEFAULT_PAGE)
        if "limit" in query:
            text = query["limit"]
            if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
                raise bad_parameter("limit", "limit must be an integer from 1 to 200")
            limit = int(text)
        filters["limit"] = limit
        changed_since = (
            parse_date_time(filters["changed_since"]) if filters.get("changed_since") else None
        )

        def work(session: Session, moment: dt.datetime) -> Answer:
            from reseller_sync.realtime.orders import orders_changed

            page, position = orders_changed(
                session,
                reseller,
                changed_since=changed_since,
                after=after,
                reseller_order_ref=filters.get("reseller_order_ref"),
                limit=int(limit),
            )
            cursor = (
                http_cursor.issue(position, filters, reseller.reseller_code, moment)
                if position is not None
                else None
            )
            return Answer(200, {"orders": page, "next_cursor": cursor})

        return answer_response(await _threaded(service.read, work))

    @app.get(
        PREFIX + "/orders/{order_id}",
        response_model=http_models.Order,
        responses=_problems(404, *COMMON),
        summary="an order",
        tags=["orders"],
        openapi_extra={"parameters": [CORRELATION_HEADER]},
    )
    async def get_order(request: Request, order_id: str) -> Response:
        reseller = _reseller(request)
        query_values(list(request.query_params.multi_items()), ())

        def work(session: Session, now: dt.datetime) -> Answer:
            from reseller_sync.realtime.orders import get_order as read_order

            return Answer(200, read_order(session, reseller, order_id))

        return answer_response(await _threaded(_service(request).read, work))

    @app.post(
        PREFIX + "/orders/{order_id}/cancellations",
        status_code=201,
        response_model=http_models.Cancellation,
        responses=_problems(400, 404, 409, 413, 415, 422, *COMMON),
        summary="cancel a whole order or some tickets",
        tags=["cancellations"],
        openapi_extra=_body(http_models.CancellationRequest),
    )
    async def cancel_order(request: Request, order_id: str) -> Response:
        def effect(
            session: Session, reseller: ResellerContext, body: dict[str, Any], now: dt.datetime
        ) -> Answer:
            from reseller_sync.realtime.cancellations import cancel_order as cancel

            created = cancel(session, reseller, order_id, body, now)
            return Answer(201, created, f"{PREFIX}/orders/{order_id}/cancellations/{created['id']}")

        return await _post(request, CANCELLATION_REQUEST, check_cancellation, effect)


async def _threaded(function: Any, *arguments: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(function, *arguments)


async def _post(request: Request, shape: Any, check: Any, effect: Any) -> Response:
    """Steps 5 and 6, then the transaction of :meth:`Service.post`."""
    reseller = _reseller(request)
    key = idempotency_key(request.headers.get("idempotency-key"))
    body = await read_json_body(request)
    query_values(list(request.query_params.multi_items()), ())
    service = _service(request)
    response: Response = await _threaded(
        lambda: service.post(
            request=request,
            reseller=reseller,
            key=key,
            body=body,
            shape=shape,
            check=check,
            effect=effect,
        )
    )
    return response


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the request schemas (documented, not enforced by FastAPI)
    and the bearer scheme."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description="realtime-api-v1. Every error is an RFC 9457 problem "
        "(application/problem+json); every answer carries X-Correlation-Id.",
        routes=app.routes,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    # FastAPI's own 422 (its parameter validation, unused here) is not an answer of this API.
    for operations in document["paths"].values():
        for operation in operations.values():
            refused = operation["responses"].get("422", {})
            if "HTTPValidationError" in str(refused.get("content", "")):
                del operation["responses"]["422"]
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    models: tuple[type[BaseModel], ...] = (*http_models.REQUEST_MODELS, http_models.ProblemDetails)
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas[model.__name__] = schema
    document["components"]["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "rsk_<id>_<secret>"}
    }
    document["security"] = [{"bearer": []}]
    document["paths"][PREFIX + "/health"]["get"]["security"] = [{}, {"bearer": []}]
    app.openapi_schema = document
    return document
