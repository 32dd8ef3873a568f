"""Crashes in the middle of a SecuTix TICKETS file (``secutix-reseller-v1`` section 9.1
points 1 and 4: files applied in number order, each whole, in one transaction, or not at
all; section 7.2: each allowed transition applied once): the worker killed (SIGKILL, a
real process) and the database connection killed (``pg_terminate_backend``), then the run
again. Below the DAG level, as for FNAC's files (``test_crash.py``) and Ticketnet's
batches (``test_crash_ticketnet.py``): the journal's state, the error's category and the
retry policy's decision, then exactly-once.

The reseller is its sandbox (``SecutixPartner``), its contingent given by the organiser's
OFFER and CONTINGENT, answered. It writes three TICKETS files: sales (some sold and
cancelled or refunded between two files), then sales with tickets of file 1 printed,
cancelled, refunded and renamed, then no sale, only tickets of files 1 and 2 changing
state (the state-based upsert by barcode). The crash comes at one of
:data:`~tests.reliability.secutix_crash_kit.KILL_POINTS`, after file 1 was applied; each
test ends with the box office the files imply (tickets, orders, movements, access
entries; each barcode's reported state and refund; the contingent's counts) and equal,
row by row, to a clean run of the same files on a copy of the same box office."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
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
from reseller_sync.boxoffice.models import ExchangeFile, FileState, Performance, Product, Quota
from reseller_sync.pipelines import inbound
from reseller_sync.secutix.adapter import inbound_files
from reseller_sync.secutix.inbound import transport_for
from reseller_sync.secutix.settings import load_settings
from tests.reliability.implied import assert_box_office_holds_facts, implied_by_secutix
from tests.reliability.secutix_crash_kit import (
    KILL_POINTS,
    RESELLER,
    STREAM,
    KillPoint,
    assert_same_box_office,
    box_office_copy,
    committed_holdings,
    connection_killed_at,
    implied_sold,
    implied_states,
    kill_worker_at,
    reported_states,
    snapshot,
    stock,
    transitions,
)
from tests.secutix.secutix_world import DAY_START, SETTINGS, Clock, World, set_up

PASS_PLACES = 1500
"""The reseller's quota on the undated pass, raised before the CONTINGENT is sent (a test
set-up, not a fault): room for the files' sales beside the concert's seats."""
FILES = (
    {"orders": 120, "prints": 0, "cancellations": 3, "refunds": 3, "renames": 0},
    {"orders": 250, "prints": 10, "cancellations": 8, "refunds": 8, "renames": 5},
    {"orders": 0, "prints": 10, "cancellations": 10, "refunds": 12, "renames": 3},
)
"""The reseller's customers in the quarters of TICKETS files 1, 2 and 3."""


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


@dataclass(frozen=True)
class Played:
    """The reseller's three TICKETS files, landed; file 1 applied."""

    files: list[tuple[str, bytes]]
    """Data files (name, bytes), by number."""
    entries: list[ExchangeFile]
    """Their journal entries (the control files), by number."""
    given: dict[tuple[str, str, str], tuple[int, int, int]]
    """The contingent's counts before any TICKETS file."""
    clean: dict[str, Any]
    """The box office after a clean run of the three files on a copy (``snapshot``)."""


def tick(world: World, customers: dict[str, int]) -> tuple[str, bytes]:
    """Fifteen minutes of the reseller; its TICKETS file (name, bytes)."""
    world.clock.now += dt.timedelta(minutes=15)
    name = world.partner.tick(
        orders=customers["orders"],
        prints=customers["prints"],
        cancellations=customers["cancellations"],
        refunds=customers["refunds"],
        renames=customers["renames"],
    )
    return name, (world.partner.outbox / name).read_bytes()


def land(world: World) -> tuple[str, ...]:
    return inbound.land_new_files(world.engine, RESELLER, transport_for(world.settings)).landed


def integrate(engine: Engine, world: World) -> inbound.TypeIntegration:
    return inbound.integrate_pending(engine, world.settings, inbound_files(world.settings), STREAM)


def entry(engine: Engine, name: str) -> ExchangeFile:
    with Session(engine, expire_on_commit=False) as session:
        return session.scalars(
            select(ExchangeFile).where(ExchangeFile.name == name.replace(".csv", ".ctl"))
        ).one()


def lines(data: bytes) -> int:
    return len(data.decode("utf-8-sig").splitlines()) - 1


def assert_every_transition(files: list[tuple[str, bytes]]) -> None:
    """The files hold what a crash must not apply twice, nor lose (section 7.2): file 1
    sales, some sold and cancelled or refunded between two files; file 2 sales and tickets
    of file 1 printed, cancelled, refunded, renamed; file 3 no sale, only tickets of files 1
    and 2 changing state, a cancelled one refunded among them."""
    assert [lines(data) for _, data in files] == [211, 486, 63]
    found = transitions(files)
    assert found[0].keys() == {"new SOLD", "new CANCELLED", "new REFUNDED"}, found[0]
    assert found[1].keys() >= {
        "new SOLD",
        "SOLD -> SOLD",
        "SOLD -> PRINTED",
        "SOLD -> CANCELLED",
        "SOLD -> REFUNDED",
    }, found[1]
    assert not any(t.startswith("new") for t in found[2]), found[2]
    assert found[2].keys() >= {
        "SOLD -> PRINTED",
        "SOLD -> CANCELLED",
        "SOLD -> REFUNDED",
        "PRINTED -> CANCELLED",
        "CANCELLED -> REFUNDED",
    }, found[2]


def play(world: World, tmp_path: Path) -> Played:
    """The three files written and applied on a copy of the box office without a fault
    (the clean run); then landed in the box office, and file 1 applied."""
    given = stock(world.engine, world.settings, 0)
    with box_office_copy(world.engine, tmp_path) as clean_engine:
        files = [tick(world, customers) for customers in FILES]
        inbound.land_new_files(clean_engine, RESELLER, transport_for(world.settings))
        applied = integrate(clean_engine, world)
        assert [f.lines for f in applied.files] == [lines(data) for _, data in files]
        clean = snapshot(clean_engine, world.settings, len(files))
    assert_every_transition(files)
    assert land(world)
    entries = [entry(world.engine, name) for name, _ in files]
    inbound.integrate_file(
        world.engine, world.settings, inbound_files(world.settings), entries[0].id
    )
    return Played(files, entries, given, clean)


# --------------------------------------------------------------------------- checks


def assert_applied_once(world: World, played: Played) -> None:
    """The box office holds exactly what the three files imply, as the clean run left it;
    the journal says each file was applied once."""
    files = played.files
    facts = assert_box_office_holds_facts(world.engine, implied_by_secutix(files))
    assert facts.counts()["tickets"] == len(implied_states(files))
    assert reported_states(world.engine) == implied_states(files)
    sold = implied_sold(files)
    assert stock(world.engine, world.settings, len(files)) == {
        key: (given, sold[key], given - sold[key]) for key, (given, _, _) in played.given.items()
    }
    assert_same_box_office(snapshot(world.engine, world.settings, len(files)), played.clean)
    assert committed_holdings(world.engine)["files"] == {
        e.name: str(FileState.INTEGRATED) for e in played.entries
    }


def assert_written_mid_file(
    point: KillPoint, written: dict[str, Any], committed: dict[str, Any], played: Played
) -> None:
    """When the crash came, the transaction of file ``point.file_number`` had written what
    ``point`` says, none of it committed (``committed``: what the box office holds now)."""
    target = played.entries[point.file_number - 1].name
    whole = implied_by_secutix(played.files[: point.file_number]).counts()
    assert written != committed
    if point.id == "file2-new-tickets-written":
        assert committed["tickets"] < written["tickets"] <= whole["tickets"], (written, whole)
        assert written["orders"] > committed["orders"]
        assert written["sale_movements"] > committed["sale_movements"]
        assert written["access_allowed"] > committed["access_allowed"]
        assert written["printed"] > committed["printed"]
        assert written["cancelled"] > committed["cancelled"]
        assert written["refund_movements"] > committed["refund_movements"]
        assert written["files"][target] == str(FileState.LANDED)
    elif point.id == "file3-refunds-booked":
        assert written["tickets"] == committed["tickets"] == whole["tickets"]
        assert written["cancelled"] > committed["cancelled"]
        assert written["refund_movements"] > committed["refund_movements"]
        assert written["files"][target] == str(FileState.LANDED)
    elif point.id == "file2-marked-integrated":
        assert (written["tickets"], written["orders"]) == (whole["tickets"], whole["orders"])
        assert written["sale_movements"] + written["refund_movements"] == whole["movements"]
        assert written["files"][target] == str(FileState.INTEGRATED)
    else:
        raise AssertionError(f"no expectation for {point}")


def assert_nothing_of_the_file(
    world: World, point: KillPoint, played: Played, state: FileState
) -> dict[str, Any]:
    """The files before ``point``'s are applied (and integrated), nothing of it or of the
    files behind it: the target in ``state``, the others landed. What is committed."""
    number = point.file_number
    assert_box_office_holds_facts(world.engine, implied_by_secutix(played.files[: number - 1]))
    committed = committed_holdings(world.engine)
    assert committed["files"] == {
        e.name: str(
            FileState.INTEGRATED if n < number else state if n == number else FileState.LANDED
        )
        for n, e in enumerate(played.entries, start=1)
    }
    return committed


def rerun_applies_the_rest_once(world: World, point: KillPoint, played: Played) -> None:
    rest = range(point.file_number - 1, len(played.files))
    result = integrate(world.engine, world)
    assert [(f.name, f.lines) for f in result.files] == [
        (played.entries[n].name, lines(played.files[n][1])) for n in rest
    ]
    assert integrate(world.engine, world).files == ()
    assert land(world) == (), "nothing new on the reseller's server"
    assert_applied_once(world, played)


# --------------------------------------------------------------------------- the tests


@pytest.mark.slow
@pytest.mark.parametrize("point", KILL_POINTS, ids=lambda point: point.id)
def test_a_worker_killed_mid_file_leaves_nothing_and_the_rerun_applies_it_once(
    world: World, tmp_path: Path, point: KillPoint
) -> None:
    """SIGKILL of the process applying the pending files (2 and 3) at ``point``; then the
    task runs again."""
    played = play(world, tmp_path)
    target = played.entries[point.file_number - 1]
    assert world.settings.source is not None

    written = kill_worker_at(world.engine, tmp_path, world.settings.source, point, target.id)

    committed = assert_nothing_of_the_file(world, point, played, FileState.LANDED)
    assert_written_mid_file(point, written, committed, played)
    killed = entry(world.engine, target.name)
    assert (killed.error_category, killed.error_message, killed.line_count) == (None, None, None)

    rerun_applies_the_rest_once(world, point, played)


@pytest.mark.parametrize("database_kind", ["postgresql"], indirect=True)
@pytest.mark.parametrize("point", KILL_POINTS, ids=lambda point: point.id)
def test_the_database_connection_killed_mid_file_is_retried_and_applied_once(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: KillPoint
) -> None:
    """``pg_terminate_backend`` from another connection at ``point``: the file fails whole
    (technical, retried), the files before it stay applied, those behind it wait; the retry
    applies it and them once."""
    played = play(world, tmp_path)
    target = played.entries[point.file_number - 1]
    with (
        connection_killed_at(world.engine, monkeypatch, point, target.id) as killed,
        pytest.raises(sqlalchemy.exc.OperationalError) as raised,
    ):
        integrate(world.engine, world)
    assert len(killed) == 1

    committed = assert_nothing_of_the_file(world, point, played, FileState.FAILED)
    assert_written_mid_file(point, killed[0], committed, played)
    failed = entry(world.engine, target.name)
    assert (failed.state, failed.error_category) == (FileState.FAILED, "technical")
    assert "OperationalError" in (failed.error_message or "")
    decision = RETRY_POLICY.evaluate(raised.value, try_number=1, max_tries=5)
    assert decision.action.value == "retry", decision

    rerun_applies_the_rest_once(world, point, played)
