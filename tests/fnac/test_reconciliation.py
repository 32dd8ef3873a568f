"""Seat reconciliation against FNAC's ETATPL (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from reseller_sync.boxoffice.models import (
    Direction,
    ExchangeFile,
    FileState,
    OnboardingState,
)
from reseller_sync.config.paths import REPORTS_DIR_VARIABLE
from reseller_sync.exchange.journal import land
from reseller_sync.exchange.transport import LandedFile
from reseller_sync.fnac import reconciliation
from reseller_sync.fnac.mappings import load_repository
from reseller_sync.fnac.names import FileName, FileType
from reseller_sync.fnac.onboarding_state import set_onboarding_state
from reseller_sync.fnac.places import build_places
from reseller_sync.fnac.reader import read_file
from reseller_sync.fnac.reconciliation import DifferenceKind, reconcile
from reseller_sync.fnac.sales import integrate_sales
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.fnac.writer import write_file
from reseller_sync.mappings.repository import MappingRepository
from tests.fnac.test_sales import concert_date, line, ventes

SNAPSHOT = dt.datetime(2026, 11, 29, 1, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def repository() -> MappingRepository:
    return load_repository()


@pytest.fixture
def reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(REPORTS_DIR_VARIABLE, str(tmp_path / "reports"))
    return tmp_path / "reports"


def fnac_state(session: Session, settings: FnacSettings) -> pd.DataFrame:
    """What FNAC should hold of the concert: every place given, unsold (DISPO)."""
    records = build_places(session, settings, "EVT-LUMEN").records
    return records.drop(columns="type_tarif").assign(statut="DISPO")


def etatpl(records: pd.DataFrame, seq: int = 1) -> tuple[str, bytes]:
    return write_file(FileType.ETATPL, "M0427", seq, records, created=SNAPSHOT)


def parsed(records: pd.DataFrame) -> pd.DataFrame:
    return read_file(*etatpl(records)).frame


def seat(records: pd.DataFrame, bloc: str, rang: str, place: str, date: dt.datetime) -> pd.Series:
    return (
        (records["code_bloc"] == bloc)
        & (records["rang"] == rang)
        & (records["place"] == place)
        & (records["date_seance"] == pd.Timestamp(date))
    )


@pytest.fixture
def concert_sold(
    demo_session: Session, fnac_settings: FnacSettings, repository: MappingRepository
) -> dt.datetime:
    """The concert's places at FNAC, and seat B 1-1 and one pit place sold and integrated."""
    set_onboarding_state(demo_session, "EVT-LUMEN", OnboardingState.PLACES_SENT)
    concert = concert_date(demo_session)
    name, frame = ventes(
        [
            line(1, date_seance=concert),
            line(
                2,
                date_seance=concert,
                code_bloc="FOSSE",
                rang=None,
                place=None,
                type_tarif="4",
                prix_ttc=4500,
            ),
        ]
    )
    integrate_sales(demo_session, fnac_settings, repository, name, frame)
    return concert


def agreeing_state(session: Session, settings: FnacSettings, concert: dt.datetime) -> pd.DataFrame:
    """FNAC's state agreeing with the box office: B 1-1 sold, one pit place sold."""
    state = fnac_state(session, settings)
    state.loc[seat(state, "B", "1", "1", concert), "statut"] = "VENDU"
    pit = (state["code_bloc"] == "FOSSE") & (state["date_seance"] == pd.Timestamp(concert))
    state.loc[pit, "quantite"] = 199
    sold_pit = state[pit].assign(quantite=1, statut="VENDU")
    return pd.concat([state, sold_pit], ignore_index=True)


def test_no_difference_when_both_sides_agree(
    demo_session: Session,
    fnac_settings: FnacSettings,
    repository: MappingRepository,
    concert_sold: dt.datetime,
) -> None:
    state = agreeing_state(demo_session, fnac_settings, concert_sold)

    products, differences = reconcile(
        demo_session, fnac_settings, repository, parsed(state), SNAPSHOT
    )

    assert products == ("EVT-LUMEN",)
    assert differences == ()


def test_each_kind_of_difference_is_found(
    demo_session: Session,
    fnac_settings: FnacSettings,
    repository: MappingRepository,
    concert_sold: dt.datetime,
) -> None:
    concert = concert_sold
    state = agreeing_state(demo_session, fnac_settings, concert)
    state = state[~seat(state, "B", "2", "1", concert)]  # FNAC lost a seat given to it
    state.loc[seat(state, "B", "1", "1", concert), "statut"] = "DISPO"  # our sale, unsold there
    state.loc[seat(state, "TB2", "3", "4", concert), "statut"] = "VENDU"  # its sale, not ours
    extra = state[seat(state, "B", "1", "2", concert)].assign(rang="6")  # P2 row 6: not FNAC's
    pit = (
        (state["code_bloc"] == "FOSSE")
        & (state["date_seance"] == pd.Timestamp(concert))
        & (state["statut"] == "VENDU")
    )
    state.loc[pit, "quantite"] = 4  # 3 more pit places sold than integrated, 3 more held
    stranger = extra.assign(code_manifestation="0099999", rang="1")
    state = pd.concat([state, extra, stranger], ignore_index=True)

    products, differences = reconcile(
        demo_session, fnac_settings, repository, parsed(state), SNAPSHOT
    )

    found = {(d.kind, d.bloc, d.rang, d.place, d.quantity) for d in differences}
    assert found == {
        (DifferenceKind.GIVEN_NOT_HELD, "B", "2", "1", 1),
        (DifferenceKind.INTEGRATED_NOT_SOLD, "B", "1", "1", 1),
        (DifferenceKind.SOLD_NOT_INTEGRATED, "TB2", "3", "4", 1),
        (DifferenceKind.HELD_NOT_GIVEN, "B", "6", "2", 1),
        (DifferenceKind.HELD_NOT_GIVEN, "FOSSE", None, None, 3),
        (DifferenceKind.SOLD_NOT_INTEGRATED, "FOSSE", None, None, 3),
        (DifferenceKind.UNKNOWN_MANIFESTATION, "B", None, None, 1),
    }
    assert {d.date_seance for d in differences} == {concert.strftime("%d/%m/%Y %H:%M")}
    assert products == ("EVT-LUMEN",)


def test_a_sale_made_after_fnac_wrote_its_state_is_not_a_difference(
    demo_session: Session,
    fnac_settings: FnacSettings,
    repository: MappingRepository,
    concert_sold: dt.datetime,
) -> None:
    state = fnac_state(demo_session, fnac_settings)  # nothing sold yet when FNAC wrote it
    before_the_sale = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)

    _, differences = reconcile(
        demo_session, fnac_settings, repository, parsed(state), before_the_sale
    )

    assert differences == ()


def land_etatpl(engine: Engine, records: pd.DataFrame, seq: int) -> str:
    name, data = etatpl(records, seq)
    landed = LandedFile(
        name, data, len(data), hashlib.sha256(data).hexdigest(), FileName.parse(name)
    )
    with sessionmaker(engine).begin() as session:
        land(session, "fnac", landed)
    return name


def test_the_file_is_integrated_and_the_report_kept_and_escaped(
    demo_engine: Engine,
    fnac_settings: FnacSettings,
    repository: MappingRepository,
    reports: Path,
) -> None:
    with sessionmaker(demo_engine).begin() as session:
        set_onboarding_state(session, "EVT-LUMEN", OnboardingState.PLACES_SENT)
        state = fnac_state(session, fnac_settings)
    older = land_etatpl(demo_engine, state, 1)
    newest = land_etatpl(demo_engine, state.iloc[1:], 2)

    first, second = reconciliation.reconcile_pending(demo_engine, fnac_settings, repository)

    assert (first.file_name, first.superseded_by, first.report) == (older, newest, None)
    assert second.file_name == newest
    assert [d.kind for d in second.differences] == [DifferenceKind.GIVEN_NOT_HELD]
    assert second.report == f"reconciliation/{newest.removesuffix('.csv')}.html"
    html = (reports / second.report).read_text("utf-8")
    assert "given by the box office, not held by FNAC" in html
    assert "<td>004512</td>" in html
    with Session(demo_engine) as session:
        states = session.execute(
            select(ExchangeFile.name, ExchangeFile.state).where(
                ExchangeFile.direction == Direction.INBOUND
            )
        ).all()
    assert dict(states) == {older: FileState.INTEGRATED, newest: FileState.INTEGRATED}
    assert reconciliation.reconcile_pending(demo_engine, fnac_settings, repository) == []


def test_the_report_escapes_what_fnac_wrote() -> None:
    difference = reconciliation.Difference(
        DifferenceKind.HELD_NOT_GIVEN,
        None,
        "<b>x</b>",
        "01/01/2027 20:00",
        "A",
        "1",
        "1",
        1,
        "DISPO",
        "-",
    )
    html = reconciliation.render_report("ETATPL_x.csv", ["EVT-LUMEN"], [difference], SNAPSHOT)
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<b>x</b>" not in html
