"""The SecuTix reseller's part of the inbound run, every 15 minutes (``secutix-reseller-v1``
sections 3, 6, 7.1, 7.2 and 9.1): its TICKETS files in number order, each whole or nothing.
The reseller-neutral builder (:mod:`reseller_sync.airflow.inbound_dag`) calls these through
the adapter."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reseller_sync.alerts.compose import Notice
from reseller_sync.pipelines.notices import price_difference_notices

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from reseller_sync.exchange.transport import SftpTransport
    from reseller_sync.pipelines.late_files import LateFilesRule
    from reseller_sync.secutix.settings import SecutixSettings

log = logging.getLogger(__name__)

DOC = """
### SecuTix reseller inbound, every 15 minutes

The reseller writes a TICKETS file in `/to_organiser/` every 15 minutes (at minutes
00, 15, 30 and 45, within 5 minutes, even when no ticket changed): one line per
ticket whose state changed, in its whole current state. Each data file is followed
by its control file (`.ctl`). This DAG, 5 minutes after each quarter:

1. **land_files**: downloads every data file whose control file is there into the
   exchange journal (the `CONTACT_*` columns emptied in the copy kept; a file the
   reseller replaced after it failed is landed again). Files already applied are moved
   to `/to_organiser/done/`, the data file first, the control file last.
2. **integrate_ticket_states** (TICKETS): each file in number order, verified against
   its control file (T01 to T04), then checked (T05 to T22) and applied whole in one
   transaction, as an upsert by barcode: a new ticket is a sale (its order paid on the
   pending account, its barcode allowed at access control); `PRINTED` is recorded;
   `CANCELLED` and `REFUNDED` cancel the ticket, refuse its barcode and give its place
   back to the reseller's contingent; `REFUNDED` credits the pending account; a
   repeated state changes nothing but the beneficiary names.
3. **watch_for_late_files**: no TICKETS file for 60 minutes, a file missing while
   later ones wait, or a data file without its control file for 60 minutes: *external*
   alert T06.
4. **report_refused_files**: files on the server that were not downloaded (unsafe
   name, too large), and a file number already applied that is back with other content
   (T07, left on the server, never applied): *external* alert at each run until the
   reseller takes it back.

**When a task fails**, the e-mail gives the file, the line, the column and the code:
- *mapping error* (T14 to T17): fix `include/mappings/secutix/` (or the product's
  offer), then **Clear** the failed task: the file and every file behind it go through,
  once.
- *external error* (T01 to T13, T18 to T22): ask the reseller to replace the file
  (same number, spec section 3 point 7); the next run lands it; then **Clear** the
  failed task.
- *technical error* (T90): call support with the task's log.

A failed file stops the stream; the next runs wait. Nothing is skipped, lost or
applied twice.
"""


@dataclass(frozen=True)
class StreamIntegration:
    """What one integration of the TICKETS stream did, and the notices it raises."""

    summary: dict[str, Any]
    notices: Sequence[Notice] = field(default=())


def transport_for(settings: SecutixSettings, **options: Any) -> SftpTransport:
    """The SFTP transport to the reseller's server as the settings describe it (section 3)."""
    from reseller_sync.pipelines.inbound import sftp_transport
    from reseller_sync.secutix.naming import NAMING

    return sftp_transport(settings, NAMING, **options)


def land_new_files(settings: SecutixSettings) -> dict[str, Any]:
    """Every new file (with its control file) of the reseller's folder into the journal;
    the applied ones moved to ``done/``."""
    from reseller_sync.pipelines.inbound import archive_applied
    from reseller_sync.pipelines.inbound import land_new_files as land

    transport = transport_for(settings)
    summary = land(None, settings.reseller_code, transport).summary()
    summary["archived"] = archive_applied(transport, settings.reseller_code)
    return summary


def integrate_stream(settings: SecutixSettings, stream: str) -> StreamIntegration:
    """The ready TICKETS files, in number order; raises at the first that fails."""
    from reseller_sync.pipelines.inbound import archive_applied, integrate_pending
    from reseller_sync.secutix.adapter import inbound_files

    result = integrate_pending(None, settings, inbound_files(settings), stream)
    archived = (
        archive_applied(transport_for(settings), settings.reseller_code) if result.files else []
    )
    outcomes = [outcome for f in result.files for outcome in f.outcomes]
    return StreamIntegration(
        {
            "files": [f.name for f in result.files],
            "lines": sum(f.lines for f in result.files),
            "new_tickets": sum(getattr(o, "tickets", 0) for o in outcomes),
            "cancelled": sum(getattr(o, "cancelled", 0) for o in outcomes),
            "missing_files": list(result.missing),
            "archived": archived,
        },
        [
            notice
            for f in result.files
            for outcome in f.outcomes
            if getattr(outcome, "sales", None) is not None
            for notice in price_difference_notices(
                f.name, outcome.sales, reseller_name=settings.display_name, column="PRICE"
            )
        ],
    )


def late_rule(settings: SecutixSettings) -> LateFilesRule:
    """T06 (section 9.1 point 2)."""
    from reseller_sync.pipelines.late_files import LateFilesRule

    return LateFilesRule(
        code="T06",
        main_stream="TICKETS",
        rhythm="the reseller writes one every 15 minutes",
        streams=("TICKETS",),
        threshold=dt.timedelta(minutes=settings.nightly.tickets_silence_alert_minutes),
        unit="file",
        closing="control file",
    )


def watch_for_late_files(session: Session, settings: SecutixSettings, now: dt.datetime) -> None:
    """Raise T06 when TICKETS files stop, one is missing or one stays without its control
    file."""
    from reseller_sync.pipelines.late_files import raise_if_late
    from reseller_sync.secutix.reseller_type import RESELLER_TYPE

    try:
        unclosed = transport_for(settings).unclosed_batch_files()
    except Exception:
        log.warning("The reseller's folder not listed: incomplete files not watched", exc_info=True)
        unclosed = ()
    raise_if_late(
        session, RESELLER_TYPE.code, settings.display_name, late_rule(settings), now, unclosed
    )


def report_refused_files(not_downloaded: Sequence[str]) -> None:
    """Fail naming files left on the server (unsafe names, too large, T07)."""
    from reseller_sync.pipelines.inbound import check_refused_files
    from reseller_sync.secutix.reseller_type import RESELLER_TYPE

    check_refused_files(None, RESELLER_TYPE.code, not_downloaded)
