"""Orders (realtime-api-v1, sections 7.5, 7.6 and 9): a hold turned into tickets paid on the
reseller's pending account, all or nothing (G3).

A box-office order (``sales_order``, paid) carries the tickets; ``realtime_order`` adds what
the contract needs (public id, hold, ``from_expired_hold``, ``sold_at`` as sent, when it
changed, the price warnings). Each ticket keeps the price and commission as sent; its hold
place keeps the recorded amount the pending account books (section 9). Access control
allows the barcodes, and one pending-account movement debits the order's recorded amount.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import BigInteger, Integer, String, and_, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    Block,
    Currency,
    MovementKind,
    Order,
    OrderState,
    PendingAccount,
    PendingAccountMovement,
    Performance,
    Price,
    RealtimeCancellation,
    RealtimeCancellationTicket,
    RealtimeChannelTariff,
    RealtimeHold,
    RealtimeHoldPlace,
    RealtimeOrder,
    Seat,
    SeatCategory,
    Tariff,
    Ticket,
    TicketState,
)
from reseller_sync.domain.errors import TechnicalError
from reseller_sync.integration.sales import allow_at_access_control
from reseller_sync.realtime.context import ResellerContext
from reseller_sync.realtime.holds import find_hold, hold_state
from reseller_sync.realtime.places import (
    SEATED,
    VisiblePerformance,
    category_counts,
    counted_available,
    hold_place_order,
    instant,
    lock_quotas,
    performances_by_id,
    place_counts,
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
)
from reseller_sync.realtime.problems import PROBLEM_TYPES, Problem, error_item

ORDER_STATUS = {
    OrderState.PAID: "confirmed",
    OrderState.PARTLY_CANCELLED: "partially_cancelled",
    OrderState.CANCELLED: "cancelled",
}


def parse_instant(value: str) -> dt.datetime:
    """An RFC 3339 date-time as sent (its shape checked by the HTTP layer), in UTC."""
    return utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00")))


def barcode(hold_place_id: int) -> str:
    """The barcode of a real-time ticket: 16 digits, unique (its hold place's id)."""
    return f"47{hold_place_id:014d}"


def find_order(session: Session, reseller: ResellerContext, order_id: str) -> RealtimeOrder:
    """The reseller's order by its public id; 404 when it is another's or unknown."""
    order = session.scalar(
        select(RealtimeOrder).where(
            RealtimeOrder.public_id == order_id,
            RealtimeOrder.reseller_code == reseller.reseller_code,
        )
    )
    if order is None:
        raise Problem("not-found", f"order {order_id} is not this reseller's")
    return order


# --------------------------------------------------------------------------- POST /orders


def create_order(
    session: Session, reseller: ResellerContext, body: dict[str, Any], now: dt.datetime
) -> dict[str, Any]:
    """Turn the body's hold into an order (section 7.5); the Order object.

    Checks in the order of section 11: the hold (404), its places named once each (422), the
    states (409 ``duplicate-reference``, ``hold-already-ordered``; for an ended hold, under
    the quotas' locks, ``sale-closed`` and ``places-unavailable``), then tariffs, currency and
    prices (422). An active hold is served without a re-check.
    """
    now = utc(now)
    lines: list[dict[str, Any]] = body["lines"]
    reference: str = body["reseller_order_ref"]
    hold = find_hold(session, reseller, body["hold_id"], now)
    places = _hold_places(session, hold.id)
    line_of_place = _check_lines(lines, places)

    performances = performances_by_id(session, reseller, {p.performance_id for p in places})
    _require_beneficiaries(lines, places, line_of_place, performances)
    _refuse_duplicate_reference(session, reseller, reference)
    from_expired_hold = True
    if hold.order_id is None and hold_state(hold, now) == "active":
        hold, from_expired_hold = _serve_active_hold(
            session, reseller, body["hold_id"], places, now
        )
    if from_expired_hold:
        quotas = reseller_quotas(session, reseller, performances)
        quota_ids = {quota.id for quota in quotas} | {p.quota_id for p in places}
        lock_quotas(session, quota_ids)
        sweep_expired(session, quota_ids, now)
        hold = find_hold(session, reseller, body["hold_id"], now, lock=True)
    if hold.order_id is not None:
        existing = session.scalar(
            select(RealtimeOrder.public_id).where(RealtimeOrder.hold_id == hold.id)
        )
        raise Problem(
            "hold-already-ordered",
            f"hold {hold.public_id} was used by order {existing}",
            existing_order_id=existing,
        )
    if from_expired_hold:
        places = _hold_places(session, hold.id)
        from_expired_hold = hold_state(hold, now) != "active" or not _claims_intact(places)
        if from_expired_hold:
            _recheck(session, reseller, places, line_of_place, performances, quotas, now)
        else:
            _clear_own_claims(session, hold.id)

    recorded, warnings = _check_prices(session, reseller, body, places, line_of_place, performances)
    order = _write_order(
        session, reseller, body, hold, places, line_of_place, recorded, now, from_expired_hold
    )
    realtime_order = RealtimeOrder(
        order_id=order.id,
        public_id=f"new-{order.id}",
        reseller_code=reseller.reseller_code,
        hold_id=hold.id,
        from_expired_hold=from_expired_hold,
        sold_at_as_sent=body["sold_at"],
        created_at=now,
        changed_at=now,
        warnings=json.dumps(warnings),
    )
    session.add(realtime_order)
    session.flush()
    realtime_order.public_id = f"O-{realtime_order.id}"
    session.flush()
    return order_object(
        session, realtime_order, order=order, hold_public_id=hold.public_id, new=True
    )


def _hold_places(session: Session, hold_id: int) -> list[RealtimeHoldPlace]:
    return list(
        session.scalars(
            select(RealtimeHoldPlace)
            .where(RealtimeHoldPlace.hold_id == hold_id)
            .order_by(*hold_place_order())
            .execution_options(populate_existing=True)
        )
    )


def _check_lines(lines: list[dict[str, Any]], places: list[RealtimeHoldPlace]) -> dict[int, int]:
    """Each hold place's line index: every line names a place of the hold, every place has
    exactly one line (422 ``unknown_hold_place``, ``duplicate_hold_place``,
    ``missing_hold_place``)."""
    by_code = {place.code: place for place in places}
    line_of_place: dict[int, int] = {}
    errors = []
    for i, line in enumerate(lines):
        place = by_code.get(line["hold_place_id"])
        if place is None:
            errors.append(
                error_item(
                    f"{line['hold_place_id']} is not a place of the hold",
                    pointer=f"#/lines/{i}/hold_place_id",
                    reason="unknown_hold_place",
                )
            )
        elif place.id in line_of_place:
            errors.append(
                error_item(
                    f"{line['hold_place_id']} has another line already",
                    pointer=f"#/lines/{i}/hold_place_id",
                    reason="duplicate_hold_place",
                )
            )
        else:
            line_of_place[place.id] = i
    if not errors:
        errors.extend(
            error_item(
                f"place {place.code} of the hold has no line",
                pointer="#/lines",
                reason="missing_hold_place",
            )
            for place in places
            if place.id not in line_of_place
        )
    if errors:
        raise Problem("validation-failed", "the lines do not match the hold's places", errors)
    return line_of_place


def _require_beneficiaries(
    lines: list[dict[str, Any]],
    places: list[RealtimeHoldPlace],
    line_of_place: dict[int, int],
    performances: dict[int, VisiblePerformance],
) -> None:
    """A product whose tickets name their holder on this channel: every line of its places
    carries a beneficiary (422 ``beneficiary_required``)."""
    errors = [
        error_item(
            f"place {place.code} is of a product whose tickets name their holder",
            pointer=f"#/lines/{line_of_place[place.id]}/beneficiary",
            reason="beneficiary_required",
        )
        for place in places
        if performances[place.performance_id].beneficiary_required
        and not lines[line_of_place[place.id]].get("beneficiary")
    ]
    if errors:
        errors.sort(key=lambda item: item["pointer"])
        raise Problem("validation-failed", "a line lacks its beneficiary", errors)


def _refuse_duplicate_reference(
    session: Session, reseller: ResellerContext, reference: str
) -> None:
    existing = session.execute(
        select(Order.id, RealtimeOrder.public_id)
        .outerjoin(RealtimeOrder, RealtimeOrder.order_id == Order.id)
        .where(Order.reseller_code == reseller.reseller_code, Order.reseller_order_id == reference)
    ).first()
    if existing is not None:
        raise Problem(
            "duplicate-reference",
            f"reseller_order_ref {reference} was used by order {existing[1]}",
            existing_order_id=existing[1],
        )


def _serve_active_hold(
    session: Session,
    reseller: ResellerContext,
    hold_id: str,
    places: list[RealtimeHoldPlace],
    now: dt.datetime,
) -> tuple[RealtimeHold, bool]:
    """An order of a hold active by this request's clock, without a re-check and without any
    quota lock: the hold's row locked, then its seats' claims given up by their own rows (the
    tickets written next, in this transaction, hold the seats). Returns the hold, and True
    when it has to be re-checked after all (the slow path, under the quotas' locks).

    Why no quota lock is needed: the hold's places are counted taken by every request while
    it is active, and turning them into tickets changes no count. The only other writers of
    its places are (1) a request that counts places after finding the hold expired by its
    own clock: it first marks the hold swept (:func:`sweep_expired`), an ``UPDATE`` of the
    hold's row, so either it waits for this order and then finds the hold ordered, or this
    order's lock waits for it and then finds the hold swept; (2) a hold taking over a seat
    of the hold as expired: an ``UPDATE`` of the claim row, so either it waits for this
    order and then finds the claim cleared (and, after claiming, the ticket), or the
    conditional ``UPDATE`` here finds fewer claims than seats. Either case is the slow path:
    the hold counts as expired, the savepoint gives back what was locked here, and the
    places are re-checked (7.5, step 2)."""
    seats = sum(1 for place in places if place.seat_id is not None)
    attempt = session.begin_nested()
    hold = find_hold(session, reseller, hold_id, now, lock=True)
    if hold.order_id is None and hold_state(hold, now) == "active":
        kept = _clear_own_claims(session, hold.id) if seats else 0
        if kept == seats:
            attempt.commit()
            return hold, False
    attempt.rollback()
    return hold, True


def _clear_own_claims(session: Session, hold_id: int) -> int:
    """The hold's seat places give up their claims (its tickets take the seats over, in the
    same transaction); how many still had them. Waits for a request taking one over."""
    result = session.execute(
        update(RealtimeHoldPlace)
        .where(
            RealtimeHoldPlace.hold_id == hold_id,
            RealtimeHoldPlace.seat_id.is_not(None),
            RealtimeHoldPlace.seat_claim.is_not(None),
        )
        .values(seat_claim=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _claims_intact(places: list[RealtimeHoldPlace]) -> bool:
    """Whether the hold still claims each of its seats (nobody took one over at expiry)."""
    return all(
        place.seat_claim == seat_claim(place.performance_id, place.seat_id)
        for place in places
        if place.seat_id is not None
    )


def _recheck(
    session: Session,
    reseller: ResellerContext,
    places: list[RealtimeHoldPlace],
    line_of_place: dict[int, int],
    performances: dict[int, VisiblePerformance],
    quotas: list[Any],
    now: dt.datetime,
) -> None:
    """An ended hold: each place free, in the reseller's quota and on sale, now (409
    ``sale-closed``, ``places-unavailable``); a counted place may come from another quota or
    block of the category than the hold's (the hold place is updated)."""
    closed = sorted(
        {
            line_of_place[place.id]
            for place in places
            if not performances[place.performance_id].on_sale(now)
        }
    )
    if closed:
        raise Problem(
            "sale-closed",
            "the hold had ended and the sale window on this channel has closed",
            [
                error_item(
                    "this place's performance is no longer on sale on this channel",
                    pointer=f"#/lines/{i}/hold_place_id",
                )
                for i in closed
            ],
        )
    quota_ids = [quota.id for quota in quotas]
    counts = place_counts(session, quota_ids, now)
    offered = category_counts(session, reseller, quotas, now, counts)
    errors: dict[int, dict[str, Any]] = {}
    seats_by_performance: dict[int, list[int]] = defaultdict(list)
    for place in places:
        if place.seat_id is not None:
            seats_by_performance[place.performance_id].append(place.seat_id)
    states = {
        performance_id: seat_states(session, quota_ids, performance_id, seat_ids, now)
        for performance_id, seat_ids in seats_by_performance.items()
    }
    counted: dict[tuple[int, int | None], int] = {}
    for place in places:
        i = line_of_place[place.id]
        pointer = f"#/lines/{i}/hold_place_id"
        if place.seat_id is not None:
            state = states[place.performance_id].get(place.seat_id)
            reason = seat_unavailable_reason(state)
            if reason is not None or state is None:
                errors[i] = error_item(
                    f"the seat of {place.code} is no longer available ({reason})",
                    pointer=pointer,
                    reason=reason,
                )
            else:
                place.quota_id = state.quota_id
            continue
        of_category = [
            count
            for count in counts
            if count.performance_id == place.performance_id
            and count.category_id == place.category_id
            and count.placement != SEATED
            and (place.performance_id, place.category_id) in offered
        ]
        sources = take_counted_places(of_category, counted, 1)
        if sources is None:
            errors[i] = error_item(
                f"no place of {place.code}'s category is left in the quota",
                pointer=pointer,
                reason="not_enough_places",
                available=counted_available(of_category, counted),
            )
        else:
            place.quota_id, place.block_id = sources[0]
    if not errors:
        errors = _claim_again(session, places, line_of_place, now)
    if errors:
        raise Problem(
            "places-unavailable",
            f"the hold had ended and {len(errors)} of {len(line_of_place)} places are taken; "
            "nothing was ordered",
            [errors[i] for i in sorted(errors)],
        )


def _claim_again(
    session: Session,
    places: list[RealtimeHoldPlace],
    line_of_place: dict[int, int],
    now: dt.datetime,
) -> dict[int, dict[str, Any]]:
    """An ended hold's seats, found free, claimed again by its own places (as a new hold
    claims them: claims of holds no longer active taken over, this hold's among them, then
    each place's claim set, a conflict being a seat another hold took meanwhile), then the
    valid tickets read after claiming; an error per seat lost."""
    seats = [place for place in places if place.seat_id is not None]
    if not seats:
        return {}
    claims = {place.id: seat_claim(place.performance_id, place.seat_id or 0) for place in seats}
    take_over_claims(session, claims.values(), now)
    errors: dict[int, dict[str, Any]] = {}
    for place in sorted(seats, key=lambda p: claims[p.id]):
        try:
            with session.begin_nested():
                session.execute(
                    update(RealtimeHoldPlace)
                    .where(RealtimeHoldPlace.id == place.id)
                    .values(seat_claim=claims[place.id])
                    .execution_options(synchronize_session=False)
                )
        except IntegrityError:
            errors[line_of_place[place.id]] = error_item(
                f"the seat of {place.code} is no longer available (seat_held)",
                pointer=f"#/lines/{line_of_place[place.id]}/hold_place_id",
                reason="seat_held",
            )
    sold = sold_seats(session, {(place.performance_id, place.seat_id) for place in seats})
    for place in seats:
        i = line_of_place[place.id]
        if (place.performance_id, place.seat_id) in sold and i not in errors:
            errors[i] = error_item(
                f"the seat of {place.code} is no longer available (seat_sold)",
                pointer=f"#/lines/{i}/hold_place_id",
                reason="seat_sold",
            )
    return errors


def _check_prices(
    session: Session,
    reseller: ResellerContext,
    body: dict[str, Any],
    places: list[RealtimeHoldPlace],
    line_of_place: dict[int, int],
    performances: dict[int, VisiblePerformance],
) -> tuple[dict[int, tuple[int, int]], list[dict[str, Any]]]:
    """Each place's (tariff id, recorded amount) and the warnings accepted under ``warn``;
    422 ``tariff-not-on-channel``, ``currency-mismatch``, ``price-mismatch`` (strict)."""
    lines = body["lines"]
    performance_ids = sorted({place.performance_id for place in places})
    opened = {
        (performance_id, category_id, code): (tariff_id, amount)
        for performance_id, category_id, code, tariff_id, amount in session.execute(
            select(
                RealtimeChannelTariff.performance_id,
                RealtimeChannelTariff.category_id,
                Tariff.code,
                RealtimeChannelTariff.tariff_id,
                Price.amount,
            )
            .join(Tariff, RealtimeChannelTariff.tariff_id == Tariff.id)
            .outerjoin(
                Price,
                and_(
                    Price.performance_id == RealtimeChannelTariff.performance_id,
                    Price.category_id == RealtimeChannelTariff.category_id,
                    Price.tariff_id == RealtimeChannelTariff.tariff_id,
                ),
            )
            .where(
                RealtimeChannelTariff.channel_id == reseller.channel_id,
                RealtimeChannelTariff.performance_id.in_(performance_ids),
                Tariff.code.in_(sorted({line["tariff_id"] for line in lines})),
            )
        )
    }
    chosen: dict[int, tuple[int, int | None]] = {}
    errors = []
    for place in places:
        i = line_of_place[place.id]
        key = (place.performance_id, place.category_id, lines[i]["tariff_id"])
        if key not in opened:
            errors.append(
                error_item(
                    f"tariff {lines[i]['tariff_id']} is not open on this channel for the "
                    "place's category",
                    pointer=f"#/lines/{i}/tariff_id",
                )
            )
        else:
            chosen[place.id] = opened[key]
    if errors:
        raise Problem(
            "tariff-not-on-channel",
            "a tariff is not open on this channel",
            sorted(errors, key=lambda e: e["pointer"]),
        )
    currency = performances[places[0].performance_id].currency
    if body["currency"] != currency:
        raise Problem(
            "currency-mismatch",
            f"the product is sold in {currency}",
            [error_item(f"the product's currency is {currency}", pointer="#/currency")],
        )
    recorded: dict[int, tuple[int, int]] = {}
    differences = []
    for place in sorted(places, key=lambda p: line_of_place[p.id]):
        i = line_of_place[place.id]
        line = lines[i]
        amount = int(line["price"])
        if reseller.price_compare == "price_minus_commission":
            amount -= int(line["commission"])
        tariff_id, expected = chosen[place.id]
        recorded[place.id] = (tariff_id, amount)
        if expected is None or expected != amount:
            differences.append((i, line["tariff_id"], expected, amount))
    if differences and reseller.price_policy == "strict":
        raise Problem(
            "price-mismatch",
            f"{len(differences)} line(s) differ from the box-office price",
            [
                error_item(
                    f"recorded amount {actual} differs from tariff {tariff} at {expected}",
                    pointer=f"#/lines/{i}/price",
                    expected=expected if expected is not None else 0,
                    actual=actual,
                )
                for i, tariff, expected, actual in differences
            ],
        )
    warnings = [
        {
            "type": PROBLEM_TYPES["price-mismatch"].uri,
            "pointer": f"#/lines/{i}/price",
            "expected": expected if expected is not None else 0,
            "actual": actual,
            "detail": f"recorded amount {actual} differs from tariff {tariff} at {expected}",
        }
        for i, tariff, expected, actual in differences
    ]
    return recorded, warnings


def _write_order(
    session: Session,
    reseller: ResellerContext,
    body: dict[str, Any],
    hold: RealtimeHold,
    places: list[RealtimeHoldPlace],
    line_of_place: dict[int, int],
    recorded: dict[int, tuple[int, int]],
    now: dt.datetime,
    from_expired_hold: bool,
) -> Order:
    """The box-office order, its tickets, access control and the pending-account debit."""
    lines = body["lines"]
    currency = Currency(body["currency"])
    total = sum(amount for _, amount in recorded.values())
    sold_at = parse_instant(body["sold_at"])
    values = {
        "channel_id": reseller.channel_id,
        "point_of_sale_id": reseller.point_of_sale_id,
        "contact_id": reseller.contact_id,
        "state": OrderState.PAID,
        "currency": currency,
        "total": total,
        "reseller_code": reseller.reseller_code,
        "reseller_order_id": body["reseller_order_ref"],
        "reseller_point_of_sale_code": body.get("point_of_sale"),
        "sold_at": sold_at,
    }
    order = session.scalar(
        _insert_or_nothing(session, Order, ["reseller_code", "reseller_order_id"])
        .values(**values)
        .returning(Order)
    )
    if order is None:
        # Another order with this reference committed meanwhile (unique per reseller): the
        # insert waited for it, and did nothing.
        _refuse_duplicate_reference(session, reseller, body["reseller_order_ref"])
        raise TechnicalError("an order with this reference conflicted, then was not found")
    rows = []
    for place in places:
        line = lines[line_of_place[place.id]]
        beneficiary = line.get("beneficiary") or {}
        rows.append(
            {
                "order_id": order.id,
                "performance_id": place.performance_id,
                "seat_id": place.seat_id,
                "block_id": place.block_id,
                "quota_id": place.quota_id,
                "category_id": place.category_id,
                "tariff_id": recorded[place.id][0],
                "price": int(line["price"]),
                "commission": int(line["commission"]),
                "currency": currency,
                "barcode": barcode(place.id),
                "beneficiary_first_name": beneficiary.get("first_name"),
                "beneficiary_last_name": beneficiary.get("last_name"),
                "state": TicketState.VALID,
                "reseller_code": reseller.reseller_code,
                "sold_at": sold_at,
            }
        )
    # One statement for the tickets, one (batched) for their places.
    tickets: Any = Ticket.__table__  # Core: every row with every column, one INSERT
    ticket_ids = session.scalars(
        insert(tickets).returning(tickets.c.id, sort_by_parameter_order=True), rows
    ).all()
    for place, ticket_id in zip(places, ticket_ids, strict=True):
        place.ticket_id = ticket_id
        place.recorded_amount = recorded[place.id][1]
        place.seat_claim = None
    hold.order_id = order.id
    session.flush()
    if from_expired_hold:  # the claims taken again: the tickets hold the seats now
        session.execute(
            update(RealtimeHoldPlace)
            .where(RealtimeHoldPlace.hold_id == hold.id, RealtimeHoldPlace.seat_claim.is_not(None))
            .values(seat_claim=None)
            .execution_options(synchronize_session=False)
        )
    allow_at_access_control(session, [order.id], now)
    book_movement(
        session,
        contact_id=reseller.contact_id,
        order_id=order.id,
        kind=MovementKind.SALE,
        amount=total,
        currency=currency,
        reference=f"{reseller.reseller_code}:sale:{body['reseller_order_ref']}",
        booked_at=now,
    )
    return order


def _insert_or_nothing(session: Session, model: Any, unique: list[str]) -> Any:
    """``INSERT ... ON CONFLICT (unique) DO NOTHING`` for the session's database: a
    conflict with a committed row inserts nothing (no savepoint needed to go on)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing(index_elements=unique)
    if dialect == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing(index_elements=unique)
    raise TechnicalError(f"the box office runs on PostgreSQL or SQLite, not {dialect}")


def book_movement(
    session: Session,
    *,
    contact_id: int,
    order_id: int,
    kind: MovementKind,
    amount: int,
    currency: Currency,
    reference: str,
    booked_at: dt.datetime,
) -> None:
    """One pending-account movement on the contact's account in the currency, in one
    statement (``INSERT ... SELECT`` from the account); TechnicalError when the contact has
    no account in that currency."""
    written = session.execute(
        insert(PendingAccountMovement)
        .from_select(
            ["account_id", "order_id", "kind", "amount", "currency", "reference", "booked_at"],
            select(
                PendingAccount.id,
                literal(order_id, Integer),
                literal(kind, PendingAccountMovement.__table__.c.kind.type),
                literal(amount, BigInteger),
                PendingAccount.currency,
                literal(reference, String),
                literal(booked_at, PendingAccountMovement.__table__.c.booked_at.type),
            ).where(PendingAccount.contact_id == contact_id, PendingAccount.currency == currency),
        )
        .returning(PendingAccountMovement.id)
    ).first()
    if written is None:
        raise TechnicalError(f"contact {contact_id} has no pending account in {currency.value}")


# --------------------------------------------------------------------------- the Order object


def order_object(
    session: Session,
    realtime_order: RealtimeOrder,
    *,
    with_cancellations: bool = True,
    order: Order | None = None,
    hold_public_id: str | None = None,
    new: bool = False,
) -> dict[str, Any]:
    """The Order object of section 7.5, read from the database. ``order`` and
    ``hold_public_id``: the box-office order and the hold's id when the caller has them as
    they stand (else read); ``new``: an order this transaction has just written (it has no
    cancellation yet)."""
    if order is None:
        order = session.scalar(
            select(Order)
            .where(Order.id == realtime_order.order_id)
            .execution_options(populate_existing=True)
        )
    if order is None:
        raise LookupError(f"order {realtime_order.public_id} has no box-office order")
    rows = session.execute(
        select(
            Ticket.id,
            RealtimeHoldPlace.code,
            Ticket.state,
            Ticket.barcode,
            Performance.code,
            SeatCategory.code,
            Block.code,
            Seat.row,
            Seat.number,
            Tariff.code,
            Ticket.price,
            Ticket.commission,
            Ticket.beneficiary_first_name,
            Ticket.beneficiary_last_name,
            Ticket.cancelled_at,
            RealtimeHoldPlace.recorded_amount,
        )
        .join(RealtimeHoldPlace, RealtimeHoldPlace.ticket_id == Ticket.id)
        .join(Performance, Ticket.performance_id == Performance.id)
        .join(SeatCategory, Ticket.category_id == SeatCategory.id)
        .join(Tariff, Ticket.tariff_id == Tariff.id)
        .outerjoin(Seat, Ticket.seat_id == Seat.id)
        .outerjoin(Block, Seat.block_id == Block.id)
        .where(Ticket.order_id == order.id)
        .order_by(*hold_place_order())
    ).all()
    tickets = []
    owed = 0
    valid = 0
    for (
        ticket_id,
        place_code,
        state,
        code,
        performance,
        category,
        area,
        row,
        number,
        tariff,
        price,
        commission,
        first_name,
        last_name,
        cancelled_at,
        recorded_amount,
    ) in rows:
        is_valid = TicketState(state) is TicketState.VALID
        if is_valid:
            valid += 1
            owed += recorded_amount or 0
        tickets.append(
            {
                "id": f"T-{ticket_id}",
                "hold_place_id": place_code,
                "status": "valid" if is_valid else "cancelled",
                "barcode": code,
                "performance_id": performance,
                "category_id": category,
                "seat": seat_object(area, row, number) if area is not None else None,
                "tariff_id": tariff,
                "price": price,
                "commission": commission,
                "beneficiary": (
                    {"first_name": first_name, "last_name": last_name}
                    if first_name is not None or last_name is not None
                    else None
                ),
                "cancelled_at": instant(cancelled_at) if cancelled_at is not None else None,
            }
        )
    status = (
        "confirmed" if valid == len(rows) else "cancelled" if valid == 0 else "partially_cancelled"
    )
    currency = Currency(order.currency).value
    if hold_public_id is None:
        hold_public_id = session.scalar(
            select(RealtimeHold.public_id).where(RealtimeHold.id == realtime_order.hold_id)
        )
    result: dict[str, Any] = {
        "id": realtime_order.public_id,
        "reseller_order_ref": order.reseller_order_id,
        "status": status,
        "hold_id": hold_public_id,
        "from_expired_hold": realtime_order.from_expired_hold,
        "sold_at": realtime_order.sold_at_as_sent,
        "point_of_sale": order.reseller_point_of_sale_code,
        "created_at": instant(realtime_order.created_at),
        "changed_at": instant(realtime_order.changed_at),
        "currency": currency,
        "total_price": sum(ticket["price"] for ticket in tickets),
        "total_commission": sum(ticket["commission"] for ticket in tickets),
        "payment": {"method": "pending_account", "amount": owed, "currency": currency},
        "tickets": tickets,
        "cancellations": (
            cancellation_objects(session, realtime_order, currency)
            if with_cancellations and not new
            else []
        ),
        "warnings": json.loads(realtime_order.warnings or "[]"),
    }
    return result


def cancellation_objects(
    session: Session, realtime_order: RealtimeOrder, currency: str
) -> list[dict[str, Any]]:
    """The order's cancellations, in creation order, without their ``order`` member."""
    cancellations = session.scalars(
        select(RealtimeCancellation)
        .where(RealtimeCancellation.order_id == realtime_order.id)
        .order_by(RealtimeCancellation.id)
    ).all()
    if not cancellations:
        return []
    tickets: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for cancellation_id, ticket_id, code in session.execute(
        select(
            RealtimeCancellationTicket.cancellation_id,
            RealtimeCancellationTicket.ticket_id,
            Ticket.barcode,
        )
        .join(Ticket, RealtimeCancellationTicket.ticket_id == Ticket.id)
        .where(RealtimeCancellationTicket.cancellation_id.in_([c.id for c in cancellations]))
        .order_by(RealtimeCancellationTicket.ticket_id)
    ):
        tickets[cancellation_id].append((ticket_id, code))
    return [
        {
            "id": cancellation.public_id,
            "order_id": realtime_order.public_id,
            "reseller_cancellation_ref": cancellation.reseller_cancellation_ref,
            "initiated_by": cancellation.initiated_by,
            "reason": cancellation.reason,
            "ticket_ids": [f"T-{ticket_id}" for ticket_id, _ in tickets[cancellation.id]],
            "barcodes": [code for _, code in tickets[cancellation.id]],
            "refund_amount": cancellation.refund_amount,
            "currency": currency,
            "cancelled_at": cancellation.cancelled_at_as_sent,
            "created_at": instant(cancellation.created_at),
        }
        for cancellation in cancellations
    ]


# --------------------------------------------------------------------------- GET /orders


def get_order(session: Session, reseller: ResellerContext, order_id: str) -> dict[str, Any]:
    """The Order object; 404 when it is not this reseller's. The order, its box-office
    order and its hold's id in one query."""
    found = session.execute(
        select(RealtimeOrder, Order, RealtimeHold.public_id)
        .join(Order, RealtimeOrder.order_id == Order.id)
        .join(RealtimeHold, RealtimeOrder.hold_id == RealtimeHold.id)
        .where(
            RealtimeOrder.public_id == order_id,
            RealtimeOrder.reseller_code == reseller.reseller_code,
        )
    ).first()
    if found is None:
        raise Problem("not-found", f"order {order_id} is not this reseller's")
    realtime_order, order, hold_public_id = found
    return order_object(session, realtime_order, order=order, hold_public_id=hold_public_id)


def orders_changed(
    session: Session,
    reseller: ResellerContext,
    *,
    changed_since: dt.datetime | None,
    after: tuple[dt.datetime, str] | None,
    reseller_order_ref: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], tuple[dt.datetime, str] | None]:
    """The reseller's orders changed at or after ``changed_since``, after the position
    ``after`` (``changed_at``, order id), with this reference when given; sorted by
    ``changed_at`` then id, at most ``limit``. Returns the page and the position after its
    last order when more follow, else None."""
    query = select(RealtimeOrder).where(RealtimeOrder.reseller_code == reseller.reseller_code)
    if reseller_order_ref is not None:
        query = query.join(Order, RealtimeOrder.order_id == Order.id).where(
            Order.reseller_order_id == reseller_order_ref
        )
    if changed_since is not None:
        query = query.where(RealtimeOrder.changed_at >= utc(changed_since))
    if after is not None:
        changed_at, public_id = utc(after[0]), after[1]
        query = query.where(
            or_(
                RealtimeOrder.changed_at > changed_at,
                and_(RealtimeOrder.changed_at == changed_at, RealtimeOrder.public_id > public_id),
            )
        )
    found = session.scalars(
        query.order_by(RealtimeOrder.changed_at, RealtimeOrder.public_id).limit(limit + 1)
    ).all()
    page = found[:limit]
    position = None
    if len(found) > limit:
        last = page[-1]
        position = (utc(last.changed_at), last.public_id)
    return [order_object(session, order) for order in page], position


def touch_order(session: Session, realtime_order: RealtimeOrder, now: dt.datetime) -> None:
    """Record that the order changed at ``now`` (it lists by ``changed_at``)."""
    session.execute(
        update(RealtimeOrder)
        .where(RealtimeOrder.id == realtime_order.id)
        .values(changed_at=utc(now))
        .execution_options(synchronize_session=False)
    )
    realtime_order.changed_at = utc(now)
