"""The onboarding builder takes a reseller: its DAG ids, words and steps are the adapter's.

Run for every registered reseller type, and for a second reseller made up here
(Acmetix-like, declared the way an adapter would), so that the builder is seen
building what another adapter declares. The whole runs against FNAC's sandbox
are in ``test_fnac_onboarding.py``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from airflow.sdk import TriggerRule

from devtools.devstack import APPROVAL_TASK, APPROVAL_TASKS, SecutixAtWork
from reseller_sync.airflow import onboarding_dag, steps
from reseller_sync.airflow.onboarding_dag import (
    PersonApproval,
    ProductPoll,
    ProductStep,
    ProductWait,
    build_onboarding_dag,
    build_onboarding_dags,
    onboarding_declaration,
)
from reseller_sync.airflow.steps import (
    ApprovalStep,
    OnboardingStep,
    PlainStep,
    PollStep,
    SendAndWaitStep,
)
from reseller_sync.core import resellers
from reseller_sync.core.resellers import (
    Acknowledgement,
    InterfaceKind,
    Placement,
    ResellerType,
    SalesReporting,
    adapter,
    reseller_type,
    reseller_types,
)
from reseller_sync.domain.errors import MappingError
from reseller_sync.domain.products import ProductKind
from reseller_sync.fnac import onboarding as fnac_onboarding

TYPES = list(reseller_types())
NEUTRAL_MODULES = [onboarding_dag, steps]


def mentions(text: str, word: str) -> list[str]:
    """The lines of ``text`` naming ``word`` in any case, not as part of a longer word
    (``fnac_onboarding`` and ``FNAC's`` name FNAC; ``fnacx`` does not)."""
    pattern = re.compile(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", re.IGNORECASE)
    return [line for line in text.splitlines() if pattern.search(line)]


@pytest.mark.parametrize("module", NEUTRAL_MODULES, ids=lambda module: module.__name__)
@pytest.mark.parametrize("reseller", TYPES, ids=lambda reseller: reseller.code)
def test_the_builder_names_no_reseller(module: ModuleType, reseller: ResellerType) -> None:
    source = Path(str(module.__file__)).read_text()
    for word in {reseller.code, reseller.name}:
        assert mentions(source, word) == [], f"{module.__name__} names {word}"


def test_the_search_for_a_reseller_s_name_finds_it_where_it_is() -> None:
    fnac = reseller_type("fnac")
    assert mentions(Path(str(fnac_onboarding.__file__)).read_text(), fnac.name)
    assert mentions("dag_id = 'fnac_onboarding__evt-lumen'", fnac.code)
    assert mentions("FNAC's codes", fnac.code)
    assert not mentions("a fnacx or xfnac", fnac.code)


@pytest.mark.parametrize("reseller", TYPES, ids=lambda reseller: reseller.code)
def test_each_reseller_gets_its_adapter_s_steps_in_a_chain(reseller: ResellerType) -> None:
    declaration = onboarding_declaration(reseller)
    declared = declaration.onboarding_steps()
    products = adapter(reseller.code).load_settings().product_codes

    dags = build_onboarding_dags(reseller, products)

    assert list(dags) == [reseller.dag_id("onboarding", code) for code in products]
    for product, dag in zip(products, dags.values(), strict=True):
        assert dag.dag_id == f"{reseller.code}_onboarding__{product.lower()}"
        assert_built_as_declared(dag, reseller, product, declared)
        assert dag.doc_md == declaration.onboarding_doc(product)


def test_fnac_keeps_its_dag_ids_and_task_ids() -> None:
    """Running installations keep their history under these names."""
    dag = build_onboarding_dag(reseller_type("fnac"), "EVT-LUMEN")

    assert dag.dag_id == "fnac_onboarding__evt-lumen"
    assert [task.task_id for task in dag.topological_sort()] == [
        "check_product",
        "send_sale_sheet",
        "confirm_fnac_codes_recorded",
        "check_mappings",
        "send_places",
        "integrate_test_tickets",
        "open_sales",
    ]
    assert "Put EVT-LUMEN on sale at FNAC" in str(dag.doc_md)
    approval = dag.get_task("confirm_fnac_codes_recorded")
    assert isinstance(approval, PersonApproval)
    assert approval.subject == "FNAC's codes for EVT-LUMEN recorded?"
    assert "`include/mappings/fnac/EVT-LUMEN.yaml`" in str(approval.body)


def test_the_dev_stack_approves_fnac_s_approval_step() -> None:
    [approval] = [s for s in fnac_onboarding.STEPS if isinstance(s, ApprovalStep)]
    assert approval.task_id == APPROVAL_TASK


@pytest.mark.parametrize("reseller", sorted(APPROVAL_TASKS))
def test_the_dev_stack_approves_each_reseller_s_approval_step(reseller: str) -> None:
    steps = resellers.adapter(reseller).onboarding_steps()
    [approval] = [s for s in steps if isinstance(s, ApprovalStep)]
    assert approval.task_id == APPROVAL_TASKS[reseller]


def test_the_dev_stack_sells_the_opening_tickets_when_secutix_s_step_waits() -> None:
    steps = resellers.adapter("secutix").onboarding_steps()
    assert SecutixAtWork.OPENING_TASK in [step.task_id for step in steps]


# A second reseller, declared as its adapter would --------------------------------

CALLS: list[tuple[str, str]] = []


def _check_product(product_code: str) -> dict[str, str]:
    CALLS.append(("check_product", product_code))
    return {"checked": product_code}


def _send_offer(product_code: str) -> str:
    CALLS.append(("send_offer", product_code))
    return "acknowledged at once"


def _offer_answered(product_code: str, outcome: Any) -> str:
    raise AssertionError("the offer was answered when sent: nothing to resume")


def _ids_not_recorded(product_code: str) -> MappingError:
    return MappingError(
        f"Acmetix's ids for {product_code} are not recorded yet (Reject)",
        action="Record them, deploy, trigger the onboarding again.",
    )


ACMETIX_STEPS: tuple[OnboardingStep, ...] = (
    PlainStep(task_id="check_product", run=_check_product, doc_md="Check the product."),
    SendAndWaitStep(
        task_id="send_offer",
        send=_send_offer,
        answered=_offer_answered,
        doc_md="Send the offer; wait for Acmetix's JSON ACK.",
    ),
    ApprovalStep(
        task_id="confirm_ids_recorded",
        subject="Acmetix's ids for {product} recorded?",
        body="Record Acmetix's ids of **{product}**, deploy, then **Approve**.",
        rejected=_ids_not_recorded,
        doc_md="A person confirms that Acmetix's ids are recorded.",
    ),
    SendAndWaitStep(
        task_id="integrate_test_sales",
        send=_send_offer,
        answered=_offer_answered,
        trigger_rule=TriggerRule.NONE_FAILED,
        doc_md="Wait for Acmetix's test sales; integrate and cancel them.",
    ),
)


@pytest.fixture
def acmetix(monkeypatch: pytest.MonkeyPatch) -> Iterator[ResellerType]:
    """An Acmetix adapter in the registry, beside the registered ones, for this test."""
    module = ModuleType("tests_acmetix_adapter")
    module.RESELLER_TYPE = ResellerType(  # type: ignore[attr-defined]
        code="acmetix",
        name="Acmetix",
        contract="acmetix-exchange-v1",
        interface=InterfaceKind.FILES,
        product_kinds=frozenset({ProductKind.EVENT, ProductKind.COMPETITION}),
        placements=frozenset({Placement.SEATED, Placement.FREE}),
        acknowledgement=Acknowledgement.ANSWER_PER_BATCH,
        sales_reporting=SalesReporting.EVENT_LOG,
        nightly=(),
    )
    module.onboarding_steps = lambda: ACMETIX_STEPS  # type: ignore[attr-defined]
    module.onboarding_doc = lambda product: f"### Put {product} on sale at Acmetix"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(resellers, "ADAPTER_MODULES", (*resellers.ADAPTER_MODULES, module.__name__))
    resellers._adapters.cache_clear()
    CALLS.clear()
    try:
        yield reseller_type("acmetix")
    finally:
        resellers._adapters.cache_clear()


def test_another_reseller_gets_its_own_dags_from_the_same_builder(
    acmetix: ResellerType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESELLER_SYNC_POKE_SECONDS", "5")

    dags = build_onboarding_dags(acmetix, ["EVT-LUMEN", "CMP-LYON-NANTES"])

    assert list(dags) == [
        "acmetix_onboarding__evt-lumen",
        "acmetix_onboarding__cmp-lyon-nantes",
    ]
    dag = dags["acmetix_onboarding__evt-lumen"]
    assert_built_as_declared(dag, acmetix, "EVT-LUMEN", ACMETIX_STEPS)
    assert dag.doc_md == "### Put EVT-LUMEN on sale at Acmetix"
    assert {task.poll_seconds for task in dag.tasks if isinstance(task, ProductWait)} == {5.0}
    assert build_onboarding_dag(reseller_type("fnac"), "EVT-LUMEN").dag_id == (
        "fnac_onboarding__evt-lumen"
    ), "FNAC's DAGs are unchanged beside another reseller's"


def test_another_reseller_s_steps_run_for_their_product(acmetix: ResellerType) -> None:
    dag = build_onboarding_dag(acmetix, "EVT-LUMEN")

    check, send = dag.get_task("check_product"), dag.get_task("send_offer")
    assert isinstance(check, ProductStep)
    assert isinstance(send, ProductWait)

    assert check.execute(context={}) == {"checked": "EVT-LUMEN"}
    assert send.execute(context={}) == "acknowledged at once"
    assert CALLS == [("check_product", "EVT-LUMEN"), ("send_offer", "EVT-LUMEN")]


@pytest.mark.parametrize(("answer", "approved"), [("Approve", True), ("Reject", False)])
def test_a_rejected_approval_fails_with_the_adapter_s_error(
    acmetix: ResellerType, answer: str, approved: bool
) -> None:
    approval = build_onboarding_dag(acmetix, "EVT-LUMEN").get_task("confirm_ids_recorded")
    assert isinstance(approval, PersonApproval)
    event = {
        "chosen_options": [answer],
        "params_input": {},
        "responded_at": dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC),
        "responded_by_user": {"id": "1", "name": "data-ops"},
    }

    if approved:
        assert approval.execute_complete(context={}, event=event)["chosen_options"] == [answer]
        return
    with pytest.raises(MappingError, match="ids for EVT-LUMEN are not recorded yet") as failed:
        approval.execute_complete(context={}, event=event)
    assert failed.value.action == "Record them, deploy, trigger the onboarding again."


def assert_built_as_declared(
    dag: Any, reseller: ResellerType, product: str, declared: Sequence[OnboardingStep]
) -> None:
    """One task per declared step, in order, each the operator of its kind running the
    step for the product; the reseller's tags, words and form."""
    assert dag.tags == {reseller.code, "onboarding"}
    assert reseller.name in dag.description
    assert product in dag.description
    assert set(dag.params) == {"resend_sale_sheet", "dry_run"}
    assert reseller.name in dag.params.get_param("resend_sale_sheet").description
    tasks: list[Any] = list(dag.topological_sort())
    assert [task.task_id for task in tasks] == [step.task_id for step in declared]
    for before, after in itertools.pairwise(tasks):
        assert after.upstream_task_ids == {before.task_id}, "one chain, step after step"
    kinds = {
        PlainStep: ProductStep,
        SendAndWaitStep: ProductWait,
        ApprovalStep: PersonApproval,
        PollStep: ProductPoll,
    }
    for task, step in zip(tasks, declared, strict=True):
        operator = type(task)
        assert operator is kinds[type(step)]
        assert (task.product_code, task.step) == (product, step)
        assert task.doc_md == step.doc_md
        assert task.trigger_rule == step.trigger_rule
        assert task.owner == "data-ops"
        if isinstance(step, ApprovalStep):
            assert task.subject == step.subject.format(product=product)
            assert task.body == step.body.format(product=product)
            assert task.retries == 0
