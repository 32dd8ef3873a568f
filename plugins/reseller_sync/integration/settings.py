"""What the integration needs to know of a reseller instance, whatever its type.

The adapter builds an :class:`IntegrationSettings` from its own settings
model; the integration reads nothing else of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reseller_sync.config.settings import InstanceSettings, PricePolicy


@dataclass(frozen=True)
class IntegrationSettings:
    code: str
    """The reseller type's code: orders, tickets and movements are tagged with it, and its
    quota on a performance is the one of a sales channel with this reseller code."""
    name: str
    """How people call the reseller, in problems and actions."""
    channel: str
    """The box-office sales channel its orders are booked on (code)."""
    point_of_sale: str
    """The box-office point of sale its orders are booked at (code)."""
    paying_contact: str
    """The contact whose pending account its orders debit (code)."""
    price_policy: PricePolicy
    """What a price that differs from the box office's does: refuse the file, warn, accept."""
    includes_commission: bool
    """The box office records prices commission included (the line's ``price``) or not
    (``price - commission``); its prices are compared on the same basis."""
    columns: Mapping[str, str] = field(default_factory=dict)
    """The partner's name of each canonical column, for problems (``price`` → ``PRICE``);
    also ``quota`` for the partner's quota column. A column not listed keeps its name."""
    settings_file: str = ""
    """Where the box-office codes above are configured, named when one does not exist."""
    mappings_dir: str = ""
    """Where the reseller's mappings are, named in the action of a mapping error."""
    cancels_test_tickets: bool = False
    """The reseller cancels its test tickets itself (with no money moving); when false, a
    cancellation of a test ticket is refused."""
    rule_codes: Mapping[str, str] = field(default_factory=dict)
    """The partner contract's code for each rule of the integration that it names
    (``integration.problems.Rule`` → ``T10``): a problem breaking the rule starts with it."""

    def column(self, canonical: str) -> str:
        return self.columns.get(canonical, canonical)

    @classmethod
    def of_instance(
        cls,
        settings: InstanceSettings,
        *,
        name: str,
        columns: Mapping[str, str],
        cancels_test_tickets: bool,
        rule_codes: Mapping[str, str] | None = None,
    ) -> IntegrationSettings:
        """An instance's box-office entities and price policy, with its adapter's words; the
        settings file and mapping folder are the type's (``<code>.yaml``, ``<code>/``)."""
        code = settings.reseller_code
        return cls(
            code=code,
            name=name,
            channel=settings.boxoffice.channel,
            point_of_sale=settings.boxoffice.point_of_sale,
            paying_contact=settings.boxoffice.paying_contact,
            price_policy=settings.prices.policy,
            includes_commission=settings.prices.includes_commission,
            columns=columns,
            settings_file=f"include/config/resellers/{code}.yaml",
            mappings_dir=f"include/mappings/{code}/",
            cancels_test_tickets=cancels_test_tickets,
            rule_codes=rule_codes or {},
        )
