"""The SecuTix reseller's world for the tests over real SFTP: a copy of the demo box office,
the reseller's sandbox as ``secutix_sftp``, its settings, and the organiser's inbound run."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from airflow.sdk import DAG
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from devtools.sandboxes.connection import connection_env_var, sandbox_connection_json
from devtools.sandboxes.secutix import SecutixPartner, secutix_server
from devtools.sandboxes.secutix.people import LOCAL_TIME
from devtools.sandboxes.sftp import SandboxServer, demo_user
from reseller_sync.boxoffice import db
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.config.paths import REPORTS_DIR_VARIABLE
from reseller_sync.exchange.transport import SftpTransport
from reseller_sync.secutix import inbound, outbound
from reseller_sync.secutix.settings import SecutixSettings, load_settings

PRODUCTS = ("EVT-LUMEN", "PASS-MAH-LIBRE")
SALES_OPEN = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
DAY_START = dt.datetime(2026, 12, 5, 9, 0, tzinfo=LOCAL_TIME)
SETTINGS = """\
sftp:
  connection_id: secutix_sftp
boxoffice:
  channel: SECUTIX
  point_of_sale: SECUTIX-RESEAU
  paying_contact: SECUTIX-TECH
  quota: Q-SECUTIX
prices:
  policy: strict
  includes_commission: true
notifications:
  language: en
  error_emails: [billetterie-exploitation@example.org]
  secutix_contact_email: partenaires@billetterie-partenaire.example
tariffs_offered: [PLEIN, REDUIT]
products: [EVT-LUMEN, PASS-MAH-LIBRE]
"""


class Clock:
    """The reseller's clock, moved by the test."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class World:
    engine: Engine
    server: SandboxServer
    partner: SecutixPartner
    clock: Clock
    settings: SecutixSettings

    @property
    def transport(self) -> SftpTransport:
        return inbound.transport_for(self.settings)

    def run(self) -> None:
        """One inbound run: landing, then the TICKETS stream."""
        inbound.land_new_files(self.settings)
        inbound.integrate_stream(self.settings, "TICKETS")


@contextmanager
def secutix_world(
    sqlite_demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """The world, for a fixture to yield: the box office's URL, the reports folder and the
    SFTP connection set in the environment."""
    box_office = tmp_path / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, box_office)
    monkeypatch.setenv(db.URL_VARIABLE, f"sqlite:///{box_office}")
    monkeypatch.setenv(REPORTS_DIR_VARIABLE, str(tmp_path / "reports"))
    db.default_engine.cache_clear()
    engine = make_engine(f"sqlite:///{box_office}")
    settings_file = tmp_path / "secutix.yaml"
    settings_file.write_text(SETTINGS)
    clock = Clock(DAY_START)
    try:
        with secutix_server(tmp_path / "sftp", [demo_user()]) as server:
            monkeypatch.setenv(
                connection_env_var("secutix_sftp"),
                sandbox_connection_json(server.host, server.port),
            )
            partner = SecutixPartner(server.root, clock=clock, seed=11)
            yield World(engine, server, partner, clock, load_settings(settings_file))
    finally:
        engine.dispose()
        db.default_engine.cache_clear()


def set_up(world: World) -> None:
    """OFFER and CONTINGENT of the two products sent through the organiser's sending, the
    reseller's RESULTs applied: its places are given as the box office records them."""
    transport = world.transport
    for product in PRODUCTS:
        outbound.send_offer(world.engine, transport, world.settings, product, sales_open=SALES_OPEN)
        outbound.send_contingent(world.engine, transport, product)
    answers = world.partner.pickup()
    assert [a.status for a in answers] == ["OK"] * 4, answers
    with Session(world.engine) as session, session.begin():
        for number in range(1, 5):
            assert outbound.await_result(session, transport, number) is not None


def serve_in_dag_tests(
    monkeypatch: pytest.MonkeyPatch, world: World, build: Callable[[], DAG]
) -> None:
    """What ``dag.test()`` needs for the world: the settings loaded from the world's file,
    and the DAG folder holding the SecuTix instance alone, its DAG as ``build`` makes it
    (``dag.test()`` parses the folder to serialize the DAG)."""
    from reseller_sync.airflow import builders
    from reseller_sync.config import paths
    from reseller_sync.secutix import settings as settings_module
    from reseller_sync.secutix.reseller_type import RESELLER_TYPE

    source = world.settings.source
    monkeypatch.setattr(
        settings_module, "load_settings", lambda path=None: load_settings(path or source)
    )
    monkeypatch.setattr(paths, "configured_resellers", lambda: (RESELLER_TYPE.code,))
    monkeypatch.setattr(
        builders, "build_reseller_dags", lambda code: {(dag := build()).dag_id: dag}
    )
