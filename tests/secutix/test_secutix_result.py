"""The reseller's RESULT applied to the organiser's file it answers (secutix-reseller-v1
sections 7.4, 8.3, 9.1 point 8 and 10.1): the journal, the places given, the places taken
back, and T23."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    AllocationState,
    Direction,
    ExchangeFile,
    FileState,
    PlaceAllocation,
    PlaceWithdrawal,
    QuotaFreePlaces,
    QuotaSeat,
    WithdrawalState,
)
from reseller_sync.domain.errors import (
    ErrorCategory,
    ExternalError,
    MappingError,
    TechnicalError,
)
from reseller_sync.exchange import journal
from reseller_sync.integration import allocation
from reseller_sync.secutix.contingent import (
    contingent_lines,
    record_sent,
    withdraw_request_lines,
)
from reseller_sync.secutix.errors import Code, FileRefusedError
from reseller_sync.secutix.offer import offer_file
from reseller_sync.secutix.reader import read_file
from reseller_sync.secutix.result import ResultOutcome, apply_result
from tests.secutix.secutix_samples import RESULT_00000006, control_for
from tests.secutix.test_secutix_contingent import (
    NOW,
    TOSCA_PIT,
    SentName,
    add_secutix,
    request_places,
    sent_file,
)

HEADER = "LINE_NUMBER;STATUS;ERROR_CODE;AVAILABLE;MESSAGE"
SALES_OPEN = dt.datetime.fromisoformat("2026-12-01T10:00:00+01:00")


@pytest.fixture
def session(demo_session: Session) -> Session:
    add_secutix(demo_session)
    return demo_session


def result_text(*lines: str) -> str:
    return "".join(f"{line}\n" for line in (HEADER, *lines))


def apply(session: Session, number: int, text: str) -> ResultOutcome:
    """``RESULT_<number>.csv`` holding ``text``, landed and applied."""
    name = f"RESULT_{number:08d}.csv"
    data = text.encode()
    result = read_file(name, data, control_for(name, data))
    landed = ExchangeFile(
        reseller_code="secutix",
        direction=Direction.INBOUND,
        file_type="RESULT",
        sequence=number,
        name=name,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content=data,
        state=FileState.LANDED,
    )
    session.add(landed)
    session.flush()
    return apply_result(session, result, result_id=landed.id, now=NOW)


def send_contingent(session: Session) -> int:
    """CONTINGENT_00000006 of section 12 sent, its places recorded."""
    lines = contingent_lines(session, ["TOSCA27", "PASS27"])
    file_id = sent_file(session, lines.file(6))
    record_sent(session, lines, file_id, NOW)
    return file_id


def allocations(session: Session, file_id: int) -> list[tuple[int, AllocationState, str | None]]:
    rows = session.scalars(
        select(PlaceAllocation)
        .where(PlaceAllocation.file_id == file_id)
        .order_by(PlaceAllocation.line)
    )
    return [(row.line, row.state, row.error_code) for row in rows]


def journaled(session: Session, file_id: int) -> ExchangeFile:
    return session.get_one(ExchangeFile, file_id)


# --------------------------------------------------------------------------- CONTINGENT


def test_the_example_of_section_12_q04_leaves_the_place_the_reseller_s(session: Session) -> None:
    file_id = send_contingent(session)
    outcome = apply(session, 6, RESULT_00000006)
    assert outcome.answered == "CONTINGENT_00000006.csv"
    assert (outcome.lines, outcome.applied, outcome.codes) == (4, 3, {"Q04": 1})
    assert outcome.refusals == ()
    assert outcome.error() is None
    assert [a.line for a in outcome.outcomes] == [2]
    assert allocations(session, file_id) == [
        (1, AllocationState.ALLOCATED, None),
        (2, AllocationState.ALLOCATED, "Q04"),
        (3, AllocationState.ALLOCATED, None),
    ]
    assert allocation.allocation_answer(session, file_id).places == 2 + TOSCA_PIT
    sent = journaled(session, file_id)
    assert (sent.state, sent.error_category) == (FileState.ACKNOWLEDGED, None)
    assert [(e.line, e.code) for e in sent.errors] == [(2, "Q04")]
    assert "Place déjà au contingent" in sent.errors[0].reason
    answer = session.scalars(select(ExchangeFile).where(ExchangeFile.name == outcome.result)).one()
    assert (answer.state, answer.answers_file_id) == (FileState.INTEGRATED, file_id)


def test_all_ok_allocates_every_place(session: Session) -> None:
    file_id = send_contingent(session)
    outcome = apply(session, 6, result_text(*(f"{n};OK;;;" for n in range(1, 5))))
    assert (outcome.applied, outcome.answers, outcome.message()) == (4, (), None)
    assert [state for _, state, _ in allocations(session, file_id)] == [
        AllocationState.ALLOCATED
    ] * 3
    assert journaled(session, file_id).errors == []


def test_a_refused_line_is_an_error_of_its_category(session: Session) -> None:
    file_id = send_contingent(session)
    outcome = apply(
        session,
        6,
        result_text("1;OK;;;", "2;KO;Q03;;Siège inconnu", "3;KO;Q04;;", "4;KO;X99;;Erreur"),
    )
    assert [(a.line, a.code, a.category) for a in outcome.refusals] == [
        (2, Code.Q03, ErrorCategory.MAPPING),
        (4, Code.X99, ErrorCategory.EXTERNAL),
    ]
    assert outcome.category is ErrorCategory.MAPPING
    error = outcome.error()
    assert isinstance(error, MappingError)
    assert [(p.line, p.value) for p in error.problems] == [(2, "Q03"), (4, "X99")]
    assert "Siège inconnu" in str(error)
    assert allocations(session, file_id) == [
        (1, AllocationState.ALLOCATED, None),
        (2, AllocationState.REFUSED, "Q03"),
        (3, AllocationState.ALLOCATED, "Q04"),
    ]
    assert journaled(session, file_id).error_category == "mapping"


def test_line_0_f01_refuses_the_whole_file(session: Session) -> None:
    file_id = send_contingent(session)
    outcome = apply(session, 6, result_text("0;KO;F01;;SHA-256 incorrect"))
    assert outcome.refused_whole is not None
    assert outcome.refused_whole.code is Code.F01
    assert outcome.applied == 0
    assert isinstance(outcome.error(), TechnicalError)
    assert [state for _, state, _ in allocations(session, file_id)] == [AllocationState.REFUSED] * 3
    sent = journaled(session, file_id)
    assert (sent.state, sent.error_category) == (FileState.REFUSED, "technical")
    assert [(e.line, e.code) for e in sent.errors] == [(0, "F01")]


def test_applied_again_it_changes_no_place(session: Session) -> None:
    file_id = send_contingent(session)
    apply(session, 6, RESULT_00000006)
    before = allocations(session, file_id)
    name = "RESULT_00000006.csv"
    data = RESULT_00000006.encode()
    result = read_file(name, data, control_for(name, data))
    landed = session.scalars(select(ExchangeFile).where(ExchangeFile.name == name)).one()
    apply_result(session, result, result_id=landed.id, now=NOW)
    assert allocations(session, file_id) == before


# --------------------------------------------------------------------------- T23


@pytest.mark.parametrize(
    ("number", "text", "reason"),
    [
        (9, RESULT_00000006, "did not send"),
        (6, result_text("1;OK;;;", "2;OK;;;", "3;OK;;;"), "answers 3 line(s)"),
        (6, result_text(*(f"{n};OK;;;" for n in range(1, 6))), "answers 5 line(s)"),
        (6, result_text("1;OK;;;", "3;OK;;;", "2;OK;;;", "4;OK;;;"), "in order"),
        (6, result_text("0;KO;F01;;", "1;OK;;;"), "only line"),
        (6, result_text("0;OK;;;"), "KO"),
        (6, result_text(), "answers 0 line(s)"),
    ],
)
def test_a_result_answering_nothing_or_with_the_wrong_lines_is_t23(
    session: Session, number: int, text: str, reason: str
) -> None:
    file_id = send_contingent(session)
    with pytest.raises(FileRefusedError) as caught:
        apply(session, number, text)
    assert caught.value.code is Code.T23
    assert caught.value.category is ErrorCategory.EXTERNAL
    assert any(reason in p.reason for p in caught.value.problems)
    # Nothing recorded.
    assert journaled(session, file_id).state is FileState.SENT
    assert {state for _, state, _ in allocations(session, file_id)} == {AllocationState.SENT}


# --------------------------------------------------------------------------- WITHDRAW


def send_withdrawal(session: Session) -> tuple[int, list[int]]:
    """Seat F/13 (line 1) and 20 pit places (line 2) of TOSCA27 asked back, sent."""
    ids = request_places(session)
    lines = withdraw_request_lines(session, ids)
    file_id = sent_file(session, lines.file(7))
    record_sent(session, lines, file_id, NOW)
    return file_id, ids


def requests(session: Session, ids: list[int]) -> list[PlaceWithdrawal]:
    return list(
        session.scalars(
            select(PlaceWithdrawal).where(PlaceWithdrawal.id.in_(ids)).order_by(PlaceWithdrawal.id)
        )
    )


def held(session: Session) -> tuple[int, int]:
    """Seats and pit places of the reseller's quota on TOSCA27."""
    seats = len(session.scalars(select(QuotaSeat)).all())
    pit = session.scalars(select(QuotaFreePlaces.places)).all()
    return seats, sum(pit)


def test_a_withdrawal_ok_takes_the_places_back(session: Session) -> None:
    seats, pit = held(session)
    _, ids = send_withdrawal(session)
    outcome = apply(session, 7, result_text("1;OK;;;", "2;OK;;;"))
    assert outcome.file_type.value == "WITHDRAW"
    assert outcome.applied == 2
    assert [r.state for r in requests(session, ids)] == [WithdrawalState.WITHDRAWN] * 2
    assert held(session) == (seats - 1, pit - 20)


def test_q06_asks_again_at_most_the_places_available(session: Session) -> None:
    seats, pit = held(session)
    file_id, ids = send_withdrawal(session)
    outcome = apply(
        session, 7, result_text("1;KO;Q05;;Place vendue", "2;KO;Q06;5;5 places disponibles")
    )
    assert outcome.error() is None
    assert [(a.line, a.code, a.available) for a in outcome.outcomes] == [
        (1, Code.Q05, None),
        (2, Code.Q06, 5),
    ]
    seat, free = requests(session, ids)
    assert (seat.state, seat.error_code) == (WithdrawalState.REFUSED_SOLD, "Q05")
    assert (free.state, free.places, free.error_code) == (WithdrawalState.REQUESTED, 5, "Q06")
    assert held(session) == (seats, pit)
    assert "5 available" in journaled(session, file_id).errors[1].reason


def test_q06_with_none_available_and_q07_and_x99(session: Session) -> None:
    seats, pit = held(session)
    _, ids = send_withdrawal(session)
    outcome = apply(session, 7, result_text("1;KO;Q07;;", "2;KO;Q06;0;"))
    seat, free = requests(session, ids)
    # Q07: not the reseller's: out of its quota, recorded with its code.
    assert (seat.state, seat.error_code) == (WithdrawalState.WITHDRAWN, "Q07")
    assert free.state is WithdrawalState.REFUSED_SOLD
    assert held(session) == (seats - 1, pit)
    assert outcome.codes == {"Q06": 1, "Q07": 1}


def test_x99_sends_again_and_another_refusal_fails(session: Session) -> None:
    _, ids = send_withdrawal(session)
    outcome = apply(session, 7, result_text("1;KO;X99;;", "2;KO;Q02;;"))
    seat, free = requests(session, ids)
    assert seat.state is WithdrawalState.REQUESTED
    assert free.state is WithdrawalState.FAILED
    assert isinstance(outcome.error(), MappingError)


def test_a_withdraw_refused_whole_fails_its_requests(session: Session) -> None:
    _, ids = send_withdrawal(session)
    outcome = apply(session, 7, result_text("0;KO;F03;;Fichier déjà traité"))
    assert [r.state for r in requests(session, ids)] == [WithdrawalState.FAILED] * 2
    assert isinstance(outcome.error(), TechnicalError)


# --------------------------------------------------------------------------- OFFER


def test_an_offer_line_refused_o01_is_a_mapping_error(session: Session) -> None:
    written = offer_file(session, 3, ["PASS27"], sales_open=SALES_OPEN)
    file_id = sent_file(session, written)
    outcome = apply(session, 3, result_text("1;KO;O01;;Type de produit refusé"))
    assert outcome.file_type.value == "OFFER"
    error = outcome.error()
    assert isinstance(error, MappingError)
    assert "remove the product from this channel" in error.problems[0].reason
    assert journaled(session, file_id).state is FileState.ACKNOWLEDGED
    assert outcome.summary()["refused"] == ["1: O01"]


def test_x99_alone_is_external(session: Session) -> None:
    written = offer_file(session, 3, ["PASS27"], sales_open=SALES_OPEN)
    sent_file(session, written)
    outcome = apply(session, 3, result_text("1;KO;X99;;"))
    assert isinstance(outcome.error(), ExternalError)


def test_the_file_answered_is_found_under_its_control_file_s_name(session: Session) -> None:
    """As the adapter's naming journals a pair: under the control file, the data file its
    member; the line count is the control file's when the journal has none."""
    lines = contingent_lines(session, ["TOSCA27", "PASS27"])
    written = lines.file(6)
    entry = journal.prepare_outbound(
        session,
        "secutix",
        SentName(written.name.control),
        written.control,
        members=[(str(written.name), written.data)],
    )
    journal.mark_sent(session, entry.id)
    record_sent(session, lines, entry.id, NOW)
    outcome = apply(session, 6, RESULT_00000006)
    assert (outcome.answered, outcome.lines) == ("CONTINGENT_00000006.ctl", 4)
    assert [state for _, state, _ in allocations(session, entry.id)] == [
        AllocationState.ALLOCATED
    ] * 3
