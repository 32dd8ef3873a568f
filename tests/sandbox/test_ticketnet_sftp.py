"""The Ticketnet sandbox over real SFTP (ticketnet-exchange-v1 section 3), and its commands."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paramiko
import pytest

from devtools.cli import main
from devtools.sandboxes.connection import public_host_key
from devtools.sandboxes.sftp import (
    CLIENT_KEY_FILE,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    HomeLayout,
    SandboxServer,
    demo_user,
)
from devtools.sandboxes.ticketnet import TicketnetPartner, ticketnet_server
from reseller_sync.ticketnet.ack import parse_ack
from reseller_sync.ticketnet.check import check_paths
from reseller_sync.ticketnet.names import FileName, FileType, NameKind
from tests.sandbox.ticketnet_offers import catalog, offer, place, seats

REPO = Path(__file__).resolve().parents[2]
NOW = "2026-11-28T14:10:00+01:00"


@contextmanager
def sftp_client(
    server: SandboxServer | tuple[str, int], *, password: str | None = None
) -> Iterator[paramiko.SFTPClient]:
    """The organiser's paramiko SFTP session, the host key checked."""
    host, port = server if isinstance(server, tuple) else (server.host, server.port)
    client = paramiko.SSHClient()
    algorithm, data = public_host_key().split()
    client.get_host_keys().add(
        f"[{host}]:{port}", algorithm, paramiko.Ed25519Key(data=base64.b64decode(data))
    )
    client.connect(
        host,
        port,
        username=DEMO_USERNAME,
        password=password,
        key_filename=None if password else str(CLIENT_KEY_FILE),
        look_for_keys=False,
        allow_agent=False,
        timeout=5,
        banner_timeout=5,
        auth_timeout=5,
    )
    try:
        sftp = client.open_sftp()
        sftp.get_channel().settimeout(5)
        yield sftp
    finally:
        client.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SandboxServer]:
    with ticketnet_server(tmp_path, [demo_user()]) as running:
        yield running


def upload(sftp: paramiko.SFTPClient, name: str, data: bytes) -> None:
    """Section 3 point 3: under ``NAME.tmp``, then renamed."""
    with sftp.open(f"/to_ticketnet/{name}.tmp", "wb") as handle:
        handle.write(data)
    sftp.posix_rename(f"/to_ticketnet/{name}.tmp", f"/to_ticketnet/{name}")


def test_the_organiser_exchanges_batches_over_sftp(server: SandboxServer, tmp_path: Path) -> None:
    partner = TicketnetPartner(server.root, seed=1)
    with sftp_client(server) as sftp:
        assert sorted(sftp.listdir("/")) == ["archive", "from_ticketnet", "to_ticketnet"]
        assert sorted(sftp.listdir("/archive")) == ["from_ticketnet", "to_ticketnet"]
        assert sorted(sftp.listdir("/../..")) == ["archive", "from_ticketnet", "to_ticketnet"]

        # The organiser writes its OFFER batch: data files first, manifest last.
        built = offer(1, {FileType.CATALOG: catalog()})
        for name, data in [*built.files.items(), (built.manifest.name, built.manifest_bytes)]:
            upload(sftp, name, data)
        [answer] = partner.process_offers()
        assert answer.status == "ACCEPTED"
        assert sftp.listdir("/to_ticketnet") == []
        assert sorted(sftp.listdir("/archive/to_ticketnet")) == sorted(
            [*built.files, built.manifest.name]
        )
        ack_name = "OFFER_PR04127_00000001.ack.json"
        with sftp.open(f"/from_ticketnet/{ack_name}") as handle:
            ack = parse_ack(ack_name, handle.read())
        ids = ack.files[0].ids[0]
        allocation = [
            *seats(ids.event_id, ids.performance_id, "1", "ORCH-A", "F", range(1, 9)),
            place(ids.event_id, ids.performance_id, "FO", area="FOSSE", quantity=10),
        ]
        built = offer(2, {FileType.ALLOCATION: allocation})
        for name, data in [*built.files.items(), (built.manifest.name, built.manifest_bytes)]:
            upload(sftp, name, data)
        partner.process_offers()
        partner.emit_sales(5)

        # The organiser reads /from_ticketnet/ and checks what it read with the codec.
        local = tmp_path / "landed"
        local.mkdir()
        names = sorted(sftp.listdir("/from_ticketnet"))
        for name in names:
            with sftp.open(f"/from_ticketnet/{name}") as handle:
                (local / name).write_bytes(handle.read())
        assert check_paths([local]).valid
        # Applied: it moves the batch (data files first, manifest last) and the ACKs.
        moved = sorted(names, key=lambda n: FileName.parse(n).kind is NameKind.MANIFEST)  # type: ignore[union-attr]
        for name in moved:
            sftp.posix_rename(f"/from_ticketnet/{name}", f"/archive/from_ticketnet/{name}")
        assert sftp.listdir("/from_ticketnet") == []
        assert sorted(sftp.listdir("/archive/from_ticketnet")) == names


def test_the_organiser_cannot_change_what_ticketnet_wrote(server: SandboxServer) -> None:
    home = server.home(DEMO_USERNAME)
    (home / "from_ticketnet" / "SALES_PR04127_00000001.manifest.json").write_bytes(b"{}")
    (home / "archive" / "to_ticketnet" / "OFFER_PR04127_00000001.manifest.json").write_bytes(b"{}")
    with sftp_client(server, password=DEMO_PASSWORD) as sftp:
        with sftp.open("/to_ticketnet/mine.tmp", "wb") as handle:
            handle.write(b"x")
        sales = "/from_ticketnet/SALES_PR04127_00000001.manifest.json"
        offer_archive = "/archive/to_ticketnet/OFFER_PR04127_00000001.manifest.json"
        refused = [
            lambda: sftp.open("/from_ticketnet/new.json", "wb"),
            lambda: sftp.open(sales, "ab"),
            lambda: sftp.remove(sales),
            lambda: sftp.chmod(sales, 0o777),
            lambda: sftp.posix_rename("/to_ticketnet/mine.tmp", "/from_ticketnet/mine"),
            lambda: sftp.rename("/from_ticketnet", "/gone"),
            lambda: sftp.mkdir("/from_ticketnet/sub"),
            lambda: sftp.open("/archive/to_ticketnet/x", "wb"),
            lambda: sftp.remove(offer_archive),
            lambda: sftp.posix_rename(offer_archive, "/to_ticketnet/back.json"),
        ]
        for operation in refused:
            with pytest.raises(PermissionError):
                operation()
        assert sftp.open(sales).read() == b"{}"
        assert sftp.open(offer_archive).read() == b"{}"
    assert sorted(os.listdir(home / "from_ticketnet")) == ["SALES_PR04127_00000001.manifest.json"]


@pytest.mark.parametrize("folder", ["", "/abs", "trailing/", "../up", "a/../b"])
def test_a_layout_names_folders_inside_the_home(folder: str) -> None:
    with pytest.raises(ValueError, match="relative to the home"):
        HomeLayout(("inbox",), take_only=(folder,))


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, list[str]]:
    status = main(["ticketnet-sandbox", *arguments])
    return status, capsys.readouterr().out.splitlines()


def test_commands_play_ticketnet_on_the_root_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ("--root", str(tmp_path), "--seed", "3", "--now", NOW)
    inbox = tmp_path / DEMO_USERNAME / "to_ticketnet"
    inbox.mkdir(parents=True)
    offer(1, {FileType.CATALOG: catalog()}).write_to(inbox)

    status, out = run(capsys, "answer", *common)
    assert (status, out) == (
        0,
        ["ACCEPTED OFFER_PR04127_00000001 -> OFFER_PR04127_00000001.ack.json"],
    )
    ack = json.loads(
        (
            tmp_path / DEMO_USERNAME / "from_ticketnet" / "OFFER_PR04127_00000001.ack.json"
        ).read_text()
    )
    ids = ack["files"][0]["ids"][0]
    allocation = seats(ids["event_id"], ids["performance_id"], "1", "ORCH-A", "F", range(1, 9))
    offer(2, {FileType.ALLOCATION: allocation}).write_to(inbox)
    assert run(capsys, "answer", *common)[0] == 0

    for command, expected in (
        (("sell", "--tickets", "3"), "SALES_PR04127_00000001"),
        (("test",), "SALES_PR04127_00000002"),
        (("refund", "--count", "1", "--reason", "OUTLET_ERROR"), "SALES_PR04127_00000003"),
        (("refund-tests",), "SALES_PR04127_00000004"),
        (
            ("pricetypes", "--add", "JEUNE:Jeune", "--deactivate", "SENIOR"),
            "PRICETYPES_PR04127_00000001",
        ),
        (("inventory",), "INVENTORY_PR04127_00000001"),
        (("fault", "withhold-manifest", "--tickets", "1"), "SALES_PR04127_00000005"),
        (("release",), "SALES_PR04127_00000005.manifest.json"),
        (("fault", "currency"), "SALES_PR04127_00000006"),
        (("replace", "SALES_PR04127_00000006"), "SALES_PR04127_00000006"),
        (("fault", "gap", "--stream", "PRICETYPES"), "PRICETYPES_PR04127_00000003"),
    ):
        status, out = run(capsys, command[0], *common, *command[1:])
        assert (status, out[-1]) == (0, expected), (command, out)

    report = check_paths([tmp_path / DEMO_USERNAME / "from_ticketnet"])
    assert {str(p.code) for p in report.problems} == {"R07"}  # the gap, and only it
    status, out = run(capsys, "replace", *common, "SALES_PR04127_00000099")
    assert (status, out) == (1, ["Nothing written: Ticketnet sent no batch SALES_PR04127_00000099"])
    status, out = run(capsys, "status", *common)
    assert status == 0
    assert "Last batch sent: INVENTORY 1, PRICETYPES 3, SALES 6" in out


def test_serve_runs_in_the_foreground_until_terminated(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "devtools", "ticketnet-sandbox", "serve"]
    command += ["--root", str(tmp_path), "--port", "0", "--interval", "0.2"]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)])}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, env=environment, cwd=REPO
    ) as process:
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(4)]
            export = lines[2].strip()
            assert lines[3].startswith("Ticketnet picks up /to_ticketnet/ every 0.2 s")
            assert export.startswith("export AIRFLOW_CONN_TICKETNET_SANDBOX='")
            connection = json.loads(export.split("=", 1)[1].strip("'"))
            built = offer(1, {FileType.CATALOG: catalog()})
            with sftp_client((connection["host"], connection["port"])) as sftp:
                for name, data in [
                    *built.files.items(),
                    (built.manifest.name, built.manifest_bytes),
                ]:
                    upload(sftp, name, data)
                for _ in range(50):
                    if "OFFER_PR04127_00000001.ack.json" in sftp.listdir("/from_ticketnet"):
                        break
                    time.sleep(0.1)
                with sftp.open("/from_ticketnet/OFFER_PR04127_00000001.ack.json") as handle:
                    ack = parse_ack("OFFER_PR04127_00000001.ack.json", handle.read())
            assert ack.status == "ACCEPTED"
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(10) == 0
