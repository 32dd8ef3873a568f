"""The reseller's nightly STOCK files reconciled with the box office, through the journal
(``secutix-reseller-v1`` sections 6, 7.3, 9.1 point 7 and 10.2).

A STOCK file (``STOCK_<YYYYMMDD>.csv`` with its control file, landed as one unit of the
journal's ``STOCK`` stream, its sequence the snapshot's date) gives, per product ×
performance (none for an undated pass) × seat category, the places the reseller was
GIVEN, has SOLD and has AVAILABLE, after exactly its TICKETS files 1 to
``TICKETS_FILE_NUMBER``. Each landed STOCK file is taken in date order:

1. it is verified against its control file (``T01`` to ``T04``) and checked for
   consistency (``T21``: ``GIVEN`` = ``SOLD`` + ``AVAILABLE``, a key once,
   ``TICKETS_FILE_NUMBER`` and ``SNAPSHOT_AT`` the same on every line): a file that fails
   is marked failed, an *external* error naming the file and the line, and stops the
   STOCK files behind it until the reseller replaces it (section 3 point 7) or a person
   sets it aside in the journal;
2. it waits, silently, landed, until the TICKETS files 1 to its ``TICKETS_FILE_NUMBER``
   are applied (integrated, or set aside by a person), and the files behind it wait too;
3. it is compared with the box office (:func:`box_office_stock`), in the exchanged codes:

   * ``GIVEN``: the places the RESULT files confirmed (section 9.1 point 3.5): places of
     CONTINGENT lines answered ``OK`` or ``Q04``
     (:class:`~reseller_sync.boxoffice.models.PlaceAllocation` ``allocated``) minus the
     places of WITHDRAW lines answered withdrawn (``OK``, and ``Q07``: not the
     reseller's, recorded so); a withdrawal sent and not answered leaves its places the
     reseller's. The box office records no place of a pass (a pass line is answered in
     the journal only, :mod:`reseller_sync.secutix.contingent`): a pass's ``GIVEN`` is
     read back from the journal, the pass lines of the CONTINGENT files answered ``OK``
     minus those of the WITHDRAW files answered ``OK`` or ``Q07``;
   * ``SOLD``: the reseller's tickets standing sold after TICKETS files 1 to
     ``TICKETS_FILE_NUMBER``: their order came in one of those files, and they were not
     cancelled at ``SNAPSHOT_AT`` (a ticket's cancellation is dated by the reseller's
     ``STATE_CHANGED_AT``);
   * ``AVAILABLE``: ``GIVEN`` − ``SOLD``.

   Every value that differs is a :class:`Difference`, reported, never an error: the file
   is marked integrated with an HTML report under the reports folder
   (:mod:`reseller_sync.pipelines.reconciliation_report`), and the nightly DAG raises an
   *external* alert naming it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.db import session_scope
from reseller_sync.boxoffice.models import (
    AllocationState,
    Block,
    Order,
    Performance,
    PlaceAllocation,
    PlaceWithdrawal,
    Product,
    Quota,
    SalesChannel,
    Seat,
    SeatCategory,
    SeatingConfiguration,
    Ticket,
    TicketState,
    WithdrawalState,
)
from reseller_sync.core.exchange import InboundUnit
from reseller_sync.domain.errors import Problem, TechnicalError
from reseller_sync.domain.products import SEATED_KINDS
from reseller_sync.exchange import journal
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.pipelines.reconciliation_report import (
    ReconciledFile,
    ReconciliationReport,
    failure_recorded,
    report_groups,
    waiting_for,
    write_report,
)
from reseller_sync.secutix.errors import Code
from reseller_sync.secutix.inbound_files import read_landed_file
from reseller_sync.secutix.mappings import ExchangedCodes, MappingKind
from reseller_sync.secutix.names import FileName, FileType, NameKind
from reseller_sync.secutix.reader import DataFile, ProblemLog, decode
from reseller_sync.secutix.reseller_type import RESELLER_TYPE
from reseller_sync.secutix.rules import stock_rules
from reseller_sync.secutix.settings import SecutixSettings

log = logging.getLogger(__name__)

RESELLER = RESELLER_TYPE.code
STREAM = FileType.STOCK.value
TICKETS_STREAM = FileType.TICKETS.value
KEY = ["PRODUCT_CODE", "PERFORMANCE_CODE", "SEATCAT_CODE"]
"""What a STOCK line counts the places of (section 7.3)."""
COUNTS = ["GIVEN", "SOLD", "AVAILABLE"]


class DifferenceKind(StrEnum):
    GIVEN = "given"
    SOLD = "sold"
    AVAILABLE = "available"


DIFFERENCE_LABELS = {
    DifferenceKind.GIVEN: "places given differ (GIVEN)",
    DifferenceKind.SOLD: "tickets sold differ (SOLD)",
    DifferenceKind.AVAILABLE: "places available differ (AVAILABLE)",
}


@dataclass(frozen=True)
class Difference:
    """One count of one product × performance × seat category on which the reseller's STOCK
    and the box office differ (exchanged codes)."""

    kind: DifferenceKind
    product: str
    performance: str
    """Empty for an undated pass."""
    category: str
    reseller: int
    """What the STOCK says (0 when it has no line for the key)."""
    box_office: int

    @property
    def label(self) -> str:
        return DIFFERENCE_LABELS[self.kind]

    @property
    def where(self) -> str:
        performance = f" {self.performance}" if self.performance else " (undated pass)"
        return f"{self.product}{performance}, seat category {self.category}"

    def to_problem(self, file: str | None = None) -> Problem:
        return Problem(
            f"{self.label}: {self.where} (reseller: {self.reseller}; box office: "
            f"{self.box_office})",
            file=file,
            column=self.kind.name,
            value=self.product,
        )


@dataclass(frozen=True)
class StockReconciliation(ReconciledFile):
    """The outcome of one STOCK file."""

    file_id: int
    file_name: str
    """The data file's name (``STOCK_<YYYYMMDD>.csv``)."""
    lines: int
    tickets_file_number: int
    snapshot_at: str | None
    differences: tuple[Difference, ...] = ()
    report: str | None = None
    """The HTML report, relative to :func:`~reseller_sync.config.paths.reports_dir`."""

    def summary(self) -> dict[str, object]:
        return {
            "file": self.file_name,
            "lines": self.lines,
            "tickets_file_number": self.tickets_file_number,
            "snapshot_at": self.snapshot_at,
            "differences": self.counts,
            "report": self.report,
        }


# --------------------------------------------------------------------------- the journal


def pending_stock(session: Session, reseller: str = RESELLER) -> list[int]:
    """The landed (or failed) STOCK units, in date order. STOCK files are named after a
    date, not numbered: a night without one is no gap to wait for."""
    return journal.open_inbound_ids(session, reseller, STREAM)


def reconcile_pending(
    engine: Engine | None, settings: SecutixSettings, repository: MappingRepository
) -> list[StockReconciliation]:
    """Reconcile the landed STOCK files in date order, one transaction each; stop at the
    first whose TICKETS files are not all applied (it waits, landed). A file refused
    (``T01`` to ``T04``, ``T21``) is marked failed and its error raised."""
    with session_scope(engine) as session:
        file_ids = pending_stock(session)
    results: list[StockReconciliation] = []
    for file_id in file_ids:
        result = reconcile_file(engine, settings, repository, file_id)
        if result is None:
            break
        results.append(result)
    return results


def reconcile_file(
    engine: Engine | None,
    settings: SecutixSettings,
    repository: MappingRepository,
    file_id: int,
) -> StockReconciliation | None:
    """Reconcile one landed STOCK file in its own transaction and mark it integrated, or
    record why it failed and raise; None, changing nothing, while it waits for TICKETS."""
    with failure_recorded(engine, file_id, "STOCK file"), session_scope(engine) as session:
        return reconcile_stock(session, settings, repository, file_id)


def reconcile_stock(
    session: Session,
    settings: SecutixSettings,
    repository: MappingRepository,
    file_id: int,
) -> StockReconciliation | None:
    """:func:`reconcile_file` in the caller's transaction, raising (nothing recorded) when
    the file is refused."""
    stock = read_stock(journal.inbound_unit(session, file_id))
    name = str(stock.name)
    frame = stock.frame
    through = int(frame["TICKETS_FILE_NUMBER"].iloc[0]) if len(frame) else 0
    snapshot = str(frame["SNAPSHOT_AT"].iloc[0]) if len(frame) else None
    behind = tickets_not_applied(session, through)
    if behind:
        log.info(
            "%s waits: it reflects TICKETS files 1 to %d, of which %s not applied yet",
            name,
            through,
            waiting_for(behind),
        )
        return None
    moment = _snapshot_instant(snapshot, stock.name)
    box_office = box_office_stock(session, settings, repository, through, moment)
    differences = compare_stock(frame, box_office)
    report = write_stock_report(name, through, snapshot, differences)
    journal.mark_integrated(session, file_id, stock.lines)
    result = StockReconciliation(file_id, name, stock.lines, through, snapshot, differences, report)
    log.info("Reconciled %s: %d difference(s) %s", name, len(differences), result.counts)
    return result


def read_stock(unit: InboundUnit) -> DataFile:
    """The STOCK data file of a landed unit, verified (``T01`` to ``T04``) and consistent
    (``T21``); raises :class:`~reseller_sync.secutix.errors.FileRefusedError`."""
    stock = read_landed_file(unit)
    if stock.name.type is not FileType.STOCK:
        raise ValueError(f"{unit.name} is not a STOCK file")
    problems = ProblemLog(str(stock.name))
    stock_rules(stock, problems)
    if problems:
        raise problems.refuse()
    return stock


def tickets_not_applied(session: Session, through: int, reseller: str = RESELLER) -> list[int]:
    """The TICKETS files among 1 to ``through`` not applied yet (integrated, or set aside by
    a person), in number order."""
    done = journal.done_sequences(session, reseller, TICKETS_STREAM, through)
    return [number for number in range(1, through + 1) if number not in done]


def _snapshot_instant(snapshot: str | None, name: FileName) -> dt.datetime:
    if snapshot:
        return dt.datetime.fromisoformat(snapshot).astimezone(dt.UTC)
    day = name.snapshot_date or dt.datetime.now(dt.UTC).date()
    return dt.datetime.combine(day, dt.time(23, 59, 59), dt.UTC)


# --------------------------------------------------------------------------- the box office

_IDS = ["performance_id", "category_id"]


def box_office_stock(
    session: Session,
    settings: SecutixSettings,
    repository: MappingRepository,
    tickets_through: int,
    snapshot: dt.datetime,
) -> pd.DataFrame:
    """The box office's count of the reseller's places, one row per product × performance ×
    seat category it gave places of or sold tickets of: :data:`KEY` in the exchanged codes
    (``PERFORMANCE_CODE`` empty for an undated pass), then :data:`COUNTS`."""
    reseller = settings.reseller_code
    places = pd.concat(
        [
            _allocated(session, reseller),
            _withdrawn(session, reseller).assign(places=lambda f: -f["places"]),
        ],
        ignore_index=True,
    )
    sold = _sold(session, reseller, tickets_through, snapshot)
    parts = [
        _exchanged(session, repository, _totals(places, "places").rename("GIVEN")),
        _pass_lines(session, reseller).rename(columns={"places": "GIVEN"}),
        _exchanged(session, repository, _totals(sold, "tickets").rename("SOLD")),
    ]
    counts = pd.concat(parts, ignore_index=True)
    for column in ("GIVEN", "SOLD"):
        counts[column] = counts[column].fillna(0).astype("int64") if column in counts else 0
    counts = counts.groupby(KEY, as_index=False)[["GIVEN", "SOLD"]].sum()
    counts["AVAILABLE"] = counts["GIVEN"] - counts["SOLD"]
    return counts.astype({column: "int64" for column in COUNTS}).loc[:, [*KEY, *COUNTS]]


def _frame(rows: Sequence[Sequence[object]], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(row) for row in rows], columns=list(columns))


def _totals(frame: pd.DataFrame, column: str) -> pd.Series:
    typed = frame.dropna(subset=_IDS).astype({"performance_id": "int64", "category_id": "int64"})
    return typed.groupby(_IDS)[column].sum().astype("int64")


def _reseller_quotas(reseller: str) -> Select[int]:
    return (
        select(Quota.id)
        .join(SalesChannel, SalesChannel.id == Quota.channel_id)
        .where(SalesChannel.reseller_code == reseller)
    )


def _place_category() -> Any:
    return func.coalesce(Seat.category_id, Block.category_id)


def _allocated(session: Session, reseller: str) -> pd.DataFrame:
    """Places of CONTINGENT lines the reseller answered as its own, by performance and the
    category of their seat or block."""
    rows = session.execute(
        select(PlaceAllocation.performance_id, _place_category(), func.sum(PlaceAllocation.places))
        .outerjoin(Seat, Seat.id == PlaceAllocation.seat_id)
        .outerjoin(Block, Block.id == func.coalesce(PlaceAllocation.block_id, Seat.block_id))
        .where(
            PlaceAllocation.reseller_code == reseller,
            PlaceAllocation.state == AllocationState.ALLOCATED,
        )
        .group_by(PlaceAllocation.performance_id, _place_category())
    ).all()
    return _frame(rows, [*_IDS, "places"])


def _withdrawn(session: Session, reseller: str) -> pd.DataFrame:
    """Places of WITHDRAW lines answered withdrawn (``OK``, or ``Q07``)."""
    rows = session.execute(
        select(PlaceWithdrawal.performance_id, _place_category(), func.sum(PlaceWithdrawal.places))
        .outerjoin(Seat, Seat.id == PlaceWithdrawal.seat_id)
        .outerjoin(Block, Block.id == func.coalesce(PlaceWithdrawal.block_id, Seat.block_id))
        .where(
            PlaceWithdrawal.quota_id.in_(_reseller_quotas(reseller)),
            PlaceWithdrawal.state == WithdrawalState.WITHDRAWN,
        )
        .group_by(PlaceWithdrawal.performance_id, _place_category())
    ).all()
    return _frame(rows, [*_IDS, "places"])


def _pass_lines(session: Session, reseller: str) -> pd.DataFrame:
    """The places of passes given, in the exchanged codes: the pass lines (no ``SEAT``) of
    the CONTINGENT files answered, less those of the WITHDRAW files answered. The box office
    records no place of a pass (:mod:`reseller_sync.secutix.contingent`): the files sent
    and their answers in the journal are the record. A CONTINGENT line counts when ``OK``;
    a WITHDRAW line when ``OK``, or ``Q07`` (not the reseller's, recorded so)."""
    entries = journal.acknowledged_outbound(session, reseller)
    parts = [_frame([], [*KEY, "places"])]
    for file_id, name in entries:
        parsed = FileName.parse(name)
        if parsed is None or parsed.type not in (FileType.CONTINGENT, FileType.WITHDRAW):
            continue
        frame = _sent_lines(session, file_id, parsed)
        passes = frame[frame["SEAT"] == ""]
        if passes.empty:
            continue
        refused = {
            int(line or 0)
            for line, code in journal.error_lines(session, file_id)
            if not (parsed.type is FileType.WITHDRAW and code == Code.Q07.value)
        }
        kept = passes[~passes.index.isin(list(refused))]
        sign = 1 if parsed.type is FileType.CONTINGENT else -1
        parts.append(
            kept.loc[:, KEY].assign(places=sign * kept["QUANTITY"].astype("int64").to_numpy())
        )
    return pd.concat(parts, ignore_index=True).astype({"places": "int64"})


def _sent_lines(session: Session, file_id: int, name: FileName) -> pd.DataFrame:
    """The lines of an organiser file as journaled (its data file, or its control file with
    the data file as member), indexed by line number."""
    data_name = str(name.data)
    content = (
        journal.file_content(session, file_id)
        if name.kind is NameKind.DATA
        else journal.member_content(session, file_id, data_name)
    )
    problems = ProblemLog(data_name)
    frame = decode(data_name, name.type, content or b"", problems)
    if frame is None:
        raise TechnicalError(
            f"{data_name}: the journal's copy of the file sent cannot be read again",
            problems=problems.listed(),
            file=data_name,
        )
    return frame


def _sold(session: Session, reseller: str, through: int, snapshot: dt.datetime) -> pd.DataFrame:
    """The reseller's tickets standing sold after its TICKETS files 1 to ``through``."""
    files = journal.inbound_through(reseller, TICKETS_STREAM, through)
    rows = session.execute(
        select(Ticket.performance_id, Ticket.category_id, func.count())
        .join(Order, Order.id == Ticket.order_id)
        .where(
            Ticket.reseller_code == reseller,
            or_(
                Order.source_file_id.in_(files),
                and_(Order.source_file_id.is_(None), Order.sold_at <= snapshot),
            ),
            or_(
                Ticket.state == TicketState.VALID,
                and_(Ticket.cancelled_at.is_not(None), Ticket.cancelled_at > snapshot),
            ),
        )
        .group_by(Ticket.performance_id, Ticket.category_id)
    ).all()
    return _frame(rows, [*_IDS, "tickets"])


def _exchanged(session: Session, repository: MappingRepository, values: pd.Series) -> pd.DataFrame:
    """``values`` by box-office ids (performance, seat category), keyed by the exchanged
    codes of section 2 (:data:`KEY`), summed per key."""
    counts = values.reset_index()
    column = str(values.name)
    if counts.empty:
        return _frame([], [*KEY, column])
    performance_ids = [int(i) for i in counts["performance_id"].unique()]
    described = _frame(
        session.execute(
            select(
                Performance.id,
                Product.code,
                Product.kind,
                Performance.code,
                Performance.starts_at,
                SeatingConfiguration.code,
            )
            .join(Product, Product.id == Performance.product_id)
            .outerjoin(SeatingConfiguration, SeatingConfiguration.id == Product.configuration_id)
            .where(Performance.id.in_(performance_ids))
        ).all(),
        ["performance_id", "product", "kind", "performance", "starts_at", "configuration"],
    )
    category_ids = [int(i) for i in counts["category_id"].unique()]
    categories = dict(
        session.execute(
            select(SeatCategory.id, SeatCategory.code).where(SeatCategory.id.in_(category_ids))
        ).all()
    )
    frame = counts.merge(described, on="performance_id", how="left")
    frame["category"] = frame["category_id"].map(categories).astype("str")
    undated = frame["starts_at"].isna() & ~frame["kind"].isin(
        [kind.value for kind in SEATED_KINDS] + list(SEATED_KINDS)
    )
    frame["configuration"] = frame["configuration"].fillna("")
    parts = []
    for (product, configuration), rows in frame.groupby(["product", "configuration"]):
        codes = ExchangedCodes.of(repository, str(product))
        parts.append(
            pd.DataFrame(
                {
                    "PRODUCT_CODE": codes.product_code,
                    "PERFORMANCE_CODE": rows["performance"].where(~undated[rows.index], ""),
                    "SEATCAT_CODE": codes.to_exchanged(
                        MappingKind.SEAT_CATEGORY, rows["category"], str(configuration) or None
                    ),
                    column: rows[column],
                },
                index=rows.index,
            )
        )
    return pd.concat(parts).groupby(KEY, as_index=False)[column].sum()


# --------------------------------------------------------------------------- compared


def compare_stock(stock: pd.DataFrame, box_office: pd.DataFrame) -> tuple[Difference, ...]:
    """Every count that differs between the STOCK lines and the box office's, key by key
    (a key on one side only counts 0 on the other), in key order."""
    reseller = stock.loc[:, [*KEY, *COUNTS]].astype({c: "int64" for c in COUNTS})
    merged = reseller.merge(
        box_office.loc[:, [*KEY, *COUNTS]],
        on=KEY,
        how="outer",
        suffixes=("_reseller", "_box_office"),
    )
    for column in COUNTS:
        for side in ("_reseller", "_box_office"):
            merged[column + side] = merged[column + side].fillna(0).astype("int64")
    merged = merged.sort_values(KEY, kind="stable")
    differences: list[Difference] = []
    for row in merged.to_dict("records"):
        for column in COUNTS:
            theirs, ours = int(row[f"{column}_reseller"]), int(row[f"{column}_box_office"])
            if theirs != ours:
                differences.append(
                    Difference(
                        DifferenceKind[column],
                        str(row["PRODUCT_CODE"]),
                        str(row["PERFORMANCE_CODE"]),
                        str(row["SEATCAT_CODE"]),
                        theirs,
                        ours,
                    )
                )
    return tuple(differences)


# --------------------------------------------------------------------------- the report


def stock_report(
    name: str, through: int, snapshot: str | None, differences: Sequence[Difference]
) -> ReconciliationReport:
    """The report of one STOCK file, in the reseller's and the box office's words."""
    return ReconciliationReport(
        title=f"{RESELLER_TYPE.name} stock reconciliation",
        subject=name,
        intro=f"{RESELLER_TYPE.name}'s stock {name}, snapshot {snapshot or 'unknown'}, after "
        f"its TICKETS files 1 to {through}, against the box office: places given as the "
        "RESULT files confirmed them (minus places withdrawn), tickets sold, places "
        "available, per product, performance and seat category (secutix-reseller-v1 "
        "section 7.3).",
        columns=["Product", "Performance", "Seat category", "Reseller", "Box office"],
        groups=report_groups(
            DIFFERENCE_LABELS,
            differences,
            _report_row,
        ),
        agree=f"{RESELLER_TYPE.name}'s stock and the box office agree: no difference.",
        advice=f"Check each with {RESELLER_TYPE.name} before changing anything: places given "
        "that differ usually mean a CONTINGENT or WITHDRAW whose RESULT is not applied; "
        "tickets sold that differ, a TICKETS file stuck in the journal.",
    )


def _report_row(d: Difference) -> tuple[object, ...]:
    return (d.product, d.performance or "(undated)", d.category, d.reseller, d.box_office)


def write_stock_report(
    name: str, through: int, snapshot: str | None, differences: Sequence[Difference]
) -> str:
    """The report written under the reports folder; its path relative to that folder."""
    stem = f"{RESELLER}-{name.removesuffix('.csv')}"
    return write_report(stock_report(name, through, snapshot, differences), stem)
