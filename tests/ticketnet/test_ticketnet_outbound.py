"""OFFER batches sent to Ticketnet once and their ACKs applied (``ticketnet-exchange-v1``
sections 3, 4, 7.4, 9.2 and 10.1), over real SFTP to the Ticketnet sandbox, on a copy of the
demo box office."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from devtools.sandboxes.connection import connection_env_var, sandbox_connection_json
from devtools.sandboxes.sftp import DEMO_USERNAME, SandboxServer, demo_user
from devtools.sandboxes.ticketnet import TicketnetPartner, ticketnet_server
from devtools.sandboxes.ticketnet.intake import rejected
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import (
    AllocationState,
    Block,
    Direction,
    ExchangeFile,
    ExchangeFileMember,
    FileState,
    PlaceAllocation,
    ResellerPerformance,
    Seat,
)
from reseller_sync.domain.errors import (
    MappingError,
    SyncError,
    TechnicalError,
    TemporaryExternalError,
)
from reseller_sync.exchange import journal
from reseller_sync.exchange.transport import SftpTransport
from reseller_sync.ticketnet import outbound
from reseller_sync.ticketnet.ack import Ack, AckFile, AckRecordError, AckStatus
from reseller_sync.ticketnet.errors import Code
from reseller_sync.ticketnet.inbound import transport_for
from reseller_sync.ticketnet.manifest import parse_manifest
from reseller_sync.ticketnet.names import FileName, FileType
from reseller_sync.ticketnet.settings import TicketnetSettings, load_settings

PRODUCT = "EVT-LUMEN"
CATALOG_RECORDS = 3 * 4 * 4
"""Three performances × four categories × four price types (PLEIN: ADULT; REDUIT: CE, CSE,
REDUCED)."""
ALLOCATION_RECORDS = 3 * 50 + 3
"""Rows 1 and 2 of block P3 (50 seats) and one record for the pit, on each performance."""

pytestmark = pytest.mark.usefixtures("ticketnet_registered")


@dataclass
class World:
    engine: Engine
    server: SandboxServer
    partner: TicketnetPartner
    settings: TicketnetSettings
    transport: SftpTransport

    @property
    def home(self) -> Path:
        return self.server.home(DEMO_USERNAME)

    def send_catalog(self, **options: Any) -> outbound.OfferSent:
        return outbound.send_catalog(self.engine, self.transport, self.settings, PRODUCT, **options)

    def send_allocation(self) -> outbound.OfferSent:
        return outbound.send_allocation(self.engine, self.transport, self.settings, PRODUCT)

    def answer(self, batch: str) -> outbound.OfferAnswer | None:
        with sessionmaker(self.engine).begin() as session:
            return outbound.await_ack(session, self.transport, batch)

    def batches(self) -> list[tuple[str, FileState]]:
        with Session(self.engine) as session:
            return [
                (name, state)
                for name, state in session.execute(
                    select(ExchangeFile.name, ExchangeFile.state)
                    .where(
                        ExchangeFile.direction == Direction.OUTBOUND,
                        ExchangeFile.reseller_code == "ticketnet",
                    )
                    .order_by(ExchangeFile.sequence)
                )
            ]

    def places(self, batch: str) -> dict[int, tuple[AllocationState, str | None]]:
        """The state of each record's places of ``batch`` (sent, allocated, refused) and
        Ticketnet's code, by record."""
        with Session(self.engine) as session:
            return {
                line: (state, code)
                for line, state, code in session.execute(
                    select(PlaceAllocation.line, PlaceAllocation.state, PlaceAllocation.error_code)
                    .join(ExchangeFile, ExchangeFile.id == PlaceAllocation.file_id)
                    .where(ExchangeFile.name == batch)
                )
            }

    def publish_ack(self, ack: Ack) -> None:
        """Ticketnet's ACK written in /from_ticketnet/ (``.tmp``, then renamed)."""
        temporary = self.home / "from_ticketnet" / f"{ack.name}.tmp"
        temporary.write_bytes(ack.encode())
        temporary.rename(temporary.with_name(ack.name))


@pytest.fixture
def world(
    sqlite_demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    box_office = tmp_path / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, box_office)
    engine = make_engine(f"sqlite:///{box_office}")
    with ticketnet_server(tmp_path / "sandbox", [demo_user()]) as server:
        monkeypatch.setenv(
            connection_env_var("ticketnet_sftp"), sandbox_connection_json(server.host, server.port)
        )
        settings = load_settings()
        partner = TicketnetPartner(server.root, seed=5)
        yield World(engine, server, partner, settings, transport_for(settings))
    engine.dispose()


def test_a_catalog_goes_once_its_data_files_journaled_and_its_manifest_last(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    uploaded: list[str] = []
    upload = SftpTransport._upload

    def recorded(self: SftpTransport, sftp: Any, name: str, data: bytes, progress: Any) -> Any:
        uploaded.append(name)
        return upload(self, sftp, name, data, progress)

    monkeypatch.setattr(SftpTransport, "_upload", recorded)

    sent = world.send_catalog()
    again = world.send_catalog()

    batch = "OFFER_PR04127_00000001"
    data_file = f"{batch}.CATALOG.1.csv.gz"
    assert (sent.status, sent.batch, sent.number, sent.records) == (
        outbound.SendStatus.SENT,
        f"{batch}.manifest.json",
        1,
        CATALOG_RECORDS,
    )
    assert (again.status, again.batch, again.file_id) == (
        outbound.SendStatus.ALREADY_SENT,
        sent.batch,
        sent.file_id,
    )
    assert uploaded == [data_file, sent.batch], "data files first, the manifest last, once"
    folder = world.home / "to_ticketnet"
    assert sorted(p.name for p in folder.iterdir()) == [data_file, sent.batch]
    assert (folder / sent.batch).stat().st_mtime_ns >= (folder / data_file).stat().st_mtime_ns
    with Session(world.engine) as session:
        entry = session.scalars(select(ExchangeFile).where(ExchangeFile.name == sent.batch)).one()
        assert (entry.file_type, entry.sequence, entry.state, entry.product_code) == (
            "OFFER",
            1,
            FileState.SENT,
            PRODUCT,
        )
        assert entry.content == (folder / sent.batch).read_bytes()
        [member] = session.scalars(
            select(ExchangeFileMember).where(ExchangeFileMember.exchange_file_id == entry.id)
        ).all()
        assert (member.name, member.content) == (data_file, (folder / data_file).read_bytes())
    manifest = parse_manifest(sent.batch, (folder / sent.batch).read_bytes())
    assert [(f.name, f.records) for f in manifest.files] == [(data_file, CATALOG_RECORDS)]


def test_the_catalog_s_ack_records_ticketnet_s_ids_and_the_allocation_takes_the_next_number(
    world: World,
) -> None:
    catalog = world.send_catalog()
    assert world.answer(catalog.batch) is None, "Ticketnet has not answered yet"

    world.partner.process_offers()
    answer = world.answer(catalog.batch)
    again = world.answer(catalog.batch)

    assert answer is not None
    assert (answer.status, answer.refusals, answer.accepted) == (
        AckStatus.ACCEPTED,
        (),
        CATALOG_RECORDS,
    )
    assert answer.new_performances == 3
    assert again is not None
    assert (again.status, again.new_performances) == (AckStatus.ACCEPTED, 0), "applied once"
    with Session(world.engine) as session:
        ids = session.scalars(
            select(ResellerPerformance.partner_performance_id).where(
                ResellerPerformance.reseller_code == "ticketnet"
            )
        ).all()
        assert sorted(ids) == ["P01", "P02", "P03"]
        ack = journal.find_file(session, "ticketnet", Direction.INBOUND, answer.ack_file)
        assert ack is not None
        assert ack.state is FileState.INTEGRATED

    allocation = world.send_allocation()
    assert set(world.places(allocation.batch).values()) == {(AllocationState.SENT, None)}
    world.partner.process_offers()
    allocated = world.answer(allocation.batch)
    assert set(world.places(allocation.batch).values()) == {(AllocationState.ALLOCATED, None)}
    with Session(world.engine) as session:
        given = session.execute(
            select(PlaceAllocation.line, Seat.row, Seat.number, Block.code, PlaceAllocation.places)
            .outerjoin(Seat, Seat.id == PlaceAllocation.seat_id)
            .join(Block, Block.id == func.coalesce(Seat.block_id, PlaceAllocation.block_id))
            .order_by(PlaceAllocation.line)
        ).all()
    assert [tuple(row) for row in given[:2]] == [(1, "1", "1", "P3", 1), (2, "1", "2", "P3", 1)]
    pit = [row for row in given if row.row is None]
    assert [(row.line, row.places) for row in pit] == [(51, 100), (102, 100), (153, 100)]

    assert (allocation.number, allocation.records) == (2, ALLOCATION_RECORDS)
    assert allocated is not None
    assert (allocated.status, allocated.accepted) == (AckStatus.ACCEPTED, ALLOCATION_RECORDS)
    assert world.batches() == [
        ("OFFER_PR04127_00000001.manifest.json", FileState.ACKNOWLEDGED),
        ("OFFER_PR04127_00000002.manifest.json", FileState.ACKNOWLEDGED),
    ]
    assert world.send_catalog().status is outbound.SendStatus.ALREADY_SENT
    assert world.send_allocation().status is outbound.SendStatus.ALREADY_SENT


def test_places_ticketnet_holds_already_are_fine(world: World) -> None:
    """The allocation sent again (a person's resend): every place is Ticketnet's already."""
    world.answer(_catalog_applied(world))
    first = world.send_allocation()
    world.partner.process_offers()
    world.answer(first.batch)

    again = outbound.send_offer(
        world.engine,
        world.transport,
        world.settings,
        PRODUCT,
        FileType.ALLOCATION,
        lambda session: _allocation(world, session),
        force=True,
    )
    world.partner.process_offers()
    answer = world.answer(again.batch)

    assert again.number == 3
    assert answer is not None
    assert answer.status is AckStatus.PARTIAL
    assert answer.accepted == 3, "an area's record adds its places: the pit's 3 records"
    assert len(answer.outcomes) == 3 * 50
    assert {r.code for r in answer.refusals} == {Code.A04}
    assert answer.error() is None
    assert answer.raise_for_errors() is answer
    assert world.batches()[-1] == (again.batch, FileState.ACKNOWLEDGED)


def _allocation(world: World, session: Session) -> Any:
    from reseller_sync.ticketnet.identifiers import PartnerPerformances
    from reseller_sync.ticketnet.mappings import load_repository
    from reseller_sync.ticketnet.offer import allocation

    performances = PartnerPerformances.load(session)
    return allocation(session, world.settings, load_repository(), performances, PRODUCT)


def test_a_batch_ticketnet_refused_is_never_sent_again_its_content_goes_as_the_next_number(
    world: World,
) -> None:
    """Ticketnet fails on its side (Z99): the same content goes again, under number 2."""
    sales_open = dt.datetime.now(dt.UTC)
    refused = world.send_catalog(sales_open=sales_open)
    [answered] = world.partner.process_offers(fault="technical-error")
    assert (answered.status, answered.codes) == ("REJECTED", ("Z99",))

    answer = world.answer(refused.batch)
    assert answer is not None
    with pytest.raises(TemporaryExternalError, match="Z99") as raised:
        answer.raise_for_errors()
    assert "sends the same content in a new batch" in str(raised.value.action)
    assert world.batches() == [(refused.batch, FileState.REFUSED)]

    resent = world.send_catalog(sales_open=sales_open)
    world.partner.process_offers()
    accepted = world.answer(resent.batch)

    assert (resent.status, resent.number) == (outbound.SendStatus.SENT, 2)
    assert accepted is not None
    assert accepted.status is AckStatus.ACCEPTED
    assert world.batches() == [
        (refused.batch, FileState.REFUSED),
        (resent.batch, FileState.ACKNOWLEDGED),
    ]
    archived = world.home / "archive" / "to_ticketnet"
    assert _records(archived / f"{_id(refused.batch)}.CATALOG.1.csv.gz") == _records(
        archived / f"{_id(resent.batch)}.CATALOG.1.csv.gz"
    ), "the same content"


def test_a_resend_asked_for_goes_once_per_run(world: World) -> None:
    first = world.send_catalog()
    world.partner.process_offers()
    world.answer(first.batch)
    run_started = dt.datetime.now(dt.UTC)

    resent = world.send_catalog(force=True, resend_since=run_started)
    retried = world.send_catalog(force=True, resend_since=run_started)

    assert (resent.status, resent.number) == (outbound.SendStatus.SENT, 2)
    assert (retried.status, retried.batch) == (outbound.SendStatus.ALREADY_SENT, resent.batch)


def test_a_batch_left_prepared_by_a_crash_goes_under_its_number_before_any_other(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cut(*_args: Any, **_kwargs: Any) -> None:
        raise TemporaryExternalError("the connection dropped")

    with monkeypatch.context() as patched:
        patched.setattr(world.transport, "upload_all", cut)
        with pytest.raises(TemporaryExternalError):
            world.send_catalog()
    assert world.batches() == [("OFFER_PR04127_00000001.manifest.json", FileState.PREPARED)]
    assert list((world.home / "to_ticketnet").iterdir()) == []

    completed = world.send_catalog()

    assert (completed.status, completed.number) == (outbound.SendStatus.COMPLETED, 1)
    assert completed.completed_leftovers == (completed.batch,)
    assert world.batches() == [(completed.batch, FileState.SENT)]
    [answered] = world.partner.process_offers()
    assert answered.status == "ACCEPTED"


def test_a_dry_run_builds_the_batch_and_sends_nothing(world: World) -> None:
    shown = world.send_catalog(dry_run=True)

    assert (shown.status, shown.batch, shown.records) == (
        outbound.SendStatus.DRY_RUN,
        "OFFER_PR04127_00000001.manifest.json",
        CATALOG_RECORDS,
    )
    assert shown.preview is not None
    assert '"batch_id": "OFFER_PR04127_00000001"' in shown.preview
    assert "org_event_code,event_name,event_kind" in shown.preview
    assert world.batches() == []
    assert list((world.home / "to_ticketnet").iterdir()) == []


BATCH_CODES = [
    (Code.B01, TechnicalError),
    (Code.B02, TechnicalError),
    (Code.B03, TechnicalError),
    (Code.B04, TechnicalError),
    (Code.B05, TechnicalError),
    (Code.B06, TechnicalError),
    (Code.B07, TechnicalError),
    (Code.Z99, TemporaryExternalError),
]
CATALOG_CODES = [
    (Code.C01, MappingError),
    (Code.C02, MappingError),
    (Code.C03, MappingError),
    (Code.C04, MappingError),
    (Code.C05, MappingError),
    (Code.C06, TechnicalError),
]
ALLOCATION_CODES = [
    (Code.A01, MappingError),
    (Code.A02, MappingError),
    (Code.A03, MappingError),
]


@pytest.mark.parametrize(("code", "error"), BATCH_CODES)
def test_a_rejected_batch_raises_its_category(
    world: World, code: Code, error: type[SyncError]
) -> None:
    sent = world.send_catalog()
    manifest = (world.home / "to_ticketnet" / sent.batch).read_bytes()
    world.publish_ack(
        rejected(
            FileName.parse(sent.batch).batch,  # type: ignore[union-attr]
            manifest,
            code,
            ("refusé", sent.batch, None),
            "2026-12-01T10:00:00+01:00",
        )
    )

    answer = world.answer(sent.batch)

    assert answer is not None
    raised = answer.error()
    assert type(raised) is error
    assert raised is not None
    assert f"{code}" in raised.message
    assert f"{code} " in str(raised.problems[0])
    assert world.batches() == [(sent.batch, FileState.REFUSED)]
    assert world.send_catalog().number == 2, "corrected content goes as the next number"


def test_the_places_of_an_allocation_rejected_whole_are_not_ticketnet_s(world: World) -> None:
    world.answer(_catalog_applied(world))
    sent = world.send_allocation()
    [answered] = world.partner.process_offers(fault="technical-error")
    assert (answered.status, answered.codes) == ("REJECTED", ("Z99",))

    answer = world.answer(sent.batch)
    world.answer(sent.batch)

    assert answer is not None
    assert set(world.places(sent.batch).values()) == {(AllocationState.REFUSED, "Z99")}
    again = world.send_allocation()
    world.partner.process_offers()
    world.answer(again.batch)
    assert set(world.places(again.batch).values()) == {(AllocationState.ALLOCATED, None)}
    assert set(world.places(sent.batch).values()) == {(AllocationState.REFUSED, "Z99")}


@pytest.mark.parametrize(("code", "error"), CATALOG_CODES)
def test_a_refused_catalog_raises_its_category(
    world: World, code: Code, error: type[SyncError]
) -> None:
    sent = world.send_catalog()
    world.publish_ack(
        _answer(
            world,
            sent.batch,
            FileType.CATALOG,
            CATALOG_RECORDS,
            [AckRecordError(2, code, "refusé")],
            whole=True,
        )
    )

    answer = world.answer(sent.batch)

    assert answer is not None
    with pytest.raises(error) as raised:
        answer.raise_for_errors()
    [problem] = raised.value.problems
    assert (problem.file, problem.line, problem.value) == (
        f"{_id(sent.batch)}.CATALOG.1.csv.gz",
        2,
        code.value,
    )
    assert "org_performance_code S1" in problem.reason, "the record as sent, described"
    assert world.batches()[0][1] is FileState.ACKNOWLEDGED
    assert world.send_catalog().number == 2, "corrected content goes as the next number"


@pytest.mark.parametrize(("code", "error"), [*ALLOCATION_CODES, (Code.A04, None)])
def test_refused_places_raise_their_category_and_held_ones_are_fine(
    world: World, code: Code, error: type[SyncError] | None
) -> None:
    world.answer(_catalog_applied(world))
    sent = world.send_allocation()
    world.publish_ack(
        _answer(
            world,
            sent.batch,
            FileType.ALLOCATION,
            ALLOCATION_RECORDS,
            [AckRecordError(1, code, "refusé"), AckRecordError(3, code, "refusé")],
        )
    )

    answer = world.answer(sent.batch)

    assert answer is not None
    assert answer.status is AckStatus.PARTIAL
    places = world.places(sent.batch)
    assert len(places) == ALLOCATION_RECORDS
    stated = AllocationState.ALLOCATED if error is None else AllocationState.REFUSED
    assert (places.pop(1), places.pop(3)) == ((stated, code.value), (stated, code.value))
    assert set(places.values()) == {(AllocationState.ALLOCATED, None)}
    if error is None:
        assert answer.raise_for_errors() is answer
        assert [r.record for r in answer.outcomes] == [1, 3]
        assert world.send_allocation().status is outbound.SendStatus.ALREADY_SENT
        return
    with pytest.raises(error) as raised:
        answer.raise_for_errors()
    assert "2 record(s) refused" in raised.value.message
    assert [p.line for p in raised.value.problems] == [1, 3]
    assert "section ORCH-A, row 1, seat 1" in raised.value.problems[0].reason
    assert world.send_allocation().number == 3, "corrected content goes as the next number"


def test_technical_codes_win_over_mapping_then_external() -> None:
    def answer(*codes: Code) -> outbound.OfferAnswer:
        return outbound.OfferAnswer(
            "OFFER_PR04127_00000001.manifest.json",
            "OFFER_PR04127_00000001.ack.json",
            AckStatus.PARTIAL,
            tuple(outbound.Refusal(code, "refusé") for code in codes),
            0,
        )

    assert type(answer(Code.A02, Code.C06, Code.Z99).error()) is TechnicalError
    assert type(answer(Code.Z99, Code.A02, Code.A04).error()) is MappingError
    assert type(answer(Code.A04, Code.Z99).error()) is TemporaryExternalError
    assert answer(Code.A04, Code.A05, Code.A06, Code.A07).error() is None


def test_an_ack_of_another_manifest_is_r22(world: World) -> None:
    sent = world.send_catalog()
    world.publish_ack(
        Ack(
            FileName.parse(sent.batch).batch,  # type: ignore[union-attr]
            "0" * 64,
            "2026-12-01T10:00:00+01:00",
            AckStatus.ACCEPTED,
        )
    )

    with pytest.raises(SyncError, match="R22"):
        world.answer(sent.batch)
    assert world.batches() == [(sent.batch, FileState.SENT)]


def _catalog_applied(world: World) -> str:
    sent = world.send_catalog()
    world.partner.process_offers()
    return sent.batch


def _answer(
    world: World,
    batch: str,
    file_type: FileType,
    records: int,
    errors: list[AckRecordError],
    *,
    whole: bool = False,
) -> Ack:
    """Ticketnet's ACK of ``batch``, whose one data file has ``errors``: refused whole (a
    CATALOG) or record by record."""
    manifest = (world.home / "to_ticketnet" / batch).read_bytes()
    parsed = FileName.parse(batch)
    assert parsed is not None
    refused = records if whole else len({e.record for e in errors})
    file = AckFile(
        parsed.batch.data_file_name(file_type, 1),
        file_type,
        records,
        AckStatus.REJECTED if whole else AckStatus.PARTIAL,
        records - refused,
        refused,
        tuple(errors),
    )
    return Ack(
        parsed.batch,
        hashlib.sha256(manifest).hexdigest(),
        "2026-12-01T10:00:00+01:00",
        AckStatus.PARTIAL,
        None,
        (file,),
    )


def _id(batch: str) -> str:
    return batch.removesuffix(".manifest.json")


def _records(path: Path) -> list[str]:
    return gzip.decompress(path.read_bytes()).decode().splitlines()
