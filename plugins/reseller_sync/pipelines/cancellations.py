"""Integrate FNAC's ANNUL files: cancellations and refunds (spec 7.3).

Each line cancels one ticket: the ticket is cancelled (its place goes back to
FNAC's quota, which still holds it), access control refuses the barcode from
then on, and the refund is a pending-account movement of ``montant_rembourse``
(one per cancellation). A line whose cancellation was integrated before is
skipped. Any problem refuses the whole file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.bulk import batches, insert_frame
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
from reseller_sync.config.settings import FnacSettings
from reseller_sync.domain.errors import ExternalError, Problem
from reseller_sync.pipelines.sales import RESELLER


@dataclass(frozen=True)
class CancellationIntegration:
    file_name: str
    lines: int
    cancelled: int
    already_integrated: int
    refunded: dict[str, int]
    """Refunds per currency, in cents."""


def integrate_cancellations(
    session: Session,
    settings: FnacSettings,
    file_name: str,
    frame: pd.DataFrame,
) -> CancellationIntegration:
    """Apply a parsed ANNUL file in the session's transaction, or raise listing every problem."""
    if frame.empty:
        return CancellationIntegration(file_name, 0, 0, 0, {})
    lines = frame.join(_tickets(session, frame["id_billet"].tolist()), on="id_billet")
    problems: list[Problem] = []

    def refuse(mask: pd.Series, column: str, reason: str) -> None:
        for line, value in lines.loc[mask, column].items():
            problems.append(
                Problem(
                    reason,
                    file=file_name,
                    line=int(line),
                    column=column,
                    value=None if pd.isna(value) else str(value),
                )
            )

    unknown = lines["ticket_id"].isna()
    refuse(unknown, "id_billet", "no ticket with this id was sold by FNAC (never integrated)")
    known = ~unknown
    refuse(
        known & (lines["barcode"] != lines["code_barre"]),
        "code_barre",
        "this is not the barcode of the ticket",
    )
    refuse(
        known & (lines["reseller_order_id"] != lines["id_vente"]),
        "id_vente",
        "the ticket belongs to another order",
    )
    refuse(
        known & lines["is_test"].fillna(False).astype(bool),
        "id_billet",
        "a test ticket: FNAC sends no cancellation for test tickets",
    )
    same = known & (lines["reseller_cancellation_id"] == lines["id_annulation"])
    refuse(
        known & lines["reseller_cancellation_id"].notna() & ~same,
        "id_billet",
        "this ticket was cancelled before, by another cancellation",
    )
    refuse(
        lines["id_billet"].duplicated(keep="first"),
        "id_billet",
        "this ticket is cancelled twice in the file",
    )
    refuse(
        known & (lines["currency"] != lines["devise"]),
        "devise",
        "the ticket was paid in another currency",
    )
    includes = settings.prices.includes_commission
    paid = lines["price"] + (0 if includes else lines["commission"].fillna(0))
    refuse(
        known & (lines["montant_rembourse"] > paid.where(known, 0)),
        "montant_rembourse",
        "the refund is more than the customer paid",
    )
    if problems:
        raise ExternalError(
            f"{file_name}: {len(problems)} cancellation(s) do not match the tickets sold",
            problems=problems,
            file=file_name,
            action="Check the lines below with FNAC; once corrected, clear the failed task.",
        )

    fresh = lines[~same]
    _apply(session, fresh)
    return CancellationIntegration(
        file_name=file_name,
        lines=len(lines),
        cancelled=len(fresh),
        already_integrated=int(same.sum()),
        refunded={
            str(c): int(t) for c, t in fresh.groupby("devise")["montant_rembourse"].sum().items()
        },
    )


def _tickets(session: Session, ticket_ids: list[str]) -> pd.DataFrame:
    rows: list[Any] = []
    for batch in batches(ticket_ids):
        rows.extend(
            session.execute(
                select(
                    Ticket.reseller_ticket_id,
                    Ticket.id,
                    Ticket.order_id,
                    Ticket.barcode,
                    Ticket.price,
                    Ticket.commission,
                    Ticket.currency,
                    Ticket.is_test,
                    Ticket.reseller_cancellation_id,
                    Order.reseller_order_id,
                    Order.contact_id,
                )
                .join(Order, Ticket.order_id == Order.id)
                .where(Ticket.reseller_code == RESELLER, Ticket.reseller_ticket_id.in_(batch))
            )
        )
    columns = [
        "id_billet",
        "ticket_id",
        "order_id",
        "barcode",
        "price",
        "commission",
        "currency",
        "is_test",
        "reseller_cancellation_id",
        "reseller_order_id",
        "contact_id",
    ]
    tickets = pd.DataFrame(rows, columns=columns).set_index("id_billet")
    tickets["currency"] = tickets["currency"].map(lambda c: Currency(c).value)
    return tickets


def _apply(session: Session, lines: pd.DataFrame) -> None:
    if lines.empty:
        return
    now = dt.datetime.now(dt.UTC)
    connection = session.connection()
    connection.execute(
        update(Ticket)
        .where(Ticket.id == bindparam("b_id"))
        .values(
            state=TicketState.CANCELLED,
            cancelled_at=bindparam("b_at"),
            reseller_cancellation_id=bindparam("b_cancellation"),
        ),
        [
            {"b_id": int(ticket_id), "b_at": at.to_pydatetime(), "b_cancellation": cancellation}
            for ticket_id, at, cancellation in zip(
                lines["ticket_id"], lines["date_annulation"], lines["id_annulation"], strict=True
            )
        ],
    )
    connection.execute(
        update(AccessControlEntry)
        .where(AccessControlEntry.barcode == bindparam("b_barcode"))
        .values(allowed=False, updated_at=now),
        [{"b_barcode": barcode} for barcode in lines["code_barre"]],
    )
    accounts = {
        (contact_id, Currency(currency).value): account_id
        for account_id, contact_id, currency in session.execute(
            select(PendingAccount.id, PendingAccount.contact_id, PendingAccount.currency)
        )
    }
    refunds = pd.DataFrame(
        {
            "account_id": [
                accounts[(int(c), d)]
                for c, d in zip(lines["contact_id"], lines["devise"], strict=True)
            ],
            "order_id": lines["order_id"].astype("int64"),
            "kind": MovementKind.REFUND.value,
            "amount": lines["montant_rembourse"].astype("int64"),
            "currency": lines["devise"],
            "reference": "fnac:refund:" + lines["id_annulation"],
            "booked_at": now,
        }
    )
    insert_frame(session, PendingAccountMovement.__table__, refunds)  # type: ignore[arg-type]
    order_ids = [int(o) for o in lines["order_id"].unique()]
    for batch in batches(order_ids):
        counts = session.execute(
            select(
                Ticket.order_id,
                func.count(),
                func.sum(case((Ticket.state == TicketState.VALID, 1), else_=0)),
            )
            .where(Ticket.order_id.in_(batch))
            .group_by(Ticket.order_id)
        )
        states = [
            {
                "b_id": order_id,
                "b_state": (OrderState.CANCELLED if not valid else OrderState.PARTLY_CANCELLED),
            }
            for order_id, _total, valid in counts
        ]
        if states:
            connection.execute(
                update(Order)
                .where(Order.id == bindparam("b_id"))
                .values(state=bindparam("b_state")),
                states,
            )
