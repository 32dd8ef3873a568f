"""A property of the ticket-state integration: any sequence of files, replayed in any chunking,
gives the box office that a plain model of the contract's state machine gives.

Each example draws a few tickets on the ``reseller`` fixture's places (three seats, two
standing places; orders of one or two tickets), then for each ticket the states its
reseller reports over several files: repeats, skipped steps, lines backwards in its life,
state moments that go back, a changed price or refund, new names. Every file is applied
in its own savepoint, its lines shuffled and cut into batches of random sizes; the model
(:func:`apply_file`, plain Python from sections 7.1, 7.2 and 9.1 of the SecuTix contract)
says whether the file is refused, by which rules, and what the box office holds after it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    Order,
    PendingAccountMovement,
    Ticket,
)
from reseller_sync.core.lines import TICKET_STATE_LINES, LineBatch
from reseller_sync.domain.errors import ExternalError
from reseller_sync.integration.ticket_states import integrate_ticket_state_lines
from tests.integration.conftest import CODE, SOLD_AT, Reseller, ticket_state_lines

STATES = ("sold", "printed", "cancelled", "refunded")
LIFE = {state: rank for rank, state in enumerate(STATES)}
HOLDING = frozenset({"sold", "printed"})
COMMISSION = 100
CODES = {
    "transition": "T10",
    "immutable": "T11",
    "state_moment": "T12",
    "price": "T17",
    "place": "T18",
    "order_seen": "T22",
}
SLOTS = ("seat0", "seat1", "seat2", "standing", "standing")
"""The fixture's quota: three seats and two standing places."""
NAMES = (("Hélène", "Dupré"), ("Zoé", "Martin"), (None, None))
EXAMPLES = {"sqlite": 50, "postgresql": 15}
"""Derandomized examples per database: about 30 s in all on a 2-core machine."""


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Planned:
    """A ticket the reseller sells: what never changes."""

    barcode: str
    order: str
    place: str
    price: int
    """The line's price, as the box office sells the place (commission added when the box
    office records prices without it)."""
    recorded: int


@dataclass(frozen=True)
class Line:
    ticket: Planned
    state: str
    changed_at: pd.Timestamp
    names: tuple[str | None, str | None]
    price: int
    refund: int | None


@dataclass(frozen=True)
class Kept:
    """What the box office holds of a ticket."""

    order: str
    place: str
    price: int
    recorded: int
    state: str
    changed_at: pd.Timestamp
    names: tuple[str | None, str | None]
    refund: int | None
    cancelled_at: pd.Timestamp | None


@dataclass(frozen=True)
class BoxOffice:
    tickets: dict[str, Kept]
    movements: dict[str, int]
    """Pending-account movements by reference: ``stx:sale:<order>`` and
    ``stx:refund:<order>:<file>``."""

    def observed(self) -> dict[str, Any]:
        """As :func:`observe` reads the database."""
        orders: dict[str, list[bool]] = {}
        for kept in self.tickets.values():
            orders.setdefault(kept.order, []).append(kept.state in HOLDING)
        return {
            "tickets": {
                barcode: (
                    "valid" if kept.state in HOLDING else "cancelled",
                    kept.state,
                    kept.refund,
                    kept.state in HOLDING,
                    kept.names,
                    kept.changed_at,
                    kept.cancelled_at,
                )
                for barcode, kept in self.tickets.items()
            },
            "orders": {
                order: "paid" if all(held) else "partly_cancelled" if any(held) else "cancelled"
                for order, held in orders.items()
            },
            "movements": self.movements,
        }


def apply_file(box: BoxOffice, file_name: str, lines: list[Line]) -> BoxOffice | set[str]:
    """The box office after the file, or the codes of the rules that refuse it.

    Known barcodes are checked first (a refused file reports only those problems); then
    the new ones, against the box office with the known tickets' changes applied. Every
    applied line stores its names and moment: a repeated state with a later moment moves
    the stored one, as the integration does.
    """
    known_codes: set[str] = set()
    new_codes: set[str] = set()
    tickets = dict(box.tickets)
    movements = dict(box.movements)
    orders_before = {kept.order for kept in box.tickets.values()}
    refunds: Counter[str] = Counter()
    for line in lines:
        planned, kept = line.ticket, box.tickets.get(line.ticket.barcode)
        entering_refund = line.state == "refunded"
        if kept is not None:
            if LIFE[line.state] < LIFE[kept.state]:
                known_codes.add("T10")
            if line.price != kept.price:
                known_codes.add("T11")
            if kept.state == "refunded" and line.refund != kept.refund:
                known_codes.add("T11")
            if line.changed_at < kept.changed_at:
                known_codes.add("T12")
            entering_refund &= kept.state != "refunded"
            leaving = kept.state in HOLDING and line.state not in HOLDING
            cancelled_at = line.changed_at if leaving else kept.cancelled_at
        else:
            if planned.order in orders_before:
                new_codes.add("T22")
            if line.price != planned.price:
                new_codes.add("T17")
            cancelled_at = None if line.state in HOLDING else line.changed_at
            sale = f"{CODE}:sale:{planned.order}"
            movements[sale] = movements.get(sale, 0) + planned.recorded
        tickets[planned.barcode] = Kept(
            order=planned.order,
            place=planned.place,
            price=planned.price if kept is None else kept.price,
            recorded=planned.recorded,
            state=line.state,
            changed_at=line.changed_at,
            names=line.names,
            refund=line.refund,
            cancelled_at=cancelled_at,
        )
        if entering_refund:
            assert line.refund is not None
            refunds[planned.order] += min(line.refund, planned.recorded)
    if known_codes:
        return known_codes
    held = Counter(kept.place for kept in tickets.values() if kept.state in HOLDING)
    if any(count > (2 if place == "standing" else 1) for place, count in held.items()):
        new_codes.add("T18")
    if new_codes:
        return new_codes
    for order, amount in refunds.items():
        movements[f"{CODE}:refund:{order}:{file_name}"] = amount
    return BoxOffice(tickets, movements)


# --------------------------------------------------------------------------- the files


def file_name(number: int) -> str:
    return f"TICKETS_{number:08d}.csv"


def at(minutes: int) -> pd.Timestamp:
    return SOLD_AT + dt.timedelta(minutes=minutes)


RARE = st.sampled_from((False,) * 7 + (True,))
"""Hypothesis favours the simplest values: a rare case is a late value of a list."""
RARER = st.sampled_from((False,) * 15 + (True,))
LATE = st.sampled_from((False,) * 3 + (True,))
"""A moment half an hour before the previous file's (``T12`` when the ticket was in it)."""


@st.composite
def reported(draw: st.DrawFn, *, includes_commission: bool, amounts: dict[str, int]) -> Any:
    """The lines of each file (a list of :class:`Line` per file) for a few tickets."""
    count = draw(st.integers(2, 6))
    files = draw(st.integers(2, 4))
    slots = draw(st.permutations(SLOTS))
    tickets: list[tuple[Planned, int]] = []
    """Each ticket and the file where it first appears: its order's, or, rarely, a later
    one (a reseller's fault)."""
    for n in range(count):
        place = draw(st.sampled_from(SLOTS)) if draw(RARE) else slots[n % len(SLOTS)]
        previous = tickets[-1] if tickets else None
        joins = (
            previous is not None
            and sum(t.order == previous[0].order for t, _ in tickets) == 1
            and draw(st.booleans())
        )
        if previous is not None and joins:
            order = previous[0].order
            first = previous[1]
            if first < files - 1 and draw(st.booleans()):
                first = draw(st.integers(first + 1, files - 1))
        else:
            order, first = f"O{n + 1}", draw(st.integers(0, files - 1))
        price = amounts[place] + (0 if includes_commission else COMMISSION)
        planned = Planned(
            barcode=f"9900000000{n + 1:04d}",
            order=order,
            place=place,
            price=price,
            recorded=price if includes_commission else price - COMMISSION,
        )
        tickets.append((planned, first))
    lines: list[list[Line]] = [[] for _ in range(files)]
    for ticket, first in tickets:
        intended = "sold"
        refund = draw(
            st.sampled_from((ticket.price, ticket.recorded // 2, ticket.recorded))
            | st.integers(0, ticket.price)
        )
        for f in range(first, files):
            if f > first and not draw(st.booleans()):
                continue
            intended = draw(st.sampled_from(STATES[LIFE[intended] :]))
            state = intended
            if LIFE[intended] > 0 and draw(RARE):
                state = draw(st.sampled_from(STATES[: LIFE[intended]]))  # backwards
            line_refund = None
            if state == "refunded":
                line_refund = (refund + 1) % (ticket.price + 1) if draw(RARE) else refund
            lines[f].append(
                Line(
                    ticket=ticket,
                    state=state,
                    changed_at=at(max(0, 60 * f - 90) if draw(LATE) else 60 * f),
                    names=draw(st.sampled_from(NAMES)),
                    price=ticket.price + (100 if draw(RARER) else 0),
                    refund=line_refund,
                )
            )
    return [draw(st.permutations(file)) for file in lines]


def frame_of(reseller: Reseller, lines: list[Line]) -> pd.DataFrame:
    """The file's canonical lines, numbered from 1 in the file's order."""
    if not lines:
        return TICKET_STATE_LINES.empty()
    return ticket_state_lines(
        reseller,
        *(
            {
                "reseller_order_ref": line.ticket.order,
                "barcode": line.ticket.barcode,
                "free": line.ticket.place == "standing",
                "seat_id": (
                    None
                    if line.ticket.place == "standing"
                    else reseller.seats[int(line.ticket.place[-1])]
                ),
                "price": line.price,
                "commission": COMMISSION,
                "state": line.state,
                "state_changed_at": line.changed_at,
                "refund_amount": line.refund,
                "beneficiary_first_name": line.names[0],
                "beneficiary_last_name": line.names[1],
            }
            for line in lines
        ),
    )


def batches(frame: pd.DataFrame, cuts: list[int], wrap: list[bool]) -> list[Any]:
    """The frame cut at ``cuts``, each part a frame or a :class:`LineBatch`."""
    bounds = [0, *sorted(set(cuts)), len(frame)]
    parts = [frame.iloc[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    return [
        LineBatch(part) if wrapped else part
        for part, wrapped in zip(parts, wrap + [False] * len(parts), strict=False)
    ]


# --------------------------------------------------------------------------- the box office


def _utc(value: Any) -> pd.Timestamp | None:
    if value is None:
        return None
    moment = pd.Timestamp(value)
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")


def observe(session: Session) -> dict[str, Any]:
    """What the box office holds of the reseller's tickets, orders and movements."""
    tickets = {
        row.barcode: (
            row.state.value,
            row.reseller_state,
            row.refund_amount,
            row.allowed,
            (row.beneficiary_first_name, row.beneficiary_last_name),
            _utc(row.state_changed_at),
            _utc(row.cancelled_at),
        )
        for row in session.execute(
            select(
                Ticket.barcode,
                Ticket.state,
                Ticket.reseller_state,
                Ticket.refund_amount,
                AccessControlEntry.allowed,
                Ticket.beneficiary_first_name,
                Ticket.beneficiary_last_name,
                Ticket.state_changed_at,
                Ticket.cancelled_at,
            )
            .join(AccessControlEntry, AccessControlEntry.ticket_id == Ticket.id)
            .where(Ticket.reseller_code == CODE)
        )
    }
    orders = {
        ref: state.value
        for ref, state in session.execute(
            select(Order.reseller_order_id, Order.state).where(Order.reseller_code == CODE)
        )
    }
    movements = {
        reference: amount
        for reference, amount in session.execute(
            select(PendingAccountMovement.reference, PendingAccountMovement.amount).where(
                PendingAccountMovement.reference.like(f"{CODE}:%")
            )
        )
    }
    return {"tickets": tickets, "orders": orders, "movements": movements}


def replay(
    session: Session, reseller: Reseller, files: list[list[Line]], data: st.DataObject
) -> None:
    """Apply each file in its own savepoint, in random batches; compare with the model
    after each."""
    box = BoxOffice({}, {})
    for number, lines in enumerate(files, start=1):
        name = file_name(number)
        frame = frame_of(reseller, lines)
        cuts = data.draw(st.lists(st.integers(1, max(1, len(frame) - 1)), max_size=3))
        wrap = data.draw(st.lists(st.booleans(), max_size=4))
        expected = apply_file(box, name, lines)
        refused: set[str] | None = None
        try:
            with session.begin_nested():
                integrate_ticket_state_lines(
                    session, reseller.settings, name, batches(frame, cuts, wrap)
                )
        except ExternalError as error:
            refused = {problem.reason.split()[0] for problem in error.problems}
        event("refused " + " ".join(sorted(refused)) if refused else "applied")
        if isinstance(expected, set):
            assert refused == expected, f"{name}: refused by {refused}, expected {expected}"
        else:
            assert refused is None, f"{name}: refused by {refused}, expected applied"
            box = expected
        assert observe(session) == box.observed(), f"after {name}"


@pytest.mark.slow
def test_any_files_in_any_chunking_give_the_model_box_office(
    demo_session: Session, reseller: Reseller
) -> None:
    session = demo_session
    dialect = session.get_bind().dialect.name
    amounts = {
        **{f"seat{n}": reseller.amount for n in range(3)},
        "standing": reseller.free_amount,
    }

    @settings(
        max_examples=EXAMPLES[dialect],
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.booleans(), st.data())
    def property_(includes_commission: bool, data: st.DataObject) -> None:
        coded = replace(
            reseller,
            settings=replace(
                reseller.settings, rule_codes=CODES, includes_commission=includes_commission
            ),
        )
        files = data.draw(reported(includes_commission=includes_commission, amounts=amounts))
        example = session.begin_nested()
        try:
            replay(session, coded, files, data)
        finally:
            example.rollback()

    property_()
