"""A reseller that is not FNAC, on the demo box office, and canonical lines for it.

The integration is fed canonical lines directly here: no partner file, no
mapping. ``Reseller`` gives the ids the lines need (a concert performance,
seats in and out of the reseller's quota, a free-placement block, a price).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    Block,
    ChannelType,
    Contact,
    Currency,
    PaymentMode,
    PendingAccount,
    Performance,
    PointOfSale,
    Price,
    Product,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    SalesChannel,
    Seat,
)
from reseller_sync.config.settings import PricePolicy
from reseller_sync.core.lines import (
    CANCELLATION_LINES,
    LINE_INDEX,
    SALE_LINES,
    TICKET_STATE_LINES,
)
from reseller_sync.integration.settings import IntegrationSettings

CODE = "stx"
SOLD_AT = pd.Timestamp("2026-11-28T12:12:44Z").as_unit("us")


@dataclass(frozen=True)
class Reseller:
    """The test reseller's box-office side, and the ids its lines use."""

    settings: IntegrationSettings
    performance_id: int
    seats: tuple[int, ...]
    """Seats of its quota on the performance, all of one category."""
    outside: int
    """A seat of the same block that its quota does not hold."""
    category_id: int
    tariff_id: int
    amount: int
    """The box-office price of (performance, category, tariff)."""
    free_block_id: int
    free_category_id: int
    free_tariff_id: int
    free_amount: int
    free_places: int
    contact_id: int

    def with_settings(self, **changes: Any) -> Reseller:
        return replace(self, settings=replace(self.settings, **changes))


def _price(session: Session, performance_id: int, category_id: int) -> Price:
    return session.scalars(
        select(Price)
        .where(Price.performance_id == performance_id, Price.category_id == category_id)
        .order_by(Price.id)
    ).first()  # type: ignore[return-value]


@pytest.fixture
def reseller(demo_session: Session) -> Reseller:
    """A reseller ``stx``: its channel, point of sale, paying contact with pending accounts,
    and a quota on the first concert performance (three seats, two standing places)."""
    session = demo_session
    channel = SalesChannel(
        code="STX",
        name="Test reseller",
        type=ChannelType.RESELLER_AUTOMATIC,
        reseller_code=CODE,
    )
    point = PointOfSale(
        code="STX-NET",
        name="Test reseller network",
        channel=channel,
        payment_mode=PaymentMode.PENDING_ACCOUNT,
    )
    contact = Contact(code="STX-TECH", name="Test reseller account", technical=True)
    session.add_all([channel, point, contact])
    session.add_all([PendingAccount(contact=contact, currency=c) for c in Currency])
    performance = session.scalars(
        select(Performance)
        .join(Product)
        .where(Product.code == "EVT-LUMEN", Performance.code == "S1")
    ).one()
    block = session.scalars(select(Block).where(Block.code == "P3")).first()
    assert block is not None
    held_elsewhere = select(QuotaSeat.seat_id).where(QuotaSeat.performance_id == performance.id)
    seats = session.scalars(
        select(Seat)
        .where(Seat.block_id == block.id, Seat.id.not_in(held_elsewhere))
        .order_by(Seat.id)
    ).all()
    held, outside = seats[:3], seats[3]
    pit = session.scalars(select(Block).where(Block.code == "FOSSE")).first()
    assert pit is not None
    assert pit.category_id is not None
    quota = Quota(
        code="Q-STX", name="Test reseller quota", channel=channel, performance=performance
    )
    session.add(quota)
    session.flush()
    session.add_all(
        [QuotaSeat(quota=quota, performance_id=performance.id, seat_id=seat.id) for seat in held]
    )
    session.add(QuotaFreePlaces(quota=quota, block=pit, places=2))
    session.flush()
    price = _price(session, performance.id, held[0].category_id)
    free_price = _price(session, performance.id, pit.category_id)
    settings = IntegrationSettings(
        code=CODE,
        name="Testix",
        channel="STX",
        point_of_sale="STX-NET",
        paying_contact="STX-TECH",
        price_policy=PricePolicy.STRICT,
        includes_commission=True,
        columns={"seat_id": "SEAT", "price": "PRICE", "barcode": "BAR_CODE"},
    )
    return Reseller(
        settings=settings,
        performance_id=performance.id,
        seats=tuple(seat.id for seat in held),
        outside=outside.id,
        category_id=held[0].category_id,
        tariff_id=price.tariff_id,
        amount=price.amount,
        free_block_id=pit.id,
        free_category_id=pit.category_id,
        free_tariff_id=free_price.tariff_id,
        free_amount=free_price.amount,
        free_places=2,
        contact_id=contact.id,
    )


def sale_lines(reseller: Reseller, *lines: dict[str, Any], first: int = 1) -> pd.DataFrame:
    """Sale lines (``SALE_LINES``), numbered from ``first``: by default a ticket for the
    reseller's first seat at the box-office price; each dict overrides columns, and
    ``free=True`` makes it a standing place."""
    rows = []
    for n, changes in enumerate(lines, start=first):
        changes = dict(changes)
        free = changes.pop("free", False)
        row: dict[str, Any] = {
            "reseller_order_ref": f"O{n}",
            "reseller_ticket_ref": f"T{n}",
            "barcode": f"9900000000{n:04d}",
            "performance_id": reseller.performance_id,
            "seat_id": None if free else reseller.seats[0],
            "block_id": reseller.free_block_id if free else None,
            "category_id": reseller.free_category_id if free else reseller.category_id,
            "tariff_id": reseller.free_tariff_id if free else reseller.tariff_id,
            "reseller_tariff_ref": "ADULT",
            "price": reseller.free_amount if free else reseller.amount,
            "commission": 100,
            "currency": "EUR",
            "beneficiary_first_name": "Hélène",
            "beneficiary_last_name": "Dupré",
            "point_of_sale_ref": "WEB",
            "point_of_sale_name": None,
            "sold_at": SOLD_AT,
        }
        row.update(changes)
        rows.append(row)
    frame = pd.DataFrame(rows, index=pd.Index(range(first, first + len(rows)), name=LINE_INDEX))
    return frame.astype(dict(SALE_LINES.dtypes))


def cancellation_lines(*lines: dict[str, Any], first: int = 1) -> pd.DataFrame:
    """Cancellation lines (``CANCELLATION_LINES``) numbered from ``first``."""
    rows = []
    for n, changes in enumerate(lines, start=first):
        row: dict[str, Any] = {
            "reseller_cancellation_ref": f"C{n}",
            "reseller_order_ref": None,
            "reseller_ticket_ref": None,
            "barcode": None,
            "refund_amount": 0,
            "currency": "EUR",
            "cancelled_at": SOLD_AT + dt.timedelta(hours=1),
        }
        row.update(changes)
        rows.append(row)
    frame = pd.DataFrame(rows, index=pd.Index(range(first, first + len(rows)), name=LINE_INDEX))
    return frame.astype(dict(CANCELLATION_LINES.dtypes))


def ticket_state_lines(reseller: Reseller, *lines: dict[str, Any], first: int = 1) -> pd.DataFrame:
    """Ticket-state lines (``TICKET_STATE_LINES``) numbered from ``first``: each a sale line
    of :func:`sale_lines` (order ``O<n>``, barcode ``9900000000<nnnn>``, which is also the
    ticket's reference) in state ``sold`` by default, entered when it was sold; each dict
    overrides columns."""
    rows = []
    for n, changes in enumerate(lines, start=first):
        changes = dict(changes)
        state = {
            "state": changes.pop("state", "sold"),
            "state_changed_at": changes.pop("state_changed_at", SOLD_AT),
            "refund_amount": changes.pop("refund_amount", None),
        }
        sale = sale_lines(reseller, changes, first=n)
        rows.append(sale.assign(reseller_ticket_ref=sale["barcode"], **state))
    frame = pd.concat(rows)
    return frame.astype(dict(TICKET_STATE_LINES.dtypes))
