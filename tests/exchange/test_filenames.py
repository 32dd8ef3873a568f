"""Safety and format checks on names coming from, or going to, the SFTP server."""

from __future__ import annotations

import pytest

from reseller_sync.exchange.filenames import (
    MAX_NAME_LENGTH,
    is_part_name,
    parse_exchange_name,
    shown_name,
    unsafe_reason,
)
from reseller_sync.fnac.naming import NAMING


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("a" * (MAX_NAME_LENGTH + 1), "characters long"),
        ("retour/VENTES.csv", "path separator"),
        ("..\\VENTES.csv", "path separator"),
        ("..", "'..'"),
        ("VENTES..csv", "'..'"),
        ("VENTES\x00.csv", "U+0000"),
        ("VENTES\r.csv", "U+000D"),
        ("VENTES\x7f.csv", "U+007F"),
        ("VENTES\u200b.csv", "U+200B"),
        ("VENTES\u2028.csv", "U+2028"),
    ],
)
def test_unsafe_names_are_told_why(name: str, reason: str) -> None:
    found = unsafe_reason(name)
    assert found is not None
    assert reason in found


@pytest.mark.parametrize(
    "name", ["VENTES_M0427_000042_20261128130503.csv", "README.txt", "Éléments.csv", "a.b.part"]
)
def test_ordinary_names_are_safe(name: str) -> None:
    assert unsafe_reason(name) is None


def test_shown_names_are_printable_and_short() -> None:
    assert shown_name("bad\x1b[2J\nname") == "bad\\x1b[2J\\nname"
    long = shown_name("x" * 1000)
    assert long.endswith("(1000 characters)")
    assert len(long) < 120


@pytest.mark.parametrize(
    "name",
    [
        "VENTES_M0427_000042_20261128130503.csv",
        "ETATPL_M0427_000001_20261128010000.csv",
        "ACK_DECONT_M0427_000003_20261128130003.csv",
    ],
)
def test_exchange_names_parse(name: str) -> None:
    parsed = parse_exchange_name(name, NAMING)
    assert parsed is not None
    assert str(parsed) == name


@pytest.mark.parametrize(
    "name",
    [
        "README.txt",
        "VENTES_M0427_000042_20261128130503.csv.part",
        "VENTES_M0427_000000_20261128130503.csv",
        "VENTES_M0427_42_20261128130503.csv",
        "VENTES_M0427_000042_20261328130503.csv",
        "ACK_VENTES_M0427_000042_20261128130503.csv",
        "ventes_M0427_000042_20261128130503.csv",
        "OTHER_M0427_000042_20261128130503.csv",
    ],
)
def test_other_names_are_not_exchange_names(name: str) -> None:
    assert parse_exchange_name(name, NAMING) is None


def test_part_names() -> None:
    assert is_part_name("VENTES_M0427_000042_20261128130503.csv.part", NAMING)
    assert not is_part_name("VENTES_M0427_000042_20261128130503.csv", NAMING)
