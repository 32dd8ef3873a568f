"""``python -m devtools realtime-sandbox ...``: a synchronous reseller played against the box
office's real-time service (``realtime-api-v1``).

- ``serve``: the reseller's sales-report endpoint in the foreground (section 13), the
  Airflow connection that reaches it printed first; its customers buy and cancel through
  the service every ``--interval`` seconds in the background, each round starting with a
  poll of the orders changed since the last one (section 7.6), so that the books learn the
  organiser's cancellations (the onboarding's test order among them);
- ``play``: ``--customers`` customers once, then what they did;
- ``report``: the sales report of a day from the books, as the endpoint would serve it
  without faults.

The reseller's books are kept in ``--state`` (``state.json``, under a file lock), so that
``play`` and ``serve`` share them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devtools.sandboxes.commands import add_clock_arguments, fault_names
from devtools.sandboxes.connection import connection_env_var
from devtools.sandboxes.loop import BackgroundPartner
from devtools.sandboxes.realtime import DEFAULT_CONN_ID
from devtools.sandboxes.realtime.client import LossyTransport, RealtimeClient
from devtools.sandboxes.realtime.customers import CustomerFault, Customers, RealClock
from devtools.sandboxes.realtime.ledger import Ledger
from devtools.sandboxes.realtime.report_server import (
    ReportDesk,
    ReportFault,
    ReportServer,
    connection,
)
from devtools.sandboxes.statefile import JsonStateFile

DEMO_REPORT_KEY = "sandbox-sales-report-key-not-secret"
"""The key the sandbox asks of the organiser on its report endpoint (a demo value)."""
log = logging.getLogger(__name__)


class Books:
    """The reseller's ledger in its state folder, loaded and saved under the file lock."""

    def __init__(self, folder: Path, reseller_id: str) -> None:
        self.file = JsonStateFile(folder, Ledger)
        self.reseller_id = reseller_id

    @contextmanager
    def open(self) -> Iterator[Ledger]:
        with self.file.locked():
            ledger = self.file.load(lambda: Ledger(self.reseller_id))
            yield ledger
            self.file.save(ledger)


def _add_service_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url", required=True, help="the service, e.g. http://127.0.0.1:8460/realtime/v1"
    )
    key = parser.add_mutually_exclusive_group(required=True)
    key.add_argument("--key", help="the reseller's API key on the service")
    key.add_argument(
        "--key-file",
        type=Path,
        help="a file holding that key (kept out of the command line and the logs)",
    )
    parser.add_argument("--reseller", required=True, help="its reseller id, as the catalogue says")
    parser.add_argument("--state", type=Path, required=True, help="folder of the reseller's books")
    parser.add_argument("--prefix", default="SBX-", help="how its order references start")
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="share of customers with a fault (0 to 1)"
    )
    add_clock_arguments(parser, now_help="unused: the reseller plays on the real clock")


def api_key(args: argparse.Namespace) -> str:
    """The key given, or the one ``--key-file`` holds."""
    if args.key_file is not None:
        return str(args.key_file.read_text().strip())
    return str(args.key)


def _customers(args: argparse.Namespace, ledger: Ledger) -> tuple[Customers, RealtimeClient]:
    transport = LossyTransport()
    client = RealtimeClient(args.base_url, api_key(args), transport=transport)
    customers = Customers(
        client,
        transport,
        ledger,
        clock=RealClock(),
        seed=args.seed,
        reference_prefix=args.prefix,
        fault_rate=args.fault_rate,
    )
    return customers, client


def run_play(args: argparse.Namespace) -> int:
    books = Books(args.state, args.reseller)
    with books.open() as ledger:
        customers, client = _customers(args, ledger)
        try:
            faults = {0: CustomerFault(args.fault)} if args.fault else None
            visits = customers.play(args.customers, faults=faults, gap=lambda rng: 0.0)
        finally:
            client.close()
    for visit in visits:
        print(
            f"{visit.reference or '-'}: {visit.outcome}"
            + (f" ({visit.fault})" if visit.fault else "")
        )
    return 0


def run_report(args: argparse.Namespace) -> int:
    books = Books(args.state, args.reseller)
    with books.open() as ledger:
        report = ledger.report(args.date, dt.datetime.now(dt.UTC))
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


class PlayingReseller(BackgroundPartner):
    """One customer a round, on the books in the state folder (read and saved each round;
    one client and one random sequence for the whole run)."""

    name = "realtime-sandbox-customers"

    def __init__(self, args: argparse.Namespace, books: Books) -> None:
        super().__init__(args.interval, None)
        self.books = books
        self.customers, self.client = _customers(args, Ledger(books.reseller_id))

    def run_once(self, *, emission_due: bool = False) -> None:
        with self.books.open() as ledger:
            self.customers.ledger = ledger
            self.customers.forget_catalogue()  # each customer browses it afresh
            for visit in self.customers.play(1, gap=lambda rng: 0.0):
                log.info("%s: %s", visit.reference or "-", visit.outcome)

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self.client.close()


def run_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    books = Books(args.state, args.reseller)

    def clock() -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    with books.open() as ledger:
        desk = ReportDesk(ledger, args.report_key, go_live=args.go_live, clock=clock)
    desk.books = books.open  # the books as saved, read again (and saved) for each request
    for day, fault in args.report_fault or []:
        desk.set_fault(day, fault)
    server = ReportServer(desk, args.host, args.port).start()
    print(f"Sandbox sales report on {server.base_url}/partner/v1/sales-report")
    print("Airflow connection for it:")
    setting = json.dumps(connection(server, args.report_key))
    print(
        f"export {connection_env_var(args.conn_id)}='{setting}'",
        flush=True,
    )
    partner = PlayingReseller(args, books) if args.interval > 0 else None
    if partner is not None:
        partner.start()
        print(f"Its customers buy and cancel every {args.interval:g} s", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if partner is not None:
            partner.stop()
        server.stop()
    return 0


def _day_fault(text: str) -> tuple[dt.date, ReportFault]:
    day, _, fault = text.partition(":")
    try:
        return dt.date.fromisoformat(day), ReportFault(fault)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            "expected DAY:FAULT, e.g. 2026-12-02:late; faults: "
            + ", ".join(fault_names(ReportFault))
        ) from error


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``realtime-sandbox`` group and its commands (see :mod:`devtools.cli`)."""
    group = subparsers.add_parser(
        "realtime-sandbox", help="a synchronous reseller: customers and its sales report"
    )
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="serve the sales report, customers playing, until Ctrl-C"
    )
    _add_service_arguments(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address of the report endpoint")
    serve.add_argument("--port", type=int, default=8471, help="its port (0: any free)")
    serve.add_argument("--report-key", default=DEMO_REPORT_KEY, help="the key the organiser sends")
    serve.add_argument(
        "--go-live",
        type=dt.date.fromisoformat,
        default=dt.date.today(),
        help="the first day with a report (default today)",
    )
    serve.add_argument(
        "--interval", type=float, default=5.0, help="seconds between customers (0: none)"
    )
    serve.add_argument(
        "--report-fault",
        type=_day_fault,
        action="append",
        help="DAY:FAULT, a fault of that day's report (repeatable): "
        + ", ".join(fault_names(ReportFault)),
    )
    serve.add_argument("--conn-id", default=DEFAULT_CONN_ID, help="Airflow connection id to print")
    serve.set_defaults(handler=run_serve)

    play = commands.add_parser("play", help="some customers buy and cancel, once")
    _add_service_arguments(play)
    play.add_argument("--customers", type=int, default=10, help="how many customers")
    play.add_argument("--fault", choices=fault_names(CustomerFault), help="the first one's fault")
    play.set_defaults(handler=run_play)

    report = commands.add_parser("report", help="print a day's sales report from the books")
    report.add_argument("--state", type=Path, required=True, help="folder of the reseller's books")
    report.add_argument("--reseller", required=True, help="its reseller id")
    report.add_argument("--date", type=dt.date.fromisoformat, required=True, help="YYYY-MM-DD")
    report.set_defaults(handler=run_report)
