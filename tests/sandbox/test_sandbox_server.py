"""The sandbox SFTP server, driven by a plain paramiko client."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paramiko
import pytest

from devtools.sandboxes.fnac import (
    CLIENT_KEY_FILE,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    HOST_KEY_FILE,
    SandboxServer,
    SandboxUser,
    Stall,
    public_host_key,
    sandbox_connection,
)

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def sftp_client(
    server: SandboxServer | tuple[str, int],
    *,
    username: str = DEMO_USERNAME,
    password: str | None = None,
    key_file: Path | None = CLIENT_KEY_FILE,
) -> Iterator[paramiko.SFTPClient]:
    """A paramiko SFTP client on the sandbox, checking its host key."""
    host, port = server if isinstance(server, tuple) else (server.host, server.port)
    client = paramiko.SSHClient()
    algorithm, data = public_host_key().split()
    client.get_host_keys().add(
        f"[{host}]:{port}", algorithm, paramiko.Ed25519Key(data=base64.b64decode(data))
    )
    client.connect(
        host,
        port,
        username=username,
        password=password,
        key_filename=str(key_file) if key_file else None,
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


def test_each_user_sees_its_fnac_home_as_root(sandbox: SandboxServer) -> None:
    with sftp_client(sandbox) as sftp:
        assert sorted(sftp.listdir("/")) == ["depot", "retour"]
        assert sftp.listdir("/depot") == ["traites"]
        assert sorted(sftp.listdir("/../../..")) == ["depot", "retour"]
        assert sftp.normalize("/../..") == "/"
    assert (sandbox.root / DEMO_USERNAME / "depot" / "traites").is_dir()


def test_depot_is_writable(sandbox: SandboxServer) -> None:
    with sftp_client(sandbox) as sftp:
        with sftp.open("/depot/x.part", "wb") as handle:
            handle.write(b"abc")
        sftp.posix_rename("/depot/x.part", "/depot/x")
    assert (sandbox.home(DEMO_USERNAME) / "depot" / "x").read_bytes() == b"abc"


def test_retour_is_read_only(sandbox: SandboxServer) -> None:
    retour = sandbox.home(DEMO_USERNAME) / "retour"
    (retour / "VENTES.csv").write_bytes(b"sales")
    (retour / "sub").mkdir()
    with sftp_client(sandbox) as sftp:
        assert sftp.open("/retour/VENTES.csv").read() == b"sales"
        refused = [
            lambda: sftp.open("/retour/new.csv", "wb"),
            lambda: sftp.open("/retour/VENTES.csv", "ab"),
            lambda: sftp.open("/retour/VENTES.csv", "r+"),
            lambda: sftp.remove("/retour/VENTES.csv"),
            lambda: sftp.rename("/retour/VENTES.csv", "/depot/stolen.csv"),
            lambda: sftp.posix_rename("/depot/traites", "/retour/traites"),
            lambda: sftp.rename("/retour", "/gone"),
            lambda: sftp.mkdir("/retour/new"),
            lambda: sftp.rmdir("/retour/sub"),
            lambda: sftp.chmod("/retour/VENTES.csv", 0o777),
            lambda: sftp.chmod("/retour", 0o777),
            lambda: sftp.symlink("/depot", "/retour/link"),
        ]
        for operation in refused:
            with pytest.raises(PermissionError):
                operation()
    assert sorted(os.listdir(retour)) == ["VENTES.csv", "sub"]
    assert (retour / "VENTES.csv").read_bytes() == b"sales"


def test_password_and_key_logins_are_both_accepted(sandbox: SandboxServer) -> None:
    with sftp_client(sandbox, key_file=None, password=DEMO_PASSWORD) as sftp:
        assert "depot" in sftp.listdir("/")
    with sftp_client(sandbox) as sftp:
        assert "depot" in sftp.listdir("/")


@pytest.mark.parametrize(
    ("username", "password"), [(DEMO_USERNAME, "wrong"), ("stranger", DEMO_PASSWORD)]
)
def test_bad_credentials_are_refused(sandbox: SandboxServer, username: str, password: str) -> None:
    with (
        pytest.raises(paramiko.AuthenticationException),
        sftp_client(sandbox, username=username, password=password, key_file=None),
    ):
        pass


def test_users_are_configurable_and_jailed_apart(tmp_path: Path) -> None:
    users = [SandboxUser("alice", password="a-secret"), SandboxUser("bob", password="b-secret")]
    with SandboxServer(tmp_path, users) as server:
        (server.home("bob") / "retour" / "for-bob.csv").write_bytes(b"b")
        with sftp_client(server, username="alice", password="a-secret", key_file=None) as sftp:
            assert sftp.listdir("/retour") == []
        with (
            pytest.raises(paramiko.AuthenticationException),
            sftp_client(server, username="alice", key_file=CLIENT_KEY_FILE),
        ):
            pass


def test_stop_releases_stalled_transfers_and_frees_the_port(sandbox: SandboxServer) -> None:
    (sandbox.home(DEMO_USERNAME) / "retour" / "big.csv").write_bytes(b"x" * 100_000)
    sandbox.faults.inject("big.csv", Stall(after_bytes=0, seconds=60))
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            with sftp_client(sandbox) as sftp:
                sftp.get_channel().settimeout(30)
                sftp.open("/retour/big.csv").read()
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.5)
    started = time.monotonic()
    sandbox.stop()
    reader.join(10)

    assert time.monotonic() - started < 5
    assert not reader.is_alive()
    assert outcome
    with pytest.raises(paramiko.ssh_exception.NoValidConnectionsError), sftp_client(sandbox):
        pass


def test_the_connection_helper_builds_a_hook_ready_connection(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    connection = sandbox_connection(sandbox.host, sandbox.port)
    monkeypatch.setenv("AIRFLOW_CONN_SANDBOX_HELPER", json.dumps(connection))

    hook = SFTPHook(ssh_conn_id="sandbox_helper", conn_retry_attempts=1)

    assert hook.host_key is not None
    assert hook.no_host_key_check is False
    assert Path(connection["extra"]["key_file"]).is_absolute()
    with hook.get_managed_conn() as sftp:
        assert sorted(sftp.listdir("/")) == ["depot", "retour"]


def test_the_committed_keys_are_the_documented_demo_keys() -> None:
    readme = (HOST_KEY_FILE.parent / "README.md").read_text(encoding="utf-8")
    assert "demo" in readme.lower()
    assert public_host_key().startswith("ssh-ed25519 ")
    assert paramiko.Ed25519Key.from_private_key_file(str(CLIENT_KEY_FILE)).get_name() == (
        "ssh-ed25519"
    )


def test_serve_runs_in_the_foreground_until_terminated(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "devtools", "fnac-sandbox", "serve"]
    command += ["--root", str(tmp_path), "--port", "0"]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)])}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, env=environment, cwd=REPO
    ) as process:
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(3)]
            export = lines[2].strip()
            assert export.startswith("export AIRFLOW_CONN_FNAC_SANDBOX='")
            connection = json.loads(export.split("=", 1)[1].strip("'"))
            assert connection["port"] > 0
            with sftp_client((connection["host"], connection["port"])) as sftp:
                assert sorted(sftp.listdir("/")) == ["depot", "retour"]
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(10) == 0


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden"])
def test_user_names_must_be_plain(name: str) -> None:
    with pytest.raises(ValueError, match="plain user name"):
        SandboxUser(name, password="x")
