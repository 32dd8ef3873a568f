"""Integrate sale lines: each line a ticket, each reseller order reference an order.

The lines come as batches (an adapter's chunks of a partner's file, in file
order) and go in two passes through the caller's transaction. The first
checks each batch column by column (pandas, no Python object per line) and
keeps of it only what its tickets need; what the rules over the whole file
need (seats seen, free places counted, each order's currencies and shops) is
carried from one batch to the next. The second writes, only if no problem
was found anywhere in the file, the adapter's problems included. Memory holds
one batch, the tickets to write and the orders.

- every place must be in the reseller's quota on its performance (the quota
  of a sales channel with the reseller's code), unsold, and sold once in the
  file; free places and passes are counted against the quota's places;
- the price is compared with the box office's for the performance, category
  and tariff, as the reseller's price policy says (commission included or
  not, as the box office records it); no price at all is a mapping error;
- lines whose ticket is already integrated (same ticket reference and
  barcode) are skipped, so a file replayed under another name creates
  nothing twice; a reference or barcode that clashes is refused;
- an order is new, in one currency and one shop;
- orders are paid on the paying contact's pending account (one movement per
  order; none for test tickets), barcodes are allowed at access control,
  beneficiary names are kept.

Any problem refuses the whole file: a value without a mapping is a
:class:`MappingError`, anything else an :class:`ExternalError`, each problem
naming the partner's line and column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Select, case, func, insert, literal, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.bulk import fetch_rows, insert_frame, matching, take_ids
from reseller_sync.boxoffice.catalogue import performance_prices
from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    Contact,
    Currency,
    MovementKind,
    Order,
    OrderState,
    PendingAccount,
    PendingAccountMovement,
    Performance,
    PointOfSale,
    Product,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    SalesChannel,
    SeatCategory,
    Tariff,
    Ticket,
    TicketState,
)
from reseller_sync.config.settings import PricePolicy
from reseller_sync.core.lines import (
    SALE_LINES,
    TICKET_STATE_LINES,
    LineBatch,
    LineTicketState,
    as_batches,
)
from reseller_sync.domain.errors import ExternalError, MappingError, TechnicalError
from reseller_sync.integration.problems import LineReport, Rule
from reseller_sync.integration.settings import IntegrationSettings

PARTITION_ROWS = 100_000
"""Rows fetched at a time by the lookups that return one row per place."""


@dataclass(frozen=True)
class PriceDifference:
    line: int
    product: str
    performance: str
    category: str
    tariff: str
    expected: int
    received: int
    currency: str


@dataclass(frozen=True)
class SalesIntegration:
    file_name: str
    lines: int
    tickets: int
    orders: int
    already_integrated: int
    """Lines skipped because their ticket was integrated before (a replayed file)."""
    amounts: dict[str, int] = field(default_factory=dict)
    """Total recorded per currency, in cents."""
    price_differences: tuple[PriceDifference, ...] = ()
    """Prices that differ, integrated at the reseller's price (policy ``warn``)."""
    performances: tuple[int, ...] = ()
    is_test: bool = False


def integrate_sale_lines(
    session: Session,
    settings: IntegrationSettings,
    file_name: str,
    lines: pd.DataFrame | LineBatch | Iterable[pd.DataFrame | LineBatch],
    *,
    file_id: int | None = None,
    is_test: bool = False,
) -> SalesIntegration:
    """Check and apply a file's sale lines in the session's transaction.

    ``lines`` is a frame of sale lines (``core.lines.SALE_LINES``), or the
    file's batches in file order: memory then holds one batch at a time, plus
    what the tickets need. Raises ``MappingError`` or ``ExternalError``
    listing every problem of the whole file (the adapter's included; an error
    the adapter's reader raises after its last batch goes through), having
    written nothing.
    """
    check = _FileCheck(session, settings, file_name)
    for batch in as_batches(lines):
        check.add(batch)
    check.finish()
    raise_line_problems(check.report)
    recorded = _apply(
        session, settings, check.tickets, check.orders, file_id=file_id, is_test=is_test
    )
    return SalesIntegration(
        file_name=file_name,
        lines=check.lines,
        tickets=check.fresh,
        orders=recorded,
        already_integrated=check.already_integrated,
        amounts=dict(sorted(check.amounts.items())),
        price_differences=tuple(check.differences),
        performances=tuple(sorted(check.performances)),
        is_test=is_test,
    )


def raise_line_problems(report: LineReport) -> None:
    problems, settings, file = report.problems, report.settings, report.file
    name = settings.name
    if problems.mapping:
        where = f" to {settings.mappings_dir}" if settings.mappings_dir else ""
        raise MappingError(
            f"{file}: {len(problems.mapping)} line(s) use {name} values that have no mapping",
            problems=problems.mapping + problems.external,
            file=file,
            action=f"Add the missing correspondences{where} (the problems name the {name} "
            "value and the product), then clear the failed task.",
        )
    if problems.external:
        raise ExternalError(
            f"{file}: {len(problems.external)} line(s) do not match the box office "
            "(seat lists, prices or ids differ)",
            problems=problems.external,
            file=file,
            action=f"Check the lines below with {name} (seat lists or prices differ); once the "
            f"box office or {name} has corrected them, clear the failed task.",
        )


TICKET_COLUMNS = (
    "reseller_order_ref",
    "performance_id",
    "seat_id",
    "block_id",
    "quota_id",
    "category_id",
    "tariff_id",
    "recorded_price",
    "commission",
    "currency",
    "barcode",
    "beneficiary_first_name",
    "beneficiary_last_name",
    "reseller_ticket_ref",
    "reseller_tariff_ref",
    "sold_at",
)
"""What the first pass keeps of each line to be written: the second pass reads nothing else."""

STATE_COLUMNS = ("state", "state_changed_at", "refund_amount")
"""What it keeps besides of a ticket-state line (a new ticket in its first reported state)."""

HOLDING_STATES = frozenset({LineTicketState.SOLD.value, LineTicketState.PRINTED.value})
"""The reported states in which a ticket holds its place; a new ticket reported in another
(sold and cancelled between two files) holds none once its file is applied."""


class _FileCheck:
    """The first pass: every check of every batch, and the rules that span batches.

    Per batch, it skips the lines integrated before, checks places, prices and
    orders, and keeps the new lines' ``TICKET_COLUMNS`` and per-order totals.
    Across batches it carries the seats seen so far (a seat sold twice in the
    file), the free places counted so far (a quota passed by the file), the
    box office's seat sets per performance (fetched once) and each order's
    currency and shop per batch (an order whose lines are in several batches
    is still one order).
    """

    def __init__(self, session: Session, settings: IntegrationSettings, file_name: str) -> None:
        self.session, self.settings = session, settings
        self.report = LineReport(settings, file_name)
        self.places = _PlaceLedger(session, settings.code)
        self.tickets: list[pd.DataFrame] = []
        self.lines = self.fresh = self.already_integrated = 0
        self.amounts: dict[str, int] = {}
        self.differences: list[PriceDifference] = []
        self.performances: set[int] = set()
        self._orders: list[pd.DataFrame] = []
        """Each batch's orders: per order, its first currency and shop, their number
        of distinct values, its total and first sale time in that batch."""
        self.orders = pd.DataFrame()
        """One row per new order (``ORDER_COLUMNS``), made by :meth:`finish`."""

    def add(self, batch: LineBatch) -> None:
        self.lines += batch.read
        self.report.problems.extend(batch.problems)
        schema = TICKET_STATE_LINES if "state" in batch.lines.columns else SALE_LINES
        lines = schema.check(batch.lines, by=f"the {self.settings.name} adapter")
        if lines.empty:
            return
        self.report.source = batch.source
        try:
            self._check(lines.copy(deep=False))
        finally:
            self.report.source = None

    def _check(self, lines: pd.DataFrame) -> None:
        session, report = self.session, self.report
        lines, already = _skip_already_integrated(session, self.settings.code, lines, report)
        self.already_integrated += int(already.sum())
        fresh = lines[~already] if already.any() else lines
        del lines
        if fresh.empty:
            return
        fresh["quota_id"] = self._check_places(fresh)
        fresh["recorded_price"] = (
            fresh["price"]
            if self.settings.includes_commission
            else fresh["price"] - fresh["commission"]
        )
        self.differences.extend(_check_prices(session, self.settings, fresh, report))
        _check_orders(session, self.settings.code, fresh, report)
        self.fresh += len(fresh)
        for currency, total in fresh.groupby("currency")["recorded_price"].sum().items():
            self.amounts[str(currency)] = self.amounts.get(str(currency), 0) + int(total)
        self.performances.update(int(p) for p in fresh["performance_id"].unique())
        self._orders.append(
            fresh.groupby("reseller_order_ref", sort=False).agg(
                currency=("currency", "first"),
                currencies=("currency", "nunique"),
                total=("recorded_price", "sum"),
                reseller_point_of_sale_code=("point_of_sale_ref", "first"),
                shops=("point_of_sale_ref", "nunique"),
                reseller_point_of_sale_name=("point_of_sale_name", "first"),
                sold_at=("sold_at", "min"),
            )
        )
        kept = TICKET_COLUMNS + (STATE_COLUMNS if "state" in fresh.columns else ())
        self.tickets.append(_compact(fresh[list(kept)]))

    def _check_places(self, fresh: pd.DataFrame) -> pd.Series:
        """Each line's quota, the places of the lines that hold one checked: every sale
        line, a ticket-state line in a holding state."""
        name, report = self.settings.name, self.report
        if "state" not in fresh.columns:
            return _check_places(fresh, self.places, name, report)
        holding = fresh["state"].isin(HOLDING_STATES)
        if holding.all():
            return _check_places(fresh, self.places, name, report)
        _check_places(fresh[holding], self.places, name, report)
        self.places.learn([int(p) for p in fresh["performance_id"].unique()])
        return fresh["performance_id"].map(self.places.quotas["quota_id"])

    def finish(self) -> None:
        """Each order from its batches' parts, once; and the rule that needs every batch:
        an order is in one currency and one shop."""
        if not self._orders:
            self.orders = pd.DataFrame()
            return
        whole = (
            pd.concat(self._orders)
            .groupby(level=0, sort=False)
            .agg(
                currency=("currency", "first"),
                currencies=("currencies", "max"),
                chunk_currencies=("currency", "nunique"),
                total=("total", "sum"),
                reseller_point_of_sale_code=("reseller_point_of_sale_code", "first"),
                shops=("shops", "max"),
                chunk_shops=("reseller_point_of_sale_code", "nunique"),
                reseller_point_of_sale_name=("reseller_point_of_sale_name", "first"),
                sold_at=("sold_at", "min"),
            )
        )
        self._orders.clear()
        mixed = whole.index[
            (whole[["currencies", "chunk_currencies"]].max(axis=1) > 1)
            | (whole[["shops", "chunk_shops"]].max(axis=1) > 1)
        ]
        self.orders = whole[list(ORDER_COLUMNS)].reset_index(names="reseller_order_id")
        if mixed.empty:
            return
        for tickets in self.tickets:
            self.report.add(
                "external",
                tickets[tickets["reseller_order_ref"].isin(mixed)],
                "reseller_order_ref",
                "the tickets of this order are in several currencies or shops",
            )


ORDER_COLUMNS = (
    "currency",
    "total",
    "reseller_point_of_sale_code",
    "reseller_point_of_sale_name",
    "sold_at",
)
"""What the lines of one new order give its row (per batch, then the whole file)."""


def _compact(tickets: pd.DataFrame) -> pd.DataFrame:
    """The tickets to write, in less memory: ids as 32-bit integers (the schema's
    ``INTEGER`` keys), currencies and the reseller's tariff codes as categoricals."""
    narrow: dict[str, str] = {
        column: "Int32" if tickets[column].hasnans else "int32"
        for column in TICKET_COLUMNS
        if column.endswith("_id")
    }
    narrow.update(currency="category", reseller_tariff_ref="category")
    if "state" in tickets.columns:
        narrow.update(state="category")
    return tickets.astype(narrow)


# --------------------------------------------------------------------------- checks


def _skip_already_integrated(
    session: Session, reseller: str, lines: pd.DataFrame, report: LineReport
) -> tuple[pd.DataFrame, pd.Series]:
    """Lines without reference or barcode clashes, and which of them exist already."""
    known: list[tuple[str, str]] = []
    for condition in matching(
        session, Ticket.reseller_ticket_id, lines["reseller_ticket_ref"].tolist()
    ):
        known.extend(
            fetch_rows(
                session,
                select(Ticket.reseller_ticket_id, Ticket.barcode).where(
                    Ticket.reseller_code == reseller, condition
                ),
            )
        )
    by_ref = pd.Series(dict(known), dtype="str")
    existing_barcode = lines["reseller_ticket_ref"].map(by_ref)
    same = existing_barcode.notna() & (existing_barcode == lines["barcode"])
    clash = existing_barcode.notna() & ~same
    report.add(
        "external",
        lines[clash],
        "reseller_ticket_ref",
        "this ticket id was integrated before with another barcode",
    )
    if clash.any():
        lines, same = lines[~clash], same[~clash]

    taken: list[str] = []
    fresh_barcodes = lines.loc[~same, "barcode"].tolist()
    for condition in matching(session, AccessControlEntry.barcode, fresh_barcodes):
        taken.extend(
            row[0]
            for row in fetch_rows(session, select(AccessControlEntry.barcode).where(condition))
        )
    reused = ~same & lines["barcode"].isin(taken)
    report.add(
        "external", lines[reused], "barcode", "this barcode already exists at access control"
    )
    if reused.any():
        lines, same = lines[~reused], same[~reused]
    return lines, same.astype(bool)


class _PlaceLedger:
    """What the place checks know, built up batch after batch.

    The box office's side (the reseller's quota, its seats, the seats and free
    places sold) is fetched once per performance, the first time a batch names
    it; the file's side (seats seen, free places counted) grows with each batch.
    """

    def __init__(self, session: Session, reseller: str) -> None:
        self.session = session
        self.reseller = reseller
        self.quotas = pd.DataFrame(
            {
                "quota_id": pd.Series(dtype="int64"),
                "quota_places": pd.Series(dtype="Int64"),
            },
            index=pd.Index([], dtype="int64", name="performance_id"),
        )
        self.held = np.empty(0, np.int64)
        """The reseller's quota seats, as sorted (performance, seat) codes."""
        self.sold = np.empty(0, np.int64)
        """Seats sold already (valid tickets), as sorted codes."""
        self.seen = np.empty(0, np.int64)
        """Seats of the file's earlier batches, as sorted codes."""
        self.allowed: dict[int, int] = {}
        """Places the reseller may sell per :func:`_count_code` of (performance,
        free-placement block, or none for a pass)."""
        self.counted: dict[int, int] = {}
        """Places sold per code: the box office's, then each batch's added."""
        self._known: set[int] = set()

    def learn(self, performance_ids: list[int]) -> None:
        """Fetch the box office's side of the performances not seen before."""
        new = sorted(set(performance_ids) - self._known)
        if not new:
            return
        self._known.update(new)
        session = self.session
        channels = select(SalesChannel.id).where(SalesChannel.reseller_code == self.reseller)
        quotas = pd.DataFrame(
            session.execute(
                select(Quota.performance_id, Quota.id, Quota.places)
                .where(Quota.channel_id.in_(channels), Quota.performance_id.in_(new))
                .order_by(Quota.id)
            ).all(),
            columns=["performance_id", "quota_id", "quota_places"],
        ).drop_duplicates("performance_id")
        self.quotas = pd.concat(
            [
                self.quotas,
                quotas.set_index("performance_id").astype(
                    {"quota_id": "int64", "quota_places": "Int64"}
                ),
            ]
        )
        for performance_id, places in zip(
            quotas["performance_id"], quotas["quota_places"], strict=True
        ):
            if not pd.isna(places):
                self.allowed[_count_code(int(performance_id), None)] = int(places)
        for performance_id, block_id, places in session.execute(
            select(Quota.performance_id, QuotaFreePlaces.block_id, QuotaFreePlaces.places)
            .join(Quota, QuotaFreePlaces.quota_id == Quota.id)
            .where(Quota.channel_id.in_(channels), Quota.performance_id.in_(new))
        ):
            self.allowed[_count_code(performance_id, block_id)] = int(places)
        for sold_performance_id, sold_block_id, count in session.execute(
            select(Ticket.performance_id, Ticket.block_id, func.count())
            .join(Order, Ticket.order_id == Order.id)
            .where(
                Ticket.performance_id.in_(new),
                Ticket.seat_id.is_(None),
                Ticket.state == TicketState.VALID,
                Order.channel_id.in_(channels),
            )
            .group_by(Ticket.performance_id, Ticket.block_id)
        ):
            self.counted[_count_code(sold_performance_id, sold_block_id)] = count
        held = _seat_codes(
            session,
            select(QuotaSeat.performance_id, QuotaSeat.seat_id)
            .join(Quota, QuotaSeat.quota_id == Quota.id)
            .where(Quota.channel_id.in_(channels), QuotaSeat.performance_id.in_(new)),
        )
        sold = _seat_codes(
            session,
            select(Ticket.performance_id, Ticket.seat_id).where(
                Ticket.performance_id.in_(new),
                Ticket.state == TicketState.VALID,
                Ticket.seat_id.is_not(None),
            ),
        )
        self.held = _sorted_union(self.held, held)
        self.sold = _sorted_union(self.sold, sold)


def _check_places(
    lines: pd.DataFrame, ledger: _PlaceLedger, name: str, report: LineReport
) -> pd.Series:
    """Every place must be in the reseller's quota and still unsold; return each line's quota.

    ``lines`` is the file's next batch: a seat seen in an earlier batch is sold
    twice in the file, and free places count on from the earlier batches.
    """
    ledger.learn([int(p) for p in lines["performance_id"].unique()])
    quota_ids = lines["performance_id"].map(ledger.quotas["quota_id"])
    no_quota = quota_ids.isna()
    report.add(
        "external",
        lines[no_quota],
        "quota",
        f"{name} holds no quota on this performance",
        rule=Rule.PLACE,
    )

    seated = lines[lines["seat_id"].notna() & ~no_quota]
    if not seated.empty:
        codes = _seat_code(
            seated["performance_id"].to_numpy(np.int64), seated["seat_id"].to_numpy(np.int64)
        )
        outside = pd.Series(~_within(codes, ledger.held), index=seated.index)
        already = pd.Series(_within(codes, ledger.sold), index=seated.index)
        twice = pd.Series(
            pd.Series(codes).duplicated(keep="first").to_numpy() | _within(codes, ledger.seen),
            index=seated.index,
        )
        ledger.seen = _sorted_union(ledger.seen, codes)
        report.add(
            "external",
            seated[outside],
            "seat_id",
            f"this seat is not in {name}'s quota (seat lists differ)",
            rule=Rule.PLACE,
        )
        report.add(
            "external",
            seated[already & ~outside],
            "seat_id",
            "this seat is already sold for this performance (seat lists differ)",
            rule=Rule.PLACE,
        )
        report.add(
            "external",
            seated[twice],
            "seat_id",
            "this seat is sold twice in the file",
            rule=Rule.PLACE,
        )

    free = lines[lines["seat_id"].isna() & ~no_quota]
    if not free.empty:
        _check_counted_places(free, ledger, name, report)
    return quota_ids


def _seat_code(performance_ids: np.ndarray, seat_ids: np.ndarray) -> np.ndarray:
    """One int64 per (performance, seat): sets of places compared without a Python tuple each.

    Exact because both ids are the schema's 32-bit ``INTEGER`` keys.
    """
    return (performance_ids.astype(np.int64) << 32) | seat_ids.astype(np.int64)


def _sorted_union(known: np.ndarray, more: np.ndarray) -> np.ndarray:
    """``known`` (sorted) with ``more`` added, sorted: a merge of two sorted runs."""
    return np.sort(np.concatenate([known, np.sort(more)]), kind="stable")


def _within(codes: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Which ``codes`` are in ``known`` (sorted): a binary search each, ``known`` never
    sorted again (``np.isin`` would sort it for every batch)."""
    if known.size == 0:
        return np.zeros(codes.size, dtype=bool)
    at = np.minimum(np.searchsorted(known, codes), known.size - 1)
    return known[at] == codes


def _seat_codes(session: Session, query: Select[int, Any]) -> np.ndarray:
    """The (performance, seat) pairs a query returns, as codes, in the session's transaction.

    Read with the driver's cursor in partitions: a quota lists every seat of every
    performance, and a SQLAlchemy row per seat would cost more than the query. The
    query holds only integers and enum names, rendered in the SQL text.
    """
    connection = session.connection()
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    parts = [np.empty(0, np.int64)]
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(PARTITION_ROWS):
            pairs = np.array(rows, dtype=np.int64).reshape(-1, 2)
            parts.append(_seat_code(pairs[:, 0], pairs[:, 1]))
    finally:
        cursor.close()
    return np.concatenate(parts)


def _count_code(performance_id: int, block_id: int | None) -> int:
    """One int64 per (performance, free-placement block or none for a pass), as
    :func:`_seat_code`: block ids are positive, so 0 stands for none."""
    return (int(performance_id) << 32) | (block_id or 0)


def _check_counted_places(
    free: pd.DataFrame, ledger: _PlaceLedger, name: str, report: LineReport
) -> None:
    """Free places and passes: sold + the file so far must stay within the reseller's quota.

    Column by column: each line's rank among the file's lines of its block (or
    pass) so far, against the places left; only lines with a problem are looked
    at one by one.
    """
    blocks = free["block_id"].astype("Int64").fillna(0).to_numpy(np.int64)
    codes = pd.Series((free["performance_id"].to_numpy(np.int64) << 32) | blocks, index=free.index)
    rank = codes.groupby(codes, sort=False).cumcount() + 1
    allowed = codes.map(ledger.allowed)
    counted = codes.map(ledger.counted).fillna(0)
    nowhere = allowed.isna()
    beyond = ~nowhere & (counted + rank > allowed)
    report.add(
        "external",
        free[nowhere],
        "block_id",
        f"{name}'s quota holds no place in this block (seat lists differ)",
        rule=Rule.PLACE,
    )
    for line in free.index[beyond.to_numpy()]:
        report.add(
            "external",
            free.loc[[line]],
            "block_id",
            f"beyond {name}'s quota of {int(allowed[line])} place(s) (seat lists differ)",
            rule=Rule.PLACE,
        )
    for code, places in codes.value_counts(sort=False).items():
        ledger.counted[int(code)] = ledger.counted.get(int(code), 0) + int(places)


def _check_prices(
    session: Session,
    settings: IntegrationSettings,
    lines: pd.DataFrame,
    report: LineReport,
) -> list[PriceDifference]:
    """Compare the price to record with the box office's, as the policy says.

    The box office records the reseller's sales commission included or not
    (``recorded_price``); the box-office price of the performance, category and
    tariff is compared with it on the same basis.
    """
    prices = performance_prices(session, lines["performance_id"].unique()).rename(
        columns={"amount": "expected", "currency": "expected_currency"}
    )
    keys = ["performance_id", "category_id", "tariff_id"]
    compared = (
        lines[keys]
        .astype("int64")
        .reset_index(names="line")
        .merge(prices, on=keys, how="left")
        .set_index("line")
    )
    unpriced = compared["expected"].isna()
    report.add(
        "mapping",
        lines[unpriced],
        "tariff_id",
        "the box office has no price for this performance, category and tariff",
        rule=Rule.UNPRICED,
    )
    other_currency = ~unpriced & (compared["expected_currency"] != lines["currency"])
    report.add(
        "external",
        lines[other_currency],
        "currency",
        "the box office sells this performance in another currency",
        rule=Rule.CURRENCY,
    )
    differs = ~unpriced & ~other_currency & (compared["expected"] != lines["recorded_price"])
    if not differs.any() or settings.price_policy is PricePolicy.ACCEPT:
        return []
    basis = "commission included" if settings.includes_commission else "commission excluded"
    if settings.price_policy is PricePolicy.STRICT:
        for line in lines.index[differs]:
            report.add_one(
                "external",
                line,
                "price",
                f"{settings.name} price {int(lines.at[line, 'recorded_price'])} differs from the "
                f"box-office price {int(compared.at[line, 'expected'])} ({basis}; price policy "
                "strict)",
                report.value(line, "price", int(lines.at[line, "price"])),
                rule=Rule.PRICE,
            )
        return []
    differing = lines[differs]
    codes = _codes(session, differing)
    return [
        PriceDifference(
            line=int(line),
            product=codes.at[line, "product"],
            performance=codes.at[line, "performance"],
            category=codes.at[line, "category"],
            tariff=codes.at[line, "tariff"],
            expected=int(compared.at[line, "expected"]),
            received=int(differing.at[line, "recorded_price"]),
            currency=str(differing.at[line, "currency"]),
        )
        for line in differing.index
    ]


def _codes(session: Session, lines: pd.DataFrame) -> pd.DataFrame:
    """The box-office codes of the lines' product, performance, category and tariff."""
    performances = {
        id_: (product, performance)
        for id_, product, performance in session.execute(
            select(Performance.id, Product.code, Performance.code)
            .join(Product, Performance.product_id == Product.id)
            .where(Performance.id.in_([int(p) for p in lines["performance_id"].unique()]))
        )
    }
    categories = dict(session.execute(select(SeatCategory.id, SeatCategory.code)).all())
    tariffs = dict(session.execute(select(Tariff.id, Tariff.code)).all())
    return pd.DataFrame(
        {
            "product": lines["performance_id"].map(lambda p: performances[int(p)][0]),
            "performance": lines["performance_id"].map(lambda p: performances[int(p)][1]),
            "category": lines["category_id"].map(lambda c: categories[int(c)]),
            "tariff": lines["tariff_id"].map(lambda t: tariffs[int(t)]),
        },
        index=lines.index,
    ).astype(object)


def _check_orders(session: Session, reseller: str, lines: pd.DataFrame, report: LineReport) -> None:
    """An order is new: no earlier file brought it. (One currency and one shop per order
    is checked over the whole file, by ``_FileCheck.finish``.)"""
    existing: list[str] = []
    order_refs = lines["reseller_order_ref"].unique().tolist()
    for condition in matching(session, Order.reseller_order_id, order_refs):
        existing.extend(
            session.scalars(
                select(Order.reseller_order_id).where(Order.reseller_code == reseller, condition)
            )
        )
    report.add(
        "external",
        lines[lines["reseller_order_ref"].isin(existing)],
        "reseller_order_ref",
        "this order was integrated before, from another file",
        rule=Rule.ORDER_SEEN,
    )


# --------------------------------------------------------------------------- apply


def _apply(
    session: Session,
    settings: IntegrationSettings,
    tickets: list[pd.DataFrame],
    orders: pd.DataFrame,
    *,
    file_id: int | None,
    is_test: bool,
) -> int:
    """Write orders, tickets, pending-account movements and access control; return orders.

    ``tickets`` holds the first pass's batches; each is dropped once written.
    PostgreSQL: the rows take ids drawn from their sequences beforehand
    (``bulk.take_ids``), so that the tickets' orders and the access control's
    tickets are known without reading anything back, and access control is
    copied like the tickets. Other databases: the orders' ids are read back, and
    access control is copied from the tickets by the database.
    """
    if orders.empty:
        return 0
    reseller = settings.code
    channel_id, point_of_sale_id, contact_id = _distribution_ids(session, settings)
    orders = orders.assign(
        channel_id=channel_id,
        point_of_sale_id=point_of_sale_id,
        contact_id=contact_id,
        state=OrderState.PAID.value,
        reseller_code=reseller,
        is_test=is_test,
        source_file_id=file_id,
    )
    drawn = take_ids(session, Order.__table__, len(orders))  # type: ignore[arg-type]
    if drawn is not None:
        orders.insert(0, "id", drawn)
    insert_frame(session, Order.__table__, orders)  # type: ignore[arg-type]
    order_ids = (
        pd.Series(drawn, index=orders["reseller_order_id"].to_numpy(), dtype="int64")
        if drawn is not None
        else _order_ids(session, reseller, orders["reseller_order_id"].tolist())
    )
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    while tickets:
        lines = tickets.pop(0)
        rows = pd.DataFrame(
            {
                "order_id": lines["reseller_order_ref"].map(order_ids),
                "performance_id": lines["performance_id"].astype("int64"),
                "seat_id": lines["seat_id"].astype("Int64"),
                "block_id": lines["block_id"].where(lines["seat_id"].isna()).astype("Int64"),
                "quota_id": lines["quota_id"].astype("Int64"),
                "category_id": lines["category_id"].astype("int64"),
                "tariff_id": lines["tariff_id"].astype("int64"),
                "price": lines["recorded_price"].astype("int64"),
                "commission": lines["commission"].astype("int64"),
                "currency": lines["currency"].astype("str"),
                "barcode": lines["barcode"],
                "beneficiary_first_name": lines["beneficiary_first_name"],
                "beneficiary_last_name": lines["beneficiary_last_name"],
                "state": TicketState.VALID.value,
                "reseller_code": reseller,
                "reseller_ticket_id": lines["reseller_ticket_ref"],
                "reseller_category": lines["reseller_tariff_ref"].astype("str"),
                "is_test": is_test,
                "sold_at": lines["sold_at"],
                **_reported_state(lines),
            }
        )
        del lines
        ticket_ids = take_ids(session, Ticket.__table__, len(rows))  # type: ignore[arg-type]
        if ticket_ids is not None:
            rows.insert(0, "id", ticket_ids)
        insert_frame(session, Ticket.__table__, rows)  # type: ignore[arg-type]
        if ticket_ids is not None:
            insert_frame(
                session,
                AccessControlEntry.__table__,  # type: ignore[arg-type]
                pd.DataFrame(
                    {
                        "performance_id": rows["performance_id"],
                        "barcode": rows["barcode"],
                        "ticket_id": rows["id"],
                        "allowed": rows["state"] == TicketState.VALID.value,
                        "updated_at": now,
                    }
                ),
            )
        del rows
    if drawn is None:
        allow_at_access_control(session, [int(order_id) for order_id in order_ids.values], now)
    if not is_test:
        accounts = pending_accounts(session, contact_id)
        movements = pd.DataFrame(
            {
                "account_id": orders["currency"].map(accounts),
                "order_id": orders["reseller_order_id"].map(order_ids),
                "kind": MovementKind.SALE.value,
                "amount": orders["total"].astype("int64"),
                "currency": orders["currency"],
                "reference": f"{reseller}:sale:" + orders["reseller_order_id"],
                "booked_at": now,
            }
        )
        missing = movements["account_id"].isna()
        if missing.any():
            raise TechnicalError(
                "the paying contact has no pending account in "
                + ", ".join(sorted(set(movements.loc[missing, "currency"])))
            )
        insert_frame(session, PendingAccountMovement.__table__, movements)  # type: ignore[arg-type]
    return len(orders)


def _reported_state(lines: pd.DataFrame) -> dict[str, Any]:
    """The ``ticket`` columns of new tickets' states: valid, or for a ticket-state line in a
    state that holds no place, cancelled at the state's moment."""
    if "state" not in lines.columns:
        return {"state": TicketState.VALID.value}
    holding = lines["state"].isin(HOLDING_STATES)
    return {
        "state": np.where(holding, TicketState.VALID.value, TicketState.CANCELLED.value),
        "cancelled_at": lines["state_changed_at"].where(~holding),
        "reseller_state": lines["state"].astype("str"),
        "state_changed_at": lines["state_changed_at"],
        "refund_amount": lines["refund_amount"].astype("Int64"),
    }


def _distribution_ids(session: Session, settings: IntegrationSettings) -> tuple[int, int, int]:
    channel_id = session.scalar(
        select(SalesChannel.id).where(SalesChannel.code == settings.channel)
    )
    point_id = session.scalar(
        select(PointOfSale.id).where(PointOfSale.code == settings.point_of_sale)
    )
    contact_id = session.scalar(select(Contact.id).where(Contact.code == settings.paying_contact))
    missing = [
        f"{what} {code}"
        for what, code, found in (
            ("sales channel", settings.channel, channel_id),
            ("point of sale", settings.point_of_sale, point_id),
            ("paying contact", settings.paying_contact, contact_id),
        )
        if found is None
    ]
    if missing:
        where = f" ({settings.settings_file}, boxoffice section)" if settings.settings_file else ""
        raise TechnicalError("the box office has no " + ", ".join(missing) + where)
    return channel_id, point_id, contact_id  # type: ignore[return-value]


def _order_ids(session: Session, reseller: str, reseller_order_ids: list[str]) -> pd.Series:
    rows: list[tuple[str | None, int]] = []
    for condition in matching(session, Order.reseller_order_id, reseller_order_ids):
        rows.extend(
            session.execute(
                select(Order.reseller_order_id, Order.id).where(
                    Order.reseller_code == reseller, condition
                )
            )
        )
    return pd.Series(dict(rows), dtype="int64")


def allow_at_access_control(session: Session, order_ids: list[int], now: dt.datetime) -> None:
    """Allow the barcodes of these orders' valid tickets (refuse the others'), copied from
    the tickets by the database (``INSERT ... SELECT``): no ticket id travels to Python and
    back."""
    for condition in matching(session, Ticket.order_id, order_ids):
        session.execute(
            insert(AccessControlEntry).from_select(
                ["performance_id", "barcode", "ticket_id", "allowed", "updated_at"],
                select(
                    Ticket.performance_id,
                    Ticket.barcode,
                    Ticket.id,
                    case((Ticket.state == TicketState.VALID, True), else_=False),
                    literal(now, AccessControlEntry.updated_at.type),
                ).where(condition),
            )
        )


def pending_accounts(session: Session, contact_id: int) -> dict[str, int]:
    """The pending accounts of a paying contact, by currency code."""
    return {
        Currency(currency).value: id_
        for id_, currency in session.execute(
            select(PendingAccount.id, PendingAccount.currency).where(
                PendingAccount.contact_id == contact_id
            )
        )
    }
