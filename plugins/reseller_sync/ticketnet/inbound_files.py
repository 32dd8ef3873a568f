"""Ticketnet's inbound units for the reseller-neutral integration (``ticketnet-exchange-v1``
sections 6, 7 and 9.1): a SALES batch as sale lines, test sale lines and cancellation lines,
applied in that order in one transaction; a PRICETYPES batch and an ACK apart.

A batch is read from the copies the journal keeps, its buyer values emptied
(section 11), and verified whole against its manifest with the checksums of its
files as they arrived.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import Direction, FileState
from reseller_sync.core.exchange import InboundUnit
from reseller_sync.core.lines import InboundLines
from reseller_sync.domain.errors import ExternalError, TechnicalError
from reseller_sync.exchange import journal
from reseller_sync.integration import allocation as allocated
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.ticketnet.ack import Ack, AckStatus, match_ack, parse_ack
from reseller_sync.ticketnet.identifiers import PartnerPerformances, record_ack_ids
from reseller_sync.ticketnet.lines import batch_lines
from reseller_sync.ticketnet.names import (
    MAX_RECORDS_PER_PART,
    FileName,
    FileType,
    NameKind,
    Stream,
)
from reseller_sync.ticketnet.price_types import integrate_price_types
from reseller_sync.ticketnet.reader import Batch, read_batch
from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE
from reseller_sync.ticketnet.settings import TicketnetSettings


@dataclass(frozen=True)
class StoredBatch:
    """A landed batch as a :class:`~reseller_sync.ticketnet.reader.BatchSource`."""

    unit: InboundUnit

    def names(self) -> Iterable[str]:
        return self.unit.members.keys()

    def read_bytes(self, name: str) -> bytes:
        try:
            return self.unit.members[name]
        except KeyError:
            raise FileNotFoundError(name) from None


def read_landed_batch(unit: InboundUnit) -> Batch:
    """The batch landed under its manifest ``unit``, verified whole (section 6)."""
    parsed = FileName.parse(unit.name)
    if parsed is None or parsed.kind is not NameKind.MANIFEST:
        raise TechnicalError(f"{unit.name} is not the manifest of a Ticketnet batch")
    return read_batch(
        StoredBatch(unit),
        parsed.batch,
        manifest_bytes=unit.content,
        arrived_sha256=unit.member_sha256,
        unkept=unit.unkept,
    )


@dataclass(frozen=True)
class AckOutcome:
    """What an ACK said of the organiser's batch."""

    batch: str
    status: AckStatus
    new_performances: int
    refused_records: int


class TicketnetInboundFiles:
    """One run's reading of Ticketnet's units, with the mappings loaded once for the run."""

    def __init__(self, settings: TicketnetSettings, repository: MappingRepository) -> None:
        self.settings = settings
        self.repository = repository

    def lines(self, session: Session, unit: InboundUnit) -> tuple[InboundLines, ...] | None:
        """A SALES batch's lines (sales, test sales, refunds); None for any other unit."""
        parsed = FileName.parse(unit.name)
        if parsed is None or parsed.kind is not NameKind.MANIFEST:
            return None
        if parsed.batch.stream is not Stream.SALES:
            return None
        batch = read_landed_batch(unit)
        performances = PartnerPerformances.load(session)
        return batch_lines(session, self.settings, self.repository, performances, batch).lines

    def integrate_other(
        self, session: Session, unit: InboundUnit, *, file_id: int
    ) -> tuple[Any, int]:
        """A PRICETYPES batch (its list kept, unmapped active types named) or an ACK (the
        organiser's batch marked as answered, Ticketnet's identifiers recorded); the outcome
        and the number of records."""
        parsed = FileName.parse(unit.name)
        if parsed is not None and parsed.kind is NameKind.ACK:
            return apply_ack(session, unit.name, unit.content, ack_id=file_id)
        if parsed is not None and parsed.batch.stream is Stream.PRICETYPES:
            batch = read_landed_batch(unit)
            table = batch.table(FileType.PRICETYPES)
            outcome = integrate_price_types(
                session, self.repository, unit.name, table, file_id=file_id
            )
            return outcome, table.num_rows
        raise TechnicalError(f"{unit.name}: not integrated by the hourly run")


def apply_ack(
    session: Session, name: str, content: bytes, *, ack_id: int
) -> tuple[AckOutcome, int]:
    """Match an ACK with the OFFER batch it answers (``R22`` when none), record the
    identifiers of the performances it created and the batch's outcome in the journal."""
    ack = parse_ack(name, content)
    sent = journal.find_file(
        session, RESELLER_TYPE.code, Direction.OUTBOUND, ack.batch.manifest_name
    )
    sent_sha256 = journal.sha256_of(session, sent.id) if sent is not None else None
    problem = match_ack(ack, {str(ack.batch): sent_sha256} if sent_sha256 else {})
    if problem is not None or sent is None:
        raise ExternalError(
            f"{name}: R22, the ACK answers no batch the organiser sent",
            problems=[problem] if problem is not None else [],
            file=name,
        )
    new = record_ack_ids(session, ack, source_file_id=ack_id)
    refused = _refused_rows(ack)
    journal.record_acknowledgement(
        session,
        sent.id,
        ack_id,
        state=FileState.REFUSED if ack.status is AckStatus.REJECTED else FileState.ACKNOWLEDGED,
        error_category=_category(ack),
        error_message=_message(ack),
        errors=refused,
        ack_line_count=sum(file.records for file in ack.files),
    )
    record_allocation_answer(session, sent.id, ack)
    return AckOutcome(str(ack.batch), ack.status, new, len(refused)), len(ack.files)


def record_allocation_answer(session: Session, sent_id: int, ack: Ack) -> None:
    """The places of an ALLOCATION batch as its ACK states them (section 9.1 point 12): a
    record refused (A01 to A03, or the batch ``REJECTED``) is not Ticketnet's; any other,
    A04 included, is. Nothing changes for a batch without ALLOCATION records."""
    whole = None
    if ack.status is AckStatus.REJECTED:
        reason = ack.error
        whole = allocated.RecordAnswer(
            reason.code.value if reason else "REJECTED",
            reason.message if reason else "the batch was rejected",
            refused=True,
        )
    answers: dict[int, allocated.RecordAnswer] = {}
    for file in ack.files:
        parsed = FileName.parse(file.name)
        if file.type is not FileType.ALLOCATION or parsed is None or parsed.part is None:
            continue
        for error in file.errors:
            line = (parsed.part - 1) * MAX_RECORDS_PER_PART + error.record
            answers[line] = allocated.RecordAnswer(
                error.code.value, error.message, refused=error.code.category is not None
            )
    allocated.record_answer(session, sent_id, answers, whole=whole, now=dt.datetime.now(dt.UTC))


def _refused_rows(ack: Ack) -> list[journal.FileErrorRow]:
    rows = []
    if ack.error is not None:
        rows.append(
            journal.FileErrorRow(
                ack.error.record,
                None,
                None,
                ack.error.code.value,
                f"{ack.error.file}: {ack.error.message}" if ack.error.file else ack.error.message,
            )
        )
    for file in ack.files:
        for error in file.errors:
            rows.append(
                journal.FileErrorRow(
                    error.record, None, None, error.code.value, f"{file.name}: {error.message}"
                )
            )
    return rows[: journal.MAX_ERRORS_KEPT]


def _category(ack: Ack) -> str | None:
    codes = [ack.error.code] if ack.error is not None else []
    codes += [error.code for file in ack.files for error in file.errors]
    categories = [code.category for code in codes if code.category is not None]
    return categories[0].value if categories else None


def _message(ack: Ack) -> str | None:
    if ack.error is not None:
        return f"{ack.error.code.value}: {ack.error.message}"
    refused = sum(file.rejected for file in ack.files)
    return f"{refused} record(s) refused by Ticketnet" if refused else None
