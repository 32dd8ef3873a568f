"""The Airflow connection that reaches a running sandbox SFTP server, for tests and demos."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncssh

from devtools.sandboxes.sftp import CLIENT_KEY_FILE, DEMO_USERNAME, HOST_KEY_FILE


def public_host_key(host_key_file: Path = HOST_KEY_FILE) -> str:
    """The public half of a host key file, as ``host_key`` expects it (``type base64``)."""
    key = asyncssh.read_private_key(host_key_file)
    algorithm, data = key.export_public_key("openssh").decode("ascii").split()[:2]
    return f"{algorithm} {data}"


def sandbox_connection(
    host: str,
    port: int,
    *,
    username: str = DEMO_USERNAME,
    key_file: Path | None = CLIENT_KEY_FILE,
    password: str | None = None,
    host_key: str | None = None,
    conn_timeout: int = 10,
) -> dict[str, Any]:
    """An SFTP connection, as a dict, that trusts the sandbox's host key.

    ``host_key`` defaults to the committed sandbox host key; pass another one
    to test a mismatch. Give ``key_file``, ``password`` or both.
    """
    extra: dict[str, Any] = {
        "host_key": host_key or public_host_key(),
        "conn_timeout": conn_timeout,
        "look_for_keys": False,
    }
    if key_file is not None:
        extra["key_file"] = str(Path(key_file).resolve())
    connection: dict[str, Any] = {
        "conn_type": "sftp",
        "host": host,
        "port": port,
        "login": username,
        "extra": extra,
    }
    if password is not None:
        connection["password"] = password
    return connection


def sandbox_connection_json(host: str, port: int, **options: Any) -> str:
    """:func:`sandbox_connection` as JSON, the value of ``AIRFLOW_CONN_<ID>``."""
    return json.dumps(sandbox_connection(host, port, **options))


def connection_env_var(conn_id: str) -> str:
    """The environment variable through which Airflow reads connection ``conn_id``."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"
