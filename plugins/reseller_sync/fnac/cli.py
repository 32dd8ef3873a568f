"""``fnac check FILE...``: validate FNAC exchange files the way the interface reads them.

Prints, per file, a one-line summary when the file is valid, or every
problem as ``FILE:LINE:COLUMN: reason`` (LINE is the data line, 1 for the
first; 0 for the whole file: name, header, column line, trailer, encoding).
The file name checked against the header is the basename of FILE. Nothing
of the buyer contact columns is ever printed: the reader drops them.

Exit status: 0 when every file is valid, 1 when some file is not, 2 when a
file cannot be read.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from reseller_sync.domain.errors import Problem
from reseller_sync.fnac.errors import FileFormatError
from reseller_sync.fnac.reader import read_file
from reseller_sync.fnac.schema import schema_of

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2


def register(subparsers: Any) -> None:
    """Add the ``fnac`` command group to an argparse sub-parsers object."""
    parser = subparsers.add_parser("fnac", help="FNAC exchange files")
    commands = parser.add_subparsers(dest="fnac_command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="validate FNAC files against the exchange contract",
        description="Validate FNAC exchange files (any type). Prints a summary per valid "
        "file and every problem of the others; exit status 0 only when all are valid.",
    )
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    check.set_defaults(handler=check_files)


def check_files(args: argparse.Namespace) -> int:
    status = EXIT_VALID
    for path in args.files:
        try:
            data = path.read_bytes()
        except OSError as error:
            print(f"{path}: cannot be read: {error.strerror or error}")
            status = max(status, EXIT_UNREADABLE)
            continue
        try:
            parsed = read_file(path.name, data)
        except FileFormatError as error:
            for problem in error.problems:
                print(_located(path, problem))
            status = max(status, EXIT_INVALID)
            continue
        envelope = parsed.envelope
        control_column = schema_of(envelope.name.type).control_column or "no control column"
        print(
            f"{path}: valid {envelope.name.type} file, SEQ {envelope.name.seq_text}, "
            f"{envelope.count} data lines, CONTROL {envelope.control} ({control_column}), "
            f"{envelope.encoding}"
        )
    return status


def _located(path: Path, problem: Problem) -> str:
    where = [str(path)]
    if problem.line is not None:
        where.append(str(problem.line))
        if problem.column:
            where.append(problem.column)
    shown = f" (value {problem.value!r})" if problem.value is not None else ""
    return f"{':'.join(where)}: {problem.reason}{shown}"
