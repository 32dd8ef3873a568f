"""Codes of ``ticketnet-exchange-v1`` (section 10) and the errors that carry them.

* :class:`Code`: every ACK code (10.1) and reading code (10.2), with its
  category at the organiser (:data:`CATEGORIES`; ``None`` for an outcome).
* :class:`TicketnetProblem`: a :class:`~reseller_sync.domain.errors.Problem`
  with its code. ``line`` is the data record within its part (1 = first
  record, the header not counted; 0 = the file or manifest as a whole),
  ``column`` a column name, or a manifest or ACK key such as ``files[2].sha256``.
* :class:`BatchRefusedError`: a batch from Ticketnet failed verification or
  a rule across records (external: Ticketnet replaces the batch).
* :class:`OfferRefusedError`: an ``OFFER`` batch fails the same verification
  (codes ``B01`` to ``B06``): our own writer's fault (technical).
* :class:`BatchWriteError`: we were about to write a file that breaks the
  contract (technical).

A problem never holds a value of a ``buyer_*`` column: the reader drops those
columns before any check (section 11).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from reseller_sync.domain.errors import (
    CodedProblem,
    ErrorCategory,
    ExternalError,
    Problem,
    TechnicalError,
)
from reseller_sync.domain.texts import Localized

MAX_PROBLEMS = 100
"""How many problems an error lists before summing up the rest."""


class Code(StrEnum):
    # 10.1: ACK codes, Ticketnet answering the organiser's batches.
    B01 = "B01"
    B02 = "B02"
    B03 = "B03"
    B04 = "B04"
    B05 = "B05"
    B06 = "B06"
    B07 = "B07"
    C01 = "C01"
    C02 = "C02"
    C03 = "C03"
    C04 = "C04"
    C05 = "C05"
    C06 = "C06"
    A01 = "A01"
    A02 = "A02"
    A03 = "A03"
    A04 = "A04"
    A05 = "A05"
    A06 = "A06"
    A07 = "A07"
    Z99 = "Z99"
    # 10.2: reading codes, the organiser reading Ticketnet's batches.
    R01 = "R01"
    R02 = "R02"
    R03 = "R03"
    R04 = "R04"
    R05 = "R05"
    R06 = "R06"
    R07 = "R07"
    R08 = "R08"
    R09 = "R09"
    R10 = "R10"
    R11 = "R11"
    R12 = "R12"
    R13 = "R13"
    R14 = "R14"
    R15 = "R15"
    R16 = "R16"
    R17 = "R17"
    R18 = "R18"
    R19 = "R19"
    R20 = "R20"
    R21 = "R21"
    R22 = "R22"
    R90 = "R90"

    @property
    def category(self) -> ErrorCategory | None:
        """The category at the organiser; None for an outcome (A04 to A07)."""
        return CATEGORIES[self]


_M, _E, _T = ErrorCategory.MAPPING, ErrorCategory.EXTERNAL, ErrorCategory.TECHNICAL

CATEGORIES: dict[Code, ErrorCategory | None] = {
    **{Code(f"B0{n}"): _T for n in range(1, 8)},
    Code.C01: _M,
    Code.C02: _M,
    Code.C03: _M,
    Code.C04: _M,
    Code.C05: _M,
    Code.C06: _T,
    Code.A01: _M,
    Code.A02: _M,
    Code.A03: _M,
    Code.A04: None,
    Code.A05: None,
    Code.A06: None,
    Code.A07: None,
    Code.Z99: _E,
    **{Code(f"R{n:02d}"): _E for n in range(1, 23)},
    Code.R10: _M,
    Code.R11: _M,
    Code.R12: _M,
    Code.R13: _M,
    Code.R17: _M,
    Code.R90: _T,
}
"""The organiser's category of each code (tables 10.1 and 10.2)."""

VERIFICATION_CODES: dict[str, tuple[Code, Code]] = {
    "manifest": (Code.B01, Code.R01),
    "missing": (Code.B02, Code.R02),
    "sha256": (Code.B03, Code.R03),
    "count": (Code.B04, Code.R04),
    "unlisted": (Code.B05, Code.R05),
    "syntax": (Code.B06, Code.R06),
}
"""Each verification step of section 6: its code at Ticketnet and at the organiser."""


def verification_code(step: str, *, from_ticketnet: bool) -> Code:
    """The code of a verification step for a batch of Ticketnet (R) or of the organiser (B)."""
    at_ticketnet, at_organiser = VERIFICATION_CODES[step]
    return at_organiser if from_ticketnet else at_ticketnet


@dataclass(frozen=True)
class TicketnetProblem(CodedProblem):
    """A :class:`~reseller_sync.domain.errors.CodedProblem` with the contract's code."""

    code: Code = Code.R90


class BatchRefusedError(ExternalError):
    """A batch from Ticketnet is refused whole; nothing of it is applied."""

    def __init__(
        self,
        batch: str,
        code: Code,
        problems: Iterable[TicketnetProblem],
        *,
        total: int | None = None,
    ) -> None:
        problems = tuple(problems)
        self.code = code
        self.batch = batch
        super().__init__(
            f"{batch}: refused, {code} ({_count(problems, total)})",
            problems=problems,
            file=batch,
            action=Localized(
                fr="Rien du lot n'a été appliqué. Envoyez à {reseller} le nom du lot, le code et "
                "les problèmes listés : {reseller} remplace le lot sous le même numéro "
                "(ticketnet-exchange-v1, section 3 point 8), puis relancez (Clear) la tâche.",
                en="Nothing of the batch was applied. Send {reseller} the batch name, the code "
                "and the problems listed: {reseller} replaces the batch under the same number "
                "(ticketnet-exchange-v1, section 3 point 8); then clear the task.",
            ),
        )


class OfferRefusedError(TechnicalError):
    """An ``OFFER`` batch fails the verification Ticketnet runs on it (B01 to B06)."""

    def __init__(
        self,
        batch: str,
        code: Code,
        problems: Iterable[TicketnetProblem],
        *,
        total: int | None = None,
    ) -> None:
        problems = tuple(problems)
        self.code = code
        self.batch = batch
        super().__init__(
            f"{batch}: refused, {code} ({_count(problems, total)})", problems=problems, file=batch
        )


class BatchWriteError(TechnicalError):
    """We were about to write something that breaks ``ticketnet-exchange-v1``."""

    def __init__(
        self, file: str | None, problems: Iterable[Problem], *, total: int | None = None
    ) -> None:
        problems = tuple(problems)
        super().__init__(
            f"{file or 'Ticketnet file'}: not written, {_count(problems, total)}",
            problems=problems,
            file=file,
        )


def refused(
    batch: str,
    code: Code,
    problems: Iterable[TicketnetProblem],
    *,
    total: int | None = None,
) -> BatchRefusedError | OfferRefusedError:
    """The error refusing ``batch`` with ``code``: B codes are ours, others Ticketnet's."""
    if code.value.startswith("B"):
        return OfferRefusedError(batch, code, problems, total=total)
    return BatchRefusedError(batch, code, problems, total=total)


def _count(problems: tuple[Problem, ...], total: int | None) -> str:
    number = len(problems) if total is None else total
    return "1 problem" if number == 1 else f"{number} problems"
