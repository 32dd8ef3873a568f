"""Where a product's onboarding at a reseller stands (``ResellerProduct``), updated as its
steps complete, whatever the reseller."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import OnboardingState, Product, ResellerProduct
from reseller_sync.domain.errors import MappingError

ORDER: tuple[OnboardingState, ...] = tuple(OnboardingState)
"""The states in the order onboarding goes through them."""


def onboarding_state(session: Session, reseller: str, product_code: str) -> OnboardingState:
    """The product's onboarding state at the reseller (``not_started`` when none is
    recorded)."""
    state = session.scalar(
        select(ResellerProduct.state)
        .join(Product, Product.id == ResellerProduct.product_id)
        .where(ResellerProduct.reseller_code == reseller, Product.code == product_code)
    )
    return OnboardingState(state) if state is not None else OnboardingState.NOT_STARTED


def set_onboarding_state(
    session: Session,
    reseller: str,
    product_code: str,
    state: OnboardingState,
    *,
    allow_backwards: bool = False,
) -> OnboardingState:
    """Record that the product reached ``state`` at the reseller; return the state it now has.

    A step re-run later (an offer resent once places were sent) does not move the product
    back, unless ``allow_backwards`` (a person restarting an onboarding). Runs in the
    caller's transaction.
    """
    product_id = session.scalar(select(Product.id).where(Product.code == product_code))
    if product_id is None:
        raise MappingError(f"product {product_code} does not exist in the box office")
    entry = session.get(ResellerProduct, (reseller, product_id))
    if entry is None:
        entry = ResellerProduct(reseller_code=reseller, product_id=product_id, state=state)
        session.add(entry)
    elif allow_backwards or ORDER.index(state) > ORDER.index(OnboardingState(entry.state)):
        entry.state = state
    session.flush()
    return OnboardingState(entry.state)
