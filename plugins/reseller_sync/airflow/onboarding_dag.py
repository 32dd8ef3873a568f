"""One ``<code>_onboarding__<product>`` DAG per product on sale at a reseller.

The builder takes a reseller type; the steps are its adapter's
(``onboarding_steps()``, declared with :mod:`reseller_sync.airflow.steps`), one
task each, in a chain: a failing step stops the steps behind it, and re-running
after the fix resumes without sending a file twice (the journal knows what was
sent). The DAG's documentation is the adapter's too (``onboarding_doc``).
Products come from the instance's settings, not from the database, so parsing
stays fast.

Parse speed (issue 6: 1,000 products in under 3 s) decides the shape: one
operator per step (Airflow spends about 0.3 ms building each one) and small
operator classes instead of ``@task``, whose signature inspection costs several
times more. A step that sends a file also waits for the reseller's answer in
the same task: it sends the file (once), then defers to a trigger that watches
the reseller's folder in the triggerer, and resumes to apply the answer (see
:mod:`reseller_sync.airflow.waiting` for why one task rather than a sending
task and a sensor). What every DAG shares (the poll interval, Airflow's
settings) is read once per parse, and Python's cyclic garbage collector is
paused while the DAGs are built: its passes over the growing heap of operators
cost up to a third of a parse here, and building them leaves no garbage cycles
worth collecting meanwhile. See docs/performance.md.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, Self, TypeVar, cast

import pendulum
from airflow.providers.standard.exceptions import HITLRejectException
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG, BaseOperator, Param, chain
from airflow.sdk.definitions.param import ParamsDict

from reseller_sync.airflow.failures import task_defaults
from reseller_sync.airflow.steps import (
    DRY_RUN,
    FORM_DEFAULTS,
    RESEND_SALE_SHEET,
    ApprovalStep,
    NotYet,
    OnboardingStep,
    PlainStep,
    PollStep,
    SendAndWaitStep,
)
from reseller_sync.airflow.waiting import PartnerWait, poll_seconds_from_environment
from reseller_sync.core.resellers import ResellerType, adapter
from reseller_sync.exchange.watch import WatchOutcome

PURPOSE = "onboarding"
"""``reseller.dag_id(PURPOSE, product)``: ``<code>_onboarding__<product>``."""


class OnboardingDeclaration(Protocol):
    """What an adapter module provides for its onboarding (see docs/adding-a-reseller.md)."""

    def onboarding_steps(self) -> Sequence[OnboardingStep]: ...
    def onboarding_doc(self, product_code: str) -> str: ...


def onboarding_declaration(reseller: ResellerType) -> OnboardingDeclaration:
    """The reseller's adapter module, seen as what declares its onboarding."""
    return cast("OnboardingDeclaration", adapter(reseller.code))


StepT = TypeVar("StepT")


class _ForProduct(Generic[StepT]):
    """An operator running one step for one product, built with :meth:`for_product`.

    The operator classes have no ``__init__`` of their own: Airflow wraps every
    operator ``__init__`` in the class hierarchy, and each wrapper merges the
    DAG's defaults again (about 5 % of a parse). This mixin comes after the
    operator base class: Airflow wraps a class's ``__init__`` again whenever it
    differs from that of the first base, which a mixin placed first would be.
    """

    product_code: str
    step: StepT

    @classmethod
    def for_product(cls, product_code: str, step: StepT, **kwargs: Any) -> Self:
        task = cls(**kwargs)
        task.product_code, task.step = product_code, step
        return task


class ProductStep(BaseOperator, _ForProduct[PlainStep]):
    """A step of a product's onboarding: ``step.run(product_code)``, whose result goes to
    XCom."""

    def execute(self, context: Any) -> Any:
        return self.step.run(self.product_code)


class ProductWait(PartnerWait, _ForProduct[SendAndWaitStep]):
    """A step that sends, then defers until the reseller answers: ``step.send``, then
    ``step.answered``.

    One task per step, not a sending task and a sensor: see
    :mod:`reseller_sync.airflow.waiting`.
    """

    @classmethod
    def for_product(
        cls,
        product_code: str,
        step: SendAndWaitStep,
        poll_seconds: float | None = None,
        **kwargs: Any,
    ) -> Self:
        task = super().for_product(product_code, step, **kwargs)
        if poll_seconds is not None:
            task.poll_seconds = poll_seconds
        return task

    def start(self, context: Any) -> Any:
        return self.step.send(self.product_code)

    def answered(self, context: Any, outcome: WatchOutcome) -> Any:
        return self.step.answered(self.product_code, outcome)


class ProductPoll(BaseOperator, _ForProduct[PollStep]):
    """A step that looks in the box office for what it waits for (``step.check``), and
    defers to a timer in the triggerer between two looks, until ``step.within`` has passed
    since its first look (kept across the deferrals)."""

    poll_seconds: float = 60.0

    def execute(self, context: Any) -> Any:
        deadline = dt.datetime.now(dt.UTC) + self.step.within
        return self._look(deadline.isoformat())

    def look_again(self, context: Any, event: Any = None, deadline: str = "") -> Any:
        return self._look(deadline)

    def _look(self, deadline: str) -> Any:
        from airflow.providers.standard.triggers.temporal import DateTimeTrigger

        result = self.step.check(self.product_code)
        if not isinstance(result, NotYet):
            return result
        until = dt.datetime.fromisoformat(deadline)
        now = dt.datetime.now(dt.UTC)
        if now >= until:
            raise self.step.late(self.product_code)
        moment = min(now + dt.timedelta(seconds=self.poll_seconds), until)
        self.log.info("Not there yet: looking again at %s (until %s)", moment, deadline)
        self.defer(
            trigger=DateTimeTrigger(moment),
            method_name="look_again",
            kwargs={"deadline": deadline},
        )


class PersonApproval(ApprovalOperator, _ForProduct[ApprovalStep]):
    """A person approves a step under Required Actions.

    *Reject* fails the step with the adapter's error (``step.rejected``), whose
    e-mail says what to do, rather than with Airflow's ``HITLRejectException``,
    which reads as a bug.
    """

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        try:
            return super().execute_complete(context=context, event=event)
        except HITLRejectException as rejected:
            raise self.step.rejected(self.product_code) from rejected


@dataclass(frozen=True)
class SharedSettings:
    """What every onboarding DAG takes from the environment, read once per parse."""

    poll_seconds: float
    """Seconds between two looks for the reseller's answer (``RESELLER_SYNC_POKE_SECONDS``)."""
    disable_bundle_versioning: bool
    """Airflow's own setting, which it would otherwise read again for every DAG."""

    @classmethod
    def read(cls) -> SharedSettings:
        from airflow.sdk.configuration import conf

        return cls(
            poll_seconds=poll_seconds_from_environment(),
            disable_bundle_versioning=conf.getboolean("dag_processor", "disable_bundle_versioning"),
        )


def build_onboarding_dags(reseller: ResellerType, product_codes: Iterable[str]) -> dict[str, DAG]:
    """The onboarding DAGs of these products at ``reseller``, by DAG id."""
    shared = SharedSettings.read()
    declaration = onboarding_declaration(reseller)
    steps = tuple(declaration.onboarding_steps())
    with _garbage_collector_paused():
        dags = [_build(reseller, declaration, steps, code, shared) for code in product_codes]
    return {dag.dag_id: dag for dag in dags}


def build_onboarding_dag(
    reseller: ResellerType, product_code: str, shared: SharedSettings | None = None
) -> DAG:
    """The onboarding DAG of one product at ``reseller``: its adapter's steps, in a chain."""
    declaration = onboarding_declaration(reseller)
    steps = tuple(declaration.onboarding_steps())
    return _build(reseller, declaration, steps, product_code, shared or SharedSettings.read())


def _build(
    reseller: ResellerType,
    declaration: OnboardingDeclaration,
    steps: Sequence[OnboardingStep],
    product_code: str,
    shared: SharedSettings,
) -> DAG:
    """One product's DAG, with what every DAG of the parse shares read once by the caller."""
    with DAG(
        dag_id=reseller.dag_id(PURPOSE, product_code),
        description=f"Put {product_code} on sale at {reseller.name}, step by step",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        # Given rather than read from Airflow's configuration, a saving at parse
        # time: the steps run one after another, and a person triggers each run.
        max_active_tasks=1,
        max_consecutive_failed_dag_runs=0,
        disable_bundle_versioning=shared.disable_bundle_versioning,
        tags=[reseller.code, PURPOSE],
        default_args=task_defaults(reseller.code),
        doc_md=declaration.onboarding_doc(product_code),
    ) as dag:
        chain(*[_task(step, product_code, shared) for step in steps])
    # The trigger form, attached once the tasks exist: Airflow deep-copies a DAG's
    # params into every task created under it; the tasks read the run's conf over
    # FORM_DEFAULTS instead.
    dag.params = ParamsDict(trigger_form(reseller))
    return dag


def _task(step: OnboardingStep, product_code: str, shared: SharedSettings) -> BaseOperator:
    """The operator of one step, under the DAG being built."""
    if isinstance(step, SendAndWaitStep):
        return ProductWait.for_product(
            product_code,
            step,
            poll_seconds=shared.poll_seconds,
            task_id=step.task_id,
            trigger_rule=step.trigger_rule,
            doc_md=step.doc_md,
        )
    if isinstance(step, PollStep):
        task = ProductPoll.for_product(
            product_code,
            step,
            task_id=step.task_id,
            trigger_rule=step.trigger_rule,
            doc_md=step.doc_md,
        )
        task.poll_seconds = shared.poll_seconds
        return task
    if isinstance(step, ApprovalStep):
        return PersonApproval.for_product(
            product_code,
            step,
            task_id=step.task_id,
            subject=step.subject.format(product=product_code),
            body=step.body.format(product=product_code),
            fail_on_reject=True,
            trigger_rule=step.trigger_rule,
            doc_md=step.doc_md,
            retries=0,  # a person's answer: nothing to try again
        )
    return ProductStep.for_product(
        product_code,
        step,
        task_id=step.task_id,
        trigger_rule=step.trigger_rule,
        doc_md=step.doc_md,
    )


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


def trigger_form(reseller: ResellerType) -> dict[str, Param]:
    """The form of a run (:data:`~reseller_sync.airflow.steps.FORM_DEFAULTS`)."""
    return {
        RESEND_SALE_SHEET: Param(
            FORM_DEFAULTS[RESEND_SALE_SHEET],
            type="boolean",
            title="Resend the sale sheet",
            description=f"Send a new sale sheet in this run even if {reseller.name} "
            "acknowledged one already.",
        ),
        DRY_RUN: Param(
            FORM_DEFAULTS[DRY_RUN],
            type="boolean",
            title="Dry run",
            description="Build every file and show it in the logs; send nothing.",
        ),
    }
