"""The hold expiry sweep of the real-time reseller service, every minute: the counts, and
an alert when a reseller's holds pile up (``reseller_sync.realtime.sweep_job``)."""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import dag, task

from reseller_sync.airflow.failures import FailureAlertNotifier
from reseller_sync.realtime.sweep_job import DAG_ID, realtime_instances

DOC = """
### Hold expiry sweep (real-time resellers)

Every minute, counts the holds past their `expires_at` as expired and gives
back the seats they claimed, logs how many expired and how many are active
(per reseller), and tells a reseller's addresses when its active holds exceed
`limits.active_holds_alert` in its settings (at most once an hour while it
lasts). Expiry itself never waits for this sweep: the service treats a hold
past `expires_at` as expired at once. It also forgets the service's
idempotency keys 24 hours after their first response, as the contract says.

**If it fails**: a technical error (the box office could not be reached);
the next minute's run tries again.
"""


@dag(
    dag_id=DAG_ID,
    description="Count the expired holds of the real-time service; alert when holds pile up",
    schedule="* * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=dt.timedelta(minutes=5),
    tags=["realtime", "sweep"],
    default_args={
        "owner": "data-ops",
        "retries": 0,  # the next minute's run is the retry
        "on_failure_callback": [FailureAlertNotifier(code) for code in realtime_instances()],
    },
    doc_md=DOC,
)
def realtime_hold_sweep() -> None:
    @task(doc_md="Sweep the expired holds; log the counts; alert when holds pile up.")
    def sweep_expired_holds(**context: object) -> dict[str, object]:
        from reseller_sync.realtime.sweep_job import sweep_holds

        return sweep_holds(context)

    sweep_expired_holds()


realtime_hold_sweep()
