"""The hold expiry sweep's job (realtime-api-v1 section 1), on the conformance data set: the
counts, per reseller, and who has holds piling up."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from reseller_sync.boxoffice.models import Alert, RealtimeHold, RealtimeIdempotency
from reseller_sync.realtime.holds import create_hold, release_hold
from reseller_sync.realtime.http_idempotency import remember
from reseller_sync.realtime.sweep_job import (
    NOTICE_KIND,
    REPEAT_AFTER,
    active_holds_by_reseller,
    recently_told,
    sweep,
)


def _hold(world: Any, reseller: str, now: dt.datetime, seconds: int, quantity: int = 1) -> str:
    with world.session() as session, session.begin():
        held = create_hold(
            session,
            world.reseller(reseller),
            {
                "lines": [
                    {"performance_id": "CONF-EVT-1", "category_id": "FREE", "quantity": quantity}
                ],
                "expires_in": seconds,
            },
            now,
        )
    return str(held["id"])


def test_the_sweep_counts_expired_and_active_holds_per_reseller(conformance_world: Any) -> None:
    world, now = conformance_world, conformance_world.now
    _hold(world, "conf-a", now, 60)
    _hold(world, "conf-a", now, 600)
    _hold(world, "conf-a", now, 600)
    _hold(world, "conf-b", now, 60)
    released = _hold(world, "conf-b", now, 600)
    with world.session() as session, session.begin():
        release_hold(session, world.reseller("conf-b"), released, now)
    later = now + dt.timedelta(minutes=2)

    with world.session() as session, session.begin():
        assert active_holds_by_reseller(session, later) == {"conf-a": 2}
        outcome = sweep(session, later, {"conf-a": 1, "conf-b": 1})

    assert (outcome.expired, outcome.active) == (2, 2)
    assert outcome.active_by_reseller == {"conf-a": 2}
    assert outcome.piling_up == {"conf-a": 2}, "more than its threshold of 1; conf-b has none"
    with world.session() as session, session.begin():
        swept = session.scalars(
            select(RealtimeHold.public_id).where(RealtimeHold.swept_at.is_not(None))
        ).all()
        assert len(swept) == 2
        again = sweep(session, later, {"conf-a": 2})
    assert (again.expired, again.active, again.piling_up) == (0, 2, {}), "counted once"


def test_a_reseller_without_a_threshold_is_not_judged(conformance_world: Any) -> None:
    world, now = conformance_world, conformance_world.now
    _hold(world, "conf-b", now, 600)
    with world.session() as session, session.begin():
        outcome = sweep(session, now, {})
    assert outcome.active_by_reseller == {"conf-b": 1}
    assert outcome.piling_up == {}


def test_a_piling_up_notice_is_repeated_at_most_once_an_hour(conformance_world: Any) -> None:
    world, now = conformance_world, conformance_world.now
    with world.session() as session, session.begin():
        session.add(
            Alert(
                created_at=now,
                category="external",
                kind=NOTICE_KIND,
                subject="[Conf A] Erreur externe : realtime_hold_sweep.sweep_expired_holds",
                body="...",
                recipients="ops@example.org",
            )
        )
    with world.session() as session:
        assert recently_told(session, "Conf A", now + dt.timedelta(minutes=5))
        assert not recently_told(session, "Conf B", now + dt.timedelta(minutes=5))
        assert not recently_told(session, "Conf A", now + REPEAT_AFTER + dt.timedelta(seconds=1))


def test_the_sweep_forgets_idempotency_keys_after_24_hours(conformance_world: Any) -> None:
    world, now = conformance_world, conformance_world.now
    with world.session() as session, session.begin():
        for age, key in (
            (dt.timedelta(hours=25), "old-key-0123456789"),
            (dt.timedelta(hours=23), "new-key-0123456789"),
        ):
            remember(
                session,
                reseller_code="conf-a",
                method="POST",
                path="/realtime/v1/holds",
                key=key,
                fingerprint="0" * 64,
                status=201,
                body="{}",
                location=None,
                correlation_id="c-1",
                now=now - age,
            )
    with world.session() as session, session.begin():
        outcome = sweep(session, now, {})
    assert outcome.forgotten_keys == 1
    with world.session() as session:
        assert session.scalars(select(RealtimeIdempotency.idempotency_key)).all() == [
            "new-key-0123456789"
        ]
