"""The organiser's files sent to the SecuTix reseller once and their RESULTs applied
(secutix-reseller-v1 sections 3, 4, 6, 7.4, 9.2 and 10.1), over real SFTP to the SecuTix
sandbox, on a copy of the demo box office."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from devtools.sandboxes.connection import connection_env_var, sandbox_connection_json
from devtools.sandboxes.secutix import SecutixPartner, secutix_server
from devtools.sandboxes.sftp import DEMO_USERNAME, SandboxServer, demo_user
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import (
    AllocationState,
    Direction,
    ExchangeFile,
    ExchangeFileMember,
    FileState,
    PlaceAllocation,
)
from reseller_sync.domain.errors import ErrorCategory, ExternalError, TechnicalError
from reseller_sync.exchange.transport import SftpTransport
from reseller_sync.secutix import outbound
from reseller_sync.secutix.contingent import contingent_lines
from reseller_sync.secutix.inbound import transport_for
from reseller_sync.secutix.names import FileType
from reseller_sync.secutix.offer import offer_rows
from reseller_sync.secutix.settings import SecutixSettings

EVENT = "EVT-LUMEN"
PASS = "PASS-MAH-LIBRE"
TARIFFS = ["PLEIN", "REDUIT", "ENFANT"]


def secutix_settings(**changes: Any) -> SecutixSettings:
    """The demo's SecuTix instance settings (channel, point of sale, contact, quota)."""
    values: dict[str, Any] = {
        "boxoffice": {
            "channel": "SECUTIX",
            "point_of_sale": "SECUTIX-RESEAU",
            "paying_contact": "SECUTIX-TECH",
            "quota": "Q-SECUTIX",
        },
        "prices": {"policy": "strict", "includes_commission": True},
        "notifications": {
            "error_emails": ["ops@example.org"],
            "secutix_contact_email": "partenaires@reseller.example",
        },
        "tariffs_offered": TARIFFS,
        "products": [EVENT, "CMP-LYON-NANTES", "PASS-MAH-JOUR", PASS],
    }
    values.update(changes)
    return SecutixSettings.model_validate(values)


@dataclass
class World:
    engine: Engine
    server: SandboxServer
    partner: SecutixPartner
    settings: SecutixSettings
    transport: SftpTransport

    @property
    def home(self) -> Path:
        return self.server.home(DEMO_USERNAME)

    def send_offer(self, product: str = EVENT, **options: Any) -> outbound.FileSent:
        return outbound.send_offer(self.engine, self.transport, self.settings, product, **options)

    def send_contingent(self, product: str = EVENT) -> outbound.FileSent:
        return outbound.send_contingent(self.engine, self.transport, product)

    def answer(self, number: int) -> outbound.FileAnswer | None:
        with sessionmaker(self.engine).begin() as session:
            return outbound.await_result(session, self.transport, number)

    def journal(self) -> list[tuple[str, int, FileState]]:
        with Session(self.engine) as session:
            return [
                (name, sequence, state)
                for name, sequence, state in session.execute(
                    select(ExchangeFile.name, ExchangeFile.sequence, ExchangeFile.state)
                    .where(
                        ExchangeFile.direction == Direction.OUTBOUND,
                        ExchangeFile.reseller_code == "secutix",
                    )
                    .order_by(ExchangeFile.sequence)
                )
            ]

    def on_server(self, folder: str = "to_reseller") -> list[str]:
        return sorted(p.name for p in (self.home / folder).iterdir() if p.is_file())


@pytest.fixture
def world(
    sqlite_demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    box_office = tmp_path / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, box_office)
    engine = make_engine(f"sqlite:///{box_office}")
    with secutix_server(tmp_path / "sandbox", [demo_user()]) as server:
        monkeypatch.setenv(
            connection_env_var("secutix_sftp"), sandbox_connection_json(server.host, server.port)
        )
        settings = secutix_settings()
        partner = SecutixPartner(server.root, seed=5)
        yield World(engine, server, partner, settings, transport_for(settings))
    engine.dispose()


def expected_lines(world: World) -> tuple[int, int]:
    """The OFFER's and the CONTINGENT's line counts of the event, as the builders give them."""
    with Session(world.engine) as session:
        offer = offer_rows(session, EVENT, tariffs=TARIFFS).num_rows
        places = contingent_lines(session, [EVENT]).lines
    return offer, places


def test_an_offer_goes_once_data_file_first_then_its_control_file(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    uploaded: list[str] = []
    upload = SftpTransport._upload

    def recorded(self: SftpTransport, sftp: Any, name: str, data: bytes, progress: Any) -> Any:
        uploaded.append(name)
        return upload(self, sftp, name, data, progress)

    monkeypatch.setattr(SftpTransport, "_upload", recorded)
    offer_lines, _ = expected_lines(world)

    sent = world.send_offer()
    again = world.send_offer()

    assert (sent.status, sent.name, sent.number, sent.lines) == (
        outbound.SendStatus.SENT,
        "OFFER_00000001.csv",
        1,
        offer_lines,
    )
    assert (again.status, again.name, again.file_id) == (
        outbound.SendStatus.ALREADY_SENT,
        sent.name,
        sent.file_id,
    )
    assert uploaded == ["OFFER_00000001.csv", "OFFER_00000001.ctl"], "data first, once"
    assert world.on_server() == ["OFFER_00000001.csv", "OFFER_00000001.ctl"]
    with Session(world.engine) as session:
        entry = session.scalars(
            select(ExchangeFile).where(ExchangeFile.name == "OFFER_00000001.ctl")
        ).one()
        assert (entry.file_type, entry.sequence, entry.state, entry.product_code) == (
            "TO_RESELLER",
            1,
            FileState.SENT,
            EVENT,
        )
        assert entry.content == (world.home / "to_reseller" / "OFFER_00000001.ctl").read_bytes()
        [member] = session.scalars(
            select(ExchangeFileMember).where(ExchangeFileMember.exchange_file_id == entry.id)
        ).all()
        data = (world.home / "to_reseller" / "OFFER_00000001.csv").read_bytes()
        assert (member.name, member.content) == ("OFFER_00000001.csv", data)


def test_offer_then_contingent_of_the_event_and_a_pass_answered_by_the_reseller(
    world: World,
) -> None:
    offer_lines, place_lines = expected_lines(world)
    offer = world.send_offer()
    assert world.answer(offer.number) is None, "the reseller has not answered yet"
    places = world.send_contingent()
    pass_offer = world.send_offer(PASS)
    pass_places = world.send_contingent(PASS)
    assert [s.number for s in (offer, places, pass_offer, pass_places)] == [1, 2, 3, 4]
    assert places.lines == place_lines

    answered = world.partner.pickup()
    assert [(a.file, a.status) for a in answered] == [
        ("OFFER_00000001.csv", "OK"),
        ("CONTINGENT_00000002.csv", "OK"),
        ("OFFER_00000003.csv", "OK"),
        ("CONTINGENT_00000004.csv", "OK"),
    ]
    # The pass goes with its validity (section 8.1): undated, its last valid day.
    pass_file = (world.home / "to_reseller" / "done" / "OFFER_00000003.csv").read_text()
    header, *lines = pass_file.splitlines()
    columns = header.split(";")
    rows = [dict(zip(columns, line.split(";"), strict=True)) for line in lines]
    assert {(r["PRODUCT_KIND"], r["PERFORMANCE_CODE"]) for r in rows} == {("UNDATED_PASS", "")}
    assert {r["PASS_VALIDITY_END"] for r in rows} == {"2027-11-28"}, "the demo's pass: a year"
    first = world.answer(1)
    assert first is not None
    assert first.applied_now
    assert (first.outcome.lines, first.outcome.applied, first.category) == (
        offer_lines,
        offer_lines,
        None,
    )
    assert first.raise_for_errors() is first
    contingent = world.answer(2)
    assert contingent is not None
    assert (contingent.outcome.file_type, contingent.outcome.applied) == (
        FileType.CONTINGENT,
        place_lines,
    )
    # Applied once: asked again, it is read from the journal and changes nothing.
    again = world.answer(2)
    assert again is not None
    assert not again.applied_now
    assert again.outcome.applied == place_lines
    assert world.answer(4) is not None
    with Session(world.engine) as session:
        states = session.scalars(
            select(PlaceAllocation.state)
            .join(ExchangeFile, ExchangeFile.id == PlaceAllocation.file_id)
            .where(ExchangeFile.name == "CONTINGENT_00000002.ctl")
        ).all()
    assert states
    assert set(states) == {AllocationState.ALLOCATED}
    assert [state for _, _, state in world.journal()][:2] == [
        FileState.ACKNOWLEDGED,
        FileState.ACKNOWLEDGED,
    ]
    # An answered OFFER stands: not sent again; a forced one takes the next number.
    assert world.send_offer().status is outbound.SendStatus.ALREADY_SENT
    forced = world.send_offer(force=True)
    assert (forced.status, forced.number) == (outbound.SendStatus.SENT, 5)


def test_a_file_left_prepared_is_uploaded_again_with_its_bytes_before_a_new_number(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(self: SftpTransport, files: Any, **_: Any) -> Any:
        raise OSError("connection lost")

    with monkeypatch.context() as patched:
        patched.setattr(SftpTransport, "upload_all", crash)
        with pytest.raises(OSError, match="connection lost"):
            world.send_offer()
    assert world.journal() == [("OFFER_00000001.ctl", 1, FileState.PREPARED)]
    assert world.on_server() == []
    with Session(world.engine) as session:
        kept = session.scalars(
            select(ExchangeFileMember.content).join(ExchangeFile).where(ExchangeFile.sequence == 1)
        ).one()

    # The retry completes number 1 with its same bytes and takes no new number for it.
    retried = world.send_offer()
    assert (retried.status, retried.number) == (outbound.SendStatus.COMPLETED, 1)
    assert retried.completed_leftovers == ("OFFER_00000001.ctl",)
    assert (world.home / "to_reseller" / "OFFER_00000001.csv").read_bytes() == kept
    # The next file (another type, another product) takes number 2, after the leftover.
    with monkeypatch.context() as patched:
        patched.setattr(SftpTransport, "upload_all", crash)
        with pytest.raises(OSError, match="connection lost"):
            world.send_contingent()
    places = world.send_offer(PASS)
    assert places.completed_leftovers == ("CONTINGENT_00000002.ctl",)
    assert places.number == 3
    assert [(n, s) for _, n, s in world.journal()] == [
        (1, FileState.SENT),
        (2, FileState.SENT),
        (3, FileState.SENT),
    ]
    assert [a.file for a in world.partner.pickup()] == [
        "OFFER_00000001.csv",
        "CONTINGENT_00000002.csv",
        "OFFER_00000003.csv",
    ]


def test_an_answered_file_is_never_sent_again_under_its_number(world: World) -> None:
    offer = world.send_offer()
    world.partner.pickup(fault="technical-error")
    answer = world.answer(offer.number)
    assert answer is not None
    assert answer.outcome.refused_whole is not None
    assert answer.category is ErrorCategory.EXTERNAL
    assert "external" in answer.meaning()
    with pytest.raises(ExternalError, match="X99"):
        answer.raise_for_errors()
    assert world.journal() == [("OFFER_00000001.ctl", 1, FileState.REFUSED)]
    # A refused OFFER does not stand: the same content goes as a new file, number 2.
    again = world.send_offer()
    assert (again.status, again.name) == (outbound.SendStatus.SENT, "OFFER_00000002.csv")
    assert world.on_server() == ["OFFER_00000002.csv", "OFFER_00000002.ctl"]
    assert sorted(p.name for p in (world.home / "to_reseller" / "done").iterdir()) == [
        "OFFER_00000001.csv",
        "OFFER_00000001.ctl",
    ]
    [answered] = world.partner.pickup()
    assert answered.status == "OK"
    second = world.answer(2)
    assert second is not None
    assert second.category is None


def test_a_dry_run_builds_and_shows_without_sending(world: World) -> None:
    shown = world.send_offer(dry_run=True)
    assert (shown.status, shown.name, shown.file_id) == (
        outbound.SendStatus.DRY_RUN,
        "OFFER_00000001.csv",
        None,
    )
    assert shown.preview is not None
    assert "PRODUCT_CODE;PRODUCT_NAME" in shown.preview
    assert "OFFER_00000001.ctl" in shown.preview
    assert world.journal() == []
    assert world.on_server() == []


def test_a_withdraw_never_stands_and_an_empty_one_is_not_sent(world: World) -> None:
    nothing = outbound.send_withdraw(world.engine, world.transport, [])
    assert nothing.status is outbound.SendStatus.EMPTY
    assert world.journal() == []


def test_await_result_of_a_file_never_sent_is_a_technical_error(world: World) -> None:
    with pytest.raises(TechnicalError, match="00000009"):
        world.answer(9)


def test_result_codes_are_sorted_as_section_10_1_says() -> None:
    from reseller_sync.secutix.errors import RESULT_CODES

    sorted_codes = (
        outbound.TECHNICAL_CODES
        | outbound.MAPPING_CODES
        | outbound.EXTERNAL_CODES
        | outbound.OUTCOME_CODES
    )
    assert sorted_codes == RESULT_CODES
    assert {c.category for c in outbound.TECHNICAL_CODES} == {ErrorCategory.TECHNICAL}
    assert {c.category for c in outbound.MAPPING_CODES} == {ErrorCategory.MAPPING}
    assert {c.category for c in outbound.EXTERNAL_CODES} == {ErrorCategory.EXTERNAL}
    assert {c.category for c in outbound.OUTCOME_CODES} == {None}


def test_sales_open_is_the_offer_s_sales_start(world: World) -> None:
    opening = dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.UTC)
    sent = world.send_offer(sales_open=opening)
    data = (world.home / "to_reseller" / sent.name).read_text()
    assert "2026-12-05T11:00:00+01:00" in data


def test_a_withdraw_of_requests_is_answered_place_by_place(world: World) -> None:
    from reseller_sync.boxoffice.models import (
        Block,
        Performance,
        PlaceWithdrawal,
        Product,
        Quota,
        QuotaSeat,
        SalesChannel,
        Seat,
        WithdrawalState,
        Zone,
    )
    from reseller_sync.integration import withdrawal

    world.send_offer()
    world.send_contingent()
    world.partner.pickup()
    assert world.answer(2) is not None
    scope = withdrawal.WithdrawalScope("secutix", "SecuTix", "SECUTIX", "Q-SECUTIX")
    with sessionmaker(world.engine).begin() as session:
        performance = session.scalars(
            select(Performance)
            .join(Product)
            .where(Product.code == EVENT)
            .order_by(Performance.starts_at)
        ).first()
        assert performance is not None
        zone, block, row, number = session.execute(
            select(Zone.code, Block.code, Seat.row, Seat.number)
            .join(Block, Block.zone_id == Zone.id)
            .join(Seat, Seat.block_id == Block.id)
            .join(QuotaSeat, QuotaSeat.seat_id == Seat.id)
            .join(Quota, Quota.id == QuotaSeat.quota_id)
            .join(SalesChannel, SalesChannel.id == Quota.channel_id)
            .where(QuotaSeat.performance_id == performance.id, SalesChannel.code == "SECUTIX")
            .order_by(Seat.id)
        ).first()  # type: ignore[misc]
        requests = withdrawal.request_withdrawal(
            session, scope, EVENT, performance.code, seats=[(zone, block, row, number)]
        )
        ids = [r.id for r in requests]

    sent = outbound.send_withdraw(world.engine, world.transport, ids, product_code=EVENT)
    assert (sent.status, sent.name, sent.lines) == (
        outbound.SendStatus.SENT,
        "WITHDRAW_00000003.csv",
        1,
    )
    # A WITHDRAW never stands: the nightly run sends each set of requests as a new file.
    assert outbound.standing_file(Session(world.engine), EVENT, FileType.WITHDRAW) is None
    [answered] = world.partner.pickup()
    assert answered.status == "OK"
    answer = world.answer(3)
    assert answer is not None
    assert answer.category is None
    with Session(world.engine) as session:
        states = session.scalars(
            select(PlaceWithdrawal.state).where(PlaceWithdrawal.id.in_(ids))
        ).all()
    assert states == [WithdrawalState.WITHDRAWN]
