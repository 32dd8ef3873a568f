"""Operators that send, then wait for the partner's answer in the triggerer.

A task that sends a file to a partner and needs the partner's answer does both in one
task: :meth:`PartnerWait.start` sends (idempotent: the journal knows what was
sent) and returns either the step's result or a :class:`Wait` saying what
answer to watch for; the task then defers to
:class:`~reseller_sync.airflow.triggers.PartnerFileTrigger` and frees its
worker slot. When the trigger fires, the task resumes in
:meth:`PartnerWait.answered`, which lands and applies the answer with the
pipelines' plain functions, or returns a new :class:`Wait` (keeping the first
deadline) when what came was not for this task.

Why one task that sends then defers, rather than a sending task and a
deferrable sensor: a step stays one task in the UI (the onboarding has seven,
one per step), there is no operator more to build per DAG at parse time
(1,000 onboarding DAGs must parse in under 3 s), and a retry or a cleared
task goes through the same path: send (nothing if already sent), look once,
wait. What it costs: one task's log holds both halves (each says which), and
the two share the task's retries, which the retry policy spends only on
temporary failures. Deferring replaces the reschedule-mode sensors, which
Airflow 3.3.2 fails on a late executor event (apache/airflow#71172).

The deferral's own timeout is a safety net past the trigger's deadline: the
trigger reports the deadline itself, so that the task fails with a message
naming the file; Airflow's ``TaskDeferralTimeout`` only comes when no
triggerer ran the trigger (``airflow triggerer`` must run; ``airflow
standalone`` starts one).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any, NoReturn

from airflow.sdk import BaseOperator

from reseller_sync.exchange.watch import Wanted, WatchOutcome

POLL_SECONDS_VARIABLE = "RESELLER_SYNC_POKE_SECONDS"
"""Seconds between two looks for the partner's answer (ACK, TEST file); 60 unless set."""
DEFAULT_POLL_SECONDS = 60.0
SAFETY_MARGIN = dt.timedelta(minutes=10)
"""How long past the trigger's deadline Airflow waits before failing the deferral itself."""


def poll_seconds_from_environment() -> float:
    return float(os.environ.get(POLL_SECONDS_VARIABLE, DEFAULT_POLL_SECONDS))


@dataclass(frozen=True)
class Wait:
    """Not answered yet: what to watch for in the partner's folder, and until when."""

    wanted: Wanted
    conn_id: str
    folder: str
    deadline: dt.datetime
    """Aware; the trigger reports a timeout when it passes."""

    @classmethod
    def in_inbox(
        cls,
        settings: Any,
        wanted: Wanted,
        *,
        within: dt.timedelta | None = None,
        until: dt.datetime | None = None,
    ) -> Wait:
        """Watch the settings' incoming folder (``sftp.inbox_dir``) until ``until``, or for
        ``within`` from now."""
        if until is None:
            if within is None:
                raise ValueError("give within or until")
            until = dt.datetime.now(dt.UTC) + within
        return cls(wanted, settings.sftp.connection_id, settings.sftp.inbox_dir, until)


class PartnerWait(BaseOperator):
    """Run :meth:`start`, then, while it or :meth:`answered` returns a :class:`Wait`, defer.

    A ``BaseOperator``, not a ``BaseSensorOperator``: the waiting is the
    trigger's, so nothing of the sensor's poke loop would run, while its
    ``__init__`` would at parse time for every task. No ``__init__`` here
    either: Airflow wraps each operator ``__init__`` of a class hierarchy, and
    every wrapper costs at parse time.
    """

    poll_seconds: float = DEFAULT_POLL_SECONDS

    def start(self, context: Any) -> Any:
        """Send what the step sends; the step's result, or a :class:`Wait`."""
        raise NotImplementedError

    def answered(self, context: Any, outcome: WatchOutcome) -> Any:
        """The trigger fired: apply the answer; the step's result, or a new :class:`Wait`."""
        raise NotImplementedError

    def execute(self, context: Any) -> Any:
        return self.finish_or_defer(self.start(context))

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        outcome = WatchOutcome.from_payload(event)
        self.log.info(
            "The watch of %s ended: %s after %d look(s) (%d failed)%s",
            outcome.folder,
            outcome.status.value,
            outcome.looks,
            outcome.failed_looks,
            f": {', '.join(outcome.found)}" if outcome.found else "",
        )
        outcome.raise_for_failure()
        return self.finish_or_defer(self.answered(context, outcome))

    def finish_or_defer(self, result: Any) -> Any:
        if not isinstance(result, Wait):
            return result
        self.wait_for(result)

    def wait_for(self, wait: Wait) -> NoReturn:
        from reseller_sync.airflow.triggers import PartnerFileTrigger

        self.log.info(
            "Waiting in the triggerer for %s in %s, a look every %g s, until %s",
            wait.wanted.describe(),
            wait.folder,
            self.poll_seconds,
            wait.deadline.isoformat(timespec="seconds"),
        )
        trigger = PartnerFileTrigger.waiting_for(
            wait.wanted,
            conn_id=wait.conn_id,
            folder=wait.folder,
            deadline=wait.deadline,
            poll_seconds=self.poll_seconds,
        )
        remaining = max(wait.deadline - dt.datetime.now(dt.UTC), dt.timedelta(0))
        self.defer(
            trigger=trigger, method_name="execute_complete", timeout=remaining + SAFETY_MARGIN
        )
