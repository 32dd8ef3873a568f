"""``python -m reseller_sync classictic ...``: ClassicTic's operator commands.

``record`` writes ClassicTic's instance settings into the box office (channel, kinds, price
check, limits), as its onboarding does, so that its API keys can be issued before any
product goes on sale: ``python -m reseller_sync realtime keys issue classictic``.
"""

from __future__ import annotations

from typing import Any

from reseller_sync.classictic.reseller_type import RESELLER_TYPE
from reseller_sync.realtime.adapter import register_commands


def register(subparsers: Any) -> None:
    """Add the ``classictic`` command group to an argparse sub-parsers object."""
    from reseller_sync.classictic.settings import load_settings

    register_commands(subparsers, RESELLER_TYPE, load_settings)
