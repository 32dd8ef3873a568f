"""FNAC's records as canonical lines: VENTES through the mappings, ANNUL renamed."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import Block, Seat, SeatCategory, Tariff
from reseller_sync.core.lines import CANCELLATION_LINES, SALE_LINES
from reseller_sync.fnac.lines import (
    COLUMNS,
    cancellation_batch,
    integration_settings,
    sale_batch,
)
from reseller_sync.fnac.mappings import load_repository
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.reader import read_file
from reseller_sync.fnac.settings import FnacSettings, load_settings
from reseller_sync.fnac.writer import write_file
from reseller_sync.mappings.repository import MappingRepository
from tests.fnac.test_sales import CREATED, DAY_PASS, SOLD_AT, concert_date, line


@pytest.fixture(scope="module")
def settings() -> FnacSettings:
    return load_settings()


@pytest.fixture(scope="module")
def repository() -> MappingRepository:
    return load_repository()


def test_ventes_lines_resolve_to_box_office_ids_and_keep_fnacs_references(
    demo_session: Session, settings: FnacSettings, repository: MappingRepository
) -> None:
    concert = concert_date(demo_session)
    pit = {"code_bloc": "FOSSE", "rang": None, "place": None, "type_tarif": "4", "prix_ttc": 4500}
    name, data = write_file(
        FileType.VENTES,
        "M0427",
        1,
        [
            line(1, date_seance=concert),
            line(2, date_seance=concert, **pit),
            line(3, **DAY_PASS),
            line(4, date_seance=concert, categorie_client="31"),
        ],
        created=CREATED,
    )
    chunk = read_file(name, data).frame
    batch = sale_batch(demo_session, settings, repository, name, chunk)

    assert SALE_LINES.violations(batch.lines) == []
    assert (batch.read, list(batch.lines.index)) == (4, [1, 2, 3])
    assert batch.source is chunk
    [unmapped] = batch.problems.mapping
    assert (unmapped.line, unmapped.column, unmapped.value) == (4, "categorie_client", "31")

    seat, standing, day_pass = (batch.lines.loc[n] for n in (1, 2, 3))
    p2 = demo_session.scalars(select(Block).where(Block.code == "P2")).one()
    expected_seat = demo_session.scalars(
        select(Seat.id).where(Seat.block_id == p2.id, Seat.row == "1", Seat.number == "1")
    ).one()
    assert seat["seat_id"] == expected_seat
    assert pd.isna(seat["block_id"])
    fosse = demo_session.scalars(select(Block.id).where(Block.code == "FOSSE")).one()
    assert standing["block_id"] == fosse
    assert pd.isna(standing["seat_id"])
    assert pd.isna(day_pass["seat_id"])
    assert pd.isna(day_pass["block_id"])
    categories = dict(demo_session.execute(select(SeatCategory.code, SeatCategory.id)).all())
    tariffs = dict(demo_session.execute(select(Tariff.code, Tariff.id)).all())
    assert (seat["category_id"], seat["tariff_id"]) == (categories["CAT1"], tariffs["FNAC_PUBLIC"])
    assert (seat["reseller_order_ref"], seat["reseller_ticket_ref"]) == (
        "V0000000001",
        "B000000001",
    )
    assert (seat["price"], seat["commission"], seat["currency"]) == (6850, 350, "EUR")
    assert (seat["reseller_tariff_ref"], seat["point_of_sale_ref"]) == ("0", "FR0751")
    assert seat["sold_at"] == SOLD_AT
    assert day_pass["currency"] == "CHF"


def test_annul_lines_are_fnacs_columns_renamed() -> None:
    at = dt.datetime(2026, 11, 28, 15, 0, tzinfo=dt.UTC)
    name, data = write_file(
        FileType.ANNUL,
        "M0427",
        1,
        [
            {
                "id_annulation": "A1",
                "id_vente": "V0000000001",
                "id_billet": "B000000001",
                "code_barre": "401234500000001",
                "montant_rembourse": 6500,
                "devise": "EUR",
                "motif": "CLIENT",
                "code_point_vente": "FR0751",
                "date_annulation": at,
            }
        ],
        created=CREATED,
    )
    frame = read_file(name, data).frame
    batch = cancellation_batch(frame)
    assert CANCELLATION_LINES.violations(batch.lines) == []
    [row] = batch.lines.itertuples()
    assert (row.Index, row.reseller_cancellation_ref, row.reseller_ticket_ref) == (
        1,
        "A1",
        "B000000001",
    )
    assert (row.barcode, row.refund_amount, row.cancelled_at) == ("401234500000001", 6500, at)
    empty = cancellation_batch(frame.iloc[0:0])
    assert CANCELLATION_LINES.violations(empty.lines) == []


def test_fnacs_settings_and_columns_for_the_integration(settings: FnacSettings) -> None:
    neutral = integration_settings(settings)
    assert (neutral.code, neutral.name) == ("fnac", "FNAC")
    assert neutral.channel == settings.boxoffice.channel
    assert neutral.price_policy is settings.prices.policy
    assert not neutral.cancels_test_tickets
    every = set(SALE_LINES.names) | set(CANCELLATION_LINES.names) | {"quota"}
    assert set(COLUMNS) == every
    assert neutral.column("price") == "prix_ttc"
    assert neutral.column("quota") == "code_allotement"
