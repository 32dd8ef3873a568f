# ruff: noqa: E501  (the examples are the spec's lines, verbatim)
"""The SecuTix reseller played by the sandbox over real SFTP (secutix-reseller-v1 sections 3
to 9): it answers the organiser's files, sells, and writes TICKETS and STOCK files that the
codec's checker accepts.

The helpers here (the organiser's session, its catalogue, a clock) serve the other
``test_secutix_*`` files too.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import paramiko
import pytest

from devtools.sandboxes.connection import public_host_key
from devtools.sandboxes.secutix import (
    CONTACT_EMAIL_DOMAIN,
    SecutixPartner,
    secutix_server,
)
from devtools.sandboxes.secutix.emit import SandboxError, stamp
from devtools.sandboxes.secutix.people import LOCAL_TIME
from devtools.sandboxes.sftp import CLIENT_KEY_FILE, DEMO_USERNAME, SandboxServer, demo_user
from reseller_sync.cli import main as reseller_sync_main
from reseller_sync.secutix.check import check_paths
from reseller_sync.secutix.names import FileType
from reseller_sync.secutix.writer import build_file

START = datetime(2026, 12, 5, 10, 0, tzinfo=LOCAL_TIME)
"""Within the sale dates of the catalogue below."""

OFFER_00000005 = """\
PRODUCT_CODE;PRODUCT_NAME;PRODUCT_KIND;PERFORMANCE_CODE;PERFORMANCE_START;VENUE_NAME;CITY;COUNTRY;PASS_VALIDITY_START;PASS_VALIDITY_END;SEATCAT_CODE;SEATCAT_NAME;TARIFF_CODE;TARIFF_NAME;PRICE;CURRENCY;SALES_START;SALES_END;ON_SALE
TOSCA27;Tosca;EVENT;TOSCA27-0314;2027-03-14T20:30:00+01:00;Zénith;Paris;FR;;;CAT1;Catégorie 1;PLEIN;Plein tarif;6850;EUR;2026-12-01T10:00:00+01:00;2027-03-14T20:00:00+01:00;1
TOSCA27;Tosca;EVENT;TOSCA27-0314;2027-03-14T20:30:00+01:00;Zénith;Paris;FR;;;FOSSE;Fosse;ENFANT;Enfant;2500;EUR;2026-12-01T10:00:00+01:00;2027-03-14T20:00:00+01:00;1
PASS27;Pass annuel 2027;UNDATED_PASS;;;Musée des Beaux-Arts;Lyon;FR;2027-01-01;2027-12-31;LIBRE;Accès libre;PLEIN;Plein tarif;3900;EUR;2026-12-01T10:00:00+01:00;2027-12-31T17:00:00+01:00;1
"""

CONTINGENT_00000006 = """\
PRODUCT_CODE;PERFORMANCE_CODE;SEATCAT_CODE;SEAT;QUANTITY
TOSCA27;TOSCA27-0314;CAT1;PARTERRE/F/12;1
TOSCA27;TOSCA27-0314;CAT1;PARTERRE/F/13;1
TOSCA27;TOSCA27-0314;FOSSE;FOSSE;300
PASS27;;LIBRE;;500
"""

RESULT_00000006 = """\
LINE_NUMBER;STATUS;ERROR_CODE;AVAILABLE;MESSAGE
1;OK;;;
2;KO;Q04;;Place déjà au contingent
3;OK;;;
4;OK;;;
"""

MUSEE = {
    "PRODUCT_CODE": "MUSEE27",
    "PRODUCT_NAME": "Musée, visite du 3 avril",
    "PRODUCT_KIND": "VISIT_PASS",
    "PERFORMANCE_CODE": "MUSEE27-0403",
    "PERFORMANCE_START": "2027-04-03T10:00:00+02:00",
    "VENUE_NAME": "Musée d'art et d'histoire",
    "CITY": "Genève",
    "COUNTRY": "CH",
    "PASS_VALIDITY_START": "",
    "PASS_VALIDITY_END": "",
    "SEATCAT_CODE": "VISITE",
    "SEATCAT_NAME": "Visite",
    "SALES_START": "2026-12-01T10:00:00+01:00",
    "SALES_END": "2027-04-03T09:00:00+02:00",
    "ON_SALE": "1",
    "CURRENCY": "CHF",
}


def frame_of(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), sep=";", dtype=str, keep_default_na=False)


def catalogue() -> pd.DataFrame:
    """The example's OFFER, with a reduced tariff in CAT1, a full one in the pit, and a
    dated visit pass in CHF."""
    lines = frame_of(OFFER_00000005)
    tosca = lines.iloc[0].to_dict()
    more = [
        {**tosca, "TARIFF_CODE": "REDUIT", "TARIFF_NAME": "Tarif réduit", "PRICE": "5850"},
        {
            **lines.iloc[1].to_dict(),
            "TARIFF_CODE": "PLEIN",
            "TARIFF_NAME": "Plein tarif",
            "PRICE": "3500",
        },
        {**MUSEE, "TARIFF_CODE": "PLEIN", "TARIFF_NAME": "Plein tarif", "PRICE": "2200"},
        {**MUSEE, "TARIFF_CODE": "REDUIT", "TARIFF_NAME": "Tarif réduit", "PRICE": "1800"},
    ]
    return pd.concat([lines, pd.DataFrame(more)], ignore_index=True)


def places(*lines: tuple[str, str, str, str, int]) -> dict[str, list[Any]]:
    columns = ("PRODUCT_CODE", "PERFORMANCE_CODE", "SEATCAT_CODE", "SEAT", "QUANTITY")
    return {name: [line[i] for line in lines] for i, name in enumerate(columns)}


def seats(first: int, last: int, row: str = "F") -> list[tuple[str, str, str, str, int]]:
    return [
        ("TOSCA27", "TOSCA27-0314", "CAT1", f"PARTERRE/{row}/{n}", 1)
        for n in range(first, last + 1)
    ]


def full_contingent() -> dict[str, list[Any]]:
    """Ten seats, 20 pit places, 12 museum visits and 15 yearly passes."""
    return places(
        *seats(1, 10),
        ("TOSCA27", "TOSCA27-0314", "FOSSE", "FOSSE", 20),
        ("MUSEE27", "MUSEE27-0403", "VISITE", "", 12),
        ("PASS27", "", "LIBRE", "", 15),
    )


class StepClock:
    """The reseller's clock, moved by the test."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@contextmanager
def organiser(server: SandboxServer | tuple[str, int]) -> Iterator[paramiko.SFTPClient]:
    """The organiser's SFTP session (demo key, the host key checked)."""
    host, port = server if isinstance(server, tuple) else (server.host, server.port)
    client = paramiko.SSHClient()
    algorithm, data = public_host_key().split()
    client.get_host_keys().add(
        f"[{host}]:{port}",
        algorithm,
        paramiko.Ed25519Key(data=base64.b64decode(data)),
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
        sftp = client.open_sftp()
        sftp.get_channel().settimeout(5)
        yield sftp
    finally:
        client.close()


def put(sftp: paramiko.SFTPClient, name: str, data: bytes) -> None:
    """Section 3 point 3: under ``NAME.part``, then renamed."""
    with sftp.open(f"/to_reseller/{name}.part", "wb") as handle:
        handle.write(data)
    sftp.posix_rename(f"/to_reseller/{name}.part", f"/to_reseller/{name}")


def send(
    sftp: paramiko.SFTPClient, file_type: FileType, number: int, records: Any
) -> tuple[str, bytes]:
    """The organiser's file written by the codec and uploaded: data file, then control file."""
    built = build_file(file_type, number, records)
    put(sftp, str(built.name), built.data)
    put(sftp, str(built.name.control), built.control)
    return str(built.name), built.data


def fetch(sftp: paramiko.SFTPClient, folder: Path, *remote: str) -> Path:
    """Download every file of the remote folders into ``folder`` (made if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for where in remote:
        for name in sftp.listdir(where):
            if sftp.stat(f"{where}/{name}").st_mode is not None and "." in name:
                with sftp.open(f"{where}/{name}") as handle:
                    (folder / name).write_bytes(handle.read())
    return folder


def read(sftp: paramiko.SFTPClient, path: str) -> bytes:
    with sftp.open(path) as handle:
        return handle.read()


def set_up(sftp: paramiko.SFTPClient, partner: SecutixPartner, contingent: Any = None) -> None:
    """The reseller holds the catalogue and a contingent: files 1 and 2, answered OK."""
    send(sftp, FileType.OFFER, 1, catalogue())
    send(sftp, FileType.CONTINGENT, 2, contingent or full_contingent())
    answers = partner.pickup()
    assert [a.status for a in answers] == ["OK", "OK"], answers


def tickets_frame(data: bytes) -> pd.DataFrame:
    return frame_of(data.decode())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SandboxServer]:
    with secutix_server(tmp_path / "root", [demo_user()]) as running:
        yield running


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def partner(server: SandboxServer, clock: StepClock) -> SecutixPartner:
    return SecutixPartner(server.root, clock=clock, seed=11)


# Answering the organiser's files ------------------------------------------------------


def test_it_answers_an_offer_and_a_contingent_as_the_spec_s_example(
    server: SandboxServer, partner: SecutixPartner, tmp_path: Path
) -> None:
    tosca = frame_of(OFFER_00000005).iloc[:1]
    with organiser(server) as sftp:
        assert sorted(sftp.listdir("/")) == ["to_organiser", "to_reseller"]
        send(sftp, FileType.OFFER, 1, tosca)
        send(sftp, FileType.CONTINGENT, 2, places(*seats(13, 13)))
        send(sftp, FileType.WITHDRAW, 3, places(*seats(14, 14)))
        send(sftp, FileType.CONTINGENT, 4, {})
        # Not yet complete: no control file, and an upload in progress.
        built = build_file(FileType.OFFER, 5, frame_of(OFFER_00000005))
        put(sftp, str(built.name), built.data)
        with sftp.open("/to_reseller/CONTINGENT_00000006.csv.part", "wb") as handle:
            handle.write(b"PRODUCT_CODE")
        answers = partner.pickup()
        assert [(a.file, a.status, a.codes) for a in answers] == [
            ("OFFER_00000001.csv", "OK", ()),
            ("CONTINGENT_00000002.csv", "OK", ()),
            ("WITHDRAW_00000003.csv", "PARTIAL", ("Q07",)),
            ("CONTINGENT_00000004.csv", "OK", ()),
        ]
        assert (
            read(sftp, "/to_organiser/RESULT_00000004.csv")
            == RESULT_00000006.splitlines()[0].encode() + b"\n"
        )

        put(sftp, str(built.name.control), built.control)
        sftp.remove("/to_reseller/CONTINGENT_00000006.csv.part")
        send(sftp, FileType.CONTINGENT, 6, frame_of(CONTINGENT_00000006))
        assert [a.status for a in partner.pickup()] == ["OK", "PARTIAL"]

        assert read(sftp, "/to_organiser/RESULT_00000005.csv") == (
            b"LINE_NUMBER;STATUS;ERROR_CODE;AVAILABLE;MESSAGE\n1;OK;;;\n2;OK;;;\n3;OK;;;\n"
        )
        assert read(sftp, "/to_organiser/RESULT_00000006.csv") == RESULT_00000006.encode()
        assert sftp.listdir("/to_reseller") == ["done"]
        done = sorted(sftp.listdir("/to_reseller/done"))
        assert len(done) == 12
        assert not [n for n in sftp.listdir("/to_organiser") if n.endswith(".part")]
        # The organiser checks the RESULTs against the files it sent (their control files).
        landed = fetch(sftp, tmp_path / "landed", "/to_organiser", "/to_reseller/done")
    report = check_paths([landed])
    assert report.valid, [p.located() for p in report.problems]
    assert len(report.outcomes) == 6


def test_places_refused_line_by_line(
    server: SandboxServer, partner: SecutixPartner, clock: StepClock
) -> None:
    with organiser(server) as sftp:
        set_up(
            sftp, partner, places(*seats(12, 12), ("TOSCA27", "TOSCA27-0314", "FOSSE", "FOSSE", 3))
        )
        partner.tick(orders=5)  # every place is sold: each order takes one at least
        sold = partner.snapshot().tickets.values()
        assert sorted(t.seat for t in sold) == ["FOSSE", "FOSSE", "FOSSE", "PARTERRE/F/12"]
        contingent = places(
            ("NOPE27", "NOPE27-0101", "CAT1", "PARTERRE/A/1", 1),  # Q01
            ("PASS27", "", "LIBRE", "PARTERRE/A/1", 1),  # Q08
            ("TOSCA27", "TOSCA27-0314", "CAT9", "PARTERRE/A/1", 1),  # Q02, not offered
            ("TOSCA27", "TOSCA27-0314", "CAT1", "PARTERRE/Z/1", 1),  # Q03, no row Z
            ("TOSCA27", "TOSCA27-0314", "CAT1", "FOSSE/A/1", 1),  # Q03, free placement
            ("TOSCA27", "TOSCA27-0314", "FOSSE", "PARTERRE/F/12", 1),  # Q02, the seat's is CAT1
            ("TOSCA27", "TOSCA27-0314", "CAT1", "PARTERRE/F/12", 1),  # Q04
            ("TOSCA27", "TOSCA27-0314", "CAT1", "PARTERRE/F/20", 1),
        )
        send(sftp, FileType.CONTINGENT, 3, contingent)
        withdraw = places(
            ("TOSCA27", "TOSCA27-0314", "CAT1", "PARTERRE/F/12", 1),  # Q05, sold
            ("TOSCA27", "TOSCA27-0314", "FOSSE", "FOSSE", 1),  # Q06, 0 available
            ("TOSCA27", "TOSCA27-0314", "CAT1", "PARTERRE/F/21", 1),  # Q07
            ("PASS27", "", "LIBRE", "", 1),  # Q07
            ("TOSCA27", "TOSCA27-0314", "CAT1", "PARTERRE/F/20", 1),  # withdrawn
            ("TOSCA27", "TOSCA27-0314", "CAT1", "PARTERRE/F/20", 1),  # Q07 now
        )
        send(sftp, FileType.WITHDRAW, 4, withdraw)
        partner.pickup()
        result_3 = tickets_frame(read(sftp, "/to_organiser/RESULT_00000003.csv"))
        result_4 = tickets_frame(read(sftp, "/to_organiser/RESULT_00000004.csv"))
    assert result_3["ERROR_CODE"].tolist() == ["Q01", "Q08", "Q02", "Q03", "Q03", "Q02", "Q04", ""]
    assert result_4["ERROR_CODE"].tolist() == ["Q05", "Q06", "Q07", "Q07", "", "Q07"]
    assert result_4["AVAILABLE"].tolist() == ["", "0", "", "", "", ""]
    state = partner.snapshot()
    assert state.holdings["TOSCA27|TOSCA27-0314|PARTERRE/F/20"].given == 0

    # Once every order is cancelled, the pit's three places can be withdrawn, not four.
    clock.advance(minutes=15)
    partner.tick(orders=0, prints=0, cancellations=5, refunds=0, renames=0)
    assert not [t for t in partner.snapshot().tickets.values() if t.valid]
    with organiser(server) as sftp:
        pit = ("TOSCA27", "TOSCA27-0314", "FOSSE", "FOSSE")
        send(sftp, FileType.WITHDRAW, 5, places((*pit, 4), (*pit, 3)))
        partner.pickup()
        result_5 = tickets_frame(read(sftp, "/to_organiser/RESULT_00000005.csv"))
    assert result_5[["ERROR_CODE", "AVAILABLE"]].values.tolist() == [["Q06", "3"], ["", ""]]


def test_files_refused_whole_use_their_number(
    server: SandboxServer, partner: SecutixPartner
) -> None:
    with organiser(server) as sftp:
        name, data = send(sftp, FileType.OFFER, 1, catalogue())
        # F01: the control file's SHA-256 is another file's.
        built = build_file(FileType.CONTINGENT, 2, full_contingent())
        put(sftp, str(built.name), built.data)
        put(sftp, str(built.name.control), build_file(FileType.CONTINGENT, 2, {}).control)
        # F02: a field out of format, its control file right.
        bad = build_file(FileType.WITHDRAW, 3, places(*seats(1, 1)))
        data_3 = bad.data.replace(b";1\n", b";un\n")
        put(sftp, str(bad.name), data_3)
        put(
            sftp,
            str(bad.name.control),
            f"FILE_NAME;LINE_COUNT;SHA256\n{bad.name};1;{hashlib.sha256(data_3).hexdigest()}\n".encode(),
        )
        # File 5 waits for file 4.
        send(sftp, FileType.CONTINGENT, 5, full_contingent())
        answers = partner.pickup()
        assert [(a.file, a.status, a.codes) for a in answers] == [
            ("OFFER_00000001.csv", "OK", ()),
            ("CONTINGENT_00000002.csv", "REFUSED", ("F01",)),
            ("WITHDRAW_00000003.csv", "REFUSED", ("F02",)),
        ]
        assert sorted(sftp.listdir("/to_reseller")) == [
            "CONTINGENT_00000005.csv",
            "CONTINGENT_00000005.ctl",
            "done",
        ]
        refusal = read(sftp, "/to_organiser/RESULT_00000002.csv").decode().splitlines()
        assert refusal[1].startswith("0;KO;F01;;")
        # X99 on demand for file 4; file 5 follows.
        send(sftp, FileType.CONTINGENT, 4, full_contingent())
        answers = partner.pickup("technical-error")
        assert [(a.status, a.codes) for a in answers] == [("REFUSED", ("X99",)), ("OK", ())]
        # F03: the organiser sends file 1 again.
        put(sftp, name, data)
        put(sftp, name.replace(".csv", ".ctl"), build_file(FileType.OFFER, 1, catalogue()).control)
        [again] = partner.pickup()
        assert (again.status, again.codes) == ("REFUSED", ("F03",))
        assert partner.snapshot().last_processed == 5
        assert (
            read(sftp, "/to_organiser/RESULT_00000001.csv")
            .decode()
            .splitlines()[1]
            .startswith("0;KO;F03")
        )


# Selling, and the TICKETS files -------------------------------------------------------


def play(partner: SecutixPartner, clock: StepClock, ticks: int) -> list[str]:
    names = []
    for _ in range(ticks):
        clock.advance(minutes=15)
        names.append(partner.tick())
    return names


def test_tickets_files_pass_the_project_s_checker(
    server: SandboxServer, partner: SecutixPartner, clock: StepClock, tmp_path: Path
) -> None:
    with organiser(server) as sftp:
        set_up(sftp, partner)
        names = play(partner, clock, 12)
        names.append(partner.tick(orders=0, prints=0, cancellations=0, refunds=0, renames=0))
        landed = fetch(sftp, tmp_path / "landed", "/to_organiser")
    assert names == [f"TICKETS_{n:08d}.csv" for n in range(1, 14)]
    assert (landed / names[-1]).read_bytes().count(b"\n") == 1  # the header alone
    report = check_paths([landed])
    assert report.valid, [p.located() for p in report.problems]
    assert reseller_sync_main(["secutix", "check", str(landed)]) == 0

    frames = [tickets_frame((landed / name).read_bytes()) for name in names]
    every = pd.concat(frames, ignore_index=True)
    assert every["TICKET_STATE"].isin(["SOLD", "PRINTED", "CANCELLED", "REFUNDED"]).all()
    assert set(every["TICKET_STATE"]) >= {"SOLD", "PRINTED"}
    for frame in frames:
        assert not frame["BAR_CODE"].duplicated().any()
    # All the tickets of an order are in the file where the order first appears.
    first_file = every.groupby("BAR_CODE")["FILE_NUMBER"].min()
    per_order = every.assign(FIRST=every["BAR_CODE"].map(first_file)).groupby("ORDER_NUMBER")[
        "FIRST"
    ]
    assert (per_order.nunique() == 1).all()
    # Columns by kind (7.1), prices from the OFFER, refunds at most the price.
    kinds = {"TOSCA27": "EVENT", "MUSEE27": "VISIT_PASS", "PASS27": "UNDATED_PASS"}
    kind = every["PRODUCT_CODE"].map(kinds)
    assert set(kind) == {"EVENT", "VISIT_PASS", "UNDATED_PASS"}
    assert (every.loc[kind == "VISIT_PASS", "PASS_VALIDITY_END"] == "2027-04-03").all()
    assert (every.loc[kind == "UNDATED_PASS", "PASS_VALIDITY_END"] == "2027-12-31").all()
    assert (every.loc[kind == "EVENT", "SEAT"] != "").all()
    assert (every.loc[kind == "VISIT_PASS", "CURRENCY"] == "CHF").all()
    offer = catalogue().set_index(["PRODUCT_CODE", "SEATCAT_CODE", "TARIFF_CODE"])["PRICE"]
    keys = list(
        zip(every["PRODUCT_CODE"], every["SEATCAT_CODE"], every["TARIFF_CODE"], strict=True)
    )
    assert every["PRICE"].tolist() == [offer[key] for key in keys]
    refunded = every[every["TICKET_STATE"] == "REFUNDED"]
    assert (refunded["REFUND_AMOUNT"].astype(int) <= refunded["PRICE"].astype(int)).all()
    # Contacts are fake, and only from the web and the call centre.
    emails = every["CONTACT_EMAIL"][every["CONTACT_EMAIL"] != ""]
    assert emails.str.endswith("@" + CONTACT_EMAIL_DOMAIN).all()
    assert (
        every.loc[every["POINT_OF_SALE"].str.startswith("GUICHET"), "CONTACT_EMAIL"] == ""
    ).all()
    # The contingent holds: no seat sold twice, no more pit places than given.
    last = every.drop_duplicates("BAR_CODE", keep="last")
    valid = last[last["TICKET_STATE"].isin(["SOLD", "PRINTED"])]
    seated = valid[valid["SEAT"].str.contains("/")]
    assert not seated.duplicated(["PRODUCT_CODE", "PERFORMANCE_CODE", "SEAT"]).any()
    assert (valid["SEAT"] == "FOSSE").sum() <= 20


def test_a_ticket_sold_and_cancelled_between_two_files_appears_once(
    server: SandboxServer, partner: SecutixPartner, clock: StepClock, tmp_path: Path
) -> None:
    with organiser(server) as sftp:
        set_up(sftp, partner, places(*seats(1, 1)))
        clock.advance(minutes=15)
        partner.act(orders=1, prints=0, cancellations=0, refunds=0, renames=0)
        partner.act(orders=0, prints=1, cancellations=0, refunds=0, renames=0)
        partner.act(orders=0, prints=0, cancellations=0, refunds=1, renames=0)
        name = partner.write_tickets()
        landed = fetch(sftp, tmp_path / "landed", "/to_organiser")
    [line] = tickets_frame((landed / name).read_bytes()).to_dict("records")
    assert line["TICKET_STATE"] == "REFUNDED"
    assert line["SOLD_AT"] < line["STATE_CHANGED_AT"]
    assert int(line["REFUND_AMOUNT"]) in (6850, 6850 - 350, 5850, 5850 - 300)
    assert check_paths([landed]).valid


def test_the_opening_tickets_one_per_seat_category_and_tariff_then_refunded(
    server: SandboxServer, partner: SecutixPartner, clock: StepClock, tmp_path: Path
) -> None:
    """What the demo plays for an onboarding (section 10.1): one real ticket per seat
    category × tariff of the product, each its own order, then all refunded whole."""
    with organiser(server) as sftp:
        set_up(sftp, partner)
        clock.advance(minutes=15)
        partner.act(orders=1, prints=0, cancellations=0, refunds=0, renames=0)
        opened, sold = partner.open_the_sale("TOSCA27")
        clock.advance(minutes=1)
        refunded = partner.refund_tickets(sold)
        landed = fetch(sftp, tmp_path / "landed", "/to_organiser")
    lines = tickets_frame((landed / opened).read_bytes())
    opening = lines[lines["BAR_CODE"].isin(sold)]
    assert sorted(zip(opening["SEATCAT_CODE"], opening["TARIFF_CODE"], strict=True)) == [
        ("CAT1", "PLEIN"),
        ("CAT1", "REDUIT"),
        ("FOSSE", "ENFANT"),
        ("FOSSE", "PLEIN"),
    ]
    assert opening["ORDER_NUMBER"].is_unique
    assert (opening["TICKET_STATE"] == "SOLD").all()
    assert (opening["STATE_CHANGED_AT"] < stamp(clock.now)).all()
    back = tickets_frame((landed / refunded).read_bytes())
    assert sorted(back["BAR_CODE"]) == sorted(sold)
    assert (back["TICKET_STATE"] == "REFUNDED").all()
    assert (back["REFUND_AMOUNT"] == back["PRICE"]).all()
    assert check_paths([landed]).valid
    assert partner.open_the_sale("NOTHING") == ("TICKETS_00000003.csv", [])


def test_opening_tickets_wait_until_the_sale_has_been_open_long_enough(
    server: SandboxServer, partner: SecutixPartner, clock: StepClock, tmp_path: Path
) -> None:
    """Four opening tickets go a second apart before now: a sale opened just now refuses
    them all (none skipped in silence), and sells all four a few seconds later."""
    clock.now = datetime(2026, 12, 1, 10, 0, 2, tzinfo=LOCAL_TIME)  # the sale opened 2 s ago
    with organiser(server) as sftp:
        set_up(sftp, partner)
        with pytest.raises(SandboxError, match="opened too recently"):
            partner.open_the_sale("TOSCA27")
        clock.advance(seconds=5)
        opened, sold = partner.open_the_sale("TOSCA27")
        landed = fetch(sftp, tmp_path / "landed", "/to_organiser")
    assert len(sold) == 4
    lines = tickets_frame((landed / opened).read_bytes())
    assert sorted(lines["BAR_CODE"]) == sorted(sold)


def test_stock_is_consistent_with_the_tickets_files(
    server: SandboxServer, partner: SecutixPartner, clock: StepClock, tmp_path: Path
) -> None:
    with organiser(server) as sftp:
        set_up(sftp, partner)
        play(partner, clock, 6)
        partner.act(orders=2, prints=0, cancellations=0, refunds=0, renames=0)  # not written yet
        clock.now = datetime(2026, 12, 6, 2, 30, tzinfo=LOCAL_TIME)
        assert partner.stock_due()
        name = partner.write_stock()
        assert not partner.stock_due()
        landed = fetch(sftp, tmp_path / "landed", "/to_organiser")
    assert name == "STOCK_20261206.csv"
    report = check_paths([landed])
    assert report.valid, [p.located() for p in report.problems]
    stock = tickets_frame((landed / name).read_bytes())
    state = partner.snapshot()
    assert state.last_tickets == 7  # the changes since the 6th file, written first
    assert set(stock["TICKETS_FILE_NUMBER"]) == {"7"}
    assert set(stock["SNAPSHOT_AT"]) == {"2026-12-06T02:30:00+01:00"}
    given = stock.set_index(["PRODUCT_CODE", "PERFORMANCE_CODE", "SEATCAT_CODE"])["GIVEN"].to_dict()
    assert given == {
        ("MUSEE27", "MUSEE27-0403", "VISITE"): "12",
        ("PASS27", "", "LIBRE"): "15",
        ("TOSCA27", "TOSCA27-0314", "CAT1"): "10",
        ("TOSCA27", "TOSCA27-0314", "FOSSE"): "20",
    }
    sold = sum(1 for t in state.tickets.values() if t.valid)
    assert stock["SOLD"].astype(int).sum() == sold
    assert (
        stock["GIVEN"].astype(int) == stock["SOLD"].astype(int) + stock["AVAILABLE"].astype(int)
    ).all()
    # Built on the state after the last TICKETS file: what the files say, summed.
    every = pd.concat(
        [tickets_frame((landed / f"TICKETS_{n:08d}.csv").read_bytes()) for n in range(1, 8)]
    ).drop_duplicates("BAR_CODE", keep="last")
    assert every["TICKET_STATE"].isin(["SOLD", "PRINTED"]).sum() == sold


# Restart, determinism ------------------------------------------------------------------


def test_it_survives_a_restart_from_its_state_file(
    server: SandboxServer, partner: SecutixPartner, clock: StepClock, tmp_path: Path
) -> None:
    with organiser(server) as sftp:
        set_up(sftp, partner)
        play(partner, clock, 3)
        before = partner.snapshot()
        restarted = SecutixPartner(server.root, clock=clock, seed=11)
        assert restarted.snapshot() == before
        clock.advance(minutes=15)
        assert restarted.tick() == "TICKETS_00000004.csv"
        send(sftp, FileType.WITHDRAW, 3, places(("PASS27", "", "LIBRE", "", 1)))
        [answer] = SecutixPartner(server.root, clock=clock, seed=11).pickup()
        assert answer.result == "RESULT_00000003.csv"
        landed = fetch(sftp, tmp_path / "landed", "/to_organiser")
    assert check_paths([landed]).valid
    assert (server.root / ".secutix" / DEMO_USERNAME / "state.json").is_file()


def test_the_same_seed_and_clock_write_the_same_bytes(tmp_path: Path) -> None:
    written = []
    for run in ("a", "b"):
        clock = StepClock()
        with secutix_server(tmp_path / run, [demo_user()]) as running:
            partner = SecutixPartner(running.root, clock=clock, seed=3)
            with organiser(running) as sftp:
                set_up(sftp, partner)
                play(partner, clock, 8)
                clock.now = datetime(2026, 12, 6, 2, 31, tzinfo=LOCAL_TIME)
                partner.write_stock()
                landed = fetch(sftp, tmp_path / f"landed-{run}", "/to_organiser")
            written.append({p.name: p.read_bytes() for p in sorted(landed.iterdir())})
    assert written[0] == written[1]
    other = StepClock()
    with secutix_server(tmp_path / "c", [demo_user()]) as running:
        partner = SecutixPartner(running.root, clock=other, seed=4)
        with organiser(running) as sftp:
            set_up(sftp, partner)
        play(partner, other, 8)
        tickets = {
            p.name: p.read_bytes()
            for p in (running.root / DEMO_USERNAME / "to_organiser").iterdir()
            if p.is_file()
        }
    assert any(tickets[name] != written[0][name] for name in tickets if name.startswith("TICKETS"))
