"""Buyer columns (``buyer_*``, section 11) are dropped at reading, before any check: never
validated, never in an error, never in a returned table."""

from __future__ import annotations

from pathlib import Path

import pytest

from reseller_sync.ticketnet.check import check_paths
from reseller_sync.ticketnet.errors import BatchRefusedError
from reseller_sync.ticketnet.names import FileType
from reseller_sync.ticketnet.reader import FolderSource, read_batch
from tests.ticketnet.ticketnet_samples import (
    SALES_BATCH,
    TRANSACTION_COLUMNS,
    csv_text,
    gz,
    sale,
    write_batch,
)

SECRETS = ("secret.buyer@example.org", "+33699999999", "75999", "LOYAL-GOLD-42")
COLUMNS = [*TRANSACTION_COLUMNS, "buyer_loyalty"]
FILE = f"{SALES_BATCH}.TRANSACTIONS.1.csv.gz"


def _batch(folder: Path, records: list[dict[str, str]]) -> None:
    text = csv_text([dict(r, buyer_loyalty="LOYAL-GOLD-42") for r in records], COLUMNS)
    write_batch(folder, SALES_BATCH, {FILE: gz(text)}, {FILE: len(records)})


def test_buyer_columns_of_any_name_are_not_in_the_table(tmp_path: Path) -> None:
    _batch(tmp_path, [sale(buyer_email='not an e-mail, "quoted"\nline')])

    table = read_batch(FolderSource(tmp_path), SALES_BATCH).table(FileType.TRANSACTIONS)

    assert not [c for c in table.column_names if c.startswith("buyer_")]
    assert not any(secret in str(table.to_pylist()) for secret in SECRETS)


@pytest.mark.parametrize(
    "broken",
    [
        {"amount": "68.5"},
        {"currency": "eur", "barcode": "1", "outlet_id": "X"},
        {"seat": "", "refund_reason": "TEST"},
        {"occurred_at": "75999"},
    ],
)
def test_buyer_values_are_in_no_error(tmp_path: Path, broken: dict[str, str]) -> None:
    _batch(tmp_path, [sale(), sale(line_id="2", **broken)])

    with pytest.raises(BatchRefusedError) as raised:
        read_batch(FolderSource(tmp_path), SALES_BATCH)

    shown = str(raised.value) + repr(raised.value.problems)
    assert "buyer_" not in shown
    assert not any(secret in shown for secret in SECRETS if secret != "75999")


def test_buyer_values_are_in_no_folder_check_output(tmp_path: Path) -> None:
    _batch(tmp_path, [sale(currency="USD"), sale(currency="USD")])

    report = check_paths([tmp_path])

    shown = "\n".join(p.located() for p in report.problems)
    assert "R09" in shown
    assert "R16" not in shown  # the two records differ in buyer columns only: one repeat
    assert not any(secret in shown for secret in SECRETS)
