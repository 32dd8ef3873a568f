"""FNAC's code book: the codes FNAC staff give a product when they set it up.

When FNAC receives a sale sheet (FICHE), its staff create the manifestation
and send the organiser its codes: manifestation, salle and blocs, types de
tarif, catégories de client, allotement (spec section 8.1). The sandbox
plays that step from a code book. By default the code book is read from the
project's mapping files (what the organiser recorded once FNAC gave its
codes), so the demo's FNAC knows exactly the codes the organiser uses.

A product absent from the code book is one FNAC has not agreed to sell: its
FICHE is refused with ``E09``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reseller_sync.fnac.mappings import MappingKind, load_repository
from reseller_sync.mappings.repository import MappingRepository, ProductMappings

DEFAULT_QUOTA = "Q-FNAC"
"""The organiser's quota code whose allotement FNAC uses (``boxoffice.quota`` of the settings)."""

NO_CONFIGURATION = ""
"""Key of the types de tarif that hold for any configuration (passes have none)."""


@dataclass(frozen=True)
class ProductCodes:
    """The FNAC codes of one organiser product."""

    manifestation: str
    allotement: str | None
    salles: Mapping[str, str] = field(default_factory=dict)
    """Organiser configuration → salle."""
    blocs: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Organiser configuration → the blocs of its salle."""
    types_tarif: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Configuration (``""``: any) → organiser category → type de tarif."""
    categories_client: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Organiser tariff → the catégories de client FNAC sells it at (``15|20``: both)."""

    def type_tarif(self, configuration: str | None, category: str) -> str | None:
        """The type de tarif of a category in a configuration (its own, else the generic one)."""
        specific = self.types_tarif.get(configuration or NO_CONFIGURATION, {})
        return specific.get(category) or self.types_tarif.get(NO_CONFIGURATION, {}).get(category)


@dataclass(frozen=True)
class CodeBook:
    """The codes FNAC gives, for every product it agreed to sell."""

    products: Mapping[str, ProductCodes]

    def for_product(self, product: str) -> ProductCodes | None:
        return self.products.get(product)

    @classmethod
    def from_mappings(
        cls, repository: MappingRepository | None = None, *, quota: str = DEFAULT_QUOTA
    ) -> CodeBook:
        """The code book the organiser's mappings record (default: ``include/mappings``).

        Products mapped to no single manifestation are left out.
        """
        repository = repository if repository is not None else load_repository()
        products = {}
        for product in repository.products:
            codes = _product_codes(repository.for_product(product), quota)
            if codes is not None:
                products[product] = codes
        return cls(products)

    @classmethod
    def from_directory(cls, directory: Path | str, *, quota: str = DEFAULT_QUOTA) -> CodeBook:
        return cls.from_mappings(load_repository(directory), quota=quota)


def _product_codes(mappings: ProductMappings, quota: str) -> ProductCodes | None:
    manifestation = mappings.partner_product
    if manifestation is None:
        return None
    configurations = mappings.configurations
    allotements = mappings.outbound_table(MappingKind.ALLOTEMENT)
    return ProductCodes(
        manifestation=manifestation,
        allotement=allotements.get(quota),
        salles=mappings.outbound_table(MappingKind.SALLE),
        blocs={
            configuration: frozenset(
                mappings.outbound_table(MappingKind.BLOC, configuration).values()
            )
            for configuration in configurations
        },
        types_tarif={
            configuration: mappings.outbound_table(MappingKind.TYPE_TARIF, configuration or None)
            for configuration in (NO_CONFIGURATION, *configurations)
        },
        categories_client={
            tariff: entry.partner
            for tariff, entry in mappings.effective(MappingKind.CATEGORIE_CLIENT).items()
        },
    )
