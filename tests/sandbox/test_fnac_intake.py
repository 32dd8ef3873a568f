"""FNAC answering the organiser's files over real SFTP: every ACK variant (spec 7.6)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from devtools.sandboxes.fnac import DEMO_USERNAME, FnacPartner, SandboxServer
from reseller_sync.exchange.transport import KnownFiles, SftpTransport, TransportSettings
from reseller_sync.fnac.codec import FileType, read_file, write_file
from reseller_sync.fnac.naming import NAMING
from tests.sandbox.conftest import (
    SEANCES,
    StepClock,
    download,
    lumen_fiche,
    lumen_places,
    organiser_file,
    pass_fiche,
    place,
    set_up_lumen,
    sftp_session,
    upload,
)


def ack_lines(server: SandboxServer, ack: str | None) -> list[tuple[str, int, str]]:
    """(statut, ligne, code_erreur) of an ACK read over SFTP, checked by the codec."""
    assert ack is not None
    frame = read_file(ack, download(server, ack)).frame
    return [
        (row.statut, int(row.ligne), row.code_erreur if isinstance(row.code_erreur, str) else "")
        for row in frame.itertuples()
    ]


def deliver(server: SandboxServer, fnac: FnacPartner, file_type: FileType, seq: int, records):
    """Upload a file, let FNAC pick up the depot, and return its one answer."""
    name, data = organiser_file(file_type, seq, records)
    upload(server, name, data)
    (answer,) = fnac.process_depot()
    assert answer.file == name
    return answer


def test_accepted_files_are_moved_and_answered_ok(sandbox: SandboxServer, fnac: FnacPartner):
    fiche, fiche_data = organiser_file(FileType.FICHE, 1, lumen_fiche())
    upload(sandbox, fiche, fiche_data)
    with (
        sftp_session(sandbox) as sftp,
        sftp.open("/depot/PLACES_M0427_000001_x.csv.part", "wb") as f,
    ):
        f.write(b"still uploading")

    (answer,) = fnac.process_depot()

    assert (answer.status, answer.ack) == ("OK", f"ACK_{fiche}")
    assert ack_lines(sandbox, answer.ack) == [("OK", 0, "")]
    parsed = read_file(answer.ack, download(sandbox, answer.ack))
    assert parsed.envelope.name.seq == 1
    assert parsed.frame["fichier"].tolist() == [fiche]
    with sftp_session(sandbox) as sftp:
        assert sorted(sftp.listdir("/depot")) == ["PLACES_M0427_000001_x.csv.part", "traites"]
        assert sftp.listdir("/depot/traites") == [fiche]
        assert not [name for name in sftp.listdir("/retour") if name.endswith(".part")]


def test_fnac_sets_up_the_manifestation_from_the_sale_sheet_and_the_code_book(
    sandbox: SandboxServer, fnac: FnacPartner
):
    set_up_lumen(sandbox, fnac)
    deliver(sandbox, fnac, FileType.FICHE, 2, pass_fiche())

    state = fnac.snapshot()
    concert, day_pass = state.manifestations["004512"], state.manifestations["000981"]
    assert (concert.product, concert.salle, concert.allotement, concert.currency) == (
        "EVT-LUMEN",
        "ZEN01",
        "A1",
        "EUR",
    )
    assert {"A", "B", "FOSSE", "TB2", "TH5"} <= set(concert.blocs)
    assert sorted(concert.seances) == ["12/03/2027 20:30", "13/03/2027 20:30", "14/03/2027 18:00"]
    assert concert.seances["12/03/2027 20:30"].prices["1"] == {
        "0": 6850,
        "15": 5850,
        "20": 5850,
        "22": 5350,
    }
    assert (day_pass.salle, day_pass.allotement, day_pass.currency) == (None, "P1", "CHF")
    assert day_pass.seances[""].pass_quota == {"1": 50}
    assert state.holdings["000981|||*1"].held == 50


def test_a_corrupt_file_is_refused_whole_with_e01(sandbox: SandboxServer, fnac: FnacPartner):
    name, data = organiser_file(FileType.FICHE, 1, lumen_fiche())
    upload(sandbox, name, data[:-40])

    (answer,) = fnac.process_depot()

    assert answer.codes == ("E01",)
    assert ack_lines(sandbox, answer.ack) == [("KO", 0, "E01")]
    assert "truncated" in answer.refusals[0].message
    assert fnac.snapshot().manifestations == {}


def test_another_managers_file_is_refused_with_e01(sandbox: SandboxServer, fnac: FnacPartner):
    name, data = write_file(FileType.FICHE, "M0999", 1, lumen_fiche())
    upload(sandbox, name, data)

    (answer,) = fnac.process_depot()

    assert answer.codes == ("E01",)
    assert "M0999" in answer.refusals[0].message


def test_a_sequence_gap_is_refused_with_e02_until_the_missing_file_arrives(
    sandbox: SandboxServer, fnac: FnacPartner
):
    assert deliver(sandbox, fnac, FileType.FICHE, 2, lumen_fiche()).codes == ("E02",)
    assert fnac.snapshot().manifestations == {}

    assert deliver(sandbox, fnac, FileType.FICHE, 1, lumen_fiche()).status == "OK"
    assert deliver(sandbox, fnac, FileType.FICHE, 3, pass_fiche()).status == "OK"
    assert sorted(fnac.snapshot().manifestations) == ["000981", "004512"]


def test_a_reused_sequence_is_refused_with_e02(sandbox: SandboxServer, fnac: FnacPartner):
    deliver(sandbox, fnac, FileType.FICHE, 1, lumen_fiche())
    name, data = organiser_file(FileType.FICHE, 1, pass_fiche(), minute=30)
    upload(sandbox, name, data)

    (answer,) = fnac.process_depot()

    assert answer.codes == ("E02",)
    assert "déjà reçue" in answer.refusals[0].message
    assert "000981" not in fnac.snapshot().manifestations


def test_a_name_received_twice_is_answered_e10_without_rewriting_the_first_ack(
    sandbox: SandboxServer, fnac: FnacPartner, clock: StepClock
):
    name, data = organiser_file(FileType.FICHE, 1, lumen_fiche())
    upload(sandbox, name, data)
    first = fnac.process_depot()[0]

    upload(sandbox, name, data)
    (again,) = fnac.process_depot()
    assert (again.codes, again.ack) == (("E10",), None)
    assert ack_lines(sandbox, first.ack) == [("OK", 0, "")]

    clock.advance(days=31)  # FNAC deletes its files after 30 days: the name is free again
    upload(sandbox, name, data)
    (late,) = fnac.process_depot()
    assert late.ack == first.ack
    assert ack_lines(sandbox, late.ack) == [("KO", 0, "E10")]
    with sftp_session(sandbox) as sftp:
        assert sftp.listdir("/depot/traites") == [name]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        pytest.param({"code_produit": "ABO-ARENA-SAISON"}, "E09", id="product-not-sold-by-fnac"),
        pytest.param({"code_manifestation": "009999"}, "E03", id="wrong-manifestation"),
        pytest.param({"code_config": "ARENA-THEATRE"}, "E05", id="configuration-without-salle"),
        pytest.param({"categorie": "LOGE"}, "E08", id="category-without-type-de-tarif"),
        pytest.param({"tarif": "FNAC_VIP"}, "E08", id="tariff-without-categorie-client"),
    ],
)
def test_a_sale_sheet_with_a_wrong_line_is_refused_whole(
    sandbox: SandboxServer, fnac: FnacPartner, change: dict[str, str], code: str
):
    records = lumen_fiche()
    records[5].update(change)

    answer = deliver(sandbox, fnac, FileType.FICHE, 1, records)

    assert ack_lines(sandbox, answer.ack) == [("KO", 0, code)]
    assert answer.refusals[0].message.startswith("Ligne 6 :")
    assert fnac.snapshot().manifestations == {}


def test_a_sale_sheet_resent_for_a_withdrawn_manifestation_is_refused_e09(
    sandbox: SandboxServer, fnac: FnacPartner
):
    set_up_lumen(sandbox, fnac)
    fnac.withdraw("004512")

    answer = deliver(sandbox, fnac, FileType.FICHE, 2, lumen_fiche())

    assert ack_lines(sandbox, answer.ack) == [("KO", 0, "E09")]
    assert "retirée" in answer.refusals[0].message


def test_places_lines_are_refused_one_by_one_and_the_others_applied(
    sandbox: SandboxServer, fnac: FnacPartner
):
    set_up_lumen(sandbox, fnac, rows=1, seats=2)
    records = [
        place("B", "5", "1"),  # 1: new seat
        place(code_manifestation="004999"),  # 2: E03 unknown manifestation
        place(seance=SEANCES[0].replace(hour=15)),  # 3: E04 unknown séance
        place(code_salle="GERL01"),  # 4: E05 not the manifestation's salle
        place("ZZ9"),  # 5: E05 bloc not in the salle
        place("FOSSE", "1", "1", type_tarif="4"),  # 6: E05 a seat in a free-placement bloc
        place("B", "1", "1"),  # 7: E06 already held (set up)
        place("B", "5", "1"),  # 8: E06 held since line 1
        place("B", "5", "2", type_tarif="7"),  # 9: E08 unknown type de tarif
        place("FOSSE", None, None, type_tarif="4", quantite=30),  # 10: 30 more pit places
    ]

    answer = deliver(sandbox, fnac, FileType.PLACES, 2, records)

    assert ack_lines(sandbox, answer.ack) == [
        ("KO", 2, "E03"),
        ("KO", 3, "E04"),
        ("KO", 4, "E05"),
        ("KO", 5, "E05"),
        ("KO", 6, "E05"),
        ("KO", 7, "E06"),
        ("KO", 8, "E06"),
        ("KO", 9, "E08"),
    ]
    holdings = fnac.snapshot().holdings
    assert holdings["004512|12/03/2027 20:30|B|5/1"].held == 1
    assert holdings["004512|12/03/2027 20:30|FOSSE|*4"].held == 80
    assert "004512|12/03/2027 20:30|B|5/2" not in holdings


def test_places_for_a_pass_are_refused_e04(sandbox: SandboxServer, fnac: FnacPartner):
    deliver(sandbox, fnac, FileType.FICHE, 1, pass_fiche())
    line = place(code_manifestation="000981", code_salle="MAH01", code_bloc="A")

    answer = deliver(sandbox, fnac, FileType.PLACES, 1, [line])

    assert ack_lines(sandbox, answer.ack) == [("KO", 1, "E04")]


def test_decont_withdraws_unsold_places_and_refuses_sold_ones_e07(
    sandbox: SandboxServer, fnac: FnacPartner
):
    set_up_lumen(sandbox, fnac, rows=1, seats=3)
    state = fnac.snapshot()
    sold_seat = next(
        h for h in state.holdings.values() if h.seated and h.seance == "12/03/2027 20:30"
    )
    _sell(fnac, sold_seat.key)
    unsold = [
        place("B", "1", number, type_tarif="1")
        for number in ("1", "2", "3")
        if f"004512|12/03/2027 20:30|B|1/{number}" != sold_seat.key
    ]
    sold = place(sold_seat.bloc, sold_seat.rang, sold_seat.place, type_tarif=sold_seat.type_tarif)
    records = [
        sold,
        *unsold,
        place("B", "9", "9"),  # not held
        place("FOSSE", None, None, type_tarif="4", quantite=20),
        place("FOSSE", None, None, type_tarif="4", quantite=40),  # only 30 left
    ]

    answer = deliver(sandbox, fnac, FileType.DECONT, 1, records)

    assert ack_lines(sandbox, answer.ack) == [
        ("KO", 1, "E07"),
        ("KO", len(unsold) + 2, "E05"),
        ("KO", len(unsold) + 4, "E07"),
    ]
    holdings = fnac.snapshot().holdings
    assert holdings[sold_seat.key].sold == 1
    assert all(f"004512|12/03/2027 20:30|B|1/{line['place']}" not in holdings for line in unsold)
    assert holdings["004512|12/03/2027 20:30|FOSSE|*4"].held == 30


def _sell(fnac: FnacPartner, key: str) -> None:
    """Sell one given seat: everything else of the allotment is withdrawn from sale first."""
    with fnac.store.locked():
        state = fnac.store.load(fnac.manager)
        for holding in state.holdings.values():
            holding.blocked = holding.held if holding.key != key else 0
        fnac.store.save(state)
    fnac.emit_ventes(lines=1)
    with fnac.store.locked():
        state = fnac.store.load(fnac.manager)
        for holding in state.holdings.values():
            holding.blocked = 0
        fnac.store.save(state)
    assert fnac.snapshot().holdings[key].sold == 1


def test_the_state_survives_a_new_partner_instance(
    sandbox: SandboxServer, fnac: FnacPartner, make_partner: Callable[..., FnacPartner]
):
    set_up_lumen(sandbox, fnac)
    fnac.emit_ventes(lines=3)

    restarted = make_partner()
    answer = deliver(sandbox, restarted, FileType.PLACES, 2, lumen_places())

    assert {refusal.code for refusal in answer.refusals} == {"E06"}
    assert restarted.emit_ventes(lines=1) == "VENTES_M0427_000002_20261128120004.csv"
    state = restarted.snapshot()
    assert len([t for t in state.tickets.values() if not t.test]) == 4
    assert state.received_seqs == {"FICHE": [1], "PLACES": [1, 2]}


def test_the_organisers_transport_delivers_and_fetches_the_ack(
    sandbox: SandboxServer, sandbox_conn_id: str, fnac: FnacPartner
):
    folders = TransportSettings("/retour/", "/depot/", "/depot/traites/")
    transport = SftpTransport(sandbox_conn_id, folders, naming=NAMING)
    name, data = organiser_file(FileType.FICHE, 1, lumen_fiche())
    transport.upload(name, data)

    fnac.process_depot()
    fetched = transport.fetch_new(KnownFiles())

    assert [file.name for file in fetched.landed] == [f"ACK_{name}"]
    assert (sandbox.home(DEMO_USERNAME) / "depot" / "traites" / name).read_bytes() == data


def test_names_outside_the_contract_are_set_aside_unanswered(
    sandbox: SandboxServer, fnac: FnacPartner
):
    upload(sandbox, "notes.txt", b"hello")
    upload(sandbox, "VENTES_M0427_000001_20261128120000.csv", b"not ours to send")

    assert fnac.process_depot() == []
    with sftp_session(sandbox) as sftp:
        assert sftp.listdir("/retour") == []
        assert sorted(sftp.listdir("/depot/traites")) == [
            "VENTES_M0427_000001_20261128120000.csv",
            "notes.txt",
        ]


def test_the_clock_moves_each_ack_after_the_previous_file(
    sandbox: SandboxServer, fnac: FnacPartner
):
    set_up_lumen(sandbox, fnac)
    created = [
        read_file(sent.name, download(sandbox, sent.name)).envelope.created
        for sent in fnac.snapshot().sent
    ]
    assert created[1] - created[0] == timedelta(seconds=1)
