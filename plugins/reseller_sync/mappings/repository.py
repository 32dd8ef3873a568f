"""The mappings of every product, and resolution both ways on pandas Series.

Precedence, for what goes to FNAC: a configuration-specific mapping wins over
a generic one, and a product file wins over the shared files. For what comes
back, the FNAC value is read against the same effective table; when several
organiser values claim it, the most specific claim wins, and a tie is
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
from reseller_sync.fnac.adapter import RESELLER_TYPE as FNAC
from reseller_sync.mappings.files import (
    DEFAULT_SHARED_FILE,
    MAPPING_SUFFIX,
    mapping_files,
    parse_file,
)
from reseller_sync.mappings.model import RULES, MappingEntry, MappingFault, MappingKind

_KEY_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class Claim:
    """Several organiser values that claim one FNAC value in one scope."""

    kind: MappingKind
    fnac: str
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

    @property
    def manifestation(self) -> str | None:
        """The product's single FNAC manifestation code, when mapped to exactly one."""
        entry = self.effective(MappingKind.MANIFESTATION).get(self.product)
        return entry.fnac[0] if entry is not None and len(entry.fnac) == 1 else None

    @property
    def configurations(self) -> tuple[str, ...]:
        """Every configuration the mappings mention (salle, specific categories, blocs)."""
        found = {entry.configuration for entry in self.entries if entry.configuration}
        found |= {entry.organiser for entry in self.entries if entry.kind is MappingKind.SALLE}
        return tuple(sorted(found))

    def effective(
        self, kind: MappingKind, configuration: str | None = None
    ) -> dict[str, MappingEntry]:
        """Organiser value → the entry that applies, in ``configuration``'s scope."""
        candidates = [
            entry
            for entry in self.entries
            if entry.kind is kind and entry.configuration in (None, configuration)
        ]
        candidates.sort(key=lambda entry: entry.precedence)
        return {entry.organiser: entry for entry in candidates}

    def outbound_table(self, kind: MappingKind, configuration: str | None = None) -> dict[str, str]:
        """Organiser value → its single FNAC value (entries with alternatives are left out)."""
        return {
            organiser: entry.fnac[0]
            for organiser, entry in self.effective(kind, configuration).items()
            if len(entry.fnac) == 1
        }

    def claims(self, kind: MappingKind, configuration: str | None = None) -> list[Claim]:
        """FNAC values that several organiser values claim, grouped with their claimants."""
        by_value: dict[str, list[MappingEntry]] = defaultdict(list)
        for entry in self.effective(kind, configuration).values():
            for value in entry.fnac:
                by_value[value].append(entry)
        return [
            Claim(kind, value, tuple(entries))
            for value, entries in by_value.items()
            if len(entries) > 1
        ]

    def ambiguities(self, kind: MappingKind, configuration: str | None = None) -> list[Claim]:
        """Claims that cannot be told apart: a tie between the most specific claimants."""
        return [
            claim for claim in self.claims(kind, configuration) if len(_winners(claim.entries)) > 1
        ]

    def inbound_table(
        self, kind: MappingKind, configuration: str | None = None
    ) -> dict[str, MappingEntry]:
        """FNAC value → the organiser entry it stands for (ambiguous values are left out)."""
        by_value: dict[str, list[MappingEntry]] = defaultdict(list)
        for entry in self.effective(kind, configuration).values():
            for value in entry.fnac:
                by_value[value].append(entry)
        table = {}
        for value, entries in by_value.items():
            winners = _winners(entries)
            if len(winners) == 1:
                table[value] = winners[0]
        return table

    def to_fnac(
        self, kind: MappingKind, values: pd.Series, configuration: str | None = None
    ) -> pd.Series:
        """Organiser values → FNAC values (NA where unmapped, or mapped to several)."""
        if kind is MappingKind.BLOC:
            raise ValueError("blocs depend on zone and block: use bloc_to_fnac")
        return _lookup(values, self.outbound_table(kind, configuration))

    def bloc_to_fnac(self, zones: pd.Series, blocks: pd.Series, configuration: str) -> pd.Series:
        """(zone, block) → bloc: the block's own bloc, else its zone's."""
        table = self.outbound_table(MappingKind.BLOC, configuration)
        by_block = {key.replace("/", _KEY_SEPARATOR): v for key, v in table.items() if "/" in key}
        by_zone = {key: value for key, value in table.items() if "/" not in key}
        keys = zones.astype("str").str.cat(blocks.astype("str"), sep=_KEY_SEPARATOR)
        return _lookup(keys, by_block).fillna(_lookup(zones, by_zone))

    def from_fnac(
        self, kind: MappingKind, values: pd.Series, configuration: str | None = None
    ) -> pd.Series:
        """FNAC values → organiser values; any alternative of ``a|b`` resolves."""
        if kind is MappingKind.BLOC:
            raise ValueError("a bloc resolves to a zone and a block: use bloc_from_fnac")
        table = {
            fnac: entry.organiser for fnac, entry in self.inbound_table(kind, configuration).items()
        }
        return _lookup(values, table)

    def bloc_from_fnac(self, values: pd.Series, configuration: str) -> pd.DataFrame:
        """Blocs → columns ``zone`` and ``block`` (block NA when the bloc stands for a zone)."""
        table = self.inbound_table(MappingKind.BLOC, configuration)
        zones = {fnac: entry.zone for fnac, entry in table.items()}
        blocks = {fnac: entry.block for fnac, entry in table.items() if entry.block}
        return pd.DataFrame({"zone": _lookup(values, zones), "block": _lookup(values, blocks)})


def _winners(entries: Iterable[MappingEntry]) -> list[MappingEntry]:
    """The most specific of the entries claiming one value, a block giving way to its zone."""
    entries = list(entries)
    zones = {entry.zone for entry in entries if entry.kind is MappingKind.BLOC and not entry.block}
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
    kind: MappingKind,
    values: pd.Series,
    resolved: pd.Series,
    *,
    product: str,
    inbound: bool,
    file: str | None = None,
    column: str | None = None,
) -> list[Problem]:
    """One mapping problem per unresolved value, at its line (the Series' index)."""
    rule = RULES[kind]
    if inbound:
        reason = f"FNAC {rule.fnac_term} maps to no {rule.organiser_term} of product {product}"
    else:
        reason = f"{rule.organiser_term} of product {product} has no FNAC {rule.fnac_term}"
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
    """Syntax, unknown keys, FNAC formats, outbound alternatives, keys written twice."""

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
            product, self.shared_entries + own, self.product_file(product), self.shared_file
        )

    def manifestations(self) -> dict[str, str]:
        """FNAC manifestation → product, for products mapped to exactly one."""
        found = {}
        for product in self.product_entries:
            manifestation = self.for_product(product).manifestation
            if manifestation is not None:
                found[manifestation] = product
        return found

    def products_for_manifestations(self, values: pd.Series) -> pd.Series:
        """FNAC manifestation codes → product codes (NA when no product has it)."""
        return _lookup(values, self.manifestations())

    def mapped_customer_categories(self) -> frozenset[str]:
        """Every FNAC catégorie de client that some tariff of some file maps to."""
        entries = [*self.shared_entries, *(e for es in self.product_entries.values() for e in es)]
        return frozenset(
            value
            for entry in entries
            if entry.kind is MappingKind.CATEGORIE_CLIENT
            for value in entry.fnac
        )


def load_repository(directory: Path | str | None = None) -> MappingRepository:
    """Read every mapping file of ``directory`` (default FNAC's, ``<include>/mappings/fnac/``).

    Never raises for what the files say: their faults are in ``faults``.
    """
    directory = Path(directory) if directory is not None else mappings_dir(FNAC.code)
    shared_paths, product_paths = mapping_files(directory)
    faults: list[MappingFault] = []
    shared_entries: list[MappingEntry] = []
    for path in shared_paths:
        parsed = parse_file(path, shared=True)
        faults.extend(parsed.faults)
        shared_entries.extend(parsed.entries)
    faults.extend(_defined_twice(shared_entries))
    product_entries = {}
    for path in product_paths:
        parsed = parse_file(path, shared=False)
        faults.extend(parsed.faults)
        product_entries[path.stem] = tuple(parsed.entries)
    return MappingRepository(directory, tuple(shared_entries), product_entries, tuple(faults))


def load_mappings(directory: Path | str | None = None) -> MappingRepository:
    """Like :func:`load_repository`, raising MappingError when any file has a fault."""
    repository = load_repository(directory)
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
