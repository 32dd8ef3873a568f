"""File names (spec section 4, ACK names of 7.6) and sequences (section 9)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reseller_sync.fnac.errors import FileFormatError, FileWriteError
from reseller_sync.fnac.names import (
    FNAC_TYPES,
    ORGANISER_TYPES,
    FileName,
    FileType,
    ack_name,
    sequence_status,
)


def test_parse_and_print() -> None:
    name = FileName.parse("VENTES_M0427_000042_20261128130503.csv")

    assert (name.type, name.manager, name.seq) == (FileType.VENTES, "M0427", 42)
    assert name.stamp == datetime(2026, 11, 28, 13, 5, 3, tzinfo=UTC)
    assert str(name) == "VENTES_M0427_000042_20261128130503.csv"


def test_ack_name_takes_type_ack_and_the_seq_of_the_answered_file() -> None:
    ack = FileName.parse("ACK_PLACES_M0427_000007_20261128130003.csv")

    assert ack.type is FileType.ACK
    assert ack.seq == 7
    assert ack.answered == FileName.parse("PLACES_M0427_000007_20261128130003.csv")
    assert ack == ack_name("PLACES_M0427_000007_20261128130003.csv")
    assert str(ack) == "ACK_PLACES_M0427_000007_20261128130003.csv"


def test_types_know_their_sender_and_folder() -> None:
    assert {FileType.FICHE, FileType.PLACES, FileType.DECONT} == ORGANISER_TYPES
    assert FileType.ACK in FNAC_TYPES
    assert FileType.PLACES.folder == "depot"
    assert FileType.VENTES.folder == "retour"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("VENTES_M0427_000042_20261128130503.csv.part", "still being uploaded"),
        ("VENTES_M0427_000042.csv", "TYPE_MANAGER_SEQ_STAMP"),
        ("VENTE_M0427_000042_20261128130503.csv", "unknown file type"),
        ("VENTES_M427_000042_20261128130503.csv", "manager code"),
        ("VENTES_M0427_42_20261128130503.csv", "SEQ"),
        ("VENTES_M0427_000000_20261128130503.csv", "SEQ"),
        ("VENTES_M0427_000042_20261328130503.csv", "stamp"),
        ("ACK_VENTES_M0427_000042_20261128130503.csv", "organiser files only"),
        ("ACK_ACK_PLACES_M0427_000007_20261128130003.csv", "TYPE_MANAGER_SEQ_STAMP"),
        ("ventes_M0427_000042_20261128130503.csv", "TYPE_MANAGER_SEQ_STAMP"),
    ],
)
def test_bad_names_are_refused(name: str, reason: str) -> None:
    with pytest.raises(FileFormatError) as raised:
        FileName.parse(name)

    assert any(reason in problem.reason for problem in raised.value.problems)
    assert all(problem.file == name and problem.line == 0 for problem in raised.value.problems)


def test_building_an_invalid_name_is_our_bug() -> None:
    with pytest.raises(FileWriteError):
        FileName.build(FileType.PLACES, "M42", 1)
    with pytest.raises(FileWriteError):
        FileName.build(FileType.PLACES, "M0427", 1_000_000)
    with pytest.raises(FileWriteError):
        FileName.build(FileType.ACK, "M0427", 1)


@settings(max_examples=50)
@given(
    file_type=st.sampled_from([t for t in FileType if t is not FileType.ACK]),
    manager=st.from_regex(r"M[0-9]{4}", fullmatch=True),
    seq=st.integers(1, 999_999),
    stamp=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
)
def test_names_round_trip(file_type: FileType, manager: str, seq: int, stamp: datetime) -> None:
    name = FileName.build(file_type, manager, seq, stamp.replace(tzinfo=UTC))

    assert FileName.parse(str(name)) == name
    if file_type in ORGANISER_TYPES:
        assert FileName.parse(str(ack_name(name))) == ack_name(name)


def _names(file_type: str, *seqs: int, stamp: str = "20261128130503") -> list[str]:
    return [f"{file_type}_M0427_{seq:06d}_{stamp}.csv" for seq in seqs]


def test_sequence_status_from_scratch() -> None:
    status = sequence_status(_names("VENTES", 1, 2, 3), FileType.VENTES)

    assert status.next_expected == 1
    assert [n.seq for n in status.ready] == [1, 2, 3]
    assert status.missing == ()
    assert status.waiting == status.already_seen == ()


def test_sequence_status_with_a_gap_and_files_seen() -> None:
    names = [*_names("VENTES", 3, 4, 5, 7, 9), *_names("ANNUL", 1), "README.txt", "x.csv.part"]

    status = sequence_status(names, FileType.VENTES, seen={1, 2, 3})

    assert status.next_expected == 4
    assert [n.seq for n in status.ready] == [4, 5]
    assert status.missing == (6, 8)
    assert [n.seq for n in status.waiting] == [7, 9]
    assert [n.seq for n in status.already_seen] == [3]
    assert status.unparsable == ("README.txt",)


def test_sequence_status_stops_at_a_reused_seq() -> None:
    names = [*_names("VENTES", 1, 2), *_names("VENTES", 2, 3, stamp="20261128140503")]

    status = sequence_status(names, FileType.VENTES)

    assert [n.seq for n in status.ready] == [1]
    assert status.reused == (2,)
    assert [n.seq for n in status.waiting] == [2, 2, 3]


def test_sequence_status_of_acks_follows_the_answered_type() -> None:
    names = [
        *("ACK_" + n for n in _names("PLACES", 1, 2, 4)),
        *("ACK_" + n for n in _names("DECONT", 3)),
    ]

    status = sequence_status(names, FileType.ACK, seen={1}, answering=FileType.PLACES)

    assert [n.seq for n in status.ready] == [2]
    assert status.missing == (3,)
    with pytest.raises(ValueError, match="answering"):
        sequence_status(names, FileType.ACK)
