"""``python -m reseller_sync sandbox serve``: run the sandbox SFTP server in the foreground."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from reseller_sync.fnac.sandbox.connection import (
    DEFAULT_CONN_ID,
    connection_env_var,
    public_host_key,
    sandbox_connection_json,
)
from reseller_sync.fnac.sandbox.server import (
    CLIENT_KEY_FILE,
    CLIENT_PUBLIC_KEY_FILE,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    HOST_KEY_FILE,
    SandboxServer,
    SandboxUser,
    serve_forever,
)


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``sandbox serve`` on ``parser``."""
    parser.add_argument("--root", type=Path, required=True, help="folder holding the users' homes")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=2222, help="port to listen on (0: any free)")
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
        "--conn-id", default=DEFAULT_CONN_ID, help="Airflow connection id to print the setting of"
    )


def run_serve(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C, after printing the Airflow connection that reaches the server."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    key_files: list[Path] = args.authorized_key or [CLIENT_PUBLIC_KEY_FILE]
    user = SandboxUser(
        args.user,
        password=None if args.no_password else args.password,
        authorized_keys=tuple(path.read_text(encoding="ascii").strip() for path in key_files),
    )
    server = SandboxServer(
        args.root, [user], host=args.host, port=args.port, host_key_file=args.host_key
    )
    key_file = CLIENT_KEY_FILE if not args.authorized_key else None
    password = None if key_file is not None or args.no_password else args.password

    def announce(running: SandboxServer) -> None:
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

    serve_forever(server, on_ready=announce)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sandbox`` group and its ``serve`` command (see :mod:`reseller_sync.cli`)."""
    group = subparsers.add_parser("sandbox", help="the FNAC sandbox SFTP server")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the sandbox SFTP server until Ctrl-C")
    add_serve_arguments(serve)
    serve.set_defaults(handler=run_serve)
