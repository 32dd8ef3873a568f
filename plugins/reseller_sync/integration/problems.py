"""Problems found on canonical lines, told in the partner's terms.

A problem names the file, the partner's line number (the lines' index) and
the partner's column (``IntegrationSettings.columns``), and quotes the
partner's value when the batch carries its records, the line's value else.
"""

from __future__ import annotations

from enum import StrEnum

import pandas as pd

from reseller_sync.core.lines import LineProblems, ProblemKind
from reseller_sync.domain.errors import Problem
from reseller_sync.integration.settings import IntegrationSettings


class Rule(StrEnum):
    """The integration's rules that a partner contract may give a code of its own
    (``IntegrationSettings.rule_codes``)."""

    PLACE = "place"
    """The place is in the reseller's quota, unsold, and sold once."""
    PRICE = "price"
    """The price is the box office's (price policy ``strict``)."""
    UNPRICED = "unpriced"
    """The box office sells the performance in this category at this tariff."""
    CURRENCY = "currency"
    """The ticket is in the performance's currency."""
    ORDER_SEEN = "order_seen"
    """A new ticket's order is new: no earlier file brought it."""
    TRANSITION = "transition"
    """A reported state follows the stored one in a ticket's life."""
    IMMUTABLE = "immutable"
    """What was sold (order, place, category, tariff, price...) never changes."""
    STATE_MOMENT = "state_moment"
    """A state's moment never goes back, nor comes before the sale."""


class LineReport:
    """Collects the problems of one file; ``source`` is the current batch's records."""

    def __init__(self, settings: IntegrationSettings, file_name: str) -> None:
        self.settings = settings
        self.file = file_name
        self.problems = LineProblems()
        self.source: pd.DataFrame | None = None

    def add(
        self,
        kind: ProblemKind,
        rows: pd.DataFrame,
        column: str,
        reason: str,
        *,
        rule: Rule | None = None,
    ) -> None:
        """One problem per row of ``rows`` (lines), on canonical ``column``."""
        if rows.empty:
            return
        reason = self.coded(reason, rule)
        partner = self.settings.column(column)
        if self.source is not None and partner in self.source.columns:
            values = self.source[partner].reindex(rows.index)
        elif column in rows.columns:
            values = rows[column]
        else:
            values = pd.Series(None, index=rows.index, dtype=object)
        self.problems.of(kind).extend(
            Problem(
                reason,
                file=self.file,
                line=int(line),
                column=partner,
                value=None if pd.isna(value) else str(value),
            )
            for line, value in values.items()
        )

    def add_one(
        self,
        kind: ProblemKind,
        line: int,
        column: str,
        reason: str,
        value: object,
        *,
        rule: Rule | None = None,
    ) -> None:
        reason = self.coded(reason, rule)
        self.problems.of(kind).append(
            Problem(
                reason,
                file=self.file,
                line=int(line),
                column=self.settings.column(column),
                value=None if value is None or pd.isna(value) else str(value),
            )
        )

    def value(self, line: int, column: str, fallback: object) -> object:
        """The partner's value of ``column`` on ``line`` if the batch has it, else ``fallback``."""
        partner = self.settings.column(column)
        if self.source is not None and partner in self.source.columns:
            return self.source.at[line, partner]
        return fallback

    def coded(self, reason: str, rule: Rule | None) -> str:
        """``reason`` preceded by the partner's code of ``rule``, when its contract has one."""
        code = self.settings.rule_codes.get(rule.value) if rule is not None else None
        return f"{code} {reason}" if code else reason
