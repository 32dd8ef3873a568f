"""Alerts raised by a task that succeeds (notices): a new customer category, prices or
seat lists that differ, places the reseller sold before their withdrawal.

Each notice carries its own action, by kind (``NOTICE_ACTIONS`` in
:mod:`reseller_sync.alerts.compose`), in the configured language: a task that
succeeded has nothing to retry, so the category's action for failures does not
apply. They go through the same record-then-mail path as failure alerts
(:mod:`reseller_sync.airflow.notifier`), to the configured addresses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reseller_sync.airflow.notifier import raise_alert
from reseller_sync.alerts.compose import NOTICE_ACTIONS, Notice, TaskSite, compose_alert
from reseller_sync.boxoffice.models import Alert
from reseller_sync.config.settings import InstanceSettings
from reseller_sync.domain.errors import ErrorCategory, Problem
from reseller_sync.domain.texts import Text


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
    settings: InstanceSettings,
    *,
    category: ErrorCategory,
    kind: str,
    message: Text,
    problems: Sequence[Problem],
    site: TaskSite | None,
    file_name: str | None = None,
    hint: Text | None = None,
    action: Text | None = None,
) -> Alert:
    """Record and e-mail an alert that does not fail the task.

    ``action`` defaults to the kind's own (``NOTICE_ACTIONS``); a kind that has
    none must be given one: a notice never falls back to the action for failures.
    """
    action = action if action is not None else NOTICE_ACTIONS.get(kind)
    if action is None:
        raise ValueError(f"notice {kind!r} has no action: add it to NOTICE_ACTIONS or pass one")
    alert = compose_alert(
        category=category,
        kind=kind,
        title=f"{site.dag_id}.{site.task_id}" if site else kind,
        message=message,
        language=settings.notifications.language.value,
        reseller=settings.display_name,
        problems=problems,
        file_name=file_name,
        site=site,
        action=action,
        hint=hint,
    )
    return raise_alert(alert, settings)


def raise_notices(settings: InstanceSettings, notices: Sequence[Notice], context: Any) -> None:
    """Record and e-mail each notice a step returned, from the task that ran it."""
    site = task_site(context) if notices else None
    for notice in notices:
        notify(
            settings,
            category=notice.category,
            kind=notice.kind,
            message=notice.message,
            problems=notice.problems,
            site=site,
            file_name=notice.file_name,
            hint=notice.hint,
            action=notice.action,
        )
