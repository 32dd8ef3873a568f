"""FNAC as a reseller type: what it may sell and how it exchanges (``fnac-exchange-v1``)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from reseller_sync.core.resellers import (
    Acknowledgement,
    InboundStream,
    InterfaceKind,
    NightlyExchange,
    Placement,
    ProductVerdict,
    ResellerType,
    SalesReporting,
    StreamRole,
)
from reseller_sync.domain.products import ProductKind

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from reseller_sync.airflow.steps import OnboardingStep
    from reseller_sync.dashboard.queries import StreamExpectation
    from reseller_sync.fnac.inbound_files import FnacInboundFiles
    from reseller_sync.fnac.naming import FnacNaming
    from reseller_sync.fnac.settings import FnacSettings
    from reseller_sync.integration.settings import IntegrationSettings
    from reseller_sync.mappings.check import CheckResult

RESELLER_TYPE = ResellerType(
    code="fnac",
    name="FNAC",
    contract="fnac-exchange-v1",
    interface=InterfaceKind.FILES,
    product_kinds=frozenset(
        {
            ProductKind.EVENT,
            ProductKind.COMPETITION,
            ProductKind.VISIT_PASS,
            ProductKind.UNDATED_PASS,
        }
    ),
    placements=frozenset({Placement.SEATED, Placement.FREE}),
    acknowledgement=Acknowledgement.ANSWER_FILE,
    sales_reporting=SalesReporting.EVENT_LOG,
    nightly=(NightlyExchange.INVENTORY, NightlyExchange.WITHDRAWAL),
    refusal_reference="section 1, error E09",
    streams=(
        InboundStream("CATCLI", StreamRole.CUSTOMER_CATEGORIES),
        InboundStream("VENTES", StreamRole.SALES),
        InboundStream("ANNUL", StreamRole.CANCELLATIONS),
    ),
    streams_elsewhere=(("ETATPL", "nightly"), ("TEST", "onboarding")),
)

NATURE: dict[ProductKind, str] = {
    ProductKind.EVENT: "EVENEMENT",
    ProductKind.COMPETITION: "COMPETITION",
    ProductKind.VISIT_PASS: "PASS_VISITE",
    ProductKind.UNDATED_PASS: "PASS_NON_DATE",
}
"""The FICHE ``nature`` of each kind FNAC may sell."""


def load_settings(path: Path | None = None) -> FnacSettings:
    """FNAC's instance settings, validated whole."""
    from reseller_sync.fnac.settings import load_settings as load

    return load(path)


def check_product(session: Session, settings: FnacSettings, product_code: str) -> ProductVerdict:
    """May FNAC sell the product, and is it ready for the sale sheet?"""
    from reseller_sync.fnac.product_check import check_product as check

    return check(session, settings, product_code)


def check_mappings(
    settings: FnacSettings, session: Session | None, products: Sequence[str] | None = None
) -> CheckResult:
    """Every mapping of the instance's products (or of ``products``); files only without a
    session."""
    from reseller_sync.fnac.mapping_check import check_mappings as check

    return check(settings, session=session, products=products)


def nightly_exchange() -> ModuleType:
    """FNAC's part of the nightly run: ETATPL, DECONT and its ACKs."""
    from reseller_sync.fnac import nightly

    return nightly


def inbound_exchange() -> ModuleType:
    """FNAC's part of the hourly run: CATCLI, VENTES, ANNUL."""
    from reseller_sync.fnac import inbound

    return inbound


def integration_settings(settings: FnacSettings) -> IntegrationSettings:
    """What the neutral integration needs of FNAC's settings."""
    from reseller_sync.fnac.lines import integration_settings as of

    return of(settings)


def inbound_files(settings: FnacSettings) -> FnacInboundFiles:
    """FNAC's inbound files for one run, with the instance's mappings loaded once."""
    from reseller_sync.fnac.inbound_files import FnacInboundFiles
    from reseller_sync.fnac.mappings import load_repository

    return FnacInboundFiles(settings, load_repository())


def expected_streams(settings: FnacSettings) -> tuple[StreamExpectation, ...]:
    """The streams of files FNAC's dashboard lists, and how late each may be."""
    from reseller_sync.fnac.dashboard import expected_streams as expected

    return expected(settings)


def naming() -> FnacNaming:
    """FNAC's file names, for the journal, the transport and the folder watch."""
    from reseller_sync.fnac.naming import NAMING

    return NAMING


def onboarding_steps() -> Sequence[OnboardingStep]:
    """FNAC's onboarding of a product, step by step, for the onboarding builder."""
    from reseller_sync.fnac import onboarding

    return onboarding.STEPS


def onboarding_doc(product_code: str) -> str:
    """What FNAC's onboarding DAG of the product says in the UI: each step, what to do."""
    from reseller_sync.fnac import onboarding

    return onboarding.doc(product_code)
