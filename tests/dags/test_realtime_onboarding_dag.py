"""``digitick_onboarding__evt-lumen`` run whole with ``dag.test()``: the reseller, played by
a thread, places its test order over HTTP against the service once the concert is on its
channel; a person approves under Required Actions; the run ends live."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice import db
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    OnboardingState,
    Product,
    RealtimeReseller,
    ResellerProduct,
)
from reseller_sync.core import resellers
from reseller_sync.realtime.settings import issue_key
from tests.realtime.realtime_sales import order_over_http, serving

CONCERT = "EVT-LUMEN"


@pytest.fixture
def box_office(
    sqlite_demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """A copy of the demo box office as the default database."""
    path = tmp_path / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, path)
    monkeypatch.setenv(db.URL_VARIABLE, f"sqlite:///{path}")
    db.default_engine.cache_clear()
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()
    db.default_engine.cache_clear()


class ResellerBuying:
    """Digitick's side: once its settings are recorded (the concert put on its channel), it
    gets its key and places the test order through the service, once."""

    def __init__(self, engine: Engine, base_url: str) -> None:
        self.engine, self.base_url = engine, base_url
        self.order: dict[str, Any] | None = None
        self.errors: list[Exception] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ResellerBuying:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while self.order is None and not self._stop.wait(0.5):
            try:
                with Session(self.engine) as session, session.begin():
                    if session.get(RealtimeReseller, "digitick") is None:
                        continue
                    key = issue_key(session, "digitick", dt.datetime.now(dt.UTC))
                self.order = order_over_http(self.base_url, key, CONCERT, "DGT-TEST-4242")
            except Exception as error:  # a round failed (SQLite busy): tried again
                self.errors.append(error)


def states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_concert_goes_live_at_digitick_step_by_step(
    airflow_db: None, box_office: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session

    from reseller_sync.airflow.onboarding_dag import ProductPoll, build_onboarding_dag
    from tests.dags.conftest import PersonAtRequiredActions

    monkeypatch.setenv("RESELLER_SYNC_POKE_SECONDS", "1")
    with create_session() as session:
        session.query(TaskInstance).delete()
        session.query(DagRun).delete()
    dag = build_onboarding_dag(resellers.reseller_type("digitick"), CONCERT)
    assert dag.dag_id == "digitick_onboarding__evt-lumen"
    assert [t.task_id for t in dag.tasks if isinstance(t, ProductPoll)] == ["check_test_order"]
    with (
        serving(box_office) as service,
        ResellerBuying(box_office, service.base_url) as reseller,
        PersonAtRequiredActions(dag.dag_id, "confirm_at_reseller") as person,
    ):
        run = dag.test()

    assert str(run.state) == "success", (states(run), reseller.errors)
    assert set(states(run).values()) == {"success"}
    assert person.answered.is_set()
    assert reseller.order is not None
    barcodes = [ticket["barcode"] for ticket in reseller.order["tickets"]]
    with Session(box_office) as session:
        assert session.scalars(
            select(AccessControlEntry.allowed).where(AccessControlEntry.barcode.in_(barcodes))
        ).all() == [False, False]
        state = session.scalar(
            select(ResellerProduct.state)
            .join(Product, ResellerProduct.product_id == Product.id)
            .where(ResellerProduct.reseller_code == "digitick", Product.code == CONCERT)
        )
    assert state == OnboardingState.LIVE


def test_a_poll_step_defers_between_two_looks_and_fails_late() -> None:
    """The operator of a ``PollStep``: a look, then a deferral to a timer while the step says
    NOT_YET; the result once it comes; the step's own error once ``within`` has passed."""
    from airflow.providers.standard.triggers.temporal import DateTimeTrigger
    from airflow.sdk.exceptions import TaskDeferred

    from reseller_sync.airflow.onboarding_dag import ProductPoll
    from reseller_sync.airflow.steps import NOT_YET, PollStep

    answers: list[Any] = [NOT_YET, {"done": True}]
    step = PollStep(
        task_id="wait_for_it",
        check=lambda product: answers.pop(0),
        within=dt.timedelta(hours=1),
        late=lambda product: RuntimeError(f"{product} late"),
        doc_md="Wait for it.",
    )
    task = ProductPoll.for_product(CONCERT, step, task_id="wait_for_it")
    task.poll_seconds = 5

    with pytest.raises(TaskDeferred) as deferred:
        task.execute(context={})
    assert isinstance(deferred.value.trigger, DateTimeTrigger)
    assert deferred.value.method_name == "look_again"
    deadline = deferred.value.kwargs["deadline"]
    assert dt.datetime.fromisoformat(deadline) > dt.datetime.now(dt.UTC)
    assert task.look_again({}, None, deadline=deadline) == {"done": True}

    answers.append(NOT_YET)
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    with pytest.raises(RuntimeError, match="EVT-LUMEN late"):
        task.look_again({}, None, deadline=past)
