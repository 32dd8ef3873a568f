"""Ticketnet's hourly run (``ticketnet-exchange-v1`` sections 3, 6 and 9.1) against its
sandbox over real SFTP, a mail sink and a copy of the demo box office: the DAG whole with
dag.test(), and its steps through the faults of the transport and of the partner."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reseller_sync.airflow.inbound_dag import build_inbound_dag
from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    Alert,
    ExchangeFile,
    FileState,
    Ticket,
    TicketState,
)
from reseller_sync.domain.errors import ExternalError
from reseller_sync.ticketnet import inbound
from reseller_sync.ticketnet.adapter import RESELLER_TYPE as TICKETNET
from reseller_sync.ticketnet.adapter import load_settings
from reseller_sync.ticketnet.names import BatchId, FileType, Stream
from reseller_sync.ticketnet.writer import BuiltBatch, build_batch
from tests.dags.conftest import TicketnetWorld
from tests.reliability.implied import assert_box_office_holds_facts, implied_by_ticketnet
from tests.ticketnet.ticketnet_samples import TRANSACTION_COLUMNS, refund, sale, standing_sale

SEATED = sale(
    transaction_id="TX1",
    line_id="1",
    section="ORCH-A",
    row="1",
    seat="5",
    price_level="1",
    price_type="ADULT",
    amount="68.50",
    fees="6.85",
    barcode="8142000000000001",
)
STANDING = standing_sale(
    transaction_id="TX2",
    line_id="1",
    barcode="8142000000000002",
    attendee_first_name="",
    attendee_last_name="",
)
PRICE_TYPES = ["price_type", "label", "active", "modified_at"]


def sales_batch(number: int, records: list[dict[str, str]]) -> BuiltBatch:
    return build_batch(
        BatchId(Stream.SALES, "PR04127", number),
        {FileType.TRANSACTIONS: {c: [r[c] for r in records] for c in TRANSACTION_COLUMNS}},
        created_at="2026-11-28T14:10:03+01:00",
    )


def price_types_batch(number: int, types: list[tuple[str, str]]) -> BuiltBatch:
    rows = [(code, label, "true", "2026-11-28T09:00:00+01:00") for code, label in types]
    return build_batch(
        BatchId(Stream.PRICETYPES, "PR04127", number),
        {FileType.PRICETYPES: {c: [row[i] for row in rows] for i, c in enumerate(PRICE_TYPES)}},
        created_at="2026-11-28T14:10:03+01:00",
    )


def tickets(world: TicketnetWorld) -> dict[str, TicketState]:
    with Session(world.engine) as session:
        return dict(
            session.execute(
                select(Ticket.barcode, Ticket.state).where(Ticket.reseller_code == "ticketnet")
            ).all()
        )


def states(world: TicketnetWorld) -> dict[str, FileState]:
    with Session(world.engine) as session:
        return dict(session.execute(select(ExchangeFile.name, ExchangeFile.state)).all())


def task_states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def hourly_steps(stream: str = "SALES") -> dict[str, Any]:
    """The hourly run's landing, then the integration of ``stream``, as its tasks call them."""
    settings = load_settings()
    landing = inbound.land_new_files(settings)
    return {"landing": landing, "integration": inbound.integrate_stream(settings, stream).summary}


def test_an_hourly_run_applies_price_types_then_sales_and_refunds_then_archives_them(
    ticketnet_world: TicketnetWorld,
) -> None:
    world = ticketnet_world
    price_types_batch(1, [("ADULT", "Plein tarif"), ("CSE", "CSE")]).write_to(world.inbox)
    sold = sales_batch(1, [SEATED, STANDING])
    sold.write_to(world.inbox)
    refunded = sales_batch(2, [refund(STANDING)])
    refunded.write_to(world.inbox)

    run = build_inbound_dag(TICKETNET).test()

    assert str(run.state) == "success", task_states(run)
    assert tickets(world) == {
        SEATED["barcode"]: TicketState.VALID,
        STANDING["barcode"]: TicketState.CANCELLED,
    }
    assert set(states(world).values()) == {FileState.INTEGRATED}
    assert list(world.inbox.iterdir()) == []
    assert len(list(world.archive.iterdir())) == 6, "3 manifests and 3 data files archived"
    assert_box_office_holds_facts(world.engine, implied_by_ticketnet([sold.files, refunded.files]))
    with Session(world.engine) as session:
        entries = dict(
            session.execute(select(AccessControlEntry.barcode, AccessControlEntry.allowed)).all()
        )
    assert entries[SEATED["barcode"]] is True
    assert entries[STANDING["barcode"]] is False
    assert world.mail.messages() == []


def test_a_new_price_type_mapped_to_no_tariff_is_alerted_at_once(
    ticketnet_world: TicketnetWorld,
) -> None:
    world = ticketnet_world
    price_types_batch(1, [("ADULT", "Plein tarif"), ("VIP2027", "Carré or")]).write_to(world.inbox)

    run = build_inbound_dag(TICKETNET).test()

    assert str(run.state) == "success", task_states(run)
    [mail] = world.mail.messages()
    body = mail.get_body(preferencelist=("html",)).get_content()
    assert "VIP2027" in body
    with Session(world.engine) as session:
        assert session.scalars(select(Alert.category)).all() == ["mapping"]


def test_a_batch_replaced_after_an_external_error_is_applied_once_and_those_behind_follow(
    ticketnet_world: TicketnetWorld,
) -> None:
    """A data file damaged in transit (R03): the batch fails whole and stops the stream;
    Ticketnet replaces it under the same number; the next run lands the new copy, applies
    it, then the batch that waited behind it."""
    world = ticketnet_world
    first = sales_batch(1, [SEATED])
    first.write_to(world.inbox)
    second = sales_batch(2, [STANDING])
    second.write_to(world.inbox)
    [part] = first.files
    damaged = bytearray((world.inbox / part).read_bytes())
    damaged[-9] ^= 0xFF
    (world.inbox / part).write_bytes(bytes(damaged))

    with pytest.raises(ExternalError) as failed:
        hourly_steps()
    assert "R03" in failed.value.message
    assert tickets(world) == {}
    assert states(world)[first.manifest.name] is FileState.FAILED
    assert (world.inbox / part).exists(), "a batch not applied is never archived"

    (world.inbox / first.manifest.name).unlink()
    first.write_to(world.inbox)
    hourly_steps()

    assert tickets(world) == {
        SEATED["barcode"]: TicketState.VALID,
        STANDING["barcode"]: TicketState.VALID,
    }
    assert set(states(world).values()) == {FileState.INTEGRATED}
    hourly_steps()
    assert len(tickets(world)) == 2, "nothing applied twice"
    assert_box_office_holds_facts(world.engine, implied_by_ticketnet([first.files, second.files]))


def test_a_batch_number_applied_then_sent_again_with_another_manifest_raises_r08(
    ticketnet_world: TicketnetWorld,
) -> None:
    """Section 10.2: the batch stays on the server, unapplied and unarchived, and each run
    tells people (external) until Ticketnet takes it back; the same manifest again is a
    repeated delivery, archived without a word."""
    world = ticketnet_world
    applied = sales_batch(1, [SEATED])
    applied.write_to(world.inbox)
    hourly_steps()
    archived = {path.name: path.read_bytes() for path in world.archive.iterdir()}
    assert tickets(world) == {SEATED["barcode"]: TicketState.VALID}

    sales_batch(1, [SEATED, STANDING]).write_to(world.inbox)
    run = build_inbound_dag(TICKETNET).test()

    assert task_states(run)["report_refused_files"] == "failed"
    assert task_states(run)["integrate_sales"] == "success"
    assert tickets(world) == {SEATED["barcode"]: TicketState.VALID}, "nothing of it applied"
    assert (world.inbox / applied.manifest.name).exists(), "left on the server"
    assert {path.name: path.read_bytes() for path in world.archive.iterdir()} == archived
    [mail] = world.mail.messages()
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "R08" in body
    assert applied.manifest.name in body
    with Session(world.engine) as session:
        assert session.scalars(select(Alert.category)).all() == ["external"]

    for path in list(world.inbox.iterdir()):
        path.unlink()
    applied.write_to(world.inbox)
    hourly_steps()
    assert list(world.inbox.iterdir()) == [], "a repeated delivery is archived"
    assert_box_office_holds_facts(world.engine, implied_by_ticketnet([applied.files]))


def test_a_manifest_before_its_files_fails_the_batch_until_the_files_come(
    ticketnet_world: TicketnetWorld,
) -> None:
    world = ticketnet_world
    batch = sales_batch(1, [SEATED, STANDING])
    (world.inbox / batch.manifest.name).write_bytes(batch.manifest_bytes)

    with pytest.raises(ExternalError) as failed:
        hourly_steps()
    assert "R02" in failed.value.message
    assert tickets(world) == {}

    for name, data in batch.files.items():
        (world.inbox / name).write_bytes(data)
    hourly_steps()

    assert sorted(tickets(world)) == [SEATED["barcode"], STANDING["barcode"]]
    assert_box_office_holds_facts(world.engine, implied_by_ticketnet([batch.files]))


def test_data_files_without_their_manifest_wait_and_raise_r07_after_two_hours(
    ticketnet_world: TicketnetWorld,
) -> None:
    import datetime as dt

    from reseller_sync.boxoffice.db import session_scope

    world = ticketnet_world
    batch = sales_batch(1, [SEATED])
    [(name, data)] = batch.files.items()
    (world.inbox / name).write_bytes(data)
    three_hours_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).timestamp()
    os.utime(world.inbox / name, (three_hours_ago, three_hours_ago))

    summary = hourly_steps()
    assert summary["landing"]["landed"] == []
    with session_scope() as session, pytest.raises(ExternalError) as late:
        inbound.watch_for_late_files(session, load_settings(), dt.datetime.now(dt.UTC))
    assert "R07" in str(late.value.problems[0])
    assert late.value.problems[0].file == name


def test_records_of_a_batch_integrated_count_once(ticketnet_world: TicketnetWorld) -> None:
    world = ticketnet_world
    sales_batch(1, [SEATED]).write_to(world.inbox)
    hourly_steps()
    with Session(world.engine) as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) >= 1
        assert (
            session.scalar(select(ExchangeFile.line_count).where(ExchangeFile.file_type == "SALES"))
            == 1
        )
