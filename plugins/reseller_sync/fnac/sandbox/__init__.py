"""FNAC sandbox: an SFTP server standing in for FNAC's, and FNAC played on it."""

from reseller_sync.fnac.sandbox.codebook import CodeBook, ProductCodes
from reseller_sync.fnac.sandbox.connection import (
    DEFAULT_CONN_ID,
    connection_env_var,
    public_host_key,
    sandbox_connection,
    sandbox_connection_json,
)
from reseller_sync.fnac.sandbox.emit import SandboxError
from reseller_sync.fnac.sandbox.intake import Refusal
from reseller_sync.fnac.sandbox.partner import (
    Answered,
    Fault,
    FnacPartner,
    PartnerLoop,
)
from reseller_sync.fnac.sandbox.people import (
    BUYER_ADDRESSES,
    BUYER_EMAIL_DOMAIN,
    BUYER_PHONE_PREFIXES,
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
