"""Benchmark of the Ticketnet SALES integration: a big TRANSACTIONS batch into the box office.

The FNAC benchmark's machinery (``bench_integration.py``), for Ticketnet. It builds
a box office able to take the batch's sales: the demo data set, Ticketnet's sales
channel, point of sale and paying contact (with its pending accounts), and the
FNAC benchmark's extra performances of the demo concert (the seated arena: 5,200
seats and a standing pit of 1,200) and of the demo match (3,000 seats and a
standing end of 3,000), Ticketnet's quota ``Q-TICKETNET`` holding every place of
them. Ticketnet's identifiers of those performances (as the ACK of a CATALOG would
give them: an ``event_id`` per product, ``performance_id`` the performance's code)
and a mapping folder covering the arena's and the stadium's sections and areas,
the price levels and the price types are written into the temporary folder.

The batch (``SALES_PR04127_00000001``), written with the codec's writer
(``build_batch``), holds ``--records`` TRANSACTIONS records (1,000,000 by default:
two parts of 500,000): SALE records in orders (transactions) of 1 to 4 places of
one performance (about two thirds seats, one third standing), shuffled across
performances, at the box office's price as ``amount`` (so that the ``strict`` price
policy passes, prices recorded commission excluded), 10 % fees, attendee names,
the ``buyer_*`` columns filled with fake values (the reader drops them); and
``--refunds`` of the records (2 % by default) are REFUND records, each a whole
refund of one earlier SALE record of the same batch (chosen at random), written
after all the SALE records (so in the last part: REFUND records spread over two
parts are refused today, the cancellation lines of the parts being joined to
their tickets by record numbers that repeat from one part to the next).

Then, as the FNAC benchmark does, each in a fresh Python process on a fresh copy of
the box office, peak memory as the process's own ``VmHWM``:

* ``copy``: for information, the ticket rows the integration wrote loaded into a
  scratch table of the same width by ``COPY`` (``executemany`` on SQLite);
* ``copy_tables``: the goal's baseline, the rows the integration wrote (orders,
  tickets, access control, pending-account movements: their final state, the
  refunds' cancellations and movements included) loaded the same way into the
  real tables, with their foreign keys, unique indexes and checks, in one
  transaction;
* ``integrate``: what the Ticketnet pipeline does with a landed batch, end to end:
  ``read_batch`` from the folder (manifest, SHA-256, decompression, parse, every
  format and rule), ``batch_lines`` (sale lines, test sale lines, cancellation
  lines) and ``integrate_inbound_lines`` for each, then the commit, in one
  transaction. Settings, mappings and identifiers are loaded before the clock.

Goal: ``integrate`` within 1.25x of ``copy_tables``, under 1 GiB.

    .venv/bin/python bench/bench_ticketnet_integration.py                    # 1,000,000 records
    .venv/bin/python bench/bench_ticketnet_integration.py --records 20000 --database sqlite

Ticketnet is not in the reseller registry yet: each process of this benchmark
registers its type (as the tests' ``ticketnet_registered`` fixture does) before
anything loads settings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import bench_integration as base
from bench_integration import PLANS, ProductPlan, demo
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import (
    Performance,
    Product,
    ProductChannel,
    SalesChannel,
)

if TYPE_CHECKING:
    from reseller_sync.ticketnet.identifiers import PartnerPerformances
    from reseller_sync.ticketnet.names import BatchId
    from reseller_sync.ticketnet.settings import TicketnetSettings

CHANNEL = "TICKETNET"
POINT_OF_SALE = "TICKETNET-RESEAU"
CONTACT = "TICKETNET-TECH"
QUOTA = ("Q-TICKETNET", "Contingent Ticketnet")
PROMOTER = "PR04127"
BATCH_NUMBER = 1
EVENT_IDS = {demo.EVENT_PRODUCT: "1A005F3C9B12E4D7", demo.COMPETITION_PRODUCT: "2B116D4DAC23F5E8"}
"""Ticketnet's ``event_id`` of each product (its ``performance_id`` is the performance's code)."""
CONFIGURATIONS = {demo.EVENT_PRODUCT: "ARENA-CONCERT", demo.COMPETITION_PRODUCT: "STADE-MATCH"}
VENUE_CODES = {"ARENA-CONCERT": "ARENA-PARIS-C", "STADE-MATCH": "GERLAND-MATCH"}
SECTIONS: dict[str, dict[str, str | dict[str, str]]] = {
    "ARENA-CONCERT": {
        "FOSSE": "FOSSE",
        "PARTERRE": {
            f"P{n}": f"ORCH-{letter}" for n, letter in zip(range(1, 5), "ABCD", strict=True)
        },
        "BAS": {block: f"BAS-{block}" for block in "ABCDEF"},
        "HAUT": {block: f"HAUT-{block}" for block in "JKLMN"},
    },
    "STADE-MATCH": {
        "NORD": {f"N{n}": f"NORD-{n}" for n in range(1, 5)},
        "VIRAGE": "VIRAGE-SUD",
    },
}
"""Per configuration, each zone's area (standing, a whole zone) or its blocks' sections."""
PRICE_LEVELS = {"CAT1": "1", "CAT2": "2", "CAT3": "3", "FOSSE": "FO", "VIRAGE": "VS"}
PRICE_TYPES = {"ADULT": "PLEIN", "REDUCED": "REDUIT", "CE": "REDUIT", "CSE": "REDUIT"}
PRICE_TYPE_WEIGHTS = (0.6, 0.2, 0.1, 0.1)
FEES_PERCENT = 10
OUTLETS = (
    ("WEB", "ticketmaster.fr"),
    ("APP", "Ticketmaster app"),
    ("PHONE", "Ticketmaster par téléphone"),
    ("S01234", "Centre commercial Rennes, accueil"),
)
SOLD_FROM = pd.Timestamp("2026-11-28T12:05:00")
"""Local time (+01:00) of the first sale; each transaction a second later."""
CREATED_AT = "2026-12-03T14:10:03+01:00"
MODES = ("copy", "copy_tables", "integrate")


def batch_id() -> BatchId:
    from reseller_sync.ticketnet.names import BatchId, Stream

    return BatchId(Stream.SALES, PROMOTER, BATCH_NUMBER)


# --------------------------------------------------------------------------- the box office


def add_ticketnet_entities(session: Session) -> None:
    """The benchmark's products sold on Ticketnet's channel, which the demo box office holds
    with its point of sale and paying contact."""
    channel = session.scalars(select(SalesChannel).where(SalesChannel.code == CHANNEL)).one()
    on_channel = set(
        session.scalars(
            select(ProductChannel.product_id).where(ProductChannel.channel_id == channel.id)
        )
    )
    for product_id in session.scalars(
        select(Product.id).where(Product.code.in_([plan.code for plan in PLANS]))
    ):
        if product_id not in on_channel:
            session.add(ProductChannel(product_id=product_id, channel_id=channel.id))
    session.flush()


def build(url: str, tickets: int) -> None:
    base.build_boxoffice(url, tickets, channel=CHANNEL, quota=QUOTA, before=add_ticketnet_entities)


def partner_performances(session: Session) -> PartnerPerformances:
    """Ticketnet's identifiers of the benchmark's performances, as its ACKs would give them."""
    from reseller_sync.ticketnet.identifiers import PartnerPerformances

    rows = session.execute(
        select(Product.code, Performance.code, Performance.id)
        .join(Product, Performance.product_id == Product.id)
        .where(
            Product.code.in_(list(EVENT_IDS)),
            Performance.starts_at >= dt.datetime.combine(base.FIRST_EXTRA_DAY, dt.time()),
        )
    ).all()
    return PartnerPerformances.of(
        {(EVENT_IDS[product], code): performance for product, code, performance in rows}
    )


# --------------------------------------------------------------------------- the batch


def mapping_yaml() -> str:
    """Ticketnet's mapping folder's ``_shared.yaml`` for the two configurations."""
    q = json.dumps
    lines = ["# Ticketnet mappings of the integration benchmark.", "tariffs:"]
    tariffs: dict[str, list[str]] = {}
    for price_type, tariff in PRICE_TYPES.items():
        tariffs.setdefault(tariff, []).append(price_type)
    lines += [f"  {tariff}: {q('|'.join(types))}" for tariff, types in tariffs.items()]
    lines.append("categories:")
    lines += [f"  {category}: {q(level)}" for category, level in PRICE_LEVELS.items()]
    lines.append("configurations:")
    for configuration, zones in SECTIONS.items():
        lines += [f"  {configuration}:", f"    venue_code: {q(VENUE_CODES[configuration])}"]
        lines.append("    zones:")
        for zone, target in zones.items():
            if isinstance(target, str):
                lines.append(f"      {zone}: {q(target)}")
                continue
            lines += [f"      {zone}:", "        blocks:"]
            lines += [f"          {block}: {q(section)}" for block, section in target.items()]
    return "\n".join(lines) + "\n"


def _plan_places(plan: ProductPlan) -> pd.DataFrame:
    """Every place of a plan's configuration, with Ticketnet's section or area and price
    level (``_places`` of the FNAC benchmark, in Ticketnet's words)."""
    configuration = CONFIGURATIONS[plan.code]
    places = base._places(plan)
    zones = SECTIONS[configuration]
    code = [
        target if isinstance(target := zones[zone], str) else target[block]
        for zone, block in zip(places["zone"], places["block"], strict=True)
    ]
    seated = places["rang"].notna().to_numpy()
    places["section"] = np.where(seated, code, "")
    places["area"] = np.where(seated, "", code)
    places["row"] = places["rang"].fillna("")
    places["seat"] = places["place"].fillna("")
    places["price_level"] = places["category"].map(PRICE_LEVELS)
    places["product"] = plan.code
    return places


def _amounts(cents: np.ndarray) -> pd.Series:
    """Cents as the contract's amounts: ``6850`` → ``68.50``."""
    cents = pd.Series(cents)
    return (cents // 100).astype("str") + "." + (cents % 100).astype("str").str.zfill(2)


def transactions(
    records: int, refund_share: float, seed: int = 20261203
) -> tuple[dict[str, pa.Array], dict[str, int]]:
    """The TRANSACTIONS records of the batch (strings, ready for the writer) and counts."""
    rng = np.random.default_rng(seed)
    refunds = round(records * refund_share)
    sales = records - refunds
    parts = [_plan_places(plan) for plan in PLANS]
    sequence, order_number = base.shuffled_orders(parts, sales, rng)

    # Each performance's code: B0001, B0002... per product in date order (the box office's).
    codes: dict[tuple[str, pd.Timestamp], str] = {}
    numbers: dict[str, int] = {}
    for plan, starts_at in base.performances_needed(sales):
        numbers[plan.code] = numbers.get(plan.code, 0) + 1
        codes[(plan.code, pd.Timestamp(starts_at))] = f"B{numbers[plan.code]:04d}"
    performance_ids = pd.Series(
        [codes[key] for key in zip(sequence["product"], sequence["date_seance"], strict=True)]
    )

    price_types = np.array(list(PRICE_TYPES))
    chosen = rng.choice(price_types, size=sales, p=np.array(PRICE_TYPE_WEIGHTS))
    tariffs = pd.Series(chosen).map(PRICE_TYPES)
    price_table = {
        (plan.code, category, tariff): amount
        for plan in PLANS
        for (category, tariff), amount in base.fnac_prices(plan.code).items()
    }
    keys = pd.MultiIndex.from_arrays([sequence["product"], sequence["category"], tariffs])
    cents = pd.Series(price_table).reindex(keys).to_numpy().astype("int64")
    fees = cents * FEES_PERCENT // 100

    orders = int(order_number.max())
    outlet = rng.integers(0, len(OUTLETS), size=orders + 1)[order_number]
    name = rng.integers(0, len(base.NAMES), size=sales)
    order_text = pd.Series(order_number).astype("str")
    sold_at = SOLD_FROM + pd.to_timedelta(order_number, unit="s")
    sale = pd.DataFrame(
        {
            "transaction_id": "TX" + order_text.str.zfill(10),
            "line_id": (pd.Series(order_number).groupby(order_number).cumcount() + 1).astype("str"),
            "type": "SALE",
            "original_transaction_id": "",
            "original_line_id": "",
            "event_id": sequence["product"].map(EVENT_IDS),
            "performance_id": performance_ids,
            "section": sequence["section"],
            "row": sequence["row"],
            "seat": sequence["seat"],
            "area": sequence["area"],
            "price_level": sequence["price_level"],
            "price_type": pd.Series(chosen),
            "amount": _amounts(cents),
            "fees": _amounts(fees),
            "currency": "EUR",
            "barcode": "8142" + pd.Series(np.arange(1, sales + 1)).astype("str").str.zfill(12),
            "attendee_first_name": pd.Series(np.array([f for _, f in base.NAMES])[name]),
            "attendee_last_name": pd.Series(np.array([n for n, _ in base.NAMES])[name]),
            "buyer_email": "acheteur" + order_text + "@example.org",
            "buyer_phone": "+336" + order_text.str.zfill(8).str[-8:],
            "buyer_postcode": (75001 + pd.Series(order_number) % 20).astype("str"),
            "outlet_id": pd.Series(np.array([code for code, _ in OUTLETS])[outlet]),
            "outlet_name": pd.Series(np.array([label for _, label in OUTLETS])[outlet]),
            "occurred_at": pd.Series(sold_at.strftime("%Y-%m-%dT%H:%M:%S")) + "+01:00",
            "refund_reason": "",
            "test": "false",
        }
    )
    refunded = np.sort(rng.choice(sales, size=refunds, replace=False))
    refund = sale.iloc[refunded].reset_index(drop=True)
    refund = refund.assign(
        transaction_id="RF" + pd.Series(np.arange(1, refunds + 1)).astype("str").str.zfill(10),
        line_id="1",
        type="REFUND",
        original_transaction_id=refund["transaction_id"],
        original_line_id=refund["line_id"],
        occurred_at=pd.Series(
            (sold_at[refunded] + pd.Timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
        )
        + "+01:00",
        refund_reason="CUSTOMER",
    )
    # The refunds after every sale, so in the last part: REFUND records in two parts hit
    # a bug of the integration (their record numbers, by which the parts' cancellation
    # lines are joined to their tickets, repeat from one part to the next).
    frame = pd.concat([sale, refund], ignore_index=True)
    columns = {
        column: pa.array(frame[column].to_numpy(dtype=object), pa.string())
        for column in frame.columns
    }
    counts = {"records": records, "sales": sales, "refunds": refunds, "orders": orders}
    return columns, counts


def prepare(folder: Path, records: int, refund_share: float) -> dict:
    """The mapping folder and the batch folder; what they hold."""
    from reseller_sync.ticketnet.mappings import load_mappings
    from reseller_sync.ticketnet.names import FileType
    from reseller_sync.ticketnet.writer import build_batch

    mappings = folder / "mappings"
    mappings.mkdir()
    (mappings / "_shared.yaml").write_text(mapping_yaml())
    load_mappings(mappings)  # raises on a fault
    started = time.perf_counter()
    columns, counts = transactions(records, refund_share)
    built = build_batch(batch_id(), {FileType.TRANSACTIONS: columns}, created_at=CREATED_AT)
    del columns
    batch = folder / "batch"
    batch.mkdir()
    built.write_to(batch)
    return {
        **counts,
        "mappings": str(mappings),
        "batch": str(batch),
        "parts": len(built.files),
        "bytes": sum(len(data) for data in built.files.values()),
        "seconds": time.perf_counter() - started,
    }


# --------------------------------------------------------------------------- measurements


def settings() -> TicketnetSettings:
    from reseller_sync.ticketnet.settings import TicketnetSettings

    return TicketnetSettings.model_validate(
        {
            "promoter_code": PROMOTER,
            "boxoffice": {
                "channel": CHANNEL,
                "point_of_sale": POINT_OF_SALE,
                "paying_contact": CONTACT,
                "quota": QUOTA[0],
            },
            "prices": {"policy": "strict", "includes_commission": False},
            "notifications": {
                "error_emails": ["ops@example.org"],
                "ticketnet_contact_email": "partners@ticketnet.example",
            },
            "tariffs_offered": sorted(set(PRICE_TYPES.values())),
            "products": [plan.code for plan in PLANS],
        }
    )


def measure(
    mode: str, url: str, path: Path, records: int, mappings: Path, profile: Path | None
) -> dict:
    """Run one measurement in this process; seconds, records, phases and peak memory."""
    from reseller_sync.integration.inbound import integrate_inbound_lines
    from reseller_sync.ticketnet.lines import BatchLines, batch_lines, integration_settings
    from reseller_sync.ticketnet.mappings import load_mappings
    from reseller_sync.ticketnet.reader import FolderSource, read_batch

    engine = make_engine(url)
    config = settings()
    integration = integration_settings(config)
    repository = load_mappings(mappings)
    with sessionmaker(engine)() as session:
        performances = partner_performances(session)
    if mode == "copy":
        base.scratch_table().create(engine)
    phases: dict[str, float] = {}
    outcome: dict[str, int] = {}
    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    if mode == "copy":
        outcome["rows"] = base._bulk_load(
            engine, [(base.SCRATCH_TABLE, base.TICKET_COLUMNS, path / "tickets.csv")]
        )
        lines = records
    elif mode == "copy_tables":
        base._bulk_load(
            engine, [(table, None, path / f"{table}.csv") for table in base.WRITTEN_TABLES]
        )
        lines = records
    else:

        def read_lines(session: Session) -> BatchLines:
            """As a pipeline would: the batch read, then its lines; the batch goes after."""
            at = time.perf_counter()
            batch = read_batch(FolderSource(path), batch_id())
            phases["read_batch"] = time.perf_counter() - at
            at = time.perf_counter()
            lines = batch_lines(session, config, repository, performances, batch)
            phases["batch_lines"] = time.perf_counter() - at
            return lines

        lines = 0
        factory = sessionmaker(engine, expire_on_commit=False)
        with factory() as session, session.begin():
            batch_lines_ = read_lines(session)
            for inbound in batch_lines_.lines:
                at = time.perf_counter()
                result, read = integrate_inbound_lines(
                    session, integration, batch_lines_.name, inbound
                )
                phase = f"integrate_{inbound.kind.value}{'_test' if inbound.is_test else ''}"
                phases[phase] = time.perf_counter() - at
                lines += read
                for name in ("tickets", "orders", "cancelled"):
                    if hasattr(result, name):
                        outcome[f"{phase}.{name}"] = getattr(result, name)
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
        "outcome": outcome,
        "peak_bytes": base._vm_hwm(),
        "maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def task(name: str, *arguments: str) -> dict:
    if name == "measure":
        mode, url, path, records, mappings, *profile = arguments
        return measure(
            mode,
            url,
            Path(path),
            int(records),
            Path(mappings),
            Path(profile[0]) if profile else None,
        )
    if name == "generate":
        return prepare(Path(arguments[0]), int(arguments[1]), float(arguments[2]))
    if name == "build":
        build(arguments[0], int(arguments[1]))
        return {}
    if name == "dump":
        base.dump_rows(arguments[0], Path(arguments[1]))
        return {}
    raise ValueError(name)


def child(*arguments: object) -> dict:
    return base.child(*arguments, script=__file__)


def bench(kind: str, folder: Path, files: dict, profile: bool) -> None:
    records, sales = files["records"], files["sales"]
    database = base.Database(kind, folder)
    started = time.perf_counter()
    if kind == "postgresql":
        database.create_database()
    child("build", database.template, sales)
    print(
        f"{kind}: box office for {sales:,} Ticketnet places built in "
        f"{time.perf_counter() - started:.1f} s"
    )
    results: dict[str, dict] = {}
    profile_path = folder / f"{kind}.prof" if profile else None
    dumps = folder / f"rows-{kind}"
    dumps.mkdir()
    common = (records, files["mappings"])
    try:
        with database.copy("integrate") as url:
            extra = [profile_path] if profile_path else []
            results["integrate"] = child(
                "measure", "integrate", url, files["batch"], *common, *extra
            )
            child("dump", url, dumps)
        for mode in ("copy", "copy_tables"):
            with database.copy(mode) as url:
                results[mode] = child("measure", mode, url, dumps, *common)
    finally:
        database.drop_template()
    outcome = results["integrate"]["outcome"]
    expected = {
        "integrate_sales.tickets": sales,
        "integrate_sales.orders": files["orders"],
        "integrate_cancellations.cancelled": files["refunds"],
    }
    assert all(outcome.get(key) == value for key, value in expected.items()), outcome
    assert results["copy"]["outcome"]["rows"] == sales, results["copy"]
    base.report(kind, records, results, unit="records")
    print(
        f"integrated: {sales:,} tickets in {files['orders']:,} orders, "
        f"{files['refunds']:,} refunds (tickets cancelled); peak ru_maxrss of integrate "
        f"{results['integrate']['maxrss_bytes'] / 2**20:,.0f} MiB (for information)"
    )
    if profile_path is not None:
        import pstats

        stats = pstats.Stats(str(profile_path))
        stats.sort_stats("cumulative").print_stats("reseller_sync", 30)
        stats.sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--records", type=int, default=1_000_000, help="TRANSACTIONS records in the batch"
    )
    parser.add_argument(
        "--refunds",
        type=float,
        default=0.02,
        help="share of the records that are REFUND records (default 0.02)",
    )
    parser.add_argument(
        "--database", choices=("postgresql", "sqlite", "both"), default="postgresql"
    )
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of the integrate measurement"
    )
    parser.add_argument("--task", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.task:
        print(json.dumps(task(*args.task)))
        return
    kinds = ("postgresql", "sqlite") if args.database == "both" else (args.database,)
    with tempfile.TemporaryDirectory(prefix="bench-ticketnet-integration-") as folder:
        files = child("generate", folder, args.records, args.refunds)
        print(
            f"SALES batch: {files['records']:,} TRANSACTIONS records in {files['parts']} "
            f"part(s): {files['sales']:,} SALE in {files['orders']:,} transactions, "
            f"{files['refunds']:,} REFUND; {files['bytes'] / 2**20:,.0f} MiB gzip, "
            f"written with the codec in {files['seconds']:.1f} s"
        )
        for kind in kinds:
            bench(kind, Path(folder), files, args.profile)


if __name__ == "__main__":
    main()
