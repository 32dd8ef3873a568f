"""A partner of a sandbox at work in the background: a round every ``interval`` seconds, and
a periodic emission (the partner's hourly file or batch, sped up) every ``emit_every``."""

from __future__ import annotations

import argparse
import logging
import threading
import time
from datetime import datetime

log = logging.getLogger(__name__)


class BackgroundPartner:
    """Runs :meth:`run_once` in a daemon thread until :meth:`stop`; a failed round is logged
    and the next one tried. Subclasses say what a round does."""

    name = "partner"

    def __init__(self, interval: float, emit_every: float | None) -> None:
        self.interval = interval
        self.emit_every = emit_every
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, *, emission_due: bool = False) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        every = self.emit_every
        emit_at = time.monotonic() + every if every is not None else None
        while not self._stopping.is_set():
            due = emit_at is not None and time.monotonic() >= emit_at
            try:
                self.run_once(emission_due=due)
            except Exception:
                log.exception("%s: the round failed; trying again next round", self.name)
            if due and emit_at is not None and every is not None:
                emit_at += every
            self._stopping.wait(self.interval)


def aware_datetime(text: str) -> datetime:
    """An ISO 8601 date and time with its UTC offset, for a sandbox command's ``--now``."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give a UTC offset, e.g. 2026-11-28T14:05:00+01:00")
    return value
