"""The nightly price verification of the SecuTix reseller (secutix-reseller-v1 sections 7.1,
8.1 and 9.1 point 5): its latest sale per performance, seat category and tariff against
the box office's price now."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import Performance, Price, SeatCategory, Tariff
from reseller_sync.secutix.prices import verify_prices
from tests.secutix.test_secutix_contingent import add_secutix
from tests.secutix.test_secutix_lines import settings
from tests.secutix.test_secutix_stock import PIT_SALE, SEAT_SALE, sell

TODAY = dt.date(2026, 11, 29)


@pytest.fixture
def session(demo_session: Session) -> Session:
    add_secutix(demo_session)
    sell(demo_session, 1, SEAT_SALE, PIT_SALE)
    return demo_session


def box_office_price(session: Session, category: str, tariff: str) -> Price:
    return session.scalars(
        select(Price)
        .join(Performance, Performance.id == Price.performance_id)
        .join(SeatCategory, SeatCategory.id == Price.category_id)
        .join(Tariff, Tariff.id == Price.tariff_id)
        .where(
            Performance.code == "TOSCA27-0314",
            SeatCategory.code == category,
            Tariff.code == tariff,
        )
    ).one()


def test_sales_at_the_box_office_s_prices_find_nothing(session: Session) -> None:
    check = verify_prices(session, settings(), TODAY)
    assert check.compared == 2
    assert check.findings == ()
    assert check.summary() == {
        "products": ["TOSCA27", "MUSEE27", "PASS27", "EVT-LUMEN"],
        "compared": 2,
        "differences": 0,
    }


def test_a_price_changed_since_the_sale_is_a_finding(session: Session) -> None:
    box_office_price(session, "CAT1", "PLEIN").amount = 7200
    session.flush()

    check = verify_prices(session, settings(), TODAY)
    assert check.compared == 2
    (finding,) = check.findings
    assert (finding.product, finding.performance, finding.category, finding.tariff) == (
        "TOSCA27",
        "TOSCA27-0314",
        "CAT1",
        "PLEIN",
    )
    assert (finding.price, finding.commission, finding.currency) == (6850, 350, "EUR")
    assert (finding.box_office_price, finding.box_office_currency, finding.tickets) == (
        7200,
        "EUR",
        1,
    )
    problem = finding.to_problem(includes_commission=True)
    assert "SecuTix reseller 68.50 EUR (commission included; commission 3.50)" in problem.reason
    assert "box office 72.00 EUR" in problem.reason
    assert problem.column == "PRICE"


def test_a_combination_no_longer_priced_and_past_performances(session: Session) -> None:
    session.delete(box_office_price(session, "FOSSE", "ENFANT"))
    session.flush()
    (finding,) = verify_prices(session, settings(), TODAY).findings
    assert (finding.category, finding.box_office_price) == ("FOSSE", None)
    assert "no box-office price" in finding.to_problem(includes_commission=False).reason

    # After the performance, nothing is compared any more.
    after = verify_prices(session, settings(), dt.date(2027, 3, 15))
    assert (after.compared, after.findings) == (0, ())


def test_only_the_products_asked(session: Session) -> None:
    check = verify_prices(session, settings(), TODAY, products=["PASS27"])
    assert (check.products, check.compared, check.findings) == (("PASS27",), 0, ())
