"""bench/bench_realtime_load.py runs end to end (a short load, a short capacity phase) and
prints its figures in the shape docs/performance.md describes; its report computes what it
says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bench import realtime_mix as mix
from bench.bench_realtime_load import POSTGRES_ADMIN_URL, report_load

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"[\d,.]+"


def test_the_report_counts_5xx_and_no_answer_against_every_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    samples = [[mix.AVAILABILITY, "bench-a", 200, 40.0]] * 997 + [
        [mix.HOLD, "bench-b", 503, 12.0],
        [mix.HOLD, "bench-b", 0, 10_000.0],
        [mix.HOLD, "bench-b", 409, 30.0],
    ]
    figures = report_load(samples, 10)
    out = capsys.readouterr().out
    assert figures["errors"] == 2
    assert figures["error_share"] == pytest.approx(0.002)
    assert "5xx or no answer: 2 of 1,000 = 0.200% (goal < 0.1%)  MISSED" in out
    assert re.search(r"GET availability +997 +40 +50 +40 +250  met", out)
    assert figures["operations"][mix.HOLD]["requests"] == 3


@pytest.mark.postgres
@pytest.mark.slow
def test_a_short_run_prints_every_figure_and_leaves_no_database() -> None:
    env = {**os.environ, "BENCH_SECONDS": "10", "BENCH_CAPACITY_SECONDS": "3"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_realtime_load.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout

    database = re.search(
        r"^box office (bench_realtime_\w+): 20,000-seat arena, 2,000 seats and 500 standing places",
        out,
        re.M,
    )
    assert database is not None, out
    for operation in mix.OPERATIONS:  # a rare one may have no request in 10 s
        assert re.search(rf"^{re.escape(operation)} +\d+", out, re.M), (operation, out)
    for operation in (mix.AVAILABILITY, mix.HOLD):
        row = re.search(
            rf"^{re.escape(operation)} +(\d+) +(\d+) +\d+ +(\d+) +\d+  (met|MISSED)$", out, re.M
        )
        assert row is not None, (operation, out)
        assert int(row[1]) > 0
        assert int(row[2]) <= int(row[3])
    assert re.search(
        rf"^requests: {NUMBER} \({NUMBER}/s, 40/s offered; bench-a {NUMBER}/s, bench-b", out, re.M
    )
    five_xx = re.search(r"^5xx or no answer: (\d+) of ([\d,]+) = ", out, re.M)
    assert five_xx is not None
    assert int(five_xx[2].replace(",", "")) > 0
    for client in ("service", "bare SQL"):
        assert re.search(rf"^{client} +{NUMBER} +{NUMBER} +{NUMBER} +{NUMBER}$", out, re.M), out
    ratio = re.search(r"^service / bare SQL throughput: ([\d.]+) \(goal >= 0.4\)", out, re.M)
    assert ratio is not None
    assert float(ratio[1]) > 0
    assert re.search(r"^service log: 0 tracebacks, \d+ workers died", out, re.M), out

    admin = create_engine(POSTGRES_ADMIN_URL)
    try:
        with admin.connect() as connection:
            left = connection.execute(
                text("SELECT count(*) FROM pg_database WHERE datname = :name"),
                {"name": database[1]},
            ).scalar()
    finally:
        admin.dispose()
    assert left == 0
