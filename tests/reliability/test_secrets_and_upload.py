"""No secret in the repository, the logs or the task parameters; an upload cut by the
network never shows FNAC a partial file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from devtools.sandboxes.fnac import (
    CLIENT_KEY_FILE,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    DropConnection,
    connection_env_var,
    sandbox_connection,
)
from reseller_sync.boxoffice.models import ExchangeFile, FileState
from reseller_sync.config.paths import PROJECT_ROOT
from reseller_sync.domain.errors import ExternalError
from reseller_sync.fnac.names import PARTIAL_SUFFIX, FileName, FileType
from reseller_sync.fnac.outbound import send_file
from reseller_sync.fnac.outbound import transport_for as outbound_transport
from reseller_sync.fnac.sale_sheet import build_sale_sheet
from tests.reliability.conftest import DagWorld, World, task_states
from tests.reliability.implied import assert_box_office_holds

PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
PASSWORD_SETTING = re.compile(
    r"""(?ix) (password|passwd|secret|private_key) ["']? \s* [:=] \s* ["']? [^\s"'#,}]{4,}"""
)
CONFIG_SUFFIXES = (".yaml", ".yml", ".cfg", ".ini", ".toml", ".json", ".env", ".conf")


def tracked_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=PROJECT_ROOT, check=True, capture_output=True
    ).stdout.split(b"\0")
    return [PROJECT_ROOT / os.fsdecode(n) for n in names if n]


def test_no_private_key_and_no_password_in_the_repository() -> None:
    files = [p for p in tracked_files() if p.is_file()]
    assert len(files) > 50
    sandbox = PROJECT_ROOT / "include" / "sandbox"
    keys = [
        str(p.relative_to(PROJECT_ROOT))
        for p in files
        if sandbox not in p.parents and PRIVATE_KEY.search(p.read_bytes().decode("latin-1"))
    ]
    assert keys == [], "private keys outside include/sandbox (the documented demo keys)"
    assert "private" in (sandbox / "README.md").read_text().lower()
    passwords = [
        f"{p.relative_to(PROJECT_ROOT)}: {m.group(0)}"
        for p in files
        if p.suffix in CONFIG_SUFFIXES or p.name.startswith(".env")
        for m in PASSWORD_SETTING.finditer(p.read_text(errors="replace"))
    ]
    assert passwords == [], "passwords in tracked configuration"


@pytest.mark.timeout(120)
def test_the_hourly_run_logs_and_passes_no_secret_of_the_sftp_connection(
    dag_world: DagWorld,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The connection carries a password and a key; the run's logs and XComs show neither."""
    caplog.set_level(logging.DEBUG)
    sandbox = dag_world.base.sandbox
    connection = sandbox_connection(sandbox.host, sandbox.port, password=DEMO_PASSWORD)
    monkeypatch.setenv(connection_env_var("fnac_sftp"), json.dumps(connection))
    names = [dag_world.partner.emit_ventes(lines=4) or "" for _ in range(2)]
    bad = str(FileName.build(FileType.VENTES, "M0427", 3, dag_world.clock.now))
    (dag_world.retour / bad).write_bytes(b"not a file\r\n")  # a failure is logged too

    run = dag_world.run()

    assert task_states(run)["integrate_sales"] == "failed"
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        xcoms = [
            json.dumps(row.value, default=str)
            for row in session.scalars(select(XComModel).where(XComModel.run_id == run.run_id))
        ]
    assert xcoms, "land_files returns its summary"
    logs = Path(os.environ["AIRFLOW_HOME"]) / "logs"
    files = "\n".join(p.read_text(errors="replace") for p in logs.rglob("*") if p.is_file())
    captured = capfd.readouterr()
    text = "\n".join([*xcoms, files, caplog.text, captured.out, captured.err])
    assert "Integrated VENTES" in text, "the logs were captured"
    key_lines = [
        line
        for line in CLIENT_KEY_FILE.read_text().splitlines()
        if line and not line.startswith("-----")
    ]
    assert DEMO_PASSWORD not in text
    assert [line for line in key_lines if line in text] == []
    assert not PRIVATE_KEY.search(text)
    assert_box_office_holds(dag_world.engine, dag_world.files(*names))


def test_an_upload_cut_by_the_network_never_shows_fnac_a_partial_file(world: World) -> None:
    """FICHE upload dropped mid-transfer: FNAC sees no file; the next try delivers it once."""
    created = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=1)
    with world.engine.connect() as connection:
        count = connection.scalar(
            select(ExchangeFile.sequence)
            .where(ExchangeFile.file_type == "FICHE")
            .order_by(ExchangeFile.sequence.desc())
            .limit(1)
        )
    name = str(FileName.build(FileType.FICHE, "M0427", (count or 0) + 1, created))
    world.sandbox.faults.inject(name + PARTIAL_SUFFIX, DropConnection(after_bytes=2_000))
    from sqlalchemy.orm import Session

    with Session(world.engine) as session:
        sheet = build_sale_sheet(session, world.settings, "CMP-LYON-NANTES")
    transport = outbound_transport(world.settings, connect_timeout=5, transfer_timeout=5.0)
    depot = world.sandbox.home(DEMO_USERNAME) / "depot"

    with pytest.raises(ExternalError) as raised:
        send_file(
            world.engine,
            transport,
            world.settings,
            FileType.FICHE,
            sheet.records,
            "CMP-LYON-NANTES",
            created=created,
        )
    assert raised.value.temporary
    assert name not in os.listdir(depot)
    assert world.partner.process_depot() == [], "FNAC ignores a .part file"
    assert world.entry(name).state is FileState.PREPARED

    world.sandbox.faults.clear()
    again = send_file(
        world.engine, transport, world.settings, FileType.FICHE, sheet.records, "CMP-LYON-NANTES"
    )
    assert again.name == name
    answers = world.partner.process_depot()
    assert [(a.file, a.status) for a in answers] == [(name, "OK")]
    assert world.entry(name).state is FileState.SENT
    assert dataclasses.asdict(again)["status"] in ("completed", "already_sent")
    assert_box_office_holds(world.engine, [])
