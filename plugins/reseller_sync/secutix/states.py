"""Ticket states and their transitions (``secutix-reseller-v1`` section 7.2), as a table.

:func:`transition` takes the state the organiser has stored for a barcode
(``None`` for a new barcode) and the state of the line, and says what
applying the line means. A line state that is not one of the four is
:attr:`Transition.UNKNOWN_STATE` (``T09``); a transition the table forbids
is :attr:`Transition.FORBIDDEN` (``T10``); a repeated state is
:attr:`Transition.SAME_STATE`, a no-op when the immutable columns are the
stored ones. :func:`transitions` is the same for whole columns at once.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import numpy as np
import pandas as pd

from reseller_sync.secutix.errors import Code


class TicketState(StrEnum):
    SOLD = "SOLD"
    PRINTED = "PRINTED"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"

    @property
    def valid(self) -> bool:
        """Access control accepts the barcode, and the ticket holds its place."""
        return self in (TicketState.SOLD, TicketState.PRINTED)


class Transition(StrEnum):
    SALE = "sale"
    SALE_THEN_CANCELLATION = "sale, then cancellation"
    SALE_THEN_REFUND = "sale, then cancellation and refund"
    SAME_STATE = "same state"
    PRINTING = "printing"
    CANCELLATION = "cancellation"
    CANCELLATION_AND_REFUND = "cancellation and refund"
    REFUND = "refund"
    FORBIDDEN = "forbidden"
    UNKNOWN_STATE = "unknown state"

    @property
    def allowed(self) -> bool:
        return self not in (Transition.FORBIDDEN, Transition.UNKNOWN_STATE)

    @property
    def code(self) -> Code | None:
        """The reading code of a transition that stops the stream; None when it is allowed."""
        if self is Transition.FORBIDDEN:
            return Code.T10
        if self is Transition.UNKNOWN_STATE:
            return Code.T09
        return None

    @property
    def sells(self) -> bool:
        """The line creates the ticket (and its order, if new)."""
        return self in (
            Transition.SALE,
            Transition.SALE_THEN_CANCELLATION,
            Transition.SALE_THEN_REFUND,
        )

    @property
    def cancels(self) -> bool:
        """The ticket is cancelled: barcode refused, place back to the reseller's contingent."""
        return self in (
            Transition.SALE_THEN_CANCELLATION,
            Transition.SALE_THEN_REFUND,
            Transition.CANCELLATION,
            Transition.CANCELLATION_AND_REFUND,
        )

    @property
    def refunds(self) -> bool:
        """The ticket enters ``REFUNDED``: its ``REFUND_AMOUNT`` is credited."""
        return self in (
            Transition.SALE_THEN_REFUND,
            Transition.CANCELLATION_AND_REFUND,
            Transition.REFUND,
        )


_S, _P, _C, _R = TicketState
_T = Transition

TRANSITIONS: Final[dict[tuple[TicketState | None, TicketState], Transition]] = {
    (None, _S): _T.SALE,
    (None, _P): _T.SALE,
    (None, _C): _T.SALE_THEN_CANCELLATION,
    (None, _R): _T.SALE_THEN_REFUND,
    (_S, _S): _T.SAME_STATE,
    (_S, _P): _T.PRINTING,
    (_S, _C): _T.CANCELLATION,
    (_S, _R): _T.CANCELLATION_AND_REFUND,
    (_P, _S): _T.FORBIDDEN,
    (_P, _P): _T.SAME_STATE,
    (_P, _C): _T.CANCELLATION,
    (_P, _R): _T.CANCELLATION_AND_REFUND,
    (_C, _S): _T.FORBIDDEN,
    (_C, _P): _T.FORBIDDEN,
    (_C, _C): _T.SAME_STATE,
    (_C, _R): _T.REFUND,
    (_R, _S): _T.FORBIDDEN,
    (_R, _P): _T.FORBIDDEN,
    (_R, _C): _T.FORBIDDEN,
    (_R, _R): _T.SAME_STATE,
}
"""Section 7.2's table: (stored state, line state) -> what applying the line means."""


def transition(stored: TicketState | str | None, line: str) -> Transition:
    """What a line in state ``line`` does to a ticket stored in ``stored`` (None: new barcode)."""
    if line not in TicketState.__members__:
        return Transition.UNKNOWN_STATE
    before = None if stored is None else TicketState(stored)
    return TRANSITIONS[(before, TicketState(line))]


_STORED = [None, *TicketState]
_LINE = list(TicketState)
_MATRIX = np.array(
    [[TRANSITIONS[(s, t)].value for t in _LINE] + [_T.UNKNOWN_STATE.value] for s in _STORED],
    dtype=object,
)


def transitions(stored: pd.Series, line: pd.Series) -> pd.Series:
    """:func:`transition` for aligned columns (stored: a state or missing), as their values."""
    known = pd.Index([state.value for state in _LINE], dtype=object)
    rows = known.get_indexer(stored.astype(object)) + 1
    line_codes = known.get_indexer(line.astype(object))
    columns = np.where(line_codes < 0, len(_LINE), line_codes)
    return pd.Series(_MATRIX[rows, columns], index=line.index, dtype=object)
