"""What an adapter declares its onboarding with: its steps, each one task of the DAG.

The onboarding builder (:mod:`reseller_sync.airflow.onboarding_dag`) is the
same for every reseller; the adapter says what the steps are, in order, through
its ``onboarding_steps()``, and how the DAG explains them (``onboarding_doc``).
A step is one of four kinds:

- :class:`PlainStep`: ``run(product_code)``, whose result goes to XCom;
- :class:`SendAndWaitStep`: ``send(product_code)`` sends once and returns the
  result, or a :class:`~reseller_sync.airflow.waiting.Wait` for the partner's
  answer; the task then defers to the triggerer, and resumes in
  ``answered(product_code, outcome)`` (see :mod:`reseller_sync.airflow.waiting`);
- :class:`PollStep`: ``check(product_code)`` returns the result, or
  :data:`NOT_YET` while what it waits for (something the partner does through
  the box office's own service) has not happened; the task then defers to a
  timer in the triggerer and looks again, until ``within`` has passed;
- :class:`ApprovalStep`: a person answers under Required Actions; *Reject*
  fails the step with ``rejected(product_code)``.

The step functions run inside a task: :func:`form_values` and
:func:`run_started` give them what the run asked for. The declarations are built
once, at import, so a parse of a thousand products reads them a thousand times
and builds them once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import TriggerRule, get_current_context

if TYPE_CHECKING:
    from reseller_sync.exchange.watch import WatchOutcome

RESEND_SALE_SHEET = "resend_sale_sheet"
DRY_RUN = "dry_run"
FORM_DEFAULTS: dict[str, bool] = {RESEND_SALE_SHEET: False, DRY_RUN: False}
"""The trigger form of every onboarding DAG: *resend the sale sheet* (one new sheet in
this run even if the reseller acknowledged one) and *dry run* (build and show the files,
send nothing). The adapter's steps honour both."""


@dataclass(frozen=True, kw_only=True)
class Step:
    """What every step declares: its task and how the task explains itself."""

    task_id: str
    """Unchanged once a DAG has run: a running installation keeps its history under it."""
    doc_md: str
    """The task's documentation in the UI: what it does, in a sentence or two."""
    trigger_rule: TriggerRule = TriggerRule.ALL_SUCCESS
    """``NONE_FAILED`` for a step that follows one that may be skipped."""


@dataclass(frozen=True, kw_only=True)
class PlainStep(Step):
    """A step done in one go in a worker."""

    run: Callable[[str], Any]
    """``run(product_code)``: the step's result (to XCom), or an error."""


@dataclass(frozen=True, kw_only=True)
class SendAndWaitStep(Step):
    """A step that sends, then waits for the partner's answer in the triggerer."""

    send: Callable[[str], Any]
    """``send(product_code)``: send once (the journal knows what was sent), look for the
    answer if it may be there; the step's result, or a ``Wait``."""
    answered: Callable[[str, WatchOutcome], Any]
    """``answered(product_code, outcome)``: the trigger fired; apply the answer. The step's
    result, or a new ``Wait`` (keeping the deadline) when what came was not the answer."""


@dataclass(frozen=True, kw_only=True)
class ApprovalStep(Step):
    """A person confirms something only a person can (codes the partner sent by e-mail)."""

    subject: str
    """Shown under Required Actions; ``{product}`` stands for the product's code."""
    body: str
    """Markdown: what to do before approving; ``{product}`` stands for the product's code."""
    rejected: Callable[[str], Exception]
    """``rejected(product_code)``: the error *Reject* fails the step with; it says what to do
    (rather than Airflow's ``HITLRejectException``, which reads as a bug)."""


class NotYet:
    """What a :class:`PollStep`'s ``check`` returns while it waits: look again later."""

    def __repr__(self) -> str:
        return "NOT_YET"


NOT_YET = NotYet()


@dataclass(frozen=True, kw_only=True)
class PollStep(Step):
    """A step that waits for something seen in the box office (the partner's order placed
    through the service), looking again at each poll interval, deferred in between."""

    check: Callable[[str], Any]
    """``check(product_code)``: the step's result, or :data:`NOT_YET`."""
    within: dt.timedelta
    """How long to wait, from the step's first look."""
    late: Callable[[str], Exception]
    """``late(product_code)``: the error the step fails with once ``within`` has passed; it
    says what to do."""


OnboardingStep = PlainStep | SendAndWaitStep | ApprovalStep | PollStep


def form_values() -> dict[str, Any]:
    """The trigger form's values in the running task: the run's conf over the defaults."""
    context = get_current_context()
    conf = context["dag_run"].conf or {}
    return {**FORM_DEFAULTS, **dict(context["params"]), **conf}


def run_started() -> dt.datetime | None:
    """When the running task's DAG run started: a resend asked for in the form happens once
    after it."""
    started = get_current_context()["dag_run"].start_date
    return started if started is None else pendulum.instance(started)
