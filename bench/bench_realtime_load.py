"""Load benchmark of the real-time reseller service (realtime-api-v1, section 15).

A fresh PostgreSQL database, migrated, holds section 15's world (``realtime_world``): a
20,000-seat arena with one performance on sale, two resellers (``bench-a``: ``price``,
``strict``; ``bench-b``: ``price_minus_commission``, ``warn``), each with an exclusive quota
of 2,000 seats and 500 standing places. The service runs as its own process, as in
production: ``python -m reseller_sync realtime serve --workers 2`` with its rate-limit
buckets in Redis (a free database number of the local server).

1. **Load** (``BENCH_SECONDS``, default 120): locust, headless, in its own process
   (``locustfile_realtime.py``): both resellers at once, each 20 users paced together at 20
   requests a second, section 15's mix. For each operation: p50 and p99 against section
   15's targets; the share of ``5xx`` answers (goal under 0.1 %). The resellers keep the
   contract's rate limit (20 a second, bursts of 40).
2. **Capacity** (``BENCH_CAPACITY_SECONDS``, default 30): holds and orders as fast as the
   service takes them. Each reseller's rate limit is raised (a second key then reads the
   new settings at once) and its quota gets 8,000 more seats of the arena, so that neither
   limit nor quota is what is measured. ``BENCH_CAPACITY_CLIENTS`` threads per reseller (4)
   each hold 1 to 4 ``CAT1`` seats (best seats) then order them, over HTTP. Then the
   baseline: a bare SQL client (psycopg, no HTTP, no ORM), with as many threads and
   connections, does the same holds and orders, in the same sizes, on the same database:
   lock the quota row (``SELECT ... FOR UPDATE``), pick the first free seats, write the
   hold and its places with their seat claims; then lock the quota and the hold, write the
   order, its tickets (``INSERT ... SELECT`` from the hold places), the hold places'
   tickets and amounts, the ``realtime_order`` row, access control and the
   pending-account movement. Ratio: the service's holds plus orders a second over the bare
   client's (goal: at least 0.4).

    .venv/bin/python bench/bench_realtime_load.py                    # 120 s of load
    BENCH_SECONDS=10 BENCH_CAPACITY_SECONDS=5 .venv/bin/python bench/bench_realtime_load.py

PostgreSQL at ``$TEST_POSTGRES_ADMIN_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``): the benchmark creates its own
database (``bench_realtime_*``) and drops it. Redis at ``$BENCH_REDIS_URL`` (default
``redis://127.0.0.1:6379``). Figures: ``docs/performance.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
import redis

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "plugins"
sys.path.insert(0, str(PLUGINS))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import realtime_mix as mix  # noqa: E402
import realtime_world as world  # noqa: E402
from reseller_sync.boxoffice import migrate  # noqa: E402
from reseller_sync.boxoffice.db import make_engine  # noqa: E402
from reseller_sync.boxoffice.models import (  # noqa: E402
    PendingAccount,
    Performance,
    PointOfSale,
    RealtimeReseller,
    SeatCategory,
    Tariff,
)
from reseller_sync.realtime.settings import issue_key  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
SECONDS = int(os.environ.get("BENCH_SECONDS", "120"))
CAPACITY_SECONDS = float(os.environ.get("BENCH_CAPACITY_SECONDS", "30"))
CAPACITY_CLIENTS = int(os.environ.get("BENCH_CAPACITY_CLIENTS", "4"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
USERS = 40
"""Locust users per reseller, paced together at ``RATE`` (each at most one request at a
time: 40 keep the pace while answers take up to 2 s)."""
RATE = 20
"""Requests a second per reseller (section 15)."""
RAISED_RATE = 10_000
"""The capacity phase's rate limit, so that the service, not the limit, is measured."""
EXTRA_BLOCKS = {world.BENCH_A.code: tuple("EFGHIJKL"), world.BENCH_B.code: tuple("MNOPQRST")}
TARGETS_MS = {
    mix.AVAILABILITY: (50, 250),
    mix.AVAILABILITY_SEATS: (100, 500),
    mix.HOLD: (80, 400),
    mix.ORDER: (150, 800),
    mix.CANCELLATION: (150, 800),
    mix.CATALOGUE: (100, 1000),
}
"""Section 15's p50 and p99, in milliseconds (``GET /orders/{id}`` has none)."""
MAX_5XX_SHARE = 0.001
MIN_RATIO = 0.4


# --------------------------------------------------------------------------- the stage


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new empty database on the server (dropped afterwards); its URL."""
    name = f"bench_realtime_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_redis_database() -> str:
    """The URL of a Redis database number holding no key (the highest first)."""
    for number in range(15, 0, -1):
        client = redis.Redis.from_url(f"{REDIS_URL}/{number}")
        try:
            if client.dbsize() == 0:
                return f"{REDIS_URL}/{number}"
        finally:
            client.close()
    raise RuntimeError(f"no empty database at {REDIS_URL}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def service(database_url: str, redis_url: str, log: Path) -> Iterator[str]:
    """``realtime serve`` in its own process, until the block ends; its base URL once every
    worker answers."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "reseller_sync",
        "realtime",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(WORKERS),
        "--database-url",
        database_url,
        "--redis-url",
        redis_url,
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGINS), str(ROOT)])}
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    base_url = f"http://127.0.0.1:{port}{mix.PREFIX}"
    try:
        _wait_until_serving(base_url, process, log)
        yield base_url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_serving(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until ``GET /health`` answers 200 twenty times in a row (both workers up), 120 s at
    most."""
    deadline = time.monotonic() + 120
    in_a_row = 0
    with httpx.Client(timeout=5) as client:
        while in_a_row < 20:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the service did not start:\n{log.read_text()[-3000:]}")
            try:
                in_a_row = in_a_row + 1 if client.get(f"{base_url}/health").is_success else 0
            except httpx.TransportError:
                in_a_row = 0
            time.sleep(0.1 if in_a_row else 0.5)


def build(database_url: str) -> dict[str, str]:
    """Migrate and load the world; the resellers' keys."""
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            return world.build_world(session, dt.datetime.now(dt.UTC))
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- 1. load


def run_load(base_url: str, keys: dict[str, str], seconds: int, folder: Path) -> list[list[Any]]:
    """Locust, headless, in its own process; every request's (operation, reseller, status,
    milliseconds)."""
    samples_file = folder / "samples.json"
    env = {
        **os.environ,
        "BENCH_REALTIME_KEYS": json.dumps(keys),
        "BENCH_REALTIME_PERFORMANCE": world.PERFORMANCE,
        "BENCH_REALTIME_USERS": str(USERS),
        "BENCH_REALTIME_RATE": str(RATE),
        "BENCH_REALTIME_SAMPLES": str(samples_file),
    }
    users = USERS * len(keys)
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(Path(__file__).resolve().parent / "locustfile_realtime.py"),
        "--headless",
        "--only-summary",
        "--host",
        base_url.removesuffix(mix.PREFIX),
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
    ]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode or not samples_file.exists():
        raise RuntimeError(f"locust failed:\n{result.stderr[-4000:]}")
    samples: list[list[Any]] = json.loads(samples_file.read_text())
    return samples


def report_load(samples: list[list[Any]], seconds: int) -> dict[str, Any]:
    """Print the table of operations and the 5xx share; return the figures."""
    print(
        f"\nload: {len(world.RESELLERS)} resellers x {USERS} users at {RATE} requests/s each "
        f"for {seconds} s, section 15's mix, {WORKERS} service workers"
    )
    print(
        f"{'operation':<34}{'requests':>9}{'p50 ms':>9}{'target':>8}{'p99 ms':>9}{'target':>8}"
        "  verdict"
    )
    figures: dict[str, Any] = {"operations": {}}
    for operation in mix.OPERATIONS:
        times = np.array([ms for name, _, _, ms in samples if name == operation], dtype=float)
        if not times.size:
            print(f"{operation:<34}{0:>9}")
            continue
        p50, p99 = (float(v) for v in np.percentile(times, [50, 99]))
        target = TARGETS_MS.get(operation)
        if target is None:
            shown = f"{p50:>9.0f}{'-':>8}{p99:>9.0f}{'-':>8}"
            verdict = "(no target)"
        else:
            met = p50 <= target[0] and p99 <= target[1]
            shown = f"{p50:>9.0f}{target[0]:>8}{p99:>9.0f}{target[1]:>8}"
            verdict = _verdict(met)
        print(f"{operation:<34}{times.size:>9}{shown}  {verdict}")
        figures["operations"][operation] = {"requests": int(times.size), "p50": p50, "p99": p99}
    statuses = Counter(status for _, _, status, _ in samples)
    per_reseller = Counter(reseller for _, reseller, _, _ in samples)
    total = len(samples)
    errors = sum(count for status, count in statuses.items() if status == 0 or status >= 500)
    share = errors / total if total else 1.0
    print(
        f"requests: {total:,} ({total / seconds:.1f}/s, {RATE * len(world.RESELLERS)}/s offered; "
        + ", ".join(f"{r} {n / seconds:.1f}/s" for r, n in sorted(per_reseller.items()))
        + ")"
    )
    print(
        "statuses: " + ", ".join(f"{s or 'no answer'} {n:,}" for s, n in sorted(statuses.items()))
    )
    print(
        f"5xx or no answer: {errors} of {total:,} = {share:.3%} (goal < {MAX_5XX_SHARE:.1%})  "
        f"{_verdict(total > 0 and share < MAX_5XX_SHARE)}"
    )
    figures.update(requests=total, statuses=dict(statuses), errors=errors, error_share=share)
    return figures


# --------------------------------------------------------------------------- 2. capacity


@dataclass
class Client:
    """One capacity client: a reseller's thread, the hold sizes it went through."""

    reseller: world.BenchReseller
    seed: int
    sizes: list[int] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)


def open_capacity(database_url: str) -> dict[str, str]:
    """Raise the rate limits, give each quota 8,000 more seats; a fresh key per reseller (a
    new key is not in the service's 30-second settings cache)."""
    engine = make_engine(database_url)
    now = dt.datetime.now(dt.UTC)
    try:
        with Session(engine) as session, session.begin():
            quotas = world.quota_ids(session)
            performance = session.scalars(
                select(Performance.id).where(Performance.code == world.PERFORMANCE)
            ).one()
            keys = {}
            for reseller in world.RESELLERS:
                reseller.record(session, rate_per_second=RAISED_RATE, burst=2 * RAISED_RATE)
                world.add_quota_seats(
                    session, quotas[reseller.code], performance, EXTRA_BLOCKS[reseller.code]
                )
                keys[reseller.code] = issue_key(session, reseller.code, now)
            return keys
    finally:
        engine.dispose()


def run_threads(clients: list[Client], work: Any) -> float:
    """Run ``work(client)`` in one thread per client; the seconds until the last ends."""
    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def capacity_http(
    base_url: str, keys: dict[str, str], seconds: float
) -> tuple[list[Client], float]:
    """Each client holds 1 to 4 seats then orders them, until ``seconds`` have passed."""
    clients = [
        Client(reseller, seed=index * 100 + number)
        for index, reseller in enumerate(world.RESELLERS)
        for number in range(CAPACITY_CLIENTS)
    ]
    stop_at = time.monotonic() + seconds

    def work(client: Client) -> None:
        sizes = random.Random(client.seed)
        headers = {"Authorization": f"Bearer {keys[client.reseller.code]}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=60) as http:
            references = 0
            while time.monotonic() < stop_at:
                quantity = sizes.randint(1, 4)
                hold = _post(
                    http,
                    client,
                    "/holds",
                    {
                        "lines": [
                            {
                                "performance_id": world.PERFORMANCE,
                                "category_id": world.SEATED,
                                "quantity": quantity,
                            }
                        ],
                        "expires_in": 600,
                    },
                )
                if hold is None:
                    continue
                references += 1
                order = _post(
                    http,
                    client,
                    "/orders",
                    _order_body(client, hold, f"CAP-{client.seed}-{references}"),
                )
                if order is not None:
                    client.sizes.append(quantity)

    return clients, run_threads(clients, work)


def _post(http: httpx.Client, client: Client, path: str, body: dict[str, Any]) -> Any:
    """The created resource, else None; the status counted (0: no answer within 60 s)."""
    try:
        response = http.post(path, json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    except httpx.TransportError:
        client.statuses[0] += 1
        return None
    client.statuses[response.status_code] += 1
    return response.json() if response.status_code == 201 else None


def _order_body(client: Client, hold: dict[str, Any], reference: str) -> dict[str, Any]:
    amount = world.PRICES[(world.SEATED, "FULL")]
    commission = 350
    price = amount + commission if client.reseller.price_compare != "price" else amount
    return {
        "hold_id": hold["id"],
        "reseller_order_ref": reference,
        "sold_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "currency": "EUR",
        "point_of_sale": "WEB",
        "lines": [
            {"hold_place_id": place["id"], "tariff_id": "FULL", "price": price, "commission": 350}
            for place in hold["places"]
        ],
    }


@dataclass(frozen=True)
class SqlShop:
    """The ids the bare client writes with, for one reseller."""

    reseller: world.BenchReseller
    quota_id: int
    performance_id: int
    category_id: int
    tariff_id: int
    channel_id: int
    point_of_sale_id: int
    contact_id: int
    account_id: int


def sql_shops(database_url: str) -> dict[str, SqlShop]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            quotas = world.quota_ids(session)
            performance = session.scalars(
                select(Performance.id).where(Performance.code == world.PERFORMANCE)
            ).one()
            category = session.scalars(
                select(SeatCategory.id).where(SeatCategory.code == world.SEATED)
            ).one()
            tariff = session.scalars(select(Tariff.id).where(Tariff.code == "FULL")).one()
            shops = {}
            for reseller in world.RESELLERS:
                settings = session.get(RealtimeReseller, reseller.code)
                assert settings is not None
                point_of_sale = session.get(PointOfSale, settings.point_of_sale_id)
                assert point_of_sale is not None
                account = session.scalars(
                    select(PendingAccount.id).where(
                        PendingAccount.contact_id == settings.contact_id
                    )
                ).one()
                shops[reseller.code] = SqlShop(
                    reseller,
                    quotas[reseller.code],
                    performance,
                    category,
                    tariff,
                    settings.channel_id,
                    point_of_sale.id,
                    settings.contact_id,
                    account,
                )
            return shops
    finally:
        engine.dispose()


FREE_SEATS = """
SELECT qs.seat_id FROM quota_seat qs
WHERE qs.quota_id = %(quota)s
  AND NOT EXISTS (
    SELECT 1 FROM ticket t
    WHERE t.performance_id = qs.performance_id AND t.seat_id = qs.seat_id AND t.state = 'valid')
  AND NOT EXISTS (
    SELECT 1 FROM realtime_hold_place p JOIN realtime_hold h ON h.id = p.hold_id
    WHERE p.performance_id = qs.performance_id AND p.seat_id = qs.seat_id
      AND h.released_at IS NULL AND h.order_id IS NULL AND h.swept_at IS NULL
      AND h.expires_at > %(now)s)
ORDER BY qs.seat_id
LIMIT %(quantity)s
"""
LOCK_QUOTA = "SELECT id FROM quota WHERE id = %s ORDER BY id FOR UPDATE"
EXPIRED_HOLDS = """
SELECT h.id FROM realtime_hold h
WHERE h.released_at IS NULL AND h.order_id IS NULL AND h.swept_at IS NULL
  AND h.expires_at <= %(now)s
  AND h.id IN (SELECT hold_id FROM realtime_hold_place WHERE quota_id = %(quota)s)
"""


def sweep(cursor: psycopg.Cursor[Any], shop: SqlShop, now: dt.datetime) -> None:
    """As the service, under the quota's lock: the holds past their end counted expired,
    their seat claims given up."""
    arguments = {"now": now, "quota": shop.quota_id}
    cursor.execute(
        "UPDATE realtime_hold_place SET seat_claim = NULL"
        f" WHERE hold_id IN ({EXPIRED_HOLDS}) AND seat_claim IS NOT NULL",
        arguments,
    )
    cursor.execute(
        f"UPDATE realtime_hold SET swept_at = %(now)s WHERE id IN ({EXPIRED_HOLDS})", arguments
    )


def sql_hold(connection: psycopg.Connection, shop: SqlShop, quantity: int) -> int:
    """The hold of ``quantity`` seats, as the service writes it; its row id."""
    now = dt.datetime.now(dt.UTC)
    with connection.transaction(), connection.cursor() as cursor:
        cursor.execute(LOCK_QUOTA, (shop.quota_id,))
        sweep(cursor, shop, now)
        cursor.execute(FREE_SEATS, {"quota": shop.quota_id, "now": now, "quantity": quantity})
        seats = [row[0] for row in cursor.fetchall()]
        if len(seats) < quantity:
            raise RuntimeError("the bare client ran out of seats")
        cursor.execute(
            "INSERT INTO realtime_hold (public_id, reseller_code, created_at, expires_at,"
            " expires_in) VALUES (%s, %s, %s, %s, 600) RETURNING id",
            (f"new-{uuid.uuid4().hex}", shop.reseller.code, now, now + dt.timedelta(seconds=600)),
        )
        hold_id: int = cursor.fetchone()[0]  # type: ignore[index]
        cursor.execute("UPDATE realtime_hold SET public_id = 'H-' || id WHERE id = %s", (hold_id,))
        cursor.executemany(
            "INSERT INTO realtime_hold_place (hold_id, code, line, performance_id, category_id,"
            " quota_id, seat_id, seat_claim) VALUES (%s, %s, 0, %s, %s, %s, %s, %s)",
            [
                (
                    hold_id,
                    f"HP{number}",
                    shop.performance_id,
                    shop.category_id,
                    shop.quota_id,
                    seat,
                    f"{shop.performance_id}:{seat}",
                )
                for number, seat in enumerate(seats, start=1)
            ],
        )
    return hold_id


def sql_order(connection: psycopg.Connection, shop: SqlShop, hold_id: int, reference: str) -> None:
    """The order of a hold's places, as the service writes it."""
    now = dt.datetime.now(dt.UTC)
    amount = world.PRICES[(world.SEATED, "FULL")]
    with connection.transaction(), connection.cursor() as cursor:
        cursor.execute(LOCK_QUOTA, (shop.quota_id,))
        sweep(cursor, shop, now)
        cursor.execute("SELECT id FROM realtime_hold WHERE id = %s FOR UPDATE", (hold_id,))
        cursor.execute("SELECT count(*) FROM realtime_hold_place WHERE hold_id = %s", (hold_id,))
        places: int = cursor.fetchone()[0]  # type: ignore[index]
        cursor.execute(
            "INSERT INTO sales_order (channel_id, point_of_sale_id, contact_id, state, currency,"
            " total, reseller_code, reseller_order_id, reseller_point_of_sale_code, is_test,"
            " sold_at) VALUES (%s, %s, %s, 'paid', 'EUR', %s, %s, %s, 'WEB', false, %s)"
            " RETURNING id",
            (
                shop.channel_id,
                shop.point_of_sale_id,
                shop.contact_id,
                amount * places,
                shop.reseller.code,
                reference,
                now,
            ),
        )
        order_id: int = cursor.fetchone()[0]  # type: ignore[index]
        cursor.execute(
            "INSERT INTO ticket (order_id, performance_id, seat_id, quota_id, category_id,"
            " tariff_id, price, commission, currency, barcode, state, reseller_code, is_test,"
            " sold_at)"
            " SELECT %s, performance_id, seat_id, quota_id, category_id, %s, %s, 350, 'EUR',"
            " '47' || lpad(id::text, 14, '0'), 'valid', %s, false, %s"
            " FROM realtime_hold_place WHERE hold_id = %s ORDER BY id",
            (order_id, shop.tariff_id, amount, shop.reseller.code, now, hold_id),
        )
        cursor.execute(
            "UPDATE realtime_hold_place p SET ticket_id = t.id, recorded_amount = %s,"
            " seat_claim = NULL FROM ticket t"
            " WHERE p.hold_id = %s AND t.order_id = %s"
            " AND t.barcode = '47' || lpad(p.id::text, 14, '0')",
            (amount, hold_id, order_id),
        )
        cursor.execute("UPDATE realtime_hold SET order_id = %s WHERE id = %s", (order_id, hold_id))
        cursor.execute(
            "INSERT INTO realtime_order (order_id, public_id, reseller_code, hold_id,"
            " from_expired_hold, sold_at_as_sent, created_at, changed_at, warnings)"
            " VALUES (%s, %s, %s, %s, false, %s, %s, %s, '[]') RETURNING id",
            (order_id, f"new-{order_id}", shop.reseller.code, hold_id, now.isoformat(), now, now),
        )
        realtime_order: int = cursor.fetchone()[0]  # type: ignore[index]
        cursor.execute(
            "UPDATE realtime_order SET public_id = 'O-' || id WHERE id = %s", (realtime_order,)
        )
        cursor.execute(
            "INSERT INTO access_control_entry (performance_id, barcode, ticket_id, allowed,"
            " updated_at) SELECT performance_id, barcode, id, true, %s FROM ticket"
            " WHERE order_id = %s",
            (now, order_id),
        )
        cursor.execute(
            "INSERT INTO pending_account_movement (account_id, order_id, kind, amount, currency,"
            " reference, booked_at) VALUES (%s, %s, 'sale', %s, 'EUR', %s, %s)",
            (
                shop.account_id,
                order_id,
                amount * places,
                f"{shop.reseller.code}:sale:{reference}",
                now,
            ),
        )


def capacity_sql(database_url: str, done: list[Client]) -> float:
    """The bare client: each thread the holds and orders of one HTTP client, same sizes."""
    shops = sql_shops(database_url)
    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    connections = {client.seed: psycopg.connect(conninfo) for client in done}

    def work(client: Client) -> None:
        shop = shops[client.reseller.code]
        connection = connections[client.seed]
        for number, quantity in enumerate(client.sizes, start=1):
            hold_id = sql_hold(connection, shop, quantity)
            sql_order(connection, shop, hold_id, f"SQL-{client.seed}-{number}")

    try:
        return run_threads(done, work)
    finally:
        for connection in connections.values():
            connection.close()


def report_capacity(clients: list[Client], http_seconds: float, sql_seconds: float) -> float:
    pairs = sum(len(client.sizes) for client in clients)
    seats = sum(sum(client.sizes) for client in clients)
    statuses: Counter[int] = Counter()
    for client in clients:
        statuses.update(client.statuses)
    print(
        f"\ncapacity: holds of 1 to 4 seats then their orders, flat out, {len(clients)} clients "
        f"({CAPACITY_CLIENTS} per reseller), rate limit raised to {RAISED_RATE}/s"
    )
    print(f"{'client':<12}{'holds+orders':>13}{'seats':>8}{'seconds':>9}{'ops/s':>9}")
    http_rate = 2 * pairs / http_seconds
    sql_rate = 2 * pairs / sql_seconds
    print(f"{'service':<12}{2 * pairs:>13,}{seats:>8,}{http_seconds:>9.2f}{http_rate:>9.1f}")
    print(f"{'bare SQL':<12}{2 * pairs:>13,}{seats:>8,}{sql_seconds:>9.2f}{sql_rate:>9.1f}")
    print("service statuses: " + ", ".join(f"{s} {n:,}" for s, n in sorted(statuses.items())))
    ratio = http_rate / sql_rate
    print(
        f"service / bare SQL throughput: {ratio:.2f} (goal >= {MIN_RATIO})  "
        f"{_verdict(ratio >= MIN_RATIO)}"
    )
    return ratio


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def main() -> None:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-realtime-") as name, fresh_database() as url:
        folder = Path(name)
        keys = build(url)
        redis_url = free_redis_database()
        print(
            f"box office {url.rsplit('/', 1)[1]}: {world.seats_per_reseller() * 10:,}-seat arena, "
            f"{world.seats_per_reseller():,} seats and {world.PIT_PLACES_PER_RESELLER} standing "
            f"places in each reseller's quota, built in {time.perf_counter() - started:.1f} s; "
            f"rate-limit buckets in Redis database {redis_url.rsplit('/', 1)[1]}"
        )
        log = folder / "service.log"
        with service(url, redis_url, log) as base_url:
            samples = run_load(base_url, keys, SECONDS, folder)
            report_load(samples, SECONDS)
            capacity_keys = open_capacity(url)
            clients, http_seconds = capacity_http(base_url, capacity_keys, CAPACITY_SECONDS)
        if not any(client.sizes for client in clients):
            raise RuntimeError("the capacity phase ordered nothing")
        sql_seconds = capacity_sql(url, clients)
        report_capacity(clients, http_seconds, sql_seconds)
        lines = log.read_text().splitlines()
        tracebacks = sum("Traceback" in line for line in lines)
        died = sum(line.startswith("INFO:     Child process") and "died" in line for line in lines)
        print(f"service log: {tracebacks} tracebacks, {died} workers died (uvicorn restarted them)")


if __name__ == "__main__":
    main()
