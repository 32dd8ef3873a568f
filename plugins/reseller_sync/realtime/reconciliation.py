"""The nightly reconciliation of a synchronous reseller (realtime-api-v1, sections 13 and 14).

For day D (a calendar day in the organiser's time zone) the job pulls the reseller's sales
report of D over HTTP (:func:`ask_for_sales_report`: the HTTP provider's hook, asked again
while the reseller answers ``409 report-not-ready`` or fails, each wait honouring
``Retry-After``, given up as an external error at a deadline), checks it whole
(:func:`check_sales_report`: personal data per section 10, members the contract lacks,
types, totals; a report that fails is refused whole and nothing of it is kept), then
compares it with the box office's orders and cancellations of that reseller whose
``sold_at`` or ``cancelled_at`` fall in D (:func:`compare_day`). Orders match by
``reseller_order_ref``, tickets by ``ticket_id`` (else ``barcode``), the reseller's
cancellations by ``reseller_cancellation_ref``, the organiser's (which have none; the
reseller learns them from ``GET /orders``, section 7.6) by ``cancellation_id``. Each
difference carries the action of section 14's table; they are kept as an HTML report
(:mod:`reseller_sync.pipelines.reconciliation_report`) that the alert links to.

An onboarding's test order (``is_test``, cancelled by the organiser) is compared like any
order when the reseller reports it, as section 13 asks; a reseller that keeps its test
orders out of its report, as it keeps them out of its sales, causes no difference for it
nor for its cancellation.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from reseller_sync.alerts.compose import Notice
from reseller_sync.boxoffice.models import (
    Currency,
    Order,
    RealtimeCancellation,
    RealtimeCancellationTicket,
    RealtimeOrder,
    Ticket,
)
from reseller_sync.domain.errors import ErrorCategory, ExternalError, Problem
from reseller_sync.domain.texts import Localized
from reseller_sync.pipelines.reconciliation_report import (
    ReconciliationReport,
    count_kinds,
    report_groups,
    write_report,
)
from reseller_sync.realtime import problems as api_problems
from reseller_sync.realtime.http_validation import Array, Shape, check_members
from reseller_sync.realtime.organiser_cancellation import ORGANISER
from reseller_sync.realtime.places import utc

log = logging.getLogger(__name__)

SALES_REPORT_PATH = "/partner/v1/sales-report"
"""The reseller's endpoint, relative to its connection's host (section 13)."""
REPORT_NOT_READY = "urn:problem-type:reseller-sync:report-not-ready"
DEFAULT_WAIT = 60.0
"""Seconds to wait before asking again when the reseller gives no ``Retry-After``."""
MAX_WAIT = 900.0
"""The longest wait between two requests, whatever ``Retry-After`` says."""
REPORT_DEADLINE = dt.time(6, 0)
"""A report that has not arrived by 06:00 organiser time on D+1 is an external error (14)."""

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------- the pull


@dataclass(frozen=True)
class ReportAnswer:
    """One answer of the reseller's endpoint, as the puller needs it."""

    status: int
    body: bytes
    retry_after: str | None


def http_hook_getter(conn_id: str, timeout: float = 30.0) -> Callable[[dt.date], ReportAnswer]:
    """A function asking the reseller for a day's report through the HTTP provider's hook on
    Airflow connection ``conn_id`` (its host, port and schema say where; its password is the
    key the reseller gave at onboarding, sent as ``Authorization: Bearer``)."""
    from airflow.providers.http.hooks.http import HttpHook

    def get(day: dt.date) -> ReportAnswer:
        hook = HttpHook(method="GET", http_conn_id=conn_id)
        key = hook.get_connection(conn_id).password or ""
        response = hook.run(
            SALES_REPORT_PATH,
            data={"date": day.isoformat()},
            headers={"Authorization": f"Bearer {key}", "Accept": "application/json"},
            extra_options={"check_response": False, "timeout": timeout},
        )
        return ReportAnswer(
            response.status_code, response.content, response.headers.get("Retry-After")
        )

    return get


def ask_for_sales_report(
    get: Callable[[dt.date], ReportAnswer],
    day: dt.date,
    *,
    deadline: dt.datetime,
    attempt: int = 1,
    clock: Clock = utc_now,
) -> bytes | dt.datetime:
    """Ask once for the report of ``day``: the report as the reseller sent it (bytes), or,
    while it answers ``409 report-not-ready``, ``429``, a ``5xx`` or nothing, when to ask
    again (its ``Retry-After``, else :data:`DEFAULT_WAIT`). An external error once asking
    again would pass ``deadline``, and at once for ``401``, ``403`` and ``404`` (a day
    before go-live or older than 90 days)."""
    try:
        answer = get(day)
    except Exception as error:  # connection refused, timeout: the network or the partner
        log.warning("Sales report of %s: no answer (%s)", day, type(error).__name__)
        answer = ReportAnswer(0, b"", None)
        why = f"no answer ({type(error).__name__})"
    else:
        if answer.status == 200:
            return answer.body
        why = _why(answer)
        if answer.status in (400, 401, 403, 404):
            raise ExternalError(
                f"The reseller refused the sales report of {day}: {why}",
                problems=[Problem(why, value=day.isoformat())],
            )
    again = utc(clock()) + dt.timedelta(seconds=_wait(answer.retry_after))
    if again > utc(deadline):
        raise ExternalError(
            f"No sales report of {day} by {utc(deadline):%Y-%m-%d %H:%M} UTC after "
            f"{attempt} request(s); the last answer: {why}",
            problems=[Problem(why, value=day.isoformat())],
        )
    log.info("Sales report of %s: %s; asking again at %s", day, why, again.isoformat())
    return again


def fetch_sales_report(
    get: Callable[[dt.date], ReportAnswer],
    day: dt.date,
    *,
    deadline: dt.datetime,
    clock: Clock = utc_now,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """The report of ``day``, asked again (:func:`ask_for_sales_report`) after each wait,
    sleeping in between; the nightly DAG waits in the triggerer instead."""
    attempt = 1
    while isinstance(
        answer := ask_for_sales_report(get, day, deadline=deadline, attempt=attempt, clock=clock),
        dt.datetime,
    ):
        sleep(max((answer - utc(clock())).total_seconds(), 0.0))
        attempt += 1
    return answer


def _why(answer: ReportAnswer) -> str:
    try:
        problem = json.loads(answer.body)
        name = str(problem.get("type", "")).rsplit(":", 1)[-1]
    except (ValueError, AttributeError):
        name = ""
    return f"HTTP {answer.status}" + (f" {name}" if name else "")


def _wait(retry_after: str | None) -> float:
    """Seconds to wait: ``Retry-After`` as seconds (an HTTP date counts as the default)."""
    if retry_after is not None and retry_after.strip().isdigit():
        return min(max(float(retry_after.strip()), 1.0), MAX_WAIT)
    return DEFAULT_WAIT


def report_deadline(day: dt.date, timezone: str) -> dt.datetime:
    """06:00 organiser time on the day after ``day``, in UTC."""
    local = dt.datetime.combine(day + dt.timedelta(days=1), REPORT_DEADLINE, ZoneInfo(timezone))
    return local.astimezone(dt.UTC)


# --------------------------------------------------------------------------- the checks

_ORDER_LINE: Shape = {
    name: None
    for name in (
        "ticket_id",
        "barcode",
        "performance_id",
        "category_id",
        "seat_id",
        "tariff_id",
        "price",
        "commission",
    )
}
REPORT_SHAPE: Shape = {
    "reseller_id": None,
    "date": None,
    "timezone": None,
    "generated_at": None,
    "revision": None,
    "orders": Array(
        {
            "reseller_order_ref": None,
            "order_id": None,
            "sold_at": None,
            "point_of_sale": None,
            "currency": None,
            "lines": Array(_ORDER_LINE),
        }
    ),
    "cancellations": Array(
        {
            name: None
            for name in (
                "reseller_cancellation_ref",
                "cancellation_id",
                "reseller_order_ref",
                "order_id",
                "cancelled_at",
                "reason",
                "ticket_ids",
                "barcodes",
                "refund_amount",
                "currency",
            )
        }
    ),
    "totals": Array(
        {
            name: None
            for name in (
                "currency",
                "orders",
                "tickets",
                "price",
                "commission",
                "cancelled_tickets",
                "refund_amount",
            )
        }
    ),
}
"""Every member of section 13's Report table, and nothing else."""

_S, _SN, _I, _SL = "string", "string or null", "integer", "array of strings"
_TYPES: dict[str, dict[str, str]] = {
    "report": {
        "reseller_id": _S,
        "date": _S,
        "timezone": _S,
        "generated_at": _S,
        "revision": _I,
    },
    "orders": {
        "reseller_order_ref": _S,
        "order_id": _SN,
        "sold_at": _S,
        "point_of_sale": _SN,
        "currency": _S,
    },
    "lines": {
        "ticket_id": _SN,
        "barcode": _SN,
        "performance_id": _S,
        "category_id": _S,
        "seat_id": _SN,
        "tariff_id": _S,
        "price": _I,
        "commission": _I,
    },
    "cancellations": {
        "reseller_cancellation_ref": _S,
        "cancellation_id": _SN,
        "reseller_order_ref": _S,
        "order_id": _SN,
        "cancelled_at": _S,
        "reason": _S,
        "ticket_ids": _SL,
        "barcodes": _SL,
        "refund_amount": _I,
        "currency": _S,
    },
    "totals": {
        "currency": _S,
        "orders": _I,
        "tickets": _I,
        "price": _I,
        "commission": _I,
        "cancelled_tickets": _I,
        "refund_amount": _I,
    },
}


def _fits(value: Any, kind: str) -> bool:
    if kind == _S:
        return isinstance(value, str)
    if kind == _SN:
        return value is None or isinstance(value, str)
    if kind == _I:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _refused(day: dt.date, why: str, problems: Iterable[Problem]) -> ExternalError:
    return ExternalError(
        f"The sales report of {day} is refused whole, nothing of it kept: {why}",
        problems=list(problems),
    )


def check_sales_report(
    raw: bytes, *, reseller_code: str, day: dt.date, timezone: str
) -> dict[str, Any]:
    """The report, parsed and checked whole; an external error refusing it otherwise.

    In order: JSON; personal data (a member named like a contact, an e-mail address in any
    string: section 10) and members section 13 lacks; the type of each member; the
    reseller, day and time zone; the totals against the lines. The refusal names members by
    their JSON pointer, never their values.
    """
    try:
        report = json.loads(raw)
    except ValueError as error:  # not JSON, or not UTF-8
        problem = Problem(f"not JSON ({type(error).__name__})")
        raise _refused(day, "it is not JSON", [problem]) from None
    if not isinstance(report, dict):
        raise _refused(day, "it is not a JSON object", [Problem("not a JSON object")])
    try:
        check_members(report, REPORT_SHAPE)
    except api_problems.Problem as problem:
        personal = problem.type.name == "personal-data-refused"
        why = "it carries personal data" if personal else "it has members the contract lacks"
        raise _refused(
            day,
            why,
            [Problem(str(item["detail"]), column=str(item["pointer"])) for item in problem.errors],
        ) from None
    shape_problems = list(_shape_problems(report))
    if shape_problems:
        raise _refused(day, "members are missing or of the wrong type", shape_problems)
    identity = [
        Problem(f"{name} is {report[name]!r}, expected {expected!r}", column=f"#/{name}")
        for name, expected in (
            ("reseller_id", reseller_code),
            ("date", day.isoformat()),
            ("timezone", timezone),
        )
        if report[name] != expected
    ]
    if identity:
        raise _refused(day, "it is not this reseller's report of that day", identity)
    totals = list(_totals_problems(report))
    if totals:
        raise _refused(day, "its totals do not match its lines (truncated or corrupt)", totals)
    return dict(report)


def _shape_problems(report: dict[str, Any]) -> Iterable[Problem]:
    yield from _members(report, "report", "#")
    for name in ("orders", "cancellations", "totals"):
        if not isinstance(report.get(name), list):
            yield Problem(f"{name} must be an array", column=f"#/{name}")
            continue
        for i, item in enumerate(report[name]):
            where = f"#/{name}/{i}"
            if not isinstance(item, dict):
                yield Problem("must be an object", column=where)
                continue
            yield from _members(item, name, where)
            if name == "orders":
                lines = item.get("lines")
                if not isinstance(lines, list) or not lines:
                    yield Problem("lines must be a non-empty array", column=f"{where}/lines")
                    continue
                for j, line in enumerate(lines):
                    if not isinstance(line, dict):
                        yield Problem("must be an object", column=f"{where}/lines/{j}")
                    else:
                        yield from _members(line, "lines", f"{where}/lines/{j}")


def _members(item: dict[str, Any], table: str, where: str) -> Iterable[Problem]:
    for name, kind in _TYPES[table].items():
        if name not in item:
            yield Problem("required", column=f"{where}/{name}")
        elif not _fits(item[name], kind):
            yield Problem(f"must be {kind}", column=f"{where}/{name}")


def _totals_problems(report: dict[str, Any]) -> Iterable[Problem]:
    counted: dict[str, Counter[str]] = defaultdict(Counter)
    for order in report["orders"]:
        sums = counted[order["currency"]]
        sums["orders"] += 1
        for line in order["lines"]:
            sums["tickets"] += 1
            sums["price"] += line["price"]
            sums["commission"] += line["commission"]
    for cancellation in report["cancellations"]:
        sums = counted[cancellation["currency"]]
        sums["cancelled_tickets"] += len(cancellation["ticket_ids"])
        sums["refund_amount"] += cancellation["refund_amount"]
    given = {total["currency"]: total for total in report["totals"]}
    if len(given) != len(report["totals"]):
        yield Problem("a currency has two totals", column="#/totals")
    for currency in sorted(set(counted) | set(given)):
        total = given.get(currency)
        if total is None:
            yield Problem(f"no totals for {currency}, which the lines use", column="#/totals")
            continue
        if currency not in counted:
            yield Problem(f"totals for {currency}, which no line uses", column="#/totals")
            continue
        for name in _TYPES["totals"]:
            if name != "currency" and total[name] != counted[currency][name]:
                yield Problem(
                    f"{currency} {name} is {total[name]}, the lines add up to "
                    f"{counted[currency][name]}",
                    column=f"#/totals/{list(given).index(currency)}/{name}",
                )


# --------------------------------------------------------------------------- the comparison


class DifferenceKind(StrEnum):
    MISSING_AT_BOX_OFFICE = "missing_at_box_office"
    MISSING_AT_RESELLER = "missing_at_reseller"
    TICKET_MISMATCH = "ticket_mismatch"
    AMOUNT_MISMATCH = "amount_mismatch"
    STATUS_MISMATCH = "status_mismatch"
    REFUND_MISMATCH = "refund_mismatch"
    PRICE_WARNING = "price_warning"


ACTIONS: dict[DifferenceKind, str] = {
    DifferenceKind.MISSING_AT_BOX_OFFICE: "the reseller retries POST /orders (same key if "
    "within 24 h) or refunds its customer",
    DifferenceKind.MISSING_AT_RESELLER: "the reseller reads it (GET /orders?reseller_order_ref=)"
    " and delivers or cancels it",
    DifferenceKind.TICKET_MISMATCH: "investigate with both correlation ids",
    DifferenceKind.AMOUNT_MISMATCH: "fix the side that is wrong",
    DifferenceKind.STATUS_MISMATCH: "the reseller cancels, or the organiser reinstates",
    DifferenceKind.REFUND_MISMATCH: "fix the side that is wrong",
    DifferenceKind.PRICE_WARNING: "fix the mapping",
}
"""Section 14's action for each difference."""

LABELS: dict[DifferenceKind, str] = {
    DifferenceKind.MISSING_AT_BOX_OFFICE: "Sold by the reseller, missing at the box office",
    DifferenceKind.MISSING_AT_RESELLER: "At the box office, not received by the reseller",
    DifferenceKind.TICKET_MISMATCH: "Ticket sets differ",
    DifferenceKind.AMOUNT_MISMATCH: "Price or commission differ",
    DifferenceKind.STATUS_MISMATCH: "Cancelled on one side only",
    DifferenceKind.REFUND_MISMATCH: "Refund amounts differ",
    DifferenceKind.PRICE_WARNING: "Orders accepted at another price (policy warn)",
}


@dataclass(frozen=True)
class SalesDifference:
    """One difference between the reseller's report and the box office."""

    kind: DifferenceKind
    reseller_order_ref: str
    order_id: str | None
    """The box office's order id, when the box office has the order."""
    subject: str
    """What differs within the order: a ticket, a cancellation reference; "" for the order."""
    detail: str

    @property
    def action(self) -> str:
        return ACTIONS[self.kind]

    @property
    def category(self) -> ErrorCategory:
        """Differences are external errors, except price warnings (mapping)."""
        if self.kind is DifferenceKind.PRICE_WARNING:
            return ErrorCategory.MAPPING
        return ErrorCategory.EXTERNAL

    def to_problem(self, file: str | None = None) -> Problem:
        where = self.reseller_order_ref + (f" {self.subject}" if self.subject else "")
        return Problem(
            f"{self.kind.value}: {where}: {self.detail}; action: {self.action}",
            file=file,
            value=self.order_id,
        )

    def row(self) -> tuple[str, str, str, str, str]:
        return (
            self.reseller_order_ref,
            self.order_id or "",
            self.subject,
            self.detail,
            self.action,
        )


@dataclass
class _BoxOrder:
    public_id: str
    reference: str
    currency: str
    sold_at: dt.datetime
    tickets: dict[str, Ticket]
    warnings: list[dict[str, Any]]
    is_test: bool
    """An onboarding's test order."""


@dataclass
class _BoxCancellation:
    public_id: str
    reference: str
    """The reseller's reference; "" for the organiser's."""
    order_reference: str
    order_public_id: str
    ticket_ids: set[str]
    refund_amount: int
    cancelled_at: dt.datetime
    by_organiser: bool
    of_test_order: bool


def day_bounds(day: dt.date, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """The day from 00:00 to 24:00 local time, as UTC instants (23 or 25 hours when the
    clocks change)."""
    zone = ZoneInfo(timezone)
    start = dt.datetime.combine(day, dt.time(0), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone).astimezone(dt.UTC)
    return start, end


def compare_day(
    session: Session, reseller_code: str, day: dt.date, timezone: str, report: Mapping[str, Any]
) -> list[SalesDifference]:
    """Every difference between a checked report of ``day`` and the box office (section 14),
    in the kinds' order, then by order reference."""
    start, end = day_bounds(day, timezone)
    reported = {order["reseller_order_ref"]: order for order in report["orders"]}
    orders = _box_orders(
        session,
        reseller_code,
        or_(
            (Order.sold_at >= start) & (Order.sold_at < end),
            Order.reseller_order_id.in_(sorted(reported)),
        ),
    )
    differences: list[SalesDifference] = []
    for reference, sold in sorted(reported.items()):
        box = orders.get(reference)
        if box is None:
            differences.append(
                SalesDifference(
                    DifferenceKind.MISSING_AT_BOX_OFFICE,
                    reference,
                    None,
                    "",
                    f"sold {sold['sold_at']}, {len(sold['lines'])} ticket(s); the box office "
                    "has no order with this reference",
                )
            )
        elif sold["order_id"] is None:
            differences.append(
                SalesDifference(
                    DifferenceKind.MISSING_AT_RESELLER,
                    reference,
                    box.public_id,
                    "",
                    f"the box office committed order {box.public_id}; the reseller never "
                    "received it",
                )
            )
        else:
            differences.extend(_compare_order(sold, box))
    for reference, box in sorted(orders.items()):
        if reference not in reported and start <= box.sold_at < end and not box.is_test:
            differences.append(
                SalesDifference(
                    DifferenceKind.MISSING_AT_RESELLER,
                    reference,
                    box.public_id,
                    "",
                    f"order {box.public_id} ({len(box.tickets)} ticket(s)) is not in the "
                    "reseller's report",
                )
            )
    differences.extend(
        _compare_cancellations(session, reseller_code, start, end, report, set(reported))
    )
    for reference, box in sorted(orders.items()):
        if box.warnings and start <= box.sold_at < end:
            detail = "; ".join(str(warning.get("detail", "")) for warning in box.warnings)
            differences.append(
                SalesDifference(DifferenceKind.PRICE_WARNING, reference, box.public_id, "", detail)
            )
    order = list(DifferenceKind)
    return sorted(differences, key=lambda d: (order.index(d.kind), d.reseller_order_ref, d.subject))


def _box_orders(session: Session, reseller_code: str, where: Any) -> dict[str, _BoxOrder]:
    rows = session.execute(
        select(Order, RealtimeOrder)
        .join(RealtimeOrder, RealtimeOrder.order_id == Order.id)
        .where(RealtimeOrder.reseller_code == reseller_code, where)
    ).all()
    tickets: dict[int, dict[str, Ticket]] = defaultdict(dict)
    if rows:
        for ticket in session.scalars(
            select(Ticket)
            .where(Ticket.order_id.in_([order.id for order, _ in rows]))
            .order_by(Ticket.id)
        ):
            tickets[ticket.order_id][f"T-{ticket.id}"] = ticket
    return {
        order.reseller_order_id or "": _BoxOrder(
            public_id=realtime.public_id,
            reference=order.reseller_order_id or "",
            currency=Currency(order.currency).value,
            sold_at=utc(order.sold_at),
            tickets=tickets[order.id],
            warnings=json.loads(realtime.warnings or "[]"),
            is_test=bool(order.is_test),
        )
        for order, realtime in rows
    }


def _compare_order(sold: Mapping[str, Any], box: _BoxOrder) -> list[SalesDifference]:
    reference = sold["reseller_order_ref"]
    differences = []
    by_barcode = {ticket.barcode: key for key, ticket in box.tickets.items()}
    matched: dict[str, Mapping[str, Any]] = {}
    unmatched_lines = []
    for line in sold["lines"]:
        key = line["ticket_id"] if line["ticket_id"] in box.tickets else None
        if key is None and line["barcode"] is not None:
            key = by_barcode.get(line["barcode"])
        if key is None or key in matched:
            unmatched_lines.append(line["ticket_id"] or line["barcode"] or "a line without id")
        else:
            matched[key] = line
    only_box = [key for key in box.tickets if key not in matched]
    if sold["order_id"] != box.public_id or unmatched_lines or only_box:
        parts = []
        if sold["order_id"] != box.public_id:
            parts.append(f"the reseller says order {sold['order_id']}")
        if unmatched_lines:
            parts.append("only in the report: " + ", ".join(map(str, unmatched_lines)))
        if only_box:
            parts.append("only at the box office: " + ", ".join(only_box))
        differences.append(
            SalesDifference(
                DifferenceKind.TICKET_MISMATCH, reference, box.public_id, "", "; ".join(parts)
            )
        )
    for key, line in matched.items():
        ticket = box.tickets[key]
        if (line["price"], line["commission"]) != (ticket.price, ticket.commission):
            differences.append(
                SalesDifference(
                    DifferenceKind.AMOUNT_MISMATCH,
                    reference,
                    box.public_id,
                    key,
                    f"the reseller says price {line['price']}, commission {line['commission']};"
                    f" the box office has {ticket.price}, {ticket.commission}",
                )
            )
    return differences


def _box_cancellations(session: Session, reseller_code: str, where: Any) -> list[_BoxCancellation]:
    """The reseller's and the organiser's cancellations of the reseller's orders."""
    rows = session.execute(
        select(
            RealtimeCancellation,
            RealtimeOrder.public_id,
            Order.reseller_order_id,
            Order.is_test,
        )
        .join(RealtimeOrder, RealtimeCancellation.order_id == RealtimeOrder.id)
        .join(Order, RealtimeOrder.order_id == Order.id)
        .where(RealtimeCancellation.reseller_code == reseller_code, where)
        .order_by(RealtimeCancellation.id)
    ).all()
    tickets: dict[int, set[str]] = defaultdict(set)
    if rows:
        for cancellation_id, ticket_id in session.execute(
            select(
                RealtimeCancellationTicket.cancellation_id, RealtimeCancellationTicket.ticket_id
            ).where(RealtimeCancellationTicket.cancellation_id.in_([row[0].id for row in rows]))
        ):
            tickets[cancellation_id].add(f"T-{ticket_id}")
    return [
        _BoxCancellation(
            public_id=cancellation.public_id,
            reference=cancellation.reseller_cancellation_ref or "",
            order_reference=order_reference or "",
            order_public_id=order_public_id,
            ticket_ids=tickets[cancellation.id],
            refund_amount=cancellation.refund_amount,
            cancelled_at=utc(cancellation.cancelled_at),
            by_organiser=cancellation.initiated_by == ORGANISER,
            of_test_order=bool(is_test),
        )
        for cancellation, order_public_id, order_reference, is_test in rows
    ]


def _compare_cancellations(
    session: Session,
    reseller_code: str,
    start: dt.datetime,
    end: dt.datetime,
    report: Mapping[str, Any],
    reported_orders: set[str],
) -> list[SalesDifference]:
    """The reported cancellations against the box office's of the day: the reseller's by
    its reference, the organiser's by their id (the reseller records them as it learns
    them from ``GET /orders``, under a reference of its own)."""
    reported = {c["reseller_cancellation_ref"]: c for c in report["cancellations"]}
    ids = sorted({c["cancellation_id"] for c in reported.values() if c["cancellation_id"]})
    cancelled_at = RealtimeCancellation.cancelled_at
    box = _box_cancellations(
        session,
        reseller_code,
        or_(
            (cancelled_at >= start) & (cancelled_at < end),
            RealtimeCancellation.reseller_cancellation_ref.in_(sorted(reported)),
            RealtimeCancellation.public_id.in_(ids),
        ),
    )
    by_reference = {found.reference: found for found in box if not found.by_organiser}
    by_id = {found.public_id: found for found in box if found.by_organiser}
    barcodes = _barcode_ids(session, [c["barcodes"] for c in reported.values()])
    matched: set[str] = set()
    differences = []
    for reference, cancelled in sorted(reported.items()):
        found = by_reference.get(reference) or by_id.get(cancelled["cancellation_id"] or "")
        named = {
            ticket_id or barcodes.get(code, code)
            for ticket_id, code in _pairs(cancelled["ticket_ids"], cancelled["barcodes"])
        }
        if found is None:
            differences.append(
                SalesDifference(
                    DifferenceKind.STATUS_MISMATCH,
                    cancelled["reseller_order_ref"],
                    cancelled["order_id"],
                    reference,
                    "cancelled at the reseller only: " + ", ".join(sorted(named)),
                )
            )
            continue
        matched.add(found.public_id)
        if named != found.ticket_ids:
            differences.append(
                SalesDifference(
                    DifferenceKind.STATUS_MISMATCH,
                    found.order_reference,
                    found.order_public_id,
                    reference,
                    f"the reseller cancelled {', '.join(sorted(named)) or 'nothing'}; the box "
                    f"office {', '.join(sorted(found.ticket_ids))}",
                )
            )
        if cancelled["refund_amount"] != found.refund_amount:
            differences.append(
                SalesDifference(
                    DifferenceKind.REFUND_MISMATCH,
                    found.order_reference,
                    found.order_public_id,
                    reference,
                    f"the reseller says refund {cancelled['refund_amount']}; the box office "
                    f"has {found.refund_amount}",
                )
            )
    for found in box:
        if found.public_id in matched or not start <= found.cancelled_at < end:
            continue
        if found.of_test_order and found.order_reference not in reported_orders:
            continue  # a test order the reseller keeps out of its report
        who = "by the organiser" if found.by_organiser else "at the box office"
        differences.append(
            SalesDifference(
                DifferenceKind.STATUS_MISMATCH,
                found.order_reference,
                found.order_public_id,
                found.reference or found.public_id,
                f"cancelled {who} only ({found.public_id}): " + ", ".join(sorted(found.ticket_ids)),
            )
        )
    return differences


def _pairs(ticket_ids: Sequence[str], codes: Sequence[str]) -> list[tuple[str | None, str]]:
    """A cancellation's tickets, each by id and barcode when both are given in step."""
    if len(ticket_ids) == len(codes):
        return list(zip(ticket_ids, codes, strict=True))
    return [(ticket_id, ticket_id) for ticket_id in ticket_ids]


def _barcode_ids(session: Session, lists: Iterable[Sequence[str]]) -> dict[str, str]:
    codes = sorted({code for codes in lists for code in codes})
    if not codes:
        return {}
    return {
        code: f"T-{ticket_id}"
        for ticket_id, code in session.execute(
            select(Ticket.id, Ticket.barcode).where(Ticket.barcode.in_(codes))
        )
    }


# --------------------------------------------------------------------------- the whole night


@dataclass(frozen=True)
class SalesReconciliation:
    """The outcome of one night's reconciliation of one reseller."""

    reseller_code: str
    day: dt.date
    revision: int
    orders: int
    cancellations: int
    differences: Sequence[SalesDifference] = field(default_factory=tuple)
    report: str | None = None
    """The HTML report's path relative to the reports folder."""

    @property
    def counts(self) -> dict[str, int]:
        return count_kinds(self.differences)

    def by_category(self, category: ErrorCategory) -> list[SalesDifference]:
        return [d for d in self.differences if d.category is category]

    def summary(self) -> dict[str, Any]:
        return {
            "reseller": self.reseller_code,
            "day": self.day.isoformat(),
            "revision": self.revision,
            "orders": self.orders,
            "cancellations": self.cancellations,
            "differences": self.counts,
            "report": self.report,
        }


def sales_report_document(
    reseller_name: str, day: dt.date, revision: int, differences: Sequence[SalesDifference]
) -> ReconciliationReport:
    return ReconciliationReport(
        title=f"{reseller_name} sales reconciliation",
        subject=f"{day.isoformat()} (revision {revision})",
        intro=f"{reseller_name}'s sales report of {day.isoformat()} (orders and cancellations "
        "it made that day, organiser time), compared with the box office's orders and "
        "cancellations of that day: orders by reseller reference, tickets by ticket id or "
        "barcode, cancellations by reseller reference.",
        columns=(
            "Reseller reference",
            "Box-office order",
            "Ticket or cancellation",
            "Difference",
            "Action",
        ),
        groups=report_groups(LABELS, list(differences), SalesDifference.row),
        agree=f"{reseller_name} and the box office agree on every sale and cancellation of "
        "the day.",
        advice="Each row says who acts; check with the reseller before changing anything.",
    )


def reconcile_sales_report(
    session: Session,
    *,
    reseller_code: str,
    reseller_name: str,
    day: dt.date,
    timezone: str,
    raw_report: bytes,
) -> SalesReconciliation:
    """Check the report of ``day`` whole (an external error refuses it, nothing kept),
    compare it with the box office, and keep the HTML report when anything differs."""
    report = check_sales_report(raw_report, reseller_code=reseller_code, day=day, timezone=timezone)
    differences = compare_day(session, reseller_code, day, timezone, report)
    path = None
    if differences:
        document = sales_report_document(reseller_name, day, report["revision"], differences)
        path = write_report(
            document, f"{reseller_code}-sales-{day.isoformat()}-r{report['revision']}"
        )
    return SalesReconciliation(
        reseller_code=reseller_code,
        day=day,
        revision=report["revision"],
        orders=len(report["orders"]),
        cancellations=len(report["cancellations"]),
        differences=tuple(differences),
        report=path,
    )


NOTICE_KINDS = {
    ErrorCategory.EXTERNAL: "sales_report_differs",
    ErrorCategory.MAPPING: "sales_report_price_warnings",
}
NOTICE_ACTIONS = {
    ErrorCategory.EXTERNAL: Localized(
        fr="Ouvrez le rapport indiqué ci-dessus : chaque écart dit qui agit (la colonne "
        "Action, section 14 du contrat). Voyez avec {reseller} avant de modifier quoi que ce "
        "soit dans la billetterie.",
        en="Open the report named above: each difference says who acts (its Action column, "
        "section 14 of the contract). Check with {reseller} before changing anything in the "
        "box office.",
    ),
    ErrorCategory.MAPPING: Localized(
        fr="Ces commandes ont été acceptées à un autre prix que celui de la billetterie "
        "(politique warn). Corrigez le prix de la billetterie ou demandez à {reseller} de "
        "corriger sa table de prix.",
        en="These orders were accepted at another price than the box office's (policy "
        "warn). Correct the box-office price, or ask {reseller} to correct its price table.",
    ),
}


def sales_report_notices(result: SalesReconciliation, report_path: str) -> list[Notice]:
    """The alerts of a night with differences, one per category present (external; price
    warnings: mapping), each linking the kept report (``report_path``)."""
    notices = []
    for category in (ErrorCategory.EXTERNAL, ErrorCategory.MAPPING):
        found = result.by_category(category)
        if not found:
            continue
        counts = ", ".join(f"{kind} {n}" for kind, n in count_kinds(found).items())
        day = result.day.isoformat()
        notices.append(
            Notice(
                category=category,
                kind=NOTICE_KINDS[category],
                message=Localized(
                    fr=f"Le rapport des ventes de {{reseller}} du {day} et la billetterie "
                    f"diffèrent sur {len(found)} point(s) ({counts}). Rapport : {report_path}",
                    en=f"{{reseller}}'s sales report of {day} and the box office differ on "
                    f"{len(found)} point(s) ({counts}). Report: {report_path}",
                ),
                problems=[difference.to_problem(report_path) for difference in found],
                file_name=f"sales-report {day} r{result.revision}",
                action=NOTICE_ACTIONS[category],
            )
        )
    return notices
