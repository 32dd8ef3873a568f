"""``realtime_hold_sweep``: every minute, no catch-up, one run at a time; run whole with
``dag.test()`` on a demo box office where Digitick's holds pile up, it counts the expired
and active holds and tells Digitick's addresses, once."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice import db
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import Alert, RealtimeHold
from reseller_sync.core.resellers import reseller_type
from reseller_sync.digitick.settings import load_settings
from reseller_sync.realtime.holds import create_hold
from reseller_sync.realtime.onboarding import put_on_channel, record_settings
from reseller_sync.realtime.product_check import check_product
from reseller_sync.realtime.settings import reseller_context

DAG_FILE = Path(__file__).resolve().parents[2] / "dags" / "realtime_hold_sweep.py"


def test_it_runs_every_minute_one_run_at_a_time_without_catching_up(airflow_db: None) -> None:
    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    dag = bag.get_dag("realtime_hold_sweep")
    assert dag is not None
    assert dag.schedule == "* * * * *"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert [task.task_id for task in dag.tasks] == ["sweep_expired_holds"]


@pytest.fixture
def box_office(
    sqlite_demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """A copy of the demo box office as the default database, with the concert on
    Digitick's channel; the include folder copied, Digitick alerting above 2 active holds."""
    from reseller_sync.config.paths import INCLUDE_DIR_VARIABLE, include_dir

    include = tmp_path / "include"
    shutil.copytree(include_dir(), include)
    settings = include / "config" / "resellers" / "digitick.yaml"
    settings.write_text(
        settings.read_text().replace("active_holds_alert: 500", "active_holds_alert: 2")
    )
    monkeypatch.setenv(INCLUDE_DIR_VARIABLE, str(include))
    path = tmp_path / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, path)
    monkeypatch.setenv(db.URL_VARIABLE, f"sqlite:///{path}")
    db.default_engine.cache_clear()
    engine = make_engine(f"sqlite:///{path}")
    digitick = load_settings()
    with Session(engine) as session, session.begin():
        verdict = check_product(reseller_type("digitick"), session, digitick, "EVT-LUMEN")
        plan = verdict.raise_for_problems().plan
        assert plan is not None
        put_on_channel(session, plan, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        record_settings(session, reseller_type("digitick"), digitick)
    yield engine
    engine.dispose()
    db.default_engine.cache_clear()


def _holds(engine: Engine, count: int, seconds: int, now: dt.datetime) -> None:
    with Session(engine) as session, session.begin():
        context = reseller_context(session, "digitick")
        for _ in range(count):
            create_hold(
                session,
                context,
                {
                    "lines": [{"performance_id": "S1", "category_id": "FOSSE", "quantity": 1}],
                    "expires_in": seconds,
                },
                now,
            )


def _run(dag: Any) -> dict[str, Any]:
    run = dag.test()
    assert str(run.state) == "success"
    [ti] = run.get_task_instances()
    result: dict[str, Any] = ti.xcom_pull(task_ids="sweep_expired_holds")
    return result


@pytest.mark.timeout(240)
def test_it_counts_the_holds_and_tells_digitick_once_when_they_pile_up(
    airflow_db: None, box_office: Engine
) -> None:
    now = dt.datetime.now(dt.UTC)
    # The expiring ones last: a hold taken in a quota counts the expired holds before it.
    _holds(box_office, 3, 600, now - dt.timedelta(seconds=30))
    _holds(box_office, 2, 5, now - dt.timedelta(seconds=30))
    bag = DagBag(dag_folder=str(DAG_FILE))
    dag = bag.get_dag("realtime_hold_sweep")

    first = _run(dag)
    second = _run(dag)

    assert (first["expired"], first["active"]) == (2, 3)
    assert first["active_by_reseller"] == {"digitick": 3}
    assert first["piling_up"] == ["digitick"]
    assert first["told"] == ["digitick"]
    assert (second["expired"], second["active"], second["told"]) == (0, 3, []), "once an hour"
    with Session(box_office) as session:
        alerts = session.scalars(select(Alert).where(Alert.kind == "holds_piling_up")).all()
        assert len(alerts) == 1
        assert alerts[0].subject.startswith("[Digitick] ")
        assert "3" in alerts[0].body
        assert alerts[0].recipients == "billetterie-exploitation@example.org"
        swept = session.scalars(
            select(RealtimeHold.id).where(RealtimeHold.swept_at.is_not(None))
        ).all()
        assert len(swept) == 2
