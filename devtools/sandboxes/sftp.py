"""A real SFTP server on 127.0.0.1 standing in for a partner's, for tests and demos.

Each user is jailed (chroot) in ``ROOT/<user>/``, its home, whose folders
a :class:`HomeLayout` describes: the folders created, those the user may
only read (``read_only``), and those the user may read and move files out of,
but not write, change nor delete in (``take_only``). The partner's own side
writes straight to disk.

The server runs either in a background thread with its own event loop
(``with SandboxServer(...) as server:``, for tests) or in the foreground
(:func:`serve_forever`, for command lines). Faults can be injected per file
name to test a transport: the connection dropped after some bytes of a
transfer, or a transfer that stalls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import posixpath
import re
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

import asyncssh
from asyncssh.sftp import ACE4_APPEND_DATA, ACE4_WRITE_ATTRIBUTES, ACE4_WRITE_DATA

log = logging.getLogger(__name__)

KEY_DIR = Path(__file__).resolve().parents[2] / "include" / "sandbox"
"""The committed demo keys (test and demo only, never for a real server)."""
HOST_KEY_FILE = KEY_DIR / "host_ed25519_key"
CLIENT_KEY_FILE = KEY_DIR / "client_ed25519_key"
CLIENT_PUBLIC_KEY_FILE = KEY_DIR / "client_ed25519_key.pub"

DEMO_USERNAME = "organiser"
DEMO_PASSWORD = "sandbox-demo"  # published, sandbox only

_WRITE_FLAGS = asyncssh.FXF_WRITE | asyncssh.FXF_APPEND | asyncssh.FXF_CREAT | asyncssh.FXF_TRUNC
_USERNAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
_WRITE_ACCESS = ACE4_WRITE_DATA | ACE4_APPEND_DATA | ACE4_WRITE_ATTRIBUTES


@dataclass(frozen=True)
class HomeLayout:
    """The folders of a user's home and what the user may do in them.

    Paths are relative to the home, without leading or trailing ``/``.
    """

    folders: tuple[str, ...]
    """Created (with their parents) in every home."""
    read_only: tuple[str, ...] = ()
    """The user reads there; writes, renames into or out of, and deletes nothing."""
    take_only: tuple[str, ...] = ()
    """The user reads there and renames files out (into a folder it may write in); it
    writes, changes, renames into and deletes nothing there."""

    def __post_init__(self) -> None:
        for folder in (*self.folders, *self.read_only, *self.take_only):
            if not folder or folder.startswith("/") or folder.endswith("/") or ".." in folder:
                raise ValueError(f"{folder!r} is not a folder relative to the home")


@dataclass(frozen=True)
class SandboxUser:
    """An account on the sandbox: a password, public keys (OpenSSH lines), or both."""

    name: str
    password: str | None = None
    authorized_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _USERNAME.fullmatch(self.name):
            raise ValueError(f"{self.name!r} is not a plain user name (letters, digits, . _ -)")

    def accepts_key(self, key: asyncssh.SSHKey) -> bool:
        return any(
            asyncssh.import_public_key(line).public_data == key.public_data
            for line in self.authorized_keys
        )


def demo_user(name: str = DEMO_USERNAME) -> SandboxUser:
    """The demo account: the committed client key, or the demo password."""
    public_key = CLIENT_PUBLIC_KEY_FILE.read_text(encoding="ascii").strip()
    return SandboxUser(name, password=DEMO_PASSWORD, authorized_keys=(public_key,))


@dataclass(frozen=True)
class DropConnection:
    """Abort the SSH connection once a transfer reaches ``after_bytes``."""

    after_bytes: int


@dataclass(frozen=True)
class Stall:
    """Stop answering once a transfer reaches ``after_bytes``, for ``seconds``
    or until the server stops, whichever comes first."""

    after_bytes: int
    seconds: float = 30.0


Fault = DropConnection | Stall


@dataclass
class FaultPlan:
    """Faults to inject, by file name (the last part of the path), on reads and writes.

    Set from the test's thread, read from the server's: plain dict operations.
    """

    by_name: dict[str, Fault] = field(default_factory=dict)

    def inject(self, name: str, fault: Fault) -> None:
        self.by_name[name] = fault

    def clear(self) -> None:
        self.by_name.clear()

    def for_name(self, name: str) -> Fault | None:
        return self.by_name.get(name)


def prepare_layout(root: Path, username: str, layout: HomeLayout) -> Path:
    """Create (if needed) and return the home of ``username`` under ``root``."""
    home = root / username
    for folder in layout.folders:
        (home / folder).mkdir(parents=True, exist_ok=True)
    return home


class _SSHServer(asyncssh.SSHServer):
    """Authenticates against the sandbox's users and tracks open connections."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self._sandbox = sandbox
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._sandbox._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._sandbox._connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        user = self._sandbox.users.get(username)
        return user is not None and user.password is not None and user.password == password

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        user = self._sandbox.users.get(username)
        return user is not None and user.accepts_key(key)


class _SFTPServer(asyncssh.SFTPServer):
    """The SFTP session of one user: chroot in its home, the layout's limits, faults."""

    def __init__(self, chan: asyncssh.SSHServerChannel, sandbox: SandboxServer) -> None:
        username = chan.get_extra_info("username")
        home = sandbox.home(username)
        super().__init__(chan, chroot=os.fsencode(home))
        self._sandbox = sandbox
        real_home = os.path.realpath(home)
        self._read_only = {
            os.fsencode(os.path.join(real_home, folder)): folder
            for folder in sandbox.layout.read_only
        }
        self._take_only = {
            os.fsencode(os.path.join(real_home, folder)): folder
            for folder in sandbox.layout.take_only
        }
        self._faults: dict[object, Fault] = {}
        self._read_only_handles: set[object] = set()

    @staticmethod
    def _within(local: bytes, folders: dict[bytes, str]) -> str | None:
        for prefix, folder in folders.items():
            if local == prefix or local.startswith(prefix + b"/"):
                return folder
        return None

    def _locked_folder(self, path: bytes, *, taking: bool = False) -> str | None:
        """The protected folder ``path`` lies in (a take-only one counts unless ``taking``)."""
        local = self.map_path(path)
        folder = self._within(local, self._read_only)
        if folder is None and not taking:
            folder = self._within(local, self._take_only)
        return folder

    def _refuse_if_locked(self, *paths: bytes) -> None:
        for path in paths:
            self._refuse(self._locked_folder(path))

    @staticmethod
    def _refuse(folder: str | None) -> None:
        if folder is not None:
            raise asyncssh.SFTPPermissionDenied(f"/{folder}/ is read-only")

    def _track(self, file_obj: object, path: bytes) -> object:
        fault = self._sandbox.faults.for_name(os.fsdecode(posixpath.basename(path)))
        if fault is not None:
            self._faults[file_obj] = fault
        if self._locked_folder(path) is not None:
            self._read_only_handles.add(file_obj)
        return file_obj

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        if pflags & _WRITE_FLAGS:
            self._refuse_if_locked(path)
        return self._track(super().open(path, pflags, attrs), path)

    def open56(
        self, path: bytes, desired_access: int, flags: int, attrs: asyncssh.SFTPAttrs
    ) -> object:
        disposition = flags & asyncssh.FXF_ACCESS_DISPOSITION
        writes = disposition != asyncssh.FXF_OPEN_EXISTING or flags & asyncssh.FXF_APPEND_DATA
        if desired_access & _WRITE_ACCESS or writes:
            self._refuse_if_locked(path)
        return self._track(super().open56(path, desired_access, flags, attrs), path)

    def close(self, file_obj: object) -> None:
        self._faults.pop(file_obj, None)
        self._read_only_handles.discard(file_obj)
        super().close(file_obj)

    async def read(self, file_obj: object, offset: int, size: int) -> bytes:
        await self._apply_fault(file_obj, offset + size)
        data = super().read(file_obj, offset, size)
        assert isinstance(data, bytes)
        return data

    async def write(self, file_obj: object, offset: int, data: bytes) -> int:
        await self._apply_fault(file_obj, offset + len(data))
        written = super().write(file_obj, offset, data)
        assert isinstance(written, int)
        return written

    async def _apply_fault(self, file_obj: object, end: int) -> None:
        fault = self._faults.get(file_obj)
        if fault is None or end <= fault.after_bytes:
            return
        if isinstance(fault, DropConnection):
            log.info("Fault injection: dropping the connection")
            self.connection.abort()
            raise asyncssh.SFTPConnectionLost("connection dropped by fault injection")
        del self._faults[file_obj]
        log.info("Fault injection: stalling for %g s", fault.seconds)
        await self._sandbox._wait_stopping(fault.seconds)

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        self._refuse_if_locked(path)
        super().setstat(path, attrs)

    def fsetstat(self, file_obj: object, attrs: asyncssh.SFTPAttrs) -> None:
        if file_obj in self._read_only_handles:
            raise asyncssh.SFTPPermissionDenied("the file is in a read-only folder")
        super().fsetstat(file_obj, attrs)

    def remove(self, path: bytes) -> None:
        self._refuse_if_locked(path)
        super().remove(path)

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        self._refuse_if_locked(path)
        super().mkdir(path, attrs)

    def rmdir(self, path: bytes) -> None:
        self._refuse_if_locked(path)
        super().rmdir(path)

    def _refuse_move(self, oldpath: bytes, newpath: bytes) -> None:
        """A file may leave a take-only folder (not the folder itself), never enter one."""
        self._refuse(self._locked_folder(oldpath, taking=True))
        local = self.map_path(oldpath)
        if local in self._take_only:
            self._refuse(self._take_only[local])
        self._refuse(self._locked_folder(newpath))

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        self._refuse_move(oldpath, newpath)
        super().rename(oldpath, newpath)

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        self._refuse_move(oldpath, newpath)
        super().posix_rename(oldpath, newpath)

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        self._refuse_if_locked(newpath)
        super().symlink(oldpath, newpath)

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        self._refuse_if_locked(newpath)
        super().link(oldpath, newpath)


class SandboxServer:
    """The sandbox SFTP server, serving each user's home as ``layout`` describes.

    ``port=0`` picks a free port, readable from :attr:`port` once started.
    """

    def __init__(
        self,
        root: Path,
        users: Iterable[SandboxUser],
        *,
        layout: HomeLayout,
        host: str = "127.0.0.1",
        port: int = 0,
        host_key_file: Path = HOST_KEY_FILE,
        thread_name: str = "sandbox-sftp",
    ) -> None:
        self.root = Path(root)
        self.users = {user.name: user for user in users}
        self.layout = layout
        self.host = host
        self.host_key_file = Path(host_key_file)
        self.faults = FaultPlan()
        self._thread_name = thread_name
        self._requested_port = port
        self._port: int | None = None
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self._stopping: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the sandbox server is not started")
        return self._port

    def home(self, username: str) -> Path:
        """The local folder that is ``/`` for ``username``, created if needed."""
        return prepare_layout(self.root, username, self.layout)

    # In the foreground ----------------------------------------------------

    async def listen(self) -> None:
        """Start listening on the current event loop."""
        for username in self.users:
            self.home(username)
        self._stopping = asyncio.Event()
        self._acceptor = await asyncssh.listen(
            self.host,
            self._requested_port,
            server_host_keys=[str(self.host_key_file)],
            server_factory=lambda: _SSHServer(self),
            sftp_factory=lambda chan: _SFTPServer(chan, self),
            allow_scp=False,
        )
        self._port = self._acceptor.get_port()
        log.info(
            "Sandbox SFTP server listening on %s:%d, root %s", self.host, self._port, self.root
        )

    async def close(self) -> None:
        """Stop listening, release stalled transfers and close every connection."""
        if self._stopping is not None:
            self._stopping.set()
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None
        connections = list(self._connections)
        for conn in connections:
            conn.close()
        for conn in connections:
            await conn.wait_closed()

    async def _wait_stopping(self, seconds: float) -> None:
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    # In a background thread -----------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Start the server in a background thread; return once it listens."""
        if self._thread is not None:
            raise RuntimeError("the sandbox server is already started")
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.listen())
            except BaseException as exc:
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=self._thread_name, daemon=True)
        self._thread.start()
        if not started.wait(timeout):
            raise RuntimeError("the sandbox server did not start in time")
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the background server and wait for its thread to end."""
        if self._thread is None or self._loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self.close(), self._loop)
        future.result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._thread = None
        self._loop = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


ServerT = TypeVar("ServerT", bound=SandboxServer)


def serve_forever(server: ServerT, on_ready: Callable[[ServerT], None] | None = None) -> None:
    """Run ``server`` in the foreground until interrupted (Ctrl-C or SIGTERM).

    ``on_ready`` is called once the server listens (its port is then known).
    """

    async def main() -> None:
        await server.listen()
        terminated = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminated.set)
        if on_ready is not None:
            on_ready(server)
        try:
            await terminated.wait()
        finally:
            await server.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    log.info("Sandbox SFTP server stopped")


__all__ = [
    "CLIENT_KEY_FILE",
    "CLIENT_PUBLIC_KEY_FILE",
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "HOST_KEY_FILE",
    "KEY_DIR",
    "DropConnection",
    "Fault",
    "FaultPlan",
    "HomeLayout",
    "SandboxServer",
    "SandboxUser",
    "Stall",
    "demo_user",
    "prepare_layout",
    "serve_forever",
]
