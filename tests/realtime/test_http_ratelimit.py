"""The per-key token bucket of realtime-api-v1 (section 4): in memory, and in Redis shared by
two application instances (two workers)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
import redis

from reseller_sync.realtime.app import create_app
from reseller_sync.realtime.http_ratelimit import (
    MemoryTokenBuckets,
    RateLimiterUnavailableError,
    RedisTokenBuckets,
    retry_after,
)

REDIS_URL = "redis://127.0.0.1:6379/0"


def test_memory_bucket_bursts_then_refills_at_the_rate() -> None:
    ticks = [0.0]
    buckets = MemoryTokenBuckets(monotonic=lambda: ticks[0])
    assert [buckets.take("k", 20, 40) for _ in range(40)] == [0.0] * 40
    wait = buckets.take("k", 20, 40)
    assert wait == pytest.approx(0.05)
    assert retry_after(wait) == 1
    ticks[0] += 0.5  # 10 tokens back
    assert [buckets.take("k", 20, 40) for _ in range(10)] == [0.0] * 10
    assert buckets.take("k", 20, 40) > 0
    assert buckets.take("other", 20, 40) == 0.0
    ticks[0] += 100
    assert sum(buckets.take("k", 20, 40) == 0 for _ in range(50)) == 40  # never over the burst


@pytest.fixture
def redis_buckets() -> Any:
    prefix = f"test:{uuid.uuid4().hex}:"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis at {REDIS_URL} is part of this machine's contract: {error}")
    yield lambda: RedisTokenBuckets(REDIS_URL, prefix=prefix)
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)
    client.close()


def test_redis_buckets_are_one_bucket_for_every_worker(redis_buckets: Any) -> None:
    first, second = redis_buckets(), redis_buckets()
    taken = [(first if i % 2 else second).take("key", 1, 6) for i in range(8)]
    assert taken[:6] == [0.0] * 6
    assert all(wait > 0 for wait in taken[6:])
    assert retry_after(taken[-1]) >= 1
    assert first.take("another", 1, 6) == 0.0
    assert first.ping()


def test_an_unreachable_redis_is_a_dependency_down() -> None:
    buckets = RedisTokenBuckets("redis://127.0.0.1:1/0")
    with pytest.raises(RateLimiterUnavailableError):
        buckets.take("k", 20, 40)
    assert not buckets.ping()


def _get(app: Any, key: str, path: str = "/realtime/v1/products") -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://box") as client:
            return await client.get(path, headers={"Authorization": f"Bearer {key}"})

    return asyncio.run(go())


def test_two_app_instances_share_the_rate_limit_through_redis(
    conformance_world: Any, redis_buckets: Any
) -> None:
    from sqlalchemy import update

    from reseller_sync.boxoffice.models import RealtimeReseller

    with conformance_world.session() as session, session.begin():
        session.execute(
            update(RealtimeReseller)
            .where(RealtimeReseller.reseller_code == "conf-a")
            .values(rate_per_second=1, burst=3)
        )
    key = conformance_world.keys["conf-a"]
    workers = [create_app(conformance_world.engine, rate_limiter=redis_buckets()) for _ in range(2)]
    statuses = [_get(workers[i % 2], key).status_code for i in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    refused = _get(workers[0], key)
    assert int(refused.headers["retry-after"]) >= 1
    assert _get(workers[1], conformance_world.keys["conf-b"]).status_code == 200


def test_health_says_degraded_and_requests_503_when_redis_is_down(
    conformance_world: Any,
) -> None:
    app = create_app(
        conformance_world.engine, rate_limiter=RedisTokenBuckets("redis://127.0.0.1:1/0")
    )

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://box") as client:
            return await client.get("/realtime/v1/health")

    assert asyncio.run(go()).json()["status"] == "degraded"
    response = _get(app, conformance_world.keys["conf-a"])
    assert response.status_code == 503
    assert response.json()["type"].endswith("service-unavailable")
