"""Ticketnet's batches late (``ticketnet-exchange-v1`` section 9.1 point 2, code ``R07``).

Ticketnet sends a SALES batch every hour, even empty (section 3 point 10): none
for ``nightly.sales_silence_alert_hours`` means its side or the transport is
stuck. The next batch of a stream may also wait: its manifest missing while a
later batch is landed, or while some of its own data files have been on the
server for as long. Each is an external alert, ``R07``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import Direction
from reseller_sync.domain.errors import ExternalError, Problem
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange import journal
from reseller_sync.exchange.transport import RemoteFile
from reseller_sync.ticketnet.names import Stream
from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE
from reseller_sync.ticketnet.settings import TicketnetSettings

WATCHED_STREAMS = (Stream.PRICETYPES, Stream.SALES, Stream.INVENTORY)
LATE_ACTION = Localized(
    fr="Vérifiez que le côté {reseller} et le serveur SFTP fonctionnent ; s'il manque des "
    "lots, demandez à {reseller} de les envoyer ou de les compléter (citez leurs numéros).",
    en="Check that {reseller}'s side and the SFTP server are running; if batches are "
    "missing, ask {reseller} to send or complete them (quote their numbers).",
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
    threshold = dt.timedelta(hours=settings.nightly.sales_silence_alert_hours)
    hours = settings.nightly.sales_silence_alert_hours
    reseller = RESELLER_TYPE.code
    problems: list[Problem] = []
    newest = journal.last_landed_at(session, reseller, Direction.INBOUND, Stream.SALES.value)
    if newest is not None and now - newest > threshold:
        problems.append(
            Problem(
                f"R07: no SALES batch for {(now - newest).total_seconds() / 3600:.1f} hours "
                f"(Ticketnet sends one every hour; the alert threshold is {hours} hours)",
                value=newest.isoformat(),
            )
        )
    for stream in WATCHED_STREAMS:
        queue = journal.queue(session, reseller, stream.value)
        if not queue.missing:
            continue
        first_waiting = journal.journaled_file(session, queue.waiting[0])
        waited = now - _aware(first_waiting.created_at)
        if waited > threshold:
            missing = ", ".join(f"{number:08d}" for number in queue.missing)
            problems.append(
                Problem(
                    f"R07: {stream.value} batch(es) {missing} missing for "
                    f"{waited.total_seconds() / 3600:.1f} hours: {len(queue.waiting)} later "
                    "batch(es) wait behind",
                    file=first_waiting.name,
                )
            )
    for file in unclosed:
        if file.modified is not None and now - file.modified > threshold:
            problems.append(
                Problem(
                    f"R07: incomplete batch: this data file has been on the server for "
                    f"{(now - file.modified).total_seconds() / 3600:.1f} hours without its "
                    "manifest",
                    file=file.name,
                )
            )
    return problems


def check_batches_late(
    session: Session,
    settings: TicketnetSettings,
    now: dt.datetime,
    unclosed: Sequence[RemoteFile] = (),
) -> None:
    """Raise the external alert "Ticketnet batches late" (``R07``) when anything is late."""
    if problems := late_batches(session, settings, now, unclosed):
        raise ExternalError(
            f"{RESELLER_TYPE.name} batches late (R07)", problems=problems, action=LATE_ACTION
        )


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
