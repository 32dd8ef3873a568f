"""FNAC's own files: realistic, valid for the codec, drawn from its state; faults on demand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from devtools.sandboxes.fnac import (
    BUYER_ADDRESSES,
    BUYER_EMAIL_DOMAIN,
    BUYER_PHONE_PREFIXES,
    DEMO_USERNAME,
    FnacPartner,
    PartnerLoop,
    SandboxError,
    SandboxServer,
)
from devtools.sandboxes.fnac.codebook import CodeBook
from devtools.sandboxes.fnac.emit import NEW_CATEGORY, commission_on
from reseller_sync.fnac.codec import BUYER_CONTACT_COLUMNS, FileFormatError, read_file
from reseller_sync.fnac.names import FileName, FileType
from reseller_sync.fnac.values import WALL_CLOCK_FORMAT
from tests.sandbox.conftest import (
    StepClock,
    lumen_fiche,
    lumen_places,
    organiser_file,
    pass_fiche,
    set_up_lumen,
    upload,
)


def retour(fnac: FnacPartner, name: str | None) -> bytes:
    assert name is not None
    return (fnac.retour / name).read_bytes()


def parsed(fnac: FnacPartner, name: str | None) -> pd.DataFrame:
    assert name is not None
    return read_file(name, retour(fnac, name)).frame


def hourly(fnac: FnacPartner, clock: StepClock, hours: int, **options) -> list[str]:
    names = []
    for _ in range(hours):
        clock.advance(hours=1)
        name = fnac.emit_ventes(**options)
        assert name is not None
        names.append(name)
    return names


@pytest.fixture
def lumen(sandbox: SandboxServer, fnac: FnacPartner, clock: StepClock) -> FnacPartner:
    """FNAC holding the concert (3 séances × 40 seats and 50 pit places) and the day pass."""
    set_up_lumen(sandbox, fnac)
    upload(sandbox, *organiser_file(FileType.FICHE, 2, pass_fiche()))
    assert [answer.status for answer in fnac.process_depot()] == ["OK"]
    clock.advance(minutes=5)
    return fnac


def sheet_price(fnac: FnacPartner, line: pd.Series) -> int:
    manifestation = fnac.snapshot().manifestations[line.code_manifestation]
    seance = "" if pd.isna(line.date_seance) else line.date_seance.strftime(WALL_CLOCK_FORMAT)
    return manifestation.seances[seance].prices[line.type_tarif][line.categorie_client]


def allotment_spots() -> set[tuple[str, str, str, str]]:
    """(séance, bloc, rang, place) of every seat and free-placement bloc the PLACES gave."""
    return {
        (
            line["date_seance"].strftime(WALL_CLOCK_FORMAT),
            line["code_bloc"],
            line["rang"] or "",
            line["place"] or "",
        )
        for line in lumen_places()
    }


def spot(line: pd.Series) -> tuple[str, str, str, str]:
    return (
        line.date_seance.strftime(WALL_CLOCK_FORMAT),
        line.code_bloc,
        "" if pd.isna(line.rang) else line.rang,
        "" if pd.isna(line.place) else line.place,
    )


def test_hourly_ventes_are_valid_realistic_and_drawn_from_the_allotment(
    lumen: FnacPartner, clock: StepClock
):
    names = hourly(lumen, clock, 12, lines=6)
    frames = [parsed(lumen, name) for name in names]
    sales = pd.concat(frames)

    assert [FileName.parse(name).seq for name in names] == list(range(1, 13))
    assert len(sales) == 72
    assert sales["id_billet"].is_unique
    assert sales["code_barre"].is_unique
    assert sales["code_barre"].str.len().between(13, 16).all()
    events = sales[sales["code_manifestation"] == "004512"]
    passes = sales[sales["code_manifestation"] == "000981"]
    assert len(events)
    assert len(passes)
    assert {spot(line) for line in events.itertuples()} <= allotment_spots()
    seats = events[events["rang"].notna()]
    assert not seats.duplicated(["date_seance", "code_bloc", "rang", "place"]).any()
    assert set(events["devise"]) == {"EUR"}
    assert set(passes["devise"]) == {"CHF"}
    assert passes["code_salle"].isna().all()
    assert passes["date_seance"].isna().all()
    for line in sales.itertuples():
        assert line.prix_ttc == sheet_price(lumen, line)
        assert line.commission == commission_on(line.prix_ttc, line.devise)
    categories = sales["categorie_client"].value_counts()
    assert categories["0"] > len(sales) / 2
    assert set(categories.index) - {"0"}
    assert sales["id_vente"].duplicated().any()  # several tickets in some orders
    assert {code[:2] for code in sales["code_point_vente"]} == {"FR", "CH"}
    assert "FR9999" in set(sales["code_point_vente"])
    names_text = " ".join(sales["nom_beneficiaire"]) + " ".join(sales["prenom_beneficiaire"])
    assert any(not character.isascii() for character in names_text)
    for frame, name in zip(frames, names, strict=True):
        created = read_file(name, retour(lumen, name)).envelope.created
        assert (frame["date_vente"] < created).all()
        assert (frame["date_vente"] > created - timedelta(hours=1)).all()


def test_buyer_contacts_are_in_the_raw_bytes_recognisable_and_listed(
    lumen: FnacPartner, clock: StepClock
):
    name = hourly(lumen, clock, 1, lines=8)[0]
    text = retour(lumen, name).decode("cp1252")
    columns = text.split("\r\n")[1].split(";")
    assert set(BUYER_CONTACT_COLUMNS) <= set(columns)

    contacts = lumen.buyer_contacts
    assert contacts.emails
    assert contacts.phones
    assert contacts.addresses
    assert all(email.endswith(f"@{BUYER_EMAIL_DOMAIN}") for email in contacts.emails)
    assert all(phone.startswith(BUYER_PHONE_PREFIXES) for phone in contacts.phones)
    assert set(contacts.addresses) <= set(BUYER_ADDRESSES)
    for value in (*contacts.emails, *contacts.phones, *contacts.addresses):
        assert value.replace('"', '""') in text
    frame = parsed(lumen, name)
    assert not set(BUYER_CONTACT_COLUMNS) & set(frame.columns)


def test_ventes_is_empty_once_everything_is_sold(
    sandbox: SandboxServer, fnac: FnacPartner, clock: StepClock
):
    set_up_lumen(sandbox, fnac, rows=1, seats=2)
    held = sum(h.held for h in fnac.snapshot().holdings.values())

    names = hourly(fnac, clock, 3, lines=200)

    counts = [len(parsed(fnac, name)) for name in names]
    assert counts == [held, 0, 0]
    assert b"\r\nFIN;000003;0;0\r\n" in retour(fnac, names[2])
    assert all(h.available == 0 for h in fnac.snapshot().holdings.values())


def test_test_tickets_cover_each_type_de_tarif_and_category_and_block_their_places(
    lumen: FnacPartner, clock: StepClock
):
    concert = parsed(lumen, lumen.emit_test("004512"))
    day_pass = parsed(lumen, lumen.emit_test("000981"))

    priced_types = {"1", "2", "4"}  # the PLACES hold no seat of type 3 (CAT3)
    assert set(zip(concert["type_tarif"], concert["categorie_client"], strict=True)) == {
        (tt, cat) for tt in priced_types for cat in ("0", "15", "20", "22")
    }
    assert set(zip(day_pass["type_tarif"], day_pass["categorie_client"], strict=True)) == {
        ("1", "0"),
        ("1", "15"),
        ("1", "20"),
    }
    state = lumen.snapshot()
    assert state.manifestations["004512"].tested
    blocked = {t.holding for t in state.tickets.values() if t.test and t.rang}
    assert all(state.holdings[key].blocked == 1 for key in blocked)

    etatpl = parsed(lumen, lumen.emit_etatpl())
    assert etatpl.groupby("statut")["quantite"].sum()["BLOQUE"] == 16 - 4  # pass has no places

    sold = pd.concat(parsed(lumen, name) for name in hourly(lumen, clock, 20, lines=12))
    assert not set(sold["id_billet"]) & set(concert["id_billet"])
    seats = {spot(line) for line in concert[concert["rang"].notna()].itertuples()}
    assert not seats & {spot(line) for line in sold[sold["code_salle"].notna()].itertuples()}


def test_a_test_needs_a_manifestation_and_places(lumen: FnacPartner):
    with pytest.raises(SandboxError, match="not set up"):
        lumen.emit_test("004999")


def test_annul_cancels_only_sold_tickets_already_delivered(lumen: FnacPartner, clock: StepClock):
    lumen.emit_test("004512")
    sold = pd.concat(parsed(lumen, name) for name in hourly(lumen, clock, 3, lines=5))
    clock.advance(minutes=20)

    first = lumen.emit_annul(count=4)
    second = lumen.emit_annul(count=100)
    cancellations = pd.concat([parsed(lumen, first), parsed(lumen, second)])

    assert len(cancellations) == 15
    assert cancellations["id_annulation"].is_unique
    assert set(cancellations["id_billet"]) == set(sold["id_billet"])
    by_ticket = sold.set_index("id_billet")
    for line in cancellations.itertuples():
        ticket = by_ticket.loc[line.id_billet]
        assert (line.id_vente, line.code_barre, line.devise) == (
            ticket.id_vente,
            ticket.code_barre,
            ticket.devise,
        )
        expected = (
            ticket.prix_ttc - ticket.commission if line.motif == "CLIENT" else ticket.prix_ttc
        )
        assert line.montant_rembourse == expected
        assert line.date_annulation >= ticket.date_vente
    ventes_stamps = [FileName.parse(path.name).stamp for path in lumen.retour.glob("VENTES_*")]
    assert FileName.parse(first).stamp > max(ventes_stamps)
    assert len(parsed(lumen, lumen.emit_annul(count=3))) == 0
    state = lumen.snapshot()
    assert sum(h.sold for h in state.holdings.values()) == 0


def test_tickets_of_an_unreadable_ventes_are_not_cancelled(lumen: FnacPartner, clock: StepClock):
    clock.advance(hours=1)
    lumen.emit_ventes(lines=3, fault="truncated")
    clock.advance(hours=1)

    assert len(parsed(lumen, lumen.emit_annul(count=5))) == 0

    resent = lumen.emit_ventes(fault="resend")
    clock.advance(minutes=10)
    assert len(parsed(lumen, resent)) == 3
    assert len(parsed(lumen, lumen.emit_annul(count=5))) == 3


def test_catcli_lists_every_category_and_adds_new_ones(lumen: FnacPartner):
    initial = parsed(lumen, lumen.emit_catcli())
    assert initial["categorie_client"].tolist() == ["0", "15", "20", "22"]

    changed = parsed(lumen, lumen.emit_catcli(add={"31": "Carte Fnac+ Jeunes"}, deactivate=("20",)))
    rows = changed.set_index("categorie_client")
    assert changed["categorie_client"].tolist() == ["0", "15", "20", "22", "31"]
    assert rows.loc["31", "libelle"] == "Carte Fnac+ Jeunes"
    assert not rows.loc["20", "actif"]
    assert rows.loc["31", "actif"]
    assert rows.loc["31", "date_modification"] > rows.loc["0", "date_modification"]


def test_etatpl_states_every_place_fnac_holds(lumen: FnacPartner, clock: StepClock):
    hourly(lumen, clock, 2, lines=10)
    state = lumen.snapshot()

    frame = parsed(lumen, lumen.emit_etatpl())

    totals = frame.groupby("statut")["quantite"].sum().to_dict()
    event_holdings = [h for h in state.holdings.values() if h.salle]
    assert totals.get("VENDU", 0) == sum(h.sold for h in event_holdings)
    assert sum(totals.values()) == sum(h.held for h in event_holdings) == 3 * (40 + 50)
    assert set(frame["code_manifestation"]) == {"004512"}
    assert frame["date_seance"].nunique() == 3
    seats = frame[frame["rang"].notna()]
    assert (seats["quantite"] == 1).all()


# Faults ---------------------------------------------------------------------


def test_price_fault_differs_from_the_sale_sheet(lumen: FnacPartner, clock: StepClock):
    frame = parsed(lumen, hourly(lumen, clock, 1, lines=4, fault="price")[0])

    differing = [line for line in frame.itertuples() if line.prix_ttc != sheet_price(lumen, line)]
    assert len(differing) == 1


def test_outside_allotment_fault_sells_a_seat_fnac_does_not_hold(
    lumen: FnacPartner, clock: StepClock
):
    frame = parsed(lumen, hourly(lumen, clock, 1, lines=3, fault="outside-allotment")[0])

    events = frame[frame["code_salle"].notna()]
    outside = [line for line in events.itertuples() if spot(line) not in allotment_spots()]
    assert len(outside) == 1
    assert outside[0].prix_ttc == sheet_price(lumen, outside[0])


def test_new_category_fault_sells_at_a_category_no_sheet_set_up(
    lumen: FnacPartner, clock: StepClock
):
    frame = parsed(lumen, hourly(lumen, clock, 1, lines=3, fault="new-category")[0])

    assert (frame["categorie_client"] == NEW_CATEGORY[0]).sum() == 1
    assert NEW_CATEGORY[0] in lumen.snapshot().customer_categories
    catcli = parsed(lumen, lumen.emit_catcli())
    assert NEW_CATEGORY[0] in set(catcli["categorie_client"])


def test_gap_late_and_skip_faults(lumen: FnacPartner, clock: StepClock):
    first = hourly(lumen, clock, 1, lines=1)[0]
    clock.advance(hours=1)
    assert lumen.emit_ventes(fault="skip") is None
    clock.advance(hours=1)
    gap = lumen.emit_ventes(fault="gap")
    clock.advance(hours=1)
    late = lumen.emit_ventes(fault="late")

    assert [FileName.parse(name).seq for name in (first, gap, late)] == [1, 3, 4]
    assert FileName.parse(late).stamp == clock.now.replace(microsecond=0) - timedelta(hours=3)
    assert sorted(path.name for path in lumen.retour.glob("VENTES_*")) == sorted([first, gap, late])
    for name in (gap, late):
        parsed(lumen, name)


def test_truncated_and_wrong_encoding_faults_fail_the_codec(lumen: FnacPartner, clock: StepClock):
    truncated = hourly(lumen, clock, 1, lines=2, fault="truncated")[0]
    wrong = hourly(lumen, clock, 1, lines=0, fault="wrong-encoding")[0]

    with pytest.raises(FileFormatError, match="truncated"):
        read_file(truncated, retour(lumen, truncated))
    with pytest.raises(FileFormatError) as raised:
        read_file(wrong, retour(lumen, wrong))
    assert "declared CP1252 but holds UTF-8" in str(raised.value)
    assert retour(lumen, wrong).startswith(b"ENTETE;VENTES;1;M0427;000002;")


def test_resend_fault_repeats_the_lines_under_a_new_name(lumen: FnacPartner, clock: StepClock):
    original = hourly(lumen, clock, 1, lines=5)[0]
    hourly(lumen, clock, 1, lines=0)
    resent = hourly(lumen, clock, 1, fault="resend")[0]

    def data_lines(name: str) -> list[bytes]:
        return retour(lumen, name).split(b"\r\n")[2:-2]

    assert FileName.parse(resent).seq == 3
    assert data_lines(resent) == data_lines(original)
    a, b = read_file(original, retour(lumen, original)), read_file(resent, retour(lumen, resent))
    assert (a.envelope.count, a.envelope.control) == (b.envelope.count, b.envelope.control)
    assert b.envelope.created > a.envelope.created
    pd.testing.assert_frame_equal(a.frame, b.frame)


def test_missing_ticket_fault_leaves_the_last_pair_without_a_test_ticket(lumen: FnacPartner):
    concert = parsed(lumen, lumen.emit_test("004512", fault="missing-ticket"))

    pairs = set(zip(concert["type_tarif"], concert["categorie_client"], strict=True))
    assert pairs == {(tt, cat) for tt in ("1", "2", "4") for cat in ("0", "15", "20", "22")} - {
        ("4", "22")
    }
    blocked = sum(h.blocked for h in lumen.snapshot().holdings.values())
    assert blocked == len(concert) == 11, "no place blocked for the missing ticket"


def test_content_faults_concern_their_type_of_file_only(lumen: FnacPartner):
    with pytest.raises(SandboxError, match="VENTES files only"):
        lumen.emit_etatpl(fault="price")
    with pytest.raises(SandboxError, match="VENTES files only"):
        lumen.emit_test("004512", fault="new-category")
    with pytest.raises(SandboxError, match="TEST files only"):
        lumen.emit_ventes(fault="missing-ticket")
    with pytest.raises(SandboxError, match="TEST files only"):
        lumen.emit_annul(fault="missing-ticket")
    with pytest.raises(SandboxError, match="VENTES files only"):
        PartnerLoop(lumen, auto_test=True, test_fault="price")


def test_files_are_written_atomically_and_kept_by_fnac(lumen: FnacPartner, clock: StepClock):
    name = hourly(lumen, clock, 1, lines=2, fault="truncated")[0]

    assert not list(lumen.retour.glob("*.part"))
    intact = (lumen.store.sent_folder / name).read_bytes()
    assert read_file(name, intact).envelope.count == 2
    assert intact.startswith(retour(lumen, name))


# Determinism -----------------------------------------------------------------


def _story(root: Path, codebook: CodeBook) -> dict[str, bytes]:
    """Set up the concert, sell for a few hours, test, cancel, state: every file written."""
    clock = StepClock()
    partner = FnacPartner(root, DEMO_USERNAME, codebook, clock=clock, seed=42)
    for file_type, seq, records in (
        (FileType.PLACES, 1, lumen_places()),
        (FileType.FICHE, 1, lumen_fiche()),
    ):
        name, data = organiser_file(file_type, seq, records)
        (partner.depot / name).write_bytes(data)
    partner.process_depot()
    for _ in range(4):
        clock.advance(hours=1)
        partner.emit_ventes()
    partner.emit_test("004512")
    partner.emit_annul()
    partner.emit_etatpl()
    return {path.name: path.read_bytes() for path in sorted(partner.retour.iterdir())}


def test_the_same_seed_and_clock_write_the_same_files(tmp_path: Path, codebook: CodeBook):
    first, second = _story(tmp_path / "a", codebook), _story(tmp_path / "b", codebook)

    assert first == second
    assert len(first) == 2 + 4 + 3


def test_a_new_partner_instance_continues_where_the_last_one_stopped(
    lumen: FnacPartner, clock: StepClock, make_partner: Callable[..., FnacPartner]
):
    before = pd.concat(parsed(lumen, name) for name in hourly(lumen, clock, 2, lines=5))

    restarted = make_partner()
    after = pd.concat(parsed(restarted, name) for name in hourly(restarted, clock, 2, lines=5))

    assert FileName.parse(hourly(restarted, clock, 1, lines=0)[0]).seq == 5
    assert not set(before["id_billet"]) & set(after["id_billet"])
    assert not set(before["code_barre"]) & set(after["code_barre"])
