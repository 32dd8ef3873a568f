"""Integrate ticket-state lines: each the whole current state of one ticket, applied as an
upsert by barcode along the ticket's life.

A reseller that reports states rather than events sends, for every ticket that
changed, its state (sold, printed, cancelled, refunded) with the whole sale. A
ticket only moves forward in that life: sold, then printed, then cancelled,
then refunded, any step skipped; a cancelled ticket is never revived.

- A new barcode is a sale (its order is new: one order of the box office per
  reseller order, paid on the pending account, as :mod:`.sales` integrates
  sale lines). A new barcode already cancelled or refunded was sold and
  cancelled between two files: its sale and cancellation are applied
  together, and it holds no place.
- A known barcode compares with what the box office stored: the same state is
  a no-op (beneficiary names updated when they differ); a later state is
  applied; an earlier one is refused (:attr:`Rule.TRANSITION`). What was sold
  (order, performance, place, category, tariff, price, commission, currency,
  shop, sale time, and the refund once refunded) never changes
  (:attr:`Rule.IMMUTABLE`), and a state's moment never goes back
  (:attr:`Rule.STATE_MOMENT`).
- Entering cancelled or refunded cancels the ticket: access control refuses
  its barcode, its place goes back to the reseller's quota. Entering refunded
  credits the pending account: one movement per order and file, of the refunds
  each capped at the ticket's recorded price.

Known tickets are changed before new ones are checked, so that a place a
cancellation frees may be sold again in the same file. Any problem refuses the
whole file: problems on known tickets are raised before anything is written,
those on new tickets after the known tickets' changes, which the caller's
transaction then rolls back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.bulk import fetch_rows, matching, update_rows
from reseller_sync.boxoffice.models import Order, Ticket, TicketState
from reseller_sync.core.lines import TICKET_STATE_LINES, LineBatch, LineTicketState, as_batches
from reseller_sync.integration.cancellations import (
    book_refunds,
    cancel_tickets,
    refresh_order_states,
)
from reseller_sync.integration.problems import LineReport, Rule
from reseller_sync.integration.sales import (
    HOLDING_STATES,
    SalesIntegration,
    integrate_sale_lines,
    raise_line_problems,
)
from reseller_sync.integration.settings import IntegrationSettings

LIFE = {
    LineTicketState.SOLD.value: 0,
    LineTicketState.PRINTED.value: 1,
    LineTicketState.CANCELLED.value: 2,
    LineTicketState.REFUNDED.value: 3,
}
"""A ticket's states in the order of its life: a state may only follow an earlier one."""

CANCELLING = frozenset({LineTicketState.CANCELLED.value, LineTicketState.REFUNDED.value})
REFUNDED = LineTicketState.REFUNDED.value

IMMUTABLE = (
    ("reseller_order_ref", "stored_order_ref"),
    ("performance_id", "stored_performance_id"),
    ("seat_id", "stored_seat_id"),
    ("block_id", "stored_block_id"),
    ("category_id", "stored_category_id"),
    ("tariff_id", "stored_tariff_id"),
    ("recorded_price", "stored_price"),
    ("commission", "stored_commission"),
    ("currency", "stored_currency"),
    ("point_of_sale_ref", "stored_point_of_sale_ref"),
    ("sold_at", "stored_sold_at"),
)
"""(line column, stored column) of what a sale fixes for ever."""

_STORED = [
    "ticket_id",
    "order_id",
    "contact_id",
    "is_test",
    "stored_ticket_state",
    "stored_state",
    "stored_changed_at",
    "stored_refund",
    "stored_first_name",
    "stored_last_name",
    *(stored for _, stored in IMMUTABLE),
]


@dataclass(frozen=True)
class TicketStateIntegration:
    file_name: str
    lines: int
    sales: SalesIntegration | None
    """The new tickets, as sales (None when the file holds no new barcode)."""
    printed: int = 0
    """Known tickets now printed."""
    cancelled: int = 0
    """Tickets cancelled by the file, new ones (sold and cancelled between two files)
    included."""
    repeated: int = 0
    """Lines that change nothing: the stored state, names and moment again (a file
    replayed)."""
    renamed: int = 0
    """Known tickets whose beneficiary names changed."""
    refunded: dict[str, int] = field(default_factory=dict)
    """Refunds booked per currency, in cents (test tickets' excluded)."""

    @property
    def already_integrated(self) -> int:
        """Lines integrated before (:attr:`repeated`), as for the other kinds of line."""
        return self.repeated

    @property
    def tickets(self) -> int:
        return self.sales.tickets if self.sales is not None else 0

    @property
    def orders(self) -> int:
        return self.sales.orders if self.sales is not None else 0


def integrate_ticket_state_lines(
    session: Session,
    settings: IntegrationSettings,
    file_name: str,
    lines: pd.DataFrame | LineBatch | Iterable[pd.DataFrame | LineBatch],
    *,
    file_id: int | None = None,
    is_test: bool = False,
) -> TicketStateIntegration:
    """Check and apply a file's ticket-state lines in the session's transaction, or raise
    ``MappingError`` or ``ExternalError`` listing the problems (see the module's docstring).

    ``lines`` may be the file's batches in file order; a barcode appears once in a file.
    """
    report = LineReport(settings, file_name)
    known_parts: list[pd.DataFrame] = []
    new_parts: list[LineBatch] = []
    born: list[str] = []
    """New barcodes already cancelled or refunded."""
    read = 0
    for batch in as_batches(lines):
        read += batch.read
        report.problems.extend(batch.problems)
        frame = TICKET_STATE_LINES.check(batch.lines, by=f"the {settings.name} adapter")
        if frame.empty:
            continue
        stored = _stored_tickets(session, settings.code, frame["barcode"])
        is_known = frame.index.isin(stored.index)
        if is_known.any():
            report.source = batch.source
            known = frame[is_known].join(stored)
            known_parts.append(_check_known(settings, known, report))
            report.source = None
        if not is_known.all():
            new = frame[~is_known]
            born.extend(new.loc[new["state"].isin(CANCELLING), "barcode"].tolist())
            new_parts.append(LineBatch(new, source=batch.source))
    raise_line_problems(report)

    known = pd.concat(known_parts) if known_parts else None
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    outcome: dict[str, Any] = {}
    if known is not None:
        outcome = _apply_known(session, settings, file_name, known, now=now, is_test=is_test)
    sales = None
    if new_parts:
        sales = integrate_sale_lines(
            session, settings, file_name, _taken(new_parts), file_id=file_id, is_test=is_test
        )
    born_outcome = _born_cancelled(session, settings, file_name, born, now=now, is_test=is_test)
    refunded = dict(outcome.get("refunded", {}))
    for currency, amount in born_outcome["refunded"].items():
        refunded[currency] = refunded.get(currency, 0) + amount
    return TicketStateIntegration(
        file_name=file_name,
        lines=read,
        sales=sales,
        printed=outcome.get("printed", 0),
        cancelled=outcome.get("cancelled", 0) + born_outcome["cancelled"],
        repeated=outcome.get("repeated", 0),
        renamed=outcome.get("renamed", 0),
        refunded=dict(sorted(refunded.items())),
    )


def _taken(parts: list[LineBatch]) -> Iterator[LineBatch]:
    """The batches, each let go of once the sales integration has taken it."""
    while parts:
        yield parts.pop(0)


# --------------------------------------------------------------------------- known tickets


def _stored_tickets(session: Session, reseller: str, barcodes: pd.Series) -> pd.DataFrame:
    """What the box office stored of the lines' known tickets (``_STORED``, by line; a line
    whose barcode it does not know has no row), read by the driver's cursor
    (``bulk.fetch_rows``): a file's known tickets may be as many as its lines."""
    rows: list[Any] = []
    for condition in matching(session, Ticket.barcode, barcodes.tolist()):
        rows.extend(
            fetch_rows(
                session,
                select(
                    Ticket.barcode,
                    Ticket.id,
                    Ticket.order_id,
                    Order.contact_id,
                    Ticket.is_test,
                    type_coerce(Ticket.state, String),
                    Ticket.reseller_state,
                    Ticket.state_changed_at,
                    Ticket.refund_amount,
                    Ticket.beneficiary_first_name,
                    Ticket.beneficiary_last_name,
                    Order.reseller_order_id,
                    Ticket.performance_id,
                    Ticket.seat_id,
                    Ticket.block_id,
                    Ticket.category_id,
                    Ticket.tariff_id,
                    Ticket.price,
                    Ticket.commission,
                    type_coerce(Ticket.currency, String),
                    Order.reseller_point_of_sale_code,
                    Ticket.sold_at,
                )
                .join(Order, Ticket.order_id == Order.id)
                .where(Ticket.reseller_code == reseller, condition),
            )
        )
    stored = pd.DataFrame(rows, columns=["barcode", *_STORED])
    if stored.empty:
        return stored.drop(columns="barcode").set_axis(barcodes.index[:0])
    for column in ("stored_changed_at", "stored_sold_at"):
        stored[column] = pd.to_datetime(stored[column], utc=True)
    stored = stored.set_index("barcode")
    wanted = barcodes[barcodes.isin(stored.index)]
    return stored.reindex(wanted.to_numpy()).set_axis(wanted.index)


def _check_known(
    settings: IntegrationSettings, lines: pd.DataFrame, report: LineReport
) -> pd.DataFrame:
    """Report every known ticket's line that breaks its life; return the lines, each with
    what applying it changes."""
    lines = lines.copy()
    stored_state = lines["stored_state"].where(
        lines["stored_state"].notna(),
        np.where(
            lines["stored_ticket_state"] == TicketState.VALID.value,
            LineTicketState.SOLD.value,
            LineTicketState.CANCELLED.value,
        ),
    )
    lines["stored_state"] = stored_state
    backwards = lines["state"].map(LIFE) < stored_state.map(LIFE)
    for line in lines.index[backwards.to_numpy()]:
        report.add_one(
            "external",
            line,
            "state",
            f"a ticket {stored_state[line]} may not become {lines.at[line, 'state']} again "
            "(a cancelled ticket is never revived)",
            report.value(line, "state", lines.at[line, "state"]),
            rule=Rule.TRANSITION,
        )
    lines["recorded_price"] = (
        lines["price"] if settings.includes_commission else lines["price"] - lines["commission"]
    )
    for column, stored in IMMUTABLE:
        changed = _differs(lines[column], lines[stored])
        if column == "sold_at":
            changed &= lines[stored].notna()
        report.add(
            "external",
            lines[changed],
            "price" if column == "recorded_price" else column,
            "this never changes once the ticket is applied",
            rule=Rule.IMMUTABLE,
        )
    refund_changed = (
        (stored_state == REFUNDED)
        & lines["stored_refund"].notna()
        & _differs(lines["refund_amount"], lines["stored_refund"])
    )
    report.add(
        "external",
        lines[refund_changed],
        "refund_amount",
        "the refund never changes once the ticket is refunded",
        rule=Rule.IMMUTABLE,
    )
    earlier = lines["stored_changed_at"].notna() & (
        lines["state_changed_at"] < lines["stored_changed_at"]
    )
    report.add(
        "external",
        lines[earlier],
        "state_changed_at",
        "before the moment stored for the ticket",
        rule=Rule.STATE_MOMENT,
    )
    report.add(
        "external",
        lines[lines["state_changed_at"] < lines["sold_at"]],
        "state_changed_at",
        "before the ticket was sold",
        rule=Rule.STATE_MOMENT,
    )
    return lines


def _differs(given: pd.Series, stored: pd.Series) -> pd.Series:
    """Where two aligned columns differ, two nulls being equal."""
    given_null, stored_null = given.isna(), stored.isna()
    both = ~given_null & ~stored_null
    values_differ = pd.Series(False, index=given.index)
    if both.any():
        values_differ[both] = (
            given[both].astype(object).to_numpy() != stored[both].astype(object).to_numpy()
        )
    return (given_null != stored_null) | values_differ


def _apply_known(
    session: Session,
    settings: IntegrationSettings,
    file_name: str,
    lines: pd.DataFrame,
    *,
    now: dt.datetime,
    is_test: bool,
) -> dict[str, Any]:
    """Write what the known tickets' lines change; the counts of it."""
    same = lines["state"] == lines["stored_state"]
    renamed = _differs(lines["beneficiary_first_name"], lines["stored_first_name"]) | _differs(
        lines["beneficiary_last_name"], lines["stored_last_name"]
    )
    moved = lines["state_changed_at"] != lines["stored_changed_at"]
    changed = lines[~same | renamed | moved]
    cancelling = changed[
        changed["state"].isin(CANCELLING) & changed["stored_state"].isin(HOLDING_STATES)
    ]
    refunding = changed[(changed["state"] == REFUNDED) & (changed["stored_state"] != REFUNDED)]
    reported = pd.DataFrame(
        {
            "id": changed["ticket_id"].astype("int64"),
            "reseller_state": changed["state"].astype("str"),
            "state_changed_at": changed["state_changed_at"],
            "refund_amount": changed["refund_amount"].astype("Int64"),
            "beneficiary_first_name": changed["beneficiary_first_name"],
            "beneficiary_last_name": changed["beneficiary_last_name"],
        }
    )
    cancels = reported.index.isin(cancelling.index)
    update_rows(session, Ticket.__table__, reported[~cancels])  # type: ignore[arg-type]
    if not cancelling.empty:
        cancel_tickets(
            session,
            reported[cancels].assign(cancelled_at=cancelling["state_changed_at"]),
            barcodes=cancelling["barcode"].tolist(),
            now=now,
        )
        refresh_order_states(session, [int(o) for o in cancelling["order_id"].unique()])
    refunded = _book_refunds(session, settings, file_name, refunding, now=now, is_test=is_test)
    return {
        "printed": int(
            (
                (changed["state"] != changed["stored_state"])
                & (changed["state"] == LineTicketState.PRINTED.value)
            ).sum()
        ),
        "cancelled": len(cancelling),
        "repeated": len(lines) - len(changed),
        "renamed": int(renamed.sum()),
        "refunded": refunded,
    }


def _book_refunds(
    session: Session,
    settings: IntegrationSettings,
    file_name: str,
    refunding: pd.DataFrame,
    *,
    now: dt.datetime,
    is_test: bool,
) -> dict[str, int]:
    """One refund movement per order and file: the sum of its tickets' refunds, each capped
    at the ticket's recorded price (test tickets move no money)."""
    paid = refunding[~refunding["is_test"].astype(bool)] if not is_test else refunding.iloc[:0]
    if paid.empty:
        return {}
    capped = np.minimum(
        paid["refund_amount"].astype("int64").to_numpy(), paid["stored_price"].astype("int64")
    )
    per_order = (
        paid.assign(amount=capped)
        .groupby(["order_id", "contact_id", "currency", "reseller_order_ref"], observed=True)[
            "amount"
        ]
        .sum()
        .reset_index()
    )
    book_refunds(
        session,
        per_order.assign(
            reference=f"{settings.code}:refund:"
            + per_order["reseller_order_ref"].astype("str")
            + f":{file_name}"
        ),
        now=now,
    )
    return {str(c): int(t) for c, t in per_order.groupby("currency")["amount"].sum().items()}


# --------------------------------------------------------------------------- new tickets


def _born_cancelled(
    session: Session,
    settings: IntegrationSettings,
    file_name: str,
    barcodes: list[str],
    *,
    now: dt.datetime,
    is_test: bool,
) -> dict[str, Any]:
    """The new tickets sold and cancelled between two files (written cancelled by the sales
    integration, their barcodes refused): their orders' states, and the refunds of those
    already refunded."""
    if not barcodes:
        return {"cancelled": 0, "refunded": {}}
    rows: list[Any] = []
    for condition in matching(session, Ticket.barcode, barcodes):
        rows.extend(
            fetch_rows(
                session,
                select(
                    Ticket.order_id,
                    Order.contact_id,
                    Ticket.is_test,
                    Ticket.reseller_state,
                    Ticket.refund_amount,
                    Ticket.price,
                    type_coerce(Ticket.currency, String),
                    Order.reseller_order_id,
                )
                .join(Order, Ticket.order_id == Order.id)
                .where(Ticket.reseller_code == settings.code, condition),
            )
        )
    tickets = pd.DataFrame(
        rows,
        columns=[
            "order_id",
            "contact_id",
            "is_test",
            "state",
            "refund_amount",
            "stored_price",
            "currency",
            "reseller_order_ref",
        ],
    )
    refresh_order_states(session, [int(o) for o in tickets["order_id"].unique()])
    refunding = tickets[tickets["state"] == REFUNDED]
    refunded = _book_refunds(session, settings, file_name, refunding, now=now, is_test=is_test)
    return {"cancelled": len(tickets), "refunded": refunded}
