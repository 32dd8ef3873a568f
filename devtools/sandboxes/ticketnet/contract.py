"""Ticketnet's part of the reseller contract suite: a day of sales played on the demo box office.

The contract suite (``tests/resellers/test_contract.py``) finds this module by
the reseller type's code (``devtools.sandboxes.<code>.contract``) and calls
:func:`a_day_of_sales`; every sandbox offers that function, with the same
signature, and returns a :class:`DayOfSales`.

The day, from an empty sandbox root, under ``ticketnet-exchange-v1``:

1. The organiser puts the demo concert on sale as its onboarding does, with the
   instance's settings and mappings (``include/``) and the box office's
   performances, prices and quota: OFFER batch 1 holds the concert's CATALOG
   (:func:`reseller_sync.ticketnet.offer.catalog`); Ticketnet's ACK gives its
   event and performance ids (section 7.4), with which OFFER batch 2 gives
   Ticketnet the places of its quota (ALLOCATION,
   :func:`reseller_sync.ticketnet.offer.allocation`). Ticketnet accepts both whole,
   or the day stops with :class:`SandboxError`.
2. Ticketnet sends its list of price types (PRICETYPES), then a SALES batch every
   hour at minute 10 for a few hours (section 3 point 10): one hour without a
   sale (a batch holding the header alone), one with a sale refunded within the
   hour (an outlet's error put right: the sale and its refund in one batch), and
   a last one refunding sales of an earlier batch.

The inbound files come back in the order the organiser integrates them: the
ACKs, then each batch's data files and its manifest, PRICETYPES first, SALES in
number order (section 9.1 point 4); as Ticketnet wrote them, buyer contacts
included, with every buyer value written, for the suite's privacy check. The
OFFER batches come back as sent, for the suite to journal them so that the ACKs
match them (section 9.1 point 12). The clocks follow from the box office's dates;
the same box office and ``seed`` give the same files, byte for byte. The box office
is only read; the day holds no onboarding test ticket.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from devtools.demo_boxoffice import EVENT_PRODUCT
from devtools.sandboxes.sftp import DEMO_USERNAME
from devtools.sandboxes.ticketnet import emit
from devtools.sandboxes.ticketnet.emit import SandboxError
from devtools.sandboxes.ticketnet.partner import TicketnetPartner
from devtools.sandboxes.ticketnet.people import PARIS
from reseller_sync.boxoffice.models import Performance, Product
from reseller_sync.ticketnet.ack import AckIds, parse_ack
from reseller_sync.ticketnet.identifiers import PartnerPerformances
from reseller_sync.ticketnet.manifest import parse_manifest
from reseller_sync.ticketnet.mappings import load_mappings
from reseller_sync.ticketnet.names import BatchId, FileType, Stream
from reseller_sync.ticketnet.offer import allocation, catalog, offer_batch
from reseller_sync.ticketnet.settings import TicketnetSettings, load_settings
from reseller_sync.ticketnet.writer import BuiltBatch, Records

SALES_OPEN_BEFORE = timedelta(weeks=8)
"""Sales open at Ticketnet this long before the concert's first performance, at 10:00 in
Paris."""
CATALOG_BEFORE_OPENING = timedelta(hours=2)
"""The onboarding sends the CATALOG this long before sales open."""
ACK_AFTER = timedelta(minutes=15)
"""Ticketnet answers an OFFER batch this long after it arrived (at most 30 minutes)."""
HOURS = 4
"""Hours of sales, each ended by a SALES batch at minute 10 of the next hour."""
QUIET_HOUR = 3
"""The hour without a sale: its SALES batch holds no record."""
SLIP_HOUR = 2
"""The hour when an outlet's error is put right at once: a sale refunded in its own batch."""
TICKETS_PER_HOUR = (3, 8)
"""Tickets sold in a busy hour, drawn between these bounds."""
REFUNDED_LAST_HOUR = 2
"""Tickets of earlier batches refunded in the last hour, about (whole transactions)."""
SLIP_REASON = "OUTLET_ERROR"


@dataclass(frozen=True)
class DayOfSales:
    """What a sandbox's day of sales gives the contract suite."""

    files: tuple[tuple[str, bytes], ...]
    """The inbound files, (name, bytes) as Ticketnet wrote them, in integration order: the
    ACKs (of the CATALOG's batch, then of the ALLOCATION's), then each batch's data files and
    its manifest (PRICETYPES, then SALES by number)."""
    buyer_contacts: frozenset[str]
    """Every buyer value (e-mail, phone, postcode) the files hold."""
    sent: tuple[tuple[str, bytes], ...]
    """The organiser's OFFER batches, (name, bytes) as sent: each batch's data files, then
    its manifest, in number order."""


def a_day_of_sales(root: Path, session: Session, *, seed: int) -> DayOfSales:
    """Ticketnet on the sandbox folder ``root`` (empty): the demo concert put on sale, a few
    hours of sales with refunds; ``session`` is only read."""
    settings = load_settings()
    repository = load_mappings()
    opening = _opening(session)
    clock = _Clock((opening - CATALOG_BEFORE_OPENING).astimezone(UTC))
    partner = TicketnetPartner(
        root, DEMO_USERNAME, promoter=settings.promoter_code, clock=clock, seed=seed
    )

    records = catalog(session, settings, repository, EVENT_PRODUCT, sales_open=opening)
    offered = _offer(partner, clock, settings, 1, FileType.CATALOG, records)
    performances = _partner_performances(session, offered.ids)  # as the organiser records them
    clock.advance(minutes=15)
    places = allocation(session, settings, repository, performances, EVENT_PRODUCT)
    allocated = _offer(partner, clock, settings, 2, FileType.ALLOCATION, places)

    clock.now = (opening - timedelta(minutes=20)).astimezone(UTC)
    batches = [partner.emit_pricetypes()]
    rng = random.Random(f"{seed}/day-of-sales")
    for hour in range(1, HOURS + 1):
        clock.now = (opening + timedelta(hours=hour, minutes=10)).astimezone(UTC)
        if hour == QUIET_HOUR:
            batches.append(partner.emit_sales(tickets=0))
            continue
        tickets = rng.randint(*TICKETS_PER_HOUR)
        if hour == SLIP_HOUR:
            batches.append(_sales_with_a_slip_put_right(partner, tickets))
        elif hour == HOURS:
            batches.append(partner.emit_sales(tickets=tickets, refunds=REFUNDED_LAST_HOUR))
        else:
            batches.append(partner.emit_sales(tickets=tickets))

    inbound = [offered.ack, allocated.ack]
    for batch_id in batches:
        inbound += _batch_files(partner.outbox, batch_id)
    return DayOfSales(
        files=tuple((name, (partner.outbox / name).read_bytes()) for name in inbound),
        buyer_contacts=frozenset(partner.buyer_contacts.values()),
        sent=(*_sent_files(offered.batch), *_sent_files(allocated.batch)),
    )


class _Clock:
    """Ticketnet's clock for the day: set by the story, never the wall clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def stamp(self) -> str:
        """Now as a timestamp of the contract, in Paris time (section 5)."""
        return self.now.astimezone(PARIS).isoformat(timespec="seconds")


# The organiser's OFFER batches ---------------------------------------------------------


@dataclass(frozen=True)
class _Offered:
    """An OFFER batch sent, and Ticketnet's answer accepting it."""

    batch: BuiltBatch
    ack: str
    """The ACK's name."""
    ids: tuple[AckIds, ...]
    """The event and performance ids the ACK gives (CATALOG files only)."""


def _opening(session: Session) -> datetime:
    """When sales open at Ticketnet: ``SALES_OPEN_BEFORE`` the concert's first performance,
    at 10:00 in Paris."""
    concert = session.scalar(select(Product).where(Product.code == EVENT_PRODUCT))
    if concert is None:
        raise SandboxError(f"the box office has no product {EVENT_PRODUCT}: seed the demo")
    first = session.scalar(
        select(Performance.starts_at)
        .where(Performance.product_id == concert.id, Performance.starts_at.is_not(None))
        .order_by(Performance.starts_at)
        .limit(1)
    )
    if first is None:
        raise SandboxError(f"{EVENT_PRODUCT} has no dated performance in the box office")
    return datetime.combine(first.date() - SALES_OPEN_BEFORE, time(10, 0), PARIS)


def _offer(
    partner: TicketnetPartner,
    clock: _Clock,
    settings: TicketnetSettings,
    number: int,
    file_type: FileType,
    records: Records,
) -> _Offered:
    """Send OFFER batch ``number`` holding ``records`` of ``file_type``; Ticketnet answers it
    ``ACK_AFTER`` later, accepting it whole, or :class:`SandboxError`."""
    built = offer_batch(number, settings, {file_type: records}, created_at=clock.stamp())
    built.write_to(partner.inbox)
    clock.advance(seconds=ACK_AFTER.total_seconds())
    answers = partner.process_offers()
    accepted = [answer.ack for answer in answers if answer.status == "ACCEPTED"]
    if len(answers) != 1 or len(accepted) != 1 or accepted[0] is None:
        refused = [(answer.batch, answer.status, answer.codes) for answer in answers]
        raise SandboxError(f"Ticketnet did not accept the demo's {file_type} whole: {refused}")
    name = accepted[0]
    ack = parse_ack(name, (partner.outbox / name).read_bytes())
    if ack.manifest_sha256 != built.manifest_sha256:
        raise SandboxError(f"{name} answers another manifest than the one sent")
    return _Offered(built, name, tuple(entry for file in ack.files for entry in file.ids))


def _partner_performances(session: Session, ids: tuple[AckIds, ...]) -> PartnerPerformances:
    """Ticketnet's ids of the concert's performances, as the organiser records them from the
    CATALOG's ACK (by the performance codes the CATALOG sent)."""
    codes = {
        code: performance_id
        for code, performance_id in session.execute(
            select(Performance.code, Performance.id)
            .join(Product, Product.id == Performance.product_id)
            .where(Product.code == EVENT_PRODUCT)
        )
    }
    unknown = [entry for entry in ids if entry.org_performance_code not in codes]
    if not ids or unknown:
        raise SandboxError(f"the CATALOG's ACK gives no ids of the concert's performances: {ids}")
    return PartnerPerformances.of(
        {(entry.event_id, entry.performance_id): codes[entry.org_performance_code] for entry in ids}
    )


def _sent_files(batch: BuiltBatch) -> list[tuple[str, bytes]]:
    return [*batch.files.items(), (batch.manifest.name, batch.manifest_bytes)]


# Ticketnet's batches ---------------------------------------------------------------------


def _sales_with_a_slip_put_right(partner: TicketnetPartner, tickets: int) -> str:
    """A SALES batch whose earliest sale is refunded within the same hour, whole (an outlet's
    error put right: section 9.1 point 5 applies the refund after the sale); the batch id.

    Done as :meth:`TicketnetPartner.emit_sales` does, with that one refund added, since the
    partner refunds sales of earlier batches only.
    """
    with partner._session() as (state, rng):
        created = partner._created(state)
        number = partner._number(state, Stream.SALES, None)
        records = emit.draw_sales(state, rng, tickets, created, number)
        if not records:
            raise SandboxError("Ticketnet holds nothing to sell: allocate places first")
        earliest = min(records, key=lambda record: (record["occurred_at"], record["line_id"]))
        sold = sorted(
            (
                ticket
                for ticket in state.tickets.values()
                if ticket.transaction_id == earliest["transaction_id"]
            ),
            key=lambda ticket: ticket.line_id,
        )
        records += emit.refund_records(state, rng, sold, SLIP_REASON, created)
        batch = BatchId(Stream.SALES, partner.promoter, number)
        return partner._deliver(state, batch, records, records, created, None)


def _batch_files(folder: Path, batch_id: str) -> list[str]:
    """The names of a batch's data files in processing order, then its manifest's."""
    batch = BatchId.parse(batch_id)
    if batch is None:
        raise SandboxError(f"{batch_id} is not a batch id of ticketnet-exchange-v1")
    manifest = parse_manifest(batch.manifest_name, (folder / batch.manifest_name).read_bytes())
    return [*(file.name for file in manifest.in_processing_order()), manifest.name]
