"""What a partner codec's ``check`` command finds, and how it prints it, whatever the
partner: every problem as ``FILE:LINE:COLUMN: CODE reason``, a summary per valid unit,
the paths that cannot be read; exit status 0 when everything is valid, 1 when something is
invalid, 2 when a path cannot be read (2 wins over 1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from reseller_sync.domain.errors import CodedProblem

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2

P = TypeVar("P", bound=CodedProblem)


@dataclass
class CheckOutcome(Generic[P]):
    """What checking one unit (a file, a batch, an answer) gave: its problems, or a
    one-line summary."""

    path: Path
    problems: list[P] = field(default_factory=list)
    summary: str | None = None


@dataclass
class CheckReport(Generic[P]):
    outcomes: list[CheckOutcome[P]] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def problems(self) -> list[P]:
        return [p for o in self.outcomes for p in o.problems]

    @property
    def valid(self) -> bool:
        return not self.problems and not self.unreadable


def print_report(report: CheckReport[P]) -> int:
    """Print ``report`` one line a problem (or a summary, or an unreadable path); the exit
    status."""
    for path, reason in report.unreadable:
        print(f"{path}: {reason}")
    for outcome in report.outcomes:
        for problem in outcome.problems:
            print(problem.located())
        if outcome.summary and not outcome.problems:
            print(f"{outcome.path}: {outcome.summary}")
    if report.unreadable:
        return EXIT_UNREADABLE
    return EXIT_VALID if report.valid else EXIT_INVALID
