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
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, defer

from reseller_sync.boxoffice.models import Direction, ExchangeFile, ExchangeFileError, FileState
from reseller_sync.core.exchange import ExchangeName, UnredactableFileError
from reseller_sync.core.resellers import adapter, reseller_type
from reseller_sync.domain.errors import Problem
from reseller_sync.exchange.transport import LandedFile

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
MAX_SET_ASIDE_REASON = 2000
MAX_SET_ASIDE_BY = 100


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

    def is_landed(self, name: str) -> bool:
        return name in self._sha256_by_name

    def name_with_sha256(self, sha256: str) -> str | None:
        return self._name_by_sha256.get(sha256)


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
    """
    existing = session.scalar(
        select(ExchangeFile).where(
            ExchangeFile.reseller_code == reseller, ExchangeFile.name == landed.name
        )
    )
    if existing is not None:
        return LandingOutcome(existing.id, existing.name, existing.state, "already landed")
    naming = adapter(reseller).naming()
    partner = reseller_type(reseller).name
    file_type = landed.parsed.stream
    sequence = landed.parsed.sequence
    unredactable: str | None = None
    try:
        content = naming.redact(landed.name, landed.data)
    except UnredactableFileError as error:
        content, unredactable = b"", str(error)
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
    )
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


# --------------------------------------------------------------------------- outbound


def next_outbound_sequence(session: Session, reseller: str, stream: str) -> int:
    """The sequence of the next file of a stream we send: no gap, no reuse."""
    highest = session.scalar(
        select(func.max(ExchangeFile.sequence)).where(
            ExchangeFile.reseller_code == reseller,
            ExchangeFile.direction == Direction.OUTBOUND,
            ExchangeFile.file_type == str(stream),
        )
    )
    return (highest or 0) + 1


def prepare_outbound(
    session: Session,
    reseller: str,
    name: ExchangeName,
    data: bytes,
    *,
    product_code: str | None = None,
    line_count: int | None = None,
) -> ExchangeFile:
    """Journal a file we are about to send; it becomes ``sent`` once on the server."""
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
    )
    session.add(entry)
    session.flush()
    return entry


def mark_sent(session: Session, file_id: int) -> None:
    entry = session.get_one(ExchangeFile, file_id)
    entry.state = FileState.SENT
    entry.processed_at = _now()


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


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
