"""A corpus of malformed files: each is refused whole, with the expected problem located.

The corpus is generated in code from the spec's examples, one defect each
(or a few, to check that all are reported at once). ``line`` is the data line
(1 = first), 0 the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from reseller_sync.domain.errors import ErrorCategory
from reseller_sync.fnac.codec import FileFormatError, read_file, write_ack, write_file
from reseller_sync.fnac.names import FileName, FileType
from tests.fnac.fnac_samples import (
    ACK_NAME,
    ACK_TEXT,
    VALID_RECORDS,
    VENTES_COLUMNS,
    VENTES_HEADER,
    VENTES_LINES,
    VENTES_NAME,
    file_bytes,
    ventes_bytes,
    ventes_line,
)


@dataclass(frozen=True)
class Case:
    id: str
    data: bytes
    expected: tuple[tuple[int | None, str | None, str], ...]
    """(line, column, part of the reason) of every problem expected, and no other."""
    name: str = VENTES_NAME


def _two_lines(**changes: str) -> bytes:
    """The first example line changed, then the unchanged second line; trailer recomputed."""
    changed = ventes_line(**changes)
    prices = int(changes.get("prix_ttc", "6850")) if changes.get("prix_ttc", "0").isdigit() else 0
    return ventes_bytes(changed, VENTES_LINES[1], trailer=f"FIN;000042;2;{prices + 5850}")


def _typed_file(file_type: str, **changes: object) -> tuple[str, bytes]:
    """A valid file of ``file_type`` whose one record is then changed as text in the bytes."""
    record = dict(VALID_RECORDS[file_type])
    if file_type == "ACK":
        return write_ack(str(record["fichier"]), [record])
    return write_file(FileType(file_type), "M0427", 5, [record])


def _replace(data: bytes, old: str, new: str) -> bytes:
    assert old.encode("cp1252") in data
    return data.replace(old.encode("cp1252"), new.encode("cp1252"))


UTF8_DECLARED_CP1252 = ventes_bytes().decode("cp1252").encode("utf-8")
_annul_name, _annul = _typed_file("ANNUL")
_ack_name, _ack = _typed_file("ACK")
_catcli_name, _catcli = _typed_file("CATCLI")
_etatpl_name, _etatpl = _typed_file("ETATPL")
_fiche_name, _fiche = _typed_file("FICHE")

CASES = [
    Case("empty", b"", ((0, None, "empty"),)),
    Case(
        "truncated in a line",
        ventes_bytes()[:400],
        ((0, None, "does not end with a line break"),),
    ),
    Case(
        "no trailer",
        file_bytes(VENTES_HEADER, VENTES_COLUMNS, *VENTES_LINES),
        ((0, None, "not a trailer"),),
    ),
    Case("header only", file_bytes(VENTES_HEADER), ((0, None, "header line only"),)),
    Case(
        "no column line",
        file_bytes(VENTES_HEADER, "FIN;000042;0;0"),
        ((0, None, "no column line"),),
    ),
    Case(
        "wrong COUNT",
        ventes_bytes(trailer="FIN;000042;4;15100"),
        ((0, "COUNT", "counts 4 data lines but the file holds 3"),),
    ),
    Case(
        "wrong CONTROL",
        ventes_bytes(trailer="FIN;000042;3;15000"),
        ((0, "CONTROL", "sum of prix_ttc is 15100"),),
    ),
    Case(
        "trailer SEQ differs from the name",
        ventes_bytes(trailer="FIN;000041;3;15100"),
        ((0, "SEQ", "000042"),),
    ),
    Case(
        "header TYPE differs from the name",
        ventes_bytes(header=VENTES_HEADER.replace("VENTES", "TEST")),
        ((0, "TYPE", "VENTES, as in the file name"),),
    ),
    Case(
        "header MANAGER differs from the name",
        ventes_bytes(header=VENTES_HEADER.replace("M0427", "M0428")),
        ((0, "MANAGER", "M0427"),),
    ),
    Case(
        "header SEQ differs from the name",
        ventes_bytes(header=VENTES_HEADER.replace("000042", "000043")),
        ((0, "SEQ", "000042"),),
    ),
    Case(
        "unknown version",
        ventes_bytes(header=VENTES_HEADER.replace(";1;", ";2;")),
        ((0, "VERSION", "version 1"),),
    ),
    Case(
        "CREATED without offset",
        ventes_bytes(header=VENTES_HEADER.replace("+01:00", "")),
        ((0, "CREATED", "ISO 8601"),),
    ),
    Case(
        "unknown encoding",
        ventes_bytes(header=VENTES_HEADER.replace("CP1252", "LATIN-1")),
        ((0, "ENCODING", "CP1252 or UTF-8"),),
    ),
    Case(
        "undeclared encoding",
        ventes_bytes(header=VENTES_HEADER.removesuffix(";CP1252")),
        ((0, None, "not a header"),),
    ),
    Case(
        "UTF-8 bytes in a file declared CP1252",
        UTF8_DECLARED_CP1252,
        ((0, "ENCODING", "holds UTF-8 text"),),
    ),
    Case(
        "byte undefined in CP1252",
        ventes_bytes().replace(b"Ternes", b"Tern\x81s", 1),
        ((0, "ENCODING", "not a CP1252 character"),),
    ),
    Case(
        "CP1252 bytes in a file declared UTF-8",
        ventes_bytes(header=VENTES_HEADER.replace("CP1252", "UTF-8")),
        ((0, "ENCODING", "not valid UTF-8"),),
    ),
    Case(
        "LF-only line endings",
        ventes_bytes().replace(b"\r\n", b"\n"),
        ((0, None, "LF only"),),
    ),
    Case(
        "one data line ending with LF only",
        ventes_bytes().replace(b"13:12:44+01:00\r\n", b"13:12:44+01:00\n", 1),
        ((1, None, "lone LF"),),
    ),
    Case(
        "missing required column",
        ventes_bytes(
            *(line.replace(";401234567890", ";") for line in VENTES_LINES),
            columns=VENTES_COLUMNS.replace("code_barre;", ""),
        )
        .replace(b";123;", b";")
        .replace(b";124;", b";")
        .replace(b";555;", b";"),
        ((0, "code_barre", "required column is missing"),),
    ),
    Case(
        "column twice",
        ventes_bytes(*(line + ";x" for line in VENTES_LINES), columns=VENTES_COLUMNS + ";devise"),
        ((0, "devise", "appears twice"),),
    ),
    Case(
        "unknown column before a known one",
        ventes_bytes(*("x;" + line for line in VENTES_LINES), columns="remarque;" + VENTES_COLUMNS),
        ((0, "remarque", "unknown column before"),),
    ),
    Case(
        "non-digit barcode", _two_lines(code_barre="40123456789O"), ((1, "code_barre", "digits"),)
    ),
    Case("short barcode", _two_lines(code_barre="40123456789"), ((1, "code_barre", "12 to 20"),)),
    Case(
        "amount with a decimal comma",
        _two_lines(prix_ttc="68,50"),
        ((1, "prix_ttc", "no decimal separator"),),
    ),
    Case("negative amount", _two_lines(commission="-350"), ((1, "commission", "negative"),)),
    Case(
        "impossible date",
        _two_lines(date_seance="31/02/2027 20:30"),
        ((1, "date_seance", "not a real date"),),
    ),
    Case(
        "date in the wrong format",
        _two_lines(date_seance="2027-03-14 20:30"),
        ((1, "date_seance", "DD/MM/YYYY HH:MM"),),
    ),
    Case(
        "timestamp without offset",
        _two_lines(date_vente="2026-11-28T13:12:44"),
        ((1, "date_vente", "UTC offset"),),
    ),
    Case("seated line without seat", _two_lines(place=""), ((1, "place", "needs a place"),)),
    Case(
        "event line without séance",
        _two_lines(date_seance=""),
        ((1, "date_seance", "needs a date_seance"),),
    ),
    Case(
        "bloc without salle", _two_lines(code_salle=""), ((1, "code_salle", "needs a code_salle"),)
    ),
    Case(
        "duplicate id_billet",
        ventes_bytes(
            VENTES_LINES[0],
            VENTES_LINES[0].replace("890123", "890999"),
            VENTES_LINES[2],
            trailer="FIN;000042;3;16100",
        ),
        ((2, "id_billet", "repeats the one on line 1"),),
    ),
    Case(
        "bad manager in the name",
        ventes_bytes(),
        ((0, None, "manager code"),),
        name=VENTES_NAME.replace("M0427", "MX427"),
    ),
    Case("unknown currency", _two_lines(devise="USD"), ((1, "devise", "EUR, CHF"),)),
    Case(
        "bad point de vente",
        _two_lines(code_point_vente="BE0751"),
        ((1, "code_point_vente", "FR or CH"),),
    ),
    Case(
        "categorie_client over 99",
        _two_lines(categorie_client="100"),
        ((1, "categorie_client", "0 to 99"),),
    ),
    Case(
        "manifestation too short",
        _two_lines(code_manifestation="04512"),
        ((1, "code_manifestation", "6 to 10 digits"),),
    ),
    Case("required value missing", _two_lines(type_tarif=""), ((1, "type_tarif", "required"),)),
    Case(
        "commission above the price",
        _two_lines(commission="9000"),
        ((1, "commission", "more than prix_ttc"),),
    ),
    Case(
        "name too long",
        _two_lines(nom_beneficiaire="X" * 61),
        ((1, "nom_beneficiaire", "longer than 60"),),
    ),
    Case(
        "a line with a field missing",
        ventes_bytes(VENTES_LINES[0], VENTES_LINES[1].replace(";FR0751", ""), VENTES_LINES[2]),
        ((2, None, "22 fields where the column line has 23"),),
    ),
    Case(
        "a line with a field too many",
        ventes_bytes(VENTES_LINES[0] + ";x", *VENTES_LINES[1:]),
        ((1, None, "24 fields"),),
    ),
    Case(
        "an unclosed quote",
        ventes_bytes(
            VENTES_LINES[0], VENTES_LINES[1].replace('"12 rue', '"12 "rue'), VENTES_LINES[2]
        ),
        ((2, None, "not valid CSV"),),
    ),
    Case(
        "values wrong after a malformed line are located on their own line",
        ventes_bytes(
            VENTES_LINES[0] + ";x",
            VENTES_LINES[1].replace(";EUR;", ";USD;"),
            VENTES_LINES[2].replace(";2400;", ";24.00;"),
            trailer="FIN;000042;3;0",
        ),
        ((1, None, "24 fields"), (2, "devise", "EUR, CHF"), (3, "prix_ttc", "decimal")),
    ),
    Case(
        "unknown motif",
        _replace(_annul, ";CLIENT;", ";CLIENTE;"),
        ((1, "motif", "CLIENT, SEANCE_ANNULEE, ERREUR_CAISSE"),),
        name=_annul_name,
    ),
    Case(
        "duplicate id_annulation",
        _replace(
            _annul,
            "\r\nFIN;000005;1;6500",
            "\r\nC0001;V2;B2;401234567890999;100;EUR;CLIENT;FR9999;"
            "2026-11-29T10:00:00+00:00\r\nFIN;000005;2;6600",
        ),
        ((2, "id_annulation", "repeats the one on line 1"),),
        name=_annul_name,
    ),
    Case(
        "CATCLI actif not a boolean",
        _replace(_catcli, ";1;2026", ";2;2026"),
        ((1, "actif", "0 or 1"),),
        name=_catcli_name,
    ),
    Case(
        "ETATPL seat with quantite 2",
        _replace(_etatpl, ";12;7;1;", ";12;7;2;"),
        ((1, "quantite", "quantite 1"),),
        name=_etatpl_name,
    ),
    Case(
        "ACK OK on a data line",
        _replace(_ack, ";OK;0;", ";OK;3;"),
        ((1, "ligne", "ligne 0"),),
        name=_ack_name,
    ),
    Case(
        "ACK KO without code",
        _replace(_ack, ";OK;0;", ";KO;3;"),
        ((1, "code_erreur", "needs a code_erreur"),),
        name=_ack_name,
    ),
    Case(
        "ACK of another file",
        _replace(_ack, "000007_2026", "000008_2026"),
        ((1, "fichier", "name of the answered file"),),
        name=_ack_name,
    ),
    Case(
        "FICHE undated pass with a séance",
        _replace(_fiche, ";EVENEMENT;", ";PASS_NON_DATE;"),
        ((1, "fin_validite", "a pass needs"), (1, "date_seance", "no date_seance")),
        name=_fiche_name,
    ),
    Case(
        "ACK file without ACK_ name",
        file_bytes(*ACK_TEXT),
        ((0, "TYPE", "PLACES, as in the file name"),),
        name=ACK_NAME.removeprefix("ACK_"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_malformed_file_is_refused_with_every_problem_located(case: Case) -> None:
    with pytest.raises(FileFormatError) as raised:
        read_file(case.name, case.data)

    error = raised.value
    assert error.category is ErrorCategory.EXTERNAL
    assert not error.temporary
    found = [(p.line, p.column, p.reason) for p in error.problems]
    assert all(p.file == case.name for p in error.problems)
    for line, column, reason in case.expected:
        assert any(
            (line, column) == (found_line, found_column) and reason in found_reason
            for found_line, found_column, found_reason in found
        ), f"{(line, column, reason)} not in {found}"
    assert len(found) == len(case.expected), found


def test_the_corpus_is_large_enough() -> None:
    assert len({case.id for case in CASES}) == len(CASES) >= 25


def test_valid_samples_of_the_corpus_are_valid() -> None:
    for name, data in [
        (_annul_name, _annul),
        (_ack_name, _ack),
        (_catcli_name, _catcli),
        (_etatpl_name, _etatpl),
        (_fiche_name, _fiche),
    ]:
        read_file(name, data)
    assert FileName.parse(_ack_name).answered is not None


def test_problems_are_capped_and_counted() -> None:
    lines = [
        ventes_line(id_billet=f"B{i}", code_barre=f"40123456789{i:04d}", devise="USD")
        for i in range(150)
    ]

    with pytest.raises(FileFormatError) as raised:
        read_file(VENTES_NAME, ventes_bytes(*lines, trailer=f"FIN;000042;150;{150 * 6850}"))

    problems = raised.value.problems
    assert len(problems) == 101
    assert [p.line for p in problems[:100]] == list(range(1, 101))
    assert problems[-1].reason == "and 50 more problems"
    assert "150 problems" in raised.value.message


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64])
def test_byte_scans_find_problems_across_block_boundaries(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reseller_sync.fnac import reader

    monkeypatch.setattr(reader, "_SCAN_BLOCK", block)

    read_file(VENTES_NAME, ventes_bytes())
    for case in CASES:
        if case.id in {
            "UTF-8 bytes in a file declared CP1252",
            "byte undefined in CP1252",
            "one data line ending with LF only",
        }:
            test_malformed_file_is_refused_with_every_problem_located(case)
