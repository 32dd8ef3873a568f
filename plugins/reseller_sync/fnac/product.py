"""What a product is made of at FNAC, read from the box office for the onboarding steps.

One load gives the product with its venue and performances, FNAC's quota on
each performance (the channel and quota code of the settings), the places
that quota holds (seats one by one, free-placement places by block) and the
product's prices. The seats come back as pandas frames: the demo concert
holds about a thousand seats per performance, and the PLACES file maps them
column by column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from reseller_sync.boxoffice.models import (
    Block,
    Performance,
    Price,
    Product,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    SalesChannel,
    Seat,
    SeatCategory,
    Tariff,
    Zone,
)
from reseller_sync.domain.products import SEATED_KINDS, ProductKind
from reseller_sync.fnac.settings import FnacSettings

SEAT_COLUMNS = ["performance_id", "quota_code", "zone", "block", "row", "number", "category"]
FREE_COLUMNS = ["performance_id", "quota_code", "zone", "block", "category", "places"]
PRICE_COLUMNS = [
    "performance_id",
    "category",
    "category_name",
    "tariff",
    "tariff_name",
    "amount",
    "currency",
]


@dataclass(frozen=True)
class FnacProduct:
    """A product and what FNAC holds of it, as the box office says now."""

    product: Product
    timezone: ZoneInfo
    """The venue's time zone: performance starts are wall-clock times in it."""
    quotas: dict[int, Quota]
    """FNAC's quota on each performance that has one, by performance id."""
    seats: pd.DataFrame
    """One row per seat in FNAC's quotas (:data:`SEAT_COLUMNS`), in seat order."""
    free_places: pd.DataFrame
    """One row per free-placement block with places in FNAC's quotas (:data:`FREE_COLUMNS`)."""
    prices: pd.DataFrame
    """Every price of the product (:data:`PRICE_COLUMNS`), at any tariff."""

    @property
    def code(self) -> str:
        return self.product.code

    @property
    def kind(self) -> ProductKind:
        return ProductKind(self.product.kind)

    @property
    def seated(self) -> bool:
        return self.kind in SEATED_KINDS

    @property
    def performances(self) -> Sequence[Performance]:
        """In date order; undated ones (passes) after the dated ones."""
        return sorted(
            self.product.performances,
            key=lambda p: (p.starts_at is None, p.starts_at or dt.datetime.min, p.id),
        )

    def places_by_category(self) -> pd.DataFrame:
        """Places of FNAC's quota per performance and category (``performance_id``,
        ``category``, ``places``); for passes, the quota's places under each category
        the pass is priced in."""
        if self.seated:
            seats = self.seats.groupby(["performance_id", "category"]).size().rename("places")
            free = self.free_places.groupby(["performance_id", "category"])["places"].sum()
            both = pd.concat([seats, free]).groupby(level=[0, 1]).sum()
            return both.reset_index().astype({"places": "int64"})
        categories = self.prices[["performance_id", "category"]].drop_duplicates()
        held = pd.Series(
            {pid: quota.places or 0 for pid, quota in self.quotas.items()}, dtype="int64"
        )
        places = categories["performance_id"].map(held).fillna(0).astype("int64")
        return categories.assign(places=places).reset_index(drop=True)

    def local(self, wall_clock: dt.datetime) -> dt.datetime:
        """A venue wall-clock time as an aware datetime."""
        return wall_clock.replace(tzinfo=self.timezone)


def performance_label(performance: Performance) -> str:
    """How a person recognises a performance: its code and its date or validity."""
    if performance.starts_at is not None:
        return f"performance {performance.code} ({performance.starts_at:%d/%m/%Y %H:%M})"
    if performance.valid_from is not None or performance.valid_until is not None:
        start = f"{performance.valid_from:%d/%m/%Y}" if performance.valid_from else "…"
        end = f"{performance.valid_until:%d/%m/%Y}" if performance.valid_until else "…"
        return f"validity {performance.code} ({start} to {end})"
    return f"validity {performance.code} (undated)"


def last_valid_day(performance: Performance) -> dt.date | None:
    """A pass's last valid day: the end of its validity, else the day of its dated visit."""
    if performance.valid_until is not None:
        return performance.valid_until
    return performance.starts_at.date() if performance.starts_at is not None else None


def load_product(session: Session, product_code: str) -> Product | None:
    """The product with its venue, configuration and performances; None when unknown."""
    return session.scalar(
        select(Product)
        .where(Product.code == product_code)
        .options(
            selectinload(Product.venue),
            selectinload(Product.configuration),
            selectinload(Product.performances),
        )
    )


def load_fnac_product(session: Session, settings: FnacSettings, product: Product) -> FnacProduct:
    """What FNAC holds of ``product``: its quota on each performance, the places, the prices."""
    channel, quota_code = settings.boxoffice.channel, settings.boxoffice.quota
    quotas = session.scalars(
        select(Quota)
        .join(SalesChannel, SalesChannel.id == Quota.channel_id)
        .join(Performance, Performance.id == Quota.performance_id)
        .where(
            Performance.product_id == product.id,
            SalesChannel.code == channel,
            Quota.code == quota_code,
        )
    ).all()
    quota_ids = [quota.id for quota in quotas]
    seats = session.execute(
        select(
            QuotaSeat.performance_id,
            Quota.code,
            Zone.code,
            Block.code,
            Seat.row,
            Seat.number,
            SeatCategory.code,
        )
        .join(Quota, Quota.id == QuotaSeat.quota_id)
        .join(Seat, Seat.id == QuotaSeat.seat_id)
        .join(Block, Block.id == Seat.block_id)
        .join(Zone, Zone.id == Block.zone_id)
        .join(SeatCategory, SeatCategory.id == Seat.category_id)
        .where(QuotaSeat.quota_id.in_(quota_ids))
        .order_by(QuotaSeat.performance_id, Seat.id)
    ).all()
    free = session.execute(
        select(
            Quota.performance_id,
            Quota.code,
            Zone.code,
            Block.code,
            SeatCategory.code,
            QuotaFreePlaces.places,
        )
        .join(Quota, Quota.id == QuotaFreePlaces.quota_id)
        .join(Block, Block.id == QuotaFreePlaces.block_id)
        .join(Zone, Zone.id == Block.zone_id)
        .join(SeatCategory, SeatCategory.id == Block.category_id)
        .where(QuotaFreePlaces.quota_id.in_(quota_ids), QuotaFreePlaces.places > 0)
        .order_by(Quota.performance_id, Zone.code, Block.code)
    ).all()
    prices = session.execute(
        select(
            Price.performance_id,
            SeatCategory.code,
            SeatCategory.name,
            Tariff.code,
            Tariff.name,
            Price.amount,
            Price.currency,
        )
        .join(Performance, Performance.id == Price.performance_id)
        .join(SeatCategory, SeatCategory.id == Price.category_id)
        .join(Tariff, Tariff.id == Price.tariff_id)
        .where(Performance.product_id == product.id)
        .order_by(Price.performance_id, SeatCategory.code, Tariff.code)
    ).all()
    timezone = ZoneInfo(product.venue.timezone or settings.boxoffice.venue_timezone)
    return FnacProduct(
        product=product,
        timezone=timezone,
        quotas={quota.performance_id: quota for quota in quotas},
        seats=_frame(seats, SEAT_COLUMNS),
        free_places=_frame(free, FREE_COLUMNS).astype({"places": "int64"}),
        prices=_frame(prices, PRICE_COLUMNS).astype({"amount": "int64"}),
    )


def _frame(rows: Sequence[object], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame([tuple(row) for row in rows], columns=columns)  # type: ignore[arg-type]
    text_columns = [c for c in columns if c not in ("performance_id", "places", "amount")]
    return frame.astype({column: "str" for column in text_columns} | {"performance_id": "int64"})
