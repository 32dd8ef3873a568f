"""Fixtures of the reliability suite (issue 9): FNAC played by the sandbox, the box office
on SQLite and PostgreSQL, the hourly DAG with a real SFTP server and a real mail sink.

- ``world``: the pipelines without Airflow (land, integrate), on the demo box office
  (SQLite and PostgreSQL), with the sandbox server and FNAC's partner onboarded the
  real way (the demo concert's FICHE and PLACES built from the box office, sent over
  SFTP and accepted by the partner).
- ``dag_world``: the same partner for ``dag.test()`` of the hourly DAG (fixtures of
  tests/dags: Airflow's metadata database, SQLite box office, mail sink).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from devtools.sandboxes.fnac import SandboxServer
from devtools.sandboxes.fnac.codebook import CodeBook
from devtools.sandboxes.fnac.partner import FnacPartner
from devtools.sandboxes.fnac.server import DEMO_USERNAME
from reseller_sync.boxoffice.models import ExchangeFile, FileState
from reseller_sync.fnac.adapter import RESELLER_TYPE
from reseller_sync.fnac.inbound_files import FnacInboundFiles
from reseller_sync.fnac.mappings import load_repository
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.outbound import transport_for as outbound_transport
from reseller_sync.fnac.places import send_places
from reseller_sync.fnac.sale_sheet import send_sale_sheet
from reseller_sync.fnac.settings import FnacSettings, load_settings
from reseller_sync.fnac.writer import write_file
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.pipelines import inbound
from tests.dags.conftest import FnacWorld, fnac_world  # noqa: F401 (fixture)
from tests.sandbox.conftest import StepClock, codebook  # noqa: F401 (fixture)

SALES_OPEN = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
"""Sales open at FNAC on the demo's reference day (10:00 in Paris)."""
T0 = dt.datetime(2026, 11, 28, 12, 5, tzinfo=dt.UTC)


def settings_for(connection_id: str) -> FnacSettings:
    settings = load_settings()
    sftp = settings.sftp.model_copy(update={"connection_id": connection_id})
    return settings.model_copy(update={"sftp": sftp})


def onboard(
    engine: Engine,
    settings: FnacSettings,
    partner: FnacPartner,
    products: tuple[str, ...] = ("EVT-LUMEN", "PASS-MAH-JOUR"),
) -> None:
    """Put the demo products on sale at FNAC the real way: FICHE and PLACES built from the
    box office, uploaded to the sandbox, accepted by the partner."""
    transport = outbound_transport(settings, connect_timeout=5, transfer_timeout=5.0)
    for product in products:
        send_sale_sheet(engine, transport, settings, product, sales_open=SALES_OPEN)
        send_places(engine, transport, settings, product)
    answers = partner.process_depot()
    assert answers
    assert all(answer.status == "OK" for answer in answers), answers


@dataclass
class World:
    """FNAC, its SFTP server and the organiser's box office, without Airflow."""

    engine: Engine
    settings: FnacSettings
    repository: MappingRepository
    sandbox: SandboxServer
    partner: FnacPartner
    clock: StepClock
    dropped: list[str] = field(default_factory=list)

    @property
    def retour(self) -> Path:
        return self.sandbox.home(DEMO_USERNAME) / "retour"

    def drop(
        self, file_type: FileType, seq: int, records: list[dict[str, Any]], *, hours: int = 0
    ) -> str:
        """A file written by hand into ``/retour/`` (atomically, as FNAC does)."""
        name, data = write_file(
            file_type, "M0427", seq, records, created=T0 + dt.timedelta(hours=hours)
        )
        part = self.retour / f"{name}.part"
        part.write_bytes(data)
        part.rename(self.retour / name)
        return name

    def land(self) -> inbound.LandingReport:
        return inbound.land_new_files(self.engine, "fnac", outbound_transport(self.settings))

    def integrate(self) -> dict[str, inbound.TypeIntegration]:
        return {
            file_type: inbound.integrate_pending(
                self.engine,
                self.settings,
                FnacInboundFiles(self.settings, self.repository),
                file_type,
            )
            for file_type in (stream.code for stream in RESELLER_TYPE.streams)
        }

    def run(self) -> dict[str, inbound.TypeIntegration]:
        """One hourly run without Airflow: land, then CATCLI, VENTES, ANNUL."""
        self.land()
        return self.integrate()

    def files(self, *names: str | None) -> list[tuple[str, bytes]]:
        """The named files of ``/retour/`` as FNAC wrote them (name, bytes)."""
        return [(name, (self.retour / name).read_bytes()) for name in names if name]

    def states(self) -> dict[str, FileState]:
        with Session(self.engine) as session:
            return dict(session.execute(select(ExchangeFile.name, ExchangeFile.state)).all())

    def entry(self, name: str) -> ExchangeFile:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.scalars(select(ExchangeFile).where(ExchangeFile.name == name)).one()

    def count(self, model: type, *where: object) -> int:
        with Session(self.engine) as session:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.fixture
def clock() -> StepClock:
    """FNAC's clock: ``T0``, then whatever the test moves it to."""
    return StepClock(T0)


@pytest.fixture
def world(
    demo_engine: Engine,
    sandbox: SandboxServer,
    sandbox_conn_id: str,
    codebook: CodeBook,  # noqa: F811
    clock: StepClock,
) -> World:
    """The demo box office (SQLite and PostgreSQL) with the concert and the day pass on sale
    at FNAC, whose sandbox partner is ready to sell."""
    settings = settings_for(sandbox_conn_id)
    partner = FnacPartner(sandbox.root, DEMO_USERNAME, codebook, clock=clock, seed=9)
    onboard(demo_engine, settings, partner)
    return World(demo_engine, settings, load_repository(), sandbox, partner, clock)


@dataclass
class DagWorld:
    """The hourly DAG's world (tests/dags' ``fnac_world``) with FNAC's partner on sale."""

    base: FnacWorld
    partner: FnacPartner
    clock: StepClock

    @property
    def engine(self) -> Engine:
        return self.base.engine

    @property
    def retour(self) -> Path:
        return self.base.retour

    def files(self, *names: str | None) -> list[tuple[str, bytes]]:
        return [(name, (self.retour / name).read_bytes()) for name in names if name]

    def run(self, **retries: int) -> Any:
        """One run of the hourly DAG with ``dag.test()``; ``retries`` per task id overrides
        the task's retries (0 makes a retryable failure final at once, as after the
        last try)."""
        from reseller_sync.airflow.inbound_dag import build_inbound_dag
        from reseller_sync.fnac.adapter import RESELLER_TYPE as FNAC

        dag = build_inbound_dag(FNAC)
        for task_id, count in retries.items():
            dag.get_task(task_id).retries = count
        return dag.test()


@pytest.fixture
def dag_world(
    fnac_world: FnacWorld,  # noqa: F811
    codebook: CodeBook,  # noqa: F811
    clock: StepClock,
) -> DagWorld:
    settings = settings_for("fnac_sftp")
    # FNAC's files are stamped in the last hours: the watchdog compares them with the time now.
    clock.now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
    partner = FnacPartner(fnac_world.sandbox.root, DEMO_USERNAME, codebook, clock=clock, seed=9)
    onboard(fnac_world.engine, settings, partner)
    return DagWorld(fnac_world, partner, clock)


def task_states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
