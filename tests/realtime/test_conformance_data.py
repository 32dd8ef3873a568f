"""The conformance data set of realtime-api-v1, section 16: its ids and figures, exactly."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    Block,
    ChannelType,
    Contact,
    PaymentMode,
    PendingAccount,
    Performance,
    PointOfSale,
    Price,
    Product,
    ProductChannel,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    QuotaSharedChannel,
    RealtimeChannelTariff,
    RealtimeSaleWindow,
    SalesChannel,
    Seat,
    SeatCategory,
    Tariff,
    Venue,
)
from reseller_sync.domain.products import ProductKind
from reseller_sync.realtime.conformance import load_conformance_data
from reseller_sync.realtime.settings import authenticate, list_keys


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def _quota_places(session: Session) -> dict[tuple[str, str, str], set[str] | int]:
    """(channel, performance, category) -> seat ids, or a count of places."""
    places: dict[tuple[str, str, str], set[str] | int] = {}
    seats: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for channel, performance, category, block, row, number in session.execute(
        select(
            SalesChannel.code,
            Performance.code,
            SeatCategory.code,
            Block.code,
            Seat.row,
            Seat.number,
        )
        .select_from(QuotaSeat)
        .join(Quota, Quota.id == QuotaSeat.quota_id)
        .join(SalesChannel, SalesChannel.id == Quota.channel_id)
        .join(Performance, Performance.id == QuotaSeat.performance_id)
        .join(Seat, Seat.id == QuotaSeat.seat_id)
        .join(Block, Block.id == Seat.block_id)
        .join(SeatCategory, SeatCategory.id == Seat.category_id)
    ):
        seats[(channel, performance, category)].add(f"{block}-{row}-{number}")
    places.update(seats)
    for channel, performance, category, count in session.execute(
        select(SalesChannel.code, Performance.code, SeatCategory.code, QuotaFreePlaces.places)
        .select_from(QuotaFreePlaces)
        .join(Quota, Quota.id == QuotaFreePlaces.quota_id)
        .join(SalesChannel, SalesChannel.id == Quota.channel_id)
        .join(Performance, Performance.id == Quota.performance_id)
        .join(Block, Block.id == QuotaFreePlaces.block_id)
        .join(SeatCategory, SeatCategory.id == Block.category_id)
    ):
        places[(channel, performance, category)] = count
    for channel, performance, category, counted in session.execute(
        select(SalesChannel.code, Performance.code, SeatCategory.code, Quota.places)
        .select_from(Quota)
        .join(SalesChannel, SalesChannel.id == Quota.channel_id)
        .join(Performance, Performance.id == Quota.performance_id)
        .join(SeatCategory, SeatCategory.id == Quota.category_id)
        .where(Quota.places.is_not(None))
    ):
        assert counted is not None
        places[(channel, performance, category)] = counted
    return places


def test_the_products_performances_and_prices_are_those_of_section_16(conformance_world) -> None:
    world = conformance_world
    with world.session() as session:
        products = {
            code: (kind, configured)
            for code, kind, configured in session.execute(
                select(Product.code, Product.kind, Product.configuration_id.is_not(None))
            )
        }
        performances = {
            code: (product, starts_at, valid_from, valid_until)
            for code, product, starts_at, valid_from, valid_until in session.execute(
                select(
                    Performance.code,
                    Product.code,
                    Performance.starts_at,
                    Performance.valid_from,
                    Performance.valid_until,
                ).join(Product, Product.id == Performance.product_id)
            )
        }
        prices = {
            tuple(row)
            for row in session.execute(
                select(
                    Performance.code, SeatCategory.code, Tariff.code, Price.amount, Price.currency
                )
                .join(Performance, Performance.id == Price.performance_id)
                .join(SeatCategory, SeatCategory.id == Price.category_id)
                .join(Tariff, Tariff.id == Price.tariff_id)
            )
        }
        timezones = set(session.scalars(select(Venue.timezone)))
    assert products == {
        "CONF-EVT": (ProductKind.EVENT, True),
        "CONF-RACE": (ProductKind.EVENT, True),
        "CONF-PASS": (ProductKind.UNDATED_PASS, False),
    }
    # 60 days after the clock, on the venue's wall clock (Paris, winter: UTC+1).
    starts = dt.datetime(2027, 1, 31, 13, 0)
    assert performances == {
        "CONF-EVT-1": ("CONF-EVT", starts, None, None),
        "CONF-RACE-1": ("CONF-RACE", starts, None, None),
        "CONF-PASS-1": ("CONF-PASS", None, None, None),
    }
    assert timezones == {"Europe/Paris"}
    assert prices == {
        ("CONF-EVT-1", "CAT1", "FULL", 6500, "EUR"),
        ("CONF-EVT-1", "CAT1", "REDUCED", 4500, "EUR"),
        ("CONF-EVT-1", "FREE", "FULL", 3000, "EUR"),
        ("CONF-RACE-1", "LAST", "FULL", 5000, "EUR"),
        ("CONF-PASS-1", "PASS", "FULL", 2000, "EUR"),
    }


def test_the_quotas_are_those_of_section_16(conformance_world) -> None:
    world = conformance_world
    with world.session() as session:
        places = _quota_places(session)
        shared = {
            tuple(row)
            for row in session.execute(
                select(SalesChannel.code, Quota.code, Performance.code)
                .select_from(QuotaSharedChannel)
                .join(Quota, Quota.id == QuotaSharedChannel.quota_id)
                .join(Performance, Performance.id == Quota.performance_id)
                .join(SalesChannel, SalesChannel.id == QuotaSharedChannel.channel_id)
            )
        }
        pit_capacity = session.scalar(select(Block.capacity).where(Block.free_placement))
    assert places == {
        ("CONF-A", "CONF-EVT-1", "CAT1"): {f"A-1-{number}" for number in range(1, 21)},
        ("CONF-B", "CONF-EVT-1", "CAT1"): {f"B-1-{number}" for number in range(1, 21)},
        ("CONF-A", "CONF-EVT-1", "FREE"): 50,
        ("CONF-B", "CONF-EVT-1", "FREE"): 50,
        ("CONF-A", "CONF-RACE-1", "LAST"): {f"R-1-{number}" for number in range(1, 6)},
        ("CONF-A", "CONF-PASS-1", "PASS"): 100,
    }
    assert shared == {("CONF-B", "Q-CONF-A", "CONF-RACE-1")}
    assert pit_capacity == 100


def test_the_channels_and_sale_settings_are_those_of_section_16(conformance_world) -> None:
    world = conformance_world
    with world.session() as session:
        on_channel = {
            tuple(row)
            for row in session.execute(
                select(SalesChannel.code, Product.code)
                .select_from(ProductChannel)
                .join(SalesChannel, SalesChannel.id == ProductChannel.channel_id)
                .join(Product, Product.id == ProductChannel.product_id)
            )
        }
        windows = {
            (channel, performance): (_utc(opens_at), _utc(closes_at))
            for channel, performance, opens_at, closes_at in session.execute(
                select(
                    SalesChannel.code,
                    Performance.code,
                    RealtimeSaleWindow.opens_at,
                    RealtimeSaleWindow.closes_at,
                )
                .join(SalesChannel, SalesChannel.id == RealtimeSaleWindow.channel_id)
                .join(Performance, Performance.id == RealtimeSaleWindow.performance_id)
            )
        }
        opened = {
            tuple(row)
            for row in session.execute(
                select(SalesChannel.code, Performance.code, SeatCategory.code, Tariff.code)
                .select_from(RealtimeChannelTariff)
                .join(SalesChannel, SalesChannel.id == RealtimeChannelTariff.channel_id)
                .join(Performance, Performance.id == RealtimeChannelTariff.performance_id)
                .join(SeatCategory, SeatCategory.id == RealtimeChannelTariff.category_id)
                .join(Tariff, Tariff.id == RealtimeChannelTariff.tariff_id)
            )
        }
    assert on_channel == {
        ("CONF-A", "CONF-EVT"),
        ("CONF-A", "CONF-RACE"),
        ("CONF-A", "CONF-PASS"),
        ("CONF-B", "CONF-EVT"),
        ("CONF-B", "CONF-RACE"),
    }
    opens = world.now - dt.timedelta(days=1)
    starts = dt.datetime(2027, 1, 31, 12, 0, tzinfo=dt.UTC)
    assert windows == {
        ("CONF-A", "CONF-EVT-1"): (opens, starts),
        ("CONF-A", "CONF-RACE-1"): (opens, starts),
        ("CONF-A", "CONF-PASS-1"): (opens, world.now + dt.timedelta(days=365)),
        ("CONF-B", "CONF-EVT-1"): (opens, starts),
        ("CONF-B", "CONF-RACE-1"): (opens, starts),
    }
    assert opened == {
        (channel, *priced)
        for channel in ("CONF-A", "CONF-B")
        for priced in (
            ("CONF-EVT-1", "CAT1", "FULL"),
            ("CONF-EVT-1", "CAT1", "REDUCED"),
            ("CONF-EVT-1", "FREE", "FULL"),
            ("CONF-RACE-1", "LAST", "FULL"),
        )
    } | {("CONF-A", "CONF-PASS-1", "PASS", "FULL")}


def test_the_resellers_are_set_up_as_section_16_says(conformance_world) -> None:
    world = conformance_world
    conf_a, conf_b = world.reseller("conf-a"), world.reseller("conf-b")
    assert (conf_a.product_kinds, conf_a.price_compare, conf_a.price_policy) == (
        ("event", "competition", "pass"),
        "price",
        "strict",
    )
    assert (conf_b.product_kinds, conf_b.price_compare, conf_b.price_policy) == (
        ("event",),
        "price_minus_commission",
        "warn",
    )
    with world.session() as session:
        for context in (conf_a, conf_b):
            assert context.max_places_per_hold == 10
            assert not context.suspended
            channel = session.get_one(SalesChannel, context.channel_id)
            assert (channel.type, channel.reseller_code) == (
                ChannelType.RESELLER_AUTOMATIC,
                context.reseller_code,
            )
            point_of_sale = session.get_one(PointOfSale, context.point_of_sale_id)
            assert point_of_sale.channel_id == channel.id
            assert point_of_sale.payment_mode == PaymentMode.PENDING_ACCOUNT
            contact = session.get_one(Contact, context.contact_id)
            assert contact.technical
            assert session.scalars(
                select(PendingAccount.currency).where(PendingAccount.contact_id == contact.id)
            ).all() == ["EUR"]
        assert conf_a.channel_id != conf_b.channel_id
        assert conf_a.contact_id != conf_b.contact_id
        # One active key each, and each key is its reseller's.
        for code, key in world.keys.items():
            context = authenticate(session, key)
            assert context is not None
            assert context.reseller_code == code
            assert [info.key_id for info in list_keys(session, code)] == [key[4:12]]


def test_loading_twice_is_refused(conformance_world) -> None:
    world = conformance_world
    with world.session() as session, pytest.raises(ValueError, match="empty"):
        load_conformance_data(session, world.now)


def test_the_clock_places_the_data_set_in_time(realtime_engine: Engine) -> None:
    """A clock in summer, with microseconds: performances 60 days later on the venue's wall
    clock, at a whole minute; windows from a day before."""
    now = dt.datetime(2027, 5, 10, 6, 30, 15, 250000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with Session(realtime_engine) as session, session.begin():
        keys = load_conformance_data(session, now)
    assert set(keys) == {"conf-a", "conf-b"}
    with Session(realtime_engine) as session:
        starts = session.scalar(
            select(Performance.starts_at).where(Performance.code == "CONF-EVT-1")
        )
        window = session.execute(
            select(RealtimeSaleWindow.opens_at, RealtimeSaleWindow.closes_at)
            .join(Performance, Performance.id == RealtimeSaleWindow.performance_id)
            .where(Performance.code == "CONF-EVT-1")
            .limit(1)
        ).one()
    assert starts == dt.datetime(2027, 7, 9, 6, 30)  # 04:30:15Z + 60 days = 06:30:15 in Paris
    assert _utc(window.opens_at) == dt.datetime(2027, 5, 9, 4, 30, 15, tzinfo=dt.UTC)
    assert _utc(window.closes_at) == dt.datetime(2027, 7, 9, 4, 30, tzinfo=dt.UTC)


def test_an_aware_clock_is_required(realtime_engine: Engine) -> None:
    with Session(realtime_engine) as session, pytest.raises(ValueError, match="offset"):
        load_conformance_data(session, dt.datetime(2026, 12, 2, 12, 0))
