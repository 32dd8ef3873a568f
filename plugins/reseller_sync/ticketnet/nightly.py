"""Ticketnet's part of the nightly run (``ticketnet-exchange-v1`` sections 7.3, 8.3, 9.1
points 11 and 12): INVENTORY reconciled, RELEASE records sent and their ACKs applied. The
reseller-neutral builder (:mod:`reseller_sync.airflow.nightly_dag`) calls these through the
adapter (:class:`~reseller_sync.airflow.nightly_dag.NightlyExchangeSteps`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk.definitions.xcom_arg import XComArg
    from sqlalchemy.orm import Session

    from reseller_sync.ticketnet.prices import PriceCheck
    from reseller_sync.ticketnet.reconciliation import InventoryReconciliation
    from reseller_sync.ticketnet.settings import TicketnetSettings
    from reseller_sync.ticketnet.withdrawal import ReleaseAnswer

DOC = """
### Ticketnet nightly maintenance, 03:00 venue time (`boxoffice.venue_timezone`)

Ticketnet writes an INVENTORY batch (its allocation, with SEATS) every night between
03:00 and 04:00; this DAG, at 03:00:

1. **land_files**: downloads every new batch and ACK of `/from_ticketnet/` into the
   exchange journal (the INVENTORY batches among them; the hourly DAG integrates the
   others). Batches already applied are moved to `/archive/from_ticketnet/`.
2. **reconcile_seats**: each INVENTORY batch, in number order, once the SALES batches 1 to
   its `sales_batch` are applied (until then it waits, silently, and is taken by a later
   run). Checked for consistency first (*external* error R21 naming the batch, the file
   and the record), then compared with the box office per performance × price level ×
   section or area, and seat by seat: places held but not given and the reverse, sales not
   integrated, sales Ticketnet reports unsold. Any difference raises an *external* alert
   "seat lists differ" with a link to the HTML report (kept under
   `var/reports/reconciliation/`, or `$RESELLER_SYNC_REPORTS_DIR`). The batch is then
   marked integrated and archived.
3. **verify_prices**: Ticketnet's latest sale price per performance, price level and price
   type against the box office's price of the tariff it stands for (with or without
   Ticketnet's fees, as `prices.includes_commission` says); differences raise an
   *external* alert with the list.
4. **send_withdrawals**: the places asked back from Ticketnet (requests made with
   `reseller_sync.ticketnet.withdrawal.request_withdrawal`, and every unsold Ticketnet place
   of a performance closer than `nightly.withdraw_unsold_days_before_performance` days) go
   out as RELEASE records in one OFFER batch.
5. **await_withdrawal_acks**: waits for Ticketnet's ACK in the triggerer (deferred, no
   worker held); each ACK is applied record by record as it arrives: places released leave
   Ticketnet's quota; sold seats (A05) stay Ticketnet's; an area with fewer places available
   (A06) is asked again for at most those; a place Ticketnet did not hold (A07) leaves its
   quota, to reconcile.
6. **report_withdrawals**: alerts on places Ticketnet had sold (A05: not an error); fails,
   by category, on any other refusal (A01 to A03 mapping, B01 to B07 technical; Z99: the
   places go out again in the next run).
7. **export_access_control**: one CSV per performance with the barcodes to let in and to
   refuse, under `var/reports/access_control/`.
8. **email_sales_summary**: the sales summary of the day the run covers, with the HTML
   report attached.

**The day a run covers** comes from its data interval, never from the clock (see
docs/nightly.md): to re-run a past night, **Clear** that night's run.

**When a task fails**, the e-mail says which batch, file and record, and what to do:
- *mapping error*: fix `include/mappings/ticketnet/`, then **Clear** the failed task.
- *external error* (R01 to R06, R21): ask Ticketnet to replace the batch (same number,
  spec section 3 point 8); the next run lands it, or **Clear** the failed task.
- *technical error*: call support with the task's log.

A failed INVENTORY batch stops the ones behind it until it is replaced. A RELEASE batch
whose ACK has not come is awaited again by the next run; its places stay Ticketnet's until
then, and are never sent twice.
"""


def land_new_files(settings: TicketnetSettings) -> dict[str, Any]:
    """Every new batch and ACK of Ticketnet's folder into the journal; the applied ones
    archived."""
    from reseller_sync.ticketnet.inbound import land_new_files as land

    return land(settings)


def reconcile_inventory(settings: TicketnetSettings) -> Sequence[InventoryReconciliation]:
    """Each INVENTORY batch ready, in number order, against the box office; a report each.
    Reconciled batches are archived."""
    from reseller_sync.ticketnet.inbound import archive_applied, transport_for
    from reseller_sync.ticketnet.mappings import load_repository
    from reseller_sync.ticketnet.reconciliation import reconcile_pending

    results = reconcile_pending(None, settings, load_repository())
    if results:
        archive_applied(transport_for(settings), settings)
    return results


def verify_prices(session: Session, settings: TicketnetSettings, today: dt.date) -> PriceCheck:
    from reseller_sync.ticketnet.prices import verify_prices as verify

    return verify(session, settings, today)


def send_withdrawals(settings: TicketnetSettings) -> dict[str, Any]:
    """The places asked back, as RELEASE records in one OFFER batch; acts on the present."""
    from reseller_sync.boxoffice.db import default_engine
    from reseller_sync.ticketnet.inbound import transport_for
    from reseller_sync.ticketnet.mappings import load_repository
    from reseller_sync.ticketnet.withdrawal import send_withdrawals as send

    return send(default_engine(), transport_for(settings), settings, load_repository()).summary()


def await_withdrawal_answers(
    sent: XComArg, poll_interval: dt.timedelta, timeout: dt.timedelta
) -> XComArg:
    """The deferred wait for each RELEASE batch's ACK, as a task of the DAG being built."""
    from reseller_sync.ticketnet.withdrawal_wait import await_release_acks

    return await_release_acks(sent, poll_interval, timeout)


def withdrawal_answers(settings: TicketnetSettings, answered: Sequence[str]) -> list[ReleaseAnswer]:
    """What Ticketnet answered to each batch named, record by record; the ACKs archived."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.ticketnet.inbound import archive_applied, transport_for
    from reseller_sync.ticketnet.withdrawal import record_release_ack

    transport = transport_for(settings)
    answers = []
    for name in answered:
        with session_scope() as session:
            answer = record_release_ack(session, transport, name)
        if answer is not None:
            answers.append(answer)
    if answers:
        archive_applied(transport, settings)
    return answers
