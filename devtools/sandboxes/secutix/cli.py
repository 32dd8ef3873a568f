"""``python -m devtools secutix-sandbox ...``: the sandbox SFTP server, and a SecuTix box
office as reseller on it (``secutix-reseller-v1``).

- ``serve``: the SFTP server in the foreground, with the reseller's home; the reseller
  picks up ``/to_reseller/`` every few seconds, and on request ticks (customers, then a
  TICKETS file) every ``--tickets-every`` seconds, and writes the nightly STOCK;
- ``pickup``: answer the organiser's files of ``/to_reseller/`` once;
- ``tick``: the customers act, then the next TICKETS file; ``tickets``: the next
  TICKETS file alone; ``stock``: tonight's STOCK file; each with ``--fault`` when asked;
- ``fault NAME``: the file that fault concerns, with the fault;
- ``release``: upload the control files a fault held back; ``replace NAME``: replace a
  file the organiser has not applied (section 3 point 7);
- ``status``: what the reseller holds, has sold and has written.

Every command but ``serve`` works on the root folder directly, under the same file
lock as the server's loop.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from devtools.sandboxes.commands import add_clock_arguments, fixed_clock, writing
from devtools.sandboxes.commands import fault_names as _names
from devtools.sandboxes.secutix import DEFAULT_CONN_ID
from devtools.sandboxes.secutix.emit import SandboxError
from devtools.sandboxes.secutix.faults import (
    FAULT_CODES,
    RESULT_FAULTS,
    STOCK_FAULTS,
    TICKETS_FAULTS,
    Fault,
)
from devtools.sandboxes.secutix.partner import PartnerLoop, SecutixPartner
from devtools.sandboxes.secutix.server import secutix_server
from devtools.sandboxes.serving import add_server_arguments, serve
from devtools.sandboxes.sftp import DEMO_USERNAME


def add_partner_arguments(parser: argparse.ArgumentParser, *, root: bool = True) -> None:
    """Options saying which reseller plays: root folder, organiser, seed, clock."""
    if root:
        parser.add_argument("--root", type=Path, required=True, help="the sandbox root folder")
        parser.add_argument("--user", default=DEMO_USERNAME, help="the organiser's login")
    add_clock_arguments(
        parser,
        now_help="the reseller's clock, fixed (ISO 8601 with offset, e.g. "
        "2026-12-05T14:15:00+01:00)",
    )


def make_partner(args: argparse.Namespace) -> SecutixPartner:
    return SecutixPartner(args.root, args.user, clock=fixed_clock(args), seed=args.seed)


def _add_counts(parser: argparse.ArgumentParser) -> None:
    for name, what in (
        ("orders", "new orders (1 to 4 tickets each)"),
        ("prints", "orders printed"),
        ("cancellations", "orders cancelled"),
        ("refunds", "orders refunded"),
        ("renames", "tickets given to another beneficiary"),
    ):
        parser.add_argument(f"--{name}", type=int, help=f"{what} (default: drawn)")


def _counts(args: argparse.Namespace) -> dict[str, int | None]:
    names = ("orders", "prints", "cancellations", "refunds", "renames")
    return {name: getattr(args, name, None) for name in names}


def run_serve(args: argparse.Namespace) -> int:
    loop = (
        PartnerLoop(
            make_partner(args),
            args.interval,
            tickets_every=args.tickets_every,
            stock=not args.no_stock,
        )
        if args.interval > 0
        else None
    )
    return serve(
        args,
        secutix_server,
        loop,
        playing=f"The SecuTix reseller picks up /to_reseller/ every {args.interval:g} s",
    )


def run_pickup(args: argparse.Namespace) -> int:
    try:
        answers = make_partner(args).pickup(args.fault)
    except SandboxError as error:
        print(f"Nothing written: {error}")
        return 1
    for answer in answers:
        print(f"{answer.status} {answer.file} -> {answer.result} {' '.join(answer.codes)}".rstrip())
    if not answers:
        print("No organiser file ready in /to_reseller/")
    return 0


def _writing(
    action: Callable[[SecutixPartner, argparse.Namespace], object],
) -> Callable[[argparse.Namespace], int]:
    return writing(make_partner, action, SandboxError)


def _fault_file(partner: SecutixPartner, args: argparse.Namespace) -> object:
    """The file that fault ``args.name`` concerns, with it."""
    fault = Fault(args.name)
    if fault is Fault.RESULT_UNKNOWN_FILE:
        return partner.write_orphan_result()
    if fault in RESULT_FAULTS - TICKETS_FAULTS or args.file == "RESULT":
        answers = partner.pickup(fault)
        return "\n".join(f"{a.status} {a.file} -> {a.result}" for a in answers)
    if fault in STOCK_FAULTS - TICKETS_FAULTS or args.file == "STOCK":
        return partner.write_stock(fault)
    return partner.tick(fault=fault, **_counts(args))


def _status(partner: SecutixPartner, args: argparse.Namespace) -> object:
    state = partner.snapshot()
    given: Counter[str] = Counter()
    for holding in state.holdings.values():
        given[f"{holding.product} {holding.performance or '-'} {holding.seatcat}"] += holding.given
    sold = Counter(
        f"{t.product} {t.performance or '-'} {t.seatcat}" for t in state.tickets.values() if t.valid
    )
    lines = [f"{key}: {given[key]} given, {sold[key]} sold" for key in sorted(given)]
    states = Counter(t.state for t in state.tickets.values())
    lines.append("Tickets: " + (", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "none"))
    pending = sum(1 for t in state.tickets.values() if t.pending)
    lines.append(f"Last TICKETS file: {state.last_tickets} ({pending} tickets changed since)")
    lines.append(f"Last organiser file processed: {state.last_processed}")
    withheld = [s.name for s in state.sent if s.withheld]
    if withheld:
        lines.append("Control files held back for: " + ", ".join(withheld))
    return "\n".join(lines)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``secutix-sandbox`` group and its commands (see :mod:`devtools.cli`)."""
    group = subparsers.add_parser(
        "secutix-sandbox", help="the SecuTix sandbox: SFTP server and the reseller's side"
    )
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve_parser = commands.add_parser(
        "serve", help="run the sandbox SFTP server, with the reseller playing, until Ctrl-C"
    )
    add_server_arguments(serve_parser, port=2224, conn_id=DEFAULT_CONN_ID)
    add_partner_arguments(serve_parser, root=False)
    serve_parser.add_argument(
        "--interval",
        type=float,
        default=5.0,
        help="seconds between two pickups of /to_reseller/ (0: the reseller does not play)",
    )
    serve_parser.add_argument(
        "--tickets-every",
        type=float,
        metavar="SECONDS",
        help="tick that often: customers act, then a TICKETS file (every 15 minutes, sped up)",
    )
    serve_parser.add_argument(
        "--no-stock", action="store_true", help="do not write the nightly STOCK file"
    )
    serve_parser.set_defaults(handler=run_serve)

    pickup = commands.add_parser("pickup", help="answer the organiser's files once")
    add_partner_arguments(pickup)
    pickup.add_argument("--fault", choices=_names(RESULT_FAULTS), help="what the RESULT gets wrong")
    pickup.set_defaults(handler=run_pickup)

    tick = commands.add_parser("tick", help="the customers act, then the next TICKETS file")
    add_partner_arguments(tick)
    _add_counts(tick)
    tick.add_argument("--fault", choices=_names(TICKETS_FAULTS), help="what the file gets wrong")
    tick.set_defaults(handler=_writing(lambda p, a: p.tick(fault=a.fault, **_counts(a))))

    tickets = commands.add_parser("tickets", help="the next TICKETS file, the customers idle")
    add_partner_arguments(tickets)
    tickets.add_argument("--fault", choices=_names(TICKETS_FAULTS), help="what the file gets wrong")
    tickets.set_defaults(handler=_writing(lambda p, a: p.write_tickets(a.fault)))

    stock = commands.add_parser("stock", help="tonight's STOCK file (named after today)")
    add_partner_arguments(stock)
    stock.add_argument("--fault", choices=_names(STOCK_FAULTS), help="what the file gets wrong")
    stock.set_defaults(handler=_writing(lambda p, a: p.write_stock(a.fault)))

    fault = commands.add_parser(
        "fault",
        help="inject a fault by name in the file it concerns",
        description="Faults and the code each gives: "
        + ", ".join(f"{f.value} ({code})" for f, code in FAULT_CODES.items()),
    )
    add_partner_arguments(fault)
    fault.add_argument("name", choices=[f.value for f in Fault], help="the fault")
    fault.add_argument(
        "--file",
        choices=["TICKETS", "STOCK", "RESULT"],
        default="TICKETS",
        help="the file a verification fault concerns (default TICKETS)",
    )
    _add_counts(fault)
    fault.set_defaults(handler=_writing(_fault_file))

    release = commands.add_parser("release", help="upload the control files a fault held back")
    add_partner_arguments(release)
    release.add_argument("--file", help="only that data file's, e.g. TICKETS_00000007.csv")
    release.set_defaults(
        handler=_writing(lambda p, a: "\n".join(p.release(a.file)) or "Nothing held")
    )

    replace = commands.add_parser(
        "replace", help="replace a file the organiser has not applied (section 3 point 7)"
    )
    add_partner_arguments(replace)
    replace.add_argument("name", help="the data file, e.g. TICKETS_00000007.csv")
    replace.set_defaults(handler=_writing(lambda p, a: p.replace(a.name)))

    status = commands.add_parser("status", help="what the reseller holds, has sold and written")
    add_partner_arguments(status)
    status.set_defaults(handler=_writing(_status))
