"""The access-control export: per performance, the barcodes to let in and those to refuse.

The venue's access-control system reads one CSV file per performance, under
``<reports>/access_control/`` (see
:func:`~reseller_sync.config.paths.reports_dir`), named after the
product and the performance so that each night replaces the same file:
``EVT-LUMEN_S1.csv``. Columns: ``barcode``, ``status`` (``allowed`` or
``refused``), ``updated_at`` (ISO 8601, UTC). Every barcode of the box office
is there, every reseller's and the box office's own; no personal data. Performances already
past are not exported. Files are written whole, then renamed: the reader
never sees half a file.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import AccessControlEntry, Performance, Product
from reseller_sync.config.paths import reports_dir

EXPORT_FOLDER = "access_control"
COLUMNS = ["barcode", "status", "updated_at"]
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


@dataclass(frozen=True)
class AccessExport:
    files: tuple[str, ...]
    """The files written, relative to the export folder."""
    allowed: int
    refused: int


def export_folder() -> Path:
    return reports_dir() / EXPORT_FOLDER


def export_name(product_code: str, performance_code: str) -> str:
    """The stable file name of a performance's list."""
    return _UNSAFE.sub("_", f"{product_code}_{performance_code}") + ".csv"


def export_access_control(
    session: Session, today: dt.date, folder: Path | None = None
) -> AccessExport:
    """Write one CSV per performance not past ``today`` that has barcodes; return the names."""
    folder = folder or export_folder()
    rows = session.execute(
        select(
            Product.code,
            Performance.code,
            Performance.starts_at,
            Performance.valid_until,
            AccessControlEntry.barcode,
            AccessControlEntry.allowed,
            AccessControlEntry.updated_at,
        )
        .join(Performance, Performance.id == AccessControlEntry.performance_id)
        .join(Product, Product.id == Performance.product_id)
        .order_by(Product.code, Performance.code, AccessControlEntry.barcode)
    ).all()
    entries = pd.DataFrame(
        [tuple(row) for row in rows],
        columns=["product", "performance", "starts_at", "valid_until", *COLUMNS],
    )
    if entries.empty:
        return AccessExport((), 0, 0)
    starts = pd.to_datetime(entries["starts_at"])
    until = pd.to_datetime(entries["valid_until"])
    day = pd.Timestamp(today)
    upcoming = (starts.isna() | (starts >= day)) & (until.isna() | (until >= day))
    entries = entries[upcoming.astype(bool)]
    entries["updated_at"] = pd.to_datetime(entries["updated_at"], utc=True).dt.strftime(
        "%Y-%m-%dT%H:%M:%S+00:00"
    )
    allowed = entries["status"].astype(bool)
    entries["status"] = allowed.map({True: "allowed", False: "refused"})
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for (product, performance), lines in entries.groupby(["product", "performance"], sort=True):
        name = export_name(str(product), str(performance))
        partial = folder / f"{name}.part"
        lines[COLUMNS].to_csv(partial, index=False, lineterminator="\r\n")
        partial.replace(folder / name)
        names.append(name)
    return AccessExport(tuple(names), int(allowed.sum()), int((~allowed).sum()))
