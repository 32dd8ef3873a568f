"""The sandbox SFTP server with the SecuTix reseller's home (``secutix-reseller-v1`` section 3).

The organiser's home holds ``/to_reseller/`` (it writes its OFFER, CONTINGENT
and WITHDRAW files there), ``/to_reseller/done/`` (where the reseller moves
what it processed: read-only for the organiser), ``/to_organiser/`` (the
reseller's TICKETS, STOCK and RESULT files, which the organiser reads) and
``/to_organiser/done/`` (where the organiser moves what it applied).

``/to_organiser/`` is not write-protected: the generic layout's protection
(:class:`~devtools.sandboxes.sftp.HomeLayout`) covers a folder's subfolders
too, and the organiser must be able to move files into ``/to_organiser/done/``.
"""

from __future__ import annotations

from pathlib import Path

from devtools.sandboxes.partner_server import layout_server
from devtools.sandboxes.sftp import HomeLayout, prepare_layout

TO_RESELLER = "to_reseller"
TO_RESELLER_DONE = "to_reseller/done"
TO_ORGANISER = "to_organiser"
TO_ORGANISER_DONE = "to_organiser/done"

SECUTIX_LAYOUT = HomeLayout(
    folders=(TO_RESELLER, TO_RESELLER_DONE, TO_ORGANISER, TO_ORGANISER_DONE),
    read_only=(TO_RESELLER_DONE,),
)
"""Section 3 point 2: one folder each way, each with its ``done/``."""


def prepare_home(root: Path, username: str) -> Path:
    """Create (if needed) and return the home of ``username`` under ``root``."""
    return prepare_layout(root, username, SECUTIX_LAYOUT)


secutix_server = layout_server(
    SECUTIX_LAYOUT,
    "secutix-sandbox-sftp",
    "The sandbox SFTP server serving the SecuTix reseller's home to each of ``users``.",
)
