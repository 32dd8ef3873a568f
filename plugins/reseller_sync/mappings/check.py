"""The mapping check: is every entity a product uses at a reseller mapped, once, to valid codes?

With a box-office session the check looks at what the product really uses (its
configuration, the blocks of the reseller's quota, the categories and tariffs
priced among those offered there, its quota codes). Without one it checks the
files alone: formats, alternatives, values claimed twice. A reseller's own
checks come in through :class:`ResellerChecks`, which its adapter supplies.

Every fault names the file to edit and how. :func:`check_mappings` returns the
result; :func:`ensure_mappings` raises MappingError carrying every fault.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Self

from sqlalchemy.orm import Session

from reseller_sync.boxoffice import catalogue
from reseller_sync.config.paths import settings_path, shown_path
from reseller_sync.core.resellers import reseller_type
from reseller_sync.domain.errors import MappingError
from reseller_sync.domain.products import SEATED_KINDS
from reseller_sync.domain.texts import Localized
from reseller_sync.mappings.files import SHARED_PREFIX
from reseller_sync.mappings.model import (
    BLOCKS_KEY,
    CONFIGURATIONS_KEY,
    ZONES_KEY,
    Concept,
    KindRule,
    MappingEntry,
    MappingFault,
    MappingVocabulary,
)
from reseller_sync.mappings.repository import (
    Claim,
    MappingRepository,
    ProductMappings,
    load_repository,
)

if TYPE_CHECKING:
    from reseller_sync.config.settings import InstanceSettings

_SCOPED = (Concept.CATEGORY, Concept.ZONE)
_UNSCOPED = (Concept.CONFIGURATION, Concept.TARIFF, Concept.QUOTA, Concept.CATEGORY)
"""Concepts whose claims are checked within a configuration, and outside any."""


@dataclass(frozen=True)
class ProductCheck:
    product: str
    faults: tuple[MappingFault, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.faults


@dataclass(frozen=True)
class CheckResult:
    """The outcome of the check, product by product, plus faults of the shared files."""

    reseller: str
    """The reseller's name."""
    products: tuple[ProductCheck, ...]
    shared_faults: tuple[MappingFault, ...] = ()
    """Faults of the shared files, or of several products at once."""
    notes: tuple[str, ...] = ()
    used_database: bool = False

    @property
    def faults(self) -> tuple[MappingFault, ...]:
        return self.shared_faults + tuple(f for check in self.products for f in check.faults)

    @property
    def ok(self) -> bool:
        return not self.faults

    def report(self) -> str:
        """A plain-text report for a person: every fault with its fix, then the notes."""
        lines = [f"shared: {len(self.shared_faults)} problem(s)"] if self.shared_faults else []
        lines.extend(f"  {fault}" for fault in self.shared_faults)
        for check in self.products:
            count = len(check.faults)
            lines.append(f"{check.product}: {'OK' if check.ok else f'{count} problem(s)'}")
            lines.extend(f"  {fault}" for fault in check.faults)
            lines.extend(f"  note: {note}" for note in check.notes)
        lines.extend(f"note: {note}" for note in self.notes)
        total = len(self.faults)
        lines.append("All mappings are correct." if self.ok else f"{total} problem(s) to fix.")
        return "\n".join(lines)

    def to_error(self) -> MappingError:
        count = len(self.faults)
        products = ", ".join(check.product for check in self.products if not check.ok)
        return MappingError(
            f"The {self.reseller} mappings have {count} problem{'s' if count > 1 else ''}"
            + (f" (products {products})" if products else ""),
            problems=[fault.to_problem() for fault in self.faults],
            action=Localized(
                fr="Corrigez chaque mapping comme indiqué, puis lancez `python -m reseller_sync "
                "mappings check` et relancez la tâche en échec (Clear).",
                en="Fix each mapping as said, then run `python -m reseller_sync mappings check`"
                " and clear the failed task.",
            ),
        )

    def raise_for_faults(self) -> Self:
        if not self.ok:
            raise self.to_error()
        return self


class ResellerChecks:
    """A reseller's own checks beside the engine's; here, none."""

    def notes(self) -> list[str]:
        """Notes on the whole check, once."""
        return []

    def check_product_file(self, checker: ProductChecker) -> None:
        """The product's own mappings, read from the files (with or without a box office)."""

    def check_tariffs(self, checker: ProductChecker, tariffs: Sequence[str]) -> None:
        """The tariffs the product is priced at, among those offered at the reseller."""


def check_mappings(
    vocabulary: MappingVocabulary,
    settings: InstanceSettings,
    repository: MappingRepository | None = None,
    session: Session | None = None,
    products: Sequence[str] | None = None,
    checks: ResellerChecks | None = None,
) -> CheckResult:
    """Check the mappings of ``products`` (default: every product of the settings).

    Without ``session`` only the files are checked.
    """
    repository = repository if repository is not None else load_repository(vocabulary)
    checks = checks if checks is not None else ResellerChecks()
    name = vocabulary.name
    selected = tuple(products) if products else settings.product_codes
    settings_file = shown_path(settings.source or settings_path(vocabulary.reseller))
    shared_faults: list[MappingFault] = []
    notes: list[str] = []
    product_files = {shown_path(repository.product_file(product)) for product in selected}
    for fault in repository.faults:
        if fault.file in product_files:
            continue  # reported with its product
        if Path(fault.file or "").name.startswith(SHARED_PREFIX) or not products:
            shared_faults.append(fault)
    shared_faults.extend(_product_conflicts(repository, selected))
    if not products:
        unlisted = sorted(set(repository.products) - set(settings.product_codes))
        if unlisted:
            notes.append(
                f"mapping files of products not on sale at {name} in {settings_file}: "
                + ", ".join(unlisted)
            )
    notes.extend(checks.notes())
    results = []
    for product in selected:
        checker = ProductChecker(vocabulary, settings, settings_file, repository, product, checks)
        checker.check(session)
        shared_faults.extend(f for f in checker.shared_faults if f not in shared_faults)
        results.append(ProductCheck(product, tuple(checker.faults), tuple(checker.notes)))
    return CheckResult(
        name, tuple(results), tuple(shared_faults), tuple(notes), session is not None
    )


def ensure_mappings(
    vocabulary: MappingVocabulary,
    settings: InstanceSettings,
    repository: MappingRepository | None = None,
    session: Session | None = None,
    products: Sequence[str] | None = None,
    checks: ResellerChecks | None = None,
) -> CheckResult:
    """:func:`check_mappings`, raising MappingError with every fault when there is one."""
    return check_mappings(
        vocabulary, settings, repository, session, products, checks
    ).raise_for_faults()


def _product_conflicts(
    repository: MappingRepository, products: Iterable[str]
) -> list[MappingFault]:
    """One partner product code claimed by several products, one of them checked."""
    rule = repository.vocabulary.for_concept(Concept.PRODUCT)
    if rule is None:
        return []
    by_code: dict[str, list[MappingEntry]] = defaultdict(list)
    for product in repository.products:
        entry = repository.for_product(product).effective(rule.kind).get(product)
        if entry is not None:
            for value in entry.partner:
                by_code[value].append(entry)
    selected = set(products)
    return [
        MappingFault.at(
            entries[-1].source,
            f"{rule.partner_term} {code} is claimed by products "
            + " and ".join(entry.organiser for entry in entries),
            f"each product has its own {rule.partner_term}: correct the one that is wrong",
            value=code,
        )
        for code, entries in sorted(by_code.items())
        if len(entries) > 1 and selected & {entry.organiser for entry in entries}
    ]


@dataclass
class ProductChecker:
    """The check of one product; :class:`ResellerChecks` add to its faults and notes."""

    vocabulary: MappingVocabulary
    settings: InstanceSettings
    settings_file: str
    repository: MappingRepository
    product: str
    checks: ResellerChecks
    faults: list[MappingFault] = field(default_factory=list)
    shared_faults: list[MappingFault] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _seen_claims: set[tuple[str, str, frozenset[str]]] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.vocabulary.name

    @property
    def mappings(self) -> ProductMappings:
        return self.repository.for_product(self.product)

    @property
    def product_file(self) -> str:
        return shown_path(self.repository.product_file(self.product))

    @property
    def shared_file(self) -> str:
        return shown_path(self.repository.shared_file)

    def fault(self, reason: str, fix: str, file: str | None = None, key: str | None = None) -> None:
        self.faults.append(MappingFault(reason, fix, file, None, key, product=self.product))

    def check(self, session: Session | None) -> None:
        summary = None
        if session is not None:
            summary = catalogue.product_summary(session, self.product)
            if not self._check_sellable(summary):
                return
        self.faults.extend(
            fault for fault in self.repository.faults if fault.file == self.product_file
        )
        self.checks.check_product_file(self)
        if session is None or summary is None:
            for scope in (None, *self.mappings.configurations):
                self._check_ambiguities(scope)
            return
        self._check_box_office(session, summary)

    def _rules(self, concepts: Iterable[Concept]) -> list[KindRule]:
        found = (self.vocabulary.for_concept(concept) for concept in concepts)
        return [rule for rule in found if rule is not None]

    def _check_ambiguities(self, configuration: str | None) -> None:
        for rule in self._rules(_UNSCOPED if configuration is None else _SCOPED):
            for claim in self.mappings.ambiguities(rule.kind, configuration):
                self._claim_fault(claim, f"cannot be told apart when {self.name} sends it")

    def _claim_fault(self, claim: Claim, consequence: str) -> None:
        organisers = frozenset(entry.organiser for entry in claim.entries)
        key = (claim.kind, claim.partner, organisers)
        if key in self._seen_claims:
            return
        self._seen_claims.add(key)
        rule = self.vocabulary.rule(claim.kind)
        last = max(claim.entries, key=lambda entry: (entry.precedence, entry.source.line or 0))
        fault = MappingFault.at(
            last.source,
            f"{self.name} {rule.partner_term} {claim.partner} is claimed by "
            + " and ".join(entry.described for entry in claim.entries)
            + f": it {consequence}",
            f"map each {self.name} {rule.partner_term} to one {rule.organiser_term} only",
            value=claim.partner,
            product=self.product,
        )
        if all(entry.source.shared for entry in claim.entries):
            if fault not in self.shared_faults:
                self.shared_faults.append(
                    MappingFault(fault.reason, fault.fix, fault.file, fault.line, fault.key)
                )
        else:
            self.faults.append(fault)

    # ------------------------------------------------------------------ with the box office

    def _check_sellable(self, summary: catalogue.ProductSummary | None) -> bool:
        """The product exists in the box office and is of a kind the reseller may sell."""
        if summary is None:
            self.fault(
                f"product {self.product} does not exist in the box office",
                f"correct its code under products in {self.settings_file}",
                self.settings_file,
                "products",
            )
            return False
        refusal = reseller_type(self.vocabulary.reseller).refusal_reason(summary.kind)
        if refusal is not None:
            self.fault(
                f"product {self.product} cannot be sold at {self.name}: {refusal}",
                f"remove it from products in {self.settings_file} and from channel "
                f"{self.settings.boxoffice.channel} in the box office",
                self.settings_file,
                "products",
            )
            return False
        return True

    def _check_box_office(self, session: Session, summary: catalogue.ProductSummary) -> None:
        channel = self.settings.boxoffice.channel
        if not catalogue.is_on_channel(session, self.product, channel):
            self.fault(
                f"product {self.product} is not on sale in the box-office channel {channel}",
                f"add it to channel {channel} in the box office, or remove it from "
                f"products in {self.settings_file}",
                self.settings_file,
                "products",
            )
        configuration = summary.configuration
        self._check_ambiguities(None)
        if configuration is not None:
            self._check_ambiguities(configuration)
        quota_codes = catalogue.channel_quota_codes(session, self.product, channel)
        if summary.kind in SEATED_KINDS:
            if configuration is None:
                self.fault(
                    f"product {self.product} is a seated {summary.kind} without a seating "
                    "configuration",
                    "set its configuration in the box office",
                )
            else:
                self._check_configuration(configuration)
                blocks = [
                    block
                    for code in quota_codes
                    for block in catalogue.quota_blocks(session, self.product, code)
                ]
                self._check_blocks(configuration, sorted(set(blocks)))
        self._check_prices(session, configuration)
        self._check_quotas(quota_codes)

    def _check_configuration(self, configuration: str) -> None:
        rule = self.vocabulary.for_concept(Concept.CONFIGURATION)
        if rule is None or configuration in self.mappings.effective(rule.kind):
            return
        self.fault(
            f"configuration {configuration} has no {rule.partner_term}",
            f'add {rule.key}: "<{self.name} code>" to {self.shared_file} under '
            f"{CONFIGURATIONS_KEY}.{configuration}",
            self.shared_file,
            f"{CONFIGURATIONS_KEY}.{configuration}.{rule.key}",
        )

    def _check_blocks(self, configuration: str, blocks: list[catalogue.BlockRef]) -> None:
        rule = self.vocabulary.for_concept(Concept.ZONE)
        if rule is None:
            return
        table = self.mappings.effective(rule.kind, configuration)
        resolving: dict[str, list[MappingEntry]] = defaultdict(list)
        zones = f"{CONFIGURATIONS_KEY}.{configuration}.{ZONES_KEY}"
        for ref in blocks:
            entry = table.get(f"{ref.zone}/{ref.block}") or table.get(ref.zone)
            if entry is None:
                self.fault(
                    f"block {ref.block} (zone {ref.zone}) of configuration {configuration}, in "
                    f"{self.name}'s quota, has no {rule.partner_term}",
                    f"add it to {self.shared_file} under {zones}.{ref.zone}.{BLOCKS_KEY} "
                    f"(or map the whole zone {ref.zone})",
                    self.shared_file,
                    f"{zones}.{ref.zone}",
                )
            elif len(entry.partner) == 1 and entry not in resolving[entry.partner[0]]:
                resolving[entry.partner[0]].append(entry)
        for value, entries in resolving.items():
            if len(entries) > 1:
                self._claim_fault(
                    Claim(rule.kind, value, tuple(entries)),
                    f"is sent for several blocks of {self.name}'s quota",
                )

    def _check_prices(self, session: Session, configuration: str | None) -> None:
        offered = self.settings.tariffs_offered_for(self.product)
        priced = catalogue.priced_combinations(session, self.product, offered)
        if not priced:
            self.fault(
                f"product {self.product} has no price for any tariff offered at {self.name} "
                f"({', '.join(offered)})",
                "price it in the box office, or change tariffs_offered in " + self.settings_file,
                self.settings_file,
            )
            return
        tariffs = sorted({combination.tariff for combination in priced})
        categories = sorted({combination.category for combination in priced})
        if unpriced := [tariff for tariff in offered if tariff not in tariffs]:
            self.notes.append(
                f"tariff(s) {', '.join(unpriced)} offered at {self.name} have no price for "
                f"{self.product}: they will not be on the sale sheet"
            )
        if category := self.vocabulary.for_concept(Concept.CATEGORY):
            self._check_used(
                category,
                categories,
                configuration,
                f" (or under {CONFIGURATIONS_KEY}.{configuration}.{category.key} for this "
                "configuration only)"
                if configuration
                else "",
            )
        if tariff := self.vocabulary.for_concept(Concept.TARIFF):
            self._check_used(tariff, tariffs, None, "")
        self.checks.check_tariffs(self, tariffs)

    def _check_quotas(self, quota_codes: tuple[str, ...]) -> None:
        if not quota_codes:
            self.notes.append(
                f"product {self.product} has no quota in channel {self.settings.boxoffice.channel}"
                f": {self.name} has nothing to sell yet"
            )
            return
        if quota := self.vocabulary.for_concept(Concept.QUOTA):
            self._check_used(quota, list(quota_codes), None, "")

    def _check_used(
        self,
        rule: KindRule,
        organisers: list[str],
        configuration: str | None,
        alternative_place: str,
    ) -> None:
        """Each value used has a mapping; no partner value is shared by two values used."""
        table = self.mappings.effective(rule.kind, configuration)
        claims: dict[str, list[MappingEntry]] = defaultdict(list)
        for organiser in organisers:
            entry = table.get(organiser)
            if entry is None:
                self.fault(
                    f"{rule.organiser_term} {organiser} has no {rule.partner_term}",
                    f"add it to {self.shared_file} under {rule.key}{alternative_place}",
                    self.shared_file,
                    rule.key,
                )
                continue
            for value in entry.partner:
                claims[value].append(entry)
        for value, entries in claims.items():
            if len(entries) > 1:
                self._claim_fault(
                    Claim(rule.kind, value, tuple(entries)), f"is used by product {self.product}"
                )
