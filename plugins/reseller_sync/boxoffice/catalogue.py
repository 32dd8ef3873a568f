"""Read-only questions to the box office about what a product uses.

Plain functions of a Session returning small frozen dataclasses: the mapping
check asks them, and so may any step that needs to know what a product is
made of at a reseller (its configuration, the blocks of the reseller's quota,
the categories and tariffs priced for it).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session

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
    ResellerCustomerCategory,
    SalesChannel,
    Seat,
    SeatCategory,
    SeatingConfiguration,
    Tariff,
    Zone,
)
from reseller_sync.domain.products import ProductKind

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class ProductSummary:
    code: str
    name: str
    kind: ProductKind
    configuration: str | None
    """The seating configuration's code (seated kinds only)."""
    performances: int


@dataclass(frozen=True, order=True)
class BlockRef:
    zone: str
    block: str


@dataclass(frozen=True, order=True)
class PricedCombination:
    category: str
    tariff: str


@dataclass(frozen=True)
class CustomerCategory:
    code: str
    label: str
    active: bool


def product_summary(session: Session, product_code: str) -> ProductSummary | None:
    """The product's kind, configuration and number of performances; None when unknown."""
    row = session.execute(
        select(Product.id, Product.code, Product.name, Product.kind, SeatingConfiguration.code)
        .outerjoin(SeatingConfiguration, Product.configuration_id == SeatingConfiguration.id)
        .where(Product.code == product_code)
    ).one_or_none()
    if row is None:
        return None
    product_id, code, name, kind, configuration = row
    count = session.scalar(
        select(func.count()).select_from(Performance).where(Performance.product_id == product_id)
    )
    return ProductSummary(code, name, ProductKind(kind), configuration, count or 0)


def is_on_channel(session: Session, product_code: str, channel_code: str) -> bool:
    """Whether the product is on sale in the channel."""
    found = session.scalar(
        select(ProductChannel.product_id)
        .join(Product, Product.id == ProductChannel.product_id)
        .join(SalesChannel, SalesChannel.id == ProductChannel.channel_id)
        .where(Product.code == product_code, SalesChannel.code == channel_code)
    )
    return found is not None


def channel_quota_codes(session: Session, product_code: str, channel_code: str) -> tuple[str, ...]:
    """The codes of the channel's quotas on the product's performances."""
    codes = session.scalars(
        select(Quota.code)
        .distinct()
        .join(Performance, Performance.id == Quota.performance_id)
        .join(Product, Product.id == Performance.product_id)
        .join(SalesChannel, SalesChannel.id == Quota.channel_id)
        .where(Product.code == product_code, SalesChannel.code == channel_code)
    )
    return tuple(sorted(codes))


def quota_blocks(session: Session, product_code: str, quota_code: str) -> tuple[BlockRef, ...]:
    """The blocks that hold seats or free places of the quota, on any performance."""
    quotas = (
        select(Quota.id)
        .join(Performance, Performance.id == Quota.performance_id)
        .join(Product, Product.id == Performance.product_id)
        .where(Product.code == product_code, Quota.code == quota_code)
    )
    seated = (
        select(Seat.block_id)
        .join(QuotaSeat, QuotaSeat.seat_id == Seat.id)
        .where(QuotaSeat.quota_id.in_(quotas))
    )
    free = select(QuotaFreePlaces.block_id).where(QuotaFreePlaces.quota_id.in_(quotas))
    block_ids = union(seated, free).subquery()
    rows = session.execute(
        select(Zone.code, Block.code)
        .join(Block, Block.zone_id == Zone.id)
        .where(Block.id.in_(select(block_ids.c[0])))
        .order_by(Zone.code, Block.code)
    )
    return tuple(BlockRef(zone, block) for zone, block in rows)


def priced_combinations(
    session: Session, product_code: str, tariff_codes: Collection[str]
) -> tuple[PricedCombination, ...]:
    """The (category, tariff) pairs priced on some performance, among ``tariff_codes``."""
    rows = session.execute(
        select(SeatCategory.code, Tariff.code)
        .distinct()
        .select_from(Price)
        .join(SeatCategory, SeatCategory.id == Price.category_id)
        .join(Tariff, Tariff.id == Price.tariff_id)
        .join(Performance, Performance.id == Price.performance_id)
        .join(Product, Product.id == Performance.product_id)
        .where(Product.code == product_code, Tariff.code.in_(list(tariff_codes)))
    )
    return tuple(sorted(PricedCombination(category, tariff) for category, tariff in rows))


def customer_categories(session: Session, reseller_code: str) -> dict[str, CustomerCategory]:
    """The reseller's customer categories as its last list gave them (empty: none received)."""
    rows = session.execute(
        select(
            ResellerCustomerCategory.code,
            ResellerCustomerCategory.label,
            ResellerCustomerCategory.active,
        ).where(ResellerCustomerCategory.reseller_code == reseller_code)
    )
    return {code: CustomerCategory(code, label, bool(active)) for code, label, active in rows}


PRICE_COLUMNS = ("performance_id", "category_id", "tariff_id", "amount", "currency")


def performance_prices(session: Session, performance_ids: Sequence[int]) -> pd.DataFrame:
    """The box office's prices of the performances, one row per category and tariff:
    :data:`PRICE_COLUMNS`, the currency as its code (``EUR``)."""
    import pandas as pd

    prices = pd.DataFrame(
        session.execute(
            select(
                Price.performance_id,
                Price.category_id,
                Price.tariff_id,
                Price.amount,
                Price.currency,
            ).where(Price.performance_id.in_([int(p) for p in performance_ids]))
        ).all(),
        columns=list(PRICE_COLUMNS),
    )
    prices["currency"] = prices["currency"].map(lambda currency: Currency(currency).value)
    return prices


SEAT_COLUMNS = ("seat_id", "block_id", "row", "number", "category_id")


def seats_of_blocks(session: Session, block_ids: Sequence[int]) -> pd.DataFrame:
    """Every seat of the blocks: :data:`SEAT_COLUMNS`, row and number as text."""
    import pandas as pd

    from reseller_sync.boxoffice.bulk import matching

    rows: list[tuple[int, int, str, str, int]] = []
    for condition in matching(session, Seat.block_id, [int(b) for b in block_ids]):
        rows.extend(
            session.execute(
                select(Seat.id, Seat.block_id, Seat.row, Seat.number, Seat.category_id).where(
                    condition
                )
            )
        )
    seats = pd.DataFrame(rows, columns=list(SEAT_COLUMNS))
    return seats.astype({"block_id": "int64", "row": "str", "number": "str"})


def ids_by_code(session: Session, model: type[SeatCategory] | type[Tariff]) -> dict[str, int]:
    """The box office's seat categories or tariffs: code → id."""
    return {code: id_ for id_, code in session.execute(select(model.id, model.code))}
