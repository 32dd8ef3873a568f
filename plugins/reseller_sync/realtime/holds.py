"""Holds (realtime-api-v1, section 7.4): places taken out of everyone's availability until
``expires_at``, all or nothing, then ordered, released or expired.

A hold's state follows from its row and the caller's clock: ``ordered`` once an order used
it, ``released`` once released, ``expired`` from ``expires_at`` (whether or not the sweep
has counted it), else ``active``. An expired or released hold is forgotten 24 hours after it
ended: it then answers 404 as an unknown id does.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    Block,
    Performance,
    RealtimeHold,
    RealtimeHoldPlace,
    RealtimeOrder,
    Seat,
    SeatCategory,
)
from reseller_sync.realtime.context import ResellerContext
from reseller_sync.realtime.places import (
    SEATED,
    NamedSeat,
    PlaceCount,
    VisiblePerformance,
    active_hold,
    best_free_seats,
    counted_available,
    counted_place_counts,
    hold_place_order,
    insert_places,
    instant,
    lock_best_seats,
    lock_quotas,
    named_seats,
    offered_categories,
    reseller_quotas,
    seat_claim,
    seat_object,
    seat_states,
    seat_unavailable_reason,
    sold_seats,
    sweep_expired,
    take_counted_places,
    take_over_claims,
    utc,
    visible_performances,
)
from reseller_sync.realtime.problems import Problem, error_item

FORGOTTEN_AFTER = dt.timedelta(hours=24)
"""An ended hold (expired or released) answers 404 this long after it ended."""


def hold_state(hold: RealtimeHold, now: dt.datetime) -> str:
    """``ordered``, ``released``, ``expired`` or ``active`` at ``now``."""
    if hold.order_id is not None:
        return "ordered"
    if hold.released_at is not None:
        return "released"
    if hold.swept_at is not None or utc(hold.expires_at) <= utc(now):
        return "expired"
    return "active"


def hold_ended_at(hold: RealtimeHold) -> dt.datetime | None:
    """When an unordered hold ended (released, else expired); None for an ordered one."""
    if hold.order_id is not None:
        return None
    return utc(hold.released_at or hold.expires_at)


def find_hold(
    session: Session,
    reseller: ResellerContext,
    hold_id: str,
    now: dt.datetime,
    *,
    lock: bool = False,
) -> RealtimeHold:
    """The reseller's hold by its public id, 404 when it is another's, unknown or forgotten.
    ``lock``: its row locked (``FOR UPDATE``) and read again from the database."""
    query = select(RealtimeHold).where(
        RealtimeHold.public_id == hold_id, RealtimeHold.reseller_code == reseller.reseller_code
    )
    if lock:
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    hold = session.scalar(query)
    if hold is not None:
        ended = hold_ended_at(hold)
        if ended is None or utc(now) < ended + FORGOTTEN_AFTER:
            return hold
    raise Problem("not-found", f"hold {hold_id} is not this reseller's, or is forgotten")


# --------------------------------------------------------------------------- POST /holds


@dataclass
class _Place:
    """A place the new hold takes, before it is written."""

    line: int
    performance_id: int
    category_id: int
    quota_id: int
    seat_id: int | None = None
    block_id: int | None = None
    seat: dict[str, str] | None = None

    @property
    def claim(self) -> str | None:
        return seat_claim(self.performance_id, self.seat_id) if self.seat_id is not None else None


class _SeatsTakenError(Exception):
    """Raised by an attempt (its places deleted): seats just chosen were claimed or sold
    meanwhile."""

    def __init__(self, held: set[str], sold: set[str]) -> None:
        super().__init__(f"{len(held)} held, {len(sold)} sold")
        self.held = held
        self.sold = sold


ATTEMPTS = 10
"""Best seats are picked again this many times at most when others claim them meanwhile."""


def create_hold(
    session: Session, reseller: ResellerContext, body: dict[str, Any], now: dt.datetime
) -> dict[str, Any]:
    """Hold every place of the body's lines, or none (section 8, G2); the Hold object.

    Checks in the order of section 11: the performances (404), the seats and categories
    named (422 ``unknown_seat``, ``unknown_category``), one currency (422
    ``mixed_currencies``), the sale windows (409 ``sale-closed``), then each line's places
    (409 ``places-unavailable``, one error per failing line).

    Seats are taken by claiming them (see :mod:`reseller_sync.realtime.places`): no quota
    lock, and never the quota's seat list: the best seats of a category line come from one
    bounded query, picked one request after the other per category
    (:func:`~reseller_sync.realtime.places.lock_best_seats`), then are claimed; a seat a
    hold naming it claimed or sold meanwhile is picked again (:data:`ATTEMPTS`). A seat
    named by the request that turns out held or sold is a ``places-unavailable`` error.
    Counted places are counted under their quotas' locks, taken first (quota before holds
    and places, the order every request locks them in). A failed attempt deletes the
    places it wrote: it leaves nothing behind.
    """
    now = utc(now)
    lines: list[dict[str, Any]] = body["lines"]
    expires_in = body.get("expires_in")
    if expires_in is None:
        expires_in = ResellerContext.HOLD_DEFAULT_SECONDS

    performances = visible_performances(
        session, reseller, {line["performance_id"] for line in lines}
    )
    missing = [i for i, line in enumerate(lines) if line["performance_id"] not in performances]
    if missing:
        raise Problem(
            "not-found",
            "a performance of the hold is not on this channel",
            [
                error_item(
                    f"performance {lines[i]['performance_id']} is not on this channel",
                    pointer=f"#/lines/{i}/performance_id",
                )
                for i in missing
            ],
        )
    performance_ids = {performance.id for performance in performances.values()}
    quotas = reseller_quotas(session, reseller, performance_ids)
    offered = offered_categories(session, reseller, quotas)
    category_ids = _category_ids(
        session, {line["category_id"] for line in lines if line.get("category_id")}
    )
    named = _named_seats(session, lines, performances)

    # 11: seats and categories known within their performance.
    errors = []
    for i, line in enumerate(lines):
        performance = performances[line["performance_id"]]
        if line.get("seat_id") is not None:
            if i not in named:
                errors.append(
                    error_item(
                        f"seat {line['seat_id']} is not a seat of performance {performance.code}",
                        pointer=f"#/lines/{i}/seat_id",
                        reason="unknown_seat",
                    )
                )
        elif (performance.id, category_ids.get(line["category_id"], 0)) not in offered:
            errors.append(
                error_item(
                    f"category {line['category_id']} is not offered on performance "
                    f"{performance.code}",
                    pointer=f"#/lines/{i}/category_id",
                    reason="unknown_category",
                )
            )
    if errors:
        raise Problem("validation-failed", "a seat or category of the hold is unknown", errors)
    currencies = {performances[line["performance_id"]].currency for line in lines}
    if len(currencies) > 1:
        first = performances[lines[0]["performance_id"]].currency
        raise Problem(
            "validation-failed",
            "the lines are on products of different currencies",
            [
                error_item(
                    "this line's product is in another currency than the first line's",
                    pointer=f"#/lines/{i}/performance_id",
                    reason="mixed_currencies",
                )
                for i, line in enumerate(lines)
                if performances[line["performance_id"]].currency != first
            ],
        )

    # 12: sale windows, then places.
    closed = [
        i for i, line in enumerate(lines) if not performances[line["performance_id"]].on_sale(now)
    ]
    if closed:
        raise Problem(
            "sale-closed",
            "the sale window on this channel is not open",
            [
                error_item(
                    f"performance {lines[i]['performance_id']} is not on sale on this channel",
                    pointer=f"#/lines/{i}/performance_id",
                )
                for i in closed
            ],
        )
    placement = {
        i: offered[(performances[line["performance_id"]].id, category_ids[line["category_id"]])]
        for i, line in enumerate(lines)
        if i not in named
    }
    counted_lines = [i for i, kind in placement.items() if kind != SEATED]
    counts: list[PlaceCount] = []
    if counted_lines:
        wanted = {performances[lines[i]["performance_id"]].id for i in counted_lines}
        counted_quotas = [quota.id for quota in quotas if quota.performance_id in wanted]
        lock_quotas(session, counted_quotas)
        sweep_expired(session, counted_quotas, now)
        counts = counted_place_counts(session, counted_quotas, now)
    quota_ids = [quota.id for quota in quotas]
    hold_id = _insert_hold(session, reseller, expires_in, now)
    places = _take_places(
        session,
        hold_id,
        lines,
        performances,
        named,
        category_ids,
        placement,
        quota_ids,
        counts,
        now,
    )
    return _created_hold(session, hold_id, lines, places, category_ids, expires_in, now)


def _category_ids(session: Session, codes: set[str]) -> dict[str, int]:
    if not codes:
        return {}
    return dict(
        session.execute(
            select(SeatCategory.code, SeatCategory.id).where(SeatCategory.code.in_(sorted(codes)))
        ).all()
    )


def _named_seats(
    session: Session, lines: list[dict[str, Any]], performances: dict[str, VisiblePerformance]
) -> dict[int, NamedSeat]:
    """The seat of each seat line that names a seat of its performance (one query per
    seating configuration)."""
    by_configuration: dict[int | None, set[str]] = {}
    for line in lines:
        if line.get("seat_id") is not None:
            configuration = performances[line["performance_id"]].configuration_id
            by_configuration.setdefault(configuration, set()).add(line["seat_id"])
    found = {
        configuration: named_seats(session, configuration, seat_ids)
        for configuration, seat_ids in by_configuration.items()
    }
    return {
        i: found[configuration][line["seat_id"]]
        for i, line in enumerate(lines)
        if line.get("seat_id") is not None
        and line["seat_id"]
        in found[configuration := performances[line["performance_id"]].configuration_id]
    }


def _seat_error(i: int, seat_id: str, reason: str) -> dict[str, Any]:
    state = {"seat_not_in_quota": "not in this reseller's quota", "seat_sold": "sold"}
    return error_item(
        f"seat {seat_id} is {state.get(reason, 'held')}",
        pointer=f"#/lines/{i}/seat_id",
        reason=reason,
    )


def _take_places(
    session: Session,
    hold_id: int,
    lines: list[dict[str, Any]],
    performances: dict[str, VisiblePerformance],
    named: dict[int, NamedSeat],
    category_ids: dict[str, int],
    placement: dict[int, str],
    quota_ids: list[int],
    counts: list[PlaceCount],
    now: dt.datetime,
) -> list[_Place]:
    """The places each line takes, claimed (seats) or counted under the quotas' locks; 409
    ``places-unavailable`` with one error per line that cannot have its places. Seat lines
    first, so that a category line never picks a seat another line names."""
    errors: dict[int, dict[str, Any]] = {}
    seat_lines: dict[int, _Place] = {}
    named_by_performance: dict[int, set[int]] = {}
    for i, seat in named.items():
        named_by_performance.setdefault(performances[lines[i]["performance_id"]].id, set()).add(
            seat.seat_id
        )
    states = {
        performance_id: seat_states(session, quota_ids, performance_id, seat_ids, now)
        for performance_id, seat_ids in named_by_performance.items()
    }
    for i, seat in named.items():
        performance = performances[lines[i]["performance_id"]]
        state = states[performance.id].get(seat.seat_id)
        reason = seat_unavailable_reason(state)
        if reason is not None or state is None:
            errors[i] = _seat_error(i, lines[i]["seat_id"], reason or "seat_not_in_quota")
            continue
        seat_lines[i] = _Place(
            i,
            performance.id,
            seat.category_id,
            state.quota_id,
            seat_id=seat.seat_id,
            seat=seat.as_object(),
        )

    counted: dict[tuple[int, int | None], int] = {}
    counted_lines: dict[int, list[_Place]] = {}
    for i, kind in placement.items():
        if kind == SEATED:
            continue
        performance = performances[lines[i]["performance_id"]]
        category_id = category_ids[lines[i]["category_id"]]
        quantity = int(lines[i]["quantity"])
        of_category = [
            count
            for count in counts
            if count.performance_id == performance.id and count.category_id == category_id
        ]
        sources = take_counted_places(of_category, counted, quantity)
        if sources is None:
            errors[i] = _not_enough(i, quantity, counted_available(of_category, counted))
            continue
        counted_lines[i] = [
            _Place(i, performance.id, category_id, quota_id, block_id=block_id)
            for quota_id, block_id in sources
        ]

    lock_best_seats(
        session,
        {
            (performances[lines[i]["performance_id"]].id, category_ids[lines[i]["category_id"]])
            for i, kind in placement.items()
            if kind == SEATED
        },
    )
    lost: dict[tuple[int, int], set[int]] = {}
    """Best seats others claimed or sold meanwhile, per (performance, category)."""
    for _attempt in range(ATTEMPTS):
        chosen: dict[int, list[_Place]] = {}
        best_errors: dict[int, dict[str, Any]] = {}
        picked: dict[int, set[int]] = {p: set(ids) for p, ids in named_by_performance.items()}
        for i, kind in placement.items():
            if kind != SEATED:
                continue
            performance = performances[lines[i]["performance_id"]]
            category_id = category_ids[lines[i]["category_id"]]
            quantity = int(lines[i]["quantity"])
            excluded = picked.setdefault(performance.id, set())
            seats, free = best_free_seats(
                session,
                quota_ids,
                performance.id,
                category_id,
                quantity,
                now,
                excluded | lost.get((performance.id, category_id), set()),
            )
            if not seats:
                best_errors[i] = _not_enough(i, quantity, free)
                continue
            excluded.update(seat.seat_id for seat in seats)
            chosen[i] = [
                _Place(
                    i,
                    performance.id,
                    category_id,
                    seat.quota_id,
                    seat_id=seat.seat_id,
                    seat=seat.as_object(),
                )
                for seat in seats
            ]
        if errors or best_errors:
            failing = {**errors, **best_errors}
            raise _unavailable([failing[i] for i in sorted(failing)], len(lines))
        taken = {**{i: [place] for i, place in seat_lines.items()}, **counted_lines, **chosen}
        places = [place for i in sorted(taken) for place in taken[i]]
        try:
            _claim(session, hold_id, places, now)
            return places
        except _SeatsTakenError as refused:
            for i, place in seat_lines.items():
                if place.claim in refused.sold:
                    errors[i] = _seat_error(i, lines[i]["seat_id"], "seat_sold")
                elif place.claim in refused.held:
                    errors[i] = _seat_error(i, lines[i]["seat_id"], "seat_held")
            for best in chosen.values():
                for place in best:
                    if place.claim in refused.held | refused.sold and place.seat_id is not None:
                        lost.setdefault((place.performance_id, place.category_id), set()).add(
                            place.seat_id
                        )
            if errors:
                raise _unavailable([errors[i] for i in sorted(errors)], len(lines)) from None
    raise _unavailable(
        [
            _not_enough(i, int(lines[i]["quantity"]), 0)
            for i, kind in sorted(placement.items())
            if kind == SEATED
        ],
        len(lines),
    )


def _claim(session: Session, hold_id: int, places: list[_Place], now: dt.datetime) -> None:
    """Write the hold's places, claiming their seats (numbered in line order, ``HP1``...,
    inserted in the order of their claims: :func:`insert_places`); a claim refused because
    its hold is no longer active is taken over (:func:`take_over_claims`) and its place
    inserted again; then the valid tickets of the seats, read after claiming them. Raises
    :class:`_SeatsTakenError` when a seat is another active hold's or sold, after deleting
    the places written here (no savepoint: the happy path costs two statements)."""
    rows = {
        place.claim or f"#{number}": {
            "hold_id": hold_id,
            "code": f"HP{number}",
            "line": place.line,
            "performance_id": place.performance_id,
            "category_id": place.category_id,
            "quota_id": place.quota_id,
            "seat_id": place.seat_id,
            "block_id": place.block_id,
            "seat_claim": place.claim,
        }
        for number, place in enumerate(places, start=1)
    }
    held = insert_places(session, list(rows.values()))
    if held:
        take_over_claims(session, held, now)
        held = insert_places(session, [rows[claim] for claim in sorted(held)])
    if held:
        _forget_places(session, hold_id)
        raise _SeatsTakenError(held, set())
    sold = sold_seats(
        session,
        {(place.performance_id, place.seat_id) for place in places if place.seat_id is not None},
    )
    if sold:
        _forget_places(session, hold_id)
        raise _SeatsTakenError(
            set(), {seat_claim(performance, seat or 0) for performance, seat in sold}
        )


def _forget_places(session: Session, hold_id: int) -> None:
    """Delete the places this request wrote for its hold (an attempt that failed)."""
    session.execute(
        delete(RealtimeHoldPlace)
        .where(RealtimeHoldPlace.hold_id == hold_id)
        .execution_options(synchronize_session=False)
    )


def _insert_hold(
    session: Session, reseller: ResellerContext, expires_in: int, now: dt.datetime
) -> int:
    """The hold's row (its places come next); its row id."""
    hold_id = int(
        session.scalars(
            insert(RealtimeHold)
            .values(
                public_id=f"new-{uuid.uuid4().hex}",
                reseller_code=reseller.reseller_code,
                created_at=now,
                expires_at=now + dt.timedelta(seconds=expires_in),
                expires_in=expires_in,
            )
            .returning(RealtimeHold.id)
        ).one()
    )
    session.execute(
        update(RealtimeHold)
        .where(RealtimeHold.id == hold_id)
        .values(public_id=f"H-{hold_id}")
        .execution_options(synchronize_session=False)
    )
    return hold_id


def _created_hold(
    session: Session,
    hold_id: int,
    lines: list[dict[str, Any]],
    places: list[_Place],
    category_ids: dict[str, int],
    expires_in: int,
    now: dt.datetime,
) -> dict[str, Any]:
    """The Hold object of a hold just written, from what was written (nothing read back)."""
    codes = {id_: code for code, id_ in category_ids.items()}
    unknown = {place.category_id for place in places} - set(codes)
    if unknown:
        codes.update(
            session.execute(
                select(SeatCategory.id, SeatCategory.code).where(
                    SeatCategory.id.in_(sorted(unknown))
                )
            ).all()
        )
    return {
        "id": f"H-{hold_id}",
        "status": "active",
        "created_at": instant(now),
        "expires_at": instant(now + dt.timedelta(seconds=expires_in)),
        "expires_in": expires_in,
        "order_id": None,
        "places": [
            {
                "id": f"HP{number}",
                "line": place.line,
                "performance_id": lines[place.line]["performance_id"],
                "category_id": codes[place.category_id],
                "seat": place.seat,
            }
            for number, place in enumerate(places, start=1)
        ],
    }


def _unavailable(errors: list[dict[str, Any]], lines: int) -> Problem:
    return Problem(
        "places-unavailable",
        f"{len(errors)} of {lines} lines cannot be held; nothing was held",
        errors,
    )


def _not_enough(line: int, quantity: int, available: int) -> dict[str, Any]:
    return error_item(
        f"{quantity} place(s) asked, {available} available",
        pointer=f"#/lines/{line}",
        reason="not_enough_places",
        available=available,
    )


# --------------------------------------------------------------------------- the Hold object


def hold_object(session: Session, hold: RealtimeHold, now: dt.datetime) -> dict[str, Any]:
    """The Hold object of section 7.4."""
    rows = session.execute(
        select(
            RealtimeHoldPlace.code,
            RealtimeHoldPlace.line,
            Performance.code,
            SeatCategory.code,
            Block.code,
            Seat.row,
            Seat.number,
        )
        .join(Performance, RealtimeHoldPlace.performance_id == Performance.id)
        .join(SeatCategory, RealtimeHoldPlace.category_id == SeatCategory.id)
        .outerjoin(Seat, RealtimeHoldPlace.seat_id == Seat.id)
        .outerjoin(Block, Seat.block_id == Block.id)
        .where(RealtimeHoldPlace.hold_id == hold.id)
        .order_by(*hold_place_order())
    ).all()
    order_id = None
    if hold.order_id is not None:
        order_id = session.scalar(
            select(RealtimeOrder.public_id).where(RealtimeOrder.hold_id == hold.id)
        )
    left = int((utc(hold.expires_at) - utc(now)).total_seconds())
    return {
        "id": hold.public_id,
        "status": "ordered" if hold.order_id is not None else "active",
        "created_at": instant(hold.created_at),
        "expires_at": instant(hold.expires_at),
        "expires_in": max(0, left),
        "order_id": order_id,
        "places": [
            {
                "id": code,
                "line": line,
                "performance_id": performance,
                "category_id": category,
                "seat": seat_object(area, row, number) if area is not None else None,
            }
            for code, line, performance, category, area, row, number in rows
        ],
    }


# --------------------------------------------------------------------------- GET, DELETE


def get_hold(
    session: Session, reseller: ResellerContext, hold_id: str, now: dt.datetime
) -> dict[str, Any]:
    """The Hold, ``active`` or ``ordered``; 410 ``hold-expired`` / ``hold-released``."""
    hold = find_hold(session, reseller, hold_id, now)
    state = hold_state(hold, now)
    if state == "expired":
        raise Problem("hold-expired", f"hold {hold_id} expired at {instant(hold.expires_at)}")
    if state == "released":
        raise Problem("hold-released", f"hold {hold_id} was released")
    return hold_object(session, hold, now)


def release_hold(
    session: Session, reseller: ResellerContext, hold_id: str, now: dt.datetime
) -> None:
    """Give the hold's places back at once (``DELETE``, 204). A released hold is released
    again without error; an ordered one answers 409 ``hold-already-ordered``, an expired one
    410 ``hold-expired``.

    Giving places back takes no quota lock (a concurrent count sees them held or free, both
    true at some instant); the hold's row lock serialises the release with an order, another
    release or a sweep of the same hold."""
    hold = find_hold(session, reseller, hold_id, now)
    if hold_state(hold, now) == "active":
        hold = find_hold(session, reseller, hold_id, now, lock=True)
    state = hold_state(hold, now)
    if state == "ordered":
        existing = session.scalar(
            select(RealtimeOrder.public_id).where(RealtimeOrder.hold_id == hold.id)
        )
        raise Problem(
            "hold-already-ordered",
            f"hold {hold_id} was used by order {existing}; cancel the order instead",
            existing_order_id=existing,
        )
    if state == "expired":
        raise Problem("hold-expired", f"hold {hold_id} had expired: its places were given back")
    if state == "released":
        return
    hold.released_at = utc(now)
    session.execute(
        update(RealtimeHoldPlace)
        .where(RealtimeHoldPlace.hold_id == hold.id)
        .values(seat_claim=None)
        .execution_options(synchronize_session=False)
    )
    session.flush()


# --------------------------------------------------------------------------- the sweep


@dataclass(frozen=True)
class SweepResult:
    expired: int
    """Holds counted expired by this sweep (past ``expires_at``, not counted before)."""
    active: int
    """Holds still active."""


def sweep_expired_holds(session: Session, now: dt.datetime) -> SweepResult:
    """Count the holds past ``expires_at`` as expired (``swept_at``) and clear their seat
    claims, under their quotas' locks. Expiry itself never waits for this; a hold whose
    quota a request locked to take places after its ``expires_at`` was counted then, by
    that request (:func:`reseller_sync.realtime.places.sweep_expired`), not here."""
    now = utc(now)
    lock_quotas(
        session,
        session.scalars(
            select(RealtimeHoldPlace.quota_id)
            .join(RealtimeHold, RealtimeHoldPlace.hold_id == RealtimeHold.id)
            .where(
                RealtimeHold.released_at.is_(None),
                RealtimeHold.order_id.is_(None),
                RealtimeHold.swept_at.is_(None),
                RealtimeHold.expires_at <= now,
            )
            .distinct()
        ).all(),
    )
    expired = sweep_expired(session, None, now)
    active = session.scalar(select(func.count()).select_from(RealtimeHold).where(active_hold(now)))
    return SweepResult(expired=expired, active=int(active or 0))
