"""The SecuTix reseller's names for the exchange layer, and the copy of a TICKETS file the
journal keeps: its ``CONTACT_*`` values emptied (``secutix-reseller-v1`` sections 4, 6, 11)."""

from __future__ import annotations

import pytest

from reseller_sync.core.exchange import Sender, Unit, UnredactableFileError
from reseller_sync.secutix.naming import NAMING, ORGANISER_STREAM
from reseller_sync.secutix.reader import read_file, sha256_hex
from tests.secutix.secutix_samples import (
    CONTACT_VALUES,
    TICKETS_42,
    control_for,
    ticket_line,
    tickets,
)


def test_a_data_file_lands_with_its_control_file() -> None:
    data, control = NAMING.parse("TICKETS_00000042.csv"), NAMING.parse("TICKETS_00000042.ctl")
    assert data is not None
    assert control is not None
    assert (data.unit, control.unit) == (Unit.BATCH_DATA, Unit.BATCH_CLOSING)
    assert (control.stream, control.sequence, control.sender) == ("TICKETS", 42, Sender.PARTNER)
    assert NAMING.parse("TICKETS_00000042.csv.part") is None
    assert NAMING.parse("tickets_00000042.csv") is None


def test_the_organisers_files_share_one_stream_and_a_result_answers_its_number() -> None:
    offer, contingent = NAMING.parse("OFFER_00000005.ctl"), NAMING.parse("CONTINGENT_00000006.ctl")
    result = NAMING.parse("RESULT_00000006.ctl")
    assert offer is not None
    assert contingent is not None
    assert result is not None
    assert offer.stream == contingent.stream == ORGANISER_STREAM
    assert offer.sender is Sender.ORGANISER
    assert result.sender is Sender.PARTNER
    assert result.answers is not None
    assert (result.answers.stream, result.answers.sequence) == (ORGANISER_STREAM, 6)
    stock = NAMING.parse("STOCK_20261129.csv")
    assert stock is not None
    assert stock.stream == "STOCK"
    assert stock.sequence == 20261129


def test_the_copy_kept_has_no_contact_value_and_reads_the_same() -> None:
    data = TICKETS_42.encode()
    kept = NAMING.redact("TICKETS_00000042.csv", data)

    text = kept.decode()
    assert not any(value in text for value in CONTACT_VALUES)
    assert text.splitlines()[0] == TICKETS_42.splitlines()[0]
    original = read_file("TICKETS_00000042.csv", data, control_for("TICKETS_00000042.csv", data))
    copy = read_file(
        "TICKETS_00000042.csv",
        kept,
        control_for("TICKETS_00000042.csv", data),
        arrived_sha256=sha256_hex(data),
    )
    assert copy.frame.equals(original.frame)


def test_other_files_are_kept_as_they_are() -> None:
    data = b"PRODUCT_CODE;PERFORMANCE_CODE\n"
    assert NAMING.redact("STOCK_20261129.csv", data) == data
    assert NAMING.redact("TICKETS_00000042.ctl", data) == data


def test_a_file_whose_contact_values_cannot_be_located_is_not_kept() -> None:
    broken = tickets(ticket_line(CONTACT_ADDRESS='"12 rue de la Paix; bât. B')).encode()
    with pytest.raises(UnredactableFileError) as raised:
        NAMING.redact("TICKETS_00000001.csv", broken)
    assert not any(value in str(raised.value) for value in CONTACT_VALUES)
