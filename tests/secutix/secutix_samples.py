# ruff: noqa: E501  (the examples are the spec's lines, verbatim)
"""The examples of ``secutix-reseller-v1`` section 12 and helpers to write files with their
control files."""

from __future__ import annotations

import hashlib
from pathlib import Path

TICKETS_42 = """\
BAR_CODE;TICKET_STATE;FILE_NUMBER;ORDER_NUMBER;PRODUCT_CODE;PRODUCT_NAME;PERFORMANCE_CODE;PASS_VALIDITY_END;SEATCAT_CODE;TARIFF_CODE;TARIFF_NAME;SEAT;PRICE;CURRENCY;COMMISSION;REFUND_AMOUNT;BENEFICIARY_FIRSTNAME;BENEFICIARY_LASTNAME;CONTACT_NUMBER;CONTACT_EMAIL;CONTACT_PHONE;CONTACT_ADDRESS;POINT_OF_SALE;SOLD_AT;STATE_CHANGED_AT
771200000417;SOLD;42;300417;TOSCA27;Tosca;TOSCA27-0314;;CAT1;PLEIN;Plein tarif;PARTERRE/F/12;6850;EUR;350;;Hélène;Dupré;1002345;h.dupre@example.org;+33612345678;"12 rue de la Paix; bât. B";WEB;2026-11-28T13:05:12+01:00;2026-11-28T13:05:12+01:00
771200000418;SOLD;42;300417;TOSCA27;Tosca;TOSCA27-0314;;FOSSE;ENFANT;Enfant;FOSSE;2500;EUR;150;;Zoé;Dupré;1002345;h.dupre@example.org;+33612345678;"12 rue de la Paix; bât. B";WEB;2026-11-28T13:05:12+01:00;2026-11-28T13:05:12+01:00
771200000301;PRINTED;42;300301;TOSCA27;Tosca;TOSCA27-0314;;CAT1;REDUIT;Tarif réduit;PARTERRE/B/4;5850;EUR;350;;Marc;Petit;;;;;GUICHET1;2026-11-27T18:02:00+01:00;2026-11-28T13:10:00+01:00
771200000288;REFUNDED;42;300288;TOSCA27;Tosca;TOSCA27-0314;;CAT1;PLEIN;Plein tarif;PARTERRE/C/7;6850;EUR;350;6500;Anne;Morel;;;;;WEB;2026-11-27T11:45:30+01:00;2026-11-28T13:12:41+01:00
771200000420;SOLD;42;300420;MUSEE27;Musée, visite du 3 avril;MUSEE27-0403;2027-04-03;VISITE;REDUIT;Tarif réduit;;1800;CHF;100;;Jürg;Müller;;;;;GUICHET2;2026-11-28T13:20:00+01:00;2026-11-28T13:20:00+01:00
771200000421;CANCELLED;42;300421;PASS27;Pass annuel 2027;;2027-12-31;LIBRE;PLEIN;Plein tarif;;3900;EUR;200;;Noël;Garçon;;;;;WEB;2026-11-28T13:22:00+01:00;2026-11-28T13:24:10+01:00
"""

CONTACT_VALUES = (
    "1002345",
    "h.dupre@example.org",
    "+33612345678",
    "12 rue de la Paix",
    "bât. B",
)
"""The ``CONTACT_*`` values of the example: never in any output."""

STOCK_20261129 = """\
PRODUCT_CODE;PERFORMANCE_CODE;SEATCAT_CODE;GIVEN;SOLD;AVAILABLE;TICKETS_FILE_NUMBER;SNAPSHOT_AT
TOSCA27;TOSCA27-0314;CAT1;2;1;1;44;2026-11-29T02:30:00+01:00
TOSCA27;TOSCA27-0314;FOSSE;300;1;299;44;2026-11-29T02:30:00+01:00
PASS27;;LIBRE;500;0;500;44;2026-11-29T02:30:00+01:00
"""

RESULT_00000006 = """\
LINE_NUMBER;STATUS;ERROR_CODE;AVAILABLE;MESSAGE
1;OK;;;
2;KO;Q04;;Place déjà au contingent
3;OK;;;
4;OK;;;
"""

HEADER = TICKETS_42.splitlines()[0]
COLUMNS = HEADER.split(";")


def ticket_line(**values: str) -> str:
    """A valid TICKETS line of file 1 (a seat of an event), with ``values`` replaced."""
    line = dict(
        BAR_CODE="771200000417",
        TICKET_STATE="SOLD",
        FILE_NUMBER="1",
        ORDER_NUMBER="300417",
        PRODUCT_CODE="TOSCA27",
        PRODUCT_NAME="Tosca",
        PERFORMANCE_CODE="TOSCA27-0314",
        PASS_VALIDITY_END="",
        SEATCAT_CODE="CAT1",
        TARIFF_CODE="PLEIN",
        TARIFF_NAME="Plein tarif",
        SEAT="PARTERRE/F/12",
        PRICE="6850",
        CURRENCY="EUR",
        COMMISSION="350",
        REFUND_AMOUNT="",
        BENEFICIARY_FIRSTNAME="Hélène",
        BENEFICIARY_LASTNAME="Dupré",
        CONTACT_NUMBER="1002345",
        CONTACT_EMAIL="h.dupre@example.org",
        CONTACT_PHONE="+33612345678",
        CONTACT_ADDRESS='"12 rue de la Paix; bât. B"',
        POINT_OF_SALE="WEB",
        SOLD_AT="2026-11-28T13:05:12+01:00",
        STATE_CHANGED_AT="2026-11-28T13:05:12+01:00",
    )
    line.update(values)
    return ";".join(line[c] for c in COLUMNS)


def tickets(*lines: str) -> str:
    return "".join(f"{line}\n" for line in (HEADER, *lines))


def control_for(name: str, data: bytes, *, lines: int | None = None) -> bytes:
    count = lines if lines is not None else _data_lines(data)
    digest = hashlib.sha256(data).hexdigest()
    return f"FILE_NAME;LINE_COUNT;SHA256\n{name};{count};{digest}\n".encode()


def _data_lines(data: bytes) -> int:
    import csv
    import io

    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    try:
        return len(list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))) - 1
    except csv.Error:
        return text.count("\n") - 1


def write(folder: Path, name: str, text: str | bytes, *, control: bool = True) -> Path:
    """Write a data file and (by default) its control file; the data file's path."""
    data = text.encode() if isinstance(text, str) else text
    path = folder / name
    path.write_bytes(data)
    if control:
        (folder / name.replace(".csv", ".ctl")).write_bytes(control_for(name, data))
    return path
