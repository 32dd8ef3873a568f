"""FNAC's answers to its DECONT files, for the nightly DAG's deferred wait
(:mod:`reseller_sync.airflow.withdrawal_wait`): each ACK is applied as it comes
(``record_withdrawal_ack``): withdrawn places leave FNAC's quota, places FNAC sold (E07)
stay FNAC's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from airflow.sdk.definitions.xcom_arg import XComArg

from reseller_sync.airflow.withdrawal_wait import await_withdrawal_acks as await_answers


@dataclass(frozen=True)
class DecontAnswers:
    """:class:`~reseller_sync.airflow.withdrawal_wait.WithdrawalAnswers` of FNAC."""

    reseller_name: str = "FNAC"

    def settings(self) -> Any:
        from reseller_sync.fnac.settings import load_settings

        return load_settings()

    def awaiting(self) -> tuple[str, ...]:
        from reseller_sync.boxoffice.db import session_scope
        from reseller_sync.fnac.withdrawal import awaiting_decont

        with session_scope() as session:
            return awaiting_decont(session)

    def apply(self, sent: str) -> None:
        from reseller_sync.boxoffice.db import session_scope
        from reseller_sync.fnac.outbound import transport_for
        from reseller_sync.fnac.withdrawal import record_withdrawal_ack

        settings = self.settings()
        with session_scope() as session:
            record_withdrawal_ack(session, transport_for(settings), settings, sent)

    def answer_name(self, sent: str) -> str:
        from reseller_sync.fnac.names import ack_name

        return str(ack_name(sent))

    def answered(self, answer: str) -> str:
        from reseller_sync.fnac.names import FileName

        return str(FileName.parse(answer).answered)


def await_withdrawal_acks(
    sent: XComArg, poll_interval: dt.timedelta, ack_timeout: dt.timedelta
) -> XComArg:
    """The task (id ``await_withdrawal_acks``) in the DAG being built; its output."""
    return await_answers(
        DecontAnswers(),
        sent,
        poll_interval,
        ack_timeout,
        doc_md="Wait in the triggerer (no worker held) for FNAC's ACK of each DECONT, and "
        "apply it: withdrawn places leave FNAC's quota. On timeout: FNAC has not answered; "
        "the next run waits again, or call FNAC.",
    )
