"""The sandbox playing Ticketnet: it answers the organiser's batches and writes its own.

:class:`TicketnetPartner` works on the sandbox root folder directly, the very
files the SFTP server serves (``ticketnet-exchange-v1`` section 3):

- :meth:`~TicketnetPartner.process_offers` picks up the ``OFFER`` batches of
  ``/to_ticketnet/`` in number order once their manifest exists, answers each
  with an ACK in ``/from_ticketnet/`` (``.tmp`` then rename), then moves the
  batch to ``/archive/to_ticketnet/``, data files first, manifest last;
- on command it writes ``SALES`` (sales, refunds, onboarding test tickets and
  their refunds, or nothing: the hourly batch is written even when empty),
  ``PRICETYPES`` and ``INVENTORY`` batches in ``/from_ticketnet/``, each with
  the next number of its stream: data files first, manifest last, each by
  ``.tmp`` and rename;
- each of those takes a :class:`Fault` by name, the faults the organiser's
  reading codes name (section 10.2), and :meth:`~TicketnetPartner.replace_batch`
  replaces a batch as section 3 point 8 says, with Ticketnet's intact copy.

Its state (:mod:`devtools.sandboxes.ticketnet.state`) is read and saved under
a file lock for each operation, so the server's loop and the CLI commands
share it safely. With a ``seed``, the random draws of an operation depend on
the seed and on how many operations drew before; the ``clock`` gives the
time (each batch is stamped at least a second after the previous one).
"""

from __future__ import annotations

import copy
import dataclasses
import gzip
import logging
import os
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from devtools.sandboxes.loop import BackgroundPartner
from devtools.sandboxes.sftp import DEMO_USERNAME
from devtools.sandboxes.ticketnet import emit
from devtools.sandboxes.ticketnet.emit import Record, SandboxError
from devtools.sandboxes.ticketnet.intake import answer_offer, rejected
from devtools.sandboxes.ticketnet.people import PARIS
from devtools.sandboxes.ticketnet.server import (
    ARCHIVE_FROM_TICKETNET,
    ARCHIVE_TO_TICKETNET,
    FROM_TICKETNET,
    TO_TICKETNET,
    prepare_home,
)
from devtools.sandboxes.ticketnet.state import (
    DEFAULT_PRICE_TYPES,
    Answer,
    BuyerContacts,
    PartnerState,
    PriceType,
    SentBatch,
    StateStore,
    Ticket,
)
from devtools.sandboxes.ticketnet.venues import VenueBook
from reseller_sync.ticketnet.ack import Ack
from reseller_sync.ticketnet.errors import Code
from reseller_sync.ticketnet.manifest import Manifest, sha256_hex
from reseller_sync.ticketnet.names import BatchId, FileName, FileType, NameKind, Stream
from reseller_sync.ticketnet.reader import FolderSource
from reseller_sync.ticketnet.schema import column_names
from reseller_sync.ticketnet.writer import BuiltBatch, build_batch

log = logging.getLogger(__name__)

DEFAULT_PROMOTER = "PR04127"
TMP_SUFFIX = ".tmp"


class Fault(StrEnum):
    """What a real partner gets wrong, injected on demand (section 10.2 names each)."""

    MISSING_FILE = "missing-file"
    """R02: the manifest lists a data file that is not uploaded."""
    SHA256 = "sha256"
    """R03: a data file is uploaded again (another gzip header) after its manifest was made."""
    RECORD_COUNT = "record-count"
    """R04: the manifest gives one record more than a data file holds."""
    UNLISTED_FILE = "unlisted-file"
    """R05: a data file of the batch that the manifest does not list."""
    SYNTAX = "syntax"
    """R06: a data file with CR LF line ends (its checksum listed right)."""
    TRUNCATED_GZIP = "truncated-gzip"
    """R06: a data file cut in the middle of its gzip stream (its checksum listed right)."""
    GAP = "gap"
    """R07 once a later batch arrives: the batch takes the number after next."""
    WITHHOLD_MANIFEST = "withhold-manifest"
    """R07 once a later batch arrives: the data files are uploaded, the manifest held back
    until :meth:`TicketnetPartner.release_withheld`."""
    REUSED_NUMBER = "reused-number"
    """R08: new content under the number of the stream's last batch."""
    MANIFEST_FIRST = "manifest-first"
    """R02 until :meth:`TicketnetPartner.release_withheld`: the manifest is uploaded, its data
    files held back."""
    CURRENCY = "currency"
    """R09: a SALE record in USD."""
    UNKNOWN_REFUND = "unknown-refund"
    """R14: a REFUND of a sale record never sent."""
    DOUBLE_REFUND = "double-refund"
    """R15: a second REFUND of a sale record already refunded."""
    REPEATED_RECORD = "repeated-record"
    """R16: a record of an earlier batch again, with another attendee name."""
    PRICE = "price"
    """R17: a SALE record one euro above the CATALOG price."""
    REUSED_BARCODE = "reused-barcode"
    """R18: a SALE record with the barcode of an earlier sale."""
    REFUND_MISMATCH = "refund-mismatch"
    """R19: a REFUND record that does not repeat its sale's price type."""
    CONTINUED_TRANSACTION = "continued-transaction"
    """R20: a new line of a sale transaction sent in an earlier batch."""
    INCONSISTENT_INVENTORY = "inconsistent-inventory"
    """R21: an INVENTORY record whose available is not allocated − sold."""
    UNREADABLE_ACK = "unreadable-ack"
    """R22: the next ACK is cut in the middle of its JSON."""
    TECHNICAL_ERROR = "technical-error"
    """Z99 in the ACK: the next OFFER batch is answered REJECTED, nothing applied."""


FAULT_CODES: dict[Fault, Code] = {
    Fault.MISSING_FILE: Code.R02,
    Fault.SHA256: Code.R03,
    Fault.RECORD_COUNT: Code.R04,
    Fault.UNLISTED_FILE: Code.R05,
    Fault.SYNTAX: Code.R06,
    Fault.TRUNCATED_GZIP: Code.R06,
    Fault.GAP: Code.R07,
    Fault.WITHHOLD_MANIFEST: Code.R07,
    Fault.REUSED_NUMBER: Code.R08,
    Fault.MANIFEST_FIRST: Code.R02,
    Fault.CURRENCY: Code.R09,
    Fault.UNKNOWN_REFUND: Code.R14,
    Fault.DOUBLE_REFUND: Code.R15,
    Fault.REPEATED_RECORD: Code.R16,
    Fault.PRICE: Code.R17,
    Fault.REUSED_BARCODE: Code.R18,
    Fault.REFUND_MISMATCH: Code.R19,
    Fault.CONTINUED_TRANSACTION: Code.R20,
    Fault.INCONSISTENT_INVENTORY: Code.R21,
    Fault.UNREADABLE_ACK: Code.R22,
    Fault.TECHNICAL_ERROR: Code.Z99,
}
"""The code each fault gives: at the organiser reading it, or in the ACK (``Z99``)."""

BATCH_FAULTS = frozenset(
    {
        Fault.MISSING_FILE,
        Fault.SHA256,
        Fault.RECORD_COUNT,
        Fault.UNLISTED_FILE,
        Fault.SYNTAX,
        Fault.TRUNCATED_GZIP,
        Fault.GAP,
        Fault.WITHHOLD_MANIFEST,
        Fault.REUSED_NUMBER,
        Fault.MANIFEST_FIRST,
    }
)
"""Faults of any batch Ticketnet writes."""
SALES_FAULTS = frozenset(
    {
        Fault.CURRENCY,
        Fault.UNKNOWN_REFUND,
        Fault.DOUBLE_REFUND,
        Fault.REPEATED_RECORD,
        Fault.PRICE,
        Fault.REUSED_BARCODE,
        Fault.REFUND_MISMATCH,
        Fault.CONTINUED_TRANSACTION,
    }
)
"""Faults in the records of a SALES batch."""
INVENTORY_FAULTS = frozenset({Fault.INCONSISTENT_INVENTORY})
ACK_FAULTS = frozenset({Fault.UNREADABLE_ACK, Fault.TECHNICAL_ERROR})
"""Faults of the next ACK (:meth:`TicketnetPartner.process_offers`)."""
UNREPLACEABLE = frozenset({Fault.GAP, Fault.REUSED_NUMBER})
"""Faults in a batch's number: replacing the batch under its number cannot mend them."""


@dataclass(frozen=True)
class Answered:
    """Ticketnet's answer to one ``OFFER`` batch."""

    batch: str
    status: str
    """``ACCEPTED``, ``PARTIAL``, ``REJECTED``, or ``IGNORED`` (a repeated identical manifest)."""
    codes: tuple[str, ...]
    ack: str | None
    """The ACK written in ``/from_ticketnet/`` (None when ignored)."""


Clock = Callable[[], datetime]


class TicketnetPartner:
    """Ticketnet, for the organiser ``user`` whose home is ``root/<user>``."""

    def __init__(
        self,
        root: Path | str,
        user: str = DEMO_USERNAME,
        venues: VenueBook | None = None,
        *,
        promoter: str = DEFAULT_PROMOTER,
        clock: Clock | None = None,
        seed: int | None = None,
    ) -> None:
        self.root = Path(root)
        self.user = user
        self.promoter = promoter
        self.seed = seed
        self.venues = venues or VenueBook.default()
        self._clock = clock or (lambda: datetime.now(UTC))
        self.home = prepare_home(self.root, user)
        self.inbox = self.home / TO_TICKETNET
        self.outbox = self.home / FROM_TICKETNET
        self.inbox_archive = self.home / ARCHIVE_TO_TICKETNET
        self.outbox_archive = self.home / ARCHIVE_FROM_TICKETNET
        self.store = StateStore(self.root, user)
        self._ignored: set[str] = set()

    # Reading the state ---------------------------------------------------------------

    def snapshot(self) -> PartnerState:
        """A copy of Ticketnet's state as saved now (changing it changes nothing)."""
        with self.store.locked():
            return self._load()

    @property
    def buyer_contacts(self) -> BuyerContacts:
        """Every buyer e-mail, phone and postcode Ticketnet has written in a file."""
        return self.snapshot().buyer_contacts

    def untested(self) -> list[str]:
        """Performances (``event_id/performance_id``) without test tickets yet, with places."""
        return emit.untested(self.snapshot())

    # The organiser's batches ---------------------------------------------------------

    def process_offers(self, fault: Fault | str | None = None) -> list[Answered]:
        """Answer the ``OFFER`` batches waiting in ``/to_ticketnet/`` (section 9.2).

        ``fault`` (``unreadable-ack`` or ``technical-error``) concerns the first ACK written.
        """
        fault = _fault(fault, ACK_FAULTS, "an ACK")
        answered: list[Answered] = []
        with self.store.locked():
            state = self._load()
            manifests = self._waiting_manifests()
            expected = state.last_offer + 1
            if not any(n <= expected for n in manifests):
                return answered  # a round with nothing to answer draws nothing
            rng = self._random(state)
            for number in sorted(n for n in manifests if n < expected):
                answered.append(self._answer_repeat(state, manifests.pop(number)))
            while expected in manifests:
                answer = self._answer(state, rng, manifests.pop(expected), fault)
                answered.append(answer)
                fault = None
                expected += 1
            if manifests:
                log.info("Ticketnet waits for OFFER batch %d", expected)
            self.store.save(state)
        return answered

    def _waiting_manifests(self) -> dict[int, BatchId]:
        manifests: dict[int, BatchId] = {}
        for path in sorted(self.inbox.iterdir()):
            parsed = FileName.parse(path.name)
            if parsed is None or parsed.kind is not NameKind.MANIFEST:
                continue
            if parsed.batch.stream is not Stream.OFFER or parsed.batch.promoter != self.promoter:
                if path.name not in self._ignored:
                    self._ignored.add(path.name)
                    log.warning(
                        "Ticketnet ignores %s: not an OFFER batch of %s", path.name, self.promoter
                    )
                continue
            manifests[parsed.batch.number] = parsed.batch
        return manifests

    def _answer(
        self, state: PartnerState, rng: random.Random, batch: BatchId, fault: Fault | None
    ) -> Answered:
        manifest_bytes = (self.inbox / batch.manifest_name).read_bytes()
        processed_at = self._stamp(self._created(state))
        if fault is Fault.TECHNICAL_ERROR:
            ack = rejected(
                batch,
                manifest_bytes,
                Code.Z99,
                ("Erreur technique chez Ticketnet : renvoyez le contenu", None, None),
                processed_at,
            )
        else:
            ack = answer_offer(
                state,
                self.venues,
                FolderSource(self.inbox),
                batch,
                manifest_bytes,
                processed_at=processed_at,
                new_event_id=lambda: f"{rng.getrandbits(64):016X}",
            )
        self._write_ack(ack, truncated=fault is Fault.UNREADABLE_ACK)
        state.answered[str(batch.number)] = Answer(ack.manifest_sha256, ack.status.value, ack.name)
        self._archive_offer(batch)
        codes = _codes(ack)
        log.info("Ticketnet answered %s: %s %s", batch, ack.status, " ".join(codes))
        return Answered(str(batch), ack.status.value, codes, ack.name)

    def _answer_repeat(self, state: PartnerState, batch: BatchId) -> Answered:
        """A number already processed: ignored if the very manifest, else ``B07``."""
        manifest_bytes = (self.inbox / batch.manifest_name).read_bytes()
        previous = state.answered[str(batch.number)]
        if sha256_hex(manifest_bytes) == previous.manifest_sha256:
            log.info("Ticketnet ignores %s: the manifest already processed, again", batch)
            self._archive_offer(batch)
            return Answered(str(batch), "IGNORED", (), None)
        ack = rejected(
            batch,
            manifest_bytes,
            Code.B07,
            (f"batch number {batch.number} was already processed", batch.manifest_name, None),
            self._stamp(self._created(state)),
        )
        self._write_ack(ack)
        self._archive_offer(batch)
        log.info("Ticketnet answered %s: REJECTED B07", batch)
        return Answered(str(batch), ack.status.value, _codes(ack), ack.name)

    def _write_ack(self, ack: Ack, *, truncated: bool = False) -> None:
        data = ack.encode()
        self._publish(ack.name, data[: len(data) // 2] if truncated else data)

    def _archive_offer(self, batch: BatchId) -> None:
        """Move the batch's files to ``/archive/to_ticketnet/``: data files first, manifest last."""
        prefix = f"{batch}."
        names = sorted(
            p.name
            for p in self.inbox.iterdir()
            if p.name.startswith(prefix)
            and not p.name.endswith(TMP_SUFFIX)
            and p.name != batch.manifest_name
        )
        for name in [*names, batch.manifest_name]:
            os.replace(self.inbox / name, self.inbox_archive / name)

    # Ticketnet's batches -------------------------------------------------------------

    def emit_sales(
        self,
        tickets: int | None = None,
        refunds: int = 0,
        reason: str | None = None,
        fault: Fault | str | None = None,
    ) -> str:
        """A SALES batch: ``tickets`` sold (default 0 to 8, drawn) and about ``refunds``
        tickets of earlier batches refunded, whole transactions (``reason``, default drawn).

        Returns the batch id.
        """
        fault = _fault(fault, BATCH_FAULTS | SALES_FAULTS, "a SALES batch")
        with self._session() as (state, rng):
            created = self._created(state)
            number = self._number(state, Stream.SALES, fault)
            refunded_before = [t for t in state.tickets.values() if t.refunded_by is not None]
            earlier = [t for t in state.tickets.values() if not t.test and t.batch < number]
            wanted = tickets if tickets is not None else rng.randrange(0, 9)
            if fault in (Fault.CURRENCY, Fault.PRICE, Fault.REUSED_BARCODE):
                wanted = max(wanted, 1)
            records = emit.draw_sales(state, rng, wanted, created, number)
            if fault in (Fault.REFUND_MISMATCH,):
                refunds = max(refunds, 1)
            records += emit.draw_refunds(state, rng, refunds, created, number, reason)
            faulty = _sales_fault(state, rng, records, fault, created, refunded_before, earlier)
            return self._deliver(
                state, BatchId(Stream.SALES, self.promoter, number), faulty, records, created, fault
            )

    def emit_tests(self, performance: str | None = None, fault: Fault | str | None = None) -> str:
        """A SALES batch of onboarding test tickets, one per price level × price type of the
        CATALOG, for ``performance`` (``event_id/performance_id``) or every untested one."""
        fault = _fault(fault, BATCH_FAULTS, "a SALES batch of test tickets")
        with self._session() as (state, rng):
            keys = [performance] if performance else emit.untested(state)
            if not keys:
                raise SandboxError("no performance waits for its test tickets")
            created = self._created(state)
            number = self._number(state, Stream.SALES, fault)
            records = emit.draw_tests(state, rng, created, number, keys)
            batch = BatchId(Stream.SALES, self.promoter, number)
            return self._deliver(state, batch, records, records, created, fault)

    def emit_test_refunds(self, fault: Fault | str | None = None) -> str:
        """A SALES batch refunding every test ticket not refunded yet (reason ``TEST``)."""
        fault = _fault(fault, BATCH_FAULTS, "a SALES batch of test refunds")
        with self._session() as (state, rng):
            created = self._created(state)
            number = self._number(state, Stream.SALES, fault)
            records = emit.draw_test_refunds(state, rng, created)
            if not records:
                raise SandboxError("no test ticket waits for its refund")
            batch = BatchId(Stream.SALES, self.promoter, number)
            return self._deliver(state, batch, records, records, created, fault)

    def emit_pricetypes(
        self,
        add: Mapping[str, str] | None = None,
        deactivate: Sequence[str] = (),
        fault: Fault | str | None = None,
    ) -> str:
        """A PRICETYPES batch: the whole list, after adding ``add`` (code → label) and
        deactivating ``deactivate``."""
        fault = _fault(fault, BATCH_FAULTS, "a PRICETYPES batch")
        with self._session(draws=False) as (state, _):
            created = self._created(state)
            for code, label in (add or {}).items():
                state.price_types[code] = PriceType(label, True, self._stamp(created))
            for code in deactivate:
                known = state.price_types.get(code)
                if known is None:
                    raise SandboxError(f"Ticketnet has no price type {code}")
                known.active, known.modified_at = False, self._stamp(created)
            number = self._number(state, Stream.PRICETYPES, fault)
            records = emit.price_type_records(state)
            batch = BatchId(Stream.PRICETYPES, self.promoter, number)
            return self._deliver(state, batch, records, records, created, fault)

    def emit_inventory(self, fault: Fault | str | None = None) -> str:
        """An INVENTORY batch (with SEATS), as of the last SALES batch sent (section 7.3)."""
        fault = _fault(fault, BATCH_FAULTS | INVENTORY_FAULTS, "an INVENTORY batch")
        with self._session(draws=False) as (state, _):
            created = self._created(state)
            number = self._number(state, Stream.INVENTORY, fault)
            inventory, seats = emit.inventory_records(state, self._stamp(created))
            faulty = inventory
            if fault is Fault.INCONSISTENT_INVENTORY:
                if not inventory:
                    raise SandboxError("Ticketnet holds nothing: the INVENTORY has no record")
                faulty = copy.deepcopy(inventory)
                faulty[0]["available"] = str(int(faulty[0]["available"]) + 1)
            batch = BatchId(Stream.INVENTORY, self.promoter, number)
            return self._deliver(
                state,
                batch,
                {FileType.INVENTORY: faulty, FileType.SEATS: seats},
                {FileType.INVENTORY: inventory, FileType.SEATS: seats},
                created,
                fault,
                sales_batch=state.numbers.get(Stream.SALES.value, 0),
            )

    def release_withheld(self, batch_id: str | None = None) -> list[str]:
        """Upload the files held back by ``withhold-manifest`` or ``manifest-first``
        (of ``batch_id``, or of every batch), in their upload order; their names."""
        uploaded: list[str] = []
        with self._session(draws=False) as (state, _):
            for sent in state.sent:
                if not sent.withheld or batch_id not in (None, sent.batch_id):
                    continue
                pending = self.store.kept(sent.batch_id, "pending")
                for name in sent.withheld:
                    self._publish(name, pending[name])
                    uploaded.append(name)
                sent.withheld = []
                self.store.forget(sent.batch_id, "pending")
        return uploaded

    def replace_batch(self, batch_id: str) -> str:
        """Replace a batch the organiser has not applied with Ticketnet's intact copy
        (section 3 point 8): delete its manifest, replace its data files (``.tmp`` and
        rename) and delete the others, upload the manifest. Returns the batch id."""
        with self._session(draws=False) as (state, _):
            sent = state.sent_batch(batch_id)
            batch = BatchId.parse(batch_id)
            if sent is None or batch is None:
                raise SandboxError(f"Ticketnet sent no batch {batch_id}")
            if sent.fault in UNREPLACEABLE:
                raise SandboxError(
                    f"{batch_id} has a fault in its number ({sent.fault}): replacing it under "
                    "the same number mends nothing"
                )
            if (self.outbox_archive / batch.manifest_name).exists():
                raise SandboxError(f"the organiser has applied {batch_id}: it is never replaced")
            intact = self.store.kept(batch_id, "intact")
            manifest_bytes = intact.pop(batch.manifest_name)
            (self.outbox / batch.manifest_name).unlink(missing_ok=True)
            for name, data in intact.items():
                self._publish(name, data)
            for path in self.outbox.iterdir():
                parsed = FileName.parse(path.name)
                if (
                    parsed is not None
                    and parsed.kind is NameKind.DATA
                    and parsed.batch == batch
                    and path.name not in intact
                ):
                    path.unlink()
            self._publish(batch.manifest_name, manifest_bytes)
            sent.withheld = []
            self.store.forget(batch_id, "pending")
            sent.replaced += 1
            sent.manifest_sha256 = sha256_hex(manifest_bytes)
            log.info("Ticketnet replaced %s", batch_id)
        return batch_id

    # Internals -----------------------------------------------------------------------

    @contextmanager
    def _session(self, *, draws: bool = True) -> Iterator[tuple[PartnerState, random.Random]]:
        """Lock, load the state, give it with this operation's random generator, save it.

        Only operations that ``draws`` count for the seeding of the next ones. Nothing is
        saved when the operation fails.
        """
        with self.store.locked():
            state = self._load()
            rng = self._random(state) if draws else random.Random(self.seed)
            yield state, rng
            self.store.save(state)

    def _random(self, state: PartnerState) -> random.Random:
        """The random generator of a new operation that draws; counts the operation."""
        rng = (
            random.Random(f"{self.seed}/{state.operations}")
            if self.seed is not None
            else random.Random()
        )
        state.operations += 1
        return rng

    def _load(self) -> PartnerState:
        """The saved state; a new one starts with Ticketnet's price types at set-up."""

        def fresh() -> PartnerState:
            stamp = self._stamp(self._now())
            return PartnerState(
                promoter=self.promoter,
                price_types={
                    code: PriceType(label, True, stamp)
                    for code, label in DEFAULT_PRICE_TYPES.items()
                },
            )

        return self.store.load(fresh)

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the clock must give aware datetimes")
        return now.astimezone(PARIS).replace(microsecond=0)

    @staticmethod
    def _stamp(moment: datetime) -> str:
        return moment.isoformat(timespec="seconds")

    def _created(self, state: PartnerState) -> datetime:
        """Now, and at least a second after the previous file written."""
        created = self._now()
        if state.last_created is not None:
            created = max(
                created, datetime.fromisoformat(state.last_created) + timedelta(seconds=1)
            )
        state.last_created = created.isoformat()
        return created

    def _number(self, state: PartnerState, stream: Stream, fault: Fault | None) -> int:
        last = state.numbers.get(stream.value, 0)
        if fault is Fault.REUSED_NUMBER:
            if last == 0:
                raise SandboxError(f"Ticketnet has sent no {stream} batch whose number to reuse")
            return last
        number = last + (2 if fault is Fault.GAP else 1)
        state.numbers[stream.value] = number
        return number

    def _deliver(
        self,
        state: PartnerState,
        batch: BatchId,
        records: list[Record] | Mapping[FileType, list[Record]],
        intact_records: list[Record] | Mapping[FileType, list[Record]],
        created: datetime,
        fault: Fault | None,
        *,
        sales_batch: int | None = None,
    ) -> str:
        """Build, keep Ticketnet's intact copy of, fault and upload a batch; its id."""
        created_at = self._stamp(created)
        intact = _build(batch, intact_records, created_at, sales_batch)
        built = (
            intact if records is intact_records else _build(batch, records, created_at, sales_batch)
        )
        self.store.forget(str(batch), "intact")
        for name, data in intact.files.items():
            self.store.keep(str(batch), "intact", name, data)
        self.store.keep(str(batch), "intact", intact.manifest.name, intact.manifest_bytes)
        files, manifest, extra = _batch_fault(batch, built, fault)
        manifest_bytes = manifest.encode()
        uploads = [*files.items(), *extra.items(), (manifest.name, manifest_bytes)]
        withheld: list[str] = []
        if fault is Fault.MANIFEST_FIRST:
            uploads = [uploads[-1], *uploads[:-1]]
        for position, (name, data) in enumerate(uploads):
            held = (fault is Fault.WITHHOLD_MANIFEST and name == manifest.name) or (
                fault is Fault.MANIFEST_FIRST and position > 0
            )
            if held:
                self.store.keep(str(batch), "pending", name, data)
                withheld.append(name)
            else:
                self._publish(name, data)
        state.sent.append(
            SentBatch(
                str(batch),
                batch.stream.value,
                batch.number,
                created_at,
                sum(f.records for f in intact.manifest.files),
                sha256_hex(manifest_bytes),
                fault.value if fault else None,
                withheld,
            )
        )
        log.info(
            "Ticketnet wrote %s (%d records)%s",
            batch,
            sum(f.records for f in manifest.files),
            f" with the fault {fault}" if fault else "",
        )
        return str(batch)

    def _publish(self, name: str, data: bytes) -> None:
        """Write into ``/from_ticketnet/`` as Ticketnet does: ``NAME.tmp``, then rename."""
        temporary = self.outbox / f"{name}{TMP_SUFFIX}"
        temporary.write_bytes(data)
        os.replace(temporary, self.outbox / name)


def _fault(fault: Fault | str | None, allowed: frozenset[Fault], what: str) -> Fault | None:
    if not fault:
        return None
    fault = Fault(fault)
    if fault not in allowed:
        raise SandboxError(f"the {fault} fault does not concern {what}")
    return fault


def _codes(ack: Ack) -> tuple[str, ...]:
    if ack.error is not None:
        return (ack.error.code.value,)
    return tuple(e.code.value for f in ack.files for e in f.errors)


def _columns(file_type: FileType, records: list[Record]) -> dict[str, list[Any]]:
    return {name: [r.get(name, "") for r in records] for name in column_names(file_type)}


def _build(
    batch: BatchId,
    records: list[Record] | Mapping[FileType, list[Record]],
    created_at: str,
    sales_batch: int | None,
) -> BuiltBatch:
    if isinstance(records, list):
        (file_type,) = {
            Stream.SALES: (FileType.TRANSACTIONS,),
            Stream.PRICETYPES: (FileType.PRICETYPES,),
        }[batch.stream]
        records = {file_type: records}
    return build_batch(
        batch,
        {file_type: _columns(file_type, rows) for file_type, rows in records.items()},
        created_at=created_at,
        sales_batch=sales_batch,
    )


def _batch_fault(
    batch: BatchId, built: BuiltBatch, fault: Fault | None
) -> tuple[dict[str, bytes], Manifest, dict[str, bytes]]:
    """The data files, manifest and extra (unlisted) files to upload for ``fault``."""
    files = dict(built.files)
    manifest = built.manifest
    first = manifest.files[0]
    extra: dict[str, bytes] = {}

    def relisted(data: bytes, **changes: Any) -> Manifest:
        entry = dataclasses.replace(first, sha256=sha256_hex(data), **changes)
        return dataclasses.replace(manifest, files=(entry, *manifest.files[1:]))

    if fault is Fault.MISSING_FILE:
        del files[first.name]
    elif fault is Fault.SHA256:
        files[first.name] = _with_mtime(files[first.name])
    elif fault is Fault.RECORD_COUNT:
        manifest = relisted(files[first.name], records=first.records + 1)
    elif fault is Fault.UNLISTED_FILE:
        parts = [f.part for f in manifest.files if f.type is first.type]
        extra[batch.data_file_name(first.type, max(parts) + 1)] = files[first.name]
    elif fault is Fault.SYNTAX:
        text = gzip.decompress(files[first.name]).replace(b"\n", b"\r\n")
        files[first.name] = gzip.compress(text, mtime=0)
        manifest = relisted(files[first.name])
    elif fault is Fault.TRUNCATED_GZIP:
        data = files[first.name]
        files[first.name] = data[: max(18, len(data) // 2)]
        manifest = relisted(files[first.name])
    return files, manifest, extra


def _with_mtime(data: bytes) -> bytes:
    """The same gzip member with another MTIME in its header: same content, other bytes."""
    mtime = (int.from_bytes(data[4:8], "little") + 86_400) % 2**32
    return data[:4] + mtime.to_bytes(4, "little") + data[8:]


def _sales_fault(
    state: PartnerState,
    rng: random.Random,
    records: list[Record],
    fault: Fault | None,
    created: datetime,
    refunded_before: list[Ticket],
    earlier: list[Ticket],
) -> list[Record]:
    """The records of a SALES batch with a fault in its records; ``records`` when none.

    Each fault alters a record or adds one that changes nothing in the state, so the
    intact batch (``records``) stays what Ticketnet holds.
    """
    if fault not in SALES_FAULTS:
        return records
    faulty = copy.deepcopy(records)
    sales = [r for r in faulty if r["type"] == "SALE"]
    refunds = [r for r in faulty if r["type"] == "REFUND"]
    occurred = emit.stamp(created.replace(minute=0, second=0) - timedelta(minutes=5))
    if fault is Fault.CURRENCY:
        _need(sales, "nothing left to sell: allocate places first")[0]["currency"] = "USD"
    elif fault is Fault.PRICE:
        sale = _need(sales, "nothing left to sell: allocate places first")[0]
        sale["amount"] = str(Decimal(sale["amount"]) + 1)
    elif fault is Fault.REUSED_BARCODE:
        sale = _need(sales, "nothing left to sell: allocate places first")[0]
        sale["barcode"] = _need(earlier, "no earlier sale whose barcode to reuse")[0].barcode
    elif fault is Fault.REFUND_MISMATCH:
        refund = _need(refunds, "no sale of an earlier batch to refund")[0]
        others = sorted(set(state.price_types) - {refund["price_type"]})
        refund["price_type"] = others[0]
    elif fault is Fault.UNKNOWN_REFUND:
        known = _need([*earlier, *state.tickets.values()], "no sale to model the refund on")
        ghost = dataclasses.replace(
            known[0], transaction_id=f"TX0000000000-{state.next_counter('transaction') % 10000:04d}"
        )
        faulty.append(_refund(state, ghost, occurred))
    elif fault is Fault.DOUBLE_REFUND:
        ticket = _need(refunded_before, "no sale refunded in an earlier batch")[0]
        faulty.append(_refund(state, ticket, occurred))
    elif fault is Fault.REPEATED_RECORD:
        ticket = _need(earlier, "no sale of an earlier batch to repeat")[0]
        repeated = _sale_of(ticket)
        repeated["attendee_first_name"] = "Autre" + repeated["attendee_first_name"]
        faulty.append(repeated)
    elif fault is Fault.CONTINUED_TRANSACTION:
        ticket = _need(earlier, "no sale of an earlier batch to continue")[0]
        lines = [
            t.line_id for t in state.tickets.values() if t.transaction_id == ticket.transaction_id
        ]
        continued = _sale_of(ticket)
        continued.update(
            line_id=str(max(lines) + 1),
            barcode=f"{emit.BARCODE_PREFIX}{state.next_counter('barcode'):012d}",
        )
        faulty.append(continued)
    return faulty


def _need(items: Sequence[Any], why: str) -> Sequence[Any]:
    if not items:
        raise SandboxError(f"cannot inject the fault: {why}")
    return items


def _refund(state: PartnerState, ticket: Ticket, occurred_at: str) -> Record:
    transaction_id = f"RF{datetime.fromisoformat(occurred_at):%y%m%d%H%M}-" + (
        f"{state.next_counter('transaction') % 10000:04d}"
    )
    return emit.refund_of(
        ticket,
        transaction_id,
        1,
        "TEST" if ticket.test else "CUSTOMER",
        datetime.fromisoformat(occurred_at),
    )


def _sale_of(ticket: Ticket) -> Record:
    """The SALE record ``ticket`` was sent as (its buyer columns empty)."""
    record = dict.fromkeys(column_names(FileType.TRANSACTIONS), "")
    for name in record:
        if hasattr(ticket, name):
            record[name] = getattr(ticket, name)
    record.update(
        line_id=str(ticket.line_id),
        type="SALE",
        currency="EUR",
        test="true" if ticket.test else "false",
    )
    return record


class PartnerLoop(BackgroundPartner):
    """Ticketnet at work in the background: picks up ``/to_ticketnet/`` every ``interval``
    seconds; with ``sales_every``, writes a SALES batch that often (the hourly batch, sped
    up); with ``auto_test``, sells test tickets for each new performance it holds places of.
    """

    name = "ticketnet-partner"

    def __init__(
        self,
        partner: TicketnetPartner,
        interval: float = 5.0,
        *,
        sales_every: float | None = None,
        auto_test: bool = False,
    ) -> None:
        super().__init__(interval, sales_every)
        self.partner = partner
        self.auto_test = auto_test

    def run_once(self, *, emission_due: bool = False) -> None:
        """One round: answer ``/to_ticketnet/``, then test tickets and sales when due."""
        self.partner.process_offers()
        if self.auto_test and self.partner.untested():
            log.info("Ticketnet sells test tickets: %s", self.partner.emit_tests())
        if emission_due:
            log.info("Ticketnet sends its sales: %s", self.partner.emit_sales())
