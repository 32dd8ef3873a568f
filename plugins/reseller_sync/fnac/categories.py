"""Integrate FNAC's CATCLI files: the whole list of customer categories (spec 7.4).

The list replaces the one kept in the box office. Active categories that no
tariff stands for are returned, so that a mapping alert goes out at once,
before any sale uses them (their sales could not be integrated).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import ResellerCustomerCategory
from reseller_sync.fnac.mappings import NewCustomerCategories, new_customer_categories
from reseller_sync.fnac.sales import RESELLER
from reseller_sync.mappings.repository import MappingRepository


@dataclass(frozen=True)
class CategoriesIntegration:
    file_name: str
    categories: int
    active: int
    added: tuple[str, ...]
    """Codes not in the previous list."""
    unmapped: NewCustomerCategories


def integrate_customer_categories(
    session: Session,
    repository: MappingRepository,
    file_name: str,
    frame: pd.DataFrame,
    *,
    file_id: int | None = None,
) -> CategoriesIntegration:
    """Replace the kept list with the file's, in the session's transaction."""
    first_seen = dict(
        session.execute(
            select(
                ResellerCustomerCategory.code, ResellerCustomerCategory.first_seen_file_id
            ).where(ResellerCustomerCategory.reseller_code == RESELLER)
        ).all()
    )
    session.execute(
        delete(ResellerCustomerCategory).where(ResellerCustomerCategory.reseller_code == RESELLER)
    )
    session.add_all(
        ResellerCustomerCategory(
            reseller_code=RESELLER,
            code=str(row.categorie_client),
            label=str(row.libelle),
            active=bool(row.actif),
            modified_at=row.date_modification.to_pydatetime(),
            first_seen_file_id=first_seen.get(str(row.categorie_client), file_id),
        )
        for row in frame.itertuples(index=False)
    )
    session.flush()
    codes = frame["categorie_client"].astype("str")
    return CategoriesIntegration(
        file_name=file_name,
        categories=len(frame),
        active=int(frame["actif"].sum()),
        added=tuple(sorted(set(codes) - set(first_seen))) if first_seen else (),
        unmapped=new_customer_categories(frame, repository),
    )
