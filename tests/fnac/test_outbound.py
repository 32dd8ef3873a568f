"""Sending FICHE and PLACES once, over real SFTP to the sandbox (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devtools.sandboxes.fnac import DropConnection, SandboxServer
from reseller_sync.boxoffice.models import Direction, ExchangeFile, FileState, OnboardingState
from reseller_sync.domain.errors import TemporaryExternalError
from reseller_sync.exchange import journal
from reseller_sync.exchange.transport import SftpTransport
from reseller_sync.fnac.names import FileName, FileType
from reseller_sync.fnac.onboarding_state import onboarding_state, set_onboarding_state
from reseller_sync.fnac.outbound import SendResult, SendStatus, send_file
from reseller_sync.fnac.places import send_places
from reseller_sync.fnac.reader import read_file
from reseller_sync.fnac.sale_sheet import build_sale_sheet, send_sale_sheet
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.fnac.writer import write_file
from tests.fnac.conftest import SALES_OPEN

PRODUCT = "PASS-MAH-JOUR"
CREATED = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC)


def sheet_records(sessions: sessionmaker[Session], settings: FnacSettings, product: str = PRODUCT):
    with sessions() as session:
        return build_sale_sheet(session, settings, product, sales_open=SALES_OPEN).records


def outbound(sessions: sessionmaker[Session]) -> list[tuple[str, FileState, str | None]]:
    with sessions() as session:
        rows = session.execute(
            select(ExchangeFile.name, ExchangeFile.state, ExchangeFile.product_code)
            .where(ExchangeFile.direction == Direction.OUTBOUND)
            .order_by(ExchangeFile.file_type, ExchangeFile.sequence)
        )
        return [tuple(row) for row in rows]


def depot(fnac_home: Path) -> list[str]:
    return sorted(path.name for path in (fnac_home / "depot").iterdir() if path.is_file())


def test_a_file_is_sent_once_and_a_rerun_resumes_without_duplicate(
    sessions: sessionmaker[Session],
    transport: SftpTransport,
    sandbox_settings: FnacSettings,
    fnac_home: Path,
) -> None:
    records = sheet_records(sessions, sandbox_settings)

    first = send_file(
        sessions, transport, sandbox_settings, FileType.FICHE, records, PRODUCT, created=CREATED
    )
    again = send_file(sessions, transport, sandbox_settings, FileType.FICHE, records, PRODUCT)

    assert first.status is SendStatus.SENT
    assert first.name == "FICHE_M0427_000001_20261128093000.csv"
    assert first.line_count == 2
    assert again.status is SendStatus.ALREADY_SENT
    assert (again.name, again.file_id) == (first.name, first.file_id)
    assert depot(fnac_home) == [first.name]
    assert outbound(sessions) == [(first.name, FileState.SENT, PRODUCT)]
    with sessions() as session:
        stored = session.get_one(ExchangeFile, first.file_id).content
    assert (fnac_home / "depot" / first.name).read_bytes() == stored
    assert len(read_file(first.name, stored).frame) == 2


def test_records_given_as_a_function_are_built_only_when_a_file_is_written(
    sessions: sessionmaker[Session],
    transport: SftpTransport,
    sandbox_settings: FnacSettings,
    fnac_home: Path,
) -> None:
    """What a sensor's pokes rely on: while the file stands, nothing is built again."""
    builds: list[int] = []

    def records() -> pd.DataFrame:
        builds.append(1)
        return sheet_records(sessions, sandbox_settings)

    def send(**options: object) -> SendResult:
        return send_file(
            sessions, transport, sandbox_settings, FileType.FICHE, records, PRODUCT, **options
        )

    first = send()
    pokes = [send() for _ in range(3)]
    forced = send(force=True)

    assert first.status is SendStatus.SENT
    assert first.line_count == 2
    assert {poke.status for poke in pokes} == {SendStatus.ALREADY_SENT}
    assert forced.status is SendStatus.SENT
    assert len(builds) == 2, "one build per file written"
    assert depot(fnac_home) == sorted([first.name, forced.name])


def test_force_sends_a_new_sequence(
    sessions: sessionmaker[Session],
    transport: SftpTransport,
    sandbox_settings: FnacSettings,
    fnac_home: Path,
) -> None:
    records = sheet_records(sessions, sandbox_settings)
    first = send_file(sessions, transport, sandbox_settings, FileType.FICHE, records, PRODUCT)
    forced = send_file(
        sessions, transport, sandbox_settings, FileType.FICHE, records, PRODUCT, force=True
    )
    assert forced.status is SendStatus.SENT
    assert (first.sequence, forced.sequence) == (1, 2)
    assert depot(fnac_home) == sorted([first.name, forced.name])


def test_a_resend_asked_for_by_a_run_happens_once_whatever_its_retries(
    sessions: sessionmaker[Session],
    transport: SftpTransport,
    sandbox_settings: FnacSettings,
    fnac_home: Path,
) -> None:
    records = sheet_records(sessions, sandbox_settings)
    first = send_file(sessions, transport, sandbox_settings, FileType.FICHE, records, PRODUCT)
    run_started = dt.datetime.now(dt.UTC)

    def resend() -> SendResult:
        return send_file(
            sessions,
            transport,
            sandbox_settings,
            FileType.FICHE,
            records,
            PRODUCT,
            force=True,
            resend_since=run_started,
        )

    resent, retried = resend(), resend()

    assert resent.status is SendStatus.SENT
    assert retried.status is SendStatus.ALREADY_SENT
    assert retried.name == resent.name
    assert (first.sequence, resent.sequence) == (1, 2)
    assert depot(fnac_home) == sorted([first.name, resent.name])


def test_an_upload_cut_short_is_never_final_and_is_completed_under_the_same_name(
    sessions: sessionmaker[Session],
    transport: SftpTransport,
    sandbox_settings: FnacSettings,
    sandbox: SandboxServer,
    fnac_home: Path,
) -> None:
    records = sheet_records(sessions, sandbox_settings, "EVT-LUMEN")
    name = "FICHE_M0427_000001_20261128093000.csv"
    sandbox.faults.inject(f"{name}.part", DropConnection(after_bytes=1000))

    with pytest.raises(TemporaryExternalError):
        send_file(
            sessions,
            transport,
            sandbox_settings,
            FileType.FICHE,
            records,
            "EVT-LUMEN",
            created=CREATED,
        )

    assert name not in depot(fnac_home)  # FNAC never sees a partial file under its final name
    assert outbound(sessions) == [(name, FileState.PREPARED, "EVT-LUMEN")]
    sandbox.faults.clear()
    resumed = send_file(sessions, transport, sandbox_settings, FileType.FICHE, records, "EVT-LUMEN")
    assert resumed.status is SendStatus.COMPLETED
    assert resumed.name == name
    assert depot(fnac_home) == [name]
    assert outbound(sessions) == [(name, FileState.SENT, "EVT-LUMEN")]
    with sessions() as session:
        stored = session.get_one(ExchangeFile, resumed.file_id).content
    assert (fnac_home / "depot" / name).read_bytes() == stored


def test_a_prepared_file_of_another_product_is_completed_before_a_new_number(
    sessions: sessionmaker[Session],
    transport: SftpTransport,
    sandbox_settings: FnacSettings,
    fnac_home: Path,
) -> None:
    """A crash between the journal and the upload: FNAC must not see a gap in the sequence."""
    leftover_name, leftover = write_file(
        FileType.FICHE, "M0427", 1, sheet_records(sessions, sandbox_settings, "EVT-LUMEN")
    )
    with sessions.begin() as session:
        journal.prepare_outbound(
            session, "fnac", FileName.parse(leftover_name), leftover, product_code="EVT-LUMEN"
        )

    result = send_file(
        sessions,
        transport,
        sandbox_settings,
        FileType.FICHE,
        sheet_records(sessions, sandbox_settings),
        PRODUCT,
    )

    assert result.status is SendStatus.SENT
    assert result.sequence == 2
    assert result.completed_leftovers == (leftover_name,)
    assert (fnac_home / "depot" / leftover_name).read_bytes() == leftover
    assert [state for _, state, _ in outbound(sessions)] == [FileState.SENT, FileState.SENT]


def test_a_dry_run_sends_nothing_and_journals_nothing(
    sessions: sessionmaker[Session],
    transport: SftpTransport,
    sandbox_settings: FnacSettings,
    fnac_home: Path,
) -> None:
    records = sheet_records(sessions, sandbox_settings, "EVT-LUMEN")
    result = send_file(
        sessions, transport, sandbox_settings, FileType.FICHE, records, "EVT-LUMEN", dry_run=True
    )
    assert result.status is SendStatus.DRY_RUN
    assert result.file_id is None
    assert result.data is not None
    assert len(read_file(result.name or "", result.data).frame) == 36
    assert result.preview is not None
    lines = result.preview.splitlines()
    assert lines[0].startswith("ENTETE;FICHE;1;M0427;000001;")
    assert lines[2].startswith("EVT-LUMEN;Lumen — Tournée 2027;EVENEMENT;004512;")
    assert lines[-1] == "… 27 more line(s)"  # header, columns, 36 lines, trailer: 39 in all
    assert depot(fnac_home) == []
    assert outbound(sessions) == []


def test_a_refused_file_lets_the_next_run_send_a_new_one(
    sessions: sessionmaker[Session],
    transport: SftpTransport,
    sandbox_settings: FnacSettings,
) -> None:
    records = sheet_records(sessions, sandbox_settings)
    first = send_file(sessions, transport, sandbox_settings, FileType.FICHE, records, PRODUCT)
    with sessions.begin() as session:
        session.get_one(ExchangeFile, first.file_id).state = FileState.REFUSED
    second = send_file(sessions, transport, sandbox_settings, FileType.FICHE, records, PRODUCT)
    assert second.status is SendStatus.SENT
    assert second.sequence == 2


def test_the_onboarding_steps_send_and_move_the_product_forward(
    sessions: sessionmaker[Session],
    transport: SftpTransport,
    sandbox_settings: FnacSettings,
    fnac_home: Path,
) -> None:
    sheet = send_sale_sheet(
        sessions, transport, sandbox_settings, "EVT-LUMEN", sales_open=SALES_OPEN
    )
    with sessions() as session:
        assert onboarding_state(session, "EVT-LUMEN") is OnboardingState.SALE_SHEET_SENT
    places = send_places(sessions, transport, sandbox_settings, "EVT-LUMEN")
    skipped = send_places(sessions, transport, sandbox_settings, PRODUCT)
    resent = send_sale_sheet(
        sessions, transport, sandbox_settings, "EVT-LUMEN", sales_open=SALES_OPEN
    )

    assert sheet.status is SendStatus.SENT
    assert places.status is SendStatus.SENT
    assert places.line_count == 3 * 626
    assert skipped.status is SendStatus.SKIPPED
    assert skipped.reason is not None
    assert "never sent for a pass" in skipped.reason
    assert resent.status is SendStatus.ALREADY_SENT
    assert depot(fnac_home) == sorted([sheet.name, places.name])
    with sessions() as session:
        assert onboarding_state(session, "EVT-LUMEN") is OnboardingState.PLACES_SENT
        assert onboarding_state(session, PRODUCT) is OnboardingState.NOT_STARTED


def test_the_onboarding_state_only_goes_back_when_asked(demo_session: Session) -> None:
    assert set_onboarding_state(demo_session, PRODUCT, OnboardingState.MAPPED) == "mapped"
    assert (
        set_onboarding_state(demo_session, PRODUCT, OnboardingState.SALE_SHEET_SENT)
        is OnboardingState.MAPPED
    )
    assert (
        set_onboarding_state(
            demo_session, PRODUCT, OnboardingState.SALE_SHEET_SENT, allow_backwards=True
        )
        is OnboardingState.SALE_SHEET_SENT
    )
