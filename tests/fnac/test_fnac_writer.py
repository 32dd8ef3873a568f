"""Writing files: format, transliteration, trailer, refusal of invalid records, round trips."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reseller_sync.domain.errors import ErrorCategory
from reseller_sync.fnac.codec import (
    FileType,
    FileWriteError,
    read_file,
    transliterate,
    write_ack,
    write_file,
)
from reseller_sync.fnac.schema import BUYER_CONTACT_COLUMNS, schema_of
from reseller_sync.fnac.values import ValueKind
from tests.fnac.fnac_samples import PARIS, VALID_RECORDS, ventes_record

CREATED = datetime(2026, 11, 28, 14, 5, tzinfo=PARIS)


def test_written_bytes_follow_the_contract() -> None:
    record = ventes_record(
        **{BUYER_CONTACT_COLUMNS[2]: "12 rue de la Paix; bât. B"}, nom_beneficiaire='Le "Roi"'
    )

    name, data = write_file(
        FileType.VENTES, "M0427", 42, [record, ventes_record(2)], created=CREATED
    )

    assert name == "VENTES_M0427_000042_20261128130500.csv"
    lines = data.split(b"\r\n")
    assert lines[0] == b"ENTETE;VENTES;1;M0427;000042;2026-11-28T14:05:00+01:00;CP1252"
    assert lines[1].startswith(b"id_vente;id_billet;code_manifestation;date_seance;")
    assert b';"Le ""Roi""";' in lines[2]
    assert '"12 rue de la Paix; bât. B"'.encode("cp1252") in lines[2]
    assert b";14/03/2027 20:30;" in lines[2]
    assert b";2026-11-28T13:12:44+01:00" in lines[2]
    assert lines[-2:] == [b"FIN;000042;2;13700", b""]
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_control_is_zero_for_types_without_control_column() -> None:
    _, data = write_file(FileType.PLACES, "M0427", 7, [VALID_RECORDS["PLACES"]])

    assert data.endswith(b"FIN;000007;1;0\r\n")


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("Łódź", "Lódz"),
        ("Őrség", "Orség"),
        ("Ștefan", "Stefan"),
        ("Škoda Œuvre €", "Škoda Œuvre €"),
        ("ﬁn", "fin"),
        ("東京 🎫", "?? ?"),
    ],
)
def test_transliteration_to_cp1252(text: str, written: str) -> None:
    assert transliterate(text) == written


def test_utf8_is_allowed_for_fnac_files_only() -> None:
    record = ventes_record(nom_beneficiaire="Łukasiewicz")
    name, data = write_file(FileType.VENTES, "M0427", 1, [record], encoding="UTF-8")

    assert read_file(name, data).frame.loc[1, "nom_beneficiaire"] == "Łukasiewicz"
    with pytest.raises(FileWriteError, match="CP1252"):
        write_file(FileType.PLACES, "M0427", 1, [VALID_RECORDS["PLACES"]], encoding="UTF-8")


def test_invalid_records_are_our_bug_with_every_problem() -> None:
    records = [
        ventes_record(1, code_manifestation=4512),
        ventes_record(2, prix_ttc=-5, date_vente=datetime(2026, 11, 28, 13, 0)),
        ventes_record(3, place=None, remarque="x"),
    ]

    with pytest.raises(FileWriteError) as raised:
        write_file(FileType.VENTES, "M0427", 1, records)

    error = raised.value
    assert error.category is ErrorCategory.TECHNICAL
    found = {(p.line, p.column) for p in error.problems}
    assert found == {
        (0, "remarque"),
        (1, "code_manifestation"),
        (2, "prix_ttc"),
        (2, "date_vente"),
        (3, "place"),
    }


def test_writing_an_ack_names_it_after_the_answered_file() -> None:
    answered = "PLACES_M0427_000007_20261128130003.csv"
    records = [
        {
            "fichier": answered,
            "statut": "KO",
            "ligne": 118,
            "code_erreur": "E06",
            "message": "Place déjà dans l'allotement",
        },
    ]

    name, data = write_ack(answered, records, created=CREATED)

    assert name == "ACK_" + answered
    assert data.startswith(b"ENTETE;ACK;1;M0427;000007;")
    assert list(read_file(name, data).frame["ligne"]) == [118]


def test_a_read_frame_can_be_written_back() -> None:
    name, data = write_file(FileType.VENTES, "M0427", 3, [ventes_record(1), ventes_record(2)])
    frame = read_file(name, data).frame

    again_name, again = write_file(FileType.VENTES, "M0427", 3, frame, created=CREATED)

    pd.testing.assert_frame_equal(read_file(again_name, again).frame, frame)


# Property-based round trips --------------------------------------------------------------

_SPECIALS = st.sampled_from([";", '"', "\n", "\r", "é", "Ł", "ő", "€", "ß", " "])
_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), _SPECIALS
    ),
    min_size=1,
    max_size=15,
)
_OFFSETS = st.sampled_from(
    [UTC, PARIS, timezone(timedelta(hours=2)), timezone(-timedelta(hours=5))]
)
_WHEN = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2098, 12, 31))


def _code(pattern: str) -> st.SearchStrategy[str]:
    return st.from_regex(pattern, fullmatch=True)


def _optional(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.none(), strategy)


_SEANCE = _WHEN.map(lambda d: d.replace(second=0, microsecond=0))
_TIMESTAMP = st.builds(lambda d, tz: d.replace(microsecond=0, tzinfo=tz), _WHEN, _OFFSETS)


@st.composite
def _ticket(draw: st.DrawFn, number: int) -> dict[str, object]:
    prix = draw(st.integers(0, 10**9))
    kind = draw(st.sampled_from(["seated", "free", "pass"]))
    seated, event = kind == "seated", kind != "pass"
    return {
        "id_vente": draw(_code(r"[A-Z0-9]{1,12}")),
        "id_billet": f"B{number}",
        "code_manifestation": draw(_code(r"[0-9]{6,10}")),
        "date_seance": draw(_SEANCE) if event else draw(_optional(_SEANCE)),
        "code_salle": draw(_code(r"[A-Za-z0-9]{3,8}")) if event else None,
        "code_bloc": draw(_code(r"[A-Za-z0-9]{1,6}")) if event else None,
        "rang": draw(_TEXT) if seated else None,
        "place": draw(_TEXT) if seated else None,
        "type_tarif": draw(_code(r"[0-9]{1,2}")),
        "categorie_client": str(draw(st.integers(0, 99))),
        "code_allotement": draw(_code(r"[A-Za-z0-9]{1,6}")),
        "prix_ttc": prix,
        "commission": draw(st.integers(0, prix)),
        "devise": draw(st.sampled_from(["EUR", "CHF"])),
        "code_barre": draw(_code(r"[0-9]{12,20}")),
        "nom_beneficiaire": draw(_optional(_TEXT)),
        "prenom_beneficiaire": draw(_optional(_TEXT)),
        **{column: draw(_optional(_TEXT)) for column in BUYER_CONTACT_COLUMNS},
        "code_point_vente": draw(_code(r"(FR|CH)[0-9]{4}")),
        "libelle_point_vente": draw(_TEXT),
        "date_vente": draw(_TIMESTAMP),
    }


@st.composite
def _records(draw: st.DrawFn, file_type: FileType) -> list[dict[str, object]]:
    count = draw(st.integers(0, 4))
    if file_type in (FileType.VENTES, FileType.TEST):
        return [draw(_ticket(number)) for number in range(count)]
    if file_type is FileType.ANNUL:
        return [
            {
                "id_annulation": f"C{number}",
                "id_vente": draw(_code(r"[A-Z0-9]{1,20}")),
                "id_billet": f"B{number}",
                "code_barre": draw(_code(r"[0-9]{12,20}")),
                "montant_rembourse": draw(st.integers(0, 10**9)),
                "devise": draw(st.sampled_from(["EUR", "CHF"])),
                "motif": draw(st.sampled_from(["CLIENT", "SEANCE_ANNULEE", "ERREUR_CAISSE"])),
                "code_point_vente": draw(_code(r"(FR|CH)[0-9]{4}")),
                "date_annulation": draw(_TIMESTAMP),
            }
            for number in range(count)
        ]
    if file_type is FileType.CATCLI:
        return [
            {
                "categorie_client": str(number),
                "libelle": draw(_TEXT),
                "actif": draw(st.booleans()),
                "date_modification": draw(_TIMESTAMP),
            }
            for number in range(count)
        ]
    if file_type is FileType.ACK:
        return [
            {
                "fichier": "PLACES_M0427_000007_20261128130003.csv",
                "statut": "KO",
                "ligne": draw(st.integers(1, 10**6)),
                "code_erreur": draw(st.sampled_from(["E05", "E99"])),
                "message": draw(_optional(_TEXT)),
            }
            for _ in range(count)
        ]
    if file_type is FileType.FICHE:
        records = []
        for _ in range(count):
            nature = draw(
                st.sampled_from(["EVENEMENT", "COMPETITION", "PASS_VISITE", "PASS_NON_DATE"])
            )
            dated = nature in ("EVENEMENT", "COMPETITION")
            start = draw(_TIMESTAMP)
            records.append(
                {
                    "code_produit": draw(_TEXT),
                    "libelle_produit": draw(_TEXT),
                    "nature": nature,
                    "code_manifestation": draw(_optional(_code(r"[0-9]{6,10}"))),
                    "lieu": draw(_TEXT),
                    "ville": draw(_TEXT),
                    "pays": draw(st.sampled_from(["FR", "CH"])),
                    "date_seance": draw(_SEANCE) if dated else None,
                    "fin_validite": None
                    if dated
                    else draw(st.dates(date(2001, 1, 1), date(2098, 12, 31))),
                    "code_config": draw(_TEXT) if dated else None,
                    "categorie": draw(_TEXT),
                    "libelle_categorie": draw(_TEXT),
                    "tarif": draw(_TEXT),
                    "libelle_tarif": draw(_TEXT),
                    "prix_ttc": draw(st.integers(0, 10**9)),
                    "devise": draw(st.sampled_from(["EUR", "CHF"])),
                    "contingent": draw(st.integers(0, 10**6)),
                    "debut_vente": start,
                    "fin_vente": start + timedelta(days=draw(st.integers(0, 400))),
                }
            )
        return records
    seated = draw(st.booleans())
    places_like = {
        "code_manifestation": draw(_code(r"[0-9]{6,10}")),
        "date_seance": draw(_SEANCE),
        "code_salle": draw(_code(r"[A-Za-z0-9]{3,8}")),
        "code_bloc": draw(_code(r"[A-Za-z0-9]{1,6}")),
        "rang": draw(_TEXT) if seated else None,
        "place": draw(_TEXT) if seated else None,
        "quantite": 1 if seated else draw(st.integers(1, 500)),
        "code_allotement": draw(_code(r"[A-Za-z0-9]{1,6}")),
    }
    if file_type is FileType.ETATPL:
        places_like["statut"] = draw(st.sampled_from(["DISPO", "VENDU", "BLOQUE"]))
    else:
        places_like["type_tarif"] = draw(_code(r"[0-9]{1,2}"))
    return [places_like] * count


def _expected(value: object, kind: ValueKind, encoding: str) -> object:
    if value is None:
        return None
    if kind is ValueKind.TEXT:
        return transliterate(str(value)) if encoding == "CP1252" else value
    if kind in (ValueKind.WALL_CLOCK, ValueKind.DATE, ValueKind.TIMESTAMP):
        return pd.Timestamp(value)
    return value


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read_value(value: object) -> object:
    return None if value is pd.NaT or (not isinstance(value, str) and pd.isna(value)) else value


@pytest.mark.parametrize("file_type", list(FileType))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), encoding=st.sampled_from(["CP1252", "UTF-8"]))
def test_round_trip(file_type: FileType, data: st.DataObject, encoding: str) -> None:
    if file_type in (FileType.FICHE, FileType.PLACES, FileType.DECONT):
        encoding = "CP1252"
    records = data.draw(_records(file_type))
    if file_type is FileType.ACK:
        name, written = write_ack(
            "PLACES_M0427_000007_20261128130003.csv", records, encoding=encoding
        )
    else:
        name, written = write_file(file_type, "M0427", 9, records, encoding=encoding)

    # A CP1252 file whose non-ASCII bytes all read as UTF-8 ("Ã©" and nothing else) is
    # refused as mislabelled UTF-8 (docs/fnac-codec.md); such text is not a realistic name.
    assume(encoding == "UTF-8" or written.isascii() or not _is_utf8(written))
    parsed = read_file(name, written)

    schema = schema_of(file_type)
    assert parsed.envelope.count == len(records)
    assert list(parsed.frame.columns) == [c.name for c in schema.read_columns]
    for line, record in enumerate(records, start=1):
        for column in schema.read_columns:
            expected = _expected(record.get(column.name), column.format.kind, encoding)
            assert _read_value(parsed.frame.loc[line, column.name]) == expected, column.name
