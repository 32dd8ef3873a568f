"""What FNAC knows, kept in a JSON file next to the organiser's home.

FNAC's side of the sandbox lives in ``ROOT/.fnac/<user>/``, outside the
organiser's chroot (``ROOT/<user>/``), so the organiser never sees it:

- ``state.json``: the :class:`PartnerState` (manifestations set up from sale
  sheets, FNAC's allotment, tickets issued, sequences sent and received...);
- ``sent/``: FNAC's own intact copy of every file it wrote in ``/retour/``
  (what it resends when asked);
- ``lock``: the file lock held while a command or the server's loop reads,
  changes and saves the state, so that they never race.

The state is saved atomically (temporary file, then rename).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from devtools.sandboxes.statefile import JsonStateFile

STATE_FOLDER = ".fnac"
STATE_VERSION = 1

DEFAULT_CUSTOMER_CATEGORIES: dict[str, str] = {
    "0": "Normal",
    "15": "Adhérent Fnac",
    "20": "Adhérent Fnac opération spéciale",
    "22": "Comité d'entreprise",
}
"""FNAC's catégories de client at set-up (spec section 2)."""


@dataclass
class Seance:
    """One séance of a manifestation as the FICHE set it up (key: ``date_seance`` text,
    ``""`` for a pass without date)."""

    prices: dict[str, dict[str, int]] = field(default_factory=dict)
    """Type de tarif → catégorie de client → price paid by the customer, in cents."""
    pass_quota: dict[str, int] = field(default_factory=dict)
    """Passes only: type de tarif → places of the FICHE's ``contingent``."""


@dataclass
class Manifestation:
    code: str
    product: str
    label: str
    nature: str
    venue: str
    city: str
    country: str
    currency: str
    allotement: str
    salle: str | None = None
    """None for a pass (no seating)."""
    blocs: list[str] = field(default_factory=list)
    seances: dict[str, Seance] = field(default_factory=dict)
    withdrawn: bool = False
    tested: bool = False
    """Whether FNAC has sent its TEST tickets for it."""

    @property
    def is_pass(self) -> bool:
        return self.salle is None


@dataclass
class Holding:
    """Places FNAC holds at one spot: a seat (``held`` 1), a free-placement bloc, or a
    pass quota (no salle, no bloc)."""

    manifestation: str
    seance: str
    salle: str
    bloc: str
    rang: str
    place: str
    type_tarif: str
    allotement: str
    held: int = 0
    sold: int = 0
    blocked: int = 0
    """Held and not for sale: the places of TEST tickets."""

    @property
    def seated(self) -> bool:
        return self.rang != ""

    @property
    def available(self) -> int:
        return self.held - self.sold - self.blocked

    @property
    def key(self) -> str:
        return holding_key(
            self.manifestation, self.seance, self.bloc, self.rang, self.place, self.type_tarif
        )


def holding_key(
    manifestation: str, seance: str, bloc: str, rang: str, place: str, type_tarif: str
) -> str:
    """A seat is known by its position; free places and pass quotas by bloc and type de tarif."""
    spot = f"{rang}/{place}" if rang or place else f"*{type_tarif}"
    return f"{manifestation}|{seance}|{bloc}|{spot}"


@dataclass
class Ticket:
    id_billet: str
    id_vente: str
    code_barre: str
    holding: str | None
    """The key of the :class:`Holding` it was taken from (None: sold outside the allotment)."""
    manifestation: str
    seance: str
    salle: str
    bloc: str
    rang: str
    place: str
    type_tarif: str
    categorie_client: str
    allotement: str
    prix_ttc: int
    commission: int
    devise: str
    point_vente: str
    sold_at: str
    test: bool = False
    files: list[str] = field(default_factory=list)
    """The VENTES or TEST files that carried it."""
    cancelled_by: str | None = None
    """The ``id_annulation`` that cancelled it."""


@dataclass
class CustomerCategory:
    libelle: str
    actif: bool
    modified: str
    """ISO 8601 timestamp of the last change."""


@dataclass
class SentFile:
    name: str
    type: str
    created: str
    count: int
    fault: str | None = None

    @property
    def readable(self) -> bool:
        """Whether the organiser can read it (not cut, not mis-encoded)."""
        return self.fault not in ("truncated", "wrong-encoding")


@dataclass
class BuyerContacts:
    """Every buyer contact value FNAC wrote, for privacy tests to search the system for."""

    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)

    def add(self, email: str, phone: str, address: str) -> None:
        for values, value in (
            (self.emails, email),
            (self.phones, phone),
            (self.addresses, address),
        ):
            if value not in values:
                values.append(value)


@dataclass
class PartnerState:
    manager: str
    version: int = STATE_VERSION
    received_names: dict[str, list[str]] = field(default_factory=dict)
    """File type → the names received (answered), in order."""
    received_seqs: dict[str, list[int]] = field(default_factory=dict)
    """File type → the SEQs received."""
    last_seq_sent: dict[str, int] = field(default_factory=dict)
    last_created: str | None = None
    """CREATED of the last file written: the next one is at least a second later."""
    operations: int = 0
    """Operations done so far: seeds the random generator of the next one."""
    counters: dict[str, int] = field(default_factory=dict)
    manifestations: dict[str, Manifestation] = field(default_factory=dict)
    holdings: dict[str, Holding] = field(default_factory=dict)
    tickets: dict[str, Ticket] = field(default_factory=dict)
    barcodes: list[str] = field(default_factory=list)
    customer_categories: dict[str, CustomerCategory] = field(default_factory=dict)
    sent: list[SentFile] = field(default_factory=list)
    buyer_contacts: BuyerContacts = field(default_factory=BuyerContacts)

    def next_counter(self, name: str) -> int:
        self.counters[name] = self.counters.get(name, 0) + 1
        return self.counters[name]

    def next_seq(self, file_type: str, skip: int = 0) -> int:
        """The SEQ of FNAC's next file of ``file_type`` (``skip`` numbers left out first)."""
        seq = self.last_seq_sent.get(file_type, 0) + 1 + skip
        self.last_seq_sent[file_type] = seq
        return seq


class StateStore:
    """The state file of one organiser, its lock and FNAC's copies of the files it sent."""

    def __init__(self, root: Path, user: str) -> None:
        self.folder = Path(root) / STATE_FOLDER / user
        self.sent_folder = self.folder / "sent"
        self._file = JsonStateFile(self.folder, PartnerState)
        self.path = self._file.path

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the lock (blocking) shared by the server's loop and every command."""
        self.sent_folder.mkdir(parents=True, exist_ok=True)
        with self._file.locked():
            yield

    def load(self, manager: str) -> PartnerState:
        """The saved state, or a fresh one if none was saved."""
        return self._file.load(lambda: PartnerState(manager=manager))

    def save(self, state: PartnerState) -> None:
        self._file.save(state)

    def keep_copy(self, name: str, data: bytes) -> None:
        (self.sent_folder / name).write_bytes(data)

    def copy_of(self, name: str) -> bytes:
        return (self.sent_folder / name).read_bytes()
