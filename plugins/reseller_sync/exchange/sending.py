"""Sending a numbered unit to a partner once: the reseller-neutral part of every outbound
exchange (a batch under its manifest, a data file under its control file).

The journal is the memory of what was sent. A unit is one entry under its closing file's
name (a manifest, a control file), its data files as members:

1. it is numbered in its stream (``journal.next_outbound_sequence``: no gap, no reuse)
   and journaled ``prepared`` with every byte it holds, committed, before anything is
   uploaded (:func:`prepare_numbered`; two runs numbering at once collide on the
   journal's unique sequence, which is retried);
2. it is uploaded data files first and the closing file last (:func:`uploads`), each by
   the transport's partial name and rename, then marked ``sent``;
3. a unit left ``prepared`` by a crash is uploaded again under its number with its same
   bytes (:func:`complete_prepared`) before any new number is taken: partners wait at a
   gap. A name already on the server (or in its processed folder) with the same bytes
   counts as delivered, so a unit the partner took before the crash is not sent twice.

What a unit holds, when one stands, and what its answer means stay the adapter's.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from reseller_sync.domain.errors import TechnicalError
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange import journal

if TYPE_CHECKING:
    from reseller_sync.exchange.transport import SftpTransport

log = logging.getLogger(__name__)

SessionSource = Engine | sessionmaker[Session]
"""Where sending opens its own transactions: an engine or a session factory."""
NUMBERING_ATTEMPTS = 3
T = TypeVar("T")


def session_factory(sessions: SessionSource) -> sessionmaker[Session]:
    """A session factory for ``sessions`` (objects outlive their transaction)."""
    if isinstance(sessions, sessionmaker):
        return sessions
    return sessionmaker(sessions, expire_on_commit=False)


def uploads(
    closing_name: str, closing_bytes: bytes, data_files: Iterable[tuple[str, bytes]]
) -> list[tuple[str, bytes]]:
    """The files of a unit in upload order: data files first, the closing file last."""
    return [*data_files, (closing_name, closing_bytes)]


def complete_prepared(
    sessions: SessionSource, transport: SftpTransport, reseller: str, stream: str
) -> list[str]:
    """Upload every unit of ``stream`` left ``prepared`` by a crash, in number order, under
    its number with its same bytes, and mark it ``sent``; their names."""
    factory = session_factory(sessions)
    with factory() as session:
        leftovers = [
            (file.id, file.name, file.content, journal.inbound_unit(session, file.id).members)
            for file in journal.prepared_files(session, reseller, stream)
        ]
    for file_id, name, closing, members in leftovers:
        transport.upload_all(uploads(name, closing, members.items()))
        with factory.begin() as session:
            journal.mark_sent(session, file_id)
        log.info("Completed %s, left prepared by an earlier run", name)
    return [name for _, name, _, _ in leftovers]


def prepare_numbered(
    sessions: SessionSource,
    reseller: str,
    stream: str,
    prepare: Callable[[Session, int], T],
    *,
    what: str = "file",
) -> T:
    """``prepare(session, number)`` with the stream's next number, in one committed
    transaction (it journals the unit ``prepared``); retried when another run took the
    number meanwhile, a TechnicalError after :data:`NUMBERING_ATTEMPTS`."""
    factory = session_factory(sessions)
    for _ in range(NUMBERING_ATTEMPTS):
        try:
            with factory.begin() as session:
                return prepare(session, journal.next_outbound_sequence(session, reseller, stream))
        except IntegrityError:
            continue
    raise TechnicalError(
        f"could not number a new {what}: another run took number after number "
        f"({NUMBERING_ATTEMPTS} attempts)",
        action=Localized(
            fr="Faites les envois vers {reseller} un par un, puis relancez la tâche (Clear).",
            en="Run the sends to {reseller} one at a time, then clear the task.",
        ),
    )


def journaled_since(entry: journal.JournaledFile, moment: dt.datetime | None) -> bool:
    """Whether ``entry`` was journaled at or after ``moment`` (aware); False without one."""
    if moment is None:
        return False
    journaled = entry.created_at
    if journaled.tzinfo is None:  # SQLite keeps no time zone: the journal writes UTC
        journaled = journaled.replace(tzinfo=dt.UTC)
    return journaled >= moment
