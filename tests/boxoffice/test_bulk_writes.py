"""Writes and reads of many rows at once (``bulk.update_rows``, ``take_ids``, ``fetch_rows``),
on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.bulk import fetch_rows, insert_frame, matching, take_ids, update_rows
from reseller_sync.boxoffice.models import (
    Contact,
    Currency,
    Order,
    OrderState,
    Performance,
    PointOfSale,
    Seat,
    Tariff,
    Ticket,
    TicketState,
)

AT = dt.datetime(2026, 11, 30, 10, 15, 7, 250_001, tzinfo=dt.UTC)


def _tickets(session: Session, count: int) -> list[Ticket]:
    """``count`` valid tickets of one new order, on the first seats of the first performance."""
    point = session.scalars(select(PointOfSale).order_by(PointOfSale.id)).first()
    contact = session.scalars(select(Contact).order_by(Contact.id)).first()
    performance = session.scalars(select(Performance).order_by(Performance.id)).first()
    tariff = session.scalars(select(Tariff).order_by(Tariff.id)).first()
    seats = session.scalars(select(Seat).order_by(Seat.id).limit(count)).all()
    assert point is not None
    assert contact is not None
    assert performance is not None
    assert tariff is not None
    assert len(seats) == count
    order = Order(
        channel_id=point.channel_id,
        point_of_sale_id=point.id,
        contact_id=contact.id,
        state=OrderState.PAID,
        currency=Currency.EUR,
        total=1000 * count,
        reseller_code="bulk",
        reseller_order_id="BULK-1",
        sold_at=AT,
    )
    session.add(order)
    session.flush()
    tickets = [
        Ticket(
            order_id=order.id,
            performance_id=performance.id,
            seat_id=seat.id,
            category_id=seat.category_id,
            tariff_id=tariff.id,
            price=1000,
            commission=0,
            currency=Currency.EUR,
            barcode=f"BULK{n:06d}",
            state=TicketState.VALID,
            reseller_code="bulk",
            reseller_ticket_id=f"BT{n}",
            beneficiary_first_name="Ada",
            beneficiary_last_name="Lovelace",
        )
        for n, seat in enumerate(seats)
    ]
    session.add_all(tickets)
    session.flush()
    return tickets


def _reloaded(session: Session, tickets: list[Ticket]) -> list[Ticket]:
    session.expire_all()
    ids = [ticket.id for ticket in tickets]
    by_id = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
    return [by_id[id_] for id_ in ids]


def test_update_rows_sets_each_rows_columns_nulls_and_times_included(
    demo_session: Session,
) -> None:
    tickets = _tickets(demo_session, 3)
    first, second, third = tickets
    untouched = (third.id, third.state, third.beneficiary_last_name, third.cancelled_at)
    changes = pd.DataFrame(
        {
            "id": [first.id, second.id],
            "state": [TicketState.CANCELLED.value, TicketState.VALID.value],
            "cancelled_at": pd.to_datetime([AT, None], utc=True),
            "beneficiary_first_name": pd.Series(['Zoé "Z"', None], dtype="str"),
            "beneficiary_last_name": pd.Series(["", "O'Hara, Jr"], dtype="str"),
            "refund_amount": pd.array([None, 1250], dtype="Int64"),
        }
    )
    assert update_rows(demo_session, Ticket.__table__, changes) == 2  # type: ignore[arg-type]
    # The same table again in the same transaction.
    assert update_rows(
        demo_session,
        Ticket.__table__,  # type: ignore[arg-type]
        pd.DataFrame({"id": [second.id], "reseller_state": ["printed"]}),
    )
    first, second, third = _reloaded(demo_session, tickets)
    assert first.state is TicketState.CANCELLED
    assert first.cancelled_at is not None
    assert first.cancelled_at.astimezone(dt.UTC) == AT  # to the microsecond
    assert (first.beneficiary_first_name, first.beneficiary_last_name) == ('Zoé "Z"', "")
    assert first.refund_amount is None
    assert second.state is TicketState.VALID
    assert second.cancelled_at is None
    assert second.beneficiary_first_name is None
    assert second.beneficiary_last_name == "O'Hara, Jr"
    assert (second.refund_amount, second.reseller_state) == (1250, "printed")
    assert (third.id, third.state, third.beneficiary_last_name, third.cancelled_at) == untouched


def test_update_rows_by_another_key(demo_session: Session) -> None:
    demo_session.add_all(Contact(code=f"UPD{n}", name="before") for n in range(3))
    demo_session.flush()
    update_rows(
        demo_session,
        Contact.__table__,  # type: ignore[arg-type]
        pd.DataFrame({"code": ["UPD0", "UPD2", "UPD-NONE"], "name": ["zero", "two", "none"]}),
        key="code",
    )
    demo_session.expire_all()
    names = dict(
        demo_session.execute(
            select(Contact.code, Contact.name).where(Contact.code.like("UPD%"))
        ).all()
    )
    assert names == {"UPD0": "zero", "UPD1": "before", "UPD2": "two"}


def test_taken_ids_are_new_and_the_rows_keep_them(demo_session: Session) -> None:
    taken = take_ids(demo_session, Contact.__table__, 5)  # type: ignore[arg-type]
    if demo_session.connection().dialect.name != "postgresql":
        assert taken is None
        return
    assert taken is not None
    assert len(set(taken.tolist())) == 5
    highest = demo_session.scalar(select(Contact.id).order_by(Contact.id.desc()).limit(1))
    assert int(taken.min()) > (highest or 0)
    insert_frame(
        demo_session,
        Contact.__table__,  # type: ignore[arg-type]
        pd.DataFrame(
            {
                "id": taken,
                "code": [f"TAKE{n}" for n in range(5)],
                "name": "taken",
                "technical": False,
            }
        ),
    )
    stored = dict(
        demo_session.execute(
            select(Contact.code, Contact.id).where(Contact.code.like("TAKE%"))
        ).all()
    )
    assert stored == {f"TAKE{n}": int(taken[n]) for n in range(5)}
    # The sequence goes on after them: a row inserted without an id takes a new one.
    demo_session.add(Contact(code="AFTER", name="after"))
    demo_session.flush()
    after = demo_session.scalar(select(Contact.id).where(Contact.code == "AFTER"))
    assert after is not None
    assert after > int(taken.max())
    empty = take_ids(demo_session, Contact.__table__, 0)  # type: ignore[arg-type]
    assert empty is not None
    assert empty.size == 0


def test_fetched_rows_are_the_stored_values(demo_session: Session) -> None:
    tickets = _tickets(demo_session, 4)
    barcodes = [ticket.barcode for ticket in tickets]
    rows: list[Any] = []
    for condition in matching(demo_session, Ticket.barcode, [*barcodes, "NO-SUCH-CODE"]):
        rows.extend(
            fetch_rows(
                demo_session,
                select(
                    Ticket.barcode,
                    Ticket.id,
                    type_coerce(Ticket.state, String),
                    type_coerce(Ticket.currency, String),
                    Ticket.price,
                ).where(condition),
            )
        )
    assert sorted(tuple(row) for row in rows) == sorted(
        (t.barcode, t.id, t.state.value, t.currency.value, t.price) for t in tickets
    )
