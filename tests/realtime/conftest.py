"""Fixtures of the real-time service's tests: an empty migrated box office on SQLite and
PostgreSQL, and the same holding the conformance data set of realtime-api-v1 (section 16)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from reseller_sync.boxoffice.db import make_engine
from reseller_sync.realtime.conformance import load_conformance_data
from reseller_sync.realtime.context import ResellerContext
from reseller_sync.realtime.settings import reseller_context
from tests.conftest import DatabaseTemplates

CONFORMANCE_NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
"""The box-office clock when the data set was loaded; tests move it forward from there."""


@dataclass(frozen=True)
class ConformanceWorld:
    """The conformance data set, committed: its database, its clock and one key per reseller."""

    engine: Engine
    now: dt.datetime
    keys: dict[str, str]
    """``{"conf-a": key, "conf-b": key}``: one active key each."""

    def session(self) -> Session:
        """A new session on the box office (use it as a context manager)."""
        return sessionmaker(self.engine, expire_on_commit=False)()

    def reseller(self, code: str) -> ResellerContext:
        """The reseller's settings as stored now (``key_id`` not set)."""
        with self.session() as session:
            return reseller_context(session, code)


@pytest.fixture
def realtime_engine(boxoffice_engine: Engine) -> Engine:
    """A migrated, empty box office, on SQLite and on PostgreSQL."""
    return boxoffice_engine


def _load_conformance_data(session: Session) -> dict[str, str]:
    return load_conformance_data(session, CONFORMANCE_NOW)


@pytest.fixture
def conformance_world(
    database_kind: str, tmp_path: Path, database_templates: DatabaseTemplates
) -> Iterator[ConformanceWorld]:
    """The box office holding the conformance data set, loaded at ``CONFORMANCE_NOW`` (a
    copy of the process's template, on SQLite and on PostgreSQL)."""
    keys = database_templates.template(database_kind, "conformance", _load_conformance_data)[1]
    with database_templates.copy(
        database_kind, tmp_path, "conformance", _load_conformance_data
    ) as url:
        engine = make_engine(url)
        try:
            yield ConformanceWorld(engine=engine, now=CONFORMANCE_NOW, keys=keys)
        finally:
            engine.dispose()
