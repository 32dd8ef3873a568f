"""``python -m devtools fnac-sandbox ...``: FNAC played from the command line and by the server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devtools.cli import main
from devtools.sandboxes.fnac import DEMO_USERNAME, FnacPartner, PartnerLoop
from reseller_sync.fnac.codec import FileType, read_file
from tests.sandbox.conftest import lumen_fiche, lumen_places, organiser_file, sftp_session

REPO = Path(__file__).resolve().parents[2]
NOW = "2026-11-28T14:05:00+01:00"


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, list[str]]:
    status = main(["fnac-sandbox", *arguments])
    return status, capsys.readouterr().out.splitlines()


def drop(root: Path, file_type: FileType, seq: int, records: list[dict]) -> str:
    name, data = organiser_file(file_type, seq, records)
    depot = root / DEMO_USERNAME / "depot"
    depot.mkdir(parents=True, exist_ok=True)
    (depot / name).write_bytes(data)
    return name


def test_commands_play_fnac_on_the_root_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fiche = drop(tmp_path, FileType.FICHE, 1, lumen_fiche())
    drop(tmp_path, FileType.PLACES, 1, lumen_places())
    common = ("--root", str(tmp_path), "--seed", "5", "--now", NOW)

    status, out = run(capsys, "process", *common)
    assert status == 0
    assert out[0] == f"OK {fiche} -> ACK_{fiche}"

    written = {}
    for command in (
        ("ventes", "--lines", "4"),
        ("ventes", "--fault", "gap"),
        ("test", "--manifestation", "004512"),
        ("annul", "--count", "2"),
        ("catcli", "--add", "31:Carte Fnac+ Jeunes"),
        ("etatpl",),
    ):
        status, out = run(capsys, "emit", command[0], *common, *command[1:])
        assert status == 0, out
        written[" ".join(command)] = out[-1]

    retour = tmp_path / DEMO_USERNAME / "retour"
    for name in written.values():
        read_file(name, (retour / name).read_bytes())
    assert written["ventes --lines 4"] == "VENTES_M0427_000001_20261128130502.csv"
    assert written["ventes --fault gap"].startswith("VENTES_M0427_000003_")
    catcli_name = written["catcli --add 31:Carte Fnac+ Jeunes"]
    catcli = read_file(catcli_name, (retour / catcli_name).read_bytes()).frame
    assert catcli["categorie_client"].tolist() == ["0", "15", "20", "22", "31"]

    status, out = run(capsys, "status", "--root", str(tmp_path))
    assert status == 0
    assert out[0].startswith("004512 EVT-LUMEN")
    assert "VENTES 000003" in out[2]


def test_emit_commands_say_why_nothing_was_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = run(capsys, "emit", "test", "--root", str(tmp_path), "--manifestation", "004512")
    assert status == 1
    assert out == ["Nothing written: manifestation 004512 is not set up: send its FICHE first"]

    status, out = run(capsys, "emit", "ventes", "--root", str(tmp_path), "--fault", "skip")
    assert (status, out) == (0, ["Nothing written (fault skip)"])

    with pytest.raises(SystemExit):
        main(["fnac-sandbox", "emit", "annul", "--root", str(tmp_path), "--fault", "price"])


def test_withdraw_makes_fnac_refuse_the_sale_sheet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drop(tmp_path, FileType.FICHE, 1, lumen_fiche())
    run(capsys, "process", "--root", str(tmp_path))

    status, _ = run(capsys, "withdraw", "--root", str(tmp_path), "--manifestation", "004512")
    drop(tmp_path, FileType.FICHE, 2, lumen_fiche())
    _, out = run(capsys, "process", "--root", str(tmp_path))

    assert status == 0
    assert out[0].startswith("KO FICHE_M0427_000002_")
    assert " E09 " in out[1]


def test_serve_answers_the_depot_in_the_background(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "devtools", "fnac-sandbox", "serve", "--root", str(tmp_path)]
    command += ["--port", "0", "--interval", "0.2", "--auto-test", "--seed", "3"]
    command += ["--test-fault", "missing-ticket"]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)])}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, env=environment, cwd=REPO
    ) as process:
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(4)]
            connection = json.loads(lines[2].split("=", 1)[1].strip().strip("'"))
            assert lines[3].startswith("FNAC picks up /depot/ every 0.2 s")
            with sftp_session((connection["host"], connection["port"])) as sftp:
                for file_type, records in (
                    (FileType.FICHE, lumen_fiche()),
                    (FileType.PLACES, lumen_places()),
                ):
                    name, data = organiser_file(file_type, 1, records)
                    with sftp.open(f"/depot/{name}.part", "wb") as handle:
                        handle.write(data)
                    sftp.posix_rename(f"/depot/{name}.part", f"/depot/{name}")
                deadline = time.monotonic() + 20
                names: list[str] = []
                while time.monotonic() < deadline and len(names) < 3:
                    names = sorted(sftp.listdir("/retour"))
                    time.sleep(0.1)
                with sftp.open(f"/retour/{names[-1]}", "rb") as handle:
                    test = read_file(names[-1], handle.read()).frame
            assert [name.split("_")[0:2] for name in names] == [
                ["ACK", "FICHE"],
                ["ACK", "PLACES"],
                ["TEST", "M0427"],
            ]
            pairs = set(zip(test["type_tarif"], test["categorie_client"], strict=True))
            assert len(pairs) == len(test) == 3 * 4 - 1, "--test-fault missing-ticket"
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(10) == 0


def test_the_loop_sends_hourly_ventes_sped_up(tmp_path: Path) -> None:
    drop(tmp_path, FileType.FICHE, 1, lumen_fiche())
    drop(tmp_path, FileType.PLACES, 1, lumen_places())
    partner = FnacPartner(tmp_path, seed=1)
    loop = PartnerLoop(partner, interval=0.05, ventes_every=0.2)

    loop.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(list(partner.retour.glob("VENTES_*"))) < 2:
            time.sleep(0.05)
    finally:
        loop.stop()

    assert len(list(partner.retour.glob("ACK_*"))) == 2
    assert len(list(partner.retour.glob("VENTES_*"))) >= 2
    assert not list(partner.retour.glob("TEST_*"))
