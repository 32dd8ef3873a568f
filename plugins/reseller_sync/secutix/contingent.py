"""The organiser's CONTINGENT and WITHDRAW files (``secutix-reseller-v1`` sections 2, 8.2,
8.3 and 9.1 point 8): places given to the reseller, and places taken back.

A line names a place of one performance (none for an ``UNDATED_PASS``) at its seat
category: a seat (``SEAT`` ``block/row/number``, ``QUANTITY`` 1), places of a
free-placement block (``SEAT`` the block, ``QUANTITY`` the places) or places of a pass
(``SEAT`` empty, ``QUANTITY`` the places; their category is the one the pass is priced
at).

* :func:`contingent_lines`: the reseller's quota on products, as the box office holds it
  in the quotas of the sales channel whose ``reseller_code`` is the reseller's:
  ``QuotaSeat`` one line per seat, ``QuotaFreePlaces`` one line per block, a pass's
  ``Quota.places`` one line per performance.
* :func:`withdraw_lines`: places to take back (a frame of :data:`PLACE_COLUMNS`);
  :func:`withdraw_request_lines`: the box office's open withdrawal requests
  (:mod:`reseller_sync.integration.withdrawal`), each line carrying its request.
* :meth:`PlaceLines.file`: the organiser's file number ``n`` through
  :mod:`reseller_sync.secutix.writer`; :func:`record_sent`: in the transaction that
  journals it, each line's place recorded as sent, so that the RESULT answers it place by
  place (:mod:`reseller_sync.secutix.result`): a given seat or free places as a
  ``PlaceAllocation`` (:func:`reseller_sync.integration.allocation.record_sent`), a place
  taken back as its withdrawal request ``sent`` with its line
  (:func:`reseller_sync.integration.withdrawal.mark_sent`).

Lines go product by product in the order given (else by product code), performance by
performance in date order, seats (by zone, block and seat) before free-placement blocks;
**pass lines come last**: the box office records the places of seats and blocks, not
those of passes (a ``PlaceAllocation`` or a ``PlaceWithdrawal`` is a seat or a block),
and the recorded lines are numbered from 1. A pass line is answered in the journal only.

Codes are the box office's, through the caller's ``translate`` (the identity by default:
:data:`reseller_sync.secutix.offer.Translate`). A place that does not fit its product's
kind (a seat of a pass, a pass line for an event, a seat given as a block...) or a pass
not priced at exactly one seat category is a :class:`MappingError`; nothing is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd
import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.bulk import matching
from reseller_sync.boxoffice.models import (
    Block,
    Performance,
    PlaceWithdrawal,
    Price,
    Product,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    SalesChannel,
    Seat,
    SeatCategory,
    Zone,
)
from reseller_sync.domain.errors import MappingError, Problem
from reseller_sync.integration import allocation, withdrawal
from reseller_sync.secutix.names import FileType
from reseller_sync.secutix.offer import (
    BLOCK,
    PRODUCT,
    SEAT_CATEGORY,
    SET_UP_ACTION,
    Translate,
    identity,
    load_product,
    product_kind,
    translated,
)
from reseller_sync.secutix.reseller_type import RESELLER_TYPE
from reseller_sync.secutix.writer import OrganiserFile, build_file, text_table

PLACE_COLUMNS: Final = allocation.PLACE_COLUMNS
"""A place: the box office's ``performance_id``, then a ``seat_id``, or a ``block_id`` of
a free-placement block with its ``places``, or neither (a pass) with its ``places``."""
LINE_COLUMNS: Final = ("line", *PLACE_COLUMNS, "withdrawal_id")
""":attr:`PlaceLines.places`: each line's number and place, and the withdrawal request it
carries (WITHDRAW of requests only)."""


@dataclass(frozen=True)
class PlaceLines:
    """The lines of a CONTINGENT or WITHDRAW file and the place of each."""

    file_type: FileType
    records: pa.Table
    """Every column as text in the spec's order, checked as the reseller reads them."""
    places: pd.DataFrame
    """One row per line, in line order: :data:`LINE_COLUMNS` (``seat_id``, ``block_id``
    and ``withdrawal_id`` nullable integers)."""

    @property
    def lines(self) -> int:
        return self.records.num_rows

    @property
    def recorded(self) -> pd.DataFrame:
        """The lines whose place the box office records: seats and blocks (lines 1 to k)."""
        return self.places[self.places["seat_id"].notna() | self.places["block_id"].notna()]

    def file(self, number: int, *, offer: pd.DataFrame | None = None) -> OrganiserFile:
        """The organiser's file number ``number`` holding these lines, with its control file;
        ``offer``: the OFFER lines sent before (as text), to check each place against them
        (``Q01``, ``Q08``, ``Q02``)."""
        return build_file(self.file_type, number, self.records, offer=offer)


# --------------------------------------------------------------------------- builders


def contingent_lines(
    session: Session,
    product_codes: Sequence[str],
    *,
    reseller: str = RESELLER_TYPE.code,
    translate: Translate = identity,
) -> PlaceLines:
    """The CONTINGENT lines of the reseller's quota on ``product_codes`` (section 8.2): the
    quotas of the channels whose ``reseller_code`` is ``reseller``. Raises
    :class:`MappingError` for a kind the reseller may not sell, a product not set up or a
    quota holding nothing."""
    for code in product_codes:
        product_kind(load_product(session, code))
    channels = select(SalesChannel.id).where(SalesChannel.reseller_code == reseller)
    quotas = (
        select(Quota.id)
        .join(Performance, Performance.id == Quota.performance_id)
        .join(Product, Product.id == Performance.product_id)
        .where(Quota.channel_id.in_(channels), Product.code.in_(list(product_codes)))
    )
    seats = session.execute(
        select(QuotaSeat.performance_id, QuotaSeat.seat_id).where(QuotaSeat.quota_id.in_(quotas))
    ).all()
    free = session.execute(
        select(Quota.performance_id, QuotaFreePlaces.block_id, QuotaFreePlaces.places)
        .join(Quota, Quota.id == QuotaFreePlaces.quota_id)
        .where(QuotaFreePlaces.quota_id.in_(quotas), QuotaFreePlaces.places > 0)
    ).all()
    passes = session.execute(
        select(Quota.performance_id, Quota.places).where(Quota.id.in_(quotas), Quota.places > 0)
    ).all()
    places = pd.DataFrame(
        [(p, s, None, 1) for p, s in seats]
        + [(p, None, b, n) for p, b, n in free]
        + [(p, None, None, n) for p, n in passes],
        columns=list(PLACE_COLUMNS),
    )
    if places.empty:
        raise MappingError(
            f"{RESELLER_TYPE.name}'s quota on {', '.join(product_codes)} holds no seat nor "
            "place: nothing to give",
            problems=[
                Problem(f"no place in the quota of the {reseller} channel", value=code)
                for code in product_codes
            ],
            action=SET_UP_ACTION,
        )
    return _place_lines(session, FileType.CONTINGENT, places, product_codes, translate)


def withdraw_lines(
    session: Session, places: pd.DataFrame, *, translate: Translate = identity
) -> PlaceLines:
    """The WITHDRAW lines of ``places`` (section 8.3): :data:`PLACE_COLUMNS`, ``places``
    optional for seats (1), a ``withdrawal_id`` column optional (the request each place
    carries). Which places to take back is the caller's."""
    if "performance_id" not in places.columns:
        raise ValueError(f"places need a performance_id column, not {places.columns.tolist()}")
    frame = pd.DataFrame(
        {
            "performance_id": places["performance_id"],
            "seat_id": places.get("seat_id"),
            "block_id": places.get("block_id"),
            "places": places.get("places", 1),
            "withdrawal_id": places.get("withdrawal_id"),
        }
    )
    return _place_lines(session, FileType.WITHDRAW, frame, None, translate)


def withdraw_request_lines(
    session: Session, withdrawal_ids: Sequence[int], *, translate: Translate = identity
) -> PlaceLines:
    """The WITHDRAW lines of the box office's withdrawal requests ``withdrawal_ids``
    (e.g. :func:`reseller_sync.integration.withdrawal.requested_withdrawals`), each line
    carrying its request."""
    rows = session.execute(
        select(
            PlaceWithdrawal.performance_id,
            PlaceWithdrawal.seat_id,
            PlaceWithdrawal.block_id,
            PlaceWithdrawal.places,
            PlaceWithdrawal.id,
        ).where(PlaceWithdrawal.id.in_([int(i) for i in withdrawal_ids]))
    ).all()
    places = pd.DataFrame([tuple(row) for row in rows], columns=[*PLACE_COLUMNS, "withdrawal_id"])
    return withdraw_lines(session, places, translate=translate)


def record_sent(
    session: Session,
    lines: PlaceLines,
    file_id: int,
    now: dt.datetime,
    *,
    reseller: str = RESELLER_TYPE.code,
) -> int:
    """Record each recorded line of the file ``file_id`` as sent, in the caller's transaction
    (the one that journals the file): a CONTINGENT line as a sent ``PlaceAllocation``, a
    WITHDRAW line as its withdrawal request ``sent`` with its line. How many lines."""
    recorded = lines.recorded
    expected = list(range(1, len(recorded) + 1))
    if recorded["line"].astype("int64").tolist() != expected:
        raise ValueError("the lines the box office records must come first, from line 1")
    if lines.file_type is FileType.CONTINGENT:
        return allocation.record_sent(session, reseller, file_id, recorded, now)
    requests = recorded["withdrawal_id"]
    if requests.isna().any():
        if requests.notna().any():
            raise ValueError("either every place taken back carries its request, or none")
        return 0
    withdrawal.mark_sent(session, file_id, [int(i) for i in requests], now)
    session.flush()
    return len(requests)


# --------------------------------------------------------------------------- the lines

_SORT = ["pass", "product_order", "starts_at", "performance_code", "free", "zone", "block"]


def _place_lines(
    session: Session,
    file_type: FileType,
    places: pd.DataFrame,
    product_codes: Sequence[str] | None,
    translate: Translate,
) -> PlaceLines:
    places = places.astype(
        {"performance_id": "int64", "seat_id": "Int64", "block_id": "Int64"}
    ).reset_index(drop=True)
    places["places"] = places["places"].fillna(1).astype("int64")
    if "withdrawal_id" not in places.columns:
        places["withdrawal_id"] = None
    places["withdrawal_id"] = places["withdrawal_id"].astype("Int64")
    located = _locate(session, places)
    order = list(product_codes or [])
    order += sorted(set(located["product"]) - set(order))
    kinds = {code: product_kind(load_product(session, code)) for code in order}
    located["kind"] = located["product"].map({c: k.value for c, k in kinds.items()})
    located["seated"] = located["product"].map({c: k.seated for c, k in kinds.items()})
    located["dated"] = located["product"].map({c: k.dated for c, k in kinds.items()})
    located["product_order"] = located["product"].map({c: i for i, c in enumerate(order)})
    problems = _fit_problems(located)
    if problems:
        raise MappingError(
            f"The {file_type} cannot be written: {len(problems)} place(s) do not fit their product",
            problems=problems,
            action=SET_UP_ACTION,
        )
    located["pass"] = located["seat_id"].isna() & located["block_id"].isna()
    located = located.sort_values([*_SORT, "seat_id"], kind="stable", ignore_index=True)
    located["line"] = range(1, len(located) + 1)
    records = _records(located, translate)
    return PlaceLines(
        file_type,
        text_table(file_type, records, file=str(file_type)),
        located.loc[:, list(LINE_COLUMNS)].reset_index(drop=True),
    )


def _records(located: pd.DataFrame, translate: Translate) -> dict[str, Any]:
    parts = []
    for product, rows in located.groupby("product", sort=False):
        code = str(product)
        dated = rows["dated"].astype(bool)
        placed = rows["block"].notna()
        seat = pd.Series("", index=rows.index, dtype="str")
        if placed.any():
            seat[placed] = translated(
                translate,
                BLOCK,
                rows.loc[placed, "block"].astype("str"),
                code,
                rows.loc[placed, "zone"].astype("str"),
            )
        seated = rows["seat_id"].notna()
        spot = seat + "/" + rows["row"].astype("str") + "/" + rows["number"].astype("str")
        seat = seat.where(~seated, spot)
        products = pd.Series([code] * len(rows), index=rows.index, dtype="str")
        parts.append(
            pd.DataFrame(
                {
                    "PRODUCT_CODE": translated(translate, PRODUCT, products, code),
                    "PERFORMANCE_CODE": rows["performance_code"].where(dated, ""),
                    "SEATCAT_CODE": translated(translate, SEAT_CATEGORY, rows["category"], code),
                    "SEAT": seat,
                    "QUANTITY": rows["places"].astype("int64"),
                },
                index=rows.index,
            )
        )
    frame = pd.concat(parts).sort_index()
    return {column: frame[column].tolist() for column in frame.columns}


def _fit_problems(located: pd.DataFrame) -> list[Problem]:
    """Each place that does not fit its product's kind, found column by column; only the
    places at fault are described."""
    seat = located["seat_id"].notna()
    block = located["block_id"].notna()
    seated = located["seated"].astype(bool)
    free = located["free_placement"].fillna(False).astype(bool)
    checks = [
        (~seated & (seat | block), "a {kind} has no seat nor block: give its places alone"),
        (seated & ~seat & ~block, "an {kind}'s places are seats or free-placement blocks"),
        (~seat & block & ~free, "a seated block: give its places seat by seat"),
        (
            ~seat & ~block & located["category"].isna(),
            "the pass is priced at no seat category, or at several: its places have none",
        ),
        (block & located["category"].isna(), "the free-placement block has no seat category"),
    ]
    faulty = pd.Series(False, index=located.index)
    problems: list[tuple[int, Problem]] = []
    for mask, reason in checks:
        for index, row in located[mask & ~faulty].iterrows():
            spot = (
                f"block {row.block} (zone {row.zone}), row {row.row}, seat {row.number}"
                if pd.notna(row.seat_id)
                else f"block {row.block} (zone {row.zone})"
                if pd.notna(row.block_id)
                else f"{row.places} pass place(s)"
            )
            reason_text = reason.format(kind=row.kind)
            where = f"{row.product} {row.performance_code}, {spot}"
            problems.append((int(index), Problem(f"{where}: {reason_text}", value=spot)))
        faulty |= mask
    return [problem for _, problem in sorted(problems, key=lambda found: found[0])]


def _locate(session: Session, places: pd.DataFrame) -> pd.DataFrame:
    """Each place with its performance's product, code and start; its seat's row, number
    and category, its block's code, zone and category; a pass's single priced category."""
    seat_ids = [int(i) for i in places["seat_id"].dropna().unique()]
    seats: list[tuple[Any, ...]] = []
    for condition in matching(session, Seat.id, seat_ids):
        seats.extend(
            tuple(row)
            for row in session.execute(
                select(Seat.id, Seat.block_id, Seat.row, Seat.number, SeatCategory.code)
                .join(SeatCategory, SeatCategory.id == Seat.category_id)
                .where(condition)
            )
        )
    seat_frame = pd.DataFrame(
        seats, columns=["seat_id", "seat_block", "row", "number", "seat_category"]
    ).astype({"seat_id": "Int64", "seat_block": "Int64"})
    located = places.merge(seat_frame, on="seat_id", how="left")
    if (located["seat_id"].notna() & located["seat_block"].isna()).any():
        raise ValueError("a seat_id that is no seat of the box office")
    located["block_id"] = located["block_id"].fillna(located["seat_block"])
    block_ids = [int(i) for i in located["block_id"].dropna().unique()]
    blocks = pd.DataFrame(
        [
            tuple(row)
            for row in session.execute(
                select(Block.id, Block.code, Zone.code, Block.free_placement, SeatCategory.code)
                .join(Zone, Zone.id == Block.zone_id)
                .outerjoin(SeatCategory, SeatCategory.id == Block.category_id)
                .where(Block.id.in_(block_ids))
            )
        ],
        columns=["block_id", "block", "zone", "free_placement", "block_category"],
    ).astype({"block_id": "Int64"})
    located = located.merge(blocks, on="block_id", how="left")
    if (located["block_id"].notna() & located["block"].isna()).any():
        raise ValueError("a block_id that is no block of the box office")
    located["block_id"] = located["block_id"].where(located["seat_id"].isna())
    performance_ids = [int(i) for i in located["performance_id"].unique()]
    performances = pd.DataFrame(
        [
            tuple(row)
            for row in session.execute(
                select(Performance.id, Performance.code, Performance.starts_at, Product.code)
                .join(Product, Product.id == Performance.product_id)
                .where(Performance.id.in_(performance_ids))
            )
        ],
        columns=["performance_id", "performance_code", "starts_at", "product"],
    ).astype({"performance_id": "int64"})
    located = located.merge(performances, on="performance_id", how="left")
    if located["product"].isna().any():
        raise ValueError("a performance_id that is no performance of the box office")
    located["starts_at"] = pd.to_datetime(located["starts_at"])
    located["free"] = located["seat_id"].isna()
    is_pass = located["seat_id"].isna() & located["block_id"].isna()
    pass_category = located["performance_id"].map(_single_categories(session, performance_ids))
    pass_category = pass_category.where(is_pass)
    located["category"] = (
        located["seat_category"].fillna(located["block_category"]).fillna(pass_category)
    )
    return located


def _single_categories(session: Session, performance_ids: list[int]) -> dict[int, str]:
    """The seat category of each performance priced at exactly one (a pass's)."""
    rows = session.execute(
        select(Price.performance_id, func.min(SeatCategory.code))
        .join(SeatCategory, SeatCategory.id == Price.category_id)
        .where(Price.performance_id.in_(performance_ids))
        .group_by(Price.performance_id)
        .having(func.count(func.distinct(Price.category_id)) == 1)
    )
    return {int(performance): str(category) for performance, category in rows}
