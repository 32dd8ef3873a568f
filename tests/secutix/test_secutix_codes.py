"""Codes and categories (secutix-reseller-v1 section 10) and the state machine (7.2)."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from reseller_sync.domain.errors import ErrorCategory
from reseller_sync.secutix.errors import CATEGORIES, Code, FileRefusedError, SecutixProblem
from reseller_sync.secutix.states import (
    TRANSITIONS,
    TicketState,
    Transition,
    transition,
    transitions,
)

M, E, T = ErrorCategory.MAPPING, ErrorCategory.EXTERNAL, ErrorCategory.TECHNICAL

READING_CATEGORIES = {
    **{f"T{n:02d}": E for n in range(1, 24)},
    "T14": M,
    "T15": M,
    "T16": M,
    "T17": M,
    "T90": T,
}
RESULT_CATEGORIES = {
    "F01": T,
    "F02": T,
    "F03": T,
    "O01": M,
    "O02": T,
    "O03": M,
    "O04": M,
    "Q01": M,
    "Q02": M,
    "Q03": M,
    "Q04": None,
    "Q05": None,
    "Q06": None,
    "Q07": None,
    "Q08": T,
    "X99": E,
}


def test_every_code_of_section_10_with_its_category() -> None:
    assert {c.value: c.category for c in Code} == {**READING_CATEGORIES, **RESULT_CATEGORIES}
    assert set(CATEGORIES) == set(Code)


@pytest.mark.parametrize(("code", "category"), [(Code.T14, M), (Code.T10, E), (Code.T90, T)])
def test_a_refused_file_has_its_first_code_and_category(
    code: Code, category: ErrorCategory
) -> None:
    error = FileRefusedError(
        "TICKETS_00000001.csv",
        [SecutixProblem("why", "TICKETS_00000001.csv", 2, "SEAT", code=code)],
    )
    assert error.code is code
    assert error.category is category
    assert "TICKETS_00000001.csv: refused, " + code.value in str(error)


def test_a_problem_is_located_file_line_column_code_reason() -> None:
    problem = SecutixProblem("bad", "F.csv", 3, "PRICE", "x", code=Code.T04)
    assert problem.located() == "F.csv:3:PRICE: T04 bad (value 'x')"
    assert SecutixProblem("bad", "F.csv", code=Code.T02).located() == "F.csv:0:-: T02 bad"


S, P, C, R = TicketState
EXPECTED = {
    # stored ↓ / line → SOLD, PRINTED, CANCELLED, REFUNDED (section 7.2)
    None: ("sale", "sale", "sale, then cancellation", "sale, then cancellation and refund"),
    S: ("same state", "printing", "cancellation", "cancellation and refund"),
    P: ("forbidden", "same state", "cancellation", "cancellation and refund"),
    C: ("forbidden", "forbidden", "same state", "refund"),
    R: ("forbidden", "forbidden", "forbidden", "same state"),
}


@pytest.mark.parametrize("stored", [None, *TicketState])
def test_the_transition_table_of_section_7_2(stored: TicketState | None) -> None:
    got = tuple(transition(stored, line.value).value for line in TicketState)
    assert got == EXPECTED[stored]
    assert len(TRANSITIONS) == 20


def test_forbidden_and_unknown_carry_their_codes() -> None:
    assert transition(TicketState.PRINTED, "SOLD").code is Code.T10
    assert transition(None, "NOT_PRINTED").code is Code.T09
    assert transition(TicketState.SOLD, "sold").code is Code.T09
    assert transition(TicketState.SOLD, "SOLD").code is None


def test_a_repeated_state_is_a_no_op() -> None:
    for state in TicketState:
        move = transition(state, state.value)
        assert move is Transition.SAME_STATE
        assert move.allowed
        assert not (move.sells)
        assert not (move.cancels)
        assert not (move.refunds)


def test_effects_of_each_transition() -> None:
    sold_and_cancelled = transition(None, "CANCELLED")
    assert sold_and_cancelled.sells
    assert sold_and_cancelled.cancels
    assert not sold_and_cancelled.refunds
    refund_only = transition(TicketState.CANCELLED, "REFUNDED")
    assert refund_only.refunds
    assert not refund_only.cancels
    assert transition(TicketState.PRINTED, "REFUNDED").cancels
    assert not transition(TicketState.SOLD, "PRINTED").cancels
    assert [s for s in TicketState if s.valid] == [S, P]


def test_the_vectorised_table_agrees_with_the_scalar_one() -> None:
    pairs = list(itertools.product([None, *TicketState], [*TicketState, "BOGUS", ""]))
    stored = pd.Series([s.value if s else None for s, _ in pairs], dtype=object)
    line = pd.Series([str(t) for _, t in pairs], dtype=object)
    got = transitions(stored, line).tolist()
    assert got == [transition(s, str(t)).value for s, t in pairs]
