"""One error family for the whole package.

Every error says which of the three categories it falls in, what a person
should do about it, and where it happened (file, line, column) when it
happened in a file. One place (``reseller_sync.airflow``) turns these into
Airflow behaviour: retry, fail, e-mail.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from reseller_sync.domain.texts import Localized, Text


class ErrorCategory(StrEnum):
    MAPPING = "mapping"
    """A correspondence between organiser and reseller values is missing or wrong."""
    EXTERNAL = "external"
    """The partner or the network: retry, then contact the reseller."""
    TECHNICAL = "technical"
    """A bug or a broken installation: contact support."""


CATEGORY_ACTIONS: dict[ErrorCategory, Localized] = {
    ErrorCategory.MAPPING: Localized(
        fr="Corrigez le mapping dans include/mappings/ (le détail ci-dessous dit quoi), "
        "puis relancez la tâche en échec (Clear) dans Airflow.",
        en="Fix the mapping in include/mappings/ (the details below say what), "
        "then clear the failed task in Airflow.",
    ),
    ErrorCategory.EXTERNAL: Localized(
        fr="Relancez la tâche ; si l'erreur persiste, contactez {reseller} en citant le fichier.",
        en="Retry the task; if the error persists, contact {reseller} and quote the file name.",
    ),
    ErrorCategory.TECHNICAL: Localized(
        fr="Contactez le support en joignant le journal de la tâche.",
        en="Contact support and attach the task's log.",
    ),
}
"""What to do about an error of each category when it says nothing more specific: the
one source of these actions, in every language (``{reseller}``: the reseller's name)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong, located as precisely as it can be.

    ``line`` is the data line number as the partner's contract counts them (1 is the
    first data line, 0 the whole file); ``column`` is a column name.
    """

    reason: str
    file: str | None = None
    line: int | None = None
    column: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = ":".join(
            str(part)
            for part in (self.file, self.line, self.column)
            if part is not None and part != ""
        )
        shown = f" (value {self.value!r})" if self.value is not None else ""
        return f"{where}: {self.reason}{shown}" if where else f"{self.reason}{shown}"


@dataclass(frozen=True)
class CodedProblem(Problem):
    """A :class:`Problem` with its partner contract's code, as a codec's ``check`` command
    prints it."""

    code: str = ""

    def located(self) -> str:
        """``FILE:LINE:COLUMN: CODE reason``; LINE 0 and COLUMN ``-`` when they do not apply
        (LINE is the record within its file where the contract speaks of records)."""
        shown = f" (value {self.value!r})" if self.value is not None else ""
        return (
            f"{self.file or '-'}:{self.line or 0}:{self.column or '-'}: "
            f"{self.code} {self.reason}{shown}"
        )

    def __str__(self) -> str:
        return self.located()


class SyncError(Exception):
    """Base of every error the package raises on purpose."""

    category: ErrorCategory = ErrorCategory.TECHNICAL
    temporary: bool = False
    """True when retrying later may succeed on its own (network, partner down).
    Raise ``TemporaryExternalError`` for those: the retry policy matches on the type."""

    def __init__(
        self,
        message: str,
        *,
        problems: Iterable[Problem] = (),
        action: Text | None = None,
        file: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.problems: Sequence[Problem] = tuple(problems)
        self.action: Text | None = action
        """What a person should do about this error; None: the category's action says it."""
        self.file = file

    def __str__(self) -> str:
        lines = [self.message]
        lines.extend(f"  {problem}" for problem in self.problems)
        return "\n".join(lines)


class MappingError(SyncError):
    category = ErrorCategory.MAPPING


class ExternalError(SyncError):
    category = ErrorCategory.EXTERNAL


class TemporaryExternalError(ExternalError):
    """The partner or the network failed in a way that may pass: retried with backoff."""

    temporary = True


class TechnicalError(SyncError):
    category = ErrorCategory.TECHNICAL


class ConfigurationError(TechnicalError):
    """The interface settings are invalid; nothing can run until they are fixed."""
