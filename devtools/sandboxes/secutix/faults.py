"""What a real reseller gets wrong, injected on demand (``secutix-reseller-v1`` section 10.2
names the code each one gives at the organiser).

Content faults change the lines of the file written, never the reseller's state: its
intact copy of the file is what it holds, and what replacing the file uploads
(section 3 point 7). Verification faults change the bytes or the control file.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from devtools.sandboxes.secutix.emit import SandboxError
from devtools.sandboxes.secutix.files import Row, control_bytes
from reseller_sync.secutix.errors import Code
from reseller_sync.secutix.names import FileName, FileType
from reseller_sync.secutix.reader import sha256_hex


class Fault(StrEnum):
    CONTROL_INVALID = "control-invalid"
    """T01: the control file names another file (the data file's name in lower case)."""
    SHA256 = "sha256"
    """T02: the data file converted to CR LF line ends after its control file was made."""
    LINE_COUNT = "line-count"
    """T03: the control file gives one line more than the data file holds."""
    SYNTAX = "syntax"
    """T04: a timestamp without its UTC offset on the first line (the header names a
    column twice when there is no line)."""
    FILE_NUMBER = "file-number"
    """T05: ``FILE_NUMBER`` is the next file's on every line."""
    GAP = "gap"
    """T06: the TICKETS file takes the number after next."""
    WITHHOLD_CONTROL = "withhold-control"
    """T06 once a later file arrives: the data file is uploaded, its control file held back
    until :meth:`~devtools.sandboxes.secutix.partner.SecutixPartner.release`."""
    REUSED_NUMBER = "reused-number"
    """T07: new content under the number of the last TICKETS file."""
    DUPLICATE_BARCODE = "duplicate-barcode"
    """T08: the first line again, with another beneficiary."""
    UNKNOWN_STATE = "unknown-state"
    """T09: ``TICKET_STATE`` ``NOT_PRINTED`` (SecuTix's own word) on the first line."""
    REVIVED = "revived"
    """T10: a ticket cancelled or refunded in an earlier file, back to ``SOLD``."""
    IMMUTABLE_CHANGED = "immutable-changed"
    """T11: a ticket of an earlier file again, its ``PRICE`` 100 minor units higher."""
    TIME_BACK = "time-back"
    """T12: a ticket of an earlier file again, ``STATE_CHANGED_AT`` a day earlier."""
    CURRENCY = "currency"
    """T13: a new ticket in the other currency (CHF for EUR, EUR for CHF)."""
    UNKNOWN_PRODUCT = "unknown-product"
    """T14: a new ticket of product ``INCONNU27``."""
    UNKNOWN_TARIFF = "unknown-tariff"
    """T15: a new ticket at tariff ``ETUDIANT``, which no OFFER gives."""
    UNKNOWN_SEAT = "unknown-seat"
    """T16: a new ticket of an event on seat ``LOGE/Z/99``."""
    PRICE = "price"
    """T17: a new ticket 100 minor units above the OFFER's price."""
    SEAT_TWICE = "seat-twice"
    """T18: a new ticket on a seat that another valid ticket holds."""
    KIND_COLUMNS = "kind-columns"
    """T19: a line whose columns fit no product kind (an event with a validity end, a pass
    with a ``SEAT``)."""
    REFUND_ABOVE_PRICE = "refund-above-price"
    """T20: a refunded ticket whose ``REFUND_AMOUNT`` is 100 above its ``PRICE``."""
    INCONSISTENT_STOCK = "inconsistent-stock"
    """T21: a STOCK line whose ``AVAILABLE`` is not ``GIVEN`` − ``SOLD``."""
    OLD_ORDER = "old-order"
    """T22: a new ticket under the order number of a ticket of an earlier file."""
    RESULT_LINES = "result-lines"
    """T23: the next RESULT lacks its last line (or, for a file with no line, has one)."""
    RESULT_UNKNOWN_FILE = "result-unknown-file"
    """T23: a RESULT numbered 1,000 after the last file the organiser sent."""
    TECHNICAL_ERROR = "technical-error"
    """X99 in the RESULT: the next organiser file refused whole, nothing applied."""


FAULT_CODES: dict[Fault, Code] = {
    Fault.CONTROL_INVALID: Code.T01,
    Fault.SHA256: Code.T02,
    Fault.LINE_COUNT: Code.T03,
    Fault.SYNTAX: Code.T04,
    Fault.FILE_NUMBER: Code.T05,
    Fault.GAP: Code.T06,
    Fault.WITHHOLD_CONTROL: Code.T06,
    Fault.REUSED_NUMBER: Code.T07,
    Fault.DUPLICATE_BARCODE: Code.T08,
    Fault.UNKNOWN_STATE: Code.T09,
    Fault.REVIVED: Code.T10,
    Fault.IMMUTABLE_CHANGED: Code.T11,
    Fault.TIME_BACK: Code.T12,
    Fault.CURRENCY: Code.T13,
    Fault.UNKNOWN_PRODUCT: Code.T14,
    Fault.UNKNOWN_TARIFF: Code.T15,
    Fault.UNKNOWN_SEAT: Code.T16,
    Fault.PRICE: Code.T17,
    Fault.SEAT_TWICE: Code.T18,
    Fault.KIND_COLUMNS: Code.T19,
    Fault.REFUND_ABOVE_PRICE: Code.T20,
    Fault.INCONSISTENT_STOCK: Code.T21,
    Fault.OLD_ORDER: Code.T22,
    Fault.RESULT_LINES: Code.T23,
    Fault.RESULT_UNKNOWN_FILE: Code.T23,
    Fault.TECHNICAL_ERROR: Code.X99,
}
"""The code each fault gives: at the organiser reading the file, or in the RESULT (X99)."""

FILE_FAULTS = frozenset(
    {Fault.CONTROL_INVALID, Fault.SHA256, Fault.LINE_COUNT, Fault.SYNTAX, Fault.WITHHOLD_CONTROL}
)
"""Faults of any file the reseller writes: TICKETS, STOCK and RESULT."""
NUMBER_FAULTS = frozenset({Fault.GAP, Fault.REUSED_NUMBER, Fault.FILE_NUMBER})
NEW_TICKET_FAULTS = frozenset(
    {
        Fault.CURRENCY,
        Fault.UNKNOWN_PRODUCT,
        Fault.UNKNOWN_TARIFF,
        Fault.PRICE,
        Fault.OLD_ORDER,
    }
)
"""Faults on the first new ticket of the file."""
EARLIER_TICKET_FAULTS = frozenset({Fault.REVIVED, Fault.IMMUTABLE_CHANGED, Fault.TIME_BACK})
"""Faults adding a line for a ticket of an earlier file."""
LINE_FAULTS = frozenset(
    {
        Fault.DUPLICATE_BARCODE,
        Fault.UNKNOWN_STATE,
        Fault.UNKNOWN_SEAT,
        Fault.SEAT_TWICE,
        Fault.KIND_COLUMNS,
        Fault.REFUND_ABOVE_PRICE,
        Fault.FILE_NUMBER,
    }
)
TICKETS_FAULTS = (
    FILE_FAULTS | NUMBER_FAULTS | NEW_TICKET_FAULTS | EARLIER_TICKET_FAULTS | LINE_FAULTS
)
STOCK_FAULTS = FILE_FAULTS | {Fault.INCONSISTENT_STOCK}
RESULT_FAULTS = FILE_FAULTS | {Fault.RESULT_LINES, Fault.TECHNICAL_ERROR}
"""Faults of the next RESULT (:meth:`~devtools.sandboxes.secutix.partner.SecutixPartner.pickup`)."""
UNREPLACEABLE = frozenset({Fault.GAP, Fault.REUSED_NUMBER, Fault.WITHHOLD_CONTROL})
"""Faults that replacing the file under its name cannot mend (release the control file
held back instead)."""


def as_fault(fault: Fault | str | None, allowed: frozenset[Fault], what: str) -> Fault | None:
    if not fault:
        return None
    fault = Fault(fault)
    if fault not in allowed:
        raise SandboxError(f"the {fault} fault does not concern {what}")
    return fault


def need(items: Sequence[Any], why: str) -> Sequence[Any]:
    if not items:
        raise SandboxError(f"cannot inject the fault: {why}")
    return items


def faulty_tickets(
    rows: list[Row], fault: Fault | None, *, new: set[str], earlier: list[Row]
) -> list[Row]:
    """The lines of a TICKETS file with a content fault; ``rows`` itself when none.

    ``new``: barcodes of the file never sent before; ``earlier``: the current lines of
    tickets of earlier files that this file does not carry (for the faults that add one).
    """
    if fault is None or fault not in (NEW_TICKET_FAULTS | EARLIER_TICKET_FAULTS | LINE_FAULTS):
        return rows
    faulty = copy.deepcopy(rows)
    fresh = [row for row in faulty if row["BAR_CODE"] in new]
    if fault in NEW_TICKET_FAULTS:
        row = need(fresh, "no new ticket in the file")[0]
        if fault is Fault.CURRENCY:
            row["CURRENCY"] = "CHF" if row["CURRENCY"] == "EUR" else "EUR"
        elif fault is Fault.UNKNOWN_PRODUCT:
            row["PRODUCT_CODE"], row["PRODUCT_NAME"] = "INCONNU27", "Produit inconnu"
        elif fault is Fault.UNKNOWN_TARIFF:
            row["TARIFF_CODE"], row["TARIFF_NAME"] = "ETUDIANT", "Étudiant"
        elif fault is Fault.PRICE:
            row["PRICE"] = str(int(row["PRICE"]) + 100)
        elif fault is Fault.OLD_ORDER:
            known = [*earlier, *(r for r in faulty if r["BAR_CODE"] not in new)]
            pairs = [(r, e) for r in fresh for e in known if r["CURRENCY"] == e["CURRENCY"]]
            row, old = need(pairs, "no ticket of an earlier file in the same currency")[0]
            row["ORDER_NUMBER"] = old["ORDER_NUMBER"]
    elif fault in EARLIER_TICKET_FAULTS:
        candidates = earlier
        if fault is Fault.REVIVED:
            candidates = [r for r in earlier if r["TICKET_STATE"] in ("CANCELLED", "REFUNDED")]
        row = dict(need(candidates, "no suitable ticket in an earlier file")[0])
        if fault is Fault.REVIVED:
            row["TICKET_STATE"], row["REFUND_AMOUNT"] = "SOLD", ""
        elif fault is Fault.IMMUTABLE_CHANGED:
            row["PRICE"] = str(int(row["PRICE"]) + 100)
        else:
            day, rest = row["STATE_CHANGED_AT"][:10], row["STATE_CHANGED_AT"][10:]
            row["STATE_CHANGED_AT"] = _day_before(day) + rest
        faulty.append(row)
    elif fault is Fault.DUPLICATE_BARCODE:
        again = dict(need(faulty, "the file has no line")[0])
        again["BENEFICIARY_FIRSTNAME"] = "Autre" + again["BENEFICIARY_FIRSTNAME"]
        faulty.insert(1, again)
    elif fault is Fault.UNKNOWN_STATE:
        need(faulty, "the file has no line")[0]["TICKET_STATE"] = "NOT_PRINTED"
    elif fault is Fault.UNKNOWN_SEAT:
        seated = [r for r in fresh if r["SEAT"] and not r["PASS_VALIDITY_END"]]
        need(seated, "no new ticket of an event in the file")[0]["SEAT"] = "LOGE/Z/99"
    elif fault is Fault.SEAT_TWICE:
        _seat_twice(faulty, fresh, earlier)
    elif fault is Fault.KIND_COLUMNS:
        row = need(faulty, "the file has no line")[0]
        if row["SEAT"]:
            row["PASS_VALIDITY_END"] = "2027-12-31"
        else:
            row["SEAT"] = "LIBRE"
    elif fault is Fault.REFUND_ABOVE_PRICE:
        refunded = [r for r in faulty if r["TICKET_STATE"] == "REFUNDED"]
        row = need(refunded, "no refunded ticket in the file")[0]
        row["REFUND_AMOUNT"] = str(int(row["PRICE"]) + 100)
    elif fault is Fault.FILE_NUMBER:
        for row in need(faulty, "the file has no line"):
            row["FILE_NUMBER"] = str(int(row["FILE_NUMBER"]) + 1)
    return faulty


def _seat_twice(faulty: list[Row], fresh: list[Row], earlier: list[Row]) -> None:
    valid = ("SOLD", "PRINTED")
    holders = [r for r in [*faulty, *earlier] if r["TICKET_STATE"] in valid and "/" in r["SEAT"]]
    for row in fresh:
        if row["TICKET_STATE"] not in valid or "/" not in row["SEAT"]:
            continue
        for other in holders:
            same_show = (other["PRODUCT_CODE"], other["PERFORMANCE_CODE"]) == (
                row["PRODUCT_CODE"],
                row["PERFORMANCE_CODE"],
            )
            if other["BAR_CODE"] != row["BAR_CODE"] and same_show:
                row["SEAT"] = other["SEAT"]
                return
    raise SandboxError("cannot inject the fault: no two valid seats of one performance")


def _day_before(day: str) -> str:
    return (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()


def faulty_stock(rows: list[Row], fault: Fault | None) -> list[Row]:
    if fault is not Fault.INCONSISTENT_STOCK:
        return rows
    faulty = copy.deepcopy(rows)
    row = need(faulty, "the reseller holds no places: the STOCK has no line")[0]
    row["AVAILABLE"] = str(int(row["AVAILABLE"]) + 1)
    return faulty


def faulty_result(rows: list[Row], fault: Fault | None) -> list[Row]:
    if fault is not Fault.RESULT_LINES:
        return rows
    return rows[:-1] if rows else [{"LINE_NUMBER": "1", "STATUS": "OK"}]


def file_fault(name: FileName, data: bytes, lines: int, fault: Fault | None) -> tuple[bytes, bytes]:
    """The data file and control file to upload for a verification fault."""
    control = control_bytes(str(name), lines, sha256_hex(data))
    if fault is Fault.CONTROL_INVALID:
        control = control_bytes(str(name).lower(), lines, sha256_hex(data))
    elif fault is Fault.SHA256:
        data = data.replace(b"\n", b"\r\n")
    elif fault is Fault.LINE_COUNT:
        control = control_bytes(str(name), lines + 1, sha256_hex(data))
    elif fault is Fault.SYNTAX:
        data = _syntax_error(name.type, data)
        control = control_bytes(str(name), lines, sha256_hex(data))
    return data, control


_TIMESTAMP_COLUMNS = {FileType.TICKETS: "SOLD_AT", FileType.STOCK: "SNAPSHOT_AT"}


def _syntax_error(file_type: FileType, data: bytes) -> bytes:
    """A timestamp without its UTC offset on the first line, else a column named twice."""
    header, _, body = data.partition(b"\n")
    columns = header.decode().split(";")
    column = _TIMESTAMP_COLUMNS.get(file_type)
    if body and column in columns:
        first, _, rest = body.partition(b"\n")
        fields = first.decode().split(";")
        position = columns.index(column) + len(fields) - len(columns)
        fields[position] = fields[position][:19]
        return header + b"\n" + ";".join(fields).encode() + b"\n" + rest
    return header + b";" + columns[0].encode() + b"\n" + body
