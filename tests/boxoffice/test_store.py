"""The box-office store on SQLite and PostgreSQL: migrations, demo data, constraints."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from devtools.demo_boxoffice import (
    EVENT_PRODUCT,
    FNAC_CHANNEL,
    FNAC_CONTACT,
    FNAC_POINT_OF_SALE,
    FNAC_PRODUCTS,
    NOT_SELLABLE_AT_FNAC,
    UNDATED_PASS_PRODUCT,
    seed_demo,
)
from reseller_sync.boxoffice import migrate
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    Base,
    Block,
    Contact,
    Currency,
    Direction,
    ExchangeFile,
    FileState,
    MovementKind,
    Order,
    OrderState,
    PendingAccount,
    PendingAccountMovement,
    Performance,
    PointOfSale,
    Price,
    Product,
    Quota,
    QuotaSeat,
    SalesChannel,
    Seat,
    SeatCategory,
    Tariff,
    Ticket,
    TicketState,
)
from reseller_sync.domain.products import ProductKind
from reseller_sync.fnac.adapter import RESELLER_TYPE as FNAC
from tests.conftest import DEMO_TODAY

NOW = dt.datetime(2026, 11, 28, 13, 0, tzinfo=dt.UTC)


def test_migrations_go_up_and_down(empty_boxoffice_url: str) -> None:
    migrate.upgrade(empty_boxoffice_url)
    assert migrate.current_revision(empty_boxoffice_url) == "0009"
    engine = make_engine(empty_boxoffice_url)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    engine.dispose()

    migrate.downgrade(empty_boxoffice_url, "0008")
    engine = make_engine(empty_boxoffice_url)
    assert not {name for name in inspect(engine).get_table_names() if name.startswith("realtime")}
    quota = {column["name"] for column in inspect(engine).get_columns("quota")}
    assert "category_id" not in quota
    ticket = {column["name"] for column in inspect(engine).get_columns("ticket")}
    assert {"reseller_state", "state_changed_at", "sold_at", "refund_amount"} <= ticket
    engine.dispose()

    migrate.downgrade(empty_boxoffice_url, "0007")
    engine = make_engine(empty_boxoffice_url)
    ticket = {column["name"] for column in inspect(engine).get_columns("ticket")}
    assert not ticket & {"reseller_state", "state_changed_at", "sold_at", "refund_amount"}
    engine.dispose()

    migrate.downgrade(empty_boxoffice_url, "0006")
    engine = make_engine(empty_boxoffice_url)
    assert "place_allocation" not in inspect(engine).get_table_names()
    engine.dispose()

    migrate.downgrade(empty_boxoffice_url, "0002")
    engine = make_engine(empty_boxoffice_url)
    columns = {column["name"] for column in inspect(engine).get_columns("exchange_file")}
    assert not columns & {"alerted_at", "set_aside_by", "set_aside_at", "set_aside_reason"}
    assert "contact_emailed_at" in columns
    engine.dispose()

    migrate.downgrade(empty_boxoffice_url, "0001")
    engine = make_engine(empty_boxoffice_url)
    columns = {column["name"] for column in inspect(engine).get_columns("exchange_file")}
    assert "contact_emailed_at" not in columns
    assert "processed_at" in columns
    engine.dispose()

    migrate.downgrade(empty_boxoffice_url)
    assert migrate.current_revision(empty_boxoffice_url) is None
    engine = make_engine(empty_boxoffice_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()

    migrate.upgrade(empty_boxoffice_url)
    assert migrate.current_revision(empty_boxoffice_url) == "0009"


def test_migration_matches_the_models(boxoffice_engine: Engine) -> None:
    """Autogenerate finds nothing to do: the migration and the models agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with boxoffice_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def _count(session: Session, model: type[Base]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_demo_data_is_realistic(demo_session: Session) -> None:
    session = demo_session
    arena_seats = session.scalar(
        select(func.count())
        .select_from(Seat)
        .join(Block)
        .where(Block.name.not_like("Tribune Nord%"))
    )
    assert arena_seats is not None
    assert arena_seats >= 5000

    products = {p.code: p for p in session.scalars(select(Product))}
    assert {products[code].kind for code in FNAC_PRODUCTS} == set(FNAC.product_kinds)
    assert {products[code].kind for code in NOT_SELLABLE_AT_FNAC} == {
        ProductKind.SUBSCRIPTION,
        ProductKind.PACKAGE,
        ProductKind.GROUP_VISIT_PASS,
    }
    concert = products[EVENT_PRODUCT]
    assert len(concert.performances) == 3
    assert all(p.starts_at and p.starts_at.date() > DEMO_TODAY for p in concert.performances)
    undated = products[UNDATED_PASS_PRODUCT].performances[0]
    assert (undated.starts_at, undated.valid_from) == (None, None)
    assert undated.valid_until == DEMO_TODAY + dt.timedelta(days=365)

    free_blocks = session.scalars(select(Block).where(Block.free_placement)).all()
    assert {b.code for b in free_blocks} == {"FOSSE", "VS"}
    assert {p.currency for p in session.scalars(select(Price))} == {Currency.EUR, Currency.CHF}
    assert session.scalar(select(Tariff).where(Tariff.reseller_code == "fnac")) is not None
    fnac = session.scalar(select(SalesChannel).where(SalesChannel.code == FNAC_CHANNEL))
    assert fnac is not None
    quotas = session.scalars(select(Quota).where(Quota.channel_id == fnac.id)).all()
    assert len(quotas) == 3 + 1 + 1 + 1  # every performance of every FNAC product
    assert session.scalar(select(Contact).where(Contact.code == FNAC_CONTACT)).technical


def test_demo_data_is_deterministic(sqlite_demo_template, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The same reference day gives the same box office, row for row."""

    def digest(url: str) -> str:
        engine = make_engine(url)
        hasher = hashlib.sha256()
        with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                for row in connection.execute(table.select().order_by(*table.primary_key)):
                    hasher.update(repr(tuple(row)).encode())
        engine.dispose()
        return hasher.hexdigest()

    url = f"sqlite:///{tmp_path / 'again.sqlite'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        assert seed_demo(session, today=DEMO_TODAY)
    with Session(engine) as session, session.begin():
        assert not seed_demo(session, today=DEMO_TODAY), "a second seed changes nothing"
    engine.dispose()
    assert digest(url) == digest(f"sqlite:///{sqlite_demo_template}")


# --------------------------------------------------------------------------- constraints


def _sale(session: Session, *, reseller_order_id: str = "V1") -> Order:
    channel = session.scalar(select(SalesChannel).where(SalesChannel.code == FNAC_CHANNEL))
    point = session.scalar(select(PointOfSale).where(PointOfSale.code == FNAC_POINT_OF_SALE))
    contact = session.scalar(select(Contact).where(Contact.code == FNAC_CONTACT))
    assert channel
    assert point
    assert contact
    order = Order(
        channel_id=channel.id,
        point_of_sale_id=point.id,
        contact_id=contact.id,
        state=OrderState.PAID,
        currency=Currency.EUR,
        total=6850,
        reseller_code="fnac",
        reseller_order_id=reseller_order_id,
        sold_at=NOW,
    )
    session.add(order)
    session.flush()
    return order


def _ticket(session: Session, order: Order, seat: Seat, **overrides: object) -> Ticket:
    performance = session.scalar(
        select(Performance).join(Product).where(Product.code == EVENT_PRODUCT)
    )
    tariff = session.scalar(select(Tariff).where(Tariff.code == "FNAC_PUBLIC"))
    assert performance
    assert tariff
    values: dict[str, object] = {
        "order_id": order.id,
        "performance_id": performance.id,
        "seat_id": seat.id,
        "category_id": seat.category_id,
        "tariff_id": tariff.id,
        "price": 6850,
        "commission": 350,
        "currency": Currency.EUR,
        "barcode": "401234567890123",
        "state": TicketState.VALID,
        "reseller_code": "fnac",
        "reseller_ticket_id": "B000000001",
        "beneficiary_first_name": "Hélène",
        "beneficiary_last_name": "Dupré",
    }
    values.update(overrides)
    ticket = Ticket(**values)
    session.add(ticket)
    session.flush()
    return ticket


def _two_seats(session: Session) -> tuple[Seat, Seat]:
    first, second = session.scalars(select(Seat).order_by(Seat.id).limit(2)).all()
    return first, second


def test_a_complete_sale_is_accepted(demo_session: Session) -> None:
    order = _sale(demo_session)
    seat, _ = _two_seats(demo_session)
    ticket = _ticket(demo_session, order, seat)
    account = demo_session.scalar(
        select(PendingAccount).where(PendingAccount.currency == Currency.EUR)
    )
    assert account is not None
    demo_session.add_all(
        [
            PendingAccountMovement(
                account_id=account.id,
                order_id=order.id,
                kind=MovementKind.SALE,
                amount=6850,
                currency=Currency.EUR,
                reference="fnac:sale:V1",
            ),
            AccessControlEntry(
                performance_id=ticket.performance_id,
                barcode=ticket.barcode,
                ticket_id=ticket.id,
                allowed=True,
            ),
        ]
    )
    demo_session.flush()
    assert ticket.order.tickets == [ticket]


def test_one_reseller_ticket_id_once(demo_session: Session) -> None:
    order = _sale(demo_session)
    first, second = _two_seats(demo_session)
    _ticket(demo_session, order, first)
    with pytest.raises(IntegrityError):
        _ticket(demo_session, order, second, barcode="401234567890999")


def test_one_barcode_once(demo_session: Session) -> None:
    order = _sale(demo_session)
    first, second = _two_seats(demo_session)
    _ticket(demo_session, order, first)
    with pytest.raises(IntegrityError):
        _ticket(demo_session, order, second, reseller_ticket_id="B000000002")


def test_one_access_control_entry_per_barcode(demo_session: Session) -> None:
    performance_id = demo_session.scalar(select(Performance.id).limit(1))
    demo_session.add(
        AccessControlEntry(performance_id=performance_id, barcode="4012345678", allowed=True)
    )
    demo_session.flush()
    demo_session.add(
        AccessControlEntry(performance_id=performance_id, barcode="4012345678", allowed=False)
    )
    with pytest.raises(IntegrityError):
        demo_session.flush()


def test_one_seat_sold_once_per_performance(demo_session: Session) -> None:
    order = _sale(demo_session)
    seat, _ = _two_seats(demo_session)
    _ticket(demo_session, order, seat)
    with pytest.raises(IntegrityError):
        _ticket(
            demo_session, order, seat, reseller_ticket_id="B000000002", barcode="401234567890999"
        )


def test_a_cancelled_seat_can_be_sold_again(demo_session: Session) -> None:
    order = _sale(demo_session)
    seat, _ = _two_seats(demo_session)
    first = _ticket(demo_session, order, seat)
    first.state = TicketState.CANCELLED
    demo_session.flush()
    again = _ticket(
        demo_session, order, seat, reseller_ticket_id="B000000002", barcode="401234567890999"
    )
    assert again.state is TicketState.VALID


def test_a_ticket_is_a_seat_or_a_free_place_not_both(demo_session: Session) -> None:
    order = _sale(demo_session)
    seat, _ = _two_seats(demo_session)
    pit = demo_session.scalar(select(Block).where(Block.code == "FOSSE"))
    assert pit is not None
    with pytest.raises(IntegrityError):
        _ticket(demo_session, order, seat, block_id=pit.id)


def test_one_reseller_order_id_once(demo_session: Session) -> None:
    _sale(demo_session)
    with pytest.raises(IntegrityError):
        _sale(demo_session)


def test_no_negative_amount(demo_session: Session) -> None:
    order = _sale(demo_session)
    seat, _ = _two_seats(demo_session)
    with pytest.raises(IntegrityError):
        _ticket(demo_session, order, seat, price=-1)


def test_a_seat_is_in_one_quota_per_performance(demo_session: Session) -> None:
    held = demo_session.scalar(select(QuotaSeat).limit(1))
    assert held is not None
    demo_session.add(
        QuotaSeat(quota_id=held.quota_id, performance_id=held.performance_id, seat_id=held.seat_id)
    )
    with pytest.raises(IntegrityError):
        demo_session.flush()


def test_a_free_placement_block_has_a_capacity(demo_session: Session) -> None:
    seated = demo_session.scalar(select(Block).where(Block.code == "P1"))
    category = demo_session.scalar(select(SeatCategory).limit(1))
    assert seated is not None
    assert category is not None
    demo_session.add(
        Block(
            zone_id=seated.zone_id,
            code="NEW",
            name="New",
            free_placement=True,
            capacity=None,
            category_id=category.id,
        )
    )
    with pytest.raises(IntegrityError):
        demo_session.flush()


def test_an_unknown_product_kind_is_refused(demo_session: Session) -> None:
    from sqlalchemy import text

    with pytest.raises(IntegrityError):
        demo_session.execute(
            text(
                "INSERT INTO product (code, name, kind, venue_id) "
                "SELECT 'X', 'X', 'raffle', id FROM venue LIMIT 1"
            )
        )


def _journal_entry(**overrides: object) -> ExchangeFile:
    values: dict[str, object] = {
        "reseller_code": "fnac",
        "direction": Direction.INBOUND,
        "file_type": "VENTES",
        "sequence": 42,
        "name": "VENTES_M0427_000042_20261128130503.csv",
        "size": 3,
        "sha256": hashlib.sha256(b"abc").hexdigest(),
        "content": b"abc",
        "state": FileState.LANDED,
    }
    values.update(overrides)
    return ExchangeFile(**values)


def test_one_file_landed_once_by_name(demo_session: Session) -> None:
    demo_session.add(_journal_entry())
    demo_session.flush()
    demo_session.add(_journal_entry(sequence=43))
    with pytest.raises(IntegrityError):
        demo_session.flush()


def test_one_file_per_sequence_of_a_type(demo_session: Session) -> None:
    demo_session.add(_journal_entry())
    demo_session.flush()
    demo_session.add(_journal_entry(name="VENTES_M0427_000042_20261128140503.csv"))
    with pytest.raises(IntegrityError):
        demo_session.flush()


def test_the_same_sequence_in_another_type_or_direction_is_fine(demo_session: Session) -> None:
    demo_session.add_all(
        [
            _journal_entry(),
            _journal_entry(file_type="ANNUL", name="ANNUL_M0427_000042_20261128130503.csv"),
            _journal_entry(
                direction=Direction.OUTBOUND,
                file_type="PLACES",
                name="PLACES_M0427_000042_20261128130503.csv",
                state=FileState.SENT,
            ),
        ]
    )
    demo_session.flush()
    assert _count(demo_session, ExchangeFile) == 3
