"""One ``fnac_onboarding__<product>`` DAG per product on sale at FNAC.

Products come from the interface settings (``include/config/fnac.yaml``), not
from the database, so parsing stays fast. Each task is a thin wrapper around
a plain function of ``reseller_sync.pipelines``; a failing step stops the
steps behind it, and re-running after the fix resumes without sending a
file twice (the journal knows what was sent).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any

import pendulum
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG, Param, TriggerRule, get_current_context, task
from airflow.sdk.bases.sensor import PokeReturnValue
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import AirflowSkipException

from reseller_sync.airflow.failures import task_defaults

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
   the box office or the settings.
2. **send_sale_sheet**: the FICHE file, uploaded to FNAC; then
   **wait_for_sale_sheet_ack** waits for FNAC's answer without holding a
   worker, and **email_sale_sheet** e-mails the readable sale sheet to the
   FNAC contact. *Refused*: the e-mail names FNAC's error code and what to do.
3. **confirm_fnac_codes_recorded**: FNAC answers the sale sheet with its codes
   by e-mail. Record them in `include/mappings/{product}.yaml`, deploy, then
   approve this step under **Required Actions**. *Reject* stops the run.
4. **check_mappings**: every value the product uses has its FNAC code.
   *Fails*: a mapping error saying what to add where.
5. **send_places** (events and competitions): the seats and free places of
   FNAC's quota (PLACES), then **wait_for_places_ack**. Places FNAC already
   holds (E06) are fine; any other refusal fails with the lines. Skipped for a
   pass, whose quota travels in the sale sheet.
6. **integrate_test_tickets**: waits for FNAC's TEST file, integrates the test
   tickets, checks that access control accepts every barcode and that every
   type de tarif × catégorie de client set up got one, then cancels them.
7. **open_sales**: the product is live at FNAC; the hourly DAG `fnac_inbound`
   integrates its sales from now on.

**Form**: *resend the sale sheet* sends a new FICHE even if one was
acknowledged; *dry run* builds every file, shows it in the logs and sends
nothing.
"""


def onboarding_dag_id(product_code: str) -> str:
    return DAG_ID_PREFIX + product_code.lower()


def build_onboarding_dags(product_codes: list[str] | tuple[str, ...]) -> dict[str, DAG]:
    """The DAGs of these products, by DAG id."""
    dags = (build_onboarding_dag(code) for code in product_codes)
    return {dag.dag_id: dag for dag in dags}


def build_onboarding_dag(product_code: str) -> DAG:
    poke = float(os.environ.get(POKE_SECONDS_VARIABLE, "60"))
    with DAG(
        dag_id=onboarding_dag_id(product_code),
        description=f"Put {product_code} on sale at FNAC, step by step",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        tags=["fnac", "onboarding"],
        default_args=task_defaults(),
        doc_md=DOC.format(product=product_code),
    ) as dag:

        @task.branch(
            doc_md="Check that FNAC may sell the product and that it is set up to be "
            "sold; then send the files, or only build them for a dry run."
        )
        def check_product() -> str:
            from reseller_sync.boxoffice.db import session_scope
            from reseller_sync.pipelines.product_check import ensure_product_ready

            with session_scope() as session:
                ensure_product_ready(session, _settings(), product_code)
            return "preview_files" if _params()["dry_run"] else "send_sale_sheet"

        @task(doc_md="Dry run: build the FICHE and, when mapped, the PLACES; send nothing.")
        def preview_files() -> dict[str, Any]:
            from reseller_sync.boxoffice.db import default_engine
            from reseller_sync.pipelines import places, sale_sheet
            from reseller_sync.pipelines.outbound import transport_for

            settings, engine = _settings(), default_engine()
            transport = transport_for(settings)
            fiche = sale_sheet.send_sale_sheet(
                engine, transport, settings, product_code, dry_run=True
            )
            log.info("Sale sheet %s (%d lines):\n%s", fiche.name, fiche.line_count, fiche.preview)
            shown = {"sale_sheet": fiche.name}
            try:
                seats = places.send_places(engine, transport, settings, product_code, dry_run=True)
            except Exception as error:
                log.warning("Places not built: %s", error)
                return shown
            if seats.preview:
                log.info("Places %s (%d lines):\n%s", seats.name, seats.line_count, seats.preview)
            return {**shown, "places": seats.name or seats.reason}

        @task(
            doc_md="Build the FICHE from the box office and upload it (never twice unless asked)."
        )
        def send_sale_sheet() -> str:
            from reseller_sync.boxoffice.db import default_engine
            from reseller_sync.pipelines.outbound import transport_for
            from reseller_sync.pipelines.sale_sheet import send_sale_sheet as send

            settings = _settings()
            result = send(
                default_engine(),
                transport_for(settings),
                settings,
                product_code,
                force=bool(_params()["resend_sale_sheet"]),
            )
            log.info("Sale sheet %s: %s", result.name, result.status)
            _advance(product_code, "sale_sheet_sent")
            assert result.name is not None
            return result.name

        @task.sensor(
            poke_interval=poke,
            timeout=ACK_TIMEOUT.total_seconds(),
            mode="reschedule",
            doc_md="Wait for FNAC's ACK of the sale sheet; fail with FNAC's reasons.",
        )
        def wait_for_sale_sheet_ack(sent: str) -> PokeReturnValue:
            return _poke_ack(sent)

        @task(doc_md="E-mail the readable sale sheet (HTML) to the FNAC contact.")
        def email_sale_sheet(sent: str) -> str:
            from reseller_sync.airflow.failures import send_html_mail
            from reseller_sync.boxoffice.db import session_scope
            from reseller_sync.pipelines.sale_sheet import build_sale_sheet, render_sale_sheet

            settings = _settings()
            with session_scope() as session:
                html = render_sale_sheet(build_sale_sheet(session, settings, product_code))
            contact = settings.notifications.fnac_contact_email
            send_html_mail([contact], f"Fiche de mise en vente {product_code} ({sent})", html)
            return contact

        confirm_fnac_codes_recorded = ApprovalOperator(
            task_id="confirm_fnac_codes_recorded",
            subject=f"FNAC's codes for {product_code} recorded?",
            body=(
                f"FNAC answers the sale sheet of **{product_code}** with its codes "
                "(manifestation, salle, blocs, types de tarif, catégories de client, "
                f"allotement) by e-mail. Record them in `include/mappings/{product_code}.yaml` "
                "(and `_shared.yaml` for shared values), deploy, then **Approve**. "
                "**Reject** stops this onboarding."
            ),
            fail_on_reject=True,
            doc_md="A person confirms that FNAC's codes are in include/mappings/.",
            retries=0,
        )

        @task(doc_md="Every value the product uses has its FNAC code, in FNAC's formats.")
        def check_mappings() -> list[str]:
            from reseller_sync.boxoffice.db import session_scope
            from reseller_sync.mappings.check import ensure_mappings
            from reseller_sync.mappings.repository import load_repository

            with session_scope() as session:
                result = ensure_mappings(
                    _settings(), load_repository(), session, products=[product_code]
                )
            _advance(product_code, "mapped")
            return list(result.notes)

        @task(doc_md="Send the seats and free places of FNAC's quota (events only).")
        def send_places() -> str:
            from reseller_sync.boxoffice.db import default_engine
            from reseller_sync.pipelines.outbound import SendStatus, transport_for
            from reseller_sync.pipelines.places import send_places as send

            settings = _settings()
            result = send(default_engine(), transport_for(settings), settings, product_code)
            if result.status is SendStatus.SKIPPED:
                raise AirflowSkipException(result.reason or "nothing to send")
            log.info("Places %s: %s (%d lines)", result.name, result.status, result.line_count)
            assert result.name is not None
            return result.name

        @task.sensor(
            poke_interval=poke,
            timeout=ACK_TIMEOUT.total_seconds(),
            mode="reschedule",
            doc_md="Wait for FNAC's ACK of the places; E06 is fine, other refusals fail.",
        )
        def wait_for_places_ack(sent: str) -> PokeReturnValue:
            outcome = _poke_ack(sent)
            if outcome.is_done:
                _advance(product_code, "places_sent")
            return outcome

        @task.sensor(
            poke_interval=poke,
            timeout=TEST_TICKETS_TIMEOUT.total_seconds(),
            mode="reschedule",
            trigger_rule=TriggerRule.NONE_FAILED,
            doc_md="Wait for FNAC's TEST file; integrate, check and cancel the tickets.",
        )
        def integrate_test_tickets() -> PokeReturnValue:
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
            _advance(product_code, "tested")
            return PokeReturnValue(
                is_done=True,
                xcom_value={
                    "files": list(report.files),
                    "tickets": report.tickets,
                    "pairs": [f"{t}×{c}" for t, c in report.pairs_covered],
                    "cancelled": report.cancelled,
                },
            )

        @task(doc_md="Mark the product live at FNAC: the hourly DAG takes over.")
        def open_sales() -> str:
            _advance(product_code, "live")
            return "live"

        checked = check_product()
        sheet = send_sale_sheet()
        acknowledged = wait_for_sale_sheet_ack(sheet)
        mapped = check_mappings()
        seats = send_places()
        seats_acknowledged = wait_for_places_ack(seats)
        tested = integrate_test_tickets()
        checked >> [preview_files(), sheet]
        acknowledged >> email_sale_sheet(sheet) >> confirm_fnac_codes_recorded >> mapped >> seats
        seats_acknowledged >> tested >> open_sales()
    # The trigger form, attached once the tasks exist: Airflow deep-copies a DAG's
    # params into every task created under it (9 ms a product DAG, against a parse
    # budget of 5 ms); the tasks read the run's conf over FORM_DEFAULTS instead.
    dag.params = ParamsDict(trigger_form())
    return dag


def trigger_form() -> dict[str, Param]:
    return {
        "resend_sale_sheet": Param(
            FORM_DEFAULTS["resend_sale_sheet"],
            type="boolean",
            title="Resend the sale sheet",
            description="Send a new FICHE even if FNAC acknowledged one already.",
        ),
        "dry_run": Param(
            FORM_DEFAULTS["dry_run"],
            type="boolean",
            title="Dry run",
            description="Build every file and show it in the logs; send nothing.",
        ),
    }


def _settings() -> Any:
    from reseller_sync.config.settings import load_settings

    return load_settings()


def _params() -> dict[str, Any]:
    """The trigger form's values: the run's conf over the form's defaults."""
    context = get_current_context()
    conf = context["dag_run"].conf or {}
    return {**FORM_DEFAULTS, **dict(context["params"]), **conf}


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
        xcom_value={"ack": outcome.ack_file, "refused_lines": len(outcome.refused_lines)},
    )


def _advance(product_code: str, state: str) -> None:
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.boxoffice.models import OnboardingState
    from reseller_sync.pipelines.onboarding import set_onboarding_state

    with session_scope() as session:
        set_onboarding_state(session, product_code, OnboardingState(state))
