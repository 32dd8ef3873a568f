"""A client of the box office's real-time service written from realtime-api-v1 alone, as a
synchronous reseller would write it (sections 4 to 7, 12 and 15).

Every request carries the key as ``Authorization: Bearer`` and an ``X-Correlation-Id`` of its
own; every ``POST`` an ``Idempotency-Key``. A ``POST`` that times out is sent again with the
same idempotency key, body and correlation id (section 15: a 10 s timeout, then a retry);
``409 idempotency-request-in-progress``, ``429`` and ``503`` are asked again after their
``Retry-After``; a ``500`` after a short back-off. Whatever the last answer, it is returned:
the caller reads the status and the problem type.

:class:`LossyTransport` plays the network's faults for the sandbox: an answer lost after the
box office committed (the client sees a timeout), or a request lost before it arrived.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

PROBLEM_PREFIX = "urn:problem-type:reseller-sync:"
TIMEOUT = 10.0
"""Section 15's recommended client timeout, in seconds."""
RETRIED_STATUSES = (429, 500, 503)


class Lost(httpx.TransportError):
    """What the client sees when the network lost the request or its answer."""


class LossyTransport(httpx.BaseTransport):
    """A transport that loses what it is told to: :meth:`lose_answers` (the request reaches
    the box office, which answers; the answer never comes back) or :meth:`lose_requests`
    (the request never reaches it). Either way the client sees a read timeout."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self.inner = inner or httpx.HTTPTransport()
        self._answers_to_lose = 0
        self._requests_to_lose = 0

    def lose_answers(self, count: int = 1) -> None:
        self._answers_to_lose = count

    def lose_requests(self, count: int = 1) -> None:
        self._requests_to_lose = count

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._requests_to_lose:
            self._requests_to_lose -= 1
            raise Lost("the request was lost on its way", request=request)
        response = self.inner.handle_request(request)
        if self._answers_to_lose:
            self._answers_to_lose -= 1
            response.read()
            response.close()
            raise Lost("the answer was lost on its way back", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


@dataclass(frozen=True)
class Outcome:
    """A ``POST``'s last answer, or None when none came back, with what was sent."""

    response: httpx.Response | None
    idempotency_key: str
    correlation_id: str
    attempts: int

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None

    @property
    def problem(self) -> str | None:
        """The problem type's name (``places-unavailable``), for an error answer."""
        if self.response is None or self.response.status_code < 400:
            return None
        kind = str(self.response.json().get("type", ""))
        return kind.removeprefix(PROBLEM_PREFIX)

    def json(self) -> Any:
        if self.response is None:
            raise ValueError("no answer came back")
        return self.response.json()


class RealtimeClient:
    """One reseller's client of the service at ``base_url`` (``…/realtime/v1``)."""

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = TIMEOUT,
        attempts: int = 3,
        correlation_prefix: str = "rsl",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {key}"},
            timeout=timeout,
            transport=transport,
        )
        self.attempts = attempts
        self.correlation_prefix = correlation_prefix
        self.sleep = sleep

    def close(self) -> None:
        self.http.close()

    def new_correlation_id(self) -> str:
        return f"{self.correlation_prefix}-{uuid.uuid4().hex[:16]}"

    # ------------------------------------------------------------------- HTTP

    def get(self, path: str, **params: str) -> httpx.Response:
        correlation = {"X-Correlation-Id": self.new_correlation_id()}
        for attempt in range(1, self.attempts + 1):
            response = self.http.get(path, params=params, headers=correlation)
            if response.status_code not in RETRIED_STATUSES or attempt == self.attempts:
                return response
            self.sleep(_retry_after(response, attempt))
        raise AssertionError("unreachable")

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(path, headers={"X-Correlation-Id": self.new_correlation_id()})

    def post(self, path: str, body: dict[str, Any], *, attempts: int | None = None) -> Outcome:
        """Send ``body``; a timeout or a retryable answer sends the same request again (same
        idempotency key, body and correlation id), at most ``attempts`` times in all."""
        key = str(uuid.uuid4())
        correlation = self.new_correlation_id()
        headers = {"Idempotency-Key": key, "X-Correlation-Id": correlation}
        tries = attempts or self.attempts
        response: httpx.Response | None = None
        for attempt in range(1, tries + 1):
            try:
                response = self.http.post(path, json=body, headers=headers)
            except (httpx.TimeoutException, Lost):
                response = None
                continue
            retryable = response.status_code in RETRIED_STATUSES or (
                response.status_code == 409
                and response.json().get("type")
                == PROBLEM_PREFIX + "idempotency-request-in-progress"
            )
            if not retryable or attempt == tries:
                return Outcome(response, key, correlation, attempt)
            self.sleep(_retry_after(response, attempt))
        return Outcome(response, key, correlation, tries)

    # ------------------------------------------------------------------- resources

    def catalogue(self) -> dict[str, Any]:
        response = self.get("/products")
        response.raise_for_status()
        catalogue: dict[str, Any] = response.json()
        return catalogue

    def availability(self, performance_id: str, *, seats: bool = False) -> dict[str, Any]:
        response = self.get(
            f"/performances/{performance_id}/availability", seats="true" if seats else "false"
        )
        response.raise_for_status()
        availability: dict[str, Any] = response.json()
        return availability

    def hold(self, lines: list[dict[str, Any]], expires_in: int | None = None) -> Outcome:
        body: dict[str, Any] = {"lines": lines}
        if expires_in is not None:
            body["expires_in"] = expires_in
        return self.post("/holds", body)

    def release(self, hold_id: str) -> httpx.Response:
        return self.delete(f"/holds/{hold_id}")

    def order(self, body: dict[str, Any], *, attempts: int | None = None) -> Outcome:
        return self.post("/orders", body, attempts=attempts)

    def cancel(
        self, order_id: str, body: dict[str, Any], *, attempts: int | None = None
    ) -> Outcome:
        return self.post(f"/orders/{order_id}/cancellations", body, attempts=attempts)

    def orders_changed(self, changed_since: dt.datetime) -> list[dict[str, Any]]:
        """Every order changed at or after ``changed_since`` (section 7.6), page after page
        by ``next_cursor``; an order listed twice (changed while paging) kept in its copy
        with the greatest ``changed_at``, in the order of the list."""
        since = changed_since.astimezone(dt.UTC).isoformat(timespec="seconds")
        params = {"changed_since": since.replace("+00:00", "Z")}
        latest: dict[str, dict[str, Any]] = {}
        while True:
            response = self.get("/orders", **params)
            response.raise_for_status()
            page = response.json()
            for order in page["orders"]:
                kept = latest.get(order["id"])
                if kept is None or _instant(order["changed_at"]) >= _instant(kept["changed_at"]):
                    latest.pop(order["id"], None)
                    latest[order["id"]] = order
            if page["next_cursor"] is None:
                return list(latest.values())
            params = {"cursor": page["next_cursor"]}

    def order_by_reference(self, reference: str) -> dict[str, Any] | None:
        response = self.get("/orders", reseller_order_ref=reference)
        response.raise_for_status()
        orders: list[dict[str, Any]] = response.json()["orders"]
        return orders[0] if orders else None


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _retry_after(response: httpx.Response, attempt: int) -> float:
    value = response.headers.get("Retry-After", "")
    if value.isdigit():
        return float(value)
    return min(0.2 * 2 ** (attempt - 1), 5.0)
