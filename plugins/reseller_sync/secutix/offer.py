"""The organiser's OFFER file (``secutix-reseller-v1`` sections 1, 2, 5 and 8.1): what the
reseller may sell of a box-office product, and at which prices.

:func:`offer_rows` builds the OFFER lines of one product from the box office: one line per
product × performance (none for an ``UNDATED_PASS``) × seat category × tariff priced,
checked as the reseller reads them (:func:`reseller_sync.secutix.writer.text_table`);
:func:`offer_file` writes the lines of one or more products as the organiser's file
number ``n`` through :mod:`reseller_sync.secutix.writer`.

* **Kind.** Before anything else is read, a product of a kind the reseller may not sell
  (section 1: a subscription, a package, a visit pass for a group) is refused with the
  reseller type's reason (:meth:`~reseller_sync.core.resellers.ResellerType.refusal_reason`):
  it never appears in a file. The box office's kind becomes the contract's
  ``PRODUCT_KIND`` by :func:`~reseller_sync.secutix.reseller_type.exchanged_kind`: a visit
  pass whose performances start (visit days or slots) is a ``VISIT_PASS``, one with
  validity dates only an ``UNDATED_PASS``.
* **Performances.** ``PERFORMANCE_START`` is the venue's wall-clock time with the venue's
  UTC offset of that date (section 5). An undated pass is the box office's single
  performance of the product, which holds its validity: ``PASS_VALIDITY_START`` (its first
  day, or empty) and ``PASS_VALIDITY_END`` (its last day, required). A performance that has
  started, or a pass whose validity has ended, at ``sales_open`` is left out.
* **Prices.** The box office's prices, in minor units, at the tariffs offered (the
  caller's list, e.g. ``settings.tariffs_offered_for(product)``; by default every tariff
  that is not another reseller's own), in the product's single currency.
* **Sales.** ``SALES_START`` is ``sales_open`` (default now); ``SALES_END`` is the
  performance's start, or for an undated pass the last second of its last valid day, in
  the venue's time zone, ``sales_close_before`` earlier (default: none). ``ON_SALE`` is
  ``1``, ``0`` for the tariffs whose sale stops (``stopped_tariffs``).
* **Codes.** The codes exchanged are the box office's own (section 2): the identity,
  unless the caller's ``translate`` says otherwise (:data:`Translate`, the seam for the
  reseller's mappings). Performance codes are never translated.

A product that cannot be offered as set up (no performance to offer, a dated product
with an undated performance, several currencies, a country other than FR or CH...) is a
:class:`~reseller_sync.domain.errors.MappingError` naming every problem, and nothing is
written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from reseller_sync.boxoffice.models import (
    Currency,
    Performance,
    Price,
    Product,
    SeatCategory,
    Tariff,
)
from reseller_sync.domain.errors import MappingError, Problem
from reseller_sync.domain.products import ProductKind
from reseller_sync.domain.texts import Localized
from reseller_sync.secutix.names import FileType
from reseller_sync.secutix.reseller_type import RESELLER_TYPE, ExchangedKind, exchanged_kind
from reseller_sync.secutix.writer import OrganiserFile, build_file, text_table

CONTRACT: Final = RESELLER_TYPE.contract

PRODUCT: Final = "product"
SEAT_CATEGORY: Final = "seat_category"
TARIFF: Final = "tariff"
BLOCK: Final = "block"
"""The kinds of code :data:`Translate` is asked about (the values of the mappings' kinds)."""

Translate = Callable[[str, pd.Series, "pd.Series | None"], pd.Series]
"""``translate(kind, codes, zones)``: the exchanged code of each box-office code of
``kind`` (:data:`PRODUCT`, :data:`SEAT_CATEGORY`, :data:`TARIFF`, :data:`BLOCK`), same
index; NA where none. ``zones`` is given for blocks only: each block's zone code."""

COUNTRIES: Final = ("FR", "CH")
TEXT_LIMITS: Final = {
    "PRODUCT_NAME": 120,
    "VENUE_NAME": 60,
    "CITY": 60,
    "SEATCAT_NAME": 60,
    "TARIFF_NAME": 60,
}
"""Text columns of the OFFER and their lengths (section 8.1): longer names are cut."""

NOT_SELLABLE_ACTION = Localized(
    fr="{reseller} ne peut pas vendre ce type de produit : retirez-le du canal {reseller} dans "
    "la billetterie et des produits des réglages {reseller}.",
    en="{reseller} may not sell this kind of product: remove it from the {reseller} channel in "
    "the box office and from products in the {reseller} settings.",
)
SET_UP_ACTION = Localized(
    fr="Corrigez la mise en place du produit dans la billetterie (représentations, validité, "
    "prix, lieu, contingent {reseller}) comme chaque problème le dit, puis relancez la tâche "
    "en échec (Clear).",
    en="Fix the product's set-up in the box office (performances, validity, prices, venue, "
    "{reseller} quota) as each problem says, then clear the failed task.",
)
MAPPING_ACTION = Localized(
    fr="Chaque code cité n'a pas de code échangé avec {reseller} : corrigez le fichier de "
    "mapping qui l'envoie sous un autre code, puis relancez la tâche en échec (Clear).",
    en="Each code named has no code exchanged with {reseller}: fix the mapping file that "
    "sends it under another code, then clear the failed task.",
)


def identity(kind: str, codes: pd.Series, zones: pd.Series | None = None) -> pd.Series:
    """The box office's codes are the exchanged ones (section 2)."""
    del kind, zones
    return codes


# --------------------------------------------------------------------------- the product


def load_product(session: Session, product_code: str) -> Product:
    """The box office's product with its venue and performances; MappingError when none."""
    product = session.scalar(
        select(Product)
        .where(Product.code == product_code)
        .options(selectinload(Product.venue), selectinload(Product.performances))
    )
    if product is None:
        raise MappingError(
            f"Product {product_code} does not exist in the box office",
            problems=[Problem("no product of this code in the box office", value=product_code)],
            action=SET_UP_ACTION,
        )
    return product


def refuse_unsellable(product: Product) -> None:
    """MappingError, with the reseller type's reason, when the reseller may not sell the
    product's kind (section 1): checked before anything is read or written."""
    kind = ProductKind(product.kind)
    reason = RESELLER_TYPE.refusal_reason(kind)
    if reason is not None:
        raise MappingError(
            f"Product {product.code} cannot be put on sale at {RESELLER_TYPE.name}: it is a "
            f"{kind.value}",
            problems=[Problem(f"product {product.code}: {reason}", value=kind.value)],
            action=NOT_SELLABLE_ACTION,
        )


def product_kind(product: Product) -> ExchangedKind:
    """The product's ``PRODUCT_KIND`` (section 1), its kind refused first
    (:func:`refuse_unsellable`); MappingError when its performances fit no kind: a dated
    product with a performance without start, an undated pass that is not one performance
    with a last valid day."""
    refuse_unsellable(product)
    kind = ProductKind(product.kind)
    performances = product.performances
    starts = [p.starts_at is not None for p in performances]
    dated = kind in (ProductKind.EVENT, ProductKind.COMPETITION) or (
        kind is ProductKind.VISIT_PASS and any(starts)
    )
    exchanged = exchanged_kind(kind, dated=dated)
    assert exchanged is not None  # refuse_unsellable refused the other kinds
    problems: list[Problem] = []
    if not performances:
        problems.append(Problem("the product has no performance", value=product.code))
    elif exchanged.dated:
        problems.extend(
            Problem(
                f"performance {p.code} has no start: every performance of a dated "
                f"{exchanged} has one ({CONTRACT} section 8.1)",
                value=p.code,
            )
            for p in performances
            if p.starts_at is None
        )
    elif len(performances) != 1:
        problems.append(
            Problem(
                f"an {exchanged} is one performance in the box office (its validity), not "
                f"{len(performances)}",
                value=", ".join(p.code for p in performances),
            )
        )
    elif performances[0].valid_until is None:
        problems.append(
            Problem(
                f"performance {performances[0].code} has no last valid day: an {exchanged} "
                f"needs PASS_VALIDITY_END ({CONTRACT} section 8.1)",
                value=performances[0].code,
            )
        )
    if problems:
        raise set_up_error(product.code, problems)
    return exchanged


def set_up_error(product_code: str, problems: Sequence[Problem]) -> MappingError:
    count = len(problems)
    return MappingError(
        f"Product {product_code} cannot be offered to {RESELLER_TYPE.name}: {count} "
        f"problem{'s' if count > 1 else ''}",
        problems=problems,
        action=SET_UP_ACTION,
    )


def translated(
    translate: Translate,
    kind: str,
    codes: pd.Series,
    product_code: str,
    zones: pd.Series | None = None,
) -> pd.Series:
    """``translate`` applied to ``codes``; MappingError naming each code without an
    exchanged code."""
    result = pd.Series(translate(kind, codes, zones), index=codes.index)
    missing = result.isna()
    if missing.any():
        named = sorted(set(codes[missing].astype("str")))
        raise MappingError(
            f"Product {product_code}: {len(named)} {kind.replace('_', ' ')} code(s) have no "
            f"code exchanged with {RESELLER_TYPE.name}",
            problems=[
                Problem(f"{kind.replace('_', ' ')} {code} has no exchanged code", value=code)
                for code in named
            ],
            action=MAPPING_ACTION,
        )
    return result.astype("str")


def local_timestamp(moment: dt.datetime, timezone: ZoneInfo) -> str:
    """A timestamp of section 5 in ``timezone``: an aware ``moment`` converted, a naive one
    read as that zone's wall-clock time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone)
    return moment.astimezone(timezone).replace(microsecond=0).isoformat()


# --------------------------------------------------------------------------- OFFER


def offer_rows(
    session: Session,
    product_code: str,
    *,
    tariffs: Collection[str] | None = None,
    stopped_tariffs: Collection[str] = (),
    sales_open: dt.datetime | None = None,
    sales_close_before: dt.timedelta = dt.timedelta(0),
    translate: Translate = identity,
) -> pa.Table:
    """The OFFER lines of ``product_code`` (section 8.1), every column as text in the
    spec's order, checked as the reseller reads them.

    ``tariffs``: the tariffs offered at the reseller (default: every tariff that is not
    another reseller's own); ``stopped_tariffs``: those whose sale stops (``ON_SALE`` 0);
    ``sales_open`` (aware, default now): when sales open; ``sales_close_before``: how long
    before the performance's start (or the pass's last second) sales close. Raises
    :class:`MappingError` (a kind the reseller may not sell, a product not set up, a code
    without its exchanged code) or :class:`~reseller_sync.secutix.writer.WriteError` (a
    line that breaks the contract)."""
    timing = _Timing(_moment(sales_open), sales_close_before)
    records = _records(session, product_code, tariffs, stopped_tariffs, timing, translate)
    return text_table(FileType.OFFER, records, file=f"OFFER of {product_code}")


def offer_file(
    session: Session,
    number: int,
    product_codes: Sequence[str],
    *,
    tariffs: Callable[[str], Collection[str] | None] | None = None,
    stopped_tariffs: Collection[str] = (),
    sales_open: dt.datetime | None = None,
    sales_close_before: dt.timedelta = dt.timedelta(0),
    translate: Translate = identity,
) -> OrganiserFile:
    """The organiser's file number ``number``: the OFFER of ``product_codes``, in that
    order, with its control file (sections 4, 6 and 8.1). ``tariffs(product_code)``: the
    tariffs offered for a product (e.g. ``settings.tariffs_offered_for``); the other
    arguments as :func:`offer_rows`'s."""
    timing = _Timing(_moment(sales_open), sales_close_before)
    for code in product_codes:  # every kind refused before any line is built
        refuse_unsellable(load_product(session, code))
    frames = [
        _records(
            session,
            code,
            tariffs(code) if tariffs is not None else None,
            stopped_tariffs,
            timing,
            translate,
        )
        for code in product_codes
    ]
    return build_file(FileType.OFFER, number, pd.concat(frames, ignore_index=True))


@dataclass(frozen=True)
class _Timing:
    sales_open: dt.datetime
    close_before: dt.timedelta

    def sales_end(self, performance: Performance, kind: ExchangedKind, timezone: ZoneInfo) -> str:
        """The performance's start; for an undated pass, the last second of its validity;
        ``close_before`` earlier."""
        if kind.dated:
            assert performance.starts_at is not None  # product_kind refused it otherwise
            end = performance.starts_at
        else:
            assert performance.valid_until is not None  # product_kind refused it otherwise
            end = dt.datetime.combine(performance.valid_until, dt.time(23, 59, 59))
        return local_timestamp(end.replace(tzinfo=timezone) - self.close_before, timezone)


def _moment(sales_open: dt.datetime | None) -> dt.datetime:
    moment = (sales_open or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    if moment.tzinfo is None:
        raise ValueError("sales_open must be an aware datetime")
    return moment


def _records(
    session: Session,
    product_code: str,
    tariffs: Collection[str] | None,
    stopped_tariffs: Collection[str],
    timing: _Timing,
    translate: Translate,
) -> pd.DataFrame:
    product = load_product(session, product_code)
    kind = product_kind(product)
    venue = product.venue
    timezone = ZoneInfo(venue.timezone)
    problems: list[Problem] = []
    if venue.country not in COUNTRIES:
        problems.append(
            Problem(
                f"venue {venue.code} is in {venue.country}: the exchange knows FR and CH only "
                f"({CONTRACT} section 8.1)",
                value=venue.country,
            )
        )
    sales_open = timing.sales_open
    performances = _offered_performances(product, kind, timezone, timing)
    if not performances:
        problems.append(
            Problem(
                "every performance has started, or the pass's validity has ended, at "
                f"{local_timestamp(sales_open, timezone)}: nothing to offer",
                value=product.code,
            )
        )
    prices = _prices(session, [p.id for p in performances], tariffs)
    if performances and prices.empty:
        problems.append(
            Problem(
                "no price at the tariffs offered"
                + (f" ({', '.join(sorted(tariffs))})" if tariffs is not None else ""),
                value=product.code,
            )
        )
    currencies = sorted(set(prices["currency"]))
    if len(currencies) > 1:
        problems.append(
            Problem(
                f"prices in {' and '.join(currencies)}: every line of a product has the "
                f"same currency ({CONTRACT} section 8.1)",
                value=product.code,
            )
        )
    if problems:
        raise set_up_error(product.code, problems)

    timing = pd.DataFrame(
        [
            {
                "performance_id": p.id,
                "PERFORMANCE_CODE": p.code if kind.dated else "",
                "PERFORMANCE_START": local_timestamp(p.starts_at, timezone)
                if kind.dated and p.starts_at is not None
                else "",
                "PASS_VALIDITY_START": ""
                if kind.dated or p.valid_from is None
                else p.valid_from.isoformat(),
                "PASS_VALIDITY_END": ""
                if kind.dated or p.valid_until is None
                else p.valid_until.isoformat(),
                "SALES_END": timing.sales_end(p, kind, timezone),
                "order": index,
            }
            for index, p in enumerate(performances)
        ]
    )
    lines = prices.merge(timing, on="performance_id").sort_values(
        ["order", "category", "tariff"], kind="stable", ignore_index=True
    )
    product_codes = pd.Series([product.code] * len(lines), index=lines.index, dtype="str")
    records = pd.DataFrame(
        {
            "PRODUCT_CODE": translated(translate, PRODUCT, product_codes, product.code),
            "PRODUCT_NAME": product.name,
            "PRODUCT_KIND": kind.value,
            "PERFORMANCE_CODE": lines["PERFORMANCE_CODE"],
            "PERFORMANCE_START": lines["PERFORMANCE_START"],
            "VENUE_NAME": venue.name,
            "CITY": venue.city,
            "COUNTRY": venue.country,
            "PASS_VALIDITY_START": lines["PASS_VALIDITY_START"],
            "PASS_VALIDITY_END": lines["PASS_VALIDITY_END"],
            "SEATCAT_CODE": translated(translate, SEAT_CATEGORY, lines["category"], product.code),
            "SEATCAT_NAME": lines["category_name"],
            "TARIFF_CODE": translated(translate, TARIFF, lines["tariff"], product.code),
            "TARIFF_NAME": lines["tariff_name"],
            "PRICE": lines["amount"].astype("int64"),
            "CURRENCY": lines["currency"],
            "SALES_START": local_timestamp(sales_open, timezone),
            "SALES_END": lines["SALES_END"],
            "ON_SALE": ~lines["tariff"].isin(list(stopped_tariffs)),
        },
        index=lines.index,
    )
    for column, limit in TEXT_LIMITS.items():
        records[column] = records[column].astype("str").str.slice(0, limit)
    return records


def _offered_performances(
    product: Product, kind: ExchangedKind, timezone: ZoneInfo, timing: _Timing
) -> list[Performance]:
    """The performances still on sale at ``sales_open``, in date order."""
    performances = sorted(
        product.performances, key=lambda p: (p.starts_at or dt.datetime.min, p.code)
    )
    return [
        p
        for p in performances
        if dt.datetime.fromisoformat(timing.sales_end(p, kind, timezone)) > timing.sales_open
    ]


def _prices(
    session: Session, performance_ids: Sequence[int], tariffs: Collection[str] | None
) -> pd.DataFrame:
    """The prices of the performances: ``performance_id``, ``category``, ``category_name``,
    ``tariff``, ``tariff_name``, ``amount`` (minor units), ``currency``."""
    query = (
        select(
            Price.performance_id,
            SeatCategory.code,
            SeatCategory.name,
            Tariff.code,
            Tariff.name,
            Price.amount,
            Price.currency,
        )
        .join(SeatCategory, SeatCategory.id == Price.category_id)
        .join(Tariff, Tariff.id == Price.tariff_id)
        .where(Price.performance_id.in_(list(performance_ids)))
    )
    if tariffs is not None:
        query = query.where(Tariff.code.in_(list(tariffs)))
    else:
        query = query.where(
            or_(Tariff.reseller_code.is_(None), Tariff.reseller_code == RESELLER_TYPE.code)
        )
    prices = pd.DataFrame(
        [tuple(row) for row in session.execute(query)],
        columns=[
            "performance_id",
            "category",
            "category_name",
            "tariff",
            "tariff_name",
            "amount",
            "currency",
        ],
    )
    prices["currency"] = prices["currency"].map(lambda currency: Currency(currency).value)
    return prices.astype({"performance_id": "int64", "currency": "str"})
