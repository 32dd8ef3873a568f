"""Reading mapping files into entries, and every fault of their writing.

A folder of YAML files (``include/mappings/fnac/`` by default): files whose name
starts with ``_`` are shared by every product (``_shared.yaml``); any other
``<PRODUCT>.yaml`` belongs to the product of that code and overrides them.
Every scalar is read as the text written, so ``004512`` keeps its zeros.
See docs/configuration.md for the format.
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
    RULES,
    MappingEntry,
    MappingFault,
    MappingKind,
    Source,
)

SHARED_PREFIX = "_"
DEFAULT_SHARED_FILE = "_shared.yaml"
MAPPING_SUFFIX = ".yaml"

SECTION_KINDS = {
    "tariffs": MappingKind.CATEGORIE_CLIENT,
    "categories": MappingKind.TYPE_TARIF,
    "quotas": MappingKind.ALLOTEMENT,
}
SHARED_KEYS = (*SECTION_KINDS, "configurations")
PRODUCT_KEYS = ("manifestation", *SHARED_KEYS)
CONFIGURATION_KEYS = ("salle", "categories", "zones")
ZONE_KEYS = ("bloc", "blocks")


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


def parse_file(path: Path, shared: bool) -> ParsedFile:
    parsed = ParsedFile(path, shared)
    try:
        document = read_yaml(path)
    except YamlFileError as error:
        problem = error.problem
        parsed.faults.append(
            MappingFault(problem.reason, "correct the YAML syntax", problem.file, problem.line)
        )
        return parsed
    _Parser(document, parsed).parse()
    return parsed


class _Parser:
    def __init__(self, document: YamlDocument, parsed: ParsedFile) -> None:
        self.document = document
        self.parsed = parsed

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
        allowed = SHARED_KEYS if self.parsed.shared else PRODUCT_KEYS
        for key, value in self._mapping(data, (), allowed):
            if key == "manifestation":
                self._entry(MappingKind.MANIFESTATION, self.parsed.path.stem, value, (key,))
            elif key == "configurations":
                for configuration, body in self._mapping(value, (key,)):
                    self._configuration(configuration, body, (key, configuration))
            else:
                for organiser, fnac in self._mapping(value, (key,)):
                    self._entry(SECTION_KINDS[key], organiser, fnac, (key, organiser))

    def _configuration(self, configuration: str, body: Any, path: KeyPath) -> None:
        for key, value in self._mapping(body, path, CONFIGURATION_KEYS):
            if key == "salle":
                self._entry(MappingKind.SALLE, configuration, value, (*path, key))
            elif key == "categories":
                for category, fnac in self._mapping(value, (*path, key)):
                    self._entry(
                        MappingKind.TYPE_TARIF,
                        category,
                        fnac,
                        (*path, key, category),
                        configuration=configuration,
                    )
            else:
                for zone, zone_body in self._mapping(value, (*path, key)):
                    self._zone(configuration, zone, zone_body, (*path, key, zone))

    def _zone(self, configuration: str, zone: str, body: Any, path: KeyPath) -> None:
        """A zone is either its bloc written alone, or ``bloc`` and/or ``blocks``."""
        if not isinstance(body, dict):
            self._bloc(configuration, zone, None, body, path)
            return
        for key, value in self._mapping(body, path, ZONE_KEYS):
            if key == "bloc":
                self._bloc(configuration, zone, None, value, (*path, key))
            else:
                for block, fnac in self._mapping(value, (*path, key)):
                    self._bloc(configuration, zone, block, fnac, (*path, key, block))

    def _bloc(
        self, configuration: str, zone: str, block: str | None, value: Any, path: KeyPath
    ) -> None:
        organiser = f"{zone}/{block}" if block else zone
        self._entry(
            MappingKind.BLOC,
            organiser,
            value,
            path,
            configuration=configuration,
            zone=zone,
            block=block,
        )

    def _entry(
        self,
        kind: MappingKind,
        organiser: str,
        value: Any,
        path: KeyPath,
        *,
        configuration: str | None = None,
        zone: str | None = None,
        block: str | None = None,
    ) -> None:
        rule = RULES[kind]
        source = self._source(path)
        if not isinstance(value, str):
            shape = "nothing" if value is None else "a list or mapping"
            self.parsed.faults.append(
                MappingFault.at(
                    source,
                    f"{rule.organiser_term} {organiser} has {shape} where its FNAC "
                    f"{rule.fnac_term} is expected",
                    f'write the FNAC {rule.fnac_term} as text, e.g. {organiser}: "…" '
                    f"({rule.format_text})",
                )
            )
            return
        alternatives = tuple(dict.fromkeys(part.strip() for part in value.split("|")))
        for alternative in alternatives:
            if not rule.pattern.fullmatch(alternative):
                self.parsed.faults.append(
                    MappingFault.at(
                        source,
                        f"{rule.organiser_term} {organiser}: {alternative!r} is not a valid FNAC "
                        f"{rule.fnac_term} (expected {rule.format_text}, spec section 2)",
                        "correct it with the code FNAC gave",
                        value=value,
                    )
                )
        if rule.single and len(alternatives) > 1:
            self.parsed.faults.append(
                MappingFault.at(
                    source,
                    f"{rule.organiser_term} {organiser} maps to several FNAC {rule.fnac_term} "
                    f"values ({value}), but it is sent to FNAC and needs exactly one",
                    f"keep a single value ('{ALTERNATIVE_SEPARATOR}' alternatives are only "
                    "for the catégories de client of a tariff)",
                    value=value,
                )
            )
        self.parsed.entries.append(
            MappingEntry(kind, organiser, alternatives, source, configuration, zone, block)
        )

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
