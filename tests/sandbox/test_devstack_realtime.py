"""The real-time part of the stack ``make demo`` starts (``devtools.devstack``), without
Airflow: the service over the stack's box office, each real-time reseller's settings
recorded and key issued into its file, its sandbox started with that key; the sales-report
connections the stack gives Airflow reach the sandboxes through the HTTP provider's hook,
as the nightly reconciliation does; the onboarding's test order placed as
:class:`~devtools.devstack.RealtimeAtWork` places it and found by the onboarding's step;
the sandbox customers' sales in the dashboard's day."""

from __future__ import annotations

import datetime as dt
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from sqlalchemy.orm import Session

from devtools.devstack import (
    APPROVAL_TASKS,
    REALTIME_RESELLERS,
    Ports,
    RealtimeAtWork,
    Stack,
    StackError,
    free_ports,
    realtime_settings,
)
from devtools.sandboxes.realtime.ledger import Ledger
from reseller_sync.airflow.steps import DRY_RUN, RESEND_SALE_SHEET
from reseller_sync.boxoffice import db
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.core.resellers import adapter, reseller_type
from reseller_sync.realtime import onboarding as onboarding_module
from reseller_sync.realtime.onboarding import RealtimeOnboarding

CONCERT = "EVT-LUMEN"


@pytest.fixture(scope="module")
def box_office(
    sqlite_demo_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A copy of the demo box office, the default database of this process too."""
    path = tmp_path_factory.mktemp("realtime-stack") / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, path)
    url = f"sqlite:///{path}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(db.URL_VARIABLE, url)
        db.default_engine.cache_clear()
        yield url
    db.default_engine.cache_clear()


@pytest.fixture(scope="module")
def stack(box_office: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The service and the two real-time sandboxes on free ports, a customer a second; one
    stack for the module's tests, in their order."""
    state = tmp_path_factory.mktemp("stack")
    stack = Stack(
        state_dir=state,
        airflow_home=state / "airflow",
        ports=Ports(*free_ports(4)),
        host="127.0.0.1",
        env={db.URL_VARIABLE: box_office},
        name="real-time sandboxes",
        realtime=True,
        realtime_customers_every=1,
    )
    try:
        stack.fresh_state()
        stack.start_realtime()
        yield stack
    finally:
        stack.stop(quiet=True)


def wait_until(stack: Stack, ready: Any, what: str, seconds: float = 60) -> Any:
    try:
        return stack.wait_for(ready, what, seconds)
    except StackError as error:
        pytest.fail(f"{error}\n{stack.log_tails(20)}")


def test_the_stack_places_the_test_order_when_the_step_that_waits_for_it_waits() -> None:
    for reseller in REALTIME_RESELLERS:
        tasks = [step.task_id for step in adapter(reseller).onboarding_steps()]
        assert RealtimeAtWork.TEST_ORDER_TASK in tasks
        assert APPROVAL_TASKS[reseller] in tasks
        customer_reference = Ledger(reseller).next_reference(REALTIME_RESELLERS[reseller])
        test_prefix = realtime_settings(reseller).test_order.reference_prefix
        assert not customer_reference.startswith(test_prefix), "a customer's order as the test"


def test_the_service_and_both_sandboxes_answer_with_the_keys_issued(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reseller_sync.realtime.reconciliation import http_hook_getter

    ports = stack.ports
    assert len({ports.realtime, ports.digitick_report, ports.classictic_report}) == 3
    assert httpx.get(f"{stack.realtime_url}/health", timeout=10).status_code == 200
    keys = {}
    for reseller in REALTIME_RESELLERS:
        key_file = stack.api_key_file(reseller)
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        keys[reseller] = key_file.read_text().strip()
        assert keys[reseller].startswith("rsk_")
        answer = httpx.get(
            f"{stack.realtime_url}/products",
            headers={"Authorization": f"Bearer {keys[reseller]}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["reseller_id"] == reseller
    assert len(set(keys.values())) == 2
    logs = "".join(log.read_text(errors="replace") for log in stack.logs.glob("*.log"))
    assert not any(key in logs for key in keys.values()), "a key in the logs"

    connections = stack.connections()
    for variable, value in connections.items():
        monkeypatch.setenv(variable, value)
    today = dt.datetime.now(dt.UTC).date()
    for reseller in REALTIME_RESELLERS:
        conn_id = realtime_settings(reseller).sales_report.connection_id
        assert f"AIRFLOW_CONN_{conn_id.upper()}" in connections
        get = http_hook_getter(conn_id, timeout=5)

        def answered(get: Any = get) -> int | None:
            try:
                return int(get(today).status)
            except Exception:
                return None

        # The key of the connection accepted (else 401); today is not closed yet.
        assert wait_until(stack, answered, f"{reseller}'s sales report") == 409

    # The customers reach the service with the key of their file (nothing on sale yet).
    for reseller in REALTIME_RESELLERS:
        log = stack.logs / f"{reseller}-sandbox.log"
        wait_until(
            stack,
            lambda log=log: "nothing on sale" in log.read_text(errors="replace"),
            f"{reseller}'s customers",
        )


def test_the_test_order_is_placed_found_and_the_customers_sales_reach_the_dashboard(
    stack: Stack, box_office: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reseller_sync.dashboard.queries import day_sales, organiser_today
    from reseller_sync.digitick.settings import load_settings

    monkeypatch.setattr(
        onboarding_module, "form_values", lambda: {DRY_RUN: False, RESEND_SALE_SHEET: False}
    )
    onboarding = RealtimeOnboarding(reseller_type("digitick"), load_settings)
    onboarding.put_on_channel(CONCERT)  # what the run has done when it asks for the order

    digitick = RealtimeAtWork(stack, "digitick", CONCERT)
    reference = digitick.place_test_order()
    assert reference.startswith("DGT-TEST-")
    checked = onboarding.check_test_order(CONCERT)
    assert isinstance(checked, dict)
    assert checked["reseller_order_ref"] == reference
    assert checked["cancellation"], "cancelled by the organiser"
    wait_until(
        stack,
        lambda: _learned(stack, "digitick", reference),
        "Digitick's books to learn the organiser's cancellation of its test order",
    )

    sold = wait_until(stack, lambda: digitick.sales()[0], "Digitick's customers to buy")
    assert sold > 0
    settings = load_settings()
    engine = make_engine(box_office)
    try:
        with Session(engine) as session:
            sales = day_sales(session, "digitick", settings, organiser_today(settings))
    finally:
        engine.dispose()
    assert sales.tickets >= sold, "every ticket the customers bought is on the dashboard"
    assert sales.orders > 0
    assert [line.key for line in sales.by_product] == [CONCERT]


def _learned(stack: Stack, reseller: str, reference: str) -> bool:
    """Whether the sandbox's books (its serving process polls ``GET /orders`` each round)
    hold the test order cancelled by the organiser."""
    from devtools.sandboxes.realtime.cli import Books

    with Books(stack.realtime_books(reseller), reseller).open() as ledger:
        lines = [
            line for o in ledger.orders if o.reseller_order_ref == reference for line in o.lines
        ]
        ours = [c for c in ledger.cancellations if c.reseller_order_ref == reference]
    return bool(lines) and all(line.cancelled for line in lines) and len(ours) == 1


class _Run:
    """The stack as :meth:`RealtimeAtWork.play_round` asks it: the waiting step's states."""

    def __init__(self, states: list[str | None]) -> None:
        self.states = states

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        assert task_id == RealtimeAtWork.TEST_ORDER_TASK
        return self.states.pop(0)


def test_the_test_order_goes_once_its_step_has_waited_the_grace_in_one_attempt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    moments = iter([0.0, 4.0, 8.0, 11.0, 20.0, 30.0, 31.0])
    monkeypatch.setattr("devtools.devstack.time.monotonic", lambda: next(moments))
    states: list[str | None] = [
        "running",  # 0 s: its first look
        "deferred",  # 4 s: the attempt waits from now
        "running",  # 8 s: a look
        "deferred",  # 11 s: 7 s of waiting
        "up_for_retry",  # the attempt failed (the scheduler's race): wait afresh
        "queued",
        "deferred",  # 20 s: the new attempt waits from now
        "running",  # 30 s: the grace is over, but the step is looking
        "deferred",  # 31 s: now
        "deferred",
    ]
    player = RealtimeAtWork(cast(Stack, _Run(states)), "classictic", CONCERT, grace_seconds=10)
    placed: list[str] = []

    def place() -> str:
        placed.append("CTT-TEST-1")
        return placed[-1]

    monkeypatch.setattr(player, "place_test_order", place)
    for _ in range(9):
        player.play_round()
    assert placed == ["CTT-TEST-1"]
    assert player.test_order == "CTT-TEST-1"
    assert states == ["deferred"], "placed at the ninth look, not before, once"
