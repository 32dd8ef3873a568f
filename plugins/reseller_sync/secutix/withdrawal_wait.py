"""The reseller's RESULT of each WITHDRAW file (``secutix-reseller-v1`` sections 7.4, 8.3
and 10.1), for the nightly DAG's deferred wait
(:mod:`reseller_sync.airflow.withdrawal_wait`): each RESULT is applied as it comes
(:func:`~reseller_sync.secutix.withdrawal.record_withdraw_result`): withdrawn places leave
the reseller's quota, sold ones (Q05) stay its own.

The files are named as the journal keeps them: a WITHDRAW by its control file
(``WITHDRAW_<n>.ctl``), its answer by the RESULT's control file (``RESULT_<n>.ctl``),
which the reseller uploads last (section 3 point 4): the trigger watches for that name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from airflow.sdk.definitions.xcom_arg import XComArg

from reseller_sync.airflow.withdrawal_wait import await_withdrawal_acks
from reseller_sync.secutix.reseller_type import RESELLER_TYPE


@dataclass(frozen=True)
class WithdrawResults:
    """:class:`~reseller_sync.airflow.withdrawal_wait.WithdrawalAnswers` of the SecuTix
    reseller."""

    reseller_name: str = RESELLER_TYPE.name

    def settings(self) -> Any:
        from reseller_sync.secutix.settings import load_settings

        return load_settings()

    def awaiting(self) -> tuple[str, ...]:
        from reseller_sync.boxoffice.db import session_scope
        from reseller_sync.secutix.withdrawal import awaiting_result

        with session_scope() as session:
            return awaiting_result(session, self.settings())

    def apply(self, sent: str) -> None:
        from reseller_sync.boxoffice.db import session_scope
        from reseller_sync.secutix.inbound import transport_for
        from reseller_sync.secutix.withdrawal import record_withdraw_result

        with session_scope() as session:
            record_withdraw_result(session, transport_for(self.settings()), sent)

    def answer_name(self, sent: str) -> str:
        from reseller_sync.secutix.outbound import result_name
        from reseller_sync.secutix.withdrawal import file_number

        return result_name(file_number(sent))

    def answered(self, answer: str) -> str:
        """The WITHDRAW a RESULT answers, as the journal names it (its control file)."""
        from reseller_sync.secutix.names import FileName, FileType, NameKind
        from reseller_sync.secutix.outbound import answered_number

        return str(FileName(FileType.WITHDRAW, answered_number(answer), NameKind.CONTROL))


def await_withdraw_results(
    sent: XComArg, poll_interval: dt.timedelta, timeout: dt.timedelta
) -> XComArg:
    """The task (id ``await_withdrawal_acks``) in the DAG being built; its output."""
    return await_withdrawal_acks(
        WithdrawResults(),
        sent,
        poll_interval,
        timeout,
        doc_md=f"Wait in the triggerer (no worker held) for {RESELLER_TYPE.name}'s RESULT of "
        "each WITHDRAW file, and apply it line by line: withdrawn places leave its quota, sold "
        "ones (Q05) stay its own. On timeout: the reseller has not answered (it must within "
        "30 minutes, section 3 point 6); the next run waits again, or call the reseller.",
    )
