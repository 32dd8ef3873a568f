"""The per-key rate limit of realtime-api-v1 (section 4): a token bucket per API key,
filled at the reseller's ``rate_per_second`` up to its ``burst`` (20 and 40 by default).

Two implementations of one interface, :class:`TokenBuckets`:

- :class:`MemoryTokenBuckets`: in the process, for a single worker;
- :class:`RedisTokenBuckets`: in Redis, shared by every worker and server. No well-kept
  Python library implements a token bucket over Redis (``limits`` has fixed and sliding
  windows only), so this module implements it: one Lua script, run atomically by Redis,
  reads the bucket, refills it by Redis's own clock (``TIME``, so the servers' clocks do
  not matter), takes a token or says how long to wait, and writes it back.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol


class RateLimiterUnavailableError(RuntimeError):
    """The shared bucket store cannot be reached: the request answers ``503``."""


class TokenBuckets(Protocol):
    def take(self, bucket: str, rate_per_second: float, burst: int) -> float:
        """Take one token from ``bucket``: 0 when taken, else the seconds until one is there
        (nothing taken)."""
        ...

    def ping(self) -> bool:
        """Whether the bucket store answers."""
        ...


def retry_after(wait: float) -> int:
    """The ``Retry-After`` header of a ``429``: whole seconds, at least 1."""
    return max(1, math.ceil(wait))


class MemoryTokenBuckets:
    """Token buckets in this process (one worker). ``monotonic`` is the clock (seconds)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}
        """bucket -> (tokens, instant of that count)"""

    def take(self, bucket: str, rate_per_second: float, burst: int) -> float:
        with self._lock:
            now = self._monotonic()
            tokens, at = self._buckets.get(bucket, (float(burst), now))
            tokens = min(float(burst), tokens + max(0.0, now - at) * rate_per_second)
            if tokens >= 1:
                self._buckets[bucket] = (tokens - 1, now)
                return 0.0
            self._buckets[bucket] = (tokens, now)
            return (1 - tokens) / rate_per_second

    def ping(self) -> bool:
        return True


TOKEN_BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""
"""Atomic in Redis: a bucket is read, refilled, taken from and written in one step, so two
workers never take the same token. Returns the wait in seconds as a string (a Lua number
would be truncated to an integer)."""


class RedisTokenBuckets:
    """Token buckets shared through Redis by every worker (the Lua script above)."""

    def __init__(self, url: str, *, prefix: str = "reseller_sync:realtime:bucket:") -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2, decode_responses=True
        )
        self._script = self._redis.register_script(TOKEN_BUCKET_SCRIPT)
        self._prefix = prefix
        self._errors = (redis.RedisError, OSError)

    def take(self, bucket: str, rate_per_second: float, burst: int) -> float:
        try:
            wait = self._script(keys=[self._prefix + bucket], args=[rate_per_second, burst])
        except self._errors as error:
            raise RateLimiterUnavailableError(
                f"the rate limit store is unreachable: {error}"
            ) from None
        return float(wait)

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except self._errors:
            return False

    def close(self) -> None:
        self._redis.close()


def token_buckets(redis_url: str | None) -> TokenBuckets:
    """Redis buckets when a Redis URL is configured (several workers), else in memory."""
    return RedisTokenBuckets(redis_url) if redis_url else MemoryTokenBuckets()
