"""The hold expiry sweep, every minute (``realtime-api-v1`` section 1): the holds past
``expires_at`` counted expired, the counts logged, and an alert when a reseller's active
holds pile up.

Expiry itself never waits for the sweep (section 8, G4): every request treats a hold past
``expires_at`` as expired. The sweep (:func:`reseller_sync.realtime.holds.sweep_expired_holds`)
records it and clears the seat claims left behind. Holds piling up (more active holds than
the reseller's ``limits.active_holds_alert``) mean a client that holds without ordering or
releasing, or a burst of abandoned carts: the reseller's instance is told, as an external
notice, at most once an hour while it lasts.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import Alert, RealtimeHold
from reseller_sync.domain.errors import ErrorCategory, Problem
from reseller_sync.domain.texts import Localized

log = logging.getLogger(__name__)

DAG_ID = "realtime_hold_sweep"
NOTICE_KIND = "holds_piling_up"
REPEAT_AFTER = dt.timedelta(hours=1)
"""While holds pile up, the notice is raised again at most this often."""

PILING_UP_ACTION = Localized(
    fr="Voyez avec {reseller} pourquoi ses réservations temporaires (holds) ne sont ni "
    "commandées ni libérées : un client qui réserve sans acheter, ou un pic de paniers "
    "abandonnés. Elles expirent d'elles-mêmes ; si cela dure, suspendez son canal "
    "(python -m reseller_sync realtime) le temps de comprendre.",
    en="See with {reseller} why its holds are neither ordered nor released: a client that "
    "holds without buying, or a burst of abandoned carts. They expire by themselves; if it "
    "lasts, suspend its channel while you find out.",
)


@dataclass(frozen=True)
class SweepOutcome:
    expired: int
    """Holds counted expired by this sweep."""
    active: int
    """Holds still active, every reseller's."""
    active_by_reseller: dict[str, int]
    piling_up: dict[str, int]
    """Resellers whose active holds exceed their threshold, with their count."""
    forgotten_keys: int = 0
    """Idempotency keys forgotten, 24 hours after their first response (realtime-api-v1,
    section 6)."""


def active_holds_by_reseller(session: Session, now: dt.datetime) -> dict[str, int]:
    """Each reseller's active holds: not released, not ordered, ``expires_at`` to come."""
    from reseller_sync.realtime.places import active_hold

    return {
        code: int(count)
        for code, count in session.execute(
            select(RealtimeHold.reseller_code, func.count())
            .where(active_hold(now))
            .group_by(RealtimeHold.reseller_code)
        )
    }


def sweep(session: Session, now: dt.datetime, thresholds: Mapping[str, int]) -> SweepOutcome:
    """Sweep the expired holds and forget the idempotency keys past their retention; say
    whose active holds exceed its threshold (a reseller without one is not judged). Never
    commits."""
    from reseller_sync.realtime.holds import sweep_expired_holds
    from reseller_sync.realtime.http_idempotency import purge

    swept = sweep_expired_holds(session, now)
    forgotten = purge(session, now)
    by_reseller = active_holds_by_reseller(session, now)
    piling = {
        code: count
        for code, count in by_reseller.items()
        if code in thresholds and count > thresholds[code]
    }
    return SweepOutcome(swept.expired, swept.active, by_reseller, piling, forgotten)


def realtime_instances() -> tuple[str, ...]:
    """The configured instances of synchronous reseller types."""
    from reseller_sync.config.paths import configured_resellers
    from reseller_sync.core.resellers import InterfaceKind, reseller_type

    return tuple(
        code
        for code in configured_resellers()
        if reseller_type(code).interface is InterfaceKind.REALTIME
    )


def recently_told(session: Session, display_name: str, now: dt.datetime) -> bool:
    """A piling-up notice for this reseller was raised less than :data:`REPEAT_AFTER` ago."""
    found = session.scalar(
        select(func.count())
        .select_from(Alert)
        .where(
            Alert.kind == NOTICE_KIND,
            Alert.subject.startswith(f"[{display_name}]", autoescape=True),
            Alert.created_at > now - REPEAT_AFTER,
        )
    )
    return bool(found)


def sweep_holds(context: Any = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """The sweep DAG's task: sweep in one transaction, log the counts, tell each reseller
    whose holds pile up (a notice: the task succeeds). Returns the counts, for XCom."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.core.resellers import adapter

    now = now or dt.datetime.now(dt.UTC)
    settings = {code: adapter(code).load_settings() for code in realtime_instances()}
    thresholds = {code: s.limits.active_holds_alert for code, s in settings.items()}  # type: ignore[attr-defined]
    with session_scope() as session:
        outcome = sweep(session, now, thresholds)
    log.info(
        "Hold sweep at %s: %d expired, %d active%s; %d idempotency key(s) forgotten",
        now.isoformat(timespec="seconds"),
        outcome.expired,
        outcome.active,
        "".join(f"; {code} {n}" for code, n in sorted(outcome.active_by_reseller.items())),
        outcome.forgotten_keys,
    )
    told = _tell(outcome, settings, thresholds, context, now)
    return {
        "expired": outcome.expired,
        "active": outcome.active,
        "active_by_reseller": outcome.active_by_reseller,
        "piling_up": sorted(outcome.piling_up),
        "forgotten_keys": outcome.forgotten_keys,
        "told": told,
    }


def _tell(
    outcome: SweepOutcome,
    settings: Mapping[str, Any],
    thresholds: Mapping[str, int],
    context: Any,
    now: dt.datetime,
) -> Sequence[str]:
    from reseller_sync.airflow.notices import notify, task_site
    from reseller_sync.boxoffice.db import session_scope

    told = []
    for code, count in sorted(outcome.piling_up.items()):
        instance = settings[code]
        log.warning("%s holds pile up: %d active (threshold %d)", code, count, thresholds[code])
        with session_scope() as session:
            if recently_told(session, instance.display_name, now):
                continue
        notify(
            instance,
            category=ErrorCategory.EXTERNAL,
            kind=NOTICE_KIND,
            message=Localized(
                fr=f"{count} réservations temporaires actives de {{reseller}} (seuil "
                f"{thresholds[code]}) : elles s'accumulent.",
                en=f"{count} active holds of {{reseller}} (threshold {thresholds[code]}): "
                "they pile up.",
            ),
            problems=[
                Problem(
                    f"{count} active holds, more than limits.active_holds_alert "
                    f"({thresholds[code]})",
                    value=str(count),
                )
            ],
            site=task_site(context) if context is not None else None,
            action=PILING_UP_ACTION,
        )
        told.append(code)
    return told
