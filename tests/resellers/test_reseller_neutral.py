"""Outside its adapter, no module of the library names a specific reseller.

The registry's two lists, of adapter modules and of partner packages, are the
one exception; a partner package whose adapter is not registered yet (its
codec alone) counts as an adapter. The check reads
every module's text, docstrings and identifiers included: ``FnacSettings``
names FNAC as much as ``"fnac"`` does.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from reseller_sync.core.resellers import ADAPTER_MODULES, PARTNER_PACKAGES, reseller_types

LIBRARY = Path(__file__).resolve().parents[2] / "plugins" / "reseller_sync"

ADAPTER_PACKAGES = {package.split(".")[1] for package in PARTNER_PACKAGES}
"""``reseller_sync.<package>``: each partner's own package."""
REGISTRY_LISTS = ("ADAPTER_MODULES", "PARTNER_PACKAGES")


def _names() -> re.Pattern[str]:
    words = {word for kind in reseller_types() for word in (kind.code, kind.name)}
    words |= ADAPTER_PACKAGES
    # Anywhere in a word too: FnacSettings and fnac_inbound name FNAC as much as FNAC does.
    return re.compile("|".join(map(re.escape, sorted(words))), re.IGNORECASE)


def _text_without_registry(path: Path) -> str:
    """The module's text; in the registry, less the assignments of its two lists."""
    text = path.read_text(encoding="utf-8")
    if path != LIBRARY / "core" / "resellers.py":
        return text
    lines = text.splitlines()
    listed = [
        node
        for node in ast.parse(text).body
        if isinstance(node, ast.AnnAssign | ast.Assign)
        and any(name in ast.unparse(node).split("=")[0] for name in REGISTRY_LISTS)
    ]
    assert len(listed) == len(REGISTRY_LISTS), "the registry's lists were not found"
    for node in reversed(listed):
        assert node.end_lineno is not None
        del lines[node.lineno - 1 : node.end_lineno]
    return "\n".join(lines)


def naming_a_reseller() -> set[str]:
    names = _names()
    found = set()
    for path in LIBRARY.rglob("*.py"):
        relative = path.relative_to(LIBRARY).as_posix()
        if relative.split("/")[0] in ADAPTER_PACKAGES:
            continue
        if names.search(_text_without_registry(path)):
            found.add(relative)
    return found


def test_no_module_outside_an_adapter_names_a_reseller() -> None:
    assert sorted(naming_a_reseller()) == []


def test_no_partner_package_names_another_partner() -> None:
    """Each partner package is written against the core alone, never after another one."""
    words = {kind.code: {kind.code, kind.name} for kind in reseller_types()}
    found = set()
    for package in ADAPTER_PACKAGES:
        others = set().union(
            *(names for code, names in words.items() if code != package),
            ADAPTER_PACKAGES - {package},
        )
        if not others:
            continue
        pattern = re.compile("|".join(map(re.escape, sorted(others))), re.IGNORECASE)
        for path in (LIBRARY / package).rglob("*.py"):
            if pattern.search(path.read_text(encoding="utf-8")):
                found.add(path.relative_to(LIBRARY).as_posix())
    assert sorted(found) == []


def test_the_check_reads_every_module_but_the_adapters() -> None:
    read = {
        path.relative_to(LIBRARY).parts[0]
        for path in LIBRARY.rglob("*.py")
        if path.relative_to(LIBRARY).parts[0] not in ADAPTER_PACKAGES
    }
    assert {"core", "integration", "exchange", "mappings", "pipelines", "airflow"} <= read
    assert "fnac" in ADAPTER_PACKAGES
    assert {module.split(".")[1] for module in ADAPTER_MODULES} <= ADAPTER_PACKAGES


def test_the_check_sees_a_name_where_there_is_one(tmp_path: Path) -> None:
    names = _names()
    for kind in reseller_types():
        assert names.search(f"x = '{kind.name.lower()}'")
        assert names.search(f"# see {kind.code}_inbound")
        assert names.search(f"class {kind.name.title()}Settings: ...")
        assert not names.search("class InstanceSettings: ...")
