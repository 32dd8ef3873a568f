"""The examples of ``ticketnet-exchange-v1`` section 12, read by the codec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reseller_sync.domain.errors import ErrorCategory, ExternalError
from reseller_sync.ticketnet.ack import AckStatus, match_ack, parse_ack
from reseller_sync.ticketnet.errors import BatchRefusedError, Code, OfferRefusedError
from reseller_sync.ticketnet.names import BatchId, FileType
from reseller_sync.ticketnet.reader import FolderSource, read_batch, table_schema
from tests.ticketnet.ticketnet_samples import (
    ALLOCATION_CSV,
    BUYER_VALUES,
    CATALOG_CSV,
    OFFER_BATCH,
    SALES_BATCH,
    SALES_FILE,
    ack_document,
    gz,
    write_batch,
    write_sales_example,
)


def test_sales_example_reads_four_records_refund_first_without_buyer_columns(
    tmp_path: Path,
) -> None:
    write_sales_example(tmp_path)

    batch = read_batch(FolderSource(tmp_path), SALES_BATCH)

    table = batch.table(FileType.TRANSACTIONS)
    assert table.schema == table_schema(FileType.TRANSACTIONS)
    assert not [c for c in table.column_names if c.startswith("buyer_")]
    assert table.num_rows == 4
    rows = table.to_pylist()
    assert [r["type"] for r in rows] == ["REFUND", "SALE", "SALE", "SALE"]
    assert rows[0]["original_transaction_id"] == "TX2611271910-0332"
    assert rows[0]["outlet_name"] == "Ticketmaster par téléphone"
    assert rows[3]["attendee_last_name"] == "O'Neil, Jr"
    assert rows[3]["outlet_name"] == "Centre commercial Rennes, accueil"
    assert (rows[3]["area"], rows[3]["section"], rows[3]["price_type"]) == ("FOSSE", "", "CSE")
    assert rows[1]["amount"] == "68.50"
    assert rows[1]["refund_reason"] == ""
    assert not any(value in str(rows) for value in BUYER_VALUES)
    assert [(p.name, p.records) for p in batch.parts] == [(SALES_FILE, 4)]
    assert batch.manifest.batch == BatchId.parse(SALES_BATCH)


def test_offer_example_reads_catalog_then_allocation(tmp_path: Path) -> None:
    files = {
        f"{OFFER_BATCH}.ALLOCATION.1.csv.gz": gz(ALLOCATION_CSV),
        f"{OFFER_BATCH}.CATALOG.1.csv.gz": gz(CATALOG_CSV),
    }
    write_batch(
        tmp_path,
        OFFER_BATCH,
        files,
        dict.fromkeys(files, 0)
        | {
            f"{OFFER_BATCH}.ALLOCATION.1.csv.gz": 3,
            f"{OFFER_BATCH}.CATALOG.1.csv.gz": 2,
        },
    )

    batch = read_batch(FolderSource(tmp_path), OFFER_BATCH)

    assert [p.type for p in batch.parts] == [FileType.CATALOG, FileType.ALLOCATION]
    catalog = batch.table(FileType.CATALOG).to_pylist()
    assert [r["price_level_name"] for r in catalog] == ["Catégorie 1", "Fosse"]
    assert catalog[0]["venue_name"] == "Zénith Paris"
    allocation = batch.table(FileType.ALLOCATION).to_pylist()
    assert [r["quantity"] for r in allocation] == ["1", "1", "300"]
    assert allocation[2]["area"] == "FOSSE"


def test_offer_example_broken_gets_ticketnet_codes(tmp_path: Path) -> None:
    name = f"{OFFER_BATCH}.CATALOG.1.csv.gz"
    write_batch(tmp_path, OFFER_BATCH, {name: gz(CATALOG_CSV.replace("68.50", "68,5"))}, {name: 2})

    with pytest.raises(OfferRefusedError) as raised:
        read_batch(FolderSource(tmp_path), OFFER_BATCH)

    assert raised.value.code is Code.B06


def test_ack_example_parses_and_matches_its_manifest() -> None:
    sha = "a" * 64
    data = json.dumps(ack_document(sha)).encode()

    ack = parse_ack(f"{OFFER_BATCH}.ack.json", data)

    assert ack.status is AckStatus.PARTIAL
    assert ack.error is None
    catalog, allocation = ack.files
    assert catalog.ids[0].event_id == "1A005F3C9B12E4D7"
    assert catalog.ids[0].performance_id == "P01"
    assert allocation.errors[0].record == 2
    assert allocation.errors[0].code is Code.A04
    assert allocation.ids == ()
    assert match_ack(ack, {OFFER_BATCH: sha}) is None
    mismatch = match_ack(ack, {OFFER_BATCH: "b" * 64})
    assert mismatch is not None
    assert mismatch.code is Code.R22
    assert match_ack(ack, {}) is not None


def test_ack_round_trips_through_its_encoder() -> None:
    data = json.dumps(ack_document("c" * 64)).encode()
    ack = parse_ack(f"{OFFER_BATCH}.ack.json", data)

    assert parse_ack(ack.name, ack.encode()) == ack


def _broken_ack(change: Any) -> dict[str, Any]:
    document = ack_document("a" * 64)
    change(document)
    return document


ACK_BREAKS: dict[str, Any] = {
    "ack_version": lambda d: d.update(ack_version=2),
    "batch_id": lambda d: d.update(batch_id="OFFER_PR04127_00000008"),
    "manifest_sha256": lambda d: d.update(manifest_sha256="A" * 64),
    "processed_at": lambda d: d.update(processed_at="2026-11-28T14:31:00Z"),
    "status": lambda d: d.update(status="DONE"),
    "error": lambda d: d.update(status="REJECTED"),
    "files[1]": lambda d: d["files"][1].update(rejected=2),
    "files[1].errors[0].record": lambda d: d["files"][1]["errors"][0].update(record=4),
    "files[1].errors[0].code": lambda d: d["files"][1]["errors"][0].update(code="X99"),
    "files[0].status": lambda d: d["files"][0].update(status="PARTIAL"),
    "files[0].ids[0].event_id": lambda d: d["files"][0]["ids"][0].pop("event_id"),
}


@pytest.mark.parametrize("key", sorted(ACK_BREAKS))
def test_r22_each_ack_fault_is_named_by_its_key(key: str) -> None:
    data = json.dumps(_broken_ack(ACK_BREAKS[key])).encode()

    with pytest.raises(BatchRefusedError) as raised:
        parse_ack(f"{OFFER_BATCH}.ack.json", data)

    assert raised.value.code is Code.R22
    assert key in [p.column for p in raised.value.problems]


def test_categories_of_table_10() -> None:
    assert Code.R01.category is ErrorCategory.EXTERNAL
    assert Code.R06.category is ErrorCategory.EXTERNAL
    assert {Code(f"R{n}").category for n in (10, 11, 12, 13, 17)} == {ErrorCategory.MAPPING}
    assert Code.R90.category is ErrorCategory.TECHNICAL
    assert Code.B03.category is ErrorCategory.TECHNICAL
    assert Code.C06.category is ErrorCategory.TECHNICAL
    assert Code.A04.category is None
    assert issubclass(BatchRefusedError, ExternalError)
