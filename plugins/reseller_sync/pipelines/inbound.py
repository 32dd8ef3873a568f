"""A file reseller's files in: land them, then integrate each stream in sequence order.

- Landing downloads every new file of the partner's folder into the exchange
  journal, one transaction per file; from then on no worker needs the SFTP
  server.
- Integration takes the files of one stream in sequence order. Each file is
  turned into canonical lines by the adapter (``InboundFiles``) and applied
  by the neutral integration in one transaction that also marks it
  integrated: a crash leaves it landed, whole, to be integrated again. A file
  that fails is marked failed with its problems and stops its stream; the
  next run starts with it again, and nothing behind it passes first (the
  cascade guard).
- The cancellations stream waits while sales files are waiting or stuck: a
  cancellation comes after the sale it cancels.
- A file whose sequence another file already holds is refused at landing and
  reported once by :func:`check_refused_files`, whichever run landed it; a
  person may set a failed file aside (``journal.set_aside``) so that its
  stream goes on from the next sequence.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.db import session_scope
from reseller_sync.boxoffice.models import FileState
from reseller_sync.config.settings import InstanceSettings
from reseller_sync.core.exchange import ExchangeNaming, InboundUnit
from reseller_sync.core.resellers import InboundFiles, StreamRole, adapter, reseller_type
from reseller_sync.domain.errors import ExternalError, Problem, SyncError
from reseller_sync.domain.texts import Localized, Text
from reseller_sync.exchange import journal
from reseller_sync.exchange.transport import SftpTransport, TransportSettings
from reseller_sync.integration.inbound import integrate_inbound_lines

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LandingReport:
    landed: tuple[str, ...] = ()
    ignored: tuple[tuple[str, str], ...] = ()
    """Files kept in the journal but not in their stream (the same bytes as an earlier
    file), or failed at landing: (name, reason)."""
    refused: tuple[Problem, ...] = ()
    """Files on the server that were not downloaded (unsafe name, too large)."""
    in_progress: tuple[str, ...] = ()
    reused_sequences: tuple[tuple[str, str], ...] = ()
    """Files refused because another file holds their sequence (spec 9.6): (name, reason).
    Not processed; :func:`check_refused_files` raises the alert."""

    def summary(self) -> dict[str, Any]:
        return {
            "landed": list(self.landed),
            "ignored": [f"{name}: {reason}" for name, reason in self.ignored],
            "refused": [str(problem) for problem in self.refused],
            "reused_sequences": [f"{name}: {reason}" for name, reason in self.reused_sequences],
        }


def land_new_files(engine: Engine | None, reseller: str, transport: SftpTransport) -> LandingReport:
    """Download every new file of the partner's folder into the journal."""
    with session_scope(engine) as session:
        index = journal.JournalIndex(session, reseller)
    fetched = transport.fetch_new(index)
    landed: list[str] = []
    ignored: list[tuple[str, str]] = []
    reused: list[tuple[str, str]] = []
    for file in fetched.landed:
        with session_scope(engine) as session:
            outcome = journal.land(session, reseller, file)
        if outcome.reason == "already landed" or not outcome.reason:
            landed.append(outcome.name)
        elif outcome.state is FileState.SEQUENCE_REUSED:
            reused.append((outcome.name, outcome.reason))
            log.error("Refused %s: %s", outcome.name, outcome.reason)
        else:
            ignored.append((outcome.name, outcome.reason))
            log.warning("Ignored %s: %s", outcome.name, outcome.reason)
    log.info(
        "Landed %d file(s), ignored %d, refused %d for a reused sequence, not downloaded %d",
        len(landed),
        len(ignored),
        len(reused),
        len(fetched.refused),
    )
    return LandingReport(
        tuple(landed), tuple(ignored), fetched.refused, fetched.in_progress, tuple(reused)
    )


def reused_sequence_action(reseller: str) -> Localized:
    """What to do about files refused because their sequence was used by another file."""
    code = adapter(reseller).naming().reused_sequence_code
    fr_code = f" (erreur {code} de son côté)" if code else ""
    en_code = f" (error {code} on its side)" if code else ""
    return Localized(
        fr=f"Prévenez {{reseller}} tout de suite{fr_code} qu'une séquence a servi deux fois, "
        "en citant le ou les fichiers ci-dessous : leurs lignes ne seront pas intégrées tant "
        "que {reseller} ne les aura pas renvoyées sous une nouvelle séquence. Les autres "
        "fichiers sont intégrés normalement.",
        en=f"Tell {{reseller}} at once{en_code} that it used a sequence twice, quoting the "
        "file(s) below: their lines will not be integrated until {reseller} sends them again "
        "under a new sequence. The other files are integrated as usual.",
    )


NOT_DOWNLOADED_ACTION = Localized(
    fr="Demandez à {reseller} de retirer ou de remplacer les fichiers ci-dessous ; les autres "
    "ont été intégrés.",
    en="Ask {reseller} to remove or replace the files below; the others were integrated.",
)


def check_refused_files(
    engine: Engine | None, reseller: str, not_downloaded: Sequence[str] = ()
) -> None:
    """Raise one external error naming every file the reseller must hear about, or return.

    ``not_downloaded``: files of this landing left on the server (unsafe name,
    too large). Files refused for a reused sequence are taken from the journal,
    whichever run (hourly, nightly, onboarding) landed them, and each is named
    once: the next call does not name it again.
    """
    with session_scope(engine) as session:
        reused = journal.take_refusals_to_alert(session, reseller)
    if not reused and not not_downloaded:
        return
    parts: list[str] = []
    action: Text = NOT_DOWNLOADED_ACTION
    if not_downloaded:
        parts.append(f"{len(not_downloaded)} file(s) on the reseller's server were not downloaded")
    if reused:
        parts.append(
            f"{len(reused)} file(s) refused: their sequence was already used by another file "
            "with other content"
        )
        reused_action = reused_sequence_action(reseller)
        action = reused_action
        if not_downloaded:
            action = Localized(
                fr=f"{reused_action.fr} Demandez aussi à {{reseller}} de retirer ou "
                "remplacer les fichiers non téléchargés.",
                en=f"{reused_action.en} Also ask {{reseller}} to remove or replace "
                "the files that were not downloaded.",
            )
    raise ExternalError(
        "; ".join(parts),
        action=action,
        problems=[Problem(reason, file=name) for name, reason in reused]
        + [Problem(refused) for refused in not_downloaded],
        file=reused[0][0] if len(reused) == 1 and not not_downloaded else None,
    )


@dataclass(frozen=True)
class FileIntegration:
    file_id: int
    name: str
    file_type: str
    lines: int
    outcomes: tuple[Any, ...]
    """The results of its kinds of lines, in order (SalesIntegration,
    CancellationIntegration...), or the adapter's own for a unit without lines."""

    @property
    def outcome(self) -> Any:
        """The result of a unit of one kind of lines (or of none)."""
        return self.outcomes[0]


@dataclass(frozen=True)
class TypeIntegration:
    file_type: str
    files: tuple[FileIntegration, ...] = ()
    missing: tuple[int, ...] = ()
    """Sequences absent before waiting files: the type waits for them."""
    waiting_for: str | None = None
    """Why nothing was integrated (ANNUL behind VENTES)."""


def integrate_pending(
    engine: Engine | None,
    settings: InstanceSettings,
    files: InboundFiles,
    stream: str,
) -> TypeIntegration:
    """Integrate the ready files of one stream, in order; raise at the first that fails."""
    reseller = settings.reseller_code
    with session_scope(engine) as session:
        sales = _sales_stream_before(reseller, stream)
        if sales is not None:
            waiting = journal.queue(session, reseller, sales)
            if waiting.blocked_by or waiting.ready:
                reason = (
                    f"{sales} file {waiting.blocked_by} failed"
                    if waiting.blocked_by
                    else f"{len(waiting.ready)} {sales} file(s) are not integrated yet"
                )
                log.warning("%s files wait: %s", stream, reason)
                return TypeIntegration(stream, waiting_for=reason)
        queue = journal.queue(session, reseller, stream)
    if queue.missing:
        log.warning(
            "%s: sequence(s) %s missing; %d file(s) wait behind the gap",
            stream,
            ", ".join(map(adapter(reseller).naming().sequence_text, queue.missing)),
            len(queue.waiting),
        )
    done = tuple(integrate_file(engine, settings, files, file_id) for file_id in queue.ready)
    return TypeIntegration(stream, done, queue.missing)


def _sales_stream_before(reseller: str, stream: str) -> str | None:
    """The sales stream a cancellations stream waits for; None for any other stream."""
    roles = {declared.code: declared.role for declared in reseller_type(reseller).streams}
    if roles.get(stream) is not StreamRole.CANCELLATIONS:
        return None
    return next((code for code, role in roles.items() if role is StreamRole.SALES), None)


def integrate_file(
    engine: Engine | None,
    settings: InstanceSettings,
    files: InboundFiles,
    file_id: int,
    *,
    is_test: bool = False,
) -> FileIntegration:
    """Parse and apply one landed file in one transaction, or record why it failed."""
    name, lines = "", 0
    try:
        with session_scope(engine) as session:
            entry = journal.journaled_file(session, file_id)
            name, file_type = entry.name, entry.stream
            outcomes, lines = _integrate(session, settings, files, entry, is_test)
            journal.mark_integrated(session, file_id, lines)
    except SyncError as error:
        _record_failure(engine, file_id, error.category.value, error.message, error.problems)
        raise
    except Exception as error:
        _record_failure(engine, file_id, "technical", f"{type(error).__name__}: {error}", ())
        raise
    log.info("Integrated %s (%d lines)", name, lines)
    return FileIntegration(file_id, name, file_type, lines, outcomes)


def _integrate(
    session: Session,
    settings: InstanceSettings,
    files: InboundFiles,
    entry: journal.JournaledFile,
    is_test: bool,
) -> tuple[tuple[Any, ...], int]:
    """The unit's integration, kind after kind, and its number of records.

    Only the adapter's reader holds the bytes: a sales file goes in as the
    reader's chunks, dropped with it once the last chunk is checked.
    """
    unit = _unit(session, entry)
    all_lines = files.lines(session, unit)
    if all_lines is None:
        outcome, records = files.integrate_other(session, unit, file_id=entry.id)
        return (outcome,), records
    del unit
    integration = adapter(settings.reseller_code).integration_settings(settings)
    outcomes: list[Any] = []
    records = 0
    for lines in all_lines:
        outcome, read = integrate_inbound_lines(
            session, integration, entry.name, lines, file_id=entry.id, is_test=is_test
        )
        outcomes.append(outcome)
        records += read
    return tuple(outcomes), records


def _unit(session: Session, entry: journal.JournaledFile) -> InboundUnit:
    """The landed unit's bytes, read apart from its journal entry (which never holds them)."""
    unit = journal.inbound_unit(session, entry.id)
    if entry.size and not unit.content:
        # Landed without its bytes: its buyer contact columns could not be located.
        raise ExternalError(
            entry.error_message or "the file's bytes were not kept", file=entry.name
        )
    return unit


def _record_failure(
    engine: Engine | None, file_id: int, category: str, message: str, problems: Any
) -> None:
    try:
        with session_scope(engine) as session:
            journal.mark_failed(session, file_id, category, message, problems)
    except Exception:
        log.exception("Could not record the failure of file %s in the journal", file_id)


def sftp_transport(
    settings: InstanceSettings, naming: ExchangeNaming, **options: Any
) -> SftpTransport:
    """The SFTP transport to the partner's server as the instance's ``sftp`` settings
    describe it (connection, folders, and the archive of applied files when it has one);
    ``options`` are further :class:`TransportSettings` (timeouts, size limit)."""
    folders = cast(Any, settings).sftp
    return SftpTransport(
        folders.connection_id,
        TransportSettings(
            incoming_folder=folders.inbox_dir,
            outgoing_folder=folders.outbox_dir,
            processed_folder=folders.processed_dir,
            archive_folder=getattr(folders, "archive_dir", None),
            **options,
        ),
        naming=naming,
    )


def archive_applied(transport: SftpTransport, reseller: str) -> list[str]:
    """Move the files of every applied unit still in the partner's folder to the archive:
    data files first, the closing file last. A unit whose closing file is no longer the
    one applied (the partner changed it, which the landing reports) stays where it is. A
    failure is logged: the next landing moves them."""
    try:
        listed = [file.name for file in transport.list_incoming().files]
        with session_scope() as session:
            applied = journal.integrated_still_listed(session, reseller, listed)
        changed = set(transport.closing_files_changed({u.name: u.sha256 for u in applied}))
        names = [n for unit in applied if unit.name not in changed for n in unit.names_to_archive]
        return transport.archive(names) if names else []
    except Exception:
        log.warning("Applied files not archived; the next landing moves them", exc_info=True)
        return []
