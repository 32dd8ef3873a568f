"""FNAC's files in: land them, then integrate each type in sequence order (spec section 9).

- Landing downloads every new file of ``/retour/`` into the exchange journal,
  one transaction per file; from then on no worker needs the SFTP server.
- Integration takes the files of one type in sequence order. Each file is
  parsed and applied in one transaction that also marks it integrated: a
  crash leaves it landed, whole, to be integrated again. A file that fails is
  marked failed with its problems and stops its type; the next run starts
  with it again, and nothing behind it passes first (the cascade guard).
- ANNUL waits while VENTES files are waiting or stuck (spec 9.4: a
  cancellation comes after the sale it cancels).
- A file whose sequence another file already holds is refused at landing
  (spec 9.6) and reported once by :func:`check_refused_files`, whichever run
  landed it; a person may set a failed file aside (``journal.set_aside``, spec
  9.5) so that its type goes on from the next sequence.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, defer

from reseller_sync.boxoffice.db import session_scope
from reseller_sync.boxoffice.models import ExchangeFile, FileState
from reseller_sync.config.settings import FnacSettings
from reseller_sync.domain.errors import ExternalError, Problem, SyncError, TechnicalError
from reseller_sync.domain.texts import Localized, Text
from reseller_sync.exchange import journal
from reseller_sync.exchange.transport import SftpTransport
from reseller_sync.fnac.categories import integrate_customer_categories
from reseller_sync.fnac.names import FileType

# One transport built from the settings for both directions; callers of the inbound run
# find it here too.
from reseller_sync.fnac.outbound import transport_for as transport_for
from reseller_sync.fnac.reader import iter_file_chunks, read_file
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.pipelines.cancellations import integrate_cancellations
from reseller_sync.pipelines.sales import RESELLER, integrate_sales

log = logging.getLogger(__name__)

INTEGRATED_TYPES = (FileType.CATCLI, FileType.VENTES, FileType.ANNUL)
"""The types the hourly run integrates, in this order. TEST, ETATPL and ACK files
are landed too; onboarding and the nightly run integrate them."""


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


def land_new_files(engine: Engine | None, transport: SftpTransport) -> LandingReport:
    """Download every new file of the partner's folder into the journal."""
    with session_scope(engine) as session:
        index = journal.JournalIndex(session, RESELLER)
    fetched = transport.fetch_new(index)
    landed: list[str] = []
    ignored: list[tuple[str, str]] = []
    reused: list[tuple[str, str]] = []
    for file in fetched.landed:
        with session_scope(engine) as session:
            outcome = journal.land(session, RESELLER, file)
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


REUSED_SEQUENCE_ACTION = Localized(
    fr="Prévenez {reseller} tout de suite (erreur E02 de son côté) qu'une séquence a servi "
    "deux fois, en citant le ou les fichiers ci-dessous : leurs lignes ne seront pas intégrées "
    "tant que {reseller} ne les aura pas renvoyées sous une nouvelle séquence. Les autres "
    "fichiers sont intégrés normalement.",
    en="Tell {reseller} at once (error E02 on its side) that it used a sequence twice, "
    "quoting the file(s) below: their lines will not be integrated until {reseller} sends them "
    "again under a new sequence. The other files are integrated as usual.",
)
NOT_DOWNLOADED_ACTION = "Ask FNAC to remove or replace the files below; the others were integrated."


def check_refused_files(engine: Engine | None, not_downloaded: Sequence[str] = ()) -> None:
    """Raise one external error naming every file FNAC must hear about, or return.

    ``not_downloaded``: files of this landing left on the server (unsafe name,
    too large). Files refused for a reused sequence are taken from the journal,
    whichever run (hourly, nightly, onboarding) landed them, and each is named
    once: the next call does not name it again.
    """
    with session_scope(engine) as session:
        reused = journal.take_refusals_to_alert(session, RESELLER)
    if not reused and not not_downloaded:
        return
    parts: list[str] = []
    action: Text = NOT_DOWNLOADED_ACTION
    if not_downloaded:
        parts.append(f"{len(not_downloaded)} file(s) on FNAC's server were not downloaded")
    if reused:
        parts.append(
            f"{len(reused)} file(s) refused: their sequence was already used by another file "
            "with other content (spec 9.6)"
        )
        action = REUSED_SEQUENCE_ACTION
        if not_downloaded:
            action = Localized(
                fr=f"{REUSED_SEQUENCE_ACTION.fr} Demandez aussi à {{reseller}} de retirer ou "
                "remplacer les fichiers non téléchargés.",
                en=f"{REUSED_SEQUENCE_ACTION.en} Also ask {{reseller}} to remove or replace "
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
    outcome: Any
    """The type's own result (SalesIntegration, CancellationIntegration...)."""


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
    settings: FnacSettings,
    repository: MappingRepository,
    file_type: FileType,
) -> TypeIntegration:
    """Integrate the ready files of one type, in order; raise at the first that fails."""
    with session_scope(engine) as session:
        if file_type is FileType.ANNUL:
            sales = journal.queue(session, RESELLER, FileType.VENTES.value)
            if sales.blocked_by or sales.ready:
                reason = (
                    f"VENTES file {sales.blocked_by} failed"
                    if sales.blocked_by
                    else f"{len(sales.ready)} VENTES file(s) are not integrated yet"
                )
                log.warning("ANNUL files wait: %s", reason)
                return TypeIntegration(file_type.value, waiting_for=reason)
        queue = journal.queue(session, RESELLER, file_type.value)
    if queue.missing:
        log.warning(
            "%s: sequence(s) %s missing; %d file(s) wait behind the gap",
            file_type.value,
            ", ".join(f"{s:06d}" for s in queue.missing),
            len(queue.waiting),
        )
    done = tuple(integrate_file(engine, settings, repository, file_id) for file_id in queue.ready)
    return TypeIntegration(file_type.value, done, queue.missing)


def integrate_file(
    engine: Engine | None,
    settings: FnacSettings,
    repository: MappingRepository,
    file_id: int,
    *,
    is_test: bool = False,
) -> FileIntegration:
    """Parse and apply one landed file in one transaction, or record why it failed."""
    name, lines = "", 0
    try:
        with session_scope(engine) as session:
            entry = session.get_one(ExchangeFile, file_id, options=[defer(ExchangeFile.content)])
            name, file_type = entry.name, entry.file_type
            outcome, lines = _integrate(session, settings, repository, entry, is_test)
            journal.mark_integrated(session, file_id, lines)
    except SyncError as error:
        _record_failure(engine, file_id, error.category.value, error.message, error.problems)
        raise
    except Exception as error:
        _record_failure(engine, file_id, "technical", f"{type(error).__name__}: {error}", ())
        raise
    log.info("Integrated %s (%d lines)", name, lines)
    return FileIntegration(file_id, name, file_type, lines, outcome)


def _integrate(
    session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    entry: ExchangeFile,
    is_test: bool,
) -> tuple[Any, int]:
    """The type's integration and the file's number of lines.

    Sales files (the big ones) go in as the reader's chunks, and only the
    reader holds the bytes: they are dropped with it once the last chunk is
    checked, and no frame of the whole file is ever built.
    """
    if entry.file_type in (FileType.VENTES.value, FileType.TEST.value):
        sales = integrate_sales(
            session,
            settings,
            repository,
            entry.name,
            iter_file_chunks(entry.name, _content(session, entry)),
            file_id=entry.id,
            is_test=is_test or entry.file_type == FileType.TEST.value,
        )
        return sales, sales.lines
    frame = read_file(entry.name, _content(session, entry)).frame
    if entry.file_type == FileType.ANNUL.value:
        return integrate_cancellations(session, settings, entry.name, frame), len(frame)
    if entry.file_type == FileType.CATCLI.value:
        return integrate_customer_categories(
            session, repository, entry.name, frame, file_id=entry.id
        ), len(frame)
    raise TechnicalError(f"{entry.name}: files of type {entry.file_type} are not integrated here")


def _content(session: Session, entry: ExchangeFile) -> bytes:
    """The landed file's bytes, read apart from its journal entry (which never holds them)."""
    content = session.scalar(select(ExchangeFile.content).where(ExchangeFile.id == entry.id))
    if entry.size and not content:
        # Landed without its bytes: its buyer contact columns could not be located.
        raise ExternalError(
            entry.error_message or "the file's bytes were not kept", file=entry.name
        )
    return content or b""


def _record_failure(
    engine: Engine | None, file_id: int, category: str, message: str, problems: Any
) -> None:
    try:
        with session_scope(engine) as session:
            journal.mark_failed(session, file_id, category, message, problems)
    except Exception:
        log.exception("Could not record the failure of file %s in the journal", file_id)
