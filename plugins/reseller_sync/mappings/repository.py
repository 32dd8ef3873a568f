"""The mappings of every product, and resolution both ways on pandas Series.

Precedence, for what goes to the partner: a configuration-specific mapping wins
over a generic one, and a product file wins over the shared files. For what
comes back, the partner's value is read against the same effective table; when
several organiser values claim it, the most specific claim wins, and a tie is
ambiguous (the value stays unresolved and the mapping check reports it).

Resolution is vectorised: a Series in, a Series out with the same index,
missing (NA) where nothing matched; :func:`unresolved` lists those values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reseller_sync.config.paths import mappings_dir, shown_path
from reseller_sync.domain.errors import MappingError, Problem
from reseller_sync.mappings.files import (
    DEFAULT_SHARED_FILE,
    MAPPING_SUFFIX,
    mapping_files,
    parse_file,
)
from reseller_sync.mappings.model import (
    Concept,
    MappingEntry,
    MappingFault,
    MappingVocabulary,
)

_KEY_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class Claim:
    """Several organiser values that claim one partner value in one scope."""

    kind: str
    partner: str
    entries: tuple[MappingEntry, ...]


@dataclass(frozen=True)
class ProductMappings:
    """The mappings that apply to one product: the shared files, then its own file."""

    product: str
    entries: tuple[MappingEntry, ...]
    file: Path
    """The product's own mapping file (it may not exist)."""
    shared_file: Path
    """The shared file in which to add values used by many products."""
    vocabulary: MappingVocabulary

    @property
    def partner_product(self) -> str | None:
        """The product's single partner code, when mapped to exactly one."""
        rule = self.vocabulary.for_concept(Concept.PRODUCT)
        entry = self.effective(rule.kind).get(self.product) if rule is not None else None
        return entry.partner[0] if entry is not None and len(entry.partner) == 1 else None

    @property
    def configurations(self) -> tuple[str, ...]:
        """Every configuration the mappings mention (its own value, categories, zones)."""
        found = {entry.configuration for entry in self.entries if entry.configuration}
        found |= {
            entry.organiser for entry in self.entries if entry.concept is Concept.CONFIGURATION
        }
        return tuple(sorted(found))

    def effective(self, kind: str, configuration: str | None = None) -> dict[str, MappingEntry]:
        """Organiser value → the entry that applies, in ``configuration``'s scope."""
        candidates = [
            entry
            for entry in self.entries
            if entry.kind == kind and entry.configuration in (None, configuration)
        ]
        candidates.sort(key=lambda entry: entry.precedence)
        return {entry.organiser: entry for entry in candidates}

    def outbound_table(self, kind: str, configuration: str | None = None) -> dict[str, str]:
        """Organiser value → its single partner value (entries with alternatives are left out)."""
        return {
            organiser: entry.partner[0]
            for organiser, entry in self.effective(kind, configuration).items()
            if len(entry.partner) == 1
        }

    def claims(self, kind: str, configuration: str | None = None) -> list[Claim]:
        """Partner values that several organiser values claim, grouped with their claimants."""
        by_value: dict[str, list[MappingEntry]] = defaultdict(list)
        for entry in self.effective(kind, configuration).values():
            for value in entry.partner:
                by_value[value].append(entry)
        return [
            Claim(kind, value, tuple(entries))
            for value, entries in by_value.items()
            if len(entries) > 1
        ]

    def ambiguities(self, kind: str, configuration: str | None = None) -> list[Claim]:
        """Claims that cannot be told apart: a tie between the most specific claimants."""
        return [
            claim for claim in self.claims(kind, configuration) if len(_winners(claim.entries)) > 1
        ]

    def inbound_table(self, kind: str, configuration: str | None = None) -> dict[str, MappingEntry]:
        """Partner value → the organiser entry it stands for (ambiguous values are left out)."""
        by_value: dict[str, list[MappingEntry]] = defaultdict(list)
        for entry in self.effective(kind, configuration).values():
            for value in entry.partner:
                by_value[value].append(entry)
        table = {}
        for value, entries in by_value.items():
            winners = _winners(entries)
            if len(winners) == 1:
                table[value] = winners[0]
        return table

    def to_partner(
        self, kind: str, values: pd.Series, configuration: str | None = None
    ) -> pd.Series:
        """Organiser values → partner values (NA where unmapped, or mapped to several)."""
        if self.vocabulary.rule(kind).concept is Concept.ZONE:
            raise ValueError("zones and blocks are mapped together: use bloc_to_partner")
        return _lookup(values, self.outbound_table(kind, configuration))

    def bloc_to_partner(self, zones: pd.Series, blocks: pd.Series, configuration: str) -> pd.Series:
        """(zone, block) → partner value: the block's own, else its zone's."""
        table = self.outbound_table(self._zone_kind, configuration)
        by_block = {key.replace("/", _KEY_SEPARATOR): v for key, v in table.items() if "/" in key}
        by_zone = {key: value for key, value in table.items() if "/" not in key}
        keys = zones.astype("str").str.cat(blocks.astype("str"), sep=_KEY_SEPARATOR)
        return _lookup(keys, by_block).fillna(_lookup(zones, by_zone))

    def from_partner(
        self, kind: str, values: pd.Series, configuration: str | None = None
    ) -> pd.Series:
        """Partner values → organiser values; any alternative of ``a|b`` resolves."""
        if self.vocabulary.rule(kind).concept is Concept.ZONE:
            raise ValueError("a zone's value resolves to a zone and a block: use bloc_from_partner")
        table = {
            value: entry.organiser
            for value, entry in self.inbound_table(kind, configuration).items()
        }
        return _lookup(values, table)

    def bloc_from_partner(self, values: pd.Series, configuration: str) -> pd.DataFrame:
        """Partner values → columns ``zone`` and ``block`` (block NA for a whole zone)."""
        table = self.inbound_table(self._zone_kind, configuration)
        zones = {value: entry.zone for value, entry in table.items()}
        blocks = {value: entry.block for value, entry in table.items() if entry.block}
        return pd.DataFrame({"zone": _lookup(values, zones), "block": _lookup(values, blocks)})

    @property
    def _zone_kind(self) -> str:
        rule = self.vocabulary.for_concept(Concept.ZONE)
        if rule is None:
            raise ValueError(f"{self.vocabulary.name} maps no zone or block")
        return rule.kind


def _winners(entries: Iterable[MappingEntry]) -> list[MappingEntry]:
    """The most specific of the entries claiming one value, a block giving way to its zone."""
    entries = list(entries)
    zones = {entry.zone for entry in entries if entry.concept is Concept.ZONE and not entry.block}
    entries = [entry for entry in entries if not (entry.block and entry.zone in zones)]
    top = max(entry.precedence for entry in entries)
    return [entry for entry in entries if entry.precedence == top]


def _lookup(values: pd.Series, table: Mapping[str, str | None]) -> pd.Series:
    """Vectorised dictionary lookup keeping the index; NA where the key is unknown."""
    return values.map(dict(table)).astype("str")


def unresolved(values: pd.Series, resolved: pd.Series) -> pd.Series:
    """The values that were given but did not resolve, with their index (line numbers)."""
    return values[resolved.isna() & values.notna()]


def unresolved_problems(
    vocabulary: MappingVocabulary,
    kind: str,
    values: pd.Series,
    resolved: pd.Series,
    *,
    product: str,
    inbound: bool,
    file: str | None = None,
    column: str | None = None,
) -> list[Problem]:
    """One mapping problem per unresolved value, at its line (the Series' index)."""
    rule, name = vocabulary.rule(kind), vocabulary.name
    if inbound:
        reason = f"{name} {rule.partner_term} maps to no {rule.organiser_term} of product {product}"
    else:
        reason = f"{rule.organiser_term} of product {product} has no {name} {rule.partner_term}"
    missing = unresolved(values, resolved)
    return [
        Problem(
            reason,
            file=file,
            line=int(line) if isinstance(line, int) else None,
            column=column,
            value=str(value),
        )
        for line, value in missing.items()
    ]


@dataclass(frozen=True)
class MappingRepository:
    """Every mapping file of a folder, parsed, with the faults of their writing."""

    directory: Path
    shared_entries: tuple[MappingEntry, ...]
    product_entries: Mapping[str, tuple[MappingEntry, ...]]
    faults: tuple[MappingFault, ...]
    """Syntax, unknown keys, partner formats, outbound alternatives, keys written twice."""
    vocabulary: MappingVocabulary

    @property
    def shared_file(self) -> Path:
        return self.directory / DEFAULT_SHARED_FILE

    @property
    def products(self) -> tuple[str, ...]:
        return tuple(sorted(self.product_entries))

    def product_file(self, product: str) -> Path:
        return self.directory / f"{product}{MAPPING_SUFFIX}"

    def has_product(self, product: str) -> bool:
        return product in self.product_entries

    def for_product(self, product: str) -> ProductMappings:
        own = self.product_entries.get(product, ())
        return ProductMappings(
            product,
            self.shared_entries + own,
            self.product_file(product),
            self.shared_file,
            self.vocabulary,
        )

    def partner_products(self) -> dict[str, str]:
        """Partner product code → product, for products mapped to exactly one."""
        found = {}
        for product in self.product_entries:
            code = self.for_product(product).partner_product
            if code is not None:
                found[code] = product
        return found

    def products_from_partner(self, values: pd.Series) -> pd.Series:
        """Partner product codes → product codes (NA when no product has it)."""
        return _lookup(values, self.partner_products())

    def partner_values(self, kind: str) -> frozenset[str]:
        """Every partner value that some organiser value of some file maps to."""
        entries = [*self.shared_entries, *(e for es in self.product_entries.values() for e in es)]
        return frozenset(
            value for entry in entries if entry.kind == kind for value in entry.partner
        )


def load_repository(
    vocabulary: MappingVocabulary, directory: Path | str | None = None
) -> MappingRepository:
    """Read every mapping file of ``directory`` (default the reseller's,
    ``<include>/mappings/<code>/``).

    Never raises for what the files say: their faults are in ``faults``.
    """
    directory = Path(directory) if directory is not None else mappings_dir(vocabulary.reseller)
    shared_paths, product_paths = mapping_files(directory)
    faults: list[MappingFault] = []
    shared_entries: list[MappingEntry] = []
    for path in shared_paths:
        parsed = parse_file(path, True, vocabulary)
        faults.extend(parsed.faults)
        shared_entries.extend(parsed.entries)
    faults.extend(_defined_twice(shared_entries))
    product_entries = {}
    for path in product_paths:
        parsed = parse_file(path, False, vocabulary)
        faults.extend(parsed.faults)
        product_entries[path.stem] = tuple(parsed.entries)
    return MappingRepository(
        directory, tuple(shared_entries), product_entries, tuple(faults), vocabulary
    )


def load_mappings(
    vocabulary: MappingVocabulary, directory: Path | str | None = None
) -> MappingRepository:
    """Like :func:`load_repository`, raising MappingError when any file has a fault."""
    repository = load_repository(vocabulary, directory)
    if repository.faults:
        count = len(repository.faults)
        raise MappingError(
            f"The mapping files in {shown_path(repository.directory)} have {count} "
            f"fault{'s' if count > 1 else ''}",
            problems=[fault.to_problem() for fault in repository.faults],
            file=shown_path(repository.directory),
        )
    return repository


def _defined_twice(entries: list[MappingEntry]) -> list[MappingFault]:
    """The same organiser value mapped in two shared files: which one wins is unclear."""
    first: dict[tuple[object, ...], MappingEntry] = {}
    faults = []
    for entry in entries:
        key = (entry.kind, entry.organiser, entry.configuration)
        if key not in first:
            first[key] = entry
            continue
        earlier = first[key]
        if earlier.source.file == entry.source.file:
            continue
        faults.append(
            MappingFault.at(
                entry.source,
                f"{entry.described} is mapped in two shared files (also in "
                f"{shown_path(earlier.source.file)}, line {earlier.source.line})",
                "keep it in one shared file only",
            )
        )
    return faults
