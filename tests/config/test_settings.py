"""The interface settings: the demo file loads, and every fault is named with its line."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reseller_sync.config.paths import (
    INCLUDE_DIR_VARIABLE,
    PROJECT_ROOT,
    configured_resellers,
    mappings_dir,
    settings_path,
)
from reseller_sync.config.settings import Language, PricePolicy
from reseller_sync.domain.errors import ConfigurationError, Problem
from reseller_sync.fnac.settings import FnacSettings, load_settings

VALID = """\
manager_code: M0427
boxoffice:
  channel: FNAC
  point_of_sale: FNAC-RESEAU
  paying_contact: FNAC-TECH
  quota: Q-FNAC
prices:
  includes_commission: true
notifications:
  error_emails: [ops@example.org]
  fnac_contact_email: contact@fnac.example
tariffs_offered: [FNAC_PUBLIC, FNAC_ADHERENT]
products:
  - EVT-LUMEN
  - code: PASS-MAH-JOUR
    tariffs_offered: [FNAC_PUBLIC]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fnac.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(path)
    assert caught.value.file == str(path)
    return list(caught.value.problems)


def only(problems: list[Problem], column: str) -> Problem:
    found = [problem for problem in problems if problem.column == column]
    assert len(found) == 1, problems
    return found[0]


def test_demo_settings_load() -> None:
    settings = load_settings()

    assert settings.manager_code == "M0427"
    assert settings.sftp.connection_id == "fnac_sftp"
    assert (settings.sftp.outbox_dir, settings.sftp.processed_dir, settings.sftp.inbox_dir) == (
        "/depot/",
        "/depot/traites/",
        "/retour/",
    )
    assert settings.boxoffice.channel == "FNAC"
    assert settings.boxoffice.point_of_sale == "FNAC-RESEAU"
    assert settings.boxoffice.quota == "Q-FNAC"
    assert settings.boxoffice.paying_contact == "FNAC-TECH"
    assert settings.prices.policy is PricePolicy.STRICT
    assert settings.notifications.language is Language.FR
    assert settings.product_codes == (
        "EVT-LUMEN",
        "CMP-LYON-NANTES",
        "PASS-MAH-JOUR",
        "PASS-MAH-LIBRE",
    )
    assert settings.tariffs_offered_for("EVT-LUMEN") == ("FNAC_PUBLIC", "FNAC_ADHERENT", "FNAC_CE")
    assert settings.tariffs_offered_for("PASS-MAH-JOUR") == ("FNAC_PUBLIC", "FNAC_ADHERENT")
    assert settings.nightly.withdraw_unsold_days_before_performance == 2
    assert settings.source == PROJECT_ROOT / "include" / "config" / "resellers" / "fnac.yaml"


def test_defaults_apply_and_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, VALID))

    assert settings.sftp.connection_id == "fnac_sftp"
    assert settings.sftp.inbox_dir == "/retour/"
    assert settings.prices.policy is PricePolicy.STRICT
    assert settings.boxoffice.venue_timezone == "Europe/Paris"
    assert settings.nightly.withdraw_unsold_days_before_performance is None
    assert settings.tariffs_offered_for("PASS-MAH-JOUR") == ("FNAC_PUBLIC",)
    assert settings.tariffs_offered_for("UNKNOWN") == ("FNAC_PUBLIC", "FNAC_ADHERENT")
    with pytest.raises(ValueError, match="frozen"):
        settings.manager_code = "M0001"


def test_include_dir_variable_moves_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config" / "resellers").mkdir(parents=True)
    write(tmp_path / "config" / "resellers", VALID.replace("M0427", "M0001"))
    monkeypatch.setenv(INCLUDE_DIR_VARIABLE, str(tmp_path))

    assert settings_path("fnac") == tmp_path / "config" / "resellers" / "fnac.yaml"
    assert load_settings().manager_code == "M0001"
    assert configured_resellers() == ("fnac",)


def test_settings_left_in_the_former_place_are_named_with_where_they_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installation upgraded without moving its files is told what to move, and where."""
    (tmp_path / "config").mkdir()
    write(tmp_path / "config", VALID)
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "_shared.yaml").write_text("tariffs: {}\n")
    monkeypatch.setenv(INCLUDE_DIR_VARIABLE, str(tmp_path))

    with pytest.raises(ConfigurationError) as settings_left:
        load_settings()
    with pytest.raises(ConfigurationError) as mappings_left:
        mappings_dir("fnac")

    assert "config/resellers/fnac.yaml" in settings_left.value.action
    assert str(tmp_path / "config" / "fnac.yaml") in settings_left.value.action
    assert str(tmp_path / "mappings" / "fnac") in mappings_left.value.action
    assert configured_resellers() == ()


def test_unknown_key_is_named_with_its_line_and_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("  quota: Q-FNAC", "  qouta: Q-FNAC"))

    problems = problems_of(path)

    typo = only(problems, "boxoffice.qouta")
    assert typo.line == 6
    assert "unknown key" in typo.reason
    assert "did you mean 'quota'?" in typo.reason
    missing = only(problems, "boxoffice.quota")
    assert "required key is missing" in missing.reason


def test_bad_manager_code(tmp_path: Path) -> None:
    problem = only(problems_of(write(tmp_path, VALID.replace("M0427", "M427"))), "manager_code")

    assert problem.line == 1
    assert problem.value == "M427"
    assert "M followed by 4 digits" in problem.reason


def test_secret_in_settings_is_refused_and_sent_to_the_connection(tmp_path: Path) -> None:
    text = VALID + "sftp:\n  connection_id: fnac_prod\n  password: hunter2\n  private_key: xyz\n"

    problems = problems_of(write(tmp_path, text))

    password = only(problems, "sftp.password")
    assert password.line == 19
    assert "Airflow connection 'fnac_prod'" in password.reason
    assert password.value is None, "a secret is never repeated in a message"
    assert "hunter2" not in str(problems)
    assert only(problems, "sftp.private_key").line == 20


def test_bad_price_policy(tmp_path: Path) -> None:
    text = VALID.replace("prices:\n", "prices:\n  policy: lenient\n")

    problem = only(problems_of(write(tmp_path, text)), "prices.policy")

    assert problem.line == 8
    assert problem.reason == "expected one of 'strict', 'warn' or 'accept'"
    assert problem.value == "lenient"


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    text = """\
    manager_code: X1
    sftp:
      inbox_dir: retour
    boxoffice:
      channel: FNAC
      point_of_sale: FNAC-RESEAU
      paying_contact: FNAC-TECH
      quota: Q-FNAC
      venue_timezone: Europe/Pariss
    prices:
      policy: warn
      includes_commission: "yes"
    notifications:
      language: de
      error_emails: [not-an-address]
      fnac_contact_email: contact@fnac.example
    tariffs_offered: [FNAC_PUBLIC, FNAC_PUBLIC]
    products:
      - EVT-LUMEN
      - 12
    nightly:
      withdraw_unsold_days_before_performance: -1
    """

    problems = problems_of(write(tmp_path, text))

    lines = {problem.column: problem.line for problem in problems}
    assert lines == {
        "manager_code": 1,
        "sftp.inbox_dir": 3,
        "boxoffice.venue_timezone": 9,
        "prices.includes_commission": 12,
        "notifications.language": 14,
        "notifications.error_emails[0]": 15,
        "tariffs_offered": 17,
        "products[1].code": 20,
        "nightly.withdraw_unsold_days_before_performance": 22,
    }
    assert "write it in quotes" in only(problems, "products[1].code").reason
    assert "IANA time zone" in only(problems, "boxoffice.venue_timezone").reason
    assert [problem.line for problem in problems] == sorted(p.line or 0 for p in problems)


def test_products_listed_twice(tmp_path: Path) -> None:
    text = VALID + "  - EVT-LUMEN\n"

    problem = only(problems_of(write(tmp_path, text)), "products")

    assert problem.reason == "product listed more than once: EVT-LUMEN"


def test_key_written_twice_is_an_error(tmp_path: Path) -> None:
    text = VALID.replace("manager_code: M0427\n", "manager_code: M0427\nmanager_code: M0428\n")

    problem = only(problems_of(write(tmp_path, text)), "manager_code")

    assert problem.line == 2
    assert "twice" in problem.reason


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    text = VALID.replace("  quota: Q-FNAC", "  quota: [Q-FNAC")

    problems = problems_of(write(tmp_path, text))

    assert len(problems) == 1
    assert "not valid YAML" in problems[0].reason
    assert problems[0].line is not None


def test_missing_file(tmp_path: Path) -> None:
    problems = problems_of(tmp_path / "fnac.yaml")

    assert "cannot read" in problems[0].reason


def test_loading_never_touches_the_database() -> None:
    """DAG files read the settings at parse time: no database driver, no ORM, no Airflow."""
    code = (
        "import sys\n"
        "from reseller_sync.fnac.settings import load_settings\n"
        "load_settings()\n"
        "loaded = [m for m in ('sqlalchemy', 'airflow', 'reseller_sync.boxoffice') "
        "if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT, env={"PYTHONPATH": "plugins"}
    )


def test_is_a_pydantic_model_with_typed_fields() -> None:
    assert FnacSettings.model_fields["manager_code"].is_required()


def test_the_reseller_is_named_fnac_unless_the_settings_say_otherwise(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, VALID)).reseller.display_name == "FNAC"
    named = load_settings(write(tmp_path, VALID + "reseller:\n  display_name: Fnac Spectacles\n"))
    assert named.reseller.display_name == "Fnac Spectacles"


@pytest.mark.parametrize(
    "name", ["'[FNAC]'", "' FNAC'", "'FNAC\\nBcc: x@example.org'", "'" + "F" * 41 + "'", "''"]
)
def test_a_display_name_unfit_for_a_subject_is_refused(tmp_path: Path, name: str) -> None:
    text = VALID + f"reseller:\n  display_name: {name}\n"
    problem = only(problems_of(write(tmp_path, text)), "reseller.display_name")
    assert problem.line == text.splitlines().index(f"  display_name: {name}") + 1
    assert "the reseller's name as people know it" in problem.reason
