"""Columns and field formats of the files of ``secutix-reseller-v1`` (sections 2, 5, 7
and 8): those the organiser reads (:data:`SCHEMAS`) and those it writes
(:data:`ORGANISER_SCHEMAS`).

Each format is a regular expression over the whole field, checked by Arrow
(RE2) on a column at once; dates and timestamps are then checked to be real
calendar instants. ``CONTACT_*`` columns are listed only to say that the
reader drops them (section 11): they have no format, nothing checks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from reseller_sync.secutix.names import FileType

CONTACT_PREFIX: Final = "CONTACT_"


def is_contact_column(name: str) -> bool:
    """A column describing the reseller's customer: dropped at reading (section 11)."""
    return name.startswith(CONTACT_PREFIX)


class Presence(Enum):
    REQUIRED = "required"
    """Never empty."""
    CONDITIONAL = "conditional"
    """Required in some cases, which a line rule checks; the column must be in the header."""
    OPTIONAL = "optional"
    """May be empty, and may be missing from the header (then read as all empty)."""


@dataclass(frozen=True)
class Format:
    """A field type of section 5: the pattern a filled value matches in whole."""

    description: str
    pattern: str
    calendar: str | None = None
    """``date`` or ``timestamp``: the value must also be a real date or instant."""
    max_chars: int | None = None
    """For text: the most characters (not bytes) a value holds."""


CODE = Format("a code: 1 to 15 characters A-Z 0-9 _ -", r"^[A-Z0-9_-]{1,15}$")
BARCODE = Format("a barcode: 8 to 40 characters A-Z 0-9", r"^[A-Z0-9]{8,40}$")
ORDER_NUMBER = Format("an order number: 1 to 15 digits", r"^[0-9]{1,15}$")
INTEGER = Format("an integer: 0, or 1-9 followed by digits", r"^(0|[1-9][0-9]*)$")
AMOUNT = Format(
    "an amount in minor units: 0, or 1-9 followed by up to 8 digits", r"^(0|[1-9][0-9]{0,8})$"
)
CURRENCY = Format("EUR or CHF", r"^(EUR|CHF)$")
TIMESTAMP = Format(
    "a timestamp YYYY-MM-DDTHH:MM:SS+HH:MM (or -HH:MM)",
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}$",
    calendar="timestamp",
)
DATE = Format("a date YYYY-MM-DD", r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", calendar="date")
SEAT = Format(
    "a seat: block/row/number (block 1 to 10 characters A-Z 0-9 _ -, row and number 1 to 4 "
    "characters A-Z 0-9), or a block alone",
    r"^[A-Z0-9_-]{1,10}(/[A-Z0-9]{1,4}/[A-Z0-9]{1,4})?$",
)
STATUS = Format("OK or KO", r"^(OK|KO)$")
QUANTITY = Format("an integer of at least 1", r"^[1-9][0-9]*$")
COUNTRY = Format("FR or CH", r"^(FR|CH)$")
BOOLEAN = Format("a boolean: 1 or 0", r"^(0|1)$")
ANY_VALUE = Format("any value", r"")
"""``TICKET_STATE``, ``PRODUCT_KIND`` and the OFFER's ``CURRENCY``: an unknown value is a
line rule's code (``T09``, ``O01``, ``O03``), not a format error."""


def text(max_chars: int) -> Format:
    return Format(f"text of at most {max_chars} characters", r"", max_chars=max_chars)


@dataclass(frozen=True)
class Column:
    name: str
    presence: Presence
    format: Format


@dataclass(frozen=True)
class FileSchema:
    """The columns of one file type, in the order writers use."""

    type: FileType
    columns: tuple[Column, ...]

    @property
    def read_columns(self) -> tuple[Column, ...]:
        """The columns the reader keeps: all but the ``CONTACT_*`` ones."""
        return tuple(c for c in self.columns if not is_contact_column(c.name))

    @property
    def header_columns(self) -> tuple[str, ...]:
        """The columns the header must name: the required and conditional ones."""
        return tuple(c.name for c in self.read_columns if c.presence is not Presence.OPTIONAL)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


_R, _C, _O = Presence.REQUIRED, Presence.CONDITIONAL, Presence.OPTIONAL

TICKETS = FileSchema(
    FileType.TICKETS,
    (
        Column("BAR_CODE", _R, BARCODE),
        Column("TICKET_STATE", _R, ANY_VALUE),
        Column("FILE_NUMBER", _R, INTEGER),
        Column("ORDER_NUMBER", _R, ORDER_NUMBER),
        Column("PRODUCT_CODE", _R, CODE),
        Column("PRODUCT_NAME", _O, text(120)),
        Column("PERFORMANCE_CODE", _C, CODE),
        Column("PASS_VALIDITY_END", _C, DATE),
        Column("SEATCAT_CODE", _R, CODE),
        Column("TARIFF_CODE", _R, CODE),
        Column("TARIFF_NAME", _O, text(60)),
        Column("SEAT", _C, SEAT),
        Column("PRICE", _R, AMOUNT),
        Column("CURRENCY", _R, CURRENCY),
        Column("COMMISSION", _R, AMOUNT),
        Column("REFUND_AMOUNT", _C, AMOUNT),
        Column("BENEFICIARY_FIRSTNAME", _O, text(50)),
        Column("BENEFICIARY_LASTNAME", _O, text(50)),
        Column("CONTACT_NUMBER", _O, ANY_VALUE),
        Column("CONTACT_EMAIL", _O, ANY_VALUE),
        Column("CONTACT_PHONE", _O, ANY_VALUE),
        Column("CONTACT_ADDRESS", _O, ANY_VALUE),
        Column("POINT_OF_SALE", _R, CODE),
        Column("SOLD_AT", _R, TIMESTAMP),
        Column("STATE_CHANGED_AT", _R, TIMESTAMP),
    ),
)

STOCK = FileSchema(
    FileType.STOCK,
    (
        Column("PRODUCT_CODE", _R, CODE),
        Column("PERFORMANCE_CODE", _C, CODE),
        Column("SEATCAT_CODE", _R, CODE),
        Column("GIVEN", _R, INTEGER),
        Column("SOLD", _R, INTEGER),
        Column("AVAILABLE", _R, INTEGER),
        Column("TICKETS_FILE_NUMBER", _R, INTEGER),
        Column("SNAPSHOT_AT", _R, TIMESTAMP),
    ),
)

RESULT = FileSchema(
    FileType.RESULT,
    (
        Column("LINE_NUMBER", _R, INTEGER),
        Column("STATUS", _R, STATUS),
        Column("ERROR_CODE", _C, CODE),
        Column("AVAILABLE", _C, INTEGER),
        Column("MESSAGE", _O, text(200)),
    ),
)

SCHEMAS: Final[dict[FileType, FileSchema]] = {s.type: s for s in (TICKETS, STOCK, RESULT)}
"""The files the organiser reads."""

OFFER = FileSchema(
    FileType.OFFER,
    (
        Column("PRODUCT_CODE", _R, CODE),
        Column("PRODUCT_NAME", _R, text(120)),
        Column("PRODUCT_KIND", _R, ANY_VALUE),
        Column("PERFORMANCE_CODE", _C, CODE),
        Column("PERFORMANCE_START", _C, TIMESTAMP),
        Column("VENUE_NAME", _R, text(60)),
        Column("CITY", _R, text(60)),
        Column("COUNTRY", _R, COUNTRY),
        Column("PASS_VALIDITY_START", _O, DATE),
        Column("PASS_VALIDITY_END", _C, DATE),
        Column("SEATCAT_CODE", _R, CODE),
        Column("SEATCAT_NAME", _R, text(60)),
        Column("TARIFF_CODE", _R, CODE),
        Column("TARIFF_NAME", _R, text(60)),
        Column("PRICE", _R, AMOUNT),
        Column("CURRENCY", _R, ANY_VALUE),
        Column("SALES_START", _R, TIMESTAMP),
        Column("SALES_END", _R, TIMESTAMP),
        Column("ON_SALE", _R, BOOLEAN),
    ),
)

_PLACES = (
    Column("PRODUCT_CODE", _R, CODE),
    Column("PERFORMANCE_CODE", _C, CODE),
    Column("SEATCAT_CODE", _R, CODE),
    Column("SEAT", _C, SEAT),
    Column("QUANTITY", _R, QUANTITY),
)
CONTINGENT = FileSchema(FileType.CONTINGENT, _PLACES)
WITHDRAW = FileSchema(FileType.WITHDRAW, _PLACES)
"""Same columns as CONTINGENT (section 8.3)."""

ORGANISER_SCHEMAS: Final[dict[FileType, FileSchema]] = {
    s.type: s for s in (OFFER, CONTINGENT, WITHDRAW)
}
"""The files the organiser writes and the reseller reads (section 8)."""
ALL_SCHEMAS: Final[dict[FileType, FileSchema]] = {**SCHEMAS, **ORGANISER_SCHEMAS}

IMMUTABLE_COLUMNS: Final = (
    "ORDER_NUMBER",
    "PRODUCT_CODE",
    "PERFORMANCE_CODE",
    "PASS_VALIDITY_END",
    "SEATCAT_CODE",
    "TARIFF_CODE",
    "SEAT",
    "PRICE",
    "CURRENCY",
    "COMMISSION",
    "POINT_OF_SALE",
    "SOLD_AT",
)
"""TICKETS columns that never change once a barcode is applied (section 7.1); and
``REFUND_AMOUNT`` once the ticket is ``REFUNDED``."""
