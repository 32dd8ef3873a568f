"""What a reseller's dashboard shows, read from the box office: plain functions of a Session.

Each takes the reseller's code (journal rows, orders and onboarding states are
keyed by it) and returns small frozen dataclasses, never ORM objects, so that a
page is rendered after its session is closed. What is the partner's own (which
streams of files to expect, how late each may be) comes from its adapter's
``expected_streams``. The exchange journal is read through its own functions
(:mod:`reseller_sync.exchange.journal`), which never select a file's bytes
for a page — a partner's file may hold buyer contact details that the
organiser may not show or keep.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from reseller_sync.boxoffice.models import (
    Alert,
    Direction,
    OnboardingState,
    Order,
    Performance,
    Product,
    ResellerProduct,
    Tariff,
    Ticket,
    TicketState,
)
from reseller_sync.config.settings import InstanceSettings
from reseller_sync.core.resellers import adapter, reseller_type
from reseller_sync.exchange import journal
from reseller_sync.exchange.journal import DEFAULT_PAGE_SIZE as DEFAULT_PAGE_SIZE
from reseller_sync.exchange.journal import SUCCESS_STATES as SUCCESS_STATES
from reseller_sync.exchange.journal import FileDetail as FileDetail
from reseller_sync.exchange.journal import FileErrorRow as FileErrorRow
from reseller_sync.exchange.journal import FileLink as FileLink
from reseller_sync.exchange.journal import JournalEntry as JournalEntry
from reseller_sync.exchange.journal import JournalFilter as JournalFilter
from reseller_sync.exchange.journal import JournalPage as JournalPage
from reseller_sync.exchange.journal import SetAsideRecord as SetAsideRecord

MAX_ERRORS_SHOWN = 500


def onboarding_dag_id(reseller: str, product_code: str) -> str:
    """The onboarding DAG of a product, as ``reseller_sync.airflow.onboarding_dag`` names it."""
    return reseller_type(reseller).dag_id("onboarding", product_code)


# --------------------------------------------------------------------------- onboarding


@dataclass(frozen=True)
class ProductOnboarding:
    code: str
    name: str | None
    """None when the product is in the settings but not in the box office."""
    state: OnboardingState
    updated_at: dt.datetime | None
    dag_id: str


def onboarding_overview(
    session: Session, reseller: str, settings: InstanceSettings
) -> list[ProductOnboarding]:
    """Every product of the settings with its onboarding state (``not_started`` when none)."""
    codes = list(settings.product_codes)
    if not codes:
        return []
    rows = session.execute(
        select(Product.code, Product.name, ResellerProduct.state, ResellerProduct.updated_at)
        .outerjoin(
            ResellerProduct,
            and_(
                ResellerProduct.product_id == Product.id,
                ResellerProduct.reseller_code == reseller,
            ),
        )
        .where(Product.code.in_(codes))
    ).all()
    known = {row.code: row for row in rows}
    overview = []
    for code in codes:
        row = known.get(code)
        overview.append(
            ProductOnboarding(
                code=code,
                name=row.name if row else None,
                state=row.state if row and row.state else OnboardingState.NOT_STARTED,
                updated_at=row.updated_at if row else None,
                dag_id=onboarding_dag_id(reseller, code),
            )
        )
    return overview


# --------------------------------------------------------------------------- journal


def journal_page(session: Session, criteria: JournalFilter) -> JournalPage:
    """The files matching ``criteria``, newest first, one page of them."""
    return journal.listing(session, criteria)


def journal_file_types(session: Session, reseller: str) -> list[str]:
    """The file types of the reseller's journal (ACKs as ``ACK_<answered type>``)."""
    return journal.streams(session, reseller)


def file_detail(
    session: Session, reseller: str, file_id: int, max_errors: int = MAX_ERRORS_SHOWN
) -> FileDetail | None:
    """One of the reseller's journal entries with its line-level errors and related files;
    never its bytes. None when the reseller's journal has no such file."""
    return journal.file_detail(session, reseller, file_id, max_errors)


# --------------------------------------------------------------------------- lateness


@dataclass(frozen=True)
class StreamExpectation:
    """A stream of files a reseller's dashboard lists, even before its first file, and how
    late it may be: what the partner's contract says, given by its adapter."""

    direction: Direction
    file_type: str
    late_after: dt.timedelta | None = None
    """How old its last success may be; None: files of this type come when something happens."""
    answered_within: dt.timedelta | None = None
    """Outbound: how long the partner may take to answer a file sent; None: no answer awaited."""


@dataclass(frozen=True)
class StreamFreshness:
    """The last success of one stream of files (a direction and a type) and its age."""

    direction: Direction
    file_type: str
    last_name: str | None
    last_at: dt.datetime | None
    """Inbound: when it was integrated; outbound: when it was sent or acknowledged."""
    age: dt.timedelta | None
    late_after: dt.timedelta | None
    """None: files of this type come when something happens, not on a schedule."""
    blocked_by: str | None = None
    """A failed file that stops the stream until a person acts."""
    awaiting_ack: int = 0
    """Outbound: files sent longer ago than the partner answers within, not answered yet."""

    @property
    def overdue(self) -> bool:
        """The last success is older than the stream's cadence allows."""
        return self.late_after is not None and self.age is not None and self.age > self.late_after

    @property
    def late(self) -> bool:
        return self.overdue or self.awaiting_ack > 0

    @property
    def needs_attention(self) -> bool:
        return self.late or self.blocked_by is not None


def stream_freshness(
    session: Session, reseller: str, settings: InstanceSettings, now: dt.datetime
) -> list[StreamFreshness]:
    """Every stream the reseller's adapter expects, in its order, then any other its journal
    holds (ACK streams), with no lateness of their own."""
    expected = tuple(adapter(reseller).expected_streams(settings))
    present = journal.directed_streams(session, reseller)
    listed = {(stream.direction, stream.file_type) for stream in expected}
    others = sorted(set(present) - listed)
    streams = [*expected, *(StreamExpectation(direction, kind) for direction, kind in others)]
    return [_freshness(session, reseller, stream, now) for stream in streams]


def _freshness(
    session: Session, reseller: str, expected: StreamExpectation, now: dt.datetime
) -> StreamFreshness:
    direction, file_type = expected.direction, expected.file_type
    last = journal.last_success(session, reseller, direction, file_type)
    blocked_by = journal.first_failed(session, reseller, direction, file_type)
    awaiting_ack = 0
    if direction is Direction.OUTBOUND and expected.answered_within is not None:
        awaiting_ack = journal.count_unanswered(
            session, reseller, file_type, now - expected.answered_within
        )
    last_name, last_at = last if last else (None, None)
    return StreamFreshness(
        direction=direction,
        file_type=file_type,
        last_name=last_name,
        last_at=last_at,
        age=now - last_at if last_at else None,
        late_after=expected.late_after,
        blocked_by=blocked_by,
        awaiting_ack=awaiting_ack,
    )


def _aware(moment: dt.datetime) -> dt.datetime:
    """Stored timestamps are UTC; SQLite gives them back without their zone."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


# --------------------------------------------------------------------------- alerts


@dataclass(frozen=True)
class AlertRow:
    id: int
    created_at: dt.datetime
    category: str
    kind: str
    subject: str
    delivered: bool
    delivery_error: str | None
    dag_id: str | None
    task_id: str | None
    file_name: str | None


def latest_alerts(session: Session, limit: int = 20) -> list[AlertRow]:
    """The latest alerts, newest first, delivered by e-mail or not."""
    rows = session.execute(
        select(
            Alert.id,
            Alert.created_at,
            Alert.category,
            Alert.kind,
            Alert.subject,
            Alert.delivered,
            Alert.delivery_error,
            Alert.dag_id,
            Alert.task_id,
            Alert.file_name,
        )
        .order_by(Alert.created_at.desc(), Alert.id.desc())
        .limit(limit)
    ).all()
    return [AlertRow(**{**row._mapping, "created_at": _aware(row.created_at)}) for row in rows]


# --------------------------------------------------------------------------- sales


@dataclass(frozen=True)
class SalesLine:
    """A reseller's sales of one point of sale, performance, product or tariff."""

    key: str
    label: str
    tickets: int
    amounts: dict[str, int]
    """Cents by currency: EUR and CHF are never added together."""
    cancelled: int
    """Tickets of these sales cancelled since."""


@dataclass(frozen=True)
class DaySales:
    """A reseller's sales of one day in the organiser's time zone; test tickets left out."""

    day: dt.date
    timezone: str
    orders: int
    tickets: int
    amounts: dict[str, int]
    cancelled: int
    by_point_of_sale: list[SalesLine]
    by_performance: list[SalesLine]
    by_product: list[SalesLine]
    by_tariff: list[SalesLine]


def organiser_timezone(settings: InstanceSettings) -> ZoneInfo:
    return ZoneInfo(settings.boxoffice.venue_timezone)


def organiser_today(settings: InstanceSettings, now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(dt.UTC)).astimezone(organiser_timezone(settings)).date()


def day_bounds(settings: InstanceSettings, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC start and end of a day of the organiser's time zone (DST-aware)."""
    zone = organiser_timezone(settings)
    start = dt.datetime.combine(day, dt.time(), zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def day_sales(
    session: Session, reseller: str, settings: InstanceSettings, day: dt.date
) -> DaySales:
    """The reseller's tickets sold on ``day``: totals, by point of sale, performance, product,
    tariff."""
    start, end = day_bounds(settings, day)
    sold_that_day = (
        Order.reseller_code == reseller,
        Order.is_test.is_(False),
        Ticket.is_test.is_(False),
        Order.sold_at >= start,
        Order.sold_at < end,
    )
    orders = (
        session.scalar(
            select(func.count(func.distinct(Order.id))).join(Ticket).where(*sold_that_day)
        )
        or 0
    )
    totals = _grouped(session, sold_that_day)
    total = totals[0] if totals else SalesLine("", "", 0, {}, 0)
    product = aliased(Product)
    to_product = (
        (Performance, Ticket.performance_id == Performance.id),
        (product, Performance.product_id == product.id),
    )
    return DaySales(
        day=day,
        timezone=settings.boxoffice.venue_timezone,
        orders=orders,
        tickets=total.tickets,
        amounts=total.amounts,
        cancelled=total.cancelled,
        by_point_of_sale=_grouped(
            session,
            sold_that_day,
            group_by=(func.coalesce(Order.reseller_point_of_sale_code, "?"),),
            shown=(func.max(Order.reseller_point_of_sale_name),),
            label=lambda code, name: f"{name} ({code})" if name else code,
        ),
        by_performance=_grouped(
            session,
            sold_that_day,
            group_by=(
                Performance.id,
                product.code,
                Performance.code,
                Performance.starts_at,
                Performance.valid_from,
                Performance.valid_until,
            ),
            joins=to_product,
            label=_performance_label,
        ),
        by_product=_grouped(
            session,
            sold_that_day,
            group_by=(product.code, product.name),
            joins=to_product,
            label=lambda code, name: f"{name} ({code})",
        ),
        by_tariff=_grouped(
            session,
            sold_that_day,
            group_by=(Tariff.code, Tariff.name),
            joins=((Tariff, Ticket.tariff_id == Tariff.id),),
            label=lambda code, name: f"{name} ({code})",
        ),
    )


def _grouped(
    session: Session,
    conditions: tuple[Any, ...],
    *,
    group_by: tuple[Any, ...] = (),
    shown: tuple[Any, ...] = (),
    joins: tuple[tuple[Any, Any], ...] = (),
    label: Callable[..., str] | None = None,
) -> list[SalesLine]:
    """Tickets, amount by currency and cancellations of the tickets sold, by ``group_by``.

    ``shown`` are aggregates shown beside the group (a name); ``label`` turns the
    group's and the shown values, in that order, into the line's label; the
    first value is the line's key. Most tickets first.
    """
    statement = select(
        *group_by,
        *shown,
        Ticket.currency,
        func.count(Ticket.id).label("tickets"),
        func.sum(Ticket.price).label("amount"),
        func.sum(case((Ticket.state == TicketState.CANCELLED, 1), else_=0)).label("cancelled"),
    ).join(Order, Ticket.order_id == Order.id)
    for target, on in joins:
        statement = statement.join(target, on)
    statement = statement.where(*conditions).group_by(*group_by, Ticket.currency)
    width = len(group_by) + len(shown)
    groups: dict[tuple[Any, ...], _Group] = {}
    for row in session.execute(statement):
        values = tuple(row[:width])
        group = groups.setdefault(values[: len(group_by)], _Group(values))
        group.tickets += row.tickets
        group.amounts[row.currency.value] += int(row.amount or 0)
        group.cancelled += int(row.cancelled or 0)
    lines = [
        SalesLine(
            key=":".join(str(value) for value in group.values[:1]),
            label=label(*group.values) if label else "",
            tickets=group.tickets,
            amounts=dict(sorted(group.amounts.items())),
            cancelled=group.cancelled,
        )
        for group in groups.values()
    ]
    return sorted(lines, key=lambda line: (-line.tickets, line.label, line.key))


@dataclass
class _Group:
    values: tuple[Any, ...]
    tickets: int = 0
    amounts: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    cancelled: int = 0


def _performance_label(
    _performance_id: int,
    product_code: str,
    code: str,
    starts_at: dt.datetime | None,
    valid_from: dt.date | None,
    valid_until: dt.date | None,
) -> str:
    if starts_at is not None:
        when = starts_at.strftime("%Y-%m-%d %H:%M")
    elif valid_from or valid_until:
        when = f"{valid_from or '…'} → {valid_until or '…'}"
    else:
        when = "undated"
    return f"{product_code} {code} · {when}"
