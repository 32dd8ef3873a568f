"""What the sandbox reseller believes it sold and cancelled, and its sales report of a day
(realtime-api-v1, section 13).

The ledger is the reseller's own books: an order it sold is in them whether or not the box
office's ``201`` came back (``order_id`` null when it did not), a cancellation likewise. A
day is cut in the organiser's time zone by the instants the reseller sent (``sold_at``,
``cancelled_at``). The organiser's cancellations (a performance cancelled, the onboarding's
test order) come into the books as the reseller learns them from ``GET /orders`` (section
7.6, :meth:`Ledger.learn_order`), under a reference of the reseller's own and the box
office's ``cancelled_at``. :class:`Injected` records each difference a fault was meant to
cause, so that a test can hold the nightly reconciliation to exactly those.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

ORGANISER_TIMEZONE = "Europe/Paris"
POLL_OVERLAP = dt.timedelta(seconds=60)
"""Section 7.6: a client that polls passes the start of its previous poll minus 60 s."""
ORGANISER = "organiser"


@dataclass
class LedgerLine:
    ticket_id: str | None
    barcode: str | None
    performance_id: str
    category_id: str
    seat_id: str | None
    tariff_id: str
    price: int
    commission: int
    cancelled: bool = False
    """Whether the reseller believes it cancelled the ticket."""


@dataclass
class LedgerOrder:
    reseller_order_ref: str
    order_id: str | None
    sold_at: str
    point_of_sale: str | None
    currency: str
    lines: list[LedgerLine]


@dataclass
class LedgerCancellation:
    reseller_cancellation_ref: str
    cancellation_id: str | None
    reseller_order_ref: str
    order_id: str | None
    cancelled_at: str
    reason: str
    ticket_ids: list[str]
    barcodes: list[str]
    refund_amount: int
    currency: str


@dataclass
class Injected:
    """A difference a fault was meant to cause, in the reconciliation's words."""

    kind: str
    """A difference of section 14 (``missing_at_reseller``...)."""
    reseller_order_ref: str
    day: str
    fault: str


@dataclass
class Ledger:
    reseller_id: str
    timezone: str = ORGANISER_TIMEZONE
    orders: list[LedgerOrder] = field(default_factory=list)
    cancellations: list[LedgerCancellation] = field(default_factory=list)
    injected: list[Injected] = field(default_factory=list)
    next_number: int = 1
    changes_polled_at: str | None = None
    """When the reseller's last ``GET /orders?changed_since=`` poll started (its clock)."""

    def next_reference(self, prefix: str) -> str:
        number = self.next_number
        self.next_number += 1
        return f"{prefix}{number:06d}"

    def day_of(self, instant: str) -> dt.date:
        """The organiser-local day of an instant the reseller sent."""
        return _instant(instant).astimezone(ZoneInfo(self.timezone)).date()

    def changes_since(self) -> dt.datetime | None:
        """What the next poll passes as ``changed_since`` (section 7.6): the start of the
        previous poll minus 60 s; before any poll, the first sale in the books minus 60 s;
        None while the books hold no sale (nothing to learn of)."""
        if self.changes_polled_at is not None:
            return _instant(self.changes_polled_at) - POLL_OVERLAP
        if not self.orders:
            return None
        return min(_instant(order.sold_at) for order in self.orders) - POLL_OVERLAP

    def learn_order(self, order: Mapping[str, Any], prefix: str) -> list[LedgerCancellation]:
        """Record the organiser's cancellations of a listed ``order`` (an Order of section
        7.5) that the books lack: their tickets cancelled, each cancellation under the
        reference ``<prefix>ORG-<its id>`` and filed under the box office's ``cancelled_at``;
        what it recorded. An order the books do not hold is left alone."""
        mine = next(
            (
                kept
                for kept in self.orders
                if kept.order_id == order["id"]
                or kept.reseller_order_ref == order["reseller_order_ref"]
            ),
            None,
        )
        if mine is None:
            return []
        known = {c.cancellation_id for c in self.cancellations if c.cancellation_id}
        learned = []
        for cancellation in order["cancellations"]:
            if cancellation["initiated_by"] != ORGANISER or cancellation["id"] in known:
                continue
            ticket_ids = list(cancellation["ticket_ids"])
            for line in mine.lines:
                if line.ticket_id in ticket_ids:
                    line.cancelled = True
            learned.append(
                LedgerCancellation(
                    reseller_cancellation_ref=f"{prefix}ORG-{cancellation['id']}",
                    cancellation_id=cancellation["id"],
                    reseller_order_ref=mine.reseller_order_ref,
                    order_id=order["id"],
                    cancelled_at=cancellation["cancelled_at"],
                    reason=cancellation["reason"],
                    ticket_ids=ticket_ids,
                    barcodes=list(cancellation["barcodes"]),
                    refund_amount=int(cancellation["refund_amount"]),
                    currency=cancellation["currency"],
                )
            )
        self.cancellations.extend(learned)
        return learned

    def inject(self, kind: str, reference: str, instant: str, fault: str) -> None:
        self.injected.append(Injected(kind, reference, self.day_of(instant).isoformat(), fault))

    def expected(self, day: dt.date) -> Counter[tuple[str, str]]:
        """The differences the faults of ``day`` were meant to cause: (kind, order ref)."""
        return Counter(
            (item.kind, item.reseller_order_ref)
            for item in self.injected
            if item.day == day.isoformat()
        )

    def report(self, day: dt.date, generated_at: dt.datetime, revision: int = 1) -> dict[str, Any]:
        """The sales report of ``day`` (section 13), from the books as they stand."""
        orders = [
            {
                "reseller_order_ref": order.reseller_order_ref,
                "order_id": order.order_id,
                "sold_at": order.sold_at,
                "point_of_sale": order.point_of_sale,
                "currency": order.currency,
                "lines": [
                    {k: v for k, v in asdict(line).items() if k != "cancelled"}
                    for line in order.lines
                ],
            }
            for order in self.orders
            if self.day_of(order.sold_at) == day
        ]
        cancellations = [
            asdict(cancellation)
            for cancellation in self.cancellations
            if self.day_of(cancellation.cancelled_at) == day
        ]
        return {
            "reseller_id": self.reseller_id,
            "date": day.isoformat(),
            "timezone": self.timezone,
            "generated_at": generated_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "revision": revision,
            "orders": orders,
            "cancellations": cancellations,
            "totals": totals(orders, cancellations),
        }


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def totals(
    orders: list[dict[str, Any]], cancellations: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The control sums of section 13, one per currency present."""
    sums: dict[str, Counter[str]] = defaultdict(Counter)
    for order in orders:
        row = sums[order["currency"]]
        row["orders"] += 1
        for line in order["lines"]:
            row["tickets"] += 1
            row["price"] += line["price"]
            row["commission"] += line["commission"]
    for cancellation in cancellations:
        row = sums[cancellation["currency"]]
        row["cancelled_tickets"] += len(cancellation["ticket_ids"])
        row["refund_amount"] += cancellation["refund_amount"]
    names = ("orders", "tickets", "price", "commission", "cancelled_tickets", "refund_amount")
    return [
        {"currency": currency, **{name: sums[currency][name] for name in names}}
        for currency in sorted(sums)
    ]
