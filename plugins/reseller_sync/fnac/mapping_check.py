"""FNAC's mapping check: the neutral engine's, plus what FNAC alone requires.

A manifestation for every product before anything is sent, and each tariff's
catégories de client in FNAC's last CATCLI list (``fnac-exchange-v1`` 7.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reseller_sync.boxoffice import catalogue
from reseller_sync.fnac.adapter import RESELLER_TYPE
from reseller_sync.fnac.mappings import VOCABULARY, MappingKind, load_repository
from reseller_sync.mappings import check as engine
from reseller_sync.mappings.model import MappingFault
from reseller_sync.mappings.repository import MappingRepository

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from reseller_sync.fnac.settings import FnacSettings


def check_mappings(
    settings: FnacSettings,
    repository: MappingRepository | None = None,
    session: Session | None = None,
    products: Sequence[str] | None = None,
) -> engine.CheckResult:
    """Check FNAC's mappings of ``products`` (default: every product of the settings).

    Without ``session`` only the files are checked.
    """
    return engine.check_mappings(
        VOCABULARY,
        settings,
        repository if repository is not None else load_repository(),
        session,
        products,
        FnacChecks(session),
    )


def ensure_mappings(
    settings: FnacSettings,
    repository: MappingRepository | None = None,
    session: Session | None = None,
    products: Sequence[str] | None = None,
) -> engine.CheckResult:
    """:func:`check_mappings`, raising MappingError with every fault when there is one."""
    return check_mappings(settings, repository, session, products).raise_for_faults()


class FnacChecks(engine.ResellerChecks):
    """A manifestation for every product; tariffs' catégories de client in the last CATCLI."""

    def __init__(self, session: Session | None) -> None:
        self.catcli: dict[str, catalogue.CustomerCategory] | None = (
            catalogue.customer_categories(session, RESELLER_TYPE.code)
            if session is not None
            else None
        )

    def notes(self) -> list[str]:
        if self.catcli == {}:
            return [
                "FNAC has sent no CATCLI list yet: catégories de client were not checked against it"
            ]
        return []

    def check_product_file(self, checker: engine.ProductChecker) -> None:
        product, file = checker.product, checker.product_file
        if not checker.repository.has_product(product):
            checker.fault(
                f"product {product} has no mapping file",
                f'create {file} with at least its manifestation: "<FNAC code>"',
                file,
            )
        elif checker.mappings.partner_product is None and not checker.mappings.effective(
            MappingKind.MANIFESTATION
        ):
            checker.fault(
                f"product {product} has no manifestation",
                f'add manifestation: "<FNAC code>" to {file} (FNAC gives it after the sale sheet)',
                file,
                "manifestation",
            )

    def check_tariffs(self, checker: engine.ProductChecker, tariffs: Sequence[str]) -> None:
        if not self.catcli:
            return
        table = checker.mappings.effective(MappingKind.CATEGORIE_CLIENT)
        for tariff in tariffs:
            entry = table.get(tariff)
            if entry is None:
                continue
            for value in entry.partner:
                category = self.catcli.get(value)
                if category is None:
                    checker.faults.append(
                        MappingFault.at(
                            entry.source,
                            f"catégorie de client {value} of tariff {tariff} is not in FNAC's "
                            "last CATCLI list",
                            "check the code with FNAC and correct it",
                            value=value,
                            product=checker.product,
                        )
                    )
                elif not category.active:
                    checker.notes.append(
                        f"catégorie de client {value} ({category.label}) of tariff {tariff} is "
                        "inactive in FNAC's last CATCLI list"
                    )
