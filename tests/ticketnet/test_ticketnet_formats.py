"""Field formats checked vectorised (``ticketnet-exchange-v1`` sections 2 and 5)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from reseller_sync.ticketnet import formats as f


def invalid(value_format: f.Format, values: list[str]) -> list[str]:
    """The values ``value_format`` flags (the array is sliced, as Arrow chunks may be)."""
    array = pa.array(["pad", *values], pa.string()).slice(1)
    mask = value_format.invalid(f.Strings.of(array))
    return [] if mask is None else [v for v, bad in zip(values, mask.tolist(), strict=True) if bad]


def test_amounts() -> None:
    good = ["0.00", "42.50", "9999999.99", ""]
    bad = ["1234567890123", "1.2.50", "00.50", "42.5", "42", ".50", "-1.00", "1 000.00"]

    assert invalid(f.AMOUNT, good + bad) == bad


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2024-02-29T10:00:00+01:00", True),
        ("2000-02-29T10:00:00-05:30", True),
        ("2026-02-29T10:00:00+01:00", False),
        ("1900-02-29T10:00:00+01:00", False),
        ("2026-04-31T10:00:00+02:00", False),
        ("2026-12-31T23:59:59+14:00", True),
        ("2026-13-01T10:00:00+01:00", False),
        ("2026-11-28T10:60:00+01:00", False),
        ("2026-11-28T10:00:00+0100", False),
        ("2026-11-28T10:00:00 01:00", False),
        ("2026-11-28T1O:00:00+01:00", False),
    ],
)
def test_timestamps(value: str, valid: bool) -> None:
    assert invalid(f.TIMESTAMP, ["2026-11-28T10:00:00+01:00", value, ""]) == (
        [] if valid else [value]
    )


def test_integers_codes_outlets_and_text() -> None:
    assert invalid(f.INTEGER, ["0", "7", "10", "007", "-1", "1e3"]) == ["007", "-1", "1e3"]
    assert invalid(f.LINE_ID, ["1", "999", "0", "1000"]) == ["0", "1000"]
    assert invalid(f.QUANTITY, ["1", "300", "0"]) == ["0"]
    assert invalid(f.VENUE_CODE, ["ZENITH-PARIS-A", "ZP", "zenith"]) == ["ZP", "zenith"]
    assert invalid(f.OUTLET, ["WEB", "APP", "PHONE", "S01234", "S0123", "WEBS", "s01234"]) == [
        "S0123",
        "WEBS",
        "s01234",
    ]
    assert invalid(f.Text(60), ["é" * 60, "é" * 61, "x" * 61]) == ["é" * 61, "x" * 61]
    assert invalid(f.BOOLEAN, ["true", "false", "True", " true"]) == ["True", " true"]
