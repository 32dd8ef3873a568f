"""Ticketnet's mapping vocabulary (``ticketnet-exchange-v1`` section 2), for the neutral
engine of :mod:`reseller_sync.mappings`; Ticketnet's folder is ``include/mappings/ticketnet/``.

A person records four kinds: the seating configuration's venue code, each zone
or block's section (seated) or area (standing), each seat category's price
level, and the price types each tariff stands for (``CE|CSE``: either). The
event and performance identifiers are Ticketnet's own, given by the ACK of the
CATALOG that created them (section 7.4), not written by a person.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

from reseller_sync.mappings.model import Concept, KindRule, MappingVocabulary
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.mappings.repository import load_mappings as load_mappings_of
from reseller_sync.mappings.repository import load_repository as load_repository_of
from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE


class MappingKind(StrEnum):
    VENUE = "venue"
    SECTION = "section"
    PRICE_LEVEL = "price_level"
    PRICE_TYPE = "price_type"


VOCABULARY = MappingVocabulary(
    reseller=RESELLER_TYPE.code,
    rules=(
        KindRule(
            kind=MappingKind.VENUE,
            concept=Concept.CONFIGURATION,
            key="venue_code",
            partner_term="venue code",
            pattern=re.compile(r"[A-Z0-9-]{3,20}"),
            format_text="3 to 20 capital letters, digits or -, e.g. ZENITH-PARIS-A",
            single=True,
        ),
        KindRule(
            kind=MappingKind.SECTION,
            concept=Concept.ZONE,
            key="section",
            partner_term="section or area",
            partner_plural="sections and areas",
            pattern=re.compile(r"[A-Z0-9-]{1,10}"),
            format_text="1 to 10 capital letters, digits or -, e.g. ORCH-A",
            single=True,
        ),
        KindRule(
            kind=MappingKind.PRICE_LEVEL,
            concept=Concept.CATEGORY,
            key="categories",
            partner_term="price level",
            pattern=re.compile(r"[A-Z0-9]{1,4}"),
            format_text="1 to 4 capital letters or digits, e.g. 1 or FO",
            single=True,
        ),
        KindRule(
            kind=MappingKind.PRICE_TYPE,
            concept=Concept.TARIFF,
            key="tariffs",
            partner_term="price type",
            pattern=re.compile(r"[A-Z0-9_]{1,12}"),
            format_text="1 to 12 capital letters, digits or _, e.g. ADULT",
            single=False,
        ),
    ),
    format_reference="section 2",
)
"""Ticketnet's four kinds of mapping, in ``include/mappings/ticketnet/``."""


def load_repository(directory: Path | str | None = None) -> MappingRepository:
    """Ticketnet's mapping files (default ``<include>/mappings/ticketnet/``), faults included."""
    return load_repository_of(VOCABULARY, directory)


def load_mappings(directory: Path | str | None = None) -> MappingRepository:
    """Ticketnet's mapping files, raising MappingError when any file has a fault."""
    return load_mappings_of(VOCABULARY, directory)
