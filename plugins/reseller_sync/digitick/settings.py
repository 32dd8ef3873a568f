"""Digitick's instance settings (``include/config/resellers/digitick.yaml``): the keys every
synchronous reseller instance has
(:class:`~reseller_sync.realtime.instance_settings.RealtimeInstanceSettings`),
for this type."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from reseller_sync.config.settings import load_instance_settings
from reseller_sync.digitick.reseller_type import RESELLER_TYPE
from reseller_sync.realtime.instance_settings import RealtimeInstanceSettings

DEFAULT_CONNECTION_ID = "digitick_sales_report"


class DigitickSettings(RealtimeInstanceSettings):
    """Digitick's whole instance settings (frozen)."""

    reseller_code: ClassVar[str] = RESELLER_TYPE.code
    connection_id_default: ClassVar[str | None] = DEFAULT_CONNECTION_ID


def load_settings(path: Path | str | None = None) -> DigitickSettings:
    """Digitick's instance settings, validated whole (default: its file in the include
    folder)."""
    return load_instance_settings(DigitickSettings, path)
