"""Ticketnet's part of the nightly run against its sandbox over real SFTP and a demo box
office on SQLite (``ticketnet-exchange-v1`` sections 7.3, 8.3, 9.1 points 8, 11 and 12):
the INVENTORY reconciled once its SALES batches are applied, R21 refused, prices verified,
places taken back with RELEASE records and Ticketnet's answers applied record by record.
The concert is onboarded as the onboarding does it (CATALOG, then ALLOCATION, each answered)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from devtools.demo_boxoffice import EVENT_PRODUCT, TICKETNET_QUOTA
from devtools.mailsink import MailSink
from devtools.sandboxes.connection import connection_env_var, sandbox_connection_json
from devtools.sandboxes.sftp import DEMO_USERNAME, SandboxServer, demo_user
from devtools.sandboxes.ticketnet import Fault, PartnerLoop, TicketnetPartner, ticketnet_server
from devtools.sandboxes.ticketnet.state import SeatHolding, area_key
from reseller_sync.airflow.nightly_dag import build_nightly_dag
from reseller_sync.airflow.waiting import Wait
from reseller_sync.airflow.withdrawal_wait import AwaitWithdrawalAcks
from reseller_sync.boxoffice import db
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import (
    Alert,
    Block,
    Direction,
    ExchangeFile,
    FileState,
    Performance,
    PlaceWithdrawal,
    Price,
    Product,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    Seat,
    SeatCategory,
    Tariff,
    Ticket,
    WithdrawalReason,
    WithdrawalState,
)
from reseller_sync.config.paths import REPORTS_DIR_VARIABLE
from reseller_sync.domain.errors import ExternalError, MappingError
from reseller_sync.fnac.settings import load_settings as load_fnac_settings
from reseller_sync.fnac.withdrawal import request_withdrawal as request_from_fnac
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.ticketnet import nightly
from reseller_sync.ticketnet.errors import BatchRefusedError, Code
from reseller_sync.ticketnet.identifiers import PartnerPerformances
from reseller_sync.ticketnet.inbound import integrate_stream, land_new_files, transport_for
from reseller_sync.ticketnet.mappings import load_repository
from reseller_sync.ticketnet.names import FileType
from reseller_sync.ticketnet.offer import allocation, catalog
from reseller_sync.ticketnet.outbound import await_ack, send_offer
from reseller_sync.ticketnet.prices import verify_prices
from reseller_sync.ticketnet.reconciliation import reconcile_pending
from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE
from reseller_sync.ticketnet.settings import TicketnetSettings, load_settings
from reseller_sync.ticketnet.withdrawal import (
    plan_automatic_withdrawals,
    record_release_ack,
    request_withdrawal,
    send_withdrawals,
)
from reseller_sync.ticketnet.withdrawal_wait import ReleaseAnswers
from tests.dags.conftest import _forget_dag_runs as forget_dag_runs

SECTION = "ORCH-A"
"""Ticketnet's section of block P3 (zone PARTERRE), where its quota's seats are."""
SEATS_PER_PERFORMANCE = 2 * 25
PIT = 100


@dataclass
class TicketnetWorld:
    engine: Engine
    server: SandboxServer
    partner: TicketnetPartner
    settings: TicketnetSettings
    repository: MappingRepository
    reports: Path

    @property
    def sessions(self) -> sessionmaker[Session]:
        return sessionmaker(self.engine, expire_on_commit=False)

    @property
    def home(self) -> Path:
        return self.server.home(DEMO_USERNAME)


@pytest.fixture
def world(
    ticketnet_registered: None,
    sqlite_demo_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TicketnetWorld]:
    """The demo box office, Ticketnet's sandbox behind the settings' connection
    (``ticketnet_sftp``), the reports in a folder of the test."""
    box_office = tmp_path / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, box_office)
    monkeypatch.setenv(db.URL_VARIABLE, f"sqlite:///{box_office}")
    monkeypatch.setenv(REPORTS_DIR_VARIABLE, str(tmp_path / "reports"))
    db.default_engine.cache_clear()
    engine = make_engine(f"sqlite:///{box_office}")
    with ticketnet_server(tmp_path / "sandbox", [demo_user()]) as server:
        settings = load_settings()
        monkeypatch.setenv(
            connection_env_var(settings.sftp.connection_id),
            sandbox_connection_json(server.host, server.port),
        )
        yield TicketnetWorld(
            engine,
            server,
            TicketnetPartner(server.root, seed=5),
            settings,
            load_repository(),
            tmp_path / "reports",
        )
    engine.dispose()
    db.default_engine.cache_clear()


def onboard(world: TicketnetWorld) -> None:
    """The concert's CATALOG, then its ALLOCATION, each sent and answered ACCEPTED."""
    settings, repository = world.settings, world.repository
    steps = (
        (FileType.CATALOG, lambda s: catalog(s, settings, repository, EVENT_PRODUCT)),
        (
            FileType.ALLOCATION,
            lambda s: allocation(
                s, settings, repository, PartnerPerformances.load(s), EVENT_PRODUCT
            ),
        ),
    )
    for content, build in steps:
        sent = send_offer(
            world.engine, transport_for(settings), settings, EVENT_PRODUCT, content, build
        )
        [answer] = world.partner.process_offers()
        assert answer.status == "ACCEPTED", answer
        with world.sessions.begin() as session:
            applied = await_ack(session, transport_for(settings), sent.batch)
        assert applied is not None
        assert not applied.errors


def sell(world: TicketnetWorld, tickets: int, *, integrate: bool = True) -> str:
    """A SALES batch from Ticketnet, landed and (unless told) integrated by the hourly run."""
    batch = world.partner.emit_sales(tickets)
    land_new_files(world.settings)
    if integrate:
        integrate_stream(world.settings, "SALES")
    return batch


def performance_code(performance_id: str) -> str:
    """Ticketnet's ``P01``, ``P02``... are the concert's S1, S2... (the CATALOG's order)."""
    return f"S{int(performance_id[1:])}"


def file_state(world: TicketnetWorld, name: str) -> FileState:
    with world.sessions() as session:
        state = session.scalar(select(ExchangeFile.state).where(ExchangeFile.name == name))
    assert state is not None, name
    return state


def archived(world: TicketnetWorld) -> list[str]:
    return sorted(p.name for p in (world.home / "archive" / "from_ticketnet").iterdir())


def quota_of(session: Session, code: str) -> Quota:
    return session.scalars(
        select(Quota)
        .join(Performance, Performance.id == Quota.performance_id)
        .join(Product, Product.id == Performance.product_id)
        .where(
            Product.code == EVENT_PRODUCT, Performance.code == code, Quota.code == TICKETNET_QUOTA
        )
    ).one()


def pit_of(session: Session, code: str) -> QuotaFreePlaces:
    quota = quota_of(session, code)
    return session.scalars(
        select(QuotaFreePlaces).where(QuotaFreePlaces.quota_id == quota.id)
    ).one()


def seats_held(session: Session, code: str) -> set[tuple[str, str]]:
    """Ticketnet's quota seats of the performance, as (row, number) of block P3."""
    quota = quota_of(session, code)
    return {
        (row, number)
        for row, number in session.execute(
            select(Seat.row, Seat.number)
            .join(QuotaSeat, QuotaSeat.seat_id == Seat.id)
            .where(QuotaSeat.quota_id == quota.id)
        )
    }


def seat_id(session: Session, row: str, number: str) -> int:
    """A seat of block P3 (Ticketnet's section ORCH-A)."""
    return session.scalars(
        select(Seat.id)
        .join(Block, Block.id == Seat.block_id)
        .where(Block.code == "P3", Seat.row == row, Seat.number == number)
    ).one()


def give_seat(session: Session, code: str, row: str, number: str) -> None:
    """A seat of block P3 put in Ticketnet's quota by the box office alone."""
    quota = quota_of(session, code)
    session.add(
        QuotaSeat(
            quota_id=quota.id,
            performance_id=quota.performance_id,
            seat_id=seat_id(session, row, number),
        )
    )


# --------------------------------------------------------------------------- INVENTORY


def test_an_inventory_that_agrees_is_integrated_archived_and_alerts_nothing(
    world: TicketnetWorld,
) -> None:
    onboard(world)
    sell(world, 6)
    inventory = world.partner.emit_inventory()
    land_new_files(world.settings)

    [result] = nightly.reconcile_inventory(world.settings)

    assert result.file_name == f"{inventory}.manifest.json"
    assert (result.differences, result.sales_batch) == ((), 1)
    assert result.records > 0
    assert file_state(world, result.file_name) is FileState.INTEGRATED
    assert result.report is not None
    report = (world.reports / result.report).read_text()
    assert "no difference" in report
    assert f"{inventory}.manifest.json" in archived(world)
    assert f"{inventory}.INVENTORY.1.csv.gz" in archived(world)
    assert nightly.reconcile_inventory(world.settings) == []  # once


def test_an_inventory_that_differs_is_reported_place_by_place(world: TicketnetWorld) -> None:
    onboard(world)
    sell(world, 4)
    with world.sessions.begin() as session:
        give_seat(session, "S1", "3", "1")  # the box office gives a seat Ticketnet never got
        pit_of(session, "S2").places = PIT + 20
    world.partner.emit_inventory()
    land_new_files(world.settings)

    [result] = nightly.reconcile_inventory(world.settings)

    assert result.counts == {"given_not_held": 2}
    seat, pit = sorted(result.differences, key=lambda d: d.quantity)
    assert seat.place == "zone PARTERRE, block P3, row 3, seat 1"
    assert seat.performance.startswith("performance S1 (")
    assert (pit.place, pit.quantity) == ("zone FOSSE, block FOSSE, 20 place(s)", 20)
    problems = result.problems()
    assert all(p.file == result.file_name for p in problems)
    assert "given by the box office, not held by Ticketnet" in problems[0].reason
    assert result.report is not None
    report = (world.reports / result.report).read_text()
    assert "row 3, seat 1" in report
    assert "2 difference(s)" in report
    assert file_state(world, result.file_name) is FileState.INTEGRATED


def test_an_inventory_waits_silently_for_its_sales_batches(world: TicketnetWorld) -> None:
    onboard(world)
    sell(world, 3)
    sell(world, 3, integrate=False)  # SALES 2 landed, not applied yet
    inventory = world.partner.emit_inventory()  # reflects SALES 1 and 2
    land_new_files(world.settings)
    name = f"{inventory}.manifest.json"

    assert nightly.reconcile_inventory(world.settings) == []
    assert file_state(world, name) is FileState.LANDED
    assert name in {p.name for p in (world.home / "from_ticketnet").iterdir()}

    integrate_stream(world.settings, "SALES")
    [result] = nightly.reconcile_inventory(world.settings)

    assert (result.file_name, result.sales_batch, result.differences) == (name, 2, ())
    assert file_state(world, name) is FileState.INTEGRATED


def test_an_inconsistent_inventory_is_refused_with_r21_until_ticketnet_replaces_it(
    world: TicketnetWorld,
) -> None:
    onboard(world)
    sell(world, 2)
    inventory = world.partner.emit_inventory(Fault.INCONSISTENT_INVENTORY)
    land_new_files(world.settings)

    with pytest.raises(BatchRefusedError) as raised:
        reconcile_pending(None, world.settings, world.repository)

    error = raised.value
    assert (error.code, error.batch, error.category.value) == (Code.R21, inventory, "external")
    assert inventory in error.message
    [problem] = error.problems
    assert (problem.file, problem.line, problem.column) == (
        f"{inventory}.INVENTORY.1.csv.gz",
        1,
        "available",
    )
    name = f"{inventory}.manifest.json"
    assert file_state(world, name) is FileState.FAILED
    with world.sessions() as session:
        entry = session.scalars(select(ExchangeFile).where(ExchangeFile.name == name)).one()
        assert [e.code for e in entry.errors] == ["R21"]

    world.partner.replace_batch(inventory)
    land_new_files(world.settings)
    [result] = reconcile_pending(None, world.settings, world.repository)

    assert (result.file_name, result.differences) == (name, ())
    assert file_state(world, name) is FileState.INTEGRATED


# --------------------------------------------------------------------------- prices


def test_prices_are_ticketnet_s_latest_sale_per_price_level_and_price_type(
    world: TicketnetWorld,
) -> None:
    onboard(world)
    sell(world, 8)
    today = dt.date.today()
    with world.sessions() as session:
        assert verify_prices(session, world.settings, today).findings == ()
        sold = session.execute(
            select(Ticket.performance_id, Ticket.category_id, Ticket.tariff_id, Ticket.price)
            .where(Ticket.reseller_code == "ticketnet")
            .order_by(Ticket.id)
        ).first()
        assert sold is not None
        check = verify_prices(session, world.settings, today)
    assert check.compared >= 1
    performance_id, category_id, tariff_id, price = sold

    with world.sessions.begin() as session:
        session.execute(
            update(Price)
            .where(
                Price.performance_id == performance_id,
                Price.category_id == category_id,
                Price.tariff_id == tariff_id,
            )
            .values(amount=price + 500)
        )
    with world.sessions() as session:
        found = nightly.verify_prices(session, world.settings, today)
        category = session.get_one(SeatCategory, category_id).code
        tariff = session.get_one(Tariff, tariff_id).code

    assert found.findings
    assert {(f.category, f.tariff) for f in found.findings} == {(category, tariff)}
    finding = found.findings[0]
    assert (finding.price, finding.box_office_price) == (price, price + 500)
    assert finding.price_type in {"ADULT", "CE", "CSE", "REDUCED"}
    problem = finding.to_problem(world.settings.prices.includes_commission)
    assert f"Ticketnet {price / 100:.2f} EUR (fees excluded" in problem.reason
    assert f"box office {(price + 500) / 100:.2f} EUR" in problem.reason
    assert found.summary()["differences"] == len(found.findings)
    with world.sessions() as session:
        past = verify_prices(session, world.settings, today + dt.timedelta(days=400))
    assert past.compared == 0


# --------------------------------------------------------------------------- RELEASE


def sold_seat(world: TicketnetWorld) -> SeatHolding:
    """A seat Ticketnet sells now, in a SALES batch the box office has not integrated."""

    def sold() -> dict[str, SeatHolding]:
        return {key: s for key, s in world.partner.snapshot().seats.items() if s.sold}

    before = set(sold())
    for _ in range(10):
        sell(world, 4, integrate=False)
        new = [seat for key, seat in sold().items() if key not in before]
        if new:
            return sorted(new, key=lambda s: (s.performance_id, s.row, int(s.seat)))[0]
    raise AssertionError("Ticketnet sold no seat")


def test_ticketnet_s_answer_decides_record_by_record(world: TicketnetWorld) -> None:
    """One batch: a sold seat (A05), a seat Ticketnet never held (A07), more pit places than
    Ticketnet has (A06), two unsold seats and ten pit places (released)."""
    onboard(world)
    sold = sold_seat(world)
    code = performance_code(sold.performance_id)
    others = [c for c in ("S1", "S2", "S3") if c != code]
    snapshot = world.partner.snapshot()
    free = sorted(
        (s for s in snapshot.seats.values() if s.performance_id == sold.performance_id),
        key=lambda s: (s.row, int(s.seat)),
    )
    unsold = [s for s in free if not s.sold][:2]
    limited_key = area_key(sold.event_id, f"P{int(others[0][1:]):02d}", "FOSSE")
    with world.sessions.begin() as session:
        give_seat(session, code, "3", "1")
        pit_of(session, others[0]).places = PIT + 50
        seats_before = seats_held(session, code)
        pit_before = pit_of(session, others[1]).places
        request_withdrawal(
            session,
            world.settings,
            EVENT_PRODUCT,
            code,
            seats=[
                ("PARTERRE", "P3", sold.row, sold.seat),
                ("PARTERRE", "P3", "3", "1"),
                *(("PARTERRE", "P3", s.row, s.seat) for s in unsold),
            ],
        )
        request_withdrawal(
            session, world.settings, EVENT_PRODUCT, others[0], free_places=[("FOSSE", "FOSSE", 120)]
        )
        request_withdrawal(
            session, world.settings, EVENT_PRODUCT, others[1], free_places=[("FOSSE", "FOSSE", 10)]
        )
        # FNAC's own request is FNAC's: it never goes to Ticketnet.
        request_from_fnac(
            session, load_fnac_settings(), EVENT_PRODUCT, "S1", seats=[("PARTERRE", "P2", "1", "1")]
        )

    sent = send_withdrawals(
        world.engine,
        transport_for(world.settings),
        world.settings,
        world.repository,
        automatic=False,
    )

    assert sent.sent == "OFFER_PR04127_00000003.manifest.json"
    assert (sent.requests, sent.awaiting) == (6, (sent.sent,))
    assert (world.home / "to_ticketnet" / sent.sent).exists()
    with world.sessions.begin() as session:
        assert record_release_ack(session, transport_for(world.settings), sent.sent) is None
        assert seats_held(session, code) == seats_before  # Ticketnet's until it answers
    available = world.partner.snapshot().areas[limited_key].available

    [answer] = world.partner.process_offers()
    assert answer.status == "PARTIAL"
    assert sorted(answer.codes) == ["A05", "A06", "A07"]
    result = nightly.withdrawal_answers(world.settings, [sent.sent])

    [released] = result
    assert released.error is None
    assert released.withdrawn == 3
    [a05] = released.sold
    assert a05.reason.startswith("A05 ")
    assert a05.value is not None
    assert f"row {sold.row}, seat {sold.seat}" in a05.value
    [a06] = released.limited
    assert "120 asked" in a06.reason
    [a07] = released.not_held
    assert a07.value is not None
    assert "row 3, seat 1" in a07.value
    with world.sessions() as session:
        rows = {
            (w.state, w.error_code, w.places)
            for w in session.scalars(
                select(PlaceWithdrawal).join(Quota).where(Quota.code == TICKETNET_QUOTA)
            )
        }
        assert rows == {
            (WithdrawalState.REFUSED_SOLD, "A05", 1),
            (WithdrawalState.WITHDRAWN, "A07", 1),
            (WithdrawalState.REQUESTED, "A06", available),
            (WithdrawalState.WITHDRAWN, None, 1),
            (WithdrawalState.WITHDRAWN, None, 10),
        }
        fnac = session.scalars(
            select(PlaceWithdrawal).join(Quota).where(Quota.code == "Q-FNAC")
        ).one()
        assert fnac.state is WithdrawalState.REQUESTED
        held = seats_held(session, code)
        assert held == seats_before - {("3", "1"), *((s.row, s.seat) for s in unsold)}
        assert (sold.row, sold.seat) in held  # sold: it stays Ticketnet's
        assert pit_of(session, others[0]).places == PIT + 50  # nothing released yet
        assert pit_of(session, others[1]).places == pit_before - 10
    assert file_state(world, sent.sent) is FileState.ACKNOWLEDGED
    assert "OFFER_PR04127_00000003.ack.json" in archived(world)

    # Asked again, the same answer, nothing changed; then the area goes out again, at most
    # what Ticketnet had available, and is released.
    assert nightly.withdrawal_answers(world.settings, [sent.sent])[0].withdrawn == 3
    again = send_withdrawals(
        world.engine,
        transport_for(world.settings),
        world.settings,
        world.repository,
        automatic=False,
    )
    assert (again.sent, again.requests) == ("OFFER_PR04127_00000004.manifest.json", 1)
    [answer] = world.partner.process_offers()
    assert answer.status == "ACCEPTED"
    [second] = nightly.withdrawal_answers(world.settings, [again.sent])
    assert (second.withdrawn, second.error) == (1, None)
    with world.sessions() as session:
        assert pit_of(session, others[0]).places == PIT + 50 - available
    assert world.partner.snapshot().areas[limited_key].allocated == 100 - available


def test_a_batch_ticketnet_failed_goes_again_and_a_mapping_refusal_fails(
    world: TicketnetWorld,
) -> None:
    """Z99: nothing released, both places go out again in the next batch; there a seat whose
    category the box office changed since is refused A03 (a mapping error), the other released.
    """
    onboard(world)
    with world.sessions.begin() as session:
        request_withdrawal(
            session,
            world.settings,
            EVENT_PRODUCT,
            "S1",
            seats=[("PARTERRE", "P3", "1", "1"), ("PARTERRE", "P3", "1", "2")],
        )
    transport = transport_for(world.settings)
    first = send_withdrawals(
        world.engine, transport, world.settings, world.repository, automatic=False
    )
    world.partner.process_offers(Fault.TECHNICAL_ERROR)
    [answer] = nightly.withdrawal_answers(world.settings, [first.sent or ""])

    assert (answer.again, answer.withdrawn) == (2, 0)
    assert isinstance(answer.error, ExternalError)
    assert "next run" in answer.error.message
    assert file_state(world, first.sent or "") is FileState.REFUSED
    with world.sessions.begin() as session:
        assert {("1", "1"), ("1", "2")} <= seats_held(session, "S1")
        session.execute(
            update(Seat)
            .where(Seat.id == seat_id(session, "1", "1"))
            .values(
                category_id=select(SeatCategory.id)
                .where(SeatCategory.code == "CAT2")
                .scalar_subquery()
            )
        )

    second = send_withdrawals(
        world.engine, transport, world.settings, world.repository, automatic=False
    )
    assert (second.requests, second.awaiting) == (2, (second.sent,))
    assert second.sent != first.sent
    world.partner.process_offers()
    [answer] = nightly.withdrawal_answers(world.settings, [second.sent or ""])

    assert answer.withdrawn == 1
    assert isinstance(answer.error, MappingError)
    [failed] = answer.failed
    assert failed.reason.startswith("A03 ")
    assert failed.value is not None
    assert "row 1, seat 1" in failed.value
    with world.sessions() as session:
        held = seats_held(session, "S1")
        assert ("1", "1") in held
        assert ("1", "2") not in held
        assert sorted(
            (w.state, w.error_code) for w in session.scalars(select(PlaceWithdrawal))
        ) == [(WithdrawalState.FAILED, "A03"), (WithdrawalState.WITHDRAWN, None)]


def test_unsold_places_are_taken_back_days_before_the_performance(
    world: TicketnetWorld,
) -> None:
    onboard(world)
    sell(world, 6)
    with world.sessions() as session:
        s1 = quota_of(session, "S1")
        starts_at = session.get_one(Performance, s1.performance_id).starts_at
        sold_s1 = session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(
                Ticket.performance_id == s1.performance_id,
                Ticket.reseller_code == "ticketnet",
                Ticket.seat_id.is_not(None),
            )
        )
        sold_pit = session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(
                Ticket.performance_id == s1.performance_id,
                Ticket.reseller_code == "ticketnet",
                Ticket.seat_id.is_(None),
            )
        )
    assert starts_at is not None
    # 20:30 in Paris is 19:30 UTC in winter: two days before, S1 is within reach, S2 is not.
    two_days_before = (starts_at - dt.timedelta(days=2)).replace(tzinfo=dt.UTC)

    with world.sessions.begin() as session:
        early = plan_automatic_withdrawals(
            session, world.settings, two_days_before - dt.timedelta(days=3)
        )
        planned = plan_automatic_withdrawals(session, world.settings, two_days_before)
        again = plan_automatic_withdrawals(session, world.settings, two_days_before)

    assert early == [] == again
    seats = [w for w in planned if w.seat_id is not None]
    [pit] = [w for w in planned if w.block_id is not None]
    assert len(seats) == SEATS_PER_PERFORMANCE - (sold_s1 or 0)
    assert pit.places == PIT - (sold_pit or 0)
    assert {w.reason for w in planned} == {WithdrawalReason.AUTOMATIC}
    assert {w.quota_id for w in planned} == {s1.id}

    sent = send_withdrawals(
        world.engine,
        transport_for(world.settings),
        world.settings,
        world.repository,
        now=two_days_before,
    )
    assert sent.automatic == 0  # planned already
    assert sent.requests == len(planned)
    world.partner.process_offers()
    [answer] = nightly.withdrawal_answers(world.settings, [sent.sent or ""])
    assert (answer.withdrawn, answer.error) == (len(planned), None)
    with world.sessions() as session:
        assert len(seats_held(session, "S1")) == sold_s1
        assert pit_of(session, "S1").places == sold_pit


def test_the_wait_defers_until_the_ack_then_applies_it(world: TicketnetWorld) -> None:
    onboard(world)
    with world.sessions.begin() as session:
        request_withdrawal(
            session, world.settings, EVENT_PRODUCT, "S2", seats=[("PARTERRE", "P3", "2", "7")]
        )
    sent = nightly.send_withdrawals(world.settings)
    task = AwaitWithdrawalAcks(
        task_id="await_withdrawal_acks",
        answers=ReleaseAnswers(),
        sent=sent,
        ack_timeout=dt.timedelta(minutes=1),
        poll_seconds=0.2,
    )

    wait = task.start(context={})
    assert isinstance(wait, Wait)
    assert wait.wanted.names == ("OFFER_PR04127_00000003.ack.json",)
    assert wait.folder == world.settings.sftp.inbox_dir

    world.partner.process_offers()
    assert task.start(context={}) == ["OFFER_PR04127_00000003.manifest.json"]
    with world.sessions() as session:
        assert ("2", "7") not in seats_held(session, "S2")
        assert (
            session.scalar(
                select(ExchangeFile.state).where(
                    ExchangeFile.direction == Direction.OUTBOUND,
                    ExchangeFile.name == "OFFER_PR04127_00000003.manifest.json",
                )
            )
            is FileState.ACKNOWLEDGED
        )


# --------------------------------------------------------------------------- the DAG


@pytest.fixture
def mail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MailSink]:
    """A real SMTP sink behind Airflow's ``smtp_default``."""
    sink = MailSink(tmp_path / "mail").start()
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": sink.port,
                "extra": {
                    "from_email": "airflow@reseller-sync.test",
                    "disable_tls": True,
                    "disable_ssl": True,
                    "timeout": 5,
                    "retry_limit": 0,
                },
            }
        ),
    )
    yield sink
    sink.stop()


def test_a_night_reconciles_and_takes_places_back(
    airflow_db: None, world: TicketnetWorld, mail: MailSink
) -> None:
    """The whole nightly DAG: Ticketnet's INVENTORY differs from the box office on one seat
    (alert and report), and a seat asked back that Ticketnet sold meanwhile stays its own
    (alert), while Ticketnet answers in the background."""
    forget_dag_runs()
    onboard(world)
    sell(world, 4)
    with world.sessions.begin() as session:
        give_seat(session, "S3", "3", "5")
    inventory = world.partner.emit_inventory()  # SALES 1, applied
    sold = sold_seat(world)  # sold after the snapshot, not integrated
    with world.sessions.begin() as session:
        request_withdrawal(
            session,
            world.settings,
            EVENT_PRODUCT,
            performance_code(sold.performance_id),
            seats=[("PARTERRE", "P3", sold.row, sold.seat)],
        )

    loop = PartnerLoop(world.partner, interval=0.5)
    loop.start()
    try:
        run = build_nightly_dag(
            RESELLER_TYPE,
            ack_poke_interval=dt.timedelta(seconds=1),
            ack_timeout=dt.timedelta(minutes=2),
        ).test()
    finally:
        loop.stop()

    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "success", states
    assert file_state(world, f"{inventory}.manifest.json") is FileState.INTEGRATED
    with world.sessions() as session:
        request = session.scalars(select(PlaceWithdrawal)).one()
        assert (request.state, request.error_code) == (WithdrawalState.REFUSED_SOLD, "A05")
        alerts = {alert.kind: alert for alert in session.scalars(select(Alert))}
    assert set(alerts) == {"seat_lists_differ", "places_sold_not_withdrawn"}
    differ = alerts["seat_lists_differ"]
    assert differ.category == "external"
    assert "given by the box office, not held by Ticketnet" in differ.body
    report = world.reports / "reconciliation" / f"{inventory}.html"
    assert report.exists()
    assert str(report) in differ.body
    assert f"row {sold.row}, seat {sold.seat}" in alerts["places_sold_not_withdrawn"].body
    subjects = [m["Subject"] for m in mail.messages()]
    assert any("ticketnet_nightly.reconcile_seats" in s for s in subjects), subjects
    assert any("ticketnet_nightly.report_withdrawals" in s for s in subjects), subjects
