"""The same DAGs, unchanged, on a distributed Airflow: CeleryExecutor, two workers.

The stack is ``devtools.devstack`` in its distributed mode: api-server,
scheduler, dag-processor, triggerer and two Celery workers (Redis broker at
127.0.0.1:6379, Airflow's metadata database and the Celery result backend on a
fresh PostgreSQL database), over a box office on another fresh PostgreSQL
database, so that no task can rely on a file another task left on its disk.

It onboards PASS-MAH-JOUR (the human step approved through the REST API), has
FNAC send two VENTES and an ANNUL, runs fnac_inbound, checks both workers ran
tasks, then rebuilds the expected box office locally: the same landed files
integrated with ``integrate_file`` into a fresh SQLite box office. Both must hold
the same tickets, orders, pending-account movements and access-control entries.

Every process and database is removed at the end, whatever happened.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, insert, select, text
from sqlalchemy.orm import Session

from devtools.devstack import (
    APPROVAL_TASK,
    Distributed,
    Ports,
    Stack,
    StackError,
    free_ports,
    isolated_environment,
)
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    Direction,
    ExchangeFile,
    FileState,
    Order,
    PendingAccountMovement,
    ResellerCustomerCategory,
    ResellerProduct,
    Ticket,
)
from reseller_sync.fnac.inbound_files import FnacInboundFiles

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
ONBOARDING_DAG = "fnac_onboarding__pass-mah-jour"
INTEGRATED_TYPES = ("TEST", "CATCLI", "VENTES", "ANNUL")


class Databases:
    """Fresh PostgreSQL databases, all dropped by ``drop``."""

    def __init__(self) -> None:
        self.admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def create(self, prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        self.names.append(name)
        return POSTGRES.rsplit("/", 1)[0] + f"/{name}"

    def drop(self) -> None:
        with self.admin.connect() as connection:
            for name in self.names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def forget_queue(queue: str) -> None:
    """The queue's keys in Redis (the stack's own, by its unique name)."""
    import redis

    client = redis.Redis.from_url(REDIS)
    try:
        client.delete(queue, f"_kombu.binding.{queue}")
    finally:
        client.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Stack, str]]:
    """The distributed stack, FNAC DAGs parsed; yields it with the box office URL."""
    databases = Databases()
    queue = f"reseller_sync_{uuid.uuid4().hex[:8]}"
    stack: Stack | None = None
    try:
        metadata_url = databases.create("rs_airflow")
        boxoffice_url = databases.create("rs_boxoffice")
        *ports, worker1_logs, worker2_logs, trigger_logs = free_ports(7)
        stack = Stack(
            state_dir=tmp_path,
            airflow_home=tmp_path / "airflow",
            ports=Ports(*ports),
            host="127.0.0.1",
            poke_seconds=3,
            name="distributed stack",
            distributed=Distributed(
                metadata_url=metadata_url,
                broker_url=REDIS,
                worker_log_ports=(worker1_logs, worker2_logs),
                queue=queue,
            ),
            env=isolated_environment(
                tmp_path, boxoffice_url=boxoffice_url, trigger_log_port=trigger_logs
            ),
        )
        stack.fresh_state()
        stack.seed_boxoffice()
        stack.start_services()
        stack.wait_for(lambda: stack.dag_is_ready(ONBOARDING_DAG), "the FNAC DAGs", 180)
        yield stack, boxoffice_url
    except StackError as error:
        pytest.fail(f"{error}\n{stack.log_tails(30) if stack is not None else ''}")
    finally:
        if stack is not None:
            stack.stop(quiet=True)
        forget_queue(queue)
        databases.drop()


def test_onboarding_and_hourly_import_on_two_celery_workers(
    cluster: tuple[Stack, str], tmp_path: Path
) -> None:
    stack, boxoffice_url = cluster
    try:
        onboarding = stack.trigger(ONBOARDING_DAG)
        assert stack.finish(ONBOARDING_DAG, onboarding, approve=APPROVAL_TASK, seconds=240) == (
            "success"
        )
        fnac = stack.partner()
        fnac.emit_ventes(lines=12)
        fnac.emit_ventes(lines=12)
        fnac.emit_annul(count=3)
        inbound = stack.trigger("fnac_inbound")
        assert stack.finish("fnac_inbound", inbound, seconds=240) == "success"

        instances = stack.api("GET", "/dags/~/dagRuns/~/taskInstances?limit=1000")
        hostnames = {ti["hostname"] for ti in instances["task_instances"] if ti["hostname"]}
        assert {"worker1", "worker2"} <= hostnames, hostnames
    except (StackError, AssertionError) as error:
        pytest.fail(f"{error}\n{stack.log_tails(30)}")

    actual = make_engine(boxoffice_url)
    expected = local_replay(actual, tmp_path / "expected.sqlite")
    try:
        got, want = state(actual), state(expected)
        sold = [ticket for ticket in got["tickets"] if not ticket[7]]  # not test tickets
        assert len(sold) == 24, "FNAC's two VENTES files (12 tickets each) were not integrated"
        assert sum(ticket[2] is not None for ticket in sold) == 3, "the ANNUL was not applied"
        for key in want:
            extra = [row for row in got[key] if row not in want[key]]
            missing = [row for row in want[key] if row not in got[key]]
            assert (extra, missing) == ([], []), f"{key}: Celery-only {extra}, local-only {missing}"
    finally:
        actual.dispose()
        expected.dispose()


def local_replay(source: Engine, path: Path) -> Engine:
    """A fresh SQLite box office given the same landed files, integrated locally in order."""
    from reseller_sync.fnac.mappings import load_repository
    from reseller_sync.fnac.settings import load_settings
    from reseller_sync.fnac.test_tickets import cancel_test_tickets
    from reseller_sync.pipelines.inbound import integrate_file

    url = f"sqlite:///{path}"
    env = {**os.environ, "BOXOFFICE_DB_URL": url}
    for command in (["reseller_sync", "db", "upgrade"], ["devtools", "demo", "seed"]):
        subprocess.run([sys.executable, "-m", *command], check=True, env=env, cwd=ROOT)
    target = make_engine(url)
    with Session(source) as session:
        files = session.scalars(
            select(ExchangeFile)
            .where(ExchangeFile.direction == Direction.INBOUND)
            .order_by(ExchangeFile.id)
        ).all()
        landed = [
            _row(entry) | {"answers_file_id": None, "duplicate_of_id": None} for entry in files
        ]
        replay = [
            (entry.id, entry.file_type, entry.product_code)
            for entry in sorted(
                files, key=lambda entry: (entry.processed_at is None, entry.processed_at, entry.id)
            )
            if entry.state is FileState.INTEGRATED and entry.file_type in INTEGRATED_TYPES
        ]
        products = [_row(row) for row in session.scalars(select(ResellerProduct))]
        categories = [
            _row(row) | {"first_seen_file_id": None}
            for row in session.scalars(select(ResellerCustomerCategory))
        ]
    with Session(target) as session, session.begin():
        session.execute(text("DELETE FROM reseller_customer_category"))
        session.execute(text("DELETE FROM reseller_product"))
        for entry in landed:
            entry["state"] = FileState.LANDED
            entry["processed_at"] = None
            entry["line_count"] = None
        if landed:
            session.execute(insert(ExchangeFile), landed)
        if products:
            session.execute(insert(ResellerProduct), products)
        if categories:
            session.execute(insert(ResellerCustomerCategory), categories)
    settings, repository = load_settings(), load_repository()
    for file_id, file_type, product_code in replay:
        integrate_file(target, settings, FnacInboundFiles(settings, repository), file_id)
        if file_type == "TEST" and product_code:
            # The onboarding's last step: its test tickets cancelled, refused at the gates.
            with Session(target) as session, session.begin():
                cancel_test_tickets(session, product_code)
    return target


def _row(obj: Any) -> dict[str, Any]:
    return {column.key: getattr(obj, column.key) for column in obj.__mapper__.column_attrs}


def state(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The box office as FNAC's sales left it, by identities (no database ids)."""
    with Session(engine) as session:
        return {
            "tickets": sorted(
                session.execute(
                    select(
                        Ticket.reseller_ticket_id,
                        Ticket.barcode,
                        Ticket.reseller_cancellation_id,
                        Ticket.cancelled_at.is_(None),
                        Ticket.state,
                        Ticket.price,
                        Ticket.commission,
                        Ticket.is_test,
                        Ticket.performance_id,
                        Ticket.tariff_id,
                        Ticket.seat_id,
                        Ticket.block_id,
                    ).where(Ticket.reseller_code.is_not(None))
                ).all(),
                key=repr,
            ),
            "orders": sorted(
                session.execute(
                    select(Order.reseller_order_id, Order.state, Order.total, Order.is_test).where(
                        Order.reseller_code.is_not(None)
                    )
                ).all(),
                key=repr,
            ),
            "movements": sorted(
                session.execute(
                    select(
                        PendingAccountMovement.reference,
                        PendingAccountMovement.kind,
                        PendingAccountMovement.amount,
                    )
                ).all(),
                key=repr,
            ),
            "access": sorted(
                session.execute(
                    select(AccessControlEntry.barcode, AccessControlEntry.allowed)
                ).all(),
                key=repr,
            ),
        }
