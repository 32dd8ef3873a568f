"""Ticketnet's instance settings: what ticketnet-exchange-v1 gives at set-up, validated whole,
each problem named with its line; the folders of section 3 by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from reseller_sync.domain.errors import ConfigurationError
from reseller_sync.ticketnet.settings import load_settings

pytestmark = pytest.mark.usefixtures("ticketnet_registered")

VALID = """\
promoter_code: PR04127
boxoffice:
  channel: TICKETNET
  point_of_sale: TICKETNET-RESEAU
  paying_contact: TICKETNET-TECH
  quota: Q-TICKETNET
prices:
  policy: warn
  includes_commission: false
notifications:
  error_emails: [ops@example.org]
  ticketnet_contact_email: partners@ticketnet.example
tariffs_offered: [PLEIN, REDUIT]
products: [EVT-LUMEN]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ticketnet.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_file_with_the_contract_s_folders_by_default(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, VALID))

    assert settings.organiser_reference == "PR04127"
    assert settings.display_name == "Ticketnet"
    assert (
        settings.sftp.connection_id,
        settings.sftp.outbox_dir,
        settings.sftp.processed_dir,
        settings.sftp.inbox_dir,
        settings.sftp.archive_dir,
    ) == (
        "ticketnet_sftp",
        "/to_ticketnet/",
        "/archive/to_ticketnet/",
        "/from_ticketnet/",
        "/archive/from_ticketnet/",
    )
    assert settings.nightly.sales_silence_alert_hours == 2


def test_every_problem_is_named_with_its_line(tmp_path: Path) -> None:
    broken = VALID.replace("PR04127", "PR4127").replace(
        "  ticketnet_contact_email: partners@ticketnet.example\n", ""
    )

    with pytest.raises(ConfigurationError) as raised:
        load_settings(write(tmp_path, broken))

    found = {(p.line, p.column) for p in raised.value.problems}
    assert found == {(1, "promoter_code"), (10, "notifications.ticketnet_contact_email")}
    assert "PR followed by 5 digits" in str(raised.value)
