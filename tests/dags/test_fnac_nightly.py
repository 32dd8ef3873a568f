"""The nightly DAG, run whole with dag.test() against the sandbox playing FNAC, a mail sink
and SQLite: FNAC holds the concert, sold some of it, writes its ETATPL, and answers the
DECONT while the sensor waits."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devtools.sandboxes.fnac.codebook import CodeBook
from devtools.sandboxes.fnac.partner import FnacPartner, PartnerLoop
from devtools.sandboxes.fnac.server import DEMO_USERNAME
from reseller_sync.airflow.nightly_dag import build_nightly_dag
from reseller_sync.boxoffice.models import (
    Alert,
    ExchangeFile,
    FileState,
    Performance,
    PlaceWithdrawal,
    Product,
    QuotaSeat,
    WithdrawalState,
)
from reseller_sync.config.settings import load_settings
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.reader import read_file
from reseller_sync.mappings.repository import load_repository
from reseller_sync.pipelines import inbound
from reseller_sync.pipelines.outbound import transport_for
from reseller_sync.pipelines.places import send_places
from reseller_sync.pipelines.reconciliation import REPORTS_DIR_VARIABLE
from reseller_sync.pipelines.sale_sheet import send_sale_sheet
from reseller_sync.pipelines.withdrawal import request_withdrawal
from tests.dags.conftest import FnacWorld
from tests.dags.test_fnac_inbound import task_states

SEATED_BLOCS = {"B": ("PARTERRE", "P2"), "TB2": ("BAS", "B"), "TH2": ("HAUT", "K")}
"""FNAC's seated blocs of the concert → the box office's zone and block (include/mappings)."""


@pytest.fixture
def reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(REPORTS_DIR_VARIABLE, str(tmp_path / "reports"))
    return tmp_path / "reports"


def fnac_holds_the_concert(world: FnacWorld) -> FnacPartner:
    """The concert onboarded: FICHE and PLACES sent by the box office and applied by FNAC."""
    settings = load_settings()
    transport = transport_for(settings)
    sales_open = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    send_sale_sheet(world.engine, transport, settings, "EVT-LUMEN", sales_open=sales_open)
    send_places(world.engine, transport, settings, "EVT-LUMEN")
    partner = FnacPartner(world.sandbox.root, DEMO_USERNAME, CodeBook.from_mappings(), seed=7)
    assert [answer.status for answer in partner.process_depot()] == ["OK", "OK"]
    return partner


def seat_of(world: FnacWorld, record: dict[str, object]) -> tuple[str, tuple[str, str, str, str]]:
    """A seated VENTES line → (performance code, the seat in the organiser's words)."""
    zone, block = SEATED_BLOCS[str(record["code_bloc"])]
    with Session(world.engine) as session:
        code = session.scalar(
            select(Performance.code)
            .join(Product)
            .where(Product.code == "EVT-LUMEN", Performance.starts_at == record["date_seance"])
        )
    assert code is not None
    return code, (zone, block, str(record["rang"]), str(record["place"]))


def test_a_night_reconciles_withdraws_and_exports(fnac_world: FnacWorld, reports: Path) -> None:
    settings = load_settings()
    partner = fnac_holds_the_concert(fnac_world)
    partner.emit_ventes(lines=4)  # sold and integrated by the hourly run
    inbound.land_new_files(fnac_world.engine, inbound.transport_for(settings))
    inbound.integrate_pending(fnac_world.engine, settings, load_repository(), FileType.VENTES)
    late = partner.emit_ventes(lines=4)  # sold, not integrated yet: FNAC's VENDU, not ours
    assert late is not None
    late_lines = read_file(late, (fnac_world.retour / late).read_bytes()).frame
    seated = late_lines[late_lines["rang"].notna()].to_dict("records")
    assert seated, "the seeded draw sells at least one seat"
    sold_performance, sold_seat = seat_of(fnac_world, seated[0])
    free_seat = ("HAUT", "K", "10", "20")
    with sessionmaker(fnac_world.engine).begin() as session:
        request_withdrawal(
            session, settings, "EVT-LUMEN", sold_performance, seats=[sold_seat, free_seat]
        )
    partner.emit_etatpl()

    loop = PartnerLoop(partner, interval=0.5)
    loop.start()
    try:
        run = build_nightly_dag(
            ack_poke_interval=dt.timedelta(seconds=1), ack_timeout=dt.timedelta(minutes=2)
        ).test()
    finally:
        loop.stop()

    states = task_states(run)
    assert str(run.state) == "success", states
    assert set(states.values()) == {"success"}
    with Session(fnac_world.engine) as session:
        etatpl = session.scalars(
            select(ExchangeFile).where(ExchangeFile.file_type == FileType.ETATPL.value)
        ).one()
        assert etatpl.state is FileState.INTEGRATED
        decont = session.scalars(
            select(ExchangeFile).where(ExchangeFile.file_type == FileType.DECONT.value)
        ).one()
        assert decont.state is FileState.ACKNOWLEDGED
        withdrawals = session.scalars(select(PlaceWithdrawal).order_by(PlaceWithdrawal.id)).all()
        assert [(w.state, w.error_code) for w in withdrawals] == [
            (WithdrawalState.REFUSED_SOLD, "E07"),
            (WithdrawalState.WITHDRAWN, None),
        ]
        held = set(
            session.scalars(
                select(QuotaSeat.seat_id).where(
                    QuotaSeat.seat_id.in_([w.seat_id for w in withdrawals]),
                    QuotaSeat.performance_id == withdrawals[0].performance_id,
                )
            )
        )
        assert held == {withdrawals[0].seat_id}  # the sold seat stays FNAC's, the other is back
        alerts = {alert.kind: alert for alert in session.scalars(select(Alert))}
    assert set(alerts) == {"seat_lists_differ", "places_sold_not_withdrawn"}
    assert alerts["seat_lists_differ"].category == "external"
    assert "sold by FNAC, sale not integrated" in alerts["seat_lists_differ"].body
    report = reports / "reconciliation" / f"{Path(etatpl.name).stem}.html"
    assert report.exists()
    assert str(report) in alerts["seat_lists_differ"].body
    mails = fnac_world.mail.messages()
    alerts_mailed = [m["Subject"] for m in mails if m["Subject"].startswith("[FNAC] Erreur")]
    assert len(alerts_mailed) == 2
    assert all(s.startswith("[FNAC] Erreur externe — fnac_nightly.") for s in alerts_mailed)
    [summary] = [m for m in mails if m["Subject"].startswith("[FNAC] Ventes du")]
    [attached] = list(summary.iter_attachments())
    assert attached.get_filename().startswith("fnac-sales-")
    assert b"<title>FNAC sales of " in attached.get_content()
    exported = sorted(p.name for p in (reports / "access_control").iterdir())
    assert exported
    assert all(name.startswith("EVT-LUMEN_S") and name.endswith(".csv") for name in exported)
