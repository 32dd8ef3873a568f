"""The columns of each file type and the rules of one record (``ticketnet-exchange-v1``
sections 7 and 8).

Presence of a column:

* ``REQUIRED`` ("yes"): the header must name it and every record fills it;
* ``CONDITIONAL`` ("seated", "standing", "REFUND"): the header must name it;
  a per-record rule says when it is filled;
* ``OPTIONAL`` ("no"): the header may lack it; a reader gives ``""`` then.

Columns whose name starts with ``buyer_`` (section 11) are never read, never
checked: :func:`is_buyer_column` is the one test of that. A schema lists the
buyer columns Ticketnet writes in version 1 so that a sandbox of Ticketnet can
write them; :attr:`FileSchema.read_columns` leaves them out.

A record rule gets a :class:`Records` view (masks of filled columns and of
words) and yields :class:`Violation` masks. A breach is a syntax error
(``R06``, or ``B06`` in an ``OFFER`` batch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property

import numpy as np
import pyarrow.compute as pc

from reseller_sync.ticketnet import formats as f
from reseller_sync.ticketnet.names import FileType

BUYER_PREFIX = "buyer_"


def is_buyer_column(name: str) -> bool:
    """A buyer column of any version: dropped at reading, before any check (section 11)."""
    return name.startswith(BUYER_PREFIX)


class Presence(Enum):
    REQUIRED = "required"
    CONDITIONAL = "conditional"
    OPTIONAL = "optional"


@dataclass(frozen=True)
class Column:
    name: str
    format: f.Format
    presence: Presence = Presence.REQUIRED


@dataclass(frozen=True)
class Violation:
    rows: np.ndarray
    column: str
    reason: str


class Records:
    """What record rules look at: which fields are filled, which hold a given word."""

    def __init__(self, columns: dict[str, f.Strings]) -> None:
        self.columns = columns

    def filled(self, column: str) -> np.ndarray:
        return self.columns[column].filled

    def empty(self, column: str) -> np.ndarray:
        return ~self.columns[column].filled

    def equals(self, column: str, word: str) -> np.ndarray:
        return np.asarray(
            pc.equal(self.columns[column].array, word).to_numpy(zero_copy_only=False), dtype=bool
        )


Rule = Callable[[Records], Iterator[Violation]]


@dataclass(frozen=True)
class FileSchema:
    type: FileType
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = field(default=())

    @cached_property
    def by_name(self) -> dict[str, Column]:
        return {column.name: column for column in self.columns}

    @cached_property
    def read_columns(self) -> tuple[Column, ...]:
        """The columns a reader returns, in this order: all but the buyer columns."""
        return tuple(c for c in self.columns if not is_buyer_column(c.name))

    @cached_property
    def needed_columns(self) -> tuple[str, ...]:
        """The columns a header must name (required and conditional)."""
        return tuple(c.name for c in self.read_columns if c.presence is not Presence.OPTIONAL)

    @cached_property
    def names(self) -> tuple[str, ...]:
        """Every column in the order Ticketnet writes them, buyer columns included."""
        return tuple(c.name for c in self.columns)


_PLACE_FORMS = (
    "a record is either seated (section, row and seat filled, area empty) "
    "or standing (area filled; section, row and seat empty)"
)


def _place_form(records: Records) -> Iterator[Violation]:
    area = records.filled("area")
    seated_part = records.filled("section") | records.filled("row") | records.filled("seat")
    yield Violation(area & seated_part, "area", _PLACE_FORMS)
    for column in ("section", "row", "seat"):
        yield Violation(~area & records.empty(column), column, _PLACE_FORMS)


def _transaction_type(records: Records) -> Iterator[Violation]:
    refund, sale = records.equals("type", "REFUND"), records.equals("type", "SALE")
    for column in ("original_transaction_id", "original_line_id", "refund_reason"):
        yield Violation(refund & records.empty(column), column, "a REFUND record fills it")
        yield Violation(sale & records.filled(column), column, "a SALE record leaves it empty")
    test_reason = records.equals("refund_reason", "TEST")
    test = records.equals("test", "true")
    yield Violation(
        refund & records.filled("refund_reason") & (test_reason != test),
        "refund_reason",
        "in a REFUND record, refund_reason is TEST if and only if test is true",
    )


def _seat_quantity(records: Records) -> Iterator[Violation]:
    seated = records.filled("seat") & records.empty("area")
    yield Violation(
        seated & records.filled("quantity") & ~records.equals("quantity", "1"),
        "quantity",
        "a seat's quantity is 1",
    )


_R, _C, _O = Presence.REQUIRED, Presence.CONDITIONAL, Presence.OPTIONAL

_PLACE_COLUMNS = (
    Column("section", f.SECTION, _C),
    Column("row", f.ROW, _C),
    Column("seat", f.SEAT, _C),
    Column("area", f.AREA, _C),
)

SCHEMAS: dict[FileType, FileSchema] = {
    FileType.TRANSACTIONS: FileSchema(
        FileType.TRANSACTIONS,
        (
            Column("transaction_id", f.TRANSACTION_ID),
            Column("line_id", f.LINE_ID),
            Column("type", f.OneOf(("SALE", "REFUND"))),
            Column("original_transaction_id", f.TRANSACTION_ID, _C),
            Column("original_line_id", f.INTEGER, _C),
            Column("event_id", f.EVENT_ID),
            Column("performance_id", f.PERFORMANCE_ID),
            *_PLACE_COLUMNS,
            Column("price_level", f.PRICE_LEVEL),
            Column("price_type", f.PRICE_TYPE),
            Column("amount", f.AMOUNT),
            Column("fees", f.AMOUNT),
            Column("currency", f.CURRENCY),
            Column("barcode", f.BARCODE),
            Column("attendee_first_name", f.Text(60), _O),
            Column("attendee_last_name", f.Text(60), _O),
            Column("buyer_email", f.Text(), _O),
            Column("buyer_phone", f.Text(), _O),
            Column("buyer_postcode", f.Text(), _O),
            Column("outlet_id", f.OUTLET),
            Column("outlet_name", f.Text(60)),
            Column("occurred_at", f.TIMESTAMP),
            Column(
                "refund_reason",
                f.OneOf(("CUSTOMER", "PERFORMANCE_CANCELLED", "OUTLET_ERROR", "TEST")),
                _C,
            ),
            Column("test", f.BOOLEAN),
        ),
        rules=(_place_form, _transaction_type),
    ),
    FileType.PRICETYPES: FileSchema(
        FileType.PRICETYPES,
        (
            Column("price_type", f.PRICE_TYPE),
            Column("label", f.Text(60)),
            Column("active", f.BOOLEAN),
            Column("modified_at", f.TIMESTAMP),
        ),
    ),
    FileType.INVENTORY: FileSchema(
        FileType.INVENTORY,
        (
            Column("event_id", f.EVENT_ID),
            Column("performance_id", f.PERFORMANCE_ID),
            Column("price_level", f.PRICE_LEVEL),
            Column("section", f.SECTION, _C),
            Column("area", f.AREA, _C),
            Column("allocated", f.INTEGER),
            Column("sold", f.INTEGER),
            Column("available", f.INTEGER),
            Column("snapshot_at", f.TIMESTAMP),
        ),
        # Exactly one of section and area is a consistency rule of the batch (R21, 7.3).
    ),
    FileType.SEATS: FileSchema(
        FileType.SEATS,
        (
            Column("event_id", f.EVENT_ID),
            Column("performance_id", f.PERFORMANCE_ID),
            Column("price_level", f.PRICE_LEVEL),
            Column("section", f.SECTION),
            Column("row", f.ROW),
            Column("seat", f.SEAT),
            Column("status", f.OneOf(("AVAILABLE", "SOLD"))),
        ),
    ),
    FileType.CATALOG: FileSchema(
        FileType.CATALOG,
        (
            Column("org_event_code", f.ORG_CODE),
            Column("event_name", f.Text(120)),
            Column("event_kind", f.OneOf(("EVENT", "COMPETITION"))),
            Column("org_performance_code", f.ORG_CODE),
            Column("starts_at", f.TIMESTAMP),
            Column("venue_code", f.VENUE_CODE),
            Column("venue_name", f.Text(60)),
            Column("city", f.Text(60)),
            Column("price_level", f.PRICE_LEVEL),
            Column("price_level_name", f.Text(60)),
            Column("price_type", f.PRICE_TYPE),
            Column("amount", f.AMOUNT),
            Column("currency", f.CURRENCY),
            Column("sale_starts_at", f.TIMESTAMP),
            Column("sale_ends_at", f.TIMESTAMP),
        ),
    ),
    **{
        file_type: FileSchema(
            file_type,
            (
                Column("event_id", f.EVENT_ID),
                Column("performance_id", f.PERFORMANCE_ID),
                Column("price_level", f.PRICE_LEVEL),
                *_PLACE_COLUMNS,
                Column("quantity", f.QUANTITY),
            ),
            rules=(_place_form, _seat_quantity),
        )
        for file_type in (FileType.ALLOCATION, FileType.RELEASE)
    },
}


def schema_of(file_type: FileType | str) -> FileSchema:
    return SCHEMAS[FileType(file_type)]


def column_names(file_type: FileType | str) -> tuple[str, ...]:
    """The columns of ``file_type`` in the spec's order, buyer columns included."""
    return schema_of(file_type).names
