"""Faults that fail a task, run through the hourly DAG (``dag.test()``, real SFTP, real SMTP).

Each test ends the same way: the failed task, the e-mail's category and subject in the
mail sink (and its Alert row), and the box office holding exactly what the files that
should have been integrated imply.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from devtools.sandboxes.fnac import DropConnection, connection_env_var, sandbox_connection_json
from reseller_sync.airflow.failures import RETRY_POLICY
from reseller_sync.boxoffice.models import Alert, ExchangeFile, FileState
from reseller_sync.domain.errors import TemporaryExternalError
from reseller_sync.fnac.names import FileName, FileType
from reseller_sync.fnac.writer import write_file
from tests.dags.conftest import _forget_dag_runs
from tests.fnac.test_sales import line
from tests.reliability.conftest import DagWorld, task_states
from tests.reliability.implied import assert_box_office_holds

pytestmark = pytest.mark.timeout(180)

LABEL = {"mapping": "Erreur de mapping", "external": "Erreur externe"}


def expect_alert(world: DagWorld, category: str, task: str, file: str | None) -> None:
    """The one e-mail of the run: its category and subject, and its Alert row."""
    subject = " — ".join(
        part for part in (f"[FNAC] {LABEL[category]}", f"fnac_inbound.{task}", file) if part
    )
    mails = world.base.mail.messages()
    assert [m["Subject"] for m in mails] == [subject]
    with Session(world.engine) as session:
        alert = session.scalars(select(Alert)).one()
    assert (alert.category, alert.subject, alert.delivered) == (category, subject, True)


def stamp(world: DagWorld) -> dt.datetime:
    world.clock.advance(minutes=5)
    return world.clock.now


def hand_written(world: DagWorld, file_type: FileType, seq: int, records: list[Any]) -> str:
    """A file FNAC writes by hand into /retour/ (the partner cannot get it wrong this way)."""
    name, data = write_file(file_type, "M0427", seq, records, created=stamp(world))
    (world.retour / name).write_bytes(data)
    return name


def some_sold_ticket(world: DagWorld, name: str) -> dict[str, Any]:
    from reseller_sync.fnac.codec import read_file

    frame = read_file(name, (world.retour / name).read_bytes()).frame
    return frame[frame["date_seance"].notna()].iloc[0].to_dict()


# Faults in the files and their lines ---------------------------------------------------


def truncated(world: DagWorld) -> str:
    return world.partner.emit_ventes(lines=6, fault="truncated") or ""


def wrong_encoding(world: DagWorld) -> str:
    return world.partner.emit_ventes(lines=6, fault="wrong-encoding") or ""


def trailer_mismatch(world: DagWorld) -> str:
    name = world.partner.emit_ventes(lines=6) or ""
    path = world.retour / name
    data = path.read_bytes()
    trailer = data.rindex(b"FIN;")
    seq, count, control = data[trailer:-2].decode().split(";")[1:]
    path.write_bytes(data[:trailer] + f"FIN;{seq};{int(count) + 1};{control}\r\n".encode())
    return name


def strict_price(world: DagWorld) -> str:
    return world.partner.emit_ventes(lines=4, fault="price") or ""


def outside_quota(world: DagWorld) -> str:
    return world.partner.emit_ventes(lines=4, fault="outside-allotment") or ""


def new_category(world: DagWorld) -> str:
    return world.partner.emit_ventes(lines=4, fault="new-category") or ""


def unknown_mapping(world: Any) -> str:
    sold = some_sold_ticket(world, world.good)
    record = line(
        1, id_billet="X000000001", code_manifestation="999999", date_seance=sold["date_seance"]
    )
    return hand_written(world, FileType.VENTES, 2, [record])


def barcode_exists(world: Any) -> str:
    sold = some_sold_ticket(world, world.good)
    return hand_written(
        world,
        FileType.VENTES,
        2,
        [
            line(
                1,
                id_vente="X000000001",
                id_billet="X000000001",
                date_seance=sold["date_seance"],
                code_bloc="FOSSE",
                rang=None,
                place=None,
                type_tarif="4",
                prix_ttc=4500,
                code_barre=sold["code_barre"],
            )
        ],
    )


def cancellation_never_sold(world: DagWorld) -> str:
    return hand_written(
        world,
        FileType.ANNUL,
        1,
        [
            {
                "id_annulation": "C000000001",
                "id_vente": "V9999999999",
                "id_billet": "B999999999",
                "code_barre": "401234599999999",
                "montant_rembourse": 6850,
                "devise": "EUR",
                "motif": "CLIENT",
                "code_point_vente": "FR0751",
                "date_annulation": world.clock.now,
            }
        ],
    )


FILE_FAULTS = [
    pytest.param(truncated, "external", "integrate_sales", id="truncated"),
    pytest.param(trailer_mismatch, "external", "integrate_sales", id="trailer-mismatch"),
    pytest.param(wrong_encoding, "external", "integrate_sales", id="wrong-encoding"),
    pytest.param(unknown_mapping, "mapping", "integrate_sales", id="unknown-mapping"),
    pytest.param(strict_price, "external", "integrate_sales", id="price-strict"),
    pytest.param(new_category, "mapping", "integrate_sales", id="new-category"),
    pytest.param(outside_quota, "external", "integrate_sales", id="outside-quota"),
    pytest.param(barcode_exists, "external", "integrate_sales", id="barcode-exists"),
    pytest.param(
        cancellation_never_sold, "external", "integrate_cancellations", id="cancel-never-sold"
    ),
]


@pytest.mark.parametrize(("make_fault", "category", "task"), FILE_FAULTS)
def test_a_faulty_file_fails_its_task_alone_and_nothing_of_it_gets_in(
    dag_world: DagWorld, make_fault: Any, category: str, task: str
) -> None:
    good = dag_world.partner.emit_ventes(lines=6) or ""
    dag_world.good = good  # type: ignore[attr-defined]
    bad = make_fault(dag_world)

    run = dag_world.run()

    states = task_states(run)
    assert states[task] == "failed", states
    assert str(run.state) == "failed"
    with Session(dag_world.engine) as session:
        entry = session.scalars(select(ExchangeFile).where(ExchangeFile.name == bad)).one()
        assert (entry.state, entry.error_category) == (FileState.FAILED, category)
    expect_alert(dag_world, category, task, bad)
    assert_box_office_holds(dag_world.engine, dag_world.files(good))


# Faults of the server and of the network -------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_sftp_server_down_for_a_whole_run_fails_landing_then_the_next_run_catches_up(
    dag_world: DagWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [dag_world.partner.emit_ventes(lines=5) or "" for _ in range(2)]
    sandbox = dag_world.base.sandbox
    up = os.environ[connection_env_var("fnac_sftp")]
    monkeypatch.setenv(
        connection_env_var("fnac_sftp"),
        sandbox_connection_json("127.0.0.1", free_port(), conn_timeout=2),
    )

    run = dag_world.run(land_files=0)  # the last try: the retries are the policy's business

    states = task_states(run)
    assert states["land_files"] == "failed", states
    assert states["integrate_sales"] == "upstream_failed"
    expect_alert(dag_world, "external", "land_files", None)
    decision = RETRY_POLICY.evaluate(TemporaryExternalError("cannot reach"), 1, 5)
    assert decision.action.value == "retry"
    assert_box_office_holds(dag_world.engine, [])

    monkeypatch.setenv(connection_env_var("fnac_sftp"), up)
    assert sandbox.port
    _forget_dag_runs()  # an operator clears the failed run
    run = dag_world.run()
    assert str(run.state) == "success", task_states(run)
    assert_box_office_holds(dag_world.engine, dag_world.files(*names))


def test_a_connection_dropped_during_a_download_lands_nothing_then_everything_once(
    dag_world: DagWorld,
) -> None:
    names = [dag_world.partner.emit_ventes(lines=30) or "" for _ in range(2)]
    dag_world.base.sandbox.faults.inject(names[1], DropConnection(after_bytes=3000))

    run = dag_world.run(land_files=0)

    assert task_states(run)["land_files"] == "failed"
    expect_alert(dag_world, "external", "land_files", None)
    with Session(dag_world.engine) as session:
        landed = session.scalars(select(ExchangeFile.name).where(ExchangeFile.name.in_(names)))
        assert list(landed) == []
    assert_box_office_holds(dag_world.engine, [])

    dag_world.base.sandbox.faults.clear()
    _forget_dag_runs()
    run = dag_world.run()
    assert str(run.state) == "success", task_states(run)
    assert_box_office_holds(dag_world.engine, dag_world.files(*names))


@pytest.mark.parametrize("kind", ["oversized", "hostile-name"])
def test_a_file_refused_on_the_server_is_reported_and_the_others_integrated(
    dag_world: DagWorld, kind: str
) -> None:
    good = dag_world.partner.emit_ventes(lines=5) or ""
    refused = str(FileName.build(FileType.VENTES, "M0427", 2, stamp(dag_world)))
    if kind == "oversized":
        with open(dag_world.retour / refused, "wb") as handle:
            handle.truncate(201 * 1024 * 1024)  # sparse: over the 200 MiB limit, no disk used
    else:
        refused = ".." + refused
        (dag_world.retour / refused).write_bytes(b"evil")

    run = dag_world.run()

    states = task_states(run)
    assert states["report_refused_files"] == "failed", states
    assert states["integrate_sales"] == "success"
    expect_alert(dag_world, "external", "report_refused_files", None)
    body = dag_world.base.mail.messages()[0].get_body(preferencelist=("html",)).get_content()
    assert refused in body
    assert_box_office_holds(dag_world.engine, dag_world.files(good))


def test_smtp_down_when_an_alert_is_sent_still_records_and_logs_it(
    dag_world: DagWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    good = dag_world.partner.emit_ventes(lines=4) or ""
    bad = new_category(dag_world)
    dag_world.base.mail.stop()

    run = dag_world.run()

    assert task_states(run)["integrate_sales"] == "failed"
    with Session(dag_world.engine) as session:
        alert = session.scalars(select(Alert)).one()
    subject = f"[FNAC] Erreur de mapping — fnac_inbound.integrate_sales — {bad}"
    assert (alert.category, alert.subject, alert.delivered) == ("mapping", subject, False)
    assert alert.delivery_error
    assert f"Alert {alert.id} not e-mailed" in caplog.text
    assert_box_office_holds(dag_world.engine, dag_world.files(good))
