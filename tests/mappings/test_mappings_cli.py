"""``mappings check``: exit status 0 only when all is well, every problem printed."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reseller_sync.boxoffice.db import URL_VARIABLE, default_engine
from reseller_sync.cli import main as cli_main
from reseller_sync.mappings.cli import EXIT_CANNOT_CHECK, EXIT_OK, EXIT_PROBLEMS

Edit = Callable[[Path, str, str], None]


def main(arguments: list[str]) -> int:
    """``python -m reseller_sync mappings ...``, in process."""
    return cli_main(["mappings", *arguments])


@pytest.fixture
def demo_database(
    sqlite_demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    copy = tmp_path / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, copy)
    monkeypatch.setenv(URL_VARIABLE, f"sqlite:///{copy}")
    default_engine.cache_clear()
    yield
    default_engine().dispose()
    default_engine.cache_clear()


@pytest.mark.usefixtures("include", "demo_database")
def test_check_passes_on_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == EXIT_OK

    out = capsys.readouterr().out
    assert "EVT-LUMEN: OK" in out
    assert out.rstrip().endswith("All mappings are correct.")


@pytest.mark.usefixtures("demo_database")
def test_check_fails_with_every_problem_and_its_fix(
    mappings: Path, edit: Edit, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(mappings / "_shared.yaml", '  CAT3: "3"\n', "")

    assert main(["check", "EVT-LUMEN", "PASS-MAH-JOUR", "--reseller", "fnac"]) == EXIT_PROBLEMS

    out = capsys.readouterr().out
    assert "EVT-LUMEN: 1 problem(s)" in out
    assert "category CAT3 has no type de tarif: add it to" in out
    assert "PASS-MAH-JOUR: OK" in out


@pytest.mark.usefixtures("include")
def test_no_database_checks_the_files_only(
    mappings: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_VARIABLE, "postgresql+psycopg://nobody@127.0.0.1:1/none")
    default_engine.cache_clear()
    assert main(["check", "--no-database"]) == EXIT_OK

    (mappings / "CMP-LYON-NANTES.yaml").unlink()
    assert main(["check", "--no-database"]) == EXIT_PROBLEMS
    assert "product CMP-LYON-NANTES has no mapping file" in capsys.readouterr().out
    default_engine.cache_clear()


def test_invalid_settings_cannot_be_checked(
    include: Path, edit: Edit, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(
        include / "config" / "resellers" / "fnac.yaml", "manager_code: M0427", "manager_code: 0427"
    )

    assert main(["check", "--no-database"]) == EXIT_CANNOT_CHECK
    assert "manager_code" in capsys.readouterr().err


@pytest.mark.usefixtures("include")
def test_unreadable_box_office_says_to_use_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(URL_VARIABLE, f"sqlite:///{tmp_path / 'empty.sqlite'}")
    default_engine.cache_clear()
    try:
        assert main(["check"]) == EXIT_CANNOT_CHECK
    finally:
        default_engine().dispose()
        default_engine.cache_clear()
    assert "Use --no-database" in capsys.readouterr().err


@pytest.mark.usefixtures("include")
def test_the_reseller_may_be_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--no-database", "--reseller", "fnac"]) == EXIT_OK
    assert "All mappings are correct." in capsys.readouterr().out

    assert main(["check", "--no-database", "--reseller", "nope"]) == EXIT_CANNOT_CHECK
    assert "no reseller type 'nope' is registered" in capsys.readouterr().err


def test_without_a_configured_reseller_there_is_nothing_to_check(
    include: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for settings_file in (include / "config" / "resellers").glob("*.yaml"):
        settings_file.unlink()

    assert main(["check", "--no-database"]) == EXIT_CANNOT_CHECK
    assert "No reseller is configured" in capsys.readouterr().err


@pytest.mark.usefixtures("include")
def test_every_configured_reseller_is_checked_in_turn_and_products_need_a_reseller(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "--no-database"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "FNAC" in out
    assert "Ticketnet" in out
    assert "Digitick (digitick):" in out
    assert "ClassicTic (classictic):" in out

    assert main(["check", "--no-database", "EVT-LUMEN"]) == EXIT_CANNOT_CHECK
    assert (
        "say which reseller with --reseller CODE: 5 are: classictic, digitick, fnac, secutix, "
        "ticketnet"
    ) in (capsys.readouterr().err)
