"""The sandbox's conformance data set of realtime-api-v1 (section 16), ids exact.

Two resellers: ``conf-a`` (events, competitions, passes; compares the price, strict) and
``conf-b`` (events; compares the price minus the commission, warns). Three products:

- ``CONF-EVT``: performance ``CONF-EVT-1``; ``CAT1`` seated, seats ``A-1-1``…``A-1-20``
  exclusive to ``conf-a`` and ``B-1-1``…``B-1-20`` exclusive to ``conf-b`` (tariffs ``FULL``
  6500, ``REDUCED`` 4500); ``FREE`` free placement, 50 places exclusive to each (``FULL``
  3000).
- ``CONF-RACE``: performance ``CONF-RACE-1``; ``LAST`` seated, seats ``R-1-1``…``R-1-5`` in
  one quota of ``conf-a``'s channel shared with ``conf-b`` (``FULL`` 5000).
- ``CONF-PASS``: an undated pass, ``CONF-PASS-1``; ``PASS``, 100 places for ``conf-a``
  (``FULL`` 2000), on ``conf-a``'s channel only.

Everything is in EUR, on sale from a day before ``now`` until the performance starts
(the pass: a year after ``now``); the performances start 60 days after ``now``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    Block,
    Currency,
    Performance,
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
    SeatingConfiguration,
    Tariff,
    Venue,
    Zone,
)
from reseller_sync.boxoffice.seeding import add_reseller_channel
from reseller_sync.domain.products import ProductKind
from reseller_sync.realtime.settings import issue_key, record_reseller

TIMEZONE = "Europe/Paris"
PERFORMANCE_DELAY = dt.timedelta(days=60)
PASS_SALE_LENGTH = dt.timedelta(days=365)
SALE_OPENED_BEFORE = dt.timedelta(days=1)
MAX_PLACES_PER_HOLD = 10
SEATS_PER_RESELLER = 20
FREE_PLACES_PER_RESELLER = 50
LAST_SEATS = 5
PASS_PLACES = 100

CATEGORIES = {
    "CAT1": "Category 1",
    "FREE": "Free placement",
    "LAST": "Last seats",
    "PASS": "Individual pass",
}
TARIFFS = {"FULL": "Full price", "REDUCED": "Reduced price"}
PRICES: dict[str, dict[str, dict[str, int]]] = {
    "CONF-EVT-1": {"CAT1": {"FULL": 6500, "REDUCED": 4500}, "FREE": {"FULL": 3000}},
    "CONF-RACE-1": {"LAST": {"FULL": 5000}},
    "CONF-PASS-1": {"PASS": {"FULL": 2000}},
}
"""Cents, per performance, category and tariff."""


@dataclass(frozen=True)
class DataSetReseller:
    """A real-time reseller of a data set made in code (this one, the load benchmark's):
    its entities are named after its code, its settings are the contract's but for its
    kinds and price check."""

    code: str
    product_kinds: tuple[str, ...]
    price_compare: str
    price_policy: str

    @property
    def channel_code(self) -> str:
        return self.code.upper()

    @property
    def point_of_sale_code(self) -> str:
        return f"{self.channel_code}-WEB"

    @property
    def contact_code(self) -> str:
        return f"{self.channel_code}-TECH"

    @property
    def quota_code(self) -> str:
        return f"Q-{self.channel_code}"

    def add_channel(self, session: Session) -> SalesChannel:
        """Its channel, point of sale, technical contact and pending account (EUR)."""
        return add_reseller_channel(
            session,
            reseller_code=self.code,
            channel=(self.channel_code, f"{self.code} (real-time web service)"),
            point_of_sale=(self.point_of_sale_code, f"{self.code} web shop"),
            contact=(self.contact_code, f"{self.code}, technical account"),
            currencies=(Currency.EUR,),
        )

    def record(self, session: Session, *, rate_per_second: int = 20, burst: int = 40) -> None:
        """Record (or update) its settings; the contract's rate limit unless told."""
        record_reseller(
            session,
            reseller_code=self.code,
            channel_code=self.channel_code,
            point_of_sale_code=self.point_of_sale_code,
            contact_code=self.contact_code,
            product_kinds=self.product_kinds,
            price_compare=self.price_compare,
            price_policy=self.price_policy,
            max_places_per_hold=MAX_PLACES_PER_HOLD,
            rate_per_second=rate_per_second,
            burst=burst,
        )


@dataclass(frozen=True)
class ConformanceReseller(DataSetReseller):
    seat_block: str
    """Its exclusive seats of ``CAT1`` on ``CONF-EVT-1``: row 1 of this block."""


CONF_A = ConformanceReseller("conf-a", ("event", "competition", "pass"), "price", "strict", "A")
CONF_B = ConformanceReseller("conf-b", ("event",), "price_minus_commission", "warn", "B")
RESELLERS = (CONF_A, CONF_B)


def performance_start(now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """When a data set's performances start: ``PERFORMANCE_DELAY`` after ``now``, to the
    minute, on the venue's clock (naive, as the box office keeps it)."""
    return (now + PERFORMANCE_DELAY).astimezone(zone).replace(second=0, microsecond=0, tzinfo=None)


def open_sale(
    session: Session,
    *,
    channel_id: int,
    performance_id: int,
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    combinations: Iterable[tuple[int, int]],
) -> None:
    """Put a performance on sale on a channel from ``opens_at`` to ``closes_at``, with each
    (category id, tariff id) of ``combinations`` opened on it."""
    session.add(
        RealtimeSaleWindow(
            channel_id=channel_id,
            performance_id=performance_id,
            opens_at=opens_at,
            closes_at=closes_at,
        )
    )
    session.add_all(
        RealtimeChannelTariff(
            channel_id=channel_id,
            performance_id=performance_id,
            category_id=category_id,
            tariff_id=tariff_id,
        )
        for category_id, tariff_id in combinations
    )


def load_conformance_data(session: Session, now: dt.datetime) -> dict[str, str]:
    """Build the data set in an empty box office (ValueError otherwise) and return one new
    API key per reseller, ``{"conf-a": key, "conf-b": key}``. Flushes, never commits."""
    if now.tzinfo is None:
        raise ValueError("now must carry its offset")
    if session.scalar(select(func.count()).select_from(Product)):
        raise ValueError("the conformance data set loads into an empty box office")
    now = now.astimezone(dt.UTC).replace(microsecond=0)
    zone = ZoneInfo(TIMEZONE)

    categories = {code: SeatCategory(code=code, name=name) for code, name in CATEGORIES.items()}
    tariffs = {code: Tariff(code=code, name=name) for code, name in TARIFFS.items()}
    session.add_all([*categories.values(), *tariffs.values()])

    channels = {reseller.code: reseller.add_channel(session) for reseller in RESELLERS}

    hall = Venue(
        code="CONF-HALL",
        name="Conformance Hall",
        city="Paris",
        country="FR",
        timezone=TIMEZONE,
    )
    museum = Venue(
        code="CONF-MUSEUM",
        name="Conformance Museum",
        city="Paris",
        country="FR",
        timezone=TIMEZONE,
    )
    event_layout = SeatingConfiguration(venue=hall, code="CONF-HALL-EVT", name="Concert")
    race_layout = SeatingConfiguration(venue=hall, code="CONF-HALL-RACE", name="Race")
    event_floor = Zone(configuration=event_layout, code="FLOOR", name="Floor")
    race_stand = Zone(configuration=race_layout, code="STAND", name="Stand")
    blocks = {
        reseller.seat_block: Block(
            zone=event_floor, code=reseller.seat_block, name=f"Block {reseller.seat_block}"
        )
        for reseller in RESELLERS
    }
    pit = Block(
        zone=event_floor,
        code="PIT",
        name="Standing pit",
        free_placement=True,
        capacity=FREE_PLACES_PER_RESELLER * len(RESELLERS),
        category=categories["FREE"],
    )
    race_block = Block(zone=race_stand, code="R", name="Block R")
    session.add_all([hall, museum, event_layout, race_layout, event_floor, race_stand, pit])
    session.add_all([*blocks.values(), race_block])
    session.flush()
    seat_rows = [
        {"block_id": block.id, "row": "1", "number": str(number), "category_id": category.id}
        for block, category, count in (
            *((block, categories["CAT1"], SEATS_PER_RESELLER) for block in blocks.values()),
            (race_block, categories["LAST"], LAST_SEATS),
        )
        for number in range(1, count + 1)
    ]
    session.execute(insert(Seat), seat_rows)

    event = Product(
        code="CONF-EVT",
        name="Conformance concert",
        kind=ProductKind.EVENT,
        venue=hall,
        configuration=event_layout,
    )
    race = Product(
        code="CONF-RACE",
        name="Conformance race",
        kind=ProductKind.EVENT,
        venue=hall,
        configuration=race_layout,
    )
    museum_pass = Product(
        code="CONF-PASS",
        name="Conformance museum pass",
        kind=ProductKind.UNDATED_PASS,
        venue=museum,
    )
    starts_local = performance_start(now, zone)
    performances = {
        "CONF-EVT-1": Performance(product=event, code="CONF-EVT-1", starts_at=starts_local),
        "CONF-RACE-1": Performance(product=race, code="CONF-RACE-1", starts_at=starts_local),
        "CONF-PASS-1": Performance(product=museum_pass, code="CONF-PASS-1"),
    }
    session.add_all([event, race, museum_pass, *performances.values()])
    session.flush()

    for performance_code, by_category in PRICES.items():
        for category_code, by_tariff in by_category.items():
            for tariff_code, amount in by_tariff.items():
                session.add(
                    Price(
                        performance=performances[performance_code],
                        category=categories[category_code],
                        tariff=tariffs[tariff_code],
                        amount=amount,
                        currency=Currency.EUR,
                    )
                )

    conf_a, conf_b = channels[CONF_A.code], channels[CONF_B.code]
    on_channel = {
        conf_a.id: (event, race, museum_pass),
        conf_b.id: (event, race),
    }
    for channel_id, products in on_channel.items():
        for product in products:
            session.add(ProductChannel(product_id=product.id, channel_id=channel_id))

    # Quotas: the categories each channel may sell on each performance.
    evt = performances["CONF-EVT-1"]
    for reseller in RESELLERS:
        quota = Quota(
            code=reseller.quota_code,
            name=f"{reseller.code} quota",
            channel=channels[reseller.code],
            performance=evt,
        )
        session.add(quota)
        session.flush()
        seat_ids = session.scalars(
            select(Seat.id).where(Seat.block_id == blocks[reseller.seat_block].id).order_by(Seat.id)
        ).all()
        session.execute(
            insert(QuotaSeat),
            [
                {"quota_id": quota.id, "performance_id": evt.id, "seat_id": seat_id}
                for seat_id in seat_ids
            ],
        )
        session.add(QuotaFreePlaces(quota=quota, block=pit, places=FREE_PLACES_PER_RESELLER))
    race_performance = performances["CONF-RACE-1"]
    race_quota = Quota(
        code=CONF_A.quota_code,
        name="Shared last seats",
        channel=conf_a,
        performance=race_performance,
    )
    session.add(race_quota)
    session.flush()
    race_seats = session.scalars(
        select(Seat.id).where(Seat.block_id == race_block.id).order_by(Seat.id)
    ).all()
    session.execute(
        insert(QuotaSeat),
        [
            {"quota_id": race_quota.id, "performance_id": race_performance.id, "seat_id": seat}
            for seat in race_seats
        ],
    )
    session.add(QuotaSharedChannel(quota_id=race_quota.id, channel_id=conf_b.id))
    session.add(
        Quota(
            code=CONF_A.quota_code,
            name=f"{CONF_A.code} pass quota",
            channel=conf_a,
            performance=performances["CONF-PASS-1"],
            places=PASS_PLACES,
            category_id=categories["PASS"].id,
        )
    )

    # Sale windows and the tariffs opened on each channel, wherever the product is on it.
    opens_at = now - SALE_OPENED_BEFORE
    sold_categories = {
        "CONF-EVT-1": ("CAT1", "FREE"),
        "CONF-RACE-1": ("LAST",),
        "CONF-PASS-1": ("PASS",),
    }
    for channel_id, products in on_channel.items():
        for product in products:
            for performance in product.performances:
                if performance.starts_at is None:
                    closes_at = now + PASS_SALE_LENGTH
                else:
                    closes_at = performance.starts_at.replace(tzinfo=zone).astimezone(dt.UTC)
                open_sale(
                    session,
                    channel_id=channel_id,
                    performance_id=performance.id,
                    opens_at=opens_at,
                    closes_at=closes_at,
                    combinations=[
                        (categories[category_code].id, tariffs[tariff_code].id)
                        for category_code in sold_categories[performance.code]
                        for tariff_code in PRICES[performance.code][category_code]
                    ],
                )
    session.flush()

    keys = {}
    for reseller in RESELLERS:
        reseller.record(session)
        keys[reseller.code] = issue_key(session, reseller.code, now)
    return keys
