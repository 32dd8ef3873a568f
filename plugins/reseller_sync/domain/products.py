"""Product kinds of the box office and what FNAC may sell (spec section 1)."""

from __future__ import annotations

from enum import StrEnum


class ProductKind(StrEnum):
    EVENT = "event"
    COMPETITION = "competition"
    VISIT_PASS = "visit_pass"
    """A visit pass for one person, dated or with validity dates."""
    GROUP_VISIT_PASS = "group_visit_pass"
    UNDATED_PASS = "undated_pass"
    SUBSCRIPTION = "subscription"
    PACKAGE = "package"


FNAC_SELLABLE_KINDS: frozenset[ProductKind] = frozenset(
    {ProductKind.EVENT, ProductKind.COMPETITION, ProductKind.VISIT_PASS, ProductKind.UNDATED_PASS}
)

FNAC_NATURE: dict[ProductKind, str] = {
    ProductKind.EVENT: "EVENEMENT",
    ProductKind.COMPETITION: "COMPETITION",
    ProductKind.VISIT_PASS: "PASS_VISITE",
    ProductKind.UNDATED_PASS: "PASS_NON_DATE",
}
"""The FICHE ``nature`` of each kind FNAC may sell."""

SEATED_KINDS: frozenset[ProductKind] = frozenset({ProductKind.EVENT, ProductKind.COMPETITION})
"""Kinds that have a seating configuration, blocks and places (FNAC sends PLACES for them)."""


def fnac_refusal_reason(kind: ProductKind) -> str | None:
    """Why FNAC may not sell a product of this kind, or None when it may."""
    if kind in FNAC_SELLABLE_KINDS:
        return None
    reasons = {
        ProductKind.SUBSCRIPTION: "a subscription (abonnement) may not be sold by FNAC",
        ProductKind.PACKAGE: "a package of several products may not be sold by FNAC",
        ProductKind.GROUP_VISIT_PASS: "a visit pass for a group may not be sold by FNAC",
    }
    return reasons[kind] + " (FNAC spec section 1, error E09)"


def is_pass(kind: ProductKind) -> bool:
    return kind in (ProductKind.VISIT_PASS, ProductKind.GROUP_VISIT_PASS, ProductKind.UNDATED_PASS)
