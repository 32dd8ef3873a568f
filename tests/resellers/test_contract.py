"""The reseller contract: what every registered adapter must do, run for each type.

An adapter that joins the registry (``reseller_sync.core.resellers.ADAPTER_MODULES``)
is run through every test here without a line of its own: its instance settings
and mappings are found by its code, its refusals are checked against the kinds
it declares, on the demo box office.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import Direction, ExchangeFile, Product
from reseller_sync.config.paths import (
    INCLUDE_DIR_VARIABLE,
    PROJECT_ROOT,
    configured_resellers,
    mappings_dir,
    settings_path,
)
from reseller_sync.core.resellers import (
    ADAPTER_MODULES,
    InterfaceKind,
    ResellerType,
    UnknownResellerError,
    adapter,
    reseller_type,
    reseller_type_codes,
    reseller_types,
)
from reseller_sync.domain.errors import ConfigurationError
from reseller_sync.domain.products import ProductKind

TYPES = list(reseller_types())


@pytest.fixture(params=TYPES, ids=[kind.code for kind in TYPES])
def reseller(request: pytest.FixtureRequest) -> ResellerType:
    declared: ResellerType = request.param
    return declared


def test_the_registry_lists_each_adapter_once_under_its_own_code() -> None:
    assert len(TYPES) == len(ADAPTER_MODULES)
    assert reseller_type_codes() == tuple(kind.code for kind in TYPES)
    for kind in TYPES:
        assert reseller_type(kind.code) is kind
        assert adapter(kind.code).RESELLER_TYPE is kind
    with pytest.raises(UnknownResellerError, match="no reseller type 'nobody'"):
        reseller_type("nobody")


def test_every_configured_instance_is_of_a_registered_type() -> None:
    assert set(configured_resellers()) <= set(reseller_type_codes())
    assert configured_resellers(), "the project configures at least one reseller instance"


def test_its_instance_settings_load_and_list_products(reseller: ResellerType) -> None:
    settings = adapter(reseller.code).load_settings()

    assert settings.source == settings_path(reseller.code)
    assert settings.product_codes
    assert settings_path(reseller.code).parent.name == "resellers"


def test_a_broken_settings_file_is_refused_naming_the_file_and_line(
    reseller: ResellerType, tmp_path: Path
) -> None:
    broken = tmp_path / f"{reseller.code}.yaml"
    original = settings_path(reseller.code).read_text(encoding="utf-8")
    broken.write_text(original + "\nno_such_setting: 1\n", encoding="utf-8")
    line = len(original.splitlines()) + 2

    with pytest.raises(ConfigurationError) as refused:
        adapter(reseller.code).load_settings(broken)

    located = [problem for problem in refused.value.problems if problem.line == line]
    assert located, [str(problem) for problem in refused.value.problems]
    assert str(broken.name) in str(located[0].file)
    assert "no_such_setting" in str(located[0])


def test_its_mappings_pass_the_check_on_the_demo_box_office(
    reseller: ResellerType, demo_session: Session
) -> None:
    module = adapter(reseller.code)
    settings = module.load_settings()

    assert mappings_dir(reseller.code).is_dir()
    assert module.check_mappings(settings, None).ok
    assert module.check_mappings(settings, demo_session).ok


def test_a_missing_product_mapping_fails_the_check(
    reseller: ResellerType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    include = tmp_path / "include"
    shutil.copytree(PROJECT_ROOT / "include", include)
    monkeypatch.setenv(INCLUDE_DIR_VARIABLE, str(include))
    module = adapter(reseller.code)
    settings = module.load_settings()
    product = settings.product_codes[0]
    (mappings_dir(reseller.code) / f"{product}.yaml").unlink()

    assert not module.check_mappings(settings, None).ok


@pytest.mark.parametrize("kind", list(ProductKind), ids=[kind.value for kind in ProductKind])
def test_a_kind_it_may_not_sell_is_refused_before_any_exchange(
    reseller: ResellerType, kind: ProductKind, demo_session: Session
) -> None:
    """The demo box office has a product of every kind; the adapter's product check refuses
    exactly the kinds the type does not declare, naming the reseller, and sends nothing."""
    product = demo_session.scalar(select(Product).where(Product.kind == kind).limit(1))
    assert product is not None, f"the demo box office has no {kind}"
    module = adapter(reseller.code)

    verdict = module.check_product(demo_session, module.load_settings(), product.code)

    if reseller.may_sell(kind):
        assert verdict.sellable
        assert reseller.refusal_reason(kind) is None
    else:
        reason = reseller.refusal_reason(kind)
        assert reason is not None
        assert reseller.name in reason
        assert reseller.contract in reason
        assert not verdict.sellable
        assert not verdict.ok
        assert any(reason in problem.reason for problem in verdict.problems)
    sent = demo_session.scalar(
        select(func.count())
        .select_from(ExchangeFile)
        .where(
            ExchangeFile.reseller_code == reseller.code,
            ExchangeFile.direction == Direction.OUTBOUND,
        )
    )
    assert sent == 0


def test_its_declaration_is_coherent(reseller: ResellerType) -> None:
    if reseller.interface is InterfaceKind.FILES:
        assert reseller.streams, "a file reseller names the streams it integrates"
    assert reseller.dag_id("inbound") == f"{reseller.code}_inbound"
    assert reseller.dag_id("onboarding", "EVT-X") == f"{reseller.code}_onboarding__evt-x"


def test_a_declaration_that_cannot_work_is_refused() -> None:
    fnac = TYPES[0]
    with pytest.raises(ValueError, match="code 'Not A Code'"):
        ResellerType(**{**fnac.__dict__, "code": "Not A Code"})
    with pytest.raises(ValueError, match="may sell no product kind"):
        ResellerType(**{**fnac.__dict__, "product_kinds": frozenset()})
    with pytest.raises(ValueError, match="answers synchronously"):
        ResellerType(**{**fnac.__dict__, "interface": InterfaceKind.REALTIME})


def test_settings_named_after_no_reseller_type_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    include = tmp_path / "include"
    shutil.copytree(PROJECT_ROOT / "include", include)
    (include / "config" / "resellers" / "fnak.yaml").write_text("x: 1\n")
    monkeypatch.setenv(INCLUDE_DIR_VARIABLE, str(include))

    with pytest.raises(ConfigurationError) as refused:
        configured_resellers()

    assert "fnak" in refused.value.message
    assert refused.value.problems[0].file is not None
    assert refused.value.problems[0].file.endswith("fnak.yaml")
