"""The ``serve`` command every partner sandbox has: its SFTP server in the foreground, the
Airflow connection that reaches it printed first, and the partner playing in the background."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from devtools.sandboxes.connection import (
    connection_env_var,
    public_host_key,
    sandbox_connection_json,
)
from devtools.sandboxes.loop import BackgroundPartner
from devtools.sandboxes.sftp import (
    CLIENT_KEY_FILE,
    CLIENT_PUBLIC_KEY_FILE,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    HOST_KEY_FILE,
    SandboxServer,
    SandboxUser,
    serve_forever,
)

ServerFactory = Callable[..., SandboxServer]
"""``(root, users, *, host, port, host_key_file)`` → the partner's server, not started."""


def add_server_arguments(parser: argparse.ArgumentParser, *, port: int, conn_id: str) -> None:
    """The options of a sandbox's ``serve``: where it listens, who logs in, the connection id."""
    parser.add_argument("--root", type=Path, required=True, help="folder holding the users' homes")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=port, help="port to listen on (0: any free)")
    parser.add_argument("--user", default=DEMO_USERNAME, help="the login of the organiser")
    parser.add_argument(
        "--password", default=DEMO_PASSWORD, help="its password (demo password by default)"
    )
    parser.add_argument("--no-password", action="store_true", help="accept key authentication only")
    parser.add_argument(
        "--authorized-key",
        type=Path,
        action="append",
        help="public key file accepted for the user (repeatable; the demo key by default)",
    )
    parser.add_argument(
        "--host-key", type=Path, default=HOST_KEY_FILE, help="the server's private host key"
    )
    parser.add_argument(
        "--conn-id", default=conn_id, help="Airflow connection id to print the setting of"
    )


def serve(
    args: argparse.Namespace,
    server_factory: ServerFactory,
    partner: BackgroundPartner | None,
    *,
    playing: str,
) -> int:
    """Serve until Ctrl-C or SIGTERM. Once the server listens, print where it is and the
    Airflow connection that reaches it (three lines), then start ``partner`` and say
    ``playing`` (what the partner does, and how often)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    key_files: Sequence[Path] = args.authorized_key or [CLIENT_PUBLIC_KEY_FILE]
    user = SandboxUser(
        args.user,
        password=None if args.no_password else args.password,
        authorized_keys=tuple(path.read_text(encoding="ascii").strip() for path in key_files),
    )
    server = server_factory(
        args.root, [user], host=args.host, port=args.port, host_key_file=args.host_key
    )
    key_file = CLIENT_KEY_FILE if not args.authorized_key else None
    password = None if key_file is not None or args.no_password else args.password

    def ready(running: SandboxServer) -> None:
        connection = sandbox_connection_json(
            running.host,
            running.port,
            username=args.user,
            key_file=key_file,
            password=password,
            host_key=public_host_key(args.host_key),
        )
        print(f"Sandbox SFTP server on {running.host}:{running.port}, root {running.root}")
        print("Airflow connection for it:")
        print(f"export {connection_env_var(args.conn_id)}='{connection}'", flush=True)
        if partner is not None:
            partner.start()
            print(playing, flush=True)

    try:
        serve_forever(server, on_ready=ready)
    finally:
        if partner is not None:
            partner.stop()
    return 0
