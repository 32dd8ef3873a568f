"""The organiser's ``OFFER`` batch (``ticketnet-exchange-v1`` section 8): what the onboarding
sends Ticketnet, and what the nightly run takes back.

* :func:`catalog`: the CATALOG records of a product (section 8.1), one per performance ×
  price level × price type, each performance's whole price table;
* :func:`allocation`: the ALLOCATION records of the places of Ticketnet's quota on each
  performance Ticketnet knows (section 8.2);
* :func:`release`: the RELEASE records of given places (section 8.3);
* :func:`offer_batch`: those files as one ``OFFER`` batch (sections 4 and 6).

Each function returns the file's records as the codec's writer checks them (a pyarrow
Table of strings, every column of the type in the contract's order); a record that breaks
the contract's syntax raises :class:`~reseller_sync.ticketnet.errors.BatchWriteError`.

CATALOG, as the onboarding decides it:

* a product of a kind Ticketnet may not sell (section 1) is refused before anything is
  read or built (``C01``), as are a product not set up for Ticketnet (its channel, its
  seating configuration, a quota holding places on each performance, prices at the
  tariffs offered for every category of the quota) and a performance that has no start
  or does not start after the day sales open (in the venue's time zone);
* every performance of the product is in the file, with every seat category priced at a
  tariff offered at Ticketnet (``settings.tariffs_offered_for``), each price type that
  the tariff maps to giving one record at the tariff's amount (``CE|CSE``: two records);
  a category outside the quota is on sale too, so that places of it can be allocated
  later without a new CATALOG;
* ``amount`` is the box-office price, which must be the face value: Ticketnet adds its
  fees on top (sections 7.1 and 8.1). When the settings say the box-office price
  includes the reseller's commission (``prices.includes_commission``), the face value
  cannot be known (Ticketnet's fees are known per sale only): the CATALOG is refused,
  a configuration error;
* ``starts_at`` is the performance's wall-clock time in the venue's time zone with the
  offset of that date (section 5); sales open at ``sales_open`` (default now) and close
  when the performance starts;
* the codec's CATALOG rules (``C04`` to ``C06``, :func:`catalog_problems`) run before the
  file is returned: a currency other than EUR, invalid sale dates or inconsistent records
  refuse the CATALOG with every problem.

Every organiser value without its Ticketnet code (the configuration's venue code, a
category's price level, a tariff's price types, a block's or zone's section or area) is a
:class:`~reseller_sync.domain.errors.MappingError` naming each value once, in the
standard words of the mapping engine.

ALLOCATION and RELEASE name each performance by Ticketnet's ids (:class:`PartnerPerformances`,
from the ACK of its CATALOG): one record per seat (its block's or zone's section, row,
seat, quantity 1, the seat's category's price level) and one per free-placement block
(its area, the places, the block's category's price level). The places are read and
mapped column by column (SQL, then pandas), never one Python object per seat.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from reseller_sync.boxoffice import catalogue
from reseller_sync.boxoffice.bulk import matching
from reseller_sync.boxoffice.models import (
    Block,
    Currency,
    Performance,
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
    Zone,
)
from reseller_sync.config.paths import shown_path
from reseller_sync.domain.errors import (
    ConfigurationError,
    MappingError,
    Problem,
    TechnicalError,
)
from reseller_sync.domain.products import ProductKind
from reseller_sync.domain.texts import Localized
from reseller_sync.mappings.repository import (
    MappingRepository,
    ProductMappings,
    unresolved_problems,
)
from reseller_sync.ticketnet.catalog import catalog_problems
from reseller_sync.ticketnet.errors import TicketnetProblem
from reseller_sync.ticketnet.identifiers import PartnerPerformances
from reseller_sync.ticketnet.mappings import VOCABULARY, MappingKind
from reseller_sync.ticketnet.names import BatchId, FileType, Stream
from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE
from reseller_sync.ticketnet.settings import TicketnetSettings
from reseller_sync.ticketnet.writer import BuiltBatch, Records, build_batch, text_table

CONTRACT = RESELLER_TYPE.contract
EVENT_KINDS: Mapping[ProductKind, str] = {
    ProductKind.EVENT: "EVENT",
    ProductKind.COMPETITION: "COMPETITION",
}
"""The CATALOG's ``event_kind`` of each product kind Ticketnet may sell (section 1)."""
TEXT_LIMITS: Mapping[str, int] = {
    "event_name": 120,
    "venue_name": 60,
    "city": 60,
    "price_level_name": 60,
}
"""The CATALOG's text columns and their lengths (section 8.1): longer names are cut."""
PLACE_COLUMNS = ("performance_id", "seat_id", "block_id", "places")
"""The columns of the places given to :func:`release`, as a place withdrawal holds them."""
SETTINGS_FILE = f"include/config/resellers/{RESELLER_TYPE.code}.yaml"

SET_UP_ACTION = Localized(
    fr="Corrigez la mise en place du produit dans la billetterie (canal, contingent "
    "{reseller}, dates, prix), comme chaque problème le dit, puis relancez la tâche en échec "
    "(Clear).",
    en="Fix the product's set-up in the box office (channel, {reseller} quota, dates, prices) "
    "as each problem says, then clear the failed task.",
)
NOT_SELLABLE_ACTION = Localized(
    fr="{reseller} ne peut pas vendre ce type de produit : retirez-le du canal {reseller} dans "
    "la billetterie et des produits des réglages {reseller}.",
    en="{reseller} may not sell this kind of product: remove it from the {reseller} channel in "
    "the box office and from products in the {reseller} settings.",
)
MAPPING_ACTION = Localized(
    fr="Ajoutez chaque code {reseller} cité ci-dessous aux fichiers de mapping (voir "
    "docs/ticketnet.md), puis relancez la tâche en échec (Clear).",
    en="Add each {reseller} code named below to the mapping files (see docs/ticketnet.md), "
    "then clear the failed task.",
)
WAIT_FOR_ACK_ACTION = Localized(
    fr="Envoyez d'abord le CATALOG de ces représentations et attendez son ACK, qui donne leurs "
    "identifiants {reseller} ; puis relancez la tâche en échec (Clear).",
    en="Send these performances' CATALOG first and wait for its ACK, which gives their "
    "{reseller} ids; then clear the failed task.",
)


# --------------------------------------------------------------------------- CATALOG


def catalog(
    session: Session,
    settings: TicketnetSettings,
    repository: MappingRepository,
    product_code: str,
    *,
    sales_open: dt.datetime | None = None,
) -> pa.Table:
    """The CATALOG records of ``product_code`` (section 8.1), checked as Ticketnet checks them.

    ``sales_open`` (aware, default now) is when sales open at Ticketnet; the day it falls
    on in the venue's time zone decides which performances are past. Raises
    :class:`MappingError` (a kind Ticketnet may not sell, a product not set up, a missing
    mapping, ``C04``/``C05``), :class:`ConfigurationError` (prices recorded with the
    commission) or :class:`TechnicalError` (``C06``: records that disagree).
    """
    sales_open = (sales_open or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    if sales_open.tzinfo is None:
        raise ValueError("sales_open must be an aware datetime")
    product = _product(session, product_code)
    kind = _sellable_kind(product)
    if settings.prices.includes_commission:
        raise _commission_error(settings)
    timezone = _timezone(settings, product)
    today = sales_open.astimezone(timezone).date()
    offered = settings.tariffs_offered_for(product.code)
    performances = _performances(product)
    prices = _prices(session, product, offered)
    problems = _set_up_problems(session, settings, product, performances, prices, offered, today)
    if problems:
        count = len(problems)
        raise MappingError(
            f"Product {product.code} cannot be put on sale at {RESELLER_TYPE.name}: "
            f"{count} problem{'s' if count > 1 else ''}",
            problems=problems,
            action=SET_UP_ACTION,
        )
    assert product.configuration is not None  # a set-up problem otherwise
    configuration = product.configuration.code
    mappings = repository.for_product(product.code)
    lines = _priced_lines(product, performances, prices, offered, mappings, configuration)
    records = _catalog_records(product, kind, timezone, sales_open, lines)
    file = f"CATALOG of {product.code}"
    table = text_table(FileType.CATALOG, records, file=file)
    _refuse_catalog_problems(product.code, catalog_problems(table, file=file))
    return table


def _product(session: Session, product_code: str) -> Product:
    product = session.scalar(
        select(Product)
        .where(Product.code == product_code)
        .options(
            selectinload(Product.venue),
            selectinload(Product.configuration),
            selectinload(Product.performances),
        )
    )
    if product is None:
        raise MappingError(f"product {product_code} does not exist in the box office")
    return product


def _sellable_kind(product: Product) -> ProductKind:
    """The product's kind, or MappingError when Ticketnet may not sell it (section 1, C01)."""
    kind = ProductKind(product.kind)
    reason = RESELLER_TYPE.refusal_reason(kind)
    if reason is not None or kind not in EVENT_KINDS:
        reason = reason or f"{kind} has no event_kind in {CONTRACT} section 8.1"
        raise MappingError(
            f"Product {product.code} cannot be put on sale at {RESELLER_TYPE.name}: it is a "
            f"{kind.value}",
            problems=[Problem(f"product {product.code} is a {kind}: {reason}", value=kind.value)],
            action=NOT_SELLABLE_ACTION,
        )
    return kind


def _commission_error(settings: TicketnetSettings) -> ConfigurationError:
    file = shown_path(settings.source) if settings.source is not None else SETTINGS_FILE
    return ConfigurationError(
        f"The {RESELLER_TYPE.name} CATALOG cannot be written while prices.includes_commission "
        f"is true: its amount is the face value, {RESELLER_TYPE.name}'s fees excluded "
        f"({CONTRACT} section 8.1), and those fees are known per sale only, so no face value "
        "can be taken out of a box-office price that includes them",
        problems=[
            Problem(
                "the box-office prices at the tariffs offered must be face values, "
                f"{RESELLER_TYPE.name} adds its fees: set includes_commission to false",
                file=file,
                column="prices.includes_commission",
                value="true",
            )
        ],
        file=file,
        action=Localized(
            fr=f"Enregistrez les prix des tarifs proposés à {{reseller}} hors frais {{reseller}} "
            f"et mettez prices.includes_commission à false dans {file}, puis relancez la "
            "tâche en échec (Clear).",
            en="Record the prices of the tariffs offered at {reseller} without {reseller}'s "
            f"fees and set prices.includes_commission to false in {file}, then clear the "
            "failed task.",
        ),
    )


def _timezone(settings: TicketnetSettings, product: Product) -> ZoneInfo:
    return ZoneInfo(product.venue.timezone or settings.boxoffice.venue_timezone)


def _performances(product: Product) -> list[Performance]:
    """In date order; undated ones (refused) last."""
    return sorted(
        product.performances,
        key=lambda p: (p.starts_at is None, p.starts_at or dt.datetime.min, p.id),
    )


def _label(performance: Performance) -> str:
    when = f" ({performance.starts_at:%d/%m/%Y %H:%M})" if performance.starts_at else ""
    return f"performance {performance.code}{when}"


def _prices(session: Session, product: Product, offered: Sequence[str]) -> pd.DataFrame:
    """The product's prices at the tariffs offered: ``performance_id``, ``category``,
    ``category_name``, ``tariff``, ``amount`` (cents), ``currency``."""
    rows = session.execute(
        select(
            Price.performance_id,
            SeatCategory.code,
            SeatCategory.name,
            Tariff.code,
            Price.amount,
            Price.currency,
        )
        .join(Performance, Performance.id == Price.performance_id)
        .join(SeatCategory, SeatCategory.id == Price.category_id)
        .join(Tariff, Tariff.id == Price.tariff_id)
        .where(Performance.product_id == product.id, Tariff.code.in_(list(offered)))
    ).all()
    prices = pd.DataFrame(
        [tuple(row) for row in rows],
        columns=["performance_id", "category", "category_name", "tariff", "amount", "currency"],
    )
    prices["currency"] = prices["currency"].map(lambda currency: Currency(currency).value)
    return prices.astype(
        {
            "performance_id": "int64",
            "category": "str",
            "category_name": "str",
            "tariff": "str",
            "amount": "int64",
            "currency": "str",
        }
    )


def _quota_categories(
    session: Session, settings: TicketnetSettings, product: Product
) -> pd.DataFrame:
    """The places of Ticketnet's quota per performance and category (``performance_id``,
    ``category``, ``places``); a performance whose quota holds nothing has no row."""
    quotas = _quota_ids(settings, product.id)
    seats = session.execute(
        select(QuotaSeat.performance_id, SeatCategory.code, func.count())
        .join(Seat, Seat.id == QuotaSeat.seat_id)
        .join(SeatCategory, SeatCategory.id == Seat.category_id)
        .where(QuotaSeat.quota_id.in_(quotas))
        .group_by(QuotaSeat.performance_id, SeatCategory.code)
    ).all()
    free = session.execute(
        select(Quota.performance_id, SeatCategory.code, func.sum(QuotaFreePlaces.places))
        .join(Quota, Quota.id == QuotaFreePlaces.quota_id)
        .join(Block, Block.id == QuotaFreePlaces.block_id)
        .outerjoin(SeatCategory, SeatCategory.id == Block.category_id)
        .where(QuotaFreePlaces.quota_id.in_(quotas), QuotaFreePlaces.places > 0)
        .group_by(Quota.performance_id, SeatCategory.code)
    ).all()
    places = pd.DataFrame(
        [tuple(row) for row in [*seats, *free]], columns=["performance_id", "category", "places"]
    )
    return places.astype({"performance_id": "int64", "places": "int64"})


def _quota_ids(settings: TicketnetSettings, product_id: int) -> Any:
    """The ids of Ticketnet's quota (its channel, its quota code) on the product's performances."""
    return (
        select(Quota.id)
        .join(SalesChannel, SalesChannel.id == Quota.channel_id)
        .join(Performance, Performance.id == Quota.performance_id)
        .where(
            Performance.product_id == product_id,
            SalesChannel.code == settings.boxoffice.channel,
            Quota.code == settings.boxoffice.quota,
        )
    )


def _set_up_problems(
    session: Session,
    settings: TicketnetSettings,
    product: Product,
    performances: Sequence[Performance],
    prices: pd.DataFrame,
    offered: Sequence[str],
    today: dt.date,
) -> list[Problem]:
    """What keeps the product from being offered, as the onboarding's product check says it."""
    name, channel, quota = RESELLER_TYPE.name, settings.boxoffice.channel, settings.boxoffice.quota
    problems: list[Problem] = []
    if not catalogue.is_on_channel(session, product.code, channel):
        problems.append(Problem(f"product {product.code} is not on sale in the {name} channel"))
    if product.configuration is None:
        problems.append(
            Problem(f"{product.kind} {product.code} has no seating configuration in the box office")
        )
    if not performances:
        problems.append(Problem(f"product {product.code} has no performance"))
    held = _quota_categories(session, settings, product)
    priced = set(
        prices[["performance_id", "category", "tariff"]].itertuples(index=False, name=None)
    )
    for performance in performances:
        label = _label(performance)
        if performance.starts_at is None:
            problems.append(
                Problem(f"{label}: {name} sells dated performances only ({CONTRACT} section 1)")
            )
        elif performance.starts_at.date() <= today:
            problems.append(Problem(f"{label}: the performance is not after {today:%d/%m/%Y}"))
        here = held[held["performance_id"] == performance.id]
        if here.empty:
            problems.append(
                Problem(f"{label}: {name}'s quota {quota} of channel {channel} holds no place")
            )
        if here["category"].isna().any():
            problems.append(
                Problem(f"{label}: a free-placement block of {name}'s quota has no seat category")
            )
        if not any(key[0] == performance.id for key in priced):
            problems.append(
                Problem(
                    f"{label}: no price at the tariffs offered at {name} ({', '.join(offered)})"
                )
            )
            continue
        for category in here["category"].dropna():
            missing = [t for t in offered if (performance.id, category, t) not in priced]
            if missing:
                problems.append(
                    Problem(
                        f"{label}: category {category} holds places of {name}'s quota but has "
                        f"no price for tariff(s) {', '.join(missing)} offered at {name}",
                        value=str(category),
                    )
                )
    return problems


def _priced_lines(
    product: Product,
    performances: Sequence[Performance],
    prices: pd.DataFrame,
    offered: Sequence[str],
    mappings: ProductMappings,
    configuration: str,
) -> pd.DataFrame:
    """One row per performance × category × tariff × price type, with Ticketnet's codes
    (``venue_code``, ``price_level``, ``price_type``), in record order; MappingError naming
    every value without its Ticketnet code."""
    configurations = pd.Series([configuration], dtype="str")
    venue = mappings.to_partner(MappingKind.VENUE, configurations)
    categories = pd.Series(sorted(prices["category"].unique()), dtype="str")
    levels = mappings.to_partner(MappingKind.PRICE_LEVEL, categories, configuration)
    tariffs = pd.Series([t for t in offered if t in set(prices["tariff"])], dtype="str")
    entries = mappings.effective(MappingKind.PRICE_TYPE, configuration)
    price_types = {t: entries[t].partner for t in tariffs if t in entries and entries[t].partner}
    types_text = tariffs.map({t: "|".join(types) for t, types in price_types.items()}).astype("str")
    shared = shown_path(mappings.shared_file)
    problems: list[Problem] = []
    for kind, values, resolved in (
        (MappingKind.VENUE, configurations, venue),
        (MappingKind.PRICE_LEVEL, categories, levels),
        (MappingKind.PRICE_TYPE, tariffs, types_text),
    ):
        problems.extend(
            unresolved_problems(
                VOCABULARY,
                kind,
                _unlined(values),
                _unlined(resolved),
                product=product.code,
                inbound=False,
                file=shared,
            )
        )
    if problems:
        raise _mapping_error(f"The CATALOG of {product.code}", problems)
    order = {performance.id: rank for rank, performance in enumerate(performances)}
    tariff_rank = {tariff: rank for rank, tariff in enumerate(offered)}
    lines = prices.assign(
        venue_code=venue.iloc[0],
        price_level=prices["category"].map(dict(zip(categories, levels, strict=True))),
        price_type=prices["tariff"].map(price_types),
        _performance=prices["performance_id"].map(order),
        _tariff=prices["tariff"].map(tariff_rank),
    )
    lines = lines.sort_values(["_performance", "category", "_tariff"], kind="stable")
    lines = lines.explode("price_type", ignore_index=True)
    _refuse_collisions(product.code, performances, lines)
    return lines


def _refuse_collisions(
    product_code: str, performances: Sequence[Performance], lines: pd.DataFrame
) -> None:
    """Two categories mapped to one price level, or two tariffs to one price type, would put a
    price level × price type twice in a performance's price table (C06): a mapping to fix."""
    key = ["performance_id", "price_level", "price_type"]
    clashing = lines[lines.duplicated(key, keep=False)]
    if clashing.empty:
        return
    codes = {performance.id: performance.code for performance in performances}
    problems = [
        Problem(
            f"performance {codes.get(int(performance_id), performance_id)}: price level "
            f"{level} × price type {price_type} would stand for "
            + ", ".join(
                f"category {c} at tariff {t}"
                for c, t in rows[["category", "tariff"]].drop_duplicates().itertuples(index=False)
            )
            + f": map them to distinct {RESELLER_TYPE.name} codes",
            column="price_type",
            value=str(price_type),
        )
        for (performance_id, level, price_type), rows in clashing.groupby(key, sort=False)
    ]
    raise _mapping_error(f"The CATALOG of {product_code}", problems)


def _catalog_records(
    product: Product,
    kind: ProductKind,
    timezone: ZoneInfo,
    sales_open: dt.datetime,
    lines: pd.DataFrame,
) -> dict[str, Any]:
    starts = {
        performance.id: _timestamp(performance.starts_at.replace(tzinfo=timezone))
        for performance in product.performances
        if performance.starts_at is not None
    }
    codes = {performance.id: performance.code for performance in product.performances}
    starts_at = lines["performance_id"].map(starts)
    return {
        "org_event_code": [product.code] * len(lines),
        "event_name": [_cut(product.name, "event_name")] * len(lines),
        "event_kind": [EVENT_KINDS[kind]] * len(lines),
        "org_performance_code": lines["performance_id"].map(codes).tolist(),
        "starts_at": starts_at.tolist(),
        "venue_code": lines["venue_code"].tolist(),
        "venue_name": [_cut(product.venue.name, "venue_name")] * len(lines),
        "city": [_cut(product.venue.city, "city")] * len(lines),
        "price_level": lines["price_level"].tolist(),
        "price_level_name": lines["category_name"].str.slice(0, TEXT_LIMITS["price_level_name"]),
        "price_type": lines["price_type"].tolist(),
        "amount": _amounts(lines["amount"]).tolist(),
        "currency": lines["currency"].tolist(),
        "sale_starts_at": [_timestamp(sales_open.astimezone(timezone))] * len(lines),
        "sale_ends_at": starts_at.tolist(),
    }


def _timestamp(moment: dt.datetime) -> str:
    """``2027-03-14T20:30:00+01:00``: seconds, the numeric offset of that instant (section 5)."""
    return moment.replace(microsecond=0).isoformat(timespec="seconds")


def _cut(text: str, column: str) -> str:
    return text[: TEXT_LIMITS[column]]


def _amounts(cents: pd.Series) -> pd.Series:
    """Cents as the contract's amount text: 6850 → ``68.50`` (section 5)."""
    cents = cents.astype("int64")
    units = (cents // 100).astype("str")
    return units + "." + (cents % 100).astype("str").str.zfill(2)


def _refuse_catalog_problems(product_code: str, problems: list[TicketnetProblem]) -> None:
    """Refuse what Ticketnet would refuse: C04 and C05 are the box office's set-up (mapping
    category), C06 a fault of this writer (technical)."""
    if not problems:
        return
    count = len(problems)
    message = (
        f"The CATALOG of {product_code} would be refused by {RESELLER_TYPE.name}: {count} "
        f"problem{'s' if count > 1 else ''} ({CONTRACT} sections 8.1 and 9.2)"
    )
    categories = {problem.code.category for problem in problems}
    if categories - {MappingError.category}:
        raise TechnicalError(message, problems=problems)
    raise MappingError(message, problems=problems, action=SET_UP_ACTION)


def _mapping_error(what: str, problems: Sequence[Problem]) -> MappingError:
    count = len(problems)
    return MappingError(
        f"{what} cannot be written: {count} value{'s' if count > 1 else ''} without a "
        f"{RESELLER_TYPE.name} code",
        problems=problems,
        action=MAPPING_ACTION,
    )


def _unlined(values: pd.Series) -> pd.Series:
    """The values without line numbers: the file is not written yet, a problem names the value."""
    return values.set_axis(pd.Index([None] * len(values), dtype=object))


# --------------------------------------------------------------------------- places

_PLACE_FRAME = {
    "performance_id": "int64",
    "seat_id": "Int64",
    "block_id": "Int64",
    "places": "int64",
}


@dataclass(frozen=True)
class PlaceRecords:
    """ALLOCATION or RELEASE records, and the box office's place of each, in record order
    (``performance_id``, ``seat_id``, ``block_id`` for free places, ``places``)."""

    records: pa.Table
    places: pd.DataFrame


def allocation(
    session: Session,
    settings: TicketnetSettings,
    repository: MappingRepository,
    performances: PartnerPerformances,
    product_code: str,
) -> pa.Table:
    """The ALLOCATION records of the places of Ticketnet's quota (see
    :func:`allocation_records`)."""
    return allocation_records(session, settings, repository, performances, product_code).records


def allocation_records(
    session: Session,
    settings: TicketnetSettings,
    repository: MappingRepository,
    performances: PartnerPerformances,
    product_code: str,
) -> PlaceRecords:
    """The ALLOCATION records of the places of Ticketnet's quota on each performance of
    ``product_code`` (section 8.2): its seats one by one, its free places block by block.

    Raises :class:`MappingError` for a kind Ticketnet may not sell, a performance Ticketnet
    has given no ids for yet (wait for the CATALOG's ACK) or a missing mapping.
    """
    product = _product(session, product_code)
    _sellable_kind(product)
    quotas = _quota_ids(settings, product.id)
    seats = session.execute(
        select(QuotaSeat.performance_id, QuotaSeat.seat_id).where(QuotaSeat.quota_id.in_(quotas))
    ).all()
    free = session.execute(
        select(Quota.performance_id, QuotaFreePlaces.block_id, QuotaFreePlaces.places)
        .join(Quota, Quota.id == QuotaFreePlaces.quota_id)
        .where(QuotaFreePlaces.quota_id.in_(quotas), QuotaFreePlaces.places > 0)
    ).all()
    places = pd.concat(
        [
            pd.DataFrame(
                {
                    "performance_id": [row[0] for row in seats],
                    "seat_id": [row[1] for row in seats],
                    "block_id": None,
                    "places": 1,
                }
            ),
            pd.DataFrame(
                {
                    "performance_id": [row[0] for row in free],
                    "seat_id": None,
                    "block_id": [row[1] for row in free],
                    "places": [row[2] for row in free],
                }
            ),
        ],
        ignore_index=True,
    )
    if places.empty:
        raise MappingError(
            f"{RESELLER_TYPE.name}'s quota {settings.boxoffice.quota} on {product_code} holds no "
            f"seat nor free place: nothing to give {RESELLER_TYPE.name}",
            action=SET_UP_ACTION,
        )
    return _place_records(
        session,
        repository,
        performances,
        places,
        FileType.ALLOCATION,
        f"ALLOCATION of {product_code}",
    )


def release(
    session: Session,
    settings: TicketnetSettings,
    repository: MappingRepository,
    performances: PartnerPerformances,
    places: pd.DataFrame,
) -> pa.Table:
    """The RELEASE records of ``places`` (section 8.3), in the same codes as ALLOCATION.

    ``places`` has a row per place to take back: ``performance_id`` (the box office's),
    and either ``seat_id`` (one seat) or ``block_id`` with ``places`` (that many free places
    of a free-placement block); ``places`` may be left out for seats (1). Which places to
    take back, and recording the ACK's answer, are the caller's.
    """
    del settings  # the places say everything; kept for the shape of every OFFER builder
    missing = {"performance_id"} - set(places.columns)
    if missing or not ({"seat_id", "block_id"} & set(places.columns)):
        raise ValueError(
            "places need the columns performance_id and seat_id or block_id, not "
            f"{places.columns.tolist()}"
        )
    frame = pd.DataFrame(
        {
            "performance_id": places["performance_id"],
            "seat_id": places.get("seat_id"),
            "block_id": places.get("block_id"),
            "places": places.get("places", 1),
        }
    )
    return _place_records(
        session, repository, performances, frame, FileType.RELEASE, "RELEASE"
    ).records


def _place_records(
    session: Session,
    repository: MappingRepository,
    performances: PartnerPerformances,
    places: pd.DataFrame,
    file_type: FileType,
    what: str,
) -> PlaceRecords:
    """ALLOCATION or RELEASE records of places (:data:`PLACE_COLUMNS`), performance by
    performance in date order, seats (in seat order) before free-placement blocks."""
    seated = places["seat_id"].notna()
    if (~seated & places["places"].isna()).any():
        raise ValueError("a free-placement block's row gives its number of places")
    places = places.assign(places=places["places"].where(~seated, 1))
    if (places["seat_id"].isna() & places["block_id"].isna()).any():
        raise ValueError("each place names a seat_id or a block_id")
    places = places.astype(_PLACE_FRAME).reset_index(drop=True)
    located = _locate(session, places)
    partner_ids = performances.frame.rename(
        columns={"performance_id": "partner_performance_id", "performance": "performance_id"}
    ).astype({"performance_id": "int64"})
    ids = located.merge(partner_ids, on="performance_id", how="left")
    _refuse_unknown_performances(ids, what)
    unconfigured = ids[ids["configuration"].isna()]
    if not unconfigured.empty:
        raise MappingError(
            f"The {what} cannot be written: "
            + ", ".join(sorted(set(unconfigured["product"].astype("str"))))
            + " has no seating configuration in the box office",
            action=SET_UP_ACTION,
        )
    parts = [
        _mapped_places(rows, repository.for_product(str(product)), str(configuration), what)
        for (product, configuration), rows in ids.groupby(["product", "configuration"], sort=True)
    ]
    problems = [problem for part in parts if isinstance(part, list) for problem in part]
    if problems:
        raise _mapping_error(f"The {what}", problems)
    mapped = pd.concat([part for part in parts if isinstance(part, pd.DataFrame)])
    mapped = mapped.sort_values(["starts_at", "performance_id", "free", "zone", "block", "seat_id"])
    free = mapped["free"].to_numpy()
    places_in_order = pd.DataFrame(
        {
            "performance_id": mapped["performance_id"].astype("int64").to_numpy(),
            "seat_id": mapped["seat_id"].astype("Int64").where(~free).to_numpy(),
            "block_id": mapped["block_id"].astype("Int64").where(free).to_numpy(),
            "places": mapped["places"].astype("int64").to_numpy(),
        }
    )
    records = {
        "event_id": mapped["event_id"].tolist(),
        "performance_id": mapped["partner_performance_id"].tolist(),
        "price_level": mapped["price_level"].tolist(),
        "section": mapped["code"].where(~free, "").tolist(),
        "row": mapped["row"].where(~free, "").tolist(),
        "seat": mapped["number"].where(~free, "").tolist(),
        "area": mapped["code"].where(free, "").tolist(),
        "quantity": mapped["places"].astype("int64").tolist(),
    }
    return PlaceRecords(text_table(file_type, records, file=what), places_in_order)


def _locate(session: Session, places: pd.DataFrame) -> pd.DataFrame:
    """Each place with its performance's product, configuration and start, its block, zone,
    row, number and category (the seat's, else the block's)."""
    seat_ids = places["seat_id"].dropna().astype("int64").unique().tolist()
    seats: list[tuple[Any, ...]] = []
    for condition in matching(session, Seat.id, seat_ids):
        seats.extend(
            tuple(row)
            for row in session.execute(
                select(Seat.id, Seat.block_id, Seat.row, Seat.number, SeatCategory.code)
                .join(SeatCategory, SeatCategory.id == Seat.category_id)
                .where(condition)
            )
        )
    seat_frame = pd.DataFrame(
        seats, columns=["seat_id", "seat_block", "row", "number", "seat_category"]
    )
    located = places.merge(seat_frame.astype({"seat_id": "Int64"}), on="seat_id", how="left")
    if (located["seat_id"].notna() & located["seat_block"].isna()).any():
        unknown = located.loc[located["seat_id"].notna() & located["seat_block"].isna(), "seat_id"]
        raise TechnicalError(
            f"no seat with the ids {sorted(int(i) for i in unknown)} in the box office"
        )
    located["block_id"] = located["block_id"].fillna(located["seat_block"]).astype("int64")
    block_ids = located["block_id"].unique().tolist()
    blocks = pd.DataFrame(
        [
            tuple(row)
            for row in session.execute(
                select(Block.id, Block.code, Zone.code, Block.free_placement, SeatCategory.code)
                .join(Zone, Zone.id == Block.zone_id)
                .outerjoin(SeatCategory, SeatCategory.id == Block.category_id)
                .where(Block.id.in_(block_ids))
            )
        ],
        columns=["block_id", "block", "zone", "free_placement", "block_category"],
    )
    located = located.merge(blocks.astype({"block_id": "int64"}), on="block_id", how="left")
    if located["block"].isna().any():
        unknown = located.loc[located["block"].isna(), "block_id"]
        raise TechnicalError(
            f"no block with the ids {sorted(int(i) for i in unknown)} in the box office"
        )
    performance_ids = located["performance_id"].unique().tolist()
    performance_frame = pd.DataFrame(
        [
            tuple(row)
            for row in session.execute(
                select(
                    Performance.id,
                    Performance.code,
                    Performance.starts_at,
                    Product.code,
                    SeatingConfiguration.code,
                )
                .join(Product, Product.id == Performance.product_id)
                .outerjoin(
                    SeatingConfiguration, SeatingConfiguration.id == Product.configuration_id
                )
                .where(Performance.id.in_(performance_ids))
            )
        ],
        columns=["performance_id", "performance_code", "starts_at", "product", "configuration"],
    )
    located = located.merge(
        performance_frame.astype({"performance_id": "int64"}), on="performance_id", how="left"
    )
    if located["product"].isna().any():
        unknown = located.loc[located["product"].isna(), "performance_id"]
        raise TechnicalError(
            f"no performance with the ids {sorted(int(i) for i in unknown.unique())} in the "
            "box office"
        )
    seated = located["seat_id"].notna()
    located["free"] = ~seated
    located["category"] = located["seat_category"].where(seated, located["block_category"])
    return located


def _refuse_unknown_performances(located: pd.DataFrame, what: str) -> None:
    """MappingError naming each performance Ticketnet has given no ids for (A01)."""
    unknown = located[located["event_id"].isna()].drop_duplicates("performance_id")
    if unknown.empty:
        return
    problems = [
        Problem(
            f"{row.product} performance {row.performance_code}"
            + (
                f" ({pd.Timestamp(row.starts_at):%d/%m/%Y %H:%M})"
                if pd.notna(row.starts_at)
                else ""
            )
            + f": {RESELLER_TYPE.name} has given no event_id and performance_id for it yet: "
            "wait for the CATALOG's ACK",
            value=str(row.performance_code),
        )
        for row in unknown.sort_values(["starts_at", "performance_id"]).itertuples(index=False)
    ]
    count = len(problems)
    raise MappingError(
        f"The {what} cannot be written: {count} performance{'s' if count > 1 else ''} unknown "
        f"to {RESELLER_TYPE.name} ({CONTRACT} sections 7.4 and 8.2, A01)",
        problems=problems,
        action=WAIT_FOR_ACK_ACTION,
    )


def _mapped_places(
    rows: pd.DataFrame, mappings: ProductMappings, configuration: str, what: str
) -> pd.DataFrame | list[Problem]:
    """The places of one product with Ticketnet's ``code`` (section or area) and
    ``price_level``; or the problems of its values without a Ticketnet code."""
    product = mappings.product
    blocks = rows[["zone", "block"]].drop_duplicates(ignore_index=True).astype("str")
    codes = mappings.bloc_to_partner(blocks["zone"], blocks["block"], configuration)
    named_blocks = blocks["zone"].str.cat(blocks["block"], sep="/")
    categories = pd.Series(sorted(rows["category"].dropna().unique()), dtype="str")
    levels = mappings.to_partner(MappingKind.PRICE_LEVEL, categories, configuration)
    shared = shown_path(mappings.shared_file)
    problems: list[Problem] = []
    for kind, values, resolved in (
        (MappingKind.SECTION, named_blocks, codes),
        (MappingKind.PRICE_LEVEL, categories, levels),
    ):
        problems.extend(
            unresolved_problems(
                VOCABULARY,
                kind,
                _unlined(values),
                _unlined(resolved),
                product=product,
                inbound=False,
                file=shared,
            )
        )
    no_category = rows[rows["category"].isna()].drop_duplicates(["zone", "block"])
    problems.extend(
        Problem(
            f"free-placement block {row.block} (zone {row.zone}) of configuration "
            f"{configuration} has no seat category in the box office: its places have no "
            f"{RESELLER_TYPE.name} price level",
            value=f"{row.zone}/{row.block}",
        )
        for row in no_category.itertuples(index=False)
    )
    wrong = rows[rows["free"] != rows["free_placement"].astype(bool)]
    problems.extend(
        Problem(
            f"{what}: block {row.block} (zone {row.zone}) is "
            + (
                "a free-placement block: give its places by block_id and places"
                if row.free_placement
                else "seated: give its places seat by seat (seat_id)"
            ),
            value=f"{row.zone}/{row.block}",
        )
        for row in wrong.drop_duplicates(["zone", "block"]).itertuples(index=False)
    )
    if problems:
        return problems
    code_of = dict(zip(named_blocks, codes, strict=True))
    level_of = dict(zip(categories, levels, strict=True))
    return rows.assign(
        code=rows["zone"].astype("str").str.cat(rows["block"].astype("str"), sep="/").map(code_of),
        price_level=rows["category"].map(level_of),
    )


# --------------------------------------------------------------------------- the batch


def offer_batch(
    number: int,
    settings: TicketnetSettings,
    files: Mapping[FileType, Records],
    *,
    created_at: str,
) -> BuiltBatch:
    """The ``OFFER`` batch ``number`` of the organiser (``OFFER_<promoter>_<number>``) holding
    ``files`` (CATALOG, ALLOCATION and/or RELEASE records), ready to upload to
    ``/to_ticketnet/`` (sections 3, 4 and 6)."""
    return build_batch(
        BatchId(Stream.OFFER, settings.promoter_code, number), files, created_at=created_at
    )
