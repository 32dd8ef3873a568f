"""The hourly ``fnac_inbound`` DAG: FNAC's files in, in order, one file at a time."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
from airflow.sdk import DAG, TriggerRule, get_current_context, task

from reseller_sync.airflow.failures import task_defaults

DAG_ID = "fnac_inbound"

DOC = """
### FNAC inbound, every hour

FNAC drops its files in `/retour/` on its SFTP server (a VENTES file every
hour at minute 5, ANNUL and CATCLI when it has some). This DAG, at minute 15:

1. **land_files**: downloads every new file into the exchange journal (bytes
   and checksum). The same bytes under another name are kept but set aside.
2. **integrate_customer_categories** (CATCLI): keeps FNAC's list; a new active
   category that no tariff stands for raises a *mapping* alert at once.
3. **integrate_sales** (VENTES): each file in sequence order, each in one
   transaction: orders paid on the pending account, tickets, access control.
4. **integrate_cancellations** (ANNUL): after every VENTES file; tickets
   cancelled, barcodes refused, refunds on the pending account.
5. **watch_for_late_files**: no VENTES for too long, or a sequence gap open
   for over an hour: *external* alert "FNAC files late".
6. **report_refused_files**: files on the server that were not downloaded
   (unsafe name, too large).

**When a task fails**, the e-mail says which file, which lines and what to do:
- *mapping error*: fix `include/mappings/` (or run `python -m reseller_sync
  mappings check`), then **Clear** the failed task: the stuck file and every
  file behind it are integrated, in order, each once.
- *external error*: the task retried already; check the file with FNAC.
- *technical error*: call support with the task's log.

A failed file stops the files of its type behind it, and the next runs wait
(one run at a time; the integration tasks depend on the previous run's).
Nothing is skipped, lost or integrated twice.
"""


def _settings() -> Any:
    from reseller_sync.config.settings import load_settings

    return load_settings()


def build_inbound_dag() -> DAG:
    with DAG(
        dag_id=DAG_ID,
        description="Every hour: land FNAC's files, integrate categories, sales, cancellations",
        schedule="15 * * * *",
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        tags=["fnac", "hourly"],
        default_args=task_defaults(),
        doc_md=DOC,
    ) as dag:

        @task(doc_md="Download every new file of `/retour/` into the exchange journal.")
        def land_files() -> dict[str, Any]:
            from reseller_sync.pipelines.inbound import land_new_files, transport_for

            return land_new_files(None, transport_for(_settings())).summary()

        @task(
            depends_on_past=True,
            doc_md="Integrate CATCLI files; alert on active categories mapped to no tariff.",
        )
        def integrate_customer_categories() -> dict[str, Any]:
            from reseller_sync.airflow.notices import notify, task_site
            from reseller_sync.domain.errors import ErrorCategory, Problem
            from reseller_sync.fnac.names import FileType
            from reseller_sync.mappings.repository import load_repository
            from reseller_sync.pipelines.inbound import integrate_pending

            settings = _settings()
            result = integrate_pending(None, settings, load_repository(), FileType.CATCLI)
            for file in result.files:
                unmapped = file.outcome.unmapped
                if not unmapped.ok:
                    notify(
                        settings,
                        category=ErrorCategory.MAPPING,
                        kind="new_customer_category",
                        message=f"FNAC has {len(unmapped.categories)} active customer "
                        "category(ies) that no tariff stands for: their sales cannot be "
                        "integrated until they are mapped.",
                        problems=[
                            Problem(f.reason, file=f.file, value=f.value) for f in unmapped.faults
                        ],
                        site=task_site(get_current_context()),
                        file_name=file.name,
                        hint=unmapped.faults[0].fix,
                    )
            return {"files": [f.name for f in result.files]}

        @task(depends_on_past=True, doc_md="Integrate VENTES files in sequence order.")
        def integrate_sales() -> dict[str, Any]:
            return _integrate_type("VENTES")

        @task(
            depends_on_past=True,
            doc_md="Integrate ANNUL files in sequence order, after every VENTES file.",
        )
        def integrate_cancellations() -> dict[str, Any]:
            return _integrate_type("ANNUL")

        @task(
            trigger_rule=TriggerRule.ALL_DONE,
            retries=0,
            doc_md="Raise 'FNAC files late' when VENTES stop or a gap stays open.",
        )
        def watch_for_late_files() -> None:
            from reseller_sync.boxoffice.db import session_scope
            from reseller_sync.pipelines.watchdog import check_files_late

            with session_scope() as session:
                check_files_late(session, _settings(), dt.datetime.now(dt.UTC))

        @task(retries=0, doc_md="Fail, with the list, when files on the server were refused.")
        def report_refused_files(landing: dict[str, Any]) -> None:
            from reseller_sync.domain.errors import ExternalError, Problem

            if landing["refused"]:
                raise ExternalError(
                    f"{len(landing['refused'])} file(s) on FNAC's server were not downloaded",
                    action="Ask FNAC to remove or replace the files below; the others were "
                    "integrated.",
                    problems=[Problem(refused) for refused in landing["refused"]],
                )

        landing = land_files()
        categories = integrate_customer_categories()
        sales = integrate_sales()
        cancellations = integrate_cancellations()
        landing >> categories >> sales >> cancellations
        landing >> report_refused_files(landing)
        # Beside the chain, not after it: a failed integration must fail the run.
        landing >> watch_for_late_files()
    return dag


def _integrate_type(file_type: str) -> dict[str, Any]:
    from reseller_sync.airflow.notices import notify, task_site
    from reseller_sync.domain.errors import ErrorCategory, Problem
    from reseller_sync.fnac.names import FileType
    from reseller_sync.mappings.repository import load_repository
    from reseller_sync.pipelines.inbound import integrate_pending

    settings = _settings()
    result = integrate_pending(None, settings, load_repository(), FileType(file_type))
    for file in result.files:
        differences = getattr(file.outcome, "price_differences", ())
        if differences:
            notify(
                settings,
                category=ErrorCategory.EXTERNAL,
                kind="price_difference",
                message=f"{len(differences)} ticket(s) integrated at FNAC's price, which differs "
                "from the box office's (price policy warn).",
                problems=[
                    Problem(
                        f"{d.product} {d.performance} {d.category} {d.tariff}: "
                        f"box office {d.expected}, FNAC {d.received} {d.currency}",
                        file=file.name,
                        line=d.line,
                        column="prix_ttc",
                    )
                    for d in differences
                ],
                site=task_site(get_current_context()),
                file_name=file.name,
            )
    return {
        "files": [f.name for f in result.files],
        "lines": sum(f.lines for f in result.files),
        "missing_sequences": list(result.missing),
        "waiting_for": result.waiting_for,
    }
