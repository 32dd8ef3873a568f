"""The nightly ``<code>_nightly`` DAG of a file reseller: what the reseller holds
reconciled, prices verified, places taken back, access control exported, the day's
sales e-mailed.

The builder takes a reseller type: which steps the DAG has follows the type's
``nightly`` capabilities, and each step's exchange with the partner is the
adapter's (its ``nightly_exchange()``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

import pendulum
from airflow.sdk import (
    DAG,
    CronTriggerTimetable,
    TriggerRule,
    get_current_context,
    task,
)

from reseller_sync.airflow.failures import task_defaults
from reseller_sync.core.resellers import NightlyExchange, ResellerType, adapter
from reseller_sync.domain.texts import Localized

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk.definitions.xcom_arg import XComArg
    from sqlalchemy.orm import Session

SCHEDULE = "0 3 * * *"
"""03:00 in the venue's time zone: after the partners' night files (around 02:00), and an
hour that exists once on both nights the clocks change."""
ACK_POKE_INTERVAL = dt.timedelta(minutes=5)
ACK_TIMEOUT = dt.timedelta(hours=2)
"""Partners answer within minutes; past this, the wait fails."""


class NightlyExchangeSteps(Protocol):
    """What an adapter's ``nightly_exchange()`` provides, per capability it declares."""

    DOC: str

    def land_new_files(self, settings: Any) -> dict[str, Any]: ...
    def reconcile_inventory(self, settings: Any) -> Sequence[Any]: ...
    def verify_prices(self, session: Session, settings: Any, today: dt.date) -> Any: ...
    def send_withdrawals(self, settings: Any) -> dict[str, Any]: ...
    def await_withdrawal_answers(
        self, sent: XComArg, poll_interval: dt.timedelta, timeout: dt.timedelta
    ) -> XComArg: ...
    def withdrawal_answers(self, settings: Any, answered: Sequence[str]) -> list[Any]: ...


def _exchange(code: str) -> NightlyExchangeSteps:
    steps: NightlyExchangeSteps = adapter(code).nightly_exchange()
    return steps


@dataclass(frozen=True)
class NightDates:
    """The dates a nightly run stands for."""

    today: dt.date
    """The venue-local date of the run's data interval end (the night it ran for):
    prices and access control are checked for performances not past it."""

    @property
    def day(self) -> dt.date:
        """The day the run reports on, the day before ``today``: the sales summary's day."""
        return self.today - dt.timedelta(days=1)


def night_dates(interval_end: dt.datetime, timezone: str) -> NightDates:
    """The dates of the run whose data interval ends at ``interval_end`` (aware).

    Calendar arithmetic in the venue's time zone: on the nights the clocks
    change (a 23- or 25-hour day) the run of 03:00 still reports the whole
    previous day.
    """
    if interval_end.tzinfo is None:
        raise ValueError(f"the data interval end {interval_end} has no time zone")
    return NightDates(interval_end.astimezone(ZoneInfo(timezone)).date())


def run_dates(context: Any, settings: Any) -> NightDates:
    """The dates of the running DAG run, from its data interval.

    A run triggered without a logical date has no data interval: it stands for
    the moment it was asked to run (``run_after``).
    """
    end = context.get("data_interval_end") or context["dag_run"].run_after
    return night_dates(end, settings.boxoffice.venue_timezone)


def build_nightly_dag(
    reseller: ResellerType,
    *,
    timezone: str | None = None,
    ack_poke_interval: dt.timedelta = ACK_POKE_INTERVAL,
    ack_timeout: dt.timedelta = ACK_TIMEOUT,
) -> DAG:
    """The nightly DAG of ``reseller``; the answer wait's timing can be shortened (tests).

    It runs at 03:00 in ``timezone`` (default: the settings'
    ``boxoffice.venue_timezone``); each run's data interval is the 24 hours
    before that, so its tasks judge the night they stand for, not the clock.
    """
    code, name = reseller.code, reseller.name
    module = adapter(code)

    def settings() -> Any:
        return module.load_settings()

    timezone = timezone or settings().boxoffice.venue_timezone
    with DAG(
        dag_id=reseller.dag_id("nightly"),
        description=f"Every night at {name}: what it holds reconciled, prices verified, "
        "places taken back, access control exported",
        schedule=CronTriggerTimetable(SCHEDULE, timezone=timezone, interval=dt.timedelta(days=1)),
        start_date=pendulum.datetime(2026, 1, 1, tz=timezone),
        catchup=False,
        max_active_runs=1,
        tags=[code, "nightly"],
        default_args=task_defaults(code),
        doc_md=_exchange(code).DOC,
    ) as dag:

        @task(doc_md=f"Download every new file of {name}'s folder into the journal.")
        def land_files() -> dict[str, Any]:
            return _exchange(code).land_new_files(settings())

        @task(
            doc_md=f"Compare {name}'s report of the places it holds with the box office; alert "
            "'seat lists differ' with the report. On failure: a mapping error names the value "
            "to map; clear the task once fixed."
        )
        def reconcile_seats() -> list[dict[str, Any]]:
            from reseller_sync.airflow.notices import notify, task_site
            from reseller_sync.config.paths import reports_dir
            from reseller_sync.domain.errors import ErrorCategory

            current = settings()
            results = _exchange(code).reconcile_inventory(current)
            for result in results:
                if result.differences and result.report:
                    report = reports_dir() / result.report
                    counts = ", ".join(f"{k} {n}" for k, n in result.counts.items())
                    places = len(result.differences)
                    notify(
                        current,
                        category=ErrorCategory.EXTERNAL,
                        kind="seat_lists_differ",
                        message=Localized(
                            fr="Les listes de places diffèrent : l'état du contingent de "
                            f"{{reseller}} et la billetterie ne concordent pas sur {places} "
                            f"place(s) ({counts}). Rapport : {report}",
                            en="Seat lists differ: {reseller}'s allotment state and the box "
                            f"office disagree on {places} place(s) ({counts}). Report: {report}",
                        ),
                        problems=result.problems(),
                        site=task_site(get_current_context()),
                        file_name=result.file_name,
                    )
            return [result.summary() for result in results]

        @task(doc_md=f"Compare {name}'s latest sale prices with the box office's; alert on any.")
        def verify_prices() -> dict[str, Any]:
            from reseller_sync.airflow.notices import notify, task_site
            from reseller_sync.boxoffice.db import session_scope
            from reseller_sync.domain.errors import ErrorCategory

            current = settings()
            context = get_current_context()
            with session_scope() as session:
                check = _exchange(code).verify_prices(
                    session, current, run_dates(context, current).today
                )
            if check.findings:
                includes = current.prices.includes_commission
                found = len(check.findings)
                notify(
                    current,
                    category=ErrorCategory.EXTERNAL,
                    kind="price_check",
                    message=Localized(
                        fr=f"{{reseller}} vend {found} combinaison(s) séance/catégorie/tarif à "
                        "un prix qui n'est pas celui de la billetterie.",
                        en=f"{{reseller}} sells {found} performance/category/tariff "
                        "combination(s) at a price that is not the box office's.",
                    ),
                    problems=[finding.to_problem(includes) for finding in check.findings],
                    site=task_site(context),
                )
            return check.summary()

        @task(
            trigger_rule=TriggerRule.ALL_DONE,
            doc_md=f"Send the places asked back from {name} (and its unsold places close to "
            "their performance) in one file. On a mapping error, fix the mapping and clear the "
            "task: the requests wait, nothing was sent.",
        )
        def send_withdrawals() -> dict[str, Any]:
            """Acts on the present, not on the run's night: the file goes out now, and the
            unsold places asked back are those of performances starting within N days of
            now (a re-run of a past night must not ask back places of performances that
            are over since). Likewise the answers are applied as they arrive."""
            return _exchange(code).send_withdrawals(settings())

        @task(
            retries=0,
            doc_md=f"Alert on places {name} had sold (they stay its own); fail, by category, "
            "on any other refusal of a place asked back.",
        )
        def report_withdrawals(answered: list[str]) -> list[dict[str, Any]]:
            from reseller_sync.airflow.notices import notify, task_site
            from reseller_sync.domain.errors import ErrorCategory

            current = settings()
            answers = _exchange(code).withdrawal_answers(current, answered)
            for answer in answers:
                if answer.sold:
                    sold = len(answer.sold)
                    notify(
                        current,
                        category=ErrorCategory.EXTERNAL,
                        kind="places_sold_not_withdrawn",
                        message=Localized(
                            fr=f"{{reseller}} avait vendu {sold} des places demandées en retour "
                            "(son code de réponse est donné pour chacune) : elles restent dans "
                            "le contingent de {reseller}.",
                            en=f"{{reseller}} had sold {sold} of the places asked back (its "
                            "answer's code is given for each): they stay in {reseller}'s quota.",
                        ),
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

            today = run_dates(get_current_context(), settings()).today
            with session_scope() as session:
                return list(export(session, today).files)

        @task(
            doc_md="E-mail the sales summary of the day the run covers (the day before its "
            "data interval's end), the HTML report with charts attached."
        )
        def email_sales_summary() -> str:
            from reseller_sync.airflow.notifier import Attachment, send_mail
            from reseller_sync.boxoffice.db import session_scope
            from reseller_sync.config.paths import reports_dir
            from reseller_sync.pipelines.sales_summary import (
                sales_summary_mail,
                write_sales_summary,
            )

            current = settings()
            day = run_dates(get_current_context(), current).day
            with session_scope() as session:
                summary, report = write_sales_summary(
                    session,
                    code,
                    current,
                    day,
                    reports_dir() / "sales",
                    dashboard_url=_dashboard_url(code),
                )
            mail = sales_summary_mail(summary, current)
            send_mail(
                current.notifications.error_emails,
                mail.subject,
                text=mail.text,
                html=mail.html,
                attachments=[Attachment.from_path(report)],
            )
            return summary.file_name

        landing = land_files()
        before_withdrawals = landing
        if NightlyExchange.INVENTORY in reseller.nightly:
            before_withdrawals = landing >> reconcile_seats()
        if NightlyExchange.WITHDRAWAL in reseller.nightly:
            sent = send_withdrawals()
            before_withdrawals >> sent
            report_withdrawals(
                _exchange(code).await_withdrawal_answers(sent, ack_poke_interval, ack_timeout)
            )
        landing >> verify_prices()
        landing >> export_access_control()
        landing >> email_sales_summary()
    return dag


def _dashboard_url(code: str) -> str | None:
    from airflow.configuration import conf

    from reseller_sync.dashboard import dashboard_route

    base = conf.get("api", "base_url", fallback=None)
    return f"{base.rstrip('/')}{dashboard_route(code)}" if base else None
