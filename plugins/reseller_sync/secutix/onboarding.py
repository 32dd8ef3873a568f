"""The SecuTix reseller's onboarding of a product (``secutix-reseller-v1`` sections 1, 2,
3, 7.2, 7.4, 8 and 10.1), step by step: what the reseller-neutral builder
(:mod:`reseller_sync.airflow.onboarding_dag`) makes ``secutix_onboarding__<product>`` of,
through the adapter's ``onboarding_steps()`` (:data:`STEPS`) and ``onboarding_doc()``
(:func:`doc`).

Each step is a plain function of the product's code, run inside a task: the product's
kind and files checked; its OFFER (passes with their validity) and its CONTINGENT each go
once as an organiser file (:mod:`reseller_sync.secutix.outbound` knows what was sent),
each RESULT waited for in the triggerer and applied line by line; a person confirms the
product at the reseller; the mappings are checked; then the opening tickets.

This exchange has no test tickets (section 7.2): the reseller sells one real ticket per
seat category × tariff at the opening of the sale, the organiser checks that access
control accepts them, and the reseller refunds them. The last step waits, at each new
TICKETS file (which the 15-minute DAG integrates), until the box office holds one ticket
of the product per seat category × tariff the reseller can sell (the categories of its
contingent, at the tariffs offered and priced), checks those barcodes accepted at access
control, then waits for their refund (``REFUNDED``) and checks them refused.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

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
    SeatCategory,
    Tariff,
    Ticket,
    TicketState,
)
from reseller_sync.domain.errors import ExternalError, MappingError, Problem, TechnicalError
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange.watch import Wanted, WatchOutcome
from reseller_sync.pipelines import onboarding_state as neutral_state
from reseller_sync.secutix.names import FileType
from reseller_sync.secutix.reseller_type import RESELLER_TYPE

if TYPE_CHECKING:
    import pandas as pd

    from reseller_sync.secutix.outbound import FileAnswer, FileSent
    from reseller_sync.secutix.settings import SecutixSettings

log = logging.getLogger(__name__)

RESELLER: Final = RESELLER_TYPE.code
CONTRACT: Final = RESELLER_TYPE.contract
TICKETS_STREAM: Final = FileType.TICKETS.value
RESULT_TIMEOUT: Final = dt.timedelta(hours=4)
"""The reseller answers within 30 minutes of each organiser file and picks them up every 15
minutes (section 3 point 6): four hours without a RESULT is an incident."""
OPENING_TICKETS_TIMEOUT: Final = dt.timedelta(days=14)
"""The reseller sells its opening tickets when the sale opens, then refunds them; two weeks
without them is an incident."""
REFUNDED: Final = "REFUNDED"
ORDER: Final = neutral_state.ORDER
"""The onboarding states in the order onboarding goes through them."""

DOC = """
### Put {product} on sale at the SecuTix reseller

Trigger it from the UI (**Trigger DAG**, with its form). Each step stops the
ones behind it when it fails; fix the cause, then **Clear** the failed task:
the run resumes there, and no file is sent twice unless you ask for it. A file
the reseller answered is never sent again under its number: corrected content
goes as a new file, with the next number.

1. **check_product**: a kind the reseller may sell (event, competition, dated
   visit pass, pass with validity dates), on sale in the SecuTix channel, future
   performances or a valid pass, a price in one currency at every tariff
   offered, places in the reseller's quota. *Fails*: the e-mail lists every
   problem and what to do; a kind the reseller may not sell (subscription,
   package, group visit) is refused before anything is written. On a *dry run*
   it builds the OFFER and the CONTINGENT and shows them in its log; every
   later step is then skipped.
2. **send_offer**: the OFFER (performances, or the pass and its validity, seat
   categories, tariffs, prices, sale dates) as the next organiser file; the
   step then waits for the reseller's RESULT in the triggerer (shown
   *deferred*, no worker held) and applies it line by line. *Refused*: the
   e-mail names the codes and what to do. *No RESULT in 4 hours*: call the
   reseller.
3. **send_contingent**: the places of the reseller's quota (CONTINGENT) as the
   next organiser file, then its RESULT, applied place by place: places the
   reseller holds already (Q04) are fine; any other refusal fails with the lines.
4. **confirm_offer_at_reseller**: check with the reseller that the product is
   on sale in its box office (performances or pass validity, prices, sale
   dates, contingent), then approve this step under **Required Actions**.
   *Reject* stops the run.
5. **check_mappings**: every code the product sends is a valid SecuTix code (the
   identity unless `include/mappings/secutix/` overrides a code). *Fails*: a
   mapping error saying what to add where.
6. **check_opening_tickets**: the reseller sells one real ticket per seat
   category × tariff at the opening of the sale (no test tickets in this
   exchange). The step waits (deferred, a look at each new TICKETS file, 14
   days at most) until the 15-minute DAG `secutix_inbound` has integrated them,
   checks that access control accepts every barcode, then waits for their
   refund (REFUNDED) and checks that access control refuses every barcode.
7. **open_sales**: the product is live at the reseller; the 15-minute DAG
   integrates its tickets from now on.

**Form**: *resend the sale sheet* sends one new OFFER in this run even if one
was answered (a price or a date changed); *dry run* builds the OFFER and the
CONTINGENT, shows them in the logs and sends nothing.
"""


def doc(product_code: str) -> str:
    """The onboarding DAG's documentation for the product."""
    return DOC.format(product=product_code)


# The steps. Each runs inside a task: the run's form values come from its context.


def check_product(product_code: str) -> dict[str, Any]:
    """Step 1: the reseller may sell the product and its OFFER and CONTINGENT can be
    built; on a dry run, both built and logged."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.secutix.product_check import check_product as check

    with session_scope() as session:
        verdict = check(session, _settings(), product_code).raise_for_problems()
    if not form_values()[DRY_RUN]:
        return {
            "checked": product_code,
            "offer_lines": verdict.offer_lines,
            "contingent_lines": verdict.contingent_lines,
        }
    return _preview(product_code)


def send_offer(product_code: str) -> dict[str, Any] | Wait:
    """Step 2: the OFFER sent once (or once more in this run if asked); its RESULT applied
    if the reseller has answered already, else what to wait for."""
    from reseller_sync.boxoffice.db import default_engine
    from reseller_sync.secutix.inbound import transport_for
    from reseller_sync.secutix.outbound import send_offer as send

    params = form_values()
    if params[DRY_RUN]:
        raise AirflowSkipException("dry run: the OFFER is shown in check_product's log")
    settings = _settings()
    sent = send(
        default_engine(),
        transport_for(settings),
        settings,
        product_code,
        force=bool(params[RESEND_SALE_SHEET]),
        resend_since=run_started(),
    )
    _log_sent(product_code, sent)
    answer = _result_or_wait(settings, sent.number, look=not sent.sent_now)
    return _answered(product_code, OnboardingState.SALE_SHEET_SENT, answer)


def offer_answered(product_code: str, outcome: WatchOutcome) -> dict[str, Any] | Wait:
    """Step 2, resumed: the reseller's RESULT of the OFFER applied."""
    answer = _result_or_wait(_settings(), _number_of(outcome), outcome)
    return _answered(product_code, OnboardingState.SALE_SHEET_SENT, answer)


def send_contingent(product_code: str) -> dict[str, Any] | Wait:
    """Step 3: the CONTINGENT of the reseller's quota sent once, then its RESULT."""
    from reseller_sync.boxoffice.db import default_engine
    from reseller_sync.secutix.inbound import transport_for
    from reseller_sync.secutix.outbound import send_contingent as send

    if form_values()[DRY_RUN]:
        raise AirflowSkipException("dry run: the CONTINGENT is shown in check_product's log")
    settings = _settings()
    sent = send(default_engine(), transport_for(settings), product_code)
    _log_sent(product_code, sent)
    answer = _result_or_wait(settings, sent.number, look=not sent.sent_now)
    return _answered(product_code, OnboardingState.PLACES_SENT, _with_places(answer))


def contingent_answered(product_code: str, outcome: WatchOutcome) -> dict[str, Any] | Wait:
    """Step 3, resumed: the RESULT of the CONTINGENT applied (Q04 is fine)."""
    answer = _result_or_wait(_settings(), _number_of(outcome), outcome)
    return _answered(product_code, OnboardingState.PLACES_SENT, _with_places(answer))


def offer_not_confirmed(product_code: str) -> MappingError:
    """Step 4 rejected: what a person does before the onboarding goes on."""
    return MappingError(
        f"A person answered that {product_code} is not on sale at the SecuTix reseller as "
        "sent (Reject)",
        action=Localized(
            fr="Voyez avec {reseller} ce qui diffère (représentations, validité du pass, "
            "prix, dates de vente, contingent) ; corrigez le produit dans la billetterie ou "
            "un code dans include/mappings/secutix/, déployez, puis relancez l'onboarding "
            "avec « renvoyer la fiche de vente » : ce qui a été envoyé ne l'est pas une "
            "seconde fois sous son numéro.",
            en="See with {reseller} what differs (performances, pass validity, prices, sale "
            "dates, contingent); fix the product in the box office or a code in "
            "include/mappings/secutix/, deploy, then trigger the onboarding again with "
            "'resend the sale sheet': nothing is sent again under its number.",
        ),
    )


def check_mappings(product_code: str) -> list[str]:
    """Step 5: every code the product sends is a valid SecuTix code."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.secutix.mapping_check import check_mappings as check

    with session_scope() as session:
        result = check(_settings(), session, [product_code]).raise_for_faults()
        set_onboarding_state(session, product_code, OnboardingState.MAPPED)
    return list(result.notes) + [note for p in result.products for note in p.notes]


def check_opening_tickets(product_code: str) -> dict[str, Any] | Wait:
    """Step 6: one ticket per seat category × tariff integrated and accepted at access
    control, then refunded and refused; or what to wait for meanwhile."""
    if form_values()[DRY_RUN]:
        raise AirflowSkipException("dry run: nothing was sent, no opening ticket to wait for")
    return _opening_tickets_or_wait(product_code)


def tickets_answered(product_code: str, outcome: WatchOutcome) -> dict[str, Any] | Wait:
    """Step 6, resumed: a new TICKETS file came (or none by the deadline)."""
    answer = _opening_tickets_or_wait(product_code, outcome)
    if isinstance(answer, Wait) and outcome.timed_out:
        raise _opening_tickets_late(product_code, outcome)
    return answer


def open_sales(product_code: str) -> str:
    """Step 7: the product is live at the reseller; the 15-minute DAG takes over."""
    _advance(product_code, OnboardingState.LIVE)
    return "live"


STEPS: tuple[OnboardingStep, ...] = (
    PlainStep(
        task_id="check_product",
        run=check_product,
        doc_md="Check that the reseller may sell the product and that its OFFER and "
        "CONTINGENT can be built; on a dry run, build them and show them.",
    ),
    SendAndWaitStep(
        task_id="send_offer",
        send=send_offer,
        answered=offer_answered,
        doc_md="Send the OFFER (never twice unless asked), wait for the reseller's RESULT in "
        "the triggerer, apply it line by line.",
    ),
    SendAndWaitStep(
        task_id="send_contingent",
        send=send_contingent,
        answered=contingent_answered,
        doc_md="Send the places of the reseller's quota (CONTINGENT) and wait for its RESULT "
        "in the triggerer; each place recorded as answered, Q04 is fine.",
    ),
    ApprovalStep(
        task_id="confirm_offer_at_reseller",
        subject="{product} on sale at the SecuTix reseller?",
        body=(
            "The reseller applied the OFFER and the CONTINGENT of **{product}**. Check with "
            "it that the product is on sale in its box office as sent: performances (or the "
            "pass and its validity dates), seat categories, tariffs and prices, sale dates, "
            "and its contingent. If a code must differ, write it in "
            "`include/mappings/secutix/` and deploy; then **Approve**. **Reject** stops "
            "this onboarding."
        ),
        rejected=offer_not_confirmed,
        doc_md="A person confirms the product on sale at the reseller as sent.",
    ),
    PlainStep(
        task_id="check_mappings",
        run=check_mappings,
        doc_md="Every code the product sends is a valid SecuTix code (identity unless a "
        "mapping file overrides it).",
    ),
    SendAndWaitStep(
        task_id="check_opening_tickets",
        send=check_opening_tickets,
        answered=tickets_answered,
        doc_md="Wait, at each new TICKETS file, until the 15-minute DAG has integrated one "
        "ticket per seat category × tariff; check them accepted at access control, then "
        "refunded and refused.",
    ),
    PlainStep(
        task_id="open_sales",
        run=open_sales,
        doc_md="Mark the product live at the reseller: the 15-minute DAG takes over.",
    ),
)
"""The SecuTix reseller's onboarding, in order."""


# --------------------------------------------------------------------------- RESULTs


def _log_sent(product_code: str, sent: FileSent) -> None:
    if sent.sent_now:
        log.info(
            "%s of %s sent in %s (%d lines)", sent.file_type, product_code, sent.name, sent.lines
        )
    else:
        log.info("%s of %s already sent in %s", sent.file_type, product_code, sent.name)


def _result_or_wait(
    settings: SecutixSettings,
    number: int,
    outcome: WatchOutcome | None = None,
    *,
    look: bool = True,
) -> dict[str, Any] | Wait:
    """The reseller's RESULT of the organiser's file ``number`` applied (its refusal raised,
    sorted by category, section 10.1), or what to wait for: the RESULT's control file by
    name (section 4). ``outcome``: the trigger's, once it fired.

    ``look=False`` waits without looking first: a file sent a moment ago has no RESULT
    yet. A file sent earlier (a retry, a re-run) is looked for first."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.secutix.inbound import transport_for
    from reseller_sync.secutix.outbound import await_result, result_name

    wanted = result_name(number)
    if outcome is not None and outcome.timed_out:
        raise ExternalError(
            f"The SecuTix reseller sent no {wanted} by {_shown(outcome.deadline)}"
            + _looks_failed(outcome),
            file=wanted,
            action=f"Call the reseller with the file number {number:08d}: ask whether it "
            f"received the file and why it has not answered ({CONTRACT} section 3 point 6: "
            "within 30 minutes). Once the RESULT is in /to_organiser/, clear this task: the "
            "file is not sent again.",
        )
    answer: FileAnswer | None = None
    if look:
        with session_scope() as session:
            answer = await_result(session, transport_for(settings), number)
    if answer is None:
        return Wait.in_inbox(
            settings,
            Wanted(names=(wanted,)),
            within=RESULT_TIMEOUT,
            until=outcome.deadline if outcome else None,
        )
    for fine in answer.outcomes:
        log.info("%s line %d: %s", answer.answered, fine.line, fine.reason)
    log.info("%s", answer.meaning())
    answer.raise_for_errors()
    return {
        "file": answer.answered,
        "result": answer.result,
        "lines": answer.outcome.lines,
        "applied": answer.outcome.applied,
        "outcomes": sorted({fine.code.value for fine in answer.outcomes}),
    }


def _with_places(answer: dict[str, Any] | Wait) -> dict[str, Any] | Wait:
    """A CONTINGENT's answer with the places the reseller holds of it, as its RESULT stated
    them (recorded place by place when it was applied)."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.exchange import journal
    from reseller_sync.integration.allocation import allocation_answer

    if isinstance(answer, Wait):
        return answer
    with session_scope() as session:
        sent = journal.find_file(session, RESELLER, Direction.OUTBOUND, answer["file"])
        assert sent is not None  # the RESULT was matched with it
        places = allocation_answer(session, sent.id)
    return {**answer, "allocated_lines": places.allocated, "allocated_places": places.places}


def _answered(
    product_code: str, state: OnboardingState, answer: dict[str, Any] | Wait
) -> dict[str, Any] | Wait:
    if not isinstance(answer, Wait):
        _advance(product_code, state)
    return answer


def _number_of(outcome: WatchOutcome) -> int:
    """The organiser file number whose RESULT the trigger watched for."""
    from reseller_sync.secutix.outbound import answered_number

    return answered_number(outcome.wanted.names[0])


# --------------------------------------------------------------------------- opening tickets


@dataclass(frozen=True)
class OpeningTickets:
    """Where the product's opening tickets stand: one per seat category × tariff."""

    product_code: str
    expected: tuple[tuple[str, str], ...]
    """The seat category × tariff pairs the reseller can sell (box-office codes)."""
    missing: tuple[tuple[str, str], ...]
    """Pairs without a ticket integrated yet."""
    valid: int
    """Opening tickets sold, not cancelled: access control accepts each."""
    refunded: int
    """Opening tickets refunded: access control refuses each."""
    cancelled: int = 0
    """Opening tickets cancelled without refund yet."""

    @property
    def tickets(self) -> int:
        return self.valid + self.refunded + self.cancelled

    @property
    def all_sold(self) -> bool:
        return bool(self.expected) and not self.missing

    @property
    def complete(self) -> bool:
        """Every pair had its ticket, and every one was refunded."""
        return self.all_sold and self.refunded == len(self.expected)


def expected_pairs(
    session: Session, settings: SecutixSettings, product_code: str
) -> list[tuple[str, str]]:
    """The seat category × tariff pairs the reseller can sell: the categories of its
    contingent, at the tariffs offered and priced there (box-office codes)."""
    from reseller_sync.boxoffice import catalogue
    from reseller_sync.secutix.contingent import contingent_lines

    places = contingent_lines(session, [product_code])
    categories = set(places.records.column("SEATCAT_CODE").to_pylist())
    priced = catalogue.priced_combinations(
        session, product_code, settings.tariffs_offered_for(product_code)
    )
    return sorted({(c.category, c.tariff) for c in priced if c.category in categories})


def opening_tickets(session: Session, product_code: str) -> pd.DataFrame:
    """The product's tickets sold by the reseller, each with its seat category, tariff,
    reported state and access-control entry (``allowed`` and ``entry_performance`` None
    when there is none), in the order they were integrated."""
    import pandas as pd

    rows = session.execute(
        select(
            Ticket.id,
            Ticket.barcode,
            Ticket.state,
            Ticket.reseller_state,
            Ticket.performance_id,
            Performance.code,
            SeatCategory.code,
            Tariff.code,
            AccessControlEntry.allowed,
            AccessControlEntry.performance_id,
        )
        .join(Performance, Ticket.performance_id == Performance.id)
        .join(Product, Performance.product_id == Product.id)
        .join(SeatCategory, SeatCategory.id == Ticket.category_id)
        .join(Tariff, Tariff.id == Ticket.tariff_id)
        .outerjoin(AccessControlEntry, AccessControlEntry.barcode == Ticket.barcode)
        .where(Product.code == product_code, Ticket.reseller_code == RESELLER)
        .order_by(Ticket.id)
    ).all()
    return pd.DataFrame(
        [tuple(row) for row in rows],
        columns=[
            "ticket_id",
            "barcode",
            "state",
            "reseller_state",
            "performance_id",
            "performance_code",
            "category",
            "tariff",
            "allowed",
            "entry_performance",
        ],
    )


def check_opening_tickets_at_access_control(
    session: Session, settings: SecutixSettings, product_code: str
) -> OpeningTickets:
    """The first ticket of each expected seat category × tariff, checked at access control:
    a valid one accepted for its performance, a cancelled or refunded one refused. Raises
    TechnicalError listing every barcode access control would treat otherwise."""
    expected = expected_pairs(session, settings, product_code)
    frame = opening_tickets(session, product_code)
    pairs = list(zip(frame["category"], frame["tariff"], strict=True))
    frame = frame.assign(pair=pairs)
    first = frame[frame["pair"].isin(expected)].drop_duplicates("pair", keep="first")
    valid = first["state"] == TicketState.VALID
    here = first["entry_performance"] == first["performance_id"]
    allowed = first["allowed"].fillna(False).astype(bool)
    problems = [
        *(
            _barcode_problem(row, "is sold but access control refuses it")
            for row in first[valid & ~(here & allowed)].itertuples()
        ),
        *(
            _barcode_problem(row, "is cancelled but access control still accepts it")
            for row in first[~valid & allowed].itertuples()
        ),
        *(
            _barcode_problem(row, "never reached access control")
            for row in first[~valid & first["entry_performance"].isna()].itertuples()
        ),
    ]
    if problems:
        raise TechnicalError(
            f"{len(problems)} opening ticket(s) of {product_code} at the SecuTix reseller "
            "would be treated wrongly at the venue's entrance",
            problems=problems,
            action=Localized(
                fr="Vérifiez l'export du contrôle d'accès et le système de contrôle d'accès du "
                "lieu ; puis relancez la tâche en échec (Clear).",
                en="Check the access-control export and the venue's access-control system; "
                "then clear the failed task.",
            ),
        )
    refunded = (~valid) & (first["reseller_state"].fillna("").str.upper() == REFUNDED)
    return OpeningTickets(
        product_code,
        tuple(expected),
        tuple(pair for pair in expected if pair not in set(first["pair"])),
        valid=int(valid.sum()),
        refunded=int(refunded.sum()),
        cancelled=int(((~valid) & ~refunded).sum()),
    )


def _barcode_problem(row: Any, what: str) -> Problem:
    return Problem(
        f"opening ticket {row.barcode} ({row.category} × {row.tariff}) of performance "
        f"{row.performance_code} {what}",
        column="BAR_CODE",
        value=str(row.barcode),
    )


def _opening_tickets_or_wait(
    product_code: str, outcome: WatchOutcome | None = None
) -> dict[str, Any] | Wait:
    """The step's result once the opening tickets came, were accepted, then refunded and
    refused; a wait for the next TICKETS file until then (keeping the first deadline)."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.exchange import journal

    settings = _settings()
    with session_scope() as session:
        before = onboarding_state(session, product_code)
        seen = check_opening_tickets_at_access_control(session, settings, product_code)
        if seen.all_sold and seen.valid:
            set_onboarding_state(session, product_code, OnboardingState.TESTED)
        after = journal.highest_sequence(session, RESELLER, Direction.INBOUND, TICKETS_STREAM)
    if seen.complete:
        checked_live = ORDER.index(before) >= ORDER.index(OnboardingState.TESTED)
        if not checked_live:
            log.warning(
                "The opening tickets of %s were refunded before this step saw them sold: their "
                "acceptance is known from their access-control entries only",
                product_code,
            )
        _advance(product_code, OnboardingState.TESTED)
        return {
            "pairs": len(seen.expected),
            "tickets": seen.tickets,
            "refunded": seen.refunded,
            "accepted_checked_while_valid": checked_live,
        }
    if seen.missing:
        log.info(
            "%d of %d seat category × tariff of %s without an opening ticket yet: %s",
            len(seen.missing),
            len(seen.expected),
            product_code,
            ", ".join(f"{c} × {t}" for c, t in seen.missing),
        )
    else:
        log.info(
            "The %d opening ticket(s) of %s are accepted at access control; waiting for their "
            "refunds (%d refunded)",
            len(seen.expected),
            product_code,
            seen.refunded,
        )
    seen_files = [_sequence(name) for name in (outcome.found if outcome else ())]
    return Wait.in_inbox(
        settings,
        Wanted(file_type=TICKETS_STREAM, after_seq=max([after, *seen_files]), reseller=RESELLER),
        within=OPENING_TICKETS_TIMEOUT,
        until=outcome.deadline if outcome else None,
    )


def _opening_tickets_late(product_code: str, outcome: WatchOutcome) -> ExternalError:
    """Step 6 timed out: what is missing, and what to do."""
    from reseller_sync.boxoffice.db import session_scope
    from reseller_sync.exchange import journal

    with session_scope() as session:
        seen = check_opening_tickets_at_access_control(session, _settings(), product_code)
        stuck = journal.first_failed(session, RESELLER, Direction.INBOUND, TICKETS_STREAM)
    inbound = RESELLER_TYPE.dag_id("inbound")
    blocked = (
        f"; the TICKETS file {stuck} failed at the DAG {inbound} and stops the stream"
        if stuck
        else ""
    )
    if seen.missing:
        pairs = ", ".join(f"{c} × {t}" for c, t in seen.missing)
        return ExternalError(
            f"No opening ticket of {product_code} for {pairs} by {_shown(outcome.deadline)}"
            f"{blocked}{_looks_failed(outcome)}",
            action=f"Make sure the DAG {inbound} integrates the TICKETS files (fix a failed "
            "file first). If it does, call the reseller: at the opening of the sale it sells "
            f"one ticket per seat category × tariff, then refunds them ({CONTRACT} section "
            "7.2). Once they are integrated, clear this task: nothing is sent again.",
        )
    return ExternalError(
        f"{len(seen.expected) - seen.refunded} of the {len(seen.expected)} opening ticket(s) "
        f"of {product_code} are not refunded by {_shown(outcome.deadline)}{blocked}"
        f"{_looks_failed(outcome)}",
        action=f"Make sure the DAG {inbound} integrates the TICKETS files (fix a failed file "
        "first). If it does, call the reseller: it refunds the opening tickets once access "
        f"control was checked ({CONTRACT} section 7.2). Once the refunds are integrated, "
        "clear this task: nothing is sent again.",
    )


def _sequence(name: str) -> int:
    from reseller_sync.secutix.naming import NAMING

    parsed = NAMING.parse(name)
    return parsed.sequence if parsed is not None else 0


# --------------------------------------------------------------------------- state


def onboarding_state(session: Session, product_code: str) -> OnboardingState:
    """The product's onboarding state at the reseller (``not_started`` when none)."""
    return neutral_state.onboarding_state(session, RESELLER, product_code)


def set_onboarding_state(
    session: Session, product_code: str, state: OnboardingState
) -> OnboardingState:
    """Record that the product reached ``state`` at the reseller (never moving it back)."""
    return neutral_state.set_onboarding_state(session, RESELLER, product_code, state)


def _advance(product_code: str, state: OnboardingState) -> None:
    from reseller_sync.boxoffice.db import session_scope

    with session_scope() as session:
        set_onboarding_state(session, product_code, state)


# --------------------------------------------------------------------------- helpers


def _preview(product_code: str) -> dict[str, Any]:
    """Dry run: the OFFER and the CONTINGENT built and logged; nothing sent nor journaled."""
    from reseller_sync.boxoffice.db import default_engine
    from reseller_sync.secutix.inbound import transport_for
    from reseller_sync.secutix.outbound import send_contingent, send_offer

    settings, engine = _settings(), default_engine()
    transport = transport_for(settings)
    offer = send_offer(engine, transport, settings, product_code, dry_run=True)
    log.info("OFFER of %s (%d lines):\n%s", product_code, offer.lines, offer.preview)
    places = send_contingent(engine, transport, product_code, dry_run=True)
    log.info("CONTINGENT of %s (%d lines):\n%s", product_code, places.lines, places.preview)
    return {
        "checked": product_code,
        "dry_run": True,
        "offer_lines": offer.lines,
        "contingent_lines": places.lines,
    }


def _settings() -> SecutixSettings:
    from reseller_sync.secutix.adapter import load_settings

    return load_settings()


def _shown(moment: dt.datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _looks_failed(outcome: WatchOutcome) -> str:
    """Why the reseller's silence may be its server's: the failed looks, if any."""
    if not outcome.failed_looks:
        return ""
    return (
        f" ({outcome.failed_looks} of {outcome.looks} looks at the reseller's server failed, "
        f"the last: {outcome.last_failure})"
    )
