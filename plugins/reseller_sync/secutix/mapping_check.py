"""The SecuTix reseller's mapping check (``secutix-reseller-v1`` section 2).

Both parties run SecuTix: the mapping is the **identity** unless a mapping file overrides
a code (:mod:`reseller_sync.secutix.mappings`), so no mapping is *required*. What must
hold is that every code the product sends is a valid exchanged code of section 2:

* from the files alone (no session): the engine's checks of
  :mod:`reseller_sync.mappings.check` (each override in its kind's format, no exchanged
  code claimed twice, files that parse);
* with the box office: the product exists, is of a kind the reseller may sell (section 1)
  and is on the reseller's channel; then each code it uses, as exchanged (its own code,
  or the override's), has its format: the product code, the seat categories and tariffs
  priced among the tariffs offered, the blocks of the reseller's quota (1 to 10
  characters) and, for dated kinds, the performance codes, which no mapping can change.
  A box-office code outside the format needs a mapping file that sends it under a valid
  code (or, for a performance, a new code in the box office).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import select

from reseller_sync.boxoffice import catalogue
from reseller_sync.boxoffice.models import Performance, Product
from reseller_sync.config.paths import shown_path
from reseller_sync.core.resellers import reseller_type
from reseller_sync.mappings import check as engine
from reseller_sync.mappings.model import MappingFault
from reseller_sync.secutix.mappings import (
    VOCABULARY,
    ExchangedCodes,
    MappingKind,
    load_repository,
)
from reseller_sync.secutix.reseller_type import RESELLER_TYPE

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from reseller_sync.mappings.repository import MappingRepository
    from reseller_sync.secutix.settings import SecutixSettings

PERFORMANCE_FORMAT = VOCABULARY.rule(MappingKind.PRODUCT).pattern
"""A performance code has the format of any code of section 2 (1 to 15 characters)."""


def check_mappings(
    settings: SecutixSettings,
    session: Session | None = None,
    products: Sequence[str] | None = None,
    *,
    repository: MappingRepository | None = None,
) -> engine.CheckResult:
    """Check the SecuTix reseller's mappings of ``products`` (default: every product of the
    settings); without ``session`` only the files are checked."""
    repository = repository if repository is not None else load_repository()
    files = engine.check_mappings(VOCABULARY, settings, repository, None, products)
    if session is None:
        return files
    checked = []
    for product in files.products:
        faults = list(product.faults)
        notes = list(product.notes)
        _check_box_office(session, settings, repository, product.product, faults, notes)
        checked.append(dataclasses.replace(product, faults=tuple(faults), notes=tuple(notes)))
    return dataclasses.replace(files, products=tuple(checked), used_database=True)


def _check_box_office(
    session: Session,
    settings: SecutixSettings,
    repository: MappingRepository,
    product: str,
    faults: list[MappingFault],
    notes: list[str],
) -> None:
    name = RESELLER_TYPE.name
    settings_file = shown_path(settings.source) if settings.source else "the SecuTix settings"
    shared_file = shown_path(repository.shared_file)
    product_file = shown_path(repository.product_file(product))

    def fault(reason: str, fix: str, file: str | None, value: str | None = None) -> None:
        faults.append(MappingFault(reason, fix, file, value=value, product=product))

    summary = catalogue.product_summary(session, product)
    if summary is None:
        fault(
            f"product {product} does not exist in the box office",
            f"correct its code under products in {settings_file}",
            settings_file,
        )
        return
    refusal = reseller_type(RESELLER_TYPE.code).refusal_reason(summary.kind)
    if refusal is not None:
        fault(
            f"product {product} cannot be sold at {name}: {refusal}",
            f"remove it from products in {settings_file} and from channel "
            f"{settings.boxoffice.channel} in the box office",
            settings_file,
        )
        return
    channel = settings.boxoffice.channel
    if not catalogue.is_on_channel(session, product, channel):
        fault(
            f"product {product} is not on sale in the box-office channel {channel}",
            f"add it to channel {channel} in the box office, or remove it from products in "
            f"{settings_file}",
            settings_file,
        )
    codes = ExchangedCodes.of(repository, product)
    configuration = summary.configuration

    def check_codes(kind: MappingKind, used: Sequence[str], where: str) -> None:
        rule = VOCABULARY.rule(kind)
        if not used:
            return
        values = pd.Series(list(used), dtype="str")
        if kind is MappingKind.PRODUCT:
            exchanged = pd.Series([codes.product_code] * len(values), dtype="str")
        else:
            exchanged = codes.to_exchanged(kind, values, configuration)
        for organiser, sent in zip(values, exchanged, strict=True):
            if pd.isna(sent) or not rule.pattern.fullmatch(str(sent)):
                shown = organiser if pd.isna(sent) or sent == organiser else f"{organiser} → {sent}"
                fault(
                    f"{rule.partner_term} {shown} is not a valid code exchanged with {name} "
                    f"({rule.format_text})",
                    f"send it under a valid code: add it under {rule.key} in {where}",
                    where,
                    str(organiser),
                )

    check_codes(MappingKind.PRODUCT, [product], product_file)
    offered = settings.tariffs_offered_for(product)
    priced = catalogue.priced_combinations(session, product, offered)
    if not priced:
        fault(
            f"product {product} has no price for any tariff offered at {name} "
            f"({', '.join(offered)})",
            f"price it in the box office, or change tariffs_offered in {settings_file}",
            settings_file,
        )
    check_codes(MappingKind.SEAT_CATEGORY, sorted({c.category for c in priced}), shared_file)
    check_codes(MappingKind.TARIFF, sorted({c.tariff for c in priced}), shared_file)

    quotas = catalogue.channel_quota_codes(session, product, channel)
    if not quotas:
        notes.append(
            f"product {product} has no quota in channel {channel}: {name} has nothing to sell yet"
        )
    if configuration is not None:
        blocks = sorted(
            {block for quota in quotas for block in catalogue.quota_blocks(session, product, quota)}
        )
        _check_blocks(codes, configuration, blocks, shared_file, fault)
    for code in _performance_codes(session, product):
        if not PERFORMANCE_FORMAT.fullmatch(code):
            fault(
                f"performance code {code} is not a valid code exchanged with {name} (1 to 15 "
                "characters A-Z 0-9 _ -); performance codes cannot be mapped",
                "give the performance a valid code in the box office before it is offered",
                None,
                code,
            )


def _check_blocks(
    codes: ExchangedCodes,
    configuration: str,
    blocks: Sequence[catalogue.BlockRef],
    shared_file: str,
    fault: Callable[..., None],
) -> None:
    if not blocks:
        return
    rule = VOCABULARY.rule(MappingKind.BLOCK)
    zones = pd.Series([b.zone for b in blocks], dtype="str")
    names = pd.Series([b.block for b in blocks], dtype="str")
    sent = codes.mappings.bloc_to_partner(zones, names, configuration).fillna(names)
    for ref, value in zip(blocks, sent, strict=True):
        if not rule.pattern.fullmatch(str(value)):
            shown = ref.block if value == ref.block else f"{ref.block} → {value}"
            fault(
                f"block {shown} (zone {ref.zone}) of the reseller's quota is not a valid "
                f"code exchanged with {RESELLER_TYPE.name} ({rule.format_text})",
                f"send it under a valid code: add it in {shared_file} under "
                f"configurations.{configuration}.zones.{ref.zone}.blocks",
                shared_file,
                ref.block,
            )


def _performance_codes(session: Session, product: str) -> list[str]:
    """The product's performance codes, when they are exchanged (dated kinds)."""
    rows = session.execute(
        select(Performance.code, Performance.starts_at)
        .join(Product, Product.id == Performance.product_id)
        .where(Product.code == product)
    ).all()
    return [code for code, starts_at in rows if starts_at is not None]
