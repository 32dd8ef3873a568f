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

from sqlalchemy.orm import Session

from reseller_sync.domain.errors import Problem
from reseller_sync.integration import prices
from reseller_sync.integration.prices import check_prices
from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE
from reseller_sync.ticketnet.settings import TicketnetSettings

SALE_KEY = ["performance_id", "category_id", "reseller_category"]
"""Ticketnet's latest sale is taken per performance × price level × price type."""


def _euros(cents: int) -> str:
    return f"{cents / 100:.2f}"


@dataclass(frozen=True)
class PriceFinding(prices.PriceFinding):
    """Ticketnet's latest price for a performance, price level (the box office's seat
    ``category``) and price type, when it is not the box office's; ``tariff`` is the tariff
    the price type stands for, ``price`` and ``fees`` in cents."""

    @property
    def price_type(self) -> str:
        return self.reseller_category

    @property
    def fees(self) -> int:
        """Ticketnet's fees on the sale, in cents."""
        return self.commission

    def to_problem(self, includes_commission: bool) -> Problem:
        basis = "fees included" if includes_commission else "fees excluded"
        return Problem(
            f"{self.product} {self.performance}, category {self.category}, price type "
            f"{self.price_type} (tariff {self.tariff}): Ticketnet {_euros(self.price)} "
            f"{self.currency} ({basis}; fees {_euros(self.fees)}), {self.box_office(_euros)}; "
            f"{self.tickets} ticket(s), last sold {self.last_sold_at:%Y-%m-%d %H:%M}",
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
    return check_prices(session, RESELLER_TYPE.code, codes, today, PriceFinding, SALE_KEY)
