"""Writing a file of any type (spec sections 5 and 6).

Records are a pandas DataFrame or an iterable of dicts keyed by column name.
Values may be given typed (``int`` cents, ``bool``, naive ``datetime`` for
``date_seance``, ``date`` for ``fin_validite``, aware ``datetime`` for ISO
timestamps; or the matching pandas dtypes) or already as the contract's
text. Codes must be ``str`` (an ``int`` would lose leading zeros). A
missing key or ``None``/NaN is an empty field.

The lines are validated exactly as a reader validates them; a record that
breaks the contract raises :class:`FileWriteError` with every problem (line
``n`` is the ``n``-th record). In CP1252, characters CP1252 cannot hold are
replaced by their closest unaccented form (:func:`transliterate`). Lines end
with CR LF, fields are quoted only when they need it, and the trailer's
COUNT and CONTROL are computed.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import TypeAlias

import numpy as np
import pandas as pd

from reseller_sync.domain.errors import Problem
from reseller_sync.fnac import values as v
from reseller_sync.fnac.errors import FileWriteError
from reseller_sync.fnac.names import FileName, FileType, Party, ack_name
from reseller_sync.fnac.problems import ProblemLog
from reseller_sync.fnac.reader import ENCODINGS, HEADER_TAG, SEPARATOR, TRAILER_TAG, VERSION
from reseller_sync.fnac.schema import Column, schema_of
from reseller_sync.fnac.validation import FrameValidator

Records: TypeAlias = pd.DataFrame | Iterable[Mapping[str, object]]

_NO_DECOMPOSITION = str.maketrans(
    {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "Ŧ": "T", "ŧ": "t"}
)


def write_file(
    file_type: FileType,
    manager: str,
    seq: int,
    records: Records,
    *,
    created: datetime | None = None,
    encoding: str = "CP1252",
) -> tuple[str, bytes]:
    """Name and bytes of a new file; ``created`` (aware, default now) also gives the STAMP."""
    created = created or datetime.now(UTC)
    name = FileName.build(file_type, manager, seq, created)
    return str(name), encode_file(name, records, created=created, encoding=encoding)


def write_ack(
    answered: FileName | str,
    records: Records,
    *,
    created: datetime | None = None,
    encoding: str = "CP1252",
) -> tuple[str, bytes]:
    """Name and bytes of the ACK answering the file ``answered`` (the FNAC side writes these)."""
    name = ack_name(answered)
    return str(name), encode_file(name, records, created=created, encoding=encoding)


def encode_file(
    name: FileName,
    records: Records,
    *,
    created: datetime | None = None,
    encoding: str = "CP1252",
) -> bytes:
    """The bytes of the file ``name`` holding ``records``."""
    created = created or datetime.now(UTC)
    _check_options(name, created, encoding)
    schema = schema_of(name.type)
    frame = (
        records if isinstance(records, pd.DataFrame) else pd.DataFrame.from_records(list(records))
    )
    frame = frame.reset_index(drop=True)
    log = ProblemLog(str(name))
    for unknown in (c for c in frame.columns if c not in schema.by_name):
        log.add(f"not a column of {name.type} files", column=str(unknown))
    texts = {
        column.name: _formatted(frame.get(column.name), column, len(frame), log)
        for column in schema.columns
    }
    if encoding == "CP1252":
        texts = {column: _transliterated(text) for column, text in texts.items()}
    validator = FrameValidator(schema, name, log)
    validator.check(pd.DataFrame({c.name: texts[c.name] for c in schema.read_columns}))
    validator.finish()
    if log:
        raise FileWriteError(str(name), log.problems(), total=log.total)
    buffer = io.StringIO()
    buffer.write(
        SEPARATOR.join(
            (
                HEADER_TAG,
                name.type.value,
                VERSION,
                name.manager,
                name.seq_text,
                created.isoformat(timespec="seconds"),
                encoding,
            )
        )
        + "\r\n"
    )
    writer = csv.writer(buffer, delimiter=SEPARATOR, lineterminator="\r\n")
    writer.writerow(texts)
    writer.writerows(zip(*(text.tolist() for text in texts.values()), strict=True))
    buffer.write(f"{TRAILER_TAG};{name.seq_text};{len(frame)};{validator.control_total}\r\n")
    return buffer.getvalue().encode(ENCODINGS[encoding])


def transliterate(text: str) -> str:
    """``text`` with each character CP1252 cannot hold replaced by its closest unaccented form.

    Accents are stripped (Unicode NFKD), a few letters without decomposition
    are mapped by hand (``Ł`` to ``L``), and anything else becomes ``?``.
    """
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return "".join(_transliterated_character(character) for character in text)
    return text


@lru_cache(maxsize=4096)
def _transliterated_character(character: str) -> str:
    if _in_cp1252(character):
        return character
    mapped = character.translate(_NO_DECOMPOSITION)
    if mapped != character:
        return mapped
    kept = "".join(
        part
        for part in unicodedata.normalize("NFKD", character)
        if not unicodedata.combining(part) and _in_cp1252(part)
    )
    return kept or "?"


def _in_cp1252(character: str) -> bool:
    try:
        character.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _transliterated(text: pd.Series) -> pd.Series:
    foreign = ~text.str.isascii().to_numpy(dtype=bool)
    if not foreign.any():
        return text
    text = text.copy()
    text[foreign] = text[foreign].map(transliterate)
    return text


def _check_options(name: FileName, created: datetime, encoding: str) -> None:
    problems = []
    if encoding not in ENCODINGS:
        problems.append(Problem("the encoding must be CP1252 or UTF-8", value=encoding))
    elif name.type.sender is Party.ORGANISER and encoding != "CP1252":
        problems.append(Problem("files sent to FNAC must be CP1252", value=encoding))
    if created.tzinfo is None:
        problems.append(Problem("CREATED must be an aware datetime", column="CREATED"))
    if problems:
        raise FileWriteError(str(name), problems)


def _formatted(raw: pd.Series | None, column: Column, length: int, log: ProblemLog) -> pd.Series:
    """The contract's text of a column of records ("" for empty), logging values of a wrong type."""
    if raw is None:
        return pd.Series([""] * length, dtype="str")
    kind = column.format.kind
    vectorised = _vectorised(raw, kind)
    if vectorised is not None:
        return vectorised
    texts: list[str] = []
    wrong = np.zeros(length, dtype=bool)
    for position, value in enumerate(raw.tolist()):
        text = _text_of(value, kind)
        wrong[position] = text is None
        texts.append(text or "")
    log.add_rows(
        wrong,
        first_row=0,
        column=column.name,
        reason=_TYPE_REASONS[kind],
        values=None if column.personal else raw.astype(str),
    )
    return pd.Series(texts, dtype="str")


def _vectorised(raw: pd.Series, kind: v.ValueKind) -> pd.Series | None:
    """The text of a column whose dtype says it all, or None to go value by value."""
    dtype = raw.dtype
    if kind is v.ValueKind.TEXT and pd.api.types.is_string_dtype(dtype) and dtype.kind != "O":
        return raw.fillna("").astype("str")
    if kind in (v.ValueKind.AMOUNT, v.ValueKind.INTEGER) and pd.api.types.is_integer_dtype(dtype):
        return raw.astype("str").fillna("").astype("str")
    if kind is v.ValueKind.BOOLEAN and pd.api.types.is_bool_dtype(dtype) and not raw.hasnans:
        return raw.map({True: "1", False: "0"}).astype("str")
    if isinstance(dtype, pd.DatetimeTZDtype) and kind is v.ValueKind.TIMESTAMP:
        written = raw.dt.strftime("%Y-%m-%dT%H:%M:%S%z").str.replace(
            r"([+-][0-9]{2})([0-9]{2})$", r"\1:\2", regex=True
        )
        return written.fillna("").astype("str")
    naive_datetimes = dtype.kind == "M" and not isinstance(dtype, pd.DatetimeTZDtype)
    if naive_datetimes and kind in (v.ValueKind.WALL_CLOCK, v.ValueKind.DATE):
        time_format = v.WALL_CLOCK_FORMAT if kind is v.ValueKind.WALL_CLOCK else v.DATE_FORMAT
        return raw.dt.strftime(time_format).fillna("").astype("str")
    return None


def _text_of(value: object, kind: v.ValueKind) -> str | None:
    """The contract's text of one value; None when the value has a wrong type."""
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return ""
    if value is pd.NA:
        return ""
    if isinstance(value, str):
        return value
    if kind in (v.ValueKind.AMOUNT, v.ValueKind.INTEGER):
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
            return None
        return str(int(value))
    if kind is v.ValueKind.BOOLEAN:
        return ("1" if value else "0") if isinstance(value, bool | np.bool_) else None
    if kind is v.ValueKind.WALL_CLOCK and isinstance(value, datetime) and value.tzinfo is None:
        return value.strftime(v.WALL_CLOCK_FORMAT)
    if kind is v.ValueKind.DATE and isinstance(value, date):
        return value.strftime(v.DATE_FORMAT)
    if kind is v.ValueKind.TIMESTAMP and isinstance(value, datetime) and value.tzinfo is not None:
        return value.isoformat(timespec="seconds")
    return None


_TYPE_REASONS: dict[v.ValueKind, str] = {
    v.ValueKind.TEXT: "must be given as str (codes keep their leading zeros)",
    v.ValueKind.AMOUNT: "must be given as an int number of cents",
    v.ValueKind.INTEGER: "must be given as an int",
    v.ValueKind.BOOLEAN: "must be given as a bool",
    v.ValueKind.WALL_CLOCK: "must be given as a naive datetime (the venue's wall-clock time)",
    v.ValueKind.DATE: "must be given as a date",
    v.ValueKind.TIMESTAMP: "must be given as an aware datetime",
}
