"""The canonical line schemas: a frame conforms or the adapter that built it has a bug."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from reseller_sync.config.paths import PROJECT_ROOT
from reseller_sync.core.lines import (
    CANCELLATION_LINES,
    LINE_INDEX,
    SALE_LINES,
    TICKET_STATE_LINES,
    LineBatch,
    LineSchema,
    LineTicketState,
    as_batches,
)
from reseller_sync.domain.errors import TechnicalError
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.schema import SCHEMAS

SOLD_AT = pd.Timestamp("2026-11-28T12:12:44Z").as_unit("us")


def sale(**changes: object) -> pd.DataFrame:
    row: dict[str, object] = {
        "reseller_order_ref": "O1",
        "reseller_ticket_ref": "T1",
        "barcode": "401234500000001",
        "performance_id": 1,
        "seat_id": 7,
        "block_id": None,
        "category_id": 1,
        "tariff_id": 1,
        "reseller_tariff_ref": "0",
        "price": 6850,
        "commission": 350,
        "currency": "EUR",
        "beneficiary_first_name": None,
        "beneficiary_last_name": "Dupré",
        "point_of_sale_ref": "FR0751",
        "point_of_sale_name": "Paris Ternes",
        "sold_at": SOLD_AT,
    }
    row.update(changes)
    frame = pd.DataFrame([row], index=pd.Index([3], name=LINE_INDEX))
    return frame.astype(dict(SALE_LINES.dtypes))


def cancellation(**changes: object) -> pd.DataFrame:
    row: dict[str, object] = {
        "reseller_cancellation_ref": "C1",
        "reseller_order_ref": None,
        "reseller_ticket_ref": "T1",
        "barcode": None,
        "refund_amount": 6500,
        "currency": "EUR",
        "cancelled_at": SOLD_AT,
    }
    row.update(changes)
    frame = pd.DataFrame([row], index=pd.Index([1], name=LINE_INDEX))
    return frame.astype(dict(CANCELLATION_LINES.dtypes))


def refused(schema: LineSchema, frame: pd.DataFrame) -> str:
    with pytest.raises(TechnicalError) as raised:
        schema.check(frame, by="the test adapter")
    assert raised.value.message.startswith(f"the test adapter built {schema.kind} lines")
    return raised.value.message


@pytest.mark.parametrize("schema", [SALE_LINES, CANCELLATION_LINES, TICKET_STATE_LINES])
def test_an_empty_frame_of_each_kind_conforms(schema: LineSchema) -> None:
    empty = schema.empty()
    assert schema.check(empty, by="x") is empty
    assert list(empty.columns) == list(schema.names)
    assert [str(empty[c].dtype) for c in empty.columns] == [d for _, d in schema.dtypes]


def test_a_sale_line_conforms() -> None:
    frame = sale()
    assert SALE_LINES.violations(frame) == []
    assert SALE_LINES.check(frame, by="x") is frame


def test_a_missing_an_extra_and_a_retyped_column_are_each_named() -> None:
    frame = sale().drop(columns="barcode").assign(code_barre="401234500000001")
    frame["price"] = frame["price"].astype("float64")
    message = refused(SALE_LINES, frame)
    assert "missing column(s) barcode" in message
    assert "unexpected column(s) code_barre" in message
    assert "price is float64, expected int64" in message


def test_text_must_be_arrow_text_and_instants_in_utc() -> None:
    frame = sale()
    frame["currency"] = frame["currency"].astype(object)
    frame["sold_at"] = frame["sold_at"].dt.tz_localize(None)
    message = refused(SALE_LINES, frame)
    assert "currency is object, expected str" in message
    assert "sold_at is datetime64[us], expected datetime64[us, UTC]" in message


def test_a_required_value_missing_names_the_line() -> None:
    message = refused(SALE_LINES, sale(barcode=None))
    assert "barcode is empty on line(s) [3]" in message


def test_the_index_must_be_the_partners_line_numbers() -> None:
    assert "named 'line'" in refused(SALE_LINES, sale().reset_index(drop=True))
    twice = pd.concat([sale(), sale()])
    assert "a line number appears twice" in refused(SALE_LINES, twice)


def test_a_cancellation_names_its_ticket_by_reference_or_barcode() -> None:
    assert CANCELLATION_LINES.violations(cancellation()) == []
    assert CANCELLATION_LINES.violations(cancellation(reseller_ticket_ref=None, barcode="4")) == []
    message = refused(CANCELLATION_LINES, cancellation(reseller_ticket_ref=None))
    assert "none of reseller_ticket_ref, barcode is given on line(s) [1]" in message


def test_a_ticket_state_line_is_a_sale_with_a_known_state() -> None:
    frame = sale().assign(
        state=pd.Series([LineTicketState.REFUNDED.value], index=[3], dtype="str"),
        state_changed_at=SOLD_AT,
        refund_amount=pd.Series([6500], index=[3], dtype="Int64"),
    )
    frame.index.name = LINE_INDEX
    assert TICKET_STATE_LINES.violations(frame) == []
    frame["state"] = pd.Series(["CONTROLLED"], index=frame.index, dtype="str")
    assert "state has value(s) ['CONTROLLED']" in refused(TICKET_STATE_LINES, frame)


def test_batches_come_from_a_frame_a_batch_or_a_sequence() -> None:
    frame = sale()
    [one] = as_batches(frame)
    assert one.lines is frame
    assert one.read == 1
    batch = LineBatch(frame, records=5)
    assert list(as_batches(batch)) == [batch]
    assert [b.read for b in as_batches([frame, batch])] == [1, 5]


# --------------------------------------------------------------------------- neutrality

FNAC_COLUMNS = sorted(
    {
        column.name
        for file_type in (FileType.VENTES, FileType.TEST, FileType.ANNUL)
        for column in SCHEMAS[file_type].columns
    }
    - {"commission", "place"}
)
"""FNAC's column names, less the two that are also plain English and box-office words."""

NEUTRAL = [
    *sorted((PROJECT_ROOT / "plugins" / "reseller_sync" / "integration").glob("*.py")),
    *(
        path
        for path in sorted((PROJECT_ROOT / "plugins" / "reseller_sync" / "core").glob("*.py"))
        # The registry lists the adapter modules by import path: the one place outside an
        # adapter that names a reseller, by design.
        if path.name != "resellers.py"
    ),
]


def test_fnac_columns_are_known_to_the_test() -> None:
    assert {"id_vente", "prix_ttc", "code_barre", "montant_rembourse"} <= set(FNAC_COLUMNS)
    assert any(path.name == "lines.py" for path in NEUTRAL)
    assert any(path.name == "sales.py" for path in NEUTRAL)


@pytest.mark.parametrize("path", NEUTRAL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_canonical_lines_and_the_integration_name_no_reseller(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"fnac", text, re.IGNORECASE), "names FNAC"
    found = [c for c in FNAC_COLUMNS if re.search(rf"\b{c}\b", text)]
    assert not found, f"names FNAC's columns {found}"
