"""Onboarding step 1 on the demo box office (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from devtools.demo_boxoffice import FNAC_PRODUCTS, NOT_SELLABLE_AT_FNAC
from reseller_sync.boxoffice.models import (
    Performance,
    Price,
    Product,
    ProductChannel,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    SalesChannel,
    SeatCategory,
    Tariff,
)
from reseller_sync.domain.errors import ErrorCategory, MappingError
from reseller_sync.domain.texts import render_text
from reseller_sync.fnac.product_check import check_product, ensure_product_ready
from reseller_sync.fnac.settings import FnacSettings
from tests.conftest import DEMO_TODAY


def performance(session: Session, product: str, code: str) -> Performance:
    return session.scalars(
        select(Performance).join(Product).where(Product.code == product, Performance.code == code)
    ).one()


def test_the_demo_products_on_sale_at_fnac_are_ready(
    demo_session: Session, fnac_settings: FnacSettings
) -> None:
    for code in FNAC_PRODUCTS:
        check = check_product(demo_session, fnac_settings, code, today=DEMO_TODAY)
        assert check.ok, [str(problem) for problem in check.problems]
        assert ensure_product_ready(demo_session, fnac_settings, code, DEMO_TODAY) == check


def test_an_undated_pass_without_a_last_valid_day_cannot_be_on_fnac_s_sale_sheet(
    demo_session: Session, fnac_settings: FnacSettings
) -> None:
    performance(demo_session, "PASS-MAH-LIBRE", "LIBRE").valid_until = None
    demo_session.flush()
    check = check_product(demo_session, fnac_settings, "PASS-MAH-LIBRE", today=DEMO_TODAY)
    assert [problem.reason for problem in check.problems] == [
        "validity LIBRE (undated): a pass sold at FNAC needs a last valid day "
        "(the sale sheet's fin_validite, spec 8.1): set its end of validity"
    ]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("ABO-ARENA-SAISON", "a subscription (abonnement) may not be sold by FNAC"),
        ("PACK-LUMEN-MAH", "a package of several products may not be sold by FNAC"),
        ("PASS-MAH-GROUPE", "a visit pass for a group may not be sold by FNAC"),
    ],
)
def test_a_kind_fnac_may_not_sell_is_refused_with_the_reason(
    demo_session: Session, fnac_settings: FnacSettings, code: str, words: str
) -> None:
    assert code in NOT_SELLABLE_AT_FNAC
    check = check_product(demo_session, fnac_settings, code, today=DEMO_TODAY)
    assert not check.sellable
    assert len(check.problems) == 1
    assert words in check.problems[0].reason
    assert "E09" in check.problems[0].reason
    with pytest.raises(MappingError) as raised:
        check.raise_for_problems()
    assert raised.value.category is ErrorCategory.MAPPING
    assert "remove it from the FNAC channel" in render_text(raised.value.action, "en", "FNAC")
    assert "retirez-le du canal FNAC" in render_text(raised.value.action, "fr", "FNAC")


def test_every_set_up_problem_is_listed_at_once(
    demo_session: Session, fnac_settings: FnacSettings
) -> None:
    session = demo_session
    s1 = performance(session, "EVT-LUMEN", "S1")
    s2 = performance(session, "EVT-LUMEN", "S2")
    s3 = performance(session, "EVT-LUMEN", "S3")
    cat2 = session.scalars(select(SeatCategory.id).where(SeatCategory.code == "CAT2")).one()
    works_council = session.scalars(select(Tariff.id).where(Tariff.code == "FNAC_CE")).one()
    session.execute(
        delete(Price).where(
            Price.performance_id == s1.id,
            Price.category_id == cat2,
            Price.tariff_id == works_council,
        )
    )
    quota = session.scalars(
        select(Quota).where(Quota.performance_id == s2.id, Quota.code == "Q-FNAC")
    ).one()
    session.execute(delete(QuotaSeat).where(QuotaSeat.quota_id == quota.id))
    session.execute(delete(QuotaFreePlaces).where(QuotaFreePlaces.quota_id == quota.id))
    session.delete(quota)
    s3.starts_at = dt.datetime.combine(DEMO_TODAY, dt.time(20, 30))
    fnac_channel = session.scalars(select(SalesChannel.id).where(SalesChannel.code == "FNAC"))
    session.execute(
        delete(ProductChannel).where(
            ProductChannel.product_id == s1.product_id,
            ProductChannel.channel_id == fnac_channel.one(),
        )
    )
    session.flush()

    check = check_product(session, fnac_settings, "EVT-LUMEN", today=DEMO_TODAY)

    reasons = [problem.reason for problem in check.problems]
    assert len(reasons) == 4, reasons
    assert "product EVT-LUMEN is not on sale in the FNAC channel FNAC" in reasons
    assert any(
        r.startswith("performance S1 ") and "category CAT2 has no price for tariff(s) FNAC_CE" in r
        for r in reasons
    )
    assert any(
        r.startswith("performance S2 ") and "no FNAC quota (quota Q-FNAC" in r for r in reasons
    )
    assert any(r.startswith("performance S3 ") and "is not after 28/11/2026" in r for r in reasons)
    with pytest.raises(MappingError) as raised:
        ensure_product_ready(session, fnac_settings, "EVT-LUMEN", DEMO_TODAY)
    assert raised.value.problems == check.problems
    assert "Fix the product's set-up" in render_text(raised.value.action, "en", "FNAC")


def test_past_performances_and_ended_validities_follow_the_day_given(
    demo_session: Session, fnac_settings: FnacSettings
) -> None:
    later = DEMO_TODAY + dt.timedelta(days=400)
    concert = check_product(demo_session, fnac_settings, "EVT-LUMEN", today=later)
    assert len(concert.problems) == 3
    assert all("is not after" in problem.reason for problem in concert.problems)
    day_pass = check_product(demo_session, fnac_settings, "PASS-MAH-JOUR", today=later)
    assert ["the validity ended before" in p.reason for p in day_pass.problems] == [True]


def test_a_pass_quota_without_places_and_an_unknown_product_are_problems(
    demo_session: Session, fnac_settings: FnacSettings
) -> None:
    season = performance(demo_session, "PASS-MAH-JOUR", "SAISON")
    demo_session.scalars(
        select(Quota).where(Quota.performance_id == season.id, Quota.code == "Q-FNAC")
    ).one().places = 0
    demo_session.flush()
    check = check_product(demo_session, fnac_settings, "PASS-MAH-JOUR", today=DEMO_TODAY)
    assert [p.reason for p in check.problems] == [
        f"validity SAISON ({season.valid_from:%d/%m/%Y} to {season.valid_until:%d/%m/%Y}): "
        "FNAC's quota Q-FNAC holds no places"
    ]
    unknown = check_product(demo_session, fnac_settings, "NOPE", today=DEMO_TODAY)
    assert unknown.kind is None
    assert [p.reason for p in unknown.problems] == ["product NOPE does not exist in the box office"]
