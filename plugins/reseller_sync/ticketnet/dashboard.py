"""What Ticketnet's dashboard lists under ``ticketnet-exchange-v1``: its streams of batches,
and how late each may be before the dashboard shows it red."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from reseller_sync.boxoffice.models import Direction
from reseller_sync.dashboard.queries import StreamExpectation
from reseller_sync.ticketnet.names import Stream

if TYPE_CHECKING:
    from reseller_sync.ticketnet.settings import TicketnetSettings

INVENTORY_LATE_AFTER = dt.timedelta(hours=26)
"""INVENTORY comes every night between 03:00 and 04:00 Paris time (section 3 point 10)."""
ACK_LATE_AFTER = dt.timedelta(minutes=45)
"""Ticketnet picks up a batch every 15 minutes and answers within 30 (section 3 point 6)."""


def expected_streams(settings: TicketnetSettings) -> tuple[StreamExpectation, ...]:
    """SALES (late after ``nightly.sales_silence_alert_hours``), PRICETYPES, INVENTORY, then
    the organiser's OFFER batches, answered by an ACK."""
    hours = dt.timedelta(hours=settings.nightly.sales_silence_alert_hours)
    return (
        StreamExpectation(Direction.INBOUND, Stream.SALES.value, late_after=hours),
        StreamExpectation(Direction.INBOUND, Stream.PRICETYPES.value),
        StreamExpectation(
            Direction.INBOUND, Stream.INVENTORY.value, late_after=INVENTORY_LATE_AFTER
        ),
        StreamExpectation(Direction.OUTBOUND, Stream.OFFER.value, answered_within=ACK_LATE_AFTER),
    )
