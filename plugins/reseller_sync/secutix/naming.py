"""The SecuTix reseller's names as the exchange layer asks for them (``secutix-reseller-v1``
sections 3, 4, 6 and 11).

Every data file has a control file, uploaded after it: the pair is one unit of
the journal, landed under the control file's name (the closing file) with the
data file as its member. The reseller's TICKETS and STOCK files are streams of
their own; its RESULT files answer the organiser's files, which share one
sequence whatever their type (OFFER, CONTINGENT, WITHDRAW): one stream,
:data:`ORGANISER_STREAM`.

The organiser keeps no copy of a TICKETS file as received (section 11): the
copy kept for replay has every ``CONTACT_*`` field emptied, which
:meth:`SecutixNaming.redact` does; its checksum then differs from the control
file's, which is compared with the checksum of the file as it arrived.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from reseller_sync.core.exchange import Sender, Unit, UnredactableFileError
from reseller_sync.secutix.names import (
    ORGANISER_SEQUENCE,
    PARTIAL_SUFFIX,
    FileName,
    FileType,
    NameKind,
)
from reseller_sync.secutix.reader import BOM, ProblemLog, decode
from reseller_sync.secutix.schema import is_contact_column

ORGANISER_STREAM = "TO_RESELLER"
"""The journal's stream of the organiser's files: OFFER, CONTINGENT and WITHDRAW share
their numbering (section 4)."""


@dataclass(frozen=True)
class SecutixName:
    """A parsed name: :class:`~reseller_sync.core.exchange.ExchangeName` of the contract."""

    name: FileName

    @property
    def stream(self) -> str:
        if self.name.type in ORGANISER_SEQUENCE:
            return ORGANISER_STREAM
        return self.name.type.value

    @property
    def sequence(self) -> int:
        return self.name.key

    @property
    def sender(self) -> Sender:
        return Sender.PARTNER if self.name.type.from_reseller else Sender.ORGANISER

    @property
    def answers(self) -> AnsweredFile | None:
        """The organiser's file a RESULT answers: the one of its number, whatever its type."""
        if self.name.type is not FileType.RESULT:
            return None
        return AnsweredFile(self.name.key)

    @property
    def unit(self) -> Unit:
        """A data file lands with its control file, written after it."""
        return Unit.BATCH_CLOSING if self.name.kind is NameKind.CONTROL else Unit.BATCH_DATA

    def __str__(self) -> str:
        return str(self.name)


@dataclass(frozen=True)
class AnsweredFile:
    """The organiser's file number ``sequence``, of any of its types: a RESULT's name says
    no more (section 4)."""

    sequence: int
    stream: str = ORGANISER_STREAM
    sender: Sender = Sender.ORGANISER
    answers: None = None
    unit: Unit = Unit.BATCH_CLOSING

    def __str__(self) -> str:
        return f"the organiser's file {self.sequence:08d}"


class SecutixNaming:
    """:class:`~reseller_sync.core.exchange.ExchangeNaming` of ``secutix-reseller-v1``."""

    partial_suffix = PARTIAL_SUFFIX
    outbound_types = tuple(
        file_type.value for file_type in (FileType.OFFER, FileType.CONTINGENT, FileType.WITHDRAW)
    )
    reused_sequence_code = "F03"
    """The reseller's answer to an organiser file number already processed (section 9.2)."""
    changed_batch_code = "T07"
    """A TICKETS file number already applied, back with different content (section 9.1)."""

    def parse(self, name: str) -> SecutixName | None:
        parsed = FileName.parse(name)
        if parsed is None or parsed.partial:
            return None
        return SecutixName(parsed)

    def sequence_text(self, sequence: int) -> str:
        """Eight digits, as in every name of section 4."""
        return f"{sequence:08d}"

    def redact(self, name: str, data: bytes) -> bytes:
        """A TICKETS file with every ``CONTACT_*`` field emptied (section 11); any other
        file as it is."""
        parsed = FileName.parse(name)
        if (
            parsed is None
            or parsed.type is not FileType.TICKETS
            or parsed.kind is not NameKind.DATA
        ):
            return data
        return redact_contact_columns(name, data)


NAMING = SecutixNaming()


def redact_contact_columns(name: str, data: bytes) -> bytes:
    """The TICKETS file ``data`` with the fields of every ``CONTACT_*`` column emptied; the
    other fields' text kept, quoted only where section 5 says, lines ending with LF.

    Raises :class:`UnredactableFileError` when the file breaks the syntax of section 5
    (``T04``): its contact values cannot be located, so none of its bytes may be kept.
    """
    log = ProblemLog(name)
    if decode(name, FileType.TICKETS, data, log) is None:
        first = log.problems[0] if log.problems else "a syntax error"
        raise UnredactableFileError(f"{first}; the contact columns cannot be located")
    text = data.removeprefix(BOM).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";", strict=True))
    contact = [index for index, column in enumerate(rows[0]) if is_contact_column(column)]
    if not contact:
        return data
    for row in rows[1:]:
        for index in contact:
            row[index] = ""
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=";", lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return out.getvalue().encode("utf-8")
