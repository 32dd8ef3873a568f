"""A reseller's own customer categories (price types): the whole list it sends, kept in the
box office, and the active ones no tariff stands for.

A reseller may create categories at any time and sell at them at once; a sale
at a category no tariff's mapping names cannot be integrated. So the list is
checked as it arrives: each active category mapped to no tariff is a mapping
fault, alerted before any sale uses it, with the mapping to add.

The list is a frame with the columns ``code``, ``label``, ``active`` (bool) and
``modified_at`` (aware), whatever the partner's file calls them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.catalogue import CustomerCategory
from reseller_sync.boxoffice.models import ResellerCustomerCategory
from reseller_sync.config.paths import shown_path
from reseller_sync.domain.errors import MappingError
from reseller_sync.mappings.model import ALTERNATIVE_SEPARATOR, Concept, KindRule, MappingFault
from reseller_sync.mappings.repository import MappingRepository


@dataclass(frozen=True)
class NewCustomerCategories:
    """Active categories of the reseller mapped to no tariff: their sales cannot be
    integrated until a person maps them."""

    reseller_name: str
    rule: KindRule
    categories: tuple[CustomerCategory, ...]
    shared_file: str
    example: tuple[str, tuple[str, ...]] | None
    """A tariff of the shared file and its values, shown in the fix."""

    @property
    def ok(self) -> bool:
        return not self.categories

    @property
    def faults(self) -> tuple[MappingFault, ...]:
        return tuple(self._fault(category) for category in self.categories)

    def _fault(self, category: CustomerCategory) -> MappingFault:
        if self.example is not None:
            tariff, values = self.example
            listed = ALTERNATIVE_SEPARATOR.join((*values, category.code))
            example = f'{tariff}: "{listed}"'
        else:
            example = f'A_TARIFF: "{category.code}"'
        return MappingFault(
            f"{self.reseller_name}'s active {self.rule.partner_term} {category.code} "
            f"({category.label}) is mapped to no tariff: its sales cannot be integrated",
            f"add it to a tariff in {self.shared_file} under {self.rule.key}, e.g. {example}",
            self.shared_file,
            key=self.rule.key,
            value=category.code,
        )

    def to_error(self) -> MappingError:
        count = len(self.categories)
        return MappingError(
            f"{self.reseller_name} has {count} new customer categor"
            f"{'ies' if count > 1 else 'y'} to map",
            problems=[fault.to_problem() for fault in self.faults],
            file=self.shared_file,
        )

    def raise_for_faults(self) -> Self:
        if not self.ok:
            raise self.to_error()
        return self


def new_customer_categories(
    categories: pd.DataFrame, repository: MappingRepository
) -> NewCustomerCategories:
    """The active categories of ``categories`` (``code``, ``label``, ``active``) that no tariff
    of any mapping file of ``repository`` stands for."""
    vocabulary = repository.vocabulary
    rule = vocabulary.for_concept(Concept.TARIFF)
    if rule is None:
        raise ValueError(f"{vocabulary.reseller} maps no tariff")
    codes = categories["code"].astype("str")
    mapped = repository.partner_values(rule.kind)
    new = categories.loc[categories["active"].astype(bool) & ~codes.isin(mapped)]
    found = tuple(
        CustomerCategory(code, str(label), True)
        for code, label in zip(codes[new.index], new["label"], strict=True)
    )
    shared = [entry for entry in repository.shared_entries if entry.kind == rule.kind]
    widest = max(shared, key=lambda entry: len(entry.partner), default=None)
    return NewCustomerCategories(
        vocabulary.name,
        rule,
        found,
        shown_path(repository.shared_file),
        (widest.organiser, widest.partner) if widest is not None else None,
    )


@dataclass(frozen=True)
class CategoriesIntegration:
    file_name: str
    categories: int
    active: int
    added: tuple[str, ...]
    """Codes not in the previous list (none on the first list)."""
    unmapped: NewCustomerCategories


def integrate_customer_categories(
    session: Session,
    repository: MappingRepository,
    file_name: str,
    categories: pd.DataFrame,
    *,
    file_id: int | None = None,
) -> CategoriesIntegration:
    """Replace the reseller's kept list with ``categories``, in the session's transaction;
    each category keeps the file it was first seen in."""
    reseller = repository.vocabulary.reseller
    first_seen = dict(
        session.execute(
            select(
                ResellerCustomerCategory.code, ResellerCustomerCategory.first_seen_file_id
            ).where(ResellerCustomerCategory.reseller_code == reseller)
        ).all()
    )
    session.execute(
        delete(ResellerCustomerCategory).where(ResellerCustomerCategory.reseller_code == reseller)
    )
    codes = categories["code"].astype("str")
    session.add_all(
        ResellerCustomerCategory(
            reseller_code=reseller,
            code=code,
            label=str(label),
            active=bool(active),
            modified_at=pd.Timestamp(modified_at).to_pydatetime(),
            first_seen_file_id=first_seen.get(code, file_id),
        )
        for code, label, active, modified_at in zip(
            codes,
            categories["label"],
            categories["active"],
            categories["modified_at"],
            strict=True,
        )
    )
    session.flush()
    return CategoriesIntegration(
        file_name=file_name,
        categories=len(categories),
        active=int(categories["active"].astype(bool).sum()),
        added=tuple(sorted(set(codes) - set(first_seen))) if first_seen else (),
        unmapped=new_customer_categories(categories, repository),
    )
