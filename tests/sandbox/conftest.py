"""FNAC played by the sandbox: a partner on the ``sandbox`` server's root, and demo files.

The organiser's files here are built by hand from the demo's codes
(include/mappings): the concert EVT-LUMEN (manifestation 004512, salle
ZEN01) and the day pass PASS-MAH-JOUR (000981, CHF).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import paramiko
import pytest

from devtools.sandboxes.fnac import (
    CLIENT_KEY_FILE,
    DEMO_USERNAME,
    SandboxServer,
    public_host_key,
)
from devtools.sandboxes.fnac.codebook import CodeBook
from devtools.sandboxes.fnac.partner import FnacPartner
from devtools.sandboxes.fnac.people import PARIS
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.writer import write_file

MANAGER = "M0427"
START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SEANCES = (
    datetime(2027, 3, 12, 20, 30),
    datetime(2027, 3, 13, 20, 30),
    datetime(2027, 3, 14, 18, 0),
)
LUMEN_PRICES = {"CAT1": 6850, "CAT2": 5400, "CAT3": 3900, "FOSSE": 4500}
TARIFF_DISCOUNTS = {"FNAC_PUBLIC": 0, "FNAC_ADHERENT": 1000, "FNAC_CE": 1500}


class StepClock:
    """A clock for tests: ``START`` and then whatever the test moves it to."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def codebook() -> CodeBook:
    """The demo's code book, from the project's mapping files."""
    return CodeBook.from_mappings()


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def fnac(sandbox: SandboxServer, codebook: CodeBook, clock: StepClock) -> FnacPartner:
    """FNAC playing on the running ``sandbox`` server's files, seeded."""
    return FnacPartner(sandbox.root, DEMO_USERNAME, codebook, clock=clock, seed=7)


@pytest.fixture
def make_partner(
    sandbox: SandboxServer, codebook: CodeBook, clock: StepClock
) -> Callable[..., FnacPartner]:
    """Another FnacPartner instance on the same root (a restart, or a CLI command)."""

    def make(**options: Any) -> FnacPartner:
        options.setdefault("clock", clock)
        options.setdefault("seed", 7)
        return FnacPartner(sandbox.root, DEMO_USERNAME, codebook, **options)

    return make


@contextmanager
def sftp_session(server: SandboxServer | tuple[str, int]) -> Iterator[paramiko.SFTPClient]:
    """The organiser's SFTP session on the sandbox (demo key, host key checked)."""
    host, port = server if isinstance(server, tuple) else (server.host, server.port)
    client = paramiko.SSHClient()
    algorithm, data = public_host_key().split()
    client.get_host_keys().add(
        f"[{host}]:{port}", algorithm, paramiko.Ed25519Key(data=base64.b64decode(data))
    )
    client.connect(
        host,
        port,
        username=DEMO_USERNAME,
        key_filename=str(CLIENT_KEY_FILE),
        look_for_keys=False,
        allow_agent=False,
        timeout=5,
    )
    try:
        yield client.open_sftp()
    finally:
        client.close()


def upload(server: SandboxServer, name: str, data: bytes) -> None:
    """Deliver a file to ``/depot/`` as the organiser does: ``.part``, then rename."""
    with sftp_session(server) as sftp:
        with sftp.open(f"/depot/{name}.part", "wb") as handle:
            handle.write(data)
        sftp.posix_rename(f"/depot/{name}.part", f"/depot/{name}")


def download(server: SandboxServer, name: str) -> bytes:
    with sftp_session(server) as sftp, sftp.open(f"/retour/{name}") as handle:
        return handle.read()


def organiser_file(
    file_type: FileType, seq: int, records: list[dict[str, Any]], minute: int = 0
) -> tuple[str, bytes]:
    created = START + timedelta(minutes=minute, seconds=seq)
    return write_file(file_type, MANAGER, seq, records, created=created)


def lumen_fiche(seances: tuple[datetime, ...] = SEANCES) -> list[dict[str, Any]]:
    """The concert's sale sheet: every séance × category × FNAC tariff."""
    return [
        {
            "code_produit": "EVT-LUMEN",
            "libelle_produit": "Lumen — Tournée 2027",
            "nature": "EVENEMENT",
            "lieu": "Paris Arena",
            "ville": "Paris",
            "pays": "FR",
            "date_seance": seance,
            "code_config": "ARENA-CONCERT",
            "categorie": category,
            "libelle_categorie": category,
            "tarif": tariff,
            "libelle_tarif": tariff,
            "prix_ttc": price - discount,
            "devise": "EUR",
            "contingent": 100,
            "debut_vente": datetime(2026, 12, 1, 10, 0, tzinfo=PARIS),
            "fin_vente": seance.replace(tzinfo=PARIS) - timedelta(hours=2),
        }
        for seance in seances
        for category, price in LUMEN_PRICES.items()
        for tariff, discount in TARIFF_DISCOUNTS.items()
    ]


def pass_fiche(product: str = "PASS-MAH-JOUR") -> list[dict[str, Any]]:
    """The museum's day pass: CHF, a quota of 50 in the sheet, no places."""
    return [
        {
            "code_produit": product,
            "libelle_produit": "Pass journée MAH",
            "nature": "PASS_VISITE",
            "lieu": "Musée d'art et d'histoire",
            "ville": "Genève",
            "pays": "CH",
            "fin_validite": datetime(2027, 6, 30),
            "categorie": "ENTREE",
            "libelle_categorie": "Entrée musée",
            "tarif": tariff,
            "libelle_tarif": tariff,
            "prix_ttc": price,
            "devise": "CHF",
            "contingent": 50,
            "debut_vente": datetime(2026, 12, 1, 10, 0, tzinfo=PARIS),
            "fin_vente": datetime(2027, 6, 30, 18, 0, tzinfo=PARIS),
        }
        for tariff, price in (("FNAC_PUBLIC", 2400), ("FNAC_ADHERENT", 2100))
    ]


def place(
    bloc: str = "B",
    rang: str | None = "1",
    seat: str | None = "1",
    *,
    seance: datetime = SEANCES[0],
    type_tarif: str = "1",
    quantite: int = 1,
    **changes: Any,
) -> dict[str, Any]:
    """One PLACES/DECONT line of the concert: a seat, or free places (``rang=None``)."""
    record = {
        "code_manifestation": "004512",
        "date_seance": seance,
        "code_salle": "ZEN01",
        "code_bloc": bloc,
        "rang": rang,
        "place": seat,
        "quantite": quantite,
        "type_tarif": type_tarif,
        "code_allotement": "A1",
    }
    record.update(changes)
    return record


def lumen_places(rows: int = 2, seats: int = 10) -> list[dict[str, Any]]:
    """Seats of bloc B (CAT1, type 1), lower stand TB2 (type 2) and 50 pit places (type 4)."""
    lines = [
        place(bloc, str(row), str(number), seance=seance, type_tarif=type_tarif)
        for seance in SEANCES
        for bloc, type_tarif in (("B", "1"), ("TB2", "2"))
        for row in range(1, rows + 1)
        for number in range(1, seats + 1)
    ]
    lines += [
        place("FOSSE", None, None, seance=seance, type_tarif="4", quantite=50) for seance in SEANCES
    ]
    return lines


def set_up_lumen(server: SandboxServer, partner: FnacPartner, **places: int) -> None:
    """FNAC holds the concert: its FICHE and PLACES delivered and accepted."""
    upload(server, *organiser_file(FileType.FICHE, 1, lumen_fiche()))
    upload(server, *organiser_file(FileType.PLACES, 1, lumen_places(**places)))
    answers = partner.process_depot()
    assert [answer.status for answer in answers] == ["OK", "OK"], answers
