"""Writing data files and batches (``ticketnet-exchange-v1`` sections 3 to 6), both
directions: the organiser's ``OFFER`` files, and Ticketnet's ``TRANSACTIONS``,
``PRICETYPES``, ``INVENTORY`` and ``SEATS`` for a sandbox of Ticketnet.

Records are a pyarrow Table or a mapping of column name to values (a list or
an Arrow array). Values are the contract's text, or Arrow-castable values
whose text is the contract's: ``int`` for integers, ``bool`` for booleans,
``Decimal`` with two places for amounts. ``None`` is an empty field. Columns
are written in the spec's order, every column of the type (buyer columns
included for ``TRANSACTIONS``, empty unless given).

Records are checked exactly as a reader checks them; a record that breaks
the contract raises :class:`BatchWriteError` with every problem. The CSV is
UTF-8 with LF line ends, and a field is quoted only when it holds ``,``,
``"``, CR or LF (section 5); each file is one gzip member. A type's records
are split into parts of at most 500,000 records. :meth:`BuiltBatch.write_to`
uploads data files first and the manifest last, each by ``.tmp`` and rename.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from reseller_sync.domain.errors import Problem
from reseller_sync.ticketnet.checks import ProblemLog, check_records
from reseller_sync.ticketnet.errors import BatchWriteError, Code
from reseller_sync.ticketnet.manifest import (
    Manifest,
    ManifestFile,
    is_timestamp,
    manifest_problems,
    sha256_hex,
)
from reseller_sync.ticketnet.names import (
    MAX_RECORDS_PER_PART,
    STREAM_TYPES,
    BatchId,
    FileType,
    Stream,
)
from reseller_sync.ticketnet.schema import FileSchema, schema_of

Records: TypeAlias = pa.Table | Mapping[str, Sequence[Any] | pa.Array | pa.ChunkedArray]

DEFAULT_COMPRESSLEVEL = 6


def text_table(file_type: FileType, records: Records, *, file: str | None = None) -> pa.Table:
    """Every column of ``file_type`` as strings (``""`` for empty), checked as a reader does."""
    schema = schema_of(file_type)
    given = _columns(records)
    unknown = sorted(set(given) - set(schema.by_name))
    if unknown:
        raise BatchWriteError(
            file, [Problem(f"not a column of {file_type} files", file, 0, c) for c in unknown]
        )
    length = _length(given)
    columns = {name: _text(given.get(name), length) for name in schema.names}
    table = pa.table(columns)
    _check(schema, table, file)
    return table


def encode_csv(file_type: FileType, records: Records) -> bytes:
    """The CSV text of a data file (not compressed), header first."""
    table = text_table(file_type, records)
    return _csv_header(table) + _csv_body(table)


def encode_data_file(
    file_type: FileType,
    records: Records,
    *,
    compresslevel: int = DEFAULT_COMPRESSLEVEL,
    name: str | None = None,
) -> bytes:
    """The gzip bytes of one data file holding ``records``."""
    table = text_table(file_type, records, file=name)
    return _gzip(_csv_header(table), _csv_body(table), compresslevel)


@dataclass(frozen=True)
class BuiltBatch:
    """A batch ready to upload: its data files and its manifest."""

    manifest: Manifest
    manifest_bytes: bytes
    files: dict[str, bytes]
    """Data file name -> gzip bytes, in processing order."""

    @property
    def manifest_sha256(self) -> str:
        return sha256_hex(self.manifest_bytes)

    def write_to(self, folder: Path) -> list[Path]:
        """Write the data files, then the manifest, each under ``.tmp`` then renamed."""
        written = []
        for name, data in [*self.files.items(), (self.manifest.name, self.manifest_bytes)]:
            final = folder / name
            temporary = folder / f"{name}.tmp"
            temporary.write_bytes(data)
            os.replace(temporary, final)
            written.append(final)
        return written


def build_batch(
    batch: BatchId,
    files: Mapping[FileType, Records],
    *,
    created_at: str,
    sales_batch: int | None = None,
    max_records: int = MAX_RECORDS_PER_PART,
    compresslevel: int = DEFAULT_COMPRESSLEVEL,
) -> BuiltBatch:
    """The data files and manifest of ``batch`` holding ``files`` (type -> records).

    Each type's records are split into parts of at most ``max_records``; a
    type given with no record is one part holding the header alone.
    """
    if not 1 <= max_records <= MAX_RECORDS_PER_PART:
        raise ValueError(f"max_records is 1 to {MAX_RECORDS_PER_PART}, not {max_records}")
    problems: list[Problem] = []
    if not is_timestamp(created_at):
        problems.append(Problem("created_at must be a timestamp", column="created_at"))
    if batch.stream is Stream.INVENTORY and sales_batch is None:
        problems.append(Problem("an INVENTORY batch needs sales_batch", column="sales_batch"))
    for file_type in files:
        if file_type not in STREAM_TYPES[batch.stream]:
            problems.append(Problem(f"a {batch.stream} batch holds no {file_type} file"))
    if problems:
        raise BatchWriteError(str(batch), problems)
    encoded: dict[str, bytes] = {}
    listed: list[ManifestFile] = []
    for file_type in STREAM_TYPES[batch.stream]:
        if file_type not in files:
            continue
        table = text_table(file_type, files[file_type], file=str(batch))
        header = _csv_header(table)
        starts = range(0, max(table.num_rows, 1), max_records)
        for part, start in enumerate(starts, start=1):
            chunk = table.slice(start, max_records)
            name = batch.data_file_name(file_type, part)
            data = _gzip(header, _csv_body(chunk), compresslevel)
            encoded[name] = data
            listed.append(ManifestFile(name, file_type, part, chunk.num_rows, sha256_hex(data)))
    manifest = Manifest(batch, created_at, tuple(listed), sales_batch)
    manifest_bytes = manifest.encode()
    _, invalid = manifest_problems(manifest.name, manifest_bytes)
    if invalid:
        raise BatchWriteError(
            manifest.name,
            [Problem(reason, manifest.name, 0, key) for reason, key in invalid],
        )
    return BuiltBatch(manifest, manifest_bytes, encoded)


def _columns(records: Records) -> dict[str, Any]:
    if isinstance(records, pa.Table):
        return {name: records.column(name) for name in records.column_names}
    return dict(records)


def _length(columns: Mapping[str, Any]) -> int:
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise BatchWriteError(None, [Problem(f"columns of different lengths: {sorted(lengths)}")])
    return lengths.pop() if lengths else 0


def _text(values: Any, length: int) -> pa.ChunkedArray:
    if values is None:
        return pa.chunked_array([pc.fill_null(pa.nulls(length, pa.string()), "")], pa.string())
    if not isinstance(values, pa.Array | pa.ChunkedArray):
        values = pa.array(list(values))
    if pa.types.is_null(values.type):
        values = values.cast(pa.string())
    if pa.types.is_decimal(values.type) and values.type.scale != 2:
        values = values.cast(pa.decimal128(12, 2))
    text = pc.fill_null(values.cast(pa.string()), "")
    return text if isinstance(text, pa.ChunkedArray) else pa.chunked_array([text], pa.string())


def _check(schema: FileSchema, table: pa.Table, file: str | None) -> None:
    code = Code.B06 if schema.type in STREAM_TYPES[Stream.OFFER] else Code.R06
    log = ProblemLog()
    read = table.select([c.name for c in schema.read_columns])
    check_records(schema, read, file=file or f"{schema.type} records", code=code, log=log)
    if log:
        raise BatchWriteError(file, log.problems(), total=log.total)


def _csv_header(table: pa.Table) -> bytes:
    return (",".join(table.column_names) + "\n").encode()


def _csv_body(table: pa.Table) -> bytes:
    """The records, each field quoted only when it holds , " CR or LF, each ending with LF."""
    if table.num_rows == 0:
        return b""
    fields = [_quoted(table.column(name).combine_chunks()) for name in table.column_names]
    records = pc.binary_join_element_wise(*fields, ",")
    empty, newline = pa.scalar("", pa.large_string()), pa.scalar("\n", pa.large_string())
    lines = pc.binary_join_element_wise(records.cast(pa.large_string()), empty, newline)
    _, offsets, data = lines.buffers()
    start = int.from_bytes(offsets.to_pybytes()[lines.offset * 8 : lines.offset * 8 + 8], "little")
    return data.to_pybytes()[start : start + _total_length(lines)]


def _total_length(lines: pa.Array) -> int:
    return int(pc.sum(pc.binary_length(lines)).as_py() or 0)


def _quoted(values: pa.Array) -> pa.Array:
    needs = pc.match_substring_regex(values, '[",\r\n]')
    if not pc.any(needs).as_py():
        return values
    escaped = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
    return pc.if_else(needs, escaped, values)


def _gzip(header: bytes, body: bytes, compresslevel: int) -> bytes:
    compressor = zlib.compressobj(compresslevel, zlib.DEFLATED, 31)
    return compressor.compress(header) + compressor.compress(body) + compressor.flush()
