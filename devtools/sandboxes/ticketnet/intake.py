"""Ticketnet answering one ``OFFER`` batch (``ticketnet-exchange-v1`` sections 6, 8 and 9.2).

:func:`answer_offer` verifies the batch with the codec's reader (section 6:
``B01`` to ``B06``, the whole batch ``REJECTED``), then applies its files in
processing order and returns the :class:`~reseller_sync.ticketnet.ack.Ack`:

- a CATALOG file whole or not at all (section 8.1): ``C01`` a kind Ticketnet
  may not sell, ``C02`` an unknown venue code or another one for an existing
  performance, ``C03`` an unknown or inactive price type, and the codec's own
  CATALOG rules (:mod:`reseller_sync.ticketnet.catalog`, which the organiser
  runs before sending): ``C04`` a currency other than EUR, ``C05`` sale dates,
  ``C06`` a performance's records that disagree or repeat a price level ×
  price type. Applied, each new event gets an ``event_id`` (16 hexadecimal
  digits) and each new performance a ``performance_id`` (``P01``, ``P02``...
  within its event), given back in ``ids``;
- ALLOCATION and RELEASE records one by one (sections 8.2, 8.3): ``A01`` to
  ``A07``, ``A06`` with the places ``available``.

In ``ticketnet-exchange-v1`` the format of ``event_kind`` admits ``EVENT`` and
``COMPETITION`` only and ``starts_at`` is required: a file breaking either is
refused at verification (``B06``) before ``C01`` could apply; ``C01`` is
checked all the same, for a reader that would let it through.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from devtools.sandboxes.ticketnet.state import (
    AreaHolding,
    Event,
    PartnerState,
    Performance,
    SeatHolding,
    area_key,
    performance_key,
    seat_key,
)
from devtools.sandboxes.ticketnet.venues import VenueBook
from reseller_sync.ticketnet.ack import (
    Ack,
    AckBatchError,
    AckFile,
    AckIds,
    AckRecordError,
    AckStatus,
)
from reseller_sync.ticketnet.catalog import catalog_problems
from reseller_sync.ticketnet.errors import Code, OfferRefusedError
from reseller_sync.ticketnet.manifest import manifest_problems, sha256_hex
from reseller_sync.ticketnet.names import BatchId, FileType
from reseller_sync.ticketnet.reader import BatchSource, read_batch

log = logging.getLogger(__name__)

SELLABLE_KINDS = ("EVENT", "COMPETITION")
"""Section 1: Ticketnet sells dated performances of events and competitions only."""
PERFORMANCE_COLUMNS = (
    "event_name",
    "event_kind",
    "starts_at",
    "venue_code",
    "venue_name",
    "city",
    "sale_starts_at",
    "sale_ends_at",
)
"""The event and performance columns a CATALOG file sets for each of its performances."""

Row = dict[str, str]


@dataclass(frozen=True)
class Refusal:
    record: int
    code: Code
    message: str
    available: int | None = None

    def ack_error(self) -> AckRecordError:
        return AckRecordError(self.record, self.code, self.message, self.available)


def answer_offer(
    state: PartnerState,
    venues: VenueBook,
    source: BatchSource,
    batch: BatchId,
    manifest_bytes: bytes,
    *,
    processed_at: str,
    new_event_id: Callable[[], str],
) -> Ack:
    """Verify and apply the batch; the ACK that answers it (nothing applied when REJECTED)."""
    manifest_sha256 = sha256_hex(manifest_bytes)
    try:
        read = read_batch(source, batch, manifest_bytes=manifest_bytes)
    except OfferRefusedError as error:
        return rejected(batch, manifest_bytes, error.code, _first_problem(error), processed_at)
    files: list[AckFile] = []
    for part in read.parts:
        rows: list[Row] = part.table.to_pylist()
        ids: tuple[AckIds, ...] = ()
        if part.type is FileType.CATALOG:
            refusals, ids = apply_catalog(state, venues, part.table, new_event_id, file=part.name)
            accepted = 0 if refusals else len(rows)
        else:
            refusals = apply_places(state, venues, part.type, rows)
            accepted = len(rows) - len({r.record for r in refusals})
        files.append(
            AckFile(
                part.name,
                part.type,
                len(rows),
                _file_status(accepted, len(rows)),
                accepted,
                len(rows) - accepted,
                tuple(r.ack_error() for r in refusals),
                ids,
            )
        )
    status = (
        AckStatus.ACCEPTED
        if all(f.status is AckStatus.ACCEPTED for f in files)
        else AckStatus.PARTIAL
    )
    return Ack(batch, manifest_sha256, processed_at, status, None, tuple(files))


def rejected(
    batch: BatchId,
    manifest_bytes: bytes,
    code: Code,
    error: tuple[str, str | None, int | None],
    processed_at: str,
) -> Ack:
    """A ``REJECTED`` ACK: every listed file refused, or no file when the manifest is invalid."""
    message, file, record = error
    manifest, _ = manifest_problems(batch.manifest_name, manifest_bytes)
    files = (
        tuple(
            AckFile(f.name, f.type, f.records, AckStatus.REJECTED, 0, f.records)
            for f in manifest.in_processing_order()
        )
        if manifest is not None
        else ()
    )
    return Ack(
        batch,
        sha256_hex(manifest_bytes),
        processed_at,
        AckStatus.REJECTED,
        AckBatchError(code, message, file, record),
        files,
    )


def _first_problem(error: OfferRefusedError) -> tuple[str, str | None, int | None]:
    if not error.problems:
        return str(error), None, None
    problem = error.problems[0]
    return problem.reason, problem.file, problem.line or None


def _file_status(accepted: int, records: int) -> AckStatus:
    if accepted == records:
        return AckStatus.ACCEPTED
    return AckStatus.REJECTED if accepted == 0 else AckStatus.PARTIAL


# CATALOG ----------------------------------------------------------------------------


def apply_catalog(
    state: PartnerState,
    venues: VenueBook,
    table: pa.Table,
    new_event_id: Callable[[], str],
    *,
    file: str = "CATALOG",
) -> tuple[list[Refusal], tuple[AckIds, ...]]:
    """Check every record, then apply the file whole, or refuse it whole (section 8.1).

    ``C01`` to ``C03`` need Ticketnet's side (what it sells, its venues and price
    types); ``C04`` to ``C06`` are the codec's rules (:func:`catalog_problems`), the very
    ones the organiser runs before it sends. A record with several faults gets the
    lowest code.
    """
    rows: list[Row] = table.to_pylist()
    found: dict[int, Refusal] = {}
    for number, row in enumerate(rows, start=1):
        refusal = _catalog_refusal(state, venues, row, number)
        if refusal is not None:
            found[number] = refusal
    for problem in catalog_problems(table, file=file):
        number = problem.line or 0
        code = Code(problem.code)
        if number not in found or code < found[number].code:
            found[number] = Refusal(number, code, problem.reason)
    if found:
        return [found[number] for number in sorted(found)], ()
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((row["org_event_code"], row["org_performance_code"]), []).append(row)
    ids = []
    for (org_event, org_performance), records in groups.items():
        event = state.events.get(org_event)
        if event is None:
            event_id = _unused_event_id(state, new_event_id)
            event = state.events[org_event] = Event(org_event, event_id)
        performance_id = event.performances.get(org_performance)
        if performance_id is None:
            performance_id = f"P{len(event.performances) + 1:02d}"
            event.performances[org_performance] = performance_id
        _set_performance(state, event, performance_id, org_performance, records)
        ids.append(AckIds(org_event, org_performance, event.event_id, performance_id))
    return [], tuple(ids)


def _unused_event_id(state: PartnerState, new_event_id: Callable[[], str]) -> str:
    used = {event.event_id for event in state.events.values()}
    while (event_id := new_event_id()) in used:
        pass
    return event_id


def _set_performance(
    state: PartnerState,
    event: Event,
    performance_id: str,
    org_performance: str,
    records: list[Row],
) -> None:
    first = records[0]
    key = performance_key(event.event_id, performance_id)
    performance = state.performances.get(key)
    columns: dict[str, Any] = {column: first[column] for column in PERFORMANCE_COLUMNS}
    if performance is None:
        performance = Performance(
            event.event_id, performance_id, event.org_event_code, org_performance, **columns
        )
        state.performances[key] = performance
    else:
        for column, value in columns.items():
            setattr(performance, column, value)
    performance.prices = {}
    performance.price_level_names = {}
    for row in records:
        performance.prices.setdefault(row["price_level"], {})[row["price_type"]] = row["amount"]
        performance.price_level_names[row["price_level"]] = row["price_level_name"]


def _catalog_refusal(
    state: PartnerState, venues: VenueBook, row: Row, number: int
) -> Refusal | None:
    if row["event_kind"] not in SELLABLE_KINDS or not row["starts_at"]:
        return Refusal(number, Code.C01, f"Ticketnet does not sell {row['event_kind']!r} products")
    if venues.get(row["venue_code"]) is None:
        return Refusal(number, Code.C02, f"unknown venue code {row['venue_code']}")
    existing = _existing_performance(state, row)
    if existing is not None and existing.venue_code != row["venue_code"]:
        return Refusal(
            number,
            Code.C02,
            f"the performance is at venue {existing.venue_code}: its venue code never changes",
        )
    price_type = state.price_types.get(row["price_type"])
    if price_type is None or not price_type.active:
        what = "unknown" if price_type is None else "inactive"
        return Refusal(number, Code.C03, f"{what} price type {row['price_type']}")
    return None


def _existing_performance(state: PartnerState, row: Row) -> Performance | None:
    event = state.events.get(row["org_event_code"])
    if event is None:
        return None
    performance_id = event.performances.get(row["org_performance_code"])
    if performance_id is None:
        return None
    return state.performances.get(performance_key(event.event_id, performance_id))


# ALLOCATION and RELEASE ---------------------------------------------------------------


def apply_places(
    state: PartnerState, venues: VenueBook, file_type: FileType, rows: list[Row]
) -> list[Refusal]:
    """Apply or refuse each record on its own, in record order (sections 8.2 and 8.3)."""
    apply = _allocate if file_type is FileType.ALLOCATION else _release
    refusals = []
    for number, row in enumerate(rows, start=1):
        refusal = apply(state, venues, row, number)
        if refusal is not None:
            refusals.append(refusal)
    return refusals


def _place_context(
    state: PartnerState, venues: VenueBook, row: Row, number: int
) -> tuple[Performance | None, Refusal | None]:
    performance = state.performances.get(performance_key(row["event_id"], row["performance_id"]))
    if performance is None:
        return None, Refusal(
            number, Code.A01, f"unknown performance {row['event_id']} {row['performance_id']}"
        )
    venue = venues.get(performance.venue_code)
    if venue is None:
        return None, Refusal(number, Code.A02, f"venue {performance.venue_code} has no map")
    if row["area"]:
        if row["area"] not in venue.areas:
            return None, Refusal(number, Code.A02, f"unknown area {row['area']}")
    elif not venue.has_seat(row["section"], row["row"], row["seat"]):
        return None, Refusal(
            number, Code.A02, f"unknown seat {row['section']} {row['row']} {row['seat']}"
        )
    return performance, None


def _allocate(state: PartnerState, venues: VenueBook, row: Row, number: int) -> Refusal | None:
    performance, refusal = _place_context(state, venues, row, number)
    if performance is None:
        return refusal
    level = row["price_level"]
    if level not in performance.prices:
        return Refusal(number, Code.A03, f"price level {level} is not on sale for the performance")
    quantity = int(row["quantity"])
    if row["area"]:
        key = area_key(performance.event_id, performance.performance_id, row["area"])
        holding = state.areas.get(key)
        in_use = holding is not None and (holding.allocated or holding.sold)
        if in_use and holding is not None and holding.price_level != level:
            return Refusal(number, Code.A03, f"the area is at price level {holding.price_level}")
        capacity = venues.venues[performance.venue_code].areas[row["area"]]
        allocated = holding.allocated if holding is not None else 0
        if allocated + quantity > capacity:
            return Refusal(
                number,
                Code.A02,
                f"the area holds {capacity} places; {allocated} are allocated already",
            )
        if holding is None:
            holding = state.areas[key] = AreaHolding(
                performance.event_id, performance.performance_id, row["area"], level
            )
        holding.price_level = level
        holding.allocated += quantity
        _remember(state, performance, level, "", row["area"])
        return None
    key = seat_key(
        performance.event_id, performance.performance_id, row["section"], row["row"], row["seat"]
    )
    seat = state.seats.get(key)
    if seat is not None:
        if seat.price_level != level:
            return Refusal(number, Code.A03, f"the seat is at price level {seat.price_level}")
        return Refusal(number, Code.A04, "seat already allocated")
    state.seats[key] = SeatHolding(
        performance.event_id,
        performance.performance_id,
        row["section"],
        row["row"],
        row["seat"],
        level,
    )
    _remember(state, performance, level, row["section"], "")
    return None


def _release(state: PartnerState, venues: VenueBook, row: Row, number: int) -> Refusal | None:
    performance, refusal = _place_context(state, venues, row, number)
    if performance is None:
        return refusal
    level = row["price_level"]
    quantity = int(row["quantity"])
    if row["area"]:
        holding = state.areas.get(
            area_key(performance.event_id, performance.performance_id, row["area"])
        )
        if holding is None or holding.allocated == 0:
            return Refusal(number, Code.A07, "the area holds no place of the allocation")
        if holding.price_level != level:
            return Refusal(number, Code.A03, f"the area is at price level {holding.price_level}")
        if quantity > holding.available:
            return Refusal(
                number,
                Code.A06,
                f"{holding.available} places available in the area, {quantity} asked",
                holding.available,
            )
        holding.allocated -= quantity
        return None
    key = seat_key(
        performance.event_id, performance.performance_id, row["section"], row["row"], row["seat"]
    )
    seat = state.seats.get(key)
    if seat is None:
        return Refusal(number, Code.A07, "seat not in the allocation")
    if seat.price_level != level:
        return Refusal(number, Code.A03, f"the seat is at price level {seat.price_level}")
    if seat.sold:
        return Refusal(number, Code.A05, "seat sold, cannot be released")
    del state.seats[key]
    return None


def _remember(
    state: PartnerState, performance: Performance, level: str, section: str, area: str
) -> None:
    key = f"{performance.event_id}|{performance.performance_id}|{level}|{section}|{area}"
    if key not in state.inventory_keys:
        state.inventory_keys.append(key)
