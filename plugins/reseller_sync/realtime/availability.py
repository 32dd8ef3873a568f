"""``GET /performances/{id}/availability`` (realtime-api-v1, section 7.3): the counts inside
the reseller's quota per category, and its free seats when asked."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from reseller_sync.realtime.context import ResellerContext
from reseller_sync.realtime.places import (
    SEATED,
    category_counts,
    free_seats,
    instant,
    reseller_quotas,
    utc,
    visible_performances,
)
from reseller_sync.realtime.problems import Problem


def availability(
    session: Session,
    reseller: ResellerContext,
    performance_id: str,
    *,
    with_seats: bool,
    now: dt.datetime,
) -> dict[str, Any]:
    """The Availability object of a performance on the reseller's channel; 404 when it is not
    there, or its sale window there has closed (it has left the catalogue)."""
    performance = visible_performances(session, reseller, [performance_id]).get(performance_id)
    if (
        performance is None
        or performance.closes_at is None
        or utc(performance.closes_at) <= utc(now)
    ):
        raise Problem("not-found", f"performance {performance_id} is not on this channel")
    quotas = reseller_quotas(session, reseller, [performance.id])
    counts = category_counts(session, reseller, quotas, now)
    seats: dict[int, list[dict[str, str]]] = {}
    if with_seats and any(count.placement == SEATED for count in counts.values()):
        for seat in free_seats(
            session, [quota.id for quota in quotas], now, performance_id=performance.id
        ):
            seats.setdefault(seat.category_id, []).append(seat.as_object())
    categories = []
    for count in sorted(counts.values(), key=lambda c: c.category_id):
        entry: dict[str, Any] = {
            "category_id": count.code,
            "placement": count.placement,
            "quota_kind": "shared" if count.shared else "exclusive",
            "quota": count.quota,
            "held": count.held,
            "sold": count.sold,
            "available": count.available,
        }
        if with_seats and count.placement == SEATED:
            entry["seats"] = seats.get(count.category_id, [])
        categories.append(entry)
    return {"performance_id": performance.code, "as_of": instant(now), "categories": categories}
