"""A partner's batches through the transport and the journal, over real SFTP: a batch lands
whole under its closing file once that file is there, its data files kept as members with
the buyer values emptied; a failed batch the partner replaces is landed again; applied
files are archived (the exchange of ticketnet-exchange-v1, whose names have batches)."""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from devtools.sandboxes.fnac import connection_env_var, sandbox_connection_json
from devtools.sandboxes.sftp import DEMO_USERNAME, SandboxServer, demo_user
from devtools.sandboxes.ticketnet import ticketnet_server
from reseller_sync.boxoffice.models import ExchangeFile, ExchangeFileMember, FileState
from reseller_sync.exchange import journal
from reseller_sync.exchange.transport import SftpTransport, TransportSettings
from reseller_sync.ticketnet.naming import NAMING
from tests.ticketnet.ticketnet_samples import (
    TRANSACTION_COLUMNS,
    csv_text,
    gz,
    refund,
    sale,
    write_batch,
    write_sales,
)

CONN_ID = "ticketnet_batches_test"
RESELLER = "ticketnet"
SOLD = sale()
OTHER = sale(transaction_id="TX2", barcode="8142000000000500", seat="13")


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    with ticketnet_server(tmp_path / "sftp", [demo_user()]) as running:
        monkeypatch.setenv(
            connection_env_var(CONN_ID), sandbox_connection_json(running.host, running.port)
        )
        yield running


@pytest.fixture
def transport(server: SandboxServer) -> SftpTransport:
    return SftpTransport(
        CONN_ID,
        TransportSettings(
            incoming_folder="/from_ticketnet/",
            outgoing_folder="/to_ticketnet/",
            processed_folder="/archive/to_ticketnet/",
            archive_folder="/archive/from_ticketnet/",
            transfer_timeout=5.0,
            connect_timeout=5,
        ),
        naming=NAMING,
    )


def inbox(server: SandboxServer) -> Path:
    return server.home(DEMO_USERNAME) / "from_ticketnet"


def land_all(session: Session, transport: SftpTransport) -> list[journal.LandingOutcome]:
    fetched = transport.fetch_new(journal.JournalIndex(session, RESELLER))
    return [journal.land(session, RESELLER, file) for file in fetched.landed]


@pytest.mark.usefixtures("ticketnet_registered")
def test_a_batch_lands_whole_once_its_manifest_is_there(
    server: SandboxServer, transport: SftpTransport, demo_session: Session
) -> None:
    staging = server.root / "staging"
    manifest = write_sales(staging, 1, [SOLD, OTHER])
    data = next(staging.glob("*.csv.gz"))
    os.replace(data, inbox(server) / data.name)

    fetched = transport.fetch_new(journal.JournalIndex(demo_session, RESELLER))
    assert fetched.landed == ()
    assert [item.name for item in fetched.unclosed] == [data.name]
    assert fetched.unclosed[0].modified is not None

    os.replace(manifest, inbox(server) / manifest.name)
    [outcome] = land_all(demo_session, transport)

    assert (outcome.name, outcome.state) == (manifest.name, FileState.LANDED)
    entry = demo_session.get_one(ExchangeFile, outcome.file_id)
    assert (entry.file_type, entry.sequence) == ("SALES", 1)
    [member] = entry.members
    arrived = (inbox(server) / data.name).read_bytes()
    assert (member.name, member.size) == (data.name, len(arrived))
    kept = gzip.decompress(member.content).decode()
    assert "secret.buyer@example.org" not in kept
    assert "Hélène" in kept
    unit = journal.inbound_unit(demo_session, outcome.file_id)
    assert unit.members == {data.name: member.content}
    assert unit.member_sha256 == {data.name: hashlib.sha256(arrived).hexdigest()}
    assert land_all(demo_session, transport) == []
    assert journal.queue(demo_session, RESELLER, "SALES").ready == (outcome.file_id,)


@pytest.mark.usefixtures("ticketnet_registered")
def test_a_failed_batch_the_partner_replaces_is_landed_again_in_place(
    server: SandboxServer, transport: SftpTransport, demo_session: Session
) -> None:
    write_sales(inbox(server), 1, [SOLD])
    [first] = land_all(demo_session, transport)
    journal.mark_failed(demo_session, first.file_id, "external", "R03 on the first copy", [])
    demo_session.flush()
    assert land_all(demo_session, transport) == [], "the same bytes are not landed again"

    for path in inbox(server).iterdir():
        path.unlink()
    write_sales(inbox(server), 1, [SOLD, refund(SOLD)])
    [again] = land_all(demo_session, transport)

    assert (again.file_id, again.state, again.reason) == (first.file_id, FileState.LANDED, None)
    entry = demo_session.get_one(ExchangeFile, first.file_id)
    assert entry.error_message is None
    assert entry.errors == []
    [member] = entry.members
    assert "RFTX1" in gzip.decompress(member.content).decode()
    members = demo_session.scalars(select(ExchangeFileMember.name)).all()
    assert members == [member.name], "the old copy's members are gone"


@pytest.mark.usefixtures("ticketnet_registered")
def test_an_integrated_batch_is_not_replaced(
    server: SandboxServer, transport: SftpTransport, demo_session: Session
) -> None:
    write_sales(inbox(server), 1, [SOLD])
    [first] = land_all(demo_session, transport)
    journal.mark_integrated(demo_session, first.file_id, 1)
    for path in inbox(server).iterdir():
        path.unlink()
    write_sales(inbox(server), 1, [SOLD, OTHER])

    fetched = transport.fetch_new(journal.JournalIndex(demo_session, RESELLER))
    assert fetched.landed == ()
    [refused] = fetched.refused
    assert refused.file == "SALES_PR04127_00000001.manifest.json"
    assert refused.reason.startswith("R08: ")
    assert demo_session.get_one(ExchangeFile, first.file_id).state is FileState.INTEGRATED
    assert transport.closing_files_changed({first.name: first_sha256(demo_session, first)}) == [
        first.name
    ]


@pytest.mark.usefixtures("ticketnet_registered")
def test_an_integrated_batch_delivered_again_the_same_is_not_refused(
    server: SandboxServer, transport: SftpTransport, demo_session: Session
) -> None:
    write_sales(inbox(server), 1, [SOLD])
    [first] = land_all(demo_session, transport)
    journal.mark_integrated(demo_session, first.file_id, 1)

    fetched = transport.fetch_new(journal.JournalIndex(demo_session, RESELLER))
    assert (fetched.landed, fetched.refused) == ((), ())
    assert fetched.already_landed == (first.name,)
    assert transport.closing_files_changed({first.name: first_sha256(demo_session, first)}) == []


def first_sha256(session: Session, outcome: journal.LandingOutcome) -> str:
    return journal.sha256_of(session, outcome.file_id)


@pytest.mark.usefixtures("ticketnet_registered")
def test_a_data_file_whose_syntax_a_copy_would_hide_is_not_kept(
    server: SandboxServer, transport: SftpTransport, demo_session: Session
) -> None:
    """CR LF line ends (R06) would disappear in a rewritten copy: the batch lands failed,
    with the reason, and none of the file's bytes."""
    text = csv_text([SOLD], TRANSACTION_COLUMNS).replace("\n", "\r\n")
    name = "SALES_PR04127_00000001.TRANSACTIONS.1.csv.gz"
    write_batch(inbox(server), "SALES_PR04127_00000001", {name: gz(text)}, {name: 1})

    [outcome] = land_all(demo_session, transport)

    assert outcome.state is FileState.FAILED
    assert outcome.reason is not None
    assert "R06" in outcome.reason
    assert "CR" in outcome.reason
    entry = demo_session.get_one(ExchangeFile, outcome.file_id)
    assert [member.content for member in entry.members] == [b""]


def test_applied_files_are_archived_members_first_and_a_retry_moves_nothing_twice(
    server: SandboxServer, transport: SftpTransport
) -> None:
    manifest = write_sales(inbox(server), 1, [SOLD])
    data = next(inbox(server).glob("*.csv.gz"))
    names = [data.name, manifest.name]

    assert transport.archive(names) == names
    archive = server.home(DEMO_USERNAME) / "archive" / "from_ticketnet"
    assert sorted(path.name for path in archive.iterdir()) == sorted(names)
    assert list(inbox(server).iterdir()) == []
    assert transport.archive(names) == names, "already archived counts as moved"
    assert transport.archive(["SALES_PR04127_00000009.manifest.json"]) == []
