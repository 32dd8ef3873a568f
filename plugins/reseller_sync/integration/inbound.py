"""One partner file's canonical lines into the box office, whatever their kind."""

from __future__ import annotations

from sqlalchemy.orm import Session

from reseller_sync.core.lines import InboundLines, LineKind
from reseller_sync.domain.errors import SyncError, TechnicalError
from reseller_sync.integration.cancellations import (
    CancellationIntegration,
    integrate_cancellation_lines,
)
from reseller_sync.integration.sales import SalesIntegration, integrate_sale_lines
from reseller_sync.integration.settings import IntegrationSettings
from reseller_sync.integration.ticket_states import (
    TicketStateIntegration,
    integrate_ticket_state_lines,
)


def integrate_inbound_lines(
    session: Session,
    settings: IntegrationSettings,
    file_name: str,
    lines: InboundLines,
    *,
    file_id: int | None = None,
    is_test: bool = False,
) -> tuple[SalesIntegration | CancellationIntegration | TicketStateIntegration, int]:
    """Apply the lines in the session's transaction; the outcome and the records read.

    Raises listing every problem of the whole file, having written nothing; problems are
    located by ``lines.locate`` when the lines span several files.
    """
    file_name = lines.file_name or file_name
    try:
        return _integrate(session, settings, file_name, lines, file_id=file_id, is_test=is_test)
    except SyncError as error:
        if lines.locate is not None:
            error.problems = tuple(lines.locate(problem) for problem in error.problems)
        raise


def _integrate(
    session: Session,
    settings: IntegrationSettings,
    file_name: str,
    lines: InboundLines,
    *,
    file_id: int | None,
    is_test: bool,
) -> tuple[SalesIntegration | CancellationIntegration | TicketStateIntegration, int]:
    if lines.kind is LineKind.SALES:
        sales = integrate_sale_lines(
            session,
            settings,
            file_name,
            lines.batches,
            file_id=file_id,
            is_test=is_test or lines.is_test,
        )
        return sales, sales.lines
    if lines.kind is LineKind.CANCELLATIONS:
        cancellations = integrate_cancellation_lines(session, settings, file_name, lines.batches)
        return cancellations, cancellations.lines
    if lines.kind is LineKind.TICKET_STATES:
        states = integrate_ticket_state_lines(
            session,
            settings,
            file_name,
            lines.batches,
            file_id=file_id,
            is_test=is_test or lines.is_test,
        )
        return states, states.lines
    raise TechnicalError(f"{file_name}: {lines.kind.value} lines are not integrated")
