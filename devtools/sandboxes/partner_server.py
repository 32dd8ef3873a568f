"""A partner's sandbox SFTP server: the generic server with the partner's home layout."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from devtools.sandboxes import sftp
from devtools.sandboxes.sftp import HOST_KEY_FILE, HomeLayout, SandboxUser


class PartnerServer(Protocol):
    def __call__(
        self,
        root: Path,
        users: Iterable[SandboxUser],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        host_key_file: Path = HOST_KEY_FILE,
    ) -> sftp.SandboxServer: ...


def layout_server(layout: HomeLayout, thread_name: str, doc: str) -> PartnerServer:
    """A factory of sandbox SFTP servers serving ``layout`` to each of their users, its
    thread named ``thread_name``; ``doc`` is the factory's docstring."""

    def server(
        root: Path,
        users: Iterable[SandboxUser],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        host_key_file: Path = HOST_KEY_FILE,
    ) -> sftp.SandboxServer:
        return sftp.SandboxServer(
            root,
            users,
            layout=layout,
            host=host,
            port=port,
            host_key_file=host_key_file,
            thread_name=thread_name,
        )

    server.__doc__ = doc
    return server
