"""Codes of ``secutix-reseller-v1`` (section 10) and the problems that carry them.

* :class:`Code`: every RESULT code (10.1) and reading code (10.2), with its
  category at the organiser (:data:`CATEGORIES`; ``None`` for an outcome).
* :class:`SecutixProblem`: a :class:`~reseller_sync.domain.errors.Problem`
  with its code. ``line`` is the data line (1 = the first after the header;
  0 = the file as a whole), ``column`` a column name.
* :class:`FileRefusedError`: a file from the reseller refused whole, of the
  category of its first problem's code.

No problem ever holds a value of a ``CONTACT_*`` column: the reader drops
those columns before any check (section 11).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from reseller_sync.domain.errors import CodedProblem, ErrorCategory, SyncError

MAX_PROBLEMS = 100
"""How many problems a file lists before summing up the rest."""


class Code(StrEnum):
    # 10.1: RESULT codes, the reseller answering the organiser's files.
    F01 = "F01"
    F02 = "F02"
    F03 = "F03"
    O01 = "O01"
    O02 = "O02"
    O03 = "O03"
    O04 = "O04"
    Q01 = "Q01"
    Q02 = "Q02"
    Q03 = "Q03"
    Q04 = "Q04"
    Q05 = "Q05"
    Q06 = "Q06"
    Q07 = "Q07"
    Q08 = "Q08"
    X99 = "X99"
    # 10.2: reading codes, the organiser reading the reseller's files.
    T01 = "T01"
    T02 = "T02"
    T03 = "T03"
    T04 = "T04"
    T05 = "T05"
    T06 = "T06"
    T07 = "T07"
    T08 = "T08"
    T09 = "T09"
    T10 = "T10"
    T11 = "T11"
    T12 = "T12"
    T13 = "T13"
    T14 = "T14"
    T15 = "T15"
    T16 = "T16"
    T17 = "T17"
    T18 = "T18"
    T19 = "T19"
    T20 = "T20"
    T21 = "T21"
    T22 = "T22"
    T23 = "T23"
    T90 = "T90"

    @property
    def category(self) -> ErrorCategory | None:
        """The category at the organiser; None for an outcome (``Q04`` to ``Q07``)."""
        return CATEGORIES[self]

    @property
    def is_reading_code(self) -> bool:
        """A code of table 10.2 (the organiser reading the reseller's files)."""
        return self.value.startswith("T")


_M, _E, _T = ErrorCategory.MAPPING, ErrorCategory.EXTERNAL, ErrorCategory.TECHNICAL

CATEGORIES: dict[Code, ErrorCategory | None] = {
    Code.F01: _T,
    Code.F02: _T,
    Code.F03: _T,
    Code.O01: _M,
    Code.O02: _T,
    Code.O03: _M,
    Code.O04: _M,
    Code.Q01: _M,
    Code.Q02: _M,
    Code.Q03: _M,
    Code.Q04: None,
    Code.Q05: None,
    Code.Q06: None,
    Code.Q07: None,
    Code.Q08: _T,
    Code.X99: _E,
    **{Code(f"T{n:02d}"): _E for n in range(1, 24)},
    Code.T14: _M,
    Code.T15: _M,
    Code.T16: _M,
    Code.T17: _M,
    Code.T90: _T,
}
"""The organiser's category of each code (tables 10.1 and 10.2)."""

RESULT_CODES: frozenset[Code] = frozenset(code for code in Code if not code.is_reading_code)
"""The codes a RESULT line may carry (10.1)."""


@dataclass(frozen=True)
class SecutixProblem(CodedProblem):
    """A :class:`~reseller_sync.domain.errors.CodedProblem` with the contract's code."""

    code: Code = Code.T90


class FileRefusedError(SyncError):
    """A file from the reseller is refused whole; nothing of it is applied.

    Its code is its first problem's (the first check of the spec's order that
    failed), and its category that code's.
    """

    def __init__(
        self, file: str, problems: Iterable[SecutixProblem], *, total: int | None = None
    ) -> None:
        listed = tuple(problems)
        if not listed:
            raise ValueError("a refused file has at least one problem")
        self.code = listed[0].code
        self.category = self.code.category or ErrorCategory.EXTERNAL
        number = len(listed) if total is None else total
        super().__init__(
            f"{file}: refused, {self.code} ({number} problem{'s' if number != 1 else ''})",
            problems=listed,
            file=file,
        )
