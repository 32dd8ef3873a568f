"""The SFTP transport against the sandbox server, over real SFTP."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from devtools.sandboxes.fnac import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    DropConnection,
    SandboxServer,
    Stall,
    connection_env_var,
    sandbox_connection,
    sandbox_connection_json,
)
from reseller_sync.domain.errors import (
    ConfigurationError,
    ExternalError,
    SyncError,
    TechnicalError,
)
from reseller_sync.domain.texts import render_text
from reseller_sync.exchange.transport import (
    FetchResult,
    KnownFiles,
    SftpTransport,
    TransportSettings,
)
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.naming import NAMING

VENTES_1 = "VENTES_M0427_000001_20261128120503.csv"
VENTES_2 = "VENTES_M0427_000002_20261128130503.csv"
ANNUL_1 = "ANNUL_M0427_000001_20261128131000.csv"
PLACES_7 = "PLACES_M0427_000007_20261128130003.csv"
FAST = TransportSettings(
    incoming_folder="/retour/",
    outgoing_folder="/depot/",
    processed_folder="/depot/traites/",
    transfer_timeout=5.0,
    connect_timeout=5,
)


def transport(conn_id: str, **settings: Any) -> SftpTransport:
    return SftpTransport(conn_id, TransportSettings(**{**FAST.__dict__, **settings}), naming=NAMING)


def retour(sandbox: SandboxServer) -> Path:
    return sandbox.home(DEMO_USERNAME) / "retour"


def depot(sandbox: SandboxServer) -> Path:
    return sandbox.home(DEMO_USERNAME) / "depot"


def drop(sandbox: SandboxServer, name: str, data: bytes) -> None:
    """FNAC drops a file in /retour/ (straight on disk, as its own side would)."""
    (retour(sandbox) / name).write_bytes(data)


def use_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, value: str) -> str:
    monkeypatch.setenv(connection_env_var(conn_id), value)
    return conn_id


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Download ------------------------------------------------------------------


def test_fetch_new_returns_whole_files_with_checksum_and_parsed_name(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    big = os.urandom(300_000)
    drop(sandbox, VENTES_1, big)
    drop(sandbox, ANNUL_1, b"annul\r\n")

    result = transport(sandbox_conn_id).fetch_new(KnownFiles())

    assert [file.name for file in result.landed] == [ANNUL_1, VENTES_1]
    ventes = result.landed[1]
    assert ventes.data == big
    assert ventes.size == len(big)
    assert ventes.sha256 == hashlib.sha256(big).hexdigest()
    assert (ventes.parsed.type, ventes.parsed.manager, ventes.parsed.seq) == (
        FileType.VENTES,
        "M0427",
        1,
    )
    assert ventes.parsed.stamp.isoformat() == "2026-11-28T12:05:03+00:00"
    assert ventes.duplicate_of is None
    assert result.refused == ()
    result.raise_for_refused()


def test_already_landed_names_are_not_downloaded_again(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    drop(sandbox, VENTES_1, b"one\r\n")
    drop(sandbox, VENTES_2, b"two\r\n")
    known = KnownFiles()
    first = transport(sandbox_conn_id).fetch_new(known)
    for file in first.landed[:1]:
        known.add(file.name, file.sha256)

    second = transport(sandbox_conn_id).fetch_new(known)

    assert second.already_landed == (VENTES_1,)
    assert [file.name for file in second.landed] == [VENTES_2]


def test_same_bytes_under_another_name_are_flagged_not_dropped(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    drop(sandbox, VENTES_1, b"same content\r\n")
    drop(sandbox, VENTES_2, b"same content\r\n")
    drop(sandbox, ANNUL_1, b"landed earlier\r\n")
    known = KnownFiles()
    known.add(
        "ANNUL_M0427_000009_20261101000000.csv", hashlib.sha256(b"landed earlier\r\n").hexdigest()
    )

    result = transport(sandbox_conn_id).fetch_new(known)

    by_name = {file.name: file for file in result.landed}
    assert by_name[ANNUL_1].duplicate_of == "ANNUL_M0427_000009_20261101000000.csv"
    assert by_name[VENTES_1].duplicate_of is None
    assert by_name[VENTES_2].duplicate_of == VENTES_1
    assert by_name[VENTES_2].data == b"same content\r\n"


def test_part_files_and_foreign_names_are_never_listed_as_files(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    drop(sandbox, VENTES_1 + ".part", b"half a fi")
    drop(sandbox, "README.txt", b"hello")
    drop(sandbox, "VENTES_M0427_000003_20261399000000.csv", b"no 13th month")
    (retour(sandbox) / VENTES_2).mkdir()

    listing = transport(sandbox_conn_id).list_incoming()
    result = transport(sandbox_conn_id).fetch_new(KnownFiles())

    assert listing.files == ()
    assert listing.in_progress == (VENTES_1 + ".part",)
    assert set(listing.ignored) == {
        "README.txt",
        "VENTES_M0427_000003_20261399000000.csv",
        VENTES_2,
    }
    assert result.landed == ()
    assert result.refused == ()


def test_ack_names_are_parsed_with_the_answered_file(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    drop(sandbox, "ACK_" + PLACES_7, b"ack\r\n")

    (ack,) = transport(sandbox_conn_id).fetch_new(KnownFiles()).landed

    assert ack.parsed.type is FileType.ACK
    assert str(ack.parsed.answered) == PLACES_7
    assert ack.parsed.seq == 7


def test_max_files_bounds_a_batch(sandbox: SandboxServer, sandbox_conn_id: str) -> None:
    drop(sandbox, VENTES_1, b"one\r\n")
    drop(sandbox, VENTES_2, b"two\r\n")

    result = transport(sandbox_conn_id).fetch_new(KnownFiles(), max_files=1)

    assert [file.name for file in result.landed] == [VENTES_1]
    assert result.remaining == 1


# Hostile names and sizes -----------------------------------------------------


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param("VENTES_M0427_000001_20261128120503\x1b[2J.csv", id="control-character"),
        pytest.param("VENTES_M0427_000001_\n20261128120503.csv", id="newline"),
        pytest.param("..VENTES_M0427_000001_20261128120503.csv", id="dot-dot"),
        pytest.param("VENTES_M0427_000001_20261128120503.csv\u202egpj", id="bidi-override"),
        pytest.param("back\\slash.csv", id="backslash"),
        pytest.param("V" * 200 + ".csv", id="very-long"),
    ],
)
def test_a_hostile_name_is_refused_by_name_and_not_downloaded(
    sandbox: SandboxServer, sandbox_conn_id: str, hostile: str
) -> None:
    drop(sandbox, hostile, b"evil")
    drop(sandbox, VENTES_2, b"good\r\n")

    result = transport(sandbox_conn_id).fetch_new(KnownFiles())

    assert [file.name for file in result.landed] == [VENTES_2]
    (problem,) = result.refused
    assert "unsafe file name" in problem.reason
    assert problem.file is not None
    assert problem.file.isprintable()
    with pytest.raises(ExternalError) as caught:
        result.raise_for_refused()
    assert caught.value.temporary is False
    assert problem.file in str(caught.value)


def test_a_name_that_is_not_utf8_stops_the_listing_permanently(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    (retour(sandbox) / os.fsdecode(b"VENTES_\xff.csv")).write_bytes(b"x")

    with pytest.raises(ExternalError, match="not valid UTF-8") as caught:
        transport(sandbox_conn_id).fetch_new(KnownFiles())

    assert caught.value.temporary is False


def test_a_file_over_the_size_limit_is_refused_from_the_listing(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    drop(sandbox, VENTES_1, b"x" * 2_000)
    drop(sandbox, VENTES_2, b"y" * 1_000)

    result = transport(sandbox_conn_id, max_file_size=1_000).fetch_new(KnownFiles())

    assert [file.name for file in result.landed] == [VENTES_2]
    (problem,) = result.refused
    assert problem.file == VENTES_1
    assert "2000 bytes, limit 1000" in problem.reason


class GrowingFiles(KnownFiles):
    """An index that, when asked, changes a file between listing and download."""

    def __init__(self, path: Path, new_content: bytes) -> None:
        super().__init__()
        self.path = path
        self.new_content = new_content

    def is_landed(self, name: str) -> bool:
        if name == self.path.name:
            self.path.write_bytes(self.new_content)
        return super().is_landed(name)


def test_the_size_limit_is_also_checked_while_reading(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    drop(sandbox, VENTES_1, b"small")
    grows = GrowingFiles(retour(sandbox) / VENTES_1, b"z" * 5_000_000)

    result = transport(sandbox_conn_id, max_file_size=1_000_000).fetch_new(grows)

    assert result.landed == ()
    (problem,) = result.refused
    assert problem.file == VENTES_1
    assert "too large" in problem.reason


def test_a_file_that_changes_during_download_is_a_temporary_error(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    drop(sandbox, VENTES_1, b"a longer first version\r\n")
    shrinks = GrowingFiles(retour(sandbox) / VENTES_1, b"short\r\n")

    with pytest.raises(ExternalError, match="changed while it was downloaded") as caught:
        transport(sandbox_conn_id).fetch_new(shrinks)

    assert caught.value.temporary is True


# Connection drops and stalls ---------------------------------------------------


def test_a_connection_dropped_mid_download_lands_nothing(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    drop(sandbox, ANNUL_1, b"complete and first\r\n")
    drop(sandbox, VENTES_1, os.urandom(400_000))
    sandbox.faults.inject(VENTES_1, DropConnection(after_bytes=100_000))
    result: FetchResult | None = None

    with pytest.raises(ExternalError) as caught:
        result = transport(sandbox_conn_id).fetch_new(KnownFiles())

    assert result is None
    assert caught.value.temporary is True
    assert "lost" in str(caught.value)

    sandbox.faults.clear()
    again = transport(sandbox_conn_id).fetch_new(KnownFiles())
    assert [file.size for file in again.landed] == [20, 400_000]


def test_a_stalled_transfer_fails_as_temporary_within_the_timeout(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    drop(sandbox, VENTES_1, os.urandom(200_000))
    sandbox.faults.inject(VENTES_1, Stall(after_bytes=50_000, seconds=30))
    started = time.monotonic()

    with pytest.raises(ExternalError, match="stopped answering") as caught:
        transport(sandbox_conn_id, transfer_timeout=0.5).fetch_new(KnownFiles())

    assert caught.value.temporary is True
    assert time.monotonic() - started < 10


# Upload ----------------------------------------------------------------------


def test_upload_delivers_the_bytes_under_the_final_name(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    content = os.urandom(150_000)

    sent = transport(sandbox_conn_id).upload(PLACES_7, content)

    assert (depot(sandbox) / PLACES_7).read_bytes() == content
    assert sorted(os.listdir(depot(sandbox))) == [PLACES_7, "traites"]
    assert (sent.name, sent.size, sent.already_present) == (PLACES_7, len(content), False)
    assert sent.sha256 == hashlib.sha256(content).hexdigest()


def test_during_an_upload_only_the_part_file_exists(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    seen: list[set[str]] = []

    def look(done: int, total: int) -> None:
        seen.append(set(os.listdir(depot(sandbox))))

    transport(sandbox_conn_id).upload(PLACES_7, os.urandom(200_000), progress=look)

    assert seen
    assert all(PLACES_7 not in names and PLACES_7 + ".part" in names for names in seen)
    assert PLACES_7 + ".part" not in os.listdir(depot(sandbox))


def test_an_upload_cut_by_the_network_never_shows_the_final_name(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    sandbox.faults.inject(PLACES_7 + ".part", DropConnection(after_bytes=50_000))

    with pytest.raises(ExternalError) as caught:
        transport(sandbox_conn_id).upload(PLACES_7, os.urandom(200_000))

    assert caught.value.temporary is True
    assert PLACES_7 not in os.listdir(depot(sandbox))


def test_an_upload_failing_locally_cleans_up_its_part_file(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    def fail(done: int, total: int) -> None:
        raise RuntimeError("local bug")

    with pytest.raises(TechnicalError):
        transport(sandbox_conn_id).upload(PLACES_7, os.urandom(100_000), progress=fail)

    assert sorted(os.listdir(depot(sandbox))) == ["traites"]


def test_uploading_a_delivered_file_again_is_a_no_op_even_once_processed(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    transport(sandbox_conn_id).upload(PLACES_7, b"places\r\n")
    os.replace(depot(sandbox) / PLACES_7, depot(sandbox) / "traites" / PLACES_7)

    again = transport(sandbox_conn_id).upload(PLACES_7, b"places\r\n")

    assert again.already_present is True
    assert sorted(os.listdir(depot(sandbox))) == ["traites"]


def test_reusing_a_name_with_other_content_is_a_bug(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    transport(sandbox_conn_id).upload(PLACES_7, b"places\r\n")

    with pytest.raises(TechnicalError, match="never reused"):
        transport(sandbox_conn_id).upload(PLACES_7, b"other places\r\n")

    assert (depot(sandbox) / PLACES_7).read_bytes() == b"places\r\n"


@pytest.mark.parametrize(
    "name", ["../" + PLACES_7, VENTES_1, "places.csv", PLACES_7 + "\n"], ids=repr
)
def test_only_outgoing_exchange_names_are_uploaded(sandbox_conn_id: str, name: str) -> None:
    with pytest.raises(TechnicalError, match="refusing to upload"):
        transport(sandbox_conn_id).upload(name, b"x")


def test_upload_all_sends_several_files_in_order(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    fiche = "FICHE_M0427_000001_20261128120000.csv"

    sent = transport(sandbox_conn_id).upload_all([(fiche, b"fiche"), (PLACES_7, b"places")])

    assert [file.name for file in sent] == [fiche, PLACES_7]
    assert (depot(sandbox) / fiche).read_bytes() == b"fiche"


def test_retour_is_read_only_for_the_organiser(
    sandbox: SandboxServer, sandbox_conn_id: str
) -> None:
    with pytest.raises(ExternalError, match="refused an operation") as caught:
        transport(sandbox_conn_id, outgoing_folder="/retour/").upload(PLACES_7, b"x")

    assert caught.value.temporary is False
    assert os.listdir(retour(sandbox)) == []


# Connection and authentication -------------------------------------------------


def test_check_confirms_the_folders(sandbox: SandboxServer, sandbox_conn_id: str) -> None:
    transport(sandbox_conn_id).check()

    with pytest.raises(ExternalError, match="/nowhere/ does not exist") as caught:
        transport(sandbox_conn_id, incoming_folder="/nowhere/").check()
    assert caught.value.temporary is False


def test_password_login_works(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    conn_id = use_connection(
        monkeypatch,
        "by_password",
        sandbox_connection_json(sandbox.host, sandbox.port, key_file=None, password=DEMO_PASSWORD),
    )

    transport(conn_id).check()


def test_a_wrong_password_is_refused_permanently_without_echoing_it(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "Wrong-Secret-8731"
    conn_id = use_connection(
        monkeypatch,
        "bad_password",
        sandbox_connection_json(sandbox.host, sandbox.port, key_file=None, password=secret),
    )

    with pytest.raises(ExternalError, match="refused login") as caught:
        transport(conn_id).check()

    assert caught.value.temporary is False
    assert "password" in said(caught.value, "en")
    assert "mot de passe" in said(caught.value, "fr")
    assert_no_secret(caught.value, secret)


def test_an_unknown_key_is_refused_without_echoing_it(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    private_key = (
        asyncssh.generate_private_key("ssh-ed25519").export_private_key("openssh").decode()
    )
    connection = sandbox_connection(sandbox.host, sandbox.port, key_file=None)
    connection["extra"]["private_key"] = private_key
    conn_id = use_connection(monkeypatch, "unknown_key", json.dumps(connection))

    with pytest.raises(ExternalError, match="refused login") as caught:
        transport(conn_id).check()

    assert caught.value.temporary is False
    assert_no_secret(caught.value, private_key.splitlines()[1])


def test_a_host_key_mismatch_is_refused_permanently(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    conn_id = use_connection(
        monkeypatch,
        "other_host_key",
        sandbox_connection_json(sandbox.host, sandbox.port, host_key=impostor.strip()),
    )

    with pytest.raises(ExternalError, match="presented host key") as caught:
        transport(conn_id).check()

    assert caught.value.temporary is False
    assert "Ask FNAC, by phone or e-mail" in said(caught.value, "en")
    assert "Demandez à FNAC, par téléphone" in said(caught.value, "fr")


def test_a_connection_without_host_key_is_a_configuration_error(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ssh/known_hosts to fall back on
    without = sandbox_connection(sandbox.host, sandbox.port)
    del without["extra"]["host_key"]
    conn_id = use_connection(monkeypatch, "no_host_key", json.dumps(without))

    with pytest.raises(ConfigurationError, match=r"host key .* is unknown"):
        transport(conn_id).check()


def test_a_connection_skipping_host_key_checks_is_refused(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = sandbox_connection(sandbox.host, sandbox.port)
    del connection["extra"]["host_key"]
    connection["extra"]["no_host_key_check"] = True
    conn_id = use_connection(monkeypatch, "no_check", json.dumps(connection))

    with pytest.raises(ConfigurationError, match="disables host key verification"):
        transport(conn_id).check()


def test_a_server_that_is_down_is_a_temporary_error(monkeypatch: pytest.MonkeyPatch) -> None:
    conn_id = use_connection(
        monkeypatch, "down", sandbox_connection_json("127.0.0.1", free_port(), conn_timeout=2)
    )
    started = time.monotonic()

    with pytest.raises(ExternalError, match="cannot reach") as caught:
        transport(conn_id).check()

    assert caught.value.temporary is True
    assert time.monotonic() - started < 5


def test_an_undefined_connection_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="no_such_connection"):
        transport("no_such_connection").check()


def test_a_missing_key_file_is_a_configuration_error(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conn_id = use_connection(
        monkeypatch,
        "missing_key_file",
        sandbox_connection_json(sandbox.host, sandbox.port, key_file=tmp_path / "absent_key"),
    )

    with pytest.raises(ConfigurationError, match="absent_key"):
        transport(conn_id).check()


def said(error: SyncError, language: str) -> str:
    """What the error says to do, in ``language``, the reseller being FNAC."""
    assert error.action is not None
    return render_text(error.action, language, "FNAC")


def assert_no_secret(error: SyncError, secret: str) -> None:
    for text in (str(error), error.message, said(error, "fr"), said(error, "en")):
        assert secret not in text
    assert secret not in repr(error.problems)
