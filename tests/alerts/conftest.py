from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.mailsink import MailSink


@pytest.fixture
def mail_sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MailSink]:
    """A real SMTP server on loopback, and the Airflow connection ``smtp_default`` to it."""
    sink = MailSink(tmp_path / "mail").start()
    connection = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": sink.port,
        "extra": {
            "from_email": "airflow@reseller-sync.test",
            "disable_tls": True,
            "disable_ssl": True,
            "timeout": 5,
            "retry_limit": 0,
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(connection))
    yield sink
    sink.stop()
