"""Onboarding step 2: the FICHE records and the readable sale sheet (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    Direction,
    ExchangeFile,
    FileState,
    Performance,
    Product,
)
from reseller_sync.domain.errors import MappingError
from reseller_sync.fnac.mappings import load_repository
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.reader import read_file
from reseller_sync.fnac.sale_sheet import (
    build_sale_sheet,
    email_sale_sheet,
    format_amount,
    render_sale_sheet,
)
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.fnac.writer import write_file
from tests.fnac.conftest import SALES_OPEN

PARIS_OPENING = "2026-11-28T10:00:00+01:00"


def written_and_read(records: pd.DataFrame) -> pd.DataFrame:
    name, data = write_file(FileType.FICHE, "M0427", 1, records, created=SALES_OPEN)
    return read_file(name, data).frame


def test_the_concert_s_sheet_has_a_line_per_performance_category_and_tariff(
    demo_session: Session, fnac_settings: FnacSettings
) -> None:
    sheet = build_sale_sheet(demo_session, fnac_settings, "EVT-LUMEN", sales_open=SALES_OPEN)

    assert sheet.line_count == 3 * 4 * 3  # performances × categories in FNAC's quota × tariffs
    frame = written_and_read(sheet.records)
    assert len(frame) == 36
    assert set(frame["nature"]) == {"EVENEMENT"}
    assert set(frame["code_manifestation"]) == {"004512"}  # already mapped: a resent sheet
    assert set(frame["lieu"] + "|" + frame["ville"] + "|" + frame["pays"]) == {
        "Paris Arena|Paris|FR"
    }
    assert set(frame["code_config"]) == {"ARENA-CONCERT"}
    assert frame["fin_validite"].isna().all()
    first = frame.iloc[0]
    starts = demo_session.scalars(
        select(Performance.starts_at)
        .join(Product)
        .where(Product.code == "EVT-LUMEN")
        .order_by(Performance.starts_at)
    ).all()
    assert list(frame["date_seance"].drop_duplicates()) == [pd.Timestamp(s) for s in starts]
    assert first["debut_vente"] == pd.Timestamp(PARIS_OPENING)
    assert first["fin_vente"] == pd.Timestamp(starts[0]).tz_localize("Europe/Paris")
    by_line = frame.set_index(["date_seance", "categorie", "tarif"])
    s1 = pd.Timestamp(starts[0])
    assert by_line.loc[(s1, "CAT1", "FNAC_PUBLIC"), "prix_ttc"] == 6850
    assert by_line.loc[(s1, "CAT1", "FNAC_ADHERENT"), "prix_ttc"] == 5850
    assert by_line.loc[(s1, "CAT3", "FNAC_CE"), "prix_ttc"] == 2400
    # P2 rows 1-5 (25 seats each), B rows 1-15 (20 each), K rows 1-10 (20 each), 200 in the pit
    contingents = by_line.xs("FNAC_PUBLIC", level="tarif").loc[s1, "contingent"]
    assert contingents.to_dict() == {"CAT1": 125, "CAT2": 300, "CAT3": 200, "FOSSE": 200}
    assert set(frame["devise"]) == {"EUR"}


def test_a_pass_s_sheet_carries_its_validity_and_whole_quota(
    demo_session: Session, fnac_settings: FnacSettings
) -> None:
    sheet = build_sale_sheet(demo_session, fnac_settings, "PASS-MAH-JOUR", sales_open=SALES_OPEN)

    frame = written_and_read(sheet.records)
    assert len(frame) == 1 * 1 * 2  # one validity × ENTREE × the museum's two FNAC tariffs
    assert list(frame["tarif"]) == ["FNAC_PUBLIC", "FNAC_ADHERENT"]
    assert list(frame["prix_ttc"]) == [2400, 2100]
    assert set(frame["nature"]) == {"PASS_VISITE"}
    assert set(frame["devise"]) == {"CHF"}
    assert set(frame["contingent"]) == {500}
    assert frame["date_seance"].isna().all()
    assert frame["code_config"].isna().all()
    last_day = demo_session.scalars(
        select(Performance.valid_until).join(Product).where(Product.code == "PASS-MAH-JOUR")
    ).one()
    assert set(frame["fin_validite"]) == {pd.Timestamp(last_day)}
    assert set(frame["fin_vente"]) == {
        pd.Timestamp(dt.datetime.combine(last_day, dt.time(23, 59, 59))).tz_localize(
            "Europe/Zurich"
        )
    }


def test_a_product_not_ready_gets_no_sheet(
    demo_session: Session, fnac_settings: FnacSettings
) -> None:
    late = SALES_OPEN + dt.timedelta(days=400)
    with pytest.raises(MappingError) as raised:
        build_sale_sheet(demo_session, fnac_settings, "EVT-LUMEN", sales_open=late)
    assert len(raised.value.problems) == 3


def test_a_first_sheet_has_no_manifestation_yet(
    demo_session: Session, fnac_settings: FnacSettings, mapping_dir: Path
) -> None:
    (mapping_dir / "CMP-LYON-NANTES.yaml").unlink()
    mappings = load_repository(mapping_dir).for_product("CMP-LYON-NANTES")
    sheet = build_sale_sheet(
        demo_session, fnac_settings, "CMP-LYON-NANTES", sales_open=SALES_OPEN, mappings=mappings
    )
    assert sheet.manifestation is None
    assert written_and_read(sheet.records)["code_manifestation"].isna().all()


def test_the_readable_sheet_is_french_and_escaped(
    demo_session: Session, fnac_settings: FnacSettings
) -> None:
    product = demo_session.scalars(select(Product).where(Product.code == "EVT-LUMEN")).one()
    product.name = "Lumen <script>alert(1)</script> & co"
    demo_session.flush()
    sheet = build_sale_sheet(demo_session, fnac_settings, "EVT-LUMEN", sales_open=SALES_OPEN)

    html = render_sale_sheet(sheet)

    assert "<script>" not in html
    assert "Lumen &lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "68,50\u00a0€" in html
    assert "FNAC comité d&#39;entreprise" in html
    assert "samedi 28 novembre 2026 à 10 h 00" in html  # sales open, in Paris
    assert "Paris Arena, Paris (FR)" in html
    assert "commission FNAC incluse" in html
    assert html.count("<h2>") == 3
    assert "contingent FNAC : 825 place(s)" in html


def test_amounts_are_written_for_a_french_reader() -> None:
    assert format_amount(6850, "EUR") == "68,50\u00a0€"
    assert format_amount(123456705, "CHF") == "1\u202f234\u202f567,05\u00a0CHF"
    assert format_amount(0, "EUR") == "0,00\u00a0€"


def test_the_readable_sheet_of_a_sent_fiche_is_e_mailed_once(
    demo_engine: Engine, fnac_settings: FnacSettings
) -> None:
    """A retried task, or Airflow re-running a finished one, does not e-mail it again."""
    name, data = write_file(
        FileType.FICHE,
        "M0427",
        7,
        build_sale_sheet_records(demo_engine, fnac_settings),
        created=SALES_OPEN,
    )
    with Session(demo_engine) as session, session.begin():
        session.add(
            ExchangeFile(
                reseller_code="fnac",
                direction=Direction.OUTBOUND,
                file_type="FICHE",
                sequence=7,
                name=name,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                content=data,
                state=FileState.ACKNOWLEDGED,
                product_code="EVT-LUMEN",
            )
        )
    sent: list[tuple[list[str], str, str]] = []

    def send(recipients: list[str], subject: str, html: str) -> None:
        sent.append((recipients, subject, html))

    first = email_sale_sheet(demo_engine, fnac_settings, "EVT-LUMEN", name, send)
    again = email_sale_sheet(demo_engine, fnac_settings, "EVT-LUMEN", name, send)

    assert (first, again) == (True, False)
    [(recipients, subject, html)] = sent
    assert recipients == [fnac_settings.notifications.fnac_contact_email]
    assert subject == f"Fiche de mise en vente EVT-LUMEN ({name})"
    assert "EVT-LUMEN" in html
    with Session(demo_engine) as session:
        emailed = session.scalar(
            select(ExchangeFile.contact_emailed_at).where(ExchangeFile.name == name)
        )
    assert emailed is not None


def build_sale_sheet_records(engine: Engine, fnac_settings: FnacSettings) -> pd.DataFrame:
    with Session(engine) as session:
        return build_sale_sheet(session, fnac_settings, "EVT-LUMEN", sales_open=SALES_OPEN).records
