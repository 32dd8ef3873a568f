"""A conformance client written from realtime-api-v1 alone: it runs the worked example of
section 17.1 (browse, hold, order, retry, cancel one ticket) against ``python -m
reseller_sync realtime conformance`` started as a subprocess, and leaves the availability
as it found it, so that it runs again (section 16): here it runs twice."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENT = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)])}
PROBLEM = "urn:problem-type:reseller-sync:"


@pytest.fixture(scope="module")
def sandbox() -> Any:
    """The conformance sandbox: its announced base URL and keys."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "reseller_sync", "realtime", "conformance", "--port", str(port)],
        cwd=REPO,
        env=ENVIRONMENT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 90)
        assert ready, "the sandbox announced nothing within 90 s"
        import json

        announcement = json.loads(process.stdout.readline())
        yield announcement
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()


class Client:
    """What a reseller writes from the contract: a bearer key, a correlation id per
    operation, an idempotency key per POST (kept for its retries)."""

    def __init__(self, base_url: str, key: str) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10
        )

    def get(self, path: str, **params: str) -> httpx.Response:
        response = self.http.get(path, params=params, headers=self._correlation())
        assert response.headers["cache-control"] in ("no-store", "private, max-age=60")
        return response

    def post(self, path: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": key or str(uuid.uuid4()), **self._correlation()}
        return self.http.post(path, json=body, headers=headers)

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(path, headers=self._correlation())

    @staticmethod
    def _correlation() -> dict[str, str]:
        return {"X-Correlation-Id": f"conf-{uuid.uuid4().hex[:12]}"}

    def counts(self, performance: str) -> dict[str, tuple[int, int, int, int]]:
        answer = self.get(f"/performances/{performance}/availability")
        assert answer.status_code == 200
        return {
            c["category_id"]: (c["quota"], c["held"], c["sold"], c["available"])
            for c in answer.json()["categories"]
        }


def run_section_17_1(client: Client) -> None:
    # 1. The catalogue.
    catalogue = client.get("/products")
    assert catalogue.status_code == 200
    assert catalogue.headers["etag"]
    etag = catalogue.headers["etag"]
    assert client.http.get("/products", headers={"If-None-Match": etag}).status_code == 304
    products = {p["id"]: p for p in catalogue.json()["products"]}
    performance = products["CONF-EVT"]["performances"][0]
    assert performance["id"] == "CONF-EVT-1"
    cat1 = next(c for c in performance["categories"] if c["id"] == "CAT1")
    prices = {t["id"]: t["price"] for t in cat1["tariffs"]}
    assert prices == {"FULL": 6500, "REDUCED": 4500}
    before = {pid: client.counts(pid) for pid in ("CONF-EVT-1", "CONF-RACE-1")}

    # 2. The free seats.
    seated = client.get("/performances/CONF-EVT-1/availability", seats="true").json()
    free = next(c for c in seated["categories"] if c["category_id"] == "CAT1")["seats"]
    assert len(free) >= 6
    chosen = [seat["id"] for seat in free[:2]]

    # 3. Hold both.
    held = client.post(
        "/holds",
        {"lines": [{"performance_id": "CONF-EVT-1", "seat_id": s} for s in chosen],
         "expires_in": 600},
    )  # fmt: skip
    assert held.status_code == 201, held.text
    hold = held.json()
    assert held.headers["location"].endswith(f"/holds/{hold['id']}")
    assert [p["seat"]["id"] for p in hold["places"]] == chosen
    assert client.counts("CONF-EVT-1")["CAT1"][3] == before["CONF-EVT-1"]["CAT1"][3] - 2

    # 4. The order (conf-a compares the price itself, strictly), then its lost answer retried.
    order_key = str(uuid.uuid4())
    order_body = {
        "hold_id": hold["id"],
        "reseller_order_ref": f"CONF-{uuid.uuid4().hex[:16]}",
        "sold_at": "2026-11-28T13:04:40+01:00",
        "currency": "EUR",
        "point_of_sale": "WEB",
        "lines": [
            {"hold_place_id": hold["places"][0]["id"], "tariff_id": "FULL",
             "price": prices["FULL"], "commission": 350},
            {"hold_place_id": hold["places"][1]["id"], "tariff_id": "REDUCED",
             "price": prices["REDUCED"], "commission": 350},
        ],
    }  # fmt: skip
    ordered = client.post("/orders", order_body, key=order_key)
    assert ordered.status_code == 201, ordered.text
    order = ordered.json()
    assert order["status"] == "confirmed"
    assert order["payment"] == {"method": "pending_account", "amount": 11000, "currency": "EUR"}
    assert [t["status"] for t in order["tickets"]] == ["valid", "valid"]
    retried = client.post("/orders", order_body, key=order_key)
    assert retried.status_code == 201
    assert retried.headers["idempotent-replayed"] == "true"
    assert retried.json() == order
    reused = client.post("/orders", {**order_body, "point_of_sale": "APP"}, key=order_key)
    assert reused.status_code == 422
    assert reused.json()["type"] == PROBLEM + "idempotency-key-reused"
    assert client.get(f"/holds/{hold['id']}").json()["status"] == "ordered"

    # 5. Zoé cannot come: cancel her ticket.
    cancelled = client.post(
        f"/orders/{order['id']}/cancellations",
        {"reseller_cancellation_ref": f"CONF-C-{uuid.uuid4().hex[:12]}",
         "reason": "customer_request", "cancelled_at": "2026-11-28T13:30:00+01:00",
         "ticket_ids": [order["tickets"][1]["id"]], "refund_amount": 4500},
    )  # fmt: skip
    assert cancelled.status_code == 201, cancelled.text
    cancellation = cancelled.json()
    assert cancellation["barcodes"] == [order["tickets"][1]["barcode"]]
    assert cancellation["order"]["status"] == "partially_cancelled"
    assert cancellation["order"]["payment"]["amount"] == 6500
    seats_now = client.counts("CONF-EVT-1")["CAT1"]
    assert seats_now[3] == before["CONF-EVT-1"]["CAT1"][3] - 1
    listed = client.get("/orders", reseller_order_ref=order_body["reseller_order_ref"]).json()
    assert [o["id"] for o in listed["orders"]] == [order["id"]]

    # Leave the availability as found: cancel the rest, release a hold made and left.
    rest = client.post(
        f"/orders/{order['id']}/cancellations",
        {"reseller_cancellation_ref": f"CONF-C-{uuid.uuid4().hex[:12]}",
         "reason": "reseller_error", "cancelled_at": "2026-11-28T13:31:00+01:00",
         "refund_amount": 0},
    )  # fmt: skip
    assert rest.status_code == 201, rest.text
    assert rest.json()["order"]["status"] == "cancelled"
    spare = client.post(
        "/holds",
        {"lines": [{"performance_id": "CONF-EVT-1", "category_id": "FREE", "quantity": 2}]},
    )
    assert spare.status_code == 201
    assert client.delete(f"/holds/{spare.json()['id']}").status_code == 204
    after = {pid: client.counts(pid) for pid in ("CONF-EVT-1", "CONF-RACE-1")}
    assert after == before


def test_section_17_1_against_the_conformance_sandbox_twice(sandbox: Any) -> None:
    assert sandbox["base_url"].startswith("http://127.0.0.1:")
    assert sandbox["base_url"].endswith("/realtime/v1")
    assert set(sandbox["keys"]) == {"conf-a", "conf-b"}
    client = Client(sandbox["base_url"], sandbox["keys"]["conf-a"])
    assert client.get("/health").json()["reseller_id"] == "conf-a"
    run_section_17_1(client)
    run_section_17_1(client)  # it left the availability as it found it


def test_the_sandbox_keeps_each_reseller_to_its_own(sandbox: Any) -> None:
    conf_b = Client(sandbox["base_url"], sandbox["keys"]["conf-b"])
    kinds = conf_b.get("/products").json()["product_kinds"]
    assert kinds == ["event"]
    missing = conf_b.get("/products/CONF-PASS")
    assert missing.status_code == 404
    assert missing.json()["type"] == PROBLEM + "not-found"
    held = conf_b.post("/holds", {"lines": [{"performance_id": "CONF-EVT-1", "seat_id": "A-1-1"}]})
    assert held.status_code in (409, 422), held.text  # conf-a's seat, never conf-b's
    anonymous = httpx.get(sandbox["base_url"] + "/products")
    assert anonymous.status_code == 401
