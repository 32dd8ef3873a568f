"""A day of FNAC activity on the demo box office: sales, files in and out, alerts.

``NOW`` is 16:00 in Paris on the demo's reference day. Partner values include
``<script>`` (a shop, a beneficiary, an error value) to prove they stay text,
and every journaled file's bytes hold ``RAW_MARKER`` to prove they are never
shown.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    Alert,
    Direction,
    ExchangeFile,
    ExchangeFileError,
    FileState,
    OnboardingState,
    Performance,
    Product,
    ResellerProduct,
)
from reseller_sync.fnac.mappings import load_repository
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.reader import read_file
from reseller_sync.fnac.sales import integrate_sales
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.fnac.writer import write_file
from tests.fnac.test_sales import DAY_PASS, line

NOW = dt.datetime(2026, 11, 28, 15, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 28)
SCRIPT = "<script>alert('fnac')</script>"
RAW_MARKER = "RAW-BYTES-NEVER-SHOWN"


def _line(n: int, **values: object) -> dict[str, object]:
    """A VENTES line: seat n of row 1 in block B of the concert, at the FNAC public price."""
    return line(n, **{"date_vente": dt.datetime(2026, 11, 28, 12, 12, tzinfo=dt.UTC), **values})


def _parsed(
    file_type: FileType, seq: int, lines: list[dict[str, object]]
) -> tuple[str, pd.DataFrame]:
    name, data = write_file(file_type, "M0427", seq, lines, created=NOW - dt.timedelta(hours=2))
    return name, read_file(name, data).frame


def _journal(
    session: Session,
    name: str,
    direction: Direction,
    file_type: str,
    sequence: int,
    state: FileState,
    *,
    created_at: dt.datetime,
    processed_at: dt.datetime | None = None,
    **values: Any,
) -> ExchangeFile:
    content = f"TYPE;{file_type}\n{RAW_MARKER};{SCRIPT}\n".encode()
    entry = ExchangeFile(
        reseller_code="fnac",
        direction=direction,
        file_type=file_type,
        sequence=sequence,
        name=name,
        size=len(content),
        sha256=f"{sequence:064d}",
        content=content,
        state=state,
        created_at=created_at,
        processed_at=processed_at,
        **values,
    )
    session.add(entry)
    session.flush()
    return entry


def add_activity(session: Session, settings: FnacSettings) -> None:
    """Sales of the day (and of the day before, and test tickets), journal entries, alerts."""
    concert = session.scalar(
        select(Performance.starts_at)
        .join(Product)
        .where(Product.code == "EVT-LUMEN", Performance.code == "S1")
    )
    repository = load_repository()
    lines = [
        _line(1, date_seance=concert),
        _line(2, id_vente="V0000000001", date_seance=concert, nom_beneficiaire=SCRIPT),
        _line(
            3,
            date_seance=concert,
            code_point_vente="FR0999",
            libelle_point_vente=SCRIPT,
            date_vente=dt.datetime(2026, 11, 27, 23, 30, tzinfo=dt.UTC),  # 00:30 in Paris
        ),
        _line(
            4,
            **DAY_PASS,
            code_point_vente="CH1201",
            libelle_point_vente="FNAC Genève Rive",
        ),
        _line(
            5,
            date_seance=concert,
            date_vente=dt.datetime(2026, 11, 27, 22, 30, tzinfo=dt.UTC),  # 23:30 the day before
        ),
    ]
    name, frame = _parsed(FileType.VENTES, 1, lines)
    integrate_sales(session, settings, repository, name, frame)
    name, frame = _parsed(
        FileType.TEST, 1, [_line(6, date_seance=concert, code_point_vente="FR0001")]
    )
    integrate_sales(session, settings, repository, name, frame, is_test=True)

    hour = dt.timedelta(hours=1)
    _journal(
        session,
        "VENTES_M0427_000001_20261128130500.csv",
        Direction.INBOUND,
        "VENTES",
        1,
        FileState.INTEGRATED,
        created_at=NOW - 5 * hour,
        processed_at=NOW - 5 * hour,
        line_count=5,
    )
    failed = _journal(
        session,
        "VENTES_M0427_000002_20261128140500.csv",
        Direction.INBOUND,
        "VENTES",
        2,
        FileState.FAILED,
        created_at=NOW - 4 * hour,
        processed_at=NOW - 4 * hour,
        error_category="mapping",
        error_message="1 value has no mapping",
    )
    session.add(
        ExchangeFileError(
            file_id=failed.id,
            line=3,
            column="code_manifestation",
            value=SCRIPT,
            reason="no mapping for this manifestation code",
        )
    )
    _journal(
        session,
        "ANNUL_M0427_000001_20261128140000.csv",
        Direction.INBOUND,
        "ANNUL",
        1,
        FileState.INTEGRATED,
        created_at=NOW - hour,
        processed_at=NOW - hour,
        line_count=0,
    )
    sheet = _journal(
        session,
        "FICHE_M0427_000001_20261128090000.csv",
        Direction.OUTBOUND,
        "FICHE",
        1,
        FileState.ACKNOWLEDGED,
        created_at=NOW - 6 * hour,
        processed_at=NOW - 5 * hour,
        product_code="EVT-LUMEN",
    )
    _journal(
        session,
        "ACK_FICHE_M0427_000001_20261128090000.csv",
        Direction.INBOUND,
        "ACK_FICHE",
        1,
        FileState.INTEGRATED,
        created_at=NOW - 5 * hour,
        processed_at=NOW - 5 * hour,
        answers_file_id=sheet.id,
    )
    _journal(
        session,
        "PLACES_M0427_000001_20261128120000.csv",
        Direction.OUTBOUND,
        "PLACES",
        1,
        FileState.SENT,
        created_at=NOW - 3 * hour,
        processed_at=NOW - 3 * hour,
        product_code="EVT-LUMEN",
    )
    session.add_all(
        [
            Alert(
                created_at=NOW - 4 * hour,
                category="mapping",
                kind="task_failure",
                subject="[FNAC] Mapping error — fnac_inbound.integrate",
                body="body",
                recipients="ops@example.org",
                dag_id="fnac_inbound",
                task_id="integrate",
                file_name="VENTES_M0427_000002_20261128140500.csv",
                delivered=False,
                delivery_error="SMTP server unreachable",
            ),
            Alert(
                created_at=NOW - 2 * hour,
                category="external",
                kind="files_late",
                subject="[FNAC] External error — FNAC files late",
                body="body",
                recipients="ops@example.org",
                delivered=True,
            ),
        ]
    )
    product_id = session.scalar(select(Product.id).where(Product.code == "EVT-LUMEN"))
    assert product_id is not None
    session.add(
        ResellerProduct(
            reseller_code="fnac",
            product_id=product_id,
            state=OnboardingState.PLACES_SENT,
            updated_at=NOW - 3 * hour,
        )
    )
    session.flush()
