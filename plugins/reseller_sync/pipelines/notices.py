"""The notices an hourly integration raises beside its outcome, whatever the reseller: a
partner category no tariff stands for, prices integrated that differ from the box office's
(price policy ``warn``)."""

from __future__ import annotations

from typing import Any

from reseller_sync.alerts.compose import Notice
from reseller_sync.domain.errors import ErrorCategory, Problem
from reseller_sync.domain.texts import Localized


def unmapped_category_notices(
    file_name: str, outcome: Any, *, kind: str, message: Localized, action: Localized
) -> list[Notice]:
    """A mapping notice naming each active partner category of a categories integration's
    ``outcome`` that no tariff stands for; none when every one is mapped."""
    unmapped = outcome.unmapped
    if unmapped.ok:
        return []
    return [
        Notice(
            ErrorCategory.MAPPING,
            kind,
            message,
            [Problem(f.reason, file=f.file, value=f.value) for f in unmapped.faults],
            file_name,
            hint=unmapped.faults[0].fix,
            action=action,
        )
    ]


def price_difference_notices(
    file_name: str, outcome: Any, *, reseller_name: str, column: str
) -> list[Notice]:
    """An external notice listing the tickets a sales integration's ``outcome`` took at the
    partner's price where it differs from the box office's; ``column`` is the partner's
    column of the price."""
    differences = getattr(outcome, "price_differences", ())
    if not differences:
        return []
    count = len(differences)
    return [
        Notice(
            ErrorCategory.EXTERNAL,
            "price_difference",
            Localized(
                fr=f"{count} billet(s) intégré(s) au prix de {{reseller}}, qui diffère de celui "
                "de la billetterie (politique de prix warn).",
                en=f"{count} ticket(s) integrated at {{reseller}}'s price, which differs from "
                "the box office's (price policy warn).",
            ),
            [
                Problem(
                    f"{d.product} {d.performance} {d.category} {d.tariff}: "
                    f"box office {d.expected}, {reseller_name} {d.received} {d.currency}",
                    file=file_name,
                    line=d.line,
                    column=column,
                )
                for d in differences
            ],
            file_name,
        )
    ]
