"""Benchmark of the VENTES integration: a big FNAC sales file into the box office.

Builds a box office able to take ``--lines`` FNAC tickets (1,000,000 by
default): the demo data set plus extra performances of the demo concert (the
seated arena: 5,200 seats and a standing pit of 1,200) and of the demo match
(3,000 seats and a standing end of 3,000), FNAC's quota holding every place
of them. About two thirds of the tickets are seats, one third free places.
It writes a VENTES file for them with the codec (orders of 1 to 4 adjacent
places of one performance, EUR, the box office's FNAC prices so that the
strict price policy passes, shuffled across performances), then measures,
each in a fresh Python process on a fresh copy of the box office so that the
peak resident memory (``ru_maxrss``) is that of one measurement alone:

* ``copy``: the baseline. The ticket rows the integration wrote (same values,
  same 18 columns and types), read from a CSV file and loaded into a scratch
  table of the same width (plus its ``id`` primary key, no other constraint)
  with ``COPY ... FROM STDIN`` on PostgreSQL, with one ``executemany`` of
  the sqlite3 driver on SQLite (which has no COPY), then committed;
* ``copy_tables``: the schema's own floor, the goal's baseline. The rows the
  integration wrote (orders, tickets, access control, pending-account
  movements) loaded the same way into the real tables, with their foreign
  keys, unique indexes and checks, in one transaction;
* ``integrate``: what production does with a landed file, end to end: the
  file's bytes, read in chunks by ``iter_file_chunks`` (parse and validate)
  as ``integrate_sales`` turns them into canonical sale lines (FNAC's
  adapter, ``fnac.lines``) and checks them (``integration.sales``), then its
  writes (orders, tickets, access control, pending-account movements) and the
  commit, in one transaction; as in ``pipelines.inbound``, only the reader
  holds the bytes;
* ``row_by_row``: a straightforward ORM integration of the first
  ``--row-lines`` lines (20,000 by default) of the same file: the same codec,
  then for each line a query for the product, performance, category, tariff,
  block, seat, quota, quota seat or free places, sale of the place, price and
  duplicates, and Order, Ticket, AccessControlEntry and
  PendingAccountMovement objects flushed once per order. Its lines per second
  are extrapolated to the whole file.

The table gives lines, seconds, lines per second and peak memory; the ratios
are ``integrate seconds / copy_tables seconds`` (goal: at most 1.25; the
former goal of 3x a bare COPY is withdrawn: the schema's foreign keys and
unique indexes alone cost about 23x, and we keep them) and ``integrate
lines/s / row_by_row lines/s`` (goal: at least 30); the peak memory goal is
under 1 GiB.

    .venv/bin/python bench/bench_integration.py                  # both, 1,000,000 lines
    .venv/bin/python bench/bench_integration.py --lines 20000 --database sqlite

PostgreSQL: a server reachable at ``$TEST_POSTGRES_ADMIN_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); the benchmark creates
its own databases and drops them.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = Path(os.environ.get("BENCH_PLUGINS_DIR", ROOT / "plugins"))
"""The library measured; point ``BENCH_PLUGINS_DIR`` at another copy to compare versions."""
sys.path.insert(0, str(PLUGINS))

from sqlalchemy import (  # noqa: E402
    Column,
    Engine,
    Enum,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    func,
    select,
    text,
)
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from devtools import demo_boxoffice as demo  # noqa: E402
from reseller_sync.boxoffice import migrate  # noqa: E402
from reseller_sync.boxoffice.bulk import insert_frame  # noqa: E402
from reseller_sync.boxoffice.db import make_engine  # noqa: E402
from reseller_sync.boxoffice.models import (  # noqa: E402
    AccessControlEntry,
    Block,
    Contact,
    Currency,
    MovementKind,
    Order,
    OrderState,
    PendingAccount,
    PendingAccountMovement,
    Performance,
    PointOfSale,
    Price,
    Product,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    SalesChannel,
    Seat,
    SeatCategory,
    Tariff,
    Ticket,
    TicketState,
    Zone,
)
from reseller_sync.config.settings import PricePolicy  # noqa: E402
from reseller_sync.fnac.mappings import MappingKind, load_repository  # noqa: E402
from reseller_sync.fnac.names import FileType  # noqa: E402
from reseller_sync.fnac.settings import FnacSettings, load_settings  # noqa: E402
from reseller_sync.mappings.repository import MappingRepository  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TODAY = dt.date(2026, 11, 28)
"""The demo's reference day (as in the tests); the extra performances come after its dates."""
FIRST_EXTRA_DAY = dt.date(2028, 1, 1)
CREATED = dt.datetime(2026, 11, 28, 13, 5, tzinfo=dt.UTC)
SOLD_FROM = pd.Timestamp("2026-11-28T12:05:00+01:00")
MANAGER = "M0427"
SEQ = 42
MODES = ("copy", "copy_tables", "integrate", "row_by_row")
TICKET_COLUMNS = (
    "order_id",
    "performance_id",
    "seat_id",
    "block_id",
    "quota_id",
    "category_id",
    "tariff_id",
    "price",
    "commission",
    "currency",
    "barcode",
    "beneficiary_first_name",
    "beneficiary_last_name",
    "state",
    "reseller_code",
    "reseller_ticket_id",
    "reseller_category",
    "is_test",
)
"""The columns ``integrate_sales`` writes in a ticket row (the id is the table's)."""
SCRATCH_TABLE = "bench_copy_scratch"
TEXT = pd.ArrowDtype(pa.large_string())
SHOPS = (
    ("FR9999", "FNAC.com"),
    ("FR0751", "FNAC Paris Ternes"),
    ("FR0752", "FNAC Paris Montparnasse"),
    ("FR0691", "FNAC Lyon Bellecour"),
    ("FR1301", "FNAC Marseille La Valentine"),
)
NAMES = (("Dupré", "Hélène"), ("Martin", "Zoé"), ("Müller", "Jürg"), ("Lefèvre", "François"))


# --------------------------------------------------------------------------- the box office


@dataclass(frozen=True)
class ProductPlan:
    """Extra performances of a demo product, FNAC's quota holding all their places."""

    code: str
    zones: dict[str, tuple[str, list[demo.BlockPlan]]]
    hour: dt.time

    @property
    def capacity(self) -> int:
        return sum(
            plan.capacity or plan.rows * plan.seats_per_row
            for _, plans in self.zones.values()
            for plan in plans
        )


PLANS = (
    ProductPlan(demo.EVENT_PRODUCT, demo.ARENA_ZONES, dt.time(20, 30)),
    ProductPlan(demo.COMPETITION_PRODUCT, demo.STADIUM_ZONES, dt.time(21, 0)),
)


def performances_needed(lines: int) -> list[tuple[ProductPlan, dt.datetime]]:
    """Performances (product, date), alternating products, until they hold ``lines`` places."""
    wanted: list[tuple[ProductPlan, dt.datetime]] = []
    held = 0
    while held < lines:
        plan = PLANS[len(wanted) % len(PLANS)]
        day = FIRST_EXTRA_DAY + dt.timedelta(days=len(wanted) // len(PLANS))
        wanted.append((plan, dt.datetime.combine(day, plan.hour)))
        held += plan.capacity
    return wanted


def fnac_prices(product: str) -> dict[tuple[str, str], int]:
    """(category, tariff) → the price the demo gives, for the box office and FNAC alike."""
    prices = {}
    for category, full in demo.BASE_PRICES[product].items():
        prices[(category, "PLEIN")] = full
        prices[(category, "REDUIT")] = full * 85 // 100
        for tariff, off in demo.FNAC_TARIFF_DISCOUNTS.items():
            prices[(category, tariff)] = full - off
    return prices


def build_boxoffice(
    url: str,
    lines: int,
    *,
    channel: str = demo.FNAC_CHANNEL,
    quota: tuple[str, str] = (demo.FNAC_QUOTA, "Contingent FNAC"),
    before: Callable[[Session], None] | None = None,
) -> None:
    """Migrate, seed the demo, then add the performances and quotas for ``lines`` tickets.

    The quota (code, name) is the sales channel ``channel``'s, FNAC's unless told;
    ``before`` adds what the demo lacks (another reseller's channel) once it is seeded.
    """
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with sessionmaker(engine)() as session, session.begin():
            demo.seed_demo(session, today=TODAY)
            if before is not None:
                before(session)
            _add_performances(session, performances_needed(lines), channel, quota)
    finally:
        engine.dispose()


def _add_performances(
    session: Session,
    wanted: list[tuple[ProductPlan, dt.datetime]],
    channel: str,
    quota: tuple[str, str],
) -> None:
    channel_id = session.scalar(select(SalesChannel.id).where(SalesChannel.code == channel))
    categories = dict(session.execute(select(SeatCategory.code, SeatCategory.id)).all())
    tariffs = dict(session.execute(select(Tariff.code, Tariff.id)).all())
    for plan in PLANS:
        product = session.scalars(select(Product).where(Product.code == plan.code)).one()
        dates = [starts_at for p, starts_at in wanted if p is plan]
        if not dates:
            continue
        performances = [
            Performance(product=product, code=f"B{number:04d}", starts_at=starts_at)
            for number, starts_at in enumerate(dates, start=1)
        ]
        session.add_all(performances)
        session.flush()
        quotas = [
            Quota(
                code=quota[0],
                name=quota[1],
                channel_id=channel_id,
                performance_id=performance.id,
            )
            for performance in performances
        ]
        session.add_all(quotas)
        session.flush()
        configuration_id = product.configuration_id
        blocks = pd.DataFrame(
            session.execute(
                select(Block.id, Block.free_placement, Block.capacity)
                .join(Zone)
                .where(Zone.configuration_id == configuration_id)
            ).all(),
            columns=["block_id", "free_placement", "capacity"],
        )
        seat_ids = np.array(
            session.scalars(
                select(Seat.id)
                .join(Block)
                .join(Zone)
                .where(Zone.configuration_id == configuration_id)
                .order_by(Seat.id)
            ).all()
        )
        quota_ids = np.array([quota.id for quota in quotas])
        performance_ids = np.array([performance.id for performance in performances])
        insert_frame(
            session,
            QuotaSeat.__table__,  # type: ignore[arg-type]
            pd.DataFrame(
                {
                    "quota_id": np.repeat(quota_ids, seat_ids.size),
                    "performance_id": np.repeat(performance_ids, seat_ids.size),
                    "seat_id": np.tile(seat_ids, quota_ids.size),
                }
            ),
        )
        free = blocks[blocks["free_placement"]]
        insert_frame(
            session,
            QuotaFreePlaces.__table__,  # type: ignore[arg-type]
            pd.DataFrame(
                {
                    "quota_id": np.repeat(quota_ids, len(free)),
                    "block_id": np.tile(free["block_id"].to_numpy(), quota_ids.size),
                    "places": np.tile(free["capacity"].astype("int64").to_numpy(), quota_ids.size),
                }
            ),
        )
        prices = [
            {
                "performance_id": performance_id,
                "category_id": categories[category],
                "tariff_id": tariffs[tariff],
                "amount": amount,
                "currency": Currency.EUR.value,
            }
            for performance_id in performance_ids.tolist()
            for (category, tariff), amount in fnac_prices(plan.code).items()
        ]
        insert_frame(session, Price.__table__, pd.DataFrame(prices))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the VENTES file


def _places(plan: ProductPlan) -> pd.DataFrame:
    """Every place of a product's configuration: block, category, row and seat (or none)."""
    rows = []
    for zone, (_, plans) in plan.zones.items():
        for block in plans:
            if block.capacity is not None:
                rows.extend(
                    (zone, block.code, block.category, None, None) for _ in range(block.capacity)
                )
            else:
                rows.extend(
                    (zone, block.code, block.category, str(row), str(number))
                    for row in range(1, block.rows + 1)
                    for number in range(1, block.seats_per_row + 1)
                )
    return pd.DataFrame(rows, columns=["zone", "block", "category", "rang", "place"])


def shuffled_orders(
    parts: list[pd.DataFrame], lines: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """The first ``lines`` places of the performances needed (``parts``: each plan's places,
    in ``PLANS`` order; ``date_seance`` added, the performance's start), grouped into
    orders of 1 to 4 adjacent places of one performance, the orders shuffled across
    performances; and each place's order number (from 1, in the shuffled order)."""
    dates = performances_needed(lines)
    sequence = pd.concat(
        [
            parts[PLANS.index(plan)].assign(date_seance=pd.Timestamp(starts_at))
            for plan, starts_at in dates
        ],
        ignore_index=True,
    ).iloc[:lines]

    sizes = rng.integers(1, 5, size=lines)
    order_of_line = np.repeat(np.arange(lines), sizes)[:lines]
    performance_of_line = sequence["date_seance"].astype("int64").to_numpy()
    boundary = np.r_[True, performance_of_line[1:] != performance_of_line[:-1]]
    order_of_line = np.cumsum(boundary | np.r_[True, order_of_line[1:] != order_of_line[:-1]]) - 1
    orders = int(order_of_line[-1]) + 1
    position = rng.permutation(orders)
    shuffled = np.lexsort((np.arange(lines), position[order_of_line]))
    sequence = sequence.iloc[shuffled].reset_index(drop=True)
    order_number = np.cumsum(
        np.r_[True, position[order_of_line][shuffled][1:] != position[order_of_line][shuffled][:-1]]
    )
    return sequence, order_number


def ventes_frame(lines: int, repository: MappingRepository, seed: int = 20261128) -> pd.DataFrame:
    """The records of a VENTES file of ``lines`` valid tickets for the benchmark box office."""
    rng = np.random.default_rng(seed)
    parts = []
    for plan in PLANS:
        mappings = repository.for_product(plan.code)
        product = next(
            entry for entry in mappings.entries if entry.kind is MappingKind.MANIFESTATION
        )
        configuration = {
            demo.EVENT_PRODUCT: "ARENA-CONCERT",
            demo.COMPETITION_PRODUCT: "STADE-MATCH",
        }[plan.code]
        places = _places(plan)
        places["code_manifestation"] = product.partner[0]
        places["code_salle"] = mappings.to_partner(
            MappingKind.SALLE, pd.Series(configuration, index=places.index)
        )
        places["code_bloc"] = mappings.bloc_to_partner(
            places["zone"], places["block"], configuration
        )
        places["type_tarif"] = mappings.to_partner(
            MappingKind.TYPE_TARIF, places["category"], configuration
        )
        places["product"] = plan.code
        parts.append(places)
    sequence, order_number = shuffled_orders(parts, lines, rng)
    orders = int(order_number.max())

    categories = repository.for_product(demo.EVENT_PRODUCT).inbound_table(
        MappingKind.CATEGORIE_CLIENT
    )
    fnac_categories = np.array(sorted(categories, key=int))
    weights = np.array([6.0 if value == "0" else 1.0 for value in fnac_categories])
    chosen = rng.choice(fnac_categories, size=lines, p=weights / weights.sum())
    tariff = pd.Series(chosen).map({value: entry.organiser for value, entry in categories.items()})
    price_table = {
        (product, category, tariff_code): amount
        for product in (plan.code for plan in PLANS)
        for (category, tariff_code), amount in fnac_prices(product).items()
    }
    keys = pd.MultiIndex.from_arrays([sequence["product"], sequence["category"], tariff])
    prices = pd.Series(price_table).reindex(keys).to_numpy().astype("int64")

    shop = rng.integers(0, len(SHOPS), size=orders + 1)[order_number]
    name = rng.integers(0, len(NAMES), size=lines)
    numbers = pd.Series(np.arange(1, lines + 1)).astype("str")

    def text(values: object) -> pd.Series:
        return pd.Series(values).astype(TEXT)

    return pd.DataFrame(
        {
            "id_vente": text("V" + pd.Series(order_number).astype("str").str.zfill(12)),
            "id_billet": text("B" + numbers.str.zfill(12)),
            "code_manifestation": text(sequence["code_manifestation"]),
            "date_seance": sequence["date_seance"].astype("datetime64[us]"),
            "code_salle": text(sequence["code_salle"]),
            "code_bloc": text(sequence["code_bloc"]),
            "rang": text(sequence["rang"]),
            "place": text(sequence["place"]),
            "type_tarif": text(sequence["type_tarif"]),
            "categorie_client": text(chosen),
            "code_allotement": text(pd.Series([_allotement(repository)] * lines)),
            "prix_ttc": prices,
            "commission": prices * 6 // 100,
            "devise": text(pd.Series(["EUR"] * lines)),
            "code_barre": text("40" + numbers.str.zfill(16)),
            "nom_beneficiaire": text(np.array([n for n, _ in NAMES])[name]),
            "prenom_beneficiaire": text(np.array([f for _, f in NAMES])[name]),
            "email_acheteur": text(
                "acheteur" + pd.Series(order_number).astype("str") + "@example.org"
            ),
            "telephone_acheteur": text(pd.Series(["+33612345678"] * lines)),
            "adresse_acheteur": text(pd.Series(["12 rue de la Paix; bât. B, 75002 Paris"] * lines)),
            "code_point_vente": text(np.array([code for code, _ in SHOPS])[shop]),
            "libelle_point_vente": text(np.array([label for _, label in SHOPS])[shop]),
            "date_vente": SOLD_FROM + pd.to_timedelta(order_number, unit="s"),
        }
    )


def _allotement(repository: MappingRepository) -> str:
    table = repository.for_product(demo.EVENT_PRODUCT).outbound_table(MappingKind.ALLOTEMENT)
    return str(table[demo.FNAC_QUOTA])


def write_ventes(path: Path, frame: pd.DataFrame) -> str:
    from reseller_sync.fnac.writer import write_file

    name, data = write_file(FileType.VENTES, MANAGER, SEQ, frame, created=CREATED)
    target = path / name
    target.write_bytes(data)
    return name


# --------------------------------------------------------------------------- databases


class Database:
    """A fresh box office per measurement, copied from a template built once."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind = kind
        self.folder = folder
        self.tag = uuid.uuid4().hex[:10]
        self.template = self.url(f"bench_template_{self.tag}")

    def url(self, name: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.folder / (name + '.sqlite')}"
        return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    def create_database(self) -> None:
        """The empty template database (PostgreSQL; a SQLite file is made when first opened)."""
        self._admin(f'CREATE DATABASE "bench_template_{self.tag}"')

    @contextmanager
    def copy(self, name: str) -> Iterator[str]:
        full = f"bench_{name}_{self.tag}"
        url = self.url(full)
        if self.kind == "sqlite":
            shutil.copyfile(
                self.template.removeprefix("sqlite:///"), url.removeprefix("sqlite:///")
            )
        else:
            self._admin(f'CREATE DATABASE "{full}" TEMPLATE "bench_template_{self.tag}"')
        try:
            yield url
        finally:
            if self.kind == "sqlite":
                for suffix in ("", "-wal", "-shm"):
                    Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
            else:
                self._admin(f'DROP DATABASE IF EXISTS "{full}" WITH (FORCE)')

    def drop_template(self) -> None:
        if self.kind == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "bench_template_{self.tag}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(statement))
        finally:
            admin.dispose()


WRITTEN_TABLES = ("sales_order", "ticket", "access_control_entry", "pending_account_movement")
"""The tables ``integrate_sales`` writes, in the order their foreign keys need."""


def dump_rows(url: str, folder: Path) -> None:
    """The rows integrated at ``url``, as CSV files (``\\N`` for NULL), for the COPY baselines.

    ``tickets.csv`` holds the ticket rows' own columns (no id), one file per
    written table holds its whole rows.
    """
    queries = {"tickets": f"SELECT {', '.join(TICKET_COLUMNS)} FROM ticket ORDER BY id"}
    queries.update({table: f"SELECT * FROM {table} ORDER BY id" for table in WRITTEN_TABLES})
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            for name, query in queries.items():
                with (folder / f"{name}.csv").open("w", newline="") as file:
                    writer = csv.writer(file)
                    cursor = connection.execute(query)
                    while rows := cursor.fetchmany(50_000):
                        writer.writerows(
                            ["\\N" if value is None else value for value in row] for row in rows
                        )
        finally:
            connection.close()
        return
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        for name, query in queries.items():
            statement = f"COPY ({query}) TO STDOUT WITH (FORMAT csv, NULL '\\N')"
            with (
                (folder / f"{name}.csv").open("wb") as file,
                connection.cursor() as cursor,
                cursor.copy(statement) as copy,
            ):
                for data in copy:
                    file.write(data)


def scratch_table() -> Table:
    """A table as wide as the ticket rows: same columns and types, an id key, no constraint."""
    metadata = MetaData()
    columns = []
    for name in TICKET_COLUMNS:
        type_ = Ticket.__table__.c[name].type
        columns.append(Column(name, String(32) if isinstance(type_, Enum) else type_))
    return Table(SCRATCH_TABLE, metadata, Column("id", Integer, primary_key=True), *columns)


# --------------------------------------------------------------------------- measurements


def settings_for_bench() -> FnacSettings:
    settings = load_settings(ROOT / "include" / "config" / "resellers" / "fnac.yaml")
    prices = settings.prices.model_copy(
        update={"policy": PricePolicy.STRICT, "includes_commission": True}
    )
    return settings.model_copy(update={"prices": prices})


def measure(mode: str, url: str, path: Path, mappings: Path, profile: Path | None) -> dict:
    """Run one measurement in this process; return seconds, lines, phases and peak RSS."""
    from reseller_sync.fnac.reader import iter_file_chunks, read_file
    from reseller_sync.fnac.sales import integrate_sales

    settings = settings_for_bench()
    repository = load_repository(mappings)
    engine = make_engine(url)
    if mode == "copy":
        scratch_table().create(engine)
    phases: dict[str, float] = {}
    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    if mode == "copy":
        lines = _bulk_load(engine, [(SCRATCH_TABLE, TICKET_COLUMNS, path / "tickets.csv")])
    elif mode == "copy_tables":
        lines = _bulk_load(
            engine, [(table, None, path / f"{table}.csv") for table in WRITTEN_TABLES]
        )
    else:
        factory = sessionmaker(engine, expire_on_commit=False)
        with factory() as session, session.begin():
            if mode == "integrate":
                # As production does (pipelines.inbound): only the reader holds the bytes.
                chunks = iter_file_chunks(path.name, path.read_bytes())
                result = integrate_sales(session, settings, repository, path.name, chunks)
                lines = result.tickets
                phases["read_and_integrate"] = time.perf_counter() - started
            else:
                parsed = read_file(path.name, path.read_bytes())
                phases["read_file"] = time.perf_counter() - started
                lines = integrate_row_by_row(session, settings, repository, parsed.frame)
                phases["integrate"] = time.perf_counter() - started - phases["read_file"]
            before_commit = time.perf_counter()
        phases["commit"] = time.perf_counter() - before_commit
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    engine.dispose()
    return {
        "seconds": seconds,
        "lines": lines,
        "phases": phases,
        "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "hwm_bytes": _vm_hwm(),
    }


def _vm_hwm() -> int:
    """This process's own peak RSS (``VmHWM``), a check on ``ru_maxrss``."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _bulk_load(engine: Engine, loads: list[tuple[str, tuple[str, ...] | None, Path]]) -> int:
    """Load CSV files into tables in one transaction: COPY, or sqlite3's executemany.

    Returns the rows of the last file.
    """
    rows = 0
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            driver = connection.connection.driver_connection
            for table, columns, path in loads:
                data = path.read_bytes()
                names = f" ({', '.join(columns)})" if columns else ""
                statement = f"COPY {table}{names} FROM STDIN WITH (FORMAT csv, NULL '\\N')"
                with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
                    copy.write(data)
                rows = data.count(b"\n")
        return rows
    connection = sqlite3.connect(engine.url.database)
    connection.execute("PRAGMA foreign_keys = ON")
    try:
        with connection:
            for table, columns, path in loads:
                with path.open(newline="") as file:
                    records = [
                        tuple(None if value == "\\N" else value for value in row)
                        for row in csv.reader(file)
                    ]
                if not records:
                    continue
                names = f" ({', '.join(columns)})" if columns else ""
                marks = ", ".join("?" * len(records[0]))
                connection.executemany(f"INSERT INTO {table}{names} VALUES ({marks})", records)
                rows = len(records)
    finally:
        connection.close()
    return rows


def integrate_row_by_row(
    session: Session, settings: FnacSettings, repository: MappingRepository, frame: pd.DataFrame
) -> int:
    """The straightforward ORM integration: queries per line, objects flushed per order."""
    box = settings.boxoffice
    channel = session.scalars(select(SalesChannel).where(SalesChannel.code == box.channel)).one()
    point = session.scalars(select(PointOfSale).where(PointOfSale.code == box.point_of_sale)).one()
    contact = session.scalars(select(Contact).where(Contact.code == box.paying_contact)).one()
    accounts = {
        account.currency.value: account
        for account in session.scalars(
            select(PendingAccount).where(PendingAccount.contact_id == contact.id)
        )
    }
    manifestations = repository.partner_products()
    tables: dict[str, dict[MappingKind, dict]] = {}
    now = dt.datetime.now(dt.UTC)
    order: Order | None = None
    pending: list[Ticket] = []
    tickets = 0

    def close(order: Order | None) -> None:
        if order is None:
            return
        session.flush()
        # The order and ticket ids exist now: debit the pending account and allow the
        # barcodes (flushed with the next order's first query, or at the commit).
        session.add(
            PendingAccountMovement(
                account_id=accounts[order.currency.value].id,
                order_id=order.id,
                kind=MovementKind.SALE,
                amount=order.total,
                currency=order.currency,
                reference=f"fnac:sale:{order.reseller_order_id}",
                booked_at=now,
            )
        )
        session.add_all(
            AccessControlEntry(
                performance_id=ticket.performance_id,
                barcode=ticket.barcode,
                ticket_id=ticket.id,
                allowed=True,
                updated_at=now,
            )
            for ticket in pending
        )
        pending.clear()

    for line in frame.itertuples():
        if order is None or order.reseller_order_id != line.id_vente:
            close(order)
            if session.scalar(
                select(Order.id).where(
                    Order.reseller_code == "fnac", Order.reseller_order_id == line.id_vente
                )
            ):
                raise ValueError(f"line {line.Index}: order integrated before")
            order = Order(
                channel_id=channel.id,
                point_of_sale_id=point.id,
                contact_id=contact.id,
                state=OrderState.PAID,
                currency=Currency(line.devise),
                total=0,
                reseller_code="fnac",
                reseller_order_id=line.id_vente,
                reseller_point_of_sale_code=line.code_point_vente,
                reseller_point_of_sale_name=line.libelle_point_vente,
                sold_at=line.date_vente.to_pydatetime(),
            )
            session.add(order)
        product = session.scalars(
            select(Product).where(Product.code == manifestations[line.code_manifestation])
        ).one()
        configuration = product.configuration.code if product.configuration else None
        if product.code not in tables:
            mappings = repository.for_product(product.code)
            tables[product.code] = {
                kind: mappings.inbound_table(kind, configuration)
                for kind in (
                    MappingKind.TYPE_TARIF,
                    MappingKind.CATEGORIE_CLIENT,
                    MappingKind.ALLOTEMENT,
                    MappingKind.BLOC,
                    MappingKind.SALLE,
                )
            }
        table = tables[product.code]
        if table[MappingKind.SALLE][line.code_salle].organiser != configuration:
            raise ValueError(f"line {line.Index}: salle")
        if table[MappingKind.ALLOTEMENT][line.code_allotement].organiser != box.quota:
            raise ValueError(f"line {line.Index}: allotement")
        performance = session.scalars(
            select(Performance).where(
                Performance.product_id == product.id,
                Performance.starts_at == line.date_seance.to_pydatetime(),
            )
        ).one()
        category = session.scalars(
            select(SeatCategory).where(
                SeatCategory.code == table[MappingKind.TYPE_TARIF][line.type_tarif].organiser
            )
        ).one()
        tariff = session.scalars(
            select(Tariff).where(
                Tariff.code == table[MappingKind.CATEGORIE_CLIENT][line.categorie_client].organiser
            )
        ).one()
        bloc = table[MappingKind.BLOC][line.code_bloc]
        blocks = (
            select(Block)
            .join(Zone)
            .where(Zone.configuration_id == product.configuration_id, Zone.code == bloc.zone)
        )
        if bloc.block:
            blocks = blocks.where(Block.code == bloc.block)
        block = session.scalars(blocks).one()
        quota = session.scalars(
            select(Quota).where(
                Quota.performance_id == performance.id, Quota.channel_id == channel.id
            )
        ).one()
        seat = None
        if block.free_placement:
            if block.category_id != category.id:
                raise ValueError(f"line {line.Index}: category")
            allowed = session.scalar(
                select(QuotaFreePlaces.places).where(
                    QuotaFreePlaces.quota_id == quota.id, QuotaFreePlaces.block_id == block.id
                )
            )
            sold = session.scalar(
                select(func.count()).where(
                    Ticket.performance_id == performance.id,
                    Ticket.block_id == block.id,
                    Ticket.state == TicketState.VALID,
                )
            )
            if allowed is None or sold >= allowed:
                raise ValueError(f"line {line.Index}: beyond the quota")
        else:
            seat = session.scalars(
                select(Seat).where(
                    Seat.block_id == block.id, Seat.row == line.rang, Seat.number == line.place
                )
            ).one()
            if seat.category_id != category.id:
                raise ValueError(f"line {line.Index}: category")
            if not session.scalar(
                select(QuotaSeat.id).where(
                    QuotaSeat.quota_id == quota.id, QuotaSeat.seat_id == seat.id
                )
            ):
                raise ValueError(f"line {line.Index}: seat not in the quota")
            if session.scalar(
                select(Ticket.id).where(
                    Ticket.performance_id == performance.id,
                    Ticket.seat_id == seat.id,
                    Ticket.state == TicketState.VALID,
                )
            ):
                raise ValueError(f"line {line.Index}: seat sold")
        price = session.scalars(
            select(Price).where(
                Price.performance_id == performance.id,
                Price.category_id == category.id,
                Price.tariff_id == tariff.id,
            )
        ).one()
        if price.amount != line.prix_ttc or price.currency.value != line.devise:
            raise ValueError(f"line {line.Index}: price")
        if session.scalar(
            select(Ticket.id).where(
                Ticket.reseller_code == "fnac", Ticket.reseller_ticket_id == line.id_billet
            )
        ) or session.scalar(
            select(AccessControlEntry.id).where(AccessControlEntry.barcode == line.code_barre)
        ):
            raise ValueError(f"line {line.Index}: ticket or barcode integrated before")
        ticket = Ticket(
            order=order,
            performance_id=performance.id,
            seat_id=seat.id if seat else None,
            block_id=None if seat else block.id,
            quota_id=quota.id,
            category_id=category.id,
            tariff_id=tariff.id,
            price=line.prix_ttc,
            commission=line.commission,
            currency=Currency(line.devise),
            barcode=line.code_barre,
            beneficiary_first_name=line.prenom_beneficiaire,
            beneficiary_last_name=line.nom_beneficiaire,
            state=TicketState.VALID,
            reseller_code="fnac",
            reseller_ticket_id=line.id_billet,
            reseller_category=line.categorie_client,
            is_test=False,
        )
        session.add(ticket)
        pending.append(ticket)
        order.total += int(line.prix_ttc)
        tickets += 1
    close(order)
    return tickets


def child(*arguments: object, script: Path | str = __file__) -> dict:
    """Run a task of this script (or of ``script``, whose ``--task`` runs its own tasks) in a
    fresh Python process; return its JSON answer.

    Everything big (the file, the box office, the dumps) is made in child
    processes: Linux keeps ``ru_maxrss`` across fork and exec, so a big parent
    would inflate the peak memory its measurement children report.
    """
    command = [sys.executable, str(script), "--task", *(str(a) for a in arguments)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"{arguments[0]} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def task(name: str, *arguments: str) -> dict:
    if name == "measure":
        mode, url, path, mappings, *profile = arguments
        return measure(mode, url, Path(path), Path(mappings), Path(profile[0]) if profile else None)
    if name == "generate":
        folder, lines, row_lines = Path(arguments[0]), int(arguments[1]), int(arguments[2])
        return prepare_files(folder, lines, row_lines)
    if name == "build":
        build_boxoffice(arguments[0], int(arguments[1]))
        return {}
    if name == "dump":
        dump_rows(arguments[0], Path(arguments[1]))
        return {}
    raise ValueError(name)


def prepare_files(folder: Path, lines: int, row_lines: int) -> dict:
    """The mapping folder, the VENTES file and its first ``row_lines`` lines as another file."""
    mappings = Path(shutil.copytree(ROOT / "include" / "mappings" / "fnac", folder / "mappings"))
    repository = load_repository(mappings)
    started = time.perf_counter()
    frame = ventes_frame(lines, repository)
    orders = frame["id_vente"].nunique()
    name = write_ventes(folder, frame)
    sample_folder = folder / "sample"
    sample_folder.mkdir()
    write_ventes(sample_folder, frame.iloc[:row_lines])
    return {
        "mappings": str(mappings),
        "file": str(folder / name),
        "sample": str(sample_folder / name),
        "orders": int(orders),
        "seconds": time.perf_counter() - started,
    }


def bench(kind: str, folder: Path, files: dict, lines: int, profile: bool) -> None:
    mappings, path, sample = files["mappings"], files["file"], files["sample"]
    database = Database(kind, folder)
    started = time.perf_counter()
    if kind == "postgresql":
        database.create_database()
    child("build", database.template, lines)
    print(
        f"{kind}: box office for {lines:,} FNAC places built in "
        f"{time.perf_counter() - started:.1f} s"
    )
    results: dict[str, dict] = {}
    profile_path = folder / f"{kind}.prof" if profile else None
    dumps = folder / f"rows-{kind}"
    dumps.mkdir()
    try:
        with database.copy("integrate") as url:
            extra = [profile_path] if profile_path else []
            results["integrate"] = child("measure", "integrate", url, path, mappings, *extra)
            child("dump", url, dumps)
        for mode in ("copy", "copy_tables"):
            with database.copy(mode) as url:
                results[mode] = child("measure", mode, url, dumps, mappings)
        with database.copy("row_by_row") as url:
            results["row_by_row"] = child("measure", "row_by_row", url, sample, mappings)
    finally:
        database.drop_template()
    report(kind, lines, results)
    if profile_path is not None:
        import pstats

        stats = pstats.Stats(str(profile_path))
        stats.sort_stats("cumulative").print_stats("reseller_sync", 30)
        stats.sort_stats("tottime").print_stats(15)


def report(kind: str, lines: int, results: dict[str, dict], *, unit: str = "lines") -> None:
    """The table and the ratios; ``copy`` and ``row_by_row`` may be left out of ``results``.

    ``unit`` names what ``lines`` counts (a file's lines, a batch's records).
    """
    copy, tables = results.get("copy"), results["copy_tables"]
    integrate, rows = results["integrate"], results.get("row_by_row")
    assert copy is None or copy["lines"] == lines, results
    assert integrate["lines"] == lines, results
    print(f"\n{kind}, {lines:,} {unit}")
    print(f"{'measurement':<14}{unit:>11}{'seconds':>9}{unit + '/s':>11}{'peak MiB':>10}")
    for mode in MODES:
        if mode not in results:
            continue
        result = results[mode]
        shown = lines if mode == "copy_tables" else result["lines"]
        print(
            f"{mode:<14}{shown:>11,}{result['seconds']:>9.2f}"
            f"{shown / result['seconds']:>11,.0f}{result['peak_bytes'] / 2**20:>10,.0f}"
        )
    print(
        "integrate phases: "
        + ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in integrate["phases"].items())
    )
    to_tables = integrate["seconds"] / tables["seconds"]
    peak = integrate["peak_bytes"] / 2**20
    if copy is not None:
        to_copy = integrate["seconds"] / copy["seconds"]
        print(f"integrate / copy time:         {to_copy:6.2f}x  (for information)")
    print(
        f"integrate / copy_tables time:  {to_tables:6.2f}x  (goal <= 1.25) "
        f"{_verdict(to_tables <= 1.25)}"
    )
    if rows is not None:
        speed = (integrate["lines"] / integrate["seconds"]) / (rows["lines"] / rows["seconds"])
        print(
            f"integrate / row_by_row speed:  {speed:6.1f}x  (goal >= 30)  {_verdict(speed >= 30)}"
        )
    print(f"integrate peak memory: {peak:,.0f} MiB (goal < 1024)  {_verdict(peak < 1024)}")
    if rows is not None:
        row_seconds = lines / (rows["lines"] / rows["seconds"])
        print(f"row_by_row extrapolated to {lines:,} lines: {row_seconds / 60:,.1f} min")


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="tickets in the VENTES file")
    parser.add_argument(
        "--row-lines", type=int, default=20_000, help="lines of the row-by-row baseline"
    )
    parser.add_argument("--database", choices=("postgresql", "sqlite", "both"), default="both")
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of the integrate measurement"
    )
    parser.add_argument("--task", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.task:
        print(json.dumps(task(*args.task)))
        return
    kinds = ("postgresql", "sqlite") if args.database == "both" else (args.database,)
    row_lines = min(args.row_lines, args.lines)
    with tempfile.TemporaryDirectory(prefix="bench-integration-") as folder:
        files = child("generate", folder, args.lines, row_lines)
        print(
            f"VENTES file: {args.lines:,} lines, {files['orders']:,} orders, "
            f"{Path(files['file']).stat().st_size / 2**20:,.0f} MiB, "
            f"written with the codec in {files['seconds']:.1f} s"
        )
        for kind in kinds:
            bench(kind, Path(folder), files, args.lines, args.profile)


if __name__ == "__main__":
    main()
