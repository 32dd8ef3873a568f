"""FNAC's acknowledgement of a file we sent (ACK, spec 7.6): find it, read it, record it.

FNAC names the ACK ``ACK_`` + the sent file's name and drops it in
``/retour/``. :func:`await_ack` is what a sending task calls (before it defers
to the trigger that watches ``/retour/``, and when it resumes): it looks for
the ACK in the journal (the inbound pipeline may have landed it), else
fetches that one file from the server and lands it, and then records the
outcome; None while FNAC has not answered.

Each refused line's code decides what it means for us:

====================  ===========================================================
E06 (PLACES)          fine: the place is FNAC's already
E10                   fine: FNAC had received the file already
E07                   a notice, not an error: the place is sold, it stays FNAC's
E03 E04 E05 E08 E09   mapping: fix the mapping or the sale sheet, or remove the
                      product from the FNAC channel, then send again
E01 E02               technical: our generator or our numbering; contact support
E99                   temporary: FNAC failed; send the same content again under
                      a new sequence (:func:`~reseller_sync.fnac.outbound.send_again`)
====================  ===========================================================

A FICHE is applied whole or not at all: any refused line refuses it. PLACES
and DECONT are applied line by line (spec 9.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Self

import pandas as pd
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import Direction, FileState
from reseller_sync.domain.errors import (
    ErrorCategory,
    MappingError,
    Problem,
    SyncError,
    TechnicalError,
    TemporaryExternalError,
)
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange import journal
from reseller_sync.exchange.transport import SftpTransport
from reseller_sync.fnac.adapter import RESELLER_TYPE
from reseller_sync.fnac.names import FileName, FileType, ack_name
from reseller_sync.fnac.outbound import check_folders
from reseller_sync.fnac.reader import ParsedFile, read_file
from reseller_sync.fnac.settings import FnacSettings

PARTLY_APPLIED_TYPES = frozenset({FileType.PLACES, FileType.DECONT})
"""Types FNAC applies line by line; any other is applied whole or refused whole."""


class Verdict(StrEnum):
    """What a refused line means for the organiser."""

    FINE = "fine"
    NOTICE = "notice"
    MAPPING = "mapping"
    TECHNICAL = "technical"
    TEMPORARY = "temporary"


ACTIONABLE = (Verdict.MAPPING, Verdict.TECHNICAL, Verdict.TEMPORARY)

CODE_MEANINGS: dict[str, tuple[Verdict, str]] = {
    "E01": (Verdict.TECHNICAL, "syntax or envelope error: our file generator must be fixed"),
    "E02": (Verdict.TECHNICAL, "sequence error (gap or reuse): the missing file must be sent"),
    "E03": (Verdict.MAPPING, "unknown manifestation: fix the manifestation mapping"),
    "E04": (Verdict.MAPPING, "unknown séance: fix the mapping or the sale sheet"),
    "E05": (Verdict.MAPPING, "unknown salle, bloc or seat: fix the salle or bloc mapping"),
    "E06": (Verdict.FINE, "place already in the allotment: it is FNAC's already"),
    "E07": (Verdict.NOTICE, "place already sold, it cannot be withdrawn: it stays FNAC's"),
    "E08": (Verdict.MAPPING, "unknown type de tarif: fix the category mapping"),
    "E09": (Verdict.MAPPING, "product FNAC may not sell: remove it from the FNAC channel"),
    "E10": (Verdict.FINE, "file already received: nothing to do"),
    "E99": (Verdict.TEMPORARY, "technical error at FNAC: send the same content again"),
}


@dataclass(frozen=True)
class RefusedLine:
    line: int
    """The sent file's data line; 0 for the whole file."""
    code: str
    verdict: Verdict
    meaning: str
    message: str | None
    """FNAC's own words."""
    sent_line: str | None
    """The refused line of the sent file, described for a person (bloc, rang, place...)."""

    def to_problem(self, file: str) -> Problem:
        parts = [f"{self.code} {self.meaning}"]
        if self.sent_line:
            parts.append(self.sent_line)
        if self.message:
            parts.append(f"FNAC: {self.message}")
        return Problem(" — ".join(parts), file=file, line=self.line, value=self.code)


@dataclass(frozen=True)
class AckOutcome:
    """What FNAC did with a file we sent."""

    sent_file: str
    ack_file: str
    file_type: FileType
    refused: tuple[RefusedLine, ...]
    """Every KO line of the ACK, in order."""
    whole_file_refused: bool
    """Nothing of the file was applied (spec 7.6 ``KO;0``, or any KO on a FICHE)."""
    sent_line_count: int | None = None

    @property
    def state(self) -> FileState:
        return FileState.REFUSED if self.whole_file_refused else FileState.ACKNOWLEDGED

    @property
    def applied(self) -> bool:
        """Whether the file was applied, whole or in part."""
        return not self.whole_file_refused

    @property
    def refused_lines(self) -> tuple[int, ...]:
        """Data lines refused one by one (not the whole-file refusals)."""
        return tuple(line.line for line in self.refused if line.line > 0)

    @property
    def applied_line_count(self) -> int | None:
        """Lines applied, when the sent file's line count is known."""
        if self.sent_line_count is None:
            return None
        if self.whole_file_refused:
            return 0
        return self.sent_line_count - len(set(self.refused_lines))

    @property
    def errors(self) -> tuple[RefusedLine, ...]:
        """Refusals someone must act on (or a new send must fix)."""
        return tuple(line for line in self.refused if line.verdict in ACTIONABLE)

    @property
    def notices(self) -> tuple[RefusedLine, ...]:
        return tuple(line for line in self.refused if line.verdict is Verdict.NOTICE)

    @property
    def category(self) -> ErrorCategory | None:
        """The category of the error to raise: technical first, then mapping, then external."""
        verdicts = {line.verdict for line in self.errors}
        if Verdict.TECHNICAL in verdicts:
            return ErrorCategory.TECHNICAL
        if Verdict.MAPPING in verdicts:
            return ErrorCategory.MAPPING
        if Verdict.TEMPORARY in verdicts:
            return ErrorCategory.EXTERNAL
        return None

    def error(self) -> SyncError | None:
        """The error this outcome stands for, or None when nothing is to be done."""
        category = self.category
        if category is None:
            return None
        problems = [line.to_problem(self.sent_file) for line in self.errors]
        scope = "refused whole" if self.whole_file_refused else f"{len(problems)} line(s) refused"
        message = f"FNAC's ACK of {self.sent_file}: {scope}"
        if category is ErrorCategory.TECHNICAL:
            return TechnicalError(
                message,
                problems=problems,
                file=self.sent_file,
                action=Localized(
                    fr="Contactez le support avec le nom du fichier : le fichier que nous avons "
                    "écrit ou sa numérotation est faux (E01/E02) ; renvoyez-le une fois corrigé.",
                    en="Contact support with the file name: the file we wrote or its "
                    "numbering is wrong (E01/E02); send it again once fixed.",
                ),
            )
        if category is ErrorCategory.MAPPING:
            return MappingError(
                message,
                problems=problems,
                file=self.sent_file,
                action=Localized(
                    fr="Corrigez les mappings (ou la fiche de mise en vente, ou le canal "
                    "{reseller} pour E09) comme chaque ligne le dit, puis relancez l'étape "
                    "d'envoi : elle envoie un nouveau fichier.",
                    en="Fix the mappings (or the sale sheet, or the {reseller} channel for E09) "
                    "as each line says, then run the send step again: it sends a new file.",
                ),
            )
        return TemporaryExternalError(
            message,
            problems=problems,
            file=self.sent_file,
            action=Localized(
                fr="{reseller} a échoué de son côté (E99) : le même contenu est renvoyé sous une "
                "nouvelle séquence ; si l'échec persiste, contactez {reseller} avec le nom du "
                "fichier.",
                en="{reseller} failed on its side (E99): the same content is sent again under a "
                "new sequence; if it keeps failing, contact {reseller} with the file name.",
            ),
        )

    def raise_for_errors(self) -> Self:
        if (error := self.error()) is not None:
            raise error
        return self


def interpret_ack(
    sent_file_name: str, ack: ParsedFile, sent: ParsedFile | None = None
) -> AckOutcome:
    """Read FNAC's ACK of ``sent_file_name``; ``sent``, the file as sent, describes lines."""
    expected = str(ack_name(sent_file_name))
    if str(ack.name) != expected:
        raise TechnicalError(f"{ack.name} does not answer {sent_file_name} (expected {expected})")
    file_type = FileName.parse(sent_file_name).type
    frame = ack.frame
    ko = frame[frame["statut"] == "KO"]
    refused = []
    for row in ko.itertuples(index=False):
        line, code = int(row.ligne), str(row.code_erreur)
        verdict, meaning = CODE_MEANINGS[code]
        if code == "E06" and file_type is not FileType.PLACES:
            verdict, meaning = Verdict.TECHNICAL, f"E06 is unexpected on a {file_type} file"
        message = row.message if isinstance(row.message, str) else None
        refused.append(RefusedLine(line, code, verdict, meaning, message, _describe(sent, line)))
    actionable = [line for line in refused if line.verdict in ACTIONABLE]
    whole = any(line.line == 0 for line in actionable) or (
        file_type not in PARTLY_APPLIED_TYPES and bool(actionable)
    )
    return AckOutcome(
        sent_file=sent_file_name,
        ack_file=str(ack.name),
        file_type=file_type,
        refused=tuple(refused),
        whole_file_refused=whole,
        sent_line_count=len(sent.frame) if sent is not None else None,
    )


def await_ack(
    session: Session, transport: SftpTransport, settings: FnacSettings, sent_file_name: str
) -> AckOutcome | None:
    """The outcome of FNAC's ACK of a sent file, recorded in the journal; None until it is there.

    Looks in the journal first, then fetches the ACK alone from the server
    (``settings.sftp.inbox_dir``, through ``transport``) and lands it. Runs in
    the caller's transaction: commit it. Asked again once recorded, it
    returns the same outcome and changes nothing.
    """
    check_folders(transport, settings)
    sent = _sent_file(session, sent_file_name)
    wanted = str(ack_name(sent_file_name))
    ack = journal.find_file(session, RESELLER_TYPE.code, Direction.INBOUND, wanted)
    if ack is None:
        index = journal.OnlyFileIndex(journal.JournalIndex(session, RESELLER_TYPE.code), wanted)
        fetched = transport.fetch_new(index)
        for landed in fetched.landed:
            if landed.name == wanted:
                landing = journal.land(session, RESELLER_TYPE.code, landed)
                ack = journal.journaled_file(session, landing.file_id)
    if ack is None:
        return None
    parsed = read_file(ack.name, journal.file_content(session, ack.id))
    sent_parsed = read_file(sent.name, journal.file_content(session, sent.id))
    outcome = interpret_ack(sent_file_name, parsed, sent_parsed)
    record_ack(session, outcome, sent.id, ack.id, len(parsed.frame))
    return outcome


def record_ack(
    session: Session, outcome: AckOutcome, sent_id: int, ack_id: int, ack_lines: int
) -> None:
    """Journal the outcome: the sent file acknowledged or refused, with its refused lines;
    the ACK linked to it and marked integrated (unless a duplicate, or a reused sequence)."""
    error = outcome.error()
    journal.record_acknowledgement(
        session,
        sent_id,
        ack_id,
        state=outcome.state,
        error_category=error.category.value if error is not None else None,
        error_message=error.message if error is not None else None,
        errors=[
            journal.FileErrorRow(
                line=line.line,
                column=None,
                value=(line.sent_line or "")[:200] or None,
                code=line.code,
                reason=line.to_problem(outcome.sent_file).reason,
            )
            for line in outcome.refused[: journal.MAX_ERRORS_KEPT]
        ],
        ack_line_count=ack_lines,
    )


def _sent_file(session: Session, name: str) -> journal.JournaledFile:
    entry = journal.find_file(session, RESELLER_TYPE.code, Direction.OUTBOUND, name)
    if entry is None:
        raise TechnicalError(f"{name} is not in the journal of files sent to FNAC")
    return entry


def _describe(sent: ParsedFile | None, line: int) -> str | None:
    """A sent data line as a person reads it; None for the whole file or an unknown line."""
    if sent is None or line not in sent.frame.index:
        return None
    row = sent.frame.loc[line]
    parts = []
    if "date_seance" in row and not pd.isna(row["date_seance"]):
        parts.append(f"séance {pd.Timestamp(row['date_seance']):%d/%m/%Y %H:%M}")
    if sent.name.type in PARTLY_APPLIED_TYPES:
        parts.append(f"bloc {row['code_bloc']}")
        if isinstance(row["rang"], str):
            parts.append(f"rang {row['rang']}, place {row['place']}")
        else:
            parts.append(f"{row['quantite']} place(s) in free placement")
    elif sent.name.type is FileType.FICHE:
        parts.append(f"category {row['categorie']}, tariff {row['tarif']}")
    return ", ".join(parts) or None
