"""Taking places back from FNAC's quota: décontingentement (DECONT, spec 8.3).

The box office asks places back in two ways:

- a person, with :func:`request_withdrawal` (seats, or free places of a
  free-placement block, of one performance);
- the nightly run, with :func:`plan_automatic_withdrawals`: every unsold FNAC
  place of a performance that starts within
  ``nightly.withdraw_unsold_days_before_performance`` days.

Each request is a :class:`~reseller_sync.boxoffice.models.PlaceWithdrawal`,
``requested``. :func:`send_withdrawals` writes every request in one DECONT
file (the PLACES columns, in FNAC's codes through the same mapping as PLACES)
and journals it in the transaction that marks the requests ``sent`` with
their line; the upload follows, and a crash in between leaves a ``prepared``
file that the next run uploads first. Nothing is ever sent twice.

FNAC's ACK decides line by line (:func:`record_withdrawal_ack`, in the
transaction that records the ACK): a line applied takes the places out of
FNAC's quota (the quota seat removed, the free places reduced); ``E07`` means
FNAC sold the place: it stays FNAC's (``refused_sold``, reported, not an
error); ``E99`` puts the request back to ``requested`` for the next file; any
other code marks it ``failed`` and is an error of its category. Until the ACK,
the places are FNAC's and the box office must not sell them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from reseller_sync.boxoffice.models import (
    Block,
    Direction,
    FileState,
    Performance,
    PlaceWithdrawal,
    Product,
    Quota,
    ResellerProduct,
    SalesChannel,
    Seat,
    SeatCategory,
    Venue,
    WithdrawalState,
    Zone,
)
from reseller_sync.domain.errors import ExternalError, Problem, SyncError
from reseller_sync.domain.products import SEATED_KINDS
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange import journal
from reseller_sync.exchange.transport import SftpTransport
from reseller_sync.fnac.acks import AckOutcome, RefusedLine, Verdict, await_ack
from reseller_sync.fnac.adapter import RESELLER_TYPE
from reseller_sync.fnac.names import FileName, FileType
from reseller_sync.fnac.outbound import (
    SessionSource,
    check_folders,
    complete_prepared,
    session_factory,
)
from reseller_sync.fnac.places import PLACES_COLUMNS, _mapped
from reseller_sync.fnac.product import load_fnac_product
from reseller_sync.fnac.reconciliation import PLACES_GIVEN
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.fnac.writer import write_file
from reseller_sync.integration import withdrawal
from reseller_sync.integration.withdrawal import (
    OPEN_STATES,
    FreePlacesRef,
    SeatRef,
    WithdrawalRequestError,
    WithdrawalSend,
)
from reseller_sync.mappings.repository import MappingRepository

__all__ = [
    "OPEN_STATES",
    "SOLD_CODE",
    "FreePlacesRef",
    "SeatRef",
    "WithdrawalRequestError",
    "WithdrawalSend",
    "plan_automatic_withdrawals",
    "record_withdrawal_ack",
    "request_withdrawal",
    "send_withdrawals",
]

log = logging.getLogger(__name__)

SOLD_CODE = "E07"


def _quotas(session: Session, settings: FnacSettings) -> list[withdrawal.QuotaStart]:
    return _quotas_of_products_at_fnac(session, settings)


WITHDRAWALS = withdrawal.AdapterWithdrawals(RESELLER_TYPE.name, _quotas)
scope = WITHDRAWALS.scope
"""FNAC's quota, as the settings name its channel and quota."""
request_withdrawal = WITHDRAWALS.request_withdrawal
"""Ask FNAC to give back seats and free places of one performance (sent by the next run).

Every place must be in FNAC's quota and unsold in the box office. A seat
already asked back is not asked twice; free places asked back again add up
while not sent yet. Raises :class:`WithdrawalRequestError` naming every
place that cannot be asked back, having changed nothing. Runs in the
caller's transaction::

    with session_scope() as session:
        request_withdrawal(session, load_settings(), "EVT-LUMEN", "S1",
                           seats=[("PARTERRE", "P2", "1", "3")],
                           free_places=[("FOSSE", "FOSSE", 20)])
"""
plan_automatic_withdrawals = WITHDRAWALS.plan_automatic_withdrawals
"""Request every unsold FNAC place of a performance starting within the configured days.

Nothing when ``nightly.withdraw_unsold_days_before_performance`` is null.
A place FNAC answered as sold (E07) is not asked again.
"""


# --------------------------------------------------------------------------- the DECONT file


@dataclass(frozen=True)
class DecontBuild:
    records: pd.DataFrame
    """The DECONT data lines (:data:`~reseller_sync.fnac.places.PLACES_COLUMNS`)."""
    withdrawal_ids: tuple[int, ...]
    """The request of each line, in line order (line 1 first)."""


def build_decont(
    session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    withdrawal_ids: Sequence[int],
) -> DecontBuild:
    """The DECONT lines of the requests, product by product, in FNAC's codes (as PLACES).

    Raises MappingError naming every value without its FNAC code.
    """
    rows = _request_lines(session, withdrawal_ids)
    records: list[pd.DataFrame] = []
    order: list[int] = []
    for product_code, lines in rows.groupby("product", sort=True):
        product = session.scalar(select(Product).where(Product.code == product_code))
        assert product is not None
        assert product.configuration is not None
        fnac = load_fnac_product(session, settings, product)
        lines = lines.sort_values(["date_seance", "free", "id"])
        records.append(
            _mapped(
                lines.reset_index(drop=True),
                fnac,
                product.configuration.code,
                repository.for_product(str(product_code)),
            )
        )
        order.extend(int(i) for i in lines["id"])
    if not records:
        return DecontBuild(pd.DataFrame(columns=PLACES_COLUMNS), ())
    return DecontBuild(pd.concat(records, ignore_index=True), tuple(order))


def send_withdrawals(
    sessions: SessionSource,
    transport: SftpTransport,
    settings: FnacSettings,
    repository: MappingRepository,
    *,
    now: dt.datetime | None = None,
    automatic: bool = True,
) -> WithdrawalSend:
    """Send every request in one DECONT file, once; ``automatic`` plans the unsold places first."""
    now = now or dt.datetime.now(dt.UTC)
    factory = session_factory(sessions)
    check_folders(transport, settings)
    completed = complete_prepared(factory, transport, FileType.DECONT)
    prepared: tuple[int, str, bytes, int] | None = None
    planned = 0
    with factory.begin() as session:
        if automatic:
            planned = len(plan_automatic_withdrawals(session, settings, now))
        requested = withdrawal.requested_withdrawals(session, scope(settings))
        if requested:
            decont = build_decont(session, settings, repository, requested)
            sequence = journal.next_outbound_sequence(session, RESELLER_TYPE.code, FileType.DECONT)
            name, data = write_file(
                FileType.DECONT, settings.manager_code, sequence, decont.records, created=now
            )
            entry = journal.prepare_outbound(
                session,
                RESELLER_TYPE.code,
                FileName.parse(name),
                data,
                line_count=len(decont.records),
            )
            withdrawal.mark_sent(session, entry.id, decont.withdrawal_ids, now)
            prepared = (entry.id, name, data, len(decont.records))
    if prepared is not None:
        file_id, name, data, _ = prepared
        transport.upload(name, data)
        with factory.begin() as session:
            journal.mark_sent(session, file_id)
        log.info("Sent %s: %d place line(s) asked back", name, prepared[3])
    with factory() as session:
        awaiting = awaiting_decont(session)
    return WithdrawalSend(
        sent=prepared[1] if prepared else None,
        requests=prepared[3] if prepared else 0,
        automatic=planned,
        completed=tuple(completed),
        awaiting=awaiting,
    )


def awaiting_decont(session: Session) -> tuple[str, ...]:
    """DECONT files sent whose ACK is not recorded yet, in sequence order."""
    return tuple(
        journal.names_in_stream(
            session,
            RESELLER_TYPE.code,
            Direction.OUTBOUND,
            FileType.DECONT.value,
            state=FileState.SENT,
        )
    )


# --------------------------------------------------------------------------- FNAC's answer


@dataclass(frozen=True)
class WithdrawalAnswer:
    """What FNAC's ACK of one DECONT did to the requests it carried."""

    file_name: str
    withdrawn: int = 0
    """Requests applied: their places left FNAC's quota."""
    sold: tuple[Problem, ...] = ()
    """Places FNAC sold (E07): they stay FNAC's."""
    failed: tuple[Problem, ...] = ()
    """Places refused for another reason: a person acts."""
    again: int = 0
    """Requests FNAC failed on (E99): they go out in the next DECONT."""
    error: SyncError | None = field(default=None, compare=False)

    def summary(self) -> dict[str, object]:
        return {
            "file": self.file_name,
            "withdrawn": self.withdrawn,
            "sold": [str(problem) for problem in self.sold],
            "failed": [str(problem) for problem in self.failed],
            "sent_again_next_run": self.again,
        }


def record_withdrawal_ack(
    session: Session, transport: SftpTransport, settings: FnacSettings, file_name: str
) -> WithdrawalAnswer | None:
    """FNAC's ACK of a DECONT, applied to its requests in the caller's transaction.

    None while FNAC has not answered. Asked again once applied, it returns the
    same answer and changes nothing.
    """
    outcome = await_ack(session, transport, settings, file_name)
    if outcome is None:
        return None
    now = dt.datetime.now(dt.UTC)
    sent = journal.find_file(session, RESELLER_TYPE.code, Direction.OUTBOUND, file_name)
    file_id = sent.id if sent is not None else None
    withdrawal.apply_answers(
        session, file_id, lambda request: _answer(_refusal_of(outcome, request.line)), now
    )
    return withdrawal_answer(session, outcome, file_id)


def withdrawal_answer(
    session: Session, outcome: AckOutcome, file_id: int | None
) -> WithdrawalAnswer:
    """The requests of a DECONT as FNAC's ACK left them, described for a person."""
    rows = session.scalars(
        select(PlaceWithdrawal)
        .where(PlaceWithdrawal.file_id == file_id)
        .order_by(PlaceWithdrawal.line)
    ).all()
    described = withdrawal.described_places(session, [row.id for row in rows])

    def problems(state: WithdrawalState) -> tuple[Problem, ...]:
        return tuple(
            Problem(
                f"{row.error_code} {row.message or ''}".strip(),
                file=outcome.sent_file,
                line=row.line,
                value=described.get(row.id),
            )
            for row in rows
            if row.state is state
        )

    again = sum(1 for line in outcome.refused if line.verdict is Verdict.TEMPORARY)
    return WithdrawalAnswer(
        file_name=outcome.sent_file,
        withdrawn=sum(1 for row in rows if row.state is WithdrawalState.WITHDRAWN),
        sold=problems(WithdrawalState.REFUSED_SOLD),
        failed=problems(WithdrawalState.FAILED),
        again=again,
        error=_error(outcome),
    )


def _error(outcome: AckOutcome) -> SyncError | None:
    """The error to raise: the ACK's own, except FNAC's failure (E99), which the next run
    sends again by itself (the requests went back to ``requested``)."""
    error = outcome.error()
    if error is None or not error.temporary:
        return error
    return ExternalError(
        error.message,
        problems=error.problems,
        file=error.file,
        action=Localized(
            fr="{reseller} a échoué de son côté (E99) : les places repartent dans le DECONT de "
            "la prochaine exécution. Si l'échec persiste, contactez {reseller} avec le nom du "
            "fichier.",
            en="{reseller} failed on its side (E99): the places go out again in the next "
            "run's DECONT. If it keeps failing, contact {reseller} with the file name.",
        ),
    )


def _refusal_of(outcome: AckOutcome, line: int | None) -> RefusedLine | None:
    for refused in outcome.refused:
        if refused.line == line and line:
            return refused
    if outcome.whole_file_refused:
        return next((refused for refused in outcome.refused if refused.line == 0), None)
    return None


def _answer(refusal: RefusedLine | None) -> withdrawal.Answer | None:
    """An ACK line's verdict in neutral words: applied, sold (E07), sent again (E99,
    detached from this DECONT) or failed."""
    if refusal is None:
        return None
    if refusal.verdict is Verdict.FINE:
        outcome = withdrawal.Outcome.WITHDRAWN
    elif refusal.code == SOLD_CODE:
        outcome = withdrawal.Outcome.SOLD
    elif refusal.verdict is Verdict.TEMPORARY:
        outcome = withdrawal.Outcome.RESEND
    else:
        outcome = withdrawal.Outcome.FAILED
    return withdrawal.Answer(outcome, refusal.code, refusal.message or refusal.meaning)


# --------------------------------------------------------------------------- helpers


def _quotas_of_products_at_fnac(
    session: Session, settings: FnacSettings
) -> list[tuple[Quota, dt.datetime, str]]:
    """FNAC's quotas on dated performances of the seated products whose places FNAC holds."""
    rows = session.execute(
        select(Quota, Performance.starts_at, Product.venue_id)
        .join(Performance, Performance.id == Quota.performance_id)
        .join(Product, Product.id == Performance.product_id)
        .join(ResellerProduct, ResellerProduct.product_id == Product.id)
        .join(SalesChannel, SalesChannel.id == Quota.channel_id)
        .where(
            ResellerProduct.reseller_code == RESELLER_TYPE.code,
            ResellerProduct.state.in_(PLACES_GIVEN),
            Product.code.in_(settings.product_codes),
            Product.kind.in_(SEATED_KINDS),
            Performance.starts_at.is_not(None),
            SalesChannel.code == settings.boxoffice.channel,
            Quota.code == settings.boxoffice.quota,
        )
        .order_by(Performance.starts_at, Quota.id)
    ).all()
    zones = {
        venue_id: timezone
        for venue_id, timezone in session.execute(select(Venue.id, Venue.timezone))
    }
    return [
        (quota, starts_at, zones.get(venue_id) or settings.boxoffice.venue_timezone)
        for quota, starts_at, venue_id in rows
        if starts_at is not None  # dated performances only (the query says so too)
    ]


def _request_lines(session: Session, withdrawal_ids: Sequence[int]) -> pd.DataFrame:
    """One row per request, in the organiser's words, as places.py maps them."""
    seat_block = aliased(Block)
    category = aliased(SeatCategory)
    rows = session.execute(
        select(
            PlaceWithdrawal.id,
            Product.code,
            PlaceWithdrawal.performance_id,
            Performance.starts_at,
            Quota.code,
            Zone.code,
            seat_block.code,
            Seat.row,
            Seat.number,
            category.code,
            PlaceWithdrawal.places,
        )
        .join(Performance, Performance.id == PlaceWithdrawal.performance_id)
        .join(Product, Product.id == Performance.product_id)
        .join(Quota, Quota.id == PlaceWithdrawal.quota_id)
        .outerjoin(Seat, Seat.id == PlaceWithdrawal.seat_id)
        .join(seat_block, seat_block.id == func.coalesce(Seat.block_id, PlaceWithdrawal.block_id))
        .join(Zone, Zone.id == seat_block.zone_id)
        .join(category, category.id == func.coalesce(Seat.category_id, seat_block.category_id))
        .where(PlaceWithdrawal.id.in_(list(withdrawal_ids)))
    ).all()
    lines = pd.DataFrame(
        [tuple(row) for row in rows],
        columns=[
            "id",
            "product",
            "performance_id",
            "date_seance",
            "quota_code",
            "zone",
            "block",
            "rang",
            "place",
            "category",
            "quantite",
        ],
    )
    lines["date_seance"] = pd.to_datetime(lines["date_seance"]).astype("datetime64[us]")
    lines["free"] = lines["rang"].isna()
    return lines.astype({"quantite": "int64", "zone": "str", "block": "str", "category": "str"})
