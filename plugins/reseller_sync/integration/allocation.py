"""The places given to a reseller's quota, as the reseller's answer states them, whatever
the reseller.

An adapter whose partner answers each record of an allocation records the places it sent,
one :class:`~reseller_sync.boxoffice.models.PlaceAllocation` per record, in the transaction
that journals the batch (:func:`record_sent`); then, once, the partner's answer record by
record (:func:`record_answer`): a place given, or the partner's already, is *allocated*; a
refused one is *refused* with the partner's code, and stays out of what the partner holds
until a later batch gives it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import AllocationState, PlaceAllocation

PLACE_COLUMNS = ("performance_id", "seat_id", "block_id", "places")
"""What :func:`record_sent` reads of each record: the box office's performance, then a seat,
or free places of a free-placement block."""


@dataclass(frozen=True)
class RecordAnswer:
    """The partner's word on one record: its code, its message, and whether it refused the
    place (a code such as "already allocated" leaves the place the partner's)."""

    code: str
    message: str
    refused: bool


@dataclass(frozen=True)
class AllocationAnswer:
    """A batch's places once answered: how many are the partner's, which were refused."""

    allocated: int
    """Records whose places are the partner's, given now or already."""
    places: int
    """The places of those records."""
    refused: tuple[tuple[int, str], ...]
    """(record, partner's code) of each refused record, in record order."""
    unanswered: int = 0


def record_sent(
    session: Session, reseller: str, file_id: int, places: pd.DataFrame, now: dt.datetime
) -> int:
    """One ``sent`` allocation per row of ``places`` (:data:`PLACE_COLUMNS`, in record
    order: row 1 is record 1), carried by the batch ``file_id``; how many."""
    rows = places.loc[:, list(PLACE_COLUMNS)]
    session.add_all(
        PlaceAllocation(
            reseller_code=reseller,
            performance_id=int(performance_id),
            seat_id=None if pd.isna(seat_id) else int(seat_id),
            block_id=None if pd.isna(block_id) else int(block_id),
            places=int(count),
            state=AllocationState.SENT,
            file_id=file_id,
            line=line,
            sent_at=now,
        )
        for line, (performance_id, seat_id, block_id, count) in enumerate(
            rows.itertuples(index=False, name=None), start=1
        )
    )
    session.flush()
    return len(rows)


def record_answer(
    session: Session,
    file_id: int,
    answers: Mapping[int, RecordAnswer],
    *,
    whole: RecordAnswer | None = None,
    now: dt.datetime,
) -> None:
    """The partner's answer applied to the batch's records still ``sent``: ``whole`` (the
    batch refused whole) for every record, else each record's in ``answers`` (by record
    number), the others allocated. Asked again, it changes nothing; where the places stand
    is :func:`allocation_answer`'s."""
    for allocation in session.scalars(
        select(PlaceAllocation).where(
            PlaceAllocation.file_id == file_id, PlaceAllocation.state == AllocationState.SENT
        )
    ):
        answer = whole if whole is not None else answers.get(allocation.line)
        refused = answer is not None and answer.refused
        allocation.state = AllocationState.REFUSED if refused else AllocationState.ALLOCATED
        allocation.error_code = answer.code if answer is not None else None
        allocation.message = answer.message if answer is not None else None
        allocation.answered_at = now
    session.flush()


def allocation_answer(session: Session, file_id: int) -> AllocationAnswer:
    """Where the places of the batch ``file_id`` stand."""
    counts = dict(
        session.execute(
            select(PlaceAllocation.state, func.count())
            .where(PlaceAllocation.file_id == file_id)
            .group_by(PlaceAllocation.state)
        ).all()
    )
    places = session.scalar(
        select(func.coalesce(func.sum(PlaceAllocation.places), 0)).where(
            PlaceAllocation.file_id == file_id,
            PlaceAllocation.state == AllocationState.ALLOCATED,
        )
    )
    refused = session.execute(
        select(PlaceAllocation.line, PlaceAllocation.error_code)
        .where(
            PlaceAllocation.file_id == file_id,
            PlaceAllocation.state == AllocationState.REFUSED,
        )
        .order_by(PlaceAllocation.line)
    ).all()
    return AllocationAnswer(
        allocated=counts.get(AllocationState.ALLOCATED, 0),
        places=int(places or 0),
        refused=tuple((line, code or "") for line, code in refused),
        unanswered=counts.get(AllocationState.SENT, 0),
    )
