"""The trigger that waits, in Airflow's triggerer, for a partner's file to appear.

:class:`PartnerFileTrigger` watches the partner's SFTP folder for an answer
(:class:`~reseller_sync.exchange.watch.Wanted`: the ACK of a file sent, or a
TEST file) and fires one event when it is there, when the deadline passes, or
when a look fails in a way waiting cannot fix. It reads nothing: the task
that resumes lands and applies the answer with the pipelines' functions.

- Its keyword arguments are plain JSON (the connection id, never a secret):
  Airflow stores them and rebuilds the trigger from them, in another
  triggerer if need be. The deadline is a moment, not a duration, so a
  restarted trigger does not wait longer.
- It connects with the SFTP provider's ``SFTPHookAsync`` (asyncssh), which
  checks the server's host key against the connection's ``host_key`` extra
  (or its ``known_hosts``). A connection that switches the check off is
  refused, as the synchronous transport does.
- A look that fails temporarily (server down, network) is logged and the
  watch goes on until the deadline; the polling is
  :func:`~reseller_sync.exchange.watch.watch_folder`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from reseller_sync.domain.errors import ConfigurationError, SyncError
from reseller_sync.exchange.watch import (
    Wanted,
    WatchOutcome,
    failed_outcome,
    list_folder,
    watch_folder,
)

if TYPE_CHECKING:
    import asyncssh
    from airflow.providers.sftp.hooks.sftp import SFTPHookAsync

DEFAULT_LOOK_TIMEOUT = 30.0
"""Seconds one look (connect, log in, list) may take when the connection's
``conn_timeout`` extra does not say."""

# asyncssh logs a dozen INFO lines per connection; one look a minute for hours
# would bury the task's log under them.
logging.getLogger("asyncssh").setLevel(logging.WARNING)


class PartnerFileTrigger(BaseTrigger):
    """Fire when ``wanted`` is in ``folder`` on the server of ``conn_id``, or at ``deadline``.

    Give ``names`` (any of them answers) or ``file_type`` with ``after_seq``
    (a file of that type with a higher sequence) and ``reseller`` (the type
    whose naming reads the names). The event's payload is a
    :meth:`WatchOutcome.to_payload`.
    """

    def __init__(
        self,
        *,
        conn_id: str,
        folder: str,
        deadline: str,
        poll_seconds: float = 60.0,
        names: Iterable[str] = (),
        file_type: str | None = None,
        after_seq: int = 0,
        reseller: str | None = None,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.folder = folder
        self.deadline = dt.datetime.fromisoformat(deadline)
        if self.deadline.tzinfo is None:
            raise ValueError(f"deadline {deadline!r} has no time zone")
        self.poll_seconds = float(poll_seconds)
        self.wanted = Wanted(tuple(names), file_type, int(after_seq), reseller)

    @classmethod
    def waiting_for(
        cls,
        wanted: Wanted,
        *,
        conn_id: str,
        folder: str,
        deadline: dt.datetime,
        poll_seconds: float,
    ) -> PartnerFileTrigger:
        return cls(
            conn_id=conn_id,
            folder=folder,
            deadline=deadline.isoformat(),
            poll_seconds=poll_seconds,
            names=wanted.names,
            file_type=wanted.file_type,
            after_seq=wanted.after_seq,
            reseller=wanted.reseller,
        )

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "folder": self.folder,
                "deadline": self.deadline.isoformat(),
                "poll_seconds": self.poll_seconds,
                "names": list(self.wanted.names),
                "file_type": self.wanted.file_type,
                "after_seq": self.wanted.after_seq,
                "reseller": self.wanted.reseller,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        self.log.info(
            "Watching %s (connection %r) every %g s for %s until %s",
            self.folder,
            self.conn_id,
            self.poll_seconds,
            self.wanted.describe(),
            self.deadline.isoformat(timespec="seconds"),
        )
        try:
            outcome = await self.watch()
        except SyncError as error:
            self.log.error("Stopped watching %s: %s", self.folder, error)
            outcome = failed_outcome(error, self.wanted, self.folder, self.deadline)
        yield TriggerEvent(outcome.to_payload())

    async def watch(self) -> WatchOutcome:
        look_timeout = await self._checked_connection()
        where = f"connection {self.conn_id!r}"

        async def look() -> list[str]:
            return await list_folder(
                self._open_sftp, self.folder, timeout=look_timeout, where=where
            )

        return await watch_folder(
            look,
            self.wanted,
            folder=self.folder,
            deadline=self.deadline,
            poll_seconds=self.poll_seconds,
            log=self.log,
        )

    def _open_sftp(self) -> AbstractAsyncContextManager[asyncssh.SFTPClient]:
        """A new SSH connection and SFTP session for one look, closed after it."""
        return self._hook().get_managed_conn()

    def _hook(self) -> SFTPHookAsync:
        from airflow.providers.sftp.hooks.sftp import SFTPHookAsync

        return SFTPHookAsync(sftp_conn_id=self.conn_id)

    async def _checked_connection(self) -> float:
        """Refuse a connection that is missing or skips the host key check; the look timeout."""
        from airflow.providers.common.compat.connection import get_async_connection
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            connection = await get_async_connection(self.conn_id)
        except AirflowNotFoundException:
            raise ConfigurationError(
                f"Airflow connection {self.conn_id!r} is not defined",
                action=f"Define connection {self.conn_id!r} as described in "
                "docs/sftp-and-sandbox.md (host, port, login, host_key, key_file).",
            ) from None
        extra = connection.extra_dejson
        if any(
            str(extra.get(key, "false")).lower() == "true"
            for key in ("no_host_key_check", "allow_host_key_change", "ignore_hostkey_verification")
        ):
            raise ConfigurationError(
                f"Airflow connection {self.conn_id!r} disables host key verification",
                action="Remove the no_host_key_check and allow_host_key_change extras and set "
                "host_key to the key the partner gave at set-up.",
            )
        try:
            return float(extra.get("conn_timeout") or DEFAULT_LOOK_TIMEOUT)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"connection {self.conn_id!r}: conn_timeout {extra['conn_timeout']!r} is not "
                "a number of seconds"
            ) from None
