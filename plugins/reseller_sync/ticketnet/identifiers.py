"""Ticketnet's identifiers of the box office's events and performances
(``ticketnet-exchange-v1`` sections 2, 7.4 and 8.1).

Ticketnet assigns an ``event_id`` to each product and a ``performance_id`` to each of its
performances when a CATALOG creates them; the ACK of that CATALOG gives them (``ids``), and
every later file names the performance by them: ALLOCATION and RELEASE going out, SALES and
INVENTORY coming back.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import Performance, Product
from reseller_sync.boxoffice.partner_ids import (
    PerformanceIds,
    performance_ids,
    record_performance_ids,
)
from reseller_sync.domain.errors import ExternalError
from reseller_sync.ticketnet.ack import Ack, AckStatus
from reseller_sync.ticketnet.errors import Code, TicketnetProblem
from reseller_sync.ticketnet.names import FileType
from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE


@dataclass(frozen=True)
class PartnerPerformances:
    """Ticketnet's identifiers of the box office's performances, as its ACKs gave them.

    ``frame`` has the columns ``event_id``, ``performance_id`` (Ticketnet's) and
    ``performance`` (the box-office performance's id).
    """

    frame: pd.DataFrame

    @classmethod
    def of(cls, pairs: dict[tuple[str, str], int]) -> PartnerPerformances:
        return cls(
            pd.DataFrame(
                [(event, performance, box) for (event, performance), box in pairs.items()],
                columns=["event_id", "performance_id", "performance"],
            ).astype({"event_id": "str", "performance_id": "str", "performance": "int64"})
        )

    @classmethod
    def load(cls, session: Session) -> PartnerPerformances:
        """Every identifier Ticketnet's ACKs gave, as recorded."""
        return cls(performance_ids(session, RESELLER_TYPE.code))


def record_ack_ids(session: Session, ack: Ack, *, source_file_id: int | None = None) -> int:
    """Record the ``ids`` of the CATALOG files an ACK says were applied (section 9.1 point
    12); returns how many performances were new.

    Each entry names the organiser's product and performance by their codes
    (``org_event_code``, ``org_performance_code``): an entry naming no performance of the
    box office, or identifiers that disagree with those recorded, is ``R22`` and nothing
    of the ACK is recorded.
    """
    entries = [
        (file, entry)
        for file in ack.files
        if file.type is FileType.CATALOG and file.status is not AckStatus.REJECTED
        for entry in file.ids
    ]
    if not entries:
        return 0
    products = sorted({entry.org_event_code for _, entry in entries})
    performances = {
        (product, code): performance_id
        for performance_id, product, code in session.execute(
            select(Performance.id, Product.code, Performance.code)
            .join(Product, Performance.product_id == Product.id)
            .where(Product.code.in_(products))
        )
    }
    unknown = [
        TicketnetProblem(
            f"the ACK gives identifiers to performance {entry.org_performance_code} of "
            f"{entry.org_event_code}, which the box office does not have",
            ack.name,
            0,
            f"{file.name}.ids",
            code=Code.R22,
        )
        for file, entry in entries
        if (entry.org_event_code, entry.org_performance_code) not in performances
    ]
    if unknown:
        raise ExternalError(
            f"{ack.name}: R22, identifiers of performances the organiser never offered; "
            "nothing of the ACK was recorded",
            problems=unknown,
            file=ack.name,
        )
    try:
        return record_performance_ids(
            session,
            RESELLER_TYPE.code,
            RESELLER_TYPE.name,
            (
                PerformanceIds(
                    performances[(entry.org_event_code, entry.org_performance_code)],
                    entry.event_id,
                    entry.performance_id,
                    described=f"performance {entry.org_performance_code} of {entry.org_event_code}",
                    where=f"{file.name}.ids",
                )
                for file, entry in entries
            ),
            source_file_id=source_file_id,
        )
    except ExternalError as error:
        raise ExternalError(
            f"{ack.name}: R22, {error.message}",
            problems=[
                TicketnetProblem(problem.reason, ack.name, 0, problem.column, code=Code.R22)
                for problem in error.problems
            ],
            file=ack.name,
        ) from error
