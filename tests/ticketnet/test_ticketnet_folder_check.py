"""Checks across records and batches of a folder (``ticketnet-exchange-v1`` 7.1, 7.3,
9.1, 10.2): R07, R08, R09, R14, R15, R16, R19, R20, R21 and R22."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from reseller_sync.ticketnet.check import CheckReport, check_paths
from reseller_sync.ticketnet.errors import Code
from reseller_sync.ticketnet.names import BatchId, FileType, Stream
from reseller_sync.ticketnet.writer import build_batch
from tests.ticketnet.ticketnet_samples import (
    OFFER_BATCH,
    ack_document,
    gz,
    refund,
    sale,
    write_sales,
)

SOLD = sale(transaction_id="TX1", line_id="1")
SOLD_2 = sale(transaction_id="TX1", line_id="2", seat="13", barcode="8142000000000418")


def codes(report: CheckReport) -> list[tuple[Code, str, int, str | None]]:
    return [(p.code, Path(p.file or "").name, p.line or 0, p.column) for p in report.problems]


def data_file(number: int) -> str:
    return f"SALES_PR04127_{number:08d}.TRANSACTIONS.1.csv.gz"


def test_valid_stream_from_batch_1(tmp_path: Path) -> None:
    write_sales(tmp_path, 1, [SOLD, SOLD_2])
    write_sales(tmp_path, 2, [refund(SOLD), sale(transaction_id="TX2", barcode="8142000000000500")])

    report = check_paths([tmp_path])

    assert report.valid
    assert [o.summary for o in report.outcomes] == [
        "valid SALES batch 1: TRANSACTIONS 2 records in 1 part",
        "valid SALES batch 2: TRANSACTIONS 2 records in 1 part",
    ]


def test_r07_a_gap_before_a_later_batch(tmp_path: Path) -> None:
    write_sales(tmp_path, 1, [SOLD])
    write_sales(tmp_path, 3, [SOLD_2])
    write_sales(tmp_path, 4, [sale(transaction_id="TX4")])
    write_sales(tmp_path, 5, [sale(transaction_id="TX5")])
    (tmp_path / "SALES_PR04127_00000004.manifest.json").unlink()

    report = check_paths([tmp_path])

    assert codes(report) == [
        (Code.R07, "SALES_PR04127_00000002.manifest.json", 0, None),
        (Code.R07, "SALES_PR04127_00000004.manifest.json", 0, None),
    ]
    reasons = [p.reason for p in report.problems]
    assert "is missing (no manifest, no data file)" in reasons[0]
    assert "has data files but no manifest" in reasons[1]
    summaries = {o.path.name: o.summary for o in report.outcomes if o.summary}
    assert summaries["SALES_PR04127_00000003.manifest.json"].endswith(
        "waits behind batch 2: checks across batches not run"
    )


def test_a_batch_in_progress_after_the_last_manifest_is_no_gap(tmp_path: Path) -> None:
    write_sales(tmp_path, 1, [SOLD])
    (tmp_path / data_file(2)).write_bytes(gz("x\n"))

    assert check_paths([tmp_path]).valid


def test_r08_one_batch_id_with_two_different_manifests(tmp_path: Path) -> None:
    write_sales(tmp_path / "a", 1, [SOLD])
    write_sales(tmp_path / "b", 1, [SOLD_2])
    shutil.copytree(tmp_path / "a", tmp_path / "c")

    report = check_paths([tmp_path / "a", tmp_path / "b", tmp_path / "c"])

    assert codes(report) == [(Code.R08, "SALES_PR04127_00000001.manifest.json", 0, None)]
    assert str(tmp_path / "b") in (report.problems[0].file or "")


def test_r16_a_record_repeated_with_other_content(tmp_path: Path) -> None:
    write_sales(tmp_path, 1, [SOLD, dict(SOLD, buyer_email="other@example.org")])
    write_sales(tmp_path, 2, [SOLD, dict(SOLD_2, amount="1.00")])
    write_sales(tmp_path, 3, [dict(SOLD_2, attendee_first_name="Zoé")])

    report = check_paths([tmp_path])

    # Batch 1: an identical repeat (buyer columns aside) is skipped; batch 2: SOLD is a repeated
    # delivery, SOLD_2 a new line of TX1 (R20); batch 3 waits behind batch 2.
    assert codes(report) == [(Code.R20, data_file(2), 2, "transaction_id")]
    assert "applied in an earlier batch 1" in report.problems[0].reason


def test_r16_within_a_batch_and_against_an_earlier_one(tmp_path: Path) -> None:
    write_sales(tmp_path, 1, [SOLD, SOLD_2])
    write_sales(tmp_path, 2, [dict(SOLD, amount="1.00"), dict(SOLD_2, fees="0.00")])

    report = check_paths([tmp_path])
    assert codes(report) == [
        (Code.R16, data_file(2), 1, "transaction_id"),
        (Code.R16, data_file(2), 2, "transaction_id"),
    ]

    other = tmp_path / "other"
    write_sales(other, 1, [SOLD, dict(SOLD, amount="1.00")])
    assert codes(check_paths([other])) == [(Code.R16, data_file(1), 2, "transaction_id")]


def test_r20_mixed_types_test_flags_and_several_sales(tmp_path: Path) -> None:
    other_sale = sale(transaction_id="TX2", barcode="8142000000000500")
    write_sales(
        tmp_path,
        1,
        [
            SOLD,
            dict(SOLD_2, test="true"),
            other_sale,
            refund(SOLD, transaction_id="RF1"),
            refund(other_sale, transaction_id="RF1", line_id="2"),
            dict(refund(SOLD_2, transaction_id="TX3"), line_id="2"),
            sale(transaction_id="TX3", barcode="8142000000000501"),
        ],
    )

    report = check_paths([tmp_path])

    assert (Code.R20, data_file(1), 2, "test") in codes(report)
    assert (Code.R20, data_file(1), 5, "original_transaction_id") in codes(report)
    assert (Code.R20, data_file(1), 7, "type") in codes(report)


def test_r14_r15_r19_refunds_against_their_sales(tmp_path: Path) -> None:
    write_sales(tmp_path, 1, [SOLD, SOLD_2])
    write_sales(
        tmp_path,
        2,
        [
            refund(SOLD, transaction_id="RF1"),
            refund(SOLD, transaction_id="RF2"),
            refund(sale(transaction_id="TX9"), transaction_id="RF3"),
            refund(SOLD_2, transaction_id="RF4", seat="99", amount="99.00"),
        ],
    )

    report = check_paths([tmp_path])

    assert codes(report) == [
        (Code.R15, data_file(2), 2, "original_line_id"),
        (Code.R14, data_file(2), 3, "original_transaction_id"),
        (Code.R19, data_file(2), 4, "seat"),
        (Code.R19, data_file(2), 4, "amount"),
    ]


def test_r14_needs_the_stream_from_batch_1(tmp_path: Path) -> None:
    write_sales(tmp_path, 7, [refund(sale(transaction_id="TX9"))])

    report = check_paths([tmp_path])

    assert report.valid
    assert report.outcomes[0].summary is not None
    assert "1 refund record(s) of sales outside the batches checked" in report.outcomes[0].summary


def test_a_sale_and_its_refund_in_one_batch_refund_first(tmp_path: Path) -> None:
    write_sales(tmp_path, 1, [refund(SOLD), SOLD])

    assert check_paths([tmp_path]).valid


def test_r09_currency_other_than_eur(tmp_path: Path) -> None:
    write_sales(tmp_path, 1, [sale(currency="USD")])

    assert codes(check_paths([tmp_path])) == [(Code.R09, data_file(1), 1, "currency")]


def _inventory(folder: Path, inventory: list[dict[str, str]], seats: list[dict[str, str]]) -> None:
    def columns(records: list[dict[str, str]], names: list[str]) -> dict[str, list[str]]:
        return {name: [r.get(name, "") for r in records] for name in names}

    inventory_columns = (
        "event_id performance_id price_level section area allocated sold available snapshot_at"
    )
    seat_columns = "event_id performance_id price_level section row seat status"
    build_batch(
        BatchId(Stream.INVENTORY, "PR04127", 1),
        {
            FileType.INVENTORY: columns(inventory, inventory_columns.split()),
            FileType.SEATS: columns(seats, seat_columns.split()),
        },
        created_at="2026-11-29T03:30:00+01:00",
        sales_batch=12,
    ).write_to(folder)


PERFORMANCE = {"event_id": "1A005F3C9B12E4D7", "performance_id": "P01"}
STAMP = "2026-11-29T03:20:00+01:00"


def _inventory_record(**values: str) -> dict[str, str]:
    return {**PERFORMANCE, "price_level": "1", "snapshot_at": STAMP, **values}


def _seat(seat: str, status: str = "AVAILABLE", section: str = "ORCH-A") -> dict[str, str]:
    return {
        **PERFORMANCE,
        "price_level": "1",
        "section": section,
        "row": "F",
        "seat": seat,
        "status": status,
    }


def test_consistent_inventory(tmp_path: Path) -> None:
    _inventory(
        tmp_path,
        [
            _inventory_record(section="ORCH-A", allocated="2", sold="1", available="1"),
            _inventory_record(
                price_level="FO", area="FOSSE", allocated="300", sold="0", available="300"
            ),
        ],
        [_seat("12", "SOLD"), _seat("13")],
    )

    report = check_paths([tmp_path])

    assert report.valid, report.problems
    assert report.outcomes[0].summary == (
        "valid INVENTORY batch 1: INVENTORY 2 records in 1 part, SEATS 2 records in 1 part"
    )


def test_r21_inventory_inconsistencies(tmp_path: Path) -> None:
    _inventory(
        tmp_path,
        [
            _inventory_record(section="ORCH-A", allocated="3", sold="2", available="1"),
            _inventory_record(area="FOSSE", allocated="300", sold="0", available="30"),
            _inventory_record(
                section="ORCH-B", area="FOSSE", allocated="0", sold="0", available="0"
            ),
            _inventory_record(
                section="ORCH-C",
                allocated="0",
                sold="0",
                available="0",
                snapshot_at="2026-11-29T03:21:00+01:00",
            ),
        ],
        [_seat("12", "SOLD"), _seat("13"), _seat("13"), _seat("1", section="BALCON")],
    )

    report = check_paths([tmp_path])

    inventory = "INVENTORY_PR04127_00000001.INVENTORY.1.csv.gz"
    seats = "INVENTORY_PR04127_00000001.SEATS.1.csv.gz"
    assert sorted(codes(report), key=lambda c: (c[1], c[2], c[3] or "")) == [
        (Code.R21, inventory, 1, "sold"),
        (Code.R21, inventory, 2, "available"),
        (Code.R21, inventory, 3, "area"),
        (Code.R21, inventory, 4, "snapshot_at"),
        (Code.R21, seats, 3, "seat"),
        (Code.R21, seats, 4, "section"),
    ]


def test_r22_acks_unreadable_or_matching_no_batch_sent(tmp_path: Path) -> None:
    sha = "d" * 64
    (tmp_path / f"{OFFER_BATCH}.ack.json").write_text(json.dumps(ack_document(sha))[:-20])
    good = tmp_path / "good"
    good.mkdir()
    (good / f"{OFFER_BATCH}.ack.json").write_text(json.dumps(ack_document(sha)))

    report = check_paths([tmp_path, good])

    assert codes(report) == [(Code.R22, f"{OFFER_BATCH}.ack.json", 0, "-")]
    assert report.outcomes[1].summary == (
        f"valid ACK of {OFFER_BATCH}: PARTIAL, 2 files, the batch answered is not among the "
        "paths checked"
    )


def test_r22_an_ack_for_another_manifest_of_a_batch_sent(tmp_path: Path) -> None:
    built = build_batch(
        BatchId.parse(OFFER_BATCH) or BatchId(Stream.OFFER, "PR04127", 7),
        {
            FileType.ALLOCATION: {
                "event_id": ["1A005F3C9B12E4D7"],
                "performance_id": ["P01"],
                "price_level": ["FO"],
                "area": ["FOSSE"],
                "quantity": ["300"],
            }
        },
        created_at="2026-11-28T14:00:00+01:00",
    )
    built.write_to(tmp_path)
    (tmp_path / f"{OFFER_BATCH}.ack.json").write_text(json.dumps(ack_document("e" * 64)))

    report = check_paths([tmp_path])

    assert codes(report) == [(Code.R22, f"{OFFER_BATCH}.ack.json", 0, "manifest_sha256")]

    document = ack_document(built.manifest_sha256)
    (tmp_path / f"{OFFER_BATCH}.ack.json").write_text(json.dumps(document))
    assert check_paths([tmp_path]).valid


def test_problems_across_records_are_capped(tmp_path: Path) -> None:
    records = [
        sale(transaction_id=f"TX{n}", barcode=f"81420000{n:08d}", currency="USD")
        for n in range(150)
    ]
    write_sales(tmp_path, 1, records)

    problems = check_paths([tmp_path]).problems

    assert len(problems) == 101
    assert {p.code for p in problems} == {Code.R09}
    assert problems[-1].reason == "and 50 more problems"
