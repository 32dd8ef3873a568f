"""What FNAC's dashboard lists under ``fnac-exchange-v1``: its streams of files, and how
late each may be before the dashboard shows it red."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from reseller_sync.boxoffice.models import Direction
from reseller_sync.dashboard.queries import StreamExpectation
from reseller_sync.fnac.names import FileType

if TYPE_CHECKING:
    from reseller_sync.fnac.settings import FnacSettings

INBOUND_STREAMS = (FileType.VENTES, FileType.ANNUL, FileType.TEST, FileType.CATCLI, FileType.ETATPL)
OUTBOUND_STREAMS = (FileType.FICHE, FileType.PLACES, FileType.DECONT)
ETATPL_LATE_AFTER = dt.timedelta(hours=26)
"""ETATPL comes every night around 02:00 Paris time (section 7.5): a day and two hours of
slack."""
ACK_LATE_AFTER = dt.timedelta(hours=1)
"""FNAC picks up a file within 15 minutes and answers with an ACK (section 3)."""


def expected_streams(settings: FnacSettings) -> tuple[StreamExpectation, ...]:
    """FNAC's inbound streams, then the organiser's; VENTES is late after
    ``nightly.ventes_silence_alert_hours`` (never when null)."""
    hours = settings.nightly.ventes_silence_alert_hours
    late_after = {
        FileType.VENTES: dt.timedelta(hours=hours) if hours is not None else None,
        FileType.ETATPL: ETATPL_LATE_AFTER,
    }
    return (
        *(
            StreamExpectation(Direction.INBOUND, kind.value, late_after=late_after.get(kind))
            for kind in INBOUND_STREAMS
        ),
        *(
            StreamExpectation(Direction.OUTBOUND, kind.value, answered_within=ACK_LATE_AFTER)
            for kind in OUTBOUND_STREAMS
        ),
    )
