"""Fixtures of Ticketnet's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reseller_sync.core import resellers


@pytest.fixture
def ticketnet_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Ticketnet's type in the registry for one test: its adapter is not registered yet, and
    the settings and mappings name the reseller through the registry."""
    monkeypatch.setattr(
        resellers,
        "ADAPTER_MODULES",
        (*resellers.ADAPTER_MODULES, "reseller_sync.ticketnet.reseller_type"),
    )
    resellers._adapters.cache_clear()
    yield
    monkeypatch.undo()
    resellers._adapters.cache_clear()
