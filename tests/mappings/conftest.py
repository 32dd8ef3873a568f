"""A copy of the demo include folder per test, to break mapping files at will."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from reseller_sync.config.paths import INCLUDE_DIR_VARIABLE, PROJECT_ROOT
from reseller_sync.fnac.settings import FnacSettings, load_settings


@pytest.fixture
def include(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of include/config and include/mappings, made the include folder of the test."""
    folder = tmp_path / "include"
    for part in ("config", "mappings"):
        shutil.copytree(PROJECT_ROOT / "include" / part, folder / part)
    monkeypatch.setenv(INCLUDE_DIR_VARIABLE, str(folder))
    return folder


@pytest.fixture
def mappings(include: Path) -> Path:
    return include / "mappings" / "fnac"


@pytest.fixture
def settings(include: Path) -> FnacSettings:
    return load_settings()


Edit = Callable[[Path, str, str], None]


@pytest.fixture
def edit() -> Edit:
    """Replace one exact piece of a file's text (fails loudly when it is not there once)."""

    def replace(path: Path, old: str, new: str) -> None:
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
        path.write_text(text.replace(old, new), encoding="utf-8")

    return replace
