"""A synchronous reseller instance's settings: both instances load, the core's prices follow
from ``price_check`` (realtime-api-v1 section 9), and what cannot work is refused naming
the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from reseller_sync.classictic.settings import load_settings as load_classictic
from reseller_sync.config.paths import settings_path
from reseller_sync.config.settings import PricePolicy
from reseller_sync.core.resellers import adapter
from reseller_sync.digitick.settings import load_settings as load_digitick
from reseller_sync.domain.errors import ConfigurationError


def test_both_instances_load_with_the_kinds_of_their_type() -> None:
    digitick = load_digitick()
    classictic = load_classictic()

    assert digitick.contract_product_kinds == ("event", "competition", "pass")
    assert classictic.contract_product_kinds == ("event",)
    assert (digitick.price_check.compare.value, digitick.price_check.policy.value) == (
        "price_minus_commission",
        "strict",
    )
    assert (digitick.prices.includes_commission, digitick.prices.policy) == (
        False,
        PricePolicy.STRICT,
    )
    assert (classictic.prices.includes_commission, classictic.prices.policy) == (
        True,
        PricePolicy.WARN,
    )
    assert digitick.sales_report.connection_id == "digitick_sales_report"
    assert digitick.limits.active_holds_alert == 500
    assert classictic.test_order.reference_prefix == "CTT-TEST-"


def _written(tmp_path: Path, code: str, old: str, new: str) -> Path:
    text = settings_path(code).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / f"{code}.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_prices_are_said_by_price_check_alone(tmp_path: Path) -> None:
    path = _written(
        tmp_path,
        "digitick",
        "price_check:\n",
        "prices:\n  policy: strict\n  includes_commission: true\nprice_check:\n",
    )
    with pytest.raises(ConfigurationError) as refused:
        adapter("digitick").load_settings(path)
    assert any("price_check" in problem.reason for problem in refused.value.problems)


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("policy: warn", "policy: accept", "price_check.policy"),
        ("burst: 40", "burst: 5", "burst must be at least rate_per_second"),
        ("reference_prefix: CTT-TEST-", "reference_prefix: CTT TEST", "reseller reference"),
        ("connection_id: classictic_sales_report", "api_key: abc", "secrets never go"),
    ],
)
def test_what_cannot_work_is_refused_naming_the_line(
    tmp_path: Path, old: str, new: str, said: str
) -> None:
    path = _written(tmp_path, "classictic", old, new)
    line = next(
        number for number, text in enumerate(path.read_text().splitlines(), start=1) if new in text
    )
    with pytest.raises(ConfigurationError) as refused:
        adapter("classictic").load_settings(path)
    shown = [f"{problem.line}: {problem}" for problem in refused.value.problems]
    assert any(said in text for text in shown), shown
    if "burst" not in said:  # a rule across two keys is located at its section
        assert any(problem.line == line for problem in refused.value.problems), shown
