"""The nightly INVENTORY batches reconciled with the box office, through the journal
(``ticketnet-exchange-v1`` sections 7.3 and 9.1 point 11).

Each landed INVENTORY batch is taken in number order. It is applied only once the SALES
batches 1 to its ``sales_batch`` are applied: until then it waits, silently, landed, and
the batches behind it wait too. It is verified whole (``R01`` to ``R06``), checked for
consistency (``R21``: an external error naming the batch, the file and the record), then
compared with the box office per performance × price level × section or area and seat by
seat (:mod:`reseller_sync.ticketnet.inventory`). A difference is a finding, not an error:
the batch is marked integrated in the journal with an HTML report under the reports
folder, and the caller raises an external alert. A batch that fails is marked failed and
stops the stream until Ticketnet replaces it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.db import session_scope
from reseller_sync.boxoffice.models import (
    Block,
    Direction,
    FileState,
    Performance,
    Product,
    Seat,
    Zone,
)
from reseller_sync.domain.errors import Problem
from reseller_sync.exchange import journal
from reseller_sync.integration.inventory import PlaceDifference, PlaceDifferenceKind
from reseller_sync.integration.withdrawal import performance_label
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.pipelines import reconciliation_report
from reseller_sync.pipelines.reconciliation_report import (
    ReconciledFile,
    ReconciliationReport,
    failure_recorded,
    report_groups,
    waiting_for,
)
from reseller_sync.ticketnet.identifiers import PartnerPerformances
from reseller_sync.ticketnet.inbound_files import read_landed_batch
from reseller_sync.ticketnet.inventory import reconcile_inventory
from reseller_sync.ticketnet.names import FileName, FileType, Stream
from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE
from reseller_sync.ticketnet.settings import TicketnetSettings

log = logging.getLogger(__name__)

RESELLER = RESELLER_TYPE.code
REPORT_FOLDER = reconciliation_report.REPORT_FOLDER


class DifferenceKind(StrEnum):
    HELD_NOT_GIVEN = PlaceDifferenceKind.HELD_NOT_GIVEN.value
    GIVEN_NOT_HELD = PlaceDifferenceKind.GIVEN_NOT_HELD.value
    SOLD_NOT_INTEGRATED = PlaceDifferenceKind.SOLD_NOT_INTEGRATED.value
    INTEGRATED_NOT_SOLD = PlaceDifferenceKind.INTEGRATED_NOT_SOLD.value
    UNKNOWN_PLACE = "unknown_place"
    """Ticketnet holds places the box office cannot name (no mapping, no identifiers)."""


DIFFERENCE_LABELS = {
    DifferenceKind.HELD_NOT_GIVEN: "held by Ticketnet, not given by the box office",
    DifferenceKind.GIVEN_NOT_HELD: "given by the box office, not held by Ticketnet",
    DifferenceKind.SOLD_NOT_INTEGRATED: "sold by Ticketnet, sale not integrated",
    DifferenceKind.INTEGRATED_NOT_SOLD: "sale integrated, Ticketnet reports it unsold",
    DifferenceKind.UNKNOWN_PLACE: "place Ticketnet holds that the box office cannot name",
}


@dataclass(frozen=True)
class Difference:
    """One place (a seat, or places of an area) on which Ticketnet and the box office differ."""

    kind: DifferenceKind
    product: str | None
    performance: str
    place: str
    """Zone, block, row and seat in the box office's words (or the record, unnamed)."""
    quantity: int
    ticketnet: str
    box_office: str

    @property
    def label(self) -> str:
        return DIFFERENCE_LABELS[self.kind]

    def to_problem(self, file: str | None = None) -> Problem:
        return Problem(
            f"{self.label}: {self.performance}, {self.place} "
            f"(Ticketnet: {self.ticketnet}; box office: {self.box_office})",
            file=file,
            value=self.product,
        )


@dataclass(frozen=True)
class InventoryReconciliation(ReconciledFile):
    """The outcome of one INVENTORY batch."""

    file_id: int
    file_name: str
    records: int
    sales_batch: int
    differences: tuple[Difference, ...] = ()
    report: str | None = None
    """The HTML report, relative to :func:`reports_dir`."""

    def summary(self) -> dict[str, object]:
        return {
            "file": self.file_name,
            "records": self.records,
            "sales_batch": self.sales_batch,
            "differences": self.counts,
            "report": self.report,
        }


# --------------------------------------------------------------------------- the journal


def reconcile_pending(
    engine: Engine | None, settings: TicketnetSettings, repository: MappingRepository
) -> list[InventoryReconciliation]:
    """Reconcile the ready INVENTORY batches in number order, one transaction each; stop
    at the first whose SALES batches are not all applied (it waits, landed)."""
    with session_scope(engine) as session:
        queue = journal.queue(session, RESELLER, Stream.INVENTORY.value)
    if queue.missing:
        log.warning(
            "INVENTORY batch(es) %s missing; %d batch(es) wait behind the gap",
            ", ".join(f"{number:08d}" for number in queue.missing),
            len(queue.waiting),
        )
    results: list[InventoryReconciliation] = []
    for file_id in queue.ready:
        result = reconcile_batch(engine, settings, repository, file_id)
        if result is None:
            break
        results.append(result)
    return results


def reconcile_batch(
    engine: Engine | None,
    settings: TicketnetSettings,
    repository: MappingRepository,
    file_id: int,
) -> InventoryReconciliation | None:
    """Reconcile one landed INVENTORY batch and mark it integrated, or record why it failed;
    None, changing nothing, while SALES batches 1 to its ``sales_batch`` are not applied."""
    with failure_recorded(engine, file_id, "batch"), session_scope(engine) as session:
        batch = read_landed_batch(journal.inbound_unit(session, file_id))
        name = batch.manifest.name
        sales_batch = batch.manifest.sales_batch or 0
        behind = sales_not_applied(session, sales_batch)
        if behind:
            log.info(
                "%s waits: it reflects SALES batches 1 to %d, of which %s not applied yet",
                name,
                sales_batch,
                waiting_for(behind),
            )
            return None
        performances = PartnerPerformances.load(session)
        comparison = reconcile_inventory(session, settings, repository, performances, batch)
        differences = describe(session, comparison.differences) + unnamed(comparison.unresolved)
        records = sum(f.records for f in batch.manifest.files)
        snapshot = _snapshot(batch.table(FileType.INVENTORY).column("snapshot_at").to_pylist())
        report = write_report(name, sales_batch, snapshot, differences)
        journal.mark_integrated(session, file_id, records)
    result = InventoryReconciliation(file_id, name, records, sales_batch, differences, report)
    log.info("Reconciled %s: %d difference(s) %s", name, len(differences), result.counts)
    return result


def sales_not_applied(session: Session, through: int) -> list[int]:
    """The SALES batches among 1 to ``through`` not applied yet (integrated, or set aside by
    a person), in number order."""
    done = {
        parsed.batch.number
        for state in (FileState.INTEGRATED, FileState.SET_ASIDE)
        for name in journal.names_in_stream(
            session, RESELLER, Direction.INBOUND, Stream.SALES.value, state=state
        )
        if (parsed := FileName.parse(name)) is not None
    }
    return [number for number in range(1, through + 1) if number not in done]


def _snapshot(stamps: Sequence[str | None]) -> str | None:
    return next((stamp for stamp in stamps if stamp), None)


# --------------------------------------------------------------------------- described


def describe(session: Session, differences: Sequence[PlaceDifference]) -> tuple[Difference, ...]:
    """The differences in the box office's words: product, performance, zone, block, seat."""
    performance_ids = {d.performance_id for d in differences}
    seat_ids = {d.seat_id for d in differences if d.seat_id is not None}
    block_ids = {d.block_id for d in differences if d.block_id is not None}
    performances = {
        performance.id: (product, performance_label(performance))
        for performance, product in session.execute(
            select(Performance, Product.code)
            .join(Product, Product.id == Performance.product_id)
            .where(Performance.id.in_(performance_ids))
        )
    }
    seats = {
        seat_id: f"zone {zone}, block {block}, row {row}, seat {number}"
        for seat_id, zone, block, row, number in session.execute(
            select(Seat.id, Zone.code, Block.code, Seat.row, Seat.number)
            .join(Block, Block.id == Seat.block_id)
            .join(Zone, Zone.id == Block.zone_id)
            .where(Seat.id.in_(seat_ids))
        )
    }
    blocks = {
        block_id: f"zone {zone}, block {block}"
        for block_id, zone, block in session.execute(
            select(Block.id, Zone.code, Block.code)
            .join(Zone, Zone.id == Block.zone_id)
            .where(Block.id.in_(block_ids))
        )
    }
    described = []
    for d in differences:
        product, performance = performances.get(d.performance_id, (None, str(d.performance_id)))
        if d.seat_id is not None:
            place = seats.get(d.seat_id, f"seat {d.seat_id}")
        else:
            place = f"{blocks.get(d.block_id or 0, f'block {d.block_id}')}, {d.quantity} place(s)"
        described.append(
            Difference(
                DifferenceKind(d.kind.value),
                product,
                performance,
                place,
                d.quantity,
                d.reseller,
                d.box_office,
            )
        )
    return tuple(described)


def unnamed(problems: Sequence[Problem]) -> tuple[Difference, ...]:
    """Ticketnet's records that name no place of the box office, as differences."""
    return tuple(
        Difference(
            DifferenceKind.UNKNOWN_PLACE,
            None,
            f"{problem.file} record {problem.line}",
            problem.reason,
            1,
            f"{problem.column} {problem.value}" if problem.column else str(problem.value or ""),
            "no such place",
        )
        for problem in problems
    )


# --------------------------------------------------------------------------- the report


def inventory_report(
    batch: str, sales_batch: int, snapshot: str | None, differences: Sequence[Difference]
) -> ReconciliationReport:
    """The report of one INVENTORY batch, in Ticketnet's and the box office's words."""
    return ReconciliationReport(
        title="Ticketnet inventory reconciliation",
        subject=batch,
        intro=f"Ticketnet's allocation {batch}, snapshot {snapshot or 'unknown'}, after its "
        f"SALES batches 1 to {sales_batch}, against the box office "
        "(ticketnet-exchange-v1 section 7.3).",
        columns=["Product", "Performance", "Place", "Places", "Ticketnet", "Box office"],
        groups=report_groups(
            DIFFERENCE_LABELS,
            differences,
            lambda d: (d.product, d.performance, d.place, d.quantity, d.ticketnet, d.box_office),
        ),
        agree="Ticketnet's allocation and the box office agree: no difference.",
        advice="Check each with Ticketnet before changing anything: a sale not integrated "
        "usually means a SALES batch is stuck in the journal.",
    )


def render_report(
    batch: str, sales_batch: int, snapshot: str | None, differences: Sequence[Difference]
) -> str:
    """The HTML report of one reconciliation (every value escaped)."""
    return reconciliation_report.render_report(
        inventory_report(batch, sales_batch, snapshot, differences)
    )


def write_report(
    batch: str, sales_batch: int, snapshot: str | None, differences: Sequence[Difference]
) -> str:
    """Write the report under the reports folder; its path relative to that folder."""
    return reconciliation_report.write_report(
        inventory_report(batch, sales_batch, snapshot, differences),
        batch.removesuffix(".manifest.json"),
        REPORT_FOLDER,
    )
