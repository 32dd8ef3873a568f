"""The one place where errors become Airflow behaviour: retry or fail, and e-mail.

- Retry policy: a ``TemporaryExternalError`` (network, partner down) or a
  dropped database connection retries with exponential backoff; every other
  error (mapping, permanent external, technical) fails at once, because
  retrying cannot fix it: a person must act.
- Failure notifier: once a task has failed for good, the configured addresses
  get an e-mail sorted by category, saying what happened and what to do. It
  goes out through the one notifier, :mod:`reseller_sync.airflow.notifier`.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from airflow.sdk import BaseNotifier
from airflow.sdk.definitions.retry_policy import ExceptionRetryPolicy, RetryAction, RetryRule

from reseller_sync.airflow.notifier import (
    SMTP_CONNECTION_ID,
    raise_alert,
    send_html_mail,
    smtp_sender,
)
from reseller_sync.alerts.compose import TaskSite, task_failure_alert
from reseller_sync.domain.errors import TemporaryExternalError

__all__ = [
    "RETRY_POLICY",
    "SMTP_CONNECTION_ID",
    "FailureAlertNotifier",
    "send_html_mail",
    "smtp_sender",
    "task_defaults",
]
"""``send_html_mail`` and ``smtp_sender`` live in the notifier; kept importable from here."""

log = logging.getLogger(__name__)

RETRY_POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception=TemporaryExternalError,
            action=RetryAction.RETRY,
            reason="external and temporary: retrying with backoff",
        ),
        RetryRule(
            exception="sqlalchemy.exc.OperationalError",
            action=RetryAction.RETRY,
            reason="the database connection failed: retrying",
        ),
    ],
    default=RetryAction.FAIL,
)


class FailureAlertNotifier(BaseNotifier):
    """``on_failure_callback`` of every task: records and e-mails a categorised alert to
    the reseller instance's addresses, in its language."""

    def __init__(self, reseller: str, smtp_conn_id: str = SMTP_CONNECTION_ID) -> None:
        super().__init__()
        self.reseller = reseller
        self.smtp_conn_id = smtp_conn_id

    def notify(self, context: Any) -> None:
        from reseller_sync.core.resellers import adapter

        error = context.get("exception") or RuntimeError("the task failed without an exception")
        ti = context["ti"]
        site = TaskSite(
            dag_id=ti.dag_id,
            task_id=ti.task_id,
            run_id=ti.run_id,
            try_number=ti.try_number,
            log_url=getattr(ti, "log_url", None),
        )
        try:
            settings = adapter(self.reseller).load_settings()
            message = task_failure_alert(
                error,
                site,
                settings.notifications.language.value,
                settings.display_name,
            )
            raise_alert(message, settings, self.smtp_conn_id)
        except Exception:
            log.exception("Could not raise the failure alert of %s.%s", site.dag_id, site.task_id)


def task_defaults(reseller: str, owner: str = "data-ops") -> dict[str, Any]:
    """``default_args`` shared by every reseller's DAGs; failures alert ``reseller``'s
    instance addresses."""
    return {
        "owner": owner,
        "retries": 4,
        "retry_delay": dt.timedelta(minutes=1),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": dt.timedelta(minutes=30),
        "retry_policy": RETRY_POLICY,
        "on_failure_callback": FailureAlertNotifier(reseller),
    }
