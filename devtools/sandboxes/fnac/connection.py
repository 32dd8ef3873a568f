"""The Airflow connection that reaches a running FNAC sandbox, for tests and the demo.

The helpers are the sandboxes' generic ones (:mod:`devtools.sandboxes.connection`);
the connection id defaults to FNAC's.
"""

from __future__ import annotations

from devtools.sandboxes import connection
from devtools.sandboxes.connection import (
    public_host_key,
    sandbox_connection,
    sandbox_connection_json,
)

DEFAULT_CONN_ID = "fnac_sandbox"


def connection_env_var(conn_id: str = DEFAULT_CONN_ID) -> str:
    """The environment variable through which Airflow reads connection ``conn_id``."""
    return connection.connection_env_var(conn_id)


__all__ = [
    "DEFAULT_CONN_ID",
    "connection_env_var",
    "public_host_key",
    "sandbox_connection",
    "sandbox_connection_json",
]
