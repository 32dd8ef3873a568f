"""The hourly DAG, run whole with dag.test() against the sandbox, a mail sink and SQLite."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reseller_sync.airflow.inbound_dag import build_inbound_dag
from reseller_sync.boxoffice.models import Alert, ExchangeFile, FileState, Ticket
from reseller_sync.fnac.adapter import RESELLER_TYPE as FNAC
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.writer import write_file
from tests.dags.conftest import FnacWorld
from tests.fnac.test_sales import concert_date, line


def drop_sales(world: FnacWorld, seq: int, lines: list[dict[str, object]]) -> str:
    created = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10 * (5 - seq))
    name, data = write_file(FileType.VENTES, "M0427", seq, lines, created=created)
    (world.retour / name).write_bytes(data)
    return name


def task_states(run) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def test_an_hourly_run_integrates_the_sales(fnac_world: FnacWorld) -> None:
    with Session(fnac_world.engine) as session:
        concert = concert_date(session)
    drop_sales(fnac_world, 1, [line(1, date_seance=concert), line(2, date_seance=concert)])

    run = build_inbound_dag(FNAC).test()

    assert str(run.state) == "success", task_states(run)
    with Session(fnac_world.engine) as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 2
        assert session.scalars(select(ExchangeFile.state)).all() == [FileState.INTEGRATED]
    assert fnac_world.mail.messages() == []


def test_a_mapping_error_fails_the_run_at_once_and_mails_what_to_fix(
    fnac_world: FnacWorld,
) -> None:
    with Session(fnac_world.engine) as session:
        concert = concert_date(session)
    name = drop_sales(fnac_world, 1, [line(1, date_seance=concert, categorie_client="31")])

    run = build_inbound_dag(FNAC).test()

    states = task_states(run)
    assert str(run.state) == "failed", states
    assert states["integrate_sales"] == "failed"
    assert states["integrate_cancellations"] == "upstream_failed"
    [mail] = fnac_world.mail.messages()
    assert mail["Subject"] == f"[FNAC] Erreur de mapping — fnac_inbound.integrate_sales — {name}"
    body = mail.get_body(preferencelist=("html",)).get_content()
    assert f"{name}:1:categorie_client" in body
    assert "Corrigez le mapping" in body
    with Session(fnac_world.engine) as session:
        alert = session.scalars(select(Alert)).one()
        assert (alert.category, alert.delivered) == ("mapping", True)
        assert session.scalars(select(ExchangeFile.state)).all() == [FileState.FAILED]
