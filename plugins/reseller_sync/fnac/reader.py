"""Reading and validating a file of any type (spec sections 5 and 6).

The file is held as bytes. Its envelope is read straight from them: the
header (first line), the column line (second) and the trailer (last line).
The data lines between them are parsed in chunks by Arrow's streaming CSV
reader (``;``, RFC 4180 quotes, line breaks inside quoted fields) into Arrow
strings, without the buyer contact columns, which are never converted. Each
chunk is validated with vectorised checks and typed. Memory stays bounded by
the chunk size plus the typed result.

Order of the checks, and what is reported together:

1. the file name, then the envelope (header against name, column line,
   trailer syntax, CR LF on those lines, the encoding's byte rules). Any
   problem there is reported alone: the file is truncated or corrupt, and
   its lines are not looked at;
2. otherwise, every problem of the data lines (line breaks, number of fields,
   values, rules between columns, uniqueness) together with a COUNT or
   CONTROL that does not match.

Line numbers are data lines as the spec counts them (1 = first data line);
0 stands for the whole file (name, header, column line, trailer, encoding).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from reseller_sync.fnac import values as v
from reseller_sync.fnac.errors import FileFormatError
from reseller_sync.fnac.names import FileName, FileType
from reseller_sync.fnac.problems import ProblemLog
from reseller_sync.fnac.schema import FileSchema, schema_of
from reseller_sync.fnac.validation import FrameValidator, finalized

ENCODINGS: dict[str, str] = {"CP1252": "cp1252", "UTF-8": "utf-8"}
"""The encodings a header may declare, and their Python codec."""
HEADER_TAG = "ENTETE"
TRAILER_TAG = "FIN"
VERSION = "1"
SEPARATOR = ";"
DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024
"""Bytes of data lines parsed per chunk (about 70,000 VENTES lines)."""

_CR, _LF = 13, 10
_SCAN_BLOCK = 8 * 1024 * 1024
_UNDEFINED_IN_CP1252 = np.zeros(256, dtype=bool)
_UNDEFINED_IN_CP1252[[0x81, 0x8D, 0x8F, 0x90, 0x9D]] = True
_UTF8_LEADS = np.zeros(256, dtype=bool)
_UTF8_LEADS[[0xC2, 0xC3, 0xC5, 0xC6, 0xCB, 0xE2]] = True
_UTF8_CONTINUATIONS = np.zeros(256, dtype=bool)
_UTF8_CONTINUATIONS[0x80:0xC0] = True
_UTF8_OF_CP1252 = re.compile(
    b"|".join(
        re.escape(character.encode("utf-8"))
        for character in bytes(range(0x80, 0x100)).decode("cp1252", errors="ignore")
    )
)
"""The UTF-8 encoding of any non-ASCII character CP1252 holds (``é`` is ``Ã©`` once misread)."""
_UTF8_WIDTH_OF_CP1252 = np.array(
    [len(bytes([byte]).decode("cp1252", errors="replace").encode("utf-8")) for byte in range(256)],
    dtype=np.int64,
)
"""Bytes each CP1252 byte takes in UTF-8 (the undefined ones never reach the decoder)."""
_LINE_BREAKS = re.compile(rb'"[^"]*(?:""[^"]*)*"|\r\n|\r|\n')
_TRAILER = re.compile(r"FIN;(?P<seq>[^;]*);(?P<count>[^;]*);(?P<control>[^;]*)")


@dataclass(frozen=True)
class Envelope:
    """What the header and trailer of a file say."""

    name: FileName
    created: datetime
    """CREATED from the header, an aware datetime with the offset written."""
    encoding: str
    """``CP1252`` or ``UTF-8``."""
    count: int
    """COUNT from the trailer: the number of data lines."""
    control: int
    """CONTROL from the trailer: the sum of the control column, in cents."""


@dataclass(frozen=True)
class ParsedFile:
    """A valid file: its envelope and its data lines, typed."""

    envelope: Envelope
    frame: pd.DataFrame
    """One row per data line, indexed by data line number (1 = first).

    Columns are those of the type's schema but the buyer contact columns:
    codes and text as ``str`` (missing: NaN), amounts and counts ``int64``,
    ``actif`` ``bool``, ``date_seance`` naive ``datetime64[us]`` (venue
    wall-clock), ``fin_validite`` naive ``datetime64[us]`` at midnight, ISO
    timestamps ``datetime64[us, UTC]``.
    """

    @property
    def name(self) -> FileName:
        return self.envelope.name


@dataclass(frozen=True)
class _Layout:
    envelope: Envelope
    columns: tuple[str, ...]
    """The column line, as in the file."""
    data_start: int
    data_end: int
    """The data lines are ``data[data_start:data_end]``, each ending with its line break."""


def read_envelope(name: str, data: bytes) -> Envelope:
    """Read and check the name, header, column line and trailer; no data line is parsed."""
    log = ProblemLog(name)
    layout = _read_layout(name, data, log)
    if layout is None:
        raise FileFormatError(name, log.problems(), total=log.total)
    return layout.envelope


def read_file(name: str, data: bytes, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> ParsedFile:
    """Read and validate a whole file; raise :class:`FileFormatError` listing every problem.

    ``name`` is the file's name (no folder), ``data`` its bytes.
    """
    reader = _FileReader(name, data)
    chunks = list(reader.chunks(chunk_size))
    frame = pd.concat(chunks) if len(chunks) > 1 else chunks[0]
    return ParsedFile(reader.layout.envelope, frame)


def iter_file_chunks(
    name: str, data: bytes, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Iterator[pd.DataFrame]:
    """Yield the typed data lines of a file in chunks, as they are validated.

    Chunks are shaped like :attr:`ParsedFile.frame`. A chunk is yielded only
    while no problem has been found. Whole-file checks (uniqueness, COUNT,
    CONTROL) run after the last chunk, and :class:`FileFormatError` may then
    be raised with every problem: treat the chunks as provisional until the
    iteration ends without error (apply them in one transaction).
    """
    yield from _FileReader(name, data).chunks(chunk_size)


class _FileReader:
    def __init__(self, name: str, data: bytes, *, transcode: bool = False) -> None:
        self.file = name
        self.data = data
        self.log = ProblemLog(name)
        layout = _read_layout(name, data, self.log)
        if layout is None:
            raise FileFormatError(name, self.log.problems(), total=self.log.total)
        self.layout = layout
        self.schema = schema_of(layout.envelope.name.type)
        self.reads_bytes = layout.envelope.encoding == "CP1252" and not transcode
        """CP1252 lines parsed as bytes and decoded column by column (:func:`_from_cp1252`):
        Arrow's own transcoding holds several times the chunk size while it decodes.
        Arrow can then not hand a line it refuses to the row handler (it decodes the
        line as UTF-8), so a file with such a line is read again, transcoded."""

    def chunks(self, chunk_size: int) -> Iterator[pd.DataFrame]:
        """Validated typed chunks; at least one, empty for a file without data lines."""
        layout, log = self.layout, self.log
        self._check_bytes()
        if log:
            raise FileFormatError(self.file, log.problems(), total=log.total)
        self._check_line_breaks()
        validator = FrameValidator(self.schema, layout.envelope.name, log)
        skipped_rows = 0

        def skip_invalid_row(row: pacsv.InvalidRow) -> str:
            nonlocal skipped_rows
            skipped_rows += 1
            return "skip"

        yielded = False
        parse_failed = False
        try:
            for text in self._text_chunks(chunk_size, skip_invalid_row):
                typed = validator.check(text)
                if not log and skipped_rows == 0:
                    yielded = True
                    yield finalized(typed)
        except (pa.ArrowException, UnicodeError):
            parse_failed = True
        if parse_failed and self.reads_bytes:
            # A malformed CP1252 file: every problem is found by a transcoding read.
            for _ in _FileReader(self.file, self.data, transcode=True).chunks(chunk_size):
                pass
        skipped_lines: list[int] = []
        data_lines: int | None = validator.rows
        if skipped_rows or parse_failed:
            skipped_lines, data_lines = self._structural_problems()
            if parse_failed and not skipped_lines:
                log.add("the data lines cannot be parsed as CSV (a quote is not closed?)")
        validator.finish(skipped_lines)
        self._check_trailer(data_lines, validator)
        if log:
            raise FileFormatError(self.file, log.problems(skipped_lines), total=log.total)
        if not yielded:
            yield finalized(validator.check(self._empty_text()))

    def _text_chunks(
        self, chunk_size: int, on_invalid_row: Callable[[pacsv.InvalidRow], str]
    ) -> Iterator[pd.DataFrame]:
        layout = self.layout
        if layout.data_end == layout.data_start:
            return
        kept = [c.name for c in self.schema.read_columns if c.name in layout.columns]
        data_lines = pa.py_buffer(self.data).slice(
            layout.data_start, layout.data_end - layout.data_start
        )
        as_bytes = self.reads_bytes
        reader = pacsv.open_csv(
            pa.BufferReader(data_lines),
            read_options=pacsv.ReadOptions(
                column_names=list(layout.columns),
                block_size=chunk_size,
                encoding="utf8" if as_bytes else ENCODINGS[layout.envelope.encoding],
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=SEPARATOR,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=None if as_bytes else on_invalid_row,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={
                    name: pa.large_binary() if as_bytes else pa.large_string() for name in kept
                },
                include_columns=kept,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        for batch in reader:
            yield (_from_cp1252(batch) if as_bytes else batch).to_pandas()

    def _empty_text(self) -> pd.DataFrame:
        return pd.DataFrame({c.name: pd.Series([], dtype="str") for c in self.schema.read_columns})

    def _check_bytes(self) -> None:
        """Encoding rules on the bytes of the data lines (the envelope's are checked already)."""
        layout = self.layout
        view = memoryview(self.data)[layout.data_start : layout.data_end]
        if layout.envelope.encoding == "UTF-8":
            offset = _invalid_utf8_offset(view)
            if offset is not None:
                self.log.add(
                    f"the file is declared UTF-8 but byte offset {layout.data_start + offset} "
                    "is not valid UTF-8",
                    column="ENCODING",
                )
            return
        undefined, utf8 = _scan_cp1252(np.frombuffer(view, dtype=np.uint8))
        if utf8 is not None and _invalid_utf8_offset(view) is not None:
            utf8 = None
        if undefined is not None:
            self.log.add(
                f"the file is declared CP1252 but byte offset {layout.data_start + undefined} "
                "is not a CP1252 character",
                column="ENCODING",
            )
        if utf8 is not None:
            self.log.add(
                "the file is declared CP1252 but holds UTF-8 text (first at byte offset "
                f"{layout.data_start + utf8}): FNAC must declare UTF-8 or write CP1252",
                column="ENCODING",
            )

    def _check_line_breaks(self) -> None:
        """Every data line ends with CR LF; a lone CR or LF is allowed in a quoted field only."""
        layout = self.layout
        view = np.frombuffer(memoryview(self.data)[layout.data_start : layout.data_end], np.uint8)
        if not _has_lone_line_break(view):
            return
        line = 1
        for token in _LINE_BREAKS.finditer(self.data, layout.data_start, layout.data_end):
            start, end = token.span()
            if self.data[start] == ord('"'):
                continue
            if end - start == 1:
                kind = "LF" if self.data[start] == _LF else "CR"
                self.log.add(f"the line ends with a lone {kind}; lines end with CR LF", line=line)
            line += 1

    def _structural_problems(self) -> tuple[list[int], int | None]:
        """Find the lines that do not have as many fields as the column line.

        Arrow skipped them without telling where; Python's csv module tells.
        Returns those data lines and the number of data lines (None when a
        line breaks the CSV syntax: the lines after it cannot be told apart).
        No problem holds the text of a line.
        """
        layout = self.layout
        width = len(layout.columns)
        stream = io.TextIOWrapper(
            io.BytesIO(self.data[layout.data_start : layout.data_end]),
            encoding=ENCODINGS[layout.envelope.encoding],
            newline="",
        )
        skipped: list[int] = []
        line = 0
        try:
            for line, row in enumerate(csv.reader(stream, delimiter=";", strict=True), start=1):
                if len(row) != width:
                    skipped.append(line)
                    self.log.add(
                        f"the line has {len(row)} fields where the column line has {width}",
                        line=line,
                    )
        except csv.Error as error:
            self.log.add(f"the line is not valid CSV ({error})", line=line + 1)
            return skipped, None
        return skipped, line

    def _check_trailer(self, data_lines: int | None, validator: FrameValidator) -> None:
        envelope = self.layout.envelope
        if data_lines is None:
            return
        if envelope.count != data_lines:
            self.log.add(
                f"the trailer counts {envelope.count} data lines but the file holds {data_lines}",
                column="COUNT",
                value=str(envelope.count),
            )
        control_column = self.schema.control_column
        control = validator.control_total if control_column else 0
        if control_column in self.log.columns_with_problems or data_lines != validator.rows:
            return
        if envelope.control != control:
            summed = f"the sum of {control_column}" if control_column else "0 for this type"
            self.log.add(
                f"the trailer's CONTROL is {envelope.control} but {summed} is {control}",
                column="CONTROL",
                value=str(envelope.control),
            )


def _read_layout(file: str, data: bytes, log: ProblemLog) -> _Layout | None:
    """The envelope and where the data lines are, or None after logging why not."""
    try:
        name: FileName | None = FileName.parse(file)
    except FileFormatError as error:
        for problem in error.problems:
            log.add(problem.reason)
        name = None
    if not data:
        log.add("the file is empty")
        return None
    header_end = data.find(b"\n")
    if header_end < 0:
        log.add("the file has no line break: it is truncated")
        return None
    if data[header_end - 1 : header_end] != b"\r":
        log.add("the header line ends with LF only; lines end with CR LF")
        return None
    if not data.endswith(b"\n"):
        log.add("the file does not end with a line break: it is truncated (no trailer)")
        return None
    if not data.endswith(b"\r\n"):
        log.add("the last line ends with LF only; lines end with CR LF")
        return None
    header = _read_header(data[: header_end - 1], name, log)
    trailer_start = data.rfind(b"\n", 0, len(data) - 1) + 1
    if trailer_start <= header_end:
        log.add("the file has a header line only: it is truncated")
        return None
    trailer = _read_trailer(data[trailer_start:-2], name, log)
    if trailer_start == header_end + 1:
        if trailer is not None:
            log.add("the file has no column line")
        return None
    columns_end = data.find(b"\n", header_end + 1)
    if data[columns_end - 1 : columns_end] != b"\r":
        log.add("the column line ends with LF only; lines end with CR LF")
        return None
    columns = _read_columns(data[header_end + 1 : columns_end - 1], name, header, log)
    if log or name is None or header is None or trailer is None or columns is None:
        return None
    created, encoding = header
    count, control = trailer
    envelope = Envelope(name, created, encoding, count, control)
    return _Layout(envelope, columns, columns_end + 1, trailer_start)


def _read_header(
    line: bytes, name: FileName | None, log: ProblemLog
) -> tuple[datetime, str] | None:
    """CREATED and ENCODING of a header checked against the file name."""
    if not line.isascii():
        log.add("the header line must be plain ASCII")
        return None
    fields = line.decode("ascii").split(SEPARATOR)
    if fields[0] != HEADER_TAG or len(fields) != 7:
        log.add("the first line is not a header ENTETE;TYPE;VERSION;MANAGER;SEQ;CREATED;ENCODING")
        return None
    _, file_type, version, manager, seq, created_text, encoding = fields
    problems_before = log.total
    if version != VERSION:
        log.add(f"version {VERSION} is the only one known", column="VERSION", value=version)
    if file_type not in FileType.__members__:
        log.add("unknown file type", column="TYPE", value=file_type)
    if name is not None:
        for field, written, expected in (
            ("TYPE", file_type, name.type.value),
            ("MANAGER", manager, name.manager),
            ("SEQ", seq, name.seq_text),
        ):
            if written != expected:
                log.add(
                    f"the header's {field} must be {expected}, as in the file name",
                    column=field,
                    value=written,
                )
    created = None
    if re.fullmatch(v.TIMESTAMP.pattern or "", created_text):
        created = _from_iso(created_text)
    if created is None:
        log.add(f"must be {v.TIMESTAMP.description}", column="CREATED", value=created_text)
    if encoding not in ENCODINGS:
        log.add("must be CP1252 or UTF-8", column="ENCODING", value=encoding)
    if log.total > problems_before or created is None:
        return None
    return created, encoding


def _from_iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _read_trailer(line: bytes, name: FileName | None, log: ProblemLog) -> tuple[int, int] | None:
    """COUNT and CONTROL of the trailer line."""
    match = _TRAILER.fullmatch(line.decode("ascii", errors="replace"))
    if match is None:
        log.add("the last line is not a trailer FIN;SEQ;COUNT;CONTROL: the file is truncated")
        return None
    problems_before = log.total
    seq = match["seq"]
    if name is not None and seq != name.seq_text:
        log.add(
            f"the trailer's SEQ must be {name.seq_text}, as in the file name",
            column="SEQ",
            value=seq,
        )
    for field in ("count", "control"):
        if not re.fullmatch(r"[0-9]{1,18}", match[field]):
            log.add(
                f"the trailer's {field.upper()} must be a whole number",
                column=field.upper(),
                value=match[field],
            )
    if log.total > problems_before:
        return None
    return int(match["count"]), int(match["control"])


def _read_columns(
    line: bytes, name: FileName | None, header: tuple[datetime, str] | None, log: ProblemLog
) -> tuple[str, ...] | None:
    """The column names, checked against the schema of the file's type."""
    if name is None or header is None:
        return None
    if b"\n" in line or b"\r" in line:
        log.add("the column line holds a line break")
        return None
    schema: FileSchema = schema_of(name.type)
    text = line.decode(ENCODINGS[header[1]], errors="replace")
    columns = tuple(next(csv.reader([text], delimiter=SEPARATOR), []))
    known = set(schema.by_name)
    last_known = max((i for i, column in enumerate(columns) if column in known), default=-1)
    seen: set[str] = set()
    for position, column in enumerate(columns):
        if column in seen:
            log.add("the column appears twice in the column line", column=column)
        seen.add(column)
        if column not in known and position < last_known:
            log.add(
                "unknown column before a column of the contract; unknown columns may only "
                "follow them",
                column=column,
            )
    for needed in schema.needed_columns:
        if needed not in seen:
            log.add("a required column is missing from the column line", column=needed)
    return columns


def _from_cp1252(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The CP1252 bytes of each field as text.

    Reading the bytes first is exact: CP1252 is one byte per character and
    ASCII-compatible, so ``;``, ``"``, CR and LF are the same bytes in it, and
    the bytes were checked to be CP1252 before the lines were parsed.
    """
    return pa.RecordBatch.from_arrays(
        [_cp1252_column(column) for column in batch.columns], names=batch.schema.names
    )


def _cp1252_column(column: pa.Array) -> pa.Array:
    """A ``large_binary`` column of CP1252 values as ``large_string``, decoded in one go.

    The values' bytes are contiguous: they are decoded as one text, and each
    value's new offset follows from the UTF-8 width of every byte before it.
    """
    validity, offsets_buffer, data_buffer = column.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
        column.offset : column.offset + len(column) + 1
    ]
    raw = (
        np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
        if data_buffer is not None
        else np.empty(0, np.uint8)
    )
    if not (raw >= 0x80).any():
        return column.view(pa.large_string())
    ends = np.zeros(raw.size + 1, dtype=np.int64)
    np.cumsum(_UTF8_WIDTH_OF_CP1252[raw], out=ends[1:])
    text = raw.tobytes().decode("cp1252").encode("utf-8")
    return pa.LargeStringArray.from_buffers(
        len(column),
        pa.py_buffer(ends[offsets - offsets[0]]),
        pa.py_buffer(text),
        validity,
        column.null_count,
    )


def _scan_cp1252(data: np.ndarray) -> tuple[int | None, int | None]:
    """Offsets of the first byte CP1252 leaves undefined and of the first UTF-8 sequence.

    A UTF-8 sequence here is the UTF-8 encoding of a character CP1252 also
    holds (``é`` written C3 A9, read in CP1252 as ``Ã©``). The caller takes
    the file for mislabelled UTF-8 only when, besides, all its bytes are
    valid UTF-8: CP1252 text with any lone accented letter (``é`` alone is
    E9) is not, so a real CP1252 file is refused only if every non-ASCII
    character in it happens to form such a pair.
    """
    undefined = utf8 = None
    for start in range(0, len(data), _SCAN_BLOCK):
        block = data[start : start + _SCAN_BLOCK + 2]
        high = np.flatnonzero(block[:_SCAN_BLOCK] >= 0x80)
        if high.size == 0:
            continue
        high_bytes = block[high]
        if undefined is None and _UNDEFINED_IN_CP1252[high_bytes].any():
            undefined = start + int(high[_UNDEFINED_IN_CP1252[high_bytes]][0])
        if utf8 is None:
            leads = high[_UTF8_LEADS[high_bytes] & (high + 1 < block.size)]
            for candidate in leads[_UTF8_CONTINUATIONS[block[leads + 1]]].tolist():
                if _UTF8_OF_CP1252.match(bytes(block[candidate : candidate + 3])):
                    utf8 = start + candidate
                    break
        if undefined is not None and utf8 is not None:
            break
    return undefined, utf8


def _invalid_utf8_offset(data: memoryview) -> int | None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(data), _SCAN_BLOCK):
        try:
            decoder.decode(
                data[start : start + _SCAN_BLOCK], final=start + _SCAN_BLOCK >= len(data)
            )
        except UnicodeDecodeError as error:
            return max(0, start + error.start)
    return None


def _has_lone_line_break(data: np.ndarray) -> bool:
    """Whether some CR is not followed by LF, or some LF not preceded by CR."""
    for start in range(0, len(data), _SCAN_BLOCK):
        block = data[start : start + _SCAN_BLOCK + 1]
        carriages = np.flatnonzero(block[:_SCAN_BLOCK] == _CR)
        feeds = np.flatnonzero(block == _LF)
        feeds = feeds[(feeds > 0) | (start == 0)]
        feeds = feeds[feeds <= _SCAN_BLOCK]
        if carriages.size != feeds.size or not np.array_equal(carriages + 1, feeds):
            return True
    return False
