"""The SecuTix box office as a reseller type: its hooks for the reseller-neutral core
(``secutix-reseller-v1``). The type itself is declared in
:mod:`reseller_sync.secutix.reseller_type`, which the codec imports without the rest."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from reseller_sync.secutix.reseller_type import RESELLER_TYPE

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from reseller_sync.airflow.steps import OnboardingStep
    from reseller_sync.dashboard.queries import StreamExpectation
    from reseller_sync.integration.settings import IntegrationSettings
    from reseller_sync.mappings.check import CheckResult
    from reseller_sync.secutix.inbound_files import SecutixInboundFiles
    from reseller_sync.secutix.naming import SecutixNaming
    from reseller_sync.secutix.product_check import ProductVerdict
    from reseller_sync.secutix.settings import SecutixSettings

__all__ = ["RESELLER_TYPE"]


def load_settings(path: Path | None = None) -> SecutixSettings:
    """The SecuTix reseller's instance settings, validated whole."""
    from reseller_sync.secutix.settings import load_settings as load

    return load(path)


def check_product(session: Session, settings: SecutixSettings, product_code: str) -> ProductVerdict:
    """May the reseller sell the product, and can its OFFER and CONTINGENT be built?"""
    from reseller_sync.secutix.product_check import check_product as check

    return check(session, settings, product_code)


def check_mappings(
    settings: SecutixSettings, session: Session | None, products: Sequence[str] | None = None
) -> CheckResult:
    """Every code the instance's products (or ``products``) are exchanged under; files only
    without a session."""
    from reseller_sync.secutix.mapping_check import check_mappings as check

    return check(settings, session, products)


def onboarding_steps() -> Sequence[OnboardingStep]:
    """The onboarding of a product at the reseller, step by step, for the onboarding builder."""
    from reseller_sync.secutix import onboarding

    return onboarding.STEPS


def onboarding_doc(product_code: str) -> str:
    """What the onboarding DAG of the product says in the UI."""
    from reseller_sync.secutix import onboarding

    return onboarding.doc(product_code)


def inbound_exchange() -> ModuleType:
    """The reseller's part of the inbound run, every 15 minutes: its TICKETS files."""
    from reseller_sync.secutix import inbound

    return inbound


def integration_settings(settings: SecutixSettings) -> IntegrationSettings:
    """What the neutral integration needs of the reseller's settings."""
    from reseller_sync.secutix.lines import integration_settings as of

    return of(settings)


def inbound_files(settings: SecutixSettings) -> SecutixInboundFiles:
    """The reseller's inbound units for one run, with the instance's mappings loaded once."""
    from reseller_sync.secutix.inbound_files import SecutixInboundFiles
    from reseller_sync.secutix.mappings import load_repository

    return SecutixInboundFiles(settings, load_repository())


def expected_streams(settings: SecutixSettings) -> tuple[StreamExpectation, ...]:
    """The streams of files the reseller's dashboard lists, and how late each may be."""
    from reseller_sync.secutix.dashboard import expected_streams as expected

    return expected(settings)


def naming() -> SecutixNaming:
    """The reseller's names, for the journal, the transport and the folder watch."""
    from reseller_sync.secutix.naming import NAMING

    return NAMING


def nightly_exchange() -> ModuleType:
    """The reseller's part of the nightly run: its STOCK, prices, WITHDRAW and RESULT."""
    from reseller_sync.secutix import nightly

    return nightly
