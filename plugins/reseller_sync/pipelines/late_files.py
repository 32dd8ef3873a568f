"""A file reseller's inbound files late: the watchdog of its hourly (or quarter-hourly) run.

A partner that sends its sales on a fixed rhythm (even when it sold nothing) and
closes each file or batch with a closing file (a manifest, a control file) is
late in three ways, each told with its contract's code:

- nothing landed in its main stream for longer than the threshold (its side or
  the transport is stuck);
- a file is missing in a stream while later ones wait behind it, for longer
  than the threshold;
- a data file has been on the server without its closing file for as long.

Judged by the clock given (the wall clock, in the DAG): the question is "is
anything late now?".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import Direction
from reseller_sync.domain.errors import ExternalError, Problem
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange import journal
from reseller_sync.exchange.transport import RemoteFile

LATE_ACTION = Localized(
    fr="Vérifiez que le côté {reseller} et le serveur SFTP fonctionnent ; s'il manque des "
    "fichiers, demandez à {reseller} de les envoyer ou de les compléter (citez leurs numéros).",
    en="Check that {reseller}'s side and the SFTP server are running; if files are "
    "missing, ask {reseller} to send or complete them (quote their numbers).",
)


@dataclass(frozen=True)
class LateFilesRule:
    """How late a partner's files may be, and how its contract words it."""

    code: str
    """The contract's code of the alert (``R07``, ``T06``)."""
    main_stream: str
    """The stream the partner sends on its rhythm, even empty."""
    rhythm: str
    """The rhythm, quoted in the alert (``the partner sends one every hour``)."""
    streams: tuple[str, ...]
    """The streams whose gaps are watched."""
    threshold: dt.timedelta
    unit: str = "batch"
    """What the partner sends: a ``batch`` or a ``file``."""
    closing: str = "manifest"
    """What closes it: its ``manifest``, its ``control file``."""


def late_files(
    session: Session,
    reseller: str,
    rule: LateFilesRule,
    now: dt.datetime,
    unclosed: Sequence[RemoteFile] = (),
) -> list[Problem]:
    """What is late now, as problems that start with the rule's code."""
    threshold, code, unit = rule.threshold, rule.code, rule.unit
    problems: list[Problem] = []
    newest = journal.last_landed_at(session, reseller, Direction.INBOUND, rule.main_stream)
    if newest is not None and now - newest > threshold:
        problems.append(
            Problem(
                f"{code}: no {rule.main_stream} {unit} for {_duration(now - newest)} "
                f"({rule.rhythm}; the alert threshold is {_duration(threshold)})",
                value=newest.isoformat(),
            )
        )
    for stream in rule.streams:
        queue = journal.queue(session, reseller, stream)
        if not queue.missing:
            continue
        first_waiting = journal.journaled_file(session, queue.waiting[0])
        waited = now - _aware(first_waiting.created_at)
        if waited > threshold:
            missing = ", ".join(f"{number:08d}" for number in queue.missing)
            problems.append(
                Problem(
                    f"{code}: {stream} {unit}(es) {missing} missing for {_duration(waited)}: "
                    f"{len(queue.waiting)} later {unit}(es) wait behind",
                    file=first_waiting.name,
                )
            )
    for file in unclosed:
        if file.modified is not None and now - file.modified > threshold:
            problems.append(
                Problem(
                    f"{code}: incomplete {unit}: this data file has been on the server for "
                    f"{_duration(now - file.modified)} without its {rule.closing}",
                    file=file.name,
                )
            )
    return problems


def raise_if_late(
    session: Session,
    reseller: str,
    name: str,
    rule: LateFilesRule,
    now: dt.datetime,
    unclosed: Sequence[RemoteFile] = (),
) -> None:
    """Raise the external alert "<name> files late" (with the rule's code) when anything is
    late."""
    if problems := late_files(session, reseller, rule, now, unclosed):
        raise ExternalError(
            f"{name} {rule.unit}es late ({rule.code})".replace("filees", "files"),
            problems=problems,
            action=LATE_ACTION,
        )


def _duration(span: dt.timedelta) -> str:
    """Hours to one decimal from two hours up, else whole minutes."""
    seconds = span.total_seconds()
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.0f} minutes"


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
