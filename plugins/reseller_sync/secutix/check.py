"""Checking the reseller's files as the organiser reads them, without its box office
(``secutix-reseller-v1`` sections 4, 6, 7, 9.1 and 10.2).

:func:`check_paths` takes data files (their control file beside them),
control files and folders (their files, not their subfolders). Names that
section 4 does not define, ``.part`` uploads and the organiser's own files
(OFFER, CONTINGENT, WITHDRAW) are not checked. Then:

* TICKETS files, in number order: each verified (``T01`` to ``T04``) and
  checked line by line (:mod:`reseller_sync.secutix.rules`); across the files
  checked, each barcode along the state machine (``T10``), its immutable
  columns (``T11``), ``STATE_CHANGED_AT`` never going back (``T12``), an
  order's currency (``T13``), and, when the files start at number 1, a new
  ticket for an order of an earlier file (``T22``); at the end of each file, a
  seat held by two ``SOLD`` or ``PRINTED`` tickets (``T18``);
* a TICKETS number missing, or a file without its control file, while a
  later file exists: ``T06`` (the organiser raises it after 60 minutes; here
  there is no clock). The stream waits there, as it would at the organiser:
  the files behind it, and those behind a file with a problem, are verified
  and checked on their own, not against the earlier ones;
* one name given through several paths with different bytes: ``T07``
  (identical files are one delivery, checked once);
* STOCK files (``T21``) and RESULT files (``T23``: the lines of section 7.4),
  each on its own; a RESULT also against the organiser's file it answers when
  that file's control file is in a folder given (its ``LINE_COUNT``).

What needs the box office is not checked: the product, performance,
category, tariff and seat mappings and the product's kind and currency
(``T13`` to ``T16``, ``T19`` against the OFFER), prices (``T17``), the
contingent and free-placement counts (``T18``), a barcode or order applied
before the files checked, a STOCK against the organiser's records, a RESULT
answering a file the organiser never sent, and the 60-minute delays of ``T06``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from reseller_sync.core.checks import CheckOutcome, CheckReport
from reseller_sync.domain.errors import Problem, SyncError
from reseller_sync.secutix.errors import Code, SecutixProblem
from reseller_sync.secutix.names import ORGANISER_SEQUENCE, FileName, FileType, NameKind
from reseller_sync.secutix.reader import (
    DataFile,
    ProblemLog,
    parse_control,
    read_file,
    utc_seconds,
)
from reseller_sync.secutix.rules import check_file, spec_order
from reseller_sync.secutix.schema import IMMUTABLE_COLUMNS
from reseller_sync.secutix.states import TicketState, Transition, transitions

Outcome = CheckOutcome[SecutixProblem]
Report = CheckReport[SecutixProblem]


@dataclass
class _Found:
    """The copies of one data file and of its control file found in the paths."""

    data: list[Path] = field(default_factory=list)
    control: list[Path] = field(default_factory=list)


def check_paths(paths: Sequence[Path]) -> Report:
    """Check every file of the reseller found in ``paths``."""
    report = Report()
    found: dict[FileName, _Found] = defaultdict(_Found)
    sent: dict[int, tuple[Path, int]] = {}
    for path in paths:
        if path.is_dir():
            try:
                entries = sorted(p for p in path.iterdir() if p.is_file())
            except OSError as error:
                report.unreadable.append((path, f"cannot be read: {error.strerror}"))
                continue
            named = [(p, FileName.parse(p.name)) for p in entries]
            kept = [(p, n) for p, n in named if n is not None and not n.partial]
            sent.update(_sent_files(kept))
            has_sent = any(n.type in ORGANISER_SEQUENCE for _, n in kept)
            kept = [(p, n) for p, n in kept if n.type.from_reseller]
            if not kept and not has_sent:
                report.unreadable.append(
                    (path, "holds no TICKETS, STOCK or RESULT file: nothing to check")
                )
            for file, name in kept:
                _add(found, file, name)
        elif path.is_file():
            given = FileName.parse(path.name)
            if given is None or given.partial or not given.type.from_reseller:
                report.unreadable.append(
                    (path, "is not a TICKETS, STOCK or RESULT file (secutix-reseller-v1, 4)")
                )
                continue
            _add(found, path, given)
            other = path.with_name(
                str(given.control if given.kind is NameKind.DATA else given.data)
            )
            if other.is_file():
                _add(found, other, FileName.parse(other.name))
        else:
            report.unreadable.append((path, "cannot be read: no such file or folder"))
    _check_tickets(found, report)
    for file_type in (FileType.STOCK, FileType.RESULT):
        for name in sorted(n for n in found if n.type is file_type):
            checked = _check_one(name, found[name])
            if checked is None:
                continue
            outcome, data_file = checked
            if data_file is not None and name.key in sent and not outcome.problems:
                _check_answer(data_file, *sent[name.key], outcome)
            report.outcomes.append(outcome)
    if not report.outcomes and not report.unreadable:
        # Only the organiser's files: they tell what a RESULT answers, nothing more.
        report.unreadable.extend(
            (path, "holds no TICKETS, STOCK or RESULT file: nothing to check") for path in paths
        )
    return report


def _sent_files(named: list[tuple[Path, FileName]]) -> dict[int, tuple[Path, int]]:
    """The organiser's files found, by number: the data file's path and its control file's
    ``LINE_COUNT`` (files with an invalid control file are left out)."""
    sent = {}
    for path, name in named:
        if name.type in ORGANISER_SEQUENCE and name.kind is NameKind.CONTROL:
            try:
                data = path.read_bytes()
            except OSError:
                continue
            control = parse_control(path.name, data, ProblemLog(path.name))
            if control is not None:
                sent[name.key] = (path.with_name(control.file_name), control.line_count)
    return sent


def _check_answer(data_file: DataFile, answered: Path, lines: int, outcome: Outcome) -> None:
    """``T23``: a RESULT that does not refuse the file whole answers each of its lines."""
    frame = data_file.frame
    if len(frame) == 1 and frame["LINE_NUMBER"].iloc[0] == "0":
        return
    if len(frame) != lines:
        outcome.problems.append(
            SecutixProblem(
                f"the RESULT answers {len(frame)} lines; {answered.name} has {lines} "
                f"(its control file, {answered.parent})",
                str(outcome.path),
                0,
                code=Code.T23,
            )
        )
        outcome.summary = None


def _add(found: dict[FileName, _Found], path: Path, name: FileName | None) -> None:
    assert name is not None
    copies = found[name.data]
    listed = copies.data if name.kind is NameKind.DATA else copies.control
    if all(path.resolve() != other.resolve() for other in listed):
        listed.append(path)


def _check_one(name: FileName, copies: _Found) -> tuple[Outcome, DataFile | None] | None:
    """Verify one data file and check its own rules; None when it is not complete."""
    if not copies.data or not copies.control:
        return None
    path = copies.data[0]
    outcome = Outcome(path)
    try:
        data = _one_content(copies.data, outcome, "data file")
        control = (
            _one_content(copies.control, outcome, "control file") if data is not None else None
        )
    except OSError as error:
        outcome.problems.append(
            SecutixProblem(f"cannot be read: {error.strerror}", str(path), 0, code=Code.T90)
        )
        return outcome, None
    if outcome.problems:
        return outcome, None
    assert data is not None
    assert control is not None
    try:
        data_file = read_file(str(name), data, control)
    except SyncError as error:
        outcome.problems = [_at(p, path) for p in error.problems]
        return outcome, None
    log = check_file(data_file)
    outcome.problems = [_at(p, path) for p in log.listed(spec_order)]
    if not outcome.problems:
        plural = "" if data_file.lines == 1 else "s"
        outcome.summary = f"valid {name.type} file {_key(name)}: {data_file.lines} line{plural}"
    return outcome, data_file


def _one_content(paths: list[Path], outcome: Outcome, what: str) -> bytes | None:
    contents = [p.read_bytes() for p in paths]
    if any(c != contents[0] for c in contents[1:]):
        outcome.problems.append(
            SecutixProblem(
                f"this {what} is given twice with different content: " + ", ".join(map(str, paths)),
                str(outcome.path),
                0,
                code=Code.T07,
            )
        )
        return None
    return contents[0]


def _at(problem: Problem, path: Path) -> SecutixProblem:
    """The problem located at the path given, not the bare file name."""
    if isinstance(problem, SecutixProblem):
        return replace(problem, file=str(path))
    return SecutixProblem(problem.reason, str(path), problem.line, problem.column, code=Code.T90)


def _key(name: FileName) -> str:
    return str(name.snapshot_date) if name.type.dated else str(name.number)


class _Stream:
    """The tickets of the TICKETS files applied so far in this check."""

    def __init__(self, from_first: bool) -> None:
        self.from_first = from_first
        self.tickets = pd.DataFrame(
            columns=["TICKET_STATE", *IMMUTABLE_COLUMNS, "REFUND_AMOUNT", "CHANGED"],
            index=pd.Index([], name="BAR_CODE", dtype="str"),
        )
        self.currencies = pd.Series([], dtype="str", index=pd.Index([], dtype="str"))
        """Each order's currency."""

    def check(self, data_file: DataFile, log: ProblemLog) -> None:
        """The checks against the earlier files: ``T10``, ``T11``, ``T12``, ``T13``, ``T22``."""
        frame = data_file.frame
        if frame.empty:
            return
        lines = frame.index.to_numpy()
        stored = frame[["BAR_CODE"]].join(self.tickets, on="BAR_CODE")
        known = stored["TICKET_STATE"].notna().to_numpy()
        moves = transitions(stored["TICKET_STATE"].where(known, None), frame["TICKET_STATE"])
        forbidden = known & (moves == Transition.FORBIDDEN.value).to_numpy()
        for line, before, after in zip(
            lines[forbidden][: log.cap],
            stored["TICKET_STATE"].to_numpy()[forbidden],
            frame["TICKET_STATE"].to_numpy()[forbidden],
            strict=False,
        ):
            log.add(
                Code.T10,
                f"the ticket is {before} in an earlier file: {after} is not allowed after it",
                line=int(line),
                column="TICKET_STATE",
                value=str(after),
            )
        log.total += max(0, int(forbidden.sum()) - log.cap)
        refunded = (stored["TICKET_STATE"] == TicketState.REFUNDED.value).to_numpy()
        for column in (*IMMUTABLE_COLUMNS, "REFUND_AMOUNT"):
            changed = known & (frame[column].to_numpy() != stored[column].to_numpy())
            if column == "REFUND_AMOUNT":
                changed &= refunded
            log.add_lines(
                Code.T11,
                lines[changed],
                f"{column} differs from the earlier file's, and never changes",
                column=column,
                values=frame[column] if column not in ("SEAT",) else None,
            )
        changed_at = utc_seconds(frame["STATE_CHANGED_AT"])
        earlier = stored["CHANGED"].to_numpy(dtype="float64", na_value=np.nan)
        went_back = known & (changed_at < np.nan_to_num(earlier, nan=-np.inf))
        log.add_lines(
            Code.T12,
            lines[went_back],
            "STATE_CHANGED_AT is before the one of an earlier file",
            column="STATE_CHANGED_AT",
            values=frame["STATE_CHANGED_AT"],
        )
        order_currency = frame["ORDER_NUMBER"].map(self.currencies)
        other = (order_currency.notna() & (order_currency != frame["CURRENCY"])).to_numpy()
        log.add_lines(
            Code.T13,
            lines[other],
            "the order's tickets of an earlier file are in another currency",
            column="CURRENCY",
            values=frame["CURRENCY"],
        )
        if self.from_first:
            late = ~known & frame["ORDER_NUMBER"].isin(self.currencies.index).to_numpy()
            log.add_lines(
                Code.T22,
                lines[late],
                "a new ticket for an order of an earlier file",
                column="ORDER_NUMBER",
                values=frame["ORDER_NUMBER"],
            )

    def check_seats(self, data_file: DataFile, log: ProblemLog) -> None:
        """``T18``, the part that needs no contingent: at the end of the file, each seat
        (``block/row/number``) of a performance is held by at most one ``SOLD`` or
        ``PRINTED`` ticket."""
        frame = data_file.frame
        if frame.empty:
            return
        key = ["PRODUCT_CODE", "PERFORMANCE_CODE", "SEAT"]
        valid = [state.value for state in TicketState if state.valid]
        held = frame[frame["TICKET_STATE"].isin(valid) & frame["SEAT"].str.contains("/")]
        before = self.tickets[
            self.tickets["TICKET_STATE"].isin(valid)
            & ~self.tickets.index.isin(frame["BAR_CODE"])
            & self.tickets["SEAT"].str.contains("/")
        ]
        places = pd.concat([before[key], held[key]], ignore_index=True)
        twice = places[places.duplicated(keep=False)].drop_duplicates()
        if twice.empty:
            return
        flagged = held.reset_index().merge(twice, on=key)["line"].sort_values().to_numpy()
        log.add_lines(
            Code.T18,
            flagged,
            "another SOLD or PRINTED ticket holds this seat at the end of the file",
            column="SEAT",
            values=frame["SEAT"],
        )

    def apply(self, data_file: DataFile) -> None:
        """Record the file's lines as the stored state of their barcodes."""
        frame = data_file.frame
        if frame.empty:
            return
        update = frame.set_index("BAR_CODE")[list(self.tickets.columns[:-1])]
        update = update.assign(CHANGED=utc_seconds(frame["STATE_CHANGED_AT"]))
        kept = self.tickets[~self.tickets.index.isin(update.index)]
        self.tickets = update if kept.empty else pd.concat([kept, update])
        orders = frame.drop_duplicates("ORDER_NUMBER").set_index("ORDER_NUMBER")["CURRENCY"]
        new = orders[~orders.index.isin(self.currencies.index)]
        self.currencies = new if self.currencies.empty else pd.concat([self.currencies, new])


def _check_tickets(found: dict[FileName, _Found], report: Report) -> None:
    names = sorted(n for n in found if n.type is FileType.TICKETS)
    if not names:
        return
    numbers = {n.key: n for n in names}
    first, last = names[0].key, names[-1].key
    stream: _Stream | None = _Stream(from_first=first == 1)
    for number in range(first, last + 1):
        name = numbers.get(number)
        copies = found[name] if name is not None else None
        complete = copies is not None and bool(copies.data) and bool(copies.control)
        if not complete:
            if number == last:
                assert copies is not None
                what = "control file" if copies.data else "data file"
                shown = (copies.data or copies.control)[0]
                report.outcomes.append(
                    Outcome(shown, summary=f"waiting: its {what} is not there yet")
                )
                continue
            missing = "is missing" if copies is None else "lacks its data or control file"
            where = (copies.data or copies.control)[0] if copies else None
            if where is None:
                later = found[names[-1]]
                folder = (later.data or later.control)[0].parent
                where = folder / str(FileName.numbered(FileType.TICKETS, number))
            report.outcomes.append(
                Outcome(
                    where,
                    [
                        SecutixProblem(
                            f"TICKETS file {number} {missing} while a later file is there: "
                            "the stream waits here (T06 after 60 minutes)",
                            str(where),
                            0,
                            code=Code.T06,
                        )
                    ],
                )
            )
            stream = None
            continue
        assert name is not None
        assert copies is not None
        checked = _check_one(name, copies)
        assert checked is not None
        outcome, data_file = checked
        if data_file is not None and stream is not None:
            log = ProblemLog(str(outcome.path))
            stream.check(data_file, log)
            stream.check_seats(data_file, log)
            if log:
                outcome.problems = sorted([*outcome.problems, *log.listed()], key=spec_order)
                outcome.summary = None
        if stream is None and outcome.summary:
            outcome.summary += " (checked on its own: the stream waits at an earlier file)"
        if outcome.problems or data_file is None:
            stream = None
        elif stream is not None:
            stream.apply(data_file)
        report.outcomes.append(outcome)
