"""Ticketnet's PRICETYPES batches: the whole list of its price types, kept in the box office
(``ticketnet-exchange-v1`` section 7.2).

Ticketnet may sell at an active price type as soon as it is in the list, and a
SALE at a price type no tariff is mapped to cannot be integrated (``R13``): each
active price type mapped to no tariff comes back as a mapping fault, to alert at
once (a warning for the contract, before any sale needs it).
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
from sqlalchemy.orm import Session

from reseller_sync.integration.categories import (
    CategoriesIntegration,
    integrate_customer_categories,
)
from reseller_sync.mappings.repository import MappingRepository


def price_type_categories(table: pa.Table) -> pd.DataFrame:
    """A PRICETYPES file's records (as the codec reads them) in the neutral columns of
    :mod:`reseller_sync.integration.categories`, in record order from 1."""
    frame = table.to_pandas()
    categories = pd.DataFrame(
        {
            "code": frame["price_type"].astype("str"),
            "label": frame["label"].astype("str"),
            "active": frame["active"] == "true",
            "modified_at": pd.to_datetime(frame["modified_at"], utc=True, format="ISO8601"),
        }
    )
    categories.index = pd.RangeIndex(1, len(categories) + 1, name="record")
    return categories


def integrate_price_types(
    session: Session,
    repository: MappingRepository,
    file_name: str,
    table: pa.Table,
    *,
    file_id: int | None = None,
) -> CategoriesIntegration:
    """Replace the kept list of Ticketnet's price types with the file's; the outcome names
    the active ones mapped to no tariff."""
    return integrate_customer_categories(
        session, repository, file_name, price_type_categories(table), file_id=file_id
    )
