"""The organiser's OFFER from the box office (secutix-reseller-v1 sections 1, 5 and 8.1):
an event, a dated visit pass, passes with validity dates, and the kinds refused."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from devtools.demo_boxoffice import (
    DATED_PASS_PRODUCT,
    EVENT_PRODUCT,
    NOT_SELLABLE_AT_FNAC,
    UNDATED_PASS_PRODUCT,
)
from reseller_sync.boxoffice.models import Performance, Price, Product, Venue
from reseller_sync.domain.errors import MappingError
from reseller_sync.domain.products import ProductKind
from reseller_sync.secutix.offer import offer_file, offer_rows
from reseller_sync.secutix.reseller_side import offer_verdicts, read_organiser_file
from reseller_sync.secutix.reseller_type import RESELLER_TYPE
from tests.conftest import DEMO_TODAY
from tests.secutix.test_secutix_lines import add_examples

SALES_OPEN = dt.datetime.fromisoformat("2026-12-01T10:00:00+01:00")
TARIFFS = ("PLEIN", "REDUIT", "ENFANT")


@pytest.fixture
def session(demo_session: Session) -> Session:
    add_examples(demo_session)
    return demo_session


def rows(session: Session, product: str, **kwargs: object) -> pd.DataFrame:
    kwargs.setdefault("sales_open", SALES_OPEN)
    kwargs.setdefault("tariffs", TARIFFS)
    return offer_rows(session, product, **kwargs).to_pandas()  # type: ignore[arg-type]


def test_an_event_has_a_line_per_performance_category_and_tariff(session: Session) -> None:
    frame = rows(session, EVENT_PRODUCT)
    # Three performances × four categories × PLEIN and REDUIT (ENFANT is not priced).
    assert len(frame) == 3 * 4 * 2
    assert set(frame["PRODUCT_KIND"]) == {"EVENT"}
    assert frame["PERFORMANCE_CODE"].drop_duplicates().tolist() == ["S1", "S2", "S3"]
    first = frame.iloc[0].to_dict()
    assert first == {
        "PRODUCT_CODE": EVENT_PRODUCT,
        "PRODUCT_NAME": "Lumen — Tournée 2027",
        "PRODUCT_KIND": "EVENT",
        "PERFORMANCE_CODE": "S1",
        "PERFORMANCE_START": "2027-02-26T20:30:00+01:00",
        "VENUE_NAME": "Paris Arena",
        "CITY": "Paris",
        "COUNTRY": "FR",
        "PASS_VALIDITY_START": "",
        "PASS_VALIDITY_END": "",
        "SEATCAT_CODE": "CAT1",
        "SEATCAT_NAME": "1re catégorie",
        "TARIFF_CODE": "PLEIN",
        "TARIFF_NAME": "Plein tarif",
        "PRICE": "6850",
        "CURRENCY": "EUR",
        "SALES_START": "2026-12-01T10:00:00+01:00",
        "SALES_END": "2027-02-26T20:30:00+01:00",
        "ON_SALE": "1",
    }
    # Every line passes the reseller's line rules.
    assert set(offer_verdicts(frame)["ERROR_CODE"]) == {""}


def test_a_dated_visit_pass_is_a_visit_pass_with_its_performance(session: Session) -> None:
    frame = rows(session, "MUSEE27")
    assert frame[
        ["PRODUCT_KIND", "PERFORMANCE_CODE", "PERFORMANCE_START", "PASS_VALIDITY_END"]
    ].drop_duplicates().values.tolist() == [
        ["VISIT_PASS", "MUSEE27-0403", "2027-04-03T10:00:00+02:00", ""]
    ]
    assert frame[["TARIFF_CODE", "PRICE", "CURRENCY"]].values.tolist() == [
        ["PLEIN", "2400", "CHF"],
        ["REDUIT", "1800", "CHF"],
    ]
    assert frame["SALES_END"].iloc[0] == "2027-04-03T10:00:00+02:00"
    assert frame["COUNTRY"].iloc[0] == "CH"


@pytest.mark.parametrize(
    ("product", "validity_start"),
    [
        # The demo's "dated" pass holds validity dates, no visit day: an UNDATED_PASS.
        (DATED_PASS_PRODUCT, (DEMO_TODAY + dt.timedelta(days=30)).isoformat()),
        (UNDATED_PASS_PRODUCT, ""),
    ],
)
def test_a_pass_with_validity_dates_is_an_undated_pass(
    session: Session, product: str, validity_start: str
) -> None:
    frame = rows(session, product)
    performance = session.scalars(
        select(Performance).join(Product).where(Product.code == product)
    ).one()
    assert performance.valid_until is not None
    end = performance.valid_until.isoformat()
    assert set(frame["PRODUCT_KIND"]) == {"UNDATED_PASS"}
    assert set(frame["PERFORMANCE_CODE"]) == {""}
    assert set(frame["PERFORMANCE_START"]) == {""}
    assert set(frame["PASS_VALIDITY_START"]) == {validity_start}
    assert set(frame["PASS_VALIDITY_END"]) == {end}
    # Sales end at the last second of the last valid day, Geneva time.
    last = dt.datetime.combine(performance.valid_until, dt.time(23, 59, 59))
    assert set(frame["SALES_END"]) == {last.replace(tzinfo=ZoneInfo("Europe/Zurich")).isoformat()}
    assert frame[["TARIFF_CODE", "CURRENCY"]].values.tolist() == [
        ["ENFANT", "CHF"],
        ["PLEIN", "CHF"],
    ]
    assert set(offer_verdicts(frame)["ERROR_CODE"]) == {""}


@pytest.mark.parametrize("product", NOT_SELLABLE_AT_FNAC)
def test_a_kind_the_reseller_may_not_sell_is_refused_with_its_reason(
    session: Session, product: str
) -> None:
    kind = ProductKind(session.scalars(select(Product.kind).where(Product.code == product)).one())
    with pytest.raises(MappingError) as caught:
        offer_file(session, 1, [EVENT_PRODUCT, product], sales_open=SALES_OPEN)
    reason = RESELLER_TYPE.refusal_reason(kind)
    assert reason is not None
    assert "section 1, RESULT code O01" in reason
    assert [p.reason for p in caught.value.problems] == [f"product {product}: {reason}"]
    assert caught.value.action is not None
    assert "may not sell" in caught.value.action


def test_the_file_is_written_and_read_back_by_the_reseller(session: Session) -> None:
    written = offer_file(
        session,
        5,
        ["TOSCA27", "PASS27"],
        tariffs=lambda product: None,
        sales_open=SALES_OPEN,
        sales_close_before=dt.timedelta(minutes=30),
    )
    assert str(written.name) == "OFFER_00000005.csv"
    text = written.data.decode()
    lines = text.splitlines()
    assert lines[1] == (
        "TOSCA27;Tosca;EVENT;TOSCA27-0314;2027-03-14T20:30:00+01:00;Opéra;Paris;FR;;;CAT1;"
        "1re catégorie;PLEIN;Plein tarif;6850;EUR;2026-12-01T10:00:00+01:00;"
        "2027-03-14T20:00:00+01:00;1"
    )
    assert lines[-1] == (
        "PASS27;Pass annuel 2027;UNDATED_PASS;;;Musée d'art et d'histoire;Genève;CH;2027-01-01;"
        "2027-12-31;LIBRE;Accès libre;PLEIN;Plein tarif;3900;EUR;2026-12-01T10:00:00+01:00;"
        "2027-12-31T23:29:59+01:00;1"
    )
    # The default tariffs: every one that is not another reseller's own (no FNAC_*).
    assert "FNAC_PUBLIC" not in text
    assert written.lines == 5
    read = read_organiser_file(str(written.name), written.data, written.control)
    assert set(offer_verdicts(read.frame)["ERROR_CODE"]) == {""}


def test_stopped_tariffs_and_translated_codes(session: Session) -> None:
    def translate(kind: str, codes: pd.Series, zones: pd.Series | None) -> pd.Series:
        return codes.replace({"TOSCA27": "TOSCA", "REDUIT": "RED"})

    frame = rows(session, "TOSCA27", stopped_tariffs=["REDUIT"], translate=translate)
    assert frame[["PRODUCT_CODE", "TARIFF_CODE", "ON_SALE"]].values.tolist() == [
        ["TOSCA", "PLEIN", "1"],
        ["TOSCA", "RED", "0"],
        ["TOSCA", "ENFANT", "1"],
        ["TOSCA", "PLEIN", "1"],
    ]


def test_started_performances_are_left_out(session: Session) -> None:
    starts = session.scalars(
        select(Performance.starts_at)
        .join(Product)
        .where(Product.code == EVENT_PRODUCT)
        .order_by(Performance.starts_at)
    ).all()
    assert starts[0] is not None
    after_first = starts[0].replace(tzinfo=dt.timezone(dt.timedelta(hours=1)))
    frame = rows(session, EVENT_PRODUCT, sales_open=after_first)
    assert frame["PERFORMANCE_CODE"].drop_duplicates().tolist() == ["S2", "S3"]
    last = starts[-1].replace(tzinfo=dt.timezone(dt.timedelta(hours=1)))
    with pytest.raises(MappingError, match="cannot be offered") as caught:
        rows(session, EVENT_PRODUCT, sales_open=last)
    assert "nothing to offer" in caught.value.problems[0].reason


def test_a_product_not_set_up_is_refused_with_every_problem(session: Session) -> None:
    product = session.scalars(select(Product).where(Product.code == "MUSEE27")).one()
    session.add(Performance(product=product, code="MUSEE27-X"))
    venue = session.scalars(select(Venue).where(Venue.code == "MAH-GENEVE")).one()
    venue.country = "DE"
    session.flush()
    with pytest.raises(MappingError) as caught:
        rows(session, "MUSEE27")
    assert ["MUSEE27-X" in p.reason for p in caught.value.problems] == [True]
    session.delete(
        session.scalars(select(Performance).where(Performance.code == "MUSEE27-X")).one()
    )
    session.flush()
    session.expire(product)
    with pytest.raises(MappingError) as caught:
        rows(session, "MUSEE27")
    assert [p.value for p in caught.value.problems] == ["DE"]


def test_several_currencies_or_no_price_are_refused(session: Session) -> None:
    with pytest.raises(MappingError) as caught:
        rows(session, "TOSCA27", tariffs=["FNAC_ADHERENT"])
    assert "no price at the tariffs offered" in caught.value.problems[0].reason
    price = session.scalars(
        select(Price).join(Performance).where(Performance.code == "TOSCA27-0314")
    ).first()
    assert price is not None
    price.currency = "CHF"  # type: ignore[assignment]
    session.flush()
    with pytest.raises(MappingError) as caught:
        rows(session, "TOSCA27")
    assert "CHF and EUR" in caught.value.problems[0].reason
