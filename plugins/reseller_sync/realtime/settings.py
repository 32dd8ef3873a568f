"""A synchronous reseller's settings and API keys (realtime-api-v1, sections 2, 4 and 9).

Onboarding records the settings (:func:`record_reseller`) and issues the keys
(:func:`issue_key`); the service authenticates every request (:func:`authenticate`).
A key is shown once, when issued: the box office stores its id and the SHA-256 of the
whole key, never the key, and nothing here logs a key (only its id).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    Contact,
    PointOfSale,
    RealtimeApiKey,
    RealtimeReseller,
    SalesChannel,
)
from reseller_sync.realtime.context import PRODUCT_KINDS, ResellerContext

log = logging.getLogger(__name__)

KEY_PREFIX = "rsk_"
KEY_ID_ALPHABET = string.ascii_lowercase + string.digits
KEY_ID_LENGTH = 8
SECRET_BYTES = 32
"""256 random bits: 43 characters of unpadded base64url."""
KEY_PATTERN = re.compile(r"rsk_(?P<key_id>[a-z0-9]{8})_[A-Za-z0-9_-]{43}")
MAX_ACTIVE_KEYS = 2
"""Two, so that a reseller rotates without downtime (section 4)."""
PRICE_COMPARES = ("price", "price_minus_commission")
PRICE_POLICIES = ("strict", "warn")

_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


class TooManyActiveKeys(ValueError):  # noqa: N818 (the domain's words)
    """The reseller already has two active keys: revoke one before issuing another."""


@dataclass(frozen=True)
class ApiKeyInfo:
    """What may be shown of an API key: never the key, nor its hash."""

    key_id: str
    reseller_code: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def record_reseller(
    session: Session,
    *,
    reseller_code: str,
    channel_code: str,
    point_of_sale_code: str,
    contact_code: str,
    product_kinds: Sequence[str],
    price_compare: str,
    price_policy: str,
    max_places_per_hold: int = 10,
    rate_per_second: int = 20,
    burst: int = 40,
) -> None:
    """Insert or update a reseller's settings. The channel, point of sale and (technical)
    contact are named by their codes: KeyError when one is unknown, ValueError when a
    setting is out of the contract's values."""
    kinds = tuple(dict.fromkeys(product_kinds))
    unknown = [kind for kind in kinds if kind not in PRODUCT_KINDS]
    if unknown or not kinds:
        raise ValueError(f"product kinds {list(product_kinds)!r}: each one of {PRODUCT_KINDS}")
    if price_compare not in PRICE_COMPARES:
        raise ValueError(f"price compare {price_compare!r}: one of {PRICE_COMPARES}")
    if price_policy not in PRICE_POLICIES:
        raise ValueError(f"price policy {price_policy!r}: one of {PRICE_POLICIES}")
    if max_places_per_hold < 1 or rate_per_second < 1 or burst < rate_per_second:
        raise ValueError("limits: places per hold and rate at least 1, burst at least the rate")
    channel_id = _id_of(session, SalesChannel, channel_code, "sales channel")
    point_of_sale = session.scalars(
        select(PointOfSale).where(PointOfSale.code == point_of_sale_code)
    ).one_or_none()
    if point_of_sale is None:
        raise KeyError(f"no point of sale {point_of_sale_code!r}")
    if point_of_sale.channel_id != channel_id:
        raise ValueError(f"point of sale {point_of_sale_code!r} is not on {channel_code!r}")
    contact_id = _id_of(session, Contact, contact_code, "contact")
    owner = session.scalar(
        select(RealtimeReseller.reseller_code).where(RealtimeReseller.channel_id == channel_id)
    )
    if owner is not None and owner != reseller_code:
        raise ValueError(f"sales channel {channel_code!r} is another reseller's")

    reseller = session.get(RealtimeReseller, reseller_code)
    if reseller is None:
        reseller = RealtimeReseller(reseller_code=reseller_code, suspended=False)
        session.add(reseller)
    reseller.channel_id = channel_id
    reseller.point_of_sale_id = point_of_sale.id
    reseller.contact_id = contact_id
    reseller.product_kinds = ",".join(kinds)
    reseller.price_compare = price_compare
    reseller.price_policy = price_policy
    reseller.max_places_per_hold = max_places_per_hold
    reseller.rate_per_second = rate_per_second
    reseller.burst = burst
    session.flush()


def _id_of(
    session: Session, model: type[SalesChannel] | type[Contact], code: str, what: str
) -> int:
    found = session.scalar(select(model.id).where(model.code == code))
    if found is None:
        raise KeyError(f"no {what} {code!r}")
    return found


def reseller_context(session: Session, reseller_code: str) -> ResellerContext:
    """The reseller's settings as a request sees them, read from the database (not from the
    session's cache); KeyError when unknown."""
    reseller = session.get(RealtimeReseller, reseller_code, populate_existing=True)
    if reseller is None:
        raise KeyError(f"no real-time reseller {reseller_code!r}")
    return _context(reseller)


def _context(reseller: RealtimeReseller, key_id: str | None = None) -> ResellerContext:
    return ResellerContext(
        reseller_code=reseller.reseller_code,
        channel_id=reseller.channel_id,
        point_of_sale_id=reseller.point_of_sale_id,
        contact_id=reseller.contact_id,
        product_kinds=tuple(kind for kind in reseller.product_kinds.split(",") if kind),
        price_compare=reseller.price_compare,
        price_policy=reseller.price_policy,
        max_places_per_hold=reseller.max_places_per_hold,
        rate_per_second=reseller.rate_per_second,
        burst=reseller.burst,
        suspended=reseller.suspended,
        key_id=key_id,
    )


def _sha256(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def issue_key(session: Session, reseller_code: str, now: dt.datetime) -> str:
    """A new API key for the reseller, to show once. KeyError when the reseller is unknown;
    TooManyActiveKeys when it already has two active keys."""
    # Lock the reseller's row (PostgreSQL) so that two issues at once cannot make three.
    reseller = session.scalars(
        select(RealtimeReseller)
        .where(RealtimeReseller.reseller_code == reseller_code)
        .with_for_update()
    ).one_or_none()
    if reseller is None:
        raise KeyError(f"no real-time reseller {reseller_code!r}")
    active = session.scalar(
        select(func.count())
        .select_from(RealtimeApiKey)
        .where(
            RealtimeApiKey.reseller_code == reseller_code,
            RealtimeApiKey.revoked_at.is_(None),
        )
    )
    if (active or 0) >= MAX_ACTIVE_KEYS:
        raise TooManyActiveKeys(
            f"reseller {reseller_code!r} already has {MAX_ACTIVE_KEYS} active keys:"
            " revoke one first"
        )
    while True:
        key_id = "".join(secrets.choice(KEY_ID_ALPHABET) for _ in range(KEY_ID_LENGTH))
        taken = session.scalar(select(RealtimeApiKey.id).where(RealtimeApiKey.key_id == key_id))
        if taken is None:
            break
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(SECRET_BYTES)}"
    session.add(
        RealtimeApiKey(
            reseller_code=reseller_code,
            key_id=key_id,
            key_sha256=_sha256(key),
            created_at=_utc(now),
            revoked_at=None,
        )
    )
    session.flush()
    log.info("issued API key %s to reseller %s", key_id, reseller_code)
    return key


def list_keys(session: Session, reseller_code: str | None = None) -> list[ApiKeyInfo]:
    """The keys of one reseller, or of all, oldest first."""
    query = select(RealtimeApiKey).order_by(
        RealtimeApiKey.reseller_code, RealtimeApiKey.created_at, RealtimeApiKey.id
    )
    if reseller_code is not None:
        query = query.where(RealtimeApiKey.reseller_code == reseller_code)
    return [
        ApiKeyInfo(
            key_id=key.key_id,
            reseller_code=key.reseller_code,
            created_at=_as_utc(key.created_at),
            revoked_at=_as_utc(key.revoked_at) if key.revoked_at else None,
        )
        for key in session.scalars(query)
    ]


def revoke_key(session: Session, key_id: str, now: dt.datetime) -> None:
    """Revoke a key from now on; revoking it again keeps the first instant. KeyError when
    no key has this id."""
    key = session.scalars(
        select(RealtimeApiKey).where(RealtimeApiKey.key_id == key_id)
    ).one_or_none()
    if key is None:
        raise KeyError(f"no API key {key_id!r}")
    if key.revoked_at is None:
        key.revoked_at = _utc(now)
        session.flush()
        log.info("revoked API key %s of reseller %s", key_id, key.reseller_code)


def authenticate(session: Session, bearer_key: str) -> ResellerContext | None:
    """The reseller behind a key, with ``key_id`` set; None when the key is malformed (the
    database is not asked), unknown or revoked. Hashes are compared in constant time."""
    if not isinstance(bearer_key, str):
        return None
    match = KEY_PATTERN.fullmatch(bearer_key)
    if match is None:
        return None
    key_id = match["key_id"]
    found = session.execute(
        select(RealtimeApiKey.key_sha256, RealtimeApiKey.revoked_at, RealtimeReseller)
        .join(RealtimeReseller, RealtimeReseller.reseller_code == RealtimeApiKey.reseller_code)
        .where(RealtimeApiKey.key_id == key_id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    presented = _sha256(bearer_key)
    if found is None:
        hmac.compare_digest(presented, _DUMMY_HASH)  # the same work as for a known id
        return None
    stored, revoked_at, reseller = found
    if not hmac.compare_digest(presented, stored) or revoked_at is not None:
        return None
    return _context(reseller, key_id=key_id)


def set_suspended(session: Session, reseller_code: str, suspended: bool) -> None:
    """Suspend or reopen the reseller's channel; KeyError when unknown."""
    reseller = session.get(RealtimeReseller, reseller_code)
    if reseller is None:
        raise KeyError(f"no real-time reseller {reseller_code!r}")
    reseller.suspended = suspended
    session.flush()
    log.info("reseller %s %s", reseller_code, "suspended" if suspended else "reopened")


def _utc(moment: dt.datetime) -> dt.datetime:
    """An aware instant in UTC (stored as such on both databases)."""
    if moment.tzinfo is None:
        raise ValueError("an instant must carry its offset")
    return moment.astimezone(dt.UTC)


def _as_utc(moment: dt.datetime) -> dt.datetime:
    """An instant read back: SQLite returns it naive (it was written in UTC)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
