"""VENTES integration on the demo box office (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    Block,
    Order,
    PendingAccount,
    PendingAccountMovement,
    Performance,
    Product,
    QuotaFreePlaces,
    Seat,
    Ticket,
    TicketState,
)
from reseller_sync.config.settings import PricePolicy
from reseller_sync.domain.errors import ExternalError, MappingError
from reseller_sync.fnac.errors import FileFormatError
from reseller_sync.fnac.mappings import load_repository
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.reader import iter_file_chunks, read_file
from reseller_sync.fnac.sales import integrate_sales
from reseller_sync.fnac.settings import FnacSettings, load_settings
from reseller_sync.fnac.writer import write_file
from reseller_sync.mappings.repository import MappingRepository

CREATED = dt.datetime(2026, 11, 28, 13, 5, tzinfo=dt.UTC)
SOLD_AT = dt.datetime(2026, 11, 28, 12, 12, 44, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def settings() -> FnacSettings:
    return load_settings()


@pytest.fixture(scope="module")
def repository() -> MappingRepository:
    return load_repository()


def _settings(settings: FnacSettings, **prices: object) -> FnacSettings:
    return settings.model_copy(update={"prices": settings.prices.model_copy(update=prices)})


def concert_date(session: Session, code: str = "S1") -> dt.datetime:
    starts_at = session.scalar(
        select(Performance.starts_at)
        .join(Product)
        .where(Product.code == "EVT-LUMEN", Performance.code == code)
    )
    assert starts_at is not None
    return starts_at


DAY_PASS: dict[str, object] = {
    "code_manifestation": "000981",
    "code_salle": None,
    "code_bloc": None,
    "rang": None,
    "place": None,
    "code_allotement": "P1",
    "prix_ttc": 2400,
    "commission": 100,
    "devise": "CHF",
}
"""Over :func:`line`: a ticket for the day pass (PASS-MAH-JOUR, FNAC quota P1), in CHF."""


def line(n: int, **values: object) -> dict[str, object]:
    """A VENTES line for seat P2 row 1, seat n, at the full FNAC price."""
    base: dict[str, object] = {
        "id_vente": f"V{n:010d}",
        "id_billet": f"B{n:09d}",
        "code_manifestation": "004512",
        "code_salle": "ZEN01",
        "code_bloc": "B",
        "rang": "1",
        "place": str(n),
        "type_tarif": "1",
        "categorie_client": "0",
        "code_allotement": "A1",
        "prix_ttc": 6850,
        "commission": 350,
        "devise": "EUR",
        "code_barre": f"4012345{n:08d}",
        "nom_beneficiaire": "Dupré",
        "prenom_beneficiaire": "Hélène",
        "code_point_vente": "FR0751",
        "libelle_point_vente": "FNAC Paris Ternes",
        "date_vente": SOLD_AT,
    }
    base.update(values)
    return base


def ventes(lines: list[dict[str, object]], seq: int = 1) -> tuple[str, pd.DataFrame]:
    name, data = write_file(FileType.VENTES, "M0427", seq, lines, created=CREATED)
    return name, read_file(name, data).frame


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def concert(demo_session: Session) -> dt.datetime:
    return concert_date(demo_session)


def test_a_file_of_seats_free_places_and_passes_is_integrated(
    demo_session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    concert: dt.datetime,
) -> None:
    name, frame = ventes(
        [
            line(1, date_seance=concert),
            line(
                2,
                id_vente="V0000000001",
                date_seance=concert,
                categorie_client="15",
                prix_ttc=5850,
                prenom_beneficiaire="Zoé",
            ),
            line(
                3,
                date_seance=concert,
                code_bloc="FOSSE",
                rang=None,
                place=None,
                type_tarif="4",
                prix_ttc=4500,
            ),
            line(
                4,
                **DAY_PASS,
                code_point_vente="CH1201",
                libelle_point_vente="FNAC Genève Rive",
                nom_beneficiaire="Müller",
                prenom_beneficiaire="Jürg",
            ),
        ]
    )
    result = integrate_sales(demo_session, settings, repository, name, frame)
    assert (result.tickets, result.orders, result.already_integrated) == (4, 3, 0)
    assert result.amounts == {"EUR": 6850 + 5850 + 4500, "CHF": 2400}

    tickets = {t.reseller_ticket_id: t for t in demo_session.scalars(select(Ticket))}
    first = tickets["B000000001"]
    assert first.seat is not None
    assert (first.seat.block.code, first.seat.row, first.seat.number) == ("P2", "1", "1")
    assert (first.tariff.code, first.category.code, first.price, first.commission) == (
        "FNAC_PUBLIC",
        "CAT1",
        6850,
        350,
    )
    assert (first.beneficiary_first_name, first.beneficiary_last_name) == ("Hélène", "Dupré")
    assert tickets["B000000002"].tariff.code == "FNAC_ADHERENT"
    pit = tickets["B000000003"]
    assert pit.seat_id is None
    assert pit.block is not None
    assert pit.block.code == "FOSSE"
    museum = tickets["B000000004"]
    assert (museum.seat_id, museum.block_id, museum.currency.value) == (None, None, "CHF")

    order = demo_session.scalar(select(Order).where(Order.reseller_order_id == "V0000000001"))
    assert order is not None
    assert (len(order.tickets), order.total, order.reseller_point_of_sale_code) == (
        2,
        6850 + 5850,
        "FR0751",
    )
    movements = demo_session.scalars(select(PendingAccountMovement)).all()
    assert len(movements) == 3
    by_currency = {m.currency.value: 0 for m in movements}
    for movement in movements:
        by_currency[movement.currency.value] += movement.amount
        account = demo_session.get_one(PendingAccount, movement.account_id)
        assert account.currency == movement.currency
    assert by_currency == {"EUR": 6850 + 5850 + 4500, "CHF": 2400}
    allowed = demo_session.scalars(select(AccessControlEntry)).all()
    assert sorted(a.barcode for a in allowed if a.allowed) == sorted(
        t.barcode for t in tickets.values()
    )


def test_the_price_is_recorded_without_commission_when_configured(
    demo_session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    concert: dt.datetime,
) -> None:
    """Excluding commission, FNAC's 7200 less 350 is the box office's 6850."""
    name, frame = ventes([line(1, date_seance=concert, prix_ttc=7200)])
    integrate_sales(
        demo_session, _settings(settings, includes_commission=False), repository, name, frame
    )
    ticket = demo_session.scalars(select(Ticket)).one()
    assert (ticket.price, ticket.commission) == (6850, 350)


def test_unmapped_values_are_a_mapping_error_and_write_nothing(
    demo_session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    concert: dt.datetime,
) -> None:
    name, frame = ventes(
        [
            line(1, date_seance=concert),
            line(2, date_seance=concert, categorie_client="31"),
            line(3, date_seance=concert, code_manifestation="009999"),
        ]
    )
    with pytest.raises(MappingError) as raised:
        integrate_sales(demo_session, settings, repository, name, frame)
    located = {(p.line, p.column, p.value) for p in raised.value.problems}
    assert (2, "categorie_client", "31") in located
    assert (3, "code_manifestation", "009999") in located
    assert raised.value.file == name
    assert count(demo_session, Ticket) == 0
    assert count(demo_session, Order) == 0


@pytest.mark.parametrize(
    ("changes", "column", "reason"),
    [
        ({"code_bloc": "B", "rang": "9"}, "place", "not in FNAC's quota"),
        ({"place": "999"}, "place", "no such seat"),
        ({"type_tarif": "2"}, "type_tarif", "not the category of this place"),
    ],
)
def test_a_place_the_box_office_does_not_give_fnac_stops_the_file(
    demo_session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    concert: dt.datetime,
    changes: dict[str, object],
    column: str,
    reason: str,
) -> None:
    name, frame = ventes([line(1, date_seance=concert), line(2, date_seance=concert, **changes)])
    if changes.get("type_tarif") == "2":
        frame.loc[2, "prix_ttc"] = 5400
    with pytest.raises(ExternalError) as raised:
        integrate_sales(demo_session, settings, repository, name, frame)
    [problem] = raised.value.problems
    assert (problem.line, problem.column) == (2, column)
    assert reason in problem.reason
    assert count(demo_session, Ticket) == 0


def test_a_seat_already_sold_and_a_seat_sold_twice_stop_the_file(
    demo_session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    concert: dt.datetime,
) -> None:
    name, frame = ventes([line(1, date_seance=concert)])
    integrate_sales(demo_session, settings, repository, name, frame)
    name, frame = ventes(
        [
            line(5, date_seance=concert, place="1"),
            line(6, date_seance=concert, place="2"),
            line(7, date_seance=concert, place="2"),
        ],
        seq=2,
    )
    with pytest.raises(ExternalError) as raised:
        integrate_sales(demo_session, settings, repository, name, frame)
    reasons = {p.line: p.reason for p in raised.value.problems}
    assert "already sold" in reasons[1]
    assert "sold twice in the file" in reasons[3]
    assert 2 not in reasons


def test_a_cancelled_seat_can_be_sold_again_by_fnac(
    demo_session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    concert: dt.datetime,
) -> None:
    name, frame = ventes([line(1, date_seance=concert)])
    integrate_sales(demo_session, settings, repository, name, frame)
    demo_session.scalars(select(Ticket)).one().state = TicketState.CANCELLED
    demo_session.flush()
    name, frame = ventes([line(2, date_seance=concert, place="1")], seq=2)
    assert integrate_sales(demo_session, settings, repository, name, frame).tickets == 1


def test_free_places_beyond_fnac_quota_stop_the_file(
    demo_session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    concert: dt.datetime,
) -> None:
    pit = demo_session.scalars(
        select(QuotaFreePlaces).join(Block).where(Block.code == "FOSSE")
    ).all()
    for held in pit:
        held.places = 2
    demo_session.flush()
    free = {"code_bloc": "FOSSE", "rang": None, "place": None, "type_tarif": "4", "prix_ttc": 4500}
    name, frame = ventes([line(n, date_seance=concert, **free) for n in (1, 2, 3)])
    with pytest.raises(ExternalError) as raised:
        integrate_sales(demo_session, settings, repository, name, frame)
    [problem] = raised.value.problems
    assert problem.line == 3
    assert "beyond FNAC's quota of 2" in problem.reason


@pytest.mark.parametrize("policy", list(PricePolicy))
def test_a_price_that_differs_follows_the_policy(
    demo_session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    concert: dt.datetime,
    policy: PricePolicy,
) -> None:
    name, frame = ventes([line(1, date_seance=concert, prix_ttc=7000)])
    configured = _settings(settings, policy=policy)
    if policy is PricePolicy.STRICT:
        with pytest.raises(ExternalError) as raised:
            integrate_sales(demo_session, configured, repository, name, frame)
        [problem] = raised.value.problems
        assert (problem.line, problem.column, problem.value) == (1, "prix_ttc", "7000")
        assert "differs from the box-office price 6850" in problem.reason
        return
    result = integrate_sales(demo_session, configured, repository, name, frame)
    assert demo_session.scalars(select(Ticket)).one().price == 7000
    if policy is PricePolicy.WARN:
        [difference] = result.price_differences
        assert (difference.expected, difference.received, difference.tariff) == (
            6850,
            7000,
            "FNAC_PUBLIC",
        )
    else:
        assert result.price_differences == ()


def test_a_replayed_file_creates_nothing_twice(
    demo_session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    concert: dt.datetime,
) -> None:
    lines = [line(1, date_seance=concert), line(2, date_seance=concert)]
    name, frame = ventes(lines)
    integrate_sales(demo_session, settings, repository, name, frame)
    name, frame = ventes(lines, seq=2)
    result = integrate_sales(demo_session, settings, repository, name, frame)
    assert (result.tickets, result.already_integrated) == (0, 2)
    assert count(demo_session, Ticket) == 2
    assert count(demo_session, PendingAccountMovement) == 2


def test_a_barcode_that_already_exists_stops_the_file(
    demo_session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    concert: dt.datetime,
) -> None:
    name, frame = ventes([line(1, date_seance=concert)])
    integrate_sales(demo_session, settings, repository, name, frame)
    name, frame = ventes([line(2, date_seance=concert, code_barre="401234500000001")], seq=2)
    with pytest.raises(ExternalError) as raised:
        integrate_sales(demo_session, settings, repository, name, frame)
    assert "barcode already exists" in raised.value.problems[0].reason


def test_test_tickets_are_flagged_and_move_no_money(
    demo_session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    concert: dt.datetime,
) -> None:
    name, frame = ventes([line(1, date_seance=concert)])
    result = integrate_sales(demo_session, settings, repository, name, frame, is_test=True)
    assert result.is_test
    ticket = demo_session.scalars(select(Ticket)).one()
    assert ticket.is_test
    assert ticket.order.is_test
    assert count(demo_session, PendingAccountMovement) == 0
    seat = demo_session.get_one(Seat, ticket.seat_id)
    assert seat.block.code == "P2"


# --------------------------------------------------------------------------- chunks


def ventes_in_chunks(
    lines: list[dict[str, object]], seq: int = 1, *, trailer_count: int | None = None
) -> tuple[str, list[pd.DataFrame]]:
    """The file as the hourly run reads it, in chunks, here of about one line each.

    ``trailer_count`` overrides the trailer's COUNT: a problem the reader only
    finds after its last chunk.
    """
    name, data = write_file(FileType.VENTES, "M0427", seq, lines, created=CREATED)
    if trailer_count is not None:
        data = re.sub(rb"FIN;(\d+);\d+;", rb"FIN;\g<1>;%d;" % trailer_count, data)
    chunks = iter_file_chunks(name, data, chunk_size=256)
    if trailer_count is not None:
        return name, chunks  # type: ignore[return-value]
    return name, list(chunks)


def chunk_of(chunks: list[pd.DataFrame], line: int) -> int:
    [index] = [i for i, chunk in enumerate(chunks) if line in chunk.index]
    return index


def test_an_order_whose_lines_are_far_apart_is_one_order_when_read_in_chunks(
    demo_session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    concert: dt.datetime,
) -> None:
    """Spec 7.1: an order's lines may be anywhere in the file."""
    free = {"code_bloc": "FOSSE", "rang": None, "place": None, "type_tarif": "4", "prix_ttc": 4500}
    name, chunks = ventes_in_chunks(
        [
            line(1, date_seance=concert),
            line(2, date_seance=concert),
            line(3, date_seance=concert, **free),
            line(4, **DAY_PASS),
            line(5, id_vente="V0000000001", date_seance=concert, **free),
        ]
    )
    assert chunk_of(chunks, 1) < chunk_of(chunks, 5)
    result = integrate_sales(demo_session, settings, repository, name, chunks)

    assert (result.lines, result.tickets, result.orders) == (5, 5, 4)
    assert result.amounts == {"EUR": 6850 * 2 + 4500 * 2, "CHF": 2400}
    order = demo_session.scalar(select(Order).where(Order.reseller_order_id == "V0000000001"))
    assert order is not None
    assert sorted(t.reseller_ticket_id for t in order.tickets) == ["B000000001", "B000000005"]
    assert order.total == 6850 + 4500
    movements = demo_session.scalars(select(PendingAccountMovement)).all()
    assert sorted(m.amount for m in movements) == sorted([6850 + 4500, 6850, 4500, 2400])
    assert count(demo_session, AccessControlEntry) == 5


def test_the_rules_over_the_whole_file_hold_across_chunks(
    demo_session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    concert: dt.datetime,
) -> None:
    for held in demo_session.scalars(
        select(QuotaFreePlaces).join(Block).where(Block.code == "FOSSE")
    ):
        held.places = 2
    demo_session.flush()
    free = {"code_bloc": "FOSSE", "rang": None, "place": None, "type_tarif": "4", "prix_ttc": 4500}
    name, chunks = ventes_in_chunks(
        [
            line(1, date_seance=concert, place="7"),
            line(2, date_seance=concert, **free),
            line(3, date_seance=concert, **free),
            line(4, id_vente="V0000000001", date_seance=concert, code_point_vente="FR0692"),
            line(5, date_seance=concert, place="7"),
            line(6, date_seance=concert, **free),
        ]
    )
    assert chunk_of(chunks, 1) < chunk_of(chunks, 4) < chunk_of(chunks, 5)
    assert chunk_of(chunks, 3) < chunk_of(chunks, 6)
    with pytest.raises(ExternalError) as raised:
        integrate_sales(demo_session, settings, repository, name, chunks)

    located = sorted((p.line, p.column, p.reason) for p in raised.value.problems)
    assert [(line, column) for line, column, _ in located] == [
        (1, "id_vente"),
        (4, "id_vente"),
        (5, "place"),
        (6, "code_bloc"),
    ]
    assert "several currencies or shops" in located[0][2]
    assert "sold twice in the file" in located[2][2]
    assert "beyond FNAC's quota of 2" in located[3][2]
    assert count(demo_session, Ticket) == count(demo_session, Order) == 0


def test_a_file_refused_after_its_last_chunk_writes_nothing(
    demo_session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    concert: dt.datetime,
) -> None:
    name, chunks = ventes_in_chunks(
        [line(n, date_seance=concert) for n in (1, 2, 3)], trailer_count=4
    )
    with pytest.raises(FileFormatError) as raised:
        integrate_sales(demo_session, settings, repository, name, chunks)

    [problem] = raised.value.problems
    assert (problem.column, problem.value) == ("COUNT", "4")
    assert count(demo_session, Ticket) == count(demo_session, Order) == 0
