"""Watching the partner's folder for an answer: the polling logic, without Airflow.

A step that sent a file waits for the partner's answer: the acknowledgement
of that file by name, or a file of a stream (test tickets, say) newer than
those already landed, its name read by the reseller's naming.
:func:`watch_folder` looks at the folder every ``poll_seconds`` until one is
there or the deadline passes. A look that fails
in a way that may pass (server down, network, timeout: a
``TemporaryExternalError``) is logged and the watch goes on; any other error
of the package's family (host key, login, folder missing) ends it at once,
as a FAILED outcome carrying the error; anything else (a bug) propagates.

:func:`list_folder` is one look over SFTP with ``asyncssh``, its failures
sorted into the package's error family. The Airflow trigger
(``reseller_sync.airflow.triggers``) opens the connection with the SFTP
provider's async hook and runs both in the triggerer; tests drive them with
any async lister.

The outcome travels as a JSON payload (:meth:`WatchOutcome.to_payload`): it is
what the trigger's event carries to the task that resumes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from reseller_sync.core.resellers import adapter
from reseller_sync.domain.errors import (
    ConfigurationError,
    ExternalError,
    MappingError,
    SyncError,
    TechnicalError,
    TemporaryExternalError,
)
from reseller_sync.exchange.filenames import is_part_name, parse_exchange_name

if TYPE_CHECKING:
    import asyncssh

_log = logging.getLogger(__name__)

Lister = Callable[[], Awaitable[Iterable[str]]]
"""One look at the folder: the names it holds. Raises ``TemporaryExternalError``
for a failure that may pass."""


class Clock(Protocol):
    def __call__(self) -> dt.datetime: ...


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Wanted:
    """The answer a step waits for: files by name, or a file of a stream past a sequence."""

    names: tuple[str, ...] = ()
    """Any of these names (the acknowledgement of each file sent)."""
    file_type: str | None = None
    """Else a file of this stream (``TEST``)..."""
    after_seq: int = 0
    """...whose sequence is above this one (the last one landed)..."""
    reseller: str | None = None
    """...named as this reseller type's naming parses them (required with ``file_type``)."""

    def __post_init__(self) -> None:
        if bool(self.names) == bool(self.file_type):
            raise ValueError("wait for names, or for a file type, not both or neither")
        if self.file_type and not self.reseller:
            raise ValueError("say whose files: a file type is the reseller's (give reseller)")

    def found_in(self, listing: Iterable[str]) -> tuple[str, ...]:
        """The names of ``listing`` that answer, sorted; partial uploads never do."""
        if self.names:
            wanted = set(self.names)
            return tuple(sorted(name for name in listing if name in wanted))
        assert self.reseller is not None  # __post_init__ checked it
        naming = adapter(self.reseller).naming()
        found = []
        for name in listing:
            if is_part_name(name, naming):
                continue
            parsed = parse_exchange_name(name, naming)
            if (
                parsed is not None
                and parsed.stream == self.file_type
                and parsed.sequence > self.after_seq
            ):
                found.append(name)
        return tuple(sorted(found))

    def describe(self) -> str:
        if self.names:
            return " or ".join(self.names)
        assert self.reseller is not None  # __post_init__ checked it
        after = adapter(self.reseller).naming().sequence_text(self.after_seq)
        return f"a {self.file_type} file after sequence {after}"

    def to_payload(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "file_type": self.file_type,
            "after_seq": self.after_seq,
            "reseller": self.reseller,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Wanted:
        return cls(
            tuple(payload["names"]),
            payload["file_type"],
            int(payload["after_seq"]),
            payload.get("reseller"),
        )


class WatchStatus(StrEnum):
    FOUND = "found"
    TIMEOUT = "timeout"
    FAILED = "failed"
    """A look failed in a way waiting cannot fix (host key, login, folder missing)."""


_ERROR_TYPES: dict[str, type[SyncError]] = {
    cls.__name__: cls
    for cls in (
        MappingError,
        ExternalError,
        TemporaryExternalError,
        TechnicalError,
        ConfigurationError,
    )
}


@dataclass(frozen=True)
class WatchOutcome:
    """How a watch ended: what was found, or why nothing was."""

    status: WatchStatus
    wanted: Wanted
    folder: str
    deadline: dt.datetime
    found: tuple[str, ...] = ()
    looks: int = 0
    failed_looks: int = 0
    last_failure: str | None = None
    """The message of the last failed look (why a timeout may not be the partner's silence)."""
    error: SyncError | None = field(default=None, compare=False)
    """What ended a FAILED watch."""

    @property
    def timed_out(self) -> bool:
        return self.status is WatchStatus.TIMEOUT

    def raise_for_failure(self) -> WatchOutcome:
        """Raise the error that ended a FAILED watch; else return self."""
        if self.error is not None:
            raise self.error
        return self

    def to_payload(self) -> dict[str, Any]:
        """JSON types only: what the trigger's event carries."""
        error = None
        if self.error is not None:
            error = {
                "type": type(self.error).__name__,
                "message": self.error.message,
                "action": self.error.action,
                "file": self.error.file,
            }
        return {
            "status": self.status.value,
            "wanted": self.wanted.to_payload(),
            "folder": self.folder,
            "deadline": self.deadline.isoformat(),
            "found": list(self.found),
            "looks": self.looks,
            "failed_looks": self.failed_looks,
            "last_failure": self.last_failure,
            "error": error,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> WatchOutcome:
        error: SyncError | None = None
        if (described := payload.get("error")) is not None:
            error_type = _ERROR_TYPES.get(described["type"], TechnicalError)
            error = error_type(
                described["message"], action=described["action"], file=described["file"]
            )
        return cls(
            status=WatchStatus(payload["status"]),
            wanted=Wanted.from_payload(payload["wanted"]),
            folder=payload["folder"],
            deadline=dt.datetime.fromisoformat(payload["deadline"]),
            found=tuple(payload["found"]),
            looks=int(payload["looks"]),
            failed_looks=int(payload["failed_looks"]),
            last_failure=payload["last_failure"],
            error=error,
        )


async def watch_folder(
    look: Lister,
    wanted: Wanted,
    *,
    folder: str,
    deadline: dt.datetime,
    poll_seconds: float,
    now: Clock = utc_now,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    log: logging.Logger | Any = _log,
) -> WatchOutcome:
    """Look for ``wanted`` every ``poll_seconds`` until found or ``deadline`` (aware) passes.

    The first look is at once, the last one at the deadline. A look raising
    ``TemporaryExternalError`` is logged and the watch goes on; another
    ``SyncError`` ends the watch, FAILED; any other exception propagates.
    """
    looks = failed = 0
    last_failure: str | None = None
    while True:
        looks += 1
        try:
            found = wanted.found_in(await look())
        except TemporaryExternalError as error:
            failed += 1
            last_failure = error.message
            log.warning(
                "Look %d at %s failed (%s); still waiting for %s until %s",
                looks,
                folder,
                error.message,
                wanted.describe(),
                deadline.isoformat(timespec="seconds"),
            )
        except SyncError as error:
            log.error("Look %d at %s failed, waiting cannot fix it: %s", looks, folder, error)
            return WatchOutcome(
                WatchStatus.FAILED,
                wanted,
                folder,
                deadline,
                (),
                looks,
                failed + 1,
                error.message,
                error,
            )
        else:
            if found:
                log.info("Found %s in %s (look %d)", ", ".join(found), folder, looks)
                return WatchOutcome(
                    WatchStatus.FOUND, wanted, folder, deadline, found, looks, failed, last_failure
                )
        remaining = (deadline - now()).total_seconds()
        if remaining <= 0:
            log.warning("No %s in %s by %s", wanted.describe(), folder, deadline.isoformat())
            return WatchOutcome(
                WatchStatus.TIMEOUT, wanted, folder, deadline, (), looks, failed, last_failure
            )
        await sleep(min(poll_seconds, remaining))


def failed_outcome(
    error: SyncError, wanted: Wanted, folder: str, deadline: dt.datetime
) -> WatchOutcome:
    """The outcome of a watch that an error waiting cannot fix ended."""
    return WatchOutcome(WatchStatus.FAILED, wanted, folder, deadline, error=error)


async def list_folder(
    open_sftp: Callable[[], AbstractAsyncContextManager[asyncssh.SFTPClient]],
    folder: str,
    *,
    timeout: float,
    where: str,
) -> list[str]:
    """One look: the names in ``folder``, through a new SFTP session opened by ``open_sftp``.

    The whole look (connection, login, listing) is bounded by ``timeout``
    seconds. Failures are sorted: unreachable, dropped or too slow is
    ``TemporaryExternalError``; a host key not trusted, a login refused, a
    folder missing or forbidden is ``ExternalError``, which waiting cannot fix.
    ``where`` names the server and connection in messages (never a secret);
    actions name the partner ``{reseller}``, filled in when a message is composed.
    """
    import asyncssh

    try:
        async with asyncio.timeout(timeout), open_sftp() as sftp:
            return [os.fsdecode(name) for name in await sftp.listdir(folder)]
    except TimeoutError:
        raise TemporaryExternalError(
            f"the server at {where} did not answer within {timeout:g} s"
        ) from None
    except asyncssh.HostKeyNotVerifiable as error:
        raise ExternalError(
            f"the server at {where} presented a host key the connection does not trust: {error}",
            action="If the connection has no host_key extra, set it to the key {reseller} gave "
            "at set-up. If it has one, do not connect: someone may be impersonating the server. "
            "Ask {reseller} by phone whether its host key changed; only then update host_key.",
        ) from None
    except asyncssh.PermissionDenied as error:
        raise ExternalError(
            f"the server at {where} refused the login: {error}",
            action="Check the connection's login and key file, and ask {reseller} whether the "
            "account is active and the public key registered.",
        ) from None
    except asyncssh.SFTPNoSuchFile:
        raise ExternalError(
            f"folder {folder} does not exist on the server at {where}",
            action="Check the folder settings against what {reseller} gave at set-up.",
        ) from None
    except asyncssh.SFTPPermissionDenied:
        raise ExternalError(
            f"the server at {where} does not let us list {folder}",
            action="Ask {reseller} to check the account's rights on its folders.",
        ) from None
    except OSError as error:
        if error.filename is not None:  # the key file, not the network
            raise ConfigurationError(
                f"cannot read {error.filename} for the connection to {where}: {error.strerror}",
                action="Check the connection's key_file extra and the file's permissions.",
            ) from None
        raise TemporaryExternalError(
            f"cannot reach the server at {where}: {type(error).__name__}: {error}"
        ) from None
    except ValueError as error:  # a key that cannot be read, extras that contradict
        raise ConfigurationError(
            f"the connection to {where} is badly set up: {error}",
            action="Define the connection as described in docs/sftp-and-sandbox.md.",
        ) from None
    except asyncssh.Error as error:
        # A dropped session, a channel refused, an SFTP failure.
        raise TemporaryExternalError(
            f"cannot reach the server at {where}: {type(error).__name__}: {error}"
        ) from None
