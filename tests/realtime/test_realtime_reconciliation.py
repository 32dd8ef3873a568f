"""The nightly reconciliation of a synchronous reseller (realtime-api-v1, sections 13 and 14),
against the sandbox reseller: a day of its customers' sales through the real service (served
by uvicorn, the box office's clock the sandbox's), its sales report pulled over HTTP through
the HTTP provider's hook, and every difference the sandbox injected found, and no other; an
order the organiser cancels during the day is learned by the sandbox from ``GET /orders``
(section 7.6) and reported cancelled, so that it makes no difference."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from sqlalchemy import Engine, String, Text, inspect, select
from sqlalchemy.orm import Session

from devtools.sandboxes.connection import connection_env_var
from devtools.sandboxes.realtime.client import LossyTransport, RealtimeClient
from devtools.sandboxes.realtime.customers import (
    CustomerFault,
    Customers,
    SimulatedClock,
    Visit,
)
from devtools.sandboxes.realtime.ledger import Ledger
from devtools.sandboxes.realtime.people import CONTACT_EMAIL_DOMAIN, CONTACT_PHONE_PREFIX
from devtools.sandboxes.realtime.report_server import (
    ReportDesk,
    ReportFault,
    ReportServer,
    connection,
)
from reseller_sync.alerts.compose import compose_alert
from reseller_sync.boxoffice.models import Base, RealtimeReseller
from reseller_sync.config.paths import reports_dir
from reseller_sync.domain.errors import ExternalError
from reseller_sync.realtime.app import create_app
from reseller_sync.realtime.organiser_cancellation import cancel_as_organiser
from reseller_sync.realtime.reconciliation import (
    DifferenceKind,
    SalesReconciliation,
    fetch_sales_report,
    http_hook_getter,
    reconcile_sales_report,
    report_deadline,
    sales_report_notices,
)
from reseller_sync.realtime.settings import reseller_context

PARIS = ZoneInfo("Europe/Paris")
DAY = dt.date(2026, 12, 2)
CONN_ID = "realtime_sandbox_report_test"
REPORT_KEY = "sandbox-report-key-0123456789"
FAULT_PLAN = {
    3: CustomerFault.RETRIED,
    5: CustomerFault.LOST_RESPONSE,
    8: CustomerFault.LOST_REQUEST,
    11: CustomerFault.PRICE_OFF,
    13: CustomerFault.CONTACT_SENT,
    16: CustomerFault.LOST_CANCELLATION,
    19: CustomerFault.CANCELLATION_ANSWER_LOST,
    22: CustomerFault.RETRIED,
}


class Unlimited:
    """No rate limit: the sandbox plays a day in seconds (the limit has its own tests)."""

    def take(self, bucket: str, rate_per_second: float, burst: int) -> float:
        return 0.0

    def ping(self) -> bool:
        return True


@dataclass
class Sandbox:
    clock: SimulatedClock
    ledger: Ledger
    customers: Customers
    desk: ReportDesk
    server: ReportServer
    engine: Engine
    cancelled_by_organiser: list[str] = field(default_factory=list)
    """The references of the orders the organiser cancelled."""


@pytest.fixture
def service(conformance_world: Any) -> Iterator[tuple[str, SimulatedClock]]:
    """The real-time service over HTTP on the conformance data set, on a simulated clock."""
    clock = SimulatedClock(conformance_world.now)
    app = create_app(conformance_world.engine, clock=clock.now, rate_limiter=Unlimited())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/realtime/v1", clock
    finally:
        server.should_exit = True
        thread.join(10)


def _sandbox(
    conformance_world,
    service,
    reseller: str,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
) -> Iterator[Sandbox]:
    base_url, clock = service
    transport = LossyTransport()
    client = RealtimeClient(
        base_url, conformance_world.keys[reseller], transport=transport, sleep=lambda s: None
    )
    ledger = Ledger(reseller)
    customers = Customers(
        client, transport, ledger, clock=clock, seed=seed, reference_prefix="SBX-"
    )
    desk = ReportDesk(ledger, REPORT_KEY, go_live=DAY, clock=clock.now, retry_after=1)
    with ReportServer(desk) as server:
        monkeypatch.setenv(connection_env_var(CONN_ID), json.dumps(connection(server, REPORT_KEY)))
        yield Sandbox(clock, ledger, customers, desk, server, conformance_world.engine)
    client.close()


@pytest.fixture(params=["conf-a", "conf-b"])
def sandbox(
    conformance_world: Any,
    service: tuple[str, SimulatedClock],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Sandbox]:
    monkeypatch.setenv("RESELLER_SYNC_REPORTS_DIR", str(tmp_path / "reports"))
    yield from _sandbox(conformance_world, service, request.param, monkeypatch, seed=17)


@pytest.fixture
def sandbox_a(
    conformance_world: Any,
    service: tuple[str, SimulatedClock],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Sandbox]:
    """The sandbox playing ``conf-a`` alone (for what does not depend on the price check)."""
    monkeypatch.setenv("RESELLER_SYNC_REPORTS_DIR", str(tmp_path / "reports"))
    yield from _sandbox(conformance_world, service, "conf-a", monkeypatch, seed=17)


def _night(sandbox: Sandbox, day: dt.date = DAY) -> dt.datetime:
    """03:00 organiser time the day after: when the nightly runs."""
    moment = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(3), PARIS)
    sandbox.clock.set(moment.astimezone(dt.UTC))
    return moment


def _reconcile(
    sandbox: Sandbox, day: dt.date = DAY, sleeps: list[float] | None = None
) -> SalesReconciliation:
    waits = sleeps if sleeps is not None else []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        sandbox.clock.pass_time(seconds)

    raw = fetch_sales_report(
        http_hook_getter(CONN_ID),
        day,
        deadline=report_deadline(day, "Europe/Paris"),
        clock=sandbox.clock.now,
        sleep=sleep,
    )
    with Session(sandbox.engine) as session:
        return reconcile_sales_report(
            session,
            reseller_code=sandbox.ledger.reseller_id,
            reseller_name="Sandbox reseller",
            day=day,
            timezone="Europe/Paris",
            raw_report=raw,
        )


def _organiser_cancels(sandbox: Sandbox, at: dt.datetime | None = None) -> str:
    """The organiser cancels (its performance cancelled) the first order of the books the box
    office confirmed that nothing cancelled nor any fault touched, now or ``at``; its
    reference."""
    ledger = sandbox.ledger
    touched = {c.reseller_order_ref for c in ledger.cancellations} | {
        i.reseller_order_ref for i in ledger.injected
    }
    order = next(o for o in ledger.orders if o.order_id and o.reseller_order_ref not in touched)
    assert order.order_id is not None
    with Session(sandbox.engine) as session, session.begin():
        cancel_as_organiser(
            session,
            reseller_context(session, ledger.reseller_id),
            order.order_id,
            reason="performance_cancelled",
            now=at or sandbox.clock.now(),
        )
    return order.reseller_order_ref


def _play_day(
    sandbox: Sandbox,
    visits: int = 34,
    faults: dict[int, CustomerFault] = FAULT_PLAN,
    organiser_cancels_before: int | None = None,
) -> list[Visit]:
    """A day of ``visits`` customers; the organiser cancels an order (:func:`_organiser_cancels`)
    just before visit ``organiser_cancels_before`` when given."""
    sandbox.clock.set(dt.datetime.combine(DAY, dt.time(8), PARIS).astimezone(dt.UTC))
    visit_numbers = itertools.count()

    def gap(rng: Any) -> float:
        if next(visit_numbers) == organiser_cancels_before:
            sandbox.cancelled_by_organiser.append(_organiser_cancels(sandbox))
        return float(rng.uniform(300, 1200))

    played = sandbox.customers.play(visits, faults=faults, gap=gap)
    assert sandbox.clock.now().astimezone(PARIS).date() == DAY
    # A sale after midnight belongs to the next day, on both sides.
    sandbox.clock.set(dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(0, 20), PARIS))
    sandbox.customers.buy()
    return played


def test_the_reconciliation_finds_every_injected_difference_and_no_other(
    sandbox: Sandbox,
) -> None:
    _play_day(sandbox, organiser_cancels_before=10)
    [cancelled] = sandbox.cancelled_by_organiser
    learned = [c for c in sandbox.ledger.cancellations if c.reseller_order_ref == cancelled]
    assert [c.reason for c in learned] == ["performance_cancelled"], "learned from GET /orders"
    for fault in (
        ReportFault.ORDER_OMITTED,
        ReportFault.AMOUNT_OFF,
        ReportFault.TICKET_DROPPED,
        ReportFault.REFUND_OFF,
        ReportFault.LATE,
    ):
        sandbox.desk.set_fault(DAY, fault)
    _night(sandbox)
    waits: list[float] = []

    result = _reconcile(sandbox, sleeps=waits)

    assert waits == [1, 1]  # report-not-ready twice, each Retry-After honoured
    found = Counter((d.kind.value, d.reseller_order_ref) for d in result.differences)
    expected = sandbox.ledger.expected(DAY)
    assert found == expected
    kinds = {kind for kind, _ in expected}
    every = {kind.value for kind in DifferenceKind}
    if sandbox.ledger.reseller_id == "conf-b":  # warn: the price-off order is accepted
        assert kinds == every
    else:  # strict: refused, nothing to report
        assert kinds == every - {"price_warning"}
    assert result.report is not None
    html = (reports_dir() / result.report).read_text("utf-8")
    for _, reference in expected:
        assert reference in html
    assert all(d.action for d in result.differences)
    categories = {d.kind.value: d.category.value for d in result.differences}
    assert categories.pop("price_warning", "mapping") == "mapping"
    assert set(categories.values()) == {"external"}

    # The alerts: one per category present, each linking the kept report.
    path = str(reports_dir() / result.report)
    notices = sales_report_notices(result, path)
    assert [n.category.value for n in notices] == (
        ["external", "mapping"] if "price_warning" in kinds else ["external"]
    )
    for notice in notices:
        alert = compose_alert(
            category=notice.category,
            kind=notice.kind,
            title="nightly",
            message=notice.message,
            language="en",
            reseller="Sandbox reseller",
            problems=notice.problems,
            file_name=notice.file_name,
            action=notice.action,
        )
        assert path in alert.text
        assert "Check with Sandbox reseller" in alert.text or "price table" in alert.text


def test_a_day_without_faults_agrees(sandbox_a: Sandbox) -> None:
    sandbox = sandbox_a
    _play_day(sandbox, visits=12, faults={})
    _night(sandbox)
    result = _reconcile(sandbox)
    assert result.differences == ()
    assert result.report is None
    assert result.orders == len(
        [o for o in sandbox.ledger.orders if sandbox.ledger.day_of(o.sold_at) == DAY]
    )


def test_an_organiser_cancellation_agrees_once_the_reseller_learns_it(sandbox: Sandbox) -> None:
    _play_day(sandbox, visits=12, faults={}, organiser_cancels_before=6)
    [cancelled] = sandbox.cancelled_by_organiser
    [learned] = [c for c in sandbox.ledger.cancellations if c.reseller_order_ref == cancelled]
    assert learned.reseller_cancellation_ref == f"SBX-ORG-{learned.cancellation_id}"
    [order] = [o for o in sandbox.ledger.orders if o.reseller_order_ref == cancelled]
    assert all(line.cancelled for line in order.lines)
    assert sorted(learned.ticket_ids) == sorted(str(line.ticket_id) for line in order.lines)
    assert learned.refund_amount == sum(line.price for line in order.lines)
    assert sandbox.ledger.day_of(learned.cancelled_at) == DAY
    _night(sandbox)
    result = _reconcile(sandbox)
    assert result.differences == ()
    assert result.cancellations >= 1


def test_an_organiser_cancellation_the_reseller_never_learns_is_a_status_mismatch(
    sandbox_a: Sandbox,
) -> None:
    sandbox = sandbox_a
    _play_day(sandbox, visits=8, faults={})
    # After the day's last poll, still on the day.
    late = dt.datetime.combine(DAY, dt.time(23, 30), PARIS).astimezone(dt.UTC)
    cancelled = _organiser_cancels(sandbox, at=late)
    _night(sandbox)
    result = _reconcile(sandbox)
    assert [(d.kind, d.reseller_order_ref) for d in result.differences] == [
        (DifferenceKind.STATUS_MISMATCH, cancelled)
    ]
    assert result.differences[0].subject.startswith("C-")
    assert "cancelled by the organiser only" in result.differences[0].detail

    sandbox.customers.learn_changes()  # the reseller polls, then corrects the day
    assert _reconcile(sandbox).differences == ()


@pytest.mark.parametrize(
    "fault", [ReportFault.TOTALS_OFF, ReportFault.PERSONAL_DATA, ReportFault.UNKNOWN_MEMBER]
)
def test_a_faulty_report_is_refused_whole(
    conformance_world: Any,
    service: tuple[str, SimulatedClock],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fault: ReportFault,
) -> None:
    reports = tmp_path / "reports"
    monkeypatch.setenv("RESELLER_SYNC_REPORTS_DIR", str(reports))
    for sandbox in _sandbox(conformance_world, service, "conf-a", monkeypatch, seed=5):
        _play_day(sandbox, visits=8, faults={2: CustomerFault.LOST_REQUEST})
        sandbox.desk.set_fault(DAY, fault)
        _night(sandbox)
        with pytest.raises(ExternalError) as refused:
            _reconcile(sandbox)
        assert "refused whole" in refused.value.message
        assert CONTACT_EMAIL_DOMAIN not in str(refused.value)
        assert refused.value.problems
        assert not reports.exists() or not any(reports.rglob("*.html"))


def test_a_report_never_ready_is_an_external_error_at_the_deadline(sandbox_a: Sandbox) -> None:
    sandbox = sandbox_a
    _play_day(sandbox, visits=4, faults={})
    sandbox.desk.set_fault(DAY, ReportFault.MISSING)
    sandbox.desk.retry_after = 600
    _night(sandbox)
    waits: list[float] = []
    with pytest.raises(ExternalError, match="No sales report of 2026-12-02 by"):
        _reconcile(sandbox, sleeps=waits)
    assert waits
    assert set(waits) == {600}
    assert sandbox.clock.now() <= report_deadline(DAY, "Europe/Paris")


def test_a_day_not_closed_is_asked_again_after_retry_after(sandbox_a: Sandbox) -> None:
    sandbox = sandbox_a
    _play_day(sandbox, visits=4, faults={})
    sandbox.clock.set(dt.datetime.combine(DAY, dt.time(23, 30), PARIS).astimezone(dt.UTC))
    waits: list[float] = []
    result = _reconcile(sandbox, sleeps=waits)
    assert waits
    assert sum(waits) >= 5400
    assert result.differences == ()


def test_no_contact_value_anywhere_in_the_store_after_a_day_of_sales(sandbox: Sandbox) -> None:
    played = _play_day(
        sandbox, visits=20, faults={n: CustomerFault.CONTACT_SENT for n in range(0, 20, 3)}
    )
    sent = sandbox.customers.contacts_sent
    assert sent, "the customers sent no contact details: the test would prove nothing"
    ordered = [v for v in played if v.fault is CustomerFault.CONTACT_SENT and v.reference]
    assert ordered
    assert all(v.outcome == "sold" for v in ordered), ordered  # refused, then sent without
    with Session(sandbox.engine) as session:
        assert session.scalar(select(RealtimeReseller.reseller_code).limit(1))
        found = []
        for table in Base.metadata.sorted_tables:
            texts = [c for c in table.columns if isinstance(c.type, (String, Text))]
            if not texts or not inspect(session.get_bind()).has_table(table.name):
                continue
            for row in session.execute(select(*texts)):
                for value in row:
                    if value and any(
                        mark in value
                        for mark in (CONTACT_EMAIL_DOMAIN, CONTACT_PHONE_PREFIX, *sent)
                    ):
                        found.append((table.name, value[:80]))
    assert found == []
