"""The HTML report of a nightly reconciliation, whatever the reseller: what a reseller's
snapshot of the places it holds says against the box office, kept under the reports
folder (``reconciliation/``) for the person the alert sends there.

An adapter builds a :class:`ReconciliationReport` (a title, a few sentences, the table's
columns, and its differences grouped by kind, each group a list of rows in the table's
columns) and :func:`write_report` renders it, every value escaped, and writes it whole
(``.part``, then renamed). A partner's nightly inventory of the places it holds fits this
shape, whatever its contract; only the words differ.

What every adapter's reconciliation does around its own comparison is here too:
:class:`ReconciledFile` (an outcome's differences counted by kind and as problems),
:func:`report_groups` (the differences grouped by kind, in the kinds' order),
:func:`count_kinds` (how many of each kind), :func:`waiting_for` (the files a snapshot
still waits for, as a log says them) and :func:`failure_recorded` (a file that fails is
marked failed in the journal, its error raised again).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol, TypeVar

import jinja2
from sqlalchemy import Engine

from reseller_sync.boxoffice.db import session_scope
from reseller_sync.config.paths import reports_dir
from reseller_sync.domain.errors import Problem, SyncError
from reseller_sync.exchange import journal

log = logging.getLogger(__name__)

REPORT_FOLDER = "reconciliation"
"""Where the reports are kept, under :func:`~reseller_sync.config.paths.reports_dir`."""


@dataclass(frozen=True)
class ReportGroup:
    """The differences of one kind: a label for a person, and one row each."""

    label: str
    rows: Sequence[Sequence[object]]


@dataclass(frozen=True)
class ReconciliationReport:
    """One reconciliation, in a reseller's words."""

    title: str
    """The page's title and heading, e.g. "<reseller> stock reconciliation"."""
    subject: str
    """The file or batch reconciled: the report's name and the title's suffix."""
    intro: str
    """What was compared with what (one paragraph, plain text)."""
    columns: Sequence[str]
    groups: Sequence[ReportGroup] = ()
    agree: str = "The reseller and the box office agree: no difference."
    advice: str = "Check each difference with the reseller before changing anything."
    generated: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def total(self) -> int:
        return sum(len(group.rows) for group in self.groups)


TEMPLATE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{{ report.title }} — {{ report.subject }}</title>
  <style>
    body { font-family: system-ui, sans-serif; color: #1f2328; margin: 24px; }
    table { border-collapse: collapse; margin-bottom: 24px; }
    th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; }
    th { background: #f6f8fa; }
    .ok { color: #1a7f37; }
    .count { color: #59636e; font-weight: normal; }
  </style>
</head>
<body>
  <h1>{{ report.title }}</h1>
  <p>{{ report.intro }} Compared on {{ generated }} UTC.</p>
  {% if not groups %}
  <p class="ok">{{ report.agree }}</p>
  {% else %}
  <p><strong>{{ report.total }} difference(s).</strong> {{ report.advice }}</p>
  {% for group in groups %}
  <h2>{{ group.label }} <span class="count">({{ group.rows | length }})</span></h2>
  <table>
    <tr>{% for column in report.columns %}<th>{{ column }}</th>{% endfor %}</tr>
    {% for row in group.rows %}
    <tr>{% for value in row %}<td>{{ "" if value is none else value }}</td>{% endfor %}</tr>
    {% endfor %}
  </table>
  {% endfor %}
  {% endif %}
</body>
</html>
"""


def render_report(report: ReconciliationReport) -> str:
    """The report as an HTML page (every value escaped)."""
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return environment.from_string(TEMPLATE).render(
        report=report,
        groups=[group for group in report.groups if group.rows],
        generated=f"{report.generated:%Y-%m-%d %H:%M}",
    )


def write_report(report: ReconciliationReport, stem: str, folder: str = REPORT_FOLDER) -> str:
    """Write the report as ``<folder>/<stem>.html`` under the reports folder, whole; its
    path relative to that folder (what an alert quotes)."""
    relative = Path(folder) / f"{stem}.html"
    target = reports_dir() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.write_text(render_report(report), "utf-8")
    partial.replace(target)
    return relative.as_posix()


# --------------------------------------------------------------------------- shared steps


class Kinded(Protocol):
    """A difference of some kind (an adapter's own ``StrEnum``)."""

    @property
    def kind(self) -> StrEnum: ...


class Reported(Kinded, Protocol):
    """A difference that says itself as a problem of the file reconciled."""

    def to_problem(self, file: str | None = None) -> Problem: ...


class ReconciledFile:
    """What the outcome of a reconciled file (a dataclass with these two fields) says of
    its differences."""

    file_name: str
    differences: Sequence[Reported]

    @property
    def counts(self) -> dict[str, int]:
        return count_kinds(self.differences)

    def problems(self) -> list[Problem]:
        return [difference.to_problem(self.file_name) for difference in self.differences]


DifferenceT = TypeVar("DifferenceT", bound=Kinded)
KindT = TypeVar("KindT", bound=StrEnum)


def report_groups(
    labels: Mapping[KindT, str],
    differences: Sequence[DifferenceT],
    row: Callable[[DifferenceT], Sequence[object]],
) -> list[ReportGroup]:
    """The differences grouped by kind, in the order of ``labels``: each group labelled,
    each difference a row of the table (``row``)."""
    return [
        ReportGroup(label, [row(d) for d in differences if d.kind is kind])
        for kind, label in labels.items()
    ]


def count_kinds(differences: Iterable[Kinded]) -> dict[str, int]:
    """How many differences of each kind (by the kind's value), in the order first met."""
    counts: dict[str, int] = {}
    for difference in differences:
        counts[difference.kind.value] = counts.get(difference.kind.value, 0) + 1
    return counts


def waiting_for(behind: Sequence[int], shown: int = 10) -> str:
    """The numbers of the files a snapshot waits for, the first ``shown`` of them."""
    return ", ".join(map(str, behind[:shown])) + ("…" if len(behind) > shown else "")


@contextmanager
def failure_recorded(
    engine: Engine | None, file_id: int, what: str, *, codes: bool = True
) -> Iterator[None]:
    """Run the block; if it raises, mark the journal's file ``file_id`` failed (its error's
    category, message and problems, with the problems' codes when ``codes``) in a
    transaction of its own, then raise again. ``what`` names the file in the log."""
    try:
        yield
    except SyncError as error:
        problem_codes = [getattr(problem, "code", None) for problem in error.problems]
        record_failure(
            engine,
            file_id,
            what,
            error.category.value,
            error.message,
            error.problems,
            [str(code) if code is not None else None for code in problem_codes] if codes else None,
        )
        raise
    except Exception as error:
        record_failure(engine, file_id, what, "technical", f"{type(error).__name__}: {error}", ())
        raise


def record_failure(
    engine: Engine | None,
    file_id: int,
    what: str,
    category: str,
    message: str,
    problems: Sequence[Problem],
    codes: Sequence[str | None] | None = None,
) -> None:
    """Mark the file failed in the journal; a failure to do so is logged, not raised."""
    try:
        with session_scope(engine) as session:
            journal.mark_failed(session, file_id, category, message, problems, codes)
    except Exception:
        log.exception("Could not record the failure of %s %s in the journal", what, file_id)
