"""The venue codes Ticketnet gave at set-up, with their seating maps (section 2).

A CATALOG record naming a venue code absent from the code book is refused
(``C02``); an ALLOCATION or RELEASE record naming a section, row, seat or area
absent from the performance's venue is refused (``A02``), as is an area
allocated beyond its capacity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Venue:
    """One venue configuration: seated sections (row → seats) and standing areas (capacity)."""

    code: str
    name: str
    city: str
    sections: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    areas: Mapping[str, int] = field(default_factory=dict)

    def has_seat(self, section: str, row: str, seat: str) -> bool:
        return seat in self.sections.get(section, {}).get(row, ())

    def seats(self) -> Iterable[tuple[str, str, str]]:
        for section, rows in self.sections.items():
            for row, seats in rows.items():
                for seat in seats:
                    yield section, row, seat


def _rows(rows: Iterable[str], seats: int) -> dict[str, tuple[str, ...]]:
    return {row: tuple(str(n) for n in range(1, seats + 1)) for row in rows}


def _numbered(rows: int) -> tuple[str, ...]:
    """Rows numbered from 1."""
    return tuple(str(n) for n in range(1, rows + 1))


DEMO_ARENA = Venue(
    "ARENA-PARIS-C",
    "Paris Arena (concert)",
    "Paris",
    sections={
        **{f"ORCH-{code}": _rows(_numbered(20), 25) for code in "ABCD"},
        **{f"BAS-{code}": _rows(_numbered(15), 20) for code in "ABCDEF"},
        **{f"HAUT-{code}": _rows(_numbered(14), 20) for code in "JKLMN"},
    },
    areas={"FOSSE": 1200},
)
"""The demo box office's concert hall (Paris Arena, configuration ARENA-CONCERT) as
Ticketnet mapped it at set-up, under the codes of ``include/mappings/ticketnet/``: the
floor's four blocks of 20 rows × 25 seats (``ORCH-A`` to ``ORCH-D``), the lower stand's six
of 15 × 20 (``BAS-A`` to ``BAS-F``), the upper stand's five of 14 × 20 (``HAUT-J`` to
``HAUT-N``) and the standing pit (``FOSSE``, 1,200 places)."""


DEFAULT_VENUES: tuple[Venue, ...] = (
    Venue(
        "ZENITH-PARIS-A",
        "Zénith Paris",
        "Paris",
        sections={
            "ORCH-A": _rows("ABCDEFGH", 24),
            "ORCH-B": _rows("ABCDEFGH", 24),
            "BALC": _rows(("1", "2", "3", "4", "5"), 30),
        },
        areas={"FOSSE": 3000},
    ),
    Venue(
        "ZENITH-PARIS-B",
        "Zénith Paris (configuration assise)",
        "Paris",
        sections={
            "ORCH-A": _rows("ABCDEFGHJK", 30),
            "BALC": _rows(("1", "2", "3", "4", "5"), 30),
        },
    ),
    Venue(
        "HALLE-TONY-GARNIER",
        "Halle Tony Garnier",
        "Lyon",
        sections={"GRADIN-N": _rows(("1", "2", "3", "4"), 20)},
        areas={"FOSSE": 1500, "CARRE-OR": 200},
    ),
    DEMO_ARENA,
    Venue(
        "STADE-ROAZHON",
        "Roazhon Park",
        "Rennes",
        sections={
            "TRIB-MORDELLES": _rows(("A", "B", "C"), 40),
            "TRIB-ROUTE-LORIENT": _rows(("A", "B", "C"), 40),
        },
    ),
)


@dataclass(frozen=True)
class VenueBook:
    """The venue codes Ticketnet knows for the organiser."""

    venues: Mapping[str, Venue]

    @classmethod
    def default(cls) -> VenueBook:
        return cls({venue.code: venue for venue in DEFAULT_VENUES})

    def get(self, code: str) -> Venue | None:
        return self.venues.get(code)
