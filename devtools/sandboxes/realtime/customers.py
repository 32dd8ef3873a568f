"""The sandbox reseller's customers, played against the box office's real-time service
(realtime-api-v1): each browses the catalogue, reads a performance's availability, holds 1
to 4 places, pays (the order) or gives up (the hold released), and some come back later to
cancel; the reseller keeps its books (:class:`~devtools.sandboxes.realtime.ledger.Ledger`).
Before each customer, the reseller's back office asks the box office for the orders changed
since its last poll (``GET /orders?changed_since=``, section 7.6) and records in its books
the cancellations the organiser made (:meth:`Customers.learn_changes`).

Prices follow the reseller's ``price_check`` as the catalogue says (section 9): with
``price`` a line's price is the tariff's and includes the commission; with
``price_minus_commission`` the commission is added on top. Faults (:class:`CustomerFault`)
play what goes wrong in real life; each records in the ledger the difference it should cause
at the nightly reconciliation (section 14), or none.

The reseller's clock gives ``sold_at`` and ``cancelled_at`` in the organiser's offset; a
:class:`SimulatedClock` lets a test play a whole day in a second (the box office's clock
being the same object).
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from devtools.sandboxes.names import FIRST_NAMES, LAST_NAMES
from devtools.sandboxes.realtime.client import LossyTransport, Outcome, RealtimeClient
from devtools.sandboxes.realtime.ledger import Ledger, LedgerCancellation, LedgerLine, LedgerOrder
from devtools.sandboxes.realtime.people import make_buyer

COMMISSION = 150
"""The reseller's commission on each ticket, in minor units."""
POINTS_OF_SALE = ("WEB", "APP", "WEB", "WEB", "KIOSK-1")


class CustomerFault(StrEnum):
    RETRIED = "retried"
    """The answers of the hold and of the order are lost once each; the client retries with
    the same key and gets the stored answers: no difference."""
    LOST_RESPONSE = "lost-response"
    """The order commits but its ``201`` is lost and the client does not retry: the books
    say ``order_id`` null; missing_at_reseller."""
    LOST_REQUEST = "lost-request"
    """The ``POST /orders`` never reaches the box office and the client does not retry; the
    customer paid: missing_at_box_office."""
    PRICE_OFF = "price-off"
    """Every line 100 above the catalogue's price: refused under ``strict`` (no sale), a
    price_warning under ``warn``."""
    LOST_CANCELLATION = "lost-cancellation"
    """A cancellation that never reaches the box office (no retry), the customer refunded:
    status_mismatch."""
    CANCELLATION_ANSWER_LOST = "cancellation-answer-lost"
    """A cancellation committed whose answer is lost (no retry): no difference, the
    reference matches."""
    CONTACT_SENT = "contact-sent"
    """The order is first sent with the buyer's e-mail (``buyer_email``) and the phone in
    the beneficiary's first name; refused ``422 personal-data-refused``, it is sent again
    without them under a new key: no difference, and nothing of the contact kept."""


ORDER_FAULTS = frozenset(
    {
        CustomerFault.RETRIED,
        CustomerFault.LOST_RESPONSE,
        CustomerFault.LOST_REQUEST,
        CustomerFault.PRICE_OFF,
        CustomerFault.CONTACT_SENT,
    }
)
CANCELLATION_FAULTS = frozenset(
    {CustomerFault.LOST_CANCELLATION, CustomerFault.CANCELLATION_ANSWER_LOST}
)


class Clock(Protocol):
    def now(self) -> dt.datetime: ...
    def pass_time(self, seconds: float) -> None: ...


class RealClock:
    """The machine's clock; time passing while a customer pays is not waited for."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def pass_time(self, seconds: float) -> None:
        return None


@dataclass
class SimulatedClock:
    """A clock that moves only when told (shared by the reseller and, in tests, the box
    office)."""

    moment: dt.datetime
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> dt.datetime:
        with self.lock:
            return self.moment

    def pass_time(self, seconds: float) -> None:
        with self.lock:
            self.moment += dt.timedelta(seconds=seconds)

    def set(self, moment: dt.datetime) -> None:
        with self.lock:
            self.moment = moment


@dataclass
class Visit:
    """What one customer did, for the log and the tests."""

    reference: str | None = None
    outcome: str = ""
    fault: CustomerFault | None = None


class Customers:
    """The customers of one reseller, on its client and books."""

    def __init__(
        self,
        client: RealtimeClient,
        transport: LossyTransport,
        ledger: Ledger,
        *,
        clock: Clock,
        seed: int | None = None,
        reference_prefix: str = "SBX-",
        cancel_rate: float = 0.2,
        abandon_rate: float = 0.1,
        fault_rate: float = 0.0,
    ) -> None:
        self.client = client
        self.transport = transport
        self.ledger = ledger
        self.clock = clock
        self.rng = random.Random(seed)
        self.reference_prefix = reference_prefix
        self.cancel_rate = cancel_rate
        self.abandon_rate = abandon_rate
        self.fault_rate = fault_rate
        self.zone = ZoneInfo(ledger.timezone)
        self._catalogue: dict[str, Any] | None = None
        self.contacts_sent: list[str] = []
        """Every contact value sent to the box office (and refused), for the tests."""

    # ------------------------------------------------------------------- a day

    def play(
        self,
        visits: int,
        *,
        faults: Mapping[int, CustomerFault] | None = None,
        gap: Callable[[random.Random], float] = lambda rng: rng.uniform(300, 1800),
    ) -> list[Visit]:
        """``visits`` customers one after the other, ``gap`` seconds apart (reseller's
        clock); ``faults`` by visit number (from 0), else drawn at ``fault_rate``. A
        cancellation fault falls on the cancellation of that visit (it cancels an earlier
        order)."""
        played = []
        pending: CustomerFault | None = None
        for number in range(visits):
            self.clock.pass_time(gap(self.rng))
            self.learn_changes()
            fault = (faults or {}).get(number) or pending
            if fault is None and faults is None and self.rng.random() < self.fault_rate:
                fault = self.rng.choice(list(CustomerFault))
            pending = None
            if fault in CANCELLATION_FAULTS or (
                fault is None and self.rng.random() < self.cancel_rate
            ):
                visit = self.cancel_one(fault)
                if visit.outcome != "nothing to cancel":
                    played.append(visit)
                    continue
            visit = self.buy(fault if fault in ORDER_FAULTS else None)
            if fault is not None and visit.reference is None:
                pending = fault  # the customer found nothing to buy: the next one gets it
            played.append(visit)
        return played

    # ------------------------------------------------------------------- the back office

    def learn_changes(self) -> list[LedgerCancellation]:
        """Poll the orders changed since the last poll (section 7.6: its start minus 60 s)
        and record the organiser's cancellations the books lack; what it recorded. The
        poll's start is kept only once every page came (an error leaves it as it was)."""
        started = self._local_now()
        since = self.ledger.changes_since()
        learned = []
        if since is not None:
            for order in self.client.orders_changed(since):
                learned += self.ledger.learn_order(order, self.reference_prefix)
        self.ledger.changes_polled_at = started
        return learned

    # ------------------------------------------------------------------- buying

    def catalogue(self) -> dict[str, Any]:
        if self._catalogue is None:
            self._catalogue = self.client.catalogue()
        return self._catalogue

    def forget_catalogue(self) -> None:
        """The next customer reads the catalogue again (it changes with the organiser's
        settings)."""
        self._catalogue = None

    def buy(self, fault: CustomerFault | None = None, *, only: str | None = None) -> Visit:
        """One customer: browse, hold, pay (or give up); ``only``: that product's id alone
        (the onboarding's test order)."""
        catalogue = self.catalogue()
        choice = self._choose(catalogue, only)
        if choice is None:
            return Visit(outcome="nothing on sale", fault=fault)
        product, performance, category = choice
        seated = category["placement"] == "seated"
        availability = self.client.availability(performance["id"], seats=seated)
        counts = {c["category_id"]: c for c in availability["categories"]}[category["id"]]
        wanted = min(self.rng.randint(1, 4), counts["available"])
        if wanted == 0:
            return Visit(outcome="sold out", fault=fault)
        if seated and counts.get("seats") and self.rng.random() < 0.7:
            start = self.rng.randrange(0, len(counts["seats"]) - wanted + 1)
            seats = counts["seats"][start : start + wanted]
            lines = [{"performance_id": performance["id"], "seat_id": s["id"]} for s in seats]
        else:
            lines = [
                {
                    "performance_id": performance["id"],
                    "category_id": category["id"],
                    "quantity": wanted,
                }
            ]
        if fault is CustomerFault.RETRIED:
            self.transport.lose_answers(1)
        held = self.client.hold(lines)
        if held.status != 201:
            return Visit(outcome=f"hold refused: {held.problem}", fault=fault)
        hold = held.json()
        self.clock.pass_time(self.rng.uniform(20, 240))
        if fault is None and self.rng.random() < self.abandon_rate:
            self.client.release(hold["id"])
            return Visit(outcome="gave up, hold released")
        return self._order(catalogue, product, category, hold, fault)

    def _choose(
        self, catalogue: dict[str, Any], only: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None:
        options = [
            (product, performance, category)
            for product in catalogue["products"]
            if only is None or product["id"] == only
            for performance in product["performances"]
            for category in performance["categories"]
        ]
        return self.rng.choice(options) if options else None

    def _order(
        self,
        catalogue: dict[str, Any],
        product: dict[str, Any],
        category: dict[str, Any],
        hold: dict[str, Any],
        fault: CustomerFault | None,
    ) -> Visit:
        compare = catalogue["price_check"]["compare"]
        reference = self.ledger.next_reference(self.reference_prefix)
        sold_at = self._local_now()
        lines = []
        for place in hold["places"]:
            tariff = self.rng.choice(category["tariffs"])
            price = tariff["price"] + (COMMISSION if compare == "price_minus_commission" else 0)
            if fault is CustomerFault.PRICE_OFF:
                price += 100
            line: dict[str, Any] = {
                "hold_place_id": place["id"],
                "tariff_id": tariff["id"],
                "price": price,
                "commission": COMMISSION,
            }
            if product["beneficiary_required"]:
                line["beneficiary"] = {
                    "first_name": self.rng.choice(FIRST_NAMES),
                    "last_name": self.rng.choice(LAST_NAMES),
                }
            lines.append(line)
        body = {
            "hold_id": hold["id"],
            "reseller_order_ref": reference,
            "sold_at": sold_at,
            "currency": product["currency"],
            "point_of_sale": self.rng.choice(POINTS_OF_SALE),
            "lines": lines,
        }
        attempts = None
        if fault is CustomerFault.RETRIED:
            self.transport.lose_answers(1)
        elif fault is CustomerFault.LOST_RESPONSE:
            self.transport.lose_answers(1)
            attempts = 1
        elif fault is CustomerFault.LOST_REQUEST:
            self.transport.lose_requests(1)
            attempts = 1
        if fault is CustomerFault.CONTACT_SENT:
            buyer = make_buyer(self.rng)
            first = dict(lines[0], beneficiary={"first_name": buyer.phone, "last_name": "X"})
            refused = self.client.order(
                {**body, "buyer_email": buyer.email, "lines": [first, *lines[1:]]}
            )
            self.contacts_sent += [buyer.email, buyer.phone]
            if refused.problem != "personal-data-refused":
                return Visit(reference, f"contact not refused: {refused.status}", fault)
        outcome = self.client.order(body, attempts=attempts)
        if outcome.response is None:
            self._book(body, hold, category, None)
            kind = (
                "missing_at_reseller"
                if fault is CustomerFault.LOST_RESPONSE
                else "missing_at_box_office"
            )
            self.ledger.inject(kind, reference, sold_at, str(fault))
            return Visit(reference, "sold, no answer", fault)
        if outcome.status != 201:
            return Visit(reference, f"order refused: {outcome.problem}, customer refunded", fault)
        order = outcome.json()
        self._book(body, hold, category, order)
        if order["warnings"]:
            self.ledger.inject("price_warning", reference, sold_at, str(fault))
        return Visit(reference, "sold", fault)

    def _book(
        self,
        body: dict[str, Any],
        hold: dict[str, Any],
        category: dict[str, Any],
        order: dict[str, Any] | None,
    ) -> None:
        places = {place["id"]: place for place in hold["places"]}
        tickets = {t["hold_place_id"]: t for t in order["tickets"]} if order else {}
        lines = []
        for line in body["lines"]:
            place = places[line["hold_place_id"]]
            ticket = tickets.get(line["hold_place_id"])
            seat = (ticket or place).get("seat")
            lines.append(
                LedgerLine(
                    ticket_id=ticket["id"] if ticket else None,
                    barcode=ticket["barcode"] if ticket else None,
                    performance_id=place["performance_id"],
                    category_id=category["id"],
                    seat_id=seat["id"] if seat else None,
                    tariff_id=line["tariff_id"],
                    price=line["price"],
                    commission=line["commission"],
                )
            )
        self.ledger.orders.append(
            LedgerOrder(
                reseller_order_ref=body["reseller_order_ref"],
                order_id=order["id"] if order else None,
                sold_at=body["sold_at"],
                point_of_sale=body["point_of_sale"],
                currency=body["currency"],
                lines=lines,
            )
        )

    # ------------------------------------------------------------------- cancelling

    def cancel_one(self, fault: CustomerFault | None = None) -> Visit:
        """A customer of an earlier order cancels some or all of its tickets."""
        cancellable = [
            order
            for order in self.ledger.orders
            if order.order_id is not None
            and any(not line.cancelled and line.ticket_id for line in order.lines)
        ]
        if not cancellable:
            return Visit(outcome="nothing to cancel", fault=fault)
        order = self.rng.choice(cancellable)
        valid = [line for line in order.lines if not line.cancelled and line.ticket_id]
        chosen = (
            valid
            if self.rng.random() < 0.5
            else self.rng.sample(valid, self.rng.randint(1, len(valid)))
        )
        refund = sum(
            line.price - (line.commission if self.rng.random() < 0.5 else 0) for line in chosen
        )
        reference = f"{self.reference_prefix}C-{self.ledger.next_reference('')}"
        cancelled_at = self._local_now()
        body = {
            "reseller_cancellation_ref": reference,
            "reason": "customer_request",
            "cancelled_at": cancelled_at,
            "ticket_ids": [line.ticket_id for line in chosen],
            "refund_amount": refund,
        }
        attempts = None
        if fault is CustomerFault.LOST_CANCELLATION:
            self.transport.lose_requests(1)
            attempts = 1
        elif fault is CustomerFault.CANCELLATION_ANSWER_LOST:
            self.transport.lose_answers(1)
            attempts = 1
        assert order.order_id is not None
        outcome: Outcome = self.client.cancel(order.order_id, body, attempts=attempts)
        if outcome.response is not None and outcome.status != 201:
            return Visit(
                order.reseller_order_ref, f"cancellation refused: {outcome.problem}", fault
            )
        cancellation = outcome.json() if outcome.response is not None else None
        for line in chosen:
            line.cancelled = True
        self.ledger.cancellations.append(
            LedgerCancellation(
                reseller_cancellation_ref=reference,
                cancellation_id=cancellation["id"] if cancellation else None,
                reseller_order_ref=order.reseller_order_ref,
                order_id=order.order_id,
                cancelled_at=cancelled_at,
                reason="customer_request",
                ticket_ids=[str(line.ticket_id) for line in chosen],
                barcodes=[str(line.barcode) for line in chosen],
                refund_amount=refund,
                currency=order.currency,
            )
        )
        if fault is CustomerFault.LOST_CANCELLATION:
            self.ledger.inject(
                "status_mismatch", order.reseller_order_ref, cancelled_at, str(fault)
            )
        return Visit(order.reseller_order_ref, "cancelled", fault)

    def _local_now(self) -> str:
        return self.clock.now().astimezone(self.zone).isoformat(timespec="seconds")
