"""What Ticketnet knows, kept in a JSON file next to the organiser's home.

Ticketnet's side of the sandbox lives in ``ROOT/.ticketnet/<user>/``, outside
the organiser's chroot (``ROOT/<user>/``), so the organiser never sees it:

- ``state.json``: the :class:`PartnerState` (events and performances with
  their price tables, the allocation, the tickets sold, the batches sent and
  the ``OFFER`` batches answered...);
- ``batches/<BATCH_ID>/``: Ticketnet's own intact copy of each batch it
  wrote (what it uploads to replace a batch, section 3 point 8), and the
  files it holds back for a fault (``pending/``);
- ``lock``: the file lock held while a command or the server's loop reads,
  changes and saves the state, so that they never race.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from devtools.sandboxes.statefile import JsonStateFile

STATE_FOLDER = ".ticketnet"
STATE_VERSION = 1

DEFAULT_PRICE_TYPES: dict[str, str] = {
    "ADULT": "Plein tarif",
    "CHILD": "Enfant (moins de 12 ans)",
    "REDUCED": "Tarif réduit",
    "CE": "Comité d'entreprise",
    "CSE": "CSE",
    "SENIOR": "Senior (65 ans et plus)",
}
"""Ticketnet's price types at set-up (section 7.2)."""


@dataclass
class PriceType:
    label: str
    active: bool
    modified_at: str


@dataclass
class Event:
    org_event_code: str
    event_id: str
    performances: dict[str, str] = field(default_factory=dict)
    """``org_performance_code`` → ``performance_id``."""


@dataclass
class Performance:
    event_id: str
    performance_id: str
    org_event_code: str
    org_performance_code: str
    event_name: str
    event_kind: str
    starts_at: str
    venue_code: str
    venue_name: str
    city: str
    sale_starts_at: str
    sale_ends_at: str
    prices: dict[str, dict[str, str]] = field(default_factory=dict)
    """Price level → price type → amount (``68.50``): the last CATALOG's price table."""
    price_level_names: dict[str, str] = field(default_factory=dict)
    tested: bool = False
    """Whether Ticketnet has sold its onboarding test tickets."""

    @property
    def key(self) -> str:
        return performance_key(self.event_id, self.performance_id)


def performance_key(event_id: str, performance_id: str) -> str:
    return f"{event_id}/{performance_id}"


@dataclass
class SeatHolding:
    """A seat of the allocation."""

    event_id: str
    performance_id: str
    section: str
    row: str
    seat: str
    price_level: str
    sold: bool = False


def seat_key(event_id: str, performance_id: str, section: str, row: str, seat: str) -> str:
    return f"{event_id}|{performance_id}|{section}|{row}|{seat}"


@dataclass
class AreaHolding:
    """The places of one standing area in the allocation."""

    event_id: str
    performance_id: str
    area: str
    price_level: str
    allocated: int = 0
    sold: int = 0

    @property
    def available(self) -> int:
        return self.allocated - self.sold


def area_key(event_id: str, performance_id: str, area: str) -> str:
    return f"{event_id}|{performance_id}|{area}"


@dataclass
class Ticket:
    """A SALE record Ticketnet wrote (buyer values are not kept here: see BuyerContacts)."""

    transaction_id: str
    line_id: int
    event_id: str
    performance_id: str
    section: str
    row: str
    seat: str
    area: str
    price_level: str
    price_type: str
    amount: str
    fees: str
    barcode: str
    attendee_first_name: str
    attendee_last_name: str
    outlet_id: str
    outlet_name: str
    occurred_at: str
    test: bool
    batch: int
    """The SALES batch that carried it."""
    refunded_by: str | None = None
    """``transaction_id/line_id`` of its REFUND record."""

    @property
    def key(self) -> str:
        return ticket_key(self.transaction_id, self.line_id)


def ticket_key(transaction_id: str, line_id: int) -> str:
    return f"{transaction_id}/{line_id}"


@dataclass
class SentBatch:
    """A batch Ticketnet wrote in ``/from_ticketnet/``."""

    batch_id: str
    stream: str
    number: int
    created_at: str
    records: int
    manifest_sha256: str
    fault: str | None = None
    withheld: list[str] = field(default_factory=list)
    """Names written to disk but not yet uploaded (faults ``withhold-manifest``,
    ``manifest-first``), in upload order."""
    replaced: int = 0
    """How many times the batch was replaced (section 3 point 8)."""


@dataclass
class Answer:
    """An ``OFFER`` batch Ticketnet answered."""

    manifest_sha256: str
    status: str
    ack: str


@dataclass
class BuyerContacts:
    """Every buyer value Ticketnet wrote, for privacy tests to search the system for."""

    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    postcodes: list[str] = field(default_factory=list)

    def add(self, email: str, phone: str, postcode: str) -> None:
        for values, value in (
            (self.emails, email),
            (self.phones, phone),
            (self.postcodes, postcode),
        ):
            if value and value not in values:
                values.append(value)

    def values(self) -> list[str]:
        return [*self.emails, *self.phones, *self.postcodes]


@dataclass
class PartnerState:
    promoter: str
    version: int = STATE_VERSION
    operations: int = 0
    """Operations that drew so far: seeds the random generator of the next one."""
    last_created: str | None = None
    """``created_at`` of the last file written: the next one is at least a second later."""
    counters: dict[str, int] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    """Stream → the number of the last batch sent."""
    answered: dict[str, Answer] = field(default_factory=dict)
    """``OFFER`` batch number (text) → Ticketnet's answer."""
    price_types: dict[str, PriceType] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)
    """``org_event_code`` → event."""
    performances: dict[str, Performance] = field(default_factory=dict)
    """``event_id/performance_id`` → performance."""
    seats: dict[str, SeatHolding] = field(default_factory=dict)
    areas: dict[str, AreaHolding] = field(default_factory=dict)
    inventory_keys: list[str] = field(default_factory=list)
    """``event|performance|price level|section|area`` of every group ever allocated: the
    INVENTORY keeps reporting it (section 7.3)."""
    tickets: dict[str, Ticket] = field(default_factory=dict)
    sent: list[SentBatch] = field(default_factory=list)
    buyer_contacts: BuyerContacts = field(default_factory=BuyerContacts)

    def next_counter(self, name: str) -> int:
        self.counters[name] = self.counters.get(name, 0) + 1
        return self.counters[name]

    @property
    def last_offer(self) -> int:
        """The number of the last ``OFFER`` batch answered (0 when none)."""
        return max((int(number) for number in self.answered), default=0)

    def sent_batch(self, batch_id: str) -> SentBatch | None:
        return next((s for s in reversed(self.sent) if s.batch_id == batch_id), None)


class StateStore(JsonStateFile[PartnerState]):
    """The state file of one organiser, its lock, and Ticketnet's copies of its batches."""

    def __init__(self, root: Path, user: str) -> None:
        super().__init__(Path(root) / STATE_FOLDER / user, PartnerState)
        self.batches = self.folder / "batches"

    def keep(self, batch_id: str, kind: str, name: str, data: bytes) -> None:
        """Keep ``data`` as ``batches/<batch_id>/<kind>/<name>`` (``intact`` or ``pending``)."""
        folder = self.batches / batch_id / kind
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)

    def kept(self, batch_id: str, kind: str) -> dict[str, bytes]:
        folder = self.batches / batch_id / kind
        if not folder.is_dir():
            return {}
        return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}

    def forget(self, batch_id: str, kind: str) -> None:
        shutil.rmtree(self.batches / batch_id / kind, ignore_errors=True)
