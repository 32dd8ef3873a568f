"""Ticketnet's onboarding of a product (``ticketnet-exchange-v1`` sections 1, 3, 7.1, 7.4, 8
and 9), step by step: what the reseller-neutral builder
(:mod:`reseller_sync.airflow.onboarding_dag`) makes ``ticketnet_onboarding__<product>`` of,
through the adapter's ``onboarding_steps()``.

Each step is a plain function of the product's code, run inside a task: the CATALOG and
the ALLOCATION each go once, in an OFFER batch (:mod:`reseller_sync.ticketnet.outbound`
knows what was sent), and Ticketnet's ACK is waited for in the triggerer; a person
confirms the event at Ticketnet; the onboarding test tickets, which come in the ordinary
SALES stream and which the hourly DAG integrates, are checked at access control, then
their refunds. These functions read the run's form, wire the settings, and say what to
wait for; the work is in plain functions, here and in the modules they call.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowSkipException
from sqlalchemy import select
from sqlalchemy.orm import Session

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
from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    Direction,
    OnboardingState,
    Performance,
    Product,
    Ticket,
    TicketState,
)
from reseller_sync.domain.errors import ExternalError, MappingError, Problem, TechnicalError
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange.watch import Wanted, WatchOutcome
from reseller_sync.pipelines import onboarding_state as neutral_state
from reseller_sync.ticketnet.names import Stream
from reseller_sync.ticketnet.reseller_type import RESELLER_TYPE

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

RESELLER = RESELLER_TYPE.code
CONTRACT = RESELLER_TYPE.contract
ACK_TIMEOUT = dt.timedelta(hours=4)
"""Ticketnet answers within 30 minutes of a manifest (section 3 point 6): four hours without
an ACK is an incident."""
TEST_TICKETS_TIMEOUT = dt.timedelta(days=14)
"""Ticketnet sells its test tickets once it has set the event up, and refunds them within
7 days (section 7.1)."""
ORDER = neutral_state.ORDER
"""The states in the order onboarding goes through them."""

DOC = """
### Put {product} on sale at Ticketnet

Trigger it from the UI (**Trigger DAG**, with its form). Each step stops the
ones behind it when it fails; fix the cause, then **Clear** the failed task:
the run resumes there, and no batch is sent twice unless you ask for it. A
batch Ticketnet answered is never sent again under its number: corrected
content goes as a new OFFER batch, with the next number.

1. **check_product**: a kind Ticketnet may sell (a dated event or competition),
   on sale in the Ticketnet channel, a quota with places, future performances,
   a price at every tariff offered, every value mapped. *Fails*: the e-mail
   lists every problem and what to do; a kind Ticketnet may not sell is refused
   before anything is written. On a *dry run* it builds the CATALOG and shows
   it in its log; every later step is then skipped.
2. **send_catalog**: the CATALOG (events, performances, prices) in an OFFER
   batch; the step then waits for Ticketnet's ACK in the triggerer (shown
   *deferred*, no worker held). The ACK gives Ticketnet's event and performance
   ids, recorded at once. *Refused*: the e-mail names Ticketnet's codes and
   what to do. *No ACK in 4 hours*: call Ticketnet.
3. **confirm_offer_at_ticketnet**: check the event at Ticketnet (its
   performances, prices and sale dates) and that every price type Ticketnet
   uses for it is mapped to a tariff in `include/mappings/ticketnet/`, deploy,
   then approve this step under **Required Actions**. *Reject* stops the run.
4. **check_mappings**: every value the product uses has its Ticketnet code.
   *Fails*: a mapping error saying what to add where.
5. **send_allocation**: the seats and standing places of Ticketnet's quota
   (ALLOCATION), named by Ticketnet's ids, in an OFFER batch; the step then
   waits for the ACK (deferred). Each place is recorded as the ACK states it
   (Ticketnet's, or refused with its code); places Ticketnet holds already (A04)
   are fine; any other refusal fails with the records.
6. **integrate_test_tickets**: Ticketnet sells a few test tickets in its
   ordinary SALES batches (`test=true`), which the hourly DAG
   `ticketnet_inbound` integrates as test tickets. The step waits (deferred,
   14 days at most, a look at each new SALES batch) until the box office holds
   them, checks that access control accepts every barcode, then waits for
   their refunds (reason TEST, within 7 days) and checks that access control
   refuses every barcode.
7. **open_sales**: the product is live at Ticketnet; the hourly DAG
   integrates its sales from now on.

**Form**: *resend the sale sheet* sends one new CATALOG in this run even if
one was acknowledged (a price or date changed); *dry run* builds the CATALOG,
shows it in the logs and sends nothing.
"""


def doc(product_code: str) -> str:
    """The onboarding DAG's documentation for the product."""
    return DOC.format(product=product_code)


# The steps. Each runs inside a task: the run's form values come from its context.


def check_product(product_code: str) -> dict[str, Any]:
    """Step 1: Ticketnet may sell the product and its CATALOG can be built; on a dry run,
    the CATALOG built and logged."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.ticketnet.adapter import check_product as check

    with session_scope() as session:
        check(session, _settings(), product_code).raise_for_problems()
    if not form_values()[DRY_RUN]:
        return {"checked": product_code}
    return _preview(product_code)


def send_catalog(product_code: str) -> dict[str, Any] | Wait:
    """Step 2: the CATALOG sent once (or once more in this run if asked); its ACK applied if
    Ticketnet has answered already, else what to wait for."""
    from reseller_sync.boxoffice.db import default_engine
    from reseller_sync.ticketnet.inbound import transport_for
    from reseller_sync.ticketnet.outbound import send_catalog as send

    params = form_values()
    if params[DRY_RUN]:
        raise AirflowSkipException("dry run: the CATALOG is shown in check_product's log")
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
        log.info("CATALOG of %s sent in %s (%d records)", product_code, sent.batch, sent.records)
    return _acknowledged(
        product_code,
        OnboardingState.SALE_SHEET_SENT,
        _ack_or_wait(settings, sent.batch, look=not sent.sent_now),
    )


def catalog_answered(product_code: str, outcome: WatchOutcome) -> dict[str, Any] | Wait:
    """Step 2, resumed: Ticketnet's ACK of the CATALOG applied, its ids recorded."""
    answer = _ack_or_wait(_settings(), _batch_of(outcome), outcome)
    return _acknowledged(product_code, OnboardingState.SALE_SHEET_SENT, answer)


def offer_not_confirmed(product_code: str) -> MappingError:
    """Step 3 rejected: what a person does before the onboarding goes on."""
    return MappingError(
        f"A person answered that {product_code} is not set up at Ticketnet yet (Reject)",
        action=Localized(
            fr="Vérifiez l'événement chez {reseller} (représentations, prix, dates de vente) "
            "et rattachez chaque type de prix qu'il utilise à un tarif dans "
            "include/mappings/ticketnet/, déployez, puis relancez l'onboarding : ce qui a été "
            "envoyé ne l'est pas une seconde fois.",
            en="Check the event at {reseller} (performances, prices, sale dates) and map "
            "every price type it uses to a tariff in include/mappings/ticketnet/, deploy, "
            "then trigger the onboarding again: what was sent is not sent again.",
        ),
    )


def check_mappings(product_code: str) -> list[str]:
    """Step 4: every value the product uses has its Ticketnet code."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.ticketnet.adapter import check_mappings as check

    with session_scope() as session:
        result = check(_settings(), session, [product_code]).raise_for_faults()
        set_onboarding_state(session, product_code, OnboardingState.MAPPED)
    return list(result.notes)


def send_allocation(product_code: str) -> dict[str, Any] | Wait:
    """Step 5: the ALLOCATION of Ticketnet's quota sent once, then Ticketnet's ACK."""
    from reseller_sync.boxoffice.db import default_engine
    from reseller_sync.ticketnet.inbound import transport_for
    from reseller_sync.ticketnet.outbound import send_allocation as send

    settings = _settings()
    sent = send(default_engine(), transport_for(settings), settings, product_code)
    if sent.sent_now:
        log.info("ALLOCATION of %s sent in %s (%d records)", product_code, sent.batch, sent.records)
    return _acknowledged(
        product_code,
        OnboardingState.PLACES_SENT,
        _with_places(_ack_or_wait(settings, sent.batch, look=not sent.sent_now)),
    )


def allocation_answered(product_code: str, outcome: WatchOutcome) -> dict[str, Any] | Wait:
    """Step 5, resumed: Ticketnet's ACK of the ALLOCATION applied (A04 is fine)."""
    answer = _ack_or_wait(_settings(), _batch_of(outcome), outcome)
    return _acknowledged(product_code, OnboardingState.PLACES_SENT, _with_places(answer))


def _with_places(answer: dict[str, Any] | Wait) -> dict[str, Any] | Wait:
    """An ALLOCATION's answer with the places Ticketnet holds of it, as its ACK stated them
    (recorded place by place when the ACK was applied)."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.exchange import journal
    from reseller_sync.integration.allocation import allocation_answer

    if isinstance(answer, Wait):
        return answer
    with session_scope() as session:
        sent = journal.find_file(session, RESELLER, Direction.OUTBOUND, answer["batch"])
        assert sent is not None  # the ACK was matched with it
        places = allocation_answer(session, sent.id)
    log.info(
        "%s: %d record(s), %d place(s), are Ticketnet's",
        answer["batch"],
        places.allocated,
        places.places,
    )
    return {**answer, "allocated_records": places.allocated, "allocated_places": places.places}


def integrate_test_tickets(product_code: str) -> dict[str, Any] | Wait:
    """Step 6: the product's test tickets, integrated by the hourly DAG, accepted at access
    control, then refunded and refused; or what to wait for meanwhile."""
    if form_values()[DRY_RUN]:
        raise AirflowSkipException("dry run: nothing was sent, no test ticket to wait for")
    return _test_tickets_or_wait(product_code)


def tickets_answered(product_code: str, outcome: WatchOutcome) -> dict[str, Any] | Wait:
    """Step 6, resumed: a new SALES batch came (or none by the deadline)."""
    answer = _test_tickets_or_wait(product_code, outcome)
    if isinstance(answer, Wait) and outcome.timed_out:
        raise _test_tickets_late(product_code, outcome)
    return answer


def open_sales(product_code: str) -> str:
    """Step 7: the product is live at Ticketnet; the hourly DAG takes over."""
    _advance(product_code, OnboardingState.LIVE)
    return "live"


STEPS: tuple[OnboardingStep, ...] = (
    PlainStep(
        task_id="check_product",
        run=check_product,
        doc_md="Check that Ticketnet may sell the product and that its CATALOG can be "
        "built; on a dry run, build it and show it.",
    ),
    SendAndWaitStep(
        task_id="send_catalog",
        send=send_catalog,
        answered=catalog_answered,
        doc_md="Send the CATALOG in an OFFER batch (never twice unless asked), wait for "
        "Ticketnet's ACK in the triggerer, record Ticketnet's event and performance ids.",
    ),
    ApprovalStep(
        task_id="confirm_offer_at_ticketnet",
        subject="{product} set up at Ticketnet?",
        body=(
            "Ticketnet acknowledged the CATALOG of **{product}**. Check the event at "
            "Ticketnet (its performances, prices and sale dates) and that every price "
            "type Ticketnet uses for it is mapped to a tariff in "
            "`include/mappings/ticketnet/` (`_shared.yaml`, or `{product}.yaml`); deploy "
            "if you changed a mapping, then **Approve**. **Reject** stops this onboarding."
        ),
        rejected=offer_not_confirmed,
        doc_md="A person confirms the event at Ticketnet and its price types mapped.",
    ),
    PlainStep(
        task_id="check_mappings",
        run=check_mappings,
        doc_md="Every value the product uses has its Ticketnet code, in Ticketnet's formats.",
    ),
    SendAndWaitStep(
        task_id="send_allocation",
        send=send_allocation,
        answered=allocation_answered,
        doc_md="Send the places of Ticketnet's quota (ALLOCATION) in an OFFER batch and wait "
        "for Ticketnet's ACK in the triggerer; A04 is fine, other refusals fail.",
    ),
    SendAndWaitStep(
        task_id="integrate_test_tickets",
        send=integrate_test_tickets,
        answered=tickets_answered,
        doc_md="Wait, at each new SALES batch, until the hourly DAG has integrated "
        "Ticketnet's test tickets; check them accepted at access control, then refunded "
        "and refused.",
    ),
    PlainStep(
        task_id="open_sales",
        run=open_sales,
        doc_md="Mark the product live at Ticketnet: the hourly DAG takes over.",
    ),
)
"""Ticketnet's onboarding, in order; the task ids are those of the running installations."""


# --------------------------------------------------------------------------- ACKs


def _ack_or_wait(
    settings: Any, batch: str, outcome: WatchOutcome | None = None, *, look: bool = True
) -> dict[str, Any] | Wait:
    """Ticketnet's ACK of ``batch`` applied (its refusal raised, sorted by category), or what
    to wait for: the ACK by name (section 4). ``outcome``: the trigger's, once it fired.

    ``look=False`` waits without looking first: a batch sent a moment ago has no ACK yet,
    and the trigger's first look is at once. A batch sent earlier (a retry, a re-run) is
    looked for first: its ACK may be in the journal already."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.ticketnet.inbound import transport_for
    from reseller_sync.ticketnet.outbound import ack_name, await_ack

    if outcome is not None and outcome.timed_out:
        raise ExternalError(
            f"Ticketnet sent no ACK of {batch} by {_shown(outcome.deadline)}"
            + _looks_failed(outcome),
            file=batch,
            action=f"Call Ticketnet with the batch name {batch}: ask whether it received the "
            f"batch and why it has not answered ({CONTRACT} section 3 point 6: within 30 "
            "minutes). Once the ACK is in /from_ticketnet/, clear this task: the batch is not "
            "sent again.",
        )
    answer = None
    if look:
        with session_scope() as session:
            answer = await_ack(session, transport_for(settings), batch)
    if answer is None:
        return Wait.in_inbox(
            settings,
            Wanted(names=(ack_name(batch),)),
            within=ACK_TIMEOUT,
            until=outcome.deadline if outcome else None,
        )
    for fine in answer.outcomes:
        log.info("%s: %s %s (%s)", batch, fine.code, fine.message, fine.sent_record or fine.file)
    answer.raise_for_errors()
    return {
        "batch": batch,
        "ack": answer.ack_file,
        "status": answer.status.value,
        "accepted": answer.accepted,
        "outcomes": sorted({fine.code.value for fine in answer.outcomes}),
        "new_performances": answer.new_performances,
    }


def _acknowledged(
    product_code: str, state: OnboardingState, answer: dict[str, Any] | Wait
) -> dict[str, Any] | Wait:
    if not isinstance(answer, Wait):
        _advance(product_code, state)
    return answer


def _batch_of(outcome: WatchOutcome) -> str:
    """The batch whose ACK the trigger watched for (its manifest name)."""
    from reseller_sync.ticketnet.outbound import answered_batch

    return answered_batch(outcome.wanted.names[0])


# --------------------------------------------------------------------------- test tickets


@dataclass(frozen=True)
class TestTickets:
    """Where the product's Ticketnet test tickets stand, checked at access control."""

    __test__ = False  # not a pytest class

    product_code: str
    tickets: int
    """Test tickets integrated, valid or refunded."""
    valid: int
    """Not refunded yet: access control accepts each."""
    refunded: int
    """Refunded (cancelled): access control refuses each."""
    performances: int

    @property
    def complete(self) -> bool:
        """Every test ticket came and was refunded."""
        return self.tickets > 0 and self.valid == 0


def test_tickets(session: Session, product_code: str) -> pd.DataFrame:
    """The product's Ticketnet test tickets, with their access-control entry (``allowed`` and
    ``entry_performance`` are None when there is none)."""
    import pandas as pd

    rows = session.execute(
        select(
            Ticket.id,
            Ticket.barcode,
            Ticket.state,
            Ticket.performance_id,
            Performance.code,
            Ticket.reseller_ticket_id,
            AccessControlEntry.allowed,
            AccessControlEntry.performance_id,
        )
        .join(Performance, Ticket.performance_id == Performance.id)
        .join(Product, Performance.product_id == Product.id)
        .outerjoin(AccessControlEntry, AccessControlEntry.barcode == Ticket.barcode)
        .where(Product.code == product_code, Ticket.reseller_code == RESELLER, Ticket.is_test)
        .order_by(Ticket.id)
    ).all()
    return pd.DataFrame(
        rows,
        columns=[
            "ticket_id",
            "barcode",
            "state",
            "performance_id",
            "performance_code",
            "reseller_ticket_id",
            "allowed",
            "entry_performance",
        ],
    )


def check_test_tickets(session: Session, product_code: str) -> TestTickets:
    """The product's test tickets, each checked at access control: a valid one accepted for
    its performance, a refunded one refused. Raises TechnicalError listing every barcode
    access control would treat otherwise."""
    frame = test_tickets(session, product_code)
    valid = frame["state"] == TicketState.VALID
    here = frame["entry_performance"] == frame["performance_id"]
    allowed = frame["allowed"].fillna(False).astype(bool)
    refused_valid = frame[valid & ~(here & allowed)]
    accepted_refunded = frame[~valid & allowed]
    never_exported = frame[~valid & frame["entry_performance"].isna()]
    problems = [
        *(
            _barcode_problem(row, "is valid but access control refuses it")
            for row in refused_valid.itertuples()
        ),
        *(
            _barcode_problem(row, "is refunded but access control still accepts it")
            for row in accepted_refunded.itertuples()
        ),
        *(
            _barcode_problem(row, "never reached access control")
            for row in never_exported.itertuples()
        ),
    ]
    if problems:
        raise TechnicalError(
            f"{len(problems)} Ticketnet test ticket(s) of {product_code} would be treated wrongly "
            "at the venue's entrance",
            problems=problems,
            action=Localized(
                fr="Vérifiez l'export du contrôle d'accès et le système de contrôle d'accès du "
                "lieu ; puis relancez la tâche en échec (Clear).",
                en="Check the access-control export and the venue's access-control system; "
                "then clear the failed task.",
            ),
        )
    return TestTickets(
        product_code,
        tickets=len(frame),
        valid=int(valid.sum()),
        refunded=int((~valid).sum()),
        performances=int(frame["performance_id"].nunique()),
    )


def _barcode_problem(row: Any, what: str) -> Problem:
    return Problem(
        f"test ticket {row.reseller_ticket_id} of performance {row.performance_code} {what}",
        column="barcode",
        value=str(row.barcode),
    )


def _test_tickets_or_wait(
    product_code: str, outcome: WatchOutcome | None = None
) -> dict[str, Any] | Wait:
    """The step's result once the test tickets came and were refused after their refund; a
    wait for the next SALES batch until then (keeping the first deadline)."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.exchange import journal

    with session_scope() as session:
        before = onboarding_state(session, product_code)
        seen = check_test_tickets(session, product_code)
        if seen.valid:
            set_onboarding_state(session, product_code, OnboardingState.TESTED)
        after = journal.highest_sequence(session, RESELLER, Direction.INBOUND, Stream.SALES.value)
    if seen.complete:
        checked_live = ORDER.index(before) >= ORDER.index(OnboardingState.TESTED)
        if not checked_live:
            log.warning(
                "The test tickets of %s were refunded before this step saw them valid: their "
                "acceptance is known from their access-control entries only",
                product_code,
            )
        _advance(product_code, OnboardingState.TESTED)
        return {
            "tickets": seen.tickets,
            "performances": seen.performances,
            "refunded": seen.refunded,
            "accepted_checked_while_valid": checked_live,
        }
    if seen.valid:
        log.info(
            "%d test ticket(s) of %s accepted at access control; waiting for their refunds",
            seen.valid,
            product_code,
        )
    else:
        log.info("No test ticket of %s in the box office yet", product_code)
    settings = _settings()
    seen_batches = [_sequence(name) for name in (outcome.found if outcome else ())]
    return Wait.in_inbox(
        settings,
        Wanted(
            file_type=Stream.SALES.value,
            after_seq=max([after, *seen_batches]),
            reseller=RESELLER,
        ),
        within=TEST_TICKETS_TIMEOUT,
        until=outcome.deadline if outcome else None,
    )


def _test_tickets_late(product_code: str, outcome: WatchOutcome) -> ExternalError:
    """Step 6 timed out: what is missing, and what to do."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.exchange import journal

    with session_scope() as session:
        seen = check_test_tickets(session, product_code)
        stuck = journal.first_failed(session, RESELLER, Direction.INBOUND, Stream.SALES.value)
    hourly = RESELLER_TYPE.dag_id("inbound")
    blocked = (
        f"; the SALES batch {stuck} failed at the hourly DAG {hourly} and stops the stream"
        if stuck
        else ""
    )
    if seen.tickets == 0:
        return ExternalError(
            f"The box office holds no Ticketnet test ticket of {product_code} by "
            f"{_shown(outcome.deadline)}{blocked}{_looks_failed(outcome)}",
            action=f"Make sure the hourly DAG {hourly} integrates the SALES batches (fix a "
            "failed batch first). If it does, call Ticketnet: ask for the onboarding test "
            f"tickets of the event ({CONTRACT} section 7.1). Once they are integrated, clear "
            "this task: nothing is sent again.",
        )
    return ExternalError(
        f"{seen.valid} of the {seen.tickets} Ticketnet test ticket(s) of {product_code} are "
        f"not refunded by {_shown(outcome.deadline)}{blocked}{_looks_failed(outcome)}",
        action=f"Make sure the hourly DAG {hourly} integrates the SALES batches (fix a failed "
        "batch first). If it does, call Ticketnet: it refunds its test tickets, reason TEST, "
        f"within 7 days ({CONTRACT} section 7.1). Once the refunds are integrated, clear "
        "this task: nothing is sent again.",
    )


def _sequence(name: str) -> int:
    from reseller_sync.ticketnet.naming import NAMING

    parsed = NAMING.parse(name)
    return parsed.sequence if parsed is not None else 0


# --------------------------------------------------------------------------- state


def onboarding_state(session: Session, product_code: str) -> OnboardingState:
    """The product's onboarding state at Ticketnet (``not_started`` when none is recorded)."""
    return neutral_state.onboarding_state(session, RESELLER, product_code)


def set_onboarding_state(
    session: Session, product_code: str, state: OnboardingState
) -> OnboardingState:
    """Record that the product reached ``state`` at Ticketnet (never moving it back: a
    CATALOG resent once live leaves it live); the state it now has."""
    return neutral_state.set_onboarding_state(session, RESELLER, product_code, state)


def _advance(product_code: str, state: OnboardingState) -> None:
    from reseller_sync.boxoffice.db import session_scope

    with session_scope() as session:
        set_onboarding_state(session, product_code, state)


# --------------------------------------------------------------------------- helpers


def _preview(product_code: str) -> dict[str, Any]:
    """Dry run: the CATALOG and, when Ticketnet knows the performances, the ALLOCATION,
    built and logged; nothing sent nor journaled."""
    from reseller_sync.boxoffice.db import default_engine
    from reseller_sync.domain.errors import SyncError
    from reseller_sync.ticketnet.inbound import transport_for
    from reseller_sync.ticketnet.outbound import send_allocation, send_catalog

    settings, engine = _settings(), default_engine()
    transport = transport_for(settings)
    built = send_catalog(engine, transport, settings, product_code, dry_run=True)
    log.info(
        "CATALOG of %s in %s (%d records):\n%s",
        product_code,
        built.batch,
        built.records,
        built.preview,
    )
    shown: dict[str, Any] = {"checked": product_code, "dry_run": True, "catalog": built.batch}
    try:
        places = send_allocation(engine, transport, settings, product_code, dry_run=True)
    except SyncError as error:
        log.info("ALLOCATION not built: %s", error.message)
        return shown
    log.info("ALLOCATION of %s (%d records):\n%s", product_code, places.records, places.preview)
    return {**shown, "allocation_records": places.records}


def _settings() -> Any:
    from reseller_sync.ticketnet.adapter import load_settings

    return load_settings()


def _shown(moment: dt.datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _looks_failed(outcome: WatchOutcome) -> str:
    """Why Ticketnet's silence may be its server's: the failed looks, if any."""
    if not outcome.failed_looks:
        return ""
    return (
        f" ({outcome.failed_looks} of {outcome.looks} looks at Ticketnet's server failed, the "
        f"last: {outcome.last_failure})"
    )
