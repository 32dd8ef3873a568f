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

from sqlalchemy.orm import Session

from reseller_sync.domain.errors import Problem
from reseller_sync.integration import prices
from reseller_sync.integration.prices import PRICE_KEY, check_prices
from reseller_sync.secutix.reseller_type import RESELLER_TYPE
from reseller_sync.secutix.settings import SecutixSettings


def _amount(minor_units: int) -> str:
    return f"{minor_units / 100:.2f}"


@dataclass(frozen=True)
class PriceFinding(prices.PriceFinding):
    """The reseller's latest price for a performance, seat category and tariff, when it is
    not the box office's (box-office codes); ``commission`` is its ``COMMISSION``."""

    def to_problem(self, includes_commission: bool) -> Problem:
        basis = "commission included" if includes_commission else "commission excluded"
        return Problem(
            f"{self.product} {self.performance}, seat category {self.category}, tariff "
            f"{self.tariff}: {RESELLER_TYPE.name} {_amount(self.price)} {self.currency} "
            f"({basis}; commission {_amount(self.commission)}), {self.box_office(_amount)}; "
            f"{self.tickets} ticket(s), last sold {self.last_sold_at:%Y-%m-%d %H:%M}",
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
    return check_prices(session, settings.reseller_code, codes, today, PriceFinding, PRICE_KEY)
