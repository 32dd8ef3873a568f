"""Helpers of the real-time service's process tests: ``realtime serve`` as a subprocess on a
box office, clients of realtime-api-v1, and the scan of a whole store for personal data
(section 10)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import JSON, Engine, String, column, inspect, select, table
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import RealtimeReseller

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENT = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)])}
PREFIX = "/realtime/v1"
PROBLEM = "urn:problem-type:reseller-sync:"

REFUSED_MARKER = "h8refusedvalue"
"""Carried by every value of a refused body: it must be found nowhere in the store."""
EMAIL_LIKE = re.compile(r"\S@\S*\.")
"""An e-mail address inside a string, as section 10 defines it."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServeProcess:
    """``python -m reseller_sync realtime serve`` on a free port of loopback, its log in a
    file (a pipe would fill and block it)."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.port = free_port()
        self.log = log
        environment = dict(ENVIRONMENT)
        command = [
            sys.executable, "-m", "reseller_sync", "realtime", "serve",
            "--port", str(self.port), "--database-url", database_url,
        ]  # fmt: skip
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            command, cwd=REPO, env=environment, stdout=self._log_file, stderr=subprocess.STDOUT
        )
        self.base = f"http://127.0.0.1:{self.port}{PREFIX}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                raise AssertionError(f"realtime serve ended: {self.log.read_text()[-2000:]}")
            assert time.monotonic() < deadline, "realtime serve did not answer within 60 s"
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no rollback by the process itself."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log_file.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()

    def __enter__(self) -> ServeProcess:
        try:
            self.wait_ready()
        except BaseException:
            self.kill()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


class ServerThread:
    """A real uvicorn serving ``app`` on a free loopback port, in a thread of this process;
    ``with`` gives its origin (``http://127.0.0.1:PORT``)."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def raise_rate_limits(engine: Engine) -> None:
    """Every reseller's token bucket far above what a test sends (section 4's figures are a
    setting per reseller)."""
    from sqlalchemy import update

    with Session(engine) as session, session.begin():
        session.execute(update(RealtimeReseller).values(rate_per_second=5000, burst=10000))


def post_headers(key: str, idempotency_key: str | None = None) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {key}",
        "Idempotency-Key": idempotency_key or str(uuid.uuid4()),
        "X-Correlation-Id": f"h8-{uuid.uuid4().hex[:16]}",
    }


def refused_bodies(hold_id: str, hold_place_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(path, body) of requests that section 10 or 3 refuse, each value carrying the marker:
    a buyer's e-mail in a defined member, personal-looking members, an undefined member."""
    marker = REFUSED_MARKER
    order: dict[str, Any] = {
        "hold_id": hold_id,
        "reseller_order_ref": f"REF-{uuid.uuid4().hex[:10]}",
        "sold_at": "2026-12-02T13:00:00+01:00",
        "currency": "EUR",
        "lines": [
            {"hold_place_id": hold_place_id, "tariff_id": "FULL", "price": 5000,
             "commission": 0}
        ],
    }  # fmt: skip
    line: dict[str, Any] = dict(order["lines"][0])
    with_email = {**order, "lines": [line]}
    line["beneficiary"] = {
        "first_name": f"Ann {marker}@example.org",
        "last_name": "Smith",
    }
    return [
        ("/orders", with_email),
        ("/orders", {**order, "buyer_email": f"{marker}.buyer@example.com"}),
        ("/orders", {**order, "customer_phone": f"+33 6 {marker} 12 34"}),
        ("/orders", {**order, "gift_message": f"happy birthday {marker}"}),
        (
            "/holds",
            {
                "lines": [{"performance_id": "CONF-RACE-1", "category_id": "LAST", "quantity": 1}],
                "contact": {"mail": f"{marker}@example.net", "street": f"1 rue {marker}"},
            },
        ),
    ]


def send_refused_bodies(base: str, key: str, hold_id: str, hold_place_id: str) -> None:
    """Send each refused body; each answers 422 naming members, never values."""
    for path, body in refused_bodies(hold_id, hold_place_id):
        response = httpx.post(base + path, json=body, headers=post_headers(key), timeout=10)
        assert response.status_code == 422, (path, response.status_code, response.text)
        assert response.json()["type"] in (
            PROBLEM + "personal-data-refused",
            PROBLEM + "unknown-field",
        ), response.text
        assert REFUSED_MARKER not in response.text


def store_texts(engine: Engine) -> list[tuple[str, str, str]]:
    """(table, column, value) of every value of every text or JSON column of every table."""
    found: list[tuple[str, str, str]] = []
    inspector = inspect(engine)
    with engine.connect() as connection:
        for table_name in inspector.get_table_names():
            texts = [
                info["name"]
                for info in inspector.get_columns(table_name)
                if isinstance(info["type"], (String, JSON))
            ]
            if not texts:
                continue
            rows: Any = connection.execute(select(*(column(name) for name in texts)).select_from(
                table(table_name, *(column(name) for name in texts))
            ))  # fmt: skip
            for row in rows:
                for name, value in zip(texts, row, strict=True):
                    if value is not None:
                        text = value if isinstance(value, str) else repr(value)
                        found.append((table_name, name, text))
    return found


def personal_data_in_store(engine: Engine) -> list[tuple[str, str, str]]:
    """(table, column, value) of every text value of the store holding an e-mail-like string
    or a value of a refused body; the scan must have read the beneficiaries' names."""
    texts = store_texts(engine)
    assert any(table == "ticket" and value == "Zoé" for table, _, value in texts)
    return [
        (table, name, value[:120])
        for table, name, value in texts
        if EMAIL_LIKE.search(value) or REFUSED_MARKER in value
    ]
