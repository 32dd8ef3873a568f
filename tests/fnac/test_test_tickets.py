"""Onboarding step 6 on the demo box office: test tickets through the whole chain."""

from __future__ import annotations

import datetime as dt
import hashlib
from itertools import product as pairs

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import AccessControlEntry, ExchangeFile, FileState, Ticket
from reseller_sync.domain.errors import ExternalError, TechnicalError
from reseller_sync.exchange import journal
from reseller_sync.exchange.transport import LandedFile
from reseller_sync.fnac.mappings import load_repository
from reseller_sync.fnac.names import FileName, FileType
from reseller_sync.fnac.settings import FnacSettings, load_settings
from reseller_sync.fnac.test_tickets import (
    access_allowed,
    last_test_sequence,
    run_test_ticket_step,
    set_up_pairs,
)
from reseller_sync.fnac.writer import write_file
from reseller_sync.mappings.repository import MappingRepository
from tests.fnac.test_sales import concert_date, line

CREATED = dt.datetime(2026, 11, 28, 15, 0, tzinfo=dt.UTC)
# The seat of each type de tarif in FNAC's quota: (bloc, rang) of the demo arena.
PLACE_OF_TYPE = {"1": ("B", "1"), "2": ("TB2", "1"), "3": ("TH2", "1"), "4": ("FOSSE", None)}
PRICE = {
    ("1", "0"): 6850,
    ("1", "15"): 5850,
    ("1", "20"): 5850,
    ("1", "22"): 5350,
    ("2", "0"): 5400,
    ("2", "15"): 4400,
    ("2", "20"): 4400,
    ("2", "22"): 3900,
    ("3", "0"): 3900,
    ("3", "15"): 2900,
    ("3", "20"): 2900,
    ("3", "22"): 2400,
    ("4", "0"): 4500,
    ("4", "15"): 3500,
    ("4", "20"): 3500,
    ("4", "22"): 3000,
}


@pytest.fixture(scope="module")
def settings() -> FnacSettings:
    return load_settings()


@pytest.fixture(scope="module")
def repository() -> MappingRepository:
    return load_repository()


def land_test_file(engine: Engine, lines: list[dict[str, object]], seq: int = 1) -> str:
    name, data = write_file(FileType.TEST, "M0427", seq, lines, created=CREATED)
    with Session(engine) as session, session.begin():
        journal.land(
            session,
            "fnac",
            LandedFile(
                name, data, len(data), hashlib.sha256(data).hexdigest(), FileName.parse(name)
            ),
        )
    return name


def tickets_for(engine: Engine, combinations: list[tuple[str, str]]) -> list[dict[str, object]]:
    with Session(engine) as session:
        concert = concert_date(session)
    made = []
    for n, (type_tarif, category) in enumerate(combinations, start=1):
        bloc, rang = PLACE_OF_TYPE[type_tarif]
        made.append(
            line(
                900 + n,
                date_seance=concert,
                code_bloc=bloc,
                rang=rang,
                place=str(n) if rang else None,
                type_tarif=type_tarif,
                categorie_client=category,
                prix_ttc=PRICE[(type_tarif, category)],
            )
        )
    return made


def every_pair() -> list[tuple[str, str]]:
    return list(pairs(["1", "2", "3", "4"], ["0", "15", "20", "22"]))


def test_the_pairs_set_up_follow_the_prices_offered_and_the_mappings(
    demo_session: Session, settings: FnacSettings, repository: MappingRepository
) -> None:
    assert set_up_pairs(demo_session, settings, repository, "EVT-LUMEN") == set(every_pair())
    assert set_up_pairs(demo_session, settings, repository, "PASS-MAH-JOUR") == {
        ("1", "0"),
        ("1", "15"),
        ("1", "20"),
    }


def test_test_tickets_are_integrated_checked_and_cancelled(
    demo_engine: Engine, settings: FnacSettings, repository: MappingRepository
) -> None:
    name = land_test_file(demo_engine, tickets_for(demo_engine, every_pair()))

    report = run_test_ticket_step(demo_engine, settings, repository, "EVT-LUMEN")

    assert report is not None
    assert (report.files, report.tickets, report.cancelled) == ((name,), 16, 16)
    assert set(report.pairs_covered) == set(every_pair())
    with Session(demo_engine) as session:
        tickets = session.scalars(select(Ticket)).all()
        assert all(t.is_test and t.order.is_test for t in tickets)
        assert not any(access_allowed(session, t.barcode, t.performance_id) for t in tickets)
        entry = session.scalars(select(ExchangeFile)).one()
        assert (entry.state, entry.product_code) == (FileState.INTEGRATED, "EVT-LUMEN")


def test_no_test_file_yet_means_wait(
    demo_engine: Engine, settings: FnacSettings, repository: MappingRepository
) -> None:
    assert run_test_ticket_step(demo_engine, settings, repository, "EVT-LUMEN") is None


def test_a_test_file_of_another_manifestation_is_left_for_its_own_onboarding(
    demo_engine: Engine, settings: FnacSettings, repository: MappingRepository
) -> None:
    land_test_file(demo_engine, tickets_for(demo_engine, every_pair()))
    assert run_test_ticket_step(demo_engine, settings, repository, "PASS-MAH-JOUR") is None
    with Session(demo_engine) as session:
        assert session.scalars(select(ExchangeFile.state)).one() is FileState.LANDED


def test_the_onboarding_waits_for_a_test_file_above_the_last_one_landed(
    demo_engine: Engine,
) -> None:
    with Session(demo_engine) as session:
        assert last_test_sequence(session) == 0
    land_test_file(demo_engine, tickets_for(demo_engine, every_pair()), seq=1)
    land_test_file(demo_engine, tickets_for(demo_engine, every_pair()[:2]), seq=3)
    with Session(demo_engine) as session:
        assert last_test_sequence(session) == 3


def test_a_missing_pair_fails_and_says_which(
    demo_engine: Engine, settings: FnacSettings, repository: MappingRepository
) -> None:
    land_test_file(demo_engine, tickets_for(demo_engine, every_pair()[:-1]))

    with pytest.raises(ExternalError) as raised:
        run_test_ticket_step(demo_engine, settings, repository, "EVT-LUMEN")

    assert [p.reason for p in raised.value.problems] == [
        "no test ticket for type de tarif 4 × catégorie de client 22"
    ]


def test_a_barcode_access_control_refuses_fails_as_technical(
    demo_engine: Engine,
    settings: FnacSettings,
    repository: MappingRepository,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The venue's access control loses a barcode between integration and the check."""
    from reseller_sync.fnac import test_tickets

    land_test_file(demo_engine, tickets_for(demo_engine, every_pair()))
    integrate = test_tickets.integrate_test_files

    def integrate_then_lose_one(*args: object, **kwargs: object) -> tuple[str, ...]:
        names = integrate(*args, **kwargs)  # type: ignore[arg-type]
        with Session(demo_engine) as session, session.begin():
            entry = session.scalars(select(AccessControlEntry).limit(1)).one()
            entry.allowed = False
        return names

    monkeypatch.setattr(test_tickets, "integrate_test_files", integrate_then_lose_one)
    with pytest.raises(TechnicalError) as raised:
        run_test_ticket_step(demo_engine, settings, repository, "EVT-LUMEN")

    [problem] = raised.value.problems
    assert "access control refuses test ticket" in problem.reason
    with Session(demo_engine) as session:
        assert session.scalars(select(Ticket.state)).all().count("valid") == 16
