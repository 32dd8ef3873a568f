"""The nightly DAG's wait for a reseller's answer to each file of places asked back,
deferred to the triggerer, whatever the reseller.

Each answer is applied as it comes (the adapter's :class:`WithdrawalAnswers`): the places
the reseller gave back leave its quota, those it sold stay its own. The task returns the
files it saw answered, for ``report_withdrawals``. Until the reseller answers, the places
are its own: on timeout the task fails, external, naming what is still unanswered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from airflow.sdk.definitions.xcom_arg import XComArg

from reseller_sync.airflow.waiting import PartnerWait, Wait
from reseller_sync.domain.errors import ExternalError
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange.watch import Wanted, WatchOutcome

SILENCE_ACTION = Localized(
    fr="Tant que {reseller} n'a pas répondu, les places demandées restent les siennes : ne les "
    "vendez nulle part ailleurs. La prochaine exécution attend de nouveau ; si {reseller} reste "
    "muet, appelez-le avec le nom du fichier.",
    en="Until {reseller} answers, the places asked back stay its own: sell them nowhere else. "
    "The next nightly run waits again; if {reseller} stays silent, call it with the file name.",
)


class WithdrawalAnswers(Protocol):
    """A reseller's answers to its files of places asked back, as the wait needs them."""

    @property
    def reseller_name(self) -> str: ...

    def settings(self) -> Any:
        """The instance's settings (its SFTP folders, for the trigger)."""
        ...

    def awaiting(self) -> tuple[str, ...]:
        """The files of requests sent whose answer is not applied yet, in order."""
        ...

    def apply(self, sent: str) -> None:
        """The reseller's answer to ``sent`` applied, once, if it is there."""
        ...

    def answer_name(self, sent: str) -> str:
        """The name of the reseller's answer to ``sent``."""
        ...

    def answered(self, answer: str) -> str:
        """The file sent that ``answer`` answers."""
        ...


class AwaitWithdrawalAcks(PartnerWait):
    """Apply the reseller's answer to every file of requests awaiting one; defer until each
    has come. ``sent`` is ``send_withdrawals``' summary (its ``awaiting`` files), from XCom.
    """

    template_fields = ("sent",)

    def __init__(
        self,
        *,
        answers: WithdrawalAnswers,
        sent: Any,
        ack_timeout: dt.timedelta,
        poll_seconds: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.answers = answers
        self.sent = sent
        self.ack_timeout = ack_timeout
        self.poll_seconds = poll_seconds

    def start(self, context: Any) -> list[str] | Wait:
        return self._apply_answers()

    def answered(self, context: Any, outcome: WatchOutcome) -> list[str] | Wait:
        waited = [self.answers.answered(name) for name in outcome.wanted.names]
        if outcome.timed_out:
            still = list(self.answers.awaiting()) or waited
            name = self.answers.reseller_name
            failed = (
                f" ({outcome.failed_looks} of {outcome.looks} looks at {name}'s server "
                f"failed, the last: {outcome.last_failure})"
                if outcome.failed_looks
                else ""
            )
            raise ExternalError(
                f"{name} sent no ACK of {', '.join(still)} by "
                f"{outcome.deadline:%Y-%m-%d %H:%M} UTC{failed}",
                file=still[0],
                action=SILENCE_ACTION,
            )
        return self._apply_answers(until=outcome.deadline, waited=waited)

    def _apply_answers(
        self, until: dt.datetime | None = None, waited: list[str] | None = None
    ) -> list[str] | Wait:
        waiting = self.answers.awaiting()
        for name in waiting:
            self.answers.apply(name)
        if still := self.answers.awaiting():
            return Wait.in_inbox(
                self.answers.settings(),
                Wanted(names=tuple(self.answers.answer_name(name) for name in still)),
                within=self.ack_timeout,
                until=until,
            )
        return sorted(set(self.sent["awaiting"]) | set(waiting) | set(waited or ()))


def await_withdrawal_acks(
    answers: WithdrawalAnswers,
    sent: XComArg,
    poll_interval: dt.timedelta,
    ack_timeout: dt.timedelta,
    *,
    doc_md: str,
) -> XComArg:
    """The task (id ``await_withdrawal_acks``) in the DAG being built; its output."""
    return AwaitWithdrawalAcks(
        task_id="await_withdrawal_acks",
        answers=answers,
        sent=sent,
        ack_timeout=ack_timeout,
        poll_seconds=poll_interval.total_seconds(),
        doc_md=doc_md,
    ).output
