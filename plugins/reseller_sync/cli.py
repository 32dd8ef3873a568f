"""``python -m reseller_sync <group> <command> ...``: the operator's commands.

Each command group lives with its code, in a module that has a
``register(subparsers)`` function: it adds its group parser to the argparse
sub-parsers object it is given, its commands under it, and sets on each
command a ``handler`` default, a function of the parsed arguments returning
the exit status. To add a group, add one line to :data:`COMMAND_GROUPS`; each
partner package of the registry brings its own group, named after the
package, from its ``cli`` module.

Only the module of the group asked for is imported, so a command does not
pay for the imports of the others (pandas, SQLAlchemy...). The developers'
tools (sandboxes, mail sink, demo data) have their own entry point built the
same way: ``python -m devtools``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Mapping, Sequence

from reseller_sync.core.resellers import PARTNER_PACKAGES

COMMAND_GROUPS: dict[str, str] = {
    "db": "reseller_sync.boxoffice.cli",
    "journal": "reseller_sync.exchange.cli",
    "mappings": "reseller_sync.mappings.cli",
    "realtime": "reseller_sync.realtime.cli",
    **{package.rsplit(".", 1)[-1]: f"{package}.cli" for package in PARTNER_PACKAGES},
}
"""Group name -> module with its ``register(subparsers)`` function."""

PROG = "python -m reseller_sync"


def build_parser(
    groups: Sequence[str] | None = None,
    *,
    command_groups: Mapping[str, str] = COMMAND_GROUPS,
    prog: str = PROG,
    description: str = "Operator commands of the reseller interface.",
) -> argparse.ArgumentParser:
    """The parser with the given groups registered (default: all of them)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    subparsers = parser.add_subparsers(dest="group", required=True, metavar="GROUP")
    for group in groups if groups is not None else command_groups:
        importlib.import_module(command_groups[group]).register(subparsers)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    command_groups: Mapping[str, str] = COMMAND_GROUPS,
    prog: str = PROG,
    description: str = "Operator commands of the reseller interface.",
) -> int:
    """Run the command of ``argv`` (default: the process arguments); return its exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    asked = arguments[0] if arguments and arguments[0] in command_groups else None
    parser = build_parser(
        [asked] if asked else None,
        command_groups=command_groups,
        prog=prog,
        description=description,
    )
    args = parser.parse_args(arguments)
    return int(args.handler(args))
