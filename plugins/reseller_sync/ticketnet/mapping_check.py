"""Ticketnet's mapping check: the neutral engine's, plus what Ticketnet alone requires
(``ticketnet-exchange-v1`` sections 2, 7.2 and 8.1).

Every tariff offered at Ticketnet maps to a price type, from the files alone (the
CATALOG holds one line per price level and price type); with the box office, each
mapped price type must be in Ticketnet's last PRICETYPES list, and active.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reseller_sync.boxoffice import catalogue
from reseller_sync.mappings import check as engine
from reseller_sync.mappings.model import MappingFault
from reseller_sync.ticketnet.mappings import VOCABULARY, MappingKind, load_repository
from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from reseller_sync.ticketnet.settings import TicketnetSettings


def check_mappings(
    settings: TicketnetSettings,
    session: Session | None = None,
    products: Sequence[str] | None = None,
) -> engine.CheckResult:
    """Check Ticketnet's mappings of ``products`` (default: every product of the settings);
    without ``session`` only the files are checked."""
    return engine.check_mappings(
        VOCABULARY, settings, load_repository(), session, products, TicketnetChecks(session)
    )


class TicketnetChecks(engine.ResellerChecks):
    """A price type for every tariff offered; mapped price types in the last PRICETYPES."""

    def __init__(self, session: Session | None) -> None:
        self.price_types: dict[str, catalogue.CustomerCategory] | None = (
            catalogue.customer_categories(session, RESELLER_TYPE.code)
            if session is not None
            else None
        )

    def notes(self) -> list[str]:
        if self.price_types == {}:
            return ["Ticketnet has sent no PRICETYPES list yet: price types were not checked"]
        return []

    def check_product_file(self, checker: engine.ProductChecker) -> None:
        table = checker.mappings.effective(MappingKind.PRICE_TYPE)
        for tariff in checker.settings.tariffs_offered_for(checker.product):
            if tariff not in table:
                checker.fault(
                    f"tariff {tariff}, offered at Ticketnet, maps to no price type",
                    f'add {tariff}: "<Ticketnet price type>" under tariffs in '
                    f"{checker.shared_file} (or in {checker.product_file})",
                    checker.shared_file,
                    "tariffs",
                )

    def check_tariffs(self, checker: engine.ProductChecker, tariffs: Sequence[str]) -> None:
        if not self.price_types:
            return
        table = checker.mappings.effective(MappingKind.PRICE_TYPE)
        for tariff in tariffs:
            entry = table.get(tariff)
            if entry is None:
                continue
            for value in entry.partner:
                known = self.price_types.get(value)
                if known is None or not known.active:
                    state = "not in" if known is None else "inactive in"
                    checker.faults.append(
                        MappingFault.at(
                            entry.source,
                            f"price type {value} of tariff {tariff} is {state} Ticketnet's last "
                            "PRICETYPES list",
                            "check the code with Ticketnet and correct it",
                            value=value,
                            product=checker.product,
                        )
                    )
