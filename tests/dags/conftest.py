"""Fixtures for running whole DAGs with ``dag.test()``: Airflow's metadata database,
the FNAC sandbox over real SFTP, a real SMTP mail sink, and a demo box office."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from reseller_sync.boxoffice import db
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.fnac.sandbox import SandboxServer, connection_env_var, sandbox_connection_json
from reseller_sync.fnac.sandbox.server import DEMO_USERNAME
from reseller_sync.mailsink import MailSink


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Airflow's own metadata database (SQLite in the test AIRFLOW_HOME), fresh per session."""
    home = Path(os.environ["AIRFLOW_HOME"])
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run(
        [str(airflow), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy()
    )


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
    engine = make_engine(f"sqlite:///{box_office}")
    yield FnacWorld(engine, sandbox, mail)
    engine.dispose()
    mail.stop()
    db.default_engine.cache_clear()


def _forget_dag_runs() -> None:
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(TaskInstance).delete()
        session.query(DagRun).delete()
