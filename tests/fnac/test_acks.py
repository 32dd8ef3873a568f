"""FNAC's ACKs: reading them, and recording them in the journal (sandbox, SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reseller_sync.boxoffice.models import Direction, ExchangeFile, FileState
from reseller_sync.domain.errors import (
    ErrorCategory,
    MappingError,
    TechnicalError,
    TemporaryExternalError,
)
from reseller_sync.exchange.transport import SftpTransport
from reseller_sync.fnac.acks import Verdict, await_ack, interpret_ack
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.outbound import SendStatus, send_again
from reseller_sync.fnac.places import send_places
from reseller_sync.fnac.reader import read_file
from reseller_sync.fnac.sale_sheet import send_sale_sheet
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.fnac.writer import write_ack, write_file
from tests.fnac.conftest import SALES_OPEN

ACK_CREATED = dt.datetime(2026, 11, 28, 13, 20, tzinfo=dt.UTC)
PLACES_NAME = "PLACES_M0427_000007_20261128130003.csv"
SEAT = {
    "code_manifestation": "004512",
    "date_seance": dt.datetime(2027, 2, 26, 20, 30),
    "code_salle": "ZEN01",
    "code_bloc": "B",
    "type_tarif": "1",
    "code_allotement": "A1",
    "quantite": 1,
}


def ack_lines(sent: str, *refusals: tuple[int, str]) -> list[dict[str, object]]:
    """The ACK's lines: OK;0 without refusals, else one KO line per (line, code)."""
    if not refusals:
        return [{"fichier": sent, "statut": "OK", "ligne": 0}]
    return [
        {"fichier": sent, "statut": "KO", "ligne": line, "code_erreur": code, "message": "refusé"}
        for line, code in refusals
    ]


def parsed_ack(sent: str, *refusals: tuple[int, str]):
    name, data = write_ack(sent, ack_lines(sent, *refusals), created=ACK_CREATED)
    return read_file(name, data)


def sent_places():
    records = [{**SEAT, "rang": "3", "place": str(number)} for number in range(1, 4)] + [
        {**SEAT, "code_bloc": "FOSSE", "type_tarif": "4", "quantite": 200}
    ]
    name, data = write_file(FileType.PLACES, "M0427", 7, records, created=ACK_CREATED)
    return read_file(name, data)


# Reading an ACK ---------------------------------------------------------------


def test_an_ok_ack_means_everything_was_applied() -> None:
    outcome = interpret_ack(PLACES_NAME, parsed_ack(PLACES_NAME))
    assert outcome.applied
    assert outcome.state is FileState.ACKNOWLEDGED
    assert outcome.refused == ()
    assert outcome.error() is None


def test_places_already_fnac_s_are_fine_and_sold_ones_are_a_notice() -> None:
    sent = sent_places()
    outcome = interpret_ack(
        str(sent.name), parsed_ack(str(sent.name), (1, "E06"), (2, "E07")), sent
    )
    assert outcome.state is FileState.ACKNOWLEDGED
    assert [line.verdict for line in outcome.refused] == [Verdict.FINE, Verdict.NOTICE]
    assert outcome.error() is None
    assert outcome.applied_line_count == 2
    assert outcome.raise_for_errors() is outcome


def test_unknown_blocs_are_a_mapping_error_naming_the_places() -> None:
    sent = sent_places()
    ack = parsed_ack(str(sent.name), (2, "E05"), (3, "E06"), (4, "E05"))
    outcome = interpret_ack(str(sent.name), ack, sent)

    assert outcome.state is FileState.ACKNOWLEDGED  # the other lines were applied
    assert outcome.refused_lines == (2, 3, 4)
    with pytest.raises(MappingError) as raised:
        outcome.raise_for_errors()
    problems = raised.value.problems
    assert [(p.line, p.value) for p in problems] == [(2, "E05"), (4, "E05")]
    assert "séance 26/02/2027 20:30, bloc B, rang 3, place 2" in problems[0].reason
    assert "bloc FOSSE, 200 place(s) in free placement" in problems[1].reason
    assert "FNAC: refusé" in problems[0].reason


@pytest.mark.parametrize(
    ("code", "category", "error"),
    [
        ("E01", ErrorCategory.TECHNICAL, TechnicalError),
        ("E02", ErrorCategory.TECHNICAL, TechnicalError),
        ("E03", ErrorCategory.MAPPING, MappingError),
        ("E04", ErrorCategory.MAPPING, MappingError),
        ("E08", ErrorCategory.MAPPING, MappingError),
        ("E09", ErrorCategory.MAPPING, MappingError),
        ("E99", ErrorCategory.EXTERNAL, TemporaryExternalError),
    ],
)
def test_a_whole_file_refusal_is_sorted_by_its_code(
    code: str, category: ErrorCategory, error: type[Exception]
) -> None:
    outcome = interpret_ack(PLACES_NAME, parsed_ack(PLACES_NAME, (0, code)))
    assert outcome.whole_file_refused
    assert outcome.state is FileState.REFUSED
    assert outcome.category is category
    assert type(outcome.error()) is error


def test_a_refused_line_of_a_sale_sheet_refuses_it_whole() -> None:
    sent = "FICHE_M0427_000003_20261128090000.csv"
    outcome = interpret_ack(sent, parsed_ack(sent, (5, "E08")))
    assert outcome.whole_file_refused
    assert outcome.category is ErrorCategory.MAPPING


def test_an_ack_of_another_file_is_refused() -> None:
    other = "PLACES_M0427_000008_20261128130003.csv"
    with pytest.raises(TechnicalError, match="does not answer"):
        interpret_ack(PLACES_NAME, parsed_ack(other))


# Waiting for the ACK on the sandbox and recording it ----------------------------


def drop_ack(fnac_home: Path, sent: str, *refusals: tuple[int, str]) -> str:
    """FNAC answers: it writes the ACK in /retour/ (straight on disk, as its side would)."""
    name, data = write_ack(sent, ack_lines(sent, *refusals), created=ACK_CREATED)
    (fnac_home / "retour" / name).write_bytes(data)
    return name


def poke(
    sessions: sessionmaker[Session], transport: SftpTransport, settings: FnacSettings, sent: str
):
    with sessions.begin() as session:
        return await_ack(session, transport, settings, sent)


def journaled(sessions: sessionmaker[Session], name: str) -> ExchangeFile:
    with sessions() as session:
        entry = session.scalars(select(ExchangeFile).where(ExchangeFile.name == name)).one()
        entry.errors  # noqa: B018 - loaded before the session closes
        return entry


def test_an_ok_ack_is_awaited_landed_and_recorded(
    sessions: sessionmaker[Session],
    transport: SftpTransport,
    sandbox_settings: FnacSettings,
    fnac_home: Path,
) -> None:
    sent = send_sale_sheet(
        sessions, transport, sandbox_settings, "PASS-MAH-JOUR", sales_open=SALES_OPEN
    )
    assert sent.name is not None
    assert poke(sessions, transport, sandbox_settings, sent.name) is None

    ack = drop_ack(fnac_home, sent.name)
    outcome = poke(sessions, transport, sandbox_settings, sent.name)
    again = poke(sessions, transport, sandbox_settings, sent.name)

    assert outcome is not None
    assert outcome.applied
    assert again == outcome
    sent_entry, ack_entry = journaled(sessions, sent.name), journaled(sessions, ack)
    assert sent_entry.state is FileState.ACKNOWLEDGED
    assert sent_entry.error_category is None
    assert ack_entry.direction is Direction.INBOUND
    assert ack_entry.file_type == "ACK_FICHE"
    assert ack_entry.state is FileState.INTEGRATED
    assert ack_entry.answers_file_id == sent_entry.id


def test_a_whole_refusal_is_recorded_and_the_next_run_sends_a_new_file(
    sessions: sessionmaker[Session],
    transport: SftpTransport,
    sandbox_settings: FnacSettings,
    fnac_home: Path,
) -> None:
    sent = send_sale_sheet(
        sessions, transport, sandbox_settings, "PASS-MAH-JOUR", sales_open=SALES_OPEN
    )
    assert sent.name is not None
    drop_ack(fnac_home, sent.name, (0, "E01"))

    outcome = poke(sessions, transport, sandbox_settings, sent.name)

    assert outcome is not None
    with pytest.raises(TechnicalError):
        outcome.raise_for_errors()
    entry = journaled(sessions, sent.name)
    assert entry.state is FileState.REFUSED
    assert entry.error_category == "technical"
    assert [(e.line, e.code) for e in entry.errors] == [(0, "E01")]
    resent = send_sale_sheet(
        sessions, transport, sandbox_settings, "PASS-MAH-JOUR", sales_open=SALES_OPEN
    )
    assert resent.status is SendStatus.SENT
    assert resent.sequence == 2


def test_places_refused_as_already_fnac_s_are_fine(
    sessions: sessionmaker[Session],
    transport: SftpTransport,
    sandbox_settings: FnacSettings,
    fnac_home: Path,
) -> None:
    sent = send_places(sessions, transport, sandbox_settings, "CMP-LYON-NANTES")
    assert sent.name is not None
    drop_ack(fnac_home, sent.name, (118, "E06"), (119, "E06"))

    outcome = poke(sessions, transport, sandbox_settings, sent.name)

    assert outcome is not None
    assert outcome.raise_for_errors() is outcome
    entry = journaled(sessions, sent.name)
    assert entry.state is FileState.ACKNOWLEDGED
    assert entry.error_category is None
    assert [(e.line, e.code) for e in entry.errors] == [(118, "E06"), (119, "E06")]
    again = send_places(sessions, transport, sandbox_settings, "CMP-LYON-NANTES")
    assert again.status is SendStatus.ALREADY_SENT


def test_places_with_unknown_blocs_are_a_mapping_error_and_can_be_sent_again(
    sessions: sessionmaker[Session],
    transport: SftpTransport,
    sandbox_settings: FnacSettings,
    fnac_home: Path,
) -> None:
    sent = send_places(sessions, transport, sandbox_settings, "CMP-LYON-NANTES")
    assert sent.name is not None
    drop_ack(fnac_home, sent.name, (1, "E05"), (2, "E06"), (391, "E05"))

    outcome = poke(sessions, transport, sandbox_settings, sent.name)

    assert outcome is not None
    with pytest.raises(MappingError) as raised:
        outcome.raise_for_errors()
    assert [p.line for p in raised.value.problems] == [1, 391]
    assert "bloc N1, rang 1, place 1" in raised.value.problems[0].reason
    assert "bloc VIRSUD, 500 place(s) in free placement" in raised.value.problems[1].reason
    entry = journaled(sessions, sent.name)
    assert entry.state is FileState.ACKNOWLEDGED  # the other lines were applied
    assert entry.error_category == "mapping"
    assert [(e.line, e.code) for e in entry.errors] == [(1, "E05"), (2, "E06"), (391, "E05")]
    assert entry.errors[0].value == "séance 30/01/2027 21:00, bloc N1, rang 1, place 1"
    fixed = send_places(sessions, transport, sandbox_settings, "CMP-LYON-NANTES")
    assert fixed.status is SendStatus.SENT
    assert fixed.sequence == 2


def test_a_temporary_failure_at_fnac_sends_the_same_content_under_a_new_sequence(
    sessions: sessionmaker[Session],
    transport: SftpTransport,
    sandbox_settings: FnacSettings,
    fnac_home: Path,
) -> None:
    sent = send_sale_sheet(
        sessions, transport, sandbox_settings, "PASS-MAH-JOUR", sales_open=SALES_OPEN
    )
    assert sent.name is not None
    drop_ack(fnac_home, sent.name, (0, "E99"))

    outcome = poke(sessions, transport, sandbox_settings, sent.name)

    assert outcome is not None
    with pytest.raises(TemporaryExternalError):
        outcome.raise_for_errors()
    entry = journaled(sessions, sent.name)
    assert entry.state is FileState.REFUSED
    assert entry.error_category == "external"
    again = send_again(sessions, transport, sandbox_settings, sent.name)
    assert again.status is SendStatus.SENT
    assert again.sequence == 2
    first = read_file(sent.name, (fnac_home / "depot" / sent.name).read_bytes()).frame
    second = read_file(again.name or "", (fnac_home / "depot" / (again.name or "")).read_bytes())
    assert second.frame.equals(first)
