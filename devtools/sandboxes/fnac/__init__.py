"""FNAC sandbox: an SFTP server standing in for FNAC's, and FNAC played on it."""

from devtools.sandboxes.fnac.codebook import CodeBook, ProductCodes
from devtools.sandboxes.fnac.connection import (
    DEFAULT_CONN_ID,
    connection_env_var,
    public_host_key,
    sandbox_connection,
    sandbox_connection_json,
)
from devtools.sandboxes.fnac.emit import SandboxError
from devtools.sandboxes.fnac.intake import Refusal
from devtools.sandboxes.fnac.partner import (
    Answered,
    Fault,
    FnacPartner,
    PartnerLoop,
)
from devtools.sandboxes.fnac.people import (
    BUYER_ADDRESSES,
    BUYER_EMAIL_DOMAIN,
    BUYER_PHONE_PREFIXES,
)
from devtools.sandboxes.fnac.server import (
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
    "BUYER_ADDRESSES",
    "BUYER_EMAIL_DOMAIN",
    "BUYER_PHONE_PREFIXES",
    "CLIENT_KEY_FILE",
    "DEFAULT_CONN_ID",
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "HOST_KEY_FILE",
    "Answered",
    "CodeBook",
    "DropConnection",
    "Fault",
    "FnacPartner",
    "PartnerLoop",
    "ProductCodes",
    "Refusal",
    "SandboxError",
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
