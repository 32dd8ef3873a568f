"""``python -m devtools fnac-sandbox ...``: the sandbox SFTP server, and FNAC played on it.

- ``serve``: the SFTP server in the foreground; FNAC picks up ``/depot/``
  every few seconds and answers (and, on request, sends VENTES and TEST);
- ``process``: FNAC picks up ``/depot/`` once and answers;
- ``emit ventes|test|annul|catcli|etatpl``: FNAC writes one of its files in
  ``/retour/``, with a fault when asked;
- ``withdraw``: FNAC withdraws a manifestation from sale;
- ``status``: what FNAC holds, has sold and has sent.

Every command but ``serve`` works on the root folder directly, under the
same file lock as the server's loop.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from devtools.sandboxes.commands import add_clock_arguments, fixed_clock
from devtools.sandboxes.fnac.codebook import DEFAULT_QUOTA, CodeBook
from devtools.sandboxes.fnac.connection import (
    DEFAULT_CONN_ID,
)
from devtools.sandboxes.fnac.emit import MOTIFS, SandboxError
from devtools.sandboxes.fnac.partner import (
    CONTENT_FAULTS,
    DEFAULT_MANAGER,
    TEST_FAULTS,
    VENTES_FAULTS,
    Answered,
    Fault,
    FnacPartner,
    PartnerLoop,
)
from devtools.sandboxes.fnac.server import (
    DEMO_USERNAME,
    SandboxServer,
)
from devtools.sandboxes.serving import add_server_arguments, serve


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``sandbox serve`` on ``parser``."""
    add_server_arguments(parser, port=2222, conn_id=DEFAULT_CONN_ID)
    add_partner_arguments(parser, root=False)
    parser.add_argument(
        "--interval",
        type=float,
        default=5.0,
        help="seconds between two pickups of /depot/ by FNAC (0: FNAC does not play)",
    )
    parser.add_argument(
        "--ventes-every",
        type=float,
        metavar="SECONDS",
        help="also send a VENTES file that often (FNAC's hourly file, sped up)",
    )
    parser.add_argument(
        "--auto-test",
        action="store_true",
        help="send TEST tickets for each new manifestation once FNAC holds places for it",
    )
    parser.add_argument(
        "--test-fault",
        choices=faults_of(TEST_FAULTS),
        help="what FNAC gets wrong in the TEST files --auto-test sends",
    )


def faults_of(content_faults: frozenset[Fault]) -> list[str]:
    """The faults a type of file may have: the file-level ones and its content faults."""
    return [fault.value for fault in Fault if fault not in CONTENT_FAULTS - content_faults]


def add_partner_arguments(parser: argparse.ArgumentParser, *, root: bool = True) -> None:
    """Options saying which FNAC plays: the root folder, the organiser, codes, seed, clock."""
    if root:
        parser.add_argument("--root", type=Path, required=True, help="the sandbox root folder")
        parser.add_argument("--user", default=DEMO_USERNAME, help="the organiser's login")
    parser.add_argument(
        "--manager",
        default=DEFAULT_MANAGER,
        help=f"the organiser's code manager (default {DEFAULT_MANAGER})",
    )
    parser.add_argument(
        "--mappings",
        type=Path,
        help="folder of mapping files FNAC's codes are read from (default include/mappings)",
    )
    parser.add_argument(
        "--quota",
        default=DEFAULT_QUOTA,
        help=f"organiser quota whose allotement FNAC uses (default {DEFAULT_QUOTA})",
    )
    add_clock_arguments(
        parser,
        now_help="FNAC's clock, fixed (ISO 8601 with offset, e.g. 2026-11-28T14:05:00+01:00)",
    )


def make_partner(args: argparse.Namespace) -> FnacPartner:
    """The FnacPartner the parsed options describe."""
    codebook = (
        CodeBook.from_directory(args.mappings, quota=args.quota)
        if args.mappings is not None
        else CodeBook.from_mappings(quota=args.quota)
    )
    return FnacPartner(
        args.root,
        args.user,
        codebook,
        manager=args.manager,
        clock=fixed_clock(args),
        seed=args.seed,
    )


def run_serve(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C, after printing the Airflow connection that reaches the server."""
    loop = (
        PartnerLoop(
            make_partner(args),
            args.interval,
            ventes_every=args.ventes_every,
            auto_test=args.auto_test,
            test_fault=args.test_fault,
        )
        if args.interval > 0
        else None
    )
    return serve(
        args, SandboxServer, loop, playing=f"FNAC picks up /depot/ every {args.interval:g} s"
    )


def run_process(args: argparse.Namespace) -> int:
    """Pick up /depot/ once and answer; print each answer."""
    answers = make_partner(args).process_depot()
    for answer in answers:
        _print_answer(answer)
    if not answers:
        print("Nothing in /depot/")
    return 0


def _print_answer(answer: Answered) -> None:
    print(f"{answer.status} {answer.file} -> {answer.ack or '(first ACK stands)'}")
    for refusal in answer.refusals:
        print(f"  line {refusal.line}: {refusal.code} {refusal.message}")


def run_emit(args: argparse.Namespace) -> int:
    """Write one of FNAC's files; print its name."""
    partner = make_partner(args)
    try:
        name = _emit(partner, args)
    except SandboxError as error:
        print(f"Nothing written: {error}")
        return 1
    print(name if name is not None else "Nothing written (fault skip)")
    return 0


def _emit(partner: FnacPartner, args: argparse.Namespace) -> str | None:
    kind, fault = args.file_type, args.fault
    if kind == "ventes":
        return partner.emit_ventes(args.lines, fault)
    if kind == "test":
        return partner.emit_test(args.manifestation, fault)
    if kind == "annul":
        return partner.emit_annul(args.count, args.motif, fault)
    if kind == "catcli":
        added = dict(_category(text) for text in args.add or ())
        return partner.emit_catcli(added, tuple(args.deactivate or ()), fault)
    return partner.emit_etatpl(fault)


def _category(text: str) -> tuple[str, str]:
    code, _, label = text.partition(":")
    if not code.isdigit() or not 0 <= int(code) <= 99 or not label.strip():
        raise SandboxError(f"{text!r} is not CODE:LABEL with a code from 0 to 99")
    return str(int(code)), label.strip()


def run_withdraw(args: argparse.Namespace) -> int:
    try:
        make_partner(args).withdraw(args.manifestation)
    except SandboxError as error:
        print(error)
        return 1
    print(f"Manifestation {args.manifestation} withdrawn: FNAC refuses its FICHE (E09)")
    return 0


def run_status(args: argparse.Namespace) -> int:
    """What FNAC holds, has sold and has sent."""
    state = make_partner(args).snapshot()
    for code, manifestation in sorted(state.manifestations.items()):
        holdings = [h for h in state.holdings.values() if h.manifestation == code]
        flags = " (withdrawn)" if manifestation.withdrawn else ""
        print(
            f"{code} {manifestation.product} {manifestation.label}{flags}: "
            f"{len(manifestation.seances)} séance(s), held {sum(h.held for h in holdings)}, "
            f"sold {sum(h.sold for h in holdings)}, blocked {sum(h.blocked for h in holdings)}"
        )
    tickets = Counter(
        "test" if t.test else "cancelled" if t.cancelled_by else "sold"
        for t in state.tickets.values()
    )
    print("Tickets: " + ", ".join(f"{n} {kind}" for kind, n in sorted(tickets.items())))
    print(
        "Last SEQ sent: "
        + ", ".join(f"{t} {s:06d}" for t, s in sorted(state.last_seq_sent.items()))
    )
    print(
        "SEQs received: "
        + ", ".join(f"{t} {max(s):06d}" for t, s in sorted(state.received_seqs.items()) if s)
    )
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``fnac-sandbox`` group and its commands (see :mod:`devtools.cli`)."""
    group = subparsers.add_parser(
        "fnac-sandbox", help="the FNAC sandbox: SFTP server and FNAC's side"
    )
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve", help="run the sandbox SFTP server, with FNAC answering, until Ctrl-C"
    )
    add_serve_arguments(serve)
    serve.set_defaults(handler=run_serve)

    process = commands.add_parser("process", help="FNAC picks up /depot/ once and answers")
    add_partner_arguments(process)
    process.set_defaults(handler=run_process)

    emit = commands.add_parser("emit", help="FNAC writes one of its files in /retour/")
    kinds = emit.add_subparsers(dest="file_type", required=True, metavar="TYPE")
    file_faults = faults_of(frozenset())
    for kind, help_text, faults in (
        ("ventes", "the hourly sales file", faults_of(VENTES_FAULTS)),
        ("test", "test tickets for a manifestation", faults_of(TEST_FAULTS)),
        ("annul", "cancellations of sold tickets", file_faults),
        ("catcli", "the whole list of customer categories", file_faults),
        ("etatpl", "the nightly state of FNAC's allotment", file_faults),
    ):
        command = kinds.add_parser(kind, help=help_text)
        add_partner_arguments(command)
        command.add_argument("--fault", choices=faults, help="what FNAC gets wrong this time")
        command.set_defaults(handler=run_emit)
        if kind == "ventes":
            command.add_argument(
                "--lines", type=int, help="tickets to sell (default: 0 to 8, drawn)"
            )
        elif kind == "test":
            command.add_argument("--manifestation", required=True, help="FNAC code, e.g. 004512")
        elif kind == "annul":
            command.add_argument(
                "--count", type=int, help="tickets to cancel (default: 1 to 3, drawn)"
            )
            command.add_argument("--motif", choices=list(MOTIFS), help="the same for every line")
        elif kind == "catcli":
            command.add_argument(
                "--add",
                action="append",
                metavar="CODE:LABEL",
                help='create a category first, e.g. 31:"Carte Fnac+ Jeunes" (repeatable)',
            )
            command.add_argument(
                "--deactivate", action="append", metavar="CODE", help="deactivate a category"
            )

    withdraw = commands.add_parser("withdraw", help="FNAC withdraws a manifestation from sale")
    add_partner_arguments(withdraw)
    withdraw.add_argument("--manifestation", required=True, help="FNAC code, e.g. 004512")
    withdraw.set_defaults(handler=run_withdraw)

    status = commands.add_parser("status", help="what FNAC holds, has sold and has sent")
    add_partner_arguments(status)
    status.set_defaults(handler=run_status)
