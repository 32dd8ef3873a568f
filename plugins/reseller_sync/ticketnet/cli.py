"""``ticketnet check PATH...``: check Ticketnet batches as the organiser reads them
(``ticketnet-exchange-v1``), without its box office.

A PATH is a manifest (``<BATCH_ID>.manifest.json``, its data files beside it),
an ACK file (``<BATCH_ID>.ack.json``) or a folder (every batch and ACK in it).
What is checked is listed in :mod:`reseller_sync.ticketnet.check`: integrity
and syntax (``R01`` to ``R06``; ``B01`` to ``B06`` for the organiser's
``OFFER`` batches), gaps (``R07``), a batch id repeated with another manifest
(``R08``), the rules across records and batches of ``SALES`` (``R09``, ``R14``,
``R15``, ``R16``, ``R19``, ``R20``), ``INVENTORY`` consistency (``R21``) and ACKs
(``R22``). A folder's batches are checked in number order, stream by stream.

Output, one line each:

* every problem as ``FILE:RECORD:COLUMN: CODE reason``: FILE is the data
  file, manifest or ACK path; RECORD is the data record within its part
  (1 = first record after the header), ``0`` when the problem concerns the
  file or manifest as a whole; COLUMN is the column (or the manifest or ACK
  key, such as ``files[0].sha256``), ``-`` when none applies. A value may
  follow as ``(value '...')``; no value of a ``buyer_*`` column is ever
  printed: the reader drops those columns before any check;
* a summary per valid batch or ACK: ``MANIFEST: valid SALES batch 42: ...``;
* ``PATH: cannot be read: ...`` for a path that cannot be read, and ``PATH:
  holds no batch manifest and no ACK file: nothing to check`` for a folder
  with nothing to check (a batch without its manifest is not visible yet).

Exit status: 0 when everything is valid, 1 when something is invalid, 2 when
a path cannot be read or a folder holds nothing to check (2 wins over 1).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from reseller_sync.core.checks import print_report
from reseller_sync.ticketnet.check import check_paths


def register(subparsers: Any) -> None:
    """Add the ``ticketnet`` command group to an argparse sub-parsers object."""
    parser = subparsers.add_parser("ticketnet", help="Ticketnet exchange batches")
    commands = parser.add_subparsers(dest="ticketnet_command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="check Ticketnet batches (manifests, ACKs, folders) against the exchange contract",
        description="Check Ticketnet batches as the organiser reads them, without its box "
        "office: integrity, syntax and the rules across records and batches. Prints every "
        "problem as FILE:RECORD:COLUMN: CODE reason and a summary per valid batch; exit "
        "status 0 only when all is valid, 1 when something is invalid, 2 when a path cannot "
        "be read.",
    )
    check.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    check.set_defaults(handler=check_command)


def check_command(args: argparse.Namespace) -> int:
    return print_report(check_paths(args.paths))
