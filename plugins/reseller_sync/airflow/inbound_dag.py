"""The ``<code>_inbound`` DAG of a file reseller, run at its type's rhythm (hourly, or every
15 minutes): its files in, in order, one file at a time.

The builder takes a reseller type: one task lands the partner's files, then
one task per inbound stream the type declares integrates that stream's files
in order (``integrate_<role>``), each waiting for the previous run's (the
cascade guard). What each stream means is the adapter's
(its ``inbound_exchange()``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import pendulum
from airflow.sdk import DAG, TriggerRule, get_current_context, task

from reseller_sync.airflow.failures import task_defaults
from reseller_sync.core.resellers import InboundStream, ResellerType, StreamRole, adapter

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from reseller_sync.alerts.compose import Notice

STREAM_DOCS: dict[StreamRole, str] = {
    StreamRole.CUSTOMER_CATEGORIES: "Integrate {name}'s list of its categories; alert on an "
    "active one that no tariff stands for.",
    StreamRole.SALES: "Integrate {name}'s sales ({stream}), file by file in sequence order, each "
    "in one transaction.",
    StreamRole.CANCELLATIONS: "Integrate {name}'s cancellations and refunds ({stream}) in "
    "sequence order, after every sale before them.",
    StreamRole.TICKET_STATES: "Apply {name}'s ticket states ({stream}) in file order, each "
    "allowed transition once.",
}


class StreamOutcome(Protocol):
    summary: dict[str, Any]
    notices: Sequence[Notice]


class InboundExchangeSteps(Protocol):
    """What an adapter's ``inbound_exchange()`` provides."""

    DOC: str

    def land_new_files(self, settings: Any) -> dict[str, Any]: ...
    def integrate_stream(self, settings: Any, stream: str) -> StreamOutcome: ...
    def watch_for_late_files(self, session: Session, settings: Any, now: dt.datetime) -> None: ...
    def report_refused_files(self, not_downloaded: Sequence[str]) -> None: ...


def _exchange(code: str) -> InboundExchangeSteps:
    steps: InboundExchangeSteps = adapter(code).inbound_exchange()
    return steps


def build_inbound_dag(reseller: ResellerType) -> DAG:
    code, name = reseller.code, reseller.name
    rhythm = reseller.inbound_rhythm
    module = adapter(code)

    def settings() -> Any:
        return module.load_settings()

    with DAG(
        dag_id=reseller.dag_id("inbound"),
        description=f"{rhythm.words.capitalize()}: land {name}'s files, integrate "
        + ", ".join(stream.code for stream in reseller.streams),
        schedule=rhythm.schedule,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        tags=[code, rhythm.tag],
        default_args=task_defaults(code),
        doc_md=_exchange(code).DOC,
    ) as dag:

        @task(doc_md=f"Download every new file of {name}'s folder into the exchange journal.")
        def land_files() -> dict[str, Any]:
            return _exchange(code).land_new_files(settings())

        @task(
            trigger_rule=TriggerRule.ALL_DONE,
            retries=0,
            doc_md=f"Raise '{name} files late' when sales stop or a gap stays open.",
        )
        def watch_for_late_files() -> None:
            """Judged by the wall clock, not by the run's data interval, on purpose.

            A watchdog asks "is anything late now?" of the journal as it is now: the
            alert is for a person to act on at once. Judged at a past run's time, a
            re-run or a late run would compare today's journal with an old hour and
            raise a false alarm (files that came since count as missing) or miss a
            silence that has lasted until now.
            """
            from reseller_sync.boxoffice.db import session_scope

            with session_scope() as session:
                _exchange(code).watch_for_late_files(session, settings(), dt.datetime.now(dt.UTC))

        @task(
            retries=0,
            doc_md="Fail, with the list, when files on the server were not downloaded or "
            "were refused for a reused sequence.",
        )
        def report_refused_files(landing: dict[str, Any]) -> None:
            _exchange(code).report_refused_files(landing["refused"])

        landing = land_files()
        previous: Any = landing
        for stream in reseller.streams:
            integration = _integration_task(code, name, stream)()
            previous >> integration
            previous = integration
        landing >> report_refused_files(landing)
        # Beside the chain, not after it: a failed integration must fail the run.
        landing >> watch_for_late_files()
    return dag


def _integration_task(code: str, name: str, stream: InboundStream) -> Any:
    """The task integrating ``stream``: it waits for the previous run's (the cascade
    guard) and raises the notices its files bring."""

    @task(
        task_id=stream.task_id,
        depends_on_past=True,
        doc_md=STREAM_DOCS[stream.role].format(name=name, stream=stream.code),
    )
    def integrate() -> dict[str, Any]:
        from reseller_sync.airflow.notices import raise_notices

        current = adapter(code).load_settings()
        outcome = _exchange(code).integrate_stream(current, stream.code)
        raise_notices(current, outcome.notices, get_current_context())
        return outcome.summary

    return integrate
