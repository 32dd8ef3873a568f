"""The box office: the organiser's system of record, as the reseller interfaces see it.

Catalogue (venues, seating, products, performances, tariffs, prices),
distribution (sales channels, points of sale, quotas, the pending account),
sales (orders, tickets, access control) and the exchange journal.

Database constraints make the impossible impossible: one reseller ticket id
once, one barcode once, one seat sold once per performance, one file
processed once. Amounts are integer cents throughout.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from reseller_sync.domain.products import ProductKind

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enum(enum_class: type[StrEnum], name: str) -> Enum:
    """Store an enum by its value, as a portable VARCHAR with a CHECK constraint."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Currency(StrEnum):
    EUR = "EUR"
    CHF = "CHF"


class ChannelType(StrEnum):
    BOX_OFFICE = "box_office"
    WEB = "web"
    RESELLER_AUTOMATIC = "reseller_automatic"
    """A reseller connected by an automatic interface (files or a web service)."""
    RESELLER_MANUAL = "reseller_manual"


class PaymentMode(StrEnum):
    CASH = "cash"
    CARD = "card"
    PENDING_ACCOUNT = "pending_account"
    """Paid later by the reseller: sales are debited to a contact's pending account."""


class OrderState(StrEnum):
    PAID = "paid"
    CANCELLED = "cancelled"
    PARTLY_CANCELLED = "partly_cancelled"


class TicketState(StrEnum):
    VALID = "valid"
    CANCELLED = "cancelled"


class MovementKind(StrEnum):
    SALE = "sale"
    REFUND = "refund"


class Direction(StrEnum):
    INBOUND = "inbound"
    """From the reseller to the organiser."""
    OUTBOUND = "outbound"


class FileState(StrEnum):
    PREPARED = "prepared"
    """Outbound: built and journaled, not yet confirmed on the partner's server."""
    LANDED = "landed"
    """Received and stored; not yet integrated."""
    INTEGRATED = "integrated"
    FAILED = "failed"
    """Refused or failed; stops the files of its type behind it until a person acts (fixes
    the cause, or sets it aside)."""
    IGNORED = "ignored"
    """Inbound: a duplicate, the same bytes as an earlier file under another name: nothing
    lost, nothing to do."""
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    """The partner's ACK says the whole file, or part of it, was applied."""
    REFUSED = "refused"
    """The partner's ACK refused the whole file."""
    SEQUENCE_REUSED = "sequence_reused"
    """Inbound: refused at landing, its sequence already held by another file with other
    content. Not processed; its lines arrive only if the reseller sends them again
    under a new sequence, so a person must tell the reseller (an alert says so)."""
    SET_ASIDE = "set_aside"
    """Inbound: a failed file a person set aside, with who, when and why: not integrated,
    and its type goes on from the next sequence."""


class WithdrawalReason(StrEnum):
    REQUESTED = "requested"
    """A person asked for the places back (``request_withdrawal``)."""
    AUTOMATIC = "automatic"
    """Unsold places of the reseller taken back N days before the performance (nightly
    settings)."""


class WithdrawalState(StrEnum):
    REQUESTED = "requested"
    """To go out in the next DECONT file."""
    SENT = "sent"
    """In a withdrawal file the reseller has not acknowledged yet: the places are still its."""
    WITHDRAWN = "withdrawn"
    """The reseller's acknowledgement applied the line: the places left its quota."""
    REFUSED_SOLD = "refused_sold"
    """The reseller refused the line, the places being sold: they stay its."""
    FAILED = "failed"
    """The reseller refused the line for another reason (mapping, technical): a person acts."""


class AllocationState(StrEnum):
    SENT = "sent"
    """In a batch the reseller has not answered yet."""
    ALLOCATED = "allocated"
    """The reseller's answer says the place is its (given now, or already)."""
    REFUSED = "refused"
    """The reseller refused the record: the place is not its; a person acts."""


class OnboardingState(StrEnum):
    NOT_STARTED = "not_started"
    SALE_SHEET_SENT = "sale_sheet_sent"
    MAPPED = "mapped"
    PLACES_SENT = "places_sent"
    TESTED = "tested"
    LIVE = "live"


# --------------------------------------------------------------------------- catalogue


class Venue(Base):
    __tablename__ = "venue"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64))

    configurations: Mapped[list[SeatingConfiguration]] = relationship(back_populates="venue")


class SeatingConfiguration(Base):
    """A logical seating configuration of a venue (concert layout, match layout...)."""

    __tablename__ = "seating_configuration"
    __table_args__ = (UniqueConstraint("venue_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venue.id"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    venue: Mapped[Venue] = relationship(back_populates="configurations")
    zones: Mapped[list[Zone]] = relationship(back_populates="configuration")


class SeatCategory(Base):
    """A logical seat category (CAT1, CAT2...), shared by every configuration."""

    __tablename__ = "seat_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Zone(Base):
    __tablename__ = "zone"
    __table_args__ = (UniqueConstraint("configuration_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    configuration_id: Mapped[int] = mapped_column(ForeignKey("seating_configuration.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))

    configuration: Mapped[SeatingConfiguration] = relationship(back_populates="zones")
    blocks: Mapped[list[Block]] = relationship(back_populates="zone")


class Block(Base):
    """A block of seats, or a free-placement area with a capacity and one category."""

    __tablename__ = "block"
    __table_args__ = (
        UniqueConstraint("zone_id", "code"),
        CheckConstraint(
            "(free_placement AND capacity IS NOT NULL AND capacity > 0"
            " AND category_id IS NOT NULL)"
            " OR (NOT free_placement AND capacity IS NULL)",
            name="free_placement_has_capacity",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zone.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    free_placement: Mapped[bool] = mapped_column(Boolean, default=False)
    capacity: Mapped[int | None] = mapped_column(Integer)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("seat_category.id"))
    """The category of a free-placement block; seats carry their own."""

    zone: Mapped[Zone] = relationship(back_populates="blocks")
    category: Mapped[SeatCategory | None] = relationship()
    seats: Mapped[list[Seat]] = relationship(back_populates="block")


class Seat(Base):
    __tablename__ = "seat"
    __table_args__ = (UniqueConstraint("block_id", "row", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    block_id: Mapped[int] = mapped_column(ForeignKey("block.id"), index=True)
    row: Mapped[str] = mapped_column(String(8))
    number: Mapped[str] = mapped_column(String(8))
    category_id: Mapped[int] = mapped_column(ForeignKey("seat_category.id"))

    block: Mapped[Block] = relationship(back_populates="seats")
    category: Mapped[SeatCategory] = relationship()


class Product(Base):
    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ProductKind] = mapped_column(_enum(ProductKind, "product_kind"))
    venue_id: Mapped[int] = mapped_column(ForeignKey("venue.id"))
    configuration_id: Mapped[int | None] = mapped_column(ForeignKey("seating_configuration.id"))
    """Seated kinds only (events, competitions)."""

    venue: Mapped[Venue] = relationship()
    configuration: Mapped[SeatingConfiguration | None] = relationship()
    performances: Mapped[list[Performance]] = relationship(
        back_populates="product", order_by="Performance.id"
    )
    components: Mapped[list[PackageComponent]] = relationship(
        foreign_keys="PackageComponent.package_id"
    )


class PackageComponent(Base):
    """A product sold inside a package."""

    __tablename__ = "package_component"

    package_id: Mapped[int] = mapped_column(ForeignKey("product.id"), primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("product.id"), primary_key=True)


class Performance(Base):
    """One dated performance, or the validity of a pass (dates, or none when undated)."""

    __tablename__ = "performance"
    __table_args__ = (
        UniqueConstraint("product_id", "code"),
        CheckConstraint(
            "valid_from IS NULL OR valid_until IS NULL OR valid_from <= valid_until",
            name="validity_in_order",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False))
    """The venue's local wall-clock time (the venue's timezone applies)."""
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)

    product: Mapped[Product] = relationship(back_populates="performances")


class Tariff(Base):
    __tablename__ = "tariff"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    reseller_code: Mapped[str | None] = mapped_column(String(16))
    """Set for tariffs that exist only for one reseller (its members' price...)."""


class Price(Base):
    __tablename__ = "price"
    __table_args__ = (
        UniqueConstraint("performance_id", "category_id", "tariff_id"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    performance_id: Mapped[int] = mapped_column(ForeignKey("performance.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("seat_category.id"))
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariff.id"))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[Currency] = mapped_column(_enum(Currency, "currency"))

    performance: Mapped[Performance] = relationship()
    category: Mapped[SeatCategory] = relationship()
    tariff: Mapped[Tariff] = relationship()


# --------------------------------------------------------------------------- distribution


class SalesChannel(Base):
    __tablename__ = "sales_channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[ChannelType] = mapped_column(_enum(ChannelType, "channel_type"))
    reseller_code: Mapped[str | None] = mapped_column(String(16))
    """The reseller behind an automatic channel (its type's code)."""


class ProductChannel(Base):
    """A product on sale in a channel."""

    __tablename__ = "product_channel"

    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("sales_channel.id"), primary_key=True)
    beneficiary_required: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    """Every ticket sold in this channel must name its holder (real-time resellers)."""


class PointOfSale(Base):
    __tablename__ = "point_of_sale"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    channel_id: Mapped[int] = mapped_column(ForeignKey("sales_channel.id"))
    payment_mode: Mapped[PaymentMode] = mapped_column(_enum(PaymentMode, "payment_mode"))

    channel: Mapped[SalesChannel] = relationship()


class Contact(Base):
    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    technical: Mapped[bool] = mapped_column(Boolean, default=False)
    """A technical contact exists to carry a reseller's pending account, not a person."""


class PendingAccount(Base):
    """What a reseller owes the organiser, in one currency: sales debit it, refunds credit it."""

    __tablename__ = "pending_account"
    __table_args__ = (UniqueConstraint("contact_id", "currency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"))
    currency: Mapped[Currency] = mapped_column(_enum(Currency, "currency"))

    contact: Mapped[Contact] = relationship()


class Quota(Base):
    """A contingent: places held for one channel on one performance."""

    __tablename__ = "quota"
    __table_args__ = (UniqueConstraint("code", "performance_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    """Shared by the quotas of one channel across performances (mapped to an allotement)."""
    name: Mapped[str] = mapped_column(String(200))
    channel_id: Mapped[int] = mapped_column(ForeignKey("sales_channel.id"))
    performance_id: Mapped[int] = mapped_column(ForeignKey("performance.id"), index=True)
    places: Mapped[int | None] = mapped_column(Integer)
    """For passes: the number of places, which have no seat or block."""
    category_id: Mapped[int | None] = mapped_column(ForeignKey("seat_category.id"))
    """For passes: the category of those places, when the quota names one."""

    channel: Mapped[SalesChannel] = relationship()
    performance: Mapped[Performance] = relationship()
    seats: Mapped[list[QuotaSeat]] = relationship(back_populates="quota")
    free_places: Mapped[list[QuotaFreePlaces]] = relationship(back_populates="quota")


class QuotaSeat(Base):
    """A seat held in a quota; a seat is in at most one quota of a performance."""

    __tablename__ = "quota_seat"
    __table_args__ = (UniqueConstraint("performance_id", "seat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quota_id: Mapped[int] = mapped_column(ForeignKey("quota.id"), index=True)
    performance_id: Mapped[int] = mapped_column(ForeignKey("performance.id"))
    seat_id: Mapped[int] = mapped_column(ForeignKey("seat.id"))

    quota: Mapped[Quota] = relationship(back_populates="seats")
    seat: Mapped[Seat] = relationship()


class QuotaFreePlaces(Base):
    """A number of places of a free-placement block held in a quota."""

    __tablename__ = "quota_free_places"
    __table_args__ = (
        UniqueConstraint("quota_id", "block_id"),
        CheckConstraint("places >= 0", name="places_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quota_id: Mapped[int] = mapped_column(ForeignKey("quota.id"))
    block_id: Mapped[int] = mapped_column(ForeignKey("block.id"))
    places: Mapped[int] = mapped_column(Integer)

    quota: Mapped[Quota] = relationship(back_populates="free_places")
    block: Mapped[Block] = relationship()


class PlaceWithdrawal(Base):
    """Places the box office takes back from a reseller's quota (décontingentement).

    A seat (``seat_id``) or free places of a block (``block_id`` and ``places``).
    The places stay in the reseller's quota until its acknowledgement says the line
    was applied; only then are they removed, in the transaction that records the ACK.
    """

    __tablename__ = "place_withdrawal"
    __table_args__ = (
        CheckConstraint(
            "(seat_id IS NOT NULL AND block_id IS NULL AND places = 1)"
            " OR (seat_id IS NULL AND block_id IS NOT NULL AND places > 0)",
            name="seat_or_free_places",
        ),
        # One open request per seat, and per free-placement block, of a performance.
        Index(
            "uq_place_withdrawal_open_seat",
            "performance_id",
            "seat_id",
            unique=True,
            sqlite_where=text("state IN ('requested', 'sent') AND seat_id IS NOT NULL"),
            postgresql_where=text("state IN ('requested', 'sent') AND seat_id IS NOT NULL"),
        ),
        Index(
            "uq_place_withdrawal_open_block",
            "performance_id",
            "block_id",
            unique=True,
            sqlite_where=text("state IN ('requested', 'sent') AND block_id IS NOT NULL"),
            postgresql_where=text("state IN ('requested', 'sent') AND block_id IS NOT NULL"),
        ),
        Index("ix_place_withdrawal_state", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quota_id: Mapped[int] = mapped_column(ForeignKey("quota.id"))
    performance_id: Mapped[int] = mapped_column(ForeignKey("performance.id"))
    seat_id: Mapped[int | None] = mapped_column(ForeignKey("seat.id"))
    block_id: Mapped[int | None] = mapped_column(ForeignKey("block.id"))
    """A free-placement block, for free places."""
    places: Mapped[int] = mapped_column(Integer, default=1)
    reason: Mapped[WithdrawalReason] = mapped_column(_enum(WithdrawalReason, "withdrawal_reason"))
    state: Mapped[WithdrawalState] = mapped_column(_enum(WithdrawalState, "withdrawal_state"))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_file.id"), index=True)
    """The DECONT file that carries the request."""
    line: Mapped[int | None] = mapped_column(Integer)
    """The request's data line in that file."""
    error_code: Mapped[str | None] = mapped_column(String(8))
    """The reseller's error code when it refused the line."""
    message: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    quota: Mapped[Quota] = relationship()
    performance: Mapped[Performance] = relationship()
    seat: Mapped[Seat | None] = relationship()
    block: Mapped[Block | None] = relationship()


class PlaceAllocation(Base):
    """A place given to a reseller's quota, one per record sent, and what the reseller's
    answer said of it: a seat (``seat_id``) or free places of a block (``block_id`` and
    ``places``). The record of the places a reseller holds as it stated them."""

    __tablename__ = "place_allocation"
    __table_args__ = (
        CheckConstraint(
            "(seat_id IS NOT NULL AND block_id IS NULL AND places = 1)"
            " OR (seat_id IS NULL AND block_id IS NOT NULL AND places > 0)",
            name="seat_or_free_places",
        ),
        UniqueConstraint("file_id", "line"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_code: Mapped[str] = mapped_column(String(32))
    performance_id: Mapped[int] = mapped_column(ForeignKey("performance.id"), index=True)
    seat_id: Mapped[int | None] = mapped_column(ForeignKey("seat.id"))
    block_id: Mapped[int | None] = mapped_column(ForeignKey("block.id"))
    places: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[AllocationState] = mapped_column(_enum(AllocationState, "allocation_state"))
    file_id: Mapped[int] = mapped_column(ForeignKey("exchange_file.id"))
    """The batch that carries the record."""
    line: Mapped[int] = mapped_column(Integer)
    """The record's number in that batch, counted across its files."""
    error_code: Mapped[str | None] = mapped_column(String(8))
    """The reseller's code when it refused the record, or said the place was its already."""
    message: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    performance: Mapped[Performance] = relationship()
    seat: Mapped[Seat | None] = relationship()
    block: Mapped[Block | None] = relationship()


# --------------------------------------------------------------------------- sales


class Order(Base):
    __tablename__ = "sales_order"
    __table_args__ = (UniqueConstraint("reseller_code", "reseller_order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("sales_channel.id"))
    point_of_sale_id: Mapped[int] = mapped_column(ForeignKey("point_of_sale.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"))
    """Who pays: for a reseller sale, the technical contact of its pending account."""
    state: Mapped[OrderState] = mapped_column(_enum(OrderState, "order_state"))
    currency: Mapped[Currency] = mapped_column(_enum(Currency, "currency"))
    total: Mapped[int] = mapped_column(BigInteger)
    reseller_code: Mapped[str | None] = mapped_column(String(16))
    reseller_order_id: Mapped[str | None] = mapped_column(String(40))
    reseller_point_of_sale_code: Mapped[str | None] = mapped_column(String(40))
    reseller_point_of_sale_name: Mapped[str | None] = mapped_column(String(200))
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    sold_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    source_file_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_file.id"))

    tickets: Mapped[list[Ticket]] = relationship(back_populates="order")


class Ticket(Base):
    __tablename__ = "ticket"
    __table_args__ = (
        UniqueConstraint("reseller_code", "reseller_ticket_id"),
        UniqueConstraint("barcode"),
        CheckConstraint("price >= 0 AND commission >= 0", name="amounts_not_negative"),
        CheckConstraint("(seat_id IS NULL) OR (block_id IS NULL)", name="seat_or_free_placement"),
        # One seat sold once per performance: only valid tickets hold their seat.
        Index(
            "uq_ticket_valid_seat",
            "performance_id",
            "seat_id",
            unique=True,
            sqlite_where=text("state = 'valid' AND seat_id IS NOT NULL"),
            postgresql_where=text("state = 'valid' AND seat_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    performance_id: Mapped[int] = mapped_column(ForeignKey("performance.id"))
    seat_id: Mapped[int | None] = mapped_column(ForeignKey("seat.id"))
    block_id: Mapped[int | None] = mapped_column(ForeignKey("block.id"))
    """A free-placement place: the block, no seat."""
    quota_id: Mapped[int | None] = mapped_column(ForeignKey("quota.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("seat_category.id"))
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariff.id"))
    price: Mapped[int] = mapped_column(Integer)
    commission: Mapped[int] = mapped_column(Integer, default=0)
    """The reseller's commission, included in ``price`` or not as the settings say."""
    currency: Mapped[Currency] = mapped_column(_enum(Currency, "currency"))
    barcode: Mapped[str] = mapped_column(String(40))
    beneficiary_first_name: Mapped[str | None] = mapped_column(String(60))
    beneficiary_last_name: Mapped[str | None] = mapped_column(String(60))
    state: Mapped[TicketState] = mapped_column(_enum(TicketState, "ticket_state"))
    reseller_code: Mapped[str | None] = mapped_column(String(16))
    reseller_ticket_id: Mapped[str | None] = mapped_column(String(40))
    reseller_category: Mapped[str | None] = mapped_column(String(16))
    """The reseller's own customer category or price type, as received."""
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reseller_cancellation_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    sold_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    """When the customer paid, as the reseller said (null for tickets integrated before 0008)."""
    reseller_state: Mapped[str | None] = mapped_column(String(16))
    """For a reseller that reports ticket states: the state it reported last (a
    ``core.lines.LineTicketState`` value); null for the others."""
    state_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    """When the ticket entered its reported state, or its names last changed."""
    refund_amount: Mapped[int | None] = mapped_column(Integer)
    """What the reseller refunded the customer, once it reported the ticket refunded."""

    order: Mapped[Order] = relationship(back_populates="tickets")
    performance: Mapped[Performance] = relationship()
    seat: Mapped[Seat | None] = relationship()
    block: Mapped[Block | None] = relationship()
    category: Mapped[SeatCategory] = relationship()
    tariff: Mapped[Tariff] = relationship()


class PendingAccountMovement(Base):
    """A sale debits the pending account, a refund credits it: one movement per order or refund."""

    __tablename__ = "pending_account_movement"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        UniqueConstraint("reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("pending_account.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"))
    kind: Mapped[MovementKind] = mapped_column(_enum(MovementKind, "movement_kind"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[Currency] = mapped_column(_enum(Currency, "currency"))
    reference: Mapped[str] = mapped_column(String(64))
    """What the movement stands for (``<code>:sale:…``, ``<code>:refund:…``): once only."""
    booked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


class AccessControlEntry(Base):
    """A barcode the venue's access control allows or refuses for a performance."""

    __tablename__ = "access_control_entry"
    __table_args__ = (UniqueConstraint("barcode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    performance_id: Mapped[int] = mapped_column(ForeignKey("performance.id"), index=True)
    barcode: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    allowed: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_utcnow, onupdate=_utcnow
    )


# --------------------------------------------------------------------------- reseller state


class ResellerProduct(Base):
    """A product's onboarding at a reseller, and whether it is live there."""

    __tablename__ = "reseller_product"

    reseller_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), primary_key=True)
    state: Mapped[OnboardingState] = mapped_column(_enum(OnboardingState, "onboarding_state"))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_utcnow, onupdate=_utcnow
    )


class ResellerCustomerCategory(Base):
    """The reseller's customer categories, as its last list gave them."""

    __tablename__ = "reseller_customer_category"

    reseller_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean)
    modified_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    first_seen_file_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_file.id"))


class ResellerPerformance(Base):
    """A performance's identifiers at a reseller that assigns its own (its event's and the
    performance's), as the reseller's answer to the organiser's offer gave them."""

    __tablename__ = "reseller_performance"
    __table_args__ = (
        UniqueConstraint(
            "reseller_code",
            "partner_event_id",
            "partner_performance_id",
            name="uq_reseller_performance_partner_ids",
        ),
    )

    reseller_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    performance_id: Mapped[int] = mapped_column(ForeignKey("performance.id"), primary_key=True)
    partner_event_id: Mapped[str] = mapped_column(String(32))
    partner_performance_id: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    source_file_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_file.id"))


# --------------------------------------------------------------------------- exchange journal


class ExchangeFile(Base):
    """Every file sent to or received from a reseller, with its bytes.

    A landed file can be integrated later by any worker without the SFTP
    server. The name is unique, and so is ``(reseller, direction, type,
    sequence)`` among files that are not ignored or refused for a reused
    sequence: a file is landed, and so processed, once. A set-aside file keeps
    its sequence, and says who set it aside, when and why.
    """

    __tablename__ = "exchange_file"
    __table_args__ = (
        UniqueConstraint("reseller_code", "name"),
        # One file per sequence of a stream; an ignored file (same bytes again) or one
        # refused for a reused sequence is kept in the journal outside the stream.
        Index(
            "uq_exchange_file_stream_sequence",
            "reseller_code",
            "direction",
            "file_type",
            "sequence",
            unique=True,
            sqlite_where=text("state NOT IN ('ignored', 'sequence_reused')"),
            postgresql_where=text("state NOT IN ('ignored', 'sequence_reused')"),
        ),
        CheckConstraint(
            "state != 'set_aside' OR (set_aside_by IS NOT NULL AND set_aside_at IS NOT NULL"
            " AND set_aside_reason IS NOT NULL)",
            name="set_aside_says_who_when_why",
        ),
        Index("ix_exchange_file_queue", "reseller_code", "direction", "file_type", "state"),
        Index("ix_exchange_file_sha256", "sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_code: Mapped[str] = mapped_column(String(16))
    direction: Mapped[Direction] = mapped_column(_enum(Direction, "direction"))
    file_type: Mapped[str] = mapped_column(String(16))
    """The file's stream, as the reseller's naming says it (``ExchangeName.stream``): its
    type, say, with acknowledgements in a stream per type answered (``ACK_<TYPE>``)."""
    sequence: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[FileState] = mapped_column(_enum(FileState, "file_state"))
    line_count: Mapped[int | None] = mapped_column(Integer)
    product_code: Mapped[str | None] = mapped_column(String(32), index=True)
    """The product a file concerns, when it concerns one (FICHE, PLACES, TEST...)."""
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_file.id"))
    """Same bytes as an earlier file under another name."""
    answers_file_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_file.id"))
    """For an ACK: the file it answers."""
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_utcnow, server_default=func.now()
    )
    processed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    contact_emailed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    """When the readable copy of a sent file went to the partner's contact (a FICHE's
    sale sheet): once, whatever retries the sending task has."""
    error_category: Mapped[str | None] = mapped_column(String(16))
    error_message: Mapped[str | None] = mapped_column(Text)
    alerted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    """When the alert about a file refused at landing (a reused sequence) was raised:
    once, whichever run landed the file."""
    set_aside_by: Mapped[str | None] = mapped_column(String(100))
    """Who set a failed file aside (an Airflow user, or the OS user of the command)."""
    set_aside_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    set_aside_reason: Mapped[str | None] = mapped_column(Text)

    errors: Mapped[list[ExchangeFileError]] = relationship(
        back_populates="file", cascade="all, delete-orphan", order_by="ExchangeFileError.id"
    )
    members: Mapped[list[ExchangeFileMember]] = relationship(
        cascade="all, delete-orphan", order_by="ExchangeFileMember.id"
    )


class ExchangeFileMember(Base):
    """A data file of a batch the journal keeps under its closing file (its manifest).

    Its name, size and SHA-256 are the bytes' as they arrived; the content is the copy the
    journal keeps, the partner's personal data emptied (its checksum may then differ), or
    nothing when that data could not be located.
    """

    __tablename__ = "exchange_file_member"
    __table_args__ = (UniqueConstraint("exchange_file_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exchange_file_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_file.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ExchangeFileError(Base):
    """One line-level problem of a file (as the codec or the integration found it)."""

    __tablename__ = "exchange_file_error"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("exchange_file.id"), index=True)
    line: Mapped[int | None] = mapped_column(Integer)
    column: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(8))
    """The partner's error code (E03...) when the problem comes from an ACK."""
    reason: Mapped[str] = mapped_column(Text)

    file: Mapped[ExchangeFile] = relationship(back_populates="errors")


# --------------------------------------------------------------------------- alerts


class Alert(Base):
    """Every alert raised for a person, delivered by e-mail or not.

    Recorded before it is sent, so that an alert whose e-mail could not go out
    (SMTP down) is still known, logged and shown in the UI.
    """

    __tablename__ = "alert"
    __table_args__ = (Index("ix_alert_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    category: Mapped[str] = mapped_column(String(16))
    """mapping, external or technical."""
    kind: Mapped[str] = mapped_column(String(32))
    """What raised it: ``task_failure``, ``new_customer_category``, ``files_late``..."""
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    """The plain-text body, as sent."""
    recipients: Mapped[str] = mapped_column(Text)
    dag_id: Mapped[str | None] = mapped_column(String(250))
    task_id: Mapped[str | None] = mapped_column(String(250))
    run_id: Mapped[str | None] = mapped_column(String(250))
    file_name: Mapped[str | None] = mapped_column(String(255))
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)
    delivery_error: Mapped[str | None] = mapped_column(Text)


# --------------------------------------------------------------------------- real-time sales


class RealtimeReseller(Base):
    """A synchronous reseller's settings, recorded at onboarding (realtime-api-v1, section 9
    and the table of section 2); every service worker reads them here."""

    __tablename__ = "realtime_reseller"
    __table_args__ = (
        CheckConstraint(
            "price_compare IN ('price', 'price_minus_commission')", name="price_compare_known"
        ),
        CheckConstraint("price_policy IN ('strict', 'warn')", name="price_policy_known"),
        CheckConstraint(
            "max_places_per_hold > 0 AND rate_per_second > 0 AND burst >= rate_per_second",
            name="limits_positive",
        ),
    )

    reseller_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("sales_channel.id"), unique=True)
    point_of_sale_id: Mapped[int] = mapped_column(ForeignKey("point_of_sale.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"))
    """The technical contact whose pending account carries the reseller's orders."""
    product_kinds: Mapped[str] = mapped_column(String(64))
    """The kinds it may sell, comma-separated (``event,competition,pass``)."""
    price_compare: Mapped[str] = mapped_column(String(32))
    price_policy: Mapped[str] = mapped_column(String(8))
    max_places_per_hold: Mapped[int] = mapped_column(Integer, default=10)
    rate_per_second: Mapped[int] = mapped_column(Integer, default=20)
    burst: Mapped[int] = mapped_column(Integer, default=40)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)

    channel: Mapped[SalesChannel] = relationship()


class RealtimeApiKey(Base):
    """An API key of a synchronous reseller: its id and the SHA-256 of the whole key, never
    the key. At most two are active per reseller (rotation)."""

    __tablename__ = "realtime_api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_code: Mapped[str] = mapped_column(
        ForeignKey("realtime_reseller.reseller_code"), index=True
    )
    key_id: Mapped[str] = mapped_column(String(8), unique=True)
    key_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class RealtimeSaleWindow(Base):
    """When a performance is on sale on a channel; no row, not on sale there."""

    __tablename__ = "realtime_sale_window"
    __table_args__ = (CheckConstraint("opens_at < closes_at", name="window_in_order"),)

    channel_id: Mapped[int] = mapped_column(ForeignKey("sales_channel.id"), primary_key=True)
    performance_id: Mapped[int] = mapped_column(ForeignKey("performance.id"), primary_key=True)
    opens_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RealtimeChannelTariff(Base):
    """A tariff opened on a channel for one category of a performance (its amount is the
    performance's ``Price``)."""

    __tablename__ = "realtime_channel_tariff"

    channel_id: Mapped[int] = mapped_column(ForeignKey("sales_channel.id"), primary_key=True)
    performance_id: Mapped[int] = mapped_column(ForeignKey("performance.id"), primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("seat_category.id"), primary_key=True)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariff.id"), primary_key=True)


class QuotaSharedChannel(Base):
    """Another channel that sells from a quota besides its owner (a ``shared`` quota)."""

    __tablename__ = "quota_shared_channel"

    quota_id: Mapped[int] = mapped_column(ForeignKey("quota.id"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("sales_channel.id"), primary_key=True)


class RealtimeHold(Base):
    """Places held for a synchronous reseller until ``expires_at`` (box-office clock)."""

    __tablename__ = "realtime_hold"
    __table_args__ = (Index("ix_realtime_hold_expiry", "expires_at", "released_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    reseller_code: Mapped[str] = mapped_column(ForeignKey("realtime_reseller.reseller_code"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_in: Mapped[int] = mapped_column(Integer)
    """The lifetime asked, in seconds."""
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    swept_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    """When the expiry sweep counted it expired (expiry itself never waits for it)."""
    order_id: Mapped[int | None] = mapped_column(ForeignKey("sales_order.id"), unique=True)

    places: Mapped[list[RealtimeHoldPlace]] = relationship(
        back_populates="hold", order_by="RealtimeHoldPlace.id"
    )


class RealtimeHoldPlace(Base):
    """One place of a hold: a seat, or one unit of a free-placement or pass count.

    ``seat_claim`` (``<performance id>:<seat id>``) is set while the hold may own its seat;
    its uniqueness keeps a seat in at most one hold (guarantee G1 of realtime-api-v1). It is
    cleared when the hold is released or ordered, or when another hold takes over the seat
    of an expired one.
    """

    __tablename__ = "realtime_hold_place"
    __table_args__ = (
        UniqueConstraint("hold_id", "code"),
        CheckConstraint("(seat_id IS NULL) OR (block_id IS NULL)", name="seat_or_count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hold_id: Mapped[int] = mapped_column(ForeignKey("realtime_hold.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    """Its id within the hold (``HP1``...)."""
    line: Mapped[int] = mapped_column(Integer)
    performance_id: Mapped[int] = mapped_column(ForeignKey("performance.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("seat_category.id"))
    quota_id: Mapped[int] = mapped_column(ForeignKey("quota.id"), index=True)
    seat_id: Mapped[int | None] = mapped_column(ForeignKey("seat.id"))
    block_id: Mapped[int | None] = mapped_column(ForeignKey("block.id"))
    """A free-placement unit: its block; a pass unit has neither seat nor block."""
    seat_claim: Mapped[str | None] = mapped_column(String(40), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), unique=True)
    recorded_amount: Mapped[int | None] = mapped_column(Integer)
    """What the pending account books for its ticket (section 9), once ordered."""

    hold: Mapped[RealtimeHold] = relationship(back_populates="places")


class RealtimeOrder(Base):
    """What a synchronous reseller's order adds to the box office's order."""

    __tablename__ = "realtime_order"
    __table_args__ = (Index("ix_realtime_order_changed", "reseller_code", "changed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), unique=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    reseller_code: Mapped[str] = mapped_column(ForeignKey("realtime_reseller.reseller_code"))
    hold_id: Mapped[int] = mapped_column(ForeignKey("realtime_hold.id"), unique=True)
    from_expired_hold: Mapped[bool] = mapped_column(Boolean)
    sold_at_as_sent: Mapped[str] = mapped_column(String(40))
    """``sold_at`` exactly as the reseller wrote it, offset included."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    warnings: Mapped[str] = mapped_column(Text, default="[]")
    """The price differences accepted under ``warn``, as JSON."""

    order: Mapped[Order] = relationship()


class RealtimeCancellation(Base):
    __tablename__ = "realtime_cancellation"
    __table_args__ = (
        UniqueConstraint("reseller_code", "reseller_cancellation_ref"),
        CheckConstraint("refund_amount >= 0", name="refund_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("realtime_order.id"), index=True)
    reseller_code: Mapped[str] = mapped_column(ForeignKey("realtime_reseller.reseller_code"))
    reseller_cancellation_ref: Mapped[str | None] = mapped_column(String(40))
    """Null when the organiser cancelled."""
    initiated_by: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    refund_amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[Currency] = mapped_column(_enum(Currency, "currency"))
    cancelled_at_as_sent: Mapped[str] = mapped_column(String(40))
    cancelled_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RealtimeCancellationTicket(Base):
    __tablename__ = "realtime_cancellation_ticket"

    cancellation_id: Mapped[int] = mapped_column(
        ForeignKey("realtime_cancellation.id"), primary_key=True
    )
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), primary_key=True, unique=True)


class RealtimeIdempotency(Base):
    """A ``POST``'s idempotency key and its stored response, written in the transaction of
    its effects (realtime-api-v1, section 6). Never the request's body: its fingerprint."""

    __tablename__ = "realtime_idempotency"
    __table_args__ = (
        UniqueConstraint("reseller_code", "method", "path", "idempotency_key"),
        Index("ix_realtime_idempotency_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_code: Mapped[str] = mapped_column(ForeignKey("realtime_reseller.reseller_code"))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(300))
    correlation_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
