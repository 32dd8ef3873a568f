"""The nightly DAG of a synchronous reseller: one task at 03:00 organiser time, reconciling the
day before (realtime-api-v1, section 14)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from airflow.timetables.base import TimeRestriction

from reseller_sync.airflow import realtime_nightly_dag
from reseller_sync.airflow.realtime_nightly_dag import build_realtime_nightly_dag, sales_report_day
from reseller_sync.core.resellers import (
    Acknowledgement,
    InterfaceKind,
    NightlyExchange,
    Placement,
    ResellerType,
    SalesReporting,
)
from reseller_sync.domain.products import ProductKind

SANDBOX_TYPE = ResellerType(
    code="sbxrealtime",
    name="Sandbox reseller",
    contract="realtime-api-v1",
    interface=InterfaceKind.REALTIME,
    product_kinds=frozenset({ProductKind.EVENT}),
    placements=frozenset({Placement.SEATED, Placement.FREE}),
    acknowledgement=Acknowledgement.SYNCHRONOUS,
    sales_reporting=SalesReporting.EVENT_LOG,
    nightly=(NightlyExchange.SALES_REPORT,),
)


def test_one_task_at_3am_organiser_time(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = SimpleNamespace(
        sales_report=SimpleNamespace(timezone="America/Montreal", connection_id="x")
    )
    module = SimpleNamespace(load_settings=lambda: settings)
    monkeypatch.setattr(realtime_nightly_dag, "adapter", lambda code: module)

    dag = build_realtime_nightly_dag(SANDBOX_TYPE)

    assert dag.dag_id == "sbxrealtime_nightly"
    assert [task.task_id for task in dag.tasks] == ["reconcile_sales_report"]
    assert dag.max_active_runs == 1
    assert not dag.catchup
    from airflow.serialization.encoders import coerce_to_core_timetable

    timetable = coerce_to_core_timetable(dag.timetable)
    assert timetable.summary == realtime_nightly_dag.SCHEDULE
    restriction = TimeRestriction(earliest=None, latest=None, catchup=False)
    after = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert after is not None
    local = after.run_after.astimezone(ZoneInfo("America/Montreal"))
    assert (local.hour, local.minute) == (3, 0)


@pytest.mark.parametrize(
    ("end", "day"),
    [
        (dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC), dt.date(2026, 12, 2)),  # 03:00 Paris
        (dt.datetime(2027, 3, 28, 1, 0, tzinfo=dt.UTC), dt.date(2027, 3, 27)),  # clocks change
    ],
)
def test_the_day_reconciled_is_the_day_before_in_organiser_time(
    end: dt.datetime, day: dt.date
) -> None:
    assert sales_report_day({"data_interval_end": end}, "Europe/Paris") == day
    run = SimpleNamespace(run_after=end)
    assert sales_report_day({"data_interval_end": None, "dag_run": run}, "Europe/Paris") == day
