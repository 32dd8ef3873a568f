"""The nightly wait for FNAC's ACK of a DECONT: the task defers, the trigger watches the
sandbox over SFTP, the task resumes and applies the ACK; or fails, external, at the
deadline. Driven step by step (execute, trigger, execute_complete) as Airflow does."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reseller_sync.airflow.triggers import PartnerFileTrigger
from reseller_sync.airflow.withdrawal_wait import AwaitWithdrawalAcks
from reseller_sync.boxoffice.models import (
    ExchangeFile,
    FileState,
    Performance,
    PlaceWithdrawal,
    Product,
    WithdrawalState,
)
from reseller_sync.domain.errors import ExternalError
from reseller_sync.exchange.watch import Wanted
from reseller_sync.fnac.mappings import load_repository
from reseller_sync.fnac.outbound import transport_for
from reseller_sync.fnac.settings import load_settings
from reseller_sync.fnac.withdrawal import request_withdrawal, send_withdrawals
from reseller_sync.fnac.withdrawal_wait import DecontAnswers
from tests.dags.conftest import FnacWorld
from tests.dags.test_fnac_nightly import fnac_holds_the_concert
from tests.dags.test_partner_trigger import first_event

FREE_SEAT = ("HAUT", "K", "10", "20")
"""A seat of FNAC's quota that the seeded draw leaves unsold."""


def decont_sent(world: FnacWorld) -> dict[str, Any]:
    """The box office asks one seat back: ``send_withdrawals``' summary (one DECONT)."""
    settings = load_settings()
    with Session(world.engine) as session:
        performance = session.scalars(
            select(Performance.code)
            .join(Product)
            .where(Product.code == "EVT-LUMEN")
            .order_by(Performance.starts_at)
        ).first()
    assert performance is not None
    with sessionmaker(world.engine).begin() as session:
        request_withdrawal(session, settings, "EVT-LUMEN", performance, seats=[FREE_SEAT])
    sent = send_withdrawals(world.engine, transport_for(settings), settings, load_repository())
    return sent.summary()


def waiting(sent: dict[str, Any], seconds: float) -> AwaitWithdrawalAcks:
    return AwaitWithdrawalAcks(
        task_id="await_withdrawal_acks",
        answers=DecontAnswers(),
        sent=sent,
        ack_timeout=dt.timedelta(seconds=seconds),
        poll_seconds=0.2,
    )


def deferred_trigger(task: AwaitWithdrawalAcks) -> PartnerFileTrigger:
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(context={})
    assert deferred.value.method_name == "execute_complete"
    trigger = deferred.value.trigger
    assert isinstance(trigger, PartnerFileTrigger)
    return trigger


def decont_state(world: FnacWorld, name: str) -> FileState:
    with Session(world.engine) as session:
        state = session.scalar(select(ExchangeFile.state).where(ExchangeFile.name == name))
    assert state is not None
    return state


@pytest.mark.slow
def test_the_task_defers_until_fnac_acknowledges_the_decont_then_applies_it(
    fnac_world: FnacWorld,
) -> None:
    partner = fnac_holds_the_concert(fnac_world)
    sent = decont_sent(fnac_world)
    [decont] = sent["awaiting"]
    task = waiting(sent, seconds=30)

    trigger = deferred_trigger(task)

    assert trigger.wanted == Wanted(names=(f"ACK_{decont}",))
    assert trigger.conn_id == "fnac_sftp"
    assert decont_state(fnac_world, decont) is FileState.SENT
    assert [answer.status for answer in partner.process_depot()] == ["OK"]  # FNAC answers
    event = first_event(trigger)
    assert (event["status"], event["found"]) == ("found", [f"ACK_{decont}"])

    assert task.execute_complete(context={}, event=event) == [decont]
    assert decont_state(fnac_world, decont) is FileState.ACKNOWLEDGED
    with Session(fnac_world.engine) as session:
        withdrawal = session.scalars(select(PlaceWithdrawal)).one()
    assert withdrawal.state is WithdrawalState.WITHDRAWN


@pytest.mark.slow
def test_no_ack_by_the_deadline_fails_the_task_naming_the_decont(fnac_world: FnacWorld) -> None:
    fnac_holds_the_concert(fnac_world)
    sent = decont_sent(fnac_world)
    [decont] = sent["awaiting"]
    task = waiting(sent, seconds=1)

    event = first_event(deferred_trigger(task))

    assert event["status"] == "timeout"
    with pytest.raises(ExternalError) as failed:
        task.execute_complete(context={}, event=event)
    assert failed.value.file == decont
    assert f"FNAC sent no ACK of {decont}" in failed.value.message
    assert "call it with the file name" in failed.value.action
    assert decont_state(fnac_world, decont) is FileState.SENT, "its places stay FNAC's"
