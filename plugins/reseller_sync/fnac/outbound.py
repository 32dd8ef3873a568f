"""Sending a file to FNAC once, whatever crashes and retries happen on the way.

The journal is the memory of what was sent. For one file type and one product:

1. a file that stands (``sent``, or ``acknowledged`` without an error to act
   on) is not sent again unless forced: a re-run resumes without duplicates;
2. a file journaled as ``prepared`` (a crash between the journal and the
   upload) is uploaded with its same name and bytes; the transport sees an
   upload that had in fact completed and does not send it twice. Every
   prepared file of the type is completed before a new one is numbered,
   whatever its product: FNAC stops a type at a gap in the sequence;
3. otherwise the next sequence is allocated, the file written with the
   codec, journaled as ``prepared`` and committed, uploaded atomically
   (``.part`` then rename), then marked ``sent`` and committed.

A file FNAC refused whole (``refused``), or acknowledged with lines to act
on, does not stand: the next run sends a new file, under a new sequence, with
the content as it is then (spec 7.6: the refused file was not applied).

Sending is serialised per file type by the DAGs (one Airflow pool slot for
outbound sends): two runs numbering files of one type at the same moment would
collide on the journal's unique sequence, which is retried here, but would
still race on completing each other's prepared files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from reseller_sync.boxoffice.models import Direction, FileState
from reseller_sync.domain.errors import ConfigurationError, TechnicalError
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange import journal
from reseller_sync.exchange.transport import SftpTransport, TransportSettings
from reseller_sync.fnac.adapter import RESELLER_TYPE
from reseller_sync.fnac.names import FileName, FileType
from reseller_sync.fnac.naming import NAMING
from reseller_sync.fnac.reader import ENCODINGS, read_file
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.fnac.writer import write_file

SessionSource = Engine | sessionmaker[Session]
"""Where sending opens its own transactions: an engine or a session factory."""

PREVIEW_LINES = 12
"""Lines of a file shown in a dry run's preview."""
NUMBERING_ATTEMPTS = 3


class SendStatus(StrEnum):
    SENT = "sent"
    """A new file was written, journaled and uploaded."""
    ALREADY_SENT = "already_sent"
    """A file of that type for that product stands already: nothing was sent."""
    COMPLETED = "completed"
    """The product's file was left ``prepared`` by an earlier run and is now uploaded."""
    DRY_RUN = "dry_run"
    """Built for a person to read: nothing was sent nor journaled."""
    SKIPPED = "skipped"
    """Nothing to send for this product (a pass has no PLACES)."""


@dataclass(frozen=True)
class SendResult:
    status: SendStatus
    file_type: FileType
    product_code: str
    name: str | None = None
    sequence: int | None = None
    line_count: int = 0
    file_id: int | None = None
    """The journal's id of the file (None for a dry run or a skip)."""
    data: bytes | None = field(default=None, repr=False)
    """The file's bytes, for a dry run."""
    preview: str | None = None
    """The first lines of the file, decoded, for a dry run."""
    reason: str | None = None
    """Why nothing was sent (a skip)."""
    completed_leftovers: tuple[str, ...] = ()
    """Prepared files of the type (any product) uploaded before this send."""

    @property
    def sent_now(self) -> bool:
        """Whether this call put the product's file on FNAC's server."""
        return self.status in (SendStatus.SENT, SendStatus.COMPLETED)


def send_file(
    sessions: SessionSource,
    transport: SftpTransport,
    settings: FnacSettings,
    file_type: FileType,
    records: pd.DataFrame | Callable[[], pd.DataFrame],
    product_code: str,
    *,
    force: bool = False,
    resend_since: dt.datetime | None = None,
    dry_run: bool = False,
    created: dt.datetime | None = None,
) -> SendResult:
    """Send ``records`` as a file of ``file_type`` concerning ``product_code``, at most once.

    ``records`` may be a function that builds them: it is called only when a
    file is written, not when one stands already (a retried task then costs
    one journal query, not a build from the box office). ``force`` sends a new
    file (new sequence) even when one stands, unless the standing file was
    journaled at or after ``resend_since`` (aware): a resend asked for once,
    by a run that started then, happens once whatever its retries and pokes.
    ``created`` (aware, default now) is the file's creation time and name stamp.
    """
    factory = session_factory(sessions)
    file_type = FileType(file_type)
    check_folders(transport, settings)
    if dry_run:
        if callable(records):
            records = records()
        with factory() as session:
            sequence = journal.next_outbound_sequence(session, RESELLER_TYPE.code, file_type)
        name, data = write_file(
            file_type, settings.manager_code, sequence, records, created=created
        )
        return SendResult(
            SendStatus.DRY_RUN,
            file_type,
            product_code,
            name,
            sequence,
            len(records),
            data=data,
            preview=preview(data),
        )
    completed = complete_prepared(factory, transport, file_type)
    with factory() as session:
        standing = _standing_file(session, file_type, product_code)
        resent = standing is not None and _journaled_since(standing, resend_since)
        if standing is not None and (not force or resent):
            status = SendStatus.COMPLETED if standing.name in completed else SendStatus.ALREADY_SENT
            return SendResult(
                status,
                file_type,
                product_code,
                standing.name,
                standing.sequence,
                standing.line_count or 0,
                standing.id,
                completed_leftovers=tuple(completed),
            )
    if callable(records):
        records = records()
    file_id, name, sequence, data = _prepare(
        factory, settings, file_type, records, product_code, created
    )
    transport.upload(name, data)
    with factory.begin() as session:
        journal.mark_sent(session, file_id)
    return SendResult(
        SendStatus.SENT,
        file_type,
        product_code,
        name,
        sequence,
        len(records),
        file_id,
        completed_leftovers=tuple(completed),
    )


def send_again(
    sessions: SessionSource,
    transport: SftpTransport,
    settings: FnacSettings,
    file_name: str,
) -> SendResult:
    """Send the content of a journaled file again, under a new sequence (FNAC's E99 answer).

    The file must no longer stand (refused, or acknowledged with lines to act
    on); its records are read back from the journaled bytes.
    """
    with session_factory(sessions)() as session:
        entry = _outbound_file(session, file_name)
        content, product_code = journal.file_content(session, entry.id), entry.product_code
    if product_code is None:
        raise TechnicalError(f"{file_name} concerns no product: it cannot be sent again here")
    parsed = read_file(file_name, content)
    return send_file(sessions, transport, settings, parsed.name.type, parsed.frame, product_code)


def complete_prepared(
    sessions: SessionSource, transport: SftpTransport, file_type: FileType
) -> list[str]:
    """Upload every file of the type left ``prepared`` by a crash, in sequence order."""
    factory = session_factory(sessions)
    with factory() as session:
        leftovers = journal.prepared_files(session, RESELLER_TYPE.code, file_type.value)
    for leftover in leftovers:
        transport.upload(leftover.name, leftover.content)
        with factory.begin() as session:
            journal.mark_sent(session, leftover.id)
    return [leftover.name for leftover in leftovers]


def transport_for(settings: FnacSettings, **options: Any) -> SftpTransport:
    """The SFTP transport to FNAC's server as the settings describe it (connection, folders);
    ``options`` are further :class:`TransportSettings` (timeouts, size limit)."""
    folders = settings.sftp
    return SftpTransport(
        folders.connection_id,
        TransportSettings(
            incoming_folder=folders.inbox_dir,
            outgoing_folder=folders.outbox_dir,
            processed_folder=folders.processed_dir,
            **options,
        ),
        naming=NAMING,
    )


def check_folders(transport: SftpTransport, settings: FnacSettings) -> None:
    """Refuse a transport whose folders are not those of the settings."""
    folders = transport.settings
    expected = settings.sftp
    if (folders.outgoing_folder, folders.incoming_folder) != (
        expected.outbox_dir,
        expected.inbox_dir,
    ):
        raise ConfigurationError(
            f"the transport uses {folders.outgoing_folder} and {folders.incoming_folder}, "
            f"the FNAC settings say {expected.outbox_dir} and {expected.inbox_dir}",
            action=Localized(
                fr="Construisez le transport avec transport_for(settings).",
                en="Build the transport with transport_for(settings).",
            ),
        )


def preview(data: bytes, lines: int = PREVIEW_LINES) -> str:
    """The first ``lines`` lines of a file, decoded, and how many more there are."""
    encoding = "CP1252"
    header = data.split(b"\r\n", 1)[0].decode("ascii", errors="replace").split(";")
    if len(header) == 7 and header[6] in ENCODINGS:
        encoding = header[6]
    text = data.decode(ENCODINGS[encoding], errors="replace").split("\r\n")
    if text and text[-1] == "":
        text.pop()
    shown = text[:lines]
    if len(text) > lines:
        shown.append(f"… {len(text) - lines} more line(s)")
    return "\n".join(shown)


def session_factory(sessions: SessionSource) -> sessionmaker[Session]:
    """A session factory for ``sessions`` (objects outlive their transaction)."""
    if isinstance(sessions, sessionmaker):
        return sessions
    return sessionmaker(sessions, expire_on_commit=False)


def _standing_file(
    session: Session, file_type: FileType, product_code: str
) -> journal.JournaledFile | None:
    """The product's latest file of the type, when it stands (sent, or applied without error)."""
    latest = journal.latest_outbound(session, RESELLER_TYPE.code, file_type.value, product_code)
    if latest is None:
        return None
    if latest.state is FileState.SENT:
        return latest
    if latest.state is FileState.ACKNOWLEDGED and latest.error_category is None:
        return latest
    return None


def _journaled_since(entry: journal.JournaledFile, moment: dt.datetime | None) -> bool:
    if moment is None:
        return False
    journaled = entry.created_at
    if journaled.tzinfo is None:  # SQLite keeps no time zone: the journal writes UTC
        journaled = journaled.replace(tzinfo=dt.UTC)
    return journaled >= moment


def _prepare(
    factory: sessionmaker[Session],
    settings: FnacSettings,
    file_type: FileType,
    records: pd.DataFrame,
    product_code: str,
    created: dt.datetime | None,
) -> tuple[int, str, int, bytes]:
    """Number, write and journal a new file as ``prepared``, committed; (id, name, seq, bytes)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            with factory.begin() as session:
                sequence = journal.next_outbound_sequence(session, RESELLER_TYPE.code, file_type)
                name, data = write_file(
                    file_type, settings.manager_code, sequence, records, created=created
                )
                entry = journal.prepare_outbound(
                    session,
                    RESELLER_TYPE.code,
                    FileName.parse(name),
                    data,
                    product_code=product_code,
                    line_count=len(records),
                )
                return entry.id, name, sequence, data
        except IntegrityError:
            if attempt >= NUMBERING_ATTEMPTS:
                raise TechnicalError(
                    f"could not number a new {file_type} file: another run took sequence "
                    f"after sequence ({NUMBERING_ATTEMPTS} attempts)",
                    action=Localized(
                        fr="Faites les envois vers {reseller} un par un (pool Airflow), puis "
                        "relancez la tâche (Clear).",
                        en="Run the {reseller} sends one at a time (Airflow pool), then clear "
                        "the task.",
                    ),
                ) from None


def _outbound_file(session: Session, file_name: str) -> journal.JournaledFile:
    entry = journal.find_file(session, RESELLER_TYPE.code, Direction.OUTBOUND, file_name)
    if entry is None:
        raise TechnicalError(f"{file_name} is not in the journal of files sent to FNAC")
    return entry
