"""The sandbox SFTP server with Ticketnet's home layout (``ticketnet-exchange-v1`` section 3).

The organiser's home holds ``/to_ticketnet/`` (it writes its ``OFFER``
batches there), ``/from_ticketnet/`` (it reads Ticketnet's batches and ACKs,
and moves them out once applied), ``/archive/to_ticketnet/`` (where Ticketnet
moves what it processed: read-only for the organiser) and
``/archive/from_ticketnet/`` (where the organiser moves what it applied).
"""

from __future__ import annotations

from pathlib import Path

from devtools.sandboxes.partner_server import layout_server
from devtools.sandboxes.sftp import HomeLayout, prepare_layout

TO_TICKETNET = "to_ticketnet"
FROM_TICKETNET = "from_ticketnet"
ARCHIVE_TO_TICKETNET = "archive/to_ticketnet"
ARCHIVE_FROM_TICKETNET = "archive/from_ticketnet"

TICKETNET_LAYOUT = HomeLayout(
    folders=(TO_TICKETNET, FROM_TICKETNET, ARCHIVE_TO_TICKETNET, ARCHIVE_FROM_TICKETNET),
    read_only=(ARCHIVE_TO_TICKETNET,),
    take_only=(FROM_TICKETNET,),
)
"""Section 3 point 2: the organiser writes in ``/to_ticketnet/``, reads ``/from_ticketnet/`` and
moves its files into ``/archive/from_ticketnet/`` (point 7)."""


def prepare_home(root: Path, username: str) -> Path:
    """Create (if needed) and return the home of ``username`` under ``root``."""
    return prepare_layout(root, username, TICKETNET_LAYOUT)


ticketnet_server = layout_server(
    TICKETNET_LAYOUT,
    "ticketnet-sandbox-sftp",
    "The sandbox SFTP server serving Ticketnet's home to each of ``users``.",
)
