"""Benchmark of the FNAC codec on a big VENTES file.

Generates a VENTES file of ``--lines`` data lines (1,000,000 by default) in a
temporary folder, then measures, each in a fresh Python process so that the
peak resident memory (``VmHWM``) is that of one measurement alone:

* ``pandas``: a bare ``pandas.read_csv`` of the file with the same dtype
  (``str``, Arrow-backed), the baseline the issue asks for;
* ``arrow``: a bare read of the data lines with Arrow's CSV reader, the
  reader the codec uses underneath;
* ``read_file``: the codec, parsing and validating the whole file into a
  typed DataFrame;
* ``iter_file_chunks``: the codec streaming validated chunks.

Each measurement includes reading the file's bytes. The table gives seconds,
lines per second, peak memory and the ratio of time to the pandas baseline.

    .venv/bin/python bench/bench_codec.py --lines 1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

from reseller_sync.fnac.names import FileType  # noqa: E402
from reseller_sync.fnac.schema import column_names  # noqa: E402

NAME = "VENTES_M0427_000042_20261128130503.csv"
HEADER = "ENTETE;VENTES;1;M0427;000042;2026-11-28T14:05:00+01:00;CP1252"
GENERATION_CHUNK = 100_000
MODES = ("pandas", "arrow", "read_file", "iter_file_chunks")


def generate(path: Path, lines: int) -> None:
    """Write a valid VENTES file of ``lines`` data lines, chunk by chunk, vectorised."""
    control = 0
    with path.open("wb") as out:
        out.write(f"{HEADER}\r\n{';'.join(column_names(FileType.VENTES))}\r\n".encode())
        for start in range(0, lines, GENERATION_CHUNK):
            numbers = np.arange(start, min(start + GENERATION_CHUNK, lines))
            block, prices = _data_lines(numbers)
            control += prices
            out.write(("\r\n".join(block.tolist()) + "\r\n").encode("cp1252"))
        out.write(f"FIN;000042;{lines};{control}\r\n".encode())


def _data_lines(numbers: np.ndarray) -> tuple[pd.Series, int]:
    """The data lines of tickets ``numbers`` (a quarter in free placement) and their prices' sum."""
    prices = 2000 + (numbers * 37) % 8000
    seated = numbers % 4 != 0

    def constant(value: str) -> pd.Series:
        return pd.Series([value] * numbers.size, dtype="str")

    def if_seated(values: pd.Series) -> pd.Series:
        return values.where(seated, "")

    fields = [
        "V" + _text(numbers // 3).str.zfill(10),
        "B" + _text(numbers).str.zfill(12),
        constant("004512"),
        constant("14/03/2027 20:30"),
        constant("ZEN01"),
        constant("A").where(seated, "FOSSE"),
        if_seated(_text(numbers % 40 + 1)),
        if_seated(_text(numbers % 30 + 1)),
        _text(numbers % 3 + 1),
        _text(np.where(numbers % 5 == 0, 15, 0)),
        constant("A1"),
        _text(prices),
        _text(prices // 20),
        constant("EUR").where(numbers % 10 != 0, "CHF"),
        "40" + _text(numbers).str.zfill(13),
        constant("Dupré"),
        constant("Hélène"),
        "buyer" + _text(numbers) + "@example.org",
        constant("+33612345678"),
        constant('"12 rue de la Paix; bât. B"'),
        constant("FR0751"),
        constant("FNAC Genève Rive"),
        constant("2026-11-28T13:12:44+01:00"),
    ]
    return fields[0].str.cat(fields[1:], sep=";"), int(prices.sum())


def _text(values: np.ndarray) -> pd.Series:
    return pd.Series(values).astype("str")


def measure(mode: str, path: Path) -> dict[str, float]:
    """Run one measurement in this process; return seconds, lines and peak RSS (bytes)."""
    started = time.perf_counter()
    data = path.read_bytes()
    if mode == "pandas":
        frame = pd.read_csv(
            path,
            sep=";",
            skiprows=1,
            dtype="str",
            keep_default_na=False,
            encoding="cp1252",
            index_col=False,
        )
        lines = len(frame) - 1
    elif mode == "arrow":
        import pyarrow as pa
        import pyarrow.csv as pacsv

        start = data.index(b"\n") + 1
        end = data.rindex(b"\n", 0, len(data) - 1) + 1
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(data).slice(start, end - start)),
            read_options=pacsv.ReadOptions(encoding="cp1252"),
            parse_options=pacsv.ParseOptions(delimiter=";", newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.large_string() for name in column_names(FileType.VENTES)}
            ),
        )
        lines = table.num_rows
    elif mode == "read_file":
        from reseller_sync.fnac.reader import read_file

        lines = len(read_file(path.name, data).frame)
    else:
        from reseller_sync.fnac.reader import iter_file_chunks

        lines = sum(len(chunk) for chunk in iter_file_chunks(path.name, data))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "lines": lines, "peak_bytes": _high_water_mark()}


def _high_water_mark() -> int:
    """This process's peak resident memory in bytes: ``VmHWM``, its own address space's
    (``ru_maxrss`` keeps the parent's peak across fork and exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_isolated(mode: str, path: Path) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--measure", mode, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="data lines to generate")
    parser.add_argument("--measure", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        mode, file = args.measure
        print(json.dumps(measure(mode, Path(file))))
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / NAME
        started = time.perf_counter()
        generate(path, args.lines)
        generation = time.perf_counter() - started
        size = path.stat().st_size
        print(
            f"VENTES file: {args.lines:,} lines, {size / 2**20:,.0f} MiB, "
            f"generated in {generation:.1f} s"
        )
        results = {mode: run_isolated(mode, path) for mode in MODES}
    baseline = results["pandas"]["seconds"]
    print(f"{'measurement':<18}{'seconds':>9}{'lines/s':>12}{'peak MiB':>10}{'x pandas':>10}")
    for mode, result in results.items():
        assert result["lines"] == args.lines, (mode, result)
        print(
            f"{mode:<18}{result['seconds']:>9.2f}{result['lines'] / result['seconds']:>12,.0f}"
            f"{result['peak_bytes'] / 2**20:>10,.0f}{result['seconds'] / baseline:>10.2f}"
        )


if __name__ == "__main__":
    main()
