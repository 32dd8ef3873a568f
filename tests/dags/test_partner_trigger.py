"""The trigger that waits for FNAC's answer, run against the real sandbox SFTP server.

FNAC's side writes straight to the sandbox's disk; the trigger looks through
the Airflow connection (``SFTPHookAsync``, host key checked), as it does in
the triggerer. Each test runs the trigger until its first event.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from devtools.sandboxes.fnac import (
    SandboxServer,
    connection_env_var,
    sandbox_connection,
    sandbox_connection_json,
)
from devtools.sandboxes.fnac.server import DEMO_USERNAME
from reseller_sync.airflow.failures import RETRY_POLICY
from reseller_sync.airflow.onboarding_dag import build_onboarding_dag
from reseller_sync.airflow.triggers import PartnerFileTrigger
from reseller_sync.core.resellers import reseller_type
from reseller_sync.domain.errors import ConfigurationError, ExternalError
from reseller_sync.domain.texts import render_text
from reseller_sync.exchange.watch import Wanted, WatchOutcome, WatchStatus

FICHE = "FICHE_M0427_000001_20261128120000.csv"
ACK = f"ACK_{FICHE}"


def trigger_for(conn_id: str, *, seconds: float = 30, **wanted: Any) -> PartnerFileTrigger:
    return PartnerFileTrigger.waiting_for(
        Wanted(**(wanted or {"names": (ACK,)})),
        conn_id=conn_id,
        folder="/retour/",
        deadline=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds),
        poll_seconds=0.2,
    )


def first_event(trigger: PartnerFileTrigger) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        event = await anext(trigger.run())
        return dict(event.payload)

    return asyncio.run(run())


def fnac_drops(retour: Path, name: str, after: float) -> threading.Timer:
    """FNAC writes ``name`` in /retour/ ``after`` seconds from now: ``.part``, then rename."""

    def drop() -> None:
        part = retour / f"{name}.part"
        part.write_bytes(b"ACK;M0427;000001\n")
        part.rename(retour / name)

    timer = threading.Timer(after, drop)
    timer.start()
    return timer


@pytest.fixture
def retour(sandbox: SandboxServer) -> Path:
    return sandbox.home(DEMO_USERNAME) / "retour"


def test_the_ack_arriving_after_a_while_fires_the_event(sandbox_conn_id: str, retour: Path) -> None:
    (retour / f"ACK_{FICHE.replace('000001', '000002')}").write_bytes(b"another file's ACK")
    fnac_drops(retour, ACK, after=1.0)

    event = first_event(trigger_for(sandbox_conn_id))

    assert event["status"] == "found"
    assert event["found"] == [ACK]
    assert event["looks"] >= 3, "it looked a few times before the ACK came"
    assert event["failed_looks"] == 0


def test_a_test_file_above_the_last_sequence_landed_fires_the_event(
    sandbox_conn_id: str, retour: Path
) -> None:
    (retour / "TEST_M0427_000001_20261128110000.csv").write_bytes(b"landed already")
    fnac_drops(retour, "TEST_M0427_000002_20261128121500.csv", after=0.6)

    event = first_event(
        trigger_for(sandbox_conn_id, file_type="TEST", after_seq=1, reseller="fnac")
    )

    assert (event["status"], event["found"]) == (
        "found",
        ["TEST_M0427_000002_20261128121500.csv"],
    )


@pytest.fixture
def restarted(sandbox: SandboxServer) -> Iterator[list[SandboxServer]]:
    """Servers started again on the sandbox's port and root; stopped at the end."""
    servers: list[SandboxServer] = []
    yield servers
    for server in servers:
        server.stop()


def test_a_server_down_for_a_while_is_waited_through_then_the_ack_fires_the_event(
    sandbox: SandboxServer,
    sandbox_conn_id: str,
    retour: Path,
    restarted: list[SandboxServer],
) -> None:
    sandbox.stop()
    (retour / ACK).write_bytes(b"answered while the server was down")

    def back_up() -> None:
        server = SandboxServer(sandbox.root, sandbox.users.values(), port=sandbox.port)
        server.start()
        restarted.append(server)

    threading.Timer(1.5, back_up).start()

    event = first_event(trigger_for(sandbox_conn_id))

    assert event["status"] == "found"
    assert event["found"] == [ACK]
    assert event["failed_looks"] >= 2
    assert event["looks"] == event["failed_looks"] + 1
    assert "cannot reach the server" in event["last_failure"]


def test_no_ack_by_the_deadline_fails_the_step_as_external_saying_to_call_fnac(
    sandbox_conn_id: str, retour: Path
) -> None:
    (retour / "VENTES_M0427_000001_20261128110000.csv").write_bytes(b"not an answer")

    event = first_event(trigger_for(sandbox_conn_id, seconds=1.0))

    assert event["status"] == "timeout"
    assert event["found"] == []
    assert event["looks"] >= 3
    task = build_onboarding_dag(reseller_type("fnac"), "EVT-LUMEN").get_task("send_sale_sheet")
    with pytest.raises(ExternalError) as failed:
        task.execute_complete(context={}, event=event)
    error = failed.value
    assert not error.temporary, "a timeout is not retried: a person calls FNAC"
    assert RETRY_POLICY.evaluate(error, try_number=1, max_tries=5).action.value == "fail"
    assert error.file == FICHE
    assert f"FNAC sent no ACK of {FICHE} by " in error.message
    assert error.action.startswith(f"Call FNAC with the file name {FICHE}")


def test_a_host_key_that_does_not_match_ends_the_wait_at_once(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, retour: Path
) -> None:
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    monkeypatch.setenv(
        connection_env_var("fnac_impostor"),
        sandbox_connection_json(sandbox.host, sandbox.port, host_key=impostor),
    )
    (retour / ACK).write_bytes(b"there, but never to be read through an untrusted server")

    event = first_event(trigger_for("fnac_impostor"))

    assert (event["status"], event["looks"]) == ("failed", 1)
    with pytest.raises(ExternalError, match="host key the connection does not trust") as failed:
        WatchOutcome.from_payload(event).raise_for_failure()
    assert failed.value.action is not None
    assert "Ask FNAC by phone" in render_text(failed.value.action, "en", "FNAC")
    assert not failed.value.temporary


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"no_host_key_check": True}, "disables host key verification"),
        (None, "is not defined"),
    ],
)
def test_a_connection_that_cannot_be_trusted_or_is_missing_ends_the_wait_at_once(
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    extra: dict[str, Any] | None,
    reason: str,
) -> None:
    if extra is not None:
        connection = sandbox_connection(sandbox.host, sandbox.port)
        connection["extra"] = {k: v for k, v in connection["extra"].items() if k != "host_key"}
        connection["extra"].update(extra)
        monkeypatch.setenv(connection_env_var("fnac_unchecked"), json.dumps(connection))

    event = first_event(trigger_for("fnac_unchecked"))

    assert event["status"] == "failed"
    with pytest.raises(ConfigurationError, match=reason):
        WatchOutcome.from_payload(event).raise_for_failure()


def test_the_trigger_is_rebuilt_from_its_classpath_and_kwargs_without_secrets(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    from airflow.sdk._shared.module_loading import import_string
    from airflow.sdk.serde import deserialize, serialize
    from airflow.serialization.serialized_objects import BaseSerialization

    trigger = trigger_for(sandbox_conn_id, file_type="TEST", after_seq=7, reseller="fnac")
    classpath, kwargs = trigger.serialize()

    assert classpath == "reseller_sync.airflow.triggers.PartnerFileTrigger"
    assert kwargs == {
        "conn_id": sandbox_conn_id,
        "folder": "/retour/",
        "deadline": trigger.deadline.isoformat(),
        "poll_seconds": 0.2,
        "names": [],
        "file_type": "TEST",
        "after_seq": 7,
        "reseller": "fnac",
    }
    rebuilt = import_string(classpath)(**json.loads(json.dumps(kwargs)))
    assert rebuilt.serialize() == (classpath, kwargs)
    assert rebuilt.wanted == Wanted(file_type="TEST", after_seq=7, reseller="fnac")
    # As dag.test() and the triggerer store and read them.
    assert deserialize(serialize(kwargs)) == kwargs
    assert BaseSerialization.deserialize(BaseSerialization.serialize(kwargs)) == kwargs
    secrets = sandbox_connection(sandbox.host, sandbox.port, password="sandbox-demo")["extra"]
    shown = json.dumps(kwargs)
    assert "sandbox-demo" not in shown
    assert secrets["key_file"] not in shown


def test_a_deadline_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        PartnerFileTrigger(conn_id="fnac_sftp", folder="/retour/", deadline="2026-11-28T12:00")


def test_a_watch_outcome_the_trigger_yields_reads_back(sandbox_conn_id: str, retour: Path) -> None:
    (retour / ACK).write_bytes(b"there already")

    outcome = WatchOutcome.from_payload(first_event(trigger_for(sandbox_conn_id)))

    assert outcome.status is WatchStatus.FOUND
    assert outcome.looks == 1
    assert outcome.wanted == Wanted(names=(ACK,))


def test_a_test_file_wait_deferred_before_the_reseller_was_recorded_is_refused() -> None:
    """A wait serialized by an earlier version has no ``reseller``: the triggerer cannot
    rebuild it, and says why (docs/configuration.md, upgrading)."""
    earlier = {
        "conn_id": "fnac_sftp",
        "folder": "/retour/",
        "deadline": "2026-11-28T12:00:00+00:00",
        "poll_seconds": 60.0,
        "names": [],
        "file_type": "TEST",
        "after_seq": 3,
    }
    with pytest.raises(ValueError, match="say whose files"):
        PartnerFileTrigger(**earlier)
