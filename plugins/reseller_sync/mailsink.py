"""A local SMTP server that keeps every message as an ``.eml`` file: the demo's mail sink.

``python -m reseller_sync mailsink serve --dir var/mail --port 8025``; the tests
start it in a thread with :class:`MailSink`.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session


class _WriteEml:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, _server: object, _session: Session, envelope: Envelope) -> str:  # noqa: N802
        with self._lock:
            name = f"{time.strftime('%Y%m%dT%H%M%S')}-{next(self._counter):05d}.eml"
        data = envelope.original_content or b""
        (self.folder / name).write_bytes(data)
        return "250 Message accepted"


@dataclass
class MailSink:
    """An SMTP server on loopback writing each message to ``folder``."""

    folder: Path
    port: int = 0
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(
            _WriteEml(self.folder), hostname=self.host, port=self.port or _free_port()
        )

    def start(self) -> MailSink:
        self._controller.start()
        self.port = self._controller.port
        self._running = True
        return self

    def stop(self) -> None:
        """Stop serving (idempotent); a stopped sink is not started again."""
        if getattr(self, "_running", False):
            self._controller.stop()
            self._running = False

    def messages(self) -> list[EmailMessage]:
        """Every message received so far, oldest first."""
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for path in sorted(self.folder.glob("*.eml"))
        ]


def message_text(message: EmailMessage) -> str:
    """The decoded text of every text part of a message."""
    parts = [message] if not message.is_multipart() else list(message.walk())
    return "\n".join(part.get_content() for part in parts if part.get_content_maintype() == "text")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
