"""Benchmark of the Ticketnet reader on a big SALES batch.

Generates, with the codec's writer, a ``SALES`` batch of ``--records``
TRANSACTIONS records (1,000,000 by default, so two parts of 500,000) in a
temporary folder, plus the decompressed CSV of each part for the baseline.
Then, in this one process, alternating and ``--repeat`` times each:

* ``baseline``: a bare ``pyarrow.csv.read_csv`` of each part's decompressed
  CSV file, every column (buyer ones included) as strings;
* ``floor``: what any reader of the gzip files must do at least: decompress
  each part (ISA-L's inflater, the fastest at hand) and parse it bare, no check;
* ``verified``: ``read_batch``, the codec: manifest, SHA-256 of each gzip
  file, decompression, UTF-8/BOM/line-end checks, the parse without the
  buyer columns, every format and per-record rule.

It prints the best wall time of each, its CPU time, and the ratios (goal:
``verified`` within 1.5x of ``baseline``; ``floor`` shows how much of the gap
decompression alone takes). Peak memory is measured in a fresh subprocess per
mode, as the process's peak resident set, which sees Arrow's allocations
(tracemalloc does not; ``pyarrow.total_allocated_bytes`` after the read only
shows what is still held): ``VmHWM`` of the subprocess, which includes the
interpreter and its imports (about 100 MiB). Goal: under 1 GiB for
``verified``.

    .venv/bin/python bench/bench_ticketnet_read.py             # 1,000,000 records
    .venv/bin/python bench/bench_ticketnet_read.py --records 100000   # quick
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from isal import isal_zlib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

from reseller_sync.ticketnet.names import BatchId, FileType, Stream  # noqa: E402
from reseller_sync.ticketnet.reader import FolderSource, read_batch  # noqa: E402
from reseller_sync.ticketnet.schema import column_names  # noqa: E402
from reseller_sync.ticketnet.writer import build_batch  # noqa: E402

BATCH = BatchId(Stream.SALES, "PR04127", 42)
GOAL_RATIO = 1.5
GOAL_PEAK = 2**30


def records(count: int) -> dict[str, pa.Array]:
    """``count`` valid TRANSACTIONS records: sales (a tenth standing) and, one record in
    twenty, a refund of the sale record just before it, repeating its columns."""
    numbers = np.arange(count)
    refund = numbers % 20 == 19
    sold = np.where(refund, numbers - 1, numbers)
    """The sale record each record describes: itself, or the one a refund refunds."""
    standing = sold % 10 == 3

    def text(values: np.ndarray | pd.Series) -> pd.Series:
        return pd.Series(values).astype("str")

    def where(mask: np.ndarray, yes: pd.Series | str, no: pd.Series | str) -> pd.Series:
        yes_series = yes if isinstance(yes, pd.Series) else pd.Series([yes] * count)
        no_series = no if isinstance(no, pd.Series) else pd.Series([no] * count)
        return yes_series.where(mask, no_series).astype("str")

    sale_transaction = "TX" + text(sold // 3).str.zfill(10)
    sale_line = text(sold % 3 + 1)
    names = np.array(["Hélène", "Zoé", "Jean-Luc", "Marc", "Chloé", "Ana Lucía"])
    outlets = np.array(["WEB", "APP", "PHONE", "S01234"])
    outlet_names = np.array(
        [
            "ticketmaster.fr",
            "app",
            "Ticketmaster par téléphone",
            "Centre commercial Rennes, accueil",
        ]
    )
    columns = {
        "transaction_id": where(refund, "RF" + text(numbers).str.zfill(10), sale_transaction),
        "line_id": where(refund, "1", sale_line),
        "type": where(refund, "REFUND", "SALE"),
        "original_transaction_id": where(refund, sale_transaction, ""),
        "original_line_id": where(refund, sale_line, ""),
        "event_id": pd.Series(["1A005F3C9B12E4D7"] * count),
        "performance_id": "P" + text(sold % 30).str.zfill(2),
        "section": where(standing, "", "ORCH-" + pd.Series(np.array(list("ABCD"))[sold % 4])),
        "row": where(standing, "", text(sold % 40 + 1)),
        "seat": where(standing, "", text(sold % 50 + 1)),
        "area": where(standing, "FOSSE", ""),
        "price_level": where(standing, "FO", text(sold % 3 + 1)),
        "price_type": pd.Series(np.array(["ADULT", "CHILD", "CE"])[sold % 3]),
        "amount": text(20 + sold * 7 % 80) + "." + text(sold % 100).str.zfill(2),
        "fees": text(sold % 9) + ".50",
        "currency": pd.Series(["EUR"] * count),
        "barcode": "8142" + text(sold).str.zfill(12),
        "attendee_first_name": pd.Series(names[sold % len(names)]),
        "attendee_last_name": "Dupré " + text(sold % 997),
        "buyer_email": "buyer" + text(numbers) + "@example.org",
        "buyer_phone": "+336" + text(numbers).str.zfill(8),
        "buyer_postcode": text(75000 + numbers % 1000),
        "outlet_id": pd.Series(outlets[numbers % 4]),
        "outlet_name": pd.Series(outlet_names[numbers % 4]),
        "occurred_at": "2026-11-28T13:"
        + text(numbers % 60).str.zfill(2)
        + ":"
        + text(numbers * 7 % 60).str.zfill(2)
        + "+01:00",
        "refund_reason": where(refund, "CUSTOMER", ""),
        "test": pd.Series(["false"] * count),
    }
    return {
        name: pa.array(values.to_numpy(dtype=object), pa.string())
        for name, values in columns.items()
    }


def generate(folder: Path, count: int) -> list[Path]:
    """Write the batch into ``folder``; return the decompressed CSV of each part (baseline)."""
    built = build_batch(
        BATCH,
        {FileType.TRANSACTIONS: records(count)},
        created_at="2026-11-28T14:10:03+01:00",
    )
    built.write_to(folder)
    plain = folder / "plain"
    plain.mkdir()
    paths = []
    for name, data in built.files.items():
        path = plain / name.removesuffix(".gz")
        path.write_bytes(gzip.decompress(data))
        paths.append(path)
    return paths


def baseline(paths: list[Path]) -> int:
    types = {name: pa.string() for name in column_names(FileType.TRANSACTIONS)}
    rows = 0
    for path in paths:
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False),
        )
        rows += table.num_rows
    return rows


def floor(folder: Path) -> int:
    """What any reader of these files must do at least: decompress each part, parse it."""
    types = {name: pa.string() for name in column_names(FileType.TRANSACTIONS)}
    rows = 0
    for path in sorted(folder.glob("*.csv.gz")):
        data = path.read_bytes()
        text = isal_zlib.decompress(data, wbits=31)
        table = pacsv.read_csv(
            pa.BufferReader(text),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False),
        )
        rows += table.num_rows
    return rows


def verified(folder: Path) -> int:
    batch = read_batch(FolderSource(folder), BATCH)
    return batch.table(FileType.TRANSACTIONS).num_rows


def run(mode: str, folder: Path) -> int:
    if mode == "baseline":
        return baseline(sorted((folder / "plain").iterdir()))
    if mode == "floor":
        return floor(folder)
    return verified(folder)


def _high_water_mark() -> int:
    """This process's peak resident memory in bytes: ``VmHWM`` (per address space, so a
    fresh process's own; ``ru_maxrss`` may carry the parent's peak across fork and exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_in_subprocess(mode: str, folder: Path) -> int:
    """Peak resident memory (bytes) of a fresh process that does one ``mode`` read."""
    result = subprocess.run(
        [sys.executable, __file__, "--measure", mode, str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(json.loads(result.stdout)["peak_bytes"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--measure", nargs=2, metavar=("MODE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        mode, folder = args.measure
        before = _high_water_mark()
        rows = run(mode, Path(folder))
        print(json.dumps({"rows": rows, "peak_bytes": _high_water_mark(), "start_bytes": before}))
        return
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        started = time.perf_counter()
        plain = generate(folder, args.records)
        generation = time.perf_counter() - started
        compressed = sum(p.stat().st_size for p in folder.glob("*.csv.gz"))
        csv_size = sum(p.stat().st_size for p in plain)
        print(
            f"SALES batch: {args.records:,} TRANSACTIONS records in {len(plain)} parts, "
            f"{csv_size / 2**20:,.0f} MiB of CSV, {compressed / 2**20:,.0f} MiB gzip; "
            f"generated in {generation:.1f} s"
        )
        modes = ("baseline", "floor", "verified")
        times: dict[str, list[float]] = {mode: [] for mode in modes}
        cpu: dict[str, list[float]] = {mode: [] for mode in modes}
        for _ in range(args.repeat):
            for mode in modes:
                start, start_cpu = time.perf_counter(), time.process_time()
                rows = run(mode, folder)
                times[mode].append(time.perf_counter() - start)
                cpu[mode].append(time.process_time() - start_cpu)
                assert rows == args.records, (mode, rows)
        peaks = {mode: peak_in_subprocess(mode, folder) for mode in modes}
    best = {mode: min(values) for mode, values in times.items()}
    print(
        f"{'measurement':<12}{'best s':>9}{'median s':>10}{'cpu s':>8}{'records/s':>13}"
        f"{'peak MiB':>10}{'x baseline':>12}"
    )
    for mode, values in times.items():
        print(
            f"{mode:<12}{best[mode]:>9.2f}{statistics.median(values):>10.2f}"
            f"{min(cpu[mode]):>8.2f}{args.records / best[mode]:>13,.0f}"
            f"{peaks[mode] / 2**20:>10,.0f}{best[mode] / best['baseline']:>12.2f}"
        )
    ratio = best["verified"] / best["baseline"]
    print(
        f"ratio verified/baseline: {ratio:.2f}x wall, "
        f"{min(cpu['verified']) / min(cpu['baseline']):.2f}x CPU (goal <= {GOAL_RATIO}x wall: "
        f"{'met' if ratio <= GOAL_RATIO else 'NOT met'}); floor/baseline "
        f"{best['floor'] / best['baseline']:.2f}x; peak of verified "
        f"{peaks['verified'] / 2**20:,.0f} MiB (goal < 1024 MiB: "
        f"{'met' if peaks['verified'] < GOAL_PEAK else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
