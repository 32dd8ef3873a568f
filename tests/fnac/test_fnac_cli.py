"""``python -m reseller_sync fnac check FILE...``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reseller_sync.cli import main
from reseller_sync.fnac.schema import BUYER_CONTACT_COLUMNS
from tests.fnac.fnac_samples import VENTES_NAME, ventes_bytes, ventes_line

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def valid_file(tmp_path: Path) -> Path:
    path = tmp_path / VENTES_NAME
    path.write_bytes(ventes_bytes())
    return path


@pytest.fixture
def invalid_file(tmp_path: Path) -> Path:
    name = "VENTES_M0427_000043_20261128140503.csv"
    lines = (
        ventes_line(code_barre="4012X", **{BUYER_CONTACT_COLUMNS[0]: "leak@example.org"}),
        ventes_line(id_billet="B2", code_barre="401234567890124", devise="USD"),
    )
    data = ventes_bytes(*lines, trailer="FIN;000043;2;13700").replace(b"000042", b"000043")
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_valid_file_prints_a_summary(valid_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fnac", "check", str(valid_file)]) == 0

    out = capsys.readouterr().out
    assert out == (
        f"{valid_file}: valid VENTES file, SEQ 000042, 3 data lines, CONTROL 15100 (prix_ttc), "
        "CP1252\n"
    )


def test_invalid_file_prints_every_problem(
    valid_file: Path, invalid_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fnac", "check", str(valid_file), str(invalid_file)]) == 1

    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{valid_file}: valid")
    assert out[1:] == [
        f"{invalid_file}:1:code_barre: must be 12 to 20 digits (value '4012X')",
        f"{invalid_file}:2:devise: must be one of EUR, CHF (value 'USD')",
    ]
    assert "leak" not in "\n".join(out)


def test_envelope_problems_are_on_line_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / VENTES_NAME
    path.write_bytes(ventes_bytes(trailer="FIN;000042;3;1"))

    assert main(["fnac", "check", str(path)]) == 1

    assert capsys.readouterr().out == (
        f"{path}:0:CONTROL: the trailer's CONTROL is 1 but the sum of prix_ttc is 15100 "
        "(value '1')\n"
    )


def test_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fnac", "check", str(tmp_path / "missing.csv")]) == 2

    assert "cannot be read" in capsys.readouterr().out


def test_subprocess_run(valid_file: Path, invalid_file: Path) -> None:
    environment = {**os.environ, "PYTHONPATH": str(REPO / "plugins")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reseller_sync",
            "fnac",
            "check",
            str(valid_file),
            str(invalid_file),
        ],
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO,
        check=False,
        timeout=60,
    )

    assert result.returncode == 1, result.stderr
    assert f"{valid_file}: valid VENTES file" in result.stdout
    assert f"{invalid_file}:1:code_barre:" in result.stdout
    assert "leak" not in result.stdout + result.stderr
