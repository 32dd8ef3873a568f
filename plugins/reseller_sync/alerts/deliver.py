"""Record an alert in the box office, then e-mail it.

The record comes first: when the SMTP server is down, the alert is still
kept (``delivered`` false, with the reason), logged, and shown in the UI.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy import Engine

from reseller_sync.alerts.compose import AlertMessage
from reseller_sync.boxoffice.db import session_scope
from reseller_sync.boxoffice.models import Alert

log = logging.getLogger(__name__)

SendMail = Callable[[AlertMessage, Sequence[str]], None]
"""Sends one message to the recipients; raises when it could not."""


def deliver_alert(
    message: AlertMessage,
    recipients: Sequence[str],
    send: SendMail,
    engine: Engine | None = None,
) -> Alert:
    """Keep the alert, try to send it, and record whether it went out. Never raises for SMTP."""
    site = message.site
    with session_scope(engine) as session:
        alert = Alert(
            category=message.category.value,
            kind=message.kind,
            subject=message.subject[:300],
            body=message.text,
            recipients=", ".join(recipients),
            dag_id=site.dag_id if site else None,
            task_id=site.task_id if site else None,
            run_id=site.run_id if site else None,
            file_name=message.file_name,
            delivered=False,
        )
        session.add(alert)
    delivery_error: str | None
    try:
        if not recipients:
            raise ValueError("no recipient configured (notifications.error_emails)")
        send(message, recipients)
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"
        log.error("Alert %s not e-mailed (%s): %s", alert.id, reason, message.subject)
        delivered, delivery_error = False, reason[:2000]
    else:
        log.info(
            "Alert %s e-mailed to %d recipient(s): %s", alert.id, len(recipients), message.subject
        )
        delivered, delivery_error = True, None
    with session_scope(engine) as session:
        stored = session.get_one(Alert, alert.id)
        stored.delivered, stored.delivery_error = delivered, delivery_error
    alert.delivered, alert.delivery_error = delivered, delivery_error
    return alert
