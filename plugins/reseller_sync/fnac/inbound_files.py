"""FNAC's inbound files for the reseller-neutral integration run (``fnac-exchange-v1``
section 7): VENTES and TEST as sale lines, ANNUL as cancellation lines, CATCLI apart."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from reseller_sync.core.exchange import InboundUnit
from reseller_sync.core.lines import InboundLines, LineKind
from reseller_sync.domain.errors import TechnicalError
from reseller_sync.fnac.categories import integrate_customer_categories
from reseller_sync.fnac.lines import cancellation_batch, sale_batches
from reseller_sync.fnac.names import FileName, FileType
from reseller_sync.fnac.reader import iter_file_chunks, read_file
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.mappings.repository import MappingRepository


class FnacInboundFiles:
    """One run's reading of FNAC's files, with the mappings loaded once for the run."""

    def __init__(self, settings: FnacSettings, repository: MappingRepository) -> None:
        self.settings = settings
        self.repository = repository

    def lines(self, session: Session, unit: InboundUnit) -> tuple[InboundLines] | None:
        """The file's canonical lines, or None for a file that holds none (CATCLI).

        Sales files (the big ones) go in as the reader's chunks: no frame of the whole
        file is ever built, and the bytes go with the reader once the last chunk is read.
        """
        name = unit.name
        file_type = FileName.parse(name).type
        if file_type in (FileType.VENTES, FileType.TEST):
            chunks = iter_file_chunks(name, unit.content)
            batches = sale_batches(session, self.settings, self.repository, name, chunks)
            return (InboundLines(LineKind.SALES, batches, is_test=file_type is FileType.TEST),)
        if file_type is FileType.ANNUL:
            frame = read_file(name, unit.content).frame
            return (InboundLines(LineKind.CANCELLATIONS, [cancellation_batch(frame)]),)
        return None

    def integrate_other(
        self, session: Session, unit: InboundUnit, *, file_id: int
    ) -> tuple[Any, int]:
        """Apply a file that holds no lines (CATCLI); its outcome and number of records."""
        name, content = unit.name, unit.content
        file_type = FileName.parse(name).type
        if file_type is FileType.CATCLI:
            frame = read_file(name, content).frame
            outcome = integrate_customer_categories(
                session, self.repository, name, frame, file_id=file_id
            )
            return outcome, len(frame)
        raise TechnicalError(f"{name}: files of type {file_type.value} are not integrated here")
