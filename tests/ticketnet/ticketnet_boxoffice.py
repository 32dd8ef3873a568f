"""Ticketnet on the demo box office, for the tests of its lines and their integration.

The demo box office holds Ticketnet's entities beside FNAC's (``devtools.demo_boxoffice``):
its sales channel, point of sale, paying contact, and a quota on the demo concert (rows 1
and 2 of block P3, 100 places of the pit). What it cannot hold is Ticketnet's identifiers
of the concert's performances, which the ACK of a CATALOG gives: :func:`add_ticketnet`
gives them as such an ACK would.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from devtools.demo_boxoffice import (
    EVENT_PRODUCT,
    TICKETNET_CHANNEL,
    TICKETNET_CONTACT,
    TICKETNET_PIT_PLACES,
    TICKETNET_POINT_OF_SALE,
    TICKETNET_QUOTA,
    TICKETNET_QUOTA_ROWS,
)
from reseller_sync.boxoffice.models import Product
from reseller_sync.ticketnet.identifiers import PartnerPerformances

CHANNEL = TICKETNET_CHANNEL
POINT_OF_SALE = TICKETNET_POINT_OF_SALE
CONTACT = TICKETNET_CONTACT
QUOTA = TICKETNET_QUOTA
EVENT_ID = "1A005F3C9B12E4D7"
QUOTA_ROWS = tuple(str(row) for row in TICKETNET_QUOTA_ROWS)
PIT_PLACES = TICKETNET_PIT_PLACES


def add_ticketnet(session: Session) -> PartnerPerformances:
    """Ticketnet's identifiers of the demo concert's performances (``EVENT_ID`` and ``P01``,
    ``P02``... in date order), as the ACK of a CATALOG gives them; the entities Ticketnet
    needs are the demo box office's own."""
    concert = session.scalars(select(Product).where(Product.code == EVENT_PRODUCT)).one()
    performances = sorted(concert.performances, key=lambda p: p.starts_at or 0)
    return PartnerPerformances.of(
        {(EVENT_ID, f"P{n:02d}"): p.id for n, p in enumerate(performances, start=1)}
    )
