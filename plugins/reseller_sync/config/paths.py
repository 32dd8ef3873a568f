"""Where the interface's files live: ``<project root>/include/`` unless told otherwise.

The project root is found from this package (``plugins/reseller_sync/config`` →
three parents up). The environment variable ``RESELLER_SYNC_INCLUDE_DIR``
points to another ``include/`` folder (tests, deployments).

Each reseller instance (one organiser's settings for a reseller type) has its
settings in ``config/resellers/<code>.yaml`` and its mappings in
``mappings/<code>/``, the code being its reseller type's.
"""

from __future__ import annotations

import os
from pathlib import Path

from reseller_sync.domain.errors import ConfigurationError, Problem

PROJECT_ROOT = Path(__file__).resolve().parents[3]
INCLUDE_DIR_VARIABLE = "RESELLER_SYNC_INCLUDE_DIR"
REPORTS_DIR_VARIABLE = "RESELLER_SYNC_REPORTS_DIR"


def include_dir() -> Path:
    """The ``include/`` folder: ``$RESELLER_SYNC_INCLUDE_DIR`` or the project's own."""
    if override := os.environ.get(INCLUDE_DIR_VARIABLE):
        return Path(override)
    return PROJECT_ROOT / "include"


def reports_dir() -> Path:
    """Where reports and exports are kept: ``$RESELLER_SYNC_REPORTS_DIR``, else ``var/reports/``."""
    if override := os.environ.get(REPORTS_DIR_VARIABLE):
        return Path(override)
    return PROJECT_ROOT / "var" / "reports"


def resellers_config_dir() -> Path:
    """The folder of reseller instances' settings, ``<include>/config/resellers/``."""
    return include_dir() / "config" / "resellers"


def settings_path(reseller: str) -> Path:
    """A reseller instance's settings file, ``<include>/config/resellers/<code>.yaml``."""
    path = resellers_config_dir() / f"{reseller}.yaml"
    _refuse_the_layout_before_resellers(path, include_dir() / "config" / f"{reseller}.yaml")
    return path


def mappings_dir(reseller: str) -> Path:
    """A reseller instance's mapping files, ``<include>/mappings/<code>/``."""
    folder = include_dir() / "mappings" / reseller
    before = include_dir() / "mappings" / "_shared.yaml"
    _refuse_the_layout_before_resellers(folder, before)
    return folder


def configured_resellers() -> tuple[str, ...]:
    """The codes of the reseller instances configured, in name order.

    A settings file named after no registered reseller type (a typo, a reseller
    this version does not know) is refused rather than silently left out.
    """
    from reseller_sync.core.resellers import reseller_type_codes

    folder = resellers_config_dir()
    if not folder.is_dir():
        return ()
    codes = tuple(sorted(path.stem for path in folder.glob("*.yaml")))
    known = reseller_type_codes()
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ConfigurationError(
            f"{shown_path(folder)} holds settings of reseller types this package does not "
            f"know: {', '.join(unknown)}",
            problems=[
                Problem("no reseller type of that code", file=shown_path(folder / f"{code}.yaml"))
                for code in unknown
            ],
            action=f"Name each file after a reseller type ({', '.join(known)}), or remove it.",
            file=shown_path(folder),
        )
    return codes


def only_configured_reseller() -> str:
    """The code of the one reseller configured; a ``ConfigurationError`` when there are
    none or several (a command's ``--reseller`` then says which)."""
    codes = configured_resellers()
    if len(codes) == 1:
        return codes[0]
    found = f"{len(codes)} are: {', '.join(codes)}" if codes else "none is"
    raise ConfigurationError(
        f"say which reseller with --reseller CODE: {found} configured in "
        f"{shown_path(resellers_config_dir())}"
    )


def _refuse_the_layout_before_resellers(path: Path, before: Path) -> None:
    """An installation upgraded without moving its files is told where they go, not
    left with an empty interface."""
    if not path.exists() and before.exists():
        raise ConfigurationError(
            f"{shown_path(before)} is where this package read its settings before it served "
            f"several resellers; it now reads {shown_path(path)}",
            problems=[Problem("found in the former place", file=shown_path(before))],
            action=f"Move {shown_path(before)} to {shown_path(path)} (git mv), then clear "
            "the failed task. docs/configuration.md shows the layout.",
            file=shown_path(before),
        )


def shown_path(path: Path) -> str:
    """A path as a person should read it: relative to the project root when inside it."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
