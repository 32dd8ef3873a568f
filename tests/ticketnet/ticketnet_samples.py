"""The examples of ``ticketnet-exchange-v1`` section 12, and helpers to build batches."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from reseller_sync.ticketnet.manifest import sha256_hex

SALES_CSV = (
    "transaction_id,line_id,type,original_transaction_id,original_line_id,event_id,"
    "performance_id,section,row,seat,area,price_level,price_type,amount,fees,currency,barcode,"
    "attendee_first_name,attendee_last_name,buyer_email,buyer_phone,buyer_postcode,outlet_id,"
    "outlet_name,occurred_at,refund_reason,test\n"
    "RF2611281340-0007,1,REFUND,TX2611271910-0332,1,1A005F3C9B12E4D7,P01,ORCH-A,B,4,,1,REDUCED,"
    "58.50,0.00,EUR,8142000000000332,Marc,Petit,,,,PHONE,Ticketmaster par téléphone,"
    "2026-11-28T13:40:02+01:00,CUSTOMER,false\n"
    "TX2611281305-0417,1,SALE,,,1A005F3C9B12E4D7,P01,ORCH-A,F,12,,1,ADULT,68.50,6.85,EUR,"
    "8142000000000417,Hélène,Dupré,h.dupre@example.org,+33612345678,75017,WEB,ticketmaster.fr,"
    "2026-11-28T13:05:12+01:00,,false\n"
    "TX2611281305-0417,2,SALE,,,1A005F3C9B12E4D7,P01,ORCH-A,F,13,,1,CHILD,35.00,3.50,EUR,"
    "8142000000000418,Zoé,Dupré,h.dupre@example.org,+33612345678,75017,WEB,ticketmaster.fr,"
    "2026-11-28T13:05:12+01:00,,false\n"
    "TX2611281322-0981,1,SALE,,,1A005F3C9B12E4D7,P01,,,,FOSSE,FO,CSE,40.00,4.00,EUR,"
    '8142000000000981,Jean-Luc,"O\'Neil, Jr",,,,S01234,"Centre commercial Rennes, accueil",'
    "2026-11-28T13:22:40+01:00,,false\n"
)
BUYER_VALUES = ("h.dupre@example.org", "+33612345678", "75017")
SALES_BATCH = "SALES_PR04127_00000042"
SALES_FILE = f"{SALES_BATCH}.TRANSACTIONS.1.csv.gz"

CATALOG_CSV = (
    "org_event_code,event_name,event_kind,org_performance_code,starts_at,venue_code,venue_name,"
    "city,price_level,price_level_name,price_type,amount,currency,sale_starts_at,sale_ends_at\n"
    "TOSCA27,Tosca,EVENT,TOSCA27-0314,2027-03-14T20:30:00+01:00,ZENITH-PARIS-A,Zénith Paris,"
    "Paris,1,Catégorie 1,ADULT,68.50,EUR,2026-12-01T10:00:00+01:00,2027-03-14T20:00:00+01:00\n"
    "TOSCA27,Tosca,EVENT,TOSCA27-0314,2027-03-14T20:30:00+01:00,ZENITH-PARIS-A,Zénith Paris,"
    "Paris,FO,Fosse,ADULT,45.00,EUR,2026-12-01T10:00:00+01:00,2027-03-14T20:00:00+01:00\n"
)
ALLOCATION_CSV = (
    "event_id,performance_id,price_level,section,row,seat,area,quantity\n"
    "1A005F3C9B12E4D7,P01,1,ORCH-A,F,12,,1\n"
    "1A005F3C9B12E4D7,P01,1,ORCH-A,F,13,,1\n"
    "1A005F3C9B12E4D7,P01,FO,,,,FOSSE,300\n"
)
OFFER_BATCH = "OFFER_PR04127_00000007"


def ack_document(manifest_sha256: str) -> dict[str, Any]:
    return {
        "ack_version": 1,
        "batch_id": OFFER_BATCH,
        "manifest_sha256": manifest_sha256,
        "processed_at": "2026-11-28T14:31:00+01:00",
        "status": "PARTIAL",
        "error": None,
        "files": [
            {
                "name": f"{OFFER_BATCH}.CATALOG.1.csv.gz",
                "type": "CATALOG",
                "records": 2,
                "status": "ACCEPTED",
                "accepted": 2,
                "rejected": 0,
                "errors": [],
                "ids": [
                    {
                        "org_event_code": "TOSCA27",
                        "org_performance_code": "TOSCA27-0314",
                        "event_id": "1A005F3C9B12E4D7",
                        "performance_id": "P01",
                    }
                ],
            },
            {
                "name": f"{OFFER_BATCH}.ALLOCATION.1.csv.gz",
                "type": "ALLOCATION",
                "records": 3,
                "status": "PARTIAL",
                "accepted": 2,
                "rejected": 1,
                "errors": [{"record": 2, "code": "A04", "message": "Seat already allocated"}],
            },
        ],
    }


def gz(text: str | bytes) -> bytes:
    return gzip.compress(text.encode() if isinstance(text, str) else text)


def manifest_document(
    batch_id: str, files: dict[str, bytes], records: dict[str, int], **extra: Any
) -> dict[str, Any]:
    stream, promoter, number = batch_id.split("_")
    document: dict[str, Any] = {
        "manifest_version": 1,
        "batch_id": batch_id,
        "stream": stream,
        "promoter": promoter,
        "batch": int(number),
        "created_at": "2026-11-28T14:10:03+01:00",
        "files": [
            {
                "name": name,
                "type": name.split(".")[1],
                "part": int(name.split(".")[2]),
                "records": records[name],
                "sha256": sha256_hex(data),
            }
            for name, data in files.items()
        ],
    }
    document.update(extra)
    return document


def write_batch(
    folder: Path,
    batch_id: str,
    files: dict[str, bytes],
    records: dict[str, int],
    *,
    manifest: dict[str, Any] | None = None,
    **extra: Any,
) -> Path:
    """Write data files (gzip bytes) and a manifest (computed unless given) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    document = manifest or manifest_document(batch_id, files, records, **extra)
    path = folder / f"{batch_id}.manifest.json"
    path.write_text(json.dumps(document, indent=2))
    return path


def write_sales_example(folder: Path, csv_text: str = SALES_CSV) -> Path:
    data = gz(csv_text)
    records = csv_text.count("\n") - 1
    return write_batch(folder, SALES_BATCH, {SALES_FILE: data}, {SALES_FILE: records})


TRANSACTION_COLUMNS = SALES_CSV.split("\n", 1)[0].split(",")


def sale(**overrides: str) -> dict[str, str]:
    """A valid seated SALE record of TRANSACTIONS, with ``overrides``."""
    record = {
        "transaction_id": "TX1",
        "line_id": "1",
        "type": "SALE",
        "original_transaction_id": "",
        "original_line_id": "",
        "event_id": "1A005F3C9B12E4D7",
        "performance_id": "P01",
        "section": "ORCH-A",
        "row": "F",
        "seat": "12",
        "area": "",
        "price_level": "1",
        "price_type": "ADULT",
        "amount": "68.50",
        "fees": "6.85",
        "currency": "EUR",
        "barcode": "8142000000000417",
        "attendee_first_name": "Hélène",
        "attendee_last_name": "Dupré",
        "buyer_email": "secret.buyer@example.org",
        "buyer_phone": "+33699999999",
        "buyer_postcode": "75999",
        "outlet_id": "WEB",
        "outlet_name": "ticketmaster.fr",
        "occurred_at": "2026-11-28T13:05:12+01:00",
        "refund_reason": "",
        "test": "false",
    }
    record.update(overrides)
    return record


def standing_sale(**overrides: str) -> dict[str, str]:
    """A valid SALE record of a place of the demo concert's pit (area FOSSE), with
    ``overrides``."""
    return sale(
        **{
            "section": "",
            "row": "",
            "seat": "",
            "area": "FOSSE",
            "price_level": "FO",
            "price_type": "CSE",
            "amount": "38.25",
            "fees": "3.80",
            **overrides,
        }
    )


def refund(of: dict[str, str], **overrides: str) -> dict[str, str]:
    """A valid REFUND record of the sale record ``of``."""
    record = dict(of)
    record.update(
        transaction_id="RF" + of["transaction_id"],
        line_id="1",
        type="REFUND",
        original_transaction_id=of["transaction_id"],
        original_line_id=of["line_id"],
        refund_reason="TEST" if of["test"] == "true" else "CUSTOMER",
        occurred_at="2026-11-29T10:00:00+01:00",
    )
    record.update(overrides)
    return record


def csv_text(records: list[dict[str, str]], columns: list[str] | None = None) -> str:
    """CSV of ``records`` (fields quoted when needed), LF line ends."""
    import csv
    import io

    names = columns if columns is not None else list(records[0]) if records else []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    for record in records:
        writer.writerow([record.get(name, "") for name in names])
    return buffer.getvalue()


def write_sales(folder: Path, number: int, records: list[dict[str, str]]) -> Path:
    """A SALES batch ``number`` of one part holding ``records``."""
    batch_id = f"SALES_PR04127_{number:08d}"
    name = f"{batch_id}.TRANSACTIONS.1.csv.gz"
    data = gz(csv_text(records, TRANSACTION_COLUMNS))
    return write_batch(folder, batch_id, {name: data}, {name: len(records)})
