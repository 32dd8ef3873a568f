"""The content of Ticketnet's batches, drawn from its state with a seeded random generator.

Each function changes the :class:`~devtools.sandboxes.ticketnet.state.PartnerState`
as Ticketnet would (places sold or back in the allocation, tickets issued or
refunded) and returns the records of one file, ready for
:func:`reseller_sync.ticketnet.writer.build_batch`. Numbering, writing and
faults are the partner's (:mod:`devtools.sandboxes.ticketnet.partner`).

Realism, in short (``ticketnet-exchange-v1`` section 7): sales come from the
allocation only (unsold seats, area places) at an active price type of the
last CATALOG, at its price; one to four tickets an order, in one performance
and price level; fees are 10 % of the face value; barcodes of 16 digits,
never reused; the web site and the app most of the time, with the buyer's
contact details (``buyer_*``), which shops do not collect; refunds of earlier
sales, whole transactions, fees kept for a customer's refund.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from devtools.sandboxes.ticketnet.people import (
    WEB,
    Buyer,
    Outlet,
    attendee,
    make_buyer,
    pick_outlet,
)
from devtools.sandboxes.ticketnet.state import (
    AreaHolding,
    PartnerState,
    Performance,
    SeatHolding,
    Ticket,
    performance_key,
    ticket_key,
)
from reseller_sync.ticketnet.names import FileType
from reseller_sync.ticketnet.schema import column_names

log = logging.getLogger(__name__)

ORDER_SIZES = {1: 45, 2: 35, 3: 12, 4: 8}
"""Tickets per order → weight."""
REFUND_REASONS = {"CUSTOMER": 70, "OUTLET_ERROR": 20, "PERFORMANCE_CANCELLED": 10}
FEE_RATE = Decimal("0.10")
BARCODE_PREFIX = "8142"
TRANSACTION_COLUMNS = column_names(FileType.TRANSACTIONS)

Record = dict[str, Any]


class SandboxError(Exception):
    """A command the sandbox cannot carry out with its current state."""


def fees_on(amount: str) -> str:
    """Ticketnet's fees on a face value: 10 %, to the cent."""
    return str((Decimal(amount) * FEE_RATE).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


# Places --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spot:
    """One sellable place: a seat, or one place of an area."""

    performance: Performance
    price_level: str
    seat: SeatHolding | None = None
    area: AreaHolding | None = None


def sellable(state: PartnerState, *, performance: str | None = None) -> list[Spot]:
    """Unsold places of the allocation whose price level is on sale at an active price type."""
    spots = []
    for seat in state.seats.values():
        if seat.sold:
            continue
        perf = state.performances[performance_key(seat.event_id, seat.performance_id)]
        if _on_sale(state, perf, seat.price_level) and performance in (None, perf.key):
            spots.append(Spot(perf, seat.price_level, seat=seat))
    for area in state.areas.values():
        if area.available <= 0:
            continue
        perf = state.performances[performance_key(area.event_id, area.performance_id)]
        if _on_sale(state, perf, area.price_level) and performance in (None, perf.key):
            spots.append(Spot(perf, area.price_level, area=area))
    return spots


def _on_sale(state: PartnerState, performance: Performance, level: str) -> bool:
    return bool(_active_types(state, performance, level))


def _active_types(state: PartnerState, performance: Performance, level: str) -> list[str]:
    return sorted(
        price_type
        for price_type in performance.prices.get(level, {})
        if (known := state.price_types.get(price_type)) is not None and known.active
    )


def _take(spot: Spot) -> dict[str, str]:
    """Mark the place sold; its place columns."""
    if spot.seat is not None:
        spot.seat.sold = True
        return {"section": spot.seat.section, "row": spot.seat.row, "seat": spot.seat.seat}
    assert spot.area is not None
    spot.area.sold += 1
    return {"area": spot.area.area}


def give_back(state: PartnerState, ticket: Ticket) -> None:
    """A refunded ticket's place returns to the allocation."""
    if ticket.area:
        holding = state.areas.get(f"{ticket.event_id}|{ticket.performance_id}|{ticket.area}")
        if holding is not None:
            holding.sold -= 1
        return
    key = f"{ticket.event_id}|{ticket.performance_id}|{ticket.section}|{ticket.row}|{ticket.seat}"
    seat = state.seats.get(key)
    if seat is not None:
        seat.sold = False


# Sales ---------------------------------------------------------------------------------


def _occurred(rng: random.Random, created: datetime) -> datetime:
    """A moment of the hour before the last minute 00 before ``created`` (section 3 point 10)."""
    hour = created.replace(minute=0, second=0)
    return hour - timedelta(seconds=rng.randrange(1, 3600))


def _transaction_id(state: PartnerState, prefix: str, moment: datetime) -> str:
    return f"{prefix}{moment:%y%m%d%H%M}-{state.next_counter('transaction') % 10000:04d}"


def _barcode(state: PartnerState) -> str:
    return f"{BARCODE_PREFIX}{state.next_counter('barcode'):012d}"


def _empty_record() -> Record:
    return dict.fromkeys(TRANSACTION_COLUMNS, "")


def sale_record(
    state: PartnerState,
    spot: Spot,
    *,
    transaction_id: str,
    line_id: int,
    price_type: str,
    outlet: Outlet,
    buyer: Buyer | None,
    holder: tuple[str, str],
    occurred_at: datetime,
    batch: int,
    test: bool = False,
) -> Record:
    """One SALE record on ``spot``, at the CATALOG price; the ticket recorded, the place sold."""
    amount = spot.performance.prices[spot.price_level][price_type]
    record = _empty_record()
    record.update(
        transaction_id=transaction_id,
        line_id=str(line_id),
        type="SALE",
        event_id=spot.performance.event_id,
        performance_id=spot.performance.performance_id,
        price_level=spot.price_level,
        price_type=price_type,
        amount=amount,
        fees="0.00" if test else fees_on(amount),
        currency="EUR",
        barcode=_barcode(state),
        attendee_first_name=holder[0],
        attendee_last_name=holder[1],
        outlet_id=outlet.id,
        outlet_name=outlet.name,
        occurred_at=stamp(occurred_at),
        test="true" if test else "false",
    )
    record.update(_take(spot))
    if buyer is not None:
        record.update(
            buyer_email=buyer.email, buyer_phone=buyer.phone, buyer_postcode=buyer.postcode
        )
        state.buyer_contacts.add(buyer.email, buyer.phone, buyer.postcode)
    ticket = Ticket(
        **{
            name: record[name]
            for name in (
                "transaction_id",
                "event_id",
                "performance_id",
                "section",
                "row",
                "seat",
                "area",
                "price_level",
                "price_type",
                "amount",
                "fees",
                "barcode",
                "attendee_first_name",
                "attendee_last_name",
                "outlet_id",
                "outlet_name",
                "occurred_at",
            )
        },
        line_id=line_id,
        test=test,
        batch=batch,
    )
    state.tickets[ticket.key] = ticket
    return record


def draw_sales(
    state: PartnerState, rng: random.Random, tickets: int, created: datetime, batch: int
) -> list[Record]:
    """Up to ``tickets`` SALE records, grouped in orders, from the allocation."""
    records: list[Record] = []
    while len(records) < tickets:
        spots = sellable(state)
        if not spots:
            break
        first = rng.choice(spots)
        size = rng.choices(list(ORDER_SIZES), weights=list(ORDER_SIZES.values()))[0]
        size = min(size, tickets - len(records))
        group = _neighbours(spots, first, size)
        outlet = pick_outlet(rng)
        buyer = make_buyer(rng)
        occurred_at = _occurred(rng, created)
        transaction_id = _transaction_id(state, "TX", occurred_at)
        types = _active_types(state, first.performance, first.price_level)
        for line_id, spot in enumerate(group, start=1):
            holder = (buyer.first_name, buyer.last_name) if line_id == 1 else attendee(rng, buyer)
            records.append(
                sale_record(
                    state,
                    spot,
                    transaction_id=transaction_id,
                    line_id=line_id,
                    price_type=rng.choice(types),
                    outlet=outlet,
                    buyer=buyer if outlet.remote else None,
                    holder=holder,
                    occurred_at=occurred_at,
                    batch=batch,
                )
            )
    return records


def _neighbours(spots: list[Spot], first: Spot, size: int) -> list[Spot]:
    """``first`` and other places of its performance and price level, seats side by side."""
    same = [
        s
        for s in spots
        if s is not first
        and s.performance.key == first.performance.key
        and s.price_level == first.price_level
    ]
    if first.seat is not None:
        same = [s for s in same if s.seat is not None]
        same.sort(
            key=lambda s: (
                s.seat is None
                or (s.seat.section, s.seat.row) != (first.seat.section, first.seat.row),  # type: ignore[union-attr]
                _seat_number(s),
            )
        )
        return [first, *same[: size - 1]]
    assert first.area is not None
    places = min(size, first.area.available)
    return [first] * places


def _seat_number(spot: Spot) -> tuple[int, str]:
    assert spot.seat is not None
    seat = spot.seat.seat
    return (int(seat), seat) if seat.isdigit() else (0, seat)


def draw_tests(
    state: PartnerState,
    rng: random.Random,
    created: datetime,
    batch: int,
    performances: Iterable[str],
    *,
    leave_out_last: bool = False,
) -> list[Record]:
    """Onboarding test SALE records: one per price level × price type of each performance's
    CATALOG, on places of the allocation, one transaction per performance (section 7.1)."""
    records: list[Record] = []
    for key in performances:
        performance = state.performances.get(key)
        if performance is None:
            raise SandboxError(f"Ticketnet knows no performance {key}")
        pairs = [
            (level, price_type)
            for level in sorted(performance.prices)
            for price_type in _active_types(state, performance, level)
        ]
        if leave_out_last:
            pairs = pairs[:-1]
        occurred_at = _occurred(rng, created)
        transaction_id = _transaction_id(state, "TS", occurred_at)
        line_id = 0
        missing = []
        for level, price_type in pairs:
            spots = [s for s in sellable(state, performance=key) if s.price_level == level]
            if not spots:
                missing.append(f"{level} × {price_type}")
                continue
            line_id += 1
            records.append(
                sale_record(
                    state,
                    spots[-1],
                    transaction_id=transaction_id,
                    line_id=line_id,
                    price_type=price_type,
                    outlet=WEB,
                    buyer=None,
                    holder=("Test", "Ticketnet"),
                    occurred_at=occurred_at,
                    batch=batch,
                    test=True,
                )
            )
        if missing:
            log.warning("No test ticket for %s of performance %s: no place", missing, key)
        if line_id:
            performance.tested = True
    if not records:
        raise SandboxError("Ticketnet holds no place to sell test tickets on: allocate first")
    return records


def untested(state: PartnerState) -> list[str]:
    """Performances without test tickets yet, for which Ticketnet holds places to sell."""
    keys = {spot.performance.key for spot in sellable(state)}
    return sorted(k for k, p in state.performances.items() if not p.tested and k in keys)


# Refunds -------------------------------------------------------------------------------


def refund_records(
    state: PartnerState,
    rng: random.Random,
    sold: list[Ticket],
    reason: str,
    created: datetime,
) -> list[Record]:
    """One REFUND transaction refunding ``sold`` (records of one sale transaction)."""
    occurred_at = max(
        _occurred(rng, created),
        max(datetime.fromisoformat(t.occurred_at) for t in sold) + timedelta(minutes=1),
    )
    transaction_id = _transaction_id(state, "RF", occurred_at)
    records = []
    for line_id, ticket in enumerate(sold, start=1):
        record = refund_of(ticket, transaction_id, line_id, reason, occurred_at)
        ticket.refunded_by = ticket_key(transaction_id, line_id)
        give_back(state, ticket)
        records.append(record)
    return records


def refund_of(
    ticket: Ticket, transaction_id: str, line_id: int, reason: str, occurred_at: datetime
) -> Record:
    """The REFUND record of ``ticket`` (its columns repeated; section 7.1)."""
    record = _empty_record()
    record.update(
        {
            name: getattr(ticket, name)
            for name in (
                "event_id",
                "performance_id",
                "section",
                "row",
                "seat",
                "area",
                "price_level",
                "price_type",
                "barcode",
                "attendee_first_name",
                "attendee_last_name",
                "outlet_id",
                "outlet_name",
            )
        }
    )
    record.update(
        transaction_id=transaction_id,
        line_id=str(line_id),
        type="REFUND",
        original_transaction_id=ticket.transaction_id,
        original_line_id=str(ticket.line_id),
        amount=ticket.amount,
        fees="0.00" if reason == "CUSTOMER" else ticket.fees,
        currency="EUR",
        occurred_at=stamp(occurred_at),
        refund_reason=reason,
        test="true" if ticket.test else "false",
    )
    return record


def draw_refunds(
    state: PartnerState,
    rng: random.Random,
    wanted: int,
    created: datetime,
    batch: int,
    reason: str | None = None,
) -> list[Record]:
    """Refunds of about ``wanted`` tickets sold in earlier batches, whole transactions."""
    by_transaction: dict[str, list[Ticket]] = {}
    for ticket in state.tickets.values():
        if not ticket.test and ticket.refunded_by is None and ticket.batch < batch:
            by_transaction.setdefault(ticket.transaction_id, []).append(ticket)
    records: list[Record] = []
    candidates = sorted(by_transaction)
    rng.shuffle(candidates)
    for transaction_id in candidates:
        if len(records) >= wanted:
            break
        chosen = reason or rng.choices(list(REFUND_REASONS), list(REFUND_REASONS.values()))[0]
        sold = sorted(by_transaction[transaction_id], key=lambda t: t.line_id)
        records += refund_records(state, rng, sold, chosen, created)
    return records


def draw_test_refunds(state: PartnerState, rng: random.Random, created: datetime) -> list[Record]:
    """The ``TEST`` refunds of every test ticket not refunded yet."""
    by_transaction: dict[str, list[Ticket]] = {}
    for ticket in state.tickets.values():
        if ticket.test and ticket.refunded_by is None:
            by_transaction.setdefault(ticket.transaction_id, []).append(ticket)
    records: list[Record] = []
    for transaction_id in sorted(by_transaction):
        sold = sorted(by_transaction[transaction_id], key=lambda t: t.line_id)
        records += refund_records(state, rng, sold, "TEST", created)
    return records


# PRICETYPES and INVENTORY ---------------------------------------------------------------


def price_type_records(state: PartnerState) -> list[Record]:
    """The whole list of price types (section 7.2)."""
    return [
        {
            "price_type": code,
            "label": price_type.label,
            "active": "true" if price_type.active else "false",
            "modified_at": price_type.modified_at,
        }
        for code, price_type in sorted(state.price_types.items())
    ]


def inventory_records(state: PartnerState, snapshot_at: str) -> tuple[list[Record], list[Record]]:
    """INVENTORY and SEATS records of every group ever allocated (section 7.3)."""
    inventory = []
    for key in state.inventory_keys:
        event_id, performance_id, level, section, area = key.split("|")
        if area:
            holding = state.areas.get(f"{event_id}|{performance_id}|{area}")
            same_level = holding is not None and holding.price_level == level
            allocated = holding.allocated if holding is not None and same_level else 0
            sold = holding.sold if holding is not None and same_level else 0
        else:
            held = [
                s
                for s in state.seats.values()
                if (s.event_id, s.performance_id, s.price_level, s.section)
                == (event_id, performance_id, level, section)
            ]
            allocated, sold = len(held), sum(s.sold for s in held)
        inventory.append(
            {
                "event_id": event_id,
                "performance_id": performance_id,
                "price_level": level,
                "section": section,
                "area": area,
                "allocated": str(allocated),
                "sold": str(sold),
                "available": str(allocated - sold),
                "snapshot_at": snapshot_at,
            }
        )
    seats = [
        {
            "event_id": s.event_id,
            "performance_id": s.performance_id,
            "price_level": s.price_level,
            "section": s.section,
            "row": s.row,
            "seat": s.seat,
            "status": "SOLD" if s.sold else "AVAILABLE",
        }
        for s in sorted(
            state.seats.values(),
            key=lambda s: (s.event_id, s.performance_id, s.section, s.row, _seat_sort(s.seat)),
        )
    ]
    return inventory, seats


def _seat_sort(seat: str) -> tuple[int, str]:
    return (int(seat), seat) if seat.isdigit() else (0, seat)
