"""The nightly DAG of the SecuTix reseller, run whole with dag.test() against its sandbox over
real SFTP, a mail sink and SQLite (secutix-reseller-v1 sections 7.3, 7.4, 8.3 and 9.1): the
reseller holds two products and sold some places; its STOCK differs from the box office on
one place (alert and report); a seat asked back goes out in a WITHDRAW, which the reseller
answers while the task waits in the trigger; access control is exported."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow.sdk import DAG
from sqlalchemy import select
from sqlalchemy.orm import Session

from devtools.mailsink import MailSink
from devtools.sandboxes.connection import connection_env_var, sandbox_connection_json
from devtools.sandboxes.secutix import SecutixPartner, secutix_server
from devtools.sandboxes.secutix.partner import PartnerLoop
from devtools.sandboxes.secutix.people import LOCAL_TIME
from devtools.sandboxes.sftp import demo_user
from reseller_sync.airflow import builders
from reseller_sync.airflow.nightly_dag import build_nightly_dag
from reseller_sync.boxoffice import db
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import (
    Alert,
    AllocationState,
    ExchangeFile,
    FileState,
    PlaceAllocation,
    PlaceWithdrawal,
    Quota,
    QuotaSeat,
    SalesChannel,
    Seat,
    WithdrawalState,
)
from reseller_sync.config import paths
from reseller_sync.config.paths import REPORTS_DIR_VARIABLE
from reseller_sync.config.settings import load_instance_settings
from reseller_sync.core import resellers
from reseller_sync.secutix import adapter, nightly, withdrawal
from reseller_sync.secutix import settings as settings_module
from reseller_sync.secutix.reseller_type import RESELLER_TYPE
from reseller_sync.secutix.settings import SecutixSettings
from tests.dags.conftest import _forget_dag_runs, _mail_sink
from tests.secutix.test_secutix_withdrawal import (
    DAY_START,
    SETTINGS,
    Clock,
    World,
    set_up,
    unsold_seat,
)


@pytest.fixture
def world(
    airflow_db: None,
    sqlite_demo_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[World, MailSink, Path]]:
    """The SecuTix reseller registered with its nightly steps, its settings file, a copy of
    the demo box office, its sandbox over real SFTP as ``secutix_sftp``, a mail sink."""
    module = "reseller_sync.secutix.adapter"
    if module not in resellers.ADAPTER_MODULES:
        monkeypatch.setattr(resellers, "ADAPTER_MODULES", (*resellers.ADAPTER_MODULES, module))
    if not hasattr(adapter, "nightly_exchange"):
        monkeypatch.setattr(adapter, "nightly_exchange", lambda: nightly, raising=False)
    resellers._adapters.cache_clear()
    settings_file = tmp_path / "secutix.yaml"
    settings_file.write_text(SETTINGS)

    def load(path: Path | str | None = None) -> SecutixSettings:
        return load_instance_settings(SecutixSettings, path or settings_file)

    monkeypatch.setattr(settings_module, "load_settings", load)
    # dag.test() parses the DAG folder to serialize the DAG: there, the SecuTix instance
    # alone, its nightly DAG as the test builds it.
    monkeypatch.setattr(paths, "configured_resellers", lambda: (RESELLER_TYPE.code,))
    monkeypatch.setattr(
        builders, "build_reseller_dags", lambda code: {(dag := nightly_dag()).dag_id: dag}
    )
    _forget_dag_runs()
    box_office = tmp_path / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, box_office)
    monkeypatch.setenv(db.URL_VARIABLE, f"sqlite:///{box_office}")
    reports = tmp_path / "reports"
    monkeypatch.setenv(REPORTS_DIR_VARIABLE, str(reports))
    db.default_engine.cache_clear()
    engine = make_engine(f"sqlite:///{box_office}")
    mail = _mail_sink(tmp_path, monkeypatch)
    clock = Clock(DAY_START)
    with secutix_server(tmp_path / "sftp", [demo_user()]) as server:
        monkeypatch.setenv(
            connection_env_var("secutix_sftp"), sandbox_connection_json(server.host, server.port)
        )
        partner = SecutixPartner(server.root, clock=clock, seed=11)
        yield World(engine, server, partner, clock, load()), mail, reports
    engine.dispose()
    mail.stop()
    db.default_engine.cache_clear()
    resellers._adapters.cache_clear()


def nightly_dag() -> DAG:
    """The DAG under test, its wait for the RESULT shortened."""
    return build_nightly_dag(
        RESELLER_TYPE,
        timezone="Europe/Paris",
        ack_poke_interval=dt.timedelta(seconds=1),
        ack_timeout=dt.timedelta(minutes=2),
    )


def give_a_seat_the_reseller_does_not_hold(world: World) -> None:
    """A seat of the quota recorded as given (a RESULT said so) though the reseller never
    got it: the STOCK's GIVEN is one short."""
    with Session(world.engine) as session, session.begin():
        quota_seat = session.execute(
            select(QuotaSeat.performance_id, QuotaSeat.seat_id, Seat.block_id)
            .join(Quota, Quota.id == QuotaSeat.quota_id)
            .join(SalesChannel, SalesChannel.id == Quota.channel_id)
            .join(Seat, Seat.id == QuotaSeat.seat_id)
            .where(SalesChannel.code == "SECUTIX")
            .limit(1)
        ).one()
        sent = session.scalars(
            select(PlaceAllocation.file_id).where(PlaceAllocation.reseller_code == "secutix")
        ).first()
        session.add(
            PlaceAllocation(
                reseller_code="secutix",
                performance_id=quota_seat.performance_id,
                seat_id=quota_seat.seat_id,
                places=1,
                state=AllocationState.ALLOCATED,
                file_id=sent,
                line=9999,
            )
        )


def test_a_night_reconciles_the_stock_withdraws_and_exports(
    world: tuple[World, MailSink, Path],
) -> None:
    secutix, mail, reports = world
    set_up(secutix)
    for quarter in range(4):
        secutix.clock.now = DAY_START + dt.timedelta(minutes=15 * (quarter + 1))
        secutix.partner.tick(orders=2)
    secutix.clock.now = dt.datetime(2026, 12, 6, 2, 30, tzinfo=LOCAL_TIME)
    stock_name = secutix.partner.write_stock()
    secutix.run()  # the 15-minute run has applied every TICKETS file
    give_a_seat_the_reseller_does_not_hold(secutix)
    performance, seat = unsold_seat(secutix)
    with Session(secutix.engine) as session, session.begin():
        withdrawal.request_withdrawal(
            session, secutix.settings, "EVT-LUMEN", performance, seats=[seat]
        )

    loop = PartnerLoop(secutix.partner, interval=0.5, stock=False)
    loop.start()
    try:
        run = nightly_dag().test()
    finally:
        loop.stop()

    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "success", states
    assert set(states.values()) == {"success"}, states
    with Session(secutix.engine) as session:
        stock = session.scalars(select(ExchangeFile).where(ExchangeFile.file_type == "STOCK")).one()
        assert (stock.name, stock.state) == (
            stock_name.replace(".csv", ".ctl"),
            FileState.INTEGRATED,
        )
        request = session.scalars(select(PlaceWithdrawal)).one()
        assert (request.state, request.error_code) == (WithdrawalState.WITHDRAWN, None)
        alerts = {alert.kind: alert for alert in session.scalars(select(Alert))}
    assert set(alerts) == {"seat_lists_differ"}
    differ = alerts["seat_lists_differ"]
    assert differ.category == "external"
    report = reports / "reconciliation" / f"secutix-{stock_name.removesuffix('.csv')}.html"
    assert report.exists()
    assert str(report) in differ.body
    assert "places given differ (GIVEN)" in differ.body
    assert (secutix.partner.outbox_done / stock_name).is_file()
    subjects = [m["Subject"] for m in mail.messages()]
    assert any("secutix_nightly.reconcile_seats" in s for s in subjects), subjects
    assert sorted(p.name for p in (reports / "access_control").iterdir())


def test_the_nightly_module_provides_every_step_of_the_builder() -> None:
    """Every function (and the DOC) of the builder's ``NightlyExchangeSteps``, with the
    parameters it passes."""
    import inspect

    from reseller_sync.airflow.nightly_dag import NightlyExchangeSteps

    wanted = [n for n, v in vars(NightlyExchangeSteps).items() if inspect.isfunction(v)]
    wanted = [n for n in wanted if not n.startswith("_")]
    assert len(wanted) == 6
    for name in wanted:
        expected = list(inspect.signature(getattr(NightlyExchangeSteps, name)).parameters)[1:]
        assert list(inspect.signature(getattr(nightly, name)).parameters) == expected, name
    assert "DOC" in NightlyExchangeSteps.__annotations__
    assert "STOCK" in nightly.DOC
    assert "T21" in nightly.DOC
