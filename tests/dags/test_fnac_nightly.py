"""The nightly DAG, run whole with dag.test() against the sandbox playing FNAC, a mail sink
and SQLite: FNAC holds the concert, sold some of it, writes its ETATPL, and answers the
DECONT while the task waits in the trigger. A past night run again reports that night's
sales; the day a run covers comes from its data interval, the nights the clocks change
included."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pendulum
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devtools.sandboxes.fnac.codebook import CodeBook
from devtools.sandboxes.fnac.partner import FnacPartner, PartnerLoop
from devtools.sandboxes.fnac.server import DEMO_USERNAME
from reseller_sync.airflow.nightly_dag import (
    SCHEDULE,
    NightDates,
    build_nightly_dag,
    night_dates,
    run_dates,
)
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
from reseller_sync.config.paths import REPORTS_DIR_VARIABLE
from reseller_sync.fnac.adapter import RESELLER_TYPE as FNAC
from reseller_sync.fnac.inbound_files import FnacInboundFiles
from reseller_sync.fnac.mappings import load_repository
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.outbound import transport_for
from reseller_sync.fnac.places import send_places
from reseller_sync.fnac.reader import read_file
from reseller_sync.fnac.sale_sheet import send_sale_sheet
from reseller_sync.fnac.settings import load_settings
from reseller_sync.fnac.withdrawal import request_withdrawal
from reseller_sync.pipelines import inbound
from tests.dags.conftest import FnacWorld
from tests.dags.test_fnac_inbound import task_states

PARIS = ZoneInfo("Europe/Paris")
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
    inbound.land_new_files(fnac_world.engine, "fnac", transport_for(settings))
    inbound.integrate_pending(
        fnac_world.engine, settings, FnacInboundFiles(settings, load_repository()), FileType.VENTES
    )
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
            FNAC, ack_poke_interval=dt.timedelta(seconds=1), ack_timeout=dt.timedelta(minutes=2)
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
    alerts_mailed = [m for m in mails if m["Subject"].startswith("[FNAC] Erreur")]
    assert len(alerts_mailed) == 2
    assert all(
        m["Subject"].startswith("[FNAC] Erreur externe — fnac_nightly.") for m in alerts_mailed
    )
    by_task = {m["Subject"].split(" — ")[1]: m for m in alerts_mailed}
    assert set(by_task) == {"fnac_nightly.reconcile_seats", "fnac_nightly.report_withdrawals"}
    e07 = body_text(by_task["fnac_nightly.report_withdrawals"])
    assert "Rien à faire : ces places ont été vendues par FNAC avant le retrait" in e07
    assert "Relancez la tâche" not in e07, "the task succeeded: nothing to retry"
    # Run without a logical date given, dag.test() takes now: the run covers yesterday.
    yesterday = run.logical_date.astimezone(PARIS).date() - dt.timedelta(days=1)
    summary = sales_summary_mail(mails, yesterday)
    [attached] = list(summary.iter_attachments())
    assert attached.get_filename() == f"fnac-sales-{yesterday.isoformat()}.html"
    assert (attached.get_content_type(), attached.get_content_charset()) == ("text/html", "utf-8")
    assert "<title>FNAC sales of " in attached.get_content()
    exported = sorted(p.name for p in (reports / "access_control").iterdir())
    assert exported
    assert all(name.startswith("EVT-LUMEN_S") and name.endswith(".csv") for name in exported)


def body_text(mail: EmailMessage) -> str:
    """The text/plain alternative of a mail (line ends as newlines)."""
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def sales_summary_mail(mails: list[EmailMessage], day: dt.date) -> EmailMessage:
    """The one sales summary of ``day``: its text and HTML, then the report attached."""
    [summary] = [m for m in mails if m["Subject"] == f"[FNAC] Ventes du {day:%d/%m/%Y}"]
    assert summary.get_content_type() == "multipart/mixed"
    alternative = next(summary.iter_parts())
    assert [part.get_content_type() for part in alternative.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    return summary


def partner_at(world: FnacWorld, clock: Callable[[], dt.datetime]) -> FnacPartner:
    return FnacPartner(
        world.sandbox.root, DEMO_USERNAME, CodeBook.from_mappings(), seed=11, clock=clock
    )


def test_a_past_night_run_again_reports_that_night(fnac_world: FnacWorld, reports: Path) -> None:
    """The concert onboarded four days ago; FNAC sold on the night's day, on the day after
    and today. Re-running the night of that day (logical date: 03:00 the morning after)
    e-mails that day's sales and no other, whatever the clock says."""
    settings = load_settings()
    transport = transport_for(settings)
    today = dt.datetime.now(PARIS).date()
    day = today - dt.timedelta(days=2)
    moment = [dt.datetime.combine(day - dt.timedelta(days=2), dt.time(10), PARIS)]
    partner = partner_at(fnac_world, lambda: moment[0])
    send_sale_sheet(fnac_world.engine, transport, settings, "EVT-LUMEN", sales_open=moment[0])
    send_places(fnac_world.engine, transport, settings, "EVT-LUMEN")
    assert [answer.status for answer in partner.process_depot()] == ["OK", "OK"]
    sold: dict[dt.date, list[dict[str, object]]] = {}
    for when in (
        dt.datetime.combine(day, dt.time(12), PARIS),
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time(12), PARIS),
        dt.datetime.now(PARIS),
    ):
        moment[0] = when
        name = partner.emit_ventes(lines=3)
        assert name is not None
        lines = read_file(name, (fnac_world.retour / name).read_bytes()).frame
        sold[when.date()] = lines.to_dict("records")
    inbound.land_new_files(fnac_world.engine, "fnac", transport_for(settings))
    integrated = inbound.integrate_pending(
        fnac_world.engine, settings, FnacInboundFiles(settings, load_repository()), FileType.VENTES
    )
    assert [file.lines for file in integrated.files] == [3, 3, 3], "sold on three days"

    night = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(3), PARIS)
    run = build_nightly_dag(FNAC).test(logical_date=night)

    assert str(run.state) == "success", task_states(run)
    assert run.data_interval_end == night
    mails = fnac_world.mail.messages()
    assert [m["Subject"] for m in mails if " Ventes du " in m["Subject"]] == [
        f"[FNAC] Ventes du {day:%d/%m/%Y}"
    ]
    mail = sales_summary_mail(mails, day)
    lines = sold[day]
    orders = len({line["id_vente"] for line in lines})
    amounts: dict[str, int] = {}
    for line in lines:
        amounts[str(line["devise"])] = amounts.get(str(line["devise"]), 0) + int(line["prix_ttc"])
    shown = " + ".join(
        f"{cents / 100:.2f} {currency}" for currency, cents in sorted(amounts.items())
    )
    assert body_text(mail).startswith(
        f"Ventes FNAC du {day:%d/%m/%Y} : {len(lines)} billet(s) en {orders} commande(s), {shown}."
    )
    [attached] = list(mail.iter_attachments())
    assert attached.get_filename() == f"fnac-sales-{day.isoformat()}.html"
    assert attached.get_content_type() == "text/html"
    report = attached.get_content()
    assert shown in report
    assert (reports / "sales" / f"fnac-sales-{day.isoformat()}.html").read_text() == report


@pytest.mark.parametrize(
    ("runs_at", "today", "day"),
    [
        # An ordinary night: the run of 2 December 03:00 covers 1 December.
        (dt.datetime(2026, 12, 2, 3, 0), dt.date(2026, 12, 2), dt.date(2026, 12, 1)),
        # The clocks go forward at 02:00 on the last Sunday of March: a 23-hour night.
        (dt.datetime(2026, 3, 29, 3, 0), dt.date(2026, 3, 29), dt.date(2026, 3, 28)),
        (dt.datetime(2026, 3, 30, 3, 0), dt.date(2026, 3, 30), dt.date(2026, 3, 29)),
        # They go back at 03:00 on the last Sunday of October: a 25-hour night.
        (dt.datetime(2026, 10, 25, 3, 0), dt.date(2026, 10, 25), dt.date(2026, 10, 24)),
        (dt.datetime(2026, 10, 26, 3, 0), dt.date(2026, 10, 26), dt.date(2026, 10, 25)),
        # Late in the evening, when UTC is already the next day or still the same one.
        (dt.datetime(2026, 10, 25, 23, 30), dt.date(2026, 10, 25), dt.date(2026, 10, 24)),
    ],
)
def test_the_day_a_run_covers_comes_from_its_data_interval(
    runs_at: dt.datetime, today: dt.date, day: dt.date
) -> None:
    end = runs_at.replace(tzinfo=PARIS)
    assert night_dates(end, "Europe/Paris") == NightDates(today)
    assert night_dates(end.astimezone(dt.UTC), "Europe/Paris").day == day
    context = {"data_interval_end": pendulum.instance(end).in_tz("UTC"), "dag_run": None}
    assert run_dates(context, load_settings()).day == day


def test_a_run_without_a_data_interval_covers_the_day_before_it_was_asked() -> None:
    class Run:
        run_after = dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)  # 03:30 in Paris (CEST)

    context = {"data_interval_end": None, "dag_run": Run()}
    assert run_dates(context, load_settings()) == NightDates(dt.date(2026, 3, 29))
    with pytest.raises(ValueError, match="no time zone"):
        night_dates(dt.datetime(2026, 3, 29, 3), "Europe/Paris")


def test_the_schedule_gives_each_night_the_day_before_dst_changes_included() -> None:
    """The scheduler's own timetable: each run at 03:00 venue time has a data interval
    ending then, so the runs around both clock changes cover each day once."""
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    dag = build_nightly_dag(FNAC, timezone="Europe/Paris")
    timetable = coerce_to_core_timetable(dag.timetable)
    assert timetable.summary == SCHEDULE
    for first in (dt.date(2026, 3, 27), dt.date(2026, 10, 23)):
        earliest = pendulum.datetime(first.year, first.month, first.day, tz="Europe/Paris")
        last: DataInterval | None = None
        covered = []
        for _ in range(4):
            info = timetable.next_dagrun_info(
                last_automated_data_interval=last,
                restriction=TimeRestriction(earliest=earliest, latest=None, catchup=True),
            )
            assert info is not None
            last = info.data_interval
            end = last.end.in_tz("Europe/Paris")
            assert (end.hour, end.minute) == (3, 0)
            covered.append(night_dates(last.end, "Europe/Paris").day)
        # The first run after midnight of ``first`` is at 03:00 that day: it covers the day before.
        assert covered == [first + dt.timedelta(days=n - 1) for n in range(4)]
    manual = timetable.infer_manual_data_interval(
        run_after=pendulum.datetime(2026, 10, 25, 3, tz="Europe/Paris")
    )
    assert night_dates(manual.end, "Europe/Paris").day == dt.date(2026, 10, 24)
