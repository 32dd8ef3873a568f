"""The SecuTix reseller's mapping check (secutix-reseller-v1 section 2): the identity by
default, so no mapping is required; every code the product sends must be a valid
exchanged code, and every override valid. Files only without a session."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import SeatCategory
from reseller_sync.domain.errors import MappingError
from reseller_sync.secutix.mapping_check import check_mappings
from reseller_sync.secutix.mappings import load_repository
from tests.secutix.test_secutix_outbound import secutix_settings

PRODUCTS = ["EVT-LUMEN", "CMP-LYON-NANTES", "PASS-MAH-JOUR", "PASS-MAH-LIBRE"]


def folder(tmp_path: Path, **files: str) -> Path:
    directory = tmp_path / "mappings"
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / f"{name}.yaml").write_text(text)
    return directory


def test_the_identity_needs_no_mapping_file(demo_session: Session, tmp_path: Path) -> None:
    empty = load_repository(folder(tmp_path))
    files = check_mappings(secutix_settings(), None, PRODUCTS, repository=empty)
    assert files.ok, files.report()
    assert not files.used_database
    result = check_mappings(secutix_settings(), demo_session, PRODUCTS, repository=empty)
    assert result.ok, result.report()
    assert result.used_database
    assert result.raise_for_faults() is result


def test_the_project_s_mapping_folder_is_valid(demo_session: Session) -> None:
    result = check_mappings(secutix_settings(), demo_session, ["EVT-LUMEN"])
    assert result.ok, result.report()


def test_an_override_out_of_its_format_is_a_fault_without_a_session(tmp_path: Path) -> None:
    repository = load_repository(
        folder(tmp_path, _shared='categories:\n  CAT1: "cat 1"\n', **{"EVT-LUMEN": ""})
    )
    result = check_mappings(secutix_settings(), None, ["EVT-LUMEN"], repository=repository)
    assert not result.ok
    assert any("cat 1" in str(fault) for fault in result.faults), result.report()


def test_a_box_office_code_out_of_format_needs_an_override(
    demo_session: Session, tmp_path: Path
) -> None:
    category = demo_session.scalars(select(SeatCategory).where(SeatCategory.code == "ENTREE")).one()
    category.code = "ENTRÉE MUSÉE"
    demo_session.flush()
    empty = load_repository(folder(tmp_path))
    result = check_mappings(secutix_settings(), demo_session, ["PASS-MAH-LIBRE"], repository=empty)
    assert not result.ok
    [fault] = result.faults
    assert "ENTRÉE MUSÉE" in fault.reason
    assert "categories" in fault.fix
    with pytest.raises(MappingError):
        result.raise_for_faults()
    # Sent under a valid exchanged code by a mapping, it is fine.
    mapped = load_repository(folder(tmp_path, _shared='categories:\n  "ENTRÉE MUSÉE": "ENTREE"\n'))
    fixed = check_mappings(secutix_settings(), demo_session, ["PASS-MAH-LIBRE"], repository=mapped)
    assert fixed.ok, fixed.report()


def test_a_kind_the_reseller_may_not_sell_is_a_fault(demo_session: Session, tmp_path: Path) -> None:
    empty = load_repository(folder(tmp_path))
    result = check_mappings(
        secutix_settings(), demo_session, ["ABO-ARENA-SAISON"], repository=empty
    )
    [fault] = result.faults
    assert "cannot be sold" in fault.reason
    assert "subscription" in fault.reason


def test_a_product_missing_from_the_box_office_is_a_fault(
    demo_session: Session, tmp_path: Path
) -> None:
    empty = load_repository(folder(tmp_path))
    result = check_mappings(secutix_settings(), demo_session, ["NOPE"], repository=empty)
    [fault] = result.faults
    assert "does not exist" in fault.reason


def test_a_product_without_quota_is_noted(demo_session: Session, tmp_path: Path) -> None:
    empty = load_repository(folder(tmp_path))
    result = check_mappings(secutix_settings(), demo_session, ["CMP-LYON-NANTES"], repository=empty)
    assert result.ok
    assert any("no quota" in note for check in result.products for note in check.notes)
