"""The HTML report of a nightly reconciliation, whatever the reseller: what a reseller's
snapshot of the places it holds says against the box office, kept under the reports
folder (``reconciliation/``) for the person the alert sends there.

An adapter builds a :class:`ReconciliationReport` (a title, a few sentences, the table's
columns, and its differences grouped by kind, each group a list of rows in the table's
columns) and :func:`write_report` renders it, every value escaped, and writes it whole
(``.part``, then renamed). A partner's nightly inventory of the places it holds fits this
shape, whatever its contract; only the words differ.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from reseller_sync.config.paths import reports_dir

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
