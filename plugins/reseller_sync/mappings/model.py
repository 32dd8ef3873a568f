"""What a mapping is: a reseller's vocabulary of kinds, the entries, and their faults.

Organiser words are the box office's (:class:`Concept`: product, configuration,
zone or block, category, tariff, quota). The partner's words, code formats and
file keys are data its adapter supplies as a :class:`MappingVocabulary`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from reseller_sync.config.paths import shown_path
from reseller_sync.domain.errors import Problem

ALTERNATIVE_SEPARATOR = "|"

CONFIGURATIONS_KEY = "configurations"
ZONES_KEY = "zones"
BLOCKS_KEY = "blocks"
STRUCTURE_KEYS = (CONFIGURATIONS_KEY, ZONES_KEY, BLOCKS_KEY)
"""The file keys that are the organiser's structure, not a kind's."""


class Concept(StrEnum):
    """What the organiser maps, in the box office's words (in the files' order)."""

    PRODUCT = "product"
    TARIFF = "tariff"
    CATEGORY = "category"
    QUOTA = "quota"
    CONFIGURATION = "configuration"
    ZONE = "zone"
    """A zone of a configuration, or a block of a zone."""

    @property
    def term(self) -> str:
        """The concept in a message: ``zone or block`` for a zone."""
        return "zone or block" if self is Concept.ZONE else self.value


SECTION_CONCEPTS = (Concept.TARIFF, Concept.CATEGORY, Concept.QUOTA)
"""Concepts written as a section of ``organiser: partner`` pairs, shared or per product."""


@dataclass(frozen=True)
class KindRule:
    """One kind of correspondence: an organiser concept and the partner's term for it."""

    kind: str
    """The kind's name in code (``type_tarif``)."""
    concept: Concept
    key: str
    """The file key it is written under: a section (``categories``), or for a product,
    a configuration or a zone, the key of its single value (``salle``)."""
    partner_term: str
    pattern: re.Pattern[str]
    format_text: str
    single: bool
    """True when the organiser value goes out to the partner: exactly one value, no ``|``."""
    partner_plural: str = ""

    @property
    def organiser_term(self) -> str:
        return self.concept.term

    @property
    def partner_terms(self) -> str:
        return self.partner_plural or f"{self.partner_term} values"


@dataclass(frozen=True)
class MappingVocabulary:
    """A reseller type's kinds of mapping, at most one per concept; supplied by its adapter."""

    reseller: str
    """The reseller type's code: its mapping folder, and its name in messages."""
    rules: tuple[KindRule, ...]
    format_reference: str = ""
    """Where the contract defines the formats, quoted in a format fault."""

    def __post_init__(self) -> None:
        problems = []
        for what, values in (
            ("kind", [rule.kind for rule in self.rules]),
            ("concept", [rule.concept for rule in self.rules]),
            ("key", [rule.key for rule in self.rules]),
        ):
            if len(set(values)) != len(values):
                problems.append(f"a {what} has two rules")
        keys = {rule.key for rule in self.rules}
        if clash := keys & set(STRUCTURE_KEYS):
            problems.append(f"keys {sorted(clash)} are the files' structure")
        if problems:
            raise ValueError(f"mapping vocabulary of {self.reseller!r}: " + "; ".join(problems))

    @property
    def name(self) -> str:
        """How people call the reseller: its type's name."""
        from reseller_sync.core.resellers import reseller_type

        return reseller_type(self.reseller).name

    def rule(self, kind: str) -> KindRule:
        for rule in self.rules:
            if rule.kind == kind:
                return rule
        raise KeyError(f"{self.reseller} maps no kind {kind!r}")

    def for_concept(self, concept: Concept) -> KindRule | None:
        """The rule of the kind standing for ``concept``, if the reseller maps it."""
        return next((rule for rule in self.rules if rule.concept is concept), None)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(rule.kind for rule in self.rules)


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
    """One organiser value and the partner value(s) it stands for.

    ``configuration`` is set for what belongs to one seating configuration (its
    specific categories, its zones); the configuration's own value is keyed by
    the configuration's code itself. For a zone or block, ``zone`` is set and
    ``block`` is None when the whole zone maps to one value.
    """

    kind: str
    concept: Concept
    organiser: str
    partner: tuple[str, ...]
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
        """The organiser value in words: ``category VIRAGE (configuration STADE-MATCH only)``."""
        if self.concept is Concept.ZONE:
            what = f"block {self.block} (zone {self.zone})" if self.block else f"zone {self.zone}"
            return f"{what} of configuration {self.configuration}"
        scope = f" (configuration {self.configuration} only)" if self.configuration else ""
        return f"{self.concept.term} {self.organiser}{scope}"


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
