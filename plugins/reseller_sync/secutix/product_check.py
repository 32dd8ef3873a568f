"""Onboarding step 1 at the SecuTix reseller: may it sell the product, and can its OFFER
and CONTINGENT be built? (``secutix-reseller-v1`` sections 1, 2, 8.1 and 8.2)

The check builds the files as the onboarding would, without numbering nor sending them:

1. the product's kind first (section 1): a subscription, a package or a visit pass for a
   group is refused with the reseller type's reason before anything else is read, and
   never appears in a file (``sellable`` False);
2. the OFFER (:func:`reseller_sync.secutix.offer.offer_rows`, at the tariffs the settings
   offer, through the reseller's mappings): performances, validity, prices, one currency,
   FR or CH, every code exchanged in its format;
3. the CONTINGENT (:func:`reseller_sync.secutix.contingent.contingent_lines`): places in
   the reseller's quota, each fitting its product's kind, checked against the OFFER.

Every refusal a builder raises is the check's, with its problems and what to do
(:attr:`ProductVerdict.error`, to raise as it is).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import Product
from reseller_sync.domain.errors import Problem, SyncError
from reseller_sync.domain.products import ProductKind
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.secutix.reseller_type import RESELLER_TYPE
from reseller_sync.secutix.settings import SecutixSettings


@dataclass(frozen=True)
class ProductVerdict:
    """The outcome of the check of one product; ``ok`` when nothing is wrong."""

    product_code: str
    problems: tuple[Problem, ...] = ()
    sellable: bool = True
    """False when the reseller may not sell the product's kind (section 1, ``O01``)."""
    error: SyncError | None = None
    """The refusal, to raise as it is (its category and action)."""
    offer_lines: int = 0
    """Lines of the OFFER built (0 when it could not be built)."""
    contingent_lines: int = 0
    """Lines of the CONTINGENT built (0 when it could not be built)."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> ProductVerdict:
        if self.error is not None:
            raise self.error
        return self


def check_product(
    session: Session,
    settings: SecutixSettings,
    product_code: str,
    *,
    repository: MappingRepository | None = None,
    sales_open: dt.datetime | None = None,
) -> ProductVerdict:
    """Check that the reseller may sell the product and that its OFFER and CONTINGENT can
    be built; a kind the reseller may not sell is refused before anything else."""
    from reseller_sync.secutix.contingent import contingent_lines
    from reseller_sync.secutix.offer import load_product, offer_rows
    from reseller_sync.secutix.outbound import translator
    from reseller_sync.secutix.writer import build_file

    try:
        product = load_product(session, product_code)
    except SyncError as error:
        return _refused(product_code, error)
    reason = RESELLER_TYPE.refusal_reason(ProductKind(product.kind))
    if reason is not None:
        return _not_sellable(product)
    try:
        translate = translator(session, product_code, repository)
        offer = offer_rows(
            session,
            product_code,
            tariffs=settings.tariffs_offered_for(product_code),
            sales_open=sales_open,
            translate=translate,
        )
        places = contingent_lines(session, [product_code], translate=translate)
        build_file(places.file_type, 1, places.records, offer=offer.to_pandas())
    except SyncError as error:
        return _refused(product_code, error)
    return ProductVerdict(product_code, offer_lines=offer.num_rows, contingent_lines=places.lines)


def _not_sellable(product: Product) -> ProductVerdict:
    from reseller_sync.secutix.offer import refuse_unsellable

    try:
        refuse_unsellable(product)
    except SyncError as error:
        verdict = _refused(product.code, error)
        return ProductVerdict(
            verdict.product_code, verdict.problems, sellable=False, error=verdict.error
        )
    raise AssertionError("refuse_unsellable accepted a kind the reseller type refuses")


def _refused(product_code: str, error: SyncError) -> ProductVerdict:
    problems = tuple(error.problems) or (Problem(error.message),)
    return ProductVerdict(product_code, problems, error=error)
