"""The SecuTix reseller's part of the reseller contract suite: a day of sales played on the
demo box office.

The contract suite (``tests/resellers/test_contract.py``) finds this module by the
reseller type's code (``devtools.sandboxes.<code>.contract``) and calls
:func:`a_day_of_sales`, which returns a :class:`DayOfSales`.

The day, from an empty sandbox root, under ``secutix-reseller-v1``:

1. The organiser puts the demo concert and the undated museum pass on sale as its
   onboarding does, with the instance's settings and the box office's performances,
   prices and contingent: file 1 is their OFFER, file 2 their CONTINGENT
   (:mod:`reseller_sync.secutix.offer`, :mod:`reseller_sync.secutix.contingent`). The
   reseller accepts both whole, or the day stops with :class:`SandboxError`.
2. The reseller writes a TICKETS file every 15 minutes for a few hours (section 3 point
   6): its customers buy, print, cancel, refund and rename; one quarter without any
   change (a file holding the header alone).

The inbound files come back in the order the organiser integrates them: each RESULT
(data file, then control file), then each TICKETS file in number order; as the reseller
wrote them, contact columns included, with every contact value written, for the suite's
privacy check. The organiser's files come back as sent, for the suite to journal them so
that the RESULTs match them. The same box office and ``seed`` give the same files; the box
office is only read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from devtools.demo_boxoffice import EVENT_PRODUCT, UNDATED_PASS_PRODUCT
from devtools.sandboxes.secutix.emit import SandboxError
from devtools.sandboxes.secutix.partner import SecutixPartner
from devtools.sandboxes.secutix.people import LOCAL_TIME
from devtools.sandboxes.sftp import DEMO_USERNAME
from reseller_sync.boxoffice.models import Performance, Product
from reseller_sync.secutix.contingent import contingent_lines
from reseller_sync.secutix.names import FileName, FileType
from reseller_sync.secutix.offer import offer_file
from reseller_sync.secutix.settings import load_settings
from reseller_sync.secutix.writer import OrganiserFile

PRODUCTS = (EVENT_PRODUCT, UNDATED_PASS_PRODUCT)
SALES_OPEN_BEFORE = timedelta(weeks=8)
"""Sales open this long before the concert's first performance, at 10:00 in Paris."""
QUARTERS = 12
"""Quarters of an hour of sales, each ended by a TICKETS file."""
QUIET_QUARTER = 5
"""The quarter when nothing changes: its TICKETS file holds the header alone."""


@dataclass(frozen=True)
class DayOfSales:
    """What a sandbox's day of sales gives the contract suite."""

    files: tuple[tuple[str, bytes], ...]
    """The inbound files, (name, bytes) as the reseller wrote them, in integration order:
    the RESULTs, then the TICKETS files by number; each data file before its control
    file."""
    buyer_contacts: frozenset[str]
    """Every ``CONTACT_*`` value the files hold."""
    sent: tuple[tuple[str, bytes], ...]
    """The organiser's files, (name, bytes) as sent: each data file, then its control
    file, in number order."""


def a_day_of_sales(root: Path, session: Session, *, seed: int) -> DayOfSales:
    """The SecuTix reseller on the sandbox folder ``root`` (empty): the demo concert and pass
    put on sale, a few hours of sales; ``session`` is only read."""
    settings = load_settings()
    opening = _opening(session)
    clock = _Clock(opening - timedelta(hours=1))
    partner = SecutixPartner(root, DEMO_USERNAME, clock=clock, seed=seed)

    sent = [
        offer_file(
            session,
            1,
            PRODUCTS,
            tariffs=settings.tariffs_offered_for,
            sales_open=opening,
        ),
        contingent_lines(session, list(PRODUCTS)).file(2),
    ]
    for built in sent:
        _upload(partner, built)
    clock.now += timedelta(minutes=15)
    answers = partner.pickup()
    if [answer.status for answer in answers] != ["OK", "OK"]:
        raise SandboxError(f"the reseller did not accept the demo's offer whole: {answers}")
    inbound = [name for answer in answers for name in _pair(answer.result)]

    clock.now = opening
    for quarter in range(1, QUARTERS + 1):
        clock.now = opening + timedelta(minutes=15 * quarter)
        if quarter == QUIET_QUARTER:
            name = partner.tick(orders=0, prints=0, cancellations=0, refunds=0, renames=0)
        elif quarter == QUARTERS:
            name = partner.tick(orders=1, prints=1, cancellations=1, refunds=2, renames=1)
        else:
            name = partner.tick(orders=3)
        inbound += _pair(name)
    return DayOfSales(
        files=tuple((name, (partner.outbox / name).read_bytes()) for name in inbound),
        buyer_contacts=frozenset(partner.contact_values()),
        sent=tuple(
            (name, data)
            for built in sent
            for name, data in (
                (str(built.name), built.data),
                (str(built.name.control), built.control),
            )
        ),
    )


class _Clock:
    """The reseller's clock for the day: set by the story, never the wall clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _opening(session: Session) -> datetime:
    """When sales open: ``SALES_OPEN_BEFORE`` the concert's first performance, at 10:00 in
    Paris."""
    concert = session.scalar(select(Product).where(Product.code == EVENT_PRODUCT))
    if concert is None:
        raise SandboxError(f"the box office has no product {EVENT_PRODUCT}: seed the demo")
    first = session.scalar(
        select(Performance.starts_at)
        .where(Performance.product_id == concert.id, Performance.starts_at.is_not(None))
        .order_by(Performance.starts_at)
        .limit(1)
    )
    if first is None:
        raise SandboxError(f"{EVENT_PRODUCT} has no dated performance in the box office")
    return datetime.combine(first.date() - SALES_OPEN_BEFORE, time(10, 0), LOCAL_TIME).astimezone(
        UTC
    )


def _upload(partner: SecutixPartner, built: OrganiserFile) -> None:
    """The organiser's file in ``/to_reseller/``: its data file, then its control file."""
    (partner.inbox / str(built.name)).write_bytes(built.data)
    (partner.inbox / str(built.name.control)).write_bytes(built.control)


def _as_sent(built: OrganiserFile) -> tuple[tuple[str, bytes], ...]:
    return ((str(built.name), built.data), (str(built.name.control), built.control))


def _pair(data_name: str) -> list[str]:
    """A data file's name, then its control file's."""
    parsed = FileName.parse(data_name)
    if parsed is None or parsed.type not in (FileType.TICKETS, FileType.RESULT):
        raise SandboxError(f"{data_name} is not a TICKETS or RESULT file")
    return [str(parsed.data), str(parsed.control)]
