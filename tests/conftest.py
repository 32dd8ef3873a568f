"""Fixtures shared by the whole suite.

The box office runs on SQLite and on PostgreSQL (127.0.0.1:5432, trust auth):
``boxoffice_url`` is parametrised over both, so every test that uses it shows
``[sqlite]`` or ``[postgresql]`` in its id. Each PostgreSQL test gets its own
database, created from the server's ``test`` database and dropped afterwards.
"""

from __future__ import annotations

import atexit
import datetime as dt
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Airflow reads its configuration once, when first imported: set it before any import.
# Each test session, and each pytest-xdist worker of one, has its own Airflow home (its
# metadata database), so that they run side by side. Chosen once per process: this module
# runs again when a test imports it as ``tests.conftest``, and the workers inherit the
# environment of the process that started them.
_AIRFLOW_HOME_VARIABLE = "RESELLER_SYNC_TEST_AIRFLOW_HOME_" + os.environ.get(
    "PYTEST_XDIST_WORKER", "main"
)
if _AIRFLOW_HOME_VARIABLE not in os.environ:
    os.environ[_AIRFLOW_HOME_VARIABLE] = tempfile.mkdtemp(prefix="reseller-sync-airflow-")
    atexit.register(shutil.rmtree, os.environ[_AIRFLOW_HOME_VARIABLE], True)
os.environ["AIRFLOW_HOME"] = os.environ[_AIRFLOW_HOME_VARIABLE]
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from devtools.demo_boxoffice import seed_demo
from devtools.sandboxes.fnac import (
    SandboxServer,
    connection_env_var,
    demo_user,
    sandbox_connection_json,
)
from reseller_sync.boxoffice import migrate
from reseller_sync.boxoffice.db import make_engine

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DEMO_TODAY = dt.date(2026, 11, 28)
"""The reference day of the demo data in tests: every date in them follows from it."""


def _postgres_database() -> Iterator[str]:
    name = f"reseller_sync_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # the server is part of this machine's contract: say so loudly
        admin.dispose()
        pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is not usable: {error}")
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_boxoffice_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database (no schema), on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'boxoffice.sqlite'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def boxoffice_url(empty_boxoffice_url: str) -> str:
    """A migrated, empty box office."""
    migrate.upgrade(empty_boxoffice_url)
    return empty_boxoffice_url


@pytest.fixture
def boxoffice_engine(boxoffice_url: str) -> Iterator[Engine]:
    engine = make_engine(boxoffice_url)
    yield engine
    engine.dispose()


@pytest.fixture
def demo_engine(boxoffice_engine: Engine) -> Engine:
    """A migrated box office holding the demo data set (dated from ``DEMO_TODAY``)."""
    with sessionmaker(boxoffice_engine)() as session, session.begin():
        seed_demo(session, today=DEMO_TODAY)
    return boxoffice_engine


@pytest.fixture
def demo_session(demo_engine: Engine) -> Iterator[Session]:
    """A session on the demo box office; what the test does is rolled back afterwards."""
    with sessionmaker(demo_engine)() as session:
        yield session
        session.rollback()


@pytest.fixture(scope="session")
def sqlite_demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated and seeded SQLite file built once; copy it for a fast demo box office."""
    path = tmp_path_factory.mktemp("template") / "demo.sqlite"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with sessionmaker(engine)() as session, session.begin():
        seed_demo(session, today=DEMO_TODAY)
    engine.dispose()
    return path


# FNAC sandbox SFTP server (tests/exchange, tests/sandbox) -------------------

SANDBOX_CONN_ID = "fnac_sandbox_test"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    """A running sandbox SFTP server on a free port of 127.0.0.1, with the demo user.

    Its ``host``, ``port`` and ``root`` say where it is; ``home(user)`` is the
    local folder a user sees as ``/``; ``faults`` injects transfer faults.
    """
    with SandboxServer(tmp_path / "sandbox", [demo_user()]) as server:
        yield server


@pytest.fixture
def sandbox_conn_id(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """An Airflow connection id (through ``AIRFLOW_CONN_...``) that reaches ``sandbox`` by key."""
    monkeypatch.setenv(
        connection_env_var(SANDBOX_CONN_ID), sandbox_connection_json(sandbox.host, sandbox.port)
    )
    return SANDBOX_CONN_ID


@pytest.fixture
def ticketnet_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Ticketnet's adapter in the registry for one test, whether or not the registry lists
    it: the settings and mappings name the reseller through the registry."""
    from reseller_sync.core import resellers

    modules = resellers.ADAPTER_MODULES
    if "reseller_sync.ticketnet.adapter" not in modules:
        modules = (*modules, "reseller_sync.ticketnet.adapter")
    monkeypatch.setattr(resellers, "ADAPTER_MODULES", modules)
    resellers._adapters.cache_clear()
    yield
    monkeypatch.undo()
    resellers._adapters.cache_clear()


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Airflow's metadata database in this session's AIRFLOW_HOME, migrated once.

    Never deleted while the session runs: an earlier test may already hold a
    connection to it, which would then see a file without tables.
    """
    import subprocess
    import sys

    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run(
        [str(airflow), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy()
    )
