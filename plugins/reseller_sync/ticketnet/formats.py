"""Field formats of ``ticketnet-exchange-v1`` (section 5 field types, sections 2, 7 and 8),
checked vectorised on Arrow string arrays.

Each format looks at the filled (non-empty) values of one column chunk and
returns the mask of the invalid ones, or ``None`` when all are valid: the
common case costs a pass over the column's bytes (``bytes.translate``, numpy)
and no Python object per value. Codes, integers, amounts and timestamps are
ASCII, so their lengths in bytes are their lengths in characters.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Mask = np.ndarray
"""A boolean numpy array, one entry per record of a chunk."""

_DIGITS = string.digits
_UPPER = string.ascii_uppercase


@dataclass(frozen=True)
class Strings:
    """Numpy views of an Arrow string array without nulls: no copy."""

    array: pa.Array
    offsets: np.ndarray
    """``len + 1`` offsets (int32 or int64) into :attr:`data`, starting at 0."""
    data: np.ndarray
    """The values' bytes, uint8."""

    @classmethod
    def of(cls, array: pa.Array) -> Strings:
        if array.null_count:
            array = pc.fill_null(array, "")
        large = pa.types.is_large_string(array.type)
        _, offsets_buffer, data_buffer = array.buffers()
        count = array.offset + len(array) + 1
        offsets = np.frombuffer(offsets_buffer, dtype=np.int64 if large else np.int32, count=count)[
            array.offset :
        ]
        start, end = (int(offsets[0]), int(offsets[-1])) if len(offsets) else (0, 0)
        data = (
            np.frombuffer(data_buffer, dtype=np.uint8)[start:end]
            if data_buffer is not None
            else np.empty(0, np.uint8)
        )
        return cls(array, offsets - start if start else offsets, data)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @cached_property
    def lengths(self) -> np.ndarray:
        """Length of each value in bytes."""
        return np.diff(self.offsets)

    @cached_property
    def filled(self) -> Mask:
        return self.lengths > 0

    def rows_of_bytes(self, positions: np.ndarray) -> np.ndarray:
        """The row holding each byte position."""
        return np.searchsorted(self.offsets, positions, side="right") - 1

    def rows_with_bytes_outside(self, allowed: bytes) -> Mask:
        """Rows holding a byte not in ``allowed`` (cheap when there is none)."""
        mask = np.zeros(len(self), dtype=bool)
        if not self.data.tobytes().translate(None, allowed):
            return mask
        table = np.zeros(256, dtype=bool)
        table[np.frombuffer(allowed, dtype=np.uint8)] = True
        positions = np.flatnonzero(~table[self.data])
        mask[np.unique(self.rows_of_bytes(positions))] = True
        return mask

    def first_bytes(self, rows: Mask) -> np.ndarray:
        """The first byte of each row (0 for an empty one)."""
        result = np.zeros(len(self), dtype=np.uint8)
        starts = self.offsets[:-1][rows & self.filled]
        result[rows & self.filled] = self.data[starts]
        return result


class Format:
    """A field format; :meth:`invalid` looks at the filled values only."""

    description: str = ""

    def invalid(self, values: Strings) -> Mask | None:
        raise NotImplementedError

    def reason(self) -> str:
        return f"must be {self.description}"


@dataclass(frozen=True)
class Chars(Format):
    """A code: characters of a set, a length between bounds (section 2)."""

    allowed: str
    min_length: int
    max_length: int
    description: str = ""

    def invalid(self, values: Strings) -> Mask | None:
        lengths = values.lengths
        filled = values.filled
        wrong_length = filled & ((lengths < self.min_length) | (lengths > self.max_length))
        if not values.data.tobytes().translate(None, self.allowed.encode()):
            return wrong_length if wrong_length.any() else None
        return wrong_length | values.rows_with_bytes_outside(self.allowed.encode())


@dataclass(frozen=True)
class Integer(Format):
    """``0``, or a digit 1-9 followed by digits; ``max_digits`` bounds it, ``zero`` allows 0."""

    max_digits: int = 18
    zero: bool = True
    description: str = "an integer (0, or digits without a leading zero)"

    def invalid(self, values: Strings) -> Mask | None:
        filled, lengths = values.filled, values.lengths
        wrong = filled & (lengths > self.max_digits)
        if values.data.tobytes().translate(None, _DIGITS.encode()):
            wrong |= values.rows_with_bytes_outside(_DIGITS.encode())
        first = values.first_bytes(filled)
        wrong |= filled & (first == ord("0")) & ((lengths > 1) | (not self.zero))
        return wrong if wrong.any() else None


@dataclass(frozen=True)
class Amount(Format):
    """``^(0|[1-9][0-9]{0,6})\\.[0-9]{2}$``: never negative, two decimals."""

    description: str = "an amount such as 42.50 (digits, a point, two digits; no sign)"

    def invalid(self, values: Strings) -> Mask | None:
        filled, lengths = values.filled, values.lengths
        wrong = filled & ((lengths < 4) | (lengths > 10))
        if values.data.tobytes().translate(None, b"0123456789."):
            wrong |= values.rows_with_bytes_outside(b"0123456789.")
        shaped = filled & ~wrong
        point = np.zeros(len(values), dtype=bool)
        point[shaped] = values.data[values.offsets[1:][shaped] - 3] == ord(".")
        wrong |= shaped & ~point
        # One point per value. Each value with its point in place holds at least one: when
        # the column holds no more points than those values, each holds exactly one.
        points = int(np.count_nonzero(values.data == ord(".")))
        if points != int(np.count_nonzero(shaped & point)):
            dots = np.concatenate(([0], np.cumsum(values.data == ord("."), dtype=np.int64)))
            wrong |= filled & ((dots[values.offsets[1:]] - dots[values.offsets[:-1]]) != 1)
        first = values.first_bytes(filled)
        wrong |= filled & (first == ord("0")) & (lengths != 4)
        return wrong if wrong.any() else None


_TIMESTAMP_LENGTH = 25
_TIMESTAMP_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 23, 24])
_TIMESTAMP_MARKS = {4: b"-", 7: b"-", 10: b"T", 13: b":", 16: b":", 22: b":"}
_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


@dataclass(frozen=True)
class Timestamp(Format):
    """``YYYY-MM-DDTHH:MM:SS+HH:MM`` (or ``-HH:MM``), a real date and time."""

    description: str = (
        "a timestamp YYYY-MM-DDTHH:MM:SS+HH:MM (seconds and a numeric UTC offset; "
        "no fraction, no Z), a real date and time"
    )

    def invalid(self, values: Strings) -> Mask | None:
        filled, lengths = values.filled, values.lengths
        wrong = filled & (lengths != _TIMESTAMP_LENGTH)
        shaped = filled & ~wrong
        if shaped.all():
            matrix = values.data.reshape(-1, _TIMESTAMP_LENGTH)
        else:
            starts = values.offsets[:-1][shaped]
            matrix = values.data[starts[:, None] + np.arange(_TIMESTAMP_LENGTH)]
        # Column by column (strided uint8 views): no per-row Python, few temporaries.
        ok = np.ones(len(matrix), dtype=bool)
        for position, mark in _TIMESTAMP_MARKS.items():
            ok &= matrix[:, position] == mark[0]
        sign = matrix[:, 19]
        ok &= (sign == ord("+")) | (sign == ord("-"))
        for position in _TIMESTAMP_DIGITS.tolist():
            ok &= (matrix[:, position] - np.uint8(ord("0"))) <= 9

        def two(first: int) -> np.ndarray:
            tens = matrix[:, first] - np.uint8(ord("0"))
            return tens * np.uint8(10) + (matrix[:, first + 1] - np.uint8(ord("0")))

        month, day = two(5), two(8)
        ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
        ok &= (two(11) <= 23) & (two(14) <= 59) & (two(17) <= 59)
        ok &= (two(20) <= 23) & (two(23) <= 59)
        short = ok & (day > 28)
        if short.any():
            rows = np.flatnonzero(short)
            year = two(0)[rows].astype(np.int32) * 100 + two(2)[rows]
            leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
            month_of = month[rows].astype(np.int64)
            days = _DAYS_IN_MONTH[month_of] - ((month_of == 2) & ~leap)
            ok[rows] &= day[rows] <= days
        wrong[shaped] = ~ok
        return wrong if wrong.any() else None


@dataclass(frozen=True)
class OneOf(Format):
    """One of a few words."""

    values: tuple[str, ...]
    description: str = ""

    def __post_init__(self) -> None:
        if not self.description:
            object.__setattr__(self, "description", "one of " + ", ".join(self.values))

    def invalid(self, values: Strings) -> Mask | None:
        known = pc.is_in(values.array, value_set=pa.array(self.values, values.array.type))
        wrong = values.filled & ~np.asarray(known.to_numpy(zero_copy_only=False), dtype=bool)
        return wrong if wrong.any() else None


@dataclass(frozen=True)
class Text(Format):
    """Any UTF-8 text of at most ``max_length`` characters (None: any length)."""

    max_length: int | None = None
    description: str = field(default="")

    def __post_init__(self) -> None:
        if not self.description:
            text = f"text of at most {self.max_length} characters" if self.max_length else "text"
            object.__setattr__(self, "description", text)

    def invalid(self, values: Strings) -> Mask | None:
        if self.max_length is None:
            return None
        suspects = values.lengths > self.max_length
        if not suspects.any():
            return None
        characters = pc.utf8_length(values.array).to_numpy(zero_copy_only=False)
        wrong = np.asarray(characters > self.max_length, dtype=bool)
        return wrong if wrong.any() else None

    def reason(self) -> str:
        return f"is longer than {self.max_length} characters"


def code(allowed: str, min_length: int, max_length: int, what: str) -> Chars:
    return Chars(allowed, min_length, max_length, what)


TRANSACTION_ID = code(_UPPER + _DIGITS + "-", 1, 24, "1 to 24 characters A-Z 0-9 -")
EVENT_ID = code("0123456789ABCDEF", 16, 16, "16 characters 0-9 A-F")
PERFORMANCE_ID = code(_UPPER + _DIGITS, 1, 12, "1 to 12 characters A-Z 0-9")
VENUE_CODE = code(_UPPER + _DIGITS + "-", 3, 20, "3 to 20 characters A-Z 0-9 -")
SECTION = code(_UPPER + _DIGITS + "-", 1, 10, "1 to 10 characters A-Z 0-9 -")
AREA = SECTION
ROW = code(_UPPER + _DIGITS, 1, 4, "1 to 4 characters A-Z 0-9")
SEAT = ROW
PRICE_LEVEL = ROW
PRICE_TYPE = code(_UPPER + _DIGITS + "_", 1, 12, "1 to 12 characters A-Z 0-9 _")
ORG_CODE = code(_UPPER + _DIGITS + "_-", 1, 20, "1 to 20 characters A-Z 0-9 _ -")
CURRENCY = code(_UPPER, 3, 3, "three capital letters (an ISO 4217 code)")
BARCODE = code(_DIGITS, 12, 20, "12 to 20 digits")
LINE_ID = Integer(max_digits=3, zero=False, description="an integer from 1 to 999")
INTEGER = Integer()
QUANTITY = Integer(zero=False, description="an integer of at least 1")
AMOUNT = Amount()
TIMESTAMP = Timestamp()
BOOLEAN = OneOf(("true", "false"))


@dataclass(frozen=True)
class Outlet(Format):
    """``WEB``, ``APP``, ``PHONE``, or ``S`` and 5 digits."""

    description: str = "WEB, APP, PHONE, or S and 5 digits"

    def invalid(self, values: Strings) -> Mask | None:
        named = np.asarray(
            pc.is_in(values.array, value_set=pa.array(["WEB", "APP", "PHONE"])).to_numpy(
                zero_copy_only=False
            ),
            dtype=bool,
        )
        rest = values.filled & ~named
        if not rest.any():
            return None
        shops = pc.match_substring_regex(values.array.filter(pa.array(rest)), "^S[0-9]{5}$")
        wrong = np.zeros(len(values), dtype=bool)
        wrong[np.flatnonzero(rest)] = ~np.asarray(shops.to_numpy(zero_copy_only=False), dtype=bool)
        return wrong if wrong.any() else None


OUTLET = Outlet()
