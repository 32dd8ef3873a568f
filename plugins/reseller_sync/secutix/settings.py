"""The SecuTix reseller's instance settings (``include/config/resellers/secutix.yaml``): the
keys every reseller instance has, plus what ``secutix-reseller-v1`` sets up: the SFTP
access and its folders (section 3), the organiser's contact at the reseller, and how long
the TICKETS stream may stay silent (section 9.1 point 2, ``T06``).

The contract gives the organiser no code of its own: each reseller has its own SFTP
account and file names carry no partner code (section 3 point 1), so the instance has no
``organiser_reference``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, StrictInt

from reseller_sync.config.settings import (
    ConnectionId,
    Email,
    InstanceSettings,
    NightlySettings,
    NotificationSettings,
    RemoteDir,
    SftpSettings,
    load_instance_settings,
)
from reseller_sync.secutix.reseller_type import RESELLER_TYPE

DEFAULT_CONNECTION_ID = "secutix_sftp"
TICKETS_SILENCE_MINUTES = 60
"""Section 9.1 point 2: the organiser raises ``T06`` after 60 minutes."""


class SecutixSftpSettings(SftpSettings):
    """The reseller's SFTP server, with the folders of secutix-reseller-v1 section 3."""

    connection_id: ConnectionId = Field(
        DEFAULT_CONNECTION_ID, description="the Airflow connection holding host, login and key"
    )
    outbox_dir: RemoteDir = Field(
        "/to_reseller/",
        description="where the organiser uploads its OFFER, CONTINGENT and WITHDRAW files",
    )
    processed_dir: RemoteDir = Field(
        "/to_reseller/done/",
        description="where the reseller moves the organiser's files once processed",
    )
    inbox_dir: RemoteDir = Field(
        "/to_organiser/", description="where the reseller drops its TICKETS, STOCK and RESULT files"
    )
    archive_dir: RemoteDir = Field(
        "/to_organiser/done/",
        description="where the organiser moves the reseller's files once processed",
    )


class SecutixNotificationSettings(NotificationSettings):
    secutix_contact_email: Email = Field(
        description="the organiser's contact at the reseller (its SecuTix box office)"
    )


class SecutixNightlySettings(NightlySettings):
    tickets_silence_alert_minutes: StrictInt = Field(
        TICKETS_SILENCE_MINUTES,
        ge=15,
        description="minutes without a TICKETS file, or with the next one incomplete, before "
        "alerting (T06; the reseller writes one every 15 minutes)",
    )


class SecutixSettings(InstanceSettings):
    """The whole SecuTix reseller instance settings (frozen)."""

    reseller_code: ClassVar[str] = RESELLER_TYPE.code
    connection_id_default: ClassVar[str | None] = DEFAULT_CONNECTION_ID

    sftp: SecutixSftpSettings = Field(default_factory=SecutixSftpSettings)  # type: ignore[arg-type]
    notifications: SecutixNotificationSettings
    nightly: SecutixNightlySettings = Field(default_factory=SecutixNightlySettings)  # type: ignore[arg-type]


def load_settings(path: Path | str | None = None) -> SecutixSettings:
    """The SecuTix reseller's instance settings, validated whole (default: its file in the
    include folder)."""
    return load_instance_settings(SecutixSettings, path)
