"""A realistic day of the SecuTix reseller against the organiser's inbound run, over real
SFTP (``secutix-reseller-v1`` sections 3, 6, 7 and 9.1): the organiser's OFFER and
CONTINGENT are answered by the reseller's sandbox, which then sells, prints, cancels,
refunds and renames for a day, writing a TICKETS file every 15 minutes; every run lands and
integrates them in number order. Afterwards the box office holds exactly the reseller's
tickets in their states, and no contact value is stored anywhere."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from devtools.sandboxes.connection import connection_env_var, sandbox_connection_json
from devtools.sandboxes.secutix import SecutixPartner, secutix_server
from devtools.sandboxes.secutix.people import LOCAL_TIME
from devtools.sandboxes.sftp import SandboxServer, demo_user
from reseller_sync.boxoffice import db
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    ExchangeFile,
    FileState,
    MovementKind,
    PendingAccountMovement,
    Ticket,
    TicketState,
)
from reseller_sync.domain.errors import SyncError
from reseller_sync.secutix import inbound
from reseller_sync.secutix.contingent import contingent_lines
from reseller_sync.secutix.offer import offer_file
from reseller_sync.secutix.settings import SecutixSettings, load_settings
from reseller_sync.secutix.writer import OrganiserFile

PRODUCTS = ("EVT-LUMEN", "PASS-MAH-LIBRE")
SALES_OPEN = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
DAY_START = dt.datetime(2026, 12, 5, 9, 0, tzinfo=LOCAL_TIME)
SETTINGS = """\
sftp:
  connection_id: secutix_sftp
boxoffice:
  channel: SECUTIX
  point_of_sale: SECUTIX-RESEAU
  paying_contact: SECUTIX-TECH
  quota: Q-SECUTIX
prices:
  policy: strict
  includes_commission: true
notifications:
  language: en
  error_emails: [billetterie-exploitation@example.org]
  secutix_contact_email: partenaires@billetterie-partenaire.example
tariffs_offered: [PLEIN, REDUIT]
products: [EVT-LUMEN, PASS-MAH-LIBRE]
"""


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class World:
    engine: Engine
    server: SandboxServer
    partner: SecutixPartner
    clock: Clock
    settings: SecutixSettings

    @property
    def home(self) -> Path:
        return self.partner.home

    def send(self, built: OrganiserFile) -> None:
        """An organiser file in ``/to_reseller/``: the data file, then its control file."""
        (self.home / "to_reseller" / str(built.name)).write_bytes(built.data)
        (self.home / "to_reseller" / str(built.name.control)).write_bytes(built.control)

    def run(self) -> dict[str, object]:
        """One inbound run: landing, then the TICKETS stream."""
        landing = inbound.land_new_files(self.settings)
        return {
            "landing": landing,
            "integration": inbound.integrate_stream(self.settings, "TICKETS").summary,
        }


@pytest.fixture
def world(
    sqlite_demo_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    box_office = tmp_path / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, box_office)
    monkeypatch.setenv(db.URL_VARIABLE, f"sqlite:///{box_office}")
    db.default_engine.cache_clear()
    engine = make_engine(f"sqlite:///{box_office}")
    settings_file = tmp_path / "secutix.yaml"
    settings_file.write_text(SETTINGS)
    settings = load_settings(settings_file)
    clock = Clock(DAY_START)
    with secutix_server(tmp_path / "sftp", [demo_user()]) as server:
        monkeypatch.setenv(
            connection_env_var("secutix_sftp"), sandbox_connection_json(server.host, server.port)
        )
        partner = SecutixPartner(server.root, clock=clock, seed=7)
        yield World(engine, server, partner, clock, settings)
    engine.dispose()
    db.default_engine.cache_clear()


def set_up(world: World) -> None:
    """The reseller holds the offer and the contingent of the two products: files 1 and 2."""
    with Session(world.engine) as session:
        world.send(
            offer_file(
                session,
                1,
                PRODUCTS,
                tariffs=world.settings.tariffs_offered_for,
                sales_open=SALES_OPEN,
            )
        )
        world.send(contingent_lines(session, list(PRODUCTS)).file(2))
    answers = world.partner.pickup()
    assert [answer.status for answer in answers] == ["OK", "OK"], answers


def box_office_tickets(world: World) -> dict[str, tuple[str, str | None, bool]]:
    with Session(world.engine) as session:
        rows = session.execute(
            select(Ticket.barcode, Ticket.state, Ticket.reseller_state, AccessControlEntry.allowed)
            .join(AccessControlEntry, AccessControlEntry.ticket_id == Ticket.id)
            .where(Ticket.reseller_code == "secutix")
        ).all()
    return {
        barcode: (TicketState(state).value, reported, allowed)
        for barcode, state, reported, allowed in rows
    }


def reseller_tickets(world: World) -> dict[str, tuple[str, str | None, bool]]:
    """What the reseller says of each ticket it ever reported: its state in the box
    office's words."""
    words = {"SOLD": "sold", "PRINTED": "printed", "CANCELLED": "cancelled", "REFUNDED": "refunded"}
    found = {}
    for ticket in world.partner.snapshot().tickets.values():
        if ticket.pending:
            continue
        state = words[ticket.state]
        valid = state in {"sold", "printed"}
        found[ticket.barcode] = ("valid" if valid else "cancelled", state, valid)
    return found


def test_a_day_of_sales_ends_with_exactly_the_resellers_tickets(world: World) -> None:
    set_up(world)
    for quarter in range(4 * 10):
        world.clock.now = DAY_START + dt.timedelta(minutes=15 * (quarter + 1))
        world.partner.tick(orders=2 if quarter < 24 else 1)
        if quarter % 3 == 2:  # the run is late twice in three: files wait, in order
            world.run()
    world.run()

    with Session(world.engine) as session:
        states = set(
            session.scalars(select(ExchangeFile.state).where(ExchangeFile.file_type == "TICKETS"))
        )
        landed = session.scalar(
            select(func.count())
            .select_from(ExchangeFile)
            .where(ExchangeFile.file_type == "TICKETS")
        )
    assert states == {FileState.INTEGRATED}
    assert landed == 40
    expected = reseller_tickets(world)
    assert expected, "the sandbox sold nothing"
    assert box_office_tickets(world) == expected
    assert {state for _, state, _ in expected.values()} >= {"sold", "printed", "cancelled"}
    outbox = world.home / "to_organiser"
    assert not [p.name for p in outbox.iterdir() if p.name.startswith("TICKETS")]
    assert len(list((outbox / "done").glob("TICKETS_*"))) == 2 * 40, "data and control files"


def test_refunds_credit_the_pending_account_once_per_order_and_file(world: World) -> None:
    set_up(world)
    world.clock.now += dt.timedelta(minutes=15)
    world.partner.tick(orders=3, prints=0, cancellations=0, refunds=0, renames=0)
    world.clock.now += dt.timedelta(minutes=15)
    world.partner.tick(orders=0, prints=0, cancellations=0, refunds=2, renames=0)
    world.run()

    with Session(world.engine) as session:
        refunds = session.execute(
            select(PendingAccountMovement.reference, PendingAccountMovement.amount).where(
                PendingAccountMovement.kind == MovementKind.REFUND
            )
        ).all()
    assert len(refunds) == 2
    assert all(reference.endswith(":TICKETS_00000002.csv") for reference, _ in refunds)
    assert box_office_tickets(world) == reseller_tickets(world)


def test_no_contact_value_is_stored_anywhere(world: World) -> None:
    set_up(world)
    for quarter in range(8):
        world.clock.now = DAY_START + dt.timedelta(minutes=15 * (quarter + 1))
        world.partner.tick(orders=3)
    world.run()

    contacts = world.partner.contact_values()
    assert contacts
    with Session(world.engine) as session:
        stored: list[str] = []
        for table in ("exchange_file", "exchange_file_member", "ticket", "sales_order", "alert"):
            if session.execute(
                text(f"SELECT name FROM sqlite_master WHERE name = '{table}'")
            ).first():
                stored.extend(str(row) for row in session.execute(text(f"SELECT * FROM {table}")))
    dump = "\n".join(stored)
    assert not [value for value in contacts if value in dump]
    assert box_office_tickets(world) == reseller_tickets(world)


def test_a_forbidden_transition_stops_the_stream_until_the_file_is_replaced(world: World) -> None:
    set_up(world)
    world.clock.now += dt.timedelta(minutes=15)
    world.partner.tick(orders=2, prints=0, cancellations=1, refunds=0, renames=0)
    world.clock.now += dt.timedelta(minutes=15)
    forbidden = world.partner.tick(
        orders=0, prints=0, cancellations=0, refunds=0, renames=0, fault="revived"
    )
    world.clock.now += dt.timedelta(minutes=15)
    behind = world.partner.tick(orders=1)

    with pytest.raises(SyncError) as raised:
        world.run()
    assert "T10" in str(raised.value.problems[0])
    with Session(world.engine) as session:
        by_name = dict(session.execute(select(ExchangeFile.name, ExchangeFile.state)).all())
    assert by_name[forbidden.replace(".csv", ".ctl")] is FileState.FAILED
    assert by_name[behind.replace(".csv", ".ctl")] is FileState.LANDED

    world.partner.replace(forbidden)
    world.run()
    assert box_office_tickets(world) == reseller_tickets(world)
