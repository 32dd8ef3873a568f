"""A synchronous reseller's onboarding of a product (``realtime-api-v1`` sections 1, 2, 4,
7 and 9), step by step, whatever the reseller: what the reseller-neutral builder
(:mod:`reseller_sync.airflow.onboarding_dag`) makes ``<code>_onboarding__<product>`` of,
through the adapter's ``onboarding_steps()`` and ``onboarding_doc()``.

1. **check_product**: the reseller may sell the product's kind (section 2), and it can go
   on the reseller's channel: performances still to sell, places in the reseller's quota,
   prices at the tariffs offered, one currency.
2. **put_on_channel**: the reseller's settings recorded for the service (kinds, price
   check, limits), the product put on its channel: a sale window per performance, the
   tariffs opened in the quota's categories (their amounts are the box office's prices),
   a pass quota given its category. Done again, it changes only what changed.
3. **confirm_at_reseller**: a person checks with the reseller, under Required Actions,
   that the product shows in its catalogue as expected and that it holds its API key.
4. **check_mappings**: the codes the reseller sees are valid ids (the identity).
5. **check_test_order**: waits (a look at each poll interval, deferred in between) for an
   order of the product that the reseller placed through the service, its
   ``reseller_order_ref`` starting with the settings' test prefix; flags it and its
   tickets as a test (left out of the dashboard, the sales summary and the price checks,
   as a file reseller's test tickets are), checks its barcodes accepted at access control,
   cancels it as the organiser, and checks them refused, all in one transaction.
6. **open_sales**: the product is live at the reseller.

Nothing here names a reseller: :class:`RealtimeOnboarding` is built by each adapter with
its type and its settings loader.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow.sdk.exceptions import AirflowSkipException
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from reseller_sync.airflow.steps import (
    DRY_RUN,
    NOT_YET,
    ApprovalStep,
    NotYet,
    OnboardingStep,
    PlainStep,
    PollStep,
    form_values,
)
from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    OnboardingState,
    Order,
    Performance,
    ProductChannel,
    Quota,
    RealtimeChannelTariff,
    RealtimeOrder,
    RealtimeSaleWindow,
    Ticket,
    TicketState,
)
from reseller_sync.core.resellers import ResellerType
from reseller_sync.domain.errors import ExternalError, MappingError, Problem, TechnicalError
from reseller_sync.domain.texts import Localized
from reseller_sync.pipelines.onboarding_state import set_onboarding_state
from reseller_sync.realtime.instance_settings import RealtimeInstanceSettings
from reseller_sync.realtime.product_check import ChannelPlan, check_mappings, check_product

log = logging.getLogger(__name__)

TEST_ORDER_REASON = "customer_request"
"""The organiser cancels the test order as its customer would (section 7.7's reasons)."""

DOC = """
### Put {product} on sale at {name}

{name} sells synchronously ({contract}): while its customer buys, it calls the
box office's web service (`python -m reseller_sync realtime serve`). Trigger
this DAG from the UI; each step stops the ones behind it when it fails: fix
the cause, then **Clear** the failed task. Every step can run again.

1. **check_product**: a kind {name} may sell ({contract} section 2), a
   performance still to sell, places in quota `{quota}` on channel
   `{channel}`, prices at the tariffs offered, one currency. On a *dry run* it
   shows what would be put on sale; every later step is then skipped.
2. **put_on_channel**: {name}'s settings recorded for the service (kinds,
   price check, limits), the product on channel `{channel}`: the sale window of
   each performance, the tariffs opened in the quota's categories (at the box
   office's prices).
3. **confirm_at_reseller**: check with {name} that the product shows in its
   catalogue (`GET /products`) with its performances, categories and prices,
   and that it holds its API key (`python -m reseller_sync realtime keys issue
   {code}`, shown once), then approve under **Required Actions**. *Reject*
   stops the run.
4. **check_mappings**: every code {name} sees is a valid id of the contract:
   the box office's own codes, which no mapping changes.
5. **check_test_order**: {name} places a test order of the product through
   the service, its `reseller_order_ref` starting with `{prefix}`. The step
   looks for it at each poll interval (deferred in between, {hours} hours at
   most), flags it as a test (out of the dashboard and the sales summary), checks
   that access control accepts its barcodes, cancels it as the organiser
   (`initiated_by: "organiser"`) and checks them refused. {name} learns of the
   cancellation from `GET /orders?changed_since=` and reports it in its sales
   report of that day.
6. **open_sales**: the product is live at {name}.

**Form**: *dry run* shows the plan and changes nothing; *resend the sale
sheet* does not apply (nothing is sent: the reseller reads the catalogue).
"""


@dataclass(frozen=True)
class RealtimeOnboarding:
    """The onboarding steps of one synchronous reseller type."""

    reseller: ResellerType
    load_settings: Callable[[], RealtimeInstanceSettings]

    # ----------------------------------------------------------------- declaration

    def steps(self) -> tuple[OnboardingStep, ...]:
        hours = self.load_settings().test_order.wait_hours
        return (
            PlainStep(
                task_id="check_product",
                run=self.check_product,
                doc_md="Check that the reseller may sell the product and that it can go on its "
                "channel; on a dry run, show what would be put on sale.",
            ),
            PlainStep(
                task_id="put_on_channel",
                run=self.put_on_channel,
                doc_md="Record the reseller's settings for the service; put the product on its "
                "channel: sale windows, tariffs opened, the quota.",
            ),
            ApprovalStep(
                task_id="confirm_at_reseller",
                subject=f"Is {{product}} in {self.reseller.name}'s catalogue?",
                body=f"Check with {self.reseller.name} that **{{product}}** shows in its "
                "catalogue (`GET /products`) with its performances, categories and prices, "
                "and that it holds its API key. Approve to go on; Reject stops the run.",
                rejected=self.not_confirmed,
                doc_md="A person confirms with the reseller that the product is in its catalogue.",
            ),
            PlainStep(
                task_id="check_mappings",
                run=self.check_mappings,
                doc_md="Check that every code the reseller sees is a valid id of the contract.",
            ),
            PollStep(
                task_id="check_test_order",
                check=self.check_test_order,
                within=dt.timedelta(hours=hours),
                late=self.test_order_late,
                doc_md="Wait for the reseller's test order, flag it as a test, check its "
                "barcodes accepted, cancel it as the organiser, check them refused.",
            ),
            PlainStep(
                task_id="open_sales",
                run=self.open_sales,
                doc_md="The product is live at the reseller.",
            ),
        )

    def doc(self, product_code: str) -> str:
        settings = self.load_settings()
        return DOC.format(
            product=product_code,
            name=self.reseller.name,
            code=self.reseller.code,
            contract=self.reseller.contract,
            quota=settings.boxoffice.quota,
            channel=settings.boxoffice.channel,
            prefix=settings.test_order.reference_prefix,
            hours=settings.test_order.wait_hours,
        )

    # ----------------------------------------------------------------- the steps

    def check_product(self, product_code: str) -> dict[str, Any]:
        """Step 1: the reseller may sell the product, and it can go on its channel."""
        from reseller_sync.boxoffice.db import session_scope

        with session_scope() as session:
            verdict = check_product(self.reseller, session, self.load_settings(), product_code)
            verdict.raise_for_problems()
            assert verdict.plan is not None
            shown = plan_summary(verdict.plan)
        if form_values()[DRY_RUN]:
            log.info("Dry run: %s would go on sale with %s", product_code, shown)
            return {**shown, "dry_run": True}
        return shown

    def put_on_channel(self, product_code: str) -> dict[str, Any]:
        """Step 2: the reseller's settings recorded, the product put on its channel."""
        from reseller_sync.boxoffice.db import session_scope

        if form_values()[DRY_RUN]:
            raise AirflowSkipException("dry run: check_product's log shows the plan")
        settings = self.load_settings()
        with session_scope() as session:
            verdict = check_product(self.reseller, session, settings, product_code)
            verdict.raise_for_problems()
            assert verdict.plan is not None
            record_settings(session, self.reseller, settings)
            put_on_channel(session, verdict.plan, dt.datetime.now(dt.UTC))
            set_onboarding_state(
                session, self.reseller.code, product_code, OnboardingState.PLACES_SENT
            )
            return plan_summary(verdict.plan)

    def not_confirmed(self, product_code: str) -> MappingError:
        """Step 3 rejected: what a person does before the onboarding goes on."""
        return MappingError(
            f"A person answered that {product_code} is not in {self.reseller.name}'s "
            "catalogue as expected (Reject)",
            action=Localized(
                fr="Voyez avec {reseller} ce qui diffère (représentations, catégories, prix, "
                "clé d'API) ; corrigez le produit dans la billetterie ou les réglages, puis "
                "relancez l'onboarding : il reprend là où il s'est arrêté.",
                en="See with {reseller} what differs (performances, categories, prices, API "
                "key); fix the product in the box office or the settings, then trigger the "
                "onboarding again: it resumes where it stopped.",
            ),
        )

    def check_mappings(self, product_code: str) -> list[str]:
        """Step 4: every code the reseller sees is a valid id."""
        from reseller_sync.boxoffice.db import session_scope

        with session_scope() as session:
            result = check_mappings(
                self.reseller, self.load_settings(), session, [product_code]
            ).raise_for_faults()
            set_onboarding_state(session, self.reseller.code, product_code, OnboardingState.MAPPED)
        return list(result.notes)

    def check_test_order(self, product_code: str) -> dict[str, Any] | NotYet:
        """Step 5: the reseller's test order accepted at access control, cancelled by the
        organiser, refused; :data:`NOT_YET` while it has not come."""
        from reseller_sync.boxoffice.db import session_scope

        if form_values()[DRY_RUN]:
            raise AirflowSkipException("dry run: nothing was put on sale, no test order")
        settings = self.load_settings()
        with session_scope() as session:
            done = check_test_order(
                session,
                self.reseller,
                product_code,
                settings.test_order.reference_prefix,
                dt.datetime.now(dt.UTC),
            )
            if done is None:
                log.info(
                    "No test order of %s by %s yet (reseller_order_ref starting with %s)",
                    product_code,
                    self.reseller.name,
                    settings.test_order.reference_prefix,
                )
                return NOT_YET
            set_onboarding_state(session, self.reseller.code, product_code, OnboardingState.TESTED)
        return done

    def test_order_late(self, product_code: str) -> ExternalError:
        settings = self.load_settings()
        prefix = settings.test_order.reference_prefix
        return ExternalError(
            f"{self.reseller.name} placed no test order of {product_code} within "
            f"{settings.test_order.wait_hours} hours",
            action=Localized(
                fr=f"Demandez à {{reseller}} de passer une commande de test de {product_code} "
                f"par le service, avec une référence commençant par {prefix} ; puis relancez "
                "la tâche en échec (Clear).",
                en=f"Ask {{reseller}} to place a test order of {product_code} through the "
                f"service, its reference starting with {prefix}; then clear the failed task.",
            ),
        )

    def open_sales(self, product_code: str) -> str:
        """Step 6: the product is live at the reseller."""
        from reseller_sync.boxoffice.db import session_scope

        with session_scope() as session:
            set_onboarding_state(session, self.reseller.code, product_code, OnboardingState.LIVE)
        return "live"


# --------------------------------------------------------------------------- put on channel


def plan_summary(plan: ChannelPlan) -> dict[str, Any]:
    return {
        "product": plan.product_code,
        "performances": [sale.code for sale in plan.performances],
        "tariffs_opened": plan.tariffs,
        "places": plan.places,
    }


def record_settings(
    session: Session, reseller: ResellerType, settings: RealtimeInstanceSettings
) -> None:
    """The reseller's settings as the service reads them (insert or update)."""
    from reseller_sync.realtime.settings import record_reseller

    boxoffice, limits = settings.boxoffice, settings.limits
    record_reseller(
        session,
        reseller_code=reseller.code,
        channel_code=boxoffice.channel,
        point_of_sale_code=boxoffice.point_of_sale,
        contact_code=boxoffice.paying_contact,
        product_kinds=settings.contract_product_kinds,
        price_compare=settings.price_check.compare.value,
        price_policy=settings.price_check.policy.value,
        max_places_per_hold=limits.max_places_per_hold,
        rate_per_second=limits.rate_per_second,
        burst=limits.burst,
    )


def put_on_channel(session: Session, plan: ChannelPlan, now: dt.datetime) -> None:
    """The product on the channel as planned: its sale windows (a window already open keeps
    its opening), exactly the tariffs planned, and the pass quotas' categories."""
    channel_id = plan.channel_id
    if session.get(ProductChannel, (plan.product_id, channel_id)) is None:
        session.add(ProductChannel(product_id=plan.product_id, channel_id=channel_id))
    planned = {sale.performance_id for sale in plan.performances}
    every_performance = session.scalars(
        select(Performance.id).where(Performance.product_id == plan.product_id)
    ).all()
    for sale in plan.performances:
        window = session.get(RealtimeSaleWindow, (channel_id, sale.performance_id))
        if window is None:
            session.add(
                RealtimeSaleWindow(
                    channel_id=channel_id,
                    performance_id=sale.performance_id,
                    opens_at=now,
                    closes_at=sale.closes_at,
                )
            )
        else:
            window.closes_at = sale.closes_at
        for quota_id, category_id in sale.pass_categories.items():
            session.get_one(Quota, quota_id).category_id = category_id
    session.execute(
        delete(RealtimeChannelTariff).where(
            RealtimeChannelTariff.channel_id == channel_id,
            RealtimeChannelTariff.performance_id.in_(every_performance),
        )
    )
    session.add_all(
        RealtimeChannelTariff(
            channel_id=channel_id,
            performance_id=sale.performance_id,
            category_id=category_id,
            tariff_id=tariff_id,
        )
        for sale in plan.performances
        for category_id, tariff_id in sale.tariffs
    )
    log.info(
        "%s on channel %d: %d performance(s) (%d not on sale any more), %d tariff(s), %d places",
        plan.product_code,
        channel_id,
        len(planned),
        len(set(every_performance) - planned),
        plan.tariffs,
        plan.places,
    )
    session.flush()


# --------------------------------------------------------------------------- the test order


@dataclass(frozen=True)
class CheckedTicket:
    ticket_id: int
    barcode: str
    performance_id: int
    valid: bool
    allowed: bool | None
    """Access control's answer for its barcode; None when it holds no entry."""
    entry_performance: int | None


def find_test_order(
    session: Session, reseller_code: str, product_code: str, prefix: str
) -> tuple[RealtimeOrder, str] | None:
    """The reseller's latest order of the product whose reference starts with ``prefix``,
    and that reference."""
    found = session.execute(
        select(RealtimeOrder, Order.reseller_order_id)
        .join(Order, Order.id == RealtimeOrder.order_id)
        .join(Ticket, Ticket.order_id == Order.id)
        .join(Performance, Performance.id == Ticket.performance_id)
        .where(
            RealtimeOrder.reseller_code == reseller_code,
            Order.reseller_order_id.startswith(prefix, autoescape=True),
            Performance.product_id.in_(_product_id(product_code)),
        )
        .order_by(RealtimeOrder.id.desc())
        .limit(1)
    ).one_or_none()
    if found is None:
        return None
    order, reference = found
    return order, str(reference)


def _product_id(product_code: str) -> Any:
    from reseller_sync.boxoffice.models import Product

    return select(Product.id).where(Product.code == product_code)


def order_tickets(session: Session, order_id: int) -> list[CheckedTicket]:
    rows = session.execute(
        select(
            Ticket.id,
            Ticket.barcode,
            Ticket.performance_id,
            Ticket.state,
            AccessControlEntry.allowed,
            AccessControlEntry.performance_id,
        )
        .outerjoin(AccessControlEntry, AccessControlEntry.barcode == Ticket.barcode)
        .where(Ticket.order_id == order_id)
        .order_by(Ticket.id)
        .execution_options(populate_existing=True)
    ).all()
    return [
        CheckedTicket(
            ticket_id,
            barcode,
            performance_id,
            TicketState(state) is TicketState.VALID,
            None if allowed is None else bool(allowed),
            entry_performance,
        )
        for ticket_id, barcode, performance_id, state, allowed, entry_performance in rows
    ]


def flag_as_test(session: Session, order_id: int) -> bool:
    """Flag the box-office order ``order_id`` and its tickets as a test, as a file
    reseller's test tickets are (``is_test``: out of the dashboard, the sales summary and
    the price checks); whether anything was not flagged yet.

    Only the flag changes: the pending account keeps the order's sale and the
    cancellation's refund, which balance each other once the order is cancelled."""
    unflagged = session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.order_id == order_id, Ticket.is_test.is_(False))
    )
    unflagged = (unflagged or 0) + (
        session.scalar(select(func.count()).where(Order.id == order_id, Order.is_test.is_(False)))
        or 0
    )
    if unflagged:
        for model, column in ((Order, Order.id), (Ticket, Ticket.order_id)):
            session.execute(
                update(model)
                .where(column == order_id)
                .values(is_test=True)
                .execution_options(synchronize_session=False)
            )
    return unflagged > 0


def check_test_order(
    session: Session, reseller: ResellerType, product_code: str, prefix: str, now: dt.datetime
) -> dict[str, Any] | None:
    """The reseller's test order of the product flagged as a test (:func:`flag_as_test`),
    checked at access control (its valid tickets accepted for their performance),
    cancelled as the organiser, then checked refused; None while there is none. An order
    cancelled already (an earlier run) is checked refused only. Raises TechnicalError when
    access control would treat a barcode wrongly (nothing is then flagged nor cancelled:
    the caller's transaction rolls back)."""
    from reseller_sync.realtime.organiser_cancellation import cancel_as_organiser
    from reseller_sync.realtime.settings import reseller_context

    found = find_test_order(session, reseller.code, product_code, prefix)
    if found is None:
        return None
    order, reference = found
    flagged = flag_as_test(session, order.order_id)
    tickets = order_tickets(session, order.order_id)
    valid = [ticket for ticket in tickets if ticket.valid]
    _raise_for_access_control(
        reseller,
        order.public_id,
        [
            (t, "is sold but access control refuses it")
            for t in valid
            if not (t.allowed and t.entry_performance == t.performance_id)
        ],
    )
    cancellation = None
    if valid:
        cancellation = cancel_as_organiser(
            session,
            reseller_context(session, reseller.code),
            order.public_id,
            reason=TEST_ORDER_REASON,
            now=now,
            ticket_ids=[f"T-{ticket.ticket_id}" for ticket in valid],
        )
    after = order_tickets(session, order.order_id)
    _raise_for_access_control(
        reseller,
        order.public_id,
        [(t, "is cancelled but access control still accepts it") for t in after if t.allowed]
        + [(t, "was not cancelled") for t in after if t.valid],
    )
    return {
        "order": order.public_id,
        "reseller_order_ref": reference,
        "tickets": len(tickets),
        "barcodes": [ticket.barcode for ticket in tickets],
        "accepted_checked_while_valid": len(valid) == len(tickets),
        "flagged_as_test": flagged,
        "cancellation": cancellation["id"] if cancellation else None,
    }


def _raise_for_access_control(
    reseller: ResellerType, order_id: str, wrong: list[tuple[CheckedTicket, str]]
) -> None:
    if not wrong:
        return
    raise TechnicalError(
        f"{len(wrong)} ticket(s) of {reseller.name}'s test order {order_id} would be treated "
        "wrongly at the venue's entrance",
        problems=[
            Problem(f"test ticket T-{ticket.ticket_id} {what}", value=ticket.barcode)
            for ticket, what in wrong
        ],
        action=Localized(
            fr="Vérifiez l'export du contrôle d'accès et le système de contrôle d'accès du "
            "lieu ; puis relancez la tâche en échec (Clear).",
            en="Check the access-control export and the venue's access-control system; then "
            "clear the failed task.",
        ),
    )
