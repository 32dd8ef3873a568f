"""Ticketnet's batches late (``ticketnet-exchange-v1`` section 9.1 point 2, code ``R07``).

Ticketnet sends a SALES batch every hour, even empty (section 3 point 10): none
for ``nightly.sales_silence_alert_hours`` means its side or the transport is
stuck. The next batch of a stream may also wait: its manifest missing while a
later batch is landed, or while some of its own data files have been on the
server for as long. Each is an external alert, ``R07``
(:mod:`reseller_sync.pipelines.late_files`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from reseller_sync.domain.errors import Problem
from reseller_sync.exchange.transport import RemoteFile
from reseller_sync.pipelines.late_files import LateFilesRule, late_files, raise_if_late
from reseller_sync.ticketnet.names import Stream
from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE
from reseller_sync.ticketnet.settings import TicketnetSettings

WATCHED_STREAMS = (Stream.PRICETYPES, Stream.SALES, Stream.INVENTORY)


def late_rule(settings: TicketnetSettings) -> LateFilesRule:
    return LateFilesRule(
        code="R07",
        main_stream=Stream.SALES.value,
        rhythm="Ticketnet sends one every hour",
        streams=tuple(stream.value for stream in WATCHED_STREAMS),
        threshold=dt.timedelta(hours=settings.nightly.sales_silence_alert_hours),
    )


def late_batches(
    session: Session,
    settings: TicketnetSettings,
    now: dt.datetime,
    unclosed: Sequence[RemoteFile] = (),
) -> list[Problem]:
    """What is late: no SALES batch for too long, a batch missing behind which later ones
    wait, or data files on the server without their manifest (``unclosed``), for longer
    than the threshold."""
    return late_files(session, RESELLER_TYPE.code, late_rule(settings), now, unclosed)


def check_batches_late(
    session: Session,
    settings: TicketnetSettings,
    now: dt.datetime,
    unclosed: Sequence[RemoteFile] = (),
) -> None:
    """Raise the external alert "Ticketnet batches late" (``R07``) when anything is late."""
    raise_if_late(
        session, RESELLER_TYPE.code, RESELLER_TYPE.name, late_rule(settings), now, unclosed
    )
