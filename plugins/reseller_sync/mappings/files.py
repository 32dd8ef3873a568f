"""Reading mapping files into entries, and every fault of their writing.

A folder of YAML files (``include/mappings/<code>/``): files whose name starts
with ``_`` are shared by every product (``_shared.yaml``); any other
``<PRODUCT>.yaml`` belongs to the product of that code and overrides them. The
keys are the reseller's vocabulary's and the organiser's structure
(``configurations``, ``zones``, ``blocks``). Every scalar is read as the text
written, so ``004512`` keeps its zeros. See docs/configuration.md for the format.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reseller_sync.config.yamlfile import (
    KeyPath,
    YamlDocument,
    YamlFileError,
    format_key_path,
    read_yaml,
)
from reseller_sync.mappings.model import (
    ALTERNATIVE_SEPARATOR,
    BLOCKS_KEY,
    CONFIGURATIONS_KEY,
    SECTION_CONCEPTS,
    ZONES_KEY,
    Concept,
    KindRule,
    MappingEntry,
    MappingFault,
    MappingVocabulary,
    Source,
)

SHARED_PREFIX = "_"
DEFAULT_SHARED_FILE = "_shared.yaml"
MAPPING_SUFFIX = ".yaml"


@dataclass(frozen=True)
class FileLayout:
    """The keys a vocabulary allows at each level of a mapping file."""

    sections: dict[str, KindRule]
    shared_keys: tuple[str, ...]
    product_keys: tuple[str, ...]
    configuration_keys: tuple[str, ...]
    zone_keys: tuple[str, ...]

    @classmethod
    def of(cls, vocabulary: MappingVocabulary) -> FileLayout:
        rule = vocabulary.for_concept
        sections = {found.key: found for c in SECTION_CONCEPTS if (found := rule(c)) is not None}
        product, configuration = rule(Concept.PRODUCT), rule(Concept.CONFIGURATION)
        category, zone = rule(Concept.CATEGORY), rule(Concept.ZONE)
        configuration_keys = tuple(
            key
            for key in (
                configuration.key if configuration else None,
                category.key if category else None,
                ZONES_KEY if zone else None,
            )
            if key is not None
        )
        shared_keys = (*sections, *((CONFIGURATIONS_KEY,) if configuration_keys else ()))
        return cls(
            sections,
            shared_keys,
            (product.key, *shared_keys) if product else shared_keys,
            configuration_keys,
            (zone.key, BLOCKS_KEY) if zone else (),
        )


@dataclass
class ParsedFile:
    """The entries of one file and what is wrong in it."""

    path: Path
    shared: bool
    entries: list[MappingEntry] = field(default_factory=list)
    faults: list[MappingFault] = field(default_factory=list)


def mapping_files(directory: Path) -> tuple[list[Path], list[Path]]:
    """The shared files and the product files of ``directory``, each sorted by name."""
    files = sorted(directory.glob(f"*{MAPPING_SUFFIX}")) if directory.is_dir() else []
    shared = [path for path in files if path.name.startswith(SHARED_PREFIX)]
    products = [path for path in files if not path.name.startswith(SHARED_PREFIX)]
    return shared, products


def parse_file(path: Path, shared: bool, vocabulary: MappingVocabulary) -> ParsedFile:
    parsed = ParsedFile(path, shared)
    try:
        document = read_yaml(path)
    except YamlFileError as error:
        problem = error.problem
        parsed.faults.append(
            MappingFault(problem.reason, "correct the YAML syntax", problem.file, problem.line)
        )
        return parsed
    _Parser(document, parsed, vocabulary).parse()
    return parsed


class _Parser:
    def __init__(
        self, document: YamlDocument, parsed: ParsedFile, vocabulary: MappingVocabulary
    ) -> None:
        self.document = document
        self.parsed = parsed
        self.vocabulary = vocabulary
        self.layout = FileLayout.of(vocabulary)

    def _rule(self, concept: Concept) -> KindRule:
        rule = self.vocabulary.for_concept(concept)
        assert rule is not None, "the layout allows only the keys of the vocabulary's concepts"
        return rule

    def parse(self) -> None:
        for key_path, line in self.document.duplicates:
            self._fault(
                key_path,
                "key written twice (the first one would be silently ignored)",
                "keep one of them",
                line=line,
            )
        data = self.document.text_data()
        if data is None:
            return
        allowed = self.layout.shared_keys if self.parsed.shared else self.layout.product_keys
        for key, value in self._mapping(data, (), allowed):
            if key == CONFIGURATIONS_KEY:
                for configuration, body in self._mapping(value, (key,)):
                    self._configuration(configuration, body, (key, configuration))
            elif (rule := self.layout.sections.get(key)) is not None:
                for organiser, partner in self._mapping(value, (key,)):
                    self._entry(rule, organiser, partner, (key, organiser))
            else:
                self._entry(self._rule(Concept.PRODUCT), self.parsed.path.stem, value, (key,))

    def _configuration(self, configuration: str, body: Any, path: KeyPath) -> None:
        category = self.vocabulary.for_concept(Concept.CATEGORY)
        for key, value in self._mapping(body, path, self.layout.configuration_keys):
            if key == ZONES_KEY:
                for zone, zone_body in self._mapping(value, (*path, key)):
                    self._zone(configuration, zone, zone_body, (*path, key, zone))
            elif category is not None and key == category.key:
                for organiser, partner in self._mapping(value, (*path, key)):
                    self._entry(
                        category,
                        organiser,
                        partner,
                        (*path, key, organiser),
                        configuration=configuration,
                    )
            else:
                self._entry(self._rule(Concept.CONFIGURATION), configuration, value, (*path, key))

    def _zone(self, configuration: str, zone: str, body: Any, path: KeyPath) -> None:
        """A zone is either its value written alone, or that value's key and/or ``blocks``."""
        if not isinstance(body, dict):
            self._block(configuration, zone, None, body, path)
            return
        for key, value in self._mapping(body, path, self.layout.zone_keys):
            if key == BLOCKS_KEY:
                for block, partner in self._mapping(value, (*path, key)):
                    self._block(configuration, zone, block, partner, (*path, key, block))
            else:
                self._block(configuration, zone, None, value, (*path, key))

    def _block(
        self, configuration: str, zone: str, block: str | None, value: Any, path: KeyPath
    ) -> None:
        organiser = f"{zone}/{block}" if block else zone
        self._entry(
            self._rule(Concept.ZONE),
            organiser,
            value,
            path,
            configuration=configuration,
            zone=zone,
            block=block,
        )

    def _entry(
        self,
        rule: KindRule,
        organiser: str,
        value: Any,
        path: KeyPath,
        *,
        configuration: str | None = None,
        zone: str | None = None,
        block: str | None = None,
    ) -> None:
        name = self.vocabulary.name
        source = self._source(path)
        if not isinstance(value, str):
            shape = "nothing" if value is None else "a list or mapping"
            self.parsed.faults.append(
                MappingFault.at(
                    source,
                    f"{rule.organiser_term} {organiser} has {shape} where its {name} "
                    f"{rule.partner_term} is expected",
                    f'write the {name} {rule.partner_term} as text, e.g. {organiser}: "…" '
                    f"({rule.format_text})",
                )
            )
            return
        alternatives = tuple(
            dict.fromkeys(part.strip() for part in value.split(ALTERNATIVE_SEPARATOR))
        )
        reference = self.vocabulary.format_reference
        reference = f", {reference}" if reference else ""
        for alternative in alternatives:
            if not rule.pattern.fullmatch(alternative):
                self.parsed.faults.append(
                    MappingFault.at(
                        source,
                        f"{rule.organiser_term} {organiser}: {alternative!r} is not a valid {name} "
                        f"{rule.partner_term} (expected {rule.format_text}{reference})",
                        f"correct it with the code {name} gave",
                        value=value,
                    )
                )
        if rule.single and len(alternatives) > 1:
            self.parsed.faults.append(
                MappingFault.at(
                    source,
                    f"{rule.organiser_term} {organiser} maps to several {name} "
                    f"{rule.partner_term} values ({value}), but it is sent to {name} and needs "
                    "exactly one",
                    "keep a single value" + self._where_alternatives_go(),
                    value=value,
                )
            )
        self.parsed.entries.append(
            MappingEntry(
                rule.kind,
                rule.concept,
                organiser,
                alternatives,
                source,
                configuration,
                zone,
                block,
            )
        )

    def _where_alternatives_go(self) -> str:
        places = [
            f"the {rule.partner_terms} of a {rule.organiser_term}"
            for rule in self.vocabulary.rules
            if not rule.single
        ]
        if not places:
            return ""
        return f" ('{ALTERNATIVE_SEPARATOR}' alternatives are only for {' and '.join(places)})"

    def _mapping(
        self, value: Any, path: KeyPath, allowed: tuple[str, ...] | None = None
    ) -> Iterator[tuple[str, Any]]:
        """The items of a mapping; a fault for anything else and for unknown keys."""
        if value is None:
            return
        if not isinstance(value, dict):
            self._fault(path, "expected a mapping of keys", "indent its entries as `key: value`")
            return
        for key, item in value.items():
            if allowed is not None and key not in allowed:
                self._fault(
                    (*path, key),
                    f"unknown key {key!r}",
                    f"use one of: {', '.join(allowed)}",
                )
                continue
            yield key, item

    def _source(self, path: KeyPath) -> Source:
        return Source(
            self.parsed.path,
            self.document.line_of(path),
            format_key_path(path),
            self.parsed.shared,
        )

    def _fault(self, path: KeyPath, reason: str, fix: str, line: int | None = None) -> None:
        source = self._source(path)
        if line is not None:
            source = Source(source.file, line, source.key, source.shared)
        self.parsed.faults.append(MappingFault.at(source, reason, fix))
