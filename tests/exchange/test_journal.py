"""The exchange journal on SQLite and PostgreSQL: landing, duplicates, the ordered queue."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import ExchangeFile, FileState
from reseller_sync.domain.errors import Problem
from reseller_sync.exchange import journal
from reseller_sync.exchange.transport import LandedFile
from reseller_sync.fnac.names import FileName, FileType, ack_name
from reseller_sync.fnac.writer import write_file
from tests.fnac.test_sales import line

STAMP = dt.datetime(2026, 11, 28, 13, 5, 3, tzinfo=dt.UTC)


def landed(
    seq: int,
    data: bytes | None = None,
    *,
    file_type: FileType = FileType.VENTES,
    stamp: dt.datetime = STAMP,
) -> LandedFile:
    name = FileName.build(file_type, "M0427", seq, stamp)
    data = data if data is not None else f"content of {name}".encode()
    return LandedFile(
        name=str(name),
        data=data,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        parsed=name,
    )


def test_a_file_lands_once(demo_session: Session) -> None:
    first = journal.land(demo_session, "fnac", landed(1))
    again = journal.land(demo_session, "fnac", landed(1))
    assert first.state is FileState.LANDED
    assert again.file_id == first.file_id
    stored = demo_session.get_one(ExchangeFile, first.file_id)
    assert stored.content == b"content of " + stored.name.encode()
    assert journal.JournalIndex(demo_session, "fnac").is_landed(stored.name)


def test_the_same_bytes_under_another_name_are_kept_but_ignored(demo_session: Session) -> None:
    journal.land(demo_session, "fnac", landed(1, b"same"))
    resent = journal.land(demo_session, "fnac", landed(2, b"same"))
    assert resent.state is FileState.IGNORED
    assert resent.reason is not None
    assert "same bytes as VENTES_M0427_000001" in resent.reason
    index = journal.JournalIndex(demo_session, "fnac")
    assert index.name_with_sha256(hashlib.sha256(b"same").hexdigest()) is not None


def test_a_reused_sequence_is_refused_outside_the_stream_and_alerted_once(
    demo_session: Session,
) -> None:
    """Spec 9.6: not processed, kept with the reason, and named by one alert only."""
    original = journal.land(demo_session, "fnac", landed(1))
    reused = journal.land(
        demo_session, "fnac", landed(1, b"other bytes", stamp=STAMP + dt.timedelta(hours=1))
    )
    assert reused.state is FileState.SEQUENCE_REUSED
    assert reused.reason is not None
    assert f"already used by {original.name}" in reused.reason
    assert "E02" in reused.reason
    stored = demo_session.get_one(ExchangeFile, reused.file_id)
    assert (stored.error_category, stored.content) == ("external", b"other bytes")

    q = journal.queue(demo_session, "fnac", "VENTES")
    assert (q.ready, q.waiting, q.blocked_by) == ((original.file_id,), (), None)

    assert journal.take_refusals_to_alert(demo_session, "fnac") == [(reused.name, reused.reason)]
    assert stored.alerted_at is not None
    assert journal.take_refusals_to_alert(demo_session, "fnac") == [], "alerted once"

    # A third file on the same sequence is refused too, against the file that holds it.
    third = journal.land(
        demo_session, "fnac", landed(1, b"third bytes", stamp=STAMP + dt.timedelta(hours=2))
    )
    assert third.state is FileState.SEQUENCE_REUSED
    assert third.reason is not None
    assert f"already used by {original.name}" in third.reason
    assert [name for name, _ in journal.take_refusals_to_alert(demo_session, "fnac")] == [
        third.name
    ]


def test_the_same_bytes_on_the_same_sequence_stay_a_quiet_duplicate(demo_session: Session) -> None:
    """Nothing is lost when the bytes are the same: ignored, no alert."""
    journal.land(demo_session, "fnac", landed(1, b"same"))
    again = journal.land(
        demo_session, "fnac", landed(1, b"same", stamp=STAMP + dt.timedelta(hours=1))
    )
    assert again.state is FileState.IGNORED
    assert journal.take_refusals_to_alert(demo_session, "fnac") == []


def test_a_reused_sequence_held_by_a_failed_file_is_refused_too(demo_session: Session) -> None:
    """FNAC must resend a truncated file's lines under a NEW sequence (spec 9.5)."""
    failed = journal.land(demo_session, "fnac", landed(1))
    journal.mark_failed(demo_session, failed.file_id, "external", "no trailer: truncated")
    same_seq = journal.land(
        demo_session, "fnac", landed(1, b"fixed bytes", stamp=STAMP + dt.timedelta(hours=1))
    )
    assert same_seq.state is FileState.SEQUENCE_REUSED
    assert journal.queue(demo_session, "fnac", "VENTES").ready == (failed.file_id,)


def test_acks_have_one_stream_per_answered_type(demo_session: Session) -> None:
    places = FileName.build(FileType.PLACES, "M0427", 1, STAMP)
    fiche = FileName.build(FileType.FICHE, "M0427", 1, STAMP)
    for answered in (places, fiche):
        ack = ack_name(answered)
        data = str(ack).encode()
        journal.land(
            demo_session,
            "fnac",
            LandedFile(str(ack), data, len(data), hashlib.sha256(data).hexdigest(), ack),
        )
    types = set(demo_session.scalars(select(ExchangeFile.file_type)))
    assert types == {"ACK_PLACES", "ACK_FICHE"}


def test_the_queue_follows_sequence_order(demo_session: Session) -> None:
    for seq in (3, 1, 2):
        journal.land(demo_session, "fnac", landed(seq))
    q = journal.queue(demo_session, "fnac", "VENTES")
    sequences = [demo_session.get_one(ExchangeFile, i).sequence for i in q.ready]
    assert sequences == [1, 2, 3]
    assert (q.missing, q.waiting, q.blocked_by) == ((), (), None)


def test_a_gap_stops_the_type_until_the_missing_file_arrives(demo_session: Session) -> None:
    for seq in (1, 2, 4, 5):
        journal.land(demo_session, "fnac", landed(seq))
    q = journal.queue(demo_session, "fnac", "VENTES")
    assert len(q.ready) == 2
    assert q.missing == (3,)
    assert len(q.waiting) == 2
    for file_id in q.ready:
        journal.mark_integrated(demo_session, file_id, 10)
    assert journal.queue(demo_session, "fnac", "VENTES").ready == ()
    journal.land(demo_session, "fnac", landed(3))
    q = journal.queue(demo_session, "fnac", "VENTES")
    assert [demo_session.get_one(ExchangeFile, i).sequence for i in q.ready] == [3, 4, 5]


def test_a_failed_file_comes_first_and_names_itself(demo_session: Session) -> None:
    ids = [journal.land(demo_session, "fnac", landed(seq)).file_id for seq in (1, 2, 3)]
    journal.mark_integrated(demo_session, ids[0], 5)
    journal.mark_failed(
        demo_session,
        ids[1],
        "mapping",
        "2 lines have no mapping",
        [Problem("no tariff for catégorie 31", line=4, column="categorie_client", value="31")],
    )
    q = journal.queue(demo_session, "fnac", "VENTES")
    assert q.ready == (ids[1], ids[2])
    assert q.blocked_by == demo_session.get_one(ExchangeFile, ids[1]).name
    failed = demo_session.get_one(ExchangeFile, ids[1])
    assert [(e.line, e.column, e.value) for e in failed.errors] == [(4, "categorie_client", "31")]
    journal.mark_integrated(demo_session, ids[1], 7)
    assert failed.errors == []
    assert journal.queue(demo_session, "fnac", "VENTES").blocked_by is None


def test_outbound_sequences_have_no_gap_and_no_reuse(demo_session: Session) -> None:
    assert journal.next_outbound_sequence(demo_session, "fnac", FileType.PLACES) == 1
    name = FileName.build(FileType.PLACES, "M0427", 1, STAMP)
    entry = journal.prepare_outbound(demo_session, "fnac", name, b"PLACES bytes")
    assert entry.state is FileState.PREPARED
    journal.mark_sent(demo_session, entry.id)
    assert entry.state is FileState.SENT
    assert journal.next_outbound_sequence(demo_session, "fnac", FileType.PLACES) == 2
    assert journal.next_outbound_sequence(demo_session, "fnac", FileType.DECONT) == 1


# --------------------------------------------------------------------------- set aside


def failed_in_the_middle(session: Session) -> list[int]:
    """VENTES 1 integrated, 2 failed (truncated), 3 and 4 landed behind it."""
    ids = [journal.land(session, "fnac", landed(seq)).file_id for seq in (1, 2, 3, 4)]
    journal.mark_integrated(session, ids[0], 5)
    journal.mark_failed(
        session, ids[1], "external", "the file has no trailer: truncated or corrupt"
    )
    return ids


def test_a_failed_file_set_aside_lets_its_type_go_on_from_the_next_sequence(
    demo_session: Session,
) -> None:
    ids = failed_in_the_middle(demo_session)
    names = [demo_session.get_one(ExchangeFile, i).name for i in ids]
    assert journal.queue(demo_session, "fnac", "VENTES").blocked_by == names[1]
    at = dt.datetime(2026, 11, 28, 15, 30, tzinfo=dt.UTC)

    outcome = journal.set_aside(
        demo_session,
        "fnac",
        names[1],
        reason="  truncated; FNAC resent its lines as 000003  ",
        by="alice",
        now=at,
    )

    assert (outcome.name, outcome.sequence, outcome.by, outcome.at) == (names[1], 2, "alice", at)
    assert outcome.reason == "truncated; FNAC resent its lines as 000003"
    assert outcome.failure == "external: the file has no trailer: truncated or corrupt"
    assert (outcome.ready, outcome.waiting_for) == ((names[2], names[3]), ())
    demo_session.expire_all()
    entry = demo_session.get_one(ExchangeFile, ids[1])
    assert (entry.state, entry.set_aside_by, entry.set_aside_reason) == (
        FileState.SET_ASIDE,
        "alice",
        "truncated; FNAC resent its lines as 000003",
    )
    assert entry.set_aside_at is not None
    assert entry.set_aside_at.replace(tzinfo=dt.UTC) == at
    assert entry.error_message == "the file has no trailer: truncated or corrupt", "kept"
    q = journal.queue(demo_session, "fnac", "VENTES")
    assert (q.ready, q.blocked_by, q.missing, q.waiting) == ((ids[2], ids[3]), None, (), ())


def test_set_aside_before_the_resend_lands_waits_for_the_next_sequence(
    demo_session: Session,
) -> None:
    failed = journal.land(demo_session, "fnac", landed(1))
    journal.mark_failed(demo_session, failed.file_id, "external", "wrong encoding")
    outcome = journal.set_aside(demo_session, "fnac", failed.name, reason="unreadable", by="bob")
    assert (outcome.ready, outcome.waiting_for) == ((), (2,))
    resend = journal.land(demo_session, "fnac", landed(2, b"the lines again"))
    assert journal.queue(demo_session, "fnac", "VENTES").ready == (resend.file_id,)


def test_a_file_landed_without_its_bytes_can_be_set_aside(demo_session: Session) -> None:
    """Landed-but-unreadable: its contact columns could not be located, so it is failed."""
    record = line(1, date_seance=dt.datetime(2026, 12, 5, 20, 0))
    name, data = write_file(FileType.VENTES, "M0427", 1, [record], created=STAMP)
    rows = data.split(b"\r\n")
    mangled = b"\r\n".join([rows[0], b"garbage", *rows[2:]])
    parsed = FileName.parse(name)
    outcome = journal.land(
        demo_session,
        "fnac",
        LandedFile(name, mangled, len(mangled), hashlib.sha256(mangled).hexdigest(), parsed),
    )
    assert outcome.state is FileState.FAILED
    done = journal.set_aside(demo_session, "fnac", name, reason="FNAC resends it", by="carol")
    assert done.failure is not None
    assert "cannot be located" in done.failure


@pytest.mark.parametrize(
    ("which", "reason", "by", "message"),
    [
        ("unknown", "why", "alice", "no file named 'VENTES_M0427_999999"),
        ("integrated", "why", "alice", "is integrated, not failed"),
        ("landed", "why", "alice", "is landed, not failed: only a failed file can be set aside"),
        ("outbound", "why", "alice", "is a file we sent"),
        ("ignored", "why", "alice", "outside its stream already"),
        ("failed", "   ", "alice", "a reason is required"),
        ("failed", "why", " ", "say who sets the file aside"),
        ("failed", "x" * 2001, "alice", "at most 2000"),
        ("failed", "why", "x" * 101, "over 100 characters"),
    ],
)
def test_only_a_failed_inbound_file_with_a_reason_and_a_person_is_set_aside(
    demo_session: Session, which: str, reason: str, by: str, message: str
) -> None:
    ids = failed_in_the_middle(demo_session)
    journal.land(demo_session, "fnac", landed(9, b"same bytes"))
    duplicate = journal.land(demo_session, "fnac", landed(10, b"same bytes"))
    assert duplicate.state is FileState.IGNORED
    places = FileName.build(FileType.PLACES, "M0427", 1, STAMP)
    sent = journal.prepare_outbound(demo_session, "fnac", places, b"PLACES bytes")
    journal.mark_failed(demo_session, sent.id, "technical", "upload failed")
    name_of = {
        "unknown": str(FileName.build(FileType.VENTES, "M0427", 999999, STAMP)),
        "integrated": demo_session.get_one(ExchangeFile, ids[0]).name,
        "failed": demo_session.get_one(ExchangeFile, ids[1]).name,
        "landed": demo_session.get_one(ExchangeFile, ids[2]).name,
        "outbound": sent.name,
        "ignored": duplicate.name,
    }
    before = dict(demo_session.execute(select(ExchangeFile.name, ExchangeFile.state)).all())

    with pytest.raises(journal.SetAsideRefusedError, match=re.escape(message)):
        journal.set_aside(demo_session, "fnac", name_of[which], reason=reason, by=by)

    demo_session.expire_all()
    after = dict(demo_session.execute(select(ExchangeFile.name, ExchangeFile.state)).all())
    assert after == before, "nothing changed"
    assert demo_session.scalars(select(ExchangeFile.set_aside_by)).all() == [None] * len(after)


def test_a_file_set_aside_twice_says_by_whom_the_first_time(demo_session: Session) -> None:
    ids = failed_in_the_middle(demo_session)
    name = demo_session.get_one(ExchangeFile, ids[1]).name
    journal.set_aside(demo_session, "fnac", name, reason="resent as 000003", by="alice")
    with pytest.raises(journal.SetAsideRefusedError, match="set aside already by alice"):
        journal.set_aside(demo_session, "fnac", name, reason="again", by="bob")


def test_the_database_refuses_a_set_aside_file_that_says_not_who_when_or_why(
    demo_session: Session,
) -> None:
    ids = failed_in_the_middle(demo_session)
    entry = demo_session.get_one(ExchangeFile, ids[1])
    entry.state = FileState.SET_ASIDE
    entry.set_aside_by = "alice"
    with pytest.raises(IntegrityError):
        demo_session.flush()


def test_a_file_set_aside_while_it_was_tried_again_stays_set_aside(demo_session: Session) -> None:
    """The run that was trying it records its failure after the person's decision."""
    ids = failed_in_the_middle(demo_session)
    name = demo_session.get_one(ExchangeFile, ids[1]).name
    journal.set_aside(demo_session, "fnac", name, reason="resent as 000003", by="alice")
    journal.mark_failed(demo_session, ids[1], "external", "the same failure again")
    entry = demo_session.get_one(ExchangeFile, ids[1])
    assert (entry.state, entry.set_aside_by) == (FileState.SET_ASIDE, "alice")
    assert entry.error_message == "the file has no trailer: truncated or corrupt"
