"""Taking places back from the SecuTix reseller: a WITHDRAW file, and its RESULT
(``secutix-reseller-v1`` sections 8.3, 9.1 point 8 and 10.1).

The box office asks places back as for any reseller
(:mod:`reseller_sync.integration.withdrawal`): a person with :func:`request_withdrawal`,
the nightly run with :func:`plan_automatic_withdrawals` (every unsold place of the
reseller's quota on a seated, dated performance of the settings' products starting within
``nightly.withdraw_unsold_days_before_performance`` days). :func:`send_withdrawals` writes
every open request in ONE WITHDRAW file, each line carrying its request
(:func:`reseller_sync.secutix.contingent.withdraw_request_lines`), through the organiser's
sending (:func:`reseller_sync.secutix.outbound.send_withdraw`): numbered in the
organiser's sequence, journaled with its requests marked ``sent`` in one transaction,
uploaded data file first and control file last. A file left ``prepared`` by a crash goes
out first, under its number. Nothing is ever sent twice.

Until a RESULT line says a place was withdrawn, it is the reseller's, and the box office
must not sell it elsewhere (section 8.3). :func:`record_withdraw_result` applies the
RESULT once (:func:`reseller_sync.secutix.outbound.await_result`, then
:func:`reseller_sync.secutix.result.apply_result`), line by line:

====================  =================================================================
OK                    the places leave the reseller's quota (``withdrawn``)
Q05                   the seat is sold: it stays the reseller's (``refused_sold``,
                      reported, not an error)
Q06                   fewer places available than asked: nothing withdrawn; the request
                      goes out again with at most ``AVAILABLE`` places (none available:
                      ``refused_sold``)
Q07                   the place is not in the reseller's contingent: it leaves its
                      quota, recorded as not the reseller's (``withdrawn``, code Q07), to
                      reconcile
X99 (line or file)    the reseller failed: the request goes out in the next run's file
other codes           ``failed``, an error of the code's category (table 10.1): a person
                      acts, then asks the places back again
====================  =================================================================
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    Direction,
)
from reseller_sync.domain.errors import (
    TechnicalError,
)
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange import journal
from reseller_sync.exchange.sending import SessionSource, session_factory
from reseller_sync.exchange.transport import SftpTransport
from reseller_sync.integration import withdrawal
from reseller_sync.integration.withdrawal import (
    FreePlacesRef,
    SeatRef,
    WithdrawalRequestError,
    WithdrawalSend,
)
from reseller_sync.secutix import outbound
from reseller_sync.secutix.errors import Code
from reseller_sync.secutix.names import FileName
from reseller_sync.secutix.reseller_type import RESELLER_TYPE
from reseller_sync.secutix.result import WITHDRAW_OUTCOMES
from reseller_sync.secutix.settings import SecutixSettings

__all__ = [
    "FreePlacesRef",
    "SeatRef",
    "WithdrawAnswer",
    "WithdrawalRequestError",
    "WithdrawalSend",
    "awaiting_result",
    "plan_automatic_withdrawals",
    "record_withdraw_result",
    "request_withdrawal",
    "send_withdrawals",
]

log = logging.getLogger(__name__)

RESELLER = RESELLER_TYPE.code

AGAIN_ACTION = Localized(
    fr="{reseller} a échoué de son côté (X99) : rien n'a été retiré, les places repartent dans "
    "le fichier WITHDRAW de la prochaine exécution. Si l'échec persiste, appelez {reseller} "
    "avec le nom du fichier.",
    en="{reseller} failed on its side (X99): nothing was withdrawn, the places go out again in "
    "the next run's WITHDRAW file. If it keeps failing, call {reseller} with the file name.",
)
FAILED_ACTION = Localized(
    fr="Ces places restent à {reseller}. Corrigez ce que dit chaque ligne refusée (Q01 à Q03 : "
    "l'OFFER, le mapping de catégorie ou de zone ; F01 à F03, Q08 : contactez le support), "
    "puis redemandez ces places (request_withdrawal) : elles ne repartent pas d'elles-mêmes.",
    en="These places stay {reseller}'s. Fix what each refused line says (Q01 to Q03: the "
    "OFFER, the category or zone mapping; F01 to F03, Q08: contact support), then ask these "
    "places back again (request_withdrawal): they do not go out again by themselves.",
)


def _quotas(session: Session, settings: SecutixSettings) -> list[withdrawal.QuotaStart]:
    """The reseller's quotas on a seated, dated performance of the settings' products.
    Passes have no places to take back one by one (their quota is a count)."""
    return withdrawal.dated_quotas(session, settings)


WITHDRAWALS = withdrawal.AdapterWithdrawals(RESELLER_TYPE.name, _quotas)
scope = WITHDRAWALS.scope
"""The reseller's quota, as the settings name its channel and quota."""
request_withdrawal = WITHDRAWALS.request_withdrawal
"""Ask the reseller to give back seats and free places of one performance (sent by the
next run); raises :class:`WithdrawalRequestError` naming each place that cannot be asked
back, having changed nothing. Runs in the caller's transaction::

    with session_scope() as session:
        request_withdrawal(session, load_settings(), "TOSCA27", "TOSCA27-0314",
                           seats=[("PARTERRE", "PARTERRE", "F", "13")],
                           free_places=[("FOSSE", "FOSSE", 20)])
"""
plan_automatic_withdrawals = WITHDRAWALS.plan_automatic_withdrawals
"""Request every unsold place of the reseller's quota on a seated, dated performance of the
settings' products starting within ``nightly.withdraw_unsold_days_before_performance`` days
of ``now`` (aware); nothing when that setting is null."""


# --------------------------------------------------------------------------- the file


def send_withdrawals(
    sessions: SessionSource,
    transport: SftpTransport,
    settings: SecutixSettings,
    *,
    now: dt.datetime | None = None,
    automatic: bool = True,
) -> WithdrawalSend:
    """Send every open request in one WITHDRAW file, once; ``automatic`` plans the unsold
    places first. A mapping error changes nothing sent: the requests wait."""
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    factory = session_factory(sessions)
    with factory.begin() as session:
        planned = len(plan_automatic_withdrawals(session, settings, now)) if automatic else 0
        requested = withdrawal.requested_withdrawals(session, scope(settings))
    sent = outbound.send_withdraw(factory, transport, requested)
    with factory() as session:
        awaiting = awaiting_result(session, settings)
    if sent.sent_now:
        log.info("Sent %s: %d place line(s) asked back", sent.name, sent.lines)
    return WithdrawalSend(
        sent=sent.journal_name if sent.sent_now else None,
        requests=sent.lines if sent.sent_now else 0,
        automatic=planned,
        completed=sent.completed_leftovers,
        awaiting=awaiting,
    )


def awaiting_result(session: Session, settings: SecutixSettings) -> tuple[str, ...]:
    """The WITHDRAW files (journal names, their control file's) holding requests the
    reseller has not answered, in number order."""
    names = withdrawal.awaiting_files(session, settings)
    return tuple(sorted(names, key=file_number))


def file_number(name: str) -> int:
    """The organiser's file number of a name (data or control file)."""
    parsed = FileName.parse(name)
    if parsed is None or parsed.number is None:
        raise ValueError(f"{name} is not the name of a numbered file")
    return parsed.number


# --------------------------------------------------------------------------- the RESULT


CODES = withdrawal.AnswerCodes(
    outcomes=WITHDRAW_OUTCOMES,
    fewer=Code.Q06.value,
    not_held=Code.Q07.value,
    again=Code.X99.value,
    category=Code,
    refused=f"{RESELLER_TYPE.name} refused {{count}} place(s) asked back in {{file}}: they "
    "stay its own",
    failed_again=f"{RESELLER_TYPE.name} failed on {{file}} (X99): {{count}} place(s) go out "
    "again in the next run's WITHDRAW file",
    refused_action=FAILED_ACTION,
    again_action=AGAIN_ACTION,
)
"""The contract's answer codes (table 10.1) in neutral outcomes, and its words."""


class WithdrawAnswer(withdrawal.AnsweredFile):
    """What the reseller's RESULT of one WITHDRAW did to the requests it carried: sold
    (Q05, or Q06 with none available), limited (Q06), not held (Q07), failed, again
    (X99)."""


def record_withdraw_result(
    session: Session, transport: SftpTransport, sent: str
) -> WithdrawAnswer | None:
    """The reseller's RESULT of the WITHDRAW ``sent`` (its journal name) applied to the
    requests it carried, line by line, in the caller's transaction; None while the
    reseller has not answered. Asked again, it returns the same answer and changes
    nothing."""
    answer = outbound.await_result(session, transport, file_number(sent))
    if answer is None:
        return None
    entry = journal.find_file(
        session, RESELLER, Direction.OUTBOUND, answer.answered
    ) or journal.find_file(session, RESELLER, Direction.OUTBOUND, sent)
    if entry is None:
        raise TechnicalError(f"{sent} is not in the journal of files sent to {RESELLER_TYPE.name}")
    result = withdraw_answer(session, entry.name, entry.id)
    if result.not_held:
        log.warning(
            "%s: %d place(s) asked back were not in the reseller's contingent (Q07): out of "
            "its quota, to reconcile",
            entry.name,
            len(result.not_held),
        )
    return result


def withdraw_answer(session: Session, name: str, file_id: int) -> WithdrawAnswer:
    """The requests of a WITHDRAW as the reseller's RESULT left them, described for a
    person."""
    return withdrawal.answered_file(session, WithdrawAnswer, name, file_id, CODES)
