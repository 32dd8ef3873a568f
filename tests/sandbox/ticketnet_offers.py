"""The organiser's side for the Ticketnet sandbox tests: OFFER batches built with the codec."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from devtools.sandboxes.ticketnet import TicketnetPartner
from reseller_sync.ticketnet.ack import Ack, parse_ack
from reseller_sync.ticketnet.names import BatchId, FileType, Stream
from reseller_sync.ticketnet.schema import column_names
from reseller_sync.ticketnet.writer import BuiltBatch, build_batch

PROMOTER = "PR04127"
CREATED_AT = "2026-11-28T13:00:00+01:00"
TOSCA_PRICES = {
    ("1", "ADULT"): "68.50",
    ("1", "CHILD"): "35.00",
    ("2", "ADULT"): "48.00",
    ("FO", "ADULT"): "45.00",
    ("FO", "CSE"): "40.00",
}
LEVEL_NAMES = {"1": "Catégorie 1", "2": "Catégorie 2", "FO": "Fosse"}


def catalog(
    performance: str = "TOSCA27-0314",
    *,
    event: str = "TOSCA27",
    prices: Mapping[tuple[str, str], str] = TOSCA_PRICES,
    starts_at: str = "2027-03-14T20:30:00+01:00",
    **changes: str,
) -> list[dict[str, str]]:
    """CATALOG records of one performance: its whole price table."""
    records = []
    for (level, price_type), amount in prices.items():
        record = {
            "org_event_code": event,
            "event_name": "Tosca",
            "event_kind": "EVENT",
            "org_performance_code": performance,
            "starts_at": starts_at,
            "venue_code": "ZENITH-PARIS-A",
            "venue_name": "Zénith Paris",
            "city": "Paris",
            "price_level": level,
            "price_level_name": LEVEL_NAMES.get(level, level),
            "price_type": price_type,
            "amount": amount,
            "currency": "EUR",
            "sale_starts_at": "2026-11-01T10:00:00+01:00",
            "sale_ends_at": starts_at[:11] + "20:00:00+01:00",
        }
        record.update(changes)
        records.append(record)
    return records


def place(
    event_id: str,
    performance_id: str,
    level: str,
    section: str = "",
    row: str = "",
    seat: str = "",
    area: str = "",
    quantity: int = 1,
) -> dict[str, str]:
    return {
        "event_id": event_id,
        "performance_id": performance_id,
        "price_level": level,
        "section": section,
        "row": row,
        "seat": seat,
        "area": area,
        "quantity": str(quantity),
    }


def seats(
    event_id: str, performance_id: str, level: str, section: str, row: str, numbers: range
) -> list[dict[str, str]]:
    return [place(event_id, performance_id, level, section, row, str(n)) for n in numbers]


def columns(file_type: FileType, records: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    return {name: [r.get(name, "") for r in records] for name in column_names(file_type)}


def offer(number: int, files: Mapping[FileType, Sequence[Mapping[str, Any]]]) -> BuiltBatch:
    """An OFFER batch as the organiser's writer builds it."""
    return build_batch(
        BatchId(Stream.OFFER, PROMOTER, number),
        {file_type: columns(file_type, records) for file_type, records in files.items()},
        created_at=CREATED_AT,
    )


def send(partner: TicketnetPartner, built: BuiltBatch) -> None:
    """Upload to ``/to_ticketnet/`` (data files first, manifest last, each .tmp + rename)."""
    built.write_to(partner.inbox)


def ack_of(partner: TicketnetPartner, number: int) -> Ack:
    name = BatchId(Stream.OFFER, PROMOTER, number).ack_name
    return parse_ack(name, (partner.outbox / name).read_bytes())


def onboard(partner: TicketnetPartner) -> tuple[str, str]:
    """Tosca on sale at Ticketnet: its CATALOG (batch 1), then seats and pit places (batch 2).

    Returns (event_id, performance_id).
    """
    send(partner, offer(1, {FileType.CATALOG: catalog()}))
    partner.process_offers()
    ids = ack_of(partner, 1).files[0].ids[0]
    event_id, performance_id = ids.event_id, ids.performance_id
    allocation = [
        *seats(event_id, performance_id, "1", "ORCH-A", "F", range(1, 13)),
        *seats(event_id, performance_id, "2", "BALC", "1", range(1, 9)),
        place(event_id, performance_id, "FO", area="FOSSE", quantity=30),
    ]
    send(partner, offer(2, {FileType.ALLOCATION: allocation}))
    partner.process_offers()
    assert ack_of(partner, 2).status == "ACCEPTED"
    return event_id, performance_id
