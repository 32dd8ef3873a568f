"""Taking places back from Ticketnet's allocation: RELEASE records in an ``OFFER`` batch
(``ticketnet-exchange-v1`` sections 8.3, 9.1 point 12 and 10.1).

The box office asks places back as for any reseller
(:mod:`reseller_sync.integration.withdrawal`): a person with
:func:`request_withdrawal`, the nightly run with :func:`plan_automatic_withdrawals`
(every unsold place of Ticketnet's quota on a performance starting within
``nightly.withdraw_unsold_days_before_performance`` days). :func:`send_withdrawals`
writes every request in ONE ``OFFER`` batch holding RELEASE records, in Ticketnet's
codes (as ALLOCATION), journals it in the transaction that marks the requests
``sent`` with their record, then uploads it: data files first, the manifest last.
A crash in between leaves a ``prepared`` batch that the next send uploads first, under
its number. Nothing is ever sent twice.

Until Ticketnet's ACK says a place was released, it is Ticketnet's, and the box office
must not sell it elsewhere. :func:`record_release_ack` applies the ACK record by record:

====================  =================================================================
released              the place leaves Ticketnet's quota (``withdrawn``)
A05                   Ticketnet sold the seat: it stays in its allocation
                      (``refused_sold``, reported, not an error)
A06                   fewer places available in the area than asked: nothing released;
                      the request goes out again with at most ``available`` places
                      (none available: ``refused_sold``)
A07                   the place is not in Ticketnet's allocation: it leaves Ticketnet's
                      quota, recorded as not Ticketnet's (``withdrawn``, code A07), to
                      reconcile
Z99 (batch)           Ticketnet failed: the requests go out in the next run's batch
other codes           ``failed``, an error of the code's category: a person acts, then
                      asks the places back again
====================  =================================================================
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from reseller_sync.boxoffice.models import (
    Block,
    Direction,
    Performance,
    PlaceWithdrawal,
    Seat,
    Zone,
)
from reseller_sync.domain.errors import (
    TechnicalError,
)
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange import journal
from reseller_sync.exchange.transport import SftpTransport
from reseller_sync.integration import withdrawal
from reseller_sync.integration.withdrawal import (
    FreePlacesRef,
    SeatRef,
    WithdrawalRequestError,
    WithdrawalSend,
)
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.ticketnet.ack import AckStatus, parse_ack
from reseller_sync.ticketnet.errors import Code
from reseller_sync.ticketnet.identifiers import PartnerPerformances
from reseller_sync.ticketnet.names import FileName, FileType, Stream
from reseller_sync.ticketnet.naming import NAMING
from reseller_sync.ticketnet.offer import offer_batch, release
from reseller_sync.ticketnet.outbound import (
    OfferAnswer,
    Refusal,
    SessionSource,
    await_ack,
    complete_prepared,
    session_factory,
    uploads,
)
from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE
from reseller_sync.ticketnet.settings import TicketnetSettings
from reseller_sync.ticketnet.writer import MAX_RECORDS_PER_PART, BuiltBatch

__all__ = [
    "FreePlacesRef",
    "ReleaseAnswer",
    "SeatRef",
    "WithdrawalRequestError",
    "WithdrawalSend",
    "awaiting_release",
    "plan_automatic_withdrawals",
    "record_release_ack",
    "request_withdrawal",
    "send_withdrawals",
]

log = logging.getLogger(__name__)

RESELLER = RESELLER_TYPE.code
STREAM = Stream.OFFER.value
NUMBERING_ATTEMPTS = 3
RELEASED_AGAIN = (Code.A06, Code.Z99)
"""Codes after which a request goes out again, in the next run's batch."""

AGAIN_ACTION = Localized(
    fr="{reseller} a échoué de son côté (Z99) : rien n'a été libéré, les places repartent dans "
    "le lot RELEASE de la prochaine exécution. Si l'échec persiste, appelez {reseller} avec le "
    "nom du lot.",
    en="{reseller} failed on its side (Z99): nothing was released, the places go out again in "
    "the next run's RELEASE batch. If it keeps failing, call {reseller} with the batch name.",
)
FAILED_ACTION = Localized(
    fr="Ces places restent à {reseller}. Corrigez ce que dit chaque enregistrement refusé (A01 à "
    "A03 : le mapping d'événement, de zone ou de catégorie ; B01 à B07 : contactez le support), "
    "puis redemandez ces places (request_withdrawal) : elles ne repartent pas d'elles-mêmes.",
    en="These places stay {reseller}'s. Fix what each refused record says (A01 to A03: the "
    "event, zone or category mapping; B01 to B07: contact support), then ask these places back "
    "again (request_withdrawal): they do not go out again by themselves.",
)


def _known_quotas(session: Session, settings: TicketnetSettings) -> list[withdrawal.QuotaStart]:
    """Ticketnet's quotas on the dated performances of the settings' seated products that
    Ticketnet has identifiers of, with their start and the venue's time zone."""
    known = PartnerPerformances.load(session).frame["performance"].astype("int64").tolist()
    return withdrawal.dated_quotas(session, settings, Performance.id.in_(known))


WITHDRAWALS = withdrawal.AdapterWithdrawals(RESELLER_TYPE.name, _known_quotas)
scope = WITHDRAWALS.scope
"""Ticketnet's quota, as the settings name its channel and quota."""
request_withdrawal = WITHDRAWALS.request_withdrawal
"""Ask Ticketnet to release seats and free places of one performance (sent by the next
run); raises :class:`WithdrawalRequestError` naming each place that cannot be asked back,
having changed nothing. Runs in the caller's transaction::

    with session_scope() as session:
        request_withdrawal(session, load_settings(), "EVT-LUMEN", "S1",
                           seats=[("PARTERRE", "P3", "1", "3")],
                           free_places=[("FOSSE", "FOSSE", 20)])
"""
plan_automatic_withdrawals = WITHDRAWALS.plan_automatic_withdrawals
"""Request every unsold place of Ticketnet's quota on a performance it knows (its ids
recorded) starting within ``nightly.withdraw_unsold_days_before_performance`` days of
``now`` (aware); nothing when that setting is null."""


# --------------------------------------------------------------------------- the batch


@dataclass(frozen=True)
class ReleaseBuild:
    records: pa.Table
    """The RELEASE records, as :func:`~reseller_sync.ticketnet.offer.release` writes them."""
    withdrawal_ids: tuple[int, ...]
    """The request of each record, in record order (record 1 first)."""


def build_release(
    session: Session,
    settings: TicketnetSettings,
    repository: MappingRepository,
    performances: PartnerPerformances,
    withdrawal_ids: Sequence[int],
) -> ReleaseBuild:
    """The RELEASE records of the requests, and which request each record carries.

    Raises :class:`MappingError` for a performance Ticketnet has no ids of, or a value
    without its Ticketnet code.
    """
    places = _request_places(session, withdrawal_ids)
    records = release(session, settings, repository, performances, places)
    _check_order(records, places)
    return ReleaseBuild(records, tuple(int(i) for i in places["id"]))


def _request_places(session: Session, withdrawal_ids: Sequence[int]) -> pd.DataFrame:
    """One row per request, in the order :func:`release` writes its records: performance
    by performance in date order, seats before free-placement blocks, then by zone, block
    and seat (box-office codes and ids)."""
    rows = session.execute(
        select(
            PlaceWithdrawal.id,
            PlaceWithdrawal.performance_id,
            PlaceWithdrawal.seat_id,
            PlaceWithdrawal.block_id,
            PlaceWithdrawal.places,
            Performance.starts_at,
            Zone.code,
            Block.code,
            Seat.row,
            Seat.number,
        )
        .join(Performance, Performance.id == PlaceWithdrawal.performance_id)
        .outerjoin(Seat, Seat.id == PlaceWithdrawal.seat_id)
        .join(Block, Block.id == func.coalesce(Seat.block_id, PlaceWithdrawal.block_id))
        .join(Zone, Zone.id == Block.zone_id)
        .where(PlaceWithdrawal.id.in_(list(withdrawal_ids)))
    ).all()
    places = pd.DataFrame(
        [tuple(row) for row in rows],
        columns=[
            "id",
            "performance_id",
            "seat_id",
            "block_id",
            "places",
            "starts_at",
            "zone",
            "block",
            "row",
            "number",
        ],
    ).astype({"seat_id": "Int64", "block_id": "Int64", "places": "int64"})
    places["free"] = places["seat_id"].isna()
    places["block_id"] = places["block_id"].where(places["free"])
    keys = ["starts_at", "performance_id", "free", "zone", "block", "seat_id"]
    return places.sort_values(keys, kind="stable").reset_index(drop=True)


def _check_order(records: pa.Table, places: pd.DataFrame) -> None:
    """Each record is its request's place: a seat's row and number, an area's places.
    Guards the record ↔ request link against a change of the writer's order."""
    written = records.select(["row", "seat", "quantity"]).to_pandas()
    expected_row = places["row"].fillna("").astype("str")
    expected_seat = places["number"].fillna("").astype("str")
    agree = (
        len(written) == len(places)
        and (written["row"].to_numpy() == expected_row.to_numpy()).all()
        and (written["seat"].to_numpy() == expected_seat.to_numpy()).all()
        and (written["quantity"].astype("int64").to_numpy() == places["places"].to_numpy()).all()
    )
    if not agree:
        raise TechnicalError(
            "the RELEASE records are not in the order of the places asked back: the record of "
            "each request cannot be told; nothing was sent"
        )


def send_withdrawals(
    sessions: SessionSource,
    transport: SftpTransport,
    settings: TicketnetSettings,
    repository: MappingRepository,
    *,
    now: dt.datetime | None = None,
    automatic: bool = True,
) -> WithdrawalSend:
    """Send every request in one OFFER batch of RELEASE records, once; ``automatic`` plans
    the unsold places first. A mapping error changes nothing: the requests wait."""
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    factory = session_factory(sessions)
    completed = complete_prepared(factory, transport)
    planned, prepared = _prepare(factory, settings, repository, now, automatic)
    if prepared is not None:
        file_id, built = prepared
        transport.upload_all(
            uploads(built.manifest.name, built.manifest_bytes, built.files.items())
        )
        with factory.begin() as session:
            journal.mark_sent(session, file_id)
        log.info(
            "Sent %s: %d place record(s) asked back",
            built.manifest.name,
            sum(f.records for f in built.manifest.files),
        )
    with factory() as session:
        awaiting = awaiting_release(session, settings)
    return WithdrawalSend(
        sent=prepared[1].manifest.name if prepared else None,
        requests=sum(f.records for f in prepared[1].manifest.files) if prepared else 0,
        automatic=planned,
        completed=tuple(completed),
        awaiting=awaiting,
    )


def _prepare(
    factory: sessionmaker[Session],
    settings: TicketnetSettings,
    repository: MappingRepository,
    now: dt.datetime,
    automatic: bool,
) -> tuple[int, tuple[int, BuiltBatch] | None]:
    """Plan, build, number and journal the batch (``prepared``) with its requests marked
    ``sent``, in one transaction; retried when another send took the number."""
    for attempt in range(1, NUMBERING_ATTEMPTS + 1):
        try:
            with factory.begin() as session:
                planned = (
                    len(plan_automatic_withdrawals(session, settings, now)) if automatic else 0
                )
                requested = withdrawal.requested_withdrawals(session, scope(settings))
                if not requested:
                    return planned, None
                performances = PartnerPerformances.load(session)
                built_release = build_release(
                    session, settings, repository, performances, requested
                )
                number = journal.next_outbound_sequence(session, RESELLER, STREAM)
                built = offer_batch(
                    number,
                    settings,
                    {FileType.RELEASE: built_release.records},
                    created_at=now.isoformat(),
                )
                name = NAMING.parse(built.manifest.name)
                assert name is not None  # the writer's names are the contract's
                entry = journal.prepare_outbound(
                    session,
                    RESELLER,
                    name,
                    built.manifest_bytes,
                    line_count=built_release.records.num_rows,
                    members=list(built.files.items()),
                )
                withdrawal.mark_sent(session, entry.id, built_release.withdrawal_ids, now)
                return planned, (entry.id, built)
        except IntegrityError:
            if attempt == NUMBERING_ATTEMPTS:
                raise TechnicalError(
                    "could not number a new OFFER batch: another send took number after number "
                    f"({NUMBERING_ATTEMPTS} attempts)"
                ) from None
    raise AssertionError("unreachable")


def awaiting_release(session: Session, settings: TicketnetSettings) -> tuple[str, ...]:
    """The batches (manifest names) holding requests Ticketnet has not answered, in number
    order."""
    names = withdrawal.awaiting_files(session, settings)
    return tuple(sorted(names, key=_number))


def _number(name: str) -> int:
    parsed = FileName.parse(name)
    return parsed.batch.number if parsed is not None else 0


# --------------------------------------------------------------------------- Ticketnet's answer


CODES = withdrawal.AnswerCodes(
    outcomes={
        Code.A05: withdrawal.Outcome.SOLD,
        Code.A06: withdrawal.Outcome.FEWER,
        Code.A07: withdrawal.Outcome.NOT_HELD,
        Code.Z99: withdrawal.Outcome.AGAIN,
    },
    fewer=Code.A06.value,
    not_held=Code.A07.value,
    again=Code.Z99.value,
    category=Code,
    refused="Ticketnet refused {count} place(s) asked back in {file}: they stay Ticketnet's",
    failed_again="Ticketnet failed on {file} (Z99): {count} place(s) go out again in the next "
    "run's batch",
    refused_action=FAILED_ACTION,
    again_action=AGAIN_ACTION,
)
"""What an ACK's code does to a RELEASE request: A05 sold, kept; A06 asked again with at
most the places available (none: kept); A07 not Ticketnet's, out of its quota; Z99 sent
again; any other code ``failed``; and the contract's words."""


class ReleaseAnswer(withdrawal.AnsweredFile):
    """What Ticketnet's ACK of one batch did to the requests it carried: sold (A05, or A06
    with none available), limited (A06), not held (A07), failed, again (Z99)."""


def record_release_ack(
    session: Session, transport: SftpTransport, batch: str
) -> ReleaseAnswer | None:
    """Ticketnet's ACK of ``batch`` (its manifest name) applied to the requests it carried,
    record by record, in the caller's transaction; None while Ticketnet has not answered.

    The ACK is landed and recorded once (:func:`~reseller_sync.ticketnet.outbound.await_ack`);
    asked again, it returns the same answer and changes nothing.
    """
    answer = await_ack(session, transport, batch)
    if answer is None:
        return None
    sent = journal.find_file(session, RESELLER, Direction.OUTBOUND, batch)
    assert sent is not None  # await_ack checked it
    available = _available(session, answer.ack_file)
    whole = _whole_batch_refusal(answer)
    refusals = _refusals_by_line(answer)

    def answer_of(request: PlaceWithdrawal) -> withdrawal.Answer | None:
        refusal = whole if answer.status is AckStatus.REJECTED else refusals.get(request.line or 0)
        if refusal is None:
            return None
        return withdrawal.Answer(
            CODES.outcome(refusal.code),
            refusal.code.value,
            refusal.message,
            available.get((refusal.file or "", refusal.record or 0), 0),
        )

    withdrawal.apply_answers(session, sent.id, answer_of, dt.datetime.now(dt.UTC))
    result = release_answer(session, batch, sent.id)
    if result.not_held:
        log.warning(
            "%s: %d place(s) asked back were not in Ticketnet's allocation (A07): out of its "
            "quota, to reconcile",
            batch,
            len(result.not_held),
        )
    return result


def _whole_batch_refusal(answer: OfferAnswer) -> Refusal | None:
    """Why a ``REJECTED`` batch was refused whole (nothing of it applied); None otherwise."""
    if answer.status is not AckStatus.REJECTED:
        return None
    if not answer.refusals:
        raise TechnicalError(f"{answer.ack_file} rejects {answer.batch} without saying why")
    return answer.refusals[0]


def _refusals_by_line(answer: OfferAnswer) -> dict[int, Refusal]:
    """The refusals of the RELEASE records by the request's line (records counted across
    parts, as the requests were numbered)."""
    found: dict[int, Refusal] = {}
    for refusal in answer.refusals:
        parsed = FileName.parse(refusal.file) if refusal.file else None
        if (
            refusal.record is not None
            and parsed is not None
            and parsed.type is FileType.RELEASE
            and parsed.part is not None
        ):
            found[(parsed.part - 1) * MAX_RECORDS_PER_PART + refusal.record] = refusal
    return found


def _available(session: Session, ack_name: str) -> dict[tuple[str, int], int]:
    """``available`` of each A06 record of the ACK, by (file, record)."""
    ack = journal.find_file(session, RESELLER, Direction.INBOUND, ack_name)
    if ack is None:
        return {}
    parsed = parse_ack(ack_name, journal.file_content(session, ack.id))
    return {
        (file.name, error.record): error.available
        for file in parsed.files
        for error in file.errors
        if error.code is Code.A06 and error.available is not None
    }


def release_answer(session: Session, batch: str, file_id: int) -> ReleaseAnswer:
    """The requests of a batch as Ticketnet's ACK left them, described for a person."""
    return withdrawal.answered_file(session, ReleaseAnswer, batch, file_id, CODES)
