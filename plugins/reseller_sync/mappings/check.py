"""The mapping check: is every entity a product uses at FNAC mapped, once, to valid codes?

With a box-office session the check looks at what the product really uses
(its configuration, the blocks of FNAC's quota, the categories and tariffs
priced among those offered at FNAC, its quota codes) and at FNAC's last CATCLI
list. Without one it checks the files alone: formats, alternatives, values
claimed twice, a file for every product of the settings.

Every fault names the file to edit and how. :func:`check_mappings` returns the
result; :func:`ensure_mappings` raises MappingError carrying every fault.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import pandas as pd
from sqlalchemy.orm import Session

from reseller_sync.boxoffice import catalogue
from reseller_sync.config.paths import settings_path, shown_path
from reseller_sync.config.settings import FnacSettings
from reseller_sync.domain.errors import MappingError
from reseller_sync.domain.products import SEATED_KINDS
from reseller_sync.domain.texts import Localized
from reseller_sync.fnac.adapter import RESELLER_TYPE as FNAC
from reseller_sync.mappings.files import SHARED_PREFIX
from reseller_sync.mappings.model import RULES, MappingEntry, MappingFault, MappingKind
from reseller_sync.mappings.repository import (
    Claim,
    MappingRepository,
    ProductMappings,
    load_repository,
)

_SCOPED_KINDS = (MappingKind.TYPE_TARIF, MappingKind.BLOC)
_UNSCOPED_KINDS = (MappingKind.SALLE, MappingKind.CATEGORIE_CLIENT, MappingKind.ALLOTEMENT)


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
            f"The FNAC mappings have {count} problem{'s' if count > 1 else ''}"
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


def check_mappings(
    settings: FnacSettings,
    repository: MappingRepository | None = None,
    session: Session | None = None,
    products: Sequence[str] | None = None,
) -> CheckResult:
    """Check the mappings of ``products`` (default: every product of the settings).

    Without ``session`` only the files are checked.
    """
    repository = repository if repository is not None else load_repository()
    selected = tuple(products) if products else settings.product_codes
    settings_file = shown_path(settings.source or settings_path(FNAC.code))
    shared_faults: list[MappingFault] = []
    notes: list[str] = []
    product_files = {shown_path(repository.product_file(product)) for product in selected}
    for fault in repository.faults:
        if fault.file in product_files:
            continue  # reported with its product
        if Path(fault.file or "").name.startswith(SHARED_PREFIX) or not products:
            shared_faults.append(fault)
    shared_faults.extend(_manifestation_conflicts(repository, selected))
    if not products:
        unlisted = sorted(set(repository.products) - set(settings.product_codes))
        if unlisted:
            notes.append(
                f"mapping files of products not on sale at FNAC in {settings_file}: "
                + ", ".join(unlisted)
            )
    catcli = catalogue.customer_categories(session) if session is not None else None
    if catcli == {}:
        notes.append(
            "FNAC has sent no CATCLI list yet: catégories de client were not checked against it"
        )
    checks = []
    for product in selected:
        checker = _ProductChecker(settings, settings_file, repository, product)
        checker.check(session, catcli)
        shared_faults.extend(f for f in checker.shared_faults if f not in shared_faults)
        checks.append(ProductCheck(product, tuple(checker.faults), tuple(checker.notes)))
    return CheckResult(tuple(checks), tuple(shared_faults), tuple(notes), session is not None)


def ensure_mappings(
    settings: FnacSettings,
    repository: MappingRepository | None = None,
    session: Session | None = None,
    products: Sequence[str] | None = None,
) -> CheckResult:
    """:func:`check_mappings`, raising MappingError with every fault when there is one."""
    return check_mappings(settings, repository, session, products).raise_for_faults()


def _manifestation_conflicts(
    repository: MappingRepository, products: Iterable[str]
) -> list[MappingFault]:
    by_code: dict[str, list[MappingEntry]] = defaultdict(list)
    for product in repository.products:
        entry = repository.for_product(product).effective(MappingKind.MANIFESTATION).get(product)
        if entry is not None:
            for value in entry.fnac:
                by_code[value].append(entry)
    selected = set(products)
    return [
        MappingFault.at(
            entries[-1].source,
            f"manifestation {code} is claimed by products "
            + " and ".join(entry.organiser for entry in entries),
            "each product has its own manifestation: correct the one that is wrong",
            value=code,
        )
        for code, entries in sorted(by_code.items())
        if len(entries) > 1 and selected & {entry.organiser for entry in entries}
    ]


@dataclass
class _ProductChecker:
    settings: FnacSettings
    settings_file: str
    repository: MappingRepository
    product: str
    faults: list[MappingFault] = field(default_factory=list)
    shared_faults: list[MappingFault] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _seen_claims: set[tuple[MappingKind, str, frozenset[str]]] = field(default_factory=set)

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

    def check(
        self, session: Session | None, catcli: dict[str, catalogue.CustomerCategory] | None
    ) -> None:
        summary = None
        if session is not None:
            summary = catalogue.product_summary(session, self.product)
            if not self._check_sellable(summary):
                return
        self.faults.extend(
            fault for fault in self.repository.faults if fault.file == self.product_file
        )
        self._check_file()
        if session is None or summary is None:
            for scope in (None, *self.mappings.configurations):
                self._check_ambiguities(scope)
            return
        self._check_box_office(session, summary, catcli or {})

    def _check_file(self) -> None:
        if not self.repository.has_product(self.product):
            self.fault(
                f"product {self.product} has no mapping file",
                f'create {self.product_file} with at least its manifestation: "<FNAC code>"',
                self.product_file,
            )
        elif self.mappings.manifestation is None and not self.mappings.effective(
            MappingKind.MANIFESTATION
        ):
            self.fault(
                f"product {self.product} has no manifestation",
                f'add manifestation: "<FNAC code>" to {self.product_file} '
                "(FNAC gives it after the sale sheet)",
                self.product_file,
                "manifestation",
            )

    def _check_ambiguities(self, configuration: str | None) -> None:
        kinds = _UNSCOPED_KINDS if configuration is None else _SCOPED_KINDS
        if configuration is None:
            kinds = (*kinds, MappingKind.TYPE_TARIF)
        for kind in kinds:
            for claim in self.mappings.ambiguities(kind, configuration):
                self._claim_fault(claim, "cannot be told apart when FNAC sends it")

    def _claim_fault(self, claim: Claim, consequence: str) -> None:
        organisers = frozenset(entry.organiser for entry in claim.entries)
        key = (claim.kind, claim.fnac, organisers)
        if key in self._seen_claims:
            return
        self._seen_claims.add(key)
        rule = RULES[claim.kind]
        last = max(claim.entries, key=lambda entry: (entry.precedence, entry.source.line or 0))
        fault = MappingFault.at(
            last.source,
            f"FNAC {rule.fnac_term} {claim.fnac} is claimed by "
            + " and ".join(entry.described for entry in claim.entries)
            + f": it {consequence}",
            f"map each FNAC {rule.fnac_term} to one {rule.organiser_term} only",
            value=claim.fnac,
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
        """The product exists in the box office and is of a kind FNAC may sell."""
        if summary is None:
            self.fault(
                f"product {self.product} does not exist in the box office",
                f"correct its code under products in {self.settings_file}",
                self.settings_file,
                "products",
            )
            return False
        if (reason := FNAC.refusal_reason(summary.kind)) is not None:
            self.fault(
                f"product {self.product} cannot be sold at FNAC: {reason}",
                f"remove it from products in {self.settings_file} and from channel "
                f"{self.settings.boxoffice.channel} in the box office",
                self.settings_file,
                "products",
            )
            return False
        return True

    def _check_box_office(
        self,
        session: Session,
        summary: catalogue.ProductSummary,
        catcli: dict[str, catalogue.CustomerCategory],
    ) -> None:
        boxoffice = self.settings.boxoffice
        if not catalogue.is_on_channel(session, self.product, boxoffice.channel):
            self.fault(
                f"product {self.product} is not on sale in the box-office channel "
                f"{boxoffice.channel}",
                f"add it to channel {boxoffice.channel} in the box office, or remove it from "
                f"products in {self.settings_file}",
                self.settings_file,
                "products",
            )
        configuration = summary.configuration
        self._check_ambiguities(None)
        if configuration is not None:
            self._check_ambiguities(configuration)
        quota_codes = catalogue.channel_quota_codes(session, self.product, boxoffice.channel)
        if summary.kind in SEATED_KINDS:
            if configuration is None:
                self.fault(
                    f"product {self.product} is a seated {summary.kind} without a seating "
                    "configuration",
                    "set its configuration in the box office",
                )
            else:
                self._check_salle(configuration)
                blocks = [
                    block
                    for code in quota_codes
                    for block in catalogue.quota_blocks(session, self.product, code)
                ]
                self._check_blocs(configuration, sorted(set(blocks)))
        self._check_prices(session, configuration, catcli)
        self._check_quotas(quota_codes)

    def _check_salle(self, configuration: str) -> None:
        if configuration not in self.mappings.effective(MappingKind.SALLE):
            self.fault(
                f"configuration {configuration} has no salle",
                f'add salle: "<FNAC code>" to {self.shared_file} under '
                f"configurations.{configuration}",
                self.shared_file,
                f"configurations.{configuration}.salle",
            )

    def _check_blocs(self, configuration: str, blocks: list[catalogue.BlockRef]) -> None:
        table = self.mappings.effective(MappingKind.BLOC, configuration)
        resolving: dict[str, list[MappingEntry]] = defaultdict(list)
        for ref in blocks:
            entry = table.get(f"{ref.zone}/{ref.block}") or table.get(ref.zone)
            if entry is None:
                self.fault(
                    f"block {ref.block} (zone {ref.zone}) of configuration {configuration}, in "
                    "FNAC's quota, has no bloc",
                    f"add it to {self.shared_file} under configurations.{configuration}.zones."
                    f"{ref.zone}.blocks (or map the whole zone {ref.zone})",
                    self.shared_file,
                    f"configurations.{configuration}.zones.{ref.zone}",
                )
            elif len(entry.fnac) == 1 and entry not in resolving[entry.fnac[0]]:
                resolving[entry.fnac[0]].append(entry)
        for value, entries in resolving.items():
            if len(entries) > 1:
                self._claim_fault(
                    Claim(MappingKind.BLOC, value, tuple(entries)),
                    "is sent for several blocks of FNAC's quota",
                )

    def _check_prices(
        self,
        session: Session,
        configuration: str | None,
        catcli: dict[str, catalogue.CustomerCategory],
    ) -> None:
        offered = self.settings.tariffs_offered_for(self.product)
        priced = catalogue.priced_combinations(session, self.product, offered)
        if not priced:
            self.fault(
                f"product {self.product} has no price for any tariff offered at FNAC "
                f"({', '.join(offered)})",
                "price it in the box office, or change tariffs_offered in " + self.settings_file,
                self.settings_file,
            )
            return
        tariffs = sorted({combination.tariff for combination in priced})
        categories = sorted({combination.category for combination in priced})
        if unpriced := [tariff for tariff in offered if tariff not in tariffs]:
            self.notes.append(
                f"tariff(s) {', '.join(unpriced)} offered at FNAC have no price for "
                f"{self.product}: they will not be on the sale sheet"
            )
        self._check_used(
            MappingKind.TYPE_TARIF,
            categories,
            configuration,
            "categories",
            f" (or under configurations.{configuration}.categories for this configuration only)"
            if configuration
            else "",
        )
        self._check_used(MappingKind.CATEGORIE_CLIENT, tariffs, None, "tariffs", "")
        if catcli:
            self._check_catcli(tariffs, catcli)

    def _check_quotas(self, quota_codes: tuple[str, ...]) -> None:
        if not quota_codes:
            self.notes.append(
                f"product {self.product} has no quota in channel {self.settings.boxoffice.channel}"
                ": FNAC has nothing to sell yet"
            )
            return
        self._check_used(MappingKind.ALLOTEMENT, list(quota_codes), None, "quotas", "")

    def _check_used(
        self,
        kind: MappingKind,
        organisers: list[str],
        configuration: str | None,
        section: str,
        alternative_place: str,
    ) -> None:
        """Each value used has a mapping; no FNAC value is shared by two values used."""
        rule = RULES[kind]
        table = self.mappings.effective(kind, configuration)
        claims: dict[str, list[MappingEntry]] = defaultdict(list)
        for organiser in organisers:
            entry = table.get(organiser)
            if entry is None:
                self.fault(
                    f"{rule.organiser_term} {organiser} has no {rule.fnac_term}",
                    f"add it to {self.shared_file} under {section}{alternative_place}",
                    self.shared_file,
                    section,
                )
                continue
            for value in entry.fnac:
                claims[value].append(entry)
        for value, entries in claims.items():
            if len(entries) > 1:
                self._claim_fault(
                    Claim(kind, value, tuple(entries)), f"is used by product {self.product}"
                )

    def _check_catcli(
        self, tariffs: list[str], catcli: dict[str, catalogue.CustomerCategory]
    ) -> None:
        table = self.mappings.effective(MappingKind.CATEGORIE_CLIENT)
        for tariff in tariffs:
            entry = table.get(tariff)
            if entry is None:
                continue
            for value in entry.fnac:
                category = catcli.get(value)
                if category is None:
                    self.faults.append(
                        MappingFault.at(
                            entry.source,
                            f"catégorie de client {value} of tariff {tariff} is not in FNAC's "
                            "last CATCLI list",
                            "check the code with FNAC and correct it",
                            value=value,
                            product=self.product,
                        )
                    )
                elif not category.active:
                    self.notes.append(
                        f"catégorie de client {value} ({category.label}) of tariff {tariff} is "
                        "inactive in FNAC's last CATCLI list"
                    )


# ---------------------------------------------------------------------- new FNAC categories


@dataclass(frozen=True)
class NewCustomerCategories:
    """Active FNAC customer categories mapped to no tariff: their sales cannot be integrated."""

    categories: tuple[catalogue.CustomerCategory, ...]
    shared_file: str

    @property
    def ok(self) -> bool:
        return not self.categories

    @property
    def faults(self) -> tuple[MappingFault, ...]:
        return tuple(
            MappingFault(
                f"FNAC's active catégorie de client {category.code} ({category.label}) is mapped "
                "to no tariff: its sales cannot be integrated",
                f"add it to a tariff in {self.shared_file} under tariffs, e.g. "
                f'FNAC_ADHERENT: "15|20|{category.code}"',
                self.shared_file,
                key="tariffs",
                value=category.code,
            )
            for category in self.categories
        )

    def to_error(self) -> MappingError:
        count = len(self.categories)
        return MappingError(
            f"FNAC has {count} new customer categor{'ies' if count > 1 else 'y'} to map",
            problems=[fault.to_problem() for fault in self.faults],
            file=self.shared_file,
        )

    def raise_for_faults(self) -> Self:
        if not self.ok:
            raise self.to_error()
        return self


def new_customer_categories(
    catcli: pd.DataFrame, repository: MappingRepository | None = None
) -> NewCustomerCategories:
    """The active categories of a CATCLI list (columns categorie_client, libelle, actif)
    that no tariff of any mapping file stands for."""
    repository = repository if repository is not None else load_repository()
    codes = catcli["categorie_client"].astype("str").str.strip()
    active = catcli["actif"].astype("str").str.strip().str.lower().isin(["1", "true"])
    new = catcli.loc[active & ~codes.isin(repository.mapped_customer_categories())]
    found = tuple(
        catalogue.CustomerCategory(code, str(label), True)
        for code, label in zip(codes[new.index], new["libelle"], strict=True)
    )
    return NewCustomerCategories(found, shown_path(repository.shared_file))


def ensure_customer_categories_mapped(
    catcli: pd.DataFrame, repository: MappingRepository | None = None
) -> NewCustomerCategories:
    """:func:`new_customer_categories`, raising MappingError (a mapping alert) when any."""
    return new_customer_categories(catcli, repository).raise_for_faults()
