"""Writing the organiser's files (``secutix-reseller-v1`` sections 3 to 6 and 8): OFFER,
CONTINGENT and WITHDRAW, each with its control file.

Records are a pandas DataFrame, a pyarrow Table or a mapping of column name to values.
Values are the contract's text, or values whose text Arrow gives as the contract's:
``int`` for integers and amounts, ``bool`` for ``ON_SALE``, dates for dates.
Timestamps are given as text, with the venue's UTC offset (a timestamp type is
refused: its offset is lost). ``None`` and a missing optional or conditional column
are empty fields (a required column may be missing only when there is no record).
Columns are written in the spec's order.

The records are checked as the reseller reads them (field formats, ``F02``; for an
OFFER the line rules ``O01`` to ``O04``; for places a seat's ``QUANTITY``, ``Q08``, and
given the OFFER lines sent, ``Q01``, ``Q08`` and ``Q02``): a record that breaks the contract
raises :class:`WriteError` with every problem, and nothing is written.

The bytes are deterministic: UTF-8 without byte order mark, ``;`` between fields, a
field quoted only when it holds ``;``, ``"``, CR or LF (each ``"`` doubled), every
line ending with LF. Encoding is vectorised (Arrow compute): no Python object per line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from reseller_sync.domain.errors import ErrorCategory, SyncError
from reseller_sync.secutix.errors import Code
from reseller_sync.secutix.names import ORGANISER_SEQUENCE, FileName, FileType
from reseller_sync.secutix.reader import CONTROL_HEADER, ProblemLog, check_fields, sha256_hex
from reseller_sync.secutix.reseller_side import RESELLER_CODES, offer_verdicts, places_verdicts
from reseller_sync.secutix.schema import ORGANISER_SCHEMAS, Presence

Records: TypeAlias = (
    pd.DataFrame | pa.Table | Mapping[str, Sequence[Any] | pa.Array | pa.ChunkedArray]
)


class WriteError(SyncError):
    """Records that break the contract: nothing is written."""

    category = ErrorCategory.TECHNICAL


@dataclass(frozen=True)
class OrganiserFile:
    """A data file ready to upload, and its control file."""

    name: FileName
    data: bytes
    lines: int

    @property
    def sha256(self) -> str:
        return sha256_hex(self.data)

    @property
    def control(self) -> bytes:
        """The control file (section 6): header, then name, line count and SHA-256."""
        return f"{CONTROL_HEADER}\n{self.name};{self.lines};{self.sha256}\n".encode()

    def write_to(self, folder: Path) -> tuple[Path, Path]:
        """Write the data file, then its control file, each under ``.part`` then renamed
        (section 3, points 3 and 4); their paths."""
        written = []
        for name, data in ((self.name, self.data), (self.name.control, self.control)):
            final = folder / str(name)
            temporary = folder / str(name.uploading)
            temporary.write_bytes(data)
            os.replace(temporary, final)
            written.append(final)
        return written[0], written[1]


def build_file(
    file_type: FileType, number: int, records: Records, *, offer: pd.DataFrame | None = None
) -> OrganiserFile:
    """The organiser's file number ``number`` of ``file_type`` holding ``records``.

    ``offer``: for CONTINGENT and WITHDRAW, the OFFER lines sent before (as strings);
    given, each place is also checked against them (``Q01``, ``Q08``, ``Q02``)."""
    if file_type not in ORGANISER_SEQUENCE:
        raise ValueError(f"the organiser does not write {file_type} files")
    name = FileName.numbered(file_type, number)
    table = text_table(file_type, records, file=str(name), offer=offer)
    return OrganiserFile(name, encode(table), table.num_rows)


def text_table(
    file_type: FileType,
    records: Records,
    *,
    file: str | None = None,
    offer: pd.DataFrame | None = None,
) -> pa.Table:
    """Every column of ``file_type`` as strings (``""`` for empty), checked as the reseller
    reads them; :class:`WriteError` otherwise."""
    schema = ORGANISER_SCHEMAS[file_type]
    given = _columns(records)
    names = [c.name for c in schema.columns]
    shown = file or f"{file_type} records"
    log = ProblemLog(shown, codes=RESELLER_CODES)
    lengths = {len(values) for values in given.values()}
    if len(lengths) > 1:
        raise WriteError(f"{shown}: columns of different lengths {sorted(lengths)}", file=file)
    length = lengths.pop() if lengths else 0
    for unknown in sorted(set(given) - set(names)):
        log.add(Code.F02, f"not a column of {file_type} files", column=unknown)
    for column in schema.columns:
        if length and column.presence is Presence.REQUIRED and column.name not in given:
            log.add(Code.F02, "a required column is missing", column=column.name)
    if log:
        raise WriteError(f"{shown}: not written", problems=log.listed(), file=file)
    table = pa.table({name: _text(given.get(name), length, name) for name in names})
    frame = table.to_pandas()
    frame.index = pd.RangeIndex(1, length + 1, name="line")
    check_fields(schema, frame, log)
    if not log and length:
        verdicts = (
            offer_verdicts(frame) if file_type is FileType.OFFER else places_verdicts(frame, offer)
        )
        for line, code, message in verdicts.loc[verdicts["ERROR_CODE"] != ""].itertuples():
            log.add(Code(code), message, line=int(line))
    if log:
        raise WriteError(f"{shown}: not written", problems=log.listed(), file=file)
    return table


def encode(table: pa.Table) -> bytes:
    """The data file's bytes: the header, then one line per row."""
    header = (";".join(table.column_names) + "\n").encode()
    return header + _body(table)


def _columns(records: Records) -> dict[str, Any]:
    if isinstance(records, pd.DataFrame):
        return {str(name): pa.array(records[name], from_pandas=True) for name in records.columns}
    if isinstance(records, pa.Table):
        return {name: records.column(name) for name in records.column_names}
    return dict(records)


def _text(values: Any, length: int, name: str) -> pa.Array:
    if values is None:
        return pa.array([""] * length, pa.string()) if length else pa.array([], pa.string())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    elif not isinstance(values, pa.Array):
        values = pa.array(list(values))
    if pa.types.is_timestamp(values.type):
        raise WriteError(f"{name}: give timestamps as text with the venue's UTC offset")
    if pa.types.is_null(values.type):
        values = values.cast(pa.string())
    if pa.types.is_boolean(values.type):
        values = pc.if_else(values, "1", "0")
    return pc.fill_null(values.cast(pa.string()), "")


def _body(table: pa.Table) -> bytes:
    """The rows, each field quoted only when it holds ; " CR or LF, each ending with LF."""
    if table.num_rows == 0:
        return b""
    fields = [_quoted(table.column(name).combine_chunks()) for name in table.column_names]
    separator = pa.scalar(";", pa.large_string())
    empty, newline = pa.scalar("", pa.large_string()), pa.scalar("\n", pa.large_string())
    rows = pc.binary_join_element_wise(*[f.cast(pa.large_string()) for f in fields], separator)
    lines = pc.binary_join_element_wise(rows, empty, newline)
    _, offsets, data = lines.buffers()
    starts = memoryview(offsets).cast("q")
    return data.slice(
        starts[lines.offset], starts[lines.offset + len(lines)] - starts[lines.offset]
    ).to_pybytes()


def _quoted(values: pa.Array) -> pa.Array:
    needs = pc.match_substring_regex(values, '[;"\r\n]')
    if not pc.any(needs).as_py():
        return values
    escaped = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
    return pc.if_else(needs, escaped, values)
