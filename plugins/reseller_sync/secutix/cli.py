"""``secutix check PATH...``: check the reseller's files as the organiser reads them
(``secutix-reseller-v1``), without its box office.

A PATH is a data file (its control file beside it), a control file, or a
folder (its files). What is checked is listed in
:mod:`reseller_sync.secutix.check`. Output, one line each:

* every problem as ``FILE:LINE:COLUMN: CODE reason``: FILE is the data file's
  path; LINE the data line (1 = the first after the header), ``0`` when the
  problem concerns the file as a whole; COLUMN the column, ``-`` when none
  applies. A value may follow as ``(value '...')``; no value of a
  ``CONTACT_*`` column is ever printed: the reader drops those columns before
  any check;
* ``PATH: valid TICKETS file 42: 6 lines`` for each valid file, and
  ``PATH: waiting: ...`` for the last file of the stream while its control
  (or data) file is not there yet;
* ``PATH: ...`` for a path that cannot be read or holds nothing to check.

Exit status: 0 when everything is valid, 1 when something is invalid, 2 when
a path cannot be read or holds nothing to check (2 wins over 1).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from reseller_sync.core.checks import print_report
from reseller_sync.secutix.check import check_paths


def register(subparsers: Any) -> None:
    """Add the ``secutix`` command group to an argparse sub-parsers object."""
    parser = subparsers.add_parser("secutix", help="SecuTix box office as reseller: files")
    commands = parser.add_subparsers(dest="secutix_command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="check the reseller's TICKETS, STOCK and RESULT files against the contract",
        description="Check the reseller's files as the organiser reads them, without its box "
        "office: control files, syntax, numbering and the state machine across TICKETS files. "
        "Prints every problem as FILE:LINE:COLUMN: CODE reason; exit status 0 only when all "
        "is valid, 1 when something is invalid, 2 when a path cannot be read.",
    )
    check.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    check.set_defaults(handler=check_command)


def check_command(args: argparse.Namespace) -> int:
    return print_report(check_paths(args.paths))
