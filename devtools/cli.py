"""``python -m devtools <group> <command> ...``: the developers' tools.

Built like the operator's commands (:mod:`reseller_sync.cli`): one module per
group, imported only when its group is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

from reseller_sync.cli import main as run_command

DEV_COMMAND_GROUPS: dict[str, str] = {
    "demo": "devtools.demo_boxoffice",
    "fnac-sandbox": "devtools.sandboxes.fnac.cli",
    "mailsink": "devtools.mailsink",
    "realtime-sandbox": "devtools.sandboxes.realtime.cli",
    "secutix-sandbox": "devtools.sandboxes.secutix.cli",
    "ticketnet-sandbox": "devtools.sandboxes.ticketnet.cli",
}
"""Group name -> module with its ``register(subparsers)`` function."""


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(
        argv,
        command_groups=DEV_COMMAND_GROUPS,
        prog="python -m devtools",
        description="Developers' tools: partner sandboxes, the mail sink, the demo box office.",
    )
