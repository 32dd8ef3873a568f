"""Integrate FNAC's VENTES (and TEST) files: each line a ticket, each ``id_vente`` an order.

FNAC's adapter (:mod:`reseller_sync.fnac.lines`) turns the reader's chunks
into canonical sale lines through the mappings; the reseller-neutral
integration (:mod:`reseller_sync.integration.sales`) checks them against the
box office and writes them, in two passes through the caller's transaction.
Problems name FNAC's line, column and value; any problem refuses the whole
file and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from sqlalchemy.orm import Session

from reseller_sync.fnac.adapter import RESELLER_TYPE
from reseller_sync.fnac.lines import integration_settings, sale_batches
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.integration.sales import (
    PriceDifference,
    SalesIntegration,
    integrate_sale_lines,
)
from reseller_sync.mappings.repository import MappingRepository

RESELLER = RESELLER_TYPE.code

__all__ = ["RESELLER", "PriceDifference", "SalesIntegration", "integrate_sales"]


def integrate_sales(
    session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    file_name: str,
    lines: pd.DataFrame | Iterable[pd.DataFrame],
    *,
    file_id: int | None = None,
    is_test: bool = False,
) -> SalesIntegration:
    """Resolve and apply a parsed VENTES or TEST file in the session's transaction.

    ``lines`` is the file's frame, or its chunks in file order (the reader's
    ``iter_file_chunks``): memory then holds one chunk at a time, plus what
    the tickets need. Raises ``MappingError`` or ``ExternalError`` listing
    every problem of the whole file (or the reader's ``FileFormatError``),
    having written nothing.
    """
    return integrate_sale_lines(
        session,
        integration_settings(settings),
        file_name,
        sale_batches(session, settings, repository, file_name, lines),
        file_id=file_id,
        is_test=is_test,
    )
