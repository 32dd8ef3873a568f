"""The SecuTix reseller's instance settings: what secutix-reseller-v1 sets up, validated whole,
each problem named with its line; the folders of section 3 and the 60 minutes of ``T06`` by
default.

The instance file is added with the type's registration (a settings file of a type the
registry does not know stops every DAG from loading): its content is the YAML block of the
section "Reading TICKETS into the box office" of ``docs/secutix-codec.md``, loaded here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reseller_sync.domain.errors import ConfigurationError
from reseller_sync.secutix.settings import SecutixSettings, load_settings

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "secutix-codec.md"
INSTANCE = ROOT / "include" / "config" / "resellers" / "secutix.yaml"

VALID = """\
boxoffice:
  channel: SECUTIX
  point_of_sale: SECUTIX-RESEAU
  paying_contact: SECUTIX-TECH
  quota: Q-SECUTIX
prices:
  policy: warn
  includes_commission: true
notifications:
  error_emails: [ops@example.org]
  secutix_contact_email: partners@reseller.example
tariffs_offered: [PLEIN, REDUIT]
products: [EVT-LUMEN, PASS-MAH-LIBRE]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "secutix.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def documented_instance() -> str:
    section = DOC.read_text(encoding="utf-8").split("## Reading TICKETS into the box office")[1]
    found = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert found is not None, "the section shows the instance's settings file"
    return found.group(1)


def test_a_valid_file_with_the_contract_s_folders_by_default(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, VALID))

    assert isinstance(settings, SecutixSettings)
    assert settings.display_name == "SecuTix reseller"
    assert settings.organiser_reference is None
    assert (
        settings.sftp.connection_id,
        settings.sftp.outbox_dir,
        settings.sftp.processed_dir,
        settings.sftp.inbox_dir,
        settings.sftp.archive_dir,
    ) == (
        "secutix_sftp",
        "/to_reseller/",
        "/to_reseller/done/",
        "/to_organiser/",
        "/to_organiser/done/",
    )
    assert settings.nightly.tickets_silence_alert_minutes == 60
    assert settings.notifications.secutix_contact_email == "partners@reseller.example"
    assert settings.product_codes == ("EVT-LUMEN", "PASS-MAH-LIBRE")


def test_the_documented_instance_file_loads(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, documented_instance()))

    assert settings.boxoffice.channel == "SECUTIX"
    assert settings.prices.includes_commission is True
    assert settings.nightly.tickets_silence_alert_minutes == 60
    assert settings.nightly.withdraw_unsold_days_before_performance == 2
    assert settings.product_codes == (
        "EVT-LUMEN",
        "CMP-LYON-NANTES",
        "PASS-MAH-JOUR",
        "PASS-MAH-LIBRE",
    )


@pytest.mark.skipif(not INSTANCE.exists(), reason="added with the type's registration")
def test_the_instance_file_loads() -> None:
    assert load_settings(INSTANCE).reseller_code == "secutix"


def test_every_problem_is_named_with_its_line(tmp_path: Path) -> None:
    broken = VALID.replace("  secutix_contact_email: partners@reseller.example\n", "") + (
        "nightly:\n  tickets_silence_alert_minutes: 5\n"
    )

    with pytest.raises(ConfigurationError) as raised:
        load_settings(write(tmp_path, broken))

    found = {(p.line, p.column) for p in raised.value.problems}
    assert found == {
        (9, "notifications.secutix_contact_email"),
        (14, "nightly.tickets_silence_alert_minutes"),
    }


def test_a_secret_is_refused_and_sent_to_the_connection(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings(write(tmp_path, VALID + "sftp:\n  password: hunter2\n"))

    assert "secutix_sftp" in str(raised.value)
    assert "hunter2" not in str(raised.value)
