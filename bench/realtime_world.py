"""The box office of the real-time load benchmark (realtime-api-v1, section 15).

A 20,000-seat arena (twenty blocks ``A`` to ``T`` of 40 rows of 25 seats, category
``CAT1``, plus a standing pit ``FOSSE`` of 3,000 free places), one concert on sale with one
performance, and two resellers, each with its exclusive quota: 2,000 seats (two blocks) and
500 places of the pit.

- ``bench-a``: compares the ``price``, ``strict`` (events, competitions, passes);
- ``bench-b``: compares the ``price_minus_commission``, ``warn`` (events).

Tariffs ``FULL`` (``CAT1`` 6500, ``FOSSE`` 3900) and ``REDUCED`` (``CAT1`` 4500), opened on
both channels. The seats and quota seats are written by set-based statements (one
``INSERT ... SELECT`` each), so that the arena takes a second, not a minute.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, cast, func, insert, literal, select, true
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
    SalesChannel,
    Seat,
    SeatCategory,
    SeatingConfiguration,
    Tariff,
    Venue,
    Zone,
)
from reseller_sync.domain.products import ProductKind
from reseller_sync.realtime.conformance import DataSetReseller, open_sale, performance_start
from reseller_sync.realtime.settings import issue_key

TIMEZONE = "Europe/Paris"
PRODUCT = "BENCH-ARENA"
PERFORMANCE = "BENCH-ARENA-1"
SEATED = "CAT1"
FREE = "FOSSE"
BLOCKS = tuple("ABCDEFGHIJKLMNOPQRST")
ROWS = 40
SEATS_PER_ROW = 25
PIT_CAPACITY = 3_000
PIT_PLACES_PER_RESELLER = 500
PRICES = {(SEATED, "FULL"): 6500, (SEATED, "REDUCED"): 4500, (FREE, "FULL"): 3900}
"""Cents, per category and tariff."""


@dataclass(frozen=True)
class BenchReseller(DataSetReseller):
    """A bench reseller: built and recorded as the conformance data set's are."""

    blocks: tuple[str, ...]
    """Its exclusive seats: every seat of these blocks."""


BENCH_A = BenchReseller("bench-a", ("event", "competition", "pass"), "price", "strict", ("A", "B"))
BENCH_B = BenchReseller("bench-b", ("event",), "price_minus_commission", "warn", ("C", "D"))
RESELLERS = (BENCH_A, BENCH_B)


def seats_per_reseller() -> int:
    return len(BENCH_A.blocks) * ROWS * SEATS_PER_ROW


def build_world(session: Session, now: dt.datetime) -> dict[str, str]:
    """Build the arena, its performance and both resellers in an empty migrated box office;
    return one new API key per reseller (``{"bench-a": key, "bench-b": key}``). Flushes,
    never commits."""
    now = now.astimezone(dt.UTC).replace(microsecond=0)
    zone = ZoneInfo(TIMEZONE)
    categories = {
        SEATED: SeatCategory(code=SEATED, name="Category 1"),
        FREE: SeatCategory(code=FREE, name="Standing pit"),
    }
    tariffs = {
        "FULL": Tariff(code="FULL", name="Full price"),
        "REDUCED": Tariff(code="REDUCED", name="Reduced price"),
    }
    session.add_all([*categories.values(), *tariffs.values()])

    channels = {reseller.code: reseller.add_channel(session) for reseller in RESELLERS}

    arena = Venue(
        code="BENCH-ARENA",
        name="Bench Arena",
        city="Paris",
        country="FR",
        timezone=TIMEZONE,
    )
    layout = SeatingConfiguration(venue=arena, code="BENCH-ARENA-CONCERT", name="Concert")
    bowl = Zone(configuration=layout, code="BOWL", name="Bowl")
    blocks = {code: Block(zone=bowl, code=code, name=f"Block {code}") for code in BLOCKS}
    pit = Block(
        zone=bowl,
        code=FREE,
        name="Standing pit",
        free_placement=True,
        capacity=PIT_CAPACITY,
        category=categories[FREE],
    )
    session.add_all([arena, layout, bowl, pit, *blocks.values()])
    session.flush()
    _insert_seats(session, [block.id for block in blocks.values()], categories[SEATED].id)

    product = Product(
        code=PRODUCT,
        name="Bench arena concert",
        kind=ProductKind.EVENT,
        venue=arena,
        configuration=layout,
    )
    starts_local = performance_start(now, zone)
    performance = Performance(product=product, code=PERFORMANCE, starts_at=starts_local)
    session.add_all([product, performance])
    session.flush()
    session.add_all(
        Price(
            performance=performance,
            category=categories[category],
            tariff=tariffs[tariff],
            amount=amount,
            currency=Currency.EUR,
        )
        for (category, tariff), amount in PRICES.items()
    )
    closes_at = starts_local.replace(tzinfo=zone).astimezone(dt.UTC)
    for reseller in RESELLERS:
        channel = channels[reseller.code]
        quota = Quota(
            code=reseller.quota_code,
            name=f"{reseller.code} quota",
            channel=channel,
            performance=performance,
        )
        session.add(quota)
        session.flush()
        add_quota_seats(session, quota.id, performance.id, reseller.blocks)
        session.add(QuotaFreePlaces(quota=quota, block=pit, places=PIT_PLACES_PER_RESELLER))
        session.add(ProductChannel(product_id=product.id, channel_id=channel.id))
        open_sale(
            session,
            channel_id=channel.id,
            performance_id=performance.id,
            opens_at=now - dt.timedelta(days=1),
            closes_at=closes_at,
            combinations=[
                (categories[category].id, tariffs[tariff].id) for category, tariff in PRICES
            ],
        )
    session.flush()

    keys = {}
    for reseller in RESELLERS:
        reseller.record(session)
        keys[reseller.code] = issue_key(session, reseller.code, now)
    return keys


def _insert_seats(session: Session, block_ids: list[int], category_id: int) -> None:
    """Every seat of these blocks (rows 1 to ROWS, numbers 1 to SEATS_PER_ROW) in one
    ``INSERT ... SELECT`` over ``generate_series`` (PostgreSQL)."""
    block = func.unnest(block_ids).table_valued("value").render_derived(name="block")
    row = func.generate_series(1, ROWS).table_valued("value").render_derived(name="seat_row")
    number = (
        func.generate_series(1, SEATS_PER_ROW).table_valued("value").render_derived(name="number")
    )
    session.execute(
        insert(Seat).from_select(
            ["block_id", "row", "number", "category_id"],
            select(
                block.c.value,
                cast(row.c.value, Seat.row.type),
                cast(number.c.value, Seat.number.type),
                literal(category_id, Integer),
            )
            .select_from(block.join(row, true()).join(number, true()))
            .order_by(block.c.value, row.c.value, number.c.value),
        )
    )


def add_quota_seats(
    session: Session, quota_id: int, performance_id: int, block_codes: tuple[str, ...]
) -> int:
    """Put every seat of these blocks of the arena into the quota (one ``INSERT ...
    SELECT``); returns how many."""
    result = session.execute(
        insert(QuotaSeat).from_select(
            ["quota_id", "performance_id", "seat_id"],
            select(literal(quota_id, Integer), literal(performance_id, Integer), Seat.id)
            .join(Block, Seat.block_id == Block.id)
            .join(Zone, Block.zone_id == Zone.id)
            .join(SeatingConfiguration, Zone.configuration_id == SeatingConfiguration.id)
            .where(
                SeatingConfiguration.code == "BENCH-ARENA-CONCERT",
                Block.code.in_(block_codes),
            )
            .order_by(Seat.id),
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def quota_ids(session: Session) -> dict[str, int]:
    """Each bench reseller's quota id on the performance."""
    return {
        reseller.code: session.scalars(
            select(Quota.id)
            .join(Performance, Quota.performance_id == Performance.id)
            .join(SalesChannel, Quota.channel_id == SalesChannel.id)
            .where(Performance.code == PERFORMANCE, SalesChannel.code == reseller.channel_code)
        ).one()
        for reseller in RESELLERS
    }
