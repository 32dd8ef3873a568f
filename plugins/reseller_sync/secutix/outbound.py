"""Sending one organiser file to the SecuTix reseller once, and applying its RESULT
(``secutix-reseller-v1`` sections 3, 4, 6, 7.4, 8, 9.2 and 10.1).

Public API (the onboarding and the nightly run call these):

* :func:`send_file` ``(sessions, transport, file_type, build, *, product_code=None,
  force=False, resend_since=None, dry_run=False) -> FileSent``: ``build(session)`` gives
  the lines (a pyarrow table of OFFER lines, e.g. :func:`reseller_sync.secutix.offer.offer_rows`,
  or :class:`~reseller_sync.secutix.contingent.PlaceLines` of CONTINGENT or WITHDRAW
  lines); it is called only when a new file is written. The nightly run sends a WITHDRAW
  with ``send_file(engine, transport, FileType.WITHDRAW, lambda s: withdraw_request_lines(s,
  ids))`` (or :func:`send_withdraw`), then waits with :func:`await_result`.
* :func:`send_offer`, :func:`send_contingent`, :func:`send_withdraw`: the same for one
  product's OFFER, its CONTINGENT, or places taken back.
* :func:`await_result` ``(session, transport, number) -> FileAnswer | None``: the RESULT
  of the organiser's file ``number``, applied once; None until it is there.

**Numbering.** OFFER, CONTINGENT and WITHDRAW share the organiser's file number (section
4: from 1, no gap, no reuse): the journal's stream
:data:`~reseller_sync.secutix.naming.ORGANISER_STREAM`. A file is one journal unit under
its control file's name, the data file its member (section 6).

**Once.** For one product and one type (OFFER, CONTINGENT), the latest file *stands* when
it is ``sent`` (not answered yet) or answered without an error to act on: it is not sent
again unless ``force`` (the onboarding's form; a forced resend happens once per run,
``resend_since``). A WITHDRAW, or a file without product, never stands: each call with
lines sends a new file (a build with no line sends nothing, status ``EMPTY``).

**Sending.** A file left ``prepared`` by a crash is uploaded again under its number with
its same bytes before a new number is taken (the reseller waits at a gap, section 9.2
point 1). Otherwise the next number is taken, the file built and journaled
``prepared`` with its control file (for places, each line's place recorded as sent in
the same transaction: :func:`reseller_sync.secutix.contingent.record_sent`), committed;
uploaded data file first and control file last, each as ``.part`` then renamed (section
3 points 3 and 4); then marked ``sent``. A file the reseller answered is never sent again
under its number (section 3 point 8): corrected content goes as a new file, with the
next number. The generic part of this is :mod:`reseller_sync.exchange.sending`.

**Answers.** The reseller answers file ``n`` with ``RESULT_<n>.csv`` and its control file
in ``/to_organiser/``. :func:`await_result` finds it in the journal (the 15-minute run may
have landed it) or lands it alone from the server, applies it once
(:func:`reseller_sync.secutix.result.apply_result`: the journal, the places given, the
withdrawal requests) and says what it means (section 10.1):

===============================  ==========================================================
F01, F02, F03, O02, Q08          technical: our writer or our numbering; support fixes it,
                                 then the content goes as a new file
O01, O03, O04, Q01, Q02, Q03     mapping: remove the product from the channel, fix its
                                 settings or a mapping, send the OFFER first; then a new file
X99                              external: the reseller failed; the same content goes again
                                 as a new file; call the reseller if it persists
Q04, Q05, Q06, Q07               outcomes, not errors (Q04: the place is the reseller's)
===============================  ==========================================================
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Final, Self, TypeAlias

import pandas as pd
import pyarrow as pa
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import Direction, FileState
from reseller_sync.domain.errors import ErrorCategory, SyncError, TechnicalError
from reseller_sync.exchange import journal, sending
from reseller_sync.exchange.sending import SessionSource, session_factory
from reseller_sync.secutix.contingent import PlaceLines, record_sent
from reseller_sync.secutix.errors import Code
from reseller_sync.secutix.names import ORGANISER_SEQUENCE, FileName, FileType, NameKind
from reseller_sync.secutix.naming import NAMING, ORGANISER_STREAM
from reseller_sync.secutix.reseller_type import RESELLER_TYPE
from reseller_sync.secutix.writer import OrganiserFile, build_file

if TYPE_CHECKING:
    from reseller_sync.exchange.transport import SftpTransport
    from reseller_sync.mappings.repository import MappingRepository
    from reseller_sync.secutix.offer import Translate
    from reseller_sync.secutix.reader import DataFile
    from reseller_sync.secutix.result import AnsweredLine, ResultOutcome
    from reseller_sync.secutix.settings import SecutixSettings

log = logging.getLogger(__name__)

RESELLER: Final = RESELLER_TYPE.code
STREAM: Final = ORGANISER_STREAM
PREVIEW_LINES: Final = 12
"""Lines of the data file shown in a dry run's preview."""

Lines: TypeAlias = pa.Table | PlaceLines
Build = Callable[[Session], Lines]
"""Builds a file's lines from the box office; called only when a new file is written."""

TECHNICAL_CODES: Final = frozenset({Code.F01, Code.F02, Code.F03, Code.O02, Code.Q08})
MAPPING_CODES: Final = frozenset({Code.O01, Code.O03, Code.O04, Code.Q01, Code.Q02, Code.Q03})
EXTERNAL_CODES: Final = frozenset({Code.X99})
OUTCOME_CODES: Final = frozenset({Code.Q04, Code.Q05, Code.Q06, Code.Q07})
"""The RESULT codes by the organiser's category (section 10.1)."""


class SendStatus(StrEnum):
    SENT = "sent"
    """A new file was built, journaled and uploaded."""
    ALREADY_SENT = "already_sent"
    """A file of that type for that product stands already: nothing was sent."""
    COMPLETED = "completed"
    """The file was left ``prepared`` by an earlier run and is now uploaded."""
    EMPTY = "empty"
    """The build gave no line: nothing was numbered nor sent."""
    DRY_RUN = "dry_run"
    """Built for a person to read: nothing was sent nor journaled."""


@dataclass(frozen=True)
class FileSent:
    """What :func:`send_file` did."""

    status: SendStatus
    file_type: FileType
    product_code: str | None
    name: str
    """The data file's name (``OFFER_00000001.csv``); the journal keeps the unit under its
    control file's name (:attr:`journal_name`)."""
    number: int
    lines: int
    file_id: int | None = None
    """The journal's id of the unit (None for a dry run or an empty build)."""
    preview: str | None = field(default=None, repr=False)
    """The first lines of the data file and its control file, for a dry run."""
    completed_leftovers: tuple[str, ...] = ()
    """Files left ``prepared`` (any product) uploaded before this send."""

    @property
    def journal_name(self) -> str:
        parsed = FileName.parse(self.name)
        return str(parsed.control) if parsed is not None else self.name

    @property
    def sent_now(self) -> bool:
        """Whether this call put the file on the reseller's server."""
        return self.status in (SendStatus.SENT, SendStatus.COMPLETED)


def send_file(
    sessions: SessionSource,
    transport: SftpTransport,
    file_type: FileType,
    build: Build,
    *,
    product_code: str | None = None,
    force: bool = False,
    resend_since: dt.datetime | None = None,
    dry_run: bool = False,
    offer: pd.DataFrame | None = None,
) -> FileSent:
    """Send the lines ``build`` gives as the organiser's next file of ``file_type``, at most
    once (see the module's documentation).

    ``product_code`` names the product the file is about (the journal keeps it; an OFFER
    or a CONTINGENT of a product stands once sent); ``force`` sends a new file even when
    one stands, unless it was journaled at or after ``resend_since`` (aware); ``offer``:
    the OFFER lines sent before (text), to check places against them (``Q01``, ``Q02``,
    ``Q08``) before anything is written."""
    file_type = FileType(file_type)
    if file_type not in ORGANISER_SEQUENCE:
        raise ValueError(f"the organiser does not write {file_type} files")
    factory = session_factory(sessions)
    if dry_run:
        with factory() as session:
            lines = build(session)
            number = journal.next_outbound_sequence(session, RESELLER, STREAM)
        built = _built(file_type, number, lines, offer)
        return FileSent(
            SendStatus.DRY_RUN,
            file_type,
            product_code,
            str(built.name),
            number,
            built.lines,
            preview=preview(built),
        )
    completed = tuple(sending.complete_prepared(factory, transport, RESELLER, STREAM))
    with factory() as session:
        standing = (
            standing_file(session, product_code, file_type) if product_code is not None else None
        )
        if standing is not None and (not force or sending.journaled_since(standing, resend_since)):
            status = SendStatus.COMPLETED if standing.name in completed else SendStatus.ALREADY_SENT
            return FileSent(
                status,
                file_type,
                product_code,
                _data_name(standing.name),
                standing.sequence,
                standing.line_count or 0,
                standing.id,
                completed_leftovers=completed,
            )
        lines = build(session)
    count = lines.lines if isinstance(lines, PlaceLines) else lines.num_rows
    if count == 0:
        log.info("No %s line to send%s", file_type, f" for {product_code}" if product_code else "")
        return FileSent(
            SendStatus.EMPTY, file_type, product_code, "", 0, 0, completed_leftovers=completed
        )

    def prepare(session: Session, number: int) -> tuple[int, OrganiserFile]:
        built = _built(file_type, number, lines, offer)
        name = NAMING.parse(str(built.name.control))
        assert name is not None  # the writer's names are the contract's
        entry = journal.prepare_outbound(
            session,
            RESELLER,
            name,
            built.control,
            product_code=product_code,
            line_count=built.lines,
            members=[(str(built.name), built.data)],
        )
        if isinstance(lines, PlaceLines):
            record_sent(session, lines, entry.id, dt.datetime.now(dt.UTC), reseller=RESELLER)
        return entry.id, built

    file_id, built = sending.prepare_numbered(
        factory, RESELLER, STREAM, prepare, what=f"{file_type} file"
    )
    transport.upload_all(
        sending.uploads(str(built.name.control), built.control, [(str(built.name), built.data)])
    )
    with factory.begin() as session:
        journal.mark_sent(session, file_id)
    log.info(
        "Sent %s%s: %d line(s)",
        built.name,
        f" ({product_code})" if product_code else "",
        built.lines,
    )
    return FileSent(
        SendStatus.SENT,
        file_type,
        product_code,
        str(built.name),
        built.name.key,
        built.lines,
        file_id,
        completed_leftovers=completed,
    )


def send_offer(
    sessions: SessionSource,
    transport: SftpTransport,
    settings: SecutixSettings,
    product_code: str,
    *,
    force: bool = False,
    resend_since: dt.datetime | None = None,
    dry_run: bool = False,
    sales_open: dt.datetime | None = None,
    repository: MappingRepository | None = None,
) -> FileSent:
    """The product's OFFER (section 8.1) at the tariffs the settings offer, sent once;
    ``sales_open`` (aware, default now) is ``SALES_START``."""
    from reseller_sync.secutix.offer import offer_rows

    def build(session: Session) -> pa.Table:
        return offer_rows(
            session,
            product_code,
            tariffs=settings.tariffs_offered_for(product_code),
            sales_open=sales_open,
            translate=translator(session, product_code, repository),
        )

    return send_file(
        sessions,
        transport,
        FileType.OFFER,
        build,
        product_code=product_code,
        force=force,
        resend_since=resend_since,
        dry_run=dry_run,
    )


def send_contingent(
    sessions: SessionSource,
    transport: SftpTransport,
    product_code: str,
    *,
    dry_run: bool = False,
    repository: MappingRepository | None = None,
) -> FileSent:
    """The reseller's quota on the product (CONTINGENT, section 8.2), sent once; each line's
    place recorded as sent, for the RESULT to state."""
    from reseller_sync.secutix.contingent import contingent_lines

    def build(session: Session) -> PlaceLines:
        translate = translator(session, product_code, repository)
        return contingent_lines(session, [product_code], translate=translate)

    return send_file(
        sessions,
        transport,
        FileType.CONTINGENT,
        build,
        product_code=product_code,
        dry_run=dry_run,
    )


def send_withdraw(
    sessions: SessionSource,
    transport: SftpTransport,
    withdrawal_ids: Sequence[int],
    *,
    product_code: str | None = None,
    translate: Translate | None = None,
) -> FileSent:
    """The box office's withdrawal requests ``withdrawal_ids`` in a WITHDRAW file (section
    8.3), each line carrying its request (``sent`` with the file); a new file each call."""
    from reseller_sync.secutix.contingent import withdraw_request_lines
    from reseller_sync.secutix.offer import identity

    if not withdrawal_ids:
        log.info("No withdrawal request to send")
        return FileSent(SendStatus.EMPTY, FileType.WITHDRAW, product_code, "", 0, 0)

    def build(session: Session) -> PlaceLines:
        return withdraw_request_lines(session, withdrawal_ids, translate=translate or identity)

    return send_file(sessions, transport, FileType.WITHDRAW, build, product_code=product_code)


def translator(
    session: Session, product_code: str, repository: MappingRepository | None = None
) -> Translate:
    """The exchanged code of each box-office code of the product: the identity, unless the
    reseller's mapping files say otherwise (section 2; :class:`ExchangedCodes`)."""
    from reseller_sync.secutix.mappings import ExchangedCodes, MappingKind, load_repository
    from reseller_sync.secutix.offer import load_product

    codes = ExchangedCodes.of(repository or load_repository(), product_code)
    product = load_product(session, product_code)
    configuration = product.configuration.code if product.configuration is not None else None

    def translate(kind: str, values: pd.Series, zones: pd.Series | None = None) -> pd.Series:
        if kind == MappingKind.PRODUCT:
            return pd.Series([codes.product_code] * len(values), index=values.index, dtype="str")
        if kind == MappingKind.BLOCK:
            if zones is None or configuration is None:
                return values
            mapped = codes.mappings.bloc_to_partner(zones, values, configuration)
            return mapped.fillna(values)
        return codes.to_exchanged(MappingKind(kind), values, configuration)

    return translate


def standing_file(
    session: Session, product_code: str, file_type: FileType
) -> journal.JournaledFile | None:
    """The product's latest organiser file of ``file_type`` when it stands (sent, prepared,
    or answered without an error to act on); None when there is none or it was refused,
    and always for a WITHDRAW (each one asks for other places)."""
    if file_type is FileType.WITHDRAW:
        return None
    names = journal.names_in_stream(
        session, RESELLER, Direction.OUTBOUND, STREAM, product_code=product_code
    )
    for name in reversed(names):
        parsed = FileName.parse(name)
        if parsed is None or parsed.type is not file_type:
            continue
        entry = journal.find_file(session, RESELLER, Direction.OUTBOUND, name)
        if entry is None:
            continue
        if entry.state in (FileState.SENT, FileState.PREPARED):
            return entry
        if entry.state is FileState.ACKNOWLEDGED and entry.error_category is None:
            return entry
        return None
    return None


def complete_prepared(sessions: SessionSource, transport: SftpTransport) -> list[str]:
    """Upload every organiser file left ``prepared`` by a crash, in number order, under its
    number with its same bytes; their journal names."""
    return sending.complete_prepared(sessions, transport, RESELLER, STREAM)


def preview(built: OrganiserFile, lines: int = PREVIEW_LINES) -> str:
    """The data file's first ``lines`` lines and the control file, for a person."""
    text = built.data.decode().splitlines()
    shown = [f"--- {built.name}", *text[: lines + 1]]
    if len(text) > lines + 1:
        shown.append(f"… {len(text) - lines - 1} more line(s)")
    shown.extend([f"--- {built.name.control}", built.control.decode().rstrip()])
    return "\n".join(shown)


def _built(
    file_type: FileType, number: int, lines: Lines, offer: pd.DataFrame | None
) -> OrganiserFile:
    if isinstance(lines, PlaceLines):
        if lines.file_type is not file_type:
            raise ValueError(f"{lines.file_type} lines cannot go in a {file_type} file")
        return lines.file(number, offer=offer)
    return build_file(file_type, number, lines, offer=offer)


def _data_name(journal_name: str) -> str:
    parsed = FileName.parse(journal_name)
    return str(parsed.data) if parsed is not None else journal_name


# --------------------------------------------------------------------------- the RESULT


def result_name(number: int) -> str:
    """The journal's name of the RESULT answering the organiser's file ``number``: its
    control file's (the unit's closing file)."""
    return str(FileName(FileType.RESULT, number, NameKind.CONTROL))


def answered_number(name: str) -> int:
    """The organiser's file number a RESULT's name (data or control file) answers."""
    parsed = FileName.parse(name)
    if parsed is None or parsed.type is not FileType.RESULT:
        raise ValueError(f"{name} is not the name of a RESULT file")
    return parsed.key


@dataclass(frozen=True)
class FileAnswer:
    """What the reseller did with one organiser file, as its RESULT says (section 10.1)."""

    number: int
    outcome: ResultOutcome
    applied_now: bool
    """Whether this call applied the RESULT (else it was applied before)."""

    @property
    def answered(self) -> str:
        return self.outcome.answered

    @property
    def result(self) -> str:
        return self.outcome.result

    @property
    def category(self) -> ErrorCategory | None:
        return self.outcome.category

    @property
    def refusals(self) -> tuple[AnsweredLine, ...]:
        """Lines (or line 0) to act on."""
        return self.outcome.refusals

    @property
    def outcomes(self) -> tuple[AnsweredLine, ...]:
        """Q04 to Q07: answers, not errors."""
        return self.outcome.outcomes

    def meaning(self) -> str:
        """One sentence for a person: what the answer means and what to do."""
        category = self.category
        message = self.outcome.message() or f"{self.answered}: every line applied"
        if category is None:
            if self.outcomes:
                return f"{message}; outcomes only, nothing to do"
            return message
        what = {
            ErrorCategory.TECHNICAL: "technical: our file or numbering is wrong; call support, "
            "then the content goes as a new file",
            ErrorCategory.MAPPING: "mapping: fix the product, its settings or a mapping, then "
            "the content goes as a new file",
            ErrorCategory.EXTERNAL: "external: the reseller failed; the same content goes "
            "again as a new file; call the reseller if it persists",
        }[category]
        return f"{message} — {what}"

    def error(self) -> SyncError | None:
        return self.outcome.error()

    def raise_for_errors(self) -> Self:
        if (error := self.error()) is not None:
            raise error
        return self

    def summary(self) -> dict[str, object]:
        return {**self.outcome.summary(), "number": self.number}


def await_result(session: Session, transport: SftpTransport, number: int) -> FileAnswer | None:
    """The reseller's RESULT of the organiser's file ``number``, applied once; None until
    it is there.

    Looks in the journal first (the 15-minute run lands RESULTs), else fetches
    ``RESULT_<n>.ctl`` with its data file alone from ``/to_organiser/`` and lands it; then
    applies it once (:func:`reseller_sync.secutix.result.apply_result`). Runs in the
    caller's transaction: commit it. Raises what an unreadable RESULT, or one answering
    no file sent or with the wrong lines, is (``T01`` to ``T04``, ``T23``: external)."""
    from reseller_sync.secutix.inbound_files import read_landed_file
    from reseller_sync.secutix.result import answered_file, apply_result

    sent = answered_file(session, RESELLER, number)
    if sent is None:
        raise TechnicalError(
            f"the organiser's file {number:08d} is not in the journal of files sent to "
            f"{RESELLER_TYPE.name}"
        )
    wanted = result_name(number)
    landed = journal.find_file(session, RESELLER, Direction.INBOUND, wanted)
    if landed is None:
        index = journal.OnlyFileIndex(journal.JournalIndex(session, RESELLER), wanted)
        for file in transport.fetch_new(index).landed:
            if file.name == wanted:
                landing = journal.land(session, RESELLER, file)
                landed = journal.journaled_file(session, landing.file_id)
    if landed is None:
        return None
    data_file = read_landed_file(journal.inbound_unit(session, landed.id))
    if landed.state is FileState.INTEGRATED:
        return FileAnswer(number, _outcome_of(sent, data_file), applied_now=False)
    outcome = apply_result(session, data_file, result_id=landed.id)
    session.flush()
    return FileAnswer(number, outcome, applied_now=True)


def _outcome_of(sent: journal.JournaledFile, data_file: DataFile) -> ResultOutcome:
    """The outcome of a RESULT applied before, read again without applying it."""
    from reseller_sync.secutix.result import AnsweredLine, ResultOutcome

    frame = data_file.frame
    whole = len(frame) == 1 and frame["LINE_NUMBER"].iloc[0] == "0"
    ko = frame[frame["STATUS"] == "KO"]
    answers = tuple(
        AnsweredLine(int(line), Code(code), message, int(available) if available else None)
        for line, code, message, available in zip(
            ko["LINE_NUMBER"], ko["ERROR_CODE"], ko["MESSAGE"], ko["AVAILABLE"], strict=True
        )
    )
    parsed = FileName.parse(sent.name)
    assert parsed is not None
    lines = sent.line_count if sent.line_count is not None else len(frame)
    return ResultOutcome(
        str(data_file.name),
        sent.name,
        parsed.type,
        lines,
        0 if whole else int((frame["STATUS"] == "OK").sum()),
        answers,
    )
