"""An onboarding's test order from end to end (realtime-api-v1 sections 7.5 to 7.7, 13 and
14), on the demo box office on SQLite and PostgreSQL: the sandbox reseller places it
through the service over HTTP, the onboarding's step flags it as a test, checks it at
access control and cancels it as the organiser; the test order stays out of the dashboard
and the price check, the pending account balances; the sandbox learns of the cancellation
from ``GET /orders?changed_since=`` and its sales report then matches the box office."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from devtools.sandboxes.realtime.client import LossyTransport, RealtimeClient
from devtools.sandboxes.realtime.customers import Customers, RealClock
from devtools.sandboxes.realtime.ledger import Ledger, totals
from reseller_sync.airflow.steps import DRY_RUN, RESEND_SALE_SHEET
from reseller_sync.boxoffice import db
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import (
    MovementKind,
    Order,
    PendingAccountMovement,
    Ticket,
    TicketState,
)
from reseller_sync.core.resellers import reseller_type
from reseller_sync.dashboard.queries import day_sales
from reseller_sync.digitick.settings import load_settings
from reseller_sync.integration.prices import latest_sales
from reseller_sync.realtime import onboarding as onboarding_module
from reseller_sync.realtime.onboarding import RealtimeOnboarding
from reseller_sync.realtime.reconciliation import (
    DifferenceKind,
    SalesDifference,
    reconcile_sales_report,
)
from reseller_sync.realtime.settings import issue_key
from tests.realtime.realtime_sales import serving

CONCERT = "EVT-LUMEN"
TIMEZONE = "Europe/Paris"


@dataclass
class Reseller:
    """The sandbox playing Digitick: its customers (over HTTP) and its books."""

    customers: Customers
    ledger: Ledger
    engine: Engine

    def sell(self, prefix: str) -> str:
        """One customer buys the concert under ``prefix``; the order's reference."""
        self.customers.reference_prefix = prefix
        for _ in range(5):
            visit = self.customers.buy(only=CONCERT)
            if visit.outcome == "sold" and visit.reference:
                return visit.reference
        raise AssertionError(f"no sale of {CONCERT}: {visit.outcome}")

    def reconcile(self, drop: str | None = None) -> list[SalesDifference]:
        """The nightly reconciliation of every day the books touch, on the report the
        books give (the order ``drop`` left out of it)."""
        days = {self.ledger.day_of(o.sold_at) for o in self.ledger.orders} | {
            self.ledger.day_of(c.cancelled_at) for c in self.ledger.cancellations
        }
        found: list[SalesDifference] = []
        for day in sorted(days):
            report = self.ledger.report(day, dt.datetime.now(dt.UTC))
            if drop is not None:
                report["orders"] = [o for o in report["orders"] if o["reseller_order_ref"] != drop]
                report["cancellations"] = [
                    c for c in report["cancellations"] if c["reseller_order_ref"] != drop
                ]
                report["totals"] = totals(report["orders"], report["cancellations"])
            with Session(self.engine) as session:
                result = reconcile_sales_report(
                    session,
                    reseller_code="digitick",
                    reseller_name="Digitick",
                    day=day,
                    timezone=TIMEZONE,
                    raw_report=json.dumps(report).encode(),
                )
            found.extend(result.differences)
        return found


@pytest.fixture
def onboarding(
    demo_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[RealtimeOnboarding]:
    """Digitick's onboarding of the concert up to the step that waits for the test order,
    on the demo box office (the default database of the steps)."""
    monkeypatch.setenv(db.URL_VARIABLE, demo_url)
    monkeypatch.setenv("RESELLER_SYNC_REPORTS_DIR", str(tmp_path / "reports"))
    db.default_engine.cache_clear()
    monkeypatch.setattr(
        onboarding_module, "form_values", lambda: {DRY_RUN: False, RESEND_SALE_SHEET: False}
    )
    steps = RealtimeOnboarding(reseller_type("digitick"), load_settings)
    steps.put_on_channel(CONCERT)
    steps.check_mappings(CONCERT)
    yield steps
    db.default_engine.cache_clear()


@pytest.fixture
def reseller(demo_url: str, onboarding: RealtimeOnboarding) -> Iterator[Reseller]:
    engine = make_engine(demo_url)
    with Session(engine) as session, session.begin():
        key = issue_key(session, "digitick", dt.datetime.now(dt.UTC))
    try:
        with serving(engine) as service:
            transport = LossyTransport()
            client = RealtimeClient(service.base_url, key, transport=transport)
            ledger = Ledger("digitick", timezone=TIMEZONE)
            customers = Customers(
                client, transport, ledger, clock=RealClock(), seed=11, abandon_rate=0.0
            )
            yield Reseller(customers, ledger, engine)
            client.close()
    finally:
        engine.dispose()


def _movements(engine: Engine, reference: str) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.execute(
            select(PendingAccountMovement.kind, func.sum(PendingAccountMovement.amount))
            .join(Order, Order.id == PendingAccountMovement.order_id)
            .where(Order.reseller_code == "digitick", Order.reseller_order_id == reference)
            .group_by(PendingAccountMovement.kind)
        ).all()
    return {MovementKind(kind).value: int(amount) for kind, amount in rows}


def _flags(engine: Engine, reference: str) -> tuple[bool, set[bool], set[TicketState]]:
    with Session(engine) as session:
        order = session.scalars(
            select(Order).where(
                Order.reseller_code == "digitick", Order.reseller_order_id == reference
            )
        ).one()
        tickets = session.scalars(select(Ticket).where(Ticket.order_id == order.id)).all()
        return (
            bool(order.is_test),
            {bool(t.is_test) for t in tickets},
            {TicketState(t.state) for t in tickets},
        )


def test_the_test_order_is_flagged_cancelled_learned_and_reconciled(
    onboarding: RealtimeOnboarding, reseller: Reseller
) -> None:
    sale = reseller.sell("DGT-")
    test_order = reseller.sell("DGT-TEST-")
    [sold] = [o for o in reseller.ledger.orders if o.reseller_order_ref == test_order]
    paid = _movements(reseller.engine, test_order)
    assert list(paid) == ["sale"]
    assert paid["sale"] > 0
    assert _flags(reseller.engine, test_order) == (False, {False}, {TicketState.VALID})

    checked = onboarding.check_test_order(CONCERT)

    assert isinstance(checked, dict)
    assert (checked["reseller_order_ref"], checked["flagged_as_test"]) == (test_order, True)
    assert _flags(reseller.engine, test_order) == (True, {True}, {TicketState.CANCELLED})
    assert _flags(reseller.engine, sale) == (False, {False}, {TicketState.VALID})
    # The order's sale and the cancellation's refund balance on the pending account.
    assert _movements(reseller.engine, test_order) == {"sale": paid["sale"], "refund": paid["sale"]}
    again = onboarding.check_test_order(CONCERT)
    assert isinstance(again, dict)
    assert (again["flagged_as_test"], again["cancellation"]) == (False, None)
    assert _movements(reseller.engine, test_order)["refund"] == paid["sale"], "booked once"

    # The dashboard's day and the price check know the customer's sale alone.
    settings = load_settings()
    day = reseller.ledger.day_of(sold.sold_at)
    [customer_order] = [o for o in reseller.ledger.orders if o.reseller_order_ref == sale]
    with Session(reseller.engine) as session:
        shown = day_sales(session, "digitick", settings, day)
        priced = latest_sales(session, "digitick", [CONCERT], day)
    assert (shown.orders, shown.tickets) == (1, len(customer_order.lines))
    test_tickets = {int(str(line.ticket_id)[2:]) for line in sold.lines}
    assert set(priced["ticket_id"]).isdisjoint(test_tickets)
    assert int(priced["tickets"].sum()) == len(customer_order.lines)

    # The reseller has not polled yet: it reports the test tickets as valid.
    [difference] = reseller.reconcile()
    assert (difference.kind, difference.reseller_order_ref) == (
        DifferenceKind.STATUS_MISMATCH,
        test_order,
    )
    assert "by the organiser" in difference.detail

    learned = reseller.customers.learn_changes()

    [cancellation] = learned
    assert cancellation.cancellation_id == checked["cancellation"]
    assert cancellation.reseller_order_ref == test_order
    assert sorted(cancellation.ticket_ids) == sorted(str(line.ticket_id) for line in sold.lines)
    assert all(line.cancelled for line in sold.lines)
    assert reseller.ledger.changes_polled_at is not None
    assert reseller.customers.learn_changes() == [], "learned once"
    assert reseller.reconcile() == []
    # A reseller that keeps its test order out of its report differs on nothing either.
    assert reseller.reconcile(drop=test_order) == []
    # The customer's order is another matter.
    missing = reseller.reconcile(drop=sale)
    assert [(d.kind, d.reseller_order_ref) for d in missing] == [
        (DifferenceKind.MISSING_AT_RESELLER, sale)
    ]


def test_nothing_is_flagged_when_access_control_fails_the_check(
    onboarding: RealtimeOnboarding, reseller: Reseller
) -> None:
    from sqlalchemy import update

    from reseller_sync.boxoffice.models import AccessControlEntry
    from reseller_sync.domain.errors import TechnicalError

    test_order = reseller.sell("DGT-TEST-")
    [sold] = [o for o in reseller.ledger.orders if o.reseller_order_ref == test_order]
    with Session(reseller.engine) as session, session.begin():
        session.execute(
            update(AccessControlEntry)
            .where(AccessControlEntry.barcode == sold.lines[0].barcode)
            .values(allowed=False)
        )
    with pytest.raises(TechnicalError):
        onboarding.check_test_order(CONCERT)
    assert _flags(reseller.engine, test_order) == (False, {False}, {TicketState.VALID})
    assert reseller.customers.learn_changes() == []
