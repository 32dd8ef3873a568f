"""Integrate FNAC's ANNUL files: cancellations and refunds (spec 7.3).

Each line cancels one ticket: FNAC's adapter (:mod:`reseller_sync.fnac.lines`)
renames its columns into canonical cancellation lines, and the
reseller-neutral integration (:mod:`reseller_sync.integration.cancellations`)
cancels the ticket (its place goes back to FNAC's quota, which still holds
it), has access control refuse the barcode, and books the refund of
``montant_rembourse`` on the pending account. A line whose cancellation was
integrated before is skipped. Any problem refuses the whole file.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from reseller_sync.fnac.lines import cancellation_batch, integration_settings
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.integration.cancellations import (
    CancellationIntegration,
    integrate_cancellation_lines,
)

__all__ = ["CancellationIntegration", "integrate_cancellations"]


def integrate_cancellations(
    session: Session,
    settings: FnacSettings,
    file_name: str,
    frame: pd.DataFrame,
) -> CancellationIntegration:
    """Apply a parsed ANNUL file in the session's transaction, or raise listing every problem."""
    return integrate_cancellation_lines(
        session, integration_settings(settings), file_name, cancellation_batch(frame)
    )
