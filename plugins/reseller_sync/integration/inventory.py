"""A reseller's view of the places it holds, reconciled with the box office's, in box-office
words (the nightly reconciliation of any reseller that reports its inventory).

The adapter turns the reseller's snapshot into a :class:`PartnerInventory`: the
seats it holds, each sold or not, and per free-placement block the places it
holds and has sold, by box-office ids. The box office says which places it
gives the reseller (its quota on each performance) and which of them the
reseller sold (its tickets integrated, counted as they stood at the snapshot).
Four kinds of difference come out, seat by seat and block by block:

- places the reseller holds that the box office does not give it, and the reverse
  (a place whose withdrawal awaits the reseller's answer is not missing there);
- places the reseller sold whose sale is not integrated, and the reverse.

Differences are findings for a person, not a failure: nothing is changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import pandas as pd
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    Order,
    PlaceWithdrawal,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    SalesChannel,
    Ticket,
    TicketState,
    WithdrawalState,
)
from reseller_sync.domain.errors import Problem

SEAT_COLUMNS = ("performance_id", "seat_id")
BLOCK_COLUMNS = ("performance_id", "block_id")


class PlaceDifferenceKind(StrEnum):
    HELD_NOT_GIVEN = "held_not_given"
    """The reseller holds places the box office does not give it."""
    GIVEN_NOT_HELD = "given_not_held"
    """The box office gives the reseller places it does not hold."""
    SOLD_NOT_INTEGRATED = "sold_not_integrated"
    """The reseller sold places whose sale is not in the box office."""
    INTEGRATED_NOT_SOLD = "integrated_not_sold"
    """The box office integrated a sale the reseller reports unsold."""


@dataclass(frozen=True)
class PartnerInventory:
    """A reseller's snapshot in box-office ids.

    ``seats``: ``performance_id``, ``seat_id``, ``sold`` (bool), one row per seat it holds;
    ``free``: ``performance_id``, ``block_id``, ``held``, ``sold`` (places), one row per
    free-placement block it holds places of. ``unresolved``: the snapshot's records that
    name no place of the box office, reported as they are.
    """

    snapshot: dt.datetime
    seats: pd.DataFrame
    free: pd.DataFrame
    unresolved: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class PlaceDifference:
    kind: PlaceDifferenceKind
    performance_id: int
    block_id: int | None
    """The free-placement block, for places of one (else None)."""
    seat_id: int | None
    quantity: int
    """1 for a seat; for a block, how many places differ."""
    reseller: str
    """What the reseller says."""
    box_office: str
    """What the box office says."""


@dataclass(frozen=True)
class InventoryComparison:
    differences: tuple[PlaceDifference, ...] = ()
    unresolved: tuple[Problem, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.differences and not self.unresolved


def compare_inventory(
    session: Session,
    reseller: str,
    quota: str,
    inventory: PartnerInventory,
    performance_ids: Sequence[int],
) -> InventoryComparison:
    """Every difference between the reseller's snapshot and the box office on the given
    performances (those the reseller holds or was given places of)."""
    given_seats, given_free = _given(session, reseller, quota, performance_ids)
    sold_seats, sold_free = _sold(session, reseller, performance_ids, inventory.snapshot)
    pending_seats, pending_free = _pending(session, reseller, quota, performance_ids)
    differences = _seat_differences(inventory.seats, given_seats, sold_seats, pending_seats)
    differences += _free_differences(inventory.free, given_free, sold_free, pending_free)
    counts: dict[str, int] = {}
    for difference in differences:
        counts[difference.kind.value] = counts.get(difference.kind.value, 0) + 1
    return InventoryComparison(tuple(differences), inventory.unresolved, counts)


def _quota_ids(reseller: str, quota: str, performance_ids: Sequence[int]) -> Select[int]:
    return (
        select(Quota.id)
        .join(SalesChannel, Quota.channel_id == SalesChannel.id)
        .where(
            SalesChannel.reseller_code == reseller,
            Quota.code == quota,
            Quota.performance_id.in_(list(performance_ids)),
        )
    )


def _frame(rows: Sequence[Sequence[object]], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(row) for row in rows], columns=list(columns))


def _given(
    session: Session, reseller: str, quota: str, performance_ids: Sequence[int]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    quotas = _quota_ids(reseller, quota, performance_ids)
    seats = session.execute(
        select(QuotaSeat.performance_id, QuotaSeat.seat_id).where(QuotaSeat.quota_id.in_(quotas))
    ).all()
    free = session.execute(
        select(Quota.performance_id, QuotaFreePlaces.block_id, QuotaFreePlaces.places)
        .join(Quota, Quota.id == QuotaFreePlaces.quota_id)
        .where(QuotaFreePlaces.quota_id.in_(quotas))
    ).all()
    return _frame(seats, SEAT_COLUMNS), _frame(free, [*BLOCK_COLUMNS, "given"])


def _sold(
    session: Session, reseller: str, performance_ids: Sequence[int], snapshot: dt.datetime
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reseller's tickets that stood sold at ``snapshot`` (test tickets included: a
    reseller counts them sold until it cancels them)."""
    standing = and_(
        Ticket.reseller_code == reseller,
        Ticket.performance_id.in_(list(performance_ids)),
        Order.sold_at <= snapshot,
        or_(
            Ticket.state == TicketState.VALID,
            and_(Ticket.cancelled_at.is_not(None), Ticket.cancelled_at > snapshot),
        ),
    )
    seats = session.execute(
        select(Ticket.performance_id, Ticket.seat_id)
        .join(Order, Order.id == Ticket.order_id)
        .where(standing, Ticket.seat_id.is_not(None))
    ).all()
    free = session.execute(
        select(Ticket.performance_id, Ticket.block_id, func.count())
        .join(Order, Order.id == Ticket.order_id)
        .where(standing, Ticket.seat_id.is_(None), Ticket.block_id.is_not(None))
        .group_by(Ticket.performance_id, Ticket.block_id)
    ).all()
    return _frame(seats, SEAT_COLUMNS), _frame(free, [*BLOCK_COLUMNS, "sold"])


def _pending(
    session: Session, reseller: str, quota: str, performance_ids: Sequence[int]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Places whose withdrawal was sent and not answered: the reseller may hold them no
    more already."""
    waiting = and_(
        PlaceWithdrawal.quota_id.in_(_quota_ids(reseller, quota, performance_ids)),
        PlaceWithdrawal.state == WithdrawalState.SENT,
    )
    seats = session.execute(
        select(PlaceWithdrawal.performance_id, PlaceWithdrawal.seat_id).where(
            waiting, PlaceWithdrawal.seat_id.is_not(None)
        )
    ).all()
    free = session.execute(
        select(
            PlaceWithdrawal.performance_id, PlaceWithdrawal.block_id, PlaceWithdrawal.places
        ).where(waiting, PlaceWithdrawal.block_id.is_not(None))
    ).all()
    return _frame(seats, SEAT_COLUMNS), _frame(free, [*BLOCK_COLUMNS, "pending"])


def _flag(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    return frame[list(SEAT_COLUMNS)].astype("int64").drop_duplicates().assign(**{name: True})


def _seat_differences(
    held: pd.DataFrame, given: pd.DataFrame, sold: pd.DataFrame, pending: pd.DataFrame
) -> list[PlaceDifference]:
    keys = list(SEAT_COLUMNS)
    merged = (
        held.astype({"performance_id": "int64", "seat_id": "int64"})
        .assign(held=True)
        .merge(_flag(given, "given"), on=keys, how="outer")
        .merge(_flag(sold, "integrated"), on=keys, how="left")
        .merge(_flag(pending, "pending"), on=keys, how="left")
    )
    is_held = merged["held"].eq(True)
    is_given = merged["given"].eq(True)
    reseller_sold = is_held & merged["sold"].eq(True)
    integrated = merged["integrated"].eq(True)
    pending = merged["pending"].eq(True)
    said = pd.Series("absent", index=merged.index).where(
        ~is_held, reseller_sold.map({True: "sold", False: "available"})
    )
    differences: list[PlaceDifference] = []

    def add(mask: pd.Series, kind: PlaceDifferenceKind, box_office: str) -> None:
        differences.extend(
            PlaceDifference(
                kind, int(row.performance_id), None, int(row.seat_id), 1, what, box_office
            )
            for row, what in zip(merged[mask].itertuples(index=False), said[mask], strict=True)
        )

    add(is_held & ~is_given, PlaceDifferenceKind.HELD_NOT_GIVEN, "not in the reseller's quota")
    add(~is_held & is_given & ~pending, PlaceDifferenceKind.GIVEN_NOT_HELD, "in the quota")
    add(reseller_sold & ~integrated, PlaceDifferenceKind.SOLD_NOT_INTEGRATED, "unsold")
    add(
        is_held & ~reseller_sold & integrated,
        PlaceDifferenceKind.INTEGRATED_NOT_SOLD,
        "sold by the reseller",
    )
    return differences


def _free_differences(
    held: pd.DataFrame, given: pd.DataFrame, sold: pd.DataFrame, pending: pd.DataFrame
) -> list[PlaceDifference]:
    keys = list(BLOCK_COLUMNS)

    def totals(frame: pd.DataFrame, column: str) -> pd.Series:
        typed = frame.astype({"performance_id": "int64", "block_id": "int64"})
        return typed.groupby(keys)[column].sum().astype("int64")

    merged = (
        pd.concat(
            [
                totals(held, "held").rename("held"),
                totals(held, "sold").rename("reseller_sold"),
                totals(given, "given"),
                totals(sold, "sold"),
                totals(pending, "pending"),
            ],
            axis=1,
        )
        .fillna(0)
        .astype("int64")
    )
    differences: list[PlaceDifference] = []
    for (performance_id, block_id), row in merged.iterrows():
        reseller = f"{row['held']} held, {row['reseller_sold']} sold"
        box_office = f"{row['given']} given, {row['sold']} sold"
        found: list[tuple[PlaceDifferenceKind, int]] = []
        if row["held"] > row["given"]:
            found.append((PlaceDifferenceKind.HELD_NOT_GIVEN, int(row["held"] - row["given"])))
        elif row["held"] < row["given"] - row["pending"]:
            found.append(
                (
                    PlaceDifferenceKind.GIVEN_NOT_HELD,
                    int(row["given"] - row["pending"] - row["held"]),
                )
            )
        if row["reseller_sold"] > row["sold"]:
            found.append(
                (PlaceDifferenceKind.SOLD_NOT_INTEGRATED, int(row["reseller_sold"] - row["sold"]))
            )
        elif row["reseller_sold"] < row["sold"]:
            found.append(
                (PlaceDifferenceKind.INTEGRATED_NOT_SOLD, int(row["sold"] - row["reseller_sold"]))
            )
        differences.extend(
            PlaceDifference(
                kind, int(performance_id), int(block_id), None, quantity, reseller, box_office
            )
            for kind, quantity in found
        )
    return differences
