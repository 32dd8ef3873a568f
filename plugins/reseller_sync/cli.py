"""``python -m reseller_sync <group> <command> ...``: the operator's commands.

Each command group lives with its code, in a module that has a
``register(subparsers)`` function: it adds its group parser to the argparse
sub-parsers object it is given, its commands under it, and sets on each
command a ``handler`` default, a function of the parsed arguments returning
the exit status. To add a group, add one line to :data:`COMMAND_GROUPS`.

Only the module of the group asked for is imported, so a command does not
pay for the imports of the others (pandas, SQLAlchemy...).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_GROUPS: dict[str, str] = {
    "db": "reseller_sync.boxoffice.cli",
    "fnac": "reseller_sync.fnac.cli",
    "mailsink": "reseller_sync.mailsink",
    "mappings": "reseller_sync.mappings.cli",
    "sandbox": "reseller_sync.fnac.sandbox.cli",
}
"""Group name -> module with its ``register(subparsers)`` function."""


def build_parser(groups: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser with the given groups registered (default: all of them)."""
    parser = argparse.ArgumentParser(
        prog="python -m reseller_sync", description="Operator commands of the reseller interface."
    )
    subparsers = parser.add_subparsers(dest="group", required=True, metavar="GROUP")
    for group in groups if groups is not None else COMMAND_GROUPS:
        importlib.import_module(COMMAND_GROUPS[group]).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command of ``argv`` (default: the process arguments); return its exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    asked = arguments[0] if arguments and arguments[0] in COMMAND_GROUPS else None
    parser = build_parser([asked] if asked else None)
    args = parser.parse_args(arguments)
    return int(args.handler(args))
