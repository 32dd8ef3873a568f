"""Outside its adapter, no module of the library names a specific reseller.

The registry's list of adapter modules is the one exception. Modules written
for FNAC alone before the core existed are listed in ``NOT_MOVED_YET``: the
list may only shrink (a listed module that no longer names a reseller fails
the test until it is taken off), and the reseller-neutral packages may never
be on it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from reseller_sync.core.resellers import ADAPTER_MODULES, reseller_types

LIBRARY = Path(__file__).resolve().parents[2] / "plugins" / "reseller_sync"

ADAPTER_PACKAGES = {module.split(".")[1] for module in ADAPTER_MODULES}
"""``reseller_sync.<package>.adapter`` → the adapter's own package."""

NEUTRAL = (
    "core/",
    "integration/",
    "airflow/builders.py",
    "airflow/inbound_dag.py",
    "airflow/nightly_dag.py",
    "airflow/onboarding_dag.py",
    "airflow/steps.py",
    "airflow/failures.py",
    "airflow/notices.py",
    "airflow/notifier.py",
    "airflow/triggers.py",
    "airflow/waiting.py",
    "config/paths.py",
    "alerts/deliver.py",
)
"""Packages and modules that are reseller-neutral by design."""

NOT_MOVED_YET: frozenset[str] = frozenset(
    {
        "alerts/compose.py",
        "boxoffice/catalogue.py",
        "boxoffice/migrations/versions/0003_set_aside_and_reused_sequence.py",
        "boxoffice/models.py",
        "cli.py",
        "config/__init__.py",
        "config/settings.py",
        "dashboard/__init__.py",
        "dashboard/app.py",
        "dashboard/queries.py",
        "exchange/cli.py",
        "exchange/filenames.py",
        "exchange/journal.py",
        "exchange/transport.py",
        "exchange/watch.py",
        "mappings/__init__.py",
        "mappings/check.py",
        "mappings/cli.py",
        "mappings/files.py",
        "mappings/model.py",
        "mappings/repository.py",
        "pipelines/access_export.py",
        "pipelines/cancellations.py",
        "pipelines/inbound.py",
        "pipelines/sales.py",
        "pipelines/sales_summary.py",
        "pipelines/set_aside.py",
        "pipelines/test_tickets.py",
    }
)


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


def test_no_module_outside_an_adapter_names_a_reseller_unless_listed() -> None:
    found = naming_a_reseller()

    assert found <= NOT_MOVED_YET, f"new modules naming a reseller: {sorted(found - NOT_MOVED_YET)}"
    assert found >= NOT_MOVED_YET, (
        f"no longer naming a reseller, take them off NOT_MOVED_YET: {sorted(NOT_MOVED_YET - found)}"
    )


def test_the_neutral_packages_are_never_excused() -> None:
    assert not {module for module in NOT_MOVED_YET if module.startswith(NEUTRAL)}
    for neutral in NEUTRAL:
        assert (LIBRARY / neutral).exists(), neutral


def test_the_check_sees_a_name_where_there_is_one(tmp_path: Path) -> None:
    names = _names()
    for kind in reseller_types():
        assert names.search(f"x = '{kind.name.lower()}'")
        assert names.search(f"# see {kind.code}_inbound")
        assert names.search(f"class {kind.name.title()}Settings: ...")
        assert not names.search("class InstanceSettings: ...")
