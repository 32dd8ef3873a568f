"""Sending an OFFER batch to Ticketnet once, and applying its ACK (``ticketnet-exchange-v1``
sections 3, 4, 6, 7.4, 9.2 and 10.1).

The journal is the memory of what was sent. A batch is one entry, under its manifest's
name, with its data files as members. For one product and one content (CATALOG,
ALLOCATION):

1. the latest batch of that content *stands* when it is ``sent`` (not answered yet) or
   acknowledged without an error to act on: it is not sent again unless forced (the
   onboarding's form), and a forced resend happens once per run (``resend_since``);
2. a batch left ``prepared`` by a crash (journaled, not all uploaded) is uploaded again
   under its number with its same bytes (section 3 point 5), before any new number is
   taken: Ticketnet waits at a gap (section 9.2 point 1);
3. otherwise the next number of the OFFER stream is taken, the batch built, journaled
   with its data files (``prepared``, committed), uploaded data files first and the
   manifest last, each by ``.tmp`` and rename (section 3 points 3 and 4), then marked
   ``sent``.

A batch Ticketnet answered is never sent again under its number (section 3 point 9,
section 9.2 point 2): a batch refused (``REJECTED``, or records refused for a cause to
act on) does not stand, and the next send carries the content, as it is then, under the
next number.

Ticketnet answers each batch with ``<batch id>.ack.json`` in ``/from_ticketnet/``.
:func:`await_ack` finds it in the journal (the hourly run may have landed it) or lands
that one file from the server, applies it once
(:func:`~reseller_sync.ticketnet.inbound_files.apply_ack`: Ticketnet's identifiers
recorded, the batch's outcome journaled) and says what it means, code by code
(section 10.1):

====================  =================================================================
B01 to B07, C06       technical: our writer or our numbering; support fixes it, then the
                      content goes as a new batch
C01 to C05, A01-A03   mapping: fix the product, its settings or a mapping, then the
                      content goes as a new batch
Z99                   external, temporary: Ticketnet failed; the retry sends the same
                      content as a new batch
A04 to A07            outcomes, not errors (A04: the place is Ticketnet's already)
====================  =================================================================

Sending is serialised by the DAGs (one onboarding run at a time per product, and the
sends of the OFFER stream are few): two runs numbering at the same moment would collide
on the journal's unique sequence, which is retried (the reseller-neutral part of sending,
:mod:`reseller_sync.exchange.sending`).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Self

import pyarrow as pa
from sqlalchemy.orm import Session, sessionmaker

from reseller_sync.boxoffice.models import Direction, FileState
from reseller_sync.domain.errors import (
    ErrorCategory,
    MappingError,
    SyncError,
    TechnicalError,
    TemporaryExternalError,
)
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange import journal, sending
from reseller_sync.exchange.sending import SessionSource, session_factory, uploads
from reseller_sync.integration import allocation as allocated
from reseller_sync.ticketnet.ack import Ack, AckStatus, parse_ack
from reseller_sync.ticketnet.errors import Code, TicketnetProblem
from reseller_sync.ticketnet.names import FileName, FileType, NameKind, Stream
from reseller_sync.ticketnet.naming import NAMING
from reseller_sync.ticketnet.offer import PlaceRecords, offer_batch
from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE
from reseller_sync.ticketnet.settings import TicketnetSettings
from reseller_sync.ticketnet.writer import BuiltBatch

if TYPE_CHECKING:
    import pandas as pd

    from reseller_sync.exchange.transport import SftpTransport

log = logging.getLogger(__name__)

RESELLER = RESELLER_TYPE.code
STREAM = Stream.OFFER.value
RecordsBuilder = Callable[[Session], "pa.Table | PlaceRecords"]
"""Builds a file's records from the box office, called only when a batch is written; for
places, with the box office's place of each record."""
PREVIEW_LINES = 12
"""Records of each data file shown in a dry run's preview."""


class SendStatus(StrEnum):
    SENT = "sent"
    """A new batch was built, journaled and uploaded."""
    ALREADY_SENT = "already_sent"
    """A batch of that content for that product stands already: nothing was sent."""
    COMPLETED = "completed"
    """The product's batch was left ``prepared`` by an earlier run and is now uploaded."""
    DRY_RUN = "dry_run"
    """Built for a person to read: nothing was sent nor journaled."""


@dataclass(frozen=True)
class OfferSent:
    """What :func:`send_offer` did."""

    status: SendStatus
    content: FileType
    product_code: str
    batch: str
    """The batch's manifest name, under which the journal keeps it."""
    number: int
    records: int
    file_id: int | None = None
    """The journal's id of the batch (None for a dry run)."""
    preview: str | None = field(default=None, repr=False)
    """The manifest and the first records of each data file, for a dry run."""
    completed_leftovers: tuple[str, ...] = ()
    """Batches left ``prepared`` (any product) uploaded before this send."""

    @property
    def sent_now(self) -> bool:
        """Whether this call put the product's batch on Ticketnet's server."""
        return self.status in (SendStatus.SENT, SendStatus.COMPLETED)


def send_offer(
    sessions: SessionSource,
    transport: SftpTransport,
    settings: TicketnetSettings,
    product_code: str,
    content: FileType,
    build: RecordsBuilder,
    *,
    force: bool = False,
    resend_since: dt.datetime | None = None,
    dry_run: bool = False,
    created: dt.datetime | None = None,
) -> OfferSent:
    """Send the product's ``content`` (built by ``build``) as an OFFER batch, at most once.

    ``force`` sends a new batch (next number) even when one stands, unless the standing
    batch was journaled at or after ``resend_since`` (aware): a resend asked for once by a
    run that started then happens once, whatever its retries. ``created`` (aware, default
    now) is the manifest's ``created_at``.
    """
    content = FileType(content)
    factory = session_factory(sessions)
    if dry_run:
        with factory() as session:
            records, _ = _records_and_places(build(session))
            number = journal.next_outbound_sequence(session, RESELLER, STREAM)
        built = offer_batch(number, settings, {content: records}, created_at=_stamp(created))
        return OfferSent(
            SendStatus.DRY_RUN,
            content,
            product_code,
            built.manifest.name,
            number,
            records.num_rows,
            preview=preview(built),
        )
    completed = complete_prepared(factory, transport)
    with factory() as session:
        standing = standing_batch(session, product_code, content)
        resent = standing is not None and sending.journaled_since(standing, resend_since)
        if standing is not None and (not force or resent):
            status = SendStatus.COMPLETED if standing.name in completed else SendStatus.ALREADY_SENT
            return OfferSent(
                status,
                content,
                product_code,
                standing.name,
                standing.sequence,
                standing.line_count or 0,
                standing.id,
                completed_leftovers=tuple(completed),
            )
        records, places = _records_and_places(build(session))
    file_id, built = _prepare(factory, settings, product_code, content, records, created, places)
    transport.upload_all(uploads(built.manifest.name, built.manifest_bytes, built.files.items()))
    with factory.begin() as session:
        journal.mark_sent(session, file_id)
    log.info(
        "Sent %s: the %s of %s, %d record(s)",
        built.manifest.name,
        content,
        product_code,
        records.num_rows,
    )
    return OfferSent(
        SendStatus.SENT,
        content,
        product_code,
        built.manifest.name,
        built.manifest.batch.number,
        records.num_rows,
        file_id,
        completed_leftovers=tuple(completed),
    )


def send_catalog(
    sessions: SessionSource,
    transport: SftpTransport,
    settings: TicketnetSettings,
    product_code: str,
    *,
    force: bool = False,
    resend_since: dt.datetime | None = None,
    dry_run: bool = False,
    sales_open: dt.datetime | None = None,
) -> OfferSent:
    """The product's CATALOG (section 8.1) in an OFFER batch, sent once (see :func:`send_offer`);
    ``sales_open`` (aware, default now) is when sales open at Ticketnet."""
    from reseller_sync.ticketnet.mappings import load_repository
    from reseller_sync.ticketnet.offer import catalog

    def build(session: Session) -> pa.Table:
        return catalog(session, settings, load_repository(), product_code, sales_open=sales_open)

    return send_offer(
        sessions,
        transport,
        settings,
        product_code,
        FileType.CATALOG,
        build,
        force=force,
        resend_since=resend_since,
        dry_run=dry_run,
    )


def send_allocation(
    sessions: SessionSource,
    transport: SftpTransport,
    settings: TicketnetSettings,
    product_code: str,
    *,
    dry_run: bool = False,
) -> OfferSent:
    """The ALLOCATION of Ticketnet's quota on the product (section 8.2) in an OFFER batch, sent
    once; the performances are named by the identifiers Ticketnet's ACKs gave. Each record's
    place is recorded ``sent`` with the batch, for its ACK to state (section 9.1 point 12)."""
    from reseller_sync.ticketnet.identifiers import PartnerPerformances
    from reseller_sync.ticketnet.mappings import load_repository
    from reseller_sync.ticketnet.offer import allocation_records

    def build(session: Session) -> PlaceRecords:
        performances = PartnerPerformances.load(session)
        return allocation_records(session, settings, load_repository(), performances, product_code)

    return send_offer(
        sessions, transport, settings, product_code, FileType.ALLOCATION, build, dry_run=dry_run
    )


def complete_prepared(sessions: SessionSource, transport: SftpTransport) -> list[str]:
    """Upload every OFFER batch left ``prepared`` by a crash, in number order, under its
    number with its same bytes (section 3 point 5); their names."""
    return sending.complete_prepared(sessions, transport, RESELLER, STREAM)


def standing_batch(
    session: Session, product_code: str, content: FileType
) -> journal.JournaledFile | None:
    """The product's latest OFFER batch holding ``content`` when it stands (sent, or answered
    without an error to act on); None when there is none or it was refused."""
    names = journal.names_in_stream(
        session, RESELLER, Direction.OUTBOUND, STREAM, product_code=product_code
    )
    for name in reversed(names):
        entry = journal.find_file(session, RESELLER, Direction.OUTBOUND, name)
        if entry is None or content not in _types(journal.member_names(session, entry.id)):
            continue
        if entry.state in (FileState.SENT, FileState.PREPARED):
            return entry
        if entry.state is FileState.ACKNOWLEDGED and entry.error_category is None:
            return entry
        return None
    return None


def preview(built: BuiltBatch, lines: int = PREVIEW_LINES) -> str:
    """The manifest and the first ``lines`` records of each data file, for a person."""
    shown = [built.manifest_bytes.decode().rstrip()]
    for name, data in built.files.items():
        text = gzip.decompress(data).decode().splitlines()
        shown.append(f"--- {name}")
        shown.extend(text[: lines + 1])
        if len(text) > lines + 1:
            shown.append(f"… {len(text) - lines - 1} more record(s)")
    return "\n".join(shown)


def _types(member_names: Sequence[str]) -> set[FileType]:
    parsed = (FileName.parse(name) for name in member_names)
    return {name.type for name in parsed if name is not None and name.type is not None}


def _stamp(created: dt.datetime | None) -> str:
    """A manifest's ``created_at`` (section 5: seconds, a numeric offset)."""
    moment = created or dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        raise ValueError("created must be an aware datetime")
    return moment.replace(microsecond=0).isoformat()


def _records_and_places(built: pa.Table | PlaceRecords) -> tuple[pa.Table, pd.DataFrame | None]:
    if isinstance(built, PlaceRecords):
        return built.records, built.places
    return built, None


def _prepare(
    factory: sessionmaker[Session],
    settings: TicketnetSettings,
    product_code: str,
    content: FileType,
    records: pa.Table,
    created: dt.datetime | None,
    places: pd.DataFrame | None = None,
) -> tuple[int, BuiltBatch]:
    """Number, build and journal a new batch as ``prepared``, committed; with the places its
    records give (``places``, in record order) in the same transaction."""

    def prepare(session: Session, number: int) -> tuple[int, BuiltBatch]:
        built = offer_batch(number, settings, {content: records}, created_at=_stamp(created))
        name = NAMING.parse(built.manifest.name)
        assert name is not None  # the writer's names are the contract's
        entry = journal.prepare_outbound(
            session,
            RESELLER,
            name,
            built.manifest_bytes,
            product_code=product_code,
            line_count=records.num_rows,
            members=list(built.files.items()),
        )
        if places is not None:
            allocated.record_sent(session, RESELLER, entry.id, places, dt.datetime.now(dt.UTC))
        return entry.id, built

    return sending.prepare_numbered(factory, RESELLER, STREAM, prepare, what="OFFER batch")


# --------------------------------------------------------------------------- the ACK


CODE_MEANINGS: dict[Code, str] = {
    Code.B01: "manifest invalid: our writer must be fixed",
    Code.B02: "a listed file is missing: our upload must be fixed",
    Code.B03: "SHA-256 mismatch: our writer or upload must be fixed",
    Code.B04: "record count mismatch: our writer must be fixed",
    Code.B05: "a data file is not listed in the manifest: our writer must be fixed",
    Code.B06: "file syntax (gzip, UTF-8, CSV, header, field format): our writer must be fixed",
    Code.B07: "batch number already processed: our numbering must be repaired",
    Code.C01: "a product kind Ticketnet may not sell, or no start: remove the product from "
    "the Ticketnet channel",
    Code.C02: "unknown venue code, or another one for an existing performance: fix the "
    "configuration mapping",
    Code.C03: "unknown or inactive price type: fix the tariff mapping",
    Code.C04: "a currency other than EUR: fix the product's settings",
    Code.C05: "sale dates invalid: fix the product's settings",
    Code.C06: "inconsistent records for one performance: our writer must be fixed",
    Code.A01: "unknown event_id or performance_id: fix the event mapping (or wait for the "
    "CATALOG's ACK)",
    Code.A02: "unknown section, row, seat or area, or more places than the area holds: fix "
    "the zone mapping",
    Code.A03: "price level not on sale for the performance, or not the place's: fix the "
    "category mapping",
    Code.A04: "the place is allocated already: it is Ticketnet's",
    Code.A05: "the place is sold and cannot be released: it stays Ticketnet's",
    Code.A06: "fewer places available in the area than asked: release at most those",
    Code.A07: "the place is not in the allocation",
    Code.Z99: "technical error at Ticketnet: the same content goes again as a new batch",
}
"""What each ACK code means for the organiser (section 10.1)."""

DESCRIBED = (
    "org_performance_code",
    "starts_at",
    "venue_code",
    "performance_id",
    "section",
    "row",
    "seat",
    "area",
    "quantity",
    "price_level",
    "price_type",
    "amount",
    "currency",
)
"""The columns that describe a refused record to a person, in this order."""

CATEGORY_ORDER = (ErrorCategory.TECHNICAL, ErrorCategory.MAPPING, ErrorCategory.EXTERNAL)
"""Which category an answer's error takes when its codes fall in several."""

TECHNICAL_ACTION = Localized(
    fr="Contactez le support avec le nom du lot : le lot que nous avons écrit ne respecte pas "
    "le contrat (B01 à B06, C06) ou sa numérotation est fausse (B07). Une fois corrigé, "
    "relancez la tâche en échec (Clear) : le contenu part dans un nouveau lot, au numéro "
    "suivant (un lot auquel {reseller} a répondu n'est jamais renvoyé).",
    en="Contact support with the batch name: the batch we wrote breaks the contract (B01 to "
    "B06, C06) or its numbering is wrong (B07). Once fixed, clear the failed task: the content "
    "goes in a new batch, under the next number ({reseller} never gets a batch it answered "
    "again).",
)
MAPPING_ACTION = Localized(
    fr="Corrigez ce que dit chaque enregistrement refusé (C01 : retirez le produit du canal "
    "{reseller} ; C02 à C05 : le mapping de configuration ou de type de prix, ou les réglages "
    "du produit ; A01 à A03 : le mapping d'événement, de zone ou de catégorie), puis relancez "
    "la tâche en échec (Clear) : le contenu part dans un nouveau lot, au numéro suivant.",
    en="Fix what each refused record says (C01: remove the product from the {reseller} "
    "channel; C02 to C05: the configuration or price type mapping, or the product's settings; "
    "A01 to A03: the event, zone or category mapping), then clear the failed task: the content "
    "goes in a new batch, under the next number.",
)
EXTERNAL_ACTION = Localized(
    fr="{reseller} a échoué de son côté (Z99) : la tâche est relancée et envoie le même contenu "
    "dans un nouveau lot ; si l'échec persiste, appelez {reseller} avec le nom du lot.",
    en="{reseller} failed on its side (Z99): the task is retried and sends the same content in "
    "a new batch; if it keeps failing, call {reseller} with the batch name.",
)


@dataclass(frozen=True)
class Refusal:
    """One code of an ACK: the batch's (``REJECTED``) or a record's."""

    code: Code
    message: str
    """Ticketnet's own words."""
    file: str | None = None
    record: int | None = None
    sent_record: str | None = None
    """The refused record as sent, described for a person (section, row, seat...)."""

    @property
    def category(self) -> ErrorCategory | None:
        return self.code.category

    def to_problem(self, batch: str) -> TicketnetProblem:
        parts = [CODE_MEANINGS.get(self.code, str(self.code))]
        if self.sent_record:
            parts.append(self.sent_record)
        parts.append(f"Ticketnet: {self.message}")
        return TicketnetProblem(
            " — ".join(parts),
            file=self.file or batch,
            line=self.record or 0,
            value=self.code.value,
            code=self.code,
        )


@dataclass(frozen=True)
class OfferAnswer:
    """What Ticketnet did with an OFFER batch, as its ACK says."""

    batch: str
    """The batch's manifest name."""
    ack_file: str
    status: AckStatus
    refusals: tuple[Refusal, ...]
    """Every code of the ACK, in order: the batch's, then each file's records'."""
    accepted: int
    """Records applied."""
    new_performances: int = 0
    """Performances whose Ticketnet identifiers this ACK gave for the first time."""

    @property
    def errors(self) -> tuple[Refusal, ...]:
        """Refusals someone (or a new batch) must act on."""
        return tuple(r for r in self.refusals if r.category is not None)

    @property
    def outcomes(self) -> tuple[Refusal, ...]:
        """Codes that are answers, not errors (A04 to A07)."""
        return tuple(r for r in self.refusals if r.category is None)

    @property
    def category(self) -> ErrorCategory | None:
        """The category of the error to raise: technical first, then mapping, then external."""
        found = {r.category for r in self.errors}
        return next((c for c in CATEGORY_ORDER if c in found), None)

    def error(self) -> SyncError | None:
        """The error this answer stands for; None when nothing is to be done."""
        category = self.category
        if category is None:
            return None
        problems = [r.to_problem(self.batch) for r in self.errors]
        scope = (
            "refused whole"
            if self.status is AckStatus.REJECTED
            else f"{len(problems)} record(s) refused"
        )
        message = f"Ticketnet's ACK of {self.batch}: {scope} ({', '.join(_codes(self.errors))})"
        if category is ErrorCategory.TECHNICAL:
            return TechnicalError(
                message, problems=problems, file=self.batch, action=TECHNICAL_ACTION
            )
        if category is ErrorCategory.MAPPING:
            return MappingError(message, problems=problems, file=self.batch, action=MAPPING_ACTION)
        return TemporaryExternalError(
            message, problems=problems, file=self.batch, action=EXTERNAL_ACTION
        )

    def raise_for_errors(self) -> Self:
        if (error := self.error()) is not None:
            raise error
        return self


def interpret_ack(
    batch: str, ack: Ack, members: Mapping[str, bytes] | None = None, *, new_performances: int = 0
) -> OfferAnswer:
    """Read Ticketnet's ACK of ``batch`` (its manifest name); ``members``, the batch's data
    files as sent, describe refused records."""
    if ack.name != _ack_name(batch):
        raise TechnicalError(f"{ack.name} does not answer {batch} (expected {_ack_name(batch)})")
    refusals: list[Refusal] = []
    if ack.error is not None:
        refusals.append(
            Refusal(ack.error.code, ack.error.message, ack.error.file, ack.error.record)
        )
    for file in ack.files:
        for record in file.errors:
            sent = _describe(members or {}, file.name, record.record)
            refusals.append(Refusal(record.code, record.message, file.name, record.record, sent))
    return OfferAnswer(
        batch,
        ack.name,
        ack.status,
        tuple(refusals),
        sum(file.accepted for file in ack.files),
        new_performances,
    )


def await_ack(session: Session, transport: SftpTransport, batch: str) -> OfferAnswer | None:
    """Ticketnet's answer to the OFFER batch ``batch`` (its manifest name), applied once; None
    until the ACK is there.

    Looks in the journal first (the hourly run lands ACKs), else fetches the ACK alone from
    ``/from_ticketnet/`` and lands it; then applies it, once: Ticketnet's identifiers and the
    batch's outcome recorded. Runs in the caller's transaction: commit it. Raises what an
    unreadable ACK, or one answering no batch sent, is (``R22``, external).
    """
    from reseller_sync.ticketnet.inbound_files import apply_ack

    sent = journal.find_file(session, RESELLER, Direction.OUTBOUND, batch)
    if sent is None:
        raise TechnicalError(f"{batch} is not in the journal of batches sent to Ticketnet")
    wanted = _ack_name(batch)
    ack = journal.find_file(session, RESELLER, Direction.INBOUND, wanted)
    if ack is None:
        index = journal.OnlyFileIndex(journal.JournalIndex(session, RESELLER), wanted)
        fetched = transport.fetch_new(index)
        for landed in fetched.landed:
            if landed.name == wanted:
                landing = journal.land(session, RESELLER, landed)
                ack = journal.journaled_file(session, landing.file_id)
    if ack is None:
        return None
    content = journal.file_content(session, ack.id)
    new = 0
    if ack.state is not FileState.INTEGRATED:
        outcome, _ = apply_ack(session, ack.name, content, ack_id=ack.id)
        new = outcome.new_performances
    members = journal.inbound_unit(session, sent.id).members
    return interpret_ack(batch, parse_ack(ack.name, content), members, new_performances=new)


def ack_name(batch: str) -> str:
    """The name of Ticketnet's ACK of ``batch`` (a batch id or a file name of the batch)."""
    return _ack_name(batch)


def answered_batch(ack: str) -> str:
    """The manifest name of the batch the ACK ``ack`` answers."""
    parsed = FileName.parse(ack)
    if parsed is None or parsed.kind is not NameKind.ACK:
        raise ValueError(f"{ack} is not the name of a Ticketnet ACK")
    return parsed.batch.manifest_name


def _ack_name(batch: str) -> str:
    parsed = FileName.parse(batch)
    if parsed is None:
        raise ValueError(f"{batch} is not the name of a file of a Ticketnet batch")
    return parsed.batch.ack_name


def _codes(refusals: Sequence[Refusal]) -> list[str]:
    return sorted({r.code.value for r in refusals})


def _describe(members: Mapping[str, bytes], file: str, record: int) -> str | None:
    """A sent record as a person reads it (its non-empty fields); None when unknown."""
    data = members.get(file)
    if data is None or record < 1:
        return None
    try:
        rows = list(csv.reader(io.StringIO(gzip.decompress(data).decode(), newline="")))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if record >= len(rows):
        return None
    fields = dict(zip(rows[0], rows[record], strict=False))
    return ", ".join(f"{name} {fields[name]}" for name in DESCRIBED if fields.get(name)) or None
