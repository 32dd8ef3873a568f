"""Correspondences between the organiser's vocabulary and a reseller's, and their check.

The engine is the same for every reseller; each adapter supplies its
:class:`MappingVocabulary`. Importing this package does not import the box
office models; the check does.
"""

from reseller_sync.mappings.model import (
    Concept,
    KindRule,
    MappingEntry,
    MappingFault,
    MappingVocabulary,
)
from reseller_sync.mappings.repository import (
    MappingRepository,
    ProductMappings,
    load_mappings,
    load_repository,
    unresolved,
    unresolved_problems,
)

__all__ = [
    "Concept",
    "KindRule",
    "MappingEntry",
    "MappingFault",
    "MappingRepository",
    "MappingVocabulary",
    "ProductMappings",
    "load_mappings",
    "load_repository",
    "unresolved",
    "unresolved_problems",
]
