"""The idempotency store of realtime-api-v1 (section 6).

Scope: the reseller (not the key), the method and the path. Fingerprint: SHA-256 of the
body's RFC 8785 canonical form (:func:`reseller_sync.realtime.http_json.fingerprint`). The
response is stored in the transaction of the request's effects (the HTTP layer calls
:func:`remember` before its commit; a problem, in a transaction of its own once the
effects' was rolled back); never the body. A key is forgotten 24 hours after its
first response.

Concurrency: on PostgreSQL the transaction first takes ``pg_try_advisory_xact_lock`` on a
hash of the scope; when another transaction holds it, the same key is being processed
(``409 idempotency-request-in-progress``). SQLite serialises writers (the HTTP layer opens
``BEGIN IMMEDIATE``), so there a retry waits for the first request and gets its replay.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import RealtimeIdempotency
from reseller_sync.realtime.problems import Problem, error_item

RETENTION = dt.timedelta(hours=24)
KEY = re.compile(r'(?P<bare>[A-Za-z0-9_-]{16,64})|"(?P<quoted>[A-Za-z0-9_-]{16,64})"')
STORED_STATUSES = frozenset({404, 409, 422})
"""Besides every 2xx; minus ``idempotency-request-in-progress`` and ``-key-reused``."""
NOT_STORED_TYPES = frozenset({"idempotency-request-in-progress", "idempotency-key-reused"})


def idempotency_key(header: str | None) -> str:
    """The key of an ``Idempotency-Key`` header, bare or as an RFC 8941 string (the same
    key); ``400 idempotency-key-required`` when missing or malformed."""
    match = KEY.fullmatch(header.strip()) if header is not None else None
    if match is None:
        detail = (
            "Idempotency-Key is required on POST"
            if header is None
            else "Idempotency-Key must be 16 to 64 of A-Z a-z 0-9 - _, bare or in double quotes"
        )
        raise Problem(
            "idempotency-key-required",
            detail,
            [error_item(detail, header="Idempotency-Key", reason="format")],
        )
    return match["bare"] or match["quoted"]


def stored(status: int, problem_type: str | None) -> bool:
    """Whether a response is kept with its key."""
    if 200 <= status < 300:
        return True
    return status in STORED_STATUSES and problem_type not in NOT_STORED_TYPES


def scope_lock_id(reseller_code: str, method: str, path: str, key: str) -> int:
    """A signed 64-bit advisory lock id for the scope."""
    digest = hashlib.sha256("\x1f".join((reseller_code, method, path, key)).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_scope(session: Session, reseller_code: str, method: str, path: str, key: str) -> None:
    """On PostgreSQL, take the scope's transaction lock or answer ``409
    idempotency-request-in-progress``; elsewhere the writers are serialised already."""
    if session.get_bind().dialect.name != "postgresql":
        return
    taken = session.scalar(
        select(func.pg_try_advisory_xact_lock(scope_lock_id(reseller_code, method, path, key)))
    )
    if not taken:
        raise Problem(
            "idempotency-request-in-progress",
            "a request with this Idempotency-Key is being processed; retry after Retry-After",
            [error_item("being processed", header="Idempotency-Key")],
        )


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def find(
    session: Session,
    reseller_code: str,
    method: str,
    path: str,
    key: str,
    fingerprint: str,
    now: dt.datetime,
) -> RealtimeIdempotency | None:
    """The stored response to replay, None for a new request (a key older than 24 hours is
    forgotten here); ``422 idempotency-key-reused`` for another fingerprint."""
    row = session.scalars(
        select(RealtimeIdempotency).where(
            RealtimeIdempotency.reseller_code == reseller_code,
            RealtimeIdempotency.method == method,
            RealtimeIdempotency.path == path,
            RealtimeIdempotency.idempotency_key == key,
        )
    ).one_or_none()
    if row is None:
        return None
    if _utc(row.created_at) <= now - RETENTION:
        session.delete(row)
        session.flush()
        return None
    if row.fingerprint != fingerprint:
        raise Problem(
            "idempotency-key-reused",
            "this Idempotency-Key was used with another body; nothing was done",
            [error_item("used with another body", header="Idempotency-Key")],
        )
    return row


def remember(
    session: Session,
    *,
    reseller_code: str,
    method: str,
    path: str,
    key: str,
    fingerprint: str,
    status: int,
    body: str,
    location: str | None,
    correlation_id: str,
    now: dt.datetime,
) -> None:
    """Keep a response with its key, in the caller's transaction."""
    session.add(
        RealtimeIdempotency(
            reseller_code=reseller_code,
            method=method,
            path=path,
            idempotency_key=key,
            fingerprint=fingerprint,
            status=status,
            body=body,
            location=location,
            correlation_id=correlation_id,
            created_at=now,
        )
    )
    session.flush()


def purge(session: Session, now: dt.datetime) -> int:
    """Forget the keys older than 24 hours; their count."""
    result = session.execute(
        delete(RealtimeIdempotency).where(RealtimeIdempotency.created_at <= now - RETENTION)
    )
    return int(getattr(result, "rowcount", 0) or 0)
