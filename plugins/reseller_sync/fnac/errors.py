"""Errors of the FNAC codec, in the package's error family.

* :class:`FileFormatError`: a file received from the partner breaks the
  contract. It is the partner's problem (external, not temporary): the whole
  file is refused and nothing of it is applied.
* :class:`FileWriteError`: we were about to write a file that breaks the
  contract, or to build an invalid file name. It is our bug (technical).

Both carry every :class:`~reseller_sync.domain.errors.Problem` found (up to
:data:`MAX_PROBLEMS`, then one last "and N more problems"). A problem never
holds a value of the buyer contact columns, nor a raw line of a file.
"""

from __future__ import annotations

from collections.abc import Iterable

from reseller_sync.domain.errors import ExternalError, Problem, TechnicalError

MAX_PROBLEMS = 100
"""How many problems an error lists before summing up the rest."""


class FileFormatError(ExternalError):
    """A partner file breaks the FNAC contract; it is refused whole."""

    def __init__(self, file: str, problems: Iterable[Problem], *, total: int | None = None) -> None:
        problems = tuple(problems)
        super().__init__(
            f"{file}: refused, {_count(problems, total)} against the FNAC file contract",
            problems=problems,
            file=file,
            action=(
                "Nothing of the file was applied. Send FNAC the file name and the "
                "problems listed, and wait for a corrected file."
            ),
        )


class FileWriteError(TechnicalError):
    """We were about to write something that breaks the FNAC file contract."""

    def __init__(
        self, file: str | None, problems: Iterable[Problem], *, total: int | None = None
    ) -> None:
        problems = tuple(problems)
        super().__init__(
            f"{file or 'FNAC file'}: not written, {_count(problems, total)} in the records",
            problems=problems,
            file=file,
        )


def _count(problems: tuple[Problem, ...], total: int | None) -> str:
    """``total`` counts the problems beyond the listed ones too."""
    number = len(problems) if total is None else total
    return "1 problem" if number == 1 else f"{number} problems"
