"""Applying the reseller's RESULT to the organiser's file it answers (``secutix-reseller-v1``
sections 7.4, 8.3, 9.1 point 8 and 10.1).

``RESULT_<n>.csv`` answers the organiser's file number ``n`` (OFFER, CONTINGENT or
WITHDRAW: one shared sequence, section 4). :func:`apply_result` takes the RESULT as the
reader verified it (:func:`reseller_sync.secutix.reader.read_file`) and:

1. refuses it whole with ``T23`` (external) when it answers no file the organiser sent, or
   has the wrong lines: a line 0 that is not alone or not ``KO``, or not exactly one line
   per data line of the file answered, ``LINE_NUMBER`` 1 to its ``LINE_COUNT`` in order
   (and the rules of section 7.4 on ``ERROR_CODE`` and ``AVAILABLE``,
   :func:`reseller_sync.secutix.rules.result_rules`); nothing is recorded then;
2. records in the journal what each line says (``journal.record_acknowledgement``): the
   file answered ``REFUSED`` (line 0) or ``ACKNOWLEDGED``, each ``KO`` line as an error
   row with its code, the category of the answer's errors (technical before mapping
   before external), the RESULT marked integrated;
3. for a CONTINGENT, each place given as the line says
   (:func:`reseller_sync.integration.allocation.record_answer`): ``OK`` or ``Q04`` (the
   place is the reseller's already) allocated; a refusal (``F01``–``F03``, ``O*``,
   ``Q01``–``Q03``, ``Q08``, ``X99``; line 0 for every place) refused;
4. for a WITHDRAW, each request it carries, as section 10.1 says: ``OK`` withdrawn (the
   places leave the reseller's quota); ``Q05`` kept (sold: they stay the reseller's);
   ``Q06`` nothing withdrawn, the request asked again with at most ``AVAILABLE`` places
   (none available: kept); ``Q07`` not the reseller's: out of its quota, recorded with
   its code, to reconcile; ``X99`` asked again in the next file; any other refusal
   failed (a person acts, then asks again).

The outcome (:class:`ResultOutcome`) counts the lines and lists the ``KO`` ones with
their codes; :meth:`ResultOutcome.error` is the error an alert quotes, of the category of
table 10.1, or None when nothing is to be done (the outcomes ``Q04`` to ``Q07`` are
answers, not errors). Runs in the caller's transaction; applied again, it changes no
place twice.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    Direction,
    FileState,
    PlaceWithdrawal,
)
from reseller_sync.domain.errors import (
    ErrorCategory,
    ExternalError,
    MappingError,
    SyncError,
    TechnicalError,
)
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange import journal
from reseller_sync.integration import allocation, withdrawal
from reseller_sync.secutix.errors import Code, SecutixProblem
from reseller_sync.secutix.names import ORGANISER_SEQUENCE, FileName, FileType, NameKind
from reseller_sync.secutix.reader import DataFile, ProblemLog, decode, parse_control
from reseller_sync.secutix.reseller_type import RESELLER_TYPE
from reseller_sync.secutix.rules import result_rules

CATEGORY_ORDER: Final = (ErrorCategory.TECHNICAL, ErrorCategory.MAPPING, ErrorCategory.EXTERNAL)
"""Which category an answer's error takes when its codes fall in several."""

MEANINGS: Final[dict[Code, str]] = {
    Code.F01: "control file invalid, or line count or SHA-256 mismatch: fix the writer; the "
    "content goes as a new file",
    Code.F02: "syntax, encoding, missing column or field format: fix the writer; the content "
    "goes as a new file",
    Code.F03: "file number already processed: repair the numbering",
    Code.O01: "a product kind the reseller may not sell: remove the product from this channel",
    Code.O02: "columns that do not fit the product kind, or a kind that changes: fix the writer",
    Code.O03: "currency not EUR or CHF, or not the product's: fix the product's settings",
    Code.O04: "sale dates invalid: fix the product's settings",
    Code.Q01: "unknown product or performance: send the OFFER first, or fix it",
    Code.Q02: "seat category not offered for the product, or not the place's: fix the "
    "category mapping",
    Code.Q03: "block or seat not in the venue plan: fix the zone mapping",
    Code.Q04: "the place is in the contingent already: it is the reseller's",
    Code.Q05: "the place is sold and cannot be withdrawn: it stays the reseller's",
    Code.Q06: "fewer places available than asked: withdraw at most those",
    Code.Q07: "the place is not in the reseller's contingent: recorded as not its, to reconcile",
    Code.Q08: "SEAT does not fit the product kind: fix the writer",
    Code.X99: "technical error at the reseller: the same content goes again as a new file",
}
"""What each RESULT code means for the organiser (section 10.1)."""

ACTIONS: Final[dict[ErrorCategory, Localized]] = {
    ErrorCategory.TECHNICAL: Localized(
        fr="Contactez le support avec le nom du fichier : le fichier que nous avons écrit ne "
        "respecte pas le contrat (F01, F02, O02, Q08) ou sa numérotation est fausse (F03). Une "
        "fois corrigé, le contenu part dans un nouveau fichier, au numéro suivant.",
        en="Contact support with the file name: the file we wrote breaks the contract (F01, "
        "F02, O02, Q08) or its numbering is wrong (F03). Once fixed, the content goes in a new "
        "file, under the next number.",
    ),
    ErrorCategory.MAPPING: Localized(
        fr="Corrigez ce que dit chaque ligne refusée (O01 : retirez le produit du canal "
        "{reseller} ; O03, O04 : les réglages du produit ; Q01 : envoyez l'OFFER d'abord ; "
        "Q02, Q03 : le mapping de catégorie ou de zone), puis envoyez le contenu dans un "
        "nouveau fichier.",
        en="Fix what each refused line says (O01: remove the product from the {reseller} "
        "channel; O03, O04: the product's settings; Q01: send the OFFER first; Q02, Q03: the "
        "category or zone mapping), then send the content in a new file.",
    ),
    ErrorCategory.EXTERNAL: Localized(
        fr="{reseller} a échoué de son côté (X99) : le même contenu part dans un nouveau "
        "fichier ; si l'échec persiste, appelez {reseller} avec le nom du fichier.",
        en="{reseller} failed on its side (X99): the same content goes in a new file; if it "
        "keeps failing, call {reseller} with the file name.",
    ),
}
_ERRORS: Final[dict[ErrorCategory, type[SyncError]]] = {
    ErrorCategory.TECHNICAL: TechnicalError,
    ErrorCategory.MAPPING: MappingError,
    ErrorCategory.EXTERNAL: ExternalError,
}


@dataclass(frozen=True)
class AnsweredLine:
    """A ``KO`` line of a RESULT: the line answered (0: the whole file), its code, the
    reseller's message and, for ``Q06``, the places available."""

    line: int
    code: Code
    message: str = ""
    available: int | None = None

    @property
    def category(self) -> ErrorCategory | None:
        """The organiser's category (table 10.1); None for an outcome (``Q04`` to ``Q07``)."""
        return self.code.category

    @property
    def reason(self) -> str:
        """The code's meaning, ``AVAILABLE``, then the reseller's own words."""
        parts = [MEANINGS.get(self.code, self.code.value)]
        if self.available is not None:
            parts.append(f"{self.available} available")
        if self.message:
            parts.append(f"{RESELLER_TYPE.name}: {self.message}")
        return " — ".join(parts)

    def to_problem(self, file: str) -> SecutixProblem:
        return SecutixProblem(self.reason, file, self.line, value=self.code.value, code=self.code)


@dataclass(frozen=True)
class ResultOutcome:
    """What a RESULT said of the organiser's file it answers."""

    result: str
    """The RESULT's name."""
    answered: str
    """The journal's name of the file answered."""
    file_type: FileType
    lines: int
    """Data lines of the file answered."""
    applied: int
    """Lines the reseller applied (``OK``)."""
    answers: tuple[AnsweredLine, ...]
    """Every ``KO`` line, in line order: line 0 alone when the file was refused whole."""

    @property
    def refused_whole(self) -> AnsweredLine | None:
        return self.answers[0] if self.answers and self.answers[0].line == 0 else None

    @property
    def refusals(self) -> tuple[AnsweredLine, ...]:
        """``KO`` lines to act on (their code has a category)."""
        return tuple(a for a in self.answers if a.category is not None)

    @property
    def outcomes(self) -> tuple[AnsweredLine, ...]:
        """``KO`` lines that are answers, not errors (``Q04`` to ``Q07``)."""
        return tuple(a for a in self.answers if a.category is None)

    @property
    def codes(self) -> dict[str, int]:
        """How many ``KO`` lines carry each code."""
        return dict(sorted(Counter(a.code.value for a in self.answers).items()))

    @property
    def category(self) -> ErrorCategory | None:
        """The category of the error to raise: technical first, then mapping, then external."""
        found = {a.category for a in self.refusals}
        return next((c for c in CATEGORY_ORDER if c in found), None)

    def message(self) -> str | None:
        """One sentence for a person; None when every line was applied."""
        if not self.answers:
            return None
        whole = self.refused_whole
        if whole is not None:
            scope = f"refused whole ({whole.code})"
        else:
            codes = ", ".join(f"{code} ×{count}" for code, count in self.codes.items())
            scope = f"{len(self.answers)} of {self.lines} line(s) not applied ({codes})"
        return f"{RESELLER_TYPE.name}'s {self.result} on {self.answered}: {scope}"

    def error(self) -> SyncError | None:
        """The error this answer stands for; None when nothing is to be done."""
        category = self.category
        if category is None:
            return None
        return _ERRORS[category](
            self.message() or "",
            problems=[a.to_problem(self.answered) for a in self.refusals],
            file=self.answered,
            action=ACTIONS[category],
        )

    def summary(self) -> dict[str, object]:
        return {
            "result": self.result,
            "answered": self.answered,
            "type": self.file_type.value,
            "lines": self.lines,
            "applied": self.applied,
            "codes": self.codes,
            "refused": [f"{a.line}: {a.code}" for a in self.refusals],
        }


def apply_result(
    session: Session,
    result: DataFile,
    *,
    result_id: int,
    reseller: str = RESELLER_TYPE.code,
    now: dt.datetime | None = None,
) -> ResultOutcome:
    """Apply the verified ``result`` (journaled as ``result_id``) to the organiser's file it
    answers, in the caller's transaction. Raises
    :class:`~reseller_sync.secutix.errors.FileRefusedError` ``T23`` (external), having
    recorded nothing, when it answers no file sent or has the wrong lines."""
    name = str(result.name)
    if result.name.type is not FileType.RESULT or result.name.number is None:
        raise ValueError(f"{name} is not a RESULT file")
    log = ProblemLog(name)
    result_rules(result, log)
    sent = answered_file(session, reseller, result.name.number)
    if sent is None:
        log.add(
            Code.T23,
            f"answers the organiser's file number {result.name.number}, which the organiser "
            "did not send",
        )
        raise log.refuse()
    frame = result.frame
    lines = _line_count(session, sent)
    whole = len(frame) == 1 and frame["LINE_NUMBER"].iloc[0] == "0"
    if not whole and len(frame) != lines:
        log.add(
            Code.T23,
            f"answers {len(frame)} line(s); {sent.name} has {lines}: a RESULT answers each "
            "line once, or the whole file on line 0",
        )
    if log:
        raise log.refuse()

    ko = frame[frame["STATUS"] == "KO"]
    answers = tuple(
        AnsweredLine(
            int(line),
            Code(code),
            message,
            int(available) if available else None,
        )
        for line, code, message, available in zip(
            ko["LINE_NUMBER"], ko["ERROR_CODE"], ko["MESSAGE"], ko["AVAILABLE"], strict=True
        )
    )
    file_type = _type_of(sent.name)
    outcome = ResultOutcome(
        name,
        sent.name,
        file_type,
        lines,
        0 if whole else int((frame["STATUS"] == "OK").sum()),
        answers,
    )
    category = outcome.category
    journal.record_acknowledgement(
        session,
        sent.id,
        result_id,
        state=FileState.REFUSED if whole else FileState.ACKNOWLEDGED,
        error_category=category.value if category is not None else None,
        error_message=outcome.message(),
        errors=[
            journal.FileErrorRow(a.line, None, None, a.code.value, a.reason)
            for a in answers[: journal.MAX_ERRORS_KEPT]
        ],
        ack_line_count=len(frame),
    )
    moment = now or dt.datetime.now(dt.UTC)
    if file_type is FileType.CONTINGENT:
        _record_allocations(session, sent.id, outcome, moment)
    elif file_type is FileType.WITHDRAW:
        _record_withdrawals(session, sent.id, outcome, moment)
    return outcome


def answered_file(session: Session, reseller: str, number: int) -> journal.JournaledFile | None:
    """The organiser's file number ``number`` in the journal (OFFER, CONTINGENT or WITHDRAW,
    journaled under its data file's or its control file's name); None when none was sent."""
    for file_type in sorted(ORGANISER_SEQUENCE):
        data = FileName.numbered(file_type, number)
        for name in (data, data.control):
            found = journal.find_file(session, reseller, Direction.OUTBOUND, str(name))
            if found is not None:
                return found
    return None


def _type_of(name: str) -> FileType:
    parsed = FileName.parse(name)
    assert parsed is not None  # answered_file found it by such a name
    return parsed.type


def _line_count(session: Session, sent: journal.JournaledFile) -> int:
    """The data lines of the file sent: as journaled, else as its bytes say."""
    if sent.line_count is not None:
        return sent.line_count
    parsed = FileName.parse(sent.name)
    assert parsed is not None
    content = journal.file_content(session, sent.id)
    log = ProblemLog(sent.name)
    if parsed.kind is NameKind.CONTROL:
        control = parse_control(sent.name, content, log)
        if control is not None:
            return control.line_count
    else:
        frame = decode(sent.name, parsed.type, content, log)
        if frame is not None:
            return len(frame)
    raise TechnicalError(
        f"{sent.name}: the journal keeps neither its line count nor readable bytes",
        problems=log.listed(),
        file=sent.name,
    )


def _record_allocations(
    session: Session, file_id: int, outcome: ResultOutcome, now: dt.datetime
) -> None:
    """The places of a CONTINGENT as the RESULT states them (``Q04``: the reseller's)."""

    def answer(line: AnsweredLine) -> allocation.RecordAnswer:
        return allocation.RecordAnswer(
            line.code.value, line.reason, refused=line.category is not None
        )

    whole = outcome.refused_whole
    allocation.record_answer(
        session,
        file_id,
        {} if whole is not None else {a.line: answer(a) for a in outcome.answers},
        whole=answer(whole) if whole is not None else None,
        now=now,
    )


WITHDRAW_OUTCOMES: Final[dict[Code, withdrawal.Outcome]] = {
    Code.Q05: withdrawal.Outcome.SOLD,
    Code.Q06: withdrawal.Outcome.FEWER,
    Code.Q07: withdrawal.Outcome.NOT_HELD,
    Code.X99: withdrawal.Outcome.AGAIN,
}
"""What a RESULT's code does to a withdrawal request (section 8.3, table 10.1): Q05 sold,
kept; Q06 asked again with at most the places available (none: kept); Q07 not the
reseller's, out of its quota; X99 sent again; any other code ``failed``."""


def _record_withdrawals(
    session: Session, file_id: int, outcome: ResultOutcome, now: dt.datetime
) -> None:
    """The withdrawal requests a WITHDRAW carried, as the RESULT answers them (section 8.3
    and table 10.1)."""
    whole = outcome.refused_whole
    by_line = {a.line: a for a in outcome.answers}

    def answer_of(request: PlaceWithdrawal) -> withdrawal.Answer | None:
        answer = whole if whole is not None else by_line.get(request.line or 0)
        if answer is None:
            return None
        return withdrawal.Answer(
            WITHDRAW_OUTCOMES.get(answer.code, withdrawal.Outcome.FAILED),
            answer.code.value,
            answer.reason,
            answer.available or 0,
        )

    withdrawal.apply_answers(session, file_id, answer_of, now)
