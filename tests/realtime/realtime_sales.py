"""A synchronous reseller's customer buying, for the tests of the batch side: one order of
a product, as the reseller's client builds it from the catalogue (realtime-api-v1 sections
7.2 to 7.5 and 9), placed through the store functions or over HTTP against the service.

Not a test module: imported by tests/resellers/test_contract.py and the onboarding tests.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from reseller_sync.realtime.context import ResellerContext

COMMISSION = 150


@dataclass(frozen=True)
class Choice:
    """What the customer picks from the catalogue: a performance, a category, a tariff."""

    product: dict[str, Any]
    performance_id: str
    category_id: str
    tariff_id: str
    price: int
    """The tariff's box-office price."""


def choose(catalogue: dict[str, Any], product_id: str) -> Choice:
    """The first performance, category and tariff of the product in the catalogue."""
    [product] = [p for p in catalogue["products"] if p["id"] == product_id]
    performance = product["performances"][0]
    category = performance["categories"][0]
    tariff = category["tariffs"][0]
    return Choice(product, performance["id"], category["id"], tariff["id"], int(tariff["price"]))


def hold_body(choice: Choice, quantity: int) -> dict[str, Any]:
    return {
        "lines": [
            {
                "performance_id": choice.performance_id,
                "category_id": choice.category_id,
                "quantity": quantity,
            }
        ]
    }


def order_body(
    catalogue: dict[str, Any],
    choice: Choice,
    hold: dict[str, Any],
    reference: str,
    sold_at: dt.datetime,
) -> dict[str, Any]:
    """The order of every place of the hold at the chosen tariff, priced as the reseller's
    price check compares (section 9)."""
    commission = COMMISSION
    compare = catalogue["price_check"]["compare"]
    price = choice.price + commission if compare == "price_minus_commission" else choice.price
    lines = []
    for place in hold["places"]:
        line: dict[str, Any] = {
            "hold_place_id": place["id"],
            "tariff_id": choice.tariff_id,
            "price": price,
            "commission": commission,
        }
        if choice.product["beneficiary_required"]:
            line["beneficiary"] = {"first_name": "Zoé", "last_name": "Martin"}
        lines.append(line)
    return {
        "hold_id": hold["id"],
        "reseller_order_ref": reference,
        "sold_at": sold_at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "currency": choice.product["currency"],
        "point_of_sale": "WEB",
        "lines": lines,
    }


def order_in_store(
    session: Session,
    reseller: ResellerContext,
    product_id: str,
    reference: str,
    now: dt.datetime,
    quantity: int = 2,
) -> dict[str, Any]:
    """One order of the product placed through the store functions the service calls."""
    from reseller_sync.realtime.catalogue import catalogue
    from reseller_sync.realtime.holds import create_hold
    from reseller_sync.realtime.orders import create_order

    shown = catalogue(session, reseller, now)
    choice = choose(shown, product_id)
    hold = create_hold(session, reseller, hold_body(choice, quantity), now)
    return create_order(session, reseller, order_body(shown, choice, hold, reference, now), now)


# --------------------------------------------------------------------------- over HTTP


@dataclass(frozen=True)
class Service:
    base_url: str


@contextlib.contextmanager
def serving(engine: Engine) -> Iterator[Service]:
    """The service (``create_app(engine)``) served by uvicorn in a thread on a free port of
    127.0.0.1, until the block ends."""
    import uvicorn

    from reseller_sync.realtime.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the service did not start")
        time.sleep(0.05)
    try:
        yield Service(f"http://127.0.0.1:{port}/realtime/v1")
    finally:
        server.should_exit = True
        thread.join(10)


def order_over_http(
    base_url: str, key: str, product_id: str, reference: str, quantity: int = 2
) -> dict[str, Any]:
    """One order of the product, as the reseller's client places it: the catalogue, a hold,
    then the order, each ``POST`` with its own ``Idempotency-Key``."""
    import httpx

    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=10) as client:
        shown = client.get("/products")
        shown.raise_for_status()
        catalogue = shown.json()
        choice = choose(catalogue, product_id)
        held = client.post("/holds", json=hold_body(choice, quantity), headers=_idempotency())
        assert held.status_code == 201, held.text
        body = order_body(catalogue, choice, held.json(), reference, dt.datetime.now(dt.UTC))
        ordered = client.post("/orders", json=body, headers=_idempotency())
        assert ordered.status_code == 201, ordered.text
        result: dict[str, Any] = ordered.json()
        return result


def get_order_over_http(base_url: str, key: str, order_id: str) -> dict[str, Any]:
    import httpx

    answer = httpx.get(
        f"{base_url}/orders/{order_id}", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def _idempotency() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}
