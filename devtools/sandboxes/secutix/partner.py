"""The sandbox playing a SecuTix box office as reseller (``secutix-reseller-v1``).

:class:`SecutixPartner` works on the sandbox root folder directly, the very files
the SFTP server serves (section 3):

- :meth:`~SecutixPartner.pickup` takes the organiser's OFFER, CONTINGENT and
  WITHDRAW files of ``/to_reseller/`` in file number order, whatever their type,
  each once its control file exists (``.part`` uploads and other names ignored; a
  file whose predecessor is missing waits), applies them
  (:mod:`devtools.sandboxes.secutix.intake`), answers each with ``RESULT_<n>`` in
  ``/to_organiser/`` and moves it to ``/to_reseller/done/``, data file first;
- :meth:`~SecutixPartner.act` plays the customers (orders, printing, cancellations,
  refunds, new beneficiaries: :mod:`devtools.sandboxes.secutix.emit`);
  :meth:`~SecutixPartner.write_tickets` writes the next ``TICKETS_<n>`` (section
  7.1: the tickets changed since the previous file, the header alone when none);
  :meth:`~SecutixPartner.tick` does both, as every 15 minutes;
- :meth:`~SecutixPartner.write_stock` writes ``STOCK_<YYYYMMDD>`` (section 7.3);
- every file is uploaded as the reseller does: the data file under ``.part`` then
  renamed, then its control file the same way; each takes a :class:`Fault` by name,
  and :meth:`~SecutixPartner.replace` replaces a file as section 3 point 7 says, with
  the reseller's intact copy.

The state (:mod:`devtools.sandboxes.secutix.state`) is read and saved under a file
lock for each operation, so the server's loop and the CLI commands share it. With a
``seed``, an operation's random draws depend on the seed and on how many drawing
operations came before; the ``clock`` gives the time (the tests drive it).
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from devtools.sandboxes.loop import BackgroundPartner
from devtools.sandboxes.secutix import emit
from devtools.sandboxes.secutix.emit import SandboxError, stamp
from devtools.sandboxes.secutix.faults import (
    EARLIER_TICKET_FAULTS,
    NEW_TICKET_FAULTS,
    RESULT_FAULTS,
    STOCK_FAULTS,
    TICKETS_FAULTS,
    UNREPLACEABLE,
    Fault,
    as_fault,
    faulty_result,
    faulty_stock,
    faulty_tickets,
    file_fault,
)
from devtools.sandboxes.secutix.files import Row, build, control_bytes
from devtools.sandboxes.secutix.intake import MESSAGES, answer_file, ko
from devtools.sandboxes.secutix.people import LOCAL_TIME
from devtools.sandboxes.secutix.server import (
    TO_ORGANISER,
    TO_ORGANISER_DONE,
    TO_RESELLER,
    TO_RESELLER_DONE,
    prepare_home,
)
from devtools.sandboxes.secutix.state import PartnerState, SentFile, StateStore
from devtools.sandboxes.secutix.venues import VenuePlan, default_plans
from devtools.sandboxes.sftp import DEMO_USERNAME
from reseller_sync.secutix.errors import Code
from reseller_sync.secutix.names import (
    ORGANISER_SEQUENCE,
    PARTIAL_SUFFIX,
    FileName,
    FileType,
    NameKind,
)
from reseller_sync.secutix.reader import sha256_hex

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
STOCK_TIME = time(2, 30)
"""The nightly STOCK is due from 02:30, the reseller's local time (section 3 point 6)."""
TICK = timedelta(minutes=15)

_FORCE_SALE = (NEW_TICKET_FAULTS - {Fault.OLD_ORDER}) | {
    Fault.DUPLICATE_BARCODE,
    Fault.UNKNOWN_STATE,
    Fault.KIND_COLUMNS,
    Fault.FILE_NUMBER,
    Fault.REUSED_NUMBER,
}
"""Faults that need a new ticket in the file: the customers buy one order first."""


@dataclass(frozen=True)
class Answered:
    """The reseller's answer to one organiser file."""

    file: str
    result: str
    status: str
    """``OK`` (every line applied), ``PARTIAL`` (some refused) or ``REFUSED`` (line 0)."""
    codes: tuple[str, ...]


class SecutixPartner:
    """The SecuTix reseller, for the organiser ``user`` whose home is ``root/<user>``."""

    def __init__(
        self,
        root: Path | str,
        user: str = DEMO_USERNAME,
        plans: Mapping[str, VenuePlan] | None = None,
        *,
        clock: Clock | None = None,
        seed: int | None = None,
    ) -> None:
        self.root = Path(root)
        self.user = user
        self.seed = seed
        self.plans = dict(plans) if plans is not None else default_plans()
        self._clock = clock or (lambda: datetime.now(UTC))
        self.home = prepare_home(self.root, user)
        self.inbox = self.home / TO_RESELLER
        self.inbox_done = self.home / TO_RESELLER_DONE
        self.outbox = self.home / TO_ORGANISER
        self.outbox_done = self.home / TO_ORGANISER_DONE
        self.store = StateStore(self.root, user)

    # Reading the state ---------------------------------------------------------------

    def snapshot(self) -> PartnerState:
        """A copy of the reseller's state as saved now (changing it changes nothing)."""
        with self.store.locked():
            return self.store.load(PartnerState)

    def contact_values(self) -> list[str]:
        """Every ``CONTACT_*`` value of the tickets sold: none may reach the organiser's
        store, logs or reports (section 11)."""
        values = set()
        for ticket in self.snapshot().tickets.values():
            for value in (
                ticket.contact_number,
                ticket.contact_email,
                ticket.contact_phone,
                ticket.contact_address,
            ):
                if value:
                    values.add(value)
        return sorted(values)

    def stock_due(self) -> bool:
        """Whether tonight's STOCK is due: 02:30 passed and today's not written."""
        now = self._now()
        name = str(FileName.stock(now.date()))
        return now.time() >= STOCK_TIME and self.snapshot().sent_file(name) is None

    # The organiser's files -----------------------------------------------------------

    def pickup(self, fault: Fault | str | None = None) -> list[Answered]:
        """Answer the organiser's files waiting in ``/to_reseller/`` (section 9.2).

        ``fault`` concerns the first RESULT written (``technical-error``: X99)."""
        fault = as_fault(fault, RESULT_FAULTS, "a RESULT")
        answered: list[Answered] = []
        with self._session(draws=False) as (state, _):
            waiting = self._waiting()
            for number in sorted(n for n in waiting if n <= state.last_processed):
                answered.append(self._answer(state, waiting.pop(number), fault))
                fault = None
            expected = state.last_processed + 1
            while expected in waiting:
                answered.append(self._answer(state, waiting.pop(expected), fault))
                fault = None
                expected += 1
            if waiting:
                log.info("The reseller waits for the organiser's file %d", expected)
            if fault is not None:
                raise SandboxError("no organiser file waits in /to_reseller/ to answer")
        return answered

    def _waiting(self) -> dict[int, FileName]:
        """The organiser's data files whose control file exists, by number."""
        waiting: dict[int, FileName] = {}
        for path in sorted(self.inbox.iterdir()):
            name = FileName.parse(path.name)
            if (
                name is None
                or name.partial
                or name.kind is not NameKind.CONTROL
                or name.type not in ORGANISER_SEQUENCE
            ):
                continue
            if (self.inbox / str(name.data)).is_file():
                waiting[name.key] = name.data
        return waiting

    def _answer(self, state: PartnerState, name: FileName, fault: Fault | None) -> Answered:
        data = (self.inbox / str(name)).read_bytes()
        control = (self.inbox / str(name.control)).read_bytes()
        if fault is Fault.TECHNICAL_ERROR:
            rows = [ko(0, Code.X99, MESSAGES[Code.X99])]
        else:
            rows = answer_file(state, self.plans, name, data, control)
        result = FileName.numbered(FileType.RESULT, name.key)
        self._deliver(state, result, rows, faulty_result(rows, fault), fault)
        codes = tuple(row["ERROR_CODE"] for row in rows if row["STATUS"] == "KO")
        status = "REFUSED" if rows[:1] and rows[0]["LINE_NUMBER"] == "0" else "OK"
        if status == "OK" and codes:
            status = "PARTIAL"
        if name.key > state.last_processed:
            state.last_processed = name.key
            state.results[str(name.key)] = codes[0] if status == "REFUSED" else status
        for moved in (name, name.control):
            os.replace(self.inbox / str(moved), self.inbox_done / str(moved))
        log.info("The reseller answered %s: %s %s", name, status, " ".join(codes))
        return Answered(str(name), str(result), status, codes)

    # The customers -------------------------------------------------------------------

    def act(
        self,
        *,
        orders: int | None = None,
        prints: int | None = None,
        cancellations: int | None = None,
        refunds: int | None = None,
        renames: int | None = None,
    ) -> int:
        """The customers at work since the last tick (each count drawn when not given);
        how many tickets changed."""
        with self._session() as (state, rng):
            return self._act(state, rng, orders, prints, cancellations, refunds, renames)

    def _act(
        self,
        state: PartnerState,
        rng: random.Random,
        orders: int | None,
        prints: int | None,
        cancellations: int | None,
        refunds: int | None,
        renames: int | None,
    ) -> int:
        drawn = (
            rng.choices((0, 1, 2, 3), weights=(30, 35, 20, 15))[0],
            rng.choices((0, 1, 2), weights=(50, 35, 15))[0],
            int(rng.random() < 0.15),
            int(rng.random() < 0.15),
            int(rng.random() < 0.15),
        )
        counts = [
            given if given is not None else draw
            for given, draw in zip(
                (orders, prints, cancellations, refunds, renames), drawn, strict=True
            )
        ]
        moments = iter(self._moments(state, rng, sum(counts)))
        changed = 0
        for _ in range(counts[0]):
            at = next(moments)
            choices = emit.offerable(state, at)
            if not choices:
                break
            changed += len(emit.sell_order(state, rng, at, choices))
        for action, count in zip(
            (emit.print_order, emit.cancel_order, emit.refund_order, emit.rename),
            counts[1:],
            strict=True,
        ):
            for _ in range(count):
                changed += len(action(state, rng, next(moments)))
        return changed

    def open_the_sale(self, product: str) -> tuple[str, list[str]]:
        """The opening of ``product``'s sale (section 10.1): one real ticket per seat
        category × tariff on sale with unsold places, each an order of its own, then the
        next TICKETS file. Its name and the barcodes sold (none when nothing is on sale).

        The tickets are sold a second apart, the last a second before now: raises
        :class:`SandboxError` (nothing sold) when a pair's sale opened too recently for
        that, rather than leave it unsold."""
        with self._session() as (state, rng):
            pairs = sorted(
                {
                    (group.seatcat, price.tariff)
                    for group in emit.offerable(state, self._now())
                    if group.product == product
                    for price in group.tariffs
                }
            )
            moments = self._last_seconds(state, len(pairs))
            chosen = []
            for (seatcat, tariff), at in zip(pairs, moments, strict=True):
                groups = [
                    group
                    for group in emit.offerable(state, at)
                    if (group.product, group.seatcat) == (product, seatcat)
                    and any(price.tariff == tariff for price in group.tariffs)
                ]
                if not groups:
                    raise SandboxError(
                        f"the sale of {product} opened too recently to sell its "
                        f"{len(pairs)} opening tickets a second apart ({seatcat} {tariff} is "
                        f"not on sale at {stamp(at)} yet): nothing sold, try again in "
                        f"{len(pairs)} s"
                    )
                chosen.append((groups[:1], tariff, at))
            sold: list[str] = []
            for groups, tariff, at in chosen:
                [ticket] = emit.sell_order(state, rng, at, groups, size=1, tariff=tariff)
                sold.append(ticket.barcode)
            return self._write_tickets(state, rng, None), sold

    def refund_tickets(self, barcodes: list[str]) -> str:
        """``barcodes`` refunded, each at its whole price (the opening tickets, say), then
        the next TICKETS file; its name."""
        with self._session() as (state, rng):
            for barcode, at in zip(barcodes, self._last_seconds(state, len(barcodes)), strict=True):
                emit.refund_whole(state.tickets[barcode], at)
            return self._write_tickets(state, rng, None)

    def _last_seconds(self, state: PartnerState, count: int) -> list[datetime]:
        """``count`` instants a second apart, the last a second before now (a sale opened
        just before is open by then), each a second at least after the previous customer
        action."""
        now = self._now().replace(microsecond=0)
        previous = datetime.fromisoformat(state.last_event_at) if state.last_event_at else None
        moments = []
        for back in range(count, 0, -1):
            moment = now - timedelta(seconds=back)
            if previous is not None and moment <= previous:
                moment = previous + timedelta(seconds=1)
            moments.append(moment)
            previous = moment
        if previous is not None:
            state.last_event_at = stamp(previous)
        return moments

    def _moments(self, state: PartnerState, rng: random.Random, count: int) -> list[datetime]:
        """``count`` instants since the last tick, in order, each a second at least after the
        previous customer action."""
        now = self._now()
        start = datetime.fromisoformat(state.last_tick_at) if state.last_tick_at else now - TICK
        span = max(1, int((now - start).total_seconds()))
        drawn = sorted(start + timedelta(seconds=rng.randint(1, span)) for _ in range(count))
        previous = datetime.fromisoformat(state.last_event_at) if state.last_event_at else None
        moments = []
        for moment in drawn:
            if previous is not None and moment <= previous:
                moment = previous + timedelta(seconds=1)
            moments.append(moment)
            previous = moment
        if previous is not None:
            state.last_event_at = stamp(previous)
        return moments

    # The reseller's files ------------------------------------------------------------

    def tick(
        self,
        *,
        orders: int | None = None,
        prints: int | None = None,
        cancellations: int | None = None,
        refunds: int | None = None,
        renames: int | None = None,
        fault: Fault | str | None = None,
    ) -> str:
        """Fifteen minutes of the reseller: the customers act, then the TICKETS file is
        written. Its name."""
        fault = as_fault(fault, TICKETS_FAULTS, "a TICKETS file")
        with self._session() as (state, rng):
            self._act(state, rng, orders, prints, cancellations, refunds, renames)
            return self._write_tickets(state, rng, fault)

    def write_tickets(self, fault: Fault | str | None = None) -> str:
        """The next TICKETS file, the customers idle (section 7.1). Its name."""
        fault = as_fault(fault, TICKETS_FAULTS, "a TICKETS file")
        with self._session() as (state, rng):
            return self._write_tickets(state, rng, fault)

    def _write_tickets(self, state: PartnerState, rng: random.Random, fault: Fault | None) -> str:
        self._prepare(state, rng, fault)
        number = self._number(state, fault)
        tickets = emit.pending_tickets(state)
        rows = [emit.ticket_row(state, t, number) for t in tickets]
        earlier = [
            emit.ticket_row(state, t, number)
            for t in sorted(state.tickets.values(), key=lambda t: t.barcode)
            if t.first_file and not t.pending
        ]
        new = {t.barcode for t in tickets if not t.first_file}
        faulty = faulty_tickets(rows, fault, new=new, earlier=earlier)
        name = FileName.numbered(FileType.TICKETS, number)
        self._deliver(state, name, rows, faulty, fault)
        for ticket in tickets:
            ticket.pending = False
            ticket.reported_state = ticket.state
            ticket.first_file = ticket.first_file or number
        state.last_tick_at = stamp(self._now())
        return str(name)

    def _prepare(self, state: PartnerState, rng: random.Random, fault: Fault | None) -> None:
        """Customer actions a fault needs, done for real (the intact file holds them)."""
        if fault is None:
            return
        pending = emit.pending_tickets(state)
        at = self._moments(state, rng, 3)
        if fault is Fault.OLD_ORDER:
            if not state.last_tickets:
                raise SandboxError("cannot inject the fault: no TICKETS file written yet")
            currencies = {t.currency for t in state.tickets.values() if t.first_file}
            choices = [
                o
                for o in emit.offerable(state, at[0])
                if state.products[o.product].currency in currencies
            ]
            emit.sell_order(state, rng, at[0], choices)
        elif fault in _FORCE_SALE and not any(not t.first_file for t in pending):
            emit.sell_order(state, rng, at[0], emit.offerable(state, at[0]))
        elif fault in (Fault.UNKNOWN_SEAT, Fault.SEAT_TWICE):
            for moment in at[:2]:
                seated = [o for o in emit.offerable(state, moment) if o.seated]
                if seated:
                    emit.sell_order(state, rng, moment, seated, size=2)
        elif fault is Fault.REFUND_ABOVE_PRICE and not any(t.state == "REFUNDED" for t in pending):
            if all(t.state == "REFUNDED" for t in state.tickets.values()):
                emit.sell_order(state, rng, at[0], emit.offerable(state, at[0]))
            emit.refund_order(state, rng, at[1])
        elif fault in EARLIER_TICKET_FAULTS and not state.last_tickets:
            raise SandboxError("cannot inject the fault: no TICKETS file written yet")

    def _number(self, state: PartnerState, fault: Fault | None) -> int:
        last = state.last_tickets
        if fault is Fault.REUSED_NUMBER:
            if last == 0:
                raise SandboxError("the reseller has written no TICKETS file whose number to reuse")
            return last
        state.last_tickets = last + (2 if fault is Fault.GAP else 1)
        return state.last_tickets

    def write_stock(self, fault: Fault | str | None = None) -> str:
        """Tonight's STOCK file (section 7.3), as of the last TICKETS file: the tickets
        changed since are first written in a TICKETS file. Its name."""
        fault = as_fault(fault, STOCK_FAULTS, "a STOCK file")
        with self._session(draws=False) as (state, rng):
            now = self._now()
            name = FileName.stock(now.date())
            if state.sent_file(str(name)) is not None:
                raise SandboxError(f"{name} is written already: a name is never reused")
            if emit.pending_tickets(state):
                self._write_tickets(state, rng, None)
            rows = emit.stock_rows(state, state.last_tickets, stamp(now))
            self._deliver(state, name, rows, faulty_stock(rows, fault), fault)
            return str(name)

    def write_orphan_result(self) -> str:
        """A RESULT answering no file the organiser sent (``result-unknown-file``, T23)."""
        with self._session(draws=False) as (state, _):
            name = FileName.numbered(FileType.RESULT, state.last_processed + 1000)
            rows: list[Row] = [{"LINE_NUMBER": "1", "STATUS": "OK"}]
            self._deliver(state, name, rows, rows, Fault.RESULT_UNKNOWN_FILE)
            return str(name)

    def release(self, name: str | None = None) -> list[str]:
        """Upload the control files held back by ``withhold-control`` (of ``name``, or all)."""
        uploaded: list[str] = []
        with self._session(draws=False) as (state, _):
            for sent in state.sent:
                if not sent.withheld or name not in (None, sent.name):
                    continue
                for held in sent.withheld:
                    data = self.store.kept("pending", held)
                    assert data is not None
                    self._publish(held, data)
                    self.store.forget("pending", held)
                    uploaded.append(held)
                sent.withheld = []
        return uploaded

    def replace(self, name: str) -> str:
        """Replace a TICKETS, STOCK or RESULT file the organiser has not applied with the
        reseller's intact copy (section 3 point 7): delete the control file, upload the data
        file by ``.part`` and rename, upload the control file."""
        with self._session(draws=False) as (state, _):
            sent = state.sent_file(name)
            parsed = FileName.parse(name)
            intact = self.store.kept("intact", name)
            if sent is None or parsed is None or intact is None:
                raise SandboxError(f"the reseller wrote no file {name}")
            if sent.fault in UNREPLACEABLE:
                raise SandboxError(f"{name} has the fault {sent.fault}: replacing it mends nothing")
            if (self.outbox_done / name).exists():
                raise SandboxError(f"the organiser has applied {name}: it is never replaced")
            control = str(parsed.control)
            (self.outbox / control).unlink(missing_ok=True)
            self._publish(name, intact)
            self._publish(control, control_bytes(name, sent.lines, sha256_hex(intact)))
            sent.sha256 = sha256_hex(intact)
            sent.replaced += 1
            log.info("The reseller replaced %s", name)
            return name

    # Internals -----------------------------------------------------------------------

    @contextmanager
    def _session(self, *, draws: bool = True) -> Iterator[tuple[PartnerState, random.Random]]:
        """Lock, load the state, give it with this operation's random generator, save it
        (nothing is saved when the operation fails). Only operations that ``draws`` count
        for the seeding of the next ones."""
        with self.store.locked():
            state = self.store.load(PartnerState)
            rng = random.Random(f"{self.seed}/{state.operations}")
            if self.seed is None:
                rng = random.Random()
            if draws:
                state.operations += 1
            yield state, rng
            self.store.save(state)

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the clock must give aware datetimes")
        return now.astimezone(LOCAL_TIME).replace(microsecond=0)

    def _deliver(
        self,
        state: PartnerState,
        name: FileName,
        intact_rows: list[Row],
        rows: list[Row],
        fault: Fault | None,
    ) -> None:
        """Build, keep the intact copy of, fault and upload a data file and its control file."""
        intact = build(name, intact_rows)
        if fault is not Fault.REUSED_NUMBER:
            self.store.keep("intact", str(name), intact.data)
        built = intact if rows is intact_rows else build(name, rows)
        data, control = file_fault(name, built.data, built.lines, fault)
        control_name = str(name.control)
        (self.outbox / control_name).unlink(missing_ok=True)  # an F03 answered again
        self._publish(str(name), data)
        withheld = []
        if fault is Fault.WITHHOLD_CONTROL:
            self.store.keep("pending", control_name, control)
            withheld.append(control_name)
        else:
            self._publish(control_name, control)
        state.sent.append(
            SentFile(
                str(name),
                name.type.value,
                intact.lines,
                sha256_hex(data),
                fault.value if fault else None,
                withheld,
            )
        )
        log.info(
            "The reseller wrote %s (%d lines)%s",
            name,
            built.lines,
            f" with the fault {fault}" if fault else "",
        )

    def _publish(self, name: str, data: bytes) -> None:
        """Upload into ``/to_organiser/`` as section 3 point 3 says: ``NAME.part``, renamed."""
        temporary = self.outbox / f"{name}{PARTIAL_SUFFIX}"
        temporary.write_bytes(data)
        os.replace(temporary, self.outbox / name)


class PartnerLoop(BackgroundPartner):
    """The reseller at work in the background: picks up ``/to_reseller/`` every ``interval``
    seconds; with ``tickets_every``, a tick (customers, then a TICKETS file) that often
    (every 15 minutes, sped up); the STOCK file once its time has come each night."""

    name = "secutix-partner"

    def __init__(
        self,
        partner: SecutixPartner,
        interval: float = 5.0,
        *,
        tickets_every: float | None = None,
        stock: bool = True,
    ) -> None:
        super().__init__(interval, tickets_every)
        self.partner = partner
        self.stock = stock

    def run_once(self, *, emission_due: bool = False) -> None:
        self.partner.pickup()
        if emission_due:
            log.info("The reseller writes %s", self.partner.tick())
        if self.stock and self.partner.stock_due():
            log.info("The reseller writes %s", self.partner.write_stock())
