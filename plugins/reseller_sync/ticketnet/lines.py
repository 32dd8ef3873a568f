"""Ticketnet's TRANSACTIONS records as canonical lines (``core.lines``), for the neutral
integration (``ticketnet-exchange-v1`` sections 7.1 and 9.1).

A SALES batch holds sales and refunds in one file type: its SALE records
become sale lines (test records apart, as test tickets), then its REFUND
records cancellation lines, in that order whatever the records' order
(section 9.1 point 5); the integration applies them in one transaction.

A SALE record is located through Ticketnet's identifiers and the mappings:
(``event_id``, ``performance_id``) → the box-office performance, from the
identifiers the ACKs of the CATALOG gave (:class:`PartnerPerformances`);
``section`` or ``area`` → a block of the product's configuration, ``row`` and
``seat`` → its seat; ``price_level`` → the seat category, which must be the
place's; ``price_type`` → the tariff. A record that does not resolve is left
out and reported with Ticketnet's column and value, as a mapping problem
(``R10`` to ``R13`` are mapping errors). A ticket's reference is its record's
key, ``transaction_id/line_id``, which identifies it forever; a REFUND names
the ticket it cancels by ``original_transaction_id/original_line_id``.

Amounts are whole cents: a ticket's price is ``amount + fees`` and its
commission ``fees``; a refund gives back ``amount``, plus ``fees`` when the box
office records prices commission included (section 9.1 point 10).
The buyer columns never reach this module: the reader never parses them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.catalogue import ids_by_code, seats_of_blocks
from reseller_sync.boxoffice.models import (
    Block,
    Performance,
    Product,
    SeatCategory,
    SeatingConfiguration,
    Tariff,
    Zone,
)
from reseller_sync.core.lines import (
    CANCELLATION_LINES,
    LINE_INDEX,
    SALE_LINES,
    InboundLines,
    LineBatch,
    LineKind,
    LineProblems,
)
from reseller_sync.domain.errors import Problem
from reseller_sync.integration.inbound import integrate_inbound_lines
from reseller_sync.integration.settings import IntegrationSettings
from reseller_sync.mappings.repository import (
    MappingRepository,
    ProductMappings,
    unresolved_problems,
)
from reseller_sync.ticketnet.identifiers import PartnerPerformances
from reseller_sync.ticketnet.mappings import VOCABULARY, MappingKind
from reseller_sync.ticketnet.names import FileType
from reseller_sync.ticketnet.reader import Batch, Part
from reseller_sync.ticketnet.settings import TicketnetSettings

COLUMNS: dict[str, str] = {
    "reseller_order_ref": "transaction_id",
    "reseller_ticket_ref": "line_id",
    "barcode": "barcode",
    "performance_id": "performance_id",
    "seat_id": "seat",
    "block_id": "section",
    "category_id": "price_level",
    "tariff_id": "price_type",
    "reseller_tariff_ref": "price_type",
    "price": "amount",
    "commission": "fees",
    "currency": "currency",
    "beneficiary_first_name": "attendee_first_name",
    "beneficiary_last_name": "attendee_last_name",
    "point_of_sale_ref": "outlet_id",
    "point_of_sale_name": "outlet_name",
    "sold_at": "occurred_at",
    "reseller_cancellation_ref": "line_id",
    "refund_amount": "amount",
    "cancelled_at": "occurred_at",
}
"""Ticketnet's column for each canonical column, named in problems."""


def integration_settings(settings: TicketnetSettings) -> IntegrationSettings:
    """What the integration needs of Ticketnet's settings."""
    return IntegrationSettings.of_instance(
        settings,
        name=settings.display_name,
        columns=COLUMNS,
        cancels_test_tickets=True,  # section 7.1: Ticketnet refunds its test tickets (TEST)
    )


@dataclass(frozen=True)
class BatchLines:
    """A SALES batch's lines, in the order they are applied in one transaction: the sales,
    the test sales, then the cancellations (test ones included).

    Each kind is one ``InboundLines`` for the whole batch (a transaction's records may lie
    in several parts), with one line batch per part. Record numbers count within each
    part, so a part's lines are numbered from its offset in the batch (the records of the
    parts before it); :meth:`locate` (each ``InboundLines``'s ``locate``) turns a problem
    the integration names by the batch and that number back into the part and its record.
    """

    name: str
    """The batch id: the file name the integration is given."""
    parts: tuple[tuple[str, int, int], ...]
    """Each part's name, offset and number of records, in order."""
    lines: tuple[InboundLines, ...]

    def locate(self, problem: Problem) -> Problem:
        return locate_in_parts(self.name, self.parts, problem)

    def integrate(self, session: Session, settings: IntegrationSettings) -> list[Any]:
        """Apply every kind of line in the session's transaction; the outcomes. A refusal
        names each problem's part and record."""
        return [
            integrate_inbound_lines(session, settings, self.name, lines)[0] for lines in self.lines
        ]


def locate_in_parts(name: str, parts: Sequence[tuple[str, int, int]], problem: Problem) -> Problem:
    """A problem named by the batch ``name`` (or its manifest) and a line numbered across its
    parts, named by its part and record instead."""
    if problem.file not in (name, f"{name}.manifest.json") or not problem.line:
        return problem
    for part, offset, records in parts:
        if offset < problem.line <= offset + records:
            return dataclasses.replace(problem, file=part, line=problem.line - offset)
    return problem


def batch_lines(
    session: Session,
    settings: TicketnetSettings,
    repository: MappingRepository,
    performances: PartnerPerformances,
    batch: Batch,
) -> BatchLines:
    """A verified SALES batch as lines; each part's are built when the integration takes
    them, from that part's records of that kind only."""
    parts = batch.parts_of(FileType.TRANSACTIONS)
    offsets = []
    offset = 0
    for part in parts:
        offsets.append((part.name, offset, part.records))
        offset += part.records

    def sold(test: bool) -> Iterator[LineBatch]:
        for part, (_, start, _) in zip(parts, offsets, strict=True):
            records = _records(part, sales=True, test=test)
            built = sale_batch(session, settings, repository, performances, part.name, records)
            yield _shifted(built, start)

    def refunded() -> Iterator[LineBatch]:
        for part, (_, start, _) in zip(parts, offsets, strict=True):
            yield _shifted(refund_batch(settings, _records(part, sales=False)), start)

    name = str(batch.batch)
    located = tuple(offsets)

    def locate(problem: Problem) -> Problem:
        return locate_in_parts(name, located, problem)

    return BatchLines(
        name,
        located,
        (
            InboundLines(LineKind.SALES, sold(test=False), locate=locate),
            InboundLines(LineKind.SALES, sold(test=True), is_test=True, locate=locate),
            InboundLines(LineKind.CANCELLATIONS, refunded(), locate=locate),
        ),
    )


def _shifted(built: LineBatch, offset: int) -> LineBatch:
    """The part's lines numbered from its offset in the batch; the problems the adapter found
    keep the part's name and record."""
    if not offset:
        return built
    lines = built.lines.set_axis(built.lines.index + offset)
    source = (
        built.source.set_axis(built.source.index + offset) if built.source is not None else None
    )
    return dataclasses.replace(built, lines=lines, source=source)


def _records(part: Part, *, sales: bool | None = None, test: bool | None = None) -> pd.DataFrame:
    """The part's records as text columns, indexed by record number (1 for the first); only
    its SALE (or REFUND) records, test ones or not, when asked: filtered before they leave
    Arrow."""
    table = part.table
    mask = None
    if sales is not None:
        mask = pc.equal(table.column("type"), "SALE" if sales else "REFUND")
    if test is not None:
        is_test = pc.equal(table.column("test"), "true")
        chosen = is_test if test else pc.invert(is_test)
        mask = chosen if mask is None else pc.and_(mask, chosen)
    if mask is None:
        frame = table.to_pandas().astype("str")
        frame.index = pd.RangeIndex(1, len(frame) + 1, name=LINE_INDEX)
        return frame
    numbers = pc.indices_nonzero(mask).to_numpy() + 1
    frame = table.filter(mask).to_pandas().astype("str")
    frame.index = pd.Index(numbers, dtype="int64", name=LINE_INDEX)
    return frame


def _cents(values: pd.Series) -> pd.Series:
    """``42.50`` → 4250 (the codec checked the format)."""
    return values.str.replace(".", "", regex=False).astype("int64")


def _instants(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, format="ISO8601").astype("datetime64[us, UTC]")


def _optional(values: pd.Series) -> pd.Series:
    return values.where(values != "").astype("str")


def _ticket_refs(transactions: pd.Series, lines: pd.Series) -> pd.Series:
    return (transactions + "/" + lines).astype("str")


# --------------------------------------------------------------------------- sales


def sale_batch(
    session: Session,
    settings: TicketnetSettings,
    repository: MappingRepository,
    performances: PartnerPerformances,
    file_name: str,
    records: pd.DataFrame,
) -> LineBatch:
    """One part's SALE records as sale lines: those that resolve, and the others' problems."""
    problems = LineProblems()
    if records.empty:
        return LineBatch(SALE_LINES.empty(), problems, records=0)
    found = _resolve(session, repository, performances, file_name, records, problems)
    rows = records.loc[found.index]
    amount, fees = _cents(rows["amount"]), _cents(rows["fees"])
    lines = pd.DataFrame(
        {
            "reseller_order_ref": rows["transaction_id"].astype("str"),
            "reseller_ticket_ref": _ticket_refs(rows["transaction_id"], rows["line_id"]),
            "barcode": rows["barcode"].astype("str"),
            "performance_id": found["performance"].astype("int64"),
            "seat_id": found["seat_id"].astype("Int64"),
            "block_id": found["block_id"].astype("Int64").where(found["seat_id"].isna()),
            "category_id": found["category_id"].astype("int64"),
            "tariff_id": found["tariff_id"].astype("int64"),
            "reseller_tariff_ref": rows["price_type"].astype("str"),
            "price": amount + fees,
            "commission": fees,
            "currency": rows["currency"].astype("str"),
            "beneficiary_first_name": _optional(rows["attendee_first_name"]),
            "beneficiary_last_name": _optional(rows["attendee_last_name"]),
            "point_of_sale_ref": rows["outlet_id"].astype("str"),
            "point_of_sale_name": _optional(rows["outlet_name"]),
            "sold_at": _instants(rows["occurred_at"]),
        },
        index=rows.index,
    )
    return LineBatch(
        SALE_LINES.check(lines, by="the Ticketnet adapter"),
        problems,
        source=records,
        records=len(records),
    )


def _mapping_problems(
    problems: LineProblems, rows: pd.DataFrame, column: str, reason: str, file_name: str
) -> None:
    problems.mapping.extend(
        Problem(reason, file=file_name, line=int(line), column=column, value=str(value) or None)
        for line, value in rows[column].items()
    )


def _resolve(
    session: Session,
    repository: MappingRepository,
    performances: PartnerPerformances,
    file_name: str,
    records: pd.DataFrame,
    problems: LineProblems,
) -> pd.DataFrame:
    """The box-office ids of each record that resolves (by record number); the others are
    reported and left out."""
    resolved = [
        _resolve_product(session, repository, file_name, product, group, problems)
        for product, group in _by_product(session, performances, file_name, records, problems)
    ]
    if not resolved:
        return pd.DataFrame(
            columns=["performance", "block_id", "seat_id", "category_id", "tariff_id"]
        )
    return pd.concat(resolved).sort_index()


def _by_product(
    session: Session,
    performances: PartnerPerformances,
    file_name: str,
    records: pd.DataFrame,
    problems: LineProblems,
) -> Iterator[tuple[str, pd.DataFrame]]:
    """The records whose (event_id, performance_id) Ticketnet gave a box-office performance,
    product by product, with ``performance``, ``product`` and ``configuration``; the
    others are reported."""
    keys = records[["event_id", "performance_id"]]
    located = keys.reset_index().merge(performances.frame, how="left").set_index(LINE_INDEX)
    unknown = located["performance"].isna()
    _mapping_problems(
        problems,
        records[unknown],
        "performance_id",
        "this event_id and performance_id were given by no ACK of a CATALOG: no performance "
        "of the box office is mapped to them",
        file_name,
    )
    known = records[~unknown].assign(performance=located.loc[~unknown, "performance"])
    if known.empty:
        return
    products = _products(session, known["performance"].astype("int64").unique().tolist())
    known = known.assign(
        product=known["performance"].map(products["product"]),
        configuration=known["performance"].map(products["configuration"]),
    )
    for product, group in known.groupby("product", sort=True):
        yield str(product), group


def locate_places(
    session: Session,
    repository: MappingRepository,
    performances: PartnerPerformances,
    file_name: str,
    records: pd.DataFrame,
    problems: LineProblems,
) -> pd.DataFrame:
    """The box-office place of each record of Ticketnet's places (``event_id``,
    ``performance_id``, ``section``, ``row``, ``seat``, ``area``, indexed by record number):
    columns ``performance``, ``block_id`` and ``seat_id`` (NA for free placement), for the
    records that resolve; the others are reported as mapping problems."""
    located = []
    for product, group in _by_product(session, performances, file_name, records, problems):
        configuration = group["configuration"].iloc[0]
        places = _places(
            session, repository.for_product(product), configuration, file_name, group, problems
        )
        places = places.assign(performance=group["performance"].astype("int64"))
        located.append(
            places.loc[places["block_id"].notna(), ["performance", "block_id", "seat_id"]]
        )
    if not located:
        return pd.DataFrame(
            {
                "performance": pd.Series([], dtype="int64"),
                "block_id": pd.Series([], dtype="Int64"),
                "seat_id": pd.Series([], dtype="Int64"),
            }
        )
    return pd.concat(located).sort_index()


def _products(session: Session, performance_ids: Sequence[int]) -> pd.DataFrame:
    """Each performance's product code and seating configuration code."""
    rows = session.execute(
        select(Performance.id, Product.code, SeatingConfiguration.code)
        .join(Product, Performance.product_id == Product.id)
        .outerjoin(SeatingConfiguration, Product.configuration_id == SeatingConfiguration.id)
        .where(Performance.id.in_(list(performance_ids)))
    ).all()
    return pd.DataFrame(rows, columns=["performance", "product", "configuration"]).set_index(
        "performance"
    )


def _resolve_product(
    session: Session,
    repository: MappingRepository,
    file_name: str,
    product: str,
    records: pd.DataFrame,
    problems: LineProblems,
) -> pd.DataFrame:
    mappings = repository.for_product(product)
    configuration = records["configuration"].iloc[0]
    ok = pd.Series(True, index=records.index)

    categories = mappings.from_partner(
        MappingKind.PRICE_LEVEL, records["price_level"], configuration
    )
    tariffs = mappings.from_partner(MappingKind.PRICE_TYPE, records["price_type"])
    for kind, column, resolved in (
        (MappingKind.PRICE_LEVEL, "price_level", categories),
        (MappingKind.PRICE_TYPE, "price_type", tariffs),
    ):
        problems.mapping.extend(
            unresolved_problems(
                VOCABULARY,
                kind,
                records[column],
                resolved,
                product=product,
                inbound=True,
                file=file_name,
                column=column,
            )
        )
        ok &= resolved.notna()
    found = pd.DataFrame(
        {
            "performance": records["performance"].astype("int64"),
            "category_id": categories.map(ids_by_code(session, SeatCategory)),
            "tariff_id": tariffs.map(ids_by_code(session, Tariff)),
        },
        index=records.index,
    )
    places = _places(session, mappings, configuration, file_name, records, problems)
    found = found.join(places)
    ok &= found["block_id"].notna()
    place_category = found["place_category_id"]
    wrong_level = ok & (place_category != found["category_id"])
    _mapping_problems(
        problems,
        records[wrong_level],
        "price_level",
        "this price level is not the category of the place in the box office",
        file_name,
    )
    ok &= ~wrong_level
    return found.loc[ok, ["performance", "block_id", "seat_id", "category_id", "tariff_id"]]


def _places(
    session: Session,
    mappings: ProductMappings,
    configuration: str,
    file_name: str,
    records: pd.DataFrame,
    problems: LineProblems,
) -> pd.DataFrame:
    """Each record's block, seat (seated) and the place's category; NA where it does not
    resolve (reported)."""
    seated = records["section"] != ""
    codes = records["section"].where(seated, records["area"])
    target = mappings.bloc_from_partner(codes, configuration)
    blocks = pd.DataFrame(
        session.execute(
            select(Block.id, Zone.code, Block.code, Block.free_placement, Block.category_id)
            .join(Zone, Block.zone_id == Zone.id)
            .join(SeatingConfiguration, Zone.configuration_id == SeatingConfiguration.id)
            .where(SeatingConfiguration.code == configuration)
        ).all(),
        columns=["block_id", "zone", "block", "free_placement", "block_category_id"],
    )
    single_block = blocks.groupby("zone")["block"].agg(lambda b: b.iloc[0] if len(b) == 1 else None)
    target["block"] = target["block"].fillna(target["zone"].map(single_block))
    located = (
        target.reset_index(names=LINE_INDEX)
        .merge(blocks, on=["zone", "block"], how="left")
        .set_index(LINE_INDEX)
    )
    no_block = located["block_id"].isna()
    column = pd.Series("section", index=records.index).where(seated, "area")
    for name in ("section", "area"):
        _mapping_problems(
            problems,
            records[no_block & (column == name)],
            name,
            f"this {name} maps to no block of configuration {configuration}",
            file_name,
        )
    free = located["free_placement"].fillna(False).astype(bool)
    wrong_form = ~no_block & (free == seated)
    _mapping_problems(
        problems,
        records[wrong_form],
        "section",
        "a seated record in a free-placement block, or a standing one in a seated block",
        file_name,
    )
    to_seat = ~no_block & ~wrong_form & seated
    wanted = records.loc[to_seat, ["row", "seat"]].assign(block_id=located.loc[to_seat, "block_id"])
    seats = _seats(session, wanted["block_id"].astype("int64").unique().tolist())
    found_seats = (
        wanted.reset_index()
        .merge(seats, on=["block_id", "row", "seat"], how="left")
        .set_index(LINE_INDEX)
    )
    unknown_seat = found_seats["seat_id"].isna()
    _mapping_problems(
        problems,
        records.loc[found_seats.index[unknown_seat]],
        "seat",
        "no such seat in this block of the box office",
        file_name,
    )
    result = pd.DataFrame(
        {
            "block_id": located["block_id"].where(~wrong_form).astype("Int64"),
            "seat_id": found_seats["seat_id"].reindex(records.index).astype("Int64"),
            "place_category_id": found_seats["seat_category_id"]
            .reindex(records.index)
            .fillna(located["block_category_id"])
            .astype("Int64"),
        },
        index=records.index,
    )
    bad_seat = seated & result["seat_id"].isna()
    result.loc[bad_seat, "block_id"] = pd.NA
    return result


def _seats(session: Session, block_ids: list[int]) -> pd.DataFrame:
    return seats_of_blocks(session, block_ids).rename(
        columns={"row": "row", "number": "seat", "category_id": "seat_category_id"}
    )


# --------------------------------------------------------------------------- refunds


def refund_batch(settings: TicketnetSettings, records: pd.DataFrame) -> LineBatch:
    """One part's REFUND records as cancellation lines: nothing to resolve, the ticket is
    found by its reference (its sale record's key) and checked against the barcode."""
    if records.empty:
        return LineBatch(CANCELLATION_LINES.empty(), records=0)
    refunded = _cents(records["amount"])
    if settings.prices.includes_commission:
        refunded = refunded + _cents(records["fees"])
    lines = pd.DataFrame(
        {
            "reseller_cancellation_ref": _ticket_refs(
                records["transaction_id"], records["line_id"]
            ),
            "reseller_order_ref": records["original_transaction_id"].astype("str"),
            "reseller_ticket_ref": _ticket_refs(
                records["original_transaction_id"], records["original_line_id"]
            ),
            "barcode": records["barcode"].astype("str"),
            "refund_amount": refunded.astype("int64"),
            "currency": records["currency"].astype("str"),
            "cancelled_at": _instants(records["occurred_at"]),
        },
        index=records.index,
    )
    return LineBatch(
        CANCELLATION_LINES.check(lines, by="the Ticketnet adapter"),
        source=records,
        records=len(records),
    )
