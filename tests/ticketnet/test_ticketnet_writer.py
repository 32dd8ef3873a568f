"""The writer, both directions, and writer -> reader round trips (``ticketnet-exchange-v1``
sections 4 to 8)."""

from __future__ import annotations

import gzip
import string
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reseller_sync.ticketnet.errors import BatchRefusedError, BatchWriteError, Code
from reseller_sync.ticketnet.names import BatchId, FileType, Stream
from reseller_sync.ticketnet.reader import FolderSource, read_batch
from reseller_sync.ticketnet.schema import schema_of
from reseller_sync.ticketnet.writer import build_batch, encode_csv, encode_data_file
from tests.ticketnet.ticketnet_samples import sale

CREATED = "2026-11-28T14:10:03+01:00"
ROUND_TRIP = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Text with what CSV must quote, quotes, line breaks (CR and LF), accents, spaces kept.
texts = st.text(
    alphabet=st.sampled_from(list(string.ascii_letters + " ,\"\r\n'éèàçÉœ€ñ日")),
    max_size=60,
)


def codes(alphabet: str, low: int, high: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=st.sampled_from(list(alphabet)), min_size=low, max_size=high)


UPPER_DIGITS = string.ascii_uppercase + string.digits
event_ids = codes("0123456789ABCDEF", 16, 16)
performance_ids = codes(UPPER_DIGITS, 1, 12)
levels = codes(UPPER_DIGITS, 1, 4)
sections = codes(UPPER_DIGITS + "-", 1, 10)
amounts = st.decimals(min_value=0, max_value=Decimal("9999999.99"), places=2).map(
    lambda d: f"{d:.2f}"
)
timestamps = st.datetimes(
    min_value=__import__("datetime").datetime(1990, 1, 1),
    max_value=__import__("datetime").datetime(2099, 12, 31),
).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S") + "+01:00")
integers = st.integers(min_value=0, max_value=10**12).map(str)


@st.composite
def place(draw: st.DrawFn, *, with_seat: bool = True) -> dict[str, str]:
    if draw(st.booleans()):
        return {
            "section": draw(sections),
            "row": draw(levels),
            "seat": draw(levels) if with_seat else "",
            "area": "",
        }
    return {"section": "", "row": "", "seat": "", "area": draw(sections)}


@st.composite
def transactions(draw: st.DrawFn) -> dict[str, str]:
    refund = draw(st.booleans())
    test = draw(st.booleans())
    record = {
        "transaction_id": draw(codes(UPPER_DIGITS + "-", 1, 24)),
        "line_id": str(draw(st.integers(1, 999))),
        "type": "REFUND" if refund else "SALE",
        "original_transaction_id": draw(codes(UPPER_DIGITS, 1, 24)) if refund else "",
        "original_line_id": str(draw(st.integers(1, 999))) if refund else "",
        "event_id": draw(event_ids),
        "performance_id": draw(performance_ids),
        **draw(place()),
        "price_level": draw(levels),
        "price_type": draw(codes(UPPER_DIGITS + "_", 1, 12)),
        "amount": draw(amounts),
        "fees": draw(amounts),
        "currency": draw(st.sampled_from(["EUR", "USD"])),
        "barcode": draw(codes(string.digits, 12, 20)),
        "attendee_first_name": draw(texts),
        "attendee_last_name": draw(texts),
        "buyer_email": draw(texts),
        "outlet_id": draw(st.sampled_from(["WEB", "APP", "PHONE", "S01234"])),
        "outlet_name": draw(texts.filter(bool)),
        "occurred_at": draw(timestamps),
        "refund_reason": ("TEST" if test else "OUTLET_ERROR") if refund else "",
        "test": "true" if test else "false",
    }
    return record


@st.composite
def catalog(draw: st.DrawFn) -> dict[str, str]:
    return {
        "org_event_code": draw(codes(UPPER_DIGITS + "_-", 1, 20)),
        "event_name": draw(st.text(max_size=120).filter(bool)),
        "event_kind": draw(st.sampled_from(["EVENT", "COMPETITION"])),
        "org_performance_code": draw(codes(UPPER_DIGITS + "_-", 1, 20)),
        "starts_at": draw(timestamps),
        "venue_code": draw(codes(UPPER_DIGITS + "-", 3, 20)),
        "venue_name": draw(texts.filter(bool)),
        "city": draw(texts.filter(bool)),
        "price_level": draw(levels),
        "price_level_name": draw(texts.filter(bool)),
        "price_type": draw(codes(UPPER_DIGITS + "_", 1, 12)),
        "amount": draw(amounts),
        "currency": "EUR",
        "sale_starts_at": draw(timestamps),
        "sale_ends_at": draw(timestamps),
    }


@st.composite
def allocation(draw: st.DrawFn) -> dict[str, str]:
    where = draw(place())
    quantity = "1" if where["seat"] else str(draw(st.integers(1, 10**6)))
    return {
        "event_id": draw(event_ids),
        "performance_id": draw(performance_ids),
        "price_level": draw(levels),
        **where,
        "quantity": quantity,
    }


@st.composite
def pricetypes(draw: st.DrawFn) -> dict[str, str]:
    return {
        "price_type": draw(codes(UPPER_DIGITS + "_", 1, 12)),
        "label": draw(texts.filter(bool)),
        "active": draw(st.sampled_from(["true", "false"])),
        "modified_at": draw(timestamps),
    }


@st.composite
def inventory(draw: st.DrawFn) -> dict[str, str]:
    where = draw(place())
    return {
        "event_id": draw(event_ids),
        "performance_id": draw(performance_ids),
        "price_level": draw(levels),
        "section": where["section"],
        "area": where["area"],
        "allocated": draw(integers),
        "sold": draw(integers),
        "available": draw(integers),
        "snapshot_at": draw(timestamps),
    }


@st.composite
def seats(draw: st.DrawFn) -> dict[str, str]:
    return {
        "event_id": draw(event_ids),
        "performance_id": draw(performance_ids),
        "price_level": draw(levels),
        "section": draw(sections),
        "row": draw(levels),
        "seat": draw(levels),
        "status": draw(st.sampled_from(["AVAILABLE", "SOLD"])),
    }


STRATEGIES = {
    FileType.TRANSACTIONS: (Stream.SALES, transactions()),
    FileType.PRICETYPES: (Stream.PRICETYPES, pricetypes()),
    FileType.INVENTORY: (Stream.INVENTORY, inventory()),
    FileType.SEATS: (Stream.INVENTORY, seats()),
    FileType.CATALOG: (Stream.OFFER, catalog()),
    FileType.ALLOCATION: (Stream.OFFER, allocation()),
    FileType.RELEASE: (Stream.OFFER, allocation()),
}


def columns_of(file_type: FileType, records: list[dict[str, str]]) -> dict[str, list[str]]:
    return {name: [r.get(name, "") for r in records] for name in schema_of(file_type).names}


@pytest.mark.parametrize("file_type", list(STRATEGIES))
def test_round_trip(tmp_path_factory: pytest.TempPathFactory, file_type: FileType) -> None:
    stream, records_strategy = STRATEGIES[file_type]

    @ROUND_TRIP
    @given(st.lists(records_strategy, max_size=5), st.integers(1, 3))
    def round_trip(records: list[dict[str, str]], max_records: int) -> None:
        folder = tmp_path_factory.mktemp("batch")
        files: dict[FileType, dict[str, list[str]]] = {file_type: columns_of(file_type, records)}
        if file_type is FileType.SEATS:
            files[FileType.INVENTORY] = columns_of(FileType.INVENTORY, [])
        built = build_batch(
            BatchId(stream, "PR04127", 5),
            files,
            created_at=CREATED,
            sales_batch=7 if stream is Stream.INVENTORY else None,
            max_records=500_000 if file_type is FileType.PRICETYPES else max_records,
        )
        built.write_to(folder)

        batch = read_batch(FolderSource(folder), built.manifest.batch_id)

        parts = batch.parts_of(file_type)
        assert [p.part for p in parts] == list(range(1, len(parts) + 1))
        assert all(p.records <= max_records for p in parts) or file_type is FileType.PRICETYPES
        expected = [
            {c.name: r.get(c.name, "") for c in schema_of(file_type).read_columns} for r in records
        ]
        assert batch.table(file_type).to_pylist() == expected

    round_trip()


def test_fields_are_quoted_only_when_they_must_be() -> None:
    record = sale(attendee_last_name='O"Neil, Jr', outlet_name="line\nbreak", buyer_phone=" sp ")

    text = encode_csv(FileType.TRANSACTIONS, columns_of(FileType.TRANSACTIONS, [record]))

    header, line = text.decode().split("\n", 1)
    assert header == ",".join(schema_of(FileType.TRANSACTIONS).names)
    assert ',"O""Neil, Jr",' in line
    assert ',"line\nbreak",' in line
    assert ", sp ," in line
    assert ",TX1,"[1:] in line
    assert '"TX1"' not in line
    assert line.endswith("false\n")
    assert b"\r" not in text


def test_data_file_is_one_gzip_member_with_typed_values() -> None:
    columns = {
        "event_id": ["1A005F3C9B12E4D7"],
        "performance_id": ["P01"],
        "price_level": ["FO"],
        "section": [None],
        "row": [None],
        "seat": [None],
        "area": ["FOSSE"],
        "quantity": pa.array([300]),
    }

    data = encode_data_file(FileType.ALLOCATION, columns)

    assert gzip.decompress(data).decode().splitlines()[1] == "1A005F3C9B12E4D7,P01,FO,,,,FOSSE,300"


def test_amounts_from_decimals_and_booleans_from_bools() -> None:
    columns = {
        "price_type": ["ADULT", "CE"],
        "label": ["Plein", "Comité d'entreprise"],
        "active": [True, False],
        "modified_at": [CREATED, CREATED],
    }

    text = encode_csv(FileType.PRICETYPES, columns).decode()

    assert text.splitlines()[1:] == [
        f"ADULT,Plein,true,{CREATED}",
        f"CE,Comité d'entreprise,false,{CREATED}",
    ]


def test_writer_refuses_records_that_break_the_contract() -> None:
    record = sale(amount="68.5", seat="")

    with pytest.raises(BatchWriteError) as raised:
        encode_csv(FileType.TRANSACTIONS, columns_of(FileType.TRANSACTIONS, [record]))

    assert {(p.line, p.column) for p in raised.value.problems} == {(1, "amount"), (1, "seat")}


def test_writer_refuses_unknown_columns_and_bad_batches() -> None:
    with pytest.raises(BatchWriteError, match="not written"):
        encode_csv(FileType.PRICETYPES, {"price_type": ["A"], "colour": ["red"]})
    with pytest.raises(BatchWriteError) as raised:
        build_batch(
            BatchId(Stream.INVENTORY, "PR04127", 1),
            {FileType.CATALOG: {}},
            created_at="yesterday",
        )
    reasons = {p.reason for p in raised.value.problems}
    assert reasons == {
        "created_at must be a timestamp",
        "an INVENTORY batch needs sales_batch",
        "a INVENTORY batch holds no CATALOG file",
    }


def test_parts_split_at_max_records_and_records_count_within_each_part(tmp_path: Path) -> None:
    records = [sale(transaction_id=f"TX{n}", barcode=f"81420000000{n:05d}") for n in range(5)]
    records[3]["currency"] = "EURO"
    built = build_batch(
        BatchId(Stream.SALES, "PR04127", 9),
        {FileType.TRANSACTIONS: columns_of(FileType.TRANSACTIONS, records[:3])},
        created_at=CREATED,
        max_records=2,
    )
    assert [(f.part, f.records) for f in built.manifest.files] == [(1, 2), (2, 1)]
    # A broken fourth record, written by hand into a third part: record 1 of part 2 of 2.
    from reseller_sync.ticketnet.writer import text_table

    with pytest.raises(BatchWriteError):
        text_table(FileType.TRANSACTIONS, columns_of(FileType.TRANSACTIONS, records))
    built.write_to(tmp_path)
    part = tmp_path / "SALES_PR04127_00000009.TRANSACTIONS.2.csv.gz"
    text = gzip.decompress(part.read_bytes()).decode().replace(",EUR,", ",EURO,")
    part.write_bytes(gzip.compress(text.encode()))
    manifest = tmp_path / "SALES_PR04127_00000009.manifest.json"
    import hashlib

    manifest.write_text(
        manifest.read_text().replace(
            built.manifest.files[1].sha256, hashlib.sha256(part.read_bytes()).hexdigest()
        )
    )

    with pytest.raises(BatchRefusedError) as raised:
        read_batch(FolderSource(tmp_path), "SALES_PR04127_00000009")

    problem = raised.value.problems[0]
    assert (raised.value.code, problem.file, problem.line, problem.column) == (
        Code.R06,
        "SALES_PR04127_00000009.TRANSACTIONS.2.csv.gz",
        1,
        "currency",
    )
    assert problem.value == "EURO"


def test_write_to_uploads_data_files_then_the_manifest(tmp_path: Path) -> None:
    built = build_batch(
        BatchId(Stream.PRICETYPES, "PR04127", 2),
        {FileType.PRICETYPES: {"price_type": [], "label": [], "active": [], "modified_at": []}},
        created_at=CREATED,
    )

    written = built.write_to(tmp_path)

    assert [p.name for p in written] == [
        "PRICETYPES_PR04127_00000002.PRICETYPES.1.csv.gz",
        "PRICETYPES_PR04127_00000002.manifest.json",
    ]
    assert not list(tmp_path.glob("*.tmp"))
    assert gzip.decompress(written[0].read_bytes()) == b"price_type,label,active,modified_at\n"
    batch = read_batch(FolderSource(tmp_path), "PRICETYPES_PR04127_00000002")
    assert batch.parts[0].records == 0
    assert batch.manifest_sha256 == built.manifest_sha256
