"""The reseller's venue plans (``secutix-reseller-v1`` sections 2 and 8.2), by ``VENUE_NAME``.

A CONTINGENT or WITHDRAW line whose ``SEAT`` is not in the plan of the product's
venue is refused (``Q03``): a seat ``block/row/number`` must be a seat of a seated
block, a block alone a free-placement block. A venue the book does not know has
no plan here: every well-formed place is accepted (the reseller is taken to have
copied the organiser's plan at set-up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class VenuePlan:
    """Seated blocks (row → seat numbers) and free-placement blocks."""

    name: str
    seated: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    free: tuple[str, ...] = ()

    def has(self, seat: str) -> bool:
        """Whether ``seat`` (``block/row/number`` or a block alone) is in the plan."""
        block, _, rest = seat.partition("/")
        if not rest:
            return block in self.free
        row, _, number = rest.partition("/")
        return number in self.seated.get(block, {}).get(row, ())


def _rows(rows: str | tuple[str, ...], seats: int) -> dict[str, tuple[str, ...]]:
    return {row: tuple(str(n) for n in range(1, seats + 1)) for row in rows}


DEFAULT_PLANS: tuple[VenuePlan, ...] = (
    VenuePlan(
        "Zénith",
        seated={"PARTERRE": _rows("ABCDEFGHJKLMNPQRST", 40), "BALCON": _rows("12345678", 30)},
        free=("FOSSE",),
    ),
    VenuePlan(
        "Opéra de Lyon",
        seated={"ORCHESTRE": _rows("ABCDEFGHJK", 24), "LOGE": _rows(("1", "2", "3", "4"), 6)},
    ),
    VenuePlan(
        "Stade de la Meinau",
        seated={"TRIB-OUEST": _rows("ABCDEF", 40), "TRIB-EST": _rows("ABCDEF", 40)},
        free=("POP-NORD",),
    ),
)
"""``Zénith`` is the venue of the spec's examples (section 12): blocks ``PARTERRE`` (rows
A to T without I and O, seats 1 to 40), ``BALCON`` (rows 1 to 8, seats 1 to 30) and the
free-placement ``FOSSE``."""


def default_plans() -> dict[str, VenuePlan]:
    return {plan.name: plan for plan in DEFAULT_PLANS}
