"""What a reseller's dashboard shows, read from the box office: plain functions of a Session.

Each takes the reseller's code (journal rows, orders and onboarding states are
keyed by it) and returns small frozen dataclasses, never ORM objects, so that a
page is rendered after its session is closed. What is the partner's own (which
streams of files to expect, how late each may be) comes from its adapter's
``expected_streams``. The exchange journal is read column by column: a file's
bytes (``ExchangeFile.content``) are never selected — a partner's file may hold
buyer contact details that the organiser may not show or keep.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from reseller_sync.boxoffice.models import (
    Alert,
    Direction,
    ExchangeFile,
    ExchangeFileError,
    FileState,
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

DEFAULT_PAGE_SIZE = 50
MAX_ERRORS_SHOWN = 500

SUCCESS_STATES = {
    Direction.INBOUND: (FileState.INTEGRATED,),
    Direction.OUTBOUND: (FileState.SENT, FileState.ACKNOWLEDGED),
}


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


@dataclass(frozen=True)
class JournalFilter:
    """What the journal list shows: every criterion optional, pages from 1."""

    reseller: str | None = None
    """Whose files: a reseller's code (a dashboard's journal); None: every reseller's."""
    direction: Direction | None = None
    file_type: str | None = None
    state: FileState | None = None
    search: str | None = None
    """Part of a file name, of its error message, or of a line-level error."""
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class JournalEntry:
    id: int
    name: str
    direction: Direction
    file_type: str
    sequence: int
    state: FileState
    size: int
    line_count: int | None
    product_code: str | None
    created_at: dt.datetime
    processed_at: dt.datetime | None
    error_category: str | None
    error_message: str | None
    error_count: int


@dataclass(frozen=True)
class JournalPage:
    entries: list[JournalEntry]
    total: int
    filter: JournalFilter

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.filter.page_size))

    @property
    def has_previous(self) -> bool:
        return self.filter.page > 1

    @property
    def has_next(self) -> bool:
        return self.filter.page < self.pages


def _error_count() -> Any:
    return (
        select(func.count(ExchangeFileError.id))
        .where(ExchangeFileError.file_id == ExchangeFile.id)
        .correlate(ExchangeFile)
        .scalar_subquery()
    )


def _entry_columns() -> tuple[Any, ...]:
    """The journal's columns a page may show: everything but the bytes."""
    return (
        ExchangeFile.id,
        ExchangeFile.name,
        ExchangeFile.direction,
        ExchangeFile.file_type,
        ExchangeFile.sequence,
        ExchangeFile.state,
        ExchangeFile.size,
        ExchangeFile.line_count,
        ExchangeFile.product_code,
        ExchangeFile.created_at,
        ExchangeFile.processed_at,
        ExchangeFile.error_category,
        ExchangeFile.error_message,
        _error_count().label("error_count"),
    )


def _entry(row: Any) -> JournalEntry:
    return JournalEntry(**row._mapping)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(statement: Select[Any], criteria: JournalFilter) -> Select[Any]:
    if criteria.reseller is not None:
        statement = statement.where(ExchangeFile.reseller_code == criteria.reseller)
    if criteria.direction is not None:
        statement = statement.where(ExchangeFile.direction == criteria.direction)
    if criteria.file_type:
        statement = statement.where(ExchangeFile.file_type == criteria.file_type)
    if criteria.state is not None:
        statement = statement.where(ExchangeFile.state == criteria.state)
    if criteria.search and criteria.search.strip():
        pattern = _like(criteria.search.strip())
        in_errors = (
            select(ExchangeFileError.id)
            .where(
                ExchangeFileError.file_id == ExchangeFile.id,
                or_(
                    ExchangeFileError.reason.ilike(pattern, escape="\\"),
                    ExchangeFileError.value.ilike(pattern, escape="\\"),
                    ExchangeFileError.code.ilike(pattern, escape="\\"),
                ),
            )
            .correlate(ExchangeFile)
            .exists()
        )
        statement = statement.where(
            or_(
                ExchangeFile.name.ilike(pattern, escape="\\"),
                ExchangeFile.error_message.ilike(pattern, escape="\\"),
                in_errors,
            )
        )
    return statement


def journal_page(session: Session, criteria: JournalFilter) -> JournalPage:
    """The files matching ``criteria``, newest first, one page of them."""
    total = session.scalar(_filtered(select(func.count(ExchangeFile.id)), criteria)) or 0
    page = max(1, criteria.page)
    rows = session.execute(
        _filtered(select(*_entry_columns()), criteria)
        .order_by(ExchangeFile.created_at.desc(), ExchangeFile.id.desc())
        .limit(criteria.page_size)
        .offset((page - 1) * criteria.page_size)
    ).all()
    return JournalPage([_entry(row) for row in rows], total, criteria)


def journal_file_types(session: Session, reseller: str) -> list[str]:
    """The file types of the reseller's journal (ACKs as ``ACK_<answered type>``)."""
    return sorted(
        session.scalars(
            select(ExchangeFile.file_type).where(ExchangeFile.reseller_code == reseller).distinct()
        )
    )


@dataclass(frozen=True)
class FileLink:
    id: int
    name: str
    state: FileState


@dataclass(frozen=True)
class FileErrorRow:
    line: int | None
    column: str | None
    value: str | None
    code: str | None
    reason: str


@dataclass(frozen=True)
class SetAsideRecord:
    """Who set a failed file aside, when and why."""

    by: str
    at: dt.datetime
    reason: str


@dataclass(frozen=True)
class FileDetail:
    entry: JournalEntry
    sha256: str
    errors: list[FileErrorRow]
    duplicate_of: FileLink | None = None
    answers: FileLink | None = None
    """For an ACK: the file it answers."""
    answered_by: list[FileLink] = field(default_factory=list)
    """For a sent file: the ACKs that answer it."""
    set_aside: SetAsideRecord | None = None

    @property
    def errors_not_shown(self) -> int:
        return self.entry.error_count - len(self.errors)

    @property
    def can_be_set_aside(self) -> bool:
        """A failed file from the reseller: a person may set it aside (``journal.set_aside``)."""
        return self.entry.direction is Direction.INBOUND and self.entry.state is FileState.FAILED


def file_detail(
    session: Session, reseller: str, file_id: int, max_errors: int = MAX_ERRORS_SHOWN
) -> FileDetail | None:
    """One of the reseller's journal entries with its line-level errors and related files;
    never its bytes. None when the reseller's journal has no such file."""
    row = session.execute(
        select(*_entry_columns(), ExchangeFile.sha256, ExchangeFile.duplicate_of_id)
        .add_columns(
            ExchangeFile.answers_file_id,
            ExchangeFile.set_aside_by,
            ExchangeFile.set_aside_at,
            ExchangeFile.set_aside_reason,
        )
        .where(ExchangeFile.id == file_id, ExchangeFile.reseller_code == reseller)
    ).one_or_none()
    if row is None:
        return None
    values = dict(row._mapping)
    sha256 = values.pop("sha256")
    duplicate_of_id = values.pop("duplicate_of_id")
    answers_file_id = values.pop("answers_file_id")
    set_aside_by, set_aside_at, set_aside_reason = (
        values.pop("set_aside_by"),
        values.pop("set_aside_at"),
        values.pop("set_aside_reason"),
    )
    errors = session.execute(
        select(
            ExchangeFileError.line,
            ExchangeFileError.column,
            ExchangeFileError.value,
            ExchangeFileError.code,
            ExchangeFileError.reason,
        )
        .where(ExchangeFileError.file_id == file_id)
        .order_by(ExchangeFileError.line.is_(None), ExchangeFileError.line, ExchangeFileError.id)
        .limit(max_errors)
    ).all()
    answered_by = session.execute(
        select(ExchangeFile.id, ExchangeFile.name, ExchangeFile.state)
        .where(ExchangeFile.answers_file_id == file_id)
        .order_by(ExchangeFile.id)
    ).all()
    return FileDetail(
        entry=JournalEntry(**values),
        sha256=sha256,
        errors=[FileErrorRow(**error._mapping) for error in errors],
        duplicate_of=_link(session, duplicate_of_id),
        answers=_link(session, answers_file_id),
        answered_by=[FileLink(**link._mapping) for link in answered_by],
        set_aside=SetAsideRecord(set_aside_by, _aware(set_aside_at), set_aside_reason or "")
        if set_aside_by and set_aside_at
        else None,
    )


def _link(session: Session, file_id: int | None) -> FileLink | None:
    if file_id is None:
        return None
    row = session.execute(
        select(ExchangeFile.id, ExchangeFile.name, ExchangeFile.state).where(
            ExchangeFile.id == file_id
        )
    ).one_or_none()
    return FileLink(**row._mapping) if row else None


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
    present = session.execute(
        select(ExchangeFile.direction, ExchangeFile.file_type)
        .where(ExchangeFile.reseller_code == reseller)
        .distinct()
    ).all()
    listed = {(stream.direction, stream.file_type) for stream in expected}
    others = sorted({(row.direction, row.file_type) for row in present} - listed)
    streams = [*expected, *(StreamExpectation(direction, kind) for direction, kind in others)]
    return [_freshness(session, reseller, stream, now) for stream in streams]


def _freshness(
    session: Session, reseller: str, expected: StreamExpectation, now: dt.datetime
) -> StreamFreshness:
    direction, file_type = expected.direction, expected.file_type
    stream = (
        ExchangeFile.reseller_code == reseller,
        ExchangeFile.direction == direction,
        ExchangeFile.file_type == file_type,
    )
    moment = func.coalesce(ExchangeFile.processed_at, ExchangeFile.created_at)
    last = session.execute(
        select(ExchangeFile.name, moment.label("at"))
        .where(*stream, ExchangeFile.state.in_(SUCCESS_STATES[direction]))
        .order_by(moment.desc(), ExchangeFile.id.desc())
        .limit(1)
    ).one_or_none()
    blocked_by = session.scalar(
        select(ExchangeFile.name)
        .where(*stream, ExchangeFile.state == FileState.FAILED)
        .order_by(ExchangeFile.sequence)
        .limit(1)
    )
    awaiting_ack = 0
    if direction is Direction.OUTBOUND and expected.answered_within is not None:
        awaiting_ack = (
            session.scalar(
                select(func.count(ExchangeFile.id)).where(
                    *stream,
                    ExchangeFile.state == FileState.SENT,
                    ExchangeFile.processed_at < now - expected.answered_within,
                )
            )
            or 0
        )
    last_at = _aware(_as_datetime(last.at)) if last else None
    return StreamFreshness(
        direction=direction,
        file_type=file_type,
        last_name=last.name if last else None,
        last_at=last_at,
        age=now - last_at if last_at else None,
        late_after=expected.late_after,
        blocked_by=blocked_by,
        awaiting_ack=awaiting_ack,
    )


def _as_datetime(value: dt.datetime | str) -> dt.datetime:
    """SQLite returns ``coalesce`` of two timestamps as text."""
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


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
