"""Fixtures for running whole DAGs with ``dag.test()``: Airflow's metadata database,
the FNAC sandbox over real SFTP, a real SMTP mail sink, and a demo box office."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from devtools.mailsink import MailSink
from devtools.sandboxes.fnac import SandboxServer, connection_env_var, sandbox_connection_json
from devtools.sandboxes.fnac.server import DEMO_USERNAME
from reseller_sync.boxoffice import db
from reseller_sync.boxoffice.db import make_engine


@dataclass
class FnacWorld:
    engine: Engine
    sandbox: SandboxServer
    mail: MailSink

    @property
    def retour(self) -> Path:
        return self.sandbox.home(DEMO_USERNAME) / "retour"

    @property
    def depot(self) -> Path:
        return self.sandbox.home(DEMO_USERNAME) / "depot"


@pytest.fixture
def fnac_world(
    airflow_db: None,
    sqlite_demo_template: Path,
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[FnacWorld]:
    """Everything a DAG reaches, wired the way the settings name it (``fnac_sftp``...).

    Airflow's history starts empty: the FNAC DAGs' tasks depend on their previous
    run, so a run left failed by another test would hold this one forever.
    """
    _forget_dag_runs()
    box_office = tmp_path / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, box_office)
    monkeypatch.setenv(db.URL_VARIABLE, f"sqlite:///{box_office}")
    db.default_engine.cache_clear()
    monkeypatch.setenv(
        connection_env_var("fnac_sftp"), sandbox_connection_json(sandbox.host, sandbox.port)
    )
    mail = _mail_sink(tmp_path, monkeypatch)
    engine = make_engine(f"sqlite:///{box_office}")
    yield FnacWorld(engine, sandbox, mail)
    engine.dispose()
    mail.stop()
    db.default_engine.cache_clear()


@dataclass
class TicketnetWorld:
    engine: Engine
    server: SandboxServer
    mail: MailSink

    @property
    def inbox(self) -> Path:
        return self.server.home(DEMO_USERNAME) / "from_ticketnet"

    @property
    def archive(self) -> Path:
        return self.server.home(DEMO_USERNAME) / "archive" / "from_ticketnet"

    @property
    def outbox(self) -> Path:
        return self.server.home(DEMO_USERNAME) / "to_ticketnet"


@pytest.fixture
def ticketnet_world(
    airflow_db: None,
    sqlite_demo_template: Path,
    ticketnet_registered: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TicketnetWorld]:
    """Ticketnet's side of a DAG's world: a copy of the demo box office, where Ticketnet's
    ACK gave its identifiers of the concert's performances; the Ticketnet sandbox over
    real SFTP as ``ticketnet_sftp``; a real mail sink."""
    from devtools.sandboxes.sftp import demo_user
    from devtools.sandboxes.ticketnet import ticketnet_server
    from reseller_sync.boxoffice.partner_ids import PerformanceIds, record_performance_ids
    from tests.ticketnet.ticketnet_boxoffice import add_ticketnet

    _forget_dag_runs()
    box_office = tmp_path / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, box_office)
    monkeypatch.setenv(db.URL_VARIABLE, f"sqlite:///{box_office}")
    db.default_engine.cache_clear()
    engine = make_engine(f"sqlite:///{box_office}")
    with Session(engine) as session, session.begin():
        given = add_ticketnet(session).frame
        record_performance_ids(
            session,
            "ticketnet",
            "Ticketnet",
            (
                PerformanceIds(int(row.performance), row.event_id, row.performance_id)
                for row in given.itertuples()
            ),
        )
    mail = _mail_sink(tmp_path, monkeypatch)
    with ticketnet_server(tmp_path / "ticketnet", [demo_user()]) as server:
        monkeypatch.setenv(
            connection_env_var("ticketnet_sftp"), sandbox_connection_json(server.host, server.port)
        )
        yield TicketnetWorld(engine, server, mail)
    engine.dispose()
    mail.stop()
    db.default_engine.cache_clear()


def _mail_sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MailSink:
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
    return mail


def _forget_dag_runs() -> None:
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(TaskInstance).delete()
        session.query(DagRun).delete()


class PersonAtRequiredActions:
    """Answers a human-in-the-loop task as a person would in the UI's Required Actions.

    It takes the same path as the API's response handler: record the chosen
    option on the HITL detail, then resume the parked task instance. Like a
    person, it answers a moment (``grace`` seconds) after the task parked: an
    answer within a second or two can race the parking on Airflow 3.3.2 and be
    lost, the task staying parked. A task still parked ``grace`` seconds after
    an answer is answered again, so that dag.test() never waits forever.
    """

    def __init__(
        self, dag_id: str, task_id: str, option: str = "Approve", *, grace: float = 2.0
    ) -> None:
        self.dag_id, self.task_id, self.option, self.grace = dag_id, task_id, option, grace
        self.answered = threading.Event()
        self.answers = 0
        self.errors: list[Exception] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> PersonAtRequiredActions:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _watch(self) -> None:
        """Look every 0.3 s until the run ends; a failed look (SQLite busy with dag.test's
        writes) is retried: a watcher that died on such an error would leave dag.test()
        waiting forever."""
        from sqlalchemy.exc import DBAPIError

        parked_since: float | None = None
        while not self._stop.is_set():
            try:
                if not self._parked():
                    parked_since = None
                elif parked_since is None:
                    parked_since = time.monotonic()
                elif time.monotonic() - parked_since >= self.grace and self._answer_once():
                    self.answers += 1
                    self.answered.set()
                    parked_since = time.monotonic()
            except DBAPIError as error:
                self.errors.append(error)
            self._stop.wait(0.3)

    def _parked(self) -> bool:
        from airflow.utils.session import create_session

        with create_session() as session:
            return session.scalar(self._parked_task()) is not None

    def _parked_task(self) -> Any:
        """The query of this task instance while it waits for an answer."""
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.state import TaskInstanceState

        return select(TaskInstance).where(
            TaskInstance.dag_id == self.dag_id,
            TaskInstance.task_id == self.task_id,
            TaskInstance.state == TaskInstanceState.AWAITING_INPUT,
        )

    def _answer_once(self) -> bool:
        from airflow._shared.timezones import timezone
        from airflow.models.hitl import HITLDetail, HITLUser
        from airflow.models.trigger import handle_event_submit
        from airflow.triggers.base import TriggerEvent
        from airflow.utils.session import create_session

        with create_session() as session:
            ti = session.scalar(self._parked_task())
            if ti is None:
                return False
            detail = session.scalar(select(HITLDetail).where(HITLDetail.ti_id == ti.id))
            if detail is None:
                return False
            detail.responded_by = HITLUser(id="data-ops", name="Data ops")
            detail.responded_at = timezone.utcnow()
            detail.chosen_options = [self.option]
            detail.params_input = {}
            handle_event_submit(
                TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session
            )
        return True
