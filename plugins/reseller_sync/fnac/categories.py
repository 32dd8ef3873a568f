"""Integrate FNAC's CATCLI files: the whole list of customer categories (spec 7.4).

The list replaces the one kept in the box office; active categories that no
tariff stands for come back, so that a mapping alert goes out at once, before
any sale uses them (:mod:`reseller_sync.integration.categories`).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from reseller_sync.fnac.mappings import catcli_categories
from reseller_sync.integration.categories import (
    CategoriesIntegration,
)
from reseller_sync.integration.categories import (
    integrate_customer_categories as integrate_categories,
)
from reseller_sync.mappings.repository import MappingRepository

__all__ = ["CategoriesIntegration", "integrate_customer_categories"]


def integrate_customer_categories(
    session: Session,
    repository: MappingRepository,
    file_name: str,
    frame: pd.DataFrame,
    *,
    file_id: int | None = None,
) -> CategoriesIntegration:
    """Replace the kept list with the CATCLI file's, in the session's transaction."""
    return integrate_categories(
        session, repository, file_name, catcli_categories(frame), file_id=file_id
    )
