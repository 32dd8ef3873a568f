"""The one check every reliability test ends with: the box office holds what the files imply.

:func:`implied_by` reads FNAC's VENTES, TEST and ANNUL files with the codec, in
the order they should have been integrated, and says what the box office must
hold: every ticket (FNAC ticket id, barcode, order, state), every order (state,
total), every pending-account movement (reference, kind, amount) and every
access-control entry (barcode allowed or refused). :func:`box_office_state`
reads the same from the database, checking on the way that each access entry
points at the ticket of its barcode and each movement at the order it names.
:func:`assert_box_office_holds` compares both, identities and counts: nothing
lost, nothing twice, nothing let in. :func:`implied_by_ticketnet` says the same of
Ticketnet's SALES batches.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    MovementKind,
    Order,
    OrderState,
    PendingAccountMovement,
    Ticket,
    TicketState,
)
from reseller_sync.fnac.codec import FileName, FileType, read_file


@dataclass(frozen=True)
class TicketFact:
    barcode: str
    order: str
    """The reseller's order id (FNAC's ``id_vente``, Ticketnet's ``transaction_id``)."""
    state: str
    price: int
    is_test: bool


@dataclass(frozen=True)
class OrderFact:
    state: str
    total: int
    currency: str
    is_test: bool


@dataclass(frozen=True)
class MovementFact:
    kind: str
    amount: int
    currency: str
    order: str


@dataclass
class BoxOfficeFacts:
    """What the box office holds (or must hold) of a reseller's sales, keyed by its ids."""

    tickets: dict[str, TicketFact] = field(default_factory=dict)
    """The reseller's ticket id (FNAC's ``id_billet``, Ticketnet's ``transaction_id/line_id``)
    → ticket."""
    orders: dict[str, OrderFact] = field(default_factory=dict)
    """The reseller's order id → order."""
    movements: dict[str, MovementFact] = field(default_factory=dict)
    """Movement reference (``fnac:sale:<id_vente>``, ``fnac:refund:<id_annulation>``,
    ``ticketnet:sale:<transaction_id>``...)."""
    access: dict[str, bool] = field(default_factory=dict)
    """Barcode → allowed at access control."""
    rows: dict[str, int] = field(default_factory=dict)
    """Rows counted per table (box office side only): a duplicate row shows here."""

    def counts(self) -> dict[str, int]:
        return {
            "tickets": len(self.tickets),
            "orders": len(self.orders),
            "movements": len(self.movements),
            "access": len(self.access),
        }


def implied_by(files: Iterable[tuple[str, bytes]]) -> BoxOfficeFacts:
    """What integrating ``files`` (name, bytes), in this order, must leave in the box office.

    Types other than VENTES, TEST and ANNUL imply no sale and are skipped. A
    line whose ticket (or cancellation) came in an earlier file implies nothing
    more (spec 9.3).
    """
    facts = BoxOfficeFacts()
    cancellations: dict[str, str] = {}
    for name, data in files:
        file_type = FileName.parse(name).type
        if file_type not in (FileType.VENTES, FileType.TEST, FileType.ANNUL):
            continue
        frame = read_file(name, data).frame
        if file_type is FileType.ANNUL:
            for row in frame.itertuples():
                if row.id_annulation in cancellations:
                    continue
                cancellations[row.id_annulation] = row.id_billet
                ticket = facts.tickets[row.id_billet]
                assert ticket.barcode == row.code_barre, f"{name}: not the ticket's barcode"
                facts.tickets[row.id_billet] = TicketFact(
                    ticket.barcode, ticket.order, TicketState.CANCELLED.value, ticket.price, False
                )
                facts.access[row.code_barre] = False
                facts.movements[f"fnac:refund:{row.id_annulation}"] = MovementFact(
                    MovementKind.REFUND.value, int(row.montant_rembourse), row.devise, row.id_vente
                )
            continue
        is_test = file_type is FileType.TEST
        fresh = frame[~frame["id_billet"].isin(list(facts.tickets))]
        for row in fresh.itertuples():
            facts.tickets[row.id_billet] = TicketFact(
                row.code_barre, row.id_vente, TicketState.VALID.value, int(row.prix_ttc), is_test
            )
            facts.access[row.code_barre] = True
        for order, lines in fresh.groupby("id_vente", sort=False):
            total = int(lines["prix_ttc"].sum())
            currency = str(lines["devise"].iloc[0])
            facts.orders[str(order)] = OrderFact(OrderState.PAID.value, total, currency, is_test)
            if not is_test:
                facts.movements[f"fnac:sale:{order}"] = MovementFact(
                    MovementKind.SALE.value, total, currency, str(order)
                )
    _settle_orders(facts)
    return facts


def _settle_orders(facts: BoxOfficeFacts) -> None:
    """Each order's state from its tickets': all cancelled, some, or none."""
    by_order: dict[str, list[str]] = {}
    for ticket in facts.tickets.values():
        by_order.setdefault(ticket.order, []).append(ticket.state)
    for order, fact in facts.orders.items():
        states = by_order[order]
        if all(s == TicketState.CANCELLED.value for s in states):
            state = OrderState.CANCELLED.value
        elif any(s == TicketState.CANCELLED.value for s in states):
            state = OrderState.PARTLY_CANCELLED.value
        else:
            state = OrderState.PAID.value
        facts.orders[order] = OrderFact(state, fact.total, fact.currency, fact.is_test)


def box_office_state(engine: Engine) -> BoxOfficeFacts:
    """What the box office holds, read back; the links between rows are checked here."""
    facts = BoxOfficeFacts()
    with Session(engine) as session:
        orders = session.execute(
            select(
                Order.id,
                Order.reseller_order_id,
                Order.state,
                Order.total,
                Order.currency,
                Order.is_test,
            )
        ).all()
        order_key = {row.id: row.reseller_order_id for row in orders}
        for row in orders:
            facts.orders[row.reseller_order_id] = OrderFact(
                str(row.state), int(row.total), str(row.currency), bool(row.is_test)
            )
        tickets = session.execute(
            select(
                Ticket.id,
                Ticket.reseller_ticket_id,
                Ticket.barcode,
                Ticket.order_id,
                Ticket.state,
                Ticket.price,
                Ticket.is_test,
            )
        ).all()
        ticket_of_barcode = {row.barcode: row.id for row in tickets}
        for row in tickets:
            facts.tickets[row.reseller_ticket_id] = TicketFact(
                row.barcode,
                order_key[row.order_id],
                str(row.state),
                int(row.price),
                bool(row.is_test),
            )
        movements = session.execute(
            select(
                PendingAccountMovement.reference,
                PendingAccountMovement.kind,
                PendingAccountMovement.amount,
                PendingAccountMovement.currency,
                PendingAccountMovement.order_id,
            )
        ).all()
        for row in movements:
            facts.movements[row.reference] = MovementFact(
                str(row.kind), int(row.amount), str(row.currency), order_key[row.order_id]
            )
        access = session.execute(
            select(
                AccessControlEntry.barcode, AccessControlEntry.allowed, AccessControlEntry.ticket_id
            )
        ).all()
        for row in access:
            facts.access[row.barcode] = bool(row.allowed)
            assert row.ticket_id == ticket_of_barcode.get(row.barcode), (
                f"access entry {row.barcode} does not point at the ticket of that barcode"
            )
    facts.rows = {
        "tickets": len(tickets),
        "orders": len(orders),
        "movements": len(movements),
        "access": len(access),
    }
    return facts


def _differences(name: str, expected: dict, actual: dict, shown: int = 5) -> list[str]:  # type: ignore[type-arg]
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    changed = sorted(k for k in set(expected) & set(actual) if expected[k] != actual[k])
    out = []
    if missing:
        out.append(f"{name}: {len(missing)} lost, e.g. {missing[:shown]}")
    if extra:
        out.append(f"{name}: {len(extra)} let in, e.g. {extra[:shown]}")
    for key in changed[:shown]:
        out.append(f"{name} {key}: expected {expected[key]}, found {actual[key]}")
    return out


def implied_by_ticketnet(
    batches: Iterable[Mapping[str, bytes]], *, includes_commission: bool = False
) -> BoxOfficeFacts:
    """What applying Ticketnet's SALES batches (each its data files by name, read here with
    the ``csv`` module, not the codec), in this order, must leave in the box office
    (``ticketnet-exchange-v1`` section 9.1 points 5 to 10): each SALE record a ticket
    ``transaction_id/line_id`` priced ``amount`` (plus ``fees`` when prices include them),
    each transaction an order paid by a ``ticketnet:sale:`` movement (none for test records),
    then each REFUND record its sale's ticket cancelled, refused at access control, and a
    ``ticketnet:refund:`` movement. A record applied before implies nothing more."""
    facts = BoxOfficeFacts()
    for batch in batches:
        records = [
            row
            for name in sorted(batch)
            for row in csv.DictReader(io.StringIO(gzip.decompress(batch[name]).decode()))
        ]
        sales = [r for r in records if r["type"] == "SALE"]
        fresh = [r for r in sales if f"{r['transaction_id']}/{r['line_id']}" not in facts.tickets]
        totals: dict[str, int] = {}
        for r in fresh:
            price = _cents(r["amount"]) + (_cents(r["fees"]) if includes_commission else 0)
            is_test = r["test"] == "true"
            facts.tickets[f"{r['transaction_id']}/{r['line_id']}"] = TicketFact(
                r["barcode"], r["transaction_id"], TicketState.VALID.value, price, is_test
            )
            facts.access[r["barcode"]] = True
            totals[r["transaction_id"]] = totals.get(r["transaction_id"], 0) + price
            facts.orders[r["transaction_id"]] = OrderFact(
                OrderState.PAID.value, totals[r["transaction_id"]], r["currency"], is_test
            )
            if not is_test:
                facts.movements[f"ticketnet:sale:{r['transaction_id']}"] = MovementFact(
                    MovementKind.SALE.value,
                    totals[r["transaction_id"]],
                    r["currency"],
                    r["transaction_id"],
                )
        for r in records:
            reference = f"{r['transaction_id']}/{r['line_id']}"
            if r["type"] != "REFUND" or f"ticketnet:refund:{reference}" in facts.movements:
                continue
            sold = f"{r['original_transaction_id']}/{r['original_line_id']}"
            ticket = facts.tickets[sold]
            facts.tickets[sold] = TicketFact(
                ticket.barcode, ticket.order, TicketState.CANCELLED.value, ticket.price, False
            )
            facts.access[ticket.barcode] = False
            refunded = _cents(r["amount"]) + (_cents(r["fees"]) if includes_commission else 0)
            facts.movements[f"ticketnet:refund:{reference}"] = MovementFact(
                MovementKind.REFUND.value, refunded, r["currency"], ticket.order
            )
    _settle_orders(facts)
    return facts


def _cents(amount: str) -> int:
    euros, _, cents = amount.partition(".")
    return int(euros) * 100 + int(cents.ljust(2, "0"))


def assert_box_office_holds(engine: Engine, files: Iterable[tuple[str, bytes]]) -> BoxOfficeFacts:
    """The box office holds exactly what FNAC's ``files`` imply: nothing lost, nothing twice,
    nothing let in. Returns the facts (their counts may be asserted on as well)."""
    return assert_box_office_holds_facts(engine, implied_by(files))


def assert_box_office_holds_facts(engine: Engine, expected: BoxOfficeFacts) -> BoxOfficeFacts:
    """The box office holds exactly the ``expected`` facts."""
    actual = box_office_state(engine)
    problems = [
        *_differences("ticket", expected.tickets, actual.tickets),
        *_differences("order", expected.orders, actual.orders),
        *_differences("movement", expected.movements, actual.movements),
        *_differences("access entry", expected.access, actual.access),
    ]
    if actual.rows != expected.counts():
        problems.append(f"rows {actual.rows} where the files imply {expected.counts()}")
    barcodes = Counter(t.barcode for t in actual.tickets.values())
    problems.extend(f"barcode {b} on {n} tickets" for b, n in barcodes.items() if n > 1)
    assert not problems, "the box office does not hold what the files imply:\n" + "\n".join(
        problems
    )
    return expected


def implied_by_secutix(
    files: Iterable[tuple[str, bytes]], *, includes_commission: bool = True
) -> BoxOfficeFacts:
    """What applying the SecuTix reseller's TICKETS files (name, bytes), in this order, must
    leave in the box office (``secutix-reseller-v1`` sections 7.1 and 7.2), read here with the
    ``csv`` module, not the codec: per barcode its last state in the files, valid for ``SOLD``
    and ``PRINTED``, cancelled and refused at access control for ``CANCELLED`` and
    ``REFUNDED``, priced ``PRICE`` (less ``COMMISSION`` when prices leave it out); one order
    per ``ORDER_NUMBER`` paid by a ``secutix:sale:`` movement; for each order and file, one
    ``secutix:refund:<order>:<file>`` movement summing the ``REFUND_AMOUNT`` (capped at the
    price) of its tickets entering ``REFUNDED``. A line repeating a stored state implies
    nothing more."""
    facts = BoxOfficeFacts()
    states: dict[str, str] = {}
    for name, data in files:
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
        refunds: dict[tuple[str, str], int] = {}
        for r in rows:
            barcode, state, order = r["BAR_CODE"], r["TICKET_STATE"], r["ORDER_NUMBER"]
            if barcode not in facts.tickets:
                price = int(r["PRICE"]) - (0 if includes_commission else int(r["COMMISSION"]))
                facts.tickets[barcode] = TicketFact(
                    barcode, order, TicketState.VALID.value, price, False
                )
                facts.access[barcode] = True
                total = (facts.orders[order].total if order in facts.orders else 0) + price
                facts.orders[order] = OrderFact(OrderState.PAID.value, total, r["CURRENCY"], False)
                facts.movements[f"secutix:sale:{order}"] = MovementFact(
                    MovementKind.SALE.value, total, r["CURRENCY"], order
                )
            ticket = facts.tickets[barcode]
            if state in ("CANCELLED", "REFUNDED"):
                facts.tickets[barcode] = TicketFact(
                    barcode, ticket.order, TicketState.CANCELLED.value, ticket.price, False
                )
                facts.access[barcode] = False
            if state == "REFUNDED" and states.get(barcode) != "REFUNDED":
                key = (ticket.order, r["CURRENCY"])
                refunds[key] = refunds.get(key, 0) + min(int(r["REFUND_AMOUNT"]), ticket.price)
            states[barcode] = state
        for (order, currency), amount in refunds.items():
            facts.movements[f"secutix:refund:{order}:{name}"] = MovementFact(
                MovementKind.REFUND.value, amount, currency, order
            )
    _settle_orders(facts)
    return facts
