"""What the SecuTix reseller's dashboard lists under ``secutix-reseller-v1``: its streams of
files, and how late each may be before the dashboard shows it red."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from reseller_sync.boxoffice.models import Direction
from reseller_sync.dashboard.queries import StreamExpectation
from reseller_sync.secutix.names import FileType
from reseller_sync.secutix.naming import ORGANISER_STREAM

if TYPE_CHECKING:
    from reseller_sync.secutix.settings import SecutixSettings

STOCK_LATE_AFTER = dt.timedelta(hours=26)
"""STOCK comes every night around 02:30, the reseller's local time (section 3 point 6)."""
RESULT_LATE_AFTER = dt.timedelta(minutes=45)
"""The reseller picks up the organiser's files every 15 minutes and answers within 30
(section 3 point 6)."""


def expected_streams(settings: SecutixSettings) -> tuple[StreamExpectation, ...]:
    """TICKETS (late after ``nightly.tickets_silence_alert_minutes``), STOCK, then the
    organiser's files, each answered by a RESULT."""
    silence = dt.timedelta(minutes=settings.nightly.tickets_silence_alert_minutes)
    return (
        StreamExpectation(Direction.INBOUND, FileType.TICKETS.value, late_after=silence),
        StreamExpectation(Direction.INBOUND, FileType.STOCK.value, late_after=STOCK_LATE_AFTER),
        StreamExpectation(Direction.OUTBOUND, ORGANISER_STREAM, answered_within=RESULT_LATE_AFTER),
    )
