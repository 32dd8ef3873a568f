"""Ticketnet's rules of a CATALOG file beyond its syntax: C04, C05, C06 (sections 8.1, 9.2)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from reseller_sync.ticketnet.catalog import catalog_problems
from reseller_sync.ticketnet.names import FileType
from reseller_sync.ticketnet.reader import read_data_file
from tests.ticketnet.ticketnet_samples import CATALOG_CSV, OFFER_BATCH, gz

FILE = f"{OFFER_BATCH}.CATALOG.1.csv.gz"
HEADER, FIRST, SECOND = CATALOG_CSV.rstrip("\n").split("\n")


def catalog(*records: str) -> pa.Table:
    return read_data_file(FILE, FileType.CATALOG, gz("\n".join((HEADER, *records)) + "\n")).table


def found(table: pa.Table) -> list[tuple[str, int, str | None]]:
    return [(str(p.code), p.line or 0, p.column) for p in catalog_problems(table, file=FILE)]


def test_the_spec_example_breaks_no_rule() -> None:
    assert found(catalog(FIRST, SECOND)) == []
    assert found(catalog()) == []


def test_c04_a_currency_other_than_eur() -> None:
    assert found(catalog(FIRST, SECOND.replace(",EUR,", ",CHF,"))) == [("C04", 2, "currency")]


@pytest.mark.parametrize(
    ("sale_starts", "sale_ends", "reason"),
    [
        ("2027-03-14T20:00:00+01:00", "2027-03-14T20:00:00+01:00", "ends before it starts"),
        ("2027-03-01T10:00:00+01:00", "2027-02-01T10:00:00+01:00", "ends before it starts"),
        ("2026-12-01T10:00:00+01:00", "2027-03-14T20:31:00+01:00", "after the performance"),
    ],
)
def test_c05_sale_dates(sale_starts: str, sale_ends: str, reason: str) -> None:
    record = SECOND.replace(
        "2026-12-01T10:00:00+01:00,2027-03-14T20:00:00+01:00", f"{sale_starts},{sale_ends}"
    )
    problems = catalog_problems(catalog(FIRST, record), file=FILE)

    assert [(str(p.code), p.line, p.column) for p in problems] == [("C05", 2, "sale_ends_at")]
    assert reason in problems[0].reason


def test_c05_compares_instants_not_texts() -> None:
    """20:30 in Paris is 19:30 UTC: a sale ending at 19:45+00:00 ends after the start."""
    record = FIRST.replace("2027-03-14T20:00:00+01:00", "2027-03-14T19:45:00+00:00")
    assert found(catalog(record)) == [("C05", 1, "sale_ends_at")]
    earlier = FIRST.replace("2027-03-14T20:00:00+01:00", "2027-03-14T19:15:00+00:00")
    assert found(catalog(earlier)) == []


def test_c06_a_performance_s_records_disagree() -> None:
    other_venue = SECOND.replace("ZENITH-PARIS-A,Zénith Paris", "ZENITH-PARIS-B,Zénith Paris")
    problems = catalog_problems(catalog(FIRST, other_venue), file=FILE)

    assert [(str(p.code), p.line, p.column, p.value) for p in problems] == [
        ("C06", 2, "venue_code", "ZENITH-PARIS-B")
    ]
    assert "performance TOSCA27-0314 (record 1)" in problems[0].reason


def test_c06_a_price_level_and_type_twice_for_one_performance() -> None:
    again = FIRST.replace("68.50", "70.00")
    assert found(catalog(FIRST, SECOND, again)) == [("C06", 3, "price_type")]


def test_two_performances_each_with_their_own_columns() -> None:
    other = SECOND.replace(
        "TOSCA27-0314,2027-03-14T20:30:00+01:00", "TOSCA27-0315,2027-03-15T20:30:00+01:00"
    )
    assert found(catalog(FIRST, other)) == []
