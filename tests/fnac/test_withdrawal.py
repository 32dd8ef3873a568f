"""Taking places back from FNAC (DECONT) over the sandbox's SFTP (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from reseller_sync.boxoffice.models import (
    OnboardingState,
    PlaceWithdrawal,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    WithdrawalReason,
    WithdrawalState,
)
from reseller_sync.domain.errors import MappingError
from reseller_sync.exchange.transport import SftpTransport
from reseller_sync.fnac.mappings import load_repository
from reseller_sync.fnac.onboarding_state import set_onboarding_state
from reseller_sync.fnac.reader import read_file
from reseller_sync.fnac.sales import integrate_sales
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.fnac.withdrawal import (
    WithdrawalRequestError,
    build_decont,
    plan_automatic_withdrawals,
    record_withdrawal_ack,
    request_withdrawal,
    send_withdrawals,
)
from reseller_sync.mappings.repository import MappingRepository
from tests.fnac.test_acks import drop_ack
from tests.fnac.test_sales import concert_date, line, ventes

SEATS_PER_PERFORMANCE = 5 * 25 + 15 * 20 + 10 * 20


@pytest.fixture(scope="module")
def repository() -> MappingRepository:
    return load_repository()


def ask_back(sessions: sessionmaker[Session], settings: FnacSettings) -> None:
    """Seats P2 1-3 (FNAC bloc B) and lower stand B 2-5 (TB2), and 20 pit places, on S1."""
    with sessions.begin() as session:
        request_withdrawal(
            session,
            settings,
            "EVT-LUMEN",
            "S1",
            seats=[("PARTERRE", "P2", "1", "3"), ("BAS", "B", "2", "5")],
            free_places=[("FOSSE", "FOSSE", 20)],
        )


def quota_of_s1(session: Session) -> tuple[int, int, int]:
    """Seats held, and pit places held, in FNAC's quota on S1; and its id."""
    quota = session.scalars(
        select(Quota).join(Quota.performance).where(Quota.code == "Q-FNAC")
    ).first()
    assert quota is not None
    seats = session.scalar(
        select(func.count()).select_from(QuotaSeat).where(QuotaSeat.quota_id == quota.id)
    )
    pit = session.scalar(select(QuotaFreePlaces.places).where(QuotaFreePlaces.quota_id == quota.id))
    return quota.id, seats or 0, pit or 0


def states(sessions: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    with sessions() as session:
        return [
            (row.state.value, row.error_code)
            for row in session.scalars(select(PlaceWithdrawal).order_by(PlaceWithdrawal.id))
        ]


def test_the_decont_lines_are_the_places_in_fnac_codes(
    sessions: sessionmaker[Session], fnac_settings: FnacSettings, repository: MappingRepository
) -> None:
    ask_back(sessions, fnac_settings)
    with sessions() as session:
        ids = list(session.scalars(select(PlaceWithdrawal.id)))
        decont = build_decont(session, fnac_settings, repository, ids)
        concert = concert_date(session)

    records = decont.records.astype(object).where(decont.records.notna(), None).to_dict("records")
    assert [
        (r["code_bloc"], r["rang"], r["place"], r["quantite"], r["type_tarif"]) for r in records
    ] == [("B", "1", "3", 1, "1"), ("TB2", "2", "5", 1, "2"), ("FOSSE", None, None, 20, "4")]
    assert {r["code_manifestation"] for r in records} == {"004512"}
    assert {r["code_salle"] for r in records} == {"ZEN01"}
    assert {r["code_allotement"] for r in records} == {"A1"}
    assert {r["date_seance"] for r in records} == {concert}
    assert len(decont.withdrawal_ids) == 3


def test_places_that_cannot_be_asked_back_are_named_and_nothing_is_asked(
    sessions: sessionmaker[Session], fnac_settings: FnacSettings, repository: MappingRepository
) -> None:
    with sessions.begin() as session:
        concert = concert_date(session)
        name, frame = ventes([line(1, date_seance=concert)])  # P2 row 1 seat 1 sold
        integrate_sales(session, fnac_settings, repository, name, frame)
    with sessions.begin() as session, pytest.raises(WithdrawalRequestError) as raised:
        request_withdrawal(
            session,
            fnac_settings,
            "EVT-LUMEN",
            "S1",
            seats=[
                ("PARTERRE", "P2", "1", "1"),
                ("PARTERRE", "P2", "9", "1"),
                ("X", "Y", "1", "1"),
            ],
            free_places=[("FOSSE", "FOSSE", 500)],
        )
    assert [problem.reason for problem in raised.value.problems] == [
        "this seat is sold: it cannot be taken back",
        "this seat is not in FNAC's quota",
        "no such seat in the product's configuration",
        "FNAC's quota has 200 unsold place(s) left here",
    ]
    with sessions.begin() as session, pytest.raises(WithdrawalRequestError, match="a pass"):
        request_withdrawal(session, fnac_settings, "PASS-MAH-LIBRE", "LIBRE", seats=[])
    assert states(sessions) == []


def test_the_ack_decides_line_by_line_and_places_come_back_once_acknowledged(
    sessions: sessionmaker[Session],
    transport: SftpTransport,
    sandbox_settings: FnacSettings,
    repository: MappingRepository,
    fnac_home: Path,
) -> None:
    ask_back(sessions, sandbox_settings)
    with sessions() as session:
        _, seats_before, pit_before = quota_of_s1(session)

    sent = send_withdrawals(sessions, transport, sandbox_settings, repository, automatic=False)

    assert sent.sent is not None
    assert sent.requests == 3
    assert sent.awaiting == (sent.sent,)
    assert (fnac_home / "depot" / sent.sent).exists()
    assert read_file(sent.sent, (fnac_home / "depot" / sent.sent).read_bytes()).frame.shape[0] == 3
    with sessions.begin() as session:
        assert record_withdrawal_ack(session, transport, sandbox_settings, sent.sent) is None
        assert quota_of_s1(session)[1:] == (seats_before, pit_before)  # still FNAC's

    drop_ack(fnac_home, sent.sent, (2, "E07"))
    with sessions.begin() as session:
        answer = record_withdrawal_ack(session, transport, sandbox_settings, sent.sent)

    assert answer is not None
    assert answer.withdrawn == 2
    assert answer.error is None
    [sold] = answer.sold
    assert sold.line == 2
    assert sold.value is not None
    assert "zone BAS, block B, row 2, seat 5" in sold.value
    assert states(sessions) == [("withdrawn", None), ("refused_sold", "E07"), ("withdrawn", None)]
    with sessions() as session:
        assert quota_of_s1(session)[1:] == (seats_before - 1, pit_before - 20)

    again = send_withdrawals(sessions, transport, sandbox_settings, repository, automatic=False)
    with sessions.begin() as session:
        replayed = record_withdrawal_ack(session, transport, sandbox_settings, sent.sent)
        assert quota_of_s1(session)[1:] == (seats_before - 1, pit_before - 20)
    assert (again.sent, again.awaiting) == (None, ())
    assert replayed == answer
    assert sorted(p.name for p in (fnac_home / "depot").glob("DECONT_*")) == [sent.sent]


def test_another_refusal_is_an_error_of_its_category_and_fnac_s_failure_is_sent_again(
    sessions: sessionmaker[Session],
    transport: SftpTransport,
    sandbox_settings: FnacSettings,
    repository: MappingRepository,
    fnac_home: Path,
) -> None:
    ask_back(sessions, sandbox_settings)
    sent = send_withdrawals(sessions, transport, sandbox_settings, repository, automatic=False)
    assert sent.sent is not None
    drop_ack(fnac_home, sent.sent, (1, "E05"), (3, "E99"))

    with sessions.begin() as session:
        answer = record_withdrawal_ack(session, transport, sandbox_settings, sent.sent)

    assert answer is not None
    assert isinstance(answer.error, MappingError)
    assert [problem.line for problem in answer.failed] == [1]
    assert states(sessions) == [("failed", "E05"), ("withdrawn", None), ("requested", "E99")]
    resent = send_withdrawals(sessions, transport, sandbox_settings, repository, automatic=False)
    assert resent.sent is not None
    assert resent.sent != sent.sent
    assert resent.requests == 1


def test_unsold_places_are_asked_back_days_before_the_performance(
    sessions: sessionmaker[Session], fnac_settings: FnacSettings, repository: MappingRepository
) -> None:
    with sessions.begin() as session:
        set_onboarding_state(session, "EVT-LUMEN", OnboardingState.PLACES_SENT)
        concert = concert_date(session)
        name, frame = ventes([line(1, date_seance=concert)])
        integrate_sales(session, fnac_settings, repository, name, frame)
    # 2 days before S1's wall-clock time: S1 (at 19:30 UTC) is within 2 days, S2 is not.
    two_days_before = (concert - dt.timedelta(days=2)).replace(tzinfo=dt.UTC)

    with sessions.begin() as session:
        early = plan_automatic_withdrawals(
            session, fnac_settings, two_days_before - dt.timedelta(days=5)
        )
        planned = plan_automatic_withdrawals(session, fnac_settings, two_days_before)
        again = plan_automatic_withdrawals(session, fnac_settings, two_days_before)

    assert early == []
    seats = [w for w in planned if w.seat_id is not None]
    [pit] = [w for w in planned if w.block_id is not None]
    assert len(seats) == SEATS_PER_PERFORMANCE - 1  # every unsold seat of S1, not the sold one
    assert pit.places == 200
    assert {w.reason for w in planned} == {WithdrawalReason.AUTOMATIC}
    assert {w.state for w in planned} == {WithdrawalState.REQUESTED}
    assert len({w.performance_id for w in planned}) == 1
    assert again == []
