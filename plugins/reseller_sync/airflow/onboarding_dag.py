"""One ``fnac_onboarding__<product>`` DAG per product on sale at FNAC.

Products come from the interface settings (``include/config/fnac.yaml``), not
from the database, so parsing stays fast. There is one task per step of the
onboarding, each a thin wrapper around a plain function of
``reseller_sync.pipelines``; a failing step stops the steps behind it, and
re-running after the fix resumes without sending a file twice (the journal
knows what was sent).

Parse speed (issue 6: 1,000 products in under 3 s) decides the shape: one
operator per step (Airflow spends about 0.3 ms building each one) and two
small operator classes instead of ``@task``, whose signature inspection costs
several times more. A step that sends a file also waits for FNAC's ACK: it is
a reschedule sensor whose pokes send the file once, then look for the answer.
What every DAG shares (the poke interval, Airflow's settings) is read once per
parse, and Python's cyclic garbage collector is paused while the DAGs are
built: its passes over the growing heap of operators cost up to a third of a
parse here, and building them leaves no garbage cycles worth collecting
meanwhile. See docs/performance.md.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Self

import pendulum
from airflow.providers.standard.exceptions import HITLRejectException
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import (
    DAG,
    BaseOperator,
    BaseSensorOperator,
    Param,
    PokeReturnValue,
    TriggerRule,
    chain,
    get_current_context,
)
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import AirflowSkipException

from reseller_sync.airflow.failures import task_defaults
from reseller_sync.domain.errors import MappingError

log = logging.getLogger(__name__)

DAG_ID_PREFIX = "fnac_onboarding__"
POKE_SECONDS_VARIABLE = "RESELLER_SYNC_POKE_SECONDS"
"""Seconds between two looks for FNAC's answer (ACK, TEST file); 60 unless set."""
ACK_TIMEOUT = dt.timedelta(hours=4)
"""FNAC answers within 15 minutes (spec 3): four hours without an ACK is an incident."""
TEST_TICKETS_TIMEOUT = dt.timedelta(days=14)
FORM_DEFAULTS: dict[str, bool] = {"resend_sale_sheet": False, "dry_run": False}

DOC = """
### Put {product} on sale at FNAC

Trigger it from the UI (**Trigger DAG**, with its form). Each step stops the
ones behind it when it fails; fix the cause, then **Clear** the failed task:
the run resumes there, and no file is sent twice unless you ask for it.

1. **check_product**: a kind FNAC may sell, on sale in the FNAC channel, a
   quota with places, future performances, a price for every category and
   tariff offered. *Fails*: the e-mail lists every problem; fix the product in
   the box office or the settings. On a *dry run* it also builds the files and
   shows them in its log; every later step is then skipped.
2. **send_sale_sheet**: the FICHE file, uploaded to FNAC; the step then waits
   for FNAC's ACK without holding a worker, and e-mails the readable sale
   sheet to the FNAC contact. *Refused*: the e-mail names FNAC's error code and
   what to do.
3. **confirm_fnac_codes_recorded**: FNAC answers the sale sheet with its codes
   by e-mail. Record them in `include/mappings/{product}.yaml`, deploy, then
   approve this step under **Required Actions**. *Reject* stops the run.
4. **check_mappings**: every value the product uses has its FNAC code.
   *Fails*: a mapping error saying what to add where.
5. **send_places** (events and competitions): the seats and free places of
   FNAC's quota (PLACES); the step then waits for FNAC's ACK. Places FNAC
   already holds (E06) are fine; any other refusal fails with the lines.
   Skipped for a pass, whose quota travels in the sale sheet.
6. **integrate_test_tickets**: waits for FNAC's TEST file, integrates the test
   tickets, checks that access control accepts every barcode and that every
   type de tarif × catégorie de client set up got one, then cancels them.
7. **open_sales**: the product is live at FNAC; the hourly DAG `fnac_inbound`
   integrates its sales from now on.

**Form**: *resend the sale sheet* sends one new FICHE in this run even if one
was acknowledged; *dry run* builds every file, shows it in the logs and sends
nothing.
"""


class _ForProduct:
    """An operator running one step function for one product, built with :meth:`for_product`.

    The operator classes have no ``__init__`` of their own: Airflow wraps every
    operator ``__init__`` in the class hierarchy, and each wrapper merges the
    DAG's defaults again (about 5 % of a parse).
    """

    product_code: str
    step: Callable[[str], Any]

    @classmethod
    def for_product(cls, product_code: str, step: Callable[[str], Any], **kwargs: Any) -> Self:
        task = cls(**kwargs)
        task.product_code, task.step = product_code, step
        return task


class ProductStep(_ForProduct, BaseOperator):
    """A step of a product's onboarding: ``step(product_code)``, whose result goes to XCom."""

    def execute(self, context: Any) -> Any:
        return self.step(self.product_code)


class ProductWait(_ForProduct, BaseSensorOperator):
    """A step that waits for FNAC: each poke is ``step(product_code)``, a PokeReturnValue."""

    def poke(self, context: Any) -> PokeReturnValue:
        answer: PokeReturnValue = self.step(self.product_code)
        return answer


class CodesRecordedApproval(ApprovalOperator):
    """Step 3: a person confirms that FNAC's codes are recorded under Required Actions.

    *Reject* fails the step as a mapping error, whose e-mail says what to do,
    rather than as Airflow's ``HITLRejectException``, which reads as a bug.
    """

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        try:
            return super().execute_complete(context=context, event=event)
        except HITLRejectException as rejected:
            raise MappingError(
                "A person answered that FNAC's codes are not recorded yet (Reject)",
                action="Record FNAC's codes in include/mappings/ (the product's file, "
                "_shared.yaml for shared values), deploy, then trigger the onboarding again: "
                "what was sent is not sent again.",
            ) from rejected


@dataclass(frozen=True)
class SharedSettings:
    """What every onboarding DAG takes from the environment, read once per parse."""

    poke_seconds: float
    disable_bundle_versioning: bool
    """Airflow's own setting, which it would otherwise read again for every DAG."""

    @classmethod
    def read(cls) -> SharedSettings:
        from airflow.sdk.configuration import conf

        return cls(
            poke_seconds=float(os.environ.get(POKE_SECONDS_VARIABLE, "60")),
            disable_bundle_versioning=conf.getboolean("dag_processor", "disable_bundle_versioning"),
        )


def onboarding_dag_id(product_code: str) -> str:
    return DAG_ID_PREFIX + product_code.lower()


def build_onboarding_dags(product_codes: list[str] | tuple[str, ...]) -> dict[str, DAG]:
    """The DAGs of these products, by DAG id."""
    shared = SharedSettings.read()
    with _garbage_collector_paused():
        dags = [build_onboarding_dag(code, shared) for code in product_codes]
    return {dag.dag_id: dag for dag in dags}


def build_onboarding_dag(product_code: str, shared: SharedSettings | None = None) -> DAG:
    shared = shared or SharedSettings.read()
    waiting = {"poke_interval": shared.poke_seconds, "mode": "reschedule"}
    with DAG(
        dag_id=onboarding_dag_id(product_code),
        description=f"Put {product_code} on sale at FNAC, step by step",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        # Given rather than read from Airflow's configuration, a saving at parse
        # time: the steps run one after another, and a person triggers each run.
        max_active_tasks=1,
        max_consecutive_failed_dag_runs=0,
        disable_bundle_versioning=shared.disable_bundle_versioning,
        tags=["fnac", "onboarding"],
        default_args=task_defaults(),
        doc_md=DOC.format(product=product_code),
    ) as dag:
        steps = [
            ProductStep.for_product(
                task_id="check_product",
                product_code=product_code,
                step=check_product,
                doc_md="Check that FNAC may sell the product and that it is set up to be "
                "sold; on a dry run, build its files and show them.",
            ),
            ProductWait.for_product(
                task_id="send_sale_sheet",
                product_code=product_code,
                step=send_sale_sheet,
                timeout=ACK_TIMEOUT.total_seconds(),
                doc_md="Send the FICHE (never twice unless asked), wait for FNAC's ACK, "
                "e-mail the readable sale sheet to the FNAC contact.",
                **waiting,
            ),
            CodesRecordedApproval(
                task_id="confirm_fnac_codes_recorded",
                subject=f"FNAC's codes for {product_code} recorded?",
                body=(
                    f"FNAC answers the sale sheet of **{product_code}** with its codes "
                    "(manifestation, salle, blocs, types de tarif, catégories de client, "
                    f"allotement) by e-mail. Record them in `include/mappings/{product_code}"
                    ".yaml` (and `_shared.yaml` for shared values), deploy, then **Approve**. "
                    "**Reject** stops this onboarding."
                ),
                fail_on_reject=True,
                doc_md="A person confirms that FNAC's codes are in include/mappings/.",
                retries=0,
            ),
            ProductStep.for_product(
                task_id="check_mappings",
                product_code=product_code,
                step=check_mappings,
                doc_md="Every value the product uses has its FNAC code, in FNAC's formats.",
            ),
            ProductWait.for_product(
                task_id="send_places",
                product_code=product_code,
                step=send_places,
                timeout=ACK_TIMEOUT.total_seconds(),
                doc_md="Send the seats and free places of FNAC's quota (events only) and "
                "wait for FNAC's ACK; E06 is fine, other refusals fail.",
                **waiting,
            ),
            ProductWait.for_product(
                task_id="integrate_test_tickets",
                product_code=product_code,
                step=integrate_test_tickets,
                timeout=TEST_TICKETS_TIMEOUT.total_seconds(),
                trigger_rule=TriggerRule.NONE_FAILED,
                doc_md="Wait for FNAC's TEST file; integrate, check and cancel the tickets.",
                **waiting,
            ),
            ProductStep.for_product(
                task_id="open_sales",
                product_code=product_code,
                step=open_sales,
                doc_md="Mark the product live at FNAC: the hourly DAG takes over.",
            ),
        ]
        chain(*steps)
    # The trigger form, attached once the tasks exist: Airflow deep-copies a DAG's
    # params into every task created under it; the tasks read the run's conf over
    # FORM_DEFAULTS instead.
    dag.params = ParamsDict(trigger_form())
    return dag


@contextmanager
def _garbage_collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector, restoring its state (even if it was off) after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def trigger_form() -> dict[str, Param]:
    return {
        "resend_sale_sheet": Param(
            FORM_DEFAULTS["resend_sale_sheet"],
            type="boolean",
            title="Resend the sale sheet",
            description="Send a new FICHE in this run even if FNAC acknowledged one already.",
        ),
        "dry_run": Param(
            FORM_DEFAULTS["dry_run"],
            type="boolean",
            title="Dry run",
            description="Build every file and show it in the logs; send nothing.",
        ),
    }


# The steps. Each runs inside a task: the run's form values come from its context.


def check_product(product_code: str) -> dict[str, Any]:
    """Step 1: the product may be sold at FNAC; on a dry run, its files, built and logged."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.pipelines.product_check import ensure_product_ready

    with session_scope() as session:
        ensure_product_ready(session, _settings(), product_code)
    if not _params()["dry_run"]:
        return {"checked": product_code}
    return _preview_files(product_code)


def send_sale_sheet(product_code: str) -> PokeReturnValue:
    """Step 2: the FICHE sent once (or once more in this run if asked), FNAC's ACK, the e-mail."""
    from reseller_sync.boxoffice.db import default_engine
    from reseller_sync.pipelines.outbound import transport_for
    from reseller_sync.pipelines.sale_sheet import send_sale_sheet as send

    params = _params()
    if params["dry_run"]:
        raise AirflowSkipException("dry run: the sale sheet is shown in check_product's log")
    settings = _settings()
    sent = send(
        default_engine(),
        transport_for(settings),
        settings,
        product_code,
        force=bool(params["resend_sale_sheet"]),
        resend_since=_run_started(),
    )
    if sent.sent_now:
        log.info("Sale sheet %s sent (%d lines)", sent.name, sent.line_count)
    assert sent.name is not None
    answer = _poke_ack(sent.name)
    if answer.is_done:
        contact = _email_sale_sheet(product_code, sent.name)
        answer = PokeReturnValue(
            is_done=True, xcom_value={**(answer.xcom_value or {}), "emailed": contact}
        )
    return answer


def check_mappings(product_code: str) -> list[str]:
    """Step 4: every value the product uses has its FNAC code."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.mappings.check import ensure_mappings
    from reseller_sync.mappings.repository import load_repository

    with session_scope() as session:
        result = ensure_mappings(_settings(), load_repository(), session, products=[product_code])
    _advance(product_code, "mapped")
    return list(result.notes)


def send_places(product_code: str) -> PokeReturnValue:
    """Step 5: the PLACES of FNAC's quota sent once, then FNAC's ACK (skipped for a pass)."""
    from reseller_sync.boxoffice.db import default_engine
    from reseller_sync.pipelines.outbound import SendStatus, transport_for
    from reseller_sync.pipelines.places import send_places as send

    settings = _settings()
    sent = send(default_engine(), transport_for(settings), settings, product_code)
    if sent.status is SendStatus.SKIPPED:
        raise AirflowSkipException(sent.reason or "nothing to send")
    if sent.sent_now:
        log.info("Places %s sent (%d lines)", sent.name, sent.line_count)
    assert sent.name is not None
    answer = _poke_ack(sent.name)
    if answer.is_done:
        _advance(product_code, "places_sent")
    return answer


def integrate_test_tickets(product_code: str) -> PokeReturnValue:
    """Step 6: FNAC's TEST file integrated, checked at access control, cancelled."""
    from reseller_sync.mappings.repository import load_repository
    from reseller_sync.pipelines.inbound import land_new_files, transport_for
    from reseller_sync.pipelines.test_tickets import run_test_ticket_step

    if _params()["dry_run"]:
        raise AirflowSkipException("dry run: nothing was sent, no test ticket to wait for")
    settings = _settings()
    land_new_files(None, transport_for(settings))
    report = run_test_ticket_step(None, settings, load_repository(), product_code)
    if report is None:
        return PokeReturnValue(is_done=False)
    if report.earlier:
        log.info("Test tickets of %s checked by an earlier run: %s", product_code, report.files)
    _advance(product_code, "tested")
    return PokeReturnValue(
        is_done=True,
        xcom_value={
            "files": list(report.files),
            "tickets": report.tickets,
            "pairs": [f"{t}×{c}" for t, c in report.pairs_covered],
            "cancelled": report.cancelled,
            "checked_earlier": report.earlier,
        },
    )


def open_sales(product_code: str) -> str:
    """Step 7: the product is live at FNAC; the hourly DAG takes over."""
    _advance(product_code, "live")
    return "live"


def _preview_files(product_code: str) -> dict[str, Any]:
    """Dry run: the FICHE and, when mapped, the PLACES, built and logged; nothing sent."""
    from reseller_sync.boxoffice.db import default_engine
    from reseller_sync.pipelines import places, sale_sheet
    from reseller_sync.pipelines.outbound import transport_for

    settings, engine = _settings(), default_engine()
    transport = transport_for(settings)
    fiche = sale_sheet.send_sale_sheet(engine, transport, settings, product_code, dry_run=True)
    log.info("Sale sheet %s (%d lines):\n%s", fiche.name, fiche.line_count, fiche.preview)
    shown: dict[str, Any] = {"checked": product_code, "dry_run": True, "sale_sheet": fiche.name}
    try:
        seats = places.send_places(engine, transport, settings, product_code, dry_run=True)
    except Exception as error:
        log.warning("Places not built: %s", error)
        return shown
    if seats.preview:
        log.info("Places %s (%d lines):\n%s", seats.name, seats.line_count, seats.preview)
    return {**shown, "places": seats.name or seats.reason}


def _email_sale_sheet(product_code: str, sent: str) -> str:
    """E-mail the readable sale sheet (HTML) to the FNAC contact once; the contact's address."""
    from reseller_sync.airflow.failures import send_html_mail
    from reseller_sync.boxoffice.db import default_engine
    from reseller_sync.pipelines.sale_sheet import email_sale_sheet

    settings = _settings()
    if not email_sale_sheet(default_engine(), settings, product_code, sent, send_html_mail):
        log.info("The sale sheet of %s went to the FNAC contact already", sent)
    return settings.notifications.fnac_contact_email


def _settings() -> Any:
    from reseller_sync.config.settings import load_settings

    return load_settings()


def _params() -> dict[str, Any]:
    """The trigger form's values: the run's conf over the form's defaults."""
    context = get_current_context()
    conf = context["dag_run"].conf or {}
    return {**FORM_DEFAULTS, **dict(context["params"]), **conf}


def _run_started() -> dt.datetime | None:
    """When this DAG run started: a resend asked for in the form happens once after it."""
    started = get_current_context()["dag_run"].start_date
    return started if started is None else pendulum.instance(started)


def _poke_ack(sent: str) -> PokeReturnValue:
    """Look for the ACK of ``sent``; raise FNAC's refusal sorted by category."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.pipelines.acks import await_ack
    from reseller_sync.pipelines.outbound import transport_for

    settings = _settings()
    with session_scope() as session:
        outcome = await_ack(session, transport_for(settings), settings, sent)
    if outcome is None:
        return PokeReturnValue(is_done=False)
    outcome.raise_for_errors()
    return PokeReturnValue(
        is_done=True,
        xcom_value={
            "file": sent,
            "ack": outcome.ack_file,
            "refused_lines": len(outcome.refused_lines),
        },
    )


def _advance(product_code: str, state: str) -> None:
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.boxoffice.models import OnboardingState
    from reseller_sync.pipelines.onboarding import set_onboarding_state

    with session_scope() as session:
        set_onboarding_state(session, product_code, OnboardingState(state))
