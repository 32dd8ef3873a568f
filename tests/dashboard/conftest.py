"""Fixtures of the dashboard tests: the demo box office with a day of FNAC activity."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from reseller_sync.boxoffice.db import make_engine
from reseller_sync.fnac.settings import FnacSettings, load_settings
from tests.dashboard.activity import add_activity


@pytest.fixture(scope="session")
def fnac_settings() -> FnacSettings:
    return load_settings()


@pytest.fixture
def active_session(demo_session: Session, fnac_settings: FnacSettings) -> Session:
    """The demo box office (SQLite and PostgreSQL) with the day's activity, rolled back after."""
    add_activity(demo_session, fnac_settings)
    return demo_session


@pytest.fixture(scope="module")
def active_engine(
    sqlite_demo_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
    fnac_settings: FnacSettings,
) -> Iterator[Engine]:
    """A SQLite demo box office with the day's activity committed, shared by a module's tests."""
    path = tmp_path_factory.mktemp("dashboard") / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with sessionmaker(engine)() as session, session.begin():
        add_activity(session, fnac_settings)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def sessions(active_engine: Engine) -> Any:
    """What the app opens per request: a read session on the active box office."""
    factory = sessionmaker(active_engine)

    @contextmanager
    def open_session() -> Iterator[Session]:
        with factory() as session:
            yield session

    def sessions_factory() -> AbstractContextManager[Session]:
        return open_session()

    return sessions_factory
