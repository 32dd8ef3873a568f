"""Where the interface's files live: ``<project root>/include/`` unless told otherwise.

The project root is found from this package (``plugins/reseller_sync/config`` →
three parents up). The environment variable ``RESELLER_SYNC_INCLUDE_DIR``
points to another ``include/`` folder (tests, deployments).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
INCLUDE_DIR_VARIABLE = "RESELLER_SYNC_INCLUDE_DIR"
SETTINGS_FILE_NAME = "fnac.yaml"


def include_dir() -> Path:
    """The ``include/`` folder: ``$RESELLER_SYNC_INCLUDE_DIR`` or the project's own."""
    if override := os.environ.get(INCLUDE_DIR_VARIABLE):
        return Path(override)
    return PROJECT_ROOT / "include"


def settings_path() -> Path:
    """The FNAC interface settings file, ``<include>/config/fnac.yaml``."""
    return include_dir() / "config" / SETTINGS_FILE_NAME


def mappings_dir() -> Path:
    """The folder of mapping files, ``<include>/mappings/``."""
    return include_dir() / "mappings"


def shown_path(path: Path) -> str:
    """A path as a person should read it: relative to the project root when inside it."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
