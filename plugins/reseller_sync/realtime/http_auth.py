"""Bearer authentication of realtime-api-v1 (section 4), with a short cache.

A successful lookup is kept at most :data:`CACHE_SECONDS` (30 s), so a revoked key, or a
suspension, takes effect within 60 s as the contract asks while most requests skip the
database. The cache is keyed by the SHA-256 of the key, never the key; failures are not
cached (a new key works at once).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from reseller_sync.realtime.context import ResellerContext
from reseller_sync.realtime.settings import authenticate

CACHE_SECONDS = 30.0
REALM = 'Bearer realm="realtime/v1"'
MAX_CACHED = 10_000


def challenge(key_sent: bool) -> str:
    """The ``WWW-Authenticate`` header of a ``401``."""
    return REALM + (', error="invalid_token"' if key_sent else "")


def bearer_key(authorization: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header; "" when the header is there but
    is not a bearer credential (a key was sent, malformed); None when absent."""
    if authorization is None:
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return credential.strip()


class Authenticator:
    """Who a key belongs to, through H1's :func:`authenticate`, cached 30 s at most."""

    def __init__(
        self,
        engine: Engine,
        *,
        cache_seconds: float = CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, ResellerContext]] = {}

    def __call__(self, key: str) -> ResellerContext | None:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        now = self._monotonic()
        with self._lock:
            cached = self._cache.get(digest)
            if cached is not None and now - cached[0] < self._cache_seconds:
                return cached[1]
        with Session(self._engine) as session:
            reseller = authenticate(session, key)
        with self._lock:
            if reseller is None:
                self._cache.pop(digest, None)
            else:
                if len(self._cache) >= MAX_CACHED:
                    self._cache.clear()
                self._cache[digest] = (now, reseller)
        return reseller

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
