"""``python -m reseller_sync secutix check``: folders as the organiser reads them, the output
format, the exit status, and no contact value in any output."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from secutix_samples import (
    CONTACT_VALUES,
    RESULT_00000006,
    STOCK_20261129,
    TICKETS_42,
    ticket_line,
    tickets,
    write,
)

from reseller_sync.cli import main
from reseller_sync.secutix.check import check_paths

GROUPS = {"secutix": "reseller_sync.secutix.cli"}
LOCATED = re.compile(
    r"^(?P<file>[^:]+):(?P<line>[0-9]+):(?P<column>[A-Z_]+|-): (?P<code>[A-Z][0-9]{2}) .+$"
)


def run(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, list[str]]:
    status = main(["secutix", "check", *map(str, paths)], command_groups=GROUPS)
    captured = capsys.readouterr()
    return status, captured.out.splitlines() + captured.err.splitlines()


def codes_in(paths: list[Path]) -> list[str]:
    report = check_paths(paths)
    return [p.code.value for o in report.outcomes for p in o.problems]


def numbered(number: int, *lines: str) -> str:
    return tickets(*(line.replace(";1;", f";{number};", 1) for line in lines))


def test_the_spec_examples_are_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "TICKETS_00000042.csv", TICKETS_42)
    write(tmp_path, "STOCK_20261129.csv", STOCK_20261129)
    write(tmp_path, "RESULT_00000006.csv", RESULT_00000006)
    (tmp_path / "OFFER_00000005.csv").write_text("ignored: the organiser's file\n")
    (tmp_path / "TICKETS_00000043.csv.part").write_text("an upload in progress\n")
    (tmp_path / "notes.txt").write_text("not a name of the contract\n")
    status, out = run(capsys, tmp_path)
    assert status == 0
    assert out == [
        f"{tmp_path}/TICKETS_00000042.csv: valid TICKETS file 42: 6 lines",
        f"{tmp_path}/STOCK_20261129.csv: valid STOCK file 2026-11-29: 3 lines",
        f"{tmp_path}/RESULT_00000006.csv: valid RESULT file 6: 4 lines",
    ]


def test_a_data_file_or_its_control_file_may_be_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write(tmp_path, "TICKETS_00000042.csv", TICKETS_42)
    assert run(capsys, data)[0] == 0
    assert run(capsys, tmp_path / "TICKETS_00000042.ctl")[0] == 0


def test_problems_are_printed_located_with_exit_status_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "TICKETS_00000001.csv", tickets(ticket_line(PRICE="68,50")))
    status, out = run(capsys, tmp_path)
    assert status == 1
    assert out == [
        f"{tmp_path}/TICKETS_00000001.csv:1:PRICE: T04 must be an amount in minor units: 0, "
        "or 1-9 followed by up to 8 digits (value '68,50')"
    ]
    assert LOCATED.match(out[0])


def test_unreadable_paths_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, tmp_path / "nowhere")
    assert status == 2
    assert out == [f"{tmp_path}/nowhere: cannot be read: no such file or folder"]
    (tmp_path / "OFFER_00000001.csv").write_text("x\n")
    status, out = run(capsys, tmp_path)
    assert status == 2
    assert out == [f"{tmp_path}: holds no TICKETS, STOCK or RESULT file: nothing to check"]


def test_a_missing_control_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "TICKETS_00000001.csv", tickets(ticket_line()), control=False)
    write(
        tmp_path,
        "TICKETS_00000002.csv",
        numbered(2, ticket_line(BAR_CODE="771200000418", ORDER_NUMBER="2")),
    )
    assert codes_in([tmp_path]) == ["T06"]


def test_the_last_file_without_its_control_file_waits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "TICKETS_00000001.csv", tickets(ticket_line()))
    write(tmp_path, "TICKETS_00000002.csv", tickets(ticket_line()), control=False)
    status, out = run(capsys, tmp_path)
    assert status == 0
    assert out[-1] == f"{tmp_path}/TICKETS_00000002.csv: waiting: its control file is not there yet"


def test_a_gap_in_the_numbering_stops_the_stream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path,
        "TICKETS_00000001.csv",
        tickets(ticket_line(STATE_CHANGED_AT="2026-11-28T14:00:00+01:00")),
    )
    write(
        tmp_path,
        "TICKETS_00000003.csv",
        numbered(3, ticket_line(STATE_CHANGED_AT="2026-11-28T13:30:00+01:00")),
    )
    status, out = run(capsys, tmp_path)
    assert status == 1
    assert out[1] == (
        f"{tmp_path}/TICKETS_00000002.csv:0:-: T06 TICKETS file 2 is missing while a later "
        "file is there: the stream waits here (T06 after 60 minutes)"
    )
    # Behind the gap, file 3 is checked on its own: its T12 against file 1 is not reported.
    assert out[2].endswith("(checked on its own: the stream waits at an earlier file)")


def test_a_repeated_name_with_other_content(tmp_path: Path) -> None:
    done = tmp_path / "done"
    done.mkdir()
    write(done, "TICKETS_00000001.csv", tickets(ticket_line()))
    write(tmp_path, "TICKETS_00000001.csv", tickets(ticket_line(PRICE="6851")))
    assert codes_in([tmp_path, done]) == ["T07"]
    write(tmp_path, "TICKETS_00000001.csv", tickets(ticket_line()))
    assert codes_in([tmp_path, done]) == []


ACROSS_FILES = [
    ("PRINTED then SOLD", {"TICKET_STATE": "PRINTED"}, {"TICKET_STATE": "SOLD"}, "T10"),
    (
        "REFUNDED then CANCELLED",
        {"TICKET_STATE": "REFUNDED", "REFUND_AMOUNT": "6000"},
        {"TICKET_STATE": "CANCELLED"},
        "T10",
    ),
    ("price changed", {}, {"PRICE": "6900"}, "T11"),
    ("seat changed", {}, {"SEAT": "PARTERRE/F/13"}, "T11"),
    (
        "refund amount changed",
        {"TICKET_STATE": "REFUNDED", "REFUND_AMOUNT": "6000"},
        {"TICKET_STATE": "REFUNDED", "REFUND_AMOUNT": "6100"},
        "T11",
    ),
    (
        "state changed earlier",
        {"STATE_CHANGED_AT": "2026-11-28T14:00:00+01:00"},
        {"TICKET_STATE": "PRINTED", "STATE_CHANGED_AT": "2026-11-28T13:59:59+01:00"},
        "T12",
    ),
    ("order in another currency", {}, {"BAR_CODE": "771200000999", "CURRENCY": "CHF"}, "T13"),
    ("new ticket of an earlier order", {}, {"BAR_CODE": "771200000999"}, "T22"),
]


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [pytest.param(a, b, c, id=f"{c}-{why}") for why, a, b, c in ACROSS_FILES],
)
def test_codes_across_files(
    tmp_path: Path, first: dict[str, str], second: dict[str, str], code: str
) -> None:
    write(tmp_path, "TICKETS_00000001.csv", tickets(ticket_line(**first)))
    write(tmp_path, "TICKETS_00000002.csv", tickets(ticket_line(FILE_NUMBER="2", **second)))
    assert codes_in([tmp_path])[0] == code


def test_an_order_in_another_currency_across_files_when_not_from_file_1(tmp_path: Path) -> None:
    write(tmp_path, "TICKETS_00000005.csv", numbered(5, ticket_line(FILE_NUMBER="5")))
    write(
        tmp_path,
        "TICKETS_00000006.csv",
        tickets(
            ticket_line(
                FILE_NUMBER="6", BAR_CODE="771200000999", SEAT="PARTERRE/F/13", CURRENCY="CHF"
            )
        ),
    )
    # Files 1 to 4 are not there: a new ticket of an earlier order (T22) cannot be told apart,
    # the currency can.
    assert codes_in([tmp_path]) == ["T13"]


@pytest.mark.parametrize(
    ("states", "valid"),
    [
        (["SOLD", "PRINTED", "PRINTED", "CANCELLED", "REFUNDED"], True),
        (["CANCELLED", "REFUNDED", "REFUNDED"], True),
        (["SOLD", "SOLD", "SOLD"], True),
        (["SOLD", "CANCELLED", "PRINTED"], False),
    ],
)
def test_the_state_machine_across_files(tmp_path: Path, states: list[str], valid: bool) -> None:
    for number, state in enumerate(states, start=1):
        refund = "100" if state == "REFUNDED" else ""
        minute = f"{number:02d}"
        write(
            tmp_path,
            f"TICKETS_{number:08d}.csv",
            tickets(
                ticket_line(
                    FILE_NUMBER=str(number),
                    TICKET_STATE=state,
                    REFUND_AMOUNT=refund,
                    STATE_CHANGED_AT=f"2026-11-28T14:{minute}:00+01:00",
                )
            ),
        )
    assert (codes_in([tmp_path]) == []) is valid


def test_after_a_bad_file_later_files_are_checked_on_their_own(tmp_path: Path) -> None:
    write(tmp_path, "TICKETS_00000001.csv", tickets(ticket_line()))
    write(tmp_path, "TICKETS_00000002.csv", tickets(ticket_line(FILE_NUMBER="3")))
    write(tmp_path, "TICKETS_00000003.csv", tickets(ticket_line(FILE_NUMBER="3", PRICE="6851")))
    assert codes_in([tmp_path]) == ["T05"]


def _noisy_files(folder: Path) -> None:
    """Files with every kind of problem, their lines full of contact values."""
    write(folder, "TICKETS_00000001.csv", TICKETS_42.replace(";42;", ";1;"))
    bad = [
        ticket_line(FILE_NUMBER="2", PRICE="x"),
        ticket_line(FILE_NUMBER="2", BAR_CODE="771200000420", TICKET_STATE="X"),
    ]
    write(folder, "TICKETS_00000002.csv", tickets(*bad))
    write(
        folder,
        "TICKETS_00000003.csv",
        tickets(ticket_line(FILE_NUMBER="3")).replace("h.dupre", 'h."dupre'),
    )
    write(
        folder,
        "TICKETS_00000004.csv",
        tickets(ticket_line(FILE_NUMBER="4")).replace("+33612345678;", "+33612345678;;"),
    )
    write(
        folder,
        "TICKETS_00000005.csv",
        tickets(ticket_line(FILE_NUMBER="5", TICKET_STATE="REFUNDED", COMMISSION="99999", SEAT="")),
    )
    write(
        folder,
        "TICKETS_00000006.csv",
        tickets(ticket_line(FILE_NUMBER="6")).replace("1002345", "1002345\r"),
    )


def test_no_contact_value_in_any_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _noisy_files(tmp_path)
    status, out = run(capsys, tmp_path)
    assert status == 1
    assert len(out) >= 6
    text = "\n".join(out)
    assert [value for value in CONTACT_VALUES if value in text] == []
    assert "dupre" not in text
    for line in out:
        assert LOCATED.match(line) or line.endswith("lines"), line


def test_a_seat_held_by_two_valid_tickets(tmp_path: Path) -> None:
    other = {"BAR_CODE": "771200000999", "ORDER_NUMBER": "300999"}
    write(tmp_path, "TICKETS_00000001.csv", tickets(ticket_line()))
    write(tmp_path, "TICKETS_00000002.csv", tickets(ticket_line(FILE_NUMBER="2", **other)))
    assert codes_in([tmp_path]) == ["T18"]


def test_a_seat_given_back_may_be_sold_again(tmp_path: Path) -> None:
    other = {"BAR_CODE": "771200000999", "ORDER_NUMBER": "300999"}
    write(tmp_path, "TICKETS_00000001.csv", tickets(ticket_line()))
    cancelled = ticket_line(
        FILE_NUMBER="2", TICKET_STATE="CANCELLED", STATE_CHANGED_AT="2026-11-28T14:00:00+01:00"
    )
    write(
        tmp_path, "TICKETS_00000002.csv", tickets(cancelled, ticket_line(FILE_NUMBER="2", **other))
    )
    assert codes_in([tmp_path]) == []
    # Free placement (a block alone) is counted against the contingent: not checked here.
    free = {"SEAT": "FOSSE", "SEATCAT_CODE": "FOSSE"}
    write(
        tmp_path,
        "TICKETS_00000003.csv",
        tickets(
            ticket_line(FILE_NUMBER="3", BAR_CODE="771200000501", ORDER_NUMBER="501", **free),
            ticket_line(FILE_NUMBER="3", BAR_CODE="771200000502", ORDER_NUMBER="502", **free),
        ),
    )
    assert codes_in([tmp_path]) == []


def test_a_result_answers_each_line_of_the_file_it_answers(tmp_path: Path) -> None:
    sent = tmp_path / "to_reseller"
    sent.mkdir()
    contingent = (
        "PRODUCT_CODE;PERFORMANCE_CODE;SEATCAT_CODE;SEAT;QUANTITY\n"
        "TOSCA27;TOSCA27-0314;CAT1;PARTERRE/F/12;1\n"
        "TOSCA27;TOSCA27-0314;CAT1;PARTERRE/F/13;1\n"
        "TOSCA27;TOSCA27-0314;FOSSE;FOSSE;300\n"
        "PASS27;;LIBRE;;500\n"
    )
    write(sent, "CONTINGENT_00000006.csv", contingent)
    received = tmp_path / "to_organiser"
    received.mkdir()
    write(received, "RESULT_00000006.csv", RESULT_00000006)
    assert codes_in([received, sent]) == []
    assert check_paths([received, sent]).valid
    write(received, "RESULT_00000006.csv", RESULT_00000006.rsplit("4;OK", 1)[0])
    assert codes_in([received, sent]) == ["T23"]
    assert codes_in([received]) == []  # without the file answered, its lines are not known
    write(
        received,
        "RESULT_00000006.csv",
        "LINE_NUMBER;STATUS;ERROR_CODE;AVAILABLE;MESSAGE\n0;KO;F01;;SHA-256\n",
    )
    assert codes_in([received, sent]) == []
