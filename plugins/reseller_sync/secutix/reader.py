"""Verifying and reading the files the organiser reads (``secutix-reseller-v1``
sections 5, 6 and 11): TICKETS, STOCK and RESULT.

:func:`read_file` verifies a data file against its control file in the order
of section 6 and stops at the first step that fails, with every problem of
that step:

1. the control file has its form and names the data file (``T01``);
2. the data file's SHA-256 is the control file's (``T02``);
3. the data file is UTF-8 and parses with the syntax of section 5, and its
   header names each column it needs once (``T04``);
4. the number of data lines is ``LINE_COUNT`` (``T03``);
5. every field has its format, every required field a value (``T04``).

Then come the rules within the file (:mod:`reseller_sync.secutix.rules`).
:func:`verify_file` runs the same steps on a file of any type, the organiser's own
included, into a :class:`ProblemLog` that may rename the codes: the reseller's reading
(:mod:`reseller_sync.secutix.reseller_side`) reports them as ``F01`` and ``F02``.

Columns whose name starts with ``CONTACT_`` are left out of the parse from
the header on (Arrow's ``include_columns``): their values are never
materialised, never checked, never in a problem nor in the returned frame
(section 11). Columns the type does not define are ignored the same way.

The parse is Arrow's multi-threaded CSV reader and the checks are
vectorised: no Python object per line. The frame holds the read columns as
strings (an empty field is ``""``; an optional column missing from the header
is all ``""``); its index is the line number (1 = the first data line).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from reseller_sync.core.text_csv import parse_text_columns
from reseller_sync.secutix.errors import MAX_PROBLEMS, Code, FileRefusedError, SecutixProblem
from reseller_sync.secutix.names import FileName, FileType, NameKind
from reseller_sync.secutix.schema import ALL_SCHEMAS, SCHEMAS, FileSchema, Presence

BOM = b"\xef\xbb\xbf"
CONTROL_HEADER = "FILE_NAME;LINE_COUNT;SHA256"
_SHOWN_LENGTH = 80
_CONTROL_RECORD = re.compile(r"(?P<name>[^;]*);(?P<count>0|[1-9][0-9]*);(?P<sha>[0-9a-f]{64})")


class ProblemLog:
    """The problems of one file: all counted, the first :data:`MAX_PROBLEMS` kept.

    ``codes`` renames the codes added (the reseller reports ``T01`` as ``F01``...)."""

    def __init__(
        self, file: str, cap: int = MAX_PROBLEMS, codes: Mapping[Code, Code] | None = None
    ) -> None:
        self.file = file
        self.cap = cap
        self.codes: Mapping[Code, Code] = codes or {}
        self.total = 0
        self.problems: list[SecutixProblem] = []

    def __bool__(self) -> bool:
        return self.total > 0

    def add(
        self,
        code: Code,
        reason: str,
        *,
        line: int = 0,
        column: str | None = None,
        value: str | None = None,
    ) -> None:
        code = self.codes.get(code, code)
        self.total += 1
        if len(self.problems) < self.cap * 20:
            self.problems.append(
                SecutixProblem(reason, self.file, line, column, _shown(value), code=code)
            )

    def add_lines(
        self,
        code: Code,
        lines: np.ndarray,
        reason: str,
        *,
        column: str | None = None,
        values: pd.Series | None = None,
    ) -> None:
        """One problem per line number in ``lines`` (ascending); ``values``: the column, indexed
        by line. The first :attr:`cap` of each call are kept, so that sorting the kept problems
        of all calls gives the first ones of the file."""
        code = self.codes.get(code, code)
        self.total += int(lines.size)
        for line in lines[: self.cap].tolist():
            value = None if values is None else str(values.loc[line])
            self.problems.append(
                SecutixProblem(reason, self.file, int(line), column, _shown(value), code=code)
            )

    def listed(self, order: Callable[[SecutixProblem], Any] | None = None) -> list[SecutixProblem]:
        """The first :attr:`cap` problems (in ``order``, else as added), then "and N more"."""
        kept = sorted(self.problems, key=order) if order else list(self.problems)
        kept = kept[: self.cap]
        if self.total > len(kept) and kept:
            kept.append(
                SecutixProblem(
                    f"and {self.total - len(kept)} more problems", self.file, 0, code=kept[-1].code
                )
            )
        return kept

    def refuse(self, order: Callable[[SecutixProblem], Any] | None = None) -> FileRefusedError:
        return FileRefusedError(self.file, self.listed(order), total=self.total)


def _shown(value: str | None) -> str | None:
    if value is None or len(value) <= _SHOWN_LENGTH:
        return value
    return value[:_SHOWN_LENGTH] + "…"


@dataclass(frozen=True)
class Control:
    """A control file's record (section 6)."""

    file_name: str
    line_count: int
    sha256: str


@dataclass(frozen=True)
class DataFile:
    """A verified data file: its lines, without the ``CONTACT_*`` columns."""

    name: FileName
    frame: pd.DataFrame
    sha256: str
    size: int

    @property
    def lines(self) -> int:
        return len(self.frame)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_control(name: str, data: bytes, log: ProblemLog) -> Control | None:
    """Step 1: the control file ``name`` (``<data>.ctl``) and what it says, or None (``T01``)."""
    parsed = FileName.parse(name)
    if parsed is None or parsed.kind is not NameKind.CONTROL or parsed.partial:
        log.add(Code.T01, f"{name} is not the name of a control file")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        log.add(Code.T01, "the control file is not UTF-8")
        return None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    if not text.endswith("\n") or text.count("\n") != 2:
        log.add(Code.T01, "the control file does not hold exactly two lines ending with LF")
        return None
    header, record, _ = text.split("\n")
    if header != CONTROL_HEADER:
        log.add(Code.T01, f"the control file's header is not {CONTROL_HEADER}")
        return None
    match = _CONTROL_RECORD.fullmatch(record)
    if match is None:
        log.add(
            Code.T01,
            "the control file's record is not FILE_NAME;LINE_COUNT;SHA256 (an integer, "
            "then 64 lowercase hexadecimal digits)",
            line=1,
        )
        return None
    expected = str(parsed.data)
    if match["name"] != expected:
        log.add(
            Code.T01,
            f"the control file names another file (expected {expected})",
            line=1,
            column="FILE_NAME",
            value=match["name"],
        )
        return None
    return Control(match["name"], int(match["count"]), match["sha"])


def read_file(
    name: str, data: bytes, control: bytes, *, arrived_sha256: str | None = None
) -> DataFile:
    """Verify the data file ``name`` (its bytes ``data``) against its control file (section 6).

    ``arrived_sha256`` is the SHA-256 of the file as it arrived, when ``data`` is the copy
    the organiser kept, its ``CONTACT_*`` values emptied (section 11): the control file's
    checksum is compared with it. Raises :class:`FileRefusedError` with the first failing
    step's code and every problem of that step. The file type's rules across lines are not
    checked here.
    """
    parsed = FileName.parse(name)
    if parsed is not None and parsed.type not in SCHEMAS:
        raise ValueError(f"the organiser does not read {parsed.type} files")
    return verify_file(name, data, control, ProblemLog(name), arrived_sha256=arrived_sha256)


def verify_file(
    name: str,
    data: bytes,
    control: bytes,
    log: ProblemLog,
    *,
    arrived_sha256: str | None = None,
) -> DataFile:
    """:func:`read_file` for a file of any type, its problems added to ``log`` (whose
    ``codes`` may rename them) before :class:`FileRefusedError` is raised."""
    parsed = FileName.parse(name)
    if parsed is None or parsed.kind is not NameKind.DATA or parsed.partial:
        raise ValueError(f"not the name of a data file: {name!r}")
    checked = parse_control(str(parsed.control), control, log)
    if checked is None:
        raise log.refuse()
    actual = arrived_sha256 or sha256_hex(data)
    if actual != checked.sha256:
        log.add(
            Code.T02,
            f"the SHA-256 of the file is {actual}, the control file gives {checked.sha256}",
        )
        raise log.refuse()
    frame = decode(name, parsed.type, data, log)
    if frame is None:
        raise log.refuse()
    if len(frame) != checked.line_count:
        log.add(
            Code.T03,
            f"the file holds {len(frame)} data lines, the control file gives {checked.line_count}",
        )
        raise log.refuse()
    check_fields(ALL_SCHEMAS[parsed.type], frame, log)
    if log:
        raise log.refuse()
    return DataFile(parsed, frame, actual, len(data))


def decode(name: str, file_type: FileType, data: bytes, log: ProblemLog) -> pd.DataFrame | None:
    """Step 3: the data lines as strings, or None with the problems logged (``T04``)."""
    schema = ALL_SCHEMAS[file_type]
    buffer = pa.py_buffer(data)
    if data.startswith(BOM):
        buffer = buffer.slice(len(BOM))
    invalid_at = _invalid_utf8_offset(buffer)
    if invalid_at is not None:
        log.add(Code.T04, f"the text is not UTF-8 (byte {invalid_at + len(data) - buffer.size})")
        return None
    if buffer.size == 0:
        log.add(Code.T04, "the file is empty: it holds at least the header")
        return None
    raw = np.frombuffer(buffer, dtype=np.uint8)
    if raw[-1] != 0x0A:
        log.add(Code.T04, "the last line does not end with LF")
        return None
    for line, reason in _quote_and_cr_problems(raw):
        log.add(Code.T04, reason, line=line)
    if log:
        return None
    header_end = _header_end(raw)
    header = _parse_header(bytes(raw[:header_end]).decode("utf-8").removesuffix("\r"))
    if header is None:
        log.add(Code.T04, "the header is not a valid line of section 5")
        return None
    _check_header(header, schema, log)
    if log:
        return None
    body = buffer.slice(header_end + 1)
    frame = _parse(body, header, schema)
    if frame is not None and not (
        _may_hold_empty_lines(frame) and _has_empty_line(raw[header_end:])
    ):
        return frame
    for line, reason in _csv_problems(bytes(body), len(header)):
        log.add(Code.T04, reason, line=line)
    if frame is not None and not log:
        return frame  # the blank lines were inside quoted fields
    if not log:
        log.add(Code.T04, "the file cannot be parsed as section 5 says")
    return None


def check_fields(schema: FileSchema, frame: pd.DataFrame, log: ProblemLog) -> None:
    """Step 5: each read column's format and required values (``T04``), vectorised."""
    if frame.empty:
        return
    for column in schema.read_columns:
        values = pa.array(frame[column.name], type=pa.string())
        filled = pc.not_equal(values, "")
        if column.presence is Presence.REQUIRED:
            empty = np.flatnonzero(~np.asarray(filled)) + 1
            log.add_lines(Code.T04, empty, "a value is required", column=column.name)
        form = column.format
        wrong = np.zeros(len(values), dtype=bool)
        if form.pattern:
            wrong |= ~np.asarray(pc.match_substring_regex(values, form.pattern))
        if form.max_chars is not None:
            wrong |= np.asarray(pc.greater(pc.utf8_length(values), form.max_chars))
        if form.calendar is not None:
            wrong |= ~_real_instants(values, form.calendar)
        wrong &= np.asarray(filled)
        if wrong.any():
            log.add_lines(
                Code.T04,
                np.flatnonzero(wrong) + 1,
                f"must be {form.description}",
                column=column.name,
                # A text's value is not shown: it may be long, or a person's name.
                values=frame[column.name] if form.max_chars is None else None,
            )


def _real_instants(values: pa.Array, calendar: str) -> np.ndarray:
    """Whether each value that has its pattern is a real date or local time and offset.

    Each distinct value is parsed once (a file repeats its instants: one per order)."""
    local = pc.utf8_slice_codeunits(values, 0, 10 if calendar == "date" else 19)
    form = "%Y-%m-%d" if calendar == "date" else "%Y-%m-%dT%H:%M:%S"
    distinct = pc.unique(local)
    parsed = pc.strptime(distinct, format=form, unit="s", error_is_null=True)
    # Arrow's strptime rolls 30 February over into March: a real date prints back the same.
    same = pc.fill_null(pc.equal(pc.strftime(parsed, format=form), distinct), False)
    real = np.asarray(pc.is_in(local, value_set=pc.filter(distinct, same)))
    if calendar == "timestamp":
        offset = pc.utf8_slice_codeunits(values, 19, 25)
        real &= np.asarray(pc.match_substring_regex(offset, r"^[+-]([01][0-9]|2[0-3]):[0-5][0-9]$"))
    return real


def utc_seconds(values: pd.Series) -> np.ndarray:
    """Seconds since the epoch of valid timestamps (section 5), as int64."""
    array = pa.array(values, type=pa.string())
    local = pc.strptime(pc.utf8_slice_codeunits(array, 0, 19), format="%Y-%m-%dT%H:%M:%S", unit="s")
    seconds = np.asarray(pc.cast(local, pa.int64()))
    sign = np.where(np.asarray(pc.utf8_slice_codeunits(array, 19, 20)) == "-", -1, 1)
    hours = np.asarray(pc.cast(pc.utf8_slice_codeunits(array, 20, 22), pa.int64()))
    minutes = np.asarray(pc.cast(pc.utf8_slice_codeunits(array, 23, 25), pa.int64()))
    return seconds - sign * (hours * 3600 + minutes * 60)


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


def _line_ends(raw: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """The offsets of the LFs that end a line (outside quoted fields)."""
    feeds = np.flatnonzero(raw == 0x0A)
    return feeds[np.searchsorted(quotes, feeds) % 2 == 0]


def _quote_and_cr_problems(raw: np.ndarray) -> list[tuple[int, str]]:
    """Quotes section 5 does not allow, and CRs outside quoted fields not before a LF.

    Lines are numbered as the data lines (0 = the header). A byte is inside a
    quoted field when an odd number of quotes precedes it (a doubled quote
    counts twice). The 1st, 3rd... quote opens a field (after ``;``, a line
    end or another quote); the 2nd, 4th... closes it (before ``;``, a line
    end or another quote).
    """
    quotes = np.flatnonzero(raw == 0x22)
    carriages = np.flatnonzero(raw == 0x0D)
    if quotes.size == 0 and carriages.size == 0:
        return []
    size = raw.size
    line_ends = _line_ends(raw, quotes)
    problems: list[tuple[int, str]] = []
    if carriages.size:
        outside = carriages[np.searchsorted(quotes, carriages) % 2 == 0]
        nxt = np.minimum(outside + 1, size - 1)
        lone = outside[(outside + 1 >= size) | (raw[nxt] != 0x0A)]
        for line in np.unique(np.searchsorted(line_ends, lone))[:10].tolist():
            problems.append((int(line), "a CR outside a quoted field that is not before a LF"))
    if quotes.size:
        opening, closing = quotes[0::2], quotes[1::2]
        before = np.where(opening > 0, raw[np.maximum(opening - 1, 0)], 0x0A)
        stray = opening[~np.isin(before, (0x3B, 0x0A, 0x22))]
        after = np.where(closing + 1 < size, raw[np.minimum(closing + 1, size - 1)], 0x0A)
        after_cr = (after == 0x0D) & (raw[np.minimum(closing + 2, size - 1)] == 0x0A)
        trailing = closing[~(np.isin(after, (0x3B, 0x0A, 0x22)) | after_cr)]
        unclosed = quotes[-1:] if quotes.size % 2 else quotes[:0]
        for offsets, why in (
            (stray, "a quote inside a field that does not start with one"),
            (trailing, "text follows the closing quote of a field"),
            (unclosed, "a quoted field is never closed"),
        ):
            for line in np.unique(np.searchsorted(line_ends, offsets))[:10].tolist():
                problems.append((int(line), f"the line is not valid CSV: {why}"))
    return sorted(problems)


def _header_end(raw: np.ndarray) -> int:
    """The offset of the LF ending the header (a header name may be quoted)."""
    quotes = np.flatnonzero(raw == 0x22)
    return int(_line_ends(raw, quotes)[0])


def _parse_header(line: str) -> list[str] | None:
    try:
        rows = list(csv.reader(io.StringIO(line, newline=""), delimiter=";", strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


def _check_header(header: list[str], schema: FileSchema, log: ProblemLog) -> None:
    seen: set[str] = set()
    for column in header:
        if column in seen:
            log.add(Code.T04, f"the column {column} appears twice in the header", column=column)
        seen.add(column)
    for needed in schema.header_columns:
        if needed not in seen:
            log.add(Code.T04, f"the header lacks the column {needed}", column=needed)


def _parse(body: pa.Buffer, header: list[str], schema: FileSchema) -> pd.DataFrame | None:
    """The data lines as a frame of the read columns, or None when Arrow cannot parse them."""
    read = [c.name for c in schema.read_columns]
    kept = [name for name in read if name in header]
    parsed = None
    if body.size:
        parsed = parse_text_columns(body, header, kept, delimiter=";")
        if parsed is None:
            return None
    length = 0 if parsed is None else parsed.num_rows
    columns = {
        name: (
            parsed.column(name).to_pandas()
            if parsed is not None and name in kept
            else pd.Series([""] * length, dtype="str")
        )
        for name in read
    }
    frame = pd.DataFrame(columns)
    frame.index = pd.RangeIndex(1, length + 1, name="line")
    return frame


def _may_hold_empty_lines(frame: pd.DataFrame) -> bool:
    """Arrow reads an empty line as a line of empty fields: is there a line whose first
    read column is empty?"""
    return not frame.empty and bool((frame.iloc[:, 0] == "").any())


def _has_empty_line(raw: np.ndarray) -> bool:
    data = raw.tobytes()
    return b"\n\n" in data or b"\n\r\n" in data


def _csv_problems(body: bytes, width: int) -> list[tuple[int, str]]:
    """Where the CSV breaks: lines with another number of fields, or a CSV error.

    Only a refused file comes here; no problem quotes a line's text (it may hold contact
    values).
    """
    problems: list[tuple[int, str]] = []
    reader = csv.reader(io.StringIO(body.decode("utf-8"), newline=""), delimiter=";", strict=True)
    line = 0
    try:
        for line, row in enumerate(reader, start=1):
            if not row:
                problems.append((line, "the line is empty"))
            elif len(row) != width:
                problems.append(
                    (line, f"the line has {len(row)} fields where the header has {width}")
                )
    except csv.Error as error:
        problems.append((line + 1, f"the line is not valid CSV ({error})"))
    return problems
