"""Ticketnet's sandbox writing its batches (ticketnet-exchange-v1 sections 3, 7 and 10.2):
every batch passes the codec's check, every fault gives exactly its code."""

from __future__ import annotations

import csv
import gzip
import io
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devtools.sandboxes.ticketnet import FAULT_CODES, Fault, SandboxError, TicketnetPartner
from devtools.sandboxes.ticketnet.partner import (
    ACK_FAULTS,
    BATCH_FAULTS,
    INVENTORY_FAULTS,
    SALES_FAULTS,
    UNREPLACEABLE,
)
from reseller_sync.ticketnet.check import check_paths
from reseller_sync.ticketnet.names import BatchId, FileName, FileType, NameKind, Stream
from reseller_sync.ticketnet.reader import FolderSource, read_batch
from tests.sandbox.ticketnet_offers import TOSCA_PRICES, onboard

START = datetime(2026, 11, 28, 13, 10, tzinfo=UTC)


class HourlyClock:
    """Ten past each hour, one hour further at each call of :meth:`next_hour`."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def next_hour(self) -> None:
        self.now += timedelta(hours=1)


@pytest.fixture
def hourly() -> HourlyClock:
    return HourlyClock()


@pytest.fixture
def partner(tmp_path: Path, hourly: HourlyClock) -> TicketnetPartner:
    return TicketnetPartner(tmp_path / "root", clock=hourly, seed=5)


def busy_day(partner: TicketnetPartner, clock: HourlyClock) -> None:
    """Onboarding, test tickets, then three hours of sales and refunds."""
    onboard(partner)
    partner.emit_tests()
    for tickets, refunds in ((6, 0), (5, 2), (0, 0)):
        clock.next_hour()
        partner.emit_sales(tickets, refunds)


def organiser_codes(partner: TicketnetPartner) -> set[str]:
    """The codes the organiser's reading gives: the codec's check, and for what needs the
    box office (R17 prices, R18 barcodes) the same rules against the CATALOG sent."""
    folders = [f for f in (partner.outbox_archive, partner.outbox) if any(f.iterdir())]
    report = check_paths(folders)
    assert not report.unreadable, report.unreadable
    codes = {str(problem.code) for problem in report.problems}
    if codes:
        return codes
    barcodes: set[str] = set()
    for number in range(1, 100):
        batch = BatchId(Stream.SALES, "PR04127", number)
        folder = next((f for f in folders if (f / batch.manifest_name).exists()), None)
        if folder is None:
            break
        table = read_batch(FolderSource(folder), batch).table(FileType.TRANSACTIONS)
        for record in table.to_pylist():
            if record["type"] != "SALE":
                continue
            if record["amount"] != TOSCA_PRICES[(record["price_level"], record["price_type"])]:
                codes.add("R17")
            if record["barcode"] in barcodes:
                codes.add("R18")
            barcodes.add(record["barcode"])
    return codes


def transactions(partner: TicketnetPartner) -> Iterator[dict[str, str]]:
    for number in range(1, partner.snapshot().numbers["SALES"] + 1):
        batch = read_batch(FolderSource(partner.outbox), BatchId(Stream.SALES, "PR04127", number))
        yield from batch.table(FileType.TRANSACTIONS).to_pylist()


def test_every_batch_passes_the_codec_check_and_follows_the_contract(
    partner: TicketnetPartner, hourly: HourlyClock
) -> None:
    busy_day(partner, hourly)
    partner.emit_test_refunds()
    partner.emit_pricetypes({"JEUNE": "Jeune (moins de 26 ans)"}, ["SENIOR"])
    partner.emit_inventory()

    report = check_paths([partner.outbox])
    assert report.valid, [str(p) for p in report.problems]
    assert organiser_codes(partner) == set()
    records = list(transactions(partner))
    sales = [r for r in records if r["type"] == "SALE"]
    # Test records: at least one per price level × price type of the CATALOG, all refunded.
    tests = [r for r in sales if r["test"] == "true"]
    assert {(r["price_level"], r["price_type"]) for r in tests} == set(TOSCA_PRICES)
    test_refunds = [r for r in records if r["refund_reason"] == "TEST"]
    assert len(test_refunds) == len(tests)
    # Prices, fees and barcodes.
    for sale in sales:
        assert sale["amount"] == TOSCA_PRICES[(sale["price_level"], sale["price_type"])]
        if sale["test"] == "false":
            assert int(sale["fees"].replace(".", "")) == round(
                int(sale["amount"].replace(".", "")) / 10
            )
    barcodes = [s["barcode"] for s in sales]
    assert len(set(barcodes)) == len(barcodes)
    assert all(b.isdigit() and 12 <= len(b) <= 20 for b in barcodes)
    refunds = [r for r in records if r["type"] == "REFUND" and r["test"] == "false"]
    assert refunds
    reasons = {r["refund_reason"] for r in refunds}
    assert reasons <= {"CUSTOMER", "OUTLET_ERROR", "PERFORMANCE_CANCELLED"}
    # The hourly batch is written even when nothing happened.
    empty = read_batch(FolderSource(partner.outbox), "SALES_PR04127_00000004")
    assert empty.table(FileType.TRANSACTIONS).num_rows == 0
    # INVENTORY: as of the last SALES batch; sold places are the sales not refunded.
    inventory = read_batch(FolderSource(partner.outbox), "INVENTORY_PR04127_00000001")
    assert inventory.manifest.sales_batch == 5
    sold = sum(int(r["sold"]) for r in inventory.table(FileType.INVENTORY).to_pylist())
    refunded = {(r["original_transaction_id"], r["original_line_id"]) for r in records}
    assert sold == sum((s["transaction_id"], s["line_id"]) not in refunded for s in sales)
    pricetypes = read_batch(FolderSource(partner.outbox), "PRICETYPES_PR04127_00000001")
    rows = pricetypes.table(FileType.PRICETYPES).to_pylist()
    listed = {r["price_type"]: r["active"] for r in rows}
    assert (listed["JEUNE"], listed["SENIOR"], listed["ADULT"]) == ("true", "false", "true")


def _inject(partner: TicketnetPartner, clock: HourlyClock, fault: Fault, stream: str) -> str:
    clock.next_hour()
    if fault in INVENTORY_FAULTS or stream == "INVENTORY":
        return partner.emit_inventory(fault)
    if stream == "PRICETYPES":
        return partner.emit_pricetypes(fault=fault)
    return partner.emit_sales(2, 1, fault=fault)


FILE_FAULTS = sorted(BATCH_FAULTS | SALES_FAULTS | INVENTORY_FAULTS)
CASES = [(fault, "SALES") for fault in FILE_FAULTS if fault not in INVENTORY_FAULTS] + [
    (Fault.INCONSISTENT_INVENTORY, "INVENTORY"),
    (Fault.SHA256, "INVENTORY"),
    (Fault.SYNTAX, "PRICETYPES"),
    (Fault.GAP, "PRICETYPES"),
]


@pytest.mark.parametrize(("fault", "stream"), CASES, ids=[f"{f}-{s}" for f, s in CASES])
def test_each_fault_gives_exactly_its_code(
    partner: TicketnetPartner, hourly: HourlyClock, fault: Fault, stream: str
) -> None:
    busy_day(partner, hourly)
    if stream == "PRICETYPES":
        partner.emit_pricetypes()
    if stream == "INVENTORY":
        partner.emit_inventory()
    if fault is Fault.REUSED_NUMBER:  # the organiser applied the last batch and archived it
        last = f"{stream}_PR04127_{partner.snapshot().numbers[stream]:08d}"
        for path in sorted(partner.outbox.glob(f"{last}.*"), key=lambda p: "manifest" in p.name):
            os.replace(path, partner.outbox_archive / path.name)
    assert organiser_codes(partner) == set()

    batch = _inject(partner, hourly, fault, stream)

    if fault is Fault.WITHHOLD_MANIFEST:  # R07 once a later batch exists (the gap's is one)
        assert organiser_codes(partner) == set()
        _inject(partner, hourly, None, stream)  # type: ignore[arg-type]
    assert organiser_codes(partner) == {FAULT_CODES[fault]}
    sent = partner.snapshot().sent_batch(batch)
    assert sent is not None
    assert sent.fault == fault.value

    # Ticketnet's mend: replace the batch (section 3 point 8), or upload what it held back.
    if fault in UNREPLACEABLE:
        with pytest.raises(SandboxError):
            partner.replace_batch(batch)
        return
    if fault is Fault.MANIFEST_FIRST:
        partner.release_withheld()
    else:
        partner.replace_batch(batch)
    assert organiser_codes(partner) == set()
    assert not list(partner.outbox.glob("*.tmp"))


def test_faults_apply_to_what_they_concern(partner: TicketnetPartner) -> None:
    assert set(Fault) == ACK_FAULTS | BATCH_FAULTS | SALES_FAULTS | INVENTORY_FAULTS
    with pytest.raises(SandboxError, match="does not concern"):
        partner.emit_inventory("currency")
    with pytest.raises(SandboxError, match="does not concern"):
        partner.emit_sales(fault="unreadable-ack")
    with pytest.raises(SandboxError, match="nothing left to sell"):
        partner.emit_sales(fault="price")
    assert partner.snapshot().numbers == {}, "a refused command changes nothing"


def test_a_batch_the_organiser_applied_is_never_replaced(
    partner: TicketnetPartner, hourly: HourlyClock
) -> None:
    busy_day(partner, hourly)
    batch = BatchId.parse("SALES_PR04127_00000002")
    assert batch is not None
    for path in sorted(partner.outbox.glob(f"{batch}.*"), key=lambda p: "manifest" in p.name):
        os.replace(path, partner.outbox_archive / path.name)
    with pytest.raises(SandboxError, match="has applied"):
        partner.replace_batch(str(batch))


def test_manifest_first_leaves_the_data_files_out_until_released(
    partner: TicketnetPartner, hourly: HourlyClock
) -> None:
    busy_day(partner, hourly)
    batch = partner.emit_sales(3, fault="manifest-first")
    names = {p.name for p in partner.outbox.glob(f"{batch}.*")}
    assert names == {f"{batch}.manifest.json"}
    assert partner.release_withheld() == [f"{batch}.TRANSACTIONS.1.csv.gz"]
    assert partner.release_withheld() == []


def _play(root: Path, seed: int) -> dict[str, bytes]:
    clock = HourlyClock()
    partner = TicketnetPartner(root, clock=clock, seed=seed)
    busy_day(partner, clock)
    partner.emit_sales(4, 2, fault="double-refund")
    partner.emit_inventory()
    return {p.name: p.read_bytes() for p in sorted(partner.outbox.iterdir())}


def test_the_same_seed_and_clock_give_the_same_files(tmp_path: Path) -> None:
    first = _play(tmp_path / "a", 42)
    assert first == _play(tmp_path / "b", 42)
    assert first != _play(tmp_path / "c", 43)


def test_buyer_values_are_in_the_sales_files_and_never_in_the_logs(
    partner: TicketnetPartner, hourly: HourlyClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        busy_day(partner, hourly)
        partner.emit_sales(8, 2, fault="repeated-record")
        partner.replace_batch("SALES_PR04127_00000005")
        partner.emit_inventory()
        report = check_paths([partner.outbox])
    contacts = partner.buyer_contacts
    assert contacts.emails
    assert contacts.phones
    assert contacts.postcodes
    text = b"".join(
        gzip.decompress(p.read_bytes()) for p in partner.outbox.glob("SALES_*.csv.gz")
    ).decode()
    for value in [*contacts.emails, *contacts.phones]:
        assert value in text
    postcodes = {
        row["buyer_postcode"]
        for path in partner.outbox.glob("SALES_*.csv.gz")
        for row in csv.DictReader(io.StringIO(gzip.decompress(path.read_bytes()).decode()))
    }
    assert set(contacts.postcodes) == postcodes - {""}
    logged = caplog.text + "\n".join(str(p) for p in report.problems)
    assert "Ticketnet wrote" in caplog.text
    for value in contacts.values():
        assert value not in logged


def test_file_names_follow_section_4(partner: TicketnetPartner, hourly: HourlyClock) -> None:
    busy_day(partner, hourly)
    for path in partner.outbox.iterdir():
        parsed = FileName.parse(path.name)
        assert parsed is not None, path.name
        assert parsed.kind is NameKind.ACK or parsed.batch.stream is not Stream.OFFER
