"""The SecuTix reseller's inbound DAG, every 15 minutes (``secutix-reseller-v1`` sections 3,
7 and 9.1), run whole with dag.test() against its sandbox over real SFTP, a mail sink and a
copy of the demo box office."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG
from sqlalchemy import select
from sqlalchemy.orm import Session

from devtools.mailsink import MailSink
from reseller_sync.airflow.inbound_dag import build_inbound_dag
from reseller_sync.boxoffice.models import Alert, ExchangeFile, FileState, Ticket, TicketState
from reseller_sync.secutix.reseller_type import RESELLER_TYPE
from tests.dags.conftest import _forget_dag_runs, _mail_sink
from tests.secutix.secutix_world import DAY_START, World, secutix_world, serve_in_dag_tests, set_up


def inbound_dag() -> DAG:
    return build_inbound_dag(RESELLER_TYPE)


@pytest.fixture
def world(
    airflow_db: None,
    sqlite_demo_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[World, MailSink]]:
    _forget_dag_runs()
    mail = _mail_sink(tmp_path, monkeypatch)
    with secutix_world(sqlite_demo_template, tmp_path, monkeypatch) as built:
        serve_in_dag_tests(monkeypatch, built, inbound_dag)
        yield built, mail
    mail.stop()


def task_states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def tickets(world: World) -> dict[str, TicketState]:
    with Session(world.engine) as session:
        return {
            barcode: TicketState(state)
            for barcode, state in session.execute(
                select(Ticket.barcode, Ticket.state).where(Ticket.reseller_code == "secutix")
            )
        }


def test_it_runs_every_15_minutes_and_applies_the_tickets_files_in_order(
    world: tuple[World, MailSink],
) -> None:
    secutix, mail = world
    set_up(secutix)
    for quarter in range(3):
        secutix.clock.now = DAY_START + dt.timedelta(minutes=15 * (quarter + 1))
        secutix.partner.tick(orders=3, cancellations=1 if quarter == 2 else 0)

    dag = inbound_dag()
    run = dag.test()

    assert dag.tags >= {"secutix", "quarter-hourly"}
    assert "Every 15 minutes" in (dag.description or "")
    assert str(run.state) == "success", task_states(run)
    with Session(secutix.engine) as session:
        applied = session.scalars(
            select(ExchangeFile.state).where(ExchangeFile.file_type == "TICKETS")
        ).all()
    assert applied == [FileState.INTEGRATED] * 3
    reported = secutix.partner.snapshot().tickets.values()
    assert tickets(secutix) == {
        t.barcode: TicketState.VALID if t.state in ("SOLD", "PRINTED") else TicketState.CANCELLED
        for t in reported
    }
    assert TicketState.CANCELLED in tickets(secutix).values()
    assert mail.messages() == []


def test_a_forbidden_transition_fails_the_run_and_tells_people_the_code(
    world: tuple[World, MailSink],
) -> None:
    secutix, mail = world
    set_up(secutix)
    secutix.clock.now = DAY_START + dt.timedelta(minutes=15)
    secutix.partner.tick(orders=2, prints=0, cancellations=1, refunds=0, renames=0)
    secutix.clock.now += dt.timedelta(minutes=15)
    secutix.partner.tick(orders=0, prints=0, cancellations=0, refunds=0, renames=0, fault="revived")

    run = inbound_dag().test()

    states = task_states(run)
    assert states["integrate_ticket_states"] == "failed", states
    with Session(secutix.engine) as session:
        [alert] = session.scalars(select(Alert)).all()
    assert alert.category == "external"
    assert "T10" in alert.body
    assert any("T10" in message.get_body().get_content() for message in mail.messages())
