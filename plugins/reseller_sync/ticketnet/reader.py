"""Verifying and reading a batch (``ticketnet-exchange-v1`` sections 5 and 6).

:func:`read_batch` verifies a batch in the order of section 6 and stops at
the first step that fails, refusing the whole batch with that step's code
and every problem of that step:

1. the manifest is valid (``R01``);
2. every listed file exists (``R02``);
3. no data file of the batch is left out of the list (``R05``): a name that
   section 4 defines and that starts with ``<batch_id>.``; other names are
   ignored (section 3, point 3);
4. each file's SHA-256 equals the listed one (``R03``);
5. each file is one gzip member, UTF-8 without byte order mark, with LF line
   ends (a CR only inside a quoted field), and parses as CSV with every
   record as wide as the header (``R06``);
6. each file's record count equals ``records`` (``R04``);
7. the header names every required column once, and each record's fields
   have their formats and follow the per-record rules (``R06``).

An ``OFFER`` batch (the organiser's) gets Ticketnet's codes ``B01`` to ``B06``
instead, as a sandbox of Ticketnet reads it.

Columns whose name starts with ``buyer_`` are left out of the parse from the
header on (``include_columns``): their values are never materialised, never
checked, never in a problem nor in the returned tables (section 11). Columns
the type does not define are ignored the same way.

Each part becomes a pyarrow Table of strings with a fixed schema: the type's
columns but the buyer ones, in the spec's order; an empty field is ``""``
(never null); an optional column missing from the header is all ``""``. The
parse is Arrow's multi-threaded CSV reader; checks are vectorised; the parts
are decoded two at a time. Records are numbered within each part (1 = first
record after the header).
"""

from __future__ import annotations

import codecs
import csv
import ctypes
import io
import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from isal import isal_zlib

from reseller_sync.core.text_csv import parse_text_columns
from reseller_sync.ticketnet.checks import ProblemLog, check_records
from reseller_sync.ticketnet.errors import (
    BatchRefusedError,
    Code,
    OfferRefusedError,
    TicketnetProblem,
    refused,
    verification_code,
)
from reseller_sync.ticketnet.formats import Strings
from reseller_sync.ticketnet.manifest import Manifest, ManifestFile, parse_manifest, sha256_hex
from reseller_sync.ticketnet.names import BatchId, FileName, FileType, NameKind
from reseller_sync.ticketnet.schema import FileSchema, is_buyer_column, schema_of

_BOM = b"\xef\xbb\xbf"
_GZIP_MAGIC = b"\x1f\x8b"
_LF_SEARCH = re.compile(rb"\n")
_EMPTY_LINE = re.compile(rb"\n\n")
_INFLATE_ERROR = cast(type[Exception], isal_zlib.error)  # the stubs declare an instance
WORKERS = 2
"""Parts decoded at the same time (each parse is multi-threaded too)."""


class BatchSource(Protocol):
    """Where the files of a batch are: a local folder, a landing area..."""

    def names(self) -> Iterable[str]:
        """Every file name there (no folder)."""
        ...

    def read_bytes(self, name: str) -> bytes:
        """The bytes of ``name``; ``FileNotFoundError`` when it is not there."""
        ...


@dataclass(frozen=True)
class FolderSource:
    """A batch's files in a local folder."""

    folder: Path

    def names(self) -> Iterable[str]:
        return sorted(p.name for p in self.folder.iterdir() if p.is_file())

    def read_bytes(self, name: str) -> bytes:
        return (self.folder / name).read_bytes()


@dataclass(frozen=True)
class Part:
    """One data file, read: its records as strings."""

    name: str
    type: FileType
    part: int
    table: pa.Table

    @property
    def records(self) -> int:
        return self.table.num_rows


@dataclass(frozen=True)
class Batch:
    """A verified batch: its manifest and its parts in processing order."""

    manifest: Manifest
    manifest_sha256: str
    parts: tuple[Part, ...]

    @property
    def batch(self) -> BatchId:
        return self.manifest.batch

    def parts_of(self, file_type: FileType) -> tuple[Part, ...]:
        return tuple(p for p in self.parts if p.type is file_type)

    def table(self, file_type: FileType) -> pa.Table:
        """The parts of ``file_type`` as one table (no copy), in part order."""
        tables = [p.table for p in self.parts_of(file_type)]
        return pa.concat_tables(tables) if tables else empty_table(file_type)


def table_schema(file_type: FileType) -> pa.Schema:
    """The fixed schema of a read part: the read columns, all strings."""
    return pa.schema([(c.name, pa.string()) for c in schema_of(file_type).read_columns])


def empty_table(file_type: FileType) -> pa.Table:
    return table_schema(file_type).empty_table()


def read_batch(
    source: BatchSource,
    batch: BatchId | str,
    *,
    manifest_bytes: bytes | None = None,
    arrived_sha256: Mapping[str, str] | None = None,
    unkept: Mapping[str, str] | None = None,
) -> Batch:
    """Verify and read the batch ``batch`` of ``source`` (section 6).

    ``arrived_sha256``: each data file's SHA-256 as it arrived, when ``source`` holds the
    copies the organiser keeps, their buyer values emptied (section 11): the manifest's
    checksums are compared with those. ``unkept``: data files of which the organiser kept
    no copy, their syntax broken (section 11), with why: refused at step 5 (``R06``).

    Raises :class:`BatchRefusedError` (or :class:`OfferRefusedError` for an
    ``OFFER`` batch) with the first failing step's code, and
    ``FileNotFoundError`` when the manifest is not there (the batch is not
    visible yet).
    """
    batch_id = batch if isinstance(batch, BatchId) else BatchId.parse(batch)
    if batch_id is None:
        raise ValueError(f"not a batch id: {batch!r}")
    ticketnet = batch_id.stream.from_ticketnet

    def code(step: str) -> Code:
        return verification_code(step, from_ticketnet=ticketnet)

    name = batch_id.manifest_name
    data = source.read_bytes(name) if manifest_bytes is None else manifest_bytes
    manifest = parse_manifest(name, data, code=code("manifest"))
    listed = manifest.in_processing_order()
    batch_text = str(batch_id)

    contents: dict[str, bytes] = {}
    log = ProblemLog()
    for entry in listed:
        try:
            contents[entry.name] = source.read_bytes(entry.name)
        except FileNotFoundError:
            log.add(
                code("missing"), "the manifest lists this file but it is missing", file=entry.name
            )
    _raise_if(log, batch_text)

    listed_names = {entry.name for entry in listed}
    for other in source.names():
        parsed = FileName.parse(other)
        if (
            parsed is not None
            and parsed.kind is NameKind.DATA
            and parsed.batch == batch_id
            and other not in listed_names
        ):
            log.add(
                code("unlisted"),
                "a data file of the batch is not listed in the manifest",
                file=other,
            )
    _raise_if(log, batch_text)

    # Each worker hashes a file, then decodes it; problems are reported in the steps' order.
    syntax = code("syntax")

    def work(entry: ManifestFile) -> tuple[str, DecodedPart]:
        data = contents.pop(entry.name)
        arrived = arrived_sha256.get(entry.name) if arrived_sha256 is not None else None
        if unkept and entry.name in unkept:
            result = DecodedPart(entry.name)
            result.parse_problems.add(syntax, unkept[entry.name], file=entry.name)
            return arrived or sha256_hex(data), result
        return arrived or sha256_hex(data), decode_part(entry.name, entry.type, data, syntax)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        hashed = list(pool.map(work, listed))
    for entry, (actual, _) in zip(listed, hashed, strict=True):
        if actual != entry.sha256:
            log.add(
                code("sha256"),
                f"the SHA-256 of the file is {actual}, the manifest lists {entry.sha256}",
                file=entry.name,
            )
    _raise_if(log, batch_text)
    decoded = [result for _, result in hashed]
    for result in decoded:
        log.extend(result.parse_problems)
    _raise_if(log, batch_text)

    for entry, result in zip(listed, decoded, strict=True):
        assert result.table is not None
        if result.table.num_rows != entry.records:
            log.add(
                code("count"),
                f"the file holds {result.table.num_rows} records, the manifest lists "
                f"{entry.records}",
                file=entry.name,
            )
    _raise_if(log, batch_text)

    for result in decoded:
        log.extend(result.record_problems)
    _raise_if(log, batch_text)
    return Batch(
        manifest,
        sha256_hex(data),
        tuple(_part(entry, result) for entry, result in zip(listed, decoded, strict=True)),
    )


def _part(entry: ManifestFile, result: DecodedPart) -> Part:
    assert result.table is not None
    return Part(entry.name, entry.type, entry.part, result.table)


def _raise_if(log: ProblemLog, batch: str) -> None:
    if log:
        problems = log.problems()
        raise refused(batch, problems[0].code, problems, total=log.total)


@dataclass
class DecodedPart:
    """What decoding one data file found: its table, or the problems of step 5 and 7."""

    name: str
    table: pa.Table | None = None
    parse_problems: ProblemLog = field(default_factory=ProblemLog)
    """Step 5: gzip, encoding, line ends, CSV."""
    record_problems: ProblemLog = field(default_factory=ProblemLog)
    """Step 7: header columns, formats, per-record rules."""


def read_data_file(name: str, file_type: FileType, data: bytes, *, code: Code = Code.R06) -> Part:
    """Decode and check one data file on its own (no manifest): raises on any problem."""
    result = decode_part(name, file_type, data, code)
    problems = ProblemLog()
    problems.extend(result.parse_problems)
    problems.extend(result.record_problems)
    _raise_if(problems, name)
    assert result.table is not None
    parsed = FileName.parse(name)
    return Part(name, file_type, parsed.part if parsed and parsed.part else 1, result.table)


def decode_part(name: str, file_type: FileType, data: bytes, code: Code) -> DecodedPart:
    """Steps 5 and 7 of section 6 for one data file (``data``: its gzip bytes)."""
    result = DecodedPart(name)
    log = result.parse_problems

    def fail(reason: str, record: int = 0) -> DecodedPart:
        log.add(code, reason, file=name, record=record)
        return result

    text, reason = _decompress(data)
    if text is None:
        return fail(reason)
    if text.size >= 3 and text[:3].to_pybytes() == _BOM:
        return fail("the file starts with a UTF-8 byte order mark (EF BB BF); it must not")
    invalid_at = _invalid_utf8_offset(text)
    if invalid_at is not None:
        return fail(f"the text is not UTF-8 (byte {invalid_at} of the decompressed text)")
    if text.size == 0:
        return fail("the file is empty: it holds at least the header")
    view = memoryview(text)
    if _contains_byte(text, 0x0D):
        for record, why in _cr_problems(np.frombuffer(text, dtype=np.uint8)):
            log.add(code, why, file=name, record=record)
        if log:
            return result
    if _contains_byte(text, 0x22):
        for record, why in _quote_problems(np.frombuffer(text, dtype=np.uint8)):
            log.add(code, why, file=name, record=record)
        if log:
            return result
    if view[-1] != 0x0A:
        return fail("the last record does not end with LF")
    header_end = _header_end(text)
    header = _parse_header(view[:header_end].tobytes().decode("utf-8"))
    if header is None:
        return fail("the header is not a valid CSV record")
    schema = schema_of(file_type)
    table = _parse(text.slice(header_end + 1), header, schema)
    if table is None:
        for record, why in _csv_problems(view.tobytes(), len(header)):
            log.add(code, why, file=name, record=record)
        if not log:
            log.add(code, "the file cannot be parsed as CSV", file=name)
        return result
    if _has_empty_record(table) and _EMPTY_LINE.search(view):
        # Arrow reads an empty line as a record of empty fields; the contract, as one field.
        for record, why in _csv_problems(view.tobytes(), len(header)):
            log.add(code, why, file=name, record=record)
        if log:
            return result
    result.table = table
    _check_header(header, schema, name, code, result.record_problems)
    check_records(schema, table, file=name, code=code, log=result.record_problems)
    return result


def _decompress(data: bytes) -> tuple[pa.Buffer | None, str]:
    """The decompressed text of one gzip member, or None and why not.

    ISA-L's inflater (``isal``), about 2.5 times faster than zlib's or Arrow's on these files;
    it releases the GIL, so the parts of a batch inflate at the same time."""
    if len(data) < 18 or not data.startswith(_GZIP_MAGIC):
        return None, "the file is not gzip-compressed (RFC 1952)"
    decompressor = isal_zlib.decompressobj(wbits=31)
    try:
        text = decompressor.decompress(data)
    except _INFLATE_ERROR:
        return None, "the file is not valid gzip (corrupt data or checksum)"
    if not decompressor.eof:
        return None, "the gzip data is truncated"
    if decompressor.unused_data:
        if decompressor.unused_data.startswith(_GZIP_MAGIC):
            return None, "the file holds more than one gzip member; it holds one"
        return None, "bytes follow the gzip member"
    return pa.py_buffer(text), ""


def _memchr() -> Any:
    """The C library's ``memchr`` (about ten times faster than ``re`` over a big buffer, and
    it releases the GIL), or None where it cannot be loaded."""
    try:
        function = ctypes.CDLL(None).memchr
    except (OSError, AttributeError):
        return None
    function.restype = ctypes.c_void_p
    function.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    return function


_MEMCHR = _memchr()


def _contains_byte(buffer: pa.Buffer, byte: int) -> bool:
    if buffer.size == 0:
        return False
    if _MEMCHR is not None:
        return _MEMCHR(buffer.address, byte, buffer.size) is not None
    return re.search(re.escape(bytes([byte])), memoryview(buffer)) is not None


def _invalid_utf8_offset(text: pa.Buffer) -> int | None:
    """None when ``text`` is UTF-8 (Arrow's validation), else the first invalid byte."""
    offsets = pa.py_buffer(np.array([0, text.size], dtype=np.int64))
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, text]).validate(full=True)
        return None
    except pa.ArrowInvalid:
        pass
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(text)
    step = 1 << 22
    for start in range(0, len(view), step):
        try:
            decoder.decode(view[start : start + step], final=start + step >= len(view))
        except UnicodeDecodeError as error:
            return max(0, start + error.start)
    return 0


def _cr_problems(data: np.ndarray) -> list[tuple[int, str]]:
    """The CRs outside quoted fields, as (record, reason); record 0 is the header.

    A byte is inside a quoted field when an odd number of quotes precedes it
    (a doubled quote inside a field counts twice).
    """
    quotes = np.flatnonzero(data == ord('"'))
    carriages = np.flatnonzero(data == 0x0D)
    outside = carriages[np.searchsorted(quotes, carriages) % 2 == 0]
    if outside.size == 0:
        return []
    feeds = np.flatnonzero(data == 0x0A)
    line_ends = feeds[np.searchsorted(quotes, feeds) % 2 == 0]
    records = np.searchsorted(line_ends, outside)
    problems = []
    crlf = outside[(outside + 1 < data.size)]
    crlf = crlf[data[crlf + 1] == 0x0A]
    if crlf.size:
        first = int(np.searchsorted(line_ends, crlf[0]))
        problems.append(
            (first, f"the file has CR LF line ends ({crlf.size} of them); records end with LF")
        )
    lone = np.setdiff1d(outside, crlf)
    for record in np.unique(records[np.isin(outside, lone)])[:10].tolist():
        problems.append((int(record), "a CR outside a quoted field; CR may appear only inside one"))
    return problems


def _positions(data: np.ndarray, byte: int) -> np.ndarray:
    """The offsets of ``byte`` in ``data``, found a slice at a time (no text-sized mask)."""
    step = 1 << 24
    found = [
        np.flatnonzero(data[start : start + step] == byte) + start
        for start in range(0, data.size, step)
    ]
    return np.concatenate(found) if found else np.empty(0, dtype=np.intp)


def _quote_problems(data: np.ndarray) -> list[tuple[int, str]]:
    """The quotes RFC 4180 does not allow, as (record, reason); record 0 is the header.

    In a valid text the quotes alternate: the 1st, 3rd... open a field (at its
    start: after a comma, a LF or nothing) or are the second of a doubled quote
    (after a quote); the 2nd, 4th... close it (before a comma, a LF or the end)
    or are the first of a doubled quote (before a quote). Any other quote is a
    quote inside an unquoted field, or text after a closing quote, which Arrow's
    parser would otherwise read as text.
    """
    quotes = _positions(data, 0x22)
    if quotes.size == 0:
        return []
    size = data.size
    opening, closing = quotes[0::2], quotes[1::2]
    before = np.where(opening > 0, data[np.maximum(opening - 1, 0)], 0x0A)
    stray = opening[~np.isin(before, (0x2C, 0x0A, 0x22))]
    after = np.where(closing + 1 < size, data[np.minimum(closing + 1, size - 1)], 0x0A)
    trailing = closing[~np.isin(after, (0x2C, 0x0A, 0x22))]
    unclosed = quotes[-1:] if quotes.size % 2 else quotes[:0]
    if not (stray.size or trailing.size or unclosed.size):
        return []
    feeds = _positions(data, 0x0A)
    line_ends = feeds[np.searchsorted(quotes, feeds) % 2 == 0]
    problems: list[tuple[int, str]] = []
    for offsets, why in (
        (stray, "a quote inside a field that does not start with one: quote the whole field"),
        (trailing, "text follows the closing quote of a field"),
        (unclosed, "a quoted field is never closed"),
    ):
        for record in np.unique(np.searchsorted(line_ends, offsets))[:10].tolist():
            problems.append((int(record), f"the record is not valid CSV: {why}"))
    return sorted(problems)


def _header_end(text: pa.Buffer) -> int:
    """The offset of the LF ending the header (the header may have quoted names)."""
    view = memoryview(text)
    found = _LF_SEARCH.search(view)
    if found is None:
        return len(view)
    if view[: found.start()].tobytes().count(b'"') % 2 == 0:
        return found.start()
    position = 0
    quoted = False
    size = len(view)
    while position < size:
        byte = view[position]
        if byte == 0x22:
            quoted = not quoted
        elif byte == 0x0A and not quoted:
            return position
        position += 1
    return size


def _has_empty_record(table: pa.Table) -> bool:
    """Whether some record may be all empty (an empty line): its first column is empty."""
    if table.num_columns == 0 or table.num_rows == 0:
        return False
    column = table.column(0)
    return any(bool((~Strings.of(chunk).filled).any()) for chunk in column.chunks)


def _parse_header(line: str) -> list[str] | None:
    try:
        rows = list(csv.reader(io.StringIO(line, newline=""), strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


def _check_header(
    header: list[str], schema: FileSchema, name: str, code: Code, log: ProblemLog
) -> None:
    seen: set[str] = set()
    for column in header:
        if column in seen and column in schema.by_name and not is_buyer_column(column):
            log.add(
                code, f"the column {column} appears twice in the header", file=name, column=column
            )
        seen.add(column)
    for needed in schema.needed_columns:
        if needed not in seen:
            log.add(
                code, f"the header lacks the required column {needed}", file=name, column=needed
            )


def _parse(data: pa.Buffer, header: list[str], schema: FileSchema) -> pa.Table | None:
    """The data records as a table of the read columns, or None when Arrow cannot parse them."""
    read = schema.read_columns
    names = _unique_names(header)
    present = {original: unique for unique, original in zip(names, header, strict=True)}
    kept = [present[c.name] for c in read if c.name in present]
    length = 0
    if data.size:
        parsed = parse_text_columns(data, names, kept, delimiter=",", check_utf8=False)
        if parsed is None:
            return None
        length = parsed.num_rows
    else:
        parsed = None
    columns = []
    for column in read:
        if parsed is not None and column.name in present:
            columns.append(parsed.column(present[column.name]))
        else:
            columns.append(pa.chunked_array([pc.fill_null(pa.nulls(length, pa.string()), "")]))
    return pa.Table.from_arrays(columns, schema=table_schema(schema.type))


def _unique_names(header: list[str]) -> list[str]:
    """The header's names, a repeated one made unique (the file is refused anyway)."""
    seen: set[str] = set()
    names = []
    for index, name in enumerate(header):
        unique = name if name not in seen else f"{name}\x00{index}"
        seen.add(name)
        names.append(unique)
    return names


def _csv_problems(text: bytes, width: int) -> list[tuple[int, str]]:
    """Where the CSV breaks: records with another field count, or a CSV error.

    Python's csv module reads the decoded text record by record (only a
    refused file comes here); no problem quotes a record's text.
    """
    problems: list[tuple[int, str]] = []
    reader = csv.reader(io.StringIO(text.decode("utf-8"), newline=""), strict=True)
    record = -1
    try:
        for record, row in enumerate(reader):
            if record and not row:
                problems.append((record, "the record is an empty line"))
            elif record and len(row) != width:
                problems.append(
                    (record, f"the record has {len(row)} fields where the header has {width}")
                )
    except csv.Error as error:
        problems.append((record + 1, f"the record is not valid CSV ({error})"))
    return problems


__all__ = [
    "Batch",
    "BatchRefusedError",
    "BatchSource",
    "FolderSource",
    "OfferRefusedError",
    "Part",
    "TicketnetProblem",
    "decode_part",
    "empty_table",
    "read_batch",
    "read_data_file",
    "table_schema",
]
