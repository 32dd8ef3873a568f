"""Who is calling: the reseller behind an authenticated API key, with its settings."""

from __future__ import annotations

from dataclasses import dataclass

PRODUCT_KINDS = ("event", "competition", "pass")


@dataclass(frozen=True)
class ResellerContext:
    """A synchronous reseller as one request sees it (``realtime_reseller`` row)."""

    reseller_code: str
    channel_id: int
    point_of_sale_id: int
    contact_id: int
    product_kinds: tuple[str, ...]
    price_compare: str
    """``price`` or ``price_minus_commission`` (realtime-api-v1, section 9)."""
    price_policy: str
    """``strict`` or ``warn``."""
    max_places_per_hold: int
    rate_per_second: int
    burst: int
    suspended: bool
    key_id: str | None = None
    """The API key's id (never the key), for logs."""

    HOLD_DEFAULT_SECONDS = 600
    HOLD_MIN_SECONDS = 5
    HOLD_MAX_SECONDS = 1800
