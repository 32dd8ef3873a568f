"""The sandbox playing FNAC: it answers the organiser's files and writes FNAC's own.

:class:`FnacPartner` works on the sandbox root folder directly, the very files
the SFTP server serves: it picks up ``ROOT/<user>/depot/``, moves each file
to ``depot/traites/``, answers with an ACK in ``retour/``, and on command
writes VENTES, TEST, ANNUL, CATCLI and ETATPL files there, each with the next
SEQ of its type, atomically (``.part``, then rename). Its state (see
:mod:`devtools.sandboxes.fnac.state`) is read and saved under a file lock
for each operation, so the server's loop and the CLI commands share it
safely.

Every operation is reproducible: with a ``seed``, the random draws of an
emission depend on the seed and on how many emissions drew before; the
``clock`` gives the time (each file is stamped at least a second after the
previous one, so that a later file always has a later STAMP).
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from devtools.sandboxes.fnac import emit
from devtools.sandboxes.fnac.codebook import CodeBook
from devtools.sandboxes.fnac.emit import SandboxError
from devtools.sandboxes.fnac.intake import Refusal, receive
from devtools.sandboxes.fnac.people import PARIS
from devtools.sandboxes.fnac.server import DEMO_USERNAME, prepare_home
from devtools.sandboxes.fnac.state import (
    DEFAULT_CUSTOMER_CATEGORIES,
    BuyerContacts,
    CustomerCategory,
    PartnerState,
    SentFile,
    StateStore,
)
from devtools.sandboxes.loop import BackgroundPartner
from reseller_sync.fnac.errors import FileFormatError
from reseller_sync.fnac.names import PARTIAL_SUFFIX, FileName, FileType, ack_name
from reseller_sync.fnac.writer import encode_file, write_ack

log = logging.getLogger(__name__)

DEFAULT_MANAGER = "M0427"
RETENTION = timedelta(days=30)
"""FNAC deletes its files from ``/retour/`` after 30 days (spec section 3)."""
DEFAULT_LATE_BY = timedelta(hours=3)
ACCENTED_FIRST_NAME = "Zoé"
"""Given to a ticket holder when a mis-encoded file would otherwise hold no accent to garble."""
INTAKE_ORDER = (FileType.FICHE, FileType.PLACES, FileType.DECONT)
"""A sale sheet is set up before the places of the same pickup are added, then withdrawn."""


class Fault(StrEnum):
    """What a real partner gets wrong, injected on demand into an emitted file."""

    PRICE = "price"
    """A ticket priced differently from the sale sheet (VENTES)."""
    OUTSIDE_ALLOTMENT = "outside-allotment"
    """A seat sold that FNAC does not hold (VENTES)."""
    NEW_CATEGORY = "new-category"
    """A ticket sold at a customer category the organiser was not told of (VENTES)."""
    MISSING_TICKET = "missing-ticket"
    """The last type de tarif × catégorie de client set up gets no test ticket (TEST)."""
    LATE = "late"
    """The file is stamped (and created) hours in the past."""
    SKIP = "skip"
    """The file is not written at all (the hourly VENTES that never comes)."""
    GAP = "gap"
    """A SEQ is skipped: the file takes the one after next."""
    TRUNCATED = "truncated"
    """The file is cut in its last lines: no trailer."""
    RESEND = "resend"
    """The lines of the last non-empty file of the type, again, under a new SEQ and STAMP."""
    WRONG_ENCODING = "wrong-encoding"
    """UTF-8 bytes under a header declaring CP1252."""


VENTES_FAULTS = frozenset({Fault.PRICE, Fault.OUTSIDE_ALLOTMENT, Fault.NEW_CATEGORY})
"""Faults in the lines of a VENTES file."""
TEST_FAULTS = frozenset({Fault.MISSING_TICKET})
"""Faults in the lines of a TEST file."""
CONTENT_FAULTS = VENTES_FAULTS | TEST_FAULTS
"""Faults in the lines of one type of file; the others apply to any file FNAC writes."""


@dataclass(frozen=True)
class Answered:
    """FNAC's answer to one organiser file."""

    file: str
    refusals: tuple[Refusal, ...]
    ack: str | None
    """The ACK written; None when an ACK of that name stands in ``/retour/`` already
    (the same name sent twice: FNAC never rewrites a file there)."""

    @property
    def status(self) -> str:
        return "KO" if self.refusals else "OK"

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(refusal.code for refusal in self.refusals)


Clock = Callable[[], datetime]


class FnacPartner:
    """FNAC, for the organiser ``user`` whose home is ``root/<user>``."""

    def __init__(
        self,
        root: Path | str,
        user: str = DEMO_USERNAME,
        codebook: CodeBook | None = None,
        *,
        manager: str = DEFAULT_MANAGER,
        clock: Clock | None = None,
        seed: int | None = None,
        late_by: timedelta = DEFAULT_LATE_BY,
    ) -> None:
        self.root = Path(root)
        self.user = user
        self.manager = manager
        self.seed = seed
        self.late_by = late_by
        self._codebook = codebook
        self._clock = clock or (lambda: datetime.now(UTC))
        self.home = prepare_home(self.root, user)
        self.depot = self.home / "depot"
        self.processed = self.depot / "traites"
        self.retour = self.home / "retour"
        self.store = StateStore(self.root, user)

    @property
    def codebook(self) -> CodeBook:
        """The codes FNAC gives (default: read from the project's mappings when first needed)."""
        if self._codebook is None:
            self._codebook = CodeBook.from_mappings()
        return self._codebook

    # Reading the state ---------------------------------------------------------

    def snapshot(self) -> PartnerState:
        """A copy of FNAC's state as saved now (changing it changes nothing)."""
        with self.store.locked():
            return self._load()

    @property
    def buyer_contacts(self) -> BuyerContacts:
        """Every buyer e-mail, phone and address FNAC has written in a file."""
        return self.snapshot().buyer_contacts

    def ready_for_test(self) -> list[str]:
        """Manifestations without TEST tickets yet, for which FNAC now holds places."""
        state = self.snapshot()
        held = {h.manifestation for h in state.holdings.values() if h.available > 0}
        return [
            code
            for code, manifestation in sorted(state.manifestations.items())
            if not manifestation.tested and not manifestation.withdrawn and code in held
        ]

    # The organiser's files -----------------------------------------------------

    def process_depot(self) -> list[Answered]:
        """Pick up ``/depot/`` once: check and apply each file, move it, answer with an ACK."""
        answered: list[Answered] = []
        with self.store.locked():
            state = self._load()
            self._purge(state)
            waiting = self._waiting_files()
            if not waiting:
                return answered
            for path, name in waiting:
                data = path.read_bytes()
                refusals = tuple(receive(state, self.codebook, name, data))
                self._move_to_processed(path)
                ack = self._acknowledge(state, name, refusals)
                answered.append(Answered(str(name), refusals, ack))
                log.info(
                    "FNAC answered %s: %s %s",
                    name,
                    "KO" if refusals else "OK",
                    " ".join(r.code for r in refusals),
                )
            self.store.save(state)
        return answered

    def withdraw(self, manifestation: str) -> None:
        """FNAC withdraws a manifestation from sale: a FICHE for it is refused from now on (E09)."""
        with self._session(draws=False) as (state, _):
            if manifestation not in state.manifestations:
                raise SandboxError(f"manifestation {manifestation} is not set up")
            state.manifestations[manifestation].withdrawn = True

    # FNAC's files --------------------------------------------------------------

    def emit_ventes(self, lines: int | None = None, fault: Fault | str | None = None) -> str | None:
        """The hourly VENTES: ``lines`` tickets (default: 0 to 8, drawn) from FNAC's allotment.

        Returns the file name, or None for the ``skip`` fault.
        """
        fault = _file_fault(fault, VENTES_FAULTS)
        with self._session() as (state, rng):
            if fault is Fault.SKIP:
                return None
            created = self._created(state, fault)
            if fault is Fault.RESEND:
                return self._resend(state, FileType.VENTES, created)
            wanted = lines if lines is not None else rng.randrange(0, 9)
            needs_one = fault in (
                Fault.PRICE,
                Fault.NEW_CATEGORY,
                Fault.TRUNCATED,
                Fault.WRONG_ENCODING,
            )
            records = emit.draw_sales(state, rng, max(wanted, 1 if needs_one else 0), created)
            if needs_one and not records:
                raise SandboxError("FNAC has nothing left to sell: send a FICHE and PLACES first")
            if fault is Fault.PRICE:
                emit.overprice(state, rng, rng.choice(records))
            elif fault is Fault.NEW_CATEGORY:
                emit.sell_at_new_category(state, rng.choice(records), created)
            elif fault is Fault.OUTSIDE_ALLOTMENT:
                records.append(emit.sell_outside_allotment(state, rng, created))
            elif fault is Fault.WRONG_ENCODING and all(_ascii(record) for record in records):
                records[0]["prenom_beneficiaire"] = ACCENTED_FIRST_NAME
            return self._deliver(state, FileType.VENTES, records, created, fault)

    def emit_test(self, manifestation: str, fault: Fault | str | None = None) -> str | None:
        """TEST tickets for a manifestation: one per type de tarif × catégorie de client."""
        fault = _file_fault(fault, TEST_FAULTS)
        with self._session() as (state, rng):
            if fault is Fault.SKIP:
                return None
            created = self._created(state, fault)
            if fault is Fault.RESEND:
                return self._resend(state, FileType.TEST, created)
            records = emit.draw_test_tickets(
                state, rng, manifestation, created, leave_out_last=fault is Fault.MISSING_TICKET
            )
            return self._deliver(state, FileType.TEST, records, created, fault)

    def emit_annul(
        self,
        count: int | None = None,
        motif: str | None = None,
        fault: Fault | str | None = None,
    ) -> str | None:
        """Cancel ``count`` sold tickets (default: 1 to 3, drawn), each already in a VENTES."""
        fault = _file_fault(fault)
        with self._session() as (state, rng):
            if fault is Fault.SKIP:
                return None
            created = self._created(state, fault)
            if fault is Fault.RESEND:
                return self._resend(state, FileType.ANNUL, created)
            readable = [
                sent.name
                for sent in state.sent
                if sent.type == FileType.VENTES
                and sent.readable
                and datetime.fromisoformat(sent.created) < created
            ]
            wanted = count if count is not None else rng.randint(1, 3)
            records = emit.draw_cancellations(state, rng, wanted, created, readable, motif)
            return self._deliver(state, FileType.ANNUL, records, created, fault)

    def emit_catcli(
        self,
        add: dict[str, str] | None = None,
        deactivate: tuple[str, ...] = (),
        fault: Fault | str | None = None,
    ) -> str | None:
        """The whole list of customer categories, after adding ``add`` (code → libellé)
        and deactivating ``deactivate``."""
        fault = _file_fault(fault)
        with self._session(draws=False) as (state, _):
            if fault is Fault.SKIP:
                return None
            created = self._created(state, fault)
            if fault is Fault.RESEND:
                return self._resend(state, FileType.CATCLI, created)
            stamp = created.isoformat(timespec="seconds")
            for code, label in (add or {}).items():
                state.customer_categories[str(int(code))] = CustomerCategory(label, True, stamp)
            for code in deactivate:
                category = state.customer_categories.get(str(int(code)))
                if category is None:
                    raise SandboxError(f"FNAC has no customer category {code}")
                category.actif, category.modified = False, stamp
            return self._deliver(state, FileType.CATCLI, emit.category_list(state), created, fault)

    def emit_etatpl(self, fault: Fault | str | None = None) -> str | None:
        """The nightly state of every place FNAC holds (events; passes have no places)."""
        fault = _file_fault(fault)
        with self._session(draws=False) as (state, _):
            if fault is Fault.SKIP:
                return None
            created = self._created(state, fault)
            if fault is Fault.RESEND:
                return self._resend(state, FileType.ETATPL, created)
            return self._deliver(
                state, FileType.ETATPL, emit.allotment_state(state), created, fault
            )

    # Internals -----------------------------------------------------------------

    @contextmanager
    def _session(self, *, draws: bool = True) -> Iterator[tuple[PartnerState, random.Random]]:
        """Lock, load the state, give it with this operation's random generator, save it.

        Only operations that ``draws`` count for the seeding of the next ones.
        """
        with self.store.locked():
            state = self._load()
            rng = (
                random.Random(f"{self.seed}/{state.operations}")
                if self.seed is not None
                else random.Random()
            )
            if draws:
                state.operations += 1
            yield state, rng
            self.store.save(state)

    def _load(self) -> PartnerState:
        """The saved state; a new one starts with FNAC's default customer categories."""
        state = self.store.load(self.manager)
        if not state.customer_categories:
            stamp = self._now().isoformat(timespec="seconds")
            state.customer_categories = {
                code: CustomerCategory(label, True, stamp)
                for code, label in DEFAULT_CUSTOMER_CATEGORIES.items()
            }
        return state

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the clock must give aware datetimes")
        return now.astimezone(PARIS).replace(microsecond=0)

    def _created(self, state: PartnerState, fault: Fault | None = None) -> datetime:
        """The CREATED of a new file: now, and after the previous file (or late, for the fault)."""
        created = self._now()
        if state.last_created is not None:
            created = max(
                created, datetime.fromisoformat(state.last_created) + timedelta(seconds=1)
            )
        state.last_created = created.isoformat()
        return created - self.late_by if fault is Fault.LATE else created

    def _waiting_files(self) -> list[tuple[Path, FileName]]:
        """The organiser's complete files in ``/depot/``, in processing order."""
        found = []
        for path in self.depot.iterdir():
            if not path.is_file() or path.name.endswith(PARTIAL_SUFFIX):
                continue
            try:
                name = FileName.parse(path.name)
            except FileFormatError:
                name = None
            if name is None or name.type not in INTAKE_ORDER:
                log.warning("FNAC ignores %s: not an organiser file of the contract", path.name)
                self._move_to_processed(path)
                continue
            found.append((path, name))
        found.sort(key=lambda item: (INTAKE_ORDER.index(item[1].type), item[1].seq, item[0].name))
        return found

    def _move_to_processed(self, path: Path) -> None:
        """Move to ``/depot/traites/``; a name already there keeps its first file."""
        target = self.processed / path.name
        if target.exists():
            path.unlink()
        else:
            os.replace(path, target)

    def _acknowledge(
        self, state: PartnerState, name: FileName, refusals: tuple[Refusal, ...]
    ) -> str | None:
        ack = str(ack_name(name))
        if (self.retour / ack).exists():
            log.warning("FNAC does not answer %s again: %s stands in /retour/", name, ack)
            return None
        if refusals:
            records: list[dict[str, Any]] = [
                {
                    "fichier": str(name),
                    "statut": "KO",
                    "ligne": r.line,
                    "code_erreur": r.code,
                    "message": r.message,
                }
                for r in refusals
            ]
        else:
            records = [
                {"fichier": str(name), "statut": "OK", "ligne": 0, "message": "Fichier intégré"}
            ]
        created = self._created(state)
        _, data = write_ack(name, records, created=created)
        self._publish(ack, data)
        state.sent.append(SentFile(ack, FileType.ACK, created.isoformat(), len(records)))
        return ack

    def _deliver(
        self,
        state: PartnerState,
        file_type: FileType,
        records: list[dict[str, Any]],
        created: datetime,
        fault: Fault | None,
    ) -> str:
        """Number, write (with a file-level fault) and publish a file; keep FNAC's copy."""
        seq = state.next_seq(file_type, skip=1 if fault is Fault.GAP else 0)
        name = FileName.build(file_type, self.manager, seq, created)
        data = encode_file(name, records, created=created)
        self.store.keep_copy(str(name), data)
        if fault is Fault.TRUNCATED:
            data = _truncated(data)
        elif fault is Fault.WRONG_ENCODING:
            data = _declared_cp1252(encode_file(name, records, created=created, encoding="UTF-8"))
        self._publish(str(name), data)
        state.sent.append(
            SentFile(
                str(name),
                file_type,
                created.isoformat(),
                len(records),
                fault.value if fault else None,
            )
        )
        if file_type in (FileType.VENTES, FileType.TEST):
            for record in records:
                state.tickets[record["id_billet"]].files.append(str(name))
        return str(name)

    def _resend(self, state: PartnerState, file_type: FileType, created: datetime) -> str:
        """The lines of the last non-empty file of the type, under a new SEQ and STAMP."""
        source = next(
            (sent for sent in reversed(state.sent) if sent.type == file_type and sent.count),
            None,
        )
        if source is None:
            raise SandboxError(f"FNAC has sent no {file_type} file with lines to send again")
        original = self.store.copy_of(source.name)
        header_end = original.index(b"\r\n", original.index(b"\r\n") + 2) + 2
        trailer_start = original.rindex(b"\r\n", 0, len(original) - 2) + 2
        count, control = original[trailer_start:-2].decode("ascii").split(";")[2:]
        seq = state.next_seq(file_type)
        name = FileName.build(file_type, self.manager, seq, created)
        header = (
            f"ENTETE;{file_type};1;{self.manager};{name.seq_text};"
            f"{created.isoformat(timespec='seconds')};CP1252\r\n"
        )
        columns = original[original.index(b"\r\n") + 2 : header_end]
        trailer = f"FIN;{name.seq_text};{count};{control}\r\n"
        data = (
            header.encode("ascii")
            + columns
            + original[header_end:trailer_start]
            + trailer.encode("ascii")
        )
        self.store.keep_copy(str(name), data)
        self._publish(str(name), data)
        state.sent.append(
            SentFile(str(name), file_type, created.isoformat(), source.count, Fault.RESEND.value)
        )
        for ticket in state.tickets.values():
            if source.name in ticket.files:
                ticket.files.append(str(name))
        return str(name)

    def _publish(self, name: str, data: bytes) -> None:
        """Write into ``/retour/`` as FNAC does: ``NAME.part``, then rename."""
        partial = self.retour / f"{name}{PARTIAL_SUFFIX}"
        partial.write_bytes(data)
        os.replace(partial, self.retour / name)

    def _purge(self, state: PartnerState) -> None:
        """Delete FNAC's files older than 30 days from ``/retour/``."""
        horizon = self._now() - RETENTION
        for sent in state.sent:
            if datetime.fromisoformat(sent.created) < horizon:
                (self.retour / sent.name).unlink(missing_ok=True)


def _file_fault(
    fault: Fault | str | None, content_faults: frozenset[Fault] = frozenset()
) -> Fault | None:
    """A fault for a type of file: any file-level fault, or one of its ``content_faults``."""
    fault = Fault(fault) if fault else None
    if fault in CONTENT_FAULTS - content_faults:
        concerned = "VENTES" if fault in VENTES_FAULTS else "TEST"
        raise SandboxError(f"the {fault} fault concerns {concerned} files only")
    return fault


def _ascii(record: dict[str, Any]) -> bool:
    return all(not isinstance(value, str) or value.isascii() for value in record.values())


def _truncated(data: bytes) -> bytes:
    """The file cut in the middle of its last line before the trailer."""
    trailer_start = data.rindex(b"\r\n", 0, len(data) - 2) + 2
    return data[: max(trailer_start - 12, data.index(b"\r\n") + 2)]


def _declared_cp1252(data: bytes) -> bytes:
    """A file written in UTF-8 whose header claims CP1252."""
    header_end = data.index(b"\r\n")
    header = data[:header_end].replace(b";UTF-8", b";CP1252")
    if data[header_end:].isascii():
        raise SandboxError("the file holds no accented letter: a wrong encoding would not show")
    return header + data[header_end:]


class PartnerLoop(BackgroundPartner):
    """FNAC at work in the background: picks up ``/depot/`` every ``interval`` seconds.

    With ``ventes_every`` it also writes a VENTES file that often (the
    spec's hourly file, sped up for the demo); with ``auto_test`` it sends
    TEST tickets for each new manifestation once it holds places for it, with
    ``test_fault`` if given.
    """

    name = "fnac-partner"

    def __init__(
        self,
        partner: FnacPartner,
        interval: float = 5.0,
        *,
        ventes_every: float | None = None,
        auto_test: bool = False,
        test_fault: Fault | str | None = None,
    ) -> None:
        super().__init__(interval, ventes_every)
        self.partner = partner
        self.auto_test = auto_test
        self.test_fault = _file_fault(test_fault, TEST_FAULTS)

    def run_once(self, *, emission_due: bool = False) -> None:
        """One round: pick up the depot, then TEST and VENTES files when due."""
        self.partner.process_depot()
        if self.auto_test:
            for code in self.partner.ready_for_test():
                sent = self.partner.emit_test(code, self.test_fault)
                log.info("FNAC sends test tickets: %s", sent)
        if emission_due:
            log.info("FNAC sends its sales: %s", self.partner.emit_ventes())
