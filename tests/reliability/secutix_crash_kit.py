"""What the SecuTix crash tests (``test_crash_secutix.py``) need beside their world.

- :data:`KILL_POINTS`: where, in the transaction that applies one TICKETS file
  (``secutix-reseller-v1`` section 9.1 point 4), the crash comes: a function of the
  integration after which the worker is killed (:func:`kill_worker_at`, a real process and
  SIGKILL) or its PostgreSQL connection terminated (:func:`connection_killed_at`,
  ``pg_terminate_backend`` from another connection). Both record what the transaction had
  written at that moment (:func:`holdings`, read in the transaction), so that a test can
  show the crash came mid-file, with rows written and not committed.
- :func:`box_office_copy`: a copy of the box office (SQLite's backup, PostgreSQL's
  ``CREATE DATABASE ... TEMPLATE``) where the same files are applied without a fault: the
  clean run a crashed one must equal (:func:`snapshot`, :func:`assert_same_box_office`).
- :func:`implied_states` and :func:`implied_sold`: what the TICKETS files imply that
  ``implied.implied_by_secutix`` leaves out (each barcode's reported state and refund, the
  places held per product × performance × seat category), read with the ``csv`` module;
  :func:`transitions`: which transitions of section 7.2 each file holds.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    ExchangeFile,
    MovementKind,
    Order,
    PendingAccountMovement,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    Ticket,
    TicketState,
)
from reseller_sync.config.paths import PROJECT_ROOT
from reseller_sync.core.lines import LineTicketState
from reseller_sync.pipelines import inbound
from reseller_sync.secutix.mappings import load_repository
from reseller_sync.secutix.settings import SecutixSettings
from reseller_sync.secutix.stock import box_office_stock

if TYPE_CHECKING:
    import pytest

RESELLER = "secutix"
STREAM = "TICKETS"


@dataclass(frozen=True)
class KillPoint:
    """A moment in the transaction of TICKETS file ``file_number``: just after the first
    call of ``module.attribute`` (which takes the session first; with ``table``, a call on
    that table, its second argument) while that file is applied."""

    id: str
    module: str
    attribute: str
    file_number: int
    moment: str
    table: str = ""

    def reached(self, args: tuple[Any, ...]) -> bool:
        """Whether a call with ``args`` (after the session) is the one to crash after."""
        return not self.table or getattr(args[0], "name", None) == self.table


KILL_POINTS = (
    KillPoint(
        "file2-new-tickets-written",
        "reseller_sync.integration.sales",
        "insert_frame",
        2,
        "file 2's earlier tickets printed, cancelled and refunded, its new tickets, orders, "
        "access entries and sale movements written",
        table="pending_account_movement",
    ),
    KillPoint(
        "file3-refunds-booked",
        "reseller_sync.integration.ticket_states",
        "book_refunds",
        3,
        "file 3 (no new sale: tickets of files 1 and 2 printed, cancelled, refunded) has "
        "cancelled its tickets and booked its refund movements",
    ),
    KillPoint(
        "file2-marked-integrated",
        "reseller_sync.exchange.journal",
        "mark_integrated",
        2,
        "the whole of file 2 written and the journal's entry marked integrated, the "
        "transaction not committed",
    ),
)


def holdings(session: Session) -> dict[str, Any]:
    """What the box office holds of the reseller's sales, and its TICKETS files' states, as
    ``session`` sees them (its own uncommitted writes included)."""

    def count(*where: Any) -> int:
        return session.scalar(select(func.count()).where(*where)) or 0

    ticket = Ticket.reseller_code == RESELLER
    return {
        "tickets": count(ticket),
        "cancelled": count(ticket, Ticket.state == TicketState.CANCELLED),
        "printed": count(ticket, Ticket.reseller_state == LineTicketState.PRINTED.value),
        "refunded": count(ticket, Ticket.reseller_state == LineTicketState.REFUNDED.value),
        "orders": count(Order.reseller_code == RESELLER),
        "sale_movements": count(PendingAccountMovement.kind == MovementKind.SALE),
        "refund_movements": count(PendingAccountMovement.kind == MovementKind.REFUND),
        "access_allowed": count(AccessControlEntry.allowed.is_(True)),
        "access_refused": count(AccessControlEntry.allowed.is_(False)),
        "files": {
            name: str(state)
            for name, state in session.execute(
                select(ExchangeFile.name, ExchangeFile.state)
                .where(ExchangeFile.reseller_code == RESELLER, ExchangeFile.file_type == STREAM)
                .order_by(ExchangeFile.sequence)
            )
        },
    }


def committed_holdings(engine: Engine) -> dict[str, Any]:
    with Session(engine) as session:
        return holdings(session)


# --------------------------------------------------------------------------- the worker killed

WORKER_SCRIPT = textwrap.dedent(
    """
    import importlib, json, sys, time
    from pathlib import Path
    url, marker, settings_path, target, point = sys.argv[1:6]
    marker, target = Path(marker), int(target)
    from reseller_sync.boxoffice.db import make_engine
    from reseller_sync.pipelines import inbound
    from reseller_sync.secutix.adapter import inbound_files
    from reseller_sync.secutix.settings import load_settings
    from tests.reliability.secutix_crash_kit import KILL_POINTS, holdings

    point = next(p for p in KILL_POINTS if p.id == point)
    module = importlib.import_module(point.module)
    hooked = getattr(module, point.attribute)
    applying = []
    integrate_file = inbound.integrate_file

    def tracked(engine, settings, files, file_id, **options):
        applying.append(file_id)
        return integrate_file(engine, settings, files, file_id, **options)

    def then_wait(session, *args, **kwargs):
        result = hooked(session, *args, **kwargs)
        if applying[-1] == target and point.reached(args):
            session.flush()
            written = marker.with_suffix(".part")
            written.write_text(json.dumps(holdings(session)))
            written.rename(marker)  # rows written, not committed: the test kills us
            time.sleep(120)
        return result

    inbound.integrate_file = tracked
    setattr(module, point.attribute, then_wait)
    settings = load_settings(settings_path)
    inbound.integrate_pending(make_engine(url), settings, inbound_files(settings), "TICKETS")
    marker.write_text(json.dumps("finished"))
    """
)


def kill_worker_at(
    engine: Engine, tmp_path: Path, settings_file: Path, point: KillPoint, file_id: int
) -> dict[str, Any]:
    """Apply the reseller's pending TICKETS files in another process (the task's
    ``integrate_pending`` with the instance's settings), SIGKILL it at ``point`` of the
    file ``file_id``; what its transaction had written then. Returns once the database has
    rolled that transaction back."""
    # Imported here, as below: the worker imports this module for holdings() alone.
    from tests.reliability.test_crash import pg_activity

    url = engine.url.render_as_string(hide_password=False)
    marker = tmp_path / "killed-at.json"
    env = {**os.environ, "PYTHONPATH": f"{PROJECT_ROOT / 'plugins'}{os.pathsep}{PROJECT_ROOT}"}
    command = [
        sys.executable,
        "-c",
        WORKER_SCRIPT,
        url,
        str(marker),
        str(settings_file),
        str(file_id),
        point.id,
    ]
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    postgresql = engine.dialect.name == "postgresql"
    admin = create_engine(engine.url) if postgresql else None
    database = engine.url.database or ""
    backends: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert worker.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, f"the worker never reached {point.moment}"
            time.sleep(0.02)
        written = json.loads(marker.read_text())
        assert written != "finished", f"the worker finished without reaching {point.moment}"
        if admin is not None:
            activity = pg_activity(admin, database)
            backends = {row.pid for row in activity if row.state == "idle in transaction"}
            assert backends, {row.state for row in activity}
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    if admin is not None:
        deadline = time.monotonic() + 30
        while backends & {row.pid for row in pg_activity(admin, database)}:
            assert time.monotonic() < deadline, "the killed worker's backend is still there"
            time.sleep(0.05)  # the server rolls the dead client's transaction back
        admin.dispose()
    return dict(written)


# --------------------------------------------------------------------------- the connection killed


@contextmanager
def connection_killed_at(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, point: KillPoint, file_id: int
) -> Iterator[list[dict[str, Any]]]:
    """While in the block, the transaction applying file ``file_id`` has its PostgreSQL
    connection terminated (``pg_terminate_backend`` from another connection) at ``point``,
    its writes sent; yields what it had written then (one entry once killed)."""
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
    module = importlib.import_module(point.module)
    hooked = getattr(module, point.attribute)
    integrate_file = inbound.integrate_file
    applying: list[int] = []
    killed: list[dict[str, Any]] = []

    def tracked(*args: Any, **options: Any) -> inbound.FileIntegration:
        applying.append(args[3])
        return integrate_file(*args, **options)

    def then_lose_the_connection(session: Session, *args: Any, **kwargs: Any) -> Any:
        result = hooked(session, *args, **kwargs)
        if applying[-1] == file_id and point.reached(args) and not killed:
            session.flush()
            written = holdings(session)
            pid = session.connection().connection.driver_connection.info.backend_pid  # type: ignore[union-attr]
            with admin.connect() as connection:
                assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killed.append(written)
        return result

    monkeypatch.setattr(inbound, "integrate_file", tracked)
    monkeypatch.setattr(module, point.attribute, then_lose_the_connection)
    try:
        yield killed
    finally:
        monkeypatch.setattr(module, point.attribute, hooked)
        monkeypatch.setattr(inbound, "integrate_file", integrate_file)
        admin.dispose()


# --------------------------------------------------------------------------- the clean run


@contextmanager
def box_office_copy(engine: Engine, folder: Path) -> Iterator[Engine]:
    """A copy of the box office as it is now, dropped afterwards."""
    if engine.dialect.name == "sqlite":
        path = folder / "clean-boxoffice.sqlite"
        source = sqlite3.connect(str(engine.url.database))
        target = sqlite3.connect(str(path))
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        copy = make_engine(f"sqlite:///{path}")
        try:
            yield copy
        finally:
            copy.dispose()
        return
    from tests.conftest import postgres_database

    engine.dispose()  # a template database takes no other connection
    database = postgres_database(template=engine.url.database)
    copy = make_engine(next(database))
    try:
        yield copy
    finally:
        copy.dispose()
        next(database, None)


FAR_FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def stock(
    engine: Engine, settings: SecutixSettings, through: int
) -> dict[tuple[str, str, str], tuple[int, int, int]]:
    """The box office's count of the reseller's contingent (the nightly STOCK comparison's):
    per product × performance × seat category, places given, sold and available after
    TICKETS files 1 to ``through``."""
    with Session(engine) as session:
        counts = box_office_stock(session, settings, load_repository(), through, FAR_FUTURE)
    return {
        (str(row.PRODUCT_CODE), str(row.PERFORMANCE_CODE), str(row.SEATCAT_CODE)): (
            int(row.GIVEN),
            int(row.SOLD),
            int(row.AVAILABLE),
        )
        for row in counts.itertuples()
    }


def snapshot(engine: Engine, settings: SecutixSettings, through: int) -> dict[str, Any]:
    """Everything the reseller's TICKETS files change in the box office, keyed by what
    does not depend on the run (barcode, order number, movement reference, file name):
    tickets (every column but the surrogate id), orders, movements and access entries
    (without the times the run took them), the TICKETS files' journal entries, the quotas
    and the contingent's counts; and each table's row count."""
    with Session(engine) as session:
        order_ref = dict(session.execute(select(Order.id, Order.reseller_order_id)).all())
        barcode = dict(session.execute(select(Ticket.id, Ticket.barcode)).all())
        file_name = dict(session.execute(select(ExchangeFile.id, ExchangeFile.name)).all())
        tickets = {
            row.barcode: {
                **row._asdict(),
                "id": None,
                "order_id": order_ref[row.order_id],
            }
            for row in session.execute(select(*_columns(Ticket)))
        }
        orders = {
            row.reseller_order_id: {
                **row._asdict(),
                "id": None,
                "source_file_id": file_name.get(row.source_file_id),
            }
            for row in session.execute(select(*_columns(Order)))
        }
        movements = {
            row.reference: {
                **row._asdict(),
                "id": None,
                "order_id": order_ref[row.order_id],
                "booked_at": None,
            }
            for row in session.execute(select(*_columns(PendingAccountMovement)))
        }
        access = {
            row.barcode: {
                **row._asdict(),
                "id": None,
                "ticket_id": barcode.get(row.ticket_id),
                "updated_at": None,
            }
            for row in session.execute(select(*_columns(AccessControlEntry)))
        }
        journal = {
            row.name: (row.state, row.sequence, row.line_count, row.sha256, row.error_category)
            for row in session.execute(
                select(
                    ExchangeFile.name,
                    ExchangeFile.state,
                    ExchangeFile.sequence,
                    ExchangeFile.line_count,
                    ExchangeFile.sha256,
                    ExchangeFile.error_category,
                ).where(ExchangeFile.reseller_code == RESELLER, ExchangeFile.file_type == STREAM)
            )
        }
        quotas = {
            "quota": sorted(tuple(row) for row in session.execute(select(Quota.id, Quota.places))),
            "quota_seat": session.scalar(select(func.count(QuotaSeat.id))),
            "quota_free_places": sorted(
                tuple(row)
                for row in session.execute(select(QuotaFreePlaces.id, QuotaFreePlaces.places))
            ),
        }
    return {
        "tickets": tickets,
        "orders": orders,
        "movements": movements,
        "access": access,
        "journal": journal,
        "quotas": quotas,
        "contingent": stock(engine, settings, through),
        "rows": {
            "tickets": len(tickets),
            "orders": len(orders),
            "movements": len(movements),
            "access": len(access),
        },
    }


def _columns(model: Any) -> list[Any]:
    return list(model.__table__.columns)


def assert_same_box_office(actual: dict[str, Any], clean: dict[str, Any]) -> None:
    """The crashed and re-run box office is the clean run's, part by part and row by row."""
    problems: list[str] = []
    for part, expected in clean.items():
        found = actual[part]
        if found == expected:
            continue
        if isinstance(expected, dict) and isinstance(found, dict):
            lost = sorted(set(expected) - set(found), key=str)
            extra = sorted(set(found) - set(expected), key=str)
            changed = sorted(
                (k for k in expected if k in found and found[k] != expected[k]), key=str
            )
            if lost:
                problems.append(f"{part}: {len(lost)} lost, e.g. {lost[:5]}")
            if extra:
                problems.append(f"{part}: {len(extra)} more than the clean run, e.g. {extra[:5]}")
            problems.extend(
                f"{part} {key}: clean run {expected[key]}, here {found[key]}" for key in changed[:5]
            )
        else:
            problems.append(f"{part}: clean run {expected}, here {found}")
    assert not problems, "not what the clean run of the same files left:\n" + "\n".join(problems)


# --------------------------------------------------------------------------- what the files imply


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def implied_states(files: Sequence[tuple[str, bytes]]) -> dict[str, tuple[str, int | None]]:
    """Per barcode, the state the reseller reported last in ``files`` and, once refunded,
    the refund it reported with the transition into ``REFUNDED`` (section 7.1: it never
    changes afterwards)."""
    states: dict[str, tuple[str, int | None]] = {}
    for _, data in files:
        for row in _rows(data):
            barcode, state = row["BAR_CODE"], row["TICKET_STATE"]
            before = states.get(barcode)
            if before is not None and before[0] == "REFUNDED":
                continue
            refund = int(row["REFUND_AMOUNT"]) if state == "REFUNDED" else None
            states[barcode] = (state, refund)
    return states


def implied_sold(files: Sequence[tuple[str, bytes]]) -> Counter[tuple[str, str, str]]:
    """Places the reseller's tickets hold after ``files``: per product × performance × seat
    category, the barcodes last reported ``SOLD`` or ``PRINTED``."""
    last: dict[str, tuple[str, tuple[str, str, str]]] = {}
    for _, data in files:
        for row in _rows(data):
            key = (row["PRODUCT_CODE"], row["PERFORMANCE_CODE"], row["SEATCAT_CODE"])
            last[row["BAR_CODE"]] = (row["TICKET_STATE"], key)
    return Counter(key for state, key in last.values() if state in ("SOLD", "PRINTED"))


def transitions(files: Sequence[tuple[str, bytes]]) -> list[Counter[str]]:
    """Per file, its lines counted by transition of section 7.2 (``new SOLD``,
    ``SOLD -> REFUNDED``, ``PRINTED -> PRINTED``...), from the states the files before it
    reported."""
    stored: dict[str, str] = {}
    found: list[Counter[str]] = []
    for _, data in files:
        counted: Counter[str] = Counter()
        for row in _rows(data):
            barcode, state = row["BAR_CODE"], row["TICKET_STATE"]
            before = stored.get(barcode)
            counted["new " + state if before is None else f"{before} -> {state}"] += 1
            stored[barcode] = state
        found.append(counted)
    return found


def reported_states(engine: Engine) -> dict[str, tuple[str, int | None]]:
    """Per barcode, the state (in the contract's words) and refund the box office stored as
    the reseller's."""
    with Session(engine) as session:
        return {
            row.barcode: (LineTicketState(row.reseller_state).name, row.refund_amount)
            for row in session.execute(
                select(Ticket.barcode, Ticket.reseller_state, Ticket.refund_amount).where(
                    Ticket.reseller_code == RESELLER
                )
            )
        }
