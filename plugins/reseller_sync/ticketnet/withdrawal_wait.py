"""The nightly DAG's wait for Ticketnet's ACK of each batch of RELEASE records, deferred to
the triggerer (``ticketnet-exchange-v1`` sections 7.4 and 8.3).

Each ACK is applied as it comes (:func:`~reseller_sync.ticketnet.withdrawal.record_release_ack`):
released places leave Ticketnet's quota, sold ones (A05) stay its own. The task returns the
batches it saw answered, for ``report_withdrawals``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk.definitions.xcom_arg import XComArg

from reseller_sync.airflow.waiting import PartnerWait, Wait
from reseller_sync.domain.errors import ExternalError
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange.watch import Wanted, WatchOutcome

SILENCE_ACTION = Localized(
    fr="Tant que {reseller} n'a pas répondu, les places demandées restent les siennes : ne les "
    "vendez nulle part ailleurs. La prochaine exécution attend de nouveau ; si {reseller} reste "
    "muet, appelez-le avec le nom du lot.",
    en="Until {reseller} answers, the places asked back stay its own: sell them nowhere else. "
    "The next nightly run waits again; if {reseller} stays silent, call it with the batch name.",
)


class AwaitReleaseAcks(PartnerWait):
    """Apply Ticketnet's ACK of every batch of RELEASE records awaiting one; defer until each
    has come. ``sent`` is ``send_withdrawals``' summary (its ``awaiting`` batches), from XCom.
    """

    template_fields = ("sent",)

    def __init__(
        self, *, sent: Any, ack_timeout: dt.timedelta, poll_seconds: float, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.sent = sent
        self.ack_timeout = ack_timeout
        self.poll_seconds = poll_seconds

    def start(self, context: Any) -> list[str] | Wait:
        return self._apply_answers()

    def answered(self, context: Any, outcome: WatchOutcome) -> list[str] | Wait:
        from reseller_sync.ticketnet.outbound import answered_batch

        waited = [answered_batch(name) for name in outcome.wanted.names]
        if outcome.timed_out:
            still = list(self._awaiting()) or waited
            failed = (
                f" ({outcome.failed_looks} of {outcome.looks} looks at Ticketnet's server "
                f"failed, the last: {outcome.last_failure})"
                if outcome.failed_looks
                else ""
            )
            raise ExternalError(
                f"Ticketnet sent no ACK of {', '.join(still)} by "
                f"{outcome.deadline:%Y-%m-%d %H:%M} UTC{failed}",
                file=still[0],
                action=SILENCE_ACTION,
            )
        return self._apply_answers(until=outcome.deadline, waited=waited)

    def _apply_answers(
        self, until: dt.datetime | None = None, waited: list[str] | None = None
    ) -> list[str] | Wait:
        from reseller_sync.boxoffice.db import session_scope
        from reseller_sync.ticketnet.inbound import transport_for
        from reseller_sync.ticketnet.outbound import ack_name
        from reseller_sync.ticketnet.settings import load_settings
        from reseller_sync.ticketnet.withdrawal import record_release_ack

        settings = load_settings()
        transport = transport_for(settings)
        waiting = self._awaiting()
        for name in waiting:
            with session_scope() as session:
                record_release_ack(session, transport, name)
        if still := self._awaiting():
            return Wait.in_inbox(
                settings,
                Wanted(names=tuple(ack_name(name) for name in still)),
                within=self.ack_timeout,
                until=until,
            )
        return sorted(set(self.sent["awaiting"]) | set(waiting) | set(waited or ()))

    @staticmethod
    def _awaiting() -> tuple[str, ...]:
        from reseller_sync.boxoffice.db import session_scope
        from reseller_sync.ticketnet.settings import load_settings
        from reseller_sync.ticketnet.withdrawal import awaiting_release

        with session_scope() as session:
            return awaiting_release(session, load_settings())


def await_release_acks(
    sent: XComArg, poll_interval: dt.timedelta, ack_timeout: dt.timedelta
) -> XComArg:
    """The task (id ``await_withdrawal_acks``) in the DAG being built; its output."""
    return AwaitReleaseAcks(
        task_id="await_withdrawal_acks",
        sent=sent,
        ack_timeout=ack_timeout,
        poll_seconds=poll_interval.total_seconds(),
        doc_md="Wait in the triggerer (no worker held) for Ticketnet's ACK of each batch of "
        "RELEASE records, and apply it: released places leave Ticketnet's quota. On timeout: "
        "Ticketnet has not answered; the next run waits again, or call Ticketnet.",
    ).output
