"""The access-control export: one CSV per performance, allowed and refused barcodes."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import AccessControlEntry
from reseller_sync.fnac.mappings import load_repository
from reseller_sync.fnac.sales import integrate_sales
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.pipelines.access_export import export_access_control
from tests.conftest import DEMO_TODAY
from tests.fnac.test_sales import concert_date, line, ventes


def test_each_performance_gets_its_barcodes_allowed_and_refused(
    demo_session: Session, fnac_settings: FnacSettings, tmp_path: Path
) -> None:
    concert = concert_date(demo_session)
    second = concert_date(demo_session, "S2")
    name, frame = ventes(
        [
            line(1, date_seance=concert),
            line(2, date_seance=concert),
            line(3, date_seance=second, nom_beneficiaire="Dupré"),
        ]
    )
    integrate_sales(demo_session, fnac_settings, load_repository(), name, frame)
    refused = demo_session.scalars(
        select(AccessControlEntry).where(AccessControlEntry.barcode == line(2)["code_barre"])
    ).one()
    refused.allowed = False
    demo_session.flush()

    export = export_access_control(demo_session, DEMO_TODAY, tmp_path / "export")

    assert export.files == ("EVT-LUMEN_S1.csv", "EVT-LUMEN_S2.csv")
    assert (export.allowed, export.refused) == (2, 1)
    with (tmp_path / "export" / "EVT-LUMEN_S1.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["barcode"], row["status"]) for row in rows] == [
        (line(1)["code_barre"], "allowed"),
        (line(2)["code_barre"], "refused"),
    ]
    assert list(rows[0]) == ["barcode", "status", "updated_at"]
    assert "Dupré" not in (tmp_path / "export" / "EVT-LUMEN_S2.csv").read_text()
    again = export_access_control(demo_session, DEMO_TODAY, tmp_path / "export")
    assert again.files == export.files
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == list(export.files)
