"""Ticketnet as a reseller type: its hooks for the reseller-neutral core
(``ticketnet-exchange-v1``). The type itself is declared in
:mod:`reseller_sync.ticketnet.reseller_type`, which the codec imports without the rest."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from reseller_sync.airflow.steps import OnboardingStep
    from reseller_sync.dashboard.queries import StreamExpectation
    from reseller_sync.integration.settings import IntegrationSettings
    from reseller_sync.mappings.check import CheckResult
    from reseller_sync.ticketnet.inbound_files import TicketnetInboundFiles
    from reseller_sync.ticketnet.naming import TicketnetNaming
    from reseller_sync.ticketnet.product_check import ProductCheck
    from reseller_sync.ticketnet.settings import TicketnetSettings

__all__ = ["RESELLER_TYPE"]


def load_settings(path: Path | None = None) -> TicketnetSettings:
    """Ticketnet's instance settings, validated whole."""
    from reseller_sync.ticketnet.settings import load_settings as load

    return load(path)


def check_product(session: Session, settings: TicketnetSettings, product_code: str) -> ProductCheck:
    """May Ticketnet sell the product, and can its CATALOG be built?"""
    from reseller_sync.ticketnet.product_check import check_product as check

    return check(session, settings, product_code)


def check_mappings(
    settings: TicketnetSettings, session: Session | None, products: Sequence[str] | None = None
) -> CheckResult:
    """Every mapping of the instance's products (or of ``products``); files only without a
    session."""
    from reseller_sync.ticketnet.mapping_check import check_mappings as check

    return check(settings, session, products)


def inbound_exchange() -> ModuleType:
    """Ticketnet's part of the hourly run: PRICETYPES and SALES batches."""
    from reseller_sync.ticketnet import inbound

    return inbound


def nightly_exchange() -> ModuleType:
    """Ticketnet's part of the nightly run: INVENTORY, RELEASE and their ACKs."""
    from reseller_sync.ticketnet import nightly

    return nightly


def integration_settings(settings: TicketnetSettings) -> IntegrationSettings:
    """What the neutral integration needs of Ticketnet's settings."""
    from reseller_sync.ticketnet.lines import integration_settings as of

    return of(settings)


def inbound_files(settings: TicketnetSettings) -> TicketnetInboundFiles:
    """Ticketnet's inbound units for one run, with the instance's mappings loaded once."""
    from reseller_sync.ticketnet.inbound_files import TicketnetInboundFiles
    from reseller_sync.ticketnet.mappings import load_repository

    return TicketnetInboundFiles(settings, load_repository())


def expected_streams(settings: TicketnetSettings) -> tuple[StreamExpectation, ...]:
    """The streams of batches Ticketnet's dashboard lists, and how late each may be."""
    from reseller_sync.ticketnet.dashboard import expected_streams as expected

    return expected(settings)


def naming() -> TicketnetNaming:
    """Ticketnet's names, for the journal, the transport and the folder watch."""
    from reseller_sync.ticketnet.naming import NAMING

    return NAMING


def onboarding_steps() -> Sequence[OnboardingStep]:
    """Ticketnet's onboarding of a product, step by step, for the onboarding builder."""
    from reseller_sync.ticketnet import onboarding

    return onboarding.STEPS


def onboarding_doc(product_code: str) -> str:
    """What Ticketnet's onboarding DAG of the product says in the UI."""
    from reseller_sync.ticketnet import onboarding

    return onboarding.doc(product_code)
