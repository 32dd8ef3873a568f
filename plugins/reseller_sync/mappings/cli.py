"""``python -m reseller_sync mappings check [PRODUCT...] [--reseller CODE] [--no-database]``.

For people and CI. Without ``--reseller`` every configured reseller is checked
in turn (products named then need ``--reseller`` when several are configured);
each adapter's ``check_mappings`` does the check. Exit status: 0 when every mapping
is correct, 1 when there are problems (each printed with its fix), 2 when the
check could not run (reseller unknown, settings invalid, box office unreadable).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from reseller_sync.config.paths import configured_resellers, only_configured_reseller
from reseller_sync.core.resellers import MappingVerdict, UnknownResellerError, adapter
from reseller_sync.domain.errors import ConfigurationError

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_CANNOT_CHECK = 2


def register(subparsers: Any) -> None:
    """Add the ``mappings`` command group to an argparse sub-parsers object."""
    parser = subparsers.add_parser(
        "mappings", help="a reseller's mappings (include/mappings/<code>/)"
    )
    commands = parser.add_subparsers(dest="mappings_command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="check that every entity a product uses at the reseller is mapped, once, "
        "to valid codes",
        description="Check a reseller's mappings of the products (default: every product of "
        "its settings). Prints every problem with its fix; exit status 0 only when all is well.",
    )
    check.add_argument("products", nargs="*", metavar="PRODUCT", help="product codes to check")
    check.add_argument(
        "--reseller",
        metavar="CODE",
        help="the reseller type's code (default: every reseller configured)",
    )
    check.add_argument(
        "--no-database",
        action="store_true",
        help="check the files only (formats, alternatives, conflicts, a file per product), "
        "without reading the box office",
    )
    check.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``mappings check`` for the reseller asked, else for every reseller configured,
    print each report; return the worst exit status."""
    try:
        codes = [args.reseller] if args.reseller else list(configured_resellers())
        if args.products and len(codes) > 1:
            only_configured_reseller()
        instances = [(adapter(code), adapter(code).load_settings()) for code in codes]
    except (ConfigurationError, UnknownResellerError) as error:
        print(error, file=sys.stderr)
        return EXIT_CANNOT_CHECK
    if not instances:
        print("No reseller is configured: nothing to check.", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    products = args.products or None
    results = []
    for reseller, settings in instances:
        if len(instances) > 1:
            print(f"{reseller.RESELLER_TYPE.name} ({reseller.RESELLER_TYPE.code}):")
        check = reseller.check_mappings
        if args.no_database:
            results.append(check(settings, None, products))
            continue
        from reseller_sync.boxoffice.db import default_engine

        engine = default_engine()
        try:
            with Session(engine) as session:
                results.append(check(settings, session, products))
        except SQLAlchemyError as error:
            shown = engine.url.render_as_string(hide_password=True)
            print(
                f"Cannot read the box office at {shown}: {error.__class__.__name__}: "
                f"{getattr(error, 'orig', None) or error}\n"
                "Use --no-database to check the mapping files only.",
                file=sys.stderr,
            )
            return EXIT_CANNOT_CHECK
    return max(_print(result) for result in results)


def _print(result: MappingVerdict) -> int:
    print(result.report())
    return EXIT_OK if result.ok else EXIT_PROBLEMS
