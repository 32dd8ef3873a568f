"""The organiser's OFFER batch (``ticketnet-exchange-v1`` section 8): CATALOG, ALLOCATION and
RELEASE records of the demo concert, with Ticketnet's channel and quota (rows 1 and 2 of block
P3, 100 places of the pit), on SQLite and PostgreSQL; and the batch answered by Ticketnet's
sandbox."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from devtools.sandboxes.ticketnet import TicketnetPartner
from devtools.sandboxes.ticketnet.venues import Venue, VenueBook
from reseller_sync.boxoffice.models import (
    Block,
    Currency,
    Performance,
    Price,
    Product,
    Quota,
    QuotaFreePlaces,
    SalesChannel,
    Seat,
    SeatCategory,
    Tariff,
)
from reseller_sync.domain.errors import ConfigurationError, MappingError
from reseller_sync.domain.products import ProductKind
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.ticketnet.ack import AckStatus, parse_ack
from reseller_sync.ticketnet.errors import Code, TicketnetProblem
from reseller_sync.ticketnet.identifiers import PartnerPerformances
from reseller_sync.ticketnet.mappings import load_mappings
from reseller_sync.ticketnet.names import FileType
from reseller_sync.ticketnet.offer import allocation, catalog, offer_batch, release
from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE
from reseller_sync.ticketnet.schema import column_names
from reseller_sync.ticketnet.settings import TicketnetSettings
from tests.ticketnet.ticketnet_boxoffice import CHANNEL, EVENT_ID, QUOTA, add_ticketnet

MAPPINGS = Path(__file__).with_name("mappings")
PRODUCT = "EVT-LUMEN"
SALES_OPEN = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
CREATED_AT = "2026-12-01T10:00:00+01:00"
LEVELS = {"CAT1": "1", "CAT2": "2", "CAT3": "3", "FOSSE": "FO"}
LEVEL_NAMES = {
    "CAT1": "1re catégorie",
    "CAT2": "2e catégorie",
    "CAT3": "3e catégorie",
    "FOSSE": "Fosse debout",
}
FULL = {"CAT1": 6850, "CAT2": 5400, "CAT3": 3900, "FOSSE": 4500}
"""The demo's full prices (PLEIN); REDUIT is 85 % of them, rounded down to the cent."""
PRICE_TYPES = {"PLEIN": ("ADULT",), "REDUIT": ("CE", "CSE", "REDUCED")}

pytestmark = pytest.mark.usefixtures("ticketnet_registered")


def settings(*, includes_commission: bool = False) -> TicketnetSettings:
    return TicketnetSettings.model_validate(
        {
            "promoter_code": "PR04127",
            "boxoffice": {
                "channel": "TICKETNET",
                "point_of_sale": "TICKETNET-RESEAU",
                "paying_contact": "TICKETNET-TECH",
                "quota": "Q-TICKETNET",
            },
            "prices": {"policy": "strict", "includes_commission": includes_commission},
            "notifications": {
                "error_emails": ["ops@example.org"],
                "ticketnet_contact_email": "partners@ticketnet.example",
            },
            "tariffs_offered": ["PLEIN", "REDUIT"],
            "products": [PRODUCT],
        }
    )


@pytest.fixture
def repository() -> MappingRepository:
    return load_mappings(MAPPINGS)


@pytest.fixture
def performances(demo_session: Session) -> PartnerPerformances:
    return add_ticketnet(demo_session)


def rows(table: pa.Table) -> list[dict[str, str]]:
    return table.to_pylist()


def expected_prices(code: str, starts_at: str) -> list[dict[str, str]]:
    """The price table of one performance of the concert, as Ticketnet must receive it."""
    records = []
    for category, full in FULL.items():
        for tariff, amount in (("PLEIN", full), ("REDUIT", full * 85 // 100)):
            for price_type in PRICE_TYPES[tariff]:
                records.append(
                    {
                        "org_event_code": PRODUCT,
                        "event_name": "Lumen — Tournée 2027",
                        "event_kind": "EVENT",
                        "org_performance_code": code,
                        "starts_at": starts_at,
                        "venue_code": "ARENA-PARIS-C",
                        "venue_name": "Paris Arena",
                        "city": "Paris",
                        "price_level": LEVELS[category],
                        "price_level_name": LEVEL_NAMES[category],
                        "price_type": price_type,
                        "amount": f"{amount // 100}.{amount % 100:02d}",
                        "currency": "EUR",
                        "sale_starts_at": "2026-12-01T10:00:00+01:00",
                        "sale_ends_at": starts_at,
                    }
                )
    return records


# --------------------------------------------------------------------------- CATALOG


def test_the_catalog_is_each_performance_whole_price_table(
    demo_session: Session, repository: MappingRepository, performances: PartnerPerformances
) -> None:
    table = catalog(demo_session, settings(), repository, PRODUCT, sales_open=SALES_OPEN)

    assert table.column_names == list(column_names(FileType.CATALOG))
    # 3 performances × 4 categories × (PLEIN → ADULT, REDUIT → CE|CSE|REDUCED)
    assert table.num_rows == 3 * 4 * 4
    assert rows(table) == [
        *expected_prices("S1", "2027-02-26T20:30:00+01:00"),
        *expected_prices("S2", "2027-02-27T20:30:00+01:00"),
        *expected_prices("S3", "2027-02-28T18:00:00+01:00"),
    ]
    # A tariff mapped to alternatives gives one record per price type, at the same amount.
    reduced = [
        r for r in rows(table) if r["org_performance_code"] == "S1" and r["price_level"] == "1"
    ]
    assert [(r["price_type"], r["amount"]) for r in reduced] == [
        ("ADULT", "68.50"),
        ("CE", "58.22"),
        ("CSE", "58.22"),
        ("REDUCED", "58.22"),
    ]


def add_summer_performance(session: Session) -> Performance:
    """A fourth concert in July (UTC+02:00 in Paris), priced as the others, with Ticketnet's
    quota holding 10 places of the pit."""
    concert = session.scalars(select(Product).where(Product.code == PRODUCT)).one()
    summer = Performance(product=concert, code="S4", starts_at=dt.datetime(2027, 7, 2, 21, 0))
    session.add(summer)
    categories = {c.code: c for c in session.scalars(select(SeatCategory))}
    tariffs = {t.code: t for t in session.scalars(select(Tariff))}
    for category, full in FULL.items():
        for tariff, amount in (("PLEIN", full), ("REDUIT", full * 85 // 100)):
            session.add(
                Price(
                    performance=summer,
                    category=categories[category],
                    tariff=tariffs[tariff],
                    amount=amount,
                    currency=Currency.EUR,
                )
            )
    channel = session.scalars(select(SalesChannel).where(SalesChannel.code == CHANNEL)).one()
    pit = session.scalars(select(Block).where(Block.code == "FOSSE")).first()
    quota = Quota(code=QUOTA, name="Contingent Ticketnet", channel=channel, performance=summer)
    session.add_all([quota, QuotaFreePlaces(quota=quota, block=pit, places=10)])
    session.flush()
    return summer


def test_times_carry_the_venue_offset_of_their_date(
    demo_session: Session, repository: MappingRepository, performances: PartnerPerformances
) -> None:
    add_summer_performance(demo_session)

    table = catalog(demo_session, settings(), repository, PRODUCT, sales_open=SALES_OPEN)

    summer = [r for r in rows(table) if r["org_performance_code"] == "S4"]
    assert summer == expected_prices("S4", "2027-07-02T21:00:00+02:00")
    winter = {r["starts_at"] for r in rows(table) if r["org_performance_code"] == "S1"}
    assert winter == {"2027-02-26T20:30:00+01:00"}
    # Sales open in winter for every performance: the offset is the instant's, not the show's.
    assert {r["sale_starts_at"] for r in rows(table)} == {"2026-12-01T10:00:00+01:00"}


def test_a_product_ticketnet_may_not_sell_is_refused_before_anything_is_built(
    demo_session: Session, tmp_path: Path
) -> None:
    empty = load_mappings(tmp_path)  # no mapping at all: reaching them would say so instead
    for product_code in ("ABO-ARENA-SAISON", "PASS-MAH-JOUR", "PACK-LUMEN-MAH"):
        kind = ProductKind(
            demo_session.scalars(select(Product.kind).where(Product.code == product_code)).one()
        )

        with pytest.raises(MappingError) as refused:
            catalog(demo_session, settings(), empty, product_code, sales_open=SALES_OPEN)

        reason = RESELLER_TYPE.refusal_reason(kind)
        assert reason is not None
        assert "section 1, ACK code C01" in reason
        assert [p.reason for p in refused.value.problems] == [
            f"product {product_code} is a {kind}: {reason}"
        ]
        with pytest.raises(MappingError, match="cannot be put on sale"):
            allocation(demo_session, settings(), empty, PartnerPerformances.of({}), product_code)


def test_every_missing_mapping_is_named_once_with_the_file_to_complete(
    demo_session: Session, tmp_path: Path, performances: PartnerPerformances
) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "_shared.yaml").write_text(
        'tariffs:\n  PLEIN: "ADULT"\n'
        'categories:\n  CAT1: "1"\n  CAT2: "2"\n  FOSSE: "FO"\n'
        'configurations:\n  ARENA-CONCERT:\n    zones:\n      FOSSE: "FOSSE"\n',
        encoding="utf-8",
    )

    with pytest.raises(MappingError) as refused:
        catalog(demo_session, settings(), load_mappings(folder), PRODUCT, sales_open=SALES_OPEN)

    problems = refused.value.problems
    assert sorted((p.value, p.reason) for p in problems) == [
        (
            "ARENA-CONCERT",
            "configuration of product EVT-LUMEN has no Ticketnet venue code",
        ),
        ("CAT3", "category of product EVT-LUMEN has no Ticketnet price level"),
        ("REDUIT", "tariff of product EVT-LUMEN has no Ticketnet price type"),
    ]
    assert {p.file for p in problems} == {str(folder / "_shared.yaml")}
    assert "3 values without a Ticketnet code" in refused.value.message


def test_prices_recorded_with_the_commission_cannot_give_the_face_value(
    demo_session: Session, repository: MappingRepository, performances: PartnerPerformances
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        catalog(
            demo_session,
            settings(includes_commission=True),
            repository,
            PRODUCT,
            sales_open=SALES_OPEN,
        )

    assert "includes_commission" in refused.value.message
    [problem] = refused.value.problems
    assert (problem.column, problem.value) == ("prices.includes_commission", "true")


def test_a_price_in_another_currency_is_refused_as_ticketnet_would_c04(
    demo_session: Session, repository: MappingRepository, performances: PartnerPerformances
) -> None:
    first = min(performances.frame["performance"])
    plein = demo_session.scalars(select(Tariff.id).where(Tariff.code == "PLEIN")).one()
    cat1 = demo_session.scalars(select(SeatCategory.id).where(SeatCategory.code == "CAT1")).one()
    demo_session.execute(
        update(Price)
        .where(Price.performance_id == first, Price.tariff_id == plein, Price.category_id == cat1)
        .values(currency=Currency.CHF)
    )

    with pytest.raises(MappingError) as refused:
        catalog(demo_session, settings(), repository, PRODUCT, sales_open=SALES_OPEN)

    [problem] = refused.value.problems
    assert isinstance(problem, TicketnetProblem)
    assert (problem.code, problem.line, problem.column, problem.value) == (
        Code.C04,
        1,
        "currency",
        "CHF",
    )


def test_performances_not_after_the_day_sales_open_are_refused(
    demo_session: Session, repository: MappingRepository, performances: PartnerPerformances
) -> None:
    opening = dt.datetime(2027, 2, 27, 9, 0, tzinfo=dt.UTC)

    with pytest.raises(MappingError) as refused:
        catalog(demo_session, settings(), repository, PRODUCT, sales_open=opening)

    assert [p.reason for p in refused.value.problems] == [
        "performance S1 (26/02/2027 20:30): the performance is not after 27/02/2027",
        "performance S2 (27/02/2027 20:30): the performance is not after 27/02/2027",
    ]


# --------------------------------------------------------------------------- ALLOCATION


def expected_places(event_id: str, performance_id: str) -> list[dict[str, str]]:
    seats = [
        {
            "event_id": event_id,
            "performance_id": performance_id,
            "price_level": "1",
            "section": "ORCH-A",
            "row": row,
            "seat": str(seat),
            "area": "",
            "quantity": "1",
        }
        for row in ("1", "2")
        for seat in range(1, 26)
    ]
    pit = {
        "event_id": event_id,
        "performance_id": performance_id,
        "price_level": "FO",
        "section": "",
        "row": "",
        "seat": "",
        "area": "FOSSE",
        "quantity": "100",
    }
    return [*seats, pit]


def test_the_allocation_is_the_quota_places_exactly(
    demo_session: Session, repository: MappingRepository, performances: PartnerPerformances
) -> None:
    table = allocation(demo_session, settings(), repository, performances, PRODUCT)

    assert table.column_names == list(column_names(FileType.ALLOCATION))
    assert table.num_rows == 3 * (2 * 25 + 1)
    assert rows(table) == [
        *expected_places(EVENT_ID, "P01"),
        *expected_places(EVENT_ID, "P02"),
        *expected_places(EVENT_ID, "P03"),
    ]


def test_a_performance_without_ids_or_a_block_without_mapping_refuses_the_allocation(
    demo_session: Session,
    repository: MappingRepository,
    performances: PartnerPerformances,
    tmp_path: Path,
) -> None:
    first = performances.frame.iloc[[0]]

    with pytest.raises(MappingError) as refused:
        allocation(demo_session, settings(), repository, PartnerPerformances(first), PRODUCT)

    assert [p.value for p in refused.value.problems] == ["S2", "S3"]
    assert all("wait for the CATALOG's ACK" in p.reason for p in refused.value.problems)

    folder = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, folder)
    shared = folder / "_shared.yaml"
    shared.write_text(
        shared.read_text(encoding="utf-8").replace('          P3: "ORCH-A"\n', ""),
        encoding="utf-8",
    )

    with pytest.raises(MappingError) as refused:
        allocation(demo_session, settings(), load_mappings(folder), performances, PRODUCT)

    assert [(p.value, p.reason) for p in refused.value.problems] == [
        ("PARTERRE/P3", "zone or block of product EVT-LUMEN has no Ticketnet section or area")
    ]


# --------------------------------------------------------------------------- RELEASE


def seat_ids(session: Session, block: str, row: str, numbers: list[str]) -> list[int]:
    return list(
        session.scalars(
            select(Seat.id)
            .join(Block, Block.id == Seat.block_id)
            .where(Block.code == block, Seat.row == row, Seat.number.in_(numbers))
            .order_by(Seat.id)
        )
    )


def test_release_records_name_the_places_given(
    demo_session: Session, repository: MappingRepository, performances: PartnerPerformances
) -> None:
    first, second = performances.frame["performance"].iloc[:2]
    pit = demo_session.scalars(select(Block.id).where(Block.code == "FOSSE")).first()
    places = pd.DataFrame(
        {
            "performance_id": [second, first, first],
            "seat_id": [None, *seat_ids(demo_session, "P3", "2", ["7", "8"])],
            "block_id": [pit, None, None],
            "places": [10, 1, 1],
        }
    )

    table = release(demo_session, settings(), repository, performances, places)

    assert table.column_names == list(column_names(FileType.RELEASE))
    assert [tuple(r.values()) for r in rows(table)] == [
        (EVENT_ID, "P01", "1", "ORCH-A", "2", "7", "", "1"),
        (EVENT_ID, "P01", "1", "ORCH-A", "2", "8", "", "1"),
        (EVENT_ID, "P02", "FO", "", "", "", "FOSSE", "10"),
    ]


def test_the_offer_batch_is_named_after_the_promoter_and_its_number() -> None:
    built = offer_batch(
        7,
        settings(),
        {FileType.RELEASE: {"event_id": [], "performance_id": []}},
        created_at=CREATED_AT,
    )

    assert built.manifest.name == "OFFER_PR04127_00000007.manifest.json"
    assert list(built.files) == ["OFFER_PR04127_00000007.RELEASE.1.csv.gz"]


# --------------------------------------------------------------------------- end to end

ARENA = Venue(
    "ARENA-PARIS-C",
    "Paris Arena (concert)",
    "Paris",
    sections={
        "ORCH-A": {str(r): tuple(str(s) for s in range(1, 26)) for r in range(1, 21)},
        "ORCH-B": {str(r): tuple(str(s) for s in range(1, 26)) for r in range(1, 21)},
        "TRIB-BAS": {str(r): tuple(str(s) for s in range(1, 21)) for r in range(1, 16)},
    },
    areas={"FOSSE": 1200},
)
"""The demo concert hall as Ticketnet mapped it at set-up (the test mappings' codes)."""


def test_ticketnet_accepts_the_catalog_gives_ids_then_allocates_the_places(
    demo_session: Session, repository: MappingRepository, tmp_path: Path
) -> None:
    add_ticketnet(demo_session)
    partner = TicketnetPartner(
        tmp_path / "sandbox",
        venues=VenueBook({ARENA.code: ARENA}),
        clock=lambda: SALES_OPEN,
        seed=3,
    )
    ours = settings()
    records = catalog(demo_session, ours, repository, PRODUCT, sales_open=SALES_OPEN)
    sent = offer_batch(1, ours, {FileType.CATALOG: records}, created_at=CREATED_AT)
    sent.write_to(partner.inbox)

    [answer] = partner.process_offers()

    assert (answer.status, answer.codes) == ("ACCEPTED", ())
    ack = parse_ack(answer.ack, (partner.outbox / answer.ack).read_bytes())
    assert ack.manifest_sha256 == sent.manifest_sha256
    [file] = ack.files
    assert (file.status, file.accepted, file.rejected) == (AckStatus.ACCEPTED, 48, 0)
    assert [(i.org_event_code, i.org_performance_code, i.performance_id) for i in file.ids] == [
        (PRODUCT, "S1", "P01"),
        (PRODUCT, "S2", "P02"),
        (PRODUCT, "S3", "P03"),
    ]
    codes: dict[str, int] = {
        code: id_
        for code, id_ in demo_session.execute(
            select(Performance.code, Performance.id)
            .join(Product, Product.id == Performance.product_id)
            .where(Product.code == PRODUCT)
        )
    }
    known = PartnerPerformances.of(
        {(i.event_id, i.performance_id): codes[i.org_performance_code] for i in file.ids}
    )

    places = allocation(demo_session, ours, repository, known, PRODUCT)
    sent = offer_batch(2, ours, {FileType.ALLOCATION: places}, created_at=CREATED_AT)
    sent.write_to(partner.inbox)
    [answer] = partner.process_offers()

    assert (answer.status, answer.codes) == ("ACCEPTED", ())
    [file] = parse_ack(answer.ack, (partner.outbox / answer.ack).read_bytes()).files
    assert (file.accepted, file.rejected, file.errors) == (153, 0, ())
    held = partner.snapshot()
    assert len(held.seats) == 3 * 50
    assert sorted(area.allocated for area in held.areas.values()) == [100, 100, 100]

    # A few places taken back: Ticketnet releases them (none sold).
    first, second = codes["S1"], codes["S2"]
    pit = demo_session.scalars(select(Block.id).where(Block.code == "FOSSE")).first()
    given_back = pd.DataFrame(
        {
            "performance_id": [first, first, second],
            "seat_id": [*seat_ids(demo_session, "P3", "1", ["1", "2"]), None],
            "block_id": [None, None, pit],
            "places": [1, 1, 30],
        }
    )
    taken = release(demo_session, ours, repository, known, given_back)
    sent = offer_batch(3, ours, {FileType.RELEASE: taken}, created_at=CREATED_AT)
    sent.write_to(partner.inbox)
    [answer] = partner.process_offers()

    assert (answer.status, answer.codes) == ("ACCEPTED", ())
    held = partner.snapshot()
    assert len(held.seats) == 3 * 50 - 2
    assert sorted(area.allocated for area in held.areas.values()) == [70, 100, 100]
