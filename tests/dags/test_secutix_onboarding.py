"""The SecuTix reseller's onboarding of a product (secutix-reseller-v1 sections 1, 7.2, 7.4,
8 and 10.1): each step's function against the SecuTix sandbox over real SFTP, the sandbox
playing the reseller (its RESULTs, then the opening tickets sold and refunded)."""

from __future__ import annotations

import random
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from devtools.sandboxes.connection import connection_env_var, sandbox_connection_json
from devtools.sandboxes.secutix import SecutixPartner, emit, secutix_server
from devtools.sandboxes.sftp import SandboxServer, demo_user
from reseller_sync.airflow.steps import (
    DRY_RUN,
    RESEND_SALE_SHEET,
    ApprovalStep,
    PlainStep,
    SendAndWaitStep,
)
from reseller_sync.airflow.waiting import Wait
from reseller_sync.boxoffice import db
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import (
    Direction,
    ExchangeFile,
    FileState,
    OnboardingState,
    Product,
    ResellerProduct,
)
from reseller_sync.core import resellers
from reseller_sync.domain.errors import ExternalError, MappingError
from reseller_sync.exchange.watch import WatchOutcome, WatchStatus
from reseller_sync.secutix import onboarding as steps
from reseller_sync.secutix.settings import SecutixSettings
from tests.secutix.test_secutix_outbound import secutix_settings

PRODUCT = "PASS-MAH-LIBRE"
"""The demo's undated pass: one seat category (ENTREE) at the tariffs offered."""
EVENT = "EVT-LUMEN"


class Pick(random.Random):
    """Draws as the sandbox does, but chooses the tariff ``tariff`` when it is offered."""

    def __init__(self, tariff: str) -> None:
        super().__init__(0)
        self.tariff = tariff

    def choice(self, seq: Any) -> Any:
        for item in seq:
            if getattr(item, "tariff", None) == self.tariff:
                return item
        return super().choice(seq)


@dataclass
class SecutixWorld:
    engine: Engine
    server: SandboxServer
    partner: SecutixPartner
    settings: SecutixSettings

    def inbound_run(self) -> None:
        """What the 15-minute DAG does: land the reseller's files, integrate TICKETS."""
        from reseller_sync.secutix.inbound import integrate_stream, land_new_files

        land_new_files(self.settings)
        integrate_stream(self.settings, "TICKETS")

    def open_the_sale(self) -> list[str]:
        """The reseller sells one ticket per seat category × tariff it can sell, then
        writes its TICKETS file; the barcodes."""
        barcodes = []
        with self.partner._session(draws=False) as (state, _):
            now = datetime.now(UTC)
            for group in emit.offerable(state, now):
                for price in group.tariffs:
                    [ticket] = emit.sell_order(state, Pick(price.tariff), now, [group], size=1)
                    barcodes.append(ticket.barcode)
        self.partner.write_tickets()
        return barcodes

    def sell(self, product: str, orders: int) -> None:
        """The reseller's customers buy ``orders`` orders of ``product`` (each in a group
        drawn, at tariffs drawn); the next TICKETS file."""
        with self.partner._session() as (state, rng):
            for _ in range(orders):
                now = datetime.now(UTC)
                choices = [g for g in emit.offerable(state, now) if g.product == product]
                emit.sell_order(state, rng, now, choices)
        self.partner.write_tickets()

    def refund(self, barcodes: list[str]) -> None:
        with self.partner._session(draws=False) as (state, _):
            for barcode in barcodes:
                ticket = state.tickets[barcode]
                ticket.refund = ticket.price
                emit._change(ticket, "REFUNDED", datetime.now(UTC))
        self.partner.write_tickets()

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
                .where(ResellerProduct.reseller_code == "secutix", Product.code == product)
            )


@pytest.fixture
def world(
    sqlite_demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SecutixWorld]:
    """The demo box office (a copy) as the default database, and the SecuTix sandbox
    reached by the connection the settings name (``secutix_sftp``)."""
    box_office = tmp_path / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, box_office)
    monkeypatch.setenv(db.URL_VARIABLE, f"sqlite:///{box_office}")
    db.default_engine.cache_clear()
    engine = make_engine(f"sqlite:///{box_office}")
    settings = secutix_settings()
    monkeypatch.setattr(steps, "_settings", lambda: settings)
    with secutix_server(tmp_path / "sandbox", [demo_user()]) as server:
        monkeypatch.setenv(
            connection_env_var("secutix_sftp"), sandbox_connection_json(server.host, server.port)
        )
        yield SecutixWorld(engine, server, SecutixPartner(server.root, seed=11), settings)
    engine.dispose()
    db.default_engine.cache_clear()


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


def test_the_steps_are_declared_in_the_issue_s_order() -> None:
    assert [step.task_id for step in steps.STEPS] == [
        "check_product",
        "send_offer",
        "send_contingent",
        "confirm_offer_at_reseller",
        "check_mappings",
        "check_opening_tickets",
        "open_sales",
    ]
    kinds = [type(step) for step in steps.STEPS]
    assert kinds == [
        PlainStep,
        SendAndWaitStep,
        SendAndWaitStep,
        ApprovalStep,
        PlainStep,
        SendAndWaitStep,
        PlainStep,
    ]
    assert steps.doc(PRODUCT).lstrip().startswith("### ")
    assert PRODUCT in steps.doc(PRODUCT)
    for task in ("check_opening_tickets", "confirm_offer_at_reseller", "REFUNDED"):
        assert task in steps.doc(PRODUCT)


def test_each_step_function_against_the_sandbox(world: SecutixWorld, form: dict[str, Any]) -> None:
    checked = steps.check_product(PRODUCT)
    assert checked["checked"] == PRODUCT
    assert checked["offer_lines"] > 0

    # send_offer: sent, then the task would defer until the RESULT is there.
    wait = steps.send_offer(PRODUCT)
    assert isinstance(wait, Wait)
    assert (wait.wanted.names, wait.folder) == (("RESULT_00000001.ctl",), "/to_organiser/")
    assert world.outbound() == [("OFFER_00000001.ctl", FileState.SENT)]
    [answered] = world.partner.pickup()
    assert answered.status == "OK"
    offer = steps.offer_answered(PRODUCT, found(wait, "RESULT_00000001.ctl"))
    assert isinstance(offer, dict)
    assert (offer["file"], offer["result"], offer["applied"]) == (
        "OFFER_00000001.ctl",
        "RESULT_00000001.csv",
        checked["offer_lines"],
    )
    assert world.state() is OnboardingState.SALE_SHEET_SENT
    # A retry or a re-run sends nothing and finds the RESULT applied.
    assert steps.send_offer(PRODUCT) == offer
    assert world.outbound() == [("OFFER_00000001.ctl", FileState.ACKNOWLEDGED)]

    # send_contingent, answered at once by the reseller's next pickup.
    wait = steps.send_contingent(PRODUCT)
    assert isinstance(wait, Wait)
    world.partner.pickup()
    places = steps.contingent_answered(PRODUCT, found(wait, *wait.wanted.names))
    assert isinstance(places, dict)
    assert places["file"] == "CONTINGENT_00000002.ctl"
    assert places["allocated_lines"] == 0, "a pass line is answered in the journal only"
    assert world.state() is OnboardingState.PLACES_SENT

    # The person approved; the mappings are the identity.
    assert isinstance(steps.check_mappings(PRODUCT), list)
    assert world.state() is OnboardingState.PLACES_SENT, "never moved back"

    # No opening ticket yet: wait for the next TICKETS file.
    wait = steps.check_opening_tickets(PRODUCT)
    assert isinstance(wait, Wait)
    assert (wait.wanted.file_type, wait.wanted.after_seq) == ("TICKETS", 0)

    barcodes = world.open_the_sale()
    assert len(barcodes) == 2, "ENTREE × PLEIN and ENTREE × ENFANT"
    world.inbound_run()
    wait = steps.tickets_answered(PRODUCT, found(wait, "TICKETS_00000001.ctl"))
    assert isinstance(wait, Wait), "accepted at access control; waiting for their refunds"
    assert wait.wanted.after_seq == 1
    assert world.state() is OnboardingState.TESTED

    world.refund(barcodes)
    world.inbound_run()
    done = steps.tickets_answered(PRODUCT, found(wait, "TICKETS_00000002.ctl"))
    assert done == {
        "pairs": 2,
        "tickets": 2,
        "refunded": 2,
        "accepted_checked_while_valid": True,
    }
    assert steps.open_sales(PRODUCT) == "live"
    assert world.state() is OnboardingState.LIVE


def test_a_kind_the_reseller_may_not_sell_is_refused_before_anything_is_written(
    world: SecutixWorld, form: dict[str, Any]
) -> None:
    with pytest.raises(MappingError, match="subscription"):
        steps.check_product("ABO-ARENA-SAISON")
    assert world.outbound() == []


def test_a_dry_run_shows_the_files_and_sends_nothing(
    world: SecutixWorld, form: dict[str, Any]
) -> None:
    form[DRY_RUN] = True
    shown = steps.check_product(EVENT)
    assert shown["dry_run"] is True
    assert shown["offer_lines"] > 0
    assert shown["contingent_lines"] > 0
    from airflow.sdk.exceptions import AirflowSkipException

    with pytest.raises(AirflowSkipException):
        steps.send_offer(EVENT)
    assert world.outbound() == []


def test_silences_past_the_deadline_say_what_to_do(
    world: SecutixWorld, form: dict[str, Any]
) -> None:
    wait = steps.send_offer(PRODUCT)
    assert isinstance(wait, Wait)
    with pytest.raises(ExternalError, match=r"RESULT_00000001\.ctl") as caught:
        steps.offer_answered(PRODUCT, timed_out(wait))
    assert "00000001" in str(caught.value.action)
    world.partner.pickup()
    assert isinstance(steps.offer_answered(PRODUCT, found(wait, "RESULT_00000001.ctl")), dict)
    wait = steps.send_contingent(PRODUCT)
    assert isinstance(wait, Wait)
    world.partner.pickup()
    steps.contingent_answered(PRODUCT, found(wait, *wait.wanted.names))
    wait = steps.check_opening_tickets(PRODUCT)
    assert isinstance(wait, Wait)
    with pytest.raises(ExternalError, match="No opening ticket") as late:
        steps.tickets_answered(PRODUCT, timed_out(wait))
    assert "secutix_inbound" in str(late.value.action)


# --------------------------------------------------------------------------- the DAG


@pytest.fixture
def settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the include folder, the SecuTix instance settings as deployed."""
    from reseller_sync.config.paths import INCLUDE_DIR_VARIABLE, include_dir

    include = tmp_path / "include"
    shutil.copytree(include_dir(), include)
    monkeypatch.setenv(INCLUDE_DIR_VARIABLE, str(include))
    return include / "config" / "resellers" / "secutix.yaml"


class ResellerAtWork:
    """The reseller playing its part every round, and the 15-minute DAG after it: answers
    the organiser's files, opens the sale (one ticket per seat category × tariff, as the
    stack's reseller does: ``SecutixPartner.open_the_sale``) once it holds the product's
    contingent and its sale has been open ``OPENING_AFTER`` long, refunds them once the
    organiser has checked them (its onboarding state says so), and otherwise writes a
    TICKETS file (empty) every 6 rounds."""

    OPENING_AFTER = timedelta(seconds=8)
    """The opening sells each seat category × tariff a second apart, the last a second
    before now: the sale must have opened (the OFFER's sale start) before the first."""

    def __init__(self, world: SecutixWorld, product: str) -> None:
        import threading

        self.world, self.product = world, product
        self.sold: list[str] = []
        self.refunded = False
        self.rounds = 0
        self.errors: list[Exception] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ResellerAtWork:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(0.3):
            try:
                self.run_once()
            except Exception as error:  # a round failed: logged, the next one tried
                self.errors.append(error)

    def run_once(self) -> None:
        world = self.world
        self.rounds += 1
        world.partner.pickup()
        given = (OnboardingState.PLACES_SENT, OnboardingState.MAPPED)
        if not self.sold and self.on_sale() and world.state(self.product) in given:
            _, self.sold = world.partner.open_the_sale(self.product)
        elif (
            self.sold
            and not self.refunded
            and world.state(self.product) is (OnboardingState.TESTED)
        ):
            world.refund(self.sold)
            self.refunded = True
        elif self.rounds % 6 == 0:
            world.partner.write_tickets()
        world.inbound_run()

    def on_sale(self) -> bool:
        """The reseller holds places of the product, whose sale opened ``OPENING_AFTER``
        ago at least."""
        state = self.world.partner.snapshot()
        if not any(held.product == self.product for held in state.holdings.values()):
            return False
        starts = [
            datetime.fromisoformat(price.sales_start)
            for price in state.prices.values()
            if price.product == self.product
        ]
        return bool(starts) and datetime.now(UTC) - max(starts) >= self.OPENING_AFTER


def states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def onboard(world: SecutixWorld, product: str) -> tuple[Any, ResellerAtWork]:
    """One run of ``secutix_onboarding__<product>`` to its end (dag.test()), the reseller
    at work and a person approving the human step; the run and the reseller's part."""
    from reseller_sync.airflow.onboarding_dag import build_onboarding_dag
    from tests.dags.conftest import PersonAtRequiredActions

    dag = build_onboarding_dag(resellers.reseller_type("secutix"), product)
    with (
        ResellerAtWork(world, product) as reseller,
        PersonAtRequiredActions(dag.dag_id, "confirm_offer_at_reseller") as person,
    ):
        run = dag.test()
    assert str(run.state) == "success", (product, states(run), reseller.errors)
    assert set(states(run).values()) == {"success"}
    assert person.answered.is_set()
    return run, reseller


@pytest.mark.slow
@pytest.mark.timeout(480)
def test_the_demo_pass_then_event_go_live_at_the_reseller_and_both_sell(
    airflow_db: None,
    world: SecutixWorld,
    settings_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What ``make demo`` plays at the reseller: the pass, then the event, onboarded to
    ``live``; then its customers buy both, and the 15-minute run integrates their tickets."""
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session

    from devtools.devstack import valid_tickets_by_product
    from reseller_sync.airflow.onboarding_dag import ProductWait, build_onboarding_dag
    from scripts.demo import PRODUCTS_AT_SECUTIX

    assert PRODUCTS_AT_SECUTIX == (PRODUCT, EVENT)
    monkeypatch.setenv("RESELLER_SYNC_POKE_SECONDS", "1")
    with create_session() as session:
        session.query(TaskInstance).delete()
        session.query(DagRun).delete()
    dag = build_onboarding_dag(resellers.reseller_type("secutix"), PRODUCT)
    assert dag.dag_id == "secutix_onboarding__pass-mah-libre"
    waits = [task.task_id for task in dag.tasks if isinstance(task, ProductWait)]
    assert waits == ["send_offer", "send_contingent", "check_opening_tickets"]

    _, pass_reseller = onboard(world, PRODUCT)
    assert world.outbound() == [
        ("OFFER_00000001.ctl", FileState.ACKNOWLEDGED),
        ("CONTINGENT_00000002.ctl", FileState.ACKNOWLEDGED),
    ]
    assert world.state() is OnboardingState.LIVE
    assert len(pass_reseller.sold) == 2, "ENTREE × PLEIN and ENTREE × ENFANT"

    run, event_reseller = onboard(world, EVENT)
    assert run.dag_id == "secutix_onboarding__evt-lumen"
    assert world.outbound()[2:] == [
        ("OFFER_00000003.ctl", FileState.ACKNOWLEDGED),
        ("CONTINGENT_00000004.ctl", FileState.ACKNOWLEDGED),
    ]
    assert world.state(EVENT) is OnboardingState.LIVE
    assert world.state(PRODUCT) is OnboardingState.LIVE
    # CAT1 (rows of P4) and FOSSE (the pit) are in the contingent, at PLEIN and REDUIT.
    assert len(event_reseller.sold) == 4
    assert valid_tickets_by_product(world.engine, "secutix") == {}, "the opening refunded"

    # Its customers buy both, print, cancel; the 15-minute run integrates the file.
    world.sell(PRODUCT, orders=2)
    world.sell(EVENT, orders=3)
    world.partner.tick(orders=4, prints=2, cancellations=1, refunds=0, renames=1)
    world.inbound_run()
    opening = {*pass_reseller.sold, *event_reseller.sold}
    at_reseller = Counter(
        ticket.product
        for ticket in world.partner.snapshot().tickets.values()
        if ticket.valid and ticket.barcode not in opening
    )
    assert at_reseller[PRODUCT] > 0
    assert at_reseller[EVENT] > 0
    assert valid_tickets_by_product(world.engine, "secutix") == dict(at_reseller)
