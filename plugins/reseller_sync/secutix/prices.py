"""Nightly price verification: the reseller's prices, as its TICKETS files show them,
against the box office's (``secutix-reseller-v1`` sections 7.1, 8.1 and 9.1 point 5).

The reseller sells at the OFFER's price for each product × performance × seat category ×
tariff (section 8.1). Each new ticket's ``PRICE`` is checked as its file is applied,
under the organiser's price policy (``T17``); this check looks again every night, after
the fact and whatever the policy: for each performance, seat category and tariff of the
settings' products, the price of the reseller's latest sale is compared with the box
office's price now. A ticket's price is recorded as the settings say
(``prices.includes_commission``): ``PRICE``, commission included, or ``PRICE`` −
``COMMISSION``; the box-office price is on the same basis. Past performances (and passes
past their last valid day) are left out. A difference, or a sale at a combination the box
office does not price (any more), is a finding for an external alert; nothing is changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from reseller_sync.domain.errors import Problem
from reseller_sync.integration import prices
from reseller_sync.integration.prices import PRICE_KEY, latest_sales, prices_that_differ
from reseller_sync.secutix.reseller_type import RESELLER_TYPE
from reseller_sync.secutix.settings import SecutixSettings


def _amount(minor_units: int) -> str:
    return f"{minor_units / 100:.2f}"


@dataclass(frozen=True)
class PriceFinding:
    """The reseller's latest price for a performance, seat category and tariff, when it is
    not the box office's (box-office codes)."""

    product: str
    performance: str
    category: str
    tariff: str
    price: int
    """The reseller's price as the box office records it, in minor units."""
    commission: int
    """The reseller's ``COMMISSION`` on the sale, in minor units."""
    currency: str
    box_office_price: int | None
    """None when the box office has no price for this combination."""
    box_office_currency: str | None
    tickets: int
    """The reseller's tickets sold at this price."""
    last_sold_at: dt.datetime

    def to_problem(self, includes_commission: bool) -> Problem:
        basis = "commission included" if includes_commission else "commission excluded"
        ours = (
            "no box-office price"
            if self.box_office_price is None
            else f"box office {_amount(self.box_office_price)} {self.box_office_currency}"
        )
        return Problem(
            f"{self.product} {self.performance}, seat category {self.category}, tariff "
            f"{self.tariff}: {RESELLER_TYPE.name} {_amount(self.price)} {self.currency} "
            f"({basis}; commission {_amount(self.commission)}), {ours}; {self.tickets} "
            f"ticket(s), last sold {self.last_sold_at:%Y-%m-%d %H:%M}",
            column="PRICE",
            value=_amount(self.price),
        )


PriceCheck = prices.PriceCheck[PriceFinding]


def verify_prices(
    session: Session,
    settings: SecutixSettings,
    today: dt.date,
    products: Sequence[str] | None = None,
) -> PriceCheck:
    """Compare the reseller's latest sale price with the box office's, per performance,
    seat category and tariff, for ``products`` (default: the settings') on performances
    not past ``today``."""
    codes = tuple(products) if products is not None else tuple(settings.product_codes)
    sales = latest_sales(session, settings.reseller_code, codes, today, PRICE_KEY)
    if sales.empty:
        return PriceCheck(codes, 0)
    differing, compared = prices_that_differ(session, sales)
    findings = tuple(
        PriceFinding(
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
        )
        for row in differing.itertuples(index=False)
    )
    return PriceCheck(codes, compared, findings)
