"""``python -m reseller_sync journal list|set-aside``: what it prints, its exit status, what it
records and mails (a real SMTP sink), and that a refusal changes nothing."""

from __future__ import annotations

import datetime as dt
import getpass
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from devtools.mailsink import MailSink, message_text
from reseller_sync.boxoffice.db import URL_VARIABLE, default_engine
from reseller_sync.boxoffice.models import Alert, ExchangeFile, FileState
from reseller_sync.cli import main as cli_main
from reseller_sync.config.paths import INCLUDE_DIR_VARIABLE, settings_path
from reseller_sync.exchange import journal
from reseller_sync.exchange.cli import EXIT_CANNOT_RUN, EXIT_OK, EXIT_REFUSED
from tests.alerts.conftest import mail_sink  # noqa: F401 (fixture)
from tests.exchange.test_journal import landed

FAILED = "VENTES_M0427_000002_20261128130503.csv"
WAITING = "VENTES_M0427_000003_20261128130503.csv"


def main(*arguments: str) -> int:
    """``python -m reseller_sync journal ...``, in process."""
    return cli_main(["journal", *arguments])


@pytest.fixture
def box_office(
    sqlite_demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """The demo box office (the default one of the command) with VENTES 1 integrated,
    2 failed (truncated) and 3 waiting behind it."""
    copy = tmp_path / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, copy)
    monkeypatch.setenv(URL_VARIABLE, f"sqlite:///{copy}")
    default_engine.cache_clear()
    engine = default_engine()
    with Session(engine) as session, session.begin():
        ids = [journal.land(session, "fnac", landed(seq)).file_id for seq in (1, 2, 3)]
        journal.mark_integrated(session, ids[0], 4)
        journal.mark_failed(session, ids[1], "external", "the file has no trailer: truncated")
    yield engine
    engine.dispose()
    default_engine.cache_clear()


def states(engine: Engine) -> dict[str, FileState]:
    with Session(engine) as session:
        return dict(session.execute(select(ExchangeFile.name, ExchangeFile.state)).all())


def test_set_aside_records_who_when_why_mails_it_and_says_what_next(
    box_office: Engine,
    mail_sink: MailSink,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = dt.datetime.now(dt.UTC)

    status = main("set-aside", FAILED, "--reason", "truncated; FNAC resent it as 000003")

    out = capsys.readouterr().out
    assert status == EXIT_OK
    user = getpass.getuser()
    assert f"{FAILED} (VENTES sequence 000002) set aside by {user} at " in out
    assert "truncated; FNAC resent it as 000003" in out
    assert f"Now ready, in order: {WAITING}" in out
    assert "e-mailed to: billetterie-exploitation@example.org" in out
    assert "Next: Clear the failed task in Airflow (fnac_inbound)" in out
    with Session(box_office) as session:
        entry = session.scalars(select(ExchangeFile).where(ExchangeFile.name == FAILED)).one()
        assert (entry.state, entry.set_aside_by) == (FileState.SET_ASIDE, user)
        assert entry.set_aside_reason == "truncated; FNAC resent it as 000003"
        assert entry.set_aside_at is not None
        assert entry.set_aside_at.replace(tzinfo=dt.UTC) >= before.replace(microsecond=0)
        alert = session.scalars(select(Alert)).one()
        assert (alert.kind, alert.category, alert.file_name, alert.delivered) == (
            "file_set_aside",
            "external",
            FAILED,
            True,
        )
    [mail] = mail_sink.messages()
    assert mail["Subject"] == f"[FNAC] Erreur externe — mis de côté par {user} — {FAILED}"
    assert "truncated; FNAC resent it as 000003" in message_text(mail)


@pytest.mark.usefixtures("mail_sink")
def test_set_aside_by_someone_named(box_office: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main("set-aside", FAILED, "--reason", "resent", "--by", "Alice Martin") == EXIT_OK
    assert "set aside by Alice Martin" in capsys.readouterr().out
    with Session(box_office) as session:
        entry = session.scalars(select(ExchangeFile).where(ExchangeFile.name == FAILED)).one()
        assert entry.set_aside_by == "Alice Martin"


@pytest.mark.parametrize(
    ("name", "reason", "message"),
    [
        ("VENTES_M0427_000042_20261128130503.csv", "why", "no file named"),
        (WAITING, "why", "is landed, not failed"),
        ("VENTES_M0427_000001_20261128130503.csv", "why", "is integrated, not failed"),
        (FAILED, "  ", "a reason is required"),
    ],
)
def test_a_file_that_cannot_be_set_aside_is_refused_and_nothing_changes(
    box_office: Engine,
    mail_sink: MailSink,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    name: str,
    reason: str,
    message: str,
) -> None:
    before = states(box_office)

    assert main("set-aside", name, "--reason", reason, "--by", "alice") == EXIT_REFUSED

    # (Only this command's line: Airflow's logging, set up by an earlier test, may write too.)
    [said] = [text for text in capsys.readouterr().err.splitlines() if "Not set aside" in text]
    assert said.startswith("Not set aside: ")
    assert message in said
    assert said.endswith("Nothing was changed.")
    assert states(box_office) == before
    assert mail_sink.messages() == []
    with Session(box_office) as session:
        assert session.scalars(select(Alert)).all() == []


def test_a_reason_is_required_by_the_command_line(
    box_office: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        main("set-aside", FAILED)
    assert raised.value.code == 2
    assert "--reason" in capsys.readouterr().err
    assert states(box_office)[FAILED] is FileState.FAILED


@pytest.mark.usefixtures("mail_sink")
def test_list_shows_what_is_stuck_then_what_was_set_aside(
    box_office: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main("list", "--state", "failed") == EXIT_OK
    out = capsys.readouterr().out
    assert FAILED in out
    assert "external: the file has no trailer: truncated" in out
    assert WAITING not in out

    main("set-aside", FAILED, "--reason", "resent", "--by", "alice")
    capsys.readouterr()
    assert main("list", "--state", "failed") == EXIT_OK
    assert capsys.readouterr().out.strip() == "No file matches."
    assert main("list", "--state", "set_aside") == EXIT_OK
    assert FAILED in capsys.readouterr().out
    assert main("list", "--limit", "1") == EXIT_OK
    assert "(1 of 3; --limit shows more)" in capsys.readouterr().out


def test_an_unreadable_box_office_cannot_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(URL_VARIABLE, f"sqlite:///{tmp_path / 'empty.sqlite'}")
    default_engine.cache_clear()
    try:
        assert main("set-aside", FAILED, "--reason", "why", "--by", "a") == EXIT_CANNOT_RUN
        assert "Cannot use the box office at sqlite:///" in capsys.readouterr().err
        assert main("list") == EXIT_CANNOT_RUN
    finally:
        default_engine().dispose()
        default_engine.cache_clear()


def test_smtp_down_still_sets_aside_records_the_notice_and_says_so(
    box_office: Engine,
    mail_sink: MailSink,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    mail_sink.stop()

    assert main("set-aside", FAILED, "--reason", "resent", "--by", "alice") == EXIT_OK

    err = capsys.readouterr().err
    assert "recorded but NOT e-mailed" in err
    assert "tell billetterie-exploitation@example.org yourself" in err
    assert states(box_office)[FAILED] is FileState.SET_ASIDE
    with Session(box_office) as session:
        alert = session.scalars(select(Alert)).one()
        assert (alert.kind, alert.delivered) == ("file_set_aside", False)
        assert alert.delivery_error


@pytest.mark.usefixtures("mail_sink")
def test_set_aside_for_a_reseller_named_on_the_command_line(
    box_office: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main("set-aside", FAILED, "--reason", "r", "--by", "alice", "--reseller", "fnac")
    assert status == EXIT_OK
    assert f"{FAILED} (VENTES sequence 000002) set aside by alice" in capsys.readouterr().out
    assert states(box_office)[FAILED] is FileState.SET_ASIDE


@pytest.mark.parametrize(
    ("reseller", "configured", "message"),
    [
        ("nosuch", ("fnac",), "no reseller type 'nosuch' is registered"),
        (None, (), "say which reseller with --reseller CODE: none is configured"),
    ],
)
def test_a_reseller_unknown_or_not_configured_cannot_run(
    box_office: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    reseller: str | None,
    configured: tuple[str, ...],
    message: str,
) -> None:
    include = tmp_path / "include"
    (include / "config" / "resellers").mkdir(parents=True)
    for code in configured:
        shutil.copy(settings_path(code), include / "config" / "resellers" / f"{code}.yaml")
    monkeypatch.setenv(INCLUDE_DIR_VARIABLE, str(include))
    chosen = ("--reseller", reseller) if reseller else ()

    assert main("set-aside", FAILED, "--reason", "r", "--by", "a", *chosen) == EXIT_CANNOT_RUN

    assert message in capsys.readouterr().err
    assert states(box_office)[FAILED] is FileState.FAILED
