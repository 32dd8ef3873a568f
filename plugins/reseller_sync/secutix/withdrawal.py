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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    Direction,
    Performance,
    PlaceWithdrawal,
    Product,
    Quota,
    SalesChannel,
    Venue,
    WithdrawalReason,
    WithdrawalState,
)
from reseller_sync.domain.errors import (
    ErrorCategory,
    ExternalError,
    MappingError,
    Problem,
    SyncError,
    TechnicalError,
)
from reseller_sync.domain.products import SEATED_KINDS
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange import journal
from reseller_sync.exchange.sending import SessionSource, session_factory
from reseller_sync.exchange.transport import SftpTransport
from reseller_sync.integration import withdrawal
from reseller_sync.integration.withdrawal import (
    FreePlacesRef,
    SeatRef,
    WithdrawalRequestError,
    WithdrawalScope,
    WithdrawalSend,
)
from reseller_sync.secutix import outbound
from reseller_sync.secutix.errors import Code
from reseller_sync.secutix.names import FileName
from reseller_sync.secutix.reseller_type import RESELLER_TYPE
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


def scope(settings: SecutixSettings) -> WithdrawalScope:
    """The reseller's quota, as the settings name its channel and quota."""
    return WithdrawalScope.of(settings, RESELLER_TYPE.name)


# --------------------------------------------------------------------------- requests


def request_withdrawal(
    session: Session,
    settings: SecutixSettings,
    product_code: str,
    performance_code: str,
    *,
    seats: Iterable[SeatRef | tuple[str, str, str, str]] = (),
    free_places: Iterable[FreePlacesRef | tuple[str, str, int]] = (),
    reason: WithdrawalReason = WithdrawalReason.REQUESTED,
) -> list[PlaceWithdrawal]:
    """Ask the reseller to give back seats and free places of one performance (sent by the
    next run); raises :class:`WithdrawalRequestError` naming each place that cannot be
    asked back, having changed nothing. Runs in the caller's transaction::

        with session_scope() as session:
            request_withdrawal(session, load_settings(), "TOSCA27", "TOSCA27-0314",
                               seats=[("PARTERRE", "PARTERRE", "F", "13")],
                               free_places=[("FOSSE", "FOSSE", 20)])
    """
    return withdrawal.request_withdrawal(
        session,
        scope(settings),
        product_code,
        performance_code,
        seats=seats,
        free_places=free_places,
        reason=reason,
    )


def plan_automatic_withdrawals(
    session: Session, settings: SecutixSettings, now: dt.datetime
) -> list[PlaceWithdrawal]:
    """Request every unsold place of the reseller's quota on a seated, dated performance of
    the settings' products starting within ``nightly.withdraw_unsold_days_before_performance``
    days of ``now`` (aware); nothing when that setting is null. Passes have no places to
    take back one by one (their quota is a count)."""
    days = settings.nightly.withdraw_unsold_days_before_performance
    if days is None:
        return []
    rows = session.execute(
        select(Quota, Performance.starts_at, Venue.timezone)
        .join(Performance, Performance.id == Quota.performance_id)
        .join(Product, Product.id == Performance.product_id)
        .join(Venue, Venue.id == Product.venue_id)
        .join(SalesChannel, SalesChannel.id == Quota.channel_id)
        .where(
            Product.code.in_(settings.product_codes),
            Product.kind.in_(SEATED_KINDS),
            Performance.starts_at.is_not(None),
            SalesChannel.code == settings.boxoffice.channel,
            Quota.code == settings.boxoffice.quota,
        )
        .order_by(Performance.starts_at, Quota.id)
    ).all()
    quotas = [
        (quota, starts_at, timezone or settings.boxoffice.venue_timezone)
        for quota, starts_at, timezone in rows
        if starts_at is not None
    ]
    return withdrawal.plan_unsold(session, scope(settings), quotas, now, days)


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
    file_ids = session.scalars(
        select(PlaceWithdrawal.file_id)
        .join(Quota, Quota.id == PlaceWithdrawal.quota_id)
        .join(SalesChannel, SalesChannel.id == Quota.channel_id)
        .where(
            PlaceWithdrawal.state == WithdrawalState.SENT,
            PlaceWithdrawal.file_id.is_not(None),
            SalesChannel.code == settings.boxoffice.channel,
            Quota.code == settings.boxoffice.quota,
        )
        .distinct()
    ).all()
    names = journal.names_by_id(session, [i for i in file_ids if i is not None]).values()
    return tuple(sorted(names, key=file_number))


def file_number(name: str) -> int:
    """The organiser's file number of a name (data or control file)."""
    parsed = FileName.parse(name)
    if parsed is None or parsed.number is None:
        raise ValueError(f"{name} is not the name of a numbered file")
    return parsed.number


# --------------------------------------------------------------------------- the RESULT


@dataclass(frozen=True)
class WithdrawAnswer:
    """What the reseller's RESULT of one WITHDRAW did to the requests it carried."""

    file_name: str
    withdrawn: int = 0
    """Requests withdrawn: their places left the reseller's quota."""
    sold: tuple[Problem, ...] = ()
    """Places the reseller sold (Q05, or Q06 with none available): they stay its own."""
    limited: tuple[Problem, ...] = ()
    """Free places with fewer available than asked (Q06): asked again with at most those."""
    not_held: tuple[Problem, ...] = ()
    """Places the reseller did not hold (Q07): out of its quota, to reconcile."""
    failed: tuple[Problem, ...] = ()
    """Places refused for another reason: a person acts."""
    again: int = 0
    """Requests the reseller failed on (X99): they go out in the next run's file."""
    error: SyncError | None = field(default=None, compare=False)

    def summary(self) -> dict[str, object]:
        return {
            "file": self.file_name,
            "withdrawn": self.withdrawn,
            "sold": [str(problem) for problem in self.sold],
            "limited": [str(problem) for problem in self.limited],
            "not_held": [str(problem) for problem in self.not_held],
            "failed": [str(problem) for problem in self.failed],
            "sent_again_next_run": self.again + len(self.limited),
        }


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
    rows = session.scalars(
        select(PlaceWithdrawal)
        .where(PlaceWithdrawal.file_id == file_id)
        .order_by(PlaceWithdrawal.line)
    ).all()
    described = withdrawal.described_places(session, [row.id for row in rows])

    def problems(kept: Iterable[PlaceWithdrawal]) -> tuple[Problem, ...]:
        return tuple(
            Problem(
                f"{row.error_code} {row.message or ''}".strip(),
                file=name,
                line=row.line,
                value=described.get(row.id),
            )
            for row in kept
        )

    def having(state: WithdrawalState, *codes: Code | None) -> list[PlaceWithdrawal]:
        wanted = {code.value if code is not None else None for code in codes}
        return [r for r in rows if r.state is state and (not codes or r.error_code in wanted)]

    failed = having(WithdrawalState.FAILED)
    again = having(WithdrawalState.REQUESTED, Code.X99)
    return WithdrawAnswer(
        file_name=name,
        withdrawn=len(having(WithdrawalState.WITHDRAWN, None)),
        sold=problems(having(WithdrawalState.REFUSED_SOLD)),
        limited=problems(having(WithdrawalState.REQUESTED, Code.Q06)),
        not_held=problems(having(WithdrawalState.WITHDRAWN, Code.Q07)),
        failed=problems(failed),
        again=len(again),
        error=_error(name, failed, problems(failed), problems(again)),
    )


def _error(
    name: str,
    failed: Sequence[PlaceWithdrawal],
    failures: Sequence[Problem],
    again: Sequence[Problem],
) -> SyncError | None:
    """The error to raise: the refusals' category (technical before mapping), or the
    reseller's failure (X99), after which the places go out again by themselves."""
    reseller = RESELLER_TYPE.name
    if failed:
        categories = {_category(row.error_code) for row in failed}
        message = (
            f"{reseller} refused {len(failed)} place(s) asked back in {name}: they stay its own"
        )
        kind: type[SyncError] = ExternalError
        if ErrorCategory.TECHNICAL in categories:
            kind = TechnicalError
        elif ErrorCategory.MAPPING in categories:
            kind = MappingError
        return kind(message, problems=failures, file=name, action=FAILED_ACTION)
    if again:
        return ExternalError(
            f"{reseller} failed on {name} (X99): {len(again)} place(s) go out again in the next "
            "run's WITHDRAW file",
            problems=again,
            file=name,
            action=AGAIN_ACTION,
        )
    return None


def _category(code: str | None) -> ErrorCategory | None:
    try:
        return Code(code).category if code else ErrorCategory.TECHNICAL
    except ValueError:
        return ErrorCategory.TECHNICAL
