"""The reseller's files as bytes (``secutix-reseller-v1`` sections 5 and 6): TICKETS, STOCK
and RESULT, each with its control file.

The codec's writer (:mod:`reseller_sync.secutix.writer`) writes only the organiser's
files; its encoder (:func:`~reseller_sync.secutix.writer.encode`) is the one of section 5
for any table of text: UTF-8 without byte order mark, ``;`` between fields, a field
quoted only when it holds ``;``, ``"``, CR or LF, every line ending with LF. Rows here
are dicts of text, written in the columns' order of section 7 (``""`` for a missing
column).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from reseller_sync.secutix.names import FileName, FileType
from reseller_sync.secutix.reader import CONTROL_HEADER, sha256_hex
from reseller_sync.secutix.schema import SCHEMAS
from reseller_sync.secutix.writer import encode

Row = dict[str, str]

COLUMNS: dict[FileType, tuple[str, ...]] = {
    file_type: tuple(column.name for column in schema.columns)
    for file_type, schema in SCHEMAS.items()
}
"""The columns of TICKETS, STOCK and RESULT files, in the order writers use."""


@dataclass(frozen=True)
class ResellerFile:
    """A data file ready to upload, and its control file."""

    name: FileName
    data: bytes
    lines: int

    @property
    def sha256(self) -> str:
        return sha256_hex(self.data)

    @property
    def control(self) -> bytes:
        return control_bytes(str(self.name), self.lines, self.sha256)


def control_bytes(file_name: str, lines: int, sha256: str, header: str = CONTROL_HEADER) -> bytes:
    """A control file (section 6): header, then name, line count and SHA-256."""
    return f"{header}\n{file_name};{lines};{sha256}\n".encode()


def encode_rows(file_type: FileType, rows: Sequence[Row]) -> bytes:
    """The bytes of a data file of ``file_type`` holding ``rows`` (the header alone if none)."""
    columns = COLUMNS[file_type]
    table = pa.table(
        {name: pa.array([row.get(name, "") for row in rows], pa.string()) for name in columns}
    )
    return encode(table)


def build(name: FileName, rows: Sequence[Row]) -> ResellerFile:
    return ResellerFile(name, encode_rows(name.type, rows), len(rows))
