"""``python -m reseller_sync ticketnet check PATH...``: output and exit statuses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reseller_sync.cli import main
from tests.ticketnet.ticketnet_samples import (
    BUYER_VALUES,
    SALES_BATCH,
    SALES_CSV,
    SALES_FILE,
    sale,
    write_sales,
    write_sales_example,
)

REPO = Path(__file__).resolve().parents[2]


def check(*paths: Path | str) -> int:
    return main(["ticketnet", "check", *map(str, paths)])


def test_valid_folder_prints_a_summary_per_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_sales_example(tmp_path)

    assert check(tmp_path) == 0

    manifest = tmp_path / f"{SALES_BATCH}.manifest.json"
    assert capsys.readouterr().out == (
        f"{manifest}: valid SALES batch 42: TRANSACTIONS 4 records in 1 part; 1 refund "
        "record(s) of sales outside the batches checked (R14, R15, R19 need the box office)\n"
    )


def test_a_manifest_path_checks_its_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write_sales(tmp_path, 1, [sale()])

    assert check(manifest) == 0

    assert capsys.readouterr().out.startswith(f"{manifest}: valid SALES batch 1:")


def test_every_problem_as_file_record_column_code_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SALES_CSV.replace("68.50,6.85", "68.5,6.85").replace(",FO,CSE,", ",FO,C E,")
    write_sales_example(tmp_path, text)

    assert check(tmp_path) == 1

    data = tmp_path / SALES_FILE
    assert capsys.readouterr().out.splitlines() == [
        f"{data}:2:amount: R06 must be an amount such as 42.50 (digits, a point, two digits; "
        "no sign) (value '68.5')",
        f"{data}:4:price_type: R06 must be 1 to 12 characters A-Z 0-9 _ (value 'C E')",
    ]


def test_manifest_problems_are_on_record_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write_sales_example(tmp_path)
    manifest.write_text(manifest.read_text().replace('"batch": 42', '"batch": "42"'))

    assert check(manifest) == 1

    assert capsys.readouterr().out == f"{manifest}:0:batch: R01 must be a JSON number\n"


def test_a_file_level_problem_has_no_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_sales_example(tmp_path)
    (tmp_path / SALES_FILE).unlink()

    assert check(tmp_path) == 1

    assert capsys.readouterr().out == (
        f"{tmp_path / SALES_FILE}:0:-: R02 the manifest lists this file but it is missing\n"
    )


def test_no_buyer_value_is_ever_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = SALES_CSV.replace(",75017,WEB,", ",75017,WEBX,").replace(
        "+33612345678", '"+336,12"', 1
    )
    write_sales_example(tmp_path, broken)

    assert check(tmp_path) == 1

    out = capsys.readouterr().out
    assert "R06" in out
    assert not any(value in out for value in (*BUYER_VALUES, "+336,12"))


def test_unreadable_paths_exit_2_even_beside_invalid_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_sales_example(tmp_path / "bad", SALES_CSV.replace("68.50", "68.5"))
    other = tmp_path / "notes.txt"
    other.write_text("x")

    assert check(tmp_path / "bad", tmp_path / "missing", other) == 2

    out = capsys.readouterr().out.splitlines()
    assert f"{tmp_path / 'missing'}: no such file or folder" in out
    assert f"{other}: not a manifest, an ACK file or a folder" in out
    assert any(":R06 " in line or " R06 " in line for line in out)


def test_a_folder_with_nothing_to_check_says_so_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_sales_example(tmp_path)
    (tmp_path / f"{SALES_BATCH}.manifest.json").unlink()
    assert check(tmp_path) == 2
    assert capsys.readouterr().out == (
        f"{tmp_path}: holds no batch manifest and no ACK file: nothing to check\n"
    )


def test_runs_as_a_module(tmp_path: Path) -> None:
    """``python -m reseller_sync ticketnet check``, in a fresh interpreter."""
    write_sales_example(tmp_path)
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'plugins'}{os.pathsep}{REPO}"}

    result = subprocess.run(
        [sys.executable, "-m", "reseller_sync", "ticketnet", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "valid SALES batch 42" in result.stdout
