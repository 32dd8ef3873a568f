"""Issue 14: a reused sequence is refused and reported; a failed file set aside lets its type
go on from the next sequence (spec 9.5 and 9.6).

Pipeline level (land + integrate without Airflow) on SQLite and PostgreSQL, FNAC
played by the sandbox partner, alerts through a real SMTP sink; then the
reused sequence through the hourly DAG (``dag.test()``). Each ends with the box
office holding exactly what the files that should be integrated imply.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from typing import Any

import pytest
from sqlalchemy.orm import Session

from devtools.mailsink import MailSink, message_text
from reseller_sync.airflow.notifier import smtp_sender
from reseller_sync.boxoffice.db import session_scope
from reseller_sync.boxoffice.models import FileState
from reseller_sync.domain.errors import ExternalError
from reseller_sync.exchange import journal
from reseller_sync.fnac.names import FileName, FileType
from reseller_sync.fnac.writer import write_file
from reseller_sync.pipelines import inbound
from reseller_sync.pipelines.set_aside import set_aside_file
from tests.alerts.conftest import mail_sink  # noqa: F401 (fixture)
from tests.dags.conftest import _forget_dag_runs
from tests.fnac.test_sales import line
from tests.reliability.conftest import DagWorld, World, task_states
from tests.reliability.implied import assert_box_office_holds
from tests.reliability.test_dag_faults import expect_alert, some_sold_ticket, stamp
from tests.reliability.test_duplicates_and_order import day_pass_line


def publish(world: World, name: str, data: bytes) -> str:
    """Write a file into ``/retour/`` as FNAC does: ``NAME.part``, then rename."""
    part = world.retour / f"{name}.part"
    part.write_bytes(data)
    part.rename(world.retour / name)
    return name


def resend(world: World, seq: int, sources: list[bytes], created: dt.datetime) -> str:
    """FNAC's resend under ``seq``: the data lines of ``sources`` (whole files as FNAC wrote
    them) in one file, with its own header and trailer."""
    name = FileName.build(FileType.VENTES, "M0427", seq, created)
    body, count, control, columns = b"", 0, 0, b""
    for data in sources:
        columns_end = data.index(b"\r\n", data.index(b"\r\n") + 2) + 2
        columns = data[data.index(b"\r\n") + 2 : columns_end]
        trailer_start = data.rindex(b"\r\n", 0, len(data) - 2) + 2
        lines, total = data[trailer_start:-2].decode("ascii").split(";")[2:]
        body += data[columns_end:trailer_start]
        count, control = count + int(lines), control + int(total)
    header = (
        f"ENTETE;VENTES;1;M0427;{name.seq_text};{created.isoformat(timespec='seconds')};CP1252\r\n"
    )
    trailer = f"FIN;{name.seq_text};{count};{control}\r\n"
    return publish(world, str(name), header.encode() + columns + body + trailer.encode())


def sessions_of(world: World) -> Any:
    def open_session() -> AbstractContextManager[Session]:
        return session_scope(world.engine)

    return open_session


# --------------------------------------------------------------------------- spec 9.5


def test_a_truncated_file_set_aside_lets_fnacs_resend_and_the_files_behind_it_in_once(
    world: World,
    mail_sink: MailSink,  # noqa: F811
) -> None:
    """The whole scenario: VENTES 3 is truncated and fails; FNAC resends its lines under
    SEQ 4 with the lines of VENTES 2, integrated already; VENTES 5 comes; 4 and 5 wait
    behind 3 until a person sets it aside; then 4 and 5 go in, in order, nothing twice."""
    first = [world.partner.emit_ventes(lines=4) or "" for _ in range(2)]
    world.clock.advance(hours=1)
    world.run()
    truncated = world.partner.emit_ventes(lines=3, fault="truncated") or ""
    world.clock.advance(hours=1)
    with pytest.raises(ExternalError) as raised:
        world.run()
    assert raised.value.file == truncated

    # FNAC sends the lines again under the next SEQ (its own copy of the file, whole), and
    # with them those of VENTES 2: lines integrated already must be recognised.
    resent = resend(
        world,
        4,
        [(world.retour / first[1]).read_bytes(), world.partner.store.copy_of(truncated)],
        world.clock.now,
    )
    behind = world.drop(FileType.VENTES, 5, [day_pass_line("NEXT00001", "881234567891")], hours=3)
    for _attempt in range(2):
        with pytest.raises(ExternalError):
            world.run()
        states = world.states()
        assert (states[truncated], states[resent], states[behind]) == (
            FileState.FAILED,
            FileState.LANDED,
            FileState.LANDED,
        ), "the cascade guard holds them"
        assert_box_office_holds(world.engine, world.files(*first))

    outcome, alert = set_aside_file(
        sessions_of(world),
        world.settings,
        truncated,
        reason="truncated by FNAC; its lines came again in " + resent,
        by="alice",
        send=smtp_sender(),
    )

    assert (outcome.ready, outcome.by) == ((resent, behind), "alice")
    entry = world.entry(truncated)
    assert (entry.state, entry.set_aside_by) == (FileState.SET_ASIDE, "alice")
    assert entry.set_aside_reason == f"truncated by FNAC; its lines came again in {resent}"
    assert alert.delivered
    [mail] = mail_sink.messages()
    assert mail["Subject"] == f"[FNAC] Erreur externe — mis de côté par alice — {truncated}"
    text = message_text(mail)
    assert f"alice a mis de côté le fichier {truncated}" in text
    assert f"its lines came again in {resent}" in text
    assert "Relancez (Clear) la tâche en échec dans Airflow (fnac_inbound)" in text

    report = world.run()
    integrated = {f.name: f.outcome for f in report["VENTES"].files}
    assert list(integrated) == [resent, behind], "in sequence order"
    assert integrated[resent].already_integrated == 4, "VENTES 2's lines, recognised"
    assert integrated[resent].tickets == 3, "the truncated file's lines, once"
    assert world.states()[truncated] is FileState.SET_ASIDE
    assert_box_office_holds(world.engine, world.files(*first, resent, behind))
    again = world.run()
    assert not again["VENTES"].files, "nothing twice"


# --------------------------------------------------------------------------- spec 9.6


def test_a_reused_sequence_is_refused_reported_once_and_its_resend_integrated(
    world: World,
) -> None:
    """FNAC uses SEQ 1 twice with other lines: the second file is not processed, the alert
    names it once, and its lines arrive when FNAC resends them under a new SEQ."""
    first = world.partner.emit_ventes(lines=4) or ""
    world.clock.advance(hours=1)
    world.run()
    lost_lines = [day_pass_line("REUSED001", "881234567892")]
    reused = world.drop(FileType.VENTES, 1, lost_lines, hours=1)
    second = world.partner.emit_ventes(lines=2) or ""

    landing = world.land()

    assert [name for name, _ in landing.reused_sequences] == [reused]
    assert landing.ignored == ()
    assert "reused_sequences" in landing.summary()
    report = world.integrate()
    assert [f.name for f in report["VENTES"].files] == [second], "the others go on"
    assert world.states()[reused] is FileState.SEQUENCE_REUSED
    assert_box_office_holds(world.engine, world.files(first, second))

    with pytest.raises(ExternalError) as raised:
        inbound.check_refused_files(world.engine, "fnac")
    error = raised.value
    assert error.file == reused
    assert "already used by another file" in error.message
    assert [p.file for p in error.problems] == [reused]
    assert f"already used by {first}" in error.problems[0].reason
    assert error.action == inbound.reused_sequence_action("fnac")
    assert "E02" in error.action.render("en", "FNAC")
    inbound.check_refused_files(world.engine, "fnac")  # once: the next run says nothing more

    # A refusal of the server and a reused sequence in one run: one error names both.
    again = world.drop(FileType.VENTES, 2, lost_lines, hours=2)
    world.land()
    with pytest.raises(ExternalError) as both:
        inbound.check_refused_files(world.engine, "fnac", ["..evil: unsafe name"])
    assert both.value.file is None
    assert [p.file for p in both.value.problems] == [again, None]
    assert "not downloaded" in both.value.message

    # FNAC sends the lost lines again under a new sequence: integrated, once.
    resent = world.drop(FileType.VENTES, 3, lost_lines, hours=3)
    report = world.run()
    assert [f.name for f in report["VENTES"].files] == [resent]
    assert_box_office_holds(world.engine, world.files(first, second, resent))


# --------------------------------------------------------------------------- the hourly DAG


@pytest.mark.timeout(240)
def test_the_hourly_dag_fails_report_refused_files_once_for_a_reused_sequence(
    dag_world: DagWorld,
) -> None:
    good = dag_world.partner.emit_ventes(lines=5) or ""
    sold = some_sold_ticket(dag_world, good)
    record = line(1, id_billet="R000000001", id_vente="R000000001", date_seance=sold["date_seance"])
    name, data = write_file(FileType.VENTES, "M0427", 1, [record], created=stamp(dag_world))
    (dag_world.retour / name).write_bytes(data)

    run = dag_world.run()

    states = task_states(run)
    assert states["report_refused_files"] == "failed", states
    assert states["integrate_sales"] == "success"
    assert states["land_files"] == "success"
    expect_alert(dag_world, "external", "report_refused_files", name)
    text = message_text(dag_world.base.mail.messages()[0])
    assert "E02" in text
    assert f"already used by {good}" in text
    assert_box_office_holds(dag_world.engine, dag_world.files(good))

    _forget_dag_runs()
    rerun = dag_world.run()
    assert str(rerun.state) == "success", task_states(rerun)
    assert len(dag_world.base.mail.messages()) == 1, "reported once"
    with Session(dag_world.engine) as session:
        assert journal.take_refusals_to_alert(session, "fnac") == []
