"""FNAC's part of the nightly run (``fnac-exchange-v1`` sections 7.5, 8.3): ETATPL
reconciled, DECONT sent and its ACKs applied. The reseller-neutral builder
(:mod:`reseller_sync.airflow.nightly_dag`) calls these through the adapter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk.definitions.xcom_arg import XComArg
    from sqlalchemy.orm import Session

    from reseller_sync.fnac.prices import PriceCheck
    from reseller_sync.fnac.reconciliation import Reconciliation
    from reseller_sync.fnac.settings import FnacSettings
    from reseller_sync.fnac.withdrawal import WithdrawalAnswer

DOC = """
### FNAC nightly maintenance, 03:00 venue time (`boxoffice.venue_timezone`)

FNAC writes the state of its allotment (ETATPL) around 02:00. This DAG, at 03:00:

1. **land_files**: downloads every new file of `/retour/` into the exchange
   journal (the ETATPL among them; the hourly DAG integrates the others).
2. **reconcile_seats**: compares each ETATPL, in sequence order, with the
   places the box office gives FNAC and the sales it integrated. Differences
   (places held but not given and the reverse, sales not integrated, sales
   FNAC reports unsold) raise an *external* alert "seat lists differ" with a
   link to the HTML report (kept under `var/reports/reconciliation/`, or
   `$RESELLER_SYNC_REPORTS_DIR`).
3. **verify_prices**: FNAC's latest sale price per performance, category and
   tariff of the live products against the box office's; differences raise an
   *external* alert with the list.
4. **send_withdrawals**: the places asked back from FNAC (requests made with
   `reseller_sync.fnac.withdrawal.request_withdrawal`, and every unsold
   FNAC place of a performance closer than
   `nightly.withdraw_unsold_days_before_performance` days) go out in one
   DECONT file.
5. **await_withdrawal_acks**: waits for FNAC's ACK in the triggerer (deferred,
   no worker held); each ACK is applied as it arrives: places
   withdrawn leave FNAC's quota, places FNAC sold (E07) stay FNAC's.
6. **report_withdrawals**: alerts on places FNAC sold (E07: not an error);
   fails on any other refusal, sorted by category.
7. **export_access_control**: one CSV per performance with the barcodes to
   let in and to refuse, under `var/reports/access_control/`.
8. **email_sales_summary**: the sales summary of the day the run covers, with
   the HTML report attached.

**The day a run covers** comes from its data interval, never from the clock:
the run whose interval ends on 2 December 03:00 (venue time) stands for
2 December and reports the sales of 1 December, however late it runs or is
re-run. To re-run a past night, **Clear** that night's run, or trigger the DAG
(UI or REST API) with the logical date of the morning after the day wanted
(e.g. `2026-12-02T03:00:00+01:00` for 1 December); not with `airflow dags
trigger`, which gives the run the interval of the moment it is typed (see
docs/nightly.md).

**When a task fails**, the e-mail says which file, which lines and what to do:
- *mapping error*: fix `include/mappings/fnac/`, then **Clear** the failed task.
- *external error*: the task retried already; check with FNAC (quote the file).
- *technical error*: call support with the task's log.

A failed ETATPL stops the ETATPL files behind it until it is fixed. A DECONT
whose ACK has not come is awaited again by the next run; its places stay
FNAC's until then, and are never sent twice.
"""


def land_new_files(settings: FnacSettings) -> dict[str, Any]:
    """Every new file of FNAC's folder into the journal (ETATPL among them)."""
    from reseller_sync.fnac.outbound import transport_for
    from reseller_sync.pipelines.inbound import land_new_files as land

    return land(None, settings.reseller_code, transport_for(settings)).summary()


def reconcile_inventory(settings: FnacSettings) -> Sequence[Reconciliation]:
    """Each ETATPL waiting, in sequence order, against the box office; a report each."""
    from reseller_sync.fnac.mappings import load_repository
    from reseller_sync.fnac.reconciliation import reconcile_pending

    return reconcile_pending(None, settings, load_repository())


def verify_prices(session: Session, settings: FnacSettings, today: dt.date) -> PriceCheck:
    from reseller_sync.fnac.prices import verify_prices as verify

    return verify(session, settings, today)


def send_withdrawals(settings: FnacSettings) -> dict[str, Any]:
    """The places asked back, in one DECONT; acts on the present (see the builder)."""
    from reseller_sync.boxoffice.db import default_engine
    from reseller_sync.fnac.mappings import load_repository
    from reseller_sync.fnac.outbound import transport_for
    from reseller_sync.fnac.withdrawal import send_withdrawals as send

    return send(default_engine(), transport_for(settings), settings, load_repository()).summary()


def await_withdrawal_answers(
    sent: XComArg, poll_interval: dt.timedelta, timeout: dt.timedelta
) -> XComArg:
    """The deferred wait for each DECONT's ACK, as a task of the DAG being built."""
    from reseller_sync.fnac.withdrawal_wait import await_withdrawal_acks

    return await_withdrawal_acks(sent, poll_interval, timeout)


def withdrawal_answers(settings: FnacSettings, answered: Sequence[str]) -> list[WithdrawalAnswer]:
    """What FNAC answered to each DECONT named, line by line."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.fnac.outbound import transport_for
    from reseller_sync.fnac.withdrawal import record_withdrawal_ack

    transport = transport_for(settings)
    answers = []
    for name in answered:
        with session_scope() as session:
            answer = record_withdrawal_ack(session, transport, settings, name)
        if answer is not None:
            answers.append(answer)
    return answers
