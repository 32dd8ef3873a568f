"""What the command lines of the partner sandboxes share: the fault names a ``--fault``
offers, the partner's ``--seed`` and ``--now``, and a command that asks the partner to
write something and prints what it wrote (or why it wrote nothing)."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import TypeVar

from devtools.sandboxes.loop import aware_datetime

P = TypeVar("P")


def fault_names(faults: Iterable[StrEnum]) -> list[str]:
    """The faults' names, sorted: the choices of a ``--fault``."""
    return sorted(fault.value for fault in faults)


def add_clock_arguments(parser: argparse.ArgumentParser, *, now_help: str) -> None:
    """``--seed`` (the random draws made reproducible) and ``--now`` (the partner's clock,
    fixed; ``now_help`` says whose, with an example)."""
    parser.add_argument("--seed", type=int, help="make the random draws reproducible")
    parser.add_argument("--now", type=aware_datetime, help=now_help)


def fixed_clock(args: argparse.Namespace) -> Callable[[], dt.datetime] | None:
    """The partner's clock fixed at ``--now``; None (the real clock) without it."""
    now: dt.datetime | None = args.now
    return (lambda: now) if now is not None else None


def writing(
    make_partner: Callable[[argparse.Namespace], P],
    action: Callable[[P, argparse.Namespace], object],
    refused: type[Exception],
) -> Callable[[argparse.Namespace], int]:
    """A command's handler: ``action`` on the partner the options describe, its result
    printed (0); a ``refused`` error printed as "Nothing written: ..." (1)."""

    def run(args: argparse.Namespace) -> int:
        try:
            result = action(make_partner(args), args)
        except refused as error:
            print(f"Nothing written: {error}")
            return 1
        print(result)
        return 0

    return run
