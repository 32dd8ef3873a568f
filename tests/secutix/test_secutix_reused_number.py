"""T07 at the SecuTix reseller (``secutix-reseller-v1`` section 9.1 point 6, section 10.2):
a TICKETS file number already applied comes back with other content. The 15-minute DAG,
run whole with dag.test() against the reseller's sandbox over real SFTP, refuses it at
landing: the run fails, nothing of the file is applied or journaled, it is left on the
server, and people are told (an *external* alert naming the file and T07) at each run until
the reseller takes it back; the files behind it go through as usual."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from devtools.mailsink import MailSink
from devtools.sandboxes.secutix import Fault
from reseller_sync.airflow.inbound_dag import build_inbound_dag
from reseller_sync.boxoffice.models import Alert, ExchangeFile, FileState
from reseller_sync.secutix.reseller_type import RESELLER_TYPE
from tests.dags.conftest import _forget_dag_runs, _mail_sink
from tests.secutix.secutix_world import World, secutix_world, serve_in_dag_tests, set_up

APPLIED = "TICKETS_00000001"
ALERTS = ("alert",)
"""The tables a refusal may change: the alert it raises."""


def inbound_dag() -> Any:
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


def store(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the box office but the alerts, by table."""
    with Session(engine) as session:
        tables = session.scalars(
            text("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ).all()
        return {
            table: sorted(map(tuple, session.execute(text(f'SELECT * FROM "{table}"'))), key=repr)
            for table in tables
            if table not in ALERTS
        }


def alerts(engine: Engine) -> list[tuple[str, str, str | None]]:
    with Session(engine) as session:
        return [
            (alert.category, alert.body, alert.file_name)
            for alert in session.query(Alert).order_by(Alert.id)
        ]


def test_a_tickets_number_back_with_other_content_is_refused_with_t07(
    world: tuple[World, MailSink],
) -> None:
    secutix, mail = world
    set_up(secutix)
    secutix.clock.now += dt.timedelta(minutes=15)
    secutix.partner.tick(orders=2, prints=0, cancellations=0, refunds=0, renames=0)
    applied = inbound_dag().test()
    assert str(applied.state) == "success", task_states(applied)
    done = secutix.partner.outbox_done
    archived = {path.name: path.read_bytes() for path in done.glob("TICKETS_*")}
    assert set(archived) == {f"{APPLIED}.csv", f"{APPLIED}.ctl"}, "applied, then archived"

    # The reseller writes file 1 again, with a new sale in it.
    secutix.clock.now += dt.timedelta(minutes=15)
    assert secutix.partner.write_tickets(Fault.REUSED_NUMBER) == f"{APPLIED}.csv"
    outbox = secutix.partner.outbox
    reused = (outbox / f"{APPLIED}.csv").read_bytes()
    assert reused != archived[f"{APPLIED}.csv"]
    before = store(secutix.engine)

    run = inbound_dag().test()

    states = task_states(run)
    assert str(run.state) == "failed", states
    assert states["report_refused_files"] == "failed", states
    assert states["land_files"] == "success", states
    assert states["integrate_ticket_states"] == "success", states
    assert store(secutix.engine) == before, "nothing of it applied, nothing landed"
    with Session(secutix.engine) as session:
        [journaled] = session.query(ExchangeFile).filter(ExchangeFile.name == f"{APPLIED}.ctl")
        assert journaled.state is FileState.INTEGRATED
    assert (outbox / f"{APPLIED}.csv").read_bytes() == reused, "left on the server"
    assert {path.name: path.read_bytes() for path in done.glob("TICKETS_*")} == archived
    [(category, body, _)] = alerts(secutix.engine)
    assert category == "external"
    assert "T07" in body
    assert f"{APPLIED}.ctl" in body
    [message] = mail.messages()
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None
    content = plain.get_content()
    assert "T07" in content
    assert f"{APPLIED}.ctl" in content

    # Told again at each run until the reseller takes it back. The stream is not held
    # behind it: file 1 was applied, so the next file goes through as usual (the shared
    # journal's rule for a reused sequence, reseller_sync.pipelines.inbound).
    secutix.clock.now += dt.timedelta(minutes=15)
    behind = secutix.partner.tick(orders=1, prints=0, cancellations=0, refunds=0, renames=0)
    assert behind == "TICKETS_00000002.csv"
    again = inbound_dag().test()
    assert task_states(again)["report_refused_files"] == "failed"
    assert task_states(again)["integrate_ticket_states"] == "success"
    with Session(secutix.engine) as session:
        [next_file] = session.query(ExchangeFile).filter(
            ExchangeFile.name == behind.replace(".csv", ".ctl")
        )
        assert next_file.state is FileState.INTEGRATED
    assert [category for category, _, _ in alerts(secutix.engine)] == ["external"] * 2
    assert "T07" in alerts(secutix.engine)[-1][1]
    assert (outbox / f"{APPLIED}.csv").read_bytes() == reused, "still left on the server"
