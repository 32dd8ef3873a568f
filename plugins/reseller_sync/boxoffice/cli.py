"""``python -m reseller_sync db ...``: migrate the box office."""

from __future__ import annotations

import argparse

from reseller_sync.boxoffice import migrate
from reseller_sync.boxoffice.db import database_url, make_engine


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="the box-office database")
    commands = parser.add_subparsers(dest="db_command", required=True)
    upgrade = commands.add_parser("upgrade", help="apply the migrations up to the newest")
    upgrade.set_defaults(handler=_upgrade)
    downgrade = commands.add_parser("downgrade", help="revert migrations (default: all)")
    downgrade.add_argument("revision", nargs="?", default="base")
    downgrade.set_defaults(handler=_downgrade)


def _where() -> str:
    return make_engine().url.render_as_string(hide_password=True)


def _upgrade(_args: argparse.Namespace) -> int:
    migrate.upgrade(database_url())
    print(f"box office at revision {migrate.current_revision()} ({_where()})")
    return 0


def _downgrade(args: argparse.Namespace) -> int:
    migrate.downgrade(database_url(), args.revision)
    print(f"box office at revision {migrate.current_revision()} ({_where()})")
    return 0
