"""The nightly DAG's wait for FNAC's ACK of each DECONT, deferred to the triggerer.

Each ACK is applied as it comes (``record_withdrawal_ack``): withdrawn places
leave FNAC's quota, places FNAC sold (E07) stay FNAC's. The task returns the
DECONT files it saw answered, for ``report_withdrawals``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk.definitions.xcom_arg import XComArg

from reseller_sync.airflow.waiting import PartnerWait, Wait
from reseller_sync.domain.errors import ExternalError
from reseller_sync.exchange.watch import Wanted, WatchOutcome


class AwaitWithdrawalAcks(PartnerWait):
    """Apply FNAC's ACK of every DECONT awaiting one; defer until each has come.

    ``sent`` is ``send_withdrawals``' summary (its ``awaiting`` files), from XCom.
    """

    template_fields = ("sent",)

    def __init__(
        self,
        *,
        sent: Any,
        ack_timeout: dt.timedelta,
        poll_seconds: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sent = sent
        self.ack_timeout = ack_timeout
        self.poll_seconds = poll_seconds

    def start(self, context: Any) -> list[str] | Wait:
        return self._apply_answers()

    def answered(self, context: Any, outcome: WatchOutcome) -> list[str] | Wait:
        from reseller_sync.fnac.names import FileName

        waited = [str(FileName.parse(name).answered) for name in outcome.wanted.names]
        if outcome.timed_out:
            still = self._awaiting()
            raise ExternalError(
                f"FNAC sent no ACK of {', '.join(still or waited)} by "
                f"{outcome.deadline:%Y-%m-%d %H:%M} UTC"
                + (
                    f" ({outcome.failed_looks} of {outcome.looks} looks at FNAC's server "
                    f"failed, the last: {outcome.last_failure})"
                    if outcome.failed_looks
                    else ""
                ),
                file=(still or waited)[0],
                action="Until FNAC answers, the places asked back stay FNAC's: sell them "
                "nowhere else. The next nightly run waits again; if FNAC stays silent, call "
                "FNAC with the file name.",
            )
        return self._apply_answers(until=outcome.deadline, waited=waited)

    def _apply_answers(
        self, until: dt.datetime | None = None, waited: list[str] | None = None
    ) -> list[str] | Wait:
        from reseller_sync.boxoffice.db import session_scope
        from reseller_sync.fnac.names import ack_name
        from reseller_sync.fnac.outbound import transport_for
        from reseller_sync.fnac.settings import load_settings
        from reseller_sync.fnac.withdrawal import record_withdrawal_ack

        settings = load_settings()
        transport = transport_for(settings)
        waiting = self._awaiting()
        for name in waiting:
            with session_scope() as session:
                record_withdrawal_ack(session, transport, settings, name)
        if still := self._awaiting():
            return Wait.in_inbox(
                settings,
                Wanted(names=tuple(str(ack_name(name)) for name in still)),
                within=self.ack_timeout,
                until=until,
            )
        return sorted(set(self.sent["awaiting"]) | set(waiting) | set(waited or ()))

    @staticmethod
    def _awaiting() -> tuple[str, ...]:
        from reseller_sync.boxoffice.db import session_scope
        from reseller_sync.fnac.withdrawal import awaiting_decont

        with session_scope() as session:
            return awaiting_decont(session)


def await_withdrawal_acks(
    sent: XComArg, poll_interval: dt.timedelta, ack_timeout: dt.timedelta
) -> XComArg:
    """The task (id ``await_withdrawal_acks``) in the DAG being built; its output."""
    return AwaitWithdrawalAcks(
        task_id="await_withdrawal_acks",
        sent=sent,
        ack_timeout=ack_timeout,
        poll_seconds=poll_interval.total_seconds(),
        doc_md="Wait in the triggerer (no worker held) for FNAC's ACK of each DECONT, and "
        "apply it: withdrawn places leave FNAC's quota. On timeout: FNAC has not answered; "
        "the next run waits again, or call FNAC.",
    ).output
