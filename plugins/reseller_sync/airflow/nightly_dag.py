"""The nightly ``fnac_nightly`` DAG: reconciliation, prices, withdrawals, access control."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pendulum
from airflow.sdk import DAG, PokeReturnValue, TriggerRule, get_current_context, task

from reseller_sync.airflow.failures import task_defaults

DAG_ID = "fnac_nightly"
ACK_POKE_INTERVAL = dt.timedelta(minutes=5)
ACK_TIMEOUT = dt.timedelta(hours=2)
"""FNAC picks up ``/depot/`` within 15 minutes (spec 3); past this, the sensor fails."""

DOC = """
### FNAC nightly maintenance, 03:00 Paris time

FNAC writes the state of its allotment (ETATPL) around 02:00. This DAG, at 03:00:

1. **land_files**: downloads every new file of `/retour/` into the exchange
   journal (the ETATPL among them; the hourly DAG integrates the others).
2. **reconcile_seats**: compares each ETATPL, in sequence order, with the
   places the box office gives FNAC and the sales it integrated. Differences
   (places held but not given and the reverse, sales not integrated, sales
   FNAC reports unsold) raise an *external* alert "seat lists differ" with a
   link to the HTML report (kept under `var/reports/reconciliation/`, or
   `$RESELLER_SYNC_REPORTS_DIR`).
3. **verify_prices**: FNAC's latest sale price per performance, category and
   tariff of the live products against the box office's; differences raise an
   *external* alert with the list.
4. **send_withdrawals**: the places asked back from FNAC (requests made with
   `reseller_sync.pipelines.withdrawal.request_withdrawal`, and every unsold
   FNAC place of a performance closer than
   `nightly.withdraw_unsold_days_before_performance` days) go out in one
   DECONT file.
5. **await_withdrawal_acks**: waits for FNAC's ACK without holding a worker
   (sensor in reschedule mode); each ACK is applied as it arrives: places
   withdrawn leave FNAC's quota, places FNAC sold (E07) stay FNAC's.
6. **report_withdrawals**: alerts on places FNAC sold (E07: not an error);
   fails on any other refusal, sorted by category.
7. **export_access_control**: one CSV per performance with the barcodes to
   let in and to refuse, under `var/reports/access_control/`.

**When a task fails**, the e-mail says which file, which lines and what to do:
- *mapping error*: fix `include/mappings/`, then **Clear** the failed task.
- *external error*: the task retried already; check with FNAC (quote the file).
- *technical error*: call support with the task's log.

A failed ETATPL stops the ETATPL files behind it until it is fixed. A DECONT
whose ACK has not come is awaited again by the next run; its places stay
FNAC's until then, and are never sent twice.
"""


def _settings() -> Any:
    from reseller_sync.config.settings import load_settings

    return load_settings()


def _today(settings: Any) -> dt.date:
    return dt.datetime.now(ZoneInfo(settings.boxoffice.venue_timezone)).date()


def build_nightly_dag(
    *,
    ack_poke_interval: dt.timedelta = ACK_POKE_INTERVAL,
    ack_timeout: dt.timedelta = ACK_TIMEOUT,
) -> DAG:
    """The nightly DAG; the ACK sensor's timing can be shortened (tests, demos)."""
    with DAG(
        dag_id=DAG_ID,
        description="Every night: ETATPL reconciliation, prices, DECONT, access-control export",
        schedule="0 3 * * *",
        start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Paris"),
        catchup=False,
        max_active_runs=1,
        tags=["fnac", "nightly"],
        default_args=task_defaults(),
        doc_md=DOC,
    ) as dag:

        @task(doc_md="Download every new file of `/retour/` (ETATPL among them) into the journal.")
        def land_files() -> dict[str, Any]:
            from reseller_sync.pipelines.inbound import land_new_files, transport_for

            return land_new_files(None, transport_for(_settings())).summary()

        @task(
            doc_md="Compare FNAC's ETATPL with the box office; alert 'seat lists differ' with the "
            "report. On failure: a mapping error names the value to map; clear the task once "
            "fixed."
        )
        def reconcile_seats() -> list[dict[str, Any]]:
            from reseller_sync.airflow.notices import notify, task_site
            from reseller_sync.domain.errors import ErrorCategory
            from reseller_sync.mappings.repository import load_repository
            from reseller_sync.pipelines.reconciliation import reconcile_pending, reports_dir

            settings = _settings()
            results = reconcile_pending(None, settings, load_repository())
            for result in results:
                if result.differences and result.report:
                    report = reports_dir() / result.report
                    notify(
                        settings,
                        category=ErrorCategory.EXTERNAL,
                        kind="seat_lists_differ",
                        message=f"Seat lists differ: FNAC's allotment state and the box office "
                        f"disagree on {len(result.differences)} place(s) "
                        f"({', '.join(f'{k} {n}' for k, n in result.counts.items())}). "
                        f"Report: {report}",
                        problems=result.problems(),
                        site=task_site(get_current_context()),
                        file_name=result.file_name,
                        hint=f"Open the report {report} and check each place with FNAC.",
                    )
            return [result.summary() for result in results]

        @task(doc_md="Compare FNAC's latest sale prices with the box office's; alert on any.")
        def verify_prices() -> dict[str, Any]:
            from reseller_sync.airflow.notices import notify, task_site
            from reseller_sync.boxoffice.db import session_scope
            from reseller_sync.domain.errors import ErrorCategory
            from reseller_sync.pipelines.prices import verify_prices as verify

            settings = _settings()
            with session_scope() as session:
                check = verify(session, settings, _today(settings))
            if check.findings:
                includes = settings.prices.includes_commission
                notify(
                    settings,
                    category=ErrorCategory.EXTERNAL,
                    kind="price_difference",
                    message=f"FNAC sells {len(check.findings)} performance/category/tariff "
                    "combination(s) at a price that is not the box office's.",
                    problems=[finding.to_problem(includes) for finding in check.findings],
                    site=task_site(get_current_context()),
                    hint="Check the prices with FNAC, or correct the box-office price.",
                )
            return check.summary()

        @task(
            trigger_rule=TriggerRule.ALL_DONE,
            doc_md="Send the places asked back (and unsold places close to their performance) "
            "in one DECONT. On a mapping error, fix the mapping and clear the task: the "
            "requests wait, nothing was sent.",
        )
        def send_withdrawals() -> dict[str, Any]:
            from reseller_sync.boxoffice.db import default_engine
            from reseller_sync.mappings.repository import load_repository
            from reseller_sync.pipelines.outbound import transport_for
            from reseller_sync.pipelines.withdrawal import send_withdrawals as send

            settings = _settings()
            return send(
                default_engine(), transport_for(settings), settings, load_repository()
            ).summary()

        @task.sensor(
            mode="reschedule",
            poke_interval=ack_poke_interval.total_seconds(),
            timeout=ack_timeout.total_seconds(),
            doc_md="Wait (without holding a worker) for FNAC's ACK of each DECONT, and apply "
            "it: withdrawn places leave FNAC's quota. On timeout: FNAC has not answered; the "
            "next run waits again, or ask FNAC.",
        )
        def await_withdrawal_acks(sent: dict[str, Any]) -> PokeReturnValue:
            from reseller_sync.boxoffice.db import session_scope
            from reseller_sync.pipelines.outbound import transport_for
            from reseller_sync.pipelines.withdrawal import awaiting_decont, record_withdrawal_ack

            settings = _settings()
            transport = transport_for(settings)
            with session_scope() as session:
                waiting = awaiting_decont(session)
            for name in waiting:
                with session_scope() as session:
                    record_withdrawal_ack(session, transport, settings, name)
            with session_scope() as session:
                still = awaiting_decont(session)
            return PokeReturnValue(
                is_done=not still, xcom_value=sorted(set(sent["awaiting"]) | set(waiting))
            )

        @task(
            retries=0,
            doc_md="Alert on places FNAC sold (E07: they stay FNAC's); fail, by category, on "
            "any other refusal of a DECONT line.",
        )
        def report_withdrawals(answered: list[str]) -> list[dict[str, Any]]:
            from reseller_sync.airflow.notices import notify, task_site
            from reseller_sync.boxoffice.db import session_scope
            from reseller_sync.domain.errors import ErrorCategory
            from reseller_sync.pipelines.outbound import transport_for
            from reseller_sync.pipelines.withdrawal import record_withdrawal_ack

            settings = _settings()
            transport = transport_for(settings)
            answers = []
            for name in answered:
                with session_scope() as session:
                    answer = record_withdrawal_ack(session, transport, settings, name)
                if answer is not None:
                    answers.append(answer)
            for answer in answers:
                if answer.sold:
                    notify(
                        settings,
                        category=ErrorCategory.EXTERNAL,
                        kind="places_sold_not_withdrawn",
                        message=f"FNAC had sold {len(answer.sold)} of the places asked back "
                        "(E07): they stay in FNAC's quota. Nothing to do unless the sales are "
                        "missing from the box office (see the seat reconciliation).",
                        problems=answer.sold,
                        site=task_site(get_current_context()),
                        file_name=answer.file_name,
                    )
            errors = [answer.error for answer in answers if answer.error is not None]
            if errors:
                raise errors[0]
            return [answer.summary() for answer in answers]

        @task(doc_md="Write one CSV per performance of the barcodes allowed and refused.")
        def export_access_control() -> list[str]:
            from reseller_sync.boxoffice.db import session_scope
            from reseller_sync.pipelines.access_export import export_access_control as export

            with session_scope() as session:
                return list(export(session, _today(_settings())).files)

        @task(doc_md="E-mail yesterday's FNAC sales summary (HTML report with charts, attached).")
        def email_sales_summary() -> str:
            from reseller_sync.airflow.failures import send_html_mail
            from reseller_sync.boxoffice.db import session_scope
            from reseller_sync.pipelines.reconciliation import reports_dir
            from reseller_sync.pipelines.sales_summary import (
                build_sales_summary,
                render_sales_summary,
            )

            settings = _settings()
            day = _today(settings) - dt.timedelta(days=1)
            with session_scope() as session:
                summary = build_sales_summary(
                    session, settings, day, dashboard_url=_dashboard_url()
                )
            report = reports_dir() / "sales" / summary.file_name
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(render_sales_summary(summary), encoding="utf-8")
            sales = summary.sales
            totals = (
                ", ".join(
                    f"{amount / 100:.2f} {currency}"
                    for currency, amount in sorted(sales.amounts.items())
                )
                or "0"
            )
            body = (
                f"<p>FNAC sales of {day:%d/%m/%Y}: {sales.tickets} ticket(s) in "
                f"{sales.orders} order(s), {totals}. The report is attached.</p>"
            )
            send_html_mail(
                settings.notifications.error_emails,
                f"[FNAC] Ventes du {day:%d/%m/%Y}",
                body,
                attachments=[str(report)],
            )
            return summary.file_name

        landing = land_files()
        reconciled = reconcile_seats()
        sent = send_withdrawals()
        acknowledged = await_withdrawal_acks(sent)
        landing >> reconciled >> sent
        landing >> verify_prices()
        report_withdrawals(acknowledged)
        landing >> export_access_control()
        landing >> email_sales_summary()
    return dag


def _dashboard_url() -> str | None:
    from airflow.configuration import conf

    base = conf.get("api", "base_url", fallback=None)
    return f"{base.rstrip('/')}/plugin/fnac" if base else None
