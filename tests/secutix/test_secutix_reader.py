"""Reading the reseller's files (secutix-reseller-v1 sections 5, 6, 7 and 11)."""

from __future__ import annotations

import hashlib

import pytest
from secutix_samples import (
    CONTACT_VALUES,
    HEADER,
    RESULT_00000006,
    STOCK_20261129,
    TICKETS_42,
    control_for,
    ticket_line,
    tickets,
)

from reseller_sync.secutix.errors import Code, FileRefusedError
from reseller_sync.secutix.reader import DataFile, read_file
from reseller_sync.secutix.rules import check_file, spec_order

T1 = "TICKETS_00000001.csv"


def read(name: str, text: str | bytes, control: bytes | None = None) -> DataFile:
    data = text.encode() if isinstance(text, str) else text
    return read_file(name, data, control if control is not None else control_for(name, data))


def codes(name: str, text: str | bytes, control: bytes | None = None) -> list[Code]:
    """The codes of every problem, in the spec's order (verification, then rules)."""
    try:
        data_file = read(name, text, control)
    except FileRefusedError as error:
        return [p.code for p in error.problems]  # type: ignore[attr-defined]
    return [p.code for p in check_file(data_file).listed(spec_order)]


def test_the_tickets_example_reads_without_its_contact_columns() -> None:
    data_file = read("TICKETS_00000042.csv", TICKETS_42)
    frame = data_file.frame
    assert data_file.lines == 6
    assert list(frame.index) == [1, 2, 3, 4, 5, 6]
    assert not [c for c in frame.columns if c.startswith("CONTACT_")]
    assert frame.loc[1, "BENEFICIARY_FIRSTNAME"] == "Hélène"
    assert frame.loc[4, "REFUND_AMOUNT"] == "6500"
    assert frame.loc[6, "PASS_VALIDITY_END"] == "2027-12-31"
    assert frame["TICKET_STATE"].tolist() == [
        "SOLD",
        "SOLD",
        "PRINTED",
        "REFUNDED",
        "SOLD",
        "CANCELLED",
    ]
    assert data_file.sha256 == hashlib.sha256(TICKETS_42.encode()).hexdigest()
    assert check_file(data_file).listed() == []
    shown = frame.to_csv()
    assert not [value for value in CONTACT_VALUES if value in shown]


def test_the_stock_and_result_examples_are_valid() -> None:
    stock = read("STOCK_20261129.csv", STOCK_20261129)
    assert stock.frame["AVAILABLE"].tolist() == ["1", "299", "500"]
    assert check_file(stock).listed() == []
    result = read("RESULT_00000006.csv", RESULT_00000006)
    assert result.frame["ERROR_CODE"].tolist() == ["", "Q04", "", ""]
    assert check_file(result).listed() == []


def test_a_byte_order_mark_and_cr_lf_are_accepted() -> None:
    data = b"\xef\xbb\xbf" + TICKETS_42.replace("\n", "\r\n").encode()
    data_file = read("TICKETS_00000042.csv", data)
    assert data_file.lines == 6
    assert data_file.frame.loc[6, "STATE_CHANGED_AT"] == "2026-11-28T13:24:10+01:00"


def test_columns_are_found_by_name_in_any_order_and_unknown_ones_ignored() -> None:
    text = "SNAPSHOT_AT;EXTRA;" + ";".join(STOCK_20261129.splitlines()[0].split(";")[:-1]) + "\n"
    for line in STOCK_20261129.splitlines()[1:]:
        fields = line.split(";")
        text += f"{fields[-1]};whatever;" + ";".join(fields[:-1]) + "\n"
    stock = read("STOCK_20261129.csv", text)
    assert next(iter(stock.frame.columns)) == "PRODUCT_CODE"
    assert "EXTRA" not in stock.frame.columns
    assert stock.frame.loc[3, "PRODUCT_CODE"] == "PASS27"


def test_a_header_alone_is_an_empty_file() -> None:
    assert read(T1, HEADER + "\n").lines == 0


def test_quoted_fields_may_hold_separators_line_breaks_and_quotes() -> None:
    line = ticket_line(BENEFICIARY_LASTNAME='"Du""pré; \nB"')
    data_file = read(T1, tickets(line))
    assert data_file.frame.loc[1, "BENEFICIARY_LASTNAME"] == 'Du"pré; \nB'


def _ctl(text: str, *, name: str = T1, lines: int | None = None) -> bytes:
    return control_for(name, text.encode(), lines=lines)


GOOD = tickets(ticket_line())
SHA = hashlib.sha256(GOOD.encode()).hexdigest()
BAD_FILES: list[tuple[str, str | bytes, bytes | None, Code]] = [
    # control file (T01), in the order of section 6
    ("control names another file", GOOD, _ctl(GOOD, name="TICKETS_00000002.csv"), Code.T01),
    ("control header", GOOD, f"NAME;COUNT;SHA\n{T1};1;{SHA}\n".encode(), Code.T01),
    ("control three lines", GOOD, _ctl(GOOD) + b"x\n", Code.T01),
    (
        "control sha not lowercase",
        GOOD,
        f"FILE_NAME;LINE_COUNT;SHA256\n{T1};1;{SHA.upper()}\n".encode(),
        Code.T01,
    ),
    (
        "control count not an integer",
        GOOD,
        f"FILE_NAME;LINE_COUNT;SHA256\n{T1};01;{SHA}\n".encode(),
        Code.T01,
    ),
    ("control not utf-8", GOOD, b"\xff\n\n", Code.T01),
    ("sha mismatch", GOOD, _ctl(GOOD + "x"), Code.T02),
    ("line count", GOOD, _ctl(GOOD, lines=2), Code.T03),
    # syntax and fields (T04)
    ("not utf-8", GOOD.encode().replace(b"\xc3\xa9", b"\xe9"), None, Code.T04),
    ("empty file", b"", _ctl("", lines=0), Code.T04),
    ("no final LF", GOOD.rstrip("\n"), None, Code.T04),
    ("lone CR", GOOD.replace("Tosca", "To\rsca"), None, Code.T04),
    ("stray quote", GOOD.replace("Tosca", 'To"sca'), None, Code.T04),
    ("text after a closing quote", GOOD.replace("Tosca", '"Tosca"x'), None, Code.T04),
    ("unclosed quote", GOOD.replace("Tosca", '"Tosca'), None, Code.T04),
    ("missing column", GOOD.replace("SEATCAT_CODE;", "OTHER;"), None, Code.T04),
    ("repeated column", GOOD.replace("TARIFF_NAME", "TARIFF_CODE"), None, Code.T04),
    ("a field too few", tickets(ticket_line().rsplit(";", 1)[0]), None, Code.T04),
    ("empty line", GOOD + "\n", None, Code.T04),
    ("required field empty", tickets(ticket_line(POINT_OF_SALE="")), None, Code.T04),
    ("barcode format", tickets(ticket_line(BAR_CODE="77-12")), None, Code.T04),
    ("code lowercase", tickets(ticket_line(PRODUCT_CODE="tosca")), None, Code.T04),
    ("amount leading zero", tickets(ticket_line(PRICE="0685")), None, Code.T04),
    ("amount too long", tickets(ticket_line(PRICE="1234567890")), None, Code.T04),
    ("currency", tickets(ticket_line(CURRENCY="USD")), None, Code.T04),
    (
        "timestamp without offset",
        tickets(ticket_line(SOLD_AT="2026-11-28T13:05:12")),
        None,
        Code.T04,
    ),
    ("no such day", tickets(ticket_line(SOLD_AT="2026-02-30T13:05:12+01:00")), None, Code.T04),
    (
        "offset out of range",
        tickets(ticket_line(SOLD_AT="2026-11-28T13:05:12+24:00")),
        None,
        Code.T04,
    ),
    ("date", tickets(ticket_line(SEAT="", PASS_VALIDITY_END="2027-13-01")), None, Code.T04),
    ("seat", tickets(ticket_line(SEAT="PARTERRE/F")), None, Code.T04),
    ("text too long", tickets(ticket_line(TARIFF_NAME="x" * 61)), None, Code.T04),
    ("order number", tickets(ticket_line(ORDER_NUMBER="A1")), None, Code.T04),
    # rules within the file
    ("file number", tickets(ticket_line(FILE_NUMBER="2")), None, Code.T05),
    ("barcode twice", tickets(ticket_line(), ticket_line(SEAT="PARTERRE/F/13")), None, Code.T08),
    ("unknown state", tickets(ticket_line(TICKET_STATE="NOT_PRINTED")), None, Code.T09),
    (
        "order in two currencies",
        tickets(ticket_line(), ticket_line(BAR_CODE="771200000418", CURRENCY="CHF")),
        None,
        Code.T13,
    ),
    ("event without seat", tickets(ticket_line(SEAT="")), None, Code.T19),
    ("pass with a seat", tickets(ticket_line(PASS_VALIDITY_END="2027-12-31")), None, Code.T19),
    (
        "undated pass without validity",
        tickets(ticket_line(PERFORMANCE_CODE="", SEAT="")),
        None,
        Code.T19,
    ),
    ("commission above price", tickets(ticket_line(COMMISSION="6851")), None, Code.T20),
    ("refunded without amount", tickets(ticket_line(TICKET_STATE="REFUNDED")), None, Code.T20),
    ("refund amount when sold", tickets(ticket_line(REFUND_AMOUNT="100")), None, Code.T20),
    (
        "refund above price",
        tickets(ticket_line(TICKET_STATE="REFUNDED", REFUND_AMOUNT="6851")),
        None,
        Code.T20,
    ),
    (
        "changed before sold",
        tickets(ticket_line(STATE_CHANGED_AT="2026-11-28T12:05:11+00:00")),
        None,
        Code.T12,
    ),
]


@pytest.mark.parametrize(
    ("text", "control", "code"),
    [
        pytest.param(text, control, code, id=f"{code}-{why}")
        for why, text, control, code in BAD_FILES
    ],
)
def test_each_reading_code_from_a_minimal_bad_file(
    text: str | bytes, control: bytes | None, code: Code
) -> None:
    found = codes(T1, text, control)
    assert found
    assert set(found) == {code}


def test_the_same_instant_in_another_offset_is_not_before() -> None:
    line = ticket_line(STATE_CHANGED_AT="2026-11-28T12:05:12+00:00")
    assert codes(T1, tickets(line)) == []


def test_verification_stops_at_the_first_failing_step() -> None:
    # A wrong SHA-256 and a wrong line count: only T02 is reported.
    text = tickets(ticket_line(PRICE="x"))
    assert codes(T1, text, _ctl(text + "x", lines=5)) == [Code.T02]
    # Syntax (T04) comes before the line count (T03), which comes before formats (T04).
    broken = GOOD.replace("Tosca", '"Tosca')
    assert set(codes(T1, broken, _ctl(broken, lines=5))) == {Code.T04}
    wrong_format = tickets(ticket_line(PRICE="x"))
    assert codes(T1, wrong_format, _ctl(wrong_format, lines=5)) == [Code.T03]


def test_rules_come_in_the_spec_order() -> None:
    text = tickets(
        ticket_line(TICKET_STATE="BOGUS"),
        ticket_line(BAR_CODE="771200000418", COMMISSION="9999"),
        ticket_line(BAR_CODE="771200000418", FILE_NUMBER="3"),
    )
    assert codes(T1, text) == [Code.T05, Code.T08, Code.T09, Code.T20]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (STOCK_20261129.replace("300;1;299", "300;1;298"), Code.T21),
        (STOCK_20261129.replace("PASS27;;LIBRE", "TOSCA27;TOSCA27-0314;CAT1"), Code.T21),
        (STOCK_20261129.replace("500;44", "500;45"), Code.T21),
        (
            STOCK_20261129.replace("500;44;2026-11-29T02:30:00", "500;44;2026-11-29T02:31:00"),
            Code.T21,
        ),
    ],
)
def test_stock_consistency(text: str, code: Code) -> None:
    assert codes("STOCK_20261129.csv", text) == [code]


RESULT_HEADER = "LINE_NUMBER;STATUS;ERROR_CODE;AVAILABLE;MESSAGE\n"


@pytest.mark.parametrize(
    "body",
    [
        "1;OK;;;\n3;OK;;;\n",  # not 1, 2...
        "2;OK;;;\n1;OK;;;\n",
        "0;KO;F01;;\n1;OK;;;\n",  # line 0 and others
        "0;OK;;;\n",
        "1;KO;;;\n",  # KO without code
        "1;OK;Q04;;\n",
        "1;KO;T05;;\n",  # not a RESULT code
        "1;KO;Q06;;\n",  # Q06 without AVAILABLE
        "1;KO;Q05;3;\n",
    ],
)
def test_result_lines(body: str) -> None:
    found = codes("RESULT_00000006.csv", RESULT_HEADER + body)
    assert found
    assert set(found) == {Code.T23}


@pytest.mark.parametrize(
    "body", ["", "0;KO;F01;;Contrôle invalide\n", "1;OK;;;\n2;KO;Q06;12;moins de places\n"]
)
def test_valid_result_files(body: str) -> None:
    assert codes("RESULT_00000006.csv", RESULT_HEADER + body) == []


def test_a_missing_optional_column_reads_as_empty() -> None:
    text = tickets(ticket_line()).replace(";TARIFF_NAME", "").replace(";Plein tarif", "")
    data_file = read(T1, text)
    assert data_file.frame.loc[1, "TARIFF_NAME"] == ""


def test_contact_columns_are_never_checked() -> None:
    line = ticket_line(CONTACT_EMAIL="x" * 500, CONTACT_PHONE='"a;b"')
    assert codes(T1, tickets(line)) == []
    text = tickets(ticket_line()).replace("CONTACT_ADDRESS", "CONTACT_LATER")
    assert codes(T1, text) == []


def test_many_lines_are_read_and_checked_columnar() -> None:
    line = ticket_line() + "\n"
    barcodes = (f"{771200000000 + n}" for n in range(50_000))
    body = "".join(line.replace("771200000417", code, 1) for code in barcodes)
    data_file = read(T1, HEADER + "\n" + body)
    assert data_file.lines == 50_000
    log = check_file(data_file)
    assert log.total == 0


@pytest.mark.parametrize(
    ("text", "control"),
    [pytest.param(text, control, id=f"{code}-{why}") for why, text, control, code in BAD_FILES],
)
def test_no_contact_value_in_any_error(text: str | bytes, control: bytes | None) -> None:
    data = text.encode() if isinstance(text, str) else text
    try:
        data_file = read_file(T1, data, control if control is not None else control_for(T1, data))
    except FileRefusedError as error:
        shown = f"{error}\n{error!r}\n" + "\n".join(map(repr, error.problems))
    else:
        shown = "\n".join(map(repr, check_file(data_file).listed()))
        shown += data_file.frame.to_csv()
    assert shown
    assert [value for value in CONTACT_VALUES if value in shown] == []
