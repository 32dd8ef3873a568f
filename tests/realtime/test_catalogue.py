"""The catalogue on a reseller's channel (realtime-api-v1, section 7.2), on the conformance
data set."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, delete, event, select, update
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    ChannelType,
    Currency,
    Performance,
    Price,
    Product,
    ProductChannel,
    Quota,
    QuotaFreePlaces,
    QuotaSharedChannel,
    RealtimeChannelTariff,
    RealtimeSaleWindow,
    SalesChannel,
    SeatCategory,
    Tariff,
    Venue,
)
from reseller_sync.domain.products import ProductKind
from reseller_sync.realtime.catalogue import catalogue, product, utc_instant
from reseller_sync.realtime.problems import Problem
from reseller_sync.realtime.settings import record_reseller

EVT_SALE = {"opens_at": "2026-12-01T12:00:00Z", "closes_at": "2027-01-31T12:00:00Z"}


def _event(
    product_id: str, name: str, performance_id: str, categories: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": product_id,
        "kind": "event",
        "name": name,
        "venue": {"name": "Conformance Hall", "city": "Paris", "country": "FR"},
        "currency": "EUR",
        "beneficiary_required": False,
        "performances": [
            {
                "id": performance_id,
                "starts_at": "2027-01-31T13:00:00+01:00",
                "timezone": "Europe/Paris",
                "validity": None,
                "sale": EVT_SALE,
                "categories": categories,
            }
        ],
    }


CONF_EVT = _event(
    "CONF-EVT",
    "Conformance concert",
    "CONF-EVT-1",
    [
        {
            "id": "CAT1",
            "name": "Category 1",
            "placement": "seated",
            "tariffs": [
                {"id": "FULL", "name": "Full price", "price": 6500},
                {"id": "REDUCED", "name": "Reduced price", "price": 4500},
            ],
        },
        {
            "id": "FREE",
            "name": "Free placement",
            "placement": "free",
            "tariffs": [{"id": "FULL", "name": "Full price", "price": 3000}],
        },
    ],
)
CONF_RACE = _event(
    "CONF-RACE",
    "Conformance race",
    "CONF-RACE-1",
    [
        {
            "id": "LAST",
            "name": "Last seats",
            "placement": "seated",
            "tariffs": [{"id": "FULL", "name": "Full price", "price": 5000}],
        }
    ],
)
CONF_PASS = {
    "id": "CONF-PASS",
    "kind": "pass",
    "name": "Conformance museum pass",
    "venue": {"name": "Conformance Museum", "city": "Paris", "country": "FR"},
    "currency": "EUR",
    "beneficiary_required": False,
    "performances": [
        {
            "id": "CONF-PASS-1",
            "starts_at": None,
            "timezone": "Europe/Paris",
            "validity": {"from": None, "until": None},
            "sale": {"opens_at": "2026-12-01T12:00:00Z", "closes_at": "2027-12-02T12:00:00Z"},
            "categories": [
                {
                    "id": "PASS",
                    "name": "Individual pass",
                    "placement": "none",
                    "tariffs": [{"id": "FULL", "name": "Full price", "price": 2000}],
                }
            ],
        }
    ],
}


def _limits(places: int = 10) -> dict[str, int]:
    return {
        "max_places_per_hold": places,
        "hold_default_seconds": 600,
        "hold_min_seconds": 5,
        "hold_max_seconds": 1800,
    }


def _ids(found: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """product -> performance -> category ids."""
    return {
        item["id"]: {
            performance["id"]: [category["id"] for category in performance["categories"]]
            for performance in item["performances"]
        }
        for item in found["products"]
    }


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _many) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _id_of(session: Session, model: Any, code: str) -> int:
    return session.scalars(select(model.id).where(model.code == code)).one()


def test_the_catalogue_of_conf_a_is_the_whole_data_set(conformance_world) -> None:
    world = conformance_world
    with world.session() as session:
        found = catalogue(session, world.reseller("conf-a"), world.now)
    assert found == {
        "reseller_id": "conf-a",
        "product_kinds": ["event", "competition", "pass"],
        "price_check": {"compare": "price", "policy": "strict"},
        "limits": _limits(),
        "generated_at": "2026-12-02T12:00:00Z",
        "products": [CONF_EVT, CONF_RACE, CONF_PASS],
    }


def test_the_catalogue_of_conf_b_has_no_pass(conformance_world) -> None:
    world = conformance_world
    with world.session() as session:
        found = catalogue(session, world.reseller("conf-b"), world.now + dt.timedelta(hours=1))
    assert found == {
        "reseller_id": "conf-b",
        "product_kinds": ["event"],
        "price_check": {"compare": "price_minus_commission", "policy": "warn"},
        "limits": _limits(),
        "generated_at": "2026-12-02T13:00:00Z",
        "products": [CONF_EVT, CONF_RACE],
    }


def test_one_product_is_the_catalogues_entry(conformance_world) -> None:
    world = conformance_world
    with world.session() as session:
        assert product(session, world.reseller("conf-a"), "CONF-PASS", world.now) == CONF_PASS
        assert product(session, world.reseller("conf-b"), "CONF-RACE", world.now) == CONF_RACE


@pytest.mark.parametrize(
    ("reseller", "product_id"),
    [
        ("conf-b", "CONF-PASS"),  # a kind it may not sell, and not on its channel
        ("conf-a", "CONF-NOPE"),
        ("conf-a", "conf-evt"),  # ids are case-sensitive
        ("conf-a", "CONF-EVT-1"),  # a performance's id is no product's
        ("conf-a", "BOX-ONLY"),  # on another channel only
    ],
)
def test_a_product_the_reseller_may_not_see_is_not_found(
    conformance_world, reseller: str, product_id: str
) -> None:
    world = conformance_world
    with world.session() as session, session.begin():
        hall = session.scalars(select(Venue).where(Venue.code == "CONF-HALL")).one()
        box_office = SalesChannel(code="BOX", name="Box office", type=ChannelType.BOX_OFFICE)
        other = Product(code="BOX-ONLY", name="Box office only", kind=ProductKind.EVENT, venue=hall)
        session.add_all([box_office, other])
        session.flush()
        session.add(ProductChannel(product_id=other.id, channel_id=box_office.id))
    with world.session() as session:
        with pytest.raises(Problem) as raised:
            product(session, world.reseller(reseller), product_id, world.now)
        assert raised.value.status == 404
        assert raised.value.type.name == "not-found"
        assert product_id in raised.value.detail
        assert product_id not in _ids(catalogue(session, world.reseller(reseller), world.now))


def test_a_kind_the_reseller_no_longer_sells_leaves_its_catalogue(conformance_world) -> None:
    world = conformance_world
    with world.session() as session, session.begin():
        record_reseller(
            session,
            reseller_code="conf-a",
            channel_code="CONF-A",
            point_of_sale_code="CONF-A-WEB",
            contact_code="CONF-A-TECH",
            product_kinds=["competition", "pass"],
            price_compare="price",
            price_policy="strict",
            max_places_per_hold=3,
        )
    with world.session() as session:
        found = catalogue(session, world.reseller("conf-a"), world.now)
        assert found["limits"] == _limits(3)
        assert found["product_kinds"] == ["competition", "pass"]
        assert _ids(found) == {"CONF-PASS": {"CONF-PASS-1": ["PASS"]}}
        with pytest.raises(Problem):
            product(session, world.reseller("conf-a"), "CONF-EVT", world.now)


def test_closed_sale_windows_leave_the_catalogue_announced_ones_stay(conformance_world) -> None:
    world = conformance_world
    closes = dt.datetime(2027, 1, 31, 12, 0, tzinfo=dt.UTC)
    with world.session() as session:
        conf_a, conf_b = world.reseller("conf-a"), world.reseller("conf-b")
        before = closes - dt.timedelta(seconds=1)
        assert set(_ids(catalogue(session, conf_b, before))) == {"CONF-EVT", "CONF-RACE"}
        assert _ids(catalogue(session, conf_b, closes)) == {}
        assert _ids(catalogue(session, conf_a, closes)) == {"CONF-PASS": {"CONF-PASS-1": ["PASS"]}}
        with pytest.raises(Problem):
            product(session, conf_b, "CONF-EVT", closes)
        # Before the window opens, the performance is announced for sale.
        early = world.now - dt.timedelta(days=30)
        assert set(_ids(catalogue(session, conf_b, early))) == {"CONF-EVT", "CONF-RACE"}
    # No window on the channel: not on sale there.
    with world.session() as session, session.begin():
        session.execute(
            delete(RealtimeSaleWindow).where(
                RealtimeSaleWindow.channel_id == conf_b.channel_id,
                RealtimeSaleWindow.performance_id == _id_of(session, Performance, "CONF-RACE-1"),
            )
        )
    with world.session() as session:
        assert set(_ids(catalogue(session, conf_b, world.now))) == {"CONF-EVT"}
        assert set(_ids(catalogue(session, conf_a, world.now))) == {
            "CONF-EVT",
            "CONF-RACE",
            "CONF-PASS",
        }


def test_only_categories_with_places_in_a_quota_of_the_channel(conformance_world) -> None:
    world = conformance_world
    conf_a, conf_b = world.reseller("conf-a"), world.reseller("conf-b")
    with world.session() as session, session.begin():
        # conf-b's free places drop to none; conf-b no longer shares the last seats.
        quota_b = session.scalars(
            select(Quota.id).where(
                Quota.channel_id == conf_b.channel_id,
                Quota.performance_id == _id_of(session, Performance, "CONF-EVT-1"),
            )
        ).one()
        session.execute(
            update(QuotaFreePlaces).where(QuotaFreePlaces.quota_id == quota_b).values(places=0)
        )
        session.execute(delete(QuotaSharedChannel))
    with world.session() as session:
        assert _ids(catalogue(session, conf_b, world.now)) == {"CONF-EVT": {"CONF-EVT-1": ["CAT1"]}}
        assert _ids(catalogue(session, conf_a, world.now)) == {
            "CONF-EVT": {"CONF-EVT-1": ["CAT1", "FREE"]},
            "CONF-RACE": {"CONF-RACE-1": ["LAST"]},
            "CONF-PASS": {"CONF-PASS-1": ["PASS"]},
        }
        with pytest.raises(Problem):
            product(session, conf_b, "CONF-RACE", world.now)


def test_only_tariffs_opened_on_the_channel_at_their_price(conformance_world) -> None:
    world = conformance_world
    conf_a, conf_b = world.reseller("conf-a"), world.reseller("conf-b")
    with world.session() as session, session.begin():
        evt = _id_of(session, Performance, "CONF-EVT-1")
        session.execute(
            delete(RealtimeChannelTariff).where(
                RealtimeChannelTariff.channel_id == conf_b.channel_id,
                RealtimeChannelTariff.tariff_id == _id_of(session, Tariff, "REDUCED"),
            )
        )
        session.execute(
            update(Price)
            .where(
                Price.performance_id == evt,
                Price.category_id == _id_of(session, SeatCategory, "CAT1"),
                Price.tariff_id == _id_of(session, Tariff, "FULL"),
            )
            .values(amount=6800)
        )
        # A tariff opened where the channel has no places shows nowhere.
        session.add(
            RealtimeChannelTariff(
                channel_id=conf_b.channel_id,
                performance_id=evt,
                category_id=_id_of(session, SeatCategory, "LAST"),
                tariff_id=_id_of(session, Tariff, "FULL"),
            )
        )
    with world.session() as session:
        for reseller, expected in (
            (conf_b, [{"id": "FULL", "name": "Full price", "price": 6800}]),
            (
                conf_a,
                [
                    {"id": "FULL", "name": "Full price", "price": 6800},
                    {"id": "REDUCED", "name": "Reduced price", "price": 4500},
                ],
            ),
        ):
            found = product(session, reseller, "CONF-EVT", world.now)
            categories = found["performances"][0]["categories"]
            assert [category["id"] for category in categories] == ["CAT1", "FREE"]
            assert categories[0]["tariffs"] == expected
    # No tariff left on a category: the category goes; none left at all: the product goes.
    with world.session() as session, session.begin():
        session.execute(
            delete(RealtimeChannelTariff).where(
                RealtimeChannelTariff.channel_id == conf_b.channel_id,
                RealtimeChannelTariff.category_id == _id_of(session, SeatCategory, "CAT1"),
            )
        )
    with world.session() as session:
        assert _ids(catalogue(session, conf_b, world.now))["CONF-EVT"] == {"CONF-EVT-1": ["FREE"]}
    with world.session() as session, session.begin():
        session.execute(
            delete(RealtimeChannelTariff).where(
                RealtimeChannelTariff.channel_id == conf_b.channel_id,
                RealtimeChannelTariff.performance_id == evt,
            )
        )
    with world.session() as session:
        assert set(_ids(catalogue(session, conf_b, world.now))) == {"CONF-RACE"}


def test_dates_are_written_as_the_contract_says(conformance_world) -> None:
    world = conformance_world
    with world.session() as session, session.begin():
        session.execute(
            update(Performance)
            .where(Performance.code == "CONF-PASS-1")
            .values(valid_from=dt.date(2027, 1, 1), valid_until=dt.date(2027, 12, 31))
        )
        session.execute(
            update(Performance)
            .where(Performance.code == "CONF-RACE-1")
            .values(starts_at=dt.datetime(2027, 7, 14, 21, 30))
        )
        session.execute(
            update(Venue).where(Venue.code == "CONF-HALL").values(timezone="America/New_York")
        )
        session.execute(
            update(RealtimeSaleWindow).values(
                opens_at=dt.datetime(2026, 12, 1, 8, 0, 0, 250000, tzinfo=dt.UTC)
            )
        )
    with world.session() as session:
        conf_a = world.reseller("conf-a")
        museum_pass = product(session, conf_a, "CONF-PASS", world.now)["performances"][0]
        race = product(session, conf_a, "CONF-RACE", world.now)["performances"][0]
        evt = product(session, conf_a, "CONF-EVT", world.now)["performances"][0]
    assert museum_pass["validity"] == {"from": "2027-01-01", "until": "2027-12-31"}
    assert museum_pass["starts_at"] is None
    assert race["starts_at"] == "2027-07-14T21:30:00-04:00"
    assert evt["starts_at"] == "2027-01-31T13:00:00-05:00"  # the hall's wall clock
    assert race["timezone"] == evt["timezone"] == "America/New_York"
    assert evt["sale"]["opens_at"] == "2026-12-01T08:00:00.250Z"


def test_a_product_is_in_one_currency(conformance_world) -> None:
    world = conformance_world
    with world.session() as session, session.begin():
        session.execute(
            update(Price)
            .where(Price.performance_id == _id_of(session, Performance, "CONF-PASS-1"))
            .values(currency=Currency.CHF)
        )
        session.execute(
            update(Price)
            .where(Price.category_id == _id_of(session, SeatCategory, "FREE"))
            .values(currency=Currency.CHF)
        )
    with world.session() as session:
        conf_a = world.reseller("conf-a")
        assert product(session, conf_a, "CONF-PASS", world.now)["currency"] == "CHF"
        evt = product(session, conf_a, "CONF-EVT", world.now)
    assert evt["currency"] == "EUR"
    assert [category["id"] for category in evt["performances"][0]["categories"]] == ["CAT1"]


def test_the_catalogue_takes_a_fixed_number_of_queries(conformance_world) -> None:
    world = conformance_world
    conf_a = world.reseller("conf-a")
    with world.session() as session, statements(world.engine) as seen:
        catalogue(session, conf_a, world.now)
    queries = len(seen)
    assert queries <= 5
    # Twenty more performances, each on sale with its prices: no more queries.
    with world.session() as session, session.begin():
        evt = session.scalars(select(Product).where(Product.code == "CONF-EVT")).one()
        cat1 = _id_of(session, SeatCategory, "CAT1")
        full = _id_of(session, Tariff, "FULL")
        for day in range(1, 21):
            performance = Performance(
                product=evt, code=f"CONF-EVT-X{day}", starts_at=dt.datetime(2027, 2, day, 20, 0)
            )
            session.add(performance)
            session.flush()
            quota = Quota(
                code="Q-CONF-A",
                name="more",
                channel_id=conf_a.channel_id,
                performance_id=performance.id,
                places=5,
                category_id=cat1,
            )
            session.add_all(
                [
                    quota,
                    Price(
                        performance_id=performance.id,
                        category_id=cat1,
                        tariff_id=full,
                        amount=6500,
                        currency=Currency.EUR,
                    ),
                    RealtimeSaleWindow(
                        channel_id=conf_a.channel_id,
                        performance_id=performance.id,
                        opens_at=world.now,
                        closes_at=world.now + dt.timedelta(days=90),
                    ),
                    RealtimeChannelTariff(
                        channel_id=conf_a.channel_id,
                        performance_id=performance.id,
                        category_id=cat1,
                        tariff_id=full,
                    ),
                ]
            )
    with world.session() as session, statements(world.engine) as seen:
        found = catalogue(session, conf_a, world.now)
    assert len(found["products"][0]["performances"]) == 21
    assert len(seen) == queries


def test_utc_instants() -> None:
    assert utc_instant(
        dt.datetime(2026, 12, 2, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    ) == ("2026-12-02T12:00:00Z")
    assert utc_instant(dt.datetime(2026, 12, 2, 12, 0, 0, 999999)) == "2026-12-02T12:00:00.999Z"
