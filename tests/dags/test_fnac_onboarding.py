"""Onboarding DAGs run whole with dag.test(): the sandbox plays FNAC, a person approves."""

from __future__ import annotations

import datetime as dt
import gc
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import BaseSensorOperator
from airflow.triggers.base import TriggerEvent
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from devtools.sandboxes.fnac import CodeBook, FnacPartner, PartnerLoop
from devtools.sandboxes.fnac.server import DEMO_USERNAME
from reseller_sync.airflow.onboarding_dag import (
    ProductWait,
    build_onboarding_dag,
    build_onboarding_dags,
)
from reseller_sync.airflow.steps import SendAndWaitStep
from reseller_sync.airflow.triggers import PartnerFileTrigger
from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    Direction,
    ExchangeFile,
    FileState,
    OnboardingState,
    Product,
    ResellerProduct,
    Ticket,
    TicketState,
)
from reseller_sync.config.paths import INCLUDE_DIR_VARIABLE, include_dir
from reseller_sync.core.resellers import reseller_type
from reseller_sync.fnac import onboarding as steps
from tests.dags.conftest import FnacWorld, PersonAtRequiredActions

FNAC = reseller_type("fnac")


@contextmanager
def fnac_playing(
    world: FnacWorld, codebook: CodeBook, test_fault: str | None = None
) -> Iterator[FnacPartner]:
    """FNAC answering /depot/ every 0.3 s and sending test tickets, as the demo does."""
    partner = FnacPartner(world.sandbox.root, DEMO_USERNAME, codebook, seed=3)
    loop = PartnerLoop(partner, interval=0.3, auto_test=True, test_fault=test_fault)
    loop.start()
    try:
        yield partner
    finally:
        loop.stop()


@pytest.fixture
def fnac_at_work(fnac_world: FnacWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[FnacPartner]:
    monkeypatch.setenv("RESELLER_SYNC_POKE_SECONDS", "1")
    with fnac_playing(fnac_world, CodeBook.from_mappings()) as partner:
        yield partner


@pytest.fixture
def watches(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, list[str]]]:
    """Every wait the tasks deferred to the trigger, as it ended: (what was waited for,
    status, files found). dag.test() runs each trigger in line, as the triggerer would."""
    ended: list[tuple[str, str, list[str]]] = []
    run = PartnerFileTrigger.run

    async def recorded(self: PartnerFileTrigger) -> AsyncIterator[TriggerEvent]:
        async for event in run(self):
            payload = event.payload
            ended.append((self.wanted.describe(), payload["status"], payload["found"]))
            yield event

    monkeypatch.setattr(PartnerFileTrigger, "run", recorded)
    return ended


def onboard(product: str, answer: str = "Approve", **conf: object):  # type: ignore[no-untyped-def]
    dag = build_onboarding_dag(FNAC, product)
    with PersonAtRequiredActions(dag.dag_id, "confirm_fnac_codes_recorded", answer) as person:
        run = dag.test(run_conf=conf or None)
    return run, person


def states(run) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def returned_by(run, task_id: str) -> Any:  # type: ignore[no-untyped-def]
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


def outbound_names(world: FnacWorld) -> list[tuple[str, FileState]]:
    with Session(world.engine) as session:
        return [
            (name, state)
            for name, state in session.execute(
                select(ExchangeFile.name, ExchangeFile.state)
                .where(ExchangeFile.direction == Direction.OUTBOUND)
                .order_by(ExchangeFile.id)
            )
        ]


def outbound(world: FnacWorld) -> list[tuple[str, FileState]]:
    return [(name[:6], state) for name, state in outbound_names(world)]


def stopped_at(  # type: ignore[no-untyped-def]
    world: FnacWorld, run, failed: str, behind: str, category: str
) -> str:
    """The run failed at ``failed``, which stopped ``behind``, and e-mailed one alert of
    ``category`` naming the task; the alert's HTML body."""
    task_states = states(run)
    assert str(run.state) == "failed", task_states
    assert task_states[failed] == "failed"
    assert task_states[behind] == "upstream_failed"
    [mail] = [m for m in world.mail.messages() if "Erreur" in m["Subject"]]
    assert mail["Subject"].startswith(f"[FNAC] {category} — {run.dag_id}.{failed}")
    return str(mail.get_body(preferencelist=("html",)).get_content())


def live_with_each_file_sent_once(world: FnacWorld, run) -> None:  # type: ignore[no-untyped-def]
    """The (re-)run put EVT-LUMEN live, and FNAC got one FICHE and one PLACES in all."""
    assert str(run.state) == "success", states(run)
    assert outbound(world) == [
        ("FICHE_", FileState.ACKNOWLEDGED),
        ("PLACES", FileState.ACKNOWLEDGED),
    ]
    assert onboarding_state(world, "EVT-LUMEN") is OnboardingState.LIVE


def onboarding_state(world: FnacWorld, product: str) -> OnboardingState | None:
    with Session(world.engine) as session:
        return session.scalar(
            select(ResellerProduct.state)
            .join(Product, ResellerProduct.product_id == Product.id)
            .where(ResellerProduct.reseller_code == "fnac", Product.code == product)
        )


def test_each_step_calls_its_function_for_its_product(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESELLER_SYNC_POKE_SECONDS", "7")
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DISABLE_BUNDLE_VERSIONING", "True")

    dags = build_onboarding_dags(FNAC, ["EVT-LUMEN", "PASS-MAH-JOUR"])

    assert list(dags) == ["fnac_onboarding__evt-lumen", "fnac_onboarding__pass-mah-jour"]
    for product, dag in zip(["EVT-LUMEN", "PASS-MAH-JOUR"], dags.values(), strict=True):
        assert dag.disable_bundle_versioning is True
        called = {
            task.task_id: (task.product_code, *functions(task.step))
            for task in dag.tasks
            if task.task_id != "confirm_fnac_codes_recorded"
        }
        assert called == {
            "check_product": (product, steps.check_product),
            "send_sale_sheet": (product, steps.send_sale_sheet, steps.sale_sheet_answered),
            "check_mappings": (product, steps.check_mappings),
            "send_places": (product, steps.send_places, steps.places_answered),
            "integrate_test_tickets": (
                product,
                steps.integrate_test_tickets,
                steps.tickets_answered,
            ),
            "open_sales": (product, steps.open_sales),
        }
        waits = [task for task in dag.tasks if isinstance(task, ProductWait)]
        assert [task.task_id for task in waits] == [
            "send_sale_sheet",
            "send_places",
            "integrate_test_tickets",
        ]
        assert {task.poll_seconds for task in waits} == {7.0}
        assert not any(isinstance(task, BaseSensorOperator) for task in dag.tasks), (
            "no reschedule-mode sensor (apache/airflow#71172): the waits defer"
        )


def functions(step: Any) -> tuple[Any, ...]:
    """What a step's task calls: ``send`` and ``answered`` for a wait, else ``run``."""
    if isinstance(step, SendAndWaitStep):
        return step.send, step.answered
    return (step.run,)


@pytest.mark.parametrize("enabled", [True, False])
def test_building_the_dags_leaves_the_garbage_collector_as_it_was(enabled: bool) -> None:
    (gc.enable if enabled else gc.disable)()
    try:
        build_onboarding_dags(FNAC, ["EVT-LUMEN"])
        assert gc.isenabled() is enabled
        with pytest.raises(ValueError, match="alphanumeric characters"):
            build_onboarding_dags(FNAC, ["EVT LUMEN ?"])
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


@pytest.mark.slow
def test_an_event_goes_live_step_by_step(
    fnac_world: FnacWorld, fnac_at_work: FnacPartner, watches: list[tuple[str, str, list[str]]]
) -> None:
    run, person = onboard("EVT-LUMEN")

    assert str(run.state) == "success", states(run)
    [fiche, places] = [name for name, _ in outbound_names(fnac_world)]
    assert watches[:2] == [
        (f"ACK_{fiche}", "found", [f"ACK_{fiche}"]),
        (f"ACK_{places}", "found", [f"ACK_{places}"]),
    ], "each file sent, the task deferred until the trigger saw FNAC's ACK"
    assert {status for _, status, _ in watches} == {"found"}
    assert person.answered.is_set()
    assert set(states(run).values()) == {"success"}
    assert len(states(run)) == 7, "one task per step"
    assert outbound(fnac_world) == [
        ("FICHE_", FileState.ACKNOWLEDGED),
        ("PLACES", FileState.ACKNOWLEDGED),
    ]
    assert onboarding_state(fnac_world, "EVT-LUMEN") is OnboardingState.LIVE
    with Session(fnac_world.engine) as session:
        tests = session.scalars(select(Ticket).where(Ticket.is_test)).all()
        assert tests
        assert {t.state for t in tests} == {TicketState.CANCELLED}
        refused = session.scalar(
            select(func.count())
            .select_from(AccessControlEntry)
            .where(AccessControlEntry.allowed.is_(False))
        )
        assert refused == len(tests)
    [sheet] = [m for m in fnac_world.mail.messages() if "Fiche de mise en vente" in m["Subject"]]
    assert sheet["To"] == "partenaires-billetterie@fnac.example"


@pytest.mark.slow
def test_the_form_s_resend_sends_one_new_sale_sheet_and_nothing_else(
    fnac_world: FnacWorld, fnac_at_work: FnacPartner
) -> None:
    first, _ = onboard("EVT-LUMEN")
    again, _ = onboard("EVT-LUMEN", resend_sale_sheet=True)

    assert (str(first.state), str(again.state)) == ("success", "success"), states(again)
    assert outbound(fnac_world) == [
        ("FICHE_", FileState.ACKNOWLEDGED),
        ("PLACES", FileState.ACKNOWLEDGED),
        ("FICHE_", FileState.ACKNOWLEDGED),
    ]
    resent = returned_by(again, "send_sale_sheet")
    assert resent["file"] != returned_by(first, "send_sale_sheet")["file"]
    assert resent["emailed"] == "partenaires-billetterie@fnac.example"


@pytest.mark.slow
def test_a_pass_skips_the_places_and_says_why(
    fnac_world: FnacWorld, fnac_at_work: FnacPartner
) -> None:
    run, _ = onboard("PASS-MAH-JOUR")

    task_states = states(run)
    assert str(run.state) == "success", task_states
    assert task_states["send_places"] == "skipped"
    assert task_states["integrate_test_tickets"] == "success"
    assert outbound(fnac_world) == [("FICHE_", FileState.ACKNOWLEDGED)]
    assert onboarding_state(fnac_world, "PASS-MAH-JOUR") is OnboardingState.LIVE


@pytest.mark.slow
def test_a_dry_run_builds_the_files_and_sends_nothing(
    fnac_world: FnacWorld, fnac_at_work: FnacPartner
) -> None:
    run = build_onboarding_dag(FNAC, "EVT-LUMEN").test(run_conf={"dry_run": True})

    task_states = states(run)
    assert str(run.state) == "success", task_states
    assert task_states["check_product"] == "success"
    assert set(task_states.values()) == {"success", "skipped"}
    assert task_states["send_sale_sheet"] == "skipped"
    assert task_states["integrate_test_tickets"] == "skipped"
    shown = returned_by(run, "check_product")
    assert shown["sale_sheet"].startswith("FICHE_")
    assert shown["places"].startswith("PLACES_")
    assert outbound(fnac_world) == []
    assert list(fnac_world.depot.glob("*")) == [fnac_world.depot / "traites"]


def test_a_product_fnac_may_not_sell_stops_at_the_first_step(
    fnac_world: FnacWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone lists a subscription among the products on sale at FNAC."""
    include = tmp_path / "include"
    shutil.copytree(include_dir(), include)
    settings = include / "config" / "resellers" / "fnac.yaml"
    settings.write_text(
        settings.read_text().replace("products:\n", "products:\n  - ABO-ARENA-SAISON\n")
    )
    monkeypatch.setenv(INCLUDE_DIR_VARIABLE, str(include))

    run = build_onboarding_dag(FNAC, "ABO-ARENA-SAISON").test()

    body = stopped_at(fnac_world, run, "check_product", "send_sale_sheet", "Erreur de mapping")
    assert "subscription (abonnement) may not be sold by FNAC" in body
    assert len(fnac_world.mail.messages()) == 1
    assert outbound(fnac_world) == []


@pytest.mark.slow
def test_a_refused_sale_sheet_stops_the_run_with_fnac_s_reason(
    fnac_world: FnacWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FNAC does not know the product (its code book lacks it): the FICHE gets E09."""
    monkeypatch.setenv("RESELLER_SYNC_POKE_SECONDS", "1")
    unknown = tmp_path / "fnac-codes"
    shutil.copytree(include_dir() / "mappings" / "fnac", unknown)
    (unknown / "EVT-LUMEN.yaml").unlink()

    with fnac_playing(fnac_world, CodeBook.from_directory(unknown)):
        run, person = onboard("EVT-LUMEN")

    body = stopped_at(
        fnac_world, run, "send_sale_sheet", "confirm_fnac_codes_recorded", "Erreur de mapping"
    )
    assert "E09" in body
    assert len(fnac_world.mail.messages()) == 1, "no readable sale sheet for a refused one"
    assert not person.answered.is_set()
    assert outbound(fnac_world) == [("FICHE_", FileState.REFUSED)]


@pytest.mark.slow
def test_fnac_silent_past_the_deadline_stops_the_run_and_a_rerun_sends_nothing_twice(
    fnac_world: FnacWorld,
    monkeypatch: pytest.MonkeyPatch,
    watches: list[tuple[str, str, list[str]]],
) -> None:
    """FNAC does not pick up the FICHE: no ACK by the wait's deadline (4 h; 3 s here)."""
    monkeypatch.setenv("RESELLER_SYNC_POKE_SECONDS", "1")
    monkeypatch.setattr(steps, "ACK_TIMEOUT", dt.timedelta(seconds=3))

    run, person = onboard("EVT-LUMEN")

    body = stopped_at(
        fnac_world, run, "send_sale_sheet", "confirm_fnac_codes_recorded", "Erreur externe"
    )
    [(fiche, state)] = outbound_names(fnac_world)
    assert state is FileState.SENT
    assert watches == [(f"ACK_{fiche}", "timeout", [])]
    assert f"FNAC sent no ACK of {fiche}" in body
    assert f"Call FNAC with the file name {fiche}" in body
    assert not person.answered.is_set()

    monkeypatch.setattr(steps, "ACK_TIMEOUT", dt.timedelta(minutes=2))
    with fnac_playing(fnac_world, CodeBook.from_mappings()):  # FNAC is back and answers
        again, _ = onboard("EVT-LUMEN")

    live_with_each_file_sent_once(fnac_world, again)
    assert outbound_names(fnac_world)[0] == (fiche, FileState.ACKNOWLEDGED)


@pytest.mark.slow
def test_a_person_who_rejects_stops_the_run_with_what_to_do(
    fnac_world: FnacWorld, fnac_at_work: FnacPartner
) -> None:
    """Data ops answer *Reject*: FNAC's codes have not come yet."""
    run, person = onboard("EVT-LUMEN", answer="Reject")

    assert person.answered.is_set()
    body = stopped_at(
        fnac_world, run, "confirm_fnac_codes_recorded", "check_mappings", "Erreur de mapping"
    )
    assert "not recorded yet (Reject)" in body
    assert "deploy, then trigger the onboarding again" in body
    assert outbound(fnac_world) == [("FICHE_", FileState.ACKNOWLEDGED)]
    assert onboarding_state(fnac_world, "EVT-LUMEN") is OnboardingState.SALE_SHEET_SENT


@pytest.mark.slow
def test_a_missing_mapping_stops_the_run_and_a_rerun_after_the_fix_sends_nothing_twice(
    fnac_world: FnacWorld,
    fnac_at_work: FnacPartner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    include = tmp_path / "include"
    shutil.copytree(include_dir(), include)
    shared = include / "mappings" / "fnac" / "_shared.yaml"
    shared.write_text(shared.read_text().replace('          K: "TH2"\n', ""))
    monkeypatch.setenv(INCLUDE_DIR_VARIABLE, str(include))

    run, _ = onboard("EVT-LUMEN")

    stopped_at(fnac_world, run, "check_mappings", "send_places", "Erreur de mapping")

    monkeypatch.delenv(INCLUDE_DIR_VARIABLE)
    again, _ = onboard("EVT-LUMEN")

    live_with_each_file_sent_once(fnac_world, again)


@pytest.mark.slow
def test_places_fnac_refuses_stop_the_run_with_the_lines(
    fnac_world: FnacWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FNAC knows the floor's block P2 as bloc BB, the organiser's mapping says B: E05."""
    monkeypatch.setenv("RESELLER_SYNC_POKE_SECONDS", "1")
    fnac_codes = tmp_path / "fnac-codes"
    shutil.copytree(include_dir() / "mappings" / "fnac", fnac_codes)
    shared = fnac_codes / "_shared.yaml"
    shared.write_text(shared.read_text().replace('P2: "B"', 'P2: "BB"'))

    with fnac_playing(fnac_world, CodeBook.from_directory(fnac_codes)):
        run, person = onboard("EVT-LUMEN")

    body = stopped_at(fnac_world, run, "send_places", "integrate_test_tickets", "Erreur de mapping")
    assert "E05" in body
    assert person.answered.is_set()
    assert outbound(fnac_world) == [
        ("FICHE_", FileState.ACKNOWLEDGED),
        ("PLACES", FileState.ACKNOWLEDGED),
    ]
    assert onboarding_state(fnac_world, "EVT-LUMEN") is not OnboardingState.LIVE


def fnac_test_tickets(world: FnacWorld) -> list[tuple[str, TicketState]]:
    with Session(world.engine) as session:
        return [
            (barcode, state)
            for barcode, state in session.execute(
                select(Ticket.barcode, Ticket.state).where(Ticket.is_test).order_by(Ticket.id)
            )
        ]


@pytest.mark.slow
def test_a_missing_test_ticket_stops_the_run_until_fnac_sends_it(
    fnac_world: FnacWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FNAC could not issue the test ticket of one pair set up (type de tarif 4 × catégorie 22)."""
    monkeypatch.setenv("RESELLER_SYNC_POKE_SECONDS", "1")

    with fnac_playing(fnac_world, CodeBook.from_mappings(), "missing-ticket") as fnac:
        run, _ = onboard("EVT-LUMEN")

        body = stopped_at(fnac_world, run, "integrate_test_tickets", "open_sales", "Erreur externe")
        assert "no test ticket for type de tarif 4 × catégorie de client 22" in body
        assert onboarding_state(fnac_world, "EVT-LUMEN") is OnboardingState.PLACES_SENT
        first = fnac_test_tickets(fnac_world)
        assert len(first) == 15
        assert {state for _, state in first} == {TicketState.VALID}, "kept for the re-run"

        fnac.emit_test("004512")  # FNAC answers the e-mail with a complete TEST file
        again, _ = onboard("EVT-LUMEN")

    live_with_each_file_sent_once(fnac_world, again)
    report = returned_by(again, "integrate_test_tickets")
    assert (len(report["files"]), report["tickets"], report["cancelled"]) == (1, 15 + 16, 31)
    assert {state for _, state in fnac_test_tickets(fnac_world)} == {TicketState.CANCELLED}


VENUE_REFUSES_THE_FIRST_TEST_TICKET = """
CREATE TRIGGER venue_refuses_the_first_test_ticket AFTER INSERT ON access_control_entry
WHEN NEW.ticket_id = (SELECT min(id) FROM ticket WHERE is_test)
BEGIN
    UPDATE access_control_entry SET allowed = 0 WHERE id = NEW.id;
END
"""


@pytest.mark.slow
def test_a_barcode_access_control_refuses_stops_the_run_until_the_venue_allows_it(
    fnac_world: FnacWorld, fnac_at_work: FnacPartner
) -> None:
    """The venue's access-control system refuses one of FNAC's test barcodes."""
    with fnac_world.engine.begin() as connection:
        connection.exec_driver_sql(VENUE_REFUSES_THE_FIRST_TEST_TICKET)

    run, _ = onboard("EVT-LUMEN")

    body = stopped_at(fnac_world, run, "integrate_test_tickets", "open_sales", "Erreur technique")
    refused_barcode, _ = fnac_test_tickets(fnac_world)[0]
    assert "1 FNAC test ticket(s) would be refused at the venue" in body
    assert refused_barcode in body
    assert {state for _, state in fnac_test_tickets(fnac_world)} == {TicketState.VALID}
    assert onboarding_state(fnac_world, "EVT-LUMEN") is OnboardingState.PLACES_SENT

    with fnac_world.engine.begin() as connection:  # the venue fixes its side
        connection.exec_driver_sql("DROP TRIGGER venue_refuses_the_first_test_ticket")
        connection.exec_driver_sql(
            "UPDATE access_control_entry SET allowed = 1"
            " WHERE ticket_id = (SELECT min(id) FROM ticket WHERE is_test)"
        )
    again, _ = onboard("EVT-LUMEN")

    live_with_each_file_sent_once(fnac_world, again)
    assert returned_by(again, "integrate_test_tickets")["cancelled"] == 16
    assert {state for _, state in fnac_test_tickets(fnac_world)} == {TicketState.CANCELLED}
