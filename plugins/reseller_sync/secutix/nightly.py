"""The SecuTix reseller's part of the nightly run (``secutix-reseller-v1`` sections 7.3, 7.4,
8.3, 9.1 points 5, 7 and 8, and 10.1): its STOCK reconciled, prices verified, WITHDRAW
files sent and their RESULTs applied. The reseller-neutral builder
(:mod:`reseller_sync.airflow.nightly_dag`) calls these through the adapter's
``nightly_exchange()`` (:class:`~reseller_sync.airflow.nightly_dag.NightlyExchangeSteps`);
the access-control export and the sales summary are the builder's own
(:mod:`reseller_sync.pipelines.access_export`, :mod:`reseller_sync.pipelines.sales_summary`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk.definitions.xcom_arg import XComArg
    from sqlalchemy.orm import Session

    from reseller_sync.secutix.prices import PriceCheck
    from reseller_sync.secutix.settings import SecutixSettings
    from reseller_sync.secutix.stock import StockReconciliation
    from reseller_sync.secutix.withdrawal import WithdrawAnswer

DOC = """
### SecuTix reseller nightly maintenance, 03:00 venue time (`boxoffice.venue_timezone`)

The reseller (an institution running its own SecuTix box office) writes a STOCK file in
`/to_organiser/` every night around 02:30, its local time: per product × performance
(none for an undated pass) × seat category, the places it was GIVEN, has SOLD and has
AVAILABLE, after its TICKETS files 1 to `TICKETS_FILE_NUMBER`. This DAG, at 03:00:

1. **land_files**: downloads every new data file whose control file is there (STOCK,
   and any TICKETS or RESULT the 15-minute run has not taken yet) into the exchange
   journal. Files already applied are moved to `/to_organiser/done/`.
2. **reconcile_seats** (STOCK): each STOCK file, in date order (a night without one is
   no gap), once the TICKETS files 1 to its `TICKETS_FILE_NUMBER` are applied (until then
   it waits, silently, and a later run takes it). Verified against its control file
   (T01 to T04) and for consistency (T21: `GIVEN` = `SOLD` + `AVAILABLE`, a key once, the
   same `TICKETS_FILE_NUMBER` and `SNAPSHOT_AT` on every line); then compared with the
   box office per product × performance × seat category: places given as the RESULT
   files confirmed them, minus places withdrawn; the reseller's valid tickets after
   those TICKETS files; places available. Any difference raises an *external* alert
   "seat lists differ" with a link to the HTML report (kept under
   `var/reports/reconciliation/secutix-STOCK_<date>.html`, or
   `$RESELLER_SYNC_REPORTS_DIR`). A difference stops nothing: the file is marked
   integrated and moved to `done/`.
3. **verify_prices**: the reseller's latest sale price per performance, seat category and
   tariff against the box office's price now (with or without the reseller's commission,
   as `prices.includes_commission` says); differences raise an *external* alert with the
   list.
4. **send_withdrawals**: the places asked back from the reseller (requests made with
   `reseller_sync.secutix.withdrawal.request_withdrawal`, and every unsold place of its
   quota on a seated performance closer than
   `nightly.withdraw_unsold_days_before_performance` days) go out as one WITHDRAW file,
   numbered in the organiser's sequence (shared with OFFER and CONTINGENT).
5. **await_withdrawal_acks**: waits for the reseller's RESULT in the triggerer (deferred,
   no worker held; it answers within 30 minutes); each RESULT is applied line by line as
   it arrives: OK withdrawn (the places leave its quota); Q05 sold, kept; Q06 asked again
   for at most `AVAILABLE` places in the next run; Q07 not the reseller's, out of its
   quota, to reconcile; X99 asked again in the next run.
6. **report_withdrawals**: alerts on places the reseller had sold (Q05: not an error);
   fails, by category, on any other refusal (Q01 to Q03 mapping; F01 to F03, Q08
   technical; X99 external: the places go out again by themselves).
7. **export_access_control**: one CSV per performance with the barcodes to let in and to
   refuse, under `var/reports/access_control/`.
8. **email_sales_summary**: the sales summary of the day the run covers, with the HTML
   report attached.

**The day a run covers** comes from its data interval, never from the clock (see
docs/nightly.md and docs/secutix-nightly.md): to re-run a past night, **Clear** that
night's run.

**Alerts and what to do**:
- *seat lists differ* (external): open the report; places given that differ usually mean
  a CONTINGENT or WITHDRAW whose RESULT is not applied yet (see the journal), tickets sold
  that differ a TICKETS file stuck in the journal; otherwise check with the reseller.
- *price check* (external): the reseller sells at a price that is not the box office's:
  send it the current OFFER, or correct the box-office price.
- *places sold, not withdrawn* (external, Q05): nothing to do, they stay the reseller's.
- *failed task*, the e-mail gives the file, the line and the code:
  - *mapping error* (Q01 to Q03): fix `include/mappings/secutix/` or the product's offer,
    then ask the places back again;
  - *external error* (T01 to T04, T21 on a STOCK): ask the reseller to replace the file
    (same name, spec section 3 point 7); the next run lands it, or **Clear** the task. A
    failed STOCK stops the ones behind it: **set it aside** in the journal if the reseller
    will not replace it;
  - *external error* (X99, or no RESULT before the wait's timeout): the places stay the
    reseller's and are never sent twice; the next run waits again or sends them again;
    call the reseller if it persists;
  - *technical error*: call support with the task's log.
"""


def land_new_files(settings: SecutixSettings) -> dict[str, Any]:
    """Every new file (with its control file) of the reseller's folder into the journal;
    the applied ones moved to ``done/``."""
    from reseller_sync.secutix.inbound import land_new_files as land

    return land(settings)


def reconcile_inventory(settings: SecutixSettings) -> Sequence[StockReconciliation]:
    """Each STOCK file ready, in date order, against the box office; a report each.
    Reconciled files are moved to ``done/``."""
    from reseller_sync.pipelines.inbound import archive_applied
    from reseller_sync.secutix.inbound import transport_for
    from reseller_sync.secutix.mappings import load_repository
    from reseller_sync.secutix.stock import reconcile_pending

    results = reconcile_pending(None, settings, load_repository())
    if results:
        archive_applied(transport_for(settings), settings.reseller_code)
    return results


def verify_prices(session: Session, settings: SecutixSettings, today: dt.date) -> PriceCheck:
    from reseller_sync.secutix.prices import verify_prices as verify

    return verify(session, settings, today)


def send_withdrawals(settings: SecutixSettings) -> dict[str, Any]:
    """The places asked back, in one WITHDRAW file; acts on the present."""
    from reseller_sync.boxoffice.db import default_engine
    from reseller_sync.secutix.inbound import transport_for
    from reseller_sync.secutix.withdrawal import send_withdrawals as send

    return send(default_engine(), transport_for(settings), settings).summary()


def await_withdrawal_answers(
    sent: XComArg, poll_interval: dt.timedelta, timeout: dt.timedelta
) -> XComArg:
    """The deferred wait for each WITHDRAW file's RESULT, as a task of the DAG being
    built."""
    from reseller_sync.secutix.withdrawal_wait import await_withdraw_results

    return await_withdraw_results(sent, poll_interval, timeout)


def withdrawal_answers(settings: SecutixSettings, answered: Sequence[str]) -> list[WithdrawAnswer]:
    """What the reseller answered to each WITHDRAW named, line by line; the RESULTs moved
    to ``done/``."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.pipelines.inbound import archive_applied
    from reseller_sync.secutix.inbound import transport_for
    from reseller_sync.secutix.withdrawal import record_withdraw_result

    transport = transport_for(settings)
    answers = []
    for name in answered:
        with session_scope() as session:
            answer = record_withdraw_result(session, transport, name)
        if answer is not None:
            answers.append(answer)
    if answers:
        archive_applied(transport, settings.reseller_code)
    return answers
