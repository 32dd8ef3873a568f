"""Ticketnet's part of the hourly run (``ticketnet-exchange-v1`` sections 3, 6, 7 and 9.1):
PRICETYPES, then SALES batches, each in number order, whole or nothing. The
reseller-neutral builder (:mod:`reseller_sync.airflow.inbound_dag`) calls these through the
adapter."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reseller_sync.alerts.compose import Notice
from reseller_sync.domain.texts import Localized
from reseller_sync.pipelines.notices import price_difference_notices, unmapped_category_notices

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from reseller_sync.exchange.transport import SftpTransport
    from reseller_sync.ticketnet.settings import TicketnetSettings

log = logging.getLogger(__name__)

DOC = """
### Ticketnet inbound, every hour

Ticketnet drops its batches in `/from_ticketnet/`: a SALES batch every hour at
minute 10 (even empty), a PRICETYPES batch when its list of price types changes.
A batch is its data files (gzip CSV) and a manifest written last. This DAG, at
minute 15:

1. **land_files**: downloads every batch whose manifest is there into the
   exchange journal, the batch whole (manifest and data files, the buyer columns
   emptied in the copies kept); a batch Ticketnet replaced after it failed is
   landed again. Batches already applied are moved to `/archive/from_ticketnet/`.
2. **integrate_customer_categories** (PRICETYPES): keeps Ticketnet's list of
   price types; a new active one that no tariff stands for raises a *mapping*
   alert at once.
3. **integrate_sales** (SALES): each batch in number order, verified whole
   against its manifest (R01 to R06), then applied whole in one transaction: the
   SALE records of all parts (orders paid on the pending account, tickets, access
   control), then the REFUND records; test records become test tickets. Applied
   batches are archived.
4. **watch_for_late_files**: no SALES batch for too long, a batch missing, or
   data files without their manifest for too long: *external* alert R07.
5. **report_refused_files**: files on the server that were not downloaded
   (unsafe name, too large), and a batch number already applied that is back with
   another manifest (R08, left on the server, never applied nor archived): *external*
   alert at each run until Ticketnet takes it back.

**When a task fails**, the e-mail gives the batch, the file, the record, the
column and the code:
- *mapping error* (R10 to R13, R17): fix `include/mappings/ticketnet/`, then
  **Clear** the failed task: the batch and every batch behind it go through, once.
- *external error* (R01 to R09, R14 to R16, R18 to R20): ask Ticketnet to replace
  the batch (same number, spec section 3 point 8); the next run lands the new
  batch; then **Clear** the failed task.
- *technical error* (R90): call support with the task's log.

A failed batch stops its stream; the next runs wait (one run at a time, the
integration tasks depend on the previous run's). Nothing is skipped, lost or
applied twice.
"""


@dataclass(frozen=True)
class StreamIntegration:
    """What one hourly integration of a stream did, and the notices it raises."""

    summary: dict[str, Any]
    notices: Sequence[Notice] = field(default=())


def transport_for(settings: TicketnetSettings, **options: Any) -> SftpTransport:
    """The SFTP transport to Ticketnet's server as the settings describe it (section 3)."""
    from reseller_sync.pipelines.inbound import sftp_transport
    from reseller_sync.ticketnet.naming import NAMING

    return sftp_transport(settings, NAMING, **options)


def land_new_files(settings: TicketnetSettings) -> dict[str, Any]:
    """Every new batch (and ACK) of Ticketnet's folder into the journal; the applied ones
    archived."""
    from reseller_sync.pipelines.inbound import land_new_files as land

    transport = transport_for(settings)
    summary = land(None, settings.reseller_code, transport).summary()
    summary["archived"] = archive_applied(transport, settings)
    return summary


def archive_applied(transport: SftpTransport, settings: TicketnetSettings) -> list[str]:
    """Move the files of every applied batch still in ``/from_ticketnet/`` to the archive
    (section 3 point 7): data files first, manifest last; a batch whose manifest is no
    longer the one applied (R08) stays where it is."""
    from reseller_sync.pipelines.inbound import archive_applied as archive

    return archive(transport, settings.reseller_code)


def integrate_stream(settings: TicketnetSettings, stream: str) -> StreamIntegration:
    """The ready batches of one stream, in number order; raises at the first that fails."""
    from reseller_sync.pipelines.inbound import integrate_pending
    from reseller_sync.ticketnet.adapter import inbound_files
    from reseller_sync.ticketnet.names import Stream

    result = integrate_pending(None, settings, inbound_files(settings), stream)
    archived = archive_applied(transport_for(settings), settings) if result.files else []
    if Stream(stream) is Stream.PRICETYPES:
        return StreamIntegration(
            {"batches": [f.name for f in result.files], "archived": archived},
            [notice for f in result.files for notice in _new_price_types(f.name, f.outcome)],
        )
    return StreamIntegration(
        {
            "batches": [f.name for f in result.files],
            "records": sum(f.lines for f in result.files),
            "missing_batches": list(result.missing),
            "archived": archived,
        },
        [
            notice
            for f in result.files
            for outcome in f.outcomes
            for notice in _price_differences(f.name, outcome)
        ],
    )


NEW_PRICE_TYPE_ACTION = Localized(
    fr="Rattachez chaque nouveau type de prix à un tarif dans "
    "include/mappings/ticketnet/_shared.yaml, puis vérifiez avec `python -m reseller_sync "
    "mappings check` : tant qu'il n'est pas rattaché, les ventes de {reseller} à ce type de "
    "prix ne peuvent pas être intégrées (R13). Rien à relancer : la liste est intégrée.",
    en="Map each new price type to a tariff in include/mappings/ticketnet/_shared.yaml, then "
    "check with `python -m reseller_sync mappings check`: until it is mapped, {reseller}'s "
    "sales at that price type cannot be integrated (R13). Nothing to clear: the list was "
    "integrated.",
)


def _new_price_types(batch: str, outcome: Any) -> list[Notice]:
    count = len(outcome.unmapped.categories)
    return unmapped_category_notices(
        batch,
        outcome,
        kind="new_price_type",
        message=Localized(
            fr=f"{{reseller}} a {count} type(s) de prix actif(s) qu'aucun tarif ne représente : "
            "leurs ventes ne peuvent pas être intégrées tant qu'ils ne sont pas rattachés.",
            en=f"{{reseller}} has {count} active price type(s) that no tariff stands for: "
            "their sales cannot be integrated until they are mapped.",
        ),
        action=NEW_PRICE_TYPE_ACTION,
    )


def _price_differences(batch: str, outcome: Any) -> list[Notice]:
    return price_difference_notices(batch, outcome, reseller_name="Ticketnet", column="amount")


def watch_for_late_files(session: Session, settings: TicketnetSettings, now: dt.datetime) -> None:
    """Raise R07 when SALES batches stop, a batch is missing or one stays incomplete."""
    from reseller_sync.ticketnet.watchdog import check_batches_late

    try:
        unclosed = transport_for(settings).unclosed_batch_files()
    except Exception:
        log.warning("Ticketnet's folder not listed: incomplete batches not watched", exc_info=True)
        unclosed = ()
    check_batches_late(session, settings, now, unclosed)


def report_refused_files(not_downloaded: Sequence[str]) -> None:
    """Fail naming files left on the server (unsafe names, too large)."""
    from reseller_sync.pipelines.inbound import check_refused_files
    from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE

    check_refused_files(None, RESELLER_TYPE.code, not_downloaded)
