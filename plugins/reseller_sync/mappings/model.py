"""What a mapping is: the six kinds of correspondence, their FNAC formats, and faults.

Organiser words are the box office's (product, configuration, zone, block,
category, tariff, quota); FNAC words are the spec's (manifestation, salle, bloc,
type de tarif, catégorie de client, allotement), section 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from reseller_sync.config.paths import shown_path
from reseller_sync.domain.errors import Problem

ALTERNATIVE_SEPARATOR = "|"


class MappingKind(StrEnum):
    MANIFESTATION = "manifestation"
    SALLE = "salle"
    BLOC = "bloc"
    TYPE_TARIF = "type_tarif"
    CATEGORIE_CLIENT = "categorie_client"
    ALLOTEMENT = "allotement"


@dataclass(frozen=True)
class KindRule:
    organiser_term: str
    fnac_term: str
    pattern: re.Pattern[str]
    format_text: str
    single: bool
    """True when the organiser value goes out to FNAC: exactly one FNAC value, no ``|``."""


RULES: dict[MappingKind, KindRule] = {
    MappingKind.MANIFESTATION: KindRule(
        "product", "manifestation", re.compile(r"[0-9]{6,10}"), "6 to 10 digits, e.g. 004512", True
    ),
    MappingKind.SALLE: KindRule(
        "configuration", "salle", re.compile(r"[A-Za-z0-9]{3,8}"), "3 to 8 letters or digits", True
    ),
    MappingKind.BLOC: KindRule(
        "zone or block", "bloc", re.compile(r"[A-Za-z0-9]{1,6}"), "1 to 6 letters or digits", True
    ),
    MappingKind.TYPE_TARIF: KindRule(
        "category", "type de tarif", re.compile(r"[0-9]{1,2}"), "1 or 2 digits", True
    ),
    MappingKind.CATEGORIE_CLIENT: KindRule(
        "tariff",
        "catégorie de client",
        re.compile(r"0|[1-9][0-9]?"),
        "an integer 0 to 99 without leading zero",
        False,
    ),
    MappingKind.ALLOTEMENT: KindRule(
        "quota", "allotement", re.compile(r"[A-Za-z0-9]{1,6}"), "1 to 6 letters or digits", True
    ),
}


@dataclass(frozen=True)
class Source:
    """Where a mapping is written."""

    file: Path
    line: int | None
    key: str
    """The key path in the file, e.g. ``configurations.STADE-MATCH.categories.VIRAGE``."""
    shared: bool


@dataclass(frozen=True)
class MappingEntry:
    """One organiser value and the FNAC value(s) it stands for.

    ``configuration`` is set for what belongs to one seating configuration (its
    specific categories, its blocs); the salle of a configuration is keyed by
    the configuration's code itself. For a bloc, ``zone`` is set and ``block``
    is None when the whole zone maps to the bloc.
    """

    kind: MappingKind
    organiser: str
    fnac: tuple[str, ...]
    source: Source
    configuration: str | None = None
    zone: str | None = None
    block: str | None = None

    @property
    def precedence(self) -> int:
        """Higher wins: configuration-specific over generic, then product file over shared."""
        return 2 * (self.configuration is not None) + (not self.source.shared)

    @property
    def described(self) -> str:
        """The organiser value in words: ``category VIRAGE (configuration STADE-MATCH)``."""
        if self.kind is MappingKind.BLOC:
            what = f"block {self.block} (zone {self.zone})" if self.block else f"zone {self.zone}"
            return f"{what} of configuration {self.configuration}"
        term = RULES[self.kind].organiser_term
        scope = f" (configuration {self.configuration} only)" if self.configuration else ""
        return f"{term} {self.organiser}{scope}"


@dataclass(frozen=True)
class MappingFault:
    """One thing wrong with the mappings, and how to fix it."""

    reason: str
    fix: str
    file: str | None = None
    """The file to edit (shown relative to the project when inside it)."""
    line: int | None = None
    key: str | None = None
    value: str | None = None
    product: str | None = None

    def __str__(self) -> str:
        where = ":".join(str(part) for part in (self.file, self.line) if part is not None)
        key = f" [{self.key}]" if self.key else ""
        prefix = f"{where}{key}: " if where else ""
        return f"{prefix}{self.reason}: {self.fix}"

    def to_problem(self) -> Problem:
        return Problem(
            f"{self.reason}: {self.fix}",
            file=self.file,
            line=self.line,
            column=self.key,
            value=self.value,
        )

    @classmethod
    def at(
        cls,
        source: Source,
        reason: str,
        fix: str,
        value: str | None = None,
        product: str | None = None,
    ) -> MappingFault:
        return cls(reason, fix, shown_path(source.file), source.line, source.key, value, product)
