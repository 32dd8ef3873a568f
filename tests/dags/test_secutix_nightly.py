"""The nightly DAG of the SecuTix reseller, run whole with dag.test() against its sandbox over
real SFTP, a mail sink and SQLite (secutix-reseller-v1 sections 7.3, 7.4, 8.3 and 9.1): the
reseller holds two products and sold some places; its STOCK differs from the box office on
one place (alert and report); a seat asked back goes out in a WITHDRAW, which the reseller
answers while the task waits in the trigger; access control is exported."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow.sdk import DAG
from sqlalchemy import select
from sqlalchemy.orm import Session

from devtools.mailsink import MailSink
from devtools.sandboxes.secutix.partner import PartnerLoop
from devtools.sandboxes.secutix.people import LOCAL_TIME
from reseller_sync.airflow.nightly_dag import build_nightly_dag
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
from reseller_sync.secutix import nightly, withdrawal
from reseller_sync.secutix.reseller_type import RESELLER_TYPE
from tests.dags.conftest import _forget_dag_runs, _mail_sink
from tests.secutix.secutix_world import (
    DAY_START,
    World,
    secutix_world,
    serve_in_dag_tests,
    set_up,
)
from tests.secutix.test_secutix_withdrawal import unsold_seat


@pytest.fixture
def world(
    airflow_db: None,
    sqlite_demo_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[World, MailSink, Path]]:
    """A copy of the demo box office, the reseller's sandbox over real SFTP as
    ``secutix_sftp``, its settings, a mail sink, and the nightly DAG as the test builds it."""
    _forget_dag_runs()
    mail = _mail_sink(tmp_path, monkeypatch)
    with secutix_world(sqlite_demo_template, tmp_path, monkeypatch) as built:
        serve_in_dag_tests(monkeypatch, built, nightly_dag)
        yield built, mail, tmp_path / "reports"
    mail.stop()


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
