"""The examples of spec section 10 read to the values they show."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from reseller_sync.fnac.codec import FileType, read_file
from reseller_sync.fnac.schema import BUYER_CONTACT_COLUMNS
from tests.fnac.fnac_samples import ACK_NAME, ACK_TEXT, VENTES_NAME, file_bytes, ventes_bytes


def test_ventes_example_envelope() -> None:
    envelope = read_file(VENTES_NAME, ventes_bytes()).envelope

    assert envelope.name.type is FileType.VENTES
    assert (envelope.name.manager, envelope.name.seq) == ("M0427", 42)
    assert envelope.created == datetime.fromisoformat("2026-11-28T14:05:00+01:00")
    assert (envelope.encoding, envelope.count, envelope.control) == ("CP1252", 3, 15100)


def test_ventes_example_lines() -> None:
    frame = read_file(VENTES_NAME, ventes_bytes()).frame

    assert list(frame.index) == [1, 2, 3]
    first = frame.loc[1]
    assert first["id_vente"] == "V2611280001"
    assert first["code_manifestation"] == "004512"
    assert first["date_seance"] == pd.Timestamp("2027-03-14 20:30")
    assert (first["code_salle"], first["code_bloc"], first["rang"], first["place"]) == (
        "ZEN01",
        "A",
        "12",
        "7",
    )
    assert (first["prix_ttc"], first["commission"], first["devise"]) == (6850, 350, "EUR")
    assert first["code_barre"] == "401234567890123"
    assert (first["nom_beneficiaire"], first["prenom_beneficiaire"]) == ("Dupré", "Hélène")
    assert first["date_vente"] == pd.Timestamp("2026-11-28T13:12:44+01:00")
    assert frame.loc[2, "categorie_client"] == "15"
    assert frame.loc[2, "prenom_beneficiaire"] == "Zoé"


def test_ventes_example_undated_pass_line_has_no_seance_nor_seat() -> None:
    third = read_file(VENTES_NAME, ventes_bytes()).frame.loc[3]

    assert third["code_manifestation"] == "000981"
    assert pd.isna(third["date_seance"])
    assert all(pd.isna(third[c]) for c in ("code_salle", "code_bloc", "rang", "place"))
    assert (third["prix_ttc"], third["devise"]) == (2400, "CHF")
    assert (third["nom_beneficiaire"], third["prenom_beneficiaire"]) == ("Müller", "Jürg")
    assert third["libelle_point_vente"] == "FNAC Genève Rive"


def test_ventes_example_dtypes() -> None:
    dtypes = read_file(VENTES_NAME, ventes_bytes()).frame.dtypes

    assert dtypes["code_manifestation"] == "str"
    assert dtypes["prix_ttc"] == "int64"
    assert dtypes["date_seance"] == "datetime64[us]"
    assert dtypes["date_vente"] == "datetime64[us, UTC]"


def test_ventes_example_drops_the_buyer_contact_columns() -> None:
    frame = read_file(VENTES_NAME, ventes_bytes()).frame

    assert not set(BUYER_CONTACT_COLUMNS) & set(frame.columns)
    rendered = frame.to_csv()
    assert "example.org" not in rendered
    assert "+33612345678" not in rendered
    assert "rue de la Paix" not in rendered


def test_ack_example() -> None:
    parsed = read_file(ACK_NAME, file_bytes(*ACK_TEXT))

    assert parsed.name.type is FileType.ACK
    assert parsed.name.answered is not None
    assert str(parsed.name.answered) == "PLACES_M0427_000007_20261128130003.csv"
    assert parsed.name.seq == 7
    assert (parsed.envelope.count, parsed.envelope.control) == (2, 0)
    frame = parsed.frame
    assert list(frame["statut"]) == ["KO", "KO"]
    assert list(frame["ligne"]) == [118, 119]
    assert list(frame["code_erreur"]) == ["E06", "E06"]
    assert frame.loc[1, "message"] == "Place déjà dans l'allotement"


@pytest.mark.parametrize("chunk_size", [256, 1 << 20])
def test_chunks_add_up_to_the_whole_file(chunk_size: int) -> None:
    from reseller_sync.fnac.codec import iter_file_chunks

    chunks = list(iter_file_chunks(VENTES_NAME, ventes_bytes(), chunk_size=chunk_size))

    whole = pd.concat(chunks)
    pd.testing.assert_frame_equal(whole, read_file(VENTES_NAME, ventes_bytes()).frame)
    assert list(whole.index) == [1, 2, 3]


def test_cp1252_values_decode_as_python_decodes_them() -> None:
    """Every CP1252 character, empty values, and a column that starts inside its buffers."""
    import pyarrow as pa

    from reseller_sync.fnac.reader import _cp1252_column

    defined = [bytes([b]) for b in range(256) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)]
    values = [b"", b"Dupr\xe9", *defined, b"", b'\x80 \x99 \xff;"x"', b"plain"]
    column = pa.array(values, pa.large_binary())

    for part in (column, column.slice(3, 200), column.slice(len(values) - 3)):
        expected = [value.decode("cp1252") for value in part.to_pylist()]
        assert _cp1252_column(part).to_pylist() == expected
