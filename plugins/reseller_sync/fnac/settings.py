"""FNAC's instance settings (``include/config/resellers/fnac.yaml``): the keys every
reseller instance has, plus what FNAC gives at set-up under ``fnac-exchange-v1``
(manager code, SFTP access, the organiser's contact at FNAC)."""

from __future__ import annotations

import re
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
from reseller_sync.fnac.adapter import RESELLER_TYPE

DEFAULT_CONNECTION_ID = "fnac_sftp"

_MANAGER_CODE = re.compile(r"M[0-9]{4}")


def _manager_code(value: str) -> str:
    if not _MANAGER_CODE.fullmatch(value):
        raise ValueError("expected the FNAC manager code: M followed by 4 digits, e.g. M0427")
    return value


ManagerCode = Annotated[str, AfterValidator(_manager_code)]


class FnacSftpSettings(SftpSettings):
    """FNAC's SFTP server, with the folders fnac-exchange-v1 names by default."""

    connection_id: ConnectionId = Field(
        DEFAULT_CONNECTION_ID, description="the Airflow connection holding host, login and key"
    )
    outbox_dir: RemoteDir = Field("/depot/", description="where the organiser drops its files")
    processed_dir: RemoteDir = Field(
        "/depot/traites/", description="where FNAC moves the files it has picked up"
    )
    inbox_dir: RemoteDir = Field("/retour/", description="where FNAC drops its files")


class FnacNotificationSettings(NotificationSettings):
    fnac_contact_email: Email = Field(description="the organiser's contact at FNAC")


class FnacNightlySettings(NightlySettings):
    ventes_silence_alert_hours: StrictInt | None = Field(
        3, ge=1, description="hours without a VENTES file before alerting"
    )


class FnacSettings(InstanceSettings):
    """The whole FNAC instance settings (frozen)."""

    reseller_code: ClassVar[str] = RESELLER_TYPE.code
    connection_id_default: ClassVar[str | None] = DEFAULT_CONNECTION_ID

    manager_code: ManagerCode = Field(description="FNAC's code manager for the organiser")
    sftp: FnacSftpSettings = Field(default_factory=FnacSftpSettings)  # type: ignore[arg-type]
    notifications: FnacNotificationSettings
    nightly: FnacNightlySettings = Field(default_factory=FnacNightlySettings)  # type: ignore[arg-type]

    @property
    def organiser_reference(self) -> str | None:
        """FNAC knows the organiser by its manager code."""
        return self.manager_code


def load_settings(path: Path | str | None = None) -> FnacSettings:
    """FNAC's instance settings, validated whole (default: its file in the include folder)."""
    return load_instance_settings(FnacSettings, path)
