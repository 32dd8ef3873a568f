"""A reseller's latest sale prices against the box office's, whatever the reseller: the
nightly price verification's comparison.

:func:`check_prices` compares a reseller's latest sales with the box office's prices and
gives each difference as a :class:`PriceFinding`; an adapter subclasses it only to say it
in its own words (:meth:`PriceFinding.to_problem`) and units."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.catalogue import performance_prices
from reseller_sync.boxoffice.models import (
    Currency,
    Order,
    Performance,
    Product,
    SeatCategory,
    Tariff,
    Ticket,
)

F = TypeVar("F")


@dataclass(frozen=True)
class PriceCheck(Generic[F]):
    """What a nightly price verification compared, and what it found different (each
    finding in the reseller's words)."""

    products: tuple[str, ...]
    compared: int
    """Combinations sold at the reseller and compared with the box office's prices."""
    findings: tuple[F, ...] = ()

    def summary(self) -> dict[str, object]:
        return {
            "products": list(self.products),
            "compared": self.compared,
            "differences": len(self.findings),
        }


PRICE_KEY = ["performance_id", "category_id", "tariff_id"]
"""What a price is the price of: a performance, a seat category and a tariff."""


def prices_that_differ(session: Session, sales: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``sales`` (one row per :data:`PRICE_KEY`, with the reseller's ``price`` and
    ``currency``) beside the box office's ``box_office_price`` and ``box_office_currency``;
    the rows whose price has no box-office price or another amount or currency, and how
    many rows were compared."""
    prices = performance_prices(session, sales["performance_id"].unique()).rename(
        columns={"amount": "box_office_price", "currency": "box_office_currency"}
    )
    compared = sales.merge(prices, on=PRICE_KEY, how="left")
    differs = (
        compared["box_office_price"].isna()
        | (compared["box_office_price"] != compared["price"])
        | (compared["box_office_currency"] != compared["currency"])
    )
    return compared[differs], len(compared)


def latest_sales(
    session: Session,
    reseller: str,
    products: Sequence[str],
    today: dt.date,
    key: Sequence[str] = PRICE_KEY,
) -> pd.DataFrame:
    """Per ``key`` (default :data:`PRICE_KEY`; ``reseller_category``, the reseller's own
    category of the ticket, may stand in it), the reseller's latest sale of ``products``
    on performances not past ``today`` (test tickets left out), with how many ``tickets``
    it sold at that sale's price. Columns: the three of :data:`PRICE_KEY`,
    ``reseller_category`` (empty when none), ``product``, ``performance``, ``starts_at``,
    ``valid_until``, ``category``, ``tariff``, ``price``, ``commission``, ``currency``,
    ``sold_at``, ``ticket_id``, ``tickets``."""
    rows = session.execute(
        select(
            Ticket.performance_id,
            Ticket.category_id,
            Ticket.tariff_id,
            Ticket.reseller_category,
            Product.code,
            Performance.code,
            Performance.starts_at,
            Performance.valid_until,
            SeatCategory.code,
            Tariff.code,
            Ticket.price,
            Ticket.commission,
            Ticket.currency,
            Order.sold_at,
            Ticket.id,
        )
        .join(Order, Order.id == Ticket.order_id)
        .join(Performance, Performance.id == Ticket.performance_id)
        .join(Product, Product.id == Performance.product_id)
        .join(SeatCategory, SeatCategory.id == Ticket.category_id)
        .join(Tariff, Tariff.id == Ticket.tariff_id)
        .where(
            Product.code.in_(list(products)),
            Ticket.reseller_code == reseller,
            Ticket.is_test.is_(False),
        )
    ).all()
    sales = pd.DataFrame(
        [tuple(row) for row in rows],
        columns=[
            *PRICE_KEY,
            "reseller_category",
            "product",
            "performance",
            "starts_at",
            "valid_until",
            "category",
            "tariff",
            "price",
            "commission",
            "currency",
            "sold_at",
            "ticket_id",
        ],
    )
    if sales.empty:
        return sales.assign(tickets=pd.Series(dtype="int64"))
    sales["currency"] = sales["currency"].map(lambda c: Currency(c).value)
    sales["reseller_category"] = sales["reseller_category"].fillna("")
    starts = pd.to_datetime(sales["starts_at"])
    until = pd.to_datetime(sales["valid_until"])
    day = pd.Timestamp(today)
    upcoming = (starts.isna() | (starts >= day)) & (until.isna() | (until >= day))
    sales = sales[upcoming.astype(bool)].sort_values(["sold_at", "ticket_id"])
    latest = sales.drop_duplicates(list(key), keep="last")
    counts = sales.groupby([*key, "price"]).size().rename("tickets").reset_index()
    return latest.merge(counts, on=[*key, "price"], how="left")


@dataclass(frozen=True)
class PriceFinding:
    """The reseller's latest price for a performance, seat category and tariff (box-office
    codes), when it is not the box office's."""

    product: str
    performance: str
    category: str
    tariff: str
    price: int
    """The reseller's price as the box office records it, in minor units."""
    commission: int
    """The reseller's commission on the sale, in minor units."""
    currency: str
    box_office_price: int | None
    """None when the box office has no price for this combination."""
    box_office_currency: str | None
    tickets: int
    """The reseller's tickets sold at this price."""
    last_sold_at: dt.datetime
    reseller_category: str = ""
    """The reseller's own category of the tickets, when it has one (empty otherwise)."""

    @classmethod
    def of_row(cls, row: Any) -> Self:
        """The finding of one row of :func:`prices_that_differ`."""
        return cls(
            product=row.product,
            performance=row.performance,
            category=row.category,
            tariff=row.tariff,
            price=int(row.price),
            commission=int(row.commission),
            currency=row.currency,
            box_office_price=None if pd.isna(row.box_office_price) else int(row.box_office_price),
            box_office_currency=None
            if pd.isna(row.box_office_currency)
            else str(row.box_office_currency),
            tickets=int(row.tickets),
            last_sold_at=row.sold_at,
            reseller_category=row.reseller_category,
        )

    def box_office(self, amount: Callable[[int], object] = str) -> str:
        """The box office's side, its price shown by ``amount``."""
        if self.box_office_price is None:
            return "no box-office price"
        return f"box office {amount(self.box_office_price)} {self.box_office_currency}"


FindingT = TypeVar("FindingT", bound=PriceFinding)


def check_prices(
    session: Session,
    reseller: str,
    products: Sequence[str],
    today: dt.date,
    finding: type[FindingT],
    key: Sequence[str] = PRICE_KEY,
) -> PriceCheck[FindingT]:
    """Compare the reseller's latest sale price (per ``key``, :func:`latest_sales`) of
    ``products`` on performances not past ``today`` with the box office's; each that
    differs a ``finding``."""
    codes = tuple(products)
    sales = latest_sales(session, reseller, codes, today, key)
    if sales.empty:
        return PriceCheck(codes, 0)
    differing, compared = prices_that_differ(session, sales)
    findings = tuple(finding.of_row(row) for row in differing.itertuples(index=False))
    return PriceCheck(codes, compared, findings)
