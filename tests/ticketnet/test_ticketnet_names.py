"""Batch ids and file names (``ticketnet-exchange-v1`` section 4)."""

from __future__ import annotations

import pytest

from reseller_sync.ticketnet.names import BatchId, FileName, FileType, NameKind, Stream


def test_names_of_a_batch() -> None:
    batch = BatchId(Stream.SALES, "PR04127", 42)

    assert str(batch) == "SALES_PR04127_00000042"
    assert batch.manifest_name == "SALES_PR04127_00000042.manifest.json"
    assert (
        batch.data_file_name(FileType.TRANSACTIONS, 1)
        == "SALES_PR04127_00000042.TRANSACTIONS.1.csv.gz"
    )
    with pytest.raises(ValueError, match="holds no"):
        batch.data_file_name(FileType.CATALOG, 1)


@pytest.mark.parametrize(
    ("name", "kind", "file_type", "part"),
    [
        ("SALES_PR04127_00000042.TRANSACTIONS.12.csv.gz", NameKind.DATA, FileType.TRANSACTIONS, 12),
        ("OFFER_PR04127_00000007.ack.json", NameKind.ACK, None, None),
        ("INVENTORY_PR00001_00000003.manifest.json", NameKind.MANIFEST, None, None),
    ],
)
def test_defined_names_parse(
    name: str, kind: NameKind, file_type: FileType | None, part: int | None
) -> None:
    parsed = FileName.parse(name)

    assert parsed is not None
    assert (parsed.kind, parsed.type, parsed.part) == (kind, file_type, part)
    assert str(parsed) == name


@pytest.mark.parametrize(
    "name",
    [
        "SALES_PR04127_00000042.TRANSACTIONS.1.csv.gz.tmp",
        "SALES_PR04127_00000042.TRANSACTIONS.01.csv.gz",
        "SALES_PR04127_00000042.TRANSACTIONS.0.csv.gz",
        "SALES_PR4127_00000042.manifest.json",
        "SALES_PR04127_0000042.manifest.json",
        "SALES_PR04127_00000000.manifest.json",
        "REFUNDS_PR04127_00000042.manifest.json",
        "SALES_PR04127_00000042.FOO.1.csv.gz",
        "sales_PR04127_00000042.manifest.json",
    ],
)
def test_other_names_are_ignored(name: str) -> None:
    assert FileName.parse(name) is None
