"""Ticketnet sandbox: an SFTP server with Ticketnet's home, and Ticketnet played on it
(``ticketnet-exchange-v1``)."""

from devtools.sandboxes.ticketnet.emit import SandboxError
from devtools.sandboxes.ticketnet.partner import (
    FAULT_CODES,
    Answered,
    Fault,
    PartnerLoop,
    TicketnetPartner,
)
from devtools.sandboxes.ticketnet.people import (
    BUYER_EMAIL_DOMAIN,
    BUYER_PHONE_PREFIX,
    BUYER_POSTCODES,
)
from devtools.sandboxes.ticketnet.server import (
    TICKETNET_LAYOUT,
    prepare_home,
    ticketnet_server,
)
from devtools.sandboxes.ticketnet.venues import Venue, VenueBook

DEFAULT_CONN_ID = "ticketnet_sandbox"

__all__ = [
    "BUYER_EMAIL_DOMAIN",
    "BUYER_PHONE_PREFIX",
    "BUYER_POSTCODES",
    "DEFAULT_CONN_ID",
    "FAULT_CODES",
    "TICKETNET_LAYOUT",
    "Answered",
    "Fault",
    "PartnerLoop",
    "SandboxError",
    "TicketnetPartner",
    "Venue",
    "VenueBook",
    "prepare_home",
    "ticketnet_server",
]
