"""``python -m reseller_sync realtime ...``: keys (issue shows the key once, list never shows
it, revoke), and ``serve`` as a real uvicorn process with two workers sharing the rate limit
through Redis, stopped by SIGTERM."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from reseller_sync.boxoffice import migrate
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.cli import main
from reseller_sync.realtime.conformance import load_conformance_data

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENT = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)])}


@pytest.fixture
def loaded_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'boxoffice.sqlite'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        load_conformance_data(session, dt.datetime.now(dt.UTC))
    engine.dispose()
    return url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_keys_issue_list_revoke(loaded_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["realtime", "keys", "--database-url", loaded_url, "issue", "conf-a"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("rsk_")
    assert len(key) == 4 + 8 + 1 + 43
    key_id = key.split("_")[1]
    # conf-a now has two active keys: a third is refused.
    assert main(["realtime", "keys", "--database-url", loaded_url, "issue", "conf-a"]) == 1
    assert "active keys" in capsys.readouterr().err
    assert main(["realtime", "keys", "--database-url", loaded_url, "list", "conf-a"]) == 0
    listing = capsys.readouterr().out
    assert key_id in listing
    assert key not in listing
    assert "conf-b" not in listing
    assert main(["realtime", "keys", "--database-url", loaded_url, "revoke", key_id]) == 0
    capsys.readouterr()
    main(["realtime", "keys", "--database-url", loaded_url, "list"])
    row = next(line for line in capsys.readouterr().out.splitlines() if key_id in line)
    assert not row.rstrip().endswith("-")  # revoked: its instant is shown
    assert main(["realtime", "keys", "--database-url", loaded_url, "revoke", "zzzzzzzz"]) == 1


@pytest.mark.slow
def test_serve_runs_uvicorn_workers_sharing_redis_and_stops_on_sigterm(
    loaded_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["realtime", "keys", "--database-url", loaded_url, "issue", "conf-b"])
    key = capsys.readouterr().out.strip()
    port = free_port()
    command = [
        sys.executable, "-m", "reseller_sync", "realtime", "serve", "--port", str(port),
        "--workers", "2", "--database-url", loaded_url, "--redis-url", "redis://127.0.0.1:6379/0",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO, env=ENVIRONMENT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}/realtime/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.3)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as client:
            health = client.get("/health").json()
            assert health["reseller_id"] == "conf-b"
            assert health["channel"] == "open"
            products = client.get("/products", headers={"X-Correlation-Id": "cli-1"})
            assert products.status_code == 200
            assert products.headers["x-correlation-id"] == "cli-1"
            assert [p["id"] for p in products.json()["products"]] == ["CONF-EVT", "CONF-RACE"]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0
    errors = process.stderr.read().decode() if process.stderr else ""
    access = next(line for line in errors.splitlines() if "GET /realtime/v1/products 200" in line)
    assert "[cli-1]" in access  # every line about a request names its correlation id
    assert key not in errors
