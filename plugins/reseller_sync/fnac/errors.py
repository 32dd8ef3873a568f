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
from reseller_sync.domain.texts import Localized

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
            action=Localized(
                fr="Rien du fichier n'a été appliqué. Envoyez à {reseller} le nom du fichier et "
                "les problèmes listés : {reseller} renvoie ses lignes sous la séquence suivante "
                "(spec 9.5). Une fois ce fichier reçu, mettez celui-ci de côté (`python -m "
                'reseller_sync journal set-aside FICHIER --reason "..."`, ou sa page dans le '
                "tableau de bord FNAC), puis relancez (Clear) la tâche.",
                en="Nothing of the file was applied. Send {reseller} the file name and the "
                "problems listed: {reseller} sends its lines again under the next sequence "
                "(spec 9.5). Once that file is in, set this one aside (`python -m reseller_sync "
                'journal set-aside FILE --reason "..."`, or its page in the FNAC dashboard), '
                "then clear the task.",
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
