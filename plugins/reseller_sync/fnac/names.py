"""File names and sequences (spec sections 3, 4, 7.6 and 9).

A name is ``<TYPE>_<MANAGER>_<SEQ>_<STAMP>.csv``, e.g.
``VENTES_M0427_000042_20261128130503.csv``; an acknowledgement is ``ACK_``
followed by the name of the file it answers, and takes that file's manager,
SEQ and stamp.

>>> name = FileName.parse("VENTES_M0427_000042_20261128130503.csv")
>>> name.type, name.manager, name.seq
(<FileType.VENTES: 'VENTES'>, 'M0427', 42)
>>> str(ack_name(FileName.parse("PLACES_M0427_000007_20261128130003.csv")))
'ACK_PLACES_M0427_000007_20261128130003.csv'

:func:`sequence_status` tells, for the names found in a folder, which SEQ of
one type comes next, which files can be processed now, which are missing and
which were seen already.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from reseller_sync.core.exchange import Sender, Unit
from reseller_sync.domain.errors import Problem
from reseller_sync.fnac.errors import FileFormatError, FileWriteError

PARTIAL_SUFFIX = ".part"
"""Suffix of a file still being uploaded (spec section 3); such names are not files yet."""

STAMP_FORMAT = "%Y%m%d%H%M%S"
MAX_SEQ = 999_999


class Party(StrEnum):
    ORGANISER = "organiser"
    FNAC = "fnac"


class FileType(StrEnum):
    """The TYPE of a file, as in its name and header."""

    FICHE = "FICHE"
    PLACES = "PLACES"
    DECONT = "DECONT"
    VENTES = "VENTES"
    ANNUL = "ANNUL"
    TEST = "TEST"
    CATCLI = "CATCLI"
    ETATPL = "ETATPL"
    ACK = "ACK"

    @property
    def sender(self) -> Party:
        """Who writes files of this type."""
        if self in (FileType.FICHE, FileType.PLACES, FileType.DECONT):
            return Party.ORGANISER
        return Party.FNAC

    @property
    def folder(self) -> str:
        """The SFTP folder files of this type are dropped in (``depot`` or ``retour``)."""
        return "depot" if self.sender is Party.ORGANISER else "retour"


ORGANISER_TYPES: frozenset[FileType] = frozenset(t for t in FileType if t.sender is Party.ORGANISER)
FNAC_TYPES: frozenset[FileType] = frozenset(t for t in FileType if t.sender is Party.FNAC)

_NAME = re.compile(r"(?P<type>[A-Z]+)_(?P<manager>[^_]*)_(?P<seq>[^_]*)_(?P<stamp>[^_]*)\.csv")
_MANAGER = re.compile(r"M[0-9]{4}")
_SEQ = re.compile(r"[0-9]{6}")
_STAMP = re.compile(r"[0-9]{14}")


@dataclass(frozen=True)
class FileName:
    """A parsed file name.

    For an ACK, ``answered`` is the name of the answered file, and
    ``manager``, ``seq`` and ``stamp`` are that file's. ``stamp`` is an aware
    datetime in UTC, to the second.
    """

    type: FileType
    manager: str
    seq: int
    stamp: datetime
    answered: FileName | None = None

    def __post_init__(self) -> None:
        problems = _name_problems(self)
        if problems:
            raise FileWriteError(None, [Problem(reason) for reason in problems])
        object.__setattr__(self, "stamp", self.stamp.astimezone(UTC).replace(microsecond=0))

    @classmethod
    def build(
        cls, file_type: FileType, manager: str, seq: int, stamp: datetime | None = None
    ) -> FileName:
        """A name for a new file; ``stamp`` defaults to now. Use :func:`ack_name` for an ACK."""
        if file_type is FileType.ACK:
            raise FileWriteError(None, [Problem("an ACK is named after the file it answers")])
        return cls(FileType(file_type), manager, seq, stamp or datetime.now(UTC))

    @classmethod
    def parse(cls, name: str) -> FileName:
        """Parse a file name; raise :class:`FileFormatError` if it is not one of the contract."""
        reasons = _parse_problems(name)
        if reasons:
            raise FileFormatError(name, [Problem(reason, file=name, line=0) for reason in reasons])
        if name.startswith("ACK_"):
            return ack_name(cls.parse(name[len("ACK_") :]))
        match = _NAME.fullmatch(name)
        assert match is not None  # _parse_problems checked it
        stamp = datetime.strptime(match["stamp"], STAMP_FORMAT).replace(tzinfo=UTC)
        return cls(FileType(match["type"]), match["manager"], int(match["seq"]), stamp)

    @property
    def seq_text(self) -> str:
        """The SEQ as written in names, headers and trailers: six digits."""
        return f"{self.seq:06d}"

    # The exchange layer's view of a name (core.exchange.ExchangeName).

    @property
    def stream(self) -> str:
        """The journal's stream: the TYPE; an ACK joins the stream of the type it answers
        (``ACK_PLACES``), since each type has its own SEQs."""
        if self.answered is not None:
            return f"ACK_{self.answered.type.value}"
        return self.type.value

    @property
    def sequence(self) -> int:
        return self.seq

    @property
    def sender(self) -> Sender:
        return Sender.ORGANISER if self.type.sender is Party.ORGANISER else Sender.PARTNER

    @property
    def answers(self) -> FileName | None:
        return self.answered

    @property
    def unit(self) -> Unit:
        """Each FNAC file is a unit on its own: the contract has no batches."""
        return Unit.FILE

    def __str__(self) -> str:
        if self.answered is not None:
            return f"ACK_{self.answered}"
        return f"{self.type}_{self.manager}_{self.seq_text}_{self.stamp.strftime(STAMP_FORMAT)}.csv"


def ack_name(of: FileName | str) -> FileName:
    """The name of the ACK answering the file ``of`` (an organiser's file)."""
    answered = FileName.parse(of) if isinstance(of, str) else of
    return FileName(FileType.ACK, answered.manager, answered.seq, answered.stamp, answered)


def _name_problems(name: FileName) -> list[str]:
    problems = []
    if not isinstance(name.type, FileType):
        problems.append(f"unknown file type {name.type!r}")
    if not _MANAGER.fullmatch(name.manager):
        problems.append(f"manager code {name.manager!r} is not M followed by 4 digits")
    if not 1 <= name.seq <= MAX_SEQ:
        problems.append(f"SEQ {name.seq} is not between 1 and {MAX_SEQ}")
    if name.stamp.tzinfo is None:
        problems.append("the stamp must be an aware datetime (it is written in UTC)")
    if (name.type is FileType.ACK) != (name.answered is not None):
        problems.append("an ACK name, and only an ACK name, answers another file")
    if name.answered is not None:
        answered = name.answered
        if answered.type not in ORGANISER_TYPES:
            problems.append(f"FNAC acknowledges organiser files only, not {answered.type}")
        if (name.manager, name.seq, name.stamp) != (
            answered.manager,
            answered.seq,
            answered.stamp,
        ):
            problems.append("an ACK takes the manager, SEQ and stamp of the file it answers")
    return problems


def _parse_problems(name: str) -> list[str]:
    """Why ``name`` is not a file name of the contract (empty when it is)."""
    if name.endswith(PARTIAL_SUFFIX):
        return ["a file still being uploaded (.part) is not a file yet"]
    inner = name[len("ACK_") :] if name.startswith("ACK_") else name
    match = _NAME.fullmatch(inner)
    if match is None:
        return ["not a file name of the form TYPE_MANAGER_SEQ_STAMP.csv"]
    problems = []
    if match["type"] not in FileType.__members__ or match["type"] == FileType.ACK:
        problems.append(f"unknown file type {match['type']!r}")
    elif inner is not name and match["type"] not in ORGANISER_TYPES:
        problems.append(f"FNAC acknowledges organiser files only, not {match['type']}")
    if not _MANAGER.fullmatch(match["manager"]):
        problems.append(f"manager code {match['manager']!r} is not M followed by 4 digits")
    if not _SEQ.fullmatch(match["seq"]) or match["seq"] == "000000":
        problems.append(f"SEQ {match['seq']!r} is not six digits from 000001")
    if not _STAMP.fullmatch(match["stamp"]) or _strptime(match["stamp"]) is None:
        problems.append(f"stamp {match['stamp']!r} is not a UTC time YYYYMMDDHHMMSS")
    return problems


def _strptime(stamp: str) -> datetime | None:
    try:
        return datetime.strptime(stamp, STAMP_FORMAT)
    except ValueError:
        return None


@dataclass(frozen=True)
class SequenceStatus:
    """Where the files of one type stand (spec section 9, rule 1).

    Files are processed in SEQ order; a gap stops the type until the missing
    file arrives. ``next_expected`` is the SEQ to process next: one more than
    the highest SEQ seen (1 when none was).
    """

    file_type: FileType
    next_expected: int
    ready: tuple[FileName, ...]
    """Files to process now, in order: consecutive SEQs from ``next_expected``."""
    missing: tuple[int, ...]
    """SEQs absent although a higher SEQ is present (gaps)."""
    waiting: tuple[FileName, ...]
    """Files present beyond a gap or a reused SEQ, waiting."""
    already_seen: tuple[FileName, ...]
    """Files whose SEQ is below ``next_expected`` (processed before, or too late to process)."""
    reused: tuple[int, ...]
    """SEQs present under several names (a reuse: spec error E02); the sequence stops there."""
    unparsable: tuple[str, ...]
    """Names that are not file names of the contract (``.part`` names are skipped silently)."""


def sequence_status(
    names: Iterable[str | FileName],
    file_type: FileType,
    *,
    seen: Iterable[int] = (),
    answering: FileType | None = None,
) -> SequenceStatus:
    """Sort the names of ``file_type`` into ready, missing, waiting and already seen.

    ``names`` may hold names of other types (ignored). ``seen`` holds the SEQs
    of this type already processed. ACKs carry the SEQ of the file they
    answer, so for ``FileType.ACK`` give ``answering``, the type answered;
    SEQs are then those of the answered files.
    """
    if (file_type is FileType.ACK) != (answering is not None):
        raise ValueError("give `answering` for ACK files, and only for them")
    seen_seqs = set(seen)
    next_expected = max(seen_seqs, default=0) + 1
    by_seq: dict[int, list[FileName]] = defaultdict(list)
    unparsable = []
    for raw in names:
        if isinstance(raw, str) and raw.endswith(PARTIAL_SUFFIX):
            continue
        try:
            name = FileName.parse(raw) if isinstance(raw, str) else raw
        except FileFormatError:
            unparsable.append(str(raw))
            continue
        of_type = name.type is file_type
        if of_type and (name.answered is None or name.answered.type is answering):
            by_seq[name.seq].extend([] if name in by_seq[name.seq] else [name])
    already_seen = [n for seq in sorted(by_seq) if seq < next_expected for n in by_seq[seq]]
    ready: list[FileName] = []
    seq = next_expected
    while len(by_seq.get(seq, ())) == 1:
        ready.append(by_seq[seq][0])
        seq += 1
    highest = max(by_seq, default=0)
    return SequenceStatus(
        file_type=file_type,
        next_expected=next_expected,
        ready=tuple(ready),
        missing=tuple(s for s in range(next_expected, highest) if s not in by_seq),
        waiting=tuple(n for s in sorted(by_seq) if s >= seq for n in by_seq[s]),
        already_seen=tuple(already_seen),
        reused=tuple(s for s in sorted(by_seq) if len(by_seq[s]) > 1),
        unparsable=tuple(unparsable),
    )
