"""The SecuTix reseller's mapping vocabulary (``secutix-reseller-v1`` section 2), for the
neutral engine of :mod:`reseller_sync.mappings`; its folder is ``include/mappings/secutix/``.

Both parties run SecuTix: every code exchanged (product, performance, seat category,
tariff, block) is the organiser's own, as its OFFER and CONTINGENT files sent it. The
organiser's mapping for this reseller is therefore the **identity**, and no mapping file
is needed: an exchanged code stands for the box-office entity of the same code.

A mapping file is needed only when the organiser changes one of its codes after sending
it: the reseller keeps the code it received, so the file maps the new box-office code
(left) to the exchanged code (right), as every mapping file does (organiser → partner)::

    # include/mappings/secutix/_shared.yaml
    categories:
      CAT1-NEW: "CAT1"       # renamed in the box office; the reseller still sends CAT1
    configurations:
      ARENA-CONCERT:
        zones:
          PARTERRE:
            blocks:
              P3: "ORCH"     # block P3 was sent as ORCH

    # include/mappings/secutix/EVT-LUMEN.yaml
    product_code: "LUMEN27"  # the product was sent as LUMEN27

:class:`ExchangedCodes` reads a product's files that way, both ways: an exchanged code
that a mapping names resolves to its box-office value; any other code resolves to
itself, unless it is a box-office code that a mapping sends under another code (the
reseller cannot send it) or a code two box-office values claim (ambiguous). Performance
codes have no mapping: they are always the box office's own, within their product.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import pandas as pd

from reseller_sync.mappings.model import Concept, KindRule, MappingVocabulary
from reseller_sync.mappings.repository import MappingRepository, ProductMappings
from reseller_sync.mappings.repository import load_mappings as load_mappings_of
from reseller_sync.mappings.repository import load_repository as load_repository_of
from reseller_sync.secutix.reseller_type import RESELLER_TYPE


class MappingKind(StrEnum):
    PRODUCT = "product"
    SEAT_CATEGORY = "seat_category"
    TARIFF = "tariff"
    BLOCK = "block"


_CODE = re.compile(r"[A-Z0-9_-]{1,15}")
_CODE_TEXT = "1 to 15 characters A-Z 0-9 _ -"

VOCABULARY = MappingVocabulary(
    reseller=RESELLER_TYPE.code,
    rules=(
        KindRule(
            kind=MappingKind.PRODUCT,
            concept=Concept.PRODUCT,
            key="product_code",
            partner_term="product code",
            pattern=_CODE,
            format_text=f"{_CODE_TEXT}, e.g. TOSCA27",
            single=True,
        ),
        KindRule(
            kind=MappingKind.SEAT_CATEGORY,
            concept=Concept.CATEGORY,
            key="categories",
            partner_term="seat category",
            partner_plural="seat categories",
            pattern=_CODE,
            format_text=f"{_CODE_TEXT}, e.g. CAT1",
            single=True,
        ),
        KindRule(
            kind=MappingKind.TARIFF,
            concept=Concept.TARIFF,
            key="tariffs",
            partner_term="tariff code",
            pattern=_CODE,
            format_text=f"{_CODE_TEXT}, e.g. PLEIN",
            single=True,
        ),
        KindRule(
            kind=MappingKind.BLOCK,
            concept=Concept.ZONE,
            key="block",
            partner_term="block",
            pattern=re.compile(r"[A-Z0-9_-]{1,10}"),
            format_text="1 to 10 characters A-Z 0-9 _ -, e.g. PARTERRE",
            single=True,
        ),
    ),
    format_reference="section 2",
)
"""The four kinds of code a mapping file may override; none is needed for the identity."""


def load_repository(directory: Path | str | None = None) -> MappingRepository:
    """The SecuTix reseller's mapping files (default ``<include>/mappings/secutix/``), faults
    included; no folder is an empty repository: the identity throughout."""
    return load_repository_of(VOCABULARY, directory)


def load_mappings(directory: Path | str | None = None) -> MappingRepository:
    """The SecuTix reseller's mapping files, raising MappingError when any file has a fault."""
    return load_mappings_of(VOCABULARY, directory)


@dataclass(frozen=True)
class ExchangedCodes:
    """One product's exchanged codes ↔ box-office codes: the identity, unless its mappings
    (shared files, then its own) say otherwise. Vectorised: a Series in, a Series out with
    the same index, NA where a code does not resolve."""

    mappings: ProductMappings

    @classmethod
    def of(cls, repository: MappingRepository, product: str) -> ExchangedCodes:
        return cls(repository.for_product(product))

    @property
    def product_code(self) -> str:
        """The product's code as exchanged."""
        return self.mappings.partner_product or self.mappings.product

    def to_box_office(
        self, kind: MappingKind, values: pd.Series, configuration: str | None = None
    ) -> pd.Series:
        """Exchanged codes → box-office codes (not for blocks: :meth:`blocks_to_box_office`)."""
        mapped = self.mappings.from_partner(kind, values, configuration)
        effective = self.mappings.effective(kind, configuration)
        taken = set(effective) | {value for entry in effective.values() for value in entry.partner}
        return mapped.fillna(values.where(~values.isin(taken))).astype("str")

    def to_exchanged(
        self, kind: MappingKind, values: pd.Series, configuration: str | None = None
    ) -> pd.Series:
        """Box-office codes → exchanged codes, for what the organiser sends."""
        if kind is MappingKind.BLOCK:
            raise ValueError("blocks are sent with their zone: use the mappings' bloc_to_partner")
        mapped = self.mappings.to_partner(kind, values, configuration)
        mapped_away = set(self.mappings.effective(kind, configuration))
        return mapped.fillna(values.where(~values.isin(mapped_away))).astype("str")

    def blocks_to_box_office(
        self, values: pd.Series, configuration: str, blocks: pd.DataFrame
    ) -> pd.DataFrame:
        """Exchanged block codes → columns ``zone`` and ``block``, the box-office codes of a
        block of ``configuration`` (NA where none, or several, stand for the code).

        ``blocks`` lists the configuration's blocks (columns ``zone`` and ``block``). A
        mapping names a block, or a whole zone that holds a single block; any other code is
        the block of that code, when exactly one zone has it and no mapping sends that
        block (or its zone) under another code.
        """
        mapped = self.mappings.bloc_from_partner(values, configuration)
        single = blocks.groupby("zone")["block"].agg(lambda b: b.iloc[0] if len(b) == 1 else None)
        mapped["block"] = mapped["block"].fillna(mapped["zone"].map(single)).astype("str")
        mapped.loc[mapped["block"].isna(), "zone"] = pd.NA

        rule = VOCABULARY.rule(MappingKind.BLOCK)
        effective = self.mappings.effective(rule.kind, configuration)
        claimed = {value for entry in effective.values() for value in entry.partner}
        sent_zones = {entry.zone for entry in effective.values() if entry.block is None}
        sent_blocks = {(entry.zone, entry.block) for entry in effective.values() if entry.block}
        pairs = zip(blocks["zone"], blocks["block"], strict=True)
        sent = pd.Series([pair in sent_blocks for pair in pairs], index=blocks.index, dtype=bool)
        free = blocks[~blocks["zone"].isin(sent_zones) & ~sent]
        unique = free.drop_duplicates("block", keep=False).set_index("block")["zone"]
        identity = values.where(~values.isin(claimed))
        zone = identity.map(unique)
        found = mapped["zone"].isna() & zone.notna()
        mapped.loc[found, "zone"] = zone[found]
        mapped.loc[found, "block"] = identity[found]
        return mapped.astype({"zone": "str", "block": "str"})
