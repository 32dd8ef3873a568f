"""Ticketnet's onboarding of a product (``ticketnet-exchange-v1``): each step's function
against the Ticketnet sandbox over real SFTP, then whole DAGs run with dag.test(), the
sandbox playing Ticketnet and a person approving."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import BaseSensorOperator
from airflow.triggers.base import TriggerEvent
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from devtools.mailsink import MailSink
from devtools.sandboxes.connection import connection_env_var, sandbox_connection_json
from devtools.sandboxes.loop import BackgroundPartner
from devtools.sandboxes.sftp import DEMO_USERNAME, SandboxServer, demo_user
from devtools.sandboxes.ticketnet import TicketnetPartner, ticketnet_server
from reseller_sync.airflow.onboarding_dag import ProductWait, build_onboarding_dag
from reseller_sync.airflow.steps import DRY_RUN, RESEND_SALE_SHEET, SendAndWaitStep
from reseller_sync.airflow.triggers import PartnerFileTrigger
from reseller_sync.airflow.waiting import Wait
from reseller_sync.boxoffice import db
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    Direction,
    ExchangeFile,
    FileState,
    OnboardingState,
    Product,
    ResellerPerformance,
    ResellerProduct,
    Ticket,
    TicketState,
)
from reseller_sync.config.paths import INCLUDE_DIR_VARIABLE, include_dir
from reseller_sync.core import resellers
from reseller_sync.core.resellers import reseller_type
from reseller_sync.domain.errors import ExternalError, MappingError
from reseller_sync.exchange.watch import WatchOutcome, WatchStatus
from reseller_sync.ticketnet import onboarding as steps
from reseller_sync.ticketnet.settings import TicketnetSettings, load_settings
from tests.dags.conftest import PersonAtRequiredActions

log = logging.getLogger(__name__)

PRODUCT = "EVT-LUMEN"
NOT_SELLABLE = "PASS-MAH-JOUR"
"""A dated visit pass: FNAC may sell it, Ticketnet may not (section 1)."""
CATALOG = "OFFER_PR04127_00000001.manifest.json"
ALLOCATION = "OFFER_PR04127_00000002.manifest.json"
TEST_TICKETS = 3 * 2 * 4
"""One per price level × price type of the CATALOG that Ticketnet has places of (its quota:
seats of price level 1, the pit's FO), on each of the three performances."""


@pytest.fixture(autouse=True)
def ticketnet_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Ticketnet's adapter in the registry (whether or not the registry lists it yet)."""
    modules = resellers.ADAPTER_MODULES
    if "reseller_sync.ticketnet.adapter" not in modules:
        modules = (*modules, "reseller_sync.ticketnet.adapter")
    monkeypatch.setattr(resellers, "ADAPTER_MODULES", modules)
    resellers._adapters.cache_clear()
    yield
    monkeypatch.undo()
    resellers._adapters.cache_clear()


@dataclass
class TicketnetWorld:
    engine: Engine
    server: SandboxServer
    partner: TicketnetPartner
    settings: TicketnetSettings

    @property
    def home(self) -> Path:
        return self.server.home(DEMO_USERNAME)

    def hourly_run(self) -> None:
        """What the hourly DAG does: land Ticketnet's files, integrate its SALES batches."""
        from reseller_sync.ticketnet.inbound import integrate_stream, land_new_files

        land_new_files(self.settings)
        integrate_stream(self.settings, "SALES")

    def outbound(self) -> list[tuple[str, FileState]]:
        with Session(self.engine) as session:
            return [
                (name, state)
                for name, state in session.execute(
                    select(ExchangeFile.name, ExchangeFile.state)
                    .where(ExchangeFile.direction == Direction.OUTBOUND)
                    .order_by(ExchangeFile.id)
                )
            ]

    def state(self, product: str = PRODUCT) -> OnboardingState | None:
        with Session(self.engine) as session:
            return session.scalar(
                select(ResellerProduct.state)
                .join(Product, ResellerProduct.product_id == Product.id)
                .where(ResellerProduct.reseller_code == "ticketnet", Product.code == product)
            )

    def test_tickets(self) -> list[tuple[str, TicketState, bool]]:
        """Each test ticket's barcode and state, and whether access control accepts it."""
        with Session(self.engine) as session:
            return [
                (barcode, state, bool(allowed))
                for barcode, state, allowed in session.execute(
                    select(Ticket.barcode, Ticket.state, AccessControlEntry.allowed)
                    .join(AccessControlEntry, AccessControlEntry.barcode == Ticket.barcode)
                    .where(Ticket.is_test, Ticket.reseller_code == "ticketnet")
                    .order_by(Ticket.id)
                )
            ]


@pytest.fixture
def world(
    sqlite_demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TicketnetWorld]:
    """The demo box office (a copy) as the default database, and the Ticketnet sandbox
    reached by the connection the settings name (``ticketnet_sftp``)."""
    box_office = tmp_path / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, box_office)
    monkeypatch.setenv(db.URL_VARIABLE, f"sqlite:///{box_office}")
    monkeypatch.setenv("RESELLER_SYNC_POKE_SECONDS", "1")
    db.default_engine.cache_clear()
    engine = make_engine(f"sqlite:///{box_office}")
    with ticketnet_server(tmp_path / "sandbox", [demo_user()]) as server:
        monkeypatch.setenv(
            connection_env_var("ticketnet_sftp"), sandbox_connection_json(server.host, server.port)
        )
        partner = TicketnetPartner(server.root, seed=11)
        yield TicketnetWorld(engine, server, partner, load_settings())
    engine.dispose()
    db.default_engine.cache_clear()


# --------------------------------------------------------------------------- each step


@pytest.fixture
def form(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The run's form as the steps read it, outside a task: change it to ask otherwise."""
    values: dict[str, Any] = {DRY_RUN: False, RESEND_SALE_SHEET: False}
    monkeypatch.setattr(steps, "form_values", lambda: values)
    monkeypatch.setattr(steps, "run_started", lambda: None)
    return values


def found(wait: Wait, *names: str) -> WatchOutcome:
    """The trigger's event once it saw ``names`` in the folder."""
    return WatchOutcome(WatchStatus.FOUND, wait.wanted, wait.folder, wait.deadline, names)


def timed_out(wait: Wait) -> WatchOutcome:
    return WatchOutcome(WatchStatus.TIMEOUT, wait.wanted, wait.folder, wait.deadline, looks=3)


def test_each_step_function_against_the_sandbox(
    world: TicketnetWorld, form: dict[str, Any]
) -> None:
    assert steps.check_product(PRODUCT) == {"checked": PRODUCT}

    # send_catalog: sent, then the task would defer until the ACK is there.
    wait = steps.send_catalog(PRODUCT)
    assert isinstance(wait, Wait)
    assert (wait.wanted.names, wait.folder) == (
        ("OFFER_PR04127_00000001.ack.json",),
        "/from_ticketnet/",
    )
    assert world.outbound() == [(CATALOG, FileState.SENT)]
    [answered] = world.partner.process_offers()
    assert answered.status == "ACCEPTED"
    catalog = steps.catalog_answered(PRODUCT, found(wait, *wait.wanted.names))
    assert catalog == {
        "batch": CATALOG,
        "ack": "OFFER_PR04127_00000001.ack.json",
        "status": "ACCEPTED",
        "accepted": 48,
        "outcomes": [],
        "new_performances": 3,
    }
    assert world.state() is OnboardingState.SALE_SHEET_SENT
    # A retry or a re-run sends nothing and finds the ACK applied.
    assert steps.send_catalog(PRODUCT) == {**catalog, "new_performances": 0}
    assert world.outbound() == [(CATALOG, FileState.ACKNOWLEDGED)]

    assert isinstance(steps.offer_not_confirmed(PRODUCT), MappingError)
    assert isinstance(steps.check_mappings(PRODUCT), list)
    assert world.state() is OnboardingState.MAPPED

    wait = steps.send_allocation(PRODUCT)
    assert isinstance(wait, Wait)
    world.partner.process_offers()
    allocation = steps.allocation_answered(PRODUCT, found(wait, *wait.wanted.names))
    assert isinstance(allocation, dict)
    assert (allocation["batch"], allocation["status"], allocation["accepted"]) == (
        ALLOCATION,
        "ACCEPTED",
        153,
    )
    assert world.state() is OnboardingState.PLACES_SENT

    # integrate_test_tickets: nothing in the box office yet, so wait for a SALES batch.
    wait = steps.integrate_test_tickets(PRODUCT)
    assert isinstance(wait, Wait)
    assert (wait.wanted.file_type, wait.wanted.after_seq) == ("SALES", 0)
    tests = world.partner.emit_tests()
    # The batch is there, the hourly DAG has not integrated it: wait for the next one.
    wait = steps.tickets_answered(PRODUCT, found(wait, f"{tests}.manifest.json"))
    assert isinstance(wait, Wait)
    assert wait.wanted.after_seq == 1
    world.hourly_run()
    wait = steps.tickets_answered(PRODUCT, found(wait, "SALES_PR04127_00000002.manifest.json"))
    assert isinstance(wait, Wait), "accepted at access control: now wait for the refunds"
    assert world.state() is OnboardingState.TESTED
    held = world.test_tickets()
    assert len(held) == TEST_TICKETS
    assert {(state, allowed) for _, state, allowed in held} == {(TicketState.VALID, True)}
    refunds = world.partner.emit_test_refunds()
    world.hourly_run()
    report = steps.tickets_answered(PRODUCT, found(wait, f"{refunds}.manifest.json"))
    assert report == {
        "tickets": TEST_TICKETS,
        "performances": 3,
        "refunded": TEST_TICKETS,
        "accepted_checked_while_valid": True,
    }
    assert {(state, allowed) for _, state, allowed in world.test_tickets()} == {
        (TicketState.CANCELLED, False)
    }
    # Asked again (a re-run), the step finds its work done at once.
    assert steps.integrate_test_tickets(PRODUCT) == report

    assert steps.open_sales(PRODUCT) == "live"
    assert world.state() is OnboardingState.LIVE
    assert world.outbound() == [
        (CATALOG, FileState.ACKNOWLEDGED),
        (ALLOCATION, FileState.ACKNOWLEDGED),
    ]


def test_a_kind_ticketnet_may_not_sell_is_refused_before_anything_is_written(
    world: TicketnetWorld, form: dict[str, Any]
) -> None:
    with pytest.raises(MappingError) as refused:
        steps.check_product(NOT_SELLABLE)

    assert "may not be sold by Ticketnet" in str(refused.value.problems[0])
    assert "remove it from the {reseller} channel" in str(refused.value.action)
    assert world.outbound() == []
    assert list((world.home / "to_ticketnet").iterdir()) == []


def test_silences_past_the_deadline_say_what_to_do(
    world: TicketnetWorld, form: dict[str, Any]
) -> None:
    wait = steps.send_catalog(PRODUCT)
    assert isinstance(wait, Wait)

    with pytest.raises(ExternalError) as no_ack:
        steps.catalog_answered(PRODUCT, timed_out(wait))
    assert f"Ticketnet sent no ACK of {CATALOG}" in no_ack.value.message
    assert f"Call Ticketnet with the batch name {CATALOG}" in str(no_ack.value.action)

    wait = steps.integrate_test_tickets(PRODUCT)
    assert isinstance(wait, Wait)
    with pytest.raises(ExternalError) as no_tests:
        steps.tickets_answered(PRODUCT, timed_out(wait))
    assert "holds no Ticketnet test ticket of EVT-LUMEN" in no_tests.value.message
    assert "ticketnet_inbound" in str(no_tests.value.action)
    assert world.outbound() == [(CATALOG, FileState.SENT)], "nothing sent again"


def test_a_dry_run_shows_the_catalog_and_sends_nothing(
    world: TicketnetWorld, form: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    form[DRY_RUN] = True
    caplog.set_level(logging.INFO, logger=steps.__name__)

    shown = steps.check_product(PRODUCT)

    assert shown == {"checked": PRODUCT, "dry_run": True, "catalog": CATALOG}
    assert "org_event_code,event_name,event_kind" in caplog.text
    assert "ALLOCATION not built" in caplog.text, "Ticketnet knows no performance yet"
    assert world.outbound() == []
    assert list((world.home / "to_ticketnet").iterdir()) == []


# --------------------------------------------------------------------------- whole DAGs


def ticketnet() -> resellers.ResellerType:
    return reseller_type("ticketnet")


def test_each_step_calls_its_function_for_its_product() -> None:
    dag = build_onboarding_dag(ticketnet(), PRODUCT)

    assert dag.dag_id == "ticketnet_onboarding__evt-lumen"
    called = {
        task.task_id: (task.product_code, *functions(task.step))
        for task in dag.tasks
        if task.task_id != "confirm_offer_at_ticketnet"
    }
    assert called == {
        "check_product": (PRODUCT, steps.check_product),
        "send_catalog": (PRODUCT, steps.send_catalog, steps.catalog_answered),
        "check_mappings": (PRODUCT, steps.check_mappings),
        "send_allocation": (PRODUCT, steps.send_allocation, steps.allocation_answered),
        "integrate_test_tickets": (PRODUCT, steps.integrate_test_tickets, steps.tickets_answered),
        "open_sales": (PRODUCT, steps.open_sales),
    }
    assert [task.task_id for task in dag.tasks] == [
        "check_product",
        "send_catalog",
        "confirm_offer_at_ticketnet",
        "check_mappings",
        "send_allocation",
        "integrate_test_tickets",
        "open_sales",
    ]
    waits = [task.task_id for task in dag.tasks if isinstance(task, ProductWait)]
    assert waits == ["send_catalog", "send_allocation", "integrate_test_tickets"]
    assert not any(isinstance(task, BaseSensorOperator) for task in dag.tasks)
    assert "Put EVT-LUMEN on sale at Ticketnet" in (dag.doc_md or "")


def functions(step: Any) -> tuple[Any, ...]:
    if isinstance(step, SendAndWaitStep):
        return step.send, step.answered
    return (step.run,)


@dataclass
class DagWorld:
    world: TicketnetWorld
    mail: MailSink


@pytest.fixture
def dag_world(
    airflow_db: None, world: TicketnetWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DagWorld]:
    """The world, Airflow's history emptied, and a mail sink for the failure e-mails."""
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(TaskInstance).delete()
        session.query(DagRun).delete()
    mail = MailSink(tmp_path / "mail").start()
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": mail.port,
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
    yield DagWorld(world, mail)
    mail.stop()


class TicketnetAtWork(BackgroundPartner):
    """Ticketnet playing its part every round, and the hourly DAG after it: answers the OFFER
    batches, sells test tickets for each performance it holds places of, refunds them once
    the organiser has checked them (its onboarding state says so), and otherwise writes its
    hourly SALES batch (empty) every ``sales_every`` seconds."""

    name = "ticketnet-at-work"

    def __init__(self, world: TicketnetWorld, interval: float = 0.3, sales_every: float = 2.0):
        super().__init__(interval, sales_every)
        self.world = world

    def run_once(self, *, emission_due: bool = False) -> None:
        partner = self.world.partner
        partner.process_offers()
        waiting = [t for t in partner.snapshot().tickets.values() if t.test and not t.refunded_by]
        if partner.untested():
            partner.emit_tests()
        elif waiting and self.world.state() is OnboardingState.TESTED:
            partner.emit_test_refunds()
        elif emission_due:
            partner.emit_sales(tickets=0)
        self.world.hourly_run()


@pytest.fixture
def watches(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, list[str]]]:
    """Every wait the tasks deferred to the trigger, as it ended: (what, status, found)."""
    ended: list[tuple[str, str, list[str]]] = []
    run = PartnerFileTrigger.run

    async def recorded(self: PartnerFileTrigger) -> AsyncIterator[TriggerEvent]:
        async for event in run(self):
            payload = event.payload
            ended.append((self.wanted.describe(), payload["status"], payload["found"]))
            yield event

    monkeypatch.setattr(PartnerFileTrigger, "run", recorded)
    return ended


def states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def returned_by(run: Any, task_id: str) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.scalar(
            select(XComModel.value).where(
                XComModel.run_id == run.run_id,
                XComModel.dag_id == run.dag_id,
                XComModel.task_id == task_id,
                XComModel.key == "return_value",
            )
        )


@pytest.mark.slow
def test_the_demo_concert_goes_live_at_ticketnet_step_by_step(
    dag_world: DagWorld, watches: list[tuple[str, str, list[str]]]
) -> None:
    world = dag_world.world
    dag = build_onboarding_dag(ticketnet(), PRODUCT)
    loop = TicketnetAtWork(world)
    loop.start()
    try:
        with PersonAtRequiredActions(dag.dag_id, "confirm_offer_at_ticketnet") as person:
            run = dag.test()
    finally:
        loop.stop()

    assert str(run.state) == "success", states(run)
    assert set(states(run).values()) == {"success"}
    assert len(states(run)) == 7, "one task per step"
    assert person.answered.is_set()
    assert watches[:2] == [
        ("OFFER_PR04127_00000001.ack.json", "found", ["OFFER_PR04127_00000001.ack.json"]),
        ("OFFER_PR04127_00000002.ack.json", "found", ["OFFER_PR04127_00000002.ack.json"]),
    ], "each batch sent, the task deferred until the trigger saw Ticketnet's ACK"
    assert all(what.startswith("a SALES file after") for what, _, _ in watches[2:])
    assert {status for _, status, _ in watches} == {"found"}
    assert world.outbound() == [
        (CATALOG, FileState.ACKNOWLEDGED),
        (ALLOCATION, FileState.ACKNOWLEDGED),
    ]
    assert world.state() is OnboardingState.LIVE
    assert returned_by(run, "send_catalog")["new_performances"] == 3
    report = returned_by(run, "integrate_test_tickets")
    assert (report["tickets"], report["refunded"], report["accepted_checked_while_valid"]) == (
        TEST_TICKETS,
        TEST_TICKETS,
        True,
    )
    with Session(world.engine) as session:
        assert session.scalar(select(func.count()).select_from(ResellerPerformance)) == 3
    held = world.test_tickets()
    assert len(held) == TEST_TICKETS
    assert {(state, allowed) for _, state, allowed in held} == {(TicketState.CANCELLED, False)}
    assert dag_world.mail.messages() == []


def stopped_at(dag_world: DagWorld, run: Any, failed: str, behind: str, category: str) -> str:
    """The run failed at ``failed``, which stopped ``behind``, and e-mailed one alert of
    ``category`` naming the task; the alert's HTML body."""
    task_states = states(run)
    assert str(run.state) == "failed", task_states
    assert task_states[failed] == "failed"
    assert task_states[behind] == "upstream_failed"
    [mail] = [m for m in dag_world.mail.messages() if "Erreur" in m["Subject"]]
    assert mail["Subject"].startswith(f"[Ticketnet] {category} — {run.dag_id}.{failed}")
    return str(mail.get_body(preferencelist=("html",)).get_content())


def test_a_kind_ticketnet_may_not_sell_stops_the_run_at_its_first_step(
    dag_world: DagWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone lists a dated visit pass among the products on sale at Ticketnet."""
    include = tmp_path / "include"
    shutil.copytree(include_dir(), include)
    settings = include / "config" / "resellers" / "ticketnet.yaml"
    settings.write_text(
        settings.read_text().replace("products:\n", f"products:\n  - {NOT_SELLABLE}\n")
    )
    monkeypatch.setenv(INCLUDE_DIR_VARIABLE, str(include))

    run = build_onboarding_dag(ticketnet(), NOT_SELLABLE).test()

    body = stopped_at(dag_world, run, "check_product", "send_catalog", "Erreur de mapping")
    assert "may not be sold by Ticketnet" in body
    assert dag_world.world.outbound() == []
    assert list((dag_world.world.home / "to_ticketnet").iterdir()) == []


@pytest.mark.slow
def test_a_dry_run_of_the_dag_sends_nothing(dag_world: DagWorld) -> None:
    run = build_onboarding_dag(ticketnet(), PRODUCT).test(run_conf={DRY_RUN: True})

    task_states = states(run)
    assert str(run.state) == "success", task_states
    assert task_states["check_product"] == "success"
    assert task_states["send_catalog"] == "skipped"
    assert set(task_states.values()) == {"success", "skipped"}
    assert returned_by(run, "check_product")["catalog"] == CATALOG
    assert dag_world.world.outbound() == []
    assert list((dag_world.world.home / "to_ticketnet").iterdir()) == []


@pytest.mark.slow
def test_a_catalog_ticketnet_refuses_stops_the_run_and_the_rerun_sends_the_next_number(
    dag_world: DagWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ticketnet knows no venue ARENA-PARIS-C (C02): a mapping error; once Ticketnet has set
    the venue up, the run again sends the CATALOG as batch 2."""
    from devtools.sandboxes.ticketnet.venues import DEFAULT_VENUES, VenueBook

    world = dag_world.world
    world.partner.venues = VenueBook(
        {v.code: v for v in DEFAULT_VENUES if v.code != "ARENA-PARIS-C"}
    )
    dag = build_onboarding_dag(ticketnet(), PRODUCT)
    loop = TicketnetAtWork(world)
    loop.start()
    try:
        with PersonAtRequiredActions(dag.dag_id, "confirm_offer_at_ticketnet") as person:
            run = dag.test()
        body = stopped_at(
            dag_world, run, "send_catalog", "confirm_offer_at_ticketnet", "Erreur de mapping"
        )
        assert "C02" in body
        assert not person.answered.is_set()
        assert world.outbound() == [(CATALOG, FileState.ACKNOWLEDGED)]

        world.partner.venues = VenueBook.default()
        with PersonAtRequiredActions(dag.dag_id, "confirm_offer_at_ticketnet"):
            again = dag.test()
    finally:
        loop.stop()

    assert str(again.state) == "success", states(again)
    assert world.outbound() == [
        (CATALOG, FileState.ACKNOWLEDGED),
        ("OFFER_PR04127_00000002.manifest.json", FileState.ACKNOWLEDGED),
        ("OFFER_PR04127_00000003.manifest.json", FileState.ACKNOWLEDGED),
    ]
    assert world.state() is OnboardingState.LIVE
