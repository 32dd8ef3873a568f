"""The places of a synchronous reseller's quotas, as holds, orders and the availability see
them (realtime-api-v1, sections 7.3 to 7.7 and 8).

A quota of the reseller is one of its channel's own (``Quota.channel_id``) or one another
channel shares with it (``QuotaSharedChannel``); it is ``shared`` when any other channel
sells from it. Its places are seats (``QuotaSeat``), counts of a free-placement block
(``QuotaFreePlaces``) or a pass count (``Quota.places`` of ``Quota.category_id``).

A place is HELD while a hold place of an active hold (not released, not ordered, before its
``expires_at`` by the caller's clock and not counted expired yet) stands on it, and SOLD
while a valid ticket does; else it is free. Expiry never waits for the sweep: an expired
hold's places are free for every request, and a request about to take places first counts
the expired holds of the quotas it locked as expired (:func:`sweep_expired`), clearing their
``seat_claim`` in the same transaction.

Concurrency is the database's, across processes and hosts, never a lock in a process:

- A seat's lock is its claim: the unique ``RealtimeHoldPlace.seat_claim``. A hold claims its
  seats by inserting its places (:func:`insert_places`, ``ON CONFLICT DO NOTHING``): a
  conflict is a seat another hold owns, unless that hold is no longer active, whose claim
  is then taken over (an ``UPDATE`` of the claim row, which waits for, and serialises with,
  an order of that hold updating the same row). A ticket is only written by a transaction
  that holds the seat's claim (an order clears it as it writes the ticket, in the same
  transaction), and a transaction that has just taken a claim checks the valid tickets
  with a fresh statement: the database makes any claimant wait for the in-progress
  transaction that holds or clears the claim, so that check sees its ticket. The partial
  unique index ``uq_ticket_valid_seat`` is the ticket side's backstop. Seats take no quota
  lock; requests for the best seats of a category pick them one after the other
  (:func:`lock_best_seats`, a transaction-level advisory lock), so that they do not all
  pick the same seats. Rows are claimed in the order of their claims
  (:func:`insert_places`): two requests naming the same seats never wait for each other
  in a cycle.
- Counted places (free placement, passes) have no row of their own: a request that takes
  them locks the quota rows involved, in id order (:func:`lock_quotas`), counts with one
  query per kind, and writes; nothing else happens under that lock but the rest of its
  short transaction. Giving places back (a release, an order's own places) needs no lock:
  a concurrent count sees them either taken or free.

Every read here is one set-based query per kind of place, never one per seat.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from reseller_sync.boxoffice.models import (
    Block,
    Currency,
    Performance,
    Price,
    Product,
    ProductChannel,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    QuotaSharedChannel,
    RealtimeChannelTariff,
    RealtimeHold,
    RealtimeHoldPlace,
    RealtimeSaleWindow,
    Seat,
    SeatCategory,
    Ticket,
    TicketState,
    Venue,
    Zone,
)
from reseller_sync.domain.products import ProductKind
from reseller_sync.realtime.context import ResellerContext

SEATED, FREE, NONE = "seated", "free", "none"
"""The placements of a category (section 7.2)."""

API_KINDS: dict[ProductKind, str] = {
    ProductKind.EVENT: "event",
    ProductKind.COMPETITION: "competition",
    ProductKind.VISIT_PASS: "pass",
    ProductKind.UNDATED_PASS: "pass",
}
"""The box office's product kinds a synchronous reseller may be given, by their API kind;
the other kinds (group passes, subscriptions, packages) are never on its channel."""


def box_office_kinds(api_kinds: Iterable[str]) -> list[ProductKind]:
    """The box office's kinds behind the API kinds a reseller may sell."""
    wanted = set(api_kinds)
    return [kind for kind, api_kind in API_KINDS.items() if api_kind in wanted]


def utc(moment: dt.datetime) -> dt.datetime:
    """An instant as an aware UTC datetime (SQLite gives stored instants back naive, in UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def instant(moment: dt.datetime) -> str:
    """An instant as the API writes it: RFC 3339 in UTC with ``Z``, milliseconds when it has
    any (as the catalogue writes them)."""
    moment = utc(moment)
    timespec = "milliseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def seat_public_id(area: str, row: str, number: str) -> str:
    return f"{area}-{row}-{number}"


def seat_object(area: str, row: str, number: str) -> dict[str, str]:
    """The Seat object of section 7.3."""
    return {"id": seat_public_id(area, row, number), "area": area, "row": row, "number": number}


def seat_claim(performance_id: int, seat_id: int) -> str:
    """The value of ``RealtimeHoldPlace.seat_claim`` for a seat of a performance."""
    return f"{performance_id}:{seat_id}"


def active_hold(now: dt.datetime | BindParameter[Any]) -> ColumnElement[bool]:
    """The hold (``RealtimeHold``) is active at ``now`` (an instant, or a bound parameter of
    a statement built once): not released, not ordered, not expired (``expires_at``
    passed, or ``swept_at`` set: counted expired already)."""
    return and_(
        RealtimeHold.released_at.is_(None),
        RealtimeHold.order_id.is_(None),
        RealtimeHold.swept_at.is_(None),
        RealtimeHold.expires_at > (now if isinstance(now, BindParameter) else utc(now)),
    )


def sweep_expired(session: Session, quota_ids: Collection[int] | None, now: dt.datetime) -> int:
    """Count expired the holds past ``expires_at`` that no one counted yet, those with places
    in these quotas (every quota: None): ``swept_at`` set, seat claims cleared. Returns how
    many.

    Called under the quotas' locks by every request about to count places, so that a hold
    one request found expired (and whose places it may count free) is expired for every
    later request too, whatever the later request's clock: an order stamped a little before
    ``expires_at`` but served after such a request finds the hold swept once it locks the
    hold's row, and re-checks its places instead of selling them twice. The hold rows are
    updated first, then their places: the order in which an order locks them (hold, then
    places), so that the two never wait for each other in a cycle. An order holding the
    hold's row makes this ``UPDATE`` wait; it then finds the hold ordered and leaves it.
    """
    expired = and_(
        RealtimeHold.released_at.is_(None),
        RealtimeHold.order_id.is_(None),
        RealtimeHold.swept_at.is_(None),
        RealtimeHold.expires_at <= utc(now),
    )
    if quota_ids is not None:
        if not quota_ids:
            return 0
        expired = and_(
            expired,
            RealtimeHold.id.in_(
                select(RealtimeHoldPlace.hold_id).where(
                    RealtimeHoldPlace.quota_id.in_(sorted(set(quota_ids)))
                )
            ),
        )
    swept = list(
        session.scalars(
            update(RealtimeHold)
            .where(expired)
            .values(swept_at=utc(now))
            .returning(RealtimeHold.id)
            .execution_options(synchronize_session=False)
        )
    )
    if swept:
        session.execute(
            update(RealtimeHoldPlace)
            .where(RealtimeHoldPlace.hold_id.in_(swept), RealtimeHoldPlace.seat_claim.is_not(None))
            .values(seat_claim=None)
            .execution_options(synchronize_session=False)
        )
    return len(swept)


# --------------------------------------------------------------------------- performances


@dataclass(frozen=True)
class VisiblePerformance:
    """A performance of a product on the reseller's channel, with its sale window there."""

    id: int
    code: str
    product_id: int
    product_code: str
    kind: ProductKind
    configuration_id: int | None
    timezone: str
    starts_at: dt.datetime | None
    """Local wall-clock time of the venue (``timezone``)."""
    valid_until: dt.date | None
    opens_at: dt.datetime | None
    closes_at: dt.datetime | None
    currency: str | None
    """The product's currency (its prices'), None when it has no price."""
    beneficiary_required: bool = False
    """Every ticket of its product sold on this channel names its holder."""

    def on_sale(self, now: dt.datetime) -> bool:
        """Inside its sale window on this channel: ``opens_at <= now < closes_at``."""
        if self.opens_at is None or self.closes_at is None:
            return False
        return utc(self.opens_at) <= utc(now) < utc(self.closes_at)

    def started(self, now: dt.datetime) -> bool:
        """A dated performance after ``starts_at``; a pass after its last valid day."""
        zone = ZoneInfo(self.timezone)
        if self.starts_at is not None:
            return utc(now) >= self.starts_at.replace(tzinfo=zone).astimezone(dt.UTC)
        if self.valid_until is not None:
            return utc(now).astimezone(zone).date() > self.valid_until
        return False


def _performances(
    session: Session, reseller: ResellerContext, condition: ColumnElement[bool]
) -> list[VisiblePerformance]:
    rows = session.execute(
        select(
            Performance.id,
            Performance.code,
            Product.id,
            Product.code,
            Product.kind,
            Product.configuration_id,
            Venue.timezone,
            Performance.starts_at,
            Performance.valid_until,
            RealtimeSaleWindow.opens_at,
            RealtimeSaleWindow.closes_at,
            ProductChannel.beneficiary_required,
            select(func.min(Price.currency))
            .where(Price.performance_id == Performance.id)
            .correlate(Performance)
            .scalar_subquery(),
        )
        .join(Product, Performance.product_id == Product.id)
        .join(Venue, Product.venue_id == Venue.id)
        .outerjoin(
            ProductChannel,
            and_(
                ProductChannel.product_id == Product.id,
                ProductChannel.channel_id == reseller.channel_id,
            ),
        )
        .outerjoin(
            RealtimeSaleWindow,
            and_(
                RealtimeSaleWindow.performance_id == Performance.id,
                RealtimeSaleWindow.channel_id == reseller.channel_id,
            ),
        )
        .where(condition)
        .order_by(Performance.id)
    ).all()
    return [
        VisiblePerformance(
            id=id_,
            code=code,
            product_id=product_id,
            product_code=product_code,
            kind=kind,
            configuration_id=configuration_id,
            timezone=timezone,
            starts_at=starts_at,
            valid_until=valid_until,
            opens_at=opens_at,
            closes_at=closes_at,
            currency=Currency(currency).value if currency is not None else None,
            beneficiary_required=bool(beneficiary_required),
        )
        for (
            id_,
            code,
            product_id,
            product_code,
            kind,
            configuration_id,
            timezone,
            starts_at,
            valid_until,
            opens_at,
            closes_at,
            beneficiary_required,
            currency,
        ) in rows
    ]


def visible_performances(
    session: Session, reseller: ResellerContext, codes: Collection[str]
) -> dict[str, VisiblePerformance]:
    """The performances named by these codes that the reseller may see: their product on its
    channel and of a kind it may sell, with a sale window on its channel (open or not)."""
    if not codes:
        return {}
    found = _performances(
        session,
        reseller,
        and_(
            Performance.code.in_(sorted(set(codes))),
            Product.kind.in_(box_office_kinds(reseller.product_kinds)),
            RealtimeSaleWindow.channel_id.is_not(None),
            ProductChannel.channel_id.is_not(None),  # outer-joined on the reseller's channel
        ),
    )
    return {performance.code: performance for performance in found}


def performances_by_id(
    session: Session, reseller: ResellerContext, ids: Collection[int]
) -> dict[int, VisiblePerformance]:
    """Performances by row id, with the reseller's sale window when it has one."""
    if not ids:
        return {}
    found = _performances(session, reseller, Performance.id.in_(sorted(set(ids))))
    return {performance.id: performance for performance in found}


# --------------------------------------------------------------------------- quotas


@dataclass(frozen=True)
class ResellerQuota:
    id: int
    performance_id: int
    shared: bool


def reseller_quotas(
    session: Session, reseller: ResellerContext, performance_ids: Collection[int]
) -> list[ResellerQuota]:
    """The quotas the reseller's channel sells from on these performances, in id order."""
    if not performance_ids:
        return []
    shared_with_channel = exists().where(
        QuotaSharedChannel.quota_id == Quota.id,
        QuotaSharedChannel.channel_id == reseller.channel_id,
    )
    shared_with_other = exists().where(
        QuotaSharedChannel.quota_id == Quota.id,
        QuotaSharedChannel.channel_id != reseller.channel_id,
    )
    rows = session.execute(
        select(
            Quota.id,
            Quota.performance_id,
            or_(Quota.channel_id != reseller.channel_id, shared_with_other),
        )
        .where(
            Quota.performance_id.in_(sorted(set(performance_ids))),
            or_(Quota.channel_id == reseller.channel_id, shared_with_channel),
        )
        .order_by(Quota.id)
    ).all()
    return [
        ResellerQuota(id_, performance_id, bool(shared)) for id_, performance_id, shared in rows
    ]


def lock_quotas(session: Session, quota_ids: Iterable[int]) -> None:
    """Lock the quota rows, in id order (``SELECT ... FOR NO KEY UPDATE`` on PostgreSQL;
    SQLite serialises writers itself). Call once per transaction, before counting places to
    take, with every quota the transaction counts in.

    ``NO KEY UPDATE``, not ``UPDATE``: the lockers exclude each other all the same, but the
    foreign-key checks of rows referencing the quota (a hold place, a ticket: ``FOR KEY
    SHARE``) do not wait for the lock, so seat holds and orders never queue behind it."""
    ids = sorted(set(quota_ids))
    if ids:
        session.execute(
            select(Quota.id)
            .where(Quota.id.in_(ids))
            .order_by(Quota.id)
            .with_for_update(key_share=True)
        ).all()


def tariffed_categories(
    session: Session, reseller: ResellerContext, performance_ids: Collection[int]
) -> dict[tuple[int, int], tuple[str, str]]:
    """(performance, category) pairs with a tariff opened on the reseller's channel, with the
    category's code and name: the categories the catalogue and the availability can show.
    One query."""
    if not performance_ids:
        return {}
    return {
        (performance_id, category_id): (code, name)
        for performance_id, category_id, code, name in session.execute(
            select(
                RealtimeChannelTariff.performance_id,
                RealtimeChannelTariff.category_id,
                SeatCategory.code,
                SeatCategory.name,
            )
            .join(SeatCategory, RealtimeChannelTariff.category_id == SeatCategory.id)
            .where(
                RealtimeChannelTariff.channel_id == reseller.channel_id,
                RealtimeChannelTariff.performance_id.in_(sorted(set(performance_ids))),
            )
            .distinct()
        )
    }


# --------------------------------------------------------------------------- counts


@dataclass(frozen=True)
class PlaceCount:
    """The places of one quota for one category (and one block, for free placement)."""

    quota_id: int
    performance_id: int
    category_id: int
    placement: str
    block_id: int | None
    quota: int
    held: int
    sold: int

    @property
    def available(self) -> int:
        return max(0, self.quota - self.held - self.sold)


def _seat_owners(
    quota_ids: Sequence[int] | BindParameter[Any], now: dt.datetime | BindParameter[Any]
) -> tuple[Any, Any]:
    """Whether a ``QuotaSeat``'s seat is held (by an active hold, which claims it) and
    whether it is sold (a valid ticket), as two ``(performance, seat) IN (subquery)``
    conditions over these quotas' performances: PostgreSQL hashes each subquery once (a
    hashed SubPlan, whatever the statistics say) instead of probing once per seat."""
    performances = select(Quota.performance_id).where(Quota.id.in_(quota_ids))
    held = (
        select(RealtimeHoldPlace.performance_id, RealtimeHoldPlace.seat_id)
        .join(RealtimeHold, RealtimeHoldPlace.hold_id == RealtimeHold.id)
        .where(
            active_hold(now),
            RealtimeHoldPlace.seat_claim.is_not(None),  # every active hold claims its seats
            RealtimeHoldPlace.seat_id.is_not(None),
            RealtimeHoldPlace.performance_id.in_(performances),
        )
    )
    sold = select(Ticket.performance_id, Ticket.seat_id).where(
        Ticket.state == TicketState.VALID,
        Ticket.seat_id.is_not(None),
        Ticket.performance_id.in_(performances),
    )
    seat = tuple_(QuotaSeat.performance_id, QuotaSeat.seat_id)
    return seat.in_(held), seat.in_(sold)


def place_counts(
    session: Session, quota_ids: Collection[int], now: dt.datetime
) -> list[PlaceCount]:
    """Quota, held and sold places of these quotas, per quota and category (and block): one
    query for seats, one for free placement, one for passes."""
    if not quota_ids:
        return []
    ids = sorted(set(quota_ids))
    counts = [
        PlaceCount(quota_id, performance_id, category_id, SEATED, None, places, held_, sold_)
        for quota_id, performance_id, category_id, places, held_, sold_ in session.execute(
            _seat_counts_query(), {"quota_ids": ids, "now": utc(now)}
        )
    ]
    counts.extend(counted_place_counts(session, ids, now))
    counts.sort(key=lambda c: (c.performance_id, c.category_id, c.quota_id, c.block_id or 0))
    return counts


@functools.cache
def _seat_counts_query() -> Any:
    """Seats, held and sold per quota and category (:func:`place_counts`), built once."""
    ids: BindParameter[Any] = bindparam("quota_ids", expanding=True)
    held, sold = _seat_owners(ids, bindparam("now", type_=RealtimeHold.expires_at.type))
    return (
        select(
            QuotaSeat.quota_id,
            QuotaSeat.performance_id,
            Seat.category_id,
            func.count(),
            func.sum(case((and_(held, ~sold), 1), else_=0)),
            func.sum(case((sold, 1), else_=0)),
        )
        .join(Seat, QuotaSeat.seat_id == Seat.id)
        .where(QuotaSeat.quota_id.in_(ids))
        .group_by(QuotaSeat.quota_id, QuotaSeat.performance_id, Seat.category_id)
    )


def counted_place_counts(
    session: Session, quota_ids: Collection[int], now: dt.datetime
) -> list[PlaceCount]:
    """The counted places (free placement, passes) of these quotas: one query, no seat
    read. What a request taking counted places reads under the quotas' locks."""
    if not quota_ids:
        return []
    counts = [
        PlaceCount(quota_id, performance_id, category_id, kind, block_id, places, held_, sold_)
        for quota_id, performance_id, category_id, block_id, places, held_, sold_, kind in (
            session.execute(
                _counted_query(), {"quota_ids": sorted(set(quota_ids)), "now": utc(now)}
            )
        )
    ]
    counts.sort(key=lambda c: (c.performance_id, c.category_id, c.quota_id, c.block_id or 0))
    return counts


@functools.cache
def _counted_query() -> Any:
    """Counted places, held and sold (:func:`counted_place_counts`), built once."""
    ids: BindParameter[Any] = bindparam("quota_ids", expanding=True)
    held_count = (
        select(func.count())
        .select_from(RealtimeHoldPlace)
        .join(RealtimeHold, RealtimeHoldPlace.hold_id == RealtimeHold.id)
        .where(
            active_hold(bindparam("now", type_=RealtimeHold.expires_at.type)),
            RealtimeHoldPlace.quota_id == Quota.id,
        )
    )
    sold_count = (
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.quota_id == Quota.id, Ticket.state == TicketState.VALID)
    )
    free_places = (
        select(
            Quota.id,
            Quota.performance_id,
            Block.category_id,
            Block.id.label("block_id"),
            QuotaFreePlaces.places,
            held_count.where(RealtimeHoldPlace.block_id == Block.id).scalar_subquery(),
            sold_count.where(
                Ticket.block_id == Block.id, Ticket.seat_id.is_(None)
            ).scalar_subquery(),
            literal(FREE),
        )
        .join(Quota, QuotaFreePlaces.quota_id == Quota.id)
        .join(Block, QuotaFreePlaces.block_id == Block.id)
        .where(Quota.id.in_(ids), Block.free_placement, Block.category_id.is_not(None))
    )
    passes = select(
        Quota.id,
        Quota.performance_id,
        Quota.category_id,
        cast(literal(None), Integer),
        Quota.places,
        held_count.where(
            RealtimeHoldPlace.block_id.is_(None), RealtimeHoldPlace.seat_id.is_(None)
        ).scalar_subquery(),
        sold_count.where(Ticket.block_id.is_(None), Ticket.seat_id.is_(None)).scalar_subquery(),
        literal(NONE),
    ).where(Quota.id.in_(ids), Quota.places.is_not(None), Quota.category_id.is_not(None))
    return union_all(free_places, passes)


@dataclass(frozen=True)
class CategoryCount:
    """A category's places in the reseller's quotas on one performance (section 7.3)."""

    performance_id: int
    category_id: int
    code: str
    name: str
    placement: str
    shared: bool
    quota: int
    held: int
    sold: int
    available: int


def category_counts(
    session: Session,
    reseller: ResellerContext,
    quotas: Sequence[ResellerQuota],
    now: dt.datetime,
    counts: Sequence[PlaceCount] | None = None,
) -> dict[tuple[int, int], CategoryCount]:
    """Per (performance, category) of the reseller's quotas with a tariff on its channel: its
    counts, summed over quotas (and blocks), ``shared`` when any of those quotas is."""
    if counts is None:
        counts = place_counts(session, [quota.id for quota in quotas], now)
    offered = tariffed_categories(session, reseller, {quota.performance_id for quota in quotas})
    counts = [count for count in counts if (count.performance_id, count.category_id) in offered]
    shared = {quota.id: quota.shared for quota in quotas}
    result: dict[tuple[int, int], CategoryCount] = {}
    key = lambda c: (c.performance_id, c.category_id)  # noqa: E731
    for (performance_id, category_id), group in groupby(sorted(counts, key=key), key=key):
        places = list(group)
        code, name = offered[(performance_id, category_id)]
        result[(performance_id, category_id)] = CategoryCount(
            performance_id=performance_id,
            category_id=category_id,
            code=code,
            name=name,
            placement=places[0].placement,
            shared=any(shared.get(place.quota_id, False) for place in places),
            quota=sum(place.quota for place in places),
            held=sum(place.held for place in places),
            sold=sum(place.sold for place in places),
            available=sum(place.available for place in places),
        )
    return result


# --------------------------------------------------------------------------- seats


@dataclass(frozen=True)
class SeatPlace:
    """A seat of a performance, and how it stands for the reseller."""

    seat_id: int
    performance_id: int
    category_id: int
    block_id: int
    area: str
    row: str
    number: str
    quota_id: int
    """The reseller's quota holding it."""
    sold: bool
    held: bool

    @property
    def public_id(self) -> str:
        return seat_public_id(self.area, self.row, self.number)

    def as_object(self) -> dict[str, str]:
        return seat_object(self.area, self.row, self.number)


def free_seats(
    session: Session,
    quota_ids: Collection[int],
    now: dt.datetime,
    *,
    performance_id: int | None = None,
    category_id: int | None = None,
) -> list[SeatPlace]:
    """The free seats of the reseller's quotas (neither held nor sold), in the box office's
    order, of one performance or category when given. One query, built once per shape."""
    if not quota_ids:
        return []
    rows = session.execute(
        _free_seats_query(performance_id is not None, category_id is not None),
        {
            "quota_ids": sorted(set(quota_ids)),
            "now": utc(now),
            "performance_id": performance_id,
            "category_id": category_id,
        },
    )
    return [
        SeatPlace(seat, performance, category, block, area, row, number, quota, False, False)
        for seat, performance, category, block, area, row, number, quota in rows
    ]


@functools.cache
def _free_seats_query(by_performance: bool, by_category: bool) -> Any:
    """The query of :func:`free_seats`, with the performance and the category bound or
    not."""
    ids: BindParameter[Any] = bindparam("quota_ids", expanding=True)
    held, sold = _seat_owners(ids, bindparam("now", type_=RealtimeHold.expires_at.type))
    conditions = [QuotaSeat.quota_id.in_(ids), ~sold, ~held]
    if by_performance:
        conditions.append(QuotaSeat.performance_id == bindparam("performance_id", type_=Integer))
    if by_category:
        conditions.append(Seat.category_id == bindparam("category_id", type_=Integer))
    return (
        select(
            Seat.id,
            QuotaSeat.performance_id,
            Seat.category_id,
            Seat.block_id,
            Block.code,
            Seat.row,
            Seat.number,
            QuotaSeat.quota_id,
        )
        .join(Seat, QuotaSeat.seat_id == Seat.id)
        .join(Block, Seat.block_id == Block.id)
        .where(*conditions)
        .order_by(QuotaSeat.performance_id, Seat.id)
    )


@dataclass(frozen=True)
class NamedSeat:
    """A seat of a performance's seating configuration named by its public id."""

    seat_id: int
    category_id: int
    block_id: int
    area: str
    row: str
    number: str

    def as_object(self) -> dict[str, str]:
        return seat_object(self.area, self.row, self.number)


def split_seat_id(public_id: str) -> tuple[str, str, str] | None:
    """``area-row-number`` (the area may itself hold ``-``), or None."""
    parts = public_id.rsplit("-", 2)
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def named_seats(
    session: Session, configuration_id: int | None, public_ids: Collection[str]
) -> dict[str, NamedSeat]:
    """The seats of a seating configuration named by these public ids (unknown ones absent)."""
    keys = {public_id: split_seat_id(public_id) for public_id in public_ids}
    wanted = [key for key in keys.values() if key is not None]
    if configuration_id is None or not wanted:
        return {}
    rows = session.execute(
        select(Seat.id, Seat.category_id, Seat.block_id, Block.code, Seat.row, Seat.number)
        .join(Block, Seat.block_id == Block.id)
        .join(Zone, Block.zone_id == Zone.id)
        .where(
            Zone.configuration_id == configuration_id,
            tuple_(Block.code, Seat.row, Seat.number).in_(wanted),
        )
    ).all()
    found = {
        seat_public_id(area, row, number): (id_, category, block, area, row, number)
        for id_, category, block, area, row, number in rows
    }
    return {
        public_id: NamedSeat(*found[public_id]) for public_id in public_ids if public_id in found
    }


def seat_states(
    session: Session,
    quota_ids: Collection[int],
    performance_id: int,
    seat_ids: Collection[int],
    now: dt.datetime,
) -> dict[int, SeatPlace]:
    """How these seats of a performance stand: those in none of the quotas are absent. One
    query; held = claimed by an active hold (every active hold claims its seats)."""
    if not seat_ids or not quota_ids:
        return {}
    rows = session.execute(
        select(
            Seat.id,
            QuotaSeat.performance_id,
            Seat.category_id,
            Seat.block_id,
            Block.code,
            Seat.row,
            Seat.number,
            QuotaSeat.quota_id,
            _seat_sold(),
            _seat_held(now),
        )
        .join(Seat, QuotaSeat.seat_id == Seat.id)
        .join(Block, Seat.block_id == Block.id)
        .where(
            QuotaSeat.quota_id.in_(sorted(set(quota_ids))),
            QuotaSeat.performance_id == performance_id,
            QuotaSeat.seat_id.in_(sorted(set(seat_ids))),
        )
        .order_by(QuotaSeat.quota_id)
    ).all()
    places: dict[int, SeatPlace] = {}
    for seat, performance, category, block, area, row, number, quota, sold, held in rows:
        places.setdefault(
            seat,
            SeatPlace(
                seat, performance, category, block, area, row, number, quota, bool(sold), bool(held)
            ),
        )
    return places


def _claim_of_quota_seat() -> ColumnElement[str]:
    """``QuotaSeat``'s seat claim (:func:`seat_claim`) in SQL."""
    return cast(QuotaSeat.performance_id, String) + ":" + cast(QuotaSeat.seat_id, String)


def _seat_held(now: dt.datetime) -> ColumnElement[bool]:
    """The ``QuotaSeat``'s seat is claimed by an active hold (one index look-up)."""
    return (
        exists()
        .where(
            RealtimeHoldPlace.seat_claim == _claim_of_quota_seat(),
            RealtimeHold.id == RealtimeHoldPlace.hold_id,
            active_hold(now),
        )
        .correlate(QuotaSeat)
    )


def _seat_sold() -> ColumnElement[bool]:
    """The ``QuotaSeat``'s seat is on a valid ticket (the partial index of valid seats)."""
    return (
        exists()
        .where(
            Ticket.performance_id == QuotaSeat.performance_id,
            Ticket.seat_id == QuotaSeat.seat_id,
            Ticket.state == TicketState.VALID,
        )
        .correlate(QuotaSeat)
    )


def seat_unavailable_reason(place: SeatPlace | None) -> str | None:
    """``seat_not_in_quota``, ``seat_sold`` or ``seat_held`` (in that order), None when free."""
    if place is None:
        return "seat_not_in_quota"
    if place.sold:
        return "seat_sold"
    if place.held:
        return "seat_held"
    return None


def _as_number(number: str) -> int | None:
    return int(number) if number.isdigit() else None


def best_seats(free: Sequence[SeatPlace], quantity: int) -> list[SeatPlace] | None:
    """``quantity`` seats among ``free`` (in the box office's order): side by side in one row
    where some row has them (the first such run), else the first ones in the box office's
    order. None when there are not enough."""
    if quantity <= 0 or len(free) < quantity:
        return None
    by_row = lambda seat: (seat.performance_id, seat.block_id, seat.row)  # noqa: E731
    rows: dict[tuple[int, int, str], list[SeatPlace]] = {}
    for seat in free:
        rows.setdefault(by_row(seat), []).append(seat)
    for seats in rows.values():
        ordered = sorted(
            seats,
            key=lambda s: (_as_number(s.number) is None, _as_number(s.number) or 0, s.seat_id),
        )
        run: list[SeatPlace] = []
        for seat in ordered:
            number = _as_number(seat.number)
            previous = _as_number(run[-1].number) if run else None
            if run and number is not None and previous is not None and number == previous + 1:
                run.append(seat)
            else:
                run = [seat]
            if len(run) == quantity:
                return run
    return list(free[:quantity])


def clear_expired_claims(session: Session, claims: Collection[str], now: dt.datetime) -> None:
    """Take over the seats of holds that are no longer active: their places give up these
    ``seat_claim`` values (the unique claim then goes to the new hold or ticket)."""
    if not claims:
        return
    session.execute(
        update(RealtimeHoldPlace)
        .where(
            RealtimeHoldPlace.seat_claim.in_(sorted(set(claims))),
            RealtimeHoldPlace.hold_id.in_(select(RealtimeHold.id).where(~active_hold(now))),
        )
        .values(seat_claim=None)
        .execution_options(synchronize_session=False)
    )


def take_counted_places(
    counts: Sequence[PlaceCount], taken: dict[tuple[int, int | None], int], quantity: int
) -> list[tuple[int, int | None]] | None:
    """``quantity`` counted places (``(quota_id, block_id)`` each) from these counts of one
    category, less the places this request already ``taken`` (updated), or None when there
    are not enough: the lowest quota (and block) first."""
    sources: list[tuple[int, int | None]] = []
    for count in counts:
        key = (count.quota_id, count.block_id)
        left = count.available - taken.get(key, 0)
        while left > 0 and len(sources) < quantity:
            sources.append(key)
            left -= 1
    if len(sources) < quantity:
        return None
    for key in sources:
        taken[key] = taken.get(key, 0) + 1
    return sources


def counted_available(
    counts: Sequence[PlaceCount], taken: dict[tuple[int, int | None], int]
) -> int:
    """Counted places of these counts still free for this request."""
    return sum(
        max(0, count.available - taken.get((count.quota_id, count.block_id), 0)) for count in counts
    )


# --------------------------------------------------------------------------- claiming


def offered_categories(
    session: Session, reseller: ResellerContext, quotas: Sequence[ResellerQuota]
) -> dict[tuple[int, int], str]:
    """The (performance, category) pairs a hold may ask for, with their placement: places of
    the category in the reseller's quotas and a tariff opened on its channel. One query, no
    place counted."""
    ids = sorted({quota.id for quota in quotas})
    if not ids:
        return {}
    rows = session.execute(
        _offered_query(),
        {
            "channel_id": reseller.channel_id,
            "quota_ids": ids,
            "performance_ids": sorted({q.performance_id for q in quotas}),
        },
    ).all()
    offered: dict[tuple[int, int], str] = {}
    for performance, category, kind in sorted(rows, key=lambda r: [SEATED, FREE, NONE].index(r[2])):
        offered.setdefault((performance, category), kind)
    return offered


@functools.cache
def _offered_query() -> Any:
    """The query of :func:`offered_categories`, built once per process."""
    ids: BindParameter[Any] = bindparam("quota_ids", expanding=True)
    channel = bindparam("channel_id", type_=Integer)
    tariffed = (
        select(RealtimeChannelTariff.performance_id, RealtimeChannelTariff.category_id)
        .where(
            RealtimeChannelTariff.channel_id == channel,
            RealtimeChannelTariff.performance_id.in_(bindparam("performance_ids", expanding=True)),
        )
        .distinct()
        .subquery()
    )
    seated = select(tariffed.c.performance_id, tariffed.c.category_id, literal(SEATED)).where(
        exists().where(  # stops at the first seat of the category: no DISTINCT over the quota
            QuotaSeat.quota_id.in_(ids),
            QuotaSeat.performance_id == tariffed.c.performance_id,
            QuotaSeat.seat_id == Seat.id,
            Seat.category_id == tariffed.c.category_id,
        )
    )
    free = (
        select(Quota.performance_id, Block.category_id, literal(FREE))
        .select_from(QuotaFreePlaces)
        .join(Quota, QuotaFreePlaces.quota_id == Quota.id)
        .join(Block, QuotaFreePlaces.block_id == Block.id)
        .where(Quota.id.in_(ids), Block.free_placement, Block.category_id.is_not(None))
    )
    passes = select(Quota.performance_id, Quota.category_id, literal(NONE)).where(
        Quota.id.in_(ids), Quota.places.is_not(None), Quota.category_id.is_not(None)
    )
    places = union_all(seated, free, passes).subquery()
    performance_id, category_id, placement = places.c
    return select(performance_id, category_id, placement).where(
        exists().where(
            RealtimeChannelTariff.channel_id == channel,
            RealtimeChannelTariff.performance_id == performance_id,
            RealtimeChannelTariff.category_id == category_id,
        )
    )


CANDIDATE_SEATS = 250
"""Best seats are looked for among this many free seats at most, the first in the box
office's order (10 rows of 25 in an arena): the query stays bounded whatever the quota's
size."""


def best_free_seats(
    session: Session,
    quota_ids: Collection[int],
    performance_id: int,
    category_id: int,
    quantity: int,
    now: dt.datetime,
    excluded: Collection[int] = (),
) -> tuple[list[SeatPlace], int]:
    """``quantity`` free seats of a category of the reseller's quotas, and how many are free
    (exact when fewer than :data:`CANDIDATE_SEATS`): side by side in one row where some row
    has them (the row whose first free seat comes first in the box office's order, its first
    run of consecutive numbers), else the first free ones in the box office's order; ``[]``
    when there are not enough. The candidates are the first :data:`CANDIDATE_SEATS` free
    seats. One query that returns at most ``quantity`` rows, the runs found by window
    functions in the database: no seat list is read. It guarantees nothing: the caller
    claims the seats it returns."""
    if not quota_ids or quantity <= 0:
        return [], 0
    rows = session.execute(
        _best_seats_query(bool(excluded)),
        {
            "quota_ids": sorted(set(quota_ids)),
            "performance_id": performance_id,
            "category_id": category_id,
            "now": utc(now),
            "candidates": max(CANDIDATE_SEATS, 20 * quantity),
            "quantity": quantity,
            "excluded": sorted(set(excluded)),
        },
    ).all()
    free_count = int(rows[0][-1]) if rows else 0
    if len(rows) < quantity:
        return [], free_count
    return [
        SeatPlace(seat, performance_id, category_id, block, area, row, number, quota, False, False)
        for seat, block, area, row, number, quota, _ in rows
    ], free_count


@functools.cache
def _best_seats_query(excluding: bool) -> Any:
    """The query of :func:`best_free_seats`, built once per process (its values bound at
    each run: building and keying a statement of this size costs more Python than running
    it); ``excluding``: with the ``excluded`` seats left out."""
    numeric = and_(Seat.number != "", func.ltrim(Seat.number, "0123456789") == "")
    ids: BindParameter[Any] = bindparam("quota_ids", expanding=True)
    quantity = bindparam("quantity", type_=Integer)
    held, sold = _seat_owners(ids, bindparam("now", type_=RealtimeHold.expires_at.type))
    conditions = [
        QuotaSeat.quota_id.in_(ids),
        QuotaSeat.performance_id == bindparam("performance_id", type_=Integer),
        Seat.category_id == bindparam("category_id", type_=Integer),
        ~held,
        ~sold,
    ]
    if excluding:
        conditions.append(QuotaSeat.seat_id.not_in(bindparam("excluded", expanding=True)))
    free = (
        select(
            Seat.id.label("seat_id"),
            QuotaSeat.quota_id,
            Seat.block_id,
            Block.code.label("area"),
            Seat.row,
            Seat.number,
            case((numeric, cast(Seat.number, Integer)), else_=None).label("n"),
        )
        .join(Seat, QuotaSeat.seat_id == Seat.id)
        .join(Block, Seat.block_id == Block.id)
        .where(*conditions)
        .order_by(QuotaSeat.seat_id)
        .limit(bindparam("candidates", type_=Integer))
        .cte("free_seat")
    )
    in_row = [free.c.block_id, free.c.row]
    ranked = select(
        free,
        func.min(free.c.seat_id).over(partition_by=in_row).label("row_first"),
        (
            free.c.n
            - func.row_number().over(
                partition_by=[*in_row, free.c.n.is_(None)], order_by=[free.c.n, free.c.seat_id]
            )
        ).label("run_key"),
        func.count().over().label("free_count"),
    ).cte("ranked_seat")
    in_run = [ranked.c.block_id, ranked.c.row, ranked.c.run_key]
    runs = select(
        ranked,
        func.count().over(partition_by=in_run).label("run_size"),
        func.row_number()
        .over(partition_by=in_run, order_by=[ranked.c.n, ranked.c.seat_id])
        .label("run_position"),
        func.min(ranked.c.n).over(partition_by=in_run).label("run_start"),
    ).cte("run")
    chosen_run = and_(
        runs.c.run_key.is_not(None),
        runs.c.run_size >= quantity,
        runs.c.run_position <= quantity,
    )
    return (
        select(
            runs.c.seat_id,
            runs.c.block_id,
            runs.c.area,
            runs.c.row,
            runs.c.number,
            runs.c.quota_id,
            runs.c.free_count,
        )
        .order_by(
            case((chosen_run, 0), else_=1),
            case((chosen_run, runs.c.row_first), else_=None),
            case((chosen_run, runs.c.run_start), else_=None),
            case((chosen_run, runs.c.run_position), else_=None),
            runs.c.seat_id,
        )
        .limit(quantity)
    )


def take_over_claims(session: Session, claims: Collection[str], now: dt.datetime) -> None:
    """Take over these seats from holds that are no longer active: their places give up the
    claims (an ``UPDATE`` of the claim rows, which waits for a transaction updating the same
    rows, an order of that hold, and then leaves a claim that order cleared). Usually no row.
    A hold still active keeps its claim: the insert then conflicts (seat held)."""
    if not claims:
        return
    session.execute(
        update(RealtimeHoldPlace)
        .where(
            RealtimeHoldPlace.seat_claim.in_(sorted(set(claims))),
            RealtimeHoldPlace.hold_id.in_(select(RealtimeHold.id).where(~active_hold(now))),
        )
        .values(seat_claim=None)
        .execution_options(synchronize_session=False)
    )


def hold_place_order() -> tuple[Any, ...]:
    """The order of a hold's places, ``HP1``, ``HP2``... (the order of the lines): by their
    codes' numbers. Not their row ids: places are inserted in the order of their seat claims
    (:func:`insert_places`)."""
    return (
        RealtimeHoldPlace.hold_id,
        func.length(RealtimeHoldPlace.code),
        RealtimeHoldPlace.code,
    )


def insert_places(session: Session, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert hold places (``realtime_hold_place`` columns), claiming their seats; the claims
    that another place holds (nothing inserted for them). ``ON CONFLICT DO NOTHING`` waits for
    a transaction inserting or clearing the same claim, so a claim is only refused for a
    committed owner. One statement.

    The rows go in the order of their claims, whatever the order of the lines: two requests
    naming the same seats in opposite orders then meet at their first common seat, where one
    waits for the other, and never each wait for the other (a deadlock)."""
    if not rows:
        return set()
    rows = sorted(
        rows, key=lambda row: (row.get("seat_claim") is None, row.get("seat_claim") or "")
    )
    table: Any = RealtimeHoldPlace.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(table).on_conflict_do_nothing(
            index_elements=[table.c.seat_claim]
        )
    elif dialect == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=[table.c.seat_claim])
    else:  # pragma: no cover - the box office runs on PostgreSQL or SQLite
        statement = insert(table)
    # The table's insert with parameters (Core: every row with every column, in this order;
    # one statement compiled once, sent as one INSERT by insertmanyvalues).
    inserted = set(session.scalars(statement.returning(table.c.seat_claim), list(rows)).all())
    return {
        row["seat_claim"]
        for row in rows
        if row.get("seat_claim") is not None and row["seat_claim"] not in inserted
    }


def sold_seats(
    session: Session, seats: Collection[tuple[int, int | None]]
) -> set[tuple[int, int | None]]:
    """Which of these (performance, seat) pairs a valid ticket holds (a fresh statement: run
    after claiming them, it sees every ticket of a claim's earlier holder)."""
    if not seats:
        return set()
    return {
        (performance_id, seat_id)
        for performance_id, seat_id in session.execute(
            select(Ticket.performance_id, Ticket.seat_id).where(
                Ticket.state == TicketState.VALID,
                tuple_(Ticket.performance_id, Ticket.seat_id).in_(sorted(set(seats))),
            )
        )
    }


def lock_best_seats(session: Session, categories: Collection[tuple[int, int]]) -> None:
    """Take, waiting, the pick of best seats of these (performance, category) pairs until
    the transaction ends (PostgreSQL: a transaction-level advisory lock per pair, in order;
    SQLite serialises writers itself). Requests for the best seats of a category then pick
    one after the other, each seeing the claims of those before it, instead of all picking
    the same seats and all but one picking again: one query per request, as the bare SQL
    client's quota lock gives it. The claims alone still decide who gets a seat (a hold
    naming its seats takes no such lock). Taken after any quota lock, never before."""
    if not categories or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        select(
            *(
                func.pg_advisory_xact_lock(literal(best_seats_lock_id(*pair), BigInteger))
                for pair in sorted(set(categories))
            )
        )
    )


def best_seats_lock_id(performance_id: int, category_id: int) -> int:
    """The signed 64-bit advisory lock id of the best seats of a category of a performance:
    a hash, apart from the idempotency store's (another text hashed)."""
    digest = hashlib.sha256(f"best-seats:{performance_id}:{category_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
