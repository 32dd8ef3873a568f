"""Ticketnet's instance settings (``include/config/resellers/ticketnet.yaml``): the keys every
reseller instance has, plus what Ticketnet gives at set-up under ``ticketnet-exchange-v1``
(promoter code, SFTP access and its folders, the organiser's contact at Ticketnet)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field, StrictInt

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
from reseller_sync.ticketnet.names import PROMOTER_PATTERN
from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE

DEFAULT_CONNECTION_ID = "ticketnet_sftp"


def _promoter_code(value: str) -> str:
    if not PROMOTER_PATTERN.fullmatch(value):
        raise ValueError(
            "expected Ticketnet's promoter code: PR followed by 5 digits, e.g. PR04127"
        )
    return value


PromoterCode = Annotated[str, AfterValidator(_promoter_code)]


class TicketnetSftpSettings(SftpSettings):
    """Ticketnet's SFTP server, with the folders of ticketnet-exchange-v1 section 3."""

    connection_id: ConnectionId = Field(
        DEFAULT_CONNECTION_ID, description="the Airflow connection holding host, login and key"
    )
    outbox_dir: RemoteDir = Field(
        "/to_ticketnet/", description="where the organiser uploads its OFFER batches"
    )
    processed_dir: RemoteDir = Field(
        "/archive/to_ticketnet/",
        description="where Ticketnet moves the organiser's batches once answered",
    )
    inbox_dir: RemoteDir = Field(
        "/from_ticketnet/", description="where Ticketnet drops its batches and ACK files"
    )
    archive_dir: RemoteDir = Field(
        "/archive/from_ticketnet/",
        description="where the organiser moves Ticketnet's batches once applied",
    )


class TicketnetNotificationSettings(NotificationSettings):
    ticketnet_contact_email: Email = Field(description="the organiser's contact at Ticketnet")


class TicketnetNightlySettings(NightlySettings):
    sales_silence_alert_hours: StrictInt = Field(
        2,
        ge=1,
        description="hours without a SALES batch, or with the next one incomplete, before "
        "alerting (R07)",
    )


class TicketnetSettings(InstanceSettings):
    """The whole Ticketnet instance settings (frozen)."""

    reseller_code: ClassVar[str] = RESELLER_TYPE.code
    connection_id_default: ClassVar[str | None] = DEFAULT_CONNECTION_ID

    promoter_code: PromoterCode = Field(description="Ticketnet's promoter code for the organiser")
    sftp: TicketnetSftpSettings = Field(default_factory=TicketnetSftpSettings)  # type: ignore[arg-type]
    notifications: TicketnetNotificationSettings
    nightly: TicketnetNightlySettings = Field(default_factory=TicketnetNightlySettings)  # type: ignore[arg-type]

    @property
    def organiser_reference(self) -> str | None:
        """Ticketnet knows the organiser by its promoter code."""
        return self.promoter_code


def load_settings(path: Path | str | None = None) -> TicketnetSettings:
    """Ticketnet's instance settings, validated whole (default: its file in the include
    folder)."""
    return load_instance_settings(TicketnetSettings, path)
