"""``python -m devtools ticketnet-sandbox ...``: the sandbox SFTP server, and Ticketnet on it.

- ``serve``: the SFTP server in the foreground, with Ticketnet's home; Ticketnet
  answers ``/to_ticketnet/`` every few seconds (and, on request, sends SALES
  batches and test tickets);
- ``answer``: Ticketnet answers the ``OFFER`` batches of ``/to_ticketnet/`` once;
- ``sell``, ``refund``, ``test``, ``refund-tests``, ``pricetypes``, ``inventory``:
  Ticketnet writes one of its batches in ``/from_ticketnet/``, with ``--fault``
  when asked;
- ``fault NAME``: the batch (or ACK) that fault concerns, with the fault;
- ``release``: upload the files a fault held back; ``replace BATCH_ID``: replace
  a batch the organiser has not applied (``ticketnet-exchange-v1`` section 3
  point 8);
- ``status``: what Ticketnet holds, has sold and has sent.

Every command but ``serve`` works on the root folder directly, under the same
file lock as the server's loop.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from devtools.sandboxes.commands import add_clock_arguments, fixed_clock, writing
from devtools.sandboxes.commands import fault_names as _names
from devtools.sandboxes.serving import add_server_arguments, serve
from devtools.sandboxes.sftp import (
    DEMO_USERNAME,
)
from devtools.sandboxes.ticketnet import DEFAULT_CONN_ID
from devtools.sandboxes.ticketnet.emit import REFUND_REASONS, SandboxError
from devtools.sandboxes.ticketnet.partner import (
    ACK_FAULTS,
    BATCH_FAULTS,
    DEFAULT_PROMOTER,
    FAULT_CODES,
    INVENTORY_FAULTS,
    SALES_FAULTS,
    Fault,
    PartnerLoop,
    TicketnetPartner,
)
from devtools.sandboxes.ticketnet.server import ticketnet_server


def add_partner_arguments(parser: argparse.ArgumentParser, *, root: bool = True) -> None:
    """Options saying which Ticketnet plays: root folder, organiser, promoter, seed, clock."""
    if root:
        parser.add_argument("--root", type=Path, required=True, help="the sandbox root folder")
        parser.add_argument("--user", default=DEMO_USERNAME, help="the organiser's login")
    parser.add_argument(
        "--promoter",
        default=DEFAULT_PROMOTER,
        help=f"the organiser's promoter code (default {DEFAULT_PROMOTER})",
    )
    add_clock_arguments(
        parser,
        now_help="Ticketnet's clock, fixed (ISO 8601 with offset, e.g. 2026-11-28T14:10:00+01:00)",
    )


def make_partner(args: argparse.Namespace) -> TicketnetPartner:
    """The TicketnetPartner the parsed options describe."""
    return TicketnetPartner(
        args.root,
        args.user,
        promoter=args.promoter,
        clock=fixed_clock(args),
        seed=args.seed,
    )


def run_serve(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C, after printing the Airflow connection that reaches the server."""
    loop = (
        PartnerLoop(
            make_partner(args),
            args.interval,
            sales_every=args.sales_every,
            auto_test=args.auto_test,
        )
        if args.interval > 0
        else None
    )
    return serve(
        args,
        ticketnet_server,
        loop,
        playing=f"Ticketnet picks up /to_ticketnet/ every {args.interval:g} s",
    )


def run_answer(args: argparse.Namespace) -> int:
    """Answer the waiting OFFER batches once; print each answer."""
    answers = make_partner(args).process_offers(args.fault)
    for answer in answers:
        codes = " ".join(answer.codes)
        print(f"{answer.status} {answer.batch} -> {answer.ack or '(ignored)'} {codes}".rstrip())
    if not answers:
        print("No OFFER batch ready in /to_ticketnet/")
    return 0


def _emitting(
    action: Callable[[TicketnetPartner, argparse.Namespace], object],
) -> Callable[[argparse.Namespace], int]:
    return writing(make_partner, action, SandboxError)


def _fault_batch(partner: TicketnetPartner, args: argparse.Namespace) -> object:
    """The batch or ACK that ``args.name`` concerns, with that fault."""
    fault = Fault(args.name)
    if fault in ACK_FAULTS:
        answers = partner.process_offers(fault)
        if not answers:
            raise SandboxError("no OFFER batch waits in /to_ticketnet/ to answer")
        return "\n".join(f"{a.status} {a.batch} -> {a.ack}" for a in answers)
    if fault in INVENTORY_FAULTS or (fault in BATCH_FAULTS and args.stream == "INVENTORY"):
        return partner.emit_inventory(fault)
    if fault in BATCH_FAULTS and args.stream == "PRICETYPES":
        return partner.emit_pricetypes(fault=fault)
    return partner.emit_sales(args.tickets, args.refunds, fault=fault)


def _status(partner: TicketnetPartner, args: argparse.Namespace) -> object:
    state = partner.snapshot()
    lines = []
    for key, performance in sorted(state.performances.items()):
        seats = [s for s in state.seats.values() if f"{s.event_id}/{s.performance_id}" == key]
        areas = [a for a in state.areas.values() if f"{a.event_id}/{a.performance_id}" == key]
        lines.append(
            f"{key} {performance.org_event_code} {performance.org_performance_code} "
            f"{performance.starts_at} at {performance.venue_code}: "
            f"seats {len(seats)} held, {sum(s.sold for s in seats)} sold; "
            f"areas {sum(a.allocated for a in areas)} held, {sum(a.sold for a in areas)} sold"
            + ("" if performance.tested else " (not tested yet)")
        )
    tickets = Counter(
        ("test " if t.test else "") + ("refunded" if t.refunded_by else "sold")
        for t in state.tickets.values()
    )
    lines.append("Tickets: " + ", ".join(f"{n} {kind}" for kind, n in sorted(tickets.items())))
    lines.append(
        "Last batch sent: "
        + ", ".join(f"{stream} {number}" for stream, number in sorted(state.numbers.items()))
    )
    lines.append(f"Last OFFER batch answered: {state.last_offer}")
    withheld = [s.batch_id for s in state.sent if s.withheld]
    if withheld:
        lines.append("Files held back for: " + ", ".join(withheld))
    return "\n".join(lines)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``ticketnet-sandbox`` group and its commands (see :mod:`devtools.cli`)."""
    group = subparsers.add_parser(
        "ticketnet-sandbox", help="the Ticketnet sandbox: SFTP server and Ticketnet's side"
    )
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="run the sandbox SFTP server, with Ticketnet answering, until Ctrl-C"
    )
    add_server_arguments(serve, port=2223, conn_id=DEFAULT_CONN_ID)
    add_partner_arguments(serve, root=False)
    serve.add_argument(
        "--interval",
        type=float,
        default=5.0,
        help="seconds between two pickups of /to_ticketnet/ (0: Ticketnet does not play)",
    )
    serve.add_argument(
        "--sales-every",
        type=float,
        metavar="SECONDS",
        help="also send a SALES batch that often (the hourly batch, sped up)",
    )
    serve.add_argument(
        "--auto-test",
        action="store_true",
        help="sell test tickets for each new performance once Ticketnet holds places in it",
    )
    serve.set_defaults(handler=run_serve)

    answer = commands.add_parser("answer", help="answer the OFFER batches of /to_ticketnet/ once")
    add_partner_arguments(answer)
    answer.add_argument("--fault", choices=_names(ACK_FAULTS), help="what the first ACK gets wrong")
    answer.set_defaults(handler=run_answer)

    sales_faults = _names(BATCH_FAULTS | SALES_FAULTS)
    sell = commands.add_parser("sell", help="a SALES batch: sales (and refunds) of the hour")
    add_partner_arguments(sell)
    sell.add_argument("--tickets", type=int, help="tickets to sell (default: 0 to 8, drawn)")
    sell.add_argument("--refunds", type=int, default=0, help="about that many tickets refunded")
    sell.add_argument("--reason", choices=list(REFUND_REASONS), help="the refunds' reason")
    sell.add_argument("--fault", choices=sales_faults, help="what Ticketnet gets wrong")
    sell.set_defaults(
        handler=_emitting(lambda p, a: p.emit_sales(a.tickets, a.refunds, a.reason, a.fault))
    )

    refund = commands.add_parser("refund", help="a SALES batch refunding earlier sales only")
    add_partner_arguments(refund)
    refund.add_argument("--count", type=int, default=1, help="about that many tickets refunded")
    refund.add_argument("--reason", choices=list(REFUND_REASONS), help="the refunds' reason")
    refund.add_argument("--fault", choices=sales_faults, help="what Ticketnet gets wrong")
    refund.set_defaults(handler=_emitting(lambda p, a: p.emit_sales(0, a.count, a.reason, a.fault)))

    batch_faults = _names(BATCH_FAULTS)
    test = commands.add_parser("test", help="a SALES batch of onboarding test tickets")
    add_partner_arguments(test)
    test.add_argument("--performance", help="EVENT_ID/PERFORMANCE_ID (default: every untested)")
    test.add_argument("--fault", choices=batch_faults, help="what Ticketnet gets wrong")
    test.set_defaults(handler=_emitting(lambda p, a: p.emit_tests(a.performance, a.fault)))

    refund_tests = commands.add_parser("refund-tests", help="refund every test ticket (TEST)")
    add_partner_arguments(refund_tests)
    refund_tests.add_argument("--fault", choices=batch_faults, help="what Ticketnet gets wrong")
    refund_tests.set_defaults(handler=_emitting(lambda p, a: p.emit_test_refunds(a.fault)))

    pricetypes = commands.add_parser("pricetypes", help="a PRICETYPES batch: the whole list")
    add_partner_arguments(pricetypes)
    pricetypes.add_argument(
        "--add", action="append", metavar="CODE:LABEL", help="create a price type first"
    )
    pricetypes.add_argument("--deactivate", action="append", metavar="CODE", help="deactivate one")
    pricetypes.add_argument("--fault", choices=batch_faults, help="what Ticketnet gets wrong")
    pricetypes.set_defaults(
        handler=_emitting(
            lambda p, a: p.emit_pricetypes(
                dict(_price_type(text) for text in a.add or ()), a.deactivate or (), a.fault
            )
        )
    )

    inventory = commands.add_parser("inventory", help="an INVENTORY batch (with SEATS)")
    add_partner_arguments(inventory)
    inventory.add_argument(
        "--fault",
        choices=_names(BATCH_FAULTS | INVENTORY_FAULTS),
        help="what Ticketnet gets wrong",
    )
    inventory.set_defaults(handler=_emitting(lambda p, a: p.emit_inventory(a.fault)))

    fault = commands.add_parser(
        "fault",
        help="inject a fault by name in the batch or ACK it concerns",
        description="Faults and the code each gives: "
        + ", ".join(f"{f.value} ({code})" for f, code in FAULT_CODES.items()),
    )
    add_partner_arguments(fault)
    fault.add_argument("name", choices=[f.value for f in Fault], help="the fault")
    fault.add_argument(
        "--stream",
        choices=["SALES", "PRICETYPES", "INVENTORY"],
        default="SALES",
        help="the stream of a batch-level fault (default SALES)",
    )
    fault.add_argument("--tickets", type=int, help="tickets sold in a SALES batch")
    fault.add_argument("--refunds", type=int, default=0, help="tickets refunded in it")
    fault.set_defaults(handler=_emitting(_fault_batch))

    release = commands.add_parser("release", help="upload the files a fault held back")
    add_partner_arguments(release)
    release.add_argument("--batch", help="only those of this batch id")
    release.set_defaults(
        handler=_emitting(lambda p, a: "\n".join(p.release_withheld(a.batch)) or "Nothing held")
    )

    replace = commands.add_parser(
        "replace", help="replace a batch the organiser has not applied (section 3 point 8)"
    )
    add_partner_arguments(replace)
    replace.add_argument("batch", help="the batch id, e.g. SALES_PR04127_00000042")
    replace.set_defaults(handler=_emitting(lambda p, a: p.replace_batch(a.batch)))

    status = commands.add_parser("status", help="what Ticketnet holds, has sold and has sent")
    add_partner_arguments(status)
    status.set_defaults(handler=_emitting(_status))


def _price_type(text: str) -> tuple[str, str]:
    code, _, label = text.partition(":")
    if not code or not label.strip():
        raise SandboxError(f"{text!r} is not CODE:LABEL")
    return code, label.strip()
