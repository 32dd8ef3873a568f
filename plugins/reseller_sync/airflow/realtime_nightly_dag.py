"""The nightly ``<code>_nightly`` DAG of a synchronous reseller: its sales report of the day
before pulled and reconciled with the box office (realtime-api-v1, sections 13 and 14).

At 03:00 organiser time, for the day before: the report is asked over HTTP until it comes,
waiting in the triggerer between two requests (``Retry-After`` honoured), or until 06:00
passes (an external error, the task fails and alerts); a report refused whole (personal
data, members the contract lacks, totals off) fails the task the same way, nothing of it
kept. A report that differs from the box office succeeds with an alert linking the kept
report: external for the differences, mapping for the orders accepted under the ``warn``
price policy. The work is :mod:`reseller_sync.realtime.reconciliation`'s; this module only
schedules it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, cast

import pendulum
from airflow.sdk import DAG, BaseOperator, CronTriggerTimetable

from reseller_sync.airflow.failures import task_defaults
from reseller_sync.airflow.nightly_dag import night_dates
from reseller_sync.core.resellers import ResellerType, adapter

if TYPE_CHECKING:
    from reseller_sync.realtime.instance_settings import RealtimeInstanceSettings

SCHEDULE = "0 3 * * *"
"""03:00 organiser time: the reseller closed the day before (section 13), and three hours
remain before the report's deadline (06:00, section 14)."""

DOC = """\
### Nightly sales reconciliation

Pulls the reseller's sales report of the day before (realtime-api-v1 section 13) from the
HTTP connection of the instance's `sales_report.connection_id`, and compares it with the box
office's orders and cancellations of that day (section 14).

- *Report not ready* is asked again after its `Retry-After` until 06:00, then the task fails
  (external): ask the reseller to close the day, then clear the task.
- *Report refused whole* (personal data, an unknown member, totals that do not match): the
  task fails (external), nothing was kept; ask the reseller for a corrected revision, then
  clear the task.
- *Differences*: the task succeeds and alerts with the report's path; each row of the report
  says who acts.
"""


def sales_report_day(context: Any, timezone: str) -> dt.date:
    """The day a run reconciles: the day before its data interval's end, organiser time (a
    run triggered by hand stands for the moment it was asked)."""
    end = context.get("data_interval_end") or context["dag_run"].run_after
    return night_dates(end, timezone).day


def realtime_settings(code: str) -> RealtimeInstanceSettings:
    """The settings of the synchronous reseller instance ``code``."""
    return cast("RealtimeInstanceSettings", adapter(code).load_settings())


class SalesReportReconciliation(BaseOperator):
    """Ask for the reseller's sales report of the day before; while it is not ready, wait in
    the triggerer until its ``Retry-After`` (a deferral, so no worker slot is held for the
    hours a late report may take), then ask again; once it comes, reconcile it and alert on
    the differences."""

    def __init__(self, *, reseller_code: str, reseller_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reseller_code = reseller_code
        self.reseller_name = reseller_name

    def execute(self, context: Any) -> Any:
        return self.ask(context)

    def ask(self, context: Any, event: Any = None, attempt: int = 1) -> Any:
        from airflow.providers.standard.triggers.temporal import DateTimeTrigger

        from reseller_sync.realtime import reconciliation

        settings = realtime_settings(self.reseller_code)
        zone = settings.sales_report.timezone
        day = sales_report_day(context, zone)
        answer = reconciliation.ask_for_sales_report(
            reconciliation.http_hook_getter(settings.sales_report.connection_id),
            day,
            deadline=reconciliation.report_deadline(day, zone),
            attempt=attempt,
        )
        if isinstance(answer, dt.datetime):
            self.defer(
                trigger=DateTimeTrigger(moment=answer),
                method_name="ask",
                kwargs={"attempt": attempt + 1},
            )
        return self.reconcile(context, settings, day, answer)

    def reconcile(
        self, context: Any, settings: RealtimeInstanceSettings, day: dt.date, raw: bytes
    ) -> Any:
        from reseller_sync.airflow.notices import raise_notices
        from reseller_sync.boxoffice.db import session_scope
        from reseller_sync.config.paths import reports_dir
        from reseller_sync.realtime import reconciliation

        with session_scope() as session:
            result = reconciliation.reconcile_sales_report(
                session,
                reseller_code=settings.reseller_code,
                reseller_name=self.reseller_name,
                day=day,
                timezone=settings.sales_report.timezone,
                raw_report=raw,
            )
        if result.report is not None:
            path = str(reports_dir() / result.report)
            raise_notices(settings, reconciliation.sales_report_notices(result, path), context)
        return result.summary()


def build_realtime_nightly_dag(reseller: ResellerType) -> DAG:
    """The nightly DAG of the synchronous reseller ``reseller``."""
    code, name = reseller.code, reseller.name
    timezone = realtime_settings(code).sales_report.timezone
    with DAG(
        dag_id=reseller.dag_id("nightly"),
        description=f"Every night: {name}'s sales report of the day before reconciled with "
        "the box office",
        schedule=CronTriggerTimetable(SCHEDULE, timezone=timezone, interval=dt.timedelta(days=1)),
        start_date=pendulum.datetime(2026, 1, 1, tz=timezone),
        catchup=False,
        max_active_runs=1,
        tags=[code, "nightly"],
        default_args=task_defaults(code),
        doc_md=DOC,
    ) as dag:
        SalesReportReconciliation(
            task_id="reconcile_sales_report",
            reseller_code=code,
            reseller_name=name,
            doc_md=f"Pull {name}'s sales report of the day before and compare it with the box "
            "office; alert on any difference with the report's path. While the report is not "
            "ready, waits in the triggerer (no worker slot held). Fails (external) when the "
            "report does not come by 06:00 or is refused whole.",
        )
    return dag
