"""Manifests (``ticketnet-exchange-v1`` section 6): parse, validate, write.

:func:`manifest_problems` lists every invalidity of section 6 (not a JSON
object, a key missing or of the wrong JSON type, ``manifest_version`` not 1,
``created_at`` not a timestamp, disagreement with its own name, empty
``files``, a name listed twice, a type the stream does not allow, parts of a
type not ``1`` to k, no ``sales_batch`` in an ``INVENTORY`` batch), plus what
makes a listed file unusable (a name section 4 does not define, a ``sha256``
that is not 64 lowercase hexadecimal digits, a negative ``records``). Each
problem names the key concerned (``files[0].sha256``: indexes count from 0, as
in JSON). Keys the table does not define are ignored.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from reseller_sync.ticketnet.errors import Code, TicketnetProblem, refused
from reseller_sync.ticketnet.formats import TIMESTAMP, Strings
from reseller_sync.ticketnet.names import (
    REQUIRED_TYPES,
    SINGLE_PART_TYPES,
    STREAM_TYPES,
    BatchId,
    FileName,
    FileType,
    NameKind,
    Stream,
)

MANIFEST_VERSION = 1
SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class ManifestFile:
    name: str
    type: FileType
    part: int
    records: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    batch: BatchId
    created_at: str
    files: tuple[ManifestFile, ...]
    sales_batch: int | None = None

    @property
    def batch_id(self) -> str:
        return str(self.batch)

    @property
    def name(self) -> str:
        return self.batch.manifest_name

    def in_processing_order(self) -> tuple[ManifestFile, ...]:
        """The files by type in the stream's order (section 9), then by part."""
        order = STREAM_TYPES[self.batch.stream]
        return tuple(sorted(self.files, key=lambda f: (order.index(f.type), f.part)))

    def files_of(self, file_type: FileType) -> tuple[ManifestFile, ...]:
        return tuple(f for f in self.in_processing_order() if f.type is file_type)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "manifest_version": MANIFEST_VERSION,
            "batch_id": self.batch_id,
            "stream": self.batch.stream.value,
            "promoter": self.batch.promoter,
            "batch": self.batch.number,
            "created_at": self.created_at,
        }
        if self.sales_batch is not None:
            document["sales_batch"] = self.sales_batch
        document["files"] = [
            {
                "name": f.name,
                "type": f.type.value,
                "part": f.part,
                "records": f.records,
                "sha256": f.sha256,
            }
            for f in self.in_processing_order()
        ]
        return document

    def encode(self) -> bytes:
        """The manifest's bytes: UTF-8 JSON, no byte order mark, ending with LF."""
        return (json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n").encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_timestamp(text: str) -> bool:
    """Whether ``text`` is a timestamp of section 5."""
    values = Strings.of(pa.array([text], pa.string()))
    return bool(text) and TIMESTAMP.invalid(values) is None


def parse_manifest(name: str, data: bytes, *, code: Code | None = None) -> Manifest:
    """The manifest ``name`` (a file name, no folder), or the batch refused (``R01``/``B01``)."""
    manifest, problems = manifest_problems(name, data)
    if manifest is None or problems:
        parsed = FileName.parse(name)
        from_ticketnet = parsed is None or parsed.batch.stream.from_ticketnet
        chosen = code or (Code.R01 if from_ticketnet else Code.B01)
        batch = name.removesuffix(".manifest.json")
        raise refused(
            batch,
            chosen,
            [TicketnetProblem(reason, name, 0, column, code=chosen) for reason, column in problems],
        )
    return manifest


def manifest_problems(name: str, data: bytes) -> tuple[Manifest | None, list[tuple[str, str]]]:
    """The manifest and every invalidity found as ``(reason, key)``; None when unusable."""
    problems: list[tuple[str, str]] = []

    def problem(reason: str, key: str = "-") -> None:
        problems.append((reason, key))

    parsed_name = FileName.parse(name)
    if parsed_name is None or parsed_name.kind is not NameKind.MANIFEST:
        problem("the name is not <STREAM>_<PROMOTER>_<NUMBER>.manifest.json (section 4)")
        return None, problems
    batch = parsed_name.batch
    if data.startswith(_BOM):
        problem("the manifest starts with a byte order mark; it is UTF-8 without one")
        return None, problems
    try:
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_no_repeated_keys)
    except UnicodeDecodeError:
        problem("the manifest is not UTF-8")
        return None, problems
    except _RepeatedKeyError as error:
        problem(f"the key {error.key!r} appears twice in one object", error.key)
        return None, problems
    except ValueError as error:
        problem(f"the manifest is not JSON ({error.args[0].split(':')[0]})")
        return None, problems
    if not isinstance(document, dict):
        problem("the manifest is not a JSON object")
        return None, problems

    def get(key: str, kind: type, where: dict[str, Any], path: str) -> Any:
        if key not in where:
            problem(f"the key {key} is missing", path)
            return None
        value = where[key]
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int | float):
                problem("must be a JSON number", path)
                return None
            if isinstance(value, float) and not value.is_integer():
                problem("must be a whole number", path)
                return None
            return int(value)
        if not isinstance(value, kind):
            problem(f"must be a JSON {_JSON_NAMES[kind]}", path)
            return None
        return value

    version = get("manifest_version", int, document, "manifest_version")
    if version is not None and version != MANIFEST_VERSION:
        problem(f"must be {MANIFEST_VERSION}, not {version}", "manifest_version")
    batch_id = get("batch_id", str, document, "batch_id")
    if batch_id is not None and batch_id != str(batch):
        problem(f"is {batch_id!r} but the manifest's name says {str(batch)!r}", "batch_id")
    stream = get("stream", str, document, "stream")
    if stream is not None and stream != batch.stream.value:
        problem(f"is {stream!r} but the batch id's stream is {batch.stream.value}", "stream")
    promoter = get("promoter", str, document, "promoter")
    if promoter is not None and promoter != batch.promoter:
        problem(f"is {promoter!r} but the batch id's promoter is {batch.promoter}", "promoter")
    number = get("batch", int, document, "batch")
    if number is not None and number != batch.number:
        problem(f"is {number} but the batch id's number is {batch.number}", "batch")
    created_at = get("created_at", str, document, "created_at")
    if created_at is not None and not is_timestamp(created_at):
        problem("is not a timestamp YYYY-MM-DDTHH:MM:SS+HH:MM", "created_at")
    sales_batch = None
    if batch.stream is Stream.INVENTORY:
        sales_batch = get("sales_batch", int, document, "sales_batch")
        if sales_batch is not None and sales_batch < 0:
            problem("must not be negative", "sales_batch")
    files = get("files", list, document, "files")
    listed: list[ManifestFile] = []
    if files is not None and not files:
        problem("lists no file", "files")
    for index, entry in enumerate(files or []):
        listed_file = _file(entry, f"files[{index}]", batch, problem)
        if listed_file is not None:
            listed.append(listed_file)
    counts = Counter(f.name for f in listed)
    for repeated in sorted(n for n, c in counts.items() if c > 1):
        problem(f"lists {repeated} more than once", "files")
    allowed = STREAM_TYPES[batch.stream]
    for file_type in sorted({f.type for f in listed}, key=list(FileType).index):
        if file_type not in allowed:
            problem(f"lists a {file_type} file, which a {batch.stream} batch may not hold", "files")
            continue
        parts = sorted({f.part for f in listed if f.type is file_type})
        if parts != list(range(1, len(parts) + 1)):
            problem(f"the parts of {file_type} are {parts}, not 1 to {len(parts)}", "files")
        elif file_type in SINGLE_PART_TYPES and len(parts) != 1:
            problem(f"a {batch.stream} batch holds exactly one {file_type} part", "files")
    if files:
        for required in REQUIRED_TYPES[batch.stream]:
            if not any(f.type is required for f in listed):
                problem(f"a {batch.stream} batch holds at least one {required} file", "files")
    if problems:
        return None, problems
    assert created_at is not None
    return Manifest(batch, created_at, tuple(listed), sales_batch), problems


def _file(entry: Any, path: str, batch: BatchId, problem: Any) -> ManifestFile | None:
    if not isinstance(entry, dict):
        problem("must be a JSON object", path)
        return None
    values: dict[str, Any] = {}
    for key, kind in (("name", str), ("type", str), ("part", int), ("records", int)):
        value = entry.get(key)
        if key not in entry:
            problem(f"the key {key} is missing", f"{path}.{key}")
        elif kind is int and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, float) and not value.is_integer())
        ):
            problem("must be a JSON whole number", f"{path}.{key}")
        elif kind is str and not isinstance(value, str):
            problem("must be a JSON string", f"{path}.{key}")
        else:
            values[key] = int(value) if kind is int and value is not None else value
    sha = entry.get("sha256")
    if "sha256" not in entry:
        problem("the key sha256 is missing", f"{path}.sha256")
    elif not isinstance(sha, str):
        problem("must be a JSON string", f"{path}.sha256")
    elif not SHA256_PATTERN.fullmatch(sha):
        problem("must be 64 lowercase hexadecimal digits", f"{path}.sha256")
    name = values.get("name")
    parsed = FileName.parse(name) if name is not None else None
    if name is not None:
        if parsed is None or parsed.kind is not NameKind.DATA:
            problem(f"{name!r} is not a data file name of section 4", f"{path}.name")
        elif parsed.batch != batch:
            problem(f"{name!r} does not start with {batch}.", f"{path}.name")
    if parsed is not None and parsed.kind is NameKind.DATA:
        if "type" in values and values["type"] != (parsed.type.value if parsed.type else None):
            problem(f"is {values['type']!r} but the name says {parsed.type}", f"{path}.type")
        if "part" in values and values["part"] != parsed.part:
            problem(f"is {values['part']} but the name says {parsed.part}", f"{path}.part")
    if values.get("records", 0) < 0:
        problem("must not be negative", f"{path}.records")
    complete = len(values) == 4 and isinstance(sha, str)
    if not complete or parsed is None or parsed.type is None or parsed.part is None:
        return None
    assert isinstance(sha, str)
    return ManifestFile(values["name"], parsed.type, parsed.part, values["records"], sha)


_JSON_NAMES: dict[type, str] = {str: "string", list: "array", dict: "object"}


class _RepeatedKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _RepeatedKeyError(key)
        result[key] = value
    return result
