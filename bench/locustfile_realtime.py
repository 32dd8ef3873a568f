"""Locust users of the real-time load benchmark (``bench_realtime_load.py``): two resellers
at the mix of realtime-api-v1, section 15.

One user class per reseller (``bench-a``, ``bench-b``), ``BENCH_REALTIME_USERS`` users each,
paced together at ``BENCH_REALTIME_RATE`` requests a second per reseller (20). The mix of
each: 60 % availability (one in ten with ``seats=true``), 15 % holds of 1 to 4 places, 10 %
orders of the reseller's own holds, 5 % cancellations of its own orders, 5 % ``GET
/orders/{id}``, 5 % catalogue. A hold names seats seen in the last ``seats=true`` answer,
asks for the best seats of ``CAT1``, or asks for places of the pit. An order or a
cancellation with nothing to act on yet is sent as a hold, or an availability, instead.

Settings from the environment (the benchmark sets them): ``BENCH_REALTIME_KEYS`` (JSON,
reseller -> API key), ``BENCH_REALTIME_PERFORMANCE``, ``BENCH_REALTIME_USERS``,
``BENCH_REALTIME_RATE``, ``BENCH_REALTIME_SAMPLES`` (a file: every request's operation,
reseller, status and milliseconds are written there as JSON when the run ends).

    locust -f bench/locustfile_realtime.py --headless --host http://127.0.0.1:8080 -t 120s
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sys
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any, ClassVar

from locust import constant_throughput, events, task
from locust.contrib.fasthttp import FastHttpUser

sys.path.insert(0, str(Path(__file__).resolve().parent))

from realtime_mix import (
    AVAILABILITY,
    AVAILABILITY_SEATS,
    CANCELLATION,
    CATALOGUE,
    GET_ORDER,
    HOLD,
    ORDER,
    PREFIX,
)

KEYS: dict[str, str] = json.loads(os.environ.get("BENCH_REALTIME_KEYS", "{}"))
PERFORMANCE = os.environ.get("BENCH_REALTIME_PERFORMANCE", "BENCH-ARENA-1")
USERS = int(os.environ.get("BENCH_REALTIME_USERS", "20"))
RATE = float(os.environ.get("BENCH_REALTIME_RATE", "20"))
SAMPLES_FILE = os.environ.get("BENCH_REALTIME_SAMPLES")
HOLD_SECONDS = 120
"""A hold the customer abandons ends this soon, so that the quota does not run dry."""
ORDER_WITHIN = 90
"""Orders are made from holds younger than this (well before they expire)."""
PRICES = {("CAT1", "FULL"): 6500, ("CAT1", "REDUCED"): 4500, ("FOSSE", "FULL"): 3900}


samples: list[tuple[str, str, int, float]] = []
"""(operation, reseller, status (0: no answer), milliseconds) of every request."""


@events.request.add_listener
def _record(
    name: str,
    response_time: float,
    response: Any = None,
    context: dict[str, Any] | None = None,
    **_: Any,
) -> None:
    status = getattr(response, "status_code", 0) or 0
    reseller = (context or {}).get("reseller", "")
    samples.append((name, reseller, int(status), float(response_time)))


@events.quitting.add_listener
def _write_samples(**_: Any) -> None:
    if SAMPLES_FILE:
        with open(SAMPLES_FILE, "w", encoding="utf-8") as file:
            json.dump(samples, file)


class _Shop:
    """A reseller's side, shared by its users: its holds not yet ordered, its orders."""

    def __init__(self) -> None:
        self.holds: deque[tuple[float, dict[str, Any]]] = deque()
        self.orders: list[tuple[str, int]] = []
        """(order id, total price) of the orders not cancelled yet."""
        self.order_ids: deque[str] = deque(maxlen=500)
        self.free_seats: list[str] = []
        self.references = 0

    def reference(self, prefix: str) -> str:
        self.references += 1
        return f"{prefix}-{os.getpid()}-{self.references}"


class ResellerUser(FastHttpUser):
    abstract = True
    reseller: ClassVar[str] = ""
    compare: ClassVar[str] = "price"
    fixed_count = USERS
    wait_time = constant_throughput(RATE / USERS)
    shop: ClassVar[_Shop]

    def context(self) -> dict[str, Any]:
        return {"reseller": self.reseller}

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {KEYS[self.reseller]}"}
        self.random = random.Random()

    # ------------------------------------------------------------------ the mix

    @task(54)
    def availability(self) -> None:
        self._get(f"{PREFIX}/performances/{PERFORMANCE}/availability", AVAILABILITY)

    @task(6)
    def availability_seats(self) -> None:
        answer = self._get(
            f"{PREFIX}/performances/{PERFORMANCE}/availability?seats=true", AVAILABILITY_SEATS
        )
        if answer is not None:
            for category in answer["categories"]:
                if category["category_id"] == "CAT1":
                    self.shop.free_seats = [seat["id"] for seat in category.get("seats", [])]

    @task(15)
    def hold(self) -> None:
        quantity = self.random.randint(1, 4)
        draw = self.random.random()
        seats = self.shop.free_seats
        lines: list[dict[str, Any]]
        if draw < 0.3 and len(seats) > quantity:
            start = self.random.randrange(len(seats) - quantity)
            lines = [
                {"performance_id": PERFORMANCE, "seat_id": seat}
                for seat in seats[start : start + quantity]
            ]
        else:
            category = "FOSSE" if draw > 0.8 else "CAT1"
            lines = [{"performance_id": PERFORMANCE, "category_id": category, "quantity": quantity}]
        answer = self._post(f"{PREFIX}/holds", HOLD, {"lines": lines, "expires_in": HOLD_SECONDS})
        if answer is not None:
            self.shop.holds.append((time.monotonic(), answer))

    @task(10)
    def order(self) -> None:
        holds = self.shop.holds
        while holds and time.monotonic() - holds[0][0] > ORDER_WITHIN:
            holds.popleft()
        if not holds:
            self.hold()
            return
        _, hold = holds.pop()
        lines = []
        for place in hold["places"]:
            category = place["category_id"]
            tariff = "FULL" if category != "CAT1" or self.random.random() < 0.7 else "REDUCED"
            amount = PRICES[(category, tariff)]
            commission = 350
            price = amount + commission if self.compare == "price_minus_commission" else amount
            if self.compare == "price_minus_commission" and self.random.random() < 0.05:
                price -= 100  # accepted under warn, reported as a warning
            lines.append(
                {
                    "hold_place_id": place["id"],
                    "tariff_id": tariff,
                    "price": price,
                    "commission": commission,
                }
            )
        body = {
            "hold_id": hold["id"],
            "reseller_order_ref": self.shop.reference(self.reseller.upper()),
            "sold_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "currency": "EUR",
            "point_of_sale": "WEB",
            "lines": lines,
        }
        answer = self._post(f"{PREFIX}/orders", ORDER, body)
        if answer is not None:
            self.shop.orders.append((answer["id"], answer["total_price"]))
            self.shop.order_ids.append(answer["id"])

    @task(5)
    def cancellation(self) -> None:
        orders = self.shop.orders
        if not orders:
            self.availability()
            return
        order_id, total = orders.pop(self.random.randrange(len(orders)))
        body = {
            "reseller_cancellation_ref": self.shop.reference(f"{self.reseller.upper()}-C"),
            "reason": "customer_request",
            "cancelled_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "refund_amount": total,
        }
        self._post(f"{PREFIX}/orders/{order_id}/cancellations", CANCELLATION, body)

    @task(5)
    def get_order(self) -> None:
        if not self.shop.order_ids:
            self.availability()
            return
        order_id = self.random.choice(self.shop.order_ids)
        self._get(f"{PREFIX}/orders/{order_id}", GET_ORDER)

    @task(5)
    def catalogue(self) -> None:
        self._get(f"{PREFIX}/products", CATALOGUE)

    # ------------------------------------------------------------------ HTTP

    def _get(self, path: str, name: str) -> dict[str, Any] | None:
        with self.client.get(
            path, headers=self.headers, name=name, catch_response=True
        ) as response:
            return self._answer(response, 200)

    def _post(self, path: str, name: str, body: dict[str, Any]) -> dict[str, Any] | None:
        headers = {
            **self.headers,
            "Idempotency-Key": uuid.uuid4().hex,
            "X-Correlation-Id": f"bench-{uuid.uuid4().hex[:16]}",
        }
        with self.client.post(
            path, json=body, headers=headers, name=name, catch_response=True
        ) as response:
            return self._answer(response, 201)

    @staticmethod
    def _answer(response: Any, expected: int) -> dict[str, Any] | None:
        """The JSON body of an expected answer; a 5xx or no answer is a failure, a 4xx (a
        place taken, say) a normal answer of the service."""
        status = response.status_code or 0
        if status == 0 or status >= 500:
            response.failure(f"status {status}")
            return None
        response.success()
        if status != expected:
            return None
        result: dict[str, Any] = response.json()
        return result


class ResellerA(ResellerUser):
    reseller = "bench-a"
    compare = "price"
    shop = _Shop()


class ResellerB(ResellerUser):
    reseller = "bench-b"
    compare = "price_minus_commission"
    shop = _Shop()
