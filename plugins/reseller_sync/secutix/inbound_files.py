"""The SecuTix reseller's inbound units for the reseller-neutral integration
(``secutix-reseller-v1`` sections 6, 7.1, 7.2 and 9.1): a TICKETS file as ticket-state
lines, applied whole in one transaction; a RESULT apart.

A unit is a data file landed under its control file. It is read from the copy
the journal keeps, its ``CONTACT_*`` values emptied (section 11), and verified
against its control file with the checksum of the file as it arrived.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from reseller_sync.core.exchange import InboundUnit
from reseller_sync.core.lines import InboundLines, LineKind
from reseller_sync.domain.errors import TechnicalError
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.secutix.errors import Code, FileRefusedError, SecutixProblem
from reseller_sync.secutix.lines import ticket_state_lines
from reseller_sync.secutix.names import FileName, FileType, NameKind
from reseller_sync.secutix.reader import DataFile, read_file
from reseller_sync.secutix.settings import SecutixSettings


def read_landed_file(unit: InboundUnit) -> DataFile:
    """The data file landed under its control file ``unit``, verified (section 6)."""
    control = FileName.parse(unit.name)
    if control is None or control.kind is not NameKind.CONTROL:
        raise TechnicalError(f"{unit.name} is not the control file of a SecuTix data file")
    data_name = str(control.data)
    if data_name in unit.unkept:
        raise FileRefusedError(
            data_name,
            [SecutixProblem(unit.unkept[data_name], file=data_name, code=Code.T04)],
        )
    data = unit.members.get(data_name)
    if data is None:
        raise TechnicalError(f"{unit.name}: the journal holds no {data_name} with it")
    return read_file(
        data_name, data, unit.content, arrived_sha256=unit.member_sha256.get(data_name)
    )


class SecutixInboundFiles:
    """One run's reading of the reseller's units, with the mappings loaded once for the run."""

    def __init__(self, settings: SecutixSettings, repository: MappingRepository) -> None:
        self.settings = settings
        self.repository = repository

    def lines(self, session: Session, unit: InboundUnit) -> tuple[InboundLines, ...] | None:
        """A TICKETS file's ticket states; None for any other unit."""
        control = FileName.parse(unit.name)
        if control is None or control.type is not FileType.TICKETS:
            return None
        data_file = read_landed_file(unit)
        batch = ticket_state_lines(session, self.settings, data_file, self.repository)
        return (InboundLines(LineKind.TICKET_STATES, (batch,), file_name=str(data_file.name)),)

    def integrate_other(
        self, session: Session, unit: InboundUnit, *, file_id: int
    ) -> tuple[Any, int]:
        """A RESULT: the organiser's file it answers marked as answered, line by line."""
        control = FileName.parse(unit.name)
        if control is not None and control.type is FileType.RESULT:
            from reseller_sync.secutix.result import apply_result

            data_file = read_landed_file(unit)
            return apply_result(session, data_file, result_id=file_id), data_file.lines
        raise TechnicalError(f"{unit.name}: not integrated by the inbound run")
