"""Checking folders of batches as the organiser reads them, without its box office
(``ticketnet-exchange-v1`` sections 6, 7, 9.1 and 10.2).

:func:`check_paths` takes manifests, ACK files and folders. The batches
found are grouped by stream and promoter and checked in number order:

* each batch is verified and read (``R01`` to ``R06``; ``B01`` to ``B06`` for
  an ``OFFER`` batch, the codes Ticketnet would answer);
* ``R07``: in a folder, a batch number is missing, or has data files and no
  manifest, while a later batch of the stream has its manifest. The stream
  waits there: the batches behind it are verified, but the checks across
  batches stop (no clock is needed; the 2-hour delays need one);
* ``R08``: one batch id given through several paths with different manifests
  (identical manifests are one repeated delivery, checked once);
* ``SALES``, across the records and batches checked, in the order of section
  9.1 (SALE records before REFUND records): ``R16`` (a record repeated with
  other content), ``R20`` (a transaction mixing types or test flags,
  refunding several sales, or continued in a later batch), ``R09`` (a
  currency other than ``EUR``), ``R14`` (a refund of a sale never applied:
  only when the stream's batches are checked from batch 1, since earlier
  batches may be archived), ``R15`` (a sale refunded twice), ``R19`` (a refund
  that does not repeat its sale, or refunds more);
* ``INVENTORY``: ``R21``, the consistency of section 7.3;
* ACK files: ``R22`` when one does not parse or breaks 7.4, or answers an
  ``OFFER`` batch checked here with another manifest's SHA-256.

What needs the box office is not checked: mappings (``R10`` to ``R13``), prices
(``R17``), allocation and barcodes (``R18``), a record or refund against what
the box office applied before the batches checked, ``INVENTORY`` against the
organiser's own records, and the 2-hour delays of ``R07``.

After the first batch of a stream with a problem, the stream waits as it
would at the organiser: later batches are verified only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from reseller_sync.core import checks
from reseller_sync.domain.errors import Problem
from reseller_sync.ticketnet.ack import match_ack, parse_ack
from reseller_sync.ticketnet.errors import (
    MAX_PROBLEMS,
    BatchRefusedError,
    Code,
    OfferRefusedError,
    TicketnetProblem,
)
from reseller_sync.ticketnet.manifest import sha256_hex
from reseller_sync.ticketnet.names import BatchId, FileName, FileType, NameKind, Stream
from reseller_sync.ticketnet.reader import Batch, FolderSource, read_batch

_REFUND_REPEATS = (
    "event_id",
    "performance_id",
    "section",
    "row",
    "seat",
    "area",
    "price_level",
    "price_type",
    "barcode",
    "test",
)
_KEY = ["transaction_id", "line_id"]


Outcome = checks.CheckOutcome[TicketnetProblem]
CheckReport = checks.CheckReport[TicketnetProblem]


@dataclass
class _Candidate:
    batch: BatchId
    folder: Path
    manifest: bytes

    @property
    def path(self) -> Path:
        return self.folder / self.batch.manifest_name


def check_paths(paths: Sequence[Path]) -> CheckReport:
    """Check every batch and ACK that ``paths`` (manifests, ACKs, folders) lead to."""
    report = CheckReport()
    candidates: dict[str, _Candidate] = {}
    acks: list[Path] = []
    waiting: dict[tuple[Stream, str], int] = {}
    """Per stream and promoter, the first number missing in a folder (R07)."""
    for path in paths:
        try:
            if path.is_dir():
                names = sorted(p.name for p in path.iterdir() if p.is_file())
                kinds = {parsed.kind for parsed in map(FileName.parse, names) if parsed}
                if not kinds & {NameKind.MANIFEST, NameKind.ACK}:
                    report.unreadable.append(
                        (path, "holds no batch manifest and no ACK file: nothing to check")
                    )
                    continue
                _gaps(path, names, report, waiting)
                for name in names:
                    parsed = FileName.parse(name)
                    if parsed is None:
                        continue
                    if parsed.kind is NameKind.MANIFEST:
                        _add(
                            _Candidate(parsed.batch, path, (path / name).read_bytes()),
                            candidates,
                            report,
                        )
                    elif parsed.kind is NameKind.ACK:
                        acks.append(path / name)
                continue
            parsed = FileName.parse(path.name)
            if parsed is not None and parsed.kind is NameKind.MANIFEST:
                _add(_Candidate(parsed.batch, path.parent, path.read_bytes()), candidates, report)
            elif parsed is not None and parsed.kind is NameKind.ACK:
                path.stat()
                acks.append(path)
            elif path.exists():
                report.unreadable.append((path, "not a manifest, an ACK file or a folder"))
            else:
                report.unreadable.append((path, "no such file or folder"))
        except OSError as error:
            report.unreadable.append((path, f"cannot be read: {error.strerror or error}"))
    streams: dict[tuple[Stream, str], list[_Candidate]] = defaultdict(list)
    for candidate in candidates.values():
        streams[(candidate.batch.stream, candidate.batch.promoter)].append(candidate)
    order = list(Stream)
    sent: dict[str, str] = {}
    for key in sorted(streams, key=lambda k: (order.index(k[0]), k[1])):
        _check_stream(sorted(streams[key], key=lambda c: c.batch.number), waiting.get(key), report)
        if key[0] is Stream.OFFER:
            sent.update({str(c.batch): sha256_hex(c.manifest) for c in streams[key]})
    for path in sorted(set(acks)):
        _check_ack(path, sent, report)
    return report


def _add(candidate: _Candidate, candidates: dict[str, _Candidate], report: CheckReport) -> None:
    key = str(candidate.batch)
    first = candidates.get(key)
    if first is None:
        candidates[key] = candidate
        return
    if first.manifest == candidate.manifest or first.path.resolve() == candidate.path.resolve():
        return
    report.outcomes.append(
        Outcome(
            candidate.path,
            [
                TicketnetProblem(
                    f"batch {key} was given with another manifest at {first.path}: a batch "
                    "number is never used twice with different content",
                    str(candidate.path),
                    0,
                    code=Code.R08,
                )
            ],
        )
    )


def _gaps(
    folder: Path, names: list[str], report: CheckReport, waiting: dict[tuple[Stream, str], int]
) -> None:
    """``R07``: a number missing or without manifest below a batch that has its manifest."""
    manifests: dict[tuple[Stream, str], set[int]] = defaultdict(set)
    data: dict[tuple[Stream, str], set[int]] = defaultdict(set)
    for name in names:
        parsed = FileName.parse(name)
        if parsed is None or parsed.kind is NameKind.ACK:
            continue
        key = (parsed.batch.stream, parsed.batch.promoter)
        (manifests if parsed.kind is NameKind.MANIFEST else data)[key].add(parsed.batch.number)
    for key, numbers in manifests.items():
        last = max(numbers)
        for number in range(min(numbers | data[key]), last):
            if number in numbers:
                continue
            missing = BatchId(key[0], key[1], number)
            why = (
                "has data files but no manifest"
                if number in data[key]
                else "is missing (no manifest, no data file)"
            )
            path = folder / missing.manifest_name
            report.outcomes.append(
                Outcome(
                    path,
                    [
                        TicketnetProblem(
                            f"batch {missing} {why} while batch {last} exists: the stream "
                            f"waits at batch {number}",
                            str(path),
                            0,
                            code=Code.R07,
                        )
                    ],
                )
            )
            waiting[key] = min(waiting.get(key, number), number)


def _check_stream(
    candidates: list[_Candidate], waiting_at: int | None, report: CheckReport
) -> None:
    stream = candidates[0].batch.stream
    sales = _SalesState(complete=candidates[0].batch.number == 1)
    blocked_at: int | None = None
    for candidate in candidates:
        outcome = Outcome(candidate.path)
        report.outcomes.append(outcome)
        number = candidate.batch.number
        try:
            batch = read_batch(
                FolderSource(candidate.folder), candidate.batch, manifest_bytes=candidate.manifest
            )
        except (BatchRefusedError, OfferRefusedError) as error:
            outcome.problems.extend(_in_folder(p, candidate.folder) for p in error.problems)
            blocked_at = number if blocked_at is None else blocked_at
            continue
        except OSError as error:
            report.unreadable.append((candidate.path, f"cannot be read: {error.strerror or error}"))
            blocked_at = number if blocked_at is None else blocked_at
            continue
        notes: list[str] = []
        waits = [n for n in (blocked_at, waiting_at) if n is not None and n < number]
        if waits:
            notes.append(f"waits behind batch {min(waits)}: checks across batches not run")
        elif stream is Stream.SALES:
            outcome.problems.extend(sales.check(batch, candidate.folder, notes))
        elif stream is Stream.INVENTORY:
            outcome.problems.extend(_inventory_problems(batch, candidate.folder))
        if outcome.problems:
            blocked_at = number if blocked_at is None else blocked_at
        else:
            outcome.summary = _summary(batch, notes)


def _in_folder(problem: Problem, folder: Path) -> TicketnetProblem:
    file = str(folder / problem.file) if problem.file else str(folder)
    code = problem.code if isinstance(problem, TicketnetProblem) else Code.R90
    return TicketnetProblem(
        problem.reason, file, problem.line, problem.column, problem.value, code=code
    )


def _summary(batch: Batch, notes: list[str]) -> str:
    manifest = batch.manifest
    files = []
    for file_type in dict.fromkeys(p.type for p in batch.parts):
        parts = batch.parts_of(file_type)
        records = sum(p.records for p in parts)
        files.append(f"{file_type} {records} records in {len(parts)} part{'s' * (len(parts) > 1)}")
    text = f"valid {manifest.batch.stream} batch {manifest.batch.number}: " + ", ".join(files)
    return text + "".join(f"; {note}" for note in notes)


def _frame(batch: Batch, file_type: FileType, folder: Path) -> pd.DataFrame:
    """The records of ``file_type`` with their file (path) and record number."""
    frame = batch.table(file_type).to_pandas()
    parts = batch.parts_of(file_type)
    frame["_file"] = pd.Categorical(
        np.repeat([str(folder / p.name) for p in parts], [p.records for p in parts])
    )
    frame["_record"] = np.concatenate(
        [np.arange(1, p.records + 1) for p in parts] or [np.empty(0, np.int64)]
    )
    return frame


class _Found(list[TicketnetProblem]):
    """The first problems of one rule, and how many records break it."""

    total: int = 0


def _problems(
    rows: pd.DataFrame, code: Code, column: str | None, reason: str | pd.Series
) -> _Found:
    reasons = reason if isinstance(reason, pd.Series) else None
    found = _Found()
    found.total = len(rows)
    kept = zip(
        rows["_file"].tolist()[:MAX_PROBLEMS], rows["_record"].tolist()[:MAX_PROBLEMS], strict=True
    )
    for position, (file, record) in enumerate(kept):
        why = str(reasons.iloc[position]) if reasons is not None else str(reason)
        found.append(TicketnetProblem(why, str(file), int(record), column, code=code))
    return found


class _Findings:
    """The problems of one batch's rules: all counted, the first :data:`MAX_PROBLEMS` listed."""

    def __init__(self) -> None:
        self.kept: list[TicketnetProblem] = []
        self.total = 0

    def __iadd__(self, found: _Found) -> _Findings:
        self.kept.extend(found)
        self.total += found.total
        return self

    def __bool__(self) -> bool:
        return self.total > 0

    def problems(self) -> list[TicketnetProblem]:
        kept = sorted(self.kept, key=lambda p: (p.file or "", p.line or 0))[:MAX_PROBLEMS]
        if self.total > len(kept):
            last = kept[-1]
            kept.append(
                TicketnetProblem(
                    f"and {self.total - len(kept)} more problems", last.file, 0, code=last.code
                )
            )
        return kept


def _cents(values: pd.Series) -> pd.Series:
    return values.str.replace(".", "", regex=False).astype("int64")


class _SalesState:
    """The SALES records applied so far (as the organiser would have applied them)."""

    def __init__(self, *, complete: bool) -> None:
        self.complete = complete
        """True when the batches start at 1: a refund of an unknown sale is then R14."""
        self.applied: pd.DataFrame | None = None
        self.refunded: set[tuple[str, str]] = set()
        self.transactions: dict[str, int] = {}

    def check(self, batch: Batch, folder: Path, notes: list[str]) -> list[TicketnetProblem]:
        frame = _frame(batch, FileType.TRANSACTIONS, folder)
        content = [c for c in frame.columns if not c.startswith("_")]
        problems = _Findings()
        number = batch.batch.number

        # R16 within the batch: a key repeated with other content; identical repeats are skipped.
        repeated_key = frame.duplicated(_KEY, keep="first")
        repeated_same = frame.duplicated(content, keep="first")
        conflicting = frame[repeated_key & ~repeated_same]
        problems += _problems(
            conflicting,
            Code.R16,
            "transaction_id",
            "the record (transaction_id, line_id) appears earlier in the batch with other content",
        )
        frame = frame[~repeated_key]

        # R16 against earlier batches; identical records are a repeated delivery, skipped.
        if self.applied is not None and len(self.applied):
            merged = frame.merge(self.applied, on=_KEY, how="left", suffixes=("", "_applied"))
            known = merged["_batch"].notna().to_numpy()
            differs = np.zeros(len(merged), dtype=bool)
            for column in content:
                if column not in _KEY:
                    differs |= (merged[column] != merged[f"{column}_applied"]).to_numpy(dtype=bool)
            problems += _problems(
                merged[known & differs],
                Code.R16,
                "transaction_id",
                "the record was applied in an earlier batch with other content",
            )
            frame = frame[~known]
            # R20: a new record of a transaction applied in an earlier batch.
            earlier = frame["transaction_id"].map(self.transactions)
            continued = frame[earlier.notna()]
            problems += _problems(
                continued,
                Code.R20,
                "transaction_id",
                "a new record of a transaction applied in an earlier batch "
                + continued["transaction_id"].map(self.transactions).astype("Int64").astype(str),
            )

        # R20 within the batch: mixed types or test flags, refunds of several sales.
        for column, what in (("type", "type"), ("test", "test flag")):
            first = frame.groupby("transaction_id", sort=False)[column].transform("first")
            mixed = frame[frame[column] != first]
            problems += _problems(
                mixed, Code.R20, column, f"a record of the transaction has another {what}"
            )
        refunds = frame[frame["type"] == "REFUND"]
        first_sale = refunds.groupby("transaction_id", sort=False)[
            "original_transaction_id"
        ].transform("first")
        problems += _problems(
            refunds[refunds["original_transaction_id"] != first_sale],
            Code.R20,
            "original_transaction_id",
            "the REFUND transaction refunds records of several sale transactions",
        )

        # 9.1 point 7 and 9: R09 on SALE then REFUND records.
        sales = frame[frame["type"] == "SALE"]
        problems += _problems(
            sales[sales["currency"] != "EUR"], Code.R09, "currency", "the currency is not EUR"
        )
        problems += _problems(
            refunds[refunds["currency"] != "EUR"], Code.R09, "currency", "the currency is not EUR"
        )

        # R14, R15, R19: each REFUND against its SALE record (this batch's sales count).
        pool = sales
        if self.applied is not None:
            pool = pd.concat([self.applied[self.applied["type"] == "SALE"], sales])
        pool = pool.drop_duplicates(_KEY, keep="first")
        sale_key = refunds.rename(
            columns={"original_transaction_id": "_sale_tid", "original_line_id": "_sale_line"}
        )
        matched = sale_key.merge(
            pool[[*_KEY, *_REFUND_REPEATS, "amount", "fees"]],
            left_on=["_sale_tid", "_sale_line"],
            right_on=_KEY,
            how="left",
            suffixes=("", "_sale"),
            indicator=True,
        )
        found = (matched["_merge"] == "both").to_numpy()
        unknown = matched[~found]
        if self.complete:
            problems += _problems(
                unknown,
                Code.R14,
                "original_transaction_id",
                "refunds a sale record that was never applied",
            )
        elif len(unknown):
            notes.append(
                f"{len(unknown)} refund record(s) of sales outside the batches checked "
                "(R14, R15, R19 need the box office)"
            )
        matched = matched[found]
        keys = list(zip(matched["_sale_tid"], matched["_sale_line"], strict=True))
        twice = pd.Series(keys, dtype=object).duplicated(keep="first").to_numpy() | np.array(
            [key in self.refunded for key in keys], dtype=bool
        )
        problems += _problems(
            matched[twice], Code.R15, "original_line_id", "the sale record is already refunded"
        )
        for column in _REFUND_REPEATS:
            problems += _problems(
                matched[matched[column] != matched[f"{column}_sale"]],
                Code.R19,
                column,
                f"the refund does not repeat its sale's {column}",
            )
        for column in ("amount", "fees"):
            more = _cents(matched[column]) > _cents(matched[f"{column}_sale"])
            problems += _problems(
                matched[more.to_numpy()],
                Code.R19,
                column,
                f"the refund's {column} is more than the sale's",
            )
        if problems:
            return problems.problems()

        frame = frame.assign(_batch=number)
        applied = frame[[*content, "_batch"]]
        self.applied = applied if self.applied is None else pd.concat([self.applied, applied])
        self.refunded.update(keys)
        for transaction in frame["transaction_id"].unique().tolist():
            self.transactions.setdefault(transaction, number)
        return []


def inventory_problems(batch: Batch) -> list[TicketnetProblem]:
    """``R21``: what makes an INVENTORY batch inconsistent (section 7.3), each problem at
    its data file and record; empty when it is consistent."""
    return _inventory_problems(batch, Path())


def _inventory_problems(batch: Batch, folder: Path) -> list[TicketnetProblem]:
    """``R21``: the consistency of an INVENTORY batch (section 7.3)."""
    inventory = _frame(batch, FileType.INVENTORY, folder)
    seats = _frame(batch, FileType.SEATS, folder)
    problems = _Findings()
    section, area = inventory["section"] != "", inventory["area"] != ""
    problems += _problems(
        inventory[section == area],
        Code.R21,
        "area",
        "an INVENTORY record has exactly one of section and area",
    )
    allocated, sold = inventory["allocated"].astype("int64"), inventory["sold"].astype("int64")
    available = inventory["available"].astype("int64")
    problems += _problems(
        inventory[allocated != sold + available],
        Code.R21,
        "available",
        "allocated is not sold + available",
    )
    stamps = inventory["snapshot_at"]
    if len(stamps):
        problems += _problems(
            inventory[inventory["snapshot_at"] != stamps.iloc[0]],
            Code.R21,
            "snapshot_at",
            "snapshot_at is not the same in every record of the batch",
        )
    group = ["event_id", "performance_id", "price_level", "section"]
    seated = inventory[section & ~area]
    counted = (
        seats.assign(_sold=(seats["status"] == "SOLD").astype("int64"))
        .groupby(group, sort=False)
        .agg(_seats=("_sold", "size"), _sold=("_sold", "sum"))
        .reset_index()
    )
    joined = seated.merge(counted, on=group, how="left")
    joined[["_seats", "_sold"]] = joined[["_seats", "_sold"]].fillna(0).astype("int64")
    problems += _problems(
        joined[joined["_seats"] != joined["allocated"].astype("int64")],
        Code.R21,
        "allocated",
        "the SEATS records of this performance, price level and section do not number allocated",
    )
    problems += _problems(
        joined[joined["_sold"] != joined["sold"].astype("int64")],
        Code.R21,
        "sold",
        "the SOLD SEATS records of this performance, price level and section do not number sold",
    )
    keyed = seats.merge(seated[group].drop_duplicates(), on=group, how="left", indicator=True)
    problems += _problems(
        keyed[keyed["_merge"] == "left_only"],
        Code.R21,
        "section",
        "no INVENTORY record has this seat's performance, price level and section",
    )
    place = ["event_id", "performance_id", "section", "row", "seat"]
    problems += _problems(
        seats[seats.duplicated(place, keep="first")],
        Code.R21,
        "seat",
        "the seat appears twice",
    )
    return problems.problems()


def _check_ack(path: Path, sent: dict[str, str], report: CheckReport) -> None:
    outcome = Outcome(path)
    report.outcomes.append(outcome)
    try:
        data = path.read_bytes()
    except OSError as error:
        report.outcomes.remove(outcome)
        report.unreadable.append((path, f"cannot be read: {error.strerror or error}"))
        return
    try:
        ack = parse_ack(path.name, data)
    except BatchRefusedError as error:
        outcome.problems.extend(_in_folder(p, path.parent) for p in error.problems)
        return
    notes = ""
    if str(ack.batch) in sent:
        mismatch = match_ack(ack, sent)
        if mismatch is not None:
            outcome.problems.append(_in_folder(mismatch, path.parent))
            return
        notes = ", matches the manifest sent"
    else:
        notes = ", the batch answered is not among the paths checked"
    outcome.summary = (
        f"valid ACK of {ack.batch}: {ack.status}, {len(ack.files)} file"
        f"{'s' * (len(ack.files) != 1)}{notes}"
    )
