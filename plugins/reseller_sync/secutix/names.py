"""File names and numbering (``secutix-reseller-v1`` sections 3 and 4).

A name that section 4 does not define parses to ``None``: readers ignore it
(section 3, point 3). A name ending in ``.part`` is an upload in progress:
it parses with ``partial`` set, and readers ignore it too.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

MAX_NUMBER: Final = 99_999_999
PARTIAL_SUFFIX: Final = ".part"


class FileType(StrEnum):
    TICKETS = "TICKETS"
    STOCK = "STOCK"
    RESULT = "RESULT"
    OFFER = "OFFER"
    CONTINGENT = "CONTINGENT"
    WITHDRAW = "WITHDRAW"

    @property
    def from_reseller(self) -> bool:
        """The reseller writes TICKETS, STOCK and RESULT; the organiser the others."""
        return self in READ_BY_ORGANISER

    @property
    def dated(self) -> bool:
        """STOCK is named after its snapshot's date; every other type by a number."""
        return self is FileType.STOCK


READ_BY_ORGANISER: Final = frozenset({FileType.TICKETS, FileType.STOCK, FileType.RESULT})
ORGANISER_SEQUENCE: Final = frozenset({FileType.OFFER, FileType.CONTINGENT, FileType.WITHDRAW})
"""Types sharing the organiser's file number (section 4)."""


class NameKind(StrEnum):
    DATA = "csv"
    CONTROL = "ctl"


_NAME = re.compile(
    r"(?P<type>TICKETS|RESULT|OFFER|CONTINGENT|WITHDRAW|STOCK)_(?P<key>[0-9]{8})"
    r"\.(?P<kind>csv|ctl)(?P<partial>\.part)?"
)


@dataclass(frozen=True, order=True)
class FileName:
    """A parsed name: ``<TYPE>_<key>.csv`` or ``.ctl``, maybe with ``.part``.

    ``key`` is the file number (1 to 99999999), or for STOCK the snapshot's
    date as the integer ``YYYYMMDD`` (so that names sort in reading order).
    """

    type: FileType
    key: int
    kind: NameKind = NameKind.DATA
    partial: bool = False

    def __post_init__(self) -> None:
        if self.type.dated:
            _date_of(self.key)
        elif not 1 <= self.key <= MAX_NUMBER:
            raise ValueError(f"a file number is 1 to {MAX_NUMBER}, not {self.key}")

    @classmethod
    def parse(cls, name: str) -> FileName | None:
        """The parts of ``name``, or None when section 4 does not define it."""
        match = _NAME.fullmatch(name)
        if match is None:
            return None
        file_type = FileType(match["type"])
        key = int(match["key"])
        try:
            return cls(file_type, key, NameKind(match["kind"]), match["partial"] is not None)
        except ValueError:
            return None

    @classmethod
    def numbered(cls, file_type: FileType, number: int) -> FileName:
        if file_type.dated:
            raise ValueError(f"{file_type} files are named after a date")
        return cls(file_type, number)

    @classmethod
    def stock(cls, snapshot: dt.date) -> FileName:
        return cls(FileType.STOCK, int(snapshot.strftime("%Y%m%d")))

    @property
    def number(self) -> int | None:
        """The file number; None for STOCK."""
        return None if self.type.dated else self.key

    @property
    def snapshot_date(self) -> dt.date | None:
        """The snapshot's date of a STOCK file; None for other types."""
        return _date_of(self.key) if self.type.dated else None

    @property
    def data(self) -> FileName:
        """The data file's name (complete upload)."""
        return FileName(self.type, self.key)

    @property
    def control(self) -> FileName:
        """The control file's name (complete upload)."""
        return FileName(self.type, self.key, NameKind.CONTROL)

    @property
    def uploading(self) -> FileName:
        """The name under which this file is uploaded before its rename."""
        return FileName(self.type, self.key, self.kind, partial=True)

    def __str__(self) -> str:
        suffix = PARTIAL_SUFFIX if self.partial else ""
        return f"{self.type.value}_{self.key:08d}.{self.kind.value}{suffix}"


def _date_of(key: int) -> dt.date:
    """The date ``YYYYMMDD``; ValueError when it is no date."""
    return dt.datetime.strptime(f"{key:08d}", "%Y%m%d").date()
