"""Ticketnet's names for the exchange layer, and the copy of a SALES part kept without its
buyer values (``ticketnet-exchange-v1`` sections 4 and 11). The contract every naming
follows is tested in tests/resellers/test_naming_contract.py."""

from __future__ import annotations

import gzip

import pytest

from reseller_sync.core.exchange import Sender, UnredactableFileError
from reseller_sync.ticketnet.names import FileType
from reseller_sync.ticketnet.naming import ACK_STREAM, NAMING
from reseller_sync.ticketnet.reader import read_data_file
from tests.ticketnet.ticketnet_samples import BUYER_VALUES, SALES_BATCH, SALES_CSV, SALES_FILE, gz


def test_a_batch_s_files_share_its_stream_and_number() -> None:
    manifest = NAMING.parse(f"{SALES_BATCH}.manifest.json")
    part = NAMING.parse(SALES_FILE)
    ack = NAMING.parse("OFFER_PR04127_00000007.ack.json")
    offer = NAMING.parse("OFFER_PR04127_00000007.ALLOCATION.1.csv.gz")
    assert manifest is not None
    assert part is not None
    assert ack is not None
    assert offer is not None

    assert (manifest.stream, manifest.sequence, manifest.sender) == ("SALES", 42, Sender.PARTNER)
    assert (part.stream, part.sequence, part.sender) == ("SALES", 42, Sender.PARTNER)
    assert (offer.stream, offer.sequence, offer.sender) == ("OFFER", 7, Sender.ORGANISER)
    assert (ack.stream, ack.sequence, ack.sender) == (ACK_STREAM, 7, Sender.PARTNER)
    assert str(ack.answers) == "OFFER_PR04127_00000007.manifest.json"
    assert NAMING.parse(SALES_FILE + ".tmp") is None
    assert NAMING.sequence_text(42) == "00000042"


def test_the_kept_copy_of_a_sales_part_has_no_buyer_value_and_reads_the_same() -> None:
    original = gz(SALES_CSV)

    kept = NAMING.redact(SALES_FILE, original)

    text = gzip.decompress(kept).decode()
    assert not any(value in text for value in BUYER_VALUES)
    assert text.splitlines()[0] == SALES_CSV.splitlines()[0]
    assert '"O\'Neil, Jr"' in text
    assert '"Centre commercial Rennes, accueil"' in text
    before = read_data_file(SALES_FILE, FileType.TRANSACTIONS, original).table
    after = read_data_file(SALES_FILE, FileType.TRANSACTIONS, kept).table
    assert after.equals(before)


def test_files_without_buyer_columns_are_kept_as_they_are() -> None:
    data = b"any bytes"
    assert NAMING.redact(f"{SALES_BATCH}.manifest.json", data) == data
    assert NAMING.redact("OFFER_PR04127_00000007.CATALOG.1.csv.gz", data) == data
    header_only = gz("transaction_id,line_id\n")
    assert NAMING.redact(SALES_FILE, header_only) == header_only


@pytest.mark.parametrize(
    "data",
    [
        SALES_CSV.encode(),
        gz(SALES_CSV)[:-20],
        gz(SALES_CSV.replace("Hélène", "H\xe9l\xe8ne").encode("latin-1")),
        gz(SALES_CSV.replace('"O\'Neil, Jr"', "\"O'Neil, Jr")),
        gz(b""),
    ],
    ids=["not gzip", "truncated", "not UTF-8", "quote never closed", "empty"],
)
def test_a_file_whose_buyer_values_cannot_be_located_is_not_kept(data: bytes) -> None:
    with pytest.raises(UnredactableFileError):
        NAMING.redact(SALES_FILE, data)
