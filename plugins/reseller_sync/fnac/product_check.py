"""Onboarding step 1: may FNAC sell the product, and is it set up for FNAC in the box office?

Every problem is listed at once, each saying what is wrong and where. A
product FNAC may not sell, or one not set up for FNAC, is a matter of set-up
for the people who run the box office: the error is a :class:`MappingError`
(the "fix the set-up" category: no retry, an e-mail to data operations).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Self

from sqlalchemy.orm import Session

from reseller_sync.boxoffice import catalogue
from reseller_sync.domain.errors import MappingError, Problem
from reseller_sync.domain.products import ProductKind, is_pass
from reseller_sync.domain.texts import Localized
from reseller_sync.fnac.adapter import RESELLER_TYPE as FNAC
from reseller_sync.fnac.product import (
    FnacProduct,
    last_valid_day,
    load_fnac_product,
    load_product,
    performance_label,
)
from reseller_sync.fnac.settings import FnacSettings

SET_UP_ACTION = Localized(
    fr="Corrigez la mise en place du produit dans la billetterie (canal, contingent "
    "{reseller}, dates, prix) ou les réglages {reseller}, comme chaque problème le dit, puis "
    "relancez la tâche en échec (Clear).",
    en="Fix the product's set-up in the box office (channel, {reseller} quota, dates, prices) "
    "or the {reseller} settings, as each problem says, then clear the failed task.",
)
NOT_SELLABLE_ACTION = Localized(
    fr="{reseller} ne peut pas vendre ce type de produit : retirez-le du canal {reseller} dans "
    "la billetterie et des produits des réglages {reseller}.",
    en="{reseller} may not sell this kind of product: remove it from the {reseller} channel in "
    "the box office and from products in the {reseller} settings.",
)


@dataclass(frozen=True)
class ProductCheck:
    """The outcome of the check of one product; ``ok`` when nothing is wrong."""

    product_code: str
    kind: ProductKind | None
    """None when the box office does not know the product."""
    checked_on: dt.date
    problems: tuple[Problem, ...] = ()
    sellable: bool = True
    """False when FNAC may not sell the product's kind (spec section 1, E09)."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_error(self) -> MappingError:
        count = len(self.problems)
        return MappingError(
            f"Product {self.product_code} cannot be put on sale at FNAC: "
            f"{count} problem{'s' if count > 1 else ''}",
            problems=self.problems,
            action=SET_UP_ACTION if self.sellable else NOT_SELLABLE_ACTION,
        )

    def raise_for_problems(self) -> Self:
        if not self.ok:
            raise self.to_error()
        return self


def check_product(
    session: Session, settings: FnacSettings, product_code: str, today: dt.date | None = None
) -> ProductCheck:
    """Check that FNAC may sell the product and that it is ready for FNAC's sale sheet.

    ``today`` (default: the current date) decides which performances are
    past: a dated performance must start after ``today``, a pass's validity
    must not have ended before it.
    """
    today = today or dt.date.today()
    product = load_product(session, product_code)
    if product is None:
        return ProductCheck(
            product_code,
            None,
            today,
            (Problem(f"product {product_code} does not exist in the box office"),),
        )
    kind = ProductKind(product.kind)
    if (reason := FNAC.refusal_reason(kind)) is not None:
        return ProductCheck(
            product_code,
            kind,
            today,
            (Problem(f"product {product_code} is a {kind}: {reason}", value=kind.value),),
            sellable=False,
        )
    fnac = load_fnac_product(session, settings, product)
    problems = _set_up_problems(session, settings, fnac) + _date_problems(fnac, today)
    return ProductCheck(product_code, kind, today, tuple(problems))


def ensure_product_ready(
    session: Session, settings: FnacSettings, product_code: str, today: dt.date | None = None
) -> ProductCheck:
    """:func:`check_product`, raising :class:`MappingError` with every problem when there is one."""
    return check_product(session, settings, product_code, today).raise_for_problems()


def _set_up_problems(session: Session, settings: FnacSettings, fnac: FnacProduct) -> list[Problem]:
    channel, quota_code = settings.boxoffice.channel, settings.boxoffice.quota
    problems: list[Problem] = []
    if not catalogue.is_on_channel(session, fnac.code, channel):
        problems.append(
            Problem(f"product {fnac.code} is not on sale in the FNAC channel {channel}")
        )
    if fnac.seated and fnac.product.configuration is None:
        problems.append(
            Problem(f"{fnac.kind} {fnac.code} has no seating configuration in the box office")
        )
    if not fnac.performances:
        problems.append(Problem(f"product {fnac.code} has no performance nor validity"))
    places = fnac.places_by_category()
    offered = settings.tariffs_offered_for(fnac.code)
    priced = set(
        fnac.prices[["performance_id", "category", "tariff"]].itertuples(index=False, name=None)
    )
    for performance in fnac.performances:
        label = performance_label(performance)
        quota = fnac.quotas.get(performance.id)
        here = places[places["performance_id"] == performance.id]
        if quota is None:
            problems.append(
                Problem(f"{label}: no FNAC quota (quota {quota_code} of channel {channel})")
            )
            continue
        held = int(quota.places or 0) if is_pass(fnac.kind) else int(here["places"].sum())
        if held == 0:
            what = "places" if is_pass(fnac.kind) else "seats nor free places"
            problems.append(Problem(f"{label}: FNAC's quota {quota_code} holds no {what}"))
            continue
        if here.empty:
            problems.append(Problem(f"{label}: the pass has no price in any category"))
        for category in here["category"]:
            missing = [t for t in offered if (performance.id, category, t) not in priced]
            if missing:
                problems.append(
                    Problem(
                        f"{label}: category {category} has no price for tariff(s) "
                        f"{', '.join(missing)} offered at FNAC",
                        value=category,
                    )
                )
    return problems


def _date_problems(fnac: FnacProduct, today: dt.date) -> list[Problem]:
    """Dated performances after ``today``; a pass valid up to a last day not before ``today``."""
    problems: list[Problem] = []
    for performance in fnac.performances:
        label = performance_label(performance)
        if performance.starts_at is not None and performance.starts_at.date() <= today:
            problems.append(Problem(f"{label}: the performance is not after {today:%d/%m/%Y}"))
        elif fnac.seated and performance.starts_at is None:
            problems.append(Problem(f"{label}: a performance of a {fnac.kind} needs a start"))
        if performance.valid_until is not None and performance.valid_until < today:
            problems.append(Problem(f"{label}: the validity ended before {today:%d/%m/%Y}"))
        if is_pass(fnac.kind) and last_valid_day(performance) is None:
            problems.append(
                Problem(
                    f"{label}: a pass sold at FNAC needs a last valid day "
                    "(the sale sheet's fin_validite, spec 8.1): set its end of validity"
                )
            )
    return problems
