"""Integrate cancellation lines: each cancels one ticket the reseller sold, and refunds it.

The ticket is found by the reseller's ticket reference (its barcode is then
checked) or, when the line gives none, by its barcode. It is cancelled (its
place goes back to the reseller's quota, which still holds it), access
control refuses its barcode from then on, and the refund is a
pending-account movement crediting the order's paying contact (one per
cancellation; none for a test ticket). A line whose cancellation was
integrated before is skipped. Any problem refuses the whole file, each
problem naming the partner's line and column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import case, func, literal, select, update
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.bulk import insert_frame, matching, update_rows
from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    Currency,
    MovementKind,
    Order,
    OrderState,
    PendingAccount,
    PendingAccountMovement,
    Ticket,
    TicketState,
)
from reseller_sync.core.lines import CANCELLATION_LINES, LineBatch, as_batches
from reseller_sync.domain.errors import ExternalError
from reseller_sync.integration.problems import LineReport
from reseller_sync.integration.settings import IntegrationSettings


@dataclass(frozen=True)
class CancellationIntegration:
    file_name: str
    lines: int
    cancelled: int
    already_integrated: int
    refunded: dict[str, int]
    """Refunds per currency, in cents (test tickets' excluded)."""


_TICKET_COLUMNS = [
    "ticket_id",
    "order_id",
    "ticket_barcode",
    "ticket_ref",
    "paid_price",
    "paid_commission",
    "ticket_currency",
    "is_test",
    "stored_cancellation_ref",
    "order_ref",
    "contact_id",
]
"""What each line learns of its ticket."""


def integrate_cancellation_lines(
    session: Session,
    settings: IntegrationSettings,
    file_name: str,
    lines: pd.DataFrame | LineBatch | Iterable[pd.DataFrame | LineBatch],
) -> CancellationIntegration:
    """Apply a file's cancellation lines in the session's transaction, or raise listing every
    problem (the adapter's included), having written nothing.

    Cancellation files are small: their batches are checked together.
    """
    report = LineReport(settings, file_name)
    parts: list[pd.DataFrame] = []
    sources: list[pd.DataFrame] = []
    read = 0
    for batch in as_batches(lines):
        read += batch.read
        report.problems.extend(batch.problems)
        parts.append(CANCELLATION_LINES.check(batch.lines, by=f"the {settings.name} adapter"))
        if batch.source is not None:
            sources.append(batch.source)
    frame = pd.concat(parts) if len(parts) > 1 else parts[0] if parts else None
    if frame is None or frame.empty:
        _raise(report)
        return CancellationIntegration(file_name, read, 0, 0, {})
    report.source = pd.concat(sources) if len(sources) > 1 else sources[0] if sources else None
    lines_found = frame.join(_tickets(session, settings.code, frame))
    lines_found["ref_ticket_id"] = lines_found["reseller_cancellation_ref"].map(
        _cancelled_tickets(session, frame["reseller_cancellation_ref"].unique().tolist())
    )
    fresh = _check(settings, lines_found, report)
    report.source = None
    _raise(report)
    _apply(session, settings, fresh)
    refunds = fresh[~fresh["is_test"].astype(bool)]
    return CancellationIntegration(
        file_name=file_name,
        lines=read,
        cancelled=len(fresh),
        already_integrated=len(lines_found) - len(fresh),
        refunded={
            str(c): int(t) for c, t in refunds.groupby("currency")["refund_amount"].sum().items()
        },
    )


def _raise(report: LineReport) -> None:
    problems = report.problems.mapping + report.problems.external
    if not problems:
        return
    name = report.settings.name
    raise ExternalError(
        f"{report.file}: {len(problems)} cancellation(s) do not match the tickets sold",
        problems=problems,
        file=report.file,
        action=f"Check the lines below with {name}; once corrected, clear the failed task.",
    )


def _tickets(session: Session, reseller: str, lines: pd.DataFrame) -> pd.DataFrame:
    """Each line's ticket (``_TICKET_COLUMNS``, by line; none where no ticket is found):
    by the reseller's ticket reference, else by barcode."""
    by_ref = lines["reseller_ticket_ref"].notna()
    found = [
        _ticket_rows(session, reseller, Ticket.reseller_ticket_id, "ticket_ref", lines[by_ref]),
        _ticket_rows(
            session,
            reseller,
            Ticket.barcode,
            "ticket_barcode",
            lines[~by_ref & lines["barcode"].notna()],
        ),
    ]
    return pd.concat(found)


def _ticket_rows(
    session: Session, reseller: str, column: Any, key: str, lines: pd.DataFrame
) -> pd.DataFrame:
    wanted = lines["reseller_ticket_ref" if key == "ticket_ref" else "barcode"]
    rows: list[Any] = []
    for condition in matching(session, column, wanted.unique().tolist()):
        rows.extend(
            session.execute(
                select(
                    Ticket.id,
                    Ticket.order_id,
                    Ticket.barcode,
                    Ticket.reseller_ticket_id,
                    Ticket.price,
                    Ticket.commission,
                    Ticket.currency,
                    Ticket.is_test,
                    Ticket.reseller_cancellation_id,
                    Order.reseller_order_id,
                    Order.contact_id,
                )
                .join(Order, Ticket.order_id == Order.id)
                .where(Ticket.reseller_code == reseller, condition)
            )
        )
    tickets = pd.DataFrame(rows, columns=_TICKET_COLUMNS)
    tickets["ticket_currency"] = tickets["ticket_currency"].map(lambda c: Currency(c).value)
    tickets = tickets.drop_duplicates(key).set_index(key)
    joined = tickets.reindex(wanted.to_numpy())
    joined.index = wanted.index
    joined[key] = wanted
    return joined


def _cancelled_tickets(session: Session, references: list[str]) -> pd.Series:
    """The ticket that each cancellation reference already cancelled (the box office keeps a
    reference on one ticket only)."""
    rows: list[tuple[str | None, int]] = []
    for condition in matching(session, Ticket.reseller_cancellation_id, references):
        rows.extend(
            session.execute(select(Ticket.reseller_cancellation_id, Ticket.id).where(condition))
        )
    return pd.Series(dict(rows), dtype="float64")


def _check(settings: IntegrationSettings, lines: pd.DataFrame, report: LineReport) -> pd.DataFrame:
    """Report every line that does not match its ticket; return the lines to apply."""
    name = settings.name
    by_ref = lines["reseller_ticket_ref"].notna()

    def on_ticket(mask: pd.Series, reason: str) -> None:
        """A problem with the ticket, on the column that named it."""
        report.add("external", lines[mask & by_ref], "reseller_ticket_ref", reason)
        report.add("external", lines[mask & ~by_ref], "barcode", reason)

    unknown = lines["ticket_id"].isna()
    known = ~unknown
    report.add(
        "external",
        lines[unknown & by_ref],
        "reseller_ticket_ref",
        f"no ticket with this id was sold by {name} (never integrated)",
    )
    report.add(
        "external",
        lines[unknown & ~by_ref],
        "barcode",
        f"no ticket with this barcode was sold by {name} (never integrated)",
    )
    report.add(
        "external",
        lines[
            known
            & by_ref
            & lines["barcode"].notna()
            & (lines["ticket_barcode"] != lines["barcode"])
        ],
        "barcode",
        "this is not the barcode of the ticket",
    )
    report.add(
        "external",
        lines[
            known
            & lines["reseller_order_ref"].notna()
            & (lines["order_ref"] != lines["reseller_order_ref"])
        ],
        "reseller_order_ref",
        "the ticket belongs to another order",
    )
    if not settings.cancels_test_tickets:
        on_ticket(
            known & lines["is_test"].fillna(False).astype(bool),
            f"a test ticket: {name} sends no cancellation for test tickets",
        )
    same = known & (lines["stored_cancellation_ref"] == lines["reseller_cancellation_ref"])
    on_ticket(
        known & lines["stored_cancellation_ref"].notna() & ~same,
        "this ticket was cancelled before, by another cancellation",
    )
    named = lines["reseller_ticket_ref"].fillna("barcode " + lines["barcode"])
    on_ticket(
        (known & lines["ticket_id"].duplicated(keep="first"))
        | (unknown & named.duplicated(keep="first")),
        "this ticket is cancelled twice in the file",
    )
    report.add(
        "external",
        lines[lines["reseller_cancellation_ref"].duplicated(keep="first")],
        "reseller_cancellation_ref",
        "this cancellation id is used twice in the file",
    )
    report.add(
        "external",
        lines[lines["ref_ticket_id"].notna() & (lines["ref_ticket_id"] != lines["ticket_id"])],
        "reseller_cancellation_ref",
        "this cancellation id was used before, for another ticket",
    )
    report.add(
        "external",
        lines[known & (lines["ticket_currency"] != lines["currency"])],
        "currency",
        "the ticket was paid in another currency",
    )
    paid = lines["paid_price"] + (0 if settings.includes_commission else lines["paid_commission"])
    report.add(
        "external",
        lines[known & (lines["refund_amount"] > paid.where(known, 0))],
        "refund_amount",
        "the refund is more than the customer paid",
    )
    return lines[~same]


def _apply(session: Session, settings: IntegrationSettings, lines: pd.DataFrame) -> None:
    if lines.empty:
        return
    now = dt.datetime.now(dt.UTC)
    cancel_tickets(
        session,
        pd.DataFrame(
            {
                "id": lines["ticket_id"].astype("int64"),
                "cancelled_at": lines["cancelled_at"],
                "reseller_cancellation_id": lines["reseller_cancellation_ref"],
            }
        ),
        barcodes=lines["ticket_barcode"].tolist(),
        now=now,
    )
    refunded = lines[~lines["is_test"].astype(bool)]
    book_refunds(
        session,
        pd.DataFrame(
            {
                "contact_id": refunded["contact_id"].astype("int64"),
                "order_id": refunded["order_id"].astype("int64"),
                "amount": refunded["refund_amount"].astype("int64"),
                "currency": refunded["currency"],
                "reference": f"{settings.code}:refund:" + refunded["reseller_cancellation_ref"],
            }
        ),
        now=now,
    )
    refresh_order_states(session, [int(o) for o in lines["order_id"].unique()])


def cancel_tickets(
    session: Session, tickets: pd.DataFrame, *, barcodes: list[str], now: dt.datetime
) -> None:
    """Cancel tickets (``id`` and the other ``ticket`` columns to set, ``cancelled_at``
    among them): their places go back to the reseller's quota, and access control refuses
    their ``barcodes`` from now on."""
    update_rows(session, Ticket.__table__, tickets.assign(state=TicketState.CANCELLED.value))  # type: ignore[arg-type]
    for condition in matching(session, AccessControlEntry.barcode, barcodes):
        session.execute(
            update(AccessControlEntry)
            .where(condition)
            .values(allowed=False, updated_at=now)
            .execution_options(synchronize_session=False)
        )


def book_refunds(session: Session, refunds: pd.DataFrame, *, now: dt.datetime) -> None:
    """One pending-account movement per row (``contact_id``, ``order_id``, ``amount``,
    ``currency``, ``reference``), crediting the contact's account in the currency."""
    if refunds.empty:
        return
    accounts = {
        (contact_id, Currency(currency).value): account_id
        for account_id, contact_id, currency in session.execute(
            select(PendingAccount.id, PendingAccount.contact_id, PendingAccount.currency)
        )
    }
    movements = pd.DataFrame(
        {
            "account_id": [
                accounts[(int(c), str(d))]
                for c, d in zip(refunds["contact_id"], refunds["currency"], strict=True)
            ],
            "order_id": refunds["order_id"].astype("int64"),
            "kind": MovementKind.REFUND.value,
            "amount": refunds["amount"].astype("int64"),
            "currency": refunds["currency"].astype("str"),
            "reference": refunds["reference"],
            "booked_at": now,
        }
    )
    insert_frame(session, PendingAccountMovement.__table__, movements)  # type: ignore[arg-type]


def refresh_order_states(session: Session, order_ids: list[int]) -> None:
    """Each order cancelled when none of its tickets is valid any more, partly cancelled
    when some still are: one ``UPDATE ... FROM`` its tickets counted, per lookup batch."""
    for condition in matching(session, Ticket.order_id, order_ids):
        valid = func.sum(case((Ticket.state == TicketState.VALID, 1), else_=0))
        counted = (
            select(Ticket.order_id.label("order_id"), valid.label("valid"))
            .where(condition)
            .group_by(Ticket.order_id)
            .having(valid < func.count())
            .subquery("counted")
        )
        state_type = Order.__table__.c.state.type
        session.execute(
            update(Order)
            .where(Order.id == counted.c.order_id)
            .values(
                state=case(
                    (counted.c.valid == 0, literal(OrderState.CANCELLED, state_type)),
                    else_=literal(OrderState.PARTLY_CANCELLED, state_type),
                )
            )
            .execution_options(synchronize_session=False)
        )
