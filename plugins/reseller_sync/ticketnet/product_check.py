"""Onboarding step 1 at Ticketnet: may it sell the product, and is the product ready for its
CATALOG? (``ticketnet-exchange-v1`` sections 1 and 8.1)

The check builds the CATALOG as the onboarding would, without sending it: every
refusal the builder raises (a kind Ticketnet may not sell, a product not set
up for Ticketnet's channel and quota, a missing mapping, ``C04``/``C05``) is
the check's, with its problems and what to do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from reseller_sync.domain.errors import Problem, SyncError
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.ticketnet.mappings import load_repository
from reseller_sync.ticketnet.offer import NOT_SELLABLE_ACTION, catalog
from reseller_sync.ticketnet.settings import TicketnetSettings


@dataclass(frozen=True)
class ProductCheck:
    """The outcome of the check of one product; ``ok`` when nothing is wrong."""

    product_code: str
    problems: tuple[Problem, ...] = ()
    sellable: bool = True
    """False when Ticketnet may not sell the product's kind (section 1, ``C01``)."""
    error: SyncError | None = None
    """The refusal, to raise as it is (its category and action)."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> ProductCheck:
        if self.error is not None:
            raise self.error
        return self


def check_product(
    session: Session,
    settings: TicketnetSettings,
    product_code: str,
    *,
    repository: MappingRepository | None = None,
    sales_open: dt.datetime | None = None,
) -> ProductCheck:
    """Check that Ticketnet may sell the product and that its CATALOG can be built; a kind
    Ticketnet may not sell is refused before anything else."""
    try:
        catalog(
            session,
            settings,
            repository if repository is not None else load_repository(),
            product_code,
            sales_open=sales_open,
        )
    except SyncError as error:
        problems = tuple(error.problems) or (Problem(error.message),)
        sellable = error.action is not NOT_SELLABLE_ACTION
        return ProductCheck(product_code, problems, sellable=sellable, error=error)
    return ProductCheck(product_code)
