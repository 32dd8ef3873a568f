"""The buyer's contact details appear nowhere (spec 7.1); partner values stay text.

- Redaction of the journal's bytes (``reseller_sync.fnac.redaction``, used by
  ``journal.land``): every buyer field emptied, the file otherwise the same.
- A realistic day through the hourly DAG, then a search of the whole database,
  every log, the journal and every e-mail for the sandbox's buyer e-mails, phones
  and addresses.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import logging
import os
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, LargeBinary, MetaData, select
from sqlalchemy.orm import Session

from devtools.sandboxes.fnac.state import BuyerContacts
from reseller_sync.alerts.compose import compose_alert
from reseller_sync.boxoffice.models import Alert, ExchangeFile, FileState
from reseller_sync.domain.errors import ErrorCategory, ExternalError, Problem
from reseller_sync.exchange import journal
from reseller_sync.exchange.transport import LandedFile
from reseller_sync.fnac.codec import FileFormatError, read_file
from reseller_sync.fnac.inbound_files import FnacInboundFiles
from reseller_sync.fnac.names import FileName, FileType
from reseller_sync.fnac.redaction import UnredactableFileError, redact_buyer_contacts
from reseller_sync.fnac.sale_sheet import build_sale_sheet, render_sale_sheet
from reseller_sync.fnac.sales import RESELLER
from reseller_sync.pipelines import inbound
from tests.reliability.conftest import SALES_OPEN, DagWorld, World, task_states
from tests.reliability.implied import assert_box_office_holds


def buyer_values(contacts: BuyerContacts) -> list[str]:
    values = [*contacts.emails, *contacts.phones, *contacts.addresses]
    assert len(values) >= 3
    return values


def leaks(text: str, values: list[str]) -> list[str]:
    """The buyer values found in ``text``, as written or HTML-escaped."""
    return [
        v for v in values if v in text or html.escape(v) in text or html.escape(v, False) in text
    ]


def as_text(data: bytes) -> str:
    return data.decode("cp1252", errors="replace") + "\n" + data.decode("utf-8", errors="replace")


def landed_file(name: str, data: bytes) -> LandedFile:
    return LandedFile(name, data, len(data), hashlib.sha256(data).hexdigest(), FileName.parse(name))


# Redaction of a file's bytes --------------------------------------------------------


def test_redaction_empties_every_buyer_field_and_keeps_the_rest(world: World) -> None:
    name = world.partner.emit_ventes(lines=40) or ""
    data = (world.retour / name).read_bytes()
    values = buyer_values(world.partner.buyer_contacts)
    assert leaks(as_text(data), values), "the partner wrote buyer contacts"
    assert any(";" in a or '"' in a for a in world.partner.buyer_contacts.addresses)

    redacted = redact_buyer_contacts(name, data)

    assert leaks(as_text(redacted), values) == []
    original, kept = read_file(name, data), read_file(name, redacted)
    assert (kept.envelope.count, kept.envelope.control) == (40, original.envelope.control)
    pd.testing.assert_frame_equal(kept.frame, original.frame)
    assert redacted.count(b"\r\n") == data.count(b"\r\n")


def test_redaction_of_broken_files_still_finds_every_buyer_field(world: World) -> None:
    values: list[str] = []
    for fault in ("truncated", "wrong-encoding"):
        name = world.partner.emit_ventes(lines=12, fault=fault) or ""
        data = (world.retour / name).read_bytes()
        values = buyer_values(world.partner.buyer_contacts)
        redacted = redact_buyer_contacts(name, data)
        assert leaks(as_text(redacted), values) == [], fault
        with pytest.raises(FileFormatError):
            read_file(name, redacted)  # still refused, as the original
    # A quote left open (a corrupt file): the fields from the first buyer column on go.
    name = world.partner.emit_ventes(lines=5) or ""
    data = (world.retour / name).read_bytes()
    broken = data.replace(b";FR", b';"FR', 1)
    assert (
        leaks(
            as_text(redact_buyer_contacts(name, broken)), buyer_values(world.partner.buyer_contacts)
        )
        == []
    )
    # The header lost: the column line is the first line.
    headless = data[data.index(b"\r\n") + 2 :]
    assert leaks(as_text(redact_buyer_contacts(name, headless)), values) == []


def test_other_types_are_stored_as_they_are(world: World) -> None:
    world.partner.emit_ventes(lines=3)
    name = world.partner.emit_annul(count=1) or ""
    data = (world.retour / name).read_bytes()
    assert redact_buyer_contacts(name, data) is data


def test_a_file_whose_columns_cannot_be_located_is_kept_without_its_bytes(world: World) -> None:
    name = world.partner.emit_ventes(lines=3) or ""
    data = (world.retour / name).read_bytes()
    lines = data.split(b"\r\n")
    mangled = b"\r\n".join([lines[0], b"garbage", *lines[2:]])  # no column line
    with pytest.raises(UnredactableFileError, match="line 3 may be a record"):
        redact_buyer_contacts(name, mangled)

    with Session(world.engine) as session, session.begin():
        outcome = journal.land(session, RESELLER, landed_file(name, mangled))
    entry = world.entry(name)
    assert (outcome.state, entry.state, entry.content) == (FileState.FAILED, FileState.FAILED, b"")
    assert (entry.size, entry.sha256) == (len(mangled), hashlib.sha256(mangled).hexdigest())
    assert "cannot be located" in (entry.error_message or "")
    with pytest.raises(ExternalError, match="cannot be located"):
        inbound.integrate_pending(
            world.engine,
            world.settings,
            FnacInboundFiles(world.settings, world.repository),
            FileType.VENTES,
        )
    assert "cannot be located" in (world.entry(name).error_message or "")
    assert_box_office_holds(world.engine, [])


def test_the_journal_keeps_redacted_bytes_and_the_original_checksum(world: World) -> None:
    names = [world.partner.emit_ventes(lines=6) or "" for _ in range(2)]
    values = buyer_values(world.partner.buyer_contacts)
    world.run()
    for name in names:
        data = (world.retour / name).read_bytes()
        entry = world.entry(name)
        assert entry.state is FileState.INTEGRATED
        assert (entry.size, entry.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        assert leaks(as_text(entry.content), values) == []
    # The same original bytes under another name are still recognised as a duplicate.
    copy = world.retour / names[0].replace("_000001_", "_000007_")
    copy.write_bytes((world.retour / names[0]).read_bytes())
    assert [n for n, _ in world.land().ignored] == [copy.name]
    assert_box_office_holds(world.engine, world.files(*names))


# A realistic day, searched --------------------------------------------------------------


def database_text(engine: Engine) -> str:
    """Every value of every row of every table, as text (bytes decoded both ways)."""
    metadata = MetaData()
    metadata.reflect(engine)
    parts: list[str] = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        parts.append(as_text(bytes(value)))
                    elif value is not None:
                        parts.append(str(value))
    assert any(isinstance(c.type, LargeBinary) for c in ExchangeFile.__table__.columns)
    return "\n".join(parts)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_realistic_day_leaves_no_buyer_contact_anywhere(
    dag_world: DagWorld,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    partner, clock = dag_world.partner, dag_world.clock
    sales: list[str] = []
    other: list[str] = []
    for hour in range(5):
        sales.append(partner.emit_ventes(lines=8) or "")
        clock.advance(minutes=10)
        if hour in (1, 3):
            other.append(partner.emit_annul(count=2) or "")
        if hour == 2:
            other.append(partner.emit_catcli(add={"31": "Carte Fnac+ Jeunes"}) or "")
        clock.advance(minutes=10)
        run = dag_world.run()
        assert str(run.state) == "success", task_states(run)
    # The last hour: a sale at a category no tariff stands for stops the sales (mapping).
    sales.append(partner.emit_ventes(lines=4, fault="new-category") or "")
    run = dag_world.run()
    states = task_states(run)
    assert states["integrate_sales"] == "failed", states
    values = buyer_values(partner.buyer_contacts)
    assert len(values) > 20

    found: dict[str, list[str]] = {}
    found["database (journal included)"] = leaks(database_text(dag_world.engine), values)
    logs = Path(os.environ["AIRFLOW_HOME"]) / "logs"
    log_text = (
        "\n".join(as_text(p.read_bytes()) for p in logs.rglob("*") if p.is_file())
        if logs.exists()
        else ""
    )
    captured = capfd.readouterr()
    found["logs"] = leaks("\n".join([log_text, caplog.text, captured.out, captured.err]), values)
    mails = dag_world.base.mail.messages()
    assert mails, "the new category and the stuck file were mailed"
    found["e-mails"] = leaks("\n".join(as_text(m.as_bytes()) for m in mails), values)
    assert found == {k: [] for k in found}, found

    # The box office holds the sales of the files before the stuck one, each once.
    with Session(dag_world.engine) as session:
        integrated = set(
            session.scalars(
                select(ExchangeFile.name).where(ExchangeFile.state == FileState.INTEGRATED)
            )
        )
        alerts = session.scalars(select(Alert.category)).all()
    assert "mapping" in alerts
    assert_box_office_holds(
        dag_world.engine,
        dag_world.files(
            *sorted((n for n in sales + other if n in integrated), key=lambda n: (n[0] == "A", n))
        ),
    )


# Partner values stay text in e-mails and reports ----------------------------------------


def test_a_beneficiary_called_script_stays_text_in_the_alert() -> None:
    hostile = '<script>alert("x")</script>'
    message = compose_alert(
        category=ErrorCategory.EXTERNAL,
        kind="task_failure",
        title="fnac_inbound.integrate_sales",
        message=f"ticket of {hostile}",
        language="fr",
        reseller="FNAC",
        problems=[
            Problem("bad", file="VENTES_x.csv", line=1, column="nom_beneficiaire", value=hostile)
        ],
        file_name="VENTES_M0427_000001_20261128120500.csv",
    )
    assert "<script>" not in message.html
    assert "&lt;script&gt;" in message.html


def test_partner_and_box_office_values_stay_text_in_the_sale_sheet(world: World) -> None:
    hostile = '<script>alert("x")</script>'
    with Session(world.engine) as session:
        sheet = build_sale_sheet(session, world.settings, "EVT-LUMEN", sales_open=SALES_OPEN)
    records = sheet.records.assign(libelle_tarif=hostile)
    page = render_sale_sheet(
        dataclasses.replace(sheet, product_name=hostile, venue=hostile, records=records)
    )
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
