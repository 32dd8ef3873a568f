"""The mapping check, on the demo box office (SQLite and PostgreSQL) and on the files alone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    ProductChannel,
    ResellerCustomerCategory,
    SalesChannel,
)
from reseller_sync.domain.errors import MappingError
from reseller_sync.fnac.mapping_check import check_mappings, ensure_mappings
from reseller_sync.fnac.mappings import (
    ensure_customer_categories_mapped,
    load_repository,
    new_customer_categories,
)
from reseller_sync.fnac.settings import FnacSettings

Edit = Callable[[Path, str, str], None]


def messages(faults: object) -> list[str]:
    return [f"{fault.reason}: {fault.fix}" for fault in faults]  # type: ignore[attr-defined]


def test_demo_mappings_pass_on_the_demo_box_office(
    demo_session: Session, settings: FnacSettings
) -> None:
    result = ensure_mappings(settings, session=demo_session)

    assert result.ok
    assert [check.product for check in result.products] == list(settings.product_codes)
    assert result.used_database
    assert result.notes == (
        "FNAC has sent no CATCLI list yet: catégories de client were not checked against it",
    )


def test_every_missing_mapping_is_found_and_worded(
    demo_session: Session, settings: FnacSettings, mappings: Path, edit: Edit
) -> None:
    shared = mappings / "_shared.yaml"
    edit(mappings / "EVT-LUMEN.yaml", 'manifestation: "004512"', "")
    edit(shared, '    salle: "ZEN01"\n', "")
    edit(shared, '          P2: "B"\n', "")
    edit(shared, '  CAT3: "3"\n', "")
    edit(shared, '  FNAC_CE: "22"', '  # FNAC_CE: "22"')
    edit(shared, '  Q-FNAC: "A1"\n', "")

    result = check_mappings(settings, load_repository(mappings), demo_session, ["EVT-LUMEN"])

    assert not result.ok
    (check,) = result.products
    assert messages(check.faults) == [
        f'product EVT-LUMEN has no manifestation: add manifestation: "<FNAC code>" to '
        f"{mappings / 'EVT-LUMEN.yaml'} (FNAC gives it after the sale sheet)",
        f'configuration ARENA-CONCERT has no salle: add salle: "<FNAC code>" to {shared} '
        "under configurations.ARENA-CONCERT",
        f"block P2 (zone PARTERRE) of configuration ARENA-CONCERT, in FNAC's quota, has no bloc: "
        f"add it to {shared} under configurations.ARENA-CONCERT.zones.PARTERRE.blocks "
        "(or map the whole zone PARTERRE)",
        f"category CAT3 has no type de tarif: add it to {shared} under categories "
        "(or under configurations.ARENA-CONCERT.categories for this configuration only)",
        f"tariff FNAC_CE has no catégorie de client: add it to {shared} under tariffs",
        f"quota Q-FNAC has no allotement: add it to {shared} under quotas",
    ]
    with pytest.raises(MappingError) as caught:
        result.raise_for_faults()
    assert len(caught.value.problems) == 6
    assert "(products EVT-LUMEN)" in caught.value.message


def test_two_organiser_values_claiming_one_fnac_value(
    demo_session: Session, settings: FnacSettings, mappings: Path, edit: Edit
) -> None:
    edit(mappings / "_shared.yaml", 'CAT2: "2"', 'CAT2: "1"')
    edit(mappings / "_shared.yaml", 'K: "TH2"', 'K: "B"')

    result = check_mappings(settings, load_repository(mappings), demo_session, ["EVT-LUMEN"])

    reasons = [fault.reason for fault in result.faults]
    assert reasons == [
        "FNAC type de tarif 1 is claimed by category CAT1 and category CAT2: "
        "it cannot be told apart when FNAC sends it",
        "FNAC bloc B is claimed by block P2 (zone PARTERRE) of configuration ARENA-CONCERT and "
        "block K (zone HAUT) of configuration ARENA-CONCERT: "
        "it cannot be told apart when FNAC sends it",
    ]
    assert {fault.fix for fault in result.faults} == {
        "map each FNAC type de tarif to one category only",
        "map each FNAC bloc to one zone or block only",
    }
    assert result.shared_faults == result.faults, "both live in the shared file"


def test_used_values_sending_the_same_fnac_value(
    demo_session: Session, settings: FnacSettings, mappings: Path, edit: Edit
) -> None:
    """A product-level override that sends the same code as a used shared value."""
    edit(
        mappings / "EVT-LUMEN.yaml",
        'manifestation: "004512"',
        'manifestation: "004512"\ncategories:\n  CAT3: "2"',
    )

    result = check_mappings(settings, load_repository(mappings), demo_session, ["EVT-LUMEN"])

    (fault,) = result.faults
    assert fault.reason == (
        "FNAC type de tarif 2 is claimed by category CAT2 and category CAT3: "
        "it is used by product EVT-LUMEN"
    )
    assert fault.file == str(mappings / "EVT-LUMEN.yaml")
    assert fault.line == 5


def test_customer_category_not_in_catcli(demo_session: Session, settings: FnacSettings) -> None:
    received = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
    for code, label, active in (
        ("0", "Normal", True),
        ("15", "Adhérent", True),
        ("20", "OP", False),
    ):
        demo_session.add(
            ResellerCustomerCategory(
                reseller_code="fnac", code=code, label=label, active=active, modified_at=received
            )
        )
    demo_session.flush()

    result = check_mappings(settings, session=demo_session, products=["EVT-LUMEN"])

    (fault,) = result.faults
    assert (
        fault.reason == "catégorie de client 22 of tariff FNAC_CE is not in FNAC's last CATCLI list"
    )
    assert fault.fix == "check the code with FNAC and correct it"
    assert fault.key == "tariffs.FNAC_CE"
    assert result.products[0].notes == (
        "catégorie de client 20 (OP) of tariff FNAC_ADHERENT is inactive "
        "in FNAC's last CATCLI list",
    )
    assert result.notes == ()


def test_product_of_a_kind_fnac_may_not_sell(demo_session: Session, settings: FnacSettings) -> None:
    result = check_mappings(settings, session=demo_session, products=["PACK-LUMEN-MAH", "NOPE"])

    assert messages(result.faults) == [
        "product PACK-LUMEN-MAH cannot be sold at FNAC: a package of several products may not be "
        "sold by FNAC (fnac-exchange-v1 section 1, error E09): remove it from products in "
        f"{settings.source} and from channel FNAC in the box office",
        "product NOPE does not exist in the box office: correct its code under products in "
        f"{settings.source}",
    ]


def test_product_not_in_the_fnac_channel(demo_session: Session, settings: FnacSettings) -> None:
    fnac = demo_session.scalar(select(SalesChannel.id).where(SalesChannel.code == "FNAC"))
    demo_session.execute(delete(ProductChannel).where(ProductChannel.channel_id == fnac))
    demo_session.flush()

    result = check_mappings(settings, session=demo_session, products=["PASS-MAH-JOUR"])

    (fault,) = result.faults
    assert fault.reason == "product PASS-MAH-JOUR is not on sale in the box-office channel FNAC"


def test_files_only_check(settings: FnacSettings, mappings: Path, edit: Edit) -> None:
    assert check_mappings(settings, load_repository(mappings)).ok
    (mappings / "PASS-MAH-LIBRE.yaml").unlink()
    edit(mappings / "_shared.yaml", 'FNAC_CE: "22"', 'FNAC_CE: "20"')
    edit(mappings / "CMP-LYON-NANTES.yaml", '"004620"', '"004512"')
    (mappings / "OLD-SHOW.yaml").write_text('manifestation: "12"\n', encoding="utf-8")

    result = check_mappings(settings, load_repository(mappings))

    assert not result.used_database
    assert [fault.reason for fault in result.faults] == [
        "product OLD-SHOW: '12' is not a valid FNAC manifestation "
        "(expected 6 to 10 digits, e.g. 004512, spec section 2)",
        "manifestation 004512 is claimed by products CMP-LYON-NANTES and EVT-LUMEN",
        "FNAC catégorie de client 20 is claimed by tariff FNAC_ADHERENT and tariff FNAC_CE: "
        "it cannot be told apart when FNAC sends it",
        "product PASS-MAH-LIBRE has no mapping file",
    ]
    assert result.notes == (
        f"mapping files of products not on sale at FNAC in {settings.source}: OLD-SHOW",
    )
    report = result.report()
    assert "PASS-MAH-LIBRE: 1 problem(s)" in report
    assert report.endswith("4 problem(s) to fix.")


def test_new_customer_categories(mappings: Path) -> None:
    catcli = pd.DataFrame(
        {
            "categorie_client": ["0", "15", "20", "22", "31", "32"],
            "libelle": ["Normal", "Adhérent", "Adhérent OP", "CE", "Étudiant", "Ancienne"],
            "actif": ["1", "1", "1", "1", "1", "0"],
        }
    )
    repository = load_repository(mappings)

    alert = new_customer_categories(catcli, repository)

    assert [(category.code, category.label) for category in alert.categories] == [
        ("31", "Étudiant")
    ]
    (fault,) = alert.faults
    assert fault.reason == (
        "FNAC's active catégorie de client 31 (Étudiant) is mapped to no tariff: "
        "its sales cannot be integrated"
    )
    assert fault.fix == (
        f"add it to a tariff in {mappings / '_shared.yaml'} under tariffs, "
        'e.g. FNAC_ADHERENT: "15|20|31"'
    )
    with pytest.raises(MappingError, match="1 new customer category"):
        ensure_customer_categories_mapped(catcli, repository)
    assert ensure_customer_categories_mapped(catcli.iloc[:4], repository).ok
