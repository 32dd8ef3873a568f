"""The schemas of realtime-api-v1 for the OpenAPI document the service serves.

They document; they do not check. Requests are checked by
:mod:`reseller_sync.realtime.http_validation` in the contract's own order and with its
reasons (section 11), which a model's validation would not follow.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
"""Identifiers (section 3), as :mod:`reseller_sync.realtime.http_validation` checks them."""
REFERENCE_PATTERN = r"^[A-Za-z0-9._-]{1,40}$"
DATE_TIME = "date-time"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorItem(_Model):
    """One ``errors[]`` item: exactly one of ``pointer``, ``parameter``, ``header``."""

    detail: str
    pointer: str | None = Field(None, description="JSON pointer in URI-fragment form")
    parameter: str | None = None
    header: str | None = None
    reason: str | None = None
    expected: int | None = None
    actual: int | None = None
    available: int | None = None


class ProblemDetails(BaseModel):
    """An RFC 9457 problem (section 11); ``application/problem+json``."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(examples=["urn:problem-type:reseller-sync:places-unavailable"])
    title: str
    status: int
    detail: str
    instance: str
    category: Literal["mapping", "external", "technical"]
    correlation_id: str
    errors: list[ErrorItem]
    existing_order_id: str | None = None
    existing_cancellation_id: str | None = None


class Health(_Model):
    status: Literal["ok", "degraded"]
    time: str = Field(description="the box office's clock, UTC")
    version: Literal["1"]
    reseller_id: str | None = Field(None, description="with a key")
    channel: Literal["open", "suspended"] | None = Field(None, description="with a key")


class Tariff(_Model):
    id: str
    name: str
    price: int = Field(ge=0, description="minor units")


class Category(_Model):
    id: str
    name: str
    placement: Literal["seated", "free", "none"]
    tariffs: list[Tariff]


class Window(_Model):
    opens_at: str
    closes_at: str


class Validity(BaseModel):
    from_: str | None = Field(alias="from")
    until: str | None


class Performance(_Model):
    id: str
    starts_at: str | None
    timezone: str
    validity: Validity | None
    sale: Window
    categories: list[Category]


class Venue(_Model):
    name: str
    city: str
    country: str


class Product(_Model):
    id: str
    kind: Literal["event", "competition", "pass"]
    name: str
    venue: Venue | None
    currency: str
    beneficiary_required: bool
    performances: list[Performance]


class PriceCheck(_Model):
    compare: Literal["price", "price_minus_commission"]
    policy: Literal["strict", "warn"]


class Limits(_Model):
    max_places_per_hold: int
    hold_default_seconds: int
    hold_min_seconds: int
    hold_max_seconds: int


class Catalogue(_Model):
    reseller_id: str
    product_kinds: list[str]
    price_check: PriceCheck
    limits: Limits
    generated_at: str
    products: list[Product]


class Seat(_Model):
    id: str
    area: str
    row: str
    number: str


class CategoryAvailability(_Model):
    category_id: str
    placement: Literal["seated", "free", "none"]
    quota_kind: Literal["exclusive", "shared"]
    quota: int
    held: int
    sold: int
    available: int
    seats: list[Seat] | None = Field(None, description="seats=true, seated categories only")


class Availability(_Model):
    performance_id: str
    as_of: str
    categories: list[CategoryAvailability]


class HoldLine(_Model):
    """A seat line (``seat_id``) or a count line (``category_id`` with ``quantity``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["seat_id"],
                    "properties": {
                        "seat_id": {"type": "string"},
                        "category_id": {"type": "null"},
                        "quantity": {"type": "null"},
                    },
                },
                {
                    "required": ["category_id", "quantity"],
                    "properties": {
                        "seat_id": {"type": "null"},
                        "category_id": {"type": "string"},
                        "quantity": {"type": "integer"},
                    },
                },
            ]
        },
    )
    performance_id: str = Field(pattern=ID_PATTERN)
    seat_id: str | None = Field(None, pattern=ID_PATTERN, description="either this")
    category_id: str | None = Field(None, pattern=ID_PATTERN, description="or this, with quantity")
    quantity: int | None = Field(None, ge=1)


class HoldRequest(_Model):
    lines: list[HoldLine] = Field(min_length=1)
    expires_in: int | None = Field(None, ge=5, le=1800, description="default 600")


class HeldPlace(_Model):
    id: str
    line: int
    performance_id: str
    category_id: str
    seat: Seat | None


class Hold(_Model):
    id: str
    status: Literal["active", "ordered"]
    created_at: str
    expires_at: str
    expires_in: int
    order_id: str | None
    places: list[HeldPlace]


class Beneficiary(_Model):
    first_name: str = Field(min_length=1, max_length=60)
    last_name: str = Field(min_length=1, max_length=60)


class OrderLine(_Model):
    hold_place_id: str = Field(pattern=ID_PATTERN)
    tariff_id: str = Field(pattern=ID_PATTERN)
    price: int = Field(ge=0)
    commission: int = Field(ge=0, description="0 to price")
    beneficiary: Beneficiary | None = None


class OrderRequest(_Model):
    hold_id: str = Field(pattern=ID_PATTERN)
    reseller_order_ref: str = Field(pattern=REFERENCE_PATTERN)
    sold_at: str = Field(
        description="RFC 3339 date-time with offset", json_schema_extra={"format": DATE_TIME}
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    point_of_sale: str | None = Field(None, pattern=REFERENCE_PATTERN)
    lines: list[OrderLine] = Field(min_length=1)


class Ticket(_Model):
    id: str
    hold_place_id: str
    status: Literal["valid", "cancelled"]
    barcode: str
    performance_id: str
    category_id: str
    seat: Seat | None
    tariff_id: str
    price: int
    commission: int
    beneficiary: Beneficiary | None
    cancelled_at: str | None


class Payment(_Model):
    method: Literal["pending_account"]
    amount: int
    currency: str


class PriceWarning(_Model):
    type: str
    pointer: str
    expected: int
    actual: int
    detail: str


class CancellationSummary(_Model):
    id: str
    order_id: str
    reseller_cancellation_ref: str | None
    initiated_by: Literal["reseller", "organiser"]
    reason: str
    ticket_ids: list[str]
    barcodes: list[str]
    refund_amount: int
    currency: str
    cancelled_at: str
    created_at: str


class Order(_Model):
    id: str
    reseller_order_ref: str
    status: Literal["confirmed", "partially_cancelled", "cancelled"]
    hold_id: str
    from_expired_hold: bool
    sold_at: str
    point_of_sale: str | None
    created_at: str
    changed_at: str
    currency: str
    total_price: int
    total_commission: int
    payment: Payment
    tickets: list[Ticket]
    cancellations: list[CancellationSummary]
    warnings: list[PriceWarning]


class OrderPage(_Model):
    orders: list[Order]
    next_cursor: str | None


class CancellationRequest(_Model):
    reseller_cancellation_ref: str = Field(pattern=REFERENCE_PATTERN)
    reason: Literal["customer_request", "performance_cancelled", "reseller_error"]
    cancelled_at: str = Field(
        description="RFC 3339 date-time with offset", json_schema_extra={"format": DATE_TIME}
    )
    ticket_ids: list[Annotated[str, Field(pattern=ID_PATTERN)]] | None = Field(
        None, description="absent: every valid ticket"
    )
    refund_amount: int = Field(ge=0)


class Cancellation(CancellationSummary):
    order: Order


REQUEST_MODELS: tuple[type[BaseModel], ...] = (HoldRequest, OrderRequest, CancellationRequest)
