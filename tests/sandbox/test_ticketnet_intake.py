"""Ticketnet's sandbox answering the organiser's OFFER batches (ticketnet-exchange-v1
sections 6, 8 and 9.2): batches built by the codec's writer, ACKs read by the codec."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from devtools.sandboxes.ticketnet import TicketnetPartner
from devtools.sandboxes.ticketnet.intake import apply_catalog
from devtools.sandboxes.ticketnet.state import PartnerState, PriceType
from devtools.sandboxes.ticketnet.venues import VenueBook
from reseller_sync.ticketnet.ack import parse_ack
from reseller_sync.ticketnet.check import check_paths
from reseller_sync.ticketnet.errors import BatchRefusedError
from reseller_sync.ticketnet.names import FileType
from tests.sandbox.ticketnet_offers import (
    TOSCA_PRICES,
    ack_of,
    catalog,
    offer,
    onboard,
    place,
    send,
)

NOW = datetime(2026, 11, 28, 13, 10, tzinfo=UTC)


@pytest.fixture
def partner(tmp_path: Path) -> TicketnetPartner:
    return TicketnetPartner(tmp_path, clock=lambda: NOW, seed=11)


def test_a_catalog_creates_events_and_performances_and_the_ack_gives_their_ids(
    partner: TicketnetPartner,
) -> None:
    records = catalog() + catalog("TOSCA27-0315", starts_at="2027-03-15T20:30:00+01:00")
    built = offer(1, {FileType.CATALOG: records})
    send(partner, built)

    [answer] = partner.process_offers()

    assert (answer.status, answer.codes) == ("ACCEPTED", ())
    ack = ack_of(partner, 1)
    assert ack.manifest_sha256 == built.manifest_sha256
    [file] = ack.files
    assert (file.status, file.accepted, file.rejected, file.records) == ("ACCEPTED", 10, 0, 10)
    first, second = file.ids
    assert first.event_id == second.event_id
    assert len(first.event_id) == 16
    assert set(first.event_id) <= set("0123456789ABCDEF")
    assert (first.performance_id, second.performance_id) == ("P01", "P02")
    assert (first.org_performance_code, second.org_performance_code) == (
        "TOSCA27-0314",
        "TOSCA27-0315",
    )
    # Moved to the archive, data files first, manifest last; nothing left to pick up.
    assert sorted(p.name for p in partner.inbox_archive.iterdir()) == sorted(
        [*built.files, built.manifest.name]
    )
    assert list(partner.inbox.iterdir()) == []
    assert check_paths([partner.outbox]).valid
    # The same CATALOG again keeps the ids (a performance is keyed on the organiser's codes).
    send(partner, offer(2, {FileType.CATALOG: records}))
    partner.process_offers()
    assert ack_of(partner, 2).files[0].ids == file.ids


def test_allocation_and_release_records_are_answered_one_by_one(
    partner: TicketnetPartner,
) -> None:
    event_id, perf = onboard(partner)
    partner.emit_sales(0)
    allocation = [
        place(event_id, perf, "1", "ORCH-A", "F", "1"),  # A04: already Ticketnet's
        place(event_id, perf, "1", "ORCH-A", "G", "1"),  # accepted
        place(event_id, "P99", "1", "ORCH-A", "G", "2"),  # A01
        place(event_id, perf, "1", "ORCH-A", "Z", "1"),  # A02: no row Z
        place(event_id, perf, "FO", area="FOSSE", quantity=2971),  # A02: over the capacity
        place(event_id, perf, "9", "ORCH-A", "G", "3"),  # A03: level 9 not on sale
        place(event_id, perf, "2", "ORCH-A", "F", "2"),  # A03: the seat is at level 1
    ]
    release = [
        place(event_id, perf, "1", "ORCH-A", "F", "3"),  # released
        place(event_id, perf, "1", "ORCH-A", "H", "1"),  # A07: not in the allocation
        place(event_id, perf, "FO", area="FOSSE", quantity=31),  # A06: 30 available
        place(event_id, perf, "FO", area="FOSSE", quantity=10),  # released
    ]
    send(partner, offer(3, {FileType.ALLOCATION: allocation, FileType.RELEASE: release}))

    [answer] = partner.process_offers()

    ack = ack_of(partner, 3)
    assert ack.status == "PARTIAL"
    allocated, released = ack.files
    assert (allocated.type, allocated.status, allocated.accepted, allocated.rejected) == (
        "ALLOCATION",
        "PARTIAL",
        1,
        6,
    )
    assert [(e.record, e.code) for e in allocated.errors] == [
        (1, "A04"),
        (3, "A01"),
        (4, "A02"),
        (5, "A02"),
        (6, "A03"),
        (7, "A03"),
    ]
    assert [(e.record, e.code, e.available) for e in released.errors] == [
        (2, "A07", None),
        (3, "A06", 30),
    ]
    assert (released.accepted, released.rejected) == (2, 2)
    assert answer.codes == ("A04", "A01", "A02", "A02", "A03", "A03", "A07", "A06")
    state = partner.snapshot()
    assert f"{event_id}|{perf}|ORCH-A|G|1" in state.seats
    assert f"{event_id}|{perf}|ORCH-A|F|3" not in state.seats
    assert state.areas[f"{event_id}|{perf}|FOSSE"].allocated == 20


def test_a_sold_seat_is_not_released(partner: TicketnetPartner) -> None:
    event_id, perf = onboard(partner)
    partner.emit_sales(25)
    sold = [s for s in partner.snapshot().seats.values() if s.sold]
    assert sold
    seat = sold[0]
    record = place(event_id, perf, seat.price_level, seat.section, seat.row, seat.seat)
    send(partner, offer(3, {FileType.RELEASE: [record]}))
    partner.process_offers()
    [file] = ack_of(partner, 3).files
    assert [(e.record, e.code) for e in file.errors] == [(1, "A05")]
    assert (file.status, ack_of(partner, 3).status) == ("REJECTED", "PARTIAL")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"venue_code": "OLYMPIA"}, "C02"),
        ({"price_type": "VIP"}, "C03"),
        ({"currency": "CHF"}, "C04"),
        ({"sale_ends_at": "2026-10-01T10:00:00+01:00"}, "C05"),
        ({"sale_ends_at": "2027-03-14T21:00:00+01:00"}, "C05"),
        ({"event_name": "Tosca (reprise)"}, "C06"),
    ],
)
def test_a_catalog_with_one_bad_record_is_refused_whole(
    partner: TicketnetPartner, change: dict[str, str], code: str
) -> None:
    records = catalog()
    records[2] = {**records[2], **change}
    send(partner, offer(1, {FileType.CATALOG: records}))

    [answer] = partner.process_offers()

    ack = ack_of(partner, 1)
    [file] = ack.files
    assert (ack.status, file.status, file.accepted, file.rejected) == (
        "PARTIAL",
        "REJECTED",
        0,
        len(records),
    )
    assert [(e.record, e.code) for e in file.errors] == [(3, code)]
    assert file.ids == ()
    assert answer.codes == (code,)
    assert partner.snapshot().performances == {}


def test_c06_for_a_price_pair_twice_c03_for_an_inactive_type_c02_for_a_moved_performance(
    partner: TicketnetPartner,
) -> None:
    records = catalog()
    send(partner, offer(1, {FileType.CATALOG: [*records, {**records[0], "amount": "70.00"}]}))
    partner.process_offers()
    assert [(e.record, e.code) for e in ack_of(partner, 1).files[0].errors] == [(6, "C06")]

    partner.emit_pricetypes(deactivate=["CSE"])
    send(partner, offer(2, {FileType.CATALOG: records}))
    partner.process_offers()
    assert [e.code for e in ack_of(partner, 2).files[0].errors] == ["C03"]

    prices = {k: v for k, v in TOSCA_PRICES.items() if k[1] != "CSE"}
    send(partner, offer(3, {FileType.CATALOG: catalog(prices=prices)}))
    partner.process_offers()
    assert ack_of(partner, 3).status == "ACCEPTED"
    moved = catalog(prices=prices, venue_code="ZENITH-PARIS-B")
    send(partner, offer(4, {FileType.CATALOG: moved}))
    partner.process_offers()
    assert {e.code for e in ack_of(partner, 4).files[0].errors} == {"C02"}


def test_c01_a_kind_ticketnet_does_not_sell() -> None:
    """The codec refuses such a kind at verification (B06); the rule holds all the same."""
    state = PartnerState("PR04127", price_types={"ADULT": PriceType("Plein", True, "x")})
    rows = catalog(prices={("1", "ADULT"): "10.00"}, event_kind="SUBSCRIPTION")
    table = pa.Table.from_pylist(rows)
    refusals, ids = apply_catalog(state, VenueBook.default(), table, lambda: "0" * 16)
    assert [(r.record, r.code) for r in refusals] == [(1, "C01")]
    assert ids == ()


def test_a_batch_failing_verification_is_rejected_whole_and_its_number_used(
    partner: TicketnetPartner,
) -> None:
    built = offer(1, {FileType.CATALOG: catalog()})
    [(name, data)] = built.files.items()
    (partner.inbox / name).write_bytes(data[:-8] + b"\0" * 8)  # B03: another SHA-256
    (partner.inbox / built.manifest.name).write_bytes(built.manifest_bytes)

    [answer] = partner.process_offers()

    ack = ack_of(partner, 1)
    assert (ack.status, answer.codes) == ("REJECTED", ("B03",))
    assert ack.error is not None
    assert ack.error.file == name
    assert [(f.status, f.accepted, f.rejected) for f in ack.files] == [("REJECTED", 0, 5)]
    assert partner.snapshot().performances == {}
    # The number is used: the corrected content comes as batch 2.
    send(partner, offer(2, {FileType.CATALOG: catalog()}))
    assert [a.status for a in partner.process_offers()] == ["ACCEPTED"]


@pytest.mark.parametrize("code", ["B01", "B02", "B04", "B05", "B06"])
def test_each_verification_step_gives_its_code(partner: TicketnetPartner, code: str) -> None:
    built = offer(1, {FileType.CATALOG: catalog()})
    [(name, data)] = built.files.items()
    manifest = json.loads(built.manifest_bytes)
    if code == "B01":
        manifest["manifest_version"] = 2
    elif code == "B04":
        manifest["files"][0]["records"] = 6
    elif code == "B05":
        (partner.inbox / name.replace(".1.", ".2.")).write_bytes(data)
    elif code == "B06":
        data = gzip.compress(gzip.decompress(data).replace(b"68.50", b"68.5"))
        manifest["files"][0]["sha256"] = hashlib.sha256(data).hexdigest()
    if code != "B02":
        (partner.inbox / name).write_bytes(data)
    (partner.inbox / built.manifest.name).write_text(json.dumps(manifest))

    [answer] = partner.process_offers()

    ack = ack_of(partner, 1)
    assert (ack.status, answer.codes) == ("REJECTED", (code,))
    assert len(ack.files) == (0 if code == "B01" else 1)


def test_batches_wait_for_their_predecessor_and_their_manifest(
    partner: TicketnetPartner,
) -> None:
    first = offer(1, {FileType.CATALOG: catalog()})
    second = offer(2, {FileType.CATALOG: catalog("TOSCA27-0316")})
    send(partner, second)
    for name, data in first.files.items():  # batch 1: data files, no manifest yet
        (partner.inbox / name).write_bytes(data)
    assert partner.process_offers() == []
    assert not list(partner.outbox.iterdir())
    (partner.inbox / first.manifest.name).write_bytes(first.manifest_bytes)
    assert [a.batch for a in partner.process_offers()] == [
        "OFFER_PR04127_00000001",
        "OFFER_PR04127_00000002",
    ]


def test_a_repeated_number_is_b07_unless_the_very_manifest(partner: TicketnetPartner) -> None:
    built = offer(1, {FileType.CATALOG: catalog()})
    send(partner, built)
    partner.process_offers()
    first_ack = (partner.outbox / built.manifest.name.replace("manifest", "ack")).read_bytes()

    send(partner, built)  # the same delivery again: ignored
    assert [(a.status, a.ack) for a in partner.process_offers()] == [("IGNORED", None)]
    assert ack_of(partner, 1).status == "ACCEPTED"

    other = offer(1, {FileType.CATALOG: catalog("TOSCA27-0399")})
    send(partner, other)
    [answer] = partner.process_offers()
    assert (answer.status, answer.codes) == ("REJECTED", ("B07",))
    ack = ack_of(partner, 1)
    assert (
        ack.manifest_sha256
        == other.manifest_sha256
        != parse_ack(ack.name, first_ack).manifest_sha256
    )
    assert len(partner.snapshot().performances) == 1


def test_ack_faults_unreadable_r22_and_technical_error_z99(partner: TicketnetPartner) -> None:
    send(partner, offer(1, {FileType.CATALOG: catalog()}))
    partner.process_offers("unreadable-ack")
    name = "OFFER_PR04127_00000001.ack.json"
    with pytest.raises(BatchRefusedError) as refused:
        parse_ack(name, (partner.outbox / name).read_bytes())
    assert refused.value.code == "R22"
    assert {p.code for p in check_paths([partner.outbox]).problems} == {"R22"}

    send(partner, offer(2, {FileType.CATALOG: catalog("TOSCA27-0316")}))
    [answer] = partner.process_offers("technical-error")
    assert (answer.status, answer.codes) == ("REJECTED", ("Z99",))
    assert [p.org_performance_code for p in partner.snapshot().performances.values()] == [
        "TOSCA27-0314"
    ]
