"""Benchmark of the ticket-state integration: a SecuTix-like reseller's TICKETS files.

The FNAC benchmark's machinery (``bench_integration.py``) for a reseller that
reports ticket states (``secutix-reseller-v1`` sections 7.1 and 7.2). It builds
the FNAC benchmark's box office (the demo data set plus extra performances of the
demo concert and match, every place of them in the reseller's quota), with the
benchmark reseller ``stx``: its sales channel, point of sale and paying contact
(with its pending accounts). No partner file: the lines are canonical
``TICKET_STATE_LINES`` built from the box office's ids, and fed to
``integrate_ticket_state_lines`` in chunks of ``--chunk`` lines (100,000), as an
adapter's reader yields them.

* File 1: ``--tickets`` new tickets (1,000,000), every place of the
  performances in turn, in orders of 1 to 4 places of one performance, shuffled;
  70 % ``sold``, 30 % ``printed``; prices the box office's (strict policy,
  commission included), 5 % commission, beneficiary names.
* File 2: ``--cancelled`` of them (10 %), chosen at random, each its whole line
  again but ``cancelled`` (half) or ``refunded`` (half, 50 to 100 % of the
  price back) a day after the sale.

Each measurement runs in a fresh Python process on a fresh copy of the box office
(peak memory is the process's own ``VmHWM``):

* ``integrate``: each file's chunks read (from a Parquet file of canonical
  lines) and integrated, then the commit, in one transaction per file; each file
  in its own process. Settings are made before the clock.
* ``copy_tables``: the goal's baseline, the same rows loaded into the same
  tables, with their foreign keys, unique indexes and checks, one transaction per
  file. File 1: the rows the integration wrote (orders, tickets, access control,
  pending-account movements) by ``COPY``. File 2: the rows it changed (tickets,
  orders, access control entries) by ``COPY`` into a temporary table and one
  ``UPDATE ... FROM`` each, and its refund movements by ``COPY``. SQLite: the
  sqlite3 driver's ``executemany`` instead of ``COPY``.

Goal: both files' ``integrate`` within 1.25x of their ``copy_tables``, under 1 GiB.

    .venv/bin/python bench/bench_secutix_integration.py                  # 1,000,000 tickets
    .venv/bin/python bench/bench_secutix_integration.py --tickets 20000 --database sqlite
    BENCH_SECUTIX_TICKETS=50000 .venv/bin/python bench/bench_secutix_integration.py

``BENCH_PLUGINS_DIR=<folder>`` measures another copy of the library, as for the FNAC
benchmark. Figures and where the time goes: ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

import bench_integration as base
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import (
    Block,
    ChannelType,
    Contact,
    Currency,
    PaymentMode,
    PendingAccount,
    Performance,
    PointOfSale,
    Price,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    SalesChannel,
    Seat,
    Tariff,
)
from reseller_sync.config.settings import PricePolicy
from reseller_sync.core.lines import LINE_INDEX, TICKET_STATE_LINES, LineBatch
from reseller_sync.integration.settings import IntegrationSettings

CODE = "stx"
CHANNEL = "STX-BENCH"
POINT_OF_SALE = "STX-BENCH-NET"
CONTACT = "STX-BENCH-TECH"
QUOTA = ("Q-STX-BENCH", "Contingent STX (benchmark)")
TARIFFS = {"PLEIN": 0.7, "REDUIT": 0.3}
"""The box-office tariffs sold, with their share; the reseller's code is the same."""
COMMISSION_PERCENT = 5
SHOPS = (("WEB", "Boutique en ligne"), ("DESK", "Guichet"), ("PHONE", "Téléphone"))
SOLD_FROM = pd.Timestamp("2026-11-28T11:05:00Z")
"""The first order's sale time; each next order a second later."""
FILES = ("TICKETS_00000001.csv", "TICKETS_00000002.csv")
UPDATED_TABLES = ("ticket", "sales_order", "access_control_entry")
"""The tables whose rows file 2 changes (it adds refund movements besides)."""
CHANGED = "SELECT id FROM ticket WHERE reseller_state IN ('cancelled', 'refunded')"
"""The tickets file 2 changed (file 1 is all sold or printed)."""


# --------------------------------------------------------------------------- the box office


def add_reseller(session: Session) -> None:
    """The benchmark reseller's channel, point of sale and paying contact (its pending
    accounts), before the quotas are made."""
    channel = SalesChannel(
        code=CHANNEL,
        name="SecuTix reseller (benchmark)",
        type=ChannelType.RESELLER_AUTOMATIC,
        reseller_code=CODE,
    )
    contact = Contact(code=CONTACT, name="SecuTix reseller account", technical=True)
    point = PointOfSale(
        code=POINT_OF_SALE,
        name="SecuTix reseller network",
        channel=channel,
        payment_mode=PaymentMode.PENDING_ACCOUNT,
    )
    session.add_all([channel, contact, point])
    session.add_all([PendingAccount(contact=contact, currency=c) for c in Currency])
    session.flush()


def build(url: str, tickets: int) -> None:
    base.build_boxoffice(url, tickets, channel=CHANNEL, quota=QUOTA, before=add_reseller)


def integration_settings() -> IntegrationSettings:
    return IntegrationSettings(
        code=CODE,
        name="SecuTix (benchmark)",
        channel=CHANNEL,
        point_of_sale=POINT_OF_SALE,
        paying_contact=CONTACT,
        price_policy=PricePolicy.STRICT,
        includes_commission=True,
        columns={"barcode": "BAR_CODE", "price": "PRICE", "seat_id": "SEAT"},
    )


# --------------------------------------------------------------------------- the files


def _places(session: Session, tickets: int) -> pd.DataFrame:
    """The first ``tickets`` places of the reseller's quotas, performance after performance
    (by date): each performance's seats, then its free places."""
    channel = select(SalesChannel.id).where(SalesChannel.code == CHANNEL).scalar_subquery()
    performances = session.execute(
        select(Performance.id)
        .join(Quota, Quota.performance_id == Performance.id)
        .where(Quota.channel_id == channel)
        .order_by(Performance.starts_at, Performance.id)
    ).all()
    rank = {performance_id: n for n, (performance_id,) in enumerate(performances)}
    seats = pd.DataFrame(
        session.execute(
            select(QuotaSeat.performance_id, Seat.id, Seat.category_id)
            .join(Seat, QuotaSeat.seat_id == Seat.id)
            .join(Quota, QuotaSeat.quota_id == Quota.id)
            .where(Quota.channel_id == channel)
        ).all(),
        columns=["performance_id", "seat_id", "category_id"],
    )
    free = pd.DataFrame(
        session.execute(
            select(Quota.performance_id, Block.id, Block.category_id, QuotaFreePlaces.places)
            .join(Quota, QuotaFreePlaces.quota_id == Quota.id)
            .join(Block, QuotaFreePlaces.block_id == Block.id)
            .where(Quota.channel_id == channel)
        ).all(),
        columns=["performance_id", "block_id", "category_id", "places"],
    )
    free = free.loc[free.index.repeat(free["places"])].drop(columns="places")
    places = pd.concat(
        [seats.assign(block_id=pd.NA, kind=0), free.assign(seat_id=pd.NA, kind=1)],
        ignore_index=True,
    )
    places["rank"] = places["performance_id"].map(rank)
    places = places.sort_values(["rank", "kind", "seat_id", "block_id"], kind="stable")
    if len(places) < tickets:
        raise ValueError(f"the quotas hold {len(places):,} places, not {tickets:,}")
    return places.iloc[:tickets].reset_index(drop=True)


def _orders(performance: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each place's order number (from 1, in file order): orders of 1 to 4 consecutive
    places of one performance; the caller shuffles the places by it."""
    lines = performance.size
    sizes = rng.integers(1, 5, size=lines)
    group = np.repeat(np.arange(lines), sizes)[:lines]
    starts = np.r_[True, (group[1:] != group[:-1]) | (performance[1:] != performance[:-1])]
    order = np.cumsum(starts) - 1
    position = rng.permutation(int(order[-1]) + 1)
    return position[order] + 1


def generate(url: str, folder: Path, tickets: int, cancelled: int, seed: int = 20261202) -> dict:
    """Write both files' canonical lines as Parquet files; what they hold."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    engine = make_engine(url)
    with sessionmaker(engine)() as session:
        places = _places(session, tickets)
        tariff_ids = dict(
            session.execute(
                select(Tariff.code, Tariff.id).where(Tariff.code.in_(list(TARIFFS)))
            ).all()
        )
        prices = pd.DataFrame(
            session.execute(
                select(Price.performance_id, Price.category_id, Price.tariff_id, Price.amount)
            ).all(),
            columns=["performance_id", "category_id", "tariff_id", "price"],
        )
    engine.dispose()
    order = _orders(places["performance_id"].to_numpy(np.int64), rng)
    tariff = rng.choice(np.array(list(TARIFFS)), size=tickets, p=np.array(list(TARIFFS.values())))
    places = places.assign(
        order=order, tariff=tariff, tariff_id=pd.Series(tariff).map(tariff_ids).to_numpy()
    )
    places = places.merge(prices, on=["performance_id", "category_id", "tariff_id"], how="left")
    if places["price"].isna().any():
        raise ValueError("a place has no box-office price")
    places = places.iloc[np.argsort(places["order"].to_numpy(), kind="stable")]
    places = places.reset_index(drop=True)
    orders = int(places["order"].max())

    order_number = places["order"].to_numpy(np.int64)
    shop = rng.integers(0, len(SHOPS), size=orders + 1)[order_number]
    name = rng.integers(0, len(base.NAMES), size=tickets)
    sold_at = SOLD_FROM + pd.to_timedelta(order_number, unit="s")
    printed = rng.random(tickets) < 0.3
    price = places["price"].to_numpy(np.int64)
    barcode = "77" + pd.Series(np.arange(1, tickets + 1)).astype("str").str.zfill(14)
    first = pd.DataFrame(
        {
            "reseller_order_ref": "SO" + pd.Series(order_number).astype("str").str.zfill(10),
            "reseller_ticket_ref": barcode,
            "barcode": barcode,
            "performance_id": places["performance_id"].astype("int64"),
            "seat_id": places["seat_id"].astype("Int64"),
            "block_id": places["block_id"].astype("Int64"),
            "category_id": places["category_id"].astype("int64"),
            "tariff_id": places["tariff_id"].astype("int64"),
            "reseller_tariff_ref": places["tariff"],
            "price": price,
            "commission": price * COMMISSION_PERCENT // 100,
            "currency": "EUR",
            "beneficiary_first_name": np.array([f for _, f in base.NAMES])[name],
            "beneficiary_last_name": np.array([n for n, _ in base.NAMES])[name],
            "point_of_sale_ref": np.array([code for code, _ in SHOPS])[shop],
            "point_of_sale_name": np.array([label for _, label in SHOPS])[shop],
            "sold_at": sold_at,
            "state": np.where(printed, "printed", "sold"),
            "state_changed_at": sold_at + pd.to_timedelta(np.where(printed, 600, 0), unit="s"),
            "refund_amount": pd.array([pd.NA] * tickets, dtype="Int64"),
        }
    )
    first.index = pd.Index(np.arange(1, tickets + 1), name=LINE_INDEX)
    first = first.astype(dict(TICKET_STATE_LINES.dtypes))
    TICKET_STATE_LINES.check(first, by="the benchmark")

    chosen = rng.choice(tickets, size=cancelled, replace=False)
    second = first.iloc[chosen].copy()
    refunded = rng.random(cancelled) < 0.5
    refund = second["price"].to_numpy() * rng.integers(50, 101, size=cancelled) // 100
    second["state"] = pd.Series(np.where(refunded, "refunded", "cancelled"), dtype="str").values
    second["state_changed_at"] = second["sold_at"] + pd.Timedelta(days=1)
    second["refund_amount"] = pd.array(np.where(refunded, refund, 0), dtype="Int64")
    second.loc[~refunded, "refund_amount"] = pd.NA
    second.index = pd.Index(np.arange(1, cancelled + 1), name=LINE_INDEX)
    second = second.astype(dict(TICKET_STATE_LINES.dtypes))
    TICKET_STATE_LINES.check(second, by="the benchmark")
    for number, frame in enumerate((first, second), start=1):
        table = pa.Table.from_pandas(frame.reset_index(), preserve_index=False)
        pq.write_table(table, folder / f"file{number}.parquet")
    return {
        "tickets": tickets,
        "orders": orders,
        "cancelled": cancelled,
        "refunded": int(refunded.sum()),
        "refund_cents": int(refund[refunded].sum()),
        "seconds": time.perf_counter() - started,
    }


def read_chunks(path: Path, chunk: int, spent: list[float]) -> Iterator[LineBatch]:
    """The file's lines in chunks, as an adapter's reader yields them; the time spent
    reading added to ``spent``."""
    dtypes = dict(TICKET_STATE_LINES.dtypes)
    parquet = pq.ParquetFile(path)
    batches = parquet.iter_batches(batch_size=chunk)
    while True:
        at = time.perf_counter()
        batch = next(batches, None)
        if batch is None:
            spent[0] += time.perf_counter() - at
            return
        frame = batch.to_pandas().set_index(LINE_INDEX).astype(dtypes)
        spent[0] += time.perf_counter() - at
        yield LineBatch(frame)


# --------------------------------------------------------------------------- measurements


def measure_integrate(
    url: str, folder: Path, number: int, chunk: int, profile: Path | None
) -> dict[str, Any]:
    """Integrate file ``number`` and commit, in this process."""
    from reseller_sync.integration.ticket_states import integrate_ticket_state_lines

    settings = integration_settings()
    engine = make_engine(url)
    path = folder / f"file{number}.parquet"
    lines = pq.ParquetFile(path).metadata.num_rows
    phases: dict[str, float] = {}
    reading = [0.0]
    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        result = integrate_ticket_state_lines(
            session, settings, FILES[number - 1], read_chunks(path, chunk, reading)
        )
        before_commit = time.perf_counter()
    phases["read_chunks"] = reading[0]
    phases["integrate"] = before_commit - started - reading[0]
    phases["commit"] = time.perf_counter() - before_commit
    seconds = time.perf_counter() - started
    if profiler is not None and profile is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    engine.dispose()
    return {
        "seconds": seconds,
        "lines": lines,
        "phases": phases,
        "outcome": {
            "lines": result.lines,
            "tickets": result.tickets,
            "orders": result.orders,
            "cancelled": result.cancelled,
            "refunded": result.refunded.get("EUR", 0),
        },
        "peak_bytes": base._vm_hwm(),
        "maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def dump_changes(url: str, folder: Path) -> None:
    """The rows file 2 changed (``UPDATED_TABLES``) and the movements it added, as CSV files
    (``\\N`` for NULL), as ``bench_integration.dump_rows`` writes whole tables."""
    queries = {
        "ticket": f"SELECT * FROM ticket WHERE id IN ({CHANGED}) ORDER BY id",
        "sales_order": "SELECT * FROM sales_order WHERE id IN "
        f"(SELECT order_id FROM ticket WHERE id IN ({CHANGED})) ORDER BY id",
        "access_control_entry": "SELECT * FROM access_control_entry WHERE ticket_id IN "
        f"({CHANGED}) ORDER BY id",
        "pending_account_movement": "SELECT * FROM pending_account_movement "
        f"WHERE reference LIKE '{CODE}:refund:%' ORDER BY id",
    }
    if url.startswith("sqlite"):
        lite = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            for name, query in queries.items():
                with (folder / f"{name}.csv").open("w", newline="") as file:
                    writer = csv.writer(file)
                    result = lite.execute(query)
                    while rows := result.fetchmany(50_000):
                        writer.writerows(
                            ["\\N" if value is None else value for value in row] for row in rows
                        )
        finally:
            lite.close()
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


def _update_tables(engine: Engine, folder: Path) -> int:
    """File 2's baseline, in one transaction: each changed table's rows loaded into a
    temporary table and written over the table's rows by id; the refund movements loaded.
    Returns the ticket rows updated."""
    updated = 0
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            driver: Any = connection.connection.driver_connection
            with driver.cursor() as cursor:
                for table in UPDATED_TABLES:
                    cursor.execute(f"SELECT * FROM {table} LIMIT 0")
                    columns = [column.name for column in cursor.description]
                    stage = f"stage_{table}"
                    cursor.execute(
                        f"CREATE TEMP TABLE {stage} (LIKE {table} INCLUDING DEFAULTS) "
                        "ON COMMIT DROP"
                    )
                    data = (folder / f"{table}.csv").read_bytes()
                    with cursor.copy(
                        f"COPY {stage} FROM STDIN WITH (FORMAT csv, NULL '\\N')"
                    ) as copy:
                        copy.write(data)
                    assignments = ", ".join(f'"{c}" = s."{c}"' for c in columns if c != "id")
                    cursor.execute(
                        f"UPDATE {table} SET {assignments} FROM {stage} s WHERE {table}.id = s.id"
                    )
                    if table == "ticket":
                        updated = cursor.rowcount
                data = (folder / "pending_account_movement.csv").read_bytes()
                with cursor.copy(
                    "COPY pending_account_movement FROM STDIN WITH (FORMAT csv, NULL '\\N')"
                ) as copy:
                    copy.write(data)
        return updated
    lite = sqlite3.connect(str(engine.url.database))
    lite.execute("PRAGMA foreign_keys = ON")
    try:
        with lite:
            for table in (*UPDATED_TABLES, "pending_account_movement"):
                columns = [
                    row[0] for row in lite.execute(f"SELECT * FROM {table} LIMIT 0").description
                ]
                with (folder / f"{table}.csv").open(newline="") as file:
                    records = [
                        tuple(None if value == "\\N" else value for value in row)
                        for row in csv.reader(file)
                    ]
                marks = ", ".join("?" * len(columns))
                if table == "pending_account_movement":
                    lite.executemany(f"INSERT INTO {table} VALUES ({marks})", records)
                    continue
                stage = f"stage_{table}"
                lite.execute(f"CREATE TEMP TABLE {stage} AS SELECT * FROM {table} WHERE 0")
                lite.executemany(f"INSERT INTO {stage} VALUES ({marks})", records)
                assignments = ", ".join(f'"{c}" = s."{c}"' for c in columns if c != "id")
                cursor = lite.execute(
                    f"UPDATE {table} SET {assignments} FROM {stage} s WHERE {table}.id = s.id"
                )
                if table == "ticket":
                    updated = cursor.rowcount
                lite.execute(f"DROP TABLE {stage}")
    finally:
        lite.close()
    return updated


def measure_copy_tables(url: str, rows: Path, changes: Path) -> dict[str, Any]:
    """Both files' baselines, one after the other, each in its own transaction."""
    engine = make_engine(url)
    results: dict[str, Any] = {}
    started = time.perf_counter()
    loaded = base._bulk_load(
        engine, [(table, None, rows / f"{table}.csv") for table in base.WRITTEN_TABLES]
    )
    results["file1"] = {"seconds": time.perf_counter() - started, "rows": loaded}
    started = time.perf_counter()
    updated = _update_tables(engine, changes)
    results["file2"] = {"seconds": time.perf_counter() - started, "rows": updated}
    engine.dispose()
    results["peak_bytes"] = base._vm_hwm()
    return results


def task(name: str, *arguments: str) -> dict:
    if name == "integrate":
        url, folder, number, chunk, *profile = arguments
        return measure_integrate(
            url, Path(folder), int(number), int(chunk), Path(profile[0]) if profile else None
        )
    if name == "copy_tables":
        return measure_copy_tables(arguments[0], Path(arguments[1]), Path(arguments[2]))
    if name == "generate":
        return generate(arguments[0], Path(arguments[1]), int(arguments[2]), int(arguments[3]))
    if name == "build":
        build(arguments[0], int(arguments[1]))
        return {}
    if name == "dump":
        base.dump_rows(arguments[0], Path(arguments[1]))
        return {}
    if name == "dump_changes":
        dump_changes(arguments[0], Path(arguments[1]))
        return {}
    raise ValueError(name)


def child(*arguments: object) -> dict:
    return base.child(*arguments, script=__file__)


# --------------------------------------------------------------------------- the run


def bench(kind: str, folder: Path, tickets: int, cancelled: int, chunk: int, profile: bool) -> None:
    database = base.Database(kind, folder)
    started = time.perf_counter()
    if kind == "postgresql":
        database.create_database()
    try:
        child("build", database.template, tickets)
        print(
            f"{kind}: box office for {tickets:,} places built in "
            f"{time.perf_counter() - started:.1f} s"
        )
        lines = folder / f"lines-{kind}"
        lines.mkdir()
        files = child("generate", database.template, lines, tickets, cancelled)
        print(
            f"file 1: {tickets:,} new tickets in {files['orders']:,} orders; file 2: "
            f"{cancelled:,} of them cancelled ({files['refunded']:,} refunded); "
            f"lines made in {files['seconds']:.1f} s"
        )
        rows, changes = folder / f"rows-{kind}", folder / f"changes-{kind}"
        rows.mkdir()
        changes.mkdir()
        integrate: dict[int, dict] = {}
        with database.copy("integrate") as url:
            for number in (1, 2):
                extra = [folder / f"{kind}-file{number}.prof"] if profile else []
                integrate[number] = child("integrate", url, lines, number, chunk, *extra)
                child(
                    "dump" if number == 1 else "dump_changes", url, rows if number == 1 else changes
                )
        with database.copy("copy_tables") as url:
            tables = child("copy_tables", url, rows, changes)
    finally:
        database.drop_template()
    first, second = integrate[1]["outcome"], integrate[2]["outcome"]
    assert (first["tickets"], first["orders"]) == (tickets, files["orders"]), first
    assert (second["cancelled"], second["refunded"]) == (cancelled, files["refund_cents"]), second
    assert tables["file2"]["rows"] == cancelled, tables
    report(kind, tickets, cancelled, integrate, tables)
    if profile:
        import pstats

        for number in (1, 2):
            print(f"\nprofile of integrate, file {number}")
            stats = pstats.Stats(str(folder / f"{kind}-file{number}.prof"))
            stats.sort_stats("cumulative").print_stats("reseller_sync", 30)
            stats.sort_stats("tottime").print_stats(15)


def report(
    kind: str, tickets: int, cancelled: int, integrate: dict[int, dict], tables: dict
) -> None:
    print(f"\n{kind}, {tickets:,} tickets sold (file 1), then {cancelled:,} cancelled (file 2)")
    print(f"{'measurement':<22}{'lines':>11}{'seconds':>9}{'lines/s':>11}{'peak MiB':>10}")
    for number, lines in ((1, tickets), (2, cancelled)):
        for mode, result in (("integrate", integrate[number]), ("copy_tables", None)):
            seconds = result["seconds"] if result else tables[f"file{number}"]["seconds"]
            peak = (result or tables)["peak_bytes"] / 2**20
            print(
                f"{mode + f' file {number}':<22}{lines:>11,}{seconds:>9.2f}"
                f"{lines / seconds:>11,.0f}{peak:>10,.0f}"
            )
    for number in (1, 2):
        phases = integrate[number]["phases"]
        print(
            f"integrate file {number} phases: "
            + ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in phases.items())
        )
    total = sum(integrate[n]["seconds"] for n in (1, 2))
    baseline = sum(tables[f"file{n}"]["seconds"] for n in (1, 2))
    for number in (1, 2):
        ratio = integrate[number]["seconds"] / tables[f"file{number}"]["seconds"]
        print(f"integrate / copy_tables, file {number}:  {ratio:6.2f}x")
    ratio = total / baseline
    print(
        f"integrate / copy_tables, both files: {ratio:6.2f}x  (goal <= 1.25) "
        f"{base._verdict(ratio <= 1.25)}"
    )
    peak = max(integrate[n]["peak_bytes"] for n in (1, 2)) / 2**20
    print(f"integrate peak memory: {peak:,.0f} MiB (goal < 1024)  {base._verdict(peak < 1024)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tickets",
        type=int,
        default=int(os.environ.get("BENCH_SECUTIX_TICKETS", 1_000_000)),
        help="new tickets in file 1 (default 1,000,000, or $BENCH_SECUTIX_TICKETS)",
    )
    parser.add_argument(
        "--cancelled",
        type=float,
        default=0.10,
        help="share of file 1's tickets cancelled or refunded in file 2 (default 0.10)",
    )
    parser.add_argument("--chunk", type=int, default=100_000, help="lines per chunk")
    parser.add_argument(
        "--database", choices=("postgresql", "sqlite", "both"), default="postgresql"
    )
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of each integrate measurement"
    )
    parser.add_argument("--task", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.task:
        print(json.dumps(task(*args.task)))
        return
    kinds = ("postgresql", "sqlite") if args.database == "both" else (args.database,)
    cancelled = round(args.tickets * args.cancelled)
    with tempfile.TemporaryDirectory(prefix="bench-secutix-integration-") as folder:
        for kind in kinds:
            bench(kind, Path(folder), args.tickets, cancelled, args.chunk, args.profile)


if __name__ == "__main__":
    main()
