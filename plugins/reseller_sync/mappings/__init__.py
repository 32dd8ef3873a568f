"""Correspondences between the organiser's vocabulary and FNAC's, and their check.

Importing this package does not import the box office models; the check does.
"""

from reseller_sync.mappings.model import MappingEntry, MappingFault, MappingKind
from reseller_sync.mappings.repository import (
    MappingRepository,
    ProductMappings,
    load_mappings,
    load_repository,
    unresolved,
    unresolved_problems,
)

__all__ = [
    "MappingEntry",
    "MappingFault",
    "MappingKind",
    "MappingRepository",
    "ProductMappings",
    "load_mappings",
    "load_repository",
    "unresolved",
    "unresolved_problems",
]
