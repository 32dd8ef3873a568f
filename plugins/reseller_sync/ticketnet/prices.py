"""Price verification: Ticketnet's prices, as its sales show them, against the box office's
(``ticketnet-exchange-v1`` sections 7.1, 8.1 and 9.1 points 8 and 10).

For each performance, price level (the box office's seat category) and price type of the
settings' products, the price of Ticketnet's latest sale (test tickets aside) is compared
with the box-office price of the tariff the price type stands for. A ticket's price is
recorded as the settings say (``prices.includes_commission``): ``amount``, Ticketnet's
face value, or ``amount`` + ``fees``; the box-office price is on the same basis. Past
performances are left out. A difference, or a sale at a combination the box office does
not price, is a finding for an external alert; nothing is changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from reseller_sync.domain.errors import Problem
from reseller_sync.integration import prices
from reseller_sync.integration.prices import latest_sales, prices_that_differ
from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE
from reseller_sync.ticketnet.settings import TicketnetSettings

SALE_KEY = ["performance_id", "category_id", "reseller_category"]
"""Ticketnet's latest sale is taken per performance × price level × price type."""


def _euros(cents: int) -> str:
    return f"{cents / 100:.2f}"


@dataclass(frozen=True)
class PriceFinding:
    """Ticketnet's latest price for a performance, price level and price type, when it is
    not the box office's."""

    product: str
    performance: str
    category: str
    """The box office's seat category (Ticketnet's price level)."""
    price_type: str
    tariff: str
    """The tariff the price type stands for."""
    price: int
    """Ticketnet's price as the box office records it, in cents."""
    fees: int
    """Ticketnet's fees on the sale, in cents."""
    currency: str
    box_office_price: int | None
    """None when the box office has no price for this combination."""
    box_office_currency: str | None
    tickets: int
    """Ticketnet tickets sold at this price."""
    last_sold_at: dt.datetime

    def to_problem(self, includes_commission: bool) -> Problem:
        basis = "fees included" if includes_commission else "fees excluded"
        ours = (
            "no box-office price"
            if self.box_office_price is None
            else f"box office {_euros(self.box_office_price)} {self.box_office_currency}"
        )
        return Problem(
            f"{self.product} {self.performance}, category {self.category}, price type "
            f"{self.price_type} (tariff {self.tariff}): Ticketnet {_euros(self.price)} "
            f"{self.currency} ({basis}; fees {_euros(self.fees)}), {ours}; {self.tickets} "
            f"ticket(s), last sold {self.last_sold_at:%Y-%m-%d %H:%M}",
            value=_euros(self.price),
        )


PriceCheck = prices.PriceCheck[PriceFinding]


def verify_prices(
    session: Session,
    settings: TicketnetSettings,
    today: dt.date,
    products: Sequence[str] | None = None,
) -> PriceCheck:
    """Compare Ticketnet's latest sale price with the box office's, per performance, price
    level and price type, for ``products`` (default: the settings') on performances not past
    ``today``."""
    codes = tuple(products) if products is not None else tuple(settings.product_codes)
    sales = latest_sales(session, RESELLER_TYPE.code, codes, today, SALE_KEY)
    if sales.empty:
        return PriceCheck(codes, 0)
    differing, compared = prices_that_differ(session, sales)
    findings = tuple(
        PriceFinding(
            product=row.product,
            performance=row.performance,
            category=row.category,
            price_type=row.reseller_category,
            tariff=row.tariff,
            price=int(row.price),
            fees=int(row.commission),
            currency=row.currency,
            box_office_price=None if pd.isna(row.box_office_price) else int(row.box_office_price),
            box_office_currency=None
            if pd.isna(row.box_office_currency)
            else str(row.box_office_currency),
            tickets=int(row.tickets),
            last_sold_at=row.sold_at,
        )
        for row in differing.itertuples(index=False)
    )
    return PriceCheck(codes, compared, findings)
