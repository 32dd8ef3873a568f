"""File names and numbering (secutix-reseller-v1 section 4)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reseller_sync.secutix.names import FileName, FileType, NameKind


@pytest.mark.parametrize(
    ("name", "file_type", "key", "kind"),
    [
        ("TICKETS_00000042.csv", FileType.TICKETS, 42, NameKind.DATA),
        ("STOCK_20261129.csv", FileType.STOCK, 20261129, NameKind.DATA),
        ("RESULT_00000007.csv", FileType.RESULT, 7, NameKind.DATA),
        ("OFFER_00000005.csv", FileType.OFFER, 5, NameKind.DATA),
        ("CONTINGENT_00000006.csv", FileType.CONTINGENT, 6, NameKind.DATA),
        ("WITHDRAW_00000007.csv", FileType.WITHDRAW, 7, NameKind.DATA),
        ("TICKETS_00000042.ctl", FileType.TICKETS, 42, NameKind.CONTROL),
    ],
)
def test_the_spec_examples_parse(name: str, file_type: FileType, key: int, kind: NameKind) -> None:
    parsed = FileName.parse(name)
    assert parsed == FileName(file_type, key, kind)
    assert str(parsed) == name


def test_a_stock_name_is_its_snapshot_date() -> None:
    parsed = FileName.parse("STOCK_20261129.csv")
    assert parsed is not None
    assert parsed.snapshot_date == dt.date(2026, 11, 29)
    assert parsed.number is None
    assert FileName.stock(dt.date(2026, 11, 29)) == parsed


def test_data_and_control_names_of_each_other() -> None:
    data = FileName.numbered(FileType.TICKETS, 42)
    assert str(data.control) == "TICKETS_00000042.ctl"
    assert data.control.data == data
    assert str(data.uploading) == "TICKETS_00000042.csv.part"
    assert str(data.control.uploading) == "TICKETS_00000042.ctl.part"


def test_a_partial_upload_parses_as_partial() -> None:
    parsed = FileName.parse("TICKETS_00000042.csv.part")
    assert parsed is not None
    assert parsed.partial
    assert parsed.data == FileName(FileType.TICKETS, 42)


@pytest.mark.parametrize(
    "name",
    [
        "TICKETS_00000000.csv",  # numbers start at 1
        "TICKETS_42.csv",  # eight digits
        "TICKETS_000000042.csv",
        "tickets_00000042.csv",
        "TICKETS_00000042.CSV",
        "TICKETS_00000042.csv.tmp",
        "TICKETS_00000042.txt",
        "STOCK_20261131.csv",  # no such date
        "STOCK_2026112.csv",
        "SALES_00000001.csv",
        "TICKETS_00000042.part",
        "",
    ],
)
def test_names_section_4_does_not_define_parse_to_none(name: str) -> None:
    assert FileName.parse(name) is None


def test_the_type_says_who_writes_it() -> None:
    assert {t for t in FileType if t.from_reseller} == {
        FileType.TICKETS,
        FileType.STOCK,
        FileType.RESULT,
    }


def test_out_of_range_numbers_are_refused() -> None:
    with pytest.raises(ValueError, match="file number"):
        FileName.numbered(FileType.TICKETS, 0)
    with pytest.raises(ValueError, match="file number"):
        FileName.numbered(FileType.OFFER, 100_000_000)
    with pytest.raises(ValueError, match="date"):
        FileName.numbered(FileType.STOCK, 1)


numbered_types = st.sampled_from([t for t in FileType if not t.dated])


@given(
    numbered_types,
    st.integers(1, 99_999_999),
    st.sampled_from(list(NameKind)),
    st.booleans(),
)
def test_numbered_names_round_trip(
    file_type: FileType, number: int, kind: NameKind, partial: bool
) -> None:
    name = FileName(file_type, number, kind, partial)
    text = str(name)
    assert FileName.parse(text) == name
    assert str(FileName.parse(text)) == text


@given(st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)), st.sampled_from(list(NameKind)))
def test_stock_names_round_trip(snapshot: dt.date, kind: NameKind) -> None:
    name = FileName(FileType.STOCK, FileName.stock(snapshot).key, kind)
    assert FileName.parse(str(name)) == name
    assert name.snapshot_date == snapshot


@given(st.text(alphabet="TICKESOFRUL_0123456789.csvtlpar", max_size=30))
def test_any_text_parses_to_none_or_to_itself(text: str) -> None:
    parsed = FileName.parse(text)
    assert parsed is None or str(parsed) == text


@given(numbered_types, st.integers(1, 99_999_999), st.integers(1, 99_999_999))
def test_names_sort_in_number_order(file_type: FileType, first: int, second: int) -> None:
    assert (
        str(FileName.numbered(file_type, first)) < str(FileName.numbered(file_type, second))
    ) == (first < second)
