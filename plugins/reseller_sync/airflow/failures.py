"""The one place where errors become Airflow behaviour: retry or fail, and e-mail.

- Retry policy: a ``TemporaryExternalError`` (network, partner down) or a
  dropped database connection retries with exponential backoff; every other
  error (mapping, permanent external, technical) fails at once, because
  retrying cannot fix it: a person must act.
- Failure notifier: once a task has failed for good, the configured addresses
  get an e-mail sorted by category, saying what happened and what to do.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseNotifier
from airflow.sdk.definitions.retry_policy import ExceptionRetryPolicy, RetryAction, RetryRule

from reseller_sync.alerts.compose import AlertMessage, TaskSite, task_failure_alert
from reseller_sync.alerts.deliver import SendMail, deliver_alert
from reseller_sync.domain.errors import TemporaryExternalError

log = logging.getLogger(__name__)

SMTP_CONNECTION_ID = "smtp_default"

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


def send_html_mail(
    recipients: Sequence[str],
    subject: str,
    html: str,
    connection_id: str = SMTP_CONNECTION_ID,
    *,
    attachments: Sequence[str] = (),
) -> None:
    """Send through Airflow's SMTP connection (host, port, ``from_email`` in the connection)."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=connection_id) as hook:
        hook.send_email_smtp(
            to=list(recipients), subject=subject, html_content=html, files=list(attachments) or None
        )


def smtp_sender(connection_id: str = SMTP_CONNECTION_ID) -> SendMail:
    """A sender of alert messages through the SMTP connection."""

    def send(message: AlertMessage, recipients: Sequence[str]) -> None:
        send_html_mail(recipients, message.subject, message.html, connection_id)

    return send


class FailureAlertNotifier(BaseNotifier):
    """``on_failure_callback`` of every task: records and e-mails a categorised alert."""

    def __init__(self, smtp_conn_id: str = SMTP_CONNECTION_ID) -> None:
        super().__init__()
        self.smtp_conn_id = smtp_conn_id

    def notify(self, context: Any) -> None:
        from reseller_sync.config.settings import load_settings

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
            notifications = load_settings().notifications
            message = task_failure_alert(error, site, notifications.language.value)
            deliver_alert(message, notifications.error_emails, smtp_sender(self.smtp_conn_id))
        except Exception:
            log.exception("Could not raise the failure alert of %s.%s", site.dag_id, site.task_id)


def task_defaults(owner: str = "data-ops") -> dict[str, Any]:
    """``default_args`` shared by every FNAC DAG."""
    return {
        "owner": owner,
        "retries": 4,
        "retry_delay": dt.timedelta(minutes=1),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": dt.timedelta(minutes=30),
        "retry_policy": RETRY_POLICY,
        "on_failure_callback": FailureAlertNotifier(),
    }
