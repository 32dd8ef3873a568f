"""A realistic day of the SecuTix reseller against the organiser's inbound run, over real
SFTP (``secutix-reseller-v1`` sections 3, 6, 7 and 9.1): the organiser's OFFER and
CONTINGENT are answered by the reseller's sandbox, which then sells, prints, cancels,
refunds and renames for a day, writing a TICKETS file every 15 minutes; every run lands and
integrates them in number order. Afterwards the box office holds exactly the reseller's
tickets in their states, and no contact value is stored anywhere."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

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
from tests.secutix.secutix_world import DAY_START, World, secutix_world, set_up


@pytest.fixture
def world(
    sqlite_demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    with secutix_world(sqlite_demo_template, tmp_path, monkeypatch) as built:
        yield built


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
    outbox = world.partner.outbox
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
