"""``python -m reseller_sync journal ...``: see and act on the exchange journal.

- ``journal list [--state STATE] [--type TYPE] [--limit N]``: the newest
  files first (``--state failed``: what stops a stream).
- ``journal set-aside FILE --reason "..." [--by NAME] [--reseller CODE]``: set
  a failed inbound file aside (the reseller sent its lines again under the
  next sequence), recorded with who (default: the OS user), when and why, and
  announced to the alert addresses. ``--reseller`` may be left out when one
  reseller is configured, or when the file's name is of one reseller's contract.

Exit status: 0 done; 1 refused (unknown file, a file not in a state that can
be set aside, no reason: nothing changed, the message says why); 2 the
command could not run (settings invalid, box office unreadable).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from reseller_sync.boxoffice.models import Direction, FileState

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_CANNOT_RUN = 2


def register(subparsers: Any) -> None:
    """Add the ``journal`` command group to an argparse sub-parsers object."""
    parser = subparsers.add_parser("journal", help="the exchange journal: files in and out")
    commands = parser.add_subparsers(dest="journal_command", required=True, metavar="COMMAND")

    listing = commands.add_parser(
        "list",
        help="list journal files, newest first",
        description="List the exchange journal's files, newest first (--state failed: the "
        "files that stop their stream).",
    )
    listing.add_argument(
        "--state", choices=[state.value for state in FileState], help="only files in this state"
    )
    listing.add_argument("--type", dest="file_type", help="only files of this type (VENTES...)")
    listing.add_argument(
        "--direction", choices=[direction.value for direction in Direction], help="in or out"
    )
    listing.add_argument("--limit", type=_positive, default=20, help="how many (default 20)")
    listing.set_defaults(handler=list_files)

    set_aside = commands.add_parser(
        "set-aside",
        help="set a failed inbound file aside so that its type goes on from the next sequence",
        description="Set a failed file from a reseller aside (the reseller sent its lines again "
        "under the next sequence). Its lines are not integrated; the files of its type go on "
        "from the next sequence once the failed task is cleared in Airflow. Recorded with who, "
        "when and why, and e-mailed to the alert addresses.",
    )
    set_aside.add_argument("name", metavar="FILE_NAME", help="the file's name, as in the journal")
    set_aside.add_argument("--reason", required=True, help="why (kept in the journal and mailed)")
    set_aside.add_argument(
        "--by", default=None, help="who decides (default: the OS user running the command)"
    )
    set_aside.add_argument(
        "--reseller",
        metavar="CODE",
        default=None,
        help="the reseller's code (default: the one whose contract names files so, or the "
        "only reseller configured)",
    )
    set_aside.set_defaults(handler=set_aside_file)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def list_files(args: argparse.Namespace) -> int:
    """Print the journal's files matching the options, newest first."""
    from reseller_sync.boxoffice.db import default_engine, session_scope
    from reseller_sync.dashboard.queries import JournalFilter, journal_page

    criteria = JournalFilter(
        direction=Direction(args.direction) if args.direction else None,
        file_type=args.file_type,
        state=FileState(args.state) if args.state else None,
        page_size=args.limit,
    )
    try:
        with session_scope() as session:
            page = journal_page(session, criteria)
    except SQLAlchemyError as error:
        return _cannot_read(default_engine().url.render_as_string(hide_password=True), error)
    if not page.entries:
        print("No file matches.")
        return EXIT_OK
    for entry in page.entries:
        problem = (entry.error_message or "").splitlines()[0] if entry.error_message else ""
        print(
            f"{entry.created_at:%Y-%m-%d %H:%M}  {entry.direction.value:<8}  "
            f"{entry.state.value:<15}  {entry.name}"
            + (f"\n    {entry.error_category}: {problem}" if problem else "")
        )
    if page.total > len(page.entries):
        print(f"({len(page.entries)} of {page.total}; --limit shows more)")
    return EXIT_OK


def _reseller_naming(name: str) -> str:
    """The one configured reseller whose names ``name`` is, when ``--reseller`` is left out;
    the only one configured otherwise (a ``ConfigurationError`` when that says nothing)."""
    from reseller_sync.config import paths
    from reseller_sync.core.resellers import InterfaceKind, adapter, reseller_type

    configured = paths.configured_resellers()
    naming = [
        code
        for code in configured
        if reseller_type(code).interface is InterfaceKind.FILES
        and adapter(code).naming().parse(name) is not None
    ]
    return naming[0] if len(naming) == 1 else paths.only_configured_reseller()


def set_aside_file(args: argparse.Namespace) -> int:
    """Set the file aside, say what was done and what to do next."""
    from reseller_sync.airflow.notifier import smtp_sender
    from reseller_sync.boxoffice.db import default_engine
    from reseller_sync.core.resellers import UnknownResellerError, adapter
    from reseller_sync.domain.errors import ConfigurationError
    from reseller_sync.exchange.journal import SetAsideRefusedError
    from reseller_sync.pipelines import set_aside

    try:
        reseller = adapter(args.reseller or _reseller_naming(args.name))
        settings = reseller.load_settings()
    except (ConfigurationError, UnknownResellerError) as error:
        print(error, file=sys.stderr)
        return EXIT_CANNOT_RUN
    by = args.by if args.by is not None else getpass.getuser()
    try:
        outcome, alert = set_aside.set_aside_file(
            None, settings, args.name, reason=args.reason, by=by, send=smtp_sender()
        )
    except SetAsideRefusedError as error:
        print(f"Not set aside: {error}. Nothing was changed.", file=sys.stderr)
        return EXIT_REFUSED
    except SQLAlchemyError as error:
        return _cannot_read(default_engine().url.render_as_string(hide_password=True), error)
    sequence = reseller.naming().sequence_text(outcome.sequence)
    print(
        f"{outcome.name} ({outcome.file_type} sequence {sequence}) set aside by "
        f"{outcome.by} at {outcome.at:%Y-%m-%d %H:%M} UTC: {outcome.reason}"
    )
    if outcome.ready:
        print(f"Now ready, in order: {', '.join(outcome.ready)}")
    if alert.delivered:
        print(f"Notice {alert.id} recorded and e-mailed to: {alert.recipients}")
    else:
        print(
            f"Notice {alert.id} recorded but NOT e-mailed ({alert.delivery_error}): tell "
            f"{alert.recipients or 'the alert addresses'} yourself; the dashboard shows it.",
            file=sys.stderr,
        )
    next_steps = set_aside.next_steps(outcome, settings.reseller_code).render(
        "en", settings.display_name
    )
    print(f"Next: {next_steps}")
    return EXIT_OK


def _cannot_read(where: str, error: SQLAlchemyError) -> int:
    print(
        f"Cannot use the box office at {where}: {error.__class__.__name__}: "
        f"{getattr(error, 'orig', None) or error}",
        file=sys.stderr,
    )
    return EXIT_CANNOT_RUN
