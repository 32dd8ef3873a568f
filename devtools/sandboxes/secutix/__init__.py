"""SecuTix sandbox: an SFTP server with the reseller's home, and a SecuTix box office as
reseller played on it (``secutix-reseller-v1``)."""

from devtools.sandboxes.secutix.emit import SandboxError
from devtools.sandboxes.secutix.faults import FAULT_CODES, Fault
from devtools.sandboxes.secutix.partner import Answered, PartnerLoop, SecutixPartner
from devtools.sandboxes.secutix.people import (
    CONTACT_EMAIL_DOMAIN,
    CONTACT_NUMBER_PREFIX,
    CONTACT_PHONE_PREFIX,
)
from devtools.sandboxes.secutix.server import SECUTIX_LAYOUT, prepare_home, secutix_server
from devtools.sandboxes.secutix.venues import VenuePlan, default_plans

DEFAULT_CONN_ID = "secutix_sandbox"

__all__ = [
    "CONTACT_EMAIL_DOMAIN",
    "CONTACT_NUMBER_PREFIX",
    "CONTACT_PHONE_PREFIX",
    "DEFAULT_CONN_ID",
    "FAULT_CODES",
    "SECUTIX_LAYOUT",
    "Answered",
    "Fault",
    "PartnerLoop",
    "SandboxError",
    "SecutixPartner",
    "VenuePlan",
    "default_plans",
    "prepare_home",
    "secutix_server",
]
