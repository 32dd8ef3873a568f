"""Taking places back from a reseller's quota, in box-office words, whatever the reseller.

A request is a :class:`~reseller_sync.boxoffice.models.PlaceWithdrawal` on the
reseller's quota of one performance: a seat, or free places of a free-placement
block. A person asks with :func:`request_withdrawal`; the nightly run asks for
the unsold places of performances close to their start with :func:`plan_unsold`.
The adapter writes the requests in its partner's file and reads the partner's
answer; :func:`give_back` takes a request's places out of the quota once the
partner says it released them. Until then the places are the reseller's, and the
box office must not sell them.

Every function works on one reseller's quota (:class:`WithdrawalScope`): its requests
are never mixed with another reseller's.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, aliased

from reseller_sync.boxoffice.models import (
    Block,
    Order,
    Performance,
    PlaceWithdrawal,
    Product,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    SalesChannel,
    Seat,
    Ticket,
    TicketState,
    Venue,
    WithdrawalReason,
    WithdrawalState,
    Zone,
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

log = logging.getLogger(__name__)

OPEN_STATES = (WithdrawalState.REQUESTED, WithdrawalState.SENT)
"""Requests whose places are still the reseller's: to send, or sent and not answered."""


@dataclass(frozen=True)
class WithdrawalScope:
    """Whose quota: the reseller (its code and name) and its channel and quota codes."""

    reseller: str
    name: str
    channel: str
    quota: str

    @classmethod
    def of(cls, settings: Any, name: str) -> WithdrawalScope:
        """The scope of an instance's settings (``boxoffice.channel`` and ``.quota``)."""
        return cls(
            settings.reseller_code, name, settings.boxoffice.channel, settings.boxoffice.quota
        )


class SeatRef(NamedTuple):
    """A seat in the organiser's words."""

    zone: str
    block: str
    row: str
    number: str


class FreePlacesRef(NamedTuple):
    """Places of a free-placement block."""

    zone: str
    block: str
    places: int


class WithdrawalRequestError(ValueError):
    """Places that cannot be asked back, each with the reason."""

    def __init__(self, message: str, problems: Sequence[Problem]) -> None:
        super().__init__("\n".join([message, *(f"  {problem}" for problem in problems)]))
        self.problems = tuple(problems)


# --------------------------------------------------------------------------- requests


def request_withdrawal(
    session: Session,
    scope: WithdrawalScope,
    product_code: str,
    performance_code: str,
    *,
    seats: Iterable[SeatRef | tuple[str, str, str, str]] = (),
    free_places: Iterable[FreePlacesRef | tuple[str, str, int]] = (),
    reason: WithdrawalReason = WithdrawalReason.REQUESTED,
) -> list[PlaceWithdrawal]:
    """Ask the reseller to give back seats and free places of one performance.

    Every place must be in the reseller's quota and unsold in the box office. A
    seat already asked back is not asked twice; free places asked back again add
    up while not sent yet. Raises :class:`WithdrawalRequestError` naming every
    place that cannot be asked back, having changed nothing. Runs in the caller's
    transaction.
    """
    quota, configuration_id = _quota(session, scope, product_code, performance_code)
    performance_id = quota.performance_id
    wanted_seats = [SeatRef(*seat) for seat in seats]
    wanted_free = [FreePlacesRef(*places) for places in free_places]
    problems: list[Problem] = []
    created: list[PlaceWithdrawal] = []
    if wanted_seats:
        found = _seat_ids(session, configuration_id, wanted_seats)
        held = set(session.scalars(select(QuotaSeat.seat_id).where(QuotaSeat.quota_id == quota.id)))
        sold = sold_seats(session, performance_id)
        open_requests = open_requests_by(session, quota, PlaceWithdrawal.seat_id)
        for seat in wanted_seats:
            seat_id = found.get(seat)
            where = f"zone {seat.zone}, block {seat.block}, row {seat.row}, seat {seat.number}"
            if seat_id is None:
                problems.append(Problem("no such seat in the product's configuration", value=where))
            elif seat_id not in held:
                problems.append(Problem(f"this seat is not in {scope.name}'s quota", value=where))
            elif seat_id in sold:
                problems.append(Problem("this seat is sold: it cannot be taken back", value=where))
            elif seat_id in open_requests:
                created.append(open_requests[seat_id])
            else:
                created.append(_seat_request(quota, seat_id, reason))
    for wanted in wanted_free:
        withdrawal, problem = _free_request(session, scope, quota, configuration_id, wanted, reason)
        if problem is not None:
            problems.append(problem)
        elif withdrawal is not None:
            created.append(withdrawal)
    if problems:
        raise WithdrawalRequestError(
            f"{len(problems)} place(s) of {product_code} {performance_code} cannot be asked "
            f"back from {scope.name}",
            problems,
        )
    session.add_all(created)
    session.flush()
    return created


def plan_unsold(
    session: Session,
    scope: WithdrawalScope,
    quotas: Iterable[tuple[Quota, dt.datetime, str]],
    now: dt.datetime,
    days: int,
) -> list[PlaceWithdrawal]:
    """Request every unsold place of ``quotas`` (quota, wall-clock start, time zone) whose
    performance starts within ``days`` of ``now`` (aware).

    A place the reseller answered as sold is not asked again; a block whose places are
    being taken back from another quota waits for that answer.
    """
    horizon = now + dt.timedelta(days=days)
    created: list[PlaceWithdrawal] = []
    for quota, starts_at, timezone in quotas:
        start = starts_at.replace(tzinfo=ZoneInfo(timezone))
        if not now < start <= horizon:
            continue
        sold = sold_seats(session, quota.performance_id)
        taken = set(open_requests_by(session, quota, PlaceWithdrawal.seat_id))
        refused = _refused_sold(session, quota, PlaceWithdrawal.seat_id)
        for seat_id in session.scalars(
            select(QuotaSeat.seat_id).where(QuotaSeat.quota_id == quota.id).order_by(QuotaSeat.id)
        ):
            if seat_id not in sold and seat_id not in taken and seat_id not in refused:
                created.append(_seat_request(quota, seat_id, WithdrawalReason.AUTOMATIC))
        refused_blocks = _refused_sold(session, quota, PlaceWithdrawal.block_id)
        blocks = open_requests_by(session, quota, PlaceWithdrawal.block_id)
        for free in session.scalars(
            select(QuotaFreePlaces).where(QuotaFreePlaces.quota_id == quota.id)
        ):
            if free.block_id in refused_blocks:
                continue
            left = free_places_left(session, quota, free)
            open_request = blocks.get(free.block_id)
            if left <= 0 or (
                open_request is not None and open_request.state is not WithdrawalState.REQUESTED
            ):
                continue
            if open_request is not None:
                open_request.places += left
            elif _taken_back_elsewhere(session, quota, free.block_id):
                log.info(
                    "Block %s of performance %s is being taken back from another quota: "
                    "its %s places wait",
                    free.block_id,
                    quota.performance_id,
                    scope.name,
                )
            else:
                created.append(
                    PlaceWithdrawal(
                        quota_id=quota.id,
                        performance_id=quota.performance_id,
                        block_id=free.block_id,
                        places=left,
                        reason=WithdrawalReason.AUTOMATIC,
                        state=WithdrawalState.REQUESTED,
                    )
                )
    session.add_all(created)
    session.flush()
    if created:
        log.info(
            "Asked back %d unsold %s place(s) within %d day(s)", len(created), scope.name, days
        )
    return created


def requested_withdrawals(session: Session, scope: WithdrawalScope) -> list[int]:
    """The ids of the reseller's requests still to send, in request order."""
    return list(
        session.scalars(
            select(PlaceWithdrawal.id)
            .where(
                PlaceWithdrawal.quota_id.in_(_quota_ids(scope)),
                PlaceWithdrawal.state == WithdrawalState.REQUESTED,
            )
            .order_by(PlaceWithdrawal.id)
        )
    )


def mark_sent(
    session: Session, file_id: int, withdrawal_ids: Sequence[int], now: dt.datetime
) -> None:
    """The requests ``sent`` in the file ``file_id``, request ``withdrawal_ids[n]`` as its
    line (or record) ``n + 1``; any earlier refusal's code and message forgotten."""
    for line, withdrawal_id in enumerate(withdrawal_ids, start=1):
        request = session.get_one(PlaceWithdrawal, withdrawal_id)
        request.state = WithdrawalState.SENT
        request.file_id = file_id
        request.line = line
        request.sent_at = now
        request.error_code = None
        request.message = None


@dataclass(frozen=True)
class WithdrawalSend:
    """What a run sent of the places asked back, and which of its files still await the
    reseller's answer."""

    sent: str | None = None
    """The file (or batch) sent now, if any."""
    requests: int = 0
    """The requests it carries, one a line or record."""
    automatic: int = 0
    """Requests the run added for unsold places close to their performance."""
    completed: tuple[str, ...] = ()
    """Files left prepared by a crash, uploaded now."""
    awaiting: tuple[str, ...] = ()
    """Every file of requests sent whose answer is not applied yet, this one included."""

    def summary(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "requests": self.requests,
            "automatic": self.automatic,
            "completed": list(self.completed),
            "awaiting": list(self.awaiting),
        }


def give_back(session: Session, withdrawal: PlaceWithdrawal, places: int | None = None) -> None:
    """The request's places (or ``places`` of them) leave the reseller's quota."""
    if withdrawal.seat_id is not None:
        session.execute(
            delete(QuotaSeat).where(
                QuotaSeat.quota_id == withdrawal.quota_id,
                QuotaSeat.seat_id == withdrawal.seat_id,
            )
        )
        return
    free = session.scalar(
        select(QuotaFreePlaces).where(
            QuotaFreePlaces.quota_id == withdrawal.quota_id,
            QuotaFreePlaces.block_id == withdrawal.block_id,
        )
    )
    if free is not None:
        free.places = max(0, free.places - (withdrawal.places if places is None else places))


def described_places(session: Session, withdrawal_ids: Sequence[int]) -> dict[int, str]:
    """Each request's place as a person reads it: product, performance, zone, block, seat."""
    if not withdrawal_ids:
        return {}
    seat_block = aliased(Block)
    rows = session.execute(
        select(
            PlaceWithdrawal.id,
            Product.code,
            Performance,
            Zone.code,
            seat_block.code,
            Seat.row,
            Seat.number,
            PlaceWithdrawal.places,
        )
        .join(Performance, Performance.id == PlaceWithdrawal.performance_id)
        .join(Product, Product.id == Performance.product_id)
        .outerjoin(Seat, Seat.id == PlaceWithdrawal.seat_id)
        .join(seat_block, seat_block.id == func.coalesce(Seat.block_id, PlaceWithdrawal.block_id))
        .join(Zone, Zone.id == seat_block.zone_id)
        .where(PlaceWithdrawal.id.in_(list(withdrawal_ids)))
    )
    described = {}
    for withdrawal_id, product, performance, zone, block, row, number, places in rows:
        spot = f"row {row}, seat {number}" if row is not None else f"{places} free place(s)"
        described[withdrawal_id] = (
            f"{product} {performance_label(performance)}: zone {zone}, block {block}, {spot}"
        )
    return described


def performance_label(performance: Performance) -> str:
    """How a person recognises a performance: its code and its date or validity."""
    if performance.starts_at is not None:
        return f"performance {performance.code} ({performance.starts_at:%d/%m/%Y %H:%M})"
    if performance.valid_from is not None or performance.valid_until is not None:
        start = f"{performance.valid_from:%d/%m/%Y}" if performance.valid_from else "…"
        end = f"{performance.valid_until:%d/%m/%Y}" if performance.valid_until else "…"
        return f"validity {performance.code} ({start} to {end})"
    return f"validity {performance.code} (undated)"


# --------------------------------------------------------------------------- an adapter's settings

SettingsT = TypeVar("SettingsT")
QuotaStart = tuple[Quota, dt.datetime, str]
"""A quota, its performance's wall-clock start and the venue's time zone."""


class AdapterWithdrawals(Generic[SettingsT]):
    """An adapter's settings bound to the neutral requests and planner: the reseller's
    name, and which of its quotas the nightly run may take unsold places back from."""

    def __init__(
        self, name: str, quotas: Callable[[Session, SettingsT], Iterable[QuotaStart]]
    ) -> None:
        self.name = name
        self.quotas = quotas

    def scope(self, settings: SettingsT) -> WithdrawalScope:
        """The reseller's quota, as the settings name its channel and quota."""
        return WithdrawalScope.of(settings, self.name)

    def request_withdrawal(
        self,
        session: Session,
        settings: SettingsT,
        product_code: str,
        performance_code: str,
        *,
        seats: Iterable[SeatRef | tuple[str, str, str, str]] = (),
        free_places: Iterable[FreePlacesRef | tuple[str, str, int]] = (),
        reason: WithdrawalReason = WithdrawalReason.REQUESTED,
    ) -> list[PlaceWithdrawal]:
        """Ask the reseller to give back seats and free places of one performance (sent by
        the next run): :func:`request_withdrawal` on the settings' quota."""
        return request_withdrawal(
            session,
            self.scope(settings),
            product_code,
            performance_code,
            seats=seats,
            free_places=free_places,
            reason=reason,
        )

    def plan_automatic_withdrawals(
        self, session: Session, settings: SettingsT, now: dt.datetime
    ) -> list[PlaceWithdrawal]:
        """Request every unsold place of the adapter's quotas starting within
        ``nightly.withdraw_unsold_days_before_performance`` days of ``now`` (aware);
        nothing when that setting is null."""
        days = cast(Any, settings).nightly.withdraw_unsold_days_before_performance
        if days is None:
            return []
        return plan_unsold(session, self.scope(settings), self.quotas(session, settings), now, days)


def dated_quotas(session: Session, settings: Any, *where: Any) -> list[QuotaStart]:
    """The settings' quotas on the dated performances of their seated products (and
    ``where``), with their start and the venue's time zone, in start order."""
    rows = session.execute(
        select(Quota, Performance.starts_at, Venue.timezone)
        .join(Performance, Performance.id == Quota.performance_id)
        .join(Product, Product.id == Performance.product_id)
        .join(Venue, Venue.id == Product.venue_id)
        .join(SalesChannel, SalesChannel.id == Quota.channel_id)
        .where(
            *where,
            Product.code.in_(settings.product_codes),
            Product.kind.in_(SEATED_KINDS),
            Performance.starts_at.is_not(None),
            SalesChannel.code == settings.boxoffice.channel,
            Quota.code == settings.boxoffice.quota,
        )
        .order_by(Performance.starts_at, Quota.id)
    ).all()
    return [
        (quota, starts_at, timezone or settings.boxoffice.venue_timezone)
        for quota, starts_at, timezone in rows
        if starts_at is not None  # dated performances only (the query says so too)
    ]


def awaiting_files(session: Session, settings: Any) -> list[str]:
    """The journal names of the files holding the settings' quota's requests sent and not
    answered (unsorted)."""
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
    return list(journal.names_by_id(session, [i for i in file_ids if i is not None]).values())


# --------------------------------------------------------------------------- the partner's answer


class Outcome(enum.Enum):
    """What a partner's answer to one request does, whatever its code."""

    WITHDRAWN = "withdrawn"
    """The places leave the reseller's quota."""
    NOT_HELD = "not_held"
    """The places were not the reseller's: they leave its quota, code kept, to reconcile."""
    SOLD = "sold"
    """The reseller sold the places: they stay its own (``refused_sold``)."""
    FEWER = "fewer"
    """Fewer places available than asked: asked again with at most those (none: sold)."""
    AGAIN = "again"
    """The partner failed: the request goes out again, in the next run's file."""
    RESEND = "resend"
    """As ``AGAIN``, the request detached from the file that carried it."""
    FAILED = "failed"
    """Refused for another reason: a person acts."""


class Answer(NamedTuple):
    """A partner's answer to one request, in neutral words (no answer: withdrawn)."""

    outcome: Outcome
    code: str | None = None
    message: str | None = None
    available: int = 0
    """With ``FEWER``: the places available."""


def apply_answer(
    session: Session, request: PlaceWithdrawal, answer: Answer | None, now: dt.datetime
) -> None:
    """The request as the partner's answer leaves it (``None``: withdrawn)."""
    request.answered_at = now
    if answer is None:
        answer = Answer(Outcome.WITHDRAWN)
    if answer.code is not None:
        request.error_code = answer.code
        request.message = answer.message
    outcome = answer.outcome
    if outcome is Outcome.WITHDRAWN or outcome is Outcome.NOT_HELD:
        request.state = WithdrawalState.WITHDRAWN
        give_back(session, request)
    elif outcome is Outcome.SOLD:
        request.state = WithdrawalState.REFUSED_SOLD
    elif outcome is Outcome.FEWER and answer.available > 0:
        request.state = WithdrawalState.REQUESTED
        request.places = min(request.places, answer.available)
    elif outcome is Outcome.FEWER:
        request.state = WithdrawalState.REFUSED_SOLD
    elif outcome is Outcome.AGAIN:
        request.state = WithdrawalState.REQUESTED
    elif outcome is Outcome.RESEND:
        request.state = WithdrawalState.REQUESTED
        request.file_id = None
        request.line = None
        request.answered_at = None
    else:
        request.state = WithdrawalState.FAILED


def apply_answers(
    session: Session,
    file_id: int | None,
    answer_of: Callable[[PlaceWithdrawal], Answer | None],
    now: dt.datetime,
) -> None:
    """Each request the file ``file_id`` carried and still ``sent``, as the partner's
    answer to it leaves it."""
    for request in session.scalars(
        select(PlaceWithdrawal).where(
            PlaceWithdrawal.file_id == file_id, PlaceWithdrawal.state == WithdrawalState.SENT
        )
    ):
        apply_answer(session, request, answer_of(request), now)
    session.flush()


@dataclass(frozen=True)
class AnswerCodes:
    """A partner contract's words for its answers to withdrawal requests."""

    outcomes: Mapping[Any, Outcome]
    """The outcome of each code that is not a plain refusal (those: ``FAILED``)."""
    fewer: str
    """The code of fewer places available than asked."""
    not_held: str
    """The code of places the reseller did not hold."""
    again: str
    """The code of the partner's failure, after which requests go out again."""
    category: Callable[[str], Any]
    """The contract's code of a code's value (its ``category``); ValueError if unknown."""
    refused: str
    """The error's message for refusals, with ``{count}`` and ``{file}``."""
    failed_again: str
    """The error's message for the partner's failure, with ``{count}`` and ``{file}``."""
    refused_action: Localized
    again_action: Localized

    def outcome(self, code: Any) -> Outcome:
        return self.outcomes.get(code, Outcome.FAILED)


@dataclass(frozen=True)
class AnsweredFile:
    """What a partner's answer to one file of requests did to the requests it carried."""

    file_name: str
    withdrawn: int = 0
    """Requests withdrawn: their places left the reseller's quota."""
    sold: tuple[Problem, ...] = ()
    """Places the reseller sold (or none available): they stay its own."""
    limited: tuple[Problem, ...] = ()
    """Free places with fewer available than asked: asked again with at most those."""
    not_held: tuple[Problem, ...] = ()
    """Places the reseller did not hold: out of its quota, to reconcile."""
    failed: tuple[Problem, ...] = ()
    """Places refused for another reason: a person acts."""
    again: int = 0
    """Requests the partner failed on: they go out in the next run's file."""
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


AnsweredT = TypeVar("AnsweredT", bound=AnsweredFile)


def answered_file(
    session: Session, kind: type[AnsweredT], name: str, file_id: int, codes: AnswerCodes
) -> AnsweredT:
    """The requests of a file as the partner's answer left them, described for a person."""
    rows = session.scalars(
        select(PlaceWithdrawal)
        .where(PlaceWithdrawal.file_id == file_id)
        .order_by(PlaceWithdrawal.line)
    ).all()
    described = described_places(session, [row.id for row in rows])

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

    def having(state: WithdrawalState, *wanted: str | None) -> list[PlaceWithdrawal]:
        return [r for r in rows if r.state is state and (not wanted or r.error_code in wanted)]

    failed = having(WithdrawalState.FAILED)
    again = having(WithdrawalState.REQUESTED, codes.again)
    return kind(
        file_name=name,
        withdrawn=len(having(WithdrawalState.WITHDRAWN, None)),
        sold=problems(having(WithdrawalState.REFUSED_SOLD)),
        limited=problems(having(WithdrawalState.REQUESTED, codes.fewer)),
        not_held=problems(having(WithdrawalState.WITHDRAWN, codes.not_held)),
        failed=problems(failed),
        again=len(again),
        error=_answer_error(name, failed, problems(failed), problems(again), codes),
    )


def _answer_error(
    name: str,
    failed: Sequence[PlaceWithdrawal],
    failures: Sequence[Problem],
    again: Sequence[Problem],
    codes: AnswerCodes,
) -> SyncError | None:
    """The error to raise: the refusals' category (technical before mapping), or the
    partner's failure, after which the places go out again by themselves."""
    if failed:
        categories = {_category(codes, row.error_code) for row in failed}
        message = codes.refused.format(count=len(failed), file=name)
        kind: type[SyncError] = ExternalError
        if ErrorCategory.TECHNICAL in categories:
            kind = TechnicalError
        elif ErrorCategory.MAPPING in categories:
            kind = MappingError
        return kind(message, problems=failures, file=name, action=codes.refused_action)
    if again:
        return ExternalError(
            codes.failed_again.format(count=len(again), file=name),
            problems=again,
            file=name,
            action=codes.again_action,
        )
    return None


def _category(codes: AnswerCodes, code: str | None) -> ErrorCategory | None:
    try:
        return (
            cast(ErrorCategory, codes.category(code).category) if code else ErrorCategory.TECHNICAL
        )
    except ValueError:
        return ErrorCategory.TECHNICAL


# --------------------------------------------------------------------------- queries


def sold_seats(session: Session, performance_id: int) -> set[int]:
    """The seats of the performance held by a valid ticket, whoever sold it."""
    return set(
        session.scalars(
            select(Ticket.seat_id).where(
                Ticket.performance_id == performance_id,
                Ticket.state == TicketState.VALID,
                Ticket.seat_id.is_not(None),
            )
        )
    )


def open_requests_by(session: Session, quota: Quota, column: Any) -> dict[int, PlaceWithdrawal]:
    """The quota's open requests, by seat (``PlaceWithdrawal.seat_id``) or by block."""
    return {
        getattr(row, column.key): row
        for row in session.scalars(
            select(PlaceWithdrawal).where(
                PlaceWithdrawal.quota_id == quota.id,
                PlaceWithdrawal.state.in_(OPEN_STATES),
                column.is_not(None),
            )
        )
    }


def free_places_left(session: Session, quota: Quota, free: QuotaFreePlaces) -> int:
    """Free places of the quota in the block, neither sold nor being taken back."""
    sold = session.scalar(
        select(func.count())
        .select_from(Ticket)
        .join(Order, Order.id == Ticket.order_id)
        .where(
            Ticket.performance_id == quota.performance_id,
            Ticket.block_id == free.block_id,
            Ticket.state == TicketState.VALID,
            Order.channel_id == quota.channel_id,
        )
    )
    asked = session.scalar(
        select(func.coalesce(func.sum(PlaceWithdrawal.places), 0)).where(
            PlaceWithdrawal.quota_id == quota.id,
            PlaceWithdrawal.block_id == free.block_id,
            PlaceWithdrawal.state.in_(OPEN_STATES),
        )
    )
    return free.places - (sold or 0) - (asked or 0)


def _quota_ids(scope: WithdrawalScope) -> Any:
    return (
        select(Quota.id)
        .join(SalesChannel, SalesChannel.id == Quota.channel_id)
        .where(SalesChannel.code == scope.channel, Quota.code == scope.quota)
    )


def _quota(
    session: Session, scope: WithdrawalScope, product_code: str, performance_code: str
) -> tuple[Quota, int]:
    """The reseller's quota on the performance, and the product's configuration id."""
    row = session.execute(
        select(Quota, Product.kind, Product.configuration_id)
        .join(Performance, Performance.id == Quota.performance_id)
        .join(Product, Product.id == Performance.product_id)
        .where(
            Product.code == product_code,
            Performance.code == performance_code,
            Quota.id.in_(_quota_ids(scope)),
        )
    ).first()
    where = f"{product_code} {performance_code}"
    if row is None:
        raise WithdrawalRequestError(
            f"{scope.name} holds no quota on {where}",
            [Problem(f"no {scope.name} quota", value=where)],
        )
    quota, kind, configuration_id = row
    if kind not in SEATED_KINDS or configuration_id is None:
        raise WithdrawalRequestError(
            f"{product_code} is a pass: it has no places to take back (its quota is the sale "
            "sheet's contingent)",
            [Problem("a pass has no places", value=where)],
        )
    return quota, configuration_id


def _seat_ids(session: Session, configuration_id: int, seats: list[SeatRef]) -> dict[SeatRef, int]:
    rows = session.execute(
        select(Zone.code, Block.code, Seat.row, Seat.number, Seat.id)
        .join(Block, Block.id == Seat.block_id)
        .join(Zone, Zone.id == Block.zone_id)
        .where(
            Zone.configuration_id == configuration_id,
            Block.code.in_({seat.block for seat in seats}),
        )
    )
    return {
        SeatRef(zone, block, row, number): seat_id for zone, block, row, number, seat_id in rows
    }


def _seat_request(quota: Quota, seat_id: int, reason: WithdrawalReason) -> PlaceWithdrawal:
    return PlaceWithdrawal(
        quota_id=quota.id,
        performance_id=quota.performance_id,
        seat_id=seat_id,
        places=1,
        reason=reason,
        state=WithdrawalState.REQUESTED,
    )


def _refused_sold(session: Session, quota: Quota, column: Any) -> set[int]:
    return set(
        session.scalars(
            select(column).where(
                PlaceWithdrawal.quota_id == quota.id,
                PlaceWithdrawal.state == WithdrawalState.REFUSED_SOLD,
                column.is_not(None),
            )
        )
    )


def _taken_back_elsewhere(session: Session, quota: Quota, block_id: int) -> bool:
    """An open request on the block from another quota of the performance (one open
    request per block and performance, whatever the quota)."""
    return (
        session.scalar(
            select(PlaceWithdrawal.id).where(
                PlaceWithdrawal.performance_id == quota.performance_id,
                PlaceWithdrawal.block_id == block_id,
                PlaceWithdrawal.quota_id != quota.id,
                PlaceWithdrawal.state.in_(OPEN_STATES),
            )
        )
        is not None
    )


def _free_request(
    session: Session,
    scope: WithdrawalScope,
    quota: Quota,
    configuration_id: int,
    wanted: FreePlacesRef,
    reason: WithdrawalReason,
) -> tuple[PlaceWithdrawal | None, Problem | None]:
    where = f"zone {wanted.zone}, block {wanted.block}, {wanted.places} place(s)"
    block = session.scalar(
        select(Block)
        .join(Zone, Zone.id == Block.zone_id)
        .where(
            Zone.configuration_id == configuration_id,
            Zone.code == wanted.zone,
            Block.code == wanted.block,
        )
    )
    if block is None or not block.free_placement:
        return None, Problem("no such free-placement block in the configuration", value=where)
    free = session.scalar(
        select(QuotaFreePlaces).where(
            QuotaFreePlaces.quota_id == quota.id, QuotaFreePlaces.block_id == block.id
        )
    )
    if wanted.places < 1:
        return None, Problem("ask back at least one place", value=where)
    left = free_places_left(session, quota, free) if free is not None else 0
    if wanted.places > left:
        return None, Problem(
            f"{scope.name}'s quota has {left} unsold place(s) left here", value=where
        )
    open_request = open_requests_by(session, quota, PlaceWithdrawal.block_id).get(block.id)
    if open_request is not None and open_request.state is WithdrawalState.SENT:
        return None, Problem(
            "places of this block are being taken back already: ask again once "
            f"{scope.name} has answered",
            value=where,
        )
    if open_request is not None:
        open_request.places += wanted.places
        return open_request, None
    if _taken_back_elsewhere(session, quota, block.id):
        return None, Problem(
            "places of this block are being taken back from another reseller: ask again once "
            "it has answered",
            value=where,
        )
    return (
        PlaceWithdrawal(
            quota_id=quota.id,
            performance_id=quota.performance_id,
            block_id=block.id,
            places=wanted.places,
            reason=reason,
            state=WithdrawalState.REQUESTED,
        ),
        None,
    )
