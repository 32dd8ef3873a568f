"""Bring the box-office schema up to date (after a package upgrade, on PostgreSQL)."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

DOC = """
### Box-office schema upgrade

Applies the box office's database migrations up to the newest one, on the
database that the connection `boxoffice_db` (or `BOXOFFICE_DB_URL`) names, or
on the embedded SQLite file when neither is set.

**When**: once after each upgrade of this package, before the FNAC DAGs run.
**If it fails**: a technical error. Nothing is half-applied on PostgreSQL
(each migration runs in a transaction); send the task log to support.
"""


@dag(
    dag_id="boxoffice_migrate",
    description="Apply the box office's database migrations up to the newest one",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["boxoffice", "maintenance"],
    default_args={"owner": "data-ops", "retries": 0},
    doc_md=DOC,
)
def boxoffice_migrate() -> None:
    @task(doc_md="Run the Alembic migrations to `head`; returns the revision now in place.")
    def upgrade_schema() -> str | None:
        from reseller_sync.boxoffice import migrate

        migrate.upgrade()
        return migrate.current_revision()

    upgrade_schema()


boxoffice_migrate()
