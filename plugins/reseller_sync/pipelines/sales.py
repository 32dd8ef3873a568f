"""Integrate FNAC's VENTES (and TEST) files: each line a ticket, each ``id_vente`` an order.

The file comes whole or as the reader's chunks, in file order, and goes in
two passes through the caller's transaction. The first checks each chunk
column by column (pandas, no Python object per line) and keeps of it only
what its tickets need; what the rules over the whole file need (seats seen,
free places counted, each order's currencies and shops) is carried from one
chunk to the next. The second writes, only if no problem was found anywhere
in the file. Memory holds one chunk, the tickets to write and the orders.

- every line is located: product (manifestation), performance (séance),
  block and seat or free place (salle, bloc, rang, place), seat category
  (type de tarif), tariff (catégorie de client), FNAC's quota (allotement);
- every problem is collected with its line and column, and sorted: a value
  with no mapping is a mapping error; a place FNAC may not have sold (not in
  its quota, already sold, unknown), a price that differs under the strict
  policy, or an id or barcode clash is an external error (the seat lists or
  the prices differ: check with FNAC). Any problem refuses the whole file;
- lines whose ticket is already integrated (same ticket id and barcode) are
  skipped, so a file replayed under another name creates nothing twice;
- orders are paid on the technical contact's pending account (one movement
  per order), barcodes are allowed at access control, beneficiary names are
  kept. The buyer's contact details never reach this module: the codec drops
  them where the file is read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Boolean, Select, func, insert, literal, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.bulk import insert_frame, matching
from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    Block,
    Contact,
    Currency,
    MovementKind,
    Order,
    OrderState,
    PendingAccount,
    PendingAccountMovement,
    Performance,
    PointOfSale,
    Price,
    Product,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    SalesChannel,
    Seat,
    SeatCategory,
    SeatingConfiguration,
    Tariff,
    Ticket,
    TicketState,
    Zone,
)
from reseller_sync.config.settings import FnacSettings, PricePolicy
from reseller_sync.domain.errors import ExternalError, MappingError, Problem, TechnicalError
from reseller_sync.domain.products import SEATED_KINDS
from reseller_sync.mappings.model import MappingKind
from reseller_sync.mappings.repository import MappingRepository, unresolved_problems

RESELLER = "fnac"

RESOLUTION_COLUMNS = (
    "code_manifestation",
    "date_seance",
    "code_salle",
    "code_bloc",
    "rang",
    "place",
    "type_tarif",
    "categorie_client",
    "code_allotement",
)
"""The columns of a sales line that locate it in the box office."""
RESOLVED_COLUMNS = (
    "product_code",
    "product_id",
    "performance_id",
    "block_id",
    "seat_id",
    "category_id",
    "tariff_id",
    "tariff_code",
    "category_code",
    "performance_code",
    "free_placement",
)
"""What resolution adds to each line."""
PARTITION_ROWS = 100_000
"""Rows fetched at a time by the lookups that return one row per place."""


@dataclass(frozen=True)
class PriceDifference:
    line: int
    product: str
    performance: str
    category: str
    tariff: str
    expected: int
    received: int
    currency: str


@dataclass(frozen=True)
class SalesIntegration:
    file_name: str
    lines: int
    tickets: int
    orders: int
    already_integrated: int
    """Lines skipped because their ticket was integrated before (a replayed file)."""
    amounts: dict[str, int] = field(default_factory=dict)
    """Total recorded per currency, in cents."""
    price_differences: tuple[PriceDifference, ...] = ()
    """Prices that differ, integrated at FNAC's price (policy ``warn``)."""
    performances: tuple[int, ...] = ()
    is_test: bool = False


@dataclass
class _Problems:
    mapping: list[Problem] = field(default_factory=list)
    external: list[Problem] = field(default_factory=list)

    def add(self, kind: str, rows: pd.DataFrame, column: str, reason: str, file: str) -> None:
        target = self.mapping if kind == "mapping" else self.external
        values = rows[column] if column in rows else pd.Series(None, index=rows.index)
        target.extend(
            Problem(
                reason,
                file=file,
                line=int(line),
                column=column,
                value=None if pd.isna(value) else str(value),
            )
            for line, value in values.items()
        )


def integrate_sales(
    session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    file_name: str,
    lines: pd.DataFrame | Iterable[pd.DataFrame],
    *,
    file_id: int | None = None,
    is_test: bool = False,
) -> SalesIntegration:
    """Resolve and apply a parsed VENTES or TEST file in the session's transaction.

    ``lines`` is the file's frame, or its chunks in file order (the reader's
    ``iter_file_chunks``): memory then holds one chunk at a time, plus what
    the tickets need. Raises ``MappingError`` or ``ExternalError`` listing
    every problem of the whole file (or the reader's ``FileFormatError``),
    having written nothing.
    """
    chunks = [lines] if isinstance(lines, pd.DataFrame) else lines
    check = _FileCheck(session, settings, repository, file_name)
    for chunk in chunks:
        check.add(chunk)
    check.finish()
    problems = check.problems
    if problems.mapping:
        raise MappingError(
            f"{file_name}: {len(problems.mapping)} line(s) use FNAC values that have no mapping",
            problems=problems.mapping + problems.external,
            file=file_name,
            action="Add the missing correspondences to include/mappings/ (the problems name "
            "the FNAC value and the product), then clear the failed task.",
        )
    if problems.external:
        raise ExternalError(
            f"{file_name}: {len(problems.external)} line(s) do not match the box office "
            "(seat lists, prices or ids differ)",
            problems=problems.external,
            file=file_name,
            action="Check the lines below with FNAC (seat lists or prices differ); once the box "
            "office or FNAC has corrected them, clear the failed task.",
        )
    recorded = _apply(
        session, settings, check.tickets, check.orders, file_id=file_id, is_test=is_test
    )
    return SalesIntegration(
        file_name=file_name,
        lines=check.lines,
        tickets=check.fresh,
        orders=recorded,
        already_integrated=check.already_integrated,
        amounts=dict(sorted(check.amounts.items())),
        price_differences=tuple(check.differences),
        performances=tuple(sorted(check.performances)),
        is_test=is_test,
    )


TICKET_COLUMNS = (
    "id_vente",
    "performance_id",
    "seat_id",
    "block_id",
    "quota_id",
    "category_id",
    "tariff_id",
    "price",
    "commission",
    "devise",
    "code_barre",
    "prenom_beneficiaire",
    "nom_beneficiaire",
    "id_billet",
    "categorie_client",
)
"""What the first pass keeps of each line to be written: the second pass reads nothing else."""


class _FileCheck:
    """The first pass: every check of every chunk, and the rules that span chunks.

    Per chunk, it resolves the lines, skips those integrated before, checks
    places, prices and orders, and keeps the new lines' ``TICKET_COLUMNS``
    and per-order totals. Across chunks it carries the seats seen so far (a
    seat sold twice in the file), the free places counted so far (a quota
    passed by the file), the box office's seat sets per performance (fetched
    once) and each order's currency and shop per chunk (an order whose lines
    are in several chunks is still one order, spec 7.1).
    """

    def __init__(
        self,
        session: Session,
        settings: FnacSettings,
        repository: MappingRepository,
        file_name: str,
    ) -> None:
        self.session, self.settings, self.repository = session, settings, repository
        self.file_name = file_name
        self.problems = _Problems()
        self.places = _PlaceLedger(session)
        self.tickets: list[pd.DataFrame] = []
        self.lines = self.fresh = self.already_integrated = 0
        self.amounts: dict[str, int] = {}
        self.differences: list[PriceDifference] = []
        self.performances: set[int] = set()
        self._orders: list[pd.DataFrame] = []
        """Each chunk's orders: per order, its first currency and shop, their number
        of distinct values, its total and first sale time in that chunk."""
        self.orders = pd.DataFrame()
        """One row per new order (``ORDER_COLUMNS``), made by :meth:`finish`."""

    def add(self, chunk: pd.DataFrame) -> None:
        self.lines += len(chunk)
        if chunk.empty:
            return
        session, file_name, problems = self.session, self.file_name, self.problems
        lines = _resolve(session, self.settings, self.repository, file_name, chunk, problems)
        del chunk
        lines = _skip_already_integrated(session, file_name, lines, problems)
        self.already_integrated += int(lines["already_integrated"].sum())
        fresh = lines[~lines["already_integrated"]] if lines["already_integrated"].any() else lines
        del lines
        if fresh.empty:
            return
        _check_places(file_name, fresh, self.places, problems)
        self.differences.extend(_check_prices(session, self.settings, file_name, fresh, problems))
        _check_orders(session, file_name, fresh, problems)
        self.fresh += len(fresh)
        for currency, total in fresh.groupby("devise")["price"].sum().items():
            self.amounts[str(currency)] = self.amounts.get(str(currency), 0) + int(total)
        self.performances.update(int(p) for p in fresh["performance_id"].unique())
        self._orders.append(
            fresh.groupby("id_vente", sort=False).agg(
                currency=("devise", "first"),
                currencies=("devise", "nunique"),
                total=("price", "sum"),
                reseller_point_of_sale_code=("code_point_vente", "first"),
                shops=("code_point_vente", "nunique"),
                reseller_point_of_sale_name=("libelle_point_vente", "first"),
                sold_at=("date_vente", "min"),
            )
        )
        self.tickets.append(_compact(fresh[list(TICKET_COLUMNS)]))

    def finish(self) -> None:
        """Each order from its chunks' parts, once; and the rule that needs every chunk:
        an order is in one currency and one shop."""
        if not self._orders:
            self.orders = pd.DataFrame()
            return
        whole = (
            pd.concat(self._orders)
            .groupby(level=0, sort=False)
            .agg(
                currency=("currency", "first"),
                currencies=("currencies", "max"),
                chunk_currencies=("currency", "nunique"),
                total=("total", "sum"),
                reseller_point_of_sale_code=("reseller_point_of_sale_code", "first"),
                shops=("shops", "max"),
                chunk_shops=("reseller_point_of_sale_code", "nunique"),
                reseller_point_of_sale_name=("reseller_point_of_sale_name", "first"),
                sold_at=("sold_at", "min"),
            )
        )
        self._orders.clear()
        mixed = whole.index[
            (whole[["currencies", "chunk_currencies"]].max(axis=1) > 1)
            | (whole[["shops", "chunk_shops"]].max(axis=1) > 1)
        ]
        self.orders = whole[list(ORDER_COLUMNS)].reset_index(names="reseller_order_id")
        if mixed.empty:
            return
        for tickets in self.tickets:
            self.problems.add(
                "external",
                tickets[tickets["id_vente"].isin(mixed)],
                "id_vente",
                "the tickets of this order are in several currencies or shops",
                self.file_name,
            )


ORDER_COLUMNS = (
    "currency",
    "total",
    "reseller_point_of_sale_code",
    "reseller_point_of_sale_name",
    "sold_at",
)
"""What the lines of one new order give its row (per chunk, then the whole file)."""


def _compact(tickets: pd.DataFrame) -> pd.DataFrame:
    """The tickets to write, in less memory: ids as 32-bit integers (the schema's
    ``INTEGER`` keys), currencies and FNAC categories as categoricals."""
    narrow: dict[str, str] = {
        column: "Int32" if tickets[column].hasnans else "int32"
        for column in TICKET_COLUMNS
        if column.endswith("_id")
    }
    narrow.update(devise="category", categorie_client="category")
    return tickets.astype(narrow)


# --------------------------------------------------------------------------- resolution


def _resolve(
    session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    file_name: str,
    frame: pd.DataFrame,
    problems: _Problems,
) -> pd.DataFrame:
    """Add the box-office ids of every line; lines with a problem are reported and dropped.

    Only the columns resolution reads go through the per-product steps; the
    others (ids, barcodes, names, shops) are joined back once at the end, so a
    big file is not copied several times over.
    """
    products = repository.products_for_manifestations(frame["code_manifestation"])
    problems.mapping.extend(
        Problem(
            "FNAC manifestation maps to no product in include/mappings/",
            file=file_name,
            line=int(line),
            column="code_manifestation",
            value=str(value),
        )
        for line, value in frame.loc[products.isna(), "code_manifestation"].items()
    )
    read = frame[[c for c in RESOLUTION_COLUMNS if c in frame.columns]].assign(
        product_code=products
    )
    resolved = [
        _resolve_product(session, settings, repository, file_name, str(code), group, problems)
        for code, group in read[products.notna()].groupby("product_code", sort=True)
    ]
    if not resolved:
        return pd.DataFrame(columns=[*frame.columns, *RESOLVED_COLUMNS])
    found = pd.concat(resolved)[list(RESOLVED_COLUMNS)]
    return frame.join(found, how="inner").sort_index()


def _resolve_product(
    session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    file_name: str,
    product_code: str,
    lines: pd.DataFrame,
    problems: _Problems,
) -> pd.DataFrame:
    mappings = repository.for_product(product_code)
    product = session.scalar(select(Product).where(Product.code == product_code))
    if product is None:
        problems.add(
            "mapping",
            lines,
            "code_manifestation",
            f"product {product_code} (from the mappings) is not in the box office",
            file_name,
        )
        return lines.iloc[0:0]
    lines = lines.assign(product_id=product.id)
    configuration = product.configuration.code if product.configuration else None
    ok = pd.Series(True, index=lines.index)

    # Séance → performance.
    performances = pd.DataFrame(
        session.execute(
            select(
                Performance.id.label("performance_id"),
                Performance.code.label("performance_code"),
                Performance.starts_at,
            ).where(Performance.product_id == product.id)
        ).all(),
        columns=["performance_id", "performance_code", "starts_at"],
    )
    dated = performances[performances["starts_at"].notna()].copy()
    undated = performances[performances["starts_at"].isna()]
    dated["starts_at"] = pd.to_datetime(dated["starts_at"]).astype("datetime64[us]")
    by_date = dated.set_index("starts_at")
    lines["performance_id"] = lines["date_seance"].map(by_date["performance_id"])
    if len(undated) == 1:
        lines.loc[lines["date_seance"].isna(), "performance_id"] = undated["performance_id"].iloc[0]
    unknown = lines["performance_id"].isna()
    problems.add(
        "external",
        lines[unknown],
        "date_seance",
        f"no performance of {product_code} at this date (séance)",
        file_name,
    )
    ok &= ~unknown
    codes = performances.set_index("performance_id")["performance_code"]
    lines["performance_code"] = lines["performance_id"].map(codes)

    # Type de tarif → seat category; catégorie de client → tariff; allotement → quota.
    lines["category_code"] = mappings.from_fnac(
        MappingKind.TYPE_TARIF, lines["type_tarif"], configuration
    )
    lines["tariff_code"] = mappings.from_fnac(
        MappingKind.CATEGORIE_CLIENT, lines["categorie_client"]
    )
    quota_codes = mappings.from_fnac(MappingKind.ALLOTEMENT, lines["code_allotement"])
    for kind, values, resolved, column in (
        (MappingKind.TYPE_TARIF, lines["type_tarif"], lines["category_code"], "type_tarif"),
        (
            MappingKind.CATEGORIE_CLIENT,
            lines["categorie_client"],
            lines["tariff_code"],
            "categorie_client",
        ),
        (MappingKind.ALLOTEMENT, lines["code_allotement"], quota_codes, "code_allotement"),
    ):
        problems.mapping.extend(
            unresolved_problems(
                kind,
                values,
                resolved,
                product=product_code,
                inbound=True,
                file=file_name,
                column=column,
            )
        )
        ok &= resolved.notna()
    wrong_quota = quota_codes.notna() & (quota_codes != settings.boxoffice.quota)
    problems.add(
        "external",
        lines[wrong_quota],
        "code_allotement",
        f"this allotement is not FNAC's quota {settings.boxoffice.quota}",
        file_name,
    )
    ok &= ~wrong_quota

    ids = _ids(session, SeatCategory), _ids(session, Tariff)
    lines["category_id"] = lines["category_code"].map(ids[0])
    lines["tariff_id"] = lines["tariff_code"].map(ids[1])

    # Salle, bloc, rang, place → block and seat (events and competitions).
    lines["block_id"] = pd.NA
    lines["seat_id"] = pd.NA
    lines["free_placement"] = False
    if product.kind in SEATED_KINDS and configuration is not None:
        ok &= _resolve_places(session, mappings, configuration, file_name, lines, problems)
    else:
        has_place = lines["code_bloc"].notna() | lines["rang"].notna()
        problems.add(
            "external",
            lines[has_place],
            "code_bloc",
            f"{product_code} is a pass: its tickets have no bloc or seat",
            file_name,
        )
        ok &= ~has_place
    return lines[ok]


def _resolve_places(
    session: Session,
    mappings,
    configuration: str,
    file_name: str,
    lines: pd.DataFrame,
    problems: _Problems,
) -> pd.Series:
    ok = pd.Series(True, index=lines.index)
    salles = mappings.from_fnac(MappingKind.SALLE, lines["code_salle"])
    wrong_salle = salles.isna() | (salles != configuration)
    problems.add(
        "mapping",
        lines[wrong_salle],
        "code_salle",
        f"FNAC salle does not map to configuration {configuration}",
        file_name,
    )
    ok &= ~wrong_salle

    blocks = pd.DataFrame(
        session.execute(
            select(Block.id, Zone.code, Block.code, Block.free_placement, Block.category_id)
            .join(Zone, Block.zone_id == Zone.id)
            .join(SeatingConfiguration, Zone.configuration_id == SeatingConfiguration.id)
            .where(SeatingConfiguration.code == configuration)
        ).all(),
        columns=["block_id", "zone", "block", "free_placement", "block_category_id"],
    )
    target = mappings.bloc_from_fnac(lines["code_bloc"], configuration)
    single_block = blocks.groupby("zone")["block"].agg(lambda b: b.iloc[0] if len(b) == 1 else None)
    target["block"] = target["block"].fillna(target["zone"].map(single_block))
    located = (
        target.reset_index(names="line")
        .merge(blocks, on=["zone", "block"], how="left")
        .set_index("line")
    )
    lines["block_id"] = located["block_id"]
    lines["free_placement"] = located["free_placement"].fillna(False).astype(bool)
    no_block = lines["block_id"].isna()
    problems.mapping.extend(
        Problem(
            "FNAC bloc maps to no block of configuration " + configuration,
            file=file_name,
            line=int(line),
            column="code_bloc",
            value=None if pd.isna(value) else str(value),
        )
        for line, value in lines.loc[no_block & ok, "code_bloc"].items()
    )
    ok &= ~no_block

    seated = ok & ~lines["free_placement"]
    missing_seat = seated & (lines["rang"].isna() | lines["place"].isna())
    problems.add(
        "external",
        lines[missing_seat],
        "place",
        "a seated block needs a rang and a place",
        file_name,
    )
    ok &= ~missing_seat
    free_with_seat = ok & lines["free_placement"] & lines["rang"].notna()
    problems.add(
        "external",
        lines[free_with_seat],
        "rang",
        "a free-placement bloc has no rang or place",
        file_name,
    )
    ok &= ~free_with_seat

    wanted = lines.loc[ok & ~lines["free_placement"], ["block_id", "rang", "place"]]
    seats = _seats(session, wanted["block_id"].unique().tolist())
    located_seats = (
        wanted.reset_index(names="line")
        .merge(seats, on=["block_id", "rang", "place"], how="left")
        .set_index("line")
    )
    lines["seat_id"] = located_seats["seat_id"]
    unknown_seat = ok & ~lines["free_placement"] & lines["seat_id"].isna()
    problems.add(
        "external",
        lines[unknown_seat],
        "place",
        "no such seat in the box office (seat lists differ)",
        file_name,
    )
    ok &= ~unknown_seat

    # The place's own category must be the one FNAC sold (type de tarif).
    seat_categories = located_seats["category_id"]
    place_category = seat_categories.reindex(lines.index).fillna(located["block_category_id"])
    mismatch = ok & lines["category_id"].notna() & (place_category != lines["category_id"])
    problems.add(
        "external",
        lines[mismatch],
        "type_tarif",
        "the type de tarif is not the category of this place in the box office",
        file_name,
    )
    ok &= ~mismatch
    return ok


def _seats(session: Session, block_ids: list[int]) -> pd.DataFrame:
    rows: list[tuple[int, int, str, str, int]] = []
    for condition in matching(session, Seat.block_id, block_ids):
        rows.extend(
            session.execute(
                select(Seat.id, Seat.block_id, Seat.row, Seat.number, Seat.category_id).where(
                    condition
                )
            )
        )
    seats = pd.DataFrame(rows, columns=["seat_id", "block_id", "rang", "place", "category_id"])
    return seats.astype({"block_id": "int64", "rang": "str", "place": "str"})


def _ids(session: Session, model: type[SeatCategory] | type[Tariff]) -> dict[str, int]:
    return {code: id_ for id_, code in session.execute(select(model.id, model.code))}


# --------------------------------------------------------------------------- checks


def _skip_already_integrated(
    session: Session, file_name: str, lines: pd.DataFrame, problems: _Problems
) -> pd.DataFrame:
    """Mark lines whose ticket exists already; report id and barcode clashes."""
    known: list[tuple[str, str]] = []
    for condition in matching(session, Ticket.reseller_ticket_id, lines["id_billet"].tolist()):
        known.extend(
            session.execute(
                select(Ticket.reseller_ticket_id, Ticket.barcode).where(
                    Ticket.reseller_code == RESELLER, condition
                )
            )
        )
    by_id = pd.Series(dict(known), dtype="str")
    existing_barcode = lines["id_billet"].map(by_id)
    same = existing_barcode.notna() & (existing_barcode == lines["code_barre"])
    clash = existing_barcode.notna() & ~same
    problems.add(
        "external",
        lines[clash],
        "id_billet",
        "this ticket id was integrated before with another barcode",
        file_name,
    )
    if clash.any():
        lines, same = lines[~clash], same[~clash]
    lines = lines.assign(already_integrated=same)

    taken: list[str] = []
    fresh_barcodes = lines.loc[~lines["already_integrated"], "code_barre"].tolist()
    for condition in matching(session, AccessControlEntry.barcode, fresh_barcodes):
        taken.extend(session.scalars(select(AccessControlEntry.barcode).where(condition)))
    reused = ~lines["already_integrated"] & lines["code_barre"].isin(taken)
    problems.add(
        "external",
        lines[reused],
        "code_barre",
        "this barcode already exists at access control",
        file_name,
    )
    return lines[~reused] if reused.any() else lines


class _PlaceLedger:
    """What the place checks know, built up chunk after chunk.

    The box office's side (FNAC's quota, its seats, the seats and free places
    sold) is fetched once per performance, the first time a chunk names it;
    the file's side (seats seen, free places counted) grows with each chunk.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.quotas = pd.DataFrame(
            {
                "quota_id": pd.Series(dtype="int64"),
                "quota_places": pd.Series(dtype="Int64"),
            },
            index=pd.Index([], dtype="int64", name="performance_id"),
        )
        self.held = np.empty(0, np.int64)
        """FNAC's quota seats, as sorted (performance, seat) codes."""
        self.sold = np.empty(0, np.int64)
        """Seats sold already (valid tickets), as sorted codes."""
        self.seen = np.empty(0, np.int64)
        """Seats of the file's earlier chunks, as sorted codes."""
        self.allowed: dict[tuple[int, int | None], int] = {}
        """Places FNAC may sell per (performance, free-placement block or None for a pass)."""
        self.counted: dict[tuple[int, int | None], int] = {}
        """Places sold per key: the box office's, then each chunk's added."""
        self._known: set[int] = set()

    def learn(self, performance_ids: list[int]) -> None:
        """Fetch the box office's side of the performances not seen before."""
        new = sorted(set(performance_ids) - self._known)
        if not new:
            return
        self._known.update(new)
        session = self.session
        fnac = select(SalesChannel.id).where(SalesChannel.reseller_code == RESELLER)
        quotas = pd.DataFrame(
            session.execute(
                select(Quota.performance_id, Quota.id, Quota.places)
                .where(Quota.channel_id.in_(fnac), Quota.performance_id.in_(new))
                .order_by(Quota.id)
            ).all(),
            columns=["performance_id", "quota_id", "quota_places"],
        ).drop_duplicates("performance_id")
        self.quotas = pd.concat(
            [
                self.quotas,
                quotas.set_index("performance_id").astype(
                    {"quota_id": "int64", "quota_places": "Int64"}
                ),
            ]
        )
        for performance_id, places in zip(
            quotas["performance_id"], quotas["quota_places"], strict=True
        ):
            if not pd.isna(places):
                self.allowed[(int(performance_id), None)] = int(places)
        for performance_id, block_id, places in session.execute(
            select(Quota.performance_id, QuotaFreePlaces.block_id, QuotaFreePlaces.places)
            .join(Quota, QuotaFreePlaces.quota_id == Quota.id)
            .where(Quota.channel_id.in_(fnac), Quota.performance_id.in_(new))
        ):
            self.allowed[(performance_id, block_id)] = int(places)
        for sold_performance_id, sold_block_id, count in session.execute(
            select(Ticket.performance_id, Ticket.block_id, func.count())
            .join(Order, Ticket.order_id == Order.id)
            .where(
                Ticket.performance_id.in_(new),
                Ticket.seat_id.is_(None),
                Ticket.state == TicketState.VALID,
                Order.channel_id.in_(fnac),
            )
            .group_by(Ticket.performance_id, Ticket.block_id)
        ):
            self.counted[(sold_performance_id, sold_block_id)] = count
        held = _seat_codes(
            session,
            select(QuotaSeat.performance_id, QuotaSeat.seat_id)
            .join(Quota, QuotaSeat.quota_id == Quota.id)
            .where(Quota.channel_id.in_(fnac), QuotaSeat.performance_id.in_(new)),
        )
        sold = _seat_codes(
            session,
            select(Ticket.performance_id, Ticket.seat_id).where(
                Ticket.performance_id.in_(new),
                Ticket.state == TicketState.VALID,
                Ticket.seat_id.is_not(None),
            ),
        )
        self.held = _sorted_union(self.held, held)
        self.sold = _sorted_union(self.sold, sold)


def _check_places(
    file_name: str, lines: pd.DataFrame, ledger: _PlaceLedger, problems: _Problems
) -> None:
    """Every place must be in FNAC's quota and still unsold (the seat lists must agree).

    ``lines`` is the file's next chunk: a seat seen in an earlier chunk is sold
    twice in the file, and free places count on from the earlier chunks.
    """
    ledger.learn([int(p) for p in lines["performance_id"].unique()])
    lines["quota_id"] = lines["performance_id"].map(ledger.quotas["quota_id"])
    no_quota = lines["quota_id"].isna()
    problems.add(
        "external",
        lines[no_quota],
        "code_allotement",
        "FNAC holds no quota on this performance",
        file_name,
    )

    seated = lines[lines["seat_id"].notna() & ~no_quota]
    if not seated.empty:
        codes = _seat_code(
            seated["performance_id"].to_numpy(np.int64), seated["seat_id"].to_numpy(np.int64)
        )
        outside = pd.Series(~_within(codes, ledger.held), index=seated.index)
        already = pd.Series(_within(codes, ledger.sold), index=seated.index)
        twice = pd.Series(
            pd.Series(codes).duplicated(keep="first").to_numpy() | _within(codes, ledger.seen),
            index=seated.index,
        )
        ledger.seen = _sorted_union(ledger.seen, codes)
        problems.add(
            "external",
            seated[outside],
            "place",
            "this seat is not in FNAC's quota (seat lists differ)",
            file_name,
        )
        problems.add(
            "external",
            seated[already & ~outside],
            "place",
            "this seat is already sold for this performance (seat lists differ)",
            file_name,
        )
        problems.add(
            "external", seated[twice], "place", "this seat is sold twice in the file", file_name
        )

    free = lines[lines["seat_id"].isna() & ~no_quota]
    if not free.empty:
        _check_counted_places(file_name, free, ledger, problems)


def _seat_code(performance_ids: np.ndarray, seat_ids: np.ndarray) -> np.ndarray:
    """One int64 per (performance, seat): sets of places compared without a Python tuple each.

    Exact because both ids are the schema's 32-bit ``INTEGER`` keys.
    """
    return (performance_ids.astype(np.int64) << 32) | seat_ids.astype(np.int64)


def _sorted_union(known: np.ndarray, more: np.ndarray) -> np.ndarray:
    """``known`` (sorted) with ``more`` added, sorted: a merge of two sorted runs."""
    return np.sort(np.concatenate([known, np.sort(more)]), kind="stable")


def _within(codes: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Which ``codes`` are in ``known`` (sorted): a binary search each, ``known`` never
    sorted again (``np.isin`` would sort it for every chunk)."""
    if known.size == 0:
        return np.zeros(codes.size, dtype=bool)
    at = np.minimum(np.searchsorted(known, codes), known.size - 1)
    return known[at] == codes


def _seat_codes(session: Session, query: Select[int, Any]) -> np.ndarray:
    """The (performance, seat) pairs a query returns, as codes, in the session's transaction.

    Read with the driver's cursor in partitions: a quota lists every seat of every
    performance, and a SQLAlchemy row per seat would cost more than the query. The
    query holds only integers and enum names, rendered in the SQL text.
    """
    connection = session.connection()
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    parts = [np.empty(0, np.int64)]
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(PARTITION_ROWS):
            pairs = np.array(rows, dtype=np.int64).reshape(-1, 2)
            parts.append(_seat_code(pairs[:, 0], pairs[:, 1]))
    finally:
        cursor.close()
    return np.concatenate(parts)


def _check_counted_places(
    file_name: str, free: pd.DataFrame, ledger: _PlaceLedger, problems: _Problems
) -> None:
    """Free places and passes: sold + the file so far must stay within FNAC's quota."""
    keys = pd.Series(
        list(
            zip(
                free["performance_id"].astype(int),
                [None if pd.isna(b) else int(b) for b in free["block_id"]],
                strict=True,
            )
        ),
        index=free.index,
    )
    rank = keys.groupby(keys).cumcount() + 1
    allowed, counted = ledger.allowed, ledger.counted
    for line, key in keys.items():
        if key not in allowed:
            problems.add(
                "external",
                free.loc[[line]],
                "code_bloc",
                "FNAC's quota holds no place in this bloc (seat lists differ)",
                file_name,
            )
        elif counted.get(key, 0) + rank[line] > allowed[key]:
            problems.add(
                "external",
                free.loc[[line]],
                "code_bloc",
                f"beyond FNAC's quota of {allowed[key]} place(s) (seat lists differ)",
                file_name,
            )
    for key, places in keys.value_counts().items():
        counted[key] = counted.get(key, 0) + int(places)


def _check_prices(
    session: Session,
    settings: FnacSettings,
    file_name: str,
    lines: pd.DataFrame,
    problems: _Problems,
) -> list[PriceDifference]:
    """Set the price to record and compare it with the box office's, as the policy says.

    The box office records FNAC sales commission included or not (settings);
    the box-office price of the performance, category and tariff is compared
    with FNAC's price on the same basis.
    """
    includes = settings.prices.includes_commission
    lines["price"] = lines["prix_ttc"] if includes else lines["prix_ttc"] - lines["commission"]
    if lines.empty:
        return []
    performance_ids = [int(p) for p in lines["performance_id"].unique()]
    prices = pd.DataFrame(
        session.execute(
            select(
                Price.performance_id,
                Price.category_id,
                Price.tariff_id,
                Price.amount,
                Price.currency,
            ).where(Price.performance_id.in_(performance_ids))
        ).all(),
        columns=["performance_id", "category_id", "tariff_id", "expected", "expected_currency"],
    )
    prices["expected_currency"] = prices["expected_currency"].map(lambda c: Currency(c).value)
    keys = ["performance_id", "category_id", "tariff_id"]
    compared = (
        lines[keys]
        .astype("int64")
        .reset_index(names="line")
        .merge(prices, on=keys, how="left")
        .set_index("line")
    )
    unpriced = compared["expected"].isna()
    problems.add(
        "mapping",
        lines[unpriced],
        "categorie_client",
        "the box office has no price for this performance, category and tariff",
        file_name,
    )
    other_currency = ~unpriced & (compared["expected_currency"] != lines["devise"])
    problems.add(
        "external",
        lines[other_currency],
        "devise",
        "the box office sells this performance in another currency",
        file_name,
    )
    differs = ~unpriced & ~other_currency & (compared["expected"] != lines["price"])
    if not differs.any() or settings.prices.policy is PricePolicy.ACCEPT:
        return []
    basis = "commission included" if includes else "commission excluded"
    if settings.prices.policy is PricePolicy.STRICT:
        for line in lines.index[differs]:
            problems.external.append(
                Problem(
                    f"FNAC price {int(lines.at[line, 'price'])} differs from the box-office price "
                    f"{int(compared.at[line, 'expected'])} ({basis}; price policy strict)",
                    file=file_name,
                    line=int(line),
                    column="prix_ttc",
                    value=str(int(lines.at[line, "prix_ttc"])),
                )
            )
        return []
    return [
        PriceDifference(
            line=int(line),
            product=str(lines.at[line, "product_code"]),
            performance=str(lines.at[line, "performance_code"]),
            category=str(lines.at[line, "category_code"]),
            tariff=str(lines.at[line, "tariff_code"]),
            expected=int(compared.at[line, "expected"]),
            received=int(lines.at[line, "price"]),
            currency=str(lines.at[line, "devise"]),
        )
        for line in lines.index[differs]
    ]


def _check_orders(
    session: Session, file_name: str, lines: pd.DataFrame, problems: _Problems
) -> None:
    """An order is new: no earlier file brought it. (One currency and one shop per order
    is checked over the whole file, by ``_FileCheck.finish``.)"""
    existing: list[str] = []
    order_ids = lines["id_vente"].unique().tolist()
    for condition in matching(session, Order.reseller_order_id, order_ids):
        existing.extend(
            session.scalars(
                select(Order.reseller_order_id).where(Order.reseller_code == RESELLER, condition)
            )
        )
    problems.add(
        "external",
        lines[lines["id_vente"].isin(existing)],
        "id_vente",
        "this order was integrated before, from another file",
        file_name,
    )


# --------------------------------------------------------------------------- apply


def _apply(
    session: Session,
    settings: FnacSettings,
    tickets: list[pd.DataFrame],
    orders: pd.DataFrame,
    *,
    file_id: int | None,
    is_test: bool,
) -> int:
    """Write orders, tickets, pending-account movements and access control; return orders.

    ``tickets`` holds the first pass's chunks; each is dropped once written.
    """
    if orders.empty:
        return 0
    channel_id, point_of_sale_id, contact_id = _distribution_ids(session, settings)
    orders = orders.assign(
        channel_id=channel_id,
        point_of_sale_id=point_of_sale_id,
        contact_id=contact_id,
        state=OrderState.PAID.value,
        reseller_code=RESELLER,
        is_test=is_test,
        source_file_id=file_id,
    )
    insert_frame(session, Order.__table__, orders)  # type: ignore[arg-type]
    order_ids = _order_ids(session, orders["reseller_order_id"].tolist())

    while tickets:
        lines = tickets.pop(0)
        insert_frame(
            session,
            Ticket.__table__,  # type: ignore[arg-type]
            pd.DataFrame(
                {
                    "order_id": lines["id_vente"].map(order_ids),
                    "performance_id": lines["performance_id"].astype("int64"),
                    "seat_id": lines["seat_id"].astype("Int64"),
                    "block_id": lines["block_id"].where(lines["seat_id"].isna()).astype("Int64"),
                    "quota_id": lines["quota_id"].astype("Int64"),
                    "category_id": lines["category_id"].astype("int64"),
                    "tariff_id": lines["tariff_id"].astype("int64"),
                    "price": lines["price"].astype("int64"),
                    "commission": lines["commission"].astype("int64"),
                    "currency": lines["devise"].astype("str"),
                    "barcode": lines["code_barre"],
                    "beneficiary_first_name": lines["prenom_beneficiaire"],
                    "beneficiary_last_name": lines["nom_beneficiaire"],
                    "state": TicketState.VALID.value,
                    "reseller_code": RESELLER,
                    "reseller_ticket_id": lines["id_billet"],
                    "reseller_category": lines["categorie_client"].astype("str"),
                    "is_test": is_test,
                }
            ),
        )
        del lines
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    _allow_at_access_control(session, [int(order_id) for order_id in order_ids.values], now)
    if not is_test:
        accounts = _pending_accounts(session, contact_id)
        movements = pd.DataFrame(
            {
                "account_id": orders["currency"].map(accounts),
                "order_id": orders["reseller_order_id"].map(order_ids),
                "kind": MovementKind.SALE.value,
                "amount": orders["total"].astype("int64"),
                "currency": orders["currency"],
                "reference": "fnac:sale:" + orders["reseller_order_id"],
                "booked_at": now,
            }
        )
        missing = movements["account_id"].isna()
        if missing.any():
            raise TechnicalError(
                "the paying contact has no pending account in "
                + ", ".join(sorted(set(movements.loc[missing, "currency"])))
            )
        insert_frame(session, PendingAccountMovement.__table__, movements)  # type: ignore[arg-type]
    return len(orders)


def _distribution_ids(session: Session, settings: FnacSettings) -> tuple[int, int, int]:
    box = settings.boxoffice
    channel_id = session.scalar(select(SalesChannel.id).where(SalesChannel.code == box.channel))
    point_id = session.scalar(select(PointOfSale.id).where(PointOfSale.code == box.point_of_sale))
    contact_id = session.scalar(select(Contact.id).where(Contact.code == box.paying_contact))
    missing = [
        f"{what} {code}"
        for what, code, found in (
            ("sales channel", box.channel, channel_id),
            ("point of sale", box.point_of_sale, point_id),
            ("paying contact", box.paying_contact, contact_id),
        )
        if found is None
    ]
    if missing:
        raise TechnicalError(
            "the box office has no "
            + ", ".join(missing)
            + " (include/config/fnac.yaml, boxoffice section)"
        )
    return channel_id, point_id, contact_id  # type: ignore[return-value]


def _order_ids(session: Session, reseller_order_ids: list[str]) -> pd.Series:
    rows: list[tuple[str, int]] = []
    for condition in matching(session, Order.reseller_order_id, reseller_order_ids):
        rows.extend(
            session.execute(
                select(Order.reseller_order_id, Order.id).where(
                    Order.reseller_code == RESELLER, condition
                )
            )
        )
    return pd.Series(dict(rows), dtype="int64")


def _allow_at_access_control(session: Session, order_ids: list[int], now: dt.datetime) -> None:
    """Allow the barcodes of these orders' tickets, copied from the tickets by the database
    (``INSERT ... SELECT``): no ticket id travels to Python and back."""
    for condition in matching(session, Ticket.order_id, order_ids):
        session.execute(
            insert(AccessControlEntry).from_select(
                ["performance_id", "barcode", "ticket_id", "allowed", "updated_at"],
                select(
                    Ticket.performance_id,
                    Ticket.barcode,
                    Ticket.id,
                    literal(True, Boolean()),
                    literal(now, AccessControlEntry.updated_at.type),
                ).where(condition),
            )
        )


def _pending_accounts(session: Session, contact_id: int) -> dict[str, int]:
    return {
        Currency(currency).value: id_
        for id_, currency in session.execute(
            select(PendingAccount.id, PendingAccount.currency).where(
                PendingAccount.contact_id == contact_id
            )
        )
    }
