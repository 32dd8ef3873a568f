"""A synchronous reseller's product check and mapping check (``realtime-api-v1`` sections
2, 3, 7.2 and 9), whatever the reseller.

:func:`channel_plan` works out what putting a product on the reseller's channel means:
the performances still to sell, each one's sale window, the tariffs to open (the prices at
the tariffs offered, in the categories where the reseller's quota has places) and the
quota's places. :func:`check_product` says whether the reseller may sell the product (its
kind first, section 2) and whether that plan holds; onboarding applies it
(:mod:`reseller_sync.realtime.onboarding`).

The service speaks the box office's own codes (the ids of section 3): the mapping is the
identity and no mapping file can change it. :func:`check_mappings` checks that every code
the reseller will see is a valid id, and that no two performances it sees share one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    Block,
    Performance,
    Price,
    Product,
    ProductChannel,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    SalesChannel,
    Seat,
    SeatCategory,
    Tariff,
    Venue,
)
from reseller_sync.config.paths import mappings_dir, shown_path
from reseller_sync.config.yamlfile import YamlFileError, read_yaml
from reseller_sync.core.resellers import ResellerType
from reseller_sync.domain.errors import ConfigurationError, MappingError, Problem, SyncError
from reseller_sync.domain.products import ProductKind
from reseller_sync.domain.texts import Localized
from reseller_sync.mappings.check import CheckResult, ProductCheck
from reseller_sync.mappings.model import MappingFault
from reseller_sync.realtime.instance_settings import RealtimeInstanceSettings

API_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
"""An id of realtime-api-v1 (section 3)."""

FIX_PRODUCT = Localized(
    fr="Corrigez le produit dans la billetterie (prix aux tarifs proposés, contingent de "
    "{reseller} sur chaque représentation) ou les réglages de {reseller}, puis relancez la "
    "tâche en échec (Clear).",
    en="Fix the product in the box office (prices at the tariffs offered, {reseller}'s quota "
    "on each performance) or {reseller}'s settings, then clear the failed task.",
)


@dataclass(frozen=True)
class PerformanceSale:
    """One performance as it goes on sale on the reseller's channel."""

    performance_id: int
    code: str
    closes_at: dt.datetime
    """End of the sale window on the channel (UTC)."""
    places: dict[int, int]
    """Category id -> places of the reseller's quota in it."""
    tariffs: tuple[tuple[int, int], ...]
    """(category id, tariff id) opened on the channel: priced, in a category of the quota."""
    pass_categories: dict[int, int] = field(default_factory=dict)
    """Quota id -> category id, for a pass quota that names no category yet."""


@dataclass(frozen=True)
class ChannelPlan:
    """What putting a product on the reseller's channel means, and what stands in the way."""

    product_code: str
    product_id: int
    channel_id: int
    performances: tuple[PerformanceSale, ...]
    problems: tuple[Problem, ...] = ()

    @property
    def places(self) -> int:
        return sum(sum(sale.places.values()) for sale in self.performances)

    @property
    def tariffs(self) -> int:
        return sum(len(sale.tariffs) for sale in self.performances)


@dataclass(frozen=True)
class ProductVerdict:
    """The outcome of the product check; ``ok`` when nothing is wrong."""

    product_code: str
    problems: tuple[Problem, ...] = ()
    sellable: bool = True
    """False when the reseller may not sell the product's kind (section 2)."""
    error: SyncError | None = None
    """The refusal, to raise as it is (its category and action)."""
    plan: ChannelPlan | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> ProductVerdict:
        if self.error is not None:
            raise self.error
        return self


def check_product(
    reseller: ResellerType,
    session: Session,
    settings: RealtimeInstanceSettings,
    product_code: str,
    now: dt.datetime | None = None,
) -> ProductVerdict:
    """May the reseller sell the product, and can it be put on its channel? A kind it may
    not sell is refused before anything else is read."""
    now = now or dt.datetime.now(dt.UTC)
    product = session.scalar(select(Product).where(Product.code == product_code))
    if product is None:
        return _refused(
            product_code,
            MappingError(
                f"Product {product_code} does not exist in the box office",
                problems=[Problem(f"no product {product_code}", value=product_code)],
                action=_settings_action(settings),
            ),
        )
    reason = reseller.refusal_reason(ProductKind(product.kind))
    if reason is not None:
        error = MappingError(
            f"{product_code} cannot be put on sale at {reseller.name}",
            problems=[Problem(f"{product_code}: {reason}", value=str(product.kind))],
            action=_settings_action(settings),
        )
        return ProductVerdict(product_code, tuple(error.problems), sellable=False, error=error)
    plan = channel_plan(session, settings, product_code, now)
    if plan.problems:
        error = MappingError(
            f"{product_code} cannot be put on sale at {reseller.name} as it stands",
            problems=list(plan.problems),
            action=FIX_PRODUCT,
        )
        return ProductVerdict(product_code, plan.problems, error=error, plan=plan)
    return ProductVerdict(product_code, plan=plan)


def _settings_action(settings: RealtimeInstanceSettings) -> Localized:
    file = shown_path(settings.source) if settings.source else "the reseller's settings"
    return Localized(
        fr=f"Retirez le produit de products dans {file} (ou corrigez son code), puis "
        "relancez la tâche en échec (Clear).",
        en=f"Remove the product from products in {file} (or correct its code), then clear "
        "the failed task.",
    )


def _refused(product_code: str, error: SyncError) -> ProductVerdict:
    problems = tuple(error.problems) or (Problem(error.message),)
    return ProductVerdict(product_code, problems, error=error)


# --------------------------------------------------------------------------- the plan


def channel_plan(
    session: Session, settings: RealtimeInstanceSettings, product_code: str, now: dt.datetime
) -> ChannelPlan:
    """What putting the product on the reseller's channel at ``now`` means: every
    performance whose sale would still be open, with its places and tariffs."""
    problems: list[Problem] = []
    channel_code = settings.boxoffice.channel
    channel_id = session.scalar(select(SalesChannel.id).where(SalesChannel.code == channel_code))
    product, timezone = session.execute(
        select(Product, Venue.timezone)
        .join(Venue, Venue.id == Product.venue_id)
        .where(Product.code == product_code)
    ).one()
    if channel_id is None:
        problems.append(Problem(f"no sales channel {channel_code} in the box office"))
        return ChannelPlan(product_code, product.id, 0, (), tuple(problems))
    zone = ZoneInfo(timezone or settings.boxoffice.venue_timezone)
    offered = settings.tariffs_offered_for(product_code)
    tariff_ids = dict(
        session.execute(select(Tariff.code, Tariff.id).where(Tariff.code.in_(offered))).all()
    )
    unknown = [code for code in offered if code not in tariff_ids]
    if unknown:
        problems.append(Problem(f"tariffs offered unknown to the box office: {unknown}"))
    performances = session.scalars(
        select(Performance).where(Performance.product_id == product.id).order_by(Performance.id)
    ).all()
    sales: list[PerformanceSale] = []
    currencies: set[str] = set()
    for performance in performances:
        closes_at = sale_closes_at(performance, zone, settings, now)
        if closes_at <= now:
            continue
        places, quota_categories = _quota_places(
            session, channel_id, settings.boxoffice.quota, performance.id
        )
        prices = session.execute(
            select(Price.category_id, Price.tariff_id, Price.currency).where(
                Price.performance_id == performance.id,
                Price.tariff_id.in_(list(tariff_ids.values())),
            )
        ).all()
        priced_categories = {category for category, _, _ in prices}
        pass_categories = {}
        for quota_id, count in quota_categories.items():
            if len(priced_categories) == 1:
                [category] = priced_categories
                pass_categories[quota_id] = category
                places[category] = places.get(category, 0) + count
            else:
                problems.append(
                    Problem(
                        f"performance {performance.code}: the quota's {count} pass places "
                        "name no category, and the product is priced in "
                        f"{len(priced_categories)}: give the quota its category",
                        value=performance.code,
                    )
                )
        opened = tuple(
            sorted((category, tariff) for category, tariff, _ in prices if category in places)
        )
        currencies |= {str(currency) for category, _, currency in prices if category in places}
        if not places:
            problems.append(
                Problem(
                    f"performance {performance.code}: no place in quota "
                    f"{settings.boxoffice.quota} on channel {channel_code}",
                    value=performance.code,
                )
            )
        elif not opened:
            problems.append(
                Problem(
                    f"performance {performance.code}: no price at the tariffs offered "
                    f"({', '.join(offered)}) in the quota's categories",
                    value=performance.code,
                )
            )
        sales.append(
            PerformanceSale(
                performance.id, performance.code, closes_at, places, opened, pass_categories
            )
        )
    if not sales:
        problems.append(
            Problem(f"{product_code} has no performance whose sale would still be open")
        )
    if len(currencies) > 1:
        problems.append(
            Problem(
                f"{product_code} is priced in {sorted(currencies)}: one currency per product "
                "(realtime-api-v1 section 3)"
            )
        )
    return ChannelPlan(product_code, product.id, channel_id, tuple(sales), tuple(problems))


def sale_closes_at(
    performance: Performance,
    zone: ZoneInfo,
    settings: RealtimeInstanceSettings,
    now: dt.datetime,
) -> dt.datetime:
    """When the performance's sale closes on the channel: before a dated start, at the end
    of a pass's last valid day, else after the settings' days for an undated pass."""
    window = settings.sale_window
    if performance.starts_at is not None:
        start = performance.starts_at.replace(tzinfo=zone).astimezone(dt.UTC)
        return start - dt.timedelta(minutes=window.closes_minutes_before_start)
    if performance.valid_until is not None:
        last_day = dt.datetime.combine(performance.valid_until, dt.time(23, 59, 59), zone)
        return last_day.astimezone(dt.UTC)
    return (now + dt.timedelta(days=window.undated_pass_days)).astimezone(dt.UTC)


def _quota_places(
    session: Session, channel_id: int, quota_code: str, performance_id: int
) -> tuple[dict[int, int], dict[int, int]]:
    """The places of the reseller's quota on one performance, by category; and the pass
    places of quotas that name no category (quota id -> places)."""
    quotas = session.scalars(
        select(Quota).where(
            Quota.channel_id == channel_id,
            Quota.code == quota_code,
            Quota.performance_id == performance_id,
        )
    ).all()
    ids = [quota.id for quota in quotas]
    places: dict[int, int] = defaultdict(int)
    for category, count in session.execute(
        select(Seat.category_id, func.count())
        .join(QuotaSeat, QuotaSeat.seat_id == Seat.id)
        .where(QuotaSeat.quota_id.in_(ids))
        .group_by(Seat.category_id)
    ):
        places[category] += count
    for block_category, free in session.execute(
        select(Block.category_id, func.sum(QuotaFreePlaces.places))
        .join(QuotaFreePlaces, QuotaFreePlaces.block_id == Block.id)
        .where(QuotaFreePlaces.quota_id.in_(ids))
        .group_by(Block.category_id)
    ):
        if block_category is not None and free:
            places[block_category] += int(free)
    uncategorised: dict[int, int] = {}
    for quota in quotas:
        if quota.places:
            if quota.category_id is not None:
                places[quota.category_id] += quota.places
            else:
                uncategorised[quota.id] = quota.places
    return dict(places), uncategorised


# --------------------------------------------------------------------------- the mappings


def check_mappings(
    reseller: ResellerType,
    settings: RealtimeInstanceSettings,
    session: Session | None,
    products: Sequence[str] | None = None,
) -> CheckResult:
    """The codes the reseller sees for ``products`` (default: the settings'): the box
    office's own, each a valid id; files only without a session (the mapping folder holds
    no mapping, none being possible)."""
    selected = tuple(products) if products else settings.product_codes
    shared = tuple(_mapping_files_faults(reseller))
    notes = ["the codes exchanged are the box office's own (realtime-api-v1 section 3)"]
    if session is None:
        return CheckResult(
            reseller.name, tuple(ProductCheck(p) for p in selected), shared, tuple(notes)
        )
    seen = _performance_codes_on_channel(session, settings, selected)
    checks = [
        ProductCheck(product, tuple(_product_faults(session, reseller, settings, product, seen)))
        for product in selected
    ]
    return CheckResult(reseller.name, tuple(checks), shared, tuple(notes), used_database=True)


def _mapping_files_faults(reseller: ResellerType) -> list[MappingFault]:
    folder = mappings_dir(reseller.code)
    faults = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        shown = shown_path(path)
        try:
            data = read_yaml(path).typed_data()
        except (YamlFileError, ConfigurationError) as error:
            faults.append(MappingFault(f"cannot read the file: {error}", "fix its YAML", shown))
            continue
        if data:
            faults.append(
                MappingFault(
                    f"{reseller.name} receives the box office's own codes "
                    f"({reseller.contract} section 3): no mapping can change them",
                    "remove the mapping (leave the file's comments alone); rename the code in "
                    "the box office instead",
                    shown,
                )
            )
    return faults


def _performance_codes_on_channel(
    session: Session, settings: RealtimeInstanceSettings, products: Sequence[str]
) -> dict[str, set[str]]:
    """Performance code -> the products (of ``products`` or already on the channel) that
    have one with it: the reseller sees every one by its code alone."""
    on_channel = (
        select(Product.id)
        .join(ProductChannel, ProductChannel.product_id == Product.id)
        .join(SalesChannel, SalesChannel.id == ProductChannel.channel_id)
        .where(SalesChannel.code == settings.boxoffice.channel)
    )
    seen: dict[str, set[str]] = defaultdict(set)
    for code, product in session.execute(
        select(Performance.code, Product.code)
        .join(Product, Product.id == Performance.product_id)
        .where((Product.code.in_(list(products))) | (Product.id.in_(on_channel)))
    ):
        seen[code].add(product)
    return seen


def _product_faults(
    session: Session,
    reseller: ResellerType,
    settings: RealtimeInstanceSettings,
    product_code: str,
    seen: dict[str, set[str]],
) -> list[MappingFault]:
    settings_file = shown_path(settings.source) if settings.source else "the settings"
    product = session.scalar(select(Product).where(Product.code == product_code))
    if product is None:
        return [
            MappingFault(
                f"product {product_code} does not exist in the box office",
                f"correct its code under products in {settings_file}",
                settings_file,
                product=product_code,
            )
        ]
    refusal = reseller.refusal_reason(ProductKind(product.kind))
    if refusal is not None:
        return [
            MappingFault(
                f"product {product_code} cannot be sold at {reseller.name}: {refusal}",
                f"remove it from products in {settings_file}",
                settings_file,
                product=product_code,
            )
        ]
    faults: list[MappingFault] = []

    def invalid(what: str, code: str) -> None:
        if not API_ID.fullmatch(code):
            faults.append(
                MappingFault(
                    f"{what} {code} is not a valid id of {reseller.contract} (1 to 64 "
                    "characters A-Z a-z 0-9 . _ : -)",
                    "give it a valid code in the box office before it goes on sale",
                    None,
                    value=code,
                    product=product_code,
                )
            )

    invalid("product", product_code)
    performances = session.execute(
        select(Performance.id, Performance.code).where(Performance.product_id == product.id)
    ).all()
    for _, code in performances:
        invalid("performance", code)
        others = sorted(seen.get(code, set()) - {product_code})
        if others:
            faults.append(
                MappingFault(
                    f"performance {code} has the code of a performance of {', '.join(others)}, "
                    f"which {reseller.name} sees too",
                    "give one of them another code in the box office",
                    None,
                    value=code,
                    product=product_code,
                )
            )
    ids = [performance_id for performance_id, _ in performances]
    offered = settings.tariffs_offered_for(product_code)
    for category, tariff in session.execute(
        select(SeatCategory.code, Tariff.code)
        .select_from(Price)
        .join(SeatCategory, SeatCategory.id == Price.category_id)
        .join(Tariff, Tariff.id == Price.tariff_id)
        .where(Price.performance_id.in_(ids), Tariff.code.in_(offered))
        .distinct()
    ):
        invalid("seat category", category)
        invalid("tariff", tariff)
    for block, row, number in session.execute(
        select(Block.code, Seat.row, Seat.number)
        .select_from(QuotaSeat)
        .join(Seat, Seat.id == QuotaSeat.seat_id)
        .join(Block, Block.id == Seat.block_id)
        .join(Quota, Quota.id == QuotaSeat.quota_id)
        .join(SalesChannel, SalesChannel.id == Quota.channel_id)
        .where(
            QuotaSeat.performance_id.in_(ids),
            SalesChannel.code == settings.boxoffice.channel,
            Quota.code == settings.boxoffice.quota,
        )
        .distinct()
    ):
        invalid("seat", f"{block}-{row}-{number}")
    return faults
