"""Outside its adapter, no module of the library names a specific reseller.

The registry's list of adapter modules is the one exception. The check reads
every module's text, docstrings and identifiers included: ``FnacSettings``
names FNAC as much as ``"fnac"`` does.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from reseller_sync.core.resellers import ADAPTER_MODULES, reseller_types

LIBRARY = Path(__file__).resolve().parents[2] / "plugins" / "reseller_sync"

ADAPTER_PACKAGES = {module.split(".")[1] for module in ADAPTER_MODULES}
"""``reseller_sync.<package>.adapter`` → the adapter's own package."""


def _names() -> re.Pattern[str]:
    words = {word for kind in reseller_types() for word in (kind.code, kind.name)}
    # Anywhere in a word too: FnacSettings and fnac_inbound name FNAC as much as FNAC does.
    return re.compile("|".join(map(re.escape, sorted(words))), re.IGNORECASE)


def _text_without_registry(path: Path) -> str:
    """The module's text; in the registry, less the one line that lists the adapters."""
    text = path.read_text(encoding="utf-8")
    if path == LIBRARY / "core" / "resellers.py":
        tree = ast.parse(text)
        for node in tree.body:
            if isinstance(node, ast.AnnAssign | ast.Assign) and "ADAPTER_MODULES" in ast.unparse(
                node
            ):
                lines = text.splitlines()
                del lines[node.lineno - 1 : node.end_lineno]
                return "\n".join(lines)
    return text


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


def test_the_check_reads_every_module_but_the_adapters() -> None:
    read = {
        path.relative_to(LIBRARY).parts[0]
        for path in LIBRARY.rglob("*.py")
        if path.relative_to(LIBRARY).parts[0] not in ADAPTER_PACKAGES
    }
    assert {"core", "integration", "exchange", "mappings", "pipelines", "airflow"} <= read
    assert "fnac" in ADAPTER_PACKAGES


def test_the_check_sees_a_name_where_there_is_one(tmp_path: Path) -> None:
    names = _names()
    for kind in reseller_types():
        assert names.search(f"x = '{kind.name.lower()}'")
        assert names.search(f"# see {kind.code}_inbound")
        assert names.search(f"class {kind.name.title()}Settings: ...")
        assert not names.search("class InstanceSettings: ...")
