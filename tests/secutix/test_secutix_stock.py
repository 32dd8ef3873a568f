"""The reseller's nightly STOCK reconciled with the box office (secutix-reseller-v1 sections
6, 7.3, 9.1 point 7 and 10.2): places given as the RESULT files confirmed them, tickets
sold after the TICKETS files the snapshot reflects, places available; every difference
reported, the report kept; a STOCK waits for its TICKETS files; T21 refuses it."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    Direction,
    ExchangeFile,
    ExchangeFileMember,
    FileState,
)
from reseller_sync.config.paths import REPORTS_DIR_VARIABLE
from reseller_sync.integration.ticket_states import integrate_ticket_state_lines
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.secutix import stock
from reseller_sync.secutix.errors import Code, FileRefusedError
from reseller_sync.secutix.lines import integration_settings, ticket_state_lines
from reseller_sync.secutix.mappings import load_repository
from reseller_sync.secutix.reader import read_file
from reseller_sync.secutix.stock import Difference, DifferenceKind
from tests.secutix.secutix_samples import STOCK_20261129, TICKETS_42, control_for, tickets
from tests.secutix.test_secutix_contingent import add_secutix
from tests.secutix.test_secutix_lines import settings
from tests.secutix.test_secutix_result import apply, result_text, send_contingent, send_withdrawal

SNAPSHOT = "2026-11-29T02:30:00+01:00"
PIT_SALE = TICKETS_42.splitlines()[2]
SEAT_SALE = TICKETS_42.splitlines()[1]


@pytest.fixture
def session(demo_session: Session) -> Session:
    add_secutix(demo_session)
    return demo_session


@pytest.fixture
def repository(tmp_path: Path) -> MappingRepository:
    """No mapping file: the exchanged codes are the box office's (section 2)."""
    return load_repository(tmp_path / "no-mappings")


@pytest.fixture(autouse=True)
def reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "reports"
    monkeypatch.setenv(REPORTS_DIR_VARIABLE, str(folder))
    return folder


# --------------------------------------------------------------------------- helpers


def landed(
    session: Session,
    name: str,
    data: bytes,
    *,
    state: FileState = FileState.LANDED,
    control: bytes | None = None,
) -> int:
    """A data file and its control file in the journal, landed as one unit under the
    control file's name (as the inbound landing does)."""
    control_name = name.replace(".csv", ".ctl")
    control = control if control is not None else control_for(name, data)
    stream, key = name.removesuffix(".csv").split("_")
    entry = ExchangeFile(
        reseller_code="secutix",
        direction=Direction.INBOUND,
        file_type=stream,
        sequence=int(key),
        name=control_name,
        size=len(control),
        sha256=hashlib.sha256(control).hexdigest(),
        content=control,
        state=state,
        members=[
            ExchangeFileMember(
                name=name, size=len(data), sha256=hashlib.sha256(data).hexdigest(), content=data
            )
        ],
    )
    session.add(entry)
    session.flush()
    return entry.id


def sell(session: Session, number: int, *lines: str) -> int:
    """TICKETS file ``number`` holding ``lines`` (their FILE_NUMBER set), applied."""
    name = f"TICKETS_{number:08d}.csv"
    text = tickets(*(_numbered(line, number) for line in lines))
    data = text.encode()
    file_id = landed(session, name, data, state=FileState.INTEGRATED)
    data_file = read_file(name, data, control_for(name, data))
    instance = settings()
    batch = ticket_state_lines(session, instance, data_file)
    integrate_ticket_state_lines(
        session, integration_settings(instance), name, batch, file_id=file_id
    )
    return file_id


def _numbered(line: str, number: int) -> str:
    fields = line.split(";")
    fields[2] = str(number)
    return ";".join(fields)


def stock_file(*lines: str, through: int = 1, snapshot: str = SNAPSHOT) -> str:
    header = STOCK_20261129.splitlines()[0]
    rows = [f"{line};{through};{snapshot}" for line in lines]
    return "".join(f"{row}\n" for row in (header, *rows))


AGREEING = (
    "TOSCA27;TOSCA27-0314;CAT1;2;1;1",
    "TOSCA27;TOSCA27-0314;FOSSE;300;1;299",
    "PASS27;;LIBRE;500;0;500",
)
"""What the reseller holds once CONTINGENT_00000006 is answered OK and order 300417 (seat
F/12 and a pit place) is sold (the STOCK example of section 12)."""


def given_and_sold(session: Session) -> None:
    """CONTINGENT 6 sent and answered OK line by line; TICKETS file 1 sells order 300417."""
    send_contingent(session)
    apply(session, 6, result_text("1;OK;;;", "2;OK;;;", "3;OK;;;", "4;OK;;;"))
    sell(session, 1, SEAT_SALE, PIT_SALE)


def reconcile(
    session: Session, repository: MappingRepository, text: str, day: str = "20261129"
) -> stock.StockReconciliation | None:
    file_id = landed(session, f"STOCK_{day}.csv", text.encode())
    return stock.reconcile_stock(session, settings(), repository, file_id)


# --------------------------------------------------------------------------- compared


def test_a_stock_that_agrees_has_no_difference_and_its_report_says_so(
    session: Session, repository: MappingRepository, reports: Path
) -> None:
    given_and_sold(session)
    result = reconcile(session, repository, stock_file(*AGREEING))

    assert result is not None
    assert result.differences == ()
    assert result.counts == {}
    assert (result.file_name, result.lines, result.tickets_file_number) == (
        "STOCK_20261129.csv",
        3,
        1,
    )
    assert result.report == "reconciliation/secutix-STOCK_20261129.html"
    assert "agree: no difference" in (reports / result.report).read_text()
    entry = session.get_one(ExchangeFile, result.file_id)
    assert (entry.state, entry.line_count) == (FileState.INTEGRATED, 3)


def test_each_difference_is_reported_with_the_report(
    session: Session, repository: MappingRepository, reports: Path
) -> None:
    given_and_sold(session)
    text = stock_file(
        "TOSCA27;TOSCA27-0314;CAT1;3;1;2",  # a seat more given
        "TOSCA27;TOSCA27-0314;FOSSE;300;2;298",  # a pit place sold that the box office lacks
        "OTHER27;OTHER27-0101;CAT1;10;0;10",  # a key the box office never gave
    )  # PASS27 missing: the reseller holds none of its 500 places
    result = reconcile(session, repository, text)

    assert result is not None
    assert result.differences == (
        Difference(DifferenceKind.GIVEN, "OTHER27", "OTHER27-0101", "CAT1", 10, 0),
        Difference(DifferenceKind.AVAILABLE, "OTHER27", "OTHER27-0101", "CAT1", 10, 0),
        Difference(DifferenceKind.GIVEN, "PASS27", "", "LIBRE", 0, 500),
        Difference(DifferenceKind.AVAILABLE, "PASS27", "", "LIBRE", 0, 500),
        Difference(DifferenceKind.GIVEN, "TOSCA27", "TOSCA27-0314", "CAT1", 3, 2),
        Difference(DifferenceKind.AVAILABLE, "TOSCA27", "TOSCA27-0314", "CAT1", 2, 1),
        Difference(DifferenceKind.SOLD, "TOSCA27", "TOSCA27-0314", "FOSSE", 2, 1),
        Difference(DifferenceKind.AVAILABLE, "TOSCA27", "TOSCA27-0314", "FOSSE", 298, 299),
    )
    assert result.counts == {"given": 3, "available": 4, "sold": 1}
    problem = result.problems()[2]
    assert problem.file == "STOCK_20261129.csv"
    assert "PASS27 (undated pass), seat category LIBRE" in problem.reason
    assert "reseller: 0; box office: 500" in problem.reason
    assert result.summary()["differences"] == {"given": 3, "available": 4, "sold": 1}
    page = (reports / str(result.report)).read_text()
    assert "8 difference(s)" in page
    assert "OTHER27-0101" in page
    # A difference stops nothing: the file is integrated.
    assert session.get_one(ExchangeFile, result.file_id).state is FileState.INTEGRATED


def box_office_counts(
    session: Session, repository: MappingRepository
) -> dict[tuple[str, str], tuple[int, int, int]]:
    moment = dt.datetime.fromisoformat(SNAPSHOT)
    frame = stock.box_office_stock(session, settings(), repository, 0, moment)
    return {
        (row.PRODUCT_CODE, row.SEATCAT_CODE): (row.GIVEN, row.SOLD, row.AVAILABLE)
        for row in frame.itertuples()
    }


def test_places_given_are_those_the_result_confirmed(
    session: Session, repository: MappingRepository
) -> None:
    send_contingent(session)
    # Sent, not answered: nothing given yet.
    assert ("TOSCA27", "CAT1") not in box_office_counts(session, repository)
    # Seat F/13 refused (Q02): the reseller was given F/12 only.
    apply(session, 6, result_text("1;OK;;;", "2;KO;Q02;;non", "3;OK;;;", "4;OK;;;"))
    counts = box_office_counts(session, repository)
    assert counts[("TOSCA27", "CAT1")] == (1, 0, 1)
    assert counts[("TOSCA27", "FOSSE")] == (300, 0, 300)
    assert counts[("PASS27", "LIBRE")] == (500, 0, 500)


def test_places_withdrawn_leave_the_places_given(
    session: Session, repository: MappingRepository
) -> None:
    send_contingent(session)
    apply(session, 6, result_text("1;OK;;;", "2;OK;;;", "3;OK;;;", "4;OK;;;"))
    # Seat F/13 and 20 pit places asked back (file 7): sent, still the reseller's.
    send_withdrawal(session)
    counts = box_office_counts(session, repository)
    assert (counts[("TOSCA27", "CAT1")], counts[("TOSCA27", "FOSSE")]) == ((2, 0, 2), (300, 0, 300))
    # Answered: the seat withdrawn, the pit places refused as sold (Q05): kept.
    apply(session, 7, result_text("1;OK;;;", "2;KO;Q05;;vendu"))
    counts = box_office_counts(session, repository)
    assert (counts[("TOSCA27", "CAT1")], counts[("TOSCA27", "FOSSE")]) == ((1, 0, 1), (300, 0, 300))


def test_tickets_sold_after_the_snapshot_s_files_are_not_counted(
    session: Session, repository: MappingRepository
) -> None:
    given_and_sold(session)
    later = SEAT_SALE.replace("771200000417", "771200000419").replace("300417", "300419")
    sell(session, 2, later.replace("PARTERRE/F/12", "PARTERRE/F/13"))
    result = reconcile(session, repository, stock_file(*AGREEING, through=1))
    assert result is not None
    assert result.differences == ()


# --------------------------------------------------------------------------- the journal


def test_a_stock_waits_for_its_tickets_files(
    session: Session, repository: MappingRepository
) -> None:
    given_and_sold(session)
    file_id = landed(session, "STOCK_20261129.csv", stock_file(*AGREEING, through=3).encode())
    assert stock.tickets_not_applied(session, 3) == [2, 3]
    assert stock.reconcile_stock(session, settings(), repository, file_id) is None
    assert session.get_one(ExchangeFile, file_id).state is FileState.LANDED

    # TICKETS 2 applied, TICKETS 3 set aside by a person: the STOCK goes through.
    landed(session, "TICKETS_00000002.csv", tickets().encode(), state=FileState.INTEGRATED)
    aside = landed(session, "TICKETS_00000003.csv", tickets().encode())
    entry = session.get_one(ExchangeFile, aside)
    entry.state = FileState.SET_ASIDE
    entry.set_aside_by = "ops"
    entry.set_aside_at = dt.datetime.now(dt.UTC)
    entry.set_aside_reason = "replaced by the reseller's next file"
    session.flush()
    result = stock.reconcile_stock(session, settings(), repository, file_id)
    assert result is not None
    assert result.differences == ()


def test_an_inconsistent_stock_is_refused_t21_and_stops_those_behind_it(
    session: Session, repository: MappingRepository
) -> None:
    given_and_sold(session)
    bad = stock_file("TOSCA27;TOSCA27-0314;CAT1;2;2;1", "PASS27;;LIBRE;500;0;500")
    bad_id = landed(session, "STOCK_20261129.csv", bad.encode())
    next_id = landed(session, "STOCK_20261130.csv", stock_file(*AGREEING).encode())
    session.commit()
    engine = session.get_bind()

    with pytest.raises(FileRefusedError) as refused:
        stock.reconcile_pending(engine, settings(), repository)  # type: ignore[arg-type]
    assert refused.value.code is Code.T21
    assert refused.value.problems[0].line == 1

    session.expire_all()
    failed = session.get_one(ExchangeFile, bad_id)
    assert failed.state is FileState.FAILED
    assert failed.error_category == "external"
    assert [error.code for error in failed.errors] == ["T21"]
    assert session.get_one(ExchangeFile, next_id).state is FileState.LANDED


def test_pending_stock_files_go_in_date_order_across_missing_nights(
    session: Session, repository: MappingRepository
) -> None:
    given_and_sold(session)
    later = landed(session, "STOCK_20261201.csv", stock_file(*AGREEING).encode())
    earlier = landed(session, "STOCK_20261129.csv", stock_file(*AGREEING).encode())
    session.commit()

    results = stock.reconcile_pending(session.get_bind(), settings(), repository)  # type: ignore[arg-type]
    assert [r.file_id for r in results] == [earlier, later]
    assert [r.file_name for r in results] == ["STOCK_20261129.csv", "STOCK_20261201.csv"]
    assert stock.reconcile_pending(session.get_bind(), settings(), repository) == []  # type: ignore[arg-type]


def test_a_stock_whose_control_file_does_not_match_is_refused_t02(
    session: Session, repository: MappingRepository
) -> None:
    data = stock_file(*AGREEING).encode()
    file_id = landed(
        session, "STOCK_20261129.csv", data, control=control_for("STOCK_20261129.csv", b"x")
    )
    with pytest.raises(FileRefusedError) as refused:
        stock.reconcile_stock(session, settings(), repository, file_id)
    assert refused.value.code is Code.T02


def test_reconciled_files_are_not_taken_again(
    session: Session, repository: MappingRepository
) -> None:
    given_and_sold(session)
    reconcile(session, repository, stock_file(*AGREEING))
    assert stock.pending_stock(session) == []
    assert session.scalars(
        select(ExchangeFile.state).where(ExchangeFile.file_type == "STOCK")
    ).all() == [FileState.INTEGRATED]
