"""The journal is the only code that touches its tables.

Outside :mod:`reseller_sync.exchange.journal`, the models that declare the
tables and the migrations that create them, no module of the library names
``ExchangeFile`` or ``ExchangeFileError`` (an import, a query, an annotation, a
docstring alike), nor their tables: every other module asks the journal, by
reseller, stream, direction, name or state.
"""

from __future__ import annotations

import re
from pathlib import Path

LIBRARY = Path(__file__).resolve().parents[2] / "plugins" / "reseller_sync"

OWNERS = {"exchange/journal.py", "boxoffice/models.py"}
"""The journal, and the models that declare its tables."""
OWNER_PACKAGES = ("boxoffice/migrations/",)
"""The migrations that create and change its tables."""

JOURNAL_TABLES = re.compile(r"\b(?:ExchangeFile(?:Error)?|exchange_file(?:_error)?)\b")


def _is_owner(relative: str) -> bool:
    return relative in OWNERS or relative.startswith(OWNER_PACKAGES)


def touching_the_journal_tables() -> dict[str, list[int]]:
    """The modules, other than the journal's own, that name its tables: their lines."""
    found: dict[str, list[int]] = {}
    for path in sorted(LIBRARY.rglob("*.py")):
        relative = path.relative_to(LIBRARY).as_posix()
        if _is_owner(relative):
            continue
        lines = [
            number
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if JOURNAL_TABLES.search(line)
        ]
        if lines:
            found[relative] = lines
    return found


def test_only_the_journal_touches_its_tables() -> None:
    assert touching_the_journal_tables() == {}


def test_the_check_reads_the_modules_that_used_to_touch_them() -> None:
    read = {
        path.relative_to(LIBRARY).as_posix()
        for path in LIBRARY.rglob("*.py")
        if not _is_owner(path.relative_to(LIBRARY).as_posix())
    }
    assert {
        "fnac/acks.py",
        "fnac/outbound.py",
        "pipelines/inbound.py",
        "dashboard/queries.py",
        "exchange/transport.py",
    } <= read
    assert "exchange/journal.py" not in read
    assert not any(relative.startswith("boxoffice/migrations/") for relative in read)


def test_the_check_sees_the_tables_where_they_are_named() -> None:
    assert JOURNAL_TABLES.search("from reseller_sync.boxoffice.models import ExchangeFile")
    assert JOURNAL_TABLES.search("select(ExchangeFileError.id)")
    assert JOURNAL_TABLES.search('text("SELECT name FROM exchange_file")')
    assert JOURNAL_TABLES.search("entry: ExchangeFile | None")
    assert not JOURNAL_TABLES.search("journal.find_file(session, reseller, direction, name)")
    assert not JOURNAL_TABLES.search("class ExchangeFiles: ...")
