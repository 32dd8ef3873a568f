"""Digitick as a reseller type: its hooks for the reseller-neutral core
(``realtime-api-v1``). The type is declared in :mod:`reseller_sync.digitick.reseller_type`;
every hook is the synchronous resellers' own (:mod:`reseller_sync.realtime.adapter`), bound
to this type and its settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reseller_sync.digitick.reseller_type import RESELLER_TYPE
from reseller_sync.realtime import adapter as realtime

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from reseller_sync.airflow.steps import OnboardingStep
    from reseller_sync.dashboard.queries import StreamExpectation
    from reseller_sync.digitick.settings import DigitickSettings
    from reseller_sync.mappings.check import CheckResult
    from reseller_sync.realtime.product_check import ProductVerdict

__all__ = ["RESELLER_TYPE"]


def load_settings(path: Path | None = None) -> DigitickSettings:
    """Digitick's instance settings, validated whole."""
    from reseller_sync.digitick.settings import load_settings as load

    return load(path)


def check_product(
    session: Session, settings: DigitickSettings, product_code: str
) -> ProductVerdict:
    """May Digitick sell the product, and can it go on its channel?"""
    return realtime.check_product(RESELLER_TYPE, session, settings, product_code)


def check_mappings(
    settings: DigitickSettings, session: Session | None, products: Sequence[str] | None = None
) -> CheckResult:
    """The codes Digitick sees: the box office's own, each a valid id."""
    return realtime.check_mappings(RESELLER_TYPE, settings, session, products)


def onboarding_steps() -> Sequence[OnboardingStep]:
    """The onboarding of a product at Digitick, step by step, for the onboarding builder."""
    return realtime.onboarding_steps(RESELLER_TYPE, load_settings)


def onboarding_doc(product_code: str) -> str:
    """What the onboarding DAG of the product says in the UI."""
    return realtime.onboarding_doc(RESELLER_TYPE, load_settings, product_code)


def expected_streams(settings: DigitickSettings) -> tuple[StreamExpectation, ...]:
    """No file streams: Digitick calls the service."""
    return realtime.expected_streams(settings)
