"""Onboarding step 1 at the SecuTix reseller (secutix-reseller-v1 sections 1, 8.1 and 8.2):
kinds it may not sell refused with the reason before anything is written; the OFFER and
the CONTINGENT of the demo's products can be built."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import Direction, ExchangeFile, Price, Product
from reseller_sync.domain.errors import MappingError
from reseller_sync.secutix.product_check import check_product
from tests.secutix.test_secutix_outbound import secutix_settings


@pytest.mark.parametrize("product", ["EVT-LUMEN", "PASS-MAH-JOUR", "PASS-MAH-LIBRE"])
def test_the_demo_s_products_with_a_contingent_can_be_offered(
    demo_session: Session, product: str
) -> None:
    verdict = check_product(demo_session, secutix_settings(), product)
    assert verdict.ok, verdict.problems
    assert verdict.sellable
    assert verdict.offer_lines > 0
    assert verdict.contingent_lines > 0
    assert verdict.raise_for_problems() is verdict
    # Nothing was numbered nor journaled.
    assert not demo_session.scalars(
        select(ExchangeFile).where(ExchangeFile.direction == Direction.OUTBOUND)
    ).all()


@pytest.mark.parametrize(
    ("product", "kind"),
    [
        ("ABO-ARENA-SAISON", "subscription"),
        ("PACK-LUMEN-MAH", "package"),
        ("PASS-MAH-GROUPE", "group"),
    ],
)
def test_kinds_the_reseller_may_not_sell_are_refused_with_the_reason(
    demo_session: Session, product: str, kind: str
) -> None:
    verdict = check_product(demo_session, secutix_settings(), product)
    assert not verdict.ok
    assert not verdict.sellable
    assert kind in verdict.problems[0].reason
    with pytest.raises(MappingError, match="cannot be put on sale"):
        verdict.raise_for_problems()


def test_an_unknown_product_is_a_problem(demo_session: Session) -> None:
    verdict = check_product(demo_session, secutix_settings(), "NOPE")
    assert not verdict.ok
    assert verdict.sellable
    assert verdict.error is not None
    assert "does not exist" in verdict.error.message


def test_a_product_without_places_in_the_reseller_s_quota_is_not_ready(
    demo_session: Session,
) -> None:
    # The demo gives the SecuTix reseller no contingent on the match.
    verdict = check_product(demo_session, secutix_settings(), "CMP-LYON-NANTES")
    assert verdict.sellable
    assert not verdict.ok
    assert "holds no seat nor place" in str(verdict.error)


def test_a_product_priced_at_no_tariff_offered_is_not_ready(demo_session: Session) -> None:
    verdict = check_product(
        demo_session, secutix_settings(tariffs_offered=["FNAC_CE"]), "PASS-MAH-LIBRE"
    )
    assert not verdict.ok
    assert any("no price" in p.reason for p in verdict.problems)


def test_several_currencies_are_refused(demo_session: Session) -> None:
    product = demo_session.scalars(select(Product).where(Product.code == "EVT-LUMEN")).one()
    price = demo_session.scalars(
        select(Price).where(Price.performance_id == product.performances[0].id)
    ).first()
    assert price is not None
    price.currency = "CHF" if str(price.currency) != "CHF" else "EUR"  # type: ignore[assignment]
    demo_session.flush()
    verdict = check_product(demo_session, secutix_settings(), "EVT-LUMEN")
    assert not verdict.ok
    assert any("same currency" in p.reason for p in verdict.problems)
