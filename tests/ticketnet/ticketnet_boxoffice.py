"""Ticketnet on the demo box office, for the tests of its lines and their integration: its
sales channel, point of sale, paying contact, and a quota on the demo concert (rows 1 and 2
of block P3, 100 places of the pit), beside FNAC's."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from devtools.demo_boxoffice import EVENT_PRODUCT
from reseller_sync.boxoffice.models import (
    Block,
    ChannelType,
    Contact,
    Currency,
    PaymentMode,
    PendingAccount,
    PointOfSale,
    Product,
    ProductChannel,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    SalesChannel,
    Seat,
)
from reseller_sync.ticketnet.identifiers import PartnerPerformances

CHANNEL = "TICKETNET"
POINT_OF_SALE = "TICKETNET-RESEAU"
CONTACT = "TICKETNET-TECH"
QUOTA = "Q-TICKETNET"
EVENT_ID = "1A005F3C9B12E4D7"
QUOTA_ROWS = ("1", "2")
PIT_PLACES = 100


def add_ticketnet(session: Session) -> PartnerPerformances:
    """Ticketnet's entities on the demo box office; its identifiers of the concert's
    performances (``P01``, ``P02``... in date order), as the ACK of a CATALOG gives them."""
    channel = SalesChannel(
        code=CHANNEL,
        name="Ticketnet (interface automatique)",
        type=ChannelType.RESELLER_AUTOMATIC,
        reseller_code="ticketnet",
    )
    contact = Contact(code=CONTACT, name="Ticketnet — compte technique", technical=True)
    session.add_all(
        [
            channel,
            PointOfSale(
                code=POINT_OF_SALE,
                name="Réseau Ticketnet",
                channel=channel,
                payment_mode=PaymentMode.PENDING_ACCOUNT,
            ),
            contact,
            *(PendingAccount(contact=contact, currency=currency) for currency in Currency),
        ]
    )
    concert = session.scalars(select(Product).where(Product.code == EVENT_PRODUCT)).one()
    session.flush()
    session.add(ProductChannel(product_id=concert.id, channel_id=channel.id))
    blocks = {
        block.code: block
        for block in session.scalars(select(Block).where(Block.code.in_(["P3", "FOSSE"])))
    }
    seats = session.scalars(
        select(Seat.id).where(Seat.block_id == blocks["P3"].id, Seat.row.in_(QUOTA_ROWS))
    ).all()
    performances = sorted(concert.performances, key=lambda p: p.starts_at or 0)
    for performance in performances:
        quota = Quota(
            code=QUOTA, name="Contingent Ticketnet", channel=channel, performance=performance
        )
        session.add(quota)
        session.flush()
        session.execute(
            insert(QuotaSeat),
            [
                {"quota_id": quota.id, "performance_id": performance.id, "seat_id": seat}
                for seat in seats
            ],
        )
        session.add(QuotaFreePlaces(quota=quota, block=blocks["FOSSE"], places=PIT_PLACES))
    session.flush()
    return PartnerPerformances.of(
        {(EVENT_ID, f"P{n:02d}"): p.id for n, p in enumerate(performances, start=1)}
    )
