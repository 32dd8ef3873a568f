"""``python -m devtools secutix-sandbox ...``: the SecuTix reseller played from the command
line, and served over SFTP in the foreground (secutix-reseller-v1)."""

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
from devtools.sandboxes.sftp import DEMO_USERNAME
from reseller_sync.secutix.check import check_paths
from reseller_sync.secutix.names import FileType
from reseller_sync.secutix.writer import build_file
from tests.sandbox.test_secutix_sandbox import (
    catalogue,
    fetch,
    full_contingent,
    organiser,
    send,
)

REPO = Path(__file__).resolve().parents[2]
NOW = "2026-12-05T14:15:00+01:00"


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, list[str]]:
    status = main(["secutix-sandbox", *arguments])
    return status, capsys.readouterr().out.splitlines()


def test_commands_play_the_reseller_on_the_root_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inbox = tmp_path / DEMO_USERNAME / "to_reseller"
    inbox.mkdir(parents=True)
    build_file(FileType.OFFER, 1, catalogue()).write_to(inbox)
    build_file(FileType.CONTINGENT, 2, full_contingent()).write_to(inbox)
    common = ("--root", str(tmp_path), "--seed", "5", "--now", NOW)

    assert run(capsys, "pickup", *common) == (
        0,
        [
            "OK OFFER_00000001.csv -> RESULT_00000001.csv",
            "OK CONTINGENT_00000002.csv -> RESULT_00000002.csv",
        ],
    )
    assert run(capsys, "pickup", *common) == (0, ["No organiser file ready in /to_reseller/"])
    for command, expected in (
        (("tick", "--orders", "3", "--prints", "1"), "TICKETS_00000001.csv"),
        (("tickets",), "TICKETS_00000002.csv"),
        (("tick", "--fault", "price"), "TICKETS_00000003.csv"),
        (("replace", "TICKETS_00000003.csv"), "TICKETS_00000003.csv"),
        (("fault", "withhold-control"), "TICKETS_00000004.csv"),
        (("release",), "TICKETS_00000004.ctl"),
        (("tick", "--cancellations", "1", "--refunds", "1"), "TICKETS_00000005.csv"),
        (("stock",), "STOCK_20261205.csv"),
        (("fault", "result-unknown-file"), "RESULT_00001002.csv"),
    ):
        status, out = run(capsys, command[0], *common, *command[1:])
        assert (status, out[-1]) == (0, expected), (command, out)

    assert check_paths([tmp_path / DEMO_USERNAME / "to_organiser"]).valid
    status, out = run(capsys, "stock", *common)
    assert (status, out) == (
        1,
        ["Nothing written: STOCK_20261205.csv is written already: a name is never reused"],
    )
    status, out = run(capsys, "fault", "technical-error", *common)
    assert (status, out) == (
        1,
        ["Nothing written: no organiser file waits in /to_reseller/ to answer"],
    )
    status, out = run(capsys, "status", *common)
    assert status == 0
    assert any(line.startswith("TOSCA27 TOSCA27-0314 CAT1: 10 given, ") for line in out)
    assert out[-2:] == [
        "Last TICKETS file: 5 (0 tickets changed since)",
        "Last organiser file processed: 2",
    ]


def test_serve_answers_and_ticks_until_terminated(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "devtools", "secutix-sandbox", "serve", "--root"]
    command += [str(tmp_path), "--port", "0", "--interval", "0.2", "--tickets-every", "0.5"]
    command += ["--no-stock", "--seed", "2"]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)])}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, env=environment, cwd=REPO
    ) as process:
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(4)]
            assert lines[3].startswith("The SecuTix reseller picks up /to_reseller/ every 0.2 s")
            export = lines[2].strip()
            assert export.startswith("export AIRFLOW_CONN_SECUTIX_SANDBOX='")
            connection = json.loads(export.split("=", 1)[1].strip("'"))
            with organiser((connection["host"], connection["port"])) as sftp:
                send(sftp, FileType.OFFER, 1, catalogue())
                send(sftp, FileType.CONTINGENT, 2, full_contingent())
                wanted = {"RESULT_00000002.ctl", "TICKETS_00000002.ctl"}
                for _ in range(100):
                    if wanted <= set(sftp.listdir("/to_organiser")):
                        break
                    time.sleep(0.1)
                landed = fetch(sftp, tmp_path / "landed", "/to_organiser", "/to_reseller/done")
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(10) == 0
    assert {"RESULT_00000001.csv", "RESULT_00000002.csv", "TICKETS_00000001.csv"} <= {
        p.name for p in landed.iterdir()
    }
    report = check_paths([landed])
    assert report.valid, [p.located() for p in report.problems]
