"""The exchange journal: every file in and out, and the order files are processed in.

Entries are keyed by reseller (its code) and stream, with a sequence per file;
names are parsed, and personal data removed, by the reseller's
:class:`~reseller_sync.core.exchange.ExchangeNaming` (``adapter(code).naming()``).

A landed file keeps its bytes in the box office, so any worker can integrate
it later without the SFTP server, and a crash never loses it. The files of
one stream are processed in sequence order, a gap stops the stream until the
missing file arrives, and a file that failed stops the files behind it until
a person has fixed the cause (the cascade guard) or set it aside (the
reseller sent its lines again under the next sequence).

A file whose sequence another file with other content already holds is
refused at landing (``sequence_reused``): it is not processed, and the
reseller must be told, since its lines will otherwise never arrive.

The journal is the only code that reads or writes its tables: every other
module asks it, by reseller, stream, direction, name or state, and gets back
plain values (:class:`JournaledFile`, :class:`JournalEntry`...), in the
caller's session and transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session, defer

from reseller_sync.boxoffice.models import (
    Direction,
    ExchangeFile,
    ExchangeFileError,
    ExchangeFileMember,
    FileState,
)
from reseller_sync.core.exchange import ExchangeName, InboundUnit, UnredactableFileError
from reseller_sync.core.resellers import adapter, reseller_type
from reseller_sync.domain.errors import Problem
from reseller_sync.exchange.transport import LandedFile, batch_fingerprint

log = logging.getLogger(__name__)

MAX_ERRORS_KEPT = 1000
"""Line-level problems kept per file; the count of the rest is kept as one more."""

UNREDACTABLE_NOTE = (
    "its bytes are not kept (the buyer's contact details must be stored nowhere): "
    "ask {reseller} to send its lines again under the next sequence, then set this file aside"
)
"""Why a file landed without its bytes, and what to do; ``{reseller}``: the type's name."""

DONE_INBOUND = (FileState.INTEGRATED, FileState.SET_ASIDE)
"""Inbound files their stream has passed: integrated, or set aside by a person."""
OPEN_STATES = (FileState.LANDED, FileState.FAILED)
"""Inbound files still to integrate."""
OUTSIDE_STREAM = (FileState.IGNORED, FileState.SEQUENCE_REUSED)
"""Inbound files kept in the journal outside their stream: their sequence is another file's."""
SUCCESS_STATES: dict[Direction, tuple[FileState, ...]] = {
    Direction.INBOUND: (FileState.INTEGRATED,),
    Direction.OUTBOUND: (FileState.SENT, FileState.ACKNOWLEDGED),
}
"""Files their stream went through: integrated in; sent, or acknowledged, out."""
MAX_SET_ASIDE_REASON = 2000
MAX_SET_ASIDE_BY = 100
DEFAULT_PAGE_SIZE = 50
"""Files in one page of the journal listing, unless asked otherwise."""


class JournalIndex:
    """What the journal knows of landed files, for the transport's ``fetch_new``."""

    def __init__(self, session: Session, reseller: str) -> None:
        rows = session.execute(
            select(ExchangeFile.name, ExchangeFile.sha256).where(
                ExchangeFile.reseller_code == reseller,
                ExchangeFile.direction == Direction.INBOUND,
            )
        )
        self._sha256_by_name: dict[str, str] = {name: sha for name, sha in rows}
        self._name_by_sha256 = {sha: name for name, sha in self._sha256_by_name.items()}
        failed = session.execute(
            select(ExchangeFile.id, ExchangeFile.name, ExchangeFile.sha256).where(
                ExchangeFile.reseller_code == reseller,
                ExchangeFile.direction == Direction.INBOUND,
                ExchangeFile.state == FileState.FAILED,
            )
        ).all()
        members: dict[int, list[tuple[str, str]]] = {}
        for file_id, name, sha256 in session.execute(
            select(
                ExchangeFileMember.exchange_file_id,
                ExchangeFileMember.name,
                ExchangeFileMember.sha256,
            ).where(ExchangeFileMember.exchange_file_id.in_([row.id for row in failed]))
        ):
            members.setdefault(file_id, []).append((name, sha256))
        self._replaceable = {
            row.name: batch_fingerprint(row.sha256, members.get(row.id, ())) for row in failed
        }

    def is_landed(self, name: str) -> bool:
        return name in self._sha256_by_name

    def name_with_sha256(self, sha256: str) -> str | None:
        return self._name_by_sha256.get(sha256)

    def replaceable(self, name: str) -> str | None:
        """A failed entry, not set aside: its partner may replace it under its name."""
        return self._replaceable.get(name)

    def landed_sha256(self, name: str) -> str | None:
        return self._sha256_by_name.get(name)


class OnlyFileIndex:
    """A landed-file index that makes the transport download one file name only (an
    answer awaited), and compare nothing else."""

    def __init__(self, index: JournalIndex, name: str) -> None:
        self._index = index
        self._name = name

    def is_landed(self, name: str) -> bool:
        return name != self._name or self._index.is_landed(name)

    def name_with_sha256(self, sha256: str) -> str | None:
        return self._index.name_with_sha256(sha256)

    def replaceable(self, name: str) -> str | None:
        return None

    def landed_sha256(self, name: str) -> str | None:
        return None


@dataclass(frozen=True)
class LandingOutcome:
    file_id: int
    name: str
    state: FileState
    reason: str | None = None
    """Why a file is not in its stream (duplicate bytes, a reused sequence), or why it
    failed at landing."""


def land(session: Session, reseller: str, landed: LandedFile) -> LandingOutcome:
    """Record a downloaded file; one call per file, in the caller's transaction.

    The same bytes under another name are kept as ``ignored`` with the reason:
    nothing is lost, nothing is integrated twice. A sequence already held by a
    file with other content is kept as ``sequence_reused``: not processed, and
    alerted once (``take_refusals_to_alert``).

    The content is stored as the reseller's naming redacts it (the buyer's
    contact details are stored nowhere); size and sha256 are the original
    bytes', for duplicate detection. A file whose personal data cannot be
    located is stored without content, ``failed`` with the reason.

    A batch lands as one entry, its closing file's, with its data files as members, each
    redacted as a file is. A batch the partner replaced after it failed
    (``landed.replaces``) takes the failed entry's place: its bytes and members are the
    new ones, it is ``landed`` again and its old problems are dropped.
    """
    existing = session.scalar(
        select(ExchangeFile).where(
            ExchangeFile.reseller_code == reseller, ExchangeFile.name == landed.name
        )
    )
    if existing is not None:
        if landed.replaces and existing.state is FileState.FAILED:
            return _replace(session, reseller, existing, landed)
        return LandingOutcome(existing.id, existing.name, existing.state, "already landed")
    partner = reseller_type(reseller).name
    file_type = landed.parsed.stream
    sequence = landed.parsed.sequence
    content, members, unredactable = _kept_copies(reseller, landed)
    entry = ExchangeFile(
        reseller_code=reseller,
        direction=Direction.INBOUND,
        file_type=file_type,
        sequence=sequence,
        name=landed.name,
        size=landed.size,
        sha256=landed.sha256,
        content=content,
        state=FileState.LANDED,
        members=members,
    )
    naming = adapter(reseller).naming()
    twin = _same_bytes(session, reseller, landed.sha256)
    reused = _holder_of_sequence(session, reseller, Direction.INBOUND, file_type, sequence)
    if twin is not None:
        entry.state = FileState.IGNORED
        entry.duplicate_of_id = twin.id
        entry.error_category = "external"
        entry.error_message = f"same bytes as {twin.name}, landed earlier: not integrated again"
    elif reused is not None:
        entry.state = FileState.SEQUENCE_REUSED
        entry.processed_at = _now()
        entry.error_category = "external"
        code = naming.reused_sequence_code
        entry.error_message = (
            f"sequence {naming.sequence_text(sequence)} of {file_type} is already used by "
            f"{reused.name}, whose content differs: this file is not processed (a sequence is "
            f"never reused). Tell {partner} at once"
            + (f" (error {code} on its side)" if code else "")
            + f": its lines reach the box office only if {partner} sends them again under a "
            "new sequence"
        )
    elif unredactable is not None:
        entry.state = FileState.FAILED
        entry.processed_at = _now()
        entry.error_category = "external"
        entry.error_message = f"{unredactable}; {UNREDACTABLE_NOTE.format(reseller=partner)}"
    session.add(entry)
    session.flush()
    return LandingOutcome(entry.id, entry.name, entry.state, entry.error_message)


def _kept_copies(
    reseller: str, landed: LandedFile
) -> tuple[bytes, list[ExchangeFileMember], str | None]:
    """The bytes the journal keeps of a unit and of its members, and why some could not be
    kept (their personal data could not be located), or None."""
    naming = adapter(reseller).naming()
    reasons: list[str] = []

    def kept(name: str, data: bytes) -> bytes:
        try:
            return naming.redact(name, data)
        except UnredactableFileError as error:
            reasons.append(str(error))
            return b""

    content = kept(landed.name, landed.data)
    members = [
        ExchangeFileMember(
            name=member.name,
            size=member.size,
            sha256=member.sha256,
            content=kept(member.name, member.data),
        )
        for member in landed.members
    ]
    return content, members, "; ".join(reasons) or None


def _replace(
    session: Session, reseller: str, entry: ExchangeFile, landed: LandedFile
) -> LandingOutcome:
    content, members, unredactable = _kept_copies(reseller, landed)
    log.warning("%s: the partner replaced the failed batch, landed again", entry.name)
    entry.content = content
    entry.size = landed.size
    entry.sha256 = landed.sha256
    entry.members.clear()
    session.flush()
    entry.members.extend(members)
    entry.errors.clear()
    entry.line_count = None
    if unredactable is None:
        entry.state = FileState.LANDED
        entry.processed_at = None
        entry.error_category = entry.error_message = None
    else:
        partner = reseller_type(reseller).name
        entry.processed_at = _now()
        entry.error_category = "external"
        entry.error_message = f"{unredactable}; {UNREDACTABLE_NOTE.format(reseller=partner)}"
    session.flush()
    return LandingOutcome(entry.id, entry.name, entry.state, entry.error_message)


def _same_bytes(session: Session, reseller: str, sha256: str) -> ExchangeFile | None:
    return session.scalar(
        select(ExchangeFile)
        .where(
            ExchangeFile.reseller_code == reseller,
            ExchangeFile.direction == Direction.INBOUND,
            ExchangeFile.sha256 == sha256,
        )
        .order_by(ExchangeFile.id)
        .limit(1)
    )


def _holder_of_sequence(
    session: Session, reseller: str, direction: Direction, file_type: str, sequence: int
) -> ExchangeFile | None:
    return session.scalar(
        select(ExchangeFile).where(
            ExchangeFile.reseller_code == reseller,
            ExchangeFile.direction == direction,
            ExchangeFile.file_type == file_type,
            ExchangeFile.sequence == sequence,
            ExchangeFile.state.not_in(OUTSIDE_STREAM),
        )
    )


def take_refusals_to_alert(
    session: Session, reseller: str, now: dt.datetime | None = None
) -> list[tuple[str, str]]:
    """The files refused at landing that no alert has named yet, as (name, reason), oldest
    first; they are marked alerted in the caller's transaction, so each is alerted once,
    whichever run landed it."""
    refused = session.execute(
        select(ExchangeFile.id, ExchangeFile.name, ExchangeFile.error_message)
        .where(
            ExchangeFile.reseller_code == reseller,
            ExchangeFile.direction == Direction.INBOUND,
            ExchangeFile.state == FileState.SEQUENCE_REUSED,
            ExchangeFile.alerted_at.is_(None),
        )
        .order_by(ExchangeFile.id)
        .with_for_update()
    ).all()
    if refused:
        session.execute(
            update(ExchangeFile)
            .where(ExchangeFile.id.in_([row.id for row in refused]))
            .values(alerted_at=now or _now())
        )
    return [(row.name, row.error_message or "sequence reused") for row in refused]


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class JournaledFile:
    """One file of the journal as its entry says it, without its bytes."""

    id: int
    reseller: str
    direction: Direction
    stream: str
    sequence: int
    name: str
    state: FileState
    size: int
    line_count: int | None
    product_code: str | None
    created_at: dt.datetime
    """When it was journaled (UTC; SQLite gives it back without its zone)."""
    processed_at: dt.datetime | None
    error_category: str | None
    error_message: str | None


@dataclass(frozen=True)
class FileWithContent:
    """A file's id and name, with its bytes: what sending or reading it needs."""

    id: int
    name: str
    content: bytes


def _journaled(entry: ExchangeFile) -> JournaledFile:
    return JournaledFile(
        id=entry.id,
        reseller=entry.reseller_code,
        direction=entry.direction,
        stream=entry.file_type,
        sequence=entry.sequence,
        name=entry.name,
        state=entry.state,
        size=entry.size,
        line_count=entry.line_count,
        product_code=entry.product_code,
        created_at=entry.created_at,
        processed_at=entry.processed_at,
        error_category=entry.error_category,
        error_message=entry.error_message,
    )


def journaled_file(session: Session, file_id: int) -> JournaledFile:
    """The entry of a file by its id, without its bytes; raises when the journal has none."""
    return _journaled(session.get_one(ExchangeFile, file_id, options=[defer(ExchangeFile.content)]))


def find_file(
    session: Session, reseller: str, direction: Direction, name: str
) -> JournaledFile | None:
    """The reseller's file of a direction by its name; None when the journal has none."""
    entry = session.scalar(
        select(ExchangeFile)
        .options(defer(ExchangeFile.content))
        .where(
            ExchangeFile.reseller_code == reseller,
            ExchangeFile.direction == direction,
            ExchangeFile.name == name,
        )
    )
    return _journaled(entry) if entry is not None else None


def file_content(session: Session, file_id: int) -> bytes:
    """A file's bytes, read apart from its entry; empty when none were kept."""
    content = session.scalar(select(ExchangeFile.content).where(ExchangeFile.id == file_id))
    return content or b""


def inbound_unit(session: Session, file_id: int) -> InboundUnit:
    """A landed unit as the journal keeps it: its bytes, and a batch's members'."""
    content = file_content(session, file_id)
    members = session.execute(
        select(
            ExchangeFileMember.name,
            ExchangeFileMember.size,
            ExchangeFileMember.sha256,
            ExchangeFileMember.content,
        )
        .where(ExchangeFileMember.exchange_file_id == file_id)
        .order_by(ExchangeFileMember.id)
    ).all()
    entry = session.execute(
        select(ExchangeFile.name, ExchangeFile.error_message).where(ExchangeFile.id == file_id)
    ).one_or_none()
    if entry is None:
        raise LookupError(f"no file {file_id} in the journal")
    why = entry.error_message or "its bytes were not kept"
    return InboundUnit(
        entry.name,
        content,
        {member.name: member.content for member in members},
        {member.name: member.sha256 for member in members},
        {member.name: why for member in members if member.size and not member.content},
    )


def sha256_of(session: Session, file_id: int) -> str:
    """The SHA-256 of a file's bytes as it was sent or as it arrived."""
    return session.scalars(select(ExchangeFile.sha256).where(ExchangeFile.id == file_id)).one()


def member_names(session: Session, file_id: int) -> list[str]:
    """The names of a batch's data files, as they landed; none for a file on its own."""
    return list(
        session.scalars(
            select(ExchangeFileMember.name)
            .where(ExchangeFileMember.exchange_file_id == file_id)
            .order_by(ExchangeFileMember.id)
        )
    )


def names_by_id(session: Session, file_ids: Iterable[int]) -> dict[int, str]:
    """The names of the given files, by id."""
    return {
        file_id: name
        for file_id, name in session.execute(
            select(ExchangeFile.id, ExchangeFile.name).where(ExchangeFile.id.in_(list(file_ids)))
        )
    }


def names_in_stream(
    session: Session,
    reseller: str,
    direction: Direction,
    stream: str,
    *,
    state: FileState | None = None,
    product_code: str | None = None,
) -> list[str]:
    """The names of a stream's files in sequence order; those in ``state``, or for
    ``product_code``, only when given."""
    statement = select(ExchangeFile.name).where(
        ExchangeFile.reseller_code == reseller,
        ExchangeFile.direction == direction,
        ExchangeFile.file_type == stream,
    )
    if state is not None:
        statement = statement.where(ExchangeFile.state == state)
    if product_code is not None:
        statement = statement.where(ExchangeFile.product_code == product_code)
    return list(session.scalars(statement.order_by(ExchangeFile.sequence)))


def highest_sequence(session: Session, reseller: str, direction: Direction, stream: str) -> int:
    """The highest sequence a stream's files hold in the journal, whatever their state;
    0 before the first."""
    highest = session.scalar(
        select(func.max(ExchangeFile.sequence)).where(
            ExchangeFile.reseller_code == reseller,
            ExchangeFile.direction == direction,
            ExchangeFile.file_type == stream,
        )
    )
    return int(highest or 0)


def assign_product(session: Session, file_id: int, product_code: str) -> None:
    """Record the product a file concerns."""
    session.get_one(
        ExchangeFile, file_id, options=[defer(ExchangeFile.content)]
    ).product_code = product_code


# --------------------------------------------------------------------------- outbound


def next_outbound_sequence(session: Session, reseller: str, stream: str) -> int:
    """The sequence of the next file of a stream we send: no gap, no reuse."""
    return highest_sequence(session, reseller, Direction.OUTBOUND, str(stream)) + 1


def prepare_outbound(
    session: Session,
    reseller: str,
    name: ExchangeName,
    data: bytes,
    *,
    product_code: str | None = None,
    line_count: int | None = None,
    members: Sequence[tuple[str, bytes]] = (),
) -> ExchangeFile:
    """Journal a file we are about to send, or a batch under its closing file ``name`` with
    its data files ``members`` (name, bytes); it becomes ``sent`` once on the server."""
    entry = ExchangeFile(
        reseller_code=reseller,
        direction=Direction.OUTBOUND,
        file_type=name.stream,
        sequence=name.sequence,
        name=str(name),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content=data,
        state=FileState.PREPARED,
        product_code=product_code,
        line_count=line_count,
        members=[
            ExchangeFileMember(
                name=member,
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                content=content,
            )
            for member, content in members
        ],
    )
    session.add(entry)
    session.flush()
    return entry


def mark_sent(session: Session, file_id: int) -> None:
    """Record that a prepared file is on the partner's server."""
    entry = session.get_one(ExchangeFile, file_id)
    entry.state = FileState.SENT
    entry.processed_at = _now()


def prepared_files(session: Session, reseller: str, stream: str) -> list[FileWithContent]:
    """The outbound files of a stream still ``prepared`` (not yet on the server), in
    sequence order, with their bytes."""
    rows = session.execute(
        select(ExchangeFile.id, ExchangeFile.name, ExchangeFile.content)
        .where(
            ExchangeFile.reseller_code == reseller,
            ExchangeFile.direction == Direction.OUTBOUND,
            ExchangeFile.file_type == stream,
            ExchangeFile.state == FileState.PREPARED,
        )
        .order_by(ExchangeFile.sequence)
    ).all()
    return [FileWithContent(file_id, name, content) for file_id, name, content in rows]


def latest_outbound(
    session: Session, reseller: str, stream: str, product_code: str
) -> JournaledFile | None:
    """The outbound file of a stream for a product with the highest sequence; None before
    the first."""
    entry = session.scalar(
        select(ExchangeFile)
        .options(defer(ExchangeFile.content))
        .where(
            ExchangeFile.reseller_code == reseller,
            ExchangeFile.direction == Direction.OUTBOUND,
            ExchangeFile.file_type == stream,
            ExchangeFile.product_code == product_code,
        )
        .order_by(ExchangeFile.sequence.desc())
        .limit(1)
    )
    return _journaled(entry) if entry is not None else None


def record_acknowledgement(
    session: Session,
    sent_id: int,
    ack_id: int,
    *,
    state: FileState,
    error_category: str | None,
    error_message: str | None,
    errors: Iterable[FileErrorRow],
    ack_line_count: int,
) -> None:
    """Record the outcome of a sent file's acknowledgement: the sent file's state with its
    refused lines (replacing earlier ones), the acknowledgement linked to it and marked
    integrated unless it is outside its stream (a duplicate, or a reused sequence)."""
    sent = session.get_one(ExchangeFile, sent_id)
    sent.state = state
    sent.processed_at = _now()
    sent.error_category = error_category
    sent.error_message = error_message
    sent.errors.clear()
    session.flush()
    sent.errors.extend(
        ExchangeFileError(
            line=error.line,
            column=error.column,
            value=error.value,
            code=error.code,
            reason=error.reason,
        )
        for error in errors
    )
    ack = session.get_one(ExchangeFile, ack_id)
    ack.answers_file_id = sent.id
    if ack.state not in OUTSIDE_STREAM:
        mark_integrated(session, ack.id, ack_line_count)
    session.flush()


def contact_emailed_at(session: Session, reseller: str, name: str) -> dt.datetime | None:
    """When the readable copy of a file we sent went to the partner's contact; None before."""
    return session.scalar(
        select(ExchangeFile.contact_emailed_at).where(
            ExchangeFile.reseller_code == reseller,
            ExchangeFile.direction == Direction.OUTBOUND,
            ExchangeFile.name == name,
        )
    )


def mark_contact_emailed(
    session: Session, reseller: str, name: str, at: dt.datetime | None = None
) -> None:
    """Record that the readable copy of a file we sent went to the partner's contact."""
    session.execute(
        update(ExchangeFile)
        .where(
            ExchangeFile.reseller_code == reseller,
            ExchangeFile.direction == Direction.OUTBOUND,
            ExchangeFile.name == name,
        )
        .values(contact_emailed_at=at or _now())
    )


# --------------------------------------------------------------------------- inbound queue


@dataclass(frozen=True)
class Queue:
    """The inbound files of one type, as processing should see them."""

    file_type: str
    ready: tuple[int, ...]
    """Ids of the files to process now, in sequence order (a failed file first)."""
    blocked_by: str | None
    """Name of the failed file that stops the type, if any."""
    missing: tuple[int, ...]
    """Sequences absent before the first waiting file: processing waits for them."""
    waiting: tuple[int, ...]
    """Ids of the files held back behind a gap."""


def queue(session: Session, reseller: str, file_type: str) -> Queue:
    """Which landed files of a type (stream) can be processed now, in sequence order."""
    integrated = session.scalar(
        select(func.max(ExchangeFile.sequence)).where(
            ExchangeFile.reseller_code == reseller,
            ExchangeFile.direction == Direction.INBOUND,
            ExchangeFile.file_type == file_type,
            ExchangeFile.state.in_(DONE_INBOUND),
        )
    )
    open_files = session.execute(
        select(ExchangeFile.id, ExchangeFile.sequence, ExchangeFile.state, ExchangeFile.name)
        .where(
            ExchangeFile.reseller_code == reseller,
            ExchangeFile.direction == Direction.INBOUND,
            ExchangeFile.file_type == file_type,
            ExchangeFile.state.in_(OPEN_STATES),
        )
        .order_by(ExchangeFile.sequence)
    ).all()
    expected = (integrated or 0) + 1
    ready: list[int] = []
    waiting: list[int] = []
    missing: list[int] = []
    blocked_by = next((row.name for row in open_files if row.state is FileState.FAILED), None)
    for row in open_files:
        if waiting or row.sequence != expected:
            if not waiting:
                missing = list(range(expected, row.sequence))
            waiting.append(row.id)
            continue
        ready.append(row.id)
        expected += 1
    return Queue(file_type, tuple(ready), blocked_by, tuple(missing), tuple(waiting))


def open_inbound_files(session: Session, reseller: str, stream: str) -> list[FileWithContent]:
    """The inbound files of a stream still to integrate (landed or failed), in sequence
    order, with their bytes."""
    rows = session.execute(
        select(ExchangeFile.id, ExchangeFile.name, ExchangeFile.content)
        .where(
            ExchangeFile.reseller_code == reseller,
            ExchangeFile.direction == Direction.INBOUND,
            ExchangeFile.file_type == stream,
            ExchangeFile.state.in_(OPEN_STATES),
        )
        .order_by(ExchangeFile.sequence)
    ).all()
    return [FileWithContent(file_id, name, content) for file_id, name, content in rows]


def open_inbound_ids(session: Session, reseller: str, stream: str) -> list[int]:
    """The ids of :func:`open_inbound_files`, without their bytes."""
    return list(
        session.scalars(
            select(ExchangeFile.id)
            .where(
                ExchangeFile.reseller_code == reseller,
                ExchangeFile.direction == Direction.INBOUND,
                ExchangeFile.file_type == stream,
                ExchangeFile.state.in_(OPEN_STATES),
            )
            .order_by(ExchangeFile.sequence)
        )
    )


def inbound_through(reseller: str, stream: str, through: int) -> Select[Any]:
    """A query of the ids of a stream's inbound units numbered 1 to ``through`` (whatever
    their state), for a box-office query to take as a subquery."""
    return select(ExchangeFile.id).where(
        ExchangeFile.reseller_code == reseller,
        ExchangeFile.direction == Direction.INBOUND,
        ExchangeFile.file_type == stream,
        ExchangeFile.sequence <= through,
    )


def done_sequences(session: Session, reseller: str, stream: str, through: int) -> set[int]:
    """The sequences 1 to ``through`` of a stream's inbound units that are done with
    (integrated, or set aside by a person)."""
    return set(
        session.scalars(
            select(ExchangeFile.sequence).where(
                ExchangeFile.reseller_code == reseller,
                ExchangeFile.direction == Direction.INBOUND,
                ExchangeFile.file_type == stream,
                ExchangeFile.state.in_(DONE_INBOUND),
                ExchangeFile.sequence <= through,
            )
        )
    )


def acknowledged_outbound(session: Session, reseller: str) -> list[tuple[int, str]]:
    """(id, name) of the organiser's units the partner has answered."""
    return [
        (file_id, name)
        for file_id, name in session.execute(
            select(ExchangeFile.id, ExchangeFile.name).where(
                ExchangeFile.reseller_code == reseller,
                ExchangeFile.direction == Direction.OUTBOUND,
                ExchangeFile.state == FileState.ACKNOWLEDGED,
            )
        )
    ]


def error_lines(session: Session, file_id: int) -> list[tuple[int, str | None]]:
    """(line, code) of each error recorded on a line of the unit (an answer's refusals)."""
    return [
        (int(line or 0), code)
        for line, code in session.execute(
            select(ExchangeFileError.line, ExchangeFileError.code).where(
                ExchangeFileError.file_id == file_id, ExchangeFileError.line.is_not(None)
            )
        )
    ]


def member_content(session: Session, file_id: int, name: str) -> bytes | None:
    """The bytes kept of a unit's data file ``name``; None when the unit has no such
    member."""
    content: bytes | None = session.scalar(
        select(ExchangeFileMember.content).where(
            ExchangeFileMember.exchange_file_id == file_id, ExchangeFileMember.name == name
        )
    )
    return content


def mark_integrated(session: Session, file_id: int, line_count: int) -> None:
    """Called inside the transaction that applied the file: both commit, or neither."""
    entry = session.get_one(ExchangeFile, file_id)
    entry.state = FileState.INTEGRATED
    entry.line_count = line_count
    entry.processed_at = _now()
    entry.error_category = None
    entry.error_message = None
    entry.errors.clear()


def mark_failed(
    session: Session,
    file_id: int,
    category: str,
    message: str,
    problems: Sequence[Problem] = (),
    codes: Iterable[str | None] | None = None,
) -> None:
    """Record why a file failed; it stops the files of its type behind it.

    A file a person set aside while it was being tried again stays set aside:
    the decision was taken on its earlier failure, which it repeats.
    """
    entry = session.get_one(ExchangeFile, file_id)
    if entry.state is FileState.SET_ASIDE:
        return
    entry.state = FileState.FAILED
    entry.processed_at = _now()
    entry.error_category = category
    entry.error_message = message
    entry.errors.clear()
    session.flush()
    code_list = list(codes) if codes is not None else [None] * len(problems)
    kept = list(zip(problems, code_list, strict=True))[:MAX_ERRORS_KEPT]
    entry.errors.extend(
        ExchangeFileError(
            line=problem.line,
            column=problem.column,
            value=(problem.value or "")[:200] or None,
            code=code,
            reason=problem.reason,
        )
        for problem, code in kept
    )
    if len(problems) > MAX_ERRORS_KEPT:
        entry.errors.append(
            ExchangeFileError(reason=f"and {len(problems) - MAX_ERRORS_KEPT} more problems")
        )


# --------------------------------------------------------------------------- set aside


class SetAsideRefusedError(ValueError):
    """A file cannot be set aside (unknown, not inbound, not failed, no reason): nothing
    was changed."""


@dataclass(frozen=True)
class SetAside:
    """A failed file set aside, and where its stream stands now."""

    file_id: int
    name: str
    file_type: str
    sequence: int
    by: str
    at: dt.datetime
    reason: str
    failure: str | None
    """Why it had failed: its error category and message."""
    ready: tuple[str, ...]
    """Files of its type now ready to integrate, in order (the reseller's resend among them)."""
    waiting_for: tuple[int, ...]
    """Sequences the stream now waits for (the resend not landed yet, or a gap)."""


def set_aside(
    session: Session,
    reseller: str,
    name: str,
    *,
    reason: str,
    by: str,
    now: dt.datetime | None = None,
) -> SetAside:
    """Set a failed inbound file aside, in the caller's transaction.

    Only a file in state ``failed`` can be: one that could not be read (an
    unreadable file, or one landed without its bytes, is ``failed`` too) or
    refused. Its lines are not integrated; its type goes on from the next
    sequence, where the reseller sends them again, and lines integrated
    already are recognised by their ticket and cancellation ids. ``reason``
    and ``by`` are required. Anything else raises
    :class:`SetAsideRefusedError` and changes nothing.
    """
    reason, by = reason.strip(), by.strip()
    if not reason:
        raise SetAsideRefusedError("say why the file is set aside (a reason is required)")
    if len(reason) > MAX_SET_ASIDE_REASON:
        raise SetAsideRefusedError(
            f"the reason is {len(reason)} characters long; at most {MAX_SET_ASIDE_REASON}"
        )
    if not by:
        raise SetAsideRefusedError("say who sets the file aside")
    if len(by) > MAX_SET_ASIDE_BY:
        raise SetAsideRefusedError(
            f"the name of who sets it aside is over {MAX_SET_ASIDE_BY} characters"
        )
    entry = session.scalar(
        select(ExchangeFile)
        .options(defer(ExchangeFile.content))
        .where(ExchangeFile.reseller_code == reseller, ExchangeFile.name == name)
        .with_for_update()
    )
    if entry is None:
        raise SetAsideRefusedError(f"no file named {name!r} in the {reseller} journal")
    if entry.direction is not Direction.INBOUND:
        raise SetAsideRefusedError(
            f"{name} is a file we sent ({entry.state.value}): only a received file is set aside"
        )
    if entry.state is not FileState.FAILED:
        raise SetAsideRefusedError(
            f"{name} is {entry.state.value}, not failed: only a failed file can be set aside"
            + _why_not(entry)
        )
    failure = f"{entry.error_category}: {entry.error_message}" if entry.error_message else None
    entry.state = FileState.SET_ASIDE
    entry.set_aside_by = by
    entry.set_aside_at = now or _now()
    entry.set_aside_reason = reason
    session.flush()
    after = queue(session, reseller, entry.file_type)
    ready = session.scalars(
        select(ExchangeFile.name)
        .where(ExchangeFile.id.in_(after.ready))
        .order_by(ExchangeFile.sequence)
    ).all()
    return SetAside(
        file_id=entry.id,
        name=entry.name,
        file_type=entry.file_type,
        sequence=entry.sequence,
        by=by,
        at=entry.set_aside_at,
        reason=reason,
        failure=failure,
        ready=tuple(ready),
        waiting_for=after.missing or ((entry.sequence + 1,) if not ready else ()),
    )


def _why_not(entry: ExchangeFile) -> str:
    if entry.state is FileState.LANDED:
        return " (it has not been tried yet: the next run integrates it, or records why not)"
    if entry.state is FileState.SET_ASIDE:
        return f" (set aside already by {entry.set_aside_by}: {entry.set_aside_reason})"
    if entry.state in OUTSIDE_STREAM:
        return " (it is outside its stream already: nothing waits behind it)"
    return ""


# --------------------------------------------------------------------------- listing


@dataclass(frozen=True)
class JournalFilter:
    """What the journal list shows: every criterion optional, pages from 1."""

    reseller: str | None = None
    """Whose files: a reseller's code (a dashboard's journal); None: every reseller's."""
    direction: Direction | None = None
    file_type: str | None = None
    state: FileState | None = None
    search: str | None = None
    """Part of a file name, of its error message, or of a line-level error."""
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class JournalEntry:
    """A file as the journal's listing shows it: its entry, never its bytes, and how many
    line-level errors it has."""

    id: int
    name: str
    direction: Direction
    file_type: str
    sequence: int
    state: FileState
    size: int
    line_count: int | None
    product_code: str | None
    created_at: dt.datetime
    processed_at: dt.datetime | None
    error_category: str | None
    error_message: str | None
    error_count: int


@dataclass(frozen=True)
class JournalPage:
    entries: list[JournalEntry]
    total: int
    filter: JournalFilter

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.filter.page_size))

    @property
    def has_previous(self) -> bool:
        return self.filter.page > 1

    @property
    def has_next(self) -> bool:
        return self.filter.page < self.pages


@dataclass(frozen=True)
class FileLink:
    id: int
    name: str
    state: FileState


@dataclass(frozen=True)
class FileErrorRow:
    """One line-level problem of a file; ``line`` None for the whole file."""

    line: int | None
    column: str | None
    value: str | None
    code: str | None
    reason: str


@dataclass(frozen=True)
class SetAsideRecord:
    """Who set a failed file aside, when and why."""

    by: str
    at: dt.datetime
    reason: str


@dataclass(frozen=True)
class FileDetail:
    entry: JournalEntry
    sha256: str
    errors: list[FileErrorRow]
    duplicate_of: FileLink | None = None
    answers: FileLink | None = None
    """For an ACK: the file it answers."""
    answered_by: list[FileLink] = field(default_factory=list)
    """For a sent file: the ACKs that answer it."""
    set_aside: SetAsideRecord | None = None

    @property
    def errors_not_shown(self) -> int:
        return self.entry.error_count - len(self.errors)

    @property
    def can_be_set_aside(self) -> bool:
        """A failed file from the reseller: a person may set it aside (:func:`set_aside`)."""
        return self.entry.direction is Direction.INBOUND and self.entry.state is FileState.FAILED


def _error_count() -> Any:
    return (
        select(func.count(ExchangeFileError.id))
        .where(ExchangeFileError.file_id == ExchangeFile.id)
        .correlate(ExchangeFile)
        .scalar_subquery()
    )


def _entry_columns() -> tuple[Any, ...]:
    """The journal's columns a page may show: everything but the bytes."""
    return (
        ExchangeFile.id,
        ExchangeFile.name,
        ExchangeFile.direction,
        ExchangeFile.file_type,
        ExchangeFile.sequence,
        ExchangeFile.state,
        ExchangeFile.size,
        ExchangeFile.line_count,
        ExchangeFile.product_code,
        ExchangeFile.created_at,
        ExchangeFile.processed_at,
        ExchangeFile.error_category,
        ExchangeFile.error_message,
        _error_count().label("error_count"),
    )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(statement: Select[Any], criteria: JournalFilter) -> Select[Any]:
    if criteria.reseller is not None:
        statement = statement.where(ExchangeFile.reseller_code == criteria.reseller)
    if criteria.direction is not None:
        statement = statement.where(ExchangeFile.direction == criteria.direction)
    if criteria.file_type:
        statement = statement.where(ExchangeFile.file_type == criteria.file_type)
    if criteria.state is not None:
        statement = statement.where(ExchangeFile.state == criteria.state)
    if criteria.search and criteria.search.strip():
        pattern = _like(criteria.search.strip())
        in_errors = (
            select(ExchangeFileError.id)
            .where(
                ExchangeFileError.file_id == ExchangeFile.id,
                or_(
                    ExchangeFileError.reason.ilike(pattern, escape="\\"),
                    ExchangeFileError.value.ilike(pattern, escape="\\"),
                    ExchangeFileError.code.ilike(pattern, escape="\\"),
                ),
            )
            .correlate(ExchangeFile)
            .exists()
        )
        statement = statement.where(
            or_(
                ExchangeFile.name.ilike(pattern, escape="\\"),
                ExchangeFile.error_message.ilike(pattern, escape="\\"),
                in_errors,
            )
        )
    return statement


def listing(session: Session, criteria: JournalFilter) -> JournalPage:
    """The files matching ``criteria``, newest first, one page of them; never their bytes."""
    total = session.scalar(_filtered(select(func.count(ExchangeFile.id)), criteria)) or 0
    page = max(1, criteria.page)
    rows = session.execute(
        _filtered(select(*_entry_columns()), criteria)
        .order_by(ExchangeFile.created_at.desc(), ExchangeFile.id.desc())
        .limit(criteria.page_size)
        .offset((page - 1) * criteria.page_size)
    ).all()
    return JournalPage([JournalEntry(**row._mapping) for row in rows], total, criteria)


def streams(session: Session, reseller: str) -> list[str]:
    """The streams the reseller's journal holds files of, sorted."""
    return sorted(
        session.scalars(
            select(ExchangeFile.file_type).where(ExchangeFile.reseller_code == reseller).distinct()
        )
    )


def file_detail(
    session: Session, reseller: str, file_id: int, max_errors: int
) -> FileDetail | None:
    """One of the reseller's files with its first ``max_errors`` line-level errors and its
    related files; never its bytes. None when the reseller's journal has no such file."""
    row = session.execute(
        select(*_entry_columns(), ExchangeFile.sha256, ExchangeFile.duplicate_of_id)
        .add_columns(
            ExchangeFile.answers_file_id,
            ExchangeFile.set_aside_by,
            ExchangeFile.set_aside_at,
            ExchangeFile.set_aside_reason,
        )
        .where(ExchangeFile.id == file_id, ExchangeFile.reseller_code == reseller)
    ).one_or_none()
    if row is None:
        return None
    values = dict(row._mapping)
    sha256 = values.pop("sha256")
    duplicate_of_id = values.pop("duplicate_of_id")
    answers_file_id = values.pop("answers_file_id")
    set_aside_by, set_aside_at, set_aside_reason = (
        values.pop("set_aside_by"),
        values.pop("set_aside_at"),
        values.pop("set_aside_reason"),
    )
    errors = session.execute(
        select(
            ExchangeFileError.line,
            ExchangeFileError.column,
            ExchangeFileError.value,
            ExchangeFileError.code,
            ExchangeFileError.reason,
        )
        .where(ExchangeFileError.file_id == file_id)
        .order_by(ExchangeFileError.line.is_(None), ExchangeFileError.line, ExchangeFileError.id)
        .limit(max_errors)
    ).all()
    answered_by = session.execute(
        select(ExchangeFile.id, ExchangeFile.name, ExchangeFile.state)
        .where(ExchangeFile.answers_file_id == file_id)
        .order_by(ExchangeFile.id)
    ).all()
    return FileDetail(
        entry=JournalEntry(**values),
        sha256=sha256,
        errors=[FileErrorRow(**error._mapping) for error in errors],
        duplicate_of=_link(session, duplicate_of_id),
        answers=_link(session, answers_file_id),
        answered_by=[FileLink(**link._mapping) for link in answered_by],
        set_aside=SetAsideRecord(set_aside_by, _aware(set_aside_at), set_aside_reason or "")
        if set_aside_by and set_aside_at
        else None,
    )


def _link(session: Session, file_id: int | None) -> FileLink | None:
    if file_id is None:
        return None
    row = session.execute(
        select(ExchangeFile.id, ExchangeFile.name, ExchangeFile.state).where(
            ExchangeFile.id == file_id
        )
    ).one_or_none()
    return FileLink(**row._mapping) if row else None


# --------------------------------------------------------------------------- stream health


def directed_streams(session: Session, reseller: str) -> list[tuple[Direction, str]]:
    """The (direction, stream) pairs the reseller's journal holds files of."""
    rows = session.execute(
        select(ExchangeFile.direction, ExchangeFile.file_type)
        .where(ExchangeFile.reseller_code == reseller)
        .distinct()
    ).all()
    return [(row.direction, row.file_type) for row in rows]


def last_success(
    session: Session, reseller: str, direction: Direction, stream: str
) -> tuple[str, dt.datetime] | None:
    """The name and moment (processed, else journaled; UTC) of the stream's latest file in
    a :data:`SUCCESS_STATES` state; None before the first."""
    moment = func.coalesce(ExchangeFile.processed_at, ExchangeFile.created_at)
    last = session.execute(
        select(ExchangeFile.name, moment.label("at"))
        .where(
            ExchangeFile.reseller_code == reseller,
            ExchangeFile.direction == direction,
            ExchangeFile.file_type == stream,
            ExchangeFile.state.in_(SUCCESS_STATES[direction]),
        )
        .order_by(moment.desc(), ExchangeFile.id.desc())
        .limit(1)
    ).one_or_none()
    return (last.name, _aware(_as_datetime(last.at))) if last else None


def last_landed_at(
    session: Session, reseller: str, direction: Direction, stream: str
) -> dt.datetime | None:
    """When the stream's latest file was journaled (UTC), whatever its state; None before
    the first."""
    at = session.scalar(
        select(func.max(ExchangeFile.created_at)).where(
            ExchangeFile.reseller_code == reseller,
            ExchangeFile.direction == direction,
            ExchangeFile.file_type == stream,
        )
    )
    return _aware(_as_datetime(at)) if at is not None else None


@dataclass(frozen=True)
class IntegratedUnit:
    """A unit the journal says was integrated: its name, the SHA-256 of its bytes as they
    landed, and its members' names (none for a file on its own)."""

    name: str
    sha256: str
    members: tuple[str, ...]

    @property
    def names_to_archive(self) -> tuple[str, ...]:
        """Members first, the closing file last (what makes a batch visible goes last)."""
        return (*self.members, self.name)


def integrated_still_listed(
    session: Session, reseller: str, names: Iterable[str]
) -> list[IntegratedUnit]:
    """Of ``names`` (files in the partner's folder), the units the journal says were
    integrated: what may be archived."""
    rows = session.execute(
        select(ExchangeFile.id, ExchangeFile.name, ExchangeFile.sha256).where(
            ExchangeFile.reseller_code == reseller,
            ExchangeFile.direction == Direction.INBOUND,
            ExchangeFile.state == FileState.INTEGRATED,
            ExchangeFile.name.in_(list(names)),
        )
    ).all()
    return [
        IntegratedUnit(name, sha256, tuple(member_names(session, file_id)))
        for file_id, name, sha256 in rows
    ]


def first_failed(session: Session, reseller: str, direction: Direction, stream: str) -> str | None:
    """The name of the stream's failed file of lowest sequence, which stops it; None if none."""
    return session.scalar(
        select(ExchangeFile.name)
        .where(
            ExchangeFile.reseller_code == reseller,
            ExchangeFile.direction == direction,
            ExchangeFile.file_type == stream,
            ExchangeFile.state == FileState.FAILED,
        )
        .order_by(ExchangeFile.sequence)
        .limit(1)
    )


def count_unanswered(session: Session, reseller: str, stream: str, sent_before: dt.datetime) -> int:
    """How many outbound files of a stream were sent before ``sent_before`` and are still
    unanswered (``sent``)."""
    return (
        session.scalar(
            select(func.count(ExchangeFile.id)).where(
                ExchangeFile.reseller_code == reseller,
                ExchangeFile.direction == Direction.OUTBOUND,
                ExchangeFile.file_type == stream,
                ExchangeFile.state == FileState.SENT,
                ExchangeFile.processed_at < sent_before,
            )
        )
        or 0
    )


def _as_datetime(value: dt.datetime | str) -> dt.datetime:
    """SQLite returns ``coalesce`` of two timestamps as text."""
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def _aware(moment: dt.datetime) -> dt.datetime:
    """Stored timestamps are UTC; SQLite gives them back without their zone."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
