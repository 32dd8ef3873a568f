"""``digitick_nightly`` run whole with ``dag.test()`` against the sandbox reseller's sales
report endpoint over HTTP: the report is not ready at the first request, the task waits in
the triggerer for its ``Retry-After`` and asks again, then reconciles the day."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from devtools.sandboxes.connection import connection_env_var
from devtools.sandboxes.realtime.ledger import Ledger
from devtools.sandboxes.realtime.report_server import (
    ReportDesk,
    ReportFault,
    ReportServer,
    connection,
)
from reseller_sync.core import resellers
from tests.dags.test_realtime_onboarding_dag import box_office, states

__all__ = ["box_office"]

DAY = dt.date(2026, 12, 2)
NIGHT = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)
"""03:00 in Paris on the day after ``DAY``: the run's moment."""
REPORT_KEY = "digitick-report-key-0123456789"


@pytest.fixture
def late_report(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReportDesk]:
    """Digitick's sales report endpoint, closed for ``DAY`` but not ready at the first
    request (``Retry-After: 1``), as the connection of its settings."""
    desk = ReportDesk(
        ledger=Ledger(reseller_id="digitick"),
        key=REPORT_KEY,
        go_live=DAY - dt.timedelta(days=30),
        clock=lambda: NIGHT,
        late_times=1,
        retry_after=1,
    )
    desk.set_fault(DAY, ReportFault.LATE)
    server = ReportServer(desk)
    server.start()
    monkeypatch.setenv(
        connection_env_var("digitick_sales_report"), json.dumps(connection(server, REPORT_KEY))
    )
    try:
        yield desk
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_late_report_is_waited_for_in_the_triggerer_then_reconciled(
    airflow_db: None, box_office: Engine, late_report: ReportDesk
) -> None:
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session

    from reseller_sync.airflow.realtime_nightly_dag import build_realtime_nightly_dag

    with create_session() as session:
        session.query(TaskInstance).delete()
        session.query(DagRun).delete()
    dag = build_realtime_nightly_dag(resellers.reseller_type("digitick"))

    run: Any = dag.test(logical_date=NIGHT)

    assert str(run.state) == "success", states(run)
    assert late_report.asked[DAY] == 2
    [task] = run.get_task_instances()
    assert task.try_number == 1
    summary = task.xcom_pull(task_ids="reconcile_sales_report")
    assert summary["day"] == DAY.isoformat()
    assert summary["differences"] == {}
