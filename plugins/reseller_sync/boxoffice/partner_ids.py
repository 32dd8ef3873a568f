"""A reseller's own identifiers of the box office's performances (``ResellerPerformance``).

Some resellers do not take the organiser's codes: they give each event and
performance an identifier of their own when the organiser's offer creates it,
and their answer says which. They never change one: a performance known by
other identifiers, or identifiers already naming another performance, is the
reseller's error, and nothing of the answer is recorded then.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import ResellerPerformance
from reseller_sync.domain.errors import ExternalError, Problem


@dataclass(frozen=True)
class PerformanceIds:
    """One box-office performance and the reseller's identifiers of it."""

    performance_id: int
    partner_event_id: str
    partner_performance_id: str
    described: str = ""
    """The performance in words, for problems (``performance S1 of EVT-LUMEN``)."""
    where: str | None = None
    """Where the reseller's answer gives the identifiers, for problems."""

    @property
    def named(self) -> str:
        return self.described or f"performance {self.performance_id}"


def performance_ids(session: Session, reseller: str) -> pd.DataFrame:
    """Every recorded performance of ``reseller``: columns ``performance`` (the box office's
    id), ``event_id`` and ``performance_id`` (the reseller's)."""
    rows = session.execute(
        select(
            ResellerPerformance.performance_id,
            ResellerPerformance.partner_event_id,
            ResellerPerformance.partner_performance_id,
        ).where(ResellerPerformance.reseller_code == reseller)
    ).all()
    frame = pd.DataFrame(rows, columns=["performance", "event_id", "performance_id"])
    return frame.astype({"performance": "int64", "event_id": "str", "performance_id": "str"})


def record_performance_ids(
    session: Session,
    reseller: str,
    reseller_name: str,
    given: Iterable[PerformanceIds],
    *,
    source_file_id: int | None = None,
) -> int:
    """Record the identifiers the reseller gave; those recorded already change nothing.

    Returns how many performances were new. Raises :class:`ExternalError`, recording
    nothing, when the reseller gave a performance other identifiers than before, or gave
    identifiers it had given another performance.
    """
    given = list(given)
    known = {
        row.performance_id: row
        for row in session.scalars(
            select(ResellerPerformance).where(ResellerPerformance.reseller_code == reseller)
        )
    }
    by_ids = {(row.partner_event_id, row.partner_performance_id): row for row in known.values()}
    problems: list[Problem] = []
    new: dict[int, PerformanceIds] = {}
    for ids in given:
        pair = (ids.partner_event_id, ids.partner_performance_id)
        before = known.get(ids.performance_id)
        if before is not None:
            if (before.partner_event_id, before.partner_performance_id) != pair:
                problems.append(
                    Problem(
                        f"{reseller_name} gave {ids.named} the identifiers {pair[0]}/"
                        f"{pair[1]}, after {before.partner_event_id}/"
                        f"{before.partner_performance_id}: it never changes them",
                        column=ids.where,
                    )
                )
            continue
        other = by_ids.get(pair) or next(
            (
                earlier
                for earlier in new.values()
                if (earlier.partner_event_id, earlier.partner_performance_id) == pair
            ),
            None,
        )
        if other is not None and other.performance_id != ids.performance_id:
            problems.append(
                Problem(
                    f"{reseller_name} gave {ids.named} the identifiers {pair[0]}/{pair[1]}, "
                    "which name another performance already",
                    column=ids.where,
                )
            )
            continue
        new[ids.performance_id] = ids
    if problems:
        raise ExternalError(
            f"{reseller_name}'s identifiers of the box office's performances disagree with "
            "those it gave before: nothing of its answer was recorded",
            problems=problems,
        )
    session.add_all(
        ResellerPerformance(
            reseller_code=reseller,
            performance_id=ids.performance_id,
            partner_event_id=ids.partner_event_id,
            partner_performance_id=ids.partner_performance_id,
            source_file_id=source_file_id,
        )
        for ids in new.values()
    )
    session.flush()
    return len(new)
