"""Files twice, files again under a new name, gaps and disorder: every ticket once, in order.

Pipeline level (land + integrate without Airflow) on SQLite and PostgreSQL; the
gap's alert is the watchdog's ``FNAC files late``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import FileState
from reseller_sync.domain.errors import ExternalError
from reseller_sync.exchange.transport import SftpTransport
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.watchdog import check_files_late
from tests.fnac.test_sales import DAY_PASS, line
from tests.reliability.conftest import World
from tests.reliability.implied import assert_box_office_holds


def day_pass_line(ticket: str, barcode: str) -> dict[str, object]:
    return line(
        1,
        id_billet=ticket,
        code_barre=barcode,
        **DAY_PASS,
    )


def hourly(world: World, hours: int, lines: int = 5, **options: str) -> list[str]:
    names = []
    for _ in range(hours):
        names.append(world.partner.emit_ventes(lines=lines, **options) or "")
        world.clock.advance(hours=1)
    return names


def test_the_same_file_listed_twice_is_landed_and_integrated_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = hourly(world, 2)
    listing = SftpTransport._list

    def listed_twice(self: SftpTransport, sftp: object) -> object:
        result = listing(self, sftp)  # type: ignore[arg-type]
        return dataclasses.replace(result, files=result.files + result.files)

    monkeypatch.setattr(SftpTransport, "_list", listed_twice)
    landing = world.land()
    assert sorted(n for n in landing.landed if n.startswith("VENTES")) == sorted(names + names), (
        "both copies are reported landed (the second as 'already landed')"
    )
    world.integrate()
    world.run()
    assert [world.states()[n] for n in names] == [FileState.INTEGRATED] * 2
    assert_box_office_holds(world.engine, world.files(*names))


def test_the_same_content_under_a_new_name_creates_nothing_twice(world: World) -> None:
    names = hourly(world, 2)
    world.run()
    # The very same bytes under a new name: kept in the journal, set aside.
    original = world.retour / names[0]
    copy = original.with_name(names[0].replace("_000001_", "_000009_"))
    copy.write_bytes(original.read_bytes())
    # FNAC's resend: the lines of the last file again, under the next SEQ and STAMP.
    resent = world.partner.emit_ventes(fault="resend") or ""
    world.clock.advance(hours=1)
    after = hourly(world, 1)

    landing = world.land()
    assert [name for name, _ in landing.ignored] == [copy.name]
    report = world.integrate()
    integrated = {f.name: f.outcome for f in report["VENTES"].files}
    assert integrated[resent].already_integrated == integrated[resent].lines > 0
    assert integrated[resent].tickets == 0
    states = world.states()
    assert states[copy.name] is FileState.IGNORED
    assert states[resent] is FileState.INTEGRATED
    assert_box_office_holds(world.engine, world.files(*names, resent, *after))


def test_a_gap_holds_the_files_behind_it_until_the_missing_one_arrives(world: World) -> None:
    before = hourly(world, 2)
    behind = world.partner.emit_ventes(lines=3, fault="gap") or ""  # SEQ 4: 3 never comes
    world.clock.advance(hours=1)
    world.run()
    assert world.states()[behind] is FileState.LANDED
    assert_box_office_holds(world.engine, world.files(*before))

    # The alert: the watchdog says which sequence is missing once the gap is an hour old.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    with Session(world.engine) as session, pytest.raises(ExternalError) as raised:
        check_files_late(session, world.settings, later)
    assert raised.value.message == "FNAC files late"
    assert any("VENTES sequence(s) 000003 missing" in p.reason for p in raised.value.problems)

    # FNAC sends the missing file: both are integrated, in order, once.
    missing = world.drop(
        FileType.VENTES,
        3,
        [day_pass_line("GAP000001", "881234567890")],
        hours=2,
    )
    report = world.run()
    assert [f.name for f in report["VENTES"].files] == [missing, behind]
    assert_box_office_holds(world.engine, world.files(*before, missing, behind))


def test_files_arriving_out_of_order_are_integrated_in_sequence_order(world: World) -> None:
    names = hourly(world, 3)
    first, second, third = (world.retour / name for name in names)
    held = {p: p.read_bytes() for p in (first, second)}
    for path in held:
        path.unlink()  # FNAC's files 1 and 2 are late: 3 arrives first
    world.run()
    assert world.states()[third.name] is FileState.LANDED
    assert_box_office_holds(world.engine, [])

    second.write_bytes(held[second])
    world.run()
    assert world.states()[second.name] is FileState.LANDED
    assert_box_office_holds(world.engine, [])

    first.write_bytes(held[first])
    report = world.run()
    assert [f.name for f in report["VENTES"].files] == names
    assert_box_office_holds(world.engine, world.files(*names))
