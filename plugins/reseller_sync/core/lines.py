"""Canonical lines: what every adapter turns its partner's records into, in box-office words.

Three kinds of line, each a pandas frame with a fixed schema (never a Python
object per record), so that a million tickets stay columnar from the
partner's reader to the bulk writes:

* :data:`SALE_LINES`: one line per ticket sold;
* :data:`CANCELLATION_LINES`: one line per ticket cancelled (and refunded);
* :data:`TICKET_STATE_LINES`: one line per ticket whose state changed, for
  resellers that report ticket states rather than sale and cancellation
  events (integrated by ``integration.ticket_states``).

Identifiers of the box office (performance, seat, block, category, tariff)
are its integer ids, resolved by the adapter through its mappings; the
reseller's own references (order, ticket, cancellation, point of sale,
tariff) are kept as text. Amounts are whole cents. The line number of the
partner's record (as its file counts them, 1 being the first data line) is
the frame's index, named ``line``: every problem found on a line names it.

A frame that does not conform (a column missing, extra, of another dtype, or
null where a value is required) is a bug in the adapter that built it:
:meth:`LineSchema.check` raises :class:`TechnicalError`. The checks are
vectorised and cost a few milliseconds per hundred thousand lines.

Problems found on lines name the partner's column: an adapter gives, with its
settings, the partner's name of each canonical column (see
``integration.settings.IntegrationSettings.columns``), and each
:class:`LineBatch` may carry the partner's records (``source``) whose values
the problems quote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import pandas as pd

from reseller_sync.domain.errors import Problem, TechnicalError

LINE_INDEX = "line"
"""The index of every line frame: the partner's record number."""

ProblemKind = Literal["mapping", "external"]
"""A value with no mapping (a person fixes the mapping), or a record that does not match
the box office (the partner or the box office corrects it)."""


@dataclass(frozen=True)
class LineColumn:
    name: str
    dtype: str
    """The pandas dtype, by name: ``str`` (Arrow-backed text), ``int64``, ``Int64``
    (nullable integer), ``datetime64[us, UTC]``."""
    nullable: bool = False
    doc: str = ""


@dataclass(frozen=True)
class LineSchema:
    """A fixed list of (column, dtype): the columns of one kind of canonical line."""

    kind: str
    columns: tuple[LineColumn, ...]
    one_of: tuple[tuple[str, ...], ...] = ()
    """Groups of nullable columns of which each line fills at least one."""
    values: tuple[tuple[str, frozenset[str]], ...] = ()
    """Columns whose values are taken from a closed list."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def dtypes(self) -> tuple[tuple[str, str], ...]:
        return tuple((column.name, column.dtype) for column in self.columns)

    def empty(self) -> pd.DataFrame:
        """A frame of no line, conforming."""
        return pd.DataFrame(
            {column.name: pd.Series([], dtype=column.dtype) for column in self.columns},
            index=pd.Index([], dtype="int64", name=LINE_INDEX),
        )

    def violations(self, frame: pd.DataFrame) -> list[str]:
        """What is wrong with ``frame`` as lines of this kind; empty when it conforms."""
        found: list[str] = []
        expected = self.names
        missing = [name for name in expected if name not in frame.columns]
        extra = [str(name) for name in frame.columns if name not in expected]
        if missing:
            found.append("missing column(s) " + ", ".join(missing))
        if extra:
            found.append("unexpected column(s) " + ", ".join(extra))
        if frame.index.name != LINE_INDEX or not pd.api.types.is_integer_dtype(frame.index):
            found.append(f"the index must be the partner's line numbers, named {LINE_INDEX!r}")
        elif not frame.index.is_unique:
            found.append("a line number appears twice")
        for column in self.columns:
            if column.name not in frame.columns:
                continue
            series = frame[column.name]
            if series.dtype != column.dtype:
                found.append(f"{column.name} is {series.dtype}, expected {column.dtype}")
            elif not column.nullable and series.hasnans:
                lines = frame.index[series.isna()][:5].tolist()
                found.append(f"{column.name} is empty on line(s) {lines}")
        if found:
            return found
        for group in self.one_of:
            none = frame[list(group)].isna().all(axis=1)
            if none.any():
                lines = frame.index[none][:5].tolist()
                found.append(f"none of {', '.join(group)} is given on line(s) {lines}")
        for name, allowed in self.values:
            other = ~frame[name].isin(list(allowed)) & frame[name].notna()
            if other.any():
                shown = sorted({str(v) for v in frame.loc[other, name].head(5)})
                found.append(f"{name} has value(s) {shown}, expected one of {sorted(allowed)}")
        return found

    def check(self, frame: pd.DataFrame, *, by: str) -> pd.DataFrame:
        """Return ``frame`` if it conforms; raise :class:`TechnicalError` otherwise.

        ``by`` names who built the frame (the adapter), for the bug report.
        """
        found = self.violations(frame)
        if found:
            raise TechnicalError(
                f"{by} built {self.kind} lines that do not conform: " + "; ".join(found),
                action="A bug in the reseller's adapter: report it to the developers; "
                "nothing was written.",
            )
        return frame


def _text(name: str, doc: str, *, nullable: bool = False) -> LineColumn:
    return LineColumn(name, "str", nullable, doc)


def _id(name: str, doc: str, *, nullable: bool = False) -> LineColumn:
    return LineColumn(name, "Int64" if nullable else "int64", nullable, doc)


def _cents(name: str, doc: str, *, nullable: bool = False) -> LineColumn:
    return LineColumn(name, "Int64" if nullable else "int64", nullable, doc)


def _instant(name: str, doc: str) -> LineColumn:
    return LineColumn(name, "datetime64[us, UTC]", False, doc)


_SALE_COLUMNS = (
    _text("reseller_order_ref", "the reseller's order: its tickets become one box-office order"),
    _text(
        "reseller_ticket_ref",
        "the reseller's ticket, unique forever (the barcode for a reseller that has no ticket id)",
    ),
    _text("barcode", "printed on the ticket; access control accepts it"),
    _id("performance_id", "the box-office performance (a pass's single performance)"),
    _id("seat_id", "the seat, for a numbered seat; else null", nullable=True),
    _id(
        "block_id",
        "the free-placement block, for an unnumbered place; null for a seat or a pass",
        nullable=True,
    ),
    _id("category_id", "the box-office seat category"),
    _id("tariff_id", "the box-office tariff"),
    _text(
        "reseller_tariff_ref",
        "the reseller's own code for the tariff (customer category, price type), kept on the "
        "ticket",
        nullable=True,
    ),
    _cents("price", "what the customer paid, the reseller's commission included"),
    _cents("commission", "the reseller's commission, included in price"),
    _text("currency", "ISO 4217 code: EUR or CHF"),
    _text("beneficiary_first_name", "the ticket holder's first name", nullable=True),
    _text("beneficiary_last_name", "the ticket holder's last name", nullable=True),
    _text("point_of_sale_ref", "the reseller's shop or channel where the order was paid"),
    _text("point_of_sale_name", "its name, for reports", nullable=True),
    _instant("sold_at", "when the customer paid"),
)

SALE_LINES = LineSchema("sale", _SALE_COLUMNS)
"""One line per ticket sold. ``seat_id`` and ``block_id`` are both null for a pass."""

CANCELLATION_LINES = LineSchema(
    "cancellation",
    (
        _text(
            "reseller_cancellation_ref",
            "the reseller's cancellation, unique forever; one ticket's (the box office keeps "
            "it on the ticket)",
        ),
        _text(
            "reseller_order_ref",
            "the order the reseller says the ticket belongs to, checked when given",
            nullable=True,
        ),
        _text("reseller_ticket_ref", "the ticket cancelled, by the reseller's id", nullable=True),
        _text(
            "barcode",
            "the ticket's barcode: access control refuses it from now on; identifies the ticket "
            "when no reseller_ticket_ref is given, else is checked against it",
            nullable=True,
        ),
        _cents("refund_amount", "what the customer got back, at most what they paid"),
        _text("currency", "ISO 4217 code of the refund, the ticket's"),
        _instant("cancelled_at", "when the reseller cancelled"),
    ),
    one_of=(("reseller_ticket_ref", "barcode"),),
)
"""One line per ticket cancelled: the ticket is cancelled, its barcode refused, its place
back in the reseller's quota, and the refund booked on the pending account."""


class LineTicketState(StrEnum):
    """A ticket's state as a state-based reseller reports it, in box-office words."""

    SOLD = "sold"
    """Sold and paid, not printed yet: access control accepts it."""
    PRINTED = "printed"
    """Sold, paid and printed (or sent): access control accepts it."""
    CANCELLED = "cancelled"
    """Cancelled, no money returned (yet): refused, its place back in the quota."""
    REFUNDED = "refunded"
    """Cancelled and refunded (``refund_amount``): refused, its place back in the quota."""


TICKET_STATE_LINES = LineSchema(
    "ticket state",
    (
        *_SALE_COLUMNS,
        LineColumn("state", "str", False, "the ticket's current state: a LineTicketState value"),
        _instant("state_changed_at", "when the ticket entered its state (or its names changed)"),
        _cents("refund_amount", "what the customer got back, for a refunded ticket", nullable=True),
    ),
    values=(("state", frozenset(state.value for state in LineTicketState)),),
)
"""One line per ticket whose state changed, with the whole sale: the barcode identifies the
ticket (``reseller_ticket_ref`` is the barcode too)."""


@dataclass
class LineProblems:
    """Problems found on lines, sorted by kind; each names a file, a line and a column."""

    mapping: list[Problem] = field(default_factory=list)
    external: list[Problem] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.mapping or self.external)

    def of(self, kind: ProblemKind) -> list[Problem]:
        return self.mapping if kind == "mapping" else self.external

    def extend(self, other: LineProblems) -> None:
        self.mapping.extend(other.mapping)
        self.external.extend(other.external)


@dataclass(frozen=True)
class LineBatch:
    """Lines of one kind from a part of a partner's file (or call), with what the adapter
    found wrong in that part.

    ``problems`` are the records the adapter could not turn into lines (they are not in
    ``lines``); ``source`` is the partner's records of the part, indexed by line, whose
    values the integration's problems quote; ``records`` the partner's records read.
    """

    lines: pd.DataFrame
    problems: LineProblems = field(default_factory=LineProblems)
    source: pd.DataFrame | None = None
    records: int | None = None

    @property
    def read(self) -> int:
        return len(self.lines) if self.records is None else self.records


class LineKind(StrEnum):
    SALES = "sales"
    CANCELLATIONS = "cancellations"
    TICKET_STATES = "ticket_states"


@dataclass(frozen=True)
class InboundLines:
    """A partner file's (or batch's) records as canonical lines of one kind, in its order.

    ``batches`` may be lazy (the reader's chunks): the integration takes them one at a
    time. ``is_test`` marks test tickets (an onboarding's test sales).
    """

    kind: LineKind
    batches: Iterable[LineBatch]
    is_test: bool = False
    locate: Callable[[Problem], Problem] | None = None
    """Where a problem the integration names by the unit and a line number lies, when a
    unit's lines are numbered across several files (a batch's parts): its file and record."""
    file_name: str | None = None
    """The file the lines are from, when it is not the unit's name (a data file landed
    under its control file): problems and references name it."""


def as_batches(
    lines: pd.DataFrame | LineBatch | Iterable[pd.DataFrame | LineBatch],
) -> Iterable[LineBatch]:
    """Batches from a frame of lines, one batch, or a sequence of either."""
    if isinstance(lines, pd.DataFrame | LineBatch):
        lines = [lines]
    return (part if isinstance(part, LineBatch) else LineBatch(part) for part in lines)
