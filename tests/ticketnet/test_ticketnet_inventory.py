"""Ticketnet's INVENTORY batch reconciled with the box office, seat by seat and area by area
(``ticketnet-exchange-v1`` sections 7.3 and 9.1 point 11; SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import Block, Seat
from reseller_sync.integration.inventory import PlaceDifferenceKind
from reseller_sync.ticketnet.errors import BatchRefusedError, Code
from reseller_sync.ticketnet.identifiers import PartnerPerformances
from reseller_sync.ticketnet.inventory import reconcile_inventory
from reseller_sync.ticketnet.lines import batch_lines, integration_settings
from reseller_sync.ticketnet.mappings import load_mappings
from reseller_sync.ticketnet.names import BatchId, FileType, Stream
from reseller_sync.ticketnet.reader import Batch, FolderSource, read_batch
from reseller_sync.ticketnet.writer import build_batch
from tests.ticketnet.test_ticketnet_lines import MAPPINGS, SEATED, STANDING, settings, write
from tests.ticketnet.ticketnet_boxoffice import EVENT_ID, PIT_PLACES, QUOTA_ROWS, add_ticketnet

pytestmark = pytest.mark.usefixtures("ticketnet_registered")

SNAPSHOT = "2026-11-29T03:20:00+01:00"
SEATS_PER_ROW = 25


def inventory_batch(
    folder: Path,
    performances: int,
    *,
    sold_seats: set[tuple[str, str, str]] = frozenset(),  # type: ignore[assignment]
    extra_seats: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    missing_seats: set[tuple[str, str, str]] = frozenset(),  # type: ignore[assignment]
    pit: dict[str, tuple[int, int]] | None = None,
    performance_ids: list[str] | None = None,
    inconsistent: bool = False,
) -> Batch:
    """Ticketnet's snapshot: the quota's seats of each performance (P01...), with the
    seats (performance, row, seat) listed ``SOLD``; ``pit``: performance → (allocated, sold)."""
    ids = performance_ids or [f"P{n:02d}" for n in range(1, performances + 1)]
    seats = [
        (performance, row, str(seat))
        for performance in ids
        for row in QUOTA_ROWS
        for seat in range(1, SEATS_PER_ROW + 1)
        if (performance, row, str(seat)) not in missing_seats
    ] + list(extra_seats)
    seat_records = {
        "event_id": [EVENT_ID] * len(seats),
        "performance_id": [p for p, _, _ in seats],
        "price_level": ["1"] * len(seats),
        "section": ["ORCH-A"] * len(seats),
        "row": [r for _, r, _ in seats],
        "seat": [s for _, _, s in seats],
        "status": ["SOLD" if seat in sold_seats else "AVAILABLE" for seat in seats],
    }
    inventory: dict[str, list[str]] = {
        c: []
        for c in (
            "event_id",
            "performance_id",
            "price_level",
            "section",
            "area",
            "allocated",
            "sold",
            "available",
            "snapshot_at",
        )
    }

    def add(
        performance: str,
        level: str,
        section: str,
        area: str,
        allocated: int,
        sold: int,
        available: int,
    ) -> None:
        for column, value in zip(
            inventory,
            (
                EVENT_ID,
                performance,
                level,
                section,
                area,
                str(allocated),
                str(sold),
                str(available),
                SNAPSHOT,
            ),
            strict=True,
        ):
            inventory[column].append(value)

    for performance in ids:
        listed = [s for s in seats if s[0] == performance]
        sold = sum(1 for s in listed if s in sold_seats)
        add(performance, "1", "ORCH-A", "", len(listed), sold, len(listed) - sold)
        allocated, pit_sold = (pit or {}).get(performance, (PIT_PLACES, 0))
        available = allocated - pit_sold + (1 if inconsistent else 0)
        add(performance, "FO", "", "FOSSE", allocated, pit_sold, available)
    built = build_batch(
        BatchId(Stream.INVENTORY, "PR04127", 1),
        {FileType.INVENTORY: inventory, FileType.SEATS: seat_records},
        created_at=SNAPSHOT,
        sales_batch=1,
    )
    folder.mkdir(parents=True, exist_ok=True)
    built.write_to(folder)
    return read_batch(FolderSource(folder), built.manifest.batch_id)


@pytest.fixture
def sold(tmp_path: Path, demo_session: Session) -> PartnerPerformances:
    """Ticketnet on the demo box office, with one seat (P01, row 1, seat 5) and one pit place
    of P01 sold and integrated."""
    performances = add_ticketnet(demo_session)
    config = settings()
    batch = write(tmp_path / "sales", 1, [SEATED, STANDING])
    lines = batch_lines(demo_session, config, load_mappings(MAPPINGS), performances, batch)
    lines.integrate(demo_session, integration_settings(config))
    demo_session.flush()
    return performances


def seat_id(session: Session, row: str, number: str) -> int:
    return session.scalars(
        select(Seat.id)
        .join(Block, Seat.block_id == Block.id)
        .where(Block.code == "P3", Seat.row == row, Seat.number == number)
    ).one()


def test_a_snapshot_that_agrees_gives_no_difference(
    tmp_path: Path, demo_session: Session, sold: PartnerPerformances
) -> None:
    batch = inventory_batch(
        tmp_path / "inventory", 3, sold_seats={("P01", "1", "5")}, pit={"P01": (100, 1)}
    )

    comparison = reconcile_inventory(demo_session, settings(), load_mappings(MAPPINGS), sold, batch)

    assert comparison.ok, comparison.differences


def test_every_kind_of_difference_seat_by_seat_and_area_by_area(
    tmp_path: Path, demo_session: Session, sold: PartnerPerformances
) -> None:
    batch = inventory_batch(
        tmp_path / "inventory",
        3,
        sold_seats={("P01", "1", "6")},  # 1/5 sold and integrated, reported available
        missing_seats={("P02", "2", "25")},
        extra_seats=[("P02", "3", "1")],
        pit={"P01": (100, 3), "P03": (90, 0)},
    )

    comparison = reconcile_inventory(demo_session, settings(), load_mappings(MAPPINGS), sold, batch)

    p01, p02, p03 = (
        sold.frame.set_index("performance_id").loc[p, "performance"] for p in ("P01", "P02", "P03")
    )
    found = {
        (d.kind, int(d.performance_id), d.seat_id, d.block_id is not None, d.quantity)
        for d in comparison.differences
    }
    assert found == {
        (PlaceDifferenceKind.SOLD_NOT_INTEGRATED, p01, seat_id(demo_session, "1", "6"), False, 1),
        (PlaceDifferenceKind.INTEGRATED_NOT_SOLD, p01, seat_id(demo_session, "1", "5"), False, 1),
        (PlaceDifferenceKind.GIVEN_NOT_HELD, p02, seat_id(demo_session, "2", "25"), False, 1),
        (PlaceDifferenceKind.HELD_NOT_GIVEN, p02, seat_id(demo_session, "3", "1"), False, 1),
        (PlaceDifferenceKind.SOLD_NOT_INTEGRATED, p01, None, True, 2),
        (PlaceDifferenceKind.GIVEN_NOT_HELD, p03, None, True, 10),
    }
    assert comparison.counts == {
        "sold_not_integrated": 2,
        "integrated_not_sold": 1,
        "given_not_held": 2,
        "held_not_given": 1,
    }


def test_an_inconsistent_batch_is_refused_whole_with_r21(
    tmp_path: Path, demo_session: Session, sold: PartnerPerformances
) -> None:
    batch = inventory_batch(tmp_path / "inventory", 3, inconsistent=True)

    with pytest.raises(BatchRefusedError) as raised:
        reconcile_inventory(demo_session, settings(), load_mappings(MAPPINGS), sold, batch)

    assert raised.value.code is Code.R21


def test_records_of_a_performance_ticketnet_never_gave_ids_of_are_reported(
    tmp_path: Path, demo_session: Session, sold: PartnerPerformances
) -> None:
    batch = inventory_batch(
        tmp_path / "inventory", 4, sold_seats={("P01", "1", "5")}, pit={"P01": (100, 1)}
    )

    comparison = reconcile_inventory(demo_session, settings(), load_mappings(MAPPINGS), sold, batch)

    assert not comparison.differences
    assert {(p.file, p.column) for p in comparison.unresolved} == {
        ("INVENTORY_PR04127_00000001.SEATS.1.csv.gz", "performance_id"),
        ("INVENTORY_PR04127_00000001.INVENTORY.1.csv.gz", "performance_id"),
    }
    assert len(comparison.unresolved) == 2 * 25 + 1
