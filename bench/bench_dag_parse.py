"""How long the DAG folder takes to parse with many products configured for FNAC.

Goal (issue 6): under 3 s for 1,000 products, under 5 ms for each additional
onboarding DAG. The baseline is the same folder parsed, in the same process,
with the demo's settings (4 products); the cost of a DAG is the difference
divided by the number of extra products. Each measurement parses the folder
afresh with Airflow's own DagBag, as the dag-processor does, ``--repeat``
times. The goals are judged on the fastest parse, the least disturbed by the
other processes of a shared machine (as ``timeit`` advises); the median is
printed beside it.

    .venv/bin/python bench/bench_dag_parse.py [--products 1000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))


def settings_with(products: int, include: Path) -> None:
    """A copy of include/ whose settings list ``products`` more products."""
    shutil.copytree(ROOT / "include", include)
    settings = include / "config" / "resellers" / "fnac.yaml"
    extra = "".join(f"  - BENCH-{n:04d}\n" for n in range(products))
    settings.write_text(settings.read_text().replace("products:\n", "products:\n" + extra))


def parse_seconds(include: Path | None, repeat: int) -> tuple[float, float, int]:
    """(fastest, median) seconds to parse the DAG folder, and the DAGs found."""
    from airflow.dag_processing.dagbag import DagBag

    if include is None:
        os.environ.pop("RESELLER_SYNC_INCLUDE_DIR", None)
    else:
        os.environ["RESELLER_SYNC_INCLUDE_DIR"] = str(include)
    times, count = [], 0
    bag = None
    for _ in range(repeat):
        for module in [m for m in sys.modules if m.startswith("unusual_prefix_")]:
            del sys.modules[module]
        # The previous parse's DAGs are garbage now: collect them outside the
        # timer. Then freeze what is left, as the dag-processor does before it
        # forks the process that parses a file (DagFileProcessorManager.before_run).
        del bag
        gc.collect()
        gc.freeze()
        started = time.perf_counter()
        bag = DagBag(dag_folder=str(ROOT / "dags"))
        times.append(time.perf_counter() - started)
        gc.unfreeze()
        if bag.import_errors:
            raise SystemExit(f"import errors: {bag.import_errors}")
        count = len(bag.dag_ids)
    return min(times), statistics.median(times), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-"))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

    parse_seconds(None, 1)  # warm the imports (Airflow, pandas-free settings) once
    baseline, baseline_median, baseline_dags = parse_seconds(None, args.repeat)
    with tempfile.TemporaryDirectory() as folder:
        include = Path(folder) / "include"
        settings_with(args.products, include)
        many, many_median, many_dags = parse_seconds(include, args.repeat)
    per_dag = (many - baseline) / (many_dags - baseline_dags)
    per_dag_median = (many_median - baseline_median) / (many_dags - baseline_dags)
    print(f"{'DAG folder':<28}{'DAGs':>6}{'fastest s':>11}{'median s':>10}{'x baseline':>12}")
    for label, dags, fastest, median in (
        ("demo settings (baseline)", baseline_dags, baseline, baseline_median),
        (f"+{args.products} products", many_dags, many, many_median),
    ):
        print(f"{label:<28}{dags:>6}{fastest:>11.3f}{median:>10.3f}{fastest / baseline:>12.2f}")
    print(
        f"cost of one more onboarding DAG: {per_dag * 1000:.2f} ms, median "
        f"{per_dag_median * 1000:.2f} ms (goal < 5 ms: {verdict(per_dag < 0.005)})"
    )
    print(
        f"total for {many_dags} DAGs: {many:.2f} s, median {many_median:.2f} s "
        f"(goal < 3 s for 1,000 products: {verdict(many < 3.0)})"
    )


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


if __name__ == "__main__":
    main()
