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
import queue
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


def postgres_database(template: str | None = None) -> Iterator[str]:
    """A new database on the test server (a copy of ``template`` when given), dropped after
    the test by a background thread: a drop costs a second or two, which the next test
    need not wait for."""
    name = f"reseller_sync_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    copied = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{copied}'))
    except Exception as error:  # the server is part of this machine's contract: say so loudly
        pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is not usable: {error}")
    finally:
        admin.dispose()
    try:
        yield _postgres_url(name)
    finally:
        _DROPPER.drop(name)


class _DatabaseDropper:
    """Drops the tests' databases one after another in a thread; waits for the last at exit."""

    def __init__(self) -> None:
        self._names: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def drop(self, name: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="drop-databases", daemon=True)
            self._thread.start()
            atexit.register(self._close)
        self._names.put(name)

    def _run(self) -> None:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            while (name := self._names.get()) is not None:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()

    def _close(self) -> None:
        self._names.put(None)
        if self._thread is not None:
            self._thread.join(120)


_DROPPER = _DatabaseDropper()


def _postgres_url(name: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_kind(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``: every box-office test runs on both."""
    return str(request.param)


@pytest.fixture
def empty_boxoffice_url(database_kind: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database (no schema), on SQLite and on PostgreSQL."""
    if database_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'boxoffice.sqlite'}"
    else:
        yield from postgres_database()


class DatabaseTemplates:
    """Box offices built once per test process and kind, copied for each test: running the
    migrations or seeding a data set costs seconds, a copy a fraction of one (a file copy on
    SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL).

    ``migrated`` is the empty migrated box office; any other name is a copy of it filled
    once by its ``fill(session)``, whose result (keys issued, say) is kept with it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._built: dict[tuple[str, str], tuple[str, Any]] = {}
        self._dropping: list[Iterator[str]] = []

    def template(
        self, kind: str, name: str = "migrated", fill: Callable[[Session], Any] | None = None
    ) -> tuple[str, Any]:
        """The template (a SQLite file's path, or a PostgreSQL database's name) and what
        its ``fill`` returned."""
        if (kind, name) not in self._built:
            if name == "migrated":
                url = self._new(kind, None)
                migrate.upgrade(url)
                filled = None
            else:
                if fill is None:
                    raise ValueError(f"template {name!r} is built by a fill function")
                url = self._new(kind, self.template(kind)[0])
                engine = make_engine(url)
                try:
                    with sessionmaker(engine)() as session, session.begin():
                        filled = fill(session)
                finally:
                    engine.dispose()
            where = url.removeprefix("sqlite:///") if kind == "sqlite" else url.rsplit("/", 1)[1]
            self._built[kind, name] = (where, filled)
        return self._built[kind, name]

    def _new(self, kind: str, source: str | None) -> str:
        if kind == "sqlite":
            path = self.folder / f"{uuid.uuid4().hex[:12]}.sqlite"
            if source is not None:
                shutil.copyfile(source, path)
            return f"sqlite:///{path}"
        database = postgres_database(template=source)
        self._dropping.append(database)
        return next(database)

    @contextmanager
    def copy(
        self,
        kind: str,
        folder: Path,
        name: str = "migrated",
        fill: Callable[[Session], Any] | None = None,
    ) -> Iterator[str]:
        """The URL of a new copy of the template, dropped afterwards."""
        source = self.template(kind, name, fill)[0]
        if kind == "sqlite":
            path = folder / "boxoffice.sqlite"
            shutil.copyfile(source, path)
            yield f"sqlite:///{path}"
            return
        database = postgres_database(template=source)
        try:
            yield next(database)
        finally:
            next(database, None)

    def close(self) -> None:
        for database in self._dropping:
            next(database, None)


@pytest.fixture(scope="session")
def database_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseTemplates]:
    templates = DatabaseTemplates(tmp_path_factory.mktemp("templates"))
    yield templates
    templates.close()


@pytest.fixture
def boxoffice_url(
    database_kind: str, tmp_path: Path, database_templates: DatabaseTemplates
) -> Iterator[str]:
    """A migrated, empty box office (a copy of the process's migrated template)."""
    with database_templates.copy(database_kind, tmp_path) as url:
        yield url


def _seed_demo(session: Session) -> None:
    seed_demo(session, today=DEMO_TODAY)


@pytest.fixture
def demo_url(
    database_kind: str, tmp_path: Path, database_templates: DatabaseTemplates
) -> Iterator[str]:
    """A box office holding the demo data set (dated from ``DEMO_TODAY``), a copy of the
    process's demo template."""
    with database_templates.copy(database_kind, tmp_path, "demo", _seed_demo) as url:
        yield url


@pytest.fixture
def boxoffice_engine(boxoffice_url: str) -> Iterator[Engine]:
    engine = make_engine(boxoffice_url)
    yield engine
    engine.dispose()


@pytest.fixture
def demo_engine(demo_url: str) -> Iterator[Engine]:
    """A migrated box office holding the demo data set (dated from ``DEMO_TODAY``)."""
    engine = make_engine(demo_url)
    yield engine
    engine.dispose()


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
