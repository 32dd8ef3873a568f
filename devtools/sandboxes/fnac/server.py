"""A real SFTP server on 127.0.0.1 standing in for FNAC's, for tests and the demo.

Each user is jailed (chroot) in ``ROOT/<user>/``, which holds FNAC's home
for the organiser (spec section 3): ``/depot/``, ``/depot/traites/`` and
``/retour/``, the last one read-only for the user. FNAC's own side (the
files it drops in ``/retour/``) writes straight to disk.

The server itself is the sandboxes' generic one
(:mod:`devtools.sandboxes.sftp`), here with FNAC's home layout: it runs
either in a background thread (``with SandboxServer(...) as server:``, for
tests) or in the foreground (:func:`serve_forever`, for the CLI), and takes
faults per file name (a dropped connection, a stalled transfer).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from devtools.sandboxes import sftp
from devtools.sandboxes.sftp import (
    CLIENT_KEY_FILE,
    CLIENT_PUBLIC_KEY_FILE,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    HOST_KEY_FILE,
    KEY_DIR,
    DropConnection,
    Fault,
    FaultPlan,
    HomeLayout,
    SandboxUser,
    Stall,
    demo_user,
    prepare_layout,
    serve_forever,
)

HOME_FOLDERS = ("depot", "depot/traites", "retour")
READ_ONLY_FOLDER = "retour"
FNAC_LAYOUT = HomeLayout(HOME_FOLDERS, read_only=(READ_ONLY_FOLDER,))
"""FNAC's home for the organiser: it writes in ``/depot/`` and reads ``/retour/``."""


def prepare_home(root: Path, username: str) -> Path:
    """Create (if needed) and return the home of ``username`` under ``root``."""
    return prepare_layout(root, username, FNAC_LAYOUT)


class SandboxServer(sftp.SandboxServer):
    """The sandbox SFTP server with FNAC's home layout.

    ``port=0`` picks a free port, readable from :attr:`port` once started.
    """

    def __init__(
        self,
        root: Path,
        users: Iterable[SandboxUser],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        host_key_file: Path = HOST_KEY_FILE,
        layout: HomeLayout = FNAC_LAYOUT,
    ) -> None:
        super().__init__(
            root,
            users,
            layout=layout,
            host=host,
            port=port,
            host_key_file=host_key_file,
            thread_name="fnac-sandbox-sftp",
        )


__all__ = [
    "CLIENT_KEY_FILE",
    "CLIENT_PUBLIC_KEY_FILE",
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "FNAC_LAYOUT",
    "HOME_FOLDERS",
    "HOST_KEY_FILE",
    "KEY_DIR",
    "READ_ONLY_FOLDER",
    "DropConnection",
    "Fault",
    "FaultPlan",
    "SandboxServer",
    "SandboxUser",
    "Stall",
    "demo_user",
    "prepare_home",
    "serve_forever",
]
