"""Product kinds of the box office. What each reseller may sell is its type's declaration
(:mod:`reseller_sync.core.resellers`)."""

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


SEATED_KINDS: frozenset[ProductKind] = frozenset({ProductKind.EVENT, ProductKind.COMPETITION})
"""Kinds that have a seating configuration, blocks and places given one by one."""


def is_pass(kind: ProductKind) -> bool:
    return kind in (ProductKind.VISIT_PASS, ProductKind.GROUP_VISIT_PASS, ProductKind.UNDATED_PASS)
