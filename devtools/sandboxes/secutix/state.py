"""What the SecuTix reseller knows, kept in a JSON file next to the organiser's home.

The reseller's side of the sandbox lives in ``ROOT/.secutix/<user>/``, outside
the organiser's chroot (``ROOT/<user>/``), so the organiser never sees it:

- ``state.json``: the :class:`PartnerState`: the products, performances and
  prices of the OFFER files applied, the contingent, the tickets, the files
  sent and the organiser's files processed;
- ``files/intact/<NAME>``: the reseller's own intact copy of each data file it
  wrote (what it uploads to replace a file, ``secutix-reseller-v1`` section 3
  point 7), and ``files/pending/<NAME>`` the files a fault holds back;
- ``lock``: held while a command or the server's loop reads, changes and saves
  the state (:class:`~devtools.sandboxes.statefile.JsonStateFile`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from devtools.sandboxes.statefile import JsonStateFile
from reseller_sync.secutix.states import TicketState

STATE_FOLDER = ".secutix"
STATE_VERSION = 1


@dataclass
class Product:
    """A product's columns from the latest OFFER line applied (section 8.1)."""

    code: str
    name: str
    kind: str
    venue: str
    city: str
    country: str
    currency: str
    validity_start: str = ""
    validity_end: str = ""


@dataclass
class Price:
    """One price, keyed on product × performance × seat category × tariff (section 8.1)."""

    product: str
    performance: str
    seatcat: str
    seatcat_name: str
    tariff: str
    tariff_name: str
    price: int
    sales_start: str
    sales_end: str
    on_sale: bool


def price_key(product: str, performance: str, seatcat: str, tariff: str) -> str:
    return f"{product}|{performance}|{seatcat}|{tariff}"


@dataclass
class Holding:
    """Places of the contingent: a seat (``given`` 0 or 1), a free-placement block, or the
    places of a pass at one seat category (``seat`` empty)."""

    product: str
    performance: str
    seatcat: str
    seat: str
    given: int = 0

    @property
    def is_seat(self) -> bool:
        return "/" in self.seat

    @property
    def key(self) -> str:
        return holding_key(self.product, self.performance, self.seatcat, self.seat)


def holding_key(product: str, performance: str, seatcat: str, seat: str) -> str:
    """A seat or block has one category per performance; a pass's places are per category."""
    return f"{product}|{performance}|{seat}" if seat else f"{product}|{performance}|#{seatcat}"


@dataclass
class Ticket:
    """A ticket the reseller sold, in its current state (section 7.1)."""

    barcode: str
    order: str
    product: str
    performance: str
    validity_end: str
    seatcat: str
    tariff: str
    seat: str
    price: int
    currency: str
    commission: int
    point_of_sale: str
    sold_at: str
    state: str
    changed_at: str
    first_name: str
    last_name: str
    contact_number: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    contact_address: str = ""
    refund: int | None = None
    pending: bool = True
    """Changed since the last TICKETS file: goes into the next one."""
    reported_state: str = ""
    """Its state in the last TICKETS file that carried it ("" if none did yet)."""
    first_file: int = 0
    """The TICKETS file where it (and its order) first appeared (0: none yet)."""

    @property
    def valid(self) -> bool:
        return TicketState(self.state).valid

    @property
    def holding(self) -> str:
        return holding_key(self.product, self.performance, self.seatcat, self.seat)


@dataclass
class SentFile:
    """A data file the reseller wrote in ``/to_organiser/``."""

    name: str
    type: str
    lines: int
    sha256: str
    fault: str | None = None
    withheld: list[str] = field(default_factory=list)
    """Names written to the reseller's disk but not uploaded yet (``withhold-control``)."""
    replaced: int = 0


@dataclass
class PartnerState:
    version: int = STATE_VERSION
    operations: int = 0
    """Operations that drew so far: seeds the random generator of the next one."""
    counters: dict[str, int] = field(default_factory=dict)
    last_processed: int = 0
    """The organiser's file number processed last (section 9.2 point 1)."""
    last_tickets: int = 0
    """The number of the last TICKETS file written."""
    last_event_at: str | None = None
    """When the last customer action took place: the next one is at least a second later."""
    last_tick_at: str | None = None
    products: dict[str, Product] = field(default_factory=dict)
    performances: dict[str, str] = field(default_factory=dict)
    """``PRODUCT|PERFORMANCE`` → ``PERFORMANCE_START``."""
    prices: dict[str, Price] = field(default_factory=dict)
    holdings: dict[str, Holding] = field(default_factory=dict)
    tickets: dict[str, Ticket] = field(default_factory=dict)
    sent: list[SentFile] = field(default_factory=list)
    results: dict[str, str] = field(default_factory=dict)
    """Organiser file number (text) → how it was answered (``OK``, ``PARTIAL`` or the code
    refusing it whole)."""

    def next_counter(self, name: str) -> int:
        self.counters[name] = self.counters.get(name, 0) + 1
        return self.counters[name]

    def sent_file(self, name: str) -> SentFile | None:
        return next((s for s in reversed(self.sent) if s.name == name), None)

    def sold(self, holding: str) -> int:
        """Tickets holding places of ``holding`` now (``SOLD`` or ``PRINTED``)."""
        return sum(1 for t in self.tickets.values() if t.valid and t.holding == holding)


class StateStore(JsonStateFile[PartnerState]):
    """The state file of one organiser, its lock, and the reseller's copies of its files."""

    def __init__(self, root: Path, user: str) -> None:
        super().__init__(Path(root) / STATE_FOLDER / user, PartnerState)
        self.files = self.folder / "files"

    def keep(self, kind: str, name: str, data: bytes) -> None:
        """Keep ``data`` as ``files/<kind>/<name>`` (``intact`` or ``pending``)."""
        folder = self.files / kind
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)

    def kept(self, kind: str, name: str) -> bytes | None:
        path = self.files / kind / name
        return path.read_bytes() if path.is_file() else None

    def forget(self, kind: str, name: str) -> None:
        (self.files / kind / name).unlink(missing_ok=True)
