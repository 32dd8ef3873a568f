"""Price verification: FNAC's prices, as its sales show them, against the box office's.

For each performance, seat category and tariff of the products live at FNAC
(or of the products given), the price of FNAC's latest sale (ticket of the
FNAC interface, test tickets aside) is compared with the box-office price.
The ticket price is recorded commission included or not as the settings say
(``prices.includes_commission``), the same basis as the box-office price.
Past performances are left out: their prices no longer matter. A difference,
or a sale at a combination the box office does not price, is a finding for an
external alert; nothing is changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    OnboardingState,
    Product,
    ResellerProduct,
)
from reseller_sync.domain.errors import Problem
from reseller_sync.fnac.adapter import RESELLER_TYPE
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.integration import prices
from reseller_sync.integration.prices import check_prices


@dataclass(frozen=True)
class PriceFinding(prices.PriceFinding):
    """FNAC's latest price for a performance, category and tariff, when it is not ours
    (amounts shown in cents, as recorded)."""

    @property
    def fnac_price(self) -> int:
        return self.price

    def to_problem(self, includes_commission: bool) -> Problem:
        basis = "commission included" if includes_commission else "commission excluded"
        return Problem(
            f"{self.product} {self.performance}, category {self.category}, tariff {self.tariff}: "
            f"FNAC {self.fnac_price} {self.currency} (commission {self.commission}, {basis}), "
            f"{self.box_office()}; {self.tickets} ticket(s), last sold "
            f"{self.last_sold_at:%Y-%m-%d %H:%M}",
            value=str(self.fnac_price),
        )


PriceCheck = prices.PriceCheck[PriceFinding]


def live_products(session: Session, settings: FnacSettings) -> tuple[str, ...]:
    """The products of the settings that are live at FNAC."""
    return tuple(
        sorted(
            session.scalars(
                select(Product.code)
                .join(ResellerProduct, ResellerProduct.product_id == Product.id)
                .where(
                    ResellerProduct.reseller_code == RESELLER_TYPE.code,
                    ResellerProduct.state == OnboardingState.LIVE,
                    Product.code.in_(settings.product_codes),
                )
            )
        )
    )


def verify_prices(
    session: Session,
    settings: FnacSettings,
    today: dt.date,
    products: Sequence[str] | None = None,
) -> PriceCheck:
    """Compare FNAC's latest sale price with the box office's, per performance, category and
    tariff, for ``products`` (default: the live products) on performances not past ``today``."""
    codes = tuple(products) if products is not None else live_products(session, settings)
    return check_prices(session, RESELLER_TYPE.code, codes, today, PriceFinding)
