"""FNAC files late: an integration nobody watches must still shout.

FNAC sends a VENTES file every hour, even empty (spec 7.1): none for longer
than the configured silence means its side or the transport is stuck. A
sequence gap stops a type (spec 9.1): one still open after an hour needs a
call to FNAC. Both are external alerts.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import Direction
from reseller_sync.domain.errors import ExternalError, Problem
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange import journal
from reseller_sync.fnac.names import FileName, FileType
from reseller_sync.fnac.sales import RESELLER
from reseller_sync.fnac.settings import FnacSettings

GAP_TOLERANCE = dt.timedelta(hours=1)
WATCHED_TYPES = (FileType.VENTES, FileType.ANNUL, FileType.CATCLI, FileType.TEST, FileType.ETATPL)


def late_files(session: Session, settings: FnacSettings, now: dt.datetime) -> list[Problem]:
    """What is late: the last VENTES file too old, or a gap open for too long."""
    problems: list[Problem] = []
    silence = settings.nightly.ventes_silence_alert_hours
    names = journal.names_in_stream(session, RESELLER, Direction.INBOUND, FileType.VENTES.value)
    if silence is not None and names:
        newest = max(FileName.parse(name).stamp for name in names)
        if now - newest > dt.timedelta(hours=silence):
            hours = (now - newest).total_seconds() / 3600
            problems.append(
                Problem(
                    f"no VENTES file for {hours:.1f} hours (FNAC sends one every hour; the alert "
                    f"threshold is {silence} hours)",
                    value=newest.isoformat(),
                )
            )
    for file_type in WATCHED_TYPES:
        queue = journal.queue(session, RESELLER, file_type.value)
        if not queue.missing:
            continue
        first_waiting = journal.journaled_file(session, queue.waiting[0])
        waited = now - _aware(first_waiting.created_at)
        if waited > GAP_TOLERANCE:
            missing = ", ".join(f"{seq:06d}" for seq in queue.missing)
            problems.append(
                Problem(
                    f"{file_type.value} sequence(s) {missing} missing for "
                    f"{waited.total_seconds() / 3600:.1f} hours: {len(queue.waiting)} file(s) wait "
                    "behind the gap",
                    file=first_waiting.name,
                )
            )
    return problems


def check_files_late(session: Session, settings: FnacSettings, now: dt.datetime) -> None:
    """Raise the external alert "FNAC files late" when anything is late."""
    if problems := late_files(session, settings, now):
        raise ExternalError(
            "FNAC files late",
            problems=problems,
            action=Localized(
                fr="Vérifiez que le côté {reseller} et le serveur SFTP fonctionnent ; s'il "
                "manque des fichiers, demandez à {reseller} de les envoyer (citez les "
                "séquences manquantes).",
                en="Check that {reseller}'s side and the SFTP server are running; if files "
                "are missing, ask {reseller} to send them (quote the missing sequences).",
            ),
        )


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
