"""FNAC sandbox: an SFTP server standing in for FNAC's, for tests and the demo."""

from reseller_sync.fnac.sandbox.connection import (
    DEFAULT_CONN_ID,
    connection_env_var,
    public_host_key,
    sandbox_connection,
    sandbox_connection_json,
)
from reseller_sync.fnac.sandbox.server import (
    CLIENT_KEY_FILE,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    HOST_KEY_FILE,
    DropConnection,
    SandboxServer,
    SandboxUser,
    Stall,
    demo_user,
    prepare_home,
    serve_forever,
)

__all__ = [
    "CLIENT_KEY_FILE",
    "DEFAULT_CONN_ID",
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "HOST_KEY_FILE",
    "DropConnection",
    "SandboxServer",
    "SandboxUser",
    "Stall",
    "connection_env_var",
    "demo_user",
    "prepare_home",
    "public_host_key",
    "sandbox_connection",
    "sandbox_connection_json",
    "serve_forever",
]
