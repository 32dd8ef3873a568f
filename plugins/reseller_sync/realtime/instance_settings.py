"""A synchronous reseller instance's settings (``include/config/resellers/<code>.yaml``),
whatever the reseller: the keys every instance has, plus what ``realtime-api-v1`` agrees at
onboarding (sections 2, 4, 9, 13 and 18).

- ``boxoffice``: the channel the reseller's key sees, the point of sale its orders are
  booked at, the technical contact whose pending account they debit, its quota's code;
- ``price_check``: how an order line's price is compared (section 9), in the contract's
  words; the instance's ``prices`` (the core's) follow from it and are not written;
- ``limits``: places per hold and the rate limit (sections 4 and 7.2), and how many active
  holds of the reseller make the expiry sweep alert (holds piling up);
- ``sale_window``: when a performance is on sale on the reseller's channel;
- ``test_order``: the reference prefix of the onboarding's test order, and how long the
  onboarding waits for it;
- ``sales_report``: the Airflow HTTP connection of the reseller's sales report (section 13;
  its key lives there, never here) and the time zone its days are cut in.

An adapter's model sets ``reseller_code`` and the default connection id; nothing here
names a reseller.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field, StrictInt, model_validator

from reseller_sync.config.settings import (
    ConnectionId,
    Email,
    InstanceSettings,
    NotificationSettings,
    PricePolicy,
    Section,
    Timezone,
)

_REFERENCE_PREFIX = re.compile(r"[A-Za-z0-9._-]{1,20}")
ACTIVE_HOLDS_ALERT = 500
"""Active holds of one reseller above which the expiry sweep alerts."""


def _reference_prefix(value: str) -> str:
    if not _REFERENCE_PREFIX.fullmatch(value):
        raise ValueError(
            "expected the start of a reseller reference: 1 to 20 letters, digits, '.', '_' "
            "or '-' (realtime-api-v1 section 3), e.g. TEST-"
        )
    return value


ReferencePrefix = Annotated[str, AfterValidator(_reference_prefix)]


class PriceCompare(StrEnum):
    """What a line's recorded amount is (realtime-api-v1 section 9)."""

    PRICE = "price"
    """The box-office price includes the reseller's commission: ``price`` is compared."""
    PRICE_MINUS_COMMISSION = "price_minus_commission"
    """The box-office price excludes it: ``price - commission`` is compared."""


class CheckPolicy(StrEnum):
    STRICT = "strict"
    """A differing line fails the whole order (``422 price-mismatch``)."""
    WARN = "warn"
    """The order is created at the reseller's amounts; each difference is a warning."""


class PriceCheckSettings(Section):
    compare: PriceCompare = Field(
        description="price (our prices include the reseller's commission) or "
        "price_minus_commission (they exclude it)"
    )
    policy: CheckPolicy = Field(
        CheckPolicy.STRICT, description="strict (a differing price fails the order) or warn"
    )


class LimitSettings(Section):
    max_places_per_hold: StrictInt = Field(
        10, ge=1, le=100, description="places one hold may take (section 7.4)"
    )
    rate_per_second: StrictInt = Field(
        20, ge=1, description="requests a second per key, sustained (section 4)"
    )
    burst: StrictInt = Field(40, ge=1, description="requests a key may send at once (section 4)")
    active_holds_alert: StrictInt = Field(
        ACTIVE_HOLDS_ALERT,
        ge=1,
        description="active holds of the reseller above which the expiry sweep alerts",
    )

    @model_validator(mode="after")
    def _burst_covers_rate(self) -> Self:
        if self.burst < self.rate_per_second:
            raise ValueError("burst must be at least rate_per_second")
        return self


class SaleWindowSettings(Section):
    """When a performance is on sale on the reseller's channel, set at onboarding."""

    closes_minutes_before_start: StrictInt = Field(
        60, ge=0, description="minutes before a dated performance starts that its sale closes"
    )
    undated_pass_days: StrictInt = Field(
        365, ge=1, description="days an undated pass stays on sale from its onboarding"
    )


class OnboardingOrderSettings(Section):
    """The onboarding's test order: placed by the reseller through the service, checked at
    access control, then cancelled by the organiser."""

    reference_prefix: ReferencePrefix = Field(
        "TEST-", description="how the test order's reseller_order_ref starts"
    )
    wait_hours: StrictInt = Field(
        72, ge=1, description="hours the onboarding waits for the test order"
    )


class SalesReportSettings(Section):
    """The reseller's sales report, pulled every night (section 13)."""

    connection_id: ConnectionId = Field(
        description="the Airflow HTTP connection of the reseller's sales report: its base "
        "URL, and its key in the password field"
    )
    timezone: Timezone = Field(
        "Europe/Paris", description="the organiser's time zone: a report's day is cut in it"
    )


class RealtimeNotificationSettings(NotificationSettings):
    partner_contact_email: Email = Field(
        description="the organiser's contact at the reseller (onboarding, reconciliation)"
    )


class RealtimeInstanceSettings(InstanceSettings):
    """A synchronous reseller instance's settings (frozen). ``prices`` follows from
    ``price_check`` and is never written in the file."""

    price_check: PriceCheckSettings
    limits: LimitSettings = Field(default_factory=LimitSettings)  # type: ignore[arg-type]
    sale_window: SaleWindowSettings = Field(default_factory=SaleWindowSettings)  # type: ignore[arg-type]
    test_order: OnboardingOrderSettings = Field(default_factory=OnboardingOrderSettings)  # type: ignore[arg-type]
    sales_report: SalesReportSettings
    notifications: RealtimeNotificationSettings

    @model_validator(mode="before")
    @classmethod
    def _prices_from_price_check(cls, data: Any) -> Any:
        """The core's ``prices`` in its words: a commission included or not, the same
        policy. Written in the file, it is refused: ``price_check`` says it."""
        if not isinstance(data, dict):
            return data
        if "prices" in data:
            raise ValueError(
                "prices: write price_check (compare, policy) instead (realtime-api-v1 section 9)"
            )
        check = data.get("price_check")
        if not isinstance(check, dict):
            return data
        compare = check.get("compare")
        policy = check.get("policy", CheckPolicy.STRICT.value)
        if compare not in {c.value for c in PriceCompare} or policy not in {
            p.value for p in CheckPolicy
        }:
            return data  # price_check's own validation names the key
        return {
            **data,
            "prices": {
                "policy": PricePolicy(policy).value,
                "includes_commission": compare == PriceCompare.PRICE.value,
            },
        }

    @property
    def contract_product_kinds(self) -> tuple[str, ...]:
        """The contract's kinds the reseller's type may sell (section 2), in its order."""
        from reseller_sync.core.resellers import reseller_type
        from reseller_sync.realtime.catalogue import KINDS

        declared = reseller_type(self.reseller_code).product_kinds
        return tuple(name for name, kinds in KINDS.items() if set(kinds) & declared)
