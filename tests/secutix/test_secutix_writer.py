# ruff: noqa: E501  (the examples are the spec's lines, verbatim)
"""Writing the organiser's files and reading them as the reseller does
(secutix-reseller-v1 sections 3 to 6, 8, 9.2 and 10.1)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reseller_sync.secutix.errors import Code, FileRefusedError
from reseller_sync.secutix.names import FileType
from reseller_sync.secutix.reseller_side import (
    offer_verdicts,
    places_verdicts,
    read_organiser_file,
)
from reseller_sync.secutix.writer import OrganiserFile, WriteError, build_file

OFFER_00000005 = """\
PRODUCT_CODE;PRODUCT_NAME;PRODUCT_KIND;PERFORMANCE_CODE;PERFORMANCE_START;VENUE_NAME;CITY;COUNTRY;PASS_VALIDITY_START;PASS_VALIDITY_END;SEATCAT_CODE;SEATCAT_NAME;TARIFF_CODE;TARIFF_NAME;PRICE;CURRENCY;SALES_START;SALES_END;ON_SALE
TOSCA27;Tosca;EVENT;TOSCA27-0314;2027-03-14T20:30:00+01:00;Zénith;Paris;FR;;;CAT1;Catégorie 1;PLEIN;Plein tarif;6850;EUR;2026-12-01T10:00:00+01:00;2027-03-14T20:00:00+01:00;1
TOSCA27;Tosca;EVENT;TOSCA27-0314;2027-03-14T20:30:00+01:00;Zénith;Paris;FR;;;FOSSE;Fosse;ENFANT;Enfant;2500;EUR;2026-12-01T10:00:00+01:00;2027-03-14T20:00:00+01:00;1
PASS27;Pass annuel 2027;UNDATED_PASS;;;Musée des Beaux-Arts;Lyon;FR;2027-01-01;2027-12-31;LIBRE;Accès libre;PLEIN;Plein tarif;3900;EUR;2026-12-01T10:00:00+01:00;2027-12-31T17:00:00+01:00;1
"""

CONTINGENT_00000006 = """\
PRODUCT_CODE;PERFORMANCE_CODE;SEATCAT_CODE;SEAT;QUANTITY
TOSCA27;TOSCA27-0314;CAT1;PARTERRE/F/12;1
TOSCA27;TOSCA27-0314;CAT1;PARTERRE/F/13;1
TOSCA27;TOSCA27-0314;FOSSE;FOSSE;300
PASS27;;LIBRE;;500
"""

OFFER_NAME = "OFFER_00000005.csv"
PLACES_HEADER = CONTINGENT_00000006.splitlines()[0]


def frame_of(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), sep=";", dtype=str, keep_default_na=False)


def control_for(name: str, data: bytes, lines: int) -> bytes:
    digest = hashlib.sha256(data).hexdigest()
    return f"FILE_NAME;LINE_COUNT;SHA256\n{name};{lines};{digest}\n".encode()


def offer_line(**values: str) -> dict[str, str]:
    line = frame_of(OFFER_00000005).iloc[0].to_dict()
    line.update(values)
    return line


def refused(name: str, data: bytes, control: bytes, **kwargs: object) -> list[Code]:
    with pytest.raises(FileRefusedError) as caught:
        read_organiser_file(name, data, control, **kwargs)  # type: ignore[arg-type]
    return [p.code for p in caught.value.problems]  # type: ignore[attr-defined]


def verdict_codes(verdicts: pd.DataFrame) -> list[str]:
    return verdicts["ERROR_CODE"].tolist()


# Writing: the spec's examples, byte for byte, and their control files.


@pytest.mark.parametrize(
    ("file_type", "number", "text"),
    [(FileType.OFFER, 5, OFFER_00000005), (FileType.CONTINGENT, 6, CONTINGENT_00000006)],
)
def test_the_examples_are_written_byte_for_byte(
    file_type: FileType, number: int, text: str
) -> None:
    written = build_file(file_type, number, frame_of(text))
    assert written.data == text.encode()
    assert str(written.name) == f"{file_type}_{number:08d}.csv"
    lines = text.count("\n") - 1
    assert written.control == control_for(str(written.name), text.encode(), lines)
    assert written.control.decode().splitlines()[1].split(";") == [
        str(written.name),
        str(lines),
        hashlib.sha256(text.encode()).hexdigest(),
    ]


def test_a_withdraw_has_the_contingent_columns() -> None:
    written = build_file(FileType.WITHDRAW, 7, frame_of(CONTINGENT_00000006).iloc[2:])
    assert (
        written.data
        == f"{PLACES_HEADER}\nTOSCA27;TOSCA27-0314;FOSSE;FOSSE;300\nPASS27;;LIBRE;;500\n".encode()
    )
    assert str(written.name.control) == "WITHDRAW_00000007.ctl"


def test_an_empty_file_is_its_header_alone() -> None:
    written = build_file(FileType.CONTINGENT, 2, {})
    assert written.data == f"{PLACES_HEADER}\n".encode()
    assert written.lines == 0
    read = read_organiser_file("CONTINGENT_00000002.csv", written.data, written.control)
    assert read.lines == 0
    assert places_verdicts(read.frame, frame_of(OFFER_00000005)).empty


def test_typed_values_are_written_as_the_contract_text() -> None:
    table = pa.Table.from_pandas(frame_of(OFFER_00000005), preserve_index=False)
    table = table.set_column(
        table.column_names.index("PRICE"), "PRICE", pa.array([6850, 2500, 3900], pa.int64())
    )
    table = table.set_column(
        table.column_names.index("ON_SALE"), "ON_SALE", pa.array([True, True, True])
    )
    assert build_file(FileType.OFFER, 5, table).data == OFFER_00000005.encode()


def test_fields_are_quoted_only_when_they_must_be() -> None:
    line = offer_line(PRODUCT_NAME='Tosca; "live"\nà Paris', VENUE_NAME="Zénith")
    written = build_file(FileType.OFFER, 1, pd.DataFrame([line]))
    assert ';"Tosca; ""live""\nà Paris";'.encode() in written.data
    assert b'"Z' not in written.data
    read = read_organiser_file("OFFER_00000001.csv", written.data, written.control)
    assert read.frame.loc[1, "PRODUCT_NAME"] == 'Tosca; "live"\nà Paris'
    assert written.lines == 1


def test_write_to_a_folder_uploads_data_then_control_and_leaves_no_part(tmp_path: Path) -> None:
    written = build_file(FileType.OFFER, 5, frame_of(OFFER_00000005))
    data_path, control_path = written.write_to(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "OFFER_00000005.csv",
        "OFFER_00000005.ctl",
    ]
    assert data_path.read_bytes() == OFFER_00000005.encode()
    assert control_path.read_bytes() == written.control
    assert read_organiser_file(data_path.name, data_path.read_bytes(), control_path.read_bytes())


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (offer_line(PRODUCT_KIND="SUBSCRIPTION"), Code.O01),
        (offer_line(PASS_VALIDITY_END="2027-12-31"), Code.O02),
        (offer_line(CURRENCY="USD"), Code.O03),
        (offer_line(SALES_END="2027-03-14T21:00:00+01:00"), Code.O04),
        (offer_line(PRICE="68,50"), Code.F02),
        (offer_line(COUNTRY="BE"), Code.F02),
    ],
)
def test_the_writer_refuses_what_the_reseller_would(line: dict[str, str], code: Code) -> None:
    with pytest.raises(WriteError) as caught:
        build_file(FileType.OFFER, 1, pd.DataFrame([line]))
    assert [p.code for p in caught.value.problems] == [code]  # type: ignore[attr-defined]


def test_the_writer_refuses_unknown_and_missing_columns_and_timestamp_types() -> None:
    places = frame_of(CONTINGENT_00000006)
    with pytest.raises(WriteError, match="not written"):
        build_file(FileType.CONTINGENT, 1, places.assign(EXTRA="x"))
    with pytest.raises(WriteError, match="not written"):
        build_file(FileType.CONTINGENT, 1, places.drop(columns="QUANTITY"))
    with pytest.raises(WriteError, match="timestamps as text"):
        build_file(
            FileType.OFFER,
            1,
            frame_of(OFFER_00000005).assign(SALES_START=pd.Timestamp("2026-12-01T10:00+01:00")),
        )
    with pytest.raises(WriteError, match="not written") as caught:
        build_file(FileType.CONTINGENT, 1, places.assign(QUANTITY="2"))
    assert {p.code for p in caught.value.problems} == {Code.Q08}  # type: ignore[attr-defined]
    with pytest.raises(WriteError, match="not written") as caught:
        build_file(FileType.WITHDRAW, 1, places, offer=frame_of(OFFER_00000005).iloc[:1])
    assert [p.code for p in caught.value.problems] == [Code.Q02, Code.Q01]  # type: ignore[attr-defined]
    assert build_file(FileType.WITHDRAW, 1, places, offer=frame_of(OFFER_00000005)).lines == 4
    with pytest.raises(ValueError, match="does not write"):
        build_file(FileType.TICKETS, 1, {})


# Round trips: frame -> bytes -> frame, as the reseller reads it.

CODES = st.from_regex(r"\A[A-Z0-9_-]{1,15}\Z")
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60)
STAMPS = st.sampled_from(
    ["2026-12-01T10:00:00+01:00", "2027-01-05T08:30:00-05:00", "2027-02-28T23:59:59+00:00"]
)
PERFORMANCE_START = "2027-03-14T20:30:00+01:00"
SALES_END = "2027-03-14T20:00:00+01:00"


@st.composite
def offer_lines(draw: st.DrawFn) -> dict[str, str]:
    kind = draw(st.sampled_from(["EVENT", "COMPETITION", "VISIT_PASS", "UNDATED_PASS"]))
    dated = kind != "UNDATED_PASS"
    validity_start = "" if dated else draw(st.sampled_from(["", "2027-01-01"]))
    return {
        "PRODUCT_CODE": draw(CODES),
        "PRODUCT_NAME": draw(TEXT),
        "PRODUCT_KIND": kind,
        "PERFORMANCE_CODE": draw(CODES) if dated else "",
        "PERFORMANCE_START": PERFORMANCE_START if dated else "",
        "VENUE_NAME": draw(TEXT),
        "CITY": draw(TEXT),
        "COUNTRY": draw(st.sampled_from(["FR", "CH"])),
        "PASS_VALIDITY_START": validity_start,
        "PASS_VALIDITY_END": "" if dated else "2027-12-31",
        "SEATCAT_CODE": draw(CODES),
        "SEATCAT_NAME": draw(TEXT),
        "TARIFF_CODE": draw(CODES),
        "TARIFF_NAME": draw(TEXT),
        "PRICE": str(draw(st.integers(0, 999_999_999))),
        "CURRENCY": draw(st.sampled_from(["EUR", "CHF"])),
        "SALES_START": draw(STAMPS),
        "SALES_END": SALES_END,
        "ON_SALE": draw(st.sampled_from(["0", "1"])),
    }


@st.composite
def place_lines(draw: st.DrawFn) -> dict[str, str]:
    block = draw(st.from_regex(r"\A[A-Z0-9_-]{1,10}\Z"))
    seat = draw(
        st.sampled_from(
            ["", block, f"{block}/{draw(st.from_regex(r'[A-Z0-9]{1,4}', fullmatch=True))}/1"]
        )
    )
    return {
        "PRODUCT_CODE": draw(CODES),
        "PERFORMANCE_CODE": draw(st.one_of(st.just(""), CODES)),
        "SEATCAT_CODE": draw(CODES),
        "SEAT": seat,
        "QUANTITY": "1" if "/" in seat else str(draw(st.integers(1, 10**12))),
    }


def _round_trip(file_type: FileType, lines: list[dict[str, str]]) -> None:
    frame = pd.DataFrame(lines, dtype=str)
    # One kind and currency per product, as the contract asks.
    if file_type is FileType.OFFER:
        frame["PRODUCT_CODE"] = [f"P{i}" for i in range(len(frame))]
    written = build_file(file_type, 3, frame)
    assert written.data == build_file(file_type, 3, frame).data  # deterministic
    read = read_organiser_file(str(written.name), written.data, written.control)
    assert read.lines == len(frame)
    if frame.empty:
        assert written.data == (";".join(read.frame.columns) + "\n").encode()
        return
    expected = frame.reset_index(drop=True)
    got = read.frame.reset_index(drop=True)[list(frame.columns)]
    pd.testing.assert_frame_equal(got.astype(object), expected.astype(object))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(offer_lines(), max_size=8))
def test_offer_round_trip(lines: list[dict[str, str]]) -> None:
    _round_trip(FileType.OFFER, lines)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(place_lines(), max_size=8), st.sampled_from([FileType.CONTINGENT, FileType.WITHDRAW])
)
def test_places_round_trip(lines: list[dict[str, str]], file_type: FileType) -> None:
    _round_trip(file_type, lines)


# Reading as the reseller: a bad file per code.


def example() -> OrganiserFile:
    return build_file(FileType.OFFER, 5, frame_of(OFFER_00000005))


def test_the_examples_read_without_a_code() -> None:
    offer = read_organiser_file(OFFER_NAME, example().data, example().control).frame
    assert set(verdict_codes(offer_verdicts(offer))) == {""}
    places = build_file(FileType.CONTINGENT, 6, frame_of(CONTINGENT_00000006))
    read = read_organiser_file("CONTINGENT_00000006.csv", places.data, places.control)
    assert verdict_codes(places_verdicts(read.frame, offer)) == ["", "", "", ""]


@pytest.mark.parametrize(
    "control",
    [
        b"FILE_NAME;LINE_COUNT;SHA256\nOFFER_00000004.csv;3;" + b"0" * 64 + b"\n",
        b"FILE_NAME;LINE_COUNT\nOFFER_00000005.csv;3\n",
        control_for(OFFER_NAME, b"other bytes", 3),
        control_for(OFFER_NAME, OFFER_00000005.encode(), 4),
    ],
    ids=["another file", "malformed", "sha-256", "line count"],
)
def test_f01_control_file_sha_or_count(control: bytes) -> None:
    assert refused(OFFER_NAME, OFFER_00000005.encode(), control) == [Code.F01]


@pytest.mark.parametrize(
    "data",
    [
        OFFER_00000005.replace(";ON_SALE\n", "\n", 1).encode(),
        OFFER_00000005.replace(";6850;", ";68.50;").encode(),
        OFFER_00000005.replace(";Tosca;", ';To"sca;', 1).encode(),
        OFFER_00000005.encode().replace("Zénith".encode(), b"Z\xe9nith"),
    ],
    ids=["missing column", "format", "syntax", "not utf-8"],
)
def test_f02_syntax_encoding_column_or_format(data: bytes) -> None:
    assert set(refused(OFFER_NAME, data, control_for(OFFER_NAME, data, 3))) == {Code.F02}


def test_f03_a_number_already_processed() -> None:
    written = example()
    assert refused(OFFER_NAME, written.data, written.control, processed={4, 5}) == [Code.F03]
    assert read_organiser_file(OFFER_NAME, written.data, written.control, processed={4}).lines == 3


def _offer_frame(*lines: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(list(lines), dtype=str)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="line")
    return frame


def test_offer_line_codes_o01_to_o04() -> None:
    frame = _offer_frame(
        offer_line(),
        offer_line(PRODUCT_KIND="PACKAGE"),
        offer_line(PERFORMANCE_CODE=""),
        offer_line(PRODUCT_KIND="COMPETITION"),
        offer_line(CURRENCY="CHF"),
        offer_line(CURRENCY="GBP"),
        offer_line(SALES_START="2027-03-14T20:00:00+01:00"),
        offer_line(SALES_END="2027-03-14T20:30:01+01:00"),
        offer_line(
            PRODUCT_CODE="PASS27",
            PRODUCT_KIND="UNDATED_PASS",
            PERFORMANCE_CODE="",
            PERFORMANCE_START="",
            PASS_VALIDITY_END="",
        ),
    )
    assert verdict_codes(offer_verdicts(frame)) == [
        "",
        "O01",
        "O02",
        "O02",
        "O03",
        "O03",
        "O04",
        "O04",
        "O02",
    ]


def test_offer_kind_and_currency_against_earlier_files() -> None:
    frame = _offer_frame(offer_line())
    assert verdict_codes(offer_verdicts(frame, known_kinds={"TOSCA27": "COMPETITION"})) == ["O02"]
    assert verdict_codes(offer_verdicts(frame, known_currencies={"TOSCA27": "CHF"})) == ["O03"]
    assert verdict_codes(offer_verdicts(frame, known_kinds={"TOSCA27": "EVENT"})) == [""]


def test_places_line_codes_q01_q02_q08() -> None:
    offer = frame_of(OFFER_00000005)
    places = frame_of(
        PLACES_HEADER
        + "\nTOSCA27;TOSCA27-0315;CAT1;PARTERRE/F/12;1"
        + "\nPASS27;X;LIBRE;;5"
        + "\nTOSCA27;TOSCA27-0314;CAT2;PARTERRE/F/12;1"
        + "\nTOSCA27;TOSCA27-0314;CAT1;;4"
        + "\nPASS27;;LIBRE;FOSSE;5"
        + "\nTOSCA27;TOSCA27-0314;CAT1;PARTERRE/F/12;2"
        + "\nTOSCA27;TOSCA27-0314;FOSSE;FOSSE;2\n"
    )
    assert verdict_codes(places_verdicts(places, offer)) == [
        "Q01",
        "Q01",
        "Q02",
        "Q08",
        "Q08",
        "Q08",
        "",
    ]


def test_a_tickets_file_is_not_the_resellers_to_read() -> None:
    with pytest.raises(ValueError, match="does not read"):
        read_organiser_file("TICKETS_00000001.csv", b"", b"")
