"""Crashes in the middle of a file: the worker killed (SIGKILL), the database connection
killed (``pg_terminate_backend``). Below the DAG level: the checks are the journal's
state, the error's category and the retry policy's decision, then exactly-once."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy.exc
from sqlalchemy import Engine, create_engine, select, text, update
from sqlalchemy.orm import Session

from reseller_sync.airflow.failures import RETRY_POLICY
from reseller_sync.boxoffice.db import session_scope
from reseller_sync.boxoffice.models import FileState, Performance, Product, Quota
from reseller_sync.config.paths import PROJECT_ROOT
from reseller_sync.exchange import journal
from reseller_sync.exchange.transport import LandedFile
from reseller_sync.fnac.inbound_files import FnacInboundFiles
from reseller_sync.fnac.names import FileName, FileType
from reseller_sync.fnac.sales import RESELLER
from reseller_sync.fnac.writer import write_file
from reseller_sync.integration import sales as sales_module
from reseller_sync.pipelines import inbound
from tests.reliability.conftest import T0, World
from tests.reliability.implied import assert_box_office_holds, box_office_state

BIG = 10_000
"""Lines of the file the worker is killed in: enough for every kind of row (tickets, orders,
movements, access entries) to be written, uncommitted, when the kill comes."""
KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    url, marker, reseller, stream = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    from reseller_sync.boxoffice.db import make_engine
    from reseller_sync.core.resellers import adapter
    from reseller_sync.integration import sales
    from reseller_sync.pipelines import inbound

    insert_frame = sales.insert_frame

    def insert_then_wait(session, table, frame):
        inserted = insert_frame(session, table, frame)
        if table.name == "pending_account_movement":
            # Orders, tickets, access entries and movements are written, uncommitted: the
            # test kills us.
            marker.write_text("mid-transaction")
            time.sleep(120)
        return inserted

    sales.insert_frame = insert_then_wait
    partner = adapter(reseller)
    settings = partner.load_settings()
    inbound.integrate_pending(make_engine(url), settings, partner.inbound_files(settings), stream)
    marker.write_text("finished")
    """
)


def kill_mid_transaction(engine: Engine, tmp_path: Path, reseller: str, stream: str) -> None:
    """Integrate ``reseller``'s ``stream`` in another process, and SIGKILL it once its unit's
    rows are written and not committed; returns once the database has rolled them back."""
    url = engine.url.render_as_string(hide_password=False)
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": f"{PROJECT_ROOT / 'plugins'}{os.pathsep}{PROJECT_ROOT}"}
    worker = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, url, str(marker), reseller, stream],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    postgresql = engine.dialect.name == "postgresql"
    admin = create_engine(engine.url) if postgresql else None
    database = engine.url.database or ""
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert worker.poll() is None, worker.communicate()[0].decode(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the worker never reached the middle of the file"
            time.sleep(0.05)
        assert marker.read_text() == "mid-transaction"
        workers: set[int] = set()
        if admin is not None:
            activity = pg_activity(admin, database)
            workers = {row.pid for row in activity if row.state == "idle in transaction"}
            assert workers, {row.state for row in activity}
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    if admin is not None:
        deadline = time.monotonic() + 30
        while workers & {row.pid for row in pg_activity(admin, database)}:
            assert time.monotonic() < deadline, "the killed worker's backend is still there"
            time.sleep(0.1)  # the server rolls the dead client's transaction back
        admin.dispose()


@contextmanager
def connection_killed_at_the_first_tickets(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[int]]:
    """While in the block, the first insert of tickets of the sales integration has its
    database connection killed (``pg_terminate_backend`` from another connection) once the
    rows are sent; yields the backends killed."""
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
    insert_frame = sales_module.insert_frame
    killed: list[int] = []

    def insert_then_lose_the_connection(session: Session, table: Any, frame: pd.DataFrame) -> int:
        inserted = insert_frame(session, table, frame)
        if table.name == "ticket" and not killed:
            pid = session.connection().connection.driver_connection.info.backend_pid  # type: ignore[union-attr]
            with admin.connect() as connection:
                assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killed.append(pid)
        return inserted

    monkeypatch.setattr(sales_module, "insert_frame", insert_then_lose_the_connection)
    try:
        yield killed
    finally:
        monkeypatch.setattr(sales_module, "insert_frame", insert_frame)
        admin.dispose()


def big_pass_sales(lines: int) -> pd.DataFrame:
    """``lines`` day-pass tickets (PASS-MAH-JOUR, CHF, FNAC allotement P1), two per order."""
    n = pd.RangeIndex(lines)
    return pd.DataFrame(
        {
            "id_vente": "W" + (n // 2).astype(str).str.zfill(10),
            "id_billet": "T" + n.astype(str).str.zfill(10),
            "code_manifestation": "000981",
            "type_tarif": "1",
            "categorie_client": "0",
            "code_allotement": "P1",
            "prix_ttc": 2400,
            "commission": 100,
            "devise": "CHF",
            "code_barre": "77" + n.astype(str).str.zfill(12),
            "nom_beneficiaire": "Muller",
            "prenom_beneficiaire": "Jurg",
            "code_point_vente": "CH1201",
            "libelle_point_vente": "FNAC Geneve Rive",
            "date_vente": T0,
        }
    )


def raise_pass_quota(engine: Engine, places: int) -> None:
    """FNAC's quota on the day pass, big enough for the file (a test set-up, not a fault)."""
    with session_scope(engine) as session:
        performance_ids = (
            select(Performance.id).join(Product).where(Product.code == "PASS-MAH-JOUR")
        )
        session.execute(
            update(Quota).where(Quota.performance_id.in_(performance_ids)).values(places=places)
        )


def land(engine: Engine, name: str, data: bytes) -> int:
    landed = LandedFile(
        name, data, len(data), hashlib.sha256(data).hexdigest(), FileName.parse(name)
    )
    with session_scope(engine) as session:
        return journal.land(session, RESELLER, landed).file_id


def pg_activity(admin: Engine, database: str) -> list[Any]:
    with admin.connect() as connection:
        return connection.execute(
            text(
                "SELECT pid, state, xact_start FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": database},
        ).all()


@pytest.mark.slow
def test_a_worker_killed_mid_transaction_leaves_nothing_and_the_rerun_integrates_once(
    world: World, tmp_path: Path
) -> None:
    """SIGKILL while a 10,000-line VENTES is being applied; then the task runs again."""
    raise_pass_quota(world.engine, BIG)
    name, data = write_file(FileType.VENTES, "M0427", 1, big_pass_sales(BIG), created=T0)
    file_id = land(world.engine, name, data)

    kill_mid_transaction(world.engine, tmp_path, RESELLER, FileType.VENTES)

    # The journal: the file is landed, whole, not failed, not integrated.
    entry = world.entry(name)
    assert (entry.state, entry.error_category, entry.line_count) == (FileState.LANDED, None, None)
    assert entry.sha256 == hashlib.sha256(data).hexdigest()
    assert box_office_state(world.engine).counts() == {
        "tickets": 0,
        "orders": 0,
        "movements": 0,
        "access": 0,
    }

    # The task runs again, in-process: the file is integrated once, whole.
    result = inbound.integrate_pending(
        world.engine,
        world.settings,
        FnacInboundFiles(world.settings, world.repository),
        FileType.VENTES,
    )
    assert [(f.file_id, f.lines) for f in result.files] == [(file_id, BIG)]
    again = inbound.integrate_pending(
        world.engine,
        world.settings,
        FnacInboundFiles(world.settings, world.repository),
        FileType.VENTES,
    )
    assert again.files == ()
    facts = assert_box_office_holds(world.engine, [(name, data)])
    assert facts.counts() == {
        "tickets": BIG,
        "orders": BIG // 2,
        "movements": BIG // 2,
        "access": BIG,
    }
    assert world.entry(name).state is FileState.INTEGRATED


@pytest.mark.parametrize("database_kind", ["postgresql"], indirect=True)
def test_the_database_connection_killed_mid_file_is_retried_and_integrated_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pg_terminate_backend`` from another connection while a file is being applied."""
    first = world.partner.emit_ventes(lines=4)
    world.clock.advance(hours=1)
    second = world.partner.emit_ventes(lines=6)
    world.land()
    inbound.integrate_file(
        world.engine,
        world.settings,
        FnacInboundFiles(world.settings, world.repository),
        world.entry(first or "").id,
    )
    with (
        connection_killed_at_the_first_tickets(world.engine, monkeypatch) as killed,
        pytest.raises(sqlalchemy.exc.OperationalError) as raised,
    ):
        inbound.integrate_pending(
            world.engine,
            world.settings,
            FnacInboundFiles(world.settings, world.repository),
            FileType.VENTES,
        )
    assert killed

    # Not half-integrated: the box office holds the first file only.
    assert_box_office_holds(world.engine, world.files(first))
    entry = world.entry(second or "")
    assert (entry.state, entry.error_category) == (FileState.FAILED, "technical")
    assert "OperationalError" in (entry.error_message or "")
    decision = RETRY_POLICY.evaluate(raised.value, try_number=1, max_tries=5)
    assert decision.action.value == "retry", decision

    # The retry: the failed file comes first, is integrated once; nothing more afterwards.
    result = inbound.integrate_pending(
        world.engine,
        world.settings,
        FnacInboundFiles(world.settings, world.repository),
        FileType.VENTES,
    )
    assert [f.name for f in result.files] == [second]
    world.run()
    assert_box_office_holds(world.engine, world.files(first, second))
    assert world.entry(second or "").state is FileState.INTEGRATED
