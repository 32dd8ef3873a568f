"""The buyer contact columns never reach a frame, an error or the check command's output."""

from __future__ import annotations

import pytest

from reseller_sync.fnac.codec import FileFormatError, read_file
from reseller_sync.fnac.schema import BUYER_CONTACT_COLUMNS
from tests.fnac.fnac_samples import VENTES_LINES, VENTES_NAME, ventes_bytes, ventes_line

SECRETS = ("secret.buyer@example.org", "+33 6 SECRET", "SECRET STREET")


def _secret_line(**changes: str) -> str:
    fields = dict(zip(BUYER_CONTACT_COLUMNS, SECRETS, strict=True))
    fields.update(changes)
    return ventes_line(**fields)


def _error_text(data: bytes) -> str:
    with pytest.raises(FileFormatError) as raised:
        read_file(VENTES_NAME, data)
    error = raised.value
    return "\n".join([str(error), repr(error), *(repr(p) for p in error.problems)])


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            ventes_bytes(
                _secret_line(**{BUYER_CONTACT_COLUMNS[0]: 'not an e-mail;;"'}, code_barre="x")
            ),
            id="malformed buyer value and a bad barcode",
        ),
        pytest.param(
            ventes_bytes(_secret_line() + ";extra", *VENTES_LINES[1:]),
            id="line with a field too many",
        ),
        pytest.param(
            ventes_bytes(_secret_line().replace(";FR0751", ""), *VENTES_LINES[1:]),
            id="line with a field missing",
        ),
        pytest.param(
            ventes_bytes(
                _secret_line().replace('"', "").replace("SECRET STREET", '"SECRET STREET')
            ),
            id="unclosed quote",
        ),
        pytest.param(
            ventes_bytes(_secret_line()).replace(b"SECRET STREET", "SECRET STRÉÉT".encode()),
            id="UTF-8 in the buyer address",
        ),
        pytest.param(
            ventes_bytes(_secret_line()).replace(b"\r\n", b"\n", 3),
            id="lone LF",
        ),
    ],
)
def test_errors_never_show_buyer_contact_values(data: bytes) -> None:
    text = _error_text(data)

    for secret in (*SECRETS, "SECRET"):
        assert secret not in text


def test_valid_file_frame_has_no_buyer_contact_values() -> None:
    frame = read_file(VENTES_NAME, ventes_bytes(_secret_line(), *VENTES_LINES[1:])).frame

    assert not set(BUYER_CONTACT_COLUMNS) & set(frame.columns)
    assert "SECRET" not in frame.to_csv()
