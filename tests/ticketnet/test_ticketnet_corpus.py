"""Every reading code the codec detects on one batch, R01 to R06 (``ticketnet-exchange-v1``
section 6), with the problem's location; and the order of the verification steps."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reseller_sync.ticketnet.errors import BatchRefusedError, Code, TicketnetProblem
from reseller_sync.ticketnet.manifest import sha256_hex
from reseller_sync.ticketnet.names import FileType
from reseller_sync.ticketnet.reader import FolderSource, read_batch, read_data_file
from tests.ticketnet.ticketnet_samples import (
    SALES_BATCH,
    SALES_CSV,
    SALES_FILE,
    TRANSACTION_COLUMNS,
    csv_text,
    gz,
    manifest_document,
    refund,
    sale,
    write_batch,
)

INVENTORY_BATCH = "INVENTORY_PR04127_00000003"


def refused(folder: Path, batch: str = SALES_BATCH) -> BatchRefusedError:
    with pytest.raises(BatchRefusedError) as raised:
        read_batch(FolderSource(folder), batch)
    return raised.value


def only(error: BatchRefusedError) -> TicketnetProblem:
    problems = [p for p in error.problems if isinstance(p, TicketnetProblem)]
    assert len(problems) == 1, problems
    return problems[0]


def sales_batch(folder: Path, data: bytes, records: int = 4, **manifest: Any) -> None:
    document = manifest_document(SALES_BATCH, {SALES_FILE: data}, {SALES_FILE: records})
    document.update(manifest)
    write_batch(folder, SALES_BATCH, {SALES_FILE: data}, {}, manifest=document)


def _files(document: dict[str, Any]) -> list[dict[str, Any]]:
    files: list[dict[str, Any]] = document["files"]
    return files


MANIFEST_BREAKS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "manifest_version": lambda d: d.update(manifest_version=2),
    "batch_id": lambda d: d.update(batch_id="SALES_PR04127_00000041"),
    "stream": lambda d: d.update(stream="OFFER"),
    "promoter": lambda d: d.update(promoter="PR00001"),
    "batch": lambda d: d.update(batch=41),
    "created_at": lambda d: d.update(created_at="2026-11-28 14:10:03"),
    "files": lambda d: d.update(files=[]),
    "files[0].sha256": lambda d: _files(d)[0].update(sha256="sha256:" + "a" * 57),
    "files[0].records": lambda d: _files(d)[0].update(records="4"),
    "files[0].part": lambda d: _files(d)[0].update(part=2),
    "files[0].type": lambda d: _files(d)[0].update(type="PRICETYPES"),
    "files[0].name": lambda d: _files(d)[0].update(
        name="SALES_PR04127_00000041.TRANSACTIONS.1.csv.gz"
    ),
}


@pytest.mark.parametrize("key", sorted(MANIFEST_BREAKS))
def test_r01_each_manifest_invalidity_is_named_by_its_key(tmp_path: Path, key: str) -> None:
    data = gz(SALES_CSV)
    document = manifest_document(SALES_BATCH, {SALES_FILE: data}, {SALES_FILE: 4})
    MANIFEST_BREAKS[key](document)
    write_batch(tmp_path, SALES_BATCH, {SALES_FILE: data}, {}, manifest=document)

    error = refused(tmp_path)

    assert error.code is Code.R01
    assert key in [p.column for p in error.problems]
    assert all(p.file == f"{SALES_BATCH}.manifest.json" for p in error.problems)
    assert all(p.line == 0 for p in error.problems)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xef\xbb\xbf{}", "byte order mark"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"manifest_version": 1, "manifest_version": 1}', "appears twice"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_r01_a_manifest_that_is_not_a_json_object(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    (tmp_path / f"{SALES_BATCH}.manifest.json").write_bytes(content)

    problem = only(refused(tmp_path))

    assert problem.code is Code.R01
    assert reason in problem.reason


def test_r01_missing_key_repeated_name_and_parts(tmp_path: Path) -> None:
    data = gz(SALES_CSV)
    document = manifest_document(SALES_BATCH, {SALES_FILE: data}, {SALES_FILE: 4})
    del document["created_at"]
    _files(document).append(dict(_files(document)[0]))
    third = dict(_files(document)[0], name=f"{SALES_BATCH}.TRANSACTIONS.3.csv.gz", part=3)
    _files(document).append(third)
    write_batch(tmp_path, SALES_BATCH, {SALES_FILE: data}, {}, manifest=document)

    reasons = [p.reason for p in refused(tmp_path).problems]

    assert "the key created_at is missing" in reasons
    assert f"lists {SALES_FILE} more than once" in reasons
    assert "the parts of TRANSACTIONS are [1, 3], not 1 to 2" in reasons


def test_r01_inventory_without_sales_batch_and_stream_types(tmp_path: Path) -> None:
    name = f"{INVENTORY_BATCH}.INVENTORY.1.csv.gz"
    catalog = f"{INVENTORY_BATCH}.CATALOG.1.csv.gz"
    data = gz("event_id\n")
    files = {name: data, catalog: data}
    write_batch(tmp_path, INVENTORY_BATCH, files, {name: 0, catalog: 0})

    reasons = [p.reason for p in refused(tmp_path, INVENTORY_BATCH).problems]

    assert "the key sales_batch is missing" in reasons
    assert "lists a CATALOG file, which a INVENTORY batch may not hold" in reasons


def test_r02_a_listed_file_is_missing(tmp_path: Path) -> None:
    sales_batch(tmp_path, gz(SALES_CSV))
    (tmp_path / SALES_FILE).unlink()

    problem = only(refused(tmp_path))

    assert (problem.code, problem.file, problem.line) == (Code.R02, SALES_FILE, 0)


def test_r05_an_unlisted_data_file_comes_before_sha256(tmp_path: Path) -> None:
    sales_batch(tmp_path, gz(SALES_CSV))
    (tmp_path / SALES_FILE).write_bytes(gz(SALES_CSV + "x"))
    unlisted = f"{SALES_BATCH}.TRANSACTIONS.2.csv.gz"
    (tmp_path / unlisted).write_bytes(gz(SALES_CSV))
    (tmp_path / f"{unlisted}.tmp").write_bytes(b"ignored")
    (tmp_path / "notes.txt").write_bytes(b"ignored")

    problem = only(refused(tmp_path))

    assert (problem.code, problem.file) == (Code.R05, unlisted)


def test_r03_sha256_mismatch_comes_before_syntax(tmp_path: Path) -> None:
    sales_batch(tmp_path, gz(SALES_CSV))
    (tmp_path / SALES_FILE).write_bytes(b"not gzip at all")

    problem = only(refused(tmp_path))

    assert problem.code is Code.R03
    assert sha256_hex(b"not gzip at all") in problem.reason


def test_r04_record_count_after_a_clean_parse(tmp_path: Path) -> None:
    sales_batch(tmp_path, gz(SALES_CSV), records=5)

    problem = only(refused(tmp_path))

    assert problem.code is Code.R04
    assert problem.reason == "the file holds 4 records, the manifest lists 5"


def test_r06_syntax_comes_before_r04(tmp_path: Path) -> None:
    sales_batch(tmp_path, gz(SALES_CSV.replace("\n", "\r\n")), records=5)

    assert refused(tmp_path).code is Code.R06


def _crlf_in_record_2() -> bytes:
    head, first, rest = SALES_CSV.split("\n", 2)
    return f"{head}\n{first}\r\n{rest}".encode()


def _truncated() -> bytes:
    return gzip.compress(SALES_CSV.encode())[:-12]


def _lying_isize() -> bytes:
    data = gzip.compress(SALES_CSV.encode())
    return data[:-4] + (2**32 - 1).to_bytes(4, "little")


def _two_members() -> bytes:
    return gzip.compress(SALES_CSV.encode()) + gzip.compress(b"x\n")


SYNTAX: dict[str, tuple[bytes, int, str]] = {
    # name: (gzip bytes, record of the problem, words of its reason)
    "not gzip": (SALES_CSV.encode(), 0, "not gzip"),
    "truncated gzip": (_truncated(), 0, "truncated"),
    "two gzip members": (_two_members(), 0, "more than one gzip member"),
    "wrong ISIZE": (_lying_isize(), 0, "not valid gzip"),
    "BOM": (gz(b"\xef\xbb\xbf" + SALES_CSV.encode()), 0, "byte order mark"),
    "not UTF-8": (
        gz(SALES_CSV.replace("Hélène", "H\xe9l\xe8ne").encode("latin-1")),
        0,
        "not UTF-8",
    ),
    "CR LF": (gz(_crlf_in_record_2()), 1, "CR LF line ends"),
    "lone CR": (gz(SALES_CSV.replace(",Marc,", ",Ma\rrc,")), 1, "CR outside a quoted field"),
    "no LF at the end": (gz(SALES_CSV.rstrip("\n")), 0, "does not end with LF"),
    "empty": (gz(b""), 0, "empty"),
    "fewer fields": (gz(SALES_CSV.replace(",CUSTOMER,false", ",CUSTOMER")), 1, "26 fields"),
    "more fields": (gz(SALES_CSV.replace("Dupré,h.dupre", "Dupré,,h.dupre", 1)), 2, "28 fields"),
    "empty line": (
        gz(SALES_CSV.replace("\nTX2611281305-0417,2", "\n\nTX2611281305-0417,2")),
        3,
        "empty line",
    ),
    "unclosed quote": (gz(SALES_CSV.replace('"O\'Neil, Jr"', "\"O'Neil, Jr")), 4, "not valid CSV"),
    "quote inside an unquoted field": (
        gz(SALES_CSV.replace(",Marc,", ',Ma"rc,')),
        1,
        "a quote inside a field that does not start with one",
    ),
    "text after a closing quote": (
        gz(SALES_CSV.replace('"O\'Neil, Jr"', '"O\'Neil, Jr" III')),
        4,
        "text follows the closing quote",
    ),
    "quote opening in the middle of a field": (
        gz(SALES_CSV.replace(",Zoé,", ',Zo"é, x",')),
        3,
        "a quote inside a field that does not start with one",
    ),
}


@pytest.mark.parametrize("case", sorted(SYNTAX))
def test_r06_file_syntax(tmp_path: Path, case: str) -> None:
    data, record, words = SYNTAX[case]
    sales_batch(tmp_path, data)

    error = refused(tmp_path)

    assert error.code is Code.R06
    problem = error.problems[0]
    assert isinstance(problem, TicketnetProblem)
    assert (problem.file, problem.line) == (SALES_FILE, record)
    assert words in problem.reason


def test_quoted_fields_with_doubled_quotes_commas_and_line_breaks_are_text(
    tmp_path: Path,
) -> None:
    text = SALES_CSV.replace('"O\'Neil, Jr"', '"""O\'Neil"", ""Jr""\n,"').replace(",Marc,", ',"",')
    sales_batch(tmp_path, gz(text))

    rows = read_batch(FolderSource(tmp_path), SALES_BATCH).parts[0].table.to_pylist()

    assert rows[3]["attendee_last_name"] == '"O\'Neil", "Jr"\n,'
    assert rows[0]["attendee_first_name"] == ""


def test_a_cr_inside_a_quoted_field_is_text(tmp_path: Path) -> None:
    text = SALES_CSV.replace('"O\'Neil, Jr"', '"O\'Neil,\r\nJr"')
    sales_batch(tmp_path, gz(text))

    rows = read_batch(FolderSource(tmp_path), SALES_BATCH).parts[0].table.to_pylist()

    assert rows[3]["attendee_last_name"] == "O'Neil,\r\nJr"


def _header_case(columns: list[str]) -> bytes:
    return gz(csv_text([sale()], columns))


@pytest.mark.parametrize(
    ("columns", "column", "reason"),
    [
        ([c for c in TRANSACTION_COLUMNS if c != "barcode"], "barcode", "lacks the required"),
        ([c for c in TRANSACTION_COLUMNS if c != "area"], "area", "lacks the required"),
        ([*TRANSACTION_COLUMNS, "amount"], "amount", "appears twice"),
    ],
)
def test_r06_header_columns(tmp_path: Path, columns: list[str], column: str, reason: str) -> None:
    sales_batch(tmp_path, _header_case(columns), records=1)

    error = refused(tmp_path)

    assert error.code is Code.R06
    assert [(p.column, p.line) for p in error.problems if reason in p.reason] == [(column, 0)]


def test_columns_in_any_order_unknown_and_optional_ones(tmp_path: Path) -> None:
    columns = [
        c for c in reversed(TRANSACTION_COLUMNS) if c not in ("attendee_first_name", "buyer_phone")
    ]
    columns.insert(3, "loyalty_tier")
    record = sale(loyalty_tier="not, checked")
    sales_batch(tmp_path, gz(csv_text([record], columns)), records=1)

    row = read_batch(FolderSource(tmp_path), SALES_BATCH).parts[0].table.to_pylist()[0]

    assert "loyalty_tier" not in row
    assert row["attendee_first_name"] == ""
    assert row["barcode"] == "8142000000000417"


FORMATS: list[tuple[str, str]] = [
    ("transaction_id", "tx-1"),
    ("transaction_id", "T" * 25),
    ("line_id", "0"),
    ("line_id", "1000"),
    ("line_id", "01"),
    ("type", "SOLD"),
    ("event_id", "1a005f3c9b12e4d7"),
    ("event_id", "1A005F3C9B12E4D"),
    ("performance_id", "P 01"),
    ("section", "ORCH_A"),
    ("row", "ABCDE"),
    ("seat", "1.5"),
    ("price_level", "CAT01"),
    ("price_type", "ADULT-1"),
    ("amount", "68.5"),
    ("amount", "068.50"),
    ("amount", "-1.00"),
    ("amount", "12345678.00"),
    ("amount", "68,50"),
    ("fees", "1.2.3"),
    ("fees", "1.2.50"),
    ("currency", "eur"),
    ("barcode", "81420000000"),
    ("barcode", "8142A000000000417"),
    ("outlet_id", "S1234"),
    ("outlet_id", "SHOP"),
    ("outlet_name", "x" * 61),
    ("attendee_last_name", "é" * 61),
    ("occurred_at", "2026-11-28T13:05:12Z"),
    ("occurred_at", "2026-11-28T13:05:12.5+01:00"),
    ("occurred_at", "2026-02-30T13:05:12+01:00"),
    ("occurred_at", "2026-11-28T24:05:12+01:00"),
    ("occurred_at", "2026-11-28 13:05:12+01:00"),
    ("test", "TRUE"),
]


@pytest.mark.parametrize(("column", "value"), FORMATS)
def test_r06_each_format(tmp_path: Path, column: str, value: str) -> None:
    second = {"transaction_id": "TX2", "barcode": "8142000000000999"} | {column: value}
    records = [sale(), sale(**second)]
    sales_batch(tmp_path, gz(csv_text(records)), records=2)

    problem = only(refused(tmp_path))

    assert (problem.code, problem.file, problem.line, problem.column) == (
        Code.R06,
        SALES_FILE,
        2,
        column,
    )


@pytest.mark.parametrize(
    ("record", "column", "reason"),
    [
        (sale(amount=""), "amount", "a value is required"),
        (sale(area="FOSSE"), "area", "either seated"),
        (sale(seat=""), "seat", "either seated"),
        (sale(original_transaction_id="TX0"), "original_transaction_id", "SALE record leaves"),
        (sale(refund_reason="CUSTOMER"), "refund_reason", "SALE record leaves"),
        (refund(sale(), original_line_id=""), "original_line_id", "REFUND record fills"),
        (refund(sale(), refund_reason="TEST"), "refund_reason", "if and only if"),
        (refund(sale(test="true"), refund_reason="CUSTOMER"), "refund_reason", "if and only if"),
    ],
)
def test_r06_each_per_record_rule(
    tmp_path: Path, record: dict[str, str], column: str, reason: str
) -> None:
    sales_batch(tmp_path, gz(csv_text([sale(transaction_id="TX9"), record])), records=2)

    problem = only(refused(tmp_path))

    assert (problem.code, problem.line, problem.column) == (Code.R06, 2, column)
    assert reason in problem.reason


def test_a_refund_with_test_reason_of_a_test_sale_is_valid(tmp_path: Path) -> None:
    records = [sale(test="true"), refund(sale(test="true"))]
    sales_batch(tmp_path, gz(csv_text(records)), records=2)

    batch = read_batch(FolderSource(tmp_path), SALES_BATCH)

    assert batch.parts[0].table.column("refund_reason").to_pylist() == ["", "TEST"]


def test_every_problem_of_the_step_is_listed_across_parts(tmp_path: Path) -> None:
    first = f"{SALES_BATCH}.TRANSACTIONS.1.csv.gz"
    second = f"{SALES_BATCH}.TRANSACTIONS.2.csv.gz"
    files = {
        first: gz(csv_text([sale(), sale(line_id="2", currency="eu")])),
        second: gz(csv_text([sale(transaction_id="TX3", amount="1")])),
    }
    write_batch(tmp_path, SALES_BATCH, files, {first: 2, second: 1})

    error = refused(tmp_path)

    assert [(p.file, p.line, p.column) for p in error.problems] == [
        (first, 2, "currency"),
        (second, 1, "amount"),
    ]


def test_the_problem_list_is_capped(tmp_path: Path) -> None:
    records = [sale(line_id=str(n), amount="x") for n in range(1, 151)]
    sales_batch(tmp_path, gz(csv_text(records)), records=150)

    error = refused(tmp_path)

    assert len(error.problems) == 101
    assert error.problems[-1].reason == "and 50 more problems"
    assert "150 problems" in error.message


def test_manifest_json_written_by_hand_with_extra_keys_is_read(tmp_path: Path) -> None:
    data = gz(SALES_CSV)
    document = manifest_document(SALES_BATCH, {SALES_FILE: data}, {SALES_FILE: 4}, comment="x")
    _files(document)[0]["extra"] = True
    (tmp_path / SALES_FILE).write_bytes(data)
    (tmp_path / f"{SALES_BATCH}.manifest.json").write_text(json.dumps(document))

    assert read_batch(FolderSource(tmp_path), SALES_BATCH).parts[0].records == 4


def test_one_data_file_on_its_own() -> None:
    part = read_data_file(SALES_FILE, FileType.TRANSACTIONS, gz(SALES_CSV))
    assert (part.part, part.records) == (1, 4)

    with pytest.raises(BatchRefusedError) as raised:
        read_data_file(SALES_FILE, FileType.TRANSACTIONS, gz(SALES_CSV.replace("EUR", "E")))
    assert [p.line for p in raised.value.problems] == [1, 2, 3, 4]
