"""Digitick as a reseller type: its hooks for the reseller-neutral core
(``realtime-api-v1``). The type is declared in :mod:`reseller_sync.digitick.reseller_type`;
every hook is the synchronous resellers' own
(:class:`~reseller_sync.realtime.adapter.RealtimeAdapter`), bound to this type and its
settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reseller_sync.digitick.reseller_type import RESELLER_TYPE
from reseller_sync.realtime.adapter import RealtimeAdapter

if TYPE_CHECKING:
    from reseller_sync.digitick.settings import DigitickSettings

__all__ = ["RESELLER_TYPE"]


def load_settings(path: Path | None = None) -> DigitickSettings:
    """Digitick's instance settings, validated whole."""
    from reseller_sync.digitick.settings import load_settings as load

    return load(path)


_HOOKS = RealtimeAdapter(RESELLER_TYPE, load_settings)
check_product = _HOOKS.check_product
check_mappings = _HOOKS.check_mappings
onboarding_steps = _HOOKS.onboarding_steps
onboarding_doc = _HOOKS.onboarding_doc
expected_streams = _HOOKS.expected_streams
