"""Crashes in the middle of a SecuTix TICKETS file (``secutix-reseller-v1`` section 9.1
point 4: a file is applied whole, in one transaction, or not at all): the worker killed
(SIGKILL) and the database connection killed (``pg_terminate_backend``), then the run again.
Below the DAG level, as for FNAC's files (``test_crash.py``) and Ticketnet's batches
(``test_crash_ticketnet.py``): the journal's state, the error's category and the retry
policy's decision, then exactly-once. The reseller is its sandbox (``SecutixPartner``), its
contingent given by the organiser's OFFER and CONTINGENT, answered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from devtools.sandboxes.connection import connection_env_var, sandbox_connection_json
from devtools.sandboxes.secutix import SecutixPartner, secutix_server
from devtools.sandboxes.sftp import demo_user
from reseller_sync.airflow.failures import RETRY_POLICY
from reseller_sync.boxoffice.db import session_scope
from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    ExchangeFile,
    FileState,
    Order,
    PendingAccountMovement,
    Performance,
    Product,
    Quota,
    Ticket,
    TicketState,
)
from reseller_sync.pipelines import inbound
from reseller_sync.secutix.adapter import inbound_files
from reseller_sync.secutix.inbound import transport_for
from reseller_sync.secutix.settings import load_settings
from tests.reliability.implied import assert_box_office_holds_facts, implied_by_secutix
from tests.reliability.test_crash import (
    connection_killed_at_the_first_tickets,
    kill_mid_transaction,
)
from tests.secutix.secutix_world import DAY_START, SETTINGS, Clock, World, set_up

RESELLER = "secutix"
PASS_PLACES = 1500
"""The reseller's quota on the undated pass, raised before the CONTINGENT is sent (a test
set-up, not a fault): enough for a file of a few thousand lines."""


def raise_pass_quota(engine: Engine, places: int) -> None:
    with session_scope(engine) as session:
        quotas = (
            select(Quota.id)
            .join(Performance, Performance.id == Quota.performance_id)
            .join(Product, Product.id == Performance.product_id)
            .where(Quota.code == "Q-SECUTIX", Product.code == "PASS-MAH-LIBRE")
        )
        assert session.scalar(select(func.count()).select_from(quotas.subquery()))
        session.execute(update(Quota).where(Quota.id.in_(quotas)).values(places=places))


@pytest.fixture
def world(demo_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The SecuTix world of tests/secutix on the demo box office (SQLite and PostgreSQL): the
    reseller's sandbox over SFTP, its contingent on the two products given."""
    settings_file = tmp_path / "secutix.yaml"
    settings_file.write_text(SETTINGS)
    clock = Clock(DAY_START)
    with secutix_server(tmp_path / "sftp", [demo_user()]) as server:
        monkeypatch.setenv(
            connection_env_var("secutix_sftp"), sandbox_connection_json(server.host, server.port)
        )
        partner = SecutixPartner(server.root, clock=clock, seed=11)
        built = World(demo_engine, server, partner, clock, load_settings(settings_file))
        raise_pass_quota(demo_engine, PASS_PLACES)
        set_up(built)
        yield built


def tick(
    world: World, orders: int, *, prints: int = 0, cancellations: int = 0, refunds: int = 0
) -> tuple[str, bytes]:
    """Fifteen minutes of the reseller; its TICKETS file (name, bytes)."""
    world.clock.now += dt.timedelta(minutes=15)
    name = world.partner.tick(
        orders=orders, prints=prints, cancellations=cancellations, refunds=refunds, renames=0
    )
    return name, (world.partner.outbox / name).read_bytes()


def land(world: World) -> None:
    inbound.land_new_files(world.engine, RESELLER, transport_for(world.settings))


def integrate(world: World) -> inbound.TypeIntegration:
    return inbound.integrate_pending(
        world.engine, world.settings, inbound_files(world.settings), "TICKETS"
    )


def entry(engine: Engine, name: str) -> ExchangeFile:
    with Session(engine, expire_on_commit=False) as session:
        return session.scalars(
            select(ExchangeFile).where(ExchangeFile.name == name.replace(".csv", ".ctl"))
        ).one()


def holdings(engine: Engine) -> dict[str, int]:
    """What the box office holds of the reseller's sales."""
    with Session(engine) as session:

        def count(*where: Any) -> int:
            return session.scalar(select(func.count()).where(*where)) or 0

        return {
            "valid": count(Ticket.reseller_code == RESELLER, Ticket.state == TicketState.VALID),
            "cancelled": count(
                Ticket.reseller_code == RESELLER, Ticket.state == TicketState.CANCELLED
            ),
            "orders": count(Order.reseller_code == RESELLER),
            "movements": session.scalar(select(func.count(PendingAccountMovement.id))) or 0,
            "access": session.scalar(select(func.count(AccessControlEntry.id))) or 0,
        }


def states(data: bytes) -> dict[str, int]:
    lines = data.decode().splitlines()[1:]
    found: dict[str, int] = {}
    for line in lines:
        state = line.split(";")[1]
        found[state] = found.get(state, 0) + 1
    return found


@pytest.mark.slow
def test_a_worker_killed_mid_file_leaves_nothing_and_the_rerun_applies_it_once(
    world: World, tmp_path: Path
) -> None:
    """SIGKILL while TICKETS file 2 (1,779 lines: 1,735 new tickets sold, known tickets of
    file 1 printed, cancelled and refunded) is applied, its tickets, orders and access entries
    written and uncommitted; then the task runs again."""
    first = tick(world, orders=100)
    land(world)
    assert [f.name for f in integrate(world).files] == [first[0].replace(".csv", ".ctl")]
    second = tick(world, orders=2000, prints=10, cancellations=10, refunds=10)
    assert states(second[1]).keys() >= {"SOLD", "PRINTED", "CANCELLED", "REFUNDED"}
    land(world)
    before = holdings(world.engine)

    kill_mid_transaction(world.engine, tmp_path, RESELLER, "TICKETS")

    killed = entry(world.engine, second[0])
    assert (killed.state, killed.error_category) == (FileState.LANDED, None)
    assert holdings(world.engine) == before, "nothing of the file is in the box office"
    assert_box_office_holds_facts(world.engine, implied_by_secutix([first]))

    lines = len(second[1].decode().splitlines()) - 1
    result = integrate(world)
    assert [(f.name, f.lines) for f in result.files] == [(killed.name, lines)]
    assert integrate(world).files == ()
    implied = implied_by_secutix([first, second])
    facts = assert_box_office_holds_facts(world.engine, implied)
    assert (lines, states(second[1])) == (
        1779,
        {"SOLD": 1735, "PRINTED": 15, "CANCELLED": 11, "REFUNDED": 18},
    )
    assert facts.counts() == {"tickets": 1950, "orders": 1013, "movements": 1023, "access": 1950}
    assert sum(m.startswith("secutix:refund:") for m in facts.movements) == 10
    after = holdings(world.engine)
    assert (after["valid"], after["cancelled"]) == (1921, 29)
    assert entry(world.engine, second[0]).state is FileState.INTEGRATED


@pytest.mark.parametrize("database_kind", ["postgresql"], indirect=True)
def test_the_database_connection_killed_mid_file_is_retried_and_applied_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pg_terminate_backend`` from another connection while the second file's tickets are
    written: the file fails whole (technical, retried), the first stays applied, and the retry
    applies the second once."""
    first = tick(world, orders=100)
    land(world)
    integrate(world)
    second = tick(world, orders=300, prints=10, cancellations=10, refunds=10)
    assert states(second[1]).keys() >= {"SOLD", "PRINTED", "CANCELLED", "REFUNDED"}
    land(world)
    applied_first = holdings(world.engine)
    with (
        connection_killed_at_the_first_tickets(world.engine, monkeypatch) as killed,
        pytest.raises(sqlalchemy.exc.OperationalError) as raised,
    ):
        integrate(world)
    assert killed

    assert holdings(world.engine) == applied_first, "nothing of the second file"
    assert_box_office_holds_facts(world.engine, implied_by_secutix([first]))
    failed = entry(world.engine, second[0])
    assert (failed.state, failed.error_category) == (FileState.FAILED, "technical")
    assert "OperationalError" in (failed.error_message or "")
    decision = RETRY_POLICY.evaluate(raised.value, try_number=1, max_tries=5)
    assert decision.action.value == "retry", decision

    assert [f.name for f in integrate(world).files] == [failed.name]
    assert integrate(world).files == ()
    assert_box_office_holds_facts(world.engine, implied_by_secutix([first, second]))
    assert entry(world.engine, second[0]).state is FileState.INTEGRATED
