"""Ticketnet's answers to its batches of RELEASE records (``ticketnet-exchange-v1``
sections 7.4 and 8.3), for the nightly DAG's deferred wait
(:mod:`reseller_sync.airflow.withdrawal_wait`): each ACK is applied as it comes
(:func:`~reseller_sync.ticketnet.withdrawal.record_release_ack`): released places leave
Ticketnet's quota, sold ones (A05) stay its own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from airflow.sdk.definitions.xcom_arg import XComArg

from reseller_sync.airflow.withdrawal_wait import await_withdrawal_acks


@dataclass(frozen=True)
class ReleaseAnswers:
    """:class:`~reseller_sync.airflow.withdrawal_wait.WithdrawalAnswers` of Ticketnet."""

    reseller_name: str = "Ticketnet"

    def settings(self) -> Any:
        from reseller_sync.ticketnet.settings import load_settings

        return load_settings()

    def awaiting(self) -> tuple[str, ...]:
        from reseller_sync.boxoffice.db import session_scope
        from reseller_sync.ticketnet.withdrawal import awaiting_release

        with session_scope() as session:
            return awaiting_release(session, self.settings())

    def apply(self, sent: str) -> None:
        from reseller_sync.boxoffice.db import session_scope
        from reseller_sync.ticketnet.inbound import transport_for
        from reseller_sync.ticketnet.withdrawal import record_release_ack

        with session_scope() as session:
            record_release_ack(session, transport_for(self.settings()), sent)

    def answer_name(self, sent: str) -> str:
        from reseller_sync.ticketnet.outbound import ack_name

        return ack_name(sent)

    def answered(self, answer: str) -> str:
        from reseller_sync.ticketnet.outbound import answered_batch

        return answered_batch(answer)


def await_release_acks(
    sent: XComArg, poll_interval: dt.timedelta, ack_timeout: dt.timedelta
) -> XComArg:
    """The task (id ``await_withdrawal_acks``) in the DAG being built; its output."""
    return await_withdrawal_acks(
        ReleaseAnswers(),
        sent,
        poll_interval,
        ack_timeout,
        doc_md="Wait in the triggerer (no worker held) for Ticketnet's ACK of each batch of "
        "RELEASE records, and apply it: released places leave Ticketnet's quota. On timeout: "
        "Ticketnet has not answered; the next run waits again, or call Ticketnet.",
    )
