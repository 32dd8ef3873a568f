"""Ticketnet's nightly INVENTORY batch reconciled with the box office
(``ticketnet-exchange-v1`` sections 7.3 and 9.1 point 11).

An INVENTORY batch is Ticketnet's allocation after the SALES batches 1 to its
``sales_batch``: SEATS lists every seat it holds, ``AVAILABLE`` or ``SOLD``;
INVENTORY gives, per performance and area, the places allocated and sold (and
per section the seat counts, which SEATS details). A batch that is not
consistent is refused whole (``R21``); a consistent one is turned into the
box office's words (:class:`~reseller_sync.integration.inventory.PartnerInventory`)
and compared with the box office's quota and sales as they stood at
``snapshot_at``. A difference is reported, never an error: it stops nothing.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from reseller_sync.core.lines import LINE_INDEX, LineProblems
from reseller_sync.integration.inventory import (
    InventoryComparison,
    PartnerInventory,
    compare_inventory,
)
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.ticketnet.check import inventory_problems
from reseller_sync.ticketnet.errors import Code, refused
from reseller_sync.ticketnet.identifiers import PartnerPerformances
from reseller_sync.ticketnet.lines import locate_places
from reseller_sync.ticketnet.names import FileType
from reseller_sync.ticketnet.reader import Batch, Part
from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE
from reseller_sync.ticketnet.settings import TicketnetSettings


def partner_inventory(
    session: Session,
    repository: MappingRepository,
    performances: PartnerPerformances,
    batch: Batch,
) -> PartnerInventory:
    """The batch's seats and areas by box-office ids. Raises ``R21`` when the batch is not
    consistent; records naming no box-office place are kept as mapping problems."""
    problems = inventory_problems(batch)
    if problems:
        raise refused(str(batch.batch), Code.R21, problems)
    found = LineProblems()
    seats = [
        _seats(session, repository, performances, part, found)
        for part in batch.parts_of(FileType.SEATS)
    ]
    areas = [
        _areas(session, repository, performances, part, found)
        for part in batch.parts_of(FileType.INVENTORY)
    ]
    inventory = batch.table(FileType.INVENTORY)
    stamps = inventory.column("snapshot_at")
    snapshot = stamps[0].as_py() if inventory.num_rows else batch.manifest.created_at
    return PartnerInventory(
        snapshot=pd.Timestamp(snapshot).tz_convert("UTC").to_pydatetime(),
        seats=_concat(seats, ["performance_id", "seat_id", "sold"]),
        free=_concat(areas, ["performance_id", "block_id", "held", "sold"]),
        unresolved=tuple(found.mapping),
    )


def reconcile_inventory(
    session: Session,
    settings: TicketnetSettings,
    repository: MappingRepository,
    performances: PartnerPerformances,
    batch: Batch,
) -> InventoryComparison:
    """Every difference between the batch and the box office, on every performance Ticketnet
    has identifiers of."""
    inventory = partner_inventory(session, repository, performances, batch)
    compared = sorted(set(performances.frame["performance"].astype("int64").tolist()))
    return compare_inventory(
        session, RESELLER_TYPE.code, settings.boxoffice.quota, inventory, compared
    )


def _part_records(part: Part) -> pd.DataFrame:
    frame = part.table.to_pandas().astype("str")
    frame.index = pd.RangeIndex(1, len(frame) + 1, name=LINE_INDEX)
    return frame


def _seats(
    session: Session,
    repository: MappingRepository,
    performances: PartnerPerformances,
    part: Part,
    problems: LineProblems,
) -> pd.DataFrame:
    records = _part_records(part).assign(area="")
    located = locate_places(session, repository, performances, part.name, records, problems)
    return pd.DataFrame(
        {
            "performance_id": located["performance"].astype("int64"),
            "seat_id": located["seat_id"].astype("int64"),
            "sold": records.loc[located.index, "status"] == "SOLD",
        }
    )


def _areas(
    session: Session,
    repository: MappingRepository,
    performances: PartnerPerformances,
    part: Part,
    problems: LineProblems,
) -> pd.DataFrame:
    records = _part_records(part)
    records = records[records["area"] != ""].assign(section="", row="", seat="")
    located = locate_places(session, repository, performances, part.name, records, problems)
    return pd.DataFrame(
        {
            "performance_id": located["performance"].astype("int64"),
            "block_id": located["block_id"].astype("int64"),
            "held": records.loc[located.index, "allocated"].astype("int64"),
            "sold": records.loc[located.index, "sold"].astype("int64"),
        }
    )


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    kept = [frame for frame in frames if not frame.empty]
    if not kept:
        return pd.DataFrame({column: pd.Series([], dtype="int64") for column in columns})
    return pd.concat(kept, ignore_index=True)
