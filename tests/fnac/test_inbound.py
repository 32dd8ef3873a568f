"""The inbound run over real SFTP: land, integrate in order, the cascade guard, the watchdog."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from devtools.sandboxes.fnac import SandboxServer
from devtools.sandboxes.fnac.server import DEMO_USERNAME
from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    ExchangeFile,
    FileState,
    MovementKind,
    Order,
    OrderState,
    PendingAccountMovement,
    ResellerCustomerCategory,
    Ticket,
    TicketState,
)
from reseller_sync.config.paths import mappings_dir
from reseller_sync.domain.errors import ExternalError, MappingError
from reseller_sync.fnac.adapter import RESELLER_TYPE
from reseller_sync.fnac.inbound_files import FnacInboundFiles
from reseller_sync.fnac.mappings import load_repository
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.outbound import transport_for
from reseller_sync.fnac.settings import FnacSettings, load_settings
from reseller_sync.fnac.watchdog import check_files_late, late_files
from reseller_sync.fnac.writer import write_file
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.pipelines import inbound
from tests.fnac.test_sales import concert_date, line

T0 = dt.datetime(2026, 11, 28, 12, 5, tzinfo=dt.UTC)


@dataclass
class World:
    engine: Engine
    settings: FnacSettings
    repository: MappingRepository
    retour: Path
    concert: dt.datetime

    def drop(
        self, file_type: FileType, seq: int, records: list[dict[str, object]], *, hours: int = 0
    ) -> str:
        """FNAC writes a file into /retour/ (atomically, as FNAC does)."""
        created = T0 + dt.timedelta(hours=hours)
        name, data = write_file(file_type, "M0427", seq, records, created=created)
        part = self.retour / f"{name}.part"
        part.write_bytes(data)
        part.rename(self.retour / name)
        return name

    def run(self) -> dict[str, inbound.TypeIntegration]:
        """One hourly run: land, then CATCLI, VENTES, ANNUL, stopping at the first failure."""
        inbound.land_new_files(self.engine, "fnac", transport_for(self.settings))
        return {
            file_type: inbound.integrate_pending(
                self.engine,
                self.settings,
                FnacInboundFiles(self.settings, self.repository),
                file_type,
            )
            for file_type in (stream.code for stream in RESELLER_TYPE.streams)
        }

    def count(self, model: type, *where: object) -> int:
        with Session(self.engine) as session:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def states(self) -> dict[str, FileState]:
        with Session(self.engine) as session:
            return dict(session.execute(select(ExchangeFile.name, ExchangeFile.state)).all())


@pytest.fixture
def world(demo_engine: Engine, sandbox: SandboxServer, sandbox_conn_id: str) -> World:
    settings = load_settings()
    settings = settings.model_copy(
        update={"sftp": settings.sftp.model_copy(update={"connection_id": sandbox_conn_id})}
    )
    with Session(demo_engine) as session:
        concert = concert_date(session)
    return World(
        demo_engine, settings, load_repository(), sandbox.home(DEMO_USERNAME) / "retour", concert
    )


def cancellation(n: int, ticket: int, **values: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id_annulation": f"C{n:09d}",
        "id_vente": f"V{ticket:010d}",
        "id_billet": f"B{ticket:09d}",
        "code_barre": f"4012345{ticket:08d}",
        "montant_rembourse": 6500,
        "devise": "EUR",
        "motif": "CLIENT",
        "code_point_vente": "FR0751",
        "date_annulation": T0 + dt.timedelta(hours=2),
    }
    base.update(values)
    return base


def categories(*extra: tuple[str, str]) -> list[dict[str, object]]:
    listed = [
        ("0", "Normal"),
        ("15", "Adhérent"),
        ("20", "Adhérent opération spéciale"),
        ("22", "Comité d'entreprise"),
        *extra,
    ]
    return [
        {"categorie_client": code, "libelle": label, "actif": True, "date_modification": T0}
        for code, label in listed
    ]


def test_an_hour_of_files_is_integrated_in_order(world: World) -> None:
    world.drop(FileType.CATCLI, 1, categories(("31", "Carte Fnac+ Jeunes")))
    world.drop(
        FileType.VENTES, 1, [line(1, date_seance=world.concert), line(2, date_seance=world.concert)]
    )
    world.drop(FileType.VENTES, 2, [line(3, date_seance=world.concert)], hours=1)
    world.drop(FileType.ANNUL, 1, [cancellation(1, ticket=2)], hours=1)

    report = world.run()

    [catcli] = report["CATCLI"].files
    assert [c.code for c in catcli.outcome.unmapped.categories] == ["31"]
    assert [f.name[:16] for f in report["VENTES"].files] == ["VENTES_M0427_000", "VENTES_M0427_000"]
    assert [f.outcome.tickets for f in report["VENTES"].files] == [2, 1]
    assert report["ANNUL"].files[0].outcome.cancelled == 1
    assert set(world.states().values()) == {FileState.INTEGRATED}
    assert world.count(ResellerCustomerCategory) == 5

    assert world.count(Ticket, Ticket.state == TicketState.VALID) == 2
    assert world.count(AccessControlEntry, AccessControlEntry.allowed.is_(False)) == 1
    assert (
        world.count(PendingAccountMovement, PendingAccountMovement.kind == MovementKind.REFUND) == 1
    )
    with Session(world.engine) as session:
        refund = session.scalars(
            select(PendingAccountMovement).where(PendingAccountMovement.kind == MovementKind.REFUND)
        ).one()
        assert (refund.amount, refund.reference) == (6500, "fnac:refund:C000000001")
        order = session.scalars(select(Order).where(Order.reseller_order_id == "V0000000002")).one()
        assert order.state is OrderState.CANCELLED

    again = world.run()
    assert all(not r.files for r in again.values()), "a second run integrates nothing twice"


def test_a_failing_file_stops_the_files_behind_it_until_fixed(world: World, tmp_path: Path) -> None:
    """The cascade scenario: file 2 of 3 fails, then is fixed; every ticket once."""
    first = world.drop(FileType.VENTES, 1, [line(1, date_seance=world.concert)])
    second = world.drop(
        FileType.VENTES,
        2,
        [line(2, date_seance=world.concert, categorie_client="31", prix_ttc=5850)],
        hours=1,
    )
    third = world.drop(FileType.VENTES, 3, [line(3, date_seance=world.concert)], hours=2)
    world.drop(FileType.ANNUL, 1, [cancellation(1, ticket=3)], hours=2)

    for _attempt in range(2):
        with pytest.raises(MappingError) as raised:
            world.run()
        assert raised.value.file == second
        states = world.states()
        assert (states[first], states[second], states[third]) == (
            FileState.INTEGRATED,
            FileState.FAILED,
            FileState.LANDED,
        )
        assert [state for name, state in states.items() if name.startswith("ANNUL")] == [
            FileState.LANDED
        ]
        assert world.count(Ticket) == 1

    with Session(world.engine) as session:
        failed = session.scalars(select(ExchangeFile).where(ExchangeFile.name == second)).one()
        assert [(e.line, e.column, e.value) for e in failed.errors] == [
            (1, "categorie_client", "31")
        ]
        assert failed.error_category == "mapping"

    fixed = tmp_path / "mappings"
    shutil.copytree(mappings_dir("fnac"), fixed)
    shared = fixed / "_shared.yaml"
    shared.write_text(
        shared.read_text().replace('FNAC_ADHERENT: "15|20"', 'FNAC_ADHERENT: "15|20|31"')
    )
    world.repository = load_repository(fixed)

    report = world.run()
    assert [f.name for f in report["VENTES"].files] == [second, third]
    assert report["ANNUL"].files[0].outcome.cancelled == 1
    assert set(world.states().values()) == {FileState.INTEGRATED}
    assert world.count(Ticket) == 3
    assert (
        world.count(PendingAccountMovement, PendingAccountMovement.kind == MovementKind.SALE) == 3
    )


def test_annul_waits_while_a_sales_file_is_stuck(world: World) -> None:
    world.drop(FileType.VENTES, 1, [line(1, date_seance=world.concert, categorie_client="31")])
    world.drop(FileType.ANNUL, 1, [cancellation(1, ticket=1)], hours=1)
    inbound.land_new_files(world.engine, "fnac", transport_for(world.settings))
    with pytest.raises(MappingError):
        inbound.integrate_pending(
            world.engine,
            world.settings,
            FnacInboundFiles(world.settings, world.repository),
            FileType.VENTES,
        )
    waiting = inbound.integrate_pending(
        world.engine,
        world.settings,
        FnacInboundFiles(world.settings, world.repository),
        FileType.ANNUL,
    )
    assert waiting.files == ()
    assert waiting.waiting_for is not None
    assert "failed" in waiting.waiting_for


def test_a_corrupt_file_is_refused_whole_with_its_problems(world: World) -> None:
    name = world.drop(FileType.VENTES, 1, [line(1, date_seance=world.concert)])
    path = world.retour / name
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(ExternalError) as raised:
        world.run()
    assert raised.value.file == name
    with Session(world.engine) as session:
        entry = session.scalars(select(ExchangeFile)).one()
        assert (entry.state, entry.error_category) == (FileState.FAILED, "external")
        assert entry.errors
    assert world.count(Ticket) == 0


def test_the_same_content_under_a_new_name_is_set_aside(world: World) -> None:
    world.drop(FileType.VENTES, 1, [line(1, date_seance=world.concert)])
    world.run()
    original = next(world.retour.glob("VENTES_*"))
    resent = world.retour / original.name.replace("20261128120500", "20261128130500")
    resent.write_bytes(original.read_bytes())
    landing = inbound.land_new_files(world.engine, "fnac", transport_for(world.settings))
    assert [name for name, _reason in landing.ignored] == [resent.name]
    assert world.count(Ticket) == 1


def test_a_gap_holds_the_files_behind_it_and_the_watchdog_says_so(world: World) -> None:
    world.drop(FileType.VENTES, 1, [line(1, date_seance=world.concert)])
    world.drop(FileType.VENTES, 3, [line(3, date_seance=world.concert)], hours=2)
    report = world.run()
    assert [f.outcome.tickets for f in report["VENTES"].files] == [1]
    assert report["VENTES"].missing == (2,)
    with Session(world.engine) as session:
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)
        assert not [p for p in late_files(session, world.settings, soon) if "missing" in p.reason]
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
        with pytest.raises(ExternalError) as raised:
            check_files_late(session, world.settings, later)
    assert raised.value.message == "FNAC files late"
    assert any("VENTES sequence(s) 000002 missing" in p.reason for p in raised.value.problems)


def test_the_watchdog_notices_when_fnac_stops_sending_sales(world: World) -> None:
    world.drop(FileType.VENTES, 1, [])
    world.run()
    silence = world.settings.nightly.ventes_silence_alert_hours
    assert silence is not None
    with Session(world.engine) as session:
        check_files_late(session, world.settings, T0 + dt.timedelta(hours=silence - 1))
        with pytest.raises(ExternalError) as raised:
            check_files_late(session, world.settings, T0 + dt.timedelta(hours=silence + 1))
    assert "no VENTES file for" in raised.value.problems[0].reason
