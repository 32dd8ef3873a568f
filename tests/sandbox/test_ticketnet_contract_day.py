"""Ticketnet's day of sales for the contract suite (``devtools/sandboxes/ticketnet/contract.py``)
on the demo box office: the same for the same seed, valid for ``ticketnet check``, selling
and refunding, every buyer value it gives written in its files; and integrated with the
instance's settings and mappings, the tickets sold less those refunded."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from devtools.sandboxes.ticketnet.contract import DayOfSales, a_day_of_sales
from reseller_sync.boxoffice.models import Ticket, TicketState
from reseller_sync.cli import main
from reseller_sync.ticketnet.ack import Ack, AckStatus, parse_ack
from reseller_sync.ticketnet.check import check_paths
from reseller_sync.ticketnet.identifiers import PartnerPerformances, record_ack_ids
from reseller_sync.ticketnet.lines import batch_lines, integration_settings
from reseller_sync.ticketnet.manifest import sha256_hex
from reseller_sync.ticketnet.mappings import load_mappings
from reseller_sync.ticketnet.names import FileName, FileType, NameKind, Stream
from reseller_sync.ticketnet.reader import FolderSource, read_batch
from reseller_sync.ticketnet.schema import is_buyer_column
from reseller_sync.ticketnet.settings import load_settings

SEED = 11
Record = dict[str, str]


_DAYS: dict[str, DayOfSales] = {}


@pytest.fixture
def day(demo_session: Session, tmp_path_factory: pytest.TempPathFactory) -> DayOfSales:
    """The day on the demo box office, played once per database kind."""
    kind = demo_session.get_bind().dialect.name
    if kind not in _DAYS:
        _DAYS[kind] = a_day_of_sales(tmp_path_factory.mktemp("ticketnet"), demo_session, seed=SEED)
    return _DAYS[kind]


def names(files: tuple[tuple[str, bytes], ...]) -> list[str]:
    return [name for name, _ in files]


def transactions(day: DayOfSales) -> dict[int, list[Record]]:
    """The TRANSACTIONS records of each SALES batch, by batch number."""
    found: dict[int, list[Record]] = {}
    for name, content in day.files:
        parsed = FileName.parse(name)
        if parsed is not None and parsed.type is FileType.TRANSACTIONS:
            text = gzip.decompress(content).decode("utf-8")
            found.setdefault(parsed.batch.number, []).extend(
                csv.DictReader(io.StringIO(text, newline=""))
            )
    return found


def written(day: DayOfSales, folder: Path, *, sent: bool = True) -> Path:
    """The day's inbound files, and the OFFER batches sent unless told, in one folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in (*(day.sent if sent else ()), *day.files):
        (folder / name).write_bytes(content)
    return folder


def test_the_same_box_office_and_seed_give_the_same_bytes(
    demo_session: Session, day: DayOfSales, tmp_path: Path
) -> None:
    again = a_day_of_sales(tmp_path / "again", demo_session, seed=SEED)
    other = a_day_of_sales(tmp_path / "other", demo_session, seed=SEED + 1)

    assert again == day
    assert names(other.files) == names(day.files)
    assert other.sent[:2] == day.sent[:2], "the CATALOG depends on the box office only"
    assert other.sent[2:] != day.sent[2:], "Ticketnet's event id depends on the seed"
    assert transactions(other) != transactions(day), "the sales depend on the seed"


def test_the_files_come_in_integration_order_acks_first(day: DayOfSales) -> None:
    assert names(day.sent) == [
        "OFFER_PR04127_00000001.CATALOG.1.csv.gz",
        "OFFER_PR04127_00000001.manifest.json",
        "OFFER_PR04127_00000002.ALLOCATION.1.csv.gz",
        "OFFER_PR04127_00000002.manifest.json",
    ]
    assert names(day.files) == [
        "OFFER_PR04127_00000001.ack.json",
        "OFFER_PR04127_00000002.ack.json",
        "PRICETYPES_PR04127_00000001.PRICETYPES.1.csv.gz",
        "PRICETYPES_PR04127_00000001.manifest.json",
        *(
            name
            for number in range(1, 5)
            for name in (
                f"SALES_PR04127_{number:08d}.TRANSACTIONS.1.csv.gz",
                f"SALES_PR04127_{number:08d}.manifest.json",
            )
        ),
    ]


def acks(day: DayOfSales) -> list[Ack]:
    return [parse_ack(name, content) for name, content in day.files if kind(name) is NameKind.ACK]


def kind(name: str) -> NameKind:
    parsed = FileName.parse(name)
    assert parsed is not None, f"{name} is not a name of ticketnet-exchange-v1"
    return parsed.kind


def test_ticketnet_accepts_the_concert_whole_and_gives_its_ids(day: DayOfSales) -> None:
    sent = dict(day.sent)
    answers = acks(day)

    assert [ack.status for ack in answers] == [AckStatus.ACCEPTED, AckStatus.ACCEPTED]
    for ack in answers:
        assert ack.manifest_sha256 == sha256_hex(sent[ack.batch.manifest_name])
    catalog, allocation = (file for ack in answers for file in ack.files)
    assert (catalog.type, catalog.rejected) == (FileType.CATALOG, 0)
    assert [(i.org_event_code, i.org_performance_code, i.performance_id) for i in catalog.ids] == [
        ("EVT-LUMEN", "S1", "P01"),
        ("EVT-LUMEN", "S2", "P02"),
        ("EVT-LUMEN", "S3", "P03"),
    ]
    # Ticketnet's quota, every performance: rows 1 and 2 of P3 (50 seats) and the pit.
    assert (allocation.type, allocation.accepted, allocation.rejected) == (
        FileType.ALLOCATION,
        3 * (50 + 1),
        0,
    )


def test_ticketnet_check_finds_every_batch_and_ack_valid(
    day: DayOfSales, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inbound = written(day, tmp_path / "from_ticketnet", sent=False)
    folder = written(day, tmp_path / "exchange")

    assert check_paths([inbound]).valid
    report = check_paths([folder])  # each ACK matched with the OFFER batch it answers

    assert report.valid, [problem.located() for problem in report.problems]
    checked = sorted(outcome.path.name for outcome in report.outcomes)
    assert checked == sorted(
        name for name in (*names(day.sent), *names(day.files)) if not name.endswith(".csv.gz")
    )
    assert main(["ticketnet", "check", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "valid PRICETYPES batch 1" in out
    assert "valid SALES batch 4" in out


def test_the_day_sells_and_refunds_in_its_own_batch_and_later(day: DayOfSales) -> None:
    batches = transactions(day)
    sales = {
        (r["transaction_id"], r["line_id"]): number
        for number, records in batches.items()
        for r in records
        if r["type"] == "SALE"
    }
    refunds = [
        (number, sales[(r["original_transaction_id"], r["original_line_id"])])
        for number, records in batches.items()
        for r in records
        if r["type"] == "REFUND"
    ]

    assert sorted(batches) == [1, 2, 3, 4]
    assert [number for number, records in batches.items() if not records] == [3]
    assert len(sales) > len(refunds) > 0
    assert any(refund == sale for refund, sale in refunds), "no sale refunded in its own batch"
    assert any(refund > sale for refund, sale in refunds), "no sale of an earlier batch refunded"
    assert {r["test"] for records in batches.values() for r in records} == {"false"}


def test_every_buyer_value_it_gives_is_in_its_files(day: DayOfSales) -> None:
    in_files = {
        value
        for records in transactions(day).values()
        for record in records
        for column, value in record.items()
        if is_buyer_column(column) and value
    }

    assert day.buyer_contacts
    assert in_files == set(day.buyer_contacts)
    assert any("@" in value for value in day.buyer_contacts)


def test_integrated_with_the_instance_s_mappings_the_day_gives_the_tickets_sold_less_refunded(
    day: DayOfSales, demo_session: Session, tmp_path: Path
) -> None:
    """With the instance's settings and mappings and Ticketnet's ids from the ACKs, the
    codec's lines of each SALES batch integrate with no problem: each sale a valid ticket,
    each refunded one cancelled."""
    folder = written(day, tmp_path / "exchange")
    settings, repository = load_settings(), load_mappings()
    for ack in acks(day):
        record_ack_ids(demo_session, ack)
    performances = PartnerPerformances.load(demo_session)
    for name, _ in day.files:
        parsed = FileName.parse(name)
        assert parsed is not None
        if parsed.kind is NameKind.MANIFEST and parsed.batch.stream is Stream.SALES:
            batch = read_batch(FolderSource(folder), str(parsed.batch))
            lines = batch_lines(demo_session, settings, repository, performances, batch)
            lines.integrate(demo_session, integration_settings(settings))
    demo_session.flush()

    records = [r for batch in transactions(day).values() for r in batch]
    refunded = {r["barcode"] for r in records if r["type"] == "REFUND"}
    sold = {r["barcode"] for r in records if r["type"] == "SALE"}
    tickets: dict[TicketState, set[str]] = {}
    for barcode, state in demo_session.execute(
        select(Ticket.barcode, Ticket.state).where(Ticket.reseller_code == "ticketnet")
    ):
        tickets.setdefault(state, set()).add(barcode)
    assert tickets == {TicketState.VALID: sold - refunded, TicketState.CANCELLED: refunded}
