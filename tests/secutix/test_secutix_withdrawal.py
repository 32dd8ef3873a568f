"""Taking places back from the SecuTix reseller (secutix-reseller-v1 sections 7.3, 7.4, 8.3,
9.1 points 7 and 8, and 10.1): the places planned, the WITHDRAW file and its RESULT applied
line by line; and over real SFTP with the reseller's sandbox, the night's STOCK reconciled
before and after places are taken back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from devtools.sandboxes.secutix.people import LOCAL_TIME
from reseller_sync.boxoffice.models import (
    Block,
    PlaceWithdrawal,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    SalesChannel,
    Seat,
    WithdrawalReason,
    WithdrawalState,
    Zone,
)
from reseller_sync.domain.errors import ExternalError, MappingError
from reseller_sync.exchange.transport import SftpTransport
from reseller_sync.secutix import nightly, withdrawal
from reseller_sync.secutix.settings import SecutixSettings
from tests.secutix.secutix_world import DAY_START, World, secutix_world, set_up
from tests.secutix.test_secutix_contingent import add_secutix, sent_file
from tests.secutix.test_secutix_lines import settings
from tests.secutix.test_secutix_result import NOW, request_places, result_text
from tests.secutix.test_secutix_stock import PIT_SALE, SEAT_SALE, landed, sell

NO_TRANSPORT = cast(SftpTransport, None)
"""The RESULT is in the journal already: nothing is fetched."""


@pytest.fixture
def session(demo_session: Session) -> Session:
    add_secutix(demo_session)
    return demo_session


def with_days(days: int | None) -> SecutixSettings:
    return settings(nightly={"withdraw_unsold_days_before_performance": days})


def open_requests(session: Session) -> list[tuple[int | None, int | None, int]]:
    return [
        (r.seat_id, r.block_id, r.places)
        for r in session.scalars(
            select(PlaceWithdrawal)
            .where(PlaceWithdrawal.state == WithdrawalState.REQUESTED)
            .order_by(PlaceWithdrawal.id)
        )
    ]


# --------------------------------------------------------------------------- planning

BEFORE_TOSCA = dt.datetime(2027, 3, 10, 12, 0, tzinfo=dt.UTC)
"""Four days before TOSCA27-0314 (2027-03-14 20:30, Paris)."""


def test_unsold_places_close_to_their_performance_are_planned(session: Session) -> None:
    sell(session, 1, SEAT_SALE, PIT_SALE)  # seat F/12 and a pit place sold
    planned = withdrawal.plan_automatic_withdrawals(session, with_days(7), BEFORE_TOSCA)

    assert [(r.reason, r.state) for r in planned] == [
        (WithdrawalReason.AUTOMATIC, WithdrawalState.REQUESTED)
    ] * 2
    seat = next(r for r in planned if r.seat_id is not None)
    pit = next(r for r in planned if r.block_id is not None)
    row, number = session.execute(
        select(Seat.row, Seat.number).where(Seat.id == seat.seat_id)
    ).one()
    assert (row, number, pit.places) == ("F", "13", 299)
    # Asked once: the next night adds nothing.
    assert withdrawal.plan_automatic_withdrawals(session, with_days(7), BEFORE_TOSCA) == []


def test_nothing_is_planned_far_from_the_performance_or_without_the_setting(
    session: Session,
) -> None:
    far = BEFORE_TOSCA - dt.timedelta(days=30)
    assert withdrawal.plan_automatic_withdrawals(session, with_days(7), far) == []
    assert withdrawal.plan_automatic_withdrawals(session, with_days(None), BEFORE_TOSCA) == []


def test_a_request_names_places_of_the_reseller_s_quota(session: Session) -> None:
    made = withdrawal.request_withdrawal(
        session,
        settings(),
        "TOSCA27",
        "TOSCA27-0314",
        free_places=[("FOSSE", "FOSSE", 20)],
    )
    assert [(r.places, r.state) for r in made] == [(20, WithdrawalState.REQUESTED)]
    with pytest.raises(withdrawal.WithdrawalRequestError, match="not in SecuTix"):
        withdrawal.request_withdrawal(
            session,
            settings(),
            "TOSCA27",
            "TOSCA27-0314",
            seats=[("PARTERRE", "PARTERRE", "B", "1")],
        )


# --------------------------------------------------------------------------- the RESULT


def sent_withdraw(session: Session, number: int = 7) -> tuple[str, list[int]]:
    """Seat F/13 (line 1) and 20 pit places (line 2) asked back in WITHDRAW ``number``."""
    from reseller_sync.secutix.contingent import record_sent, withdraw_request_lines

    ids = request_places(session)
    lines = withdraw_request_lines(session, ids)
    file_id = sent_file(session, lines.file(number))
    record_sent(session, lines, file_id, NOW)
    return f"WITHDRAW_{number:08d}.csv", ids


def answer(session: Session, number: int, *lines: str) -> None:
    """``RESULT_<number>`` landed in the journal with its control file."""
    landed(session, f"RESULT_{number:08d}.csv", result_text(*lines).encode())


def test_a_result_applied_once_takes_back_and_keeps_what_it_says(session: Session) -> None:
    name, _ = sent_withdraw(session)
    assert withdrawal.awaiting_result(session, settings()) == (name,)
    assert withdrawal.record_withdraw_result(session, _no_result_transport(), name) is None

    answer(session, 7, "1;KO;Q05;;vendu", "2;OK;;;")
    result = withdrawal.record_withdraw_result(session, NO_TRANSPORT, name)
    assert result is not None
    assert (result.file_name, result.withdrawn, result.again, result.error) == (name, 1, 0, None)
    (sold,) = result.sold
    assert sold.line == 1
    assert "Q05" in sold.reason
    assert "row F, seat 13" in str(sold.value)
    assert withdrawal.awaiting_result(session, settings()) == ()
    pit = pit_places(session)
    assert pit == 280
    # Asked again: the same answer, nothing taken back twice.
    again = withdrawal.record_withdraw_result(session, NO_TRANSPORT, name)
    assert again is not None
    assert (again.withdrawn, len(again.sold)) == (1, 1)
    assert pit_places(session) == 280
    assert result.summary()["sent_again_next_run"] == 0


def test_q06_q07_and_x99_go_out_again_or_leave_the_quota(session: Session) -> None:
    name, _ = sent_withdraw(session)
    answer(session, 7, "1;KO;Q07;;absente", "2;KO;Q06;12;")
    result = withdrawal.record_withdraw_result(session, NO_TRANSPORT, name)
    assert result is not None
    assert (len(result.not_held), len(result.limited), result.error) == (1, 1, None)
    assert open_requests(session) == [(None, result_block(session), 12)]
    # F/13 out of the reseller's quota on TOSCA27 (F/12 left).
    tosca = session.scalars(select(PlaceWithdrawal.performance_id)).first()
    assert (
        len(session.scalars(select(QuotaSeat).where(QuotaSeat.performance_id == tosca)).all()) == 1
    )

    name, _ = sent_withdraw_again(session, 8)
    answer(session, 8, "1;KO;X99;;panne")
    result = withdrawal.record_withdraw_result(session, NO_TRANSPORT, name)
    assert result is not None
    assert result.again == 1
    assert isinstance(result.error, ExternalError)
    assert result.summary()["sent_again_next_run"] == 1


def test_another_refusal_fails_by_its_category(session: Session) -> None:
    name, _ = sent_withdraw(session)
    answer(session, 7, "1;KO;Q02;;catégorie", "2;OK;;;")
    result = withdrawal.record_withdraw_result(session, NO_TRANSPORT, name)
    assert result is not None
    assert len(result.failed) == 1
    assert isinstance(result.error, MappingError)
    assert "stay its own" in result.error.message


def result_block(session: Session) -> int:
    pit = select(Block.id).where(Block.code == "FOSSE", Block.capacity == 300)
    return session.scalars(pit).one()


def pit_places(session: Session) -> int:
    """The reseller's places in TOSCA27's pit."""
    return session.scalars(
        select(QuotaFreePlaces.places).where(QuotaFreePlaces.block_id == result_block(session))
    ).one()


def sent_withdraw_again(session: Session, number: int) -> tuple[str, list[int]]:
    """The open requests (after a Q06) sent in WITHDRAW ``number``."""
    from reseller_sync.integration.withdrawal import requested_withdrawals
    from reseller_sync.secutix.contingent import record_sent, withdraw_request_lines

    ids = requested_withdrawals(session, withdrawal.scope(settings()))
    lines = withdraw_request_lines(session, ids)
    file_id = sent_file(session, lines.file(number))
    record_sent(session, lines, file_id, NOW)
    return f"WITHDRAW_{number:08d}.csv", ids


class _NoResult:
    """An empty server: no RESULT to fetch yet."""

    def fetch_new(self, index: Any) -> Any:
        @dataclass
        class Nothing:
            landed: tuple[()] = ()

        return Nothing()


def _no_result_transport() -> SftpTransport:
    return cast(SftpTransport, _NoResult())


# --------------------------------------------------------------------------- over SFTP


@pytest.fixture
def world(
    sqlite_demo_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    with secutix_world(sqlite_demo_template, tmp_path, monkeypatch) as built:
        yield built


def unsold_seat(world: World) -> tuple[str, tuple[str, str, str, str]]:
    """A performance of EVT-LUMEN and a seat of the reseller's quota on it that no valid
    ticket holds (every TICKETS file applied)."""
    from reseller_sync.boxoffice.models import Performance, Product
    from reseller_sync.integration.withdrawal import sold_seats

    with Session(world.engine) as session:
        rows = session.execute(
            select(
                QuotaSeat.performance_id,
                Performance.code,
                Zone.code,
                Block.code,
                Seat.row,
                Seat.number,
                Seat.id,
            )
            .join(Quota, Quota.id == QuotaSeat.quota_id)
            .join(SalesChannel, SalesChannel.id == Quota.channel_id)
            .join(Performance, Performance.id == QuotaSeat.performance_id)
            .join(Product, Product.id == Performance.product_id)
            .join(Seat, Seat.id == QuotaSeat.seat_id)
            .join(Block, Block.id == Seat.block_id)
            .join(Zone, Zone.id == Block.zone_id)
            .where(SalesChannel.code == "SECUTIX", Product.code == "EVT-LUMEN")
            .order_by(QuotaSeat.id)
        ).all()
        for performance_id, performance, zone, block, row, number, seat_id in rows:
            if seat_id not in sold_seats(session, performance_id):
                return performance, (zone, block, row, number)
    raise AssertionError("every seat of the quota is sold")


def test_stock_agrees_and_a_withdrawal_goes_out_and_is_answered_over_sftp(world: World) -> None:
    set_up(world)
    for quarter in range(6):
        world.clock.now = DAY_START + dt.timedelta(minutes=15 * (quarter + 1))
        world.partner.tick(orders=2)
    world.run()

    # The night: the reseller's STOCK, reconciled with the box office.
    world.clock.now = dt.datetime(2026, 12, 6, 2, 30, tzinfo=LOCAL_TIME)
    stock_name = world.partner.write_stock()
    nightly.land_new_files(world.settings)
    world.run()  # the TICKETS file written with the STOCK, if any
    (reconciled,) = nightly.reconcile_inventory(world.settings)
    assert reconciled.file_name == stock_name
    assert reconciled.differences == (), [str(p) for p in reconciled.problems()]
    assert (world.partner.outbox_done / stock_name).is_file()

    # A seat asked back, sent in a WITHDRAW, answered, applied.
    performance, seat = unsold_seat(world)
    with Session(world.engine) as session, session.begin():
        withdrawal.request_withdrawal(
            session, world.settings, "EVT-LUMEN", performance, seats=[seat]
        )
    sent = nightly.send_withdrawals(world.settings)
    assert sent["sent"] == "WITHDRAW_00000005.ctl"
    assert sent["awaiting"] == ["WITHDRAW_00000005.ctl"]
    assert nightly.withdrawal_answers(world.settings, sent["awaiting"]) == []  # not answered

    (answered,) = world.partner.pickup()
    assert (answered.file, answered.status) == ("WITHDRAW_00000005.csv", "OK")
    (result,) = nightly.withdrawal_answers(world.settings, sent["awaiting"])
    assert (result.file_name, result.withdrawn, result.error) == ("WITHDRAW_00000005.ctl", 1, None)
    with Session(world.engine) as session:
        assert withdrawal.awaiting_result(session, world.settings) == ()
    # Sending again sends nothing: no request is open.
    assert nightly.send_withdrawals(world.settings)["sent"] is None

    # The next night's STOCK agrees still: one place less on both sides.
    world.clock.now = dt.datetime(2026, 12, 7, 2, 30, tzinfo=LOCAL_TIME)
    world.partner.write_stock()
    nightly.land_new_files(world.settings)
    world.run()
    (next_night,) = nightly.reconcile_inventory(world.settings)
    assert next_night.differences == (), [str(p) for p in next_night.problems()]
