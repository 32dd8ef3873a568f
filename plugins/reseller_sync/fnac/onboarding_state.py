"""Where a product's onboarding at FNAC stands: the neutral record
(:mod:`reseller_sync.pipelines.onboarding_state`) for FNAC."""

from __future__ import annotations

from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import OnboardingState
from reseller_sync.fnac.adapter import RESELLER_TYPE
from reseller_sync.pipelines import onboarding_state as neutral

ORDER = neutral.ORDER


def onboarding_state(session: Session, product_code: str) -> OnboardingState:
    """The product's onboarding state at FNAC (``not_started`` when none is recorded)."""
    return neutral.onboarding_state(session, RESELLER_TYPE.code, product_code)


def set_onboarding_state(
    session: Session,
    product_code: str,
    state: OnboardingState,
    *,
    allow_backwards: bool = False,
) -> OnboardingState:
    """Record that the product reached ``state`` at FNAC; the state it now has."""
    return neutral.set_onboarding_state(
        session, RESELLER_TYPE.code, product_code, state, allow_backwards=allow_backwards
    )
