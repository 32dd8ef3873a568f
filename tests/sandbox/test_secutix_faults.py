"""The faults the SecuTix sandbox injects on demand, each giving its code when the organiser
reads the file (secutix-reseller-v1 section 10.2), and the replacement of a file after an
external error (section 3 point 7).

Codes that need the organiser's box office (``T13`` to ``T17``, ``T18`` against the
contingent) are invisible to the codec's checker: for those the tests find the faulty
value in the file instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import paramiko
import pytest

from devtools.sandboxes.secutix import (
    FAULT_CODES,
    Fault,
    SandboxError,
    SecutixPartner,
    secutix_server,
)
from devtools.sandboxes.sftp import SandboxServer, demo_user
from reseller_sync.cli import main as reseller_sync_main
from reseller_sync.secutix.check import check_paths
from reseller_sync.secutix.errors import Code
from reseller_sync.secutix.names import FileType
from tests.sandbox.test_secutix_sandbox import (
    StepClock,
    catalogue,
    fetch,
    full_contingent,
    organiser,
    places,
    read,
    send,
    set_up,
    tickets_frame,
)


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


@pytest.fixture
def session(server: SandboxServer) -> Iterator[paramiko.SFTPClient]:
    with organiser(server) as sftp:
        yield sftp


@pytest.fixture
def sold(session: paramiko.SFTPClient, partner: SecutixPartner, clock: StepClock) -> SecutixPartner:
    """The reseller holds the catalogue and its contingent, and wrote TICKETS file 1: three
    orders, one of them cancelled."""
    set_up(session, partner)
    clock.advance(minutes=15)
    partner.tick(orders=3, prints=1, cancellations=1, refunds=0, renames=0)
    clock.advance(minutes=15)
    return partner


def codes(session: paramiko.SFTPClient, folder: Path, *remote: str) -> list[Code]:
    """The codes the checker finds in the remote folders (each downloaded on its own)."""
    folders = [
        fetch(session, folder / where.strip("/").replace("/", "-"), where)
        for where in remote or ("/to_organiser",)
    ]
    return [p.code for p in check_paths(folders).problems]


CHECKED = [
    Fault.CONTROL_INVALID,
    Fault.SHA256,
    Fault.LINE_COUNT,
    Fault.SYNTAX,
    Fault.FILE_NUMBER,
    Fault.GAP,
    Fault.DUPLICATE_BARCODE,
    Fault.UNKNOWN_STATE,
    Fault.REVIVED,
    Fault.IMMUTABLE_CHANGED,
    Fault.TIME_BACK,
    Fault.SEAT_TWICE,
    Fault.KIND_COLUMNS,
    Fault.REFUND_ABOVE_PRICE,
    Fault.OLD_ORDER,
]


@pytest.mark.parametrize("fault", CHECKED, ids=str)
def test_a_tickets_fault_gives_its_code(
    fault: Fault, sold: SecutixPartner, session: paramiko.SFTPClient, tmp_path: Path
) -> None:
    assert codes(session, tmp_path / "before") == []
    name = sold.tick(orders=0, prints=0, cancellations=0, refunds=0, renames=0, fault=fault)
    found = codes(session, tmp_path / "after")
    assert found, name
    assert found[0] == FAULT_CODES[fault], found


def test_the_syntax_fault_of_an_empty_file_names_a_column_twice(
    sold: SecutixPartner, session: paramiko.SFTPClient, tmp_path: Path
) -> None:
    sold.write_tickets()
    name = sold.write_tickets(Fault.SYNTAX)
    assert read(session, f"/to_organiser/{name}").count(b"\n") == 1
    assert codes(session, tmp_path / "landed") == [Code.T04]


@pytest.mark.parametrize(
    ("fault", "column", "faulty"),
    [
        (Fault.UNKNOWN_PRODUCT, "PRODUCT_CODE", "INCONNU27"),
        (Fault.UNKNOWN_TARIFF, "TARIFF_CODE", "ETUDIANT"),
        (Fault.UNKNOWN_SEAT, "SEAT", "LOGE/Z/99"),
    ],
    ids=str,
)
def test_faults_the_box_office_sees_are_in_the_file(
    fault: Fault,
    column: str,
    faulty: str,
    sold: SecutixPartner,
    session: paramiko.SFTPClient,
    tmp_path: Path,
) -> None:
    name = sold.tick(orders=0, prints=0, cancellations=0, refunds=0, renames=0, fault=fault)
    lines = tickets_frame(read(session, f"/to_organiser/{name}"))
    assert faulty in set(lines[column])
    assert codes(session, tmp_path / "landed") == []  # the checker has no box office


def test_price_and_currency_faults_differ_from_the_offer(
    sold: SecutixPartner, session: paramiko.SFTPClient, tmp_path: Path
) -> None:
    offer = catalogue()
    prices = offer.set_index(["PRODUCT_CODE", "SEATCAT_CODE", "TARIFF_CODE"])["PRICE"].astype(int)
    currency = offer.drop_duplicates("PRODUCT_CODE").set_index("PRODUCT_CODE")["CURRENCY"]
    for fault in (Fault.PRICE, Fault.CURRENCY):
        name = sold.tick(orders=1, prints=0, cancellations=0, refunds=0, renames=0, fault=fault)
        lines = tickets_frame(read(session, f"/to_organiser/{name}"))
        keys = zip(lines["PRODUCT_CODE"], lines["SEATCAT_CODE"], lines["TARIFF_CODE"], strict=True)
        off_price = lines["PRICE"].astype(int) != [prices[key] for key in keys]
        off_currency = lines["CURRENCY"] != lines["PRODUCT_CODE"].map(currency)
        wrong = off_price if fault is Fault.PRICE else off_currency
        assert wrong.sum() == 1, fault
    # The checker sees a currency only when it differs within an order.
    assert set(codes(session, tmp_path / "landed")) <= {Code.T13}


def test_a_data_file_without_its_control_file(
    sold: SecutixPartner, session: paramiko.SFTPClient, tmp_path: Path
) -> None:
    held = sold.write_tickets(Fault.WITHHOLD_CONTROL)
    assert codes(session, tmp_path / "waiting") == []  # the last file: it waits
    assert sold.snapshot().sent_file(held) is not None
    sold.write_tickets()
    assert codes(session, tmp_path / "later") == [Code.T06]
    assert sold.release() == [held.replace(".csv", ".ctl")]
    assert codes(session, tmp_path / "released") == []


def test_a_number_sent_again_with_other_content(
    sold: SecutixPartner, session: paramiko.SFTPClient, tmp_path: Path
) -> None:
    # The organiser applied file 1 and moved it to done/, data file first.
    for name in ("TICKETS_00000001.csv", "TICKETS_00000001.ctl"):
        session.posix_rename(f"/to_organiser/{name}", f"/to_organiser/done/{name}")
    sold.write_tickets(Fault.REUSED_NUMBER)
    both = codes(session, tmp_path / "landed", "/to_organiser", "/to_organiser/done")
    assert both == [Code.T07]


def test_stock_and_result_faults(
    sold: SecutixPartner, session: paramiko.SFTPClient, clock: StepClock, tmp_path: Path
) -> None:
    sold.write_stock(Fault.INCONSISTENT_STOCK)
    assert codes(session, tmp_path / "stock") == [Code.T21]
    sold.replace("STOCK_20261205.csv")
    clock.advance(days=1)
    sold.write_stock(Fault.CONTROL_INVALID)
    assert codes(session, tmp_path / "stock-control") == [Code.T01]
    sold.replace("STOCK_20261206.csv")

    send(session, FileType.WITHDRAW, 3, places(("PASS27", "", "LIBRE", "", 1)))
    sold.pickup(Fault.RESULT_LINES)
    remote = ("/to_organiser", "/to_reseller/done")
    assert codes(session, tmp_path / "result", *remote) == [Code.T23]
    sold.replace("RESULT_00000003.csv")
    send(session, FileType.CONTINGENT, 4, full_contingent())
    sold.pickup(Fault.SHA256)
    assert codes(session, tmp_path / "result-sha", *remote) == [Code.T02]
    sold.replace("RESULT_00000004.csv")
    assert codes(session, tmp_path / "replaced", *remote) == []

    orphan = sold.write_orphan_result()
    assert orphan == "RESULT_00001004.csv"  # the organiser sent files 1 to 4 only
    assert sold.snapshot().last_processed == 4


def test_a_file_is_replaced_after_an_external_error(
    sold: SecutixPartner, session: paramiko.SFTPClient, tmp_path: Path
) -> None:
    name = sold.tick(orders=2, prints=0, cancellations=0, refunds=0, renames=0, fault="price")
    faulty = read(session, f"/to_organiser/{name}")
    assert sold.replace(name) == name
    intact = read(session, f"/to_organiser/{name}")
    assert intact != faulty
    control = read(session, f"/to_organiser/{name.replace('.csv', '.ctl')}").decode()
    lines = intact.count(b"\n") - 1
    assert control.splitlines()[1] == f"{name};{lines};{hashlib.sha256(intact).hexdigest()}"
    assert codes(session, tmp_path / "landed") == []
    assert not [n for n in session.listdir("/to_organiser") if n.endswith(".part")]

    gap = sold.write_tickets(Fault.GAP)
    with pytest.raises(SandboxError, match="mends nothing"):
        sold.replace(gap)
    for moved in (name, name.replace(".csv", ".ctl")):
        session.posix_rename(f"/to_organiser/{moved}", f"/to_organiser/done/{moved}")
    with pytest.raises(SandboxError, match="applied"):
        sold.replace(name)


def test_faults_that_need_an_earlier_ticket_say_so(
    session: paramiko.SFTPClient, partner: SecutixPartner
) -> None:
    set_up(session, partner)
    with pytest.raises(SandboxError, match="no TICKETS file"):
        partner.write_tickets(Fault.REVIVED)
    with pytest.raises(SandboxError, match="does not concern"):
        partner.write_stock(Fault.PRICE)
    assert partner.snapshot().last_tickets == 0  # nothing saved


def test_every_fault_is_named_with_its_code() -> None:
    assert set(FAULT_CODES) == set(Fault)
    contract = {f"T{n:02d}" for n in range(1, 24)} | {"X99"}
    assert {code.value for code in FAULT_CODES.values()} == contract
    assert pd.Series([f.value for f in Fault]).is_unique


def test_no_contact_value_reaches_the_checker_s_output(
    sold: SecutixPartner,
    session: paramiko.SFTPClient,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for fault in (Fault.DUPLICATE_BARCODE, Fault.SYNTAX, Fault.KIND_COLUMNS):
        sold.tick(orders=2, fault=fault)
    landed = fetch(session, tmp_path / "landed", "/to_organiser")
    text = b"".join(p.read_bytes() for p in landed.iterdir()).decode()
    contacts = sold.contact_values()
    assert contacts
    assert any(value in text for value in contacts)  # the reseller sends them...
    capsys.readouterr()
    assert reseller_sync_main(["secutix", "check", str(landed)]) == 1
    out = capsys.readouterr().out
    assert "T08" in out
    assert not [value for value in contacts if value in out]  # ...the organiser drops them
