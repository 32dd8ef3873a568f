"""FNAC's onboarding of a product (``fnac-exchange-v1`` sections 3, 7.2, 8.1, 8.2), step by
step: what the reseller-neutral builder (:mod:`reseller_sync.airflow.onboarding_dag`) makes
``fnac_onboarding__<product>`` of, through the adapter's ``onboarding_steps()``.

Each step is a plain function of the product's code, run inside a task: the
FICHE and the PLACES are sent once (the journal knows what was sent) and FNAC's
ACK is waited for in the triggerer; a person records FNAC's codes; the TEST file
is integrated, checked and cancelled. The work itself is in
``reseller_sync.pipelines``; these functions read the run's form, wire the
settings, and say what to wait for.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from airflow.sdk import TriggerRule
from airflow.sdk.exceptions import AirflowSkipException

from reseller_sync.airflow.steps import (
    DRY_RUN,
    RESEND_SALE_SHEET,
    ApprovalStep,
    OnboardingStep,
    PlainStep,
    SendAndWaitStep,
    form_values,
    run_started,
)
from reseller_sync.airflow.waiting import Wait
from reseller_sync.domain.errors import ExternalError, MappingError
from reseller_sync.exchange.watch import Wanted, WatchOutcome
from reseller_sync.fnac.adapter import RESELLER_TYPE

log = logging.getLogger(__name__)

ACK_TIMEOUT = dt.timedelta(hours=4)
"""FNAC answers within 15 minutes (spec 3): four hours without an ACK is an incident."""
TEST_TICKETS_TIMEOUT = dt.timedelta(days=14)

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
   for FNAC's ACK in the triggerer (shown *deferred*, no worker held), and
   e-mails the readable sale sheet to the FNAC contact. *Refused*: the e-mail
   names FNAC's error code and what to do. *No ACK in 4 hours*: call FNAC.
3. **confirm_fnac_codes_recorded**: FNAC answers the sale sheet with its codes
   by e-mail. Record them in `include/mappings/fnac/{product}.yaml`, deploy, then
   approve this step under **Required Actions**. *Reject* stops the run.
4. **check_mappings**: every value the product uses has its FNAC code.
   *Fails*: a mapping error saying what to add where.
5. **send_places** (events and competitions): the seats and free places of
   FNAC's quota (PLACES); the step then waits for FNAC's ACK (deferred). Places FNAC
   already holds (E06) are fine; any other refusal fails with the lines.
   Skipped for a pass, whose quota travels in the sale sheet.
6. **integrate_test_tickets**: waits (deferred, 14 days at most) for FNAC's
   TEST file, integrates the test tickets, checks that access control accepts
   every barcode and that every type de tarif × catégorie de client set up got
   one, then cancels them.
7. **open_sales**: the product is live at FNAC; the hourly DAG `fnac_inbound`
   integrates its sales from now on.

**Form**: *resend the sale sheet* sends one new FICHE in this run even if one
was acknowledged; *dry run* builds every file, shows it in the logs and sends
nothing.
"""


def doc(product_code: str) -> str:
    """The onboarding DAG's documentation for the product."""
    return DOC.format(product=product_code)


# The steps. Each runs inside a task: the run's form values come from its context.


def check_product(product_code: str) -> dict[str, Any]:
    """Step 1: the product may be sold at FNAC; on a dry run, its files, built and logged."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.fnac.product_check import ensure_product_ready

    with session_scope() as session:
        ensure_product_ready(session, _settings(), product_code)
    if not form_values()[DRY_RUN]:
        return {"checked": product_code}
    return _preview_files(product_code)


def send_sale_sheet(product_code: str) -> dict[str, Any] | Wait:
    """Step 2: the FICHE sent once (or once more in this run if asked); its ACK if FNAC has
    answered already (then the e-mail), else what to wait for."""
    from reseller_sync.boxoffice.db import default_engine
    from reseller_sync.fnac.outbound import transport_for
    from reseller_sync.fnac.sale_sheet import send_sale_sheet as send

    params = form_values()
    if params[DRY_RUN]:
        raise AirflowSkipException("dry run: the sale sheet is shown in check_product's log")
    settings = _settings()
    sent = send(
        default_engine(),
        transport_for(settings),
        settings,
        product_code,
        force=bool(params[RESEND_SALE_SHEET]),
        resend_since=run_started(),
    )
    if sent.sent_now:
        log.info("Sale sheet %s sent (%d lines)", sent.name, sent.line_count)
    assert sent.name is not None
    answer = _ack_or_wait(settings, sent.name, look=not sent.sent_now)
    return _sale_sheet_acknowledged(product_code, answer)


def sale_sheet_answered(product_code: str, outcome: WatchOutcome) -> dict[str, Any] | Wait:
    """Step 2, resumed: FNAC's ACK of the FICHE applied, then the e-mail."""
    sent = _acknowledged_file(outcome)
    return _sale_sheet_acknowledged(product_code, _ack_or_wait(_settings(), sent, outcome))


def _sale_sheet_acknowledged(
    product_code: str, answer: dict[str, Any] | Wait
) -> dict[str, Any] | Wait:
    if isinstance(answer, Wait):
        return answer
    return {**answer, "emailed": _email_sale_sheet(product_code, answer["file"])}


def codes_not_recorded(product_code: str) -> MappingError:
    """Step 3 rejected: what a person does before the onboarding goes on."""
    return MappingError(
        "A person answered that FNAC's codes are not recorded yet (Reject)",
        action="Record FNAC's codes in include/mappings/fnac/ (the product's file, "
        "_shared.yaml for shared values), deploy, then trigger the onboarding again: "
        "what was sent is not sent again.",
    )


def check_mappings(product_code: str) -> list[str]:
    """Step 4: every value the product uses has its FNAC code."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.fnac.mapping_check import ensure_mappings
    from reseller_sync.fnac.mappings import load_repository

    with session_scope() as session:
        result = ensure_mappings(_settings(), load_repository(), session, products=[product_code])
    _advance(product_code, "mapped")
    return list(result.notes)


def send_places(product_code: str) -> dict[str, Any] | Wait:
    """Step 5: the PLACES of FNAC's quota sent once, then FNAC's ACK (skipped for a pass)."""
    from reseller_sync.boxoffice.db import default_engine
    from reseller_sync.fnac.outbound import SendStatus, transport_for
    from reseller_sync.fnac.places import send_places as send

    settings = _settings()
    sent = send(default_engine(), transport_for(settings), settings, product_code)
    if sent.status is SendStatus.SKIPPED:
        raise AirflowSkipException(sent.reason or "nothing to send")
    if sent.sent_now:
        log.info("Places %s sent (%d lines)", sent.name, sent.line_count)
    assert sent.name is not None
    return _places_acknowledged(
        product_code, _ack_or_wait(settings, sent.name, look=not sent.sent_now)
    )


def places_answered(product_code: str, outcome: WatchOutcome) -> dict[str, Any] | Wait:
    """Step 5, resumed: FNAC's ACK of the PLACES applied."""
    sent = _acknowledged_file(outcome)
    return _places_acknowledged(product_code, _ack_or_wait(_settings(), sent, outcome))


def _places_acknowledged(product_code: str, answer: dict[str, Any] | Wait) -> dict[str, Any] | Wait:
    if not isinstance(answer, Wait):
        _advance(product_code, "places_sent")
    return answer


def integrate_test_tickets(product_code: str) -> dict[str, Any] | Wait:
    """Step 6: FNAC's TEST file integrated, checked at access control, cancelled; or what to
    wait for while FNAC has sent none for the product."""
    if form_values()[DRY_RUN]:
        raise AirflowSkipException("dry run: nothing was sent, no test ticket to wait for")
    return _test_tickets_or_wait(product_code)


def tickets_answered(product_code: str, outcome: WatchOutcome) -> dict[str, Any] | Wait:
    """Step 6, resumed: a new TEST file came (or none by the deadline)."""
    if outcome.timed_out:
        raise ExternalError(
            f"FNAC sent no TEST file for {product_code} by {_shown(outcome.deadline)}"
            f"{_looks_failed(outcome)}",
            action="Call FNAC: ask for the test tickets (TEST file) of the product's "
            "manifestation. Once the file is in /retour/, clear this task: nothing is sent "
            "again.",
        )
    return _test_tickets_or_wait(product_code, outcome)


def _test_tickets_or_wait(
    product_code: str, outcome: WatchOutcome | None = None
) -> dict[str, Any] | Wait:
    """Land what FNAC sent, then the test-ticket step; a wait for a TEST file newer than any
    landed (and than those the trigger saw) while none concerns the product."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.fnac.mappings import load_repository
    from reseller_sync.fnac.names import FileName, FileType
    from reseller_sync.fnac.outbound import transport_for
    from reseller_sync.fnac.test_tickets import last_test_sequence, run_test_ticket_step
    from reseller_sync.pipelines.inbound import land_new_files

    settings = _settings()
    landing = land_new_files(None, settings.reseller_code, transport_for(settings))
    report = run_test_ticket_step(None, settings, load_repository(), product_code)
    if report is None:
        seen = outcome.found if outcome else ()
        if refused := [problem for problem in landing.refused if problem.file in seen]:
            raise ExternalError(
                "FNAC's TEST file was refused and not downloaded",
                problems=refused,
                action="Ask FNAC to replace the file named below, then clear this task.",
            )
        with session_scope() as session:
            after = last_test_sequence(session)
        log.info("No TEST file for %s yet (the last landed: %06d)", product_code, after)
        return Wait.in_inbox(
            settings,
            Wanted(
                file_type=FileType.TEST.value,
                after_seq=max([after, *(FileName.parse(name).seq for name in seen)]),
                reseller=RESELLER_TYPE.code,
            ),
            within=TEST_TICKETS_TIMEOUT,
            until=outcome.deadline if outcome else None,
        )
    if report.earlier:
        log.info("Test tickets of %s checked by an earlier run: %s", product_code, report.files)
    _advance(product_code, "tested")
    return {
        "files": list(report.files),
        "tickets": report.tickets,
        "pairs": [f"{t}×{c}" for t, c in report.pairs_covered],
        "cancelled": report.cancelled,
        "checked_earlier": report.earlier,
    }


def open_sales(product_code: str) -> str:
    """Step 7: the product is live at FNAC; the hourly DAG takes over."""
    _advance(product_code, "live")
    return "live"


STEPS: tuple[OnboardingStep, ...] = (
    PlainStep(
        task_id="check_product",
        run=check_product,
        doc_md="Check that FNAC may sell the product and that it is set up to be "
        "sold; on a dry run, build its files and show them.",
    ),
    SendAndWaitStep(
        task_id="send_sale_sheet",
        send=send_sale_sheet,
        answered=sale_sheet_answered,
        doc_md="Send the FICHE (never twice unless asked), wait for FNAC's ACK in the "
        "triggerer, e-mail the readable sale sheet to the FNAC contact.",
    ),
    ApprovalStep(
        task_id="confirm_fnac_codes_recorded",
        subject="FNAC's codes for {product} recorded?",
        body=(
            "FNAC answers the sale sheet of **{product}** with its codes "
            "(manifestation, salle, blocs, types de tarif, catégories de client, "
            "allotement) by e-mail. Record them in `include/mappings/fnac/{product}"
            ".yaml` (and `_shared.yaml` for shared values), deploy, then **Approve**. "
            "**Reject** stops this onboarding."
        ),
        rejected=codes_not_recorded,
        doc_md="A person confirms that FNAC's codes are in include/mappings/fnac/.",
    ),
    PlainStep(
        task_id="check_mappings",
        run=check_mappings,
        doc_md="Every value the product uses has its FNAC code, in FNAC's formats.",
    ),
    SendAndWaitStep(
        task_id="send_places",
        send=send_places,
        answered=places_answered,
        doc_md="Send the seats and free places of FNAC's quota (events only) and "
        "wait for FNAC's ACK in the triggerer; E06 is fine, other refusals fail.",
    ),
    SendAndWaitStep(
        task_id="integrate_test_tickets",
        send=integrate_test_tickets,
        answered=tickets_answered,
        trigger_rule=TriggerRule.NONE_FAILED,
        doc_md="Wait in the triggerer for FNAC's TEST file; integrate, check and "
        "cancel the tickets.",
    ),
    PlainStep(
        task_id="open_sales",
        run=open_sales,
        doc_md="Mark the product live at FNAC: the hourly DAG takes over.",
    ),
)
"""FNAC's onboarding, in order; the task ids are those of the running installations."""


def _preview_files(product_code: str) -> dict[str, Any]:
    """Dry run: the FICHE and, when mapped, the PLACES, built and logged; nothing sent."""
    from reseller_sync.boxoffice.db import default_engine
    from reseller_sync.fnac import places, sale_sheet
    from reseller_sync.fnac.outbound import transport_for

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
    from reseller_sync.fnac.sale_sheet import email_sale_sheet

    settings = _settings()
    if not email_sale_sheet(default_engine(), settings, product_code, sent, send_html_mail):
        log.info("The sale sheet of %s went to the FNAC contact already", sent)
    return settings.notifications.fnac_contact_email


def _settings() -> Any:
    from reseller_sync.fnac.adapter import load_settings

    return load_settings()


def _ack_or_wait(
    settings: Any, sent: str, outcome: WatchOutcome | None = None, *, look: bool = True
) -> dict[str, Any] | Wait:
    """FNAC's ACK of ``sent`` applied (its refusal raised, sorted by category), or what to
    wait for: the ACK by name (spec 7.6). ``outcome``: the trigger's, once it fired.

    ``look=False`` waits without looking first: a file sent a moment ago has no ACK yet
    (FNAC answers within 15 minutes), and the trigger's first look is at once. A file
    sent earlier (a retry, a re-run) is looked for first: its ACK may be in the journal
    already."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.fnac.acks import await_ack
    from reseller_sync.fnac.names import ack_name
    from reseller_sync.fnac.outbound import transport_for

    if outcome is not None and outcome.timed_out:
        raise ExternalError(
            f"FNAC sent no ACK of {sent} by {_shown(outcome.deadline)}{_looks_failed(outcome)}",
            file=sent,
            action=f"Call FNAC with the file name {sent}: ask whether it received the file "
            "and why it has not answered (spec 3: within 15 minutes). Once the ACK is in "
            "/retour/, clear this task: the file is not sent again.",
        )
    answer = None
    if look:
        with session_scope() as session:
            answer = await_ack(session, transport_for(settings), settings, sent)
    if answer is None:
        return Wait.in_inbox(
            settings,
            Wanted(names=(str(ack_name(sent)),)),
            within=ACK_TIMEOUT,
            until=outcome.deadline if outcome else None,
        )
    answer.raise_for_errors()
    return {"file": sent, "ack": answer.ack_file, "refused_lines": len(answer.refused_lines)}


def _acknowledged_file(outcome: WatchOutcome) -> str:
    """The file whose ACK the trigger watched for."""
    from reseller_sync.fnac.names import FileName

    answered = FileName.parse(outcome.wanted.names[0]).answered
    assert answered is not None, outcome.wanted
    return str(answered)


def _shown(moment: dt.datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _looks_failed(outcome: WatchOutcome) -> str:
    """Why FNAC's silence may be its server's: the failed looks, if any."""
    if not outcome.failed_looks:
        return ""
    return (
        f" ({outcome.failed_looks} of {outcome.looks} looks at FNAC's server failed, the "
        f"last: {outcome.last_failure})"
    )


def _advance(product_code: str, state: str) -> None:
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.boxoffice.models import OnboardingState
    from reseller_sync.fnac.onboarding_state import set_onboarding_state

    with session_scope() as session:
        set_onboarding_state(session, product_code, OnboardingState(state))
