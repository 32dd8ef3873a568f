"""The exchange journal on SQLite and PostgreSQL: landing, duplicates, the ordered queue."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import ExchangeFile, FileState
from reseller_sync.domain.errors import Problem
from reseller_sync.exchange import journal
from reseller_sync.exchange.transport import LandedFile
from reseller_sync.fnac.names import FileName, FileType, ack_name

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


def test_a_reused_sequence_is_kept_but_ignored(demo_session: Session) -> None:
    journal.land(demo_session, "fnac", landed(1))
    reused = journal.land(
        demo_session, "fnac", landed(1, b"other bytes", stamp=STAMP + dt.timedelta(hours=1))
    )
    assert reused.state is FileState.IGNORED
    assert reused.reason is not None
    assert "already used" in reused.reason


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
