"""Alerts raised by a task that succeeds: new FNAC categories, prices that differ (policy warn).

They go through the same record-then-mail path as failure alerts, to the
configured addresses, in the configured language.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reseller_sync.airflow.failures import smtp_sender
from reseller_sync.alerts.compose import TaskSite, compose_alert
from reseller_sync.alerts.deliver import deliver_alert
from reseller_sync.config.settings import FnacSettings
from reseller_sync.domain.errors import ErrorCategory, Problem


def task_site(context: Any) -> TaskSite:
    ti = context["ti"]
    return TaskSite(
        dag_id=ti.dag_id,
        task_id=ti.task_id,
        run_id=ti.run_id,
        try_number=ti.try_number,
        log_url=getattr(ti, "log_url", None),
    )


def notify(
    settings: FnacSettings,
    *,
    category: ErrorCategory,
    kind: str,
    message: str,
    problems: Sequence[Problem],
    site: TaskSite | None,
    file_name: str | None = None,
    hint: str | None = None,
) -> None:
    """Record and e-mail an alert that does not fail the task."""
    notifications = settings.notifications
    alert = compose_alert(
        category=category,
        kind=kind,
        title=f"{site.dag_id}.{site.task_id}" if site else kind,
        message=message,
        language=notifications.language.value,
        problems=problems,
        file_name=file_name,
        site=site,
        hint=hint,
    )
    deliver_alert(alert, notifications.error_emails, smtp_sender())
