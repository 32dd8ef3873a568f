"""The catalogue on a reseller's channel: ``GET /products`` and ``GET /products/{id}`` of
realtime-api-v1 (section 7.2).

Visible: the products on the reseller's channel whose kind it may sell (section 2), their
performances whose sale window on the channel has not closed, the categories where the
channel has places in a quota (its own, or one shared with it), and the tariffs opened on
the channel at the performance's prices. A product, performance or category left with
nothing under it is left out. Four queries, whatever the size of the catalogue.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, and_, literal_column, or_, select, union
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    Block,
    Performance,
    Price,
    Product,
    ProductChannel,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    QuotaSharedChannel,
    RealtimeChannelTariff,
    RealtimeSaleWindow,
    Seat,
    SeatCategory,
    Tariff,
    Venue,
)
from reseller_sync.domain.products import ProductKind
from reseller_sync.realtime.context import ResellerContext
from reseller_sync.realtime.problems import Problem

log = logging.getLogger(__name__)

KINDS: dict[str, tuple[ProductKind, ...]] = {
    "event": (ProductKind.EVENT,),
    "competition": (ProductKind.COMPETITION,),
    "pass": (ProductKind.VISIT_PASS, ProductKind.UNDATED_PASS),
}
"""The contract's kinds and the box office's kinds behind each: a pass is for one person,
dated or not (a group pass, a subscription or a package is no kind of the contract)."""
CONTRACT_KIND = {kind: name for name, kinds in KINDS.items() for kind in kinds}
PLACEMENT_ORDER = ("seated", "free", "none")


def utc_instant(moment: dt.datetime) -> str:
    """An instant as the contract writes it: UTC with ``Z``, milliseconds when it has any.
    A naive value is one read back from SQLite, written in UTC."""
    moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment
    moment = moment.astimezone(dt.UTC)
    timespec = "milliseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def catalogue(session: Session, reseller: ResellerContext, now: dt.datetime) -> dict[str, Any]:
    """The Catalogue object of section 7.2 on the reseller's channel at ``now``."""
    return {
        "reseller_id": reseller.reseller_code,
        "product_kinds": list(reseller.product_kinds),
        "price_check": {"compare": reseller.price_compare, "policy": reseller.price_policy},
        "limits": {
            "max_places_per_hold": reseller.max_places_per_hold,
            "hold_default_seconds": ResellerContext.HOLD_DEFAULT_SECONDS,
            "hold_min_seconds": ResellerContext.HOLD_MIN_SECONDS,
            "hold_max_seconds": ResellerContext.HOLD_MAX_SECONDS,
        },
        "generated_at": utc_instant(now),
        "products": _visible_products(session, reseller, now),
    }


def product(
    session: Session, reseller: ResellerContext, product_id: str, now: dt.datetime
) -> dict[str, Any]:
    """The Product object of section 7.2; ``not-found`` when the reseller may not see it
    (absent, not on its channel, of a kind it may not sell, or nothing on sale in it)."""
    found = _visible_products(session, reseller, now, product_code=product_id)
    if not found:
        raise Problem("not-found", f"no product {product_id!r} on this channel")
    return found[0]


@dataclass
class _Performance:
    row: Performance
    opens_at: dt.datetime
    closes_at: dt.datetime
    placements: dict[int, str] = field(default_factory=dict)
    """Category id -> placement, for the categories where the channel has places."""
    tariffs: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    category_names: dict[int, tuple[str, str]] = field(default_factory=dict)
    """Category id -> (code, name)."""
    currencies: dict[int, str] = field(default_factory=dict)
    """Category id -> currency of its prices."""


def _visible_products(
    session: Session,
    reseller: ResellerContext,
    now: dt.datetime,
    product_code: str | None = None,
) -> list[dict[str, Any]]:
    kinds = [kind for name in reseller.product_kinds for kind in KINDS.get(name, ())]
    if not kinds:
        return []
    channel_id = reseller.channel_id
    products_query = (
        select(Product, Venue, ProductChannel.beneficiary_required)
        .join(Venue, Venue.id == Product.venue_id)
        .join(
            ProductChannel,
            and_(ProductChannel.product_id == Product.id, ProductChannel.channel_id == channel_id),
        )
        .where(Product.kind.in_(kinds))
        .order_by(Product.id)
    )
    if product_code is not None:
        products_query = products_query.where(Product.code == product_code)
    products = session.execute(products_query).all()
    if not products:
        return []

    now_utc = now.astimezone(dt.UTC)
    performances: dict[int, _Performance] = {}
    for performance, opens_at, closes_at in session.execute(
        select(Performance, RealtimeSaleWindow.opens_at, RealtimeSaleWindow.closes_at)
        .join(
            RealtimeSaleWindow,
            and_(
                RealtimeSaleWindow.performance_id == Performance.id,
                RealtimeSaleWindow.channel_id == channel_id,
            ),
        )
        .where(
            Performance.product_id.in_([row.id for row, _, _ in products]),
            RealtimeSaleWindow.closes_at > now_utc,
        )
        .order_by(Performance.id)
    ).all():
        performances[performance.id] = _Performance(performance, opens_at, closes_at)
    if not performances:
        return []

    for performance_id, category_id, placement in session.execute(
        _quota_categories(channel_id, list(performances))
    ).all():
        known = performances[performance_id].placements.get(category_id)
        if known is None or PLACEMENT_ORDER.index(placement) < PLACEMENT_ORDER.index(known):
            performances[performance_id].placements[category_id] = placement

    for (
        performance_id,
        category_id,
        code,
        name,
        tariff_code,
        tariff_name,
        amount,
        currency,
    ) in session.execute(
        select(
            RealtimeChannelTariff.performance_id,
            RealtimeChannelTariff.category_id,
            SeatCategory.code,
            SeatCategory.name,
            Tariff.code,
            Tariff.name,
            Price.amount,
            Price.currency,
        )
        .join(Tariff, Tariff.id == RealtimeChannelTariff.tariff_id)
        .join(SeatCategory, SeatCategory.id == RealtimeChannelTariff.category_id)
        .join(
            Price,
            and_(
                Price.performance_id == RealtimeChannelTariff.performance_id,
                Price.category_id == RealtimeChannelTariff.category_id,
                Price.tariff_id == RealtimeChannelTariff.tariff_id,
            ),
        )
        .where(
            RealtimeChannelTariff.channel_id == channel_id,
            RealtimeChannelTariff.performance_id.in_(list(performances)),
        )
        .order_by(
            RealtimeChannelTariff.performance_id,
            RealtimeChannelTariff.category_id,
            Tariff.id,
        )
    ).all():
        seen = performances[performance_id]
        if category_id not in seen.placements:
            continue  # a tariff opened where the channel has no places
        seen.category_names[category_id] = (code, name)
        seen.currencies.setdefault(category_id, str(currency))
        if seen.currencies[category_id] != str(currency):
            log.warning(
                "performance %s, category %s: prices in %s and %s; %s left out",
                seen.row.code,
                code,
                seen.currencies[category_id],
                currency,
                tariff_code,
            )
            continue
        seen.tariffs[category_id].append({"id": tariff_code, "name": tariff_name, "price": amount})

    by_product: dict[int, list[_Performance]] = defaultdict(list)
    for seen in performances.values():
        by_product[seen.row.product_id].append(seen)
    return [
        written
        for row, venue, beneficiary_required in products
        if (written := _product(row, venue, beneficiary_required, by_product.get(row.id, [])))
        is not None
    ]


def _quota_categories(channel_id: int, performance_ids: Sequence[int]) -> Select[Any]:
    """(performance id, category id, placement) of every category in which the channel has
    places: seats of a quota, free places of a block, or a pass quota's count."""
    visible_quota = select(Quota.id).where(
        Quota.performance_id.in_(performance_ids),
        or_(
            Quota.channel_id == channel_id,
            Quota.id.in_(
                select(QuotaSharedChannel.quota_id).where(
                    QuotaSharedChannel.channel_id == channel_id
                )
            ),
        ),
    )
    seated = (
        select(
            QuotaSeat.performance_id,
            Seat.category_id,
            literal_column("'seated'", String).label("placement"),
        )
        .join(Seat, Seat.id == QuotaSeat.seat_id)
        .where(QuotaSeat.quota_id.in_(visible_quota))
    )
    free = (
        select(
            Quota.performance_id,
            Block.category_id,
            literal_column("'free'", String).label("placement"),
        )
        .join(QuotaFreePlaces, QuotaFreePlaces.quota_id == Quota.id)
        .join(Block, Block.id == QuotaFreePlaces.block_id)
        .where(Quota.id.in_(visible_quota), QuotaFreePlaces.places > 0)
    )
    counted = select(
        Quota.performance_id, Quota.category_id, literal_column("'none'", String).label("placement")
    ).where(Quota.id.in_(visible_quota), Quota.places > 0, Quota.category_id.is_not(None))
    return select(union(seated, free, counted).subquery())


def _product(
    row: Product, venue: Venue, beneficiary_required: bool, performances: list[_Performance]
) -> dict[str, Any] | None:
    """The Product object, or None when nothing is on sale in it. Its currency is the one
    of its first priced category; a category priced in another one is left out (logged)."""
    priced = [
        seen.currencies[category_id]
        for seen in performances
        for category_id in sorted(seen.placements)
        if seen.tariffs.get(category_id)
    ]
    if not priced:
        return None
    currency = priced[0]
    zone = ZoneInfo(venue.timezone)
    written = [
        performance
        for seen in performances
        if (performance := _performance(row, venue.timezone, zone, currency, seen)) is not None
    ]
    return {
        "id": row.code,
        "kind": CONTRACT_KIND[row.kind],
        "name": row.name,
        "venue": {"name": venue.name, "city": venue.city, "country": venue.country},
        "currency": currency,
        "beneficiary_required": beneficiary_required,
        "performances": written,
    }


def _performance(
    row: Product, timezone: str, zone: ZoneInfo, currency: str, seen: _Performance
) -> dict[str, Any] | None:
    for category_id in sorted(seen.placements):
        if seen.tariffs.get(category_id) and seen.currencies[category_id] != currency:
            log.warning(
                "performance %s: category %s priced in %s, its product in %s; left out",
                seen.row.code,
                seen.category_names[category_id][0],
                seen.currencies[category_id],
                currency,
            )
    categories = [
        {
            "id": seen.category_names[category_id][0],
            "name": seen.category_names[category_id][1],
            "placement": seen.placements[category_id],
            "tariffs": seen.tariffs[category_id],
        }
        for category_id in sorted(seen.placements)
        if seen.tariffs.get(category_id) and seen.currencies[category_id] == currency
    ]
    if not categories:
        return None
    performance = seen.row
    is_pass = CONTRACT_KIND[row.kind] == "pass"
    starts_at = performance.starts_at
    return {
        "id": performance.code,
        "starts_at": (
            None
            if is_pass or starts_at is None
            else starts_at.replace(tzinfo=zone).isoformat(timespec="seconds")
        ),
        "timezone": timezone,
        "validity": (
            {
                "from": _date(performance.valid_from),
                "until": _date(performance.valid_until),
            }
            if is_pass
            else None
        ),
        "sale": {"opens_at": utc_instant(seen.opens_at), "closes_at": utc_instant(seen.closes_at)},
        "categories": categories,
    }


def _date(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None
