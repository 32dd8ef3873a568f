"""The sandbox reseller's sales-report endpoint (realtime-api-v1, section 13), over real HTTP.

``GET /partner/v1/sales-report?date=YYYY-MM-DD`` with ``Authorization: Bearer <key>``
answers the report of that day from the reseller's ledger, or a problem (section 11's
members): ``401`` without the key, ``400 malformed-request`` without a date, ``404
not-found`` before go-live or older than 90 days, ``409 report-not-ready`` with
``Retry-After`` while the day is not closed (the reseller closes a day at 01:00 organiser
time the next day, by its clock).

Faults, set per day (:class:`ReportFault`): a late report (``report-not-ready`` N more
times), a missing one (never ready), corrupt totals, personal data, a member the contract
lacks, and content faults that the nightly reconciliation must find (an order omitted, an
amount off, a ticket dropped, a refund off). Content faults are recorded in the ledger as
the differences they cause.
"""

from __future__ import annotations

import copy
import datetime as dt
import hmac
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from devtools.sandboxes.realtime.ledger import Ledger, totals

REPORT_PATH = "/partner/v1/sales-report"
PROBLEM_PREFIX = "urn:problem-type:reseller-sync:"
RETENTION_DAYS = 90
CLOSES_AFTER = dt.timedelta(hours=1)
"""The reseller closes day D at 01:00 organiser time on D+1."""

TITLES = {
    "malformed-request": ("Malformed request", "external"),
    "unauthenticated": ("Unauthenticated", "external"),
    "not-found": ("Not found", "external"),
    "report-not-ready": ("Report not ready", "external"),
}


class ReportFault(StrEnum):
    LATE = "late"
    """``409 report-not-ready`` the first :attr:`ReportDesk.late_times` times the day is
    asked after it closed."""
    MISSING = "missing"
    """Never ready: ``409 report-not-ready`` whenever the day is asked."""
    TOTALS_OFF = "totals-off"
    """The first currency's ``totals.price`` 100 above its lines' sum (a corrupt report)."""
    PERSONAL_DATA = "personal-data"
    """A ``buyer_email`` member on the first order."""
    UNKNOWN_MEMBER = "unknown-member"
    """A ``loyalty_points`` member on the first order."""
    ORDER_OMITTED = "order-omitted"
    """An order the box office confirmed left out (totals recomputed): missing_at_reseller."""
    AMOUNT_OFF = "amount-off"
    """A ticket's price 100 higher than sent (totals recomputed): amount_mismatch."""
    TICKET_DROPPED = "ticket-dropped"
    """An order of several tickets reported without its last (totals recomputed):
    ticket_mismatch."""
    REFUND_OFF = "refund-off"
    """A cancellation's refund 100 higher than sent (totals recomputed): refund_mismatch."""


REFUSED_WHOLE = frozenset(
    {ReportFault.TOTALS_OFF, ReportFault.PERSONAL_DATA, ReportFault.UNKNOWN_MEMBER}
)
"""Faults for which the box office refuses the whole report."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ReportDesk:
    """What the endpoint answers, apart from HTTP: the ledger's report of a day, its faults."""

    ledger: Ledger
    key: str
    go_live: dt.date
    clock: Callable[[], dt.datetime]
    lock: threading.Lock = field(default_factory=threading.Lock)
    faults: dict[dt.date, set[ReportFault]] = field(default_factory=dict)
    late_times: int = 2
    retry_after: int = 60
    """``Retry-After`` of a late or missing report, in seconds."""
    asked: dict[dt.date, int] = field(default_factory=dict)
    """How many times each closed day was asked (for the late fault)."""
    books: Callable[[], AbstractContextManager[Ledger]] | None = None
    """Where to read the ledger afresh for each request (books kept in a file); None: the
    ledger given."""

    @contextmanager
    def _ledger(self) -> Iterator[Ledger]:
        if self.books is None:
            yield self.ledger
        else:
            with self.books() as ledger:
                self.ledger = ledger
                yield ledger

    def set_fault(self, day: dt.date, fault: ReportFault | str) -> None:
        with self.lock:
            self.faults.setdefault(day, set()).add(ReportFault(fault))

    def answer(
        self, path: str, query: str, authorization: str | None, correlation_id: str
    ) -> Answer:
        def problem(name: str, status: int, detail: str, **headers: str) -> Answer:
            title, category = TITLES[name]
            return Answer(
                status,
                {
                    "type": PROBLEM_PREFIX + name,
                    "title": title,
                    "status": status,
                    "detail": detail,
                    "instance": path,
                    "category": category,
                    "correlation_id": correlation_id,
                    "errors": [],
                },
                headers,
            )

        if not _bearer_matches(authorization, self.key):
            challenge = 'Bearer realm="partner/v1"' + (
                ', error="invalid_token"' if authorization else ""
            )
            return problem(
                "unauthenticated", 401, "a valid key is required", **{"WWW-Authenticate": challenge}
            )
        if path != REPORT_PATH:
            return problem("not-found", 404, f"no resource at {path}")
        dates = parse_qs(query).get("date", [])
        try:
            day = dt.date.fromisoformat(dates[0]) if len(dates) == 1 else None
        except ValueError:
            day = None
        if day is None or len(dates[0]) != 10:
            answer = problem("malformed-request", 400, "date must be one YYYY-MM-DD")
            answer.body["errors"] = [{"parameter": "date", "detail": "one YYYY-MM-DD"}]
            return answer
        now = self.clock()
        zone = ZoneInfo(self.ledger.timezone)
        today = now.astimezone(zone).date()
        if day < self.go_live or day < today - dt.timedelta(days=RETENTION_DAYS):
            return problem("not-found", 404, f"no report of {day}: before go-live or too old")
        closes_at = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone) + CLOSES_AFTER
        with self.lock, self._ledger():
            faults = set(self.faults.get(day, ()))
            if now < closes_at:
                wait = int((closes_at - now).total_seconds()) + 1
                return problem(
                    "report-not-ready",
                    409,
                    f"the day {day} is not closed yet",
                    **{"Retry-After": str(min(max(wait, 1), 3600))},
                )
            self.asked[day] = self.asked.get(day, 0) + 1
            late = ReportFault.LATE in faults and self.asked[day] <= self.late_times
            if ReportFault.MISSING in faults or late:
                return problem(
                    "report-not-ready",
                    409,
                    f"the report of {day} is not ready",
                    **{"Retry-After": str(self.retry_after)},
                )
            report = self.ledger.report(day, now)
            report = self._with_faults(report, faults, day)
        return Answer(200, report)

    def _with_faults(
        self, report: dict[str, Any], faults: set[ReportFault], day: dt.date
    ) -> dict[str, Any]:
        """The report with the day's faults; content faults recorded in the ledger once."""
        report = copy.deepcopy(report)
        touched: set[str] = set()
        cancelled_orders = {c["reseller_order_ref"] for c in report["cancellations"]}
        report_faults = {fault.value for fault in ReportFault}
        warned = {
            i.reseller_order_ref
            for i in self.ledger.injected
            if i.day == day.isoformat() and i.fault not in report_faults
        }

        def confirmed(order: dict[str, Any], lines: int = 1) -> bool:
            return (
                order["order_id"] is not None
                and order["reseller_order_ref"] not in touched | cancelled_orders | warned
                and len(order["lines"]) >= lines
            )

        def record(kind: str, reference: str, fault: ReportFault) -> None:
            touched.add(reference)
            already = any(
                i.fault == fault.value and i.day == day.isoformat() for i in self.ledger.injected
            )
            if not already:
                self.ledger.inject(kind, reference, f"{day.isoformat()}T12:00:00+00:00", fault)

        for fault in sorted(faults - REFUSED_WHOLE):
            if fault is ReportFault.ORDER_OMITTED:
                order = _first(report["orders"], confirmed)
                report["orders"].remove(order)
                record("missing_at_reseller", order["reseller_order_ref"], fault)
            elif fault is ReportFault.AMOUNT_OFF:
                order = _first(report["orders"], confirmed)
                order["lines"][0]["price"] += 100
                record("amount_mismatch", order["reseller_order_ref"], fault)
            elif fault is ReportFault.TICKET_DROPPED:
                order = _first(report["orders"], lambda o: confirmed(o, lines=2))
                order["lines"].pop()
                record("ticket_mismatch", order["reseller_order_ref"], fault)
            elif fault is ReportFault.REFUND_OFF:
                cancellation = _first(
                    report["cancellations"], lambda c: c["cancellation_id"] is not None
                )
                cancellation["refund_amount"] += 100
                record("refund_mismatch", cancellation["reseller_order_ref"], fault)
        report["totals"] = totals(report["orders"], report["cancellations"])
        if ReportFault.TOTALS_OFF in faults and report["totals"]:
            report["totals"][0]["price"] += 100
        if ReportFault.PERSONAL_DATA in faults and report["orders"]:
            report["orders"][0]["buyer_email"] = "jeanne.dupre42@client-revendeur.example"
        if ReportFault.UNKNOWN_MEMBER in faults and report["orders"]:
            report["orders"][0]["loyalty_points"] = 12
        return report


def _first(items: list[dict[str, Any]], fits: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    for item in items:
        if fits(item):
            return item
    raise LookupError("cannot inject the fault: no suitable order or cancellation that day")


def _bearer_matches(authorization: str | None, key: str) -> bool:
    if not authorization or not authorization.startswith("Bearer "):
        return False
    return hmac.compare_digest(authorization.removeprefix("Bearer ").strip().encode(), key.encode())


class ReportServer:
    """The endpoint served over HTTP on ``host:port`` (0: any free port) in a thread."""

    def __init__(self, desk: ReportDesk, host: str = "127.0.0.1", port: int = 0) -> None:
        self.desk = desk

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                correlation = self.headers.get("X-Correlation-Id") or str(uuid.uuid4())
                answer = desk.answer(
                    parts.path, parts.query, self.headers.get("Authorization"), correlation
                )
                body = json.dumps(answer.body, ensure_ascii=False).encode("utf-8")
                self.send_response(answer.status)
                kind = "application/json" if answer.status == 200 else "application/problem+json"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("X-Correlation-Id", correlation)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # the query holds only a date; nothing to log

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        host_bound, self.port = self.httpd.server_address[:2]
        self.host = host_bound.decode() if isinstance(host_bound, bytes) else str(host_bound)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ReportServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="realtime-sandbox-report", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> ReportServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def connection(server: ReportServer, key: str) -> dict[str, Any]:
    """The Airflow HTTP connection reaching the endpoint (the key as its password)."""
    return {
        "conn_type": "http",
        "host": str(server.host),
        "port": server.port,
        "schema": "http",
        "password": key,
    }
