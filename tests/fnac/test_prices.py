"""Price verification: FNAC's latest sale prices against ours (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import OnboardingState
from reseller_sync.config.settings import PricePolicy
from reseller_sync.fnac.mappings import load_repository
from reseller_sync.fnac.onboarding_state import set_onboarding_state
from reseller_sync.fnac.prices import live_products, verify_prices
from reseller_sync.fnac.sales import integrate_sales
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.mappings.repository import MappingRepository
from tests.conftest import DEMO_TODAY
from tests.fnac.test_sales import concert_date, line, ventes


@pytest.fixture(scope="module")
def repository() -> MappingRepository:
    return load_repository()


@pytest.fixture
def warn(fnac_settings: FnacSettings) -> FnacSettings:
    """Prices that differ are integrated at FNAC's price (and reported)."""
    prices = fnac_settings.prices.model_copy(update={"policy": PricePolicy.WARN})
    return fnac_settings.model_copy(update={"prices": prices})


def sell(session: Session, settings: FnacSettings, repository: MappingRepository, *lines) -> None:  # type: ignore[no-untyped-def]
    name, frame = ventes(list(lines))
    integrate_sales(session, settings, repository, name, frame)


def test_a_differing_price_is_flagged_and_an_agreeing_one_is_not(
    demo_session: Session, warn: FnacSettings, repository: MappingRepository
) -> None:
    concert = concert_date(demo_session)
    sell(
        demo_session,
        warn,
        repository,
        line(1, date_seance=concert),  # CAT1 FNAC_PUBLIC at 6850, the box-office price
        line(2, date_seance=concert, categorie_client="15", prix_ttc=6100),  # member: 5850
    )

    check = verify_prices(demo_session, warn, DEMO_TODAY, products=["EVT-LUMEN"])

    assert check.compared == 2
    [finding] = check.findings
    assert (finding.category, finding.tariff, finding.fnac_price, finding.box_office_price) == (
        "CAT1",
        "FNAC_ADHERENT",
        6100,
        5850,
    )
    assert finding.tickets == 1
    assert "commission included" in finding.to_problem(True).reason


def test_the_latest_sale_is_fnac_s_price_and_past_performances_are_left_out(
    demo_session: Session, warn: FnacSettings, repository: MappingRepository
) -> None:
    concert = concert_date(demo_session)
    later = dt.datetime(2026, 11, 28, 15, 0, tzinfo=dt.UTC)
    sell(demo_session, warn, repository, line(1, date_seance=concert, prix_ttc=7000))
    sell(demo_session, warn, repository, line(2, date_seance=concert, date_vente=later))

    assert verify_prices(demo_session, warn, DEMO_TODAY, ["EVT-LUMEN"]).findings == ()
    after_the_concert = concert.date() + dt.timedelta(days=1)
    assert verify_prices(demo_session, warn, after_the_concert, ["EVT-LUMEN"]).compared == 0


def test_only_live_products_are_verified_by_default(
    demo_session: Session, fnac_settings: FnacSettings
) -> None:
    assert live_products(demo_session, fnac_settings) == ()
    set_onboarding_state(demo_session, "EVT-LUMEN", OnboardingState.LIVE)
    set_onboarding_state(demo_session, "CMP-LYON-NANTES", OnboardingState.TESTED)
    assert live_products(demo_session, fnac_settings) == ("EVT-LUMEN",)
