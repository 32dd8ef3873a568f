"""ACK files (``ticketnet-exchange-v1`` section 7.4): parse and validate (the organiser),
build and encode (a sandbox of Ticketnet).

An ACK that is not UTF-8 JSON, or breaks the table of 7.4, is unreadable:
:func:`parse_ack` raises :class:`BatchRefusedError` with ``R22`` and every
problem, each naming the key concerned (``files[1].errors[0].record``).
:func:`match_ack` is the other ``R22``: an ACK that answers no batch the
organiser sent (``batch_id`` and ``manifest_sha256``, section 9.1 point 12).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reseller_sync.ticketnet.errors import BatchRefusedError, Code, TicketnetProblem
from reseller_sync.ticketnet.manifest import SHA256_PATTERN, is_timestamp
from reseller_sync.ticketnet.names import BatchId, FileName, FileType, NameKind, Stream

ACK_VERSION = 1
_BOM = b"\xef\xbb\xbf"


class AckStatus(StrEnum):
    ACCEPTED = "ACCEPTED"
    PARTIAL = "PARTIAL"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class AckBatchError:
    """Why a batch was ``REJECTED``: ``file`` and ``record`` are None when they do not apply."""

    code: Code
    message: str
    file: str | None = None
    record: int | None = None


@dataclass(frozen=True)
class AckRecordError:
    record: int
    code: Code
    message: str
    available: int | None = None
    """For ``A06``: the places available in the area."""


@dataclass(frozen=True)
class AckIds:
    org_event_code: str
    org_performance_code: str
    event_id: str
    performance_id: str


@dataclass(frozen=True)
class AckFile:
    name: str
    type: FileType
    records: int
    status: AckStatus
    accepted: int
    rejected: int
    errors: tuple[AckRecordError, ...] = ()
    ids: tuple[AckIds, ...] = ()


@dataclass(frozen=True)
class Ack:
    batch: BatchId
    manifest_sha256: str
    processed_at: str
    status: AckStatus
    error: AckBatchError | None = None
    files: tuple[AckFile, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.batch.ack_name

    def to_json(self) -> dict[str, Any]:
        return {
            "ack_version": ACK_VERSION,
            "batch_id": str(self.batch),
            "manifest_sha256": self.manifest_sha256,
            "processed_at": self.processed_at,
            "status": self.status.value,
            "error": None
            if self.error is None
            else {
                "code": self.error.code.value,
                "file": self.error.file,
                "record": self.error.record,
                "message": self.error.message,
            },
            "files": [_file_json(f) for f in self.files],
        }

    def encode(self) -> bytes:
        """UTF-8 JSON without byte order mark (write it by ``.tmp`` and rename)."""
        return (json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n").encode()


def _file_json(file: AckFile) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": file.name,
        "type": file.type.value,
        "records": file.records,
        "status": file.status.value,
        "accepted": file.accepted,
        "rejected": file.rejected,
        "errors": [
            {"record": e.record, "code": e.code.value, "message": e.message}
            | ({"available": e.available} if e.available is not None else {})
            for e in file.errors
        ],
    }
    if file.type is FileType.CATALOG:
        document["ids"] = [
            {
                "org_event_code": i.org_event_code,
                "org_performance_code": i.org_performance_code,
                "event_id": i.event_id,
                "performance_id": i.performance_id,
            }
            for i in file.ids
        ]
    return document


def parse_ack(name: str, data: bytes) -> Ack:
    """The ACK ``name`` (no folder), or :class:`BatchRefusedError` ``R22`` listing every fault."""
    ack, problems = ack_problems(name, data)
    if ack is None:
        raise BatchRefusedError(
            name.removesuffix(".ack.json"),
            Code.R22,
            [TicketnetProblem(reason, name, 0, key, code=Code.R22) for reason, key in problems],
        )
    return ack


def match_ack(ack: Ack, sent: Mapping[str, str]) -> TicketnetProblem | None:
    """``R22`` when ``ack`` answers none of the ``sent`` batches (batch id -> manifest SHA-256)."""
    expected = sent.get(str(ack.batch))
    if expected is None:
        reason = f"answers batch {ack.batch}, which the organiser did not send"
    elif expected != ack.manifest_sha256:
        reason = (
            f"answers a manifest of SHA-256 {ack.manifest_sha256}; the manifest sent is {expected}"
        )
    else:
        return None
    return TicketnetProblem(reason, ack.name, 0, "manifest_sha256", code=Code.R22)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def add(self, reason: str, key: str) -> None:
        self.problems.append((reason, key))

    def get(self, where: Mapping[str, Any], key: str, kind: str, path: str) -> Any:
        """The value of ``key`` if of JSON type ``kind`` (or null when kind ends with ``?``)."""
        if key not in where:
            self.add(f"the key {key} is missing", path)
            return None
        value = where[key]
        nullable = kind.endswith("?")
        if value is None and nullable:
            return None
        base = kind.rstrip("?")
        ok = {
            "string": isinstance(value, str),
            "number": isinstance(value, int) and not isinstance(value, bool),
            "object": isinstance(value, dict),
            "array": isinstance(value, list),
        }[base]
        if not ok:
            shown = "a whole number" if base == "number" else f"a JSON {base}"
            self.add(f"must be {shown}" + (" or null" if nullable else ""), path)
            return None
        return value


def ack_problems(name: str, data: bytes) -> tuple[Ack | None, list[tuple[str, str]]]:
    """The ACK, or None and every fault as ``(reason, key)``."""
    check = _Checker()
    parsed = FileName.parse(name)
    if parsed is None or parsed.kind is not NameKind.ACK or parsed.batch.stream is not Stream.OFFER:
        check.add("the name is not OFFER_<PROMOTER>_<NUMBER>.ack.json (section 4)", "-")
        return None, check.problems
    if data.startswith(_BOM):
        check.add("the ACK starts with a byte order mark", "-")
        return None, check.problems
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        check.add("the ACK does not parse as UTF-8 JSON: incomplete or corrupt", "-")
        return None, check.problems
    if not isinstance(document, dict):
        check.add("the ACK is not a JSON object", "-")
        return None, check.problems
    version = check.get(document, "ack_version", "number", "ack_version")
    if version is not None and version != ACK_VERSION:
        check.add(f"must be {ACK_VERSION}", "ack_version")
    batch_id = check.get(document, "batch_id", "string", "batch_id")
    if batch_id is not None and batch_id != str(parsed.batch):
        check.add(f"is {batch_id!r} but the ACK's name says {parsed.batch}", "batch_id")
    sha = check.get(document, "manifest_sha256", "string", "manifest_sha256")
    if sha is not None and not SHA256_PATTERN.fullmatch(sha):
        check.add("must be 64 lowercase hexadecimal digits", "manifest_sha256")
    processed_at = check.get(document, "processed_at", "string", "processed_at")
    if processed_at is not None and not is_timestamp(processed_at):
        check.add("is not a timestamp", "processed_at")
    status = _status(check, document, "status", "status")
    error = _batch_error(check, document)
    if status is AckStatus.REJECTED and "error" in document and document["error"] is None:
        check.add("a REJECTED ACK says why in error", "error")
    if status is not None and status is not AckStatus.REJECTED and error is not None:
        check.add(f"a {status} ACK has a null error", "error")
    files: list[AckFile] = []
    for index, entry in enumerate(check.get(document, "files", "array", "files") or []):
        file = _ack_file(check, entry, f"files[{index}]", parsed.batch)
        if file is not None:
            files.append(file)
    if status is AckStatus.ACCEPTED and any(f.status is not AckStatus.ACCEPTED for f in files):
        check.add("an ACCEPTED ACK has every file ACCEPTED", "status")
    if status is AckStatus.REJECTED and any(f.accepted for f in files):
        check.add("a REJECTED batch has no record applied", "status")
    if check.problems or status is None or sha is None or processed_at is None:
        return None, check.problems
    return Ack(parsed.batch, sha, processed_at, status, error, tuple(files)), check.problems


def _status(check: _Checker, where: Mapping[str, Any], key: str, path: str) -> AckStatus | None:
    value = check.get(where, key, "string", path)
    if value is None:
        return None
    try:
        return AckStatus(value)
    except ValueError:
        check.add("must be ACCEPTED, PARTIAL or REJECTED", path)
        return None


def _code(check: _Checker, value: Any, path: str) -> Code | None:
    if value is None:
        return None
    try:
        return Code(value)
    except ValueError:
        check.add(f"{value!r} is not a code of section 10.1", path)
        return None


def _batch_error(check: _Checker, document: Mapping[str, Any]) -> AckBatchError | None:
    error = check.get(document, "error", "object?", "error")
    if error is None:
        return None
    code = _code(check, check.get(error, "code", "string", "error.code"), "error.code")
    file = check.get(error, "file", "string?", "error.file")
    record = check.get(error, "record", "number?", "error.record")
    message = check.get(error, "message", "string", "error.message")
    if code is None or message is None:
        return None
    return AckBatchError(code, message, file, record)


def _ack_file(check: _Checker, entry: Any, path: str, batch: BatchId) -> AckFile | None:
    if not isinstance(entry, dict):
        check.add("must be a JSON object", path)
        return None
    name = check.get(entry, "name", "string", f"{path}.name")
    type_text = check.get(entry, "type", "string", f"{path}.type")
    records = check.get(entry, "records", "number", f"{path}.records")
    status = _status(check, entry, "status", f"{path}.status")
    accepted = check.get(entry, "accepted", "number", f"{path}.accepted")
    rejected = check.get(entry, "rejected", "number", f"{path}.rejected")
    parsed = FileName.parse(name) if name is not None else None
    if name is not None and (parsed is None or parsed.batch != batch or parsed.type is None):
        check.add(f"{name!r} is not a data file of {batch}", f"{path}.name")
    file_type = None
    if type_text is not None:
        try:
            file_type = FileType(type_text)
        except ValueError:
            check.add(f"{type_text!r} is not a file type", f"{path}.type")
    if parsed is not None and file_type is not None and parsed.type is not file_type:
        check.add(f"is {file_type} but the name says {parsed.type}", f"{path}.type")
    counts = (records, accepted, rejected)
    if all(isinstance(n, int) for n in counts):
        assert records is not None
        assert accepted is not None
        assert rejected is not None
        if min(counts) < 0:
            check.add("counts are not negative", path)
        if accepted + rejected != records:
            check.add(f"accepted + rejected ({accepted} + {rejected}) is not records", path)
        if status is AckStatus.ACCEPTED and rejected:
            check.add("an ACCEPTED file has no rejected record", f"{path}.status")
        if status is AckStatus.REJECTED and accepted:
            check.add("a REJECTED file has no accepted record", f"{path}.status")
        if status is AckStatus.PARTIAL and not (accepted and rejected):
            check.add("a PARTIAL file has accepted and rejected records", f"{path}.status")
    errors: list[AckRecordError] = []
    for index, item in enumerate(check.get(entry, "errors", "array", f"{path}.errors") or []):
        where = f"{path}.errors[{index}]"
        if not isinstance(item, dict):
            check.add("must be a JSON object", where)
            continue
        record = check.get(item, "record", "number", f"{where}.record")
        code = _code(check, check.get(item, "code", "string", f"{where}.code"), f"{where}.code")
        message = check.get(item, "message", "string", f"{where}.message")
        available = None
        if code is Code.A06:
            available = check.get(item, "available", "number", f"{where}.available")
        if isinstance(record, int) and isinstance(records, int) and not 1 <= record <= records:
            check.add(f"record {record} is not one of the file's 1 to {records}", f"{where}.record")
        if record is not None and code is not None and message is not None:
            errors.append(AckRecordError(record, code, message, available))
    ids: list[AckIds] = []
    if "ids" in entry:
        for index, item in enumerate(check.get(entry, "ids", "array", f"{path}.ids") or []):
            where = f"{path}.ids[{index}]"
            if not isinstance(item, dict):
                check.add("must be a JSON object", where)
                continue
            keys = ("org_event_code", "org_performance_code", "event_id", "performance_id")
            values = [check.get(item, k, "string", f"{where}.{k}") for k in keys]
            if all(v is not None for v in values):
                ids.append(AckIds(*values))
    if None in (name, file_type, records, status, accepted, rejected):
        return None
    assert name is not None
    assert file_type is not None
    assert status is not None
    return AckFile(name, file_type, records, status, accepted, rejected, tuple(errors), tuple(ids))
