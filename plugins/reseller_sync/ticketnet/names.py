"""Streams, batch ids and file names (``ticketnet-exchange-v1`` section 4).

A name that section 4 does not define parses to ``None``: readers ignore it
(section 3, point 3), including ``.tmp`` names of uploads in progress.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Stream(StrEnum):
    OFFER = "OFFER"
    SALES = "SALES"
    PRICETYPES = "PRICETYPES"
    INVENTORY = "INVENTORY"

    @property
    def from_ticketnet(self) -> bool:
        """Ticketnet sends every stream but ``OFFER``, which the organiser sends."""
        return self is not Stream.OFFER


class FileType(StrEnum):
    CATALOG = "CATALOG"
    ALLOCATION = "ALLOCATION"
    RELEASE = "RELEASE"
    TRANSACTIONS = "TRANSACTIONS"
    PRICETYPES = "PRICETYPES"
    INVENTORY = "INVENTORY"
    SEATS = "SEATS"


class NameKind(StrEnum):
    DATA = "data"
    MANIFEST = "manifest"
    ACK = "ack"


STREAM_TYPES: Final[dict[Stream, tuple[FileType, ...]]] = {
    Stream.OFFER: (FileType.CATALOG, FileType.ALLOCATION, FileType.RELEASE),
    Stream.SALES: (FileType.TRANSACTIONS,),
    Stream.PRICETYPES: (FileType.PRICETYPES,),
    Stream.INVENTORY: (FileType.INVENTORY, FileType.SEATS),
}
"""The file types a batch of each stream may hold, in processing order (sections 4 and 9)."""

REQUIRED_TYPES: Final[dict[Stream, tuple[FileType, ...]]] = {
    Stream.OFFER: (),
    Stream.SALES: (FileType.TRANSACTIONS,),
    Stream.PRICETYPES: (FileType.PRICETYPES,),
    Stream.INVENTORY: (FileType.INVENTORY,),
}
"""The types a batch of each stream must hold at least one part of."""

SINGLE_PART_TYPES: Final[frozenset[FileType]] = frozenset({FileType.PRICETYPES})
"""Types of exactly one part (section 4)."""

MAX_RECORDS_PER_PART: Final = 500_000

NAME_PATTERN: Final = re.compile(
    r"^(OFFER|SALES|PRICETYPES|INVENTORY)_PR[0-9]{5}_[0-9]{8}\."
    r"((CATALOG|ALLOCATION|RELEASE|TRANSACTIONS|PRICETYPES|INVENTORY|SEATS)\.[1-9][0-9]*\.csv\.gz"
    r"|manifest\.json|ack\.json)$"
)
"""The whole name of a data file, manifest or ACK, as section 4 writes it."""

_PARTS = re.compile(
    r"(?P<stream>[A-Z]+)_(?P<promoter>PR[0-9]{5})_(?P<number>[0-9]{8})\."
    r"(?:(?P<type>[A-Z]+)\.(?P<part>[0-9]+)\.csv\.gz|(?P<kind>manifest|ack)\.json)"
)
_BATCH_ID = re.compile(r"(OFFER|SALES|PRICETYPES|INVENTORY)_(PR[0-9]{5})_([0-9]{8})")
PROMOTER_PATTERN: Final = re.compile(r"PR[0-9]{5}")


@dataclass(frozen=True, order=True)
class BatchId:
    """``<STREAM>_<PROMOTER>_<NUMBER>``, the number on eight digits."""

    stream: Stream
    promoter: str
    number: int

    def __post_init__(self) -> None:
        if not PROMOTER_PATTERN.fullmatch(self.promoter):
            raise ValueError(f"a promoter code is PR and 5 digits, not {self.promoter!r}")
        if not 1 <= self.number <= 99_999_999:
            raise ValueError(f"a batch number is 1 to 99999999, not {self.number}")

    def __str__(self) -> str:
        return f"{self.stream.value}_{self.promoter}_{self.number:08d}"

    @classmethod
    def parse(cls, text: str) -> BatchId | None:
        match = _BATCH_ID.fullmatch(text)
        if match is None or int(match[3]) == 0:
            return None
        return cls(Stream(match[1]), match[2], int(match[3]))

    @property
    def manifest_name(self) -> str:
        return f"{self}.manifest.json"

    @property
    def ack_name(self) -> str:
        return f"{self}.ack.json"

    def data_file_name(self, file_type: FileType, part: int) -> str:
        if file_type not in STREAM_TYPES[self.stream]:
            raise ValueError(f"a {self.stream} batch holds no {file_type} file")
        if part < 1:
            raise ValueError(f"parts are numbered from 1, not {part}")
        return f"{self}.{file_type.value}.{part}.csv.gz"


@dataclass(frozen=True)
class FileName:
    """A parsed name of a data file, a manifest or an ACK."""

    batch: BatchId
    kind: NameKind
    type: FileType | None = None
    part: int | None = None

    @classmethod
    def parse(cls, name: str) -> FileName | None:
        """The parts of ``name``, or None when section 4 does not define it."""
        if not NAME_PATTERN.match(name):
            return None
        match = _PARTS.fullmatch(name)
        assert match is not None  # NAME_PATTERN is stricter
        if int(match["number"]) == 0:
            return None
        batch = BatchId(Stream(match["stream"]), match["promoter"], int(match["number"]))
        if match["kind"] is not None:
            return cls(batch, NameKind(match["kind"]))
        return cls(batch, NameKind.DATA, FileType(match["type"]), int(match["part"]))

    def __str__(self) -> str:
        if self.kind is NameKind.MANIFEST:
            return self.batch.manifest_name
        if self.kind is NameKind.ACK:
            return self.batch.ack_name
        assert self.type is not None
        assert self.part is not None
        return self.batch.data_file_name(self.type, self.part)
