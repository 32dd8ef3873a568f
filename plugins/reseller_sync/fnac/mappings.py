"""FNAC's mapping vocabulary (``fnac-exchange-v1`` section 2), and its new categories.

The six kinds, their codes' formats and file keys, for the neutral engine of
:mod:`reseller_sync.mappings`; FNAC's folder is ``include/mappings/fnac/``. An
active customer category of a CATCLI list mapped to no tariff alerts. FNAC's
own checks are in :mod:`reseller_sync.fnac.mapping_check`. Importing this
module does not import the box office models.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from reseller_sync.fnac.adapter import RESELLER_TYPE
from reseller_sync.mappings.model import Concept, KindRule, MappingVocabulary
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.mappings.repository import load_mappings as load_mappings_of
from reseller_sync.mappings.repository import load_repository as load_repository_of

if TYPE_CHECKING:
    from reseller_sync.integration.categories import NewCustomerCategories


class MappingKind(StrEnum):
    MANIFESTATION = "manifestation"
    SALLE = "salle"
    BLOC = "bloc"
    TYPE_TARIF = "type_tarif"
    CATEGORIE_CLIENT = "categorie_client"
    ALLOTEMENT = "allotement"


_LETTERS_OR_DIGITS = "letters or digits"

VOCABULARY = MappingVocabulary(
    reseller=RESELLER_TYPE.code,
    rules=(
        KindRule(
            kind=MappingKind.MANIFESTATION,
            concept=Concept.PRODUCT,
            key="manifestation",
            partner_term="manifestation",
            pattern=re.compile(r"[0-9]{6,10}"),
            format_text="6 to 10 digits, e.g. 004512",
            single=True,
        ),
        KindRule(
            kind=MappingKind.SALLE,
            concept=Concept.CONFIGURATION,
            key="salle",
            partner_term="salle",
            pattern=re.compile(r"[A-Za-z0-9]{3,8}"),
            format_text=f"3 to 8 {_LETTERS_OR_DIGITS}",
            single=True,
        ),
        KindRule(
            kind=MappingKind.BLOC,
            concept=Concept.ZONE,
            key="bloc",
            partner_term="bloc",
            pattern=re.compile(r"[A-Za-z0-9]{1,6}"),
            format_text=f"1 to 6 {_LETTERS_OR_DIGITS}",
            single=True,
        ),
        KindRule(
            kind=MappingKind.TYPE_TARIF,
            concept=Concept.CATEGORY,
            key="categories",
            partner_term="type de tarif",
            pattern=re.compile(r"[0-9]{1,2}"),
            format_text="1 or 2 digits",
            single=True,
        ),
        KindRule(
            kind=MappingKind.CATEGORIE_CLIENT,
            concept=Concept.TARIFF,
            key="tariffs",
            partner_term="catégorie de client",
            partner_plural="catégories de client",
            pattern=re.compile(r"0|[1-9][0-9]?"),
            format_text="an integer 0 to 99 without leading zero",
            single=False,
        ),
        KindRule(
            kind=MappingKind.ALLOTEMENT,
            concept=Concept.QUOTA,
            key="quotas",
            partner_term="allotement",
            pattern=re.compile(r"[A-Za-z0-9]{1,6}"),
            format_text=f"1 to 6 {_LETTERS_OR_DIGITS}",
            single=True,
        ),
    ),
    format_reference="spec section 2",
)
"""FNAC's six kinds of mapping, in ``include/mappings/fnac/``."""


def load_repository(directory: Path | str | None = None) -> MappingRepository:
    """FNAC's mapping files (default ``<include>/mappings/fnac/``), faults included."""
    return load_repository_of(VOCABULARY, directory)


def load_mappings(directory: Path | str | None = None) -> MappingRepository:
    """FNAC's mapping files, raising MappingError when any file has a fault."""
    return load_mappings_of(VOCABULARY, directory)


# ---------------------------------------------------------------------- new FNAC categories


def catcli_categories(catcli: pd.DataFrame) -> pd.DataFrame:
    """A CATCLI list in the neutral columns of :mod:`reseller_sync.integration.categories`."""
    active = catcli["actif"].astype("str").str.strip().str.lower().isin(["1", "true"])
    return pd.DataFrame(
        {
            "code": catcli["categorie_client"].astype("str").str.strip(),
            "label": catcli["libelle"].astype("str"),
            "active": active,
            "modified_at": catcli.get("date_modification", pd.NaT),
        },
        index=catcli.index,
    )


def new_customer_categories(
    catcli: pd.DataFrame, repository: MappingRepository | None = None
) -> NewCustomerCategories:
    """The active categories of a CATCLI list (columns categorie_client, libelle, actif)
    that no tariff of any mapping file stands for."""
    from reseller_sync.integration.categories import new_customer_categories as unmapped

    return unmapped(catcli_categories(catcli), repository or load_repository())


def ensure_customer_categories_mapped(
    catcli: pd.DataFrame, repository: MappingRepository | None = None
) -> NewCustomerCategories:
    """:func:`new_customer_categories`, raising MappingError (a mapping alert) when any."""
    return new_customer_categories(catcli, repository).raise_for_faults()
