"""Blank the buyer's contact columns of a file's bytes before they are stored (spec 7.1).

FNAC's VENTES and TEST files carry the buyer's e-mail, phone and address
(:data:`~reseller_sync.fnac.schema.BUYER_CONTACT_COLUMNS`), which the organiser
discards on receipt and stores nowhere. The exchange journal keeps every file's
bytes, so it keeps them with those fields emptied: :func:`redact_buyer_contacts`
rewrites the raw CSV without parsing it whole (no value is decoded or checked),
so that even a truncated or corrupt file can be kept to be reported.

- The columns are found by name on the column line (line 2; line 1 if the
  header is missing). Every field of those columns in every line after it is
  emptied; the separators, quotes of the other fields and line breaks stay
  as they were, so COUNT and CONTROL (which never depend on those columns)
  still hold and the file reads as the original minus those values.
- Quotes are honoured (a quoted address may hold ``;`` or a line break). Work
  is done on bytes: ``;``, ``"``, CR and LF are the same bytes in CP1252 and
  UTF-8, and no multi-byte UTF-8 sequence contains them.
- A quote left open at the end of the file (a corrupt file) cannot be split
  into fields reliably: on those lines, every field from the first buyer
  column on is emptied.
- When no column line can be found, the file can be kept as it is only if no
  line of it can be a record (each is a header, a trailer, or has no ``;``);
  otherwise :class:`UnredactableFileError` says why, and the caller must not
  store the bytes.
"""

from __future__ import annotations

import csv
import re

from reseller_sync.core.exchange import UnredactableFileError
from reseller_sync.fnac.names import FileName, FileType
from reseller_sync.fnac.schema import BUYER_CONTACT_COLUMNS, schema_of

_SEPARATOR = b";"
_QUOTE = b'"'
_FIELD_TOKENS = re.compile(rb'"[^"]*"|;')
"""A quoted chunk (``""`` inside a field is two chunks side by side) or a separator."""


def has_buyer_contacts(file_type: FileType) -> bool:
    """Whether files of the type carry the buyer's contact columns (VENTES, TEST)."""
    return any(column.personal for column in schema_of(file_type).columns)


def redact_buyer_contacts(name: str, data: bytes) -> bytes:
    """``data`` with every buyer contact field emptied; the same bytes for other types.

    Raises :class:`UnredactableFileError` when a file of a type with those
    columns has lines that may be records but no column line to locate them.
    """
    file_type = FileName.parse(name).type
    if not has_buyer_contacts(file_type):
        return data
    lines = data.splitlines(keepends=True)
    known = {column.name for column in schema_of(file_type).columns}
    for index in (1, 0):
        if index < len(lines):
            columns = _column_names(lines[index])
            if known.intersection(columns):
                positions = [i for i, c in enumerate(columns) if c in BUYER_CONTACT_COLUMNS]
                if not positions:
                    return data
                head = b"".join(lines[: index + 1])
                return head + _redact_records(lines[index + 1 :], positions)
    suspect = [
        number
        for number, line in enumerate(lines, start=1)
        if _SEPARATOR in line and not line.startswith((b"ENTETE;", b"FIN;"))
    ]
    if suspect:
        raise UnredactableFileError(
            f"no column line naming the columns of {file_type.value} was found, yet line "
            f"{suspect[0]} may be a record: the buyer's contact columns cannot be located"
        )
    return data


def _column_names(line: bytes) -> list[str]:
    text = line.rstrip(b"\r\n").decode("latin-1")
    return next(csv.reader([text], delimiter=";"), [])


def _redact_records(lines: list[bytes], positions: list[int]) -> bytes:
    out: list[bytes] = []
    record: list[bytes] = []
    quotes = 0
    for line in lines:
        record.append(line)
        quotes += line.count(_QUOTE)
        if quotes % 2:
            continue  # a quoted field goes on over a line break
        out.append(_redact_record(b"".join(record), positions))
        record, quotes = [], 0
    if record:
        first = min(positions)
        out.extend(_redact_broken_line(line, first) for line in record)
    return b"".join(out)


def _split_ending(record: bytes) -> tuple[bytes, bytes]:
    body = record.rstrip(b"\r\n")
    return body, record[len(body) :]


def _redact_record(record: bytes, positions: list[int]) -> bytes:
    body, ending = _split_ending(record)
    if body.startswith(b"FIN;") and _QUOTE not in body:
        return record
    if _QUOTE not in body:
        fields = body.split(_SEPARATOR)
    else:
        fields, start = [], 0
        for token in _FIELD_TOKENS.finditer(body):
            if token.group() == _SEPARATOR:
                fields.append(body[start : token.start()])
                start = token.end()
        fields.append(body[start:])
    changed = False
    for position in positions:
        if position < len(fields) and fields[position]:
            fields[position] = b""
            changed = True
    return _SEPARATOR.join(fields) + ending if changed else record


def _redact_broken_line(line: bytes, first: int) -> bytes:
    body, ending = _split_ending(line)
    fields = body.split(_SEPARATOR)
    kept = fields[:first] + [b""] * max(0, len(fields) - first)
    return _SEPARATOR.join(kept) + ending
