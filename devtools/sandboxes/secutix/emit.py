"""The reseller's customers at work, and the lines of its TICKETS and STOCK files
(``secutix-reseller-v1`` sections 7.1 to 7.3).

Each function changes the :class:`~devtools.sandboxes.secutix.state.PartnerState` as the
reseller's box office would, with a seeded random generator, at the instants it is
given: new orders of one to four tickets on unsold places of the contingent, at a
tariff on sale (``ON_SALE`` and the sale dates of the OFFER) and its price; orders
printed, cancelled, refunded (``REFUND_AMOUNT`` the price less the commission, or the
whole price), beneficiaries renamed. A changed ticket is marked ``pending``: the next
TICKETS file carries it, in its state at that file's cut-off. Numbering, writing and
faults are the partner's (:mod:`devtools.sandboxes.secutix.partner`).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from devtools.sandboxes.secutix.files import Row
from devtools.sandboxes.secutix.people import beneficiary, make_customer, other_name
from devtools.sandboxes.secutix.state import PartnerState, Price, Ticket, price_key
from reseller_sync.secutix.states import TicketState

ORDER_SIZES = {1: 40, 2: 35, 3: 15, 4: 10}
"""Tickets per order → weight."""
BARCODE_PREFIX = "7713"
ORDER_BASE = 500_000
PER_BLOCK = 4
"""At most this many places of one free-placement block or pass offered to one order."""

_SOLD, _PRINTED, _CANCELLED, _REFUNDED = (s.value for s in TicketState)


class SandboxError(Exception):
    """A command the sandbox cannot carry out with its current state."""


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def commission_on(price: int) -> int:
    """The reseller's commission, included in the price: 5 %, rounded up to 50 minor units."""
    return min(price, -(-price // 1000) * 50)


@dataclass(frozen=True)
class Offerable:
    """Places the reseller can sell now at one product × performance × seat category."""

    product: str
    performance: str
    seatcat: str
    tariffs: tuple[Price, ...]
    spots: tuple[str, ...]
    """``SEAT`` of each place offered: seats in plan order, then blocks and passes."""

    @property
    def seated(self) -> bool:
        return any("/" in spot for spot in self.spots)


def _natural(seat: str) -> tuple[tuple[int, int, str], ...]:
    """Seats in plan order: ``PARTERRE/F/9`` before ``PARTERRE/F/12``."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in seat.split("/"))


def offerable(state: PartnerState, now: datetime) -> list[Offerable]:
    """What can be sold at ``now``: tariffs on sale with unsold places of their category."""
    tariffs: dict[tuple[str, str, str], list[Price]] = defaultdict(list)
    for price in state.prices.values():
        starts, ends = (
            datetime.fromisoformat(price.sales_start),
            datetime.fromisoformat(price.sales_end),
        )
        if price.on_sale and starts <= now < ends:
            tariffs[(price.product, price.performance, price.seatcat)].append(price)
    sold = Counter(t.holding for t in state.tickets.values() if t.valid)
    spots: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for holding in sorted(state.holdings.values(), key=lambda h: (h.key, _natural(h.seat))):
        free = holding.given - sold[holding.key]
        group = (holding.product, holding.performance, holding.seatcat)
        if group in tariffs and free > 0:
            spots[group].extend([holding.seat] * (1 if holding.is_seat else min(free, PER_BLOCK)))
    return [
        Offerable(
            *group,
            tuple(sorted(tariffs[group], key=lambda p: p.tariff)),
            tuple(sorted(places, key=_natural)),
        )
        for group, places in sorted(spots.items())
    ]


def sell_order(
    state: PartnerState,
    rng: random.Random,
    at: datetime,
    choices: list[Offerable],
    size: int | None = None,
    tariff: str | None = None,
) -> list[Ticket]:
    """A new order of one to four tickets (``size``, else drawn) in one of ``choices``,
    each at ``tariff`` (one of the group's), else at a tariff drawn."""
    if not choices:
        raise SandboxError("nothing to sell: no tariff on sale with unsold places")
    group = rng.choice(choices)
    wanted = size or rng.choices(list(ORDER_SIZES), weights=list(ORDER_SIZES.values()))[0]
    count = min(wanted, len(group.spots))
    first = rng.randrange(len(group.spots) - count + 1)
    customer = make_customer(rng)
    order = str(ORDER_BASE + state.next_counter("order"))
    product = state.products[group.product]
    validity_end = product.validity_end if product.kind == "UNDATED_PASS" else ""
    if product.kind == "VISIT_PASS":
        validity_end = state.performances[f"{group.product}|{group.performance}"][:10]
    sold_at = stamp(at)
    tickets = []
    for seat in group.spots[first : first + count]:
        price = (
            next(p for p in group.tariffs if p.tariff == tariff)
            if tariff is not None
            else rng.choice(group.tariffs)
        )
        first_name, last_name = beneficiary(rng, customer)
        ticket = Ticket(
            barcode=f"{BARCODE_PREFIX}{state.next_counter('barcode'):08d}",
            order=order,
            product=group.product,
            performance=group.performance,
            validity_end=validity_end,
            seatcat=group.seatcat,
            tariff=price.tariff,
            seat=seat,
            price=price.price,
            currency=product.currency,
            commission=commission_on(price.price),
            point_of_sale=customer.point_of_sale,
            sold_at=sold_at,
            state=_SOLD,
            changed_at=sold_at,
            first_name=first_name,
            last_name=last_name,
            contact_number=customer.number,
            contact_email=customer.email,
            contact_phone=customer.phone,
            contact_address=customer.address,
        )
        state.tickets[ticket.barcode] = ticket
        tickets.append(ticket)
    return tickets


def _orders(state: PartnerState, keep: Callable[[Ticket], bool]) -> list[list[Ticket]]:
    orders: dict[str, list[Ticket]] = defaultdict(list)
    for ticket in state.tickets.values():
        if keep(ticket):
            orders[ticket.order].append(ticket)
    return [orders[order] for order in sorted(orders)]


def _change(ticket: Ticket, new_state: str, at: datetime) -> None:
    ticket.state = new_state
    ticket.changed_at = stamp(at)
    ticket.pending = True


def print_order(state: PartnerState, rng: random.Random, at: datetime) -> list[Ticket]:
    """An order's ``SOLD`` tickets printed (or sent as e-tickets)."""
    orders = _orders(state, lambda t: t.state == _SOLD)
    tickets = rng.choice(orders) if orders else []
    for ticket in tickets:
        _change(ticket, _PRINTED, at)
    return tickets


def cancel_order(state: PartnerState, rng: random.Random, at: datetime) -> list[Ticket]:
    """An order's valid tickets cancelled, no money returned yet: places back."""
    orders = _orders(state, lambda t: t.valid)
    tickets = rng.choice(orders) if orders else []
    for ticket in tickets:
        _change(ticket, _CANCELLED, at)
    return tickets


def refund_order(state: PartnerState, rng: random.Random, at: datetime) -> list[Ticket]:
    """An order's tickets not refunded yet, refunded: the price less the commission, or
    (three times in ten) the whole price."""
    orders = _orders(state, lambda t: t.state != _REFUNDED)
    tickets = rng.choice(orders) if orders else []
    whole = rng.random() < 0.3
    for ticket in tickets:
        ticket.refund = ticket.price if whole else ticket.price - ticket.commission
        _change(ticket, _REFUNDED, at)
    return tickets


def refund_whole(ticket: Ticket, at: datetime) -> None:
    """``ticket`` refunded at its whole price (an opening ticket, say)."""
    ticket.refund = ticket.price
    _change(ticket, _REFUNDED, at)


def rename(state: PartnerState, rng: random.Random, at: datetime) -> list[Ticket]:
    """A valid ticket given to someone else: new beneficiary names."""
    valid = sorted((t for t in state.tickets.values() if t.valid), key=lambda t: t.barcode)
    if not valid:
        return []
    ticket = rng.choice(valid)
    ticket.first_name, ticket.last_name = other_name(rng)
    ticket.changed_at = stamp(at)
    ticket.pending = True
    return [ticket]


def ticket_row(state: PartnerState, ticket: Ticket, number: int) -> Row:
    """The ticket's whole current state as a TICKETS line of file ``number``."""
    product = state.products.get(ticket.product)
    price = state.prices.get(
        price_key(ticket.product, ticket.performance, ticket.seatcat, ticket.tariff)
    )
    return {
        "BAR_CODE": ticket.barcode,
        "TICKET_STATE": ticket.state,
        "FILE_NUMBER": str(number),
        "ORDER_NUMBER": ticket.order,
        "PRODUCT_CODE": ticket.product,
        "PRODUCT_NAME": product.name if product else "",
        "PERFORMANCE_CODE": ticket.performance,
        "PASS_VALIDITY_END": ticket.validity_end,
        "SEATCAT_CODE": ticket.seatcat,
        "TARIFF_CODE": ticket.tariff,
        "TARIFF_NAME": price.tariff_name if price else "",
        "SEAT": ticket.seat,
        "PRICE": str(ticket.price),
        "CURRENCY": ticket.currency,
        "COMMISSION": str(ticket.commission),
        "REFUND_AMOUNT": "" if ticket.refund is None else str(ticket.refund),
        "BENEFICIARY_FIRSTNAME": ticket.first_name,
        "BENEFICIARY_LASTNAME": ticket.last_name,
        "CONTACT_NUMBER": ticket.contact_number,
        "CONTACT_EMAIL": ticket.contact_email,
        "CONTACT_PHONE": ticket.contact_phone,
        "CONTACT_ADDRESS": ticket.contact_address,
        "POINT_OF_SALE": ticket.point_of_sale,
        "SOLD_AT": ticket.sold_at,
        "STATE_CHANGED_AT": ticket.changed_at,
    }


def pending_tickets(state: PartnerState) -> list[Ticket]:
    """The tickets of the next TICKETS file, by order then barcode."""
    return sorted(
        (t for t in state.tickets.values() if t.pending), key=lambda t: (t.order, t.barcode)
    )


def stock_rows(state: PartnerState, tickets_file: int, snapshot_at: str) -> list[Row]:
    """Section 7.3: per product × performance × seat category ever held, places given, sold
    (``SOLD`` or ``PRINTED``) and available."""
    given: Counter[tuple[str, str, str]] = Counter()
    for holding in state.holdings.values():
        given[(holding.product, holding.performance, holding.seatcat)] += holding.given
    sold = Counter((t.product, t.performance, t.seatcat) for t in state.tickets.values() if t.valid)
    return [
        {
            "PRODUCT_CODE": product,
            "PERFORMANCE_CODE": performance,
            "SEATCAT_CODE": seatcat,
            "GIVEN": str(given[key]),
            "SOLD": str(sold[key]),
            "AVAILABLE": str(given[key] - sold[key]),
            "TICKETS_FILE_NUMBER": str(tickets_file),
            "SNAPSHOT_AT": snapshot_at,
        }
        for key in sorted(given)
        for product, performance, seatcat in [key]
    ]
