"""Sample files and records of every type, shared by the FNAC codec tests."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

from reseller_sync.fnac.schema import BUYER_CONTACT_COLUMNS

VENTES_NAME = "VENTES_M0427_000042_20261128130503.csv"
VENTES_COLUMNS = (
    "id_vente;id_billet;code_manifestation;date_seance;code_salle;code_bloc;rang;place;"
    "type_tarif;categorie_client;code_allotement;prix_ttc;commission;devise;code_barre;"
    f"nom_beneficiaire;prenom_beneficiaire;{';'.join(BUYER_CONTACT_COLUMNS)};"
    "code_point_vente;libelle_point_vente;date_vente"
)
VENTES_HEADER = "ENTETE;VENTES;1;M0427;000042;2026-11-28T14:05:00+01:00;CP1252"
VENTES_LINES = (
    "V2611280001;B000000001;004512;14/03/2027 20:30;ZEN01;A;12;7;1;0;A1;6850;350;EUR;"
    '401234567890123;Dupré;Hélène;h.dupre@example.org;+33612345678;"12 rue de la Paix; bât. B";'
    "FR0751;FNAC Paris Ternes;2026-11-28T13:12:44+01:00",
    "V2611280001;B000000002;004512;14/03/2027 20:30;ZEN01;A;12;8;1;15;A1;5850;350;EUR;"
    '401234567890124;Dupré;Zoé;h.dupre@example.org;+33612345678;"12 rue de la Paix; bât. B";'
    "FR0751;FNAC Paris Ternes;2026-11-28T13:12:44+01:00",
    "V2611280002;B000000003;000981;;;;;;1;0;P1;2400;100;CHF;401234567890555;Müller;Jürg;;;;"
    "CH1201;FNAC Genève Rive;2026-11-28T13:40:02+01:00",
)
VENTES_TRAILER = "FIN;000042;3;15100"
"""As in spec section 10: 6850 + 5850 + 2400 = 15100, consistent."""

ACK_NAME = "ACK_PLACES_M0427_000007_20261128130003.csv"
ACK_TEXT = (
    "ENTETE;ACK;1;M0427;000007;2026-11-28T14:20:00+01:00;CP1252",
    "fichier;statut;ligne;code_erreur;message",
    "PLACES_M0427_000007_20261128130003.csv;KO;118;E06;Place déjà dans l'allotement",
    "PLACES_M0427_000007_20261128130003.csv;KO;119;E06;Place déjà dans l'allotement",
    "FIN;000007;2;0",
)

PARIS = timezone(timedelta(hours=1))


def file_bytes(*lines: str, encoding: str = "cp1252") -> bytes:
    """The lines joined with CR LF, the last one included, encoded."""
    return "".join(f"{line}\r\n" for line in lines).encode(encoding)


def ventes_bytes(
    *lines: str,
    header: str = VENTES_HEADER,
    columns: str = VENTES_COLUMNS,
    trailer: str | None = None,
) -> bytes:
    """The spec's VENTES example with its data lines (and trailer) replaced when given."""
    data_lines = lines or VENTES_LINES
    return file_bytes(header, columns, *data_lines, trailer or VENTES_TRAILER)


def ventes_line(**changes: str) -> str:
    """The spec's first VENTES line with some fields changed."""
    fields = dict(
        zip(VENTES_COLUMNS.split(";"), _split(VENTES_LINES[0]), strict=True),
    )
    fields.update(changes)
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="").writerow(fields.values())
    return buffer.getvalue()


def _split(line: str) -> list[str]:
    return next(csv.reader([line], delimiter=";"))


def ventes_record(number: int = 1, **changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "id_vente": "V2611280001",
        "id_billet": f"B{number:09d}",
        "code_manifestation": "004512",
        "date_seance": datetime(2027, 3, 14, 20, 30),
        "code_salle": "ZEN01",
        "code_bloc": "A",
        "rang": "12",
        "place": str(number),
        "type_tarif": "1",
        "categorie_client": "0",
        "code_allotement": "A1",
        "prix_ttc": 6850,
        "commission": 350,
        "devise": "EUR",
        "code_barre": f"4012345678{number:05d}",
        "nom_beneficiaire": "Dupré",
        "prenom_beneficiaire": "Hélène",
        "code_point_vente": "FR0751",
        "libelle_point_vente": "FNAC Paris Ternes",
        "date_vente": datetime(2026, 11, 28, 13, 12, 44, tzinfo=PARIS),
    }
    record.update(changes)
    return record


VALID_RECORDS: dict[str, dict[str, object]] = {
    "VENTES": ventes_record(),
    "TEST": ventes_record(),
    "ANNUL": {
        "id_annulation": "C0001",
        "id_vente": "V2611280001",
        "id_billet": "B000000001",
        "code_barre": "401234567890123",
        "montant_rembourse": 6500,
        "devise": "EUR",
        "motif": "CLIENT",
        "code_point_vente": "FR9999",
        "date_annulation": datetime(2026, 11, 29, 9, 0, tzinfo=UTC),
    },
    "CATCLI": {
        "categorie_client": "15",
        "libelle": "Adhérent",
        "actif": True,
        "date_modification": datetime(2026, 11, 1, 8, 0, tzinfo=PARIS),
    },
    "ETATPL": {
        "code_manifestation": "004512",
        "date_seance": datetime(2027, 3, 14, 20, 30),
        "code_salle": "ZEN01",
        "code_bloc": "A",
        "rang": "12",
        "place": "7",
        "quantite": 1,
        "code_allotement": "A1",
        "statut": "DISPO",
    },
    "ACK": {
        "fichier": "PLACES_M0427_000007_20261128130003.csv",
        "statut": "OK",
        "ligne": 0,
    },
    "FICHE": {
        "code_produit": "CONC-2027-03",
        "libelle_produit": "Concert de printemps",
        "nature": "EVENEMENT",
        "lieu": "Zénith",
        "ville": "Paris",
        "pays": "FR",
        "date_seance": datetime(2027, 3, 14, 20, 30),
        "code_config": "ZENITH-ASSIS",
        "categorie": "CAT1",
        "libelle_categorie": "1re catégorie",
        "tarif": "PLEIN",
        "libelle_tarif": "Plein tarif",
        "prix_ttc": 6500,
        "devise": "EUR",
        "contingent": 200,
        "debut_vente": datetime(2026, 12, 1, 10, 0, tzinfo=PARIS),
        "fin_vente": datetime(2027, 3, 14, 18, 0, tzinfo=PARIS),
    },
    "PLACES": {
        "code_manifestation": "004512",
        "date_seance": datetime(2027, 3, 14, 20, 30),
        "code_salle": "ZEN01",
        "code_bloc": "A",
        "rang": "12",
        "place": "7",
        "quantite": 1,
        "type_tarif": "1",
        "code_allotement": "A1",
    },
    "DECONT": {
        "code_manifestation": "004512",
        "date_seance": datetime(2027, 3, 14, 20, 30),
        "code_salle": "ZEN01",
        "code_bloc": "B",
        "quantite": 30,
        "type_tarif": "2",
        "code_allotement": "A1",
    },
}
"""One valid record per type."""
