"""The request pipeline of realtime-api-v1 (section 11's order) around the store functions.

:class:`GateMiddleware` (pure ASGI, outermost of the service) gives every answer its
``X-Correlation-Id``, ``Cache-Control`` and, on problems, ``Content-Language``; writes one
access-log line per request; answers steps 1-3 (authentication, channel, rate limit per
key; requests without a valid key are limited per client address); and
turns any unexpected exception into ``500 internal-error`` (a lost database or rate-limit
store into ``503 service-unavailable``), nothing committed. The router answers step 4
(``404``/``405``); :class:`Service` runs steps 5-10 and the store in one transaction, with
the idempotent response stored in it (a problem refusing the request is stored in a second
short transaction, the first rolled back with whatever the effect wrote).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import re
import time
import traceback
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, exc, text
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reseller_sync.realtime import http_idempotency
from reseller_sync.realtime.context import ResellerContext
from reseller_sync.realtime.http_auth import Authenticator, bearer_key, challenge
from reseller_sync.realtime.http_json import dumps, fingerprint, parse_object
from reseller_sync.realtime.http_ratelimit import (
    RateLimiterUnavailableError,
    TokenBuckets,
    retry_after,
)
from reseller_sync.realtime.http_validation import Shape, check_members
from reseller_sync.realtime.problems import TYPE_PREFIX, Problem, error_item

PREFIX = "/realtime/v1"
HEALTH = PREFIX + "/health"
PUBLIC_DOCUMENTS = frozenset({PREFIX + "/openapi.json", PREFIX + "/docs"})
MAX_BODY = 64 * 1024
CORRELATION = re.compile(r"[A-Za-z0-9._:-]{1,64}")
JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
UNAVAILABLE_RETRY_AFTER = 5
ANONYMOUS_LIMIT = (20, 40)
"""Requests a second and burst per client address for requests without a valid key."""
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.DisconnectionError,
    exc.TimeoutError,
    RateLimiterUnavailableError,
)
"""A dependency down: ``503``, retry later (anything else unexpected is a ``500``)."""
RETRIED_SQLSTATES = frozenset({"40P01", "40001"})
"""PostgreSQL's deadlock and serialization failure: the transaction was rolled back whole,
so :class:`Service` runs it again (:func:`retried`)."""
TRANSACTION_ATTEMPTS = 4
"""Runs of a write transaction at most; then the error answers ``503``."""

CORRELATION_ID: ContextVar[str] = ContextVar("realtime_correlation_id", default="-")
"""The correlation id of the request being served, for every log line about it."""

access_log = logging.getLogger("reseller_sync.realtime.access")
log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def retry_after_of(problem: Problem) -> int | None:
    if problem.type.name == "idempotency-request-in-progress":
        return 1
    if problem.type.name == "service-unavailable":
        return UNAVAILABLE_RETRY_AFTER
    return getattr(problem, "retry_after", None)


def problem_response(
    problem: Problem, *, instance: str, correlation_id: str, headers: dict[str, str] | None = None
) -> Response:
    """The RFC 9457 answer of a problem, with its ``Retry-After`` where the type has one."""
    extra = dict(headers or {})
    wait = retry_after_of(problem)
    if wait is not None:
        extra.setdefault("Retry-After", str(wait))
    return Response(
        dumps(problem.body(instance=instance, correlation_id=correlation_id)),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=extra,
    )


def state(scope: Scope) -> dict[str, Any]:
    return scope.setdefault("state", {})


def _correlation_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-correlation-id":
            candidate = value.decode("latin-1")
            if CORRELATION.fullmatch(candidate):
                return candidate
            break
    return str(uuid.uuid4())


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return str(value.decode("latin-1"))
    return None


class CorrelationFilter(logging.Filter):
    """Gives each log record the ``correlation_id`` of the request it is written for (``-``
    outside a request), so that a handler's format can show it (section 12)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = CORRELATION_ID.get()
        return True


class GateMiddleware:
    """Steps 1-3 of section 11 and what every answer carries (see the module's docstring)."""

    def __init__(
        self, app: ASGIApp, *, authenticator: Authenticator, buckets: TokenBuckets
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.buckets = buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope["path"]
        correlation_id = _correlation_id(scope)
        CORRELATION_ID.set(correlation_id)
        request_state = state(scope)
        request_state.update(correlation_id=correlation_id, problem_type=None, reseller=None)
        response_started = False
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal response_started, status
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"x-correlation-id"
                ]
                names = {name.lower() for name, _ in headers}
                headers.append((b"x-correlation-id", correlation_id.encode("latin-1")))
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(PROBLEM_JSON.encode()):
                    headers.append((b"content-language", b"en"))
                message = {**message, "headers": headers}
            await send(message)

        async def answer(problem: Problem, headers: dict[str, str] | None = None) -> None:
            request_state["problem_type"] = problem.type.name
            response = problem_response(
                problem, instance=path, correlation_id=correlation_id, headers=headers
            )
            await response(scope, receive, send_with_headers)

        try:
            if path in PUBLIC_DOCUMENTS:
                await self.app(scope, receive, send_with_headers)
            else:
                refusal = await run_in_threadpool(self._gate, scope)
                if refusal is not None:
                    await answer(*refusal)
                else:
                    await self.app(scope, receive, send_with_headers)
        except Exception as error:
            unavailable = isinstance(error, UNAVAILABLE_ERRORS)
            # The type and the frames only: a message may quote a request's values.
            log.error(
                "%s on %s %s (correlation %s)\n%s",
                type(error).__name__,
                scope["method"],
                path,
                correlation_id,
                "".join(traceback.format_tb(error.__traceback__)),
            )
            if response_started:
                raise
            if unavailable:
                await answer(
                    Problem(
                        "service-unavailable",
                        "a dependency of the service is unavailable; nothing was changed",
                    )
                )
            else:
                await answer(Problem("internal-error", "a box-office fault; nothing was changed"))
        finally:
            reseller: ResellerContext | None = request_state.get("reseller")
            access_log.info(
                "%s %s %s %.1fms reseller=%s key=%s correlation=%s problem=%s",
                scope["method"],
                path,
                status,
                (time.perf_counter() - started) * 1000,
                reseller.reseller_code if reseller else "-",
                (reseller.key_id or "-") if reseller else "-",
                correlation_id,
                request_state.get("problem_type") or "-",
            )

    def _gate(self, scope: Scope) -> tuple[Problem, dict[str, str]] | None:
        """Steps 1-3, or None when the request goes on (its reseller in the scope's state).
        Requests without a valid key are limited per client address (section 4,
        informative), at the default figures, before they are told ``401``."""
        health = scope["method"] == "GET" and scope["path"] == HEALTH
        key = bearer_key(_header(scope, b"authorization"))
        reseller = self.authenticator(key) if key else None
        if reseller is None:
            try:
                limited = self._over_limit(f"address:{_client_address(scope)}", *ANONYMOUS_LIMIT)
            except RateLimiterUnavailableError:
                limited = None  # no effect behind a 401 or the health: answer them anyway
            if limited is not None:
                return limited
            if key is None and health:
                return None
            detail = (
                "an API key is required: Authorization: Bearer"
                if key is None
                else "the API key is malformed, unknown or revoked"
            )
            return (
                Problem("unauthenticated", detail),
                {"WWW-Authenticate": challenge(key is not None)},
            )
        state(scope)["reseller"] = reseller
        if reseller.suspended and not health:
            return Problem("channel-suspended", "the organiser suspended this channel"), {}
        return self._over_limit(
            f"key:{reseller.key_id or reseller.reseller_code}",
            reseller.rate_per_second,
            reseller.burst,
        )

    def _over_limit(
        self, bucket: str, rate_per_second: int, burst: int
    ) -> tuple[Problem, dict[str, str]] | None:
        wait = self.buckets.take(bucket, rate_per_second, burst)
        if wait <= 0:
            return None
        seconds = retry_after(wait)
        return (
            Problem("rate-limited", f"over the rate limit; retry in {seconds} s"),
            {"Retry-After": str(seconds)},
        )


def _client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


# --------------------------------------------------------------------------- steps 5-13


def _media_type_is_json(content_type: str | None) -> bool:
    if content_type is None:
        return False
    media_type, *parameters = (part.strip() for part in content_type.split(";"))
    if media_type.lower() != JSON:
        return False
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            return False
    return True


async def read_json_body(request: Request) -> dict[str, Any]:
    """Step 6 for a body: media type (``415``), size (``413``), JSON object (``400``)."""
    if not _media_type_is_json(request.headers.get("content-type")):
        raise Problem(
            "unsupported-media-type",
            "the body must be application/json",
            [error_item("expected application/json", header="Content-Type")],
        )
    too_large = Problem(
        "payload-too-large",
        "the body is over 64 KiB",
        [error_item("at most 65536 bytes", header="Content-Length")],
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise too_large
        chunks.append(chunk)
    return parse_object(b"".join(chunks))


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any = None
    location: str | None = None
    headers: dict[str, str] | None = None


Effect = Callable[[Session, ResellerContext, dict[str, Any], dt.datetime], Answer]
Check = Callable[[dict[str, Any], ResellerContext], None]


def retried(error: BaseException) -> bool:
    """Whether the transaction may run again: the database rolled it back for a deadlock or
    a serialization failure, or the connection was found closed (a pooled connection the
    server dropped: the engine does not ping each connection it hands out). A write whose
    ``COMMIT`` was lost with its connection is safe to run again too: a ``POST`` then finds
    its stored response, a ``DELETE`` releases again."""
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return state in RETRIED_SQLSTATES


T = TypeVar("T")


class Service:
    """The database side of a request: one transaction each (``BEGIN IMMEDIATE`` on SQLite
    for writes), the clock, and the idempotency store. A transaction that PostgreSQL rolls
    back for a deadlock or a serialization failure, or whose pooled connection was closed,
    runs again from its start (:func:`retried`; at most :data:`TRANSACTION_ATTEMPTS` runs),
    so the client never sees that."""

    def __init__(self, engine: Engine, clock: Clock, buckets: TokenBuckets) -> None:
        self.engine = engine
        self.clock = clock
        self.buckets = buckets
        self.sqlite = engine.dialect.name == "sqlite"

    def session(self, *, write: bool) -> Session:
        session = Session(self.engine, expire_on_commit=False, autoflush=True)
        if write and self.sqlite:
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        return session

    def read(self, work: Callable[[Session, dt.datetime], Answer]) -> Answer:
        return self._again(lambda: self._read_once(work))

    def _read_once(self, work: Callable[[Session, dt.datetime], Answer]) -> Answer:
        with self.session(write=False) as session:
            try:
                return work(session, self.clock())
            finally:
                session.rollback()

    def _again(self, run: Callable[[], T]) -> T:
        """``run()``, run again when the database rolled it back for a deadlock or a
        serialization failure, after a short random pause."""
        for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
            try:
                return run()
            except exc.DBAPIError as error:
                if attempt == TRANSACTION_ATTEMPTS or not retried(error):
                    raise
                log.info(
                    "transaction rolled back by the database (%s), run %d of %d",
                    type(error.orig).__name__,
                    attempt + 1,
                    TRANSACTION_ATTEMPTS,
                )
                time.sleep(random.uniform(0.001, 0.02) * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def write(self, work: Callable[[Session, dt.datetime], Answer]) -> Answer:
        """A write without an idempotency key (``DELETE``): committed when it succeeds."""
        return self._again(lambda: self._write_once(work))

    def _write_once(self, work: Callable[[Session, dt.datetime], Answer]) -> Answer:
        with self.session(write=True) as session:
            try:
                answer = work(session, self.clock())
                session.commit()
                return answer
            except BaseException:
                session.rollback()
                raise

    def post(
        self,
        *,
        request: Request,
        reseller: ResellerContext,
        key: str,
        body: dict[str, Any],
        shape: Shape,
        check: Check,
        effect: Effect,
    ) -> Response:
        """Steps 7-13 of a ``POST`` and its stored response, in one transaction (two for a
        stored problem: :meth:`_store_problem`)."""
        return self._again(
            lambda: self._post_once(
                request=request,
                reseller=reseller,
                key=key,
                body=body,
                shape=shape,
                check=check,
                effect=effect,
            )
        )

    def _post_once(
        self,
        *,
        request: Request,
        reseller: ResellerContext,
        key: str,
        body: dict[str, Any],
        shape: Shape,
        check: Check,
        effect: Effect,
    ) -> Response:
        path = request.url.path
        correlation_id: str = request.state.correlation_id
        scope = (reseller.reseller_code, "POST", path, key)
        body_fingerprint = fingerprint(body)
        outcome: tuple[int, str, str | None, str | None] | None = None
        """What to store and answer when the effect refused the request with a problem."""
        with self.session(write=True) as session:
            try:
                http_idempotency.lock_scope(session, *scope)
                now = self.clock()
                previous = http_idempotency.find(session, *scope, body_fingerprint, now)
                if previous is not None:
                    stored = (previous.status, previous.body, previous.location)
                    session.rollback()
                    return self._replay(request, *stored)
                try:
                    check_members(body, shape)
                    check(body, reseller)
                    answer = effect(session, reseller, body, now)
                    status, text, location = answer.status, dumps(answer.body), answer.location
                except Problem as problem:
                    if not http_idempotency.stored(problem.status, problem.type.name):
                        raise
                    text = dumps(problem.body(instance=path, correlation_id=correlation_id))
                    outcome = (problem.status, text, None, problem.type.name)
                    session.rollback()  # whatever the effect wrote: no savepoint to keep
                if outcome is None:
                    self._remember(
                        session, scope, body_fingerprint, (status, text, location), now, request
                    )
                    session.commit()
            except BaseException:
                session.rollback()
                raise
        if outcome is None:
            request.state.problem_type = None
            return self._response(status, text, location)
        return self._store_problem(request, scope, body_fingerprint, outcome)

    def _store_problem(
        self,
        request: Request,
        scope: tuple[str, str, str, str],
        body_fingerprint: str,
        outcome: tuple[int, str, str | None, str | None],
    ) -> Response:
        """Keep a problem with its key, in a transaction of its own (the effect's was rolled
        back, which costs less than a savepoint around every effect); a response another
        request with the key stored meanwhile is replayed instead."""
        status, text, location, problem_type = outcome
        with self.session(write=True) as session:
            try:
                http_idempotency.lock_scope(session, *scope)
                now = self.clock()
                previous = http_idempotency.find(session, *scope, body_fingerprint, now)
                if previous is not None:
                    stored = (previous.status, previous.body, previous.location)
                    session.rollback()
                    return self._replay(request, *stored)
                self._remember(
                    session, scope, body_fingerprint, (status, text, location), now, request
                )
                session.commit()
            except BaseException:
                session.rollback()
                raise
        request.state.problem_type = problem_type
        return self._response(status, text, location)

    @staticmethod
    def _remember(
        session: Session,
        scope: tuple[str, str, str, str],
        body_fingerprint: str,
        response: tuple[int, str, str | None],
        now: dt.datetime,
        request: Request,
    ) -> None:
        """Keep the response with its key, in the session's transaction."""
        reseller_code, method, path, key = scope
        status, text, location = response
        http_idempotency.remember(
            session,
            reseller_code=reseller_code,
            method=method,
            path=path,
            key=key,
            fingerprint=body_fingerprint,
            status=status,
            body=text,
            location=location,
            correlation_id=request.state.correlation_id,
            now=now,
        )

    @staticmethod
    def _response(
        status: int, text: str, location: str | None, headers: dict[str, str] | None = None
    ) -> Response:
        extra = dict(headers or {})
        if location:
            extra["Location"] = location
        return Response(
            text.encode("utf-8"),
            status_code=status,
            media_type=PROBLEM_JSON if status >= 400 else JSON,
            headers=extra,
        )

    def _replay(self, request: Request, status: int, text: str, location: str | None) -> Response:
        if status >= 400:
            try:
                kind = json.loads(text).get("type", "")
                request.state.problem_type = str(kind).removeprefix(TYPE_PREFIX) or None
            except ValueError:
                pass
        return self._response(status, text, location, {"Idempotent-Replayed": "true"})


def answer_response(answer: Answer) -> Response:
    """A successful answer of a read or a ``DELETE``."""
    if answer.status == 204 or answer.body is None:
        return Response(status_code=answer.status, headers=answer.headers)
    headers = dict(answer.headers or {})
    if answer.location:
        headers["Location"] = answer.location
    return Response(
        dumps(answer.body).encode("utf-8"),
        status_code=answer.status,
        media_type=JSON,
        headers=headers,
    )


def database_answers(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except exc.SQLAlchemyError:
        return False
